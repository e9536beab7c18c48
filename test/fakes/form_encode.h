// File: test/fakes/form_encode.h
//
// application/x-www-form-urlencoded value encoding for building test requests the
// way Slack sends them (RFC 3986 unreserved characters kept, everything else %XX).
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace opsgate::testing {

inline std::string FormEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace opsgate::testing
