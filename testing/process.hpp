#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace sagapay::testing {

/// Runs `argv` (argv[0] looked up in PATH) to completion with its stdout and stderr written to
/// `out`; its exit status, -1 when it did not exit normally, 127 when it could not be started.
int RunProgram(std::vector<std::string> argv, const std::filesystem::path& out);

/// The whole content of a file; empty when it cannot be read.
[[nodiscard]] std::string ReadFile(const std::filesystem::path& path);

}  // namespace sagapay::testing
