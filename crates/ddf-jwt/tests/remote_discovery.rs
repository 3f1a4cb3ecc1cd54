//! OIDC discovery against a real HTTP server on 127.0.0.1.

#![cfg(feature = "remote")]

mod remote_support;

use std::time::Duration;

use ddf_jwt::{
    DiscoveryConfig, ErrorKind, FetchErrorKind, FetchOutcome, RemoteJwks, RemoteJwksConfig,
};
use remote_support::{ISSUER, Idp, Reply, TestKey, clock, outcome, test_config, validator};
use serde_json::json;

const WELL_KNOWN: &str = "/realms/demo/.well-known/openid-configuration";
const JWKS: &str = "/realms/demo/protocol/openid-connect/certs";

fn discovery_document(issuer: &str, jwks_uri: &str) -> Reply {
    Reply::json(
        json!({
            "issuer": issuer,
            "jwks_uri": jwks_uri,
            "authorization_endpoint": "https://sso.example.test/realms/demo/auth",
            "id_token_signing_alg_values_supported": ["RS256", "EdDSA"],
        })
        .to_string(),
    )
}

fn discovering(idp: &Idp, clock: &ddf_rbac::ManualClock) -> RemoteJwks {
    // Tokens name the public issuer; the provider is reached on loopback.
    let discovery = DiscoveryConfig::new(ISSUER).base_url(idp.url("/realms/demo"));
    RemoteJwks::from_discovery(discovery)
        .config(test_config())
        .clock(clock.clone())
        .build()
        .unwrap()
}

fn failure_reason(keys: &RemoteJwks) -> Option<FetchErrorKind> {
    match keys.status().last_outcome {
        Some(FetchOutcome::Failed { reason, .. }) => Some(reason),
        _ => None,
    }
}

#[tokio::test]
async fn discovery_finds_jwks_uri_through_base_url() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    idp.set(WELL_KNOWN, discovery_document(ISSUER, &idp.url(JWKS)));
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let keys = discovering(&idp, &clock);
    let validator = validator(keys.clone(), &clock);

    keys.refresh().await.unwrap();
    assert_eq!(outcome(&validator, &k1.token("user-1")).await, "accepted");
    assert_eq!(
        keys.status().jwks_uri.as_deref(),
        Some(idp.url(JWKS).as_str())
    );

    // Later refreshes reuse the discovered URL.
    keys.refresh().await.unwrap();
    assert_eq!(idp.hits(WELL_KNOWN), 1);
    assert_eq!(idp.hits(JWKS), 2);
}

#[tokio::test]
async fn discovery_metadata_fetch() {
    let idp = Idp::start().await;
    idp.set(WELL_KNOWN, discovery_document(ISSUER, &idp.url(JWKS)));
    let client = RemoteJwks::client_builder(&test_config()).build().unwrap();
    let metadata = DiscoveryConfig::new(ISSUER)
        .base_url(idp.url("/realms/demo/"))
        .fetch(&client, &test_config())
        .await
        .unwrap();
    assert_eq!(metadata.issuer, ISSUER);
    assert_eq!(metadata.jwks_uri, idp.url(JWKS));
    assert_eq!(
        metadata.id_token_signing_alg_values_supported,
        ["RS256", "EdDSA"]
    );
}

#[tokio::test]
async fn j17_discovery_issuer_mismatch_rejected() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    for wrong in [
        "https://sso.example.test/realms/demo/",
        "https://SSO.example.test/realms/demo",
        "https://sso.example.test/realms/other",
        "https://attacker.example.test/realms/demo",
    ] {
        idp.set(WELL_KNOWN, discovery_document(wrong, &idp.url(JWKS)));
        let keys = discovering(&idp, &clock);
        let validator = validator(keys.clone(), &clock);
        assert_eq!(
            keys.refresh().await.unwrap_err().kind(),
            ErrorKind::JwksInvalid,
            "{wrong}"
        );
        assert_eq!(failure_reason(&keys), Some(FetchErrorKind::IssuerMismatch));
        assert_eq!(
            outcome(&validator, &k1.token("user-1")).await,
            "jwks_unavailable"
        );
    }
    assert_eq!(idp.hits(JWKS), 0);
}

#[tokio::test]
async fn j17_discovery_insecure_jwks_uri_rejected() {
    let idp = Idp::start().await;
    let clock = clock();
    for jwks_uri in [
        "http://sso.example.test/realms/demo/protocol/openid-connect/certs",
        "file:///etc/passwd",
        "not a url",
    ] {
        idp.set(WELL_KNOWN, discovery_document(ISSUER, jwks_uri));
        let keys = discovering(&idp, &clock);
        assert_eq!(
            keys.refresh().await.unwrap_err().kind(),
            ErrorKind::JwksInvalid,
            "{jwks_uri}"
        );
        assert_eq!(failure_reason(&keys), Some(FetchErrorKind::InsecureUrl));
    }
}

#[tokio::test]
async fn j17_jwks_uri_host_change_refused() {
    let idp = Idp::start().await;
    let other = Idp::start_on("127.0.0.2:0").await;
    let k1 = TestKey::new("k1");
    idp.set(WELL_KNOWN, discovery_document(ISSUER, &idp.url(JWKS)));
    idp.set(JWKS, Reply::jwks(&[&k1]));
    other.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let keys = discovering(&idp, &clock);
    let validator = validator(keys.clone(), &clock);
    keys.refresh().await.unwrap();

    // A JWKS failure makes the next fetch run discovery again, which now
    // points at another host.
    idp.set(JWKS, Reply::status(500, "down"));
    keys.refresh().await.unwrap_err();
    idp.set(WELL_KNOWN, discovery_document(ISSUER, &other.url(JWKS)));
    assert_eq!(
        keys.refresh().await.unwrap_err().kind(),
        ErrorKind::JwksInvalid
    );
    assert_eq!(failure_reason(&keys), Some(FetchErrorKind::JwksUriChanged));
    assert_eq!(other.total_hits(), 0);
    // The previous set stays in use.
    assert_eq!(outcome(&validator, &k1.token("user-1")).await, "accepted");
}

#[tokio::test]
async fn discovery_document_errors() {
    let idp = Idp::start().await;
    let clock = clock();
    let cases = [
        (Reply::status(404, "not found"), FetchErrorKind::HttpStatus),
        (
            Reply::json("<html></html>"),
            FetchErrorKind::InvalidDocument,
        ),
        (
            Reply::json(r#"{"issuer": "x"}"#),
            FetchErrorKind::InvalidDocument,
        ),
        (
            Reply::json(format!(
                r#"{{"issuer": "{ISSUER}", "issuer": "{ISSUER}", "jwks_uri": "https://a.example.test/"}}"#
            )),
            FetchErrorKind::InvalidDocument,
        ),
    ];
    for (reply, expected) in cases {
        idp.set(WELL_KNOWN, reply);
        let keys = discovering(&idp, &clock);
        keys.refresh().await.unwrap_err();
        assert_eq!(failure_reason(&keys), Some(expected));
    }
}

#[tokio::test]
async fn j17_plain_http_discovery_rejected_without_loopback_option() {
    let error = RemoteJwks::from_discovery(DiscoveryConfig::new("http://127.0.0.1:9/realms/demo"))
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConfigInvalid);
    let error =
        RemoteJwks::from_discovery(DiscoveryConfig::new("http://sso.example.test/realms/demo"))
            .danger_allow_http_loopback(true)
            .build()
            .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConfigInvalid);
}

/// Builds a discovering source with the background task on, calls
/// `refresh` at once, then waits long enough for a second fetch to show up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_refresh_after_build_fetches_once() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    idp.set(WELL_KNOWN, discovery_document(ISSUER, &idp.url(JWKS)));
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let discovery = DiscoveryConfig::new(ISSUER).base_url(idp.url("/realms/demo"));
    let config = RemoteJwksConfig {
        background_refresh: true,
        ..test_config()
    };
    let keys = RemoteJwks::from_discovery(discovery)
        .config(config)
        .clock(clock.clone())
        .build()
        .unwrap();

    keys.refresh().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert_eq!(idp.hits(WELL_KNOWN), 1);
    assert_eq!(idp.hits(JWKS), 1);
}
