#include "opsgate/telemetry/log.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "test/fakes/fake_clock.h"

namespace opsgate::telemetry {
namespace {

TEST(Logger, WritesOneJsonObjectPerLine) {
  testing::FakeClock clock(1531420618);
  MemorySink sink;
  Logger log(sink, clock);
  log.Info("http.request", {{"correlation_id", "c-1"}, {"status", 200}, {"tls", true}});
  const auto lines = sink.Lines();
  ASSERT_EQ(lines.size(), 1u);
  const auto obj = boost::json::parse(lines[0]).as_object();
  EXPECT_EQ(obj.at("ts").as_string(), "2018-07-12T18:36:58.000Z");
  EXPECT_EQ(obj.at("level").as_string(), "info");
  EXPECT_EQ(obj.at("event").as_string(), "http.request");
  EXPECT_EQ(obj.at("correlation_id").as_string(), "c-1");
  EXPECT_EQ(obj.at("status").as_int64(), 200);
  EXPECT_EQ(obj.at("tls").as_bool(), true);
}

TEST(Logger, SecretFieldsAreRedacted) {
  testing::FakeClock clock;
  MemorySink sink;
  Logger log(sink, clock);
  const core::Secret token("xoxb-123-secret");
  log.Warn("slack.token", {{"token", token}});
  const auto line = sink.Lines().at(0);
  EXPECT_EQ(line.find("xoxb"), std::string::npos);
  EXPECT_NE(line.find("\"token\":\"[redacted]\""), std::string::npos);
}

TEST(Logger, DropsLinesBelowLevel) {
  testing::FakeClock clock;
  MemorySink sink;
  Logger log(sink, clock, LogLevel::kWarn);
  log.Info("ignored");
  log.Error("kept");
  ASSERT_EQ(sink.Lines().size(), 1u);
  EXPECT_NE(sink.Lines()[0].find("kept"), std::string::npos);
}

TEST(Logger, HostileStringsStayValidJson) {
  testing::FakeClock clock;
  MemorySink sink;
  Logger log(sink, clock);
  log.Info("x", {{"text", std::string_view("\"}\n{\"level\":\"error\xFF")}});
  const auto obj = boost::json::parse(sink.Lines().at(0)).as_object();
  EXPECT_EQ(obj.at("level").as_string(), "info");
}

TEST(Logger, RedactorRewritesStringFieldValuesOnly) {
  testing::FakeClock clock;
  MemorySink sink;
  Logger log(sink, clock);
  log.SetRedactor([](std::string_view s) {
    std::string out(s);
    const size_t at = out.find("hunter2");
    if (at != std::string::npos) {
      out.replace(at, 7, "[redacted:password]\"}");  // hostile output stays escaped
    }
    return out;
  });
  log.Info("db.connect.hunter2", {{"dsn", "postgres://app:hunter2@db/ops"},
                                  {"hunter2", "key stays"},
                                  {"port", 5432},
                                  {"token", core::Secret("hunter2")}});
  const auto obj = boost::json::parse(sink.Lines().at(0)).as_object();
  EXPECT_EQ(obj.at("dsn").as_string(), "postgres://app:[redacted:password]\"}@db/ops");
  EXPECT_EQ(obj.at("hunter2").as_string(), "key stays");
  EXPECT_EQ(obj.at("event").as_string(), "db.connect.hunter2");
  EXPECT_EQ(obj.at("port").as_int64(), 5432);
  EXPECT_EQ(obj.at("token").as_string(), "[redacted]");

  log.SetRedactor(nullptr);
  log.Info("x", {{"dsn", "hunter2"}});
  EXPECT_NE(sink.Lines().at(1).find("hunter2"), std::string::npos);
}

TEST(ParseLogLevel, KnowsTheFourLevels) {
  EXPECT_EQ(ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_FALSE(ParseLogLevel("verbose"));
}

}  // namespace
}  // namespace opsgate::telemetry
