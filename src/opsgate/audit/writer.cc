#include "opsgate/audit/writer.h"

#include <vector>

#include "opsgate/audit/sealing.h"

namespace opsgate::audit {
namespace {

int64_t UnixMillis(core::Clock::WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

AuditLog::AuditLog(std::unique_ptr<store::AuditStore> store,
                   std::unique_ptr<TreeHeadSigner> signer, const core::Clock& clock,
                   telemetry::Logger& logger, AuditLogOptions options)
    : store_(std::move(store)),
      signer_(std::move(signer)),
      clock_(clock),
      log_(logger),
      options_(options) {}

core::Result<std::unique_ptr<AuditLog>> AuditLog::Open(std::unique_ptr<store::AuditStore> store,
                                                       std::unique_ptr<TreeHeadSigner> signer,
                                                       const core::Clock& clock,
                                                       telemetry::Logger& logger,
                                                       AuditLogOptions options) {
  if (options.max_batch == 0) {
    options.max_batch = 1;
  }
  if (options.tree_head_every == 0) {
    options.tree_head_every = 1;
  }
  auto count = store->RecordCount();
  if (!count) {
    return core::Fail(count.error());
  }
  auto leaves = store->LeafHashes(*count);
  if (!leaves) {
    return core::Fail(leaves.error());
  }
  auto head = store->LatestTreeHead();
  if (!head) {
    return core::Fail(head.error());
  }
  std::unique_ptr<AuditLog> log(
      new AuditLog(std::move(store), std::move(signer), clock, logger, options));
  for (const std::string& h : *leaves) {
    Hash leaf;
    std::copy(h.begin(), h.end(), leaf.begin());
    log->range_.Append(leaf);
  }
  log->durable_ = *count;
  log->last_head_time_ = clock.SteadyNow();
  if (*head) {
    if ((*head)->tree_size > *count) {
      return core::Fail(core::DataLoss(
          "the audit log has " + std::to_string(*count) + " records but a tree head of size " +
          std::to_string((*head)->tree_size) + " was signed: records are missing; run `opsgate "
          "audit verify`"));
    }
    log->signed_size_ = (*head)->tree_size;
    log->has_head_ = true;
  }
  {
    std::lock_guard<std::mutex> lock(log->range_mu_);
    if (!log->has_head_ || log->signed_size_ < *count) {
      // Records written before a crash: cover them now, before anything new.
      OPSGATE_RETURN_IF_ERROR(log->SignLocked());
    }
  }
  log->writer_ = std::thread([p = log.get()] { p->WriterLoop(); });
  return log;
}

AuditLog::~AuditLog() { (void)Close(); }

void AuditLog::Append(Record record, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) {
      done(core::Fail(core::Cancelled("the audit log is closed (shutting down); not recorded")));
      return;
    }
    if (queue_.size() >= options_.max_queue) {
      done(core::Fail(core::ResourceExhausted(
          "the audit log queue is full (" + std::to_string(options_.max_queue) +
          " records waiting for the disk); not recorded, retry later")));
      return;
    }
    queue_.push_back({std::move(record), std::move(done)});
  }
  cv_.notify_one();
}

core::Status AuditLog::Close() {
  if (closed_) {
    return close_status_;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  cv_.notify_one();
  if (writer_.joinable()) {
    writer_.join();
  }
  {
    std::lock_guard<std::mutex> lock(range_mu_);
    if (range_.size() > signed_size_) {
      close_status_ = SignLocked();
    }
  }
  closed_ = true;
  return close_status_;
}

core::Status AuditLog::SignTreeHead() {
  std::lock_guard<std::mutex> lock(range_mu_);
  if (has_head_ && range_.size() == signed_size_) {
    return core::Ok();
  }
  return SignLocked();
}

core::Status AuditLog::SignLocked() {
  TreeHead head;
  head.tree_size = range_.size();
  head.root = range_.Root();
  head.timestamp_ms = UnixMillis(clock_.Now());
  auto sig = signer_->Sign(head);
  if (!sig) {
    log_.Error("audit.tree_head_failed",
               {{"tree_size", head.tree_size}, {"error", sig.error().message}});
    if (options_.tree_head_failures != nullptr) {
      options_.tree_head_failures->Inc();
    }
    return core::Fail(sig.error());
  }
  store::TreeHeadRow row;
  row.tree_size = head.tree_size;
  row.root = std::string(crypto::AsStringView(head.root));
  row.timestamp_ms = head.timestamp_ms;
  row.signature = std::move(*sig);
  row.key_id = signer_->public_key().key_id();
  if (auto st = store_->AppendTreeHead(row); !st) {
    log_.Error("audit.tree_head_failed",
               {{"tree_size", head.tree_size}, {"error", st.error().message}});
    if (options_.tree_head_failures != nullptr) {
      options_.tree_head_failures->Inc();
    }
    return st;
  }
  signed_size_ = head.tree_size;
  has_head_ = true;
  last_head_time_ = clock_.SteadyNow();
  log_.Debug("audit.tree_head", {{"tree_size", head.tree_size}, {"root", crypto::HexEncode(head.root)}});
  return core::Ok();
}

void AuditLog::WriterLoop() {
  std::vector<Pending> batch;
  batch.reserve(options_.max_batch);
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (queue_.empty() && !closing_) {
      std::chrono::nanoseconds wait;
      {
        std::lock_guard<std::mutex> rl(range_mu_);
        wait = last_head_time_ + options_.tree_head_interval - clock_.SteadyNow();
      }
      wait = std::max<std::chrono::nanoseconds>(wait, std::chrono::milliseconds(1));
      cv_.wait_for(lock, wait, [&] { return closing_ || !queue_.empty(); });
    }
    if (queue_.empty()) {
      if (closing_) {
        return;
      }
      lock.unlock();
      {
        std::lock_guard<std::mutex> rl(range_mu_);
        if (range_.size() > signed_size_ &&
            clock_.SteadyNow() - last_head_time_ >= options_.tree_head_interval) {
          (void)SignLocked();  // logged; retried on the next tick
        }
      }
      lock.lock();
      continue;
    }
    while (!queue_.empty() && batch.size() < options_.max_batch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    Commit(batch);
    batch.clear();
    lock.lock();
  }
}

void AuditLog::Commit(std::vector<Pending>& batch) {
  const uint64_t first = durable_.load(std::memory_order_relaxed);
  const int64_t now_ms = UnixMillis(clock_.Now());
  // Records whose sealing fails are answered at once and take no seq.
  size_t kept = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    Record& r = batch[i].record;
    r.seq = first + kept;
    if (options_.sealer != nullptr) {
      if (core::Status st = SealRecordFields(r, *options_.sealer); !st) {
        log_.Error("audit.seal_failed", {{"error", st.error().message}});
        core::Error e = st.error();
        e.message = "audit record not stored (the request must not be acted on): " + e.message;
        batch[i].done(core::Fail(std::move(e)));
        continue;
      }
    }
    if (kept != i) {
      batch[kept] = std::move(batch[i]);
    }
    ++kept;
  }
  batch.resize(kept);
  if (batch.empty()) {
    return;
  }
  std::vector<store::AuditRow> rows(batch.size());
  std::vector<Hash> leaves(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    Record& r = batch[i].record;
    if (r.timestamp_ms == 0) {
      r.timestamp_ms = now_ms;
    }
    rows[i].seq = r.seq;
    rows[i].record = EncodeRecord(r);
    leaves[i] = LeafHash(rows[i].record);
    rows[i].leaf_hash = std::string(crypto::AsStringView(leaves[i]));
  }
  core::Status st = store_->AppendRecords(rows);
  commits_.fetch_add(1, std::memory_order_relaxed);
  if (!st) {
    log_.Error("audit.append_failed", {{"records", static_cast<uint64_t>(batch.size())},
                                       {"error", st.error().message}});
    core::Error e = st.error();
    e.message = "audit log append failed (the request must not be acted on): " + e.message;
    for (Pending& p : batch) {
      p.done(core::Fail(e));
    }
    return;
  }
  {
    std::lock_guard<std::mutex> rl(range_mu_);
    for (const Hash& h : leaves) {
      range_.Append(h);
    }
    durable_.store(first + batch.size(), std::memory_order_release);
  }
  // Callers first: a tree head is one more fsync nobody's request waits for.
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].done(first + i);
  }
  if (options_.on_commit) {
    options_.on_commit(first + batch.size());
  }
  std::lock_guard<std::mutex> rl(range_mu_);
  if (range_.size() - signed_size_ >= options_.tree_head_every) {
    (void)SignLocked();  // logged; retried at the next batch or tick
  }
}

}  // namespace opsgate::audit
