// File: test/fakes/ci.h
//
// Whether the tests run under CI (CI=true). Tests that need something outside the
// repository (external vectors, rsyslog, the OpenID Provider tooling, Chromium) skip
// with a clear message elsewhere, but must run, and so fail when it is missing, in CI.
#pragma once

#include <cstdlib>
#include <string_view>

namespace opsgate::testing {

inline bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

}  // namespace opsgate::testing
