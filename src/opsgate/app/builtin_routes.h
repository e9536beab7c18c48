// File: opsgate/app/builtin_routes.h
//
// The endpoints every opsgate serves, whatever connectors are enabled:
//   GET /         a short text telling what this is and where to go next
//   GET /healthz  200 while the process serves requests (liveness)
//   GET /readyz   200 when the store answers, else 503 store_unavailable (readiness)
//   GET /metrics  Prometheus text format; requires "Authorization: Bearer <token>"
//                 when a metrics token is set (401 otherwise)
#pragma once

#include <functional>
#include <memory>

#include "opsgate/core/result.h"
#include "opsgate/core/secret.h"
#include "opsgate/http/router.h"
#include "opsgate/store/store.h"
#include "opsgate/telemetry/metrics.h"

namespace opsgate::app {

// Returns the current metrics token, or null when /metrics is open. Called per
// request, so a reload can change the token.
using MetricsTokenSource = std::function<std::shared_ptr<const core::Secret>()>;

// Registers the routes above. `store`, `metrics` and whatever `token` captures must
// outlive the router.
// `with_index`: also GET / (a text page), when the web chat does not own /.
[[nodiscard]] core::Status AddBuiltinRoutes(http::Router& router, store::Store& store,
                                            const telemetry::MetricsRegistry& metrics,
                                            MetricsTokenSource token, bool with_index = true);

}  // namespace opsgate::app
