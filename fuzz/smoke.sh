#!/usr/bin/env bash
# Build every fuzz target, then run each one for SECONDS (default 60) from
# its committed seeds plus the local corpus. Exits 1 when any target
# crashes, leaks, times out or fails to build; prints one summary line per
# target: runs, coverage (edges), features, corpus entries, result.
#
# Usage: fuzz/smoke.sh [SECONDS] [TARGET...]
# Environment:
#   FUZZ_TOOLCHAIN  `nightly` to use `cargo +nightly fuzz`; default is the
#                   active toolchain with RUSTC_BOOTSTRAP=1 (see README.md).
#   FUZZ_MAX_LEN    largest input libFuzzer generates, in bytes (default 4096).
set -euo pipefail

cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
max_len="${FUZZ_MAX_LEN:-4096}"

if [[ "${FUZZ_TOOLCHAIN:-}" == nightly ]]; then
    fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <("${fuzz[@]}" list)
fi

build_start=$(date +%s)
"${fuzz[@]}" build --debug-assertions
echo "build: $(( $(date +%s) - build_start )) s for ${#targets[@]} targets"

mkdir -p logs
status=0
printf '%-20s %10s %8s %8s %8s %s\n' target runs edges features corpus result
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "seeds/$target"
    log="logs/$target.log"
    result=ok
    # -timeout: one input taking 10 s counts as a failure (a hang).
    if ! "${fuzz[@]}" run --debug-assertions "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        result="FAILED (see fuzz/$log and fuzz/artifacts/$target/)"
        status=1
    fi
    # The last status line looks like `#157797 DONE cov: 5571 ft: 9001 corp: 300/20Kb ...`.
    line=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    runs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$line")
    edges=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$line")
    features=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$line")
    corpus=$(sed -nE 's/.* corp: ([0-9]+).*/\1/p' <<<"$line")
    printf '%-20s %10s %8s %8s %8s %s\n' "$target" "${runs:--}" "${edges:--}" \
        "${features:--}" "${corpus:--}" "$result"
done
exit "$status"
