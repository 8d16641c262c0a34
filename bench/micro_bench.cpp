// Hot pure code, measured with google-benchmark (`make bench`; not part of `make test`).
#include <benchmark/benchmark.h>

#include "core/messaging/envelope.hpp"
#include "core/payments/payment_request.hpp"
#include "core/payments/payment_status.hpp"
#include "runtime/otlp_exporter.hpp"
#include "runtime/tracing.hpp"
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

/// What a span costs the thread that opens it: ids, the current-context switch, three attributes;
/// Arg 0 without an exporter (context only), Arg 1 with the OTLP exporter's queue (submit under
/// its lock; the batches go to a collector that answers at once).
void BM_Span(benchmark::State& state) {
    std::unique_ptr<tracing::OtlpExporter> exporter;
    if (state.range(0) == 1) {
        tracing::OtlpOptions options;
        options.service_name = "bench";
        options.max_queue = 1 << 16;
        exporter = std::make_unique<tracing::OtlpExporter>(options, [](const std::string&) {
            return true;
        });
        tracing::SetSink(exporter.get());
    }
    const auto parent = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    for (auto _ : state) {
        tracing::Span span("payments.requested process", tracing::SpanKind::kConsumer, parent);
        span.SetAttribute("messaging.destination.name", std::string("payments.requested"));
        span.SetAttribute("payment.id", std::string("5f0c7d5e-3c1b-4e4f-9a7b-2f1d3c4b5a69"));
        span.SetAttribute("messaging.batch.message_count", std::int64_t{1});
        benchmark::DoNotOptimize(span.Context());
    }
    tracing::SetSink(nullptr);
}
BENCHMARK(BM_Span)->Arg(0)->Arg(1);

/// Encoding one batch of 512 spans as OTLP JSON (the exporter thread's work per request).
void BM_OtlpEncode512(benchmark::State& state) {
    std::vector<tracing::SpanData> spans(512);
    for (auto& span : spans) {
        span.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
        span.span_id = "00f067aa0ba902b7";
        span.parent_span_id = "00f067aa0ba902b8";
        span.name = "payments.requested process";
        span.kind = tracing::SpanKind::kConsumer;
        span.attributes = {
            {"messaging.destination.name", std::string("payments.requested")},
            {"payment.id", std::string("5f0c7d5e-3c1b-4e4f-9a7b-2f1d3c4b5a69")}};
    }
    for (auto _ : state) {
        benchmark::DoNotOptimize(tracing::EncodeOtlpJson("orchestrator", spans));
    }
}
BENCHMARK(BM_OtlpEncode512);

}  // namespace
}  // namespace sagapay

BENCHMARK_MAIN();
