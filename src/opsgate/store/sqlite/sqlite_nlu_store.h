// File: opsgate/store/sqlite/sqlite_nlu_store.h
//
// NluCandidateStore (nlu_store.h) on the SqliteStore's database, schema migration 11:
//   nlu_candidates (id, text, utterance, intent, guessed, confidence_pm, principal,
//                   created_ms, state, reviewer, reviewed_ms)
// The confidence is kept in thousandths.
//
// Ownership: borrows the store. Thread-safety: any thread.
#pragma once

#include <cstddef>

#include "opsgate/store/nlu_store.h"
#include "opsgate/store/sqlite/sqlite_store.h"

namespace opsgate::store {

class SqliteNluCandidateStore final : public NluCandidateStore {
 public:
  static constexpr size_t kMaxTextBytes = 2000;
  static constexpr size_t kMaxIntentBytes = 128;
  static constexpr size_t kMaxPrincipalBytes = 1024;

  explicit SqliteNluCandidateStore(SqliteStore& store) : store_(store) {}
  SqliteNluCandidateStore(const SqliteNluCandidateStore&) = delete;
  SqliteNluCandidateStore& operator=(const SqliteNluCandidateStore&) = delete;

  [[nodiscard]] core::Result<int64_t> Add(const NluCandidate& candidate) override;
  [[nodiscard]] core::Result<std::vector<NluCandidate>> List(std::string_view state,
                                                             size_t limit) const override;
  [[nodiscard]] core::Result<bool> Review(int64_t id, std::string_view verdict,
                                          std::string_view reviewer,
                                          core::Clock::WallTime at) override;

 private:
  SqliteStore& store_;
};

}  // namespace opsgate::store
