// File: opsgate/identity/testing/vectors.h
//
// Test-only: locating ../shared/vectors. The directory is env OPSGATE_VECTORS, else
// $OPSGATE_SOURCE_DIR/../shared/vectors (ctest sets OPSGATE_SOURCE_DIR). When it is
// missing, OPSGATE_REQUIRE_VECTORS fails the test under CI=true and skips it otherwise.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>

namespace opsgate::identity::testing {

std::optional<std::filesystem::path> VectorsDir();
bool RunningInCi();
std::string ReadFileOrDie(const std::filesystem::path& p);

}  // namespace opsgate::identity::testing

#define OPSGATE_REQUIRE_VECTORS(var)                                                        \
  const std::optional<std::filesystem::path> var##_opt =                                    \
      ::opsgate::identity::testing::VectorsDir();                                           \
  if (!var##_opt.has_value()) {                                                             \
    if (::opsgate::identity::testing::RunningInCi()) {                                      \
      FAIL() << "test vectors not found (set OPSGATE_VECTORS); required because CI=true";   \
    }                                                                                       \
    GTEST_SKIP() << "test vectors not found: set OPSGATE_VECTORS to ../shared/vectors";     \
  }                                                                                         \
  const std::filesystem::path var = *var##_opt
