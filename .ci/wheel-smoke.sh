#!/usr/bin/env bash
# Install the built wheel into a fresh virtualenv, away from the checkout, and
# run the installed `databricks-stp`: what a user gets from pip install.
# Usage: .ci/wheel-smoke.sh   (PYTHON=python3.9 .ci/wheel-smoke.sh for another interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
PYTHON="${PYTHON:-python3}"

make dist
wheels=(dist/*.whl)
if [ "${#wheels[@]}" -ne 1 ] || [ ! -f "${wheels[0]}" ]; then
    echo "wheel-smoke: expected one wheel in dist/, found: ${wheels[*]}" >&2
    exit 1
fi
wheel="$repo/${wheels[0]}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PYTHON" -m venv "$work/venv"
bin="$work/venv/bin"
[ -d "$work/venv/Scripts" ] && bin="$work/venv/Scripts"  # Windows (Git Bash)
"$bin/python" -m pip install --quiet --upgrade pip
"$bin/python" -m pip install --quiet "$wheel"

# Run outside the checkout so nothing can be imported from the source tree by accident.
cd "$work"
stp="$bin/databricks-stp"
location="$("$bin/python" -c 'import stp_ext; print(stp_ext.__file__)')"
case "$location" in
    "$work"/*) ;;
    *) echo "wheel-smoke: stp_ext was imported from $location, not from the wheel" >&2; exit 1 ;;
esac

set -x
"$stp" --version
"$stp" --help >/dev/null
"$stp" validate -f "$repo/examples/partner.json"
"$stp" init --no-input -f "$work/first/partner.json"
"$stp" validate -f "$work/first/partner.json"
"$stp" schema >/dev/null
set +x
if "$stp" demo --help >/dev/null 2>&1; then
    set -x
    "$stp" demo
    set +x
else
    echo "wheel-smoke: SKIPPED 'databricks-stp demo' (no demo command in this build)"
fi
echo "wheel-smoke: OK ($(basename "$wheel"))"
