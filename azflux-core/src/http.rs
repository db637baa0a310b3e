//! The HTTP pipeline every azflux client sends through: azure_core's pipeline (user agent `azflux/<version>`,
//! `x-ms-client-request-id`, pooled connections) with azflux's retry policy (bounded exponential backoff with
//! full jitter; `Retry-After` / `x-ms-retry-after-ms` honoured on 429 and 503), an optional bearer-token
//! policy that only sends tokens to the hosts they are meant for, and responses read into [`Response`] or
//! classified into [`crate::Error`].

use crate::clock::{Clock, system_clock};
use crate::error::{Error, Result, classify};
use azure_core::credentials::TokenCredential;
use azure_core::http::headers::{HeaderName, Headers};
use azure_core::http::policies::{Policy, PolicyResult, RetryHeaders, RetryPolicy};
use azure_core::http::{
    AsyncRawResponse, ClientOptions, Context, HttpClient, Method, Request, RetryOptions,
    StatusCode, Transport, Url,
};
use bytes::Bytes;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use azure_core::http::{
    AsyncRawResponse as StreamingResponse, Method as HttpMethod, Request as HttpRequest,
};

/// What azflux puts first in every `User-Agent`: `azflux/<version>`.
pub const APPLICATION_ID: &str = concat!("azflux/", env!("CARGO_PKG_VERSION"));

/// Retry settings: bounded, exponential, with full jitter.
#[derive(Debug, Clone)]
pub struct RetryConfig {
    /// Retries after the first attempt (default 6).
    pub max_retries: u32,
    /// The first backoff (default 800 ms); each retry doubles it.
    pub initial_delay: Duration,
    /// The largest backoff (default 60 s). `Retry-After` may ask for longer and is honoured.
    pub max_delay: Duration,
    /// Give up once this much time has passed since the first attempt (default 5 min).
    pub max_elapsed: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 6,
            initial_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(60),
            max_elapsed: Duration::from_secs(300),
        }
    }
}

impl RetryConfig {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The backoff before retry number `attempt` (1-based), before jitter: `initial * 2^(attempt-1)`, capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.initial_delay
            .saturating_mul(factor)
            .min(self.max_delay)
    }
}

/// Options for [`HttpPipeline::new`].
#[derive(Clone)]
pub struct HttpPipelineOptions {
    /// Where requests go. `None`: azure_core's default reqwest client (rustls, pooled connections).
    /// The fake cloud passes a transport that routes real Azure host names to local fakes.
    pub transport: Option<Arc<dyn HttpClient>>,
    /// Retry settings.
    pub retry: RetryConfig,
    /// The clock retries and pollers wait on.
    pub clock: Arc<dyn Clock>,
}

impl Default for HttpPipelineOptions {
    fn default() -> Self {
        Self {
            transport: None,
            retry: RetryConfig::default(),
            clock: system_clock(),
        }
    }
}

impl fmt::Debug for HttpPipelineOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpPipelineOptions")
            .field("transport", &self.transport.as_ref().map(|_| "custom"))
            .field("retry", &self.retry)
            .field("clock", &self.clock)
            .finish()
    }
}

impl HttpPipelineOptions {
    /// The same transport and retry settings as azure_core [`ClientOptions`], for SDK clients and
    /// azure_identity credentials that should go where azflux's own requests go.
    pub fn client_options(&self) -> ClientOptions {
        crate::install_crypto_provider();
        let mut options = ClientOptions::default();
        if let Some(transport) = &self.transport {
            options.transport = Some(Transport::new(transport.clone()));
        }
        options.retry = RetryOptions::custom(Arc::new(AzfluxRetryPolicy::new(
            self.retry.clone(),
            self.clock.clone(),
        )));
        // azure_core only allows RFC 9110 tokens (no '/') in its application id; UserAgentPrefix puts
        // `azflux/<version>` first instead.
        options.per_try_policies.push(Arc::new(UserAgentPrefix));
        options
    }
}

/// Which hosts a bearer token may be sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostRule {
    /// Exactly this host (case-insensitive).
    Exact(String),
    /// Any host ending with this suffix, which must start with a dot (`.vault.azure.net`).
    Suffix(String),
}

impl HostRule {
    /// Whether `host` is allowed by this rule.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        match self {
            HostRule::Exact(h) => host == h.to_ascii_lowercase(),
            HostRule::Suffix(s) => {
                let s = s.to_ascii_lowercase();
                host.ends_with(&s) && host.len() > s.len()
            }
        }
    }
}

/// A bearer token to attach: from `credential`, for `scope`, only to hosts matching `hosts`.
#[derive(Clone)]
pub struct BearerAuth {
    /// The credential (usually a [`crate::credential::CachedCredential`]).
    pub credential: Arc<dyn TokenCredential>,
    /// The scope (`https://management.azure.com/.default`).
    pub scope: String,
    /// The hosts the token is meant for.
    pub hosts: Vec<HostRule>,
}

impl fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuth")
            .field("scope", &self.scope)
            .field("hosts", &self.hosts)
            .finish_non_exhaustive()
    }
}

impl BearerAuth {
    fn allows(&self, url: &Url) -> bool {
        url.scheme() == "https"
            && url
                .host_str()
                .is_some_and(|h| self.hosts.iter().any(|r| r.allows(h)))
    }
}

/// A response read whole: status, headers, body.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: Headers,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// A header value by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get_optional_str(&HeaderName::from(name.to_ascii_lowercase()))
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self, resource: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::UnexpectedResponse {
            resource: resource.to_owned(),
            message: format!("the body is not the expected JSON: {e}"),
        })
    }

    /// `Retry-After` (or `x-ms-retry-after-ms`), when present; capped at [`crate::error::MAX_RETRY_AFTER`].
    pub fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after")
            .and_then(crate::error::parse_retry_after)
            .or_else(|| {
                self.header("x-ms-retry-after-ms")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|ms| Duration::from_millis(ms).min(crate::error::MAX_RETRY_AFTER))
            })
    }

    /// The ARM rate-limit counters the response carried.
    pub fn rate_limits(&self) -> RateLimits {
        RateLimits::from_headers(&self.headers)
    }

    /// Turns a non-2xx response into the classified error.
    pub fn error_for(&self, resource: &str) -> Error {
        classify(
            self.status,
            resource,
            &|n| self.header(n).map(str::to_owned),
            &self.body,
        )
    }

    /// `Ok(self)` for 2xx, the classified error otherwise.
    pub fn check(self, resource: &str) -> Result<Self> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(self.error_for(resource))
        }
    }
}

/// The `x-ms-ratelimit-remaining-*` counters ARM sends (§9 of the Azure REST digest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// Every `x-ms-ratelimit-remaining-*` header, by the name after that prefix (`subscription-reads`…).
    pub remaining: Vec<(String, u64)>,
}

impl RateLimits {
    /// Reads the counters from response headers.
    pub fn from_headers(headers: &Headers) -> Self {
        let mut remaining: Vec<(String, u64)> = headers
            .iter()
            .filter_map(|(name, value)| {
                let name = name.as_str().to_ascii_lowercase();
                let rest = name.strip_prefix("x-ms-ratelimit-remaining-")?;
                Some((rest.to_owned(), value.as_str().trim().parse().ok()?))
            })
            .collect();
        remaining.sort();
        Self { remaining }
    }

    /// One counter, e.g. `subscription-writes`.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.remaining
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    /// The smallest remaining counter, if any: how close this principal is to being throttled.
    pub fn lowest(&self) -> Option<u64> {
        self.remaining.iter().map(|(_, v)| *v).min()
    }
}

/// The pipeline: send requests, get [`Response`]s or classified errors.
#[derive(Clone)]
pub struct HttpPipeline {
    pipeline: Arc<azure_core::http::Pipeline>,
    bearer: Option<BearerAuth>,
    clock: Arc<dyn Clock>,
    retry: RetryConfig,
}

impl fmt::Debug for HttpPipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpPipeline")
            .field("bearer", &self.bearer)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl HttpPipeline {
    /// A pipeline without authentication (for token endpoints, SAS-signed and basic-auth requests).
    pub fn new(options: &HttpPipelineOptions) -> Self {
        crate::install_crypto_provider();
        Self::build(options, None)
    }

    /// A pipeline that attaches a bearer token for `auth.scope` to every request to `auth.hosts`, and refuses
    /// to send a request anywhere else.
    pub fn with_bearer(options: &HttpPipelineOptions, auth: BearerAuth) -> Self {
        Self::build(options, Some(auth))
    }

    fn build(options: &HttpPipelineOptions, bearer: Option<BearerAuth>) -> Self {
        let client_options = options.client_options();
        let mut per_try: Vec<Arc<dyn Policy>> = Vec::new();
        if let Some(auth) = &bearer {
            per_try.push(Arc::new(BearerPolicy { auth: auth.clone() }));
        }
        let pipeline = azure_core::http::Pipeline::new(
            Some("azflux"),
            Some(env!("CARGO_PKG_VERSION")),
            client_options,
            Vec::new(),
            per_try,
            None,
        );
        Self {
            pipeline: Arc::new(pipeline),
            bearer,
            clock: options.clock.clone(),
            retry: options.retry.clone(),
        }
    }

    /// The clock this pipeline waits on.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The retry settings (pollers reuse them for their own bounded loops).
    pub fn retry_config(&self) -> &RetryConfig {
        &self.retry
    }

    /// Sends `request` and reads the whole response, whatever its status. Errors only when no response came.
    pub async fn send(&self, request: &mut Request) -> Result<Response> {
        let raw = self.stream(request).await?;
        let resource = describe_request(request);
        let (status, headers, body) = raw.deconstruct();
        let body = body.collect().await.map_err(|e| Error::Transport {
            resource: resource.clone(),
            message: format!("the response body was cut: {}", describe_core_error(&e)),
        })?;
        Ok(Response {
            status: u16::from(status),
            headers,
            body,
        })
    }

    /// Sends `request`; 2xx gives the [`Response`], anything else the classified [`Error`].
    pub async fn send_checked(&self, request: &mut Request) -> Result<Response> {
        let resource = describe_request(request);
        self.send(request).await?.check(&resource)
    }

    /// Sends `request` and returns the response with its body still streaming (for large payloads).
    pub async fn stream(&self, request: &mut Request) -> Result<AsyncRawResponse> {
        if let Some(auth) = &self.bearer
            && !auth.allows(request.url())
        {
            return Err(Error::ForeignHost {
                host: request.url().host_str().unwrap_or_default().to_owned(),
                scope: auth.scope.clone(),
            });
        }
        let ctx = Context::new();
        let options = azure_core::http::PipelineStreamOptions {
            skip_checks: true,
            ..Default::default()
        };
        self.pipeline
            .stream(&ctx, request, Some(options))
            .await
            .map_err(|e| match e.kind() {
                azure_core::error::ErrorKind::Credential => Error::Credential {
                    scope: self
                        .bearer
                        .as_ref()
                        .map(|b| b.scope.clone())
                        .unwrap_or_default(),
                    message: describe_core_error(&e),
                },
                _ => Error::Transport {
                    resource: describe_request(request),
                    message: describe_core_error(&e),
                },
            })
    }
}

/// `METHOD /path` of a request: what errors and logs name (never the query string or credentials).
pub fn describe_request(request: &Request) -> String {
    let url = request.url();
    format!(
        "{} {}{}",
        request.method(),
        url.host_str().unwrap_or_default(),
        url.path()
    )
}

/// A readable message for an azure_core error; Entra ID refusals become `AADSTS…: <first line>`.
pub fn describe_core_error(error: &azure_core::Error) -> String {
    if let azure_core::error::ErrorKind::HttpResponse {
        status,
        raw_response: Some(raw),
        ..
    } = error.kind()
    {
        let classified = classify(
            u16::from(*status),
            "token endpoint",
            &|n| {
                raw.headers()
                    .get_optional_str(&HeaderName::from(n.to_owned()))
                    .map(str::to_owned)
            },
            raw.body(),
        );
        if let Some(se) = classified.service_error() {
            return format!("{} {}: {}", se.status, se.code, se.message);
        }
    }
    // azure_core's Display prints the message and its context chain; the HTTP library's part may name the
    // URL, whose query string or userinfo could carry a signature or credential: masked.
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    crate::secret::redact_urls_in_text(&text)
}

/// A request with a JSON body.
pub fn json_request<T: serde::Serialize>(
    method: Method,
    url: Url,
    body: Option<&T>,
) -> Result<Request> {
    let mut request = Request::new(url, method);
    request.insert_header("accept", "application/json");
    if let Some(body) = body {
        let bytes =
            serde_json::to_vec(body).map_err(|e| Error::invalid("request body", e.to_string()))?;
        request.insert_header("content-type", "application/json");
        request.set_body(bytes);
    }
    Ok(request)
}

/// azflux's retry policy: bounded exponential backoff with full jitter, `Retry-After` honoured exactly,
/// waits on the pipeline's [`Clock`].
#[derive(Debug)]
pub struct AzfluxRetryPolicy {
    config: RetryConfig,
    clock: Arc<dyn Clock>,
    headers: RetryHeaders,
}

impl AzfluxRetryPolicy {
    /// A policy with `config`, sleeping on `clock`.
    pub fn new(config: RetryConfig, clock: Arc<dyn Clock>) -> Self {
        let headers = RetryHeaders {
            // azure_core's own constants: get_retry_after reads RETRY_AFTER as seconds, the others as ms.
            retry_headers: vec![
                azure_core::http::headers::X_MS_RETRY_AFTER_MS,
                azure_core::http::headers::RETRY_AFTER_MS,
                azure_core::http::headers::RETRY_AFTER,
            ],
        };
        Self {
            config,
            clock,
            headers,
        }
    }
}

#[async_trait::async_trait]
impl RetryPolicy for AzfluxRetryPolicy {
    fn is_expired(
        &self,
        duration_since_start: azure_core::time::Duration,
        retry_count: u32,
    ) -> bool {
        retry_count >= self.config.max_retries
            || duration_since_start.whole_milliseconds()
                >= self.config.max_elapsed.as_millis() as i128
    }

    fn retry_headers(&self) -> Option<&RetryHeaders> {
        Some(&self.headers)
    }

    fn retry_status_codes(&self) -> &[StatusCode] {
        &[]
    }

    fn sleep_duration(&self, retry_count: u32) -> azure_core::time::Duration {
        let cap = self.config.backoff(retry_count);
        // Full jitter between half the backoff and the backoff.
        let half = cap / 2;
        let jitter = rand::random::<f64>();
        let wait = half + half.mul_f64(jitter);
        azure_core::time::Duration::try_from(wait).unwrap_or(azure_core::time::Duration::ZERO)
    }

    async fn wait(&self, retry_count: u32, retry_after: Option<azure_core::time::Duration>) {
        let wait = match retry_after {
            // Honoured exactly, but never longer than MAX_RETRY_AFTER (a hostile or broken server must not
            // stall the client); negative values become zero.
            Some(server_says) => Duration::try_from(server_says)
                .unwrap_or_default()
                .min(crate::error::MAX_RETRY_AFTER),
            None => Duration::try_from(self.sleep_duration(retry_count)).unwrap_or_default(),
        };
        tracing::debug!(
            retry = retry_count,
            wait_ms = wait.as_millis() as u64,
            "retrying after backoff"
        );
        self.clock.sleep(wait).await;
    }
}

/// Puts `azflux/<version>` in front of the `User-Agent` azure_core builds.
#[derive(Debug)]
struct UserAgentPrefix;

#[async_trait::async_trait]
#[allow(elided_lifetimes_in_paths)] // the trait's signature elides Context's lifetime
impl Policy for UserAgentPrefix {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let current = request
            .headers()
            .get_optional_string(&HeaderName::from_static("user-agent"))
            .unwrap_or_default();
        if !current.starts_with(APPLICATION_ID) {
            let agent = format!("{APPLICATION_ID} {current}");
            request.insert_header("user-agent", agent.trim_end().to_owned());
        }
        match next.split_first() {
            Some((first, rest)) => first.send(ctx, request, rest).await,
            None => Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Other,
                "the pipeline has no transport policy",
            )),
        }
    }
}

#[derive(Debug)]
struct BearerPolicy {
    auth: BearerAuth,
}

#[async_trait::async_trait]
#[allow(elided_lifetimes_in_paths)] // the trait's signature elides Context's lifetime
impl Policy for BearerPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        if !self.auth.allows(request.url()) {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                format!(
                    "refused to send a token for {} to {}",
                    self.auth.scope,
                    request.url().host_str().unwrap_or_default()
                ),
            ));
        }
        let token = self
            .auth
            .credential
            .get_token(&[self.auth.scope.as_str()], None)
            .await?;
        request.insert_header("authorization", format!("Bearer {}", token.token.secret()));
        match next.split_first() {
            Some((first, rest)) => first.send(ctx, request, rest).await,
            None => Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Other,
                "the pipeline has no transport policy",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let c = RetryConfig::default();
        assert_eq!(c.backoff(1), Duration::from_millis(800));
        assert_eq!(c.backoff(2), Duration::from_millis(1600));
        assert_eq!(c.backoff(30), Duration::from_secs(60));
    }

    #[test]
    fn jitter_stays_within_half_and_full_backoff() {
        let p = AzfluxRetryPolicy::new(RetryConfig::default(), system_clock());
        for attempt in 1..6 {
            let cap = RetryConfig::default().backoff(attempt);
            for _ in 0..50 {
                let d = Duration::try_from(p.sleep_duration(attempt)).unwrap();
                assert!(
                    d >= cap / 2 && d <= cap,
                    "{d:?} outside [{:?}, {cap:?}]",
                    cap / 2
                );
            }
        }
    }

    #[tokio::test]
    async fn server_retry_after_is_capped_and_negative_values_wait_nothing() {
        let clock = crate::clock::ManualClock::at_epoch();
        let p = AzfluxRetryPolicy::new(RetryConfig::default(), Arc::new(clock.clone()));
        p.wait(1, Some(azure_core::time::Duration::seconds(i64::MAX)))
            .await;
        p.wait(1, Some(azure_core::time::Duration::seconds(-5)))
            .await;
        p.wait(1, Some(azure_core::time::Duration::seconds(7)))
            .await;
        assert_eq!(
            clock.sleeps(),
            vec![
                crate::error::MAX_RETRY_AFTER,
                Duration::ZERO,
                Duration::from_secs(7)
            ]
        );
    }

    #[test]
    fn host_rules() {
        assert!(HostRule::Suffix(".vault.azure.net".into()).allows("kv.vault.azure.net"));
        assert!(!HostRule::Suffix(".vault.azure.net".into()).allows("vault.azure.net"));
        assert!(HostRule::Exact("management.azure.com".into()).allows("Management.Azure.com"));
        assert!(
            !HostRule::Exact("management.azure.com".into()).allows("management.azure.com.evil.io")
        );
    }
}
