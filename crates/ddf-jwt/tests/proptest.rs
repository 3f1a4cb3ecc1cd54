//! Property tests: the compact parser and the JWKS loader never panic and
//! reject every mutation of a valid token that changes its meaning.

mod common;

use common::*;
use ddf_jwt::{ErrorKind, KeySet, UnverifiedToken};
use proptest::prelude::*;
use serde_json::json;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn p14_parser_never_panics_on_arbitrary_text(input in ".{0,400}") {
        let _ = UnverifiedToken::parse(&input);
        let _ = default_validator().validate_sync(&input);
    }

    #[test]
    fn p14_parser_never_panics_on_token_shaped_input(
        header in "[A-Za-z0-9_-]{0,80}",
        payload in "[A-Za-z0-9_-]{0,200}",
        signature in "[A-Za-z0-9_=+/-]{0,100}",
    ) {
        let token = format!("{header}.{payload}.{signature}");
        let _ = default_validator().validate_sync(&token);
    }

    #[test]
    fn p14_json_round_trips_through_the_parser(
        sub in "[a-z0-9-]{1,20}",
        roles in proptest::collection::vec("[a-z:]{1,12}", 0..5),
        exp in (NOW + 1)..(NOW + 100_000),
    ) {
        let claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "exp": exp, "roles": roles});
        let token = hs256().sign("HS256", &claims);
        let parsed = UnverifiedToken::parse(&token).unwrap();
        prop_assert_eq!(&serde_json::Value::Object(parsed.untrusted_claims().clone()), &claims);
        let verified = default_validator().validate_sync(&token).unwrap();
        prop_assert_eq!(verified.principal().subject(), sub.as_str());
    }

    #[test]
    fn p14_single_byte_mutations_never_verify(index in 0_usize..1000, replacement in any::<u8>()) {
        let token = hs256().sign("HS256", &claims());
        let mut bytes = token.clone().into_bytes();
        let index = index % bytes.len();
        prop_assume!(bytes[index] != replacement);
        bytes[index] = replacement;
        let Ok(mutated) = String::from_utf8(bytes) else { return Ok(()); };
        let result = default_validator().validate_sync(&mutated);
        prop_assert!(result.is_err(), "mutation at {} accepted", index);
        let kind = result.unwrap_err().kind();
        prop_assert!(matches!(
            kind,
            ErrorKind::TokenMalformed | ErrorKind::SignatureInvalid | ErrorKind::AlgNotAllowed
                | ErrorKind::KeyNotFound | ErrorKind::CritUnsupported
        ), "{kind}");
    }

    #[test]
    fn p14_jwks_loader_never_panics(input in ".{0,300}") {
        let _ = KeySet::from_jwks_json(&input);
    }

    #[test]
    fn p14_jwks_entries_are_skipped_or_loaded(
        kty in prop_oneof![Just("RSA"), Just("EC"), Just("OKP"), Just("oct"), Just("XYZ")],
        crv in prop_oneof![Just("P-256"), Just("P-384"), Just("Ed25519"), Just("X25519")],
        x in "[A-Za-z0-9_-]{0,90}",
        y in "[A-Za-z0-9_-]{0,90}",
        use_ in prop_oneof![Just("sig"), Just("enc"), Just("other")],
    ) {
        let document = json!({"keys": [
            {"kty": kty, "crv": crv, "x": x, "y": y, "n": x, "e": "AQAB", "use": use_, "kid": "k"},
            ed25519().jwk,
        ]}).to_string();
        let (keys, skipped) = KeySet::from_jwks_json(&document).unwrap();
        prop_assert_eq!(keys.len() + skipped.len(), 2);
        prop_assert!(keys.key_ids().contains(&"ed-1"));
    }
}
