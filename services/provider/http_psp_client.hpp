#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/ports/psp_client.hpp"

namespace sagapay::provider {

/// PspClient over the sandbox PSP's HTTP API (services/psp_sandbox), with a keep-alive pool.
/// Each answer carries the call's latency on the steady clock.
[[nodiscard]] std::unique_ptr<PspClient> MakeHttpPspClient(
    const std::string& base_url, std::chrono::milliseconds timeout
);

}  // namespace sagapay::provider
