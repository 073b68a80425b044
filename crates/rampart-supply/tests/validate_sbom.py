#!/usr/bin/env python3
"""Validates an SBOM file with the reference tools: CycloneDX 1.6 JSON with
cyclonedx-python-lib's strict schema validator, SPDX 2.3 JSON with
pyspdxtools (which parses and validates).

Usage: validate_sbom.py cyclonedx|spdx FILE
Exit status: 0 valid, 1 invalid (reasons on stderr), 2 tools missing.
"""
import shutil
import subprocess
import sys

INSTALL_HINT = (
    "install with: PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install "
    "'cyclonedx-python-lib[json-validation]' spdx-tools"
)


def validate_cyclonedx(path):
    try:
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator
    except ImportError as error:
        print(f"cyclonedx-python-lib is missing ({error}); {INSTALL_HINT}", file=sys.stderr)
        return 2
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    except Exception as error:  # the json-validation extra's own imports
        print(f"the CycloneDX validator cannot run ({error}); {INSTALL_HINT}", file=sys.stderr)
        return 2
    if errors is None:
        return 0
    for error in errors:
        print(f"CycloneDX: {error}", file=sys.stderr)
    return 1


def validate_spdx(path):
    tool = shutil.which("pyspdxtools")
    if tool is None:
        print(f"pyspdxtools is missing; {INSTALL_HINT}", file=sys.stderr)
        return 2
    done = subprocess.run([tool, "-i", path], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"SPDX: {done.stdout}{done.stderr}", file=sys.stderr)
        return 1
    return 0


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("cyclonedx", "spdx"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, path = sys.argv[1], sys.argv[2]
    return validate_cyclonedx(path) if kind == "cyclonedx" else validate_spdx(path)


if __name__ == "__main__":
    sys.exit(main())
