#include "app/replay_guard.hpp"

#include <array>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/ids.hpp"

namespace sagapay::app {

namespace {

struct Waiting {
    std::string_view topic;
    std::array<std::string_view, 2> statuses;  ///< Where the step can still apply.
};

constexpr std::array<Waiting, 8> kWaiting{{
    {"payments.requested", {"CREATED", "RISK_REVIEW"}},
    {"risk.approved", {"CREATED", "RISK_REVIEW"}},
    {"risk.denied", {"CREATED", "RISK_REVIEW"}},
    {"provider.authorize.requested", {"APPROVED", ""}},
    {"payments.authorized", {"APPROVED", ""}},
    {"provider.capture.requested", {"AUTHORIZED", ""}},
    {"provider.capture.completed", {"AUTHORIZED", ""}},
    {"payments.captured", {"CAPTURED", ""}},
}};

bool IsOutcomeTopic(std::string_view topic) {
    return topic == "payments.settled" || topic == "payments.failed" ||
           topic == "payments.reversed" || topic == "payments.dlq";
}

}  // namespace

std::optional<std::string> ReplayRefusal(std::string_view topic, const http::ClientResult& answer) {
    if (IsOutcomeTopic(topic)) {
        return std::nullopt;
    }
    const Waiting* waiting = nullptr;
    for (const Waiting& w : kWaiting) {
        if (w.topic == topic) {
            waiting = &w;
        }
    }
    if (waiting == nullptr) {
        return "a replay to " + std::string(topic) + " is not supported";
    }
    if (!answer.has_value()) {
        return "cannot reach the orchestrator to check the payment (" + answer.error().message +
               ")";
    }
    if (answer->status == 404) {
        return "the orchestrator does not know the payment";
    }
    if (answer->status != 200) {
        return "the orchestrator answered " + std::to_string(answer->status) +
               ": the payment's state is unknown";
    }
    const auto payment = nlohmann::json::parse(answer->body, nullptr, false);
    const std::string status =
        payment.is_object() && payment.contains("status") && payment["status"].is_string()
            ? payment["status"].get<std::string>()
            : "";
    for (const std::string_view allowed : waiting->statuses) {
        if (!allowed.empty() && allowed == status) {
            return std::nullopt;
        }
    }
    std::string expected;
    for (const std::string_view allowed : waiting->statuses) {
        if (!allowed.empty()) {
            expected += expected.empty() ? std::string(allowed) : " or " + std::string(allowed);
        }
    }
    return "the payment is " + (status.empty() ? std::string("of unknown status") : status) + "; " +
           std::string(topic) + " is replayed only while it is " + expected;
}

nlohmann::json ReplayEnvelope(const nlohmann::json& failed_event) {
    nlohmann::json replay = failed_event.is_object() ? failed_event : nlohmann::json::object();
    const std::string original = replay.value("event_id", "");
    replay["event_id"] = NewUuid();
    if (!replay.contains("payload") || !replay["payload"].is_object()) {
        replay["payload"] = nlohmann::json::object();
    }
    replay["payload"]["replay"] = true;
    replay["payload"]["replay_of"] = original;
    return replay;
}

}  // namespace sagapay::app
