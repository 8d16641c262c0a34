#include "testing/process.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

namespace sagapay::testing {

int RunProgram(std::vector<std::string> argv, const std::filesystem::path& out) {
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        const FILE* redirected = std::freopen(out.c_str(), "w", stdout);
        (void)redirected;
        dup2(fileno(stdout), STDERR_FILENO);
        std::vector<char*> args;
        args.reserve(argv.size() + 1);
        for (auto& word : argv) {
            args.push_back(word.data());
        }
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ReadFile(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace sagapay::testing
