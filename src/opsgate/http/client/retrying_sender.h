// File: opsgate/http/client/retrying_sender.h
//
// Runs outbound deliveries off the I/O threads: a bounded queue and N worker threads
// that call an HttpClient, retry what is worth retrying and report the outcome to a
// callback. This is how a connector answers after it has acknowledged a request
// (Slack's 3-second rule: ack now, post to response_url / chat.postMessage later).
//
//   RetryingSender sender(client, clock, RetryingSender::RegisterMetrics(registry));
//   core::Status queued = sender.Enqueue(std::move(request),
//       [](core::Result<OutboundResponse> r) { ... }, "slack.response_url");
//   if (!queued) { /* kResourceExhausted: shed load, tell the user to retry */ }
//
// Retry rules (RetryPolicy):
//   - 429, and 503 with Retry-After: wait the Retry-After seconds (digits only; an
//     HTTP-date or garbage falls back to backoff), then retry. A Retry-After longer
//     than max_retry_after gives up at once instead of holding the delivery.
//   - Other 5xx and kUnavailable errors: retry after exponential backoff
//     (initial_backoff * 2^n, capped at max_backoff, optionally jittered).
//   - Anything else (2xx, 3xx, other 4xx, kDeadlineExceeded, kInvalidArgument, ...) is
//     final. Timeouts are not retried: the server may have acted on the request, and a
//     duplicate chat message is worse than a missing retry.
//   - After max_attempts attempts the last outcome is final.
// The callback receives the final outcome as it came from the client: a response (of
// any status, so check `status`) or an error.
//
// Waiting for a retry never blocks a worker on one delivery: a waiting delivery
// stays in the queue with a not-before time, and workers serve whatever is due. Time
// comes from the injected Clock (SteadyNow) and the waiting from an injectable
// WaitUntilFn, so tests drive retries with a FakeClock and never sleep.
//
// Metrics (counter family from RegisterMetrics, one per registry):
//   opsgate_outbound_requests_total{target,result}
//     one increment per attempt: result "2xx", "3xx", "4xx", "429", "5xx" or the
//     error code name ("unavailable", "deadline_exceeded", ...); plus "queue_full" for
//     a refused Enqueue and "cancelled" for a delivery dropped by Shutdown(kCancel).
//
// Thread-safety: Enqueue() and Shutdown() may be called from any thread. Callbacks run
// on a worker thread (or, for kCancelled, on the thread calling Shutdown); they must
// not block for long and must not call Shutdown() or destroy the sender. They may call
// Enqueue(). The client, clock and counter family must outlive the sender.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/http/client/http_client.h"
#include "opsgate/telemetry/metrics.h"

namespace opsgate::http {

struct RetryPolicy {
  // Attempts per delivery, the first one included. At least 1.
  int max_attempts = 3;
  // Backoff before the 2nd attempt; doubles per attempt up to max_backoff.
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{8000};
  // The longest Retry-After honoured; a longer one makes the attempt final.
  std::chrono::seconds max_retry_after{60};
  // Spread backoffs over [b/2, b] so that many deliveries do not retry in lockstep.
  bool jitter = true;
};

struct RetryingSenderOptions {
  // Deliveries waiting (for a worker or for a retry); beyond it Enqueue fails.
  size_t queue_capacity = 1000;
  // Worker threads, at least 1. Each blocks in HttpClient::Send for one delivery.
  size_t workers = 2;
  RetryPolicy retry;
  // Seed for the jitter; 0 picks one from std::random_device.
  uint64_t jitter_seed = 0;
};

// Receives the final outcome of one delivery. Called exactly once per accepted Enqueue.
using DeliveryCallback = std::function<void(core::Result<OutboundResponse>)>;

// Blocks the calling worker, which holds `lock` (on the sender's mutex), until the
// injected clock reaches `deadline` or `cv` is notified. Spurious early returns are
// fine: the worker re-checks. The default waits on `cv` for
// `deadline - clock.SteadyNow()`, which is right for core::SystemClock. Tests with a
// FakeClock pass a function that advances the fake clock to `deadline` and returns.
using WaitUntilFn =
    std::function<void(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                       core::Clock::SteadyTime deadline)>;

enum class ShutdownMode {
  // Stop accepting; attempt every queued delivery that was never attempted, without
  // retries; a delivery waiting for a retry completes with its last outcome.
  kDrain,
  // Stop accepting; queued deliveries complete with kCancelled at once; attempts in
  // flight finish (bounded by their timeout) and are not retried.
  kCancel,
};

class RetryingSender {
 public:
  // Registers opsgate_outbound_requests_total{target,result} in `registry`. Call once
  // per registry and pass the family to every sender.
  static telemetry::Family<telemetry::Counter>& RegisterMetrics(
      telemetry::MetricsRegistry& registry);

  // Starts options.workers threads. `wait` defaults to a condition-variable wait on
  // real time (see WaitUntilFn).
  RetryingSender(HttpClient& client, const core::Clock& clock,
                 telemetry::Family<telemetry::Counter>& requests_total,
                 RetryingSenderOptions options = {}, WaitUntilFn wait = {});
  // Shutdown(kCancel) unless already shut down, then joins the workers.
  ~RetryingSender();
  RetryingSender(const RetryingSender&) = delete;
  RetryingSender& operator=(const RetryingSender&) = delete;

  // Queues `request`; `done` gets the final outcome later, on a worker thread.
  // `target` labels the metrics ("slack.chat_postMessage"); empty means the URL's
  // scheme and host. Never put a URL path or user data in it (label cardinality).
  // Errors (and then `done` is never called):
  //   kResourceExhausted  the queue holds queue_capacity deliveries already.
  //   kCancelled          Shutdown() has been called.
  [[nodiscard]] core::Status Enqueue(OutboundRequest request, DeliveryCallback done,
                                     std::string_view target = {});

  // Stops accepting deliveries, settles the queue as `mode` says, and joins the
  // workers. Idempotent; a later kCancel can cut short an earlier kDrain. Must not be
  // called from a DeliveryCallback.
  void Shutdown(ShutdownMode mode);

  // Deliveries queued or waiting for a retry (not counting those in flight).
  size_t queued() const;

 private:
  struct Delivery {
    OutboundRequest request;
    DeliveryCallback done;
    std::string target;
    int attempts = 0;                                    // attempts made so far
    std::optional<core::Result<OutboundResponse>> last;  // outcome of the last attempt
  };
  using Queue = std::multimap<core::Clock::SteadyTime, Delivery>;

  void WorkerLoop();
  // Makes one attempt and either completes `d` or re-queues it for a retry.
  void Attempt(Delivery d);
  // The delay before the next attempt, or nullopt when `outcome` is final.
  std::optional<std::chrono::nanoseconds> RetryDelay(const core::Result<OutboundResponse>& outcome,
                                                     int attempts_made);
  void Complete(Delivery& d, core::Result<OutboundResponse> outcome);
  void Count(const std::string& target, std::string_view result);

  HttpClient& client_;
  const core::Clock& clock_;
  telemetry::Family<telemetry::Counter>& requests_total_;
  const RetryingSenderOptions options_;
  WaitUntilFn wait_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  Queue queue_;             // GUARDED_BY(mu_), ordered by not-before
  bool accepting_ = true;   // GUARDED_BY(mu_)
  bool draining_ = false;   // GUARDED_BY(mu_)
  bool cancelled_ = false;  // GUARDED_BY(mu_)
  std::mt19937_64 rng_;     // GUARDED_BY(mu_)

  std::mutex join_mu_;  // serialises joining in Shutdown
  std::vector<std::thread> workers_;
};

}  // namespace opsgate::http
