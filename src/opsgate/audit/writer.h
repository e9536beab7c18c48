// File: opsgate/audit/writer.h
//
// AuditLog: the durable audit log. Records are appended to an AuditStore with group
// commit: callers enqueue, one writer thread takes whatever is queued (up to
// max_batch) and commits it in one transaction, i.e. one fsync, then completes each
// caller's `done` with its sequence number. A caller waits only for the commit that
// carries its own record; under load many callers share one fsync.
//
// The writer keeps the Merkle frontier (merkle.h CompactRange) of everything durable,
// and signs a tree head (tree_head.h) every tree_head_every records, every
// tree_head_interval when there are unsigned records, when opened over records that no
// tree head covers (after a crash), and at Close().
//
//   auto log = AuditLog::Open(std::move(store), std::move(signer), clock, log, {});
//   (*log)->Append(record, [](core::Result<uint64_t> seq) { ... });
//   (*log)->Close();   // drains the queue, signs the final tree head
//
// Ownership: owns the store and the signer; `clock` and `logger` must outlive it.
// Thread-safety: Append from any thread; Close once, from one thread (the destructor
// calls it if needed). `done` callbacks run on the writer thread (see sink.h).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "opsgate/audit/merkle.h"
#include "opsgate/audit/sink.h"
#include "opsgate/audit/tree_head.h"
#include "opsgate/core/clock.h"
#include "opsgate/crypto/key_provider.h"
#include "opsgate/store/audit_store.h"
#include "opsgate/telemetry/log.h"
#include "opsgate/telemetry/metrics.h"

namespace opsgate::audit {

struct AuditLogOptions {
  // Most records per transaction (one fsync). Default 1024.
  size_t max_batch = 1024;
  // Most records waiting; beyond it Append fails at once with kResourceExhausted.
  size_t max_queue = 65536;
  // Sign a tree head after this many new records...
  uint64_t tree_head_every = 1000;
  // ...or this long after the last one, if records arrived since.
  std::chrono::milliseconds tree_head_interval{10000};
  // When set, sensitive fields are sealed (sealing.h) before a record is encoded and
  // hashed. A record whose sealing fails is not stored: its caller gets the error. Not
  // owned; must outlive the log.
  crypto::FieldSealer* sealer = nullptr;
  // Called on the writer thread after each commit with the number of durable records
  // (e.g. to wake an exporter). Must be quick and must not append.
  std::function<void(uint64_t durable)> on_commit;
  // Counts tree heads that could not be signed or stored (retried later; alert on it).
  // Not owned; may be null.
  telemetry::Counter* tree_head_failures = nullptr;
};

class AuditLog final : public AuditSink {
 public:
  // Reads the leaf hashes of the stored records to rebuild the frontier (O(n) once),
  // signs a tree head if records are not yet covered by one, and starts the writer.
  // Errors: the store's; kDataLoss when the stored log is inconsistent (a gap in the
  // seqs, a tree head beyond the records): run `opsgate audit verify`.
  [[nodiscard]] static core::Result<std::unique_ptr<AuditLog>> Open(
      std::unique_ptr<store::AuditStore> store, std::unique_ptr<TreeHeadSigner> signer,
      const core::Clock& clock, telemetry::Logger& logger, AuditLogOptions options = {});

  ~AuditLog() override;

  // Queues the record; the writer assigns seq (and timestamp_ms when it is 0).
  // Immediate errors through done: kCancelled after Close, kResourceExhausted when
  // max_queue records are waiting. Commit errors: the store's (kUnavailable, ...).
  void Append(Record record, Done done) override;

  // Stops accepting, commits what is queued, signs a final tree head if records are
  // unsigned, stops the writer. Returns the final signing's error, if any. Idempotent.
  core::Status Close();

  // Signs (and stores) a tree head for everything durable now, if anything is unsigned.
  [[nodiscard]] core::Status SignTreeHead();

  // Durable records so far.
  uint64_t size() const { return durable_.load(std::memory_order_acquire); }
  // Number of commits (fsyncs) so far, for benchmarks and tests of batching.
  uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }

  store::AuditStore& store() { return *store_; }

 private:
  struct Pending {
    Record record;
    Done done;
  };

  AuditLog(std::unique_ptr<store::AuditStore> store, std::unique_ptr<TreeHeadSigner> signer,
           const core::Clock& clock, telemetry::Logger& logger, AuditLogOptions options);
  void WriterLoop();
  void Commit(std::vector<Pending>& batch);
  core::Status SignLocked();  // REQUIRES: range_mu_ held

  const std::unique_ptr<store::AuditStore> store_;
  const std::unique_ptr<TreeHeadSigner> signer_;
  const core::Clock& clock_;
  telemetry::Logger& log_;
  const AuditLogOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // GUARDED_BY(mu_)
  bool closing_ = false;       // GUARDED_BY(mu_)

  std::mutex range_mu_;
  CompactRange range_;                        // GUARDED_BY(range_mu_)
  uint64_t signed_size_ = 0;                  // GUARDED_BY(range_mu_)
  bool has_head_ = false;                     // GUARDED_BY(range_mu_)
  core::Clock::SteadyTime last_head_time_{};  // GUARDED_BY(range_mu_)

  std::atomic<uint64_t> durable_{0};
  std::atomic<uint64_t> commits_{0};
  std::thread writer_;
  bool closed_ = false;
  core::Status close_status_;
};

}  // namespace opsgate::audit
