#pragma once

// The whole HTTP adapter in one include (request and response values, router, server, client),
// so callers need not know which header declares what.
#include "adapters/http/client.hpp"
#include "adapters/http/request.hpp"
#include "adapters/http/response.hpp"
#include "adapters/http/router.hpp"
#include "adapters/http/server.hpp"
