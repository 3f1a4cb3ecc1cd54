//! An LLM gateway protected by ddf-auth: the flagship example.
//!
//! ```text
//! cargo run --example llm_gateway
//! ```
//!
//! With no configuration it starts a clearly labelled local development
//! issuer and in-memory stores, and prints a token and an API key per role
//! with curl commands to try. Point it at a real provider and Redis with
//! `DDF_ISSUER_URL`, `DDF_AUDIENCE` and `DDF_REDIS_URL`, or a YAML file named
//! by `DDF_CONFIG` (see `config/gateway.template.yaml`).
//!
//! | route | permission |
//! |---|---|
//! | `POST /v1/query` | `llm:query` |
//! | `GET /v1/status` | `llm:status` |
//! | `GET /admin/config` | `config:read` |
//! | `PUT /admin/config` | `config:write` (audited) |
//! | `GET /metrics` | `monitoring:read` |
//! | `POST /v1/sessions` | a valid token or API key |
//! | `DELETE /v1/sessions/current` | the session cookie |
//! | `DELETE /v1/users/{subject}` | `users:delete` |
//! | `GET /healthz` | none |

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use ddf_auth::gateway::{GatewayConfig, Stack};
use ddf_auth::session::{SessionErrorKind, SessionId};
use ddf_auth::tower::Authenticated;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing_subscriber::EnvFilter;

/// The audit target shared with the ddf-tower layers.
const AUDIT: &str = "ddf_auth::audit";
/// Largest accepted request body.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest accepted prompt, in bytes.
const MAX_PROMPT_BYTES: usize = 16 * 1024;
const MODEL: &str = "echo-1";

/// The handlers' state. axum clones it for every request, so it is one
/// `Arc`: one reference count to update, not one per field.
type AppState = Arc<Shared>;

struct Shared {
    stack: Arc<Stack>,
    settings: RwLock<Settings>,
    counters: Counters,
    started: Instant,
}

/// The runtime settings that `PUT /admin/config` changes.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    model: String,
    max_tokens: u32,
    temperature: f64,
}

#[derive(Default)]
struct Counters {
    queries: AtomicU64,
    prompt_tokens: AtomicU64,
    completion_tokens: AtomicU64,
    logins: AtomicU64,
    logouts: AtomicU64,
    config_changes: AtomicU64,
    users_deleted: AtomicU64,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("llm_gateway: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let config = GatewayConfig::load()?;
    init_logging(config.json_logs());
    let listen = config.listen_addr()?;
    let stack = Arc::new(Stack::build(config).await?);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;

    let state = Arc::new(Shared {
        stack: Arc::clone(&stack),
        settings: RwLock::new(Settings {
            model: MODEL.to_owned(),
            max_tokens: 256,
            temperature: 0.0,
        }),
        counters: Counters::default(),
        started: Instant::now(),
    });
    let app = router(state)?;

    tracing::info!(
        listen = %address,
        issuers = ?stack.issuer_urls(),
        redis = stack.uses_redis(),
        development_issuer = stack.dev_issuer().is_some(),
        "llm gateway ready"
    );
    print_banner(&stack, address);

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    tracing::info!("llm gateway stopped");
    Ok(())
}

/// Logs to stdout, plain or JSON lines; `RUST_LOG` overrides the level.
fn init_logging(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    if json {
        builder.json().init();
    } else {
        builder.with_ansi(false).init();
    }
}

fn router(state: AppState) -> Result<Router, Box<dyn Error>> {
    let stack = &state.stack;
    let protected = Router::new()
        .route(
            "/v1/query",
            post(query).route_layer(stack.require("llm:query")),
        )
        .route(
            "/v1/status",
            get(status).route_layer(stack.require("llm:status")),
        )
        .route(
            "/admin/config",
            get(read_config)
                .route_layer(stack.require("config:read"))
                .merge(put(write_config).route_layer(stack.require("config:write"))),
        )
        .route(
            "/metrics",
            get(metrics).route_layer(stack.require("monitoring:read")),
        )
        .route(
            "/v1/users/{subject}",
            delete(delete_user).route_layer(stack.require("users:delete")),
        )
        .layer(stack.per_principal_rate_limit())
        .layer(stack.auth_layer()?);
    let login = Router::new()
        .route("/v1/sessions", post(login))
        .layer(stack.per_principal_rate_limit())
        .layer(stack.login_layer()?);
    let logout = Router::new()
        .route("/v1/sessions/current", delete(logout))
        .layer(stack.session_layer()?);

    let authenticated = protected
        .merge(login)
        .merge(logout)
        .layer(stack.per_client_rate_limit());
    Ok(Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(authenticated)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryRequest {
    prompt: String,
    #[serde(default)]
    max_tokens: Option<u32>,
}

/// Counts whitespace-separated words: the stand-in model's "tokens".
fn count_tokens(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// A deterministic stand-in for a model: echoes the prompt, cut to
/// `max_tokens` words.
async fn query(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Json(request): Json<QueryRequest>,
) -> Response {
    if request.prompt.len() > MAX_PROMPT_BYTES {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "prompt_too_large",
            "The prompt is longer than 16 KiB.",
        );
    }
    let (model, limit) = {
        let settings = read_settings(&state);
        (settings.model.clone(), settings.max_tokens)
    };
    let limit = request.max_tokens.map_or(limit, |wanted| wanted.min(limit));
    let words: Vec<&str> = request
        .prompt
        .split_whitespace()
        .take(limit as usize)
        .collect();
    let output = words.join(" ");
    let prompt_tokens = count_tokens(&request.prompt);
    let completion_tokens = words.len() as u64;
    let counters = &state.counters;
    counters.queries.fetch_add(1, Ordering::Relaxed);
    counters
        .prompt_tokens
        .fetch_add(prompt_tokens, Ordering::Relaxed);
    counters
        .completion_tokens
        .fetch_add(completion_tokens, Ordering::Relaxed);
    Json(json!({
        "model": model,
        "subject": principal.subject(),
        "output": output,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }))
    .into_response()
}

async fn status(State(state): State<AppState>) -> Json<Value> {
    let model = read_settings(&state).model.clone();
    Json(json!({
        "status": "ok",
        "model": model,
        "uptime_secs": state.started.elapsed().as_secs(),
    }))
}

async fn read_config(State(state): State<AppState>) -> Json<Settings> {
    Json(read_settings(&state).clone())
}

fn read_settings(state: &AppState) -> std::sync::RwLockReadGuard<'_, Settings> {
    // A panic while holding the lock cannot leave `Settings` half-written
    // (it is replaced whole), so a poisoned lock is still consistent.
    state
        .settings
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Replaces the runtime settings; an audited configuration change.
async fn write_config(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Json(settings): Json<Settings>,
) -> Response {
    if settings.model.is_empty()
        || settings.model.len() > 64
        || settings.max_tokens == 0
        || !(0.0..=2.0).contains(&settings.temperature)
    {
        return error_response(
            StatusCode::BAD_REQUEST,
            "invalid_settings",
            "model must be 1 to 64 characters, max_tokens positive, temperature between 0 and 2.",
        );
    }
    let previous = {
        let mut current = state
            .settings
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::replace(&mut *current, settings.clone())
    };
    state
        .counters
        .config_changes
        .fetch_add(1, Ordering::Relaxed);
    tracing::info!(
        target: AUDIT,
        event = "config_change",
        outcome = "success",
        subject = principal.subject(),
        method = principal.method().as_str(),
        key_id = principal.key_id(),
        previous_model = %previous.model,
        model = %settings.model,
        max_tokens = settings.max_tokens,
        temperature = settings.temperature,
        "configuration changed"
    );
    Json(settings).into_response()
}

/// Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    let counters = &state.counters;
    let stack = &state.stack;
    let mut text = String::new();
    let mut counter = |name: &str, help: &str, value: u64| {
        let _ = write!(
            text,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
        );
    };
    counter(
        "llm_gateway_queries_total",
        "Queries processed.",
        counters.queries.load(Ordering::Relaxed),
    );
    counter(
        "llm_gateway_prompt_tokens_total",
        "Prompt tokens received.",
        counters.prompt_tokens.load(Ordering::Relaxed),
    );
    counter(
        "llm_gateway_completion_tokens_total",
        "Completion tokens returned.",
        counters.completion_tokens.load(Ordering::Relaxed),
    );
    counter(
        "llm_gateway_logins_total",
        "Sessions created.",
        counters.logins.load(Ordering::Relaxed),
    );
    counter(
        "llm_gateway_logouts_total",
        "Sessions ended by logout.",
        counters.logouts.load(Ordering::Relaxed),
    );
    counter(
        "llm_gateway_config_changes_total",
        "Runtime configuration changes.",
        counters.config_changes.load(Ordering::Relaxed),
    );
    counter(
        "llm_gateway_users_deleted_total",
        "Users whose sessions and API keys were deleted.",
        counters.users_deleted.load(Ordering::Relaxed),
    );
    counter(
        "llm_gateway_auth_alerts_total",
        "Failed-authentication alerts raised.",
        stack.brute_force().alerts_raised(),
    );
    text.push_str("# HELP llm_gateway_jwks_keys Signing keys held per issuer.\n");
    text.push_str("# TYPE llm_gateway_jwks_keys gauge\n");
    for (issuer, kids) in stack.key_ids() {
        let issuer = issuer.replace(['\\', '"', '\n'], "_");
        let _ = writeln!(
            text,
            "llm_gateway_jwks_keys{{issuer=\"{issuer}\"}} {}",
            kids.len()
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        text,
    )
        .into_response()
}

/// Creates a session for a caller authenticated by token or API key, and
/// sets the session cookie.
async fn login(State(state): State<AppState>, Authenticated(principal): Authenticated) -> Response {
    let stack = &state.stack;
    let subject = principal.subject().to_owned();
    let method = principal.method().as_str();
    match stack.sessions().create(principal).await {
        Ok((id, session)) => {
            state.counters.logins.fetch_add(1, Ordering::Relaxed);
            let now = std::time::SystemTime::now();
            let max_age = session.remaining(now);
            tracing::info!(
                target: AUDIT,
                event = "session_created",
                outcome = "success",
                subject = %subject,
                method,
                "session created"
            );
            let cookie = stack.session_authenticator().cookie().set(&id, max_age);
            let mut response = (
                StatusCode::CREATED,
                Json(json!({
                    "subject": subject,
                    "expires_in": max_age.as_secs(),
                })),
            )
                .into_response();
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response
        }
        Err(error) => session_error(error.kind()),
    }
}

/// Ends the session named by the cookie, and clears the cookie.
async fn logout(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
) -> Response {
    let stack = &state.stack;
    let cookie = stack.session_authenticator().cookie();
    let Some(id) = session_cookie(&headers, cookie.name()) else {
        return session_error(SessionErrorKind::SessionInvalid);
    };
    match stack.sessions().logout(&id).await {
        Ok(_) => {
            state.counters.logouts.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                target: AUDIT,
                event = "session_ended",
                outcome = "success",
                subject = principal.subject(),
                "session ended by logout"
            );
            let mut response = StatusCode::NO_CONTENT.into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, cookie.clear());
            response
        }
        Err(error) => session_error(error.kind()),
    }
}

/// Reads the session id from the `Cookie` header. The authentication layer
/// already verified it; this only finds it again.
fn session_cookie(headers: &HeaderMap, name: &str) -> Option<SessionId> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .and_then(|(_, value)| SessionId::parse(value.trim_matches('"')).ok())
}

/// Deletes every session and revokes every API key of `subject`.
async fn delete_user(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    Path(subject): Path<String>,
) -> Response {
    let stack = &state.stack;
    let sessions = match stack.sessions().delete_user(&subject).await {
        Ok(count) => count,
        Err(error) => return session_error(error.kind()),
    };
    let Ok(keys) = stack.api_keys().revoke_owner(&subject).await else {
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "The API-key store is unavailable. Retry later.",
        );
    };
    state.counters.users_deleted.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(
        target: AUDIT,
        event = "user_deleted",
        outcome = "success",
        subject = principal.subject(),
        deleted_subject = %subject,
        sessions_deleted = sessions,
        api_keys_revoked = keys,
        "user's sessions and API keys deleted"
    );
    Json(json!({
        "subject": subject,
        "sessions_deleted": sessions,
        "api_keys_revoked": keys,
    }))
    .into_response()
}

fn session_error(kind: SessionErrorKind) -> Response {
    match kind {
        SessionErrorKind::SessionStoreUnavailable => {
            let mut response = error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "Authentication is temporarily unavailable. Retry later.",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
        SessionErrorKind::SessionLimitReached => error_response(
            StatusCode::CONFLICT,
            "session_limit_reached",
            "Too many sessions. Sign out elsewhere first.",
        ),
        SessionErrorKind::SessionInvalid => error_response(
            StatusCode::UNAUTHORIZED,
            "invalid_session",
            "The session is invalid or has expired.",
        ),
        _ => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error.",
        ),
    }
}

fn error_response(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": code, "error_description": description })),
    )
        .into_response()
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

/// Prints the development credentials and curl commands on stderr, apart
/// from the log on stdout. Nothing is printed with a real issuer.
fn print_banner(stack: &Stack, address: SocketAddr) {
    let Some(dev) = stack.dev_issuer() else {
        eprintln!(
            "llm_gateway: listening on http://{address} (issuer: {:?})",
            stack.issuer_urls()
        );
        return;
    };
    let base = format!("http://{address}");
    let rule = "=".repeat(78);
    let mut out = String::new();
    let mut line = |text: &str| {
        out.push_str(text);
        out.push('\n');
    };
    line(&rule);
    line("  LOCAL DEVELOPMENT ISSUER: for trying the gateway on this machine only.");
    line(&format!(
        "  Its signing key was generated at start-up; its JWKS is served at {}/.well-known/jwks.json.",
        dev.url()
    ));
    line(&format!(
        "  Tokens are valid for {} hours and die with this process. Sessions, API keys",
        dev.token_lifetime().as_secs() / 3600
    ));
    line("  and rate limits are in memory. For your identity provider and Redis, set");
    line("  DDF_ISSUER_URL, DDF_AUDIENCE and DDF_REDIS_URL (see README.md).");
    line(&rule);
    line(&format!("  gateway: {base}"));
    line("");
    line("  Paste these lines into a shell (one token and one API key per role):");
    line("");
    let mut roles = BTreeMap::new();
    for credential in stack.dev_credentials() {
        let upper = credential.role.to_uppercase();
        line(&format!("export DDF_TOKEN_{upper}={}", credential.token));
        line(&format!(
            "export DDF_API_KEY_{upper}={}",
            credential.api_key
        ));
        roles.insert(credential.role, credential.subject.clone());
    }
    line("");
    line("  Then try:");
    line("");
    line(&format!("curl -s {base}/healthz"));
    line(&format!(
        "curl -s -X POST {base}/v1/query -H \"Authorization: Bearer $DDF_TOKEN_USER\" -H 'Content-Type: application/json' -d '{{\"prompt\":\"Hello, gateway\"}}'"
    ));
    line(&format!(
        "curl -s {base}/v1/status -H \"X-API-Key: $DDF_API_KEY_READONLY\""
    ));
    line(&format!(
        "curl -s -i -X PUT {base}/admin/config -H \"Authorization: Bearer $DDF_TOKEN_USER\" -H 'Content-Type: application/json' -d '{{\"model\":\"echo-2\",\"max_tokens\":64,\"temperature\":0.2}}'   # 403"
    ));
    line(&format!(
        "curl -s -X PUT {base}/admin/config -H \"Authorization: Bearer $DDF_TOKEN_ADMIN\" -H 'Content-Type: application/json' -d '{{\"model\":\"echo-2\",\"max_tokens\":64,\"temperature\":0.2}}'"
    ));
    line(&format!(
        "curl -s {base}/metrics -H \"X-API-Key: $DDF_API_KEY_ADMIN\""
    ));
    line(&format!(
        "curl -s -i -X POST {base}/v1/sessions -H \"X-API-Key: $DDF_API_KEY_USER\"   # Set-Cookie: {}=...",
        stack.session_authenticator().cookie().name()
    ));
    if let Some(subject) = roles.get("readonly") {
        line(&format!(
            "curl -s -X DELETE {base}/v1/users/{subject} -H \"Authorization: Bearer $DDF_TOKEN_ADMIN\""
        ));
    }
    line(&rule);
    eprint!("{out}");
}
