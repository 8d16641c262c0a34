#pragma once

#include <memory>

namespace sagapay {

/// Deleter that calls a C library's free function: `UniqueHandle<PGresult, &PQclear>`.
template <auto Free>
struct FreeWith {
    template <class T>
    void operator()(T* p) const noexcept {
        Free(p);
    }
};

template <class T, auto Free>
using UniqueHandle = std::unique_ptr<T, FreeWith<Free>>;

}  // namespace sagapay
