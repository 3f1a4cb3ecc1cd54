//! `ddf-auth apikey` run as a process.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use ddf_apikey::ApiKey;

fn ddf_auth(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ddf-auth"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn new_prints_key_and_loadable_record() {
    let output = ddf_auth(
        &[
            "apikey",
            "new",
            "--id",
            "idx-1",
            "--owner",
            "svc-indexer",
            "--roles",
            "readonly,llm:query",
            "--expires-in",
            "7d",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");

    let key = ApiKey::parse(lines[0].as_bytes()).expect("the first line is the key");
    let entries = ddf_apikey::config::parse_yaml(&format!("keys:\n  {}\n", lines[1])).unwrap();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry.id, "idx-1");
    assert_eq!(entry.owner.as_deref(), Some("svc-indexer"));
    assert_eq!(entry.roles, ["readonly", "llm:query"]);
    assert_eq!(entry.digest, key.digest());
    let created = entry.created.unwrap();
    assert_eq!(entry.expires, Some(created + 7 * 86_400));

    assert!(!lines[1].contains(key.expose_secret()));
    assert!(!text(&output.stderr).contains(key.expose_secret()));
}

#[test]
fn new_rejects_invalid_id_and_lifetime() {
    let bad_id = ddf_auth(&["apikey", "new", "--id", "a b", "--owner", "o"], b"");
    assert_eq!(bad_id.status.code(), Some(2));
    assert!(text(&bad_id.stderr).contains("invalid key id"));
    assert!(bad_id.stdout.is_empty());

    let bad_lifetime = ddf_auth(
        &[
            "apikey",
            "new",
            "--id",
            "a",
            "--owner",
            "o",
            "--expires-in",
            "30w",
        ],
        b"",
    );
    assert_eq!(bad_lifetime.status.code(), Some(2));
    assert!(text(&bad_lifetime.stderr).contains("invalid lifetime"));
}

#[test]
fn hash_prints_sha256_of_key() {
    // Expected value from `printf %s KEY | sha256sum`.
    let expected = "5947d7c33d783f94b3b4c1a96ebc8991ed28f1b069b71e03376cba8caa98a720\n";
    for input in [
        &b"00112233445566778899aabbccddeeff"[..],
        b"00112233445566778899aabbccddeeff\n",
        b"00112233445566778899aabbccddeeff\r\n",
    ] {
        let output = ddf_auth(&["apikey", "hash"], input);
        assert_eq!(output.status.code(), Some(0));
        assert_eq!(text(&output.stdout), expected);
    }
}

#[test]
fn hash_rejects_invalid_key_without_echo() {
    let canary = "00112233445566778899AABBCCDDEEFF";
    let inputs: [&[u8]; 5] = [
        canary.as_bytes(),
        b"",
        b"0011\n",
        b" 00112233445566778899aabbccddeeff",
        &[b'a'; 4096],
    ];
    for input in inputs {
        let output = ddf_auth(&["apikey", "hash"], input);
        assert_eq!(output.status.code(), Some(1));
        assert!(output.stdout.is_empty());
        let stderr = text(&output.stderr);
        assert!(stderr.contains("invalid API key"), "{stderr}");
        assert!(!stderr.contains(canary));
        assert!(!stderr.contains("0011"));
    }
}

#[test]
fn apikey_without_subcommand_is_usage_error() {
    let output = ddf_auth(&["apikey"], b"");
    assert_eq!(output.status.code(), Some(2));
}
