#include "services/risk/pg_risk_store.hpp"

#include <atomic>
#include <future>
#include <latch>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/postgres/migrator.hpp"
#include "core/ids.hpp"
#include "runtime/transaction_outbox.hpp"
#include "services/risk/in_memory_velocity_counter.hpp"
#include "services/risk/review_expiry.hpp"
#include "services/risk/risk_handler.hpp"
#include "services/risk/schema.hpp"
#include "testing/fake_clock.hpp"
#include "testing/test_env.hpp"

namespace sagapay::risk {
namespace {

using namespace std::chrono_literals;

PaymentId NthPayment(int n) {
    char id[40];
    std::snprintf(id, sizeof(id), "9c4d5e6f-0000-4000-8000-%012d", n);
    return PaymentId(std::string(id));
}

Money Eur(std::int64_t amount_minor) {
    return Money{amount_minor, *Currency::Parse("EUR")};
}

NewReview ReviewFor(int n, const std::string& reason = "high_amount") {
    return {
        NthPayment(n),
        CustomerId("cust-" + std::to_string(n)),
        Eur(100000 + n),
        reason,
        "trace-" + std::to_string(n)};
}

class PgRiskStoreTest : public ::testing::Test {
protected:
    PgRiskStoreTest() : conn_(db_.Connect()) { postgres::Migrate(conn_, "risk", RiskMigrations()); }

    /// Runs `fn` with a PgRiskStore in its own committed transaction.
    template <class Fn>
    auto InTx(Fn&& fn) {
        return testing::InCommittedTransaction<PgRiskStore>(conn_, std::forward<Fn>(fn));
    }

    void OpenReviews(int from, int to) {
        for (int n = from; n <= to; ++n) {
            InTx([&](RiskStore& store) { store.InsertReview(ReviewFor(n)); });
        }
    }

    /// Moves the review's creation `age` into the past.
    void Age(int n, std::chrono::seconds age) {
        conn_.Exec(
            "UPDATE risk_reviews SET created_at = now() - make_interval(secs => $2) "
            "WHERE payment_id = $1",
            {NthPayment(n).Value(), static_cast<std::int64_t>(age.count())}
        );
    }

    std::int64_t Count(const std::string& sql) { return conn_.Exec(sql).GetInt(0, 0); }

    testing::TestDatabase db_;
    postgres::Connection conn_;
};

TEST_F(PgRiskStoreTest, KeepsOneDecisionPerPayment) {
    EXPECT_FALSE(InTx([](RiskStore& store) { return store.FindDecision(NthPayment(1)); }));

    InTx([](RiskStore& store) {
        store.InsertDecision(
            {NthPayment(1),
             CustomerId("cust-1"),
             Eur(1500),
             Verdict::kReview,
             "velocity_threshold",
             {.payments_last_hour = 21, .failed_attempts = 2}}
        );
    });

    const auto known = InTx([](RiskStore& store) { return store.FindDecision(NthPayment(1)); });
    ASSERT_TRUE(known.has_value());
    EXPECT_EQ(known->verdict, Verdict::kReview);
    EXPECT_EQ(known->reason, "velocity_threshold");
    const auto row = conn_.Exec(
        "SELECT customer_id, amount_cents, currency, decision, payments_last_hour, "
        "failed_attempts FROM risk_decisions"
    );
    ASSERT_EQ(row.Size(), 1);
    EXPECT_EQ(row.GetString(0, 0), "cust-1");
    EXPECT_EQ(row.GetInt(0, 1), 1500);
    EXPECT_EQ(row.GetString(0, 2), "EUR");
    EXPECT_EQ(row.GetString(0, 3), "REVIEW");
    EXPECT_EQ(row.GetInt(0, 4), 21);
    EXPECT_EQ(row.GetInt(0, 5), 2);

    try {
        InTx([](RiskStore& store) {
            store.InsertDecision(
                {NthPayment(1),
                 CustomerId("cust-1"),
                 Eur(1500),
                 Verdict::kApprove,
                 "rule_passed",
                 {}}
            );
        });
        ADD_FAILURE() << "a second decision was accepted";
    } catch (const postgres::SqlError& error) {
        EXPECT_EQ(error.SqlState(), "23505");
    }
}

TEST_F(PgRiskStoreTest, EveryVerdictRoundTrips) {
    for (const Verdict verdict : {Verdict::kApprove, Verdict::kReview, Verdict::kDeny}) {
        const PaymentId payment(NewUuid());
        InTx([&](RiskStore& store) {
            store.InsertDecision({payment, CustomerId("c"), Eur(1), verdict, "r", {}});
        });
        EXPECT_EQ(
            InTx([&](RiskStore& store) { return store.FindDecision(payment); })->verdict, verdict
        );
    }
}

TEST_F(PgRiskStoreTest, AKnownDecisionCarriesItsReviewsOutcomeOnceDecided) {
    InTx([&](RiskStore& store) {
        store.InsertDecision(
            {NthPayment(1), CustomerId("cust-1"), Eur(1), Verdict::kReview, "r", {}}
        );
    });
    OpenReviews(1, 1);
    EXPECT_FALSE(InTx([&](RiskStore& store) { return store.FindDecision(NthPayment(1)); }
    )->manual.has_value());  // pending: nothing to announce
    const EventId event_id(NewUuid());
    InTx([&](RiskStore& store) {
        (void)store.DecideReview(NthPayment(1), {ReviewStatus::kApproved, "ops-anna", event_id});
    });

    const auto known = InTx([&](RiskStore& store) { return store.FindDecision(NthPayment(1)); });

    ASSERT_TRUE(known.has_value());
    EXPECT_EQ(known->verdict, Verdict::kReview);
    ASSERT_TRUE(known->manual.has_value());
    EXPECT_TRUE(known->manual->approved);
    EXPECT_EQ(known->manual->reviewed_by, "ops-anna");
    EXPECT_EQ(known->manual->decision_event_id, event_id);
    EXPECT_TRUE(ParseIsoUtc(known->manual->reviewed_at).has_value()) << known->manual->reviewed_at;
}

TEST_F(PgRiskStoreTest, OpensOneReviewPerPaymentWhateverTheRedeliveries) {
    OpenReviews(1, 1);
    InTx([](RiskStore& store) { store.InsertReview(ReviewFor(1, "another_reason")); });

    const auto rows = conn_.Exec(
        "SELECT status, reason, trace_id, amount_cents, currency, reviewed_by IS NULL FROM "
        "risk_reviews"
    );
    ASSERT_EQ(rows.Size(), 1);
    EXPECT_EQ(rows.GetString(0, 0), "PENDING");
    EXPECT_EQ(rows.GetString(0, 1), "high_amount");
    EXPECT_EQ(rows.GetString(0, 2), "trace-1");
    EXPECT_EQ(rows.GetInt(0, 3), 100001);
    EXPECT_EQ(rows.GetString(0, 4), "EUR");
    EXPECT_TRUE(rows.GetBool(0, 5));
}

TEST_F(PgRiskStoreTest, ListsReviewsByStatusOldestFirstInKeysetPages) {
    OpenReviews(1, 5);
    const auto all = InTx([](RiskStore& store) {
        return store.ListReviews(
            {.status = ReviewStatus::kPending, .limit = 100, .after = std::nullopt}
        );
    });
    ASSERT_EQ(all.size(), 5U);
    for (std::size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ(all[i].payment_id, NthPayment(static_cast<int>(i) + 1));
    }
    const Review& first = all.front();
    EXPECT_TRUE(IsUuid(first.review_id.Value()));
    EXPECT_EQ(first.customer_id, CustomerId("cust-1"));
    EXPECT_EQ(first.amount, Eur(100001));
    EXPECT_EQ(first.reason, "high_amount");
    EXPECT_EQ(first.status, ReviewStatus::kPending);
    EXPECT_FALSE(first.reviewed_by.has_value());
    EXPECT_FALSE(first.reviewed_at.has_value());
    EXPECT_TRUE(ParseIsoUtc(first.created_at).has_value()) << first.created_at;
    EXPECT_TRUE(first.created_at.ends_with("+00:00")) << first.created_at;

    std::vector<PaymentId> paged;
    std::optional<ReviewId> after;
    for (int page = 0; page < 3; ++page) {
        const auto reviews = InTx([&](RiskStore& store) {
            return store.ListReviews({.status = ReviewStatus::kPending, .limit = 2, .after = after}
            );
        });
        for (const Review& r : reviews) {
            paged.push_back(r.payment_id);
        }
        if (!reviews.empty()) {
            after = reviews.back().review_id;
        }
    }
    ASSERT_EQ(paged.size(), 5U);
    EXPECT_EQ(paged.back(), NthPayment(5));

    EXPECT_TRUE(InTx([](RiskStore& store) {
                    return store.ListReviews(
                        {.status = ReviewStatus::kApproved, .limit = 10, .after = std::nullopt}
                    );
                }).empty());
    EXPECT_TRUE(
        InTx([](RiskStore& store) {
            return store.ListReviews(
                {.status = ReviewStatus::kPending, .limit = 10, .after = ReviewId(NewUuid())}
            );
        }).empty()
    );
}

TEST_F(PgRiskStoreTest, DecidesAPendingReviewOnceWithOneConditionalUpdate) {
    OpenReviews(1, 1);
    const EventId event_id(NewUuid());

    const auto outcome = InTx([&](RiskStore& store) {
        return store.DecideReview(NthPayment(1), {ReviewStatus::kDenied, "ops-user", event_id});
    });

    const auto* decided = std::get_if<DecidedReview>(&outcome);
    ASSERT_NE(decided, nullptr);
    EXPECT_EQ(decided->customer_id, CustomerId("cust-1"));
    EXPECT_EQ(decided->trace_id, "trace-1");
    EXPECT_TRUE(ParseIsoUtc(decided->reviewed_at).has_value()) << decided->reviewed_at;
    const auto row = conn_.Exec(
        "SELECT status, reviewed_by, decision_event_id, reviewed_at IS NOT NULL FROM risk_reviews"
    );
    EXPECT_EQ(row.GetString(0, 0), "DENIED");
    EXPECT_EQ(row.GetString(0, 1), "ops-user");
    EXPECT_EQ(row.GetString(0, 2), event_id.Value());
    EXPECT_TRUE(row.GetBool(0, 3));
    const auto listed = InTx([](RiskStore& store) {
        return store.ListReviews(
            {.status = ReviewStatus::kDenied, .limit = 10, .after = std::nullopt}
        );
    });
    ASSERT_EQ(listed.size(), 1U);
    EXPECT_EQ(listed[0].reviewed_by, "ops-user");
    EXPECT_EQ(listed[0].reviewed_at, decided->reviewed_at);

    const auto again = InTx([](RiskStore& store) {
        return store.DecideReview(
            NthPayment(1), {ReviewStatus::kApproved, "other", EventId(NewUuid())}
        );
    });
    ASSERT_TRUE(std::holds_alternative<ReviewAlreadyDecided>(again));
    EXPECT_EQ(std::get<ReviewAlreadyDecided>(again).status, ReviewStatus::kDenied);
    EXPECT_EQ(
        conn_.Exec("SELECT decision_event_id FROM risk_reviews").GetString(0, 0), event_id.Value()
    );

    const auto unknown = InTx([](RiskStore& store) {
        return store.DecideReview(
            NthPayment(9), {ReviewStatus::kApproved, "ops", EventId(NewUuid())}
        );
    });
    EXPECT_TRUE(std::holds_alternative<ReviewNotFound>(unknown));
}

TEST_F(PgRiskStoreTest, OfTwoConcurrentDecisionsTheSecondWaitsThenFindsItDecided) {
    OpenReviews(1, 1);
    postgres::Transaction first(conn_);
    PgRiskStore first_store(first);
    ASSERT_TRUE(std::holds_alternative<DecidedReview>(first_store.DecideReview(
        NthPayment(1), {ReviewStatus::kApproved, "alice", EventId(NewUuid())}
    )));

    auto second = std::async(std::launch::async, [this] {
        postgres::Connection other = db_.Connect();
        postgres::Transaction tx(other);
        PgRiskStore store(tx);
        auto outcome =
            store.DecideReview(NthPayment(1), {ReviewStatus::kDenied, "bob", EventId(NewUuid())});
        tx.Commit();
        return outcome;
    });
    // The second blocks on the row lock until the first commits.
    EXPECT_EQ(second.wait_for(300ms), std::future_status::timeout);
    first.Commit();

    const auto outcome = second.get();
    ASSERT_TRUE(std::holds_alternative<ReviewAlreadyDecided>(outcome));
    EXPECT_EQ(std::get<ReviewAlreadyDecided>(outcome).status, ReviewStatus::kApproved);
    EXPECT_EQ(conn_.Exec("SELECT reviewed_by FROM risk_reviews").GetString(0, 0), "alice");
}

TEST_F(PgRiskStoreTest, ExpiresOnlyOldPendingReviewsUpToTheLimitOldestFirst) {
    OpenReviews(1, 4);
    Age(1, 3h);
    Age(2, 2h);
    Age(3, 1h);
    InTx([](RiskStore& store) {
        return store.DecideReview(
            NthPayment(3), {ReviewStatus::kApproved, "ops", EventId(NewUuid())}
        );
    });

    const auto first = InTx([](RiskStore& store) { return store.ExpireReviews(30min, 1); });
    ASSERT_EQ(first.size(), 1U);
    EXPECT_EQ(first[0].payment_id, NthPayment(1));
    EXPECT_EQ(first[0].customer_id, CustomerId("cust-1"));
    EXPECT_EQ(first[0].trace_id, "trace-1");
    EXPECT_TRUE(IsUuid(first[0].decision_event_id.Value()));

    const auto rest = InTx([](RiskStore& store) { return store.ExpireReviews(30min, 100); });
    ASSERT_EQ(rest.size(), 1U);
    EXPECT_EQ(rest[0].payment_id, NthPayment(2));
    EXPECT_TRUE(InTx([](RiskStore& store) { return store.ExpireReviews(30min, 100); }).empty());

    const auto rows = conn_.Exec(
        "SELECT payment_id::text, status, coalesce(reviewed_by, ''), coalesce(decision_event_id, "
        "'') "
        "FROM risk_reviews ORDER BY payment_id"
    );
    ASSERT_EQ(rows.Size(), 4);
    EXPECT_EQ(rows.GetString(0, 1), "DENIED");
    EXPECT_EQ(rows.GetString(0, 2), "system:expiry");
    EXPECT_EQ(rows.GetString(0, 3), first[0].decision_event_id.Value());
    EXPECT_EQ(rows.GetString(1, 1), "DENIED");
    EXPECT_EQ(rows.GetString(2, 1), "APPROVED");  // decided before: never expired
    EXPECT_EQ(rows.GetString(3, 1), "PENDING");   // too young
}

// Several risk instances run the review expiry on one database at once (`sagapay up --replicas
// risk=2`): FOR UPDATE SKIP LOCKED gives each expired review to one of them, so each is denied
// once and announced once, and an operator's decision racing them is never overwritten.
TEST_F(PgRiskStoreTest, TwoInstancesExpiringAtOnceDenyAndAnnounceEachReviewOnce) {
    constexpr int kReviews = 200;
    OpenReviews(1, kReviews);
    conn_.Exec("UPDATE risk_reviews SET created_at = now() - interval '2 hours'");
    testing::FakeClock clock;
    std::atomic<std::int64_t> denied{0};
    std::latch start(3);
    const auto instance = [&] {
        postgres::Pool pool(db_.Dsn(), 1);
        PgRiskUnitsOfWork units(pool);
        ReviewExpiry expiry(units, clock, {.expire_after = 1h, .interval = 1ms, .batch = 5});
        start.arrive_and_wait();
        while (true) {
            const std::int64_t n = expiry.RunOnce();
            if (n == 0) {
                return;
            }
            denied += n;
        }
    };
    std::int64_t approved_by_hand = 0;
    {
        std::jthread first(instance);
        std::jthread second(instance);
        auto ops = db_.Connect();
        start.arrive_and_wait();
        for (int n = kReviews; n > kReviews - 20; --n) {
            const auto outcome =
                testing::InCommittedTransaction<PgRiskStore>(ops, [&](RiskStore& store) {
                    return store.DecideReview(
                        NthPayment(n), {ReviewStatus::kApproved, "ops", EventId(NewUuid())}
                    );
                });
            approved_by_hand += std::holds_alternative<DecidedReview>(outcome) ? 1 : 0;
        }
    }

    EXPECT_EQ(denied.load() + approved_by_hand, kReviews);
    EXPECT_EQ(Count("SELECT count(*) FROM risk_reviews WHERE status = 'PENDING'"), 0);
    EXPECT_EQ(
        Count("SELECT count(*) FROM risk_reviews WHERE status = 'APPROVED'"), approved_by_hand
    );
    // One risk.denied per expired review, carrying the event id the review row names.
    EXPECT_EQ(
        Count("SELECT count(*) FROM outbox_events WHERE topic = 'risk.denied'"), denied.load()
    );
    EXPECT_EQ(
        Count("SELECT count(*) FROM risk_reviews r JOIN outbox_events o ON o.topic = 'risk.denied' "
              "AND o.aggregate_id = r.payment_id::text AND o.payload->>'event_id' = "
              "r.decision_event_id WHERE r.status = 'DENIED' AND r.reviewed_by = 'system:expiry'"),
        denied.load()
    );
    EXPECT_EQ(
        Count("SELECT count(*) FROM (SELECT aggregate_id FROM outbox_events WHERE topic = "
              "'risk.denied' GROUP BY aggregate_id HAVING count(*) > 1) twice"),
        0
    );
}

TEST_F(PgRiskStoreTest, UnitsOfWorkCommitTogetherWithTheirEventsOrNotAtAll) {
    postgres::Pool pool(db_.Dsn(), 2);
    PgRiskUnitsOfWork units(pool);
    testing::FakeClock clock;

    units.Run([&](RiskStore& store, Outbox& outbox) {
        store.InsertReview(ReviewFor(1));
        outbox.Emit(
            RiskDenied{{Verdict::kReview, "high_amount", CustomerId("cust-1"), std::nullopt}},
            NthPayment(1),
            "trace-1",
            clock
        );
    });
    EXPECT_THROW(
        units.Run([&](RiskStore& store, Outbox& outbox) {
            store.InsertReview(ReviewFor(2));
            outbox.Emit(
                RiskDenied{{Verdict::kReview, "high_amount", CustomerId("cust-2"), std::nullopt}},
                NthPayment(2),
                "trace-2",
                clock
            );
            throw std::runtime_error("rolled back");
        }),
        std::runtime_error
    );

    EXPECT_EQ(Count("SELECT count(*) FROM risk_reviews"), 1);
    const auto outbox = conn_.Exec("SELECT aggregate_id, topic FROM outbox_events");
    ASSERT_EQ(outbox.Size(), 1);
    EXPECT_EQ(outbox.GetString(0, 0), NthPayment(1).Value());
    EXPECT_EQ(outbox.GetString(0, 1), "risk.denied");
}

TEST_F(PgRiskStoreTest, TheHandlerOverPostgresRecordsOnceAndAnnouncesEveryDelivery) {
    testing::FakeClock clock;
    InMemoryVelocityCounter velocity;
    RiskHandler handler(clock, velocity, RiskThresholds{});
    const Envelope event = NewEnvelope(
        PaymentRequested{{CustomerId("cust-pg"), Eur(250000)}}, NthPayment(1), "trace-pg", clock
    );

    for (int delivery = 0; delivery < 2; ++delivery) {
        postgres::Transaction tx(conn_);
        PgRiskStore store(tx);
        TransactionOutbox outbox(tx);
        handler.OnPaymentRequested(store, outbox, event);
        tx.Commit();
    }

    EXPECT_EQ(Count("SELECT count(*) FROM risk_decisions WHERE decision = 'REVIEW'"), 1);
    EXPECT_EQ(Count("SELECT count(*) FROM risk_reviews WHERE trace_id = 'trace-pg'"), 1);
    const auto events = conn_.Exec(
        "SELECT payload::text FROM outbox_events WHERE topic = 'risk.denied' ORDER BY seq"
    );
    ASSERT_EQ(events.Size(), 2);
    for (int i = 0; i < events.Size(); ++i) {
        const auto payload = nlohmann::json::parse(events.GetString(i, 0))["payload"];
        EXPECT_EQ(payload["decision"], "REVIEW");
        EXPECT_EQ(payload["reason"], "high_amount");
        EXPECT_EQ(payload["customer_id"], "cust-pg");
    }
}

}  // namespace
}  // namespace sagapay::risk
