#include "app/replicas.hpp"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>
#include <unistd.h>

namespace sagapay::app {

namespace {

std::string_view Trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

std::string Known() {
    std::string known;
    for (const std::string_view service : kReplicableServices) {
        known += known.empty() ? "" : ", ";
        known += service;
    }
    return known;
}

}  // namespace

Result<Replicas> ParseReplicas(std::string_view text) {
    Replicas replicas;
    if (Trim(text).empty()) {
        return replicas;
    }
    std::size_t pos = 0;
    while (pos <= text.size()) {
        const std::size_t comma = std::min(text.find(',', pos), text.size());
        const std::string_view pair = Trim(text.substr(pos, comma - pos));
        pos = comma + 1;
        const std::size_t eq = pair.find('=');
        if (eq == std::string_view::npos) {
            return Fail(
                ErrorCode::kInvalidArgument,
                "expected service=count, got '" + std::string(pair) +
                    "' (e.g. --replicas orchestrator=2,provider=3)"
            );
        }
        const std::string_view service = Trim(pair.substr(0, eq));
        const std::string_view count_text = Trim(pair.substr(eq + 1));
        if (std::find(kReplicableServices.begin(), kReplicableServices.end(), service) ==
            kReplicableServices.end()) {
            return Fail(
                ErrorCode::kInvalidArgument,
                "unknown service '" + std::string(service) + "' (one of " + Known() +
                    (service == "psp-sandbox" || service == "psp"
                         ? "; the sandbox PSP keeps its books in memory and runs once)"
                         : ")")
            );
        }
        if (replicas.contains(service)) {
            return Fail(
                ErrorCode::kInvalidArgument, "'" + std::string(service) + "' is named twice"
            );
        }
        int count = 0;
        const auto [end, error] =
            std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
        if (error != std::errc() || end != count_text.data() + count_text.size() || count < 1 ||
            count > kMaxReplicas) {
            return Fail(
                ErrorCode::kInvalidArgument,
                std::string(service) + "=" + std::string(count_text) + ": the count must be 1 to " +
                    std::to_string(kMaxReplicas)
            );
        }
        replicas.emplace(std::string(service), count);
    }
    return replicas;
}

int InstancesOf(const Replicas& replicas, std::string_view service) noexcept {
    const auto found = replicas.find(service);
    return found == replicas.end() ? 1 : found->second;
}

std::string InstanceName(std::string_view service, int instance) {
    std::string name(service);
    if (instance > 0) {
        name += "-" + std::to_string(instance);
    }
    return name;
}

std::vector<Instance> PlanInstances(
    const Replicas& replicas,
    const std::function<int(const ServicePort&)>& first_port,
    bool keep_orchestrator_url
) {
    int orchestrator_port = 0;
    for (const ServicePort& service : kStartOrder) {
        if (service.command == "orchestrator") {
            orchestrator_port = first_port(service);
        }
    }
    const int orchestrators = InstancesOf(replicas, "orchestrator");
    std::vector<Instance> instances;
    for (const ServicePort& service : kStartOrder) {
        const int first = first_port(service);
        const int count =
            service.command == "psp-sandbox" ? 1 : InstancesOf(replicas, service.command);
        for (int i = 0; i < count; ++i) {
            Instance instance;
            instance.command = std::string(service.command);
            instance.name = InstanceName(service.command, i);
            instance.port = InstancePort(first, i);
            instance.env.emplace_back(std::string(service.port_env), std::to_string(instance.port));
            if (service.command == "gateway" && !keep_orchestrator_url) {
                instance.env.emplace_back(
                    "ORCHESTRATOR_URL",
                    "http://127.0.0.1:" +
                        std::to_string(InstancePort(orchestrator_port, i % orchestrators))
                );
            }
            instances.push_back(std::move(instance));
        }
    }
    return instances;
}

Result<void> CheckPorts(const std::vector<Instance>& instances) {
    std::map<int, std::string> taken;
    for (const Instance& instance : instances) {
        if (instance.port < 1 || instance.port > 65535) {
            return Fail(
                ErrorCode::kInvalidArgument,
                instance.name + " would listen on port " + std::to_string(instance.port) +
                    ", outside 1-65535"
            );
        }
        const auto [it, inserted] = taken.emplace(instance.port, instance.name);
        if (!inserted) {
            return Fail(
                ErrorCode::kInvalidArgument,
                instance.name + " and " + it->second + " would both listen on port " +
                    std::to_string(instance.port) + " (instance i of a service listens on its " +
                    "port + " + std::to_string(kReplicaPortStep) + " * i; choose other *_PORT)"
            );
        }
    }
    return {};
}

std::string_view ScrapeJob(std::string_view command) noexcept {
    if (command == "gateway") {
        return "api-gateway";
    }
    if (command == "provider") {
        return "provider-adapter";
    }
    return command;
}

std::string ScrapeTargets(const std::vector<Instance>& instances) {
    nlohmann::json groups = nlohmann::json::array();
    for (const Instance& instance : instances) {
        groups.push_back({
            {"targets", {"127.0.0.1:" + std::to_string(instance.port)}},
            {"labels",
             {{"job", std::string(ScrapeJob(instance.command))}, {"instance_name", instance.name}}},
        });
    }
    return groups.dump(2) + "\n";
}

std::vector<std::string> EnvironmentWith(
    const std::vector<std::pair<std::string, std::string>>& overrides
) {
    std::map<std::string, std::string> vars;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string entry(*e);
        const auto eq = entry.find('=');
        if (eq != std::string::npos) {
            vars[entry.substr(0, eq)] = entry.substr(eq + 1);
        }
    }
    for (const auto& [key, value] : overrides) {
        vars[key] = value;
    }
    std::vector<std::string> storage;
    storage.reserve(vars.size());
    for (const auto& [key, value] : vars) {
        std::string entry = key;
        entry.append("=").append(value);
        storage.push_back(std::move(entry));
    }
    return storage;
}

}  // namespace sagapay::app
