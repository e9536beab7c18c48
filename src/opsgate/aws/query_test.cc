#include "opsgate/aws/query.h"

#include <gtest/gtest.h>

#include <chrono>

namespace opsgate::aws {
namespace {

TEST(QueryEncodeTest, ActionVersionAndScalarsInOrder) {
  QueryParams p;
  p.Add("RoleArn", "arn:aws:iam::123456789012:role/ops").Add("B", "a b&c=d/é");
  EXPECT_EQ(
      EncodeQuery("AssumeRole", "2011-06-15", p),
      "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fops"
      "&B=a%20b%26c%3Dd%2F%C3%A9");
  EXPECT_EQ(EncodeQuery("GetCallerIdentity", "2011-06-15", {}),
            "Action=GetCallerIdentity&Version=2011-06-15");
}

TEST(QueryEncodeTest, QueryListsMapsAndStructures) {
  QueryParams p;
  p.Add("Tags", QueryValue::List({QueryValue::Structure({{"Key", QueryValue::String("k1")},
                                                         {"Value", QueryValue::String("v1")}}),
                                  QueryValue::Structure({{"Key", QueryValue::String("k2")},
                                                         {"Value", QueryValue::String("v2")}})}));
  p.Add("Empty", QueryValue::List({}));
  QueryValue flat = QueryValue::StringList({"A", "B"});
  flat.flattened = true;
  p.Add("Flat", flat);
  p.Add("M", QueryValue::Map({{"a", QueryValue::String("1")}}));
  p.Add("EmptyMap", QueryValue::Map({}));
  p.Add("N", QueryValue::Structure({{"On", QueryValue::Bool(true)}, {"I", QueryValue::Int(-3)}}));
  const auto pairs = FlattenQuery(p);
  const std::vector<std::pair<std::string, std::string>> want = {{"Tags.member.1.Key", "k1"},
                                                                 {"Tags.member.1.Value", "v1"},
                                                                 {"Tags.member.2.Key", "k2"},
                                                                 {"Tags.member.2.Value", "v2"},
                                                                 {"Empty", ""},
                                                                 {"Flat.1", "A"},
                                                                 {"Flat.2", "B"},
                                                                 {"M.entry.1.key", "a"},
                                                                 {"M.entry.1.value", "1"},
                                                                 {"N.On", "true"},
                                                                 {"N.I", "-3"}};
  EXPECT_EQ(pairs, want);
}

TEST(QueryEncodeTest, Ec2ListsAreFlattenedAndEmptyOmitted) {
  QueryParams p;
  p.protocol = QueryProtocol::kEc2;
  p.Add("InstanceId", QueryValue::StringList({"i-1", "i-2"}));
  p.Add("Filter", QueryValue::List(
                      {QueryValue::Structure({{"Name", QueryValue::String("tag:Name")},
                                              {"Value", QueryValue::StringList({"web", "db"})}})}));
  p.Add("Nothing", QueryValue::List({}));
  EXPECT_EQ(EncodeQuery("DescribeInstances", "2016-11-15", p),
            "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1&InstanceId.2=i-2"
            "&Filter.1.Name=tag%3AName&Filter.1.Value.1=web&Filter.1.Value.2=db");
}

TEST(QueryEncodeTest, Timestamp) {
  EXPECT_EQ(
      QueryValue::Timestamp(std::chrono::system_clock::time_point(std::chrono::seconds(1422172800)))
          .scalar,
      "2015-01-25T08:00:00Z");
}

TEST(QueryErrorTest, QueryShape) {
  auto e = ParseQueryError(403, R"(<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized</Message></Error>
  <RequestId>req-1</RequestId></ErrorResponse>)");
  EXPECT_EQ(e.http_status, 403);
  EXPECT_EQ(e.code, "AccessDenied");
  EXPECT_EQ(e.message, "not authorized");
  EXPECT_EQ(e.type, "Sender");
  EXPECT_EQ(e.request_id, "req-1");
  EXPECT_FALSE(e.throttling);
  EXPECT_FALSE(e.clock_skew);
  EXPECT_FALSE(e.retryable);
}

TEST(QueryErrorTest, Ec2Shape) {
  auto e = ParseQueryError(400, R"(<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-1' does not exist</Message></Error></Errors><RequestID>ea966190</RequestID></Response>)");
  EXPECT_EQ(e.code, "InvalidInstanceID.NotFound");
  EXPECT_EQ(e.message, "The instance ID 'i-1' does not exist");
  EXPECT_EQ(e.request_id, "ea966190");
}

TEST(QueryErrorTest, Throttling) {
  for (const char* code : {"Throttling", "ThrottlingException", "RequestLimitExceeded"}) {
    auto e = ParseQueryError(400, std::string("<Response><Errors><Error><Code>") + code +
                                      "</Code></Error></Errors></Response>");
    EXPECT_TRUE(e.throttling) << code;
    EXPECT_TRUE(e.retryable) << code;
  }
  EXPECT_TRUE(ParseQueryError(429, "").throttling);
  EXPECT_FALSE(
      ParseQueryError(
          400, "<Response><Errors><Error><Code>AuthFailure</Code></Error></Errors></Response>")
          .throttling);
}

TEST(QueryErrorTest, ClockSkewWithMeasuredOffset) {
  auto e = ParseQueryError(
      403,
      R"(<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>Signature expired: 20260101T000000Z is now earlier than 20260101T001000Z (20260101T002500Z - 15 min.)</Message></Error><RequestId>r</RequestId></ErrorResponse>)");
  EXPECT_TRUE(e.clock_skew);
  ASSERT_TRUE(e.skew);
  EXPECT_EQ(e.skew->count(), 25 * 60);

  auto future = ParseQueryError(
      403,
      R"(<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>Signature not yet current: 20260101T003000Z is still later than 20260101T001500Z (20260101T000000Z + 15 min.)</Message></Error></ErrorResponse>)");
  EXPECT_TRUE(future.clock_skew);
  ASSERT_TRUE(future.skew);
  EXPECT_EQ(future.skew->count(), -30 * 60);

  auto expired =
      ParseQueryError(400,
                      "<Response><Errors><Error><Code>RequestExpired</Code><Message>Request has "
                      "expired.</Message></Error></Errors></Response>");
  EXPECT_TRUE(expired.clock_skew);
  EXPECT_FALSE(expired.skew);

  auto bad_sig = ParseQueryError(
      403,
      "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we "
      "calculated does not match</Message></Error></ErrorResponse>");
  EXPECT_FALSE(bad_sig.clock_skew);
}

TEST(QueryErrorTest, NonXmlBodyNeverQuoted) {
  auto e = ParseQueryError(502, "<html>upstream secret-stuff</html");
  EXPECT_EQ(e.code, "");
  EXPECT_EQ(e.message.find("secret-stuff"), std::string::npos);
  EXPECT_NE(e.message.find("502"), std::string::npos);
  EXPECT_TRUE(e.retryable);
  EXPECT_FALSE(e.throttling);
}

TEST(QueryErrorTest, RefusesDoctypeInErrorBody) {
  auto e = ParseQueryError(
      400,
      R"(<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><ErrorResponse><Error><Code>&x;</Code></Error></ErrorResponse>)");
  EXPECT_EQ(e.code, "");
}

}  // namespace
}  // namespace opsgate::aws
