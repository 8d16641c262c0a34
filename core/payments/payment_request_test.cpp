#include "core/payments/payment_request.hpp"

#include <gtest/gtest.h>

#include "core/money.hpp"

namespace sagapay {
namespace {

struct Case {
    const char* body;
    int status;
    const char* code;
    const char* field;
};

TEST(PaymentRequest, AcceptsTheSeedsExample) {
    const auto request = ParsePaymentRequest(
        R"({"customer_id":"cust-1","amount_cents":1500,"currency":"usd","idempotency_key":"order-10001"})"
    );

    ASSERT_TRUE(request.has_value()) << request.error().message;
    EXPECT_EQ(request->customer_id, CustomerId("cust-1"));
    EXPECT_EQ(request->amount.amount_minor, 1500);
    EXPECT_EQ(request->amount.currency.Code(), "USD");
    EXPECT_EQ(request->idempotency_key, IdempotencyKey("order-10001"));
}

TEST(PaymentRequest, RefusesEachBrokenRuleWithItsField) {
    const Case cases[] = {
        {"{", 400, "malformed_json", ""},
        {"[1]", 400, "malformed_json", ""},
        {R"({"customer_id":"c","amount_cents":"100","currency":"USD","idempotency_key":"k-123"})",
         422,
         "validation_error",
         "amount_cents"},
        {R"({"customer_id":"c","amount_cents":1.5,"currency":"USD","idempotency_key":"k-123"})",
         422,
         "validation_error",
         "amount_cents"},
        {R"({"customer_id":"c","amount_cents":1e3,"currency":"USD","idempotency_key":"k-123"})",
         422,
         "validation_error",
         "amount_cents"},
        {R"({"customer_id":"c","amount_cents":0,"currency":"USD","idempotency_key":"k-123"})",
         422,
         "validation_error",
         "amount_cents"},
        {R"({"customer_id":"c","amount_cents":-5,"currency":"USD","idempotency_key":"k-123"})",
         422,
         "validation_error",
         "amount_cents"},
        {R"({"customer_id":"c","amount_cents":1000000000001,"currency":"USD","idempotency_key":"k-123"})",
         422,
         "validation_error",
         "amount_cents"},
        {R"({"customer_id":"c","amount_cents":18446744073709551615,"currency":"USD","idempotency_key":"k-123"})",
         422,
         "validation_error",
         "amount_cents"},
        {R"({"customer_id":"c","currency":"USD","idempotency_key":"k-123"})",
         422,
         "validation_error",
         "amount_cents"},
        {R"({"customer_id":"c","amount_cents":1,"currency":"XYZ","idempotency_key":"k-123"})",
         422,
         "validation_error",
         "currency"},
        {R"({"customer_id":"c","amount_cents":1,"currency":"US","idempotency_key":"k-123"})",
         422,
         "validation_error",
         "currency"},
        {R"({"customer_id":"","amount_cents":1,"currency":"USD","idempotency_key":"k-123"})",
         422,
         "validation_error",
         "customer_id"},
        {R"({"customer_id":"a b","amount_cents":1,"currency":"USD","idempotency_key":"k-123"})",
         422,
         "validation_error",
         "customer_id"},
        {R"({"customer_id":7,"amount_cents":1,"currency":"USD","idempotency_key":"k-123"})",
         422,
         "validation_error",
         "customer_id"},
        {R"({"customer_id":"c","amount_cents":1,"currency":"USD","idempotency_key":"k1"})",
         422,
         "validation_error",
         "idempotency_key"},
        {R"({"customer_id":"c","amount_cents":1,"currency":"USD","idempotency_key":"k-123","amount":5})",
         422,
         "validation_error",
         "amount"},
    };
    for (const Case& c : cases) {
        const auto request = ParsePaymentRequest(c.body);

        ASSERT_FALSE(request.has_value()) << c.body;
        EXPECT_EQ(request.error().code, ErrorCode::kInvalidArgument) << c.body;
        EXPECT_EQ(c.status == 400 ? "malformed_json" : "validation_error", request.error().reason)
            << c.body;
        EXPECT_EQ(request.error().reason, c.code) << c.body;
        EXPECT_EQ(request.error().field, c.field) << c.body;
    }
}

TEST(PaymentRequest, AcceptsTheLargestAmount) {
    const auto request = ParsePaymentRequest(
        R"({"customer_id":"c","amount_cents":1000000000000,"currency":"JPY","idempotency_key":"k-123"})"
    );
    ASSERT_TRUE(request.has_value());
    EXPECT_EQ(request->amount.amount_minor, kMaxAmountMinor);
}

TEST(PaymentRequest, FingerprintSeparatesFieldsUnambiguously) {
    const Currency usd = *Currency::Parse("USD");
    const PaymentRequest a{CustomerId("a:b"), {100, usd}, IdempotencyKey("c-key1")};
    const PaymentRequest b{CustomerId("a"), {100, usd}, IdempotencyKey("b:c-key1")};
    const PaymentRequest a_again{CustomerId("a:b"), {100, usd}, IdempotencyKey("c-key1")};
    const PaymentRequest a_more{CustomerId("a:b"), {101, usd}, IdempotencyKey("c-key1")};
    const PaymentRequest a_yen{
        CustomerId("a:b"), {100, *Currency::Parse("JPY")}, IdempotencyKey("c-key1")};

    EXPECT_NE(a.Fingerprint(), b.Fingerprint());
    EXPECT_EQ(a.Fingerprint(), a_again.Fingerprint());
    EXPECT_NE(a.Fingerprint(), a_more.Fingerprint());
    EXPECT_NE(a.Fingerprint(), a_yen.Fingerprint());
}

TEST(SanitizeTraceId, KeepsASafeIdAndReplacesAnythingElse) {
    EXPECT_EQ(SanitizeTraceId("trace-1:a@b", "fallback"), "trace-1:a@b");
    EXPECT_EQ(SanitizeTraceId("", "fallback"), "fallback");
    EXPECT_EQ(SanitizeTraceId("has space", "fallback"), "fallback");
    EXPECT_EQ(SanitizeTraceId("line\nbreak", "fallback"), "fallback");
    EXPECT_EQ(
        SanitizeTraceId(std::string(kMaxTraceIdLength, 'a'), "f"),
        std::string(kMaxTraceIdLength, 'a')
    );
    EXPECT_EQ(SanitizeTraceId(std::string(kMaxTraceIdLength + 1, 'a'), "f"), "f");
}

TEST(Currency, ParseGivesOnlyKnownUpperCaseCodes) {
    const auto usd = Currency::Parse("USD");
    ASSERT_TRUE(usd.has_value());
    EXPECT_EQ(usd->Code(), "USD");
    EXPECT_EQ(usd->CodeString(), "USD");
    EXPECT_EQ(usd->MinorUnits(), 2);
    EXPECT_FALSE(usd->Empty());
    EXPECT_FALSE(Currency::Parse("usd").has_value());
    EXPECT_FALSE(Currency::Parse("XYZ").has_value());
    EXPECT_TRUE(Currency().Empty());
    EXPECT_EQ(*usd, *Currency::Parse("USD"));
    EXPECT_FALSE(*usd == *Currency::Parse("EUR"));
}

TEST(Money, PayableAmountsAreOneToTheMaximum) {
    EXPECT_FALSE(IsPayableAmount(0));
    EXPECT_TRUE(IsPayableAmount(1));
    EXPECT_TRUE(IsPayableAmount(kMaxAmountMinor));
    EXPECT_FALSE(IsPayableAmount(kMaxAmountMinor + 1));
    EXPECT_EQ((Money{5, *Currency::Parse("EUR")}), (Money{5, *Currency::Parse("EUR")}));
    EXPECT_FALSE((Money{5, *Currency::Parse("EUR")}) == (Money{5, *Currency::Parse("USD")}));
}

TEST(Currency, KnowsMinorUnits) {
    EXPECT_EQ(FindCurrency("USD")->minor_units, 2);
    EXPECT_EQ(FindCurrency("JPY")->minor_units, 0);
    EXPECT_EQ(FindCurrency("KWD")->minor_units, 3);
    EXPECT_FALSE(FindCurrency("usd").has_value());
    EXPECT_FALSE(FindCurrency("ABC").has_value());
}

TEST(Money, CheckedAddRefusesOverflow) {
    EXPECT_EQ(CheckedAdd(1, 2), 3);
    EXPECT_FALSE(CheckedAdd(INT64_MAX, 1).has_value());
    EXPECT_FALSE(CheckedAdd(INT64_MIN, -1).has_value());
}

}  // namespace
}  // namespace sagapay
