#!/usr/bin/env bash
# Load benchmark of `rampart server` (issue 5): requests per second and
# latency percentiles from wrk for
#   - GET /healthz, unauthenticated: the baseline (routing, the request-id,
#     logging and timeout layers, the gate's public-route check);
#   - GET /api/roles/_project_viewer?org=eng&project=web with a Project
#     Viewer's API token in x-api-key: token parsing and checksum, the
#     keyed-hash lookup and constant-time compare, the IP allowlist, the
#     RBAC decision (core_role_view at the project), the JSON body.
# Same server, same wrk settings, one after the other. Release build; the
# server logs at its default level (one line per request) to a file.
# Usage: benches/server-load.sh [DURATION_SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-15}
connections=${2:-32}
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v wrk >/dev/null; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --locked -q -p rampart
bin="${CARGO_TARGET_DIR:-target}/release/rampart"

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" server --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/stdout" 2>"$work/server.log" &
server=$!
for _ in $(seq 100); do
  grep -q "one-time password" "$work/stdout" 2>/dev/null && break
  sleep 0.05
done
password=$(sed -n 's/.*one-time password: \([^ ]*\).*/\1/p' "$work/stdout")
token=$(python3 benches/server-setup.py "http://127.0.0.1:$port" "$password")
url="http://127.0.0.1:$port"
path="/api/roles/_project_viewer?org=eng&project=web"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: $token" "$url$path")
[ "$status" = 200 ] || { echo "the authenticated GET answered $status" >&2; exit 1; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr); $(wrk --version 2>&1 | head -n 1)"
rounds=${ROUNDS:-3}
echo "wrk -t2 -c$connections -d${duration}s --latency, $rounds alternating rounds after a 3 s warm-up of each"
wrk -t2 -c"$connections" -d3s "$url/healthz" >/dev/null
wrk -t2 -c"$connections" -d3s -H "x-api-key: $token" "$url$path" >/dev/null
run() {
  local name=$1; shift
  echo "== $name"
  wrk -t2 -c"$connections" -d"${duration}s" --latency "$@" | grep -E 'Requests/sec|Latency  |  50%|  90%|  99%|Non-2xx|Socket errors'
}
echo "response sizes: healthz $(curl -s "$url/healthz" | wc -c) B, authenticated GET $(curl -s -H "x-api-key: $token" "$url$path" | wc -c) B"
for round in $(seq "$rounds"); do
  echo "-- round $round"
  run "GET /healthz (unauthenticated baseline)" "$url/healthz" | tee -a "$work/results"
  run "GET $path (API token, RBAC-checked)" -H "x-api-key: $token" "$url$path" | tee -a "$work/results"
done
# Auth overhead per round: the authenticated request's time per request
# (1/rps) over the baseline's, minus one; then the median over the rounds.
awk '/Requests\/sec/ { rps[n++] = $2 }
     END {
       for (i = 0; i + 1 < n; i += 2) { o[m++] = rps[i] / rps[i + 1] - 1; printf "round %d: auth overhead %+.1f%%\n", m, 100 * o[m - 1] }
       for (i = 0; i < m; i++) for (j = i + 1; j < m; j++) if (o[j] < o[i]) { t = o[i]; o[i] = o[j]; o[j] = t }
       printf "median auth overhead over %d rounds: %+.1f%% of the baseline time per request\n", m, 100 * o[int(m / 2)]
     }' "$work/results"
