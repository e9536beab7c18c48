#include "opsgate/audit/writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <thread>

#include "opsgate/audit/sealing.h"
#include "opsgate/audit/verifier.h"
#include "opsgate/core/check.h"
#include "opsgate/crypto/keys.h"
#include "opsgate/crypto/testing/fake_key_provider.h"
#include "opsgate/store/sqlite/sqlite_audit_store.h"

namespace opsgate::audit {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("opsgate-audit-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

struct Keys {
  Keys() {
    auto kp = crypto::GenerateEd25519KeyPair();
    OPSGATE_CHECK(kp.has_value());
    private_pem = std::string(kp->private_pem.Reveal());
    public_pem = kp->public_pem;
  }
  std::unique_ptr<TreeHeadSigner> Signer() const { return *TreeHeadSigner::FromPem(private_pem); }
  TreeHeadKey Key() const { return *TreeHeadKey::FromPem(public_pem); }
  std::string private_pem;
  std::string public_pem;
};

Record Req(int i) {
  Record r;
  r.kind = RecordKind::kRequest;
  r.correlation_id = "corr-" + std::to_string(i);
  r.platform = "slack";
  r.workspace = "T0ACME";
  r.text = Field::Plain("ping " + std::to_string(i));
  return r;
}

class AuditLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<AuditLog> Open(AuditLogOptions o = {}) {
    auto store = store::SqliteAuditStore::Open(dir_.File("audit.db"));
    EXPECT_TRUE(store.has_value()) << store.error();
    auto log = AuditLog::Open(std::move(*store), keys_.Signer(), clock_, log_, o);
    EXPECT_TRUE(log.has_value()) << log.error();
    return std::move(*log);
  }
  std::unique_ptr<store::SqliteAuditStore> RawStore() {
    return std::move(*store::SqliteAuditStore::Open(dir_.File("audit.db")));
  }
  VerifyReport Verify() {
    auto raw = RawStore();
    auto rep = VerifyAuditLog(*raw, keys_.Key());
    EXPECT_TRUE(rep.has_value()) << rep.error();
    return *rep;
  }
  // Writes n records and closes the log (final tree head).
  void Fill(int n, AuditLogOptions o = {}) {
    auto log = Open(o);
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(log->AppendAndWait(Req(i)).has_value());
    }
    ASSERT_TRUE(log->Close().has_value());
  }

  TempDir dir_;
  Keys keys_;
  core::SystemClock clock_;
  telemetry::MemorySink sink_;
  telemetry::Logger log_{sink_, clock_};
};

TEST_F(AuditLogTest, AppendsInOrderAndTheUntouchedLogVerifies) {
  AuditLogOptions o;
  o.tree_head_every = 4;
  Fill(10, o);
  const VerifyReport rep = Verify();
  EXPECT_TRUE(rep.ok) << rep.problem;
  EXPECT_EQ(rep.records, 10u);
  // Open signs the empty tree, then sizes 4, 8 and the final 10.
  EXPECT_EQ(rep.tree_heads, 4u);
  EXPECT_EQ(rep.unsigned_records, 0u);
}

TEST_F(AuditLogTest, ConcurrentWritersShareCommits) {
  auto log = Open();
  constexpr int kThreads = 32;
  constexpr int kEach = 50;
  std::vector<std::thread> threads;
  std::vector<std::vector<uint64_t>> seqs(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto seq = log->AppendAndWait(Req(t * 1000 + i));
        ASSERT_TRUE(seq.has_value()) << seq.error();
        seqs[t].push_back(*seq);
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(log->size(), uint64_t{kThreads * kEach});
  EXPECT_LT(log->commits(), uint64_t{kThreads * kEach});  // batched
  std::vector<bool> seen(kThreads * kEach);
  for (const auto& v : seqs) {
    for (uint64_t s : v) {
      ASSERT_LT(s, seen.size());
      EXPECT_FALSE(seen[s]);
      seen[s] = true;
    }
  }
  ASSERT_TRUE(log->Close().has_value());
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditLogTest, ReopenContinuesTheLogAndSignsUncoveredRecords) {
  Fill(5);
  {
    // Simulate a crash: records after the last tree head.
    auto raw = RawStore();
    ASSERT_TRUE(raw->ExecForTesting("DELETE FROM tree_heads WHERE tree_size = 5").has_value());
  }
  auto before = Verify();
  EXPECT_TRUE(before.ok) << before.problem;
  EXPECT_EQ(before.unsigned_records, 5u);
  auto log = Open();
  EXPECT_EQ(log->size(), 5u);
  auto seq = log->AppendAndWait(Req(99));
  ASSERT_TRUE(seq.has_value());
  EXPECT_EQ(*seq, 5u);
  ASSERT_TRUE(log->Close().has_value());
  auto after = Verify();
  EXPECT_TRUE(after.ok) << after.problem;
  EXPECT_EQ(after.unsigned_records, 0u);
}

TEST_F(AuditLogTest, AppendAfterCloseIsCancelled) {
  auto log = Open();
  ASSERT_TRUE(log->Close().has_value());
  auto r = log->AppendAndWait(Req(1));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kCancelled);
}

// A store whose appends fail: the caller must get the error.
class FailingStore final : public store::AuditStore {
 public:
  core::Result<uint64_t> RecordCount() override { return 0; }
  core::Status AppendRecords(std::span<const store::AuditRow>) override {
    return core::Fail(core::Unavailable("disk I/O error"));
  }
  core::Status AppendTreeHead(const store::TreeHeadRow&) override { return core::Ok(); }
  core::Status ForEachRecord(uint64_t, uint64_t,
                             const std::function<bool(const store::AuditRow&)>&) override {
    return core::Ok();
  }
  core::Result<std::vector<std::string>> LeafHashes(uint64_t) override {
    return std::vector<std::string>();
  }
  core::Result<std::vector<store::TreeHeadRow>> TreeHeads() override {
    return std::vector<store::TreeHeadRow>();
  }
  core::Result<std::optional<store::TreeHeadRow>> LatestTreeHead() override {
    return std::optional<store::TreeHeadRow>();
  }
};

TEST_F(AuditLogTest, FailedAppendReachesTheCaller) {
  auto log = AuditLog::Open(std::make_unique<FailingStore>(), keys_.Signer(), clock_, log_);
  ASSERT_TRUE(log.has_value());
  auto r = (*log)->AppendAndWait(Req(1));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("must not be acted on"), std::string::npos);
  EXPECT_EQ((*log)->size(), 0u);
}

TEST_F(AuditLogTest, WithASealerSensitiveFieldsAreStoredSealedAndTheLogVerifiesWithoutTheKey) {
  crypto::testing::FakeKeyProvider kek;
  crypto::FieldSealer sealer(kek);
  AuditLogOptions o;
  o.sealer = &sealer;
  Fill(3, o);
  EXPECT_TRUE(Verify().ok);
  auto raw = RawStore();
  int seen = 0;
  ASSERT_TRUE(raw->ForEachRecord(0, 10, [&](const store::AuditRow& row) {
                   EXPECT_EQ(row.record.find("ping "), std::string::npos) << "text stored in clear";
                   auto rec = DecodeRecord(row.record);
                   EXPECT_TRUE(rec.has_value());
                   EXPECT_TRUE(rec->text.sealed());
                   EXPECT_TRUE(OpenRecordFields(*rec, sealer).has_value());
                   EXPECT_EQ(rec->text.bytes, "ping " + std::to_string(seen));
                   ++seen;
                   return true;
                 }).has_value());
  EXPECT_EQ(seen, 3);
}

TEST_F(AuditLogTest, OnCommitReportsTheDurableCountAfterEachCommit) {
  std::mutex mu;
  std::vector<uint64_t> seen;
  AuditLogOptions o;
  o.on_commit = [&](uint64_t durable) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(durable);
  };
  auto log = Open(o);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(log->AppendAndWait(Req(i)).has_value());
  }
  ASSERT_TRUE(log->Close().has_value());
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 3}));
}

TEST_F(AuditLogTest, ARecordThatCannotBeSealedIsNotStoredAndItsCallerIsTold) {
  crypto::testing::FakeKeyProvider kek;
  kek.set_fail(true);  // a fresh sealer must wrap a new data key first: that fails
  crypto::FieldSealer sealer(kek);
  AuditLogOptions o;
  o.sealer = &sealer;
  auto log = Open(o);
  auto r = log->AppendAndWait(Req(0));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("must not be acted on"), std::string::npos) << r.error();
  EXPECT_EQ(log->size(), 0u);

  kek.set_fail(false);
  // The failed record took no seq: the next one is 0 and the log verifies.
  auto next = log->AppendAndWait(Req(1));
  ASSERT_TRUE(next.has_value()) << next.error();
  EXPECT_EQ(*next, 0u);
  ASSERT_TRUE(log->Close().has_value());
  EXPECT_TRUE(Verify().ok);
}

// --- tampering: verify names the first bad record ---------------------------------

class TamperTest : public AuditLogTest {
 protected:
  void SetUp() override {
    AuditLogOptions o;
    o.tree_head_every = 4;
    Fill(10, o);
  }
  void Exec(const std::string& sql) {
    auto raw = RawStore();
    ASSERT_TRUE(raw->ExecForTesting(sql).has_value()) << sql;
  }
  void ExpectBad(uint64_t seq, std::string_view why) {
    const VerifyReport rep = Verify();
    EXPECT_FALSE(rep.ok);
    ASSERT_TRUE(rep.first_bad_seq.has_value()) << rep.problem;
    EXPECT_EQ(*rep.first_bad_seq, seq) << rep.problem;
    EXPECT_NE(rep.problem.find(why), std::string::npos) << rep.problem;
  }
};

TEST_F(TamperTest, FlippingAnyByteOfAStoredRecordIsCaught) {
  std::string bytes;
  {
    auto raw = RawStore();
    ASSERT_TRUE(raw->ForEachRecord(6, 1, [&](const store::AuditRow& r) {
                     bytes = r.record;
                     return false;
                   }).has_value());
  }
  ASSERT_FALSE(bytes.empty());
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x01);
    Exec("UPDATE audit_records SET record = x'" + crypto::HexEncode(flipped) +
         "' WHERE seq = 6");
    const VerifyReport rep = Verify();
    EXPECT_FALSE(rep.ok) << "byte " << i;
    EXPECT_EQ(rep.first_bad_seq.value_or(999), 6u) << "byte " << i << ": " << rep.problem;
  }
  Exec("UPDATE audit_records SET record = x'" + crypto::HexEncode(bytes) + "' WHERE seq = 6");
  EXPECT_TRUE(Verify().ok);
}

TEST_F(TamperTest, ChangingARecordAndItsLeafHashIsCaughtByTheSignedRoot) {
  Record r = Req(5);
  r.seq = 5;
  r.timestamp_ms = 1;
  const std::string forged = EncodeRecord(r);
  Exec("UPDATE audit_records SET record = x'" + crypto::HexEncode(forged) + "', leaf_hash = x'" +
       crypto::HexEncode(LeafHash(forged)) + "' WHERE seq = 5");
  ExpectBad(4, "tree head of size 8");
}

TEST_F(TamperTest, DeletingARecordIsCaught) {
  Exec("DELETE FROM audit_records WHERE seq = 3");
  ExpectBad(3, "missing");
}

TEST_F(TamperTest, DeletingTheLastRecordsIsCaughtByTheTreeHead) {
  Exec("DELETE FROM audit_records WHERE seq >= 8");
  ExpectBad(8, "deleted");
}

TEST_F(TamperTest, SwappingTwoRecordsIsCaught) {
  Exec(
      "UPDATE audit_records SET record = CASE seq WHEN 2 THEN (SELECT record FROM audit_records "
      "WHERE seq = 7) ELSE (SELECT record FROM audit_records WHERE seq = 2) END, leaf_hash = "
      "CASE seq WHEN 2 THEN (SELECT leaf_hash FROM audit_records WHERE seq = 7) ELSE (SELECT "
      "leaf_hash FROM audit_records WHERE seq = 2) END WHERE seq IN (2, 7)");
  ExpectBad(2, "swapped");
}

TEST_F(TamperTest, AForgedTreeHeadSignatureIsCaught) {
  Exec("UPDATE tree_heads SET signature = x'" + std::string(128, 'a') + "' WHERE tree_size = 8");
  const VerifyReport rep = Verify();
  EXPECT_FALSE(rep.ok);
  EXPECT_NE(rep.problem.find("signature does not verify"), std::string::npos) << rep.problem;
}

TEST_F(TamperTest, ATreeHeadSignedByAnotherKeyIsCaught) {
  Keys other;
  const VerifyReport rep = *VerifyAuditLog(*RawStore(), other.Key());
  EXPECT_FALSE(rep.ok);
  EXPECT_NE(rep.problem.find("names signing key"), std::string::npos) << rep.problem;
}

}  // namespace
}  // namespace opsgate::audit
