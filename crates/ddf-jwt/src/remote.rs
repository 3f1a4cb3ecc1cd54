//! A key source that fetches an issuer's JWKS over HTTPS and keeps it
//! usable through outages and key rotation.
//!
//! Readers ([`KeySource::current`]) load the held set from an
//! [`arc_swap::ArcSwapOption`]: no lock, no network, no allocation. All
//! fetching happens in spawned tasks, one at a time (single flight); every
//! caller that needs a fetch awaits the same one. With background refresh
//! on, building the source starts the first fetch. A background task then
//! refreshes ahead of expiry and retries failures with jittered exponential
//! backoff. It holds only a `Weak` reference, so dropping the last
//! [`RemoteJwks`] stops it.

mod config;
pub(crate) mod fetch;
mod status;

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use aws_lc_rs::digest;
use ddf_rbac::{Clock, SystemClock};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use reqwest::Url;

pub use config::{MAX_STALE_LIMIT, RemoteJwksConfig};
pub use fetch::FetchErrorKind;
pub use status::{FetchOutcome, JwksStatus};

use crate::discovery::DiscoveryConfig;
use crate::keys::{JwksOptions, KeySet};
use crate::source::{KeySetFuture, KeySource};
use crate::{JwtError, SkipReason};
use config::MAX_RETRY_AFTER;
use fetch::{FetchError, Fetched};
use status::Record;

/// A JWKS fetched from a URL (or found by OIDC discovery), cached, and
/// refreshed in the background.
///
/// - Fetching: `https` only (loopback `http` with
///   [`RemoteJwksConfig::danger_allow_http_loopback`]), a total deadline,
///   no redirects, the body capped while it streams, the key count capped.
/// - Freshness: `Cache-Control: max-age` within the configured bounds,
///   `ETag` revalidation (a 304 keeps the set and restarts its freshness).
/// - Failures: the last good set stays in use for
///   [`max_stale`](RemoteJwksConfig::max_stale) past its freshness; an empty
///   or unusable document counts as a failure. With no usable set,
///   [`current`](KeySource::current) returns `jwks_unavailable`.
/// - Unknown `kid`: at most one fetch per
///   [`unknown_kid_cooldown`](RemoteJwksConfig::unknown_kid_cooldown),
///   shared by every token waiting, and a bounded negative cache of `kid`s
///   a fetch did not find.
/// - Ordering: each fetch gets a sequence number when it starts; a response
///   never replaces the set of a later-started fetch.
///
/// Cloning is cheap; clones share the cache.
///
/// ```no_run
/// use ddf_jwt::{IssuerConfig, RemoteJwks, Validator};
///
/// # async fn run() -> Result<(), ddf_jwt::JwtError> {
/// let keys = RemoteJwks::builder("https://sso.example.test/realms/demo/protocol/openid-connect/certs")
///     .build()?;
/// keys.refresh().await?; // optional: wait for the first fetch
/// let validator = Validator::builder()
///     .issuer(IssuerConfig::new("https://sso.example.test/realms/demo", keys.clone()).audience("orders-api"))
///     .build()?;
/// # let _ = validator;
/// println!("{:?}", keys.status().key_ids);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RemoteJwks {
    inner: Arc<Inner>,
}

/// Builds a [`RemoteJwks`]; start with [`RemoteJwks::builder`] or
/// [`RemoteJwks::from_discovery`].
#[derive(Debug)]
pub struct RemoteJwksBuilder {
    endpoint: EndpointSpec,
    config: RemoteJwksConfig,
    client: Option<reqwest::Client>,
    clock: Arc<dyn Clock>,
}

#[derive(Debug)]
enum EndpointSpec {
    Jwks(String),
    Discovery(DiscoveryConfig),
}

impl RemoteJwksBuilder {
    /// Replaces every setting.
    #[must_use]
    pub fn config(mut self, config: RemoteJwksConfig) -> Self {
        self.config = config;
        self
    }

    /// Uses this HTTP client (custom CA, proxy, mTLS). Build it from
    /// [`RemoteJwks::client_builder`] to keep the safe defaults; a client
    /// that follows redirects is detected after the fact and its responses
    /// rejected, but the redirected request has then already been sent.
    #[must_use]
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Sets the clock for freshness, staleness and the cooldown (tests use
    /// `ddf_rbac::ManualClock`). Background timers still run on Tokio time.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Sets the total deadline of one fetch. Default 5 s.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self.config.connect_timeout = self.config.connect_timeout.min(timeout);
        self
    }

    /// Sets how long a set is used past its freshness while fetches fail.
    /// Default 1 hour; at most [`MAX_STALE_LIMIT`].
    #[must_use]
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.config.max_stale = max_stale;
        self
    }

    /// Sets the minimum time between fetches caused by unknown `kid`s.
    /// Default 30 s.
    #[must_use]
    pub fn unknown_kid_cooldown(mut self, cooldown: Duration) -> Self {
        self.config.unknown_kid_cooldown = cooldown;
        self
    }

    /// Turns the background task (initial fetch, refresh ahead of expiry,
    /// retries) on or off. Default on.
    #[must_use]
    pub fn background_refresh(mut self, enabled: bool) -> Self {
        self.config.background_refresh = enabled;
        self
    }

    /// Allows plain `http` to 127.0.0.0/8 and `::1`.
    ///
    /// **Warning:** for tests and local development only; see
    /// [`RemoteJwksConfig::danger_allow_http_loopback`].
    #[must_use]
    pub fn danger_allow_http_loopback(mut self, allow: bool) -> Self {
        self.config.danger_allow_http_loopback = allow;
        self
    }

    /// Checks the settings and URL, then starts the background task.
    ///
    /// # Errors
    ///
    /// [`JwtError::ConfigInvalid`] for invalid settings, a URL that is not
    /// https (or allowed loopback http), or when called outside a Tokio
    /// runtime.
    pub fn build(self) -> Result<RemoteJwks, JwtError> {
        self.config.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            JwtError::config("RemoteJwks must be built inside a Tokio runtime; build it from async code or after entering a runtime")
        })?;
        let allow_http = self.config.danger_allow_http_loopback;
        let endpoint = match self.endpoint {
            EndpointSpec::Jwks(url) => Endpoint::Jwks(
                fetch::check_url(&url, allow_http)
                    .map_err(|error| JwtError::config(error.message))?,
            ),
            EndpointSpec::Discovery(discovery) => {
                if discovery.issuer.is_empty() {
                    return Err(JwtError::config("the discovery issuer is empty"));
                }
                fetch::check_url(&discovery.discovery_url(), allow_http)
                    .map_err(|error| JwtError::config(error.message))?;
                Endpoint::Discovery {
                    discovery,
                    resolved: Mutex::new(None),
                    rediscover: AtomicBool::new(true),
                }
            }
        };
        let client = match self.client {
            Some(client) => client,
            None => fetch::default_client(&self.config)?,
        };
        let negative = moka::sync::Cache::builder()
            .max_capacity(self.config.negative_cache_capacity)
            .time_to_live(self.config.negative_cache_ttl)
            .build();

        let inner = Arc::new(Inner {
            endpoint,
            config: self.config,
            client,
            clock: self.clock,
            runtime,
            state: ArcSwapOption::empty(),
            flight: Mutex::new(Flight::default()),
            negative,
            record: Mutex::new(Record::default()),
            next_seq: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            fetch_count: AtomicU64::new(0),
            background: Mutex::new(None),
        });
        if inner.config.background_refresh {
            // The start-up fetch starts here, not in the background task,
            // so it is in flight before `build` returns and the first
            // `refresh` can wait for it however the tasks are scheduled.
            let startup = {
                let mut guard = lock(&inner.flight);
                let fetch = inner.start_locked(&mut guard, Trigger::Background);
                let flight = &mut *guard;
                flight.startup.clone_from(&flight.current);
                fetch
            };
            let task = inner
                .runtime
                .spawn(background(Arc::downgrade(&inner), startup));
            *lock(&inner.background) = Some(task.abort_handle());
        }
        Ok(RemoteJwks { inner })
    }
}

impl RemoteJwks {
    /// Starts a builder for the JWKS at `jwks_uri`.
    pub fn builder(jwks_uri: impl Into<String>) -> RemoteJwksBuilder {
        Self::builder_for(EndpointSpec::Jwks(jwks_uri.into()))
    }

    /// Starts a builder that finds the JWKS by OIDC discovery. The
    /// discovery document is fetched before the first JWKS fetch and again
    /// after a JWKS fetch fails; its `issuer` must equal the configured one
    /// and its `jwks_uri` must stay on the same host.
    pub fn from_discovery(discovery: DiscoveryConfig) -> RemoteJwksBuilder {
        Self::builder_for(EndpointSpec::Discovery(discovery))
    }

    fn builder_for(endpoint: EndpointSpec) -> RemoteJwksBuilder {
        RemoteJwksBuilder {
            endpoint,
            config: RemoteJwksConfig::default(),
            client: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// Returns a `reqwest` client builder with this crate's defaults (user
    /// agent, timeouts, no redirects, https only) to extend with a custom
    /// CA, proxy or client certificate and pass to
    /// [`RemoteJwksBuilder::client`].
    pub fn client_builder(config: &RemoteJwksConfig) -> reqwest::ClientBuilder {
        fetch::client_builder(config)
    }

    /// Fetches one JWKS document with the caps and deadline of `config` and
    /// parses it, without caching: for tools that list what a URL serves.
    /// The returned set may be empty; [`KeySet::skipped`] lists each
    /// entry that was not loaded, with the reason.
    ///
    /// # Errors
    ///
    /// [`JwtError::ConfigInvalid`] for an unacceptable URL;
    /// [`JwtError::JwksUnavailable`] when the fetch fails;
    /// [`JwtError::JwksInvalid`] when the body is not a JWKS or has more
    /// than `max_keys` entries.
    pub async fn fetch_once(
        url: &str,
        config: &RemoteJwksConfig,
        client: Option<&reqwest::Client>,
    ) -> Result<KeySet, JwtError> {
        config.validate()?;
        let url = fetch::check_url(url, config.danger_allow_http_loopback)
            .map_err(|error| JwtError::config(error.message))?;
        let owned;
        let client = if let Some(client) = client {
            client
        } else {
            owned = fetch::default_client(config)?;
            &owned
        };
        let started = Instant::now();
        let result = match fetch::get(client, config, &url, fetch::ACCEPT_JWKS, None).await {
            Ok(Fetched::Body { body, .. }) => parse_jwks(&body, config),
            Ok(Fetched::NotModified { .. }) => Err(FetchError::new(
                FetchErrorKind::UnexpectedNotModified,
                "the server returned 304 to an unconditional request",
            )),
            Err(error) => Err(error),
        };
        let duration_ms = fetch::elapsed_ms(started);
        match &result {
            Ok(keys) => tracing::info!(
                target: "ddf_jwt::remote",
                url = %url, status = 200_u16, duration_ms, keys = keys.len(),
                skipped = keys.skipped().len(), "fetched JWKS"
            ),
            Err(error) => tracing::warn!(
                target: "ddf_jwt::remote",
                url = %url, status = error.status, duration_ms,
                reason = error.kind.as_str(), error = %error.message, "JWKS fetch failed"
            ),
        }
        result.map_err(|error| error.to_jwt_error())
    }

    /// Waits for a fetch and returns the set held afterwards: joins the
    /// fetch in flight, or starts one (no cooldown applies).
    ///
    /// With background refresh on, the first call waits for the start-up
    /// fetch that [`build`](RemoteJwksBuilder::build) started, even when
    /// that fetch has already finished, unless another fetch has started
    /// since. So building a source and refreshing it sends one JWKS request.
    ///
    /// # Errors
    ///
    /// The fetch's failure as [`JwtError::JwksUnavailable`] or
    /// [`JwtError::JwksInvalid`]. The held set is kept either way.
    pub async fn refresh(&self) -> Result<Arc<KeySet>, JwtError> {
        let fetch = self.inner.join_startup_or_start();
        self.after(fetch.await)
    }

    /// Starts a new fetch even when one is in flight (whose response may
    /// predate a rotation), waits for it and returns the set held
    /// afterwards. Whichever fetch started later wins.
    ///
    /// # Errors
    ///
    /// As [`refresh`](Self::refresh).
    pub async fn force_refresh(&self) -> Result<Arc<KeySet>, JwtError> {
        let fetch = {
            let mut flight = lock(&self.inner.flight);
            self.inner.start_locked(&mut flight, Trigger::Forced)
        };
        self.after(fetch.await)
    }

    fn after(&self, result: Result<(), FetchError>) -> Result<Arc<KeySet>, JwtError> {
        match result {
            Ok(()) => self.current(),
            Err(error) => Err(error.to_jwt_error()),
        }
    }

    /// Returns the state for operators: last fetch and outcome, key ids,
    /// freshness, staleness and counters.
    pub fn status(&self) -> JwksStatus {
        let held = self.inner.state.load_full();
        let record = lock(&self.inner.record).clone();
        status::build(
            held.as_deref()
                .map(|held| status::HeldView {
                    keys: &held.keys,
                    fresh_until_ms: held.fresh_until_ms,
                    usable_until_ms: held.usable_until_ms,
                })
                .as_ref(),
            &record,
            self.inner.now_ms(),
            self.inner.fetch_count.load(Ordering::Relaxed),
        )
    }

    /// Returns the settings.
    pub fn config(&self) -> &RemoteJwksConfig {
        &self.inner.config
    }
}

impl fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = self.inner.state.load();
        f.debug_struct("RemoteJwks")
            .field("endpoint", &self.inner.endpoint)
            .field("keys", &held.as_ref().map(|held| held.keys.len()))
            .finish_non_exhaustive()
    }
}

impl KeySource for RemoteJwks {
    fn current(&self) -> Result<Arc<KeySet>, JwtError> {
        let guard = self.inner.state.load();
        if let Some(held) = guard.as_ref()
            && self.inner.now_ms() < held.usable_until_ms
        {
            return Ok(Arc::clone(&held.keys));
        }
        Err(self.inner.unavailable(guard.as_deref()))
    }

    fn fetches_for_unknown_kid(&self, kid: Option<&str>) -> bool {
        let now = self.inner.now_ms();
        let ttl_ms = millis(self.inner.config.negative_cache_ttl);
        if let Some(kid) = kid
            && let Some(inserted) = self.inner.negative.get(&kid_digest(kid))
            && now.saturating_sub(inserted) < ttl_ms
        {
            return false;
        }
        let flight = lock(&self.inner.flight);
        let cooldown = millis(self.inner.config.unknown_kid_cooldown);
        flight.current.is_some()
            || flight
                .last_kid_fetch_ms
                .is_none_or(|last| now.saturating_sub(last) >= cooldown)
    }

    fn refresh_for_unknown_kid(&self, kid: Option<&str>) -> KeySetFuture<'_> {
        let kid = kid.map(|kid| (kid.to_owned(), kid_digest(kid)));
        Box::pin(async move {
            let held = self.current()?;
            let now = self.inner.now_ms();
            let ttl_ms = millis(self.inner.config.negative_cache_ttl);
            if let Some((_, digest)) = &kid
                && let Some(inserted) = self.inner.negative.get(digest)
                && now.saturating_sub(inserted) < ttl_ms
            {
                return Ok(held);
            }

            let fetch = {
                let mut flight = lock(&self.inner.flight);
                let cooldown = millis(self.inner.config.unknown_kid_cooldown);
                if let Some((_, fetch)) = &flight.current {
                    Some(fetch.clone())
                } else if flight
                    .last_kid_fetch_ms
                    .is_none_or(|last| now.saturating_sub(last) >= cooldown)
                {
                    flight.last_kid_fetch_ms = Some(now);
                    Some(self.inner.start_locked(&mut flight, Trigger::UnknownKid))
                } else {
                    None
                }
            };
            let Some(fetch) = fetch else {
                return Ok(held);
            };
            // A failed fetch keeps the held set, so the outcome only
            // matters through `current` below.
            let _ = fetch.await;
            let keys = self.current()?;
            if let Some((kid, digest)) = kid
                && !keys
                    .keys()
                    .iter()
                    .any(|key| key.kid() == Some(kid.as_str()))
            {
                self.inner.negative.insert(digest, self.inner.now_ms());
            }
            Ok(keys)
        })
    }
}

/// Cause of a fetch, for logs.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    Background,
    UnknownKid,
    Manual,
    Forced,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Self::Background => "background",
            Self::UnknownKid => "unknown_kid",
            Self::Manual => "manual",
            Self::Forced => "forced",
        }
    }
}

type SharedFetch = Shared<BoxFuture<'static, Result<(), FetchError>>>;

#[derive(Default)]
struct Flight {
    /// The fetch in flight and its sequence number.
    current: Option<(u64, SharedFetch)>,
    /// The fetch that `build` started, with its sequence number, until the
    /// first `refresh` takes it.
    startup: Option<(u64, SharedFetch)>,
    /// When the last unknown-`kid` fetch started (clock milliseconds).
    last_kid_fetch_ms: Option<u64>,
}

/// A published key set and what is known about its response.
struct Held {
    keys: Arc<KeySet>,
    seq: u64,
    url: Url,
    etag: Option<String>,
    fetched_at_ms: u64,
    fresh_until_ms: u64,
    usable_until_ms: u64,
}

#[derive(Debug)]
enum Endpoint {
    Jwks(Url),
    Discovery {
        discovery: DiscoveryConfig,
        resolved: Mutex<Option<Url>>,
        rediscover: AtomicBool,
    },
}

struct Inner {
    endpoint: Endpoint,
    config: RemoteJwksConfig,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
    runtime: tokio::runtime::Handle,
    state: ArcSwapOption<Held>,
    flight: Mutex<Flight>,
    /// SHA-256 of a `kid` that a fetch did not find, with the clock
    /// milliseconds of insertion.
    negative: moka::sync::Cache<[u8; 32], u64>,
    record: Mutex<Record>,
    next_seq: AtomicU64,
    completed: AtomicU64,
    fetch_count: AtomicU64,
    background: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.background).take() {
            task.abort();
        }
    }
}

impl Inner {
    fn now_ms(&self) -> u64 {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
            })
    }

    fn join_or_start(self: &Arc<Self>, trigger: Trigger) -> SharedFetch {
        let mut flight = lock(&self.flight);
        if let Some((_, fetch)) = &flight.current {
            return fetch.clone();
        }
        self.start_locked(&mut flight, trigger)
    }

    /// Picks the fetch a manual refresh waits for. The first call gets the
    /// start-up fetch, finished or not, if no later fetch has started.
    /// Other calls act as [`join_or_start`](Self::join_or_start).
    fn join_startup_or_start(self: &Arc<Self>) -> SharedFetch {
        let mut flight = lock(&self.flight);
        // Every fetch takes its sequence number under the flight lock, so
        // no fetch can start between this check and the return.
        if let Some((seq, fetch)) = flight.startup.take()
            && seq == self.next_seq.load(Ordering::SeqCst)
        {
            return fetch;
        }
        if let Some((_, fetch)) = &flight.current {
            return fetch.clone();
        }
        self.start_locked(&mut flight, Trigger::Manual)
    }

    /// Spawns a fetch and makes it the one in flight. The caller holds the
    /// flight lock, so the task cannot clear its slot before it is set.
    fn start_locked(self: &Arc<Self>, flight: &mut Flight, trigger: Trigger) -> SharedFetch {
        let seq = self.next_seq.fetch_add(1, Ordering::SeqCst) + 1;
        let inner = Arc::clone(self);
        let task = self
            .runtime
            .spawn(async move { inner.run_fetch(seq, trigger).await });
        let fetch = async move {
            task.await.unwrap_or_else(|error| {
                Err(FetchError::new(
                    FetchErrorKind::Transport,
                    format!("the fetch task stopped: {error}"),
                ))
            })
        }
        .boxed()
        .shared();
        flight.current = Some((seq, fetch.clone()));
        fetch
    }

    async fn run_fetch(self: Arc<Self>, seq: u64, trigger: Trigger) -> Result<(), FetchError> {
        let started = Instant::now();
        let attempt_at_ms = self.now_ms();
        let mut url = None;
        let result = self.fetch_and_publish(seq, &mut url).await;
        if result.is_err()
            && let Endpoint::Discovery { rediscover, .. } = &self.endpoint
        {
            rediscover.store(true, Ordering::Relaxed);
        }
        self.record(seq, attempt_at_ms, started, trigger, url.as_ref(), &result);
        self.completed.fetch_add(1, Ordering::SeqCst);
        {
            let mut flight = lock(&self.flight);
            if flight
                .current
                .as_ref()
                .is_some_and(|(current, _)| *current == seq)
            {
                flight.current = None;
            }
        }
        result.map(|_| ())
    }

    async fn fetch_and_publish(
        &self,
        seq: u64,
        url_out: &mut Option<Url>,
    ) -> Result<FetchOutcome, FetchError> {
        let url = self.jwks_url().await?;
        *url_out = Some(url.clone());
        let held = self.state.load_full();
        let etag = held
            .as_ref()
            .filter(|held| held.url == url)
            .and_then(|held| held.etag.clone());

        self.fetch_count.fetch_add(1, Ordering::Relaxed);
        let fetched = fetch::get(
            &self.client,
            &self.config,
            &url,
            fetch::ACCEPT_JWKS,
            etag.as_deref(),
        )
        .await?;

        let now = self.now_ms();
        let (keys, etag, max_age, outcome) = match fetched {
            Fetched::NotModified {
                etag: new_etag,
                max_age,
            } => {
                let Some(held) = held.filter(|held| held.url == url) else {
                    return Err(FetchError::new(
                        FetchErrorKind::UnexpectedNotModified,
                        "the server returned 304 but no key set is held for this URL",
                    ));
                };
                let etag = new_etag.or_else(|| held.etag.clone());
                (
                    Arc::clone(&held.keys),
                    etag,
                    max_age,
                    FetchOutcome::NotModified,
                )
            }
            Fetched::Body {
                body,
                etag,
                max_age,
            } => {
                let keys = parse_jwks(&body, &self.config)?;
                if keys.is_empty() {
                    return Err(FetchError::new(
                        FetchErrorKind::NoUsableKeys,
                        format!(
                            "the JWKS holds no usable signature key ({} entries skipped); the previous set is kept",
                            keys.skipped().len()
                        ),
                    ));
                }
                warn_skipped(&url, &keys);
                let outcome = FetchOutcome::Updated {
                    keys: keys.len(),
                    skipped: keys.skipped().len(),
                };
                (Arc::new(keys), etag, max_age, outcome)
            }
        };

        let fresh_ms = millis(self.config.freshness(max_age));
        let fresh_until_ms = now.saturating_add(fresh_ms);
        let held = Held {
            keys,
            seq,
            url,
            etag,
            fetched_at_ms: now,
            fresh_until_ms,
            usable_until_ms: fresh_until_ms.saturating_add(millis(self.config.max_stale)),
        };
        Ok(if self.publish(held) {
            outcome
        } else {
            FetchOutcome::Superseded
        })
    }

    /// Swaps in `held` unless a fetch that started later already published.
    fn publish(&self, held: Held) -> bool {
        let new = Arc::new(held);
        let mut published = false;
        let previous = self.state.rcu(|current| match current {
            Some(current) if current.seq > new.seq => {
                published = false;
                Some(Arc::clone(current))
            }
            _ => {
                published = true;
                Some(Arc::clone(&new))
            }
        });
        if published
            && let Some(previous) = previous
            && !Arc::ptr_eq(&previous.keys, &new.keys)
        {
            log_rotation(&new.url, &previous.keys, &new.keys);
        }
        published
    }

    /// Returns the JWKS URL, running discovery when it is not resolved yet
    /// or the last fetch failed.
    async fn jwks_url(&self) -> Result<Url, FetchError> {
        let (discovery, resolved, rediscover) = match &self.endpoint {
            Endpoint::Jwks(url) => return Ok(url.clone()),
            Endpoint::Discovery {
                discovery,
                resolved,
                rediscover,
            } => (discovery, resolved, rediscover),
        };
        let previous = lock(resolved).clone();
        if let Some(url) = &previous
            && !rediscover.load(Ordering::Relaxed)
        {
            return Ok(url.clone());
        }
        let metadata = discovery.fetch_checked(&self.client, &self.config).await?;
        let url = fetch::check_url(&metadata.jwks_uri, self.config.danger_allow_http_loopback)?;
        if let Some(previous) = &previous
            && previous.host_str() != url.host_str()
        {
            return Err(FetchError::new(
                FetchErrorKind::JwksUriChanged,
                format!(
                    "discovery now names jwks_uri {url}, on another host than {previous}; restart with the new configuration if the move is intended"
                ),
            ));
        }
        *lock(resolved) = Some(url.clone());
        rediscover.store(false, Ordering::Relaxed);
        Ok(url)
    }

    fn record(
        &self,
        seq: u64,
        attempt_at_ms: u64,
        started: Instant,
        trigger: Trigger,
        url: Option<&Url>,
        result: &Result<FetchOutcome, FetchError>,
    ) {
        let duration_ms = fetch::elapsed_ms(started);
        let url_text = url.map_or_else(|| self.endpoint_label(), Url::to_string);
        let mut record = lock(&self.record);
        record.last_fetch_at_ms = Some(attempt_at_ms);
        record.jwks_uri = Some(url_text.clone());
        match result {
            Ok(outcome) => {
                let (status, keys) = match outcome {
                    FetchOutcome::Updated { keys, .. } => (Some(200_u16), Some(*keys)),
                    FetchOutcome::NotModified => (Some(304), None),
                    _ => (None, None),
                };
                if !matches!(outcome, FetchOutcome::Superseded) {
                    record.last_success_at_ms = Some(attempt_at_ms);
                    record.last_success_seq = record.last_success_seq.max(seq);
                    record.consecutive_failures = 0;
                    record.retry_after = None;
                }
                record.last_outcome = Some(outcome.clone());
                drop(record);
                tracing::info!(
                    target: "ddf_jwt::remote",
                    url = %url_text, status, duration_ms, keys,
                    outcome = outcome.as_str(), trigger = trigger.as_str(),
                    "JWKS fetch finished"
                );
            }
            Err(error) => {
                record.failure_count += 1;
                // A fetch that started before the last success is outdated,
                // so its failure does not count as a current failure.
                if seq > record.last_success_seq {
                    record.consecutive_failures = record.consecutive_failures.saturating_add(1);
                    record.retry_after = error.retry_after.map(|delay| delay.min(MAX_RETRY_AFTER));
                    record.last_outcome = Some(FetchOutcome::Failed {
                        reason: error.kind,
                        status: error.status,
                        message: error.message.clone(),
                    });
                }
                let consecutive = record.consecutive_failures;
                drop(record);
                let keeping = self.state.load().is_some();
                tracing::warn!(
                    target: "ddf_jwt::remote",
                    url = %url_text, status = error.status, duration_ms,
                    reason = error.kind.as_str(), error = %error.message,
                    retry_after_s = error.retry_after.map(|delay| delay.as_secs()),
                    consecutive_failures = consecutive, keeping_previous_set = keeping,
                    trigger = trigger.as_str(), "JWKS fetch failed"
                );
            }
        }
    }

    fn endpoint_label(&self) -> String {
        match &self.endpoint {
            Endpoint::Jwks(url) => url.to_string(),
            Endpoint::Discovery { discovery, .. } => discovery.discovery_url(),
        }
    }

    /// Builds the `jwks_unavailable` error for a reader, with the last failure.
    fn unavailable(&self, held: Option<&Held>) -> JwtError {
        let record = lock(&self.record);
        let last_failure = match &record.last_outcome {
            Some(FetchOutcome::Failed {
                reason, message, ..
            }) => {
                format!("; last fetch failed: {message} ({reason})")
            }
            _ => String::new(),
        };
        let reason = match held {
            Some(held) => format!(
                "the key set from {} is older than the allowed staleness ({} s past its freshness){last_failure}",
                held.url,
                self.config.max_stale.as_secs()
            ),
            None if record.last_fetch_at_ms.is_none() => format!(
                "no key set has been fetched from {} yet",
                self.endpoint_label()
            ),
            None => format!(
                "no key set could be fetched from {}{last_failure}",
                self.endpoint_label()
            ),
        };
        JwtError::JwksUnavailable { reason }
    }

    /// Returns how long the background task waits before its next fetch.
    fn background_delay(&self) -> Duration {
        let now = self.now_ms();
        let record = lock(&self.record);
        if record.last_fetch_at_ms.is_none() {
            return Duration::ZERO;
        }
        if let Some(held) = self.state.load().as_ref() {
            let lifetime = held.fresh_until_ms.saturating_sub(held.fetched_at_ms);
            let ahead = millis(self.config.refresh_ahead).min(lifetime / 2);
            let due = held.fresh_until_ms.saturating_sub(ahead);
            if now < due {
                return Duration::from_millis(due - now);
            }
        }
        if record.consecutive_failures == 0 {
            return Duration::ZERO;
        }
        backoff(
            &self.config,
            record.consecutive_failures,
            record.retry_after,
        )
    }
}

/// Runs the background loop: wait for the start-up fetch, then fetch when
/// due and sleep otherwise. It upgrades its `Weak` only while deciding or
/// starting a fetch.
async fn background(weak: Weak<Inner>, startup: SharedFetch) {
    let _ = startup.await;
    loop {
        let (delay, completed) = {
            let Some(inner) = weak.upgrade() else { return };
            // `run_fetch` records its result before it counts the fetch as
            // completed. Reading the count first means a fetch that finishes
            // while the delay is computed changes the count seen below.
            let completed = inner.completed.load(Ordering::SeqCst);
            (inner.background_delay(), completed)
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let fetch = {
            let Some(inner) = weak.upgrade() else { return };
            // Another fetch finished while sleeping: decide again.
            if inner.completed.load(Ordering::SeqCst) != completed {
                continue;
            }
            inner.join_or_start(Trigger::Background)
        };
        let _ = fetch.await;
    }
}

/// Returns the retry delay after `failures` consecutive failures: the
/// initial backoff doubled per failure up to the maximum, drawn uniformly
/// from its upper half, and never less than the server's `Retry-After`.
fn backoff(config: &RemoteJwksConfig, failures: u32, retry_after: Option<Duration>) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    let ceiling = config
        .retry_initial_backoff
        .saturating_mul(1 << doublings)
        .min(config.retry_max_backoff);
    let half = ceiling / 2;
    let span = u64::try_from(half.as_nanos())
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    // Jitter only spreads retries of many instances; it needs no CSPRNG.
    let jitter = Duration::from_nanos(RandomState::new().hash_one(Instant::now()) % span);
    (half + jitter).max(retry_after.unwrap_or_default())
}

/// Parses a fetched JWKS with the configured key cap.
fn parse_jwks(body: &[u8], config: &RemoteJwksConfig) -> Result<KeySet, FetchError> {
    let options = JwksOptions {
        max_keys: config.max_keys,
        allow_symmetric_keys: false,
    };
    let (keys, _) = KeySet::from_jwks_json_with(body, &options).map_err(|error| {
        let reason = match error {
            JwtError::JwksInvalid { reason } => reason,
            other => other.to_string(),
        };
        FetchError::new(FetchErrorKind::InvalidDocument, reason)
    })?;
    if keys
        .skipped()
        .iter()
        .any(|skipped| skipped.reason == SkipReason::TooManyKeys)
    {
        return Err(FetchError::new(
            FetchErrorKind::TooManyKeys,
            format!(
                "the JWKS lists more than {} keys; raise max_keys if that is intended",
                config.max_keys
            ),
        ));
    }
    Ok(keys)
}

/// Warns once per fetched set about entries that were not loaded (private
/// material, `oct` keys, unknown types), which usually means a provider
/// misconfiguration.
fn warn_skipped(url: &Url, keys: &KeySet) {
    for skipped in keys.skipped() {
        tracing::warn!(
            target: "ddf_jwt::remote",
            url = %url, index = skipped.index, kid = skipped.kid.as_deref(),
            reason = skipped.reason.as_str(), "JWKS entry skipped"
        );
    }
}

fn log_rotation(url: &Url, previous: &KeySet, current: &KeySet) {
    let added: Vec<&str> = current
        .keys()
        .iter()
        .filter(|key| !previous.contains(&key.fingerprint()))
        .map(|key| key.kid().unwrap_or("(no kid)"))
        .collect();
    let removed: Vec<&str> = previous
        .keys()
        .iter()
        .filter(|key| !current.contains(&key.fingerprint()))
        .map(|key| key.kid().unwrap_or("(no kid)"))
        .collect();
    if !added.is_empty() || !removed.is_empty() {
        tracing::info!(
            target: "ddf_jwt::remote",
            url = %url, added = ?added, removed = ?removed, keys = current.len(),
            "JWKS keys changed"
        );
    }
}

fn kid_digest(kid: &str) -> [u8; 32] {
    let mut out = [0_u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, kid.as_bytes()).as_ref());
    out
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
