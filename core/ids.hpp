#pragma once

#include <string>

namespace sagapay {

/// A random (version 4) UUID in its canonical 36-character text form. Thread-safe.
[[nodiscard]] std::string NewUuid();

/// True for 36-character canonical UUID text (any version), lower or upper case.
[[nodiscard]] bool IsUuid(std::string_view text) noexcept;

/// 64-bit FNV-1a, for checksums and stable hashing (not for security).
[[nodiscard]] std::uint64_t Fnv1a64(std::string_view data) noexcept;

/// SHA-256 as 64 lowercase hex characters (request fingerprints).
[[nodiscard]] std::string Sha256Hex(std::string_view data);

}  // namespace sagapay
