#!/usr/bin/env bash
# CI entry point: install cargo-fuzz when it is missing, then build every
# target and run each for SECONDS (default 20). Exits 1 on any crash.
#
# Usage: fuzz/ci-smoke.sh [SECONDS]
set -euo pipefail

cd "$(dirname "$0")"
seconds="${1:-20}"
start=$(date +%s)

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
    echo "install: $(( $(date +%s) - start )) s"
fi

./smoke.sh "$seconds"
echo "ci-smoke total: $(( $(date +%s) - start )) s"
