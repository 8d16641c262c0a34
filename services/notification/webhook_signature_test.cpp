#include "services/notification/webhook_signature.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/hmac.hpp"

namespace sagapay::notification {
namespace {

// Expected values from an independent implementation: Python's hmac module, e.g.
// hmac.new(b"whsec_test", b'1700000000.{"id":"evt_1"}', hashlib.sha256).hexdigest().
TEST(HmacSha256, MatchesRfc4231AndPythonsHmac) {
    EXPECT_EQ(
        HmacSha256Hex("Jefe", "what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );  // RFC 4231, test case 2
    EXPECT_EQ(
        HmacSha256Hex("key", "The quick brown fox jumps over the lazy dog"),
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    );
    EXPECT_EQ(
        HmacSha256Hex(std::string(100, 'k'), "message"),  // a key longer than the block
        "1c28735416d320163f56f81bdbb83d651eed508d184e6b8b03662740a533293e"
    );
}

TEST(SignatureHeader, SignsTheTimestampAndTheRawBodyUnderEverySecret) {
    const std::vector<std::string> one = {"whsec_test"};
    EXPECT_EQ(
        SignatureHeader(1700000000, R"({"id":"evt_1"})", one),
        "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
    );
    const std::vector<std::string> two = {"new", "old"};
    const auto parsed = ParseSignatureHeader(SignatureHeader(5, "b", two));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->timestamp, 5);
    ASSERT_EQ(parsed->v1.size(), 2U);
    EXPECT_EQ(parsed->v1[1], HmacSha256Hex("old", "5.b"));
}

TEST(SignatureHeader, ParsingIgnoresUnknownSchemesAndRefusesWhatIsNotASignature) {
    const auto parsed = ParseSignatureHeader("t=12, v0=abc,v1=def,x");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->timestamp, 12);
    EXPECT_EQ(parsed->v1, std::vector<std::string>{"def"});
    EXPECT_FALSE(ParseSignatureHeader(""));
    EXPECT_FALSE(ParseSignatureHeader("v1=def"));
    EXPECT_FALSE(ParseSignatureHeader("t=12"));
    EXPECT_FALSE(ParseSignatureHeader("t=12x,v1=def"));
}

TEST(VerifySignature, AcceptsEitherSecretDuringARotationAndRefusesTamperingAndReplays) {
    const std::vector<std::string> rotating = {"new-secret", "old-secret"};
    const std::string body = R"({"type":"payment.settled"})";
    const std::string header = SignatureHeader(1000, body, rotating);

    EXPECT_EQ(VerifySignature(header, body, "old-secret", 1000), Verification::kValid);
    EXPECT_EQ(VerifySignature(header, body, "new-secret", 1299), Verification::kValid);
    EXPECT_EQ(VerifySignature(header, body + " ", "new-secret", 1000), Verification::kMismatch);
    EXPECT_EQ(VerifySignature(header, body, "other", 1000), Verification::kMismatch);
    EXPECT_EQ(VerifySignature(header, body, "new-secret", 1301), Verification::kTooOld);
    EXPECT_EQ(VerifySignature(header, body, "new-secret", 699), Verification::kTooOld);
    EXPECT_EQ(
        VerifySignature(header, body, "new-secret", 2000, std::chrono::hours(1)),
        Verification::kValid
    );
    EXPECT_EQ(VerifySignature("garbage", body, "new-secret", 1000), Verification::kMalformed);
    EXPECT_EQ(ToString(Verification::kTooOld), "too_old");
}

}  // namespace
}  // namespace sagapay::notification
