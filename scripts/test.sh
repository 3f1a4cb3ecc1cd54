#!/usr/bin/env bash
# Runs every test of the workspace: unit, integration and doc tests, then the
# end-to-end tests of the example gateway (e2e/run.sh). Needs Redis on
# 127.0.0.1:6379 (scripts/ensure-redis.sh starts one), and node 18+ with npm
# for the identity provider of the end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --exclude ddf-bench-peers --locked

# The optional framework adapters stay out of the default build above.
cargo test -p ddf-tower --features actix --locked
cargo test -p ddf-auth --features grpc --test grpc_gateway --locked

# Every security-catalog row must have a test named after it.
python3 scripts/catalog-coverage.py

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "scripts/test.sh: '$tool' is required by the end-to-end tests (e2e/run.sh); install Node.js 18 or newer" >&2
        exit 1
    fi
done
bash e2e/run.sh
