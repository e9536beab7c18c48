#!/usr/bin/env bash
# opsgate vs Slack's own framework (@slack/bolt 5.1.0, HTTPReceiver) on the Slack hot path:
# correctly signed, distinct 371-byte slash commands over keep-alive connections, in one run
# on one machine, alternating servers (issue 3 item 7).
#
#   bench/slack_bench.sh                      # build, then 5 alternating rounds of 10 s each
#   bench/slack_bench.sh --runs 3 --duration 5 --no-build --out /tmp/slack.md
#
# Options: --runs N (5), --duration S (10), --warmup S (1, per run; plus a 3 s warm-up of
#   every server before the first round), --connections N (32), --build-dir DIR
#   (build-bench), --no-build, --out FILE (also write the Markdown report there),
#   --require-route (fail instead of falling back when opsgate has no POST /slack/events).
#   OPSGATE_BIN=PATH measures that opsgate binary instead of the one built here.
#
# Rows, measured in this order every round:
#   opsgate (HTTPS, its default; the generator pays for TLS too)
#   opsgate (plain HTTP: server.behind_tls_proxy: true, the apples-to-apples row)
#   bolt    (bench/peers/bolt.sh: Bolt's HTTPReceiver, plain HTTP, as ../shared/peers/)
# Both answer the command in the body of the 200 (Slack's immediate response), as the
# peer's app.js does; neither calls the response_url.
# Each server has its own port and data dir; only the one under test is loaded. The
# generator is bench/slack_load (one thread, like wrk -t1); it samples the server's max
# VmRSS and CPU time from /proc during each run.
# opsgate runs from `opsgate init` output with the Slack connector enabled via
# OPSGATE_SLACK_SIGNING_SECRET / _BOT_TOKEN / _API_URL (a closed loopback port, like the
# peer) / _TEAM_IDS. If opsgate answers the probe with 404 (no Slack route yet) the script
# says so and measures GET /healthz for the opsgate rows instead (labelled so).
#
# Time: about 3 rows x runs x (duration + warmup + ~0.6 s) + 20 s, i.e. ~3.5 min at the
# defaults plus the build and, the first time only, the npm install
# of Bolt (~20 s). Every run is bounded (slack_load stops by itself).
# The report records the load average before and after: other work on the machine makes
# the figures noisy, so compare only rows of the same run.
# Everything started here is stopped and the temp dir removed on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
runs=5 duration=10 warmup=1 connections=32 build=1 out= require_route=0
build_dir=$repo/build-bench
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --out) out=$2; shift 2 ;;
    --require-route) require_route=1; shift ;;
    -h|--help) sed -n '2,30p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "slack_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

log() { echo "slack_bench: $*" >&2; }

if (( build )); then
  log "building (Release) in $build_dir"
  cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DOPSGATE_TESTS=OFF >/dev/null
  ninja -j2 -C "$build_dir" slack_load opsgate >/dev/null
fi
opsgate=${OPSGATE_BIN:-$build_dir/opsgate}
[[ -x $opsgate ]] || opsgate=$(find "$build_dir" -name opsgate -type f -perm -u+x | head -1)
load=$build_dir/bench/slack_load
[[ -x $opsgate && -x $load ]] || { log "opsgate or slack_load not built in $build_dir"; exit 1; }

secret=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
team=T0BENCH01
port_tls=18443 port_plain=18080 port_bolt=13000
for p in $port_tls $port_plain $port_bolt; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then log "port $p is in use"; exit 1; fi
done

tmp=$(mktemp -d /tmp/slack_bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export OPSGATE_SLACK_SIGNING_SECRET=$secret
export OPSGATE_SLACK_BOT_TOKEN=xoxb-0000-fake
export OPSGATE_SLACK_API_URL=https://127.0.0.1:9/api
export OPSGATE_SLACK_TEAM_IDS=$team

start_opsgate() {  # name port plain(0/1) -> pid
  local dir=$tmp/$1
  "$opsgate" init "$dir" >/dev/null
  if [[ $3 == 1 ]]; then
    sed -i 's/^server:$/server:\n  behind_tls_proxy: true/' "$dir/opsgate.yaml"
    grep -q 'behind_tls_proxy: true' "$dir/opsgate.yaml" || { log "could not edit $dir/opsgate.yaml"; exit 1; }
  fi
  setsid "$opsgate" serve --config "$dir/opsgate.yaml" --listen "127.0.0.1:$2" \
    >"$dir/serve.log" 2>&1 </dev/null &
  local pid=$! scheme=https
  [[ $3 == 1 ]] && scheme=http
  for _ in $(seq 100); do
    if curl -sk --noproxy '*' -o /dev/null "$scheme://127.0.0.1:$2/healthz"; then echo "$pid"; return; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  log "opsgate ($1) did not come up; log:"; cat "$dir/serve.log" >&2; exit 1
}

pid_tls=$(start_opsgate tls $port_tls 0); pids+=("$pid_tls")
pid_plain=$(start_opsgate plain $port_plain 1); pids+=("$pid_plain")
pid_bolt=$("$here/peers/bolt.sh" --port $port_bolt --secret "$secret" --log "$tmp/bolt.log"); pids+=("$pid_bolt")
log "opsgate https pid $pid_tls, opsgate http pid $pid_plain, bolt pid $pid_bolt"

# Row definitions: name|url|extra generator args|pid
common=(--secret "$secret" --team-id "$team" --connections "$connections")
url_tls=https://127.0.0.1:$port_tls/slack/events
url_plain=http://127.0.0.1:$port_plain/slack/events
url_bolt=http://127.0.0.1:$port_bolt/slack/events
extra_tls=(--cacert "$tmp/tls/tls/server.crt")
extra_plain=()
og_method=POST

probe() {  # url args... -> prints status list
  "$load" --url "$1" "${@:2}" --secret "$secret" --team-id "$team" --connections 1 \
    --duration 0.3 --warmup 0 --quiet | grep -o 'status_[0-9]*' | tr '\n' ' ' || true
}
st_bolt=$(probe "$url_bolt")
st_og=$(probe "$url_tls" "${extra_tls[@]}")
log "probe: bolt -> ${st_bolt:-no answer}; opsgate -> ${st_og:-no answer}"
[[ $st_bolt == "status_200 " ]] || { log "Bolt does not accept the signed command (${st_bolt}); log:"; cat "$tmp/bolt.log" >&2; exit 1; }
og_note=
if [[ $st_og == *status_404* ]]; then
  if (( require_route )); then log "opsgate has no POST /slack/events route (404)"; exit 1; fi
  og_note="opsgate answered POST /slack/events with 404: the Slack route does not exist in this build. The opsgate rows below measure GET /healthz instead (no signature check, no parsing): they are NOT the Slack path."
  log "WARNING: $og_note"
  url_tls=https://127.0.0.1:$port_tls/healthz
  url_plain=http://127.0.0.1:$port_plain/healthz
  og_method=GET
elif [[ $st_og != "status_200 " ]]; then
  log "WARNING: opsgate answered the signed command with ${st_og:-nothing} (not 200); log tail:"
  tail -5 "$tmp/tls/serve.log" >&2
  og_note="opsgate answered the probe with ${st_og:-nothing}, not 200; see non-2xx below."
fi

rows=(og_tls og_plain bolt)
declare -A label url extra pid cmdline
what="POST /slack/events"
[[ $og_method == GET ]] && what="GET /healthz (no Slack route yet)"
label[og_tls]="$("$opsgate" version 2>/dev/null | head -1 | tr -d '\n'), HTTPS, $what"
label[og_plain]="opsgate, plain HTTP (behind_tls_proxy), $what"
label[bolt]="@slack/bolt 5.1.0, HTTPReceiver (plain HTTP)"
url[og_tls]=$url_tls; url[og_plain]=$url_plain; url[bolt]=$url_bolt
pid[og_tls]=$pid_tls; pid[og_plain]=$pid_plain; pid[bolt]=$pid_bolt

row_args() {  # row duration warmup -> sets args and cmdline[row]
  local r=$1
  args=(--url "${url[$r]}" "${common[@]}" --duration "$2" --warmup "$3" --pid "${pid[$r]}")
  case $r in
    og_tls) args+=("${extra_tls[@]}" --method "$og_method") ;;
    og_plain) args+=(--method "$og_method") ;;
  esac
  cmdline[$r]="slack_load ${args[*]}"
}
run_row() {  # row duration warmup -> RESULT line
  row_args "$@"
  "$load" "${args[@]}" --quiet | grep '^RESULT'
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "warming every server up (3 s each)"
for r in "${rows[@]}"; do run_row "$r" 3 0 >/dev/null; done
for i in $(seq "$runs"); do
  for r in "${rows[@]}"; do
    row_args "$r" "$duration" "$warmup"
    line=$(run_row "$r" "$duration" "$warmup")
    echo "$line" >>"$tmp/$r.results"
    log "round $i $r: $(sed 's/^RESULT //' <<<"$line" | cut -d' ' -f2,4-5,6,8,9,11-14)"
  done
done

field() { grep -o " $2=[^ ]*" "$tmp/$1.results" | cut -d= -f2; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
maxof() { sort -g | tail -1; }
sumof() { awk '{s+=$1} END {print s+0}'; }
fmt_int() { printf '%d' "${1%.*}" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
bolt_rps=$(field bolt rps | median)
{
  echo "## Slack slash command: opsgate vs @slack/bolt ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  echo "Machine: $(nproc) CPUs ($cpu), kernel $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME"), node $(node --version)."
  echo "opsgate $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?') (working tree), Release build."
  echo "Load: bench/slack_load, 1 thread, $connections keep-alive connections, signed distinct $(sed -n 's/.*body-bytes B (\([0-9]*\).*/\1/p' "$here/slack_load.cc" | head -1)-byte slash commands,"
  echo "$runs alternating rounds of ${duration} s (after ${warmup} s warm-up each; 3 s warm-up per server first); medians over rounds,"
  echo "RSS = max VmRSS over all rounds, CPU = server CPU time / wall time (cores)."
  echo "Load average (1/5/15 min) before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)."
  [[ -n $og_note ]] && { echo; echo "**$og_note**"; }
  echo
  echo "| server | req/s | vs Bolt | p50 | p90 | p99 | p99.9 | max | RSS under load | server CPU | non-2xx | errors |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for r in "${rows[@]}"; do
    rps=$(field "$r" rps | median)
    ratio=$(awk -v a="$rps" -v b="$bolt_rps" 'BEGIN {printf (b>0 ? "%.1fx" : "n/a"), a/b}')
    printf '| %s | %s | %s | %s ms | %s ms | %s ms | %s ms | %s ms | %.0f MiB | %s | %s | %s |\n' \
      "${label[$r]}" "$(fmt_int "$rps")" "$ratio" \
      "$(field "$r" p50_ms | median)" "$(field "$r" p90_ms | median)" \
      "$(field "$r" p99_ms | median)" "$(field "$r" p999_ms | median)" \
      "$(field "$r" max_ms | maxof)" "$(awk -v k="$(field "$r" server_rss_kib | maxof)" 'BEGIN {print k/1024}')" \
      "$(field "$r" server_cpu | median)" "$(field "$r" non2xx | sumof)" "$(field "$r" errors | sumof)"
  done
  echo
  echo "opsgate log, whole run (both instances): $(cat "$tmp"/tls/serve.log "$tmp"/plain/serve.log | grep -o '"event":"slack\.[a-z_]*"' | sort | uniq -c | awk '{printf "%s%s x %s", (NR>1?", ":""), $1, $2}' | sed 's/"event"://g; s/"//g')."
  echo
  echo "Per round req/s:"
  for r in "${rows[@]}"; do echo "- ${label[$r]}: $(field "$r" rps | tr '\n' ' ')"; done
  echo
  echo "Commands (secret is random per run; the CA is the data dir's self-signed certificate):"
  echo
  echo '    bench/slack_bench.sh --runs '"$runs"' --duration '"$duration"' --warmup '"$warmup"' --connections '"$connections"
  for r in "${rows[@]}"; do echo "    ${cmdline[$r]//$secret/\$SECRET}" | sed "s#$tmp#\$DATA#g"; done
  echo "    OPSGATE_SLACK_SIGNING_SECRET=\$SECRET OPSGATE_SLACK_BOT_TOKEN=xoxb-0000-fake OPSGATE_SLACK_API_URL=https://127.0.0.1:9/api OPSGATE_SLACK_TEAM_IDS=$team opsgate serve --config \$DATA/{tls,plain}/opsgate.yaml --listen 127.0.0.1:{$port_tls,$port_plain}"
  echo "    bench/peers/bolt.sh --port $port_bolt --secret \$SECRET   # SLACK_SIGNING_SECRET=\$SECRET PORT=$port_bolt HOST=127.0.0.1 node app.js"
} | tee "${out:-/dev/null}"
