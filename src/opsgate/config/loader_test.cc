#include "opsgate/config/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace opsgate::config {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Each test gets a fresh directory holding a readable TLS certificate and private key
// (tls/server.crt, tls/server.key, mode 600); the config "file" is <dir>/opsgate.yaml.
class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("opsgate_loader_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "tls");
    Write("tls/server.crt", "-----BEGIN CERTIFICATE-----\n");
    Write("tls/server.key", "-----BEGIN PRIVATE KEY-----\n");
    file_ = (dir_ / "opsgate.yaml").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content, mode_t mode = 0600) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    ::chmod(path.c_str(), mode);
    return path.string();
  }

  LoadOutcome Parse(std::string_view yaml) { return ParseConfig(yaml, file_); }

  // The ToString() of each diagnostic of `severity`, in order.
  static std::vector<std::string> Lines(const LoadOutcome& outcome, Diagnostic::Severity severity) {
    std::vector<std::string> out;
    for (const Diagnostic& d : outcome.diagnostics) {
      if (d.severity == severity) {
        out.push_back(d.ToString());
      }
    }
    return out;
  }
  std::vector<std::string> Errors(std::string_view yaml) {
    return Lines(Parse(yaml), Diagnostic::Severity::kError);
  }
  std::vector<std::string> Warnings(std::string_view yaml) {
    const LoadOutcome outcome = Parse(yaml);
    EXPECT_TRUE(outcome.ok()) << ::testing::PrintToString(
        Lines(outcome, Diagnostic::Severity::kError));
    return Lines(outcome, Diagnostic::Severity::kWarning);
  }
  // "<file>:<rest>": the expected text of a diagnostic.
  std::string At(const std::string& rest) const { return file_ + ":" + rest; }
  std::string Path(const std::string& rel) const { return (dir_ / rel).string(); }

  fs::path dir_;
  std::string file_;
};

constexpr std::string_view kProxy = "server:\n  behind_tls_proxy: true\n";

TEST_F(LoaderTest, FullConfigRoundTripsIntoStructs) {
  ::setenv("OPSGATE_TEST_METRICS_TOKEN", "t", 1);
  fs::create_directories(dir_ / "data/tls");
  Write("data/tls/a.crt", "cert");
  Write("data/tls/a.key", "key");
  const LoadOutcome outcome = Parse(R"(
dev: false
data_dir: ./data/../data
server:
  listen: "[::1]:9443"
  behind_tls_proxy: false
  threads: 8
  drain_timeout: 30s
  metrics_token: env:OPSGATE_TEST_METRICS_TOKEN
  tls:
    cert: tls/a.crt
    key: tls/a.key
    profile: modern
  limits:
    header_bytes: 16KiB
    body_bytes: 1MiB
    read_timeout: 500ms
    idle_timeout: 2m
    write_timeout: 15
    max_connections: 2048
    max_requests_per_connection: 100
store:
  driver: sqlite
  path: db/opsgate.db
log:
  level: debug
)");
  ::unsetenv("OPSGATE_TEST_METRICS_TOKEN");
  ASSERT_TRUE(outcome.ok()) << ::testing::PrintToString(outcome.diagnostics);
  EXPECT_THAT(outcome.diagnostics, IsEmpty());
  const Config& c = *outcome.config;
  EXPECT_EQ(c.source_path, file_);
  EXPECT_FALSE(c.dev);
  EXPECT_EQ(c.data_dir, Path("data"));
  EXPECT_EQ(c.server.listen_host, "::1");
  EXPECT_EQ(c.server.listen_port, 9443);
  EXPECT_FALSE(c.server.behind_tls_proxy);
  EXPECT_EQ(c.server.threads, 8u);
  EXPECT_EQ(c.server.drain_timeout, milliseconds(30'000));
  ASSERT_TRUE(c.server.metrics_token.has_value());
  EXPECT_EQ(c.server.metrics_token->Describe(), "env:OPSGATE_TEST_METRICS_TOKEN");
  ASSERT_TRUE(c.server.tls.has_value());
  EXPECT_EQ(c.server.tls->cert_file, Path("data/tls/a.crt"));
  EXPECT_EQ(c.server.tls->key_file, Path("data/tls/a.key"));
  EXPECT_EQ(c.server.tls->profile, TlsProfile::kModern);
  EXPECT_EQ(c.server.limits.header_bytes, 16u * 1024);
  EXPECT_EQ(c.server.limits.body_bytes, 1024u * 1024);
  EXPECT_EQ(c.server.limits.read_timeout, milliseconds(500));
  EXPECT_EQ(c.server.limits.idle_timeout, milliseconds(120'000));
  EXPECT_EQ(c.server.limits.write_timeout, milliseconds(15'000));
  EXPECT_EQ(c.server.limits.max_connections, 2048u);
  EXPECT_EQ(c.server.limits.max_requests_per_connection, 100u);
  EXPECT_EQ(c.store.driver, StoreDriver::kSqlite);
  EXPECT_EQ(c.store.path, Path("data/db/opsgate.db"));
  EXPECT_EQ(c.log.level, "debug");
}

TEST_F(LoaderTest, MinimalConfigKeepsTheDefaults) {
  const LoadOutcome outcome = Parse(kProxy);
  ASSERT_TRUE(outcome.ok()) << ::testing::PrintToString(outcome.diagnostics);
  EXPECT_THAT(outcome.diagnostics, IsEmpty());
  const Config& c = *outcome.config;
  EXPECT_EQ(c.data_dir, dir_.string());
  EXPECT_EQ(c.server.listen_host, "127.0.0.1");
  EXPECT_EQ(c.server.listen_port, 8443);
  EXPECT_FALSE(c.server.tls.has_value());
  EXPECT_FALSE(c.server.metrics_token.has_value());
  EXPECT_EQ(c.server.threads, 2u);
  EXPECT_EQ(c.server.limits.body_bytes, 64u * 1024);
  EXPECT_EQ(c.server.limits.idle_timeout, milliseconds(60'000));
  EXPECT_EQ(c.store.path, Path("opsgate.db"));
  EXPECT_EQ(c.audit.path, Path("audit.db"));
  EXPECT_EQ(c.audit.signing_key, Path("keys/audit-signing.key"));
  EXPECT_EQ(c.audit.public_key, Path("keys/audit-signing.pub"));
  EXPECT_EQ(c.audit.tree_head_every, 1000u);
  EXPECT_EQ(c.audit.tree_head_interval, milliseconds(10'000));
  EXPECT_EQ(c.audit.max_batch, 1024u);
  EXPECT_TRUE(c.audit.seal_fields);
  EXPECT_EQ(c.audit.rejection_records_per_second, 100u);
  EXPECT_EQ(c.keys.dir, Path("keys"));
  EXPECT_EQ(c.log.level, "info");
}

TEST_F(LoaderTest, AuditSectionIsReadAndChecked) {
  const LoadOutcome outcome = Parse(std::string(kProxy) + R"(audit:
  path: logs/audit.db
  signing_key: /etc/opsgate/audit.key
  tree_head_every: 50
  tree_head_interval: 2s
  max_batch: 256
)");
  ASSERT_TRUE(outcome.ok()) << ::testing::PrintToString(outcome.diagnostics);
  const Config& c = *outcome.config;
  EXPECT_EQ(c.audit.path, Path("logs/audit.db"));
  EXPECT_EQ(c.audit.signing_key, "/etc/opsgate/audit.key");
  EXPECT_EQ(c.audit.tree_head_every, 50u);
  EXPECT_EQ(c.audit.tree_head_interval, milliseconds(2000));
  EXPECT_EQ(c.audit.max_batch, 256u);
  EXPECT_FALSE(Parse(std::string(kProxy) + "audit:\n  tree_head_every: 0\n").ok());
  EXPECT_FALSE(Parse(std::string(kProxy) + "audit:\n  max_batch: 100000\n").ok());
  EXPECT_FALSE(Parse(std::string(kProxy) + "audit:\n  rejection_records_per_second: 0\n").ok());
  EXPECT_EQ(Parse(std::string(kProxy) + "audit:\n  rejection_records_per_second: 5\n")
                .config->audit.rejection_records_per_second,
            5u);
  EXPECT_FALSE(Parse(std::string(kProxy) + "audit:\n  colour: red\n").ok());
}

TEST_F(LoaderTest, UnsealedAuditFieldsAreAllowedWithAWarning) {
  const LoadOutcome outcome =
      Parse(std::string(kProxy) + "audit:\n  seal_fields: false\nkeys:\n  dir: /etc/opsgate/keys\n");
  ASSERT_TRUE(outcome.ok()) << ::testing::PrintToString(outcome.diagnostics);
  EXPECT_FALSE(outcome.config->audit.seal_fields);
  EXPECT_EQ(outcome.config->keys.dir, "/etc/opsgate/keys");
  ASSERT_EQ(outcome.diagnostics.size(), 1u);
  EXPECT_NE(outcome.diagnostics[0].ToString().find("audit.seal_fields"), std::string::npos)
      << outcome.diagnostics[0].ToString();
  EXPECT_FALSE(Parse(std::string(kProxy) + "keys:\n  provider: kms\n").ok());
}

TEST_F(LoaderTest, SyslogExportSectionIsReadAndChecked) {
  const std::string ca = (dir_ / "ca.pem").string();
  std::ofstream(ca) << "pem";
  const LoadOutcome outcome = Parse(std::string(kProxy) +
                                    "audit:\n  export:\n    syslog:\n      host: siem.example\n"
                                    "      ca_file: ca.pem\n      facility: 16\n"
                                    "      poll_interval: 500ms\n");
  ASSERT_TRUE(outcome.ok()) << ::testing::PrintToString(outcome.diagnostics);
  ASSERT_TRUE(outcome.config->audit.syslog_export.has_value());
  const SyslogExportConfig& e = *outcome.config->audit.syslog_export;
  EXPECT_EQ(e.host, "siem.example");
  EXPECT_EQ(e.port, 6514);
  EXPECT_TRUE(e.tls);
  EXPECT_EQ(e.ca_file, ca);
  EXPECT_EQ(e.facility, 16);
  EXPECT_EQ(e.poll_interval, milliseconds(500));
  EXPECT_FALSE(e.open_sealed_fields);
  EXPECT_EQ(e.format, "syslog");
  EXPECT_FALSE(Parse(kProxy).config->audit.syslog_export.has_value());

  const auto errors = [&](const std::string& section) {
    return Errors(std::string(kProxy) + "audit:\n  export:\n    syslog:\n" + section);
  };
  EXPECT_THAT(errors("      ca_file: ca.pem\n"),
              ElementsAre(HasSubstr("audit.export.syslog.host: required key is missing")));
  EXPECT_THAT(errors("      host: h\n"),
              ElementsAre(HasSubstr("audit.export.syslog.ca_file: required key is missing")));
  EXPECT_THAT(errors("      host: h\n      ca_file: ca.pem\n      client_cert: ca.pem\n"),
              ElementsAre(HasSubstr("client_cert and client_key go together")));
  EXPECT_THAT(errors("      host: h\n      ca_file: ca.pem\n      facility: 24\n"),
              ElementsAre(HasSubstr("audit.export.syslog.facility")));
  EXPECT_THAT(errors("      host: h\n      ca_file: ca.pem\n      format: cef\n"),
              ElementsAre(HasSubstr("audit.export.syslog.format: expected one of syslog, jsonl")));
  // Plain TCP needs no CA and is warned about.
  const LoadOutcome plain = Parse(std::string(kProxy) +
                                  "audit:\n  export:\n    syslog:\n      host: h\n"
                                  "      port: 514\n      tls: false\n");
  ASSERT_TRUE(plain.ok()) << ::testing::PrintToString(plain.diagnostics);
  ASSERT_EQ(plain.diagnostics.size(), 1u);
  EXPECT_NE(plain.diagnostics[0].ToString().find("unencrypted"), std::string::npos);
}

TEST_F(LoaderTest, IdentitySectionDefaultsToTheListenAddressAndChecksTheProvider) {
  ::setenv("OPSGATE_TEST_OIDC_SECRET", "s3cret", 1);
  const LoadOutcome outcome = Parse(std::string(kProxy) +
                                    "identity:\n  link_ttl: 48h\n  oidc:\n"
                                    "    issuer: https://idp.example/realms/ops\n"
                                    "    client_id: opsgate\n"
                                    "    client_secret: env:OPSGATE_TEST_OIDC_SECRET\n");
  ASSERT_TRUE(outcome.ok()) << ::testing::PrintToString(outcome.diagnostics);
  const IdentityConfig& id = outcome.config->identity;
  EXPECT_EQ(id.public_url, "https://127.0.0.1:8443");
  EXPECT_EQ(id.link_token_ttl, std::chrono::seconds(600));
  EXPECT_EQ(id.link_ttl, std::chrono::hours(48));
  ASSERT_TRUE(id.oidc.has_value());
  EXPECT_EQ(id.oidc->issuer, "https://idp.example/realms/ops");
  EXPECT_EQ(id.oidc->redirect_uri, "https://127.0.0.1:8443/auth/callback");
  EXPECT_EQ(id.oidc->client_auth, "client_secret_basic");
  EXPECT_EQ(id.oidc->groups_claim, "groups");
  EXPECT_FALSE(Parse(kProxy).config->identity.oidc.has_value());

  const auto errors = [&](const std::string& oidc) {
    return Errors(std::string(kProxy) + "identity:\n  oidc:\n" + oidc);
  };
  EXPECT_THAT(errors("    client_id: x\n    client_auth: none\n"),
              ElementsAre(HasSubstr("identity.oidc.issuer: required key is missing")));
  EXPECT_THAT(errors("    issuer: http://idp.example\n    client_id: x\n    client_auth: none\n"),
              ElementsAre(HasSubstr("identity.oidc.issuer: expected an https:// URL")));
  EXPECT_THAT(errors("    issuer: https://idp.example\n    client_id: x\n"),
              ElementsAre(HasSubstr("identity.oidc.client_secret: required with client_auth")));
  EXPECT_THAT(errors("    issuer: http://127.0.0.1:9\n    client_id: x\n    client_auth: none\n"
                     "    allow_http: true\n"),
              ElementsAre(HasSubstr("identity.oidc.allow_http: http:// identity providers are "
                                    "only for tests")));
  ::unsetenv("OPSGATE_TEST_OIDC_SECRET");
}

TEST_F(LoaderTest, RedactPatternsAreAListOfStrings) {
  const LoadOutcome outcome = Parse(std::string(kProxy) +
                                    "redact:\n  extra_patterns:\n    - 'ticket-[0-9]{6}'\n"
                                    "    - 'pin=([0-9]{4})'\n");
  ASSERT_TRUE(outcome.ok()) << ::testing::PrintToString(outcome.diagnostics);
  EXPECT_EQ(outcome.config->redact.extra_patterns,
            (std::vector<std::string>{"ticket-[0-9]{6}", "pin=([0-9]{4})"}));
  EXPECT_TRUE(Parse(kProxy).config->redact.extra_patterns.empty());
  const LoadOutcome scalar = Parse(std::string(kProxy) + "redact:\n  extra_patterns: abc\n");
  ASSERT_FALSE(scalar.ok());
  EXPECT_NE(scalar.diagnostics.at(0).ToString().find(
                "redact.extra_patterns: expected a list of strings"),
            std::string::npos)
      << scalar.diagnostics.at(0).ToString();
}

TEST_F(LoaderTest, TlsPathsResolveAgainstTheConfigDirectoryByDefault) {
  const LoadOutcome outcome = Parse(
      "server:\n  tls:\n    cert: tls/server.crt\n"
      "    key: " +
      Path("tls/server.key") + "\n");
  ASSERT_TRUE(outcome.ok()) << ::testing::PrintToString(outcome.diagnostics);
  EXPECT_EQ(outcome.config->server.tls->cert_file, Path("tls/server.crt"));
  EXPECT_EQ(outcome.config->server.tls->key_file, Path("tls/server.key"));
  EXPECT_EQ(outcome.config->server.tls->profile, TlsProfile::kIntermediate);
}

TEST_F(LoaderTest, EmptySectionsAndCommentsKeepDefaults) {
  const LoadOutcome outcome =
      Parse("# nothing here yet\nlog:\nstore:\nserver:\n  behind_tls_proxy: true\n");
  ASSERT_TRUE(outcome.ok()) << ::testing::PrintToString(outcome.diagnostics);
  EXPECT_EQ(outcome.config->log.level, "info");
}

TEST_F(LoaderTest, UnknownKeySuggestsTheClosestKnownKey) {
  EXPECT_THAT(Errors(R"(server:
  behind_tls_proxy: true
  lisen: 127.0.0.1:8443
)"),
              ElementsAre(At("3:3: server.lisen: unknown key (did you mean 'listen'?)")));
}

TEST_F(LoaderTest, UnknownKeyWithoutCloseMatchListsTheKnownKeys) {
  EXPECT_THAT(Errors("log:\n  colour: true\n"),
              ElementsAre(At("2:3: log.colour: unknown key (expected one of level)"),
                          file_ + ": server.tls: required unless server.behind_tls_proxy is true "
                                  "(add tls.cert and tls.key, or set behind_tls_proxy: true when "
                                  "a TLS proxy sits in front)"));
}

TEST_F(LoaderTest, WrongTypeNamesTheExpectedForm) {
  EXPECT_THAT(Errors(R"(server:
  behind_tls_proxy: true
  limits:
    body_bytes: lots
    threads_x: 1
)"),
              ElementsAre(At("4:17: server.limits.body_bytes: expected a size like 65536, 64KiB "
                             "or 1MiB (got 'lots')"),
                          At("5:5: server.limits.threads_x: unknown key (expected one of "
                             "header_bytes, body_bytes, read_timeout, idle_timeout, "
                             "write_timeout, max_connections, max_requests_per_connection)")));
  EXPECT_THAT(Errors("server:\n  behind_tls_proxy: [true]\n"),
              ElementsAre(At("2:21: server.behind_tls_proxy: expected true or false (got a "
                             "list)")));
  EXPECT_THAT(Errors("server: 8443\n"),
              ElementsAre(At("1:9: server: expected a mapping of keys (got '8443')")));
}

TEST_F(LoaderTest, OutOfRangeValuesNameTheRange) {
  EXPECT_THAT(Errors(R"(server:
  behind_tls_proxy: true
  threads: 100
  limits:
    header_bytes: 2MiB
    read_timeout: 0s
    idle_timeout: 2h
    max_connections: 0
)"),
              ElementsAre(At("3:12: server.threads: expected an integer from 1 to 64 (got '100')"),
                          At("5:19: server.limits.header_bytes: must be between 1KiB and 1MiB "
                             "(got '2MiB')"),
                          At("6:19: server.limits.read_timeout: must be greater than 0 and at "
                             "most 1h (got '0s')"),
                          At("7:19: server.limits.idle_timeout: must be greater than 0 and at "
                             "most 1h (got '2h')"),
                          At("8:22: server.limits.max_connections: expected an integer from 1 to "
                             "1000000 (got '0')")));
}

TEST_F(LoaderTest, SizesAcceptOnlyBytesKiBAndMiB) {
  const auto outcome = Parse(
      "server:\n  behind_tls_proxy: true\n  limits:\n"
      "    header_bytes: 1024\n    body_bytes: 512B\n");
  ASSERT_TRUE(outcome.ok()) << ::testing::PrintToString(outcome.diagnostics);
  EXPECT_EQ(outcome.config->server.limits.header_bytes, 1024u);
  EXPECT_EQ(outcome.config->server.limits.body_bytes, 512u);
  EXPECT_THAT(Errors("server:\n  behind_tls_proxy: true\n  limits:\n    body_bytes: 64KB\n"),
              ElementsAre(At("4:17: server.limits.body_bytes: expected a size like 65536, 64KiB "
                             "or 1MiB (got '64KB'; the units are B, KiB and MiB)")));
  EXPECT_THAT(
      Errors("server:\n  behind_tls_proxy: true\n  limits:\n    body_bytes: "
             "99999999999999999999MiB\n"),
      ElementsAre(At("4:17: server.limits.body_bytes: expected a size like 65536, 64KiB or 1MiB "
                     "(got '99999999999999999999MiB')")));
  EXPECT_THAT(
      Errors("server:\n  behind_tls_proxy: true\n  limits:\n    body_bytes: 9999999999999MiB\n"),
      ElementsAre(At("4:17: server.limits.body_bytes: must be between 1 and 64MiB (got "
                     "'9999999999999MiB')")));
}

TEST_F(LoaderTest, DurationsAcceptUnitsAndPlainSeconds) {
  const auto outcome = Parse(
      "server:\n  behind_tls_proxy: true\n  drain_timeout: 0\n  limits:\n"
      "    read_timeout: 1h\n    idle_timeout: 30\n    write_timeout: 1500ms\n");
  ASSERT_TRUE(outcome.ok()) << ::testing::PrintToString(outcome.diagnostics);
  EXPECT_EQ(outcome.config->server.drain_timeout, milliseconds(0));
  EXPECT_EQ(outcome.config->server.limits.read_timeout, milliseconds(3'600'000));
  EXPECT_EQ(outcome.config->server.limits.idle_timeout, milliseconds(30'000));
  EXPECT_EQ(outcome.config->server.limits.write_timeout, milliseconds(1'500));
  EXPECT_THAT(Errors("server:\n  behind_tls_proxy: true\n  drain_timeout: 1.5s\n"),
              ElementsAre(At("3:18: server.drain_timeout: expected a duration like 500ms, 10s, "
                             "2m or 1h (got '1.5s')")));
}

TEST_F(LoaderTest, TlsIsRequiredWithoutAProxy) {
  EXPECT_THAT(Errors("server:\n  listen: 127.0.0.1:8443\n"),
              ElementsAre(At("1:1: server.tls: required unless server.behind_tls_proxy is true "
                             "(add tls.cert and tls.key, or set behind_tls_proxy: true when a TLS "
                             "proxy sits in front)")));
}

TEST_F(LoaderTest, TlsFilesMustExistAndBeReadable) {
  Write("tls/open.key", "key", 0644);
  EXPECT_THAT(Errors("server:\n  tls:\n    profile: moden\n"),
              ElementsAre(At("2:3: server.tls.cert: required key is missing (a file path, "
                             "relative to data_dir)"),
                          At("2:3: server.tls.key: required key is missing (a file path, "
                             "relative to data_dir)"),
                          At("3:14: server.tls.profile: expected one of intermediate, modern "
                             "(got 'moden'; did you mean 'modern'?)")));
  EXPECT_THAT(Errors("server:\n  tls:\n    cert: tls/nope.crt\n    key: tls\n"),
              ElementsAre(At("3:11: server.tls.cert: file " + Path("tls/nope.crt") +
                             " does not exist (relative paths resolve against data_dir " +
                             dir_.string() + ")"),
                          At("4:10: server.tls.key: " + Path("tls") +
                             " is not a regular file (point it at a PEM file)")));
  EXPECT_THAT(Warnings("server:\n  tls:\n    cert: tls/server.crt\n    key: tls/open.key\n"),
              ElementsAre(At("4:10: warning: server.tls.key: private key " + Path("tls/open.key") +
                             " is readable by group or others (run chmod 600 " +
                             Path("tls/open.key") + ")")));
}

TEST_F(LoaderTest, LiteralSecretIsRefusedWithoutDev) {
  const auto errors = Errors("server:\n  behind_tls_proxy: true\n  metrics_token: hunter2\n");
  EXPECT_THAT(errors, ElementsAre(At("3:18: server.metrics_token: a literal secret is not "
                                     "allowed; use env:NAME or file:PATH (or set dev: true for a "
                                     "development setup)")));
  for (const auto& e : errors) {
    EXPECT_THAT(e, Not(::testing::HasSubstr("hunter2")));
  }
}

TEST_F(LoaderTest, LiteralSecretInDevModeIsWarned) {
  const auto warnings = Warnings(
      "dev: true\nserver:\n  behind_tls_proxy: true\n"
      "  metrics_token: hunter2\n");
  EXPECT_THAT(warnings,
              ElementsAre(At("1:6: warning: dev: development mode: literal secrets allowed; never "
                             "use in production"),
                          At("4:18: warning: server.metrics_token: a literal secret is in the "
                             "config file; use env:NAME or file:PATH outside development")));
  const auto outcome = Parse("dev: true\nserver:\n  behind_tls_proxy: true\n  metrics_token: x\n");
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome.config->server.metrics_token->kind, SecretRef::Kind::kLiteral);
  EXPECT_EQ(outcome.config->server.metrics_token->Describe(), "literal");
}

TEST_F(LoaderTest, MalformedSecretReferencesAreErrors) {
  EXPECT_THAT(Errors("server:\n  behind_tls_proxy: true\n  metrics_token: 'env:'\n"),
              ElementsAre(At("3:18: server.metrics_token: expected an environment variable name "
                             "after 'env:' (letters, digits and '_', not starting with a "
                             "digit)")));
  EXPECT_THAT(Errors("server:\n  behind_tls_proxy: true\n  metrics_token: env:MY-TOKEN\n"),
              ElementsAre(At("3:18: server.metrics_token: expected an environment variable name "
                             "after 'env:' (letters, digits and '_', not starting with a "
                             "digit)")));
  EXPECT_THAT(Errors("server:\n  behind_tls_proxy: true\n  metrics_token: 'file:'\n"),
              ElementsAre(At("3:18: server.metrics_token: expected a path after 'file:' (like "
                             "file:/etc/opsgate/token)")));
  EXPECT_THAT(Errors("server:\n  behind_tls_proxy: true\n  metrics_token: ''\n"),
              ElementsAre(At("3:18: server.metrics_token: expected a secret reference like "
                             "env:NAME or file:PATH (got nothing)")));
}

TEST_F(LoaderTest, SecretReferencesThatWouldNotResolveAreWarned) {
  ::unsetenv("OPSGATE_TEST_UNSET_TOKEN");
  EXPECT_THAT(Warnings("server:\n  behind_tls_proxy: true\n"
                       "  metrics_token: env:OPSGATE_TEST_UNSET_TOKEN\n"),
              ElementsAre(At("3:18: warning: server.metrics_token: secret "
                             "env:OPSGATE_TEST_UNSET_TOKEN: the environment variable is not set "
                             "(export it before starting opsgate)")));
  EXPECT_THAT(Warnings("server:\n  behind_tls_proxy: true\n  metrics_token: file:missing\n"),
              ElementsAre(At("3:18: warning: server.metrics_token: secret file:" + Path("missing") +
                             ": the file does not exist (create it with mode "
                             "600)")));
  Write("open-token", "t\n", 0644);
  EXPECT_THAT(
      Warnings("server:\n  behind_tls_proxy: true\n  metrics_token: file:open-token\n"),
      ElementsAre(At("3:18: warning: server.metrics_token: secret file:" + Path("open-token") +
                     ": the file is readable by group or others (run chmod 600 " +
                     Path("open-token") + ")")));
  Write("token", "t\n", 0600);
  const auto outcome = Parse("server:\n  behind_tls_proxy: true\n  metrics_token: file:token\n");
  EXPECT_THAT(outcome.diagnostics, IsEmpty());
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome.config->server.metrics_token->Describe(), "file:" + Path("token"));
}

TEST_F(LoaderTest, ExposedListenersAreWarned) {
  EXPECT_THAT(Warnings("server:\n  listen: 0.0.0.0:8080\n  behind_tls_proxy: true\n"),
              ElementsAre(At("2:11: warning: server.listen: /metrics is readable by anyone who "
                             "can reach the listener; set server.metrics_token"),
                          At("3:21: warning: server.behind_tls_proxy: plain HTTP on a "
                             "non-loopback address: make sure only the TLS proxy can reach it")));
  EXPECT_THAT(Warnings("server:\n  listen: localhost:0\n  behind_tls_proxy: true\n"), IsEmpty());
  EXPECT_THAT(Warnings("server:\n  listen: '[::1]:80'\n  behind_tls_proxy: true\n"), IsEmpty());
}

TEST_F(LoaderTest, ListenAddressesAreChecked) {
  const auto outcome = Parse("server:\n  listen: opsgate.internal:0\n  behind_tls_proxy: true\n");
  ASSERT_TRUE(outcome.ok()) << ::testing::PrintToString(outcome.diagnostics);
  EXPECT_EQ(outcome.config->server.listen_host, "opsgate.internal");
  EXPECT_EQ(outcome.config->server.listen_port, 0);
  const std::string expected = "expected HOST:PORT like 127.0.0.1:8443 or [::1]:8443";
  EXPECT_THAT(Errors("server:\n  behind_tls_proxy: true\n  listen: ::1:8443\n"),
              ElementsAre(At("3:11: server.listen: " + expected +
                             " (got '::1:8443'; write IPv6 addresses in brackets, like "
                             "[::1]:8443)")));
  EXPECT_THAT(Errors("server:\n  behind_tls_proxy: true\n  listen: 127.0.0.1:65536\n"),
              ElementsAre(At("3:11: server.listen: " + expected +
                             " (got '127.0.0.1:65536'; the port is 0 to 65535)")));
  EXPECT_THAT(Errors("server:\n  behind_tls_proxy: true\n  listen: 300.1.1.1:80\n"),
              ElementsAre(At("3:11: server.listen: " + expected + " (got '300.1.1.1:80')")));
  EXPECT_THAT(Errors("server:\n  behind_tls_proxy: true\n  listen: 8443\n"),
              ElementsAre(At("3:11: server.listen: " + expected + " (got '8443')")));
}

TEST_F(LoaderTest, PostgresIsNotAvailableYet) {
  EXPECT_THAT(Errors(std::string(kProxy) + "store:\n  driver: postgres\n"),
              ElementsAre(At("4:11: store.driver: postgres driver is not available in this build "
                             "yet (use sqlite)")));
}

TEST_F(LoaderTest, DuplicateKeysAreErrors) {
  EXPECT_THAT(Errors(R"(server:
  behind_tls_proxy: true
  threads: 4
  threads: 8
)"),
              ElementsAre(At("4:3: server.threads: duplicate key (first defined at line 3; keep "
                             "one)")));
}

TEST_F(LoaderTest, AliasesAreRefused) {
  EXPECT_THAT(Errors(R"(server:
  behind_tls_proxy: true
  limits:
    read_timeout: &t 10s
    write_timeout: *t
)"),
              ElementsAre(At("5:20: server.limits.write_timeout: aliases are not supported in "
                             "opsgate config (write the value out)")));
}

TEST_F(LoaderTest, DeepFlowNestingIsRefusedBeforeParsing) {
  EXPECT_THAT(Errors("x: " + std::string(100'000, '[')),
              ElementsAre(At("1:35: nesting is deeper than 32 levels (flatten the structure)")));
  // Up to the limit the text parses (and x is merely unknown).
  const std::string ok = "x: " + std::string(31, '[') + std::string(31, ']') + "\n";
  EXPECT_THAT(Errors(std::string(kProxy) + ok),
              ElementsAre(At("3:1: x: unknown key (expected one of dev, data_dir, server, store, "
                             "audit, keys, log, redact, connectors, outbound, identity, "
                             "webchat, policy, intents, aws)")));
}

TEST_F(LoaderTest, DeepBlockNestingIsRefusedBeforeParsing) {
  std::string deep;
  for (int i = 0; i < 40; ++i) {
    deep += std::string(i, ' ') + "k:\n";
  }
  EXPECT_THAT(Errors(deep),
              ElementsAre(At("33:33: nesting is deeper than 32 levels (flatten the structure)")));
  std::string dashes;
  for (int i = 0; i < 1000; ++i) {
    dashes += "- ";
  }
  EXPECT_THAT(Errors(dashes + "x\n"),
              ElementsAre(At("1:63: nesting is deeper than 32 levels (flatten the structure)")));
}

TEST_F(LoaderTest, NestingTheScanUnderestimatesIsRefusedWhileBuilding) {
  // Lists at their key's indentation add two levels per indentation step.
  std::string yaml = std::string(kProxy) + "k0:\n";
  std::string path = "k0";
  for (int j = 1; j <= 20; ++j) {
    yaml += std::string(2 * (j - 1), ' ') + "- k" + std::to_string(j) + ":\n";
    if (j <= 15) {
      path += "[0].k" + std::to_string(j);
    }
  }
  EXPECT_THAT(Errors(yaml),
              ElementsAre(At("3:1: k0: unknown key (expected one of dev, data_dir, server, "
                             "store, audit, keys, log, redact, connectors, outbound, identity, "
                             "webchat, policy, intents, aws)"),
                          At("19:33: " + path +
                             "[0]: nesting is deeper than 32 levels (flatten the structure)")));
}

TEST_F(LoaderTest, AliasedSectionIsRefusedOnce) {
  EXPECT_THAT(Errors("server: &s {behind_tls_proxy: true}\nstore: *s\n"),
              ElementsAre(At("2:8: store: aliases are not supported in opsgate config (write the "
                             "value out)")));
}

TEST_F(LoaderTest, BracketsInQuotesCommentsAndBlockScalarsDoNotCountAsNesting) {
  const std::string many(40, '[');
  EXPECT_THAT(Errors(std::string(kProxy) + "x: '" + many + "'\ny: \"" + many + "\" # " + many +
                     "\nz: |\n  " + many + "\n   " + many + "\n"),
              ElementsAre(At("3:1: x: unknown key (expected one of dev, data_dir, server, store, "
                             "audit, keys, log, redact, connectors, outbound, identity, "
                             "webchat, policy, intents, aws)"),
                          At("4:1: y: unknown key (expected one of dev, data_dir, server, store, "
                             "audit, keys, log, redact, connectors, outbound, identity, "
                             "webchat, policy, intents, aws)"),
                          At("5:1: z: unknown key (expected one of dev, data_dir, server, store, "
                             "audit, keys, log, redact, connectors, outbound, identity, "
                             "webchat, policy, intents, aws)")));
}

TEST_F(LoaderTest, OversizeTextIsRefused) {
  const std::string big(kMaxConfigBytes + 1, '#');
  EXPECT_THAT(Errors(big),
              ElementsAre(file_ + ": the config is larger than 1024 KiB (got 1048577 bytes)"));
}

TEST_F(LoaderTest, YamlSyntaxErrorsCarryTheMark) {
  EXPECT_THAT(Errors("server:\n  listen: [1, 2\n  threads: 2\n"),
              ElementsAre(At("3:10: invalid YAML: end of sequence flow not found")));
  EXPECT_THAT(Errors("server: a: b\n"), ElementsAre(At("1:10: invalid YAML: illegal map value")));
}

TEST_F(LoaderTest, SecondDocumentIsRefused) {
  EXPECT_THAT(Errors(std::string(kProxy) + "---\nlog:\n  level: info\n"),
              ElementsAre(At("3:1: only one YAML document is allowed (remove the '---' "
                             "separator)")));
}

TEST_F(LoaderTest, RootMustBeAMapping) {
  EXPECT_THAT(Errors("- server\n"),
              ElementsAre(At("1:1: expected a mapping of sections like 'server:' (got a list)")));
  EXPECT_THAT(Errors(""), ElementsAre(file_ + ": server.tls: required unless "
                                              "server.behind_tls_proxy is true (add tls.cert and "
                                              "tls.key, or set behind_tls_proxy: true when a TLS "
                                              "proxy sits in front)"));
}

TEST_F(LoaderTest, EverythingWrongIsReportedAtOnce) {
  const auto errors = Errors(R"(dev: yes
server:
  lisen: 1.2.3.4:80
  threads: many
  metrics_token: plain
store:
  driver: sqlite
  driver: sqlite
log:
  level: loud
)");
  EXPECT_THAT(errors,
              ElementsAre(At("1:6: dev: expected true or false (got 'yes')"),
                          At("2:1: server.tls: required unless server.behind_tls_proxy is true "
                             "(add tls.cert and tls.key, or set behind_tls_proxy: true when a TLS "
                             "proxy sits in front)"),
                          At("3:3: server.lisen: unknown key (did you mean 'listen'?)"),
                          At("4:12: server.threads: expected an integer from 1 to 64 (got "
                             "'many')"),
                          At("5:18: server.metrics_token: a literal secret is not allowed; use "
                             "env:NAME or file:PATH (or set dev: true for a development setup)"),
                          At("8:3: store.driver: duplicate key (first defined at line 7; keep "
                             "one)"),
                          At("10:10: log.level: expected one of debug, info, warn, error (got "
                             "'loud')")));
}

TEST_F(LoaderTest, LoadConfigTextJoinsErrorsOnePerLine) {
  const auto loaded = LoadConfigText("dev: 1\nlog:\n  level: x\n" + std::string(kProxy), file_);
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(loaded.error().message,
            At("1:6: dev: expected true or false (got '1')") + "\n" +
                At("3:10: log.level: expected one of debug, info, warn, error (got 'x')"));
}

TEST_F(LoaderTest, LoadConfigFileReadsTheFile) {
  Write("opsgate.yaml", "dev: true\n" + std::string(kProxy));
  const auto loaded = LoadConfigFile(file_);
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  EXPECT_TRUE(loaded->config->dev);
  EXPECT_EQ(loaded->config->source_path, file_);
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_EQ(loaded->warnings[0].key_path, "dev");
  EXPECT_EQ(loaded->warnings[0].line, 1);
  EXPECT_EQ(loaded->warnings[0].column, 6);
}

TEST_F(LoaderTest, LoadConfigFileReportsMissingAndOversizeFiles) {
  const auto missing = LoadConfigFile(Path("nope.yaml"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message, Path("nope.yaml") + ": the config file does not exist");

  Write("big.yaml", std::string(kMaxConfigBytes + 1, '#'));
  const auto big = LoadConfigFile(Path("big.yaml"));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(big.error().message, Path("big.yaml") + ": the config file is larger than 1024 KiB");

  const auto dir = LoadConfigFile(dir_.string());
  ASSERT_FALSE(dir.has_value());
  EXPECT_EQ(dir.error().code, core::ErrorCode::kInvalidArgument);
}

TEST(Diagnostic, ToStringLeavesOutUnknownParts) {
  Diagnostic d{Diagnostic::Severity::kWarning, "f.yaml", 3, 5, "a.b", "msg"};
  EXPECT_EQ(d.ToString(), "f.yaml:3:5: warning: a.b: msg");
  d.severity = Diagnostic::Severity::kError;
  d.column = 0;
  EXPECT_EQ(d.ToString(), "f.yaml:3: a.b: msg");
  d.line = 0;
  d.key_path.clear();
  EXPECT_EQ(d.ToString(), "f.yaml: msg");
}


// --- connectors.slack, outbound and ${NAME} interpolation ------------------------

TEST_F(LoaderTest, SlackSectionWithAllKeys) {
  ::setenv("OPSGATE_TEST_TEAMS", "T1,T2", 1);
  ::setenv("OPSGATE_TEST_SLACK_SECRET", "x", 1);
  const LoadOutcome outcome = Parse(std::string(kProxy) + R"(
connectors:
  slack:
    enabled: true
    signing_secret: env:OPSGATE_TEST_SLACK_SECRET
    bot_token: file:bot.token
    api_url: https://slack.test:8443/api/
    team_ids: ${OPSGATE_TEST_TEAMS}
    replay_window: 2m
    body_bytes: 128KiB
    command: /opsgate
outbound:
  ca_file: tls/server.crt
)");
  ::unsetenv("OPSGATE_TEST_TEAMS");
  ::unsetenv("OPSGATE_TEST_SLACK_SECRET");
  ASSERT_TRUE(outcome.ok()) << Lines(outcome, Diagnostic::Severity::kError).front();
  const SlackConfig& s = *outcome.config->connectors.slack;
  EXPECT_EQ(s.enabled, ConnectorSwitch::kOn);
  EXPECT_EQ(s.api_url, "https://slack.test:8443/api");
  EXPECT_THAT(s.team_ids, ElementsAre("T1", "T2"));
  EXPECT_EQ(s.replay_window, std::chrono::seconds(120));
  EXPECT_EQ(s.body_bytes, 128u * 1024u);
  EXPECT_EQ(s.command, "/opsgate");
  ASSERT_TRUE(s.bot_token.has_value());
  EXPECT_EQ(s.bot_token->Describe(), "file:" + (dir_ / "bot.token").string());
  EXPECT_EQ(outcome.config->outbound.ca_file, (dir_ / "tls" / "server.crt").string());
}

TEST_F(LoaderTest, SlackIsAbsentUnlessConfigured) {
  const LoadOutcome outcome = Parse(kProxy);
  ASSERT_TRUE(outcome.ok());
  EXPECT_FALSE(outcome.config->connectors.slack.has_value());
  EXPECT_TRUE(outcome.config->outbound.ca_file.empty());
}

TEST_F(LoaderTest, PolicyDefaultsToTheBuiltInPolicy) {
  const LoadOutcome outcome = Parse(kProxy);
  ASSERT_TRUE(outcome.ok());
  const PolicyConfig& p = outcome.config->policy;
  EXPECT_TRUE(p.file.empty());
  EXPECT_EQ(p.approvals.ttl, std::chrono::hours(1));
  EXPECT_EQ(p.approvals.approver_mfa_max_age, std::chrono::minutes(15));
  EXPECT_TRUE(p.approvals.slack_channel.empty());
  EXPECT_EQ(p.break_glass.max_duration, std::chrono::hours(1));
  EXPECT_EQ(p.break_glass.default_duration, std::chrono::minutes(30));
  EXPECT_TRUE(p.break_glass.slack_channel.empty());
}

TEST_F(LoaderTest, BreakGlassSettings) {
  const LoadOutcome ok = Parse(std::string(kProxy) +
                               "policy:\n  break_glass: {max_duration: 20m, slack_channel: C0SEC}\n");
  ASSERT_TRUE(ok.ok()) << testing::PrintToString(ok.diagnostics);
  // The default follows a shorter maximum.
  EXPECT_EQ(ok.config->policy.break_glass.default_duration, std::chrono::minutes(20));
  EXPECT_EQ(ok.config->policy.break_glass.slack_channel, "C0SEC");
  const auto errors = Errors(std::string(kProxy) +
                             "policy:\n  break_glass: {max_duration: 2m, default_duration: 2h}\n");
  ASSERT_EQ(errors.size(), 2u) << testing::PrintToString(errors);
  EXPECT_THAT(errors[0], testing::HasSubstr("policy.break_glass.max_duration"));
  EXPECT_THAT(errors[1], testing::HasSubstr("must not be longer than max_duration"));
}

TEST_F(LoaderTest, PolicySectionWithAllKeys) {
  const LoadOutcome outcome = Parse(std::string(kProxy) + R"(
policy:
  file: rules/policy.yaml
  approvals: {ttl: 30m, approver_mfa_max_age: 5m, slack_channel: C0APPROVE}
)");
  ASSERT_TRUE(outcome.ok()) << testing::PrintToString(outcome.diagnostics);
  const PolicyConfig& p = outcome.config->policy;
  // Relative to the config file's directory, like every other path.
  EXPECT_EQ(p.file, (std::filesystem::path(outcome.config->source_path).parent_path() /
                     "rules/policy.yaml").string());
  EXPECT_EQ(p.approvals.ttl, std::chrono::minutes(30));
  EXPECT_EQ(p.approvals.approver_mfa_max_age, std::chrono::minutes(5));
  EXPECT_EQ(p.approvals.slack_channel, "C0APPROVE");
}

TEST_F(LoaderTest, PolicyRejectsBadValues) {
  const auto errors = Errors(std::string(kProxy) + R"(
policy:
  file: ''
  approvals: {ttl: 2d, approver_mfa_max_age: 10s, slack_channel: "#ops"}
  rules: []
)");
  ASSERT_EQ(errors.size(), 5u) << testing::PrintToString(errors);
  EXPECT_THAT(errors[0], testing::HasSubstr("policy.file: expected a path"));
  EXPECT_THAT(errors[1], testing::HasSubstr("policy.approvals.ttl"));
  EXPECT_THAT(errors[2], testing::HasSubstr("policy.approvals.approver_mfa_max_age"));
  EXPECT_THAT(errors[3], testing::HasSubstr("expected a Slack channel id"));
  EXPECT_THAT(errors[4], testing::HasSubstr("policy.rules"));
}

TEST_F(LoaderTest, IntentsDefaultToTheDefaultCatalogue) {
  const LoadOutcome outcome = Parse(kProxy);
  ASSERT_TRUE(outcome.ok());
  EXPECT_TRUE(outcome.config->intents.file.empty());
  const LoadOutcome empty = Parse(std::string(kProxy) + "intents:\n");
  ASSERT_TRUE(empty.ok()) << testing::PrintToString(empty.diagnostics);
  EXPECT_TRUE(empty.config->intents.file.empty());
}

TEST_F(LoaderTest, IntentsFileIsRelativeToTheConfigFile) {
  const LoadOutcome outcome = Parse(std::string(kProxy) + "intents:\n  file: chat/intents.yaml\n");
  ASSERT_TRUE(outcome.ok()) << testing::PrintToString(outcome.diagnostics);
  EXPECT_EQ(outcome.config->intents.file,
            (std::filesystem::path(outcome.config->source_path).parent_path() /
             "chat/intents.yaml")
                .string());
  const LoadOutcome absolute = Parse(std::string(kProxy) + "intents: {file: /etc/i.yaml}\n");
  ASSERT_TRUE(absolute.ok()) << testing::PrintToString(absolute.diagnostics);
  EXPECT_EQ(absolute.config->intents.file, "/etc/i.yaml");
}

TEST_F(LoaderTest, IntentsRejectsBadValues) {
  const auto errors = Errors(std::string(kProxy) + R"(
intents:
  file: ''
  fil: intents.yaml
)");
  ASSERT_EQ(errors.size(), 2u) << testing::PrintToString(errors);
  EXPECT_THAT(errors[0], testing::HasSubstr("intents.file: expected a path"));
  EXPECT_THAT(errors[1], testing::HasSubstr("intents.fil: unknown key (did you mean 'file'?)"));
  EXPECT_THAT(Errors(std::string(kProxy) + "intents: [a.yaml]\n"),
              ElementsAre(testing::HasSubstr("intents: expected a mapping of keys")));
  EXPECT_THAT(Errors(std::string(kProxy) + "intents: {file: [a.yaml]}\n"),
              ElementsAre(testing::HasSubstr("intents.file: expected")));
}

TEST_F(LoaderTest, SlackTeamIdsAsAListAndDefaults) {
  const LoadOutcome outcome = Parse(std::string(kProxy) +
                                    "connectors:\n  slack:\n    signing_secret: env:X_UNSET_1\n"
                                    "    team_ids: [T1, T2]\n");
  ASSERT_TRUE(outcome.ok());
  const SlackConfig& s = *outcome.config->connectors.slack;
  EXPECT_EQ(s.enabled, ConnectorSwitch::kAuto);
  EXPECT_THAT(s.team_ids, ElementsAre("T1", "T2"));
  EXPECT_EQ(s.api_url, "https://slack.com/api");
  EXPECT_EQ(s.command, "/ops");
  EXPECT_EQ(s.replay_window, std::chrono::seconds(300));
}

TEST_F(LoaderTest, SlackEmptyTeamListIsAWarning) {
  EXPECT_THAT(Warnings(std::string(kProxy) +
                       "connectors:\n  slack:\n    signing_secret: env:PATH\n"
                       "    bot_token: env:PATH\n    team_ids: ''\n"),
              ElementsAre(testing::HasSubstr("connectors.slack.team_ids: no workspace is allowed")));
}

TEST_F(LoaderTest, SlackRejectsBadValues) {
  const auto errors = Errors(std::string(kProxy) + R"(
connectors:
  slack:
    enabled: maybe
    signing_secret: literal-secret
    api_url: http://slack.com/api
    team_ids: "T1, bad id!"
    command: ops
    body_bytes: 10MiB
)");
  ASSERT_EQ(errors.size(), 6u) << testing::PrintToString(errors);
  EXPECT_THAT(errors[0], testing::HasSubstr("connectors.slack.enabled"));
  EXPECT_THAT(errors[1], testing::HasSubstr("a literal secret is not allowed"));
  EXPECT_THAT(errors[2], testing::HasSubstr("expected an https:// URL"));
  EXPECT_THAT(errors[3], testing::HasSubstr("is not a Slack team id"));
  EXPECT_THAT(errors[4], testing::HasSubstr("connectors.slack.command"));
  EXPECT_THAT(errors[5], testing::HasSubstr("connectors.slack.body_bytes"));
}

TEST_F(LoaderTest, SlackEnabledTrueNeedsTheSigningSecret) {
  EXPECT_THAT(Errors(std::string(kProxy) + "connectors:\n  slack:\n    enabled: true\n"),
              ElementsAre(testing::HasSubstr("connectors.slack.signing_secret: required")));
}

TEST_F(LoaderTest, EmptySigningSecretIsAnError) {
  EXPECT_THAT(Errors(std::string(kProxy) + "connectors:\n  slack:\n    signing_secret: ''\n"),
              ElementsAre(testing::HasSubstr("expected a secret reference")));
}

TEST_F(LoaderTest, InterpolatesEnvironmentVariablesInPlainValues) {
  ::setenv("OPSGATE_TEST_DIR", "sub", 1);
  ::unsetenv("OPSGATE_TEST_UNSET");
  const LoadOutcome outcome = Parse(std::string(kProxy) +
                                    "store:\n  path: ${OPSGATE_TEST_DIR}/a$$b-${OPSGATE_TEST_UNSET:-"
                                    "dflt}.db\n");
  ::unsetenv("OPSGATE_TEST_DIR");
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome.config->store.path, (dir_ / "sub" / "a$b-dflt.db").string());
}

TEST_F(LoaderTest, UnsetVariableWithoutDefaultIsAnErrorNamingIt) {
  ::unsetenv("OPSGATE_TEST_UNSET");
  EXPECT_THAT(Errors(std::string(kProxy) + "store:\n  path: ${OPSGATE_TEST_UNSET}\n"),
              ElementsAre(testing::HasSubstr(
                  "store.path: environment variable OPSGATE_TEST_UNSET is not set")));
  EXPECT_THAT(Errors(std::string(kProxy) + "store:\n  path: ${OPSGATE_TEST_UNSET\n"),
              ElementsAre(testing::HasSubstr("unterminated ${...}")));
  EXPECT_THAT(Errors(std::string(kProxy) + "store:\n  path: ${1BAD}\n"),
              ElementsAre(testing::HasSubstr("does not name an environment variable")));
}

TEST_F(LoaderTest, OutboundCaFileMustExist) {
  EXPECT_THAT(Errors(std::string(kProxy) + "outbound:\n  ca_file: nope.pem\n"),
              ElementsAre(testing::HasSubstr("outbound.ca_file: file")));
}

TEST_F(LoaderTest, AwsIsOffWithoutRoles) {
  const LoadOutcome outcome = Parse(kProxy);
  ASSERT_TRUE(outcome.ok());
  const AwsConfig& a = outcome.config->aws;
  EXPECT_EQ(a.enabled, ConnectorSwitch::kAuto);
  EXPECT_TRUE(a.roles.empty());
  EXPECT_FALSE(a.waf_ipv4.has_value());
  EXPECT_EQ(a.resize_timeout, std::chrono::minutes(15));
  EXPECT_EQ(a.workers, 4u);
}

TEST_F(LoaderTest, AwsSectionWithAllKeys) {
  const LoadOutcome outcome = Parse(std::string(kProxy) + R"(
aws:
  enabled: true
  region: eu-west-1
  account: "111111111111"
  roles:
    "ec2:*": arn:aws:iam::111111111111:role/opsgate-ec2
    "ec2:DescribeInstances": arn:aws:iam::111111111111:role/opsgate-read
    "*": arn:aws-us-gov:iam::222222222222:role/path/opsgate-other
  waf:
    ip_set: {name: blocked-ips, id: a1b2c3}
    ipv6_ip_set: {name: blocked-ips-v6, id: d4e5f6, scope: CLOUDFRONT}
  resize_timeout: 20m
  workers: 2
  queue: 10
)");
  ASSERT_TRUE(outcome.ok()) << testing::PrintToString(outcome.diagnostics);
  const AwsConfig& a = outcome.config->aws;
  EXPECT_EQ(a.enabled, ConnectorSwitch::kOn);
  EXPECT_EQ(a.region, "eu-west-1");
  EXPECT_EQ(a.account, "111111111111");
  ASSERT_EQ(a.roles.size(), 3u);
  EXPECT_EQ(a.roles[0].first, "ec2:*");
  EXPECT_EQ(a.roles[2].second, "arn:aws-us-gov:iam::222222222222:role/path/opsgate-other");
  ASSERT_TRUE(a.waf_ipv4.has_value());
  EXPECT_EQ(*a.waf_ipv4, (AwsIpSetConfig{"blocked-ips", "a1b2c3", "REGIONAL"}));
  ASSERT_TRUE(a.waf_ipv6.has_value());
  EXPECT_EQ(a.waf_ipv6->scope, "CLOUDFRONT");
  EXPECT_EQ(a.resize_timeout, std::chrono::minutes(20));
  EXPECT_EQ(a.workers, 2u);
  EXPECT_EQ(a.queue, 10u);
}

TEST_F(LoaderTest, AwsMistakesAreNamed) {
  auto errors = Errors(std::string(kProxy) + "aws:\n  enabled: true\n");
  ASSERT_EQ(errors.size(), 1u) << testing::PrintToString(errors);
  EXPECT_THAT(errors[0], testing::HasSubstr("aws.roles"));
  EXPECT_THAT(errors[0], testing::HasSubstr("required when aws.enabled is true"));

  errors = Errors(std::string(kProxy) +
                  "aws:\n  roles: {\"ec2 stop\": arn:aws:iam::111111111111:role/x}\n");
  ASSERT_EQ(errors.size(), 1u) << testing::PrintToString(errors);
  EXPECT_THAT(errors[0], testing::HasSubstr("not an action pattern"));

  errors = Errors(std::string(kProxy) + "aws:\n  roles: {\"ec2:*\": arn:aws:iam::1111:role/x}\n");
  ASSERT_EQ(errors.size(), 1u) << testing::PrintToString(errors);
  EXPECT_THAT(errors[0], testing::HasSubstr("expected a role ARN"));

  errors = Errors(std::string(kProxy) + "aws:\n  account: 1234\n  region: EU_WEST\n");
  ASSERT_EQ(errors.size(), 2u) << testing::PrintToString(errors);
  EXPECT_THAT(errors[0], testing::HasSubstr("12-digit account id"));
  EXPECT_THAT(errors[1], testing::HasSubstr("expected a region name"));

  errors = Errors(std::string(kProxy) + "aws:\n  waf:\n    ip_set: {name: x}\n");
  ASSERT_EQ(errors.size(), 1u) << testing::PrintToString(errors);
  EXPECT_THAT(errors[0], testing::HasSubstr("aws.waf.ip_set.id"));
}

}  // namespace
}  // namespace opsgate::config
