// Fuzz target for ParseXml: any bytes must yield a DOM within the limits or an error
// naming a line and column, never a crash, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "opsgate/aws/xml.h"

namespace {

size_t Depth(const opsgate::aws::XmlElement& e) {
  size_t d = 0;
  for (const auto& c : e.children) {
    const size_t cd = Depth(c);
    d = cd > d ? cd : d;
  }
  return d + 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace opsgate::aws;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  XmlLimits limits;
  limits.max_depth = 16;
  limits.max_elements = 1000;
  auto doc = ParseXml(text, limits);
  if (!doc) {
    const auto& m = doc.error().message;
    if (m.rfind("XML", 0) != 0) {
      std::abort();
    }
    return 0;
  }
  if (Depth(*doc) > limits.max_depth) {
    std::abort();
  }
  (void)doc->ChildText("a/b/c");
  return 0;
}
