#include "core/messaging/envelope.hpp"

#include "core/ids.hpp"
#include "core/tracing/trace_context.hpp"

namespace sagapay {

Envelope MakeEnvelope(
    std::string event_type,
    std::string aggregate_id,
    std::string trace_id,
    nlohmann::json payload,
    const Clock& clock
) {
    Envelope envelope;
    envelope.event_id = NewUuid();
    envelope.event_type = std::move(event_type);
    envelope.aggregate_id = std::move(aggregate_id);
    envelope.occurred_at = FormatIsoUtc(clock.Now());
    envelope.trace_id = trace_id.empty() ? NewUuid() : std::move(trace_id);
    envelope.payload = std::move(payload);
    if (const TraceContext* current = CurrentTraceContext()) {
        envelope.traceparent = FormatTraceparent(*current);
        if (!envelope.traceparent.empty()) {
            envelope.tracestate = current->tracestate;
        }
    }
    return envelope;
}

std::string EncodeEnvelope(const Envelope& envelope) {
    nlohmann::json json = {
        {"event_id", envelope.event_id},
        {"event_type", envelope.event_type},
        {"aggregate_id", envelope.aggregate_id},
        {"occurred_at", envelope.occurred_at},
        {"trace_id", envelope.trace_id},
        {"payload", envelope.payload},
        {"schema_version", envelope.schema_version},
    };
    if (!envelope.traceparent.empty()) {
        json["traceparent"] = envelope.traceparent;
        if (!envelope.tracestate.empty()) {
            json["tracestate"] = envelope.tracestate;
        }
    }
    return json.dump();
}

namespace {

Result<std::string> RequireString(const nlohmann::json& json, const char* field) {
    const auto it = json.find(field);
    if (it == json.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
        return Fail(
            ErrorCode::kInvalidArgument,
            std::string("envelope field '") + field + "' must be a non-empty string"
        );
    }
    return it->get<std::string>();
}

}  // namespace

Result<Envelope> DecodeEnvelope(std::string_view text) {
    nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return Fail(ErrorCode::kInvalidArgument, "envelope is not a JSON object");
    }
    Envelope envelope;
    for (auto [field, target] : {
             std::pair{"event_id", &envelope.event_id},
             std::pair{"event_type", &envelope.event_type},
             std::pair{"aggregate_id", &envelope.aggregate_id},
             std::pair{"occurred_at", &envelope.occurred_at},
             std::pair{"trace_id", &envelope.trace_id},
         }) {
        auto value = RequireString(json, field);
        if (!value) {
            return tl::unexpected(value.error());
        }
        *target = std::move(*value);
    }
    const auto payload = json.find("payload");
    if (payload == json.end() || !payload->is_object()) {
        return Fail(ErrorCode::kInvalidArgument, "envelope field 'payload' must be an object");
    }
    envelope.payload = *payload;
    // Trace context is advisory: a field of the wrong type is ignored, never a dead letter.
    for (auto [field, target] : {
             std::pair{"traceparent", &envelope.traceparent},
             std::pair{"tracestate", &envelope.tracestate},
         }) {
        const auto it = json.find(field);
        if (it != json.end() && it->is_string()) {
            *target = it->get<std::string>();
        }
    }
    const auto version = json.find("schema_version");
    if (version != json.end()) {
        // Compared as JSON numbers: get<int>() first would wrap 4294967297 to a supported 1.
        if (!version->is_number_integer() || *version < 1 || *version > Envelope::kSchemaVersion) {
            return Fail(
                ErrorCode::kInvalidArgument,
                "envelope schema_version " + version->dump() +
                    " is not supported (this build reads 1.." +
                    std::to_string(Envelope::kSchemaVersion) + ")"
            );
        }
        envelope.schema_version = version->get<int>();
    }
    return envelope;
}

}  // namespace sagapay
