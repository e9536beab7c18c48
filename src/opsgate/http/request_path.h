// File: opsgate/http/request_path.h
//
// What happens to one HTTP request between its bytes and its response, without sockets:
// header and body limits, routing (404/405), correlation ids, the handler call (a
// throwing handler becomes 500) and the headers the server always sets. The server
// (server.cc) runs exactly these steps on the bytes it reads from a connection;
// ProcessRequestBytes() runs them on a buffer, for unit tests and the fuzzer.
//
//   ProcessResult r = ProcessRequestBytes("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
//                                         router, limits, {});
//   r.responses[0].response.status  // 200
//
// No Beast or Asio types appear here.
//
// Thread-safety: free functions without shared state; safe from any thread as long as
// the Router is not modified meanwhile.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/config/config.h"
#include "opsgate/core/clock.h"
#include "opsgate/http/router.h"

namespace opsgate::http {

// Why the server refused a request or connection. The reason strings label
// opsgate_http_rejections_total{reason} and the "http.rejected" log line.
enum class Rejection {
  kHeaderTooLarge,    // 431 header_too_large: request line + headers over limits.header_bytes
  kBodyTooLarge,      // 413 body_too_large: declared or received body over the route's limit
  kReadTimeout,       // 408 read_timeout: the request did not arrive within read_timeout
  kConnectionLimit,   // 503 connection_limit: over limits.max_connections
  kTlsHandshake,      // no response: the TLS handshake failed or timed out
  kBadRequest,        // 400 bad_request: malformed HTTP
  kMethodNotAllowed,  // 405 method_not_allowed: known path, other method (with Allow)
  kNotFound,          // 404 not_found: no route for the path
};

inline constexpr std::array<Rejection, 8> kAllRejections = {
    Rejection::kHeaderTooLarge,   Rejection::kBodyTooLarge, Rejection::kReadTimeout,
    Rejection::kConnectionLimit,  Rejection::kTlsHandshake, Rejection::kBadRequest,
    Rejection::kMethodNotAllowed, Rejection::kNotFound,
};

// "header_too_large", "body_too_large", ...
std::string_view RejectionReason(Rejection rejection);

// The HTTP status answered for `rejection` (0 for kTlsHandshake: nothing is answered).
int RejectionStatus(Rejection rejection);

// True when the connection must close after answering: the request was not read to its
// end, so the position of the next request in the stream is unknown. 404 and 405 keep
// the connection (their body was read).
bool RejectionClosesConnection(Rejection rejection);

// The metrics label of requests that matched no route (404, 405, refused before routing).
inline constexpr std::string_view kUnmatchedRoute = "unmatched";

// True for ids of 1..64 characters from [A-Za-z0-9._-], which are safe to echo and log.
bool IsValidCorrelationId(std::string_view id);

// 16 random bytes (OpenSSL RAND_bytes) as 32 lower-case hex characters.
std::string NewCorrelationId();

// IMF-fixdate for the Date header: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string FormatHttpDate(core::Clock::WallTime t);

// Options of ProcessRequestBytes(); they stand in for the connection.
struct ProcessOptions {
  std::string remote_address = "192.0.2.1";  // TEST-NET-1
  bool tls = true;                           // adds Strict-Transport-Security
  bool draining = false;                     // answers with Connection: close
  core::Clock::WallTime now{};               // for the Date header
};

// One answered request.
struct ProcessedRequest {
  // The response as sent: status, content type, body, and every header the server adds
  // (X-Correlation-Id, Cache-Control, ...), except Content-Length and Connection.
  Response response;
  std::string route;                   // metrics label: Route::name or "unmatched"
  std::optional<Rejection> rejection;  // set when the server answered for the handler
  bool handler_ran = false;
  bool keep_alive = false;  // false: "Connection: close" and the connection ends
  std::string wire;         // the serialised HTTP/1.x response
};

struct ProcessResult {
  std::vector<ProcessedRequest> responses;  // in request order (pipelining)
  size_t consumed = 0;                      // bytes of the input that were used
  // The input ended inside a request: a server would wait for the rest (then 408).
  bool incomplete = false;
};

// Parses `bytes` as a sequence of pipelined requests with the same parser settings,
// limits, routing and response logic as the server, and answers each until the input
// ends or a response closes the connection. `limits.max_requests_per_connection`
// applies. Never throws, whatever the bytes.
ProcessResult ProcessRequestBytes(std::string_view bytes, const Router& router,
                                  const config::LimitsConfig& limits,
                                  const ProcessOptions& options);

}  // namespace opsgate::http
