#include "opsgate/app/commands.h"

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "opsgate/app/gateway.h"
#include "opsgate/app/init.h"
#include "opsgate/app/version.h"
#include "opsgate/config/loader.h"
#include "opsgate/crypto/keys.h"

namespace opsgate::app {
namespace {

namespace fs = std::filesystem;

void PrintNextSteps(const config::Config& c, const std::string& host, uint16_t port) {
  const bool tls = !c.server.behind_tls_proxy;
  const std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const std::string url = (tls ? "https://" : "http://") + shown_host + ":" + std::to_string(port);
  std::cout << "opsgate " OPSGATE_VERSION " is serving " << url << "  (pid " << ::getpid()
            << ")\n"
            << "  config:  " << c.source_path << "\n"
            << "  store:   " << c.store.path << "\n";
  if (tls && c.server.tls) {
    std::cout << "  try:     curl --cacert " << c.server.tls->cert_file << " " << url
              << "/healthz\n";
  } else {
    std::cout << "  try:     curl " << url << "/healthz\n";
  }
  std::cout << "  metrics: " << url << "/metrics (Prometheus)\n"
            << "  next:    connect a chat platform (docs/slack.md), edit the config, then\n"
            << "           `opsgate check --config " << c.source_path << "` and `kill -HUP "
            << ::getpid() << "`\n"
            << "  stop:    Ctrl-C (finishes in-flight requests first)\n"
            << std::flush;
}

int PrintLoadError(const core::Error& e) {
  std::cerr << e.message << "\n";
  return 1;
}

}  // namespace

int RunInit(const InitCommandOptions& options) {
  core::SystemClock clock;
  auto result = InitDataDir({options.dir, options.extra_hosts, 90}, clock);
  if (!result) {
    std::cerr << "opsgate init: " << result.error().message << "\n";
    return 1;
  }
  std::cout << "Created " << result->files.size() << " files in "
            << fs::path(result->config_path).parent_path().string() << ":\n";
  for (const auto& f : result->files) {
    std::cout << "  " << f << "\n";
  }
  std::cout << "Next: opsgate serve --config " << result->config_path << "\n"
            << "The certificate is self-signed for development; clients trust it with "
            << "--cacert " << result->cert_path << "\n";
  return 0;
}

int RunCheck(const CheckOptions& options) {
  auto loaded = config::LoadConfigFile(options.config_path);
  if (!loaded) {
    return PrintLoadError(loaded.error());
  }
  const auto& c = *loaded->config;
  std::vector<std::string> errors;
  if (c.server.tls) {
    core::SystemClock clock;
    auto pair = crypto::CheckCertificatePair(c.server.tls->cert_file, c.server.tls->key_file,
                                             clock.Now());
    if (!pair) {
      errors.push_back(c.source_path + ": server.tls: " + pair.error().message);
    }
  }
  for (const auto& w : loaded->warnings) {
    std::cerr << w.ToString() << "\n";
  }
  for (const auto& e : errors) {
    std::cerr << e << "\n";
  }
  if (!errors.empty()) {
    return 1;
  }
  std::cout << c.source_path << ": OK";
  if (!loaded->warnings.empty()) {
    std::cout << " (" << loaded->warnings.size() << " warning"
              << (loaded->warnings.size() == 1 ? "" : "s") << ")";
  }
  std::cout << "\n";
  return 0;
}

int RunServe(const ServeOptions& options) {
  core::SystemClock clock;
  std::string config_path = options.config_path;
  if (config_path.empty()) {
    const fs::path dir = fs::absolute(options.data_dir).lexically_normal();
    config_path = (dir / "opsgate.yaml").string();
    if (!fs::exists(config_path)) {
      std::cout << "First start: creating " << dir.string()
                << " (config, SQLite store, development certificate and keys)\n";
      auto init = InitDataDir({dir.string(), {}, 90}, clock);
      if (!init) {
        std::cerr << "opsgate serve: " << init.error().message << "\n";
        return 1;
      }
    }
  }

  auto loaded = config::LoadConfigFile(config_path);
  if (!loaded) {
    return PrintLoadError(loaded.error());
  }
  const auto config = loaded->config;

  ServeOverrides overrides;
  if (!options.listen.empty()) {
    auto listen = config::ParseListenAddress(options.listen);
    if (!listen) {
      std::cerr << "opsgate serve: --listen " << options.listen << ": "
                << listen.error().message << "\n";
      return 2;
    }
    overrides.listen_host = listen->host;
    overrides.listen_port = listen->port;
  }

  auto sink = telemetry::MakeStderrSink();
  telemetry::Logger log(*sink, clock,
                        telemetry::ParseLogLevel(config->log.level).value_or(
                            telemetry::LogLevel::kInfo));
  for (const auto& w : loaded->warnings) {
    log.Warn("config.warning", {{"detail", w.ToString()}});
  }

  auto gateway = Gateway::Create(config, overrides, log, clock);
  if (!gateway) {
    log.Error("startup.failed", {{"error", gateway.error().message}});
    std::cerr << "opsgate serve: " << gateway.error().message << "\n";
    return 1;
  }
  if (auto st = (*gateway)->Start(); !st) {
    log.Error("startup.failed", {{"error", st.error().message}});
    std::cerr << "opsgate serve: " << st.error().message << "\n";
    return 1;
  }
  PrintNextSteps(*config, overrides.listen_host.value_or(config->server.listen_host),
                 (*gateway)->port());
  (*gateway)->Run();
  log.Info("shutdown.complete");
  return 0;
}

}  // namespace opsgate::app
