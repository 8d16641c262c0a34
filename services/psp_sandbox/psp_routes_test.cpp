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

}  // namespace
}  // namespace sagapay::psp
