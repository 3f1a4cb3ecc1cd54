//! `Authenticate` for [`ddf_session::SessionManager`], and the session cookie.

use std::fmt;
use std::time::Duration;

use ddf_rbac::AuthMethod;
use ddf_session::{LoadedSession, SessionErrorKind, SessionId, SessionManager};
use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue};
use serde::Deserialize;

use crate::authenticate::{AuthFuture, AuthOutcome, Authenticate, OutcomeFuture};
use crate::credential::{Credential, is_token_byte};
use crate::error::ConfigError;
use crate::failure::AuthFailure;
use crate::reason::Reason;

/// Settings of the session cookie, deserializable from service
/// configuration. `HttpOnly` and `SameSite=Strict` are always set.
///
/// ```
/// use ddf_tower::SessionCookieConfig;
///
/// let config = SessionCookieConfig::default();
/// assert_eq!(config.name, "ddf_session");
/// assert!(config.secure);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SessionCookieConfig {
    /// Cookie name; must match the name the credential extractor reads.
    pub name: String,
    /// The `Path` attribute.
    pub path: String,
    /// The `Domain` attribute; absent by default, which keeps the cookie on
    /// the exact host that set it.
    pub domain: Option<String>,
    /// Whether to set `Secure`. Leave it on: browsers treat
    /// `http://localhost` as a secure context, so local development works.
    pub secure: bool,
}

impl Default for SessionCookieConfig {
    fn default() -> Self {
        Self {
            name: "ddf_session".to_owned(),
            path: "/".to_owned(),
            domain: None,
            secure: true,
        }
    }
}

/// Writes the `Set-Cookie` values of a session cookie.
///
/// ```
/// use std::time::Duration;
/// use ddf_session::SessionId;
/// use ddf_tower::{SessionCookie, SessionCookieConfig};
///
/// let cookie = SessionCookie::new(&SessionCookieConfig::default())?;
/// let id = SessionId::from_bytes([7; 32]);
/// let value = cookie.set(&id, Duration::from_secs(3600));
/// let text = value.to_str().unwrap();
/// assert!(text.starts_with("ddf_session="));
/// assert!(text.ends_with("; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Strict"));
/// assert_eq!(
///     cookie.clear().to_str().unwrap(),
///     "ddf_session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict"
/// );
/// # Ok::<(), ddf_tower::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct SessionCookie {
    name: Box<str>,
    /// Everything after `Max-Age=N`, starting with `; Path=`.
    attributes: Box<str>,
}

impl fmt::Debug for SessionCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCookie")
            .field("name", &self.name)
            .field("attributes", &self.attributes)
            .finish()
    }
}

impl SessionCookie {
    /// Checks `config` and prepares the attributes.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidCookieName`] or
    /// [`ConfigError::InvalidCookieAttribute`].
    pub fn new(config: &SessionCookieConfig) -> Result<Self, ConfigError> {
        if config.name.is_empty() || !config.name.bytes().all(is_token_byte) {
            return Err(ConfigError::InvalidCookieName {
                name: config.name.clone(),
            });
        }
        let attribute_ok = |value: &str| {
            !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic() && b != b';')
        };
        if !attribute_ok(&config.path) {
            return Err(ConfigError::InvalidCookieAttribute { attribute: "path" });
        }
        let mut attributes = format!("; Path={}", config.path);
        if let Some(domain) = &config.domain {
            if !attribute_ok(domain) {
                return Err(ConfigError::InvalidCookieAttribute {
                    attribute: "domain",
                });
            }
            attributes.push_str("; Domain=");
            attributes.push_str(domain);
        }
        attributes.push_str("; HttpOnly");
        if config.secure {
            attributes.push_str("; Secure");
        }
        attributes.push_str("; SameSite=Strict");
        Ok(Self {
            name: config.name.clone().into_boxed_str(),
            attributes: attributes.into_boxed_str(),
        })
    }

    /// Returns the cookie name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns a `Set-Cookie` value that stores `id` for `max_age`.
    ///
    /// The value is marked sensitive, so `http` debug output redacts it.
    pub fn set(&self, id: &SessionId, max_age: Duration) -> HeaderValue {
        // Whole seconds, rounded up: a session created a moment ago has
        // 3599.9 s left and must read as its 3600 s idle timeout. The
        // store decides expiry; the cookie only has to outlive it.
        let seconds = max_age.as_secs() + u64::from(max_age.subsec_nanos() > 0);
        let text = format!(
            "{}={}; Max-Age={}{}",
            self.name,
            id.expose_cookie_value(),
            seconds,
            self.attributes
        );
        // The name and attributes were checked in `new` and the id is
        // base64url, so the value is always a valid header value.
        let mut value = HeaderValue::from_str(&text).unwrap_or_else(|_| self.clear());
        value.set_sensitive(true);
        value
    }

    /// Returns a `Set-Cookie` value that deletes the cookie.
    pub fn clear(&self) -> HeaderValue {
        let text = format!("{}=; Max-Age=0{}", self.name, self.attributes);
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// Authenticates session cookies with a [`SessionManager`] and sends the
/// cookie again when loading the session refreshed or rotated it.
///
/// The principal is the one the session was created with, with its method
/// set to [`AuthMethod::Session`] and its expiry to the session's idle
/// expiry.
///
/// ```
/// use std::sync::Arc;
/// use ddf_rbac::SystemClock;
/// use ddf_session::{MemoryStore, SessionConfig, SessionManager};
/// use ddf_tower::{AuthLayer, SessionAuthenticator, SessionCookieConfig};
///
/// let manager = SessionManager::new(
///     SessionConfig::production(),
///     Arc::new(MemoryStore::new()),
///     Arc::new(SystemClock),
/// )?;
/// let sessions = SessionAuthenticator::new(manager, &SessionCookieConfig::default())?;
/// let layer = AuthLayer::builder().session(sessions).build()?;
/// # let _ = layer;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SessionAuthenticator {
    manager: SessionManager,
    cookie: SessionCookie,
}

impl SessionAuthenticator {
    /// Creates an authenticator that writes cookies per `cookie`.
    ///
    /// # Errors
    ///
    /// The errors of [`SessionCookie::new`].
    pub fn new(manager: SessionManager, cookie: &SessionCookieConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            manager,
            cookie: SessionCookie::new(cookie)?,
        })
    }

    /// Returns the session manager.
    pub fn manager(&self) -> &SessionManager {
        &self.manager
    }

    /// Returns the cookie writer.
    pub fn cookie(&self) -> &SessionCookie {
        &self.cookie
    }

    async fn load(&self, credential: Credential<'_>) -> Result<LoadedSession, AuthFailure> {
        let Credential::SessionCookie(value) = credential else {
            return Err(AuthFailure::new(Reason::InternalError));
        };
        self.manager
            .load(value)
            .await
            .map_err(|error| AuthFailure::new(session_reason(error.kind())))
    }
}

fn session_principal(loaded: &LoadedSession) -> ddf_rbac::Principal {
    let expires_at = loaded
        .expires_at()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    loaded
        .principal()
        .clone()
        .with_method(AuthMethod::Session)
        .with_expires_at(expires_at)
}

impl Authenticate for SessionAuthenticator {
    fn authenticate<'a>(&'a self, credential: Credential<'a>) -> AuthFuture<'a> {
        Box::pin(async move {
            self.load(credential)
                .await
                .map(|loaded| session_principal(&loaded))
        })
    }

    fn authenticate_outcome<'a>(&'a self, credential: Credential<'a>) -> OutcomeFuture<'a> {
        OutcomeFuture::outcome(async move {
            let loaded = self.load(credential).await?;
            let mut outcome = AuthOutcome::new(session_principal(&loaded));
            if loaded.refreshed || loaded.rotated {
                let mut headers = HeaderMap::new();
                headers.insert(SET_COOKIE, self.cookie.set(&loaded.id, loaded.expires_in));
                outcome = outcome.with_response_headers(headers);
            }
            Ok(outcome)
        })
    }
}

/// Authenticates session cookies with the default cookie settings; a
/// refreshed or rotated session gets a `Set-Cookie` with the default
/// attributes. Use [`SessionAuthenticator`] for other settings.
impl Authenticate for SessionManager {
    fn authenticate<'a>(&'a self, credential: Credential<'a>) -> AuthFuture<'a> {
        Box::pin(async move {
            let Credential::SessionCookie(value) = credential else {
                return Err(AuthFailure::new(Reason::InternalError));
            };
            self.load(value)
                .await
                .map(|loaded| session_principal(&loaded))
                .map_err(|error| AuthFailure::new(session_reason(error.kind())))
        })
    }

    fn authenticate_outcome<'a>(&'a self, credential: Credential<'a>) -> OutcomeFuture<'a> {
        OutcomeFuture::outcome(async move {
            let Credential::SessionCookie(value) = credential else {
                return Err(AuthFailure::new(Reason::InternalError));
            };
            let loaded = self
                .load(value)
                .await
                .map_err(|error| AuthFailure::new(session_reason(error.kind())))?;
            let mut outcome = AuthOutcome::new(session_principal(&loaded));
            if (loaded.refreshed || loaded.rotated)
                && let Ok(cookie) = SessionCookie::new(&SessionCookieConfig::default())
            {
                let mut headers = HeaderMap::new();
                headers.insert(SET_COOKIE, cookie.set(&loaded.id, loaded.expires_in));
                outcome = outcome.with_response_headers(headers);
            }
            Ok(outcome)
        })
    }
}

/// Returns the [`Reason`] for a session error kind: `session_invalid` (401,
/// cookie cleared), `session_store_unavailable` (503), and `internal_error`
/// for kinds that loading a session never returns.
pub fn session_reason(kind: SessionErrorKind) -> Reason {
    match kind {
        SessionErrorKind::SessionInvalid => Reason::SessionInvalid,
        SessionErrorKind::SessionStoreUnavailable => Reason::SessionStoreUnavailable,
        _ => Reason::InternalError,
    }
}
