#include "opsgate/pipeline/break_glass.h"

#include <cctype>
#include <chrono>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "opsgate/core/strings.h"
#include "opsgate/intents/slot_types.h"
#include "opsgate/pipeline/approvals.h"

namespace opsgate::pipeline {
namespace {

using std::chrono::duration_cast;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr std::string_view kUsage =
    "break-glass [DURATION] REASON (e.g. break-glass 30m prod db down, pager 4711) | "
    "break-glass end | reviews | review ID ok|misuse NOTE";
constexpr size_t kListed = 20;

std::string Utc(core::Clock::WallTime t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string Minutes(seconds s) {
  return std::to_string(duration_cast<minutes>(s).count()) + " min";
}

ExecResult Refused(std::string why) {
  ExecResult r;
  r.reply = Say(why);
  r.result = "refused";
  r.reason = std::move(why);
  return r;
}

// The rest of `text` after its first `n` whitespace-separated words.
std::string_view After(std::string_view text, size_t n) {
  text = core::Trim(text);
  for (size_t i = 0; i < n; ++i) {
    const size_t space = text.find_first_of(" \t\n");
    if (space == std::string_view::npos) {
      return {};
    }
    text = core::Trim(text.substr(space));
  }
  return text;
}

std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> out;
  text = core::Trim(text);
  while (!text.empty()) {
    const size_t space = text.find_first_of(" \t\n");
    out.push_back(text.substr(0, space));
    if (space == std::string_view::npos) {
      break;
    }
    text = core::Trim(text.substr(space));
  }
  return out;
}

Understanding Invalid(std::string why) {
  Understanding u;
  u.kind = Understanding::Kind::kInvalid;
  u.error = std::move(why) + "; usage: " + std::string(kUsage);
  u.usage = std::string(kUsage);
  return u;
}

Understanding Command(std::string intent, std::string action, std::string resource,
                      std::map<std::string, std::string> slots) {
  Understanding u;
  u.kind = Understanding::Kind::kCommand;
  u.usage = std::string(kUsage);
  u.request.intent = std::move(intent);
  u.request.action = std::move(action);
  u.request.resource = std::move(resource);
  u.request.slots = std::move(slots);
  u.request.destructive = u.request.action == "opsgate:BreakGlass";
  u.request.canonical = u.request.intent + '\n' + u.request.resource;
  for (const auto& [k, v] : u.request.slots) {
    u.request.canonical += '\n' + k + '=' + v;
  }
  return u;
}

core::Result<std::string> FreeText(std::string_view raw, std::string name) {
  intents::SlotSpec spec;
  spec.name = std::move(name);
  spec.type = intents::SlotType::kFreeText;
  return intents::NormaliseSlot(spec, raw);
}

std::optional<seconds> ParseSeconds(std::string_view normalised) {  // "900s"
  if (normalised.size() < 2 || normalised.back() != 's') {
    return std::nullopt;
  }
  int64_t n = 0;
  for (char c : normalised.substr(0, normalised.size() - 1)) {
    if (c < '0' || c > '9' || n > 1'000'000'000) {
      return std::nullopt;
    }
    n = n * 10 + (c - '0');
  }
  return seconds(n);
}

}  // namespace

std::optional<Understanding> UnderstandBreakGlass(std::string_view text) {
  const std::vector<std::string_view> words = Words(text);
  if (words.empty()) {
    return std::nullopt;
  }
  const std::string verb = core::AsciiLower(words[0]);
  if (verb == "reviews" && words.size() == 1) {
    return Command("opsgate.list_break_glass", "opsgate:ListBreakGlass", "opsgate:break-glass", {});
  }
  if (verb == "review") {
    if (words.size() < 3) {
      return Invalid("review needs the elevation id and ok or misuse");
    }
    const std::string id = core::AsciiUpper(words[1]);
    const std::string verdict = core::AsciiLower(words[2]);
    if (id.size() > 32 || id.find_first_not_of("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
                              std::string::npos) {
      return Invalid("'" + intents::QuoteForMessage(words[1]) + "' is not a break-glass id");
    }
    if (verdict != "ok" && verdict != "misuse") {
      return Invalid("the verdict is ok or misuse, not '" + intents::QuoteForMessage(words[2]) +
                     "'");
    }
    std::map<std::string, std::string> slots{{"id", id}, {"verdict", verdict}};
    if (const std::string_view note = After(text, 3); !note.empty()) {
      auto clean = FreeText(note, "note");
      if (!clean) {
        return Invalid(clean.error().message);
      }
      slots["note"] = *clean;
    }
    return Command("opsgate.review_break_glass", "opsgate:ReviewBreakGlass",
                   "opsgate:break-glass/" + id, std::move(slots));
  }
  if (verb != "break-glass" && verb != "breakglass" && verb != "break_glass") {
    return std::nullopt;
  }
  if (words.size() == 2 && core::AsciiLower(words[1]) == "end") {
    return Command("opsgate.end_break_glass", "opsgate:EndBreakGlass", "opsgate:break-glass", {});
  }
  if (words.size() < 2) {
    return Invalid("break-glass needs a reason");
  }
  std::map<std::string, std::string> slots;
  size_t reason_from = 1;
  intents::SlotSpec duration;
  duration.name = "duration";
  duration.type = intents::SlotType::kDuration;
  if (auto d = intents::NormaliseSlot(duration, words[1]); d) {
    slots["duration"] = *d;
    reason_from = 2;
  }
  const std::string_view reason = After(text, reason_from);
  if (reason.empty()) {
    return Invalid("break-glass needs a reason after the duration");
  }
  auto clean = FreeText(reason, "reason");
  if (!clean) {
    return Invalid(clean.error().message);
  }
  slots["reason"] = *clean;
  return Command("opsgate.break_glass", "opsgate:BreakGlass", "opsgate:break-glass",
                 std::move(slots));
}

ExecResult BreakGlass::Run(const ExecContext& context) {
  const std::string& action = context.action.action;
  if (action == "opsgate:BreakGlass") {
    return Start(context);
  }
  if (action == "opsgate:EndBreakGlass") {
    return End(context);
  }
  if (action == "opsgate:ReviewBreakGlass") {
    return Review(context);
  }
  return List();
}

ExecResult BreakGlass::Start(const ExecContext& context) {
  const core::Clock::WallTime now = clock_.Now();
  (void)store_.EndDue(now);
  auto owed = store_.Unreviewed(now, 1, context.principal_id);
  if (!owed) {
    return Refused("opsgate cannot read break-glass records right now; nothing changed.");
  }
  if (!owed->empty()) {
    const store::Elevation& e = owed->front();
    return Refused("Your break-glass " + e.id + " (" + Utc(e.started_at) +
                   ") has not been reviewed yet; it must be before you break glass again. "
                   "Ask a reviewer: review " + e.id + " ok|misuse NOTE");
  }
  seconds length = settings_.default_duration;
  if (auto it = context.action.slots.find("duration"); it != context.action.slots.end()) {
    const std::optional<seconds> asked = ParseSeconds(it->second);
    if (!asked) {
      return Refused("The duration " + it->second + " cannot be read; nothing changed.");
    }
    length = *asked;
  }
  if (length > settings_.max_duration) {
    return Refused("Break-glass lasts at most " + Minutes(settings_.max_duration) +
                   " here (policy.break_glass.max_duration); ask for less.");
  }
  auto id = NewRequestId();
  if (!id) {
    return Refused("opsgate could not start break-glass (no random bytes); nothing changed.");
  }
  store::Elevation e;
  e.id = *id;
  e.principal = context.principal_id;
  e.principal_name = context.principal_name;
  e.reason = context.action.slots.count("reason") != 0 ? context.action.slots.at("reason") : "";
  e.correlation_id = context.correlation_id.substr(0, 256);
  e.started_at = now;
  e.expires_at = now + length;
  if (auto created = store_.Create(e); !created) {
    if (created.error().code == core::ErrorCode::kFailedPrecondition) {
      auto active = store_.Active(context.principal_id, now);
      const std::string until =
          active && *active ? " (" + (*active)->id + ", until " + Utc((*active)->expires_at) + ")"
                            : "";
      return Refused("You already hold break-glass" + until +
                     ". End it with: break-glass end");
    }
    log_.Error("break_glass.start_failed", {{"error", created.error().message},
                                            {"correlation_id", context.correlation_id}});
    return Refused("opsgate could not record break-glass right now; nothing changed.");
  }
  const std::string who = context.principal_name.empty() ? context.principal_id
                                                         : context.principal_name;
  Reply announce("BREAK-GLASS " + e.id + ": " + who + " is elevated until " +
                 Utc(e.expires_at) + ": " + e.reason);
  announce.ephemeral = false;
  announce.Heading("Break-glass " + e.id + " started")
      .Fields({{"who", who},
               {"until", Utc(e.expires_at) + " (" + Minutes(length) + ")"},
               {"reason", e.reason}})
      .Note("Every action is decided and audited as usual. It ends by itself; a review by "
            "someone else follows: review " + e.id + " ok|misuse NOTE");
  announcer_.AnnounceToAll(announce);

  ExecResult r;
  r.reply = Reply("Break-glass " + e.id + " is active until " + Utc(e.expires_at) + ".");
  r.reply.Heading("Break-glass " + e.id + " is active")
      .Text("You hold the role " + std::string(kBreakGlassRole) + " until " + Utc(e.expires_at) +
            " (" + Minutes(length) + "). It was announced.")
      .Note("End it sooner with: break-glass end. Someone else reviews it afterwards.");
  r.reason = "break-glass " + e.id + " until " + Utc(e.expires_at);
  return r;
}

ExecResult BreakGlass::End(const ExecContext& context) {
  const core::Clock::WallTime now = clock_.Now();
  auto active = store_.Active(context.principal_id, now);
  if (!active) {
    return Refused("opsgate cannot read break-glass records right now; nothing changed.");
  }
  if (!*active) {
    return Refused("You hold no active break-glass.");
  }
  const store::Elevation& e = **active;
  auto ended = store_.End(e.id, now, context.principal_id);
  if (!ended || !*ended) {
    return Refused("Break-glass " + e.id + " had already ended.");
  }
  const std::string who = e.principal_name.empty() ? e.principal : e.principal_name;
  Reply announce("BREAK-GLASS " + e.id + " of " + who + " ended early by " + who +
                 ". Review it: review " + e.id + " ok|misuse NOTE");
  announce.ephemeral = false;
  announce.Text(announce.text);
  announcer_.AnnounceToAll(announce);
  ExecResult r;
  r.reply = Say("Break-glass " + e.id + " ended; your usual permissions apply again.");
  r.reason = "break-glass " + e.id + " ended early";
  return r;
}

ExecResult BreakGlass::Review(const ExecContext& context) {
  const auto& slots = context.action.slots;
  const std::string id = slots.count("id") != 0 ? slots.at("id") : "";
  const std::string verdict = slots.count("verdict") != 0 ? slots.at("verdict") : "";
  const std::string note = slots.count("note") != 0 ? slots.at("note") : "";
  const core::Clock::WallTime now = clock_.Now();
  auto found = store_.Find(id);
  if (!found) {
    return Refused("There is no break-glass " + id + ".");  // a malformed id, or the store
  }
  if (!*found) {
    return Refused("There is no break-glass " + id + ".");
  }
  const store::Elevation& e = **found;
  if (e.principal == context.principal_id) {
    return Refused("You cannot review your own break-glass; someone else must.");
  }
  auto reviewed = store_.Review(id, context.principal_id, verdict, note, now);
  if (!reviewed) {
    if (reviewed.error().code == core::ErrorCode::kFailedPrecondition) {
      return Refused("Break-glass " + id + " is still active (until " + Utc(e.expires_at) +
                     "); review it once it ended.");
    }
    return Refused("opsgate cannot record the review right now; nothing changed.");
  }
  if (!*reviewed) {
    return Refused("Break-glass " + id + " was already reviewed.");
  }
  const std::string who = e.principal_name.empty() ? e.principal : e.principal_name;
  const std::string reviewer =
      context.principal_name.empty() ? context.principal_id : context.principal_name;
  Reply announce("BREAK-GLASS " + id + " of " + who + " reviewed by " + reviewer + ": " +
                 verdict + (note.empty() ? "" : " (" + note + ")"));
  announce.ephemeral = false;
  announce.Text(announce.text);
  announcer_.AnnounceToAll(announce);
  ExecResult r;
  r.reply = Say("Review of break-glass " + id + " recorded: " + verdict + ".");
  r.reason = "break-glass " + id + " of " + e.principal + " reviewed: " + verdict;
  return r;
}

ExecResult BreakGlass::List() {
  const core::Clock::WallTime now = clock_.Now();
  auto owed = store_.Unreviewed(now, kListed);
  if (!owed) {
    return Refused("opsgate cannot read break-glass records right now.");
  }
  ExecResult r;
  if (owed->empty()) {
    r.reply = Say("No break-glass elevation is waiting for review.");
    return r;
  }
  r.reply = Reply("Break-glass elevations waiting for review: " + std::to_string(owed->size()));
  r.reply.Heading("Waiting for review");
  for (const store::Elevation& e : *owed) {
    r.reply.Fields({{"id", e.id},
                    {"who", e.principal_name.empty() ? e.principal : e.principal_name},
                    {"from", Utc(e.started_at)},
                    {"reason", e.reason}});
  }
  r.reply.Note("Review with: review ID ok|misuse NOTE (not your own).");
  return r;
}

void BreakGlass::Sweep() {
  const core::Clock::WallTime now = clock_.Now();
  auto ended = store_.EndDue(now);
  if (!ended) {
    log_.Warn("break_glass.sweep_failed", {{"error", ended.error().message}});
    return;
  }
  for (const store::Elevation& e : *ended) {
    const std::string who = e.principal_name.empty() ? e.principal : e.principal_name;
    Reply announce("BREAK-GLASS " + e.id + " of " + who + " expired at " + Utc(e.expires_at) +
                   ". Review it: review " + e.id + " ok|misuse NOTE");
    announce.ephemeral = false;
    announce.Text(announce.text);
    announcer_.AnnounceToAll(announce);
    audit::Record r;
    r.kind = audit::RecordKind::kAdmin;
    r.correlation_id = e.correlation_id;
    r.principal = e.principal;
    r.action = "opsgate:BreakGlassExpired";
    r.resource = "opsgate:break-glass/" + e.id;
    r.result = "ended";
    r.reason = "expired at " + Utc(e.expires_at) + "; review pending";
    audit_.Append(std::move(r), [](core::Result<uint64_t>) {});
    log_.Info("break_glass.expired", {{"id", e.id}, {"principal", e.principal}});
  }
}

}  // namespace opsgate::pipeline
