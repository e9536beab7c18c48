#!/usr/bin/env bash
# Quick start: install what is missing, build, and serve on the embedded default
# (SQLite store, self-signed development TLS) at https://127.0.0.1:8443.
# The first start creates ./opsgate-data. Extra arguments go to `opsgate serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
exec build/release/opsgate serve "$@"
