//! One subscription's Resource Manager budget, shared by every client of a run (and every cluster of a
//! fleet): a transport wrapper that paces ARM requests with token buckets shaped like ARM's own (reads:
//! 250 burst, 25/s; writes and deletes: 200 burst, 10/s), follows the `x-ms-ratelimit-remaining-*`
//! counters ARM returns, and after a 429 holds every ARM request until its `Retry-After` (at most 5 min)
//! has passed — so a fleet of 50 clusters slows down instead of exhausting its retries. Waits go through
//! the run's clock.
//! Requests to other hosts pass through untouched.

use azflux_core::clock::Clock;
use azure_core::http::{AsyncRawResponse, HttpClient, Method, Request};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;

/// The longest pause a 429's `Retry-After` can impose (ARM asks for seconds to a minute; a larger or
/// unreadable value must not stall the run for years or overflow the clock).
const MAX_PAUSE: Duration = Duration::from_secs(300);

/// A token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    refill_per_sec: f64,
}

impl Bucket {
    fn new(capacity: f64, refill_per_sec: f64) -> Self {
        Bucket {
            tokens: capacity,
            capacity,
            refill_per_sec,
        }
    }
    fn refill(&mut self, elapsed: Duration) {
        self.tokens =
            (self.tokens + elapsed.as_secs_f64() * self.refill_per_sec).min(self.capacity);
    }
}

#[derive(Debug)]
struct State {
    reads: Bucket,
    writes: Bucket,
    last: OffsetDateTime,
    paused_until: Option<OffsetDateTime>,
    waits: u64,
    throttled: u64,
}

/// What the limiter did (for the benchmark and the tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThrottleStats {
    /// Requests that waited for a token or a pause.
    pub waits: u64,
    /// 429 answers seen.
    pub throttled: u64,
}

/// The transport wrapper.
#[derive(Debug, Clone)]
pub struct ArmThrottle {
    inner: Arc<dyn HttpClient>,
    clock: Arc<dyn Clock>,
    state: Arc<Mutex<State>>,
    host: String,
}

impl ArmThrottle {
    /// Paces the requests to `host` (`management.azure.com`) that go through `inner`.
    pub fn new(inner: Arc<dyn HttpClient>, clock: Arc<dyn Clock>, host: &str) -> Self {
        let now = clock.now();
        ArmThrottle {
            inner,
            clock,
            state: Arc::new(Mutex::new(State {
                reads: Bucket::new(250.0, 25.0),
                writes: Bucket::new(200.0, 10.0),
                last: now,
                paused_until: None,
                waits: 0,
                throttled: 0,
            })),
            host: host.to_ascii_lowercase(),
        }
    }

    /// What the limiter did so far.
    pub fn stats(&self) -> ThrottleStats {
        let s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        ThrottleStats {
            waits: s.waits,
            throttled: s.throttled,
        }
    }

    /// Wraps `options`' transport (or the default one) so that every client built from the result
    /// shares this subscription's budget.
    pub fn wrap_options(
        mut options: azflux_core::http::HttpPipelineOptions,
        host: &str,
    ) -> (azflux_core::http::HttpPipelineOptions, ArmThrottle) {
        let inner = options
            .transport
            .clone()
            .unwrap_or_else(|| azure_core::http::new_http_client(None));
        let throttle = ArmThrottle::new(inner, options.clock.clone(), host);
        options.transport = Some(Arc::new(throttle.clone()));
        (options, throttle)
    }

    async fn acquire(&self, write: bool) {
        let mut waited = false;
        loop {
            let wait = {
                let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                let now = self.clock.now();
                let elapsed = (now - s.last).max(time::Duration::ZERO);
                let elapsed = Duration::from_secs_f64(elapsed.as_seconds_f64());
                s.reads.refill(elapsed);
                s.writes.refill(elapsed);
                s.last = now;
                let paused = s.paused_until.filter(|until| *until > now);
                if let Some(until) = paused {
                    Duration::from_secs_f64((until - now).as_seconds_f64().max(0.001))
                } else {
                    let bucket = if write { &mut s.writes } else { &mut s.reads };
                    if bucket.tokens >= 1.0 {
                        bucket.tokens -= 1.0;
                        if waited {
                            s.waits += 1;
                        }
                        return;
                    }
                    Duration::from_secs_f64(
                        ((1.0 - bucket.tokens) / bucket.refill_per_sec).max(0.001),
                    )
                }
            };
            waited = true;
            self.clock.sleep(wait).await;
        }
    }

    fn observe(&self, write: bool, response: &AsyncRawResponse) {
        let header = |name: &'static str| {
            response
                .headers()
                .get_optional_str(&azure_core::http::headers::HeaderName::from_static(name))
                .map(str::to_owned)
        };
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let remaining = if write {
            header("x-ms-ratelimit-remaining-subscription-writes")
        } else {
            header("x-ms-ratelimit-remaining-subscription-reads")
        };
        // The counter is the server's: a negative, infinite or NaN one must not drive the wait.
        if let Some(r) = remaining
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|r| !r.is_nan())
        {
            let bucket = if write { &mut s.writes } else { &mut s.reads };
            bucket.tokens = bucket.tokens.min(r.max(0.0));
        }
        if u16::from(response.status()) == 429 {
            s.throttled += 1;
            let secs = header("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1);
            let until = self.clock.now() + Duration::from_secs(secs).min(MAX_PAUSE);
            if s.paused_until.is_none_or(|p| p < until) {
                s.paused_until = Some(until);
            }
        }
    }
}

#[async_trait::async_trait]
impl HttpClient for ArmThrottle {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let arm = request
            .url()
            .host_str()
            .is_some_and(|h| h.eq_ignore_ascii_case(&self.host));
        if !arm {
            return self.inner.execute_request(request).await;
        }
        let write = !matches!(request.method(), Method::Get | Method::Head);
        self.acquire(write).await;
        let response = self.inner.execute_request(request).await?;
        self.observe(write, &response);
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azflux_core::clock::ManualClock;
    use azure_core::http::headers::{HeaderName, Headers};
    use azure_core::http::{StatusCode, Url};

    /// Answers every request with `status` and `headers`.
    #[derive(Debug)]
    struct Answer(StatusCode, Vec<(&'static str, &'static str)>);

    #[async_trait::async_trait]
    impl HttpClient for Answer {
        async fn execute_request(&self, _: &Request) -> azure_core::Result<AsyncRawResponse> {
            let mut headers = Headers::new();
            for (k, v) in &self.1 {
                headers.insert(HeaderName::from_static(k), *v);
            }
            Ok(AsyncRawResponse::from_bytes(self.0, headers, Vec::new()))
        }
    }

    async fn two_requests(answer: Answer) -> ManualClock {
        let clock = ManualClock::at_epoch();
        let throttle = ArmThrottle::new(
            Arc::new(answer),
            Arc::new(clock.clone()),
            "management.azure.com",
        );
        let url = Url::parse("https://management.azure.com/subscriptions/s").unwrap();
        for _ in 0..2 {
            let request = Request::new(url.clone(), Method::Put);
            throttle.execute_request(&request).await.unwrap();
        }
        clock
    }

    #[tokio::test]
    async fn server_counters_and_retry_after_never_panic_nor_wait_unbounded() {
        for (name, value) in [
            ("x-ms-ratelimit-remaining-subscription-writes", "-inf"),
            ("x-ms-ratelimit-remaining-subscription-writes", "-1e300"),
            ("x-ms-ratelimit-remaining-subscription-writes", "NaN"),
        ] {
            let clock = two_requests(Answer(StatusCode::Ok, vec![(name, value)])).await;
            // A counter below zero means "none left": wait for one token (0.1 s at 10/s), no more.
            assert!(
                clock.total_slept() <= Duration::from_secs(1),
                "{value}: {:?}",
                clock.sleeps()
            );
        }
        for value in ["18446744073709551615", "999999999999"] {
            let clock = two_requests(Answer(
                StatusCode::TooManyRequests,
                vec![("retry-after", value)],
            ))
            .await;
            assert!(
                clock.total_slept() <= MAX_PAUSE,
                "{value}: {:?}",
                clock.sleeps()
            );
            assert!(
                clock.total_slept() > Duration::ZERO,
                "{value}: the pause was ignored"
            );
        }
    }
}
