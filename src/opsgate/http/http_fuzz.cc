// Fuzz target: arbitrary bytes through the same parser, limits, routing and response
// logic as the server (request_path.h). Properties checked beyond "does not crash":
// every answer is a complete HTTP response with the headers the server always sets, and
// refused bodies never reach a handler.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "opsgate/http/request_path.h"
#include "opsgate/http/router.h"

namespace {

using opsgate::http::Request;
using opsgate::http::Response;

opsgate::http::Router MakeRouter() {
  opsgate::http::Router r;
  (void)r.Add({"GET", "/healthz", "healthz", std::nullopt,
               [](const Request&) { return Response::Text(200, "ok"); }});
  (void)r.Add({"POST", "/hooks/slack", "slack", 256, [](const Request& req) {
                 if (req.body.size() > 256) {
                   std::abort();  // a body over the route's limit reached the handler
                 }
                 return Response::Json(200, "{\"ok\":true}");
               }});
  (void)r.Add({"PUT", "/throw", "throw", std::nullopt,
               [](const Request&) -> Response { throw std::runtime_error("boom"); }});
  return r;
}

const opsgate::http::Router& FuzzRouter() {
  static const opsgate::http::Router router = MakeRouter();
  return router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  opsgate::config::LimitsConfig limits;
  limits.header_bytes = 1024;
  limits.body_bytes = 128;
  limits.max_requests_per_connection = 8;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  opsgate::http::ProcessResult result =
      opsgate::http::ProcessRequestBytes(bytes, FuzzRouter(), limits, {});
  if (result.consumed > size || result.responses.size() > limits.max_requests_per_connection) {
    std::abort();
  }
  for (const auto& r : result.responses) {
    std::string_view wire = r.wire;
    if (wire.substr(0, 7) != "HTTP/1." || wire.find("\r\n\r\n") == std::string_view::npos ||
        wire.find("\r\nX-Correlation-Id: ") == std::string_view::npos ||
        wire.find("\r\nX-Content-Type-Options: nosniff\r\n") == std::string_view::npos ||
        r.response.status < 200 || r.response.status > 599) {
      std::abort();
    }
  }
  return 0;
}
