#!/usr/bin/env bash
# Load test of the llm_gateway example over loopback, with wrk.
#
# Builds the example in release mode and starts it three times on a free
# 127.0.0.1 port (the port is chosen by the kernel and read from the banner):
#   1. in-memory stores: /healthz, GET /v1/status with a bearer token and with
#      an API key, then a flood of tokens with random `kid` headers;
#   2. Redis (DDF_REDIS_URL): GET /v1/status with a bearer token and with the
#      session cookie of one POST /v1/sessions login;
#   3. in-memory stores with client blocking on: a burst of invalid API keys.
# Every phase is bounded by time (-d) and, in the wrk script, by a response
# count per thread. Nothing is sent anywhere but 127.0.0.1.
#
# Usage: scripts/loadtest.sh   (manual; not part of scripts/test.sh)
# Settings (environment):
#   LOADTEST_DURATION     seconds per route (default 10)
#   LOADTEST_THREADS      wrk threads (default 2)
#   LOADTEST_CONNECTIONS  wrk connections (default 32)
#   LOADTEST_MAX_RESPONSES  responses per wrk thread before it stops
#                         (default 2000000)
#   LOADTEST_REDIS_URL    Redis for run 2 (default redis://127.0.0.1:6379;
#                         only 127.0.0.1 is accepted)
#   LOADTEST_RUST_LOG     gateway log filter (default
#                         info,ddf_auth::audit=warn: successful requests are
#                         not logged, failures, alerts and JWKS fetches are)
#   LOADTEST_OUT          also write the results table to this file
#
# Exits 1 when a request with valid credentials got a non-2xx response or a
# socket error, or when the flood or the burst did not get the expected
# responses. Exits 2 when the setup failed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

DURATION=${LOADTEST_DURATION:-10}
THREADS=${LOADTEST_THREADS:-2}
CONNECTIONS=${LOADTEST_CONNECTIONS:-32}
MAX_RESPONSES=${LOADTEST_MAX_RESPONSES:-2000000}
REDIS_URL=${LOADTEST_REDIS_URL:-redis://127.0.0.1:6379}
GATEWAY_LOG_FILTER=${LOADTEST_RUST_LOG:-info,ddf_auth::audit=warn}
WRK_SCRIPT="$ROOT/scripts/loadtest/wrk-counts.lua"
BINARY="$ROOT/target/release/examples/llm_gateway"
# Burst phase: shorter, because after the first few failures every response
# is a cheap 429.
BURST_DURATION=5
BRUTE_FORCE_MAX_FAILURES=10

die() {
    echo "loadtest: $*" >&2
    exit 2
}

case "$REDIS_URL" in
    redis://127.0.0.1:* | redis://127.0.0.1) ;;
    *) die "LOADTEST_REDIS_URL must be redis://127.0.0.1[:port], not $REDIS_URL" ;;
esac
REDIS_PORT=${REDIS_URL#redis://127.0.0.1}
REDIS_PORT=${REDIS_PORT#:}
REDIS_PORT=${REDIS_PORT%%/*}
REDIS_PORT=${REDIS_PORT:-6379}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ddf-loadtest.XXXXXX")
REDIS_PREFIX="ddf-loadtest-$$"
GATEWAY_PID=""

# Stops the running gateway, if any, by its process id.
stop_gateway() {
    if [[ -n "$GATEWAY_PID" ]] && kill -0 "$GATEWAY_PID" 2>/dev/null; then
        kill -TERM "$GATEWAY_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$GATEWAY_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$GATEWAY_PID" 2>/dev/null || true
        wait "$GATEWAY_PID" 2>/dev/null || true
    fi
    GATEWAY_PID=""
}

remove_redis_keys() {
    if command -v redis-cli >/dev/null; then
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --scan --pattern "$REDIS_PREFIX:*" 2>/dev/null |
            xargs -r -n 100 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" DEL >/dev/null 2>&1 || true
    fi
}

cleanup() {
    stop_gateway
    remove_redis_keys
    if [[ -n "${LOADTEST_KEEP_LOGS:-}" ]]; then
        echo "loadtest: logs kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools -------------------------------------------------------------

if ! command -v wrk >/dev/null; then
    echo "loadtest: installing wrk from the Debian packages" >&2
    if [[ $(id -u) -eq 0 ]]; then
        apt-get update -qq && apt-get install -y -qq wrk >/dev/null ||
            die "could not install wrk; install it (apt-get install wrk) and rerun"
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null ||
            die "could not install wrk; install it (apt-get install wrk) and rerun"
    fi
fi
command -v curl >/dev/null || die "curl is required"
# NOTE: only wrk is supported: the per-status counts and the response cap
# live in the wrk Lua script, which oha cannot run.

echo "loadtest: building the example (release)" >&2
cargo build --release --example llm_gateway --locked >&2

# --- gateway -------------------------------------------------------------

# Writes a configuration file: rate limits far above what two cores can
# serve (so the limiter runs on every request but never returns 429), and
# the given client block time.
write_config() {
    local path=$1 block_secs=$2 redis_url=$3
    {
        cat <<EOF
listen: 127.0.0.1:0
rate_limits:
  per_client: { burst: 1000000, period_secs: 1, policy_name: loadtest-client }
  per_principal: { burst: 1000000, period_secs: 1, policy_name: loadtest-principal }
brute_force:
  max_failures: $BRUTE_FORCE_MAX_FAILURES
  window_secs: 300
  block_secs: $block_secs
EOF
        if [[ -n "$redis_url" ]]; then
            cat <<EOF
redis:
  url: $redis_url
  key_prefix: $REDIS_PREFIX
EOF
        fi
    } >"$path"
}

# Starts the gateway with a configuration and waits for its banner. Sets
# GATEWAY_PID, BASE (http://127.0.0.1:PORT), ISSUER and the credentials.
start_gateway() {
    local name=$1 config=$2
    local out="$WORK/$name.log" err="$WORK/$name.banner"
    # DDF_* variables from the caller's shell would change the setup.
    env -u DDF_ISSUER_URL -u DDF_AUDIENCE -u DDF_REDIS_URL -u DDF_LISTEN \
        DDF_CONFIG="$config" RUST_LOG="$GATEWAY_LOG_FILTER" \
        "$BINARY" >"$out" 2>"$err" &
    GATEWAY_PID=$!
    GATEWAY_LOG=$out
    for _ in $(seq 100); do
        if grep -q '^export DDF_API_KEY_READONLY=' "$err" 2>/dev/null; then
            break
        fi
        kill -0 "$GATEWAY_PID" 2>/dev/null || {
            cat "$err" "$out" >&2
            die "the gateway ($name) exited during start-up"
        }
        sleep 0.1
    done
    grep -q '^export DDF_API_KEY_READONLY=' "$err" || die "no banner from the gateway ($name) after 10 s"

    BASE=$(sed -n 's|^  gateway: \(http://[^ ]*\)$|\1|p' "$err")
    [[ "$BASE" =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || die "gateway address $BASE is not http://127.0.0.1:PORT"
    ISSUER=$(sed -n 's|.*its JWKS is served at \(http://127\.0\.0\.1:[0-9]*\)/\.well-known/jwks\.json.*|\1|p' "$err")
    [[ -n "$ISSUER" ]] || die "development issuer URL not found in the banner"
    TOKEN_USER=$(sed -n 's/^export DDF_TOKEN_USER=//p' "$err")
    API_KEY_READONLY=$(sed -n 's/^export DDF_API_KEY_READONLY=//p' "$err")
    API_KEY_USER=$(sed -n 's/^export DDF_API_KEY_USER=//p' "$err")
    [[ -n "$TOKEN_USER" && -n "$API_KEY_READONLY" && -n "$API_KEY_USER" ]] ||
        die "credentials not found in the banner"
    echo "loadtest: gateway $name at $BASE (pid $GATEWAY_PID)" >&2
}

rss_kib() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$GATEWAY_PID/status"
}

hwm_kib() {
    awk '/^VmHWM:/ { print $2 }' "/proc/$GATEWAY_PID/status"
}

jwks_fetches() {
    grep -c 'JWKS fetch finished' "$GATEWAY_LOG" || true
}

# Checks a single request and prints its status code.
http_status() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"
}

# --- wrk -----------------------------------------------------------------

FAILED=0
ROWS=()
BARE_RPS=""
BARE_P50_US=""

# Converts a wrk duration (812.00us, 1.20ms, 2.00s) to microseconds.
to_us() {
    awk -v value="$1" 'BEGIN {
        n = value + 0
        if (value ~ /us$/) print n
        else if (value ~ /ms$/) print n * 1000
        else if (value ~ /m$/) print n * 60000000
        else if (value ~ /s$/) print n * 1000000
        else print n
    }'
}

format_us() {
    awk -v us="$1" 'BEGIN { if (us >= 1000) printf "%.2f ms", us / 1000; else printf "%.0f µs", us }'
}

# Runs wrk against one route and records a row.
#   run_wrk NAME KIND PATH DURATION MODE [wrk options...]
# KIND is `valid` (every response must be 2xx), `bare` (as valid, and the
# reference for the ratios), `random-kid` or `burst`.
run_wrk() {
    local name=$1 kind=$2 path=$3 duration=$4 mode=$5
    shift 5
    local url="$BASE$path"
    [[ "$url" =~ ^http://127\.0\.0\.1:[0-9]+/ ]] || die "refusing to load $url"
    local out="$WORK/wrk-$name.txt"
    local rss_before rss_after fetches_before fetches_after
    rss_before=$(rss_kib)
    fetches_before=$(jwks_fetches)

    echo "loadtest: $name: wrk -t$THREADS -c$CONNECTIONS -d${duration}s $url" >&2
    LOADTEST_WRK_MODE=$mode LOADTEST_MAX_RESPONSES=$MAX_RESPONSES \
        timeout $((duration + 30)) \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"${duration}s" --timeout 5s --latency \
        -s "$WRK_SCRIPT" "$@" "$url" >"$out" 2>&1 || {
        cat "$out" >&2
        die "wrk failed for $name"
    }
    sleep 0.5
    rss_after=$(rss_kib)
    fetches_after=$(jwks_fetches)

    local requests rps p50 p99 non_2xx socket_errors
    requests=$(awk '/requests in/ { print $1 }' "$out")
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
    p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$out")")
    p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$out")")
    non_2xx=$(awk -F': *' '/Non-2xx or 3xx responses/ { print $2 }' "$out")
    non_2xx=${non_2xx:-0}
    socket_errors=$(awk '/Socket errors/ {
        gsub(",", ""); print $4 + $6 + $8 + $10 }' "$out")
    socket_errors=${socket_errors:-0}
    local statuses
    statuses=$(awk '$1 == "status" { printf "%s%s: %s", sep, $2, $3; sep = ", " }' "$out")

    local ratio="-" p50_ratio="-"
    if [[ "$kind" == "bare" ]]; then
        BARE_RPS=$rps
        BARE_P50_US=$p50
        ratio="1.00"
        p50_ratio="1.00"
    elif [[ -n "$BARE_RPS" ]]; then
        ratio=$(awk -v a="$rps" -v b="$BARE_RPS" 'BEGIN { printf "%.2f", a / b }')
        p50_ratio=$(awk -v a="$p50" -v b="$BARE_P50_US" 'BEGIN { printf "%.2f", a / b }')
    fi

    local verdict="ok"
    case "$kind" in
        bare | valid)
            if [[ "$non_2xx" != 0 || "$socket_errors" != 0 ]]; then
                verdict="FAILED: $non_2xx non-2xx, $socket_errors socket errors"
                FAILED=1
            fi
            ;;
        random-kid)
            local others
            others=$(awk '$1 == "status" && $2 != 401 { n += $3 } END { print n + 0 }' "$out")
            local fetched=$((fetches_after - fetches_before))
            verdict="JWKS fetches: $fetched"
            if [[ "$others" != 0 || "$socket_errors" != 0 ]]; then
                verdict="FAILED: $others answers other than 401, $socket_errors socket errors"
                FAILED=1
            elif ((fetched > 1)); then
                # One unknown-kid fetch per cooldown (30 s by default).
                verdict="FAILED: $fetched JWKS fetches during the flood"
                FAILED=1
            fi
            ;;
        burst)
            local unauthorized limited others alerts
            unauthorized=$(awk '$1 == "status" && $2 == 401 { n += $3 } END { print n + 0 }' "$out")
            limited=$(awk '$1 == "status" && $2 == 429 { n += $3 } END { print n + 0 }' "$out")
            others=$(awk '$1 == "status" && $2 != 401 && $2 != 429 { n += $3 } END { print n + 0 }' "$out")
            alerts=$(grep -c 'event="authn_login_fail_max"\|event=authn_login_fail_max' "$GATEWAY_LOG" || true)
            verdict="alerts in log: $alerts"
            if ((unauthorized < BRUTE_FORCE_MAX_FAILURES || limited == 0 || others != 0 || alerts == 0)); then
                verdict="FAILED: 401: $unauthorized, 429: $limited, other: $others, alerts: $alerts"
                FAILED=1
            fi
            ;;
    esac

    ROWS+=("| $name | $requests | $rps | $(format_us "$p50") | $(format_us "$p99") | $ratio | $p50_ratio | $non_2xx | ${statuses:--} | $rss_before → $rss_after | $verdict |")
}

# --- run 1: in-memory stores --------------------------------------------

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
write_config "$WORK/memory.yaml" 0 ""
start_gateway memory "$WORK/memory.yaml"
RSS_START=$(rss_kib)

[[ $(http_status "$BASE/healthz") == 200 ]] || die "/healthz did not respond 200"
[[ $(http_status -H "Authorization: Bearer $TOKEN_USER" "$BASE/v1/status") == 200 ]] ||
    die "GET /v1/status with the user token did not respond 200"
[[ $(http_status -H "X-API-Key: $API_KEY_READONLY" "$BASE/v1/status") == 200 ]] ||
    die "GET /v1/status with the readonly API key did not respond 200"

run_wrk healthz bare /healthz "$DURATION" plain
run_wrk jwt-rbac valid /v1/status "$DURATION" plain -H "Authorization: Bearer $TOKEN_USER"
run_wrk api-key valid /v1/status "$DURATION" plain -H "X-API-Key: $API_KEY_READONLY"

# The flood tokens differ from a valid one only in the kid: right issuer,
# audience and lifetime, a signature of the right length.
NOW=$(date +%s)
PAYLOAD_JSON=$(printf '{"iss":"%s","aud":"llm-gateway","sub":"flood","typ":"Bearer","azp":"ddf-dev-console","iat":%d,"nbf":%d,"exp":%d,"realm_access":{"roles":["user"]}}' \
    "$ISSUER" "$NOW" "$NOW" $((NOW + 3600)))
PAYLOAD=$(printf '%s' "$PAYLOAD_JSON" | base64 -w0 | tr '+/' '-_' | tr -d '=')
LOADTEST_TOKEN_PAYLOAD=$PAYLOAD run_wrk random-kid-flood random-kid /v1/status "$DURATION" random-kid
MEMORY_HWM=$(hwm_kib)
stop_gateway

# --- run 2: Redis ---------------------------------------------------------

if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    die "Redis does not respond at 127.0.0.1:$REDIS_PORT (scripts/ensure-redis.sh starts one)"
fi
write_config "$WORK/redis.yaml" 0 "$REDIS_URL"
start_gateway redis "$WORK/redis.yaml"

COOKIE_HEADER=$(curl -s -o /dev/null -D - --max-time 5 -X POST \
    -H "X-API-Key: $API_KEY_USER" "$BASE/v1/sessions" |
    sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\);.*/\1/p' | tr -d '\r')
[[ "$COOKIE_HEADER" == ddf_session=* ]] || die "POST /v1/sessions did not set the session cookie"
[[ $(http_status -H "Cookie: $COOKIE_HEADER" "$BASE/v1/status") == 200 ]] ||
    die "GET /v1/status with the session cookie did not respond 200"

run_wrk jwt-rbac-redis valid /v1/status "$DURATION" plain -H "Authorization: Bearer $TOKEN_USER"
run_wrk session-redis valid /v1/status "$DURATION" plain -H "Cookie: $COOKIE_HEADER"
REDIS_HWM=$(hwm_kib)
stop_gateway

# --- run 3: brute-force burst -------------------------------------------

write_config "$WORK/burst.yaml" 60 ""
start_gateway burst "$WORK/burst.yaml"
run_wrk invalid-api-key-burst burst /v1/status "$BURST_DURATION" invalid-api-key
BURST_HWM=$(hwm_kib)
grep -m1 'authn_login_fail_max' "$GATEWAY_LOG" >&2 || true
stop_gateway

# --- report ----------------------------------------------------------------

{
    echo "wrk $(wrk --version 2>&1 | head -1 | awk '{ print $2 }'), -t$THREADS -c$CONNECTIONS, ${DURATION} s per route (${BURST_DURATION} s for the burst), $(nproc) cores shared by wrk and the gateway; load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo
    echo "| route | requests | req/s | p50 | p99 | req/s vs bare | p50 vs bare | non-2xx | statuses | RSS KiB before → after | check |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "Peak RSS (VmHWM): in-memory run $MEMORY_HWM KiB (RSS at start $RSS_START KiB), Redis run $REDIS_HWM KiB, burst run $BURST_HWM KiB."
} | tee "${LOADTEST_OUT:-/dev/null}"

if ((FAILED)); then
    echo "loadtest: FAILED (see the check column)" >&2
    exit 1
fi
echo "loadtest: all checks passed" >&2
