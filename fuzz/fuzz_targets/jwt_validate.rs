//! Mutations of a valid token, validated with static keys: every input must
//! end in a typed result, never a panic, and a mutated token must never be
//! accepted unless it equals the original.

#![no_main]

use std::sync::OnceLock;

use ddf_jwt::{Algorithm, IssuerConfig, KeySet, StaticKeySource, Validator};
use ddf_rbac::ManualClock;
use libfuzzer_sys::fuzz_target;

const NOW: u64 = 1_750_000_000;
const SECRET: [u8; 32] = [0x5a; 32];

/// `{"alg":"HS256","kid":"hs-1"}` and a claims set valid at NOW.
const SIGNING_INPUT: &str = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzLTEifQ.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlLnRlc3QiLCJhdWQiOiJvcmRlcnMtYXBpIiwic3ViIjoidXNlci0wMDAxIiwiZXhwIjoxNzUwMDAwMzAwfQ";

/// The signing input with its HS256 signature under SECRET.
fn valid_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        use base64::Engine as _;
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &SECRET);
        let tag = aws_lc_rs::hmac::sign(&key, SIGNING_INPUT.as_bytes());
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref());
        format!("{SIGNING_INPUT}.{signature}")
    })
}

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let keys = KeySet::builder()
            .hmac_secret(Some("hs-1"), &SECRET, &[Algorithm::HS256])
            .unwrap()
            .build();
        Validator::builder()
            .issuer(
                IssuerConfig::new("https://issuer.example.test", StaticKeySource::new(keys))
                    .audience("orders-api")
                    .algorithms([Algorithm::HS256, Algorithm::RS256]),
            )
            .clock(ManualClock::at_unix_seconds(NOW))
            .cache_capacity(0)
            .build()
            .unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    // Treat the input as an edit script over the valid token: the first
    // byte picks a position, the rest replaces bytes there.
    let valid = valid_token();
    let mut token = valid.as_bytes().to_vec();
    if let Some((&position, replacement)) = data.split_first() {
        let start = usize::from(position) % token.len();
        for (offset, byte) in replacement.iter().enumerate() {
            match token.get_mut(start + offset) {
                Some(slot) => *slot = *byte,
                None => token.push(*byte),
            }
        }
    }
    let Ok(token) = std::str::from_utf8(&token) else {
        return;
    };
    match validator().validate_sync(token) {
        Ok(verified) => {
            assert_eq!(token, valid, "a mutated token was accepted");
            assert_eq!(verified.principal().subject(), "user-0001");
        }
        Err(error) => {
            let _ = error.kind().as_str();
        }
    }
});
