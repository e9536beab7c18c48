// File: opsgate/identity/internal/json_util.h
//
// Internal to identity: strict JSON object parsing for JOSE headers, claims and keys.
// Boost.JSON (1.81) silently keeps the last of duplicate member names, which lets two
// parsers disagree on what a header says; ParseUniqueObject refuses duplicates.
#pragma once

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "opsgate/core/result.h"

namespace opsgate::identity::internal {

// Parses `text` as one JSON value that must be an object whose top-level member names
// are unique. Errors: kInvalidArgument with a short description.
[[nodiscard]] core::Result<boost::json::object> ParseUniqueObject(std::string_view text);

// The string member `name`: nullopt if absent; kInvalidArgument if present but not a string.
[[nodiscard]] core::Result<std::optional<std::string>> OptionalString(
    const boost::json::object& obj, std::string_view name);

}  // namespace opsgate::identity::internal
