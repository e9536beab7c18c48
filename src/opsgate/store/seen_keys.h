// File: opsgate/store/seen_keys.h
//
// SeenKeys remembers keys for a while, so that a request seen once is recognised when
// it comes again: Slack's replayed requests (same signature) and retried events (same
// event_id), and the like for other platforms. It lives in the store, not in process
// memory, so that several replicas behind a load balancer share one memory.
//
//   auto first = seen.MarkSeen("slack.event", team_id + ":" + event_id, clock.Now(),
//                              std::chrono::hours(1));
//   if (!first) return 503;          // fail closed: the store is unavailable
//   if (!*first) return duplicate;   // seen inside its time to live
//
// A key is remembered from MarkSeen until now + ttl; after that it counts as new again.
// Expired keys are pruned by the implementation (not necessarily at once).
//
// Thread-safety: implementations are safe to call from any thread; MarkSeen is atomic
// (of two concurrent calls with the same key, exactly one gets true).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"

namespace opsgate::store {

class SeenKeys {
 public:
  virtual ~SeenKeys() = default;

  // Records (scope, key) as seen until now + ttl. Returns true the first time (or when
  // the earlier record has expired), false when it is still remembered.
  // REQUIRES: scope and key are short (<= 256 bytes each); ttl > 0.
  // Errors: kUnavailable (store busy or I/O error), kResourceExhausted (disk full),
  // kInvalidArgument (oversized scope/key). Callers fail closed.
  [[nodiscard]] virtual core::Result<bool> MarkSeen(std::string_view scope, std::string_view key,
                                                    core::Clock::WallTime now,
                                                    std::chrono::seconds ttl) = 0;

  using MarkDone = std::function<void(core::Result<bool>)>;

  // MarkSeen without holding the caller: `done` gets the same answer later, possibly on
  // another thread, and implementations may share one transaction among many calls.
  // Calls are answered in order. The default answers at once through MarkSeen.
  virtual void MarkSeenAsync(std::string scope, std::string key, core::Clock::WallTime now,
                             std::chrono::seconds ttl, MarkDone done) {
    done(MarkSeen(scope, key, now, ttl));
  }

  // Returns once every MarkSeenAsync call made before it has been answered. Call it
  // before destroying what the `done` callbacks use.
  virtual void Drain() {}
};

}  // namespace opsgate::store
