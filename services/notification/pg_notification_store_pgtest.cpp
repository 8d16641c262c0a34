#include "services/notification/pg_notification_store.hpp"

#include <gtest/gtest.h>

#include "adapters/postgres/migrator.hpp"
#include "core/messaging/events.hpp"
#include "services/notification/notification_handler.hpp"
#include "services/notification/schema.hpp"
#include "testing/fake_clock.hpp"
#include "testing/test_env.hpp"

namespace sagapay::notification {
namespace {

const PaymentId kPayment("5a6b7c8d-0000-4000-8000-000000000002");

class PgNotificationStoreTest : public ::testing::Test {
protected:
    PgNotificationStoreTest() : conn_(db_.Connect()) {
        postgres::Migrate(conn_, "notification", NotificationMigrations());
    }

    bool Record(Outcome outcome, const std::string& event_id) {
        postgres::Transaction tx(conn_);
        const bool recorded = PgNotificationStore(tx).Record(
            {kPayment, outcome, "Payment x event=y", EventId(event_id)}
        );
        tx.Commit();
        return recorded;
    }

    testing::TestDatabase db_;
    postgres::Connection conn_;
};

TEST_F(PgNotificationStoreTest, RecordsOnePerPaymentAndOutcomeOnTheWebhookChannel) {
    EXPECT_TRUE(Record(Outcome::kSettled, "evt-1"));
    EXPECT_FALSE(Record(Outcome::kSettled, "evt-2"));
    EXPECT_TRUE(Record(Outcome::kFailed, "evt-3"));
    EXPECT_TRUE(Record(Outcome::kReversed, "evt-4"));

    const auto rows = conn_.Exec(
        "SELECT payment_id::text, outcome, channel, message, event_id FROM notification_logs "
        "ORDER BY id"
    );
    ASSERT_EQ(rows.Size(), 3);
    EXPECT_EQ(rows.GetString(0, 0), kPayment.Value());
    EXPECT_EQ(rows.GetString(0, 1), "SETTLED");
    EXPECT_EQ(rows.GetString(0, 2), "webhook");
    EXPECT_EQ(rows.GetString(0, 3), "Payment x event=y");
    EXPECT_EQ(rows.GetString(0, 4), "evt-1");
    EXPECT_EQ(rows.GetString(1, 1), "FAILED");
    EXPECT_EQ(rows.GetString(2, 1), "REVERSED");
}

TEST_F(PgNotificationStoreTest, TheHandlerOverPostgresRecordsARedeliveredOutcomeOnce) {
    testing::FakeClock clock;
    NotificationHandler handler;
    const Envelope settled = NewEnvelope(
        PaymentSettled{"settlement:" + kPayment.Value(), Money{5, *Currency::Parse("EUR")}},
        kPayment,
        "trace",
        clock
    );
    for (int delivery = 0; delivery < 2; ++delivery) {
        postgres::Transaction tx(conn_);
        PgNotificationStore store(tx);
        handler.Handle(store, settled);
        tx.Commit();
    }

    const auto rows = conn_.Exec("SELECT outcome, event_id, message FROM notification_logs");
    ASSERT_EQ(rows.Size(), 1);
    EXPECT_EQ(rows.GetString(0, 0), "SETTLED");
    EXPECT_EQ(rows.GetString(0, 1), settled.event_id);
    EXPECT_EQ(rows.GetString(0, 2), "Payment " + kPayment.Value() + " event=payments.settled");
}

}  // namespace
}  // namespace sagapay::notification
