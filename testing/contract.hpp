#pragma once

#include <optional>
#include <string>

#include "core/error.hpp"

namespace sagapay::testing {

/// The ErrorCode `action` throws (sagapay::Exception or its subclass postgres::SqlError), or
/// nullopt when it returns. For store contracts, where the in-memory store throws at the call
/// and PostgreSQL at COMMIT: the action is the whole unit of work.
template <class Action>
[[nodiscard]] std::optional<ErrorCode> ErrorCodeOf(Action&& action) {
    try {
        action();
    } catch (const Exception& error) {
        return error.Code();
    }
    return std::nullopt;
}

/// A valid UUID for case `n` of a test (stores keyed by uuid columns refuse anything else).
[[nodiscard]] inline std::string UuidNo(int n) {
    std::string digits = std::to_string(n);
    return "00000000-0000-4000-8000-" + std::string(12 - digits.size(), '0') + digits;
}

}  // namespace sagapay::testing
