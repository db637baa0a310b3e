//! The [`Refresher`]: keeps a token from a [`TokenSource`] fresh in a [`SecretSink`], on a [`Clock`].
//!
//! * After a successful write of a token expiring at `exp`, the next refresh is due at
//!   `exp - margin - rand[0, jitter]` (whole seconds); a token living no longer than `margin + jitter` is
//!   refreshed at half its remaining life.
//! * A failed attempt (source or sink) is retried after an exponential backoff (`initial_backoff`, doubling,
//!   capped at `max_backoff`, with up to 50 % jitter). The sink keeps the previous token: a failure never
//!   removes or replaces a still-valid token.
//! * Failures are logged as warnings while the current token is valid for more than `alarm_before`; once it
//!   is not (or no token was ever written) [`Refresher::tick`] returns [`Error::RefreshFailing`] and logs an
//!   error, and keeps retrying on later ticks.
//!
//! Logs go through `tracing` and never contain a token or key (they name the source and sink by their
//! `describe()`).

use crate::api::{SecretSink, TokenSource};
use crate::error::{Error, Result};
use crate::sas::remaining_until;
use azflux_core::clock::Clock;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Timing of the [`Refresher`]. Defaults suit one-hour tokens: refresh 30–35 minutes before expiry, retry
/// from 5 s up to every 5 min, alarm 10 min before expiry.
#[derive(Debug, Clone, PartialEq)]
pub struct RefresherOptions {
    /// Refresh at least this long before the token expires (`margin` + `jitter` at most a year).
    pub margin: Duration,
    /// Refresh up to this much earlier still, at random, so that many refreshers do not call at once.
    pub jitter: Duration,
    /// First retry delay after a failure.
    pub initial_backoff: Duration,
    /// Upper bound of the retry delay.
    pub max_backoff: Duration,
    /// Raise [`Error::RefreshFailing`] when refreshing fails and the current token expires within this.
    pub alarm_before: Duration,
    /// Seed of the jitter's random numbers (for reproducible tests); `None` seeds from the OS.
    pub jitter_seed: Option<u64>,
}

impl Default for RefresherOptions {
    fn default() -> Self {
        Self {
            margin: Duration::from_secs(30 * 60),
            jitter: Duration::from_secs(5 * 60),
            initial_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(5 * 60),
            alarm_before: Duration::from_secs(10 * 60),
            jitter_seed: None,
        }
    }
}

impl RefresherOptions {
    fn validate(&self) -> Result<()> {
        let bad = |why: &str| {
            Err(Error::InvalidInput {
                what: "refresher options",
                why: why.to_owned(),
            })
        };
        if self.initial_backoff.is_zero() {
            return bad("`initial_backoff` must be positive");
        }
        if self.max_backoff < self.initial_backoff {
            return bad("`max_backoff` must be at least `initial_backoff`");
        }
        // Tokens live hours (SAS tokens at most days): a window past a year is a mistake, and a sum that
        // overflows would panic when the refresh is scheduled.
        const MAX_WINDOW: Duration = Duration::from_secs(366 * 24 * 3600);
        if self
            .margin
            .checked_add(self.jitter)
            .is_none_or(|w| w > MAX_WINDOW)
        {
            return bad(
                "`margin` + `jitter` must be at most a year (tokens live hours): give the time before expiry to refresh at, such as 30 minutes",
            );
        }
        if self.max_backoff >= self.margin {
            return bad(
                "`max_backoff` must be shorter than `margin`, or a failing source could let the token lapse between two retries",
            );
        }
        Ok(())
    }
}

/// What one [`Refresher::tick`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tick {
    /// Nothing was due.
    NotDue {
        /// When the next attempt is due.
        next_at: OffsetDateTime,
    },
    /// A new token was written.
    Refreshed {
        /// The new token's expiry.
        expires_on: OffsetDateTime,
        /// When the next refresh is due.
        next_at: OffsetDateTime,
    },
    /// The attempt failed; the current token is still valid beyond the alarm window; retry scheduled.
    RetryScheduled {
        /// Consecutive failures so far.
        failures: u32,
        /// When the retry is due.
        next_at: OffsetDateTime,
        /// The expiry of the token still in the sink.
        current_expires_on: OffsetDateTime,
    },
}

/// Counters of a refresher's life (no secrets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RefreshStats {
    /// Tokens written.
    pub refreshes: u64,
    /// Failed attempts in total.
    pub failures: u64,
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
    /// Expiry of the token last written, if any.
    pub current_expires_on: Option<OffsetDateTime>,
}

/// Keeps the sink's token fresh. Drive it with [`run_until`](Self::run_until), or call
/// [`tick`](Self::tick) yourself. `Debug` names the source and sink by `describe()` only.
pub struct Refresher {
    source: Arc<dyn TokenSource>,
    sink: Arc<dyn SecretSink>,
    clock: Arc<dyn Clock>,
    options: RefresherOptions,
    next_attempt: Option<OffsetDateTime>,
    stats: RefreshStats,
    rng: StdRng,
}

impl std::fmt::Debug for Refresher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refresher")
            .field("source", &self.source.describe())
            .field("sink", &self.sink.describe())
            .field("options", &self.options)
            .field("next_attempt", &self.next_attempt)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Refresher {
    /// A refresher copying tokens from `source` into `sink`; the first tick refreshes at once.
    pub fn new(
        source: Arc<dyn TokenSource>,
        sink: Arc<dyn SecretSink>,
        clock: Arc<dyn Clock>,
        options: RefresherOptions,
    ) -> Result<Self> {
        options.validate()?;
        let rng = match options.jitter_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        Ok(Self {
            source,
            sink,
            clock,
            options,
            next_attempt: None,
            stats: RefreshStats::default(),
            rng,
        })
    }

    /// The counters so far.
    pub fn stats(&self) -> RefreshStats {
        self.stats
    }

    /// When the next attempt is due (`None`: now).
    pub fn next_attempt(&self) -> Option<OffsetDateTime> {
        self.next_attempt
    }

    /// Time until the next attempt is due on the clock (zero if due).
    pub fn until_next(&self) -> Duration {
        self.next_attempt
            .map_or(Duration::ZERO, |at| remaining_until(at, self.clock.now()))
    }

    /// Refreshes if due. `Err` only when refreshing failed and the token in the sink expires within
    /// `alarm_before` (or has expired, or was never written); the refresher stays usable and retries later.
    pub async fn tick(&mut self) -> Result<Tick> {
        let now = self.clock.now();
        if let Some(next_at) = self.next_attempt.filter(|at| now < *at) {
            tracing::trace!(%next_at, "token refresh not due");
            return Ok(Tick::NotDue { next_at });
        }
        match self.attempt(now).await {
            Ok(expires_on) => {
                let next_at = self.schedule_refresh(now, expires_on);
                self.next_attempt = Some(next_at);
                self.stats.refreshes += 1;
                self.stats.consecutive_failures = 0;
                self.stats.current_expires_on = Some(expires_on);
                tracing::info!(
                    source = %self.source.describe(),
                    sink = %self.sink.describe(),
                    %expires_on,
                    %next_at,
                    "wrote refreshed Event Hubs token"
                );
                Ok(Tick::Refreshed {
                    expires_on,
                    next_at,
                })
            }
            Err(error) => self.on_failure(now, error),
        }
    }

    async fn attempt(&mut self, now: OffsetDateTime) -> Result<OffsetDateTime> {
        let token = self.source.token().await?;
        tracing::trace!(token = ?token, "token source answered");
        if token.is_expired_at(now) {
            return Err(Error::IssuedExpired {
                source_name: self.source.describe(),
                expires_on: token.expires_on,
            });
        }
        self.sink.write(&token).await?;
        Ok(token.expires_on)
    }

    fn schedule_refresh(
        &mut self,
        now: OffsetDateTime,
        expires_on: OffsetDateTime,
    ) -> OffsetDateTime {
        let life = remaining_until(expires_on, now);
        let o = &self.options;
        let before_expiry = if life > o.margin + o.jitter {
            o.margin + Duration::from_secs(self.rng.gen_range(0..=o.jitter.as_secs()))
        } else {
            life / 2
        };
        let wait = life
            .saturating_sub(before_expiry)
            .max(Duration::from_secs(1));
        now + wait
    }

    fn on_failure(&mut self, now: OffsetDateTime, error: Error) -> Result<Tick> {
        self.stats.failures += 1;
        self.stats.consecutive_failures = self.stats.consecutive_failures.saturating_add(1);
        let failures = self.stats.consecutive_failures;
        let exp = 2u32.saturating_pow(failures.saturating_sub(1).min(30));
        let base = self
            .options
            .initial_backoff
            .saturating_mul(exp)
            .min(self.options.max_backoff);
        // up to 50 % jitter, never below `initial_backoff`
        let jittered = base
            .mul_f64(self.rng.gen_range(0.5..=1.0))
            .max(self.options.initial_backoff);
        let delay = Duration::from_secs(jittered.as_secs().max(1));
        let next_at = now + delay;
        self.next_attempt = Some(next_at);
        let source_name = self.source.describe();
        let sink = self.sink.describe();
        match self.stats.current_expires_on {
            Some(current) if remaining_until(current, now) > self.options.alarm_before => {
                tracing::warn!(
                    source = %source_name,
                    %sink,
                    failures,
                    current_expires_on = %current,
                    %next_at,
                    error = %error,
                    "refreshing Event Hubs token failed; the current token is still valid, retrying"
                );
                Ok(Tick::RetryScheduled {
                    failures,
                    next_at,
                    current_expires_on: current,
                })
            }
            current => {
                let state = match current {
                    None => "was never written".to_owned(),
                    Some(at) if at <= now => format!("expired at {at}"),
                    Some(at) => format!("expires at {at}"),
                };
                tracing::error!(
                    source = %source_name,
                    %sink,
                    failures,
                    token_state = %state,
                    %next_at,
                    error = %error,
                    "refreshing Event Hubs token keeps failing and no valid token will remain; retrying"
                );
                Err(Error::RefreshFailing {
                    source_name,
                    sink,
                    failures,
                    state,
                    source: Box::new(error),
                })
            }
        }
    }

    /// Ticks, then sleeps on the clock until the next attempt, until `stop` completes. Errors from
    /// [`tick`](Self::tick) are logged (by `tick`) and retried, never returned. Returns the counters.
    pub async fn run_until<F>(&mut self, stop: F) -> RefreshStats
    where
        F: Future<Output = ()> + Send,
    {
        let clock = self.clock.clone();
        tokio::pin!(stop);
        tracing::info!(source = %self.source.describe(), sink = %self.sink.describe(), "token refresher started");
        loop {
            // `tick` logs failures itself; the loop just carries on.
            let _ = self.tick().await;
            let wait = self.until_next();
            tokio::select! {
                biased;
                () = &mut stop => break,
                () = clock.sleep(wait) => {}
            }
        }
        tracing::info!(
            refreshes = self.stats.refreshes,
            failures = self.stats.failures,
            "token refresher stopped"
        );
        self.stats
    }
}
