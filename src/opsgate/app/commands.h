// File: opsgate/app/commands.h
//
// The subcommands of the opsgate binary. Each returns the process exit code and
// prints for a person: results on stdout, problems on stderr. Logs (serve) are
// JSON lines on stderr.
#pragma once

#include <string>
#include <vector>

namespace opsgate::app {

struct ServeOptions {
  std::string config_path;              // empty: <data_dir>/opsgate.yaml, created if missing
  std::string data_dir = "opsgate-data";
  std::string listen;                   // HOST:PORT override, empty for the config's
};

struct InitCommandOptions {
  std::string dir;
  std::vector<std::string> extra_hosts;
};

struct CheckOptions {
  std::string config_path;
};

int RunServe(const ServeOptions& options);
int RunInit(const InitCommandOptions& options);
int RunCheck(const CheckOptions& options);

}  // namespace opsgate::app
