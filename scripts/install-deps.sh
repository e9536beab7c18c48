#!/usr/bin/env bash
# Installs what opsgate needs to build and test on Debian 12, and nothing twice:
# packages already present are skipped, and apt-get runs only when something is
# missing. Uses sudo when not root.
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh --test   plus test tools (promtool, clang for fuzzing, rsyslog,
#                                    Chromium, Node.js and the npm test tooling)
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build pkg-config ccache git ca-certificates curl openssl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libcurl4-openssl-dev libyaml-cpp-dev libsqlite3-dev sqlite3 libre2-dev
  libcli11-dev libspdlog-dev libfmt-dev libexpected-dev libqrencode-dev
  libgtest-dev libgmock-dev libbenchmark-dev libexpat1-dev
)
test_pkgs=(
  prometheus            # promtool checks the /metrics exposition format
  clang libclang-rt-14-dev  # libFuzzer builds of the fuzz targets
  rsyslog rsyslog-openssl   # a real syslog receiver (TLS) for the SIEM export tests
  chromium fonts-dejavu-core  # the real-browser test of the web chat (playwright-core)
  python3-botocore      # an independent SigV4 verifier in the AWS stand-in (test/integration)
)

with_tests=false
pkgs=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then
  with_tests=true
  pkgs+=("${test_pkgs[@]}")
  # Node.js runs the test OpenID Provider (npm oidc-provider); keep an installed one.
  if ! command -v node >/dev/null 2>&1; then
    pkgs+=(nodejs npm)
  fi
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
else
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    sudo=(sudo)
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm test tooling (the OpenID Provider and playwright-core only), pinned by their
# package-lock.json files; installed again only when a lock file changed. Both need
# Node.js 20 or newer.
if $with_tests; then
  root="$(cd "$(dirname "$0")/.." && pwd)"
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  for tools in "$root/test/tools/oidc" "$root/test/tools/browser"; do
    if (( node_major < 20 )); then
      echo "install-deps: Node.js ${node_major} is older than 20: the tests using" \
           "${tools#$root/} will skip (and fail under CI=true)"
    elif [[ ! -f "$tools/node_modules/.package-lock.json" ||
            "$tools/package-lock.json" -nt "$tools/node_modules/.package-lock.json" ]]; then
      echo "install-deps: npm ci in ${tools#$root/}"
      npm ci --prefix "$tools" --no-audit --no-fund --loglevel=error
    fi
  done
fi
