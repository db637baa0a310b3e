//! Time, injectable: every wait and every "now" in azflux goes through a [`Clock`], so that tests (and the
//! fake cloud) run on a [`ManualClock`] that advances without sleeping real time.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;

/// A source of the current time and a way to wait.
#[async_trait::async_trait]
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time (UTC).
    fn now(&self) -> OffsetDateTime;
    /// Waits `duration` on this clock.
    async fn sleep(&self, duration: Duration);
}

/// The real clock: `OffsetDateTime::now_utc()` and `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait::async_trait]
impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A shared handle to the system clock.
pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// A clock that only moves when told to, or when someone sleeps on it: `sleep(d)` advances the clock by `d`
/// and returns at once. Cloning shares the same time. Every sleep is recorded, so a test can check that a
/// client waited what the server asked (`Retry-After`).
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualState>>,
}

struct ManualState {
    now: OffsetDateTime,
    sleeps: Vec<Duration>,
}

impl ManualClock {
    /// A manual clock starting at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            inner: Arc::new(Mutex::new(ManualState {
                now: start,
                sleeps: Vec::new(),
            })),
        }
    }

    /// A manual clock starting at 2026-01-01T00:00:00Z.
    pub fn at_epoch() -> Self {
        Self::new(time::macros::datetime!(2026-01-01 00:00:00 UTC))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        state.now += by;
    }

    /// Sets the clock to `to` (may go backwards, for tests of clock skew).
    pub fn set(&self, to: OffsetDateTime) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .now = to;
    }

    /// Every duration slept on this clock, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .sleeps
            .clone()
    }

    /// Total time slept on this clock.
    pub fn total_slept(&self) -> Duration {
        self.sleeps().iter().sum()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &self.now())
            .finish()
    }
}

#[async_trait::async_trait]
impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .now
    }

    async fn sleep(&self, duration: Duration) {
        {
            let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            state.now += duration;
            state.sleeps.push(duration);
        }
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_advances_on_sleep_and_records_it() {
        let clock = ManualClock::at_epoch();
        let start = clock.now();
        clock.sleep(Duration::from_secs(10)).await;
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.now() - start, time::Duration::seconds(15));
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(10)]);
    }

    #[tokio::test]
    async fn clones_share_time() {
        let a = ManualClock::at_epoch();
        let b = a.clone();
        b.advance(Duration::from_secs(60));
        assert_eq!(a.now(), b.now());
    }
}
