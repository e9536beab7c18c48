#include "opsgate/policy/policy_table.h"

#include <cctype>
#include <filesystem>
#include <unordered_map>
#include <utility>

#include "opsgate/config/internal/diagnostics.h"
#include "opsgate/config/internal/files.h"
#include "opsgate/config/internal/map_reader.h"
#include "opsgate/config/internal/yaml_tree.h"

namespace opsgate::policy {
namespace {

namespace ci = config::internal;
using ci::MapReader;
using ci::YamlNode;

constexpr int kMaxTableDepth = 8;

// Returns every key `uses` sets: per-principal keys get one count, total keys the other.
class FixedCounter final : public RateCounter {
 public:
  FixedCounter(uint64_t per_principal, uint64_t total)
      : per_principal_(per_principal), total_(total) {}
  core::Result<uint64_t> Count(std::string_view key, std::chrono::seconds) const override {
    return key.find("|principal|") != std::string_view::npos ? per_principal_ : total_;
  }

 private:
  uint64_t per_principal_;
  uint64_t total_;
};

std::vector<Diagnostic> Convert(std::vector<config::Diagnostic> in) {
  std::vector<Diagnostic> out;
  out.reserve(in.size());
  for (auto& d : in) {
    out.push_back(Diagnostic{std::move(d.file), d.line, d.column, std::move(d.key_path),
                             std::move(d.message)});
  }
  return out;
}

bool ParseDigits(std::string_view s, int* out) {
  if (s.empty()) {
    return false;
  }
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// A list of non-empty strings under `key` of `map`; reported and skipped items otherwise.
std::vector<std::string> ReadStrings(MapReader& map, std::string_view key) {
  std::vector<std::string> out;
  const YamlNode* node = map.Find(key);
  if (node == nullptr || node->kind == YamlNode::Kind::kRefused) {
    return out;
  }
  if (node->kind != YamlNode::Kind::kSequence) {
    map.Error(key, "expected a list of names (got " + ci::DescribeNode(*node) + ")");
    return out;
  }
  for (size_t i = 0; i < node->items.size(); ++i) {
    const YamlNode& item = node->items[i];
    auto s = ci::ParseString(item);
    if (!s || s->empty()) {
      map.diagnostics().Error(item.position, map.PathOf(key) + "[" + std::to_string(i) + "]",
                              s ? "must not be empty" : s.error());
      continue;
    }
    out.push_back(std::move(*s));
  }
  return out;
}

ci::ParseResult<std::chrono::seconds> ParseAgeNode(const YamlNode& n) {
  auto s = ci::ParseString(n);
  if (!s) {
    return tl::unexpected(s.error());
  }
  auto age = ParseAge(*s);
  if (!age) {
    return tl::unexpected("expected a duration such as 90s, 15m, 2h or 1d (got '" +
                          ci::Printable(*s) + "')");
  }
  return *age;
}

ci::ParseResult<WallTime> ParseTimeNode(const YamlNode& n) {
  auto s = ci::ParseString(n);
  if (!s) {
    return tl::unexpected(s.error());
  }
  auto t = ParseUtcTime(*s);
  if (!t) {
    return tl::unexpected("expected an RFC 3339 UTC time such as 2026-01-05T12:00:00Z (got '" +
                          ci::Printable(*s) + "')");
  }
  return *t;
}

std::optional<TableCase> ParseCase(const YamlNode& node, const std::string& path,
                                   ci::Diagnostics& diags) {
  if (node.kind != YamlNode::Kind::kMap) {
    diags.Error(node.position, path,
                "expected a case mapping with name, principal, action and expect (got " +
                    ci::DescribeNode(node) + ")");
    return std::nullopt;
  }
  MapReader m(&node, path, node.position, diags);
  TableCase c;
  c.line = node.position.line;
  Request& r = c.request;
  bool ok = true;
  auto require = [&](std::string_view key, bool present) {
    if (!present && m.Find(key) == nullptr) {
      m.Error(key, "missing (every case needs name, principal, action and expect)");
      ok = false;
    }
  };
  require("name", m.ReadString("name", &c.name));

  if (m.Find("principal") == nullptr) {
    require("principal", false);
  }
  MapReader p = m.Section("principal");
  std::optional<std::chrono::seconds> mfa_age;
  if (!p.ReadString("user", &r.principal.user) && p.ok() && m.Find("principal") != nullptr) {
    if (p.Find("user") == nullptr) {
      p.Error("user", "missing (the principal's user name)");
    }
    ok = false;
  }
  r.principal.id = r.principal.user;
  r.principal.groups = ReadStrings(p, "groups");
  r.principal.roles = ReadStrings(p, "roles");
  std::chrono::seconds age{};
  if (p.Read("mfa_age", ParseAgeNode, &age)) {
    mfa_age = age;
  }
  p.Finish();

  require("action", m.ReadString("action", &r.action));
  m.ReadString("resource", &r.resource);
  m.ReadString("platform", &r.platform);
  m.ReadString("workspace", &r.workspace);
  const bool has_channel = m.ReadString("channel", &r.channel);
  m.ReadBool("dm", &r.is_dm);
  if (has_channel && r.is_dm) {
    m.Error("dm", "a case is either in a channel or a DM (remove channel or dm)");
  }
  // What the platform says about the channel (channel_posture conditions): absent means
  // it did not say.
  std::string posture;
  if (m.ReadEnum<std::string>("channel_posture",
                              {{"internal", "internal"}, {"shared", "shared"}}, &posture)) {
    r.channel_external = posture == "shared";
  }
  r.now = DefaultTableTime();
  m.Read("at", ParseTimeNode, &r.now);
  if (mfa_age) {
    r.principal.mfa_at = r.now - *mfa_age;
  }

  if (const YamlNode* list = m.Find("approvals")) {
    if (list->kind != YamlNode::Kind::kSequence) {
      m.Error("approvals", "expected a list of {approver, groups} (got " +
                               ci::DescribeNode(*list) + ")");
    } else {
      for (size_t i = 0; i < list->items.size(); ++i) {
        const YamlNode& item = list->items[i];
        const std::string apath = m.PathOf("approvals") + "[" + std::to_string(i) + "]";
        if (item.kind != YamlNode::Kind::kMap) {
          diags.Error(item.position, apath,
                      "expected {approver, groups} (got " + ci::DescribeNode(item) + ")");
          continue;
        }
        MapReader a(&item, apath, item.position, diags);
        ApprovalRecord rec;
        if (!a.ReadString("approver", &rec.approver_id) && a.Find("approver") == nullptr) {
          a.Error("approver", "missing (the approver's user name)");
        }
        rec.approver_groups = ReadStrings(a, "groups");
        a.Finish();
        c.approvals.push_back(std::move(rec));
      }
    }
  }
  MapReader uses = m.Section("uses");
  uses.ReadInteger("per_principal", 0, 1'000'000'000, &c.per_principal_uses);
  uses.ReadInteger("total", 0, 1'000'000'000, &c.total_uses);
  uses.Finish();

  const bool has_expect = m.ReadEnum<Decision::Effect>(
      "expect",
      {{"allow", Decision::Effect::kAllow},
       {"deny", Decision::Effect::kDeny},
       {"needs_mfa", Decision::Effect::kNeedsMfa},
       {"needs_approval", Decision::Effect::kNeedsApproval}},
      &c.expect);
  require("expect", has_expect);
  m.ReadString("statement", &c.expect_statement);
  m.Finish();

  const std::string key = ApprovalKey(r);
  for (auto& a : c.approvals) {
    a.request_key = key;
  }
  if (!ok) {
    return std::nullopt;
  }
  return c;
}

}  // namespace

WallTime DefaultTableTime() {
  using namespace std::chrono;
  return sys_days{year{2026} / January / 5} + hours{12};
}

std::optional<WallTime> ParseUtcTime(std::string_view s) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS[.fff]Z
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':' || (s.back() != 'Z' && s.back() != 'z')) {
    return std::nullopt;
  }
  int y = 0;
  int mo = 0;
  int d = 0;
  int h = 0;
  int mi = 0;
  int sec = 0;
  if (!ParseDigits(s.substr(0, 4), &y) || !ParseDigits(s.substr(5, 2), &mo) ||
      !ParseDigits(s.substr(8, 2), &d) || !ParseDigits(s.substr(11, 2), &h) ||
      !ParseDigits(s.substr(14, 2), &mi) || !ParseDigits(s.substr(17, 2), &sec)) {
    return std::nullopt;
  }
  const std::string_view rest = s.substr(19, s.size() - 20);
  int frac = 0;
  if (!rest.empty() && (rest[0] != '.' || rest.size() > 10 || !ParseDigits(rest.substr(1), &frac))) {
    return std::nullopt;
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 59) {
    return std::nullopt;
  }
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec};
}

std::optional<std::chrono::seconds> ParseAge(std::string_view s) {
  if (s.size() < 2 || s.size() > 12) {
    return std::nullopt;
  }
  int n = 0;
  if (!ParseDigits(s.substr(0, s.size() - 1), &n)) {
    return std::nullopt;
  }
  switch (s.back()) {
    case 's':
      return std::chrono::seconds{n};
    case 'm':
      return std::chrono::minutes{n};
    case 'h':
      return std::chrono::hours{n};
    case 'd':
      return std::chrono::hours{24LL * n};
    default:
      return std::nullopt;
  }
}

TableParseResult ParsePolicyTable(std::string_view yaml, std::string_view source_name,
                                  const std::string& base_dir) {
  ci::Diagnostics diags{std::string(source_name)};
  auto root = ci::ParseYamlTree(yaml, kMaxTableBytes, kMaxTableDepth, diags);
  if (!root) {
    return tl::unexpected(Convert(diags.Take()));
  }
  PolicyTable table;
  MapReader top(&*root, "", ci::Position{1, 1}, diags);
  if (root->kind == YamlNode::Kind::kNull) {
    diags.Error(ci::Position{1, 1}, "", "empty table (needs cases:)");
  }
  std::string policy;
  if (top.ReadString("policy", &policy) && !policy.empty()) {
    std::filesystem::path p(policy);
    table.policy_path =
        (p.is_absolute() ? p : std::filesystem::path(base_dir) / p).lexically_normal().string();
  }
  const YamlNode* cases = top.Find("cases");
  if (root->kind == YamlNode::Kind::kMap && cases == nullptr) {
    top.Error("cases", "missing (a list of cases)");
  } else if (cases != nullptr && cases->kind != YamlNode::Kind::kRefused &&
             (cases->kind != YamlNode::Kind::kSequence || cases->items.empty())) {
    top.Error("cases", "expected a non-empty list of cases (got " + ci::DescribeNode(*cases) + ")");
  } else if (cases != nullptr) {
    std::unordered_map<std::string, size_t> names;
    for (size_t i = 0; i < cases->items.size(); ++i) {
      const std::string path = "cases[" + std::to_string(i) + "]";
      auto c = ParseCase(cases->items[i], path, diags);
      if (!c) {
        continue;
      }
      auto [it, fresh] = names.emplace(c->name, i);
      if (!fresh) {
        diags.Error(cases->items[i].position, path + ".name",
                    "duplicate case name '" + ci::Printable(c->name) + "' (first used by cases[" +
                        std::to_string(it->second) + "])");
        continue;
      }
      table.cases.push_back(std::move(*c));
    }
  }
  top.Finish();
  if (diags.has_errors()) {
    return tl::unexpected(Convert(diags.Take()));
  }
  return table;
}

TableParseResult LoadPolicyTable(const std::string& path) {
  auto text = ci::ReadFileAtMost(path, kMaxTableBytes);
  if (!text) {
    std::string why = ci::DescribeFileError(text.error(), kMaxTableBytes);
    return tl::unexpected(std::vector<Diagnostic>{{path, 0, 0, "", std::move(why)}});
  }
  const std::string dir =
      std::filesystem::absolute(std::filesystem::path(path)).parent_path().string();
  return ParsePolicyTable(*text, path, dir);
}

TableReport RunPolicyTable(const Policy& policy, const PolicyTable& table) {
  TableReport report;
  for (const auto& c : table.cases) {
    FixedCounter counter(c.per_principal_uses, c.total_uses);
    EvalContext ctx;
    ctx.rates = &counter;
    ctx.approvals = c.approvals;
    CaseOutcome o;
    o.name = c.name;
    o.line = c.line;
    o.expect = c.expect;
    o.expect_statement = c.expect_statement;
    o.got = Evaluate(policy, c.request, ctx);
    o.passed = o.got.effect == c.expect &&
               (c.expect_statement.empty() || o.got.statement == c.expect_statement);
    ++(o.passed ? report.passed : report.failed);
    report.outcomes.push_back(std::move(o));
  }
  return report;
}

std::string FormatOutcome(const CaseOutcome& o) {
  if (o.passed) {
    return "PASS " + o.name;
  }
  std::string out = "FAIL " + o.name + ": expected " + std::string(EffectName(o.expect));
  if (!o.expect_statement.empty()) {
    out += " (statement " + o.expect_statement + ")";
  }
  out += ", got " + std::string(EffectName(o.got.effect)) + " by " + o.got.statement + ": " +
         o.got.reason;
  return out;
}

}  // namespace opsgate::policy
