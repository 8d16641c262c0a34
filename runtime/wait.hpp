#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace sagapay {

/// Waits `duration` or until `stop` is requested, whichever comes first; true when stopped.
/// For back-off on error paths and periodic jobs, never on a hot path.
inline bool WaitFor(std::stop_token stop, std::chrono::milliseconds duration) {
    std::mutex mutex;
    std::condition_variable_any cv;
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, stop, duration, [] { return false; }), stop.stop_requested();
}

}  // namespace sagapay
