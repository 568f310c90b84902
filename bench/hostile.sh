#!/usr/bin/env bash
# Issue 11's figures, on the release build, in one run:
#  1. peak RSS of `suat serve` while 200 wrong sign-ins hit the consent page at once (target < 150 MB);
#  2. GET /me (with appsecret_proof) req/s while 5,000 idle connections are open, against the same without them,
#     alternating rounds, medians (target >= 0.8).
#
#   bash bench/hostile.sh [seconds-per-round]      (REPS=3 IDLE=5000 SIGNINS=200 CONNS=64)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-5}; REPS=${REPS:-3}; IDLE=${IDLE:-5000}; SIGNINS=${SIGNINS:-200}; CONNS=${CONNS:-64}
PORT=18797
WORK=$(mktemp -d /tmp/suat-hostile.XXXXXX)
export SUAT_MASTER_KEY=$(openssl rand -hex 32)
export SUAT_ADMIN_KEY=$(openssl rand -hex 24)
if ! command -v wrk >/dev/null; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq wrk >/dev/null
fi
cargo build --release -q -p suat-cli
BIN=$PWD/target/release/suat
cleanup() { kill "${SRV:-}" "${HOLD:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
NOLIMIT=(--app-rate-limit 1000000000000 --user-rate-limit 1000000000000 --business-rate-limit 1000000000000)
(cd "$WORK" && RUST_LOG=warn exec "$BIN" serve --listen 127.0.0.1:$PORT --db "$WORK/suat.db" "${NOLIMIT[@]}" >/dev/null 2>"$WORK/server.log") &
SRV=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/_suat/health" >/dev/null && break; sleep 0.1; done
S=http://127.0.0.1:$PORT
adm() { curl -sf -H "Authorization: Bearer $SUAT_ADMIN_KEY" -H 'content-type: application/json' -X "$1" "$S/_suat$2" -d "${3:-{\}}"; }
REDIRECT=https://app.example/callback
B=$(adm POST /businesses '{"name":"Bench"}' | jq -r .id)
APP=$(adm POST /apps "{\"name\":\"Bench App\",\"owner_business\":\"$B\",\"redirect_uris\":[\"$REDIRECT\"]}")
APP_ID=$(jq -r .id <<<"$APP"); SECRET=$(jq -r .secret <<<"$APP")
USER=$(adm POST /users "{\"name\":\"Pat\",\"business_id\":\"$B\",\"admin\":true,\"password\":\"correct horse\"}" | jq -r .id)
TOKEN=$(adm POST /users/$USER/tokens "{\"app_id\":\"$APP_ID\"}" | jq -r .access_token)
PROOF=$(printf %s "$TOKEN" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.*= //')
ME="$S/v25.0/me?access_token=$TOKEN&appsecret_proof=$PROOF"

hwm() { awk '/VmHWM/ {printf "%.0f", $2/1024}' /proc/$SRV/status; }
rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' /proc/$SRV/status; }
echo "## Hostile clients (bench/hostile.sh, $(date -u +%F), $(nproc) cores)"
echo
before=$(hwm)
got=$(python3 bench/hostile.py signin "$S" "$APP_ID" "$REDIRECT" "$SIGNINS")
echo "- $SIGNINS concurrent wrong sign-ins: answers $got; peak RSS $before MB before, $(hwm) MB after (target < 150 MB)."
pool=$(curl -sf -H "Authorization: Bearer $SUAT_ADMIN_KEY" "$S/_suat/usage" | jq -c .password_pool)
echo "  Password-hashing pool: $pool."

run_wrk() { wrk -t2 -c"$CONNS" -d"${SECS}s" "$1" 2>/dev/null | awk '/Requests\/sec/ {printf "%.0f\n", $2}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=(); loaded=()
for _ in $(seq "$REPS"); do
  base+=("$(run_wrk "$ME")")
  mkfifo "$WORK/hold"
  python3 bench/hostile.py idle 127.0.0.1 $PORT "$IDLE" <"$WORK/hold" >"$WORK/hold.out" 2>>"$WORK/hold.err" &
  HOLD=$!
  exec 7>"$WORK/hold"
  for _ in $(seq 600); do grep -q ready "$WORK/hold.out" 2>/dev/null && break; sleep 0.1; done
  loaded+=("$(run_wrk "$ME")")
  exec 7>&-; wait $HOLD || true; rm -f "$WORK/hold" "$WORK/hold.out"
done
b=$(printf '%s\n' "${base[@]}" | median); l=$(printf '%s\n' "${loaded[@]}" | median)
echo "- GET /me + appsecret_proof, wrk -t2 -c$CONNS, ${SECS} s rounds, median of $REPS alternating: $b req/s without," \
  "$l req/s with $IDLE idle connections open: ratio $(echo "$l / $b" | bc -l | cut -c1-4) (target >= 0.8)."
echo "  Rounds without: ${base[*]}; with: ${loaded[*]}. $(tail -1 "$WORK/hold.err" 2>/dev/null) (checked after the last round)."
echo "- RSS now $(rss) MB, peak $(hwm) MB."
