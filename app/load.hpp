#pragma once

#include <cstdint>
#include <string>

namespace sagapay::app {

struct LoadOptions {
    std::int64_t total = 1000;  ///< --total (ignored with --duration)
    int concurrency = 100;      ///< --concurrency: requests in flight (closed loop)
    std::string base_url = "http://localhost:8000";
    std::string api_key = "dev-secret";
    bool e2e = false;              ///< --e2e: follow every payment to a final state
    std::string mix = "seed";      ///< seed | settle
    double duration_seconds = 0;   ///< --duration: issue for this long instead of --total
    double rate = 0;               ///< --rate: open loop, requests per second
    std::string orchestrator_dsn;  ///< for --e2e: read the timeline from the orchestrator DB
    double e2e_timeout_seconds = 120;
};

/// `sagapay load`: the seed's load_test.py (same flags, same output lines) plus throughput, an
/// open-loop mode that does not hide queueing, and end-to-end tracking. Returns the exit code
/// (1 when any request failed).
int RunLoad(const LoadOptions& options);

}  // namespace sagapay::app
