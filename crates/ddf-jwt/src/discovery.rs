//! OpenID Connect discovery: find an issuer's `jwks_uri` in its
//! `/.well-known/openid-configuration` document.

use std::time::Instant;

use serde::Deserialize;

use crate::JwtError;
use crate::remote::RemoteJwksConfig;
use crate::remote::fetch::{self, FetchError, FetchErrorKind, Fetched};

/// The path appended to the issuer (or base URL) to find the document.
pub const WELL_KNOWN_PATH: &str = "/.well-known/openid-configuration";

/// OIDC discovery settings: the issuer and where to fetch its document.
///
/// The document must name exactly the configured issuer. It may be fetched
/// from another base URL, for a provider reached through an internal host
/// name while its tokens carry the public one:
///
/// ```
/// use ddf_jwt::DiscoveryConfig;
///
/// let discovery = DiscoveryConfig::new("https://sso.example.test/realms/demo")
///     .base_url("https://keycloak.internal.example.test/realms/demo/");
/// assert_eq!(
///     discovery.discovery_url(),
///     "https://keycloak.internal.example.test/realms/demo/.well-known/openid-configuration",
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryConfig {
    /// The issuer, compared byte for byte with the document's `issuer`.
    pub issuer: String,
    /// Base URL to fetch the document from instead of the issuer.
    #[serde(default)]
    pub base_url: Option<String>,
}

/// The parts of an OpenID Provider Metadata document this crate uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// The issuer; equal to the configured one once discovery succeeded.
    pub issuer: String,
    /// URL of the provider's signing keys (JWKS).
    pub jwks_uri: String,
    /// Signature algorithms the provider may use for ID tokens.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
}

impl DiscoveryConfig {
    /// Configures discovery for `issuer`, fetched from the issuer itself.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            base_url: None,
        }
    }

    /// Fetches the document from `base_url` instead of the issuer.
    #[must_use]
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Returns the document URL: the base (or issuer) without one trailing
    /// `/`, followed by `/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        let base = self.base_url.as_deref().unwrap_or(&self.issuer);
        let base = base.strip_suffix('/').unwrap_or(base);
        format!("{base}{WELL_KNOWN_PATH}")
    }

    /// Fetches and checks the discovery document with the caps and
    /// deadline of `config`.
    ///
    /// # Errors
    ///
    /// [`JwtError::ConfigInvalid`] for a URL that is not https (or allowed
    /// loopback http); [`JwtError::JwksUnavailable`] when the fetch fails;
    /// [`JwtError::JwksInvalid`] when the document is not JSON, its
    /// `issuer` differs from the configured one, or its `jwks_uri` is not
    /// an acceptable URL.
    pub async fn fetch(
        &self,
        client: &reqwest::Client,
        config: &RemoteJwksConfig,
    ) -> Result<ProviderMetadata, JwtError> {
        fetch::check_url(&self.discovery_url(), config.danger_allow_http_loopback)
            .map_err(|error| JwtError::config(error.to_string()))?;
        self.fetch_checked(client, config)
            .await
            .map_err(|error| error.to_jwt_error())
    }

    /// Like [`fetch`](Self::fetch), keeping the detailed failure kind.
    pub(crate) async fn fetch_checked(
        &self,
        client: &reqwest::Client,
        config: &RemoteJwksConfig,
    ) -> Result<ProviderMetadata, FetchError> {
        let url = fetch::check_url(&self.discovery_url(), config.danger_allow_http_loopback)?;
        let started = Instant::now();
        let result = fetch::get(client, config, &url, fetch::ACCEPT_JSON, None)
            .await
            .and_then(|fetched| match fetched {
                Fetched::Body { body, .. } => self.parse(&body, config),
                Fetched::NotModified { .. } => Err(FetchError::new(
                    FetchErrorKind::UnexpectedNotModified,
                    "the discovery endpoint returned 304",
                )),
            });
        let duration_ms = fetch::elapsed_ms(started);
        match &result {
            Ok(metadata) => tracing::info!(
                target: "ddf_jwt::remote",
                url = %url,
                status = 200_u16,
                duration_ms,
                jwks_uri = %metadata.jwks_uri,
                "fetched the OIDC discovery document"
            ),
            Err(error) => tracing::warn!(
                target: "ddf_jwt::remote",
                url = %url,
                status = error.status,
                duration_ms,
                reason = error.kind.as_str(),
                error = %error.message,
                "OIDC discovery failed"
            ),
        }
        result
    }

    fn parse(
        &self,
        body: &[u8],
        config: &RemoteJwksConfig,
    ) -> Result<ProviderMetadata, FetchError> {
        // Strict JSON first (duplicate members, nesting), then the fields.
        crate::json::parse_object(body).map_err(|reason| {
            FetchError::new(
                FetchErrorKind::InvalidDocument,
                format!("the discovery document is not a strict JSON object ({reason})"),
            )
        })?;
        let metadata: ProviderMetadata = serde_json::from_slice(body).map_err(|error| {
            FetchError::new(
                FetchErrorKind::InvalidDocument,
                format!("the discovery document lacks a string `issuer` or `jwks_uri`: {error}"),
            )
        })?;
        if metadata.issuer != self.issuer {
            return Err(FetchError::new(
                FetchErrorKind::IssuerMismatch,
                format!(
                    "the discovery document names issuer {:?}, not the configured {:?}; they must be equal byte for byte",
                    crate::error::shorten(&metadata.issuer),
                    self.issuer
                ),
            ));
        }
        fetch::check_url(&metadata.jwks_uri, config.danger_allow_http_loopback).map_err(
            |error| {
                FetchError::new(
                    FetchErrorKind::InsecureUrl,
                    format!(
                        "the discovery document's jwks_uri is rejected: {}",
                        error.message
                    ),
                )
            },
        )?;
        Ok(metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_url_strips_one_slash() {
        let discovery = DiscoveryConfig::new("https://idp.example.test/");
        assert_eq!(
            discovery.discovery_url(),
            "https://idp.example.test/.well-known/openid-configuration"
        );
        let discovery = DiscoveryConfig::new("https://idp.example.test/realms/demo");
        assert_eq!(
            discovery.discovery_url(),
            "https://idp.example.test/realms/demo/.well-known/openid-configuration"
        );
    }
}
