#include "opsgate/policy/lint.h"

#include <cstddef>
#include <utility>

namespace opsgate::policy {
namespace {

char Fold(char c, bool ci) {
  return (ci && c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Splits "service:Operation" ("*" alone is "*:*").
std::pair<std::string_view, std::string_view> SplitAction(std::string_view a) {
  const size_t colon = a.find(':');
  if (colon == std::string_view::npos) {
    return {"*", "*"};
  }
  return {a.substr(0, colon), a.substr(colon + 1)};
}

// True when every string `specific` matches is also matched by `general`, as far as this
// simple check can tell: "*", the same text, or "prefix*" (no other wildcard) with
// `specific` starting with that prefix.
bool Covers(std::string_view general, std::string_view specific, bool ci) {
  if (general == "*") {
    return true;
  }
  auto equal = [&](std::string_view x, std::string_view y) {
    if (x.size() != y.size()) {
      return false;
    }
    for (size_t i = 0; i < x.size(); ++i) {
      if (Fold(x[i], ci) != Fold(y[i], ci)) {
        return false;
      }
    }
    return true;
  };
  if (equal(general, specific)) {
    return true;
  }
  const size_t wild = general.find_first_of("*?");
  if (wild == general.size() - 1 && general.back() == '*') {
    const std::string_view prefix = general.substr(0, wild);
    return specific.size() >= prefix.size() && equal(prefix, specific.substr(0, prefix.size())) &&
           prefix.find_first_of("*?") == std::string_view::npos &&
           specific.substr(0, prefix.size()).find_first_of("*?") == std::string_view::npos;
  }
  return false;
}

bool ActionCovers(std::string_view general, std::string_view specific) {
  auto [gs, go] = SplitAction(general);
  auto [ss, so] = SplitAction(specific);
  return Covers(gs, ss, true) && Covers(go, so, true);
}

bool IsAllActions(const ActionPattern& a) {
  auto [s, o] = SplitAction(a.text);
  return s == "*" && o == "*";
}

bool HasConditions(const Conditions& c) {
  return !c.platforms.empty() || !c.workspaces.empty() || !c.channels.empty() ||
         !c.time_windows.empty();
}

// Every pattern in `specific` is covered by one in `general`.
template <class Cover>
bool AllCovered(const std::vector<std::string>& general, const std::vector<std::string>& specific,
                const Cover& covers) {
  for (const auto& s : specific) {
    bool covered = false;
    for (const auto& g : general) {
      covered = covered || covers(g, s);
    }
    if (!covered) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> Texts(const std::vector<Pattern>& patterns) {
  std::vector<std::string> out;
  out.reserve(patterns.size());
  for (const auto& p : patterns) {
    out.push_back(p.text());
  }
  return out;
}

// Every principal the allow names is also named by the deny.
bool PrincipalsCovered(const Principals& deny, const Principals& allow) {
  auto plain = [](const std::string& g, const std::string& s) { return Covers(g, s, false); };
  for (const auto& u : deny.users) {
    if (u.text() == "*") {
      return true;  // every principal has a user name
    }
  }
  return AllCovered(Texts(deny.users), Texts(allow.users), plain) &&
         AllCovered(Texts(deny.groups), Texts(allow.groups), plain) &&
         AllCovered(Texts(deny.roles), Texts(allow.roles), plain);
}

bool Shadows(const Statement& deny, const Statement& allow) {
  if (HasConditions(deny.conditions) || !PrincipalsCovered(deny.principals, allow.principals)) {
    return false;
  }
  std::vector<std::string> deny_actions;
  std::vector<std::string> allow_actions;
  for (const auto& a : deny.actions) {
    deny_actions.push_back(a.text);
  }
  for (const auto& a : allow.actions) {
    allow_actions.push_back(a.text);
  }
  return AllCovered(deny_actions, allow_actions,
                    [](const std::string& g, const std::string& s) { return ActionCovers(g, s); }) &&
         AllCovered(Texts(deny.resources), Texts(allow.resources),
                    [](const std::string& g, const std::string& s) { return Covers(g, s, false); });
}

void Add(std::vector<Finding>* out, const Statement& s, std::string rule, std::string message) {
  out->push_back(Finding{s.id, Finding::Severity::kWarning, std::move(rule), std::move(message)});
}

}  // namespace

bool PatternsOverlap(std::string_view a, std::string_view b, bool ci) {
  // Product of the two patterns' automata: state (i, j) means a[0, i) and b[0, j) have
  // consumed the same text. Reachability over (|a|+1) * (|b|+1) states.
  const size_t w = b.size() + 1;
  std::vector<char> seen((a.size() + 1) * w, 0);
  std::vector<std::pair<size_t, size_t>> todo;
  auto push = [&](size_t i, size_t j) {
    if (!seen[i * w + j]) {
      seen[i * w + j] = 1;
      todo.emplace_back(i, j);
    }
  };
  push(0, 0);
  while (!todo.empty()) {
    auto [i, j] = todo.back();
    todo.pop_back();
    if (i == a.size() && j == b.size()) {
      return true;
    }
    const bool a_star = i < a.size() && a[i] == '*';
    const bool b_star = j < b.size() && b[j] == '*';
    if (a_star) {
      push(i + 1, j);  // '*' matches nothing
    }
    if (b_star) {
      push(i, j + 1);
    }
    // One character consumed by both sides.
    const bool a_char = i < a.size();
    const bool b_char = j < b.size();
    if (!a_char || !b_char) {
      continue;
    }
    const bool a_any = a_star || a[i] == '?';
    const bool b_any = b_star || b[j] == '?';
    if (a_any || b_any || Fold(a[i], ci) == Fold(b[j], ci)) {
      push(a_star ? i : i + 1, b_star ? j : j + 1);
    }
  }
  return false;
}

bool ActionPatternsOverlap(std::string_view a, std::string_view b) {
  auto [as, ao] = SplitAction(a);
  auto [bs, bo] = SplitAction(b);
  return PatternsOverlap(as, bs, true) && PatternsOverlap(ao, bo, true);
}

std::vector<Finding> Lint(const Policy& policy) {
  std::vector<Finding> out;
  for (const auto& s : policy.statements) {
    if (s.effect != Effect::kAllow) {
      continue;
    }
    const Conditions& c = s.conditions;

    bool all_resources = false;
    for (const auto& r : s.resources) {
      all_resources = all_resources || r.text() == "*";
    }
    for (const auto& a : s.actions) {
      if (IsAllActions(a) && all_resources) {
        Add(&out, s, "star-on-star",
            "allows every action ('" + a.text +
                "') on every resource ('*'): anyone it names can do anything opsgate can do; "
                "list the actions and resources they need");
        break;
      }
    }

    if (!c.mfa_max_age && !c.approval) {
      std::string hits;
      for (const auto& a : s.actions) {
        for (std::string_view d : kDestructiveActions) {
          if (ActionPatternsOverlap(a.text, d)) {
            hits += (hits.empty() ? "" : ", ") + ("'" + a.text + "' could match " + std::string(d));
            break;
          }
        }
      }
      if (!hits.empty()) {
        Add(&out, s, "destructive",
            "allows destructive actions without MFA or approval (" + hits +
                "); add conditions.mfa_max_age and/or conditions.approval, or narrow the "
                "actions");
      }
    }

    std::vector<std::string> nobody;
    if (s.principals.users.empty() && s.principals.groups.empty() &&
        s.principals.roles.empty()) {
      nobody.emplace_back("it names no users, groups or roles");
    }
    if (!c.time_windows.empty()) {
      bool ever = false;
      for (const auto& tw : c.time_windows) {
        ever = ever || (tw.days != 0 && tw.start_minute != tw.end_minute);
      }
      if (!ever) {
        nobody.emplace_back("none of its time_windows ever holds");
      }
    }
    if (!nobody.empty()) {
      std::string why;
      for (const auto& n : nobody) {
        why += (why.empty() ? "" : "; ") + n;
      }
      Add(&out, s, "unreachable",
          "no request can match this allow (" + why + "); fix the statement or remove it");
    }

    for (const auto& d : policy.statements) {
      if (d.effect == Effect::kDeny && Shadows(d, s)) {
        Add(&out, s, "shadowed",
            "never allows anything: deny statement '" + d.id +
                "' (no conditions) covers all its principals, actions and resources, and a "
                "deny beats any allow; narrow the deny or remove this allow");
        break;
      }
    }
  }
  return out;
}

}  // namespace opsgate::policy
