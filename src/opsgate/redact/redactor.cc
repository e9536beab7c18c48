#include "opsgate/redact/redactor.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>

namespace opsgate::redact {
namespace {

struct BuiltinRule {
  const char* name;
  const char* pattern;
};

// Each rule replaces its first participating, non-empty capture group, or the whole match
// when it has no group. Context (keywords, separators) sits outside the groups so it is
// kept. Every pattern runs in Latin-1 mode so that any byte, valid UTF-8 or not, can sit
// inside a secret (a UTF-8 class would stop at an invalid byte and leak the rest).
// Order is priority: when secrets overlap, the earlier rule names the merged marker.
constexpr BuiltinRule kBuiltinRules[] = {
    // PEM private keys of any type, multi-line; a key cut off before its END line is
    // redacted up to where the base64 body stops.
    {"private-key",
     R"re(-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\:,\-]*))re"},
    // Long-term (AKIA), temporary (ASIA) and other credential-bearing key ids.
    {"aws-access-key-id", R"re(\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})\b)re"},
    // 40 base64 characters are everywhere (git shas are 40 hex), so a secret key is
    // only recognised after a keyword or right after an access key id.
    {"aws-secret-key",
     R"re((?i)(?:secret[_\-. ]?(?:access[_\-. ]?)?key|aws[_\-. ]?secret)(?:\\?["'])?\s*(?:=>|:=|[:=])\s*(?:\\?["'])?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$))re"},
    {"aws-secret-key",
     R"re(\b(?:AKIA|ASIA)[A-Z0-9]{16}["']?[\s,;:|=]{1,5}["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$))re"},
    {"aws-session-token",
     R"re((?i)(?:session[_\-. ]?token|security[_\-. ]?token)(?:\\?["'])?\s*(?:=>|:=|[:=])?\s*(?:\\?["'])?([A-Za-z0-9/+=]{64,}))re"},
    {"aws-session-token", R"re(\b((?:FwoGZXIvYXdzE|IQoJb3JpZ2luX2Vj)[A-Za-z0-9/+=]{40,}))re"},
    {"slack-token",
     R"re(\b(xox[abposr]-[A-Za-z0-9\-]{8,}|xoxe(?:\.xox[bp])?-[A-Za-z0-9\-]{8,}|xapp-[0-9]+-[A-Za-z0-9\-]{8,}))re"},
    {"slack-webhook",
     R"re((?i)(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_\-]+)re"},
    {"github-token", R"re(\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}))re"},
    {"atlassian-token", R"re(\b(ATATT3[A-Za-z0-9_\-=]{20,}))re"},
    {"jwt", R"re(\b(eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*))re"},
    {"google-api-key", R"re(\b(AIza[0-9A-Za-z_\-]{35})(?:[^0-9A-Za-z_\-]|$))re"},
    {"stripe-key", R"re(\b((?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}))re"},
    // scheme://user:PASSWORD@host: user and host stay readable.
    {"url-password",
     R"re(\b[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^/\s:@?#"'<>\[\]]*:([^/\s@?#"'<>]+)@)re"},
    // Authorization headers with or without a scheme (Bearer, Basic, token, ...).
    {"authorization",
     R"re((?i)\b(?:proxy-)?authorization(?:\\?["'])?\s*[:=]\s*(?:\\?["'])?(?:(?:bearer|basic|token|apikey|sso-key)\s+)?([^\s"'\\]+))re"},
    {"authorization", R"re(\bBearer\s+([A-Za-z0-9._~+/\-]{16,}=*))re"},
    // key=value, key: value, "key": "value", 'key' => 'value', escaped JSON inside a
    // string. Unquoted values run to whitespace, a quote, '&' or an angle bracket:
    // erring on redacting too much. A keyword right after '/' is skipped so that URL
    // user names such as https://x-access-token:TOKEN@host are left to url-password.
    {"password",
     R"re((?i)(?:^|[^/a-z0-9_.\-])[a-z0-9_.\-]*(?:password|passwd|passphrase|secret|api[_\-]?key|apikey|token|private[_\-]?key|credentials?)(?:\\?["'])?\s*(?:=>|:=|[:=])\s*(?:\\"((?:[^"\\]|\\[^"])*)\\"|"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"'&<>]+)))re"},
};

constexpr std::string_view kMarkerPrefix = "[redacted:";

std::string Marker(std::string_view name) {
  std::string m(kMarkerPrefix);
  m += name;
  m += ']';
  return m;
}

// True if `s` is exactly a marker. Markers are never redacted again, which is what makes
// Redact() idempotent for rules whose value pattern would also match a marker.
bool IsMarker(std::string_view s) {
  if (s.size() <= kMarkerPrefix.size() + 1 || s.substr(0, kMarkerPrefix.size()) != kMarkerPrefix ||
      s.back() != ']') {
    return false;
  }
  for (const char c : s.substr(kMarkerPrefix.size(), s.size() - kMarkerPrefix.size() - 1)) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

re2::RE2::Options RuleOptions() {
  re2::RE2::Options opts;
  opts.set_encoding(re2::RE2::Options::EncodingLatin1);
  opts.set_log_errors(false);
  return opts;
}

struct Span {
  size_t begin;
  size_t end;
  size_t rule;
};

}  // namespace

struct Redactor::Rules {
  struct Rule {
    std::string marker;
    std::unique_ptr<re2::RE2> re;
  };
  std::vector<Rule> rules;
  std::unique_ptr<re2::RE2::Set> set;
};

core::Result<Redactor> Redactor::Create(std::vector<std::string> extra_patterns) {
  auto rules = std::make_shared<Rules>();
  re2::RE2::Options set_opts = RuleOptions();
  set_opts.set_max_mem(int64_t{64} << 20);
  rules->set = std::make_unique<re2::RE2::Set>(set_opts, re2::RE2::UNANCHORED);
  auto add = [&](std::string marker, const std::string& pattern,
                 bool builtin) -> core::Status {
    auto re = std::make_unique<re2::RE2>(pattern, RuleOptions());
    if (!re->ok()) {
      return core::Fail(core::InvalidArgument("redaction pattern \"" + pattern +
                                              "\" does not compile: " + re->error()));
    }
    if (!builtin && re2::RE2::FullMatch("", *re)) {
      return core::Fail(core::InvalidArgument("redaction pattern \"" + pattern +
                                              "\" matches the empty string"));
    }
    std::string error;
    if (rules->set->Add(pattern, &error) < 0) {
      return core::Fail(core::InvalidArgument("redaction pattern \"" + pattern +
                                              "\" cannot be combined: " + error));
    }
    rules->rules.push_back({std::move(marker), std::move(re)});
    return core::Ok();
  };
  for (const BuiltinRule& r : kBuiltinRules) {
    auto s = add(Marker(r.name), r.pattern, true);
    if (!s) {
      return core::Fail(core::Internal("built-in " + s.error().message));
    }
  }
  for (const std::string& p : extra_patterns) {
    OPSGATE_RETURN_IF_ERROR(add(Marker("custom"), p, false));
  }
  if (!rules->set->Compile()) {
    return core::Fail(core::ResourceExhausted("redaction patterns are too large to combine"));
  }
  return Redactor(std::move(rules));
}

std::vector<std::string> Redactor::BuiltinRuleNames() {
  std::vector<std::string> names;
  for (const BuiltinRule& r : kBuiltinRules) {
    if (std::find(names.begin(), names.end(), r.name) == names.end()) {
      names.emplace_back(r.name);
    }
  }
  return names;
}

bool Redactor::ContainsSecret(std::string_view text) const { return RedactOnce(text) != text; }

std::string Redactor::RedactOnce(std::string_view text) const {
  const re2::StringPiece piece(text.data(), text.size());
  std::vector<int> hits;
  re2::RE2::Set::ErrorInfo info{};
  if (!rules_->set->Match(piece, &hits, &info)) {
    if (info.kind == re2::RE2::Set::kNoError) {
      return std::string(text);
    }
    hits.clear();
    for (size_t i = 0; i < rules_->rules.size(); ++i) {
      hits.push_back(static_cast<int>(i));
    }
  }
  std::sort(hits.begin(), hits.end());

  std::vector<Span> spans;
  std::vector<re2::StringPiece> groups;
  for (const int index : hits) {
    const auto& rule = rules_->rules[static_cast<size_t>(index)];
    const int ngroups = rule.re->NumberOfCapturingGroups();
    groups.assign(static_cast<size_t>(ngroups) + 1, re2::StringPiece());
    size_t pos = 0;
    while (pos <= text.size() &&
           rule.re->Match(piece, pos, text.size(), re2::RE2::UNANCHORED, groups.data(),
                          ngroups + 1)) {
      const size_t match_end = static_cast<size_t>(groups[0].data() - text.data()) +
                               groups[0].size();
      re2::StringPiece secret = groups[0];
      if (ngroups > 0) {
        secret = re2::StringPiece();
        for (int g = 1; g <= ngroups; ++g) {
          if (groups[static_cast<size_t>(g)].data() != nullptr &&
              !groups[static_cast<size_t>(g)].empty()) {
            secret = groups[static_cast<size_t>(g)];
            break;
          }
        }
      }
      if (!secret.empty() && !IsMarker(std::string_view(secret.data(), secret.size()))) {
        const size_t begin = static_cast<size_t>(secret.data() - text.data());
        spans.push_back({begin, begin + secret.size(), static_cast<size_t>(index)});
      }
      pos = match_end > pos ? match_end : pos + 1;
    }
  }
  if (spans.empty()) {
    return std::string(text);
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    if (a.begin != b.begin) {
      return a.begin < b.begin;
    }
    return a.rule < b.rule;
  });
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;
  for (size_t i = 0; i < spans.size();) {
    // Merge every span that overlaps this one into a single marker.
    size_t end = spans[i].end;
    size_t j = i + 1;
    while (j < spans.size() && spans[j].begin < end) {
      end = std::max(end, spans[j].end);
      ++j;
    }
    out.append(text.substr(copied, spans[i].begin - copied));
    out += rules_->rules[spans[i].rule].marker;
    copied = end;
    i = j;
  }
  out.append(text.substr(copied));
  return out;
}

std::string Redactor::Redact(std::string_view text) const {
  std::string out = RedactOnce(text);
  // A replacement can, rarely, complete a new match with its neighbours (for example a
  // marker that ends up inside a keyword=value pair); a few more passes reach a fixed
  // point, which makes Redact idempotent.
  for (int pass = 0; pass < 3; ++pass) {
    std::string again = RedactOnce(out);
    if (again == out) {
      break;
    }
    out = std::move(again);
  }
  return out;
}

}  // namespace opsgate::redact
