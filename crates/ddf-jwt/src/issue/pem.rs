//! PKCS#8 PEM armour and the small part of DER needed to name a key's type.
//!
//! The crypto backend parses and validates the key itself. This module only
//! removes the PEM armour and reads the algorithm OID, so that a key of the
//! wrong type gets a precise error instead of a generic parse failure.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::IssueError;

const PKCS8_LABEL: &str = "PRIVATE KEY";
const LINE_WIDTH: usize = 64;

/// Key types that a PKCS#8 `PrivateKeyInfo` can announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pkcs8KeyType {
    Rsa,
    RsaPss,
    EcP256,
    EcOtherCurve,
    Ed25519,
    Unknown,
}

impl Pkcs8KeyType {
    /// Returns a phrase naming the key type for error messages.
    pub(crate) const fn describe(self) -> &'static str {
        match self {
            Self::Rsa => "an RSA key",
            Self::RsaPss => "an RSA-PSS-restricted key",
            Self::EcP256 => "an EC P-256 key",
            Self::EcOtherCurve => "an EC key on a curve other than P-256",
            Self::Ed25519 => "an Ed25519 key",
            Self::Unknown => "a key of an unsupported type",
        }
    }
}

const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// Decodes a `-----BEGIN PRIVATE KEY-----` block into PKCS#8 DER.
///
/// Text before the first and after the last armour line is rejected, so a
/// file holding two keys or a certificate chain cannot load the wrong one.
pub(crate) fn decode_pkcs8_pem(text: &str) -> Result<Zeroizing<Vec<u8>>, IssueError> {
    let malformed = |reason| IssueError::KeyMalformed {
        kid: String::new(),
        reason,
    };

    let text = text.trim();
    for (label, reason) in [
        (
            "-----BEGIN RSA PRIVATE KEY-----",
            "PKCS#1 `RSA PRIVATE KEY` PEM is not accepted: convert it with `openssl pkcs8 -topk8 -nocrypt`",
        ),
        (
            "-----BEGIN EC PRIVATE KEY-----",
            "SEC1 `EC PRIVATE KEY` PEM is not accepted: convert it with `openssl pkcs8 -topk8 -nocrypt`",
        ),
        (
            "-----BEGIN ENCRYPTED PRIVATE KEY-----",
            "encrypted PKCS#8 is not accepted: store the key unencrypted in the secrets manager",
        ),
    ] {
        if text.starts_with(label) {
            return Err(malformed(reason));
        }
    }

    let body = text
        .strip_prefix("-----BEGIN PRIVATE KEY-----")
        .and_then(|rest| rest.strip_suffix("-----END PRIVATE KEY-----"))
        .ok_or_else(|| {
            malformed(
                "expected exactly one `-----BEGIN PRIVATE KEY-----` block (PKCS#8 PEM) and nothing else",
            )
        })?;
    if body.contains("-----") {
        return Err(malformed("the PEM text holds more than one block"));
    }

    let compact: Zeroizing<Vec<u8>> = Zeroizing::new(
        body.bytes()
            .filter(|byte| !byte.is_ascii_whitespace())
            .collect(),
    );
    let mut der = Zeroizing::new(Vec::with_capacity(compact.len() / 4 * 3));
    STANDARD
        .decode_vec(compact.as_slice(), &mut der)
        .map_err(|_| malformed("the PEM body is not valid base64"))?;
    if der.is_empty() {
        return Err(malformed("the PEM body is empty"));
    }
    Ok(der)
}

/// Encodes PKCS#8 DER as a `PRIVATE KEY` PEM block with 64-column lines.
pub(crate) fn encode_pkcs8_pem(der: &[u8]) -> Zeroizing<String> {
    let encoded = Zeroizing::new(STANDARD.encode(der));
    let mut pem = Zeroizing::new(String::with_capacity(
        encoded.len() + encoded.len() / 64 + 64,
    ));
    pem.push_str("-----BEGIN ");
    pem.push_str(PKCS8_LABEL);
    pem.push_str("-----\n");
    for line in encoded.as_bytes().chunks(LINE_WIDTH) {
        // The base64 alphabet is ASCII, so every chunk is valid UTF-8.
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END ");
    pem.push_str(PKCS8_LABEL);
    pem.push_str("-----\n");
    pem
}

/// Reads the algorithm identifier of a PKCS#8 `PrivateKeyInfo`.
///
/// Returns `None` when the bytes do not start like a `PrivateKeyInfo`:
/// `SEQUENCE { INTEGER version, SEQUENCE { OID algorithm, parameters } ... }`.
pub(crate) fn pkcs8_key_type(der: &[u8]) -> Option<Pkcs8KeyType> {
    let (outer, _) = read_tlv(der, 0x30)?;
    let (_version, rest) = read_tlv(outer, 0x02)?;
    let (algorithm, _) = read_tlv(rest, 0x30)?;
    let (oid, parameters) = read_tlv(algorithm, 0x06)?;

    let key_type = match oid {
        OID_RSA_ENCRYPTION => Pkcs8KeyType::Rsa,
        OID_RSASSA_PSS => Pkcs8KeyType::RsaPss,
        OID_ED25519 => Pkcs8KeyType::Ed25519,
        OID_EC_PUBLIC_KEY => match read_tlv(parameters, 0x06) {
            Some((OID_PRIME256V1, _)) => Pkcs8KeyType::EcP256,
            _ => Pkcs8KeyType::EcOtherCurve,
        },
        _ => Pkcs8KeyType::Unknown,
    };
    Some(key_type)
}

/// Splits one DER element with the expected tag off `input`, returning its
/// contents and the bytes after it.
fn read_tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, after) = rest.split_at(count);
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, &byte| (acc << 8) | usize::from(byte))
    };
    if rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_keeps_bytes() {
        let der: Vec<u8> = (0..=255u8).collect();
        let pem = encode_pkcs8_pem(&der);
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pem.lines().all(|line| line.len() <= LINE_WIDTH));
        assert_eq!(decode_pkcs8_pem(&pem).unwrap().as_slice(), der.as_slice());
    }

    #[test]
    fn pkcs1_pem_names_the_conversion() {
        let error = decode_pkcs8_pem(
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----",
        )
        .unwrap_err();
        assert!(error.to_string().contains("openssl pkcs8 -topk8"));
    }

    #[test]
    fn two_blocks_are_rejected() {
        let one = encode_pkcs8_pem(&[1, 2, 3]);
        let two = format!("{}{}", one.as_str(), one.as_str());
        let error = decode_pkcs8_pem(&two).unwrap_err();
        assert_eq!(error.kind(), super::super::IssueErrorKind::KeyMalformed);
    }

    #[test]
    fn truncated_der_has_no_key_type() {
        assert_eq!(pkcs8_key_type(&[0x30, 0x82, 0xff]), None);
        assert_eq!(pkcs8_key_type(&[]), None);
    }
}
