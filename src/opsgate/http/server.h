// File: opsgate/http/server.h
//
// The HTTPS server: Boost.Beast over Asio with OpenSSL, one strand per connection,
// N I/O threads. It enforces the limits of config::LimitsConfig with precise errors
// (431 header bytes, 413 body bytes per route, 408 read deadline, 503 connection cap),
// keeps connections alive, serves TLS 1.2/1.3 with Mozilla's intermediate or modern
// profile, swaps certificates on ReloadTls(), and drains gracefully on Drain().
// Plain HTTP only when ServerOptions::behind_tls_proxy is set.
//
// Beast and Asio stay inside server.cc (pimpl), so including this header is cheap.
//
// Metrics it maintains in the registry passed in:
//   opsgate_http_requests_total{route,status}
//   opsgate_http_request_duration_seconds{route}      (histogram)
//   opsgate_http_open_connections                     (gauge)
//   opsgate_http_rejections_total{reason}             (header_too_large, body_too_large,
//        read_timeout, connection_limit, tls_handshake, bad_request, method_not_allowed,
//        not_found)
//   opsgate_websocket_connections                     (gauge; also in open_connections)
//   opsgate_websocket_messages_total{route,direction} (direction: in, out)
//   opsgate_websocket_closed_total{reason}            (client_close, going_away,
//        server_close, binary_message, handler_error, queue_overflow, idle_timeout,
//        write_timeout, message_too_big, invalid_utf8, protocol_error, close_timeout,
//        disconnected, server_stopped)
//
// WebSocket routes (Router::AddWebSocket) are upgraded here; the threading contract is
// in router.h. Drain() closes open WebSockets with 1001 and counts them as in-flight.
//
// Thread-safety: Start() and Run() from one thread; Drain(), ReloadTls(), SetLimits()
// and port() from any thread. The Router, registry, logger and clock must outlive it.
// Destroy the Server only after Run() has returned (or when Run() was never called).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "opsgate/config/config.h"
#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/http/router.h"
#include "opsgate/telemetry/log.h"
#include "opsgate/telemetry/metrics.h"

namespace opsgate::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8443;  // 0 picks a free port; see Server::port()
  std::optional<config::TlsConfig> tls;
  bool behind_tls_proxy = false;
  config::LimitsConfig limits;
  unsigned threads = 2;
  std::chrono::milliseconds drain_timeout{10'000};
};

class Server {
 public:
  Server(ServerOptions options, const Router& router, telemetry::MetricsRegistry& metrics,
         telemetry::Logger& log, const core::Clock& clock);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads TLS material and binds the listener. Errors: kInvalidArgument (bad
  // options: TLS missing without behind_tls_proxy), kFailedPrecondition (certificate
  // or key unreadable / not matching), kUnavailable (address in use).
  [[nodiscard]] core::Status Start();

  // The bound port (after Start()).
  uint16_t port() const;

  // Called on the I/O context when SIGHUP, SIGTERM or SIGINT arrives (after Run()
  // starts). Without a handler, SIGTERM/SIGINT drain and SIGHUP is ignored.
  void SetSignalHandler(std::function<void(int signo)> handler);

  // Serves until drained; runs the I/O threads (this thread included).
  void Run();

  // Stops accepting, lets in-flight requests finish (answering them with
  // "Connection: close"), closes idle connections, and stops Run() when all are
  // gone or drain_timeout passes.
  void Drain();

  // New TLS material for new connections; existing ones keep theirs. On error the
  // old context stays in use.
  [[nodiscard]] core::Status ReloadTls(const config::TlsConfig& tls);

  // New limits for new requests.
  void SetLimits(const config::LimitsConfig& limits);

  // Queues `fn` to run on one of the I/O threads and takes it, unless the server has
  // stopped serving (Run() returned): then returns false and leaves `fn` to the caller.
  // For work a writer thread hands back (a handler's next step), so that thread goes
  // straight back to writing. `fn` must not block.
  bool Post(std::function<void()>& fn);

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace opsgate::http
