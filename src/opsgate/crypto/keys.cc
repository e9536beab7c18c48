#include "opsgate/crypto/keys.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string_view>

#include "opsgate/crypto/internal/openssl_ptr.h"
#include "opsgate/crypto/random.h"

namespace opsgate::crypto {
namespace {

using internal::OpenSslErrors;

constexpr int kMaxValidityDays = 36500;
constexpr std::string_view kDevCommonName = "opsgate development";

core::Error OpenSslFailure(std::string_view what) {
  return core::Internal(std::string(what) + ": " + OpenSslErrors());
}

// One subjectAltName entry. For IP entries `value` holds the 4 or 16 address bytes,
// for DNS entries the lowercased name.
struct San {
  bool is_ip = false;
  std::string value;
  bool operator==(const San&) const = default;
};

bool IsDnsChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

// Parses an IP literal or a hostname (optionally "*."-prefixed) into a SAN.
core::Result<San> ParseHost(std::string_view host) {
  const std::string h(host);
  unsigned char addr[16];
  if (inet_pton(AF_INET, h.c_str(), addr) == 1) {
    return San{true, std::string(reinterpret_cast<const char*>(addr), 4)};
  }
  if (inet_pton(AF_INET6, h.c_str(), addr) == 1) {
    return San{true, std::string(reinterpret_cast<const char*>(addr), 16)};
  }
  const auto bad = [&](std::string_view why) {
    return core::Fail(core::InvalidArgument("certificate host '" + h + "' " + std::string(why) +
                                            "; pass a DNS name (e.g. ops.example.com) or an "
                                            "IP literal without brackets"));
  };
  std::string name;
  name.reserve(h.size());
  for (const char c : h) {
    name += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (name.empty()) {
    return bad("is empty");
  }
  if (name.size() > 253) {
    return bad("is longer than 253 characters");
  }
  std::string_view rest = name;
  if (rest.starts_with("*.")) {
    rest.remove_prefix(2);
  }
  size_t label_len = 0;
  for (size_t i = 0; i <= rest.size(); ++i) {
    if (i == rest.size() || rest[i] == '.') {
      if (label_len == 0 || label_len > 63) {
        return bad("has an empty or over-long label");
      }
      label_len = 0;
    } else if (!IsDnsChar(rest[i])) {
      return bad("contains a character not allowed in a hostname");
    } else {
      ++label_len;
    }
  }
  return San{false, std::move(name)};
}

core::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  internal::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return core::Fail(OpenSslFailure(std::string("adding certificate extension ") +
                                     OBJ_nid2sn(nid) + "=" + value));
  }
  return core::Ok();
}

core::Status AddSubjectAltNames(X509* cert, const std::vector<San>& sans) {
  internal::GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!names) {
    return core::Fail(OpenSslFailure("allocating subjectAltName"));
  }
  for (const San& san : sans) {
    internal::GeneralNamePtr name(GENERAL_NAME_new());
    // An IP SAN is an OCTET STRING of the address bytes, a DNS SAN an IA5String.
    internal::Asn1StringPtr value(san.is_ip ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new());
    if (!name || !value ||
        ASN1_STRING_set(value.get(), san.value.data(), static_cast<int>(san.value.size())) != 1) {
      return core::Fail(OpenSslFailure("building subjectAltName"));
    }
    GENERAL_NAME_set0_value(name.get(), san.is_ip ? GEN_IPADD : GEN_DNS, value.release());
    if (sk_GENERAL_NAME_push(names.get(), name.get()) == 0) {
      return core::Fail(OpenSslFailure("building subjectAltName"));
    }
    name.release();  // Now owned by `names`.
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return core::Fail(OpenSslFailure("adding subjectAltName"));
  }
  return core::Ok();
}

core::Result<std::string> PemPrivateKey(EVP_PKEY* key) {
  // The secure-memory BIO wipes its buffer when freed, so the only copy left is the
  // one handed to the caller inside a Secret.
  internal::BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio ||
      PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return core::Fail(OpenSslFailure("encoding the private key as PEM"));
  }
  return internal::BioContents(bio.get());
}

// A password callback that refuses: encrypted keys fail instead of prompting on a tty.
int NoPassword(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

std::string FormatTm(const std::tm& tm) {
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatTime(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  return FormatTm(tm);
}

}  // namespace

core::Result<DevCertificate> GenerateDevCertificate(const std::vector<std::string>& extra_hosts,
                                                    int validity_days, core::Clock::WallTime now) {
  if (validity_days < 1 || validity_days > kMaxValidityDays) {
    return core::Fail(core::InvalidArgument(
        "certificate validity of " + std::to_string(validity_days) +
        " days is out of range; use 1 to " + std::to_string(kMaxValidityDays)));
  }
  std::vector<San> sans = {{false, "localhost"},
                           {true, std::string("\x7f\x00\x00\x01", 4)},
                           {true, std::string(15, '\0') + '\x01'}};
  for (const std::string& host : extra_hosts) {
    auto san = ParseHost(host);
    if (!san) {
      return core::Fail(san.error());
    }
    if (std::find(sans.begin(), sans.end(), *san) == sans.end()) {
      sans.push_back(std::move(*san));
    }
  }

  auto serial_bytes = RandomBytes(16);
  if (!serial_bytes) {
    return core::Fail(serial_bytes.error());
  }
  // A zero serial is invalid (RFC 5280 §4.1.2.2); with 128 random bits it will not occur,
  // but setting the low bit costs nothing.
  if (serial_bytes->find_first_not_of('\0') == std::string::npos) {
    (*serial_bytes)[15] = 1;
  }

  ERR_clear_error();
  internal::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) {
    return core::Fail(OpenSslFailure("generating an ECDSA P-256 key"));
  }
  internal::X509Ptr cert(X509_new());
  internal::BignumPtr serial_bn(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(serial_bytes->data()),
                static_cast<int>(serial_bytes->size()), nullptr));
  if (!cert || !serial_bn) {
    return core::Fail(OpenSslFailure("allocating the certificate"));
  }
  internal::Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(serial_bn.get(), nullptr));
  std::time_t now_t = std::chrono::system_clock::to_time_t(now);
  X509_NAME* name = X509_get_subject_name(cert.get());  // Owned by cert.
  if (!serial || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_serialNumber(cert.get(), serial.get()) != 1 ||
      X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -3600, &now_t) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), validity_days, 0, &now_t) == nullptr ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(kDevCommonName.data()),
                                 static_cast<int>(kDevCommonName.size()), -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key.get()) != 1) {
    return core::Fail(OpenSslFailure("filling in the certificate"));
  }

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  // subjectKeyIdentifier first: authorityKeyIdentifier copies it from the issuer (itself).
  OPSGATE_RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE"));
  OPSGATE_RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature,keyCertSign"));
  OPSGATE_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth"));
  OPSGATE_RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  OPSGATE_RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  OPSGATE_RETURN_IF_ERROR(AddSubjectAltNames(cert.get(), sans));

  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) {
    return core::Fail(OpenSslFailure("signing the certificate"));
  }

  internal::BioPtr cert_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1) {
    return core::Fail(OpenSslFailure("encoding the certificate as PEM"));
  }
  auto key_pem = PemPrivateKey(key.get());
  if (!key_pem) {
    return core::Fail(key_pem.error());
  }
  return DevCertificate{internal::BioContents(cert_bio.get()), core::Secret(std::move(*key_pem))};
}

core::Result<KeyPair> GenerateEd25519KeyPair() {
  ERR_clear_error();
  internal::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) {
    return core::Fail(OpenSslFailure("generating an Ed25519 key"));
  }
  auto private_pem = PemPrivateKey(key.get());
  if (!private_pem) {
    return core::Fail(private_pem.error());
  }
  internal::BioPtr pub_bio(BIO_new(BIO_s_mem()));
  if (!pub_bio || PEM_write_bio_PUBKEY(pub_bio.get(), key.get()) != 1) {
    return core::Fail(OpenSslFailure("encoding the Ed25519 public key as PEM"));
  }
  return KeyPair{core::Secret(std::move(*private_pem)), internal::BioContents(pub_bio.get())};
}

core::Result<core::Secret> GenerateAes256Key() {
  return RandomBytes(32).transform(
      [](std::string bytes) { return core::Secret(std::move(bytes)); });
}

core::Result<core::Clock::WallTime> CheckCertificatePair(const std::string& cert_file,
                                                         const std::string& key_file,
                                                         core::Clock::WallTime now) {
  const std::string cert_fix =
      "; set server.tls.cert_file to a PEM certificate, or run `opsgate init` to create a "
      "development one";
  const std::string key_fix =
      "; set server.tls.key_file to the certificate's unencrypted PEM private key";

  ERR_clear_error();
  internal::BioPtr cert_bio(BIO_new_file(cert_file.c_str(), "r"));
  if (!cert_bio) {
    const int err = errno;
    ERR_clear_error();
    return core::Fail(core::FailedPrecondition("cannot read TLS certificate file " + cert_file +
                                               ": " + std::strerror(err) + cert_fix));
  }
  internal::X509Ptr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, NoPassword, nullptr));
  if (!cert) {
    return core::Fail(core::FailedPrecondition("TLS certificate file " + cert_file +
                                               " holds no PEM certificate (" + OpenSslErrors() +
                                               ")" + cert_fix));
  }

  internal::BioPtr key_bio(BIO_new_file(key_file.c_str(), "r"));
  if (!key_bio) {
    const int err = errno;
    ERR_clear_error();
    return core::Fail(core::FailedPrecondition("cannot read TLS key file " + key_file + ": " +
                                               std::strerror(err) + key_fix));
  }
  internal::EvpPkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassword, nullptr));
  if (!key) {
    return core::Fail(core::FailedPrecondition(
        "TLS key file " + key_file + " holds no readable PEM private key (" + OpenSslErrors() +
        "); encrypted keys are not supported" + key_fix));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return core::Fail(core::FailedPrecondition(
        "the private key in " + key_file + " does not belong to the certificate in " + cert_file +
        "; set server.tls.key_file to the key the certificate was issued for"));
  }

  std::tm not_before{};
  std::tm not_after{};
  if (ASN1_TIME_to_tm(X509_get0_notBefore(cert.get()), &not_before) != 1 ||
      ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &not_after) != 1) {
    return core::Fail(core::FailedPrecondition("TLS certificate " + cert_file +
                                               " has an unreadable validity period (" +
                                               OpenSslErrors() + ")" + cert_fix));
  }
  const std::time_t now_t = std::chrono::system_clock::to_time_t(now);
  const std::time_t not_before_t = timegm(&not_before);
  const std::time_t not_after_t = timegm(&not_after);
  if (now_t < not_before_t) {
    return core::Fail(core::FailedPrecondition(
        "TLS certificate " + cert_file + " is not valid before " + FormatTm(not_before) + " (now " +
        FormatTime(now_t) + "); check the system clock or the certificate"));
  }
  if (now_t > not_after_t) {
    return core::Fail(core::FailedPrecondition("TLS certificate " + cert_file + " expired at " +
                                               FormatTm(not_after) + " (now " + FormatTime(now_t) +
                                               "); renew it" + cert_fix.substr(1)));
  }
  return std::chrono::system_clock::from_time_t(not_after_t);
}

}  // namespace opsgate::crypto
