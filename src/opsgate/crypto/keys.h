// File: opsgate/crypto/keys.h
//
// Key material that `opsgate init` writes and `opsgate run` checks: a self-signed
// development TLS certificate, the Ed25519 key that will sign audit tree heads, AES-256
// data keys, and a start-up check of a configured certificate/key pair.
//
//   auto cert = GenerateDevCertificate({"ops.example.test"}, 365, clock.Now());
//   if (!cert) return Fail(cert.error());
//   // write cert->cert_pem with mode 0644 and cert->key_pem.Reveal() with mode 0600
//
// Private keys are returned as core::Secret (PEM text, unencrypted PKCS#8): the caller
// owns them and decides where they are written.
//
// Thread-safety: every function is safe to call from any thread.
#pragma once

#include <string>
#include <vector>

#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/core/secret.h"

namespace opsgate::crypto {

struct DevCertificate {
  std::string cert_pem;  // "-----BEGIN CERTIFICATE-----"
  core::Secret key_pem;  // "-----BEGIN PRIVATE KEY-----" (PKCS#8, ECDSA P-256)
};

// Self-signed ECDSA P-256 certificate for development, signed with SHA-256:
//  - subject = issuer = CN "opsgate development"; version 3; serial 128 random bits;
//  - subjectAltName DNS:localhost, IP:127.0.0.1, IP:::1, plus each of `extra_hosts`
//    (an IPv4/IPv6 literal becomes an IP SAN, anything else a DNS SAN; duplicates are
//    dropped);
//  - notBefore = now - 1h (tolerates clock skew), notAfter = now + validity_days;
//  - basicConstraints critical CA:TRUE, so clients can trust it directly
//    (curl --cacert cert.pem); keyUsage digitalSignature+keyCertSign; extendedKeyUsage
//    serverAuth; subject and authority key identifiers.
// Errors: kInvalidArgument for validity_days outside [1, 36500] or a host that is empty or
// not a hostname/IP literal (allowed: letters, digits, '-', '.', a leading "*.");
// kInternal if OpenSSL fails (message carries OpenSSL's error string); kUnavailable if the
// random generator fails.
[[nodiscard]] core::Result<DevCertificate> GenerateDevCertificate(
    const std::vector<std::string>& extra_hosts, int validity_days, core::Clock::WallTime now);

struct KeyPair {
  core::Secret private_pem;  // "-----BEGIN PRIVATE KEY-----" (PKCS#8)
  std::string public_pem;    // "-----BEGIN PUBLIC KEY-----" (SubjectPublicKeyInfo)
};

// A fresh Ed25519 key pair (audit tree-head signing). Errors: kInternal if OpenSSL fails.
[[nodiscard]] core::Result<KeyPair> GenerateEd25519KeyPair();

// 32 random bytes for an AES-256-GCM data key. Errors: kUnavailable if the random
// generator fails.
[[nodiscard]] core::Result<core::Secret> GenerateAes256Key();

// Reads the PEM certificate (the first one in `cert_file`, i.e. the leaf of a chain) and
// the PEM private key in `key_file`, and checks that the key belongs to the certificate
// and that the certificate is valid at `now`. Encrypted keys are refused (no prompt).
// Returns the certificate's notAfter, so the caller can warn before it expires.
// Errors: kFailedPrecondition for a missing/unreadable file, a file that holds no PEM
// certificate/key, a key that does not match, a certificate not yet valid or expired;
// the message names the file and says how to fix it.
[[nodiscard]] core::Result<core::Clock::WallTime> CheckCertificatePair(const std::string& cert_file,
                                                                       const std::string& key_file,
                                                                       core::Clock::WallTime now);

}  // namespace opsgate::crypto
