//! `ddf-auth jwt keygen` writes loadable keys and uses the documented exit codes.

use std::path::PathBuf;
use std::process::{Command, Output};

use ddf_jwt::issue::{PublicJwk, SigningAlgorithm, SigningKey};

fn ddf_auth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ddf-auth"))
        .args(args)
        .output()
        .expect("ddf-auth runs")
}

/// A path in a fresh directory under the system temp dir, removed on drop.
struct TempPath {
    dir: PathBuf,
}

impl TempPath {
    fn new(label: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "ddf-cli-keygen-{label}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn keygen_writes_private_key_file_and_prints_jwk() {
    let temp = TempPath::new("out");
    for alg in ["EdDSA", "ES256", "RS256", "PS256"] {
        let path = temp.file(&format!("{alg}.pem"));
        let output = ddf_auth(&[
            "jwt",
            "keygen",
            "--alg",
            alg,
            "--kid",
            "2026-01",
            "--out",
            path.to_str().unwrap(),
        ]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{alg}: {}",
            String::from_utf8_lossy(&output.stderr)
        );

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{alg}");
        }

        let pem = std::fs::read_to_string(&path).unwrap();
        let key =
            SigningKey::from_pkcs8_pem(alg.parse::<SigningAlgorithm>().unwrap(), &pem).unwrap();
        let printed: PublicJwk = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(printed, key.public_jwk("2026-01").unwrap(), "{alg}");
        assert_eq!(printed.alg, alg);
        assert!(output.stderr.is_empty(), "{alg}");
        assert!(!String::from_utf8_lossy(&output.stdout).contains("PRIVATE KEY"));
    }
}

#[test]
fn keygen_without_out_prints_pem_on_stdout() {
    let output = ddf_auth(&["jwt", "keygen", "--alg", "ES256", "--kid", "k1"]);
    assert_eq!(output.status.code(), Some(0));
    let pem = String::from_utf8(output.stdout).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let key = SigningKey::from_pkcs8_pem(SigningAlgorithm::ES256, &pem).unwrap();
    let printed: PublicJwk = serde_json::from_slice(&output.stderr).unwrap();
    assert_eq!(printed, key.public_jwk("k1").unwrap());
}

#[test]
fn keygen_rsa_bits_sets_modulus() {
    let output = ddf_auth(&[
        "jwt",
        "keygen",
        "--alg",
        "PS256",
        "--kid",
        "k1",
        "--rsa-bits",
        "3072",
    ]);
    assert_eq!(output.status.code(), Some(0));
    let key = SigningKey::from_pkcs8_pem(
        SigningAlgorithm::PS256,
        &String::from_utf8(output.stdout).unwrap(),
    )
    .unwrap();
    assert_eq!(key.rsa_modulus_bits(), Some(3072));
}

#[test]
fn keygen_never_overwrites_a_file() {
    let temp = TempPath::new("exists");
    let path = temp.file("key.pem");
    std::fs::write(&path, "keep me").unwrap();
    let output = ddf_auth(&[
        "jwt",
        "keygen",
        "--alg",
        "EdDSA",
        "--kid",
        "k1",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("never overwritten"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
}

#[test]
fn keygen_usage_errors_exit_2() {
    let cases: [&[&str]; 5] = [
        &["jwt", "keygen", "--alg", "HS256", "--kid", "k1"],
        &["jwt", "keygen", "--alg", "eddsa", "--kid", "k1"],
        &["jwt", "keygen", "--alg", "EdDSA"],
        &["jwt", "keygen", "--alg", "EdDSA", "--kid", ""],
        &[
            "jwt",
            "keygen",
            "--alg",
            "RS256",
            "--kid",
            "k1",
            "--rsa-bits",
            "1024",
        ],
    ];
    for args in cases {
        let output = ddf_auth(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}
