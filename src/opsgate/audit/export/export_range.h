// File: opsgate/audit/export/export_range.h
//
// ExportRange writes a range of the audit log to a stream, for
// `opsgate audit export --format jsonl|syslog [--from SEQ] [--to SEQ]`:
//
//   auto formatter = RecordFormatter::Create(redactor, {});
//   auto n = ExportRange(store, 0, std::nullopt, ExportFormat::kJsonLines, *formatter,
//                        std::cout);
//
// One record per line: kJsonLines writes RecordFormatter::JsonLine, kSyslog writes
// RecordFormatter::SyslogMessage (RFC 5424; lines are the non-transparent framing of
// RFC 6587 §3.4.2, safe because a message never holds a line feed). Records stream in
// chunks; memory does not grow with the range.
//
// Thread-safety: as the store's ForEachRecord; the stream is the caller's.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>

#include "opsgate/audit/export/format.h"
#include "opsgate/core/result.h"
#include "opsgate/store/audit_store.h"

namespace opsgate::audit::siem {

// Writes records with from <= seq <= to (to: nullopt means through the last record)
// and returns how many. Errors: kInvalidArgument when from > to; kDataLoss naming the
// seq of a record that does not decode (run `opsgate audit verify`); the store's errors;
// kUnavailable when the stream fails (e.g. a closed pipe or a full disk).
[[nodiscard]] core::Result<uint64_t> ExportRange(store::AuditStore& store, uint64_t from,
                                                 std::optional<uint64_t> to, ExportFormat format,
                                                 const RecordFormatter& formatter,
                                                 std::ostream& out);

}  // namespace opsgate::audit::siem
