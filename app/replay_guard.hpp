#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "adapters/http/client.hpp"

namespace sagapay::app {

/// Why `sagapay replay-dlq` must not publish a parked event on `topic` for a payment of which
/// the orchestrator answered `answer` (GET /payments/{id}); nullopt when the replay may go.
///
/// An event that can move money (a request to risk or the provider, an authorization, a capture)
/// is replayed only while the payment is provably still waiting for that step: the orchestrator
/// answered 200 and the payment's status is the one the step leaves. No answer, a 404 or any
/// other status proves nothing and refuses. Outcome topics (payments.failed, payments.settled,
/// payments.reversed, payments.dlq) move no money and are replayed for their consumers as
/// before. Pure.
[[nodiscard]] std::optional<std::string> ReplayRefusal(
    std::string_view topic, const http::ClientResult& answer
);

/// What `sagapay replay-dlq` publishes for a parked event: the event again under a new event id
/// (so the consumers' inboxes take it), its payload marked `replay: true` and `replay_of` the
/// original event id. Pure but for the new id (NewUuid).
[[nodiscard]] nlohmann::json ReplayEnvelope(const nlohmann::json& failed_event);

}  // namespace sagapay::app
