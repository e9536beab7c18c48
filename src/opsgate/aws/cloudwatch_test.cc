// CloudWatchClient over a FakeHttpClient: request bodies, NextToken pagination, metric
// and composite alarms, truncation, errors, malformed answers and the chat summary.
#include "opsgate/aws/cloudwatch.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "opsgate/aws/testing/fakes.h"
#include "opsgate/http/client/fake_http_client.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::aws {
namespace {

using std::chrono::milliseconds;

Credentials CwCreds() {
  return testing::StaticCredentials("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
}

std::string MetricAlarmXml(const std::string& name) {
  return "<member><AlarmName>" + name +
         "</AlarmName><AlarmArn>arn:aws:cloudwatch:eu-west-1:"
         "123456789012:alarm:" +
         name +
         "</AlarmArn><StateValue>ALARM</StateValue>"
         "<StateReason>Threshold Crossed: 1 datapoint [12.0] was greater than the threshold "
         "(5.0).</StateReason><MetricName>HTTPCode_Target_5XX_Count</MetricName>"
         "<Namespace>AWS/ApplicationELB</Namespace><StateUpdatedTimestamp>"
         "2026-01-01T10:00:00.000Z</StateUpdatedTimestamp></member>";
}

std::string CompositeAlarmXml(const std::string& name) {
  return "<member><AlarmName>" + name +
         "</AlarmName><AlarmRule>ALARM(a) OR ALARM(b)"
         "</AlarmRule><StateValue>ALARM</StateValue><StateReason>arn:aws:cloudwatch:a "
         "transitioned to ALARM</StateReason><StateUpdatedTimestamp>2026-01-01T11:00:00Z"
         "</StateUpdatedTimestamp></member>";
}

std::string AlarmsXml(const std::string& metric, const std::string& composite,
                      const std::string& next = "") {
  std::string x =
      "<DescribeAlarmsResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">"
      "<DescribeAlarmsResult><MetricAlarms>" +
      metric + "</MetricAlarms><CompositeAlarms>" + composite + "</CompositeAlarms>";
  if (!next.empty()) {
    x += "<NextToken>" + next + "</NextToken>";
  }
  return x +
         "</DescribeAlarmsResult><ResponseMetadata><RequestId>req-c</RequestId>"
         "</ResponseMetadata></DescribeAlarmsResponse>";
}

constexpr std::string_view kAlarmBody =
    "Action=DescribeAlarms&Version=2010-08-01&StateValue=ALARM"
    "&AlarmTypes.member.1=MetricAlarm&AlarmTypes.member.2=CompositeAlarm";

class CloudWatchClientTest : public ::testing::Test {
 protected:
  ApiClient::Options Opts() {
    ApiClient::Options o;
    o.sleep = [this](milliseconds d) { sleeps_.push_back(d); };
    o.random = [] { return 0.5; };
    return o;
  }
  static EnvLookup NoEnv() {
    return [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  }
  std::string Body(size_t i) const { return http_.Requests().at(i).body; }

  http::testing::FakeHttpClient http_;
  opsgate::testing::FakeClock clock_;
  std::vector<milliseconds> sleeps_;
  ApiClient api_{http_, NoEnv(), clock_, Opts()};
  CloudWatchClient cw_{api_};
};

TEST_F(CloudWatchClientTest, DescribeAlarmsParsesMetricAndCompositeAlarms) {
  http_.PushResponse(200, AlarmsXml(MetricAlarmXml("web-5xx"), CompositeAlarmXml("site-down")));
  auto r = cw_.DescribeAlarms("eu-west-1", CwCreds());
  ASSERT_TRUE(r) << r.error().error;
  ASSERT_EQ(http_.RequestCount(), 1u);
  EXPECT_EQ(http_.Requests()[0].url, "https://monitoring.eu-west-1.amazonaws.com/");
  EXPECT_EQ(Body(0), kAlarmBody);
  EXPECT_FALSE(r->truncated);
  EXPECT_EQ(r->pages, 1);
  ASSERT_EQ(r->alarms.size(), 2u);
  const Alarm& m = r->alarms[0];
  EXPECT_EQ(m.name, "web-5xx");
  EXPECT_EQ(m.state, "ALARM");
  EXPECT_EQ(m.reason,
            "Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).");
  EXPECT_EQ(m.metric, "HTTPCode_Target_5XX_Count");
  EXPECT_EQ(m.namespace_, "AWS/ApplicationELB");
  EXPECT_EQ(m.updated, "2026-01-01T10:00:00.000Z");
  EXPECT_FALSE(m.composite);
  const Alarm& c = r->alarms[1];
  EXPECT_EQ(c.name, "site-down");
  EXPECT_TRUE(c.composite);
  EXPECT_EQ(c.metric, "");
  EXPECT_EQ(c.updated, "2026-01-01T11:00:00Z");
}

TEST_F(CloudWatchClientTest, FollowsNextTokenAcrossThreePages) {
  http_.PushResponse(200, AlarmsXml(MetricAlarmXml("a1") + MetricAlarmXml("a2"), "", "tok/1="));
  http_.PushResponse(200, AlarmsXml("", CompositeAlarmXml("c1"), "tok2"));
  http_.PushResponse(200, AlarmsXml(MetricAlarmXml("a3"), ""));
  auto r = cw_.DescribeAlarms("eu-west-1", CwCreds());
  ASSERT_TRUE(r) << r.error().error;
  ASSERT_EQ(http_.RequestCount(), 3u);
  EXPECT_EQ(Body(0), kAlarmBody);
  EXPECT_EQ(Body(1), std::string(kAlarmBody) + "&NextToken=tok%2F1%3D");
  EXPECT_EQ(Body(2), std::string(kAlarmBody) + "&NextToken=tok2");
  EXPECT_EQ(r->pages, 3);
  EXPECT_FALSE(r->truncated);
  ASSERT_EQ(r->alarms.size(), 4u);
  EXPECT_EQ(r->alarms[2].name, "c1");
  EXPECT_EQ(r->alarms[3].name, "a3");
}

TEST_F(CloudWatchClientTest, StopsAtMaxAlarms) {
  http_.PushResponse(200, AlarmsXml(MetricAlarmXml("a1") + MetricAlarmXml("a2"), "", "t"));
  http_.PushResponse(200, AlarmsXml(MetricAlarmXml("a3"), ""));
  auto r = cw_.DescribeAlarms("eu-west-1", CwCreds(), "ALARM", 2);
  ASSERT_TRUE(r) << r.error().error;
  EXPECT_EQ(http_.RequestCount(), 1u);
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->alarms.size(), 2u);
}

TEST_F(CloudWatchClientTest, OtherStatesAndAnyState) {
  http_.PushResponse(200, AlarmsXml("", ""));
  http_.PushResponse(200, AlarmsXml("", ""));
  ASSERT_TRUE(cw_.DescribeAlarms("eu-west-1", CwCreds(), "INSUFFICIENT_DATA"));
  ASSERT_TRUE(cw_.DescribeAlarms("eu-west-1", CwCreds(), ""));
  EXPECT_EQ(Body(0),
            "Action=DescribeAlarms&Version=2010-08-01&StateValue=INSUFFICIENT_DATA"
            "&AlarmTypes.member.1=MetricAlarm&AlarmTypes.member.2=CompositeAlarm");
  EXPECT_EQ(Body(1),
            "Action=DescribeAlarms&Version=2010-08-01"
            "&AlarmTypes.member.1=MetricAlarm&AlarmTypes.member.2=CompositeAlarm");
}

TEST_F(CloudWatchClientTest, RepeatedNextTokenIsDataLoss) {
  http_.PushResponse(200, AlarmsXml(MetricAlarmXml("a1"), "", "same"));
  http_.PushResponse(200, AlarmsXml(MetricAlarmXml("a2"), "", "same"));
  auto r = cw_.DescribeAlarms("eu-west-1", CwCreds());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kDataLoss);
}

TEST_F(CloudWatchClientTest, ErrorsAreMapped) {
  http_.PushResponse(400,
                     "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidNextToken</Code>"
                     "<Message>The service cannot process the token.</Message></Error>"
                     "<RequestId>req-e</RequestId></ErrorResponse>");
  http_.PushResponse(403,
                     "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                     "<Message>User is not authorized to perform: cloudwatch:DescribeAlarms"
                     "</Message></Error><RequestId>req-f</RequestId></ErrorResponse>");
  auto r = cw_.DescribeAlarms("eu-west-1", CwCreds());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "InvalidNextToken");
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().aws_message, "The service cannot process the token.");
  EXPECT_EQ(r.error().request_id, "req-e");
  r = cw_.DescribeAlarms("eu-west-1", CwCreds());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kPermissionDenied);
  EXPECT_EQ(r.error().code, "AccessDenied");
}

TEST_F(CloudWatchClientTest, MalformedSuccessBodiesAreDataLoss) {
  for (const std::string& body :
       {std::string(""), std::string("<DescribeAlarmsResponse/>"), std::string("<Foo/>"),
        AlarmsXml("<member><StateValue>ALARM</StateValue></member>", "")}) {
    http_.PushResponse(200, body);
    auto r = cw_.DescribeAlarms("eu-west-1", CwCreds());
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().error.code, core::ErrorCode::kDataLoss) << body;
    EXPECT_NE(r.error().error.message.find("DescribeAlarms"), std::string::npos);
  }
}

TEST_F(CloudWatchClientTest, LocalRefusalsMakeNoRequest) {
  auto r = cw_.DescribeAlarms("eu-west-1", CwCreds(), "alarm");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().error.message.find("unknown alarm state 'alarm'"), std::string::npos);
  EXPECT_EQ(cw_.DescribeAlarms("eu-west-1", CwCreds(), "OK", 0).error().error.code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(http_.RequestCount(), 0u);
}

TEST(CloudWatchSummary, EmptyLinesAndTruncated) {
  AlarmList list;
  list.state = "ALARM";
  EXPECT_EQ(SummarizeAlarms(list, "eu-west-1"), "No alarms in ALARM state in eu-west-1.");
  Alarm m;
  m.name = "web-5xx";
  m.state = "ALARM";
  m.metric = "HTTPCode_Target_5XX_Count";
  m.namespace_ = "AWS/ApplicationELB";
  m.updated = "2026-01-01T10:00:00.000Z";
  m.reason = "Threshold Crossed";
  Alarm c;
  c.name = "site-down";
  c.state = "ALARM";
  c.composite = true;
  list.alarms = {m, c};
  EXPECT_EQ(SummarizeAlarms(list, "eu-west-1"),
            "2 alarms in ALARM state in eu-west-1:\n"
            "web-5xx ALARM AWS/ApplicationELB HTTPCode_Target_5XX_Count since "
            "2026-01-01T10:00:00.000Z: Threshold Crossed\n"
            "site-down ALARM (composite)");
  list.truncated = true;
  list.alarms = {m};
  m.reason = std::string(300, 'x');
  list.alarms.push_back(m);
  const std::string s = SummarizeAlarms(list, "");
  EXPECT_EQ(s.rfind("2 alarms in ALARM state in the default region:\n", 0), 0u) << s;
  EXPECT_NE(s.find(std::string(200, 'x') + "…"), std::string::npos);
  EXPECT_EQ(s.find(std::string(201, 'x')), std::string::npos);
  EXPECT_NE(s.find("\n… and more (showing first 2)"), std::string::npos);
}

}  // namespace
}  // namespace opsgate::aws
