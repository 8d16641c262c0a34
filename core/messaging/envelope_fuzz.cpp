// libFuzzer target: a message from the bus through DecodeEnvelope, then through the typed
// decoder of every topic (not only the one it names), as a consumer would. Properties: an
// accepted envelope re-encodes to one that decodes to the same envelope and keeps the
// schema_version it was sent with; a decoded event re-encodes to a payload that decodes to the
// same event, and every field the re-encoded payload shares with the original has its value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

#include "core/messaging/envelope.hpp"
#include "core/messaging/events.hpp"
#include "testing/fuzz_check.hpp"

namespace sagapay {
namespace {

using fuzz::Check;

bool SameEnvelope(const Envelope& a, const Envelope& b) {
    return a.event_id == b.event_id && a.event_type == b.event_type &&
           a.aggregate_id == b.aggregate_id && a.occurred_at == b.occurred_at &&
           a.trace_id == b.trace_id && a.payload == b.payload &&
           a.schema_version == b.schema_version;
}

void CheckEnvelope(const Envelope& envelope, std::string_view text) {
    for (const std::string* field :
         {&envelope.event_id,
          &envelope.event_type,
          &envelope.aggregate_id,
          &envelope.occurred_at,
          &envelope.trace_id}) {
        Check(!field->empty(), "decoded envelope strings are non-empty", text);
    }
    Check(envelope.payload.is_object(), "decoded payload is an object", text);
    Check(
        envelope.schema_version >= 1 && envelope.schema_version <= Envelope::kSchemaVersion,
        "schema_version in the supported range",
        text
    );
    // The version we act on is the version that was sent.
    const auto sent = nlohmann::json::parse(text, nullptr, false);
    if (const auto it = sent.find("schema_version"); it != sent.end()) {
        Check(*it == envelope.schema_version, "schema_version is the one sent", text);
    }
    const auto again = DecodeEnvelope(EncodeEnvelope(envelope));
    Check(again.has_value(), "a re-encoded envelope decodes", text);
    Check(SameEnvelope(*again, envelope), "a re-encoded envelope decodes to the same", text);
}

/// Every field both payloads have (and the original did not leave null) has the same value.
void CheckKeptFields(
    const nlohmann::json& original, const nlohmann::json& encoded, std::string_view text
) {
    for (const auto& [key, value] : encoded.items()) {
        if (key == "failed_event") {
            continue;  // An envelope: compared decoded, by DecodeEnvelope's own round trip.
        }
        const auto it = original.find(key);
        if (it == original.end() || it->is_null()) {
            continue;
        }
        Check(*it == value, "a decoded field keeps its value: " + key, text);
    }
}

void CheckEvent(const Envelope& envelope, std::string_view topic, std::string_view text) {
    Envelope typed = envelope;
    typed.event_type = std::string(topic);
    const auto event = DecodeSagaEvent(typed);
    if (!event) {
        Check(
            event.error().code == ErrorCode::kInvalidArgument, "refusal is kInvalidArgument", text
        );
        return;
    }
    Check(TopicOf(*event) == topic, "the decoded event is of the topic asked for", text);
    const nlohmann::json payload = EncodePayload(*event);
    CheckKeptFields(typed.payload, payload, text);

    Envelope round = typed;
    round.payload = payload;
    const auto again = DecodeSagaEvent(round);
    Check(again.has_value(), "a re-encoded event decodes", text);
    Check(EncodePayload(*again) == payload, "a re-encoded event decodes to the same", text);
}

template <std::size_t... I>
void CheckEveryTopic(const Envelope& envelope, std::string_view text, std::index_sequence<I...>) {
    (CheckEvent(envelope, std::variant_alternative_t<I, SagaEvent>::kTopic, text), ...);
}

}  // namespace
}  // namespace sagapay

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sagapay;
    const std::string_view text = fuzz::AsText(data, size);
    const auto envelope = DecodeEnvelope(text);
    if (!envelope) {
        fuzz::Check(
            envelope.error().code == ErrorCode::kInvalidArgument,
            "refusal is kInvalidArgument",
            text
        );
        return 0;
    }
    CheckEnvelope(*envelope, text);
    CheckEveryTopic(*envelope, text, std::make_index_sequence<std::variant_size_v<SagaEvent>>{});
    // An unknown topic is refused, never read as some event.
    Envelope unknown = *envelope;
    unknown.event_type = "payments.unknown";
    fuzz::Check(!DecodeSagaEvent(unknown).has_value(), "an unknown topic is refused", text);
    return 0;
}
