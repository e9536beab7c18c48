#include "opsgate/store/sqlite/sqlite_policy_store.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <limits>
#include <optional>
#include <utility>

namespace opsgate::store {
namespace {

using sqlite_internal::FromMs;
using sqlite_internal::Ms;

using sqlite_internal::Blob;
using sqlite_internal::Database;
using sqlite_internal::Statement;

// "2026-11-26T22:11:19Z" (".123" before the Z when there are milliseconds), for messages
// people read.
std::string FormatUtc(int64_t ms) {
  int64_t secs = ms / 1000;
  int64_t rem = ms % 1000;
  if (rem < 0) {
    rem += 1000;
    --secs;
  }
  const auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  std::array<char, 64> buf{};
  if (gmtime_r(&t, &tm) == nullptr ||
      std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
    return std::to_string(ms) + " ms after the Unix epoch";
  }
  std::string out = buf.data();
  if (rem != 0) {
    std::array<char, 8> frac{};
    std::snprintf(frac.data(), frac.size(), ".%03d", static_cast<int>(rem));
    out += frac.data();
  }
  return out + "Z";
}

core::Status CheckField(std::string_view value, std::string_view what, size_t max,
                        bool allow_empty = false) {
  if ((!allow_empty && value.empty()) || value.size() > max) {
    return core::Fail(core::InvalidArgument(std::string(what) + " must be " +
                                            (allow_empty ? "0" : "1") + ".." + std::to_string(max) +
                                            " bytes"));
  }
  return core::Ok();
}

core::Status CheckRateKey(std::string_view key) {
  return CheckField(key, "rate key", SqliteRateEventStore::kMaxKeyBytes);
}

core::Status CheckApprovalId(std::string_view id, std::string_view what) {
  const bool ok = !id.empty() && id.size() <= SqliteApprovalStore::kMaxIdBytes &&
                  std::all_of(id.begin(), id.end(), [](char c) {
                    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                  });
  if (!ok) {
    return core::Fail(core::InvalidArgument(std::string(what) + " must be 1.." +
                                            std::to_string(SqliteApprovalStore::kMaxIdBytes) +
                                            " characters of A-Z and 0-9"));
  }
  return core::Ok();
}

core::Status CheckRequest(const ApprovalRequest& r) {
  OPSGATE_RETURN_IF_ERROR(CheckApprovalId(r.id, "approval id"));
  if (r.action_hash.size() != SqliteApprovalStore::kActionHashBytes) {
    return core::Fail(
        core::InvalidArgument("approval action_hash must be a 32-byte SHA-256 digest"));
  }
  OPSGATE_RETURN_IF_ERROR(
      CheckField(r.requester, "approval requester", SqliteApprovalStore::kMaxPrincipalBytes));
  if (r.needed < 1 || r.needed > SqliteApprovalStore::kMaxNeeded) {
    return core::Fail(core::InvalidArgument("approval needed must be 1.." +
                                            std::to_string(SqliteApprovalStore::kMaxNeeded)));
  }
  OPSGATE_RETURN_IF_ERROR(CheckField(r.payload, "approval payload",
                                     SqliteApprovalStore::kMaxPayloadBytes,
                                     /*allow_empty=*/true));
  // Compared as stored: two times within the same millisecond would store as equal.
  if (Ms(r.expires_at) <= Ms(r.created_at)) {
    return core::Fail(core::InvalidArgument("approval expires_at must be after created_at"));
  }
  if (r.state != ApprovalState::kPending) {
    return core::Fail(core::InvalidArgument("a new approval state must be pending, not " +
                                            std::string(ApprovalStateName(r.state))));
  }
  return core::Ok();
}

core::Status CheckVote(const ApprovalVote& v) {
  OPSGATE_RETURN_IF_ERROR(CheckApprovalId(v.request_id, "vote request_id"));
  OPSGATE_RETURN_IF_ERROR(
      CheckField(v.approver, "vote approver", SqliteApprovalStore::kMaxPrincipalBytes));
  return CheckField(v.detail, "vote detail", SqliteApprovalStore::kMaxDetailBytes,
                    /*allow_empty=*/true);
}

std::optional<ApprovalState> ParseState(std::string_view name) {
  for (ApprovalState s : {ApprovalState::kPending, ApprovalState::kApproved, ApprovalState::kDenied,
                          ApprovalState::kExpired, ApprovalState::kCancelled}) {
    if (ApprovalStateName(s) == name) {
      return s;
    }
  }
  return std::nullopt;
}

constexpr std::string_view kRequestColumns =
    "id, action_hash, requester, needed, payload, created_ms, expires_ms, state, updated_ms";

core::Result<ApprovalRequest> ReadRequest(const Database& db, const Statement& st) {
  ApprovalRequest r;
  r.id = st.ColumnText(0);
  r.action_hash = st.ColumnBlob(1);
  r.requester = st.ColumnText(2);
  r.needed = static_cast<uint32_t>(st.ColumnInt64(3));
  r.payload = st.ColumnBlob(4);
  r.created_at = FromMs(st.ColumnInt64(5));
  r.expires_at = FromMs(st.ColumnInt64(6));
  const std::string state = st.ColumnText(7);
  const std::optional<ApprovalState> parsed = ParseState(state);
  if (!parsed) {
    // The CHECK constraint admits only known names; anything else is a damaged file.
    return core::Fail(core::DataLoss("sqlite database " + db.path() + ": approval " + r.id +
                                     " has unknown state \"" + state + "\""));
  }
  r.state = *parsed;
  r.updated_at = FromMs(st.ColumnInt64(8));
  return r;
}

// Every row of a started statement over kRequestColumns.
core::Result<std::vector<ApprovalRequest>> ReadRequests(const Database& db, Statement& st) {
  std::vector<ApprovalRequest> out;
  for (;;) {
    auto row = st.Step();
    if (!row) {
      return core::Fail(row.error());
    }
    if (!*row) {
      return out;
    }
    auto r = ReadRequest(db, st);
    if (!r) {
      return core::Fail(r.error());
    }
    out.push_back(std::move(*r));
  }
}

core::Result<std::vector<ApprovalVote>> ReadVotes(Database& db, std::string_view request_id) {
  auto st = db.Query(
      "SELECT request_id, approver, approve, detail, at_ms FROM approval_votes "
      "WHERE request_id = ?1 ORDER BY at_ms, rowid",
      request_id);
  if (!st) {
    return core::Fail(st.error());
  }
  std::vector<ApprovalVote> out;
  for (;;) {
    auto row = st->Step();
    if (!row) {
      return core::Fail(row.error());
    }
    if (!*row) {
      return out;
    }
    ApprovalVote v;
    v.request_id = st->ColumnText(0);
    v.approver = st->ColumnText(1);
    v.approve = st->ColumnInt64(2) != 0;
    v.detail = st->ColumnBlob(3);
    v.at = FromMs(st->ColumnInt64(4));
    out.push_back(std::move(v));
  }
}

}  // namespace

// ---- rate events

core::Status SqliteRateEventStore::RecordUse(const std::vector<std::string>& keys,
                                             core::Clock::WallTime at) {
  // Checked up front so that a bad key records nothing.
  for (const std::string& key : keys) {
    OPSGATE_RETURN_IF_ERROR(CheckRateKey(key));
  }
  if (keys.empty()) {
    return core::Ok();
  }
  const int64_t at_ms = Ms(at);
  return store_.WithDatabase([&](Database& db) -> core::Status {
    auto tx = db.BeginImmediate();
    if (!tx) {
      return core::Fail(tx.error());
    }
    auto insert = db.Prepare("INSERT INTO policy_rate_events (key, at_ms) VALUES (?1, ?2)");
    if (!insert) {
      return core::Fail(insert.error());
    }
    for (const std::string& key : keys) {
      OPSGATE_RETURN_IF_ERROR(insert->BindAll(key, at_ms));
      OPSGATE_RETURN_IF_ERROR(insert->Run());
      OPSGATE_RETURN_IF_ERROR(insert->Reset());
    }
    return tx->Commit();
  });
}

core::Result<uint64_t> SqliteRateEventStore::CountSince(std::string_view key,
                                                        core::Clock::WallTime since) const {
  OPSGATE_RETURN_IF_ERROR(CheckRateKey(key));
  return store_.WithDatabase([&](Database& db) -> core::Result<uint64_t> {
    auto row = db.QueryRow("SELECT count(*) FROM policy_rate_events WHERE key = ?1 AND at_ms >= ?2",
                           key, Ms(since));
    if (!row) {
      return core::Fail(row.error());
    }
    return *row ? static_cast<uint64_t>((*row)->ColumnInt64(0)) : 0;
  });
}

core::Result<uint64_t> SqliteRateEventStore::PruneBefore(core::Clock::WallTime before) {
  return store_.WithDatabase([&](Database& db) -> core::Result<uint64_t> {
    auto changed = db.Execute("DELETE FROM policy_rate_events WHERE at_ms < ?1", Ms(before));
    if (!changed) {
      return core::Fail(changed.error());
    }
    return static_cast<uint64_t>(*changed);
  });
}

// ---- approvals

core::Status SqliteApprovalStore::Create(const ApprovalRequest& r) {
  OPSGATE_RETURN_IF_ERROR(CheckRequest(r));
  return store_.WithDatabase([&](Database& db) -> core::Status {
    // updated_ms starts as created_ms (policy_store.h), whatever r.updated_at says.
    auto s = db.Run(
        "INSERT INTO approval_requests (id, action_hash, requester, needed, payload, "
        "created_ms, expires_ms, state, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?6)",
        r.id, Blob{r.action_hash}, r.requester, static_cast<int64_t>(r.needed), Blob{r.payload},
        Ms(r.created_at), Ms(r.expires_at), ApprovalStateName(r.state));
    if (!s && s.error().code == core::ErrorCode::kAlreadyExists) {
      return core::Fail(core::AlreadyExists("approval " + r.id + " exists already"));
    }
    return s;
  });
}

core::Result<std::optional<ApprovalRequest>> SqliteApprovalStore::Find(std::string_view id) const {
  OPSGATE_RETURN_IF_ERROR(CheckApprovalId(id, "approval id"));
  return store_.WithDatabase([&](Database& db) -> core::Result<std::optional<ApprovalRequest>> {
    auto row = db.QueryRow(
        "SELECT " + std::string(kRequestColumns) + " FROM approval_requests WHERE id = ?1", id);
    if (!row) {
      return core::Fail(row.error());
    }
    if (!*row) {
      return std::optional<ApprovalRequest>();
    }
    auto r = ReadRequest(db, **row);
    if (!r) {
      return core::Fail(r.error());
    }
    return std::optional<ApprovalRequest>(std::move(*r));
  });
}

core::Result<std::vector<ApprovalVote>> SqliteApprovalStore::Votes(
    std::string_view request_id) const {
  OPSGATE_RETURN_IF_ERROR(CheckApprovalId(request_id, "vote request_id"));
  return store_.WithDatabase([&](Database& db) { return ReadVotes(db, request_id); });
}

core::Result<std::vector<ApprovalVote>> SqliteApprovalStore::AddVote(const ApprovalVote& v) {
  OPSGATE_RETURN_IF_ERROR(CheckVote(v));
  const int64_t at_ms = Ms(v.at);
  return store_.WithDatabase([&](Database& db) -> core::Result<std::vector<ApprovalVote>> {
    // One write transaction: the state and expiry checked below cannot change before the
    // vote is in, here or in another process.
    auto tx = db.BeginImmediate();
    if (!tx) {
      return core::Fail(tx.error());
    }
    auto row =
        db.QueryRow("SELECT state, expires_ms FROM approval_requests WHERE id = ?1", v.request_id);
    if (!row) {
      return core::Fail(row.error());
    }
    if (!*row) {
      return core::Fail(core::NotFound("no approval " + v.request_id));
    }
    const std::string state = (*row)->ColumnText(0);
    const int64_t expires_ms = (*row)->ColumnInt64(1);
    OPSGATE_RETURN_IF_ERROR((*row)->Reset());
    if (state != ApprovalStateName(ApprovalState::kPending)) {
      return core::Fail(core::FailedPrecondition("approval " + v.request_id + " is " + state));
    }
    if (at_ms >= expires_ms) {
      return core::Fail(core::FailedPrecondition("approval " + v.request_id + " expired at " +
                                                 FormatUtc(expires_ms)));
    }
    auto inserted = db.Run(
        "INSERT INTO approval_votes (request_id, approver, approve, detail, at_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
        v.request_id, v.approver, v.approve, Blob{v.detail}, at_ms);
    if (!inserted) {
      if (inserted.error().code == core::ErrorCode::kAlreadyExists) {
        return core::Fail(
            core::AlreadyExists(v.approver + " has already voted on approval " + v.request_id));
      }
      return core::Fail(inserted.error());
    }
    auto votes = ReadVotes(db, v.request_id);
    if (!votes) {
      return core::Fail(votes.error());
    }
    OPSGATE_RETURN_IF_ERROR(tx->Commit());
    return votes;
  });
}

core::Result<bool> SqliteApprovalStore::Transition(std::string_view id, ApprovalState from,
                                                   ApprovalState to, core::Clock::WallTime at) {
  OPSGATE_RETURN_IF_ERROR(CheckApprovalId(id, "approval id"));
  return store_.WithDatabase([&](Database& db) -> core::Result<bool> {
    // The compare-and-set is this one statement: of two racers (threads or processes)
    // only one sees the old state.
    auto changed = db.Execute(
        "UPDATE approval_requests SET state = ?3, updated_ms = ?4 WHERE id = ?1 AND state = ?2", id,
        ApprovalStateName(from), ApprovalStateName(to), Ms(at));
    if (!changed) {
      return core::Fail(changed.error());
    }
    if (*changed > 0) {
      return true;
    }
    // Requests are never deleted, so a row missing now was missing for the UPDATE too.
    auto exists = db.QueryRow("SELECT EXISTS (SELECT 1 FROM approval_requests WHERE id = ?1)", id);
    if (!exists) {
      return core::Fail(exists.error());
    }
    if (!*exists || (*exists)->ColumnInt64(0) == 0) {
      return core::Fail(core::NotFound("no approval " + std::string(id)));
    }
    return false;
  });
}

core::Result<std::vector<ApprovalRequest>> SqliteApprovalStore::ListPending(
    core::Clock::WallTime now, size_t limit) const {
  if (limit == 0) {
    return std::vector<ApprovalRequest>();
  }
  const auto max_limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  const auto sql_limit = static_cast<int64_t>(std::min<uint64_t>(limit, max_limit));
  return store_.WithDatabase([&](Database& db) -> core::Result<std::vector<ApprovalRequest>> {
    auto st = db.Query("SELECT " + std::string(kRequestColumns) +
                           " FROM approval_requests WHERE state = ?1 AND expires_ms > ?2 "
                           "ORDER BY created_ms, rowid LIMIT ?3",
                       ApprovalStateName(ApprovalState::kPending), Ms(now), sql_limit);
    if (!st) {
      return core::Fail(st.error());
    }
    return ReadRequests(db, *st);
  });
}

core::Result<std::vector<ApprovalRequest>> SqliteApprovalStore::ExpireDue(
    core::Clock::WallTime now) {
  const int64_t now_ms = Ms(now);
  const std::string_view pending = ApprovalStateName(ApprovalState::kPending);
  const std::string_view expired = ApprovalStateName(ApprovalState::kExpired);
  return store_.WithDatabase([&](Database& db) -> core::Result<std::vector<ApprovalRequest>> {
    auto tx = db.BeginImmediate();
    if (!tx) {
      return core::Fail(tx.error());
    }
    auto st = db.Query("SELECT " + std::string(kRequestColumns) +
                           " FROM approval_requests WHERE state = ?1 AND expires_ms <= ?2 "
                           "ORDER BY created_ms, rowid",
                       pending, now_ms);
    if (!st) {
      return core::Fail(st.error());
    }
    auto due = ReadRequests(db, *st);
    if (!due) {
      return core::Fail(due.error());
    }
    if (due->empty()) {
      return due;  // nothing to write; the transaction rolls back
    }
    auto changed = db.Execute(
        "UPDATE approval_requests SET state = ?3, updated_ms = ?2 "
        "WHERE state = ?1 AND expires_ms <= ?2",
        pending, now_ms, expired);
    if (!changed) {
      return core::Fail(changed.error());
    }
    if (*changed != static_cast<int64_t>(due->size())) {
      // Impossible under the write lock; refuse rather than report the wrong requests.
      return core::Fail(core::Internal("sqlite database " + db.path() + ": expired " +
                                       std::to_string(*changed) + " approvals, selected " +
                                       std::to_string(due->size())));
    }
    OPSGATE_RETURN_IF_ERROR(tx->Commit());
    for (ApprovalRequest& r : *due) {
      r.state = ApprovalState::kExpired;
      r.updated_at = FromMs(now_ms);
    }
    return due;
  });
}

// ---- break-glass elevations

namespace {

constexpr std::string_view kElevationColumns =
    "id, principal, principal_name, reason, correlation_id, started_ms, expires_ms, ended_ms, "
    "ended_by, review, reviewer, reviewed_ms, review_note";

Elevation ReadElevation(const Statement& st) {
  Elevation e;
  e.id = st.ColumnText(0);
  e.principal = st.ColumnText(1);
  e.principal_name = st.ColumnText(2);
  e.reason = st.ColumnText(3);
  e.correlation_id = st.ColumnText(4);
  e.started_at = FromMs(st.ColumnInt64(5));
  e.expires_at = FromMs(st.ColumnInt64(6));
  if (const int64_t ended = st.ColumnInt64(7); ended != 0) {
    e.ended_at = FromMs(ended);
  }
  e.ended_by = st.ColumnText(8);
  e.review = st.ColumnText(9);
  e.reviewer = st.ColumnText(10);
  if (const int64_t reviewed = st.ColumnInt64(11); reviewed != 0) {
    e.reviewed_at = FromMs(reviewed);
  }
  e.review_note = st.ColumnText(12);
  return e;
}

core::Result<std::vector<Elevation>> ReadElevations(Statement& st) {
  std::vector<Elevation> out;
  for (;;) {
    auto row = st.Step();
    if (!row) {
      return core::Fail(row.error());
    }
    if (!*row) {
      return out;
    }
    out.push_back(ReadElevation(st));
  }
}

core::Status CheckElevation(const Elevation& e) {
  OPSGATE_RETURN_IF_ERROR(CheckApprovalId(e.id, "elevation id"));
  OPSGATE_RETURN_IF_ERROR(CheckField(e.principal, "elevation principal",
                                     SqliteElevationStore::kMaxPrincipalBytes));
  OPSGATE_RETURN_IF_ERROR(CheckField(e.principal_name, "elevation principal_name",
                                     SqliteElevationStore::kMaxPrincipalBytes,
                                     /*allow_empty=*/true));
  OPSGATE_RETURN_IF_ERROR(
      CheckField(e.reason, "elevation reason", SqliteElevationStore::kMaxTextBytes));
  OPSGATE_RETURN_IF_ERROR(CheckField(e.correlation_id, "elevation correlation_id",
                                     SqliteElevationStore::kMaxCorrelationBytes,
                                     /*allow_empty=*/true));
  if (Ms(e.expires_at) <= Ms(e.started_at)) {
    return core::Fail(core::InvalidArgument("elevation expires_at must be after started_at"));
  }
  if (e.ended_at || !e.ended_by.empty() || !e.review.empty() || !e.reviewer.empty() ||
      e.reviewed_at || !e.review_note.empty()) {
    return core::Fail(
        core::InvalidArgument("a new elevation must not be ended or reviewed already"));
  }
  return core::Ok();
}

}  // namespace

core::Status SqliteElevationStore::Create(const Elevation& e) {
  OPSGATE_RETURN_IF_ERROR(CheckElevation(e));
  return store_.WithDatabase([&](Database& db) -> core::Status {
    auto tx = db.BeginImmediate();
    if (!tx) {
      return core::Fail(tx.error());
    }
    auto active = db.QueryRow(
        "SELECT id FROM break_glass WHERE principal = ?1 AND ended_ms = 0 AND expires_ms > ?2",
        e.principal, Ms(e.started_at));
    if (!active) {
      return core::Fail(active.error());
    }
    if (*active) {
      return core::Fail(core::FailedPrecondition("break-glass " + (*active)->ColumnText(0) +
                                                 " of this principal is still active"));
    }
    auto taken = db.QueryRow("SELECT 1 FROM break_glass WHERE id = ?1", e.id);
    if (!taken) {
      return core::Fail(taken.error());
    }
    if (*taken) {
      return core::Fail(core::AlreadyExists("elevation id " + e.id + " is taken"));
    }
    OPSGATE_RETURN_IF_ERROR(
        db.Run("INSERT INTO break_glass (id, principal, principal_name, reason, correlation_id, "
               "started_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
               e.id, e.principal, e.principal_name, e.reason, e.correlation_id,
               Ms(e.started_at), Ms(e.expires_at)));
    return tx->Commit();
  });
}

core::Result<std::optional<Elevation>> SqliteElevationStore::Find(std::string_view id) const {
  OPSGATE_RETURN_IF_ERROR(CheckApprovalId(id, "elevation id"));
  return store_.WithDatabase([&](Database& db) -> core::Result<std::optional<Elevation>> {
    auto row = db.QueryRow(
        "SELECT " + std::string(kElevationColumns) + " FROM break_glass WHERE id = ?1", id);
    if (!row) {
      return core::Fail(row.error());
    }
    if (!*row) {
      return std::optional<Elevation>();
    }
    return std::optional<Elevation>(ReadElevation(**row));
  });
}

core::Result<std::optional<Elevation>> SqliteElevationStore::Active(
    std::string_view principal, core::Clock::WallTime now) const {
  OPSGATE_RETURN_IF_ERROR(CheckField(principal, "elevation principal", kMaxPrincipalBytes));
  return store_.WithDatabase([&](Database& db) -> core::Result<std::optional<Elevation>> {
    auto row = db.QueryRow("SELECT " + std::string(kElevationColumns) +
                               " FROM break_glass WHERE principal = ?1 AND ended_ms = 0 AND "
                               "started_ms <= ?2 AND expires_ms > ?2 ORDER BY started_ms DESC",
                           principal, Ms(now));
    if (!row) {
      return core::Fail(row.error());
    }
    if (!*row) {
      return std::optional<Elevation>();
    }
    return std::optional<Elevation>(ReadElevation(**row));
  });
}

core::Result<bool> SqliteElevationStore::End(std::string_view id, core::Clock::WallTime at,
                                             std::string_view by) {
  OPSGATE_RETURN_IF_ERROR(CheckApprovalId(id, "elevation id"));
  OPSGATE_RETURN_IF_ERROR(CheckField(by, "elevation ended_by", kMaxPrincipalBytes));
  return store_.WithDatabase([&](Database& db) -> core::Result<bool> {
    auto changed = db.Execute(
        "UPDATE break_glass SET ended_ms = ?2, ended_by = ?3 "
        "WHERE id = ?1 AND ended_ms = 0 AND expires_ms > ?2",
        id, Ms(at), by);
    if (!changed) {
      return core::Fail(changed.error());
    }
    if (*changed == 1) {
      return true;
    }
    auto exists = db.QueryRow("SELECT 1 FROM break_glass WHERE id = ?1", id);
    if (!exists) {
      return core::Fail(exists.error());
    }
    if (!*exists) {
      return core::Fail(core::NotFound("no break-glass elevation " + std::string(id)));
    }
    return false;
  });
}

core::Result<std::vector<Elevation>> SqliteElevationStore::EndDue(core::Clock::WallTime now) {
  const int64_t now_ms = Ms(now);
  return store_.WithDatabase([&](Database& db) -> core::Result<std::vector<Elevation>> {
    auto tx = db.BeginImmediate();
    if (!tx) {
      return core::Fail(tx.error());
    }
    auto st = db.Query("SELECT " + std::string(kElevationColumns) +
                           " FROM break_glass WHERE ended_ms = 0 AND expires_ms <= ?1 "
                           "ORDER BY expires_ms, rowid",
                       now_ms);
    if (!st) {
      return core::Fail(st.error());
    }
    auto due = ReadElevations(*st);
    if (!due || due->empty()) {
      return due;
    }
    OPSGATE_RETURN_IF_ERROR(
        db.Run("UPDATE break_glass SET ended_ms = expires_ms, ended_by = 'expiry' "
               "WHERE ended_ms = 0 AND expires_ms <= ?1",
               now_ms));
    OPSGATE_RETURN_IF_ERROR(tx->Commit());
    for (Elevation& e : *due) {
      e.ended_at = e.expires_at;
      e.ended_by = "expiry";
    }
    return due;
  });
}

core::Result<bool> SqliteElevationStore::Review(std::string_view id, std::string_view reviewer,
                                                std::string_view verdict, std::string_view note,
                                                core::Clock::WallTime at) {
  OPSGATE_RETURN_IF_ERROR(CheckApprovalId(id, "elevation id"));
  OPSGATE_RETURN_IF_ERROR(CheckField(reviewer, "elevation reviewer", kMaxPrincipalBytes));
  OPSGATE_RETURN_IF_ERROR(
      CheckField(note, "elevation review note", kMaxTextBytes, /*allow_empty=*/true));
  if (verdict != "ok" && verdict != "misuse") {
    return core::Fail(core::InvalidArgument("review verdict must be ok or misuse"));
  }
  const int64_t at_ms = Ms(at);
  return store_.WithDatabase([&](Database& db) -> core::Result<bool> {
    auto tx = db.BeginImmediate();
    if (!tx) {
      return core::Fail(tx.error());
    }
    auto row = db.QueryRow("SELECT ended_ms, expires_ms, review FROM break_glass WHERE id = ?1",
                           id);
    if (!row) {
      return core::Fail(row.error());
    }
    if (!*row) {
      return core::Fail(core::NotFound("no break-glass elevation " + std::string(id)));
    }
    const bool ended = (*row)->ColumnInt64(0) != 0 || (*row)->ColumnInt64(1) <= at_ms;
    const bool reviewed = !(*row)->ColumnText(2).empty();
    if (reviewed) {
      return false;
    }
    if (!ended) {
      return core::Fail(core::FailedPrecondition("break-glass " + std::string(id) +
                                                 " is still active; review it once it ended"));
    }
    OPSGATE_RETURN_IF_ERROR(
        db.Run("UPDATE break_glass SET review = ?2, reviewer = ?3, reviewed_ms = ?4, "
               "review_note = ?5 WHERE id = ?1",
               id, verdict, reviewer, at_ms, note));
    OPSGATE_RETURN_IF_ERROR(tx->Commit());
    return true;
  });
}

core::Result<std::vector<Elevation>> SqliteElevationStore::Unreviewed(
    core::Clock::WallTime now, size_t limit, std::string_view principal) const {
  const auto capped = static_cast<int64_t>(
      std::min<size_t>(limit, static_cast<size_t>(std::numeric_limits<int64_t>::max())));
  return store_.WithDatabase([&](Database& db) -> core::Result<std::vector<Elevation>> {
    auto st = db.Query("SELECT " + std::string(kElevationColumns) +
                           " FROM break_glass WHERE review = '' AND (ended_ms != 0 OR "
                           "expires_ms <= ?1) AND (coalesce(?3, '') = '' OR principal = ?3) "
                           "ORDER BY started_ms, rowid LIMIT ?2",
                       Ms(now), capped, principal);
    if (!st) {
      return core::Fail(st.error());
    }
    return ReadElevations(*st);
  });
}

}  // namespace opsgate::store
