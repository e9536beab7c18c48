// The only translation unit with Asio sockets and OpenSSL contexts (see server.h).
//
// Lifetimes follow Beast's example/advanced/server: each connection is a Session that
// owns itself through shared_from_this() and runs on its own strand; the ServerCore
// outlives every Session (its destructor destroys the io_context, and with it any Session
// still waiting, before the rest of ServerCore goes).
//
// Reading a request has two deadlines. Phase 1 waits for the first byte (idle_timeout on
// a kept-alive connection, read_timeout for the first request) with tcp_stream's own
// timer: when it expires the socket is closed, which is what we want (no 408 for a
// client that sent nothing). Phase 2, from the first byte, must end within read_timeout
// and is guarded by the Session's own timer, because tcp_stream closes the socket on
// expiry and we still want to answer 408.
//
// WebSocket: a Session that reads an upgrade request for a WebSocket route checks it
// (origin, accept callback) and, when accepted, moves its stream into a
// WebSocketConnection on the same strand and ends; the connection keeps counting toward
// max_connections (the Session hands its count over instead of releasing it). Outgoing
// messages go through an Outbox shared with the WebSocketPeers that application threads
// hold: a mutex-guarded bounded queue plus a "wake" that posts to the strand. Peers
// hold no reference to the connection or the server; the Outbox is shut (no more
// posts) when the connection ends and, for connections still open, before the
// io_context is destroyed, so a late Send() never touches a dead executor.
#include "opsgate/http/server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/buffers_generator.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message_generator.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <variant>
#include <vector>

#include "opsgate/http/internal/request_flow.h"
#include "opsgate/http/request_path.h"
#include "opsgate/http/tls_profile.h"

namespace opsgate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using std::chrono::milliseconds;

namespace {

// How long a connection over max_connections may take to send its request header
// before it gets its 503 anyway.
constexpr milliseconds kOverLimitDeadline{1000};
// After a final response we stop sending and read (and discard) what the client still
// sends, so that closing does not reset the connection before it has read the answer.
constexpr milliseconds kMaxLinger{2000};
// Pause before accepting again after the process ran out of file descriptors.
constexpr milliseconds kAcceptRetryDelay{100};
// What one queued outgoing WebSocket message costs beyond its text (the string and the
// queue node), so that a flood of empty messages is bounded too.
constexpr size_t kQueuedMessageOverhead = 64;

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) {
      out += "; ";
    }
    out += buf;
  }
  return out.empty() ? std::string("no OpenSSL error reported") : out;
}

core::Status CheckReadable(const std::string& path, std::string_view what) {
  if (path.empty()) {
    return core::Fail(core::InvalidArgument(std::string(what) + " path is empty; set it in the "
                                                                "server.tls section"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::Fail(core::FailedPrecondition("cannot read " + std::string(what) + " '" + path +
                                               "': " + std::strerror(errno)));
  }
  return core::Ok();
}

int NoPassword(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) {
  return 0;  // never prompt on the terminal for an encrypted key: refuse it
}

int ProtocolVersion(const char* name) {
  return std::string_view(name) == "TLSv1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
}

core::Result<std::shared_ptr<ssl::context>> BuildTlsContext(const config::TlsConfig& tls) {
  OPSGATE_RETURN_IF_ERROR(CheckReadable(tls.cert_file, "TLS certificate file"));
  OPSGATE_RETURN_IF_ERROR(CheckReadable(tls.key_file, "TLS key file"));
  ERR_clear_error();
  std::shared_ptr<ssl::context> ctx;
  try {
    ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {
    return core::Fail(core::Internal(std::string("cannot create a TLS context: ") + e.what()));
  }
  SSL_CTX* c = ctx->native_handle();
  const TlsProfileSpec& spec = SpecFor(tls.profile);
  auto fail_internal = [](std::string_view step) {
    return core::Fail(
        core::Internal("TLS setup failed at " + std::string(step) + ": " + OpenSslErrors()));
  };
  if (SSL_CTX_set_min_proto_version(c, ProtocolVersion(spec.min_version)) != 1 ||
      SSL_CTX_set_max_proto_version(c, ProtocolVersion(spec.max_version)) != 1) {
    return fail_internal("protocol versions");
  }
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (!spec.server_preferred_order) {
    SSL_CTX_clear_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE);
  }
  if (*spec.ciphers_tls12 != '\0' && SSL_CTX_set_cipher_list(c, spec.ciphers_tls12) != 1) {
    return fail_internal("TLS 1.2 cipher list");
  }
  if (SSL_CTX_set_ciphersuites(c, spec.ciphersuites_tls13) != 1) {
    return fail_internal("TLS 1.3 ciphersuites");
  }
  if (SSL_CTX_set1_groups_list(c, spec.groups) != 1) {
    return fail_internal("key exchange groups");
  }
  SSL_CTX_set_default_passwd_cb(c, &NoPassword);
  if (SSL_CTX_use_certificate_chain_file(c, tls.cert_file.c_str()) != 1) {
    return core::Fail(core::FailedPrecondition(
        "TLS certificate file '" + tls.cert_file +
        "' holds no usable PEM certificate chain (leaf first): " + OpenSslErrors()));
  }
  if (SSL_CTX_use_PrivateKey_file(c, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL checks the key against the certificate while loading it.
    int reason = ERR_GET_REASON(ERR_peek_last_error());
    if (reason == X509_R_KEY_VALUES_MISMATCH || reason == X509_R_KEY_TYPE_MISMATCH) {
      return core::Fail(core::FailedPrecondition(
          "TLS key file '" + tls.key_file + "' does not belong to the certificate in '" +
          tls.cert_file + "'; use the key the certificate was issued for: " + OpenSslErrors()));
    }
    return core::Fail(core::FailedPrecondition(
        "TLS key file '" + tls.key_file +
        "' holds no usable unencrypted PEM private key: " + OpenSslErrors()));
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    return core::Fail(core::FailedPrecondition("TLS key file '" + tls.key_file +
                                               "' does not belong to the certificate in '" +
                                               tls.cert_file + "': " + OpenSslErrors()));
  }
  return ctx;
}

}  // namespace

// The part of a Session the ServerCore sees, whatever its stream type.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Called from any thread when the server starts draining.
  virtual void OnDrain() = 0;
  // Called from the thread destroying the server, before the io_context goes, when the
  // I/O threads have stopped.
  virtual void OnServerDestroying() {}
};

namespace internal {

// Everything the server does; Server::Impl is only its name in the public header.
class ServerCore {
 public:
  ServerCore(ServerOptions options, const Router& router, telemetry::MetricsRegistry& metrics,
             telemetry::Logger& log, const core::Clock& clock)
      : options_(std::move(options)),
        router_(router),
        log_(log),
        clock_(clock),
        ioc_(std::make_unique<asio::io_context>(static_cast<int>(std::max(1u, options_.threads)))),
        control_(std::in_place, asio::make_strand(*ioc_)),
        requests_total_(metrics.AddCounter("opsgate_http_requests_total",
                                           "HTTP requests answered, by route and status.",
                                           {"route", "status"})),
        duration_(metrics.AddHistogram(
            "opsgate_http_request_duration_seconds",
            "Time from the first byte of a request to its response being written.", {"route"},
            telemetry::LatencyBuckets())),
        open_connections_gauge_(
            metrics.AddGauge("opsgate_http_open_connections", "Open client connections.", {})
                .With({})),
        rejections_(metrics.AddCounter(
            "opsgate_http_rejections_total",
            "Requests and connections refused by the HTTP layer, by reason.", {"reason"})),
        websocket_connections_(metrics
                                   .AddGauge("opsgate_websocket_connections",
                                             "Open WebSocket connections (also counted in "
                                             "opsgate_http_open_connections).",
                                             {})
                                   .With({})),
        websocket_messages_(metrics.AddCounter(
            "opsgate_websocket_messages_total",
            "WebSocket text messages received (direction=\"in\") and sent (\"out\").",
            {"route", "direction"})),
        websocket_closed_(metrics.AddCounter("opsgate_websocket_closed_total",
                                             "WebSocket connections ended, by reason.",
                                             {"reason"})),
        limits_(std::make_shared<const config::LimitsConfig>(options_.limits)) {
    for (size_t i = 0; i < kAllRejections.size(); ++i) {
      rejection_counters_[i] = &rejections_.With({RejectionReason(kAllRejections[i])});
    }
  }

  ~ServerCore() {
    stopped_ = true;
    // Connections still open after a drain timeout: cut their peers off the io_context
    // before it goes (application threads may call Send() at any time).
    std::vector<std::shared_ptr<SessionBase>> live;
    {
      std::lock_guard<std::mutex> lock(sessions_mu_);
      for (auto& [ptr, weak] : sessions_) {
        if (auto s = weak.lock()) {
          live.push_back(std::move(s));
        }
      }
    }
    for (auto& s : live) {
      s->OnServerDestroying();
    }
    live.clear();
    // Destroy the io_context first: it destroys the handlers it still holds, and with
    // them the Sessions, whose destructors use the members below.
    signals_.reset();
    drain_timer_.reset();
    accept_retry_timer_.reset();
    acceptor_.reset();
    // A strand unregisters from the context's strand service when destroyed, so it must
    // go before the context (handlers holding copies are destroyed inside ~io_context).
    control_.reset();
    ioc_.reset();
  }

  core::Status Start();
  uint16_t port() const { return port_.load(); }
  void SetSignalHandler(std::function<void(int)> handler) {
    std::lock_guard<std::mutex> lock(signal_mu_);
    signal_handler_ = std::move(handler);
  }
  void Run();
  void Drain() {
    asio::post(*control_, [this] { DoDrain(); });
  }
  bool Post(std::function<void()>& fn) {
    if (ioc_->stopped()) {
      return false;
    }
    asio::post(*ioc_, std::move(fn));
    return true;
  }
  core::Status ReloadTls(const config::TlsConfig& tls);
  void SetLimits(const config::LimitsConfig& limits) {
    auto next = std::make_shared<const config::LimitsConfig>(limits);
    std::lock_guard<std::mutex> lock(limits_mu_);
    limits_ = std::move(next);
  }

  // --- used by Sessions ---
  std::shared_ptr<const config::LimitsConfig> Limits() const {
    std::lock_guard<std::mutex> lock(limits_mu_);
    return limits_;
  }
  bool draining() const { return draining_.load(); }
  bool tls() const { return !options_.behind_tls_proxy; }
  const Router& router() const { return router_; }
  telemetry::Logger& log() { return log_; }
  const core::Clock& clock() const { return clock_; }

  void CountRejection(Rejection r) {
    auto it = std::find(kAllRejections.begin(), kAllRejections.end(), r);
    rejection_counters_[static_cast<size_t>(it - kAllRejections.begin())]->Inc();
  }
  void RecordRequest(const std::string& route, int status, double seconds) {
    requests_total_.With({route, std::to_string(status)}).Inc();
    duration_.With({route}).Observe(seconds);
  }
  void WebSocketOpened() { websocket_connections_.Add(1); }
  void WebSocketClosed(std::string_view reason) {
    websocket_connections_.Add(-1);
    websocket_closed_.With({reason}).Inc();
  }
  telemetry::Counter& WebSocketMessages(const std::string& route, std::string_view direction) {
    return websocket_messages_.With({route, direction});
  }
  void Register(SessionBase* s, std::weak_ptr<SessionBase> weak) {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    sessions_.emplace(s, std::move(weak));
  }
  // From a Session's or WebSocketConnection's destructor. `release_count` is false for a
  // Session whose connection was handed to a WebSocketConnection (which releases it).
  void Unregister(SessionBase* s, bool release_count) {
    {
      std::lock_guard<std::mutex> lock(sessions_mu_);
      sessions_.erase(s);
    }
    if (!release_count) {
      return;
    }
    open_connections_gauge_.Add(-1);
    size_t left = --open_connections_;
    if (left == 0 && draining_.load() && !stopped_.load()) {
      asio::post(*control_, [this] { Stop("drained"); });
    }
  }

 private:
  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void WaitForSignal();
  void OnSignal(int signo);
  void DoDrain();
  void Stop(std::string_view why);
  void RunLoop();
  std::shared_ptr<ssl::context> CurrentTls() const {
    std::lock_guard<std::mutex> lock(tls_mu_);
    return tls_ctx_;
  }

  ServerOptions options_;
  const Router& router_;
  telemetry::Logger& log_;
  const core::Clock& clock_;

  std::unique_ptr<asio::io_context> ioc_;
  // Serialises the acceptor, the signal set, draining and stopping.
  std::optional<asio::strand<asio::io_context::executor_type>> control_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<asio::steady_timer> accept_retry_timer_;
  std::optional<asio::steady_timer> drain_timer_;
  std::optional<asio::signal_set> signals_;

  telemetry::Family<telemetry::Counter>& requests_total_;
  telemetry::Family<telemetry::Histogram>& duration_;
  telemetry::Gauge& open_connections_gauge_;
  telemetry::Family<telemetry::Counter>& rejections_;
  std::array<telemetry::Counter*, kAllRejections.size()> rejection_counters_{};
  telemetry::Gauge& websocket_connections_;
  telemetry::Family<telemetry::Counter>& websocket_messages_;
  telemetry::Family<telemetry::Counter>& websocket_closed_;

  mutable std::mutex tls_mu_;
  std::shared_ptr<ssl::context> tls_ctx_;  // GUARDED_BY(tls_mu_)
  mutable std::mutex limits_mu_;
  std::shared_ptr<const config::LimitsConfig> limits_;  // GUARDED_BY(limits_mu_)
  std::mutex signal_mu_;
  std::function<void(int)> signal_handler_;  // GUARDED_BY(signal_mu_)
  std::mutex sessions_mu_;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions_;  // GUARDED_BY

  std::atomic<uint16_t> port_{0};
  std::atomic<bool> draining_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<size_t> open_connections_{0};
  bool started_ = false;
  bool ran_ = false;
};

}  // namespace internal

namespace {

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// The handler's view of an upgrade request (the parser's message stays intact for the
// WebSocket handshake, which needs it).
Request ToRequest(const internal::BeastRequest& message, const std::string& remote,
                  const std::string& correlation_id) {
  Request r;
  r.method = std::string(message.method_string());
  r.target = std::string(message.target());
  size_t q = r.target.find('?');
  r.path = r.target.substr(0, q);
  r.query = q == std::string::npos ? std::string() : r.target.substr(q + 1);
  for (const auto& field : message) {
    r.headers.emplace_back(LowerAscii(field.name_string()), std::string(field.value()));
  }
  r.body = message.body();
  r.remote_address = remote;
  r.correlation_id = correlation_id;
  return r;
}

// Keeps client-controlled text in log lines short.
std::string ClipForLog(std::string_view s) {
  constexpr size_t kMax = 200;
  return std::string(s.substr(0, std::min(s.size(), kMax)));
}

// RFC 6455 7.4: codes an endpoint may put in a close frame.
uint16_t SendableCloseCode(uint16_t code) {
  bool ok = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
            (code >= 3000 && code <= 4999);
  return ok ? code : static_cast<uint16_t>(WebSocketCloseCode::kInternalError);
}

// A close reason fits in a control frame (123 bytes) and stays valid UTF-8.
std::string FitCloseReason(std::string reason) {
  constexpr size_t kMax = 123;
  if (reason.size() <= kMax) {
    return reason;
  }
  size_t n = kMax;
  while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) {
    --n;  // do not cut a multi-byte sequence
  }
  reason.resize(n);
  return reason;
}

struct CloseRequest {
  uint16_t code = 1000;
  std::string reason;
  std::string label;  // opsgate_websocket_closed_total{reason} when the handshake ends
};

// The outgoing side of one WebSocket connection, shared by the connection (on its
// strand) and its peers (any thread). See the file comment.
class Outbox {
 public:
  enum class Step {
    kNothing,  // idle
    kWrite,    // write *message
    kClose,    // send the close frame *close
  };

  explicit Outbox(size_t max_bytes) : max_bytes_(max_bytes) {}

  // `wake` posts a call of Pump() to the connection's strand; it is called with mu_
  // held, so Shut() (which drops it) cannot race with a post.
  void SetWake(std::function<void()> wake) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!shut_) {
      wake_ = std::move(wake);
    }
  }

  // Any thread. False when closing/closed or on overflow (which requests a 1013 close).
  bool Push(std::string text) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) {
      return false;
    }
    size_t cost = text.size() + kQueuedMessageOverhead;
    if (cost > max_bytes_ || bytes_ > max_bytes_ - cost) {
      // The client does not keep up: drop what it has not been sent and close.
      for (const std::string& queued : queue_) {
        bytes_ -= queued.size() + kQueuedMessageOverhead;
      }
      queue_.clear();
      closing_ = true;
      overflowed_ = true;
      close_ = CloseRequest{static_cast<uint16_t>(WebSocketCloseCode::kTryAgainLater),
                            "send queue full: the client reads too slowly", "queue_overflow"};
      WakeLocked();
      return false;
    }
    bytes_ += cost;
    queue_.push_back(std::move(text));
    WakeLocked();
    return true;
  }

  // Any thread. The first request wins; what is queued is still sent before it.
  void RequestClose(CloseRequest close) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) {
      return;
    }
    closing_ = true;
    close_ = std::move(close);
    WakeLocked();
  }

  // Strand: a wake-up has been delivered (the next Push posts another).
  void Woken() {
    std::lock_guard<std::mutex> lock(mu_);
    wake_pending_ = false;
  }

  // Strand: true once after the queue overflowed.
  bool TakeOverflow() {
    std::lock_guard<std::mutex> lock(mu_);
    bool first = overflowed_ && !overflow_taken_;
    overflow_taken_ = overflowed_;
    return first;
  }

  // Strand: what to send next. A message taken stays counted until Written().
  Step Next(std::string* message, CloseRequest* close) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!queue_.empty()) {
      *message = std::move(queue_.front());
      queue_.pop_front();
      return Step::kWrite;
    }
    if (close_ && !close_taken_) {
      close_taken_ = true;
      *close = *close_;
      return Step::kClose;
    }
    return Step::kNothing;
  }

  void Written(size_t size) {
    std::lock_guard<std::mutex> lock(mu_);
    bytes_ -= size + kQueuedMessageOverhead;
  }

  // The connection has ended (or the server is going): refuse sends, drop the queue and
  // the wake (and with it the strand executor).
  void Shut() {
    std::function<void()> wake;
    {
      std::lock_guard<std::mutex> lock(mu_);
      shut_ = true;
      closing_ = true;
      for (const std::string& queued : queue_) {
        bytes_ -= queued.size() + kQueuedMessageOverhead;
      }
      queue_.clear();
      wake = std::move(wake_);
      wake_ = nullptr;
    }
  }

 private:
  void WakeLocked() {
    if (!wake_pending_ && wake_) {
      wake_pending_ = true;
      wake_();
    }
  }

  const size_t max_bytes_;
  std::mutex mu_;
  std::deque<std::string> queue_;        // GUARDED_BY(mu_)
  size_t bytes_ = 0;                     // GUARDED_BY(mu_) queue_ + the message in flight
  bool closing_ = false;                 // GUARDED_BY(mu_) no more Push
  bool shut_ = false;                    // GUARDED_BY(mu_)
  bool overflowed_ = false;              // GUARDED_BY(mu_)
  bool overflow_taken_ = false;          // GUARDED_BY(mu_)
  bool wake_pending_ = false;            // GUARDED_BY(mu_)
  bool close_taken_ = false;             // GUARDED_BY(mu_)
  std::optional<CloseRequest> close_;    // GUARDED_BY(mu_)
  std::function<void()> wake_;           // GUARDED_BY(mu_)
};

class Peer final : public WebSocketPeer {
 public:
  Peer(std::shared_ptr<Outbox> outbox, std::string remote)
      : outbox_(std::move(outbox)), remote_(std::move(remote)) {}

  bool Send(std::string text) override { return outbox_->Push(std::move(text)); }
  void Close(WebSocketCloseCode code, std::string reason) override {
    outbox_->RequestClose(CloseRequest{SendableCloseCode(static_cast<uint16_t>(code)),
                                       FitCloseReason(std::move(reason)), "server_close"});
  }
  const std::string& remote_address() const override { return remote_; }

 private:
  std::shared_ptr<Outbox> outbox_;
  const std::string remote_;
};

// One upgraded connection; kTls as in Session.
template <bool kTls>
class WebSocketConnection final
    : public SessionBase,
      public std::enable_shared_from_this<WebSocketConnection<kTls>> {
 public:
  using Inner =
      std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  struct Setup {
    std::shared_ptr<ssl::context> tls;
    std::string remote;
    std::string correlation_id;
    std::string route_label;
    core::Clock::SteadyTime first_byte{};
    std::shared_ptr<const config::LimitsConfig> limits;
  };

  WebSocketConnection(internal::ServerCore& server, Inner&& stream, const WebSocketRoute& route,
                      std::shared_ptr<WebSocketSession> session, Setup setup)
      : server_(server),
        route_(route),
        setup_(std::move(setup)),
        ws_(std::move(stream)),
        write_deadline_(ws_.get_executor()),
        session_(std::move(session)),
        outbox_(std::make_shared<Outbox>(route.options.max_queued_bytes)) {}

  ~WebSocketConnection() override {
    // Only when the server is destroyed with this connection still open: OnClose() is
    // still owed. The io_context is going: touch no socket or timer (ws_ closes itself).
    Finish("server_stopped", Teardown::kNone);
    server_.Unregister(this, /*release_count=*/true);
  }

  void Begin(internal::BeastRequest&& upgrade) {
    server_.Register(this, this->weak_from_this());
    upgrade_ = std::move(upgrade);
    asio::dispatch(ws_.get_executor(), beast::bind_front_handler(&WebSocketConnection::Accept,
                                                                 this->shared_from_this()));
  }

  void OnDrain() override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this()] {
      self->drain_requested_ = true;
      if (self->opened_) {
        self->CloseWith(WebSocketCloseCode::kGoingAway, "server shutting down", "going_away");
      }
    });
  }

  void OnServerDestroying() override { outbox_->Shut(); }

 private:
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(ws_); }

  void Accept() {
    // The websocket stream runs its own timers (handshake, close, idle with pings); the
    // tcp_stream's would fire under it.
    Tcp().expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = setup_.limits->write_timeout;
    timeouts.idle_timeout = route_.options.idle_timeout;
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [id = setup_.correlation_id](websocket::response_type& res) {
          res.set(bhttp::field::server, "opsgate");
          res.set("X-Correlation-Id", id);
        }));
    ws_.read_message_max(route_.options.max_message_bytes);
    ws_.text(true);
    ws_.async_accept(upgrade_, beast::bind_front_handler(&WebSocketConnection::OnAccepted,
                                                         this->shared_from_this()));
  }

  void OnAccepted(beast::error_code ec) {
    upgrade_ = {};
    if (ec) {
      server_.log().Debug("websocket.handshake_failed", {{"route", setup_.route_label},
                                                          {"remote", setup_.remote},
                                                          {"error", ec.message()},
                                                          {"correlation_id",
                                                           setup_.correlation_id}});
      session_.reset();  // never opened: no callbacks
      CloseSocket();
      return;
    }
    opened_at_ = server_.clock().SteadyNow();
    server_.RecordRequest(
        setup_.route_label, 101,
        std::chrono::duration<double>(opened_at_ - setup_.first_byte).count());
    opened_ = true;
    server_.WebSocketOpened();
    in_ = &server_.WebSocketMessages(setup_.route_label, "in");
    out_ = &server_.WebSocketMessages(setup_.route_label, "out");
    std::weak_ptr<WebSocketConnection> weak = this->shared_from_this();
    outbox_->SetWake([weak, executor = ws_.get_executor()] {
      asio::post(executor, [weak] {
        if (auto self = weak.lock()) {
          self->outbox_->Woken();
          self->NoteOverflow();
          self->Pump();
        }
      });
    });
    server_.log().Info("websocket.opened", {{"route", setup_.route_label},
                                            {"remote", setup_.remote},
                                            {"correlation_id", setup_.correlation_id}});
    auto peer = std::make_shared<Peer>(outbox_, setup_.remote);
    CallSession("OnOpen", [&] { session_->OnOpen(std::move(peer)); });
    if (drain_requested_ || server_.draining()) {
      CloseWith(WebSocketCloseCode::kGoingAway, "server shutting down", "going_away");
    }
    DoRead();
    Pump();
  }

  void DoRead() {
    ws_.async_read(read_buffer_, beast::bind_front_handler(&WebSocketConnection::OnRead,
                                                           this->shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      Finish(ReasonFor(ec), Teardown::kSocket);
      return;
    }
    if (!ws_.got_text()) {
      read_buffer_.clear();
      CloseWith(WebSocketCloseCode::kUnsupportedData,
                "binary messages are not accepted; send text", "binary_message");
    } else if (!closing_) {
      std::string text = beast::buffers_to_string(read_buffer_.data());
      read_buffer_.clear();
      in_->Inc();
      CallSession("OnMessage", [&] { session_->OnMessage(std::move(text)); });
    } else {
      read_buffer_.clear();  // we are closing: what still arrives is dropped
    }
    DoRead();  // also while closing: the read completes the close handshake
  }

  // Runs a session callback; a throw closes the connection with 1011.
  template <class Fn>
  void CallSession(std::string_view what, Fn&& fn) {
    if (!session_) {
      return;
    }
    std::string error;
    try {
      fn();
      return;
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "non-std exception";
    }
    server_.log().Error("websocket.handler_failed", {{"route", setup_.route_label},
                                                      {"callback", what},
                                                      {"error", error},
                                                      {"correlation_id",
                                                       setup_.correlation_id}});
    if (!finished_) {
      CloseWith(WebSocketCloseCode::kInternalError, "internal error", "handler_error");
    }
  }

  void CloseWith(WebSocketCloseCode code, std::string reason, std::string label) {
    outbox_->RequestClose(
        CloseRequest{static_cast<uint16_t>(code), std::move(reason), std::move(label)});
    Pump();
  }

  // Logged as soon as it happens, even while a write the client does not take holds up
  // the 1013 close frame (the write deadline then ends the connection).
  void NoteOverflow() {
    if (!finished_ && outbox_->TakeOverflow()) {
      overflowed_ = true;
      server_.log().Warn("websocket.queue_overflow",
                         {{"route", setup_.route_label},
                          {"remote", setup_.remote},
                          {"max_queued_bytes", route_.options.max_queued_bytes},
                          {"correlation_id", setup_.correlation_id}});
    }
  }

  // Strand: starts the next write or the close, unless one is running.
  void Pump() {
    if (!opened_ || finished_ || writing_ || closing_) {
      return;
    }
    std::string message;
    CloseRequest close;
    switch (outbox_->Next(&message, &close)) {
      case Outbox::Step::kNothing:
        return;
      case Outbox::Step::kWrite:
        writing_ = true;
        write_buffer_ = std::move(message);
        ArmWriteDeadline();
        ws_.async_write(asio::buffer(write_buffer_),
                        beast::bind_front_handler(&WebSocketConnection::OnWritten,
                                                  this->shared_from_this()));
        return;
      case Outbox::Step::kClose:
        StartClose(std::move(close));
        return;
    }
  }

  void OnWritten(beast::error_code ec, size_t /*bytes*/) {
    writing_ = false;
    DisarmWriteDeadline();
    outbox_->Written(write_buffer_.size());
    write_buffer_ = std::string();  // a large message's memory goes now, not at the next
    if (ec) {
      CloseSocket();  // the pending read fails next, and Finish() runs
      return;
    }
    out_->Inc();
    Pump();
  }

  void StartClose(CloseRequest close) {
    closing_ = true;
    close_label_ = std::move(close.label);
    websocket::close_reason reason(close.code);
    std::string text = FitCloseReason(std::move(close.reason));
    reason.reason.assign(text.data(), text.size());
    ws_.async_close(reason,
                    [self = this->shared_from_this()](beast::error_code ec) {
                      if (ec) {
                        self->CloseSocket();
                      }
                    });
  }

  // A write that the client does not take (it stopped reading) must not hold the
  // connection, its memory and a slot forever; Beast's idle timer only watches reads.
  void ArmWriteDeadline() {
    ++write_generation_;
    write_deadline_.expires_after(setup_.limits->write_timeout);
    write_deadline_.async_wait([self = this->shared_from_this(),
                                generation = write_generation_](beast::error_code ec) {
      if (ec || generation != self->write_generation_) {
        return;
      }
      self->write_timed_out_ = true;
      self->CloseSocket();
    });
  }

  void DisarmWriteDeadline() {
    ++write_generation_;
    write_deadline_.cancel();
  }

  void CloseSocket() {
    beast::error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Tcp().close();
  }

  std::string ReasonFor(beast::error_code ec) const {
    if (overflowed_) {
      return "queue_overflow";
    }
    if (write_timed_out_) {
      return "write_timeout";
    }
    if (ec == websocket::error::closed) {
      return closing_ ? close_label_ : "client_close";
    }
    // Over TLS, Beast's teardown after it failed the connection itself (1009, 1007, 1002)
    // usually ends with OpenSSL 3's "application data after close notify", which replaces
    // the specific error: such endings count as "disconnected".
    if (ec == websocket::error::message_too_big) {
      return "message_too_big";
    }
    if (ec == websocket::error::bad_frame_payload) {
      return "invalid_utf8";
    }
    if (ec == beast::error::timeout) {
      return closing_ ? "close_timeout" : "idle_timeout";
    }
    if (ec.category() == beast::error_code(websocket::error::bad_opcode).category()) {
      return "protocol_error";
    }
    return closing_ ? close_label_ : "disconnected";
  }

  enum class Teardown {
    kSocket,  // stop the write deadline and close the socket (from the strand)
    kNone,    // from the destructor
  };

  // The connection has ended: once, from the read's completion (or the destructor).
  void Finish(const std::string& reason, Teardown teardown) {
    if (finished_ || !opened_) {
      return;
    }
    finished_ = true;
    outbox_->Shut();
    if (teardown == Teardown::kSocket) {
      DisarmWriteDeadline();
      // A close handshake still running (ours, waiting on the peer's close frame after a
      // read error) has nothing left to do.
      CloseSocket();
    }
    server_.WebSocketClosed(reason);
    double seconds =
        std::chrono::duration<double>(server_.clock().SteadyNow() - opened_at_).count();
    server_.log().Info("websocket.closed", {{"route", setup_.route_label},
                                            {"reason", reason},
                                            {"messages_in", in_->Value()},
                                            {"remote", setup_.remote},
                                            {"duration_ms", seconds * 1000.0},
                                            {"correlation_id", setup_.correlation_id}});
    CallSession("OnClose", [&] { session_->OnClose(); });
    session_.reset();
  }

  internal::ServerCore& server_;
  const WebSocketRoute& route_;  // in the Router, which outlives the server
  Setup setup_;                  // setup_.tls before ws_, which refers to it
  websocket::stream<Inner> ws_;
  asio::steady_timer write_deadline_;
  uint64_t write_generation_ = 0;
  bool write_timed_out_ = false;
  std::shared_ptr<WebSocketSession> session_;
  std::shared_ptr<Outbox> outbox_;
  internal::BeastRequest upgrade_;
  beast::flat_buffer read_buffer_;
  std::string write_buffer_;
  telemetry::Counter* in_ = nullptr;
  telemetry::Counter* out_ = nullptr;
  core::Clock::SteadyTime opened_at_{};
  bool opened_ = false;
  bool writing_ = false;
  bool closing_ = false;  // the close frame has been (or is being) sent
  bool finished_ = false;
  bool drain_requested_ = false;
  bool overflowed_ = false;
  std::string close_label_;
};

// One client connection; kTls selects TLS over TCP or plain TCP.
template <bool kTls>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<kTls>> {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  Session(internal::ServerCore& server, tcp::socket&& socket, std::shared_ptr<ssl::context> tls,
          bool over_limit, std::string remote)
      : server_(server),
        tls_(std::move(tls)),
        stream_(MakeStream(std::move(socket), tls_.get())),
        executor_(stream_.get_executor()),
        deadline_(executor_),
        remote_(std::move(remote)),
        over_limit_(over_limit),
        limits_(server.Limits()) {}

  ~Session() override { server_.Unregister(this, /*release_count=*/!count_handed_over_); }

  void Begin() {
    server_.Register(this, this->weak_from_this());
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::OnBegin, this->shared_from_this()));
  }

  void OnDrain() override {
    // Not stream_.get_executor(): after an upgrade stream_ is moved-from.
    asio::post(executor_, [self = this->shared_from_this()] {
      if (self->idle_ && !self->upgraded_) {
        self->CloseNow();
      }
    });
  }

 private:
  static Stream MakeStream(tcp::socket&& socket, ssl::context* ctx) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *ctx);
    } else {
      (void)ctx;
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  void OnBegin() {
    if constexpr (kTls) {
      Tcp().expires_after(limits_->read_timeout);
      stream_.async_handshake(
          ssl::stream_base::server,
          beast::bind_front_handler(&Session::OnHandshake, this->shared_from_this()));
    } else {
      AfterHandshake();
    }
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) {
      server_.CountRejection(Rejection::kTlsHandshake);
      server_.log().Debug("http.tls_handshake_failed",
                          {{"remote", remote_}, {"error", ec.message()}});
      CloseNow();
      return;
    }
    AfterHandshake();
  }

  void AfterHandshake() {
    if (over_limit_) {
      // Read the request header briefly so the client is not reset mid-request, then
      // answer 503 whatever arrived.
      first_byte_ = server_.clock().SteadyNow();
      Tcp().expires_never();
      ArmDeadline(std::min(limits_->read_timeout, kOverLimitDeadline));
      parser_.emplace();
      internal::ConfigureParser(*parser_, *limits_);
      bhttp::async_read_header(
          stream_, buffer_, *parser_,
          beast::bind_front_handler(&Session::OnOverLimitHeader, this->shared_from_this()));
      return;
    }
    WaitForRequest();
  }

  void OnOverLimitHeader(beast::error_code ec, size_t /*bytes*/) {
    bool timed_out = timed_out_;
    DisarmDeadline();
    if (ec && !timed_out && !internal::RejectionForReadError(ec)) {
      CloseNow();  // the client is gone
      return;
    }
    std::string id = NewCorrelationId();
    if (!ec) {
      auto field = parser_->get().find("X-Correlation-Id");
      if (field != parser_->get().end() && IsValidCorrelationId(field->value())) {
        id = std::string(field->value());
      }
    }
    Respond(internal::Reject(Rejection::kConnectionLimit, std::string(kUnmatchedRoute)), id, false,
            11, false);
  }

  // Phase 1: wait for the first byte of the next request.
  void WaitForRequest() {
    limits_ = server_.Limits();
    if (buffer_.size() > 0) {
      BeginRequest();  // pipelined: the next request is already here
      return;
    }
    if (server_.draining()) {
      CloseNow();
      return;
    }
    idle_ = true;
    Tcp().expires_after(served_ == 0 ? limits_->read_timeout : limits_->idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(4096),
        beast::bind_front_handler(&Session::OnFirstBytes, this->shared_from_this()));
  }

  void OnFirstBytes(beast::error_code ec, size_t bytes) {
    idle_ = false;
    if (ec || bytes == 0) {
      // Idle timeout, client closed, or drain: close without answering.
      CloseNow();
      return;
    }
    buffer_.commit(bytes);
    BeginRequest();
  }

  // Phase 2: the whole request must arrive within read_timeout from its first byte.
  void BeginRequest() {
    first_byte_ = server_.clock().SteadyNow();
    limits_ = server_.Limits();  // SetLimits() applies from the next request's first byte
    Tcp().expires_never();
    ArmDeadline(limits_->read_timeout);
    have_verdict_ = false;
    parser_.emplace();
    internal::ConfigureParser(*parser_, *limits_);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::OnHeader, this->shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      OnReadError(ec);
      return;
    }
    verdict_ = internal::OnHeader(*parser_, server_.router(), *limits_);
    have_verdict_ = true;
    method_ = std::string(parser_->get().method_string());
    if (verdict_.rejection) {
      DisarmDeadline();
      internal::RejectDetail d;
      d.limit = verdict_.body_limit;
      d.detail = verdict_.detail;
      Respond(internal::Reject(*verdict_.rejection, verdict_.route_label, d),
              verdict_.correlation_id, false, parser_->get().version(), false);
      return;
    }
    if (parser_->is_done()) {
      OnBody({}, 0);
      return;
    }
    if (verdict_.expect_continue) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = this->shared_from_this()](beast::error_code wec, size_t) {
                          if (wec) {
                            self->OnReadError(wec);
                            return;
                          }
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::OnBody, this->shared_from_this()));
  }

  void OnBody(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      OnReadError(ec);
      return;
    }
    DisarmDeadline();
    const internal::BeastRequest& message = parser_->get();
    if (const WebSocketRoute* ws = WebSocketRouteFor(message)) {
      if (websocket::is_upgrade(message)) {
        Upgrade(*ws);
        return;
      }
      answering_websocket_path_ = true;  // the route's handler answers 426
    }
    bool keep_alive = message.keep_alive();
    unsigned version = message.version();
    bool head = message.method() == bhttp::verb::head;
    // Synchronous handlers answer inline (dispatch runs on this strand at once); async
    // ones answer from another thread, and the write is posted back to the strand.
    auto self = this->shared_from_this();
    internal::DispatchAsync(
        parser_->release(), verdict_, server_.router(), remote_,
        [self, keep_alive, version, head](internal::Answer answer) mutable {
          // The only reference left travels with the posted write, so the session ends
          // on its own strand, never on the thread that answered.
          auto executor = self->stream_.get_executor();
          asio::dispatch(executor, [self = std::move(self), answer = std::move(answer),
                                    keep_alive, version, head]() mutable {
            self->OnAnswer(std::move(answer), keep_alive, version, head);
          });
        });
  }

  // The WebSocket route when the request matched its GET route.
  const WebSocketRoute* WebSocketRouteFor(const internal::BeastRequest& message) const {
    if (verdict_.route == nullptr || message.method() != bhttp::verb::get) {
      return nullptr;
    }
    return server_.router().FindWebSocket(verdict_.route->path);
  }

  // Answers an upgrade request with an ordinary response and closes.
  void RefuseUpgrade(Response response, unsigned version, std::optional<Rejection> rejection = {},
                     std::string handler_error = {}) {
    internal::Answer answer;
    answer.route_label = verdict_.route_label;
    answer.response = std::move(response);
    answer.rejection = rejection;
    answer.handler_ran = handler_error.empty() && !rejection;
    if (!handler_error.empty()) {
      server_.log().Error("http.handler_failed", {{"route", answer.route_label},
                                                  {"error", handler_error},
                                                  {"correlation_id", verdict_.correlation_id}});
    }
    Respond(std::move(answer), verdict_.correlation_id, false, version, false);
  }

  // A GET with "Upgrade: websocket" on a WebSocket route: check it, ask the route, and
  // hand the stream to a WebSocketConnection (this Session then ends).
  void Upgrade(const WebSocketRoute& route) {
    internal::BeastRequest message = parser_->release();
    unsigned version = message.version();
    if (buffer_.size() != 0) {
      // Frames before our 101: a client that does not wait for the handshake.
      RefuseUpgrade(BadUpgrade("data arrived before the WebSocket handshake completed"), version,
                    Rejection::kBadRequest);
      return;
    }
    auto ws_version = message.find(bhttp::field::sec_websocket_version);
    if (ws_version == message.end() || ws_version->value() != "13") {
      Response r = Response::Error(426, "upgrade_required",
                                   "unsupported WebSocket version; use Sec-WebSocket-Version: 13");
      r.headers.emplace_back("Sec-WebSocket-Version", "13");
      RefuseUpgrade(std::move(r), version);
      return;
    }
    if (message.find(bhttp::field::sec_websocket_key) == message.end()) {
      RefuseUpgrade(BadUpgrade("WebSocket upgrade without Sec-WebSocket-Key"), version,
                    Rejection::kBadRequest);
      return;
    }
    Request request = ToRequest(message, remote_, verdict_.correlation_id);
    const std::vector<std::string>& allowed = route.options.allowed_origins;
    if (!allowed.empty()) {
      std::optional<std::string_view> origin = request.Header("origin");
      if (!origin || std::find(allowed.begin(), allowed.end(), *origin) == allowed.end()) {
        server_.log().Info("websocket.origin_refused",
                           {{"route", verdict_.route_label},
                            {"origin", origin ? ClipForLog(*origin) : std::string("(none)")},
                            {"remote", remote_},
                            {"correlation_id", verdict_.correlation_id}});
        RefuseUpgrade(Response::Error(403, "origin_not_allowed",
                                      origin ? "this WebSocket endpoint does not accept "
                                               "connections from pages of this origin"
                                             : "this WebSocket endpoint needs an Origin header"),
                      version);
        return;
      }
    }
    WebSocketAcceptResult result;
    try {
      result = route.accept(request);
    } catch (const std::exception& e) {
      RefuseUpgrade(InternalError(), version, std::nullopt,
                    std::string("WebSocket accept threw: ") + e.what());
      return;
    } catch (...) {
      RefuseUpgrade(InternalError(), version, std::nullopt,
                    "WebSocket accept threw a non-std exception");
      return;
    }
    if (auto* refusal = std::get_if<Response>(&result)) {
      if (refusal->status < 400 || refusal->status > 599) {
        RefuseUpgrade(InternalError(), version, std::nullopt,
                      "WebSocket accept refused with status " + std::to_string(refusal->status) +
                          "; a refusal needs 400..599");
        return;
      }
      RefuseUpgrade(std::move(*refusal), version);
      return;
    }
    auto session = std::get<std::shared_ptr<WebSocketSession>>(std::move(result));
    if (!session) {
      RefuseUpgrade(InternalError(), version, std::nullopt,
                    "WebSocket accept returned a null session");
      return;
    }
    typename WebSocketConnection<kTls>::Setup setup{.tls = tls_,
                                                    .remote = remote_,
                                                    .correlation_id = verdict_.correlation_id,
                                                    .route_label = verdict_.route_label,
                                                    .first_byte = first_byte_,
                                                    .limits = limits_};
    upgraded_ = true;
    try {
      auto connection = std::make_shared<WebSocketConnection<kTls>>(
          server_, std::move(stream_), route, std::move(session), std::move(setup));
      // The connection now owns this Session's place in max_connections: the count is
      // handed over, never dropped and re-taken, so it neither dips nor doubles.
      count_handed_over_ = true;
      connection->Begin(std::move(message));
    } catch (const std::exception& e) {
      server_.log().Error("websocket.session_failed", {{"error", e.what()}});
    }
  }

  Response BadUpgrade(std::string_view why) const {
    internal::RejectDetail d;
    d.detail = why;
    return internal::Reject(Rejection::kBadRequest, verdict_.route_label, d).response;
  }

  Response InternalError() const {
    return Response::Error(500, "internal",
                           "the request failed inside opsgate; report correlation id " +
                               verdict_.correlation_id);
  }

  void OnAnswer(internal::Answer&& answer, bool keep_alive, unsigned version, bool head) {
    internal::SettleDeferred(answer, verdict_.correlation_id);
    if (!answer.handler_error.empty()) {
      server_.log().Error("http.handler_failed", {{"route", answer.route_label},
                                                  {"error", answer.handler_error},
                                                  {"correlation_id", verdict_.correlation_id}});
    }
    Respond(std::move(answer), verdict_.correlation_id, keep_alive, version, head);
  }

  void OnReadError(beast::error_code ec) {
    bool timed_out = timed_out_;
    DisarmDeadline();
    std::optional<Rejection> rejection =
        timed_out ? std::optional(Rejection::kReadTimeout) : internal::RejectionForReadError(ec);
    if (!rejection) {
      CloseNow();  // the client went away mid-request
      return;
    }
    std::string label = have_verdict_ ? verdict_.route_label : std::string(kUnmatchedRoute);
    std::string id = have_verdict_ ? verdict_.correlation_id : NewCorrelationId();
    internal::RejectDetail d;
    std::string detail = ec.message();
    switch (*rejection) {
      case Rejection::kHeaderTooLarge:
        d.limit = limits_->header_bytes;
        break;
      case Rejection::kBodyTooLarge:
        d.limit = verdict_.body_limit;
        break;
      case Rejection::kReadTimeout:
        d.limit = static_cast<size_t>(limits_->read_timeout.count());
        break;
      default:
        d.detail = detail;
        break;
    }
    Respond(internal::Reject(*rejection, std::move(label), d), id, false, 11, false);
  }

  // Writes `answer`; counts and logs it if the server refused the request.
  void Respond(internal::Answer&& answer, const std::string& correlation_id,
               bool request_keep_alive, unsigned version, bool head) {
    ++served_;
    keep_alive_ = internal::KeepAlive(answer, request_keep_alive, server_.draining(), served_,
                                      limits_->max_requests_per_connection);
    if (answer.rejection) {
      server_.CountRejection(*answer.rejection);
      server_.log().Info("http.rejected", {{"reason", RejectionReason(*answer.rejection)},
                                           {"status", answer.response.status},
                                           {"remote", remote_},
                                           {"correlation_id", correlation_id}});
    }
    route_label_ = std::move(answer.route_label);
    status_ = answer.response.status;
    correlation_id_ = correlation_id;
    internal::FinishOptions fo{.correlation_id = correlation_id,
                               .tls = kTls,
                               .keep_alive = keep_alive_,
                               .head = head,
                               .version = version,
                               .now = server_.clock().Now()};
    internal::BeastResponse response = internal::Finish(answer.response, fo);
    if (answering_websocket_path_ && status_ == 426) {
      // RFC 9110 15.5.22: a 426 names the protocol to switch to (Finish() drops Upgrade
      // and Connection from handler headers, as they are the server's).
      response.set(bhttp::field::upgrade, "websocket");
      response.set(bhttp::field::connection, keep_alive_ ? "Upgrade" : "Upgrade, close");
    }
    answering_websocket_path_ = false;
    Tcp().expires_after(limits_->write_timeout);
    beast::async_write(stream_, bhttp::message_generator(std::move(response)),
                       beast::bind_front_handler(&Session::OnWrite, this->shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t /*bytes*/) {
    double seconds =
        std::chrono::duration<double>(server_.clock().SteadyNow() - first_byte_).count();
    server_.RecordRequest(route_label_, status_, seconds);
    // Per-request lines are debug only: at tens of thousands of requests a second they
    // would cost more than the request; metrics carry the counts.
    if (server_.log().Enabled(telemetry::LogLevel::kDebug)) {
      server_.log().Debug("http.request", {{"method", method_},
                                          {"route", route_label_},
                                          {"status", status_},
                                          {"duration_ms", seconds * 1000.0},
                                          {"remote", remote_},
                                          {"correlation_id", correlation_id_}});
    }
    method_.clear();
    if (ec) {
      CloseNow();
      return;
    }
    if (!keep_alive_) {
      GracefulClose();
      return;
    }
    WaitForRequest();
  }

  // After a final response: stop sending, then read and drop what the client still sends
  // until it closes or a short linger passes, so that closing with unread data does not
  // reset the connection before the client has read the answer.
  void GracefulClose() {
    Tcp().expires_after(std::min(limits_->read_timeout, kMaxLinger));
    if constexpr (kTls) {
      // Send close_notify without waiting for the client's: OpenSSL 3 fails a waiting
      // shutdown with "application data after close notify" when the client is still
      // uploading. Marking the client's as received (as nginx does) makes SSL_shutdown
      // send ours and return at once; what follows is dropped unread below.
      SSL_set_shutdown(stream_.native_handle(), SSL_RECEIVED_SHUTDOWN);
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code ec) {
        if (ec) {
          self->CloseNow();
          return;
        }
        self->ShutdownSendAndLinger();
      });
    } else {
      ShutdownSendAndLinger();
    }
  }

  void ShutdownSendAndLinger() {
    beast::error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    Linger();
  }

  // Reads raw bytes (still encrypted under TLS) from the socket and drops them.
  void Linger() {
    Tcp().async_read_some(asio::buffer(linger_buf_),
                          [self = this->shared_from_this()](beast::error_code ec, size_t) {
                            if (ec) {
                              self->CloseNow();
                              return;
                            }
                            self->Linger();
                          });
  }

  void CloseNow() {
    idle_ = false;
    DisarmDeadline();
    beast::error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Tcp().close();
  }

  void ArmDeadline(milliseconds d) {
    ++deadline_generation_;
    timed_out_ = false;
    deadline_.expires_after(d);
    deadline_.async_wait(
        [self = this->shared_from_this(), generation = deadline_generation_](beast::error_code ec) {
          if (ec || generation != self->deadline_generation_) {
            return;
          }
          self->timed_out_ = true;
          self->Tcp().cancel();  // the pending read completes with operation_aborted
        });
  }

  void DisarmDeadline() {
    ++deadline_generation_;
    deadline_.cancel();
  }

  internal::ServerCore& server_;
  std::shared_ptr<ssl::context> tls_;  // before stream_, which refers to it
  Stream stream_;
  typename Stream::executor_type executor_;  // the connection's strand
  beast::flat_buffer buffer_;
  asio::steady_timer deadline_;
  uint64_t deadline_generation_ = 0;
  bool timed_out_ = false;
  std::string remote_;
  bool over_limit_;
  std::shared_ptr<const config::LimitsConfig> limits_;  // snapshot for the current request
  std::optional<internal::RequestParser> parser_;
  internal::HeaderVerdict verdict_;
  bool have_verdict_ = false;
  bool idle_ = false;  // waiting for the first byte of a request
  bool upgraded_ = false;  // stream_ now belongs to a WebSocketConnection
  bool count_handed_over_ = false;  // the WebSocketConnection counts this connection now
  bool answering_websocket_path_ = false;  // a plain request to a WebSocket route (426)
  bool keep_alive_ = false;
  size_t served_ = 0;
  core::Clock::SteadyTime first_byte_{};
  std::string method_;
  std::string route_label_;
  std::string correlation_id_;
  int status_ = 0;
  std::array<char, 4096> linger_buf_{};
};

}  // namespace

core::Status internal::ServerCore::Start() {
  if (started_) {
    return core::Fail(core::FailedPrecondition("Server::Start() was already called"));
  }
  if (options_.threads == 0) {
    return core::Fail(core::InvalidArgument("server threads must be at least 1"));
  }
  if (!options_.behind_tls_proxy) {
    if (!options_.tls) {
      return core::Fail(core::InvalidArgument(
          "TLS is required: set server.tls (cert_file, key_file), or behind_tls_proxy: true "
          "when a proxy in front terminates TLS"));
    }
    auto ctx = BuildTlsContext(*options_.tls);
    if (!ctx) {
      return core::Fail(ctx.error());
    }
    std::lock_guard<std::mutex> lock(tls_mu_);
    tls_ctx_ = *std::move(ctx);
  }

  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(options_.host, ec);
  if (ec) {
    tcp::resolver resolver(*ioc_);
    auto results = resolver.resolve(options_.host, "", ec);
    if (ec || results.empty()) {
      return core::Fail(core::InvalidArgument("listen host '" + options_.host +
                                              "' is neither an IP address nor a resolvable name" +
                                              (ec ? ": " + ec.message() : std::string())));
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, options_.port);
  std::string where = options_.host + ":" + std::to_string(options_.port);
  acceptor_.emplace(*control_);
  acceptor_->open(endpoint.protocol(), ec);
  if (ec) {
    return core::Fail(core::Unavailable("cannot open a socket for " + where + ": " + ec.message()));
  }
  acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  ec = {};
  acceptor_->bind(endpoint, ec);
  if (ec) {
    acceptor_.reset();
    if (ec == asio::error::address_in_use) {
      return core::Fail(core::Unavailable("cannot listen on " + where +
                                          ": address already in use; stop the other process "
                                          "or choose another port"));
    }
    if (ec == asio::error::access_denied) {
      return core::Fail(core::PermissionDenied("cannot listen on " + where + ": " + ec.message() +
                                               "; use a port above 1023 or grant "
                                               "CAP_NET_BIND_SERVICE"));
    }
    return core::Fail(core::Unavailable("cannot listen on " + where + ": " + ec.message()));
  }
  acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor_.reset();
    return core::Fail(core::Unavailable("cannot listen on " + where + ": " + ec.message()));
  }
  port_ = acceptor_->local_endpoint(ec).port();
  // Take over the signals before anyone can learn the port: a SIGHUP or SIGTERM sent
  // between "listening" and Run() is queued by the signal_set instead of killing the
  // process with the default disposition.
  signals_.emplace(*control_);
  for (int signo : {SIGHUP, SIGTERM, SIGINT}) {
    beast::error_code sig_ec;
    signals_->add(signo, sig_ec);
    if (sig_ec) {
      log_.Warn("http.signal_unavailable", {{"signal", signo}, {"error", sig_ec.message()}});
    }
  }
  started_ = true;
  log_.Info("http.listening", {{"address", address.to_string()},
                               {"port", static_cast<unsigned>(port_.load())},
                               {"tls", tls()},
                               {"threads", options_.threads}});
  asio::post(*control_, [this] { DoAccept(); });
  return core::Ok();
}

void internal::ServerCore::DoAccept() {
  if (!acceptor_ || !acceptor_->is_open()) {
    return;
  }
  acceptor_->async_accept(
      asio::make_strand(*ioc_),
      [this](beast::error_code ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
}

void internal::ServerCore::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_->is_open()) {
    return;  // closed by Drain()
  }
  if (ec) {
    log_.Warn("http.accept_failed", {{"error", ec.message()}});
    if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
        ec == asio::error::no_memory) {
      // Accepting again at once would spin; give closing connections a moment.
      accept_retry_timer_.emplace(*control_);
      accept_retry_timer_->expires_after(kAcceptRetryDelay);
      accept_retry_timer_->async_wait([this](beast::error_code tec) {
        if (!tec) {
          DoAccept();
        }
      });
      return;
    }
    DoAccept();
    return;
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  tcp::endpoint peer = socket.remote_endpoint(ignored);
  std::string remote = ignored ? std::string("unknown") : peer.address().to_string();

  size_t max_connections = Limits()->max_connections;
  if (open_connections_.load() >= max_connections + std::max<size_t>(max_connections, 16)) {
    // Far over the cap (a flood): answering each with a TLS handshake and a 503 would
    // cost what the cap protects, so close at once.
    CountRejection(Rejection::kConnectionLimit);
    socket.close(ignored);
    DoAccept();
    return;
  }
  open_connections_gauge_.Add(1);
  size_t open = ++open_connections_;
  bool over_limit = open > max_connections;
  try {
    if (tls()) {
      std::make_shared<Session<true>>(*this, std::move(socket), CurrentTls(), over_limit,
                                      std::move(remote))
          ->Begin();
    } else {
      std::make_shared<Session<false>>(*this, std::move(socket), nullptr, over_limit,
                                       std::move(remote))
          ->Begin();
    }
  } catch (const std::exception& e) {
    // A Session that was never constructed did not count itself down.
    open_connections_gauge_.Add(-1);
    --open_connections_;
    log_.Error("http.session_failed", {{"error", e.what()}});
  }
  DoAccept();
}

void internal::ServerCore::WaitForSignal() {
  signals_->async_wait([this](beast::error_code ec, int signo) {
    if (ec) {
      return;  // cancelled on shutdown
    }
    OnSignal(signo);
    WaitForSignal();
  });
}

void internal::ServerCore::OnSignal(int signo) {
  std::function<void(int)> handler;
  {
    std::lock_guard<std::mutex> lock(signal_mu_);
    handler = signal_handler_;
  }
  log_.Info("http.signal", {{"signal", signo}});
  if (handler) {
    try {
      handler(signo);
    } catch (const std::exception& e) {
      log_.Error("http.signal_handler_failed", {{"signal", signo}, {"error", e.what()}});
    } catch (...) {
      log_.Error("http.signal_handler_failed", {{"signal", signo}, {"error", "unknown"}});
    }
    return;
  }
  if (signo == SIGTERM || signo == SIGINT) {
    DoDrain();
  }
}

void internal::ServerCore::DoDrain() {
  if (draining_.exchange(true)) {
    return;
  }
  log_.Info("http.draining",
            {{"open_connections", static_cast<uint64_t>(open_connections_)},
             {"timeout_ms", static_cast<int64_t>(options_.drain_timeout.count())}});
  beast::error_code ignored;
  if (acceptor_) {
    acceptor_->close(ignored);
  }
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    for (auto& [ptr, weak] : sessions_) {
      if (auto s = weak.lock()) {
        live.push_back(std::move(s));
      }
    }
  }
  for (auto& s : live) {
    s->OnDrain();
  }
  live.clear();  // a Session released here may finish, and post Stop() itself
  if (open_connections_.load() == 0) {
    Stop("drained");
    return;
  }
  drain_timer_.emplace(*control_);
  drain_timer_->expires_after(options_.drain_timeout);
  drain_timer_->async_wait([this](beast::error_code ec) {
    if (!ec) {
      log_.Warn("http.drain_timeout",
                {{"open_connections", static_cast<uint64_t>(open_connections_)}});
      Stop("drain_timeout");
    }
  });
}

void internal::ServerCore::Stop(std::string_view why) {
  if (stopped_.exchange(true)) {
    return;
  }
  log_.Info("http.stopping", {{"reason", why}});
  ioc_->stop();
}

void internal::ServerCore::RunLoop() {
  for (;;) {
    try {
      ioc_->run();
      return;
    } catch (const std::exception& e) {
      // Handlers do not throw by design; if one does, keep serving the others.
      log_.Error("http.io_error", {{"error", e.what()}});
    } catch (...) {
      log_.Error("http.io_error", {{"error", "unknown exception"}});
    }
  }
}

void internal::ServerCore::Run() {
  if (!started_ || ran_) {
    log_.Error("http.run_refused",
               {{"error", started_ ? "Run() was already called" : "Start() did not succeed"}});
    return;
  }
  ran_ = true;
  asio::post(*control_, [this] { WaitForSignal(); });
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < options_.threads; ++i) {
    threads.emplace_back([this] { RunLoop(); });
  }
  RunLoop();
  for (auto& t : threads) {
    t.join();
  }
  stopped_ = true;
  // Restore the default dispositions: a second SIGTERM/SIGINT now ends the process.
  beast::error_code ignored;
  signals_->clear(ignored);
  log_.Info("http.stopped", {{"open_connections", static_cast<uint64_t>(open_connections_)}});
}

core::Status internal::ServerCore::ReloadTls(const config::TlsConfig& tls) {
  if (options_.behind_tls_proxy) {
    return core::Fail(core::FailedPrecondition(
        "this server serves plain HTTP (behind_tls_proxy); there is no TLS to reload"));
  }
  auto ctx = BuildTlsContext(tls);
  if (!ctx) {
    log_.Warn("http.tls_reload_failed", {{"error", ctx.error().message}});
    return core::Fail(ctx.error());
  }
  {
    std::lock_guard<std::mutex> lock(tls_mu_);
    tls_ctx_ = *std::move(ctx);
  }
  log_.Info("http.tls_reloaded", {{"cert_file", tls.cert_file}});
  return core::Ok();
}

class Server::Impl : public internal::ServerCore {
 public:
  using ServerCore::ServerCore;
};

Server::Server(ServerOptions options, const Router& router, telemetry::MetricsRegistry& metrics,
               telemetry::Logger& log, const core::Clock& clock)
    : impl_(std::make_shared<Impl>(std::move(options), router, metrics, log, clock)) {}

Server::~Server() = default;

core::Status Server::Start() { return impl_->Start(); }
uint16_t Server::port() const { return impl_->port(); }
void Server::SetSignalHandler(std::function<void(int signo)> handler) {
  impl_->SetSignalHandler(std::move(handler));
}
void Server::Run() { impl_->Run(); }
void Server::Drain() { impl_->Drain(); }
bool Server::Post(std::function<void()>& fn) { return impl_->Post(fn); }
core::Status Server::ReloadTls(const config::TlsConfig& tls) { return impl_->ReloadTls(tls); }
void Server::SetLimits(const config::LimitsConfig& limits) { impl_->SetLimits(limits); }

}  // namespace opsgate::http
