// File: opsgate/pipeline/dialog.h
//
// Dialogs (issue 7 item 4, docs/intents.md#dialogs): what happens between "stop it" and
// the stop. Converse() turns one message into an Understanding, using what opsgate was
// waiting for in this conversation (the store keeps it, any replica may answer):
//
//   - free text goes to the classifier (when one is configured); out-of-scope text gets a
//     short help, an unsure guess gets "did you mean" with the best two or three;
//   - an intent with missing required slots starts a dialog that asks for each in turn
//     (the slot's prompt), checking every answer by the slot's type;
//   - a complete request of an intent with a confirmation gets `needs_confirmation`;
//     StartConfirmation() then asks for it: yes/no, or the typed value (the instance id,
//     the capacity) for the most dangerous ones;
//   - "cancel" ends any dialog; a new command or built-in typed in the middle of one
//     replaces it; an unanswered dialog is forgotten after the time-out.
//
// The answers are platform-neutral Replies; connectors render them. Nothing here acts.
//
// Thread-safety: functions; the store arbitrates concurrent messages.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsgate/core/clock.h"
#include "opsgate/intents/intents.h"
#include "opsgate/pipeline/message.h"
#include "opsgate/pipeline/reply.h"
#include "opsgate/store/dialog_store.h"

namespace opsgate::pipeline {

struct Understanding;
struct UnderstandEnv;

// What the statistical classifier made of free text (adapter over intents::Classifier).
struct Classified {
  std::string intent;  // "none" when out of scope
  double confidence = 0;
  std::map<std::string, std::string> slots;  // normalised, for `intent`
  std::vector<std::pair<std::string, double>> alternatives;  // next best intents
  bool below_threshold = false;
};
using Classify = std::function<Classified(std::string_view text)>;

inline constexpr std::chrono::seconds kDefaultDialogTimeout{300};

// The conversation a message belongs to: platform, workspace, user and channel.
std::string DialogKey(const Message& message);

// One message, in the light of the conversation's open dialog. REQUIRES env.dialogs for
// dialogs (without a store: no dialogs, complete commands only).
Understanding Converse(const Message& message, const UnderstandEnv& env,
                       core::Clock::WallTime now);

// Asks to confirm a complete request (Understanding::request.needs_confirmation): stores
// the dialog and returns the question (kReply).
Understanding StartConfirmation(const Message& message, const Understanding& complete,
                                const UnderstandEnv& env, core::Clock::WallTime now);

// A confirm/cancel answer with no question open (timed out, or already answered).
Reply NothingWaitingReply();

}  // namespace opsgate::pipeline
