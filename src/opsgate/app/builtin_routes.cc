#include "opsgate/app/builtin_routes.h"

#include "opsgate/app/version.h"
#include "opsgate/core/strings.h"
#include "opsgate/crypto/hash.h"

namespace opsgate::app {
namespace {

constexpr size_t kNoBody = 0;

http::Response Unauthorized(std::string_view message) {
  auto r = http::Response::Error(401, "unauthenticated", message);
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"opsgate-metrics\"");
  return r;
}

}  // namespace

core::Status AddBuiltinRoutes(http::Router& router, store::Store& store,
                              const telemetry::MetricsRegistry& metrics,
                              MetricsTokenSource token, bool with_index) {
  if (with_index) {
    OPSGATE_RETURN_IF_ERROR(router.Add({"GET", "/", "/", kNoBody, [](const http::Request&) {
      return http::Response::Text(
          200, "opsgate " OPSGATE_VERSION
               " is running.\nEndpoints: /healthz /readyz /metrics\n"
               "Connect a chat platform: see docs/slack.md in the opsgate source.\n");
    }}));
  }
  OPSGATE_RETURN_IF_ERROR(router.Add({"GET", "/healthz", "/healthz", kNoBody,
                                      [](const http::Request&) {
    return http::Response::Json(200, R"({"status":"ok"})");
  }}));
  OPSGATE_RETURN_IF_ERROR(router.Add({"GET", "/readyz", "/readyz", kNoBody,
                                      [&store](const http::Request&) {
    if (auto st = store.Ping(); !st) {
      return http::Response::Error(503, "store_unavailable",
                                   "the " + std::string(store.Driver()) +
                                       " store does not answer: " + st.error().message);
    }
    return http::Response::Json(
        200, R"({"status":"ready","store":")" + core::JsonEscape(store.Driver()) + "\"}");
  }}));
  OPSGATE_RETURN_IF_ERROR(router.Add({"GET", "/metrics", "/metrics", kNoBody,
                                      [&metrics, token = std::move(token)](
                                          const http::Request& req) {
    if (const auto expected = token ? token() : nullptr) {
      const auto auth = req.Header("authorization");
      constexpr std::string_view kBearer = "Bearer ";
      if (!auth || auth->substr(0, kBearer.size()) != kBearer) {
        return Unauthorized("/metrics needs \"Authorization: Bearer <token>\" "
                            "(server.metrics_token)");
      }
      if (!crypto::ConstantTimeEquals(auth->substr(kBearer.size()), expected->Reveal())) {
        return Unauthorized("the metrics bearer token is wrong");
      }
    }
    http::Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics.RenderPrometheus();
    return r;
  }}));
  return core::Ok();
}

}  // namespace opsgate::app
