// File: opsgate/audit/rejection_limiter.h
//
// Bounds how many rejection records a flood of bad requests can write. Every rejection
// is still refused, logged and counted in /metrics; only its audit record is sampled
// once the rate is exceeded, so forged traffic cannot grow the audit log (and its
// fsyncs) without bound. A token bucket on the injected clock: `per_second` records a
// second on average, bursts of up to `burst`.
//
//   if (auto admitted = limiter.Admit()) {
//     if (*admitted > 0) { /* first append a summary: *admitted records were dropped */ }
//     sink.Append(rejection_record, ...);
//   }
//
// The records that are kept still say what happened: the one after a dropped stretch is
// preceded by a summary record (MakeSuppressedRecord) with the count.
//
// Thread-safety: Admit from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

#include "opsgate/audit/record.h"
#include "opsgate/core/clock.h"
#include "opsgate/telemetry/metrics.h"

namespace opsgate::audit {

class RejectionLimiter {
 public:
  // REQUIRES: per_second > 0, burst >= 1. `dropped` (may be null, not owned) counts the
  // rejections not recorded, for /metrics.
  RejectionLimiter(const core::Clock& clock, double per_second, double burst,
                   telemetry::Counter* dropped = nullptr);

  // nullopt: do not record this rejection (counted as dropped). Otherwise the number of
  // rejections dropped since the last admitted one (0 in normal operation).
  std::optional<uint64_t> Admit();

  // Rejections not recorded since start.
  uint64_t dropped_total() const;

 private:
  const core::Clock& clock_;
  const double per_second_;
  const double burst_;
  telemetry::Counter* const dropped_counter_;
  mutable std::mutex mu_;
  double tokens_;                              // GUARDED_BY(mu_)
  core::Clock::SteadyTime last_;               // GUARDED_BY(mu_)
  uint64_t dropped_since_admit_ = 0;           // GUARDED_BY(mu_)
  uint64_t dropped_total_ = 0;                 // GUARDED_BY(mu_)
};

// The summary record written before the first rejection admitted after `dropped` were
// not recorded: kind rejection, action "audit.rejections_suppressed", result = the count,
// reason "rate_limited", platform as given.
Record MakeSuppressedRecord(uint64_t dropped, std::string_view platform, int64_t timestamp_ms);

}  // namespace opsgate::audit
