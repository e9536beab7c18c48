// AutoScalingClient over a FakeHttpClient: request bodies, parsing, not-found, error
// mapping, malformed answers and local validation.
#include "opsgate/aws/autoscaling.h"

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

Credentials AsgCreds() {
  return testing::StaticCredentials("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
}

std::string GroupXml(const std::string& name, int min, int max, int desired,
                     const std::vector<std::string>& ids) {
  std::string x = "<member><AutoScalingGroupName>" + name +
                  "</AutoScalingGroupName><AutoScalingGroupARN>arn:aws:autoscaling:eu-west-1:"
                  "123456789012:autoScalingGroup:uuid:autoScalingGroupName/" +
                  name + "</AutoScalingGroupARN><MinSize>" + std::to_string(min) +
                  "</MinSize><MaxSize>" + std::to_string(max) + "</MaxSize><DesiredCapacity>" +
                  std::to_string(desired) + "</DesiredCapacity><Instances>";
  for (const auto& id : ids) {
    x += "<member><InstanceId>" + id +
         "</InstanceId><AvailabilityZone>eu-west-1a</AvailabilityZone><LifecycleState>InService"
         "</LifecycleState><HealthStatus>Healthy</HealthStatus></member>";
  }
  return x + "</Instances></member>";
}

std::string DescribeGroupsXml(const std::string& members) {
  return "<DescribeAutoScalingGroupsResponse "
         "xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\">"
         "<DescribeAutoScalingGroupsResult><AutoScalingGroups>" +
         members +
         "</AutoScalingGroups></DescribeAutoScalingGroupsResult><ResponseMetadata><RequestId>"
         "req-a</RequestId></ResponseMetadata></DescribeAutoScalingGroupsResponse>";
}

class AutoScalingClientTest : public ::testing::Test {
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

  http::testing::FakeHttpClient http_;
  opsgate::testing::FakeClock clock_;
  std::vector<milliseconds> sleeps_;
  ApiClient api_{http_, NoEnv(), clock_, Opts()};
  AutoScalingClient asg_{api_};
};

TEST_F(AutoScalingClientTest, DescribeGroupSendsNameAndParses) {
  http_.PushResponse(200,
                     DescribeGroupsXml(GroupXml("web", 1, 5, 2, {"i-0abc1234", "i-0abc1235"})));
  auto g = asg_.DescribeGroup("eu-west-1", AsgCreds(), "web");
  ASSERT_TRUE(g) << g.error().error;
  ASSERT_EQ(http_.RequestCount(), 1u);
  EXPECT_EQ(http_.Requests()[0].url, "https://autoscaling.eu-west-1.amazonaws.com/");
  EXPECT_EQ(http_.Requests()[0].body,
            "Action=DescribeAutoScalingGroups&Version=2011-01-01"
            "&AutoScalingGroupNames.member.1=web");
  EXPECT_EQ(g->name, "web");
  EXPECT_EQ(g->arn,
            "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:uuid:"
            "autoScalingGroupName/web");
  EXPECT_EQ(g->min_size, 1);
  EXPECT_EQ(g->max_size, 5);
  EXPECT_EQ(g->desired_capacity, 2);
  EXPECT_EQ(g->instances, 2);
  EXPECT_EQ(g->instance_ids, (std::vector<std::string>{"i-0abc1234", "i-0abc1235"}));
}

TEST_F(AutoScalingClientTest, DescribeGroupWithoutInstances) {
  http_.PushResponse(200, DescribeGroupsXml(GroupXml("batch", 0, 10, 0, {})));
  auto g = asg_.DescribeGroup("eu-west-1", AsgCreds(), "batch");
  ASSERT_TRUE(g) << g.error().error;
  EXPECT_EQ(g->instances, 0);
  EXPECT_TRUE(g->instance_ids.empty());
}

TEST_F(AutoScalingClientTest, EmptyListIsNotFoundNamingTheGroup) {
  http_.PushResponse(200, DescribeGroupsXml(""));
  auto g = asg_.DescribeGroup("eu-west-1", AsgCreds(), "missing-group");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().error.code, core::ErrorCode::kNotFound);
  EXPECT_EQ(g.error().code, "");
  EXPECT_NE(g.error().error.message.find("'missing-group' not found"), std::string::npos);
}

TEST_F(AutoScalingClientTest, SetDesiredCapacitySendsParams) {
  http_.PushResponse(200,
                     "<SetDesiredCapacityResponse xmlns=\"http://autoscaling.amazonaws.com/doc/"
                     "2011-01-01/\"><ResponseMetadata><RequestId>req-s</RequestId>"
                     "</ResponseMetadata></SetDesiredCapacityResponse>");
  http_.PushResponse(200,
                     "<SetDesiredCapacityResponse><ResponseMetadata><RequestId>req-t</RequestId>"
                     "</ResponseMetadata></SetDesiredCapacityResponse>");
  auto r = asg_.SetDesiredCapacity("eu-west-1", AsgCreds(), "web group", 3);
  ASSERT_TRUE(r) << r.error().error;
  EXPECT_EQ(http_.Requests()[0].body,
            "Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName=web%20group"
            "&DesiredCapacity=3&HonorCooldown=false");
  EXPECT_EQ(r->group, "web group");
  EXPECT_EQ(r->desired, 3);
  EXPECT_EQ(r->request_id, "req-s");
  r = asg_.SetDesiredCapacity("eu-west-1", AsgCreds(), "web", 0, /*honor_cooldown=*/true);
  ASSERT_TRUE(r) << r.error().error;
  EXPECT_EQ(http_.Requests()[1].body,
            "Action=SetDesiredCapacity&Version=2011-01-01&AutoScalingGroupName=web"
            "&DesiredCapacity=0&HonorCooldown=true");
}

TEST_F(AutoScalingClientTest, ValidationErrorSurfacesCodeAndMessage) {
  http_.PushResponse(400,
                     "<ErrorResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\">"
                     "<Error><Type>Sender</Type><Code>ValidationError</Code><Message>New "
                     "SetDesiredCapacity value 9 is above max value 5 for the AutoScalingGroup."
                     "</Message></Error><RequestId>req-v</RequestId></ErrorResponse>");
  auto r = asg_.SetDesiredCapacity("eu-west-1", AsgCreds(), "web", 9);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().code, "ValidationError");
  EXPECT_EQ(r.error().aws_message,
            "New SetDesiredCapacity value 9 is above max value 5 for the AutoScalingGroup.");
  EXPECT_EQ(r.error().request_id, "req-v");
  EXPECT_NE(r.error().error.message.find("above max value 5"), std::string::npos);
}

TEST_F(AutoScalingClientTest, MalformedSuccessBodiesAreDataLoss) {
  for (const std::string& body :
       {std::string("{}"), std::string("<DescribeAutoScalingGroupsResponse/>"),
        std::string("<SomethingElse><DescribeAutoScalingGroupsResult><AutoScalingGroups/>"
                    "</DescribeAutoScalingGroupsResult></SomethingElse>"),
        DescribeGroupsXml("<member><AutoScalingGroupName>web</AutoScalingGroupName><MinSize>x"
                          "</MinSize><MaxSize>1</MaxSize><DesiredCapacity>1</DesiredCapacity>"
                          "</member>"),
        DescribeGroupsXml("<member><MinSize>1</MinSize></member>")}) {
    http_.PushResponse(200, body);
    auto g = asg_.DescribeGroup("eu-west-1", AsgCreds(), "web");
    ASSERT_FALSE(g) << body;
    EXPECT_EQ(g.error().error.code, core::ErrorCode::kDataLoss) << body;
  }
  http_.PushResponse(200, "garbage");
  auto s = asg_.SetDesiredCapacity("eu-west-1", AsgCreds(), "web", 1);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().error.code, core::ErrorCode::kDataLoss);
}

TEST_F(AutoScalingClientTest, LocalRefusalsMakeNoRequest) {
  EXPECT_EQ(asg_.DescribeGroup("", AsgCreds(), "").error().error.code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(asg_.DescribeGroup("", AsgCreds(), std::string(256, 'a')).error().error.code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(asg_.DescribeGroup("", AsgCreds(), "bad\nname").error().error.code,
            core::ErrorCode::kInvalidArgument);
  auto r = asg_.SetDesiredCapacity("", AsgCreds(), "web", -1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().error.message.find("negative"), std::string::npos);
  EXPECT_EQ(http_.RequestCount(), 0u);
}

TEST(AutoScalingCapacity, CheckCapacityStatesTheRange) {
  AutoScalingGroup g;
  g.name = "web";
  g.min_size = 1;
  g.max_size = 5;
  EXPECT_EQ(CheckCapacity(g, 1), "");
  EXPECT_EQ(CheckCapacity(g, 5), "");
  EXPECT_EQ(CheckCapacity(g, 7), "desired capacity 7 is outside web's range 1..5");
  EXPECT_EQ(CheckCapacity(g, 0), "desired capacity 0 is outside web's range 1..5");
}

}  // namespace
}  // namespace opsgate::aws
