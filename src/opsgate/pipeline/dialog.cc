#include "opsgate/pipeline/dialog.h"

#include <boost/json.hpp>
#include <cctype>
#include <string>
#include <utility>

#include "opsgate/core/strings.h"
#include "opsgate/intents/slot_types.h"
#include "opsgate/pipeline/authorizer.h"

namespace opsgate::pipeline {
namespace {

namespace json = boost::json;

constexpr size_t kMaxAlternatives = 3;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// "yes", "Yes!", "ok." -> "yes", "ok": lower case without surrounding punctuation.
std::string Word(std::string_view text) {
  std::string w = Lower(core::Trim(text));
  while (!w.empty() && std::ispunct(static_cast<unsigned char>(w.back()))) {
    w.pop_back();
  }
  return w;
}

bool IsCancel(std::string_view text) {
  const std::string w = Word(text);
  return w == "cancel" || w == "abort" || w == "never mind" || w == "nevermind" ||
         w == "forget it" || w == "stop that";
}

bool IsYes(std::string_view text) {
  const std::string w = Word(text);
  return w == "yes" || w == "y" || w == "yes please" || w == "confirm" || w == "ok" ||
         w == "do it" || w == "go ahead";
}

bool IsNo(std::string_view text) {
  const std::string w = Word(text);
  return w == "no" || w == "n" || w == "no thanks" || w == "don't" || w == "do not";
}

Understanding Answer(Reply reply) {
  Understanding u;
  u.kind = Understanding::Kind::kReply;
  u.reply = std::move(reply);
  return u;
}

Reply Say(std::string text) {
  Reply r(text);
  r.Text(std::move(text));
  return r;
}

// "Stop {instance_id} in {region}?" with the slots filled in.
std::string Fill(std::string text, const std::map<std::string, std::string>& slots) {
  for (const auto& [name, value] : slots) {
    const std::string placeholder = "{" + name + "}";
    for (size_t at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size())) {
      text.replace(at, placeholder.size(), value);
    }
  }
  return text;
}

struct State {
  std::string stage;  // "slot" or "confirm"
  std::string intent;
  std::map<std::string, std::string> slots;
  std::string awaiting;  // stage "slot": the slot asked for
};

std::string Encode(const State& s) {
  json::object slots;
  for (const auto& [k, v] : s.slots) {
    slots[k] = v;
  }
  return json::serialize(json::object{{"v", 1},
                                      {"stage", s.stage},
                                      {"intent", s.intent},
                                      {"slots", std::move(slots)},
                                      {"awaiting", s.awaiting}});
}

std::optional<State> Decode(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    return std::nullopt;
  }
  const json::object& o = v.get_object();
  const auto str = [&](std::string_view k) -> std::optional<std::string> {
    const json::value* f = o.if_contains(k);
    if (f == nullptr || !f->is_string()) {
      return std::nullopt;
    }
    return std::string(f->get_string());
  };
  State s;
  auto stage = str("stage");
  auto intent = str("intent");
  auto awaiting = str("awaiting");
  const json::value* slots = o.if_contains("slots");
  if (!stage || !intent || !awaiting || slots == nullptr || !slots->is_object()) {
    return std::nullopt;
  }
  s.stage = *stage;
  s.intent = *intent;
  s.awaiting = *awaiting;
  for (const auto& [k, val] : slots->get_object()) {
    if (!val.is_string()) {
      return std::nullopt;
    }
    s.slots.emplace(std::string(k), std::string(val.get_string()));
  }
  return s;
}

// The first required slot without a value.
const intents::SlotSpec* NextMissing(const intents::IntentSpec& intent,
                                     const std::map<std::string, std::string>& slots) {
  for (const intents::SlotSpec& slot : intent.slots) {
    if (slot.required && slots.count(slot.name) == 0) {
      return &slot;
    }
  }
  return nullptr;
}

// Saves the dialog and asks for the next missing slot; or, when none is missing, the
// complete request.
Understanding AskOrComplete(const Message& message, const intents::IntentSpec& intent,
                            std::map<std::string, std::string> slots, const UnderstandEnv& env,
                            core::Clock::WallTime now, std::string_view problem = {}) {
  if (!env.defaults.region.empty() && intent.Slot("region") != nullptr &&
      slots.count("region") == 0) {
    slots["region"] = env.defaults.region;
  }
  const intents::SlotSpec* missing = NextMissing(intent, slots);
  if (missing == nullptr) {
    if (env.dialogs != nullptr) {
      (void)env.dialogs->Delete(DialogKey(message));
    }
    return CompleteRequest(intent, std::move(slots), env);
  }
  if (env.dialogs == nullptr) {
    Understanding u;
    u.kind = Understanding::Kind::kMissingSlots;
    u.missing = {missing->name};
    u.usage = intents::Usage(intent);
    u.request.intent = intent.name;
    return u;
  }
  State state{"slot", intent.name, slots, missing->name};
  if (auto saved = env.dialogs->Put({DialogKey(message), Encode(state), now + env.dialog_timeout});
      !saved) {
    return Answer(Say("opsgate cannot keep track of this conversation right now; send the "
                      "whole command, e.g. " + intents::Usage(intent)));
  }
  std::string ask = missing->prompt.empty() ? "Which " + missing->name + "?" : missing->prompt;
  Reply r((problem.empty() ? "" : std::string(problem) + " ") + ask);
  if (!problem.empty()) {
    r.Text(std::string(problem));
  }
  r.Text(ask).Note("For " + intent.name + ". Reply with the value, or cancel.");
  Understanding u = Answer(std::move(r));
  u.request.intent = intent.name;
  u.request.slots = std::move(slots);
  return u;
}

// An answer to "which ...?".
Understanding ContinueSlot(const Message& message, const State& state,
                           const intents::IntentSpec& intent, const UnderstandEnv& env,
                           core::Clock::WallTime now) {
  const intents::SlotSpec* slot = intent.Slot(state.awaiting);
  if (slot == nullptr) {
    (void)env.dialogs->Delete(DialogKey(message));
    return Answer(Say("That conversation can no longer continue; send the command again."));
  }
  auto value = intents::NormaliseSlot(*slot, core::Trim(message.text));
  if (!value) {
    // Stays open: the same question again, with what was wrong.
    return AskOrComplete(message, intent, state.slots, env, now, value.error().message + ".");
  }
  std::map<std::string, std::string> slots = state.slots;
  slots[slot->name] = *value;
  return AskOrComplete(message, intent, std::move(slots), env, now);
}

// An answer to "confirm ...?".
Understanding ContinueConfirm(const Message& message, const State& state,
                              const intents::IntentSpec& intent, const UnderstandEnv& env) {
  const std::string key = DialogKey(message);
  if (intent.confirmation == intents::Confirmation::kTyped) {
    const intents::SlotSpec* slot = intent.Slot(intent.typed_slot);
    const auto expected = state.slots.find(intent.typed_slot);
    if (slot != nullptr && expected != state.slots.end()) {
      auto typed = intents::NormaliseSlot(*slot, core::Trim(message.text));
      if (typed && *typed == expected->second) {
        (void)env.dialogs->Delete(key);
        Understanding u = CompleteRequest(intent, state.slots, env);
        u.request.needs_confirmation = false;
        return u;
      }
    }
    if (IsNo(message.text)) {
      (void)env.dialogs->Delete(key);
      return Answer(Say("Cancelled; nothing was done."));
    }
    return Answer(Say("That does not match. Type " +
                      (expected != state.slots.end() ? expected->second : intent.typed_slot) +
                      " exactly to confirm, or cancel."));
  }
  if (IsYes(message.text)) {
    (void)env.dialogs->Delete(key);
    Understanding u = CompleteRequest(intent, state.slots, env);
    u.request.needs_confirmation = false;
    return u;
  }
  if (IsNo(message.text)) {
    (void)env.dialogs->Delete(key);
    return Answer(Say("Cancelled; nothing was done."));
  }
  return Answer(Say("Please answer yes or no (or cancel): " +
                    Fill(intent.confirmation_prompt, state.slots)));
}

// Free text: what the classifier understood.
Understanding FromClassifier(const Message& message, const UnderstandEnv& env,
                             core::Clock::WallTime now) {
  const Classified c = env.classify(message.text);
  if (c.intent == "none" || c.intent.empty()) {
    Reply r("I can't help with that. Type help to see what I can do.");
    r.Text("I can't help with that: it is not something opsgate does.")
        .Note("Type help to see what I can do.");
    return Answer(std::move(r));
  }
  const intents::IntentSpec* intent = env.catalogue->Find(c.intent);
  if (intent == nullptr) {
    return Understanding{};
  }
  if (c.below_threshold) {
    std::vector<std::pair<std::string, std::string>> options;
    options.emplace_back(intent->description, intents::Usage(*intent));
    for (const auto& [name, confidence] : c.alternatives) {
      if (options.size() >= kMaxAlternatives) {
        break;
      }
      if (const intents::IntentSpec* alt = env.catalogue->Find(name); alt != nullptr) {
        options.emplace_back(alt->description, intents::Usage(*alt));
      }
    }
    Reply r("I am not sure what you mean. Did you mean: " + intents::Usage(*intent) + " ?");
    r.Text("I am not sure what you mean. Did you mean one of these?")
        .Fields(std::move(options))
        .Note("Send the one you mean as a command.");
    return Answer(std::move(r));
  }
  if (intent->name == "help") {
    return Understand("help", env);
  }
  return AskOrComplete(message, *intent, c.slots, env, now);
}

}  // namespace

Reply NothingWaitingReply() {
  return Say("Nothing is waiting for an answer here (it may have timed out after a few "
             "minutes); nothing was done.");
}

std::string DialogKey(const Message& m) {
  return m.platform + "|" + m.workspace_id + "|" + m.user_id + "|" + m.reply_to.channel_id;
}

Understanding Converse(const Message& message, const UnderstandEnv& env,
                       core::Clock::WallTime now) {
  if (env.dialogs != nullptr && env.catalogue != nullptr) {
    auto open = env.dialogs->Get(DialogKey(message), now);
    if (open && *open) {
      if (IsCancel(message.text)) {
        (void)env.dialogs->Delete(DialogKey(message));
        return Answer(Say("Cancelled; nothing was done."));
      }
      // A new command or built-in replaces the dialog.
      Understanding fresh = Understand(message.text, env);
      if (fresh.kind == Understanding::Kind::kBuiltin ||
          fresh.kind == Understanding::Kind::kCommand) {
        (void)env.dialogs->Delete(DialogKey(message));
        return fresh;
      }
      const std::optional<State> state = Decode((*open)->state);
      const intents::IntentSpec* intent =
          state ? env.catalogue->Find(state->intent) : nullptr;
      if (intent == nullptr) {
        (void)env.dialogs->Delete(DialogKey(message));
        return Answer(Say("That conversation can no longer continue; send the command again."));
      }
      if (state->stage == "confirm") {
        return ContinueConfirm(message, *state, *intent, env);
      }
      return ContinueSlot(message, *state, *intent, env, now);
    }
  }
  if (env.dialogs != nullptr && (IsCancel(message.text) || IsYes(message.text))) {
    return Answer(NothingWaitingReply());
  }
  Understanding u = Understand(message.text, env);
  if (u.kind == Understanding::Kind::kMissingSlots && env.catalogue != nullptr) {
    if (const intents::IntentSpec* intent = env.catalogue->Find(u.request.intent)) {
      return AskOrComplete(message, *intent, u.request.slots, env, now);
    }
  }
  if (u.kind == Understanding::Kind::kNotUnderstood && env.classify && env.catalogue != nullptr) {
    return FromClassifier(message, env, now);
  }
  return u;
}

Understanding StartConfirmation(const Message& message, const Understanding& complete,
                                const UnderstandEnv& env, core::Clock::WallTime now) {
  const intents::IntentSpec* intent =
      env.catalogue != nullptr ? env.catalogue->Find(complete.request.intent) : nullptr;
  if (intent == nullptr || env.dialogs == nullptr) {
    return Answer(Say("opsgate cannot ask for a confirmation here; nothing was done."));
  }
  State state{"confirm", intent->name, complete.request.slots, ""};
  if (auto saved = env.dialogs->Put({DialogKey(message), Encode(state), now + env.dialog_timeout});
      !saved) {
    return Answer(Say("opsgate cannot keep track of this conversation right now; nothing was "
                      "done. Try again."));
  }
  const std::string question = Fill(intent->confirmation_prompt, complete.request.slots);
  Reply r(question);
  r.Heading("Please confirm").Text(question);
  std::vector<std::pair<std::string, std::string>> fields = {{"action", complete.request.action}};
  if (!complete.request.resource.empty()) {
    fields.emplace_back("resource", complete.request.resource);
  }
  r.Fields(std::move(fields));
  if (intent->confirmation == intents::Confirmation::kTyped) {
    const auto typed = complete.request.slots.find(intent->typed_slot);
    r.Note("Type " +
           (typed != complete.request.slots.end() ? typed->second : intent->typed_slot) +
           " to confirm, or cancel. Nothing happens until then.");
    r.Buttons({{ReplyButton::Kind::kCancel, intent->name}});
  } else {
    r.Note("Reply yes to confirm or no to cancel. Nothing happens until then.");
    r.Buttons({{ReplyButton::Kind::kConfirm, intent->name},
               {ReplyButton::Kind::kCancel, intent->name}});
  }
  Understanding u = Answer(std::move(r));
  u.request = complete.request;
  return u;
}

}  // namespace opsgate::pipeline
