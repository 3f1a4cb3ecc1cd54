//! The key secret and its SHA-256 digest.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest::{SHA256, digest};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{ApiKeyError, InvalidReason};

/// Length of an API key in characters: 32 lower-case hex digits, 128 bits.
pub const KEY_LEN: usize = 32;

/// Length of a [`KeyDigest`] in bytes.
pub const DIGEST_LEN: usize = 32;

/// An API key secret: 32 lower-case hexadecimal characters (128 random bits).
///
/// The type has no `PartialEq`, so comparing two secrets with `==` does not
/// compile; verification compares [`KeyDigest`]s in constant time instead.
/// `Debug` and `Display` print a redaction, and the bytes are zeroed on drop.
///
/// ```
/// use ddf_apikey::ApiKey;
///
/// let key = ApiKey::generate();
/// assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
/// assert_eq!(key.to_string(), "<redacted>");
/// assert_eq!(key.expose_secret().len(), 32);
/// ```
///
/// ```compile_fail
/// use ddf_apikey::ApiKey;
///
/// let a = ApiKey::generate();
/// let b = ApiKey::generate();
/// let _ = a == b; // secrets have no `==`
/// ```
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct ApiKey {
    ascii: [u8; KEY_LEN],
}

impl ApiKey {
    /// Generates a key from 128 bits of the operating system's CSPRNG.
    ///
    /// # Panics
    ///
    /// Panics if the operating system has no random source, which leaves no
    /// safe way to issue a key.
    #[must_use]
    pub fn generate() -> Self {
        let mut random = [0u8; KEY_LEN / 2];
        getrandom::fill(&mut random).expect("the operating system CSPRNG is unavailable");
        let mut ascii = [0u8; KEY_LEN];
        hex::encode_to_slice(random, &mut ascii).expect("32 output bytes hold 16 input bytes");
        random.zeroize();
        Self { ascii }
    }

    /// Parses a header value that must contain exactly 32 lower-case hex digits.
    ///
    /// Only lower-case is accepted, because the generator emits lower-case and a
    /// single spelling per key keeps the digest equal to
    /// `printf %s KEY | sha256sum`; upper-case letters are rejected rather than
    /// canonicalised. Whitespace is not trimmed. Any other length is rejected
    /// before a byte is inspected, so oversized values cost nothing to refuse.
    ///
    /// # Errors
    ///
    /// Returns [`ApiKeyError`] of kind `api_key_invalid` with the internal
    /// reason `malformed`: the same external error as an unknown key.
    pub fn parse(header_value: &[u8]) -> Result<Self, ApiKeyError> {
        let Ok(ascii) = <[u8; KEY_LEN]>::try_from(header_value) else {
            return Err(ApiKeyError::invalid(InvalidReason::Malformed));
        };

        // Check every byte without an early exit, so the time taken does not
        // depend on where the first bad character sits in a real key.
        let mut bad = 0u8;
        for byte in ascii {
            let digit = u8::from(byte.is_ascii_digit());
            let lower = u8::from((b'a'..=b'f').contains(&byte));
            bad |= 1 ^ (digit | lower);
        }

        if bad == 0 {
            Ok(Self { ascii })
        } else {
            Err(ApiKeyError::invalid(InvalidReason::Malformed))
        }
    }

    /// Returns the SHA-256 digest of the 32 ASCII characters, which is what
    /// the stores keep.
    #[must_use]
    pub fn digest(&self) -> KeyDigest {
        // aws-lc-rs rather than `sha2`: about a third faster on 32 bytes
        // with SHA extensions, and the digest is most of a verification.
        let mut bytes = [0u8; DIGEST_LEN];
        bytes.copy_from_slice(digest(&SHA256, &self.ascii).as_ref());
        KeyDigest(bytes)
    }

    /// Returns the key as text, to show it to its owner once at issuance.
    ///
    /// Never log the result.
    pub fn expose_secret(&self) -> &str {
        // The constructors admit only ASCII hex digits.
        std::str::from_utf8(&self.ascii).unwrap_or_default()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The SHA-256 digest of an [`ApiKey`]: the only form in which a store keeps a key.
///
/// Serialized as 64 lower-case hex characters. Equality (`==` and
/// [`ct_eq`](Self::ct_eq)) runs in constant time. `Debug` prints only the
/// first four bytes, enough to tell records apart in a log and useless for
/// finding the key, which has 128 random bits behind a one-way function.
///
/// ```
/// use ddf_apikey::ApiKey;
///
/// let key = ApiKey::parse(b"00112233445566778899aabbccddeeff").unwrap();
/// let digest = key.digest();
/// assert_eq!(
///     digest.to_hex(),
///     "5947d7c33d783f94b3b4c1a96ebc8991ed28f1b069b71e03376cba8caa98a720"
/// );
/// assert_eq!(format!("{digest:?}"), "KeyDigest(5947d7c3…)");
/// ```
#[derive(Clone, Copy, Default)]
pub struct KeyDigest([u8; DIGEST_LEN]);

impl KeyDigest {
    /// Wraps 32 digest bytes.
    pub const fn from_bytes(bytes: [u8; DIGEST_LEN]) -> Self {
        Self(bytes)
    }

    /// Returns the digest bytes.
    pub const fn as_bytes(&self) -> &[u8; DIGEST_LEN] {
        &self.0
    }

    /// Parses 64 hex characters (either case).
    ///
    /// # Errors
    ///
    /// Returns a configuration error when `text` is not 64 hex characters.
    pub fn from_hex(text: &str) -> Result<Self, ApiKeyError> {
        let mut bytes = [0u8; DIGEST_LEN];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| {
            ApiKeyError::config(format!(
                "invalid key digest: expected 64 hex characters (a SHA-256 digest), got {} characters",
                text.len()
            ))
        })?;
        Ok(Self(bytes))
    }

    /// Returns the digest as 64 lower-case hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Compares two digests in constant time, as four 64-bit words.
    pub fn ct_eq(&self, other: &Self) -> Choice {
        let mut equal = Choice::from(1);
        for (left, right) in self.0.chunks_exact(8).zip(other.0.chunks_exact(8)) {
            let left = u64::from_le_bytes(left.try_into().unwrap_or_default());
            let right = u64::from_le_bytes(right.try_into().unwrap_or_default());
            equal &= left.ct_eq(&right);
        }
        equal
    }

    /// Returns the first eight bytes as an integer, which the in-memory index
    /// uses to place the digest.
    pub(crate) fn tag(&self) -> u64 {
        let mut head = [0u8; 8];
        head.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(head)
    }
}

impl PartialEq for KeyDigest {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for KeyDigest {}

impl std::hash::Hash for KeyDigest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyDigest({}…)", hex::encode(&self.0[..4]))
    }
}

impl FromStr for KeyDigest {
    type Err = ApiKeyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_hex(text)
    }
}

impl Serialize for KeyDigest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for KeyDigest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_lower_hex_and_parse() {
        let key = ApiKey::generate();
        let text = key.expose_secret();
        assert_eq!(text.len(), KEY_LEN);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        let parsed = ApiKey::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.digest(), key.digest());
    }

    #[test]
    fn digest_is_sha256_of_ascii() {
        // Expected value from `printf %s KEY | sha256sum`.
        let key = ApiKey::parse(b"00112233445566778899aabbccddeeff").unwrap();
        assert_eq!(
            key.digest().to_hex(),
            "5947d7c33d783f94b3b4c1a96ebc8991ed28f1b069b71e03376cba8caa98a720"
        );
    }

    #[test]
    fn digest_ct_eq_detects_last_byte() {
        let a = KeyDigest::from_bytes([7; 32]);
        let mut bytes = [7; 32];
        bytes[31] = 8;
        let b = KeyDigest::from_bytes(bytes);
        assert!(bool::from(a.ct_eq(&a)));
        assert!(!bool::from(a.ct_eq(&b)));
        assert_ne!(a, b);
    }

    #[test]
    fn digest_hex_round_trip_and_serde() {
        let digest = ApiKey::generate().digest();
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(json, format!("\"{}\"", digest.to_hex()));
        let back: KeyDigest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, digest);
        let upper: KeyDigest = digest.to_hex().to_uppercase().parse().unwrap();
        assert_eq!(upper, digest);
    }

    #[test]
    fn digest_from_hex_rejects_wrong_length() {
        let error = KeyDigest::from_hex("abcd").unwrap_err();
        assert_eq!(error.kind().as_str(), "config_invalid");
    }
}
