#include "opsgate/audit/export/forwarder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "opsgate/audit/export/test_records.h"
#include "opsgate/store/sqlite/sqlite_audit_store.h"
#include "opsgate/store/sqlite/sqlite_export_cursor.h"
#include "opsgate/store/sqlite/sqlite_store.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::audit::siem {
namespace {

using namespace std::chrono_literals;
using export_testing::AppendSamples;
using export_testing::SplitFrames;

// An in-memory receiver with switchable faults. State is shared so the test keeps a
// handle after the Forwarder takes ownership.
struct FakeReceiver {
  std::mutex mu;
  std::string received;  // everything Send delivered
  std::atomic<bool> refuse_connect{false};
  std::atomic<bool> fail_sends{false};  // Send delivers half, then fails
  std::atomic<bool> fail_flush{false};
  std::atomic<int> connects{0};
  std::atomic<int> failures{0};
  std::atomic<bool> interrupted{false};
};

class FakeTransport final : public ExportTransport {
 public:
  explicit FakeTransport(std::shared_ptr<FakeReceiver> r) : r_(std::move(r)) {}
  std::string Describe() const override { return "fake://"; }
  core::Status Connect() override {
    if (r_->interrupted) {
      return core::Fail(core::Cancelled("interrupted"));
    }
    if (r_->refuse_connect) {
      ++r_->failures;
      return core::Fail(core::Unavailable("connection refused"));
    }
    ++r_->connects;
    connected_ = true;
    return core::Ok();
  }
  bool Connected() override { return connected_; }
  core::Status Send(std::string_view bytes) override {
    std::lock_guard<std::mutex> lock(r_->mu);
    if (r_->fail_sends) {
      r_->received.append(bytes.substr(0, bytes.size() / 2));  // partly delivered
      connected_ = false;
      ++r_->failures;
      return core::Fail(core::Unavailable("broken pipe"));
    }
    r_->received.append(bytes);
    return core::Ok();
  }
  core::Status Flush() override {
    if (r_->fail_flush) {
      connected_ = false;
      ++r_->failures;
      return core::Fail(core::Unavailable("peer closed"));
    }
    return core::Ok();
  }
  void Disconnect() override { connected_ = false; }
  void Interrupt() override { r_->interrupted = true; }

 private:
  std::shared_ptr<FakeReceiver> r_;
  bool connected_ = false;
};

class ForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto audit = store::SqliteAuditStore::Open(":memory:");
    ASSERT_TRUE(audit.has_value()) << audit.error();
    audit_ = std::move(*audit);
    auto db = store::SqliteStore::Open(":memory:");
    ASSERT_TRUE(db.has_value()) << db.error();
    db_ = std::move(*db);
    cursors_ = std::make_unique<store::SqliteExportCursor>(*db_, clock_);
    metrics_ = ExportMetrics::Register(registry_);
    auto redactor = redact::Redactor::Create();
    ASSERT_TRUE(redactor.has_value());
    auto f = RecordFormatter::Create(*redactor, {.hostname = "h", .procid = "1"});
    ASSERT_TRUE(f.has_value());
    formatter_.emplace(*f);
  }

  std::unique_ptr<Forwarder> Make(ForwarderOptions o = {}) {
    o.initial_backoff = 5ms;
    o.max_backoff = std::max(o.max_backoff == 60000ms ? 20ms : o.max_backoff, 5ms);
    auto fwd = Forwarder::Create(*audit_, *cursors_, std::make_unique<FakeTransport>(receiver_),
                                 *formatter_, logger_, &metrics_, std::move(o));
    EXPECT_TRUE(fwd.has_value()) << fwd.error();
    return std::move(*fwd);
  }

  // Messages received, each checked against the formatter; returns their seqs in order.
  std::vector<uint64_t> ReceivedSeqs() {
    std::lock_guard<std::mutex> lock(receiver_->mu);
    std::string rest;
    auto frames = SplitFrames(receiver_->received, &rest);
    EXPECT_TRUE(frames.has_value());
    std::vector<uint64_t> seqs;
    for (const std::string& m : *frames) {
      const size_t at = m.find("seq=\"");
      EXPECT_NE(at, std::string::npos);
      const uint64_t seq = std::stoull(m.substr(at + 5));
      EXPECT_EQ(m, formatter_->SyslogMessage(
                       export_testing::SampleRecord(seq),
                       export_testing::RowFor(export_testing::SampleRecord(seq)).leaf_hash));
      seqs.push_back(seq);
    }
    return seqs;
  }

  testing::FakeClock clock_;
  std::unique_ptr<store::SqliteAuditStore> audit_;
  std::unique_ptr<store::SqliteStore> db_;
  std::unique_ptr<store::SqliteExportCursor> cursors_;
  telemetry::MetricsRegistry registry_;
  ExportMetrics metrics_;
  telemetry::MemorySink sink_;
  telemetry::Logger logger_{sink_, clock_};
  std::optional<RecordFormatter> formatter_;
  std::shared_ptr<FakeReceiver> receiver_ = std::make_shared<FakeReceiver>();
};

std::vector<uint64_t> Iota(uint64_t from, uint64_t to) {
  std::vector<uint64_t> v;
  for (uint64_t i = from; i < to; ++i) {
    v.push_back(i);
  }
  return v;
}

TEST_F(ForwarderTest, ExportsEverythingInBatchesAndSavesTheCursor) {
  ASSERT_EQ(AppendSamples(*audit_, 0, 25).size(), 25u);
  auto fwd = Make({.batch_size = 10});
  fwd->Start();
  ASSERT_TRUE(fwd->WaitUntilExported(25, 10s));
  EXPECT_EQ(ReceivedSeqs(), Iota(0, 25));
  EXPECT_EQ(cursors_->Load("syslog").value_or(0), 25u);
  EXPECT_EQ(receiver_->connects, 1);
  fwd->Stop();
  EXPECT_EQ(metrics_.records->With({"syslog"}).Value(), 25u);
  EXPECT_EQ(metrics_.lag->With({"syslog"}).Value(), 0);
}

TEST_F(ForwarderTest, JsonLinesFormat) {
  ASSERT_EQ(AppendSamples(*audit_, 0, 3).size(), 3u);
  auto fwd = Make({.name = "jsonl", .format = ExportFormat::kJsonLines});
  fwd->Start();
  ASSERT_TRUE(fwd->WaitUntilExported(3, 10s));
  fwd->Stop();
  std::string expected;
  for (uint64_t i = 0; i < 3; ++i) {
    auto r = export_testing::SampleRecord(i);
    expected += formatter_->JsonLine(r, export_testing::RowFor(r).leaf_hash) + "\n";
  }
  EXPECT_EQ(receiver_->received, expected);
  EXPECT_EQ(cursors_->Load("jsonl").value_or(0), 3u);
  EXPECT_EQ(cursors_->Load("syslog").value_or(99), 0u);
}

TEST_F(ForwarderTest, FailureMidBatchKeepsTheCursorAndResendsTheBatch) {
  ASSERT_EQ(AppendSamples(*audit_, 0, 10).size(), 10u);
  auto fwd = Make({.batch_size = 10});
  fwd->Start();
  ASSERT_TRUE(fwd->WaitUntilExported(10, 10s));

  receiver_->fail_sends = true;
  ASSERT_EQ(AppendSamples(*audit_, 10, 10).size(), 10u);
  fwd->Notify();
  for (int i = 0; i < 1000 && receiver_->failures < 3; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_GE(receiver_->failures, 3);
  // Half batches went out, but nothing was confirmed: the cursor stays.
  EXPECT_EQ(fwd->next_seq(), 10u);
  EXPECT_EQ(cursors_->Load("syslog").value_or(0), 10u);
  ASSERT_TRUE(fwd->last_error().has_value());
  EXPECT_EQ(fwd->last_error()->code, core::ErrorCode::kUnavailable);

  // Recovery: a clean frame boundary (a new connection), then the whole batch again.
  {
    std::lock_guard<std::mutex> lock(receiver_->mu);
    std::string rest;
    auto frames = SplitFrames(receiver_->received, &rest);
    ASSERT_TRUE(frames.has_value());
    receiver_->received.resize(receiver_->received.size() - rest.size());
  }
  receiver_->fail_sends = false;
  ASSERT_TRUE(fwd->WaitUntilExported(20, 10s));
  fwd->Stop();
  EXPECT_FALSE(fwd->last_error().has_value());
  const auto seqs = ReceivedSeqs();
  // At least once: every seq, in order of first arrival; the resent ones may repeat.
  std::vector<uint64_t> unique;
  for (uint64_t s : seqs) {
    if (unique.empty() || s > unique.back()) {
      unique.push_back(s);
    }
  }
  EXPECT_EQ(unique, Iota(0, 20));
  EXPECT_EQ(std::vector<uint64_t>(seqs.end() - 10, seqs.end()), Iota(10, 20));
  EXPECT_EQ(cursors_->Load("syslog").value_or(0), 20u);
  EXPECT_GE(metrics_.failures->With({"syslog", "unavailable"}).Value(), 3u);
}

TEST_F(ForwarderTest, FlushFailureDoesNotAdvanceTheCursor) {
  ASSERT_EQ(AppendSamples(*audit_, 0, 5).size(), 5u);
  receiver_->fail_flush = true;
  auto fwd = Make();
  fwd->Start();
  for (int i = 0; i < 1000 && receiver_->failures < 2; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(cursors_->Load("syslog").value_or(99), 0u);
  receiver_->fail_flush = false;
  ASSERT_TRUE(fwd->WaitUntilExported(5, 10s));
  fwd->Stop();
  const auto seqs = ReceivedSeqs();
  ASSERT_GE(seqs.size(), 15u);  // sent at least three times
  EXPECT_EQ(std::vector<uint64_t>(seqs.end() - 5, seqs.end()), Iota(0, 5));
}

TEST_F(ForwarderTest, RestartResumesFromTheSavedCursor) {
  ASSERT_EQ(AppendSamples(*audit_, 0, 7).size(), 7u);
  {
    auto fwd = Make();
    fwd->Start();
    ASSERT_TRUE(fwd->WaitUntilExported(7, 10s));
    fwd->Stop();
  }
  ASSERT_EQ(AppendSamples(*audit_, 7, 5).size(), 5u);
  {
    std::lock_guard<std::mutex> lock(receiver_->mu);
    receiver_->received.clear();
    receiver_->interrupted = false;  // Stop() interrupted the first transport
  }
  auto fwd = Make();
  fwd->Start();
  ASSERT_TRUE(fwd->WaitUntilExported(12, 10s));
  fwd->Stop();
  EXPECT_EQ(ReceivedSeqs(), Iota(7, 12));
}

TEST_F(ForwarderTest, NotifyWakesBeforeThePollInterval) {
  auto fwd = Make({.poll_interval = std::chrono::hours(1)});
  fwd->Start();
  ASSERT_TRUE(fwd->WaitUntilExported(0, 10s));
  std::this_thread::sleep_for(20ms);  // let it go to sleep
  ASSERT_EQ(AppendSamples(*audit_, 0, 1).size(), 1u);
  fwd->Notify();
  EXPECT_TRUE(fwd->WaitUntilExported(1, 10s));
  fwd->Stop();
}

TEST_F(ForwarderTest, StopIsPromptWhileBackingOff) {
  ASSERT_EQ(AppendSamples(*audit_, 0, 1).size(), 1u);
  receiver_->refuse_connect = true;
  auto fwd = Make({.initial_backoff = std::chrono::hours(1), .max_backoff = std::chrono::hours(1)});
  fwd->Start();
  for (int i = 0; i < 1000 && receiver_->failures < 1; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  const auto start = std::chrono::steady_clock::now();
  fwd->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_FALSE(fwd->WaitUntilExported(1, 1ms));
}

TEST_F(ForwarderTest, UndecodableRecordStopsTheExportThere) {
  ASSERT_EQ(AppendSamples(*audit_, 0, 3).size(), 3u);
  store::AuditRow junk{3, "\x01garbage", std::string(32, '\0')};
  ASSERT_TRUE(audit_->AppendRecords({&junk, 1}).has_value());
  ASSERT_EQ(AppendSamples(*audit_, 4, 2).size(), 2u);
  auto fwd = Make();
  fwd->Start();
  ASSERT_TRUE(fwd->WaitUntilExported(3, 10s));
  for (int i = 0; i < 1000 && !fwd->last_error(); ++i) {
    std::this_thread::sleep_for(5ms);
  }
  fwd->Stop();
  ASSERT_TRUE(fwd->last_error().has_value());
  EXPECT_EQ(fwd->last_error()->code, core::ErrorCode::kDataLoss);
  EXPECT_NE(fwd->last_error()->message.find("seq 3"), std::string::npos);
  EXPECT_EQ(fwd->next_seq(), 3u);
  EXPECT_EQ(ReceivedSeqs(), Iota(0, 3));
}

TEST_F(ForwarderTest, CreateValidatesOptions) {
  auto bad = Forwarder::Create(*audit_, *cursors_, std::make_unique<FakeTransport>(receiver_),
                               *formatter_, logger_, nullptr, {.batch_size = 0});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("batch_size"), std::string::npos);
  auto no_transport =
      Forwarder::Create(*audit_, *cursors_, nullptr, *formatter_, logger_, nullptr, {});
  EXPECT_FALSE(no_transport.has_value());
}

}  // namespace
}  // namespace opsgate::audit::siem
