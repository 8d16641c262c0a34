#include "core/messaging/events.hpp"

#include <limits>
#include <utility>

#include "core/enum_names.hpp"

namespace sagapay {

namespace {

constexpr EnumNames<Verdict, 3> kVerdicts{{{
    {Verdict::kApprove, "APPROVE"},
    {Verdict::kReview, "REVIEW"},
    {Verdict::kDeny, "DENY"},
}}};

constexpr EnumNames<FailureCode, 6> kFailureCodes{{{
    {FailureCode::kRiskDenied, "RISK_DENIED"},
    {FailureCode::kManualDeny, "MANUAL_DENY"},
    {FailureCode::kProviderDecline, "PROVIDER_DECLINE"},
    {FailureCode::kProviderTimeout, "PROVIDER_TIMEOUT"},
    {FailureCode::kProviderInvalidRequest, "PROVIDER_INVALID_REQUEST"},
    {FailureCode::kCaptureRefused, "PROVIDER_CAPTURE_REFUSED"},
}}};

/// Reads fields of one payload and keeps the first problem: decode every field, then check ok().
class PayloadReader {
public:
    PayloadReader(const nlohmann::json& payload, std::string_view topic)
        : payload_(payload), topic_(topic) {}

    [[nodiscard]] bool Ok() const noexcept { return !error_; }
    [[nodiscard]] Error TakeError() { return std::move(*error_); }

    /// A required non-empty string.
    std::string String(const char* field) {
        const auto it = payload_.find(field);
        if (it == payload_.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
            Problem(field, "must be a non-empty string");
            return {};
        }
        return it->get<std::string>();
    }

    /// An optional string: empty when absent or null; a problem when another type.
    std::string OptionalString(const char* field) {
        const auto it = payload_.find(field);
        if (it == payload_.end() || it->is_null()) {
            return {};
        }
        if (!it->is_string()) {
            Problem(field, "must be a string");
            return {};
        }
        return it->get<std::string>();
    }

    std::int64_t Int(const char* field, std::optional<std::int64_t> fallback = std::nullopt) {
        const auto it = payload_.find(field);
        if (it == payload_.end() && fallback) {
            return *fallback;
        }
        if (it == payload_.end() || !it->is_number_integer()) {
            Problem(field, "must be an integer");
            return 0;
        }
        if (it->is_number_unsigned() &&
            it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
            Problem(field, "is out of range");
            return 0;
        }
        return it->get<std::int64_t>();
    }

    /// An integer that must fit an int (attempt numbers): refused, never wrapped, beyond it.
    int SmallInt(const char* field, int fallback) {
        const std::int64_t value = Int(field, fallback);
        if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
            Problem(field, "is out of range");
            return 0;
        }
        return static_cast<int>(value);
    }

    bool Bool(const char* field) {
        const auto it = payload_.find(field);
        if (it == payload_.end() || it->is_null()) {
            return false;
        }
        if (!it->is_boolean()) {
            Problem(field, "must be true or false");
            return false;
        }
        return it->get<bool>();
    }

    /// `amount_cents` (1..kMaxAmountMinor) and `currency` (a known code).
    Money Amount() {
        Money money;
        money.amount_minor = Int("amount_cents");
        if (Ok() && !IsPayableAmount(money.amount_minor)) {
            Problem("amount_cents", "must be from 1 to " + std::to_string(kMaxAmountMinor));
        }
        const std::string code = String("currency");
        if (Ok()) {
            const auto currency = Currency::Parse(code);
            if (!currency) {
                Problem("currency", "is not a supported ISO 4217 code");
            } else {
                money.currency = *currency;
            }
        }
        return money;
    }

    std::optional<Money> OptionalAmount() {
        if (!payload_.contains("amount_cents") && !payload_.contains("currency")) {
            return std::nullopt;
        }
        return Amount();
    }

    PaymentFacts Facts() {
        PaymentFacts facts;
        facts.customer_id = CustomerId(String("customer_id"));
        facts.amount = Amount();
        return facts;
    }

    void Problem(const char* field, const std::string& what) {
        if (!error_) {
            error_ = Error{
                ErrorCode::kInvalidArgument,
                std::string(topic_) + " payload field '" + field + "' " + what};
        }
    }

private:
    const nlohmann::json& payload_;
    std::string_view topic_;
    std::optional<Error> error_;
};

nlohmann::json FactsJson(const PaymentFacts& facts) {
    return {
        {"amount_cents", facts.amount.amount_minor},
        {"currency", facts.amount.currency.CodeString()},
        {"customer_id", facts.customer_id.Value()}};
}

nlohmann::json RiskJson(const RiskDecided& d) {
    nlohmann::json json = {
        {"decision", std::string(ToString(d.decision))},
        {"reason", d.reason},
        {"customer_id", d.customer_id.Value()}};
    if (d.review) {
        json["reviewed_by"] = d.review->reviewed_by;
        if (!d.review->reviewed_at.empty()) {
            json["reviewed_at"] = d.review->reviewed_at;
        }
        json["review_status"] = d.review->review_status;
    }
    return json;
}

RiskDecided ReadRisk(PayloadReader& in) {
    RiskDecided d;
    const std::string decision = in.String("decision");
    if (in.Ok()) {
        const auto verdict = ParseVerdict(decision);
        if (!verdict) {
            // An unknown verdict must never read as an approval.
            in.Problem("decision", "must be APPROVE, REVIEW or DENY");
        } else {
            d.decision = *verdict;
        }
    }
    d.reason = in.OptionalString("reason");
    d.customer_id = CustomerId(in.OptionalString("customer_id"));
    const std::string reviewed_by = in.OptionalString("reviewed_by");
    if (!reviewed_by.empty()) {
        d.review = ManualReview{
            reviewed_by, in.OptionalString("reviewed_at"), in.OptionalString("review_status")};
    }
    return d;
}

struct Encoder {
    nlohmann::json operator()(const PaymentRequested& e) const {
        nlohmann::json json = FactsJson(e.facts);
        if (e.replay) {
            json["replay"] = true;
        }
        return json;
    }
    nlohmann::json operator()(const RiskApproved& e) const { return RiskJson(e); }
    nlohmann::json operator()(const RiskDenied& e) const { return RiskJson(e); }
    nlohmann::json operator()(const AuthorizeRequested& e) const {
        nlohmann::json json = FactsJson(e.facts);
        if (e.replay) {
            json["replay"] = true;
        }
        if (e.capture_on_authorize) {
            json["capture_on_authorize"] = true;
        }
        return json;
    }
    nlohmann::json operator()(const PaymentAuthorized& e) const {
        nlohmann::json json = {
            {"attempt_number", e.attempt_number},
            {"latency_ms", e.latency_ms},
            {"authorization_id", e.authorization_id}};
        if (e.capture_follows) {
            json["capture_follows"] = true;
        }
        if (e.captured) {
            json["captured"] = true;
        }
        return json;
    }
    nlohmann::json operator()(const CaptureRequested& e) const {
        nlohmann::json json = FactsJson(e.facts);
        if (!e.authorization_id.empty()) {
            json["authorization_id"] = e.authorization_id;
        }
        if (e.capture_amount_minor > 0) {
            json["capture_amount_cents"] = e.capture_amount_minor;
        }
        return json;
    }
    nlohmann::json operator()(const CaptureCompleted& e) const {
        return {
            {"authorization_id", e.authorization_id},
            {"amount_cents", e.amount.amount_minor},
            {"currency", e.amount.currency.CodeString()}};
    }
    nlohmann::json operator()(const PaymentCaptured& e) const { return FactsJson(e.facts); }
    nlohmann::json operator()(const ReleaseRequested& e) const {
        nlohmann::json json = FactsJson(e.facts);
        json["reason"] = e.reason;
        return json;
    }
    nlohmann::json operator()(const PaymentFailed& e) const {
        nlohmann::json json = {
            {"error_code",
             e.error_code == FailureCode::kUnknown ? e.error_code_text
                                                   : std::string(ToString(e.error_code))},
            {"customer_id", e.customer_id.Value()}};
        if (!e.reason.empty()) {
            json["reason"] = e.reason;
        }
        if (e.amount) {
            json["amount_cents"] = e.amount->amount_minor;
            json["currency"] = e.amount->currency.CodeString();
        }
        if (e.from_orchestrator) {
            json["source"] = "orchestrator";
        } else {
            json["attempt_number"] = e.attempt_number;
            json["latency_ms"] = e.latency_ms;
        }
        return json;
    }
    nlohmann::json operator()(const PaymentSettled& e) const {
        return {
            {"transaction_id", e.transaction_id},
            {"amount_cents", e.amount.amount_minor},
            {"currency", e.amount.currency.CodeString()}};
    }
    nlohmann::json operator()(const PaymentReversed& e) const {
        nlohmann::json json = FactsJson(e.facts);
        json["reason"] = e.reason;
        json["source_event_id"] = e.source_event_id.Value();
        return json;
    }
    nlohmann::json operator()(const RefundRequested& e) const {
        return {
            {"refund_id", e.refund_id},
            {"amount_cents", e.amount.amount_minor},
            {"currency", e.amount.currency.CodeString()},
            {"customer_id", e.customer_id.Value()},
            {"reason", e.reason}};
    }
    nlohmann::json operator()(const RefundCompleted& e) const {
        nlohmann::json json = {
            {"refund_id", e.refund_id},
            {"amount_cents", e.amount.amount_minor},
            {"currency", e.amount.currency.CodeString()},
            {"status", e.succeeded ? "SUCCEEDED" : "FAILED"},
            {"latency_ms", e.latency_ms}};
        if (!e.failure_reason.empty()) {
            json["failure_reason"] = e.failure_reason;
        }
        return json;
    }
    nlohmann::json operator()(const PaymentRefunded& e) const {
        return {
            {"refund_id", e.refund_id},
            {"amount_cents", e.amount.amount_minor},
            {"currency", e.amount.currency.CodeString()},
            {"refunded_total_cents", e.refunded_total_minor},
            {"captured_cents", e.captured_minor},
            {"customer_id", e.customer_id.Value()},
            {"reason", e.reason}};
    }
    nlohmann::json operator()(const RefundFailed& e) const {
        return {
            {"refund_id", e.refund_id},
            {"amount_cents", e.amount.amount_minor},
            {"currency", e.amount.currency.CodeString()},
            {"customer_id", e.customer_id.Value()},
            {"reason", e.reason}};
    }
    nlohmann::json operator()(const DlqRecorded& e) const {
        nlohmann::json json = {
            {"reason", e.reason},
            {"error_type", e.error_type},
            {"retryable", e.retryable},
            {"source", e.source},
            {"source_event_id", e.source_event_id.Value()}};
        if (!e.replay_topic.empty()) {
            json["replay_topic"] = e.replay_topic;
        }
        if (e.failed_event) {
            json["failed_event"] = nlohmann::json::parse(EncodeEnvelope(*e.failed_event));
        }
        return json;
    }
};

/// Fills each event from its payload: the decoding half of Encoder, one overload per event.
struct Reader {
    PayloadReader& in;
    const nlohmann::json& payload;

    void operator()(PaymentRequested& e) const {
        e.facts = in.Facts();
        e.replay = in.Bool("replay");
    }
    void operator()(RiskApproved& e) const { static_cast<RiskDecided&>(e) = ReadRisk(in); }
    void operator()(RiskDenied& e) const { static_cast<RiskDecided&>(e) = ReadRisk(in); }
    void operator()(AuthorizeRequested& e) const {
        e.facts = in.Facts();
        e.replay = in.Bool("replay");
        e.capture_on_authorize = in.Bool("capture_on_authorize");
    }
    void operator()(PaymentAuthorized& e) const {
        e.attempt_number = in.SmallInt("attempt_number", 1);
        e.latency_ms = in.Int("latency_ms", 0);
        e.authorization_id = in.OptionalString("authorization_id");
        e.capture_follows = in.Bool("capture_follows");
        e.captured = in.Bool("captured");
    }
    void operator()(CaptureRequested& e) const {
        e.facts = in.Facts();
        e.authorization_id = in.OptionalString("authorization_id");
        e.capture_amount_minor = in.Int("capture_amount_cents", 0);
        if (in.Ok() &&
            (e.capture_amount_minor < 0 || e.capture_amount_minor > e.facts.amount.amount_minor)) {
            in.Problem("capture_amount_cents", "must be from 1 to the authorized amount_cents");
        }
    }
    void operator()(CaptureCompleted& e) const {
        e.authorization_id = in.OptionalString("authorization_id");
        e.amount = in.Amount();
    }
    void operator()(PaymentCaptured& e) const { e.facts = in.Facts(); }
    void operator()(ReleaseRequested& e) const {
        e.facts = in.Facts();
        e.reason = in.OptionalString("reason");
    }
    void operator()(PaymentFailed& e) const {
        e.error_code_text = in.OptionalString("error_code");
        e.error_code = ParseFailureCode(e.error_code_text);
        e.reason = in.OptionalString("reason");
        e.customer_id = CustomerId(in.OptionalString("customer_id"));
        e.amount = in.OptionalAmount();
        e.attempt_number = in.SmallInt("attempt_number", 0);
        e.latency_ms = in.Int("latency_ms", 0);
        e.from_orchestrator = in.OptionalString("source") == "orchestrator";
    }
    void operator()(PaymentSettled& e) const {
        e.transaction_id = in.OptionalString("transaction_id");
        e.amount = in.Amount();
    }
    void operator()(PaymentReversed& e) const {
        e.reason = in.OptionalString("reason");
        e.source_event_id = EventId(in.OptionalString("source_event_id"));
        e.facts = in.Facts();
    }
    void operator()(RefundRequested& e) const {
        e.refund_id = in.String("refund_id");
        e.amount = in.Amount();
        e.customer_id = CustomerId(in.OptionalString("customer_id"));
        e.reason = in.OptionalString("reason");
    }
    void operator()(RefundCompleted& e) const {
        e.refund_id = in.String("refund_id");
        e.amount = in.Amount();
        const std::string status = in.String("status");
        if (in.Ok() && status != "SUCCEEDED" && status != "FAILED") {
            // An unknown outcome must never read as a refund made.
            in.Problem("status", "must be SUCCEEDED or FAILED");
        }
        e.succeeded = status == "SUCCEEDED";
        e.failure_reason = in.OptionalString("failure_reason");
        e.latency_ms = in.Int("latency_ms", 0);
    }
    void operator()(PaymentRefunded& e) const {
        e.refund_id = in.String("refund_id");
        e.amount = in.Amount();
        e.refunded_total_minor = in.Int("refunded_total_cents", 0);
        e.captured_minor = in.Int("captured_cents", 0);
        e.customer_id = CustomerId(in.OptionalString("customer_id"));
        e.reason = in.OptionalString("reason");
    }
    void operator()(RefundFailed& e) const {
        e.refund_id = in.String("refund_id");
        e.amount = in.Amount();
        e.customer_id = CustomerId(in.OptionalString("customer_id"));
        e.reason = in.OptionalString("reason");
    }
    void operator()(DlqRecorded& e) const {
        e.reason = in.String("reason");
        e.error_type = in.OptionalString("error_type");
        e.retryable = in.Bool("retryable");
        e.source = in.OptionalString("source");
        e.source_event_id = EventId(in.OptionalString("source_event_id"));
        e.replay_topic = in.OptionalString("replay_topic");
        const auto failed = payload.find("failed_event");
        if (!in.Ok() || failed == payload.end() || failed->is_null()) {
            return;
        }
        auto inner = DecodeEnvelope(failed->dump());
        if (!inner) {
            in.Problem("failed_event", inner.error().message);
            return;
        }
        e.failed_event = std::move(*inner);
    }
};

/// An empty event of the alternative of SagaEvent whose kTopic is `topic`; nullopt for none.
template <std::size_t I = 0>
std::optional<SagaEvent> EmptyEventFor(std::string_view topic) {
    if constexpr (I < std::variant_size_v<SagaEvent>) {
        if (std::variant_alternative_t<I, SagaEvent>::kTopic == topic) {
            return SagaEvent(std::in_place_index<I>);
        }
        return EmptyEventFor<I + 1>(topic);
    } else {
        return std::nullopt;
    }
}

Result<SagaEvent> Decode(std::string_view topic, const nlohmann::json& payload) {
    auto event = EmptyEventFor(topic);
    if (!event) {
        return Fail(ErrorCode::kInvalidArgument, "unknown event type " + std::string(topic));
    }
    PayloadReader in(payload, topic);
    std::visit(Reader{in, payload}, *event);
    if (!in.Ok()) {
        return tl::unexpected(in.TakeError());
    }
    return std::move(*event);
}

}  // namespace

std::string_view ToString(Verdict verdict) noexcept {
    return kVerdicts.Name(verdict, "DENY");
}

std::optional<Verdict> ParseVerdict(std::string_view text) noexcept {
    return kVerdicts.Parse(text);
}

std::string_view ToString(FailureCode code) noexcept {
    return kFailureCodes.Name(code, "UNKNOWN");
}

FailureCode ParseFailureCode(std::string_view text) noexcept {
    return kFailureCodes.Parse(text).value_or(FailureCode::kUnknown);
}

nlohmann::json EncodePayload(const SagaEvent& event) {
    return std::visit(Encoder{}, event);
}

Result<SagaEvent> DecodeSagaEvent(const Envelope& envelope) {
    return Decode(envelope.event_type, envelope.payload);
}

std::string_view TopicOf(const SagaEvent& event) {
    return std::visit([](const auto& e) { return std::decay_t<decltype(e)>::kTopic; }, event);
}

Envelope NewEnvelope(
    const SagaEvent& event, const PaymentId& payment, std::string trace_id, const Clock& clock
) {
    return MakeEnvelope(
        std::string(TopicOf(event)),
        payment.Value(),
        std::move(trace_id),
        EncodePayload(event),
        clock
    );
}

}  // namespace sagapay
