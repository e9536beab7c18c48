// Fuzz target for ParseCatalogue: any bytes must yield a Catalogue or diagnostics, never a
// crash, a hang or an exception. Properties:
//   - a refusal has at least one diagnostic, every one an error on one line;
//   - a parsed catalogue has unique intent names (none called "none") and unique slot
//     names, every typed_slot is a required slot, integer ranges are ordered, enum slots
//     have values, and Find()/Slot() find what the lists hold;
//   - ResourceFor() resolves every resource template once each slot has a value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "opsgate/intents/catalogue_yaml.h"
#include "opsgate/intents/command.h"

namespace {

using namespace opsgate::intents;

void Check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const CatalogueResult parsed = ParseCatalogue(text, "fuzz.yaml");
  if (!parsed) {
    Check(!parsed.error().empty());
    for (const auto& d : parsed.error()) {
      Check(d.severity == opsgate::config::Diagnostic::Severity::kError);
      Check(d.ToString().find('\n') == std::string::npos);
    }
    return 0;
  }
  const Catalogue& c = *parsed;
  Check(!c.intents.empty() && c.intents.size() <= kMaxIntents);
  std::set<std::string> names;
  for (const IntentSpec& intent : c.intents) {
    Check(names.insert(intent.name).second && intent.name != "none");
    Check(c.Find(intent.name) == &intent);
    Check(!intent.utterances.empty() && intent.utterances.size() <= kMaxUtterances);
    Check(intent.slots.size() <= kMaxSlots);
    std::map<std::string, std::string> values;
    for (const SlotSpec& slot : intent.slots) {
      Check(intent.Slot(slot.name) == &slot);
      Check(slot.min <= slot.max);
      Check(slot.type != SlotType::kEnum || !slot.values.empty());
      values[slot.name] = "x";
    }
    if (intent.confirmation == Confirmation::kTyped) {
      const SlotSpec* typed = intent.Slot(intent.typed_slot);
      Check(typed != nullptr && typed->required);
    } else {
      Check(intent.typed_slot.empty());
    }
    Check(!ResourceFor(intent, values, "111111111111").empty());
  }
  return 0;
}
