#include "opsgate/identity/testing/vectors.h"

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "test/fakes/ci.h"

namespace opsgate::identity::testing {

std::optional<std::filesystem::path> VectorsDir() {
  std::filesystem::path dir;
  if (const char* env = std::getenv("OPSGATE_VECTORS"); env != nullptr && *env != '\0') {
    dir = env;
  } else if (const char* src = std::getenv("OPSGATE_SOURCE_DIR"); src != nullptr && *src != '\0') {
    dir = std::filesystem::path(src) / ".." / "shared" / "vectors";
  } else {
    return std::nullopt;
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(dir / "jose", ec) ||
      !std::filesystem::is_directory(dir / "otp", ec)) {
    return std::nullopt;
  }
  return dir;
}

bool RunningInCi() { return opsgate::testing::InCi(); }

std::string ReadFileOrDie(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << p;
    return {};
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace opsgate::identity::testing
