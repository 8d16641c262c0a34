#pragma once

#include "core/clock.hpp"
#include "runtime/config.hpp"

namespace sagapay::console {

/// Runs `sagapay console` until SIGINT/SIGTERM: the ops console on CONSOLE_PORT (8007).
int RunConsole(const Config& config, const Clock& clock);

}  // namespace sagapay::console
