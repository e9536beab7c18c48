// File: test/fakes/form_encode.h
//
// application/x-www-form-urlencoded value encoding for building test requests the
// way Slack sends them (RFC 3986 unreserved characters kept, everything else %XX).
#pragma once

#include <string>
#include <string_view>

#include "opsgate/core/strings.h"

namespace opsgate::testing {

inline std::string FormEncode(std::string_view s) { return core::PercentEncode(s); }

}  // namespace opsgate::testing
