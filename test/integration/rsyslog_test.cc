// The SIEM export end to end (issue 4 item 8): the Forwarder ships audit records from a
// real SqliteAuditStore to a real rsyslogd over TLS (and plain TCP); the test checks that
// every record arrives byte for byte as formatted, then crashes rsyslogd, appends more,
// restarts the forwarder and rsyslogd, and checks that nothing was lost.
//
// Needs the Debian packages rsyslog and rsyslog-openssl. Without them the test skips,
// except under CI=true, where it fails.
#include <gtest/gtest.h>

#include "test/fakes/ci.h"
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "opsgate/audit/export/forwarder.h"
#include "opsgate/audit/export/syslog_client.h"
#include "opsgate/audit/export/test_records.h"
#include "opsgate/crypto/keys.h"
#include "opsgate/store/sqlite/sqlite_audit_store.h"
#include "opsgate/store/sqlite/sqlite_export_cursor.h"
#include "opsgate/store/sqlite/sqlite_store.h"
#include "test/integration/rsyslog_server.h"

namespace opsgate::testing {
namespace {

namespace fs = std::filesystem;
namespace siem = audit::siem;
using namespace std::chrono_literals;

using opsgate::testing::InCi;

void WriteFile(const std::string& path, std::string_view text, mode_t mode) {
  std::ofstream(path, std::ios::trunc) << text;
  ::chmod(path.c_str(), mode);
}

// Records with a mix of kinds, escaping-relevant characters and non-ASCII text.
audit::Record TestRecord(uint64_t seq) {
  audit::Record r = siem::export_testing::SampleRecord(seq);
  r.correlation_id = "corr-" + std::to_string(seq) + (seq % 5 == 0 ? "-\"q\"]\\" : "");
  r.kind = static_cast<audit::RecordKind>(1 + seq % 6);
  r.text = audit::Field::Plain("stop i-" + std::to_string(seq) + " — bitte ✓");
  return r;
}

std::vector<audit::Record> Append(store::AuditStore& store, uint64_t first, uint64_t n) {
  std::vector<audit::Record> records;
  std::vector<store::AuditRow> rows;
  for (uint64_t i = first; i < first + n; ++i) {
    records.push_back(TestRecord(i));
    rows.push_back(siem::export_testing::RowFor(records.back()));
  }
  EXPECT_TRUE(store.AppendRecords(rows).has_value());
  return records;
}

class RsyslogExportTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    const bool tls = GetParam();
    if (!FindRsyslogd() || (tls && !HaveRsyslogOpenssl())) {
      const std::string why =
          "rsyslogd with its OpenSSL driver is not installed: apt-get install rsyslog "
          "rsyslog-openssl";
      if (InCi()) {
        FAIL() << why << " (required under CI=true)";
      }
      GTEST_SKIP() << why;
    }
    dir_ = (fs::temp_directory_path() /
            ("opsgate_rsyslog_" + std::to_string(::getpid()) + "_" + (tls ? "tls" : "tcp")))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);

    std::optional<RsyslogTls> server_tls;
    if (tls) {
      auto cert =
          crypto::GenerateDevCertificate({"syslog.test"}, 1, std::chrono::system_clock::now());
      ASSERT_TRUE(cert.has_value()) << cert.error();
      ca_file_ = dir_ + "/server.crt";
      WriteFile(ca_file_, cert->cert_pem, 0644);
      WriteFile(dir_ + "/server.key", cert->key_pem.Reveal(), 0600);
      server_tls = RsyslogTls{ca_file_, ca_file_, dir_ + "/server.key"};
    }
    rsyslog_ = std::make_unique<RsyslogServer>(dir_ + "/rsyslog", server_tls);

    auto audit = store::SqliteAuditStore::Open(dir_ + "/audit.db");
    ASSERT_TRUE(audit.has_value()) << audit.error();
    audit_ = std::move(*audit);
    OpenCursors();

    auto redactor = redact::Redactor::Create();
    ASSERT_TRUE(redactor.has_value());
    siem::FormatOptions fo;
    fo.hostname = "opsgate-it";
    fo.procid = "4711";
    fo.facility = 16;  // local0
    auto formatter = siem::RecordFormatter::Create(*redactor, fo);
    ASSERT_TRUE(formatter.has_value()) << formatter.error();
    formatter_.emplace(*formatter);
  }

  void TearDown() override {
    forwarder_.reset();
    if (rsyslog_) {
      rsyslog_->Kill();
    }
    // Kept on failure, or with OPSGATE_KEEP_TEST_DIR set, for a look at rsyslog's files.
    if (!dir_.empty() && !HasFailure() && std::getenv("OPSGATE_KEEP_TEST_DIR") == nullptr) {
      fs::remove_all(dir_);
    }
  }

  void OpenCursors() {
    cursors_.reset();
    db_.reset();
    auto db = store::SqliteStore::Open(dir_ + "/opsgate.db");
    ASSERT_TRUE(db.has_value()) << db.error();
    db_ = std::move(*db);
    cursors_ = std::make_unique<store::SqliteExportCursor>(*db_, clock_);
  }

  void StartForwarder() {
    siem::SyslogClientOptions co;
    co.host = "127.0.0.1";
    co.port = rsyslog_->port();
    co.tls = GetParam();
    co.ca_file = ca_file_;
    co.server_name = "syslog.test";  // the certificate's DNS name, not the IP we dial
    co.connect_timeout = 3s;
    co.io_timeout = 5s;
    auto client = siem::SyslogClient::Create(co);
    ASSERT_TRUE(client.has_value()) << client.error();
    siem::ForwarderOptions fo;
    fo.name = "syslog";
    fo.batch_size = 16;
    fo.poll_interval = 200ms;
    fo.initial_backoff = 50ms;
    fo.max_backoff = 400ms;
    auto fwd = siem::Forwarder::Create(*audit_, *cursors_, std::move(*client), *formatter_, logger_,
                                       &metrics_, fo);
    ASSERT_TRUE(fwd.has_value()) << fwd.error();
    forwarder_ = std::move(*fwd);
    forwarder_->Start();
  }

  std::string Expected(uint64_t seq) {
    const audit::Record r = TestRecord(seq);
    return formatter_->SyslogMessage(r, siem::export_testing::RowFor(r).leaf_hash);
  }

  // Every received message must be exactly one of ours; returns how often each seq came.
  std::map<uint64_t, int> CheckReceived() {
    std::map<uint64_t, int> seen;
    for (const std::string& m : rsyslog_->RawMessages()) {
      const size_t at = m.find(" seq=\"");
      EXPECT_NE(at, std::string::npos) << m;
      if (at == std::string::npos) {
        continue;
      }
      const uint64_t seq = std::stoull(m.substr(at + 6));
      EXPECT_EQ(m, Expected(seq)) << "message for seq " << seq << " differs";
      ++seen[seq];
    }
    return seen;
  }

  std::string dir_;
  std::string ca_file_;
  core::SystemClock clock_;
  std::unique_ptr<RsyslogServer> rsyslog_;
  std::unique_ptr<store::SqliteAuditStore> audit_;
  std::unique_ptr<store::SqliteStore> db_;
  std::unique_ptr<store::SqliteExportCursor> cursors_;
  std::optional<siem::RecordFormatter> formatter_;
  telemetry::MetricsRegistry registry_;
  siem::ExportMetrics metrics_ = siem::ExportMetrics::Register(registry_);
  telemetry::MemorySink sink_;
  core::SystemClock log_clock_;
  telemetry::Logger logger_{sink_, log_clock_};
  std::unique_ptr<siem::Forwarder> forwarder_;
};

TEST_P(RsyslogExportTest, EveryRecordArrivesExactlyAsFormattedAndSurvivesCrashes) {
  ASSERT_TRUE(rsyslog_->Start().has_value()) << rsyslog_->Stderr();

  // 1. Live export: 50 records in batches of 16.
  Append(*audit_, 0, 50);
  StartForwarder();
  forwarder_->Notify();
  ASSERT_TRUE(forwarder_->WaitUntilExported(50, 30s))
      << (forwarder_->last_error() ? forwarder_->last_error()->message : "no error");
  ASSERT_TRUE(rsyslog_->WaitForMessages(50, 30s)) << rsyslog_->Stderr();
  std::vector<std::string> expected;
  for (uint64_t i = 0; i < 50; ++i) {
    expected.push_back(Expected(i));
  }
  EXPECT_EQ(rsyslog_->RawMessages(), expected);
  // rsyslog parsed each as RFC 5424 with our header fields and structured data.
  const auto parsed = rsyslog_->ParsedMessages();
  ASSERT_EQ(parsed.size(), 50u);
  for (uint64_t i = 0; i < 50; ++i) {
    const audit::Record r = TestRecord(i);
    const int pri = 16 * 8 + siem::SeverityFor(r);
    const std::string prefix = std::to_string(pri) + "|1|opsgate-it|opsgate|4711|" +
                               std::string(audit::RecordKindName(r.kind)) +
                               "|[opsgate@32473 seq=\"" + std::to_string(i) + "\" ";
    EXPECT_EQ(parsed[i].rfind(prefix, 0), 0u) << parsed[i];
  }
  EXPECT_EQ(cursors_->Load("syslog").value_or(0), 50u);

  // 2. The receiver crashes; records keep coming. Nothing is confirmed, so the cursor
  // stays and the forwarder retries.
  rsyslog_->Kill();
  Append(*audit_, 50, 30);
  forwarder_->Notify();
  for (int i = 0; i < 500 && !forwarder_->last_error(); ++i) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(forwarder_->last_error().has_value()) << "the forwarder did not notice the crash";
  EXPECT_EQ(forwarder_->last_error()->code, core::ErrorCode::kUnavailable)
      << forwarder_->last_error()->message;
  EXPECT_EQ(forwarder_->next_seq(), 50u);

  // 3. opsgate restarts too: a new forwarder over a reopened cursor store.
  forwarder_->Stop();
  forwarder_.reset();
  OpenCursors();
  EXPECT_EQ(cursors_->Load("syslog").value_or(0), 50u);
  Append(*audit_, 80, 20);
  StartForwarder();  // backs off while the receiver is down
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(rsyslog_->Start().has_value()) << rsyslog_->Stderr();
  ASSERT_TRUE(forwarder_->WaitUntilExported(100, 60s))
      << (forwarder_->last_error() ? forwarder_->last_error()->message : "no error");
  ASSERT_TRUE(rsyslog_->WaitForMessages(100, 30s)) << rsyslog_->Stderr();

  // At least once: every seq 0..99 arrived, each exactly as formatted.
  const auto seen = CheckReceived();
  for (uint64_t i = 0; i < 100; ++i) {
    EXPECT_GE(seen.count(i) ? seen.at(i) : 0, 1) << "seq " << i << " was lost";
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(cursors_->Load("syslog").value_or(0), 100u);
  EXPECT_GE(metrics_.failures->With({"syslog", "unavailable"}).Value(), 1u);
  forwarder_->Stop();
  if (std::getenv("OPSGATE_KEEP_TEST_DIR") != nullptr) {
    for (const std::string& line : sink_.Lines()) {
      std::cerr << line << "\n";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, RsyslogExportTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return param_info.param ? "Tls" : "PlainTcp";
                         });

}  // namespace
}  // namespace opsgate::testing
