// File: opsgate/app/commands.h
//
// The subcommands of the opsgate binary. Each returns the process exit code and
// prints for a person: results on stdout, problems on stderr. Logs (serve) are
// JSON lines on stderr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace opsgate::app {

struct ServeOptions {
  std::string config_path;              // empty: <data_dir>/opsgate.yaml, created if missing
  std::string data_dir = "opsgate-data";
  std::string listen;                   // HOST:PORT override, empty for the config's
};

struct InitCommandOptions {
  std::string dir;
  std::vector<std::string> extra_hosts;
};

struct CheckOptions {
  std::string config_path;
};

// opsgate audit verify|show|prove|tail (docs/audit-format.md).
struct AuditOptions {
  std::string config_path;
  uint64_t from = 0;        // show: first seq
  uint64_t limit = 100;     // show: most records; tail: how many of the last
  uint64_t seq = 0;         // prove: the record
  bool follow = false;      // tail: keep printing new records
  bool decrypt = true;      // show/tail/export: open sealed fields when keys.dir is readable
  std::optional<uint64_t> to;  // export: last seq (inclusive); nullopt: through the end
  std::string format = "jsonl";  // export: jsonl | syslog
};

// opsgate keys list|rotate (key-encryption keys in keys.dir).
struct KeysOptions {
  std::string config_path;
  bool rotate = false;      // false: list
};

int RunServe(const ServeOptions& options);
// Exit 0 "verified N records, M tree heads"; 1 naming the first bad record and why (or
// when the log cannot be read).
int RunAuditVerify(const AuditOptions& options);
// JSON lines, one per record, from options.from, at most options.limit.
int RunAuditShow(const AuditOptions& options);
// The inclusion proof of options.seq against the latest signed tree head, as JSON.
int RunAuditProve(const AuditOptions& options);
// Records options.from..options.to as JSON lines or RFC 5424 syslog lines
// (docs/siem-export.md), redacted; the count on stderr.
int RunAuditExport(const AuditOptions& options);
// The last options.limit records as JSON lines; with follow, then every new one.
int RunAuditTail(const AuditOptions& options);
// list: one line per key id, "current" or "retired". rotate: a new current key; old keys
// stay for reading old records; a running server picks it up on SIGHUP.
int RunKeys(const KeysOptions& options);
int RunInit(const InitCommandOptions& options);
int RunCheck(const CheckOptions& options);

}  // namespace opsgate::app
