//! Identity-provider presets: extra claim rules and the claims-to-principal
//! mapping.
//!
//! Role names produced, by profile:
//!
//! | profile | roles |
//! |---|---|
//! | `generic` | `roles`, `permissions`, and `scope:<s>` for every scope in `scope` / `scp` |
//! | `keycloak` | `realm_access.roles`; `<client>/<role>` from `resource_access.<client>.roles` for configured clients only; `scope:<s>` |
//! | `entra` | `roles` (app roles); `scope:<s>` from `scp` |
//! | `cognito` | `cognito:groups`; `scope:<s>` |
//! | `auth0` | `permissions`; `scope:<s>` |
//!
//! Scopes get the `scope:` prefix and Keycloak client roles the client id,
//! so that a scope or another client's `admin` role can never be mistaken
//! for a role of this API.

use ddf_rbac::{AuthMethod, Principal};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::IssuerSettings;

/// A preset for one family of identity providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Profile {
    /// Any OpenID Connect provider.
    #[default]
    Generic,
    /// Keycloak: payload `typ` must be `Bearer`; realm and client roles.
    Keycloak,
    /// Microsoft Entra ID (v1 and v2 tokens): app roles, `scp`, `tid`.
    Entra,
    /// AWS Cognito user pools: access tokens only (`token_use`), `client_id`
    /// in place of `aud`, `cognito:groups`.
    Cognito,
    /// Auth0: `permissions`, audience arrays.
    Auth0,
}

impl Profile {
    /// Returns the lower-case name used in configuration and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generic => "generic",
            Self::Keycloak => "keycloak",
            Self::Entra => "entra",
            Self::Cognito => "cognito",
            Self::Auth0 => "auth0",
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = crate::JwtError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "generic" => Ok(Self::Generic),
            "keycloak" => Ok(Self::Keycloak),
            "entra" => Ok(Self::Entra),
            "cognito" => Ok(Self::Cognito),
            "auth0" => Ok(Self::Auth0),
            _ => Err(crate::JwtError::config(format!(
                "unknown profile {name:?}; use generic, keycloak, entra, cognito or auth0"
            ))),
        }
    }
}

/// Builds the principal of a verified token.
pub(crate) fn principal(
    claims: &Map<String, Value>,
    kid: Option<&str>,
    expires_at: Option<f64>,
    settings: &IssuerSettings,
) -> Principal {
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut principal = Principal::new(subject, AuthMethod::Jwt);
    if let Some(iss) = claims.get("iss").and_then(Value::as_str) {
        principal = principal.with_issuer(iss);
    }
    if let Some(kid) = kid {
        principal = principal.with_key_id(kid);
    }
    if let Some(exp) = expires_at {
        principal = principal.with_expires_at(exp as u64);
    }

    let mut roles: Vec<String> = Vec::new();
    match settings.profile {
        Profile::Generic => {
            roles.extend(strings(claims.get("roles")));
            roles.extend(strings(claims.get("permissions")));
        }
        Profile::Keycloak => {
            let realm_roles = claims
                .get("realm_access")
                .and_then(|realm| realm.get("roles"));
            roles.extend(strings(realm_roles));
            let resource_access = claims.get("resource_access");
            for client in &settings.client_ids {
                let client_roles = resource_access
                    .and_then(|access| access.get(client))
                    .and_then(|entry| entry.get("roles"));
                roles.extend(
                    strings(client_roles)
                        .into_iter()
                        .map(|role| format!("{client}/{role}")),
                );
            }
        }
        Profile::Entra => roles.extend(strings(claims.get("roles"))),
        Profile::Cognito => roles.extend(strings(claims.get("cognito:groups"))),
        Profile::Auth0 => roles.extend(strings(claims.get("permissions"))),
    }
    for claim in ["scope", "scp"] {
        roles.extend(
            strings(claims.get(claim))
                .into_iter()
                .map(|scope| format!("scope:{scope}")),
        );
    }
    principal = principal.with_roles(roles);

    for attribute in ["azp", "client_id", "tid", "oid", "token_use"] {
        if let Some(value) = claims.get(attribute).and_then(Value::as_str) {
            principal = principal.with_attribute(attribute, value);
        }
    }
    principal
}

/// Reads a claim that is a space-separated string or an array of strings;
/// anything else yields nothing.
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(text)) => text.split_ascii_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}
