//! Tokens of every algorithm verify with an independent implementation:
//! PyJWT on pyca/cryptography, run by `tests/independent/verify_issued.py`.
//!
//! The test fails, rather than skipping, when `python3` cannot import `jwt`
//! and `cryptography`; install them with `pip install pyjwt cryptography`.

mod issue_support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use ddf_jwt::issue::{KeySchedule, SigningAlgorithm, SigningKey, TokenIssuer, TokenPolicy};
use issue_support::{ASYMMETRIC, AUDIENCE, ISSUER, TempDir, fixture_text, keyring_with};

fn require_python_libraries() {
    let output = Command::new("python3")
        .args(["-c", "import jwt, cryptography"])
        .output();
    let available = output.as_ref().is_ok_and(|output| output.status.success());
    assert!(
        available,
        "python3 with PyJWT and cryptography is required for the independent verification: \
         run `pip install pyjwt cryptography` ({output:?})"
    );
}

fn case(name: &str, alg: SigningAlgorithm, token: &str, expect: &str) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "alg": alg.as_str(),
        "token": token,
        "expect": expect,
        "issuer": ISSUER,
        "audience": AUDIENCE,
    })
}

#[test]
fn pyjwt_verifies_every_algorithm() {
    require_python_libraries();

    // Keys of the same keyring activate in order, so only the newest signs.
    // One keyring per algorithm keeps each key active; their JWKS are merged.
    let mut jwks = Vec::new();
    let mut cases = Vec::new();
    for alg in ASYMMETRIC {
        let (keyring, _clock) = keyring_with(&[alg]);
        let issuer = TokenIssuer::new(
            Arc::clone(&keyring),
            TokenPolicy::new(ISSUER).with_audience(AUDIENCE),
        )
        .unwrap();
        let token = issuer
            .token(format!("svc-{alg}"))
            .claims(&serde_json::json!({ "roles": ["llm:invoke"] }))
            .unwrap()
            .sign()
            .unwrap();
        let wrong_audience = issuer.token("svc").audience("other").sign().unwrap();
        let (header_payload, _) = token.as_str().rsplit_once('.').unwrap();
        let (_, other_signature) = wrong_audience.as_str().rsplit_once('.').unwrap();

        cases.push(case(&format!("{alg}-valid"), alg, token.as_str(), "valid"));
        cases.push(case(
            &format!("{alg}-wrong-audience"),
            alg,
            wrong_audience.as_str(),
            "invalid",
        ));
        cases.push(case(
            &format!("{alg}-swapped-signature"),
            alg,
            &format!("{header_payload}.{other_signature}"),
            "invalid",
        ));
        jwks.extend(keyring.public_jwks().keys);
    }

    // HS256 from a committed oct JWK, checked with the same secret.
    let secret_jwk: serde_json::Value =
        serde_json::from_str(&fixture_text("hs256.jwk.json")).unwrap();
    let (keyring, _clock) = keyring_with(&[]);
    keyring
        .insert(
            "shared",
            SigningKey::from_jwk(SigningAlgorithm::HS256, &secret_jwk.to_string()).unwrap(),
            KeySchedule::active_from(issue_support::system_now() - 1),
        )
        .unwrap();
    let issuer =
        TokenIssuer::new(keyring, TokenPolicy::new(ISSUER).with_audience(AUDIENCE)).unwrap();
    let token = issuer.token("local").sign().unwrap();
    let mut hs_case = case(
        "HS256-valid",
        SigningAlgorithm::HS256,
        token.as_str(),
        "valid",
    );
    hs_case["secret_jwk"] = secret_jwk;
    cases.push(hs_case);

    let dir = TempDir::new("pyjwt");
    write_json(
        &dir.path().join("jwks.json"),
        &serde_json::json!({ "keys": jwks }),
    );
    write_json(
        &dir.path().join("cases.json"),
        &serde_json::Value::Array(cases.clone()),
    );

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/independent/verify_issued.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "verify_issued.py failed:\n{stdout}\n{stderr}"
    );

    let lines: Vec<&str> = stdout.lines().collect();
    let expected: Vec<String> = cases
        .iter()
        .map(|case| format!("PASS {}", case["name"].as_str().unwrap()))
        .collect();
    assert_eq!(lines, expected, "stderr: {stderr}");
}

fn write_json(path: &Path, value: &serde_json::Value) {
    std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
}
