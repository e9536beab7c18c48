// File: opsgate/app/init.h
//
// `opsgate init DIR`: a data directory a first start can serve from — a starter
// config, a starter policy with its tests, the default intent catalogue
// (DIR/intents.yaml, intents::DefaultCatalogueYaml()), a self-signed development
// certificate, and
// the keys later modules use
// (Ed25519 for audit tree heads, AES-256 for encryption at rest). Refuses to
// overwrite anything: if any target file exists, nothing is written.
#pragma once

#include <string>
#include <vector>

#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"

namespace opsgate::app {

struct InitOptions {
  std::string dir;
  // Extra DNS names or IPs for the development certificate (localhost, 127.0.0.1
  // and ::1 are always included).
  std::vector<std::string> extra_hosts;
  int cert_validity_days = 90;  // Mozilla's recommended lifespan
};

struct InitResult {
  std::string config_path;  // absolute
  std::string cert_path;    // absolute
  std::vector<std::string> files;  // every file written, absolute
};

// Errors: kAlreadyExists naming the first existing file; kFailedPrecondition when
// the directory cannot be created or written; crypto errors from key generation.
[[nodiscard]] core::Result<InitResult> InitDataDir(const InitOptions& options,
                                                   const core::Clock& clock);

// The starter config text written by InitDataDir (exposed for tests).
std::string StarterConfig(const core::Clock& clock);

// The starter policy (DIR/policy.yaml, referenced by the starter config as policy.file)
// and its table of expected decisions (DIR/policy-tests.yaml, for `opsgate policy test`),
// described in docs/policy.md#starter-policy.
std::string StarterPolicy();
std::string StarterPolicyTests();

}  // namespace opsgate::app
