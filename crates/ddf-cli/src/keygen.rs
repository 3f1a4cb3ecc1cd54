//! `ddf-auth jwt keygen`: generates a signing key pair for the ddf-jwt keyring.
//!
//! Output streams: with `--out FILE`, the PKCS#8 PEM private key goes to
//! FILE (created with mode 0600, never overwritten) and the public JWK to
//! stdout. Without `--out`, the private key goes to stdout and the public
//! JWK to stderr, so `ddf-auth jwt keygen ... > key.pem` captures only the
//! private key.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use ddf_jwt::issue::{SigningAlgorithm, SigningKey};

/// Options of `jwt keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// Signing algorithm of the new key.
    #[arg(long, value_enum)]
    alg: KeygenAlgorithm,

    /// Key id to put in the public JWK and in the keyring configuration.
    #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    kid: String,

    /// File for the private key, created with mode 0600; the public JWK then goes to stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// RSA modulus size in bits: 2048, 3072 or 4096 (RS256 and PS256 only).
    #[arg(long, default_value_t = 2048, value_parser = parse_rsa_bits)]
    rsa_bits: u32,
}

const RSA_BITS_EXPECTED: &str = "expected 2048, 3072 or 4096";

fn parse_rsa_bits(value: &str) -> Result<u32, String> {
    match value {
        "2048" | "3072" | "4096" => value.parse().map_err(|_| RSA_BITS_EXPECTED.to_owned()),
        _ => Err(RSA_BITS_EXPECTED.to_owned()),
    }
}

/// Algorithms with a public key; HS256 secrets are not generated here.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum KeygenAlgorithm {
    #[value(name = "EdDSA")]
    EdDsa,
    #[value(name = "ES256")]
    Es256,
    #[value(name = "RS256")]
    Rs256,
    #[value(name = "PS256")]
    Ps256,
}

impl From<KeygenAlgorithm> for SigningAlgorithm {
    fn from(alg: KeygenAlgorithm) -> Self {
        match alg {
            KeygenAlgorithm::EdDsa => Self::EdDSA,
            KeygenAlgorithm::Es256 => Self::ES256,
            KeygenAlgorithm::Rs256 => Self::RS256,
            KeygenAlgorithm::Ps256 => Self::PS256,
        }
    }
}

/// Runs `jwt keygen` and returns the process exit code.
pub(crate) fn run(args: &KeygenArgs) -> ExitCode {
    match keygen(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ddf-auth jwt keygen: {message}");
            ExitCode::from(1)
        }
    }
}

fn keygen(args: &KeygenArgs) -> Result<(), String> {
    let alg = SigningAlgorithm::from(args.alg);
    let key = SigningKey::generate_with_rsa_bits(alg, args.rsa_bits)
        .map_err(|error| error.to_string())?;
    let pem = key.to_pkcs8_pem().map_err(|error| error.to_string())?;
    let jwk = key
        .public_jwk(&args.kid)
        .ok_or_else(|| format!("{alg} keys have no public JWK"))?;
    let jwk = serde_json::to_string_pretty(&jwk).map_err(|error| error.to_string())?;

    if let Some(path) = &args.out {
        write_private(path, pem.as_bytes())?;
        println!("{jwk}");
    } else {
        print!("{}", pem.as_str());
        eprintln!("{jwk}");
    }
    Ok(())
}

/// Writes the private key to a new file that only the owner can read.
fn write_private(path: &Path, pem: &[u8]) -> Result<(), String> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);

    let failed = |error: std::io::Error| {
        format!(
            "cannot write the private key to {}: {error} (an existing file is never overwritten)",
            path.display()
        )
    };
    let mut file = options.open(path).map_err(failed)?;
    file.write_all(pem).map_err(failed)?;
    file.sync_all().map_err(failed)
}
