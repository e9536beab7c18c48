// File: opsgate/store/export_cursor.h
//
// ExportCursorStore remembers, per named exporter (e.g. "syslog"), the sequence number
// of the next audit record it has to export. An exporter saves the cursor only after the
// records before it were delivered, so on restart it resends from the saved cursor: at
// least once, never a gap (docs/siem-export.md).
//
//   auto next = cursors.Load("syslog");            // 0 if never saved
//   if (!next) return Fail(next.error());
//   ... deliver records next .. last ...
//   OPSGATE_RETURN_IF_ERROR(cursors.Save("syslog", last + 1));
//
// Durability: Save returns once the value is committed. An implementation may lose the
// last Saves on a power loss (never on a process crash); the cursor then moves back and
// records are sent again, which at-least-once allows. It never moves forward by itself.
//
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "opsgate/core/result.h"

namespace opsgate::store {

class ExportCursorStore {
 public:
  // Longest cursor name accepted.
  static constexpr size_t kMaxNameBytes = 128;

  virtual ~ExportCursorStore() = default;

  // The next seq to export for `name`; 0 when nothing was saved under that name.
  // Errors: kInvalidArgument for an empty name or one longer than kMaxNameBytes; the
  // backend's (kUnavailable: busy or I/O, retry; kDataLoss: a stored value that is not
  // a valid seq).
  [[nodiscard]] virtual core::Result<uint64_t> Load(std::string_view name) = 0;

  // Stores `next_seq` as the cursor of `name`, replacing any earlier value (it may move
  // back, e.g. an operator replaying a range). Errors: as Load, plus kResourceExhausted
  // (disk full); kInvalidArgument for next_seq > INT64_MAX.
  [[nodiscard]] virtual core::Status Save(std::string_view name, uint64_t next_seq) = 0;
};

}  // namespace opsgate::store
