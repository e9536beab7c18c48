// File: opsgate/audit/sink.h
//
// AuditSink is what the request path writes audit records to. The real one is
// AuditLog (writer.h: durable, group-committed); MemoryAuditSink below is for tests.
//
//   sink.Append(std::move(record), [](core::Result<uint64_t> seq) {
//     if (!seq) { /* not durable: do not act */ }
//   });
//
// Contract: `done` is called exactly once: with the record's sequence number once it is
// durable, or with the error that kept it from being durable (then nothing acting on
// the request may run: "no action if the append fails"). It may be called on the
// caller's thread (immediate refusal: queue full, log closed) or on the writer thread;
// it must be quick and must not block on another append.
//
// Thread-safety: Append may be called from any thread.
#pragma once

#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <vector>

#include "opsgate/audit/record.h"
#include "opsgate/core/result.h"

namespace opsgate::audit {

class AuditSink {
 public:
  using Done = std::function<void(core::Result<uint64_t>)>;

  virtual ~AuditSink() = default;

  virtual void Append(Record record, Done done) = 0;

  // Appends and blocks until the record is durable (or failed). Never call it on a
  // thread `done` callbacks run on.
  [[nodiscard]] core::Result<uint64_t> AppendAndWait(Record record) {
    auto p = std::make_shared<std::promise<core::Result<uint64_t>>>();
    auto f = p->get_future();
    Append(std::move(record), [p](core::Result<uint64_t> r) { p->set_value(std::move(r)); });
    return f.get();
  }
};

// Keeps records in memory, assigning seqs in order; can be told to fail. For tests.
class MemoryAuditSink final : public AuditSink {
 public:
  void Append(Record record, Done done) override {
    core::Result<uint64_t> r;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (fail_) {
        r = core::Fail(*fail_);
      } else {
        record.seq = records_.size();
        records_.push_back(std::move(record));
        r = records_.back().seq;
      }
    }
    done(std::move(r));
  }
  // Every later Append fails with `e` (nullopt: succeed again).
  void FailWith(std::optional<core::Error> e) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = std::move(e);
  }
  std::vector<Record> records() const {
    std::lock_guard<std::mutex> lock(mu_);
    return records_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Record> records_;
  std::optional<core::Error> fail_;
};

}  // namespace opsgate::audit
