//! The LLM gateway written with actix-web 4, built from the same
//! configuration and `ddf_auth::gateway::Stack` as the axum `llm_gateway`.
//!
//! ```text
//! cargo run --example actix_gateway --features actix
//! ```
//!
//! It reads the same configuration (`DDF_CONFIG`, `DDF_ISSUER_URL`,
//! `DDF_AUDIENCE`, `DDF_REDIS_URL`), and without one starts the local
//! development issuer and prints a token and an API key per role.
//!
//! | route | permission |
//! |---|---|
//! | `POST /v1/query` | `llm:query` |
//! | `GET /v1/status` | `llm:status` |
//! | `GET /admin/config` | `config:read` |
//! | `PUT /admin/config` | `config:write` (audited) |
//! | `GET /healthz` | none |
//!
//! NOTE: the rate limits of the axum gateway are tower layers with no actix
//! adapter yet, so this variant does not apply them. Authentication,
//! brute-force blocking, permissions and audit events are the same.

use std::error::Error;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, web};
use ddf_auth::gateway::{GatewayConfig, Stack};
use ddf_auth::tower::Authenticated;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing_subscriber::EnvFilter;

/// The audit target shared with the ddf-tower layers.
const AUDIT: &str = "ddf_auth::audit";
/// Largest accepted JSON body.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest accepted prompt, in bytes.
const MAX_PROMPT_BYTES: usize = 16 * 1024;

struct AppState {
    settings: RwLock<Settings>,
    started: Instant,
}

/// The runtime settings that `PUT /admin/config` changes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    model: String,
    max_tokens: u32,
    temperature: f32,
}

fn main() -> ExitCode {
    match actix_web::rt::System::new().block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("actix_gateway: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let config = GatewayConfig::load()?;
    init_logging(config.json_logs());
    let listen = config.listen_addr()?;
    let stack = Arc::new(Stack::build(config).await?);
    let auth = stack.auth_layer()?;
    let state = web::Data::new(AppState {
        settings: RwLock::new(Settings {
            model: "echo-1".to_owned(),
            max_tokens: 256,
            temperature: 0.0,
        }),
        started: Instant::now(),
    });

    let app_stack = Arc::clone(&stack);
    let server = HttpServer::new(move || {
        let stack = &app_stack;
        App::new()
            .app_data(state.clone())
            .app_data(web::JsonConfig::default().limit(MAX_BODY_BYTES))
            .route("/healthz", web::get().to(|| async { "ok\n" }))
            .service(
                web::scope("")
                    .wrap(auth.clone())
                    .service(
                        web::resource("/v1/query")
                            .wrap(stack.require("llm:query"))
                            .route(web::post().to(query)),
                    )
                    .service(
                        web::resource("/v1/status")
                            .wrap(stack.require("llm:status"))
                            .route(web::get().to(status)),
                    )
                    .service(
                        web::resource("/admin/config")
                            .route(
                                web::get()
                                    .to(read_config)
                                    .wrap(stack.require("config:read")),
                            )
                            .route(
                                web::put()
                                    .to(write_config)
                                    .wrap(stack.require("config:write")),
                            ),
                    ),
            )
    })
    .bind(listen)?;
    let address = server.addrs().first().copied().unwrap_or(listen);
    tracing::info!(
        listen = %address,
        issuers = ?stack.issuer_urls(),
        redis = stack.uses_redis(),
        development_issuer = stack.dev_issuer().is_some(),
        "actix gateway ready"
    );
    print_banner(&stack, address);
    // actix-web stops gracefully on SIGINT and SIGTERM.
    server.run().await?;
    tracing::info!("actix gateway stopped");
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryRequest {
    prompt: String,
    #[serde(default)]
    max_tokens: Option<u32>,
}

/// Answers with a deterministic stand-in for a model: echoes the prompt, cut to
/// `max_tokens` words, with word counts as token counts.
async fn query(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    request: web::Json<QueryRequest>,
) -> HttpResponse {
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
    let limit = request
        .max_tokens
        .map_or(limit, |requested| requested.min(limit));
    let words: Vec<&str> = request
        .prompt
        .split_whitespace()
        .take(limit as usize)
        .collect();
    let prompt_tokens = request.prompt.split_whitespace().count();
    let completion_tokens = words.len();
    HttpResponse::Ok().json(json!({
        "model": model,
        "subject": principal.subject(),
        "output": words.join(" "),
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }))
}

async fn status(state: web::Data<AppState>) -> HttpResponse {
    let model = read_settings(&state).model.clone();
    HttpResponse::Ok().json(json!({
        "status": "ok",
        "model": model,
        "uptime_secs": state.started.elapsed().as_secs(),
    }))
}

async fn read_config(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(read_settings(&state).clone())
}

fn read_settings(state: &AppState) -> std::sync::RwLockReadGuard<'_, Settings> {
    // `Settings` is replaced whole, so a poisoned lock is still consistent.
    state
        .settings
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Replaces the runtime settings; an audited configuration change.
async fn write_config(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    settings: web::Json<Settings>,
) -> HttpResponse {
    let settings = settings.into_inner();
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
        temperature = f64::from(settings.temperature),
        "configuration changed"
    );
    HttpResponse::Ok().json(settings)
}

fn error_response(status: StatusCode, code: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": code, "error_description": description }))
}

/// Prints the development credentials and curl commands on stderr. Nothing
/// is printed with a real issuer.
fn print_banner(stack: &Stack, address: SocketAddr) {
    let base = format!("http://{address}");
    let Some(dev) = stack.dev_issuer() else {
        eprintln!(
            "actix_gateway: listening on {base} (issuer: {:?})",
            stack.issuer_urls()
        );
        return;
    };
    let rule = "=".repeat(78);
    eprintln!("{rule}");
    eprintln!(
        "  LOCAL DEVELOPMENT ISSUER (JWKS at {}/.well-known/jwks.json): for trying",
        dev.url()
    );
    eprintln!("  the gateway on this machine only. Tokens die with this process.");
    eprintln!("{rule}");
    for credential in stack.dev_credentials() {
        let upper = credential.role.to_uppercase();
        eprintln!("export DDF_TOKEN_{upper}={}", credential.token);
        eprintln!("export DDF_API_KEY_{upper}={}", credential.api_key);
    }
    eprintln!();
    eprintln!("curl -s {base}/healthz");
    eprintln!(
        "curl -s -X POST {base}/v1/query -H \"Authorization: Bearer $DDF_TOKEN_USER\" \
         -H 'Content-Type: application/json' -d '{{\"prompt\":\"Hello, gateway\"}}'"
    );
    eprintln!("curl -s {base}/v1/status -H \"X-API-Key: $DDF_API_KEY_READONLY\"");
    eprintln!("curl -s {base}/admin/config -H \"Authorization: Bearer $DDF_TOKEN_ADMIN\"");
    eprintln!("{rule}");
}
