#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

namespace sagapay {

/// A random (version 4) UUID in its canonical 36-character text form. Thread-safe.
[[nodiscard]] std::string NewUuid();

/// 256 bits from the kernel's CSPRNG as 64 lowercase hex characters: session ids, CSRF tokens.
/// Never from a ScopedUuidSource: a secret must not be replayable.
[[nodiscard]] std::string NewSecretToken();

/// While alive, NewUuid on this thread draws its 16 bytes from `next` instead of the kernel: a
/// deterministic simulation replays a seed with the same ids. Tests only; nests (the innermost
/// wins) and must be destroyed on the thread that made it.
class ScopedUuidSource {
public:
    using Source = std::function<std::array<std::uint8_t, 16>()>;
    explicit ScopedUuidSource(Source next);
    ~ScopedUuidSource();
    ScopedUuidSource(const ScopedUuidSource&) = delete;
    ScopedUuidSource& operator=(const ScopedUuidSource&) = delete;

private:
    friend std::string NewUuid();
    Source next_;
    ScopedUuidSource* outer_;
};

/// True for 36-character canonical UUID text (any version), lower or upper case.
[[nodiscard]] bool IsUuid(std::string_view text) noexcept;

/// 64-bit FNV-1a, for checksums and stable hashing (not for security).
[[nodiscard]] std::uint64_t Fnv1a64(std::string_view data) noexcept;

/// SHA-256 as 64 lowercase hex characters (request fingerprints).
[[nodiscard]] std::string Sha256Hex(std::string_view data);

}  // namespace sagapay
