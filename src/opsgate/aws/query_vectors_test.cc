// Runs botocore's protocol test cases for the "query" and "ec2" protocols from
// ../shared/vectors/aws-query/botocore/protocols (env OPSGATE_VECTORS overrides):
//   - input:  params + shapes -> QueryParams (a generic shape walker here) -> EncodeQuery,
//             compared byte for byte with the expected body;
//   - output: the response XML through ParseXml, read generically by shape, compared with
//             the expected result; error cases through ParseQueryError (code, message).
// Cases needing features opsgate does not implement (idempotency token autofill, request
// compression, http-date timestamps) are counted and skipped, with the reason printed.
// Without the vectors the suite skips, except under CI=true where it fails.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <iostream>
#include <map>
#include <string>

#include "opsgate/aws/credentials.h"
#include "opsgate/aws/query.h"
#include "opsgate/aws/testing/vectors.h"
#include "opsgate/aws/xml.h"
#include "opsgate/crypto/hash.h"

namespace opsgate::aws {
namespace {

namespace json = boost::json;

struct Skip {
  std::string reason;
};

std::string Str(const json::value& v) { return std::string(v.as_string()); }

const json::object& Shape(const json::object& shapes, const json::object& ref) {
  return shapes.at(ref.at("shape").as_string()).as_object();
}

std::string Opt(const json::object& o, std::string_view key, std::string def = "") {
  if (auto* v = o.if_contains(key); v != nullptr && v->is_string()) {
    return Str(*v);
  }
  return def;
}

bool Flag(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

std::string Capitalize(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') {
    s[0] = static_cast<char>(s[0] - 'a' + 'A');
  }
  return s;
}

std::string FormatDouble(double d) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

double Number(const json::value& v) {
  if (v.is_int64()) {
    return static_cast<double>(v.as_int64());
  }
  if (v.is_uint64()) {
    return static_cast<double>(v.as_uint64());
  }
  return v.as_double();
}

// ---- input ---------------------------------------------------------------------------

QueryValue ToQueryValue(QueryProtocol protocol, const json::object& shapes, const json::object& ref,
                        const json::value& v);

std::string MemberQueryName(QueryProtocol protocol, const std::string& name,
                            const json::object& ref) {
  if (protocol == QueryProtocol::kEc2) {
    if (auto q = Opt(ref, "queryName"); !q.empty()) {
      return q;
    }
    return Capitalize(Opt(ref, "locationName", name));
  }
  return Opt(ref, "locationName", name);
}

QueryValue StructureValue(QueryProtocol protocol, const json::object& shapes,
                          const json::object& shape, const json::object& params) {
  std::vector<QueryMember> members;
  for (const auto& [name, v] : params) {
    const json::object& ref = shape.at("members").as_object().at(name).as_object();
    members.push_back({MemberQueryName(protocol, std::string(name), ref),
                       ToQueryValue(protocol, shapes, ref, v)});
  }
  return QueryValue::Structure(std::move(members));
}

QueryValue ToQueryValue(QueryProtocol protocol, const json::object& shapes, const json::object& ref,
                        const json::value& v) {
  const json::object& shape = Shape(shapes, ref);
  const std::string type = Str(shape.at("type"));
  if (type == "structure") {
    return StructureValue(protocol, shapes, shape, v.as_object());
  }
  if (type == "list") {
    const json::object& member = shape.at("member").as_object();
    std::vector<QueryValue> items;
    for (const auto& item : v.as_array()) {
      items.push_back(ToQueryValue(protocol, shapes, member, item));
    }
    QueryValue list = QueryValue::List(std::move(items));
    list.flattened = Flag(ref, "flattened") || Flag(shape, "flattened");
    list.member_name = Opt(member, "locationName", "member");
    return list;
  }
  if (type == "map") {
    const json::object& key = shape.at("key").as_object();
    const json::object& value = shape.at("value").as_object();
    std::vector<QueryMember> entries;
    for (const auto& [k, item] : v.as_object()) {
      entries.push_back({std::string(k), ToQueryValue(protocol, shapes, value, item)});
    }
    QueryValue map = QueryValue::Map(std::move(entries));
    map.flattened = Flag(ref, "flattened") || Flag(shape, "flattened");
    map.key_name = Opt(key, "locationName", "key");
    map.value_name = Opt(value, "locationName", "value");
    return map;
  }
  if (type == "boolean") {
    return QueryValue::Bool(v.as_bool());
  }
  if (type == "integer" || type == "long") {
    return QueryValue::Int(v.as_int64());
  }
  if (type == "float" || type == "double") {
    return v.is_string() ? QueryValue::String(Str(v)) : QueryValue::String(FormatDouble(Number(v)));
  }
  if (type == "timestamp") {
    const std::string format = Opt(ref, "timestampFormat", Opt(shape, "timestampFormat"));
    const auto secs = static_cast<int64_t>(Number(v));
    if (format == "unixTimestamp") {
      return QueryValue::Int(secs);
    }
    if (!format.empty() && format != "iso8601") {
      throw Skip{"timestamp format " + format};
    }
    return QueryValue::Timestamp(std::chrono::system_clock::time_point(std::chrono::seconds(secs)));
  }
  if (type == "blob") {
    return QueryValue::String(crypto::Base64Encode(Str(v)));
  }
  return QueryValue::String(Str(v));  // string, enum
}

struct Counts {
  int ran = 0;
  int skipped = 0;
  std::map<std::string, int> reasons;
};

void RunInput(const std::filesystem::path& file, QueryProtocol protocol, Counts& counts) {
  const json::value suites = json::parse(testing::ReadVectorFile(file));
  for (const auto& suite_v : suites.as_array()) {
    const json::object& suite = suite_v.as_object();
    const json::object& shapes = suite.at("shapes").as_object();
    const std::string version = Str(suite.at("metadata").at("apiVersion"));
    for (const auto& case_v : suite.at("cases").as_array()) {
      const json::object& c = case_v.as_object();
      const std::string id = Str(c.at("id"));
      const json::object& given = c.at("given").as_object();
      try {
        if (given.contains("requestcompression") || given.contains("requestCompression")) {
          throw Skip{"request compression (gzip)"};
        }
        QueryParams params;
        params.protocol = protocol;
        if (auto* input = given.if_contains("input")) {
          const json::object& shape = Shape(shapes, input->as_object());
          for (const auto& [name, ref] : shape.at("members").as_object()) {
            if (Flag(ref.as_object(), "idempotencyToken") &&
                !c.at("params").as_object().contains(name)) {
              throw Skip{"idempotency token autofill"};
            }
          }
          params.members =
              StructureValue(protocol, shapes, shape, c.at("params").as_object()).members;
        }
        const std::string want = Str(c.at("serialized").at("body"));
        EXPECT_EQ(EncodeQuery(Str(given.at("name")), version, params), want) << id;
        ++counts.ran;
      } catch (const Skip& s) {
        ++counts.skipped;
        ++counts.reasons[s.reason];
      }
    }
  }
}

// ---- output --------------------------------------------------------------------------

json::value FromXml(const json::object& shapes, const json::object& ref, const XmlElement& el);

json::object StructureFromXml(const json::object& shapes, const json::object& shape,
                              const XmlElement& el) {
  json::object out;
  for (const auto& [name, ref_v] : shape.at("members").as_object()) {
    const json::object& ref = ref_v.as_object();
    const json::object& target = Shape(shapes, ref);
    const std::string xml_name = Opt(ref, "locationName", std::string(name));
    const std::string type = Str(target.at("type"));
    const bool flattened = Flag(ref, "flattened") || Flag(target, "flattened");
    if (flattened && type == "list") {
      auto items = el.Children(xml_name);
      if (!items.empty()) {
        json::array arr;
        for (const XmlElement* item : items) {
          arr.push_back(FromXml(shapes, target.at("member").as_object(), *item));
        }
        out[name] = std::move(arr);
      }
      continue;
    }
    if (flattened && type == "map") {
      auto entries = el.Children(xml_name);
      if (!entries.empty()) {
        json::object m;
        for (const XmlElement* e : entries) {
          m[e->ChildText(Opt(target.at("key").as_object(), "locationName", "key"))] =
              FromXml(shapes, target.at("value").as_object(),
                      *e->Child(Opt(target.at("value").as_object(), "locationName", "value")));
        }
        out[name] = std::move(m);
      }
      continue;
    }
    if (const XmlElement* child = el.Child(xml_name)) {
      out[name] = FromXml(shapes, ref, *child);
    }
  }
  return out;
}

json::value FromXml(const json::object& shapes, const json::object& ref, const XmlElement& el) {
  const json::object& shape = Shape(shapes, ref);
  const std::string type = Str(shape.at("type"));
  const std::string& text = el.text;
  if (type == "structure") {
    return StructureFromXml(shapes, shape, el);
  }
  if (type == "list") {
    const json::object& member = shape.at("member").as_object();
    json::array arr;
    for (const XmlElement* item : el.Children(Opt(member, "locationName", "member"))) {
      arr.push_back(FromXml(shapes, member, *item));
    }
    return arr;
  }
  if (type == "map") {
    const std::string key_name = Opt(shape.at("key").as_object(), "locationName", "key");
    const std::string value_name = Opt(shape.at("value").as_object(), "locationName", "value");
    json::object m;
    for (const XmlElement* e : el.Children("entry")) {
      m[e->ChildText(key_name)] =
          FromXml(shapes, shape.at("value").as_object(), *e->Child(value_name));
    }
    return m;
  }
  if (type == "boolean") {
    return text == "true";
  }
  if (type == "integer" || type == "long") {
    return std::stoll(text);
  }
  if (type == "float" || type == "double") {
    if (text == "NaN" || text == "Infinity" || text == "-Infinity") {
      return json::string(text);
    }
    return std::stod(text);
  }
  if (type == "timestamp") {
    if (!text.empty() && text.find_first_not_of("0123456789.") == std::string::npos) {
      return std::stod(text);
    }
    // yyyy-mm-ddThh:mm:ss[.fff](Z|+hh:mm|-hh:mm); http-date is not used by Query APIs.
    auto t = text.size() >= 20 ? ParseIso8601Utc(text.substr(0, 19) + "Z") : std::nullopt;
    if (!t) {
      throw Skip{"http-date timestamp (not used by Query/EC2 APIs)"};
    }
    double secs = std::chrono::duration<double>(t->time_since_epoch()).count();
    size_t pos = 19;
    if (text[pos] == '.') {
      const size_t end = text.find_first_not_of("0123456789", pos + 1);
      secs += std::stod("0" + text.substr(pos, end - pos));
      pos = end;
    }
    if (pos < text.size() && (text[pos] == '+' || text[pos] == '-') && text.size() >= pos + 6) {
      const int offset =
          std::stoi(text.substr(pos + 1, 2)) * 3600 + std::stoi(text.substr(pos + 4, 2)) * 60;
      secs += text[pos] == '+' ? -offset : offset;
    }
    return secs;
  }
  if (type == "blob") {
    auto decoded = crypto::Base64Decode(text);
    return decoded ? json::string(*decoded) : json::string("<bad base64>");
  }
  return json::string(text);
}

bool Same(const json::value& a, const json::value& b) {
  if ((a.is_number()) && (b.is_number())) {
    return std::fabs(Number(a) - Number(b)) < 1e-3;
  }
  if (a.is_object() && b.is_object()) {
    if (a.as_object().size() != b.as_object().size()) {
      return false;
    }
    for (const auto& [k, v] : a.as_object()) {
      auto* other = b.as_object().if_contains(k);
      if (other == nullptr || !Same(v, *other)) {
        return false;
      }
    }
    return true;
  }
  if (a.is_array() && b.is_array()) {
    if (a.as_array().size() != b.as_array().size()) {
      return false;
    }
    for (size_t i = 0; i < a.as_array().size(); ++i) {
      if (!Same(a.as_array()[i], b.as_array()[i])) {
        return false;
      }
    }
    return true;
  }
  return a == b;
}

void RunOutput(const std::filesystem::path& file, QueryProtocol protocol, Counts& counts) {
  const json::value suites = json::parse(testing::ReadVectorFile(file));
  for (const auto& suite_v : suites.as_array()) {
    const json::object& suite = suite_v.as_object();
    const json::object& shapes = suite.at("shapes").as_object();
    for (const auto& case_v : suite.at("cases").as_array()) {
      const json::object& c = case_v.as_object();
      const std::string id = Str(c.at("id"));
      const json::object& given = c.at("given").as_object();
      const json::object& response = c.at("response").as_object();
      const std::string body = Opt(response, "body");
      const int status = static_cast<int>(response.at("status_code").as_int64());
      try {
        if (c.contains("errorCode")) {
          QueryError e = ParseQueryError(status, body);
          EXPECT_EQ(e.code, Str(c.at("errorCode"))) << id;
          if (c.contains("errorMessage")) {
            EXPECT_EQ(e.message, Str(c.at("errorMessage"))) << id;
          }
          EXPECT_EQ(e.http_status, status) << id;
          ++counts.ran;
          continue;
        }
        json::value got = json::object();
        if (auto* output = given.if_contains("output"); output != nullptr && !body.empty()) {
          auto doc = ParseXml(body);
          ASSERT_TRUE(doc) << id << ": " << doc.error().message;
          const XmlElement* root = &*doc;
          if (protocol == QueryProtocol::kQuery) {
            root = doc->Child(Str(given.at("name")) + "Result");
          }
          if (root != nullptr) {
            got = StructureFromXml(shapes, Shape(shapes, output->as_object()), *root);
          }
        }
        EXPECT_TRUE(Same(got, c.at("result"))) << id << ": got " << json::serialize(got)
                                               << ", want " << json::serialize(c.at("result"));
        ++counts.ran;
      } catch (const Skip& s) {
        ++counts.skipped;
        ++counts.reasons[s.reason];
      }
    }
  }
}

void Report(std::string_view what, const Counts& counts) {
  std::cout << "[botocore " << what << "] ran " << counts.ran << ", skipped " << counts.skipped
            << "\n";
  for (const auto& [reason, n] : counts.reasons) {
    std::cout << "  skipped " << n << ": " << reason << "\n";
  }
}

TEST(QueryVectorsTest, BotocoreInputQuery) {
  OPSGATE_REQUIRE_VECTORS(dir, "aws-query/botocore/protocols");
  Counts counts;
  RunInput(dir / "input" / "query.json", QueryProtocol::kQuery, counts);
  Report("input/query", counts);
  EXPECT_GE(counts.ran, 30);
}

TEST(QueryVectorsTest, BotocoreInputEc2) {
  OPSGATE_REQUIRE_VECTORS(dir, "aws-query/botocore/protocols");
  Counts counts;
  RunInput(dir / "input" / "ec2.json", QueryProtocol::kEc2, counts);
  Report("input/ec2", counts);
  EXPECT_GE(counts.ran, 22);
}

TEST(QueryVectorsTest, BotocoreOutputQuery) {
  OPSGATE_REQUIRE_VECTORS(dir, "aws-query/botocore/protocols");
  Counts counts;
  RunOutput(dir / "output" / "query.json", QueryProtocol::kQuery, counts);
  Report("output/query", counts);
  EXPECT_GE(counts.ran, 25);
}

TEST(QueryVectorsTest, BotocoreOutputEc2) {
  OPSGATE_REQUIRE_VECTORS(dir, "aws-query/botocore/protocols");
  Counts counts;
  RunOutput(dir / "output" / "ec2.json", QueryProtocol::kEc2, counts);
  Report("output/ec2", counts);
  EXPECT_GE(counts.ran, 20);
}

TEST(QueryVectorsTest, BotocoreErrorFixtures) {
  OPSGATE_REQUIRE_VECTORS(dir, "aws-query/botocore/response_parsing/errors");
  int ran = 0;
  for (const char* name : {"sts-get-session-token", "ec2-describe-instances"}) {
    const std::string xml = testing::ReadVectorFile(dir / (std::string(name) + ".xml"));
    const json::value want =
        json::parse(testing::ReadVectorFile(dir / (std::string(name) + ".json")));
    QueryError e = ParseQueryError(400, xml);
    EXPECT_EQ(e.code, Str(want.at("Error").at("Code"))) << name;
    EXPECT_EQ(e.message, Str(want.at("Error").at("Message"))) << name;
    EXPECT_EQ(e.request_id, Str(want.at("ResponseMetadata").at("RequestId"))) << name;
    ++ran;
  }
  std::cout << "[botocore response_parsing/errors] ran " << ran << "\n";
}

}  // namespace
}  // namespace opsgate::aws
