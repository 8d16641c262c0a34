#include "services/ledger/ledger_handler.hpp"

#include <gtest/gtest.h>

#include "runtime/event_consumer.hpp"
#include "services/ledger/in_memory_ledger_book.hpp"
#include "testing/fake_clock.hpp"
#include "testing/recording_outbox.hpp"

namespace sagapay::ledger {
namespace {

const PaymentId kPayment("3e4f5a6b-0000-4000-8000-000000000001");

Money Of(std::int64_t amount_minor, std::string_view currency) {
    return Money{amount_minor, *Currency::Parse(currency)};
}

class LedgerHandlerTest : public ::testing::Test {
protected:
    Envelope Captured(const PaymentId& payment, const Money& amount) const {
        return NewEnvelope(
            PaymentCaptured{{CustomerId("cust-1"), amount}}, payment, "trace-cap", clock_
        );
    }

    Envelope Reversed(const PaymentId& payment, const Money& amount) const {
        return NewEnvelope(
            PaymentReversed{
                "provider_timeout_compensation",
                EventId("evt-src"),
                {CustomerId("cust-1"), amount}},
            payment,
            "trace-rev",
            clock_
        );
    }

    testing::FakeClock clock_;
    InMemoryLedgerBook book_;
    testing::RecordingOutbox outbox_;
    LedgerHandler handler_{clock_};
};

TEST_F(LedgerHandlerTest, ACaptureIsPostedOnceAndAnnouncedAsSettled) {
    const Envelope event = Captured(kPayment, Of(1250, "USD"));

    handler_.OnCaptured(book_, outbox_, event);

    ASSERT_EQ(book_.Postings().size(), 1U);
    const auto& stored = book_.Postings().at({kPayment, Purpose::kSettlement});
    EXPECT_EQ(stored.entry.transaction_id, "settlement:" + kPayment.Value());
    EXPECT_EQ(stored.source, EventId(event.event_id));
    EXPECT_EQ(book_.Balance("customer_cash:USD"), 1250);
    EXPECT_EQ(book_.Balance("merchant_receivable:USD"), -1250);
    const auto settled = outbox_.Only<PaymentSettled>();
    EXPECT_EQ(settled.transaction_id, "settlement:" + kPayment.Value());
    EXPECT_EQ(settled.amount, Of(1250, "USD"));
    const Envelope& envelope = outbox_.Pending().front();
    EXPECT_EQ(envelope.aggregate_id, kPayment.Value());
    EXPECT_EQ(envelope.trace_id, "trace-cap");
    EXPECT_NE(envelope.event_id, event.event_id);
}

TEST_F(LedgerHandlerTest, ARedeliveryPostsNothingAndConfirmsTheFirstPostingsAmount) {
    handler_.OnCaptured(book_, outbox_, Captured(kPayment, Of(1250, "USD")));
    // A re-request whose payload disagrees: the first posting stands and is what is announced.
    handler_.OnCaptured(book_, outbox_, Captured(kPayment, Of(9999, "EUR")));

    EXPECT_EQ(book_.Postings().size(), 1U);
    EXPECT_EQ(book_.Balance("customer_cash:USD"), 1250);
    EXPECT_EQ(book_.Balance("customer_cash:EUR"), 0);
    const auto settled = outbox_.On(topics::kPaymentsSettled);
    ASSERT_EQ(settled.size(), 2U);
    for (const Envelope& e : settled) {
        const auto decoded = DecodeEvent<PaymentSettled>(e);
        ASSERT_TRUE(decoded.has_value());
        EXPECT_EQ(decoded->amount, Of(1250, "USD"));
        EXPECT_EQ(decoded->transaction_id, "settlement:" + kPayment.Value());
    }
}

TEST_F(LedgerHandlerTest, AReversalUndoesTheSettledAmountOnce) {
    handler_.OnCaptured(book_, outbox_, Captured(kPayment, Of(700, "EUR")));

    // The event's amount is not what is reversed: the settlement's is.
    handler_.OnReversed(book_, Reversed(kPayment, Of(1, "EUR")));
    handler_.OnReversed(book_, Reversed(kPayment, Of(700, "EUR")));

    EXPECT_EQ(book_.Postings().size(), 2U);
    const auto& reversal = book_.Postings().at({kPayment, Purpose::kReversal});
    EXPECT_EQ(reversal.entry.transaction_id, "reversal:" + kPayment.Value());
    EXPECT_EQ(reversal.entry.postings.front().amount_minor, 700);
    EXPECT_EQ(book_.Balance("customer_cash:EUR"), 0);
    EXPECT_EQ(book_.Balance("merchant_receivable:EUR"), 0);
    EXPECT_EQ(outbox_.Size(), 1U);  // the settlement's announcement only
}

TEST_F(LedgerHandlerTest, AReversalOfAnUnsettledPaymentPostsNothing) {
    handler_.OnReversed(book_, Reversed(kPayment, Of(700, "EUR")));

    EXPECT_TRUE(book_.Postings().empty());
    EXPECT_EQ(outbox_.Size(), 0U);
}

TEST_F(LedgerHandlerTest, CapturesThatCannotBePostedAreRefusedForGood) {
    const Envelope valid = Captured(kPayment, Of(1250, "USD"));
    std::vector<Envelope> invalid(6, valid);
    invalid[0].payload.erase("amount_cents");
    invalid[1].payload["amount_cents"] = "1250";
    invalid[2].payload["amount_cents"] = 0;
    invalid[3].payload["currency"] = "usd";
    invalid[4].aggregate_id = "not-a-uuid";
    invalid[5].event_type = "payments.settled";

    for (const Envelope& event : invalid) {
        SCOPED_TRACE(event.payload.dump() + " " + event.aggregate_id + " " + event.event_type);
        EXPECT_THROW(handler_.OnCaptured(book_, outbox_, event), PermanentEventError);
    }
    EXPECT_TRUE(book_.Postings().empty());
    EXPECT_EQ(outbox_.Size(), 0U);
}

TEST_F(LedgerHandlerTest, ReversalsThatAreNotOneAreRefusedForGood) {
    handler_.OnCaptured(book_, outbox_, Captured(kPayment, Of(700, "EUR")));
    std::vector<Envelope> invalid(3, Reversed(kPayment, Of(700, "EUR")));
    invalid[0].payload.erase("customer_id");
    invalid[1].aggregate_id = "not-a-uuid";
    invalid[2].event_type = "payments.captured";

    for (const Envelope& event : invalid) {
        SCOPED_TRACE(event.payload.dump() + " " + event.aggregate_id + " " + event.event_type);
        EXPECT_THROW(handler_.OnReversed(book_, event), PermanentEventError);
    }
    EXPECT_EQ(book_.Postings().size(), 1U);
}

/// A book whose posting lost a race it cannot see yet.
class RaceLostBook final : public LedgerBook {
public:
    bool Post(const PaymentId&, const JournalEntry&, const EventId&) override { return false; }
    std::optional<Money> Settlement(const PaymentId&) override { return std::nullopt; }
};

TEST_F(LedgerHandlerTest, ASettlementPostedElsewhereButNotVisibleIsRetried) {
    RaceLostBook book;
    try {
        handler_.OnCaptured(book, outbox_, Captured(kPayment, Of(1250, "USD")));
        ADD_FAILURE() << "no exception";
    } catch (const PermanentEventError&) {
        ADD_FAILURE() << "dead-lettered instead of retried";
    } catch (const Exception& error) {
        EXPECT_EQ(error.Code(), ErrorCode::kAborted);
    }
    EXPECT_EQ(outbox_.Size(), 0U);
}

TEST(InMemoryLedgerBook, RefusesAnUnbalancedEntry) {
    InMemoryLedgerBook book;
    JournalEntry wrong;
    wrong.transaction_id = "settlement:" + kPayment.Value();
    wrong.postings = {
        {"customer_cash", Direction::kDebit, 100, "USD"},
        {"merchant_receivable", Direction::kCredit, 99, "USD"},
    };

    EXPECT_THROW(book.Post(kPayment, wrong, EventId("e")), Exception);
    EXPECT_TRUE(book.Postings().empty());
}

}  // namespace
}  // namespace sagapay::ledger
