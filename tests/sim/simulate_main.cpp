// `simulate`: runs the deterministic simulation over many seeds, or one seed with every step.
//
//   simulate --seeds 100000 [--first 1]     exit 1 if any seed breaks a promise
//   simulate --seed 1234                    one seed, its trace and its report
#include <chrono>
#include <cstdint>
#include <exception>
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "runtime/log.hpp"
#include "tests/sim/simulation.hpp"

namespace {

int Main(int argc, char** argv) {
    CLI::App app("SagaPay's deterministic saga simulation (tests/sim/README.md)");
    std::int64_t seeds = 10'000;
    std::uint64_t first = 1;
    std::uint64_t one = 0;
    bool no_faults = false;
    app.add_option("--seeds", seeds, "How many seeds to run")->check(CLI::PositiveNumber);
    app.add_option("--first", first, "The first seed")->check(CLI::PositiveNumber);
    app.add_option("--seed", one, "Run this seed alone and print every step");
    app.add_flag("--no-faults", no_faults, "Inject no fault");
    CLI11_PARSE(app, argc, argv);
    sagapay::log::Init("simulate", "ERROR");

    using sagapay::sim::Simulate;
    if (one != 0) {
        const auto r =
            Simulate({.seed = one, .faults = !no_faults, .trace = true, .max_payments = 12});
        for (const auto& line : r.trace) {
            std::cout << line << '\n';
        }
        for (const auto& [kind, count] : r.faults) {
            std::cout << fmt::format("fault {:<28} {}\n", kind, count);
        }
        std::cout << r.Summary() << '\n';
        return r.Ok() ? 0 : 1;
    }
    const auto started = std::chrono::steady_clock::now();
    std::map<std::string, std::int64_t> faults;
    std::int64_t payments = 0;
    std::int64_t steps = 0;
    std::int64_t failed = 0;
    for (std::uint64_t seed = first; seed < first + static_cast<std::uint64_t>(seeds); ++seed) {
        const auto r =
            Simulate({.seed = seed, .faults = !no_faults, .trace = false, .max_payments = 12});
        payments += r.payments;
        steps += r.steps;
        for (const auto& [kind, count] : r.faults) {
            faults[kind] += count;
        }
        if (!r.Ok()) {
            ++failed;
            std::cout << r.Summary() << '\n';
        }
    }
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << fmt::format(
        "seeds {} from {}: {} failed; {} payments, {} steps, {:.1f} s\n",
        seeds,
        first,
        failed,
        payments,
        steps,
        elapsed
    );
    for (const auto& [kind, count] : faults) {
        std::cout << fmt::format("  fault {:<28} {}\n", kind, count);
    }
    return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    // What the simulation did not expect to throw: a message and exit 2, not std::terminate.
    try {
        return Main(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "simulate: " << e.what() << '\n';
    } catch (...) {
        std::cerr << "simulate: unknown exception\n";
    }
    return 2;
}
