#include "opsgate/aws/endpoints.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "opsgate/aws/testing/fakes.h"

namespace opsgate::aws {
namespace {

TEST(EndpointsTest, DefaultsPerService) {
  const auto env = testing::EnvFrom({});
  for (const char* service : {"ec2", "sts", "autoscaling", "wafv2", "monitoring"}) {
    auto ep = ResolveEndpoint(service, "eu-west-1", env);
    ASSERT_TRUE(ep) << ep.error();
    EXPECT_EQ(ep->scheme, "https");
    EXPECT_EQ(ep->host, std::string(service) + ".eu-west-1.amazonaws.com");
    EXPECT_EQ(ep->port, 443);
    EXPECT_EQ(ep->base_path, "");
    EXPECT_EQ(ep->signing_region, "eu-west-1");
    EXPECT_EQ(ep->signing_service, service);
    EXPECT_FALSE(ep->custom);
    EXPECT_EQ(ep->Url(), "https://" + std::string(service) + ".eu-west-1.amazonaws.com");
    EXPECT_EQ(ep->HostHeader(), ep->host);
  }
  auto cn = ResolveEndpoint("sts", "cn-north-1", env);
  ASSERT_TRUE(cn);
  EXPECT_EQ(cn->host, "sts.cn-north-1.amazonaws.com.cn");
}

TEST(EndpointsTest, EnvSuffixesDifferFromSigningNames) {
  EXPECT_EQ(EndpointEnvSuffix("ec2"), "EC2");
  EXPECT_EQ(EndpointEnvSuffix("sts"), "STS");
  EXPECT_EQ(EndpointEnvSuffix("autoscaling"), "AUTO_SCALING");
  EXPECT_EQ(EndpointEnvSuffix("wafv2"), "WAFV2");
  EXPECT_EQ(EndpointEnvSuffix("monitoring"), "CLOUDWATCH");
  EXPECT_FALSE(EndpointEnvSuffix("cloudwatch"));
  auto r = ResolveEndpoint("s3", "us-east-1", testing::EnvFrom({}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
}

TEST(EndpointsTest, ServiceSpecificThenGlobalOverride) {
  const auto env =
      testing::EnvFrom({{"AWS_ENDPOINT_URL", "http://localhost:4566"},
                        {"AWS_ENDPOINT_URL_CLOUDWATCH", "https://cw.internal:8443/base/"},
                        {"AWS_ENDPOINT_URL_AUTO_SCALING", "http://[::1]:9000"}});
  auto cw = ResolveEndpoint("monitoring", "us-east-2", env);
  ASSERT_TRUE(cw) << cw.error();
  EXPECT_EQ(cw->scheme, "https");
  EXPECT_EQ(cw->host, "cw.internal");
  EXPECT_EQ(cw->port, 8443);
  EXPECT_EQ(cw->base_path, "/base");
  EXPECT_EQ(cw->signing_region, "us-east-2");
  EXPECT_EQ(cw->signing_service, "monitoring");
  EXPECT_TRUE(cw->custom);
  EXPECT_EQ(cw->HostHeader(), "cw.internal:8443");
  EXPECT_EQ(cw->Url(), "https://cw.internal:8443/base");

  auto asg = ResolveEndpoint("autoscaling", "us-east-2", env);
  ASSERT_TRUE(asg) << asg.error();
  EXPECT_EQ(asg->host, "[::1]");
  EXPECT_EQ(asg->port, 9000);

  auto ec2 = ResolveEndpoint("ec2", "us-east-2", env);
  ASSERT_TRUE(ec2) << ec2.error();
  EXPECT_EQ(ec2->scheme, "http");
  EXPECT_EQ(ec2->host, "localhost");
  EXPECT_EQ(ec2->port, 4566);
  EXPECT_EQ(ec2->signing_service, "ec2");

  // The CloudWatch variable is not read under the signing name.
  auto env2 = testing::EnvFrom({{"AWS_ENDPOINT_URL_MONITORING", "http://wrong"}});
  auto m = ResolveEndpoint("monitoring", "us-east-2", env2);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->host, "monitoring.us-east-2.amazonaws.com");
}

TEST(EndpointsTest, IgnoreConfiguredEndpointUrls) {
  auto ep = ResolveEndpoint("sts", "eu-west-1",
                            testing::EnvFrom({{"AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1"},
                                              {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "True"}}));
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->host, "sts.eu-west-1.amazonaws.com");
}

TEST(EndpointsTest, RegionPrecedence) {
  const auto env =
      testing::EnvFrom({{"AWS_REGION", "eu-central-1"}, {"AWS_DEFAULT_REGION", "us-west-2"}});
  EXPECT_EQ(*ResolveRegion("ap-south-1", env), "ap-south-1");
  EXPECT_EQ(*ResolveRegion("", env), "eu-central-1");
  EXPECT_EQ(*ResolveRegion("", testing::EnvFrom({{"AWS_DEFAULT_REGION", "us-west-2"}})),
            "us-west-2");
  auto none = ResolveEndpoint("ec2", "", testing::EnvFrom({}));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(none.error().message.find("set AWS_REGION"), std::string::npos);
  auto ep = ResolveEndpoint("ec2", "", env);
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->signing_region, "eu-central-1");
  for (const char* bad : {"EU-WEST-1", "eu west", "eu-west-1.evil.com/", "-x", "a/b"}) {
    auto r = ResolveRegion(bad, env);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  }
}

TEST(EndpointsTest, RejectsMalformedEndpointUrls) {
  for (const char* bad :
       {"localhost:4566", "ftp://x", "http://", "http://:80", "http://h:0", "http://h:65536",
        "http://h:", "http://h?x=1", "http://h#f", "http://user:pw@h", "http://h p", "http://[zz]",
        "http://[::1", "http://[::1]x", "http://h/\x01", "http://-h"}) {
    auto r = ParseEndpointUrl(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument) << bad;
  }
  auto r = ResolveEndpoint("ec2", "eu-west-1",
                           testing::EnvFrom({{"AWS_ENDPOINT_URL_EC2", "http://user:hunter2@h"}}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("AWS_ENDPOINT_URL_EC2: ", 0), 0u) << r.error().message;
  EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
}

TEST(EndpointsTest, ParsesEndpointUrls) {
  auto r = ParseEndpointUrl("HTTPS://EC2.Example.COM");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->scheme, "https");
  EXPECT_EQ(r->host, "ec2.example.com");
  EXPECT_EQ(r->port, 443);
  r = ParseEndpointUrl("http://127.0.0.1:80/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->port, 80);
  EXPECT_EQ(r->base_path, "");
  EXPECT_EQ(r->HostHeader(), "127.0.0.1");
}

}  // namespace
}  // namespace opsgate::aws
