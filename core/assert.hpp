#pragma once

#include <cstdio>
#include <cstdlib>

/// Always on, also in release: a broken invariant is a bug, and money code must not go on.
#define SAGAPAY_ASSERT(condition, message)              \
    do {                                                \
        if (!(condition)) {                             \
            std::fprintf(                               \
                stderr,                                 \
                "assertion failed at %s:%d: %s (%s)\n", \
                __FILE__,                               \
                __LINE__,                               \
                message,                                \
                #condition                              \
            );                                          \
            std::abort();                               \
        }                                               \
    } while (false)
