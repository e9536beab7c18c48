#include "opsgate/intents/catalogue_yaml.h"

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>

#include "opsgate/config/internal/diagnostics.h"
#include "opsgate/config/internal/files.h"
#include "opsgate/config/internal/map_reader.h"
#include "opsgate/config/internal/yaml_tree.h"
#include "opsgate/core/strings.h"

namespace opsgate::intents {
namespace {

namespace ci = config::internal;
using ci::MapReader;
using ci::Position;
using ci::YamlNode;

// root > intents > intent > slots > slot > values > value > synonyms is 8 levels; the
// estimate in ParseYamlTree may count one more per line that opens a collection.
constexpr int kMaxCatalogueDepth = 12;

constexpr std::array<SlotType, 10> kSlotTypes = {
    SlotType::kAwsInstanceId, SlotType::kAwsRegion,      SlotType::kEc2InstanceType,
    SlotType::kInteger,       SlotType::kIpOrCidr,       SlotType::kEnum,
    SlotType::kIdentifier,    SlotType::kJiraProjectKey, SlotType::kFreeText,
    SlotType::kDuration,
};

std::string Index(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return IsLower(c) || (c >= 'A' && c <= 'Z'); }

// [a-z][a-z0-9_]*
bool IsSnakeWord(std::string_view s) {
  if (s.empty() || !IsLower(s[0])) {
    return false;
  }
  for (char c : s) {
    if (!IsLower(c) && !IsDigit(c) && c != '_') {
      return false;
    }
  }
  return true;
}

// <word> or <word>.<word>: the command syntax types it as "<service> <verb>".
bool IsIntentName(std::string_view s) {
  if (s.size() > kMaxNameBytes) {
    return false;
  }
  const size_t dot = s.find('.');
  if (dot == std::string_view::npos) {
    return IsSnakeWord(s);
  }
  return IsSnakeWord(s.substr(0, dot)) && IsSnakeWord(s.substr(dot + 1));
}

// <service>:<Operation>: service [a-z][a-z0-9-]*, operation [A-Za-z][A-Za-z0-9]*.
bool IsAction(std::string_view s) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= s.size() ||
      s.size() > kMaxTemplateBytes) {
    return false;
  }
  const std::string_view service = s.substr(0, colon);
  const std::string_view op = s.substr(colon + 1);
  if (!IsLower(service[0]) || !IsAlpha(op[0])) {
    return false;
  }
  for (char c : service) {
    if (!IsLower(c) && !IsDigit(c) && c != '-') {
      return false;
    }
  }
  for (char c : op) {
    if (!IsAlpha(c) && !IsDigit(c)) {
      return false;
    }
  }
  return true;
}

// The first control character (C0 or DEL) in `s`, as a message, or "".
std::string ControlProblem(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return "must not contain control characters (tabs, line breaks)";
    }
  }
  return "";
}

// A non-empty one-line text of at most `max` bytes.
ci::ParseResult<std::string> ParseText(const YamlNode& node, size_t max) {
  auto s = ci::ParseString(node);
  if (!s) {
    return s;
  }
  if (s->empty()) {
    return tl::unexpected(std::string("must not be empty"));
  }
  if (s->size() > max) {
    return tl::unexpected("longer than " + std::to_string(max) + " bytes");
  }
  if (auto problem = ControlProblem(*s); !problem.empty()) {
    return tl::unexpected(std::move(problem));
  }
  return s;
}

// An optionally signed decimal int64.
ci::ParseResult<int64_t> ParseInt64(const YamlNode& node) {
  const std::string expected = "expected an integer (got " + ci::DescribeNode(node) + ")";
  if (node.kind != YamlNode::Kind::kScalar) {
    return tl::unexpected(expected);
  }
  std::string_view s = node.scalar;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || s.size() > 19) {
    return tl::unexpected(expected);
  }
  uint64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) {
      return tl::unexpected(expected);
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  const uint64_t limit =
      negative ? uint64_t{1} << 63 : static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (v > limit) {
    return tl::unexpected(std::string("out of range for a 64-bit integer"));
  }
  if (negative) {
    return v == (uint64_t{1} << 63) ? std::numeric_limits<int64_t>::min()
                                    : -static_cast<int64_t>(v);
  }
  return static_cast<int64_t>(v);
}

// The closest candidate by edit distance, else the only candidate that `word` is a prefix
// of ("int" -> "integer", "instance" -> "instance_id").
std::optional<std::string> Suggest(std::string_view word,
                                   const std::vector<std::string>& candidates) {
  if (word.size() > kMaxNameBytes) {
    return std::nullopt;
  }
  if (auto closest = core::ClosestMatch(word, candidates)) {
    return closest;
  }
  std::optional<std::string> only;
  if (word.size() < 2) {
    return only;
  }
  for (const auto& c : candidates) {
    if (c.size() > word.size() && c.compare(0, word.size(), word) == 0) {
      if (only) {
        return std::nullopt;
      }
      only = c;
    }
  }
  return only;
}

std::vector<std::string> TypeNames() {
  std::vector<std::string> names;
  for (SlotType t : kSlotTypes) {
    names.emplace_back(SlotTypeName(t));
  }
  return names;
}

std::string JoinedTypeNames() {
  std::string all;
  for (const auto& n : TypeNames()) {
    all += (all.empty() ? "" : ", ") + n;
  }
  return all;
}

ci::ParseResult<SlotType> ParseSlotType(const YamlNode& node) {
  static const std::vector<std::string> names = TypeNames();
  if (node.kind != YamlNode::Kind::kScalar) {
    return tl::unexpected("expected a slot type such as integer (got " + ci::DescribeNode(node) +
                          ")");
  }
  for (size_t i = 0; i < names.size(); ++i) {
    if (node.scalar == names[i]) {
      return kSlotTypes[i];
    }
  }
  std::string message = "unknown type '" + ci::Printable(node.scalar) + "'";
  if (auto suggestion = Suggest(node.scalar, names)) {
    message += " (did you mean '" + *suggestion + "'?)";
  } else {
    message += " (expected one of " + JoinedTypeNames() + ")";
  }
  return tl::unexpected(message);
}

// Checks the {placeholders} of `text`: each must be a name `allowed` accepts. Returns ""
// or the problem. `what` names the allowed names for the message ("a slot of the intent").
template <class Allowed>
std::string CheckPlaceholders(std::string_view text, const Allowed& allowed,
                              const std::vector<std::string>& candidates, std::string_view what) {
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '}') {
      return "unmatched '}' at byte " + std::to_string(i + 1) + " (placeholders are {slot_name})";
    }
    if (c != '{') {
      ++i;
      continue;
    }
    const size_t close = text.find_first_of("{}", i + 1);
    if (close == std::string_view::npos || text[close] != '}') {
      return "unmatched '{' at byte " + std::to_string(i + 1) + " (placeholders are {slot_name})";
    }
    const std::string_view name = text.substr(i + 1, close - i - 1);
    if (name.empty()) {
      return "empty placeholder '{}' (placeholders are {slot_name})";
    }
    if (!allowed(name)) {
      std::string message = "placeholder {" + ci::Printable(name) + "} is not " + std::string(what);
      if (auto suggestion = Suggest(name, candidates)) {
        message += " (did you mean {" + *suggestion + "}?)";
      } else if (candidates.empty()) {
        message += " (the intent declares no slots)";
      } else {
        std::string all;
        for (const auto& n : candidates) {
          all += (all.empty() ? "" : ", ") + n;
        }
        message += " (expected one of " + all + ")";
      }
      return message;
    }
    i = close + 1;
  }
  return "";
}

// A list under `key`: nullptr when absent or refused (an absent key is reported by the
// caller when it is required); a non-list is reported.
const YamlNode* FindList(MapReader& m, std::string_view key, std::string_view what) {
  const YamlNode* node = m.Find(key);
  if (node == nullptr || node->kind == YamlNode::Kind::kRefused) {
    return nullptr;
  }
  if (node->kind != YamlNode::Kind::kSequence) {
    m.Error(key,
            "expected a list of " + std::string(what) + " (got " + ci::DescribeNode(*node) + ")");
    return nullptr;
  }
  return node;
}

std::vector<EnumValue> ParseEnumValues(MapReader& m, ci::Diagnostics& diags) {
  std::vector<EnumValue> out;
  const YamlNode* list = FindList(m, "values", "{value, synonyms}");
  if (list == nullptr) {
    return out;
  }
  const std::string path = m.PathOf("values");
  if (list->items.empty()) {
    m.Error("values", "must not be empty (an enum slot needs at least one value)");
    return out;
  }
  if (list->items.size() > kMaxEnumValues) {
    m.Error("values", "more than " + std::to_string(kMaxEnumValues) + " values");
    return out;
  }
  // Lower-cased value or synonym -> where it was first used, for duplicates: matching is
  // case-insensitive, so "P1" and "p1" are the same word.
  std::unordered_map<std::string, std::string> seen;
  const auto word = [&](const YamlNode& node, const std::string& wpath,
                        std::string* out_text) -> bool {
    if (node.kind == YamlNode::Kind::kRefused) {
      return false;  // an alias: reported
    }
    auto text = ParseText(node, kMaxNameBytes);
    if (!text) {
      diags.Error(node.position, wpath, std::move(text.error()));
      return false;
    }
    if (text->find_first_of("*?{}") != std::string::npos) {
      diags.Error(node.position, wpath,
                  "must not contain '*', '?', '{' or '}' (values end up in resources)");
      return false;
    }
    if (text->front() == ' ' || text->back() == ' ') {
      diags.Error(node.position, wpath, "must not start or end with a space");
      return false;
    }
    auto [it, fresh] = seen.emplace(core::AsciiLower(*text), wpath);
    if (!fresh) {
      diags.Error(node.position, wpath,
                  "'" + ci::Printable(*text) + "' is already used by " + it->second +
                      " (values and synonyms match case-insensitively; each must be unique)");
      return false;
    }
    *out_text = std::move(*text);
    return true;
  };
  for (size_t i = 0; i < list->items.size(); ++i) {
    const YamlNode& item = list->items[i];
    const std::string ipath = Index(path, i);
    if (item.kind == YamlNode::Kind::kRefused) {
      continue;  // an alias: reported
    }
    if (item.kind != YamlNode::Kind::kMap) {
      diags.Error(item.position, ipath,
                  "expected {value, synonyms} (got " + ci::DescribeNode(item) + ")");
      continue;
    }
    MapReader v(&item, ipath, item.position, diags);
    EnumValue ev;
    const YamlNode* value = v.Find("value");
    if (value == nullptr) {
      v.Error("value", "missing (the value the slot normalises to)");
    } else if (value->kind != YamlNode::Kind::kRefused) {
      word(*value, v.PathOf("value"), &ev.value);
    }
    if (const YamlNode* syn = FindList(v, "synonyms", "words")) {
      if (syn->items.size() > kMaxSynonyms) {
        v.Error("synonyms", "more than " + std::to_string(kMaxSynonyms) + " synonyms");
      } else {
        for (size_t j = 0; j < syn->items.size(); ++j) {
          std::string s;
          if (word(syn->items[j], Index(v.PathOf("synonyms"), j), &s)) {
            ev.synonyms.push_back(std::move(s));
          }
        }
      }
    }
    v.Finish();
    out.push_back(std::move(ev));
  }
  return out;
}

std::optional<SlotSpec> ParseSlot(const YamlNode& node, const std::string& path,
                                  ci::Diagnostics& diags) {
  if (node.kind == YamlNode::Kind::kRefused) {
    return std::nullopt;  // an alias: reported
  }
  if (node.kind != YamlNode::Kind::kMap) {
    diags.Error(node.position, path,
                "expected a slot mapping with name and type (got " + ci::DescribeNode(node) + ")");
    return std::nullopt;
  }
  MapReader m(&node, path, node.position, diags);
  SlotSpec s;
  bool ok = true;
  const auto missing = [&](std::string_view key, std::string why) {
    m.Error(key, "missing (" + std::move(why) + ")");
    ok = false;
  };

  if (const YamlNode* name = m.Find("name"); name == nullptr) {
    missing("name", "a snake_case slot name such as instance_id");
  } else if (name->kind != YamlNode::Kind::kRefused) {
    auto text = ci::ParseString(*name);
    if (!text) {
      m.Error("name", std::move(text.error()));
      ok = false;
    } else if (!IsSnakeWord(*text) || text->size() > kMaxNameBytes) {
      m.Error("name", "'" + ci::Printable(*text) +
                          "' is not a slot name (lower-case letters, digits and '_', starting "
                          "with a letter, at most " +
                          std::to_string(kMaxNameBytes) + " characters)");
      ok = false;
    } else if (*text == "account") {
      m.Error("name", "'account' is reserved ({account} in a resource is the AWS account)");
      ok = false;
    } else {
      s.name = std::move(*text);
    }
  } else {
    ok = false;
  }

  // The type-specific keys are checked only against a type that was read.
  bool type_ok = false;
  if (m.Find("type") == nullptr) {
    missing("type", "one of " + JoinedTypeNames());
  } else if (!m.Read("type", ParseSlotType, &s.type)) {
    ok = false;
  } else {
    type_ok = true;
  }

  m.ReadBool("required", &s.required);
  if (m.Find("prompt") != nullptr) {
    if (!m.Read(
            "prompt", [](const YamlNode& n) { return ParseText(n, kMaxTextBytes); }, &s.prompt)) {
      ok = false;
    }
  } else if (s.required) {
    missing("prompt", "a required slot needs the question the dialog asks when it is missing");
  }

  const bool integer = type_ok && s.type == SlotType::kInteger;
  const bool has_min = m.Find("min") != nullptr;
  const bool has_max = m.Find("max") != nullptr;
  if ((has_min || has_max) && !integer && type_ok) {
    m.Error(has_min ? "min" : "max", "only for slots of type integer");
    ok = false;
  } else if (integer) {
    m.Read("min", ParseInt64, &s.min);
    m.Read("max", ParseInt64, &s.max);
    if (s.min > s.max) {
      m.Error("min",
              "greater than max (" + std::to_string(s.min) + " > " + std::to_string(s.max) + ")");
      ok = false;
    }
  }

  const bool is_enum = type_ok && s.type == SlotType::kEnum;
  if (is_enum) {
    if (m.Find("values") == nullptr) {
      missing("values", "an enum slot needs a list of {value, synonyms}");
    } else {
      s.values = ParseEnumValues(m, diags);
    }
  } else if (m.Find("values") != nullptr && type_ok) {
    m.Error("values", "only for slots of type enum");
    ok = false;
  }
  m.Finish();
  if (!ok) {
    return std::nullopt;
  }
  return s;
}

std::optional<IntentSpec> ParseIntent(const YamlNode& node, const std::string& path,
                                      ci::Diagnostics& diags) {
  if (node.kind == YamlNode::Kind::kRefused) {
    return std::nullopt;  // an alias: reported
  }
  if (node.kind != YamlNode::Kind::kMap) {
    diags.Error(node.position, path,
                "expected an intent mapping with name, description, action, resource and "
                "utterances (got " +
                    ci::DescribeNode(node) + ")");
    return std::nullopt;
  }
  MapReader m(&node, path, node.position, diags);
  IntentSpec intent;
  bool ok = true;
  const auto missing = [&](std::string_view key, std::string why) {
    m.Error(key, "missing (" + std::move(why) + ")");
    ok = false;
  };
  const auto text = [&](std::string_view key, size_t max, std::string* out,
                        std::string why) -> bool {
    if (m.Find(key) == nullptr) {
      if (!why.empty()) {
        missing(key, std::move(why));
      }
      return false;
    }
    if (!m.Read(
            key, [max](const YamlNode& n) { return ParseText(n, max); }, out)) {
      ok = false;
      return false;
    }
    return true;
  };

  if (text("name", kMaxNameBytes + 1, &intent.name, "a dotted lower-case name such as ec2.stop")) {
    if (!IsIntentName(intent.name)) {
      m.Error("name", "'" + ci::Printable(intent.name) +
                          "' is not an intent name (<service>.<verb> such as ec2.stop, or one "
                          "word such as help: lower-case letters, digits and '_', each part "
                          "starting with a letter, at most " +
                          std::to_string(kMaxNameBytes) + " characters)");
      ok = false;
    } else if (intent.name == "none") {
      m.Error("name", "'none' is reserved (the classifier's answer for out-of-scope text)");
      ok = false;
    }
  }
  text("description", kMaxTextBytes, &intent.description, "one line saying what it does");
  if (text("action", kMaxTemplateBytes, &intent.action,
           "the action the policy authorises, such as ec2:StopInstances") &&
      !IsAction(intent.action)) {
    m.Error("action", "'" + ci::Printable(intent.action) +
                          "' is not an action (<service>:<Operation> such as "
                          "ec2:StopInstances)");
    ok = false;
  }
  text("resource", kMaxTemplateBytes, &intent.resource_template,
       "the resource template, such as arn:aws:ec2:{region}:{account}:instance/{instance_id}, "
       "or *");
  m.ReadBool("destructive", &intent.destructive);
  const bool has_confirmation = m.ReadEnum<Confirmation>("confirmation",
                                                         {{"none", Confirmation::kNone},
                                                          {"confirm", Confirmation::kConfirm},
                                                          {"typed", Confirmation::kTyped}},
                                                         &intent.confirmation);
  // An invalid `confirmation` is reported; the checks that depend on it are skipped.
  const bool confirmation_ok = has_confirmation || m.Find("confirmation") == nullptr;
  if (!confirmation_ok) {
    ok = false;
  }

  // Slots first: the other keys refer to them. When a slot could not be read (reported),
  // references to slots are not checked: they would only repeat the problem.
  std::vector<std::string> slot_names;
  bool slots_ok = true;
  if (const YamlNode* list = FindList(m, "slots", "slot mappings")) {
    if (list->items.size() > kMaxSlots) {
      m.Error("slots", "more than " + std::to_string(kMaxSlots) + " slots");
      ok = slots_ok = false;
    } else {
      std::unordered_map<std::string, size_t> seen;
      for (size_t i = 0; i < list->items.size(); ++i) {
        const std::string spath = Index(m.PathOf("slots"), i);
        auto slot = ParseSlot(list->items[i], spath, diags);
        if (!slot) {
          ok = slots_ok = false;
          continue;
        }
        auto [it, fresh] = seen.emplace(slot->name, i);
        if (!fresh) {
          diags.Error(list->items[i].position, spath + ".name",
                      "duplicate slot name '" + slot->name + "' (first used by " +
                          Index(m.PathOf("slots"), it->second) + ")");
          ok = false;
          continue;
        }
        slot_names.push_back(slot->name);
        intent.slots.push_back(std::move(*slot));
      }
    }
  } else if (m.Find("slots") != nullptr) {
    ok = slots_ok = false;  // not a list: reported
  }
  const auto is_slot = [&](std::string_view n) { return !slots_ok || intent.Slot(n) != nullptr; };
  constexpr std::string_view kSlotWhat = "a slot of the intent";

  if (const YamlNode* list = FindList(m, "utterances", "sample utterances")) {
    if (list->items.empty()) {
      m.Error("utterances", "must not be empty (the classifier learns the intent from them)");
      ok = false;
    } else if (list->items.size() > kMaxUtterances) {
      m.Error("utterances", "more than " + std::to_string(kMaxUtterances) + " utterances");
      ok = false;
    } else {
      std::unordered_map<std::string, size_t> seen;
      for (size_t i = 0; i < list->items.size(); ++i) {
        const YamlNode& item = list->items[i];
        const std::string upath = Index(m.PathOf("utterances"), i);
        if (item.kind == YamlNode::Kind::kRefused) {
          ok = false;  // an alias: reported
          continue;
        }
        auto u = ParseText(item, kMaxTextBytes);
        if (!u) {
          diags.Error(item.position, upath, std::move(u.error()));
          ok = false;
          continue;
        }
        if (auto problem = CheckPlaceholders(*u, is_slot, slot_names, kSlotWhat);
            !problem.empty()) {
          diags.Error(item.position, upath, std::move(problem));
          ok = false;
          continue;
        }
        auto [it, fresh] = seen.emplace(core::AsciiLower(*u), i);
        if (!fresh) {
          diags.Error(
              item.position, upath,
              "duplicate utterance (same as " + Index(m.PathOf("utterances"), it->second) + ")");
          ok = false;
          continue;
        }
        intent.utterances.push_back(std::move(*u));
      }
    }
  } else if (m.Find("utterances") == nullptr) {
    missing("utterances", "a list of sample utterances with {slot} placeholders");
  } else {
    ok = false;
  }

  // The resource may also use {account}, and {region} even without a region slot (it is
  // then always '*', see ResourceFor()).
  if (!intent.resource_template.empty()) {
    std::vector<std::string> names = slot_names;
    names.emplace_back("account");
    if (intent.Slot("region") == nullptr) {
      names.emplace_back("region");
    }
    const auto allowed = [&](std::string_view n) {
      return n == "account" || n == "region" || is_slot(n);
    };
    if (auto problem = CheckPlaceholders(intent.resource_template, allowed, names,
                                         "{account}, {region} or a slot of the intent");
        !problem.empty()) {
      m.Error("resource", std::move(problem));
      ok = false;
    }
  }

  const bool has_typed = text("typed_slot", kMaxNameBytes + 1, &intent.typed_slot, "");
  if (intent.confirmation == Confirmation::kTyped) {
    if (!has_typed && m.Find("typed_slot") == nullptr) {
      missing("typed_slot", "confirmation: typed needs the slot the user re-types");
    } else if (has_typed) {
      const SlotSpec* slot = intent.Slot(intent.typed_slot);
      if (slot == nullptr && slots_ok) {
        std::string message =
            "'" + ci::Printable(intent.typed_slot) + "' is not a slot of the intent";
        if (auto s = Suggest(intent.typed_slot, slot_names)) {
          message += " (did you mean '" + *s + "'?)";
        }
        m.Error("typed_slot", std::move(message));
        ok = false;
      } else if (slot != nullptr && !slot->required) {
        m.Error("typed_slot", "'" + intent.typed_slot +
                                  "' is optional; the re-typed slot must be required: true");
        ok = false;
      }
    }
  } else if (m.Find("typed_slot") != nullptr && confirmation_ok) {
    m.Error("typed_slot", "only with confirmation: typed");
    ok = false;
  }

  const bool has_prompt =
      text("confirmation_prompt", kMaxTextBytes, &intent.confirmation_prompt, "");
  if (!confirmation_ok) {
    // Reported at `confirmation`.
  } else if (intent.confirmation == Confirmation::kNone) {
    if (m.Find("confirmation_prompt") != nullptr) {
      m.Error("confirmation_prompt",
              has_confirmation
                  ? "only with confirmation: confirm or typed"
                  : "only with confirmation: confirm or typed (confirmation is none when absent)");
      ok = false;
    }
  } else if (!has_prompt && m.Find("confirmation_prompt") == nullptr) {
    missing("confirmation_prompt", "what the user is asked to confirm, with {slot} placeholders");
  } else if (has_prompt) {
    if (auto problem =
            CheckPlaceholders(intent.confirmation_prompt, is_slot, slot_names, kSlotWhat);
        !problem.empty()) {
      m.Error("confirmation_prompt", std::move(problem));
      ok = false;
    }
  }
  m.Finish();
  if (!ok) {
    return std::nullopt;
  }
  return intent;
}

CatalogueResult Refused(ci::Diagnostics& diags) { return tl::unexpected(diags.Take()); }

}  // namespace

CatalogueResult ParseCatalogue(std::string_view yaml, std::string_view source_name) {
  ci::Diagnostics diags{std::string(source_name)};
  auto root = ci::ParseYamlTree(yaml, kMaxCatalogueBytes, kMaxCatalogueDepth, diags);
  if (!root) {
    return Refused(diags);
  }
  if (root->kind == YamlNode::Kind::kNull) {
    diags.Error(Position{1, 1}, "", "empty catalogue (needs version: 1 and intents:)");
    return Refused(diags);
  }
  MapReader top(&*root, "", Position{1, 1}, diags);
  if (!top.ok()) {
    return Refused(diags);
  }
  Catalogue catalogue;
  uint64_t version = 0;
  if (top.Find("version") == nullptr) {
    top.Error("version", "missing (version: 1)");
  } else {
    top.ReadInteger("version", 1, 1, &version);
  }
  const YamlNode* list = FindList(top, "intents", "intents");
  if (list == nullptr && top.Find("intents") == nullptr) {
    top.Error("intents", "missing (a list of intents)");
  } else if (list != nullptr && list->items.empty()) {
    top.Error("intents", "must not be empty (a catalogue needs at least one intent)");
  } else if (list != nullptr && list->items.size() > kMaxIntents) {
    top.Error("intents", "more than " + std::to_string(kMaxIntents) + " intents");
  } else if (list != nullptr) {
    std::unordered_map<std::string, size_t> names;
    for (size_t i = 0; i < list->items.size(); ++i) {
      const std::string path = Index("intents", i);
      auto intent = ParseIntent(list->items[i], path, diags);
      if (!intent) {
        continue;
      }
      auto [it, fresh] = names.emplace(intent->name, i);
      if (!fresh) {
        diags.Error(list->items[i].position, path + ".name",
                    "duplicate intent name '" + intent->name + "' (first used by intents[" +
                        std::to_string(it->second) + "])");
        continue;
      }
      catalogue.intents.push_back(std::move(*intent));
    }
  }
  top.Finish();
  if (diags.has_errors()) {
    return Refused(diags);
  }
  return catalogue;
}

std::string DefaultCatalogueYaml() {
  return R"yaml(# The intent catalogue: what people can ask opsgate for in chat. Written by
# `opsgate init` and referenced by the config as intents.file.
# The format: docs/intents-catalogue.md.
#
# Each intent has sample utterances with {slot} placeholders (the classifier learns from
# them), typed slots (every value is validated and normalised by its type before it
# reaches the policy or a backend), how it is confirmed, and the action and resource the
# policy authorises. The command syntax always works too: "ec2 stop i-0abc1234".
#
# Check a change with:  opsgate check --config opsgate.yaml
version: 1

intents:
  # ---- EC2 -------------------------------------------------------------------------
  - name: ec2.describe
    description: Show the state, type and addresses of EC2 instances.
    action: ec2:DescribeInstances
    # Without an instance id the optional slot becomes '*': all instances of the region.
    resource: "arn:aws:ec2:{region}:{account}:instance/{instance_id}"
    destructive: false
    confirmation: none
    utterances:
      - "describe instance {instance_id}"
      - "what is the status of {instance_id}"
      - "show me {instance_id} in {region}"
      - "list my instances"
      - "list instances in {region}"
      - "is {instance_id} running"
      - "give me details about server {instance_id}"
      - "show the instances named {name}"
      - "find the instance called {name}"
      - "list {state} instances"
    slots:
      - name: instance_id
        type: aws_instance_id
        required: false
        prompt: "Which instance? (an id such as i-0abc1234)"
      - name: region
        type: aws_region
        required: false
        prompt: "Which region? (such as eu-west-1)"
      # By Name tag and by state (pending, running, stopping, stopped, shutting-down,
      # terminated): `ec2 describe name=web-1`, `ec2 describe state=stopped`.
      - name: name
        type: identifier
        required: false
        prompt: "Which Name tag?"
      - name: state
        type: identifier
        required: false
        prompt: "Which state? (running, stopped, pending, stopping, terminated)"

  - name: ec2.start
    description: Start a stopped EC2 instance.
    action: ec2:StartInstances
    resource: "arn:aws:ec2:{region}:{account}:instance/{instance_id}"
    destructive: false
    confirmation: none
    utterances:
      - "start {instance_id}"
      - "start instance {instance_id}"
      - "boot up {instance_id} in {region}"
      - "power on server {instance_id}"
      - "please bring {instance_id} back up"
      - "turn on {instance_id}"
    slots:
      - name: instance_id
        type: aws_instance_id
        required: true
        prompt: "Which instance? (an id such as i-0abc1234)"
      - name: region
        type: aws_region
        required: false
        prompt: "Which region? (such as eu-west-1)"

  - name: ec2.stop
    description: Stop a running EC2 instance.
    action: ec2:StopInstances
    resource: "arn:aws:ec2:{region}:{account}:instance/{instance_id}"
    destructive: true
    confirmation: confirm
    confirmation_prompt: "Stop instance {instance_id}?"
    utterances:
      - "stop {instance_id}"
      - "stop instance {instance_id}"
      - "shut down {instance_id} in {region}"
      - "power off server {instance_id}"
      - "could you stop {instance_id} please"
      - "turn off {instance_id}"
      - "halt {instance_id}"
    slots:
      - name: instance_id
        type: aws_instance_id
        required: true
        prompt: "Which instance? (an id such as i-0abc1234)"
      - name: region
        type: aws_region
        required: false
        prompt: "Which region? (such as eu-west-1)"

  - name: ec2.reboot
    description: Reboot an EC2 instance.
    action: ec2:RebootInstances
    resource: "arn:aws:ec2:{region}:{account}:instance/{instance_id}"
    destructive: true
    confirmation: confirm
    confirmation_prompt: "Reboot instance {instance_id}?"
    utterances:
      - "reboot {instance_id}"
      - "restart instance {instance_id}"
      - "bounce {instance_id} in {region}"
      - "power cycle server {instance_id}"
      - "please reboot {instance_id}"
      - "give {instance_id} a restart"
    slots:
      - name: instance_id
        type: aws_instance_id
        required: true
        prompt: "Which instance? (an id such as i-0abc1234)"
      - name: region
        type: aws_region
        required: false
        prompt: "Which region? (such as eu-west-1)"

  - name: ec2.resize
    description: Change the instance type of a stopped EC2 instance.
    action: ec2:ModifyInstanceAttribute
    resource: "arn:aws:ec2:{region}:{account}:instance/{instance_id}"
    destructive: true
    # The user re-types the instance id: a yes is too easy to give to the wrong instance.
    confirmation: typed
    typed_slot: instance_id
    confirmation_prompt: "Resizing {instance_id} to {instance_type} needs it stopped. Type the
      instance id to confirm."
    utterances:
      - "resize {instance_id} to {instance_type}"
      - "change the instance type of {instance_id} to {instance_type}"
      - "make {instance_id} a {instance_type}"
      - "upgrade {instance_id} to {instance_type} in {region}"
      - "switch {instance_id} to {instance_type}"
      - "i need {instance_id} to be a {instance_type} instance"
    slots:
      - name: instance_id
        type: aws_instance_id
        required: true
        prompt: "Which instance? (an id such as i-0abc1234)"
      - name: instance_type
        type: ec2_instance_type
        required: true
        prompt: "Which instance type? (such as t3.large)"
      - name: region
        type: aws_region
        required: false
        prompt: "Which region? (such as eu-west-1)"

  # ---- Auto Scaling ----------------------------------------------------------------
  - name: asg.scale
    description: Set the desired capacity of an Auto Scaling group.
    action: autoscaling:SetDesiredCapacity
    # The group has no region slot: {region} is always '*'.
    resource: "arn:aws:autoscaling:{region}:{account}:autoScalingGroup:*:\
      autoScalingGroupName/{group}"
    destructive: true
    confirmation: typed
    typed_slot: capacity
    confirmation_prompt: "Set the desired capacity of {group} to {capacity}? Type the number
      again to confirm."
    utterances:
      - "scale {group} to {capacity}"
      - "set desired capacity of {group} to {capacity}"
      - "scale the {group} group to {capacity} instances"
      - "resize auto scaling group {group} to {capacity}"
      - "change {group} capacity to {capacity}"
      - "i want {capacity} instances in {group}"
    slots:
      - name: group
        type: identifier
        required: true
        prompt: "Which Auto Scaling group?"
      - name: capacity
        type: integer
        required: true
        prompt: "How many instances? (0 to 1000)"
        min: 0
        max: 1000

  # ---- WAF -------------------------------------------------------------------------
  - name: waf.block_ip
    description: Block an IP address or CIDR range at the web application firewall.
    action: waf:BlockIp
    resource: "opsgate:waf/ip/{ip}"
    destructive: true
    confirmation: confirm
    confirmation_prompt: "Block all traffic from {ip} at the WAF?"
    utterances:
      - "block {ip}"
      - "block ip {ip} on the waf"
      - "ban {ip}"
      - "add {ip} to the waf block list"
      - "deny traffic from {ip}"
      - "stop traffic from {ip} please"
    slots:
      - name: ip
        type: ip_or_cidr
        required: true
        prompt: "Which IP address or CIDR range? (such as 203.0.113.7 or 2001:db8::/48)"

  - name: waf.unblock_ip
    description: Remove an IP address or CIDR range from the WAF block list.
    action: waf:UnblockIp
    resource: "opsgate:waf/ip/{ip}"
    # Not destructive, but it re-admits traffic that someone chose to block.
    destructive: false
    confirmation: confirm
    confirmation_prompt: "Allow traffic from {ip} through the WAF again?"
    utterances:
      - "unblock {ip}"
      - "unban {ip}"
      - "remove {ip} from the waf block list"
      - "allow traffic from {ip} again"
      - "lift the block on {ip}"
    slots:
      - name: ip
        type: ip_or_cidr
        required: true
        prompt: "Which IP address or CIDR range? (such as 203.0.113.7 or 2001:db8::/48)"

  # ---- Monitoring, tickets, pipelines, incidents ------------------------------------
  - name: alarms.status
    description: List the CloudWatch alarms that are firing.
    action: cloudwatch:DescribeAlarms
    resource: "arn:aws:cloudwatch:{region}:{account}:alarm:*"
    destructive: false
    confirmation: none
    utterances:
      - "what alarms are firing"
      - "show alarms in {region}"
      - "alarm status"
      - "are there any alarms in {region}"
      - "which cloudwatch alarms are red"
      - "anything alerting right now"
    slots:
      - name: region
        type: aws_region
        required: false
        prompt: "Which region? (such as eu-west-1)"

  - name: jira.create
    description: Open a Jira ticket in a project.
    action: jira:CreateIssue
    resource: "opsgate:jira/project/{project}"
    destructive: false
    confirmation: none
    utterances:
      - "create a jira ticket in {project} saying {summary}"
      - "open a ticket in {project}: {summary}"
      - "file a jira issue for {project} about {summary}"
      - "new {project} ticket {summary}"
      - "raise a ticket in {project} for {summary}"
      - "log a bug in {project} called {summary}"
    slots:
      - name: project
        type: jira_project_key
        required: true
        prompt: "Which Jira project? (a key such as OPS)"
      - name: summary
        type: free_text
        required: true
        prompt: "What should the summary say?"

  - name: pipeline.run
    description: Start a run of a CI/CD pipeline, optionally on a branch.
    action: pipeline:Run
    resource: "opsgate:pipeline/{pipeline}"
    destructive: false
    confirmation: none
    utterances:
      - "run pipeline {pipeline}"
      - "run {pipeline} on {branch}"
      - "trigger the {pipeline} pipeline"
      - "kick off {pipeline} for branch {branch}"
      - "start a build of {pipeline}"
      - "deploy {pipeline} from {branch}"
    slots:
      - name: pipeline
        type: identifier
        required: true
        prompt: "Which pipeline?"
      - name: branch
        type: identifier
        required: false
        prompt: "Which branch? (the pipeline's default if none)"

  - name: incident.open
    description: Declare an incident for a service and page its on-call.
    action: incident:Open
    resource: "opsgate:incident/{service}"
    destructive: false
    confirmation: none
    utterances:
      - "open an incident for {service}"
      - "declare a {severity} incident on {service}: {summary}"
      - "{service} is down, open a {severity}"
      - "start an incident for {service} severity {severity}"
      - "page on-call for {service} about {summary}"
      - "raise a {severity} for {service} because {summary}"
    slots:
      - name: service
        type: identifier
        required: true
        prompt: "Which service is affected?"
      - name: severity
        type: enum
        required: true
        prompt: "How severe? (sev1, sev2, sev3 or sev4)"
        # Matched case-insensitively; the slot's value is always the `value`.
        values:
          - value: sev1
            synonyms: [critical, p1, s1, sev-1, severity1]
          - value: sev2
            synonyms: [high, major, p2, s2, sev-2, severity2]
          - value: sev3
            synonyms: [medium, moderate, p3, s3, sev-3, severity3]
          - value: sev4
            synonyms: [low, minor, p4, s4, sev-4, severity4]
      - name: summary
        type: free_text
        required: true
        prompt: "What is happening, in one line?"

  # ---- Help ------------------------------------------------------------------------
  # Optional: without it the built-in help command still works.
  - name: help
    description: Explain what the bot can do and how to ask for it.
    action: opsgate:Help
    resource: "*"
    destructive: false
    confirmation: none
    utterances:
      - "help"
      - "what can you do"
      - "how do i use this bot"
      - "show me the commands"
      - "what commands are there"
)yaml";
}

std::string CatalogueDifference(const Catalogue& a, const Catalogue& b) {
  const auto quote = [](const std::string& s) { return "'" + ci::Printable(s) + "'"; };
  const auto strings = [&](const std::vector<std::string>& x) {
    std::string out = "[";
    for (const auto& s : x) {
      out += (out.size() > 1 ? ", " : "") + quote(s);
    }
    return out + "]";
  };
  const auto differ = [](const std::string& path, const std::string& x, const std::string& y) {
    return path + ": " + x + " != " + y;
  };
  if (a.intents.size() != b.intents.size()) {
    return differ("intents (count)", std::to_string(a.intents.size()),
                  std::to_string(b.intents.size()));
  }
  for (size_t i = 0; i < a.intents.size(); ++i) {
    const IntentSpec& x = a.intents[i];
    const IntentSpec& y = b.intents[i];
    const std::string p = Index("intents", i) + ".";
    if (x.name != y.name) return differ(p + "name", quote(x.name), quote(y.name));
    if (x.description != y.description) {
      return differ(p + "description", quote(x.description), quote(y.description));
    }
    if (x.action != y.action) return differ(p + "action", quote(x.action), quote(y.action));
    if (x.resource_template != y.resource_template) {
      return differ(p + "resource", quote(x.resource_template), quote(y.resource_template));
    }
    if (x.destructive != y.destructive) {
      return differ(p + "destructive", x.destructive ? "true" : "false",
                    y.destructive ? "true" : "false");
    }
    if (x.confirmation != y.confirmation) {
      return differ(p + "confirmation", std::to_string(static_cast<int>(x.confirmation)),
                    std::to_string(static_cast<int>(y.confirmation)));
    }
    if (x.typed_slot != y.typed_slot) {
      return differ(p + "typed_slot", quote(x.typed_slot), quote(y.typed_slot));
    }
    if (x.confirmation_prompt != y.confirmation_prompt) {
      return differ(p + "confirmation_prompt", quote(x.confirmation_prompt),
                    quote(y.confirmation_prompt));
    }
    if (x.utterances != y.utterances) {
      return differ(p + "utterances", strings(x.utterances), strings(y.utterances));
    }
    if (x.slots.size() != y.slots.size()) {
      return differ(p + "slots (count)", std::to_string(x.slots.size()),
                    std::to_string(y.slots.size()));
    }
    for (size_t j = 0; j < x.slots.size(); ++j) {
      const SlotSpec& s = x.slots[j];
      const SlotSpec& t = y.slots[j];
      const std::string q = p + Index("slots", j) + ".";
      if (s.name != t.name) return differ(q + "name", quote(s.name), quote(t.name));
      if (s.type != t.type) {
        return differ(q + "type", std::string(SlotTypeName(s.type)),
                      std::string(SlotTypeName(t.type)));
      }
      if (s.required != t.required) {
        return differ(q + "required", s.required ? "true" : "false", t.required ? "true" : "false");
      }
      if (s.prompt != t.prompt) return differ(q + "prompt", quote(s.prompt), quote(t.prompt));
      if (s.min != t.min) return differ(q + "min", std::to_string(s.min), std::to_string(t.min));
      if (s.max != t.max) return differ(q + "max", std::to_string(s.max), std::to_string(t.max));
      if (s.values.size() != t.values.size()) {
        return differ(q + "values (count)", std::to_string(s.values.size()),
                      std::to_string(t.values.size()));
      }
      for (size_t k = 0; k < s.values.size(); ++k) {
        const std::string r = q + Index("values", k) + ".";
        if (s.values[k].value != t.values[k].value) {
          return differ(r + "value", quote(s.values[k].value), quote(t.values[k].value));
        }
        if (s.values[k].synonyms != t.values[k].synonyms) {
          return differ(r + "synonyms", strings(s.values[k].synonyms),
                        strings(t.values[k].synonyms));
        }
      }
    }
  }
  return "";
}

CatalogueResult LoadCatalogueFile(const std::string& path) {
  auto text = ci::ReadFileAtMost(path, kMaxCatalogueBytes);
  if (!text) {
    std::string why = ci::DescribeFileError(text.error(), kMaxCatalogueBytes);
    config::Diagnostic d;
    d.file = path;
    d.message = std::move(why);
    return tl::unexpected(std::vector<config::Diagnostic>{std::move(d)});
  }
  return ParseCatalogue(*text, path);
}

core::Result<Catalogue> LoadConfiguredCatalogue(const std::string& file) {
  if (file.empty()) {
    return DefaultCatalogue();
  }
  auto loaded = LoadCatalogueFile(file);
  if (!loaded) {
    std::string why;
    for (const config::Diagnostic& d : loaded.error()) {
      why += (why.empty() ? "" : "\n") + d.ToString();
    }
    return core::Fail(core::InvalidArgument("intents.file: " + why));
  }
  return std::move(*loaded);
}

size_t AddUtterances(Catalogue& catalogue,
                     const std::vector<std::pair<std::string, std::string>>& utterances) {
  size_t added = 0;
  for (const auto& [name, utterance] : utterances) {
    IntentSpec* intent = nullptr;
    for (IntentSpec& i : catalogue.intents) {
      if (i.name == name) {
        intent = &i;
      }
    }
    if (intent == nullptr || utterance.empty() || utterance.size() > kMaxTextBytes ||
        intent->utterances.size() >= kMaxUtterances) {
      continue;
    }
    std::vector<std::string> slot_names;
    for (const SlotSpec& slot : intent->slots) {
      slot_names.push_back(slot.name);
    }
    const auto is_slot = [&](std::string_view n) {
      return std::find(slot_names.begin(), slot_names.end(), n) != slot_names.end();
    };
    if (!CheckPlaceholders(utterance, is_slot, slot_names, "a slot of the intent").empty()) {
      continue;
    }
    const std::string folded = core::AsciiLower(utterance);
    bool duplicate = false;
    for (const std::string& u : intent->utterances) {
      duplicate = duplicate || core::AsciiLower(u) == folded;
    }
    if (!duplicate) {
      intent->utterances.push_back(utterance);
      ++added;
    }
  }
  return added;
}

}  // namespace opsgate::intents
