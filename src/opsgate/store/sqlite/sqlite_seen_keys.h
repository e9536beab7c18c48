// File: opsgate/store/sqlite/sqlite_seen_keys.h
//
// SeenKeys on the SqliteStore's database (table seen_keys, schema migration 2).
//
// One MarkSeen is one auto-committed UPSERT through a statement prepared once and
// reused under the store's mutex; with WAL and synchronous=NORMAL (SqliteStore) that is
// an append to the WAL without an fsync, which is what a per-request hot path can
// afford. An expired row is overwritten in the same statement.
//
// Pruning is incremental, so that no request waits for a scan of the whole table: every
// prune_every-th call deletes the expired rows among the next kPruneChunk keys after a
// cursor that walks the primary key and wraps around. The table has no index on
// expires_at (one b-tree written per insert, not two); the scan rate (kPruneChunk /
// prune_every rows per insert) exceeds the insert rate, so every row is looked at
// again well within a table's worth of inserts.
//
// MarkSeenAsync queues the call for a writer thread that runs everything queued in one
// transaction (group commit): one WAL append for many keys instead of one per key,
// which is what lets the request path scale. A full queue (kMaxQueued) answers
// kResourceExhausted at once.
//
// Ownership: borrows the store, which must outlive this object.
// Thread-safety: safe from any thread (all work runs inside SqliteStore::WithDatabase).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "opsgate/store/seen_keys.h"
#include "opsgate/store/sqlite/sqlite_store.h"

namespace opsgate::store {

class SqliteSeenKeys final : public SeenKeys {
 public:
  // Longest scope or key accepted.
  static constexpr size_t kMaxKeyBytes = 256;
  // Keys looked at per pruning step.
  static constexpr int kPruneChunk = 512;

  explicit SqliteSeenKeys(SqliteStore& store, uint64_t prune_every = 64);
  ~SqliteSeenKeys() override;
  SqliteSeenKeys(const SqliteSeenKeys&) = delete;
  SqliteSeenKeys& operator=(const SqliteSeenKeys&) = delete;

  // Calls queued for the writer thread at most; more answer kResourceExhausted.
  static constexpr size_t kMaxQueued = 65536;

  [[nodiscard]] core::Result<bool> MarkSeen(std::string_view scope, std::string_view key,
                                            core::Clock::WallTime now,
                                            std::chrono::seconds ttl) override;
  void MarkSeenAsync(std::string scope, std::string key, core::Clock::WallTime now,
                     std::chrono::seconds ttl, MarkDone done) override;
  void Drain() override;

  // Deletes every row expired at `now` (a full scan: for maintenance and tests);
  // returns how many. Errors as MarkSeen.
  [[nodiscard]] core::Result<int64_t> Prune(core::Clock::WallTime now);

 private:
  struct Pending {
    std::string scope;
    std::string key;
    int64_t now_ms;
    int64_t expires_ms;
    MarkDone done;
  };

  // One incremental pruning step (see above). Failures are left for the next step.
  void PruneStep(sqlite_internal::Database& db, int64_t now_ms);
  // The upsert for one key, inside WithDatabase.
  core::Result<bool> Upsert(sqlite_internal::Database& db, std::string_view scope,
                            std::string_view key, int64_t now_ms, int64_t expires_ms);
  void WriterLoop();

  SqliteStore& store_;
  const uint64_t prune_every_;
  // Prepared on first use; all three are used only inside WithDatabase (the store's
  // mutex), which is what guards them.
  std::optional<sqlite_internal::Statement> upsert_;
  std::optional<sqlite_internal::Statement> prune_;
  std::optional<sqlite_internal::Statement> chunk_end_;
  std::optional<sqlite_internal::Statement> prune_range_;
  std::optional<sqlite_internal::Statement> prune_tail_;
  uint64_t calls_ = 0;
  std::string cursor_scope_;  // pruning resumes after (cursor_scope_, cursor_key_)
  std::string cursor_key_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::condition_variable idle_cv_;
  std::deque<Pending> queue_;  // GUARDED_BY(queue_mu_)
  bool busy_ = false;          // GUARDED_BY(queue_mu_): the writer holds a batch
  bool stopping_ = false;      // GUARDED_BY(queue_mu_)
  std::thread writer_;         // started on the first MarkSeenAsync
};

}  // namespace opsgate::store
