//! Fuzzes the decoder of sealed session payloads: any bytes read from Redis
//! must give a typed rejection, never a panic or an unbounded allocation.
//!
//! The first input byte selects the mode. With its low bit clear, the next
//! byte selects how much of the rest is the storage key (the associated
//! data) and the remainder is the sealed payload. Random ciphertext never
//! authenticates, so with the low bit set the rest is sealed as plaintext
//! under the fixed test key first; that reaches the JSON decoder and the
//! consistency checks behind the cipher.

#![no_main]

use ddf_session::{SessionKey, SessionKeys};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 1 {
        let Some(session) = ddf_session::decode_plaintext_for_fuzzing(rest) else {
            return;
        };
        // A session that decoded must survive its own round trip unchanged.
        let keys = SessionKeys::new("round-trip", &SessionKey::from_bytes([7; 32]))
            .expect("a fixed key id is valid");
        let sealed = keys
            .seal(b"storage-key", &session)
            .expect("a decoded session seals");
        let reopened = keys
            .open(b"storage-key", &sealed)
            .expect("a sealed session opens");
        assert_eq!(reopened, session);
        return;
    }

    let Some((&split, rest)) = rest.split_first() else {
        return;
    };
    let split = usize::from(split).min(rest.len());
    let (storage_key, sealed) = rest.split_at(split);
    // Without the fixed test keys no input can authenticate, so the decoder
    // must reject everything; a `Some` would mean a forged payload passed.
    assert!(ddf_session::decode_payload_for_fuzzing(storage_key, sealed).is_none());
});
