//! The validator: parse, pick the issuer and key, verify, then check claims.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use ddf_rbac::{Clock, Principal, SystemClock};
use serde_json::{Map, Value};

use crate::cache::{CacheEntry, VerifiedCache};
use crate::claims::Claims;
use crate::compact::{DEFAULT_MAX_TOKEN_BYTES, Header, UnverifiedToken};
use crate::config::IssuerConfig;
use crate::keys::{KeyFingerprint, KeySet, VerifyingKey};
use crate::{Algorithm, JwtError, claims, profile};

/// Most keys tried for one token when several share its `kid`.
pub const MAX_CANDIDATE_KEYS: usize = 3;

/// A token whose signature verified and whose claims passed every rule.
///
/// Only the validator builds one. Cloning is cheap (one reference count).
#[derive(Clone)]
pub struct VerifiedToken(Arc<VerifiedInner>);

struct VerifiedInner {
    header: Header,
    claims: Claims,
    alg: Algorithm,
    key_fingerprint: KeyFingerprint,
    principal: Principal,
}

impl VerifiedToken {
    /// Returns the verified claims. The map is built on the first call
    /// (validation reads the claims it needs without it) and kept.
    pub fn claims(&self) -> &Map<String, Value> {
        self.0.claims.map()
    }

    /// Returns one verified claim.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.0.claims.map().get(name)
    }

    /// Returns the protected header, built on the first call and kept.
    pub fn header(&self) -> &Map<String, Value> {
        self.0.header.map()
    }

    /// Returns the algorithm the signature was verified with.
    pub fn alg(&self) -> Algorithm {
        self.0.alg
    }

    /// Returns the header `kid`, if the token had one.
    pub fn kid(&self) -> Option<&str> {
        self.0.header.kid()
    }

    /// Returns the fingerprint of the key that verified the signature.
    pub fn key_fingerprint(&self) -> KeyFingerprint {
        self.0.key_fingerprint
    }

    /// Returns the principal: subject, issuer, `kid` as key id, roles per
    /// profile, expiry.
    pub fn principal(&self) -> &Principal {
        &self.0.principal
    }
}

impl fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("alg", &self.0.alg)
            .field("kid", &self.kid())
            .field("principal", &self.0.principal)
            .finish_non_exhaustive()
    }
}

/// Validates JWT access tokens for one or more trusted issuers.
///
/// Steps, in order: size cap and strict parse; issuer selection (with one
/// issuer configured its keys are always used, so a bad signature is
/// reported before a wrong `iss`; with several, the unverified `iss` must
/// name one of them exactly, else [`JwtError::IssuerMismatch`] with no key
/// lookup); algorithm allow-list; key candidates by `kid` and algorithm;
/// signature; claims; principal mapping.
///
/// Key selection: keys whose `kid` equals the token's, plus keys without a
/// `kid`, that allow the token's algorithm. A token without `kid` matching
/// more than one key is rejected as [`JwtError::KeyAmbiguous`]; when several
/// keys share the token's `kid`, up to [`MAX_CANDIDATE_KEYS`] are tried.
///
/// ```
/// use ddf_jwt::{Algorithm, IssuerConfig, StaticKeySource, Validator};
/// use ddf_rbac::ManualClock;
///
/// let secret = [42_u8; 32];
/// let keys = StaticKeySource::from_hmac_secret(Some("k1"), &secret, &[Algorithm::HS256])?;
/// let validator = Validator::builder()
///     .issuer(
///         IssuerConfig::new("https://issuer.example.test", keys)
///             .audience("orders-api")
///             .algorithms([Algorithm::HS256]),
///     )
///     .clock(ManualClock::at_unix_seconds(1_750_000_000))
///     .build()?;
///
/// let token = jsonwebtoken::encode(
///     &jsonwebtoken::Header { kid: Some("k1".into()), ..Default::default() },
///     &serde_json::json!({
///         "iss": "https://issuer.example.test", "aud": "orders-api",
///         "sub": "user-0001", "exp": 1_750_000_300, "roles": ["reader"],
///     }),
///     &jsonwebtoken::EncodingKey::from_secret(&secret).expect("non-empty secret"),
/// ).unwrap();
///
/// let verified = validator.validate_sync(&token)?;
/// assert_eq!(verified.principal().subject(), "user-0001");
/// assert!(verified.principal().has_role("reader"));
///
/// let err = validator.validate_sync(&token.replace('.', "..")).unwrap_err();
/// assert_eq!(err.kind().as_str(), "token_malformed");
/// # Ok::<(), ddf_jwt::JwtError>(())
/// ```
pub struct Validator {
    issuers: Vec<IssuerConfig>,
    clock: Arc<dyn Clock>,
    max_token_bytes: usize,
    cache: Option<VerifiedCache>,
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validator")
            .field("issuers", &self.issuers)
            .field("max_token_bytes", &self.max_token_bytes)
            .field("cache", &self.cache.is_some())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Validator`].
#[derive(Debug)]
pub struct ValidatorBuilder {
    issuers: Vec<IssuerConfig>,
    clock: Arc<dyn Clock>,
    max_token_bytes: usize,
    cache_capacity: u64,
    cache_max_ttl: Duration,
}

impl Default for ValidatorBuilder {
    fn default() -> Self {
        Self {
            issuers: Vec::new(),
            clock: Arc::new(SystemClock),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            cache_capacity: 10_000,
            cache_max_ttl: Duration::from_secs(300),
        }
    }
}

impl ValidatorBuilder {
    /// Adds a trusted issuer.
    #[must_use]
    pub fn issuer(mut self, issuer: IssuerConfig) -> Self {
        self.issuers.push(issuer);
        self
    }

    /// Sets the clock (tests use `ddf_rbac::ManualClock`).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Sets the maximum token size in bytes, checked before any parsing.
    /// Default 16 KiB.
    #[must_use]
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// Sets how many verified tokens are cached; 0 disables the cache.
    /// Default 10 000.
    #[must_use]
    pub fn cache_capacity(mut self, entries: u64) -> Self {
        self.cache_capacity = entries;
        self
    }

    /// Sets the longest time a verified result is reused, whatever the
    /// token's `exp`. Default 5 minutes.
    #[must_use]
    pub fn cache_max_ttl(mut self, ttl: Duration) -> Self {
        self.cache_max_ttl = ttl;
        self
    }

    /// Checks the configuration and builds the validator.
    ///
    /// # Errors
    ///
    /// [`JwtError::ConfigInvalid`] when no issuer is configured, an issuer
    /// appears twice, or an issuer's settings contradict each other.
    pub fn build(self) -> Result<Validator, JwtError> {
        if self.issuers.is_empty() {
            return Err(JwtError::config(
                "no issuer configured; add one with `issuer(...)`",
            ));
        }
        for (index, issuer) in self.issuers.iter().enumerate() {
            issuer.validate()?;
            if self.issuers[..index]
                .iter()
                .any(|earlier| earlier.settings.issuer == issuer.settings.issuer)
            {
                return Err(JwtError::config(format!(
                    "issuer {:?} is configured twice",
                    issuer.settings.issuer
                )));
            }
        }
        let cache = (self.cache_capacity > 0)
            .then(|| VerifiedCache::new(self.cache_capacity, self.cache_max_ttl));
        Ok(Validator {
            issuers: self.issuers,
            clock: self.clock,
            max_token_bytes: self.max_token_bytes,
            cache,
        })
    }
}

/// A parsed token with its issuer and algorithm settled, waiting for keys.
struct Pending<'t> {
    /// The whole compact token, the cache key.
    text: &'t str,
    token: UnverifiedToken<'t>,
    issuer: usize,
    alg: Algorithm,
    /// Whether the result goes into the verified-token cache.
    cacheable: bool,
}

#[expect(
    clippy::large_enum_variant,
    reason = "moving the parsed token once is cheaper than boxing it on every validation"
)]
enum Start<'t> {
    Cached(VerifiedToken),
    Pending(Pending<'t>),
}

impl Validator {
    /// Returns a builder.
    pub fn builder() -> ValidatorBuilder {
        ValidatorBuilder::default()
    }

    /// Validates `token`, refreshing the issuer's keys once when no key
    /// matches its `kid` (a remote source decides whether to refetch).
    ///
    /// # Errors
    ///
    /// A [`JwtError`] whose [`kind`](JwtError::kind) is the reason code.
    pub async fn validate(&self, token: &str) -> Result<VerifiedToken, JwtError> {
        let pending = match self.start(token)? {
            Start::Cached(verified) => return Ok(verified),
            Start::Pending(pending) => pending,
        };
        let source = &self.issuers[pending.issuer].keys;
        let keys = source.current()?;
        if let Some(result) = verify_pending(&pending, &keys) {
            return result.map(|key| self.finish(pending, &key))?;
        }
        if source.can_refresh() {
            let refreshed = source
                .refresh_for_unknown_kid(pending.token.untrusted_kid())
                .await?;
            if let Some(result) = verify_pending(&pending, &refreshed) {
                return result.map(|key| self.finish(pending, &key))?;
            }
            return Err(key_not_found(&pending, &refreshed));
        }
        Err(key_not_found(&pending, &keys))
    }

    /// Validates `token` if that needs no waiting, with the result
    /// [`validate`](Self::validate) would return.
    ///
    /// Returns `None` when the issuer's keys must be fetched first: a `kid`
    /// the held set lacks, while the source would fetch for it. For callers
    /// that try the in-memory path before they box a future.
    ///
    /// # Errors
    ///
    /// As for [`validate`](Self::validate), inside the `Some`.
    pub fn validate_now(&self, token: &str) -> Option<Result<VerifiedToken, JwtError>> {
        let pending = match self.start(token) {
            Ok(Start::Cached(verified)) => return Some(Ok(verified)),
            Ok(Start::Pending(pending)) => pending,
            Err(error) => return Some(Err(error)),
        };
        let source = &self.issuers[pending.issuer].keys;
        let keys = match source.current() {
            Ok(keys) => keys,
            Err(error) => return Some(Err(error)),
        };
        if let Some(result) = verify_pending(&pending, &keys) {
            return Some(result.and_then(|key| self.finish(pending, &key)));
        }
        if source.can_refresh() && source.fetches_for_unknown_kid(pending.token.untrusted_kid()) {
            return None;
        }
        Some(Err(key_not_found(&pending, &keys)))
    }

    /// Validates `token` with the keys the issuer's source holds now, never
    /// waiting for a refresh: for static keys, or where blocking is not an
    /// option. An unknown `kid` is [`JwtError::KeyNotFound`] at once.
    pub fn validate_sync(&self, token: &str) -> Result<VerifiedToken, JwtError> {
        let pending = match self.start(token)? {
            Start::Cached(verified) => return Ok(verified),
            Start::Pending(pending) => pending,
        };
        let keys = self.issuers[pending.issuer].keys.current()?;
        match verify_pending(&pending, &keys) {
            Some(result) => result.and_then(|key| self.finish(pending, &key)),
            None => Err(key_not_found(&pending, &keys)),
        }
    }

    /// Validates `token` against an explicit key set instead of the issuer's
    /// source (useful for checking a token against a recorded JWKS).
    pub fn validate_with_keys(
        &self,
        token: &str,
        keys: &KeySet,
    ) -> Result<VerifiedToken, JwtError> {
        let pending = match self.start_uncached(token)? {
            Start::Cached(verified) => return Ok(verified),
            Start::Pending(pending) => pending,
        };
        match verify_pending(&pending, keys) {
            Some(result) => result.and_then(|key| self.finish(pending, &key)),
            None => Err(key_not_found(&pending, keys)),
        }
    }

    /// Returns the configured issuers.
    pub fn issuers(&self) -> &[IssuerConfig] {
        &self.issuers
    }

    fn now(&self) -> f64 {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |elapsed| elapsed.as_secs_f64())
    }

    fn start<'t>(&self, token: &'t str) -> Result<Start<'t>, JwtError> {
        if let Some(cache) = &self.cache
            && let Some(verified) = cache.get(token, self.now(), |issuer, fingerprint| {
                self.issuers[issuer]
                    .keys
                    .current()
                    .is_ok_and(|keys| keys.contains(fingerprint))
            })
        {
            return Ok(Start::Cached(verified));
        }
        let mut start = self.start_uncached(token)?;
        if let Start::Pending(pending) = &mut start {
            pending.cacheable = self.cache.is_some();
        }
        Ok(start)
    }

    fn start_uncached<'t>(&self, text: &'t str) -> Result<Start<'t>, JwtError> {
        let token = UnverifiedToken::parse_with_max(text, self.max_token_bytes)?;

        let issuer = if self.issuers.len() == 1 {
            0
        } else {
            let iss = token.untrusted_issuer().ok_or(JwtError::IssuerMismatch)?;
            self.issuers
                .iter()
                .position(|issuer| issuer.may_match(iss))
                .ok_or(JwtError::IssuerMismatch)?
        };

        let settings = &self.issuers[issuer].settings;
        let alg = token
            .untrusted_alg()
            .ok_or(JwtError::AlgNotAllowed { alg: None })?;
        if !settings.algorithms.contains(&alg) {
            return Err(JwtError::AlgNotAllowed { alg: Some(alg) });
        }
        Ok(Start::Pending(Pending {
            text,
            token,
            issuer,
            alg,
            cacheable: false,
        }))
    }

    fn finish(&self, pending: Pending<'_>, key: &VerifyingKey) -> Result<VerifiedToken, JwtError> {
        let issuer = &self.issuers[pending.issuer];
        let lifetime = claims::check(
            pending.token.claims(),
            pending.token.header_typ(),
            issuer,
            self.now(),
        )?;

        let (header, claims) = pending.token.into_parts();
        let principal = profile::principal(&claims, header.kid(), lifetime.exp, &issuer.settings);
        let verified = VerifiedToken(Arc::new(VerifiedInner {
            header,
            claims,
            alg: pending.alg,
            key_fingerprint: key.fingerprint(),
            principal,
        }));

        if let (Some(cache), true) = (&self.cache, pending.cacheable) {
            cache.insert(
                pending.text,
                CacheEntry {
                    token: verified.clone(),
                    issuer: pending.issuer,
                    fingerprint: key.fingerprint(),
                    valid_until: lifetime.valid_until,
                    ttl: Duration::ZERO,
                },
                self.now(),
            );
        }
        Ok(verified)
    }
}

/// Verifies a pending token with the candidate keys of `keys`. `None` when
/// no key is a candidate (the caller may refresh and try again).
fn verify_pending(
    pending: &Pending<'_>,
    keys: &KeySet,
) -> Option<Result<Arc<VerifyingKey>, JwtError>> {
    verify_with(
        keys,
        pending.token.untrusted_kid(),
        pending.alg,
        pending.token.signing_input(),
        pending.token.signature(),
    )
}

/// Selects the candidate keys for `kid` and `alg` and verifies the
/// signature. `None` when no key is a candidate.
pub(crate) fn verify_with(
    keys: &KeySet,
    kid: Option<&str>,
    alg: Algorithm,
    message: &[u8],
    signature: &[u8],
) -> Option<Result<Arc<VerifyingKey>, JwtError>> {
    let mut candidates = keys.candidates(kid, alg);
    let first = candidates.next()?;
    let rest: Vec<&Arc<VerifyingKey>> = candidates.take(MAX_CANDIDATE_KEYS).collect();
    // Without a kid the token cannot say which key it means; with one, a
    // handful of keys sharing it (a rotation mistake) are all tried.
    if !rest.is_empty() && (kid.is_none() || rest.len() >= MAX_CANDIDATE_KEYS) {
        return Some(Err(JwtError::KeyAmbiguous {
            candidates: 1 + rest.len(),
        }));
    }
    for key in std::iter::once(first).chain(rest) {
        if key.verify(alg, message, signature) {
            return Some(Ok(Arc::clone(key)));
        }
    }
    Some(Err(JwtError::SignatureInvalid))
}

fn key_not_found(pending: &Pending<'_>, keys: &KeySet) -> JwtError {
    let kid = pending.token.untrusted_kid();
    JwtError::key_not_found(kid, keys.skip_reason_for(kid))
}
