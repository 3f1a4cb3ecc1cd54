//! Tokens signed by the keyring verify with jsonwebtoken against the JWKS
//! that the publisher serves over a loopback HTTP server.

#![cfg(feature = "publish")]

mod issue_support;

use std::sync::Arc;

use ddf_jwt::issue::{
    DiscoveryConfig, KeySchedule, Keyring, RotationSettings, SigningAlgorithm, SigningKey,
    TokenIssuer, TokenPolicy, router,
};
use issue_support::{ASYMMETRIC, AUDIENCE, ISSUER, fetch_jwks, keyring_with, serve, verify};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
use serde::Serialize;

#[derive(Serialize)]
struct Roles {
    roles: Vec<&'static str>,
}

#[tokio::test]
async fn every_algorithm_verifies_through_served_jwks() {
    for alg in ASYMMETRIC {
        let (keyring, clock) = keyring_with(&[alg]);
        let issuer = TokenIssuer::new(
            Arc::clone(&keyring),
            TokenPolicy::new(ISSUER).with_audience(AUDIENCE),
        )
        .unwrap();
        let token = issuer
            .token("service-a")
            .claims(&Roles {
                roles: vec!["llm:invoke"],
            })
            .unwrap()
            .sign()
            .unwrap();

        let base = serve(router(Arc::clone(&keyring), None)).await;
        let (jwks, _) = fetch_jwks(&base).await;
        let now = ddf_rbac::Clock::unix_seconds(&clock);
        let claims = verify(token.as_str(), &jwks, now).unwrap_or_else(|rejection| {
            panic!("{alg} token rejected: {rejection:?}");
        });

        assert_eq!(claims.iss, ISSUER, "{alg}");
        assert_eq!(claims.sub, "service-a", "{alg}");
        assert_eq!(claims.aud, AUDIENCE, "{alg}");
        assert_eq!(claims.iat, now, "{alg}");
        assert_eq!(claims.nbf, now, "{alg}");
        assert_eq!(claims.exp, now + 600, "{alg}");
        assert_eq!(claims.jti, token.jti(), "{alg}");
        assert_eq!(claims.jti.len(), 22, "{alg}");
        assert_eq!(claims.roles, ["llm:invoke"], "{alg}");

        let header = jsonwebtoken::decode_header(token.as_str()).unwrap();
        assert_eq!(header.kid.as_deref(), Some(format!("key-{alg}").as_str()));
        assert_eq!(format!("{:?}", header.alg), alg.as_str());
    }
}

#[tokio::test]
async fn tampered_token_fails_signature() {
    for alg in ASYMMETRIC {
        let (keyring, clock) = keyring_with(&[alg]);
        let issuer = TokenIssuer::new(
            Arc::clone(&keyring),
            TokenPolicy::new(ISSUER).with_audience(AUDIENCE),
        )
        .unwrap();
        let token = issuer.token("service-a").sign().unwrap().into_string();
        let other = issuer.token("service-b").sign().unwrap().into_string();
        // Header and payload of one token with the signature of another.
        let (signing_input, _) = token.rsplit_once('.').unwrap();
        let (_, signature) = other.rsplit_once('.').unwrap();
        let forged = format!("{signing_input}.{signature}");

        let base = serve(router(Arc::clone(&keyring), None)).await;
        let (jwks, _) = fetch_jwks(&base).await;
        let result = verify(&forged, &jwks, ddf_rbac::Clock::unix_seconds(&clock));
        assert_eq!(
            result,
            Err(issue_support::Rejection::Invalid(
                "InvalidSignature".to_owned()
            )),
            "{alg}"
        );
    }
}

#[tokio::test]
async fn jwks_members_match_key_types() {
    let (keyring, _clock) = keyring_with(&ASYMMETRIC);
    let base = serve(router(Arc::clone(&keyring), None)).await;
    let raw: serde_json::Value = reqwest::get(format!("{base}/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = raw["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 4);

    for key in keys {
        assert_eq!(key["use"], "sig");
        assert!(key.get("d").is_none(), "private member published: {key}");
        let members: Vec<&str> = key
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        match key["alg"].as_str().unwrap() {
            "EdDSA" => {
                assert_eq!(key["kty"], "OKP");
                assert_eq!(key["crv"], "Ed25519");
                assert_eq!(key["x"].as_str().unwrap().len(), 43);
                assert_eq!(members.len(), 6, "{members:?}");
            }
            "ES256" => {
                assert_eq!(key["kty"], "EC");
                assert_eq!(key["crv"], "P-256");
                assert_eq!(key["x"].as_str().unwrap().len(), 43);
                assert_eq!(key["y"].as_str().unwrap().len(), 43);
                assert_eq!(members.len(), 7, "{members:?}");
            }
            "RS256" | "PS256" => {
                assert_eq!(key["kty"], "RSA");
                assert_eq!(key["e"], "AQAB");
                // 256 bytes of modulus are 342 base64url characters.
                assert_eq!(key["n"].as_str().unwrap().len(), 342);
                assert_eq!(members.len(), 6, "{members:?}");
            }
            other => panic!("unexpected alg {other}"),
        }
        assert_eq!(key["kid"], format!("key-{}", key["alg"].as_str().unwrap()));
    }

    let typed: jsonwebtoken::jwk::JwkSet = serde_json::from_value(raw).unwrap();
    let ed = typed.find("key-EdDSA").unwrap();
    assert!(
        matches!(&ed.algorithm, AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519)
    );
}

#[tokio::test]
async fn hs256_signs_but_is_never_published() {
    let (keyring, _clock) = keyring_with(&[SigningAlgorithm::EdDSA]);
    let now = issue_support::system_now();
    let secret = [7u8; 32];
    keyring
        .insert(
            "shared",
            SigningKey::from_hmac_secret(&secret).unwrap(),
            KeySchedule::active_from(now),
        )
        .unwrap();
    let issuer = TokenIssuer::new(
        Arc::clone(&keyring),
        TokenPolicy::new(ISSUER).with_audience(AUDIENCE),
    )
    .unwrap();
    let token = issuer.token("local").sign().unwrap();
    assert_eq!(token.kid(), "shared");

    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    let data = jsonwebtoken::decode::<issue_support::Claims>(
        token.as_str(),
        &jsonwebtoken::DecodingKey::from_secret(&secret).unwrap(),
        &validation,
    )
    .unwrap();
    assert_eq!(data.claims.sub, "local");

    let base = serve(router(Arc::clone(&keyring), None)).await;
    let (jwks, _) = fetch_jwks(&base).await;
    let kids: Vec<_> = jwks
        .keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect();
    assert_eq!(kids, ["key-EdDSA"]);
}

#[tokio::test]
async fn cache_control_follows_prepublication_lead() {
    let clock = ddf_rbac::ManualClock::at_unix_seconds(1_800_000_000);
    let mut settings = RotationSettings::default();
    settings.prepublish_secs = 120;
    let keyring = Arc::new(Keyring::new(settings, Arc::new(clock)));
    let base = serve(router(Arc::clone(&keyring), None)).await;
    let (_, cache_control) = fetch_jwks(&base).await;
    assert_eq!(cache_control, "public, max-age=60");

    let defaults = Arc::new(Keyring::new(
        RotationSettings::default(),
        Arc::new(ddf_rbac::SystemClock),
    ));
    let base = serve(router(defaults, None)).await;
    let (_, cache_control) = fetch_jwks(&base).await;
    assert_eq!(cache_control, "public, max-age=600");
}

#[tokio::test]
async fn discovery_document_names_jwks_and_algorithms() {
    let (keyring, _clock) = keyring_with(&[SigningAlgorithm::ES256, SigningAlgorithm::EdDSA]);
    let base = serve(router(
        Arc::clone(&keyring),
        Some(DiscoveryConfig::new(format!("{ISSUER}/"))),
    ))
    .await;
    let response = reqwest::get(format!("{base}/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"].to_str().unwrap(),
        "public, max-age=600"
    );
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let document: serde_json::Value = response.json().await.unwrap();
    assert_eq!(document["issuer"], format!("{ISSUER}/"));
    assert_eq!(
        document["jwks_uri"],
        format!("{ISSUER}/.well-known/jwks.json")
    );
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        serde_json::json!(["EdDSA", "ES256"])
    );

    let without = serve(router(keyring, None)).await;
    let status = reqwest::get(format!("{without}/.well-known/openid-configuration"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
}

#[test]
fn fixture_keys_publish_the_same_public_members() {
    // Keys exported by pyca/cryptography: the public JWK this crate derives
    // must equal the public members PyJWT wrote beside the private ones.
    for (alg, name, members) in [
        (SigningAlgorithm::EdDSA, "ed25519", &["crv", "x"][..]),
        (SigningAlgorithm::ES256, "p256", &["crv", "x", "y"][..]),
        (SigningAlgorithm::RS256, "rsa2048", &["n", "e"][..]),
    ] {
        let private: serde_json::Value =
            serde_json::from_str(&issue_support::fixture_text(&format!("{name}.jwk.json")))
                .unwrap();
        for text in [
            issue_support::fixture_text(&format!("{name}.pem")),
            issue_support::fixture_text(&format!("{name}.jwk.json")),
        ] {
            let key = SigningKey::from_text(alg, &text).unwrap();
            let public = serde_json::to_value(key.public_jwk("k").unwrap()).unwrap();
            for member in members {
                assert_eq!(public[member], private[member], "{name} member {member}");
            }
        }
    }
}
