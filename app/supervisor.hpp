#pragma once

#include <string>
#include <vector>

#include "app/replicas.hpp"

namespace sagapay::app {

struct UpOptions {
    std::string root;         ///< The checkout (scripts/stack.sh lives there).
    bool start_stack = true;  ///< Start the private PostgreSQL and Redis (scripts/stack.sh).
    bool keep_stack = false;  ///< Leave them running on exit.
    /// Start the private Prometheus (scripts/prometheus.sh) scraping every instance.
    bool start_prometheus = true;
    std::string log_dir;  ///< Where each service's log goes; default <root>/var/log.
    /// --replicas: instances per service (ParseReplicas); the others run one.
    Replicas replicas = {};
};

/// `sagapay up`: starts the local stack, migrates, starts the six services (as many instances
/// of each as `replicas` says) and the sandbox PSP as child processes, waits until each answers
/// /health, prints every instance's URL, restarts a child that dies (with backoff), and on
/// SIGINT/SIGTERM stops the children and then the stack. Instance i of a service listens on its
/// port (`<SERVICE>_PORT`, default 8000-8005) + 100 * i and logs to `<service>-<i>.log`; gateway
/// i calls orchestrator i mod n unless ORCHESTRATOR_URL is set. Returns the exit code (2 when two
/// instances would share a port).
int RunUp(const std::string& self_exe, const UpOptions& options);

/// Runs `scripts/stack.sh env` and exports its variables into this process (those not already
/// set). Returns false when the script failed.
bool ImportStackEnvironment(const std::string& root);

/// Creates each service's database when missing and applies its migrations.
int MigrateAll(const std::vector<std::string>& services);

}  // namespace sagapay::app
