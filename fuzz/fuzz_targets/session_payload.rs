//! Fuzzes the decoder of sealed session payloads: any bytes read from Redis
//! must give a typed rejection, never a panic or an unbounded allocation.
//!
//! The first input byte selects how much of the rest is the storage key (the
//! associated data); the remainder is the sealed payload.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let split = usize::from(split).min(rest.len());
    let (storage_key, sealed) = rest.split_at(split);
    // Without the fixed test keys no input can authenticate, so the decoder
    // must reject everything; a `Some` would mean a forged payload passed.
    assert!(ddf_session::decode_payload_for_fuzzing(storage_key, sealed).is_none());
});
