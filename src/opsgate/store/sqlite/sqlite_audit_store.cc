#include "opsgate/store/sqlite/sqlite_audit_store.h"

#include <sqlite3.h>

namespace opsgate::store {
namespace {

using sqlite_internal::Blob;
using sqlite_internal::Database;
using sqlite_internal::Statement;

core::Result<TreeHeadRow> ReadHead(Statement& stmt) {
  TreeHeadRow h;
  h.tree_size = static_cast<uint64_t>(stmt.ColumnInt64(0));
  h.root = stmt.ColumnBlob(1);
  h.timestamp_ms = stmt.ColumnInt64(2);
  h.signature = stmt.ColumnBlob(3);
  h.key_id = stmt.ColumnText(4);
  return h;
}

constexpr const char* kHeadColumns =
    "SELECT tree_size, root, timestamp_ms, signature, key_id FROM tree_heads ";

}  // namespace

core::Result<std::unique_ptr<SqliteAuditStore>> SqliteAuditStore::Open(const std::string& path) {
  // Records are appended in order, a commit fills whole pages: 4 KiB pages suit them.
  auto db = SqliteStore::Open(path, SqliteOptions{.page_size = 4096});
  if (!db) {
    return core::Fail(db.error());
  }
  // The audit log promises durability at commit: fsync the WAL on every commit (a
  // commit is a whole batch of records, see audit/writer.h).
  OPSGATE_RETURN_IF_ERROR(
      (*db)->WithDatabase([](Database& d) { return d.Exec("PRAGMA synchronous = FULL"); }));
  return std::unique_ptr<SqliteAuditStore>(new SqliteAuditStore(std::move(*db)));
}

SqliteAuditStore::~SqliteAuditStore() {
  // Finalized under the mutex, like every other use of the connection.
  db_->WithDatabase([this](Database&) { insert_.reset(); });
}

core::Result<uint64_t> SqliteAuditStore::RecordCount() {
  return db_->WithDatabase([](Database& d) -> core::Result<uint64_t> {
    auto stmt = d.Prepare("SELECT coalesce(max(seq) + 1, 0) FROM audit_records");
    if (!stmt) {
      return core::Fail(stmt.error());
    }
    auto row = stmt->Step();
    if (!row) {
      return core::Fail(row.error());
    }
    return static_cast<uint64_t>(stmt->ColumnInt64(0));
  });
}

core::Status SqliteAuditStore::AppendRecords(std::span<const AuditRow> rows) {
  if (rows.empty()) {
    return core::Ok();
  }
  return db_->WithDatabase([&](Database& d) -> core::Status {
    auto tx = d.BeginImmediate();
    if (!tx) {
      return core::Fail(tx.error());
    }
    if (!insert_) {
      auto stmt =
          d.Prepare("INSERT INTO audit_records (seq, record, leaf_hash) VALUES (?1, ?2, ?3)");
      if (!stmt) {
        return core::Fail(stmt.error());
      }
      insert_.emplace(std::move(*stmt));
    }
    Statement& stmt = *insert_;
    for (const AuditRow& r : rows) {
      OPSGATE_RETURN_IF_ERROR(
          stmt.BindAll(static_cast<int64_t>(r.seq), Blob{r.record}, Blob{r.leaf_hash}));
      const core::Status ran = stmt.Run();
      // Reset even after a failed step, so the rollback is not held up by a busy statement.
      OPSGATE_RETURN_IF_ERROR(stmt.Reset());
      OPSGATE_RETURN_IF_ERROR(ran);
    }
    return tx->Commit();
  });
}

core::Status SqliteAuditStore::AppendTreeHead(const TreeHeadRow& h) {
  return db_->WithDatabase([&](Database& d) -> core::Status {
    return d.Run(
        "INSERT INTO tree_heads (tree_size, root, timestamp_ms, signature, key_id) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
        static_cast<int64_t>(h.tree_size), Blob{h.root}, h.timestamp_ms, Blob{h.signature},
        h.key_id);
  });
}

core::Status SqliteAuditStore::ForEachRecord(uint64_t from, uint64_t limit,
                                             const std::function<bool(const AuditRow&)>& fn) {
  // Pages of rows, so a long scan (verify) does not hold the connection's mutex (and
  // block the writer) for its whole duration.
  constexpr uint64_t kPage = 4096;
  uint64_t next = from;
  uint64_t left = limit;
  while (left > 0) {
    const uint64_t want = std::min(left, kPage);
    bool stop = false;
    uint64_t got = 0;
    auto st = db_->WithDatabase([&](Database& d) -> core::Status {
      auto stmt = d.Query(
          "SELECT seq, record, leaf_hash FROM audit_records WHERE seq >= ?1 ORDER BY seq "
          "LIMIT ?2",
          static_cast<int64_t>(next), static_cast<int64_t>(want));
      if (!stmt) {
        return core::Fail(stmt.error());
      }
      AuditRow row;
      while (true) {
        auto has = stmt->Step();
        if (!has) {
          return core::Fail(has.error());
        }
        if (!*has) {
          break;
        }
        row.seq = static_cast<uint64_t>(stmt->ColumnInt64(0));
        row.record = stmt->ColumnBlob(1);
        row.leaf_hash = stmt->ColumnBlob(2);
        ++got;
        next = row.seq + 1;
        if (!fn(row)) {
          stop = true;
          break;
        }
      }
      return core::Ok();
    });
    OPSGATE_RETURN_IF_ERROR(st);
    if (stop || got < want) {
      break;
    }
    left -= got;
  }
  return core::Ok();
}

core::Result<std::vector<std::string>> SqliteAuditStore::LeafHashes(uint64_t count) {
  return db_->WithDatabase([&](Database& d) -> core::Result<std::vector<std::string>> {
    auto stmt = d.Query("SELECT seq, leaf_hash FROM audit_records WHERE seq < ?1 ORDER BY seq",
                        static_cast<int64_t>(count));
    if (!stmt) {
      return core::Fail(stmt.error());
    }
    std::vector<std::string> out;
    out.reserve(count);
    while (true) {
      auto has = stmt->Step();
      if (!has) {
        return core::Fail(has.error());
      }
      if (!*has) {
        break;
      }
      const auto seq = static_cast<uint64_t>(stmt->ColumnInt64(0));
      std::string h = stmt->ColumnBlob(1);
      if (seq != out.size() || h.size() != 32) {
        return core::Fail(core::DataLoss("audit database " + d.path() + ": record " +
                                         std::to_string(out.size()) +
                                         " is missing or has a bad leaf hash; run "
                                         "`opsgate audit verify`"));
      }
      out.push_back(std::move(h));
    }
    if (out.size() != count) {
      return core::Fail(core::DataLoss("audit database " + d.path() + ": has " +
                                       std::to_string(out.size()) + " records, expected " +
                                       std::to_string(count)));
    }
    return out;
  });
}

core::Result<std::vector<TreeHeadRow>> SqliteAuditStore::TreeHeads() {
  return db_->WithDatabase([](Database& d) -> core::Result<std::vector<TreeHeadRow>> {
    auto stmt = d.Prepare(std::string(kHeadColumns) + "ORDER BY tree_size");
    if (!stmt) {
      return core::Fail(stmt.error());
    }
    std::vector<TreeHeadRow> out;
    while (true) {
      auto has = stmt->Step();
      if (!has) {
        return core::Fail(has.error());
      }
      if (!*has) {
        return out;
      }
      out.push_back(*ReadHead(*stmt));
    }
  });
}

core::Result<std::optional<TreeHeadRow>> SqliteAuditStore::LatestTreeHead() {
  return db_->WithDatabase([](Database& d) -> core::Result<std::optional<TreeHeadRow>> {
    auto row = d.QueryRow(std::string(kHeadColumns) + "ORDER BY tree_size DESC LIMIT 1");
    if (!row) {
      return core::Fail(row.error());
    }
    if (!*row) {
      return std::optional<TreeHeadRow>();
    }
    return std::optional<TreeHeadRow>(*ReadHead(**row));
  });
}

core::Status SqliteAuditStore::ExecForTesting(std::string_view sql) {
  return db_->WithDatabase([&](Database& d) { return d.Exec(sql); });
}

}  // namespace opsgate::store
