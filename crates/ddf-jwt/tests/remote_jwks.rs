//! `RemoteJwks` against a real HTTP server on 127.0.0.1: outages, bad
//! responses, rotation, ordering and revalidation.

#![cfg(feature = "remote")]

mod remote_support;

use std::sync::Arc;
use std::time::Duration;

use ddf_jwt::{
    ErrorKind, FetchErrorKind, FetchOutcome, JwtError, KeySource, RemoteJwks, RemoteJwksConfig,
};
use remote_support::{
    BodyKind, Idp, Reply, TestKey, clock, closed_address, outcome, source, source_with,
    test_config, validator,
};

const JWKS: &str = "/jwks";

fn failure_reason(keys: &RemoteJwks) -> Option<FetchErrorKind> {
    match keys.status().last_outcome {
        Some(FetchOutcome::Failed { reason, .. }) => Some(reason),
        _ => None,
    }
}

fn failure_status(keys: &RemoteJwks) -> Option<u16> {
    match keys.status().last_outcome {
        Some(FetchOutcome::Failed { status, .. }) => status,
        _ => None,
    }
}

fn kind(result: Result<Arc<ddf_jwt::KeySet>, JwtError>) -> ErrorKind {
    result.unwrap_err().kind()
}

#[tokio::test]
async fn j03_cold_start_down_reports_jwks_unavailable() {
    let addr = closed_address().await;
    let clock = clock();
    let keys = source(&format!("http://{addr}{JWKS}"), &clock);
    let k1 = TestKey::new("k1");
    let validator = validator(keys.clone(), &clock);

    assert_eq!(
        outcome(&validator, &k1.token("user-1")).await,
        "jwks_unavailable"
    );
    assert_eq!(kind(keys.refresh().await), ErrorKind::JwksUnavailable);
    assert_eq!(failure_reason(&keys), Some(FetchErrorKind::Connect));
    assert_eq!(
        outcome(&validator, &k1.token("user-1")).await,
        "jwks_unavailable"
    );

    let status = keys.status();
    assert!(!status.usable);
    assert_eq!(status.key_count, 0);
    // Validations never fetch; only the explicit refresh did.
    assert_eq!(status.fetch_count, 1);
    assert_eq!(status.failure_count, 1);
    assert_eq!(status.consecutive_failures, 1);
}

#[tokio::test]
async fn j03_background_retry_recovers_after_cold_start() {
    let addr = closed_address().await;
    let clock = clock();
    let config = RemoteJwksConfig {
        background_refresh: true,
        retry_initial_backoff: Duration::from_millis(20),
        retry_max_backoff: Duration::from_millis(100),
        ..test_config()
    };
    let keys = source_with(&format!("http://{addr}{JWKS}"), &clock, config);
    let k1 = TestKey::new("k1");
    let validator = validator(keys.clone(), &clock);

    // Wait until the background task has failed at least twice.
    for _ in 0..500 {
        if keys.status().failure_count >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(keys.status().failure_count >= 2);
    assert_eq!(
        outcome(&validator, &k1.token("user-1")).await,
        "jwks_unavailable"
    );

    // The provider comes up on the same port; no request triggers a fetch,
    // the background retries do.
    let idp = Idp::start_on(&addr.to_string()).await;
    idp.set(JWKS, Reply::jwks(&[&k1]));
    for _ in 0..500 {
        if keys.status().usable {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(keys.status().usable);
    assert_eq!(outcome(&validator, &k1.token("user-1")).await, "accepted");
    assert_eq!(keys.status().consecutive_failures, 0);
}

#[tokio::test]
async fn j04_outage_after_good_fetch_keeps_keys_until_max_stale() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    let validator = validator(keys.clone(), &clock);
    keys.refresh().await.unwrap();
    let token = k1.token("user-1");

    idp.stop().await;
    assert_eq!(kind(keys.force_refresh().await), ErrorKind::JwksUnavailable);
    assert_eq!(failure_reason(&keys), Some(FetchErrorKind::Connect));
    assert_eq!(outcome(&validator, &token).await, "accepted");

    // Fresh for 10 minutes, then stale but usable for 1 hour.
    clock.advance(Duration::from_secs(10 * 60 + 1));
    let status = keys.status();
    assert!(status.stale);
    assert!(status.usable);
    assert_eq!(status.staleness, Duration::from_secs(1));
    assert_eq!(outcome(&validator, &token).await, "accepted");

    clock.advance(Duration::from_secs(60 * 60));
    assert!(!keys.status().usable);
    assert_eq!(outcome(&validator, &token).await, "jwks_unavailable");
    assert_eq!(
        keys.current().unwrap_err().kind(),
        ErrorKind::JwksUnavailable
    );
}

#[tokio::test]
async fn j08_error_statuses_keep_previous_set() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    let validator = validator(keys.clone(), &clock);
    keys.refresh().await.unwrap();
    let generation = keys.status().generation;

    for status in [500, 503, 404, 401, 403] {
        idp.set(JWKS, Reply::status(status, "Internal Server Error"));
        assert_eq!(
            kind(keys.refresh().await),
            ErrorKind::JwksUnavailable,
            "{status}"
        );
        assert_eq!(failure_reason(&keys), Some(FetchErrorKind::HttpStatus));
        assert_eq!(failure_status(&keys), Some(status));
        assert_eq!(outcome(&validator, &k1.token("user-1")).await, "accepted");
        assert_eq!(keys.status().generation, generation);
    }
    assert_eq!(idp.hits(JWKS), 6);
}

#[tokio::test]
async fn j08_too_many_requests_retry_after_is_recorded() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    keys.refresh().await.unwrap();

    idp.set(
        JWKS,
        Reply::status(429, "slow down").with_header("retry-after", "120"),
    );
    assert_eq!(kind(keys.refresh().await), ErrorKind::JwksUnavailable);
    let status = keys.status();
    assert_eq!(failure_status(&keys), Some(429));
    assert_eq!(status.retry_after, Some(Duration::from_secs(120)));
    assert!(status.usable);

    // A Retry-After of a day is cut to 10 minutes.
    idp.set(
        JWKS,
        Reply::status(503, "maintenance").with_header("retry-after", "86400"),
    );
    keys.refresh().await.unwrap_err();
    assert_eq!(keys.status().retry_after, Some(Duration::from_secs(600)));
}

#[tokio::test]
async fn j08_redirect_not_followed() {
    let idp = Idp::start().await;
    let elsewhere = Idp::start().await;
    let k1 = TestKey::new("k1");
    elsewhere.set(JWKS, Reply::jwks(&[&k1]));
    for status in [301, 302, 307, 308] {
        idp.set(
            JWKS,
            Reply::status(status, "").with_header("location", &elsewhere.url(JWKS)),
        );
        let clock = clock();
        let keys = source(&idp.url(JWKS), &clock);
        assert_eq!(kind(keys.refresh().await), ErrorKind::JwksUnavailable);
        assert_eq!(failure_reason(&keys), Some(FetchErrorKind::Redirect));
        assert_eq!(failure_status(&keys), Some(status));
        assert_eq!(
            keys.current().unwrap_err().kind(),
            ErrorKind::JwksUnavailable
        );
    }
    assert_eq!(elsewhere.total_hits(), 0);
}

#[tokio::test]
async fn j08_redirect_followed_by_supplied_client_is_rejected() {
    let idp = Idp::start().await;
    let elsewhere = Idp::start().await;
    let k1 = TestKey::new("k1");
    elsewhere.set(JWKS, Reply::jwks(&[&k1]));
    idp.set(
        JWKS,
        Reply::status(302, "").with_header("location", &elsewhere.url(JWKS)),
    );
    // A careless client that follows redirects.
    let client = reqwest::Client::builder().build().unwrap();
    let keys = RemoteJwks::builder(idp.url(JWKS))
        .config(test_config())
        .client(client)
        .build()
        .unwrap();
    assert_eq!(kind(keys.refresh().await), ErrorKind::JwksUnavailable);
    assert_eq!(failure_reason(&keys), Some(FetchErrorKind::Redirect));
    assert!(keys.current().is_err());
}

#[tokio::test]
async fn j06_garbage_bodies_rejected_and_previous_set_kept() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    let validator = validator(keys.clone(), &clock);
    keys.refresh().await.unwrap();
    let generation = keys.status().generation;

    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let cases: Vec<(&str, Vec<u8>, FetchErrorKind)> = vec![
        (
            "html",
            b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>".to_vec(),
            FetchErrorKind::InvalidDocument,
        ),
        ("null", b"null".to_vec(), FetchErrorKind::InvalidDocument),
        (
            "empty object",
            b"{}".to_vec(),
            FetchErrorKind::InvalidDocument,
        ),
        (
            "keys null",
            br#"{"keys":null}"#.to_vec(),
            FetchErrorKind::InvalidDocument,
        ),
        (
            "keys string",
            br#"{"keys":"x"}"#.to_vec(),
            FetchErrorKind::InvalidDocument,
        ),
        (
            "keys object",
            br#"{"keys":{}}"#.to_vec(),
            FetchErrorKind::InvalidDocument,
        ),
        (
            "keys [null]",
            br#"{"keys":[null]}"#.to_vec(),
            FetchErrorKind::NoUsableKeys,
        ),
        (
            "truncated",
            br#"{"keys":[{"kty":"OKP","#.to_vec(),
            FetchErrorKind::InvalidDocument,
        ),
        (
            "invalid utf-8",
            b"{\"keys\":[\"\xff\xfe\"]}".to_vec(),
            FetchErrorKind::InvalidDocument,
        ),
        (
            "deep nesting",
            format!(r#"{{"keys":{deep}}}"#).into_bytes(),
            FetchErrorKind::InvalidDocument,
        ),
        ("empty body", Vec::new(), FetchErrorKind::InvalidDocument),
    ];
    for (name, body, expected) in cases {
        idp.set(JWKS, Reply::json("").with_body(BodyKind::Bytes(body)));
        assert_eq!(kind(keys.refresh().await), ErrorKind::JwksInvalid, "{name}");
        assert_eq!(failure_reason(&keys), Some(expected), "{name}");
        assert_eq!(
            outcome(&validator, &k1.token("user-1")).await,
            "accepted",
            "{name}"
        );
        assert_eq!(keys.status().generation, generation, "{name}");
    }
}

#[tokio::test]
async fn j06_html_at_cold_start_is_unavailable_not_invalid_token() {
    let idp = Idp::start().await;
    idp.set(
        JWKS,
        Reply::json("<html>502 Bad Gateway</html>").with_header("content-type", "text/html"),
    );
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    let validator = validator(keys.clone(), &clock);
    assert_eq!(kind(keys.refresh().await), ErrorKind::JwksInvalid);
    let k1 = TestKey::new("k1");
    assert_eq!(
        outcome(&validator, &k1.token("user-1")).await,
        "jwks_unavailable"
    );
    assert!(!keys.status().usable);
}

#[tokio::test]
async fn j07_oversized_bodies_rejected() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let config = RemoteJwksConfig {
        max_body_bytes: 16 * 1024,
        max_keys: 8,
        ..test_config()
    };
    let keys = source_with(&idp.url(JWKS), &clock, config);
    let validator = validator(keys.clone(), &clock);
    keys.refresh().await.unwrap();

    // Declared length over the cap.
    let padding = " ".repeat(20 * 1024);
    idp.set(JWKS, Reply::json(format!(r#"{{"keys":[]}}{padding}"#)));
    assert_eq!(kind(keys.refresh().await), ErrorKind::JwksUnavailable);
    assert_eq!(failure_reason(&keys), Some(FetchErrorKind::BodyTooLarge));

    // No length, an endless stream: cut at the cap, well before the deadline.
    idp.set(JWKS, Reply::json("").with_body(BodyKind::Endless));
    assert_eq!(kind(keys.refresh().await), ErrorKind::JwksUnavailable);
    assert_eq!(failure_reason(&keys), Some(FetchErrorKind::BodyTooLarge));

    // More keys than the cap.
    let many: Vec<TestKey> = (0..9).map(|i| TestKey::new(&format!("k{i}"))).collect();
    let refs: Vec<&TestKey> = many.iter().collect();
    idp.set(JWKS, Reply::jwks(&refs));
    assert_eq!(kind(keys.refresh().await), ErrorKind::JwksInvalid);
    assert_eq!(failure_reason(&keys), Some(FetchErrorKind::TooManyKeys));

    assert_eq!(outcome(&validator, &k1.token("user-1")).await, "accepted");
    assert_eq!(keys.status().key_ids, ["k1"]);
}

#[tokio::test]
async fn j05_trickling_and_slow_responses_time_out() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let config = RemoteJwksConfig {
        timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        ..test_config()
    };
    let keys = source_with(&idp.url(JWKS), &clock, config);
    let validator = validator(keys.clone(), &clock);
    keys.refresh().await.unwrap();

    idp.set(
        JWKS,
        Reply::json("").with_body(BodyKind::Trickle(Duration::from_millis(50))),
    );
    assert_eq!(kind(keys.refresh().await), ErrorKind::JwksUnavailable);
    assert_eq!(failure_reason(&keys), Some(FetchErrorKind::Timeout));

    idp.set(JWKS, Reply::jwks(&[&k1]).delayed(Duration::from_secs(30)));
    assert_eq!(kind(keys.refresh().await), ErrorKind::JwksUnavailable);
    assert_eq!(failure_reason(&keys), Some(FetchErrorKind::Timeout));

    assert_eq!(outcome(&validator, &k1.token("user-1")).await, "accepted");
}

#[tokio::test]
async fn j12_empty_or_unusable_set_is_a_failure() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    let validator = validator(keys.clone(), &clock);
    keys.refresh().await.unwrap();

    for body in [
        r#"{"keys":[]}"#,
        r#"{"keys":[{"kty":"RSA","use":"enc","kid":"enc","n":"AQAB","e":"AQAB"}]}"#,
        r#"{"keys":[{"kty":"oct","kid":"hmac","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI"}]}"#,
    ] {
        idp.set(JWKS, Reply::json(body));
        assert_eq!(kind(keys.refresh().await), ErrorKind::JwksInvalid, "{body}");
        assert_eq!(failure_reason(&keys), Some(FetchErrorKind::NoUsableKeys));
        assert_eq!(keys.status().key_ids, ["k1"]);
        assert_eq!(outcome(&validator, &k1.token("user-1")).await, "accepted");
    }
}

#[tokio::test]
async fn j13_new_key_usable_after_one_refetch() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    let k2 = TestKey::new("k2");
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    let validator = validator(keys.clone(), &clock);
    keys.refresh().await.unwrap();
    assert_eq!(idp.hits(JWKS), 1);

    idp.set(JWKS, Reply::jwks(&[&k2, &k1]));
    assert_eq!(outcome(&validator, &k2.token("user-2")).await, "accepted");
    assert_eq!(idp.hits(JWKS), 2);
    assert_eq!(outcome(&validator, &k1.token("user-1")).await, "accepted");
    assert_eq!(outcome(&validator, &k2.token("user-3")).await, "accepted");
    assert_eq!(idp.hits(JWKS), 2);
    assert_eq!(keys.status().key_ids, ["k2", "k1"]);
}

#[tokio::test]
async fn j14_removed_key_stops_verifying_and_cached_results_go() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    let k2 = TestKey::new("k2");
    idp.set(JWKS, Reply::jwks(&[&k1, &k2]));
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    let validator = validator(keys.clone(), &clock);
    keys.refresh().await.unwrap();

    let old = k1.token("user-1");
    let new = k2.token("user-2");
    assert_eq!(outcome(&validator, &old).await, "accepted");
    // The second validation is a verified-cache hit.
    assert_eq!(outcome(&validator, &old).await, "accepted");
    assert_eq!(outcome(&validator, &new).await, "accepted");

    idp.set(JWKS, Reply::jwks(&[&k2]));
    keys.refresh().await.unwrap();
    let hits = idp.hits(JWKS);
    assert_eq!(outcome(&validator, &old).await, "key_not_found");
    // The unknown kid caused one refetch; a second try is in the cooldown.
    assert_eq!(idp.hits(JWKS), hits + 1);
    assert_eq!(outcome(&validator, &old).await, "key_not_found");
    assert_eq!(idp.hits(JWKS), hits + 1);
    assert_eq!(outcome(&validator, &new).await, "accepted");
}

#[tokio::test]
async fn j15_older_response_never_replaces_newer() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    let k2 = TestKey::new("k2");
    idp.push(JWKS, Reply::jwks(&[&k1]));
    // The second request gets the old set late; the third gets the rotated
    // set at once.
    idp.push(
        JWKS,
        Reply::jwks(&[&k1]).delayed(Duration::from_millis(400)),
    );
    idp.push(JWKS, Reply::jwks(&[&k2]));
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    let validator = validator(keys.clone(), &clock);
    keys.refresh().await.unwrap();

    let slow = tokio::spawn({
        let keys = keys.clone();
        async move { keys.force_refresh().await }
    });
    while idp.hits(JWKS) < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let fast = keys.force_refresh().await.unwrap();
    assert_eq!(fast.key_ids(), ["k2"]);

    let after_slow = slow.await.unwrap().unwrap();
    assert_eq!(after_slow.key_ids(), ["k2"]);
    assert_eq!(keys.status().key_ids, ["k2"]);
    assert_eq!(keys.status().last_outcome, Some(FetchOutcome::Superseded));
    assert_eq!(outcome(&validator, &k2.token("user-2")).await, "accepted");
}

#[tokio::test]
async fn j15_older_failure_does_not_count_against_newer_success() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    idp.push(JWKS, Reply::jwks(&[&k1]));
    idp.push(
        JWKS,
        Reply::status(500, "boom").delayed(Duration::from_millis(400)),
    );
    idp.push(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    keys.refresh().await.unwrap();

    let slow = tokio::spawn({
        let keys = keys.clone();
        async move { keys.force_refresh().await }
    });
    while idp.hits(JWKS) < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    keys.force_refresh().await.unwrap();
    assert_eq!(
        slow.await.unwrap().unwrap_err().kind(),
        ErrorKind::JwksUnavailable
    );
    let status = keys.status();
    assert_eq!(status.consecutive_failures, 0);
    assert_eq!(status.failure_count, 1);
    assert!(matches!(
        status.last_outcome,
        Some(FetchOutcome::Updated { .. })
    ));
    assert!(status.usable);
}

#[tokio::test]
async fn etag_revalidation_keeps_set_and_resets_freshness() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    idp.set(
        JWKS,
        Reply::jwks(&[&k1])
            .with_etag("\"v1\"")
            .with_header("cache-control", "public, max-age=120"),
    );
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    keys.refresh().await.unwrap();
    let first = keys.status();
    assert_eq!(
        first.fresh_until.unwrap(),
        first.last_fetch_at.unwrap() + Duration::from_secs(120)
    );

    clock.advance(Duration::from_secs(100));
    keys.refresh().await.unwrap();
    let second = keys.status();
    assert_eq!(idp.not_modified(JWKS), 1);
    assert_eq!(second.last_outcome, Some(FetchOutcome::NotModified));
    assert_eq!(second.generation, first.generation);
    assert_eq!(
        second.fresh_until.unwrap(),
        first.fresh_until.unwrap() + Duration::from_secs(100)
    );
}

#[tokio::test]
async fn cache_control_max_age_is_clamped() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    for (header, expected) in [
        ("max-age=5", 60),
        ("max-age=900", 900),
        ("max-age=86400", 3600),
        ("no-cache", 600),
    ] {
        idp.set(
            JWKS,
            Reply::jwks(&[&k1]).with_header("cache-control", header),
        );
        keys.refresh().await.unwrap();
        let status = keys.status();
        assert_eq!(
            status.fresh_until.unwrap(),
            status.last_fetch_at.unwrap() + Duration::from_secs(expected),
            "{header}"
        );
    }
}

#[tokio::test]
async fn j17_plain_http_rejected_except_loopback_literals() {
    let cases = [
        ("http://idp.example.test/jwks", true),
        ("http://localhost:8080/jwks", true),
        ("http://10.0.0.1/jwks", true),
        ("http://127.0.0.1:8080/jwks", false),
        ("http://[::1]:8080/jwks", false),
        ("https://user:secret@idp.example.test/jwks", false),
        ("file:///etc/jwks.json", true),
    ];
    for (url, allow) in cases {
        let config = RemoteJwksConfig {
            danger_allow_http_loopback: allow,
            ..test_config()
        };
        let error = RemoteJwks::builder(url).config(config).build().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConfigInvalid, "{url}");
        assert!(!error.to_string().contains("secret"), "{url}");
    }
    for url in [
        "http://127.0.0.1:8080/jwks",
        "http://127.0.0.2/jwks",
        "http://[::1]/jwks",
    ] {
        RemoteJwks::builder(url)
            .danger_allow_http_loopback(true)
            .build()
            .unwrap();
    }
    RemoteJwks::builder("https://idp.example.test/jwks")
        .background_refresh(false)
        .build()
        .unwrap();
}

#[tokio::test]
async fn invalid_settings_rejected() {
    let cases = [
        RemoteJwksConfig {
            max_stale: Duration::from_secs(25 * 60 * 60),
            ..test_config()
        },
        RemoteJwksConfig {
            unknown_kid_cooldown: Duration::ZERO,
            ..test_config()
        },
        RemoteJwksConfig {
            timeout: Duration::ZERO,
            ..test_config()
        },
        RemoteJwksConfig {
            refresh_interval: Duration::from_secs(2 * 60 * 60),
            ..test_config()
        },
        RemoteJwksConfig {
            max_body_bytes: 0,
            ..test_config()
        },
    ];
    for config in cases {
        let error = RemoteJwks::builder("https://idp.example.test/jwks")
            .config(config.clone())
            .build()
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConfigInvalid, "{config:?}");
    }
}

#[test]
fn build_outside_runtime_is_a_config_error() {
    let error = RemoteJwks::builder("https://idp.example.test/jwks")
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConfigInvalid);
}

#[tokio::test]
async fn dropping_the_source_stops_background_retries() {
    let idp = Idp::start().await;
    idp.set(JWKS, Reply::status(500, "down"));
    let clock = clock();
    let config = RemoteJwksConfig {
        background_refresh: true,
        retry_initial_backoff: Duration::from_millis(10),
        retry_max_backoff: Duration::from_millis(20),
        ..test_config()
    };
    let keys = source_with(&idp.url(JWKS), &clock, config);
    while idp.hits(JWKS) < 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(keys);
    // Let a fetch that was already in flight finish.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after_drop = idp.hits(JWKS);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(idp.hits(JWKS), after_drop);
}

#[tokio::test]
async fn fetch_once_lists_skipped_entries() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    let mut document: serde_json::Value =
        serde_json::from_str(&remote_support::jwks_document(&[&k1])).unwrap();
    document["keys"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"kty":"RSA","use":"enc","kid":"enc-1","n":"AQAB","e":"AQAB"}));
    idp.set(JWKS, Reply::json(document.to_string()));
    let keys = RemoteJwks::fetch_once(&idp.url(JWKS), &test_config(), None)
        .await
        .unwrap();
    assert_eq!(keys.key_ids(), ["k1"]);
    assert_eq!(keys.skipped().len(), 1);
    assert_eq!(keys.skipped()[0].kid.as_deref(), Some("enc-1"));
    assert_eq!(keys.skipped()[0].reason.as_str(), "encryption_key");

    let error = RemoteJwks::fetch_once(
        "http://127.0.0.1:1/jwks",
        &RemoteJwksConfig::default(),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConfigInvalid);
}

/// Collects formatted log lines.
#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn fetches_and_failures_are_logged_without_tokens() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    let validator = validator(keys.clone(), &clock);
    keys.refresh().await.unwrap();
    idp.set(JWKS, Reply::status(500, "boom"));
    let token = k1.token_with_kid("unknown-kid", "user-1");
    assert_eq!(outcome(&validator, &token).await, "key_not_found");

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let finished = text
        .lines()
        .find(|line| line.contains("JWKS fetch finished"))
        .unwrap();
    assert!(
        finished.contains(&format!("url={}", idp.url(JWKS))),
        "{finished}"
    );
    assert!(finished.contains("status=200"), "{finished}");
    assert!(finished.contains("duration_ms="), "{finished}");
    assert!(finished.contains("keys=1"), "{finished}");
    let failed = text
        .lines()
        .find(|line| line.contains("JWKS fetch failed"))
        .unwrap();
    assert!(failed.contains("status=500"), "{failed}");
    assert!(failed.contains("reason=\"http_status\""), "{failed}");
    assert!(failed.contains("trigger=\"unknown_kid\""), "{failed}");
    assert!(!text.contains(&token));
    assert!(!text.contains(token.split('.').nth(2).unwrap()));
}

/// Builds a source with the background task on, calls `refresh` at once,
/// then waits long enough for a second fetch to show up at the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_right_after_build_fetches_once() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let config = RemoteJwksConfig {
        background_refresh: true,
        ..test_config()
    };
    let keys = source_with(&idp.url(JWKS), &clock, config);

    keys.refresh().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert_eq!(idp.hits(JWKS), 1);
    assert_eq!(keys.status().fetch_count, 1);
}

/// Only the first `refresh` waits for the start-up fetch. The next one
/// fetches again, so a caller can retry a failed start-up fetch at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_refresh_after_build_fetches_again() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    idp.push(JWKS, Reply::status(500, "starting"));
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let config = RemoteJwksConfig {
        background_refresh: true,
        // Keeps the background retry out of the request counts below.
        retry_initial_backoff: Duration::from_secs(30),
        ..test_config()
    };
    let keys = source_with(&idp.url(JWKS), &clock, config);

    assert_eq!(kind(keys.refresh().await), ErrorKind::JwksUnavailable);
    assert_eq!(idp.hits(JWKS), 1);

    assert_eq!(keys.refresh().await.unwrap().key_ids(), ["k1"]);
    assert_eq!(idp.hits(JWKS), 2);
}

#[tokio::test]
async fn validate_now_defers_only_unknown_kids() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    let k2 = TestKey::new("k2");
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    let validator = validator(keys.clone(), &clock);
    keys.refresh().await.unwrap();

    // A token signed by a held key validates at once, as with `validate`.
    let known = k1.token("user-1");
    let verified = validator.validate_now(&known).unwrap().unwrap();
    assert_eq!(verified.principal().subject(), "user-1");
    let malformed = validator.validate_now("not.a.token").unwrap().unwrap_err();
    assert_eq!(malformed.kind(), ErrorKind::TokenMalformed);

    // A kid the held set lacks needs a fetch, so there is no result yet.
    // Asking must not start the fetch either.
    let unknown = k2.token("user-2");
    assert!(validator.validate_now(&unknown).is_none());
    assert_eq!(idp.hits(JWKS), 1);

    // After the async path fetched once for it, the kid is remembered as
    // missing and the cooldown runs. Both kids are then rejected at once,
    // with no fetch.
    assert_eq!(outcome(&validator, &unknown).await, "key_not_found");
    assert_eq!(idp.hits(JWKS), 2);
    let remembered = validator.validate_now(&unknown).unwrap().unwrap_err();
    assert_eq!(remembered.kind(), ErrorKind::KeyNotFound);
    let other = TestKey::new("k3").token("user-3");
    let cooling = validator.validate_now(&other).unwrap().unwrap_err();
    assert_eq!(cooling.kind(), ErrorKind::KeyNotFound);
    assert_eq!(idp.hits(JWKS), 2);
}
