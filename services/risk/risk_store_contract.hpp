#pragma once

// The contract of RiskStore and RiskUnitsOfWork, run against InMemoryRiskUnitsOfWork
// (risk_store_contract_test.cpp) and PgRiskUnitsOfWork (risk_store_contract_pgtest.cpp). The
// deterministic simulation runs the risk handlers over the in-memory store: it is only valid while
// both pass this suite.
//
// A harness `H` gives each test empty stores and provides:
//   RiskUnitsOfWork& Units();
//   void Age(std::chrono::seconds by);   everything recorded so far becomes `by` older
//   std::size_t PublishedEvents();       events of committed units of work
//
// Time: PgRiskStore stamps reviews with the database's now() (the transaction's start), the
// in-memory store with its Clock. So the suite never compares timestamps with a clock: it ages
// what is stored (the in-memory harness advances its FakeClock, the PostgreSQL one moves the
// stored timestamps back) and asserts only orderings and which reviews are old enough. Reviews
// created in one unit of work share one timestamp in both (one transaction, one now(); a clock
// nobody advanced), and are then ordered by review id.

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "services/risk/risk_store.hpp"
#include "testing/contract.hpp"
#include "testing/fake_clock.hpp"

namespace sagapay::risk::contract {

template <class Harness>
class RiskStoreContract : public ::testing::Test {
protected:
    static PaymentId Payment(int n) { return PaymentId(testing::UuidNo(n)); }
    static CustomerId Customer(int n) { return CustomerId("cust-" + std::to_string(n)); }

    static DecisionRecord Decision(int n, Verdict verdict, std::string reason = "rule") {
        return DecisionRecord{
            Payment(n),
            Customer(n),
            Money{500 + n, *Currency::Parse("USD")},
            verdict,
            std::move(reason),
            VelocityCounts{.payments_last_hour = 2, .failed_attempts = 1}};
    }
    static NewReview ReviewOf(int n, std::string reason = "high_amount") {
        return NewReview{
            Payment(n),
            Customer(n),
            Money{500 + n, *Currency::Parse("USD")},
            std::move(reason),
            "trace-" + std::to_string(n)};
    }
    /// The REVIEW decision and its pending review, as the handler writes them.
    void OpenReview(int n) {
        Run([&](RiskStore& store) {
            store.InsertDecision(Decision(n, Verdict::kReview));
            store.InsertReview(ReviewOf(n));
        });
    }

    void Run(const std::function<void(RiskStore&)>& work) {
        harness_.Units().Run([&](RiskStore& store, Outbox&) { work(store); });
    }
    std::optional<ErrorCode> RunFails(const std::function<void(RiskStore&)>& work) {
        return testing::ErrorCodeOf([&] { Run(work); });
    }

    std::vector<Review> List(
        ReviewStatus status, std::int64_t limit, const std::optional<ReviewId>& after
    ) {
        std::vector<Review> page;
        Run([&](RiskStore& store) { page = store.ListReviews({status, limit, after}); });
        return page;
    }
    std::optional<KnownDecision> Find(int n) {
        std::optional<KnownDecision> known;
        Run([&](RiskStore& store) { known = store.FindDecision(Payment(n)); });
        return known;
    }
    DecideReviewOutcome Decide(int n, ReviewStatus status, const std::string& by) {
        DecideReviewOutcome outcome;
        Run([&](RiskStore& store) {
            outcome = store.DecideReview(
                Payment(n), ReviewVerdict{status, by, EventId("decision-" + std::to_string(n))}
            );
        });
        return outcome;
    }
    std::vector<ExpiredReview> Expire(std::chrono::seconds older_than, std::int64_t limit) {
        std::vector<ExpiredReview> expired;
        Run([&](RiskStore& store) { expired = store.ExpireReviews(older_than, limit); });
        return expired;
    }

    static std::vector<PaymentId> PaymentsOf(const std::vector<Review>& page) {
        std::vector<PaymentId> ids;
        ids.reserve(page.size());
        for (const Review& review : page) {
            ids.push_back(review.payment_id);
        }
        return ids;
    }

    Harness harness_;
};

TYPED_TEST_SUITE_P(RiskStoreContract);

TYPED_TEST_P(RiskStoreContract, APaymentWithoutADecisionHasNone) {
    EXPECT_FALSE(this->Find(1).has_value());
}

TYPED_TEST_P(RiskStoreContract, ADecisionIsFoundAsItWasRecorded) {
    this->Run([&](RiskStore& store) {
        store.InsertDecision(this->Decision(1, Verdict::kDeny, "velocity_exceeded"));
        // Visible in the unit of work that wrote it.
        EXPECT_TRUE(store.FindDecision(this->Payment(1)).has_value());
    });

    const auto known = this->Find(1);
    ASSERT_TRUE(known.has_value());
    EXPECT_EQ(known->verdict, Verdict::kDeny);
    EXPECT_EQ(known->reason, "velocity_exceeded");
    EXPECT_FALSE(known->manual.has_value());
}

TYPED_TEST_P(RiskStoreContract, ASecondDecisionForAPaymentThrowsAlreadyExistsAndUndoesItsUnit) {
    this->Run([&](RiskStore& store) {
        store.InsertDecision(this->Decision(1, Verdict::kApprove, "first"));
    });

    EXPECT_EQ(
        this->RunFails([&](RiskStore& store) {
            store.InsertDecision(this->Decision(2, Verdict::kReview));
            store.InsertReview(this->ReviewOf(2));
            store.InsertDecision(this->Decision(1, Verdict::kDeny, "second"));
        }),
        ErrorCode::kAlreadyExists
    );

    EXPECT_EQ(this->Find(1)->reason, "first");
    EXPECT_FALSE(this->Find(2).has_value());
    EXPECT_TRUE(this->List(ReviewStatus::kPending, 10, std::nullopt).empty());
}

TYPED_TEST_P(RiskStoreContract, ARolledBackUnitOfWorkLeavesNoRecordAndNoEvent) {
    testing::FakeClock clock;
    EXPECT_EQ(
        testing::ErrorCodeOf([&] {
            this->harness_.Units().Run([&](RiskStore& store, Outbox& outbox) {
                store.InsertDecision(this->Decision(1, Verdict::kReview));
                store.InsertReview(this->ReviewOf(1));
                outbox.Append(NewEnvelope(
                    PaymentRequested{{this->Customer(1), Money{5, *Currency::Parse("USD")}}, false},
                    this->Payment(1),
                    "trace",
                    clock
                ));
                throw Exception(ErrorCode::kUnavailable, "velocity store is down");
            });
        }),
        ErrorCode::kUnavailable
    );

    EXPECT_FALSE(this->Find(1).has_value());
    EXPECT_TRUE(this->List(ReviewStatus::kPending, 10, std::nullopt).empty());
    EXPECT_EQ(this->harness_.PublishedEvents(), 0U);
}

TYPED_TEST_P(RiskStoreContract, OpeningAReviewTwiceKeepsTheFirst) {
    this->OpenReview(1);
    this->Run([&](RiskStore& store) { store.InsertReview(this->ReviewOf(1, "another_reason")); });

    const auto pending = this->List(ReviewStatus::kPending, 10, std::nullopt);
    ASSERT_EQ(pending.size(), 1U);
    EXPECT_EQ(pending[0].payment_id, this->Payment(1));
    EXPECT_EQ(pending[0].customer_id, this->Customer(1));
    EXPECT_EQ(pending[0].amount, (Money{501, *Currency::Parse("USD")}));
    EXPECT_EQ(pending[0].reason, "high_amount");
    EXPECT_EQ(pending[0].status, ReviewStatus::kPending);
    EXPECT_FALSE(pending[0].reviewed_by.has_value());
    EXPECT_FALSE(pending[0].reviewed_at.has_value());
    EXPECT_FALSE(pending[0].created_at.empty());
    EXPECT_FALSE(pending[0].review_id.Empty());
}

TYPED_TEST_P(RiskStoreContract, ReviewsAreListedOldestFirstAndPagedAfterTheLastOne) {
    for (const int n : {3, 1, 2}) {  // created in this order, an older one each time
        this->OpenReview(n);
        this->harness_.Age(std::chrono::seconds(10));
    }

    const auto first = this->List(ReviewStatus::kPending, 2, std::nullopt);
    EXPECT_EQ(this->PaymentsOf(first), (std::vector{this->Payment(3), this->Payment(1)}));
    ASSERT_EQ(first.size(), 2U);
    EXPECT_LT(first[0].created_at, first[1].created_at);
    const auto second = this->List(ReviewStatus::kPending, 2, first.back().review_id);
    EXPECT_EQ(this->PaymentsOf(second), (std::vector{this->Payment(2)}));
    ASSERT_EQ(second.size(), 1U);
    EXPECT_TRUE(this->List(ReviewStatus::kPending, 2, second.back().review_id).empty());
    EXPECT_TRUE(this->List(ReviewStatus::kPending, 0, std::nullopt).empty());
}

TYPED_TEST_P(RiskStoreContract, ReviewsOpenedTogetherAreOrderedByReviewId) {
    this->Run([&](RiskStore& store) {
        for (int n = 1; n <= 4; ++n) {
            store.InsertReview(this->ReviewOf(n));
        }
    });

    const auto all = this->List(ReviewStatus::kPending, 10, std::nullopt);
    ASSERT_EQ(all.size(), 4U);
    EXPECT_TRUE(std::is_sorted(all.begin(), all.end(), [](const Review& a, const Review& b) {
        return a.review_id.Value() < b.review_id.Value();
    }));
    // Paging one at a time walks the same order.
    std::vector<PaymentId> walked;
    std::optional<ReviewId> after;
    for (int page = 0; page < 5; ++page) {
        const auto one = this->List(ReviewStatus::kPending, 1, after);
        if (one.empty()) {
            break;
        }
        walked.push_back(one[0].payment_id);
        after = one[0].review_id;
    }
    EXPECT_EQ(walked, this->PaymentsOf(all));
}

TYPED_TEST_P(RiskStoreContract, AListAfterAnUnknownReviewIsEmpty) {
    this->OpenReview(1);

    EXPECT_TRUE(this->List(ReviewStatus::kPending, 10, ReviewId(testing::UuidNo(999'999))).empty());
}

TYPED_TEST_P(RiskStoreContract, AReviewIdThatIsNotAUuidIsRefusedAsInvalid) {
    this->OpenReview(1);

    EXPECT_EQ(
        this->RunFails([](RiskStore& store) {
            (void)store.ListReviews({ReviewStatus::kPending, 10, ReviewId("not-a-uuid")});
        }),
        ErrorCode::kInvalidArgument
    );
}

TYPED_TEST_P(RiskStoreContract, APaymentIdThatIsNotAUuidIsRefusedAsInvalid) {
    DecisionRecord decision = this->Decision(1, Verdict::kApprove);
    decision.payment_id = PaymentId("not-a-uuid");
    NewReview review = this->ReviewOf(1);
    review.payment_id = PaymentId("not-a-uuid");

    EXPECT_EQ(
        this->RunFails([&](RiskStore& store) { (void)store.FindDecision(PaymentId("x")); }),
        ErrorCode::kInvalidArgument
    );
    EXPECT_EQ(
        this->RunFails([&](RiskStore& store) { store.InsertDecision(decision); }),
        ErrorCode::kInvalidArgument
    );
    EXPECT_EQ(
        this->RunFails([&](RiskStore& store) { store.InsertReview(review); }),
        ErrorCode::kInvalidArgument
    );
    EXPECT_EQ(
        this->RunFails([&](RiskStore& store) {
            (void)store.DecideReview(
                PaymentId("x"), ReviewVerdict{ReviewStatus::kApproved, "ops", EventId("e")}
            );
        }),
        ErrorCode::kInvalidArgument
    );
}

TYPED_TEST_P(RiskStoreContract, ANegativeLimitIsRefusedAsInvalid) {
    this->OpenReview(1);

    EXPECT_EQ(
        this->RunFails([](RiskStore& store) {
            (void)store.ListReviews({ReviewStatus::kPending, -1, std::nullopt});
        }),
        ErrorCode::kInvalidArgument
    );
    EXPECT_EQ(
        this->RunFails([](RiskStore& store) {
            (void)store.ExpireReviews(std::chrono::seconds(0), -1);
        }),
        ErrorCode::kInvalidArgument
    );
}

TYPED_TEST_P(RiskStoreContract, DecidingAPendingReviewRecordsTheManualOutcome) {
    this->OpenReview(1);
    this->OpenReview(2);

    const DecideReviewOutcome outcome = this->Decide(1, ReviewStatus::kApproved, "ops-user");

    const auto* decided = std::get_if<DecidedReview>(&outcome);
    ASSERT_NE(decided, nullptr);
    EXPECT_EQ(decided->customer_id, this->Customer(1));
    EXPECT_EQ(decided->trace_id, "trace-1");
    EXPECT_FALSE(decided->reviewed_at.empty());
    const auto known = this->Find(1);
    ASSERT_TRUE(known.has_value());
    EXPECT_EQ(known->verdict, Verdict::kReview);
    ASSERT_TRUE(known->manual.has_value());
    EXPECT_TRUE(known->manual->approved);
    EXPECT_EQ(known->manual->reviewed_by, "ops-user");
    EXPECT_EQ(known->manual->reviewed_at, decided->reviewed_at);
    EXPECT_EQ(known->manual->decision_event_id, EventId("decision-1"));
    EXPECT_FALSE(this->Find(2)->manual.has_value());  // still pending

    const auto approved = this->List(ReviewStatus::kApproved, 10, std::nullopt);
    ASSERT_EQ(approved.size(), 1U);
    EXPECT_EQ(approved[0].reviewed_by, "ops-user");
    EXPECT_EQ(approved[0].reviewed_at, decided->reviewed_at);
    EXPECT_EQ(
        this->PaymentsOf(this->List(ReviewStatus::kPending, 10, std::nullopt)),
        (std::vector{this->Payment(2)})
    );
    EXPECT_TRUE(this->List(ReviewStatus::kDenied, 10, std::nullopt).empty());
}

TYPED_TEST_P(RiskStoreContract, ADecidedReviewCannotBeDecidedAgain) {
    this->OpenReview(1);
    ASSERT_TRUE(
        std::holds_alternative<DecidedReview>(this->Decide(1, ReviewStatus::kDenied, "ops-a"))
    );

    const DecideReviewOutcome again = this->Decide(1, ReviewStatus::kApproved, "ops-b");

    const auto* already = std::get_if<ReviewAlreadyDecided>(&again);
    ASSERT_NE(already, nullptr);
    EXPECT_EQ(already->status, ReviewStatus::kDenied);
    const auto known = this->Find(1);
    ASSERT_TRUE(known->manual.has_value());
    EXPECT_FALSE(known->manual->approved);
    EXPECT_EQ(known->manual->reviewed_by, "ops-a");
    EXPECT_EQ(known->manual->decision_event_id, EventId("decision-1"));
}

TYPED_TEST_P(RiskStoreContract, DecidingAPaymentWithoutAReviewFindsNone) {
    this->Run([&](RiskStore& store) { store.InsertDecision(this->Decision(1, Verdict::kApprove)); }
    );

    EXPECT_TRUE(
        std::holds_alternative<ReviewNotFound>(this->Decide(1, ReviewStatus::kApproved, "ops"))
    );
    EXPECT_TRUE(
        std::holds_alternative<ReviewNotFound>(this->Decide(2, ReviewStatus::kApproved, "ops"))
    );
}

TYPED_TEST_P(RiskStoreContract, ExpiryDeniesOnlyPendingReviewsOlderThanTheLimit) {
    this->OpenReview(1);
    this->OpenReview(2);
    ASSERT_TRUE(
        std::holds_alternative<DecidedReview>(this->Decide(2, ReviewStatus::kApproved, "ops"))
    );
    this->harness_.Age(std::chrono::hours(2));
    this->OpenReview(3);  // too young

    const auto expired = this->Expire(std::chrono::hours(1), 10);

    ASSERT_EQ(expired.size(), 1U);
    EXPECT_EQ(expired[0].payment_id, this->Payment(1));
    EXPECT_EQ(expired[0].customer_id, this->Customer(1));
    EXPECT_EQ(expired[0].trace_id, "trace-1");
    EXPECT_FALSE(expired[0].decision_event_id.Empty());
    const auto known = this->Find(1);
    ASSERT_TRUE(known->manual.has_value());
    EXPECT_FALSE(known->manual->approved);
    EXPECT_EQ(known->manual->reviewed_by, "system:expiry");
    EXPECT_EQ(known->manual->decision_event_id, expired[0].decision_event_id);
    EXPECT_TRUE(this->Find(2)->manual->approved);
    EXPECT_EQ(
        this->PaymentsOf(this->List(ReviewStatus::kPending, 10, std::nullopt)),
        (std::vector{this->Payment(3)})
    );
    EXPECT_TRUE(std::holds_alternative<ReviewAlreadyDecided>(
        this->Decide(1, ReviewStatus::kApproved, "ops")
    ));
    EXPECT_TRUE(this->Expire(std::chrono::hours(1), 10).empty());
}

TYPED_TEST_P(RiskStoreContract, ExpiryTakesAtMostLimitReviewsOldestFirst) {
    for (const int n : {1, 2, 3}) {
        this->OpenReview(n);
        this->harness_.Age(std::chrono::minutes(1));
    }
    this->harness_.Age(std::chrono::hours(2));

    const auto first = this->Expire(std::chrono::hours(1), 2);
    const auto second = this->Expire(std::chrono::hours(1), 2);

    // PgRiskStore returns the RETURNING rows in no promised order: compare as sets.
    std::set<PaymentId> first_ids;
    for (const ExpiredReview& review : first) {
        first_ids.insert(review.payment_id);
    }
    EXPECT_EQ(first_ids, (std::set{this->Payment(1), this->Payment(2)}));
    ASSERT_EQ(second.size(), 1U);
    EXPECT_EQ(second[0].payment_id, this->Payment(3));
    EXPECT_EQ(this->List(ReviewStatus::kDenied, 10, std::nullopt).size(), 3U);
}

REGISTER_TYPED_TEST_SUITE_P(
    RiskStoreContract,
    APaymentWithoutADecisionHasNone,
    ADecisionIsFoundAsItWasRecorded,
    ASecondDecisionForAPaymentThrowsAlreadyExistsAndUndoesItsUnit,
    ARolledBackUnitOfWorkLeavesNoRecordAndNoEvent,
    OpeningAReviewTwiceKeepsTheFirst,
    ReviewsAreListedOldestFirstAndPagedAfterTheLastOne,
    ReviewsOpenedTogetherAreOrderedByReviewId,
    AListAfterAnUnknownReviewIsEmpty,
    AReviewIdThatIsNotAUuidIsRefusedAsInvalid,
    APaymentIdThatIsNotAUuidIsRefusedAsInvalid,
    ANegativeLimitIsRefusedAsInvalid,
    DecidingAPendingReviewRecordsTheManualOutcome,
    ADecidedReviewCannotBeDecidedAgain,
    DecidingAPaymentWithoutAReviewFindsNone,
    ExpiryDeniesOnlyPendingReviewsOlderThanTheLimit,
    ExpiryTakesAtMostLimitReviewsOldestFirst
);

}  // namespace sagapay::risk::contract
