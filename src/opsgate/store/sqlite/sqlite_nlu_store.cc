#include "opsgate/store/sqlite/sqlite_nlu_store.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>

namespace opsgate::store {
namespace {

using sqlite_internal::FromMs;
using sqlite_internal::Ms;

using sqlite_internal::Database;
using sqlite_internal::Statement;

core::Status CheckField(std::string_view value, std::string_view what, size_t min, size_t max) {
  if (value.size() < min || value.size() > max) {
    return core::Fail(core::InvalidArgument(std::string(what) + " must be " + std::to_string(min) +
                                            ".." + std::to_string(max) + " bytes"));
  }
  return core::Ok();
}

constexpr std::string_view kColumns =
    "id, text, utterance, intent, guessed, confidence_pm, principal, created_ms, state, "
    "reviewer, reviewed_ms";

NluCandidate Read(const Statement& st) {
  NluCandidate c;
  c.id = st.ColumnInt64(0);
  c.text = st.ColumnText(1);
  c.utterance = st.ColumnText(2);
  c.intent = st.ColumnText(3);
  c.guessed = st.ColumnText(4);
  c.confidence = static_cast<double>(st.ColumnInt64(5)) / 1000.0;
  c.principal = st.ColumnText(6);
  c.created_at = FromMs(st.ColumnInt64(7));
  c.state = st.ColumnText(8);
  c.reviewer = st.ColumnText(9);
  if (const int64_t at = st.ColumnInt64(10); at != 0) {
    c.reviewed_at = FromMs(at);
  }
  return c;
}

}  // namespace

core::Result<int64_t> SqliteNluCandidateStore::Add(const NluCandidate& c) {
  OPSGATE_RETURN_IF_ERROR(CheckField(c.text, "candidate text", 1, kMaxTextBytes));
  OPSGATE_RETURN_IF_ERROR(CheckField(c.utterance, "candidate utterance", 1, kMaxTextBytes));
  OPSGATE_RETURN_IF_ERROR(CheckField(c.intent, "candidate intent", 1, kMaxIntentBytes));
  OPSGATE_RETURN_IF_ERROR(CheckField(c.guessed, "candidate guessed", 0, kMaxIntentBytes));
  OPSGATE_RETURN_IF_ERROR(CheckField(c.principal, "candidate principal", 0, kMaxPrincipalBytes));
  if (!(c.confidence >= 0.0 && c.confidence <= 1.0)) {
    return core::Fail(core::InvalidArgument("candidate confidence must be in [0, 1]"));
  }
  const auto confidence_pm = static_cast<int64_t>(std::lround(c.confidence * 1000.0));
  return store_.WithDatabase([&](Database& db) -> core::Result<int64_t> {
    auto tx = db.BeginImmediate();
    if (!tx) {
      return core::Fail(tx.error());
    }
    auto existing = db.QueryRow(
        "SELECT id FROM nlu_candidates WHERE state = 'pending' AND utterance = ?1 AND intent = ?2",
        c.utterance, c.intent);
    if (!existing) {
      return core::Fail(existing.error());
    }
    if (*existing) {
      return (*existing)->ColumnInt64(0);
    }
    auto inserted = db.QueryRow(
        "INSERT INTO nlu_candidates (text, utterance, intent, guessed, confidence_pm, principal, "
        "created_ms, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending') RETURNING id",
        c.text, c.utterance, c.intent, c.guessed, confidence_pm, c.principal, Ms(c.created_at));
    if (!inserted) {
      return core::Fail(inserted.error());
    }
    if (!*inserted) {
      return core::Fail(core::Internal("sqlite database " + db.path() +
                                       ": INSERT ... RETURNING gave no row"));
    }
    const int64_t id = (*inserted)->ColumnInt64(0);
    inserted->reset();  // finish the statement before committing
    OPSGATE_RETURN_IF_ERROR(tx->Commit());
    return id;
  });
}

core::Result<std::vector<NluCandidate>> SqliteNluCandidateStore::List(std::string_view state,
                                                                      size_t limit) const {
  const auto capped = static_cast<int64_t>(
      std::min<size_t>(limit, static_cast<size_t>(std::numeric_limits<int64_t>::max())));
  return store_.WithDatabase([&](Database& db) -> core::Result<std::vector<NluCandidate>> {
    auto st = db.Query("SELECT " + std::string(kColumns) +
                           " FROM nlu_candidates WHERE coalesce(?1, '') = '' OR state = ?1 "
                           "ORDER BY id LIMIT ?2",
                       state, capped);
    if (!st) {
      return core::Fail(st.error());
    }
    std::vector<NluCandidate> out;
    for (;;) {
      auto row = st->Step();
      if (!row) {
        return core::Fail(row.error());
      }
      if (!*row) {
        return out;
      }
      out.push_back(Read(*st));
    }
  });
}

core::Result<bool> SqliteNluCandidateStore::Review(int64_t id, std::string_view verdict,
                                                   std::string_view reviewer,
                                                   core::Clock::WallTime at) {
  if (verdict != "accepted" && verdict != "rejected") {
    return core::Fail(core::InvalidArgument("a review is accepted or rejected"));
  }
  OPSGATE_RETURN_IF_ERROR(CheckField(reviewer, "candidate reviewer", 1, kMaxPrincipalBytes));
  return store_.WithDatabase([&](Database& db) -> core::Result<bool> {
    auto changed = db.Execute(
        "UPDATE nlu_candidates SET state = ?2, reviewer = ?3, reviewed_ms = ?4 "
        "WHERE id = ?1 AND state = 'pending'",
        id, verdict, reviewer, Ms(at));
    if (!changed) {
      return core::Fail(changed.error());
    }
    if (*changed == 1) {
      return true;
    }
    auto exists = db.QueryRow("SELECT 1 FROM nlu_candidates WHERE id = ?1", id);
    if (!exists) {
      return core::Fail(exists.error());
    }
    if (!*exists) {
      return core::Fail(core::NotFound("no candidate " + std::to_string(id)));
    }
    return false;
  });
}

}  // namespace opsgate::store
