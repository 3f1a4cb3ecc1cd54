//! `ddf-auth jwt verify --jwks URL | --discover ISSUER_URL` and
//! `ddf-auth jwks show URL` against a small HTTP server on 127.0.0.1.
//!
//! The fixture is a synthetic corpus case (throwaway keys): a token, the
//! JWKS that verifies it, and the time at which it is valid.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

const CASE: &str = include_str!("fixtures/J05_kid_unknown_refetch_finds_rotated_key.json");

type Routes = Arc<Mutex<HashMap<String, (u16, String)>>>;

/// Serves `routes` (path to status and body) until the test process ends.
fn serve(routes: Routes) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let path = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() <= 2 {
                    break;
                }
            }
            let (status, body) = routes
                .lock()
                .unwrap()
                .get(&path)
                .cloned()
                .unwrap_or((404, "not found".to_owned()));
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

fn ddf_auth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ddf-auth"))
        .args(args)
        .output()
        .unwrap()
}

struct Fixture {
    token: String,
    issuer: String,
    now: String,
    jwks: String,
}

fn fixture() -> Fixture {
    let case: Value = serde_json::from_str(CASE).unwrap();
    Fixture {
        token: case["token"].as_str().unwrap().to_owned(),
        issuer: case["config"]["issuer"].as_str().unwrap().to_owned(),
        now: case["now"].to_string(),
        jwks: case["jwks"].to_string(),
    }
}

fn verify_args<'a>(fixture: &'a Fixture, keys: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["jwt", "verify"];
    args.extend_from_slice(keys);
    args.extend_from_slice(&[
        "--allow-http-loopback",
        "--audience",
        "orders-api",
        "--leeway",
        "0",
        "--at",
        &fixture.now,
        &fixture.token,
    ]);
    args
}

#[test]
fn verify_with_jwks_url() {
    let fixture = fixture();
    let routes = Routes::default();
    routes
        .lock()
        .unwrap()
        .insert("/certs".into(), (200, fixture.jwks.clone()));
    let url = format!("{}/certs", serve(routes));

    let output = ddf_auth(&verify_args(
        &fixture,
        &["--jwks", &url, "--issuer", &fixture.issuer],
    ));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["claims"]["iss"], fixture.issuer.as_str());
}

#[test]
fn verify_with_discovery() {
    let fixture = fixture();
    let routes = Routes::default();
    let base = serve(Arc::clone(&routes));
    // The provider here is the loopback server, so its discovery document
    // names the loopback base as issuer. The token's https issuer then fails
    // the check unless --issuer names it.
    routes.lock().unwrap().insert(
        "/realm/.well-known/openid-configuration".into(),
        (
            200,
            json!({"issuer": format!("{base}/realm"), "jwks_uri": format!("{base}/certs")})
                .to_string(),
        ),
    );
    routes
        .lock()
        .unwrap()
        .insert("/certs".into(), (200, fixture.jwks.clone()));
    let issuer_url = format!("{base}/realm");

    // With --issuer naming the token's issuer, the signature and claims pass.
    let output = ddf_auth(&verify_args(
        &fixture,
        &["--discover", &issuer_url, "--issuer", &fixture.issuer],
    ));
    assert_eq!(output.status.code(), Some(0), "{output:?}");

    // Without it the discovered issuer is expected, which the token lacks.
    let output = ddf_auth(&verify_args(&fixture, &["--discover", &issuer_url]));
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error[issuer_mismatch]"), "{stderr}");
}

#[test]
fn verify_reports_unavailable_jwks() {
    let fixture = fixture();
    let routes = Routes::default();
    routes
        .lock()
        .unwrap()
        .insert("/certs".into(), (500, "{}".into()));
    let url = format!("{}/certs", serve(routes));

    let output = ddf_auth(&verify_args(
        &fixture,
        &["--jwks", &url, "--issuer", &fixture.issuer],
    ));
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error[jwks_unavailable]"), "{stderr}");
    assert!(!stderr.contains(&fixture.token));
}

#[test]
fn plain_http_to_other_hosts_is_a_usage_error() {
    let fixture = fixture();
    let output = ddf_auth(&verify_args(
        &fixture,
        &[
            "--jwks",
            "http://idp.example.test/certs",
            "--issuer",
            &fixture.issuer,
        ],
    ));
    assert_eq!(output.status.code(), Some(2), "{output:?}");

    let output = ddf_auth(&["jwks", "show", "http://127.0.0.1:9/certs"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

#[test]
fn jwks_show_url_lists_keys_and_skipped_entries() {
    let fixture = fixture();
    let mut jwks: Value = serde_json::from_str(&fixture.jwks).unwrap();
    jwks["keys"].as_array_mut().unwrap().push(json!({
        "kty": "oct", "kid": "shared", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI"
    }));
    let routes = Routes::default();
    routes
        .lock()
        .unwrap()
        .insert("/certs".into(), (200, jwks.to_string()));
    let url = format!("{}/certs", serve(routes));

    let output = ddf_auth(&["jwks", "show", "--allow-http-loopback", &url]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(!printed["keys"].as_array().unwrap().is_empty());
    let skipped = printed["skipped"].as_array().unwrap();
    assert!(
        skipped
            .iter()
            .any(|entry| entry["kid"] == "shared" && entry["reason"] == "symmetric_key_not_allowed"),
        "{printed}"
    );
}
