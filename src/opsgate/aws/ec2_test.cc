// Ec2Client over a FakeHttpClient: exact request bodies, pagination, parsing, error
// mapping, local validation, the waiter and the chat summary.
#include "opsgate/aws/ec2.h"

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
using std::chrono::seconds;

Credentials Creds() {
  return testing::StaticCredentials("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
}

std::string InstanceXml(const std::string& id, const std::string& state,
                        const std::string& type = "t3.micro", const std::string& name = "",
                        const std::string& ip = "10.0.0.5") {
  std::string x = "<item><instanceId>" + id + "</instanceId><imageId>ami-1</imageId>" +
                  "<instanceState><code>16</code><name>" + state + "</name></instanceState>" +
                  "<instanceType>" + type + "</instanceType>" +
                  "<launchTime>2026-01-02T03:04:05.000Z</launchTime>" +
                  "<placement><availabilityZone>eu-west-1a</availabilityZone></placement>" +
                  "<privateIpAddress>" + ip + "</privateIpAddress>";
  if (!name.empty()) {
    x += "<tagSet><item><key>env</key><value>prod</value></item><item><key>Name</key><value>" +
         name + "</value></item></tagSet>";
  }
  return x + "</item>";
}

std::string DescribeXml(const std::string& items, const std::string& next_token = "") {
  std::string x =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
      "<requestId>req-1</requestId><reservationSet><item><reservationId>r-1</reservationId>"
      "<ownerId>123456789012</ownerId><instancesSet>" +
      items + "</instancesSet></item></reservationSet>";
  if (!next_token.empty()) {
    x += "<nextToken>" + next_token + "</nextToken>";
  }
  return x + "</DescribeInstancesResponse>";
}

std::string StateChangeXml(const std::string& op, const std::string& id, const std::string& prev,
                           const std::string& cur) {
  return "<" + op + "Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">" +
         "<requestId>req-2</requestId><instancesSet><item><instanceId>" + id +
         "</instanceId><currentState><code>0</code><name>" + cur +
         "</name></currentState><previousState><code>80</code><name>" + prev +
         "</name></previousState></item></instancesSet></" + op + "Response>";
}

std::string Ec2ErrorXml(const std::string& code, const std::string& message) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>" + code +
         "</Code><Message>" + message + "</Message></Error></Errors><RequestID>r-err</RequestID>" +
         "</Response>";
}

class Ec2ClientTest : public ::testing::Test {
 protected:
  ApiClient::Options Opts() {
    ApiClient::Options o;
    o.sleep = [this](milliseconds d) { api_sleeps_.push_back(d); };
    o.random = [] { return 0.5; };
    return o;
  }
  static EnvLookup NoEnv() {
    return [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  }
  std::string Body(size_t i) const { return http_.Requests().at(i).body; }

  http::testing::FakeHttpClient http_;
  opsgate::testing::FakeClock clock_;
  std::vector<milliseconds> api_sleeps_;
  ApiClient api_{http_, NoEnv(), clock_, Opts()};
  Ec2Client ec2_{api_};
};

TEST_F(Ec2ClientTest, DescribeInstancesSendsFiltersAndParsesInstances) {
  http_.PushResponse(
      200, DescribeXml(InstanceXml("i-0abc1234", "running", "t3.micro", "web-1") +
                       InstanceXml("i-0123456789abcdef0", "stopped", "m5.large", "", "10.0.0.6")));
  DescribeInstancesQuery q;
  q.name_tag = "web-1";
  q.states = {"running", "stopped"};
  auto r = ec2_.DescribeInstances("eu-west-1", Creds(), q);
  ASSERT_TRUE(r) << r.error().error;
  ASSERT_EQ(http_.RequestCount(), 1u);
  EXPECT_EQ(http_.Requests()[0].url, "https://ec2.eu-west-1.amazonaws.com/");
  EXPECT_EQ(Body(0),
            "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3AName"
            "&Filter.1.Value.1=web-1&Filter.2.Name=instance-state-name&Filter.2.Value.1=running"
            "&Filter.2.Value.2=stopped");
  EXPECT_EQ(r->pages, 1);
  EXPECT_FALSE(r->truncated);
  ASSERT_EQ(r->instances.size(), 2u);
  const Ec2Instance& a = r->instances[0];
  EXPECT_EQ(a.id, "i-0abc1234");
  EXPECT_EQ(a.state, "running");
  EXPECT_EQ(a.type, "t3.micro");
  EXPECT_EQ(a.name, "web-1");
  EXPECT_EQ(a.private_ip, "10.0.0.5");
  EXPECT_EQ(a.public_ip, "");
  EXPECT_EQ(a.availability_zone, "eu-west-1a");
  EXPECT_EQ(a.launch_time, "2026-01-02T03:04:05.000Z");
  ASSERT_EQ(a.tags.size(), 2u);
  EXPECT_EQ(a.tags[0], (std::pair<std::string, std::string>("env", "prod")));
  EXPECT_EQ(a.tags[1], (std::pair<std::string, std::string>("Name", "web-1")));
  EXPECT_EQ(r->instances[1].id, "i-0123456789abcdef0");
  EXPECT_EQ(r->instances[1].name, "");
  EXPECT_TRUE(r->instances[1].tags.empty());
}

TEST_F(Ec2ClientTest, DescribeInstancesByIdSendsInstanceIdList) {
  http_.PushResponse(200, DescribeXml(InstanceXml("i-0abc1234", "running")));
  DescribeInstancesQuery q;
  q.instance_ids = {"i-0abc1234", "i-0abc1235"};
  auto r = ec2_.DescribeInstances("eu-west-1", Creds(), q);
  ASSERT_TRUE(r) << r.error().error;
  EXPECT_EQ(Body(0),
            "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0abc1234"
            "&InstanceId.2=i-0abc1235");
}

TEST_F(Ec2ClientTest, DescribeInstancesFollowsNextTokenAcrossThreePages) {
  http_.PushResponse(
      200, DescribeXml(InstanceXml("i-00000001", "running") + InstanceXml("i-00000002", "running"),
                       "eyJ2IjoxfQ=="));
  http_.PushResponse(200, DescribeXml(InstanceXml("i-00000003", "running"), "page/3+"));
  http_.PushResponse(200, DescribeXml(InstanceXml("i-00000004", "stopped")));
  DescribeInstancesQuery q;
  q.page_size = 5;
  auto r = ec2_.DescribeInstances("eu-west-1", Creds(), q);
  ASSERT_TRUE(r) << r.error().error;
  ASSERT_EQ(http_.RequestCount(), 3u);
  EXPECT_EQ(Body(0), "Action=DescribeInstances&Version=2016-11-15&MaxResults=5");
  EXPECT_EQ(Body(1),
            "Action=DescribeInstances&Version=2016-11-15&MaxResults=5&NextToken=eyJ2IjoxfQ%3D%3D");
  EXPECT_EQ(Body(2),
            "Action=DescribeInstances&Version=2016-11-15&MaxResults=5&NextToken=page%2F3%2B");
  EXPECT_EQ(r->pages, 3);
  EXPECT_FALSE(r->truncated);
  ASSERT_EQ(r->instances.size(), 4u);
  EXPECT_EQ(r->instances[0].id, "i-00000001");
  EXPECT_EQ(r->instances[3].id, "i-00000004");
  EXPECT_EQ(r->instances[3].state, "stopped");
}

TEST_F(Ec2ClientTest, DescribeInstancesStopsAtMaxInstancesAndMarksTruncated) {
  http_.PushResponse(
      200, DescribeXml(InstanceXml("i-00000001", "running") + InstanceXml("i-00000002", "running"),
                       "t2"));
  http_.PushResponse(
      200, DescribeXml(InstanceXml("i-00000003", "running") + InstanceXml("i-00000004", "running"),
                       "t3"));
  http_.PushResponse(200, DescribeXml(InstanceXml("i-00000005", "running")));
  DescribeInstancesQuery q;
  q.max_instances = 3;
  auto r = ec2_.DescribeInstances("eu-west-1", Creds(), q);
  ASSERT_TRUE(r) << r.error().error;
  EXPECT_EQ(http_.RequestCount(), 2u);
  EXPECT_EQ(r->pages, 2);
  EXPECT_TRUE(r->truncated);
  ASSERT_EQ(r->instances.size(), 3u);
  EXPECT_EQ(r->instances[2].id, "i-00000003");
}

TEST_F(Ec2ClientTest, DescribeInstancesExactlyMaxOnLastPageIsNotTruncated) {
  http_.PushResponse(200, DescribeXml(InstanceXml("i-00000001", "running") +
                                      InstanceXml("i-00000002", "running")));
  DescribeInstancesQuery q;
  q.max_instances = 2;
  auto r = ec2_.DescribeInstances("eu-west-1", Creds(), q);
  ASSERT_TRUE(r) << r.error().error;
  EXPECT_FALSE(r->truncated);
  EXPECT_EQ(r->instances.size(), 2u);
}

TEST_F(Ec2ClientTest, DescribeInstancesRepeatedNextTokenIsDataLoss) {
  http_.PushResponse(200, DescribeXml(InstanceXml("i-00000001", "running"), "same"));
  http_.PushResponse(200, DescribeXml(InstanceXml("i-00000002", "running"), "same"));
  auto r = ec2_.DescribeInstances("eu-west-1", Creds(), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kDataLoss);
  EXPECT_NE(r.error().error.message.find("repeated a NextToken"), std::string::npos);
  EXPECT_EQ(http_.RequestCount(), 2u);
}

TEST_F(Ec2ClientTest, DescribeInstancesEmptyReservationSet) {
  http_.PushResponse(200,
                     "<DescribeInstancesResponse><requestId>x</requestId><reservationSet/>"
                     "</DescribeInstancesResponse>");
  auto r = ec2_.DescribeInstances("eu-west-1", Creds(), {});
  ASSERT_TRUE(r) << r.error().error;
  EXPECT_TRUE(r->instances.empty());
  EXPECT_EQ(SummarizeInstances(*r), "No instances matched.");
}

TEST_F(Ec2ClientTest, DescribeInstancesLocalValidationSendsNothing) {
  auto check = [&](const DescribeInstancesQuery& q, std::string_view needle) {
    auto r = ec2_.DescribeInstances("eu-west-1", Creds(), q);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().error.code, core::ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().error.message.find(needle), std::string::npos) << r.error().error;
    EXPECT_EQ(r.error().code, "");
  };
  DescribeInstancesQuery bad_id;
  bad_id.instance_ids = {"i-0abc1234", "i-XYZ"};
  check(bad_id, "'i-XYZ' is not an EC2 instance id");
  DescribeInstancesQuery ids_and_page;
  ids_and_page.instance_ids = {"i-0abc1234"};
  ids_and_page.page_size = 10;
  check(ids_and_page, "cannot be combined with instance ids");
  DescribeInstancesQuery small_page;
  small_page.page_size = 3;
  check(small_page, "5..1000");
  DescribeInstancesQuery bad_state;
  bad_state.states = {"runing"};
  check(bad_state, "unknown instance state 'runing'");
  DescribeInstancesQuery zero;
  zero.max_instances = 0;
  check(zero, "max_instances");
  EXPECT_EQ(http_.RequestCount(), 0u);
}

TEST_F(Ec2ClientTest, StartInstanceSendsIdAndParsesStateChange) {
  http_.PushResponse(200, StateChangeXml("StartInstances", "i-0abc1234", "stopped", "pending"));
  auto r = ec2_.StartInstance("eu-west-1", Creds(), "i-0abc1234");
  ASSERT_TRUE(r) << r.error().error;
  EXPECT_EQ(Body(0), "Action=StartInstances&Version=2016-11-15&InstanceId.1=i-0abc1234");
  EXPECT_EQ(r->instance_id, "i-0abc1234");
  EXPECT_EQ(r->previous, "stopped");
  EXPECT_EQ(r->current, "pending");
}

TEST_F(Ec2ClientTest, StopInstanceWithForce) {
  http_.PushResponse(200, StateChangeXml("StopInstances", "i-0abc1234", "running", "stopping"));
  http_.PushResponse(200, StateChangeXml("StopInstances", "i-0abc1234", "running", "stopping"));
  ASSERT_TRUE(ec2_.StopInstance("eu-west-1", Creds(), "i-0abc1234"));
  auto r = ec2_.StopInstance("eu-west-1", Creds(), "i-0abc1234", /*force=*/true);
  ASSERT_TRUE(r) << r.error().error;
  EXPECT_EQ(Body(0), "Action=StopInstances&Version=2016-11-15&InstanceId.1=i-0abc1234");
  EXPECT_EQ(Body(1), "Action=StopInstances&Version=2016-11-15&InstanceId.1=i-0abc1234&Force=true");
  EXPECT_EQ(r->previous, "running");
  EXPECT_EQ(r->current, "stopping");
}

TEST_F(Ec2ClientTest, StateChangeForAnotherInstanceIsDataLoss) {
  http_.PushResponse(200, StateChangeXml("StartInstances", "i-99999999", "stopped", "pending"));
  auto r = ec2_.StartInstance("eu-west-1", Creds(), "i-0abc1234");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kDataLoss);
}

TEST_F(Ec2ClientTest, IncorrectInstanceStateSurfacesCodeAndMessage) {
  http_.PushResponse(400, Ec2ErrorXml("IncorrectInstanceState",
                                      "The instance 'i-0abc1234' is not in a state from which "
                                      "it can be stopped."));
  auto r = ec2_.StopInstance("eu-west-1", Creds(), "i-0abc1234");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(r.error().code, "IncorrectInstanceState");
  EXPECT_EQ(r.error().aws_message,
            "The instance 'i-0abc1234' is not in a state from which it can be stopped.");
  EXPECT_EQ(r.error().request_id, "r-err");
  EXPECT_EQ(r.error().http_status, 400);
  EXPECT_NE(r.error().error.message.find("StopInstances"), std::string::npos);
  EXPECT_NE(r.error().error.message.find("not in a state"), std::string::npos);
  EXPECT_EQ(http_.RequestCount(), 1u);  // not retried
}

TEST_F(Ec2ClientTest, NotFoundAndUnauthorizedAreMapped) {
  http_.PushResponse(400, Ec2ErrorXml("InvalidInstanceID.NotFound",
                                      "The instance ID 'i-0abc1234' does not exist"));
  http_.PushResponse(403, Ec2ErrorXml("UnauthorizedOperation", "You are not authorized"));
  auto r = ec2_.StartInstance("eu-west-1", Creds(), "i-0abc1234");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kNotFound);
  EXPECT_EQ(r.error().code, "InvalidInstanceID.NotFound");
  auto d = ec2_.DescribeInstances("eu-west-1", Creds(), {});
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().error.code, core::ErrorCode::kPermissionDenied);
  EXPECT_EQ(d.error().code, "UnauthorizedOperation");
}

TEST_F(Ec2ClientTest, ThrottlingIsRetriedByApiClient) {
  http_.PushResponse(503, Ec2ErrorXml("RequestLimitExceeded", "Request limit exceeded."));
  http_.PushResponse(200, StateChangeXml("StartInstances", "i-0abc1234", "stopped", "pending"));
  auto r = ec2_.StartInstance("eu-west-1", Creds(), "i-0abc1234");
  ASSERT_TRUE(r) << r.error().error;
  EXPECT_EQ(http_.RequestCount(), 2u);
  EXPECT_EQ(api_sleeps_.size(), 1u);
}

TEST_F(Ec2ClientTest, MalformedSuccessBodiesAreDataLoss) {
  for (const std::string& body :
       {std::string("not xml"), std::string("<Other/>"),
        std::string("<StartInstancesResponse><requestId>x</requestId></StartInstancesResponse>"),
        std::string("<StartInstancesResponse><instancesSet><item><instanceId>i-0abc1234"
                    "</instanceId></item></instancesSet></StartInstancesResponse>")}) {
    http_.PushResponse(200, body);
    auto r = ec2_.StartInstance("eu-west-1", Creds(), "i-0abc1234");
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().error.code, core::ErrorCode::kDataLoss) << body;
    EXPECT_NE(r.error().error.message.find("StartInstances"), std::string::npos);
  }
  http_.PushResponse(200,
                     "<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
                     "<instanceType>t3.micro</instanceType></item></instancesSet></item>"
                     "</reservationSet></DescribeInstancesResponse>");
  auto d = ec2_.DescribeInstances("eu-west-1", Creds(), {});
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().error.code, core::ErrorCode::kDataLoss);
  http_.PushResponse(200, "<DescribeInstancesResponse><unclosed></DescribeInstancesResponse>");
  d = ec2_.DescribeInstances("eu-west-1", Creds(), {});
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().error.code, core::ErrorCode::kDataLoss);
}

TEST_F(Ec2ClientTest, RebootInstance) {
  http_.PushResponse(200,
                     "<RebootInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
                     "<requestId>r</requestId><return>true</return></RebootInstancesResponse>");
  http_.PushResponse(200,
                     "<RebootInstancesResponse><requestId>r</requestId><return>false</return>"
                     "</RebootInstancesResponse>");
  auto r = ec2_.RebootInstance("eu-west-1", Creds(), "i-0abc1234");
  ASSERT_TRUE(r) << r.error().error;
  EXPECT_EQ(Body(0), "Action=RebootInstances&Version=2016-11-15&InstanceId.1=i-0abc1234");
  r = ec2_.RebootInstance("eu-west-1", Creds(), "i-0abc1234");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kFailedPrecondition);
}

TEST_F(Ec2ClientTest, ModifyInstanceType) {
  http_.PushResponse(200,
                     "<ModifyInstanceAttributeResponse><requestId>r</requestId><return>true"
                     "</return></ModifyInstanceAttributeResponse>");
  auto r = ec2_.ModifyInstanceType("eu-west-1", Creds(), "i-0abc1234", "t3.large");
  ASSERT_TRUE(r) << r.error().error;
  EXPECT_EQ(Body(0),
            "Action=ModifyInstanceAttribute&Version=2016-11-15&InstanceId=i-0abc1234"
            "&InstanceType.Value=t3.large");
}

TEST_F(Ec2ClientTest, LocalRefusalsMakeNoRequest) {
  EXPECT_EQ(ec2_.StartInstance("", Creds(), "web-1").error().error.code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(ec2_.StopInstance("", Creds(), "i-0ABC1234").error().error.code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(ec2_.RebootInstance("", Creds(), "").error().error.code,
            core::ErrorCode::kInvalidArgument);
  auto m = ec2_.ModifyInstanceType("", Creds(), "i-0abc1234", "T3.Large");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().error.code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(m.error().error.message.find("'T3.Large' is not an EC2 instance type"),
            std::string::npos);
  EXPECT_EQ(ec2_.ModifyInstanceType("", Creds(), "i-1", "t3.large").error().error.code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(http_.RequestCount(), 0u);
}

TEST(Ec2Validation, InstanceIds) {
  EXPECT_TRUE(ValidateInstanceId("i-0abc1234"));
  EXPECT_TRUE(ValidateInstanceId("i-0123456789abcdef0"));
  for (std::string_view bad : {"", "i-", "i-0abc123", "i-0abc12345", "i-0ABC1234", "x-0abc1234",
                               "i-0abc123g", "i-0123456789abcdef", "i-0abc1234 "}) {
    EXPECT_FALSE(ValidateInstanceId(bad)) << bad;
  }
}

TEST(Ec2Validation, InstanceTypes) {
  for (std::string_view ok :
       {"t3.micro", "m5.large", "u-6tb1.metal", "c7gn.16xlarge", "m5d.metal-48xl"}) {
    EXPECT_TRUE(ValidateInstanceType(ok)) << ok;
  }
  for (std::string_view bad :
       {"", "t3", ".micro", "t3.", "T3.micro", "t3 .micro", "t3_micro", "t3.micro;rm"}) {
    EXPECT_FALSE(ValidateInstanceType(bad)) << bad;
  }
  EXPECT_FALSE(ValidateInstanceType(std::string(65, 'a') + ".b"));
}

// ---- WaitForInstanceState --------------------------------------------------------------

class Ec2WaitTest : public Ec2ClientTest {
 protected:
  // Answers DescribeInstances with the next state of `states` (the last one repeats).
  void Script(std::vector<std::string> states) {
    http_.SetResponder([this, states](const http::OutboundRequest&) {
      const std::string& s = states[std::min(polls_, states.size() - 1)];
      ++polls_;
      return core::Result<http::OutboundResponse>(
          http::testing::FakeHttpClient::Response(200, DescribeXml(InstanceXml("i-0abc1234", s))));
    });
  }
  WaitOptions Options() {
    WaitOptions o;
    o.sleep = [this](milliseconds d) { sleeps_.push_back(d); };
    o.progress = [this](std::string_view s, seconds waited) {
      progress_.push_back(std::string(s) + "@" + std::to_string(waited.count()));
    };
    return o;
  }
  std::function<ApiResult<Credentials>()> CredentialSource() {
    return [this]() -> ApiResult<Credentials> {
      ++credential_asks_;
      return Creds();
    };
  }

  size_t polls_ = 0;
  int credential_asks_ = 0;
  std::vector<milliseconds> sleeps_;
  std::vector<std::string> progress_;
};

TEST_F(Ec2WaitTest, ReachesStoppedAfterThreePollsWithDoublingDelays) {
  Script({"stopping", "stopping", "stopped"});
  auto r = WaitForInstanceState(ec2_, "eu-west-1", CredentialSource(), "i-0abc1234", "stopped",
                                Options());
  ASSERT_TRUE(r) << r.error().error;
  EXPECT_EQ(*r, "stopped");
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{milliseconds(2000), milliseconds(4000),
                                                milliseconds(8000)}));
  EXPECT_EQ(polls_, 3u);
  EXPECT_EQ(credential_asks_, 3);
  EXPECT_EQ(progress_, (std::vector<std::string>{"stopping@2", "stopping@6", "stopped@14"}));
  EXPECT_EQ(Body(0), "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0abc1234");
}

TEST_F(Ec2WaitTest, DelayIsCappedAtMaxDelay) {
  Script({"pending", "pending", "pending", "pending", "running"});
  WaitOptions o = Options();
  o.max_delay = milliseconds(5000);
  auto r = WaitForInstanceState(ec2_, "eu-west-1", CredentialSource(), "i-0abc1234", "running", o);
  ASSERT_TRUE(r) << r.error().error;
  EXPECT_EQ(sleeps_,
            (std::vector<milliseconds>{milliseconds(2000), milliseconds(4000), milliseconds(5000),
                                       milliseconds(5000), milliseconds(5000)}));
}

TEST_F(Ec2WaitTest, TimesOutNamingInstanceTargetAndLastState) {
  Script({"stopping"});
  WaitOptions o = Options();
  o.timeout = seconds(20);
  auto r = WaitForInstanceState(ec2_, "eu-west-1", CredentialSource(), "i-0abc1234", "stopped", o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kDeadlineExceeded);
  const std::string& m = r.error().error.message;
  EXPECT_NE(m.find("i-0abc1234"), std::string::npos) << m;
  EXPECT_NE(m.find("to be stopped"), std::string::npos) << m;
  EXPECT_NE(m.find("still stopping after 20s"), std::string::npos) << m;
  // 2 + 4 + 8, then the last sleep is cut to end at the time-out.
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{milliseconds(2000), milliseconds(4000),
                                                milliseconds(8000), milliseconds(6000)}));
  EXPECT_EQ(polls_, 4u);
}

TEST_F(Ec2WaitTest, TerminatedFailsFast) {
  Script({"stopping", "terminated"});
  auto r = WaitForInstanceState(ec2_, "eu-west-1", CredentialSource(), "i-0abc1234", "running",
                                Options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().error.message.find("the instance is terminated"), std::string::npos);
  EXPECT_EQ(polls_, 2u);
}

TEST_F(Ec2WaitTest, ShuttingDownFailsFastButIsFineWhenWaitingForTerminated) {
  Script({"shutting-down", "terminated"});
  auto r = WaitForInstanceState(ec2_, "eu-west-1", CredentialSource(), "i-0abc1234", "terminated",
                                Options());
  ASSERT_TRUE(r) << r.error().error;
  EXPECT_EQ(*r, "terminated");
  polls_ = 0;
  r = WaitForInstanceState(ec2_, "eu-west-1", CredentialSource(), "i-0abc1234", "stopped",
                           Options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().error.message.find("shutting-down"), std::string::npos);
}

TEST_F(Ec2WaitTest, CredentialFailureIsReturnedAsIs) {
  Script({"stopping"});
  auto creds = []() -> ApiResult<Credentials> {
    return tl::unexpected(LocalApiError(core::Unauthenticated("session expired")));
  };
  auto r = WaitForInstanceState(ec2_, "eu-west-1", creds, "i-0abc1234", "stopped", Options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error, core::Unauthenticated("session expired"));
  EXPECT_EQ(http_.RequestCount(), 0u);
}

TEST_F(Ec2WaitTest, VanishedInstanceIsNotFound) {
  http_.SetResponder([this](const http::OutboundRequest&) {
    ++polls_;
    return core::Result<http::OutboundResponse>(
        http::testing::FakeHttpClient::Response(200, DescribeXml("")));
  });
  auto r = WaitForInstanceState(ec2_, "eu-west-1", CredentialSource(), "i-0abc1234", "stopped",
                                Options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kNotFound);
  EXPECT_NE(r.error().error.message.find("i-0abc1234"), std::string::npos);
  // The first polls may be eventual consistency; then it is gone.
  EXPECT_EQ(polls_, static_cast<size_t>(kMaxTransientPollFailures) + 1);
}

TEST_F(Ec2WaitTest, ABriefNotFoundWhileWaitingIsTolerated) {
  http_.SetResponder([this](const http::OutboundRequest&) {
    ++polls_;
    if (polls_ == 1) {
      return core::Result<http::OutboundResponse>(http::testing::FakeHttpClient::Response(
          400, Ec2ErrorXml("InvalidInstanceID.NotFound",
                           "The instance ID 'i-0abc1234' does not exist")));
    }
    return core::Result<http::OutboundResponse>(http::testing::FakeHttpClient::Response(
        200, DescribeXml(InstanceXml("i-0abc1234", polls_ == 2 ? "stopping" : "stopped"))));
  });
  auto r = WaitForInstanceState(ec2_, "eu-west-1", CredentialSource(), "i-0abc1234", "stopped",
                                Options());
  ASSERT_TRUE(r) << r.error().error;
  EXPECT_EQ(*r, "stopped");
  EXPECT_EQ(polls_, 3u);
}

TEST_F(Ec2WaitTest, BadArgumentsAreRefused) {
  WaitOptions no_sleep;
  EXPECT_EQ(WaitForInstanceState(ec2_, "", CredentialSource(), "i-0abc1234", "stopped", no_sleep)
                .error()
                .error.code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(WaitForInstanceState(ec2_, "", CredentialSource(), "web", "stopped", Options())
                .error()
                .error.code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(WaitForInstanceState(ec2_, "", CredentialSource(), "i-0abc1234", "", Options())
                .error()
                .error.code,
            core::ErrorCode::kInvalidArgument);
  auto typo = WaitForInstanceState(ec2_, "", CredentialSource(), "i-0abc1234", "stoped", Options());
  ASSERT_FALSE(typo);
  EXPECT_EQ(typo.error().error.code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(typo.error().error.message.find("unknown target state 'stoped'"), std::string::npos);
  WaitOptions backwards = Options();
  backwards.max_delay = milliseconds(1000);
  EXPECT_EQ(WaitForInstanceState(ec2_, "", CredentialSource(), "i-0abc1234", "stopped", backwards)
                .error()
                .error.code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(http_.RequestCount(), 0u);
}

// ---- SummarizeInstances ----------------------------------------------------------------

TEST(Ec2Summary, LinesEmptyAndTruncated) {
  DescribeInstancesResult r;
  EXPECT_EQ(SummarizeInstances(r), "No instances matched.");
  Ec2Instance a;
  a.id = "i-0abc1234";
  a.name = "web-1";
  a.state = "running";
  a.type = "t3.micro";
  a.private_ip = "10.0.0.5";
  a.public_ip = "203.0.113.7";
  a.availability_zone = "eu-west-1a";
  Ec2Instance b;
  b.id = "i-0abc1235";
  b.state = "stopped";
  b.type = "m5.large";
  b.availability_zone = "eu-west-1b";
  r.instances = {a, b};
  EXPECT_EQ(SummarizeInstances(r),
            "i-0abc1234 (web-1) running t3.micro 10.0.0.5 public 203.0.113.7 eu-west-1a\n"
            "i-0abc1235 stopped m5.large eu-west-1b");
  r.truncated = true;
  EXPECT_EQ(SummarizeInstances(r),
            "i-0abc1234 (web-1) running t3.micro 10.0.0.5 public 203.0.113.7 eu-west-1a\n"
            "i-0abc1235 stopped m5.large eu-west-1b\n"
            "… and more (showing first 2)");
}

}  // namespace
}  // namespace opsgate::aws
