//! Building and signing tokens.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::{IssueError, Keyring};

/// Default token lifetime: 10 minutes.
pub const DEFAULT_LIFETIME_SECS: u64 = 600;
/// Default maximum token lifetime: 1 hour.
pub const DEFAULT_MAX_LIFETIME_SECS: u64 = 3600;
/// Clock leeway that verifiers are assumed to allow past `exp`: 60 seconds.
pub const VERIFIER_LEEWAY_SECS: u64 = 60;
/// Claims that the builder sets itself and that extra claims may not carry.
pub const REGISTERED_CLAIMS: [&str; 8] =
    ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id"];

/// Issuer-wide token settings with secure defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TokenPolicy {
    /// The `iss` claim: the issuer URL verifiers compare exactly.
    pub issuer: String,
    /// Default `aud` values; a token needs at least one audience.
    #[serde(default)]
    pub audience: Vec<String>,
    /// Lifetime used when the builder sets none (default 10 minutes). With
    /// `None`, every token must set its own expiry.
    #[serde(default = "default_lifetime")]
    pub default_lifetime_secs: Option<u64>,
    /// Longest lifetime a token may have (default 1 hour).
    #[serde(default = "default_max_lifetime")]
    pub max_lifetime_secs: u64,
    /// The `typ` header (default `at+jwt`, the JWT access-token type of RFC 9068).
    #[serde(default = "default_typ")]
    pub typ: String,
    /// Default `client_id` claim (RFC 9068, section 2.2), if any.
    #[serde(default)]
    pub client_id: Option<String>,
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "serde default functions must return the field type"
)]
fn default_lifetime() -> Option<u64> {
    Some(DEFAULT_LIFETIME_SECS)
}

fn default_max_lifetime() -> u64 {
    DEFAULT_MAX_LIFETIME_SECS
}

fn default_typ() -> String {
    "at+jwt".to_owned()
}

impl TokenPolicy {
    /// Returns the default policy for `issuer`: 10-minute tokens, at most 1
    /// hour, `typ: at+jwt`, no default audience.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: Vec::new(),
            default_lifetime_secs: default_lifetime(),
            max_lifetime_secs: DEFAULT_MAX_LIFETIME_SECS,
            typ: default_typ(),
            client_id: None,
        }
    }

    /// Sets the default audience.
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = vec![audience.into()];
        self
    }

    /// Sets the default lifetime; `None` makes every token set its own expiry.
    #[must_use]
    pub fn with_default_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.default_lifetime_secs = lifetime.map(|lifetime| lifetime.as_secs());
        self
    }

    /// Sets the maximum lifetime.
    #[must_use]
    pub fn with_max_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime_secs = lifetime.as_secs();
        self
    }

    /// Sets the `typ` header.
    #[must_use]
    pub fn with_typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = typ.into();
        self
    }
}

/// Signs tokens with the active key of a [`Keyring`] under a [`TokenPolicy`].
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    keyring: Arc<Keyring>,
    policy: Arc<TokenPolicy>,
}

impl TokenIssuer {
    /// Creates an issuer after checking the policy against the keyring.
    ///
    /// # Errors
    ///
    /// [`IssueError::ClaimMissing`] for an empty issuer, and
    /// [`IssueError::ConfigInvalid`] if the lifetimes are zero or inverted,
    /// or if a token could outlive its key's publication: the keyring's
    /// `retention_secs` must be at least `max_lifetime_secs` plus
    /// [`VERIFIER_LEEWAY_SECS`].
    pub fn new(keyring: Arc<Keyring>, policy: TokenPolicy) -> Result<Self, IssueError> {
        if policy.issuer.is_empty() {
            return Err(IssueError::ClaimMissing { claim: "iss" });
        }
        let invalid = |reason: String| Err(IssueError::ConfigInvalid { reason });
        if policy.max_lifetime_secs == 0 {
            return invalid("max_lifetime_secs must be greater than zero".to_owned());
        }
        if let Some(default) = policy.default_lifetime_secs
            && (default == 0 || default > policy.max_lifetime_secs)
        {
            return invalid(format!(
                "default_lifetime_secs ({default}) must be between 1 and max_lifetime_secs ({})",
                policy.max_lifetime_secs
            ));
        }
        let needed = policy
            .max_lifetime_secs
            .saturating_add(VERIFIER_LEEWAY_SECS);
        let retention = keyring.settings().retention_secs;
        if retention < needed {
            return invalid(format!(
                "retention_secs ({retention}) is shorter than max_lifetime_secs plus {VERIFIER_LEEWAY_SECS} s of leeway ({needed}): tokens would outlive their key in the JWKS"
            ));
        }
        Ok(Self {
            keyring,
            policy: Arc::new(policy),
        })
    }

    /// Returns the keyring.
    pub fn keyring(&self) -> &Arc<Keyring> {
        &self.keyring
    }

    /// Returns the policy.
    pub fn policy(&self) -> &TokenPolicy {
        &self.policy
    }

    /// Starts a token for `subject` with the policy's defaults.
    pub fn token(&self, subject: impl Into<String>) -> TokenBuilder<'_> {
        TokenBuilder {
            issuer: self,
            subject: subject.into(),
            audience: self.policy.audience.clone(),
            client_id: self.policy.client_id.clone(),
            expiry: None,
            not_before: None,
            extra: None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Expiry {
    Lifetime(u64),
    At(u64),
}

/// One token being built; finish with [`TokenBuilder::sign`].
///
/// ```
/// use std::sync::Arc;
/// use ddf_jwt::issue::{KeySchedule, Keyring, RotationSettings, SigningAlgorithm, SigningKey, TokenIssuer, TokenPolicy};
/// use ddf_rbac::ManualClock;
///
/// let clock = Arc::new(ManualClock::at_unix_seconds(1_800_000_000));
/// let keyring = Arc::new(Keyring::new(RotationSettings::default(), clock));
/// let key = SigningKey::generate(SigningAlgorithm::ES256)?;
/// keyring.insert("k1", key, KeySchedule::active_from(1_800_000_000))?;
///
/// let issuer = TokenIssuer::new(keyring, TokenPolicy::new("https://llm.example.test").with_audience("inference"))?;
/// let token = issuer
///     .token("service-a")
///     .claims(&serde_json::json!({ "roles": ["llm:invoke"] }))?
///     .sign()?;
/// assert_eq!(token.kid(), "k1");
/// assert_eq!(token.expires_at(), 1_800_000_600);
/// assert_eq!(token.as_str().split('.').count(), 3);
/// # Ok::<(), ddf_jwt::issue::IssueError>(())
/// ```
#[derive(Debug)]
#[must_use = "a token is only signed by `sign()`"]
pub struct TokenBuilder<'a> {
    issuer: &'a TokenIssuer,
    subject: String,
    audience: Vec<String>,
    client_id: Option<String>,
    expiry: Option<Expiry>,
    not_before: Option<u64>,
    /// Extra claims as a serialized JSON object with at least one member.
    extra: Option<Vec<u8>>,
}

impl TokenBuilder<'_> {
    /// Replaces the audience with a single value.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = vec![audience.into()];
        self
    }

    /// Adds an audience value.
    pub fn add_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience.push(audience.into());
        self
    }

    /// Sets the `client_id` claim.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Sets the lifetime, counted from the signing time.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.expiry = Some(Expiry::Lifetime(lifetime.as_secs()));
        self
    }

    /// Sets `exp` to an absolute time in Unix seconds.
    pub fn expires_at(mut self, unix_seconds: u64) -> Self {
        self.expiry = Some(Expiry::At(unix_seconds));
        self
    }

    /// Sets `nbf` in Unix seconds (default: the signing time).
    pub fn not_before(mut self, unix_seconds: u64) -> Self {
        self.not_before = Some(unix_seconds);
        self
    }

    /// Sets the extra claims from any type that serializes to a JSON
    /// object, replacing those of an earlier call.
    ///
    /// # Errors
    ///
    /// [`IssueError::ClaimConflict`] if a member uses a name from
    /// [`REGISTERED_CLAIMS`] or appears twice, and
    /// [`IssueError::ClaimInvalid`] if the value does not serialize to a
    /// JSON object.
    pub fn claims<T: Serialize + ?Sized>(mut self, claims: &T) -> Result<Self, IssueError> {
        let json = serde_json::to_vec(claims).map_err(|_| extra_not_object())?;
        check_extra_members(&json)?;
        // `{}` adds nothing; any other object has at least one member.
        self.extra = (json.len() > 2).then_some(json);
        Ok(self)
    }

    /// Signs the token with the keyring's active key.
    ///
    /// # Errors
    ///
    /// [`IssueError::ClaimMissing`] without `sub`, `aud` or an expiry;
    /// [`IssueError::ClaimInvalid`] if `exp` is not after `iat` or `nbf` is
    /// after `exp`; [`IssueError::LifetimeTooLong`] beyond the policy's
    /// maximum; [`IssueError::NoActiveKey`] if no key signs now.
    pub fn sign(self) -> Result<IssuedToken, IssueError> {
        let policy = &self.issuer.policy;
        let keyring = &self.issuer.keyring;
        let now = keyring.clock().unix_seconds();

        if self.subject.is_empty() {
            return Err(IssueError::ClaimMissing { claim: "sub" });
        }
        if self.audience.is_empty() || self.audience.iter().any(String::is_empty) {
            return Err(IssueError::ClaimMissing { claim: "aud" });
        }
        let expires_at = match self.expiry {
            Some(Expiry::At(at)) => at,
            Some(Expiry::Lifetime(secs)) => now.saturating_add(secs),
            None => match policy.default_lifetime_secs {
                Some(secs) => now.saturating_add(secs),
                None => return Err(IssueError::ClaimMissing { claim: "exp" }),
            },
        };
        if expires_at <= now {
            return Err(IssueError::ClaimInvalid {
                claim: "exp".to_owned(),
                reason: "it must be later than the signing time",
            });
        }
        let lifetime = expires_at - now;
        if lifetime > policy.max_lifetime_secs {
            return Err(IssueError::LifetimeTooLong {
                requested_secs: lifetime,
                max_secs: policy.max_lifetime_secs,
            });
        }
        let not_before = self.not_before.unwrap_or(now);
        if not_before >= expires_at {
            return Err(IssueError::ClaimInvalid {
                claim: "nbf".to_owned(),
                reason: "it must be earlier than exp",
            });
        }

        let entry = keyring.active_entry()?;
        let jti = random_jti();
        let header = Header {
            alg: entry.key.algorithm().as_str(),
            typ: &policy.typ,
            kid: &entry.kid,
        };
        let claims = Registered {
            iss: &policy.issuer,
            sub: &self.subject,
            aud: Audience(&self.audience),
            exp: expires_at,
            nbf: not_before,
            iat: now,
            jti: &jti,
            client_id: self.client_id.as_deref(),
        };
        let payload = encode_payload(&claims, self.extra.as_deref())?;
        let header = serde_json::to_vec(&header).map_err(|_| encode_failed())?;

        let mut token = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 400);
        URL_SAFE_NO_PAD.encode_string(&header, &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = entry.key.sign(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);

        Ok(IssuedToken {
            token,
            kid: entry.kid.clone(),
            jti,
            issued_at: now,
            expires_at,
        })
    }
}

/// A signed compact JWS. `Debug` hides the token, which is a bearer credential.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    token: String,
    kid: String,
    jti: String,
    issued_at: u64,
    expires_at: u64,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("kid", &self.kid)
            .field("jti", &self.jti)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl IssuedToken {
    /// Returns the compact token, for an `Authorization: Bearer` header.
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// Returns the compact token as an owned string.
    pub fn into_string(self) -> String {
        self.token
    }

    /// Returns the `kid` of the signing key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Returns the `jti` claim.
    pub fn jti(&self) -> &str {
        &self.jti
    }

    /// Returns the `iat` claim in Unix seconds.
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }

    /// Returns the `exp` claim in Unix seconds.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

#[derive(Serialize)]
struct Registered<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: Audience<'a>,
    exp: u64,
    nbf: u64,
    iat: u64,
    jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
}

/// `aud` as a string for one audience and an array for several (RFC 7519, section 4.1.3).
struct Audience<'a>(&'a [String]);

impl Serialize for Audience<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            [single] => serializer.serialize_str(single),
            many => many.serialize(serializer),
        }
    }
}

fn encode_failed() -> IssueError {
    IssueError::ClaimInvalid {
        claim: "claims".to_owned(),
        reason: "they could not be serialized as JSON",
    }
}

fn extra_not_object() -> IssueError {
    IssueError::ClaimInvalid {
        claim: "extra claims".to_owned(),
        reason: "they must serialize to a JSON object",
    }
}

/// Checks that `json` is one JSON object whose member names are unique and
/// not registered claims.
///
/// Scanning the serialized bytes avoids building a `serde_json::Value`
/// first, and it detects duplicate names, which a `Value` would merge
/// silently.
fn check_extra_members(json: &[u8]) -> Result<(), IssueError> {
    match serde_json::from_slice::<MemberScan>(json) {
        Ok(MemberScan(None)) => Ok(()),
        Ok(MemberScan(Some(claim))) => Err(IssueError::ClaimConflict { claim }),
        Err(_) => Err(extra_not_object()),
    }
}

/// The first conflicting member name of a JSON object, if any.
struct MemberScan(Option<String>);

impl<'de> Deserialize<'de> for MemberScan {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MemberScanVisitor)
    }
}

struct MemberScanVisitor;

impl<'de> serde::de::Visitor<'de> for MemberScanVisitor {
    type Value = MemberScan;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<MemberScan, A::Error> {
        let mut seen: Vec<String> = Vec::new();
        let mut conflict = None;
        // Every member is read, because the deserializer rejects an object
        // that is left half-consumed.
        while let Some(name) = map.next_key::<String>()? {
            map.next_value::<serde::de::IgnoredAny>()?;
            let clashes = REGISTERED_CLAIMS.contains(&name.as_str()) || seen.contains(&name);
            if conflict.is_none() && clashes {
                conflict = Some(name);
            } else {
                seen.push(name);
            }
        }
        Ok(MemberScan(conflict))
    }
}

/// Serializes the registered claims, then appends the extra members inside
/// the same object, which avoids the cost of `#[serde(flatten)]`.
fn encode_payload(claims: &Registered<'_>, extra: Option<&[u8]>) -> Result<Vec<u8>, IssueError> {
    let mut payload = serde_json::to_vec(claims).map_err(|_| encode_failed())?;
    if let Some(extra) = extra {
        // `payload` ends with `}` and `extra` is an object with members.
        payload.pop();
        payload.push(b',');
        payload.extend_from_slice(&extra[1..]);
    }
    Ok(payload)
}

/// Returns 128 random bits, base64url-encoded (22 characters).
///
/// The bits come from `rand`'s thread-local CSPRNG (`ChaCha12`, seeded from
/// the operating system), which costs about 1 µs less per token than a
/// call into aws-lc's DRBG. A `jti` must be unique and unguessable, not a key.
fn random_jti() -> String {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
