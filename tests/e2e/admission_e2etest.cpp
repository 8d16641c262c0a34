#include <cstdint>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/e2e/e2e_stack.hpp"

namespace sagapay::testing {
namespace {

/// Admission control end to end: an orchestrator that admits 10 payments in flight and refuses
/// at once past that, behind the real gateway, driven by `sagapay load`.
class AdmissionControl : public StackSuite<AdmissionControl> {
public:
    static std::map<std::string, std::string> Environment() {
        return {
            {"RATE_LIMIT_PER_MINUTE", "100000"},
            {"MAX_PAYMENTS_IN_FLIGHT", "10"},
            {"ADMISSION_MAX_WAIT_MS", "0"},
            {"ADMISSION_REFRESH_MS", "20"},
        };
    }
};

/// The value of the `key=value` line of `sagapay load`'s output; "" when there is none.
std::string OutputValue(const std::string& out, const std::string& key) {
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.starts_with(key + "=")) {
            return line.substr(key.size() + 1);
        }
    }
    return "";
}

/// The sum of a counter's samples in a Prometheus text exposition.
double CounterTotal(const std::string& exposition, const std::string& name) {
    std::istringstream lines(exposition);
    std::string line;
    double total = 0;
    while (std::getline(lines, line)) {
        if (line.starts_with(name + "{") || line.starts_with(name + " ")) {
            total += std::stod(line.substr(line.rfind(' ') + 1));
        }
    }
    return total;
}

TEST_F(AdmissionControl, AClientPastTheLimitIsToldToRetryLaterAndEveryPaymentSettlesOnce) {
    const auto [code, out] = stack_->RunTool(
        {"load",
         "--base-url",
         stack_->Url("gateway"),
         "--api-key",
         stack_->ApiKey(),
         "--total",
         "40",
         "--concurrency",
         "20",
         "--mix",
         "settle",
         // A retry is a new draw for a free place among 20 clients (1 s apart; on Kafka a hop
         // sometimes takes seconds): allow the unlucky enough of them.
         "--max-retries",
         "60",
         "--e2e"}
    );

    EXPECT_EQ(code, 0) << out;
    EXPECT_EQ(OutputValue(out, "errors"), "0") << out;
    // 20 clients against room for 10: back-pressure (503 overloaded + retry-after) was met.
    const std::string throttled = OutputValue(out, "throttled");
    ASSERT_FALSE(throttled.empty()) << out;
    EXPECT_GE(std::stoll(throttled), 1) << out;
    EXPECT_EQ(OutputValue(out, "e2e_settled"), "40") << out;
    EXPECT_EQ(OutputValue(out, "e2e_unfinished"), "0") << out;

    // The retries (same idempotency key) doubled nothing, and the refusals wrote nothing.
    auto orchestrator = stack_->Db("orchestrator");
    EXPECT_EQ(orchestrator.Exec("SELECT count(*) FROM payments").GetInt(0, 0), 40);
    const auto metrics = stack_->Client("orchestrator").Get("/metrics");
    ASSERT_TRUE(metrics.has_value());
    EXPECT_GE(CounterTotal(metrics->body, "admission_refused_total"), std::stod(throttled))
        << "every throttled answer is a refusal the orchestrator counted";
}

}  // namespace
}  // namespace sagapay::testing
