//! Strict base64url: unpadded, URL-safe alphabet only, canonical trailing bits.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Decodes unpadded base64url and rejects padding, whitespace, the standard
/// alphabet's `+` and `/`, and non-zero unused trailing bits, so every byte
/// string has exactly one accepted encoding.
pub(crate) fn decode(input: &[u8]) -> Option<Vec<u8>> {
    // `URL_SAFE_NO_PAD` requires no padding and, by default, rejects
    // non-canonical trailing bits; a length of 1 (mod 4) is rejected too.
    URL_SAFE_NO_PAD.decode(input).ok()
}
