// libFuzzer target for everything Slack sends us: the request parser and the signature
// verifier over the same untrusted bytes.
//
// Input layout: byte 0 picks the Content-Type ('0' form, '1' JSON, '2' JSON with a
// charset, '3' the text up to the first '\n' of the rest); the rest is the body.
// Properties checked besides "no crash, no sanitizer report":
//   - a body signed with ComputeSlackSignature() always verifies (Verify(Sign(x)));
//   - flipping the signature's last hex digit never verifies;
//   - every accepted payload converts to a Message and renders as a Slack reply whose
//     JSON output is produced without error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "opsgate/connectors/slack/block_kit.h"
#include "opsgate/connectors/slack/payload.h"
#include "opsgate/connectors/slack/verifier.h"

namespace {

using namespace opsgate;
using namespace opsgate::connectors::slack;

constexpr int64_t kNow = 1531420618;

void CheckSignature(std::string_view body) {
  static const core::Secret secret("8f742231b10e8888abcd99yyyzzz85a5");
  const std::string ts = std::to_string(kNow);
  std::string sig = ComputeSlackSignature(ts, body, secret);
  if (!VerifySlackSignature(ts, sig, body, secret, kNow)) {
    std::abort();  // Verify(Sign(x)) must hold
  }
  sig.back() = sig.back() == '0' ? '1' : '0';
  if (VerifySlackSignature(ts, sig, body, secret, kNow)) {
    std::abort();
  }
  // The raw bytes as header values too: must be refused, never crash.
  const std::string_view head = body.substr(0, 80);
  (void)VerifySlackSignature(head, head, body, secret, kNow);
  (void)VerifySlackSignature(ts, head, body, secret, kNow);
}

void Render(const pipeline::Message& m) {
  SlackMessage reply(m.text);
  reply.Section(m.text).CodeBlock(m.text).Context(m.user_name.empty() ? "-" : m.user_name);
  reply.Actions({ConfirmButton(m.event_id.substr(0, 2000)), CancelButton("x")});
  if (!reply.ToResponseUrlJson()) {
    // event_id may exceed button limits only through absurd input; that is an
    // error result, not a crash, and fine.
  }
  (void)reply.ToPostMessageJson(m.reply_to.channel_id.empty() ? "C1" : m.reply_to.channel_id,
                                m.reply_to.thread_id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string content_type = "application/x-www-form-urlencoded";
  std::string_view body = input;
  if (!input.empty()) {
    body = input.substr(1);
    switch (static_cast<unsigned char>(input[0]) % 4) {
      case 0:
        break;
      case 1:
        content_type = "application/json";
        break;
      case 2:
        content_type = "Application/JSON; charset=utf-8";
        break;
      default: {
        const size_t nl = body.find('\n');
        content_type = std::string(body.substr(0, nl));
        body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
      }
    }
  }

  CheckSignature(body);

  (void)ParseFormUrlEncoded(body);
  const auto payload = ParseSlackPayload(content_type, body);
  if (payload) {
    if (const auto message = ToMessage(*payload)) {
      Render(*message);
    }
  }
  (void)StripLeadingMention(body);
  (void)UnescapeSlackText(body);
  (void)IsSlackResponseUrl(body);
  return 0;
}
