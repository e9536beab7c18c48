#include "opsgate/policy/policy.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <sstream>
#include <unordered_set>
#include <utility>

#include "opsgate/config/internal/files.h"
#include "opsgate/core/strings.h"

namespace opsgate::policy {
namespace {

char Fold(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string FoldAll(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = Fold(c);
  }
  return out;
}

// Iterative glob: on a mismatch after a '*', retry one character further. Never
// recurses; O(|p| * |s|) at worst. `p` is already folded when `ci`.
bool GlobMatch(std::string_view p, std::string_view s, bool ci) {
  size_t pi = 0;
  size_t si = 0;
  size_t star = std::string_view::npos;
  size_t mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < p.size() && (p[pi] == '?' || p[pi] == (ci ? Fold(s[si]) : s[si]))) {
      ++pi;
      ++si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') {
    ++pi;
  }
  return pi == p.size();
}

bool EqualAt(std::string_view literal, std::string_view s, size_t at, bool ci) {
  if (!ci) {
    return s.compare(at, literal.size(), literal) == 0;
  }
  for (size_t i = 0; i < literal.size(); ++i) {
    if (Fold(s[at + i]) != literal[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

Pattern::Pattern(std::string text, bool case_insensitive)
    : text_(std::move(text)), case_insensitive_(case_insensitive) {
  const std::string folded = case_insensitive_ ? FoldAll(text_) : text_;
  const size_t wild = folded.find_first_of("*?");
  if (wild == std::string::npos) {
    kind_ = Kind::kExact;
    literal_ = folded;
  } else if (folded == "*") {
    kind_ = Kind::kAny;
  } else if (wild == folded.size() - 1 && folded.back() == '*') {
    kind_ = Kind::kPrefix;
    literal_ = folded.substr(0, wild);
  } else if (folded.front() == '*' && folded.find_first_of("*?", 1) == std::string::npos) {
    kind_ = Kind::kSuffix;
    literal_ = folded.substr(1);
  } else {
    kind_ = Kind::kGlob;
    literal_ = folded;
    head_ = wild;
  }
}

bool Pattern::Matches(std::string_view s) const {
  switch (kind_) {
    case Kind::kAny:
      return true;
    case Kind::kExact:
      return s.size() == literal_.size() && EqualAt(literal_, s, 0, case_insensitive_);
    case Kind::kPrefix:
      return s.size() >= literal_.size() && EqualAt(literal_, s, 0, case_insensitive_);
    case Kind::kSuffix:
      return s.size() >= literal_.size() &&
             EqualAt(literal_, s, s.size() - literal_.size(), case_insensitive_);
    case Kind::kGlob:
      // Most candidates differ in their fixed head ("arn:aws:s3:::" vs "arn:aws:ec2:").
      return s.size() >= head_ &&
             EqualAt(std::string_view(literal_).substr(0, head_), s, 0, case_insensitive_) &&
             GlobMatch(std::string_view(literal_).substr(head_), s.substr(head_),
                       case_insensitive_);
  }
  return false;
}

ActionPattern ActionPattern::Make(std::string text) {
  ActionPattern a;
  const size_t colon = text.find(':');
  if (colon == std::string::npos) {
    a.service = Pattern("*");
    a.operation = Pattern("*");
  } else {
    a.service = Pattern(text.substr(0, colon), true);
    a.operation = Pattern(text.substr(colon + 1), true);
  }
  a.text = std::move(text);
  return a;
}

std::string Diagnostic::ToString() const {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) {
      out += ':' + std::to_string(column);
    }
  }
  out += ": ";
  if (!path.empty()) {
    out += path + ": ";
  }
  out += message;
  return out;
}

// ---------------------------------------------------------------------------------------
// YAML: a small positioned tree from yaml-cpp's event parser (aliases and duplicate
// keys stay visible; exceptions are caught here).
namespace {

constexpr int kMaxDepth = 16;
constexpr size_t kMaxDiagnostics = 100;

struct Node {
  enum class Kind { kNull, kScalar, kSequence, kMap, kRefused };
  Kind kind = Kind::kNull;
  int line = 0;
  int column = 0;
  std::string scalar;
  std::vector<Node> items;
  std::vector<std::pair<Node, Node>> entries;
};

class Diags {
 public:
  explicit Diags(std::string file) : file_(std::move(file)) {}
  void Error(int line, int column, std::string path, std::string message) {
    if (list_.size() < kMaxDiagnostics) {
      list_.push_back(Diagnostic{file_, line, column, std::move(path), std::move(message)});
    }
    has_errors_ = true;
  }
  void Error(const Node& at, std::string path, std::string message) {
    Error(at.line, at.column, std::move(path), std::move(message));
  }
  bool has_errors() const { return has_errors_; }
  std::vector<Diagnostic> Take() {
    std::stable_sort(list_.begin(), list_.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    return std::move(list_);
  }

 private:
  std::string file_;
  std::vector<Diagnostic> list_;
  bool has_errors_ = false;
};

std::string Printable(std::string_view s, size_t max_chars = 60) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string Describe(const Node& n) {
  switch (n.kind) {
    case Node::Kind::kNull:
      return "nothing";
    case Node::Kind::kSequence:
      return "a list";
    case Node::Kind::kMap:
      return "a mapping";
    case Node::Kind::kRefused:
      return "a refused value";
    case Node::Kind::kScalar:
      break;
  }
  return "'" + Printable(n.scalar) + "'";
}

class TreeBuilder final : public YAML::EventHandler {
 public:
  explicit TreeBuilder(Diags& diags) : diags_(diags) {}
  std::optional<Node> TakeRoot() { return std::move(root_); }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > 1 && documents_ == 2) {
      diags_.Error(mark.line + 1, mark.column + 1, "",
                   "only one YAML document is allowed (remove the '---' separator)");
    }
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override {
    Add(Leaf(Node::Kind::kNull, mark));
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    if (!Ignoring()) {
      diags_.Error(mark.line + 1, mark.column + 1, "",
                   "aliases are not supported in policy files (write the value out)");
    }
    Add(Leaf(Node::Kind::kRefused, mark));
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string& value) override {
    Node n = Leaf(Node::Kind::kScalar, mark);
    n.scalar = value;
    Add(std::move(n));
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Open(Leaf(Node::Kind::kSequence, mark));
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Open(Leaf(Node::Kind::kMap, mark));
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    Node node;
    bool awaiting_value = false;
  };
  static Node Leaf(Node::Kind kind, const YAML::Mark& mark) {
    Node n;
    n.kind = kind;
    if (!mark.is_null()) {
      n.line = mark.line + 1;
      n.column = mark.column + 1;
    }
    return n;
  }
  bool Ignoring() const { return documents_ > 1 || skipped_ > 0; }
  void Open(Node n) {
    if (Ignoring()) {
      skipped_ += documents_ > 1 ? 0 : 1;
      return;
    }
    if (static_cast<int>(stack_.size()) >= kMaxDepth) {
      diags_.Error(n, "", "nesting is deeper than " + std::to_string(kMaxDepth) + " levels");
      skipped_ = 1;
      return;
    }
    stack_.push_back(Frame{std::move(n)});
  }
  void Close() {
    if (skipped_ > 0) {
      if (--skipped_ == 0) {
        Node refused;
        refused.kind = Node::Kind::kRefused;
        Add(std::move(refused));
      }
      return;
    }
    if (Ignoring() || stack_.empty()) {
      return;
    }
    Node done = std::move(stack_.back().node);
    stack_.pop_back();
    Add(std::move(done));
  }
  void Add(Node n) {
    if (Ignoring()) {
      return;
    }
    if (stack_.empty()) {
      root_ = std::move(n);
      return;
    }
    Frame& top = stack_.back();
    if (top.node.kind == Node::Kind::kSequence) {
      top.node.items.push_back(std::move(n));
    } else if (top.awaiting_value) {
      top.node.entries.back().second = std::move(n);
      top.awaiting_value = false;
    } else {
      top.node.entries.emplace_back(std::move(n), Node{});
      top.awaiting_value = true;
    }
  }

  Diags& diags_;
  std::vector<Frame> stack_;
  std::optional<Node> root_;
  int documents_ = 0;
  int skipped_ = 0;
};

// A cheap, conservative bound on nesting before yaml-cpp (which recurses per level)
// sees the text: flow brackets and compact "- " entries per line, and indentation.
bool LooksTooDeep(std::string_view text, int* line_out) {
  int flow = 0;
  int line = 1;
  size_t col = 0;
  int dashes = 0;
  bool leading = true;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      col = 0;
      dashes = 0;
      leading = true;
      continue;
    }
    ++col;
    if (leading && c != ' ' && c != '-') {
      leading = false;
    }
    if (leading && col > 256) {
      *line_out = line;
      return true;
    }
    if (leading && c == '-' && ++dashes > 16) {
      *line_out = line;
      return true;
    }
    if (c == '[' || c == '{') {
      if (++flow > 32) {
        *line_out = line;
        return true;
      }
    } else if ((c == ']' || c == '}') && flow > 0) {
      --flow;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Schema.

std::string Join(std::string_view parent, std::string_view key) {
  if (parent.empty()) {
    return std::string(key);
  }
  return std::string(parent) + "." + std::string(key);
}

std::string Index(std::string_view parent, size_t i) {
  return std::string(parent) + "[" + std::to_string(i) + "]";
}

class Parser {
 public:
  explicit Parser(Diags& diags) : d_(diags) {}

  // The entries of a mapping by key, after reporting duplicates and unknown keys.
  // Returns false (reported) when `n` is not a mapping.
  class Map {
   public:
    const Node* Get(std::string_view key) const {
      for (const auto& [k, v] : node_->entries) {
        if (k.kind == Node::Kind::kScalar && k.scalar == key) {
          return v.kind == Node::Kind::kRefused ? nullptr : &v;
        }
      }
      return nullptr;
    }
    const Node* node_ = nullptr;
  };

  bool ReadMap(const Node& n, const std::string& path, const std::vector<std::string>& known,
               Map* out) {
    if (n.kind != Node::Kind::kMap) {
      d_.Error(n, path, "expected a mapping (got " + Describe(n) + ")");
      return false;
    }
    out->node_ = &n;
    std::unordered_set<std::string> seen;
    for (const auto& [k, v] : n.entries) {
      if (k.kind != Node::Kind::kScalar) {
        d_.Error(k, path, "keys must be plain strings (got " + Describe(k) + ")");
        continue;
      }
      if (!seen.insert(k.scalar).second) {
        d_.Error(k, Join(path, Printable(k.scalar)), "duplicate key");
        continue;
      }
      if (std::find(known.begin(), known.end(), k.scalar) == known.end()) {
        std::string msg = "unknown key";
        if (auto near = core::ClosestMatch(k.scalar, known)) {
          msg += " (did you mean '" + *near + "'?)";
        } else {
          msg += " (expected one of:";
          for (const auto& name : known) {
            msg += " " + name;
          }
          msg += ")";
        }
        d_.Error(k, Join(path, Printable(k.scalar)), std::move(msg));
      }
    }
    return true;
  }

  std::optional<std::string> ReadString(const Node& n, const std::string& path) {
    if (n.kind != Node::Kind::kScalar || n.scalar.empty()) {
      d_.Error(n, path, "expected a non-empty string (got " + Describe(n) + ")");
      return std::nullopt;
    }
    for (char c : n.scalar) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) {
        d_.Error(n, path, "control characters are not allowed");
        return std::nullopt;
      }
    }
    return n.scalar;
  }

  // A list of scalars, each checked by `check` (returns an error message or "").
  template <class Check>
  std::vector<std::string> ReadStringList(const Node& n, const std::string& path, bool non_empty,
                                          const Check& check) {
    std::vector<std::string> out;
    if (n.kind != Node::Kind::kSequence) {
      d_.Error(n, path, "expected a list (got " + Describe(n) + ")");
      return out;
    }
    if (non_empty && n.items.empty()) {
      d_.Error(n, path, "must not be empty");
    }
    for (size_t i = 0; i < n.items.size(); ++i) {
      const std::string item_path = Index(path, i);
      auto s = ReadString(n.items[i], item_path);
      if (!s) {
        continue;
      }
      std::string problem = check(*s);
      if (!problem.empty()) {
        d_.Error(n.items[i], item_path, std::move(problem));
        continue;
      }
      out.push_back(std::move(*s));
    }
    return out;
  }

  std::optional<bool> ReadBool(const Node& n, const std::string& path) {
    if (n.kind == Node::Kind::kScalar) {
      if (n.scalar == "true") {
        return true;
      }
      if (n.scalar == "false") {
        return false;
      }
    }
    d_.Error(n, path, "expected true or false (got " + Describe(n) + ")");
    return std::nullopt;
  }

  std::optional<uint64_t> ReadInteger(const Node& n, const std::string& path, uint64_t min,
                                      uint64_t max) {
    std::optional<uint64_t> v;
    if (n.kind == Node::Kind::kScalar) {
      v = core::ParseDigits(n.scalar);
    }
    if (!v || *v < min || *v > max) {
      d_.Error(n, path,
               "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                   " (got " + Describe(n) + ")");
      return std::nullopt;
    }
    return v;
  }

  // "30s", "15m", "1h", "7d" in [min, max].
  std::optional<std::chrono::seconds> ReadDuration(const Node& n, const std::string& path,
                                                   std::chrono::seconds min,
                                                   std::chrono::seconds max) {
    std::optional<std::chrono::seconds> out;
    if (n.kind == Node::Kind::kScalar && n.scalar.size() >= 2) {
      const char unit = n.scalar.back();
      const auto digits = core::ParseDigits(std::string_view(n.scalar).substr(0, n.scalar.size() - 1));
      int64_t mult = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
      if (digits && mult != 0 && *digits <= 1'000'000'000) {
        out = std::chrono::seconds(static_cast<int64_t>(*digits) * mult);
      }
    }
    if (!out || *out < min || *out > max) {
      d_.Error(n, path,
               "expected a duration from " + FormatSeconds(min) + " to " + FormatSeconds(max) +
                   " like 30s, 15m, 1h or 7d (got " + Describe(n) + ")");
      return std::nullopt;
    }
    return out;
  }

  static std::string FormatSeconds(std::chrono::seconds s) {
    const int64_t v = s.count();
    if (v % 86400 == 0) {
      return std::to_string(v / 86400) + "d";
    }
    if (v % 3600 == 0) {
      return std::to_string(v / 3600) + "h";
    }
    if (v % 60 == 0) {
      return std::to_string(v / 60) + "m";
    }
    return std::to_string(v) + "s";
  }

  Diags& d_;
};

bool IsWild(char c) { return c == '*' || c == '?'; }

std::string CheckActionPattern(const std::string& s) {
  if (s == "*") {
    return "";
  }
  const size_t colon = s.find(':');
  if (colon == std::string::npos) {
    return "expected service:Operation, e.g. ec2:StopInstances or ec2:Describe* (got '" +
           Printable(s) + "')";
  }
  const std::string_view service = std::string_view(s).substr(0, colon);
  const std::string_view op = std::string_view(s).substr(colon + 1);
  if (service.empty() || op.empty()) {
    return "both service and Operation must be present in service:Operation (got '" +
           Printable(s) + "')";
  }
  for (char c : service) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || IsWild(c))) {
      return "service may hold only letters, digits, '-', '*' and '?' (got '" + Printable(s) + "')";
    }
  }
  for (char c : op) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || IsWild(c))) {
      return "Operation may hold only letters, digits, '*' and '?' (got '" + Printable(s) + "')";
    }
  }
  return "";
}

bool IsResourceChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("-_.:/@=+,#|~").find(c) != std::string_view::npos || IsWild(c);
}

std::string CheckResourcePattern(const std::string& s) {
  for (char c : s) {
    if (!IsResourceChar(c)) {
      return "character '" + Printable(std::string(1, c)) +
             "' is not allowed in a resource (only letters, digits, -_.:/@=+,#|~ and the "
             "wildcards * and ?)";
    }
  }
  if (s.rfind("arn:", 0) == 0) {
    // arn:partition:service:region:account:resource
    if (std::count(s.begin(), s.end(), ':') < 5) {
      return "an ARN has six parts, arn:partition:service:region:account:resource (got '" +
             Printable(s) + "')";
    }
    if (s.back() == ':') {
      return "the resource part of the ARN is empty (got '" + Printable(s) + "')";
    }
  }
  return "";
}

std::string CheckName(const std::string& s) {
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("-_.@:|/+").find(c) !=
                                                             std::string_view::npos ||
          IsWild(c))) {
      return "character '" + Printable(std::string(1, c)) + "' is not allowed in a name";
    }
  }
  return "";
}

std::string CheckLiteral(const std::string& s) {
  for (char c : s) {
    if (IsWild(c)) {
      return "wildcards are not allowed here (list the exact values)";
    }
    if (c == ' ') {
      return "spaces are not allowed here";
    }
  }
  return "";
}

std::optional<int> ParseClock(std::string_view s, bool allow_24) {
  if (s.size() != 5 || s[2] != ':') {
    return std::nullopt;
  }
  const auto h = core::ParseDigits(s.substr(0, 2));
  const auto m = core::ParseDigits(s.substr(3, 2));
  if (!h || !m || *m > 59) {
    return std::nullopt;
  }
  if (*h == 24 && *m == 0 && allow_24) {
    return 1440;
  }
  if (*h > 23) {
    return std::nullopt;
  }
  return static_cast<int>(*h * 60 + *m);
}

const std::vector<std::string>& DayNames() {
  static const std::vector<std::string> kDays = {"mon", "tue", "wed", "thu",
                                                 "fri", "sat", "sun"};
  return kDays;
}

void ParseTimeWindow(Parser& p, const Node& n, const std::string& path,
                     std::vector<TimeWindow>* out) {
  Parser::Map m;
  if (!p.ReadMap(n, path, {"days", "hours"}, &m)) {
    return;
  }
  TimeWindow w;
  bool ok = true;
  if (const Node* days = m.Get("days")) {
    const auto names = p.ReadStringList(*days, Join(path, "days"), true, [](const std::string& s) {
      const auto& all = DayNames();
      if (std::find(all.begin(), all.end(), s) != all.end()) {
        return std::string();
      }
      std::string msg = "unknown day";
      if (auto near = core::ClosestMatch(s, all)) {
        msg += " (did you mean '" + *near + "'?)";
      } else {
        msg += " (use mon, tue, wed, thu, fri, sat, sun)";
      }
      return msg;
    });
    w.days = 0;
    for (const auto& name : names) {
      const auto& all = DayNames();
      w.days |= static_cast<uint8_t>(1u << (std::find(all.begin(), all.end(), name) - all.begin()));
    }
    ok = w.days != 0;
  }
  const Node* hours = m.Get("hours");
  if (hours == nullptr) {
    p.d_.Error(n, Join(path, "hours"), "missing (e.g. hours: \"09:00-17:00\", UTC)");
    return;
  }
  std::optional<int> start;
  std::optional<int> end;
  if (hours->kind == Node::Kind::kScalar && hours->scalar.size() == 11 && hours->scalar[5] == '-') {
    start = ParseClock(std::string_view(hours->scalar).substr(0, 5), false);
    end = ParseClock(std::string_view(hours->scalar).substr(6, 5), true);
  }
  if (!start || !end) {
    p.d_.Error(*hours, Join(path, "hours"),
               "expected HH:MM-HH:MM in UTC, e.g. \"09:00-17:00\" or \"22:00-06:00\" (got " +
                   Describe(*hours) + ")");
    return;
  }
  if (*start == *end) {
    p.d_.Error(*hours, Join(path, "hours"),
               "start and end are equal (use \"00:00-24:00\" for the whole day)");
    return;
  }
  w.start_minute = *start;
  w.end_minute = *end;
  if (ok) {
    out->push_back(w);
  }
}

std::optional<RateCap> ParseRateCap(Parser& p, const Node& n, const std::string& path) {
  Parser::Map m;
  if (!p.ReadMap(n, path, {"max", "window"}, &m)) {
    return std::nullopt;
  }
  const Node* max = m.Get("max");
  const Node* window = m.Get("window");
  if (max == nullptr || window == nullptr) {
    p.d_.Error(n, path, "needs both max and window (e.g. {max: 5, window: 1h})");
    return std::nullopt;
  }
  auto mv = p.ReadInteger(*max, Join(path, "max"), 1, 1'000'000);
  auto wv = p.ReadDuration(*window, Join(path, "window"), std::chrono::seconds(1),
                           std::chrono::hours(24 * 31));
  if (!mv || !wv) {
    return std::nullopt;
  }
  return RateCap{static_cast<uint32_t>(*mv), *wv};
}

void ParseConditions(Parser& p, const Node& n, const std::string& path, Effect effect,
                     Conditions* c) {
  Parser::Map m;
  if (!p.ReadMap(n, path,
                 {"platforms", "workspaces", "channels", "allow_dm", "time_windows", "mfa_max_age",
                  "approval", "rate_caps", "channel_posture"},
                 &m)) {
    return;
  }
  auto literal_list = [&](const char* key, std::vector<std::string>* out) {
    if (const Node* v = m.Get(key)) {
      *out = p.ReadStringList(*v, Join(path, key), true, CheckLiteral);
    }
  };
  literal_list("platforms", &c->platforms);
  literal_list("workspaces", &c->workspaces);
  literal_list("channels", &c->channels);
  if (const Node* v = m.Get("time_windows")) {
    const std::string wpath = Join(path, "time_windows");
    if (v->kind != Node::Kind::kSequence || v->items.empty()) {
      p.d_.Error(*v, wpath, "expected a non-empty list of {days, hours} (got " + Describe(*v) + ")");
    } else {
      for (size_t i = 0; i < v->items.size(); ++i) {
        ParseTimeWindow(p, v->items[i], Index(wpath, i), &c->time_windows);
      }
    }
  }
  // Conditions that only make sense when granting.
  auto allow_only = [&](const char* key) -> const Node* {
    const Node* v = m.Get(key);
    if (v != nullptr && effect == Effect::kDeny) {
      p.d_.Error(*v, Join(path, key),
                 "only allowed in allow statements (a deny applies whenever it matches)");
      return nullptr;
    }
    return v;
  };
  if (const Node* v = allow_only("allow_dm")) {
    if (auto b = p.ReadBool(*v, Join(path, "allow_dm"))) {
      c->allow_dm = *b;
    }
  }
  if (const Node* v = allow_only("mfa_max_age")) {
    c->mfa_max_age = p.ReadDuration(*v, Join(path, "mfa_max_age"), std::chrono::seconds(1),
                                    std::chrono::hours(24 * 7));
  }
  if (const Node* v = allow_only("approval")) {
    const std::string apath = Join(path, "approval");
    Parser::Map am;
    if (p.ReadMap(*v, apath, {"count", "approver_group", "requester_excluded"}, &am)) {
      Approval a;
      bool ok = true;
      if (const Node* cnt = am.Get("count")) {
        auto cv = p.ReadInteger(*cnt, Join(apath, "count"), 1, 10);
        ok &= cv.has_value();
        a.count = static_cast<uint32_t>(cv.value_or(1));
      }
      if (const Node* g = am.Get("approver_group")) {
        auto gv = p.ReadString(*g, Join(apath, "approver_group"));
        ok &= gv.has_value();
        a.approver_group = gv.value_or("");
      } else {
        p.d_.Error(*v, Join(apath, "approver_group"), "missing (the group approvers must be in)");
        ok = false;
      }
      if (const Node* rx = am.Get("requester_excluded")) {
        auto rv = p.ReadBool(*rx, Join(apath, "requester_excluded"));
        ok &= rv.has_value();
        a.requester_excluded = rv.value_or(true);
      }
      if (ok) {
        c->approval = a;
      }
    }
  }
  if (const Node* v = allow_only("channel_posture")) {
    const std::string cpath = Join(path, "channel_posture");
    if (v->kind == Node::Kind::kScalar && v->scalar == "internal") {
      c->channel_posture = ChannelPosture::kInternal;
    } else {
      std::string msg = "unknown channel posture " + Describe(*v);
      std::optional<std::string> near;
      // "external" is two edits from "internal" but means the opposite: no did-you-mean.
      if (v->kind == Node::Kind::kScalar && v->scalar != "external") {
        near = core::ClosestMatch(v->scalar, {"internal"});
      }
      if (near) {
        msg += " (did you mean '" + *near + "'?)";
      } else {
        msg += " (the only posture is 'internal': no external or guest members; leave "
               "channel_posture out to allow any channel)";
      }
      p.d_.Error(*v, cpath, std::move(msg));
    }
  }
  if (const Node* v = allow_only("rate_caps")) {
    const std::string rpath = Join(path, "rate_caps");
    Parser::Map rm;
    if (p.ReadMap(*v, rpath, {"per_principal", "total"}, &rm)) {
      const Node* pp = rm.Get("per_principal");
      const Node* total = rm.Get("total");
      if (pp == nullptr && total == nullptr) {
        p.d_.Error(*v, rpath, "needs per_principal, total or both");
      }
      if (pp != nullptr) {
        c->per_principal = ParseRateCap(p, *pp, Join(rpath, "per_principal"));
      }
      if (total != nullptr) {
        c->total = ParseRateCap(p, *total, Join(rpath, "total"));
      }
    }
  }
}

std::optional<Statement> ParseStatement(Parser& p, const Node& n, const std::string& path) {
  Parser::Map m;
  if (!p.ReadMap(n, path,
                 {"id", "description", "effect", "principals", "actions", "resources",
                  "conditions", "session_duration"},
                 &m)) {
    return std::nullopt;
  }
  if (n.entries.empty()) {
    p.d_.Error(n, path, "empty statement (needs id, effect, principals, actions, resources)");
    return std::nullopt;
  }
  Statement s;
  for (const char* key : {"id", "effect", "principals", "actions", "resources"}) {
    if (m.Get(key) == nullptr) {
      p.d_.Error(n, Join(path, key), "missing (every statement needs it)");
    }
  }
  if (const Node* v = m.Get("id")) {
    if (auto id = p.ReadString(*v, Join(path, "id"))) {
      bool ok = id->size() <= 128 && std::isalnum(static_cast<unsigned char>((*id)[0]));
      for (char c : *id) {
        ok &= std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      }
      if (!ok) {
        p.d_.Error(*v, Join(path, "id"),
                   "ids start with a letter or digit and hold only letters, digits, '-', '_' and "
                   "'.' (at most 128)");
      } else if (*id == "default-deny") {
        p.d_.Error(*v, Join(path, "id"), "'default-deny' is reserved for the implicit deny");
      } else {
        s.id = *id;
      }
    }
  }
  if (const Node* v = m.Get("description")) {
    if (auto d = p.ReadString(*v, Join(path, "description"))) {
      s.description = *d;
    }
  }
  if (const Node* v = m.Get("effect")) {
    if (v->kind == Node::Kind::kScalar && v->scalar == "allow") {
      s.effect = Effect::kAllow;
    } else if (v->kind == Node::Kind::kScalar && v->scalar == "deny") {
      s.effect = Effect::kDeny;
    } else {
      std::string msg = "unknown effect " + Describe(*v);
      if (v->kind == Node::Kind::kScalar) {
        if (auto near = core::ClosestMatch(v->scalar, {"allow", "deny"})) {
          msg += " (did you mean '" + *near + "'?)";
        } else {
          msg += " (expected allow or deny)";
        }
      } else {
        msg += " (expected allow or deny)";
      }
      p.d_.Error(*v, Join(path, "effect"), std::move(msg));
    }
  }
  if (const Node* v = m.Get("principals")) {
    const std::string ppath = Join(path, "principals");
    Parser::Map pm;
    if (p.ReadMap(*v, ppath, {"users", "groups", "roles"}, &pm)) {
      auto read = [&](const char* key, std::vector<Pattern>* out) {
        if (const Node* list = pm.Get(key)) {
          for (auto& name : p.ReadStringList(*list, Join(ppath, key), true, CheckName)) {
            out->emplace_back(std::move(name));
          }
        }
      };
      read("users", &s.principals.users);
      read("groups", &s.principals.groups);
      read("roles", &s.principals.roles);
      if (pm.Get("users") == nullptr && pm.Get("groups") == nullptr && pm.Get("roles") == nullptr) {
        p.d_.Error(*v, ppath, "names nobody (needs users, groups or roles; users: ['*'] is anyone)");
      }
    }
  }
  if (const Node* v = m.Get("actions")) {
    for (auto& a : p.ReadStringList(*v, Join(path, "actions"), true, CheckActionPattern)) {
      s.actions.push_back(ActionPattern::Make(std::move(a)));
    }
  }
  if (const Node* v = m.Get("resources")) {
    for (auto& r : p.ReadStringList(*v, Join(path, "resources"), true, CheckResourcePattern)) {
      s.resources.emplace_back(std::move(r));
    }
  }
  if (const Node* v = m.Get("conditions")) {
    ParseConditions(p, *v, Join(path, "conditions"), s.effect, &s.conditions);
  }
  if (const Node* v = m.Get("session_duration")) {
    if (s.effect == Effect::kDeny) {
      p.d_.Error(*v, Join(path, "session_duration"), "only allowed in allow statements");
    } else {
      s.session_duration = p.ReadDuration(*v, Join(path, "session_duration"),
                                          std::chrono::minutes(1), std::chrono::hours(24));
    }
  }
  return s;
}

}  // namespace

ParseResult ParsePolicy(std::string_view yaml, std::string_view source_name) {
  Diags diags{std::string(source_name)};
  if (yaml.size() > kMaxPolicyBytes) {
    diags.Error(0, 0, "", "policy is larger than " + std::to_string(kMaxPolicyBytes) + " bytes");
    return tl::unexpected(diags.Take());
  }
  if (yaml.find('\0') != std::string_view::npos) {
    diags.Error(0, 0, "", "policy contains a NUL byte");
    return tl::unexpected(diags.Take());
  }
  int deep_line = 0;
  if (LooksTooDeep(yaml, &deep_line)) {
    diags.Error(deep_line, 0, "", "nesting is too deep for a policy file (flatten the structure)");
    return tl::unexpected(diags.Take());
  }
  std::optional<Node> root;
  try {
    std::istringstream in{std::string(yaml)};
    YAML::Parser parser(in);
    TreeBuilder builder(diags);
    // A second document is reported by the builder; nothing after it is read (looping
    // until HandleNextDocument() returns false can spin forever on some bad input).
    if (parser.HandleNextDocument(builder)) {
      parser.HandleNextDocument(builder);
    }
    root = builder.TakeRoot();
  } catch (const YAML::Exception& e) {
    diags.Error(e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1,
                "", "YAML syntax: " + e.msg);
    return tl::unexpected(diags.Take());
  } catch (const std::exception& e) {
    diags.Error(0, 0, "", std::string("YAML parser failed: ") + e.what());
    return tl::unexpected(diags.Take());
  }
  if (!root || root->kind == Node::Kind::kNull) {
    diags.Error(1, 1, "", "empty policy (needs statements:)");
    return tl::unexpected(diags.Take());
  }
  Parser p(diags);
  Parser::Map top;
  Policy policy;
  if (p.ReadMap(*root, "", {"version", "statements"}, &top)) {
    if (const Node* v = top.Get("version")) {
      p.ReadInteger(*v, "version", 1, 1);
    }
    const Node* list = top.Get("statements");
    if (list == nullptr) {
      diags.Error(*root, "statements", "missing (a policy is a list of statements)");
    } else if (list->kind != Node::Kind::kSequence || list->items.empty()) {
      diags.Error(*list, "statements",
                  "expected a non-empty list of statements (got " + Describe(*list) + ")");
    } else {
      std::vector<std::pair<std::string, std::string>> ids;  // id -> path of first use
      for (size_t i = 0; i < list->items.size(); ++i) {
        const std::string path = Index("statements", i);
        auto s = ParseStatement(p, list->items[i], path);
        if (!s) {
          continue;
        }
        if (!s->id.empty()) {
          auto it = std::find_if(ids.begin(), ids.end(),
                                 [&](const auto& e) { return e.first == s->id; });
          if (it != ids.end()) {
            Parser::Map m;
            m.node_ = &list->items[i];
            diags.Error(*m.Get("id"), path + ".id",
                        "duplicate id '" + s->id + "' (first used by " + it->second + ")");
          } else {
            ids.emplace_back(s->id, path);
          }
        }
        policy.statements.push_back(std::move(*s));
      }
    }
  }
  if (diags.has_errors()) {
    return tl::unexpected(diags.Take());
  }
  policy.Compile();
  return policy;
}

ParseResult LoadPolicyFile(const std::string& path) {
  auto text = config::internal::ReadFileAtMost(path, kMaxPolicyBytes);
  if (!text) {
    std::string why = config::internal::DescribeFileError(text.error(), kMaxPolicyBytes);
    if (text.error().problem == config::internal::FileProblem::kNotFound) {
      why += "; write one (docs/policy.md) or remove policy.file";
    }
    return tl::unexpected(std::vector<Diagnostic>{{path, 0, 0, "", std::move(why)}});
  }
  return ParsePolicy(*text, path);
}

}  // namespace opsgate::policy
