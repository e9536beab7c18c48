// File: opsgate/store/dialog_store.h
//
// Conversation state between messages (issue 7, docs/intents.md#dialogs): what opsgate is
// waiting for from one person in one conversation (a missing slot, a confirmation), kept
// in the store so that any replica can take the next message, and forgotten after a
// time-out.
//
//   dialogs.Put({.key = "slack|T1|U1|C1", .state = json, .expires_at = now + 5min});
//   auto open = dialogs.Get("slack|T1|U1|C1", now);   // nullopt once expired
//   dialogs.Delete("slack|T1|U1|C1");
//
// The store keeps the caller's state as opaque bytes; pipeline/dialog.h decides what is
// in it.
//
// Errors (every method): kUnavailable, kResourceExhausted, kDataLoss; kInvalidArgument
// for an empty or oversized key (1..512 bytes) or state (at most 64 KiB).
//
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"

namespace opsgate::store {

struct Dialog {
  std::string key;    // who and where: "platform|workspace|user|channel"
  std::string state;  // opaque to the store
  core::Clock::WallTime expires_at{};
};

class DialogStore {
 public:
  virtual ~DialogStore() = default;
  // Creates or replaces the dialog under its key.
  [[nodiscard]] virtual core::Status Put(const Dialog& dialog) = 0;
  // The dialog under `key` unless it expired by `now`.
  [[nodiscard]] virtual core::Result<std::optional<Dialog>> Get(std::string_view key,
                                                                core::Clock::WallTime now) const = 0;
  // Forgets it; true if there was one.
  [[nodiscard]] virtual core::Result<bool> Delete(std::string_view key) = 0;
  // Deletes every dialog expired by `now`; returns how many.
  [[nodiscard]] virtual core::Result<uint64_t> PruneExpired(core::Clock::WallTime now) = 0;
};

}  // namespace opsgate::store
