#include "opsgate/store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace opsgate::store {
namespace {

using core::ErrorCode;
using sqlite_internal::Database;
namespace fs = std::filesystem;

// A fresh directory under $TMPDIR, removed with everything in it at the end of the test.
class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "opsgate-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, ec);
    fs::remove_all(dir_, ec);
  }

  std::string Path(const std::string& rel) const { return (dir_ / rel).string(); }

  static mode_t Mode(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  // Runs `sql` on a separate raw connection and returns the first column of the first row.
  static std::string RawQuery(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    const int rc = sqlite3_step(stmt);
    EXPECT_TRUE(rc == SQLITE_ROW || rc == SQLITE_DONE) << sqlite3_errmsg(db);
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
  }

  // The first column of the first row of `sql` on the store's own connection.
  static std::string StoreQuery(SqliteStore& store, const std::string& sql) {
    return store.WithDatabase([&](Database& db) {
      auto stmt = db.Prepare(sql);
      EXPECT_TRUE(stmt.has_value()) << stmt.error();
      auto row = stmt->Step();
      EXPECT_TRUE(row.has_value() && *row) << sql;
      return stmt->ColumnText(0);
    });
  }

  fs::path dir_;
};

TEST_F(SqliteStoreTest, OpenCreatesPrivateParentDirectoriesAndFile) {
  const std::string path = Path("data/db/opsgate.db");
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.has_value()) << store.error();
  EXPECT_EQ((*store)->Driver(), "sqlite");
  EXPECT_EQ((*store)->path(), path);
  EXPECT_EQ(Mode(Path("data")), 0700u);
  EXPECT_EQ(Mode(Path("data/db")), 0700u);
  EXPECT_EQ(Mode(path), 0600u);
  // SQLite gives the WAL and shared-memory files the database file's mode.
  ASSERT_TRUE(fs::exists(path + "-wal"));
  EXPECT_EQ(Mode(path + "-wal"), 0600u);
  EXPECT_EQ(Mode(path + "-shm"), 0600u);
}

TEST_F(SqliteStoreTest, OpenKeepsModeOfExistingDirectory) {
  fs::create_directory(Path("shared"));
  fs::permissions(Path("shared"), fs::perms(0755));
  auto store = SqliteStore::Open(Path("shared/opsgate.db"));
  ASSERT_TRUE(store.has_value()) << store.error();
  EXPECT_EQ(Mode(Path("shared")), 0755u);
}

TEST_F(SqliteStoreTest, SetsWalAndConnectionPragmas) {
  const std::string path = Path("opsgate.db");
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.has_value()) << store.error();
  EXPECT_EQ(StoreQuery(**store, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(StoreQuery(**store, "PRAGMA synchronous"), "1");  // NORMAL
  EXPECT_EQ(StoreQuery(**store, "PRAGMA foreign_keys"), "1");
  EXPECT_EQ(StoreQuery(**store, "PRAGMA busy_timeout"), "5000");
  // WAL is a property of the file: another connection sees it.
  EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteStoreTest, NewFilesGetTheConfiguredPageSizeExistingOnesKeepTheirs) {
  {
    auto store = SqliteStore::Open(Path("small.db"));
    ASSERT_TRUE(store.has_value()) << store.error();
    EXPECT_EQ(StoreQuery(**store, "PRAGMA page_size"), "1024");  // the default
  }
  EXPECT_EQ(RawQuery(Path("small.db"), "PRAGMA page_size"), "1024");  // in the file
  {
    auto store = SqliteStore::Open(Path("big.db"), SqliteOptions{.page_size = 4096});
    ASSERT_TRUE(store.has_value()) << store.error();
    EXPECT_EQ(StoreQuery(**store, "PRAGMA page_size"), "4096");
  }
  // Reopened with another size: the file keeps the one it was created with.
  auto again = SqliteStore::Open(Path("big.db"));
  ASSERT_TRUE(again.has_value()) << again.error();
  EXPECT_EQ(StoreQuery(**again, "PRAGMA page_size"), "4096");
  // Not a power of two in 512..65536: refused before any file is made.
  for (int bad : {0, 256, 1000, 131072}) {
    auto refused = SqliteStore::Open(Path("bad.db"), SqliteOptions{.page_size = bad});
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(refused.error().message.find("page size"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(Path("bad.db")));
}

TEST_F(SqliteStoreTest, AppliesMigrationsOnce) {
  const std::string path = Path("opsgate.db");
  std::string created_at;
  {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.has_value()) << store.error();
    EXPECT_EQ((*store)->SchemaVersion(), SqliteStore::LatestSchemaVersion());
    EXPECT_GE(SqliteStore::LatestSchemaVersion(), 1);
    created_at = StoreQuery(**store, "SELECT value FROM kv_meta WHERE key = 'created_at'");
    EXPECT_EQ(created_at.size(), 24u) << created_at;  // 2024-01-02T03:04:05.678Z
    EXPECT_EQ(created_at.back(), 'Z');
  }
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM schema_migrations"),
            std::to_string(SqliteStore::LatestSchemaVersion()));
  EXPECT_NE(RawQuery(path, "SELECT applied_at FROM schema_migrations WHERE version = 1"), "");

  auto reopened = SqliteStore::Open(path);
  ASSERT_TRUE(reopened.has_value()) << reopened.error();
  EXPECT_EQ((*reopened)->SchemaVersion(), SqliteStore::LatestSchemaVersion());
  EXPECT_EQ(StoreQuery(**reopened, "SELECT count(*) FROM schema_migrations"),
            std::to_string(SqliteStore::LatestSchemaVersion()));
  EXPECT_EQ(StoreQuery(**reopened, "SELECT value FROM kv_meta WHERE key = 'created_at'"),
            created_at);
  EXPECT_EQ(StoreQuery(**reopened, "SELECT count(*) FROM kv_meta"), "1");
}

TEST_F(SqliteStoreTest, ConcurrentOpensMigrateOnce) {
  const std::string path = Path("opsgate.db");
  constexpr int kOpeners = 4;
  std::vector<core::Result<std::unique_ptr<SqliteStore>>> results;
  for (int i = 0; i < kOpeners; ++i) {
    results.emplace_back(core::Fail(core::Internal("not run")));
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] { results[static_cast<size_t>(i)] = SqliteStore::Open(path); });
  }
  for (auto& t : threads) {
    t.join();
  }
  for (const auto& r : results) {
    ASSERT_TRUE(r.has_value()) << r.error();
    EXPECT_EQ((*r)->SchemaVersion(), SqliteStore::LatestSchemaVersion());
  }
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM kv_meta"), "1");
}

TEST_F(SqliteStoreTest, PingAnswersFromManyThreads) {
  auto store = SqliteStore::Open(Path("opsgate.db"));
  ASSERT_TRUE(store.has_value()) << store.error();
  EXPECT_TRUE((*store)->Ping().has_value());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 100; ++j) {
        if (!(*store)->Ping().has_value()) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(SqliteStoreTest, RefusesNewerSchemaVersion) {
  const std::string path = Path("opsgate.db");
  ASSERT_TRUE(SqliteStore::Open(path).has_value());
  const int future = SqliteStore::LatestSchemaVersion() + 41;
  RawQuery(path, "INSERT INTO schema_migrations (version, applied_at) VALUES (" +
                     std::to_string(future) + ", 'later')");

  auto store = SqliteStore::Open(path);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(store.error().message.find("database schema version " + std::to_string(future) +
                                       " is newer than this opsgate (max " +
                                       std::to_string(SqliteStore::LatestSchemaVersion()) +
                                       "); upgrade opsgate"),
            std::string::npos)
      << store.error();
  EXPECT_NE(store.error().message.find(path), std::string::npos) << store.error();
}

TEST_F(SqliteStoreTest, ReportsPathUnderRegularFile) {
  { std::ofstream(Path("file")) << "x"; }
  const std::string path = Path("file/sub/opsgate.db");
  auto store = SqliteStore::Open(path);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(store.error().message.find(path), std::string::npos) << store.error();
  EXPECT_NE(store.error().message.find("Not a directory"), std::string::npos) << store.error();
  EXPECT_NE(store.error().message.find("store.path"), std::string::npos) << store.error();
}

TEST_F(SqliteStoreTest, ReportsUnwritableDirectory) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "root ignores directory permissions";
  }
  fs::create_directory(Path("ro"));
  fs::permissions(Path("ro"), fs::perms(0500));
  const std::string path = Path("ro/opsgate.db");
  auto store = SqliteStore::Open(path);
  fs::permissions(Path("ro"), fs::perms(0700));
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(store.error().message.find(path), std::string::npos) << store.error();
  EXPECT_NE(store.error().message.find("Permission denied"), std::string::npos) << store.error();
}

TEST_F(SqliteStoreTest, RefusesFileThatIsNotSqlite) {
  const std::string path = Path("notes.txt");
  const std::string contents(4096, 'x');
  { std::ofstream(path, std::ios::binary) << contents; }
  auto store = SqliteStore::Open(path);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(store.error().message.find(path), std::string::npos) << store.error();
  EXPECT_NE(store.error().message.find("not a database"), std::string::npos) << store.error();
  // The file was left as it was.
  std::ifstream in(path, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()),
            contents);
}

TEST_F(SqliteStoreTest, RejectsEmptyPath) {
  auto store = SqliteStore::Open("");
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, OpensInMemoryDatabase) {
  auto store = SqliteStore::Open(":memory:");
  ASSERT_TRUE(store.has_value()) << store.error();
  EXPECT_EQ((*store)->SchemaVersion(), SqliteStore::LatestSchemaVersion());
  EXPECT_TRUE((*store)->Ping().has_value());
  EXPECT_FALSE(fs::exists(":memory:"));
}

}  // namespace
}  // namespace opsgate::store
