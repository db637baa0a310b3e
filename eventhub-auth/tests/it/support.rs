//! Test helpers: a recording Kubernetes apply function, a flaky token source, a fake Entra credential, a
//! log capture.

#![allow(dead_code)]

use azflux_core::clock::{Clock, ManualClock};
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eventhub_auth::{
    BoxError, Error, IssuedToken, KubeSecret, KubernetesSecretSink, TokenSource, apply_fn,
};
use secrecy::ExposeSecret;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

/// One applied Secret, as the API server would hold it.
#[derive(Clone)]
pub struct Applied {
    pub at: OffsetDateTime,
    pub token: String,
    pub address: String,
    pub keys: Vec<String>,
}

/// A fake cluster's Secret store: records every apply with the clock's time; can be told to fail.
#[derive(Clone)]
pub struct FakeCluster {
    pub clock: ManualClock,
    pub applied: Arc<Mutex<Vec<Applied>>>,
    /// Applies fail while the clock is inside this window.
    pub fail_window: Arc<Mutex<Option<(OffsetDateTime, OffsetDateTime)>>>,
    pub failed_applies: Arc<AtomicU64>,
}

impl FakeCluster {
    pub fn new(clock: ManualClock) -> Self {
        Self {
            clock,
            applied: Default::default(),
            fail_window: Default::default(),
            failed_applies: Default::default(),
        }
    }

    pub fn sink(&self, name: &str, namespace: &str) -> KubernetesSecretSink {
        let me = self.clone();
        let apply = apply_fn(move |secret: KubeSecret| {
            let me = me.clone();
            async move {
                let now = me.clock.now();
                if me
                    .fail_window
                    .lock()
                    .unwrap()
                    .is_some_and(|(from, until)| now >= from && now < until)
                {
                    me.failed_applies.fetch_add(1, Ordering::SeqCst);
                    return Err::<(), BoxError>("API server unavailable".into());
                }
                let get = |k: &str| {
                    secret
                        .get(k)
                        .map(|v| v.expose_secret().to_owned())
                        .unwrap_or_default()
                };
                me.applied.lock().unwrap().push(Applied {
                    at: me.clock.now(),
                    token: get("token"),
                    address: get("address"),
                    keys: secret.string_data.keys().cloned().collect(),
                });
                Ok(())
            }
        });
        KubernetesSecretSink::new(name, namespace, Arc::new(apply))
    }

    pub fn fail_between(&self, from: OffsetDateTime, until: OffsetDateTime) {
        *self.fail_window.lock().unwrap() = Some((from, until));
    }

    pub fn history(&self) -> Vec<Applied> {
        self.applied.lock().unwrap().clone()
    }
}

/// Wraps a source and fails while the clock is inside `[from, until)`.
#[derive(Debug)]
pub struct Flaky {
    pub inner: Arc<dyn TokenSource>,
    pub clock: ManualClock,
    pub from: OffsetDateTime,
    pub until: OffsetDateTime,
    pub calls: AtomicU64,
    pub failed_calls: AtomicU64,
}

impl Flaky {
    pub fn new(
        inner: Arc<dyn TokenSource>,
        clock: ManualClock,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Self {
        Self {
            inner,
            clock,
            from,
            until,
            calls: AtomicU64::new(0),
            failed_calls: AtomicU64::new(0),
        }
    }
}

#[async_trait::async_trait]
impl TokenSource for Flaky {
    fn describe(&self) -> String {
        format!("flaky({})", self.inner.describe())
    }

    async fn token(&self) -> eventhub_auth::Result<IssuedToken> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let now = self.clock.now();
        if now >= self.from && now < self.until {
            self.failed_calls.fetch_add(1, Ordering::SeqCst);
            return Err(Error::TokenSource {
                source_name: self.describe(),
                why: "Entra ID returned 503".into(),
            });
        }
        self.inner.token().await
    }
}

/// A fake Entra ID credential issuing unsigned JWTs whose `exp` is `now + lifetime`, while the
/// `AccessToken::expires_on` it reports is deliberately different (`now + reported_lifetime`).
#[derive(Debug)]
pub struct FakeCredential {
    pub clock: ManualClock,
    pub lifetime: Duration,
    pub reported_lifetime: Duration,
    pub opaque: bool,
    pub fail: Mutex<bool>,
    pub issued: Mutex<Vec<String>>,
    pub scopes: Mutex<Vec<String>>,
    counter: AtomicU64,
}

impl FakeCredential {
    pub fn new(clock: ManualClock, lifetime: Duration, reported_lifetime: Duration) -> Self {
        Self {
            clock,
            lifetime,
            reported_lifetime,
            opaque: false,
            fail: Mutex::new(false),
            issued: Mutex::default(),
            scopes: Mutex::default(),
            counter: AtomicU64::new(0),
        }
    }
}

#[async_trait::async_trait]
impl TokenCredential for FakeCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.scopes
            .lock()
            .unwrap()
            .extend(scopes.iter().map(|s| s.to_string()));
        if *self.fail.lock().unwrap() {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                "AADSTS70021: no matching federated identity record",
            ));
        }
        let now = self.clock.now();
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let exp = (now + self.lifetime).unix_timestamp();
        let token = if self.opaque {
            format!("opaque-access-token-{n}")
        } else {
            let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
            let payload = URL_SAFE_NO_PAD.encode(format!(
                r#"{{"aud":"https://eventhubs.azure.net","exp":{exp},"jti":"tok-{n}"}}"#
            ));
            format!("{header}.{payload}.c2lnbmF0dXJlLXtu{n}")
        };
        self.issued.lock().unwrap().push(token.clone());
        Ok(AccessToken::new(token, now + self.reported_lifetime))
    }
}

/// A `tracing` subscriber writing every event (TRACE and up) into a shared buffer. It is installed once
/// as the global default for the whole test binary: a thread-local (`set_default`) subscriber races with
/// callsite-interest caching when other tests run on other threads, and then misses events.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// The binary-wide capture (installed on first use).
    pub fn global() -> &'static LogCapture {
        static CAPTURE: std::sync::OnceLock<LogCapture> = std::sync::OnceLock::new();
        CAPTURE.get_or_init(|| {
            let capture = LogCapture::default();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_thread_ids(true)
                .with_writer(capture.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in this binary");
            tracing::callsite::rebuild_interest_cache();
            capture
        })
    }

    /// Everything captured.
    pub fn all_text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Every captured line written by the current thread.
    pub fn text_of_this_thread(&self) -> String {
        // std prints `ThreadId(2)`, tracing-subscriber `ThreadId(02)`
        let id = format!("{:?}", std::thread::current().id());
        let n: String = id.chars().filter(char::is_ascii_digit).collect();
        let me = format!("ThreadId({n:0>2})");
        let all = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
        all.lines()
            .filter(|l| l.contains(&me))
            .map(|l| format!("{l}\n"))
            .collect()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A stop future for `run_until`: completes once the clock reaches `end`.
pub async fn when_clock_reaches(clock: ManualClock, end: OffsetDateTime) {
    while clock.now() < end {
        tokio::task::yield_now().await;
    }
}

/// Asserts that at every instant in `[first write, end]` the latest applied token was unexpired, given each
/// applied token's expiry.
pub fn assert_never_expired(history: &[(OffsetDateTime, OffsetDateTime)], end: OffsetDateTime) {
    assert!(!history.is_empty(), "nothing was written");
    for (i, (written_at, expires_on)) in history.iter().enumerate() {
        assert!(
            expires_on > written_at,
            "write {i} at {written_at} was already expired ({expires_on})"
        );
        let replaced_at = history.get(i + 1).map_or(end, |next| next.0);
        assert!(
            *expires_on > replaced_at,
            "token written at {written_at} expired at {expires_on} but was only replaced at {replaced_at}"
        );
    }
}
