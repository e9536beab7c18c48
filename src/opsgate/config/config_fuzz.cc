// Fuzz target for the config loader: any bytes must yield a Config or diagnostics,
// never a crash, a hang or an exception. Also checks that the outcome is consistent:
// a config exactly when no diagnostic is an error, and every diagnostic one line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "opsgate/config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto outcome = opsgate::config::ParseConfig(text, "fuzz.yaml");
  bool has_error = false;
  for (const auto& d : outcome.diagnostics) {
    has_error |= d.severity == opsgate::config::Diagnostic::Severity::kError;
    if (d.ToString().find('\n') != std::string::npos) {
      std::abort();
    }
  }
  if (has_error == (outcome.config != nullptr)) {
    std::abort();
  }
  return 0;
}
