// File: opsgate/aws/xml.h
//
// A small, safe DOM over libexpat for AWS Query/EC2 responses (docs/aws.md#query-protocol).
//
//   auto doc = ParseXml(response.body);
//   if (!doc) { return core::Fail(doc.error()); }         // "XML line 3, column 7: ..."
//   std::string_view key = doc->ChildText("AssumeRoleResult/Credentials/AccessKeyId");
//
// Safety: any DOCTYPE (and so any entity declaration, internal or external) stops the
// parser with kInvalidArgument, so neither XXE nor "billion laughs" expansion can happen;
// only the five predefined entities and character references are resolved. Input size,
// nesting depth and element count are bounded by XmlLimits. Error messages name the line
// and column and never quote the document (it may carry credentials).
//
// Names are local names: "sts:Credentials" becomes "Credentials"; xmlns declarations are
// not kept as attributes. `text` is the concatenation of the element's own character data
// (CDATA included), untrimmed.
//
// Ownership: values. Thread-safety: ParseXml is reentrant.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsgate/core/result.h"

namespace opsgate::aws {

struct XmlLimits {
  size_t max_bytes = 4 * 1024 * 1024;
  size_t max_depth = 64;
  size_t max_elements = 200000;
};

struct XmlElement {
  std::string name;
  std::string text;
  std::vector<XmlElement> children;
  std::vector<std::pair<std::string, std::string>> attributes;

  // The first child named `name`, or nullptr.
  const XmlElement* Child(std::string_view child_name) const;
  // Follows "A/B/C" through first children; nullptr when a step is missing.
  const XmlElement* Find(std::string_view path) const;
  // The text of Find(path), or "" when missing.
  std::string_view ChildText(std::string_view path) const;
  // The text of Find(path), or nullopt when missing.
  std::optional<std::string_view> OptionalChildText(std::string_view path) const;
  // Every child named `name`, in document order.
  std::vector<const XmlElement*> Children(std::string_view child_name) const;
  // The value of attribute `attr_name` (local name), if present.
  std::optional<std::string_view> Attribute(std::string_view attr_name) const;
};

// Parses a whole document and returns its root element.
// kInvalidArgument: malformed XML, a DOCTYPE/entity declaration, an undefined entity, or
// more than limits.max_depth nesting; kResourceExhausted: input over limits.max_bytes or
// more than limits.max_elements elements.
[[nodiscard]] core::Result<XmlElement> ParseXml(std::string_view xml, const XmlLimits& limits = {});

}  // namespace opsgate::aws
