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
    /// --max-retries: a 429 or 503 answered with retry-after is sent again (same body, same
    /// idempotency key) after that many seconds, up to this many times; its latency runs from
    /// the first send. 0: the seed's behaviour (the answer counts as an error).
    int max_retries = 5;
};

/// `sagapay load`: the seed's load_test.py (same flags, same output lines) plus throughput, an
/// open-loop mode that does not hide queueing, end-to-end tracking, and a client's answer to
/// back-pressure (retry after retry-after; `throttled=` counts those answers). Returns the exit
/// code (1 when any request failed).
int RunLoad(const LoadOptions& options);

}  // namespace sagapay::app
