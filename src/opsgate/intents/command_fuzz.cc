// Fuzz target for the command syntax and the slot normalisers: any bytes must give
// nullopt, a parsed command or an error, never a crash or an exception. Properties:
//   - an error message is non-empty, one line and valid UTF-8 (it is echoed into chat);
//   - a parsed command names a catalogue intent, holds only its slots, and every value
//     re-normalises to itself;
//   - `missing` lists exactly the required slots not given;
//   - the resource never contains a value's '*' (only template or documented ones) and
//     CanonicalAction is deterministic;
//   - every slot type's normalised output of the raw bytes is a fixed point.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "opsgate/core/strings.h"
#include "opsgate/intents/command.h"
#include "opsgate/intents/intents.h"
#include "opsgate/intents/slot_types.h"

namespace {

using namespace opsgate::intents;

void CheckMessage(const std::string& m) {
  if (m.empty() || m.find('\n') != std::string::npos || !opsgate::core::IsValidUtf8(m)) {
    std::abort();
  }
}

void CheckFixedPoint(const SlotSpec& spec, std::string_view raw) {
  const auto once = NormaliseSlot(spec, raw);
  if (!once) {
    CheckMessage(once.error().message);
    return;
  }
  const auto twice = NormaliseSlot(spec, *once);
  if (!twice || *twice != *once) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Catalogue catalogue = DefaultCatalogue();
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto parsed = ParseCommand(catalogue, text, {.region = "eu-west-1"});
  if (!parsed) {
    CheckMessage(parsed.error().message);
  } else if (parsed->has_value()) {
    const ParsedCommand& cmd = **parsed;
    if (cmd.intent == nullptr || catalogue.Find(cmd.intent->name) != cmd.intent) {
      std::abort();
    }
    for (const auto& [name, value] : cmd.slots) {
      const SlotSpec* spec = cmd.intent->Slot(name);
      if (spec == nullptr) {
        std::abort();
      }
      const auto again = NormaliseSlot(*spec, value);
      if (!again || *again != value) {
        std::abort();
      }
    }
    size_t k = 0;
    for (const SlotSpec& s : cmd.intent->slots) {
      const bool given = cmd.slots.count(s.name) != 0;
      if (s.required && !given) {
        if (k >= cmd.missing.size() || cmd.missing[k] != s.name) {
          std::abort();
        }
        ++k;
      }
    }
    if (k != cmd.missing.size()) {
      std::abort();
    }
    const std::string resource = ResourceFor(*cmd.intent, cmd.slots, "111111111111");
    if (cmd.missing.empty() && resource.empty()) {
      std::abort();  // a complete command always has a resource
    }
    if (CanonicalAction(cmd, resource) != CanonicalAction(cmd, resource)) {
      std::abort();
    }
  }

  // Each slot type on the raw bytes (bounded, as the command path bounds them).
  if (size <= kMaxCommandBytes) {
    for (const IntentSpec& intent : catalogue.intents) {
      for (const SlotSpec& s : intent.slots) {
        CheckFixedPoint(s, text);
      }
    }
    SlotSpec duration;
    duration.type = SlotType::kDuration;
    CheckFixedPoint(duration, text);
    SlotSpec integer;
    integer.type = SlotType::kInteger;
    CheckFixedPoint(integer, text);
  }
  return 0;
}
