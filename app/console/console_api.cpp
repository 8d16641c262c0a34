#include "app/console/console_api.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include "core/ids.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/log.hpp"

namespace sagapay::console {

namespace {

/// The page may load only its own files; nothing may frame it.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

http::Response Json(int status, const nlohmann::json& body) {
    http::Response response = http::JsonResponse(status, body.dump());
    response.headers.emplace_back("cache-control", "no-store");
    return response;
}

/// 400 malformed_json for a body that is not a JSON object, else 422 naming the field.
http::Response Refused(const FieldError& error) {
    if (error.field == "body") {
        return http::ErrorResponse(400, "malformed_json", error.message);
    }
    return http::ErrorResponse(422, "validation_error", error.message, error.field);
}

nlohmann::json SessionJson(const Session& session, const SessionStore& store) {
    return {
        {"operator", session.operator_name},
        {"csrf_token", session.csrf_token},
        {"idle_timeout_seconds", store.Settings().idle_timeout.count()},
    };
}

std::string Lower(std::string text) {
    for (char& c : text) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return text;
}

nlohmann::json ParkedJson(const app::ParkedMessage& parked) {
    return {
        {"position", parked.position},
        {"event_id", parked.event_id},
        {"aggregate_id", parked.aggregate_id},
        {"reason", parked.reason},
        {"error_type", parked.error_type},
        {"replay_topic", parked.replay_topic},
        {"replayable", parked.replayable},
    };
}

/// The review fields an audit entry keeps of "before" and "after".
nlohmann::json ReviewState(const nlohmann::json& review) {
    if (!review.is_object()) {
        return nullptr;
    }
    return {
        {"status", review.value("status", nlohmann::json())},
        {"reviewed_by", review.value("reviewed_by", nlohmann::json())},
        {"reviewed_at", review.value("reviewed_at", nlohmann::json())},
    };
}

}  // namespace

ConsoleApi::ConsoleApi(
    Options options,
    SessionStore& sessions,
    ConsoleStore& store,
    ReviewDecider& decider,
    DeadLetters& dead_letters,
    HealthSource& health
)
    : options_(std::move(options)),
      sessions_(sessions),
      store_(store),
      decider_(decider),
      dead_letters_(dead_letters),
      health_(health) {}

void ConsoleApi::AddRoutes(http::Router& router) {
    for (const Asset& asset : options_.assets) {
        router.Add("GET", asset.path, [&asset](http::Request&) {
            http::Response response;
            response.body = asset.body;
            response.content_type = asset.content_type;
            response.headers.emplace_back("content-security-policy", kContentSecurityPolicy);
            response.headers.emplace_back("x-content-type-options", "nosniff");
            response.headers.emplace_back("referrer-policy", "no-referrer");
            response.headers.emplace_back("cache-control", "no-cache");
            return response;
        });
    }
    const auto add = [&router](const char* method, const char* path, http::Handler handler) {
        router.Add(method, path, WithDatabaseErrors(std::move(handler)));
    };
    add("POST", "/api/login", [this](http::Request& r) { return Login(r); });
    add("GET", "/api/session", [this](http::Request& r) {
        return WithSession(r, false, [this](const Session& s) { return SessionInfo(s); });
    });
    add("POST", "/api/logout", [this](http::Request& r) {
        return WithSession(r, true, [this](const Session& s) { return Logout(s); });
    });
    add("GET", "/api/reviews", [this](http::Request& r) {
        return WithSession(r, false, [&](const Session&) { return Reviews(r); });
    });
    add("POST", "/api/reviews/decide", [this](http::Request& r) {
        return WithSession(r, true, [&](const Session& s) { return Decide(r, s); });
    });
    add("GET", "/api/payments", [this](http::Request& r) {
        return WithSession(r, false, [&](const Session&) { return Payments(r); });
    });
    add("GET", "/api/payments/{payment_id}", [this](http::Request& r) {
        return WithSession(r, false, [&](const Session&) {
            return PaymentPage(r.path_params.at(0));
        });
    });
    add("GET", "/api/dlq", [this](http::Request& r) {
        return WithSession(r, false, [&](const Session&) { return DeadLetterList(r); });
    });
    add("GET", "/api/dlq/entry", [this](http::Request& r) {
        return WithSession(r, false, [&](const Session&) { return DeadLetterEntry(r); });
    });
    add("POST", "/api/dlq/replay", [this](http::Request& r) {
        return WithSession(r, true, [&](const Session& s) { return Replay(r, s); });
    });
    add("GET", "/api/health", [this](http::Request& r) {
        return WithSession(r, false, [this](const Session&) {
            return Json(200, health_.Snapshot());
        });
    });
    add("GET", "/api/audit", [this](http::Request& r) {
        return WithSession(r, false, [&](const Session&) { return Audit(r); });
    });
}

http::Response ConsoleApi::WithSession(
    const http::Request& request,
    bool mutates,
    const std::function<http::Response(const Session&)>& handler
) {
    const auto session = sessions_.Touch(SessionCookie(request.Header("cookie")));
    if (!session) {
        return http::ErrorResponse(
            401, "session_required", "log in first: no session, or it ended after being idle"
        );
    }
    if (mutates && !ConstantTimeEquals(request.Header("x-csrf-token"), session->csrf_token)) {
        return http::ErrorResponse(
            403, "csrf_invalid", "x-csrf-token is missing or is not this session's token"
        );
    }
    return handler(*session);
}

http::Response ConsoleApi::Login(const http::Request& request) {
    auto parsed = ParseLogin(request.body);
    if (const auto* error = std::get_if<FieldError>(&parsed)) {
        return Refused(*error);
    }
    Credentials login = std::get<Credentials>(std::move(parsed));
    if (!ConstantTimeEquals(login.ops_key, options_.ops_api_key)) {
        // Not audited: the audit log records what operators did, and a caller without the key
        // must not be able to write to it (nor grow anything).
        log::Warn("console_login_refused", {{"operator", login.operator_name}});
        return http::ErrorResponse(401, "unauthorized", "invalid ops key");
    }
    const Session session = sessions_.Open(login.operator_name);
    store_.RecordAudit({
        .operator_name = session.operator_name,
        .action = "session.login",
        .target = session.operator_name,
        .outcome = "ok",
        .before = nullptr,
        .after = nullptr,
    });
    http::Response response = Json(200, SessionJson(session, sessions_));
    response.headers.emplace_back("set-cookie", SetSessionCookie(session.id));
    return response;
}

http::Response ConsoleApi::SessionInfo(const Session& session) const {
    return Json(200, SessionJson(session, sessions_));
}

http::Response ConsoleApi::Logout(const Session& session) {
    sessions_.Close(session.id);
    store_.RecordAudit({
        .operator_name = session.operator_name,
        .action = "session.logout",
        .target = session.operator_name,
        .outcome = "ok",
        .before = nullptr,
        .after = nullptr,
    });
    http::Response response;
    response.status = 204;
    response.content_type.clear();
    response.headers.emplace_back("set-cookie", SetSessionCookie(""));
    return response;
}

http::Response ConsoleApi::Reviews(const http::Request& request) {
    const auto filter = ParseReviewFilter(request);
    if (const auto* error = std::get_if<FieldError>(&filter)) {
        return Refused(*error);
    }
    return Json(200, store_.ListReviews(std::get<ReviewFilter>(filter)));
}

http::Response ConsoleApi::Decide(const http::Request& request, const Session& session) {
    auto parsed = ParseDecision(request.body);
    if (const auto* error = std::get_if<FieldError>(&parsed)) {
        return Refused(*error);
    }
    const Decision decision = std::get<Decision>(std::move(parsed));
    const std::string action = decision.approve ? "review.approve" : "review.deny";
    nlohmann::json results = nlohmann::json::array();
    for (const std::string& payment_id : decision.payment_ids) {
        const nlohmann::json before = store_.ReviewOf(payment_id);
        const ReviewDecider::Answer answer =
            decider_.Decide(payment_id, decision.approve, session.operator_name);
        nlohmann::json result = {{"payment_id", payment_id}};
        nlohmann::json after = nullptr;
        if (answer.status == 200) {
            result["outcome"] = decision.approve ? "approved" : "denied";
            after = store_.ReviewOf(payment_id);
            result["status"] = answer.body.value("status", "");
            result["decided_by"] = session.operator_name;
            result["decided_at"] =
                after.is_object() ? after.value("reviewed_at", nlohmann::json()) : nlohmann::json();
        } else if (answer.status == 409) {
            // Somebody decided first: say who and when, from the review as it stands.
            after = store_.ReviewOf(payment_id);
            result["outcome"] = "already_decided";
            result["status"] = after.value("status", nlohmann::json());
            result["decided_by"] = after.value("reviewed_by", nlohmann::json());
            result["decided_at"] = after.value("reviewed_at", nlohmann::json());
            result["message"] = "already decided: " + after.value("status", std::string()) +
                                " by " + after.value("reviewed_by", std::string("?"));
        } else if (answer.status == 404) {
            result["outcome"] = "not_found";
            result["message"] = "no review for this payment";
        } else {
            result["outcome"] = "error";
            result["message"] = answer.status == 0
                                    ? "risk could not be reached: " + answer.transport
                                    : "risk answered " + std::to_string(answer.status) + ": " +
                                          answer.body.value("error", nlohmann::json::object())
                                              .value("message", std::string());
        }
        nlohmann::json after_state = ReviewState(after);
        if (after_state.is_null()) {
            after_state = nlohmann::json::object();
        }
        after_state["note"] = decision.note;
        store_.RecordAudit({
            .operator_name = session.operator_name,
            .action = action,
            .target = payment_id,
            .outcome = result["outcome"].get<std::string>(),
            .before = ReviewState(before),
            .after = std::move(after_state),
        });
        results.push_back(std::move(result));
    }
    return Json(200, {{"results", std::move(results)}});
}

http::Response ConsoleApi::Payments(const http::Request& request) {
    const auto filter = ParsePaymentFilter(request);
    if (const auto* error = std::get_if<FieldError>(&filter)) {
        return Refused(*error);
    }
    return Json(200, store_.SearchPayments(std::get<PaymentFilter>(filter)));
}

http::Response ConsoleApi::PaymentPage(const std::string& payment_id) {
    if (!IsUuid(payment_id)) {
        return http::ErrorResponse(404, "payment_not_found", "payment not found", "payment_id");
    }
    auto page = store_.PaymentPage(payment_id);
    if (!page) {
        return http::ErrorResponse(404, "payment_not_found", "payment not found", "payment_id");
    }
    return Json(200, *page);
}

http::Response ConsoleApi::DeadLetterList(const http::Request& request) {
    const auto topic = ParseDlqTopic(request.QueryParam("topic"));
    if (const auto* error = std::get_if<FieldError>(&topic)) {
        return Refused(*error);
    }
    const std::string reason = Lower(request.QueryParam("reason").value_or(""));
    const auto& name = std::get<std::string>(topic);
    std::vector<app::ParkedMessage> parked;
    for (app::ParkedMessage& entry : dead_letters_.List(name)) {
        if (reason.empty() || Lower(entry.reason).find(reason) != std::string::npos) {
            parked.push_back(std::move(entry));
        }
    }
    std::vector<std::string> ids;
    ids.reserve(parked.size());
    for (const auto& entry : parked) {
        ids.push_back(entry.aggregate_id);
    }
    const auto statuses = store_.PaymentStatuses(ids);
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& entry : parked) {
        nlohmann::json json = ParkedJson(entry);
        const auto status = statuses.find(entry.aggregate_id);
        json["payment_status"] =
            status == statuses.end() ? nlohmann::json() : nlohmann::json(status->second);
        entries.push_back(std::move(json));
    }
    return Json(200, {{"topic", name}, {"entries", std::move(entries)}});
}

http::Response ConsoleApi::DeadLetterEntry(const http::Request& request) {
    const auto topic = ParseDlqTopic(request.QueryParam("topic"));
    if (const auto* error = std::get_if<FieldError>(&topic)) {
        return Refused(*error);
    }
    const std::string event_id = request.QueryParam("event_id").value_or("");
    if (!IsPrintableText(event_id, 128)) {
        return Refused({"event_id", "event_id must be the parked event's id"});
    }
    const auto found = dead_letters_.Find(std::get<std::string>(topic), event_id);
    if (!found) {
        return http::ErrorResponse(404, "dlq_entry_not_found", "no parked event with that id");
    }
    nlohmann::json json = ParkedJson(found->summary);
    json["envelope"] = found->envelope;
    return Json(200, json);
}

http::Response ConsoleApi::Replay(const http::Request& request, const Session& session) {
    using Kind = app::ReplayOutcome::Kind;
    auto parsed = ParseReplay(request.body);
    if (const auto* error = std::get_if<FieldError>(&parsed)) {
        return Refused(*error);
    }
    const ReplayRequest replay = std::get<ReplayRequest>(std::move(parsed));
    const app::ReplayOutcome outcome = dead_letters_.Replay(replay.topic, replay.event_id);
    if (outcome.kind == Kind::kNoMatch) {
        return http::ErrorResponse(404, "dlq_entry_not_found", "no parked event with that id");
    }
    nlohmann::json before = {{"topic", replay.topic}, {"reason", outcome.reason}};
    if (!outcome.payment_id.empty()) {
        const auto statuses = store_.PaymentStatuses({outcome.payment_id});
        if (const auto it = statuses.find(outcome.payment_id); it != statuses.end()) {
            before["payment_status"] = it->second;
        }
    }
    http::Response response;
    std::string audit_outcome;
    nlohmann::json after = nullptr;
    switch (outcome.kind) {
        case Kind::kReplayed:
        case Kind::kDryRun:
            audit_outcome = "replayed";
            after = {
                {"new_event_id", outcome.new_event_id}, {"replay_topic", outcome.replay_topic}};
            response = Json(
                200,
                {{"outcome", "replayed"},
                 {"new_event_id", outcome.new_event_id},
                 {"replay_topic", outcome.replay_topic},
                 {"payment_id", outcome.payment_id}}
            );
            break;
        case Kind::kRefused:
            audit_outcome = "refused: " + outcome.message;
            response = http::ErrorResponse(
                409, "replay_refused", "payment " + outcome.payment_id + ": " + outcome.message
            );
            break;
        case Kind::kNotReplayable:
            audit_outcome = "not_replayable";
            response = http::ErrorResponse(409, "not_replayable", outcome.message);
            break;
        default:
            audit_outcome = "failed: " + outcome.message;
            response = http::RetryLaterResponse(503, "bus_unavailable", outcome.message);
            break;
    }
    store_.RecordAudit({
        .operator_name = session.operator_name,
        .action = "dlq.replay",
        .target = replay.event_id,
        .outcome = audit_outcome,
        .before = std::move(before),
        .after = std::move(after),
    });
    return response;
}

http::Response ConsoleApi::Audit(const http::Request& request) {
    const auto page = ParsePage(request);
    if (const auto* error = std::get_if<FieldError>(&page)) {
        return Refused(*error);
    }
    return Json(200, store_.ListAudit(std::get<Page>(page)));
}

}  // namespace sagapay::console
