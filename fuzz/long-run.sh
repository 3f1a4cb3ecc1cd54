#!/usr/bin/env bash
# Long fuzzing runs: each target in turn for SECONDS (default 3600), keeping
# the corpus in fuzz/corpus/ between runs, and appending one line per run
# to fuzz/logs/long-runs.tsv (date, target, seconds, runs, edges, result).
# Stop with Ctrl-C; a crash stops the loop and leaves its input in
# fuzz/artifacts/<target>/.
#
# Usage: fuzz/long-run.sh [SECONDS] [TARGET...]
# With ROUNDS=N in the environment the list of targets is run N times
# (default 1).
set -euo pipefail

cd "$(dirname "$0")"
seconds="${1:-3600}"
shift || true
rounds="${ROUNDS:-1}"

export RUSTC_BOOTSTRAP=1
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build --debug-assertions
mkdir -p logs
record=logs/long-runs.tsv
for round in $(seq 1 "$rounds"); do
    for target in "${targets[@]}"; do
        mkdir -p "corpus/$target" "seeds/$target"
        log="logs/$target.long.log"
        result=ok
        echo "round $round: $target for $seconds s"
        if ! cargo fuzz run --debug-assertions "$target" "corpus/$target" "seeds/$target" -- \
            -max_total_time="$seconds" -max_len="${FUZZ_MAX_LEN:-4096}" -timeout=10 \
            -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
            result=FAILED
        fi
        line=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
        runs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$line")
        edges=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$line")
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$target" "$seconds" \
            "${runs:--}" "${edges:--}" "$result" >>"$record"
        if [[ "$result" != ok ]]; then
            echo "$target failed; see fuzz/$log and fuzz/artifacts/$target/" >&2
            exit 1
        fi
    done
done
