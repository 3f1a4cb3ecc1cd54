//! Every case of the JWT/JWKS corpus in `tests/fixtures/corpus/` (real
//! identity-provider tokens and JWKS, public bug reports, synthetic attacks), run through the
//! validator with the clock frozen at the case's `now`.
//!
//! Corpus error names map to reason codes as follows: `TokenTooLarge`,
//! `Malformed`, `InvalidBase64`, `InvalidJson`, `DuplicateMember` and
//! `UnsupportedHeader` are `token_malformed` with a matching
//! `MalformedReason`; `WeakKey` is `key_not_found` whose message names the
//! skipped weak key; `ClaimMismatch` is `claim_mismatch` or
//! `token_type_mismatch`; the rest map one to one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ddf_jwt::{
    Algorithm, ErrorKind, IssuerConfig, JwksOptions, JwtError, KeySet, KeySetFuture, KeySource,
    MalformedReason, Profile, SkipReason, StaticKeySource, Validator,
};
use ddf_rbac::ManualClock;
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")
}

fn load_case(id: &str) -> Value {
    let dir = corpus_dir().join("tokens");
    let prefix = format!("{id}_");
    let entry = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| {
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&prefix)
        })
        .unwrap_or_else(|| panic!("no corpus case {id}"));
    serde_json::from_slice(&std::fs::read(entry).unwrap()).unwrap()
}

/// A key source that models a remote JWKS: `cached` keys are served first;
/// on an unknown kid the recorded fetch result (`jwks` or `jwks_response`)
/// is used, keeping the cached keys when the fetch fails.
#[derive(Debug)]
struct RecordedSource {
    held: Mutex<Result<Arc<KeySet>, JwtError>>,
    fetch: Result<Arc<KeySet>, JwtError>,
    refreshes: Mutex<u32>,
}

impl RecordedSource {
    fn new(case: &Value, options: &JwksOptions) -> Self {
        let fetch = fetch_result(case, options);
        let held = match case.get("jwks_cached") {
            Some(cached) => Ok(Arc::new(
                KeySet::from_jwks_json_with(cached.to_string(), options)
                    .unwrap()
                    .0,
            )),
            None => fetch.clone(),
        };
        Self {
            held: Mutex::new(held),
            fetch,
            refreshes: Mutex::new(0),
        }
    }
}

fn fetch_result(case: &Value, options: &JwksOptions) -> Result<Arc<KeySet>, JwtError> {
    if let Some(response) = case.get("jwks_response") {
        let status = response["status"].as_u64().unwrap();
        let content_type = response["content_type"].as_str().unwrap();
        if status != 200 || !content_type.starts_with("application/json") {
            return Err(JwtError::JwksUnavailable {
                reason: format!("fetch answered {status} {content_type}"),
            });
        }
        let body = response["body"].as_str().unwrap();
        return KeySet::from_jwks_json_with(body, options).map(|(keys, _)| Arc::new(keys));
    }
    let jwks = case["jwks"].to_string();
    KeySet::from_jwks_json_with(jwks, options).map(|(keys, _)| Arc::new(keys))
}

impl KeySource for RecordedSource {
    fn current(&self) -> Result<Arc<KeySet>, JwtError> {
        self.held.lock().unwrap().clone()
    }

    fn refresh_for_unknown_kid(&self, _kid: Option<&str>) -> KeySetFuture<'_> {
        Box::pin(async move {
            *self.refreshes.lock().unwrap() += 1;
            let mut held = self.held.lock().unwrap();
            if let Ok(keys) = &self.fetch {
                *held = Ok(Arc::clone(keys));
            }
            match &*held {
                Ok(keys) => Ok(Arc::clone(keys)),
                Err(_) => self.fetch.clone(),
            }
        })
    }
}

/// Builds the validator a case describes.
fn validator_for(case: &Value) -> Validator {
    let config = &case["config"];
    let options = JwksOptions {
        allow_symmetric_keys: config["allow_symmetric_jwks"].as_bool().unwrap_or(false),
        ..JwksOptions::default()
    };
    let source: Arc<dyn KeySource> = Arc::new(RecordedSource::new(case, &options));

    let issuers: Vec<String> = if let Some(issuer) = config["issuer"].as_str() {
        vec![issuer.to_owned()]
    } else if let Some(list) = config["issuers"].as_array() {
        list.iter()
            .map(|iss| iss.as_str().unwrap().to_owned())
            .collect()
    } else {
        vec![config["issuer_template"].as_str().unwrap().to_owned()]
    };
    let algorithms: Vec<Algorithm> = config["algorithms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|alg| alg.as_str().unwrap().parse().unwrap())
        .collect();
    let expected_claims = case.get("expected_claims");
    let profile = match expected_claims {
        Some(claims) if claims.get("realm_roles").is_some() => Profile::Keycloak,
        Some(claims) if claims.get("permissions").is_some() => Profile::Auth0,
        _ => Profile::Generic,
    };

    let mut builder = Validator::builder()
        .clock(ManualClock::at_unix_seconds(case["now"].as_u64().unwrap()))
        .max_token_bytes(config["max_token_bytes"].as_u64().unwrap() as usize);
    for issuer in issuers {
        let mut issuer = IssuerConfig::with_shared_keys(issuer, Arc::clone(&source))
            .algorithms(algorithms.iter().copied())
            .leeway_seconds(config["leeway"].as_u64().unwrap())
            .profile(profile);
        if let Some(audience) = config["audience"].as_str() {
            issuer = issuer.audience(audience);
        }
        if let Some(claim) = config["audience_claim_fallback"].as_str() {
            issuer = issuer.audience_claim_fallback(claim);
        }
        if let Some(required) = config["required_claims"].as_object() {
            for (name, value) in required {
                issuer = issuer.required_claim_value(name, value.clone());
            }
        }
        for tenant in config["allowed_tenants"].as_array().into_iter().flatten() {
            issuer = issuer.allowed_tenant(tenant.as_str().unwrap());
        }
        if let Some(clients) = expected_claims.and_then(|claims| claims["client_roles"].as_object())
        {
            for client in clients.keys() {
                issuer = issuer.client_id(client);
            }
        }
        // Two accepted cases have no `sub`: the RFC 7515 example (the case
        // is about the exact signing input) and the AD FS client-credentials
        // token (it names the client in `appid`). The subject rule, on by
        // default, is relaxed for those two alone.
        if case["id"] == "R16" || case["id"] == "R06" {
            issuer = issuer.require_subject(false);
        }
        builder = builder.issuer(issuer);
    }
    builder.build().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Asserts that `error` is what the corpus names `expected`.
fn assert_expected_error(id: &str, expected: &str, error: &JwtError) {
    let kind = error.kind();
    let reason = error.malformed_reason();
    let matches = expected.split('|').any(|name| match name {
        "TokenTooLarge" => reason == Some(MalformedReason::TooLarge),
        "Malformed" => kind == ErrorKind::TokenMalformed,
        "InvalidBase64" => reason == Some(MalformedReason::Base64),
        "InvalidJson" => matches!(
            reason,
            Some(MalformedReason::Json | MalformedReason::NotAnObject)
        ),
        "DuplicateMember" => reason == Some(MalformedReason::DuplicateMember),
        "UnsupportedHeader" => reason == Some(MalformedReason::UnsupportedHeader),
        "UnsupportedCritical" => kind == ErrorKind::CritUnsupported,
        "AlgorithmNotAllowed" => kind == ErrorKind::AlgNotAllowed,
        "KeyNotFound" => kind == ErrorKind::KeyNotFound,
        "WeakKey" => matches!(
            error,
            JwtError::KeyNotFound {
                skipped: Some(SkipReason::WeakRsaKey),
                ..
            }
        ),
        "InvalidSignature" => kind == ErrorKind::SignatureInvalid,
        "Expired" => kind == ErrorKind::TokenExpired,
        "NotYetValid" => kind == ErrorKind::TokenNotYetValid,
        "IssuedInFuture" => kind == ErrorKind::TokenIssuedInFuture,
        "InvalidIssuer" => kind == ErrorKind::IssuerMismatch,
        "InvalidAudience" => kind == ErrorKind::AudienceMismatch,
        "MissingClaim" => kind == ErrorKind::ClaimMissing,
        "InvalidClaimType" => kind == ErrorKind::ClaimMalformed,
        "ClaimMismatch" => matches!(
            kind,
            ErrorKind::ClaimMismatch | ErrorKind::TokenTypeMismatch
        ),
        "JwksUnavailable" => kind == ErrorKind::JwksUnavailable,
        "JwksInvalid" => kind == ErrorKind::JwksInvalid,
        other => panic!("{id}: unknown corpus error {other}"),
    });
    assert!(matches, "{id}: expected {expected}, got {kind} ({error})");
}

fn run_case(id: &str) {
    let case = load_case(id);
    let validator = validator_for(&case);
    let expect = case["expect"].as_str().unwrap();

    // Authorization-header cases: splitting the header is the HTTP layer's
    // job. Here the extracted token must validate, and the raw header value
    // itself is never a valid token.
    if let Some(header) = case.get("authorization_header").and_then(Value::as_str) {
        let raw = runtime().block_on(validator.validate(header));
        assert_eq!(
            raw.unwrap_err().kind(),
            ErrorKind::TokenMalformed,
            "{id}: a raw Authorization value must not validate"
        );
        if let Some(token) = case.get("extracted_token").and_then(Value::as_str) {
            let verified = runtime().block_on(validator.validate(token));
            assert_eq!(expect, "accept");
            assert!(verified.is_ok(), "{id}: {:?}", verified.err());
        }
        return;
    }

    let token = case["token"].as_str().unwrap();
    let result = runtime().block_on(validator.validate(token));
    match expect {
        "accept" => {
            let verified = result.unwrap_or_else(|error| {
                panic!("{id}: expected accept, got {} ({error})", error.kind())
            });
            let principal = verified.principal();
            assert_eq!(
                Some(principal.subject()),
                verified.claim("sub").and_then(Value::as_str).or(Some("")),
                "{id}"
            );
            if let Some(expected) = case.get("expected_claims") {
                check_expected_claims(id, expected, &verified);
            }
            // The same token again comes from the verified-token cache.
            let again = runtime().block_on(validator.validate(token)).unwrap();
            assert_eq!(again.principal(), principal);
        }
        "reject" => {
            let error = result
                .err()
                .unwrap_or_else(|| panic!("{id}: expected reject, got accept"));
            assert_expected_error(id, case["error"].as_str().unwrap(), &error);
            // Messages never repeat the token.
            assert!(
                !error.to_string().contains(token.get(..20).unwrap_or(token)),
                "{id}"
            );
        }
        other => panic!("{id}: unknown expect {other}"),
    }
}

fn check_expected_claims(id: &str, expected: &Value, verified: &ddf_jwt::VerifiedToken) {
    let principal = verified.principal();
    if let Some(sub) = expected.get("sub") {
        assert_eq!(principal.subject(), sub.as_str().unwrap(), "{id}");
    }
    for role in expected
        .get("realm_roles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        assert!(
            principal.has_role(role.as_str().unwrap()),
            "{id}: missing {role}"
        );
    }
    if let Some(clients) = expected.get("client_roles").and_then(Value::as_object) {
        for (client, roles) in clients {
            for role in roles.as_array().unwrap() {
                let name = format!("{client}/{}", role.as_str().unwrap());
                assert!(principal.has_role(&name), "{id}: missing {name}");
            }
        }
        // Another client's roles are not mapped.
        assert!(
            !principal
                .roles()
                .iter()
                .any(|role| role.starts_with("account/")),
            "{id}"
        );
    }
    for permission in expected
        .get("permissions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        assert!(
            principal.has_role(permission.as_str().unwrap()),
            "{id}: missing {permission}"
        );
    }
}

macro_rules! corpus_cases {
    ($($name:ident => $id:literal,)*) => {
        $(
            #[test]
            fn $name() {
                run_case($id);
            }
        )*

        const LISTED: &[&str] = &[$($id),*];
    };
}

corpus_cases! {
    a01_azure_multitenant_template_issuer => "A01",
    a02_azure_iss_tenant_differs_from_tid => "A02",
    b01_bearer_lowercase_scheme => "B01",
    b02_bearer_two_spaces => "B02",
    b03_bearer_no_space => "B03",
    b05_basic_scheme => "B05",
    b06_bearer_two_tokens => "B06",
    c01_cognito_access_token_no_aud => "C01",
    c03_cognito_id_token_to_api => "C03",
    g01_google_iss_without_scheme => "G01",
    h01_kid_path_traversal => "H01",
    h02_kid_sql_injection => "H02",
    h04_jku_attacker_url => "H04",
    h05_x5u_attacker_url => "H05",
    h06_embedded_jwk_header => "H06",
    j01_unknown_kty_and_broken_keys_ignored => "J01",
    j02_published_oct_key => "J02",
    j03_duplicate_kid_second_key => "J03",
    j05_unknown_kid_refetch_finds_rotated_key => "J05",
    j07_fetch_returns_html => "J07",
    j08_fetch_500_with_cached_keys => "J08",
    j09_fetch_500_no_cache => "J09",
    j11_keys_not_array => "J11",
    k01_keycloak_access_token_valid => "K01",
    k02_keycloak_aud_account_only => "K02",
    k03_keycloak_no_aud => "K03",
    k05_keycloak_id_token_as_access_token => "K05",
    k06_keycloak_enc_key_used_for_signature => "K06",
    p01_es256_valid => "P01",
    p02a_es256_psychic_zero_raw => "P02a",
    p02b_es256_psychic_zero_der => "P02b",
    p03_es256_der_signature => "P03",
    p05_es384_valid => "P05",
    p07_eddsa_valid => "P07",
    r01_auth0_real => "R01",
    r02_keycloak_id_token_real => "R02",
    r03_azure_v1_real => "R03",
    r04_google_id_token_real => "R04",
    r05_okta_real => "R05",
    r06_adfs_real => "R06",
    r07_auth0_real_expired => "R07",
    r08_auth0_real_issuer_without_slash => "R08",
    r09_keycloak_real_wrong_audience => "R09",
    r10_keycloak_real_only_enc_key_left => "R10",
    r11_azure_real_v1_token_v2_issuer => "R11",
    r12_google_real_payload_tampered => "R12",
    r13_okta_real_alg_confusion => "R13",
    r14_adfs_real_before_nbf => "R14",
    r15_google_real_rotated_jwks => "R15",
    r16_rfc7515_hs256_crlf_header => "R16",
    r17_rfc7515_expired => "R17",
    r18_rfc7519_unsecured => "R18",
    s01_hs256_with_pem_secret => "S01",
    s02_hs256_with_jwk_json_secret => "S02",
    s03a_alg_none => "S03a",
    s03b_alg_none_capitalised => "S03b",
    s03c_alg_none_upper => "S03c",
    s03e_alg_none_with_signature => "S03e",
    s03f_alg_none_two_segments => "S03f",
    s04a_alg_lower_case => "S04a",
    s04b_alg_trailing_space => "S04b",
    s05_alg_missing => "S05",
    s06_jwk_alg_rs512_token_rs256 => "S06",
    s07_jwk_without_alg_and_use => "S07",
    s08_weak_rsa_1024 => "S08",
    s11_duplicate_claim => "S11",
    s13_header_not_object => "S13",
    s14_payload_json_string => "S14",
    s15_header_invalid_utf8 => "S15",
    s16_crit_unknown_extension => "S16",
    s17_crit_empty_list => "S17",
    s18a_b64_false_unencoded => "S18a",
    s18b_b64_false_without_crit => "S18b",
    s20_exp_as_string => "S20",
    s21_exp_as_float => "S21",
    s23_exp_missing => "S23",
    s24_exp_boolean => "S24",
    s26_expired_by_1s => "S26",
    s27_exp_equal_now => "S27",
    s28_exp_within_leeway => "S28",
    s29_nbf_in_future => "S29",
    s30_nbf_within_leeway => "S30",
    s40_iss_array => "S40",
    s40c_iss_number => "S40c",
    s42_iss_case_changed => "S42",
    s43_aud_array_contains_expected => "S43",
    s44_aud_empty_array => "S44",
    s45_aud_empty_string => "S45",
    s46_aud_array_with_non_string => "S46",
    s46b_aud_number => "S46b",
    s48_aud_present_none_configured => "S48",
    s50_base64_padding => "S50",
    s51_base64_standard_alphabet => "S51",
    s53_trailing_newline => "S53",
    s55_four_segments => "S55",
    s56_jwe_five_segments => "S56",
    s57_empty_signature => "S57",
    s59_rsa_signature_truncated => "S59",
    s60_payload_tampered => "S60",
    s70_oversized_token => "S70",
    u01_auth0_aud_array => "U01",
}

#[test]
fn every_corpus_case_is_listed() {
    let mut ids: Vec<String> = std::fs::read_dir(corpus_dir().join("tokens"))
        .unwrap()
        .map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            name.split('_').next().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    let mut listed: Vec<String> = LISTED.iter().map(|id| (*id).to_owned()).collect();
    listed.sort();
    assert_eq!(ids, listed);
}

#[test]
fn every_corpus_jwks_document_loads() {
    for entry in std::fs::read_dir(corpus_dir().join("jwks")).unwrap() {
        let path = entry.unwrap().path();
        let document = std::fs::read(&path).unwrap();
        let (keys, skipped) = KeySet::from_jwks_json(&document)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let total = serde_json::from_slice::<Value>(&document).unwrap()["keys"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(keys.len() + skipped.len(), total, "{}", path.display());
    }
}

#[test]
fn keycloak_jwks_skips_the_encryption_key() {
    let document = std::fs::read(corpus_dir().join("jwks/real_redpanda_keycloak.json")).unwrap();
    let (keys, skipped) = KeySet::from_jwks_json(document).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].reason, SkipReason::EncryptionKey);
}

#[test]
fn firezone_duplicate_kid_keys_are_weak() {
    let document =
        std::fs::read(corpus_dir().join("jwks/fixture_firezone_duplicate_kid.json")).unwrap();
    let (keys, skipped) = KeySet::from_jwks_json(document).unwrap();
    assert!(keys.is_empty());
    assert!(
        skipped
            .iter()
            .all(|key| key.reason == SkipReason::WeakRsaKey)
    );
}

#[test]
fn unknown_and_broken_keys_are_reported() {
    let document =
        std::fs::read(corpus_dir().join("jwks/syn_unknown_and_broken_keys.json")).unwrap();
    let (keys, skipped) = KeySet::from_jwks_json(document).unwrap();
    let reasons: Vec<(Option<&str>, SkipReason)> = skipped
        .iter()
        .map(|key| (key.kid.as_deref(), key.reason))
        .collect();
    assert_eq!(keys.len(), 1);
    assert!(reasons.contains(&(Some("pq-2026"), SkipReason::UnsupportedKeyType)));
    assert!(reasons.contains(&(Some("ecdh-1"), SkipReason::EncryptionKey)));
    assert!(reasons.contains(&(Some("k1-1"), SkipReason::UnsupportedCurve)));
    assert!(reasons.contains(&(Some("shared-secret"), SkipReason::SymmetricKeyNotAllowed)));
    assert!(reasons.contains(&(Some("broken-rsa"), SkipReason::MalformedMember)));
}

#[test]
fn static_source_serves_a_corpus_file() {
    let (source, skipped) = StaticKeySource::from_jwks_file(
        corpus_dir().join("jwks/real_redpanda_auth0.json"),
        &JwksOptions::default(),
    )
    .unwrap();
    assert!(skipped.is_empty());
    assert_eq!(source.current().unwrap().len(), 2);
}
