//! What a store keeps about one key.

use serde::{Deserialize, Serialize};

use crate::error::ApiKeyError;
use crate::key::KeyDigest;

/// Maximum length of a record id, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// Maximum length of an owner or role name, in bytes.
pub const MAX_NAME_LEN: usize = 256;

/// One API key as a store keeps it: public metadata and the key's SHA-256
/// digest, never the key itself. Every field is safe to log.
///
/// Times are whole seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRecord {
    /// Public identifier, unique in the store: letters, digits, `.`, `_`, `-`.
    pub id: String,
    /// The user or service the key belongs to; becomes the principal's subject.
    pub owner: String,
    /// Roles granted to requests made with the key.
    #[serde(default)]
    pub roles: Vec<String>,
    /// SHA-256 of the key's 32 ASCII characters.
    pub digest: KeyDigest,
    /// When the key was issued; the maximum age counts from here.
    pub created: u64,
    /// The key is rejected before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<u64>,
    /// The key is rejected from this time on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
    /// The key is rejected from this time on; a time in the future schedules
    /// the revocation, which is how a rotation overlap ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<u64>,
    /// Free text for operators, such as the client's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When the key was last used, if the store tracks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<u64>,
}

impl KeyRecord {
    /// Creates a record with no time limits beyond the verifier's maximum age.
    pub fn new(
        id: impl Into<String>,
        owner: impl Into<String>,
        digest: KeyDigest,
        created: u64,
    ) -> Self {
        Self {
            id: id.into(),
            owner: owner.into(),
            roles: Vec::new(),
            digest,
            created,
            not_before: None,
            expires: None,
            revoked_at: None,
            description: None,
            last_used: None,
        }
    }

    /// Replaces the roles.
    #[must_use]
    pub fn with_roles<I, R>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the expiry.
    #[must_use]
    pub fn with_expires(mut self, unix_seconds: u64) -> Self {
        self.expires = Some(unix_seconds);
        self
    }

    /// Sets the time before which the key is rejected.
    #[must_use]
    pub fn with_not_before(mut self, unix_seconds: u64) -> Self {
        self.not_before = Some(unix_seconds);
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Checks the id, owner and role names.
    ///
    /// # Errors
    ///
    /// Returns a `config_invalid` error naming the field at fault.
    pub fn validate(&self) -> Result<(), ApiKeyError> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= MAX_ID_LEN
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !id_ok {
            return Err(ApiKeyError::config(format!(
                "invalid key id {:?}: use 1 to {MAX_ID_LEN} letters, digits, '.', '_' or '-'",
                truncate(&self.id)
            )));
        }

        if !is_valid_name(&self.owner) {
            return Err(ApiKeyError::config(format!(
                "key {:?}: invalid owner: use 1 to {MAX_NAME_LEN} bytes without control characters",
                self.id
            )));
        }

        for role in &self.roles {
            if !is_valid_name(role) || role.contains([',', ';']) {
                return Err(ApiKeyError::config(format!(
                    "key {:?}: invalid role {:?}: use 1 to {MAX_NAME_LEN} bytes without control characters, ',' or ';'",
                    self.id,
                    truncate(role)
                )));
            }
        }

        Ok(())
    }
}

fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME_LEN && !name.chars().any(char::is_control)
}

fn truncate(text: &str) -> &str {
    match text.char_indices().nth(40) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> KeyRecord {
        KeyRecord::new(
            "k-1",
            "alice",
            KeyDigest::from_bytes([1; 32]),
            1_700_000_000,
        )
        .with_roles(["user"])
    }

    #[test]
    fn serde_round_trip_keeps_fields() {
        let record = record()
            .with_expires(1_800_000_000)
            .with_not_before(1_700_000_100)
            .with_description("indexer");
        let json = serde_json::to_string(&record).unwrap();
        let back: KeyRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn validate_accepts_plain_names() {
        record().validate().unwrap();
    }

    #[test]
    fn validate_rejects_bad_id_owner_role() {
        let mut bad_id = record();
        bad_id.id = "k 1".into();
        let mut bad_owner = record();
        bad_owner.owner = "al\nice".into();
        let bad_role = record().with_roles(["a,b"]);
        for bad in [bad_id, bad_owner, bad_role] {
            assert_eq!(
                bad.validate().unwrap_err().kind().as_str(),
                "config_invalid"
            );
        }
    }
}
