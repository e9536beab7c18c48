// File: opsgate/store/sqlite/sqlite_policy_store.h
//
// RateEventStore and ApprovalStore (policy_store.h) on the SqliteStore's database, schema
// migration 7:
//   policy_rate_events  (key, at_ms): one row per use of a rate-capped statement
//   approval_requests   id -> action_hash, requester, needed, payload, times, state
//   approval_votes      (request_id, approver) -> approve, detail, at_ms
// Times are Unix milliseconds (sub-millisecond parts are dropped). Multi-statement
// operations (RecordUse, AddVote, ExpireDue) run under BEGIN IMMEDIATE inside one
// SqliteStore::WithDatabase call, so they are atomic against other threads and other
// processes sharing the file; Transition is a single conditional UPDATE.
//
//   SqliteRateEventStore rates(*store);
//   SqliteApprovalStore approvals(*store);
//
// Ownership: each borrows the store, which must outlive it.
// Thread-safety: safe from any thread.
#pragma once

#include <cstddef>

#include "opsgate/store/policy_store.h"
#include "opsgate/store/sqlite/sqlite_store.h"

namespace opsgate::store {

class SqliteRateEventStore final : public RateEventStore {
 public:
  // Longest rate key accepted.
  static constexpr size_t kMaxKeyBytes = 1024;

  explicit SqliteRateEventStore(SqliteStore& store) : store_(store) {}
  SqliteRateEventStore(const SqliteRateEventStore&) = delete;
  SqliteRateEventStore& operator=(const SqliteRateEventStore&) = delete;

  [[nodiscard]] core::Status RecordUse(const std::vector<std::string>& keys,
                                       core::Clock::WallTime at) override;
  [[nodiscard]] core::Result<uint64_t> CountSince(std::string_view key,
                                                  core::Clock::WallTime since) const override;
  [[nodiscard]] core::Result<uint64_t> PruneBefore(core::Clock::WallTime before) override;

 private:
  SqliteStore& store_;
};

class SqliteApprovalStore final : public ApprovalStore {
 public:
  // Field limits (policy_store.h); anything outside them is kInvalidArgument naming the
  // field.
  static constexpr size_t kMaxIdBytes = 32;           // [A-Z0-9]
  static constexpr size_t kActionHashBytes = 32;      // SHA-256
  static constexpr size_t kMaxPrincipalBytes = 1024;  // requester, approver
  static constexpr uint32_t kMaxNeeded = 100;
  static constexpr size_t kMaxPayloadBytes = 64 * 1024;
  static constexpr size_t kMaxDetailBytes = 16 * 1024;

  explicit SqliteApprovalStore(SqliteStore& store) : store_(store) {}
  SqliteApprovalStore(const SqliteApprovalStore&) = delete;
  SqliteApprovalStore& operator=(const SqliteApprovalStore&) = delete;

  [[nodiscard]] core::Status Create(const ApprovalRequest& request) override;
  [[nodiscard]] core::Result<std::optional<ApprovalRequest>> Find(
      std::string_view id) const override;
  [[nodiscard]] core::Result<std::vector<ApprovalVote>> Votes(
      std::string_view request_id) const override;
  [[nodiscard]] core::Result<std::vector<ApprovalVote>> AddVote(const ApprovalVote& vote) override;
  [[nodiscard]] core::Result<bool> Transition(std::string_view id, ApprovalState from,
                                              ApprovalState to, core::Clock::WallTime at) override;
  [[nodiscard]] core::Result<std::vector<ApprovalRequest>> ListPending(core::Clock::WallTime now,
                                                                       size_t limit) const override;
  [[nodiscard]] core::Result<std::vector<ApprovalRequest>> ExpireDue(
      core::Clock::WallTime now) override;

 private:
  SqliteStore& store_;
};

class SqliteElevationStore final : public ElevationStore {
 public:
  static constexpr size_t kMaxIdBytes = 32;  // [A-Z0-9]
  static constexpr size_t kMaxPrincipalBytes = 1024;
  static constexpr size_t kMaxTextBytes = 2000;  // reason, review note
  static constexpr size_t kMaxCorrelationBytes = 256;

  explicit SqliteElevationStore(SqliteStore& store) : store_(store) {}
  SqliteElevationStore(const SqliteElevationStore&) = delete;
  SqliteElevationStore& operator=(const SqliteElevationStore&) = delete;

  [[nodiscard]] core::Status Create(const Elevation& elevation) override;
  [[nodiscard]] core::Result<std::optional<Elevation>> Find(std::string_view id) const override;
  [[nodiscard]] core::Result<std::optional<Elevation>> Active(
      std::string_view principal, core::Clock::WallTime now) const override;
  [[nodiscard]] core::Result<bool> End(std::string_view id, core::Clock::WallTime at,
                                       std::string_view by) override;
  [[nodiscard]] core::Result<std::vector<Elevation>> EndDue(core::Clock::WallTime now) override;
  [[nodiscard]] core::Result<bool> Review(std::string_view id, std::string_view reviewer,
                                          std::string_view verdict, std::string_view note,
                                          core::Clock::WallTime at) override;
  [[nodiscard]] core::Result<std::vector<Elevation>> Unreviewed(
      core::Clock::WallTime now, size_t limit, std::string_view principal = {}) const override;

 private:
  SqliteStore& store_;
};

}  // namespace opsgate::store
