#include "opsgate/store/sqlite/sqlite_seen_keys.h"

#include <sqlite3.h>

#include <vector>

namespace opsgate::store {
namespace {

using sqlite_internal::Database;
using sqlite_internal::Statement;

int64_t UnixMillis(core::Clock::WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Inserts the key, or takes over a row that has expired; leaves a live row alone. So
// sqlite3_changes() is 1 exactly when the key counts as new.
constexpr const char* kUpsert =
    "INSERT INTO seen_keys (scope, key, expires_at) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (scope, key) DO UPDATE SET expires_at = excluded.expires_at "
    "WHERE seen_keys.expires_at <= ?4";
constexpr const char* kPrune = "DELETE FROM seen_keys WHERE expires_at <= ?1";
// The last key of the next chunk after the cursor (?3 = chunk size - 1).
constexpr const char* kChunkEnd =
    "SELECT scope, key FROM seen_keys WHERE (scope, key) > (?1, ?2) "
    "ORDER BY scope, key LIMIT 1 OFFSET ?3";
constexpr const char* kPruneRange =
    "DELETE FROM seen_keys WHERE (scope, key) > (?1, ?2) AND (scope, key) <= (?3, ?4) "
    "AND expires_at <= ?5";
constexpr const char* kPruneTail =
    "DELETE FROM seen_keys WHERE (scope, key) > (?1, ?2) AND expires_at <= ?3";

core::Status Prepare(Database& db, const char* sql, std::optional<Statement>* stmt) {
  if (*stmt) {
    return core::Ok();
  }
  auto prepared = db.Prepare(sql);
  if (!prepared) {
    return core::Fail(prepared.error());
  }
  stmt->emplace(std::move(*prepared));
  return core::Ok();
}

}  // namespace

SqliteSeenKeys::SqliteSeenKeys(SqliteStore& store, uint64_t prune_every)
    : store_(store), prune_every_(prune_every == 0 ? 1 : prune_every) {}

SqliteSeenKeys::~SqliteSeenKeys() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) {
    writer_.join();  // answers everything still queued first
  }
  // Finalize under the mutex, like every other use of the connection.
  store_.WithDatabase([this](Database&) {
    upsert_.reset();
    prune_.reset();
    chunk_end_.reset();
    prune_range_.reset();
    prune_tail_.reset();
  });
}

namespace {

core::Status CheckKey(std::string_view scope, std::string_view key) {
  if (scope.empty() || key.empty() || scope.size() > SqliteSeenKeys::kMaxKeyBytes ||
      key.size() > SqliteSeenKeys::kMaxKeyBytes) {
    return core::Fail(core::InvalidArgument("seen key scope and key must be 1.." +
                                            std::to_string(SqliteSeenKeys::kMaxKeyBytes) +
                                            " bytes"));
  }
  return core::Ok();
}

int64_t ExpiresMs(int64_t now_ms, std::chrono::seconds ttl) {
  const auto at_least = ttl < std::chrono::seconds(1) ? std::chrono::seconds(1) : ttl;
  return now_ms + std::chrono::duration_cast<std::chrono::milliseconds>(at_least).count();
}

}  // namespace

core::Result<bool> SqliteSeenKeys::Upsert(Database& db, std::string_view scope,
                                          std::string_view key, int64_t now_ms,
                                          int64_t expires_ms) {
  OPSGATE_RETURN_IF_ERROR(Prepare(db, kUpsert, &upsert_));
  Statement& st = *upsert_;
  OPSGATE_RETURN_IF_ERROR(st.BindText(1, scope));
  OPSGATE_RETURN_IF_ERROR(st.BindText(2, key));
  OPSGATE_RETURN_IF_ERROR(st.BindInt64(3, expires_ms));
  OPSGATE_RETURN_IF_ERROR(st.BindInt64(4, now_ms));
  const core::Status ran = st.Run();
  const bool first = ran && sqlite3_changes(db.handle()) == 1;
  OPSGATE_RETURN_IF_ERROR(st.Reset());
  if (!ran) {
    return core::Fail(ran.error());
  }
  if (++calls_ % prune_every_ == 0) {
    PruneStep(db, now_ms);
  }
  return first;
}

core::Result<bool> SqliteSeenKeys::MarkSeen(std::string_view scope, std::string_view key,
                                            core::Clock::WallTime now, std::chrono::seconds ttl) {
  OPSGATE_RETURN_IF_ERROR(CheckKey(scope, key));
  const int64_t now_ms = UnixMillis(now);
  return store_.WithDatabase([&](Database& db) -> core::Result<bool> {
    return Upsert(db, scope, key, now_ms, ExpiresMs(now_ms, ttl));
  });
}

void SqliteSeenKeys::MarkSeenAsync(std::string scope, std::string key, core::Clock::WallTime now,
                                   std::chrono::seconds ttl, MarkDone done) {
  if (auto ok = CheckKey(scope, key); !ok) {
    done(core::Fail(ok.error()));
    return;
  }
  const int64_t now_ms = UnixMillis(now);
  {
    std::unique_lock<std::mutex> lock(queue_mu_);
    if (stopping_) {
      lock.unlock();
      done(core::Fail(core::Unavailable("the seen-keys store is shutting down")));
      return;
    }
    if (queue_.size() >= kMaxQueued) {
      lock.unlock();
      done(core::Fail(core::ResourceExhausted(
          "too many requests waiting for the replay check; retry shortly")));
      return;
    }
    queue_.push_back({std::move(scope), std::move(key), now_ms, ExpiresMs(now_ms, ttl),
                      std::move(done)});
    if (!writer_.joinable()) {
      writer_ = std::thread([this] { WriterLoop(); });
    }
  }
  queue_cv_.notify_one();
}

void SqliteSeenKeys::Drain() {
  std::unique_lock<std::mutex> lock(queue_mu_);
  idle_cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void SqliteSeenKeys::WriterLoop() {
  std::unique_lock<std::mutex> lock(queue_mu_);
  while (true) {
    queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) {
      return;  // stopping, and everything answered
    }
    std::deque<Pending> batch;
    batch.swap(queue_);
    busy_ = true;
    lock.unlock();

    // One transaction for the batch: the keys are checked in arrival order, so of two
    // equal keys in one batch only the first counts as new.
    std::vector<core::Result<bool>> answers;
    answers.reserve(batch.size());
    const core::Status committed = store_.WithDatabase([&](Database& db) -> core::Status {
      auto tx = db.BeginImmediate();
      if (!tx) {
        return core::Fail(tx.error());
      }
      for (const Pending& p : batch) {
        answers.push_back(Upsert(db, p.scope, p.key, p.now_ms, p.expires_ms));
      }
      return tx->Commit();
    });
    for (size_t i = 0; i < batch.size(); ++i) {
      // Nothing counts as seen unless the transaction holding it committed.
      batch[i].done(committed ? std::move(answers[i]) : core::Fail(committed.error()));
    }

    lock.lock();
    busy_ = false;
    if (queue_.empty()) {
      idle_cv_.notify_all();
    }
  }
}

void SqliteSeenKeys::PruneStep(Database& db, int64_t now_ms) {
  // Pruning failures are not the caller's problem: the next step tries again.
  if (!Prepare(db, kChunkEnd, &chunk_end_) || !Prepare(db, kPruneRange, &prune_range_) ||
      !Prepare(db, kPruneTail, &prune_tail_)) {
    return;
  }
  Statement& end = *chunk_end_;
  if (!end.BindText(1, cursor_scope_) || !end.BindText(2, cursor_key_) ||
      !end.BindInt64(3, kPruneChunk - 1)) {
    (void)end.Reset();
    return;
  }
  auto row = end.Step();
  if (row && *row) {
    std::string end_scope = end.ColumnText(0);
    std::string end_key = end.ColumnText(1);
    (void)end.Reset();
    Statement& del = *prune_range_;
    if (del.BindText(1, cursor_scope_) && del.BindText(2, cursor_key_) &&
        del.BindText(3, end_scope) && del.BindText(4, end_key) && del.BindInt64(5, now_ms)) {
      (void)del.Run();
    }
    (void)del.Reset();
    cursor_scope_ = std::move(end_scope);
    cursor_key_ = std::move(end_key);
    return;
  }
  (void)end.Reset();
  // Fewer than a chunk left: prune the tail and start again from the beginning.
  Statement& del = *prune_tail_;
  if (del.BindText(1, cursor_scope_) && del.BindText(2, cursor_key_) &&
      del.BindInt64(3, now_ms)) {
    (void)del.Run();
  }
  (void)del.Reset();
  cursor_scope_.clear();
  cursor_key_.clear();
}

core::Result<int64_t> SqliteSeenKeys::Prune(core::Clock::WallTime now) {
  return store_.WithDatabase([&](Database& db) -> core::Result<int64_t> {
    OPSGATE_RETURN_IF_ERROR(Prepare(db, kPrune, &prune_));
    OPSGATE_RETURN_IF_ERROR(prune_->BindInt64(1, UnixMillis(now)));
    const core::Status ran = prune_->Run();
    const int64_t n = ran ? sqlite3_changes(db.handle()) : 0;
    OPSGATE_RETURN_IF_ERROR(prune_->Reset());
    if (!ran) {
      return core::Fail(ran.error());
    }
    return n;
  });
}

}  // namespace opsgate::store
