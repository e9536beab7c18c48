#include "opsgate/http/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace opsgate::http {
namespace {

using ::testing::ElementsAre;

Handler Ok() {
  return [](const Request&) { return Response::Text(200, "ok"); };
}

TEST(Request, HeaderLookupIgnoresCase) {
  Request r;
  r.headers = {{"content-type", "application/json"}, {"x-a", "1"}, {"x-a", "2"}};
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.Header("X-A"), "1");  // the first of repeated headers
  EXPECT_EQ(r.Header("missing"), std::nullopt);
}

TEST(Response, ErrorIsJsonWithCodeAndMessage) {
  Response r = Response::Error(413, "body_too_large", "the body exceeds 10 bytes");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.content_type, "application/json");
  auto v = boost::json::parse(r.body).as_object();
  EXPECT_EQ(v.at("error").as_string(), "body_too_large");
  EXPECT_EQ(v.at("message").as_string(), "the body exceeds 10 bytes");
}

TEST(Response, ErrorEscapesQuotesControlsAndBadUtf8) {
  Response r = Response::Error(400, "bad_request", "say \"hi\"\n\x01 \xff end");
  auto v = boost::json::parse(r.body).as_object();  // throws if the JSON is invalid
  EXPECT_EQ(v.at("message").as_string(), "say \"hi\"\n\x01 \xEF\xBF\xBD end");
}

TEST(Response, TextAndJsonSetContentType) {
  EXPECT_EQ(Response::Text(200, "x").content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(Response::Json(201, "{}").content_type, "application/json");
  EXPECT_EQ(Response::Json(201, "{}").status, 201);
}

TEST(Router, FindsExactMethodAndPath) {
  Router router;
  ASSERT_TRUE(router.Add({"GET", "/healthz", "", std::nullopt, Ok()}));
  const Route* route = router.Find("GET", "/healthz");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->name, "/healthz");  // name defaults to the path
  EXPECT_EQ(router.Find("POST", "/healthz"), nullptr);
  EXPECT_EQ(router.Find("GET", "/healthz/"), nullptr);
  EXPECT_EQ(router.Find("get", "/healthz"), nullptr);
  EXPECT_EQ(router.size(), 1u);
}

TEST(Router, RejectsDuplicateRoute) {
  Router router;
  ASSERT_TRUE(router.Add({"GET", "/a", "", std::nullopt, Ok()}));
  auto again = router.Add({"GET", "/a", "other", std::nullopt, Ok()});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, core::ErrorCode::kAlreadyExists);
}

TEST(Router, RejectsInvalidRoutes) {
  Router router;
  auto no_slash = router.Add({"GET", "a", "", std::nullopt, Ok()});
  ASSERT_FALSE(no_slash);
  EXPECT_EQ(no_slash.error().code, core::ErrorCode::kInvalidArgument);
  auto no_method = router.Add({"", "/a", "", std::nullopt, Ok()});
  ASSERT_FALSE(no_method);
  EXPECT_EQ(no_method.error().code, core::ErrorCode::kInvalidArgument);
  auto no_handler = router.Add({"GET", "/a", "", std::nullopt, nullptr});
  ASSERT_FALSE(no_handler);
  EXPECT_EQ(no_handler.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(router.size(), 0u);
}

TEST(Router, ListsMethodsForPathSorted) {
  Router router;
  ASSERT_TRUE(router.Add({"POST", "/x", "", std::nullopt, Ok()}));
  ASSERT_TRUE(router.Add({"GET", "/x", "", std::nullopt, Ok()}));
  ASSERT_TRUE(router.Add({"GET", "/y", "", std::nullopt, Ok()}));
  EXPECT_THAT(router.MethodsFor("/x"), ElementsAre("GET", "POST"));
  EXPECT_TRUE(router.MethodsFor("/z").empty());
}

TEST(Router, BodyLimitUsesRouteThenPathThenDefault) {
  Router router;
  ASSERT_TRUE(router.Add({"POST", "/big", "", size_t{1 << 20}, Ok()}));
  ASSERT_TRUE(router.Add({"GET", "/big", "", std::nullopt, Ok()}));
  ASSERT_TRUE(router.Add({"POST", "/small", "", size_t{16}, Ok()}));
  EXPECT_EQ(router.BodyLimitFor("POST", "/big", 100), size_t{1 << 20});
  EXPECT_EQ(router.BodyLimitFor("GET", "/big", 100), 100u);
  EXPECT_EQ(router.BodyLimitFor("PUT", "/big", 100), size_t{1 << 20});  // largest on the path
  EXPECT_EQ(router.BodyLimitFor("POST", "/small", 100), 16u);
  EXPECT_EQ(router.BodyLimitFor("POST", "/unknown", 100), 100u);
}

TEST(Router, NeedsExactlyOneKindOfHandler) {
  Router router;
  Route neither{"GET", "/x", "x", std::nullopt, nullptr, nullptr};
  auto r = router.Add(neither);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  Route both{"GET", "/x", "x", std::nullopt, [](const Request&) { return Response::Text(200, ""); },
             [](const Request&, Responder respond) { respond(Response::Text(200, "")); }};
  EXPECT_FALSE(router.Add(both).has_value());
  Route async_only{"GET", "/x", "x", std::nullopt, nullptr,
                   [](const Request&, Responder respond) { respond(Response::Text(200, "")); }};
  EXPECT_TRUE(router.Add(async_only).has_value());
}

}  // namespace
}  // namespace opsgate::http
