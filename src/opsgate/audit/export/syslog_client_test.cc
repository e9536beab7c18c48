#include "opsgate/audit/export/syslog_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "opsgate/crypto/keys.h"

namespace opsgate::audit::siem {
namespace {

using namespace std::chrono_literals;

// A loopback listener on an ephemeral port; optionally TLS with the given cert/key.
// Serves one connection: reads until EOF (or until told to close) into `received`.
class LoopbackServer {
 public:
  struct Config {
    std::string cert_pem;
    std::string key_pem;
    bool read = true;  // false: accept, never read (fills the client's window)
    bool close_at_once = false;
  };

  explicit LoopbackServer(Config config) : config_(std::move(config)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(::listen(listen_fd_, 4), 0);
    socklen_t len = sizeof(a);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~LoopbackServer() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    if (conn_fd_ >= 0) {
      ::shutdown(conn_fd_, SHUT_RDWR);
    }
    thread_.join();
    ::close(listen_fd_);
    if (ctx_ != nullptr) {
      SSL_CTX_free(ctx_);
    }
  }

  uint16_t port() const { return port_; }
  std::string received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  bool WaitFor(size_t bytes, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (received().size() >= bytes) {
        return true;
      }
      std::this_thread::sleep_for(2ms);
    }
    return false;
  }
  std::atomic<bool> handshake_failed{false};
  std::atomic<bool> accepted{false};

 private:
  void Serve() {
    // Test server only: a client that hangs up must not kill the test with SIGPIPE
    // (the signal goes to the writing thread; blocked here, it never fires).
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      return;
    }
    conn_fd_ = fd;
    accepted = true;
    if (config_.close_at_once) {
      ::close(fd);
      conn_fd_ = -1;
      return;
    }
    SSL* ssl = nullptr;
    if (!config_.cert_pem.empty()) {
      ctx_ = SSL_CTX_new(TLS_server_method());
      BIO* cb = BIO_new_mem_buf(config_.cert_pem.data(), static_cast<int>(config_.cert_pem.size()));
      X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
      BIO* kb = BIO_new_mem_buf(config_.key_pem.data(), static_cast<int>(config_.key_pem.size()));
      EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
      SSL_CTX_use_certificate(ctx_, cert);
      SSL_CTX_use_PrivateKey(ctx_, key);
      X509_free(cert);
      EVP_PKEY_free(key);
      BIO_free(cb);
      BIO_free(kb);
      ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) != 1) {
        handshake_failed = true;
        ERR_clear_error();
        SSL_free(ssl);
        ::close(fd);
        return;
      }
    }
    char buf[16384];
    while (!stop_ && config_.read) {
      const int n = ssl != nullptr ? SSL_read(ssl, buf, sizeof(buf))
                                   : static_cast<int>(::recv(fd, buf, sizeof(buf), 0));
      if (n <= 0) {
        break;
      }
      std::lock_guard<std::mutex> lock(mu_);
      received_.append(buf, static_cast<size_t>(n));
    }
    while (!stop_) {
      std::this_thread::sleep_for(5ms);
    }
    if (ssl != nullptr) {
      SSL_free(ssl);
    }
    ::close(fd);
  }

  Config config_;
  int listen_fd_ = -1;
  std::atomic<int> conn_fd_{-1};
  uint16_t port_ = 0;
  SSL_CTX* ctx_ = nullptr;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string received_;
  std::thread thread_;
};

class SyslogClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("opsgate_syslog_client_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    const auto p = (dir_ / name).string();
    std::ofstream(p) << content;
    return p;
  }

  crypto::DevCertificate Cert() {
    auto c = crypto::GenerateDevCertificate({"syslog.test"}, 1, std::chrono::system_clock::now());
    EXPECT_TRUE(c.has_value());
    return *c;
  }

  SyslogClientOptions Plain(uint16_t port) {
    SyslogClientOptions o;
    o.host = "127.0.0.1";
    o.port = port;
    o.tls = false;
    o.connect_timeout = 2000ms;
    o.io_timeout = 2000ms;
    return o;
  }

  std::filesystem::path dir_;
};

TEST_F(SyslogClientTest, PlainTcpDeliversBytes) {
  LoopbackServer server({});
  auto client = SyslogClient::Create(Plain(server.port()));
  ASSERT_TRUE(client.has_value()) << client.error();
  EXPECT_EQ((*client)->Describe(), "syslog+tcp://127.0.0.1:" + std::to_string(server.port()));
  ASSERT_TRUE((*client)->Connect().has_value());
  EXPECT_TRUE((*client)->Connected());
  ASSERT_TRUE((*client)->Send("5 hello3 abc").has_value());
  ASSERT_TRUE((*client)->Flush().has_value());
  ASSERT_TRUE(server.WaitFor(12, 5s));
  EXPECT_EQ(server.received(), "5 hello3 abc");
}

TEST_F(SyslogClientTest, RefusedConnectionSaysWhatToCheck) {
  uint16_t port = 0;
  {
    LoopbackServer gone({.close_at_once = true});
    port = gone.port();
    auto c = SyslogClient::Create(Plain(port));
    ASSERT_TRUE((*c)->Connect().has_value());
  }
  auto client = SyslogClient::Create(Plain(port));
  ASSERT_TRUE(client.has_value());
  auto st = (*client)->Connect();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(st.error().message.find("listening"), std::string::npos) << st.error().message;
  EXPECT_FALSE((*client)->Connected());
}

TEST_F(SyslogClientTest, NoticesWhenThePeerCloses) {
  LoopbackServer server({.close_at_once = true});
  auto client = SyslogClient::Create(Plain(server.port()));
  ASSERT_TRUE((*client)->Connect().has_value());
  for (int i = 0; i < 500 && (*client)->Connected(); ++i) {
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_FALSE((*client)->Connected());
  EXPECT_FALSE((*client)->Send("1 x").has_value());
}

TEST_F(SyslogClientTest, SendTimesOutAndCanBeInterrupted) {
  LoopbackServer server({.read = false});
  auto o = Plain(server.port());
  o.io_timeout = 300ms;
  auto client = SyslogClient::Create(o);
  ASSERT_TRUE((*client)->Connect().has_value());
  const std::string big(64 << 20, 'x');
  auto st = (*client)->Send(big);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, core::ErrorCode::kDeadlineExceeded);
  EXPECT_FALSE((*client)->Connected());

  LoopbackServer server2({.read = false});
  auto o2 = Plain(server2.port());
  o2.io_timeout = 60s;
  auto client2 = SyslogClient::Create(o2);
  ASSERT_TRUE((*client2)->Connect().has_value());
  std::thread interrupter([&] {
    std::this_thread::sleep_for(200ms);
    (*client2)->Interrupt();
  });
  const auto start = std::chrono::steady_clock::now();
  auto st2 = (*client2)->Send(big);
  interrupter.join();
  ASSERT_FALSE(st2.has_value());
  EXPECT_EQ(st2.error().code, core::ErrorCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST_F(SyslogClientTest, TlsVerifiesTheServerAndDelivers) {
  const auto cert = Cert();
  LoopbackServer server({.cert_pem = cert.cert_pem, .key_pem = std::string(cert.key_pem.Reveal())});
  auto o = Plain(server.port());
  o.tls = true;
  o.ca_file = Write("ca.pem", cert.cert_pem);
  o.server_name = "syslog.test";
  auto client = SyslogClient::Create(o);
  ASSERT_TRUE(client.has_value()) << client.error();
  auto st = (*client)->Connect();
  ASSERT_TRUE(st.has_value()) << st.error();
  EXPECT_TRUE((*client)->Connected());
  ASSERT_TRUE((*client)->Send("3 abc").has_value());
  ASSERT_TRUE((*client)->Flush().has_value());
  ASSERT_TRUE(server.WaitFor(5, 5s));
  EXPECT_EQ(server.received(), "3 abc");
  EXPECT_TRUE((*client)->Connected());  // session tickets are not a close
}

TEST_F(SyslogClientTest, TlsIpLiteralMatchesIpSan) {
  const auto cert = Cert();
  LoopbackServer server({.cert_pem = cert.cert_pem, .key_pem = std::string(cert.key_pem.Reveal())});
  auto o = Plain(server.port());
  o.tls = true;
  o.ca_file = Write("ca.pem", cert.cert_pem);
  auto client = SyslogClient::Create(o);
  auto st = (*client)->Connect();
  ASSERT_TRUE(st.has_value()) << st.error();
}

TEST_F(SyslogClientTest, TlsRejectsAWrongName) {
  const auto cert = Cert();
  LoopbackServer server({.cert_pem = cert.cert_pem, .key_pem = std::string(cert.key_pem.Reveal())});
  auto o = Plain(server.port());
  o.tls = true;
  o.ca_file = Write("ca.pem", cert.cert_pem);
  o.server_name = "other.example";
  auto client = SyslogClient::Create(o);
  auto st = (*client)->Connect();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(st.error().message.find("other.example"), std::string::npos) << st.error().message;
  EXPECT_FALSE((*client)->Connected());
}

TEST_F(SyslogClientTest, TlsRejectsAnUntrustedCertificate) {
  const auto cert = Cert();
  const auto other = Cert();
  LoopbackServer server({.cert_pem = cert.cert_pem, .key_pem = std::string(cert.key_pem.Reveal())});
  auto o = Plain(server.port());
  o.tls = true;
  o.ca_file = Write("other.pem", other.cert_pem);
  auto client = SyslogClient::Create(o);
  auto st = (*client)->Connect();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(st.error().message.find("not accepted"), std::string::npos) << st.error().message;
}

TEST_F(SyslogClientTest, TlsAgainstAPlainServerFailsClearly) {
  LoopbackServer server({.close_at_once = true});
  const auto cert = Cert();
  auto o = Plain(server.port());
  o.tls = true;
  o.ca_file = Write("ca.pem", cert.cert_pem);
  auto client = SyslogClient::Create(o);
  auto st = (*client)->Connect();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(st.error().message.find("TLS"), std::string::npos) << st.error().message;
}

TEST_F(SyslogClientTest, CreateChecksConfiguration) {
  SyslogClientOptions o;
  EXPECT_EQ(SyslogClient::Create(o).error().code, core::ErrorCode::kInvalidArgument);
  o.host = "127.0.0.1";
  auto no_ca = SyslogClient::Create(o);
  ASSERT_FALSE(no_ca.has_value());
  EXPECT_NE(no_ca.error().message.find("ca_file"), std::string::npos);
  o.ca_file = (dir_ / "missing.pem").string();
  auto missing = SyslogClient::Create(o);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(missing.error().message.find("missing.pem"), std::string::npos);
  o.ca_file = Write("junk.pem", "not a certificate");
  auto junk = SyslogClient::Create(o);
  ASSERT_FALSE(junk.has_value());
  EXPECT_EQ(junk.error().code, core::ErrorCode::kFailedPrecondition);
  const auto cert = Cert();
  const auto other = Cert();
  o.ca_file = Write("ca.pem", cert.cert_pem);
  o.client_cert_file = Write("client.pem", cert.cert_pem);
  auto half = SyslogClient::Create(o);
  ASSERT_FALSE(half.has_value());
  EXPECT_EQ(half.error().code, core::ErrorCode::kInvalidArgument);
  o.client_key_file = Write("client.key", std::string(other.key_pem.Reveal()));
  auto mismatch = SyslogClient::Create(o);
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_EQ(mismatch.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(mismatch.error().message.find("does not belong"), std::string::npos)
      << mismatch.error().message;
  o.client_key_file = Write("client.key", std::string(cert.key_pem.Reveal()));
  EXPECT_TRUE(SyslogClient::Create(o).has_value());
}

}  // namespace
}  // namespace opsgate::audit::siem
