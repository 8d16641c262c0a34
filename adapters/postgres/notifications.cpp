// Connection::Listen and Connection::WaitForNotification: LISTEN/NOTIFY wake-ups.
#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <system_error>

#include <poll.h>
#include <unistd.h>

#include "adapters/postgres/connection.hpp"
#include "adapters/postgres/libpq_util.hpp"

namespace sagapay::postgres {

using detail::QuoteIdentifier;
using detail::Trim;

void Connection::Listen(std::string_view channel) {
    if (!conn_) {
        throw SqlError(ErrorCode::kUnavailable, "", "LISTEN: connection is closed");
    }
    ExecScript("LISTEN " + QuoteIdentifier(conn_.get(), channel));
}

bool Connection::WaitForNotification(std::chrono::milliseconds timeout, int wake_fd) {
    if (!conn_) {
        throw SqlError(
            ErrorCode::kUnavailable, "", "waiting for a notification: connection is closed"
        );
    }
    PGconn* conn = conn_.get();
    const auto consume = [conn] {
        if (PQconsumeInput(conn) == 0) {
            throw SqlError(
                ErrorCode::kUnavailable,
                "",
                "waiting for a notification: " + Trim(PQerrorMessage(conn))
            );
        }
    };
    const auto drain = [conn] {
        bool any = false;
        while (PGnotify* notify = PQnotifies(conn)) {
            any = true;
            PQfreemem(notify);
        }
        return any;
    };

    consume();
    if (drain()) {
        return true;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const int socket = PQsocket(conn);
        if (socket < 0) {
            throw SqlError(
                ErrorCode::kUnavailable,
                "",
                "waiting for a notification: the connection has no socket"
            );
        }
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now()
        );
        const auto wait_ms = std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, INT_MAX);
        std::array<pollfd, 2> descriptors{{{socket, POLLIN, 0}, {wake_fd, POLLIN, 0}}};
        const nfds_t count = wake_fd >= 0 ? 2 : 1;
        const int ready = ::poll(descriptors.data(), count, static_cast<int>(wait_ms));
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw SqlError(
                ErrorCode::kUnavailable,
                "",
                "waiting for a notification: poll: " + std::generic_category().message(errno)
            );
        }
        if (ready == 0) {
            return false;
        }
        if (count == 2 && (descriptors[1].revents & POLLIN) != 0) {
            std::uint64_t value = 0;
            [[maybe_unused]] const auto got = ::read(wake_fd, &value, sizeof(value));
            return true;
        }
        consume();
        if (drain()) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
    }
}

}  // namespace sagapay::postgres
