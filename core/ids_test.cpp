#include "core/ids.hpp"

#include <array>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sagapay {
namespace {

TEST(Uuid, IsVersionFourAndUnique) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::string id = NewUuid();
        ASSERT_TRUE(IsUuid(id)) << id;
        EXPECT_EQ(id[14], '4');
        EXPECT_TRUE(seen.insert(id).second);
    }
}

TEST(SecretToken, Is64HexCharactersUniqueAndIgnoresAScopedUuidSource) {
    const ScopedUuidSource fixed([] { return std::array<std::uint8_t, 16>{}; });
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        const std::string token = NewSecretToken();
        ASSERT_EQ(token.size(), 64U);
        EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos) << token;
        EXPECT_TRUE(seen.insert(token).second);
    }
    EXPECT_EQ(NewUuid(), "00000000-0000-4000-8000-000000000000");  // the source is in effect
}

TEST(Uuid, CarriesTheRfc4122VariantBits) {
    for (int i = 0; i < 1000; ++i) {
        const std::string id = NewUuid();
        ASSERT_NE(std::string_view("89ab").find(id[19]), std::string_view::npos) << id;
    }
}

// Ids come from the OS CSPRNG, not from a per-thread generator whose state a fork copies: a
// forked child (a `sagapay up` worker, a test helper) must not repeat its parent's next ids.
TEST(Uuid, ForkedChildDoesNotRepeatTheParentsIds) {
    const std::string before_fork = NewUuid();  // the parent's generator is in use
    std::array<int, 2> fds{};
    ASSERT_EQ(pipe(fds.data()), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const std::string id = NewUuid();
        const auto written = write(fds[1], id.data(), id.size());
        _exit(written == static_cast<ssize_t>(id.size()) ? 0 : 1);
    }
    close(fds[1]);
    const std::string parent_id = NewUuid();
    std::string child_id(36, '\0');
    std::size_t got = 0;
    while (got < child_id.size()) {
        const auto n = read(fds[0], child_id.data() + got, child_id.size() - got);
        if (n <= 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    close(fds[0]);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_EQ(got, child_id.size());
    EXPECT_TRUE(IsUuid(child_id)) << child_id;
    EXPECT_NE(child_id, parent_id) << "the child repeated the parent's next id";
    EXPECT_NE(child_id, before_fork);
}

TEST(Uuid, RejectsMalformedText) {
    EXPECT_FALSE(IsUuid(""));
    EXPECT_FALSE(IsUuid("not-a-uuid"));
    EXPECT_FALSE(IsUuid("123e4567-e89b-12d3-a456-42661417400g"));
    EXPECT_FALSE(IsUuid("123e4567e89b-12d3-a456-4266141740000"));
    EXPECT_TRUE(IsUuid("123E4567-E89B-12D3-A456-426614174000"));
}

TEST(Sha256, MatchesKnownVectors) {
    EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(
        Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
    EXPECT_EQ(
        Sha256Hex(std::string(1000, 'a')),
        "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
    );
}

TEST(Fnv1a64, IsStableAndSensitive) {
    EXPECT_EQ(Fnv1a64(""), 14695981039346656037ULL);
    EXPECT_NE(Fnv1a64("a"), Fnv1a64("b"));
    EXPECT_EQ(Fnv1a64("payments"), Fnv1a64("payments"));
}

}  // namespace
}  // namespace sagapay

namespace sagapay {
namespace {

TEST(ScopedUuidSource, ReplacesTheKernelOnThisThreadUntilItEnds) {
    std::uint8_t counter = 0;
    const auto next = [&counter] {
        std::array<std::uint8_t, 16> bytes{};
        bytes.fill(counter++);
        return bytes;
    };
    {
        const ScopedUuidSource outer(next);
        EXPECT_EQ(NewUuid(), "00000000-0000-4000-8000-000000000000");
        {
            const ScopedUuidSource inner([] {
                std::array<std::uint8_t, 16> bytes{};
                bytes.fill(0xff);
                return bytes;
            });
            EXPECT_EQ(NewUuid(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        }
        EXPECT_EQ(NewUuid(), "01010101-0101-4101-8101-010101010101");
    }
    EXPECT_NE(NewUuid(), NewUuid());  // the kernel again
    EXPECT_TRUE(IsUuid(NewUuid()));
}

}  // namespace
}  // namespace sagapay
