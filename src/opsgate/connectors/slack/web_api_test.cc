#include "opsgate/connectors/slack/web_api.h"

#include <gtest/gtest.h>

namespace opsgate::connectors::slack {
namespace {

TEST(SlackWebApi, OkReply) {
  EXPECT_TRUE(CheckWebApiResponse(R"({"ok":true,"channel":"C1","ts":"1503435956.000247"})"));
  EXPECT_TRUE(CheckWebApiResponse(R"({"ok":true,"warning":"missing_charset"})"));
}

TEST(SlackWebApi, MapsErrorCodes) {
  struct Case {
    std::string_view error;
    core::ErrorCode code;
  };
  for (const Case& c : {Case{"invalid_auth", core::ErrorCode::kUnauthenticated},
                        Case{"token_revoked", core::ErrorCode::kUnauthenticated},
                        Case{"not_in_channel", core::ErrorCode::kPermissionDenied},
                        Case{"missing_scope", core::ErrorCode::kPermissionDenied},
                        Case{"channel_not_found", core::ErrorCode::kNotFound},
                        Case{"msg_too_long", core::ErrorCode::kInvalidArgument},
                        Case{"invalid_blocks", core::ErrorCode::kInvalidArgument},
                        Case{"ratelimited", core::ErrorCode::kResourceExhausted},
                        Case{"internal_error", core::ErrorCode::kUnavailable},
                        Case{"something_new", core::ErrorCode::kFailedPrecondition}}) {
    const core::Status s =
        CheckWebApiResponse(R"({"ok":false,"error":")" + std::string(c.error) + R"("})");
    ASSERT_FALSE(s.has_value()) << c.error;
    EXPECT_EQ(s.error().code, c.code) << c.error;
    EXPECT_EQ(s.error().message, "Slack API error " + std::string(c.error));
  }
}

TEST(SlackWebApi, MalformedReplies) {
  for (const std::string_view body : {"", "ok", "[]", R"({"ok":"true"})", R"({"error":"x"})"}) {
    const core::Status s = CheckWebApiResponse(body);
    ASSERT_FALSE(s.has_value()) << body;
    EXPECT_EQ(s.error().code, core::ErrorCode::kInvalidArgument) << body;
  }
  const core::Status odd = CheckWebApiResponse(R"({"ok":false,"error":"a\nb c"})");
  ASSERT_FALSE(odd.has_value());
  EXPECT_EQ(odd.error().message, "Slack API error a?b?c");
  const core::Status none = CheckWebApiResponse(R"({"ok":false})");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().message, "Slack API error unknown_error");
}

}  // namespace
}  // namespace opsgate::connectors::slack
