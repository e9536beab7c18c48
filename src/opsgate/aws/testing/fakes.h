// File: opsgate/aws/testing/fakes.h
//
// Stand-ins the AWS unit tests share: an environment from a map, and static credentials
// (AWS's documented example key id with a test's own secret, so each test can check
// that its secret never leaks).
//
//   ApiClient api(http, testing::EnvFrom({{"AWS_REGION", "eu-west-1"}}), clock);
//   api.Call(call, testing::StaticCredentials(kSecret, kToken));
//
// Test-only, header-only.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "opsgate/aws/shared_config.h"  // EnvLookup
#include "opsgate/aws/sigv4.h"          // Credentials
#include "opsgate/core/secret.h"

namespace opsgate::aws::testing {

inline EnvLookup EnvFrom(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

// Key id AKIDEXAMPLE with `secret`, and `token` as the session token when not empty.
inline Credentials StaticCredentials(std::string_view secret, std::string_view token = {}) {
  Credentials c;
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key = core::Secret(std::string(secret));
  if (!token.empty()) {
    c.session_token = core::Secret(std::string(token));
  }
  return c;
}

}  // namespace opsgate::aws::testing
