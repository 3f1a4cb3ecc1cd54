//! Security-catalog rows for JWT validation not covered in `catalog.rs`:
//! role-source scoping, privilege changes between tokens, and dependency
//! error text. Each test is named after its row id.

mod common;

use common::*;
use ddf_jwt::{ErrorKind, Profile, Validator};
use ddf_rbac::ManualClock;
use serde_json::json;

fn keycloak_validator(cache_capacity: u64) -> Validator {
    Validator::builder()
        .issuer(issuer().profile(Profile::Keycloak).client_id(AUDIENCE))
        .clock(ManualClock::at_unix_seconds(NOW))
        .cache_capacity(cache_capacity)
        .build()
        .unwrap()
}

fn roles(validator: &Validator, claims: &serde_json::Value) -> Vec<String> {
    let token = rsa().sign("RS256", claims);
    let verified = validator.validate_sync(&token).unwrap();
    verified.principal().roles().to_vec()
}

#[test]
fn b07_role_claims_must_be_arrays() {
    let keycloak = keycloak_validator(0);
    let as_string = claims_with(&json!({"realm_access": {"roles": "admin user"}}));
    assert!(roles(&keycloak, &as_string).is_empty());
    let mixed = claims_with(&json!({"realm_access": {"roles": ["user", 7, {"x": 1}]}}));
    assert_eq!(roles(&keycloak, &mixed), ["user"]);
    let client_string = claims_with(&json!({"resource_access": {AUDIENCE: {"roles": "admin"}}}));
    assert!(roles(&keycloak, &client_string).is_empty());

    let generic = validator(issuer().profile(Profile::Generic));
    let permissions = claims_with(&json!({"permissions": "llm:*", "roles": "admin"}));
    assert!(roles(&generic, &permissions).is_empty());
    // `scope` is space-separated by definition (RFC 6749 section 3.3).
    let scope = claims_with(&json!({"scope": "llm.read llm.write"}));
    assert_eq!(
        roles(&generic, &scope),
        ["scope:llm.read", "scope:llm.write"]
    );
}

#[test]
fn b08_roles_of_other_clients_are_not_mapped() {
    let validator = keycloak_validator(0);

    // A role held only for another client grants nothing here, even when
    // its name equals a realm role or a permission.
    let other_client = claims_with(&json!({
        "realm_access": {"roles": ["user"]},
        "resource_access": {"billing-api": {"roles": ["admin", "llm:*"]}},
    }));
    assert_eq!(roles(&validator, &other_client), ["user"]);

    // This client's roles are mapped with the client id as a namespace, so
    // they never collide with a realm role of the same name.
    let own_client = claims_with(&json!({
        "realm_access": {"roles": ["user"]},
        "resource_access": {
            "orders-api": {"roles": ["admin"]},
            "billing-api": {"roles": ["admin"]},
        },
    }));
    assert_eq!(roles(&validator, &own_client), ["user", "orders-api/admin"]);

    // `scope` is a space-delimited string; each scope is its own entry.
    let scoped = claims_with(&json!({"scope": "openid llm.read  profile"}));
    assert_eq!(
        roles(&validator, &scoped),
        ["scope:openid", "scope:llm.read", "scope:profile"]
    );
}

#[test]
fn b10_role_change_applies_from_the_next_token() {
    // With the verification cache on, each distinct token is its own entry,
    // so a token issued after a role removal never inherits the old roles.
    let validator = keycloak_validator(100);
    let before = claims_with(&json!({"jti": "t-1", "realm_access": {"roles": ["user", "admin"]}}));
    let after = claims_with(&json!({"jti": "t-2", "realm_access": {"roles": ["user"]}}));

    assert_eq!(roles(&validator, &before), ["user", "admin"]);
    assert_eq!(roles(&validator, &after), ["user"]);

    // The earlier token keeps its roles only until its own `exp`, which
    // the principal carries so the service can bound any caching.
    let token = rsa().sign("RS256", &before);
    let verified = validator.validate_sync(&token).unwrap();
    assert_eq!(verified.principal().roles(), ["user", "admin"]);
    assert_eq!(verified.principal().expires_at(), Some(NOW + 300));
}

#[test]
fn g07_dependency_error_text_is_not_passed_on() {
    const CANARY: &str = "canaryValue7f3a";
    let validator = default_validator();
    let signature = b64(b"signature");

    // Each input makes a dependency (base64, serde_json) fail on text that
    // holds the canary; the error must not repeat that text.
    let cases = [
        // Truncated header JSON.
        (
            format!(
                "{}.{}.{signature}",
                b64(format!("{{\"alg\":\"RS256\",\"x\":\"{CANARY}").as_bytes()),
                b64(b"{}")
            ),
            ErrorKind::TokenMalformed,
        ),
        // Wrong type for `alg`.
        (
            format!(
                "{}.{}.{signature}",
                b64(format!("{{\"alg\":[\"{CANARY}\"]}}").as_bytes()),
                b64(b"{}")
            ),
            ErrorKind::TokenMalformed,
        ),
        // Invalid base64url in the payload.
        (
            format!("{}.{CANARY}!!.{signature}", b64(br#"{"alg":"RS256"}"#)),
            ErrorKind::TokenMalformed,
        ),
        // Payload JSON with an invalid escape next to the canary.
        (
            rsa().sign_raw(
                r#"{"alg":"RS256","typ":"JWT","kid":"rsa-1"}"#,
                &format!("{{\"sub\":\"{CANARY}\\q\"}}"),
            ),
            ErrorKind::TokenMalformed,
        ),
    ];
    for (token, kind) in cases {
        let error = validator.validate_sync(&token).unwrap_err();
        assert_eq!(error.kind(), kind, "{token}");
        let display = error.to_string();
        let debug = format!("{error:?}");
        for text in [&display, &debug] {
            assert!(!text.contains(CANARY), "{text}");
            assert!(!text.contains("line 1 column"), "serde_json text: {text}");
            assert!(!text.contains("Invalid symbol"), "base64 text: {text}");
            assert!(!text.contains("Invalid byte"), "base64 text: {text}");
        }
    }
}
