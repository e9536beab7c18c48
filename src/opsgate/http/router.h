// File: opsgate/http/router.h
//
// The plain data the HTTP server hands to handlers, and the route table that
// connectors and built-in endpoints plug into by explicit registration in app/wiring.
// No Beast/Asio types appear here, so connectors compile without those headers.
//
// Handlers run on an I/O thread and must not block: acknowledge and hand slow work
// (outbound HTTP, AWS calls) to a worker.
//
// WebSocket routes (AddWebSocket) serve the built-in web chat: an `accept` callback
// decides on the upgrade request, and a WebSocketSession then receives text messages
// and sends through a WebSocketPeer. See "WebSocket routes" below for the threading
// contract.
//
// Thread-safety: a Router is filled before the server starts and read-only after;
// Find() may then be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
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
  // Set by Deferred(): the response is what this returns, worked out on the
  // connection's own I/O thread just before it is written (status and body above are
  // then ignored). For an async handler whose completion arrives on a writer thread
  // (the audit log's, the store's): that thread only records, and the handler's own
  // work runs on the I/O threads, in parallel, with no extra thread hop.
  std::function<Response()> deferred;

  static Response Deferred(std::function<Response()> produce);
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

// --- WebSocket routes -----------------------------------------------------------------
//
// Lifecycle of one connection:
//   1. The client sends "GET <path>" with "Upgrade: websocket". The server reads it under
//      the usual limits (limits.header_bytes -> 431, read_timeout -> 408) and counts the
//      connection toward limits.max_connections (over the cap -> 503, never upgraded).
//   2. WebSocketOptions::allowed_origins, when non-empty, is checked: a missing Origin or
//      one not in the list gets 403 {"error":"origin_not_allowed"} and no upgrade.
//   3. WebSocketRoute::accept runs with the upgrade Request (headers including Cookie
//      and Origin, remote_address, correlation_id; empty body). Returning a Response
//      refuses: it is sent as an ordinary HTTP response (status 400..599, otherwise the
//      client gets 500) and the connection closes. Returning a session accepts: the
//      server answers 101 Switching Protocols.
//   4. OnOpen(peer), then OnMessage(text) for each complete text message in order, then
//      OnClose() exactly once when the connection has ended for whatever reason.
//
// A GET to the path without "Upgrade: websocket" gets 426 upgrade_required (JSON error,
// "Upgrade: websocket" header); other methods get 405. The server closes the
// connection itself with: 1003 for a binary message, 1007 for a text message that is
// not valid UTF-8, 1009 for a message over max_message_bytes, 1013 when the outgoing
// queue overflows, 1001 on Server::Drain() (and SIGTERM), 1011 when a session callback
// throws. A client that sends nothing (not even a pong to the server's keepalive ping)
// for idle_timeout is disconnected.
//
// Threading contract:
//   - `accept` and all WebSocketSession callbacks run on an I/O thread, on the
//     connection's strand: the callbacks of one session never run concurrently with each
//     other, and happen in the order OnOpen, OnMessage..., OnClose. Callbacks of
//     different sessions may run concurrently on different I/O threads.
//   - They must return quickly (microseconds, no blocking I/O, no waiting on locks held
//     for long): the I/O thread serves other connections meanwhile, and the next message
//     of this connection is not read until OnMessage returns (that is the backpressure
//     toward the client). Hand real work to a worker and reply with peer->Send() later.
//   - WebSocketPeer methods are thread-safe and non-blocking; call them from any thread,
//     including from inside the callbacks, also after the connection has closed (they
//     then do nothing) and after the Server is gone.
//   - If the Server is destroyed while connections are still open (Run() returned after
//     drain_timeout), OnClose() runs on the thread destroying the Server.

// Close codes (RFC 6455 section 7.4.1) for WebSocketPeer::Close(). Application codes
// 4000..4999 may be passed as static_cast<WebSocketCloseCode>(4000 + n).
enum class WebSocketCloseCode : uint16_t {
  kNormal = 1000,            // done; the purpose of the connection was fulfilled
  kGoingAway = 1001,         // the server is shutting down (Drain) or the page left
  kUnsupportedData = 1003,   // a binary message arrived; only text is accepted
  kInvalidPayload = 1007,    // a text message was not valid UTF-8
  kPolicyViolation = 1008,   // the client broke a rule of the application
  kMessageTooBig = 1009,     // a message exceeded WebSocketOptions::max_message_bytes
  kInternalError = 1011,     // a session callback failed
  kTryAgainLater = 1013,     // the outgoing queue overflowed (the client reads too slowly)
};

// The sending side of one open WebSocket connection, handed to WebSocketSession::OnOpen.
// Holding it does not keep the connection (or the server) alive.
//
// Thread-safety: every method may be called from any thread at any time (see the
// threading contract above); none blocks.
class WebSocketPeer {
 public:
  virtual ~WebSocketPeer() = default;

  // Queues `text` (which must be valid UTF-8) as one text message and returns at once;
  // messages go out in Send order. Returns false when the message was not queued: the
  // connection is closed or closing (Close(), Drain(), an error), or the outgoing queue
  // would exceed WebSocketOptions::max_queued_bytes, which also closes the connection
  // with 1013 and logs "websocket.queue_overflow" (the client does not keep up).
  virtual bool Send(std::string text) = 0;

  // Sends what is already queued, then a close frame with `code` and `reason` (cut to
  // 123 bytes); OnClose() follows when the close handshake ends or times out (the
  // server's limits.write_timeout). Later calls, and calls after the connection ended,
  // do nothing. Codes a server may not send (1005, 1006, 1015, below 1000, 5000 and up)
  // are replaced by 1011.
  virtual void Close(WebSocketCloseCode code = WebSocketCloseCode::kNormal,
                     std::string reason = {}) = 0;

  // The client's IP address, as Request::remote_address.
  virtual const std::string& remote_address() const = 0;
};

// The application side of one WebSocket connection, created by WebSocketRoute::accept.
// The server holds it (shared) until OnClose() has returned. Callbacks may throw: the
// error is logged and the connection closed with 1011 (OnClose still follows).
class WebSocketSession {
 public:
  virtual ~WebSocketSession() = default;

  // The upgrade completed. Keep `peer` to send; it stays valid (but inert) after close.
  virtual void OnOpen(std::shared_ptr<WebSocketPeer> peer) = 0;

  // One complete text message, valid UTF-8, at most max_message_bytes long.
  virtual void OnMessage(std::string text) = 0;

  // The connection has ended (either side closed, a limit was hit, the server drained,
  // or the peer vanished). Called exactly once, after OnOpen; nothing follows it.
  virtual void OnClose() = 0;
};

// A refusal (any Response, status 400..599) or an accepted session (non-null).
using WebSocketAcceptResult = std::variant<Response, std::shared_ptr<WebSocketSession>>;

// Decides on an upgrade request; runs on an I/O thread (quick, see above). Must not
// block; may throw (the client gets 500).
using WebSocketAccept = std::function<WebSocketAcceptResult(const Request&)>;

struct WebSocketOptions {
  // Largest incoming message (after reassembling fragments); over -> close 1009.
  // REQUIRES: > 0.
  size_t max_message_bytes = 64 * 1024;
  // Bound on the outgoing queue of one connection, counting each message as its size
  // plus 64 bytes (including the message being written); over -> Send() returns false
  // and the connection closes with 1013. A message larger than this can never be sent.
  // REQUIRES: > 0.
  size_t max_queued_bytes = 1024 * 1024;
  // With nothing received for half of this, the server pings; with nothing received
  // (not even the pong) for all of it, the connection is dropped. REQUIRES: > 0.
  std::chrono::milliseconds idle_timeout{60'000};
  // When non-empty, the exact serialised origins ("https://chat.example.com",
  // "https://host:8443": lower-case scheme://host[:port], no path or trailing '/')
  // allowed to open the socket; a missing or other Origin header gets 403 before
  // `accept` runs. This is the defence against cross-site WebSocket hijacking for
  // cookie-authenticated sockets. When empty, `accept` should check the origin itself
  // (see OriginMatchesHost).
  std::vector<std::string> allowed_origins;
};

struct WebSocketRoute {
  WebSocketAccept accept;  // required
  WebSocketOptions options;
  // Label in metrics and logs; defaults to the path.
  std::string name;
};

// True when the request's Origin header is exactly "https://" + its Host header
// (host compared case-insensitively; a ":443" on either side is the default port), i.e.
// the page that opens the socket was served by this same host over HTTPS. False when
// either header is missing or empty. Use in WebSocketRoute::accept when the allowed
// origin is "wherever this server is reached"; behind a TLS proxy the proxy must pass
// the client's Host header through.
bool OriginMatchesHost(const Request& request);

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

  // Adds a WebSocket endpoint at `path`. It also registers an ordinary route
  // (GET `path`, named route.name) that answers requests without "Upgrade: websocket"
  // with 426, so size(), Find() and MethodsFor() see a GET route there. Errors:
  // kAlreadyExists when GET `path` (or another WebSocket route) is registered;
  // kInvalidArgument for a path not starting with '/', no `accept`, a zero limit or
  // timeout, or a malformed allowed_origins entry.
  [[nodiscard]] core::Status AddWebSocket(std::string path, WebSocketRoute route);

  // The WebSocket route at exactly `path`, or nullptr.
  const WebSocketRoute* FindWebSocket(std::string_view path) const;

  size_t size() const { return routes_.size(); }

 private:
  std::map<std::pair<std::string, std::string>, Route, std::less<>> routes_;
  std::map<std::string, WebSocketRoute, std::less<>> websocket_routes_;
};

}  // namespace opsgate::http
