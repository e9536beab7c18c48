// File: opsgate/http/cookies.h
//
// Reading the Cookie request header and writing Set-Cookie, for opsgate's own
// browser-facing pages (identity linking, web chat). Header-only, no state.
//
//   auto v = CookieValue(request, "__Host-opsgate_session");
//   response.headers.emplace_back("Set-Cookie", SetCookie("__Host-opsgate_session", token,
//                                                         {.max_age = std::chrono::hours(8)}));
//
// Cookies opsgate sets are always Secure and HttpOnly; names with the __Host- prefix
// also get Path=/ and no Domain, as browsers require for them.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "opsgate/core/strings.h"
#include "opsgate/http/router.h"

namespace opsgate::http {

// The value of cookie `name` in the request's Cookie header(s), if present. Values are
// returned as sent (no unquoting or decoding); the first occurrence wins.
inline std::optional<std::string_view> CookieValue(const Request& request, std::string_view name) {
  for (const auto& [header, value] : request.headers) {
    if (header != "cookie") {
      continue;
    }
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      std::string_view pair = core::Trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      const size_t eq = pair.find('=');
      if (eq != std::string_view::npos && core::Trim(pair.substr(0, eq)) == name) {
        return core::Trim(pair.substr(eq + 1));
      }
    }
  }
  return std::nullopt;
}

struct CookieOptions {
  std::string path = "/";
  std::chrono::seconds max_age{0};  // 0: a session cookie; negative: delete it
  std::string same_site = "Strict";  // Strict | Lax
};

// A Set-Cookie value: name=value; Path; Max-Age; Secure; HttpOnly; SameSite.
inline std::string SetCookie(std::string_view name, std::string_view value,
                             const CookieOptions& options = {}) {
  std::string out(name);
  out += "=";
  out += value;
  out += "; Path=";
  out += name.rfind("__Host-", 0) == 0 ? "/" : options.path;
  if (options.max_age.count() != 0) {
    out += "; Max-Age=" + std::to_string(options.max_age.count() < 0 ? 0 : options.max_age.count());
  }
  out += "; Secure; HttpOnly; SameSite=" + options.same_site;
  return out;
}

}  // namespace opsgate::http
