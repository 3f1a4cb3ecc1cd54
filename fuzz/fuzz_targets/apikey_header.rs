//! Fuzzes `X-API-Key` header parsing and verification against an in-memory
//! store. Any input must either authenticate the one stored key or be
//! rejected as `api_key_invalid`; nothing may panic.

#![no_main]

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, Waker};

use ddf_apikey::{ApiKey, ApiKeyErrorKind, ApiKeyVerifier, KeyRecord, KeyStore, MemoryKeyStore};
use libfuzzer_sys::fuzz_target;

/// The one valid key; fixed so that the fuzzer can find it from the corpus.
const STORED_KEY: &[u8] = b"00112233445566778899aabbccddeeff";

static VERIFIER: LazyLock<ApiKeyVerifier> = LazyLock::new(|| {
    let key = ApiKey::parse(STORED_KEY).expect("the stored key is well-formed");
    let record = KeyRecord::new("fuzz", "fuzzer", key.digest(), 0).with_expires(u64::MAX);
    let store = MemoryKeyStore::from_records(vec![record]).expect("one record builds");
    let policy = ddf_apikey::RotationPolicy {
        max_age_secs: u64::MAX,
        ..ddf_apikey::RotationPolicy::default()
    };
    ApiKeyVerifier::new(Arc::new(store) as Arc<dyn KeyStore>).with_policy(policy)
});

fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut context) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("in-memory verification waited"),
    }
}

fuzz_target!(|data: &[u8]| {
    match ApiKey::parse(data) {
        Ok(key) => {
            assert_eq!(data.len(), 32);
            assert_eq!(key.expose_secret().as_bytes(), data);
        }
        Err(error) => assert_eq!(error.kind(), ApiKeyErrorKind::Invalid),
    }

    match ready(VERIFIER.verify(data)) {
        Ok(principal) => {
            assert_eq!(data, STORED_KEY);
            assert_eq!(principal.key_id(), Some("fuzz"));
        }
        Err(error) => {
            assert_ne!(data, STORED_KEY);
            assert_eq!(error.kind(), ApiKeyErrorKind::Invalid);
        }
    }
});
