#!/usr/bin/env bash
# Starts the @slack/bolt peer (Slack's own framework) exactly as ../shared/peers/README.md
# sets it up, and prints its PID on stdout once it accepts connections.
#
#   pid=$(bench/peers/bolt.sh --port 3000 --secret "$SECRET" [--receiver http|express] [--log FILE])
#   ...                                   # e.g. bench/slack_load --url http://127.0.0.1:3000/slack/events
#   kill "$pid"
#
# The peer: ../shared/peers/bolt/app.js (override with PEERS_DIR), @slack/bolt 5.1.0 installed
# with `npm init -y && npm install @slack/bolt@5.1.0` into bench/.cache/bolt-5.1.0 (ignored by
# git; delete it to reinstall). The first run needs the npm registry (~20 s); later runs reuse
# the install. app.js is copied fresh into that directory every time and run from there with
#   SLACK_SIGNING_SECRET=... PORT=... HOST=127.0.0.1 node app.js
# Bolt's HTTPReceiver serves POST /slack/events. Plain HTTP, loopback only.
# Diagnostics go to stderr (and node's output to --log, default <cache>/bolt.log).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
peers=${PEERS_DIR:-$(cd "$repo/.." && pwd)/shared/peers}
version=5.1.0
port=3000
secret=${SLACK_SIGNING_SECRET:-}
receiver=http
log=

while [[ $# -gt 0 ]]; do
  case $1 in
    --port) port=$2; shift 2 ;;
    --secret) secret=$2; shift 2 ;;
    --receiver) receiver=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "bolt.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n $secret ]] || { echo "bolt.sh: --secret (or SLACK_SIGNING_SECRET) is required" >&2; exit 2; }
[[ -f $peers/bolt/app.js ]] || { echo "bolt.sh: $peers/bolt/app.js not found (set PEERS_DIR)" >&2; exit 2; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "bolt.sh: node and npm are required" >&2; exit 2; }

cache=$here/../.cache/bolt-$version
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
if [[ ! -f $cache/node_modules/@slack/bolt/package.json ]]; then
  echo "bolt.sh: installing @slack/bolt@$version into $cache (once)" >&2
  (cd "$cache" && rm -rf node_modules package.json package-lock.json &&
   npm init -y >/dev/null && npm install --no-audit --no-fund "@slack/bolt@$version" >&2)
fi
installed=$(node -p "require('$cache/node_modules/@slack/bolt/package.json').version")
[[ $installed == "$version" ]] || { echo "bolt.sh: cache has bolt $installed, want $version" >&2; exit 1; }
cp "$peers/bolt/app.js" "$cache/app.js"

log=${log:-$cache/bolt.log}
if [[ $receiver == express ]]; then export RECEIVER=express; else unset RECEIVER; fi
cd "$cache"
SLACK_SIGNING_SECRET=$secret PORT=$port HOST=127.0.0.1 setsid node app.js >"$log" 2>&1 </dev/null &
pid=$!

# Wait (at most 10 s) until it accepts TCP connections.
for _ in $(seq 100); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "bolt.sh: node exited; log follows" >&2; cat "$log" >&2; exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "$pid"; exit 0
  fi
  sleep 0.1
done
echo "bolt.sh: bolt did not listen on 127.0.0.1:$port within 10 s" >&2
kill "$pid" 2>/dev/null || true
exit 1
