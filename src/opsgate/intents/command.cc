#include "opsgate/intents/command.h"

#include <string>
#include <utility>
#include <vector>

#include "opsgate/core/strings.h"
#include "opsgate/intents/slot_types.h"

namespace opsgate::intents {
namespace {

using core::Fail;
using core::Result;

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Lower-cases ASCII letters and maps '-' to '_', for verbs and slot names.
std::string Fold(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    } else if (c == '-') {
      c = '_';
    }
  }
  return out;
}

std::string_view ServiceOf(const IntentSpec& intent) {
  const std::string_view name = intent.name;
  return name.substr(0, name.find('.'));
}

std::string_view VerbOf(const IntentSpec& intent) {
  const std::string_view name = intent.name;
  const size_t dot = name.find('.');
  return dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
}

struct Token {
  std::string value;
  std::optional<std::string> name;  // folded; set for name=value tokens
};

bool IsSlotNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-';
}

// Splits on unquoted whitespace; nullopt on an unterminated quote.
std::optional<std::vector<Token>> Tokenise(std::string_view text) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (true) {
    while (i < text.size() && IsSpace(text[i])) {
      ++i;
    }
    if (i == text.size()) {
      return tokens;
    }
    std::string cur;
    bool in_quote = false;
    bool saw_quote = false;
    size_t eq = std::string::npos;  // first '=' of the unquoted prefix, in `cur`
    while (i < text.size()) {
      const char c = text[i];
      if (in_quote) {
        if (c == '\\' && i + 1 < text.size() && (text[i + 1] == '"' || text[i + 1] == '\\')) {
          cur.push_back(text[i + 1]);
          i += 2;
          continue;
        }
        if (c == '"') {
          in_quote = false;
        } else {
          cur.push_back(c);
        }
        ++i;
        continue;
      }
      if (IsSpace(c)) {
        break;
      }
      if (c == '"') {
        in_quote = true;
        saw_quote = true;
      } else {
        if (c == '=' && eq == std::string::npos && !saw_quote) {
          eq = cur.size();
        }
        cur.push_back(c);
      }
      ++i;
    }
    if (in_quote) {
      return std::nullopt;
    }
    Token t;
    bool named = eq != std::string::npos && eq > 0;
    for (size_t k = 0; named && k < eq; ++k) {
      named = IsSlotNameChar(cur[k]);
    }
    if (named) {
      t.name = Fold(std::string_view(cur).substr(0, eq));
      t.value = cur.substr(eq + 1);
    } else {
      t.value = std::move(cur);
    }
    tokens.push_back(std::move(t));
  }
}

std::string UsageOfService(const Catalogue& catalogue, std::string_view service) {
  std::string out;
  for (const IntentSpec& intent : catalogue.intents) {
    if (ServiceOf(intent) == service) {
      out += (out.empty() ? "" : " | ") + Usage(intent);
    }
  }
  return out;
}

core::Error CommandError(const std::string& what, const std::string& usage) {
  return core::InvalidArgument(what + "; usage: " + usage);
}

}  // namespace

std::string Usage(const IntentSpec& intent) {
  std::string out(ServiceOf(intent));
  if (const std::string_view verb = VerbOf(intent); !verb.empty()) {
    out += " ";
    out += verb;
  }
  for (const SlotSpec& s : intent.slots) {
    std::string upper = s.name;
    for (char& c : upper) {
      if (c >= 'a' && c <= 'z') {
        c = static_cast<char>(c - 'a' + 'A');
      }
    }
    out += s.required ? " " + upper : " [" + s.name + "=" + upper + "]";
  }
  return out;
}

Result<std::optional<ParsedCommand>> ParseCommand(const Catalogue& catalogue,
                                                  std::string_view text,
                                                  const CommandDefaults& defaults) {
  if (text.size() > kMaxCommandBytes) {
    return Fail(core::ResourceExhausted("command is " + std::to_string(text.size()) +
                                        " bytes; at most " + std::to_string(kMaxCommandBytes) +
                                        " are accepted"));
  }
  // The first raw word decides whether this is a command at all, before any quoting
  // rule can turn free text into an error.
  size_t b = 0;
  while (b < text.size() && IsSpace(text[b])) {
    ++b;
  }
  size_t e = b;
  while (e < text.size() && !IsSpace(text[e])) {
    ++e;
  }
  const std::string first = Fold(text.substr(b, e - b));
  std::string_view service;
  for (const IntentSpec& intent : catalogue.intents) {
    if (!first.empty() && Fold(ServiceOf(intent)) == first) {
      service = ServiceOf(intent);
      break;
    }
  }
  if (service.empty()) {
    return std::optional<ParsedCommand>();
  }
  const std::string service_usage = UsageOfService(catalogue, service);

  auto tokens = Tokenise(text);
  if (!tokens) {
    return Fail(CommandError("unterminated double quote", service_usage));
  }

  // The verb: the second token when it names an intent of the service; otherwise the
  // service's verb-less intent ("help"), if it has one.
  const IntentSpec* intent = nullptr;
  size_t first_value = 1;
  const IntentSpec* bare = nullptr;
  std::vector<std::string> verbs;
  for (const IntentSpec& candidate : catalogue.intents) {
    if (ServiceOf(candidate) != service) {
      continue;
    }
    const std::string_view verb = VerbOf(candidate);
    if (verb.empty()) {
      bare = &candidate;
      continue;
    }
    verbs.emplace_back(verb);
    if (tokens->size() > 1 && !(*tokens)[1].name && Fold((*tokens)[1].value) == Fold(verb)) {
      intent = &candidate;
      first_value = 2;
    }
  }
  if (intent == nullptr) {
    if (bare != nullptr) {
      intent = bare;
    } else if (tokens->size() < 2) {
      return Fail(CommandError(std::string(service) + ": which command?", service_usage));
    } else {
      const Token& t = (*tokens)[1];
      const std::string given = t.name ? *t.name + "=" + t.value : t.value;
      std::string what = std::string(service) + ": unknown command " + QuoteForMessage(given);
      if (const auto close = core::ClosestMatch(Fold(given), verbs)) {
        what += " (did you mean '" + *close + "'?)";
      }
      return Fail(CommandError(what, service_usage));
    }
  }
  const std::string usage = Usage(*intent);

  ParsedCommand out;
  out.intent = intent;
  std::vector<const std::string*> positional;
  for (size_t k = first_value; k < tokens->size(); ++k) {
    const Token& t = (*tokens)[k];
    if (!t.name) {
      positional.push_back(&t.value);
      continue;
    }
    const SlotSpec* slot = nullptr;
    for (const SlotSpec& s : intent->slots) {
      if (Fold(s.name) == *t.name) {
        slot = &s;
      }
    }
    if (slot == nullptr) {
      std::string names;
      for (const SlotSpec& s : intent->slots) {
        names += (names.empty() ? "" : ", ") + s.name;
      }
      return Fail(CommandError(intent->name + " has no slot " + QuoteForMessage(*t.name) +
                                   (names.empty() ? " (it takes none)" : " (slots: " + names + ")"),
                               usage));
    }
    if (out.slots.count(slot->name) != 0) {
      return Fail(CommandError("slot " + slot->name + " is given twice", usage));
    }
    auto value = NormaliseSlot(*slot, t.value);
    if (!value) {
      return Fail(CommandError(slot->name + ": " + value.error().message, usage));
    }
    out.slots.emplace(slot->name, std::move(*value));
  }
  size_t next = 0;
  for (const SlotSpec& s : intent->slots) {
    if (next == positional.size()) {
      break;
    }
    if (out.slots.count(s.name) != 0) {
      continue;
    }
    auto value = NormaliseSlot(s, *positional[next]);
    if (!value) {
      return Fail(CommandError(s.name + ": " + value.error().message, usage));
    }
    out.slots.emplace(s.name, std::move(*value));
    ++next;
  }
  if (next < positional.size()) {
    return Fail(CommandError("too many values for " + intent->name + ": " +
                                 QuoteForMessage(*positional[next]) + " is left over",
                             usage));
  }
  if (!defaults.region.empty()) {
    if (const SlotSpec* region = intent->Slot("region");
        region != nullptr && out.slots.count("region") == 0) {
      auto value = NormaliseSlot(*region, defaults.region);
      if (!value) {
        return Fail(core::InvalidArgument("the configured default region: " +
                                          value.error().message));
      }
      out.slots.emplace("region", std::move(*value));
    }
  }
  for (const SlotSpec& s : intent->slots) {
    if (s.required && out.slots.count(s.name) == 0) {
      out.missing.push_back(s.name);
    }
  }
  return std::optional<ParsedCommand>(std::move(out));
}

std::string ResourceFor(const IntentSpec& intent, const std::map<std::string, std::string>& slots,
                        std::string_view account) {
  const auto safe = [](std::string_view v) {
    return v.find_first_of("*?{}") == std::string_view::npos;
  };
  const std::string_view t = intent.resource_template;
  std::string out;
  size_t i = 0;
  while (i < t.size()) {
    if (t[i] != '{') {
      out.push_back(t[i]);
      ++i;
      continue;
    }
    const size_t close = t.find('}', i + 1);
    if (close == std::string_view::npos) {
      return "";
    }
    const std::string name(t.substr(i + 1, close - i - 1));
    i = close + 1;
    if (name == "account") {
      if (account.empty()) {
        out += "*";
      } else if (safe(account)) {
        out += account;
      } else {
        return "";
      }
      continue;
    }
    if (const auto it = slots.find(name); it != slots.end()) {
      if (it->second.empty() || !safe(it->second)) {
        return "";
      }
      out += it->second;
      continue;
    }
    const SlotSpec* spec = intent.Slot(name);
    if (spec != nullptr && spec->required) {
      return "";
    }
    out += "*";
  }
  return out;
}

std::string CanonicalAction(const ParsedCommand& command, std::string_view resource) {
  std::string out = "opsgate-action-v1;";
  const auto ns = [&out](std::string_view s) {
    out += std::to_string(s.size());
    out += ':';
    out += s;
    out += ',';
  };
  ns(command.intent->name);
  ns(command.intent->action);
  ns(resource);
  ns(std::to_string(command.slots.size()));
  for (const auto& [name, value] : command.slots) {
    ns(name);
    ns(value);
  }
  return out;
}

}  // namespace opsgate::intents
