//! Where an issuer's keys come from.

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use crate::keys::{JwksOptions, KeySet, SkippedKey};
use crate::{Algorithm, JwtError};

/// The future returned by [`KeySource::refresh_for_unknown_kid`].
pub type KeySetFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Arc<KeySet>, JwtError>> + Send + 'a>>;

/// A provider of an issuer's current keys.
///
/// The validator calls [`current`](Self::current) for every token that is not
/// in its verified-token cache, so it must not block: return the set already
/// held. When a token names a `kid` that the current set lacks, the validator
/// calls [`refresh_for_unknown_kid`](Self::refresh_for_unknown_kid) once; a
/// remote source may refetch there, and must itself bound how often (the
/// `kid` comes from an unauthenticated token).
pub trait KeySource: fmt::Debug + Send + Sync + 'static {
    /// Returns the key set held now.
    ///
    /// # Errors
    ///
    /// [`JwtError::JwksUnavailable`] when no usable set is held (never
    /// fetched successfully, or older than the source's maximum staleness).
    fn current(&self) -> Result<Arc<KeySet>, JwtError>;

    /// Returns a possibly newer key set after a token named a `kid` (or no
    /// `kid`) that the current set could not serve. A source that cannot
    /// refresh returns its current set.
    fn refresh_for_unknown_kid(&self, kid: Option<&str>) -> KeySetFuture<'_>;

    /// Returns whether [`refresh_for_unknown_kid`](Self::refresh_for_unknown_kid)
    /// can ever return different keys; the validator skips the call when not.
    fn can_refresh(&self) -> bool {
        true
    }

    /// Returns whether a call to
    /// [`refresh_for_unknown_kid`](Self::refresh_for_unknown_kid) for `kid`
    /// made now would wait for a fetch. When it would not (a cooldown, a
    /// `kid` remembered as missing), the validator returns `key_not_found`
    /// without a future. The default is [`can_refresh`](Self::can_refresh).
    fn fetches_for_unknown_kid(&self, kid: Option<&str>) -> bool {
        let _ = kid;
        self.can_refresh()
    }
}

/// A key source whose keys never change: a JWKS string or file, PEM public
/// keys, HMAC secrets.
///
/// ```
/// use ddf_jwt::{KeySource, StaticKeySource};
///
/// let (source, skipped) = StaticKeySource::from_jwks_json(r#"{"keys":[
///     {"kty":"OKP","crv":"Ed25519","kid":"ed-1",
///      "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
///     {"kty":"RSA","use":"enc","kid":"enc-1","n":"AQAB","e":"AQAB"}
/// ]}"#)?;
/// assert_eq!(source.current()?.key_ids(), ["ed-1"]);
/// assert_eq!(skipped[0].reason.as_str(), "encryption_key");
/// # Ok::<(), ddf_jwt::JwtError>(())
/// ```
#[derive(Debug, Clone)]
pub struct StaticKeySource {
    keys: Arc<KeySet>,
}

impl StaticKeySource {
    /// Wraps an already built key set.
    pub fn new(keys: KeySet) -> Self {
        Self {
            keys: Arc::new(keys),
        }
    }

    /// Loads a JWKS document with default [`JwksOptions`] (public keys only).
    ///
    /// # Errors
    ///
    /// [`JwtError::JwksInvalid`] when the document is not a JWKS.
    pub fn from_jwks_json(document: impl AsRef<[u8]>) -> Result<(Self, Vec<SkippedKey>), JwtError> {
        Self::from_jwks_json_with(document, &JwksOptions::default())
    }

    /// Loads a JWKS document with explicit options.
    pub fn from_jwks_json_with(
        document: impl AsRef<[u8]>,
        options: &JwksOptions,
    ) -> Result<(Self, Vec<SkippedKey>), JwtError> {
        let (keys, skipped) = KeySet::from_jwks_json_with(document, options)?;
        Ok((Self::new(keys), skipped))
    }

    /// Reads and loads a JWKS file.
    ///
    /// # Errors
    ///
    /// [`JwtError::JwksInvalid`] when the file cannot be read or is not a JWKS.
    pub fn from_jwks_file(
        path: impl AsRef<Path>,
        options: &JwksOptions,
    ) -> Result<(Self, Vec<SkippedKey>), JwtError> {
        let path = path.as_ref();
        let document = std::fs::read(path).map_err(|error| {
            JwtError::jwks_invalid(format!("cannot read {}: {error}", path.display()))
        })?;
        Self::from_jwks_json_with(document, options)
    }

    /// Loads one PEM public key; see [`crate::KeySetBuilder::public_key_pem`].
    pub fn from_pem(
        kid: Option<&str>,
        pem: &[u8],
        algorithms: &[Algorithm],
    ) -> Result<Self, JwtError> {
        Ok(Self::new(
            KeySet::builder()
                .public_key_pem(kid, pem, algorithms)?
                .build(),
        ))
    }

    /// Loads one HMAC secret; see [`crate::KeySetBuilder::hmac_secret`].
    pub fn from_hmac_secret(
        kid: Option<&str>,
        secret: &[u8],
        algorithms: &[Algorithm],
    ) -> Result<Self, JwtError> {
        Ok(Self::new(
            KeySet::builder()
                .hmac_secret(kid, secret, algorithms)?
                .build(),
        ))
    }

    /// Returns the key set.
    pub fn keys(&self) -> &Arc<KeySet> {
        &self.keys
    }
}

impl KeySource for StaticKeySource {
    fn current(&self) -> Result<Arc<KeySet>, JwtError> {
        Ok(Arc::clone(&self.keys))
    }

    fn refresh_for_unknown_kid(&self, _kid: Option<&str>) -> KeySetFuture<'_> {
        let keys = Arc::clone(&self.keys);
        Box::pin(async move { Ok(keys) })
    }

    fn can_refresh(&self) -> bool {
        false
    }
}
