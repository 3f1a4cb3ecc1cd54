//! Registered-claim rules, evaluated only after the signature verified.

use std::sync::OnceLock;

use serde::de::MapAccess;
use serde_json::{Map, Value};

use crate::config::{IssuerConfig, TENANT_PLACEHOLDER};
use crate::error::MalformedReason;
use crate::json::{self, Ctx, Field, FieldSeed, List, ListSeed, Members, Text};
use crate::{JwtError, Profile};

/// Largest `NumericDate` accepted: 9999-12-31T23:59:59Z. Larger values, and
/// negative ones, are malformed rather than "never expires".
const MAX_NUMERIC_DATE: f64 = 253_402_300_799.0;

/// The time facts of a validated token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lifetime {
    pub(crate) exp: Option<f64>,
    /// The instant (Unix seconds) after which the validation result may no
    /// longer be reused: `exp` or `iat + max_age`, plus leeway.
    pub(crate) valid_until: f64,
}

/// A checked claims set: the claims that the rules and the profiles read,
/// typed in the parsing pass, and the JSON text for everything else.
///
/// [`map`](Self::map) builds the full `serde_json` map on first use only:
/// for the public accessors, custom checks and configured claim rules.
pub(crate) struct Claims {
    doc: String,
    members: ClaimMembers,
    map: OnceLock<Map<String, Value>>,
}

/// The claims read in the single parsing pass.
#[derive(Default)]
pub(crate) struct ClaimMembers {
    exp: Option<Field>,
    nbf: Option<Field>,
    iat: Option<Field>,
    iss: Option<Field>,
    sub: Option<Field>,
    typ: Option<Field>,
    azp: Option<Field>,
    client_id: Option<Field>,
    tid: Option<Field>,
    oid: Option<Field>,
    token_use: Option<Field>,
    aud: Option<List>,
    roles: Option<List>,
    permissions: Option<List>,
    groups: Option<List>,
    scope: Option<List>,
    scp: Option<List>,
    /// `realm_access.roles`.
    realm_roles: Option<List>,
    /// `resource_access.<client>.roles`, per client.
    client_roles: Vec<(Text, Option<List>)>,
}

impl<'de> Members<'de> for ClaimMembers {
    fn member<A: MapAccess<'de>>(
        &mut self,
        name: &str,
        ctx: Ctx<'_>,
        map: &mut A,
    ) -> Result<(), A::Error> {
        let field = match name {
            "exp" => &mut self.exp,
            "nbf" => &mut self.nbf,
            "iat" => &mut self.iat,
            "iss" => &mut self.iss,
            "sub" => &mut self.sub,
            "typ" => &mut self.typ,
            "azp" => &mut self.azp,
            "client_id" => &mut self.client_id,
            "tid" => &mut self.tid,
            "oid" => &mut self.oid,
            "token_use" => &mut self.token_use,
            _ => {
                let list = match name {
                    "aud" => &mut self.aud,
                    "roles" => &mut self.roles,
                    "permissions" => &mut self.permissions,
                    "cognito:groups" => &mut self.groups,
                    "scope" => &mut self.scope,
                    "scp" => &mut self.scp,
                    "realm_access" => {
                        self.realm_roles = json::roles_of(ctx, map)?;
                        return Ok(());
                    }
                    "resource_access" => {
                        self.client_roles = json::roles_by_name(ctx, map)?;
                        return Ok(());
                    }
                    _ => return json::skip_value(ctx, map),
                };
                *list = Some(map.next_value_seed(ListSeed(ctx))?);
                return Ok(());
            }
        };
        *field = Some(map.next_value_seed(FieldSeed(ctx))?);
        Ok(())
    }
}

impl Claims {
    /// Parses decoded payload bytes: one JSON object, strict (see
    /// [`json::parse_object`]).
    pub(crate) fn parse(payload: Vec<u8>) -> Result<Self, MalformedReason> {
        let doc = json::into_text(payload)?;
        let members = json::parse_members(&doc)?;
        Ok(Self {
            doc,
            members,
            map: OnceLock::new(),
        })
    }

    /// Returns the claims as a JSON object, built on first use.
    pub(crate) fn map(&self) -> &Map<String, Value> {
        self.map.get_or_init(|| json::rebuild_object(&self.doc))
    }

    fn text<'s>(&'s self, text: &'s Text) -> &'s str {
        text.get(&self.doc)
    }

    /// Reads claim `name` as a string: `None` when absent, `Some(None)` when
    /// present with another type.
    #[expect(
        clippy::option_option,
        reason = "absent, a string and another type are the three cases the rules tell apart"
    )]
    pub(crate) fn string(&self, name: &str) -> Option<Option<&str>> {
        let members = &self.members;
        let field = match name {
            "iss" => &members.iss,
            "sub" => &members.sub,
            "typ" => &members.typ,
            "azp" => &members.azp,
            "client_id" => &members.client_id,
            "tid" => &members.tid,
            "oid" => &members.oid,
            "token_use" => &members.token_use,
            _ => return self.map().get(name).map(Value::as_str),
        };
        field
            .as_ref()
            .map(|field| field.as_text().map(|text| self.text(text)))
    }

    /// Calls `each` for every string of a claim that is a space-separated
    /// string or an array of strings; other items and types yield nothing.
    pub(crate) fn strings<'s>(&'s self, list: Option<&'s List>, mut each: impl FnMut(&'s str)) {
        match list {
            Some(List::Str(text)) => self.text(text).split_ascii_whitespace().for_each(each),
            Some(List::Items(items)) => {
                for item in items.iter().flatten() {
                    each(self.text(item));
                }
            }
            Some(List::Other) | None => {}
        }
    }

    /// Calls `each` for every string of a claim that is an array of strings.
    /// A role or permission claim sent as one string grants nothing: reading
    /// `"llm:*"` or `"admin user"` as a list would let a type confusion in
    /// the issuer's mapping widen access.
    pub(crate) fn array_strings<'s>(
        &'s self,
        list: Option<&'s List>,
        mut each: impl FnMut(&'s str),
    ) {
        if let Some(List::Items(items)) = list {
            for item in items.iter().flatten() {
                each(self.text(item));
            }
        }
    }

    pub(crate) fn list(&self, name: ListClaim) -> Option<&List> {
        let members = &self.members;
        match name {
            ListClaim::Roles => members.roles.as_ref(),
            ListClaim::Permissions => members.permissions.as_ref(),
            ListClaim::CognitoGroups => members.groups.as_ref(),
            ListClaim::Scope => members.scope.as_ref(),
            ListClaim::Scp => members.scp.as_ref(),
            ListClaim::RealmRoles => members.realm_roles.as_ref(),
        }
    }

    /// Returns `resource_access.<client>.roles`.
    pub(crate) fn client_roles(&self, client: &str) -> Option<&List> {
        self.members
            .client_roles
            .iter()
            .find(|(name, _)| self.text(name) == client)
            .and_then(|(_, roles)| roles.as_ref())
    }
}

/// The list-valued claims the profiles read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ListClaim {
    Roles,
    Permissions,
    CognitoGroups,
    Scope,
    Scp,
    RealmRoles,
}

/// Reads a `NumericDate` claim: absent is `Ok(None)`; a present claim must be
/// a JSON number in `0..=MAX_NUMERIC_DATE`, fractions allowed.
fn numeric_date(field: Option<&Field>, name: &str) -> Result<Option<f64>, JwtError> {
    let Some(field) = field else {
        return Ok(None);
    };
    let seconds = match field {
        Field::Num(seconds) => Some(*seconds),
        Field::Str(_) | Field::Other => None,
    }
    .filter(|seconds| seconds.is_finite() && (0.0..=MAX_NUMERIC_DATE).contains(seconds))
    .ok_or_else(|| {
        JwtError::claim_malformed(
            name,
            "a NumericDate: a number of seconds between 0 and 253402300799",
        )
    })?;
    Ok(Some(seconds))
}

/// Applies every claim rule of `issuer` at time `now` (Unix seconds, may be
/// fractional). The order is fixed so that the reported reason is stable:
/// types, issuer, time, audience, subject, token type, authorized party,
/// profile rules, required claims, custom checks.
pub(crate) fn check(
    claims: &Claims,
    header_typ: Option<&str>,
    issuer: &IssuerConfig,
    now: f64,
) -> Result<Lifetime, JwtError> {
    let settings = &issuer.settings;
    let leeway = settings.leeway_seconds as f64;

    // Types first: a wrongly typed date is malformed even when its check is off.
    let exp = numeric_date(claims.members.exp.as_ref(), "exp")?;
    let nbf = numeric_date(claims.members.nbf.as_ref(), "nbf")?;
    let iat = numeric_date(claims.members.iat.as_ref(), "iat")?;
    let audiences = read_audience(claims)?;
    if claims.string("sub") == Some(None) {
        return Err(JwtError::claim_malformed("sub", "a string"));
    }

    check_issuer(claims, issuer)?;

    let now_seconds = now.max(0.0) as u64;
    match exp {
        None if settings.require_expiration => return Err(JwtError::claim_missing("exp")),
        Some(exp) if now >= exp + leeway => {
            return Err(JwtError::Expired {
                exp: exp as i64,
                now: now_seconds,
                leeway: settings.leeway_seconds,
            });
        }
        _ => {}
    }
    if let Some(nbf) = nbf.filter(|nbf| *nbf > now + leeway) {
        return Err(JwtError::NotYetValid {
            nbf: nbf as i64,
            now: now_seconds,
        });
    }
    let mut valid_until = exp.map_or(f64::INFINITY, |exp| exp + leeway);
    if let Some(iat) = iat {
        if iat > now + leeway {
            return Err(JwtError::IssuedInFuture {
                iat: iat as i64,
                now: now_seconds,
            });
        }
        if let Some(max_age) = settings.max_age_seconds {
            let limit = iat + max_age as f64 + leeway;
            if now >= limit {
                return Err(JwtError::Expired {
                    exp: (iat + max_age as f64) as i64,
                    now: now_seconds,
                    leeway: settings.leeway_seconds,
                });
            }
            valid_until = valid_until.min(limit);
        }
    } else if settings.max_age_seconds.is_some() {
        return Err(JwtError::claim_missing("iat"));
    }

    check_audience(claims, audiences, issuer)?;

    if settings.require_subject && claims.string("sub").flatten().is_none_or(str::is_empty) {
        return Err(JwtError::SubjectMissing);
    }

    check_token_type(claims, header_typ, issuer)?;

    if let Some(expected) = &settings.authorized_party
        && claims.string("azp").flatten() != Some(expected.as_str())
    {
        return Err(JwtError::AzpMismatch);
    }

    if settings.profile == Profile::Cognito {
        // Cognito ID tokens carry `aud`; access tokens carry `client_id` and
        // `token_use: access`. An API accepts access tokens only.
        match claims.string("token_use") {
            None => return Err(JwtError::claim_missing("token_use")),
            Some(Some("access")) => {}
            Some(_) => return Err(JwtError::claim_mismatch("token_use")),
        }
    }

    // Configured claim rules and custom checks read the full map, built
    // here on first use; the rules above never need it.
    for name in &settings.required_claims {
        if !claims.map().contains_key(name) {
            return Err(JwtError::claim_missing(name));
        }
    }
    for (name, expected) in &settings.required_claim_values {
        match claims.map().get(name) {
            None => return Err(JwtError::claim_missing(name)),
            Some(value) if value != expected => return Err(JwtError::claim_mismatch(name)),
            Some(_) => {}
        }
    }
    for check in &issuer.checks {
        if !(check.check)(claims.map()) {
            return Err(JwtError::claim_mismatch(&check.name));
        }
    }

    Ok(Lifetime { exp, valid_until })
}

fn check_issuer(claims: &Claims, issuer: &IssuerConfig) -> Result<(), JwtError> {
    let settings = &issuer.settings;
    let iss = match claims.string("iss") {
        None => return Err(JwtError::claim_missing("iss")),
        Some(Some(iss)) => iss,
        // An array or number is never an issuer, and no membership test is done.
        Some(_) => return Err(JwtError::IssuerMismatch),
    };
    if !settings.issuer.contains(TENANT_PLACEHOLDER) {
        return if iss == settings.issuer {
            Ok(())
        } else {
            Err(JwtError::IssuerMismatch)
        };
    }

    // Entra multi-tenant: the issuer is the template with the token's own
    // `tid` substituted, and that tenant must be allowed.
    let tid = match claims.string("tid") {
        None => return Err(JwtError::claim_missing("tid")),
        Some(Some(tid)) => tid,
        Some(_) => return Err(JwtError::claim_malformed("tid", "a string")),
    };
    if !settings
        .allowed_tenants
        .iter()
        .any(|allowed| allowed == tid)
    {
        return Err(JwtError::IssuerMismatch);
    }
    if iss != settings.issuer.replace(TENANT_PLACEHOLDER, tid) {
        return Err(JwtError::IssuerMismatch);
    }
    Ok(())
}

/// `aud` as read from the token: absent, or a list of strings (a single
/// string becomes a list of one).
fn read_audience(claims: &Claims) -> Result<Option<Vec<&str>>, JwtError> {
    const EXPECTED: &str = "a string or an array of strings";
    match &claims.members.aud {
        None => Ok(None),
        Some(List::Str(aud)) => Ok(Some(vec![claims.text(aud)])),
        Some(List::Items(items)) => items
            .iter()
            .map(|item| {
                item.as_ref()
                    .map(|item| claims.text(item))
                    .ok_or_else(|| JwtError::claim_malformed("aud", EXPECTED))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(List::Other) => Err(JwtError::claim_malformed("aud", EXPECTED)),
    }
}

fn check_audience(
    claims: &Claims,
    audiences: Option<Vec<&str>>,
    issuer: &IssuerConfig,
) -> Result<(), JwtError> {
    let settings = &issuer.settings;
    let configured = &settings.audiences;
    match audiences {
        Some(token_audiences) => {
            if token_audiences
                .iter()
                .any(|aud| configured.iter().any(|wanted| wanted == aud))
            {
                Ok(())
            } else {
                Err(JwtError::AudienceMismatch)
            }
        }
        None if configured.is_empty() => Ok(()),
        None => {
            let fallback = settings
                .audience_claim_fallback
                .as_deref()
                .or(match settings.profile {
                    Profile::Cognito => Some("client_id"),
                    _ => None,
                });
            let Some(fallback) = fallback else {
                return Err(JwtError::claim_missing("aud"));
            };
            let candidates = configured.iter().chain(&settings.client_ids);
            match claims.string(fallback) {
                None => Err(JwtError::claim_missing(fallback)),
                Some(Some(value)) => {
                    if candidates.into_iter().any(|wanted| wanted == value) {
                        Ok(())
                    } else {
                        Err(JwtError::AudienceMismatch)
                    }
                }
                Some(None) => Err(JwtError::claim_malformed(fallback, "a string")),
            }
        }
    }
}

fn check_token_type(
    claims: &Claims,
    header_typ: Option<&str>,
    issuer: &IssuerConfig,
) -> Result<(), JwtError> {
    let settings = &issuer.settings;
    if !settings.header_types.is_empty() {
        let normalize = |typ: &str| {
            let lower = typ.to_ascii_lowercase();
            lower
                .strip_prefix("application/")
                .map(str::to_owned)
                .unwrap_or(lower)
        };
        let Some(typ) = header_typ else {
            return Err(JwtError::TokenTypeMismatch);
        };
        let typ = normalize(typ);
        if !settings
            .header_types
            .iter()
            .any(|wanted| normalize(wanted) == typ)
        {
            return Err(JwtError::TokenTypeMismatch);
        }
    }

    let payload_typ = settings.token_type.as_deref().or(match settings.profile {
        Profile::Keycloak => Some("Bearer"),
        _ => None,
    });
    if let Some(expected) = payload_typ {
        match claims.string("typ") {
            Some(Some(typ)) if typ == expected => {}
            Some(Some(_)) | None => return Err(JwtError::TokenTypeMismatch),
            Some(None) => return Err(JwtError::claim_malformed("typ", "a string")),
        }
    }
    Ok(())
}
