#!/usr/bin/env bash
# Run overhead: `rampart run` on a pipeline of 50 trivial steps (`true`) against
# the same 50 commands in a plain shell script, timed with hyperfine.
# Also timed in the same run: 50 `sh -e -c true` processes (the cost of spawning
# a shell per step, which any CI pays), and Rampart without namespaces.
# Usage: benches/run-overhead.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release -p rampart --locked
bin="${CARGO_TARGET_DIR:-target}/release/rampart"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{
  printf 'pipeline:\n  identifier: overhead\n  name: overhead\n  stages:\n    - stage:\n        identifier: s\n        name: s\n        type: CI\n        spec:\n          execution:\n            steps:\n'
  for i in $(seq 1 50); do
    printf '              - step: {identifier: s%d, name: s%d, type: Run, spec: {command: "true"}}\n' "$i" "$i"
  done
} > "$work/pipeline.yaml"
{ echo '#!/bin/sh'; echo 'set -e'; for _ in $(seq 1 50); do echo 'true'; done; } > "$work/plain.sh"
{ echo '#!/bin/sh'; echo 'set -e'; for _ in $(seq 1 50); do echo "sh -e -c true"; done; } > "$work/spawning.sh"
chmod +x "$work/plain.sh" "$work/spawning.sh"

hyperfine --warmup 3 --runs 30 -N \
  --export-markdown "$work/result.md" \
  "$work/plain.sh" \
  "$work/spawning.sh" \
  "$bin run $work/pipeline.yaml --state-dir $work/state --output json" \
  "$bin run $work/pipeline.yaml --state-dir $work/state --output json --sandbox off"
cat "$work/result.md"
