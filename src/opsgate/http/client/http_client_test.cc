#include "opsgate/http/client/http_client.h"

#include <gtest/gtest.h>

#include "opsgate/http/client/fake_http_client.h"

namespace opsgate::http {
namespace {

TEST(OutboundResponse, HeaderLookupIsCaseInsensitiveAndReturnsFirst) {
  OutboundResponse r;
  r.headers = {{"retry-after", "3"}, {"x-dup", "a"}, {"x-dup", "b"}};
  ASSERT_TRUE(r.Header("Retry-After").has_value());
  EXPECT_EQ(*r.Header("Retry-After"), "3");
  EXPECT_EQ(*r.Header("X-DUP"), "a");
  EXPECT_FALSE(r.Header("content-type").has_value());
}

TEST(RedactUrl, KeepsOnlySchemeAndHost) {
  EXPECT_EQ(RedactUrl("https://hooks.slack.com/commands/T1/397700885554/96rGlfmibIG"),
            "https://hooks.slack.com");
  EXPECT_EQ(RedactUrl("HTTPS://Slack.com:443/api/chat.postMessage?token=x#frag"),
            "https://Slack.com:443");
  EXPECT_EQ(RedactUrl("https://user:pass@example.com/x"), "https://example.com");
  EXPECT_EQ(RedactUrl("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
}

TEST(RedactUrl, RejectsThingsThatAreNotUrls) {
  EXPECT_EQ(RedactUrl(""), "<invalid url>");
  EXPECT_EQ(RedactUrl("no scheme here"), "<invalid url>");
  EXPECT_EQ(RedactUrl("://host"), "<invalid url>");
  EXPECT_EQ(RedactUrl("https:///path"), "<invalid url>");
  EXPECT_EQ(RedactUrl("1http://host"), "<invalid url>");
}

TEST(RedactUrl, NeutralisesControlCharactersInHost) {
  EXPECT_EQ(RedactUrl("https://evil\ncom/x"), "https://evil?com");
}

TEST(FakeHttpClient, RecordsRequestsAndReplaysScriptThenDefault) {
  testing::FakeHttpClient fake;
  fake.PushResponse(429, "", {{"retry-after", "1"}});
  fake.PushError(core::Unavailable("connection refused"));

  OutboundRequest req;
  req.url = "https://example.com/a";
  req.bearer_token = core::Secret("xoxb-secret");

  auto r1 = fake.Send(req);
  ASSERT_TRUE(r1.has_value());
  EXPECT_EQ(r1->status, 429);
  auto r2 = fake.Send(req);
  ASSERT_FALSE(r2.has_value());
  EXPECT_EQ(r2.error().code, core::ErrorCode::kUnavailable);
  auto r3 = fake.Send(req);
  ASSERT_TRUE(r3.has_value());
  EXPECT_EQ(r3->status, 200);

  ASSERT_EQ(fake.RequestCount(), 3u);
  EXPECT_EQ(fake.Requests()[0].url, "https://example.com/a");
  EXPECT_EQ(fake.Requests()[0].bearer_token->Reveal(), "xoxb-secret");
  EXPECT_EQ(fake.Remaining(), 0u);
}

TEST(FakeHttpClient, ResponderAnswersWhenScriptIsEmpty) {
  testing::FakeHttpClient fake;
  fake.SetResponder([](const OutboundRequest& r) -> core::Result<OutboundResponse> {
    return testing::FakeHttpClient::Response(201, r.body);
  });
  OutboundRequest req;
  req.body = "echo";
  auto r = fake.Send(req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "echo");
}

}  // namespace
}  // namespace opsgate::http
