#include "opsgate/identity/internal/json_util.h"

#include <cstddef>

namespace opsgate::identity::internal {
namespace {

// Counts the member names of the top-level object in `text`, which Boost.JSON has
// already accepted as valid JSON, so only strings and nesting need tracking.
size_t CountTopLevelKeys(std::string_view text) {
  size_t keys = 0;
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  bool string_at_depth1 = false;
  bool pending_key = false;  // a depth-1 string just closed; a ':' makes it a key
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
        pending_key = string_at_depth1;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        string_at_depth1 = (depth == 1);
        pending_key = false;
        break;
      case ':':
        if (pending_key) {
          ++keys;
        }
        pending_key = false;
        break;
      case '{':
      case '[':
        ++depth;
        pending_key = false;
        break;
      case '}':
      case ']':
        --depth;
        pending_key = false;
        break;
      case ' ':
      case '\t':
      case '\r':
      case '\n':
        break;
      default:
        pending_key = false;
        break;
    }
  }
  return keys;
}

}  // namespace

core::Result<boost::json::object> ParseUniqueObject(std::string_view text) {
  boost::json::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = 32;
  boost::json::value v = boost::json::parse(text, ec, {}, opts);
  if (ec) {
    return core::Fail(core::InvalidArgument("invalid JSON: " + ec.message()));
  }
  if (!v.is_object()) {
    return core::Fail(core::InvalidArgument("JSON value is not an object"));
  }
  boost::json::object obj = std::move(v.as_object());
  if (CountTopLevelKeys(text) != obj.size()) {
    return core::Fail(core::InvalidArgument("duplicate member name in JSON object"));
  }
  return obj;
}

core::Result<std::optional<std::string>> OptionalString(const boost::json::object& obj,
                                                        std::string_view name) {
  const boost::json::value* v = obj.if_contains(name);
  if (v == nullptr) {
    return std::optional<std::string>();
  }
  if (!v->is_string()) {
    return core::Fail(core::InvalidArgument(std::string(name) + " is not a string"));
  }
  return std::optional<std::string>(std::string(v->as_string()));
}

}  // namespace opsgate::identity::internal
