// Fuzz target for the audit record decoder (untrusted bytes: the stored log is read
// back by `opsgate audit verify/show`, and an attacker may have edited the file).
// Property: whatever decodes re-encodes to exactly the same bytes (one encoding per
// record), and decoding never crashes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "opsgate/audit/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = opsgate::audit::DecodeRecord(in);
  auto seq = opsgate::audit::ValidateRecord(in);
  if (r.has_value() != seq.has_value() || (r && r->seq != *seq)) {
    std::abort();  // the fast validator must agree with the decoder
  }
  if (r) {
    if (opsgate::audit::EncodeRecord(*r) != in) {
      std::abort();
    }
    (void)opsgate::audit::RecordToJson(*r);
  }
  (void)opsgate::audit::DecodeSlots(in);
  return 0;
}
