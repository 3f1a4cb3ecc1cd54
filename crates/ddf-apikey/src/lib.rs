//! API keys for LLM services: 32-character hex keys sent in `X-API-Key`, stored
//! only as SHA-256 digests and verified in constant time, with rotation and
//! revocation.
//!
//! Not built yet: this crate will hold the key type, the key stores (memory and
//! Redis) and the verifier.
