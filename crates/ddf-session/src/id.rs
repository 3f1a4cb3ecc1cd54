//! Session identifiers: 256 random bits, 43 characters of unpadded base64url.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{InvalidReason, SessionError};

/// Number of random bytes in a session id (256 bits).
pub const SESSION_ID_BYTES: usize = 32;

/// Length of the text form of a session id: 32 bytes as unpadded base64url.
pub const SESSION_ID_LEN: usize = 43;

/// A session id: 256 bits from the operating system's CSPRNG.
///
/// The text form is 43 characters of unpadded base64url (`A-Z a-z 0-9 - _`),
/// safe in a cookie and a URL without escaping. `Debug` and `Display` print a
/// redaction; the cookie value is available only through
/// [`SessionId::expose_cookie_value`]. The bytes are zeroed on drop.
///
/// ```
/// use ddf_session::SessionId;
///
/// let id = SessionId::generate()?;
/// let cookie = id.expose_cookie_value();
/// assert_eq!(cookie.len(), 43);
/// assert_eq!(SessionId::parse(&cookie)?, id);
/// assert_eq!(format!("{id}"), "SessionId(redacted)");
/// assert_eq!(
///     SessionId::parse("not-a-session-id").unwrap_err().kind().as_str(),
///     "session_invalid"
/// );
/// # Ok::<(), ddf_session::SessionError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Zeroize, ZeroizeOnDrop)]
pub struct SessionId([u8; SESSION_ID_BYTES]);

impl SessionId {
    /// Generates a new id from the operating system's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`SessionError::Internal`] when the operating system cannot supply
    /// random bytes; no id is ever made from weaker randomness.
    pub fn generate() -> Result<Self, SessionError> {
        let mut bytes = [0_u8; SESSION_ID_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|_| SessionError::Internal("the OS random number generator failed"))?;
        Ok(Self(bytes))
    }

    /// Parses a cookie value strictly: exactly 43 characters of unpadded
    /// base64url whose unused trailing bits are zero, so each id has exactly
    /// one text form.
    ///
    /// # Errors
    ///
    /// [`SessionError::Invalid`] with [`InvalidReason::Malformed`] for any
    /// other input. The check is local; no store is consulted.
    pub fn parse(text: &str) -> Result<Self, SessionError> {
        let malformed = || SessionError::invalid(InvalidReason::Malformed);
        let bytes = text.as_bytes();
        if bytes.len() != SESSION_ID_LEN {
            return Err(malformed());
        }
        if !bytes
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || *byte == b'-' || *byte == b'_')
        {
            return Err(malformed());
        }

        let mut decoded = [0_u8; SESSION_ID_BYTES];
        if let Ok(SESSION_ID_BYTES) = URL_SAFE_NO_PAD.decode_slice(bytes, &mut decoded) {
            Ok(Self(decoded))
        } else {
            decoded.zeroize();
            Err(malformed())
        }
    }

    /// Builds an id from raw bytes. Only for tests and stores that must
    /// reproduce an id; production ids come from [`SessionId::generate`].
    #[doc(hidden)]
    pub fn from_bytes(bytes: [u8; SESSION_ID_BYTES]) -> Self {
        Self(bytes)
    }

    /// Returns the cookie value. This is the bearer secret: put it in a
    /// `Set-Cookie` header and nowhere else (no logs, no URLs).
    pub fn expose_cookie_value(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Returns the SHA-256 digest of the id. Stores key on this so a dump of
    /// the store yields no usable cookie.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.0).into()
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SessionId(redacted)")
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SessionId(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn s03_generated_ids_are_fixed_length_url_safe() {
        for _ in 0..64 {
            let text = SessionId::generate().unwrap().expose_cookie_value();
            assert_eq!(text.len(), SESSION_ID_LEN);
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
        }
    }

    #[test]
    fn s03_generated_ids_differ() {
        let first = SessionId::generate().unwrap();
        let second = SessionId::generate().unwrap();
        assert_ne!(first, second);
    }

    #[test]
    fn s03_malformed_ids_rejected() {
        let valid = SessionId::from_bytes([7; 32]).expose_cookie_value();
        let mut padded = valid.clone();
        padded.push('=');
        let standard_alphabet = valid.replacen(&valid[..1], "+", 1);
        let cases = [
            String::new(),
            valid[..42].to_owned(),
            format!("{valid}A"),
            padded,
            standard_alphabet,
            valid.replacen(&valid[..1], "/", 1),
            valid.replacen(&valid[..1], " ", 1),
            valid.replacen(&valid[..1], "é", 1),
            "A".repeat(4096),
        ];
        for case in cases {
            let error = SessionId::parse(&case).unwrap_err();
            assert_eq!(error.invalid_reason(), Some(InvalidReason::Malformed));
        }
    }

    #[test]
    fn s03_non_canonical_trailing_bits_rejected() {
        let valid = SessionId::from_bytes([0; 32]).expose_cookie_value();
        assert!(valid.ends_with('A'));
        // 'B' sets one of the two unused low bits of the last character.
        let non_canonical = format!("{}B", &valid[..42]);
        let error = SessionId::parse(&non_canonical).unwrap_err();
        assert_eq!(error.invalid_reason(), Some(InvalidReason::Malformed));
    }

    #[test]
    fn debug_and_display_redact() {
        let id = SessionId::from_bytes([9; 32]);
        let text = id.expose_cookie_value();
        assert_eq!(format!("{id:?}"), "SessionId(redacted)");
        assert!(!format!("{id}").contains(&text));
    }

    proptest! {
        #[test]
        fn parse_round_trips(bytes in proptest::array::uniform32(any::<u8>())) {
            let id = SessionId::from_bytes(bytes);
            prop_assert_eq!(SessionId::parse(&id.expose_cookie_value()).unwrap(), id);
        }

        #[test]
        fn parse_never_panics(text in ".{0,80}") {
            let _ = SessionId::parse(&text);
        }
    }
}
