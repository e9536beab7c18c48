#include "opsgate/config/internal/map_reader.h"

#include <algorithm>

#include "opsgate/core/strings.h"

namespace opsgate::config::internal {
namespace {

using std::chrono::milliseconds;

// Keys longer than this get no did-you-mean: edit distance is quadratic.
constexpr size_t kMaxSuggestKeyLength = 64;

// The scalar text of `node`, or "expected <what> (got <node>)".
ParseResult<std::string_view> ScalarOf(const YamlNode& node, std::string_view what) {
  if (node.kind != YamlNode::Kind::kScalar) {
    return tl::unexpected("expected " + std::string(what) + " (got " + DescribeNode(node) + ")");
  }
  return std::string_view(node.scalar);
}

std::string Got(const YamlNode& node) { return " (got " + DescribeNode(node) + ")"; }

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    out += (out.empty() ? "" : ", ") + name;
  }
  return out;
}

// Splits "64KiB" into 64 and "KiB"; nullopt without leading digits or on overflow.
std::optional<std::pair<uint64_t, std::string_view>> SplitNumber(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  const auto number = core::ParseDigits(text.substr(0, digits));
  if (!number) {
    return std::nullopt;
  }
  return std::pair(*number, text.substr(digits));
}

// Multiplies, or returns nullopt on overflow.
std::optional<uint64_t> Scale(uint64_t n, uint64_t factor) {
  if (factor != 0 && n > std::numeric_limits<uint64_t>::max() / factor) {
    return std::nullopt;
  }
  return n * factor;
}

}  // namespace

std::string FormatSize(uint64_t bytes) {
  if (bytes != 0 && bytes % kMiB == 0) {
    return std::to_string(bytes / kMiB) + "MiB";
  }
  if (bytes != 0 && bytes % kKiB == 0) {
    return std::to_string(bytes / kKiB) + "KiB";
  }
  return std::to_string(bytes);
}

std::string FormatDuration(milliseconds d) {
  const auto ms = d.count();
  for (const auto& [unit, name] :
       {std::pair<int64_t, const char*>{3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}}) {
    if (ms != 0 && ms % unit == 0) {
      return std::to_string(ms / unit) + name;
    }
  }
  return std::to_string(ms) + "ms";
}

ParseResult<bool> ParseBool(const YamlNode& node) {
  constexpr std::string_view kWhat = "true or false";
  const auto text = ScalarOf(node, kWhat);
  if (!text) {
    return tl::unexpected(text.error());
  }
  if (*text == "true" || *text == "True" || *text == "TRUE") {
    return true;
  }
  if (*text == "false" || *text == "False" || *text == "FALSE") {
    return false;
  }
  return tl::unexpected("expected true or false" + Got(node));
}

ParseResult<uint64_t> ParseInteger(const YamlNode& node, uint64_t min, uint64_t max) {
  const std::string range = std::to_string(min) + " to " + std::to_string(max);
  const auto text = ScalarOf(node, "an integer from " + range);
  if (!text) {
    return tl::unexpected(text.error());
  }
  const auto value = core::ParseDigits(*text);
  if (!value || *value < min || *value > max) {
    return tl::unexpected("expected an integer from " + range + Got(node));
  }
  return *value;
}

ParseResult<uint64_t> ParseSize(const YamlNode& node, uint64_t min, uint64_t max) {
  constexpr std::string_view kWhat = "a size like 65536, 64KiB or 1MiB";
  const auto text = ScalarOf(node, kWhat);
  if (!text) {
    return tl::unexpected(text.error());
  }
  const auto split = SplitNumber(*text);
  uint64_t factor = 0;
  if (split) {
    const std::string_view unit = split->second;
    factor = unit.empty() || unit == "B" ? 1 : unit == "KiB" ? kKiB : unit == "MiB" ? kMiB : 0;
  }
  if (factor == 0) {
    const bool decimal_unit = split && !split->second.empty() &&
                              (split->second.back() == 'B' || split->second.back() == 'b');
    return tl::unexpected("expected " + std::string(kWhat) + " (got '" + Printable(*text) +
                          (decimal_unit ? "'; the units are B, KiB and MiB)" : "')"));
  }
  const auto bytes = Scale(split->first, factor);
  if (!bytes || *bytes < min || *bytes > max) {
    return tl::unexpected("must be between " + FormatSize(min) + " and " + FormatSize(max) +
                          Got(node));
  }
  return *bytes;
}

ParseResult<milliseconds> ParseDuration(const YamlNode& node, milliseconds min, milliseconds max) {
  constexpr std::string_view kWhat = "a duration like 500ms, 10s, 2m or 1h";
  const auto text = ScalarOf(node, kWhat);
  if (!text) {
    return tl::unexpected(text.error());
  }
  const auto split = SplitNumber(*text);
  uint64_t factor = 0;
  if (split) {
    const std::string_view unit = split->second;
    factor = unit == "ms"                  ? 1
             : unit.empty() || unit == "s" ? 1'000
             : unit == "m"                 ? 60'000
             : unit == "h"                 ? 3'600'000
                                           : 0;
  }
  if (factor == 0) {
    return tl::unexpected("expected " + std::string(kWhat) + Got(node));
  }
  const auto ms = Scale(split->first, factor);
  const auto lo = static_cast<uint64_t>(min.count());
  const auto hi = static_cast<uint64_t>(max.count());
  if (!ms || *ms < lo || *ms > hi) {
    const std::string bound =
        min.count() == 0   ? "at most " + FormatDuration(max)
        : min.count() == 1 ? "greater than 0 and at most " + FormatDuration(max)
                           : "between " + FormatDuration(min) + " and " + FormatDuration(max);
    return tl::unexpected("must be " + bound + Got(node));
  }
  return milliseconds(static_cast<int64_t>(*ms));
}

ParseResult<std::string> ParseString(const YamlNode& node) {
  const auto text = ScalarOf(node, "a string");
  if (!text) {
    return tl::unexpected(text.error());
  }
  if (text->find('\0') != std::string_view::npos) {
    return tl::unexpected(std::string("must not contain NUL characters"));
  }
  return std::string(*text);
}

ParseResult<size_t> ParseChoice(const YamlNode& node, const std::vector<std::string>& names) {
  const std::string what = "one of " + JoinNames(names);
  const auto text = ScalarOf(node, what);
  if (!text) {
    return tl::unexpected(text.error());
  }
  for (size_t i = 0; i < names.size(); ++i) {
    if (*text == names[i]) {
      return i;
    }
  }
  std::string message = "expected " + what + " (got '" + Printable(*text) + "'";
  if (text->size() <= kMaxSuggestKeyLength) {
    if (const auto suggestion = core::ClosestMatch(*text, names)) {
      message += "; did you mean '" + *suggestion + "'?";
    }
  }
  return tl::unexpected(message + ")");
}

MapReader::MapReader(const YamlNode* node, std::string path, Position position, Diagnostics& diags)
    : path_(std::move(path)), position_(position), diags_(&diags) {
  if (node == nullptr || node->kind == YamlNode::Kind::kNull) {
    return;
  }
  if (node->kind == YamlNode::Kind::kRefused) {
    ok_ = false;
    return;
  }
  if (node->kind != YamlNode::Kind::kMap) {
    ok_ = false;
    diags_->Error(node->position, path_, "expected a mapping of keys" + Got(*node));
    return;
  }
  entries_.reserve(node->entries.size());
  for (const auto& [key, value] : node->entries) {
    if (key.kind != YamlNode::Kind::kScalar) {
      diags_->Error(key.position, path_, "keys must be plain strings" + Got(key));
      continue;
    }
    const auto [it, inserted] = index_.emplace(key.scalar, entries_.size());
    if (!inserted) {
      const YamlNode& first = *entries_[it->second].key;
      diags_->Error(key.position, JoinKeyPath(path_, Printable(key.scalar)),
                    "duplicate key (first defined at line " + std::to_string(first.position.line) +
                        "; keep one)");
      continue;
    }
    entries_.push_back(Entry{&key, &value});
  }
}

MapReader::Entry* MapReader::Lookup(std::string_view key) {
  const auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

const MapReader::Entry* MapReader::Lookup(std::string_view key) const {
  const auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::string MapReader::PathOf(std::string_view key) const { return JoinKeyPath(path_, key); }

Position MapReader::PositionOf(std::string_view key) const {
  const Entry* entry = Lookup(key);
  if (entry == nullptr) {
    return position_;
  }
  return entry->value->kind == YamlNode::Kind::kNull ? entry->key->position
                                                     : entry->value->position;
}

const YamlNode* MapReader::Find(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
    known_.emplace_back(key);
  }
  Entry* entry = Lookup(key);
  if (entry == nullptr) {
    return nullptr;
  }
  entry->used = true;
  return entry->value;
}

bool MapReader::ReadBool(std::string_view key, bool* out) { return Read(key, ParseBool, out); }

bool MapReader::ReadSize(std::string_view key, uint64_t min, uint64_t max, size_t* out) {
  return Read(
      key, [&](const YamlNode& n) { return ParseSize(n, min, max); }, out);
}

bool MapReader::ReadDuration(std::string_view key, milliseconds min, milliseconds max,
                             milliseconds* out) {
  return Read(
      key, [&](const YamlNode& n) { return ParseDuration(n, min, max); }, out);
}

bool MapReader::ReadString(std::string_view key, std::string* out) {
  return Read(key, ParseString, out);
}

MapReader MapReader::Section(std::string_view key) {
  const YamlNode* node = Find(key);
  const Entry* entry = Lookup(key);
  return MapReader(node, PathOf(key), entry != nullptr ? entry->key->position : position_, *diags_);
}

void MapReader::Error(std::string_view key, std::string message) {
  diags_->Error(PositionOf(key), PathOf(key), std::move(message));
}

void MapReader::Warning(std::string_view key, std::string message) {
  diags_->Warning(PositionOf(key), PathOf(key), std::move(message));
}

void MapReader::Finish() {
  for (const Entry& entry : entries_) {
    if (entry.used) {
      continue;
    }
    const std::string& key = entry.key->scalar;
    std::string message = "unknown key";
    const auto suggestion = key.size() <= kMaxSuggestKeyLength && diags_->keeping()
                                ? core::ClosestMatch(key, known_)
                                : std::optional<std::string>();
    if (suggestion) {
      message += " (did you mean '" + *suggestion + "'?)";
    } else if (!known_.empty()) {
      message += " (expected one of " + JoinNames(known_) + ")";
    }
    diags_->Error(entry.key->position, JoinKeyPath(path_, Printable(key)), std::move(message));
  }
}

}  // namespace opsgate::config::internal
