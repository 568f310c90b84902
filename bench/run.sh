#!/usr/bin/env bash
# suat's performance harness: release builds on loopback, wrk as the load generator, every scenario paired in the same
# run with a bare axum handler asked the same requests (the ceiling of this box) and reported as a ratio. Writes a
# Markdown table to stdout.
#
#   bash bench/run.sh [sqlite|postgres] [live-tokens] [seconds]
#
# PostgreSQL: uses database `test` on 127.0.0.1:5432 (a fresh schema per run is not possible across processes, so the
# run drops and recreates the tables through a fresh database `suat_bench`).
#
# Each write scenario is also paired with the durable write limit of the same rows on this disk, measured in the same
# run with no suat in the way: on SQLite bench's write_probe example (CONNS tasks, one writer committing all that is
# queued with multi-row statements, WAL + synchronous=FULL, what suat's writer does between groups, on a table
# holding as many tokens as suat's); on PostgreSQL pgbench running the same statements
# (bench/pg_*.sql) with as many clients as suat's pool has connections (16). "share" is suat's rate over that limit.
# SUAT_BIN runs another build of suat (e.g. an older commit's) against the same harness.
# PORT and CEIL_PORT move suat and the ceiling off 18787 and 18788 (two runs at once on one machine).
# LADDER=1 prints only the validation ladder (see below) instead of the scenarios; CEILINGS=1 only the ceiling asked
# `GET /` against the ceiling asked each scenario's requests.
set -euo pipefail
cd "$(dirname "$0")/.."
STORE=${1:-sqlite}
LIVE=${2:-1000}
SECS=${3:-5}
CONNS=${CONNS:-64}
REPS=${REPS:-3}
PORT=${PORT:-18787}
CEIL_PORT=${CEIL_PORT:-18788}
WORK=$(mktemp -d /tmp/suat-bench.XXXXXX)
export SUAT_MASTER_KEY=$(openssl rand -hex 32)
export SUAT_ADMIN_KEY=$(openssl rand -hex 24)

# The load generator is Debian's wrk, and GNU time counts its CPU; install them on a fresh machine.
if ! command -v wrk >/dev/null || [ ! -x /usr/bin/time ]; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq wrk time >/dev/null
fi

cargo build --release -q -p suat-cli -p suat-server --examples --bins
BIN=${SUAT_BIN:-target/release/suat}
PG_POOL=16
cleanup() { kill "${SRV:-}" "${CEIL:-}" "${CEIL2:-}" "${WARM:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

DBARGS=(--db "$WORK/suat.db")
POPULATE_DB="$WORK/suat.db"
if [ "$STORE" = postgres ]; then
  psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS suat_bench" -c "CREATE DATABASE suat_bench" >/dev/null
  DBARGS=(--database-url postgres://postgres@127.0.0.1:5432/suat_bench)
  POPULATE_DB=postgres://postgres@127.0.0.1:5432/suat_bench
fi

# The per-request log line (info) is an access log for tests and operators; the figures measure the handlers, so the
# benchmark logs warnings only unless RUST_LOG says otherwise. A run makes millions of calls within the hour: the
# rate limits (default 1M calls per hour) are raised out of the way, their counting still measured.
NOLIMIT=(--app-rate-limit 1000000000000 --user-rate-limit 1000000000000 --business-rate-limit 1000000000000)
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
# CALLGRIND=me|debug|post|refresh|revoke runs the server under callgrind instead and counts instructions per request.
WRAP=()
if [ -n "${CALLGRIND:-}" ]; then WRAP=(valgrind -q --tool=callgrind --instr-atstart=no "--callgrind-out-file=$WORK/cg.out"); fi
(cd "$WORK" && RUST_LOG=${RUST_LOG:-warn} exec "${WRAP[@]}" "$BIN" serve --listen 127.0.0.1:$PORT "${DBARGS[@]}" "${NOLIMIT[@]}" >/dev/null 2>"$WORK/server.log") &
SRV=$!
target/release/examples/ceiling 127.0.0.1:$CEIL_PORT 2>/dev/null &
CEIL=$!
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/_suat/health" >/dev/null && curl -sf "http://127.0.0.1:$CEIL_PORT/" >/dev/null && break; sleep 0.1; done

S=http://127.0.0.1:$PORT
adm() { curl -sf -H "Authorization: Bearer $SUAT_ADMIN_KEY" -H 'content-type: application/json' -X "$1" "$S/_suat$2" -d "${3:-{\}}"; }
B=$(adm POST /businesses '{"name":"Bench"}' | jq -r .id)
APP=$(adm POST /apps "{\"name\":\"Bench App\",\"owner_business\":\"$B\"}")
APP_ID=$(jq -r .id <<<"$APP"); SECRET=$(jq -r .secret <<<"$APP")
ADMIN=$(adm POST /users "{\"name\":\"Admin\",\"business_id\":\"$B\",\"admin\":true}" | jq -r .id)
ADMIN_TOKEN=$(adm POST /users/$ADMIN/tokens "{\"app_id\":\"$APP_ID\"}" | jq -r .access_token)
SU=$(adm POST /system_users "{\"business_id\":\"$B\",\"name\":\"bot\",\"role\":\"ADMIN\"}" | jq -r .id)
curl -sf -F business_app=$APP_ID -F access_token=$ADMIN_TOKEN "$S/v25.0/$SU/applications" >/dev/null
proof() { printf %s "$1" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.*= //'; }
SU_TOKEN=$(curl -sf -F business_app=$APP_ID -F scope=ads_read -F appsecret_proof=$(proof "$ADMIN_TOKEN") \
  -F access_token=$ADMIN_TOKEN "$S/v25.0/$SU/access_tokens" | jq -r .access_token)

# The live tokens the issue asks for, plus a pool of known ones for the refresh and revoke scenarios, and every live
# token with its appsecret_proof for the working-set scenarios (ws.txt: about 250 bytes a token).
target/release/examples/bench_populate "$POPULATE_DB" "$APP_ID" "$SU" "$LIVE" "$WORK/tokens.txt" 200000 \
  "$WORK/ws.txt" "$SECRET" 2>>"$WORK/server.log"

# The limit probe's database: on PostgreSQL a copy of suat's schema (no rows) in its own database, with tokens to
# revoke.
PROBE_URL=postgres://postgres@127.0.0.1:5432/suat_probe
if [ "$STORE" = postgres ]; then
  psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS suat_probe" -c "CREATE DATABASE suat_probe" >/dev/null
  pg_dump -s -h 127.0.0.1 -U postgres suat_bench | psql -q "$PROBE_URL" >/dev/null
  psql -q "$PROBE_URL" -c "INSERT INTO tokens SELECT decode(md5(g::text) || md5(g::text), 'hex'), 'SYSTEM_USER', 1, 2,
    NULL, '[\"ads_read\"]', 1700000000, NULL, NULL, NULL, 0 FROM generate_series(1, 200000) g" >/dev/null
fi
# probe insert|revoke tokens -> durable writes/s of those rows with no suat in the way; on SQLite the probe's table
# starts with that many tokens, as many as suat's held when the round began.
# Prints "writes/s CPU-µs-per-write": the second is write_probe's whole process over its timed window (SQLite only;
# "-" on PostgreSQL, whose work is in its server's processes).
probe() {
  if [ "$STORE" = postgres ]; then
    pgbench -n -M prepared -c "$PG_POOL" -j 2 -T "$SECS" -f "bench/pg_$1.sql" "$PROBE_URL" 2>/dev/null | awk '/^tps/ {printf "%.0f -\n", $3}'
  else
    rm -f "$WORK"/probe.db*
    target/release/examples/write_probe "$WORK/probe.db" "$1" "$CONNS" "$SECS" "$2"
  fi
}

# The group-commit writer's counters on suat's /metrics, so far: "writes groups seconds", then the committed groups
# and the seconds of each phase of theirs (begin, writes, audit, commit).
groups() {
  curl -s "$S/metrics" | awk '/^suat_store_write_group_size_sum/ {w=$2} /^suat_store_write_group_size_count/ {g=$2}
    /^suat_store_write_group_seconds_sum/ {t=$2}
    /^suat_store_write_group_phase_seconds_count\{phase="begin"\}/ {n=$2}
    /^suat_store_write_group_phase_seconds_sum\{phase="begin"\}/ {pb=$2}
    /^suat_store_write_group_phase_seconds_sum\{phase="writes"\}/ {pw=$2}
    /^suat_store_write_group_phase_seconds_sum\{phase="audit"\}/ {pa=$2}
    /^suat_store_write_group_phase_seconds_sum\{phase="commit"\}/ {pc=$2}
    END {print w+0, g+0, t+0, n+0, pb+0, pw+0, pa+0, pc+0}'
}
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2/1024}' /proc/$SRV/status; }
# wrk output -> "rps p50_ms p99_ms non-2xx requests"; wrk's own CPU seconds (user and system) in $WORK/wrk.cpu.
run_wrk() {
  /usr/bin/time -f '%U %S' -o "$WORK/wrk.cpu" wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$@" 2>/dev/null | awk '
    /Requests\/sec/ {rps=$2}
    / requests in / {n=$1}
    /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
    /Non-2xx/ {bad=$NF}
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    END {printf "%.0f %.2f %.2f %s %d\n", rps, ms(p50), ms(p99), (bad==""?0:bad), n}'
}
# Where the CPU goes, in clock ticks (USER_HZ). suat: all its threads, including any that ended ("all"), and the
# threads SQLite's connections run on (sqlx's, by name; on PostgreSQL none); the rest of suat is tokio's workers (HTTP,
# the use cases, the writer's task). PostgreSQL: every postgres process (the backends of suat's pool, or pgbench's).
# The machine: /proc/stat's busy, idle (with I/O wait) and steal (time the hypervisor gave another guest) ticks.
TICK_US=$((1000000 / $(getconf CLK_TCK)))
suat_ticks() {
  local sq
  sq=$(cat /proc/"$SRV"/task/*/stat 2>/dev/null | awk '$2 ~ /^\(sqlx-sqlite/ {t += $14 + $15} END {print t + 0}')
  echo "$(awk '{print $14 + $15}' /proc/"$SRV"/stat) $sq"
}
pid_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
pg_ticks() {
  local p; for p in $(pgrep -x postgres); do cat "/proc/$p/stat" 2>/dev/null; done | awk '{t += $14 + $15} END {print t + 0}'
}
machine_ticks() { awk '/^cpu / {b = $2 + $3 + $4 + $7 + $8; print b, $5 + $6, $9}' /proc/stat; }
wrk_ticks() { awk -v us="$TICK_US" '{printf "%.0f\n", ($1 + $2) * 1000000 / us}' "$WORK/wrk.cpu"; }
CPU_ROWS=()
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# against_bare wrk-args...: REPS rounds, each the bare ceiling asked `GET /` then wrk with these arguments; the two
# medians in BARE and OTHER.
against_bare() {
  local bs=() os=() b o
  for _ in $(seq "$REPS"); do
    b=$(run_wrk "http://127.0.0.1:$CEIL_PORT/"); bs+=("${b%% *}")
    o=$(run_wrk "$@"); os+=("${o%% *}")
  done
  BARE=$(printf '%s\n' "${bs[@]}" | median); OTHER=$(printf '%s\n' "${os[@]}" | median)
}

ME="$S/v25.0/me?access_token=$SU_TOKEN&appsecret_proof=$(proof "$SU_TOKEN")"
# A person's token (the business admin's): its validation also answers to what the person told the app.
ME_PERSON="$S/v25.0/me?access_token=$ADMIN_TOKEN&appsecret_proof=$(proof "$ADMIN_TOKEN")"
DEBUG="$S/v25.0/debug_token?input_token=$SU_TOKEN&access_token=$APP_ID%7C$SECRET"
REFRESH="$S/v25.0/oauth/access_token?grant_type=fb_exchange_token&client_id=$APP_ID&client_secret=$SECRET&fb_exchange_token=$SU_TOKEN"
export POST_BODY="business_app=$APP_ID&scope=ads_read&appsecret_proof=$(proof "$ADMIN_TOKEN")&access_token=$ADMIN_TOKEN"
export TOKENS_FILE="$WORK/tokens.txt"
export WS_FILE="$WORK/ws.txt" WS_APP_TOKEN="$APP_ID%7C$SECRET" WS_THREADS=2
export REVOKE_PATH="/v25.0/oauth/revoke?client_id=$APP_ID&client_secret=$SECRET&access_token=$APP_ID%7C$SECRET"

if [ -n "${SWITCHES:-}" ]; then
  # Context switches per request, suat vs the ceiling, under the same load.
  for who in suat ceiling; do
    pid=$SRV; url=$ME
    [ $who = ceiling ] && { pid=$CEIL; url="http://127.0.0.1:$CEIL_PORT/"; }
    perf stat -e context-switches,task-clock -p "$pid" -o "$WORK/stat.$who" -- sleep "$SECS" >/dev/null 2>&1 &
    P=$!; r=$(run_wrk "$url"); wait $P || true
    cs=$(awk '/context-switches/ {gsub(",","",$1); print $1}' "$WORK/stat.$who")
    tc=$(awk '/task-clock/ {gsub(",","",$1); print $1}' "$WORK/stat.$who")
    n=$(( ${r%% *} * SECS ))
    echo "$who: ${r%% *} req/s, $(echo "$cs / $n" | bc -l | cut -c1-5) switches/req, $(echo "$tc * 1000 / $n" | bc -l | cut -c1-6) us CPU/req"
  done
  exit 0
fi

if [ -n "${LADDER:-}" ]; then
  # LADDER=1: where a cached validation's time goes, rung by rung, each paired with the bare ceiling in the same
  # round. A second ceiling replays the very bytes of suat's `GET /me` answer (headers and body, recorded here) to the
  # very request wrk sends suat, with no work behind them; then suat's cheapest route, suat's Graph stack answering
  # a request it refuses before any lookup, and the cached `GET /me` itself.
  curl -sfi "$ME" >"$WORK/answer.http"
  CEIL2_PORT=${CEIL2_PORT:-18789}
  CEILING_ANSWER="$WORK/answer.http" target/release/examples/ceiling 127.0.0.1:$CEIL2_PORT 2>/dev/null &
  CEIL2=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$CEIL2_PORT/" >/dev/null && break; sleep 0.1; done
  echo "| rung | req/s (median of $REPS) | ceiling req/s | ratio |"
  echo "|---|---|---|---|"
  rung() {
    against_bare "$2"
    printf '| %s | %s | %s | %.2f |\n' "$1" "$OTHER" "$BARE" "$(echo "$OTHER / $BARE" | bc -l)"
  }
  rung "ceiling: suat's request, answered with the bytes of suat's answer, no work" "http://127.0.0.1:$CEIL2_PORT${ME#"$S"}"
  rung "suat: \`GET /_suat/health\` (listener, outer middleware, router)" "$S/_suat/health"
  rung "suat: \`GET /v25.0/me\` without a token (the Graph stack, refused before any lookup: 400)" "$S/v25.0/me"
  rung "suat: \`GET /me\` + appsecret_proof, cached (the above, authentication and the answer)" "$ME"
  kill "$CEIL2" 2>/dev/null || true
  exit 0
fi

if [ -n "${HOLD:-}" ]; then
  # HOLD=file: the set-up only, for experiments by hand; writes the server's pid and URLs to that file and waits.
  # Source it, then e.g. `wrk -s bench/post.lua "$POST"` or `wrk -s bench/revoke.lua "$S"`.
  printf 'SRV=%s\nS=%s\nME=%q\nDEBUG=%q\nREFRESH=%q\nPOST=%q\nCEIL=http://127.0.0.1:%s/\nWORK=%s\n' \
    "$SRV" "$S" "$ME" "$DEBUG" "$REFRESH" "$S/v25.0/$SU/access_tokens" "$CEIL_PORT" "$WORK" >"$HOLD"
  printf 'export POST_BODY=%q TOKENS_FILE=%q WS_FILE=%q WS_APP_TOKEN=%q WS_THREADS=2 REVOKE_PATH=%q\n' \
    "$POST_BODY" "$TOKENS_FILE" "$WS_FILE" "$WS_APP_TOKEN" "$REVOKE_PATH" >>"$HOLD"
  sleep infinity || true
  exit 0
fi

if [ -n "${CALLGRIND:-}" ]; then
  # Instruction counts per request (machine noise does not move them): N requests on one keep-alive connection after
  # a warm-up, counted by callgrind with collection switched on only around them.
  N=${N:-2000}
  # ws: GET /me + appsecret_proof with a different live token each time, none cached: the cache-miss path, one
  # database read per request (needs live tokens >= N + 200).
  case $CALLGRIND in
    me) url=$ME ;; debug) url=$DEBUG ;; refresh) url=$REFRESH ;; ws) url=$S/v25.0/me ;;
    *) echo "CALLGRIND=me|debug|refresh|ws" >&2; exit 2 ;;
  esac
  # loop COUNT SKIP: COUNT requests; for ws, with the tokens after the first SKIP lines of the working-set file.
  loop() { python3 - "$url" "$1" "$2" "$CALLGRIND" "$WS_FILE" <<'PY'
import http.client, itertools, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1]); c = http.client.HTTPConnection(u.netloc)
n, skip, mode = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if mode == "ws":
    lines = itertools.islice(open(sys.argv[5]), skip, skip + n)
    paths = [u.path + "?access_token=%s&appsecret_proof=%s" % tuple(l.split()) for l in lines]
    assert len(paths) == n, "CALLGRIND=ws needs more live tokens"
else:
    paths = [u.path + "?" + u.query] * n
for p in paths:
    c.request("GET", p); r = c.getresponse(); r.read(); assert r.status == 200, r.status
PY
  }
  callgrind_control -i on "$SRV" >/dev/null
  loop 200 0
  callgrind_control -z "$SRV" >/dev/null
  loop "$N" 200
  callgrind_control -d "$SRV" >/dev/null
  sleep 1
  out=$(ls -t "$WORK"/cg.out* | head -1)
  if [ -n "${CG_OUT:-}" ]; then cp "$out" "$CG_OUT"; fi
  total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !n++ {gsub(",","",$1); print $1}')
  echo "$CALLGRIND: $((total / N)) instructions per request (callgrind, $N requests)"
  callgrind_annotate --inclusive=yes "$out" 2>/dev/null | sed -n '/^Ir/,$p' | head -60 || true
  exit 0
fi

if [ -n "${PROFILE:-}" ]; then
  # Profile mode: sample the server (software clock) while wrk drives GET /me (or PROFILE=post|refresh|revoke, or
  # ws: GET /me over the working set of every live token, mostly cache misses with about 1e6 live tokens; a few
  # thousand are all cached within the first second), and print the hottest symbols, by self time and then with
  # their callees.
  perf record -q -F 1999 -e cpu-clock -g -p "$SRV" -o "$WORK/perf.data" -- sleep "$SECS" >/dev/null 2>&1 &
  PERF=$!
  case $PROFILE in
    post) run_wrk -s bench/post.lua "$S/v25.0/$SU/access_tokens" >/dev/null ;;
    refresh) run_wrk "$REFRESH" >/dev/null ;;
    revoke) run_wrk -s bench/revoke.lua "$S" >/dev/null ;;
    ws) run_wrk -s bench/working_set.lua "$S" >/dev/null ;;
    *) run_wrk "$ME" >/dev/null ;;
  esac
  wait $PERF || true
  # PERF_DATA=path keeps the samples for a closer look (perf report -i path).
  if [ -n "${PERF_DATA:-}" ]; then cp "$WORK/perf.data" "$PERF_DATA"; fi
  perf report -i "$WORK/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | sed -E 's/ {2,}/ /g' | head -40 || true
  echo "--- with callees (children)"
  perf report -i "$WORK/perf.data" --children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | sed -E 's/ {2,}/ /g' | head -40 || true
  exit 0
fi

# at_ceiling wrk-args...: the same arguments aimed at the ceiling, in CARGS. Each scenario's ceiling gets the very
# requests suat gets: the load generator's own work (a Lua script drawing a token per request, a longer URL, a body)
# shares these two cores with the server, so it belongs on both sides of the ratio. (Until 2026-11-24 the ceiling got
# a bare `GET /`, which left, for one, a working-set scenario's script on suat's side only; CEILINGS=1 measures what
# that changes.)
at_ceiling() { CARGS=(); local a; for a in "$@"; do CARGS+=("${a/#"$S"/http://127.0.0.1:$CEIL_PORT}"); done; }

if [ -n "${CEILINGS:-}" ]; then
  # CEILINGS=1: for each scenario, the bare ceiling asked `GET /` against the bare ceiling asked the scenario's very
  # requests, alternately in each round; no suat figures. The ratio is what the pairing by requests does to a
  # scenario's denominator.
  echo "| scenario | ceiling asked \`GET /\` (req/s, median of $REPS) | ceiling asked the scenario's requests | ratio |"
  echo "|---|---|---|---|"
else
  echo "| store | live tokens | scenario | req/s (median of $REPS) | ceiling req/s | ratio | write limit/s | share of limit | p50 ms | p99 ms | non-2xx | RSS MB |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
fi
# scenario NAME LIMIT wrk-args...: LIMIT is the probe mode of a write scenario's limit (insert|revoke), or "-".
scenario() {
  local name=$1 limit=$2; shift 2
  # ONLY=regex runs just the matching scenarios.
  if [ -n "${ONLY:-}" ] && ! grep -Eq "$ONLY" <<<"$name"; then return; fi
  at_ceiling "$@"
  if [ -n "${CEILINGS:-}" ]; then
    against_bare "${CARGS[@]}"
    printf '| %s | %s | %s | %.2f |\n' "$name" "$BARE" "$OTHER" "$(echo "$OTHER / $BARE" | bc -l)"
    return
  fi
  local rs=() cs=() ls=() p50s=() p99s=() bad=0 last
  # CPU ticks summed over the rounds, by index: 0 suat (all), 1 SQLite's threads, 2 PostgreSQL, 3 wrk, 4-6 the machine
  # (busy, idle, steal), 7 the requests suat answered, 8 unused, 9 the ceiling's own, 10 its wrk's, 11 its requests.
  # The probe's µs per write are kept apart, in pcpu.
  local cpu=(0 0 0 0 0 0 0 0 0 0 0 0) pcpu=() a b pr pc
  for _ in $(seq "$REPS"); do
    if [ "$limit" != - ] && [ "$STORE" = sqlite ]; then tokens=$(target/release/examples/write_probe "$WORK/suat.db" count); fi
    a=$(pid_ticks "$CEIL")
    c=$(run_wrk "${CARGS[@]}"); cs+=("${c%% *}")
    read -r -a a <<<"$(( $(pid_ticks "$CEIL") - a )) $(wrk_ticks) $(cut -d' ' -f5 <<<"$c")"
    cpu[9]=$((cpu[9] + a[0])); cpu[10]=$((cpu[10] + a[1])); cpu[11]=$((cpu[11] + a[2]))
    if [ "$limit" != - ]; then g0s=$(groups); fi
    read -r -a a <<<"$(suat_ticks) $(pg_ticks) $(machine_ticks)"
    last=$(run_wrk "$@"); rs+=("${last%% *}")
    read -r -a b <<<"$(suat_ticks) $(pg_ticks) $(machine_ticks)"
    for i in 0 1 2; do cpu[i]=$((cpu[i] + b[i] - a[i])); done
    for i in 3 4 5; do cpu[i + 1]=$((cpu[i + 1] + b[i] - a[i])); done
    cpu[3]=$((cpu[3] + $(wrk_ticks))); cpu[7]=$((cpu[7] + $(cut -d' ' -f5 <<<"$last")))
    if [ "$limit" != - ]; then
      # On stderr, beside the probe's own line: how many writes each commit served, and how long a group took.
      # Then where a committed group's time went, phase by phase.
      awk -v name="$name" -v a="$g0s" -v b="$(groups)" 'BEGIN {split(a, x, " "); split(b, y, " ");
        g = y[2] - x[2]; n = y[4] - x[4]
        if (g > 0) printf "suat %s: %d groups, %.1f writes each, %.2f ms each", name, g, (y[1] - x[1]) / g, (y[3] - x[3]) * 1000 / g
        if (n > 0) printf " (begin %.2f, writes %.2f, audit %.2f, commit %.2f ms)", (y[5] - x[5]) * 1000 / n,
          (y[6] - x[6]) * 1000 / n, (y[7] - x[7]) * 1000 / n, (y[8] - x[8]) * 1000 / n
        if (g > 0) printf "\n"}' >&2
    fi
    read -r _ p50 p99 b _ <<<"$last"; p50s+=("$p50"); p99s+=("$p99"); bad=$((bad + b))
    if [ "$limit" != - ]; then
      # A failed probe must stop the run (as it did before it printed two fields), not leave a share of nothing.
      pr=$(probe "$limit" "${tokens:-0}"); read -r pr pc <<<"$pr"
      [ -n "$pr" ] || { echo "the write probe failed" >&2; exit 1; }
      ls+=("$pr"); pcpu+=("$pc")
    fi
  done
  local r c50 l50="-" share="-" p50cpu="-"
  r=$(printf '%s\n' "${rs[@]}" | median); c50=$(printf '%s\n' "${cs[@]}" | median)
  if [ "$limit" != - ]; then
    l50=$(printf '%s\n' "${ls[@]}" | median); share=$(printf '%.2f' "$(echo "$r / $l50" | bc -l)")
    if [ "${pcpu[0]}" != - ]; then p50cpu=$(printf '%s\n' "${pcpu[@]}" | median); fi
  fi
  CPU_ROWS+=("$(awk -v name="$name" -v us="$TICK_US" -v store="$STORE" -v probe="$p50cpu" -v c="${cpu[*]}" 'BEGIN {
    split(c, x, " "); n = x[8] > 0 ? x[8] : 1; cn = x[12] > 0 ? x[12] : 1; all = x[5] + x[6] + x[7]
    printf "| %s | %.1f | %s | %s | %.1f | %.2f | %.2f | %s | %.1f | %.1f |\n", name,
      (x[1] - x[2]) * us / n, (store == "sqlite") ? sprintf("%.1f", x[2] * us / n) : "-",
      (store == "postgres") ? sprintf("%.1f", x[3] * us / n) : "-", x[4] * us / n,
      x[6] / all, x[7] / all, probe, x[10] * us / cn, x[11] * us / cn }')")
  printf '| %s | %s | %s | %s | %s | %.2f | %s | %s | %s | %s | %s | %s |\n' "$STORE" "$LIVE" "$name" "$r" "$c50" \
    "$(echo "$r / $c50" | bc -l)" "$l50" "$share" "$(printf '%s\n' "${p50s[@]}" | median)" \
    "$(printf '%s\n' "${p99s[@]}" | median)" "$bad" "$(rss_mb)"
}
scenario "GET /me + appsecret_proof" - "$ME"
scenario "GET /debug_token" - "$DEBUG"
scenario "GET /me + appsecret_proof, a person's token" - "$ME_PERSON"
# Every request presents a token picked at random out of all the live ones (bench/working_set.lua). First cold: the
# first round starts with those tokens uncached (only the single token above is), so it measures the misses, and the
# later rounds find what the earlier ones cached; the median is of the three. With WS_WARM=1 (bench/all.sh sets it)
# every live token is then asked for once (one pass, in order, not timed) and both scenarios run again, named so:
# the steady state of a server whose working set is all its live tokens.
WS=" working set = all live tokens"
scenario "GET /me + appsecret_proof,$WS" - -s bench/working_set.lua "$S"
WS_MODE=debug scenario "GET /debug_token,$WS" - -s bench/working_set.lua "$S"
if [ -n "${WS_WARM:-}" ] && [ -z "${CEILINGS:-}" ] && { [ -z "${ONLY:-}" ] || grep -Eq "$ONLY" <<<"$WS (after one pass over them)"; }; then
  t0=$(date +%s); rss0=$(rss_mb)
  WS_ORDER=walk WS_DONE="$WORK/warm" wrk -t2 -c"$CONNS" -d3600s -s bench/working_set.lua "$S" >/dev/null 2>&1 &
  WARM=$!
  until [ -e "$WORK/warm.0" ] && [ -e "$WORK/warm.1" ]; do sleep 0.2; done
  kill "$WARM"; wait "$WARM" 2>/dev/null || true
  echo "warm-up: every one of the $LIVE live tokens asked for once in $(( $(date +%s) - t0 )) s; RSS $rss0 MB before, $(rss_mb) MB after" >&2
  WS="$WS (after one pass over them)"
  scenario "GET /me + appsecret_proof,$WS" - -s bench/working_set.lua "$S"
  WS_MODE=debug scenario "GET /debug_token,$WS" - -s bench/working_set.lua "$S"
fi
scenario "POST /{su}/access_tokens" insert -s bench/post.lua "$S/v25.0/$SU/access_tokens"
scenario "refresh (fb_exchange_token)" insert "$REFRESH"
scenario "GET /oauth/revoke" revoke -s bench/revoke.lua "$S"
if [ ${#CPU_ROWS[@]} -gt 0 ]; then
  echo
  echo "CPU time per request answered, µs, over the $REPS rounds; idle and steal as shares of the $(nproc) cores' time while wrk drove suat (\"Where the CPU goes\" in the notes):"
  echo
  echo "| scenario | suat: tokio's workers | suat: SQLite's threads | PostgreSQL's processes | wrk | idle | steal | probe, per write | the ceiling | wrk, at the ceiling |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${CPU_ROWS[@]}"
fi
if [ -n "${SHOW_ERRORS:-}" ]; then
  echo "errors logged by the server:"; grep -iE "error|warn" "$WORK/server.log" | sort | uniq -c | sort -rn | head -5
fi
echo
echo "peak RSS of suat serve: $(awk '/VmHWM/ {printf "%.0f", $2/1024}' /proc/$SRV/status) MB"
