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
#include <boost/beast/core/buffers_generator.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message_generator.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "opsgate/http/internal/request_flow.h"
#include "opsgate/http/request_path.h"
#include "opsgate/http/tls_profile.h"

namespace opsgate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
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
        limits_(std::make_shared<const config::LimitsConfig>(options_.limits)) {
    for (size_t i = 0; i < kAllRejections.size(); ++i) {
      rejection_counters_[i] = &rejections_.With({RejectionReason(kAllRejections[i])});
    }
  }

  ~ServerCore() {
    stopped_ = true;
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
  void Register(SessionBase* s, std::weak_ptr<SessionBase> weak) {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    sessions_.emplace(s, std::move(weak));
  }
  // From a Session's destructor.
  void Unregister(SessionBase* s) {
    {
      std::lock_guard<std::mutex> lock(sessions_mu_);
      sessions_.erase(s);
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
        deadline_(stream_.get_executor()),
        remote_(std::move(remote)),
        over_limit_(over_limit),
        limits_(server.Limits()) {}

  ~Session() override { server_.Unregister(this); }

  void Begin() {
    server_.Register(this, this->weak_from_this());
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::OnBegin, this->shared_from_this()));
  }

  void OnDrain() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->idle_) {
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
    bool keep_alive = message.keep_alive();
    unsigned version = message.version();
    bool head = message.method() == bhttp::verb::head;
    // Synchronous handlers answer inline (dispatch runs on this strand at once); async
    // ones answer from another thread, and the write is posted back to the strand.
    auto self = this->shared_from_this();
    internal::DispatchAsync(
        parser_->release(), verdict_, server_.router(), remote_,
        [self, keep_alive, version, head](internal::Answer answer) {
          asio::dispatch(self->stream_.get_executor(),
                         [self, answer = std::move(answer), keep_alive, version, head]() mutable {
                           self->OnAnswer(std::move(answer), keep_alive, version, head);
                         });
        });
  }

  void OnAnswer(internal::Answer&& answer, bool keep_alive, unsigned version, bool head) {
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
core::Status Server::ReloadTls(const config::TlsConfig& tls) { return impl_->ReloadTls(tls); }
void Server::SetLimits(const config::LimitsConfig& limits) { impl_->SetLimits(limits); }

}  // namespace opsgate::http
