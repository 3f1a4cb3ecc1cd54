//! A hash index over key digests whose lookups take the same steps for a hit
//! and a miss.
//!
//! The table has a power-of-two number of buckets with [`SLOTS`] slots each.
//! A digest's first eight bytes (its tag) choose the bucket. A lookup
//! compares the tag with every slot of that bucket without branching, so the
//! instructions run and the memory touched depend only on the bucket, not on
//! whether or where the digest matched. The bucket is derived from the
//! digest, not from the key, so learning it tells an attacker nothing that
//! helps find a key (that would need a SHA-256 preimage).

use std::collections::HashMap;

use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::error::ApiKeyError;
use crate::key::KeyDigest;

/// Slots per bucket. With at most one record per bucket on average, a bucket
/// overflows with probability about 1e-6, and the table then doubles.
const SLOTS: usize = 8;

#[derive(Debug)]
pub(crate) struct DigestIndex {
    mask: usize,
    tags: Vec<[u64; SLOTS]>,
    /// Record numbers. An empty slot names some other record of the table
    /// (the placeholder, 0, only while the table is empty).
    slots: Vec<[u32; SLOTS]>,
}

impl DigestIndex {
    /// Returns an index with one empty bucket.
    pub(crate) fn empty() -> Self {
        Self {
            mask: 1,
            tags: vec![[1; SLOTS], [0; SLOTS]],
            slots: vec![[0; SLOTS]; 2],
        }
    }

    /// Builds the index over `(id, digest)` pairs; the first pair is the
    /// placeholder and is not indexed.
    pub(crate) fn build<'a, I>(records: I) -> Result<Self, ApiKeyError>
    where
        I: IntoIterator<Item = (&'a String, &'a KeyDigest)>,
    {
        let mut tags: Vec<(u64, u32)> = Vec::new();
        let mut owners: HashMap<u64, (&String, &KeyDigest)> = HashMap::new();

        for (number, (id, digest)) in records.into_iter().enumerate().skip(1) {
            let tag = digest.tag();
            if let Some((other_id, other_digest)) = owners.insert(tag, (id, digest)) {
                let message = if other_digest == digest {
                    format!("API keys {other_id:?} and {id:?} have the same digest")
                } else {
                    // Two SHA-256 outputs sharing 64 leading bits happens by
                    // chance with probability about n^2 / 2^65.
                    format!(
                        "API keys {other_id:?} and {id:?} have digests with the same first 8 bytes; reissue one of them"
                    )
                };
                return Err(ApiKeyError::config(message));
            }
            let number = u32::try_from(number)
                .map_err(|_| ApiKeyError::config("too many API keys for one index"))?;
            tags.push((tag, number));
        }

        // Random digests fit at the first or second size; digests crafted to
        // share their low bits would otherwise double the table without end.
        // At least two buckets, so that an empty slot can hold a tag that
        // belongs to another bucket (see `try_fill`).
        let first = tags.len().max(2).next_power_of_two();
        let mut buckets = first;
        while buckets <= first * 8 {
            if let Some(index) = Self::try_fill(&tags, buckets) {
                return Ok(index);
            }
            buckets *= 2;
        }
        Err(ApiKeyError::config(format!(
            "more than {SLOTS} API-key digests share their low bits; the digests are not SHA-256 outputs of random keys"
        )))
    }

    fn try_fill(tags: &[(u64, u32)], buckets: usize) -> Option<Self> {
        let mask = buckets - 1;
        let mut index = Self {
            mask,
            tags: vec![[0; SLOTS]; buckets],
            slots: vec![[0; SLOTS]; buckets],
        };
        let mut used = vec![0usize; buckets];

        for &(tag, number) in tags {
            let bucket = Self::bucket_of(tag, mask);
            let slot = used[bucket];
            if slot == SLOTS {
                return None;
            }
            index.tags[bucket][slot] = tag;
            index.slots[bucket][slot] = number;
            used[bucket] += 1;
        }

        // Empty slots name a real record too, spread over the table, so a
        // miss reads a record from as cold a location as a hit does. Their
        // tag maps to the neighbouring bucket, so no digest that lands here
        // can match it.
        let count = tags.len();
        for (bucket, &filled) in used.iter().enumerate() {
            for slot in filled..SLOTS {
                index.tags[bucket][slot] = (bucket ^ 1) as u64;
                index.slots[bucket][slot] = if count == 0 {
                    0
                } else {
                    tags[(bucket * SLOTS + slot) % count].1
                };
            }
        }

        Some(index)
    }

    fn bucket_of(tag: u64, mask: usize) -> usize {
        // The low bits of a SHA-256 output are uniform.
        (tag as usize) & mask
    }

    /// Returns the number of the record whose tag equals the digest's, or
    /// on a miss the record named by the bucket's first slot, which has
    /// another digest (0, the placeholder, only in an empty index).
    ///
    /// Every slot of the bucket is compared and the result selected without a
    /// branch. The caller must compare the whole digest.
    pub(crate) fn candidate(&self, digest: &KeyDigest) -> u32 {
        let tag = digest.tag();
        let bucket = Self::bucket_of(tag, self.mask);
        let tags = &self.tags[bucket];
        let slots = &self.slots[bucket];

        let mut found = slots[0];
        for slot in 0..SLOTS {
            found.conditional_assign(&slots[slot], tags[slot].ct_eq(&tag));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::ApiKey;

    fn build(digests: &[KeyDigest]) -> Result<DigestIndex, ApiKeyError> {
        let ids: Vec<String> = (0..=digests.len()).map(|n| format!("k{n}")).collect();
        let zero = KeyDigest::default();
        let pairs = std::iter::once((&ids[0], &zero)).chain(ids[1..].iter().zip(digests.iter()));
        DigestIndex::build(pairs)
    }

    #[test]
    fn every_record_is_found_and_misses_name_another() {
        let digests: Vec<KeyDigest> = (0..5000).map(|_| ApiKey::generate().digest()).collect();
        let index = build(&digests).unwrap();
        for (number, digest) in digests.iter().enumerate() {
            assert_eq!(index.candidate(digest) as usize, number + 1);
        }
        // A miss names some record, never the one of another digest's tag.
        for _ in 0..1000 {
            let miss = ApiKey::generate().digest();
            let number = index.candidate(&miss) as usize;
            assert!((1..=digests.len()).contains(&number));
            assert_ne!(digests[number - 1], miss);
        }
    }

    fn digest_with_tag(tag: u64) -> KeyDigest {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&tag.to_le_bytes());
        KeyDigest::from_bytes(bytes)
    }

    #[test]
    fn crowded_bucket_grows_the_table() {
        // Nine tags with the same low four bits overflow bucket 0 of the
        // first 16-bucket table; bit 4 splits them at 32 buckets.
        let digests: Vec<KeyDigest> = (1..=9u64).map(|n| digest_with_tag(n << 4)).collect();
        let index = build(&digests).unwrap();
        assert_eq!(index.tags.len(), 32);
        for (number, digest) in digests.iter().enumerate() {
            assert_eq!(index.candidate(digest) as usize, number + 1);
        }
    }

    #[test]
    fn crafted_tags_stop_growth_with_error() {
        let digests: Vec<KeyDigest> = (1..=9u64).map(|n| digest_with_tag(n << 56)).collect();
        let error = build(&digests).unwrap_err();
        assert!(
            error.to_string().contains("share their low bits"),
            "{error}"
        );
    }

    #[test]
    fn duplicate_digest_is_rejected() {
        let digest = ApiKey::generate().digest();
        let error = build(&[digest, digest]).unwrap_err();
        assert!(error.to_string().contains("same digest"), "{error}");
    }

    #[test]
    fn shared_tag_is_rejected() {
        let mut a = [1u8; 32];
        let mut b = [1u8; 32];
        a[31] = 2;
        b[31] = 3;
        let error = build(&[KeyDigest::from_bytes(a), KeyDigest::from_bytes(b)]).unwrap_err();
        assert!(error.to_string().contains("first 8 bytes"), "{error}");
    }
}
