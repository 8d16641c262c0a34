#pragma once

#include <string>

#include <tl/expected.hpp>

#include "core/error.hpp"

namespace sagapay {

/// A value, or the Error that explains its absence. Mirrors C++23 std::expected.
template <class T>
using Result = tl::expected<T, Error>;

/// `return Fail(ErrorCode::kNotFound, "no account " + id);`
inline tl::unexpected<Error> Fail(ErrorCode code, std::string message) {
    return tl::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace sagapay
