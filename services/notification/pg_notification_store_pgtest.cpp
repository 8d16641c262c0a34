#include "services/notification/pg_notification_store.hpp"

#include <optional>
#include <string>
#include <vector>

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
            {kPayment, outcome, "Payment x event=y", EventId(event_id), ""}
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

TEST_F(PgNotificationStoreTest, TheHandlerRecordsEachRefundOnceBesideThePaymentsOutcome) {
    testing::FakeClock clock;
    NotificationHandler handler;
    const Money eur{300, *Currency::Parse("EUR")};
    const std::string first = "8b9c0d1e-0000-4000-8000-0000000000a1";
    const std::string second = "8b9c0d1e-0000-4000-8000-0000000000a2";
    const std::string refused = "8b9c0d1e-0000-4000-8000-0000000000a3";
    const std::vector<Envelope> events = {
        NewEnvelope(PaymentSettled{"settlement:x", Money{600, eur.currency}}, kPayment, "t", clock),
        NewEnvelope(
            PaymentRefunded{first, eur, 300, 600, CustomerId("c"), "r"}, kPayment, "t", clock
        ),
        NewEnvelope(
            RefundFailed{refused, eur, CustomerId("c"), "psp_refused"}, kPayment, "t", clock
        ),
        NewEnvelope(
            PaymentRefunded{second, eur, 600, 600, CustomerId("c"), "r"}, kPayment, "t", clock
        ),
    };
    for (int delivery = 0; delivery < 2; ++delivery) {
        for (const Envelope& event : events) {
            postgres::Transaction tx(conn_);
            PgNotificationStore store(tx);
            handler.Handle(store, event);
            tx.Commit();
        }
    }

    const auto rows = conn_.Exec(
        "SELECT outcome, coalesce(refund_id::text, ''), event_id FROM notification_logs ORDER BY id"
    );
    ASSERT_EQ(rows.Size(), 4);
    EXPECT_EQ(rows.GetString(0, 0), "SETTLED");
    EXPECT_EQ(rows.GetString(0, 1), "");
    EXPECT_EQ(rows.GetString(1, 0), "PARTIALLY_REFUNDED");
    EXPECT_EQ(rows.GetString(1, 1), first);
    EXPECT_EQ(rows.GetString(1, 2), events[1].event_id);
    EXPECT_EQ(rows.GetString(2, 0), "REFUND_FAILED");
    EXPECT_EQ(rows.GetString(2, 1), refused);
    EXPECT_EQ(rows.GetString(3, 0), "REFUNDED");
    EXPECT_EQ(rows.GetString(3, 1), second);
}

TEST_F(PgNotificationStoreTest, TheTableRefusesARefundOutcomeWithoutItsRefundAndTheConverse) {
    const auto insert = [&](const std::string& outcome, const std::optional<std::string>& refund) {
        try {
            conn_.Exec(
                "INSERT INTO notification_logs (payment_id, outcome, message, event_id, "
                "refund_id) VALUES ($1, $2, 'm', 'e', $3::uuid)",
                {kPayment.Value(), outcome, refund}
            );
        } catch (const postgres::SqlError& error) {
            return error.SqlState();
        }
        return std::string();
    };
    const std::string refund = "8b9c0d1e-0000-4000-8000-0000000000b1";
    EXPECT_EQ(insert("REFUNDED", std::nullopt), "23514");
    EXPECT_EQ(insert("SETTLED", refund), "23514");
    EXPECT_EQ(insert("REFUND_SUCCEEDED", refund), "23514");
    EXPECT_EQ(insert("REFUNDED", refund), "");
    EXPECT_EQ(insert("REFUNDED", refund), "23505");  // once per refund and outcome
    EXPECT_EQ(insert("SETTLED", std::nullopt), "");
    EXPECT_EQ(insert("SETTLED", std::nullopt), "23505");  // once per payment and outcome
}

}  // namespace
}  // namespace sagapay::notification
