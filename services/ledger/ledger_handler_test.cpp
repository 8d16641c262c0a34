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

    Envelope Refunded(
        const PaymentId& payment,
        const std::string& refund_id,
        const Money& amount,
        std::int64_t refunded_total = 0,
        std::int64_t captured = 0
    ) const {
        return NewEnvelope(
            PaymentRefunded{
                refund_id,
                amount,
                refunded_total == 0 ? amount.amount_minor : refunded_total,
                captured,
                CustomerId("cust-1"),
                "requested_by_customer"},
            payment,
            "trace-ref",
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

const std::string kRefund1 = "7a1b2c3d-0000-4000-8000-000000000001";
const std::string kRefund2 = "7a1b2c3d-0000-4000-8000-000000000002";
const std::string kRefund3 = "7a1b2c3d-0000-4000-8000-000000000003";

TEST_F(LedgerHandlerTest, ARefundIsPostedOncePerRefundIdAgainstTheSettlement) {
    handler_.OnCaptured(book_, outbox_, Captured(kPayment, Of(1000, "USD")));
    const Envelope first = Refunded(kPayment, kRefund1, Of(300, "USD"), 300, 1000);

    handler_.OnRefunded(book_, first);
    handler_.OnRefunded(book_, first);  // a redelivery
    // The same refund announced again under a new event id: still one posting.
    handler_.OnRefunded(book_, Refunded(kPayment, kRefund1, Of(300, "USD"), 300, 1000));

    ASSERT_EQ(book_.Refunds().size(), 1U);
    const std::string id = "refund:" + kPayment.Value() + ":" + kRefund1;
    const auto& stored = book_.Refunds().at(id);
    EXPECT_EQ(stored.payment, kPayment);
    EXPECT_EQ(stored.stored.entry.purpose, Purpose::kRefund);
    EXPECT_EQ(stored.stored.entry.transaction_id, id);
    EXPECT_EQ(stored.stored.source, EventId(first.event_id));
    // The opposite of the settlement: the customer gets back 300 of the 1000.
    EXPECT_EQ(book_.Balance("customer_cash:USD"), 700);
    EXPECT_EQ(book_.Balance("merchant_receivable:USD"), -700);
    EXPECT_EQ(outbox_.Size(), 1U);  // the settlement's announcement only
}

TEST_F(LedgerHandlerTest, PartialRefundsAddUpToTheSettlementAndNoFurther) {
    handler_.OnCaptured(book_, outbox_, Captured(kPayment, Of(1000, "EUR")));

    handler_.OnRefunded(book_, Refunded(kPayment, kRefund1, Of(400, "EUR"), 400));
    handler_.OnRefunded(book_, Refunded(kPayment, kRefund2, Of(600, "EUR"), 1000));
    EXPECT_THROW(
        handler_.OnRefunded(book_, Refunded(kPayment, kRefund3, Of(1, "EUR"), 1001)),
        PermanentEventError
    );
    // The last refund redelivered is still no over-refund: it was posted.
    handler_.OnRefunded(book_, Refunded(kPayment, kRefund2, Of(600, "EUR"), 1000));

    EXPECT_EQ(book_.Refunds().size(), 2U);
    EXPECT_EQ(book_.Balance("customer_cash:EUR"), 0);
    EXPECT_EQ(book_.Balance("merchant_receivable:EUR"), 0);
}

TEST_F(LedgerHandlerTest, RefundsTheLedgerCannotTakeAreRefusedForGood) {
    const PaymentId unsettled("3e4f5a6b-0000-4000-8000-000000000002");
    handler_.OnCaptured(book_, outbox_, Captured(kPayment, Of(500, "USD")));

    // No settlement, another currency, more than the settlement.
    EXPECT_THROW(
        handler_.OnRefunded(book_, Refunded(unsettled, kRefund1, Of(100, "USD"))),
        PermanentEventError
    );
    EXPECT_THROW(
        handler_.OnRefunded(book_, Refunded(kPayment, kRefund1, Of(100, "EUR"))),
        PermanentEventError
    );
    EXPECT_THROW(
        handler_.OnRefunded(book_, Refunded(kPayment, kRefund1, Of(501, "USD"))),
        PermanentEventError
    );
    // Malformed events.
    std::vector<Envelope> invalid(6, Refunded(kPayment, kRefund1, Of(100, "USD")));
    invalid[0].payload.erase("refund_id");
    invalid[1].payload["refund_id"] = "not-a-uuid";
    invalid[2].payload["amount_cents"] = 0;
    invalid[3].payload.erase("currency");
    invalid[4].aggregate_id = "not-a-uuid";
    invalid[5].event_type = "refunds.failed";
    for (const Envelope& event : invalid) {
        SCOPED_TRACE(event.payload.dump() + " " + event.aggregate_id + " " + event.event_type);
        EXPECT_THROW(handler_.OnRefunded(book_, event), PermanentEventError);
    }
    EXPECT_TRUE(book_.Refunds().empty());
    EXPECT_EQ(book_.Balance("customer_cash:USD"), 500);
}

TEST_F(LedgerHandlerTest, ARefundIdInUpperCaseIsPostedUnderItsLowerCaseId) {
    handler_.OnCaptured(book_, outbox_, Captured(kPayment, Of(500, "USD")));
    const std::string upper = "7A1B2C3D-0000-4000-8000-00000000000A";

    handler_.OnRefunded(book_, Refunded(kPayment, upper, Of(100, "USD")));
    handler_.OnRefunded(
        book_, Refunded(kPayment, "7a1b2c3d-0000-4000-8000-00000000000a", Of(100, "USD"))
    );

    ASSERT_EQ(book_.Refunds().size(), 1U);
    EXPECT_EQ(
        book_.Refunds().begin()->first,
        "refund:" + kPayment.Value() + ":7a1b2c3d-0000-4000-8000-00000000000a"
    );
}

TEST_F(LedgerHandlerTest, AReversalAfterRefundsUndoesOnlyWhatIsLeft) {
    handler_.OnCaptured(book_, outbox_, Captured(kPayment, Of(900, "USD")));
    handler_.OnRefunded(book_, Refunded(kPayment, kRefund1, Of(400, "USD")));

    handler_.OnReversed(book_, Reversed(kPayment, Of(900, "USD")));

    const auto& reversal = book_.Postings().at({kPayment, Purpose::kReversal});
    EXPECT_EQ(AmountOf(reversal.entry), 500);
    EXPECT_EQ(book_.Balance("customer_cash:USD"), 0);
    // Nothing is left to give back.
    EXPECT_THROW(
        handler_.OnRefunded(book_, Refunded(kPayment, kRefund2, Of(1, "USD"))), PermanentEventError
    );
}

TEST_F(LedgerHandlerTest, AReversalAfterAFullRefundPostsNothing) {
    handler_.OnCaptured(book_, outbox_, Captured(kPayment, Of(900, "USD")));
    handler_.OnRefunded(book_, Refunded(kPayment, kRefund1, Of(900, "USD")));

    handler_.OnReversed(book_, Reversed(kPayment, Of(900, "USD")));

    EXPECT_FALSE(book_.Postings().contains({kPayment, Purpose::kReversal}));
    EXPECT_EQ(book_.Balance("customer_cash:USD"), 0);
}

/// A book whose posting lost a race it cannot see yet.
class RaceLostBook final : public LedgerBook {
public:
    bool Post(const PaymentId&, const JournalEntry&, const EventId&) override { return false; }
    std::optional<Money> Settlement(const PaymentId&) override { return std::nullopt; }
    std::vector<PostedTransaction> Transactions(const PaymentId&) override { return {}; }
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
