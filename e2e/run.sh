#!/usr/bin/env bash
# End-to-end tests of the example gateway (`cargo run --example llm_gateway`):
#
# 1. against a real OpenID Connect provider (oauth2-mock-server, shaped like
#    a Keycloak realm by e2e/idp.mjs) found through discovery, with sessions,
#    API keys and rate limits in the real Redis on 127.0.0.1:6379;
# 2. in the default embedded mode, exactly as README.md tells a new user.
#
# Everything listens on 127.0.0.1 only. Prints one line per check and ends
# with "N passed, M failed"; exits 1 when anything failed. Every process it
# starts is stopped on exit, and every wait has a deadline.
set -uo pipefail
cd "$(dirname "$0")/.."

WORK=$(mktemp -d)
RUN_ID="e2e-$$-$(date +%s)"
PASSED=0
FAILED=0
PGIDS=()

cleanup() {
    for pgid in "${PGIDS[@]}"; do
        kill -TERM -- "-$pgid" 2>/dev/null
    done
    for pgid in "${PGIDS[@]}"; do
        for _ in $(seq 1 50); do
            kill -0 -- "-$pgid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$pgid" 2>/dev/null
    done
    if command -v redis-cli >/dev/null 2>&1; then
        redis-cli -h 127.0.0.1 -p 6379 --scan --pattern "*${RUN_ID}*" 2>/dev/null |
            xargs -r redis-cli -h 127.0.0.1 -p 6379 del >/dev/null 2>&1
    fi
    if [[ -n "${KEEP_E2E_LOGS:-}" ]]; then
        echo "logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() {
    PASSED=$((PASSED + 1))
    echo "ok   - $1"
}

fail() {
    FAILED=$((FAILED + 1))
    echo "FAIL - $1"
}

# check NAME EXPECTED ACTUAL
check() {
    if [[ "$3" == "$2" ]]; then
        pass "$1"
    else
        fail "$1 (expected '$2', got '$3')"
    fi
}

# check_contains NAME NEEDLE HAYSTACK
check_contains() {
    if [[ "$3" == *"$2"* ]]; then
        pass "$1"
    else
        fail "$1 (expected to contain '$2', got '$3')"
    fi
}

finish() {
    echo "${PASSED} passed, ${FAILED} failed"
    if [[ $FAILED -gt 0 || $PASSED -eq 0 ]]; then
        exit 1
    fi
    exit 0
}

# abort MESSAGE: a step every later check depends on failed.
abort() {
    fail "$1"
    for log in "$WORK"/*.log "$WORK"/*.err; do
        [[ -f "$log" ]] || continue
        echo "--- last lines of $(basename "$log")"
        tail -n 20 "$log"
    done
    finish
}

# Starts a command in its own process group, so cleanup stops its children
# (cargo run's gateway, node's server) too.
start() {
    local out=$1 err=$2
    shift 2
    setsid "$@" >"$out" 2>"$err" &
    PGIDS+=("$!")
}

free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# wait_for SECONDS COMMAND...: retries until the command succeeds.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    while ((SECONDS < deadline)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# json PATH: prints a field of the JSON document on stdin (dotted path).
json() {
    node -e '
        let value; try { value = JSON.parse(require("fs").readFileSync(0, "utf8")); } catch { value = undefined; }
        for (const key of process.argv[1].split(".")) value = value == null ? undefined : value[key];
        process.stdout.write(value === undefined ? "<none>" : typeof value === "string" ? value : JSON.stringify(value));
    ' "$1"
}

# req METHOD URL [curl options]: sets STATUS and BODY; headers in $WORK/headers.
req() {
    local method=$1 url=$2
    shift 2
    STATUS=$(curl -sS --max-time 10 -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' \
        -X "$method" "$url" "$@" 2>"$WORK/curl.err") || STATUS="curl-error"
    BODY=$(cat "$WORK/body" 2>/dev/null)
}

# header NAME: every value of a response header of the last request, one a line.
header() {
    grep -i "^$1:" "$WORK/headers" | cut -d: -f2- | sed 's/^ //; s/\r$//'
}

remember() {
    printf '%s\n' "$1" >>"$WORK/credentials"
}

random_key() {
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

sha256() {
    printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

# ---------------------------------------------------------------------------
echo "== prerequisites"
for tool in node npm cargo curl setsid sha256sum od; do
    command -v "$tool" >/dev/null 2>&1 || abort "required tool '$tool' is missing"
done
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 18)) || abort "node 18 or newer is required (found $(node --version))"
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || bash scripts/ensure-redis.sh >/dev/null ||
    abort "Redis is not reachable on 127.0.0.1:6379"
pass "node $(node --version), npm $(npm --version), Redis on 127.0.0.1:6379"

echo "== npm ci (e2e/)"
(cd e2e && timeout 300 npm ci --no-audit --no-fund --loglevel=error) >"$WORK/npm.log" 2>&1 ||
    abort "npm ci failed"
pass "npm dependencies installed from package-lock.json"

echo "== cargo build --example llm_gateway"
timeout 1800 cargo build --locked --example llm_gateway >"$WORK/build.log" 2>&1 ||
    abort "cargo build --example llm_gateway failed"
GATEWAY_BIN=target/debug/examples/llm_gateway
[[ -x "$GATEWAY_BIN" ]] || abort "$GATEWAY_BIN was not built"
pass "gateway built"

# ---------------------------------------------------------------------------
echo "== identity provider"
IDP_PORT=$(free_port)
CONTROL_PORT=$(free_port)
ISSUER="http://127.0.0.1:${IDP_PORT}"
CONTROL="http://127.0.0.1:${CONTROL_PORT}"
start "$WORK/idp.log" "$WORK/idp.err" node e2e/idp.mjs "$IDP_PORT" "$CONTROL_PORT"
wait_for 30 curl -sf --max-time 2 "$ISSUER/.well-known/openid-configuration" ||
    abort "identity provider did not start"
req GET "$ISSUER/.well-known/openid-configuration"
check "provider discovery names the issuer" "$ISSUER" "$(json issuer <<<"$BODY")"

# token CLIENT_ID: a client-credentials access token from the provider.
token() {
    local response
    response=$(curl -sS --max-time 10 -X POST "$ISSUER/token" \
        -d "grant_type=client_credentials&client_id=$1") || return 1
    local value
    value=$(json access_token <<<"$response")
    [[ "$value" != "<none>" ]] || return 1
    remember "$value"
    printf '%s' "$value"
}

kid_of() {
    node -e 'const h=JSON.parse(Buffer.from(process.argv[1].split(".")[0],"base64url"));process.stdout.write(String(h.kid))' "$1"
}

# ---------------------------------------------------------------------------
echo "== gateway against the provider and Redis"
GATEWAY_PORT=$(free_port)
BASE="http://127.0.0.1:${GATEWAY_PORT}"
ADMIN_KEY=$(random_key)
USER_KEY=$(random_key)
READONLY_KEY=$(random_key)
BURST_KEY=$(random_key)
for key in "$ADMIN_KEY" "$USER_KEY" "$READONLY_KEY" "$BURST_KEY"; do remember "$key"; done
cat >"$WORK/gateway.yaml" <<EOF
issuers:
  - issuer: "\${DDF_ISSUER_URL}"
    audiences: [llm-gateway]
    profile: keycloak
    algorithms: [RS256]
    jwks:
      refresh_interval_seconds: 2
      min_refresh_interval_seconds: 1
      max_refresh_interval_seconds: 2
      refresh_ahead_seconds: 0.5
      unknown_kid_cooldown_seconds: 1
      retry_initial_backoff_seconds: 0.2
      retry_max_backoff_seconds: 1
      max_stale_seconds: 60
api_keys:
  - { id: e2e-admin-key, owner: e2e-admin-bot, roles: [admin], digest: "\${E2E_ADMIN_KEY_SHA256}" }
  - { id: e2e-user-key, owner: e2e-user-bot, roles: [user], digest: "\${E2E_USER_KEY_SHA256}" }
  - { id: e2e-readonly-key, owner: e2e-readonly-bot, roles: [readonly], digest: "\${E2E_READONLY_KEY_SHA256}" }
  - { id: e2e-burst-key, owner: e2e-burst-bot, roles: [readonly], digest: "\${E2E_BURST_KEY_SHA256}" }
sessions:
  max_sessions_per_user: 5
redis:
  url: "\${DDF_REDIS_URL}"
  key_prefix: "${RUN_ID}"
rate_limits:
  per_client: { burst: 5000, period_secs: 60, policy_name: per-client }
  per_principal: { burst: 30, period_secs: 60, policy_name: per-principal }
brute_force: { max_failures: 10, window_secs: 300, block_secs: 0 }
EOF
start "$WORK/gateway.log" "$WORK/gateway.err" env \
    DDF_CONFIG="$WORK/gateway.yaml" \
    DDF_ISSUER_URL="$ISSUER" \
    DDF_AUDIENCE=llm-gateway \
    DDF_REDIS_URL=redis://127.0.0.1:6379 \
    DDF_LISTEN="127.0.0.1:${GATEWAY_PORT}" \
    DDF_LOG_FORMAT=json \
    RUST_LOG=info \
    E2E_ADMIN_KEY_SHA256="$(sha256 "$ADMIN_KEY")" \
    E2E_USER_KEY_SHA256="$(sha256 "$USER_KEY")" \
    E2E_READONLY_KEY_SHA256="$(sha256 "$READONLY_KEY")" \
    E2E_BURST_KEY_SHA256="$(sha256 "$BURST_KEY")" \
    "$GATEWAY_BIN"
wait_for 60 curl -sf --max-time 2 "$BASE/healthz" || abort "gateway did not become ready"
req GET "$BASE/healthz"
check "GET /healthz without credentials is 200" "200" "$STATUS"
check "GET /healthz body" "ok" "$BODY"
check_contains "gateway fetched the provider's keys by discovery" '"outcome":"updated"' "$(cat "$WORK/gateway.log")"

ADMIN=$(token admin-client) || abort "no token for admin-client"
USER=$(token user-client) || abort "no token for user-client"
READONLY=$(token readonly-client) || abort "no token for readonly-client"
EXPIRED=$(token expired-client) || abort "no token for expired-client"
WRONG_AUD=$(token wrong-audience-client) || abort "no token for wrong-audience-client"

echo "-- missing and bad credentials"
req GET "$BASE/v1/status"
check "no credential: 401" "401" "$STATUS"
check "no credential: challenge without error" 'Bearer realm="api"' "$(header www-authenticate | head -1)"
check "no credential: body" "unauthorized" "$(json error <<<"$BODY")"

req GET "$BASE/v1/status" -H "Authorization: Bearer $EXPIRED"
check "expired token: 401" "401" "$STATUS"
check "expired token: challenge" 'Bearer realm="api", error="invalid_token", error_description="The access token has expired."' "$(header www-authenticate | head -1)"
check "expired token: body" "The access token has expired." "$(json error_description <<<"$BODY")"

req GET "$BASE/v1/status" -H "Authorization: Bearer $WRONG_AUD"
check "wrong audience: 401" "401" "$STATUS"
check "wrong audience: challenge" 'Bearer realm="api", error="invalid_token", error_description="The access token is invalid."' "$(header www-authenticate | head -1)"
check "wrong audience: body" '{"error":"invalid_token","error_description":"The access token is invalid."}' "$BODY"

req GET "$BASE/v1/status" -H "Authorization: Bearer $USER" -H "X-API-Key: $USER_KEY"
check "two credentials: 400" "400" "$STATUS"
check "two credentials: body" "invalid_request" "$(json error <<<"$BODY")"

echo "-- role matrix with provider tokens"
# expect ROLE TOKEN METHOD PATH STATUS [BODY]
expect() {
    local role=$1 credential=$2 method=$3 path=$4 expected=$5 body=${6:-}
    if [[ -n "$body" ]]; then
        req "$method" "$BASE$path" -H "Authorization: Bearer $credential" -H 'Content-Type: application/json' -d "$body"
    else
        req "$method" "$BASE$path" -H "Authorization: Bearer $credential"
    fi
    check "$role $method $path: $expected" "$expected" "$STATUS"
    if [[ "$expected" == "403" ]]; then
        check "$role $method $path: insufficient_scope challenge" 'Bearer realm="api", error="insufficient_scope"' "$(header www-authenticate | head -1)"
        check "$role $method $path: 403 body" "insufficient_scope" "$(json error <<<"$BODY")"
    fi
}
QUERY='{"prompt":"Hello from the end-to-end test"}'
SETTINGS='{"model":"echo-2","max_tokens":64,"temperature":0.2}'
expect admin "$ADMIN" POST /v1/query 200 "$QUERY"
check "query echoes the prompt" "Hello from the end-to-end test" "$(json output <<<"$BODY")"
check "query counts tokens (5 in, 5 out)" "10" "$(json usage.total_tokens <<<"$BODY")"
check "query subject is the provider's sub" "service-account-admin-client" "$(json subject <<<"$BODY")"
expect user "$USER" POST /v1/query 200 "$QUERY"
expect readonly "$READONLY" POST /v1/query 403 "$QUERY"
expect admin "$ADMIN" GET /v1/status 200
check "status body" "ok" "$(json status <<<"$BODY")"
expect user "$USER" GET /v1/status 200
expect readonly "$READONLY" GET /v1/status 200
expect admin "$ADMIN" GET /admin/config 200
check "config body" "echo-1" "$(json model <<<"$BODY")"
expect user "$USER" GET /admin/config 403
expect readonly "$READONLY" GET /admin/config 403
expect user "$USER" PUT /admin/config 403 "$SETTINGS"
expect readonly "$READONLY" PUT /admin/config 403 "$SETTINGS"
expect admin "$ADMIN" PUT /admin/config 200 "$SETTINGS"
check "config change applied" "echo-2" "$(json model <<<"$BODY")"
check_contains "config change is audited" '"event":"config_change"' "$(grep ddf_auth::audit "$WORK/gateway.log")"
expect admin "$ADMIN" GET /metrics 200
check_contains "metrics count queries" "llm_gateway_queries_total 2" "$BODY"
expect user "$USER" GET /metrics 200
expect readonly "$READONLY" GET /metrics 200
expect user "$USER" DELETE /v1/users/nobody 403
expect readonly "$READONLY" DELETE /v1/users/nobody 403
expect admin "$ADMIN" DELETE /v1/users/nobody 200
check "deleting an unknown user deletes nothing" "0" "$(json sessions_deleted <<<"$BODY")"

echo "-- API keys"
req POST "$BASE/v1/query" -H "X-API-Key: $USER_KEY" -H 'Content-Type: application/json' -d "$QUERY"
check "user API key: query 200" "200" "$STATUS"
check "user API key: subject is the key owner" "e2e-user-bot" "$(json subject <<<"$BODY")"
req PUT "$BASE/admin/config" -H "X-API-Key: $READONLY_KEY" -H 'Content-Type: application/json' -d "$SETTINGS"
check "readonly API key: config write 403" "403" "$STATUS"
req GET "$BASE/admin/config" -H "X-API-Key: $ADMIN_KEY"
check "admin API key: config read 200" "200" "$STATUS"
UNKNOWN_KEY=$(random_key)
remember "$UNKNOWN_KEY"
req GET "$BASE/v1/status" -H "X-API-Key: $UNKNOWN_KEY"
check "unknown API key: 401" "401" "$STATUS"
check "unknown API key: body" '{"error":"invalid_api_key","error_description":"The API key is invalid."}' "$BODY"
check_contains "unknown API key: ApiKey challenge" 'ApiKey realm="api"' "$(header www-authenticate)"

echo "-- sessions"
# login CREDENTIAL_HEADER: logs in; sets COOKIE (name=value) and SET_COOKIE.
login() {
    req POST "$BASE/v1/sessions" -H "$1"
    SET_COOKIE=$(header set-cookie | head -1)
    COOKIE=${SET_COOKIE%%;*}
    [[ -n "$COOKIE" ]] && remember "${COOKIE#*=}"
}
login "Authorization: Bearer $USER"
check "login with a token: 201" "201" "$STATUS"
check "login body names the subject" "service-account-user-client" "$(json subject <<<"$BODY")"
check_contains "session cookie is HttpOnly" "; HttpOnly" ";${SET_COOKIE#*;}"
check_contains "session cookie is Secure" "; Secure" ";${SET_COOKIE#*;}"
check_contains "session cookie is SameSite=Strict" "; SameSite=Strict" ";${SET_COOKIE#*;}"
# The cookie's attributes only: a failure message must not print the id.
check_contains "session cookie lives for the idle timeout" "; Max-Age=3600" ";${SET_COOKIE#*;}"
FIRST_COOKIE=$COOKIE
req POST "$BASE/v1/query" -H "Cookie: $FIRST_COOKIE" -H 'Content-Type: application/json' -d "$QUERY"
check "session cookie authenticates a query" "200" "$STATUS"
req PUT "$BASE/admin/config" -H "Cookie: $FIRST_COOKIE" -H 'Content-Type: application/json' -d "$SETTINGS"
check "session keeps the user's roles: config write 403" "403" "$STATUS"
for _ in 2 3 4 5 6; do
    login "Authorization: Bearer $USER"
done
check "sixth login: 201" "201" "$STATUS"
LAST_COOKIE=$COOKIE
req GET "$BASE/v1/status" -H "Cookie: $FIRST_COOKIE"
check "oldest session evicted after the sixth login: 401" "401" "$STATUS"
check "evicted session: body" "invalid_session" "$(json error <<<"$BODY")"
check_contains "evicted session: cookie cleared" "Max-Age=0" "$(header set-cookie)"
req GET "$BASE/v1/status" -H "Cookie: $LAST_COOKIE"
check "newest session still valid" "200" "$STATUS"
req DELETE "$BASE/v1/sessions/current" -H "Cookie: $LAST_COOKIE"
check "logout: 204" "204" "$STATUS"
check_contains "logout clears the cookie" "Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict" "$(header set-cookie)"
req GET "$BASE/v1/status" -H "Cookie: $LAST_COOKIE"
check "logged-out session: 401" "401" "$STATUS"
login "X-API-Key: $ADMIN_KEY"
check "login with an API key: 201" "201" "$STATUS"
req DELETE "$BASE/v1/sessions/current" -H "Authorization: Bearer $ADMIN"
check "logout needs the session cookie: 401" "401" "$STATUS"

echo "-- DELETE /v1/users/{subject}"
login "X-API-Key: $READONLY_KEY"
READONLY_COOKIE=$COOKIE
req GET "$BASE/v1/status" -H "Cookie: $READONLY_COOKIE"
check "readonly bot session works before deletion" "200" "$STATUS"
req DELETE "$BASE/v1/users/e2e-readonly-bot" -H "Authorization: Bearer $ADMIN"
check "admin deletes a user: 200" "200" "$STATUS"
check "deleted the user's session" "1" "$(json sessions_deleted <<<"$BODY")"
check "revoked the user's API key" "1" "$(json api_keys_revoked <<<"$BODY")"
check_contains "user deletion is audited" '"event":"user_deleted"' "$(grep ddf_auth::audit "$WORK/gateway.log")"
req GET "$BASE/v1/status" -H "Cookie: $READONLY_COOKIE"
check "deleted user's session: 401" "401" "$STATUS"
req GET "$BASE/v1/status" -H "X-API-Key: $READONLY_KEY"
check "deleted user's API key: 401" "401" "$STATUS"

echo "-- rate limiting"
limited=""
for i in $(seq 1 60); do
    req GET "$BASE/v1/status" -H "X-API-Key: $BURST_KEY"
    if [[ "$STATUS" == "429" ]]; then
        limited=$i
        break
    fi
done
check "per-principal limit answers 429 after the burst of 30" "31" "$limited"
retry_after=$(header retry-after | head -1)
if [[ "$retry_after" =~ ^[1-9][0-9]*$ ]]; then pass "429 carries Retry-After ($retry_after s)"; else fail "429 Retry-After is '$retry_after'"; fi
check "429 body" "rate_limited" "$(json error <<<"$BODY")"
check_contains "429 carries the RateLimit policy" '"per-principal";q=30;w=60' "$(header ratelimit-policy)"

echo "-- brute-force detection"
for i in $(seq 1 12); do
    req GET "$BASE/v1/status" -H "Authorization: Bearer e2e.forged.$i"
done
check "forged tokens are rejected" "401" "$STATUS"
check_contains "failed-authentication alert in the log" '"event":"authn_login_fail_max"' "$(grep ddf_auth::audit "$WORK/gateway.log")"
req GET "$BASE/v1/status" -H "Authorization: Bearer $ADMIN"
check "alerting does not block (block_secs 0)" "200" "$STATUS"

echo "-- key rotation at the provider"
OLD_KID=$(kid_of "$ADMIN")
req POST "$CONTROL/rotate/add"
check "provider adds a key" "200" "$STATUS"
NEW_TOKEN=""
for _ in 1 2 3 4; do
    candidate=$(token admin-client) || break
    if [[ "$(kid_of "$candidate")" != "$OLD_KID" ]]; then
        NEW_TOKEN=$candidate
        break
    fi
done
[[ -n "$NEW_TOKEN" ]] || abort "the provider never signed with the new key"
pass "provider signs with the new key $(kid_of "$NEW_TOKEN")"
req GET "$BASE/v1/status" -H "Authorization: Bearer $NEW_TOKEN"
check "token signed by the new key is accepted" "200" "$STATUS"
req GET "$BASE/v1/status" -H "Authorization: Bearer $ADMIN"
check "token of the old key still accepted while published" "200" "$STATUS"
req POST "$CONTROL/rotate/retire"
check "provider retires the old key" "200" "$STATUS"
refused=""
deadline=$((SECONDS + 20))
while ((SECONDS < deadline)); do
    req GET "$BASE/v1/status" -H "Authorization: Bearer $ADMIN"
    if [[ "$STATUS" == "401" ]]; then
        refused=yes
        break
    fi
    sleep 0.5
done
check "token of the removed key refused after the JWKS refresh" "yes" "$refused"
check "removed key: invalid_token body" "invalid_token" "$(json error <<<"$BODY")"
req GET "$BASE/v1/status" -H "Authorization: Bearer $NEW_TOKEN"
check "token of the remaining key still accepted" "200" "$STATUS"

echo "-- no credential in the logs"
leaks=$(grep -c -F -f "$WORK/credentials" "$WORK/gateway.log" "$WORK/gateway.err" | awk -F: '{sum += $2} END {print sum + 0}')
check "credentials found in the gateway's logs ($(wc -l <"$WORK/credentials") checked)" "0" "$leaks"

# ---------------------------------------------------------------------------
echo "== default embedded mode (cargo run --example llm_gateway)"
# The README's command, with no configuration. It listens on 127.0.0.1:8080;
# when that port is taken on this machine, DDF_LISTEN moves it elsewhere.
DEV_BASE="http://127.0.0.1:8080"
dev_env=(env -u DDF_CONFIG -u DDF_ISSUER_URL -u DDF_AUDIENCE -u DDF_REDIS_URL -u DDF_LISTEN -u DDF_LOG_FORMAT)
if (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; then
    DEV_PORT=$(free_port)
    DEV_BASE="http://127.0.0.1:${DEV_PORT}"
    dev_env+=(DDF_LISTEN="127.0.0.1:${DEV_PORT}")
    echo "   (port 8080 is in use here; using $DEV_BASE)"
fi
start "$WORK/dev.log" "$WORK/dev.err" "${dev_env[@]}" cargo run --locked --quiet --example llm_gateway
wait_for 300 grep -q '^export DDF_API_KEY_READONLY=' "$WORK/dev.err" ||
    abort "embedded mode did not print its credentials"
check_contains "embedded mode is labelled as a local development issuer" "LOCAL DEVELOPMENT ISSUER" "$(cat "$WORK/dev.err")"
DEV_TOKEN=$(grep '^export DDF_TOKEN_USER=' "$WORK/dev.err" | cut -d= -f2-)
DEV_KEY=$(grep '^export DDF_API_KEY_READONLY=' "$WORK/dev.err" | cut -d= -f2-)
DEV_ADMIN=$(grep '^export DDF_TOKEN_ADMIN=' "$WORK/dev.err" | cut -d= -f2-)
for credential in "$DEV_TOKEN" "$DEV_KEY" "$DEV_ADMIN"; do remember "$credential"; done
wait_for 30 curl -sf --max-time 2 "$DEV_BASE/healthz" || abort "embedded gateway did not become ready"
# The printed curl command, run as printed.
printed=$(grep "^curl -s -X POST $DEV_BASE/v1/query" "$WORK/dev.err" | head -1)
check_contains "banner prints a query command" "Authorization: Bearer \$DDF_TOKEN_USER" "$printed"
BODY=$(DDF_TOKEN_USER="$DEV_TOKEN" timeout 10 bash -c "$printed")
check "printed user token: query answered" "Hello, gateway" "$(json output <<<"$BODY")"
req GET "$DEV_BASE/v1/status" -H "X-API-Key: $DEV_KEY"
check "printed readonly API key: status 200" "200" "$STATUS"
req POST "$DEV_BASE/v1/query" -H "X-API-Key: $DEV_KEY" -H 'Content-Type: application/json' -d "$QUERY"
check "printed readonly API key: query 403" "403" "$STATUS"
req PUT "$DEV_BASE/admin/config" -H "Authorization: Bearer $DEV_ADMIN" -H 'Content-Type: application/json' -d "$SETTINGS"
check "printed admin token: config write 200" "200" "$STATUS"
leaks=$(grep -c -F -f "$WORK/credentials" "$WORK/dev.log" | awk -F: '{sum += $NF} END {print sum + 0}')
check "credentials found in the embedded gateway's log" "0" "$leaks"

finish
