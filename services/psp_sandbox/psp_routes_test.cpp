#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/http/router.hpp"
#include "services/psp_sandbox/psp_ledger.hpp"
#include "services/psp_sandbox/psp_service.hpp"

namespace sagapay::psp {
namespace {

class PspRoutesTest : public ::testing::Test {
protected:
    PspRoutesTest() { AddPspRoutes(router_, ledger_, std::chrono::milliseconds(0)); }

    http::Response Post(const std::string& path, const std::string& body) {
        http::Request request;
        request.method = "POST";
        request.path = path;
        request.body = body;
        return router_.Dispatch(request);
    }

    http::Response Get(const std::string& path) {
        http::Request request;
        request.method = "GET";
        request.path = path;
        return router_.Dispatch(request);
    }

    /// Authorizes `key` for 1500 USD.
    void Authorize(const std::string& key) {
        ASSERT_EQ(
            Post(
                "/v1/authorizations",
                R"({"idempotency_key":")" + key +
                    R"(","amount_cents":1500,"currency":"USD","customer_id":"c"})"
            )
                .status,
            200
        );
    }

    static nlohmann::json Json(const http::Response& response) {
        return nlohmann::json::parse(response.body);
    }

    PspLedger ledger_{42};
    http::Router router_;
};

TEST_F(PspRoutesTest, AuthorizesAValidRequest) {
    const auto response = Post(
        "/v1/authorizations",
        R"({"idempotency_key":"auth-1","amount_cents":100,"currency":"USD","customer_id":"c"})"
    );
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(nlohmann::json::parse(response.body)["status"], "AUTHORIZED");
}

// Found by `make apifuzz`: a customer_id or payment_id of another type than string was a 500
// (nlohmann's value() threw); it is a 400 like every other field of the wrong type.
TEST_F(PspRoutesTest, OptionalFieldsOfTheWrongTypeAre400NotA500) {
    for (const char* body :
         {R"({"idempotency_key":"k-1","amount_cents":1,"currency":"USD","customer_id":null})",
          R"({"idempotency_key":"k-2","amount_cents":1,"currency":"USD","payment_id":7})",
          R"({"idempotency_key":"k-3","amount_cents":1,"currency":"USD","customer_id":["x"]})"}) {
        const auto response = Post("/v1/authorizations", body);
        EXPECT_EQ(response.status, 400) << body;
        EXPECT_EQ(nlohmann::json::parse(response.body)["error"]["code"], "invalid_request");
    }
    EXPECT_EQ(ledger_.Records().size(), 0U);  // nothing recorded
}

TEST_F(PspRoutesTest, CapturesPartOfAnAuthorizationByCaptureKeyAndAmount) {
    Authorize("auth-1");

    const auto captured =
        Post("/v1/authorizations/auth-1/capture", R"({"capture_key":"cap-1","amount_cents":600})");

    EXPECT_EQ(captured.status, 200);
    EXPECT_EQ(Json(captured)["status"], "CAPTURED");
    EXPECT_EQ(Json(captured)["captured_amount_cents"], 600);
    EXPECT_EQ(Json(Get("/v1/authorizations/auth-1"))["captured_amount_cents"], 600);
    const auto again = Post("/v1/authorizations/auth-1/capture", R"({"capture_key":"cap-2"})");
    EXPECT_EQ(again.status, 409);
    EXPECT_EQ(Json(again)["error"], "already_captured");
}

TEST_F(PspRoutesTest, CaptureAboveTheAuthorizationIs422WithAJsonError) {
    Authorize("auth-1");

    const auto refused =
        Post("/v1/authorizations/auth-1/capture", R"({"capture_key":"cap-1","amount_cents":1501})");

    EXPECT_EQ(refused.status, 422);
    EXPECT_EQ(Json(refused)["error"], "invalid_amount");
    EXPECT_EQ(Json(Get("/v1/authorizations/auth-1"))["status"], "AUTHORIZED");
}

TEST_F(PspRoutesTest, CaptureAndRefundStillTakeTheKeyAsIdempotencyKeyForTheWholeAmount) {
    Authorize("auth-1");

    const auto captured =
        Post("/v1/authorizations/auth-1/capture", R"({"idempotency_key":"cap-1"})");
    EXPECT_EQ(captured.status, 200);
    EXPECT_EQ(Json(captured)["captured_amount_cents"], 1500);
    const auto refunded =
        Post("/v1/authorizations/auth-1/refund", R"({"idempotency_key":"refund-1"})");
    EXPECT_EQ(refunded.status, 200);
    EXPECT_EQ(Json(refunded)["status"], "REFUNDED");
    EXPECT_EQ(Json(refunded)["refunded_amount_cents"], 1500);
    EXPECT_EQ(Get("/v1/authorizations/auth-1/refunds/refund-1").status, 200);
}

TEST_F(PspRoutesTest, MalformedCaptureAndRefundBodiesAre400) {
    Authorize("auth-1");
    for (const char* path :
         {"/v1/authorizations/auth-1/capture", "/v1/authorizations/auth-1/refund"}) {
        for (const char* body :
             {"",
              "[]",
              R"({"amount_cents":5})",
              R"({"capture_key":7,"refund_key":7})",
              R"({"capture_key":"k","refund_key":"k","amount_cents":"5"})",
              R"({"capture_key":"k","refund_key":"k","amount_cents":2.5})",
              R"({"capture_key":"k","refund_key":"k","idempotency_key":"other"})"}) {
            const auto response = Post(path, body);
            EXPECT_EQ(response.status, 400) << path << " " << body;
            EXPECT_EQ(Json(response)["error"]["code"], "invalid_request") << path << " " << body;
        }
    }
    EXPECT_EQ(Json(Get("/v1/authorizations/auth-1"))["status"], "AUTHORIZED");
}

TEST_F(PspRoutesTest, RefundsPartlyUnderDistinctKeysUpToTheCapture) {
    Authorize("auth-1");
    ASSERT_EQ(
        Post("/v1/authorizations/auth-1/capture", R"({"capture_key":"cap-1","amount_cents":1000})")
            .status,
        200
    );
    const std::string path = "/v1/authorizations/auth-1/refund";

    EXPECT_EQ(Post(path, R"({"refund_key":"r-1","amount_cents":300})").status, 200);
    const auto second = Post(path, R"({"refund_key":"r-2","amount_cents":500})");
    EXPECT_EQ(second.status, 200);
    EXPECT_EQ(Json(second)["status"], "CAPTURED");
    EXPECT_EQ(Json(second)["refunded_amount_cents"], 800);
    const auto beyond = Post(path, R"({"refund_key":"r-3","amount_cents":201})");
    EXPECT_EQ(beyond.status, 409);
    EXPECT_EQ(Json(beyond)["error"], "refund_exceeds_captured");
    EXPECT_EQ(Post(path, R"({"refund_key":"r-1","amount_cents":300})").status, 200);  // replay
    EXPECT_EQ(Post(path, R"({"refund_key":"r-1","amount_cents":299})").status, 409);
    EXPECT_EQ(Post(path, R"({"refund_key":"r-4","amount_cents":0})").status, 422);
    const auto rest = Post(path, R"({"refund_key":"r-4"})");
    EXPECT_EQ(rest.status, 200);
    EXPECT_EQ(Json(rest)["status"], "REFUNDED");

    const auto records = nlohmann::json::parse(Get("/v1/records").body);
    ASSERT_EQ(records.size(), 1U);
    EXPECT_EQ(records[0]["refunded_amount_cents"], 1000);
    EXPECT_EQ(records[0]["captured_amount_cents"], 1000);
    EXPECT_EQ(records[0]["refunds"].size(), 3U);
    EXPECT_EQ(records[0]["refunds"][2]["refund_key"], "r-4");
    EXPECT_EQ(records[0]["refunds"][2]["amount_cents"], 200);
}

TEST_F(PspRoutesTest, RefundOfWhatIsNotCapturedIs409AndOfWhatNeverExisted404) {
    Authorize("auth-1");
    EXPECT_EQ(Post("/v1/authorizations/auth-1/refund", R"({"refund_key":"r"})").status, 409);
    EXPECT_EQ(Post("/v1/authorizations/never/refund", R"({"refund_key":"r"})").status, 404);
}

TEST_F(PspRoutesTest, RefundInquiryAnswersTheRefundOr404) {
    Authorize("auth-1");
    ASSERT_EQ(Post("/v1/authorizations/auth-1/capture", R"({"capture_key":"c"})").status, 200);
    ASSERT_EQ(
        Post("/v1/authorizations/auth-1/refund", R"({"refund_key":"r-1","amount_cents":40})")
            .status,
        200
    );

    const auto found = Get("/v1/authorizations/auth-1/refunds/r-1");
    EXPECT_EQ(found.status, 200);
    EXPECT_EQ(Json(found)["refund_key"], "r-1");
    EXPECT_EQ(Json(found)["amount_cents"], 40);
    EXPECT_EQ(Json(found)["status"], "SUCCEEDED");
    EXPECT_EQ(Get("/v1/authorizations/auth-1/refunds/r-2").status, 404);
    EXPECT_EQ(Get("/v1/authorizations/never/refunds/r-1").status, 404);
}

}  // namespace
}  // namespace sagapay::psp
