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

// opsgate policy explain (docs/policy.md#opsgate-policy-explain). Exactly one of
// config_path (its policy.file, or the built-in policy when that is empty) and
// policy_path names the policy.
struct PolicyExplainOptions {
  std::string config_path;
  std::string policy_path;
  std::string principal;  // user name; also the principal id
  std::vector<std::string> groups;
  std::vector<std::string> roles;
  std::string action;     // "ec2:StopInstances"
  std::string resource;   // "" when the action has none
  std::string platform;
  std::string workspace;
  std::string channel;    // "" with dm, or when unknown
  bool dm = false;
  // The platform's word on the channel: "internal", "shared" (external or guest
  // members), or "" when it did not say (statements with channel_posture then deny).
  std::string channel_posture;
  std::string mfa_age;    // "5m": last MFA that long ago; "": no MFA on record
  std::string at;         // RFC 3339 UTC ("2026-01-05T12:00:00Z"); "": now
};

// opsgate policy test FILE (docs/policy.md#policy-tests). The policy is policy_path, else
// the config's (policy.file or the built-in policy), else the table's `policy:`.
struct PolicyTestOptions {
  std::string table_path;
  std::string config_path;
  std::string policy_path;
};

// opsgate nlu parse (docs/intents.md#tools): understand one text with the classifier
// trained on the catalogue of the config (NluCatalogue() in commands.cc).
struct NluParseOptions {
  std::string config_path;
  std::string text;
};

// opsgate nlu eval (docs/intents.md#tools): score the classifier on JSON lines of
// {"text", "intent", "slots"}.
struct NluEvalOptions {
  std::string config_path;
  std::string data_path;
  bool json = false;  // one JSON object instead of the text report
};

// opsgate nlu review|accept|reject (docs/intents.md#learning): the rephrasings people
// confirmed after an unsure guess, for an administrator to accept as training utterances
// (used from the next start or SIGHUP) or reject.
struct NluReviewOptions {
  std::string config_path;
  std::string state = "pending";  // review: pending | accepted | rejected | all
  std::vector<int64_t> ids;       // accept / reject
  std::string verdict;            // "accepted" or "rejected" (accept / reject)
};

// Exit code of the nlu tools for bad options, config or data.
inline constexpr int kNluUsageError = 2;

// Exit codes of `opsgate policy explain`.
inline constexpr int kExplainAllow = 0;
inline constexpr int kExplainDeny = 1;
inline constexpr int kPolicyUsageError = 2;  // bad options, config, policy or table (also `test`)
inline constexpr int kExplainNeedsStepUp = 3;  // needs_mfa or needs_approval

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
// Also parses policy.file (errors exit 1) and warns about risky statements
// (policy::Lint) as "POLICY_FILE: statements[ID]: RULE: message".
int RunCheck(const CheckOptions& options);
// Prints the decision, deciding statement, reason and session duration of one request.
// Exit kExplainAllow, kExplainDeny, kExplainNeedsStepUp or kPolicyUsageError.
int RunPolicyExplain(const PolicyExplainOptions& options);
// Prints "PASS name" / "FAIL name: ..." per case and a summary. Exit 0 when every case
// passes, 1 when any fails, kPolicyUsageError when the table or policy cannot be read.
int RunPolicyTest(const PolicyTestOptions& options);
// Prints one JSON object: intent, confidence, below_threshold, slots, alternatives.
// Exit 0, or kNluUsageError when the config does not load.
int RunNluParse(const NluParseOptions& options);
// Prints intent accuracy, macro-F1, slot exact-match, out-of-scope precision and recall,
// the confusion matrix and the misclassified lines (with json: as one JSON object). Exit 0
// when it ran (whatever the scores), kNluUsageError on a bad config or data file.
int RunNluEval(const NluEvalOptions& options);
// review: lists candidates, exit 0. accept/reject: exit 0 when every id changed, 1 when
// one was unknown or already reviewed, 2 on a bad config or store.
int RunNluReview(const NluReviewOptions& options);
int RunNluDecide(const NluReviewOptions& options);

}  // namespace opsgate::app
