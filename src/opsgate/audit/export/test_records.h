// File: opsgate/audit/export/test_records.h
//
// Test-only helpers for the export tests: sample records, appending them to an
// AuditStore as the writer would, and splitting an octet-counted stream into messages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "opsgate/audit/merkle.h"
#include "opsgate/audit/record.h"
#include "opsgate/core/strings.h"
#include "opsgate/store/audit_store.h"

namespace opsgate::audit::siem::export_testing {

inline Record SampleRecord(uint64_t seq) {
  Record r;
  r.seq = seq;
  r.timestamp_ms = 1'700'000'000'123 + static_cast<int64_t>(seq) * 1000;
  r.kind = seq % 3 == 1 ? RecordKind::kRejection : RecordKind::kDecision;
  r.latency_ms = 12;
  r.correlation_id = "c-" + std::to_string(seq);
  r.platform = "slack";
  r.workspace = "T0001";
  r.channel = "C0002";
  r.user = "U0003";
  r.principal = "alice@example.com";
  r.intent = "ec2.stop_instance";
  r.decision = "allow";
  r.statement = "ops-can-stop";
  r.action = "ec2:StopInstances";
  r.resource = "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc";
  r.result = "ok";
  r.reason = "";
  r.user_name = Field::Plain("Alice \"Ops\" Müller");
  r.text = Field::Plain("stop i-0abc please\nthanks");
  r.slots = Field::Plain(EncodeSlots({{"instance", "i-0abc"}, {"region", "eu-west-1"}}));
  r.output = Field::Plain("stopping");
  return r;
}

inline store::AuditRow RowFor(const Record& r) {
  store::AuditRow row;
  row.seq = r.seq;
  row.record = EncodeRecord(r);
  const Hash h = LeafHash(row.record);
  row.leaf_hash.assign(reinterpret_cast<const char*>(h.data()), h.size());
  return row;
}

// Appends SampleRecord(first .. first+n-1); returns the records.
inline std::vector<Record> AppendSamples(store::AuditStore& store, uint64_t first, uint64_t n) {
  std::vector<Record> records;
  std::vector<store::AuditRow> rows;
  for (uint64_t i = first; i < first + n; ++i) {
    records.push_back(SampleRecord(i));
    rows.push_back(RowFor(records.back()));
  }
  if (!store.AppendRecords(rows)) {
    records.clear();
  }
  return records;
}

// Splits "LEN SP MSG LEN SP MSG ..." into messages; nullopt if the stream is malformed
// (a trailing partial frame is left in *rest when rest is given).
inline std::optional<std::vector<std::string>> SplitFrames(std::string_view stream,
                                                           std::string* rest = nullptr) {
  std::vector<std::string> out;
  while (!stream.empty()) {
    const size_t sp = stream.find(' ');
    if (sp == std::string_view::npos) {
      break;
    }
    auto len = core::ParseDigits(stream.substr(0, sp));
    if (!len) {
      return std::nullopt;
    }
    if (stream.size() - sp - 1 < *len) {
      break;
    }
    out.emplace_back(stream.substr(sp + 1, *len));
    stream.remove_prefix(sp + 1 + *len);
  }
  if (rest != nullptr) {
    *rest = std::string(stream);
  } else if (!stream.empty()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace opsgate::audit::siem::export_testing
