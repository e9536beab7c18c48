#include "opsgate/audit/export/export_range.h"

#include <gtest/gtest.h>

#include <sstream>

#include "opsgate/audit/export/test_records.h"
#include "opsgate/store/sqlite/sqlite_audit_store.h"

namespace opsgate::audit::siem {
namespace {

class ExportRangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto audit = store::SqliteAuditStore::Open(":memory:");
    ASSERT_TRUE(audit.has_value()) << audit.error();
    audit_ = std::move(*audit);
    ASSERT_EQ(export_testing::AppendSamples(*audit_, 0, 2500).size(), 2500u);
    auto redactor = redact::Redactor::Create();
    ASSERT_TRUE(redactor.has_value());
    auto f = RecordFormatter::Create(*redactor, {.hostname = "h", .procid = "1"});
    ASSERT_TRUE(f.has_value());
    formatter_.emplace(*f);
  }

  std::string Expected(ExportFormat format, uint64_t from, uint64_t to) {
    std::string out;
    for (uint64_t i = from; i <= to; ++i) {
      auto r = export_testing::SampleRecord(i);
      out += formatter_->Format(format, r, export_testing::RowFor(r).leaf_hash) + "\n";
    }
    return out;
  }

  std::unique_ptr<store::SqliteAuditStore> audit_;
  std::optional<RecordFormatter> formatter_;
};

TEST_F(ExportRangeTest, InclusiveRangeAsJsonLines) {
  std::ostringstream out;
  auto n = ExportRange(*audit_, 3, 5, ExportFormat::kJsonLines, *formatter_, out);
  ASSERT_TRUE(n.has_value()) << n.error();
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ(out.str(), Expected(ExportFormat::kJsonLines, 3, 5));
}

TEST_F(ExportRangeTest, WholeLogAcrossChunksAsSyslog) {
  std::ostringstream out;
  auto n = ExportRange(*audit_, 0, std::nullopt, ExportFormat::kSyslog, *formatter_, out);
  ASSERT_TRUE(n.has_value()) << n.error();
  EXPECT_EQ(*n, 2500u);
  EXPECT_EQ(out.str(), Expected(ExportFormat::kSyslog, 0, 2499));
}

TEST_F(ExportRangeTest, ChunkBoundaryAndPastTheEnd) {
  std::ostringstream out;
  auto n = ExportRange(*audit_, 1000, 2047, ExportFormat::kJsonLines, *formatter_, out);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 1048u);
  EXPECT_EQ(out.str(), Expected(ExportFormat::kJsonLines, 1000, 2047));
  std::ostringstream tail;
  EXPECT_EQ(
      ExportRange(*audit_, 2498, 9999, ExportFormat::kJsonLines, *formatter_, tail).value_or(0),
      2u);
  std::ostringstream none;
  EXPECT_EQ(ExportRange(*audit_, 5000, std::nullopt, ExportFormat::kJsonLines, *formatter_, none)
                .value_or(99),
            0u);
  EXPECT_EQ(none.str(), "");
}

TEST_F(ExportRangeTest, Errors) {
  std::ostringstream out;
  auto reversed = ExportRange(*audit_, 5, 4, ExportFormat::kJsonLines, *formatter_, out);
  ASSERT_FALSE(reversed.has_value());
  EXPECT_EQ(reversed.error().code, core::ErrorCode::kInvalidArgument);

  std::ostringstream broken;
  broken.setstate(std::ios::badbit);
  auto failed = ExportRange(*audit_, 0, 3, ExportFormat::kJsonLines, *formatter_, broken);
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, core::ErrorCode::kUnavailable);

  store::AuditRow junk{2500, "\x01garbage", std::string(32, '\0')};
  ASSERT_TRUE(audit_->AppendRecords({&junk, 1}).has_value());
  std::ostringstream out2;
  auto corrupt =
      ExportRange(*audit_, 2499, std::nullopt, ExportFormat::kJsonLines, *formatter_, out2);
  ASSERT_FALSE(corrupt.has_value());
  EXPECT_EQ(corrupt.error().code, core::ErrorCode::kDataLoss);
  EXPECT_NE(corrupt.error().message.find("seq 2500"), std::string::npos);
}

}  // namespace
}  // namespace opsgate::audit::siem
