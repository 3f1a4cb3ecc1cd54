//! Each way of misusing the issuing API fails with its exact error kind,
//! and no error or `Debug` output carries key material or tokens.

mod issue_support;

use std::sync::Arc;
use std::time::Duration;

use ddf_jwt::issue::{
    IssueError, IssueErrorKind, KeyConfig, KeySchedule, Keyring, KeyringConfig, RotationSettings,
    SigningAlgorithm, SigningKey, TokenIssuer, TokenPolicy,
};
use ddf_rbac::ManualClock;
use issue_support::{AUDIENCE, ISSUER, fixture, fixture_text};

const NOW: u64 = 1_800_000_000;

fn load(alg: SigningAlgorithm, fixture_name: &str) -> Result<SigningKey, IssueError> {
    SigningKey::from_text(alg, &fixture_text(fixture_name))
}

fn kind_of(result: Result<SigningKey, IssueError>) -> IssueErrorKind {
    result.expect_err("key must be rejected").kind()
}

fn issuer_with(policy: TokenPolicy) -> TokenIssuer {
    let clock = Arc::new(ManualClock::at_unix_seconds(NOW));
    let keyring = Arc::new(Keyring::new(RotationSettings::default(), clock));
    keyring
        .insert(
            "k1",
            SigningKey::generate(SigningAlgorithm::EdDSA).unwrap(),
            KeySchedule::active_from(NOW),
        )
        .unwrap();
    TokenIssuer::new(keyring, policy).unwrap()
}

fn sign_error(result: Result<ddf_jwt::issue::IssuedToken, IssueError>) -> IssueError {
    result.expect_err("signing must fail")
}

#[test]
fn garbage_pem_is_malformed() {
    let cases = [
        "",
        "not a key",
        "-----BEGIN PRIVATE KEY-----\n@@@@\n-----END PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----\n\n-----END PRIVATE KEY-----",
    ];
    for text in cases {
        let kind = kind_of(SigningKey::from_pkcs8_pem(SigningAlgorithm::ES256, text));
        assert_eq!(kind, IssueErrorKind::KeyMalformed, "{text:?}");
    }
}

#[test]
fn pkcs1_pem_is_malformed_with_hint() {
    let error = load(SigningAlgorithm::RS256, "rsa2048-pkcs1.pem").unwrap_err();
    assert_eq!(error.kind(), IssueErrorKind::KeyMalformed);
    assert!(
        error.to_string().contains("openssl pkcs8 -topk8 -nocrypt"),
        "{error}"
    );
}

#[test]
fn corrupted_key_body_is_malformed() {
    // Flip a byte deep inside the RSA private key.
    let mut der = base64_body(&fixture_text("rsa2048.pem"));
    let index = der.len() - 40;
    der[index] ^= 0xff;
    let kind = kind_of(SigningKey::from_pkcs8_der(SigningAlgorithm::RS256, &der));
    assert_eq!(kind, IssueErrorKind::KeyMalformed);
}

fn base64_body(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

#[test]
fn rsa_1024_is_too_weak() {
    assert_eq!(
        kind_of(load(SigningAlgorithm::RS256, "rsa1024.pem")),
        IssueErrorKind::KeyTooWeak
    );
    assert_eq!(
        kind_of(load(SigningAlgorithm::PS256, "rsa1024.jwk.json")),
        IssueErrorKind::KeyTooWeak
    );
}

#[test]
fn short_hmac_secret_is_too_weak() {
    assert_eq!(
        kind_of(SigningKey::from_hmac_secret(&[1; 31])),
        IssueErrorKind::KeyTooWeak
    );
    assert_eq!(
        kind_of(load(SigningAlgorithm::HS256, "hs256-short.jwk.json")),
        IssueErrorKind::KeyTooWeak
    );
    assert!(load(SigningAlgorithm::HS256, "hs256.jwk.json").is_ok());
}

#[test]
fn key_type_must_fit_algorithm() {
    let cases = [
        (SigningAlgorithm::ES256, "ed25519.pem"),
        (SigningAlgorithm::EdDSA, "rsa2048.pem"),
        (SigningAlgorithm::RS256, "p256.pem"),
        (SigningAlgorithm::ES256, "p384.pem"),
        (SigningAlgorithm::HS256, "p256.pem"),
        (SigningAlgorithm::EdDSA, "p256.jwk.json"),
        (SigningAlgorithm::ES256, "rsa2048.jwk.json"),
        (SigningAlgorithm::RS256, "hs256.jwk.json"),
        (SigningAlgorithm::HS256, "ed25519.jwk.json"),
    ];
    for (alg, name) in cases {
        assert_eq!(
            kind_of(load(alg, name)),
            IssueErrorKind::KeyAlgorithmMismatch,
            "{alg} with {name}"
        );
    }
}

#[test]
fn jwk_restrictions_are_enforced() {
    let mut jwk: serde_json::Value =
        serde_json::from_str(&fixture_text("rsa2048.jwk.json")).unwrap();
    jwk["alg"] = "RS256".into();
    let text = jwk.to_string();
    assert!(SigningKey::from_jwk(SigningAlgorithm::RS256, &text).is_ok());
    let error = SigningKey::from_jwk(SigningAlgorithm::PS256, &text).unwrap_err();
    assert_eq!(error.kind(), IssueErrorKind::KeyAlgorithmMismatch);

    let mut jwk: serde_json::Value = serde_json::from_str(&fixture_text("p256.jwk.json")).unwrap();
    jwk["use"] = "enc".into();
    let kind = kind_of(SigningKey::from_jwk(
        SigningAlgorithm::ES256,
        &jwk.to_string(),
    ));
    assert_eq!(kind, IssueErrorKind::KeyAlgorithmMismatch);

    let mut jwk: serde_json::Value = serde_json::from_str(&fixture_text("p256.jwk.json")).unwrap();
    jwk["key_ops"] = serde_json::json!(["verify"]);
    let kind = kind_of(SigningKey::from_jwk(
        SigningAlgorithm::ES256,
        &jwk.to_string(),
    ));
    assert_eq!(kind, IssueErrorKind::KeyAlgorithmMismatch);
}

#[test]
fn inconsistent_jwk_is_malformed() {
    // The public point of one key with the private scalar of another.
    let mut jwk: serde_json::Value = serde_json::from_str(&fixture_text("p256.jwk.json")).unwrap();
    let other = SigningKey::generate(SigningAlgorithm::ES256)
        .unwrap()
        .public_jwk("x")
        .unwrap();
    jwk["x"] = other.x.unwrap().into();
    jwk["y"] = other.y.unwrap().into();
    let kind = kind_of(SigningKey::from_jwk(
        SigningAlgorithm::ES256,
        &jwk.to_string(),
    ));
    assert_eq!(kind, IssueErrorKind::KeyMalformed);

    let mut jwk: serde_json::Value =
        serde_json::from_str(&fixture_text("ed25519.jwk.json")).unwrap();
    jwk.as_object_mut().unwrap().remove("d");
    let kind = kind_of(SigningKey::from_jwk(
        SigningAlgorithm::EdDSA,
        &jwk.to_string(),
    ));
    assert_eq!(kind, IssueErrorKind::KeyMalformed);

    let kind = kind_of(SigningKey::from_jwk(SigningAlgorithm::EdDSA, "{\"kty\":"));
    assert_eq!(kind, IssueErrorKind::KeyMalformed);
}

#[test]
fn missing_sources_name_the_kid() {
    let config: KeyringConfig = serde_json::from_value(serde_json::json!({
        "keys": [{
            "kid": "from-file",
            "alg": "EdDSA",
            "source": { "file": fixture("does-not-exist.pem") },
            "created_at": NOW,
        }]
    }))
    .unwrap();
    let clock = Arc::new(ManualClock::at_unix_seconds(NOW));
    let error = Keyring::from_config(&config, clock.clone()).unwrap_err();
    assert_eq!(error.kind(), IssueErrorKind::KeySourceUnavailable);
    assert!(error.to_string().contains("\"from-file\""), "{error}");

    let config: KeyringConfig = serde_json::from_value(serde_json::json!({
        "keys": [{
            "kid": "from-env",
            "alg": "ES256",
            "source": { "env": "DDF_JWT_TEST_VARIABLE_THAT_IS_NEVER_SET" },
            "created_at": NOW,
        }]
    }))
    .unwrap();
    let error = Keyring::from_config(&config, clock).unwrap_err();
    assert_eq!(error.kind(), IssueErrorKind::KeySourceUnavailable);
    assert!(
        error
            .to_string()
            .contains("DDF_JWT_TEST_VARIABLE_THAT_IS_NEVER_SET"),
        "{error}"
    );
}

#[test]
fn config_loads_files_in_both_formats() {
    let config: KeyringConfig = serde_json::from_value(serde_json::json!({
        "keys": [
            { "kid": "pem", "alg": "ES256", "source": { "file": fixture("p256.pem") }, "created_at": NOW - 100 },
            { "kid": "jwk", "alg": "PS256", "source": { "file": fixture("rsa2048.jwk.json") },
              "created_at": NOW - 50, "activate_at": NOW + 86_400 },
        ],
        "rotation": { "retention_secs": 7200 },
    }))
    .unwrap();
    let keyring =
        Keyring::from_config(&config, Arc::new(ManualClock::at_unix_seconds(NOW))).unwrap();
    assert_eq!(
        keyring.active_key().unwrap(),
        ("pem".to_owned(), SigningAlgorithm::ES256)
    );
    let kids: Vec<String> = keyring
        .public_jwks()
        .keys
        .into_iter()
        .map(|key| key.kid)
        .collect();
    assert_eq!(kids, ["jwk", "pem"]);
}

#[test]
fn keyring_rejects_inconsistent_schedules() {
    let keyring = Keyring::new(
        RotationSettings::default(),
        Arc::new(ManualClock::at_unix_seconds(NOW)),
    );
    let key = || SigningKey::generate(SigningAlgorithm::EdDSA).unwrap();
    keyring
        .insert("a", key(), KeySchedule::active_from(NOW))
        .unwrap();

    let cases = [
        ("a", KeySchedule::active_from(NOW + 1)),
        ("b", KeySchedule::active_from(NOW)),
        ("", KeySchedule::active_from(NOW + 2)),
        (
            "c",
            KeySchedule::active_from(NOW)
                .activate_at(NOW + 10)
                .publish_at(NOW + 11),
        ),
        (
            "d",
            KeySchedule::active_from(NOW)
                .activate_at(NOW + 20)
                .retire_at(NOW + 20),
        ),
    ];
    for (kid, schedule) in cases {
        let error = keyring.insert(kid, key(), schedule).unwrap_err();
        assert_eq!(
            error.kind(),
            IssueErrorKind::ConfigInvalid,
            "{kid:?} {schedule:?}"
        );
    }
    assert_eq!(keyring.keys().len(), 1);

    let unknown = serde_json::from_value::<KeyConfig>(serde_json::json!({
        "kid": "x", "alg": "EdDSA", "source": { "env": "X" }, "created_at": 1, "activates_at": 2,
    }));
    assert!(unknown.unwrap_err().to_string().contains("unknown field"));
}

#[test]
fn empty_keyring_has_no_active_key() {
    let keyring = Arc::new(Keyring::new(
        RotationSettings::default(),
        Arc::new(ManualClock::at_unix_seconds(NOW)),
    ));
    let issuer =
        TokenIssuer::new(keyring, TokenPolicy::new(ISSUER).with_audience(AUDIENCE)).unwrap();
    let error = sign_error(issuer.token("s").sign());
    assert_eq!(error.kind(), IssueErrorKind::NoActiveKey);
}

#[test]
fn missing_expiry_is_rejected() {
    let issuer = issuer_with(
        TokenPolicy::new(ISSUER)
            .with_audience(AUDIENCE)
            .with_default_lifetime(None),
    );
    let error = sign_error(issuer.token("s").sign());
    assert_eq!(error.kind(), IssueErrorKind::ClaimMissing);
    assert!(error.to_string().contains("`exp`"), "{error}");
    assert!(
        issuer
            .token("s")
            .lifetime(Duration::from_secs(60))
            .sign()
            .is_ok()
    );
}

#[test]
fn expiry_beyond_maximum_is_rejected() {
    let issuer = issuer_with(TokenPolicy::new(ISSUER).with_audience(AUDIENCE));
    let error = sign_error(issuer.token("s").lifetime(Duration::from_secs(3601)).sign());
    assert!(matches!(
        error,
        IssueError::LifetimeTooLong {
            requested_secs: 3601,
            max_secs: 3600
        }
    ));
    let error = sign_error(issuer.token("s").expires_at(NOW + 7200).sign());
    assert_eq!(error.kind(), IssueErrorKind::LifetimeTooLong);
    assert!(issuer.token("s").expires_at(NOW + 3600).sign().is_ok());
}

#[test]
fn past_expiry_and_late_nbf_are_invalid() {
    let issuer = issuer_with(TokenPolicy::new(ISSUER).with_audience(AUDIENCE));
    let error = sign_error(issuer.token("s").expires_at(NOW).sign());
    assert_eq!(error.kind(), IssueErrorKind::ClaimInvalid);
    let error = sign_error(issuer.token("s").lifetime(Duration::ZERO).sign());
    assert_eq!(error.kind(), IssueErrorKind::ClaimInvalid);
    let error = sign_error(issuer.token("s").not_before(NOW + 600).sign());
    assert_eq!(error.kind(), IssueErrorKind::ClaimInvalid);
}

#[test]
fn subject_and_audience_are_required() {
    let issuer = issuer_with(TokenPolicy::new(ISSUER));
    let error = sign_error(issuer.token("s").sign());
    assert!(
        matches!(error, IssueError::ClaimMissing { claim: "aud" }),
        "{error:?}"
    );
    let error = sign_error(issuer.token("").audience(AUDIENCE).sign());
    assert!(
        matches!(error, IssueError::ClaimMissing { claim: "sub" }),
        "{error:?}"
    );
}

#[test]
fn registered_claims_cannot_be_overridden() {
    let issuer = issuer_with(TokenPolicy::new(ISSUER).with_audience(AUDIENCE));
    for name in ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id"] {
        let extra = serde_json::json!({ "roles": [], name: 1 });
        let error = issuer.token("s").claims(&extra).unwrap_err();
        assert_eq!(error.kind(), IssueErrorKind::ClaimConflict, "{name}");
        assert!(error.to_string().contains(&format!("`{name}`")), "{error}");
    }
    for not_an_object in [
        serde_json::json!([1]),
        serde_json::json!("x"),
        serde_json::json!(null),
    ] {
        let error = issuer.token("s").claims(&not_an_object).unwrap_err();
        assert_eq!(
            error.kind(),
            IssueErrorKind::ClaimInvalid,
            "{not_an_object}"
        );
    }
}

#[test]
fn issuer_policy_is_checked_against_retention() {
    let clock = Arc::new(ManualClock::at_unix_seconds(NOW));
    let mut settings = RotationSettings::default();
    settings.retention_secs = 3600;
    let keyring = Arc::new(Keyring::new(settings, clock));
    // 3600 s of lifetime plus 60 s of leeway do not fit in 3600 s of retention.
    let error = TokenIssuer::new(Arc::clone(&keyring), TokenPolicy::new(ISSUER)).unwrap_err();
    assert_eq!(error.kind(), IssueErrorKind::ConfigInvalid);
    let shorter = TokenPolicy::new(ISSUER).with_max_lifetime(Duration::from_secs(3540));
    assert!(TokenIssuer::new(Arc::clone(&keyring), shorter).is_ok());

    let error = TokenIssuer::new(Arc::clone(&keyring), TokenPolicy::new("")).unwrap_err();
    assert_eq!(error.kind(), IssueErrorKind::ClaimMissing);
    let inverted = TokenPolicy::new(ISSUER)
        .with_max_lifetime(Duration::from_secs(60))
        .with_default_lifetime(Some(Duration::from_secs(600)));
    let error = TokenIssuer::new(keyring, inverted).unwrap_err();
    assert_eq!(error.kind(), IssueErrorKind::ConfigInvalid);
}

#[test]
fn debug_output_redacts_keys_and_tokens() {
    let pem = fixture_text("p256.pem");
    let jwk: serde_json::Value = serde_json::from_str(&fixture_text("p256.jwk.json")).unwrap();
    let private_scalar = jwk["d"].as_str().unwrap();
    let key = SigningKey::from_pkcs8_pem(SigningAlgorithm::ES256, &pem).unwrap();
    assert_eq!(format!("{key:?}"), "SigningKey { alg: ES256, .. }");
    assert_eq!(
        format!("{key:#?}"),
        "SigningKey {\n    alg: ES256,\n    ..\n}"
    );

    let keyring = Arc::new(Keyring::new(
        RotationSettings::default(),
        Arc::new(ManualClock::at_unix_seconds(NOW)),
    ));
    keyring
        .insert("k1", key, KeySchedule::active_from(NOW))
        .unwrap();
    let secret = [9u8; 32];
    keyring
        .insert(
            "shared",
            SigningKey::from_hmac_secret(&secret).unwrap(),
            KeySchedule::active_from(NOW - 5),
        )
        .unwrap();
    let keyring_debug = format!("{keyring:?}");
    let pem_body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    assert!(!keyring_debug.contains(private_scalar));
    assert!(!keyring_debug.contains(&pem_body[..40]));
    assert!(!keyring_debug.contains("9, 9, 9"));

    let issuer =
        TokenIssuer::new(keyring, TokenPolicy::new(ISSUER).with_audience(AUDIENCE)).unwrap();
    let token = issuer.token("s").sign().unwrap();
    let token_debug = format!("{token:?}");
    assert!(token_debug.contains("<redacted>"));
    for part in token.as_str().split('.') {
        assert!(
            !token_debug.contains(part),
            "token part leaked: {token_debug}"
        );
    }
}

#[test]
fn errors_never_echo_key_text() {
    let jwk: serde_json::Value = serde_json::from_str(&fixture_text("rsa1024.jwk.json")).unwrap();
    let secret_member = jwk["d"].as_str().unwrap();
    let inputs = [
        fixture_text("rsa1024.jwk.json"),
        fixture_text("rsa1024.pem"),
        format!("{{\"kty\":\"RSA\",\"d\":\"{secret_member}\""),
        format!("-----BEGIN PRIVATE KEY-----\n{secret_member}\n-----END PRIVATE KEY-----"),
    ];
    for input in &inputs {
        let error = SigningKey::from_text(SigningAlgorithm::RS256, input).unwrap_err();
        let message = format!("{error} {error:?}");
        assert!(!message.contains(&secret_member[..16]), "{message}");
    }
}

#[test]
fn kind_codes_are_stable() {
    let codes: Vec<&str> = [
        IssueErrorKind::KeySourceUnavailable,
        IssueErrorKind::KeyMalformed,
        IssueErrorKind::KeyTooWeak,
        IssueErrorKind::KeyAlgorithmMismatch,
        IssueErrorKind::ConfigInvalid,
        IssueErrorKind::NoActiveKey,
        IssueErrorKind::ClaimMissing,
        IssueErrorKind::ClaimInvalid,
        IssueErrorKind::ClaimConflict,
        IssueErrorKind::LifetimeTooLong,
        IssueErrorKind::CryptoFailed,
    ]
    .into_iter()
    .map(IssueErrorKind::as_str)
    .collect();
    assert_eq!(
        codes,
        [
            "signing_key_unavailable",
            "signing_key_malformed",
            "signing_key_too_weak",
            "signing_key_alg_mismatch",
            "keyring_config_invalid",
            "signing_key_not_active",
            "issue_claim_missing",
            "issue_claim_invalid",
            "issue_claim_conflict",
            "issue_lifetime_too_long",
            "crypto_failed",
        ]
    );
}

#[test]
fn duplicate_extra_claims_conflict() {
    #[derive(serde::Serialize)]
    struct Twice {
        tenant: &'static str,
        #[serde(flatten)]
        more: std::collections::BTreeMap<&'static str, &'static str>,
    }
    let issuer = issuer_with(TokenPolicy::new(ISSUER).with_audience(AUDIENCE));
    let twice = Twice {
        tenant: "a",
        more: [("tenant", "b")].into_iter().collect(),
    };
    let error = issuer.token("s").claims(&twice).unwrap_err();
    assert!(
        matches!(&error, IssueError::ClaimConflict { claim } if claim == "tenant"),
        "{error:?}"
    );

    // A later call replaces the earlier extra claims instead of merging them.
    let token = issuer
        .token("s")
        .claims(&serde_json::json!({ "tenant": "a" }))
        .unwrap()
        .claims(&serde_json::json!({ "tenant": "b" }))
        .unwrap()
        .sign()
        .unwrap();
    let payload = token.as_str().split('.').nth(1).unwrap();
    let payload = String::from_utf8(base64_url(payload)).unwrap();
    assert_eq!(payload.matches("\"tenant\"").count(), 1, "{payload}");
    assert!(payload.ends_with(",\"tenant\":\"b\"}"), "{payload}");
}

fn base64_url(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}
