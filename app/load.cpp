#include "app/load.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <stop_token>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/http/http.hpp"
#include "adapters/postgres/connection.hpp"
#include "core/ids.hpp"
#include "runtime/wait.hpp"

namespace sagapay::app {

namespace {

using Clock = std::chrono::steady_clock;

/// The seed's percentile: sorted[min(n-1, max(0, int(p/100*n) - 1))].
double Percentile(std::vector<double> values, double p) {
    if (values.empty()) {
        return 0;
    }
    std::sort(values.begin(), values.end());
    const auto n = static_cast<std::int64_t>(values.size());
    const auto index = std::min<std::int64_t>(
        n - 1,
        std::max<std::int64_t>(0, static_cast<std::int64_t>(p / 100.0 * static_cast<double>(n)) - 1)
    );
    return values[static_cast<std::size_t>(index)];
}

struct Shared {
    std::mutex mutex;
    std::vector<double> latencies_ms;
    std::vector<std::string> payment_ids;
    std::map<int, std::int64_t> error_statuses;  ///< 0: no answer
    std::atomic<std::int64_t> issued{0};
    std::atomic<std::int64_t> success{0};
    std::atomic<std::int64_t> done{0};
    std::atomic<std::int64_t> throttled{0};
};

/// Seconds to wait before sending again when `response` is back-pressure (429 or 503 with
/// retry-after), clamped to 1..10; nullopt for anything else.
std::optional<int> RetryAfterSeconds(const http::Response& response) {
    if (response.status != 429 && response.status != 503) {
        return std::nullopt;
    }
    const std::string_view header = response.Header("retry-after");
    if (header.empty()) {
        return std::nullopt;
    }
    int seconds = 1;
    std::from_chars(header.data(), header.data() + header.size(), seconds);
    return std::clamp(seconds, 1, 10);
}

}  // namespace

int RunLoad(const LoadOptions& o) {
    http::Client client(
        o.base_url,
        http::ClientOptions{
            static_cast<std::size_t>(o.concurrency) + 8,
            std::chrono::milliseconds(2000),
            std::chrono::milliseconds(10000)}
    );
    Shared shared;
    const std::string run = NewUuid().substr(0, 8);
    const auto start = Clock::now();
    const bool timed = o.duration_seconds > 0;
    const auto stop_at = start + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(o.duration_seconds)
                                 );
    std::stop_source never;

    auto worker = [&](int worker_index) {
        std::mt19937_64 rng(
            static_cast<std::uint64_t>(worker_index) * 7919ULL + std::random_device{}()
        );
        while (true) {
            const std::int64_t i = shared.issued.fetch_add(1);
            if (!timed && i >= o.total) {
                return;
            }
            Clock::time_point scheduled = Clock::now();
            if (o.rate > 0) {
                // Open loop: request i is due at start + i/rate, and its latency counts from then.
                scheduled =
                    start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(static_cast<double>(i) / o.rate)
                            );
                const auto now = Clock::now();
                if (scheduled > now) {
                    WaitFor(
                        never.get_token(),
                        std::chrono::duration_cast<std::chrono::milliseconds>(scheduled - now)
                    );
                }
            }
            if (timed && Clock::now() >= stop_at) {
                return;
            }
            std::string customer;
            std::int64_t amount = 0;
            if (o.mix == "settle") {
                customer = "load-" + run + "-" + std::to_string(i);
                amount = std::uniform_int_distribution<std::int64_t>(100, 100000)(rng);
            } else {
                customer = "cust-" + std::to_string(i % 500);
                amount = std::uniform_int_distribution<std::int64_t>(100, 250000)(rng);
            }
            const nlohmann::json body = {
                {"customer_id", customer},
                {"amount_cents", amount},
                {"currency", "USD"},
                {"idempotency_key", NewUuid()}};
            const auto sent = o.rate > 0 ? scheduled : Clock::now();
            const std::string payload = body.dump();
            const std::string correlation = NewUuid();
            const auto send = [&] {
                return client.Send(
                    "POST",
                    "/payments",
                    payload,
                    {{"content-type", "application/json"},
                     {"x-api-key", o.api_key},
                     {"x-correlation-id", correlation}}
                );
            };
            auto result = send();
            for (int attempt = 0; attempt < o.max_retries && result.has_value(); ++attempt) {
                const auto after = RetryAfterSeconds(*result);
                if (!after) {
                    break;
                }
                shared.throttled += 1;
                WaitFor(never.get_token(), std::chrono::seconds(*after));
                result = send();
            }
            const double ms =
                std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
            const bool ok = result.has_value() && result->status >= 200 && result->status < 300;
            {
                const std::lock_guard lock(shared.mutex);
                shared.latencies_ms.push_back(ms);
                if (!ok) {
                    shared.error_statuses[result.has_value() ? result->status : 0] += 1;
                }
                if (ok && o.e2e) {
                    const auto created = nlohmann::json::parse(result->body, nullptr, false);
                    if (created.is_object() && created.contains("payment_id")) {
                        shared.payment_ids.push_back(created["payment_id"].get<std::string>());
                    }
                }
            }
            shared.success += ok ? 1 : 0;
            shared.done += 1;
        }
    };

    std::vector<std::jthread> workers;
    workers.reserve(static_cast<std::size_t>(o.concurrency));
    for (int w = 0; w < o.concurrency; ++w) {
        workers.emplace_back(worker, w);
    }
    std::jthread progress([&](std::stop_token stop) {
        while (!WaitFor(stop, std::chrono::seconds(5))) {
            const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
            std::fprintf(
                stderr,
                "progress: %lld requests in %.0f s (%.0f/s)\n",
                static_cast<long long>(shared.done.load()),
                elapsed,
                static_cast<double>(shared.done.load()) / elapsed
            );
        }
    });
    workers.clear();
    progress.request_stop();
    progress.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

    const auto total = static_cast<std::int64_t>(shared.latencies_ms.size());
    const std::int64_t success = shared.success.load();
    double sum = 0;
    for (const double v : shared.latencies_ms) {
        sum += v;
    }
    std::printf("total=%lld\n", static_cast<long long>(total));
    std::printf("success=%lld\n", static_cast<long long>(success));
    std::printf("errors=%lld\n", static_cast<long long>(total - success));
    std::printf(
        "error_rate=%.2f%%\n",
        total == 0 ? 0.0 : 100.0 * static_cast<double>(total - success) / static_cast<double>(total)
    );
    std::printf("p50_ms=%.2f\n", Percentile(shared.latencies_ms, 50));
    std::printf("p95_ms=%.2f\n", Percentile(shared.latencies_ms, 95));
    std::printf("p99_ms=%.2f\n", Percentile(shared.latencies_ms, 99));
    std::printf("avg_ms=%.2f\n", total == 0 ? 0.0 : sum / static_cast<double>(total));
    std::printf("throughput_rps=%.1f\n", static_cast<double>(total) / seconds);
    std::printf("throttled=%lld\n", static_cast<long long>(shared.throttled.load()));
    if (!shared.error_statuses.empty()) {
        std::string statuses;
        for (const auto& [status, count] : shared.error_statuses) {
            statuses += (statuses.empty() ? "" : ",") + std::to_string(status) + ":" +
                        std::to_string(count);
        }
        std::printf("error_statuses=%s\n", statuses.c_str());  // 0: no answer
    }
    std::fflush(stdout);

    if (o.e2e && !shared.payment_ids.empty()) {
        if (o.orchestrator_dsn.empty()) {
            std::fprintf(
                stderr, "load --e2e: set ORCHESTRATOR_POSTGRES_DSN (or SAGAPAY_PG_BASE_DSN)\n"
            );
            return 2;
        }
        auto db = postgres::Connection::Open(o.orchestrator_dsn);
        const std::string ids = postgres::TextArray(shared.payment_ids);
        const auto deadline =
            Clock::now() + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(o.e2e_timeout_seconds)
                           );
        // Only the payments still moving are asked about again, and not more often than every
        // 250 ms: the poll must not take the CPU the pipeline it measures needs.
        std::vector<std::string> moving = shared.payment_ids;
        while (true) {
            // RISK_REVIEW waits on a person: it counts as an outcome of the run, not as pending.
            const auto still = db.Exec(
                "SELECT payment_id FROM payments WHERE payment_id = ANY($1::uuid[]) AND "
                "status NOT IN ('SETTLED','FAILED','REVERSED','RISK_REVIEW','PARTIALLY_REFUNDED',"
                "'REFUNDED')",
                {postgres::TextArray(moving)}
            );
            moving.clear();
            for (int r = 0; r < still.Size(); ++r) {
                moving.push_back(still.GetString(r, 0));
            }
            if (moving.empty() || Clock::now() > deadline) {
                break;
            }
            WaitFor(never.get_token(), std::chrono::milliseconds(250));
        }
        const auto waiting = static_cast<std::int64_t>(moving.size());
        const auto rows = db.Exec(
            "SELECT p.status, extract(epoch FROM t.created_at - p.created_at) * 1000, "
            "extract(epoch FROM t.created_at), extract(epoch FROM p.created_at) "
            "FROM payments p JOIN LATERAL (SELECT created_at FROM payment_timeline WHERE "
            "payment_id = p.payment_id "
            "ORDER BY timeline_id DESC LIMIT 1) t ON true WHERE p.payment_id = ANY($1::uuid[])",
            {ids}
        );
        std::vector<double> e2e;
        std::map<std::string, std::int64_t> by_status;
        double first_created = 1e300;
        double last_settled = 0;
        for (int r = 0; r < rows.Size(); ++r) {
            const std::string status = rows.GetString(r, 0);
            by_status[status] += 1;
            first_created = std::min(first_created, std::stod(rows.GetString(r, 3)));
            if (status == "SETTLED") {
                e2e.push_back(std::stod(rows.GetString(r, 1)));
                last_settled = std::max(last_settled, std::stod(rows.GetString(r, 2)));
            }
        }
        std::printf("e2e_settled=%lld\n", static_cast<long long>(by_status["SETTLED"]));
        const std::int64_t failed = by_status["FAILED"] + by_status["REVERSED"];
        std::printf("e2e_failed=%lld\n", static_cast<long long>(failed));
        std::printf("e2e_in_review=%lld\n", static_cast<long long>(by_status["RISK_REVIEW"]));
        std::printf("e2e_unfinished=%lld\n", static_cast<long long>(waiting));
        std::printf("e2e_p50_ms=%.2f\n", Percentile(e2e, 50));
        std::printf("e2e_p95_ms=%.2f\n", Percentile(e2e, 95));
        std::printf("e2e_p99_ms=%.2f\n", Percentile(e2e, 99));
        const double span = last_settled - first_created;
        std::printf(
            "settled_per_sec=%.1f\n", span > 0 ? static_cast<double>(e2e.size()) / span : 0.0
        );
    }
    return success == total ? 0 : 1;
}

}  // namespace sagapay::app
