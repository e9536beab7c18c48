#include "opsgate/config/internal/yaml_tree.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <exception>
#include <sstream>

namespace opsgate::config::internal {
namespace {

constexpr std::string_view kAliasRefused =
    "aliases are not supported in opsgate config (write the value out)";

Position ToPosition(const YAML::Mark& mark) {
  if (mark.is_null()) {
    return {};
  }
  return {mark.line + 1, mark.column + 1};
}

std::string DepthMessage(int max_depth) {
  return "nesting is deeper than " + std::to_string(max_depth) + " levels (flatten the structure)";
}

// Builds the tree from parser events with an explicit stack, so building never
// recurses however the parser does.
class TreeBuilder final : public YAML::EventHandler {
 public:
  TreeBuilder(int max_depth, Diagnostics& diags) : max_depth_(max_depth), diags_(diags) {}

  std::optional<YamlNode> TakeRoot() { return std::move(root_); }
  int documents() const { return documents_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    ++documents_;
    if (documents_ > 1) {
      diags_.Error(ToPosition(mark), "",
                   "only one YAML document is allowed (remove the '---' separator)");
    }
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override {
    Add(Leaf(YamlNode::Kind::kNull, mark));
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    if (Ignoring()) {
      return;
    }
    diags_.Error(ToPosition(mark), CurrentPath(), std::string(kAliasRefused));
    Add(Leaf(YamlNode::Kind::kRefused, mark));  // keeps keys and values paired
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string& value) override {
    YamlNode node = Leaf(YamlNode::Kind::kScalar, mark);
    node.scalar = value;
    Add(std::move(node));
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Open(Leaf(YamlNode::Kind::kSequence, mark));
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Open(Leaf(YamlNode::Kind::kMap, mark));
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    YamlNode node;
    bool awaiting_value = false;  // kMap: the last entry has its key but not its value
  };

  static YamlNode Leaf(YamlNode::Kind kind, const YAML::Mark& mark) {
    YamlNode node;
    node.kind = kind;
    node.position = ToPosition(mark);
    return node;
  }

  // After the first document, and inside a collection that is too deep, events are
  // dropped: the config is refused anyway.
  bool Ignoring() const { return documents_ > 1 || skipped_levels_ > 0; }

  void Open(YamlNode node) {
    if (Ignoring()) {
      skipped_levels_ += documents_ > 1 ? 0 : 1;
      return;
    }
    if (static_cast<int>(stack_.size()) >= max_depth_) {
      if (!reported_depth_) {
        reported_depth_ = true;
        diags_.Error(node.position, CurrentPath(), DepthMessage(max_depth_));
      }
      skipped_levels_ = 1;
      return;
    }
    stack_.push_back(Frame{std::move(node)});
  }

  void Close() {
    if (skipped_levels_ > 0) {
      if (--skipped_levels_ == 0) {
        YamlNode refused;  // stands in for the dropped collection
        refused.kind = YamlNode::Kind::kRefused;
        Add(std::move(refused));
      }
      return;
    }
    if (Ignoring() || stack_.empty()) {
      return;
    }
    YamlNode done = std::move(stack_.back().node);
    stack_.pop_back();
    Add(std::move(done));
  }

  void Add(YamlNode node) {
    if (Ignoring()) {
      return;
    }
    if (stack_.empty()) {
      root_ = std::move(node);
      return;
    }
    Frame& top = stack_.back();
    if (top.node.kind == YamlNode::Kind::kSequence) {
      top.node.items.push_back(std::move(node));
    } else if (top.awaiting_value) {
      top.node.entries.back().value = std::move(node);
      top.awaiting_value = false;
    } else {
      top.node.entries.push_back(YamlEntry{std::move(node), YamlNode{}});
      top.awaiting_value = true;
    }
  }

  // The key path of the value being read: "server.tls" or "rules[2].name".
  std::string CurrentPath() const {
    std::string path;
    for (const Frame& frame : stack_) {
      if (frame.node.kind == YamlNode::Kind::kSequence) {
        path += '[' + std::to_string(frame.node.items.size()) + ']';
      } else if (frame.awaiting_value) {
        path = JoinKeyPath(path, Printable(frame.node.entries.back().key.scalar));
      }
    }
    return path;
  }

  const int max_depth_;
  Diagnostics& diags_;
  std::vector<Frame> stack_;
  std::optional<YamlNode> root_;
  int documents_ = 0;
  int skipped_levels_ = 0;
  bool reported_depth_ = false;
};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// End of the quoted scalar that opens at line[start] if it closes on this line.
size_t FindQuoteEnd(std::string_view line, size_t start) {
  const char quote = line[start];
  for (size_t j = start + 1; j < line.size(); ++j) {
    if (quote == '"' && line[j] == '\\') {
      ++j;
    } else if (line[j] == quote) {
      if (quote == '\'' && j + 1 < line.size() && line[j + 1] == '\'') {
        ++j;  // '' is an escaped quote
      } else {
        return j;
      }
    }
  }
  return std::string_view::npos;
}

// "|", ">", "|-", ">+2" ... optionally followed by a comment: a block scalar header.
bool IsBlockScalarHeader(std::string_view rest) {
  size_t i = 1;
  while (i < rest.size() &&
         (rest[i] == '+' || rest[i] == '-' || (rest[i] >= '0' && rest[i] <= '9'))) {
    ++i;
  }
  while (i < rest.size() && IsBlank(rest[i])) {
    ++i;
  }
  return i == rest.size() || (rest[i] == '#' && IsBlank(rest[i - 1]));
}

}  // namespace

std::string DescribeNode(const YamlNode& node) {
  switch (node.kind) {
    case YamlNode::Kind::kNull:
      return "nothing";
    case YamlNode::Kind::kSequence:
      return "a list";
    case YamlNode::Kind::kMap:
      return "a mapping";
    case YamlNode::Kind::kRefused:
      return "a refused value";
    case YamlNode::Kind::kScalar:
      break;
  }
  return "'" + Printable(node.scalar) + "'";
}

std::optional<Position> FindExcessiveNesting(std::string_view text, int max_depth) {
  // Quoted scalars are only recognised where a token starts and when they close on the
  // same line: anything unsure is scanned as plain text, which can only over-count.
  std::vector<size_t> indents;                          // open block indentation levels
  int flow = 0;                                         // open '[' and '{'
  bool token_start = true;                              // the next character may start a node
  size_t block_scalar_parent = std::string_view::npos;  // inside a block scalar under this
  size_t block_scalar_indent = std::string_view::npos;  // ... whose content has this indent
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    // Lines end at \n, \r\n or a lone \r (yaml-cpp accepts all three).
    const size_t eol = text.find_first_of("\r\n", pos);
    const std::string_view line =
        text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos                                           ? text.size()
          : (text[eol] == '\r' && eol + 1 < text.size() && text[eol + 1] == '\n') ? eol + 2
                                                                                  : eol + 1;
    ++line_no;

    size_t indent = 0;
    while (indent < line.size() && line[indent] == ' ') {
      ++indent;
    }
    size_t i = indent;
    while (i < line.size() && IsBlank(line[i])) {
      ++i;
    }
    const bool blank = i == line.size();
    if (block_scalar_parent != std::string_view::npos) {
      if (blank) {
        continue;
      }
      if (block_scalar_indent == std::string_view::npos && indent > block_scalar_parent) {
        block_scalar_indent = indent;
      }
      if (block_scalar_indent != std::string_view::npos && indent >= block_scalar_indent) {
        continue;
      }
      block_scalar_parent = block_scalar_indent = std::string_view::npos;
    }
    if (blank || line[i] == '#') {
      continue;
    }

    int compact = 0;  // "- - x" and "? x" open levels without new indentation
    const auto too_deep = [&] {
      return static_cast<int>(indents.size()) + compact + flow > max_depth;
    };
    if (flow == 0) {
      while (!indents.empty() && indents.back() > indent) {
        indents.pop_back();
      }
      if (indents.empty() || indents.back() < indent) {
        indents.push_back(indent);
      }
      token_start = true;
      if (line.substr(i).starts_with("---") && (i + 3 == line.size() || IsBlank(line[i + 3]))) {
        i += 3;
      }
      while (i < line.size() && (line[i] == '-' || line[i] == '?' || line[i] == ':') &&
             (i + 1 == line.size() || IsBlank(line[i + 1]))) {
        compact += line[i] == ':' ? 0 : 1;
        if (too_deep()) {
          return Position{line_no, static_cast<int>(i) + 1};
        }
        ++i;
        while (i < line.size() && IsBlank(line[i])) {
          ++i;
        }
      }
    }
    if (too_deep()) {
      return Position{line_no, static_cast<int>(i) + 1};
    }

    size_t no_close_from[2] = {std::string_view::npos, std::string_view::npos};
    for (; i < line.size(); ++i) {
      const char c = line[i];
      const bool next_blank = i + 1 == line.size() || IsBlank(line[i + 1]);
      if (IsBlank(c)) {
        continue;
      }
      if (c == '#' && (i == 0 || IsBlank(line[i - 1]))) {
        break;
      }
      if ((c == '"' || c == '\'') && token_start) {
        size_t& failed = no_close_from[c == '"' ? 0 : 1];
        const size_t end = i < failed ? FindQuoteEnd(line, i) : std::string_view::npos;
        if (end != std::string_view::npos) {
          i = end;
          token_start = false;
          continue;
        }
        failed = std::min(failed, i);
      }
      if (flow == 0 && token_start && (c == '|' || c == '>') &&
          IsBlockScalarHeader(line.substr(i))) {
        block_scalar_parent = indent;
        break;
      }
      if (flow == 0 && token_start && (c == '&' || c == '!')) {
        while (i + 1 < line.size() && !IsBlank(line[i + 1])) {
          ++i;  // an anchor or tag: the node itself comes next
        }
        continue;
      }
      if ((c == '[' || c == '{') && (flow > 0 || token_start)) {
        ++flow;
        token_start = true;
        if (too_deep()) {
          return Position{line_no, static_cast<int>(i) + 1};
        }
        continue;
      }
      if (flow > 0 && (c == ']' || c == '}')) {
        --flow;
        token_start = false;
      } else if (flow > 0 && c == ',') {
        token_start = true;
      } else {
        token_start = c == ':' && next_blank;
      }
    }
  }
  return std::nullopt;
}

std::optional<YamlNode> ParseYamlTree(std::string_view text, size_t max_bytes, int max_depth,
                                      Diagnostics& diags) {
  if (text.size() > max_bytes) {
    diags.Error({}, "",
                "the config is larger than " + std::to_string(max_bytes / 1024) + " KiB (got " +
                    std::to_string(text.size()) + " bytes)");
    return std::nullopt;
  }
  if (const auto at = FindExcessiveNesting(text, max_depth)) {
    diags.Error(*at, "", DepthMessage(max_depth));
    return std::nullopt;
  }
  std::istringstream in{std::string(text)};
  TreeBuilder builder(max_depth, diags);
  try {
    YAML::Parser parser(in);
    // A second document is reported by the builder; nothing after it is read.
    if (parser.HandleNextDocument(builder)) {
      parser.HandleNextDocument(builder);
    }
  } catch (const YAML::DeepRecursion& e) {
    diags.Error(ToPosition(e.mark), "", DepthMessage(max_depth));
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    diags.Error(ToPosition(e.mark), "", "invalid YAML: " + Printable(e.msg, 200));
    return std::nullopt;
  } catch (const std::exception& e) {
    diags.Error({}, "", "invalid YAML: " + Printable(e.what(), 200));
    return std::nullopt;
  }
  if (builder.documents() > 1) {
    return std::nullopt;
  }
  std::optional<YamlNode> root = builder.TakeRoot();
  if (!root) {
    return YamlNode{};  // an empty text (or only comments): every setting at its default
  }
  return root;
}

}  // namespace opsgate::config::internal
