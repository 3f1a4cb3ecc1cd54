//! The gateway configuration file: types, `${ENV}` substitution and
//! environment overrides.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use ddf_apikey::KeyEntry;
use ddf_jwt::{Algorithm, Profile, RemoteJwksConfig};
use ddf_rbac::PolicySpec;
use ddf_session::{RedisStoreConfig, SessionConfig};
use ddf_tower::{BruteForceConfig, CredentialConfig, RateLimitConfig, SessionCookieConfig};
use serde::Deserialize;
use serde_json::Value;

use super::GatewayError;

/// The default listen address: loopback only, so a first run exposes nothing.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The environment variables that override the file, applied by
/// [`GatewayConfig::apply_env`].
pub const ENV_OVERRIDES: [(&str, &str); 6] = [
    ("DDF_CONFIG", "path of the YAML configuration file"),
    ("DDF_LISTEN", "listen address, such as 127.0.0.1:8080"),
    (
        "DDF_ISSUER_URL",
        "issuer URL; replaces the issuers of the file with this one, found by OIDC discovery",
    ),
    ("DDF_AUDIENCE", "audience of the DDF_ISSUER_URL issuer"),
    (
        "DDF_REDIS_URL",
        "Redis URL for sessions, API keys and rate limits",
    ),
    ("DDF_LOG_FORMAT", "plain or json"),
];

/// The whole gateway configuration.
///
/// Every section is optional; an empty file (or no file) gives the local
/// development setup: a generated issuer, in-memory stores, the reference
/// policy. See `config/gateway.template.yaml` for an annotated example.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct GatewayConfig {
    /// Listen address (default `127.0.0.1:8080`).
    pub listen: Option<String>,
    /// Log format: `plain` (default) or `json`.
    pub log_format: Option<String>,
    /// Trusted token issuers. Empty: the local development issuer starts.
    pub issuers: Vec<IssuerEntry>,
    /// API keys, as SHA-256 digests.
    pub api_keys: Vec<KeyEntry>,
    /// The role policy; the reference policy when absent.
    pub policy: Option<PolicySpec>,
    /// Session lifetimes, limits and cookie.
    pub sessions: SessionSection,
    /// Credential sources and header names.
    pub credentials: CredentialConfig,
    /// Redis for sessions, API keys and rate limits; in-memory when absent.
    pub redis: Option<RedisSection>,
    /// Rate limits.
    pub rate_limits: RateLimitSection,
    /// Failed-authentication alerting.
    pub brute_force: BruteForceConfig,
    /// The local development issuer (used only when `issuers` is empty).
    pub dev_issuer: DevIssuerSection,
}

/// One trusted issuer, whose keys are found by OIDC discovery (or at a
/// fixed `jwks_uri`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IssuerEntry {
    /// The exact `iss` value, such as `https://sso.example.com/realms/llm`.
    pub issuer: String,
    /// Accepted audiences; a token must name one.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Accepted signature algorithms (default `[RS256]`).
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<Algorithm>,
    /// Claim rules and role mapping (default `keycloak`).
    #[serde(default = "default_profile")]
    pub profile: Profile,
    /// Keycloak clients whose client roles are mapped, as `client/role`.
    #[serde(default)]
    pub client_ids: Vec<String>,
    /// Clock leeway in seconds (default 60).
    #[serde(default)]
    pub leeway_seconds: Option<u64>,
    /// Where to fetch the discovery document, when it is not under the
    /// issuer URL (a provider reached by an internal host name).
    #[serde(default)]
    pub discovery_base_url: Option<String>,
    /// A fixed JWKS URL; skips discovery.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Fetch and cache settings of the JWKS.
    #[serde(default)]
    pub jwks: Option<RemoteJwksConfig>,
}

fn default_algorithms() -> Vec<Algorithm> {
    vec![Algorithm::RS256]
}

fn default_profile() -> Profile {
    Profile::Keycloak
}

impl IssuerEntry {
    /// Returns an entry for `issuer` with the defaults of the file format.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audiences: Vec::new(),
            algorithms: default_algorithms(),
            profile: default_profile(),
            client_ids: Vec::new(),
            leeway_seconds: None,
            discovery_base_url: None,
            jwks_uri: None,
            jwks: None,
        }
    }
}

/// Session settings: the lifetime rules of `ddf-session` and the cookie.
// `deny_unknown_fields` does not combine with `flatten`; the flattened
// `SessionConfig` rejects unknown names itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SessionSection {
    /// Idle timeout, refresh threshold, absolute lifetime, per-user limit.
    #[serde(flatten)]
    pub lifetime: SessionConfig,
    /// Cookie name, path, domain and `Secure`.
    pub cookie: SessionCookieConfig,
}

impl Default for SessionSection {
    fn default() -> Self {
        Self {
            lifetime: SessionConfig::production(),
            cookie: SessionCookieConfig::default(),
        }
    }
}

/// Redis settings. The URL may hold a password: give it through `${ENV}`.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RedisSection {
    /// `redis://host:port` or `rediss://user:password@host:port`.
    pub url: String,
    /// Prefix of every key (default `ddf-gateway`); one per deployment.
    pub key_prefix: Option<String>,
    /// Base64 of the 32-byte key that encrypts sessions. Generated at start
    /// when absent, so sessions do not survive a restart.
    pub session_key: Option<String>,
    /// Base64 of the 32-byte key that names the per-user session index.
    /// Generated at start when absent.
    pub session_index_key: Option<String>,
    /// Timeouts of the session store.
    pub sessions: Option<RedisStoreConfig>,
}

impl std::fmt::Debug for RedisSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSection")
            .field("url", &"<redacted>")
            .field("key_prefix", &self.key_prefix)
            .field(
                "session_key",
                &self.session_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "session_index_key",
                &self.session_index_key.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// Rate limits: one per client address before authentication, one per
/// principal after it.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RateLimitSection {
    /// Per client address, checked before any credential (default 600 per
    /// minute).
    pub per_client: RateLimitConfig,
    /// Per principal (API-key id or subject), checked after authentication
    /// (default 120 per minute).
    pub per_principal: RateLimitConfig,
}

impl Default for RateLimitSection {
    fn default() -> Self {
        let mut per_client = RateLimitConfig::new(600, std::time::Duration::from_secs(60));
        "per-client".clone_into(&mut per_client.policy_name);
        let mut per_principal = RateLimitConfig::new(120, std::time::Duration::from_secs(60));
        "per-principal".clone_into(&mut per_principal.policy_name);
        Self {
            per_client,
            per_principal,
        }
    }
}

/// Settings of the local development issuer.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DevIssuerSection {
    /// Audience of the printed tokens (default `llm-gateway`).
    pub audience: String,
    /// Lifetime of the printed tokens, in seconds (default 8 hours).
    pub token_lifetime_secs: u64,
}

impl Default for DevIssuerSection {
    fn default() -> Self {
        Self {
            audience: "llm-gateway".to_owned(),
            token_lifetime_secs: 8 * 3600,
        }
    }
}

impl GatewayConfig {
    /// Parses a YAML document, substituting `${NAME}` and `${NAME:-default}`
    /// in string values with variables from `env`.
    ///
    /// Substitution happens after parsing, inside string values only, so a
    /// secret containing YAML syntax cannot change the document's structure.
    /// A reference to an unset variable without a default is an error
    /// naming the variable; `$${` writes a literal `${`.
    ///
    /// # Errors
    ///
    /// [`GatewayError::Config`] for invalid YAML, unknown fields, wrong
    /// types or an unset variable.
    pub fn from_yaml_with_env(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, GatewayError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let mut tree: Value = serde_saphyr::from_str(text)
            .map_err(|error| GatewayError::Config(format!("invalid YAML: {error}")))?;
        if tree.is_null() {
            return Ok(Self::default());
        }
        substitute_tree(&mut tree, env)?;
        drop_empty_optionals(&mut tree);
        serde_json::from_value(tree)
            .map_err(|error| GatewayError::Config(format!("invalid configuration: {error}")))
    }

    /// Reads and parses a file with the process environment.
    ///
    /// # Errors
    ///
    /// [`GatewayError::Config`] when the file cannot be read or parsed.
    pub fn from_file(path: &Path) -> Result<Self, GatewayError> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            GatewayError::Config(format!("cannot read {}: {error}", path.display()))
        })?;
        Self::from_yaml_with_env(&text, &|name| std::env::var(name).ok())
    }

    /// Loads the configuration the way the example gateways do: the file
    /// named by `DDF_CONFIG` if set, else the built-in defaults; then the
    /// environment overrides of [`apply_env`](Self::apply_env).
    ///
    /// # Errors
    ///
    /// As [`from_file`](Self::from_file).
    pub fn load() -> Result<Self, GatewayError> {
        let mut config = match std::env::var("DDF_CONFIG") {
            Ok(path) if !path.is_empty() => Self::from_file(Path::new(&path))?,
            _ => Self::default(),
        };
        let env: HashMap<String, String> = std::env::vars().collect();
        config.apply_env(&|name| env.get(name).cloned());
        Ok(config)
    }

    /// Applies `DDF_LISTEN`, `DDF_ISSUER_URL` (with `DDF_AUDIENCE`),
    /// `DDF_REDIS_URL` and `DDF_LOG_FORMAT` from `env`; empty values are
    /// ignored.
    ///
    /// `DDF_ISSUER_URL` replaces the configured issuers with one found by
    /// discovery (Keycloak profile, RS256). When the issuer is a loopback IP
    /// literal over plain http, as a provider started by a test is, its JWKS
    /// may be fetched over http; nothing else is.
    pub fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        let get = |name: &str| env(name).filter(|value| !value.is_empty());
        if let Some(listen) = get("DDF_LISTEN") {
            self.listen = Some(listen);
        }
        if let Some(format) = get("DDF_LOG_FORMAT") {
            self.log_format = Some(format);
        }
        if let Some(issuer) = get("DDF_ISSUER_URL") {
            let mut entry = self
                .issuers
                .iter()
                .find(|entry| entry.issuer == issuer)
                .cloned()
                .unwrap_or_else(|| IssuerEntry::new(issuer.clone()));
            if let Some(audience) = get("DDF_AUDIENCE") {
                entry.audiences = vec![audience];
            }
            self.issuers = vec![entry];
        }
        if let Some(url) = get("DDF_REDIS_URL") {
            let mut redis = self.redis.take().unwrap_or_default();
            redis.url = url;
            self.redis = Some(redis);
        }
    }

    /// Returns the listen address.
    ///
    /// # Errors
    ///
    /// [`GatewayError::Config`] when it is not `IP:port`.
    pub fn listen_addr(&self) -> Result<SocketAddr, GatewayError> {
        let text = self.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        text.parse().map_err(|_| {
            GatewayError::Config(format!(
                "listen address {text:?} is not IP:port, such as 127.0.0.1:8080"
            ))
        })
    }

    /// Returns whether the local development issuer runs: no issuer is
    /// configured.
    pub fn uses_dev_issuer(&self) -> bool {
        self.issuers.is_empty()
    }

    /// Returns whether logs are JSON lines.
    pub fn json_logs(&self) -> bool {
        self.log_format.as_deref() == Some("json")
    }
}

/// Replaces `${NAME}` and `${NAME:-default}` in every string of `tree`.
fn substitute_tree(
    tree: &mut Value,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), GatewayError> {
    match tree {
        Value::String(text) => {
            if text.contains('$') {
                *text = substitute(text, env)?;
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|item| substitute_tree(item, env)),
        Value::Object(map) => map
            .values_mut()
            .try_for_each(|item| substitute_tree(item, env)),
        _ => Ok(()),
    }
}

/// Removes `key: ""` entries and `key: null` from maps, so that an optional
/// setting given as `${VAR:-}` with `VAR` unset counts as absent.
fn drop_empty_optionals(tree: &mut Value) {
    match tree {
        Value::Array(items) => items.iter_mut().for_each(drop_empty_optionals),
        Value::Object(map) => {
            map.retain(|_, value| !(value.is_null() || value.as_str() == Some("")));
            map.values_mut().for_each(drop_empty_optionals);
        }
        _ => {}
    }
}

/// Substitutes variable references in one string.
///
/// # Errors
///
/// [`GatewayError::Config`] for an unset variable without a default or an
/// unterminated `${`.
pub fn substitute(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, GatewayError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        if let Some(literal) = after.strip_prefix("${") {
            out.push_str("${");
            rest = literal;
            continue;
        }
        let Some(reference) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let end = reference.find('}').ok_or_else(|| {
            GatewayError::Config("unterminated ${ in a configuration value".to_owned())
        })?;
        let (name, default) = match reference[..end].split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (&reference[..end], None),
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
        {
            return Err(GatewayError::Config(format!(
                "invalid variable name {name:?} in ${{...}}; use letters, digits and '_'"
            )));
        }
        match env(name).filter(|value| !value.is_empty()) {
            Some(value) => out.push_str(&value),
            None => match default {
                Some(default) => out.push_str(default),
                None => {
                    return Err(GatewayError::Config(format!(
                        "environment variable {name} is not set; set it or write ${{{name}:-default}}"
                    )));
                }
            },
        }
        rest = &reference[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "ISSUER" => Some("https://sso.example.test/realms/llm".to_owned()),
            "DIGEST" => {
                Some("5947d7c33d783f94b3b4c1a96ebc8991ed28f1b069b71e03376cba8caa98a720".to_owned())
            }
            "TRICKY" => Some("a: b\n- c # d".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn substitution_rules() {
        assert_eq!(
            substitute("${ISSUER}/x", &env).unwrap(),
            "https://sso.example.test/realms/llm/x"
        );
        assert_eq!(
            substitute("${MISSING:-fallback}", &env).unwrap(),
            "fallback"
        );
        assert_eq!(substitute("${MISSING:-}", &env).unwrap(), "");
        assert_eq!(
            substitute("cost $5, $${ISSUER}", &env).unwrap(),
            "cost $5, ${ISSUER}"
        );
        let error = substitute("${MISSING}", &env).unwrap_err().to_string();
        assert!(error.contains("MISSING"), "{error}");
        assert!(substitute("${ISSUER", &env).is_err());
        assert!(substitute("${A-B}", &env).is_err());
    }

    #[test]
    fn values_with_yaml_syntax_stay_strings() {
        let config = GatewayConfig::from_yaml_with_env("listen: \"${TRICKY}\"\n", &env).unwrap();
        assert_eq!(config.listen.as_deref(), Some("a: b\n- c # d"));
    }

    #[test]
    fn full_file_parses() {
        let text = r#"
listen: 127.0.0.1:9090
issuers:
  - issuer: ${ISSUER}
    audiences: [llm-gateway]
    jwks: { max_refresh_interval_seconds: 2, min_refresh_interval_seconds: 1, refresh_interval_seconds: 2 }
api_keys:
  - id: ci-bot
    roles: [user]
    digest: ${DIGEST}
policy:
  roles:
    user: { permissions: ["llm:query"] }
sessions:
  idle_timeout_secs: 1800
  max_sessions_per_user: 3
  cookie: { name: sid }
redis:
  url: ${REDIS_URL:-}
rate_limits:
  per_principal: { burst: 5, period_secs: 60 }
"#;
        let config = GatewayConfig::from_yaml_with_env(text, &env).unwrap();
        assert_eq!(config.listen_addr().unwrap().port(), 9090);
        assert_eq!(
            config.issuers[0].issuer,
            "https://sso.example.test/realms/llm"
        );
        assert_eq!(config.issuers[0].profile, Profile::Keycloak);
        assert_eq!(
            config.issuers[0]
                .jwks
                .as_ref()
                .unwrap()
                .max_refresh_interval
                .as_secs(),
            2
        );
        assert_eq!(config.api_keys[0].roles, ["user"]);
        assert_eq!(config.sessions.lifetime.max_sessions_per_user, 3);
        assert_eq!(config.sessions.lifetime.idle_timeout.as_secs(), 1800);
        assert_eq!(config.sessions.cookie.name, "sid");
        assert_eq!(
            config.redis.as_ref().map(|redis| redis.url.as_str()),
            Some("")
        );
        assert_eq!(config.rate_limits.per_principal.burst, 5);
        assert!(!config.uses_dev_issuer());
    }

    #[test]
    fn committed_template_parses() {
        let template = include_str!("../../config/gateway.template.yaml");
        let config = GatewayConfig::from_yaml_with_env(template, &env_with_digest).unwrap();
        assert_eq!(config.issuers[0].audiences, ["llm-gateway"]);
        assert_eq!(config.api_keys[0].id, "indexer-2026-12");
        assert!(config.policy.is_some());
        assert_eq!(config.listen_addr().unwrap().to_string(), DEFAULT_LISTEN);
        assert!(config.redis.as_ref().unwrap().url.is_empty());
    }

    fn env_with_digest(name: &str) -> Option<String> {
        (name == "INDEXER_API_KEY_SHA256").then(|| env("DIGEST").unwrap())
    }

    #[test]
    fn empty_and_unknown() {
        let config = GatewayConfig::from_yaml_with_env("", &env).unwrap();
        assert!(config.uses_dev_issuer());
        assert_eq!(config.listen_addr().unwrap().to_string(), DEFAULT_LISTEN);
        let error = GatewayConfig::from_yaml_with_env("lisen: x\n", &env).unwrap_err();
        assert!(error.to_string().contains("lisen"), "{error}");
    }

    #[test]
    fn env_overrides() {
        let mut config = GatewayConfig::default();
        config.apply_env(&|name| match name {
            "DDF_ISSUER_URL" => Some("http://127.0.0.1:8180".to_owned()),
            "DDF_AUDIENCE" => Some("llm-gateway".to_owned()),
            "DDF_REDIS_URL" => Some("redis://127.0.0.1:6379".to_owned()),
            "DDF_LISTEN" => Some("127.0.0.1:0".to_owned()),
            _ => None,
        });
        assert_eq!(config.issuers.len(), 1);
        assert_eq!(config.issuers[0].audiences, ["llm-gateway"]);
        assert_eq!(config.redis.unwrap().url, "redis://127.0.0.1:6379");
        assert_eq!(config.listen.as_deref(), Some("127.0.0.1:0"));
    }
}
