#include "opsgate/pipeline/builtins.h"

#include <gtest/gtest.h>

#include "opsgate/core/strings.h"

namespace opsgate::pipeline {
namespace {

using namespace std::chrono_literals;

std::string AllText(const Reply& r) {
  std::string out = r.text + "\n";
  for (const ReplyBlock& b : r.blocks) {
    out += b.text + " " + b.url + "\n";
    for (const auto& [k, v] : b.fields) {
      out += k + ": " + v + "\n";
    }
  }
  return out;
}

Message Asker() {
  Message m;
  m.platform = "slack";
  m.workspace_id = "T0ACME";
  m.user_id = "U0ADA";
  m.user_name = "ada";
  return m;
}

TEST(Builtins, ParsesVerbsCaseInsensitivelyAndOnlyAlone) {
  EXPECT_EQ(ParseBuiltin("").verb, Builtin::kHelp);
  EXPECT_EQ(ParseBuiltin("  HELP ").verb, Builtin::kHelp);
  EXPECT_EQ(ParseBuiltin("WhoAmI").verb, Builtin::kWhoAmI);
  EXPECT_EQ(ParseBuiltin("ping").verb, Builtin::kPing);
  EXPECT_EQ(ParseBuiltin("link").verb, Builtin::kLink);
  EXPECT_EQ(ParseBuiltin("unlink").verb, Builtin::kUnlink);
  EXPECT_EQ(ParseBuiltin("ping me").verb, Builtin::kUnknown);
  EXPECT_EQ(ParseBuiltin("stop i-0abc").verb, Builtin::kUnknown);
  EXPECT_EQ(ParseBuiltin("  stop i-0abc ").text, "stop i-0abc");
}

TEST(Builtins, OnlyHelpAndLinkWithoutAPrincipal) {
  EXPECT_TRUE(AllowedWithoutPrincipal(Builtin::kHelp));
  EXPECT_TRUE(AllowedWithoutPrincipal(Builtin::kLink));
  EXPECT_FALSE(AllowedWithoutPrincipal(Builtin::kWhoAmI));
  EXPECT_FALSE(AllowedWithoutPrincipal(Builtin::kPing));
  EXPECT_FALSE(AllowedWithoutPrincipal(Builtin::kUnlink));
  EXPECT_FALSE(AllowedWithoutPrincipal(Builtin::kUnknown));
}

TEST(Builtins, HelpListsLinkOnlyWhenLinkingIsConfigured) {
  BuiltinEnv env{"/ops", {}, false};
  const std::string plain = AllText(AnswerBuiltin(ParseBuiltin("help"), Asker(), {}, env));
  EXPECT_NE(plain.find("/ops whoami"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("/ops link"), std::string::npos) << plain;
  env.linking = true;
  const std::string linking = AllText(AnswerBuiltin(ParseBuiltin("help"), Asker(), {}, env));
  EXPECT_NE(linking.find("/ops link"), std::string::npos) << linking;
  EXPECT_NE(linking.find("/ops unlink"), std::string::npos) << linking;
}

TEST(Builtins, WhoAmIShowsPlatformIdsAndTheLinkedIdentity) {
  BuiltinEnv env{"@opsgate", {}, true};
  const std::string unlinked = AllText(AnswerBuiltin(ParseBuiltin("whoami"), Asker(), {}, env));
  EXPECT_NE(unlinked.find("user id: U0ADA"), std::string::npos) << unlinked;
  EXPECT_NE(unlinked.find("not linked (run @opsgate link)"), std::string::npos) << unlinked;

  Principal p;
  p.issuer = "https://idp.example";
  p.subject = "alice";
  p.email = "alice@example.com";
  p.groups = {"ops", "sre"};
  p.linked_until = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  const std::string linked = AllText(AnswerBuiltin(ParseBuiltin("whoami"), Asker(), p, env));
  EXPECT_NE(linked.find("linked identity: alice at https://idp.example"), std::string::npos)
      << linked;
  EXPECT_NE(linked.find("groups: ops, sre"), std::string::npos) << linked;
  EXPECT_NE(linked.find("link valid until: 2027-01-15T08:00:00Z"), std::string::npos) << linked;
}

TEST(Builtins, PingCarriesTheGatewayClock) {
  BuiltinEnv env{"/ops", std::chrono::system_clock::time_point(std::chrono::seconds(1531420618)),
                 false};
  const Reply r = AnswerBuiltin(ParseBuiltin("ping"), Asker(), {}, env);
  EXPECT_EQ(r.text, "pong (gateway time 2018-07-12T18:36:58Z)");
  EXPECT_TRUE(r.ephemeral);
}

TEST(Builtins, UnknownTextIsEchoedShortAndValidUtf8) {
  BuiltinEnv env{"/ops", {}, false};
  const std::string long_text = std::string(199, 'a') + "\xC3\xA9" + "tail";  // é straddles 200
  const Reply r = AnswerBuiltin(ParseBuiltin(long_text), Asker(), {}, env);
  EXPECT_NE(r.text.find("…"), std::string::npos);
  EXPECT_EQ(r.text.find("tail"), std::string::npos);
  EXPECT_TRUE(core::IsValidUtf8(r.text)) << r.text;
}

TEST(Builtins, LinkRepliesAreForTheAskerOnly) {
  const Reply link = LinkReply("https://gw.example/auth/login?t=abc", 10min);
  EXPECT_TRUE(link.ephemeral);
  const std::string all = AllText(link);
  EXPECT_NE(all.find("https://gw.example/auth/login?t=abc"), std::string::npos);
  EXPECT_NE(all.find("10 minutes"), std::string::npos);
  EXPECT_NE(AllText(NeedsLinkReply({"/ops", {}, true}, false)).find("/ops link"),
            std::string::npos);
  EXPECT_NE(AllText(NeedsLinkReply({"/ops", {}, true}, true)).find("expired"), std::string::npos);
  EXPECT_NE(LinkingUnavailableReply().text.find("not configured"), std::string::npos);
  // `link` when linking is off says so instead of failing.
  EXPECT_NE(AnswerBuiltin(ParseBuiltin("link"), Asker(), {}, {"/ops", {}, false})
                .text.find("not configured"),
            std::string::npos);
}

}  // namespace
}  // namespace opsgate::pipeline
