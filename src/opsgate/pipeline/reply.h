// File: opsgate/pipeline/reply.h
//
// The answer to a person, independent of the chat platform. Built-in commands and (later)
// actions produce a Reply; each connector renders it in its own format (Slack: Block
// Kit, web chat: JSON for the browser). Texts are plain: renderers escape them.
//
//   pipeline::Reply r("pong");
//   r.Heading("pong").Note("gateway time 2026-11-26T19:00:00Z");
//
// Thread-safety: a value type.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace opsgate::pipeline {

// One of opsgate's standard buttons; `value` comes back with the click.
struct ReplyButton {
  enum class Kind { kConfirm, kCancel, kApprove, kDeny };
  Kind kind = Kind::kConfirm;
  std::string value;
};

struct ReplyBlock {
  enum class Kind {
    kHeading,  // a short bold line
    kText,     // a paragraph
    kCode,     // preformatted (command output)
    kFields,   // label: value lines
    kLink,     // a link the person should open: text = label, url = the target
    kNote,     // small print
    kButtons,  // a row of buttons
  };
  Kind kind = Kind::kText;
  std::string text;
  std::string url;
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<ReplyButton> buttons;
};

struct Reply {
  Reply() = default;
  explicit Reply(std::string summary) : text(std::move(summary)) {}

  // One plain line: notifications and clients that show no blocks.
  std::string text;
  std::vector<ReplyBlock> blocks;
  // Only the asker should see it (the default for everything about the asker).
  bool ephemeral = true;
  // Replace the message whose button was clicked, where the platform can.
  bool replace_original = false;
  // An interim report of an action still running (a resize's "still stopping..."); the
  // result follows. A platform short of posts may skip these, never the result.
  bool progress = false;

  Reply& Heading(std::string t) { return AddText(ReplyBlock::Kind::kHeading, std::move(t)); }
  Reply& Text(std::string t) { return AddText(ReplyBlock::Kind::kText, std::move(t)); }
  Reply& Code(std::string t) { return AddText(ReplyBlock::Kind::kCode, std::move(t)); }
  Reply& Note(std::string t) { return AddText(ReplyBlock::Kind::kNote, std::move(t)); }
  Reply& Fields(std::vector<std::pair<std::string, std::string>> f) {
    ReplyBlock& b = AddText(ReplyBlock::Kind::kFields, {}).blocks.back();
    b.fields = std::move(f);
    return *this;
  }
  Reply& Link(std::string label, std::string url) {
    AddText(ReplyBlock::Kind::kLink, std::move(label)).blocks.back().url = std::move(url);
    return *this;
  }
  Reply& Buttons(std::vector<ReplyButton> buttons) {
    AddText(ReplyBlock::Kind::kButtons, {}).blocks.back().buttons = std::move(buttons);
    return *this;
  }

 private:
  Reply& AddText(ReplyBlock::Kind kind, std::string t) {
    ReplyBlock& b = blocks.emplace_back();
    b.kind = kind;
    b.text = std::move(t);
    return *this;
  }
};

// A plain one-line answer: `text` as the summary and as its only block.
inline Reply Say(std::string text) {
  Reply r(text);
  r.Text(std::move(text));
  return r;
}

}  // namespace opsgate::pipeline
