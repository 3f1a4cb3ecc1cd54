//! Per-issuer validation settings.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{Algorithm, JwtError, KeySource, Profile};

/// Default clock leeway for `exp`, `nbf` and `iat`, in seconds.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 60;
/// Largest leeway accepted, in seconds.
pub const MAX_LEEWAY_SECONDS: u64 = 300;
/// Placeholder in an Entra multi-tenant issuer, replaced by the token's `tid`.
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// The data part of an issuer's configuration, loadable from a config file.
///
/// Defaults are the secure choice: RS256 only, `exp` and `sub` required,
/// 60 s leeway, no audience configured (so a token carrying `aud` is
/// rejected until the service names its own audience).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IssuerSettings {
    /// The exact `iss` value, compared byte for byte. For Entra multi-tenant
    /// apps it may contain `{tenantid}`; then `allowed_tenants` must list
    /// the tenants.
    pub issuer: String,
    /// Accepted audiences; a token must name at least one. Empty: the token
    /// must not carry `aud` at all.
    pub audiences: Vec<String>,
    /// Algorithms this issuer signs with. Default `[RS256]`.
    pub algorithms: Vec<Algorithm>,
    /// Provider preset for claim rules and role mapping.
    pub profile: Profile,
    /// Clock leeway in seconds, at most 300. Default 60.
    pub leeway_seconds: u64,
    /// Rejects tokens without `exp`. Default `true`.
    pub require_expiration: bool,
    /// Rejects tokens without a non-empty string `sub`. Default `true`.
    pub require_subject: bool,
    /// Rejects tokens whose `iat` is older than this many seconds.
    pub max_age_seconds: Option<u64>,
    /// Accepted header `typ` values (compared ignoring ASCII case and an
    /// `application/` prefix), such as `at+jwt`. Empty: any or none.
    pub header_types: Vec<String>,
    /// Required payload `typ` claim (Keycloak: `Bearer`). The Keycloak
    /// profile requires `Bearer` when this is unset.
    pub token_type: Option<String>,
    /// Required `azp` (authorized party) value.
    pub authorized_party: Option<String>,
    /// Client ids whose roles are mapped (Keycloak `resource_access`), or
    /// accepted in `client_id` (Cognito access tokens carry no `aud`).
    pub client_ids: Vec<String>,
    /// Entra tenants accepted by a `{tenantid}` issuer.
    pub allowed_tenants: Vec<String>,
    /// Claims that must be present, with any value.
    pub required_claims: Vec<String>,
    /// Claims that must be present with exactly this JSON value.
    pub required_claim_values: BTreeMap<String, Value>,
    /// When the token has no `aud`, compare this claim against the
    /// audiences instead (Cognito: `client_id`).
    pub audience_claim_fallback: Option<String>,
}

impl Default for IssuerSettings {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            audiences: Vec::new(),
            algorithms: vec![Algorithm::RS256],
            profile: Profile::Generic,
            leeway_seconds: DEFAULT_LEEWAY_SECONDS,
            require_expiration: true,
            require_subject: true,
            max_age_seconds: None,
            header_types: Vec::new(),
            token_type: None,
            authorized_party: None,
            client_ids: Vec::new(),
            allowed_tenants: Vec::new(),
            required_claims: Vec::new(),
            required_claim_values: BTreeMap::new(),
            audience_claim_fallback: None,
        }
    }
}

/// A custom claim check; return `false` to reject the token with
/// [`JwtError::ClaimMismatch`] naming the check.
pub type ClaimCheckFn = dyn Fn(&Map<String, Value>) -> bool + Send + Sync;

#[derive(Clone)]
pub(crate) struct NamedCheck {
    pub(crate) name: String,
    pub(crate) check: Arc<ClaimCheckFn>,
}

impl fmt::Debug for NamedCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// One trusted issuer: its settings and where its keys come from.
///
/// ```
/// use ddf_jwt::{Algorithm, IssuerConfig, Profile, StaticKeySource};
///
/// let keys = StaticKeySource::from_hmac_secret(None, &[1_u8; 32], &[Algorithm::HS256])?;
/// let issuer = IssuerConfig::new("https://sso.example.test/realms/demo", keys)
///     .audience("orders-api")
///     .algorithms([Algorithm::HS256])
///     .profile(Profile::Keycloak)
///     .client_id("orders-api");
/// assert_eq!(issuer.settings().audiences, ["orders-api"]);
/// # Ok::<(), ddf_jwt::JwtError>(())
/// ```
#[derive(Debug, Clone)]
pub struct IssuerConfig {
    pub(crate) settings: IssuerSettings,
    pub(crate) keys: Arc<dyn KeySource>,
    pub(crate) checks: Vec<NamedCheck>,
}

impl IssuerConfig {
    /// Creates the configuration of `issuer` with default settings.
    pub fn new(issuer: impl Into<String>, keys: impl KeySource) -> Self {
        Self::with_shared_keys(issuer, Arc::new(keys))
    }

    /// Creates the configuration of `issuer` with a key source shared with
    /// other issuers or components.
    pub fn with_shared_keys(issuer: impl Into<String>, keys: Arc<dyn KeySource>) -> Self {
        Self::from_settings(
            IssuerSettings {
                issuer: issuer.into(),
                ..IssuerSettings::default()
            },
            keys,
        )
    }

    /// Creates the configuration from loaded settings.
    pub fn from_settings(settings: IssuerSettings, keys: Arc<dyn KeySource>) -> Self {
        Self {
            settings,
            keys,
            checks: Vec::new(),
        }
    }

    /// Returns the settings.
    pub fn settings(&self) -> &IssuerSettings {
        &self.settings
    }

    /// Returns the key source.
    pub fn key_source(&self) -> &Arc<dyn KeySource> {
        &self.keys
    }

    /// Adds an accepted audience.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.settings.audiences.push(audience.into());
        self
    }

    /// Replaces the algorithm allow-list.
    #[must_use]
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.settings.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Sets the provider profile.
    #[must_use]
    pub fn profile(mut self, profile: Profile) -> Self {
        self.settings.profile = profile;
        self
    }

    /// Sets the clock leeway in seconds (at most 300).
    #[must_use]
    pub fn leeway_seconds(mut self, seconds: u64) -> Self {
        self.settings.leeway_seconds = seconds;
        self
    }

    /// Sets whether `exp` is required.
    ///
    /// **Warning:** a token without `exp` never expires; keep the default
    /// (`true`) for access tokens.
    #[must_use]
    pub fn require_expiration(mut self, required: bool) -> Self {
        self.settings.require_expiration = required;
        self
    }

    /// Sets whether a non-empty `sub` is required (default `true`).
    #[must_use]
    pub fn require_subject(mut self, required: bool) -> Self {
        self.settings.require_subject = required;
        self
    }

    /// Rejects tokens issued (`iat`) more than `seconds` ago.
    #[must_use]
    pub fn max_age_seconds(mut self, seconds: u64) -> Self {
        self.settings.max_age_seconds = Some(seconds);
        self
    }

    /// Adds an accepted header `typ`, such as `at+jwt`.
    #[must_use]
    pub fn header_type(mut self, typ: impl Into<String>) -> Self {
        self.settings.header_types.push(typ.into());
        self
    }

    /// Requires the payload `typ` claim to equal `typ` (Keycloak: `Bearer`).
    #[must_use]
    pub fn token_type(mut self, typ: impl Into<String>) -> Self {
        self.settings.token_type = Some(typ.into());
        self
    }

    /// Requires `azp` to equal `client`.
    #[must_use]
    pub fn authorized_party(mut self, client: impl Into<String>) -> Self {
        self.settings.authorized_party = Some(client.into());
        self
    }

    /// Adds a client id whose roles are mapped (Keycloak) or that is accepted
    /// in `client_id` (Cognito).
    #[must_use]
    pub fn client_id(mut self, client: impl Into<String>) -> Self {
        self.settings.client_ids.push(client.into());
        self
    }

    /// Adds an Entra tenant accepted by a `{tenantid}` issuer.
    #[must_use]
    pub fn allowed_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.settings.allowed_tenants.push(tenant.into());
        self
    }

    /// Requires `claim` to be present.
    #[must_use]
    pub fn required_claim(mut self, claim: impl Into<String>) -> Self {
        self.settings.required_claims.push(claim.into());
        self
    }

    /// Requires `claim` to be present with exactly `value`.
    #[must_use]
    pub fn required_claim_value(
        mut self,
        claim: impl Into<String>,
        value: impl Into<Value>,
    ) -> Self {
        self.settings
            .required_claim_values
            .insert(claim.into(), value.into());
        self
    }

    /// Compares `claim` against the audiences when the token has no `aud`.
    #[must_use]
    pub fn audience_claim_fallback(mut self, claim: impl Into<String>) -> Self {
        self.settings.audience_claim_fallback = Some(claim.into());
        self
    }

    /// Adds a custom check that runs after every built-in rule passed.
    #[must_use]
    pub fn check(
        mut self,
        name: impl Into<String>,
        check: impl Fn(&Map<String, Value>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.checks.push(NamedCheck {
            name: name.into(),
            check: Arc::new(check),
        });
        self
    }

    /// Checks the settings for contradictions.
    pub(crate) fn validate(&self) -> Result<(), JwtError> {
        let settings = &self.settings;
        if settings.issuer.is_empty() {
            return Err(JwtError::config(
                "issuer is empty; set the exact `iss` value",
            ));
        }
        if settings.algorithms.is_empty() {
            return Err(JwtError::config(format!(
                "issuer {:?} allows no algorithm; list at least one, such as RS256",
                settings.issuer
            )));
        }
        if settings.leeway_seconds > MAX_LEEWAY_SECONDS {
            return Err(JwtError::config(format!(
                "leeway {} s is above the maximum of {MAX_LEEWAY_SECONDS} s",
                settings.leeway_seconds
            )));
        }
        if settings.issuer.contains(TENANT_PLACEHOLDER) && settings.allowed_tenants.is_empty() {
            return Err(JwtError::config(format!(
                "issuer {:?} has a {TENANT_PLACEHOLDER} placeholder but no allowed tenants; list them",
                settings.issuer
            )));
        }
        Ok(())
    }

    /// Returns whether the unverified `iss` may belong to this issuer.
    pub(crate) fn may_match(&self, iss: &str) -> bool {
        match self.settings.issuer.split_once(TENANT_PLACEHOLDER) {
            None => self.settings.issuer == iss,
            Some((prefix, suffix)) => {
                iss.len() > prefix.len() + suffix.len()
                    && iss.starts_with(prefix)
                    && iss.ends_with(suffix)
            }
        }
    }
}
