//! Catalog row J16: several tokens in one request while the JWKS fetch is
//! failing. The ambiguity is decided before any key lookup, so every such
//! request gets the same 400, and the outage itself still reads as 503.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::{collect, request};
use ddf_jwt::{IssuerConfig, RemoteJwks, Validator};
use ddf_tower::{AuthLayer, Authenticated, Reason};
use tower::ServiceExt;

const ISSUER: &str = "https://idp.outage.test/realms/llm";

/// Returns a loopback URL on which nothing listens.
fn closed_jwks_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/jwks")
}

async fn whoami(Authenticated(principal): Authenticated) -> String {
    principal.subject().to_owned()
}

fn app() -> Router {
    let keys = RemoteJwks::builder(closed_jwks_url())
        .danger_allow_http_loopback(true)
        .background_refresh(false)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let validator = Validator::builder()
        .issuer(IssuerConfig::new(ISSUER, keys).audience("llm-gateway"))
        .build()
        .unwrap();
    let layer = AuthLayer::builder().bearer(validator).build().unwrap();
    Router::new().route("/v1/query", get(whoami)).layer(layer)
}

/// A structurally valid RS256 token; it never reaches signature checks.
const TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL2lkcC5vdXRhZ2UudGVzdC9yZWFsbXMvbGxtIiwic3ViIjoidSIsImF1ZCI6ImxsbS1nYXRld2F5IiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2lnbmF0dXJl";

#[tokio::test]
async fn j16_multiple_tokens_during_outage_are_ambiguous() {
    let app = app();
    let bearer = format!("Bearer {TOKEN}");

    // The outage is real: one token alone reads as 503, not as invalid.
    let single = collect(
        app.clone()
            .oneshot(request("GET", "/v1/query", &[("authorization", &bearer)]))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(single.status, 503);
    assert_eq!(single.reason, Some(Reason::JwksUnavailable));

    let two_headers = [
        ("authorization", bearer.as_str()),
        ("authorization", bearer.as_str()),
    ];
    let query_uri = format!("/v1/query?access_token={TOKEN}");
    let mut tasks = Vec::new();
    for round in 0..40 {
        let app = app.clone();
        let request = if round % 2 == 0 {
            request("GET", "/v1/query", &two_headers)
        } else {
            request("GET", &query_uri, &[("authorization", &bearer)])
        };
        tasks.push(tokio::spawn(async move {
            collect(app.oneshot(request).await.unwrap()).await
        }));
    }
    for task in tasks {
        let response = task
            .await
            .expect("the request task finished without a panic");
        assert_eq!(response.status, 400);
        assert_eq!(response.reason, Some(Reason::CredentialsAmbiguous));
        let challenge = response.header("www-authenticate").unwrap();
        assert!(
            challenge.contains("error=\"invalid_request\""),
            "{challenge}"
        );
    }
}
