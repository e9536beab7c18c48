// Fuzz target for Classifier::Parse: any bytes must give a result, never a crash, a hang
// or an exception. Properties:
//   - the intent is an intent of the catalogue or "none";
//   - confidence and every alternative's probability are in [0, 1], alternatives are
//     other intents, best first;
//   - slots belong to the intent ("none" has none) and every value re-normalises to
//     itself;
//   - below_threshold agrees with the confidence;
//   - parsing is deterministic.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "opsgate/intents/classifier.h"
#include "opsgate/intents/slot_types.h"

namespace {

using namespace opsgate::intents;

const Classifier& Get() {
  static const Classifier c = [] {
    auto r = Classifier::Train(DefaultCatalogue());
    if (!r) {
      std::abort();
    }
    return *std::move(r);
  }();
  return c;
}

void Check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Classifier& c = Get();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const NluResult r = c.Parse(text);
  Check(r.confidence >= 0.0 && r.confidence <= 1.0);
  Check(r.below_threshold == (r.confidence < c.options().threshold));
  double prev = r.confidence;
  for (const auto& [name, p] : r.alternatives) {
    Check(p >= 0.0 && p <= 1.0 && p <= prev && name != r.intent);
    Check(name == kNoneIntent || c.catalogue().Find(name) != nullptr);
    prev = p;
  }
  if (r.intent == kNoneIntent) {
    Check(r.slots.empty());
  } else {
    const IntentSpec* spec = c.catalogue().Find(r.intent);
    Check(spec != nullptr);
    for (const auto& [name, value] : r.slots) {
      const SlotSpec* s = spec->Slot(name);
      Check(s != nullptr);
      auto again = NormaliseSlot(*s, value);
      Check(again.has_value() && *again == value);
    }
  }
  const NluResult again = c.Parse(text);
  Check(again.intent == r.intent && again.confidence == r.confidence && again.slots == r.slots);
  return 0;
}
