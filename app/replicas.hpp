#pragma once

#include <array>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace sagapay::app {

/// The services `--replicas` can run several instances of (the sandbox PSP keeps its books in
/// memory: it stays one), in the order of their standard ports 8000-8005.
inline constexpr std::array<std::string_view, 6> kReplicableServices = {
    "gateway", "orchestrator", "risk", "provider", "ledger", "notification"};

/// At most this many instances of one service.
inline constexpr int kMaxReplicas = 16;

/// Instance i (0-based) of a service whose first instance listens on `base` listens on
/// base + kReplicaPortStep * i: 8001, 8101, 8201, … for the orchestrator.
inline constexpr int kReplicaPortStep = 100;

/// Service → instances, for the services named; the others run one.
using Replicas = std::map<std::string, int, std::less<>>;

/// Parses `--replicas orchestrator=2,provider=3`: comma-separated service=count pairs, each
/// service of kReplicableServices at most once, counts 1 to kMaxReplicas. An empty text is no
/// replicas. kInvalidArgument with a message naming what is wrong otherwise.
[[nodiscard]] Result<Replicas> ParseReplicas(std::string_view text);

/// How many instances of `service` run (1 when `replicas` does not name it).
[[nodiscard]] int InstancesOf(const Replicas& replicas, std::string_view service) noexcept;

/// The port of instance `instance` of a service whose first instance listens on `base`.
[[nodiscard]] constexpr int InstancePort(int base, int instance) noexcept {
    return base + kReplicaPortStep * instance;
}

/// "orchestrator" for instance 0, "orchestrator-2" for instance 2: the log file's stem and the
/// name `sagapay up` prints.
[[nodiscard]] std::string InstanceName(std::string_view service, int instance);

/// A process `sagapay up` and `sagapay chaos` run: its subcommand, the variable that names its
/// port, its standard port. kStartOrder lists them in start order: the PSP, the services behind
/// the gateway, the gateway last.
struct ServicePort {
    std::string_view command;
    std::string_view port_env;
    int standard_port = 0;
};
inline constexpr std::array<ServicePort, 7> kStartOrder = {{
    {"psp-sandbox", "PSP_PORT", 8006},
    {"orchestrator", "ORCHESTRATOR_PORT", 8001},
    {"risk", "RISK_PORT", 8002},
    {"provider", "PROVIDER_PORT", 8003},
    {"ledger", "LEDGER_PORT", 8004},
    {"notification", "NOTIFICATION_PORT", 8005},
    {"gateway", "GATEWAY_PORT", 8000},
}};

/// One process to run: `sagapay <command>` with `env` set over the parent's environment.
struct Instance {
    std::string command;  ///< e.g. orchestrator
    std::string name;     ///< InstanceName: orchestrator, orchestrator-1, …
    int port = 0;
    /// Its port variable; for a gateway, ORCHESTRATOR_URL.
    std::vector<std::pair<std::string, std::string>> env;
};

/// Every instance of every service, in kStartOrder (the PSP once). `first_port` gives the port
/// of a service's first instance; instance i gets InstancePort(first, i). Gateway i calls
/// orchestrator i mod n (its ORCHESTRATOR_URL), unless `keep_orchestrator_url` (the operator set
/// one, e.g. a load balancer).
[[nodiscard]] std::vector<Instance> PlanInstances(
    const Replicas& replicas,
    const std::function<int(const ServicePort&)>& first_port,
    bool keep_orchestrator_url
);

/// kInvalidArgument when two instances would share a port or a port is out of 1-65535 (e.g.
/// GATEWAY_PORT=8000 and ORCHESTRATOR_PORT=8100 with two gateways).
[[nodiscard]] Result<void> CheckPorts(const std::vector<Instance>& instances);

/// The Prometheus job of a service's instances: the seed's job names (api-gateway, orchestrator,
/// risk, provider-adapter, ledger, notification) and psp-sandbox.
[[nodiscard]] std::string_view ScrapeJob(std::string_view command) noexcept;

/// What Prometheus scrapes for these instances: file_sd JSON, one group per instance with its
/// job (ScrapeJob) and `instance_name` (orchestrator-1, …), at 127.0.0.1:<port>.
[[nodiscard]] std::string ScrapeTargets(const std::vector<Instance>& instances);

/// This process's environment with `overrides` set, as NAME=value strings for execve. Build it
/// before fork: the child of a process with threads must not allocate.
[[nodiscard]] std::vector<std::string> EnvironmentWith(
    const std::vector<std::pair<std::string, std::string>>& overrides
);

}  // namespace sagapay::app
