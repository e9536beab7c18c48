#include "opsgate/audit/export/export_range.h"

#include <algorithm>
#include <string>

namespace opsgate::audit::siem {
namespace {
constexpr uint64_t kChunk = 1024;
}  // namespace

core::Result<uint64_t> ExportRange(store::AuditStore& store, uint64_t from,
                                   std::optional<uint64_t> to, ExportFormat format,
                                   const RecordFormatter& formatter, std::ostream& out) {
  if (to && from > *to) {
    return core::Fail(core::InvalidArgument("audit export: --from " + std::to_string(from) +
                                            " is after --to " + std::to_string(*to)));
  }
  uint64_t written = 0;
  uint64_t next = from;
  while (true) {
    uint64_t limit = kChunk;
    if (to && *to - next < kChunk) {
      limit = *to - next + 1;  // no overflow: *to - next < kChunk
    }
    uint64_t seen = 0;
    bool done = false;
    core::Status failed = core::Ok();
    OPSGATE_RETURN_IF_ERROR(store.ForEachRecord(next, limit, [&](const store::AuditRow& row) {
      if (to && row.seq > *to) {
        done = true;
        return false;
      }
      auto record = DecodeRecord(row.record);
      if (!record) {
        failed = core::Fail(core::DataLoss("audit export: record seq " + std::to_string(row.seq) +
                                           " cannot be decoded (" + record.error().message +
                                           "); run `opsgate audit verify`"));
        return false;
      }
      out << formatter.Format(format, *record, row.leaf_hash) << '\n';
      ++seen;
      ++written;
      next = row.seq + 1;
      return static_cast<bool>(out);
    }));
    OPSGATE_RETURN_IF_ERROR(failed);
    if (!out) {
      return core::Fail(core::Unavailable("audit export: writing the output failed after " +
                                          std::to_string(written) + " records"));
    }
    if (done || seen < limit || (to && next > *to) || next == 0) {
      break;
    }
  }
  out.flush();
  if (!out) {
    return core::Fail(core::Unavailable("audit export: flushing the output failed"));
  }
  return written;
}

}  // namespace opsgate::audit::siem
