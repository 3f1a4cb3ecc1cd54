//! Arbitrary bytes as a JWKS document: loading must return a key set or a
//! typed error, never panic, and account for every entry.

#![no_main]

use ddf_jwt::{JwksOptions, KeySet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = JwksOptions {
        allow_symmetric_keys: data.first().is_some_and(|byte| byte & 1 == 1),
        ..JwksOptions::default()
    };
    if let Ok((keys, skipped)) = KeySet::from_jwks_json_with(data, &options) {
        let entries = serde_json::from_slice::<serde_json::Value>(data)
            .ok()
            .and_then(|document| document["keys"].as_array().map(Vec::len));
        if let Some(entries) = entries {
            assert_eq!(keys.len() + skipped.len(), entries);
        }
        for key in keys.keys() {
            let _ = (key.kid(), key.algorithms(), key.fingerprint());
        }
    }
});
