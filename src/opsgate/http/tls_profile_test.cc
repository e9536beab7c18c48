// Compares the TLS profiles with Mozilla's published guidelines (a copy lives in
// ../shared/vectors/tls/mozilla-guidelines-6.0.json; OPSGATE_VECTORS overrides the
// vectors directory).
#include "opsgate/http/tls_profile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test/fakes/ci.h"

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "opsgate/core/strings.h"

namespace opsgate::http {
namespace {

using ::testing::ElementsAreArray;

std::string VectorsDir() {
  if (const char* v = std::getenv("OPSGATE_VECTORS"); v != nullptr && *v != '\0') {
    return v;
  }
  const char* src = std::getenv("OPSGATE_SOURCE_DIR");
  return std::string(src != nullptr ? src : ".") + "/../shared/vectors";
}

std::vector<std::string> SplitColons(const char* s) {
  std::vector<std::string> out;
  if (*s == '\0') {
    return out;
  }
  for (std::string_view piece : core::Split(s, ':')) {
    out.emplace_back(piece);
  }
  return out;
}

std::vector<std::string> Strings(const boost::json::value& v) {
  std::vector<std::string> out;
  for (const auto& item : v.as_array()) {
    out.emplace_back(item.as_string());
  }
  return out;
}

class MozillaGuidelinesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string path = VectorsDir() + "/tls/mozilla-guidelines-6.0.json";
    std::ifstream in(path);
    if (!in) {
      if (opsgate::testing::InCi()) {
        FAIL() << "Mozilla TLS guidelines missing at " << path
               << " (CI=true requires them; set OPSGATE_VECTORS to the vectors directory)";
      }
      GTEST_SKIP() << "Mozilla TLS guidelines not found at " << path
                   << "; set OPSGATE_VECTORS to the shared vectors directory to run this test";
    }
    std::stringstream text;
    text << in.rdbuf();
    guidelines_ = boost::json::parse(text.str());
  }

  const boost::json::object& Profile(const char* name) const {
    return guidelines_.at("configurations").at(name).as_object();
  }

  // The expected curves: Mozilla's list without X25519MLKEM768, which OpenSSL 3.0 lacks.
  static std::vector<std::string> SupportedCurves(const boost::json::object& profile) {
    std::vector<std::string> curves;
    for (const auto& c : Strings(profile.at("tls_curves"))) {
      if (c != "X25519MLKEM768") {
        curves.push_back(c);
      }
    }
    return curves;
  }

  static std::vector<std::string> Versions(const TlsProfileSpec& spec) {
    std::vector<std::string> v;
    v.emplace_back(spec.min_version);
    if (std::string(spec.max_version) != spec.min_version) {
      v.emplace_back(spec.max_version);
    }
    return v;
  }

  boost::json::value guidelines_;
};

TEST_F(MozillaGuidelinesTest, IntermediateMatchesVersion60) {
  EXPECT_EQ(guidelines_.at("version").to_number<double>(), 6.0);
  const auto& p = Profile("intermediate");
  const TlsProfileSpec& spec = SpecFor(config::TlsProfile::kIntermediate);
  EXPECT_THAT(SplitColons(spec.ciphers_tls12),
              ElementsAreArray(Strings(p.at("ciphers").at("openssl"))));
  EXPECT_THAT(SplitColons(spec.ciphersuites_tls13),
              ElementsAreArray(Strings(p.at("ciphersuites"))));
  EXPECT_THAT(Versions(spec), ElementsAreArray(Strings(p.at("tls_versions"))));
  EXPECT_THAT(SplitColons(spec.groups), ElementsAreArray(SupportedCurves(p)));
  EXPECT_EQ(spec.server_preferred_order, p.at("server_preferred_order").as_bool());
  EXPECT_EQ(spec.hsts_max_age_seconds, p.at("hsts_min_age").to_number<long>());
}

TEST_F(MozillaGuidelinesTest, ModernMatchesVersion60) {
  const auto& p = Profile("modern");
  const TlsProfileSpec& spec = SpecFor(config::TlsProfile::kModern);
  EXPECT_THAT(SplitColons(spec.ciphers_tls12),
              ElementsAreArray(Strings(p.at("ciphers").at("openssl"))));
  EXPECT_THAT(SplitColons(spec.ciphersuites_tls13),
              ElementsAreArray(Strings(p.at("ciphersuites"))));
  EXPECT_THAT(Versions(spec), ElementsAreArray(Strings(p.at("tls_versions"))));
  EXPECT_THAT(SplitColons(spec.groups), ElementsAreArray(SupportedCurves(p)));
  EXPECT_EQ(spec.server_preferred_order, p.at("server_preferred_order").as_bool());
}

}  // namespace
}  // namespace opsgate::http
