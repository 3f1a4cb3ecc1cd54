//! Counters and histograms through the `metrics` facade (feature `metrics`).
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `ddf_auth_authentications_total` | counter | `outcome` (`success`, `failure`, `anonymous`), `reason` |
//! | `ddf_auth_authentication_seconds` | histogram | `outcome` |
//! | `ddf_auth_authorizations_total` | counter | `outcome` (`allowed`, `denied`) |
//! | `ddf_auth_rate_limited_total` | counter | `cause` (`limit`, `blocked`) |
//! | `ddf_auth_alerts_total` | counter | `dimension` |
//!
//! Without the feature every function here compiles to nothing.

#[cfg(feature = "metrics")]
mod enabled {
    use std::time::Instant;

    use crate::reason::Reason;

    /// The start of a timed step. Without the feature the clock is not read.
    pub(crate) type Started = Instant;

    pub(crate) fn start() -> Started {
        Instant::now()
    }

    pub(crate) fn authentication(outcome: &'static str, reason: Option<Reason>, started: Started) {
        let reason = reason.map_or("none", Reason::as_str);
        metrics::counter!("ddf_auth_authentications_total", "outcome" => outcome, "reason" => reason)
            .increment(1);
        metrics::histogram!("ddf_auth_authentication_seconds", "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
    }

    pub(crate) fn authorization(allowed: bool) {
        let outcome = if allowed { "allowed" } else { "denied" };
        metrics::counter!("ddf_auth_authorizations_total", "outcome" => outcome).increment(1);
    }

    pub(crate) fn rate_limited(cause: &'static str) {
        metrics::counter!("ddf_auth_rate_limited_total", "cause" => cause).increment(1);
    }

    pub(crate) fn alert(dimension: &'static str) {
        metrics::counter!("ddf_auth_alerts_total", "dimension" => dimension).increment(1);
    }
}

#[cfg(not(feature = "metrics"))]
mod enabled {
    use crate::reason::Reason;

    /// The start of a timed step. Without the feature the clock is not read.
    #[derive(Clone, Copy)]
    pub(crate) struct Started;

    pub(crate) fn start() -> Started {
        Started
    }

    pub(crate) fn authentication(
        _outcome: &'static str,
        _reason: Option<Reason>,
        _started: Started,
    ) {
    }

    pub(crate) fn authorization(_allowed: bool) {}

    pub(crate) fn rate_limited(_cause: &'static str) {}

    pub(crate) fn alert(_dimension: &'static str) {}
}

pub(crate) use enabled::{Started, alert, authentication, authorization, rate_limited, start};
