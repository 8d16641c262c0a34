#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace sagapay {

/// SHA-256 of `data`, the 32 bytes (core/ids.cpp; Sha256Hex is its hex form).
[[nodiscard]] std::array<std::uint8_t, 32> Sha256(std::string_view data);

/// HMAC-SHA256 (RFC 2104) of `message` under `key`, as 64 lowercase hex characters: webhook
/// signatures.
[[nodiscard]] std::string HmacSha256Hex(std::string_view key, std::string_view message);

}  // namespace sagapay
