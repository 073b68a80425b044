#!/usr/bin/env bash
# CI benchmark of `rampart server` (issue 6): queue-to-start latency and
# throughput of 1,000 trivial runs, log ingestion of a step printing 1 GiB,
# and live log fan-out to 100 SSE viewers; see benches/ci-load.py.
# Release build, SQLite, default log level (to a file).
# Usage: benches/ci-load.sh [RUNNER_SLOTS]   (RUNS=N for fewer runs)
set -euo pipefail
cd "$(dirname "$0")/.."

slots=${1:-4}
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v curl >/dev/null; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
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
"$bin" server --listen "127.0.0.1:$port" --data-dir "$work/data" --runner-slots "$slots" >"$work/stdout" 2>"$work/server.log" &
server=$!
for _ in $(seq 100); do
  grep -q "one-time password" "$work/stdout" 2>/dev/null && break
  sleep 0.05
done
password=$(sed -n 's/.*one-time password: \([^ ]*\).*/\1/p' "$work/stdout")
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr); runner slots: $slots"
python3 benches/ci-load.py "http://127.0.0.1:$port" "$password" "$slots"
echo "database after the benchmark: $(du -sh "$work/data" | cut -f1)"
