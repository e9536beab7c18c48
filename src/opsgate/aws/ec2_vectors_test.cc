// Parses botocore's EC2 response fixtures (../shared/vectors/aws-query/botocore/
// response_parsing; env OPSGATE_VECTORS overrides) with ParseDescribeInstances /
// ParseStateChange and compares the fields opsgate extracts with botocore's expected
// parse (.json, read with Boost.JSON). Skips without the vectors, except under CI=true.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "opsgate/aws/api_client.h"
#include "opsgate/aws/ec2.h"
#include "opsgate/aws/testing/vectors.h"

namespace opsgate::aws {
namespace {

namespace json = boost::json;

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

json::object ReadJson(const std::filesystem::path& p) {
  return json::parse(testing::ReadVectorFile(p)).as_object();
}

TEST(Ec2Vectors, DescribeInstancesMatchesBotocore) {
  OPSGATE_REQUIRE_VECTORS(dir, "aws-query/botocore/response_parsing/responses");
  auto page = ParseDescribeInstances(testing::ReadVectorFile(dir / "ec2-describe-instances.xml"));
  ASSERT_TRUE(page) << page.error();
  const json::object expected = ReadJson(dir / "ec2-describe-instances.json");
  size_t i = 0;
  for (const json::value& reservation : expected.at("Reservations").as_array()) {
    for (const json::value& v : reservation.as_object().at("Instances").as_array()) {
      const json::object& want = v.as_object();
      ASSERT_LT(i, page->instances.size());
      const Ec2Instance& got = page->instances[i++];
      SCOPED_TRACE(got.id);
      EXPECT_EQ(got.id, Str(want, "InstanceId"));
      EXPECT_EQ(got.state, Str(want.at("State").as_object(), "Name"));
      EXPECT_EQ(got.type, Str(want, "InstanceType"));
      EXPECT_EQ(got.private_ip, Str(want, "PrivateIpAddress"));
      EXPECT_EQ(got.public_ip, Str(want, "PublicIpAddress"));
      EXPECT_EQ(got.launch_time, Str(want, "LaunchTime"));
      if (const json::value* p = want.if_contains("Placement")) {
        EXPECT_EQ(got.availability_zone, Str(p->as_object(), "AvailabilityZone"));
      }
      std::vector<std::pair<std::string, std::string>> tags;
      std::string name;
      if (const json::value* t = want.if_contains("Tags")) {
        for (const json::value& tag : t->as_array()) {
          tags.emplace_back(Str(tag.as_object(), "Key"), Str(tag.as_object(), "Value"));
          if (tags.back().first == "Name" && name.empty()) {
            name = tags.back().second;
          }
        }
      }
      EXPECT_EQ(got.tags, tags);
      EXPECT_EQ(got.name, name);
    }
  }
  EXPECT_EQ(i, page->instances.size());
  EXPECT_GE(i, 1u);
  EXPECT_EQ(page->next_token, Str(expected, "NextToken"));
}

void CheckStateChange(const std::filesystem::path& dir, const std::string& file,
                      const std::string& operation, const std::string& list_key) {
  SCOPED_TRACE(file);
  auto change = ParseStateChange(testing::ReadVectorFile(dir / (file + ".xml")), operation);
  ASSERT_TRUE(change) << change.error();
  const json::object expected = ReadJson(dir / (file + ".json"));
  const json::object& want = expected.at(list_key).as_array().at(0).as_object();
  EXPECT_EQ(change->instance_id, Str(want, "InstanceId"));
  EXPECT_EQ(change->previous, Str(want.at("PreviousState").as_object(), "Name"));
  EXPECT_EQ(change->current, Str(want.at("CurrentState").as_object(), "Name"));
}

TEST(Ec2Vectors, StartAndStopInstancesMatchBotocore) {
  OPSGATE_REQUIRE_VECTORS(dir, "aws-query/botocore/response_parsing/responses");
  CheckStateChange(dir, "ec2-start-instances", "StartInstances", "StartingInstances");
  CheckStateChange(dir, "ec2-stop-instances", "StopInstances", "StoppingInstances");
}

TEST(Ec2Vectors, DescribeInstancesErrorMatchesBotocore) {
  OPSGATE_REQUIRE_VECTORS(dir, "aws-query/botocore/response_parsing/errors");
  const ApiCall call = ApiCall::Query("ec2", "us-west-2", "DescribeInstances", "");
  const ApiError e = ApiErrorFromResponse(
      call, 400, testing::ReadVectorFile(dir / "ec2-describe-instances.xml"), "", {});
  const json::object expected = ReadJson(dir / "ec2-describe-instances.json");
  EXPECT_EQ(e.code, Str(expected.at("Error").as_object(), "Code"));
  EXPECT_EQ(e.aws_message, Str(expected.at("Error").as_object(), "Message"));
  EXPECT_EQ(e.request_id, Str(expected.at("ResponseMetadata").as_object(), "RequestId"));
  EXPECT_EQ(e.error.code, core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace opsgate::aws
