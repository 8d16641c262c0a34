#include "services/psp_sandbox/psp_service.hpp"

#include <cstdlib>
#include <optional>
#include <string>

#include "runtime/log.hpp"
#include "runtime/service_host.hpp"
#include "runtime/wait.hpp"
#include "services/psp_sandbox/psp_ledger.hpp"

namespace sagapay::psp {

namespace {

http::Response Answer(const PspLedger::Answer& answer) {
    return http::JsonResponse(answer.http_status, answer.body.dump());
}

std::int64_t EnvInt(const char* name, std::int64_t fallback) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        return fallback;
    }
    char* end = nullptr;
    const long long parsed = std::strtoll(value, &end, 10);
    if (end == nullptr || *end != '\0' || parsed < 0) {
        throw std::runtime_error(std::string(name) + " must be a non-negative whole number");
    }
    return parsed;
}

/// The body of a keyed capture or refund: its key and, when given, its amount.
struct KeyedBody {
    std::string key;
    std::optional<std::int64_t> amount_minor;  ///< Empty: all (of the authorization, of the rest).
    std::optional<http::Response> invalid;     ///< Set: the 400 to answer instead.
};

/// Reads `{"<key_field>": "...", "amount_cents": N}`; `idempotency_key` stands for the key field
/// (what callers sent before the key was named), and amount_cents is optional.
KeyedBody ReadKeyed(const std::string& text, const std::string& key_field) {
    KeyedBody out;
    const auto body = nlohmann::json::parse(text, nullptr, false);
    const auto string_at = [&](const std::string& name) -> std::optional<std::string> {
        if (!body.is_object() || !body.contains(name) || !body[name].is_string()) {
            return std::nullopt;
        }
        return body[name].get<std::string>();
    };
    const std::optional<std::string> named = string_at(key_field);
    const std::optional<std::string> legacy = string_at("idempotency_key");
    if (!named && !legacy) {
        out.invalid = http::ErrorResponse(
            400, "invalid_request", key_field + " (or idempotency_key) is required", key_field
        );
        return out;
    }
    if (named && legacy && *named != *legacy) {
        out.invalid = http::ErrorResponse(
            400, "invalid_request", key_field + " and idempotency_key differ", key_field
        );
        return out;
    }
    out.key = named ? *named : *legacy;
    if (body.contains("amount_cents")) {
        if (!body["amount_cents"].is_number_integer()) {
            out.invalid = http::ErrorResponse(
                400, "invalid_request", "amount_cents must be a whole number", "amount_cents"
            );
            return out;
        }
        out.amount_minor = body["amount_cents"].get<std::int64_t>();
    }
    return out;
}

}  // namespace

void AddPspRoutes(http::Router& router, PspLedger& ledger, std::chrono::milliseconds slow) {
    router.Add("POST", "/v1/authorizations", [&ledger, slow](http::Request& request) {
        const auto body = nlohmann::json::parse(request.body, nullptr, false);
        if (body.is_discarded() || !body.is_object() || !body.contains("idempotency_key") ||
            !body["idempotency_key"].is_string() || !body.contains("amount_cents") ||
            !body["amount_cents"].is_number_integer() || !body.contains("currency") ||
            !body["currency"].is_string()) {
            return http::ErrorResponse(
                400, "invalid_request", "idempotency_key, amount_cents and currency are required"
            );
        }
        // Optional, but strings when present (json::value throws on another type: a 500).
        for (const char* optional : {"payment_id", "customer_id"}) {
            if (body.contains(optional) && !body[optional].is_string()) {
                return http::ErrorResponse(
                    400, "invalid_request", std::string(optional) + " must be a string", optional
                );
            }
        }
        AuthorizeRequest a;
        a.idempotency_key = body["idempotency_key"].get<std::string>();
        a.payment_id = body.value("payment_id", "");
        a.customer_id = body.value("customer_id", "");
        a.amount_minor = body["amount_cents"].get<std::int64_t>();
        a.currency = body["currency"].get<std::string>();
        if (a.amount_minor <= 0) {
            return http::ErrorResponse(
                400, "invalid_request", "amount_cents must be positive", "amount_cents"
            );
        }
        if (BehaviourFor(a.customer_id) == Behaviour::kSlow) {
            const std::stop_source never;
            WaitFor(never.get_token(), slow);  // the simulated slow PSP
        }
        return Answer(ledger.Authorize(a));
    });
    router.Add("GET", "/v1/authorizations/{key}", [&ledger](http::Request& request) {
        return Answer(ledger.Find(request.path_params.at(0)));
    });
    router.Add("POST", "/v1/authorizations/{key}/capture", [&ledger](http::Request& request) {
        const KeyedBody body = ReadKeyed(request.body, "capture_key");
        if (body.invalid) {
            return *body.invalid;
        }
        return Answer(ledger.Capture(request.path_params.at(0), body.key, body.amount_minor));
    });
    router.Add("POST", "/v1/authorizations/{key}/void", [&ledger](http::Request& request) {
        return Answer(ledger.Void(request.path_params.at(0)));
    });
    router.Add("POST", "/v1/authorizations/{key}/refund", [&ledger](http::Request& request) {
        const KeyedBody body = ReadKeyed(request.body, "refund_key");
        if (body.invalid) {
            return *body.invalid;
        }
        return Answer(ledger.Refund(request.path_params.at(0), body.key, body.amount_minor));
    });
    router.Add(
        "GET",
        "/v1/authorizations/{key}/refunds/{refund_key}",
        [&ledger](http::Request& request) {
            return Answer(ledger.FindRefund(request.path_params.at(0), request.path_params.at(1)));
        }
    );
    router.Add("GET", "/v1/records", [&ledger](http::Request&) {
        return http::JsonResponse(200, ledger.Records().dump());
    });
}

int RunPspSandbox(const Config& config, const Clock& clock) {
    const auto seed = static_cast<std::uint64_t>(EnvInt("PSP_SEED", 42));
    const auto slow = std::chrono::milliseconds(EnvInt("PSP_SLOW_MS", 300));
    const char* mode = std::getenv("PSP_DEFAULT_BEHAVIOUR");
    const std::string fallback = mode == nullptr || *mode == '\0' ? "approve" : mode;
    if (fallback != "approve" && fallback != "random") {
        throw std::runtime_error("PSP_DEFAULT_BEHAVIOUR must be approve or random");
    }
    const auto late = std::chrono::milliseconds(EnvInt("PSP_LATE_MS", 5000));
    PspLedger ledger(
        seed, fallback == "random" ? Behaviour::kRandom : Behaviour::kApprove, clock, late
    );
    ServiceHost host(config, "psp", config.PortFor("psp"));

    AddPspRoutes(host.Routes(), ledger, slow);
    log::Info("sandbox PSP ready", {{"seed", std::to_string(seed)}});
    return host.Run();
}

}  // namespace sagapay::psp
