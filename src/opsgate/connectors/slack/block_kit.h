// File: opsgate/connectors/slack/block_kit.h
//
// Builds the JSON of Slack messages (Block Kit) for the two ways opsgate answers:
// a POST to a response_url, and the chat.postMessage Web API method. The JSON is
// produced with Boost.JSON, never by string concatenation, and text is escaped per
// Slack's rules, so nothing a user typed can become markup (mentions such as
// <!channel>, links) or break the JSON.
//
//   SlackMessage msg("Stop i-0abc123 in eu-west-1?");
//   msg.Section("Stop *i-0abc123* in eu-west-1?")
//      .CodeBlock(plan_text)
//      .Actions({ConfirmButton("dlg-42", ButtonStyle::kDanger,
//                              ConfirmDialog{"Stop instance?", "This stops i-0abc123.",
//                                            "Stop it", "Keep it running"}),
//                CancelButton("dlg-42")})
//      .Context("Requested by you · expires in 5 min");
//   core::Result<std::string> body = msg.ToResponseUrlJson({ResponseType::kEphemeral});
//
// Sizes follow Slack's documented limits: section/context text is cut at 3000
// characters and the fallback text at 4000 (with "…"); 50 blocks per message; in
// an actions block at most 25 buttons with distinct action_ids; button label 1..75
// characters, action_id 1..255, value up to 2000; confirmation dialog title 100,
// text 300, button labels 30. Values opsgate chooses itself (ids, labels, values)
// are never silently cut: breaking a limit records an error that the To*Json
// methods return.
//
// Thread-safety: a SlackMessage is a value; do not share one between threads while
// adding blocks.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/core/result.h"

namespace boost::json {
class object;
}  // namespace boost::json

namespace opsgate::connectors::slack {

// Escapes text for Slack mrkdwn: & < > become &amp; &lt; &gt; (Slack's only three).
// Formatting characters (*bold*, _italic_, `code`) keep working; mentions and links
// cannot be forged.
std::string EscapeMrkdwn(std::string_view text);

// "<@U123ABC>" for a user id of [A-Z0-9]; otherwise the escaped text, so a bad id can
// never inject markup. For SectionMrkdwn().
std::string UserMention(std::string_view user_id);

enum class ButtonStyle {
  kDefault,  // grey
  kPrimary,  // green: the affirmative choice; at most one per actions block
  kDanger,   // red: destructive
};

// A confirmation step after a button is clicked ("Are you sure?").
struct ConfirmDialog {
  std::string title;                         // plain text, 1..100 characters
  std::string text;                          // escaped mrkdwn, 1..300 characters
  std::string confirm;                       // plain text label of the confirming button, 1..30
  std::string deny;                          // plain text label of the cancelling button, 1..30
  ButtonStyle style = ButtonStyle::kDanger;  // colour of the confirming button
};

struct Button {
  std::string text;       // plain text label, 1..75 characters
  std::string action_id;  // 1..255; comes back as BlockAction::action_id
  std::string value;      // up to 2000; comes back as BlockAction::value
  ButtonStyle style = ButtonStyle::kDefault;
  std::optional<ConfirmDialog> confirm;
};

// The action_ids of the standard buttons below; the connector routes clicks by them.
inline constexpr std::string_view kConfirmActionId = "opsgate.confirm";
inline constexpr std::string_view kCancelActionId = "opsgate.cancel";
inline constexpr std::string_view kApproveActionId = "opsgate.approve";
inline constexpr std::string_view kDenyActionId = "opsgate.deny";

// "Confirm" (kConfirmActionId); style kPrimary, or kDanger for destructive actions.
Button ConfirmButton(std::string value, ButtonStyle style = ButtonStyle::kPrimary,
                     std::optional<ConfirmDialog> dialog = std::nullopt);
// "Cancel" (kCancelActionId), default style.
Button CancelButton(std::string value);
// "Approve" (kApproveActionId), kPrimary.
Button ApproveButton(std::string value, std::optional<ConfirmDialog> dialog = std::nullopt);
// "Deny" (kDenyActionId), kDanger.
Button DenyButton(std::string value);

enum class ResponseType {
  kEphemeral,  // only the person who asked sees it (Slack's default for response_url)
  kInChannel,  // everyone in the channel sees it
};

struct ResponseUrlOptions {
  ResponseType type = ResponseType::kEphemeral;
  // Replace the message that held the clicked button instead of posting a new one.
  bool replace_original = false;
};

class SlackMessage {
 public:
  // `fallback_text` is plain text for notifications and clients without Block Kit;
  // it is escaped and cut at 4000 characters. Required by Slack when blocks are sent.
  explicit SlackMessage(std::string_view fallback_text);

  // A section of text; escaped, then cut at 3000 characters.
  SlackMessage& Section(std::string_view text);
  // A section of mrkdwn the caller assembled from EscapeMrkdwn()/UserMention() pieces
  // and opsgate's own formatting. Never pass user input here unescaped.
  SlackMessage& SectionMrkdwn(std::string_view mrkdwn);
  // A ``` fenced code block; `code` is escaped, runs of backticks that would close the
  // fence are broken with a zero-width space, and it is cut to fit 3000 characters.
  SlackMessage& CodeBlock(std::string_view code);
  // Small grey text under the message; escaped, cut at 3000 characters.
  SlackMessage& Context(std::string_view text);
  SlackMessage& Divider();
  // An actions block with buttons (1..25, distinct action_ids). `block_id` (optional,
  // up to 255) comes back as BlockAction::block_id.
  SlackMessage& Actions(std::vector<Button> buttons, std::string_view block_id = {});

  // The body for a POST to a response_url: {"response_type", "replace_original",
  // "text", "blocks"}. Errors: kInvalidArgument for the first limit broken.
  [[nodiscard]] core::Result<std::string> ToResponseUrlJson(ResponseUrlOptions options = {}) const;
  // The body of a 200 that answers a slash command at once (Slack's immediate
  // response): {"response_type", "text", "blocks"}. Errors: as ToResponseUrlJson.
  [[nodiscard]] core::Result<std::string> ToImmediateResponseJson(ResponseType type) const;
  // The body for chat.postMessage: {"channel", "text", "blocks", "thread_ts" if not
  // empty, "unfurl_links": false, "unfurl_media": false}. Errors: kInvalidArgument for
  // an empty channel or the first limit broken.
  [[nodiscard]] core::Result<std::string> ToPostMessageJson(std::string_view channel,
                                                            std::string_view thread_ts = {}) const;

  size_t block_count() const { return blocks_.size(); }

  // Runs `redact` (redact/redactor.h) over every text the message shows: the fallback,
  // sections, code blocks, context and confirm-dialog texts, then cuts each to its limit
  // again. Button labels, action ids and values are opsgate's own and left alone. The
  // connector calls it on every reply before it leaves the process.
  SlackMessage& RedactText(const std::function<std::string(std::string_view)>& redact);

 private:
  enum class Kind { kSection, kContext, kDivider, kActions };
  struct Block {
    Kind kind = Kind::kSection;
    std::string text;  // mrkdwn, already escaped and cut
    bool code = false;  // a ``` fenced code block (text includes the fences)
    std::string block_id;
    std::vector<Button> buttons;
  };

  SlackMessage& Add(Block block);
  void SetError(std::string message);
  [[nodiscard]] core::Status Check() const;
  // Adds "text" and "blocks" to `out` (Boost.JSON is only forward-declared here).
  void AppendContent(boost::json::object& out) const;

  std::string fallback_;
  std::vector<Block> blocks_;
  std::optional<std::string> error_;  // the first limit broken
};

// The body for a POST to a response_url that deletes the message holding the clicked
// button: {"delete_original": true}.
std::string DeleteOriginalJson();

}  // namespace opsgate::connectors::slack
