//! The JWKS cases of the token corpus (`tests/fixtures/corpus/tokens/J*`),
//! served over HTTP on 127.0.0.1 and validated through `RemoteJwks`.
//!
//! A case's `jwks_cached` is the first response, `jwks` or `jwks_response`
//! every later one. Where the corpus suggests `JwksInvalid` for a
//! validation with nothing cached, validation reports `jwks_unavailable`
//! (no usable keys) and the fetch itself reports `jwks_invalid`.

#![cfg(feature = "remote")]

mod remote_support;

use std::path::Path;

use ddf_jwt::{Algorithm, ErrorKind, IssuerConfig, RemoteJwks, Validator};
use ddf_rbac::ManualClock;
use remote_support::{Idp, Reply, test_config};
use serde_json::Value;

const JWKS: &str = "/certs";

fn load_case(id: &str) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/tokens");
    let prefix = format!("{id}_");
    let path = std::fs::read_dir(&dir)
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
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn reply_for(document: &Value, response: Option<&Value>) -> Reply {
    if !document.is_null() {
        return Reply::json(document.to_string());
    }
    let response = response.expect("a case without jwks has a jwks_response");
    let status = u16::try_from(response["status"].as_u64().unwrap()).unwrap();
    Reply::status(status, response["body"].as_str().unwrap())
        .with_header("content-type", response["content_type"].as_str().unwrap())
}

struct Run {
    idp: Idp,
    keys: RemoteJwks,
    validator: Validator,
    token: String,
    initial: Result<(), ErrorKind>,
}

async fn run_case(id: &str) -> Run {
    let case = load_case(id);
    let idp = Idp::start().await;
    let later = reply_for(&case["jwks"], case.get("jwks_response"));
    if let Some(cached) = case.get("jwks_cached") {
        idp.push(JWKS, Reply::json(cached.to_string()));
    }
    idp.set(JWKS, later);

    let clock = ManualClock::at_unix_seconds(case["now"].as_u64().unwrap());
    let keys = RemoteJwks::builder(idp.url(JWKS))
        .config(test_config())
        .clock(clock.clone())
        .build()
        .unwrap();
    let initial = keys
        .refresh()
        .await
        .map(|_| ())
        .map_err(|error| error.kind());

    let config = &case["config"];
    let algorithms: Vec<Algorithm> = config["algorithms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|alg| alg.as_str().unwrap().parse().unwrap())
        .collect();
    let validator = Validator::builder()
        .issuer(
            IssuerConfig::new(config["issuer"].as_str().unwrap(), keys.clone())
                .audience(config["audience"].as_str().unwrap())
                .algorithms(algorithms)
                .leeway_seconds(config["leeway"].as_u64().unwrap()),
        )
        .clock(clock)
        .build()
        .unwrap();
    Run {
        idp,
        keys,
        validator,
        token: case["token"].as_str().unwrap().to_owned(),
        initial,
    }
}

async fn reason(run: &Run) -> &'static str {
    match run.validator.validate(&run.token).await {
        Ok(_) => "accepted",
        Err(error) => error.kind().as_str(),
    }
}

#[tokio::test]
async fn corpus_j01_unknown_and_broken_keys_skipped() {
    let run = run_case("J01").await;
    assert_eq!(run.initial, Ok(()));
    assert_eq!(reason(&run).await, "accepted");
    assert!(!run.keys.status().key_ids.is_empty());
}

#[tokio::test]
async fn corpus_j02_published_oct_key_never_used() {
    let run = run_case("J02").await;
    assert_eq!(run.initial, Ok(()));
    assert_eq!(reason(&run).await, "alg_not_allowed");
}

#[tokio::test]
async fn corpus_j03_duplicate_kid_second_key_verifies() {
    let run = run_case("J03").await;
    assert_eq!(run.initial, Ok(()));
    assert_eq!(reason(&run).await, "accepted");
}

#[tokio::test]
async fn corpus_j05_unknown_kid_refetch_finds_rotated_key() {
    let run = run_case("J05").await;
    assert_eq!(run.initial, Ok(()));
    assert_eq!(run.idp.hits(JWKS), 1);
    assert_eq!(reason(&run).await, "accepted");
    assert_eq!(run.idp.hits(JWKS), 2);
}

#[tokio::test]
async fn corpus_j07_html_response_is_unavailable() {
    let run = run_case("J07").await;
    assert_eq!(run.initial, Err(ErrorKind::JwksInvalid));
    assert_eq!(reason(&run).await, "jwks_unavailable");
}

#[tokio::test]
async fn corpus_j08_server_error_keeps_cached_keys() {
    let run = run_case("J08").await;
    assert_eq!(run.initial, Ok(()));
    assert_eq!(
        run.keys.refresh().await.unwrap_err().kind(),
        ErrorKind::JwksUnavailable
    );
    assert_eq!(reason(&run).await, "accepted");
}

#[tokio::test]
async fn corpus_j09_server_error_with_nothing_cached() {
    let run = run_case("J09").await;
    assert_eq!(run.initial, Err(ErrorKind::JwksUnavailable));
    assert_eq!(reason(&run).await, "jwks_unavailable");
}

#[tokio::test]
async fn corpus_j11_keys_not_an_array() {
    let run = run_case("J11").await;
    assert_eq!(run.initial, Err(ErrorKind::JwksInvalid));
    assert_eq!(reason(&run).await, "jwks_unavailable");
}
