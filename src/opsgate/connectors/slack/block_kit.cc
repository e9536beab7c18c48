#include "opsgate/core/strings.h"
#include "opsgate/connectors/slack/block_kit.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <set>
#include <utility>

namespace opsgate::connectors::slack {
namespace {

namespace json = boost::json;

constexpr size_t kMaxBlocks = 50;
constexpr size_t kMaxTextChars = 3000;
constexpr size_t kMaxFallbackChars = 4000;
constexpr size_t kMaxButtons = 25;
constexpr size_t kMaxButtonTextChars = 75;
constexpr size_t kMaxActionIdChars = 255;
constexpr size_t kMaxValueChars = 2000;
constexpr size_t kMaxBlockIdChars = 255;
constexpr size_t kMaxDialogTitleChars = 100;
constexpr size_t kMaxDialogTextChars = 300;
constexpr size_t kMaxDialogButtonChars = 30;
constexpr std::string_view kEllipsis = "\u2026";
constexpr std::string_view kZeroWidthSpace = "\u200b";

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Code points, which is how Slack counts its limits.
size_t CountChars(std::string_view s) {
  size_t n = 0;
  for (const char c : s) {
    n += IsContinuation(c) ? 0 : 1;
  }
  return n;
}

// Cuts escaped mrkdwn to `max_chars` code points, ending with "…", without splitting
// a character or an &amp;/&lt;/&gt; entity.
std::string Truncate(std::string s, size_t max_chars) {
  if (CountChars(s) <= max_chars) {
    return s;
  }
  const size_t keep = max_chars > 0 ? max_chars - 1 : 0;
  size_t chars = 0;
  size_t cut = 0;
  for (; cut < s.size(); ++cut) {
    if (!IsContinuation(s[cut])) {
      if (chars == keep) {
        break;
      }
      ++chars;
    }
  }
  const size_t amp = cut > 0 ? s.rfind('&', cut - 1) : std::string::npos;
  if (amp != std::string::npos && cut - amp < 5 && s.find(';', amp) >= cut) {
    cut = amp;
  }
  s.resize(cut);
  s += kEllipsis;
  return s;
}

// Inserts a zero-width space between consecutive backticks so that text inside a code
// block can never produce the ``` that would close it.
std::string BreakBacktickRuns(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    out += s[i];
    if (s[i] == '`' && i + 1 < s.size() && s[i + 1] == '`') {
      out += kZeroWidthSpace;
    }
  }
  return out;
}

json::object PlainText(std::string_view text) {
  return {{"type", "plain_text"}, {"text", text}, {"emoji", true}};
}

json::object MrkdwnText(std::string_view text) { return {{"type", "mrkdwn"}, {"text", text}}; }

std::optional<std::string_view> StyleName(ButtonStyle style) {
  switch (style) {
    case ButtonStyle::kPrimary:
      return "primary";
    case ButtonStyle::kDanger:
      return "danger";
    case ButtonStyle::kDefault:
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::string> CheckLength(std::string_view what, std::string_view value,
                                       size_t min_chars, size_t max_chars) {
  const size_t n = CountChars(value);
  if (n < min_chars || n > max_chars) {
    return std::string(what) + " must be " + std::to_string(min_chars) + ".." +
           std::to_string(max_chars) + " characters, not " + std::to_string(n);
  }
  return std::nullopt;
}

json::object ButtonJson(const Button& b) {
  json::object o{{"type", "button"}, {"text", PlainText(b.text)}, {"action_id", b.action_id}};
  if (!b.value.empty()) {
    o["value"] = b.value;
  }
  if (const auto style = StyleName(b.style)) {
    o["style"] = *style;
  }
  if (b.confirm) {
    const ConfirmDialog& d = *b.confirm;
    json::object c{{"title", PlainText(d.title)},
                   {"text", MrkdwnText(EscapeMrkdwn(d.text))},
                   {"confirm", PlainText(d.confirm)},
                   {"deny", PlainText(d.deny)}};
    if (const auto style = StyleName(d.style)) {
      c["style"] = *style;
    }
    o["confirm"] = std::move(c);
  }
  return o;
}

}  // namespace

std::string EscapeMrkdwn(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string UserMention(std::string_view user_id) {
  bool ok = !user_id.empty() && user_id.size() <= 64;
  for (const char c : user_id) {
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
  }
  if (!ok) {
    return EscapeMrkdwn(core::SanitizeUtf8(user_id));
  }
  return "<@" + std::string(user_id) + ">";
}

Button ConfirmButton(std::string value, ButtonStyle style, std::optional<ConfirmDialog> dialog) {
  return Button{"Confirm", std::string(kConfirmActionId), std::move(value), style,
                std::move(dialog)};
}

Button CancelButton(std::string value) {
  return Button{"Cancel", std::string(kCancelActionId), std::move(value), ButtonStyle::kDefault,
                std::nullopt};
}

Button ApproveButton(std::string value, std::optional<ConfirmDialog> dialog) {
  return Button{"Approve", std::string(kApproveActionId), std::move(value), ButtonStyle::kPrimary,
                std::move(dialog)};
}

Button DenyButton(std::string value) {
  return Button{"Deny", std::string(kDenyActionId), std::move(value), ButtonStyle::kDanger,
                std::nullopt};
}

SlackMessage::SlackMessage(std::string_view fallback_text)
    : fallback_(Truncate(EscapeMrkdwn(core::SanitizeUtf8(fallback_text)), kMaxFallbackChars)) {}

void SlackMessage::SetError(std::string message) {
  if (!error_) {
    error_ = std::move(message);
  }
}

SlackMessage& SlackMessage::Add(Block block) {
  if (blocks_.size() >= kMaxBlocks) {
    SetError("a Slack message holds at most " + std::to_string(kMaxBlocks) + " blocks");
    return *this;
  }
  blocks_.push_back(std::move(block));
  return *this;
}

SlackMessage& SlackMessage::Section(std::string_view text) {
  return SectionMrkdwn(EscapeMrkdwn(core::SanitizeUtf8(text)));
}

SlackMessage& SlackMessage::SectionMrkdwn(std::string_view mrkdwn) {
  if (mrkdwn.empty()) {
    SetError("section text is empty");
    return *this;
  }
  Block b;
  b.kind = Kind::kSection;
  b.text = Truncate(core::SanitizeUtf8(mrkdwn), kMaxTextChars);
  return Add(std::move(b));
}

namespace {
constexpr std::string_view kOpen = "```\n";
constexpr std::string_view kClose = "\n```";
}  // namespace

SlackMessage& SlackMessage::CodeBlock(std::string_view code) {
  std::string body = BreakBacktickRuns(EscapeMrkdwn(core::SanitizeUtf8(code)));
  if (body.empty()) {
    body = "(no output)";
  }
  Block b;
  b.kind = Kind::kSection;
  b.text = std::string(kOpen) + Truncate(std::move(body), kMaxTextChars - 8) + std::string(kClose);
  b.code = true;
  return Add(std::move(b));
}

SlackMessage& SlackMessage::RedactText(
    const std::function<std::string(std::string_view)>& redact) {
  // The texts are escaped already; redaction markers ("[redacted:aws_access_key]") hold
  // nothing mrkdwn treats specially, so they need no escaping.
  fallback_ = Truncate(redact(fallback_), kMaxFallbackChars);
  for (Block& b : blocks_) {
    if (b.code) {
      const std::string_view inner =
          std::string_view(b.text).substr(kOpen.size(), b.text.size() - kOpen.size() - kClose.size());
      b.text = std::string(kOpen) + Truncate(redact(inner), kMaxTextChars - 8) + std::string(kClose);
    } else if (!b.text.empty()) {
      b.text = Truncate(redact(b.text), kMaxTextChars);
    }
    for (Button& button : b.buttons) {
      if (button.confirm) {
        button.confirm->text = redact(button.confirm->text);
        // Cut as Check() measures it: escaped, at most kMaxDialogTextChars.
        std::string& t = button.confirm->text;
        while (!t.empty() && CountChars(EscapeMrkdwn(t)) > kMaxDialogTextChars) {
          while (!t.empty() && IsContinuation(t.back())) {  // drop one whole character
            t.pop_back();
          }
          if (!t.empty()) {
            t.pop_back();
          }
        }
      }
    }
  }
  return *this;
}

SlackMessage& SlackMessage::Context(std::string_view text) {
  if (text.empty()) {
    SetError("context text is empty");
    return *this;
  }
  Block b;
  b.kind = Kind::kContext;
  b.text = Truncate(EscapeMrkdwn(core::SanitizeUtf8(text)), kMaxTextChars);
  return Add(std::move(b));
}

SlackMessage& SlackMessage::Divider() {
  Block b;
  b.kind = Kind::kDivider;
  return Add(std::move(b));
}

SlackMessage& SlackMessage::Actions(std::vector<Button> buttons, std::string_view block_id) {
  if (buttons.empty() || buttons.size() > kMaxButtons) {
    SetError("an actions block needs 1.." + std::to_string(kMaxButtons) + " buttons, not " +
             std::to_string(buttons.size()));
    return *this;
  }
  if (block_id.size() > kMaxBlockIdChars) {
    SetError("block_id is longer than " + std::to_string(kMaxBlockIdChars) + " characters");
    return *this;
  }
  std::set<std::string> action_ids;
  for (Button& button : buttons) {
    button.text = core::SanitizeUtf8(button.text);
    button.value = core::SanitizeUtf8(button.value);
    std::optional<std::string> problem =
        CheckLength("button text", button.text, 1, kMaxButtonTextChars);
    if (!problem) {
      problem = CheckLength("button action_id", button.action_id, 1, kMaxActionIdChars);
    }
    if (!problem) {
      problem = CheckLength("button value", button.value, 0, kMaxValueChars);
    }
    if (!problem && !action_ids.insert(button.action_id).second) {
      problem = "action_id " + button.action_id + " appears twice in one actions block";
    }
    if (!problem && button.confirm) {
      ConfirmDialog& d = *button.confirm;
      d.title = core::SanitizeUtf8(d.title);
      d.text = core::SanitizeUtf8(d.text);
      d.confirm = core::SanitizeUtf8(d.confirm);
      d.deny = core::SanitizeUtf8(d.deny);
      problem = CheckLength("confirm dialog title", d.title, 1, kMaxDialogTitleChars);
      if (!problem) {
        problem = CheckLength("confirm dialog text", EscapeMrkdwn(d.text), 1, kMaxDialogTextChars);
      }
      if (!problem) {
        problem = CheckLength("confirm dialog confirm label", d.confirm, 1, kMaxDialogButtonChars);
      }
      if (!problem) {
        problem = CheckLength("confirm dialog deny label", d.deny, 1, kMaxDialogButtonChars);
      }
    }
    if (problem) {
      SetError(*problem);
      return *this;
    }
  }
  Block b;
  b.kind = Kind::kActions;
  b.block_id = std::string(block_id);
  b.buttons = std::move(buttons);
  return Add(std::move(b));
}

core::Status SlackMessage::Check() const {
  if (error_) {
    return core::Fail(core::InvalidArgument("invalid Slack message: " + *error_));
  }
  if (fallback_.empty() && blocks_.empty()) {
    return core::Fail(core::InvalidArgument("invalid Slack message: no text and no blocks"));
  }
  return core::Ok();
}

void SlackMessage::AppendContent(json::object& out) const {
  out["text"] = fallback_;
  if (blocks_.empty()) {
    return;
  }
  json::array blocks;
  for (const Block& b : blocks_) {
    switch (b.kind) {
      case Kind::kSection:
        blocks.push_back(json::object{{"type", "section"}, {"text", MrkdwnText(b.text)}});
        break;
      case Kind::kContext:
        blocks.push_back(
            json::object{{"type", "context"}, {"elements", json::array{MrkdwnText(b.text)}}});
        break;
      case Kind::kDivider:
        blocks.push_back(json::object{{"type", "divider"}});
        break;
      case Kind::kActions: {
        json::array elements;
        for (const Button& button : b.buttons) {
          elements.push_back(ButtonJson(button));
        }
        json::object actions{{"type", "actions"}};
        if (!b.block_id.empty()) {
          actions["block_id"] = b.block_id;
        }
        actions["elements"] = std::move(elements);
        blocks.push_back(std::move(actions));
        break;
      }
    }
  }
  out["blocks"] = std::move(blocks);
}

core::Result<std::string> SlackMessage::ToResponseUrlJson(ResponseUrlOptions options) const {
  OPSGATE_RETURN_IF_ERROR(Check());
  json::object o{
      {"response_type", options.type == ResponseType::kInChannel ? "in_channel" : "ephemeral"},
      {"replace_original", options.replace_original}};
  AppendContent(o);
  return json::serialize(o);
}

core::Result<std::string> SlackMessage::ToImmediateResponseJson(ResponseType type) const {
  OPSGATE_RETURN_IF_ERROR(Check());
  json::object o{{"response_type", type == ResponseType::kInChannel ? "in_channel" : "ephemeral"}};
  AppendContent(o);
  return json::serialize(o);
}

core::Result<std::string> SlackMessage::ToPostMessageJson(std::string_view channel,
                                                          std::string_view thread_ts) const {
  if (channel.empty()) {
    return core::Fail(core::InvalidArgument("chat.postMessage needs a channel"));
  }
  OPSGATE_RETURN_IF_ERROR(Check());
  json::object o{{"channel", channel}};
  if (!thread_ts.empty()) {
    o["thread_ts"] = thread_ts;
  }
  AppendContent(o);
  // Links in answers (runbooks, consoles) must not be fetched and previewed by Slack.
  o["unfurl_links"] = false;
  o["unfurl_media"] = false;
  return json::serialize(o);
}

std::string DeleteOriginalJson() {
  return json::serialize(json::object{{"delete_original", true}});
}

}  // namespace opsgate::connectors::slack
