// File: opsgate/http/router.h
//
// The plain data the HTTP server hands to handlers, and the route table that
// connectors and built-in endpoints plug into by explicit registration in app/wiring.
// No Beast/Asio types appear here, so connectors compile without those headers.
//
// Handlers run on an I/O thread and must not block: acknowledge and hand slow work
// (outbound HTTP, AWS calls) to a worker.
//
// Thread-safety: a Router is filled before the server starts and read-only after;
// Find() may then be called from any thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsgate/core/result.h"

namespace opsgate::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as received: path and query
  std::string path;    // target up to '?'
  std::string query;   // after '?', without it; empty if none
  // Header names lower-cased; values as received. Repeated headers appear repeatedly.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_address;  // peer IP, no port
  std::string correlation_id;  // set by the server for every request

  // The first value of header `name` (case-insensitive), if present.
  std::optional<std::string_view> Header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  // Extra headers (Retry-After, WWW-Authenticate, ...). Server sets Date, Server,
  // Content-Length, Connection and X-Correlation-Id itself.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static Response Text(int status, std::string body);
  static Response Json(int status, std::string body);
  // {"error":"<code>","message":"<message>"}: `code` is a stable machine-readable
  // word ("body_too_large"), `message` says what was wrong and what to do.
  static Response Error(int status, std::string_view code, std::string_view message);
};

using Handler = std::function<Response(const Request&)>;

// Completes an asynchronous request. Call it exactly once, from any thread; the
// response is written on the connection's own strand. If it is destroyed without
// being called, the client gets a 500 (so a lost callback cannot hang a connection).
using Responder = std::function<void(Response)>;

// A handler that answers later: it must return quickly (it runs on an I/O thread) and
// hand `respond` to whatever finishes the work (a durable audit append, a worker).
using AsyncHandler = std::function<void(const Request&, Responder respond)>;

struct Route {
  std::string method;  // exact, upper case
  std::string path;    // exact match on Request::path
  // Label in metrics and logs; defaults to `path`.
  std::string name;
  // Largest accepted body; unset means the server's limits.body_bytes.
  std::optional<size_t> body_limit;
  // Exactly one of the two is set.
  Handler handler = nullptr;
  AsyncHandler async_handler = nullptr;
};

class Router {
 public:
  // Adds a route. Errors: kAlreadyExists for a second (method, path);
  // kInvalidArgument for a path not starting with '/', an empty method, or not exactly
  // one of handler / async_handler.
  [[nodiscard]] core::Status Add(Route route);

  // The route for (method, path), or nullptr.
  const Route* Find(std::string_view method, std::string_view path) const;

  // The methods registered for `path` (for 405 + Allow), empty if the path is unknown.
  std::vector<std::string> MethodsFor(std::string_view path) const;

  // The largest body any route for `path` accepts (falls back to `default_limit`).
  size_t BodyLimitFor(std::string_view method, std::string_view path, size_t default_limit) const;

  size_t size() const { return routes_.size(); }

 private:
  std::map<std::pair<std::string, std::string>, Route, std::less<>> routes_;
};

}  // namespace opsgate::http
