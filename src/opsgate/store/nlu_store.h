// File: opsgate/store/nlu_store.h
//
// Rephrasings the classifier got wrong (issue 7 item 4, docs/intents.md#learning): when
// the classifier was unsure and the person then said what they meant (picked one of the
// "did you mean" options, or typed the command) and confirmed it, the text and the intent
// are kept as a candidate. An administrator reviews them (`opsgate nlu review`, `accept`,
// `reject`); accepted ones become training utterances the next time the classifier is
// trained (start-up, SIGHUP).
//
// Errors (every method): kUnavailable, kResourceExhausted, kDataLoss; kInvalidArgument
// for out-of-range fields; kNotFound for an unknown id where noted.
//
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"

namespace opsgate::store {

struct NluCandidate {
  int64_t id = 0;          // assigned by Add()
  std::string text;        // what the person typed (redacted), 1..2000 bytes
  std::string utterance;   // `text` with the slot values replaced by {slot}, 1..2000 bytes
  std::string intent;      // what they confirmed they meant, 1..128 bytes
  std::string guessed;     // the classifier's unsure best guess, 0..128 bytes
  double confidence = 0;   // of that guess
  std::string principal;   // who, 0..1024 bytes
  core::Clock::WallTime created_at{};
  std::string state = "pending";  // "pending", "accepted", "rejected"
  std::string reviewer;           // set by Review()
  std::optional<core::Clock::WallTime> reviewed_at;
};

class NluCandidateStore {
 public:
  virtual ~NluCandidateStore() = default;
  // Stores a pending candidate and returns its id; the same utterance for the same intent
  // while still pending returns the existing id (no duplicates to review).
  [[nodiscard]] virtual core::Result<int64_t> Add(const NluCandidate& candidate) = 0;
  // Candidates in `state` ("" = every state), oldest first, at most `limit`.
  [[nodiscard]] virtual core::Result<std::vector<NluCandidate>> List(std::string_view state,
                                                                     size_t limit) const = 0;
  // Accepts or rejects a pending candidate: true when changed, false if it was already
  // reviewed; kNotFound for an unknown id; kInvalidArgument for another verdict.
  [[nodiscard]] virtual core::Result<bool> Review(int64_t id, std::string_view verdict,
                                                  std::string_view reviewer,
                                                  core::Clock::WallTime at) = 0;
};

}  // namespace opsgate::store
