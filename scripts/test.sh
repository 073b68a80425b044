#!/usr/bin/env bash
# Runs every check CI runs, on a fresh machine too: installs what the tests
# need when it is missing, then cargo fmt --check, clippy -D warnings, and
# the whole test suite (unit, property, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages the tests use: git (codebase tests), python3 (Python steps),
# bash (Bash steps), procps (kill, for the Ctrl-C test), iproute2 is not needed.
missing=()
command -v git >/dev/null || missing+=(git)
command -v python3 >/dev/null || missing+=(python3)
command -v bash >/dev/null || missing+=(bash)
command -v kill >/dev/null || missing+=(procps)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing test dependencies: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# pyotp: the independent TOTP implementation rampart-auth's tests compare against.
python3 -c 'import pyotp' 2>/dev/null || python3 -m pip install --quiet pyotp

if [ ! -f ../shared/harness-schema/pipeline.json ]; then
  echo "error: ../shared/harness-schema/pipeline.json is missing: the schema test needs the shared folder beside the project" >&2
  exit 1
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The fuzz targets (cargo-fuzz, outside the workspace) must keep compiling.
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
cargo clippy --manifest-path fuzz/Cargo.toml --locked -- -D warnings
# cargo test ends with per-target lines (often a doc-test target with 0 tests);
# the total at the end says what the whole suite ran.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
     END { printf "all tests: %d passed, %d failed\n", p, f; if (p == 0) exit 1 }' "$log"
