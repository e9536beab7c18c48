#!/usr/bin/env bash
# Quick start: install what is missing, build, and run every test (unit,
# integration against the real binary, fuzz-corpus replays).
#   scripts/test.sh            release build, all tests
#   scripts/test.sh asan       ASan+UBSan build, all tests
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-release}"
scripts/install-deps.sh --test
scripts/build.sh "$flavour" -DOPSGATE_WERROR=ON
ctest --test-dir "build/$flavour" --output-on-failure -j 2 ${CTEST_ARGS:-}
