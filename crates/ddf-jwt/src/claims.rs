//! Registered-claim rules, evaluated only after the signature verified.

use serde_json::{Map, Value};

use crate::config::{IssuerConfig, TENANT_PLACEHOLDER};
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

/// Reads a `NumericDate` claim: absent is `Ok(None)`; a present claim must be
/// a JSON number in `0..=MAX_NUMERIC_DATE`, fractions allowed.
pub(crate) fn numeric_date(
    claims: &Map<String, Value>,
    name: &str,
) -> Result<Option<f64>, JwtError> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let seconds = value
        .as_f64()
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
    claims: &Map<String, Value>,
    header_typ: Option<&str>,
    issuer: &IssuerConfig,
    now: f64,
) -> Result<Lifetime, JwtError> {
    let settings = &issuer.settings;
    let leeway = settings.leeway_seconds as f64;

    // Types first: a wrongly typed date is malformed even when its check is off.
    let exp = numeric_date(claims, "exp")?;
    let nbf = numeric_date(claims, "nbf")?;
    let iat = numeric_date(claims, "iat")?;
    let audiences = read_audience(claims)?;
    if claims.get("sub").is_some_and(|sub| !sub.is_string()) {
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

    if settings.require_subject
        && claims
            .get("sub")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        return Err(JwtError::SubjectMissing);
    }

    check_token_type(claims, header_typ, issuer)?;

    if let Some(expected) = &settings.authorized_party
        && claims.get("azp").and_then(Value::as_str) != Some(expected.as_str())
    {
        return Err(JwtError::AzpMismatch);
    }

    if settings.profile == Profile::Cognito {
        // Cognito ID tokens carry `aud`; access tokens carry `client_id` and
        // `token_use: access`. An API accepts access tokens only.
        match claims.get("token_use") {
            None => return Err(JwtError::claim_missing("token_use")),
            Some(value) if value != "access" => return Err(JwtError::claim_mismatch("token_use")),
            Some(_) => {}
        }
    }

    for name in &settings.required_claims {
        if !claims.contains_key(name) {
            return Err(JwtError::claim_missing(name));
        }
    }
    for (name, expected) in &settings.required_claim_values {
        match claims.get(name) {
            None => return Err(JwtError::claim_missing(name)),
            Some(value) if value != expected => return Err(JwtError::claim_mismatch(name)),
            Some(_) => {}
        }
    }
    for check in &issuer.checks {
        if !(check.check)(claims) {
            return Err(JwtError::claim_mismatch(&check.name));
        }
    }

    Ok(Lifetime { exp, valid_until })
}

fn check_issuer(claims: &Map<String, Value>, issuer: &IssuerConfig) -> Result<(), JwtError> {
    let settings = &issuer.settings;
    let iss = match claims.get("iss") {
        None => return Err(JwtError::claim_missing("iss")),
        Some(Value::String(iss)) => iss,
        // An array or number is never an issuer, and no membership test is done.
        Some(_) => return Err(JwtError::IssuerMismatch),
    };
    if !settings.issuer.contains(TENANT_PLACEHOLDER) {
        return if *iss == settings.issuer {
            Ok(())
        } else {
            Err(JwtError::IssuerMismatch)
        };
    }

    // Entra multi-tenant: the issuer is the template with the token's own
    // `tid` substituted, and that tenant must be allowed.
    let tid = match claims.get("tid") {
        None => return Err(JwtError::claim_missing("tid")),
        Some(Value::String(tid)) => tid,
        Some(_) => return Err(JwtError::claim_malformed("tid", "a string")),
    };
    if !settings
        .allowed_tenants
        .iter()
        .any(|allowed| allowed == tid)
    {
        return Err(JwtError::IssuerMismatch);
    }
    if *iss != settings.issuer.replace(TENANT_PLACEHOLDER, tid) {
        return Err(JwtError::IssuerMismatch);
    }
    Ok(())
}

/// `aud` as read from the token: absent, or a list of strings (a single
/// string becomes a list of one).
fn read_audience(claims: &Map<String, Value>) -> Result<Option<Vec<&str>>, JwtError> {
    const EXPECTED: &str = "a string or an array of strings";
    match claims.get("aud") {
        None => Ok(None),
        Some(Value::String(aud)) => Ok(Some(vec![aud.as_str()])),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| JwtError::claim_malformed("aud", EXPECTED))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(JwtError::claim_malformed("aud", EXPECTED)),
    }
}

fn check_audience(
    claims: &Map<String, Value>,
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
            match claims.get(fallback) {
                None => Err(JwtError::claim_missing(fallback)),
                Some(Value::String(value)) => {
                    if candidates.into_iter().any(|wanted| wanted == value) {
                        Ok(())
                    } else {
                        Err(JwtError::AudienceMismatch)
                    }
                }
                Some(_) => Err(JwtError::claim_malformed(fallback, "a string")),
            }
        }
    }
}

fn check_token_type(
    claims: &Map<String, Value>,
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
        match claims.get("typ") {
            Some(Value::String(typ)) if typ == expected => {}
            Some(Value::String(_)) | None => return Err(JwtError::TokenTypeMismatch),
            Some(_) => return Err(JwtError::claim_malformed("typ", "a string")),
        }
    }
    Ok(())
}
