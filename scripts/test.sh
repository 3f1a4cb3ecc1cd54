#!/usr/bin/env bash
# Runs every test of the workspace: unit, integration and doc tests. Needs
# Redis on 127.0.0.1:6379 (scripts/ensure-redis.sh starts one).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --exclude ddf-bench-peers --locked
# The optional framework adapters stay out of the default build above.
cargo test -p ddf-tower --features actix --locked
cargo test -p ddf-auth --features grpc --test grpc_gateway --locked
