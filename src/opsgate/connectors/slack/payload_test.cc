#include "opsgate/connectors/slack/payload.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace opsgate::connectors::slack {
namespace {

constexpr std::string_view kForm = "application/x-www-form-urlencoded";
constexpr std::string_view kJson = "application/json";

// The slash command from Slack's signing documentation (the published vector).
constexpr std::string_view kDocSlashCommand =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
    "channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
    "command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
    "commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id="
    "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

std::string FormEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '*') {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

// Replaces the first occurrence of `from`, which must exist.
void Replace(std::string& s, std::string_view from, std::string_view to) {
  const size_t at = s.find(from);
  ASSERT_NE(at, std::string::npos) << "test bug: '" << from << "' not found";
  s.replace(at, from.size(), to);
}

std::string Command(std::string_view text, std::string_view extra = "") {
  return "token=t&team_id=T0001&team_domain=acme&enterprise_id=E0001&channel_id=C2147483705&"
         "channel_name=ops&user_id=U2147483697&user_name=steve&command=%2Fopsgate&text=" +
         FormEncode(text) +
         "&api_app_id=A123456&is_enterprise_install=false&response_url=https%3A%2F%2Fhooks."
         "slack.com%2Fcommands%2F1234%2F5678&trigger_id=13345224609.738474920.8088930838d88f008e0" +
         std::string(extra);
}

constexpr std::string_view kAppMention = R"({
  "token": "XXYYZZ",
  "team_id": "T123ABC456",
  "api_app_id": "A123ABC456",
  "event": {
    "type": "app_mention",
    "user": "U061F7AUR",
    "text": "<@U0LAN0Z89> is it everything a river should be?",
    "ts": "1515449522.000016",
    "channel": "C123ABC456",
    "event_ts": "1515449522000016"
  },
  "type": "event_callback",
  "authorizations": [{"team_id": "T123ABC456", "user_id": "U123ABC456", "is_bot": false,
                      "is_enterprise_install": false}],
  "event_id": "Ev123ABC456",
  "event_time": 123456789
})";

constexpr std::string_view kMessageIm = R"({
  "token": "aaaa", "team_id": "T043DB835ML", "api_app_id": "A0442TUPHGR",
  "event": {
    "client_msg_id": "1efd76a1-5075-4c2c-ad38-1284820b429f", "type": "message",
    "text": "status payments &amp; more", "user": "U043H11ES4V", "ts": "1664408649.009629",
    "team": "T043DB835ML",
    "blocks": [{"type": "rich_text", "block_id": "LSo", "elements": [{"type":
      "rich_text_section", "elements": [{"type": "text", "text": "status payments & more"}]}]}],
    "channel": "D0442US94JD", "event_ts": "1664408649.009629", "channel_type": "im"
  },
  "type": "event_callback", "event_id": "Ev044C51K43V", "event_time": 1664408649,
  "authorizations": [{"enterprise_id": null, "team_id": "T043DB835ML", "user_id": "U0442US8QGH",
                      "is_bot": true, "is_enterprise_install": false}],
  "is_ext_shared_channel": false, "event_context": "aaaa"
})";

std::string BlockActionsJson(std::string_view extra_container = "") {
  return R"({"type":"block_actions",
    "user":{"id":"U00FAKEUSER1","username":"testuser","name":"testuser","team_id":"T00FAKE00AA"},
    "api_app_id":"A00FAKEAPP01","token":"xAbCdEfGhIjKlMnOpQrStUvW",
    "container":{"type":"message","message_ts":"1767326126.896109","channel_id":"C00FAKECHAN1",
                 "is_ephemeral":false,"thread_ts":"1767326125.870439")" +
         std::string(extra_container) + R"(},
    "trigger_id":"10215325802133.3901254001572.2e2548aa918b35fd85829545c2d4ae2b",
    "team":{"id":"T00FAKE00AA","domain":"testing"},
    "enterprise":null,
    "channel":{"id":"C00FAKECHAN1","name":"chat-sdk"},
    "message":{"user":"U00FAKEBOT01","type":"message","ts":"1767326126.896109"},
    "response_url":"https://hooks.slack.com/actions/T00FAKE00AA/123/abc",
    "actions":[{"type":"button","block_id":"P0z+f","action_id":"opsgate.confirm",
                "text":{"type":"plain_text","text":"Confirm","emoji":true},
                "value":"dlg-42","action_ts":"1767326130.289415"}]})";
}

template <class T>
const T& As(const core::Result<SlackPayload>& r) {
  EXPECT_TRUE(r.has_value()) << r.error();
  EXPECT_TRUE(std::holds_alternative<T>(*r));
  return std::get<T>(*r);
}

void ExpectInvalid(const core::Result<SlackPayload>& r, std::string_view message_part) {
  ASSERT_FALSE(r.has_value()) << "expected failure mentioning '" << message_part << "'";
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument) << r.error();
  EXPECT_NE(r.error().message.find(message_part), std::string::npos) << r.error();
}

// ----------------------------------------------------------------------------------
// Slash commands

TEST(SlackPayload, ParsesTheDocumentedSlashCommand) {
  const auto r = ParseSlackPayload(kForm, kDocSlashCommand);
  ASSERT_TRUE(r.has_value()) << r.error();
  const auto& c = As<SlashCommand>(r);
  EXPECT_EQ(c.team_id, "T1DC2JH3J");
  EXPECT_EQ(c.team_domain, "testteamnow");
  EXPECT_EQ(c.channel_id, "G8PSS9T3V");
  EXPECT_EQ(c.channel_name, "foobar");
  EXPECT_EQ(c.user_id, "U2CERLKJA");
  EXPECT_EQ(c.user_name, "roadrunner");
  EXPECT_EQ(c.command, "/webhook-collect");
  EXPECT_EQ(c.text, "");
  EXPECT_EQ(c.response_url,
            "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN");
  EXPECT_EQ(c.trigger_id, "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c");
  EXPECT_FALSE(c.is_enterprise_install);
}

TEST(SlackPayload, SlashCommandBecomesAnEphemeralMessage) {
  const auto r = ParseSlackPayload("application/x-www-form-urlencoded; charset=utf-8",
                                   Command("  stop i-0abc123 in eu-west-1 &amp; wait "));
  const auto& c = As<SlashCommand>(r);
  EXPECT_EQ(c.enterprise_id, "E0001");
  EXPECT_EQ(c.api_app_id, "A123456");
  EXPECT_EQ(c.command, "/opsgate");
  const pipeline::Message m = ToMessage(c);
  EXPECT_EQ(m.platform, "slack");
  EXPECT_EQ(m.workspace_id, "T0001");
  EXPECT_EQ(m.user_id, "U2147483697");
  EXPECT_EQ(m.user_name, "steve");
  EXPECT_EQ(m.text, "stop i-0abc123 in eu-west-1 & wait");
  EXPECT_EQ(m.event_id, "command:13345224609.738474920.8088930838d88f008e0");
  EXPECT_EQ(m.reply_to.channel_id, "C2147483705");
  EXPECT_EQ(m.reply_to.thread_id, "");
  EXPECT_EQ(m.reply_to.response_url, "https://hooks.slack.com/commands/1234/5678");
  EXPECT_TRUE(m.reply_to.ephemeral);
  EXPECT_TRUE(m.correlation_id.empty());
  // The variant overload agrees.
  const auto via_variant = ToMessage(*r);
  ASSERT_TRUE(via_variant.has_value());
  EXPECT_EQ(via_variant->event_id, m.event_id);
}

TEST(SlackPayload, SlashCommandTextKeepsUnicodeAndPlusAsSpace) {
  const auto r = ParseSlackPayload(kForm, Command("status caf\xC3\xA9 1+1"));
  EXPECT_EQ(As<SlashCommand>(r).text, "status caf\xC3\xA9 1+1");
  const auto r2 = ParseSlackPayload(
      kForm,
      "team_id=T1&channel_id=C1&user_id=U1&command=/x&text=a+b%2Bc&trigger_id=t.1&"
      "response_url=https%3A%2F%2Fhooks.slack.com%2Fx");
  EXPECT_EQ(As<SlashCommand>(r2).text, "a b+c");
}

TEST(SlackPayload, SlashCommandEnterpriseInstallFlag) {
  std::string body = Command("x");
  Replace(body, "is_enterprise_install=false", "is_enterprise_install=true");
  EXPECT_TRUE(As<SlashCommand>(ParseSlackPayload(kForm, body)).is_enterprise_install);
}

TEST(SlackPayload, SlashCommandMissingRequiredFields) {
  for (const std::string_view field :
       {"team_id", "channel_id", "user_id", "trigger_id", "response_url"}) {
    std::string body = Command("x");
    const size_t at = body.find(std::string(field) + "=");
    ASSERT_NE(at, std::string::npos);
    const size_t end = body.find('&', at);
    body.erase(at, end == std::string::npos ? std::string::npos : end - at + 1);
    SCOPED_TRACE(body);
    ExpectInvalid(ParseSlackPayload(kForm, body), "missing " + std::string(field));
  }
}

TEST(SlackPayload, SlashCommandEmptyRequiredFieldIsMissing) {
  std::string body = Command("x");
  Replace(body, "team_id=T0001", "team_id=");
  ExpectInvalid(ParseSlackPayload(kForm, body), "missing team_id");
}

TEST(SlackPayload, SlashCommandRejectsBadIdsAndUrls) {
  std::string body = Command("x");
  Replace(body, "user_id=U2147483697", "user_id=U1%0Aevil");
  ExpectInvalid(ParseSlackPayload(kForm, body), "invalid user_id");

  body = Command("x");
  Replace(body, "response_url=https%3A", "response_url=http%3A");
  ExpectInvalid(ParseSlackPayload(kForm, body), "response_url must be an https:// URL");

  body = Command("x");
  Replace(body, "command=%2Fopsgate", "command=opsgate");
  ExpectInvalid(ParseSlackPayload(kForm, body), "must start with '/'");

  body = Command("x") + "&enterprise_id2=x";
  EXPECT_TRUE(ParseSlackPayload(kForm, body).has_value());  // unknown fields are ignored
}

TEST(SlackPayload, SlashCommandTextLimit) {
  ParseLimits limits;
  limits.max_text_bytes = 10;
  ExpectInvalid(ParseSlackPayload(kForm, Command("0123456789A"), limits),
                "text is longer than 10 bytes");
  EXPECT_TRUE(ParseSlackPayload(kForm, Command("0123456789"), limits).has_value());
}

// ----------------------------------------------------------------------------------
// Form decoding

TEST(SlackFormDecoder, DecodesPairsInOrder) {
  const auto r = ParseFormUrlEncoded("a=1&b=x+y%20z&c=&d=%e2%82%AC&&");
  ASSERT_TRUE(r.has_value()) << r.error();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0], (std::pair<std::string, std::string>("a", "1")));
  EXPECT_EQ((*r)[1].second, "x y z");
  EXPECT_EQ((*r)[2].second, "");
  EXPECT_EQ((*r)[3].second, "\xE2\x82\xAC");
  EXPECT_TRUE(ParseFormUrlEncoded("").has_value());
  EXPECT_TRUE(ParseFormUrlEncoded("")->empty());
}

TEST(SlackFormDecoder, RejectsMalformedPercentEncoding) {
  for (const std::string_view body :
       {"a=%", "a=%4", "a=%G1", "a=%1G", "a=100%", "%zz=1", "a=%%41"}) {
    const auto r = ParseFormUrlEncoded(body);
    ASSERT_FALSE(r.has_value()) << body;
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("malformed percent-encoding"), std::string::npos) << r.error();
  }
}

TEST(SlackFormDecoder, RejectsStructuralProblems) {
  struct Case {
    std::string_view body;
    std::string_view message;
  };
  for (const Case& c :
       {Case{"a", "has no '='"}, Case{"a=1&b", "has no '='"}, Case{"=1", "empty name"},
        Case{"a=1&a=2", "duplicate form field a"}, Case{"a=%00", "NUL"},
        Case{"a=%C3%28", "not valid UTF-8"}, Case{"a=%ED%A0%80", "not valid UTF-8"},
        Case{"a=%C0%AF", "not valid UTF-8"}, Case{"a=\xff", "not valid UTF-8"}}) {
    const auto r = ParseFormUrlEncoded(c.body);
    ASSERT_FALSE(r.has_value()) << c.body;
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(c.message), std::string::npos) << r.error();
  }
}

TEST(SlackFormDecoder, EnforcesLimits) {
  ParseLimits limits;
  limits.max_form_fields = 3;
  limits.max_field_name_bytes = 4;
  limits.max_field_value_bytes = 5;
  EXPECT_TRUE(ParseFormUrlEncoded("a=1&b=2&c=3", limits).has_value());
  auto r = ParseFormUrlEncoded("a=1&b=2&c=3&d=4", limits);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("more than 3 fields"), std::string::npos);
  r = ParseFormUrlEncoded("abcde=1", limits);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("longer than 4 bytes"), std::string::npos) << r.error();
  r = ParseFormUrlEncoded("a=%41%41%41%41%41%41", limits);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("longer than 5 bytes"), std::string::npos) << r.error();
  EXPECT_TRUE(ParseFormUrlEncoded("a=%41%41%41%41%41", limits).has_value());
}

TEST(SlackPayload, HugeFieldCountIsRejected) {
  std::string body;
  for (int i = 0; i < 1000; ++i) {
    body += 'f';
    body += std::to_string(i);
    body += "=1&";
  }
  ExpectInvalid(ParseSlackPayload(kForm, body), "more than 64 fields");
}

TEST(SlackPayload, BodyLimit) {
  ParseLimits limits;
  limits.max_body_bytes = 100;
  ExpectInvalid(ParseSlackPayload(kForm, std::string(101, 'a'), limits), "at most 100");
}

// ----------------------------------------------------------------------------------
// Content types

TEST(SlackPayload, RejectsUnsupportedContentTypes) {
  for (const std::string_view ct : {"", "text/plain", "multipart/form-data; boundary=x",
                                    "application/jsonx", "application/x-www-form-urlencodedx"}) {
    ExpectInvalid(ParseSlackPayload(ct, "a=1"), "unsupported Content-Type");
  }
  // Parameters and case do not matter.
  EXPECT_TRUE(ParseSlackPayload(" Application/JSON ; charset=UTF-8", kAppMention).has_value());
}

TEST(SlackPayload, EmptyBodies) {
  ExpectInvalid(ParseSlackPayload(kForm, ""), "neither a command field");
  ExpectInvalid(ParseSlackPayload(kJson, ""), "not valid JSON");
}

// ----------------------------------------------------------------------------------
// Events API

TEST(SlackPayload, UrlVerificationCarriesTheChallenge) {
  const auto r = ParseSlackPayload(
      kJson,
      R"({"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":)"
      R"("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"})");
  EXPECT_EQ(As<UrlVerification>(r).challenge,
            "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
  EXPECT_FALSE(ToMessage(*r).has_value());
}

TEST(SlackPayload, UrlVerificationRejectsBadChallenges) {
  ExpectInvalid(ParseSlackPayload(kJson, R"({"type":"url_verification"})"), "missing challenge");
  ExpectInvalid(ParseSlackPayload(kJson, R"({"type":"url_verification","challenge":""})"),
                "missing challenge");
  ExpectInvalid(ParseSlackPayload(kJson, R"({"type":"url_verification","challenge":7})"),
                "challenge must be a string");
  ExpectInvalid(
      ParseSlackPayload(kJson, R"({"type":"url_verification","challenge":"a\r\nSet-Cookie: x"})"),
      "printable ASCII");
  ExpectInvalid(ParseSlackPayload(kJson, R"({"type":"url_verification","challenge":")" +
                                             std::string(1025, 'a') + R"("})"),
                "longer than 1024");
}

TEST(SlackPayload, AppMentionBecomesAThreadedMessageWithoutTheMention) {
  const auto r = ParseSlackPayload(kJson, kAppMention);
  const auto& e = As<EventCallback>(r);
  EXPECT_EQ(e.kind, EventKind::kAppMention);
  EXPECT_EQ(e.team_id, "T123ABC456");
  EXPECT_EQ(e.api_app_id, "A123ABC456");
  EXPECT_EQ(e.event_id, "Ev123ABC456");
  EXPECT_EQ(e.event_time, 123456789);
  EXPECT_EQ(e.user, "U061F7AUR");
  EXPECT_EQ(e.channel, "C123ABC456");
  EXPECT_EQ(e.ts, "1515449522.000016");
  const auto m = ToMessage(e);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->platform, "slack");
  EXPECT_EQ(m->workspace_id, "T123ABC456");
  EXPECT_EQ(m->user_id, "U061F7AUR");
  EXPECT_EQ(m->text, "is it everything a river should be?");
  EXPECT_EQ(m->event_id, "Ev123ABC456");
  EXPECT_EQ(m->reply_to.channel_id, "C123ABC456");
  EXPECT_EQ(m->reply_to.thread_id, "1515449522.000016");
  EXPECT_TRUE(m->reply_to.response_url.empty());
  EXPECT_FALSE(m->reply_to.ephemeral);
}

TEST(SlackPayload, AppMentionInAThreadRepliesInThatThread) {
  std::string body(kAppMention);
  Replace(body, R"("channel": "C123ABC456",)",
          R"("channel": "C123ABC456", "thread_ts": "1515449000.000001",)");
  const auto m = ToMessage(As<EventCallback>(ParseSlackPayload(kJson, body)));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->reply_to.thread_id, "1515449000.000001");
}

TEST(SlackPayload, DirectMessageBecomesAMessage) {
  const auto r = ParseSlackPayload(kJson, kMessageIm);
  const auto& e = As<EventCallback>(r);
  EXPECT_EQ(e.kind, EventKind::kDirectMessage);
  EXPECT_EQ(e.channel_type, "im");
  const auto m = ToMessage(*r);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->text, "status payments & more");
  EXPECT_EQ(m->event_id, "Ev044C51K43V");
  EXPECT_EQ(m->reply_to.channel_id, "D0442US94JD");
  EXPECT_EQ(m->reply_to.thread_id, "");
}

// The envelope's is_ext_shared_channel becomes Message::channel_external (policy
// channel_posture); absent or null says nothing.
TEST(SlackPayload, ExtSharedChannelFlagReachesTheMessage) {
  struct Case {
    std::string_view field;  // inserted before "event_id" in the envelope
    std::optional<bool> want;
  };
  const Case cases[] = {
      {"", std::nullopt},
      {R"("is_ext_shared_channel": true,)", true},
      {R"("is_ext_shared_channel": false,)", false},
      {R"("is_ext_shared_channel": null,)", std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    std::string body(kAppMention);
    Replace(body, R"("event_id": "Ev123ABC456",)",
            std::string(c.field) + R"("event_id": "Ev123ABC456",)");
    const auto r = ParseSlackPayload(kJson, body);
    const auto& e = As<EventCallback>(r);
    EXPECT_EQ(e.is_ext_shared_channel, c.want);
    const auto m = ToMessage(*r);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->channel_external, c.want);
  }
  // The documented DM envelope says false.
  const auto dm = ToMessage(As<EventCallback>(ParseSlackPayload(kJson, kMessageIm)));
  ASSERT_TRUE(dm.has_value());
  EXPECT_EQ(dm->channel_external, std::optional<bool>(false));
}

TEST(SlackPayload, ExtSharedChannelFlagMustBeABool) {
  for (const std::string_view value : {R"("true")", "1", "0", "{}", "[]", R"("")"}) {
    SCOPED_TRACE(value);
    std::string body(kAppMention);
    Replace(body, R"("event_id": "Ev123ABC456",)",
            R"("is_ext_shared_channel": )" + std::string(value) + R"(, "event_id": "Ev123ABC456",)");
    ExpectInvalid(ParseSlackPayload(kJson, body), "is_ext_shared_channel must be true or false");
  }
  // Also on an event opsgate would ignore: a malformed body is refused whatever it holds.
  ExpectInvalid(ParseSlackPayload(kJson, R"({"type":"event_callback","team_id":"T1",)"
                                         R"("event_id":"Ev1","is_ext_shared_channel":"yes",)"
                                         R"("event":{"type":"reaction_added"}})"),
                "is_ext_shared_channel must be true or false");
}

TEST(SlackPayload, CommandsAndActionsDoNotSayWhetherTheChannelIsShared) {
  EXPECT_EQ(ToMessage(As<SlashCommand>(ParseSlackPayload(kForm, Command("status")))).channel_external,
            std::nullopt);
  EXPECT_EQ(ToMessage(As<BlockActions>(ParseSlackPayload(
                          kForm, "payload=" + FormEncode(BlockActionsJson()))))
                .channel_external,
            std::nullopt);
}

std::string MessageEvent(std::string_view inner_extra, std::string_view channel_type = "im") {
  return R"({"type":"event_callback","team_id":"T1","event_id":"Ev1","event_time":1,)"
         R"("event":{"type":"message","user":"U1","text":"hi","ts":"1.2","channel":"D1",)"
         R"("channel_type":")" +
         std::string(channel_type) + "\"" + std::string(inner_extra) + "}}";
}

TEST(SlackPayload, IgnoresBotMessagesEditsAndChannelChatter) {
  struct Case {
    std::string body;
    std::string_view reason;
  };
  const Case cases[] = {
      {MessageEvent(R"(,"bot_id":"B123")"), "bot message"},
      {MessageEvent(R"(,"subtype":"bot_message")"), "bot message"},
      {MessageEvent(R"(,"subtype":"message_changed")"), "subtype message_changed"},
      {MessageEvent(R"(,"subtype":"message_deleted")"), "subtype message_deleted"},
      {MessageEvent(R"(,"edited":{"user":"U1","ts":"1.3"})"), "edited message"},
      {MessageEvent("", "channel"), "message in channel_type channel"},
      {MessageEvent("", "mpim"), "message in channel_type mpim"},
      {R"({"type":"event_callback","team_id":"T1","event_id":"Ev2","event":)"
       R"({"type":"reaction_added","user":"U1"}})",
       "event type reaction_added"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    const auto r = ParseSlackPayload(kJson, c.body);
    const auto& e = As<EventCallback>(r);
    EXPECT_EQ(e.kind, EventKind::kIgnored);
    EXPECT_EQ(e.ignore_reason, c.reason);
    EXPECT_FALSE(ToMessage(*r).has_value());
  }
}

TEST(SlackPayload, UserMessagesWithFileOrBroadcastSubtypesCount) {
  for (const std::string_view subtype : {"file_share", "thread_broadcast"}) {
    const auto r = ParseSlackPayload(
        kJson, MessageEvent(std::string(R"(,"subtype":")") + std::string(subtype) + "\""));
    EXPECT_EQ(As<EventCallback>(r).kind, EventKind::kDirectMessage) << subtype;
  }
}

TEST(SlackPayload, AppRateLimitedAndUnknownEnvelopesAreIgnored) {
  const auto r = ParseSlackPayload(
      kJson,
      R"({"token":"x","type":"app_rate_limited","team_id":"T1","minute_rate_limited":1518467820,"api_app_id":"A1"})");
  EXPECT_EQ(As<IgnoredPayload>(r).type, "app_rate_limited");
  EXPECT_FALSE(ToMessage(*r).has_value());
  EXPECT_EQ(As<IgnoredPayload>(ParseSlackPayload(kJson, R"({"type":"something_new"})")).type,
            "something_new");
}

TEST(SlackPayload, EventCallbackMalformed) {
  struct Case {
    std::string body;
    std::string_view message;
  };
  const Case cases[] = {
      {R"({"team_id":"T1"})", "missing type"},
      {R"({"type":5})", "type must be a string"},
      {R"([1,2,3])", "must be a JSON object"},
      {R"({"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention"}})",
       "missing team_id"},
      {R"({"type":"event_callback","team_id":"T1","event":{"type":"app_mention"}})",
       "missing event_id"},
      {R"({"type":"event_callback","team_id":"T1","event_id":"Ev1"})", "missing event"},
      {R"({"type":"event_callback","team_id":"T1","event_id":"Ev1","event":[]})",
       "event must be an object"},
      {R"({"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{}})",
       "missing event.type"},
      {R"({"type":"event_callback","team_id":"T1","event_id":"Ev1","event_time":"now",)"
       R"("event":{"type":"app_mention"}})",
       "event_time must be an integer"},
      {R"({"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"app_mention",)"
       R"("channel":"C1","ts":"1.2","text":"hi"}})",
       "missing event.user"},
      {R"({"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"app_mention",)"
       R"("user":"U1","ts":"1.2","text":"hi"}})",
       "missing event.channel"},
      {R"({"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"app_mention",)"
       R"("user":"U1","channel":"C1","text":"hi"}})",
       "missing event.ts"},
      {R"({"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"app_mention",)"
       R"("user":"U1","channel":"C1","ts":"1.2","text":5}})",
       "event.text must be a string"},
      {R"({"type":"event_callback","team_id":"T 1","event_id":"Ev1","event":{"type":"x"}})",
       "invalid team_id"},
      {R"({"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"app_mention",)"
       R"("user":"U1\u0000","channel":"C1","ts":"1.2","text":"hi"}})",
       "event.user contains a NUL"},
      {R"({"type":"url_verification","challenge":"x",})", "not valid JSON"},
      {R"({"type":"url_verification","challenge":"x"} trailing)", "not valid JSON"},
      {"{\"type\":\"url_verification\",\"challenge\":\"\xff\"}", "not valid JSON"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    ExpectInvalid(ParseSlackPayload(kJson, c.body), c.message);
  }
}

TEST(SlackPayload, DeepJsonNestingIsRejected) {
  const std::string deep =
      R"({"type":"event_callback","x":)" + std::string(200, '[') + std::string(200, ']') + "}";
  ExpectInvalid(ParseSlackPayload(kJson, deep), "not valid JSON");
  ParseLimits limits;
  limits.max_json_depth = 300;
  // With a higher limit it parses, then fails for the right reason.
  ExpectInvalid(ParseSlackPayload(kJson, deep, limits), "missing team_id");
}

// ----------------------------------------------------------------------------------
// Interactivity

TEST(SlackPayload, BlockActionsBecomeAMessage) {
  const auto r = ParseSlackPayload(kForm, "payload=" + FormEncode(BlockActionsJson()));
  const auto& b = As<BlockActions>(r);
  EXPECT_EQ(b.team_id, "T00FAKE00AA");
  EXPECT_EQ(b.user_id, "U00FAKEUSER1");
  EXPECT_EQ(b.user_name, "testuser");
  EXPECT_EQ(b.api_app_id, "A00FAKEAPP01");
  EXPECT_EQ(b.channel_id, "C00FAKECHAN1");
  EXPECT_EQ(b.message_ts, "1767326126.896109");
  EXPECT_EQ(b.thread_ts, "1767326125.870439");
  EXPECT_EQ(b.response_url, "https://hooks.slack.com/actions/T00FAKE00AA/123/abc");
  EXPECT_EQ(b.trigger_id, "10215325802133.3901254001572.2e2548aa918b35fd85829545c2d4ae2b");
  EXPECT_FALSE(b.is_ephemeral);
  ASSERT_EQ(b.actions.size(), 1u);
  EXPECT_EQ(b.actions[0].type, "button");
  EXPECT_EQ(b.actions[0].action_id, "opsgate.confirm");
  EXPECT_EQ(b.actions[0].block_id, "P0z+f");
  EXPECT_EQ(b.actions[0].value, "dlg-42");
  EXPECT_EQ(b.actions[0].action_ts, "1767326130.289415");

  const auto m = ToMessage(*r);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->workspace_id, "T00FAKE00AA");
  EXPECT_EQ(m->user_id, "U00FAKEUSER1");
  EXPECT_EQ(m->text, "opsgate.confirm dlg-42");
  EXPECT_EQ(m->event_id, "action:10215325802133.3901254001572.2e2548aa918b35fd85829545c2d4ae2b");
  EXPECT_EQ(m->reply_to.channel_id, "C00FAKECHAN1");
  EXPECT_EQ(m->reply_to.thread_id, "1767326125.870439");
  EXPECT_EQ(m->reply_to.response_url, "https://hooks.slack.com/actions/T00FAKE00AA/123/abc");
  EXPECT_FALSE(m->reply_to.ephemeral);
}

TEST(SlackPayload, BlockActionsFallbacks) {
  // team null (org-wide app): the user's team; channel absent: the container's channel.
  std::string json = BlockActionsJson();
  Replace(json, R"("team":{"id":"T00FAKE00AA","domain":"testing"})", R"("team":null)");
  Replace(json, R"("channel":{"id":"C00FAKECHAN1","name":"chat-sdk"},)", "");
  const auto r = ParseSlackPayload(kForm, "payload=" + FormEncode(json));
  const auto& b = As<BlockActions>(r);
  EXPECT_EQ(b.team_id, "T00FAKE00AA");
  EXPECT_EQ(b.channel_id, "C00FAKECHAN1");
}

TEST(SlackPayload, BlockActionWithoutValueUsesTheActionId) {
  std::string json = BlockActionsJson();
  Replace(json, R"("value":"dlg-42",)", "");
  const auto m = ToMessage(*ParseSlackPayload(kForm, "payload=" + FormEncode(json)));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->text, "opsgate.confirm");
}

TEST(SlackPayload, EphemeralContainerMakesAnEphemeralReply) {
  std::string json = BlockActionsJson();
  Replace(json, R"("is_ephemeral":false)", R"("is_ephemeral":true)");
  const auto m = ToMessage(*ParseSlackPayload(kForm, "payload=" + FormEncode(json)));
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m->reply_to.ephemeral);
}

TEST(SlackPayload, OtherInteractionTypesAreIgnored) {
  for (const std::string_view type : {"view_submission", "shortcut", "message_action"}) {
    const auto r = ParseSlackPayload(
        kForm, "payload=" + FormEncode(std::string(R"({"type":")") + std::string(type) +
                                       R"(","user":{"id":"U1"}})"));
    EXPECT_EQ(As<IgnoredPayload>(r).type, type);
  }
}

TEST(SlackPayload, InteractivityMalformed) {
  struct Case {
    std::string body;
    std::string_view message;
  };
  auto with = [](std::string_view from, std::string_view to) {
    std::string json = BlockActionsJson();
    const size_t at = json.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    json.replace(at, from.size(), to);
    return "payload=" + FormEncode(json);
  };
  const Case cases[] = {
      {"payload=%7Bnot+json", "payload field is not valid JSON"},
      {"payload=" + FormEncode("[1]"), "payload field must be a JSON object"},
      {"payload=" + FormEncode(R"({"user":{}})"), "missing payload.type"},
      {"payload=" + FormEncode(BlockActionsJson()) + "&extra=1", "exactly one field"},
      {"payload=x&command=%2Fx", "both payload and command"},
      {with(R"("user":{"id":"U00FAKEUSER1",)", R"("user":{)"), "missing user.id"},
      {with(R"("trigger_id":)", R"("trigger_idx":)"), "missing trigger_id"},
      {with(R"("actions":[)", R"("actionz":[)"), "missing actions"},
      {with(R"("actions":[)", R"("actions":"none","x":[)"), "actions must be an array"},
      {with(R"("response_url":"https://)", R"("response_url":"http://)"),
       "response_url must be an https:// URL"},
      {with(R"("action_id":"opsgate.confirm",)", ""), "missing actions[0].action_id"},
      {with(R"("value":"dlg-42")", R"("value":42)"), "actions[0].value must be a string"},
      {with(R"("is_ephemeral":false)", R"("is_ephemeral":"no")"),
       "container.is_ephemeral must be true or false"},
      {with(R"("team":{"id":"T00FAKE00AA",)", R"("team":{"id":7,)"), "team.id must be a string"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    ExpectInvalid(ParseSlackPayload(kForm, c.body), c.message);
  }
  // "team": {} still has the user's team_id to fall back on.
  EXPECT_TRUE(ParseSlackPayload(
                  kForm, with(R"("team":{"id":"T00FAKE00AA","domain":"testing"})", R"("team":{})"))
                  .has_value());
}

TEST(SlackPayload, BlockActionsWithoutAnyTeamIsRejected) {
  std::string json = BlockActionsJson();
  Replace(json, R"("team":{"id":"T00FAKE00AA","domain":"testing"})", R"("team":null)");
  Replace(json, R"(,"team_id":"T00FAKE00AA")", "");
  ExpectInvalid(ParseSlackPayload(kForm, "payload=" + FormEncode(json)), "missing team.id");
}

TEST(SlackPayload, EmptyActionsAndTooManyActions) {
  std::string json = BlockActionsJson();
  const size_t at = json.find(R"("actions":[)");
  std::string empty = json.substr(0, at) + R"("actions":[]})";
  ExpectInvalid(ParseSlackPayload(kForm, "payload=" + FormEncode(empty)), "actions is empty");
  std::string many = json.substr(0, at) + R"("actions":[)";
  for (int i = 0; i < 26; ++i) {
    many += std::string(i ? "," : "") + R"({"action_id":"a)" + std::to_string(i) + R"("})";
  }
  many += "]}";
  ExpectInvalid(ParseSlackPayload(kForm, "payload=" + FormEncode(many)), "at most 25");
}

// ----------------------------------------------------------------------------------
// Helpers

TEST(SlackText, StripsOnlyALeadingMention) {
  EXPECT_EQ(StripLeadingMention("<@U0LAN0Z89> stop i-1"), "stop i-1");
  EXPECT_EQ(StripLeadingMention("  <@U0LAN0Z89|opsgate>   stop i-1  "), "stop i-1");
  EXPECT_EQ(StripLeadingMention("<@U0LAN0Z89>"), "");
  EXPECT_EQ(StripLeadingMention("stop <@U0LAN0Z89> i-1"), "stop <@U0LAN0Z89> i-1");
  EXPECT_EQ(StripLeadingMention("<@> x"), "<@> x");
  EXPECT_EQ(StripLeadingMention("<@u123> x"), "<@u123> x");
  EXPECT_EQ(StripLeadingMention("<@U123 x"), "<@U123 x");
  EXPECT_EQ(StripLeadingMention("<@U123|never closed"), "<@U123|never closed");
  EXPECT_EQ(StripLeadingMention("<!channel> x"), "<!channel> x");
}

TEST(SlackText, UnescapesOnlyTheThreeEntities) {
  EXPECT_EQ(UnescapeSlackText("a &amp; b &lt;c&gt; &amp;lt; &quot; &"), "a & b <c> &lt; &quot; &");
}

TEST(SlackText, ResponseUrlHosts) {
  EXPECT_TRUE(IsSlackResponseUrl("https://hooks.slack.com/commands/T1/2/3"));
  EXPECT_TRUE(IsSlackResponseUrl("https://hooks.slack-gov.com/actions/T1/2/3"));
  EXPECT_FALSE(IsSlackResponseUrl("https://hooks.slack.com"));
  EXPECT_FALSE(IsSlackResponseUrl("https://hooks.slack.com/"));
  EXPECT_FALSE(IsSlackResponseUrl("http://hooks.slack.com/commands/1"));
  EXPECT_FALSE(IsSlackResponseUrl("https://hooks.slack.com.evil.example/x"));
  EXPECT_FALSE(IsSlackResponseUrl("https://evil.example/hooks.slack.com/x"));
  EXPECT_FALSE(IsSlackResponseUrl("https://hooks.slack.com@evil.example/x"));
  EXPECT_FALSE(IsSlackResponseUrl("https://hooks.slack.com/x y"));
}

}  // namespace
}  // namespace opsgate::connectors::slack
