//! Encryption at rest: AES-256-GCM with a key id, bound to the storage key.
//!
//! Sealed payload layout (all lengths in bytes):
//!
//! | field | length |
//! |---|---|
//! | format version, `1` | 1 |
//! | key id length `n` | 1 |
//! | key id (ASCII) | `n` |
//! | nonce, random | 12 |
//! | ciphertext and 16-byte tag | rest |
//!
//! The associated data is the format label, the storage key and the key id,
//! so a payload copied under another storage key, or relabelled with another
//! key id, fails authentication.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{InvalidReason, SessionError};
use crate::session::Session;

const FORMAT_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const AAD_LABEL: &[u8] = b"ddf-session/v1";
/// Upper bound on a sealed payload; larger values are rejected before any
/// decryption or JSON parsing.
pub const MAX_SEALED_LEN: usize = 64 * 1024;
const MAX_KEY_ID_LEN: usize = 32;

/// A 256-bit AES key for session payloads. Zeroed on drop; `Debug` prints a
/// redaction.
///
/// ```
/// use ddf_session::SessionKey;
///
/// // In production the text comes from an environment variable that a
/// // secrets manager fills, e.g. `openssl rand -base64 32`.
/// let key = SessionKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")?;
/// assert_eq!(format!("{key:?}"), "SessionKey(redacted)");
/// assert!(SessionKey::from_base64("c2hvcnQ=").is_err());
/// # Ok::<(), ddf_session::SessionError>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    /// Wraps 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Decodes a key from standard or URL-safe base64 (padding optional);
    /// surrounding whitespace is ignored.
    ///
    /// # Errors
    ///
    /// [`SessionError::Config`] when the text is not base64 or does not decode
    /// to exactly 32 bytes. The message never contains the text.
    pub fn from_base64(text: &str) -> Result<Self, SessionError> {
        let text = text.trim();
        let unpadded = text.trim_end_matches('=');
        let decoded = Zeroizing::new(
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE_NO_PAD.decode(unpadded))
                .map_err(|_| SessionError::Config("session key is not valid base64"))?,
        );
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| SessionError::Config("session key must decode to exactly 32 bytes"))?;
        Ok(Self(bytes))
    }

    /// Generates a random key from the operating system's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`SessionError::Internal`] when no random bytes are available.
    pub fn generate() -> Result<Self, SessionError> {
        let mut bytes = [0_u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|_| SessionError::Internal("the OS random number generator failed"))?;
        Ok(Self(bytes))
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SessionKey(redacted)")
    }
}

/// The encryption keys of a store: one current key that seals new payloads,
/// and older keys that still open payloads sealed before a rotation.
///
/// To rotate: add the new key as current and keep the old one with
/// [`SessionKeys::with_decrypt_only`] until the absolute session lifetime has
/// passed, then drop it. Payloads are re-sealed with the current key whenever
/// a session is written (refresh, rotation, data change).
///
/// ```
/// use ddf_session::{SessionKey, SessionKeys};
///
/// let keys = SessionKeys::new("2026-06", &SessionKey::generate()?)?
///     .with_decrypt_only("2026-05", &SessionKey::generate()?)?;
/// assert_eq!(keys.current_key_id(), "2026-06");
/// # Ok::<(), ddf_session::SessionError>(())
/// ```
#[derive(Clone)]
pub struct SessionKeys {
    current_id: String,
    keys: Vec<(String, Aes256Gcm)>,
}

impl SessionKeys {
    /// Creates a key set whose current key is `key`, labelled `key_id`.
    ///
    /// # Errors
    ///
    /// [`SessionError::Config`] when the key id is empty, longer than 32
    /// bytes, or has characters other than ASCII letters, digits, `-`, `_`
    /// and `.`.
    pub fn new(key_id: impl Into<String>, key: &SessionKey) -> Result<Self, SessionError> {
        let key_id = checked_key_id(key_id.into())?;
        let cipher = Aes256Gcm::new(key.as_bytes().into());
        Ok(Self {
            current_id: key_id.clone(),
            keys: vec![(key_id, cipher)],
        })
    }

    /// Adds a key that opens existing payloads but never seals new ones.
    ///
    /// # Errors
    ///
    /// [`SessionError::Config`] for an invalid or duplicate key id.
    pub fn with_decrypt_only(
        mut self,
        key_id: impl Into<String>,
        key: &SessionKey,
    ) -> Result<Self, SessionError> {
        let key_id = checked_key_id(key_id.into())?;
        if self.keys.iter().any(|(existing, _)| *existing == key_id) {
            return Err(SessionError::Config("duplicate session key id"));
        }
        let cipher = Aes256Gcm::new(key.as_bytes().into());
        self.keys.push((key_id, cipher));
        Ok(self)
    }

    /// Returns the id of the key that seals new payloads.
    pub fn current_key_id(&self) -> &str {
        &self.current_id
    }

    /// Encrypts `session` for storage under `storage_key`.
    ///
    /// # Errors
    ///
    /// [`SessionError::Internal`] when serialization, the random number
    /// generator or the cipher fails.
    pub fn seal(&self, storage_key: &[u8], session: &Session) -> Result<Vec<u8>, SessionError> {
        let plaintext = Zeroizing::new(
            serde_json::to_vec(session)
                .map_err(|_| SessionError::Internal("session serialization failed"))?,
        );
        self.seal_plaintext(storage_key, &plaintext)
    }

    fn seal_plaintext(
        &self,
        storage_key: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, SessionError> {
        let (key_id, cipher) = &self.keys[0];

        let mut nonce = [0_u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|_| SessionError::Internal("the OS random number generator failed"))?;
        let aad = associated_data(storage_key, key_id);
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| SessionError::Internal("session encryption failed"))?;

        let mut sealed = Vec::with_capacity(2 + key_id.len() + NONCE_LEN + ciphertext.len());
        sealed.push(FORMAT_VERSION);
        sealed.push(key_id.len() as u8);
        sealed.extend_from_slice(key_id.as_bytes());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Decrypts and decodes a payload read from `storage_key`.
    ///
    /// # Errors
    ///
    /// [`SessionError::Invalid`] with [`InvalidReason::DecryptFailed`] for any
    /// payload that is truncated, oversized, of an unknown version, sealed
    /// with an unknown key, fails authentication, or decodes to an
    /// inconsistent session. The caller never sees partial data.
    pub fn open(&self, storage_key: &[u8], sealed: &[u8]) -> Result<Session, SessionError> {
        let failed = || SessionError::invalid(InvalidReason::DecryptFailed);
        if sealed.len() > MAX_SEALED_LEN {
            return Err(failed());
        }
        let (&version, rest) = sealed.split_first().ok_or_else(failed)?;
        if version != FORMAT_VERSION {
            return Err(failed());
        }
        let (&key_id_len, rest) = rest.split_first().ok_or_else(failed)?;
        let key_id_len = usize::from(key_id_len);
        if rest.len() < key_id_len + NONCE_LEN + TAG_LEN {
            return Err(failed());
        }
        let (key_id, rest) = rest.split_at(key_id_len);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);

        let (key_id, cipher) = self
            .keys
            .iter()
            .find(|(known, _)| known.as_bytes() == key_id)
            .ok_or_else(failed)?;
        let aad = associated_data(storage_key, key_id);
        let plaintext = Zeroizing::new(
            cipher
                .decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| failed())?,
        );
        let session: Session = serde_json::from_slice(&plaintext).map_err(|_| failed())?;
        if !session.is_consistent() {
            return Err(failed());
        }
        Ok(session)
    }
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        formatter
            .debug_struct("SessionKeys")
            .field("current_key_id", &self.current_id)
            .field("key_ids", &ids)
            .finish()
    }
}

fn checked_key_id(key_id: String) -> Result<String, SessionError> {
    let valid = !key_id.is_empty()
        && key_id.len() <= MAX_KEY_ID_LEN
        && key_id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'));
    if valid {
        Ok(key_id)
    } else {
        Err(SessionError::Config(
            "session key id must be 1-32 characters of A-Z a-z 0-9 - _ .",
        ))
    }
}

fn associated_data(storage_key: &[u8], key_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_LABEL.len() + storage_key.len() + key_id.len() + 2);
    aad.extend_from_slice(AAD_LABEL);
    aad.push(0);
    aad.extend_from_slice(storage_key);
    aad.push(0);
    aad.extend_from_slice(key_id.as_bytes());
    aad
}

/// Decodes a sealed payload with fixed test keys. Exposed for the fuzz target
/// only; it must return an error, never panic, for any input.
#[doc(hidden)]
pub fn decode_payload_for_fuzzing(storage_key: &[u8], sealed: &[u8]) -> Option<Session> {
    fuzzing_keys()?.open(storage_key, sealed).ok()
}

/// Seals `plaintext` as if it were a serialized session, then opens it, so
/// the fuzz target reaches the JSON decoder and the consistency checks that
/// random ciphertext never gets past. Exposed for the fuzz target only.
#[doc(hidden)]
pub fn decode_plaintext_for_fuzzing(plaintext: &[u8]) -> Option<Session> {
    let keys = fuzzing_keys()?;
    let sealed = keys.seal_plaintext(b"fuzz", plaintext).ok()?;
    keys.open(b"fuzz", &sealed).ok()
}

fn fuzzing_keys() -> Option<SessionKeys> {
    SessionKeys::new("fuzz", &SessionKey::from_bytes([0x42; 32]))
        .and_then(|keys| keys.with_decrypt_only("fuzz-old", &SessionKey::from_bytes([0x24; 32])))
        .ok()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use ddf_rbac::{AuthMethod, Principal};
    use proptest::prelude::*;

    use super::*;
    use crate::config::SessionConfig;

    fn session() -> Session {
        Session::new(
            Principal::new("user-7", AuthMethod::Jwt).with_roles(["user"]),
            UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            &SessionConfig::production(),
        )
    }

    fn keys() -> SessionKeys {
        SessionKeys::new("k1", &SessionKey::from_bytes([1; 32])).unwrap()
    }

    #[test]
    fn seal_open_round_trip() {
        let sealed = keys().seal(b"key-a", &session()).unwrap();
        assert_eq!(keys().open(b"key-a", &sealed).unwrap(), session());
    }

    #[test]
    fn s12_payload_has_no_plaintext_claims() {
        let sealed = keys().seal(b"key-a", &session()).unwrap();
        let needle = b"user-7";
        assert!(!sealed.windows(needle.len()).any(|window| window == needle));
    }

    #[test]
    fn s11_every_flipped_byte_fails() {
        let sealed = keys().seal(b"key-a", &session()).unwrap();
        for index in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[index] ^= 0x01;
            let error = keys().open(b"key-a", &tampered).unwrap_err();
            assert_eq!(error.invalid_reason(), Some(InvalidReason::DecryptFailed));
        }
    }

    #[test]
    fn s11_truncated_and_moved_payloads_fail() {
        let sealed = keys().seal(b"key-a", &session()).unwrap();
        for length in 0..sealed.len() {
            let error = keys().open(b"key-a", &sealed[..length]).unwrap_err();
            assert_eq!(error.invalid_reason(), Some(InvalidReason::DecryptFailed));
        }
        let error = keys().open(b"key-b", &sealed).unwrap_err();
        assert_eq!(error.invalid_reason(), Some(InvalidReason::DecryptFailed));
    }

    #[test]
    fn s12_key_rotation_keeps_old_payloads_readable() {
        let old = keys();
        let sealed_old = old.seal(b"key-a", &session()).unwrap();
        let rotated = SessionKeys::new("k2", &SessionKey::from_bytes([2; 32]))
            .unwrap()
            .with_decrypt_only("k1", &SessionKey::from_bytes([1; 32]))
            .unwrap();
        assert_eq!(rotated.open(b"key-a", &sealed_old).unwrap(), session());
        let sealed_new = rotated.seal(b"key-a", &session()).unwrap();
        assert_eq!(&sealed_new[2..4], b"k2");
        let error = old.open(b"key-a", &sealed_new).unwrap_err();
        assert_eq!(error.invalid_reason(), Some(InvalidReason::DecryptFailed));
    }

    #[test]
    fn key_parsing_is_strict() {
        let text = STANDARD.encode([5_u8; 32]);
        assert_eq!(SessionKey::from_base64(&text).unwrap().0, [5; 32]);
        let url_safe = URL_SAFE_NO_PAD.encode([0xfb_u8; 32]);
        assert_eq!(SessionKey::from_base64(&url_safe).unwrap().0, [0xfb; 32]);
        assert_eq!(
            SessionKey::from_base64(&STANDARD.encode([5_u8; 31]))
                .unwrap_err()
                .kind()
                .as_str(),
            "session_config_invalid"
        );
        assert!(SessionKey::from_base64("not base64!").is_err());
        assert!(SessionKeys::new("", &SessionKey::from_bytes([0; 32])).is_err());
        assert!(SessionKeys::new("a b", &SessionKey::from_bytes([0; 32])).is_err());
        assert!(
            keys()
                .with_decrypt_only("k1", &SessionKey::from_bytes([3; 32]))
                .is_err()
        );
    }

    proptest! {
        #[test]
        fn open_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            prop_assert!(decode_payload_for_fuzzing(b"k", &bytes).is_none());
        }
    }
}
