#include "services/provider/psp_worker.hpp"

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/postgres/migrator.hpp"
#include "runtime/transaction_outbox.hpp"
#include "services/provider/pg_provider_store.hpp"
#include "services/provider/provider_options.hpp"
#include "services/provider/schema.hpp"
#include "testing/fake_clock.hpp"
#include "testing/fake_psp_client.hpp"
#include "testing/service_test.hpp"
#include "testing/test_env.hpp"

namespace sagapay::provider {
namespace {

using namespace std::chrono_literals;
using ::sagapay::testing::FakePspClient;
using ::sagapay::testing::TestDatabase;

const PaymentId kPayment("00000000-0000-4000-8000-000000000001");

using ::sagapay::testing::Eventually;

class PspWorkerTest : public ::testing::Test {
protected:
    PspWorkerTest() : conn_(db_.Connect()) {
        postgres::Migrate(conn_, "provider", ProviderMigrations());
    }

    /// Consumes a provider.authorize.requested for kPayment as the consumer would.
    void RequestAuthorization(const Clock& clock, const ProviderDeps& deps) {
        AuthorizeRequested request;
        request.facts = {CustomerId("cust-1"), Money{1500, *Currency::Parse("USD")}};
        postgres::Transaction tx(conn_);
        PgProviderStore store(tx);
        TransactionOutbox outbox(tx);
        ProviderHandler(deps, store, outbox)
            .OnAuthorizeRequested(NewEnvelope(request, kPayment, "trace-1", clock));
        tx.Commit();
    }

    std::string Status() {
        return conn_
            .Exec("SELECT status FROM provider_payments WHERE payment_id = $1", {kPayment.Value()})
            .GetString(0, 0);
    }

    std::int64_t Outbox(std::string_view topic) {
        return conn_.Exec("SELECT count(*) FROM outbox_events WHERE topic = $1", {topic})
            .GetInt(0, 0);
    }

    TestDatabase db_;
    postgres::Connection conn_;
    FakePspClient psp_;
    WakeSignal wake_;
};

TEST_F(PspWorkerTest, WorksADuePaymentAndCommitsItsEvent) {
    testing::FakeClock clock;
    const ProviderDeps deps{
        clock, psp_, RetryPolicy{}, {.retry = {}, .dlq_published = {}, .payment_due = [this] {
                                         wake_.Notify();
                                     }}};
    std::jthread worker([&](std::stop_token stop) { RunPspWorker(stop, db_.Dsn(), deps, wake_); });

    RequestAuthorization(clock, deps);

    EXPECT_TRUE(Eventually([&] { return Status() == "AUTHORIZED"; }));
    EXPECT_EQ(Outbox(PaymentAuthorized::kTopic), 1);
    EXPECT_EQ(psp_.Count(PspOperation::kAuthorize), 1U);
}

TEST_F(PspWorkerTest, WaitsForTheNextDueTimeByTheInjectedClock) {
    testing::FakeClock clock;
    psp_.ScriptAuthorize(FakePspClient::NoAnswer());
    const ProviderDeps deps{clock, psp_, RetryPolicy{}, {}};
    RequestAuthorization(clock, deps);
    std::jthread worker([&](std::stop_token stop) { RunPspWorker(stop, db_.Dsn(), deps, wake_); });
    ASSERT_TRUE(Eventually([&] { return psp_.Count(PspOperation::kAuthorize) == 1; }));

    // Proving that nothing happens takes wall time: longer than a worker ever sleeps between looks
    // (kMaxIdleWait), so it has looked at least once and found nothing due on the injected clock.
    std::this_thread::sleep_for(2 * kMaxIdleWait);
    EXPECT_EQ(psp_.Count(PspOperation::kInquire), 0U);
    clock.Advance(1s);

    EXPECT_TRUE(Eventually([&] { return Status() == "AUTHORIZED"; }));
    EXPECT_EQ(psp_.Count(PspOperation::kInquire), 1U);
    EXPECT_EQ(psp_.Count(PspOperation::kAuthorize), 2U);
}

TEST_F(PspWorkerTest, AnUnansweredVoidIsRecordedAndTriedAgain) {
    const SystemClock clock;
    psp_.SetDefaultAuthorize(FakePspClient::NoAnswer());
    psp_.ScriptVoid(FakePspClient::VoidUnanswered());
    const ProviderDeps deps{clock, psp_, RetryPolicy{{1ms}}, {}};
    RequestAuthorization(clock, deps);

    std::jthread worker([&](std::stop_token stop) { RunPspWorker(stop, db_.Dsn(), deps, wake_); });

    EXPECT_TRUE(Eventually([&] { return Status() == "TIMED_OUT"; }));
    EXPECT_EQ(psp_.Count(PspOperation::kVoid), 2U);
    EXPECT_EQ(Outbox(PaymentFailed::kTopic), 1);
    EXPECT_EQ(Outbox(DlqRecorded::kTopic), 1);
    const auto voids = conn_.Exec(
        "SELECT result FROM provider_attempts WHERE operation = 'VOID' ORDER BY attempt_id"
    );
    ASSERT_EQ(voids.Size(), 2);  // every call is in the audit trail, the unanswered one too
    EXPECT_EQ(voids.GetString(0, 0), "TIMEOUT");
    EXPECT_EQ(voids.GetString(1, 0), "VOIDED");
}

TEST_F(PspWorkerTest, KeepsTryingToConnectUntilStopped) {
    const SystemClock clock;
    const ProviderDeps deps{clock, psp_, RetryPolicy{}, {}};
    std::jthread worker([&](std::stop_token stop) {
        RunPspWorker(stop, "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1", deps, wake_);
    });

    // Let it fail to connect at least once (the connect timeout is 1 s; the refusal is immediate).
    std::this_thread::sleep_for(100ms);
    const auto stop_requested = std::chrono::steady_clock::now();
    worker.request_stop();
    worker.join();

    // A worker backing off from a dead database still stops promptly, and never called the PSP.
    EXPECT_LT(std::chrono::steady_clock::now() - stop_requested, 2s);
    EXPECT_TRUE(psp_.Calls().empty());
}

/// One provider process's PSP workers, as `sagapay provider` runs them: `workers` threads with
/// the process's own wake-up signal.
class ProviderInstance {
public:
    ProviderInstance(const std::string& dsn, const Clock& clock, PspClient& psp, int workers)
        : deps_{
              clock, psp, RetryPolicy{}, {.retry = {}, .dlq_published = {}, .payment_due = [this] {
                                              wake_.Notify();
                                          }}} {
        for (int i = 0; i < workers; ++i) {
            threads_.emplace_back([this, dsn](std::stop_token stop) {
                RunPspWorker(stop, dsn, deps_, wake_);
            });
        }
    }

    [[nodiscard]] const ProviderDeps& Deps() const noexcept { return deps_; }

private:
    WakeSignal wake_;
    ProviderDeps deps_;
    std::vector<std::jthread> threads_;  // last: stopped and joined first
};

PaymentId NthPayment(int n) {
    char id[40];
    std::snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", n);
    return PaymentId(std::string(id));
}

// Several provider processes work one database at once (`sagapay up --replicas provider=2`):
// their workers claim due payments with SKIP LOCKED and bump each claim, so no step of a payment
// is sent to the PSP twice: one authorization, one capture, and for a released payment one
// janitor inquiry and one refund, whichever instance's consumer recorded the work.
TEST_F(PspWorkerTest, TwoInstancesNeverCallThePspTwiceForOneStep) {
    constexpr int kPayments = 120;
    constexpr int kReleased = 40;
    const SystemClock clock;
    ProviderInstance first(db_.Dsn(), clock, psp_, 3);
    ProviderInstance second(db_.Dsn(), clock, psp_, 3);
    const auto consume = [&](const ProviderInstance& instance, auto&& handle) {
        postgres::Transaction tx(conn_);
        PgProviderStore store(tx);
        TransactionOutbox outbox(tx);
        ProviderHandler handler(instance.Deps(), store, outbox);
        handle(handler);
        tx.Commit();
    };
    const auto count_status = [&](const std::string& status) {
        return conn_.Exec("SELECT count(*) FROM provider_payments WHERE status = $1", {status})
            .GetInt(0, 0);
    };
    // Each consumer wakes its own process's workers only; the other's find the work by looking.
    for (int n = 0; n < kPayments; ++n) {
        AuthorizeRequested request;
        request.facts = {
            CustomerId("cust-" + std::to_string(n)), Money{1000 + n, *Currency::Parse("EUR")}};
        consume(n % 2 == 0 ? first : second, [&](ProviderHandler& handler) {
            handler.OnAuthorizeRequested(NewEnvelope(request, NthPayment(n), "trace", clock));
        });
    }
    ASSERT_TRUE(Eventually([&] { return count_status("AUTHORIZED") == kPayments; }));
    for (int n = 0; n < kPayments; ++n) {
        CaptureRequested request;
        request.facts = {
            CustomerId("cust-" + std::to_string(n)), Money{1000 + n, *Currency::Parse("EUR")}};
        consume(n % 2 == 0 ? second : first, [&](ProviderHandler& handler) {
            handler.OnCaptureRequested(NewEnvelope(request, NthPayment(n), "trace", clock));
        });
    }
    ASSERT_TRUE(Eventually([&] { return count_status("CAPTURED") == kPayments; }));
    // The saga ends some of them unpaid: the janitor's check is due at once for each.
    for (int n = 0; n < kReleased; ++n) {
        ReleaseRequested request;
        request.facts = {
            CustomerId("cust-" + std::to_string(n)), Money{1000 + n, *Currency::Parse("EUR")}};
        request.reason = "test";
        consume(n % 2 == 0 ? first : second, [&](ProviderHandler& handler) {
            handler.OnReleaseRequested(NewEnvelope(request, NthPayment(n), "trace", clock));
        });
    }
    ASSERT_TRUE(Eventually([&] {
        return conn_
                   .Exec(
                       "SELECT count(*) FROM provider_payments WHERE status = 'REFUNDED' AND "
                       "checks = 1"
                   )
                   .GetInt(0, 0) == kReleased;
    }));

    std::map<std::pair<PspOperation, std::string>, int> calls;
    for (const auto& call : psp_.Calls()) {
        ++calls[{call.operation, call.key}];
    }
    for (const auto& [what, count] : calls) {
        EXPECT_EQ(count, 1) << "operation " << static_cast<int>(what.first) << " key "
                            << what.second;
    }
    EXPECT_EQ(psp_.Count(PspOperation::kAuthorize), std::size_t{kPayments});
    EXPECT_EQ(psp_.Count(PspOperation::kCapture), std::size_t{kPayments});
    EXPECT_EQ(psp_.Count(PspOperation::kInquire), std::size_t{kReleased});
    EXPECT_EQ(psp_.Count(PspOperation::kRefund), std::size_t{kReleased});
    EXPECT_EQ(psp_.Count(PspOperation::kVoid), 0U);
    EXPECT_EQ(Outbox(PaymentAuthorized::kTopic), kPayments);
    EXPECT_EQ(Outbox(CaptureCompleted::kTopic), kPayments);
}

}  // namespace
}  // namespace sagapay::provider
