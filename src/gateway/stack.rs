//! Building every component of the gateway from its configuration.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use ddf_apikey::{
    ApiKeyErrorKind, ApiKeyVerifier, KeyRecord, KeyStore, MemoryKeyStore, RedisKeyStore,
    RedisKeyStoreConfig,
};
use ddf_jwt::{DiscoveryConfig, IssuerConfig, RemoteJwks, Validator};
use ddf_rbac::{Clock, Policy, SystemClock};
use ddf_session::{MemoryStore, RedisStore, SessionKey, SessionKeys, SessionManager, SessionStore};
use ddf_tower::{
    AuthLayer, BruteForceGuard, CredentialConfig, CredentialKind, MemoryRateLimiter,
    RateLimitConfig, RateLimitLayer, RedisRateLimiter, RequirePermissionLayer,
    SessionAuthenticator,
};

use super::GatewayError;
use super::config::{GatewayConfig, IssuerEntry, RedisSection};
use super::dev::{DEV_ROLES, DevIssuer};

/// A ready-to-use token and API key of the development issuer.
#[derive(Clone)]
pub struct DevCredential {
    /// The role both credentials carry.
    pub role: &'static str,
    /// The subject of the token and the owner of the key.
    pub subject: String,
    /// A signed access token.
    pub token: String,
    /// An API key (32 hex characters).
    pub api_key: String,
}

impl fmt::Debug for DevCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevCredential")
            .field("role", &self.role)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Every component of the gateway, built from a [`GatewayConfig`]; the
/// framework-specific code only wires its layers and handlers.
pub struct Stack {
    config: GatewayConfig,
    validator: Arc<Validator>,
    api_keys: ApiKeyVerifier,
    sessions: SessionAuthenticator,
    policy: Policy,
    guard: BruteForceGuard,
    per_client: RateLimitLayer,
    per_principal: RateLimitLayer,
    remote_keys: Vec<(String, RemoteJwks)>,
    redis: bool,
    dev: Option<DevIssuer>,
    dev_credentials: Vec<DevCredential>,
}

impl fmt::Debug for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stack")
            .field("issuers", &self.issuer_urls())
            .field("redis", &self.redis)
            .field("dev_issuer", &self.dev.as_ref().map(DevIssuer::url))
            .finish_non_exhaustive()
    }
}

impl Stack {
    /// Builds the stack. Starts the development issuer when no issuer is
    /// configured, fetches each issuer's keys once (a failure is logged
    /// and retried in the background), and connects to Redis lazily.
    ///
    /// # Errors
    ///
    /// [`GatewayError`] for invalid settings or keys.
    pub async fn build(mut config: GatewayConfig) -> Result<Self, GatewayError> {
        let dev = if config.uses_dev_issuer() {
            let dev = DevIssuer::start(&config.dev_issuer).await?;
            config.issuers = vec![dev.issuer_entry()];
            Some(dev)
        } else {
            None
        };

        let mut builder = Validator::builder();
        let mut remote_keys = Vec::new();
        for entry in &config.issuers {
            let keys = remote_jwks(entry)?;
            if let Err(error) = keys.refresh().await {
                tracing::warn!(
                    issuer = %entry.issuer,
                    reason = error.kind().as_str(),
                    "first JWKS fetch failed; retrying in the background"
                );
            }
            builder = builder.issuer(issuer_config(entry, keys.clone()));
            remote_keys.push((entry.issuer.clone(), keys));
        }
        let validator = builder
            .build()
            .map_err(|error| GatewayError::build("JWT validator", error))?;

        let redis = config
            .redis
            .as_ref()
            .filter(|redis| !redis.url.is_empty())
            .cloned();
        let (key_store, session_store, per_client, per_principal) = match &redis {
            Some(redis) => redis_backends(redis, &config)?,
            None => memory_backends(&config)?,
        };

        let api_keys = ApiKeyVerifier::new(key_store);
        load_api_keys(&api_keys, &config).await?;

        let policy = match &config.policy {
            Some(spec) => {
                Policy::from_spec(spec).map_err(|error| GatewayError::build("policy", error))?
            }
            None => Policy::reference(),
        };
        let manager = SessionManager::new(
            config.sessions.lifetime.clone(),
            session_store,
            Arc::new(SystemClock),
        )
        .map_err(|error| GatewayError::build("session manager", error))?;
        let sessions = SessionAuthenticator::new(manager, &config.sessions.cookie)
            .map_err(|error| GatewayError::build("session cookie", error))?;
        let guard = BruteForceGuard::new(&config.brute_force)
            .map_err(|error| GatewayError::build("brute-force guard", error))?;

        let mut dev_credentials = Vec::new();
        if let Some(dev) = &dev {
            let now = SystemClock.unix_seconds();
            for role in DEV_ROLES {
                let subject = format!("dev-{role}");
                let token = dev.token(&subject, &[role])?;
                let (key, _) = api_keys
                    .issue(&format!("dev-{role}-{now}"), &subject, [role])
                    .await
                    .map_err(|error| GatewayError::build("development API key", error))?;
                dev_credentials.push(DevCredential {
                    role,
                    subject,
                    token,
                    api_key: key.expose_secret().to_owned(),
                });
            }
        }

        Ok(Self {
            validator: Arc::new(validator),
            api_keys,
            sessions,
            policy,
            guard,
            per_client: RateLimitLayer::new(per_client),
            per_principal: RateLimitLayer::new(per_principal),
            remote_keys,
            redis: redis.is_some(),
            dev,
            dev_credentials,
            config,
        })
    }

    /// Returns the configuration the stack was built from, with the
    /// development issuer filled in when it runs.
    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    /// Returns the trusted issuer URLs.
    pub fn issuer_urls(&self) -> Vec<&str> {
        self.config
            .issuers
            .iter()
            .map(|entry| entry.issuer.as_str())
            .collect()
    }

    /// Returns the key ids each issuer's JWKS holds now.
    pub fn key_ids(&self) -> Vec<(String, Vec<String>)> {
        self.remote_keys
            .iter()
            .map(|(issuer, keys)| (issuer.clone(), keys.status().key_ids))
            .collect()
    }

    /// Returns whether sessions, API keys and rate limits live in Redis.
    pub fn uses_redis(&self) -> bool {
        self.redis
    }

    /// Returns the development issuer, when it runs.
    pub fn dev_issuer(&self) -> Option<&DevIssuer> {
        self.dev.as_ref()
    }

    /// Returns the development credentials to print (empty with a real
    /// issuer).
    pub fn dev_credentials(&self) -> &[DevCredential] {
        &self.dev_credentials
    }

    /// Returns the API-key verifier (for revoking a user's keys).
    pub fn api_keys(&self) -> &ApiKeyVerifier {
        &self.api_keys
    }

    /// Returns the session manager.
    pub fn sessions(&self) -> &SessionManager {
        self.sessions.manager()
    }

    /// Returns the session authenticator, whose cookie writer sets and
    /// clears the session cookie.
    pub fn session_authenticator(&self) -> &SessionAuthenticator {
        &self.sessions
    }

    /// Returns the policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Returns the brute-force guard shared by every authentication layer.
    pub fn brute_force(&self) -> &BruteForceGuard {
        &self.guard
    }

    /// Authentication with every credential: bearer token, API key and
    /// session cookie.
    ///
    /// # Errors
    ///
    /// [`GatewayError::Build`] for an invalid credential configuration.
    pub fn auth_layer(&self) -> Result<AuthLayer, GatewayError> {
        self.layer(None)
    }

    /// Authentication for logging in: a bearer token or an API key only,
    /// since a session is what the login creates.
    ///
    /// # Errors
    ///
    /// As [`auth_layer`](Self::auth_layer).
    pub fn login_layer(&self) -> Result<AuthLayer, GatewayError> {
        self.layer(Some(&[CredentialKind::Bearer, CredentialKind::ApiKey]))
    }

    /// Authentication by session cookie only, for ending the session.
    ///
    /// # Errors
    ///
    /// As [`auth_layer`](Self::auth_layer).
    pub fn session_layer(&self) -> Result<AuthLayer, GatewayError> {
        self.layer(Some(&[CredentialKind::SessionCookie]))
    }

    fn layer(&self, sources: Option<&[CredentialKind]>) -> Result<AuthLayer, GatewayError> {
        let mut credentials: CredentialConfig = self.config.credentials.clone();
        credentials
            .session_cookie
            .clone_from(&self.config.sessions.cookie.name);
        let mut builder = AuthLayer::builder()
            .brute_force(self.guard.clone())
            .authorizer(self.policy.clone());
        let all = sources.is_none();
        let wants = |kind: CredentialKind| sources.is_none_or(|sources| sources.contains(&kind));
        if wants(CredentialKind::Bearer) {
            builder = builder.bearer(Arc::clone(&self.validator));
        }
        if wants(CredentialKind::ApiKey) {
            builder = builder.api_key(self.api_keys.clone());
        }
        if wants(CredentialKind::SessionCookie) {
            builder = builder.session(self.sessions.clone());
        }
        if !all {
            credentials.sources = sources.map(<[CredentialKind]>::to_vec);
        }
        builder
            .credentials(credentials)
            .build()
            .map_err(|error| GatewayError::build("authentication layer", error))
    }

    /// Requires `permission` under the configured policy.
    pub fn require(&self, permission: &'static str) -> RequirePermissionLayer {
        RequirePermissionLayer::new(permission, self.policy.clone())
    }

    /// The per-address rate limit, placed before authentication. Allowed
    /// responses carry only the per-principal `RateLimit` headers, which
    /// name the budget a client actually spends.
    pub fn per_client_rate_limit(&self) -> RateLimitLayer {
        self.per_client.clone().headers_on_success(false)
    }

    /// The per-principal rate limit, placed after authentication.
    pub fn per_principal_rate_limit(&self) -> RateLimitLayer {
        self.per_principal.clone()
    }
}

/// Builds the remote key source of one issuer.
fn remote_jwks(entry: &IssuerEntry) -> Result<RemoteJwks, GatewayError> {
    let mut config = entry.jwks.clone().unwrap_or_default();
    let fetched_from = entry
        .jwks_uri
        .as_deref()
        .or(entry.discovery_base_url.as_deref())
        .unwrap_or(&entry.issuer);
    // Plain http only to a loopback IP literal, as a provider started by a
    // test (or the development issuer) is; never to a host name.
    config.danger_allow_http_loopback =
        is_http_loopback(&entry.issuer) && is_http_loopback(fetched_from);
    let builder = if let Some(uri) = &entry.jwks_uri {
        RemoteJwks::builder(uri.clone())
    } else {
        let mut discovery = DiscoveryConfig::new(entry.issuer.clone());
        if let Some(base) = &entry.discovery_base_url {
            discovery = discovery.base_url(base.clone());
        }
        RemoteJwks::from_discovery(discovery)
    };
    builder
        .config(config)
        .build()
        .map_err(|error| GatewayError::build("JWKS source", error))
}

/// Returns whether `url` is `http://` to a loopback IP literal.
fn is_http_loopback(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host)
    };
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn issuer_config(entry: &IssuerEntry, keys: RemoteJwks) -> IssuerConfig {
    let mut config = IssuerConfig::new(entry.issuer.clone(), keys)
        .algorithms(entry.algorithms.iter().copied())
        .profile(entry.profile);
    for audience in &entry.audiences {
        config = config.audience(audience.clone());
    }
    for client in &entry.client_ids {
        config = config.client_id(client.clone());
    }
    if let Some(leeway) = entry.leeway_seconds {
        config = config.leeway_seconds(leeway);
    }
    config
}

type Backends = (
    Arc<dyn KeyStore>,
    Arc<dyn SessionStore>,
    Arc<dyn ddf_tower::RateLimiter>,
    Arc<dyn ddf_tower::RateLimiter>,
);

fn memory_backends(config: &GatewayConfig) -> Result<Backends, GatewayError> {
    let limiter = |quota: &RateLimitConfig| {
        MemoryRateLimiter::new(quota.clone())
            .map(|limiter| Arc::new(limiter) as Arc<dyn ddf_tower::RateLimiter>)
            .map_err(|error| GatewayError::build("rate limiter", error))
    };
    Ok((
        Arc::new(MemoryKeyStore::new()),
        Arc::new(MemoryStore::new()),
        limiter(&config.rate_limits.per_client)?,
        limiter(&config.rate_limits.per_principal)?,
    ))
}

fn session_key(text: Option<&str>, name: &str) -> Result<SessionKey, GatewayError> {
    if let Some(text) = text {
        return SessionKey::from_base64(text)
            .map_err(|error| GatewayError::build("session encryption key", error));
    }
    tracing::warn!(
        setting = name,
        "no session key configured; generated one, so sessions end when the gateway restarts"
    );
    SessionKey::generate().map_err(|error| GatewayError::build("session key", error))
}

fn redis_backends(redis: &RedisSection, config: &GatewayConfig) -> Result<Backends, GatewayError> {
    let prefix = redis.key_prefix.as_deref().unwrap_or("ddf-gateway");
    let encryption = session_key(redis.session_key.as_deref(), "redis.session_key")?;
    let index = session_key(
        redis.session_index_key.as_deref(),
        "redis.session_index_key",
    )?;
    let keys = SessionKeys::new("k1", &encryption)
        .map_err(|error| GatewayError::build("session keys", error))?;
    let store_config = redis
        .sessions
        .clone()
        .unwrap_or_default()
        .with_key_prefix(format!("{prefix}:session"));
    let session_store = RedisStore::connect(&redis.url, &store_config, keys, &index)
        .map_err(|error| GatewayError::build("Redis session store", error))?;

    let key_store = RedisKeyStore::connect(&RedisKeyStoreConfig {
        url: redis.url.clone(),
        prefix: format!("{prefix}:apikey"),
        ..RedisKeyStoreConfig::default()
    })
    .map_err(|error| GatewayError::build("Redis API-key store", error))?;

    let client = redis::Client::open(redis.url.as_str())
        .map_err(|_| GatewayError::Config("invalid Redis URL".to_owned()))?;
    let limiter = |name: &str, quota: &RateLimitConfig| {
        RedisRateLimiter::new(
            client.clone(),
            format!("{prefix}:rate:{name}"),
            quota.clone(),
        )
        .map(|limiter| Arc::new(limiter) as Arc<dyn ddf_tower::RateLimiter>)
        .map_err(|error| GatewayError::build("rate limiter", error))
    };
    Ok((
        Arc::new(key_store),
        Arc::new(session_store),
        limiter("client", &config.rate_limits.per_client)?,
        limiter("principal", &config.rate_limits.per_principal)?,
    ))
}

/// Stores the configured API keys. A record that already exists (in Redis,
/// from an earlier start) is kept as it is, so a revocation survives.
async fn load_api_keys(
    verifier: &ApiKeyVerifier,
    config: &GatewayConfig,
) -> Result<(), GatewayError> {
    let now = SystemClock.unix_seconds();
    for entry in &config.api_keys {
        let owner = entry.owner.clone().unwrap_or_else(|| entry.id.clone());
        let mut record = KeyRecord::new(
            entry.id.clone(),
            owner,
            entry.digest,
            entry.created.unwrap_or(now),
        )
        .with_roles(entry.roles.iter().cloned());
        record.not_before = entry.not_before;
        record.expires = entry.expires;
        record.revoked_at = entry.revoked_at;
        record.description.clone_from(&entry.description);
        match verifier.store().insert(record).await {
            Ok(()) => {}
            Err(error) if error.kind() == ApiKeyErrorKind::Conflict => {
                tracing::debug!(api_key.id = %entry.id, "API key already stored; kept");
            }
            Err(error) => return Err(GatewayError::build("API-key store", error)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_loopback_detection() {
        assert!(is_http_loopback("http://127.0.0.1:8180"));
        assert!(is_http_loopback("http://127.0.0.1:8180/realms/llm"));
        assert!(is_http_loopback("http://[::1]:8180/x"));
        assert!(!is_http_loopback("http://localhost:8180"));
        assert!(!is_http_loopback("https://127.0.0.1:8180"));
        assert!(!is_http_loopback("http://10.0.0.1:8180"));
        assert!(!is_http_loopback("http://127.0.0.1.example.com/"));
    }
}
