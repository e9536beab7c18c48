// File: opsgate/aws/testing/vectors.h
//
// Where the external test vectors live (../shared/vectors next to the repository; env
// OPSGATE_VECTORS overrides), and the skip-or-fail rule: without them a test skips with a
// clear message, except under CI=true where it fails.
//
//   OPSGATE_REQUIRE_VECTORS(dir, "aws-query");   // const std::filesystem::path dir
//
// Test-only, header-only.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "test/fakes/ci.h"

namespace opsgate::aws::testing {

inline std::filesystem::path VectorsDir() {
  if (const char* v = std::getenv("OPSGATE_VECTORS"); v != nullptr && *v != '\0') {
    return v;
  }
  const char* src = std::getenv("OPSGATE_SOURCE_DIR");
  return std::filesystem::path(src != nullptr && *src != '\0' ? src : ".") / ".." / "shared" /
         "vectors";
}

inline std::string ReadVectorFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace opsgate::aws::testing

#define OPSGATE_REQUIRE_VECTORS(dir, sub)                                                    \
  const std::filesystem::path dir = ::opsgate::aws::testing::VectorsDir() / (sub);           \
  if (!std::filesystem::is_directory(dir)) {                                                 \
    if (::opsgate::testing::InCi()) {                                                        \
      FAIL() << "vectors not found at " << dir                                               \
             << " (required because CI=true; set OPSGATE_VECTORS to the vectors directory)"; \
    }                                                                                        \
    GTEST_SKIP() << "vectors not found at " << dir                                           \
                 << ": set OPSGATE_VECTORS to ../shared/vectors to run them";                \
  }
