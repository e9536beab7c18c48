#include "opsgate/crypto/keys.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "opsgate/crypto/internal/openssl_ptr.h"

namespace opsgate::crypto {
namespace {

using core::ErrorCode;
using internal::BioPtr;
using internal::EvpPkeyPtr;
using internal::X509Ptr;
using std::chrono::hours;
using std::chrono::system_clock;

constexpr std::time_t kNow = 1'700'000'000;  // 2023-11-14T22:13:20Z

core::Clock::WallTime At(std::time_t t) { return system_clock::from_time_t(t); }

X509Ptr ParseCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

EvpPkeyPtr ParsePrivateKey(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return EvpPkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

EvpPkeyPtr ParsePublicKey(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return EvpPkeyPtr(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

std::time_t ToTimeT(const ASN1_TIME* t) {
  std::tm tm{};
  EXPECT_EQ(ASN1_TIME_to_tm(t, &tm), 1);
  return timegm(&tm);
}

std::set<std::string> SubjectAltNames(X509* cert) {
  std::set<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) {
    return out;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    int type = 0;
    const auto* value = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(name, &type));
    const auto* data = reinterpret_cast<const char*>(ASN1_STRING_get0_data(value));
    const int len = ASN1_STRING_length(value);
    if (type == GEN_DNS) {
      out.insert("DNS:" + std::string(data, static_cast<size_t>(len)));
    } else if (type == GEN_IPADD) {
      char text[INET6_ADDRSTRLEN];
      inet_ntop(len == 4 ? AF_INET : AF_INET6, data, text, sizeof(text));
      out.insert(std::string("IP:") + text);
    } else {
      out.insert("other");
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

// A fresh directory under $TMPDIR, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "opsgate-keys-XXXXXX").string();
    EXPECT_NE(mkdtemp(templ.data()), nullptr);
    path_ = templ;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, std::string_view contents) const {
    const std::string file = (path_ / name).string();
    std::ofstream(file, std::ios::binary) << contents;
    return file;
  }
  std::string Path(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

TEST(GenerateDevCertificate, ProducesParsableSelfSignedP256Certificate) {
  auto dev = GenerateDevCertificate({}, 30, At(kNow));
  ASSERT_TRUE(dev.has_value()) << dev.error();
  EXPECT_TRUE(dev->cert_pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
  EXPECT_TRUE(dev->key_pem.Reveal().starts_with("-----BEGIN PRIVATE KEY-----\n"));
  X509Ptr cert = ParseCert(dev->cert_pem);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA256);

  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof(cn));
  EXPECT_STREQ(cn, "opsgate development");
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())), 0);

  EvpPkeyPtr key = ParsePrivateKey(dev->key_pem.Reveal());
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_EC);
  char group[32] = {};
  size_t group_len = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key.get(), group, sizeof(group), &group_len), 1);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(cert.get())), 1);
}

TEST(GenerateDevCertificate, SerialIsRandomAndAtMost128Bits) {
  auto a = GenerateDevCertificate({}, 30, At(kNow));
  auto b = GenerateDevCertificate({}, 30, At(kNow));
  ASSERT_TRUE(a.has_value() && b.has_value());
  X509Ptr ca = ParseCert(a->cert_pem);
  X509Ptr cb = ParseCert(b->cert_pem);
  internal::BignumPtr sa(ASN1_INTEGER_to_BN(X509_get0_serialNumber(ca.get()), nullptr));
  internal::BignumPtr sb(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cb.get()), nullptr));
  EXPECT_GT(BN_num_bits(sa.get()), 64);  // Fails with probability 2^-64.
  EXPECT_LE(BN_num_bits(sa.get()), 128);
  EXPECT_FALSE(BN_is_negative(sa.get()));
  EXPECT_NE(BN_cmp(sa.get(), sb.get()), 0);
  EXPECT_NE(a->key_pem.Reveal(), b->key_pem.Reveal());
}

TEST(GenerateDevCertificate, HasDefaultAndExtraSubjectAltNames) {
  auto dev = GenerateDevCertificate(
      {"ops.Example.test", "10.0.0.5", "fd00::1", "*.ops.example.test", "LOCALHOST", "::0:1"}, 30,
      At(kNow));
  ASSERT_TRUE(dev.has_value()) << dev.error();
  X509Ptr cert = ParseCert(dev->cert_pem);
  EXPECT_EQ(
      SubjectAltNames(cert.get()),
      (std::set<std::string>{"DNS:localhost", "IP:127.0.0.1", "IP:::1", "DNS:ops.example.test",
                             "DNS:*.ops.example.test", "IP:10.0.0.5", "IP:fd00::1"}));
  // Duplicates ("LOCALHOST", "::0:1") were dropped rather than repeated.
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  EXPECT_EQ(sk_GENERAL_NAME_num(names), 7);
  GENERAL_NAMES_free(names);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "ops.example.test", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "evil.example.test", 0, 0, nullptr), 0);
}

TEST(GenerateDevCertificate, IsItsOwnTrustAnchorForServerAuth) {
  auto dev = GenerateDevCertificate({}, 30, At(kNow));
  ASSERT_TRUE(dev.has_value()) << dev.error();
  X509Ptr cert = ParseCert(dev->cert_pem);

  const int ext = X509_get_ext_by_NID(cert.get(), NID_basic_constraints, -1);
  ASSERT_GE(ext, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(cert.get(), ext)), 1);
  EXPECT_NE(X509_get_extension_flags(cert.get()) & EXFLAG_CA, 0u);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);
  EXPECT_EQ(X509_get_key_usage(cert.get()), uint32_t{KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN});
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), uint32_t{XKU_SSL_SERVER});
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);

  // What curl --cacert does: the certificate is the whole trust store.
  X509_STORE* store = X509_STORE_new();
  ASSERT_EQ(X509_STORE_add_cert(store, cert.get()), 1);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  ASSERT_EQ(X509_STORE_CTX_init(ctx, store, cert.get(), nullptr), 1);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_time(param, kNow);
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM_set1_host(param, "localhost", 0);
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
  EXPECT_EQ(X509_verify_cert(ctx), 1)
      << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
}

TEST(GenerateDevCertificate, ValidityWindowIsRelativeToNow) {
  auto dev = GenerateDevCertificate({}, 90, At(kNow));
  ASSERT_TRUE(dev.has_value()) << dev.error();
  X509Ptr cert = ParseCert(dev->cert_pem);
  EXPECT_EQ(ToTimeT(X509_get0_notBefore(cert.get())), kNow - 3600);
  EXPECT_EQ(ToTimeT(X509_get0_notAfter(cert.get())), kNow + 90 * 86400);
}

TEST(GenerateDevCertificate, NotAfterBeyond2049UsesGeneralizedTime) {
  const std::time_t late_2049 = 2'522'000'000;  // 2049-12-02
  auto dev = GenerateDevCertificate({}, 60, At(late_2049));
  ASSERT_TRUE(dev.has_value()) << dev.error();
  X509Ptr cert = ParseCert(dev->cert_pem);
  EXPECT_EQ(ASN1_STRING_type(X509_get0_notBefore(cert.get())), V_ASN1_UTCTIME);
  EXPECT_EQ(ASN1_STRING_type(X509_get0_notAfter(cert.get())), V_ASN1_GENERALIZEDTIME);
  EXPECT_EQ(ToTimeT(X509_get0_notAfter(cert.get())), late_2049 + 60 * 86400);
}

TEST(GenerateDevCertificate, RejectsValidityOutOfRange) {
  for (const int days : {0, -1, 36501}) {
    auto dev = GenerateDevCertificate({}, days, At(kNow));
    ASSERT_FALSE(dev.has_value()) << days;
    EXPECT_EQ(dev.error().code, ErrorCode::kInvalidArgument) << days;
  }
}

TEST(GenerateDevCertificate, RejectsMalformedHosts) {
  const std::vector<std::string> hosts = {"",
                                          "bad host",
                                          "[::1]",
                                          "a..b",
                                          ".example.com",
                                          "example.com.",
                                          "fe80::1%eth0",
                                          "ex_ample.com",
                                          "a,DNS:evil.com",
                                          std::string(64, 'a') + ".com",
                                          "*"};
  for (const std::string& host : hosts) {
    auto dev = GenerateDevCertificate({host}, 30, At(kNow));
    ASSERT_FALSE(dev.has_value()) << host;
    EXPECT_EQ(dev.error().code, ErrorCode::kInvalidArgument) << host;
  }
}

TEST(GenerateEd25519KeyPair, SignsAndVerifies) {
  auto pair = GenerateEd25519KeyPair();
  ASSERT_TRUE(pair.has_value()) << pair.error();
  EXPECT_TRUE(pair->private_pem.Reveal().starts_with("-----BEGIN PRIVATE KEY-----\n"));
  EXPECT_TRUE(pair->public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
  EvpPkeyPtr priv = ParsePrivateKey(pair->private_pem.Reveal());
  EvpPkeyPtr pub = ParsePublicKey(pair->public_pem);
  ASSERT_NE(priv, nullptr);
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(priv.get()), EVP_PKEY_ED25519);
  EXPECT_EQ(EVP_PKEY_eq(priv.get(), pub.get()), 1);

  const std::string message = "tree head: size=8 root=5dc9da79a70659a9ad559cb701ded9a2";
  const auto* msg = reinterpret_cast<const unsigned char*>(message.data());
  internal::EvpMdCtxPtr sign_ctx(EVP_MD_CTX_new());
  ASSERT_EQ(EVP_DigestSignInit(sign_ctx.get(), nullptr, nullptr, nullptr, priv.get()), 1);
  unsigned char sig[64];
  size_t sig_len = sizeof(sig);
  ASSERT_EQ(EVP_DigestSign(sign_ctx.get(), sig, &sig_len, msg, message.size()), 1);
  EXPECT_EQ(sig_len, 64u);

  internal::EvpMdCtxPtr verify_ctx(EVP_MD_CTX_new());
  ASSERT_EQ(EVP_DigestVerifyInit(verify_ctx.get(), nullptr, nullptr, nullptr, pub.get()), 1);
  EXPECT_EQ(EVP_DigestVerify(verify_ctx.get(), sig, sig_len, msg, message.size()), 1);

  sig[10] ^= 0x01;
  internal::EvpMdCtxPtr tampered_ctx(EVP_MD_CTX_new());
  ASSERT_EQ(EVP_DigestVerifyInit(tampered_ctx.get(), nullptr, nullptr, nullptr, pub.get()), 1);
  EXPECT_NE(EVP_DigestVerify(tampered_ctx.get(), sig, sig_len, msg, message.size()), 1);
}

TEST(GenerateEd25519KeyPair, KeysAreFresh) {
  auto a = GenerateEd25519KeyPair();
  auto b = GenerateEd25519KeyPair();
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_NE(a->public_pem, b->public_pem);
}

TEST(GenerateAes256Key, Is32FreshBytes) {
  auto a = GenerateAes256Key();
  auto b = GenerateAes256Key();
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(a->Reveal(), b->Reveal());
}

class CheckCertificatePairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dev = GenerateDevCertificate({}, 30, At(kNow));
    ASSERT_TRUE(dev.has_value()) << dev.error();
    cert_file_ = dir_.Write("cert.pem", dev->cert_pem);
    key_file_ = dir_.Write("key.pem", dev->key_pem.Reveal());
  }

  TempDir dir_;
  std::string cert_file_;
  std::string key_file_;
};

TEST_F(CheckCertificatePairTest, AcceptsFreshPairAndReturnsNotAfter) {
  auto not_after = CheckCertificatePair(cert_file_, key_file_, At(kNow));
  ASSERT_TRUE(not_after.has_value()) << not_after.error();
  EXPECT_EQ(*not_after, At(kNow + 30 * 86400));
  // Valid from an hour before generation (clock skew between machines).
  EXPECT_TRUE(CheckCertificatePair(cert_file_, key_file_, At(kNow - 3599)).has_value());
}

TEST_F(CheckCertificatePairTest, RejectsMismatchedKey) {
  auto other = GenerateDevCertificate({}, 30, At(kNow));
  ASSERT_TRUE(other.has_value());
  const std::string other_key = dir_.Write("other-key.pem", other->key_pem.Reveal());
  auto r = CheckCertificatePair(cert_file_, other_key, At(kNow));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find(other_key), std::string::npos) << r.error();
  EXPECT_NE(r.error().message.find("does not belong"), std::string::npos) << r.error();
}

TEST_F(CheckCertificatePairTest, RejectsExpiredCertificate) {
  auto r = CheckCertificatePair(cert_file_, key_file_, At(kNow + 31 * 86400));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("expired at 2023-12-14T22:13:20Z"), std::string::npos)
      << r.error();
  EXPECT_NE(r.error().message.find(cert_file_), std::string::npos) << r.error();
}

TEST_F(CheckCertificatePairTest, RejectsCertificateNotYetValid) {
  auto r = CheckCertificatePair(cert_file_, key_file_, At(kNow - 2 * 3600));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("not valid before"), std::string::npos) << r.error();
}

TEST_F(CheckCertificatePairTest, RejectsMissingFiles) {
  const std::string missing = dir_.Path("missing.pem");
  auto no_cert = CheckCertificatePair(missing, key_file_, At(kNow));
  ASSERT_FALSE(no_cert.has_value());
  EXPECT_EQ(no_cert.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(no_cert.error().message.find(missing), std::string::npos) << no_cert.error();
  EXPECT_NE(no_cert.error().message.find("No such file"), std::string::npos) << no_cert.error();
  EXPECT_NE(no_cert.error().message.find("opsgate init"), std::string::npos) << no_cert.error();

  auto no_key = CheckCertificatePair(cert_file_, missing, At(kNow));
  ASSERT_FALSE(no_key.has_value());
  EXPECT_EQ(no_key.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(no_key.error().message.find(missing), std::string::npos) << no_key.error();
}

TEST_F(CheckCertificatePairTest, RejectsFilesWithoutPem) {
  const std::string junk = dir_.Write("junk.pem", "not a certificate\n");
  auto bad_cert = CheckCertificatePair(junk, key_file_, At(kNow));
  ASSERT_FALSE(bad_cert.has_value());
  EXPECT_EQ(bad_cert.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(bad_cert.error().message.find(junk), std::string::npos) << bad_cert.error();

  // A certificate where the key should be.
  auto swapped = CheckCertificatePair(cert_file_, cert_file_, At(kNow));
  ASSERT_FALSE(swapped.has_value());
  EXPECT_EQ(swapped.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(CheckCertificatePairTest, RejectsEncryptedKeyWithoutPrompting) {
  std::ifstream in(key_file_);
  EvpPkeyPtr key = ParsePrivateKey(
      std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
  ASSERT_NE(key, nullptr);
  BioPtr bio(BIO_new(BIO_s_mem()));
  char password[] = "correct horse";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), EVP_aes_256_cbc(), password,
                                          sizeof(password) - 1, nullptr, nullptr),
            1);
  const std::string encrypted = dir_.Write("encrypted.pem", internal::BioContents(bio.get()));
  auto r = CheckCertificatePair(cert_file_, encrypted, At(kNow));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("encrypted"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace opsgate::crypto
