#include "services/ledger/reconciliation_api.hpp"

#include <map>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/postgres/sql_error.hpp"

namespace sagapay::ledger {
namespace {

constexpr const char* kKey = "ops-key";

/// Canned reports that remember what they were asked.
class FakeReports final : public LedgerReports {
public:
    nlohmann::json Transaction(const std::string& transaction_id) override {
        transactions.push_back(transaction_id);
        return {{"transaction_id", transaction_id}, {"balanced", true}};
    }
    nlohmann::json All(std::int64_t limit) override {
        limits.push_back(limit);
        return {{"balanced", true}, {"imbalanced_count", 0}};
    }

    std::vector<std::string> transactions;
    std::vector<std::int64_t> limits;
};

class ReconciliationApiTest : public ::testing::Test {
protected:
    ReconciliationApiTest() { api_.AddRoutes(router_); }

    http::Response Get(
        const std::string& path,
        const std::string& query = "",
        std::vector<std::pair<std::string, std::string>> headers = {{"x-api-key", kKey}}
    ) {
        http::Request request;
        request.method = "GET";
        request.path = path;
        request.query = query;
        request.headers = std::move(headers);
        return router_.Dispatch(request);
    }

    FakeReports reports_;
    ReconciliationApi api_{reports_, kKey};
    http::Router router_;
};

TEST_F(ReconciliationApiTest, BothEndpointsWantTheOpsKey) {
    for (const auto& headers : std::vector<std::vector<std::pair<std::string, std::string>>>{
             {}, {{"x-api-key", "wrong"}}, {{"x-api-key", ""}}}) {
        for (const std::string path : {"/reconciliation", "/reconciliation/settlement:x"}) {
            const auto response = Get(path, "limit=bad", headers);
            EXPECT_EQ(response.status, 401) << path;
            EXPECT_NE(response.body.find("\"unauthorized\""), std::string::npos);
        }
    }
    EXPECT_TRUE(reports_.limits.empty());
    EXPECT_TRUE(reports_.transactions.empty());
}

TEST_F(ReconciliationApiTest, TheGlobalReportDefaultsToAThousandImbalancedTransactions) {
    const auto response = Get("/reconciliation");

    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.content_type, "application/json");
    EXPECT_EQ(nlohmann::json::parse(response.body)["balanced"], true);
    EXPECT_EQ(reports_.limits, (std::vector<std::int64_t>{1000}));
}

TEST_F(ReconciliationApiTest, AcceptsLimitsFromOneToAMillion) {
    for (const std::string limit : {"1", "250", "1000000", " 7"}) {
        EXPECT_EQ(Get("/reconciliation", "limit=" + limit).status, 200) << limit;
    }
    EXPECT_EQ(reports_.limits, (std::vector<std::int64_t>{1, 250, 1'000'000, 7}));
}

TEST_F(ReconciliationApiTest, RefusesAnyOtherLimitNamingTheField) {
    for (const std::string limit :
         {"", "0", "-1", "1000001", "abc", "10x", "1.5", "99999999999999999999999"}) {
        SCOPED_TRACE(limit);
        const auto response = Get("/reconciliation", "limit=" + limit);
        EXPECT_EQ(response.status, 422);
        const auto error = nlohmann::json::parse(response.body)["error"];
        EXPECT_EQ(error["code"], "validation_error");
        EXPECT_EQ(error["field"], "limit");
        EXPECT_EQ(error["message"], "limit must be from 1 to 1000000");
    }
    EXPECT_TRUE(reports_.limits.empty());
}

TEST_F(ReconciliationApiTest, OneTransactionsReportIsItsBody) {
    const auto response = Get("/reconciliation/settlement:abc");

    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(nlohmann::json::parse(response.body)["transaction_id"], "settlement:abc");
    EXPECT_EQ(reports_.transactions, (std::vector<std::string>{"settlement:abc"}));
}

/// Reports whose database is down.
class UnavailableReports final : public LedgerReports {
public:
    nlohmann::json Transaction(const std::string&) override { return All(0); }
    nlohmann::json All(std::int64_t) override {
        throw postgres::SqlError(ErrorCode::kUnavailable, "08006", "connection lost");
    }
};

TEST(ReconciliationApiRoutes, ADatabaseOutageIsAnswered503) {
    UnavailableReports reports;
    ReconciliationApi api(reports, kKey);
    http::Router router;
    api.AddRoutes(router);
    for (const std::string path : {"/reconciliation", "/reconciliation/t"}) {
        http::Request request;
        request.method = "GET";
        request.path = path;
        request.headers = {{"x-api-key", kKey}};
        EXPECT_EQ(router.Dispatch(request).status, 503) << path;
    }
}

TEST(MismatchesOf, IsZeroForEveryCheckOfACleanBook) {
    const auto found =
        MismatchesOf({{"imbalanced_count", 0}, {"totals_by_currency", {{"EUR", 0}, {"USD", 0}}}});

    EXPECT_EQ(
        found,
        (std::map<std::string, std::int64_t>{{"currency_totals", 0}, {"imbalanced_transactions", 0}}
        )
    );
}

TEST(MismatchesOf, CountsImbalancedTransactionsAndCurrenciesThatDoNotNetToZero) {
    const auto found = MismatchesOf(
        {{"imbalanced_count", 3}, {"totals_by_currency", {{"EUR", 0}, {"USD", 250}, {"JPY", -1}}}}
    );

    EXPECT_EQ(found.at("imbalanced_transactions"), 3);
    EXPECT_EQ(found.at("currency_totals"), 2);
}

TEST(MismatchesOf, AReportWithoutItsFieldsIsAMismatchNotAClean0) {
    const auto found = MismatchesOf(nlohmann::json::object());

    EXPECT_EQ(found.at("imbalanced_transactions"), 1);
    EXPECT_EQ(found.at("currency_totals"), 1);
}

/// Reports that fail the first time and are clean afterwards.
class FlakyReports final : public LedgerReports {
public:
    nlohmann::json Transaction(const std::string& /*transaction_id*/) override { return {}; }
    nlohmann::json All(std::int64_t /*limit*/) override {
        if (calls++ == 0) {
            throw std::runtime_error("database down");
        }
        return {{"imbalanced_count", 0}, {"totals_by_currency", nlohmann::json::object()}};
    }
    int calls = 0;
};

TEST(RunSelfCheck, AFailedReportIsTriedAgainAtTheNextIntervalAndThenPublished) {
    FlakyReports reports;
    std::stop_source stop;
    std::vector<std::map<std::string, std::int64_t>> published;

    RunSelfCheck(stop.get_token(), reports, std::chrono::milliseconds(1), [&](const auto& found) {
        published.push_back(found);
        stop.request_stop();
    });

    EXPECT_EQ(reports.calls, 2);
    ASSERT_EQ(published.size(), 1U);
    EXPECT_EQ(published[0].at("imbalanced_transactions"), 0);
}

}  // namespace
}  // namespace sagapay::ledger
