//! `ddf-auth apikey`: issue API keys and compute their digests.
//!
//! `new` prints two lines on standard output: the key (shown only this once)
//! and a YAML flow mapping to paste under `keys:` in the API-key file that
//! `ddf_apikey::MemoryKeyStore` loads, for example
//!
//! ```text
//! 3f0c2e9a7b1d4c8a9e5f6a7b8c9d0e1f
//! - {id: "indexer-1", owner: "svc-indexer", roles: ["readonly"], digest: "…64 hex…", created: 1767225600, expires: 1769817600}
//! ```
//!
//! `hash` reads one key from standard input (a single trailing newline is
//! allowed) and prints its SHA-256 digest, the same as
//! `printf %s KEY | sha256sum`.

use std::io::Read;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use ddf_apikey::{ApiKey, KeyRecord, RotationPolicy};

/// Arguments of `ddf-auth apikey`.
#[derive(Debug, Args)]
pub(crate) struct ApikeyArgs {
    #[command(subcommand)]
    command: ApikeyCommand,
}

#[derive(Debug, Subcommand)]
enum ApikeyCommand {
    /// Generates a key, prints it once, and prints the record line for the key file.
    New {
        /// Public id of the key (letters, digits, '.', '_', '-').
        #[arg(long)]
        id: String,
        /// User or service the key belongs to.
        #[arg(long)]
        owner: String,
        /// Comma-separated roles granted to the key.
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// Lifetime, as a number with unit s, m, h or d (e.g. 30d). The
        /// verifier's maximum age (30 days by default) applies as well.
        #[arg(long, default_value = "30d", value_parser = parse_lifetime)]
        expires_in: u64,
    },
    /// Reads a key from standard input and prints its SHA-256 digest.
    Hash,
}

/// Runs an `apikey` subcommand and returns the process exit code.
pub(crate) fn run(args: ApikeyArgs) -> ExitCode {
    match args.command {
        ApikeyCommand::New {
            id,
            owner,
            roles,
            expires_in,
        } => issue(&id, &owner, roles, expires_in),
        ApikeyCommand::Hash => hash(),
    }
}

/// Parses `30d`, `12h`, `90m` or `3600s` into seconds.
fn parse_lifetime(text: &str) -> Result<u64, String> {
    let invalid =
        || format!("invalid lifetime {text:?}: use a number with unit s, m, h or d, e.g. 30d");
    let split = text.len().checked_sub(1).ok_or_else(invalid)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        "d" => 24 * 60 * 60,
        _ => return Err(invalid()),
    };
    match number.checked_mul(scale) {
        Some(0) | None => Err(invalid()),
        Some(seconds) => Ok(seconds),
    }
}

fn issue(id: &str, owner: &str, roles: Vec<String>, expires_in: u64) -> ExitCode {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let roles: Vec<String> = roles.into_iter().filter(|role| !role.is_empty()).collect();

    let key = ApiKey::generate();
    let record = KeyRecord::new(id, owner, key.digest(), now)
        .with_roles(roles)
        .with_expires(now.saturating_add(expires_in));
    if let Err(error) = record.validate() {
        eprintln!("ddf-auth apikey new: {error}");
        return ExitCode::from(2);
    }

    let max_age = RotationPolicy::default().max_age_secs;
    if expires_in > max_age {
        eprintln!(
            "note: --expires-in exceeds the verifier's default maximum age of {} days, which ends the key first",
            max_age / (24 * 60 * 60)
        );
    }

    println!("{}", key.expose_secret());
    println!("{}", record_line(&record));
    eprintln!(
        "Store the key now: it is shown only once. Paste the second line under `keys:` in the API-key YAML file."
    );
    ExitCode::SUCCESS
}

/// Formats a record as one YAML flow mapping; strings are JSON-quoted, which
/// YAML reads as double-quoted scalars.
fn record_line(record: &KeyRecord) -> String {
    let quote = |text: &str| serde_json::to_string(text).unwrap_or_default();
    let roles: Vec<String> = record.roles.iter().map(|role| quote(role)).collect();
    let expires = record
        .expires
        .map(|expires| format!(", expires: {expires}"))
        .unwrap_or_default();
    format!(
        "- {{id: {}, owner: {}, roles: [{}], digest: \"{}\", created: {}{expires}}}",
        quote(&record.id),
        quote(&record.owner),
        roles.join(", "),
        record.digest.to_hex(),
        record.created,
    )
}

fn hash() -> ExitCode {
    // A key is 32 bytes; reading a little more is enough to reject anything
    // longer without buffering unbounded input.
    let mut input = Vec::with_capacity(64);
    if let Err(error) = std::io::stdin().take(64).read_to_end(&mut input) {
        eprintln!("ddf-auth apikey hash: cannot read standard input: {error}");
        return ExitCode::from(2);
    }

    let line = input
        .strip_suffix(b"\r\n")
        .or_else(|| input.strip_suffix(b"\n"))
        .unwrap_or(&input);
    let Ok(key) = ApiKey::parse(line) else {
        eprintln!(
            "ddf-auth apikey hash: invalid API key on standard input: expected 32 lower-case hexadecimal characters and at most one trailing newline"
        );
        return ExitCode::FAILURE;
    };
    println!("{}", key.digest().to_hex());
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse_with_units() {
        assert_eq!(parse_lifetime("30d"), Ok(30 * 86_400));
        assert_eq!(parse_lifetime("12h"), Ok(43_200));
        assert_eq!(parse_lifetime("90m"), Ok(5_400));
        assert_eq!(parse_lifetime("3600s"), Ok(3_600));
        for bad in ["", "d", "30", "30w", "-1d", "0d", "99999999999999999999d"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn record_line_is_yaml_that_loads() {
        let record = KeyRecord::new("k-1", "svc \"x\"", ApiKey::generate().digest(), 10)
            .with_roles(["a", "b"])
            .with_expires(20);
        let yaml = format!("keys:\n  {}\n", record_line(&record));
        let entries = ddf_apikey::config::parse_yaml(&yaml).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].owner.as_deref(), Some("svc \"x\""));
        assert_eq!(entries[0].roles, ["a", "b"]);
        assert_eq!(entries[0].digest, record.digest);
        assert_eq!(entries[0].expires, Some(20));
    }
}
