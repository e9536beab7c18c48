#include "opsgate/app/init.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "opsgate/crypto/hash.h"
#include "opsgate/crypto/keys.h"
#include "opsgate/telemetry/log.h"

namespace opsgate::app {
namespace {

namespace fs = std::filesystem;

struct PendingFile {
  fs::path path;
  std::string contents;
  mode_t mode;
};

// Creates `path` exclusively (O_EXCL: never follows or replaces an existing file)
// and writes `contents` with `mode`, fsyncing before close.
core::Status WriteNewFile(const PendingFile& f) {
  const int fd = ::open(f.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                        f.mode);
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST) {
      return core::Fail(core::AlreadyExists(f.path.string() +
                                            " exists; opsgate init never overwrites files "
                                            "(choose another directory or remove it)"));
    }
    return core::Fail(core::FailedPrecondition("cannot create " + f.path.string() + ": " +
                                               std::strerror(err)));
  }
  size_t done = 0;
  while (done < f.contents.size()) {
    const ssize_t n = ::write(fd, f.contents.data() + done, f.contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      ::close(fd);
      return core::Fail(core::FailedPrecondition("cannot write " + f.path.string() + ": " +
                                                 std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  return core::Ok();
}

core::Status MakeDir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return core::Fail(
        core::FailedPrecondition("cannot create directory " + dir.string() + ": " + ec.message()));
  }
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) {
    return core::Fail(core::FailedPrecondition("cannot restrict " + dir.string() +
                                               " to its owner: " + ec.message()));
  }
  return core::Ok();
}

}  // namespace

std::string StarterConfig(const core::Clock& clock) {
  return "# opsgate configuration, written by `opsgate init` on " +
         telemetry::FormatTimestamp(clock.Now()) + R"(.
# Check it with:   opsgate check --config <this file>
# Reload it with:  kill -HUP <pid>   (limits, TLS certificate, log level, metrics token)
# Secrets are references, never literals: env:NAME or file:PATH.
# Relative paths below resolve against data_dir, which resolves against this file's folder.

data_dir: .

server:
  listen: 127.0.0.1:8443
  threads: 2
  drain_timeout: 10s
  tls:
    cert: tls/server.crt      # self-signed development certificate: replace it in production
    key: tls/server.key
    profile: intermediate     # Mozilla intermediate (TLS 1.2+1.3); "modern" is TLS 1.3 only
  limits:
    header_bytes: 8KiB        # larger headers get 431
    body_bytes: 64KiB         # larger bodies get 413 (routes may allow more)
    read_timeout: 10s         # a request must arrive whole within this (else 408)
    idle_timeout: 60s         # keep-alive connections close after this much silence
    write_timeout: 10s
    max_connections: 1024     # more concurrent connections get 503
  # metrics_token: env:OPSGATE_METRICS_TOKEN   # require "Authorization: Bearer ..." on /metrics

store:
  driver: sqlite
  path: opsgate.db

log:
  level: info

# Outbound HTTPS (replies to Slack, later AWS and others): TLS always verified, proxies
# from https_proxy / no_proxy.
# outbound:
#   ca_file: /etc/opsgate/extra-ca.pem   # trust these CAs instead of the system store

# Plain values may use ${NAME} or ${NAME:-default} (environment variables); secrets
# stay env:NAME / file:PATH references.
connectors:
  # Slack: set up the app with docs/slack.md. With enabled: auto the connector is on
  # when OPSGATE_SLACK_SIGNING_SECRET is set, and off (with a warning) otherwise.
  slack:
    enabled: auto
    signing_secret: env:OPSGATE_SLACK_SIGNING_SECRET   # Basic Information > Signing Secret
    bot_token: env:OPSGATE_SLACK_BOT_TOKEN             # xoxb-..., for mentions and DMs
    api_url: ${OPSGATE_SLACK_API_URL:-https://slack.com/api}
    team_ids: ${OPSGATE_SLACK_TEAM_IDS:-}              # comma-separated; empty refuses all
    command: /ops                 # the slash command registered in the app
    replay_window: 5m             # Slack's timestamp tolerance; also the replay memory
    body_bytes: 256KiB            # larger Slack requests get 413
)";
}

core::Result<InitResult> InitDataDir(const InitOptions& options, const core::Clock& clock) {
  if (options.dir.empty()) {
    return core::Fail(core::InvalidArgument("opsgate init needs a directory"));
  }
  const fs::path dir = fs::absolute(options.dir).lexically_normal();

  auto cert = crypto::GenerateDevCertificate(options.extra_hosts, options.cert_validity_days,
                                             clock.Now());
  if (!cert) {
    return core::Fail(cert.error());
  }
  auto audit_key = crypto::GenerateEd25519KeyPair();
  if (!audit_key) {
    return core::Fail(audit_key.error());
  }
  auto data_key = crypto::GenerateAes256Key();
  if (!data_key) {
    return core::Fail(data_key.error());
  }

  const std::vector<PendingFile> files = {
      {dir / "opsgate.yaml", StarterConfig(clock), 0640},
      {dir / "tls" / "server.crt", cert->cert_pem, 0644},
      {dir / "tls" / "server.key", std::string(cert->key_pem.Reveal()), 0600},
      {dir / "keys" / "audit-signing.key", std::string(audit_key->private_pem.Reveal()), 0600},
      {dir / "keys" / "audit-signing.pub", audit_key->public_pem, 0644},
      {dir / "keys" / "data.key", crypto::Base64Encode(data_key->Reveal()) + "\n", 0600},
  };

  // Check everything first so that a refusal writes nothing.
  for (const auto& f : files) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(f.path, ec))) {
      return core::Fail(core::AlreadyExists(f.path.string() +
                                            " exists; opsgate init never overwrites files "
                                            "(choose another directory or remove it)"));
    }
  }
  OPSGATE_RETURN_IF_ERROR(MakeDir(dir));
  OPSGATE_RETURN_IF_ERROR(MakeDir(dir / "tls"));
  OPSGATE_RETURN_IF_ERROR(MakeDir(dir / "keys"));

  InitResult result;
  for (const auto& f : files) {
    OPSGATE_RETURN_IF_ERROR(WriteNewFile(f));
    result.files.push_back(f.path.string());
  }
  result.config_path = (dir / "opsgate.yaml").string();
  result.cert_path = (dir / "tls" / "server.crt").string();
  return result;
}

}  // namespace opsgate::app
