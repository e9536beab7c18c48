#include "opsgate/audit/export/syslog_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <thread>

namespace opsgate::audit::siem {
namespace {

using Clock = std::chrono::steady_clock;

std::string Errno(int err) { return std::strerror(err); }

// OpenSSL's queued errors as one string (and clears the queue).
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
  return out.empty() ? "no OpenSSL error reported" : out;
}

bool IsIpLiteral(const std::string& host) {
  in6_addr a6{};
  in_addr a4{};
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

core::Status CheckReadable(const std::string& file, std::string_view what) {
  if (::access(file.c_str(), R_OK) != 0) {
    const int err = errno;
    return core::Fail(core::FailedPrecondition("syslog export: cannot read " + std::string(what) +
                                               " " + file + ": " + Errno(err)));
  }
  return core::Ok();
}

// Blocks SIGPIPE in this thread while OpenSSL writes to the socket, and swallows a
// SIGPIPE raised meanwhile, so a closed peer is an EPIPE error and not a signal.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        timespec zero{};
        while (sigtimedwait(&pipe_, nullptr, &zero) == -1 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

}  // namespace

struct SyslogClient::Tls {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  ~Tls() {
    if (ssl != nullptr) {
      SSL_free(ssl);
    }
    if (ctx != nullptr) {
      SSL_CTX_free(ctx);
    }
  }
};

core::Result<std::unique_ptr<SyslogClient>> SyslogClient::Create(SyslogClientOptions o) {
  if (o.host.empty()) {
    return core::Fail(
        core::InvalidArgument("syslog export: host is empty; set the receiver's "
                              "host name or IP address"));
  }
  if (o.port == 0) {
    return core::Fail(
        core::InvalidArgument("syslog export: port must be 1..65535 (6514 for "
                              "TLS, 514 for plain TCP)"));
  }
  if (o.connect_timeout.count() <= 0 || o.io_timeout.count() <= 0) {
    return core::Fail(
        core::InvalidArgument("syslog export: connect and I/O timeouts must be "
                              "positive"));
  }
  if (o.client_cert_file.empty() != o.client_key_file.empty()) {
    return core::Fail(core::InvalidArgument(
        "syslog export: set both client_cert_file and client_key_file, or neither"));
  }
  if (o.server_name.empty()) {
    o.server_name = o.host;
  }
  std::unique_ptr<Tls> tls;
  if (o.tls) {
    if (o.ca_file.empty()) {
      return core::Fail(core::InvalidArgument(
          "syslog export: TLS needs ca_file, the PEM file of the CA that signs the "
          "receiver's certificate (or set tls: false for plain TCP)"));
    }
    OPSGATE_RETURN_IF_ERROR(CheckReadable(o.ca_file, "CA file"));
    tls = std::make_unique<Tls>();
    ERR_clear_error();
    tls->ctx = SSL_CTX_new(TLS_client_method());
    if (tls->ctx == nullptr || SSL_CTX_set_min_proto_version(tls->ctx, TLS1_2_VERSION) != 1) {
      return core::Fail(
          core::Internal("syslog export: cannot create a TLS context: " + OpenSslErrors()));
    }
    if (SSL_CTX_load_verify_locations(tls->ctx, o.ca_file.c_str(), nullptr) != 1) {
      return core::Fail(
          core::FailedPrecondition("syslog export: CA file " + o.ca_file +
                                   " holds no usable PEM certificate: " + OpenSslErrors()));
    }
    SSL_CTX_set_verify(tls->ctx, SSL_VERIFY_PEER, nullptr);
    if (!o.client_cert_file.empty()) {
      OPSGATE_RETURN_IF_ERROR(CheckReadable(o.client_cert_file, "client certificate"));
      OPSGATE_RETURN_IF_ERROR(CheckReadable(o.client_key_file, "client key"));
      if (SSL_CTX_use_certificate_chain_file(tls->ctx, o.client_cert_file.c_str()) != 1) {
        return core::Fail(
            core::FailedPrecondition("syslog export: client certificate " + o.client_cert_file +
                                     " holds no usable PEM certificate: " + OpenSslErrors()));
      }
      if (SSL_CTX_use_PrivateKey_file(tls->ctx, o.client_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        return core::Fail(core::FailedPrecondition(
            "syslog export: client key " + o.client_key_file +
            " holds no usable unencrypted PEM private key, or the key does not belong to " +
            o.client_cert_file + ": " + OpenSslErrors()));
      }
      if (SSL_CTX_check_private_key(tls->ctx) != 1) {
        return core::Fail(core::FailedPrecondition("syslog export: client key " +
                                                   o.client_key_file + " does not belong to " +
                                                   o.client_cert_file + ": " + OpenSslErrors()));
      }
    }
  }
  core::UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) {
    const int err = errno;
    return core::Fail(core::Unavailable("syslog export: eventfd failed: " + Errno(err)));
  }
  return std::unique_ptr<SyslogClient>(
      new SyslogClient(std::move(o), std::move(tls), std::move(wake)));
}

SyslogClient::SyslogClient(SyslogClientOptions options, std::unique_ptr<Tls> tls,
                           core::UniqueFd wake)
    : options_(std::move(options)), tls_(std::move(tls)), wake_(std::move(wake)) {}

SyslogClient::~SyslogClient() { Disconnect(); }

std::string SyslogClient::Describe() const {
  const bool v6 = options_.host.find(':') != std::string::npos;
  return std::string(options_.tls ? "syslog+tls://" : "syslog+tcp://") + (v6 ? "[" : "") +
         options_.host + (v6 ? "]" : "") + ":" + std::to_string(options_.port);
}

void SyslogClient::Interrupt() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof(one));
}

bool SyslogClient::Interrupted() const {
  pollfd p{wake_.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

SyslogClient::Wait SyslogClient::WaitFor(short events, Clock::time_point deadline) {
  while (true) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return Wait::kTimeout;
    }
    pollfd p[2] = {{fd_.get(), events, 0}, {wake_.get(), POLLIN, 0}};
    const int rc = ::poll(p, 2, static_cast<int>(std::min<int64_t>(left.count(), INT_MAX)));
    if (rc < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Wait::kError;
    }
    if (p[1].revents != 0) {
      return Wait::kInterrupted;
    }
    if (p[0].revents != 0) {
      return Wait::kReady;  // including POLLERR/POLLHUP: the next call reports them
    }
  }
}

core::Status SyslogClient::Fail(core::Error error) {
  Disconnect();
  return core::Fail(std::move(error));
}

core::Status SyslogClient::ConnectTcp(Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options_.port);
  const int gai = ::getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found);
  if (gai != 0) {
    return core::Fail(core::Unavailable("syslog export: cannot resolve host '" + options_.host +
                                        "': " + ::gai_strerror(gai)));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addrs(found, &::freeaddrinfo);
  core::Error last =
      core::Unavailable("syslog export: host '" + options_.host + "' resolved to no address");
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    char name[INET6_ADDRSTRLEN] = "?";
    const void* sa =
        ai->ai_family == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr);
    ::inet_ntop(ai->ai_family, sa, name, sizeof(name));
    const std::string where = Describe() + " (" + name + ")";

    fd_ = core::UniqueFd(
        ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd_.valid()) {
      const int err = errno;
      last = core::Unavailable("syslog export: socket() failed: " + Errno(err));
      continue;
    }
    if (::connect(fd_.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        const int err = errno;
        last = core::Unavailable("syslog export: connect to " + where + " failed: " + Errno(err) +
                                 "; is the receiver running and listening there?");
        continue;
      }
      switch (WaitFor(POLLOUT, deadline)) {
        case Wait::kReady:
          break;
        case Wait::kTimeout:
          fd_ = core::UniqueFd();
          return core::Fail(
              core::DeadlineExceeded("syslog export: connect to " + where + " timed out after " +
                                     std::to_string(options_.connect_timeout.count()) + " ms"));
        case Wait::kInterrupted:
          fd_ = core::UniqueFd();
          return core::Fail(core::Cancelled("syslog export: connect cancelled (shutting down)"));
        case Wait::kError:
          break;
      }
      int err = 0;
      socklen_t len = sizeof(err);
      if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        err = errno;
      }
      if (err != 0) {
        last = core::Unavailable("syslog export: connect to " + where + " failed: " + Errno(err) +
                                 "; is the receiver running and listening there?");
        fd_ = core::UniqueFd();
        continue;
      }
    }
    const int on = 1;
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    return core::Ok();
  }
  fd_ = core::UniqueFd();
  return core::Fail(std::move(last));
}

core::Status SyslogClient::Handshake(Clock::time_point deadline) {
  ERR_clear_error();
  tls_->ssl = SSL_new(tls_->ctx);
  if (tls_->ssl == nullptr || SSL_set_fd(tls_->ssl, fd_.get()) != 1) {
    return core::Fail(core::Internal("syslog export: SSL_new failed: " + OpenSslErrors()));
  }
  const std::string& name = options_.server_name;
  if (IsIpLiteral(name)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tls_->ssl), name.c_str()) != 1) {
      return core::Fail(core::InvalidArgument("syslog export: bad server IP '" + name + "'"));
    }
  } else {
    // SSL_set_tlsext_host_name without its C cast (SNI).
    if (SSL_ctrl(tls_->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(name.c_str())) != 1 ||
        SSL_set1_host(tls_->ssl, name.c_str()) != 1) {
      return core::Fail(core::InvalidArgument("syslog export: bad server name '" + name +
                                              "': " + OpenSslErrors()));
    }
  }
  while (true) {
    ERR_clear_error();
    const int rc = SSL_connect(tls_->ssl);
    if (rc == 1) {
      return core::Ok();
    }
    const int err = SSL_get_error(tls_->ssl, rc);
    Wait w = Wait::kError;
    if (err == SSL_ERROR_WANT_READ) {
      w = WaitFor(POLLIN, deadline);
    } else if (err == SSL_ERROR_WANT_WRITE) {
      w = WaitFor(POLLOUT, deadline);
    } else {
      const long verify = SSL_get_verify_result(tls_->ssl);
      if (verify != X509_V_OK) {
        return core::Fail(core::FailedPrecondition(
            "syslog export: the TLS certificate of " + Describe() +
            " was not accepted: " + X509_verify_cert_error_string(verify) + " (expected name '" +
            name + "', trusted CAs from " + options_.ca_file +
            "); fix ca_file or server_name, or the receiver's certificate"));
      }
      const int sys = errno;
      std::string why = OpenSslErrors();
      if (err == SSL_ERROR_SYSCALL) {
        why = sys != 0 ? Errno(sys) : "connection closed by the receiver";
      }
      return core::Fail(core::Unavailable("syslog export: TLS handshake with " + Describe() +
                                          " failed: " + why +
                                          "; does the receiver speak TLS on that port?"));
    }
    if (w == Wait::kTimeout) {
      return core::Fail(
          core::DeadlineExceeded("syslog export: TLS handshake with " + Describe() + " timed out"));
    }
    if (w == Wait::kInterrupted) {
      return core::Fail(core::Cancelled("syslog export: TLS handshake cancelled (shutting down)"));
    }
  }
}

core::Status SyslogClient::Connect() {
  Disconnect();
  if (Interrupted()) {
    return core::Fail(core::Cancelled("syslog export: cancelled (shutting down)"));
  }
  const auto deadline = Clock::now() + options_.connect_timeout;
  if (auto ok = ConnectTcp(deadline); !ok) {
    return Fail(ok.error());
  }
  if (tls_) {
    SigpipeGuard guard;
    if (auto ok = Handshake(deadline); !ok) {
      return Fail(ok.error());
    }
  }
  connected_ = true;
  return core::Ok();
}

bool SyslogClient::Connected() {
  if (!connected_) {
    return false;
  }
  // Has the peer closed (FIN), reset (RST) or sent anything? Syslog receivers send
  // nothing, so readable means closing; TLS may deliver session tickets, which SSL_read
  // consumes without returning data.
  pollfd p{fd_.get(), POLLIN | POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) {
    return true;
  }
  if ((p.revents & (POLLERR | POLLHUP | POLLRDHUP)) != 0) {
    Disconnect();
    return false;
  }
  char buf[4096];
  if (tls_) {
    SigpipeGuard guard;
    while (true) {
      ERR_clear_error();
      const int rc = SSL_read(tls_->ssl, buf, sizeof(buf));
      if (rc > 0) {
        continue;  // unexpected data; ignore it
      }
      const int err = SSL_get_error(tls_->ssl, rc);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        return true;
      }
      Disconnect();
      return false;
    }
  }
  while (true) {
    const ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    Disconnect();
    return false;
  }
}

core::Status SyslogClient::Send(std::string_view bytes) {
  if (!connected_) {
    return core::Fail(core::Unavailable("syslog export: not connected to " + Describe()));
  }
  const auto deadline = Clock::now() + options_.io_timeout;
  size_t off = 0;
  SigpipeGuard guard;
  while (off < bytes.size()) {
    const size_t chunk = std::min<size_t>(bytes.size() - off, INT_MAX);
    short want = POLLOUT;
    if (tls_) {
      ERR_clear_error();
      const int rc = SSL_write(tls_->ssl, bytes.data() + off, static_cast<int>(chunk));
      if (rc > 0) {
        off += static_cast<size_t>(rc);
        continue;
      }
      const int err = SSL_get_error(tls_->ssl, rc);
      if (err == SSL_ERROR_WANT_READ) {
        want = POLLIN;
      } else if (err != SSL_ERROR_WANT_WRITE) {
        const int sys = errno;
        return Fail(core::Unavailable(
            "syslog export: sending to " + Describe() +
            " failed: " + (err == SSL_ERROR_SYSCALL && sys != 0 ? Errno(sys) : OpenSslErrors()) +
            " (the records are resent after reconnecting)"));
      }
    } else {
      const ssize_t n = ::send(fd_.get(), bytes.data() + off, chunk, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        const int err = errno;
        return Fail(core::Unavailable("syslog export: sending to " + Describe() + " failed: " +
                                      Errno(err) + " (the records are resent after reconnecting)"));
      }
    }
    switch (WaitFor(want, deadline)) {
      case Wait::kReady:
      case Wait::kError:
        break;
      case Wait::kTimeout:
        return Fail(core::DeadlineExceeded(
            "syslog export: sending to " + Describe() + " made no progress for " +
            std::to_string(options_.io_timeout.count()) + " ms; is the receiver overloaded?"));
      case Wait::kInterrupted:
        return Fail(core::Cancelled("syslog export: send cancelled (shutting down)"));
    }
  }
  return core::Ok();
}

core::Status SyslogClient::Flush() {
  if (!connected_) {
    return core::Fail(core::Unavailable("syslog export: not connected to " + Describe()));
  }
  const auto deadline = Clock::now() + options_.io_timeout;
  while (true) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
      return Fail(core::Unavailable("syslog export: connection to " + Describe() + " failed: " +
                                    Errno(err) + " (the records are resent after reconnecting)"));
    }
    int unacked = 0;
    if (::ioctl(fd_.get(), SIOCOUTQ, &unacked) != 0) {
      break;  // not supported: fall back to the closed-peer check
    }
    if (unacked == 0) {
      break;
    }
    if (Clock::now() >= deadline) {
      return Fail(core::DeadlineExceeded("syslog export: " + Describe() + " did not acknowledge " +
                                         std::to_string(unacked) + " bytes within " +
                                         std::to_string(options_.io_timeout.count()) +
                                         " ms (the records are resent after reconnecting)"));
    }
    pollfd p{wake_.get(), POLLIN, 0};
    if (::poll(&p, 1, 2) > 0) {
      return Fail(core::Cancelled("syslog export: flush cancelled (shutting down)"));
    }
  }
  if (!Connected()) {
    return core::Fail(core::Unavailable("syslog export: " + Describe() +
                                        " closed the connection (the records are resent "
                                        "after reconnecting)"));
  }
  return core::Ok();
}

void SyslogClient::Disconnect() {
  if (tls_ && tls_->ssl != nullptr) {
    SigpipeGuard guard;
    if (connected_) {
      ERR_clear_error();
      SSL_shutdown(tls_->ssl);  // one non-blocking attempt at close_notify
    }
    SSL_free(tls_->ssl);
    tls_->ssl = nullptr;
    ERR_clear_error();
  }
  fd_ = core::UniqueFd();
  connected_ = false;
}

}  // namespace opsgate::audit::siem
