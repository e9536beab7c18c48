// File: opsgate/aws/wafv2_test.cc
#include "opsgate/aws/wafv2.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <map>
#include <string>
#include <vector>

#include "opsgate/aws/query.h"
#include "opsgate/aws/testing/fakes.h"
#include "opsgate/http/client/fake_http_client.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::aws {
namespace {

constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kArn =
    "arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/blocked-ips/"
    "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111";
constexpr std::string_view kId = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111";

Credentials WafCreds() { return testing::StaticCredentials(kSecret); }

IpSetRef Ref(std::string scope = "REGIONAL") { return {"blocked-ips", std::string(kId), scope}; }

std::string GetAnswer(const std::vector<std::string>& addresses, std::string_view lock,
                      std::string_view version = "IPV4") {
  boost::json::array list;
  for (const auto& a : addresses) {
    list.emplace_back(a);
  }
  boost::json::object set;
  set["Name"] = "blocked-ips";
  set["Id"] = kId;
  set["ARN"] = kArn;
  set["Description"] = "blocked by opsgate";
  set["IPAddressVersion"] = version;
  set["Addresses"] = std::move(list);
  boost::json::object doc;
  doc["IPSet"] = std::move(set);
  doc["LockToken"] = lock;
  return boost::json::serialize(doc);
}

std::string LockConflict() {
  return R"({"__type":"WAFOptimisticLockException","Message":"AWS WAF couldn't save your )"
         R"(changes because someone changed the resource after you started to edit it. )"
         R"(Reapply your changes."})";
}

class Wafv2Test : public ::testing::Test {
 protected:
  Wafv2Test() : api_(http_, testing::EnvFrom({}), clock_, Options()), waf_(api_) {}

  static ApiClient::Options Options() {
    ApiClient::Options o;
    o.sleep = [](std::chrono::milliseconds) {};
    o.random = [] { return 0.5; };
    return o;
  }

  // Records each credentials request as "operation arn".
  WafCredentialsFor Creds() {
    return [this](std::string_view op, std::string_view arn) -> ApiResult<Credentials> {
      cred_calls_.push_back(std::string(op) + " " + std::string(arn));
      return WafCreds();
    };
  }

  std::vector<std::string> Targets() const {
    std::vector<std::string> out;
    for (const auto& r : http_.Requests()) {
      out.push_back(std::string(r.Header("X-Amz-Target").value_or("")));
    }
    return out;
  }

  opsgate::testing::FakeClock clock_{1'700'000'000};  // 2023-11-14T22:13:20Z
  http::testing::FakeHttpClient http_;
  ApiClient api_;
  Wafv2Client waf_;
  std::vector<std::string> cred_calls_;
};

TEST_F(Wafv2Test, GetIPSetRequestAndParse) {
  http_.PushResponse(200, GetAnswer({"192.0.2.44/32", "203.0.113.0/24"}, "lock-1"));
  auto r = waf_.GetIPSet("eu-west-1", WafCreds(), Ref());
  ASSERT_TRUE(r) << r.error().error.message;
  ASSERT_EQ(http_.RequestCount(), 1u);
  const auto req = http_.Requests()[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "https://wafv2.eu-west-1.amazonaws.com/");
  EXPECT_EQ(req.Header("X-Amz-Target"), "AWSWAF_20190729.GetIPSet");
  EXPECT_EQ(req.Header("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(req.body,
            R"({"Name":"blocked-ips","Scope":"REGIONAL","Id":")" + std::string(kId) + R"("})");
  auto auth = req.Header("Authorization");
  ASSERT_TRUE(auth);
  EXPECT_NE(auth->find("Credential=AKIDEXAMPLE/20231114/eu-west-1/wafv2/aws4_request"),
            std::string::npos)
      << *auth;

  EXPECT_EQ(r->name, "blocked-ips");
  EXPECT_EQ(r->id, kId);
  EXPECT_EQ(r->arn, kArn);
  EXPECT_EQ(r->description, "blocked by opsgate");
  EXPECT_EQ(r->ip_address_version, "IPV4");
  EXPECT_EQ(r->addresses, (std::vector<std::string>{"192.0.2.44/32", "203.0.113.0/24"}));
  EXPECT_EQ(r->lock_token, "lock-1");
}

TEST_F(Wafv2Test, ReadsAreRetriedAfterA5xxButUpdatesAreNot) {
  // GetIPSet changes nothing: a 503 is retried like any read.
  http_.PushResponse(503, R"({"__type":"WAFServiceUnavailable","Message":"try later"})");
  http_.PushResponse(200, GetAnswer({"192.0.2.44/32"}, "lock-1"));
  auto got = waf_.GetIPSet("eu-west-1", WafCreds(), Ref());
  ASSERT_TRUE(got) << got.error().error.message;
  EXPECT_EQ(http_.RequestCount(), 2u);
  // UpdateIPSet may have been applied before the 503: not repeated.
  http_.PushResponse(503, R"({"__type":"WAFServiceUnavailable","Message":"try later"})");
  auto updated = waf_.UpdateIPSet("eu-west-1", WafCreds(), Ref(), {"192.0.2.44/32"}, "lock-1", "");
  ASSERT_FALSE(updated);
  EXPECT_EQ(http_.RequestCount(), 3u);
}

TEST_F(Wafv2Test, CloudFrontScopeGoesToUsEast1) {
  http_.PushResponse(200, GetAnswer({}, "lock-1"));
  auto r = waf_.GetIPSet("eu-west-1", WafCreds(), Ref("CLOUDFRONT"));
  ASSERT_TRUE(r) << r.error().error.message;
  const auto req = http_.Requests()[0];
  EXPECT_EQ(req.url, "https://wafv2.us-east-1.amazonaws.com/");
  EXPECT_NE(req.Header("Authorization")->find("/us-east-1/wafv2/aws4_request"), std::string::npos);
  EXPECT_NE(req.body.find(R"("Scope":"CLOUDFRONT")"), std::string::npos);
  EXPECT_TRUE(r->addresses.empty());
}

TEST_F(Wafv2Test, BadScopeIsRejectedLocally) {
  auto r = waf_.GetIPSet("eu-west-1", WafCreds(), Ref("GLOBAL"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(http_.RequestCount(), 0u);
}

TEST_F(Wafv2Test, UpdateIPSetRequest) {
  http_.PushResponse(200, R"({"NextLockToken":"lock-2"})");
  auto r = waf_.UpdateIPSet("eu-west-1", WafCreds(), Ref(), {"192.0.2.44/32", "203.0.113.9/32"},
                            "lock-1", "blocked by opsgate");
  ASSERT_TRUE(r) << r.error().error.message;
  EXPECT_EQ(*r, "lock-2");
  const auto req = http_.Requests()[0];
  EXPECT_EQ(req.Header("X-Amz-Target"), "AWSWAF_20190729.UpdateIPSet");
  EXPECT_EQ(req.body,
            R"({"Name":"blocked-ips","Scope":"REGIONAL","Id":")" + std::string(kId) +
                R"(","Description":"blocked by opsgate",)"
                R"("Addresses":["192.0.2.44/32","203.0.113.9/32"],"LockToken":"lock-1"})");
}

TEST_F(Wafv2Test, UpdateIPSetOmitsEmptyDescriptionAndSendsEmptyList) {
  http_.PushResponse(200, R"({"NextLockToken":"lock-2"})");
  auto r = waf_.UpdateIPSet("eu-west-1", WafCreds(), Ref(), {}, "lock-1", "");
  ASSERT_TRUE(r) << r.error().error.message;
  EXPECT_EQ(http_.Requests()[0].body, R"({"Name":"blocked-ips","Scope":"REGIONAL","Id":")" +
                                          std::string(kId) +
                                          R"(","Addresses":[],"LockToken":"lock-1"})");
}

TEST_F(Wafv2Test, UnreadableAnswersAreDataLoss) {
  for (std::string body : {std::string("not json"), std::string(R"({"LockToken":"x"})"),
                           std::string(R"({"IPSet":{"IPAddressVersion":"IPV4","Addresses":"x"},)"
                                       R"("LockToken":"x"})"),
                           std::string(R"({"IPSet":{"IPAddressVersion":"IPV4"}})"),
                           std::string(R"([[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]])")}) {
    http_.PushResponse(200, body);
    auto r = waf_.GetIPSet("eu-west-1", WafCreds(), Ref());
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().error.code, core::ErrorCode::kDataLoss) << body;
  }
  http_.PushResponse(200, "{}");
  auto u = waf_.UpdateIPSet("eu-west-1", WafCreds(), Ref(), {}, "lock-1", "");
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().error.code, core::ErrorCode::kDataLoss);
}

TEST_F(Wafv2Test, AddSendsGetThenUpdateWithLockToken) {
  http_.PushResponse(200, GetAnswer({"192.0.2.44/32"}, "lock-1"));
  http_.PushResponse(200, R"({"NextLockToken":"lock-2"})");
  auto r = ChangeIpSet(waf_, "eu-west-1", Creds(), Ref(), "203.0.113.9", IpSetChange::kAdd);
  ASSERT_TRUE(r) << r.error().error.message;
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(r->cidr, "203.0.113.9/32");
  EXPECT_EQ(r->size_before, 1u);
  EXPECT_EQ(r->size_after, 2u);
  EXPECT_EQ(r->attempts, 1);
  EXPECT_EQ(r->ip_set_arn, kArn);
  EXPECT_EQ(Targets(),
            (std::vector<std::string>{"AWSWAF_20190729.GetIPSet", "AWSWAF_20190729.UpdateIPSet"}));
  EXPECT_EQ(http_.Requests()[1].body,
            R"({"Name":"blocked-ips","Scope":"REGIONAL","Id":")" + std::string(kId) +
                R"(","Description":"blocked by opsgate",)"
                R"("Addresses":["192.0.2.44/32","203.0.113.9/32"],"LockToken":"lock-1"})");
  EXPECT_EQ(cred_calls_,
            (std::vector<std::string>{"GetIPSet ", "UpdateIPSet " + std::string(kArn)}));
  EXPECT_EQ(DescribeIpSetChange(*r, IpSetChange::kAdd, "blocked-ips"),
            "Blocked 203.0.113.9/32 in WAF IP set blocked-ips (1 → 2 addresses).");
}

TEST_F(Wafv2Test, RemoveDropsEveryEquivalentEntry) {
  // Another writer stored the address in a non-canonical form, and twice.
  http_.PushResponse(200, GetAnswer({"2001:DB8::1/128", "2001:db8::2/128", "2001:db8:0::1/128"},
                                    "lock-1", "IPV6"));
  http_.PushResponse(200, R"({"NextLockToken":"lock-2"})");
  auto r = ChangeIpSet(waf_, "eu-west-1", Creds(), Ref(), "2001:db8::1", IpSetChange::kRemove);
  ASSERT_TRUE(r) << r.error().error.message;
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(r->cidr, "2001:db8::1/128");
  EXPECT_EQ(r->size_before, 3u);
  EXPECT_EQ(r->size_after, 1u);
  EXPECT_NE(http_.Requests()[1].body.find(R"("Addresses":["2001:db8::2/128"])"), std::string::npos)
      << http_.Requests()[1].body;
  EXPECT_EQ(DescribeIpSetChange(*r, IpSetChange::kRemove, "blocked-ips"),
            "Unblocked 2001:db8::1/128 in WAF IP set blocked-ips (3 → 1 address).");
}

TEST_F(Wafv2Test, AddAlreadyPresentWritesNothing) {
  http_.PushResponse(200, GetAnswer({"203.0.113.9/32"}, "lock-1"));
  auto r = ChangeIpSet(waf_, "eu-west-1", Creds(), Ref(), " 203.0.113.9/32 ", IpSetChange::kAdd);
  ASSERT_TRUE(r) << r.error().error.message;
  EXPECT_FALSE(r->changed);
  EXPECT_EQ(r->size_before, 1u);
  EXPECT_EQ(r->size_after, 1u);
  EXPECT_EQ(http_.RequestCount(), 1u);
  EXPECT_EQ(cred_calls_.size(), 1u);
  EXPECT_EQ(DescribeIpSetChange(*r, IpSetChange::kAdd, "blocked-ips"),
            "203.0.113.9/32 was already blocked in blocked-ips; nothing changed.");
}

TEST_F(Wafv2Test, RemoveNotPresentWritesNothing) {
  http_.PushResponse(200, GetAnswer({"192.0.2.44/32"}, "lock-1"));
  auto r = ChangeIpSet(waf_, "eu-west-1", Creds(), Ref(), "203.0.113.9", IpSetChange::kRemove);
  ASSERT_TRUE(r) << r.error().error.message;
  EXPECT_FALSE(r->changed);
  EXPECT_EQ(http_.RequestCount(), 1u);
  EXPECT_EQ(DescribeIpSetChange(*r, IpSetChange::kRemove, "blocked-ips"),
            "203.0.113.9/32 was not blocked in blocked-ips; nothing changed.");
}

TEST_F(Wafv2Test, OptimisticLockConflictRereadsAndRetries) {
  http_.PushResponse(200, GetAnswer({"192.0.2.44/32"}, "lock-1"));
  http_.PushResponse(400, LockConflict());
  // Meanwhile someone else added 198.51.100.7.
  http_.PushResponse(200, GetAnswer({"192.0.2.44/32", "198.51.100.7/32"}, "lock-2"));
  http_.PushResponse(200, R"({"NextLockToken":"lock-3"})");
  auto r = ChangeIpSet(waf_, "eu-west-1", Creds(), Ref(), "203.0.113.9", IpSetChange::kAdd);
  ASSERT_TRUE(r) << r.error().error.message;
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(r->size_before, 2u);
  EXPECT_EQ(r->size_after, 3u);
  ASSERT_EQ(http_.RequestCount(), 4u);  // the 400 was not retried by ApiClient itself
  EXPECT_NE(http_.Requests()[3].body.find(
                R"("Addresses":["192.0.2.44/32","198.51.100.7/32","203.0.113.9/32"],)"
                R"("LockToken":"lock-2")"),
            std::string::npos)
      << http_.Requests()[3].body;
  EXPECT_EQ(cred_calls_, (std::vector<std::string>{"GetIPSet ", "UpdateIPSet " + std::string(kArn),
                                                   "GetIPSet " + std::string(kArn),
                                                   "UpdateIPSet " + std::string(kArn)}));
}

TEST_F(Wafv2Test, OptimisticLockJsonErrorParsesBothMessageSpellings) {
  for (std::string body :
       {LockConflict(),
        std::string(
            R"({"__type":"com.amazon.aws.waf#WAFOptimisticLockException","message":"m"})")}) {
    QueryError e = ParseJsonError(400, body);
    EXPECT_EQ(e.code, "WAFOptimisticLockException");
    EXPECT_FALSE(e.message.empty());
    EXPECT_FALSE(e.retryable);
  }
}

TEST_F(Wafv2Test, GivesUpWhenTheSetKeepsChanging) {
  for (int i = 0; i < 2; ++i) {
    http_.PushResponse(200, GetAnswer({}, "lock-" + std::to_string(i)));
    http_.PushResponse(400, LockConflict());
  }
  auto r = ChangeIpSet(waf_, "eu-west-1", Creds(), Ref(), "203.0.113.9", IpSetChange::kAdd, 2);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().code, "WAFOptimisticLockException");
  EXPECT_EQ(r.error().attempts, 2);
  EXPECT_NE(r.error().error.message.find("kept changing"), std::string::npos)
      << r.error().error.message;
  EXPECT_EQ(http_.RequestCount(), 4u);
}

TEST_F(Wafv2Test, VersionMismatchNamesBoth) {
  http_.PushResponse(200, GetAnswer({}, "lock-1", "IPV6"));
  auto r = ChangeIpSet(waf_, "eu-west-1", Creds(), Ref(), "203.0.113.9", IpSetChange::kAdd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().error.message.find("IPV4"), std::string::npos) << r.error().error.message;
  EXPECT_NE(r.error().error.message.find("IPV6"), std::string::npos) << r.error().error.message;
  EXPECT_EQ(http_.RequestCount(), 1u);
}

TEST_F(Wafv2Test, FullSetIsResourceExhausted) {
  std::vector<std::string> full;
  for (size_t i = 0; i < kWafMaxIpSetAddresses; ++i) {
    full.push_back("10." + std::to_string(i / 256 / 256) + "." + std::to_string(i / 256 % 256) +
                   "." + std::to_string(i % 256) + "/32");
  }
  http_.PushResponse(200, GetAnswer(full, "lock-1"));
  auto r = ChangeIpSet(waf_, "eu-west-1", Creds(), Ref(), "203.0.113.9", IpSetChange::kAdd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kResourceExhausted);
  EXPECT_EQ(http_.RequestCount(), 1u);
}

TEST_F(Wafv2Test, NonexistentItemIsNotFound) {
  http_.PushResponse(400, R"({"__type":"WAFNonexistentItemException","Message":"AWS WAF couldn't )"
                          R"(perform the operation because your resource doesn't exist."})");
  auto r = ChangeIpSet(waf_, "eu-west-1", Creds(), Ref(), "203.0.113.9", IpSetChange::kAdd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kNotFound);
  EXPECT_EQ(r.error().code, "WAFNonexistentItemException");
  EXPECT_NE(r.error().error.message.find("blocked-ips"), std::string::npos)
      << r.error().error.message;
  EXPECT_EQ(http_.RequestCount(), 1u);
}

TEST_F(Wafv2Test, CredentialsErrorIsReturned) {
  auto creds = [](std::string_view, std::string_view) -> ApiResult<Credentials> {
    return tl::unexpected(LocalApiError(core::PermissionDenied("no session for GetIPSet")));
  };
  auto r = ChangeIpSet(waf_, "eu-west-1", creds, Ref(), "203.0.113.9", IpSetChange::kAdd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kPermissionDenied);
  EXPECT_EQ(http_.RequestCount(), 0u);
}

TEST_F(Wafv2Test, BadAddressSendsNothing) {
  auto r = ChangeIpSet(waf_, "eu-west-1", Creds(), Ref(), "203.0.113.9/24", IpSetChange::kAdd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(http_.RequestCount(), 0u);
  EXPECT_TRUE(cred_calls_.empty());
}

TEST(Wafv2NormalizeTest, Valid) {
  using P = std::pair<std::string, std::string>;
  const std::vector<std::pair<std::string, P>> cases = {
      {"203.0.113.9", {"203.0.113.9/32", "IPV4"}},
      {"203.0.113.9/32", {"203.0.113.9/32", "IPV4"}},
      {"203.0.113.0/24", {"203.0.113.0/24", "IPV4"}},
      {"128.0.0.0/1", {"128.0.0.0/1", "IPV4"}},
      {"10.0.0.0/8", {"10.0.0.0/8", "IPV4"}},
      {"2001:db8::1", {"2001:db8::1/128", "IPV6"}},
      {"2001:DB8:0:0:0:0:0:1", {"2001:db8::1/128", "IPV6"}},
      {"2001:0db8:0000::/48", {"2001:db8::/48", "IPV6"}},
      {"::1", {"::1/128", "IPV6"}},
      {"8000::/1", {"8000::/1", "IPV6"}},
      {"\t192.0.2.1 ", {"192.0.2.1/32", "IPV4"}},
  };
  for (const auto& [in, want] : cases) {
    auto r = NormalizeWafAddress(in);
    ASSERT_TRUE(r) << in << ": " << r.error().message;
    EXPECT_EQ(*r, want) << in;
  }
}

TEST(Wafv2NormalizeTest, HostBitsSet) {
  auto r = NormalizeWafAddress("203.0.113.9/24");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("host bits"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("203.0.113.0/24"), std::string::npos) << r.error().message;
  auto r6 = NormalizeWafAddress("2001:db8::1/64");
  ASSERT_FALSE(r6);
  EXPECT_NE(r6.error().message.find("2001:db8::/64"), std::string::npos) << r6.error().message;
}

TEST(Wafv2NormalizeTest, BadPrefix) {
  for (std::string in : {"203.0.113.9/0", "203.0.113.9/33", "0.0.0.0/0", "2001:db8::/0",
                         "2001:db8::/129", "203.0.113.9/", "203.0.113.9/+8", "203.0.113.9/-1",
                         "203.0.113.9/3x", "203.0.113.9/0032", "10.0.0.0/8/8"}) {
    auto r = NormalizeWafAddress(in);
    ASSERT_FALSE(r) << in;
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument) << in;
  }
}

TEST(Wafv2NormalizeTest, Garbage) {
  for (std::string in :
       std::vector<std::string>{"", "   ", "example.com", "203.0.113", "203.0.113.256", "1.2.3.4.5",
                                "0x7f.0.0.1", "fe80::1%eth0", "2001:db8:::1", "203.0.113.9 x",
                                std::string(200, '1'), std::string("1.2.3.4\0", 8)}) {
    auto r = NormalizeWafAddress(in);
    ASSERT_FALSE(r) << in;
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument) << in;
    EXPECT_LT(r.error().message.size(), 200u);
  }
}

}  // namespace
}  // namespace opsgate::aws
