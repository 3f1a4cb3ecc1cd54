//! What a remote key source reports to operators.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::keys::KeySet;
use crate::remote::FetchErrorKind;

/// The result of one fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchOutcome {
    /// 200 with a usable JWKS, now published.
    Updated {
        /// Usable keys loaded.
        keys: usize,
        /// Entries skipped (see [`KeySet::skipped`]).
        skipped: usize,
    },
    /// 304 to a conditional request: the held set stays and is fresh again.
    NotModified,
    /// The response was usable, but a fetch that started later had already
    /// published, so it was discarded.
    Superseded,
    /// The fetch failed; the held set, if any, stays in use.
    Failed {
        /// The failure kind.
        reason: FetchErrorKind,
        /// The HTTP status, when a response arrived.
        status: Option<u16>,
        /// What failed, for logs (contains the URL, never a key or token).
        message: String,
    },
}

impl FetchOutcome {
    /// Returns a stable snake-case name: `updated`, `not_modified`,
    /// `superseded` or `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Updated { .. } => "updated",
            Self::NotModified => "not_modified",
            Self::Superseded => "superseded",
            Self::Failed { .. } => "failed",
        }
    }
}

/// A snapshot of a [`crate::RemoteJwks`] for health checks and dashboards.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksStatus {
    /// The JWKS URL last fetched (or the discovery URL before that).
    pub jwks_uri: Option<String>,
    /// Whether a set is held and within its allowed staleness: tokens can
    /// be verified. Use it for readiness.
    pub usable: bool,
    /// Whether the held set is past its freshness (refreshes are failing).
    pub stale: bool,
    /// How long the held set has been past its freshness; zero when fresh.
    pub staleness: Duration,
    /// Key ids of the usable keys held, in document order.
    pub key_ids: Vec<String>,
    /// Usable keys held (keys without a `kid` included).
    pub key_count: usize,
    /// [`KeySet::generation`] of the held set.
    pub generation: Option<u64>,
    /// When the last fetch started.
    pub last_fetch_at: Option<SystemTime>,
    /// How the last fetch ended.
    pub last_outcome: Option<FetchOutcome>,
    /// When the last successful fetch (200 or 304) started.
    pub last_success_at: Option<SystemTime>,
    /// When the held set stops being fresh.
    pub fresh_until: Option<SystemTime>,
    /// When the held set stops being used if no fetch succeeds.
    pub usable_until: Option<SystemTime>,
    /// JWKS requests sent.
    pub fetch_count: u64,
    /// Fetches that failed.
    pub failure_count: u64,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// The server's last `Retry-After` (capped at 10 minutes), honoured as
    /// the least delay before the next background retry.
    pub retry_after: Option<Duration>,
}

/// Mutable bookkeeping behind [`JwksStatus`], updated after each fetch.
#[derive(Debug, Clone, Default)]
pub(crate) struct Record {
    pub(crate) jwks_uri: Option<String>,
    pub(crate) last_fetch_at_ms: Option<u64>,
    pub(crate) last_outcome: Option<FetchOutcome>,
    pub(crate) last_success_at_ms: Option<u64>,
    pub(crate) last_success_seq: u64,
    pub(crate) failure_count: u64,
    pub(crate) consecutive_failures: u32,
    pub(crate) retry_after: Option<Duration>,
}

pub(crate) struct HeldView<'a> {
    pub(crate) keys: &'a KeySet,
    pub(crate) fresh_until_ms: u64,
    pub(crate) usable_until_ms: u64,
}

pub(crate) fn build(
    held: Option<&HeldView<'_>>,
    record: &Record,
    now_ms: u64,
    fetch_count: u64,
) -> JwksStatus {
    let at = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
    JwksStatus {
        jwks_uri: record.jwks_uri.clone(),
        usable: held.is_some_and(|held| now_ms < held.usable_until_ms),
        stale: held.is_some_and(|held| now_ms >= held.fresh_until_ms),
        staleness: held.map_or(Duration::ZERO, |held| {
            Duration::from_millis(now_ms.saturating_sub(held.fresh_until_ms))
        }),
        key_ids: held.map_or_else(Vec::new, |held| {
            held.keys.key_ids().into_iter().map(str::to_owned).collect()
        }),
        key_count: held.map_or(0, |held| held.keys.len()),
        generation: held.map(|held| held.keys.generation()),
        last_fetch_at: record.last_fetch_at_ms.map(at),
        last_outcome: record.last_outcome.clone(),
        last_success_at: record.last_success_at_ms.map(at),
        fresh_until: held.map(|held| at(held.fresh_until_ms)),
        usable_until: held.map(|held| at(held.usable_until_ms)),
        fetch_count,
        failure_count: record.failure_count,
        consecutive_failures: record.consecutive_failures,
        retry_after: record.retry_after,
    }
}
