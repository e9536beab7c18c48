#include "opsgate/http/client/retrying_sender.h"

#include <algorithm>
#include <utility>

#include "opsgate/core/check.h"
#include "opsgate/core/strings.h"

namespace opsgate::http {
namespace {

std::string ResultLabel(const core::Result<OutboundResponse>& outcome) {
  if (!outcome) {
    return std::string(core::ErrorCodeName(outcome.error().code));
  }
  const int s = outcome->status;
  if (s == 429) {
    return "429";
  }
  if (s >= 100 && s <= 599) {
    return std::to_string(s / 100) + "xx";
  }
  return "other";
}

// Retry-After as delay-seconds (RFC 9110 §10.2.3). The HTTP-date form is not used by
// the services opsgate calls and falls back to backoff, like a missing header.
std::optional<std::chrono::seconds> ParseRetryAfter(std::optional<std::string_view> value) {
  if (!value) {
    return std::nullopt;
  }
  const std::optional<uint64_t> secs = core::ParseDigits(core::Trim(*value));
  if (!secs) {
    return std::nullopt;
  }
  // Anything beyond a day is as good as "too long"; clamp to keep arithmetic safe.
  return std::chrono::seconds(std::min<uint64_t>(*secs, 86'400));
}

}  // namespace

telemetry::Family<telemetry::Counter>& RetryingSender::RegisterMetrics(
    telemetry::MetricsRegistry& registry) {
  return registry.AddCounter("opsgate_outbound_requests_total",
                             "Outbound HTTP attempts by target and result (status class or "
                             "error code), plus refused (queue_full) and cancelled deliveries.",
                             {"target", "result"});
}

RetryingSender::RetryingSender(HttpClient& client, const core::Clock& clock,
                               telemetry::Family<telemetry::Counter>& requests_total,
                               RetryingSenderOptions options, WaitUntilFn wait)
    : client_(client),
      clock_(clock),
      requests_total_(requests_total),
      options_(std::move(options)),
      wait_(std::move(wait)),
      rng_(options_.jitter_seed != 0 ? options_.jitter_seed : std::random_device{}()) {
  if (!wait_) {
    wait_ = [this](std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                   core::Clock::SteadyTime deadline) {
      const auto remaining = deadline - clock_.SteadyNow();
      if (remaining > core::Clock::SteadyTime::duration::zero()) {
        cv.wait_for(lock, remaining);
      }
    };
  }
  const size_t n = std::max<size_t>(1, options_.workers);
  workers_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

RetryingSender::~RetryingSender() { Shutdown(ShutdownMode::kCancel); }

core::Status RetryingSender::Enqueue(OutboundRequest request, DeliveryCallback done,
                                     std::string_view target) {
  std::string label = target.empty() ? RedactUrl(request.url) : std::string(target);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!accepting_) {
      return core::Fail(
          core::Cancelled("outbound sender is shut down; delivery to " + label + " not queued"));
    }
    if (queue_.size() < options_.queue_capacity) {
      Delivery d;
      d.request = std::move(request);
      d.done = std::move(done);
      d.target = std::move(label);
      queue_.emplace(clock_.SteadyNow(), std::move(d));
      cv_.notify_one();
      return core::Ok();
    }
  }
  Count(label, "queue_full");
  return core::Fail(
      core::ResourceExhausted("outbound queue is full (" + std::to_string(options_.queue_capacity) +
                              " deliveries); delivery to " + label + " refused, retry later"));
}

void RetryingSender::Shutdown(ShutdownMode mode) {
  std::vector<Delivery> cancelled;
  {
    std::lock_guard<std::mutex> lock(mu_);
    accepting_ = false;
    if (mode == ShutdownMode::kCancel) {
      cancelled_ = true;
      for (auto& [when, d] : queue_) {
        cancelled.push_back(std::move(d));
      }
      queue_.clear();
    } else {
      draining_ = true;
    }
  }
  cv_.notify_all();
  for (Delivery& d : cancelled) {
    Count(d.target, "cancelled");
    Complete(d, core::Fail(core::Cancelled("outbound delivery to " + d.target +
                                           " cancelled by shutdown")));
  }
  std::lock_guard<std::mutex> join_lock(join_mu_);
  for (std::thread& t : workers_) {
    // Joining from a callback would wait for ourselves forever.
    OPSGATE_CHECK(t.get_id() != std::this_thread::get_id());
    if (t.joinable()) {
      t.join();
    }
  }
}

size_t RetryingSender::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void RetryingSender::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (queue_.empty()) {
      if (!accepting_) {
        return;  // shut down and nothing left to settle
      }
      cv_.wait(lock);
      continue;
    }
    auto it = queue_.begin();
    const bool settle_now = draining_ || cancelled_;
    if (!settle_now && it->first > clock_.SteadyNow()) {
      wait_(lock, cv_, it->first);
      continue;
    }
    Delivery d = std::move(it->second);
    queue_.erase(it);
    lock.unlock();
    if (settle_now && d.last.has_value()) {
      // Draining: a delivery waiting for its retry ends with what it has.
      core::Result<OutboundResponse> last = std::move(*d.last);
      Complete(d, std::move(last));
    } else {
      Attempt(std::move(d));
    }
    lock.lock();
  }
}

void RetryingSender::Attempt(Delivery d) {
  core::Result<OutboundResponse> outcome = core::Fail(core::Internal("not attempted"));
  try {
    outcome = client_.Send(d.request);
  } catch (...) {
    // HttpClient implementations must not throw; keep the worker alive if one does.
    outcome = core::Fail(core::Internal("HTTP client threw an exception calling " + d.target));
  }
  ++d.attempts;
  Count(d.target, ResultLabel(outcome));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!draining_ && !cancelled_) {
      if (const auto delay = RetryDelay(outcome, d.attempts)) {
        d.last = std::move(outcome);
        queue_.emplace(clock_.SteadyNow() + *delay, std::move(d));
        cv_.notify_one();
        return;
      }
    }
  }
  Complete(d, std::move(outcome));
}

std::optional<std::chrono::nanoseconds> RetryingSender::RetryDelay(
    const core::Result<OutboundResponse>& outcome, int attempts_made) {
  const RetryPolicy& p = options_.retry;
  if (attempts_made >= std::max(1, p.max_attempts)) {
    return std::nullopt;
  }
  std::optional<std::chrono::seconds> retry_after;
  if (outcome) {
    const int s = outcome->status;
    if (s != 429 && (s < 500 || s > 599)) {
      return std::nullopt;
    }
    if (s == 429 || s == 503) {
      retry_after = ParseRetryAfter(outcome->Header("retry-after"));
    }
  } else if (outcome.error().code != core::ErrorCode::kUnavailable) {
    return std::nullopt;
  }
  if (retry_after) {
    if (*retry_after > p.max_retry_after) {
      return std::nullopt;  // holding the delivery that long helps nobody
    }
    return std::chrono::nanoseconds(*retry_after);
  }
  std::chrono::nanoseconds backoff = std::max(std::chrono::milliseconds(0), p.initial_backoff);
  const std::chrono::nanoseconds cap = std::max(std::chrono::milliseconds(0), p.max_backoff);
  for (int i = 1; i < attempts_made && backoff < cap; ++i) {
    backoff *= 2;
  }
  backoff = std::min(backoff, cap);
  if (p.jitter && backoff.count() > 1) {
    std::uniform_int_distribution<int64_t> dist(backoff.count() / 2, backoff.count());
    backoff = std::chrono::nanoseconds(dist(rng_));
  }
  return backoff;
}

void RetryingSender::Complete(Delivery& d, core::Result<OutboundResponse> outcome) {
  if (!d.done) {
    return;
  }
  try {
    d.done(std::move(outcome));
  } catch (...) {
    // Callbacks must not throw; one that does must not take a worker down with it.
  }
}

void RetryingSender::Count(const std::string& target, std::string_view result) {
  requests_total_.With({target, result}).Inc();
}

}  // namespace opsgate::http
