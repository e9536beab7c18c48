// File: opsgate/config/internal/yaml_tree.h
//
// Turns config text into a small document tree (YamlNode) with a position on every
// node, using yaml-cpp's event parser rather than YAML::Node so that:
//   - aliases are seen (and refused) instead of being silently expanded;
//   - duplicate keys are kept, in file order, for the reader to report;
//   - keys carry their own line and column.
// Limits for semi-trusted text, checked before yaml-cpp sees it: size, and an estimate
// of the nesting depth (yaml-cpp's parser recurses once per level); the exact depth is
// checked again while building. yaml-cpp exceptions are caught here and become
// diagnostics. Not part of the public API.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/config/internal/diagnostics.h"

namespace opsgate::config::internal {

struct YamlEntry;

struct YamlNode {
  enum class Kind {
    kNull,      // `key:` with no value, or an empty document
    kScalar,    // any scalar, as text; YAML types are not resolved here
    kSequence,  // items
    kMap,       // entries, in file order, duplicate keys kept
    kRefused,   // an alias or a too-deep collection: already reported, read as absent
  };
  Kind kind = Kind::kNull;
  Position position;
  std::string scalar;
  std::vector<YamlNode> items;
  std::vector<YamlEntry> entries;
};

struct YamlEntry {
  YamlNode key;
  YamlNode value;
};

// "a mapping", "a list", "nothing" or the quoted scalar: for "(got ...)" in messages.
std::string DescribeNode(const YamlNode& node);

// The root of the only document in `text` (a kNull node for an empty text), or nullopt
// when the text was refused; every problem is added to `diags`.
std::optional<YamlNode> ParseYamlTree(std::string_view text, size_t max_bytes, int max_depth,
                                      Diagnostics& diags);

// Where a cheap scan of `text` first estimates the nesting of mappings and lists to
// exceed `max_depth`, counting flow brackets outside quoted scalars, comments and block
// scalars, block indentation levels and compact "- " entries. Its job is to keep
// yaml-cpp's recursion shallow, not to be exact: it counts one level too many for a line
// that opens a collection, and about half the levels of lists written at their key's
// indentation. ParseYamlTree() enforces the exact limit while building.
std::optional<Position> FindExcessiveNesting(std::string_view text, int max_depth);

}  // namespace opsgate::config::internal
