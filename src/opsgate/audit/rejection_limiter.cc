#include "opsgate/audit/rejection_limiter.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "opsgate/core/check.h"

namespace opsgate::audit {

RejectionLimiter::RejectionLimiter(const core::Clock& clock, double per_second, double burst,
                                   telemetry::Counter* dropped)
    : clock_(clock),
      per_second_(per_second),
      burst_(burst),
      dropped_counter_(dropped),
      tokens_(burst),
      last_(clock.SteadyNow()) {
  OPSGATE_CHECK(per_second > 0 && burst >= 1);
}

std::optional<uint64_t> RejectionLimiter::Admit() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = clock_.SteadyNow();
  if (now > last_) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * per_second_);
    last_ = now;
  }
  if (tokens_ < 1.0) {
    ++dropped_since_admit_;
    ++dropped_total_;
    if (dropped_counter_ != nullptr) {
      dropped_counter_->Inc();
    }
    return std::nullopt;
  }
  tokens_ -= 1.0;
  const uint64_t dropped = dropped_since_admit_;
  dropped_since_admit_ = 0;
  return dropped;
}

uint64_t RejectionLimiter::dropped_total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_total_;
}

Record MakeSuppressedRecord(uint64_t dropped, std::string_view platform, int64_t timestamp_ms) {
  Record r;
  r.kind = RecordKind::kRejection;
  r.timestamp_ms = timestamp_ms;
  r.platform = std::string(platform);
  r.action = "audit.rejections_suppressed";
  r.result = std::to_string(dropped);
  r.reason = "rate_limited";
  return r;
}

}  // namespace opsgate::audit
