//! Serving the keyring's public JWKS, and an OIDC discovery document, with axum.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::Keyring;

/// Path of the JWKS document.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Path of the OIDC discovery document (OpenID Connect Discovery 1.0, section 4).
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// Settings of the OIDC discovery document.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DiscoveryConfig {
    /// The `issuer` value: the exact `iss` of the tokens.
    pub issuer: String,
    /// The `jwks_uri`; defaults to the issuer followed by [`JWKS_PATH`].
    #[serde(default)]
    pub jwks_uri: Option<String>,
}

impl DiscoveryConfig {
    /// Returns a discovery configuration for `issuer` with the default `jwks_uri`.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            jwks_uri: None,
        }
    }

    fn jwks_uri(&self) -> String {
        self.jwks_uri
            .clone()
            .unwrap_or_else(|| format!("{}{JWKS_PATH}", self.issuer.trim_end_matches('/')))
    }
}

#[derive(Debug)]
struct Published {
    keyring: Arc<Keyring>,
    discovery: Option<DiscoveryConfig>,
}

/// Returns a router that serves the keyring's JWKS at [`JWKS_PATH`], and the
/// discovery document at [`DISCOVERY_PATH`] when `discovery` is set.
///
/// Both documents are built from the keyring on each request, so scheduled
/// keys appear and retired keys leave without a restart. Responses carry
/// `Cache-Control: public, max-age=N` with N from
/// [`Keyring::jwks_max_age_secs`].
///
/// The discovery document holds only what a JWT verifier reads: `issuer`,
/// `jwks_uri`, `id_token_signing_alg_values_supported` (the algorithms of
/// the published keys) and `subject_types_supported`. It is not a full
/// OpenID provider description, because this service has no authorization
/// endpoint.
pub fn router(keyring: Arc<Keyring>, discovery: Option<DiscoveryConfig>) -> Router {
    let state = Arc::new(Published { keyring, discovery });
    let mut router = Router::new().route(JWKS_PATH, get(serve_jwks));
    if state.discovery.is_some() {
        router = router.route(DISCOVERY_PATH, get(serve_discovery));
    }
    router.with_state(state)
}

async fn serve_jwks(State(state): State<Arc<Published>>) -> Response {
    let body = state.keyring.public_jwks().to_value();
    json_response(&state.keyring, &body)
}

async fn serve_discovery(State(state): State<Arc<Published>>) -> Response {
    let Some(discovery) = &state.discovery else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    let mut algorithms: Vec<String> = Vec::new();
    for key in state.keyring.public_jwks().keys {
        if !algorithms.contains(&key.alg) {
            algorithms.push(key.alg);
        }
    }
    let body = serde_json::json!({
        "issuer": discovery.issuer,
        "jwks_uri": discovery.jwks_uri(),
        "id_token_signing_alg_values_supported": algorithms,
        "subject_types_supported": ["public"],
    });
    json_response(&state.keyring, &body)
}

fn json_response(keyring: &Keyring, body: &serde_json::Value) -> Response {
    let cache_control = format!("public, max-age={}", keyring.jwks_max_age_secs());
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_str(&cache_control)
                    .unwrap_or_else(|_| HeaderValue::from_static("no-cache")),
            ),
        ],
        body.to_string(),
    )
        .into_response()
}
