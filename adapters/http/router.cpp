#include "adapters/http/router.hpp"

#include <cstddef>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "adapters/http/request.hpp"
#include "adapters/http/response.hpp"
#include "core/percent_decode.hpp"

namespace sagapay::http {
namespace {

/// "/a/b/" → {"a", "b", ""}; "/" and "" → {}. Empty segments are kept so they never match.
std::vector<std::string_view> SplitPath(std::string_view path) {
    std::vector<std::string_view> segments;
    if (!path.empty() && path.front() == '/') {
        path.remove_prefix(1);
    }
    if (path.empty()) {
        return segments;
    }
    while (true) {
        const std::size_t slash = path.find('/');
        segments.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) {
            break;
        }
        path.remove_prefix(slash + 1);
    }
    return segments;
}

bool NoControlCharacters(std::string_view text) noexcept {
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            return false;
        }
    }
    return true;
}

bool IsParam(std::string_view segment) noexcept {
    return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

bool Matches(const std::vector<std::string>& pattern, const std::vector<std::string_view>& path) {
    if (pattern.size() != path.size()) {
        return false;
    }
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (IsParam(pattern[i])) {
            if (path[i].empty()) {
                return false;
            }
        } else if (pattern[i] != path[i]) {
            return false;
        }
    }
    return true;
}

/// True when `a` is more specific than `b`: at the first segment where they differ in kind, `a`
/// has a literal and `b` a parameter ("/payments/search" beats "/payments/{id}").
bool MoreSpecific(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
        const bool a_param = IsParam(a[i]);
        const bool b_param = IsParam(b[i]);
        if (a_param != b_param) {
            return !a_param;
        }
    }
    return false;
}

std::string JoinPattern(const std::vector<std::string>& segments) {
    if (segments.empty()) {
        return "/";
    }
    std::string pattern;
    for (const auto& segment : segments) {
        pattern += '/';
        pattern += segment;
    }
    return pattern;
}

/// One line on stderr, written with a single call so lines from threads do not interleave.
void LogHandlerFailure(const Request& request, const std::string& pattern, std::string_view what) {
    std::string line = "http: handler for " + request.method + " " + pattern + " threw: ";
    for (const char c : what) {
        line.push_back((c == '\n' || c == '\r') ? ' ' : c);
    }
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

}  // namespace

void Router::Add(std::string method, const std::string& pattern, Handler handler) {
    std::vector<std::string> segments;
    for (const std::string_view segment : SplitPath(pattern)) {
        segments.emplace_back(segment);
    }
    routes_.push_back(Route{std::move(method), std::move(segments), std::move(handler)});
}

std::vector<std::pair<std::string, std::string>> Router::Routes() const {
    std::vector<std::pair<std::string, std::string>> routes;
    routes.reserve(routes_.size());
    for (const Route& route : routes_) {
        routes.emplace_back(route.method, JoinPattern(route.segments));
    }
    return routes;
}

Response Router::Dispatch(Request& request) const {
    std::string route;
    return DispatchRoute(request, route);
}

Response Router::DispatchRoute(Request& request, std::string& route) const {
    route.clear();
    const std::vector<std::string_view> path = SplitPath(request.path);

    const Route* best = nullptr;
    std::vector<std::string> allowed;
    for (const Route& candidate : routes_) {
        if (!Matches(candidate.segments, path)) {
            continue;
        }
        if (candidate.method != request.method) {
            bool seen = false;
            for (const auto& method : allowed) {
                seen = seen || method == candidate.method;
            }
            if (!seen) {
                allowed.push_back(candidate.method);
            }
            continue;
        }
        if (best == nullptr || MoreSpecific(candidate.segments, best->segments)) {
            best = &candidate;
        }
    }

    if (best == nullptr) {
        if (allowed.empty()) {
            return ErrorResponse(404, "not_found", "no route for " + request.path);
        }
        std::string allow;
        for (const auto& method : allowed) {
            allow += allow.empty() ? "" : ", ";
            allow += method;
        }
        Response response = ErrorResponse(
            405, "method_not_allowed", request.method + " is not allowed on " + request.path
        );
        response.headers.emplace_back("Allow", std::move(allow));
        return response;
    }

    route = JoinPattern(best->segments);
    request.path_params.clear();
    for (std::size_t i = 0; i < best->segments.size(); ++i) {
        if (!IsParam(best->segments[i])) {
            continue;
        }
        // A parameter is the percent-decoded segment (`settlement%3A<id>` is `settlement:<id>`).
        // A broken escape, or one that decodes to a control character (a NUL would cut the
        // value short on its way into PostgreSQL), is the client's mistake: 400.
        auto decoded = PercentDecode(path[i]);
        if (!decoded || !NoControlCharacters(*decoded)) {
            return ErrorResponse(
                400,
                "malformed_path",
                "a path segment has a broken percent escape or a control character",
                std::string(best->segments[i].substr(1, best->segments[i].size() - 2))
            );
        }
        request.path_params.push_back(std::move(*decoded));
    }

    const auto run = [&](Request& req) -> Response {
        try {
            if (guard_) {
                if (auto refused = guard_(req, route)) {
                    return std::move(*refused);
                }
            }
            return best->handler(req);
        } catch (const std::exception& e) {
            LogHandlerFailure(req, route, e.what());
        } catch (...) {
            LogHandlerFailure(req, route, "unknown exception");
        }
        return ErrorResponse(500, "internal", "internal server error");
    };
    if (!interceptor_) {
        return run(request);
    }
    return interceptor_(request, route, run);
}

}  // namespace sagapay::http
