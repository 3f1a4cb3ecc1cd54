//! The local development issuer: a generated signing key, its JWKS and
//! discovery document on a loopback port, and tokens for the console.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ddf_jwt::issue::{
    DiscoveryConfig, KeySchedule, Keyring, RotationSettings, SigningAlgorithm, SigningKey,
    TokenIssuer, TokenPolicy,
};
use ddf_jwt::{Algorithm, Profile};
use ddf_rbac::{Clock, SystemClock};
use tokio::task::JoinHandle;

use super::GatewayError;
use super::config::{DevIssuerSection, IssuerEntry};

/// The roles the development issuer prints a token and an API key for.
pub const DEV_ROLES: [&str; 3] = ["admin", "user", "readonly"];

/// A token issuer for local development only.
///
/// It generates an Ed25519 key at start-up, serves the public key at
/// `http://127.0.0.1:<port>/.well-known/jwks.json` (with a discovery
/// document beside it), and signs Keycloak-shaped access tokens
/// (`realm_access.roles`, `typ: Bearer`). The gateway then validates them
/// exactly as it validates a real provider's: by discovery over loopback.
/// The key lives only in memory, so every start invalidates the tokens of
/// the previous run.
#[derive(Debug)]
pub struct DevIssuer {
    url: String,
    audience: String,
    issuer: TokenIssuer,
    lifetime: Duration,
    server: JoinHandle<()>,
}

impl DevIssuer {
    /// Generates the key and starts serving the JWKS on a free loopback port.
    ///
    /// # Errors
    ///
    /// [`GatewayError::Build`] when the key cannot be generated, or
    /// [`GatewayError::Io`] when no port can be bound.
    pub async fn start(section: &DevIssuerSection) -> Result<Self, GatewayError> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);

        let lifetime = Duration::from_secs(section.token_lifetime_secs.max(60));
        let mut rotation = RotationSettings::default();
        // Published keys must outlive the longest token plus leeway.
        rotation.retention_secs = lifetime.as_secs() + 3600;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let now = clock.unix_seconds();
        let keyring = Arc::new(Keyring::new(rotation, clock));
        let key = SigningKey::generate(SigningAlgorithm::EdDSA)
            .map_err(|error| GatewayError::build("development signing key", error))?;
        keyring
            .insert(&format!("dev-{now}"), key, KeySchedule::active_from(now))
            .map_err(|error| GatewayError::build("development keyring", error))?;
        let policy = TokenPolicy::new(url.clone())
            .with_audience(section.audience.clone())
            .with_max_lifetime(lifetime)
            .with_default_lifetime(Some(lifetime));
        let issuer = TokenIssuer::new(Arc::clone(&keyring), policy)
            .map_err(|error| GatewayError::build("development token issuer", error))?;

        let router = ddf_jwt::issue::router(keyring, Some(DiscoveryConfig::new(url.clone())));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "development issuer stopped");
            }
        });
        Ok(Self {
            url,
            audience: section.audience.clone(),
            issuer,
            lifetime,
            server,
        })
    }

    /// Returns the issuer URL (`http://127.0.0.1:<port>`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Returns how long the tokens it signs are valid.
    pub fn token_lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Returns the issuer entry the gateway trusts for it: EdDSA, the
    /// Keycloak profile, found by discovery.
    pub fn issuer_entry(&self) -> IssuerEntry {
        let mut entry = IssuerEntry::new(self.url.clone());
        entry.audiences = vec![self.audience.clone()];
        entry.algorithms = vec![Algorithm::EdDSA];
        entry.profile = Profile::Keycloak;
        entry
    }

    /// Signs an access token for `subject` with realm `roles`.
    ///
    /// # Errors
    ///
    /// [`GatewayError::Build`] when signing fails.
    pub fn token(&self, subject: &str, roles: &[&str]) -> Result<String, GatewayError> {
        let claims = serde_json::json!({
            "typ": "Bearer",
            "azp": "ddf-dev-console",
            "realm_access": { "roles": roles },
        });
        self.issuer
            .token(subject)
            .claims(&claims)
            .and_then(ddf_jwt::issue::TokenBuilder::sign)
            .map(ddf_jwt::issue::IssuedToken::into_string)
            .map_err(|error| GatewayError::build("development token", error))
    }
}

impl Drop for DevIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}
