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

use crate::claims::{Claims, ListClaim};

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
    claims: &Claims,
    kid: Option<&str>,
    expires_at: Option<f64>,
    settings: &IssuerSettings,
) -> Principal {
    let subject = claims.string("sub").flatten().unwrap_or_default();
    let mut principal = Principal::new(subject, AuthMethod::Jwt);
    if let Some(iss) = claims.string("iss").flatten() {
        principal = principal.with_issuer(iss);
    }
    if let Some(kid) = kid {
        principal = principal.with_key_id(kid);
    }
    if let Some(exp) = expires_at {
        principal = principal.with_expires_at(exp as u64);
    }

    let mut roles: Vec<String> = Vec::new();
    let mut plain = |list| {
        claims.array_strings(claims.list(list), |role| roles.push(role.to_owned()));
    };
    match settings.profile {
        Profile::Generic => {
            plain(ListClaim::Roles);
            plain(ListClaim::Permissions);
        }
        Profile::Keycloak => plain(ListClaim::RealmRoles),
        Profile::Entra => plain(ListClaim::Roles),
        Profile::Cognito => plain(ListClaim::CognitoGroups),
        Profile::Auth0 => plain(ListClaim::Permissions),
    }
    if settings.profile == Profile::Keycloak {
        for client in &settings.client_ids {
            claims.array_strings(claims.client_roles(client), |role| {
                roles.push(format!("{client}/{role}"));
            });
        }
    }
    for list in [ListClaim::Scope, ListClaim::Scp] {
        claims.strings(claims.list(list), |scope| {
            roles.push(format!("scope:{scope}"));
        });
    }
    principal = principal.with_roles(roles);

    for attribute in ["azp", "client_id", "tid", "oid", "token_use"] {
        if let Some(value) = claims.string(attribute).flatten() {
            principal = principal.with_attribute(attribute, value);
        }
    }
    principal
}
