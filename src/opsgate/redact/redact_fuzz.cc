// Fuzzes Redactor::Redact with arbitrary bytes. Properties: it never crashes, and its
// output is a fixed point (Redact(Redact(x)) == Redact(x)), i.e. no rule still finds a
// secret in what it returns.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "opsgate/redact/redactor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const opsgate::redact::Redactor redactor = [] {
    auto r = opsgate::redact::Redactor::Create({R"(internal-[0-9a-f]{12})", R"(pin=([0-9]{4,}))"});
    if (!r) {
      std::abort();
    }
    return std::move(*r);
  }();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string once = redactor.Redact(input);
  const std::string twice = redactor.Redact(once);
  if (once != twice) {
    std::fprintf(stderr, "Redact is not idempotent:\n  once:  %s\n  twice: %s\n", once.c_str(),
                 twice.c_str());
    std::abort();
  }
  return 0;
}
