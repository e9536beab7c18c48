// File: opsgate/policy/policy.h
//
// The policy language (docs/policy.md): a Policy is an ordered list of Statements, each
// saying who (principals) may or may not (effect) do what (actions) to what (resources),
// and under which conditions. ParsePolicy() reads the YAML form strictly and reports
// every problem as "FILE:LINE:COL: statements[3].actions[1]: what is wrong".
//
//   auto policy = opsgate::policy::ParsePolicy(text, "/etc/opsgate/policy.yaml");
//   if (!policy) { for (const auto& d : policy.error()) std::cerr << d.ToString() << "\n"; }
//
// Patterns (actions, resources, principals) use only two wildcards: '*' (any run of
// characters, also empty) and '?' (exactly one character). They are compiled once when
// the Pattern is made; matching never recurses and is O(pattern * text) at worst.
//
// Thread-safety: value types; a const Policy may be shared by any number of threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace opsgate::policy {

// A glob with '*' and '?'. Matching is byte-wise; `case_insensitive` folds ASCII only.
class Pattern {
 public:
  Pattern() = default;
  explicit Pattern(std::string text, bool case_insensitive = false);

  bool Matches(std::string_view s) const;
  const std::string& text() const { return text_; }
  bool has_wildcards() const { return kind_ != Kind::kExact; }

 private:
  enum class Kind { kExact, kAny, kPrefix, kSuffix, kGlob };
  std::string text_;     // as written
  std::string literal_;  // kExact/kPrefix/kSuffix: the fixed part; kGlob: the whole (folded)
  size_t head_ = 0;      // kGlob: length of the literal text before the first wildcard
  Kind kind_ = Kind::kExact;
  bool case_insensitive_ = false;
};

// "service:Operation" with wildcards in either part, or "*" for every action. Matching
// is ASCII case-insensitive, as in AWS IAM ("EC2:stopinstances" is ec2:StopInstances).
struct ActionPattern {
  std::string text;
  Pattern service;    // "*" when the whole pattern is "*"
  Pattern operation;  // "*" when the whole pattern is "*"

  // REQUIRES: `text` is "*" or contains a ':' (ParsePolicy checks this).
  static ActionPattern Make(std::string text);
  bool Matches(std::string_view svc, std::string_view op) const {
    return service.Matches(svc) && operation.Matches(op);
  }
};

enum class Effect { kAllow, kDeny };

struct Principals {
  std::vector<Pattern> users;   // matched against Request::principal.user
  std::vector<Pattern> groups;  // any of the principal's groups
  std::vector<Pattern> roles;   // any of the principal's roles
};

// A UTC window: on `days` (bit 0 = Monday ... bit 6 = Sunday), from `start` to `end`
// minutes after midnight. end < start crosses midnight: the window then belongs to the
// day it starts on (mon 22:00-06:00 covers Monday 22:00 to Tuesday 06:00).
struct TimeWindow {
  uint8_t days = 0x7f;
  int start_minute = 0;  // [0, 1440)
  int end_minute = 0;    // [0, 1440], != start_minute
};

struct Approval {
  uint32_t count = 1;               // distinct approvers needed
  std::string approver_group;       // every approver must be in it
  bool requester_excluded = true;   // the requester's own approval does not count
};

struct RateCap {
  uint32_t max = 0;  // at most this many uses per window (allowed when count < max)
  std::chrono::seconds window{0};
};

// channel_posture: what the conversation's membership must be. kAny: no condition.
// kInternal: the platform must say the channel has no people from outside the
// workspace (shared / Slack Connect channels) or guests; DMs with the bot satisfy it.
enum class ChannelPosture : uint8_t { kAny, kInternal };

struct Conditions {
  std::vector<std::string> platforms;   // empty: any platform
  std::vector<std::string> workspaces;  // empty: any workspace
  std::vector<std::string> channels;    // empty: any channel (DMs: see allow_dm)
  bool allow_dm = false;                // allow statements only: DMs match only when true
  std::vector<TimeWindow> time_windows;  // empty: any time; else any one window
  std::optional<std::chrono::seconds> mfa_max_age;  // allow only
  std::optional<Approval> approval;                 // allow only
  std::optional<RateCap> per_principal;             // allow only
  std::optional<RateCap> total;                     // allow only
  ChannelPosture channel_posture = ChannelPosture::kAny;  // allow only
};

struct Statement {
  std::string id;
  std::string description;
  Effect effect = Effect::kDeny;
  Principals principals;
  std::vector<ActionPattern> actions;
  std::vector<Pattern> resources;
  Conditions conditions;
  std::optional<std::chrono::seconds> session_duration;  // allow only
};

namespace internal {
struct ServiceIndex;  // evaluator.cc
}

// Statements in file order (order matters among allows). Build the index with
// Compile() after changing `statements` by hand; ParsePolicy() returns it compiled.
// Evaluation is correct without an index, only slower.
struct Policy {
  std::vector<Statement> statements;
  std::shared_ptr<const internal::ServiceIndex> index;

  void Compile();
};

// One problem in a policy file, formatted like config diagnostics:
// "FILE:LINE:COL: statements[3].actions[1]: message".
struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 if unknown
  int column = 0;  // 1-based; 0 if unknown
  std::string path;
  std::string message;

  std::string ToString() const;
};

using ParseResult = tl::expected<Policy, std::vector<Diagnostic>>;

// Strict parse: unknown keys (with did-you-mean), wrong types, duplicate keys and ids,
// empty statements, bad patterns, unknown effects, aliases, several documents and
// conditions that make no sense for the effect are all errors. Never throws.
// `source_name` is used only in diagnostics.
[[nodiscard]] ParseResult ParsePolicy(std::string_view yaml, std::string_view source_name);

// Reads and parses the policy file at `path` (ParsePolicy with the path as source
// name). A missing, unreadable or oversized file is one Diagnostic naming the path.
[[nodiscard]] ParseResult LoadPolicyFile(const std::string& path);

// Largest policy text ParsePolicy() accepts.
inline constexpr size_t kMaxPolicyBytes = 4 * 1024 * 1024;

}  // namespace opsgate::policy
