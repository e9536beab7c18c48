#include "opsgate/pipeline/builtins.h"

#include <cctype>
#include <ctime>
#include <string>
#include <utility>

#include "opsgate/core/strings.h"

namespace opsgate::pipeline {
namespace {

constexpr size_t kMaxEchoedChars = 200;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string Cmd(const BuiltinEnv& env, std::string_view verb) {
  return env.invocation.empty() ? std::string(verb)
                                : std::string(env.invocation) + " " + std::string(verb);
}

// ISO 8601 UTC with seconds, e.g. 2026-11-26T19:00:00Z.
std::string Utc(core::Clock::WallTime t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<std::pair<std::string, std::string>> CommandList(const BuiltinEnv& env) {
  std::vector<std::pair<std::string, std::string>> list = {
      {Cmd(env, "help"), "this list"},
      {Cmd(env, "whoami"), "who opsgate thinks you are (platform ids, linked identity)"},
      {Cmd(env, "ping"), "check that opsgate answers, with its clock"},
  };
  if (env.linking) {
    list.emplace_back(Cmd(env, "link"), "link your chat account to your company identity");
    list.emplace_back(Cmd(env, "unlink"), "remove that link");
  }
  return list;
}

Reply Help(const BuiltinEnv& env) {
  Reply r("opsgate commands: help, whoami, ping" +
          std::string(env.linking ? ", link, unlink" : ""));
  r.Heading("opsgate understands these commands:")
      .Fields(CommandList(env))
      .Note("Operational commands arrive with intents and policy.");
  return r;
}

Reply WhoAmI(const Message& m, const std::optional<Principal>& p, const BuiltinEnv& env) {
  Reply r("You are " + m.user_id + " in workspace " + m.workspace_id);
  std::vector<std::pair<std::string, std::string>> fields = {
      {"platform", m.platform},
      {"workspace", m.workspace_id.empty() ? "(none)" : m.workspace_id},
      {"user id", m.user_id},
      {"user name", m.user_name.empty() ? "(not sent by the platform)" : m.user_name},
  };
  if (p) {
    fields.emplace_back("linked identity", p->subject + " at " + p->issuer);
    if (!p->email.empty()) {
      fields.emplace_back("email", p->email);
    }
    std::string groups;
    for (const std::string& g : p->groups) {
      groups += (groups.empty() ? "" : ", ") + g;
    }
    fields.emplace_back("groups", groups.empty() ? "(none)" : groups);
    if (p->linked_until) {
      fields.emplace_back("link valid until", Utc(*p->linked_until));
    }
  } else {
    fields.emplace_back("linked identity",
                        env.linking ? "not linked (run " + Cmd(env, "link") + ")"
                                    : "not linked (identity linking is not configured)");
  }
  r.Heading("Who you are to opsgate").Fields(std::move(fields));
  return r;
}

Reply Ping(const BuiltinEnv& env) {
  const std::string when = Utc(env.now);
  Reply r("pong (gateway time " + when + ")");
  r.Heading("pong").Note("gateway time " + when);
  return r;
}

Reply NotUnderstood(std::string_view text, const BuiltinEnv& env) {
  std::string shown(text.substr(0, kMaxEchoedChars));
  if (text.size() > kMaxEchoedChars) {
    shown = core::SanitizeUtf8(shown) + "…";
  }
  Reply r("I did not understand \"" + shown + "\". Try " + Cmd(env, "help") + ".");
  r.Text("I did not understand \"" + shown + "\".").Fields(CommandList(env));
  return r;
}

}  // namespace

ParsedBuiltin ParseBuiltin(std::string_view text) {
  ParsedBuiltin out;
  out.text = core::Trim(text);
  const size_t space = out.text.find_first_of(" \t\n");
  const std::string verb = Lower(out.text.substr(0, space));
  const bool alone = space == std::string_view::npos || core::Trim(out.text.substr(space)).empty();
  if (verb.empty()) {
    out.verb = Builtin::kHelp;
  } else if (!alone) {
    out.verb = Builtin::kUnknown;
  } else if (verb == "help") {
    out.verb = Builtin::kHelp;
  } else if (verb == "whoami") {
    out.verb = Builtin::kWhoAmI;
  } else if (verb == "ping") {
    out.verb = Builtin::kPing;
  } else if (verb == "link") {
    out.verb = Builtin::kLink;
  } else if (verb == "unlink") {
    out.verb = Builtin::kUnlink;
  }
  return out;
}

bool AllowedWithoutPrincipal(Builtin verb) {
  return verb == Builtin::kHelp || verb == Builtin::kLink;
}

Reply AnswerBuiltin(const ParsedBuiltin& command, const Message& message,
                    const std::optional<Principal>& principal, const BuiltinEnv& env) {
  switch (command.verb) {
    case Builtin::kHelp:
      return Help(env);
    case Builtin::kWhoAmI:
      return WhoAmI(message, principal, env);
    case Builtin::kPing:
      return Ping(env);
    case Builtin::kLink:
      return env.linking ? ServiceErrorReply("link") : LinkingUnavailableReply();
    case Builtin::kUnlink:
      return env.linking ? ServiceErrorReply("unlink") : LinkingUnavailableReply();
    case Builtin::kUnknown:
      break;
  }
  return NotUnderstood(command.text, env);
}

Reply NeedsLinkReply(const BuiltinEnv& env, bool expired) {
  Reply r(expired ? "Your identity link expired: run " + Cmd(env, "link") + " to sign in again."
                  : "Link your identity first: run " + Cmd(env, "link") + ".");
  r.Text(expired ? "Your link to your company identity has expired, so opsgate no longer "
                   "knows who you are."
                 : "opsgate does not know who you are yet: a chat account is not an identity.")
      .Text("Run " + Cmd(env, "link") + " and sign in with your company account; until then only " +
            Cmd(env, "help") + " and " + Cmd(env, "link") + " work.");
  return r;
}

Reply LinkReply(const std::string& url, std::chrono::seconds valid_for) {
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(valid_for).count();
  Reply r("Open this link to sign in and link your account (valid " + std::to_string(minutes) +
          " minutes, once)");
  r.Text("Sign in with your company account to link it to this chat account.")
      .Link("Link my account", url)
      .Note("Only you see this link. It works once, for " + std::to_string(minutes) +
            " minutes. Do not share it.");
  return r;
}

Reply LinkingUnavailableReply() {
  Reply r("Identity linking is not configured on this opsgate.");
  r.Text("Identity linking is not configured on this opsgate (identity.oidc in its config); "
         "ask its administrators.");
  return r;
}

Reply UnlinkReply(bool was_linked) {
  Reply r(was_linked ? "Unlinked: opsgate no longer knows who you are."
                     : "This chat account was not linked.");
  r.Text(r.text);
  return r;
}

Reply ServiceErrorReply(std::string_view what) {
  Reply r("opsgate could not " + std::string(what) + " right now; nothing changed. Try again.");
  r.Text(r.text).Note("The failure is logged with this request's correlation id.");
  return r;
}

}  // namespace opsgate::pipeline
