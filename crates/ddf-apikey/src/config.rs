//! Key records from configuration: YAML or TOML files and environment variables.
//!
//! File format (YAML shown; TOML uses `[[keys]]` tables with the same fields):
//!
//! ```yaml
//! keys:
//!   - id: indexer-2026-12          # required; letters, digits, '.', '_', '-'
//!     owner: svc-indexer           # optional; defaults to the id
//!     roles: [readonly]
//!     digest: 5947d7c33d783f94b3b4c1a96ebc8991ed28f1b069b71e03376cba8caa98a720
//!     created: 1767225600          # optional; Unix seconds
//!     expires: 1769817600          # optional; also not_before, revoked_at, description
//! ```
//!
//! Environment format, as a secrets manager injects it: entries of
//! `id:sha256hex:role,role` separated by `;` or newlines. Whitespace around an
//! entry is ignored, empty entries are skipped, and the role list may be empty
//! (`id:hex:`). Role names may contain `:` (`id:hex:llm:reader`) but not `,`
//! or `;`. The owner is the id.
//!
//! An entry without `created` (every environment entry) gets the time at
//! which the store first loaded it, and the store keeps that time across
//! reloads, so the maximum age counts from the first load in this process.
//! Set `created` or `expires` in a file for an age that survives restarts.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::ApiKeyError;
use crate::key::KeyDigest;

/// One record as configuration states it, before the store fills in the
/// defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// Public identifier.
    pub id: String,
    /// Owner; the id when absent.
    #[serde(default)]
    pub owner: Option<String>,
    /// Roles granted by the key.
    #[serde(default)]
    pub roles: Vec<String>,
    /// SHA-256 of the key, as 64 hex characters.
    pub digest: KeyDigest,
    /// Issue time; the first load time when absent.
    #[serde(default)]
    pub created: Option<u64>,
    /// See [`KeyRecord::not_before`](crate::KeyRecord::not_before).
    #[serde(default)]
    pub not_before: Option<u64>,
    /// See [`KeyRecord::expires`](crate::KeyRecord::expires).
    #[serde(default)]
    pub expires: Option<u64>,
    /// See [`KeyRecord::revoked_at`](crate::KeyRecord::revoked_at).
    #[serde(default)]
    pub revoked_at: Option<u64>,
    /// Free text for operators.
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    #[serde(default)]
    keys: Vec<KeyEntry>,
}

/// Where a [`MemoryKeyStore`](crate::MemoryKeyStore) loads its records from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySource {
    /// A YAML (`.yaml`, `.yml`) or TOML (`.toml`) file with a `keys` list.
    File(PathBuf),
    /// An environment variable in the `id:sha256hex:role,role` format.
    Env(String),
}

impl KeySource {
    /// Reads and parses the source.
    ///
    /// # Errors
    ///
    /// Returns `config_invalid` when the file or variable is missing or does
    /// not parse.
    pub fn load(&self) -> Result<Vec<KeyEntry>, ApiKeyError> {
        match self {
            Self::File(path) => load_file(path),
            Self::Env(name) => {
                let value = std::env::var(name).map_err(|error| {
                    ApiKeyError::config(format!(
                        "cannot read API keys from environment variable {name}: {error}"
                    ))
                })?;
                parse_env(&value)
            }
        }
    }
}

fn load_file(path: &Path) -> Result<Vec<KeyEntry>, ApiKeyError> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        ApiKeyError::config(format!(
            "cannot read API-key file {}: {error}",
            path.display()
        ))
    })?;

    let extension = path.extension().and_then(|ext| ext.to_str()).unwrap_or("");
    match extension {
        "yaml" | "yml" => parse_yaml(&text),
        "toml" => parse_toml(&text),
        _ => Err(ApiKeyError::config(format!(
            "cannot tell the format of API-key file {}: name it .yaml, .yml or .toml",
            path.display()
        ))),
    }
}

/// Parses a YAML document with a `keys` list.
///
/// # Errors
///
/// Returns `config_invalid` with the parser's message.
pub fn parse_yaml(text: &str) -> Result<Vec<KeyEntry>, ApiKeyError> {
    let file: KeyFile = serde_saphyr::from_str(text)
        .map_err(|error| ApiKeyError::config(format!("invalid API-key YAML: {error}")))?;
    Ok(file.keys)
}

/// Parses a TOML document with `[[keys]]` tables.
///
/// # Errors
///
/// Returns `config_invalid` with the parser's message.
pub fn parse_toml(text: &str) -> Result<Vec<KeyEntry>, ApiKeyError> {
    let file: KeyFile = toml::from_str(text)
        .map_err(|error| ApiKeyError::config(format!("invalid API-key TOML: {error}")))?;
    Ok(file.keys)
}

/// Parses `id:sha256hex:role,role` entries separated by `;` or newlines.
///
/// # Errors
///
/// Returns `config_invalid` naming the 1-based entry number at fault.
pub fn parse_env(text: &str) -> Result<Vec<KeyEntry>, ApiKeyError> {
    let mut entries = Vec::new();
    let pieces = text
        .split([';', '\n'])
        .map(str::trim)
        .filter(|piece| !piece.is_empty());

    for (index, piece) in pieces.enumerate() {
        let number = index + 1;
        // Ids and digests contain no ':', so roles may (`llm:reader`).
        let fields: Vec<&str> = piece.splitn(3, ':').collect();
        let [id, digest, roles] = fields.as_slice() else {
            return Err(ApiKeyError::config(format!(
                "API-key entry {number}: expected id:sha256hex:role,role, got {} field(s)",
                fields.len()
            )));
        };

        let digest = KeyDigest::from_hex(digest).map_err(|error| {
            ApiKeyError::config(format!("API-key entry {number} ({id}): {error}"))
        })?;
        let roles = roles
            .split(',')
            .map(str::trim)
            .filter(|role| !role.is_empty())
            .map(str::to_owned)
            .collect();

        entries.push(KeyEntry {
            id: (*id).to_owned(),
            owner: None,
            roles,
            digest,
            created: None,
            not_before: None,
            expires: None,
            revoked_at: None,
            description: None,
        });
    }

    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST_A: &str = "5947d7c33d783f94b3b4c1a96ebc8991ed28f1b069b71e03376cba8caa98a720";
    const DIGEST_B: &str = "0000000000000000000000000000000000000000000000000000000000000001";

    #[test]
    fn env_accepts_semicolons_newlines_and_empty_roles() {
        let text = format!(" a:{DIGEST_A}:user,llm:admin ;\n\nb:{DIGEST_B}:\n");
        let entries = parse_env(&text).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].id, "a");
        assert_eq!(entries[0].roles, ["user", "llm:admin"]);
        assert_eq!(entries[0].digest.to_hex(), DIGEST_A);
        assert_eq!(entries[1].id, "b");
        assert!(entries[1].roles.is_empty());
        assert_eq!(entries[1].owner, None);
    }

    #[test]
    fn env_rejects_wrong_field_count_and_bad_digest() {
        let two = parse_env(&format!("a:{DIGEST_A}")).unwrap_err();
        assert!(two.to_string().contains("entry 1"), "{two}");
        let short = parse_env(&format!("a:{DIGEST_A}:x;b:abc:y")).unwrap_err();
        assert!(short.to_string().contains("entry 2 (b)"), "{short}");
        assert_eq!(short.kind().as_str(), "config_invalid");
    }

    #[test]
    fn yaml_and_toml_parse_the_same_records() {
        let yaml = format!(
            "keys:\n  - id: a\n    owner: alice\n    roles: [user]\n    digest: {DIGEST_A}\n    created: 10\n    expires: 20\n"
        );
        let toml = format!(
            "[[keys]]\nid = \"a\"\nowner = \"alice\"\nroles = [\"user\"]\ndigest = \"{DIGEST_A}\"\ncreated = 10\nexpires = 20\n"
        );
        let from_yaml = parse_yaml(&yaml).unwrap();
        let from_toml = parse_toml(&toml).unwrap();
        assert_eq!(from_yaml, from_toml);
        assert_eq!(from_yaml[0].owner.as_deref(), Some("alice"));
        assert_eq!(from_yaml[0].expires, Some(20));
    }

    #[test]
    fn yaml_rejects_unknown_fields() {
        let yaml = format!("keys:\n  - id: a\n    digest: {DIGEST_A}\n    secret: x\n");
        assert_eq!(
            parse_yaml(&yaml).unwrap_err().kind().as_str(),
            "config_invalid"
        );
    }
}
