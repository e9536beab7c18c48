#include "opsgate/store/sqlite/sqlite_audit_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

namespace opsgate::store {
namespace {

namespace fs = std::filesystem;

std::string TempDb() {
  std::random_device rd;
  const fs::path dir = fs::temp_directory_path() / ("opsgate-auditstore-" + std::to_string(rd()));
  fs::create_directories(dir);
  return (dir / "audit.db").string();
}

TEST(SqliteAuditStore, AppendsReadsBackAndRefusesDuplicateSeqs) {
  const std::string path = TempDb();
  auto store = SqliteAuditStore::Open(path);
  ASSERT_TRUE(store.has_value()) << store.error();
  EXPECT_EQ(*(*store)->RecordCount(), 0u);
  std::vector<AuditRow> rows = {{0, "a", std::string(32, 'x')}, {1, "b", std::string(32, 'y')}};
  ASSERT_TRUE((*store)->AppendRecords(rows).has_value());
  EXPECT_EQ(*(*store)->RecordCount(), 2u);
  auto dup = (*store)->AppendRecords(std::vector<AuditRow>{{1, "c", std::string(32, 'z')}});
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, core::ErrorCode::kAlreadyExists);
  std::vector<std::string> seen;
  ASSERT_TRUE((*store)->ForEachRecord(0, 10, [&](const AuditRow& r) {
                         seen.push_back(r.record);
                         return true;
                       }).has_value());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  auto leaves = (*store)->LeafHashes(2);
  ASSERT_TRUE(leaves.has_value());
  EXPECT_EQ(leaves->at(1), std::string(32, 'y'));
  ASSERT_TRUE((*store)->AppendTreeHead({2, std::string(32, 'r'), 7, "sig", "kid"}).has_value());
  auto head = (*store)->LatestTreeHead();
  ASSERT_TRUE(head.has_value() && head->has_value());
  EXPECT_EQ((*head)->tree_size, 2u);
  EXPECT_EQ((*head)->key_id, "kid");
  fs::remove_all(fs::path(path).parent_path());
}

}  // namespace
}  // namespace opsgate::store
