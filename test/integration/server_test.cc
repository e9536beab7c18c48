// Integration tests: the real opsgate binary, started on port 0 from a data
// directory made by `opsgate init`, spoken to over real HTTPS.
#include <openssl/ssl.h>
#include <signal.h>

#include <gtest/gtest.h>

#include "test/fakes/ci.h"

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test/integration/https_client.h"
#include "test/integration/opsgate_process.h"

namespace opsgate::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::trunc);
  out << text;
}

// Replaces the first occurrence of `from` in the file.
void EditFile(const fs::path& p, const std::string& from, const std::string& to) {
  std::string text = ReadFile(p);
  const size_t pos = text.find(from);
  ASSERT_NE(pos, std::string::npos) << "'" << from << "' not in " << p;
  text.replace(pos, from.size(), to);
  WriteFile(p, text);
}

using opsgate::testing::InCi;

// A data directory from `opsgate init` and a server serving it on a free port.
class RunningServer : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto init = RunOpsgate({"init", dir_.path() + "/data"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    config_ = dir_.path() + "/data/opsgate.yaml";
    ca_ = dir_.path() + "/data/tls/server.crt";
    // Short deadlines keep the slow-client tests fast.
    EditFile(config_, "read_timeout: 10s", "read_timeout: 1s");
    EditFile(config_, "idle_timeout: 60s", "idle_timeout: 2s");
    Customize();
    server_ = std::make_unique<OpsgateProcess>(
        std::vector<std::string>{"serve", "--config", config_, "--listen", "127.0.0.1:0"});
    port_ = server_->WaitUntilListening();
    ASSERT_NE(port_, 0) << server_->Stderr();
  }
  virtual void Customize() {}

  std::string Url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(port_) + path;
  }
  HttpResult Get(const std::string& path, std::vector<std::string> headers = {}) const {
    return Fetch({"GET", Url(path), "", std::move(headers), ca_});
  }

  TempDir dir_;
  std::string config_;
  std::string ca_;
  std::unique_ptr<OpsgateProcess> server_;
  uint16_t port_ = 0;
};

TEST_F(RunningServer, HealthzAnswersOk) {
  const auto r = Get("/healthz");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(boost::json::parse(r.body).at("status").as_string(), "ok");
  EXPECT_TRUE(r.Header("X-Correlation-Id").has_value());
  EXPECT_EQ(r.Header("Strict-Transport-Security"), "max-age=63072000");
}

TEST_F(RunningServer, ReadyzReportsTheStore) {
  const auto r = Get("/readyz");
  ASSERT_EQ(r.status, 200) << r.error;
  const auto obj = boost::json::parse(r.body).as_object();
  EXPECT_EQ(obj.at("status").as_string(), "ready");
  EXPECT_EQ(obj.at("store").as_string(), "sqlite");
  EXPECT_TRUE(fs::exists(dir_.path() + "/data/opsgate.db"));
}

TEST_F(RunningServer, MetricsCountRequestsAndPassPromtool) {
  ASSERT_EQ(Get("/healthz").status, 200);
  ASSERT_EQ(Get("/nope").status, 404);
  const auto r = Get("/metrics");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.Header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("opsgate_http_requests_total{route=\"/healthz\",status=\"200\"} 1"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("opsgate_http_request_duration_seconds_bucket{route=\"/healthz\""),
            std::string::npos);
  EXPECT_NE(r.body.find("opsgate_http_open_connections"), std::string::npos);
  EXPECT_NE(r.body.find("opsgate_http_rejections_total{reason=\"not_found\"} 1"),
            std::string::npos);

  const char* promtool = "/usr/bin/promtool";
  if (!fs::exists(promtool)) {
    if (InCi()) {
      FAIL() << "promtool is missing under CI; install the Debian package 'prometheus'";
    }
    GTEST_SKIP() << "promtool not installed (apt-get install prometheus); metrics format "
                    "not checked by promtool";
  }
  const std::string file = dir_.path() + "/metrics.txt";
  WriteFile(file, r.body);
  const std::string cmd =
      std::string(promtool) + " check metrics < " + file + " > " + file + ".out 2>&1";
  const int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << ReadFile(file + ".out");
  EXPECT_EQ(ReadFile(file + ".out"), "") << "promtool complained";
}

TEST_F(RunningServer, OversizedBodyGets413) {
  const std::string body(100 * 1024, 'a');  // default limit is 64 KiB
  const auto r = Fetch({"POST", Url("/readyz"), body, {}, ca_});
  ASSERT_EQ(r.status, 413) << r.error;
  EXPECT_EQ(boost::json::parse(r.body).at("error").as_string(), "body_too_large");
}

TEST_F(RunningServer, OversizedHeadersGet431) {
  const auto r = Get("/healthz", {"X-Big: " + std::string(16 * 1024, 'b')});
  ASSERT_EQ(r.status, 431) << r.error;
  EXPECT_EQ(boost::json::parse(r.body).at("error").as_string(), "header_too_large");
}

TEST_F(RunningServer, TricklingClientIsCutOff) {
  RawTlsConnection conn(port_);
  ASSERT_TRUE(conn.connected()) << conn.handshake_error();
  ASSERT_TRUE(conn.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
  // ...and never finishes its headers. read_timeout is 1 s.
  const std::string answer = conn.ReadAll();
  EXPECT_NE(answer.find("HTTP/1.1 408"), std::string::npos) << answer;
  EXPECT_TRUE(conn.PeerClosedWithin(3s));
}

TEST_F(RunningServer, Tls11HandshakeIsRefused) {
  RawTlsConnection old(port_, TLS1_1_VERSION, TLS1_1_VERSION);
  EXPECT_FALSE(old.connected());
  EXPECT_NE(old.handshake_error().find("protocol version"), std::string::npos)
      << old.handshake_error();
  RawTlsConnection tls10(port_, TLS1_VERSION, TLS1_VERSION);
  EXPECT_FALSE(tls10.connected());
  RawTlsConnection tls12(port_, TLS1_2_VERSION, TLS1_2_VERSION);
  ASSERT_TRUE(tls12.connected()) << tls12.handshake_error();
  EXPECT_EQ(tls12.Protocol(), "TLSv1.2");
  RawTlsConnection tls13(port_, TLS1_3_VERSION, TLS1_3_VERSION);
  ASSERT_TRUE(tls13.connected()) << tls13.handshake_error();
  EXPECT_EQ(tls13.Protocol(), "TLSv1.3");
}

TEST_F(RunningServer, SighupAppliesAValidConfigAndKeepsTheOldOnErrors) {
  // A valid change: a smaller body limit applies to new requests.
  EditFile(config_, "body_bytes: 64KiB", "body_bytes: 1KiB");
  size_t mark = server_->StderrLineCount();
  server_->Signal(SIGHUP);
  ASSERT_TRUE(server_->WaitForLog("config.reloaded", 10s, mark)) << server_->Stderr();
  const auto small = Fetch({"POST", Url("/readyz"), std::string(2048, 'x'), {}, ca_});
  EXPECT_EQ(small.status, 413);

  // A broken file is rejected; the server keeps serving with the last good config.
  EditFile(config_, "server:", "server:\n  lisen: nowhere");
  mark = server_->StderrLineCount();
  server_->Signal(SIGHUP);
  const auto line = server_->WaitForLog("config.reload_rejected", 10s, mark);
  ASSERT_TRUE(line) << server_->Stderr();
  EXPECT_NE(line->find("server.lisen"), std::string::npos) << *line;
  EXPECT_EQ(Get("/healthz").status, 200);
}

TEST_F(RunningServer, ReloadSaysWhichChangesNeedARestart) {
  std::ofstream(config_, std::ios::app) << "\nwebchat:\n  enabled: false\nidentity:\n"
                                        << "  link_ttl: 48h\n";
  const size_t mark = server_->StderrLineCount();
  server_->Signal(SIGHUP);
  ASSERT_TRUE(server_->WaitForLog("config.reloaded", 10s, mark)) << server_->Stderr();
  const auto webchat = server_->WaitForLog("\"key\":\"webchat.enabled\"", 5s, mark);
  ASSERT_TRUE(webchat) << server_->Stderr();
  EXPECT_NE(webchat->find("config.reload_needs_restart"), std::string::npos) << *webchat;
  EXPECT_TRUE(server_->WaitForLog("\"key\":\"identity\"", 5s, mark)) << server_->Stderr();
  // The web chat keeps serving until the restart.
  EXPECT_EQ(Get("/").status, 200);
}

TEST_F(RunningServer, SigtermDrainsAndExitsCleanly) {
  ASSERT_EQ(Get("/healthz").status, 200);
  server_->Signal(SIGTERM);
  const auto code = server_->Wait(15s);
  ASSERT_TRUE(code.has_value()) << "opsgate did not exit after SIGTERM";
  EXPECT_EQ(*code, 0) << server_->Stderr();
  EXPECT_NE(server_->Stderr().find("shutdown.complete"), std::string::npos);
}

class MetricsTokenServer : public RunningServer {
 protected:
  void Customize() override {
    WriteFile(dir_.path() + "/data/metrics.token", "s3cret-token\n");
    fs::permissions(dir_.path() + "/data/metrics.token", fs::perms::owner_read,
                    fs::perm_options::replace);
    EditFile(config_, "  # metrics_token: env:OPSGATE_METRICS_TOKEN",
             "  metrics_token: file:metrics.token");
  }
};

TEST_F(MetricsTokenServer, MetricsNeedTheBearerToken) {
  EXPECT_EQ(Get("/metrics").status, 401);
  EXPECT_EQ(Get("/metrics", {"Authorization: Bearer wrong"}).status, 401);
  const auto ok = Get("/metrics", {"Authorization: Bearer s3cret-token"});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(server_->Stderr().find("s3cret-token"), std::string::npos);
}

TEST(FirstStart, ServeWithoutConfigCreatesTheDataDirectory) {
  TempDir cwd;
  OpsgateProcess p({"serve", "--listen", "127.0.0.1:0"}, cwd.path());
  const uint16_t port = p.WaitUntilListening();
  ASSERT_NE(port, 0) << p.Stderr();
  const fs::path data = fs::path(cwd.path()) / "opsgate-data";
  EXPECT_TRUE(fs::exists(data / "opsgate.yaml"));
  EXPECT_TRUE(fs::exists(data / "opsgate.db"));
  EXPECT_TRUE(fs::exists(data / "keys" / "audit-signing.key"));
  const auto r = Fetch({"GET", "https://127.0.0.1:" + std::to_string(port) + "/healthz", "", {},
                        (data / "tls" / "server.crt").string()});
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_NE(p.Stdout().find("curl --cacert"), std::string::npos) << p.Stdout();
}

TEST(Cli, CheckNamesFileLineColumnAndKey) {
  TempDir dir;
  ASSERT_EQ(RunOpsgate({"init", dir.path()}).exit_code, 0);
  const std::string config = dir.path() + "/opsgate.yaml";
  EditFile(config, "  threads: 2", "  threads: many");
  const auto r = RunOpsgate({"check", "--config", config});
  EXPECT_EQ(r.exit_code, 1);
  // "threads" is on line 11 of the starter config, its value at column 12.
  EXPECT_NE(r.err.find(config + ":11:12: server.threads:"), std::string::npos) << r.err;
}

TEST(Cli, CheckRefusesAnInvalidRedactPattern) {
  TempDir dir;
  ASSERT_EQ(RunOpsgate({"init", dir.path()}).exit_code, 0);
  const std::string config = dir.path() + "/opsgate.yaml";
  std::ofstream(config, std::ios::app) << "\nredact:\n  extra_patterns:\n    - 'ticket-('\n";
  const auto r = RunOpsgate({"check", "--config", config});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("redact.extra_patterns"), std::string::npos) << r.err;
}

TEST(Cli, CheckOpensTheAuditAndDataKeysServeWouldNeed) {
  TempDir dir;
  ASSERT_EQ(RunOpsgate({"init", dir.path()}).exit_code, 0);
  const std::string config = dir.path() + "/opsgate.yaml";
  const fs::path keys = fs::path(dir.path()) / "keys";

  // A public key from another pair: verify would refuse every tree head.
  TempDir other;
  ASSERT_EQ(RunOpsgate({"init", other.path()}).exit_code, 0);
  fs::copy_file(fs::path(other.path()) / "keys" / "audit-signing.pub",
                keys / "audit-signing.pub", fs::copy_options::overwrite_existing);
  auto r = RunOpsgate({"check", "--config", config});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("audit.public_key"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("is not the public half of audit.signing_key"), std::string::npos) << r.err;

  // No data key: sealing audit fields cannot start.
  fs::copy_file(fs::path(other.path()) / "keys" / "audit-signing.pub",
                keys / "audit-signing.pub", fs::copy_options::overwrite_existing);
  fs::copy_file(fs::path(other.path()) / "keys" / "audit-signing.key",
                keys / "audit-signing.key", fs::copy_options::overwrite_existing);
  fs::remove(keys / "data.key");
  r = RunOpsgate({"check", "--config", config});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("keys.dir: no current key"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("audit.public_key"), std::string::npos) << "a matching pair passes: " << r.err;
}

TEST(Cli, CheckAcceptsTheStarterConfig) {
  TempDir dir;
  ASSERT_EQ(RunOpsgate({"init", dir.path()}).exit_code, 0);
  const auto r = RunOpsgate({"check", "--config", dir.path() + "/opsgate.yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(": OK"), std::string::npos);
}

TEST(Cli, InitRefusesToOverwrite) {
  TempDir dir;
  ASSERT_EQ(RunOpsgate({"init", dir.path()}).exit_code, 0);
  const std::string before = ReadFile(dir.path() + "/tls/server.crt");
  const auto again = RunOpsgate({"init", dir.path()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("never overwrites"), std::string::npos) << again.err;
  EXPECT_EQ(ReadFile(dir.path() + "/tls/server.crt"), before);
}

TEST(Cli, VersionAndHelpWork) {
  const auto v = RunOpsgate({"version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("opsgate ", 0), 0u);
  for (const std::string sub : {"serve", "init", "check", "version"}) {
    const auto h = RunOpsgate({sub, "--help"});
    EXPECT_EQ(h.exit_code, 0) << sub;
    EXPECT_NE(h.out.find("Usage"), std::string::npos) << sub << ": " << h.out;
  }
}

}  // namespace
}  // namespace opsgate::testing
