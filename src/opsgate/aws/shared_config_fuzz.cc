// Fuzz target for ParseSharedConfig: any bytes, read as either file kind, must yield
// profiles or a line-numbered error, never a crash, a hang or an exception. Parsed
// profiles keep secrets out of `values`, and every key is lower-case.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "opsgate/aws/shared_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace opsgate::aws;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (SharedFileKind kind : {SharedFileKind::kCredentials, SharedFileKind::kConfig}) {
    auto parsed = ParseSharedConfig(text, kind, "fuzz");
    if (!parsed) {
      if (parsed.error().message.rfind("fuzz", 0) != 0) {
        std::abort();  // every error names the file
      }
      continue;
    }
    for (const auto& [name, profile] : *parsed) {
      if (name != profile.name || name.empty()) {
        std::abort();
      }
      for (const auto& [key, value] : profile.values) {
        if (IsSecretKey(key)) {
          std::abort();
        }
        for (char c : key) {
          if (c >= 'A' && c <= 'Z') {
            std::abort();
          }
        }
      }
      for (const auto& [key, value] : profile.secrets) {
        if (!IsSecretKey(key)) {
          std::abort();
        }
      }
    }
  }
  return 0;
}
