#include "services/risk/risk_service.hpp"

#include "adapters/postgres/messaging.hpp"
#include "core/ids.hpp"
#include "core/messaging/topics.hpp"
#include "core/payments/payment_request.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/log.hpp"
#include "runtime/wait.hpp"
#include "services/risk/risk_rules.hpp"
#include "services/risk/schema.hpp"
#include "services/risk/velocity_store.hpp"

namespace sagapay::risk {

namespace {

constexpr const char* kService = "risk";

std::string PayloadString(const nlohmann::json& payload, const char* field) {
    const auto it = payload.find(field);
    return it != payload.end() && it->is_string() ? it->get<std::string>() : std::string();
}

class Risk {
public:
    explicit Risk(const Config& config)
        : config_(config),
          pool_(config.DsnFor(kService), static_cast<std::size_t>(config.db_pool_size)),
          velocity_(
              redis::ParseRedisUrl(config.redis_url), std::chrono::hours(1), std::chrono::hours(24)
          ),
          thresholds_{
              config.risk_deny_frequency_threshold,
              config.risk_review_amount_cents,
              config.risk_failed_attempts_threshold,
              config.risk_velocity_per_hour} {}

    void OnPaymentRequested(postgres::Transaction& tx, const Envelope& event) {
        const std::string customer = PayloadString(event.payload, "customer_id");
        const std::string currency = PayloadString(event.payload, "currency");
        const auto amount = event.payload.find("amount_cents");
        if (customer.empty() || currency.size() != 3 || amount == event.payload.end() ||
            !amount->is_number_integer() || !IsUuid(event.aggregate_id)) {
            throw PermanentEventError(
                "payments.requested needs customer_id, currency, amount_cents and a payment id"
            );
        }
        const std::int64_t amount_cents = amount->get<std::int64_t>();

        std::string verdict;
        std::string reason;
        const auto known = tx.Exec(
            "SELECT decision, reason FROM risk_decisions WHERE payment_id = $1",
            {event.aggregate_id}
        );
        if (!known.Empty()) {
            // Re-requested (the orchestrator's sweeper): the decision already made stands.
            verdict = known.GetString(0, 0);
            reason = known.GetString(0, 1);
        } else {
            const auto now = clock_.Now();
            RiskInput input;
            input.amount_cents = amount_cents;
            const auto counts = velocity_.RecordAndCount(customer, event.aggregate_id, now);
            input.payments_last_hour = counts.payments_last_hour;
            input.failed_attempts = counts.failed_attempts;
            const RiskDecision decision = Decide(input, thresholds_);
            verdict = std::string(ToString(decision.verdict));
            reason = std::string(decision.reason);
            tx.Exec(
                "INSERT INTO risk_decisions (payment_id, customer_id, amount_cents, currency, "
                "decision, "
                "reason, payments_last_hour, failed_attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                "$8)",
                {event.aggregate_id,
                 customer,
                 amount_cents,
                 currency,
                 verdict,
                 reason,
                 input.payments_last_hour,
                 input.failed_attempts}
            );
            if (decision.verdict == RiskVerdict::kReview) {
                tx.Exec(
                    "INSERT INTO risk_reviews (review_id, payment_id, customer_id, amount_cents, "
                    "currency, "
                    "reason, status, trace_id) VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', $7) "
                    "ON CONFLICT (payment_id) DO NOTHING",
                    {NewUuid(),
                     event.aggregate_id,
                     customer,
                     amount_cents,
                     currency,
                     reason,
                     event.trace_id}
                );
            }
            log::Info("risk decision", {{"decision", verdict}, {"reason", reason}});
        }
        const bool approved = verdict == "APPROVE";
        postgres::AppendOutbox(
            tx,
            MakeEnvelope(
                std::string(approved ? topics::kRiskApproved : topics::kRiskDenied),
                event.aggregate_id,
                event.trace_id,
                {{"decision", verdict}, {"reason", reason}, {"customer_id", customer}},
                clock_
            )
        );
    }

    void OnPaymentFailed(postgres::Transaction&, const Envelope& event) {
        if (PayloadString(event.payload, "error_code") != "PROVIDER_DECLINE") {
            return;
        }
        const std::string customer = PayloadString(event.payload, "customer_id");
        if (!customer.empty()) {
            velocity_.RecordFailure(customer, event.aggregate_id, clock_.Now());
        }
    }

    http::Response ListReviews(http::Request& request) {
        if (!ApiKeyMatches(request, config_.ops_api_key)) {
            return http::ErrorResponse(401, "unauthorized", "invalid API key");
        }
        std::string status = request.QueryParam("status").value_or("PENDING");
        for (char& c : status) {
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        if (status != "PENDING" && status != "APPROVED" && status != "DENIED") {
            return http::ErrorResponse(
                422, "validation_error", "status must be PENDING, APPROVED or DENIED", "status"
            );
        }
        std::int64_t limit = 100;
        if (const auto text = request.QueryParam("limit")) {
            try {
                std::size_t used = 0;
                limit = std::stoll(*text, &used);
                if (used != text->size()) {
                    throw std::invalid_argument("trailing");
                }
            } catch (const std::exception&) {
                return http::ErrorResponse(
                    422, "validation_error", "limit must be a whole number", "limit"
                );
            }
            if (limit < 1 || limit > 1000) {
                return http::ErrorResponse(
                    422, "validation_error", "limit must be from 1 to 1000", "limit"
                );
            }
        }
        // Keyset pagination: `after` is the review_id of the last row of the previous page.
        const std::string after = request.QueryParam("after").value_or("");
        if (!after.empty() && !IsUuid(after)) {
            return http::ErrorResponse(
                422, "validation_error", "after must be a review_id", "after"
            );
        }
        auto lease = pool_.Acquire();
        const auto rows = lease->Exec(
            "SELECT r.payment_id, r.customer_id, r.amount_cents, r.reason, r.status, "
            "r.reviewed_by, "
            "to_char(r.reviewed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), "
            "to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), "
            "r.review_id, r.currency FROM risk_reviews r WHERE r.status = $1 AND ($2::uuid IS NULL "
            "OR "
            "(r.created_at, r.review_id) > (SELECT created_at, review_id FROM risk_reviews WHERE "
            "review_id = $2::uuid)) "
            "ORDER BY r.created_at, r.review_id LIMIT $3",
            {status, after.empty() ? postgres::Param(std::nullopt) : postgres::Param(after), limit}
        );
        nlohmann::json list = nlohmann::json::array();
        for (int i = 0; i < rows.Size(); ++i) {
            list.push_back({
                {"payment_id", rows.GetString(i, 0)},
                {"customer_id", rows.GetString(i, 1)},
                {"amount_cents", rows.GetInt(i, 2)},
                {"currency", rows.GetString(i, 9)},
                {"reason", rows.GetString(i, 3)},
                {"status", rows.GetString(i, 4)},
                {"reviewed_by",
                 rows.IsNull(i, 5) ? nlohmann::json(nullptr)
                                   : nlohmann::json(rows.GetString(i, 5))},
                {"reviewed_at",
                 rows.IsNull(i, 6) ? nlohmann::json(nullptr)
                                   : nlohmann::json(rows.GetString(i, 6))},
                {"created_at", rows.GetString(i, 7)},
                {"review_id", rows.GetString(i, 8)},
            });
        }
        http::Response response = http::JsonResponse(200, list.dump());
        if (rows.Size() == limit) {
            response.headers.emplace_back("x-next-after", rows.GetString(rows.Size() - 1, 8));
        }
        return response;
    }

    http::Response DecideReview(http::Request& request, bool approve) {
        if (!ApiKeyMatches(request, config_.ops_api_key)) {
            return http::ErrorResponse(401, "unauthorized", "invalid API key");
        }
        const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
        if (body.is_discarded() || !body.is_object()) {
            return http::ErrorResponse(400, "malformed_json", "request body must be a JSON object");
        }
        const auto by = body.find("reviewed_by");
        if (by == body.end() || !by->is_string() || by->get_ref<const std::string&>().empty() ||
            by->get_ref<const std::string&>().size() > 128) {
            return http::ErrorResponse(
                422,
                "validation_error",
                "reviewed_by must be a string of 1 to 128 characters",
                "reviewed_by"
            );
        }
        const std::string reviewed_by = by->get<std::string>();
        const std::string& payment_id = request.path_params.at(0);
        if (!IsUuid(payment_id)) {
            return http::ErrorResponse(404, "review_not_found", "review not found", "payment_id");
        }
        std::string trace(request.Header("x-trace-id"));
        const std::string status = approve ? "APPROVED" : "DENIED";
        auto lease = pool_.Acquire();
        postgres::Transaction tx(*lease);
        // The decision is one conditional UPDATE: of two concurrent decisions exactly one finds
        // the review PENDING; the other waits for it, then finds it decided (409).
        const std::string event_id = NewUuid();
        const auto decided = tx.Exec(
            "UPDATE risk_reviews SET status = $2, reviewed_by = $3, reviewed_at = now(), "
            "decision_event_id = $4 WHERE payment_id = $1 AND status = 'PENDING' "
            "RETURNING customer_id, trace_id, "
            "to_char(reviewed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')",
            {payment_id, status, reviewed_by, event_id}
        );
        if (decided.Empty()) {
            const auto existing =
                tx.Exec("SELECT status FROM risk_reviews WHERE payment_id = $1", {payment_id});
            if (existing.Empty()) {
                return http::ErrorResponse(
                    404, "review_not_found", "review not found", "payment_id"
                );
            }
            return http::ErrorResponse(
                409,
                "review_already_decided",
                "review already finalized with status=" + existing.GetString(0, 0)
            );
        }
        if (trace.empty() || !IsSafeIdentifier(trace) || trace.size() > 128) {
            trace = decided.GetString(0, 1);  // the payment's own trace
        }
        Envelope event = MakeEnvelope(
            std::string(approve ? topics::kRiskApproved : topics::kRiskDenied),
            payment_id,
            trace,
            {{"decision", approve ? "APPROVE" : "DENY"},
             {"reason", approve ? "manual_approve" : "manual_deny"},
             {"customer_id", decided.GetString(0, 0)},
             {"reviewed_by", reviewed_by},
             {"reviewed_at", decided.GetString(0, 2)},
             {"review_status", status}},
            clock_
        );
        event.event_id = event_id;
        postgres::AppendOutbox(tx, event);
        tx.Commit();
        const log::ScopedContext context(trace, event_id, payment_id);
        log::Info("manual review decided", {{"status", status}, {"reviewed_by", reviewed_by}});
        return http::JsonResponse(
            200,
            nlohmann::json{
                {"payment_id", payment_id}, {"status", status}, {"reviewed_by", reviewed_by}}
                .dump()
        );
    }

    /// Denies reviews older than the expiry nobody decided (RISK_REVIEW_EXPIRY_SECONDS > 0).
    void ExpireReviews(std::stop_token stop) {
        if (config_.risk_review_expiry_seconds <= 0) {
            return;
        }
        while (!WaitFor(stop, std::chrono::seconds(1))) {
            try {
                auto lease = pool_.Acquire();
                postgres::Transaction tx(*lease);
                const auto expired = tx.Exec(
                    "UPDATE risk_reviews SET status = 'DENIED', reviewed_by = 'system:expiry', "
                    "reviewed_at = now(), decision_event_id = gen_random_uuid()::text "
                    "WHERE review_id IN (SELECT review_id FROM risk_reviews WHERE status = "
                    "'PENDING' "
                    "AND created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT "
                    "100 "
                    "FOR UPDATE SKIP LOCKED) RETURNING payment_id, customer_id, trace_id, "
                    "decision_event_id",
                    {config_.risk_review_expiry_seconds}
                );
                for (int i = 0; i < expired.Size(); ++i) {
                    Envelope event = MakeEnvelope(
                        std::string(topics::kRiskDenied),
                        expired.GetString(i, 0),
                        expired.GetString(i, 2),
                        {{"decision", "DENY"},
                         {"reason", "manual_deny"},
                         {"customer_id", expired.GetString(i, 1)},
                         {"reviewed_by", "system:expiry"},
                         {"review_status", "DENIED"}},
                        clock_
                    );
                    event.event_id = expired.GetString(i, 3);
                    postgres::AppendOutbox(tx, event);
                }
                tx.Commit();
            } catch (const std::exception& e) {
                log::Error("review expiry failed", {{"error", e.what()}});
            }
        }
    }

    postgres::Pool& Pool() { return pool_; }

private:
    const Config& config_;
    postgres::Pool pool_;
    VelocityStore velocity_;
    RiskThresholds thresholds_;
    SystemClock clock_;
};

}  // namespace

int RunRisk(const Config& config) {
    auto bus = PrepareService(config, kService, RiskMigrations());
    Risk risk(config);
    ServiceHost host(config, kService, config.PortFor(kService));
    AddStandardHealthChecks(host, config, &risk.Pool());
    host.Routes().Add("GET", "/ops/reviews", WithDatabaseErrors([&](http::Request& r) {
                          return risk.ListReviews(r);
                      }));
    host.Routes().Add(
        "POST", "/ops/reviews/{payment_id}/approve", WithDatabaseErrors([&](http::Request& r) {
            return risk.DecideReview(r, true);
        })
    );
    host.Routes().Add(
        "POST", "/ops/reviews/{payment_id}/deny", WithDatabaseErrors([&](http::Request& r) {
            return risk.DecideReview(r, false);
        })
    );
    host.AddConsumer(
        *bus,
        std::string(topics::kPaymentsRequested),
        "risk-payments-requested",
        [&risk](postgres::Transaction& tx, const Envelope& e) { risk.OnPaymentRequested(tx, e); },
        true,
        false
    );
    host.AddConsumer(
        *bus,
        std::string(topics::kPaymentsFailed),
        "risk-payments-failed",
        [&risk](postgres::Transaction& tx, const Envelope& e) { risk.OnPaymentFailed(tx, e); }
    );
    host.AddOutboxRelay(*bus);
    host.AddWorker("review expiry", [&risk](std::stop_token stop) {
        risk.ExpireReviews(std::move(stop));
    });
    return host.Run();
}

}  // namespace sagapay::risk
