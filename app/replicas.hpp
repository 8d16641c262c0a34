#pragma once

#include <array>
#include <map>
#include <string>
#include <string_view>
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

/// One instance's port, for CheckPorts.
struct PlannedPort {
    std::string name;  ///< InstanceName
    int port = 0;
};

/// kInvalidArgument when two instances would share a port or a port is out of 1-65535 (e.g.
/// GATEWAY_PORT=8000 and ORCHESTRATOR_PORT=8100 with two gateways).
[[nodiscard]] Result<void> CheckPorts(const std::vector<PlannedPort>& ports);

}  // namespace sagapay::app
