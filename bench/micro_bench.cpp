// Hot pure code, measured with google-benchmark (`make bench`; not part of `make test`).
#include <benchmark/benchmark.h>

#include "core/messaging/envelope.hpp"
#include "core/payments/payment_request.hpp"
#include "core/payments/payment_status.hpp"
#include "services/orchestrator/payment_saga.hpp"
#include "services/risk/risk_rules.hpp"

namespace sagapay {
namespace {

class FixedClock final : public Clock {
public:
    [[nodiscard]] TimePoint Now() const override {
        return TimePoint(std::chrono::seconds(1'800'000'000));
    }
};

const std::string kBody =
    R"({"customer_id":"cust-1","amount_cents":2500,"currency":"USD","idempotency_key":"idem-001"})";

void BM_EnvelopeEncode(benchmark::State& state) {
    FixedClock clock;
    const Envelope envelope = MakeEnvelope(
        "payments.requested",
        "5f0c7d5e-3c1b-4e4f-9a7b-2f1d3c4b5a69",
        "trace-001",
        {{"customer_id", "cust-1"}, {"amount_cents", 2500}, {"currency", "USD"}},
        clock
    );
    for (auto _ : state) {
        benchmark::DoNotOptimize(EncodeEnvelope(envelope));
    }
}
BENCHMARK(BM_EnvelopeEncode);

void BM_EnvelopeDecode(benchmark::State& state) {
    FixedClock clock;
    const std::string wire = EncodeEnvelope(MakeEnvelope(
        "payments.requested",
        "5f0c7d5e-3c1b-4e4f-9a7b-2f1d3c4b5a69",
        "trace-001",
        {{"customer_id", "cust-1"}, {"amount_cents", 2500}, {"currency", "USD"}},
        clock
    ));
    for (auto _ : state) {
        benchmark::DoNotOptimize(DecodeEnvelope(wire));
    }
}
BENCHMARK(BM_EnvelopeDecode);

void BM_ValidatePaymentRequest(benchmark::State& state) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(ParsePaymentRequest(kBody));
    }
}
BENCHMARK(BM_ValidatePaymentRequest);

void BM_RequestFingerprint(benchmark::State& state) {
    const auto request = *ParsePaymentRequest(kBody);
    for (auto _ : state) {
        benchmark::DoNotOptimize(request.Fingerprint());
    }
}
BENCHMARK(BM_RequestFingerprint);

void BM_StateMachineTransitionTable(benchmark::State& state) {
    for (auto _ : state) {
        int allowed = 0;
        for (const PaymentStatus from : AllPaymentStatuses()) {
            for (const PaymentStatus to : AllPaymentStatuses()) {
                allowed += CanTransition(from, to) ? 1 : 0;
            }
        }
        benchmark::DoNotOptimize(allowed);
    }
}
BENCHMARK(BM_StateMachineTransitionTable);

void BM_SagaPlan(benchmark::State& state) {
    const orchestrator::PaymentSnapshot payment{
        "p-1", "cust-1", 1500, "USD", PaymentStatus::kApproved, 2};
    Envelope event;
    event.event_id = "e-1";
    event.event_type = "payments.authorized";
    event.aggregate_id = "p-1";
    event.payload = {{"authorization_id", "auth_1"}};
    for (auto _ : state) {
        benchmark::DoNotOptimize(orchestrator::PlanFor(payment, event));
    }
}
BENCHMARK(BM_SagaPlan);

void BM_RiskRules(benchmark::State& state) {
    const risk::RiskThresholds thresholds;
    std::int64_t n = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(risk::Decide({150000 - (n % 3), n % 60, n % 4}, thresholds));
        ++n;
    }
}
BENCHMARK(BM_RiskRules);

}  // namespace
}  // namespace sagapay

BENCHMARK_MAIN();
