#include "opsgate/connectors/slack/payload.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/value.hpp>
#include <exception>
#include <limits>
#include <map>

#include "opsgate/core/strings.h"

namespace opsgate::connectors::slack {
namespace {

namespace json = boost::json;

constexpr size_t kMaxIdBytes = 128;
constexpr size_t kMaxUrlBytes = 2048;
constexpr size_t kMaxChallengeBytes = 1024;
constexpr size_t kMaxShortFieldBytes = 1024;  // names, domains, commands, action ids

core::Unexpected Invalid(std::string message) {
  return core::Fail(core::InvalidArgument(std::move(message)));
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// A field name or value as it may appear in an error message: bounded, no control
// characters, so hostile input cannot forge log lines.
std::string Printable(std::string_view s, size_t max = 40) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '?' : static_cast<char>(c);
  }
  if (s.size() > max) {
    out += "...";
  }
  return out;
}

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool IsId(std::string_view s) {
  return !s.empty() && s.size() <= kMaxIdBytes && std::all_of(s.begin(), s.end(), IsIdChar);
}

// Percent-decodes one name or value; `what` names it in errors.
core::Result<std::string> DecodeComponent(std::string_view in, size_t max_bytes,
                                          const std::string& what) {
  std::string out;
  out.reserve(std::min(in.size(), max_bytes));
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      const int hi = i + 1 < in.size() ? core::HexDigitValue(in[i + 1]) : -1;
      const int lo = i + 2 < in.size() ? core::HexDigitValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Invalid("malformed percent-encoding in " + what + " at byte " + std::to_string(i) +
                       ": '%' must be followed by two hex digits");
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') {
      return Invalid(what + " contains a NUL byte");
    }
    if (out.size() >= max_bytes) {
      return Invalid(what + " is longer than " + std::to_string(max_bytes) + " bytes");
    }
    out += c;
  }
  if (!core::IsValidUtf8(out)) {
    return Invalid(what + " is not valid UTF-8");
  }
  return out;
}

std::string MediaType(std::string_view content_type) {
  std::string_view t = core::Trim(content_type.substr(0, content_type.find(';')));
  std::string out(t);
  std::transform(out.begin(), out.end(), out.begin(), Lower);
  return out;
}

// ---------------------------------------------------------------------------------
// Form bodies

using Form = std::map<std::string, std::string, std::less<>>;

core::Result<Form> ParseForm(std::string_view body, const ParseLimits& limits) {
  auto pairs = ParseFormUrlEncoded(body, limits);
  if (!pairs) {
    return core::Fail(pairs.error());
  }
  Form form;
  for (auto& [name, value] : *pairs) {
    form.emplace(std::move(name), std::move(value));
  }
  return form;
}

std::string FormValue(const Form& form, std::string_view name) {
  const auto it = form.find(name);
  return it == form.end() ? std::string() : it->second;
}

core::Result<std::string> FormId(const Form& form, std::string_view name, bool required) {
  std::string v = FormValue(form, name);
  if (v.empty()) {
    if (required) {
      return Invalid("missing " + std::string(name));
    }
    return v;
  }
  if (!IsId(v)) {
    return Invalid("invalid " + std::string(name) + " \"" + Printable(v) +
                   "\": expected up to 128 characters of [A-Za-z0-9._-]");
  }
  return v;
}

core::Result<std::string> FormText(const Form& form, std::string_view name, size_t max_bytes,
                                   bool required) {
  std::string v = FormValue(form, name);
  if (v.empty() && required) {
    return Invalid("missing " + std::string(name));
  }
  if (v.size() > max_bytes) {
    return Invalid(std::string(name) + " is longer than " + std::to_string(max_bytes) + " bytes");
  }
  return v;
}

core::Status CheckResponseUrl(std::string_view url, std::string_view name) {
  if (url.size() > kMaxUrlBytes) {
    return Invalid(std::string(name) + " is longer than " + std::to_string(kMaxUrlBytes) +
                   " bytes");
  }
  if (url.substr(0, 8) != "https://" || url.size() == 8) {
    return Invalid(std::string(name) + " must be an https:// URL");
  }
  for (const char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return Invalid(std::string(name) + " contains spaces or non-ASCII characters");
    }
  }
  return core::Ok();
}

#define OPSGATE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp) {                                         \
    return core::Fail(std::move(tmp).error());        \
  }                                                   \
  lhs = std::move(*tmp)
#define OPSGATE_CONCAT_INNER(a, b) a##b
#define OPSGATE_CONCAT(a, b) OPSGATE_CONCAT_INNER(a, b)
// Assigns the value of a Result expression or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  OPSGATE_ASSIGN_OR_RETURN_IMPL(OPSGATE_CONCAT(result_, __LINE__), lhs, expr)

core::Result<SlackPayload> ParseSlashCommand(const Form& form, const ParseLimits& limits) {
  SlashCommand c;
  ASSIGN_OR_RETURN(c.team_id, FormId(form, "team_id", true));
  ASSIGN_OR_RETURN(c.channel_id, FormId(form, "channel_id", true));
  ASSIGN_OR_RETURN(c.user_id, FormId(form, "user_id", true));
  ASSIGN_OR_RETURN(c.trigger_id, FormId(form, "trigger_id", true));
  ASSIGN_OR_RETURN(c.enterprise_id, FormId(form, "enterprise_id", false));
  ASSIGN_OR_RETURN(c.api_app_id, FormId(form, "api_app_id", false));
  ASSIGN_OR_RETURN(c.command, FormText(form, "command", kMaxShortFieldBytes, true));
  if (c.command.size() < 2 || c.command[0] != '/') {
    return Invalid("command \"" + Printable(c.command) + "\" must start with '/'");
  }
  ASSIGN_OR_RETURN(c.text, FormText(form, "text", limits.max_text_bytes, false));
  ASSIGN_OR_RETURN(c.team_domain, FormText(form, "team_domain", kMaxShortFieldBytes, false));
  ASSIGN_OR_RETURN(c.channel_name, FormText(form, "channel_name", kMaxShortFieldBytes, false));
  ASSIGN_OR_RETURN(c.user_name, FormText(form, "user_name", kMaxShortFieldBytes, false));
  ASSIGN_OR_RETURN(c.response_url, FormText(form, "response_url", kMaxUrlBytes, true));
  OPSGATE_RETURN_IF_ERROR(CheckResponseUrl(c.response_url, "response_url"));
  c.is_enterprise_install = FormValue(form, "is_enterprise_install") == "true";
  return SlackPayload(std::move(c));
}

// ---------------------------------------------------------------------------------
// JSON bodies

core::Result<json::object> ParseJsonObject(std::string_view text, const ParseLimits& limits,
                                           std::string_view what) {
  json::parse_options options;
  options.max_depth = limits.max_json_depth;
  boost::system::error_code ec;
  try {
    json::value v =
        json::parse(json::string_view(text.data(), text.size()), ec, json::storage_ptr(), options);
    if (ec) {
      return Invalid(std::string(what) + " is not valid JSON: " + ec.message());
    }
    if (!v.is_object()) {
      return Invalid(std::string(what) + " must be a JSON object");
    }
    return std::move(v.get_object());
  } catch (const std::exception& e) {
    return Invalid(std::string(what) + " could not be parsed: " + e.what());
  } catch (...) {
    return Invalid(std::string(what) + " could not be parsed");
  }
}

std::string Path(std::string_view prefix, std::string_view key) {
  std::string p(prefix);
  if (!p.empty()) {
    p += '.';
  }
  p += key;
  return p;
}

// The member `key`, or nullptr when absent or JSON null (Slack uses both for "none").
const json::value* Member(const json::object& o, std::string_view key) {
  const auto it = o.find(json::string_view(key.data(), key.size()));
  if (it == o.end() || it->value().is_null()) {
    return nullptr;
  }
  return &it->value();
}

struct Field {
  std::string_view key;
  bool required = false;
  size_t max_bytes = kMaxShortFieldBytes;
};

core::Result<std::string> JsonString(const json::object& o, std::string_view prefix, Field f) {
  const json::value* v = Member(o, f.key);
  const std::string path = Path(prefix, f.key);
  if (v == nullptr) {
    if (f.required) {
      return Invalid("missing " + path);
    }
    return std::string();
  }
  if (!v->is_string()) {
    return Invalid(path + " must be a string");
  }
  const json::string& s = v->get_string();
  if (s.size() > f.max_bytes) {
    return Invalid(path + " is longer than " + std::to_string(f.max_bytes) + " bytes");
  }
  std::string out(s.data(), s.size());
  if (out.find('\0') != std::string::npos) {
    return Invalid(path + " contains a NUL character");
  }
  if (out.empty() && f.required) {
    return Invalid("missing " + path + " (empty)");
  }
  return out;
}

core::Result<std::string> JsonId(const json::object& o, std::string_view prefix,
                                 std::string_view key, bool required) {
  auto s = JsonString(o, prefix, {key, required, kMaxIdBytes + 1});
  if (!s) {
    return s;
  }
  if (!s->empty() && !IsId(*s)) {
    return Invalid("invalid " + Path(prefix, key) + " \"" + Printable(*s) +
                   "\": expected up to 128 characters of [A-Za-z0-9._-]");
  }
  return s;
}

// The object member `key`; nullptr if absent/null. A non-object is an error.
core::Result<const json::object*> JsonObject(const json::object& o, std::string_view prefix,
                                             std::string_view key, bool required) {
  const json::value* v = Member(o, key);
  if (v == nullptr) {
    if (required) {
      return Invalid("missing " + Path(prefix, key));
    }
    return nullptr;
  }
  if (!v->is_object()) {
    return Invalid(Path(prefix, key) + " must be an object");
  }
  return &v->get_object();
}

core::Result<bool> JsonBool(const json::object& o, std::string_view prefix, std::string_view key) {
  const json::value* v = Member(o, key);
  if (v == nullptr) {
    return false;
  }
  if (!v->is_bool()) {
    return Invalid(Path(prefix, key) + " must be true or false");
  }
  return v->get_bool();
}

core::Result<SlackPayload> ParseUrlVerification(const json::object& o) {
  UrlVerification u;
  ASSIGN_OR_RETURN(u.challenge, JsonString(o, "", {"challenge", true, kMaxChallengeBytes}));
  for (const char c : u.challenge) {
    if (c <= 0x20 || c >= 0x7f) {
      return Invalid("challenge must be printable ASCII without spaces");
    }
  }
  return SlackPayload(std::move(u));
}

bool AllowedUserSubtype(std::string_view subtype) {
  // Messages a person wrote that carry a subtype: a thread reply also sent to the
  // channel, and a message with a file attached.
  return subtype == "thread_broadcast" || subtype == "file_share";
}

core::Result<SlackPayload> ParseEventCallback(const json::object& o, const ParseLimits& limits) {
  EventCallback e;
  ASSIGN_OR_RETURN(e.team_id, JsonId(o, "", "team_id", true));
  ASSIGN_OR_RETURN(e.api_app_id, JsonId(o, "", "api_app_id", false));
  ASSIGN_OR_RETURN(e.event_id, JsonId(o, "", "event_id", true));
  if (const json::value* t = Member(o, "event_time")) {
    if (t->is_int64()) {
      e.event_time = t->get_int64();
    } else if (t->is_uint64()) {
      e.event_time = std::numeric_limits<int64_t>::max();
    } else {
      return Invalid("event_time must be an integer");
    }
  }
  // Optional: absent or null stays nullopt (Slack omits it in some envelopes); any
  // other non-boolean is a malformed body rather than a guess.
  if (const json::value* x = Member(o, "is_ext_shared_channel")) {
    if (!x->is_bool()) {
      return Invalid("is_ext_shared_channel must be true or false");
    }
    e.is_ext_shared_channel = x->get_bool();
  }
  const json::object* ev = nullptr;
  ASSIGN_OR_RETURN(ev, JsonObject(o, "", "event", true));
  ASSIGN_OR_RETURN(e.event_type, JsonString(*ev, "event", {"type", true}));
  ASSIGN_OR_RETURN(e.subtype, JsonString(*ev, "event", {"subtype", false}));
  ASSIGN_OR_RETURN(e.bot_id, JsonString(*ev, "event", {"bot_id", false}));
  ASSIGN_OR_RETURN(e.channel_type, JsonString(*ev, "event", {"channel_type", false}));

  // Decide whether this event is a person talking to opsgate before insisting on the
  // fields such an event must have: Slack sends many shapes we ignore.
  if (e.event_type != "app_mention" && e.event_type != "message") {
    e.ignore_reason = "event type " + Printable(e.event_type);
  } else if (!e.bot_id.empty() || e.subtype == "bot_message") {
    e.ignore_reason = "bot message";  // includes opsgate's own replies: no loops
  } else if (!e.subtype.empty() && !AllowedUserSubtype(e.subtype)) {
    e.ignore_reason = "subtype " + Printable(e.subtype);  // edits, deletions, joins, ...
  } else if (Member(*ev, "edited") != nullptr) {
    e.ignore_reason = "edited message";
  } else if (e.event_type == "message" && e.channel_type != "im") {
    // Mentions in channels arrive as app_mention; other channel chatter is not for us.
    e.ignore_reason = "message in channel_type " + Printable(e.channel_type);
  }
  if (!e.ignore_reason.empty()) {
    e.kind = EventKind::kIgnored;
    return SlackPayload(std::move(e));
  }

  e.kind = e.event_type == "app_mention" ? EventKind::kAppMention : EventKind::kDirectMessage;
  ASSIGN_OR_RETURN(e.user, JsonId(*ev, "event", "user", true));
  ASSIGN_OR_RETURN(e.channel, JsonId(*ev, "event", "channel", true));
  ASSIGN_OR_RETURN(e.ts, JsonId(*ev, "event", "ts", true));
  ASSIGN_OR_RETURN(e.thread_ts, JsonId(*ev, "event", "thread_ts", false));
  ASSIGN_OR_RETURN(e.text, JsonString(*ev, "event", {"text", false, limits.max_text_bytes}));
  return SlackPayload(std::move(e));
}

core::Result<SlackPayload> ParseEventsApi(std::string_view body, const ParseLimits& limits) {
  json::object o;
  ASSIGN_OR_RETURN(o, ParseJsonObject(body, limits, "Events API body"));
  std::string type;
  ASSIGN_OR_RETURN(type, JsonString(o, "", {"type", true}));
  if (type == "url_verification") {
    return ParseUrlVerification(o);
  }
  if (type == "event_callback") {
    return ParseEventCallback(o, limits);
  }
  // app_rate_limited and whatever Slack adds later: well-formed, nothing to do.
  return SlackPayload(IgnoredPayload{Printable(type, 64)});
}

core::Result<SlackPayload> ParseBlockActions(const json::object& o, const ParseLimits& limits) {
  BlockActions b;
  const json::object* user = nullptr;
  ASSIGN_OR_RETURN(user, JsonObject(o, "", "user", true));
  ASSIGN_OR_RETURN(b.user_id, JsonId(*user, "user", "id", true));
  ASSIGN_OR_RETURN(b.user_name, JsonString(*user, "user", {"username", false}));
  if (b.user_name.empty()) {
    ASSIGN_OR_RETURN(b.user_name, JsonString(*user, "user", {"name", false}));
  }

  const json::object* team = nullptr;
  ASSIGN_OR_RETURN(team, JsonObject(o, "", "team", false));
  if (team != nullptr) {
    ASSIGN_OR_RETURN(b.team_id, JsonId(*team, "team", "id", false));
  }
  if (b.team_id.empty()) {
    // Org-wide apps on Enterprise Grid may get "team": null; the user's team remains.
    ASSIGN_OR_RETURN(b.team_id, JsonId(*user, "user", "team_id", false));
  }
  if (b.team_id.empty()) {
    return Invalid("missing team.id");
  }
  const json::object* enterprise = nullptr;
  ASSIGN_OR_RETURN(enterprise, JsonObject(o, "", "enterprise", false));
  if (enterprise != nullptr) {
    ASSIGN_OR_RETURN(b.enterprise_id, JsonId(*enterprise, "enterprise", "id", false));
  }
  ASSIGN_OR_RETURN(b.api_app_id, JsonId(o, "", "api_app_id", false));
  ASSIGN_OR_RETURN(b.trigger_id, JsonId(o, "", "trigger_id", true));
  ASSIGN_OR_RETURN(b.response_url, JsonString(o, "", {"response_url", false, kMaxUrlBytes}));
  if (!b.response_url.empty()) {
    OPSGATE_RETURN_IF_ERROR(CheckResponseUrl(b.response_url, "response_url"));
  }

  const json::object* container = nullptr;
  ASSIGN_OR_RETURN(container, JsonObject(o, "", "container", false));
  std::string container_channel;
  if (container != nullptr) {
    ASSIGN_OR_RETURN(b.message_ts, JsonId(*container, "container", "message_ts", false));
    ASSIGN_OR_RETURN(b.thread_ts, JsonId(*container, "container", "thread_ts", false));
    ASSIGN_OR_RETURN(container_channel, JsonId(*container, "container", "channel_id", false));
    ASSIGN_OR_RETURN(b.is_ephemeral, JsonBool(*container, "container", "is_ephemeral"));
  }
  const json::object* channel = nullptr;
  ASSIGN_OR_RETURN(channel, JsonObject(o, "", "channel", false));
  if (channel != nullptr) {
    ASSIGN_OR_RETURN(b.channel_id, JsonId(*channel, "channel", "id", false));
  }
  if (b.channel_id.empty()) {
    b.channel_id = std::move(container_channel);
  }

  const json::value* actions = Member(o, "actions");
  if (actions == nullptr) {
    return Invalid("missing actions");
  }
  if (!actions->is_array()) {
    return Invalid("actions must be an array");
  }
  const json::array& list = actions->get_array();
  if (list.empty()) {
    return Invalid("actions is empty");
  }
  if (list.size() > limits.max_actions) {
    return Invalid("actions has " + std::to_string(list.size()) + " elements; at most " +
                   std::to_string(limits.max_actions) + " are accepted");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string prefix = "actions[" + std::to_string(i) + "]";
    if (!list[i].is_object()) {
      return Invalid(prefix + " must be an object");
    }
    const json::object& a = list[i].get_object();
    BlockAction action;
    ASSIGN_OR_RETURN(action.action_id, JsonString(a, prefix, {"action_id", true, 255}));
    ASSIGN_OR_RETURN(action.type, JsonString(a, prefix, {"type", false}));
    ASSIGN_OR_RETURN(action.block_id, JsonString(a, prefix, {"block_id", false, 255}));
    ASSIGN_OR_RETURN(action.value, JsonString(a, prefix, {"value", false, 2000}));
    ASSIGN_OR_RETURN(action.action_ts, JsonId(a, prefix, "action_ts", false));
    b.actions.push_back(std::move(action));
  }
  return SlackPayload(std::move(b));
}

core::Result<SlackPayload> ParseInteractivity(const Form& form, const ParseLimits& limits) {
  if (form.size() != 1) {
    return Invalid("interactivity body must have exactly one field, payload; it has " +
                   std::to_string(form.size()));
  }
  json::object o;
  ASSIGN_OR_RETURN(o, ParseJsonObject(form.begin()->second, limits, "payload field"));
  std::string type;
  ASSIGN_OR_RETURN(type, JsonString(o, "payload", {"type", true}));
  if (type == "block_actions") {
    return ParseBlockActions(o, limits);
  }
  return SlackPayload(IgnoredPayload{Printable(type, 64)});
}

// The trailing text after "<@ID>" or "<@ID|label>", or nullopt if `s` does not start
// with such a mention.
std::optional<std::string_view> AfterMention(std::string_view s) {
  if (s.substr(0, 2) != "<@") {
    return std::nullopt;
  }
  size_t i = 2;
  while (i < s.size() && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9'))) {
    ++i;
  }
  if (i == 2 || i >= s.size()) {
    return std::nullopt;
  }
  if (s[i] == '|') {
    const size_t close = s.find('>', i);
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    i = close;
  }
  if (s[i] != '>') {
    return std::nullopt;
  }
  return s.substr(i + 1);
}

}  // namespace

core::Result<std::vector<std::pair<std::string, std::string>>> ParseFormUrlEncoded(
    std::string_view body, const ParseLimits& limits) {
  std::vector<std::pair<std::string, std::string>> fields;
  std::map<std::string, bool, std::less<>> seen;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string_view::npos) {
      end = body.size();
    }
    const std::string_view piece = body.substr(start, end - start);
    start = end + 1;
    if (piece.empty()) {
      continue;
    }
    if (fields.size() >= limits.max_form_fields) {
      return Invalid("form body has more than " + std::to_string(limits.max_form_fields) +
                     " fields");
    }
    const size_t eq = piece.find('=');
    if (eq == std::string_view::npos) {
      return Invalid("form field \"" + Printable(piece) + "\" has no '='");
    }
    auto name =
        DecodeComponent(piece.substr(0, eq), limits.max_field_name_bytes, "a form field name");
    if (!name) {
      return core::Fail(name.error());
    }
    if (name->empty()) {
      return Invalid("form field with an empty name");
    }
    auto value = DecodeComponent(piece.substr(eq + 1), limits.max_field_value_bytes,
                                 "form field " + Printable(*name));
    if (!value) {
      return core::Fail(value.error());
    }
    if (!seen.emplace(*name, true).second) {
      return Invalid("duplicate form field " + Printable(*name));
    }
    fields.emplace_back(std::move(*name), std::move(*value));
  }
  return fields;
}

core::Result<SlackPayload> ParseSlackPayload(std::string_view content_type, std::string_view body,
                                             const ParseLimits& limits) {
  if (body.size() > limits.max_body_bytes) {
    return Invalid("body is " + std::to_string(body.size()) + " bytes; at most " +
                   std::to_string(limits.max_body_bytes) + " are accepted");
  }
  const std::string media = MediaType(content_type);
  if (media == "application/json") {
    return ParseEventsApi(body, limits);
  }
  if (media != "application/x-www-form-urlencoded") {
    return Invalid("unsupported Content-Type \"" + Printable(content_type) +
                   "\": Slack sends application/x-www-form-urlencoded or application/json");
  }
  Form form;
  ASSIGN_OR_RETURN(form, ParseForm(body, limits));
  const bool has_payload = form.count("payload") != 0;
  const bool has_command = form.count("command") != 0;
  if (has_payload && has_command) {
    return Invalid("form body has both payload and command fields");
  }
  if (has_payload) {
    return ParseInteractivity(form, limits);
  }
  if (has_command) {
    return ParseSlashCommand(form, limits);
  }
  return Invalid(
      "form body has neither a command field (slash command) nor a payload field "
      "(interactivity)");
}

std::string StripLeadingMention(std::string_view text) {
  const std::string_view trimmed = core::Trim(text);
  if (const auto rest = AfterMention(trimmed)) {
    return std::string(core::Trim(*rest));
  }
  return std::string(trimmed);
}

std::string UnescapeSlackText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const std::string_view rest = text.substr(i);
    if (rest.substr(0, 5) == "&amp;") {
      out += '&';
      i += 4;
    } else if (rest.substr(0, 4) == "&lt;") {
      out += '<';
      i += 3;
    } else if (rest.substr(0, 4) == "&gt;") {
      out += '>';
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

bool IsSlackResponseUrl(std::string_view url) {
  for (const std::string_view prefix :
       {"https://hooks.slack.com/", "https://hooks.slack-gov.com/"}) {
    if (url.size() > prefix.size() && url.substr(0, prefix.size()) == prefix) {
      return url.find_first_of(std::string_view(" \t\r\n\0", 5)) == std::string_view::npos;
    }
  }
  return false;
}

pipeline::Message ToMessage(const SlashCommand& c) {
  pipeline::Message m;
  m.platform = "slack";
  m.workspace_id = c.team_id;
  m.user_id = c.user_id;
  m.user_name = c.user_name;
  m.text = UnescapeSlackText(core::Trim(c.text));
  m.event_id = "command:" + c.trigger_id;
  // Slash commands do not say whether the channel is shared: channel_external stays
  // nullopt, so a policy with channel_posture cannot allow them (except in DMs).
  m.reply_to.channel_id = c.channel_id;
  m.reply_to.response_url = c.response_url;
  m.reply_to.ephemeral = true;
  // Slack's conversation ids: D… for a direct message with the bot.
  m.is_direct = c.channel_id.rfind('D', 0) == 0;
  return m;
}

std::optional<pipeline::Message> ToMessage(const EventCallback& e) {
  if (e.kind == EventKind::kIgnored) {
    return std::nullopt;
  }
  pipeline::Message m;
  m.platform = "slack";
  m.workspace_id = e.team_id;
  m.user_id = e.user;
  m.event_id = e.event_id;
  m.reply_to.channel_id = e.channel;
  m.channel_external = e.is_ext_shared_channel;
  if (e.kind == EventKind::kAppMention) {
    m.text = UnescapeSlackText(StripLeadingMention(e.text));
    // Answer in a thread under the mention, not in the channel's main flow.
    m.reply_to.thread_id = e.thread_ts.empty() ? e.ts : e.thread_ts;
  } else {
    m.text = UnescapeSlackText(core::Trim(e.text));
    m.reply_to.thread_id = e.thread_ts;
    m.is_direct = true;  // message.im
  }
  return m;
}

pipeline::Message ToMessage(const BlockActions& b) {
  pipeline::Message m;
  m.platform = "slack";
  m.workspace_id = b.team_id;
  m.user_id = b.user_id;
  m.user_name = b.user_name;
  if (!b.actions.empty()) {
    const BlockAction& a = b.actions.front();
    m.text = a.value.empty() ? a.action_id : a.action_id + " " + a.value;
  }
  m.event_id = "action:" + b.trigger_id;
  // block_actions payloads do not say whether the channel is shared: channel_external
  // stays nullopt.
  m.reply_to.channel_id = b.channel_id;
  m.reply_to.thread_id = b.thread_ts;
  m.reply_to.response_url = b.response_url;
  m.reply_to.ephemeral = b.is_ephemeral;
  return m;
}

std::optional<pipeline::Message> ToMessage(const SlackPayload& payload) {
  if (const auto* c = std::get_if<SlashCommand>(&payload)) {
    return ToMessage(*c);
  }
  if (const auto* e = std::get_if<EventCallback>(&payload)) {
    return ToMessage(*e);
  }
  if (const auto* b = std::get_if<BlockActions>(&payload)) {
    return ToMessage(*b);
  }
  return std::nullopt;
}

}  // namespace opsgate::connectors::slack

#undef ASSIGN_OR_RETURN
#undef OPSGATE_CONCAT
#undef OPSGATE_CONCAT_INNER
#undef OPSGATE_ASSIGN_OR_RETURN_IMPL
