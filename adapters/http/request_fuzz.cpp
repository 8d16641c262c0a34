// libFuzzer target: raw bytes from a client through what the server does with them: Beast's
// request parser with the server's limits (keep-alive: several requests in one buffer), the
// server's conversion to http::Request, and a Router holding the real route patterns of every
// service. Properties: every routed request gets 200 from its handler with one non-empty,
// percent-decoded path parameter per `{name}` segment without a control character, or 400 when a
// segment's escape is broken or decodes to one; an unrouted one gets 404, or 405 with an Allow
// header; every error body is JSON; decoding a query parameter never grows it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "adapters/http/beast_request.hpp"
#include "adapters/http/request.hpp"
#include "adapters/http/response.hpp"
#include "adapters/http/router.hpp"
#include "adapters/http/server.hpp"
#include "core/payments/payment_request.hpp"
#include "testing/fuzz_check.hpp"

namespace sagapay::http {
namespace {

namespace bhttp = boost::beast::http;
using fuzz::Check;

/// Every route the services register (gateway, orchestrator, risk, ledger, PSP sandbox, host).
constexpr std::pair<std::string_view, std::string_view> kRoutes[] = {
    {"POST", "/payments"},
    {"POST", "/internal/payments"},
    {"GET", "/payments/{payment_id}"},
    {"GET", "/ops/reviews"},
    {"POST", "/ops/reviews/{payment_id}/approve"},
    {"POST", "/ops/reviews/{payment_id}/deny"},
    {"GET", "/reconciliation"},
    {"GET", "/reconciliation/{transaction_id}"},
    {"POST", "/v1/authorizations"},
    {"GET", "/v1/authorizations/{key}"},
    {"POST", "/v1/authorizations/{key}/capture"},
    {"POST", "/v1/authorizations/{key}/void"},
    {"POST", "/v1/authorizations/{key}/refund"},
    {"GET", "/v1/records"},
    {"GET", "/health"},
    {"GET", "/metrics"},
};

std::size_t ParamCount(std::string_view pattern) {
    std::size_t count = 0;
    for (const char c : pattern) {
        count += c == '{' ? 1 : 0;
    }
    return count;
}

const Router& TheRouter() {
    static const Router router = [] {
        Router r;
        for (const auto& [method, pattern] : kRoutes) {
            r.Add(std::string(method), std::string(pattern), [pattern = pattern](Request& request) {
                Check(request.path_params.size() == ParamCount(pattern), "one value per {name}");
                for (const std::string& value : request.path_params) {
                    Check(!value.empty(), "path parameters are not empty", request.path);
                    Check(
                        std::none_of(
                            value.begin(),
                            value.end(),
                            [](char c) {
                                const auto byte = static_cast<unsigned char>(c);
                                return byte < 0x20 || byte == 0x7f;
                            }
                        ),
                        "no control character in a decoded parameter",
                        value
                    );
                    Check(value.size() <= request.path.size(), "decoding never grows", value);
                }
                for (const char* name : {"status", "limit", "after"}) {
                    if (const auto value = request.QueryParam(name)) {
                        Check(value->size() <= request.query.size(), "decoding never grows");
                    }
                }
                if (pattern == "/payments") {
                    (void)ParsePaymentRequest(request.body);
                }
                return JsonResponse(200, "{}");
            });
        }
        return r;
    }();
    return router;
}

/// What Server::Impl::Session::Handle does with a parsed message.
void Handle(bhttp::request<bhttp::string_body>& message) {
    Request request = detail::ToRequest(message);
    (void)request.Header("content-type");

    Response response = TheRouter().Dispatch(request);
    Check(
        response.status == 200 || response.status == 400 || response.status == 404 ||
            response.status == 405,
        "200, 400, 404 or 405",
        request.path
    );
    if (response.status != 200) {
        Check(nlohmann::json::accept(response.body), "an error body is JSON", response.body);
    }
    if (response.status == 405) {
        Check(!response.Header("allow").empty(), "405 says what is allowed", request.path);
    }
    Check(UrlDecode(request.query).size() <= request.query.size(), "UrlDecode never grows");
}

}  // namespace
}  // namespace sagapay::http

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sagapay::http;
    namespace bhttp = boost::beast::http;
    const ServerOptions options;
    std::string_view rest = sagapay::fuzz::AsText(data, size);
    // Keep-alive: requests one after another on one connection until one fails or bytes run out.
    for (int requests = 0; requests < 16 && !rest.empty(); ++requests) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.body_limit(options.body_limit);
        parser.eager(true);
        boost::beast::error_code ec;
        while (!rest.empty() && !parser.is_done()) {
            const std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
            rest.remove_prefix(used);
            if (ec || used == 0) {
                break;
            }
        }
        if (ec == bhttp::error::need_more || (!ec && !parser.is_done())) {
            ec = {};
            parser.put_eof(ec);
        }
        if (ec || !parser.is_done()) {
            return 0;  // The server answers 400, 413 or 431, or closes: nothing is routed.
        }
        auto message = parser.release();
        Handle(message);
    }
    return 0;
}
