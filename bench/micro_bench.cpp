// Hot pure code, measured with google-benchmark (`make bench`; not part of `make test`).
#include <benchmark/benchmark.h>

#include "core/messaging/envelope.hpp"
#include "core/payments/payment_request.hpp"
#include "core/payments/payment_status.hpp"
#include "services/orchestrator/payment_saga.hpp"
#include "services/risk/risk_rules.hpp"
#include "testing/fake_clock.hpp"

namespace sagapay {
namespace {

using testing::FakeClock;

const std::string kBody =
    R"({"customer_id":"cust-1","amount_cents":2500,"currency":"USD","idempotency_key":"idem-001"})";

void BM_EnvelopeEncode(benchmark::State& state) {
    const FakeClock clock;
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
    const FakeClock clock;
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
        PaymentId("p-1"),
        CustomerId("cust-1"),
        Money{1500, *Currency::Parse("USD")},
        PaymentStatus::kApproved,
        2};
    Envelope event;
    event.event_id = "e-1";
    event.event_type = "payments.authorized";
    event.aggregate_id = "p-1";
    event.payload = {{"authorization_id", "auth_1"}};
    // What a consumer does per event: decode the typed event, then plan.
    for (auto _ : state) {
        const auto decoded = DecodeSagaEvent(event);
        benchmark::DoNotOptimize(orchestrator::PlanFor(payment, *decoded, EventId("e-1")));
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
