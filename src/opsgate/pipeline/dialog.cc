#include "opsgate/pipeline/dialog.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "opsgate/core/strings.h"
#include "opsgate/intents/slot_types.h"
#include "opsgate/pipeline/authorizer.h"

namespace opsgate::pipeline {
namespace {

namespace json = boost::json;

constexpr size_t kMaxAlternatives = 3;

// "yes", "Yes!", "ok." -> "yes", "ok": lower case without surrounding punctuation.
std::string Word(std::string_view text) {
  std::string w = core::AsciiLower(core::Trim(text));
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
  std::string stage;  // "slot", "confirm" or "choose"
  std::string intent;
  std::map<std::string, std::string> slots;
  std::string awaiting;  // stage "slot": the slot asked for
  // A correction of an unsure guess (stage "choose" and what follows it).
  std::string text;      // what the person first typed
  std::string guessed;   // the classifier's guess
  double confidence = 0;
  std::vector<std::string> options;  // stage "choose": the intents offered, in order
};

std::string Encode(const State& s) {
  json::object slots;
  for (const auto& [k, v] : s.slots) {
    slots[k] = v;
  }
  json::array options;
  for (const std::string& o : s.options) {
    options.emplace_back(o);
  }
  return json::serialize(json::object{{"v", 1},
                                      {"stage", s.stage},
                                      {"intent", s.intent},
                                      {"slots", std::move(slots)},
                                      {"awaiting", s.awaiting},
                                      {"text", s.text},
                                      {"guessed", s.guessed},
                                      {"confidence", s.confidence},
                                      {"options", std::move(options)}});
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
  s.text = str("text").value_or("");
  s.guessed = str("guessed").value_or("");
  if (const json::value* c = o.if_contains("confidence"); c != nullptr && c->is_number()) {
    s.confidence = c->to_number<double>();
  }
  if (const json::value* opts = o.if_contains("options"); opts != nullptr && opts->is_array()) {
    for (const json::value& e : opts->get_array()) {
      if (e.is_string()) {
        s.options.emplace_back(e.get_string());
      }
    }
  }
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

// `text` with each slot value (case-insensitive) replaced by its {slot} placeholder: the
// training utterance a confirmed rephrasing becomes.
std::string Utterance(std::string text, const std::map<std::string, std::string>& slots) {
  for (const auto& [name, value] : slots) {
    if (value.empty()) {
      continue;
    }
    const std::string lower_text = core::AsciiLower(text);
    const size_t at = lower_text.find(core::AsciiLower(value));
    if (at != std::string::npos) {
      text.replace(at, value.size(), "{" + name + "}");
    }
  }
  return text;
}

// Keeps a confirmed correction of the classifier for review (nlu_store.h).
void KeepCandidate(const Message& message, const State& state,
                   const std::map<std::string, std::string>& slots, const UnderstandEnv& env,
                   core::Clock::WallTime now) {
  if (env.candidates == nullptr || state.text.empty()) {
    return;
  }
  const std::string text = env.redact ? env.redact(state.text) : state.text;
  store::NluCandidate c;
  c.text = text.substr(0, 2000);
  c.utterance = Utterance(text, slots).substr(0, 2000);
  c.intent = state.intent;
  c.guessed = state.guessed;
  c.confidence = std::clamp(state.confidence, 0.0, 1.0);
  c.principal = message.platform + ":" + message.workspace_id + ":" + message.user_id;
  c.created_at = now;
  (void)env.candidates->Add(c);  // best effort: losing one candidate loses nothing else
}

// Carries a correction from one dialog state to the understanding that ends it.
void CarryRephrase(const State& from, Understanding& to) {
  to.rephrased_text = from.text;
  to.guessed = from.guessed;
  to.guessed_confidence = from.confidence;
}

// Saves the dialog and asks for the next missing slot; or, when none is missing, the
// complete request.
Understanding AskOrComplete(const Message& message, const intents::IntentSpec& intent,
                            std::map<std::string, std::string> slots, const UnderstandEnv& env,
                            core::Clock::WallTime now, std::string_view problem = {},
                            const State* rephrase = nullptr) {
  if (!env.defaults.region.empty() && intent.Slot("region") != nullptr &&
      slots.count("region") == 0) {
    slots["region"] = env.defaults.region;
  }
  const intents::SlotSpec* missing = NextMissing(intent, slots);
  if (missing == nullptr) {
    if (env.dialogs != nullptr) {
      (void)env.dialogs->Delete(DialogKey(message));
    }
    Understanding complete = CompleteRequest(intent, std::move(slots), env);
    if (rephrase != nullptr) {
      CarryRephrase(*rephrase, complete);
      if (!complete.request.needs_confirmation) {
        State kept = *rephrase;
        kept.intent = intent.name;
        KeepCandidate(message, kept, complete.request.slots, env, now);
      }
    }
    return complete;
  }
  if (env.dialogs == nullptr) {
    Understanding u;
    u.kind = Understanding::Kind::kMissingSlots;
    u.missing = {missing->name};
    u.usage = intents::Usage(intent);
    u.request.intent = intent.name;
    return u;
  }
  State state{"slot", intent.name, slots, missing->name, {}, {}, 0, {}};
  if (rephrase != nullptr) {
    state.text = rephrase->text;
    state.guessed = rephrase->guessed;
    state.confidence = rephrase->confidence;
  }
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
  const State* rephrase = state.text.empty() ? nullptr : &state;
  if (!value) {
    // Stays open: the same question again, with what was wrong.
    return AskOrComplete(message, intent, state.slots, env, now, value.error().message + ".",
                         rephrase);
  }
  std::map<std::string, std::string> slots = state.slots;
  slots[slot->name] = *value;
  return AskOrComplete(message, intent, std::move(slots), env, now, {}, rephrase);
}

// An answer to "confirm ...?".
Understanding ContinueConfirm(const Message& message, const State& state,
                              const intents::IntentSpec& intent, const UnderstandEnv& env,
                              core::Clock::WallTime now) {
  const std::string key = DialogKey(message);
  if (intent.confirmation == intents::Confirmation::kTyped) {
    const intents::SlotSpec* slot = intent.Slot(intent.typed_slot);
    const auto expected = state.slots.find(intent.typed_slot);
    if (slot != nullptr && expected != state.slots.end()) {
      auto typed = intents::NormaliseSlot(*slot, core::Trim(message.text));
      if (typed && *typed == expected->second) {
        (void)env.dialogs->Delete(key);
        KeepCandidate(message, state, state.slots, env, now);
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
    KeepCandidate(message, state, state.slots, env, now);
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

// Whether the first two words of `text` name an intent in command syntax ("ec2 stop",
// "waf block-ip"), or the first one an intent without a verb ("help").
bool NamesACommand(const intents::Catalogue& catalogue, std::string_view text) {
  std::vector<std::string> words;
  for (std::string_view w : core::Words(text)) {
    if (words.size() == 2) {
      break;
    }
    std::string word = core::AsciiLower(w);
    std::replace(word.begin(), word.end(), '-', '_');
    words.push_back(std::move(word));
  }
  if (words.empty()) {
    return false;
  }
  return catalogue.Find(words[0]) != nullptr ||
         (words.size() == 2 && catalogue.Find(words[0] + "." + words[1]) != nullptr);
}

Understanding FromClassifier(const Message& message, const UnderstandEnv& env,
                             core::Clock::WallTime now);
Understanding FromClassifier(const Message& message, const UnderstandEnv& env,
                             core::Clock::WallTime now, const Classified& c);

// An answer to "did you mean": the number of an option (or its intent name).
Understanding ContinueChoose(const Message& message, const State& state,
                             const UnderstandEnv& env, core::Clock::WallTime now) {
  const std::string w = Word(message.text);
  const intents::IntentSpec* chosen = nullptr;
  for (size_t i = 0; i < state.options.size(); ++i) {
    if (w == std::to_string(i + 1) || w == state.options[i]) {
      chosen = env.catalogue->Find(state.options[i]);
    }
  }
  if (chosen == nullptr) {
    const bool a_number = !w.empty() && w.find_first_not_of("0123456789") == std::string::npos;
    if (a_number) {
      return Answer(Say("Reply with 1 to " + std::to_string(state.options.size()) +
                        ", send the command you mean, or cancel."));
    }
    // Something else entirely: the question lapses and the text is read afresh.
    (void)env.dialogs->Delete(DialogKey(message));
    return FromClassifier(message, env, now);
  }
  // The values the classifier found, for the slots the chosen intent has.
  std::map<std::string, std::string> slots;
  for (const auto& [name, value] : state.slots) {
    if (chosen->Slot(name) != nullptr) {
      slots[name] = value;
    }
  }
  State rephrase = state;
  rephrase.intent = chosen->name;
  return AskOrComplete(message, *chosen, std::move(slots), env, now, {}, &rephrase);
}

// Free text: what the classifier understood.
Understanding FromClassifier(const Message& message, const UnderstandEnv& env,
                             core::Clock::WallTime now) {
  return FromClassifier(message, env, now, env.classify(message.text));
}

Understanding FromClassifier(const Message& message, const UnderstandEnv& env,
                             core::Clock::WallTime now, const Classified& c) {
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
    State choose{"choose", intent->name, c.slots, "", message.text, intent->name,
                 c.confidence, {intent->name}};
    for (const auto& [name, confidence] : c.alternatives) {
      if (choose.options.size() >= kMaxAlternatives) {
        break;
      }
      if (name != intent->name && env.catalogue->Find(name) != nullptr) {
        choose.options.push_back(name);
      }
    }
    std::vector<std::pair<std::string, std::string>> listed;
    for (size_t i = 0; i < choose.options.size(); ++i) {
      const intents::IntentSpec* o = env.catalogue->Find(choose.options[i]);
      listed.emplace_back(std::to_string(i + 1) + ". " + o->description, intents::Usage(*o));
    }
    const bool kept =
        env.dialogs != nullptr &&
        env.dialogs->Put({DialogKey(message), Encode(choose), now + env.dialog_timeout})
            .has_value();
    Reply r("I am not sure what you mean. Did you mean: " + intents::Usage(*intent) + " ?");
    r.Text("I am not sure what you mean. Did you mean one of these?")
        .Fields(std::move(listed))
        .Note(kept ? "Reply with its number, or send the command you mean (or cancel)."
                   : "Send the one you mean as a command.");
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
      const std::optional<State> state = Decode((*open)->state);
      // A new command or built-in replaces the dialog (after "did you mean", a command is
      // the person saying what they meant).
      Understanding fresh = Understand(message.text, env);
      if (fresh.kind == Understanding::Kind::kBuiltin ||
          fresh.kind == Understanding::Kind::kCommand ||
          fresh.kind == Understanding::Kind::kMissingSlots) {
        (void)env.dialogs->Delete(DialogKey(message));
        const bool correction = state && state->stage == "choose" &&
                                fresh.kind != Understanding::Kind::kBuiltin;
        if (fresh.kind == Understanding::Kind::kMissingSlots) {
          if (const intents::IntentSpec* i = env.catalogue->Find(fresh.request.intent)) {
            return AskOrComplete(message, *i, fresh.request.slots, env, now, {},
                                 correction ? &*state : nullptr);
          }
        }
        if (correction) {
          CarryRephrase(*state, fresh);
          if (!fresh.request.needs_confirmation) {
            State kept = *state;
            kept.intent = fresh.request.intent;
            KeepCandidate(message, kept, fresh.request.slots, env, now);
          }
        }
        return fresh;
      }
      const intents::IntentSpec* intent =
          state ? env.catalogue->Find(state->intent) : nullptr;
      if (intent == nullptr) {
        (void)env.dialogs->Delete(DialogKey(message));
        return Answer(Say("That conversation can no longer continue; send the command again."));
      }
      if (state->stage == "confirm") {
        return ContinueConfirm(message, *state, *intent, env, now);
      }
      if (state->stage == "choose") {
        return ContinueChoose(message, *state, env, now);
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
  if (u.kind == Understanding::Kind::kInvalid && env.classify && env.catalogue != nullptr &&
      !NamesACommand(*env.catalogue, message.text)) {
    // A sentence that starts with a service word ("incident in prod is getting worse")
    // is not a command written wrongly: a confident reading of the classifier wins,
    // otherwise the command's error (with its usage) answers.
    const Classified c = env.classify(message.text);
    if (!c.below_threshold && !c.intent.empty() && c.intent != "none") {
      return FromClassifier(message, env, now, c);
    }
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
  State state{"confirm", intent->name, complete.request.slots, "", complete.rephrased_text,
              complete.guessed, complete.guessed_confidence, {}};
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
