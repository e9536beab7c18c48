#!/usr/bin/env bash
# Configures and builds one flavour of opsgate into build/<flavour>.
#   scripts/build.sh [release|debug|asan] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."

flavour="${1:-release}"
shift || true
case "$flavour" in
  release) args=(-DCMAKE_BUILD_TYPE=Release) ;;
  debug) args=(-DCMAKE_BUILD_TYPE=Debug) ;;
  asan) args=(-DCMAKE_BUILD_TYPE=Debug -DOPSGATE_SANITIZE=ON -DOPSGATE_BENCH=OFF) ;;
  *) echo "build.sh: unknown flavour '$flavour' (release, debug or asan)" >&2; exit 2 ;;
esac

dir="build/$flavour"
cmake -S . -B "$dir" -G Ninja "${args[@]}" "$@" >/dev/null
# Two cores and heavy Beast headers: two jobs is the sweet spot.
cmake --build "$dir" -j "${OPSGATE_JOBS:-2}"
