// The composition root against the test PostgreSQL and Redis: the consumers are wired to the
// right topics and the workers run, with a PSP that does not answer.
#include "services/provider/provider_service.hpp"

#include <gtest/gtest.h>

#include "core/messaging/events.hpp"
#include "runtime/bootstrap.hpp"
#include "testing/fake_clock.hpp"
#include "testing/service_test.hpp"
#include "testing/test_env.hpp"

namespace sagapay::provider {
namespace {

using testing::Eventually;
using testing::ServiceThread;

TEST(ProviderService, RecordsAnAuthorizationRequestAndTriesThePspUntilStopped) {
    testing::TestDatabase db;
    Config config = testing::ServiceTestConfig("provider", "provider-adapter", db.Dsn());
    config.psp_url = "http://127.0.0.1:1";  // nothing listens: every call is an unknown outcome
    testing::FakeClock clock;
    const PaymentId payment("3e4f5a6b-0000-4000-8000-0000000000bb");
    const Envelope event = NewEnvelope(
        AuthorizeRequested{{CustomerId("c"), Money{900, *Currency::Parse("USD")}}, false},
        payment,
        "t",
        clock
    );
    testing::PublishForTest(config, event);

    ServiceThread service([&] { return RunProvider(config, clock); });

    auto conn = postgres::Connection::Open(db.Dsn());
    const auto count = [&](const char* sql) { return testing::CountOrMinusOne(conn, sql); };
    // The worker made the first attempt; the PSP gave no answer, so the payment waits for an
    // inquiry on the backoff schedule (the fake clock does not move: it stays scheduled).
    const bool attempted = Eventually([&] {
        return count("SELECT count(*) FROM provider_attempts WHERE operation = 'AUTHORIZE'") == 1;
    });
    EXPECT_EQ(service.Stop(), 0) << service.Error();
    EXPECT_TRUE(attempted);
    EXPECT_EQ(
        count("SELECT count(*) FROM provider_payments WHERE status = 'AUTHORIZING' AND attempts = 1"
        ),
        1
    );
}

}  // namespace
}  // namespace sagapay::provider
