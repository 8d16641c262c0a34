#include "services/notification/webhook_signature.hpp"

#include <charconv>
#include <cstdlib>

#include "core/hmac.hpp"

namespace sagapay::notification {

namespace {

std::string SignedPayload(std::int64_t timestamp, std::string_view body) {
    std::string payload = std::to_string(timestamp);
    payload.push_back('.');
    payload.append(body);
    return payload;
}

/// Equal length and content, in time that depends only on the length.
bool SameText(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = static_cast<unsigned char>(diff | (a[i] ^ b[i]));
    }
    return diff == 0;
}

}  // namespace

std::string SignatureHeader(
    std::int64_t timestamp, std::string_view body, std::span<const std::string> secrets
) {
    const std::string payload = SignedPayload(timestamp, body);
    std::string header = "t=" + std::to_string(timestamp);
    for (const std::string& secret : secrets) {
        header += ",v1=" + HmacSha256Hex(secret, payload);
    }
    return header;
}

std::optional<ParsedSignature> ParseSignatureHeader(std::string_view header) {
    ParsedSignature parsed;
    bool has_time = false;
    while (!header.empty()) {
        const std::size_t comma = header.find(',');
        std::string_view item = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
        while (!item.empty() && item.front() == ' ') {
            item.remove_prefix(1);
        }
        const std::size_t equals = item.find('=');
        if (equals == std::string_view::npos) {
            continue;
        }
        const std::string_view key = item.substr(0, equals);
        const std::string_view value = item.substr(equals + 1);
        if (key == "t") {
            const auto [ptr, ec] =
                std::from_chars(value.data(), value.data() + value.size(), parsed.timestamp);
            has_time = ec == std::errc() && ptr == value.data() + value.size();
        } else if (key == "v1" && !value.empty()) {
            parsed.v1.emplace_back(value);
        }
    }
    if (!has_time || parsed.v1.empty()) {
        return std::nullopt;
    }
    return parsed;
}

std::string_view ToString(Verification verification) noexcept {
    switch (verification) {
        case Verification::kValid:
            return "valid";
        case Verification::kMalformed:
            return "malformed";
        case Verification::kMismatch:
            return "mismatch";
        case Verification::kTooOld:
            return "too_old";
    }
    return "malformed";
}

Verification VerifySignature(
    std::string_view header,
    std::string_view body,
    std::string_view secret,
    std::int64_t now,
    std::chrono::seconds tolerance
) {
    const auto parsed = ParseSignatureHeader(header);
    if (!parsed) {
        return Verification::kMalformed;
    }
    const std::string expected = HmacSha256Hex(secret, SignedPayload(parsed->timestamp, body));
    bool matched = false;
    for (const std::string& candidate : parsed->v1) {
        matched = SameText(candidate, expected) || matched;  // every candidate compared
    }
    if (!matched) {
        return Verification::kMismatch;
    }
    if (std::llabs(now - parsed->timestamp) > tolerance.count()) {
        return Verification::kTooOld;
    }
    return Verification::kValid;
}

}  // namespace sagapay::notification
