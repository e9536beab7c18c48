// File: opsgate/config/internal/map_reader.h
//
// MapReader reads one YAML mapping into typed fields and records what is wrong with it:
//
//   MapReader limits = server.Section("limits");
//   limits.ReadSize("body_bytes", 1, 64 * kMiB, &out.body_bytes);
//   limits.ReadDuration("read_timeout", 1ms, 1h, &out.read_timeout);
//   limits.Finish();  // reports the keys nobody asked for, with a did-you-mean
//
// Every getter declares its key known, leaves the output untouched when the key is
// absent (so defaults live in config.h), and records an error at the value when it is
// malformed. Duplicate keys and non-string keys are reported when the reader is made.
// A new section is a function that takes a MapReader; see loader.cc.
//
// Not part of the public API. Not thread-safe. The YamlNode tree and the Diagnostics
// must outlive the reader.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "opsgate/config/internal/diagnostics.h"
#include "opsgate/config/internal/yaml_tree.h"
#include "opsgate/core/check.h"

namespace opsgate::config::internal {

inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = 1024 * 1024;

// A parsed value, or the message "expected ... (got ...)" for the diagnostic.
template <class T>
using ParseResult = tl::expected<T, std::string>;

// true / false (also True, TRUE, False, FALSE).
ParseResult<bool> ParseBool(const YamlNode& node);
// A decimal integer in [min, max].
ParseResult<uint64_t> ParseInteger(const YamlNode& node, uint64_t min, uint64_t max);
// Bytes: "65536", "512B", "64KiB", "1MiB" (1024-based; KB/MB are refused), in [min, max].
ParseResult<uint64_t> ParseSize(const YamlNode& node, uint64_t min, uint64_t max);
// "500ms", "10s", "2m", "1h", or plain integer seconds, in [min, max].
ParseResult<std::chrono::milliseconds> ParseDuration(const YamlNode& node,
                                                     std::chrono::milliseconds min,
                                                     std::chrono::milliseconds max);
// Any scalar without NUL bytes. Messages never quote the value (it may be a secret).
ParseResult<std::string> ParseString(const YamlNode& node);
// The index of the scalar in `names`.
ParseResult<size_t> ParseChoice(const YamlNode& node, const std::vector<std::string>& names);

// "64KiB", "1MiB", "100"; "500ms", "10s", "2m", "1h": for messages.
std::string FormatSize(uint64_t bytes);
std::string FormatDuration(std::chrono::milliseconds d);

class MapReader {
 public:
  // `node` may be null or a kNull node (the section is absent or empty: every key reads
  // as absent); any other non-mapping is reported. `path` is the key path of the mapping
  // ("" for the root); `position` is where to report problems of the mapping as a whole.
  MapReader(const YamlNode* node, std::string path, Position position, Diagnostics& diags);
  MapReader(MapReader&&) = default;
  MapReader& operator=(MapReader&&) = delete;

  // False when the node was not a mapping (already reported): checks that depend on
  // the section as a whole should not add to that error.
  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }
  Position position() const { return position_; }
  Diagnostics& diagnostics() { return *diags_; }

  // "server.limits" + "body_bytes" -> "server.limits.body_bytes".
  std::string PathOf(std::string_view key) const;
  // Where the value of `key` is (its key when the value is empty); this mapping's
  // position when the key is absent.
  Position PositionOf(std::string_view key) const;

  // The value under `key` (first occurrence), declaring `key` known; nullptr if absent.
  // A kRefused value (an alias) is returned as is; the typed getters read it as absent.
  const YamlNode* Find(std::string_view key);

  // Reads `key` with `parse` (YamlNode -> ParseResult<U>, U convertible to T) into *out.
  // Returns true when the key is present and valid.
  template <class T, class Parse>
  bool Read(std::string_view key, const Parse& parse, T* out) {
    const YamlNode* node = Find(key);
    if (node == nullptr || node->kind == YamlNode::Kind::kRefused) {
      return false;
    }
    auto value = parse(*node);
    if (!value) {
      Error(key, std::move(value.error()));
      return false;
    }
    *out = static_cast<T>(std::move(*value));
    return true;
  }

  bool ReadBool(std::string_view key, bool* out);
  bool ReadSize(std::string_view key, uint64_t min, uint64_t max, size_t* out);
  bool ReadDuration(std::string_view key, std::chrono::milliseconds min,
                    std::chrono::milliseconds max, std::chrono::milliseconds* out);
  bool ReadString(std::string_view key, std::string* out);

  template <class T>
  bool ReadInteger(std::string_view key, uint64_t min, uint64_t max, T* out) {
    static_assert(std::is_integral_v<T>);
    OPSGATE_CHECK(max <= static_cast<uint64_t>(std::numeric_limits<T>::max()));
    return Read(
        key, [&](const YamlNode& n) { return ParseInteger(n, min, max); }, out);
  }

  // One of the named values: ReadEnum("profile", {{"modern", TlsProfile::kModern}}, &p).
  template <class E>
  bool ReadEnum(std::string_view key, std::initializer_list<std::pair<std::string_view, E>> choices,
                E* out) {
    std::vector<std::string> names;
    for (const auto& choice : choices) {
      names.emplace_back(choice.first);
    }
    size_t index = 0;
    if (!Read(
            key, [&](const YamlNode& n) { return ParseChoice(n, names); }, &index)) {
      return false;
    }
    *out = std::data(choices)[index].second;
    return true;
  }

  // The mapping under `key`; an empty reader when the key is absent.
  MapReader Section(std::string_view key);

  // Records a problem with `key` (at PositionOf(key), path PathOf(key)).
  void Error(std::string_view key, std::string message);
  void Warning(std::string_view key, std::string message);

  // Reports every key that no getter asked for: "unknown key (did you mean 'listen'?)".
  // Call once, after the last getter.
  void Finish();

 private:
  struct Entry {
    const YamlNode* key;
    const YamlNode* value;
    bool used = false;
  };

  Entry* Lookup(std::string_view key);
  const Entry* Lookup(std::string_view key) const;

  std::string path_;
  Position position_;
  bool ok_ = true;
  Diagnostics* diags_;
  std::vector<Entry> entries_;  // first occurrence of each key, in file order
  std::unordered_map<std::string_view, size_t> index_;
  std::vector<std::string> known_;
};

}  // namespace opsgate::config::internal
