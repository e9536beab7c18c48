#include "opsgate/connectors/slack/web_api.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <exception>
#include <string>

namespace opsgate::connectors::slack {
namespace {

namespace json = boost::json;

bool In(std::string_view code, std::initializer_list<std::string_view> set) {
  for (const std::string_view s : set) {
    if (code == s) {
      return true;
    }
  }
  return false;
}

core::ErrorCode CodeFor(std::string_view error) {
  using core::ErrorCode;
  if (In(error,
         {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"})) {
    return ErrorCode::kUnauthenticated;
  }
  if (In(error, {"missing_scope", "not_in_channel", "restricted_action", "ekm_access_denied",
                 "not_allowed_token_type", "team_access_not_granted"})) {
    return ErrorCode::kPermissionDenied;
  }
  if (In(error, {"channel_not_found", "user_not_found", "message_not_found"})) {
    return ErrorCode::kNotFound;
  }
  if (In(error, {"invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text",
                 "invalid_arguments", "too_many_attachments", "invalid_json"})) {
    return ErrorCode::kInvalidArgument;
  }
  if (In(error, {"ratelimited", "rate_limited"})) {
    return ErrorCode::kResourceExhausted;
  }
  if (In(error, {"internal_error", "fatal_error", "service_unavailable", "request_timeout"})) {
    return ErrorCode::kUnavailable;
  }
  return ErrorCode::kFailedPrecondition;
}

// Slack's error codes are snake_case words; anything else is cut and neutralised so it
// cannot forge log lines.
std::string Printable(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 64; ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    out += ok ? c : '?';
  }
  return out;
}

}  // namespace

core::Status CheckWebApiResponse(std::string_view body) {
  boost::system::error_code ec;
  json::value v;
  try {
    v = json::parse(json::string_view(body.data(), body.size()), ec);
  } catch (const std::exception&) {
    ec = boost::system::errc::make_error_code(boost::system::errc::not_enough_memory);
  }
  if (ec || !v.is_object()) {
    return core::Fail(core::InvalidArgument("Slack API reply is not a JSON object"));
  }
  const json::object& o = v.get_object();
  const auto ok = o.find("ok");
  if (ok == o.end() || !ok->value().is_bool()) {
    return core::Fail(core::InvalidArgument("Slack API reply has no boolean \"ok\""));
  }
  if (ok->value().get_bool()) {
    return core::Ok();
  }
  std::string error = "unknown_error";
  const auto e = o.find("error");
  if (e != o.end() && e->value().is_string()) {
    error =
        Printable(std::string_view(e->value().get_string().data(), e->value().get_string().size()));
  }
  return core::Fail(core::Error{CodeFor(error), "Slack API error " + error});
}

}  // namespace opsgate::connectors::slack
