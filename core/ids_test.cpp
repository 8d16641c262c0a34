#include "core/ids.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

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
