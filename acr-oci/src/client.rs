//! [`AcrClient`]: the OCI distribution API of one registry, spoken over azflux-core's [`HttpPipeline`], with
//! ACR's token flow (AAD token → `/oauth2/exchange` → refresh token → `/oauth2/token` → access token), Docker
//! token auth with basic credentials (admin user, repository-scoped tokens) and anonymous pulls.

use crate::api::{ChartRef, ChartRegistry, Error, PulledChart, PushedChart, Result};
use crate::version::{VersionConstraint, tag_for_version, version_from_tag};
use crate::wire::{self, Challenge, Descriptor, Manifest};
use async_trait::async_trait;
use azflux_core::Cloud;
use azflux_core::TokenCredential;
use azflux_core::clock::Clock;
use azflux_core::http::{HttpMethod, HttpPipeline, HttpPipelineOptions, HttpRequest};
use base64::Engine;
use bytes::Bytes;
use futures::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use url::Url;

/// How the client authenticates to the registry.
#[derive(Clone)]
#[non_exhaustive]
pub enum AcrAuth {
    /// An Entra ID identity: its token for the cloud's Container Registry scope is exchanged for an ACR refresh
    /// token, then for access tokens per repository scope. The AAD token only ever goes to a registry host
    /// of the configured cloud.
    Aad {
        /// The identity.
        credential: Arc<dyn TokenCredential>,
        /// The tenant, sent as the exchange's optional `tenant` field.
        tenant_id: Option<String>,
    },
    /// The registry's admin user (or any basic credentials the token service accepts).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: SecretString,
    },
    /// An ACR repository-scoped token (`az acr token create`): its name and one of its passwords.
    RepositoryToken {
        /// The token's name.
        name: String,
        /// One of its passwords.
        password: SecretString,
    },
    /// No credentials (registries with anonymous pull enabled).
    Anonymous,
}

impl AcrAuth {
    /// AAD auth with `credential`.
    pub fn aad(credential: Arc<dyn TokenCredential>) -> Self {
        AcrAuth::Aad {
            credential,
            tenant_id: None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            AcrAuth::Aad { .. } => "the AAD token",
            AcrAuth::Basic { .. } => "the registry credentials",
            AcrAuth::RepositoryToken { .. } => "the repository-scoped token",
            AcrAuth::Anonymous => "an anonymous token request",
        }
    }

    fn basic_header(&self) -> Option<String> {
        let (user, pass) = match self {
            AcrAuth::Basic { username, password } => (username, password),
            AcrAuth::RepositoryToken { name, password } => (name, password),
            _ => return None,
        };
        let raw = format!("{user}:{}", pass.expose_secret());
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ))
    }
}

impl fmt::Debug for AcrAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcrAuth::Aad { tenant_id, .. } => f
                .debug_struct("Aad")
                .field("tenant_id", tenant_id)
                .finish_non_exhaustive(),
            AcrAuth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &azflux_core::secret::REDACTED)
                .finish(),
            AcrAuth::RepositoryToken { name, .. } => f
                .debug_struct("RepositoryToken")
                .field("name", name)
                .field("password", &azflux_core::secret::REDACTED)
                .finish(),
            AcrAuth::Anonymous => f.write_str("Anonymous"),
        }
    }
}

/// Size limits against hostile registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest manifest accepted (default 4 MiB, the distribution default).
    pub max_manifest_bytes: u64,
    /// Largest config blob accepted (default 4 MiB).
    pub max_config_bytes: u64,
    /// Largest chart layer accepted (default 512 MiB).
    pub max_layer_bytes: u64,
    /// Most tags read from one repository (default 100 000).
    pub max_tags: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_manifest_bytes: 4 * 1024 * 1024,
            max_config_bytes: 4 * 1024 * 1024,
            max_layer_bytes: 512 * 1024 * 1024,
            max_tags: 100_000,
        }
    }
}

/// Options for [`AcrClient::new`].
#[derive(Debug, Clone)]
pub struct AcrClientOptions {
    /// Transport, retries and clock (the fake cloud passes its routing transport).
    pub http: HttpPipelineOptions,
    /// The cloud whose registry hosts may receive AAD tokens.
    pub cloud: Cloud,
    /// Speak plain HTTP; only accepted for loopback registries (`127.0.0.1:5000`, `localhost:5000`).
    pub plain_http: bool,
    /// Size limits.
    pub limits: Limits,
    /// Tokens are refreshed this long before their `exp` (default 60 s).
    pub refresh_margin: Duration,
}

impl Default for AcrClientOptions {
    fn default() -> Self {
        Self {
            http: HttpPipelineOptions::default(),
            cloud: Cloud::public(),
            plain_http: false,
            limits: Limits::default(),
            refresh_margin: Duration::from_secs(60),
        }
    }
}

#[derive(Clone)]
struct CachedToken {
    value: SecretString,
    expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum AuthScheme {
    /// `/v2/` answered 200: no auth.
    None,
    /// Basic auth directly on the registry.
    Basic,
    /// Docker token auth.
    Bearer { realm: Url, service: String },
}

#[derive(Default)]
struct AuthState {
    scheme: Option<AuthScheme>,
    refresh: Option<CachedToken>,
    access: HashMap<String, CachedToken>,
}

struct Inner {
    registry: String,
    base: Url,
    auth: AcrAuth,
    cloud: Cloud,
    plain_http: bool,
    pipeline: HttpPipeline,
    clock: Arc<dyn Clock>,
    limits: Limits,
    margin: Duration,
    state: tokio::sync::Mutex<AuthState>,
}

/// A client of one registry (`myacr.azurecr.io`). Cloning shares its connection pool and token cache.
#[derive(Clone)]
pub struct AcrClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for AcrClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcrClient")
            .field("registry", &self.inner.registry)
            .field("auth", &self.inner.auth)
            .finish_non_exhaustive()
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn host_of(registry: &str) -> &str {
    if registry.starts_with('[') {
        return registry
            .split_once(']')
            .map(|(h, _)| h.trim_start_matches('['))
            .unwrap_or(registry);
    }
    registry.split(':').next().unwrap_or(registry)
}

/// A request in flight: what to send and which token scope it needs.
pub(crate) struct Call<'a> {
    pub(crate) method: HttpMethod,
    pub(crate) url: Url,
    pub(crate) scope: &'a str,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Option<Bytes>,
}

impl AcrClient {
    /// A client of `registry` (`myacr.azurecr.io`, or `127.0.0.1:5000` with `plain_http`).
    pub fn new(registry: &str, auth: AcrAuth, options: AcrClientOptions) -> Result<Self> {
        let registry = registry
            .trim()
            .trim_start_matches("oci://")
            .trim_end_matches('/')
            .to_ascii_lowercase();
        if registry.is_empty() || registry.contains('/') {
            return Err(Error::invalid(
                "registry",
                format!("'{registry}' is not a host[:port]"),
            ));
        }
        if options.plain_http && !is_loopback(host_of(&registry)) {
            return Err(Error::invalid(
                "registry",
                format!(
                    "plain HTTP is only allowed for loopback registries, not '{registry}'; use HTTPS"
                ),
            ));
        }
        let scheme = if options.plain_http { "http" } else { "https" };
        let base = Url::parse(&format!("{scheme}://{registry}/")).map_err(|e| {
            Error::invalid("registry", format!("'{registry}' is not a valid host: {e}"))
        })?;
        let clock = options.http.clock.clone();
        Ok(Self {
            inner: Arc::new(Inner {
                pipeline: HttpPipeline::new(&options.http),
                registry,
                base,
                auth,
                cloud: options.cloud,
                plain_http: options.plain_http,
                clock,
                limits: options.limits,
                margin: options.refresh_margin,
                state: tokio::sync::Mutex::new(AuthState::default()),
            }),
        })
    }

    /// The registry this client talks to (`host[:port]`).
    pub fn registry(&self) -> &str {
        &self.inner.registry
    }

    /// A [`ChartRef`] in this registry.
    pub fn chart(&self, repository: &str) -> Result<ChartRef> {
        ChartRef::new(&self.inner.registry, repository)
    }

    /// The ACR refresh token for this registry (exchanging the AAD token if none is cached): what
    /// `docker login` / Flux use as the password of user `00000000-0000-0000-0000-000000000000`.
    /// Only for [`AcrAuth::Aad`].
    pub async fn refresh_token(&self) -> Result<SecretString> {
        let mut state = self.inner.state.lock().await;
        let (realm, service) = match self.scheme(&mut state).await? {
            AuthScheme::Bearer { realm, service } => (realm, service),
            _ => {
                return Err(Error::invalid(
                    "registry",
                    format!(
                        "'{}' does not use token auth, so it has no refresh token",
                        self.inner.registry
                    ),
                ));
            }
        };
        let AcrAuth::Aad {
            credential,
            tenant_id,
        } = &self.inner.auth
        else {
            return Err(Error::invalid(
                "auth",
                "a refresh token needs AAD auth (AcrAuth::Aad)",
            ));
        };
        let credential = credential.clone();
        let tenant_id = tenant_id.clone();
        self.check_realm(&realm)?;
        let token = self
            .refresh_token_locked(
                &mut state,
                &realm,
                &service,
                &credential,
                tenant_id.as_deref(),
            )
            .await?;
        Ok(token.value)
    }

    pub(crate) fn limits(&self) -> Limits {
        self.inner.limits
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.now().unix_timestamp()
    }

    pub(crate) fn url(&self, path: &str) -> Result<Url> {
        self.inner
            .base
            .join(path)
            .map_err(|e| Error::invalid("registry path", format!("'{path}': {e}")))
    }

    pub(crate) fn protocol(&self, request: &str, message: impl Into<String>) -> Error {
        Error::Protocol {
            registry: self.inner.registry.clone(),
            request: request.to_owned(),
            message: message.into(),
        }
    }

    /// Whether `realm` may receive this client's credential.
    fn check_realm(&self, realm: &Url) -> Result<()> {
        let host = realm.host_str().unwrap_or_default().to_ascii_lowercase();
        let refuse = |why: String| Error::ForeignRealm {
            registry: self.inner.registry.clone(),
            realm: format!(
                "{}://{}{}",
                realm.scheme(),
                realm.host_str().unwrap_or_default(),
                realm.path()
            ),
            credential: self.inner.auth.kind(),
            why,
        };
        let secure = realm.scheme() == "https" || (self.inner.plain_http && is_loopback(&host));
        if !secure {
            return Err(refuse(
                "the realm is not HTTPS (plain HTTP is only accepted for loopback realms of a plain-HTTP loopback registry)".into(),
            ));
        }
        match &self.inner.auth {
            AcrAuth::Anonymous => Ok(()),
            AcrAuth::Aad { .. } => {
                // The access token minted from the AAD token goes to the registry: it must be one of the
                // cloud's registries too, or a foreign registry naming a real ACR as its realm would
                // collect that ACR's tokens.
                let registry_host = host_of(&self.inner.registry);
                if !self.inner.cloud.is_registry_host(registry_host) {
                    return Err(refuse(format!(
                        "the registry '{registry_host}' is not a registry host of cloud {} (*.{}), so tokens obtained with the AAD identity must not be sent to it",
                        self.inner.cloud.name, self.inner.cloud.container_registry_suffix
                    )));
                }
                if self.inner.cloud.is_registry_host(&host) {
                    Ok(())
                } else {
                    Err(refuse(format!(
                        "'{host}' is not a registry host of cloud {} (*.{})",
                        self.inner.cloud.name, self.inner.cloud.container_registry_suffix
                    )))
                }
            }
            AcrAuth::Basic { .. } | AcrAuth::RepositoryToken { .. } => {
                if host == host_of(&self.inner.registry) || self.inner.cloud.is_registry_host(&host)
                {
                    Ok(())
                } else {
                    Err(refuse(format!(
                        "'{host}' is neither the registry's host nor a registry host of cloud {}",
                        self.inner.cloud.name
                    )))
                }
            }
        }
    }

    async fn scheme(&self, state: &mut AuthState) -> Result<AuthScheme> {
        if let Some(s) = &state.scheme {
            return Ok(s.clone());
        }
        let url = self.url("v2/")?;
        let mut req = HttpRequest::new(url, HttpMethod::Get);
        let resp = self.inner.pipeline.send(&mut req).await?;
        let scheme = match resp.status {
            200..=299 => AuthScheme::None,
            401 => {
                let challenge = resp
                    .header("www-authenticate")
                    .and_then(wire::parse_challenge)
                    .ok_or_else(|| {
                        self.protocol("GET /v2/", "401 without a WWW-Authenticate challenge")
                    })?;
                self.scheme_from(&challenge)?
            }
            _ => {
                return Err(resp
                    .error_for(&format!("GET {}/v2/", self.inner.registry))
                    .into());
            }
        };
        state.scheme = Some(scheme.clone());
        Ok(scheme)
    }

    fn scheme_from(&self, challenge: &Challenge) -> Result<AuthScheme> {
        if !challenge.is_bearer() {
            return Ok(AuthScheme::Basic);
        }
        let realm = challenge
            .realm
            .as_deref()
            .ok_or_else(|| self.protocol("GET /v2/", "the Bearer challenge has no realm"))?;
        let realm = Url::parse(realm).map_err(|e| {
            self.protocol("GET /v2/", format!("the challenge realm is not a URL: {e}"))
        })?;
        let service = challenge
            .service
            .clone()
            .unwrap_or_else(|| self.inner.registry.clone());
        Ok(AuthScheme::Bearer { realm, service })
    }

    /// The `Authorization` header for `scope`, fetching (and caching) a token when needed.
    async fn authorization(&self, scope: &str, force: bool) -> Result<Option<String>> {
        let mut state = self.inner.state.lock().await;
        let scheme = self.scheme(&mut state).await?;
        match scheme {
            AuthScheme::None => Ok(None),
            AuthScheme::Basic => Ok(self.inner.auth.basic_header()),
            AuthScheme::Bearer { realm, service } => {
                let now = self.now();
                if !force
                    && let Some(t) = state.access.get(scope)
                    && self.still_fresh(t, now)
                {
                    return Ok(Some(format!("Bearer {}", t.value.expose_secret())));
                }
                state.access.remove(scope);
                self.check_realm(&realm)?;
                let token = self
                    .access_token_locked(&mut state, &realm, &service, scope)
                    .await?;
                let header = format!("Bearer {}", token.value.expose_secret());
                state.access.insert(scope.to_owned(), token);
                Ok(Some(header))
            }
        }
    }

    /// Whether `token` outlives the refresh margin. Expiries come from the server: saturate, never
    /// overflow.
    fn still_fresh(&self, token: &CachedToken, now: i64) -> bool {
        let margin = i64::try_from(self.inner.margin.as_secs()).unwrap_or(i64::MAX);
        token.expires_at.saturating_sub(margin) > now
    }

    fn cached(&self, token: String, expires_in: Option<u64>) -> CachedToken {
        let now = self.now();
        let expires_at = wire::jwt_expiry(&token)
            .or_else(|| {
                expires_in.map(|s| now.saturating_add(i64::try_from(s).unwrap_or(i64::MAX)))
            })
            .unwrap_or(now.saturating_add(60));
        CachedToken {
            value: SecretString::from(token),
            expires_at,
        }
    }

    async fn access_token_locked(
        &self,
        state: &mut AuthState,
        realm: &Url,
        service: &str,
        scope: &str,
    ) -> Result<CachedToken> {
        match &self.inner.auth {
            AcrAuth::Aad {
                credential,
                tenant_id,
            } => {
                let credential = credential.clone();
                let tenant = tenant_id.clone();
                for attempt in 0..2 {
                    let refresh = self
                        .refresh_token_locked(state, realm, service, &credential, tenant.as_deref())
                        .await?;
                    let body = wire::form_body(&[
                        ("grant_type", "refresh_token"),
                        ("service", service),
                        ("scope", scope),
                        ("refresh_token", refresh.value.expose_secret()),
                    ]);
                    let mut req = HttpRequest::new(realm.clone(), HttpMethod::Post);
                    req.insert_header("content-type", "application/x-www-form-urlencoded");
                    req.insert_header("accept", "application/json");
                    req.set_body(Bytes::from(body));
                    let resp = self.inner.pipeline.send(&mut req).await?;
                    if resp.status == 401 && attempt == 0 {
                        // The refresh token was revoked or expired early: exchange again once.
                        state.refresh = None;
                        continue;
                    }
                    return self.token_from(resp, scope);
                }
                Err(self.protocol("POST /oauth2/token", "the token endpoint kept refusing"))
            }
            auth => {
                let mut url = realm.clone();
                url.query_pairs_mut()
                    .append_pair("service", service)
                    .append_pair("scope", scope);
                let mut req = HttpRequest::new(url, HttpMethod::Get);
                req.insert_header("accept", "application/json");
                if let Some(basic) = auth.basic_header() {
                    req.insert_header("authorization", basic);
                }
                let resp = self.inner.pipeline.send(&mut req).await?;
                self.token_from(resp, scope)
            }
        }
    }

    fn token_from(&self, resp: azflux_core::http::Response, scope: &str) -> Result<CachedToken> {
        if resp.status == 401 || resp.status == 403 {
            let message = resp.error_for("token endpoint").to_string();
            return Err(Error::Unauthorized {
                registry: self.inner.registry.clone(),
                scope: scope.to_owned(),
                message,
            });
        }
        let resp = resp.check(&format!("token endpoint of {}", self.inner.registry))?;
        let body: wire::AccessTokenResponse =
            resp.json(&format!("token endpoint of {}", self.inner.registry))?;
        let expires_in = body.expires_in;
        let token = body
            .into_token()
            .ok_or_else(|| self.protocol("token endpoint", "the response carries no token"))?;
        Ok(self.cached(token, expires_in))
    }

    async fn refresh_token_locked(
        &self,
        state: &mut AuthState,
        realm: &Url,
        service: &str,
        credential: &Arc<dyn TokenCredential>,
        tenant: Option<&str>,
    ) -> Result<CachedToken> {
        let now = self.now();
        if let Some(t) = &state.refresh
            && self.still_fresh(t, now)
        {
            return Ok(t.clone());
        }
        // The exchange lives beside the realm (`https://<registry>/oauth2/exchange`), as `az acr login` finds it.
        let mut exchange = realm.clone();
        exchange.set_path("/oauth2/exchange");
        exchange.set_query(None);
        let scope = self.inner.cloud.container_registry_scope();
        let aad = azflux_core::credential::token_for(credential.as_ref(), &scope).await?;
        let mut fields = vec![
            ("grant_type", "access_token"),
            ("service", service),
            ("access_token", aad.token.secret()),
        ];
        if let Some(t) = tenant {
            fields.push(("tenant", t));
        }
        let body = wire::form_body(&fields);
        let mut req = HttpRequest::new(exchange, HttpMethod::Post);
        req.insert_header("content-type", "application/x-www-form-urlencoded");
        req.insert_header("accept", "application/json");
        req.set_body(Bytes::from(body));
        let resp = self.inner.pipeline.send(&mut req).await?;
        if resp.status == 401 || resp.status == 403 {
            return Err(Error::Unauthorized {
                registry: self.inner.registry.clone(),
                scope: "AAD token exchange".into(),
                message: resp.error_for("POST /oauth2/exchange").to_string(),
            });
        }
        let resp = resp.check(&format!("POST {}/oauth2/exchange", service))?;
        let body: wire::RefreshTokenResponse = resp.json("POST /oauth2/exchange")?;
        let token = self.cached(body.refresh_token, None);
        state.refresh = Some(token.clone());
        Ok(token)
    }

    /// Sends `call` with the token for its scope; on 401 fetches a fresh token once; follows redirects (to
    /// blob storage) without the `Authorization` header. Returns the streaming response, any status.
    pub(crate) async fn execute(
        &self,
        call: Call<'_>,
    ) -> Result<azflux_core::http::StreamingResponse> {
        let mut force = false;
        for _ in 0..2 {
            let auth = self.authorization(call.scope, force).await?;
            let mut req = HttpRequest::new(call.url.clone(), call.method);
            for (k, v) in &call.headers {
                req.insert_header(*k, v.clone());
            }
            if let Some(a) = &auth {
                req.insert_header("authorization", a.clone());
            }
            if let Some(body) = &call.body {
                req.set_body(body.clone());
            }
            let resp = self.inner.pipeline.stream(&mut req).await?;
            let status = u16::from(resp.status());
            if status == 401 && !force {
                // The registry may answer `/v2/` anonymously yet challenge for repositories, or move its
                // realm: learn the scheme from this challenge (the realm rules apply when it is used).
                let learned = resp
                    .headers()
                    .get_optional_str(&"www-authenticate".into())
                    .and_then(wire::parse_challenge)
                    .and_then(|c| self.scheme_from(&c).ok());
                let mut changed = false;
                if let Some(scheme) = learned {
                    let mut state = self.inner.state.lock().await;
                    if state.scheme.as_ref() != Some(&scheme) {
                        state.scheme = Some(scheme);
                        state.access.clear();
                        state.refresh = None;
                        changed = true;
                    }
                }
                if auth.is_some() || changed {
                    force = true;
                    continue;
                }
            }
            if status == 401 {
                let message = resp
                    .headers()
                    .get_optional_str(&"www-authenticate".into())
                    .unwrap_or("401 Unauthorized")
                    .to_owned();
                return Err(Error::Unauthorized {
                    registry: self.inner.registry.clone(),
                    scope: call.scope.to_owned(),
                    message,
                });
            }
            if matches!(status, 301 | 302 | 303 | 307 | 308) && call.method == HttpMethod::Get {
                return self.follow_redirects(&call, resp).await;
            }
            return Ok(resp);
        }
        Err(Error::Unauthorized {
            registry: self.inner.registry.clone(),
            scope: call.scope.to_owned(),
            message: "a fresh token was refused too".into(),
        })
    }

    async fn follow_redirects(
        &self,
        call: &Call<'_>,
        mut resp: azflux_core::http::StreamingResponse,
    ) -> Result<azflux_core::http::StreamingResponse> {
        let mut url = call.url.clone();
        for _ in 0..5 {
            let status = u16::from(resp.status());
            if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                return Ok(resp);
            }
            let location = resp
                .headers()
                .get_optional_str(&"location".into())
                .ok_or_else(|| self.protocol("GET", "a redirect without Location"))?
                .to_owned();
            url = url
                .join(&location)
                .map_err(|e| self.protocol("GET", format!("a bad redirect Location: {e}")))?;
            if url.scheme() != "https" && !(self.inner.plain_http && url.scheme() == "http") {
                return Err(self.protocol("GET", "a redirect to a non-HTTPS URL"));
            }
            // Storage URLs carry their own SAS: never forward the registry token.
            let mut req = HttpRequest::new(url.clone(), HttpMethod::Get);
            for (k, v) in &call.headers {
                req.insert_header(*k, v.clone());
            }
            resp = self.inner.pipeline.stream(&mut req).await?;
        }
        Err(self.protocol("GET", "more than 5 redirects"))
    }

    /// Reads a small body, refusing more than `limit` bytes (declared or received).
    pub(crate) async fn read_limited(
        &self,
        resp: azflux_core::http::StreamingResponse,
        limit: u64,
        what: &str,
    ) -> Result<Bytes> {
        let declared = resp
            .headers()
            .get_optional_str(&"content-length".into())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(n) = declared
            && n > limit
        {
            return Err(Error::SizeLimit {
                registry: self.inner.registry.clone(),
                what: what.to_owned(),
                why: format!("it declares {n} bytes, the limit is {limit}"),
            });
        }
        let mut body = resp.into_body();
        let mut out = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                self.protocol(
                    what,
                    format!(
                        "the body was cut: {}",
                        azflux_core::http::describe_core_error(&e)
                    ),
                )
            })?;
            if out.len() as u64 + chunk.len() as u64 > limit {
                return Err(Error::SizeLimit {
                    registry: self.inner.registry.clone(),
                    what: what.to_owned(),
                    why: format!("it is larger than the limit of {limit} bytes"),
                });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(out))
    }

    pub(crate) async fn fail(
        &self,
        resp: azflux_core::http::StreamingResponse,
        request: &str,
        what: impl Into<String>,
    ) -> Error {
        let status = u16::from(resp.status());
        let headers = resp.headers().clone();
        let body = self
            .read_limited(resp, 64 * 1024, request)
            .await
            .unwrap_or_default();
        if status == 404 {
            return Error::NotFound {
                registry: self.inner.registry.clone(),
                what: what.into(),
            };
        }
        let header = |n: &str| {
            headers
                .get_optional_str(&n.to_owned().into())
                .map(str::to_owned)
        };
        azflux_core::error::classify(status, request, &header, &body).into()
    }

    /// Every tag of `repository`, following `Link: <…>; rel="next"`.
    pub(crate) async fn tags(&self, chart: &ChartRef) -> Result<Vec<String>> {
        self.same_registry(chart)?;
        let scope = format!("repository:{}:pull", chart.repository);
        let mut url = self.url(&format!("v2/{}/tags/list", chart.repository))?;
        let mut tags = Vec::new();
        let mut pages = 0;
        loop {
            pages += 1;
            let resp = self
                .execute(Call {
                    method: HttpMethod::Get,
                    url: url.clone(),
                    scope: &scope,
                    headers: vec![("accept", "application/json".into())],
                    body: None,
                })
                .await?;
            let request = format!(
                "GET {}/v2/{}/tags/list",
                self.inner.registry, chart.repository
            );
            if !(200..300).contains(&u16::from(resp.status())) {
                return Err(self
                    .fail(
                        resp,
                        &request,
                        format!("chart repository '{}'", chart.repository),
                    )
                    .await);
            }
            let next = resp
                .headers()
                .get_optional_str(&"link".into())
                .and_then(wire::parse_next_link);
            let body = self.read_limited(resp, 16 * 1024 * 1024, &request).await?;
            let page: wire::TagList = serde_json::from_slice(&body)
                .map_err(|e| self.protocol(&request, format!("the tag list is not JSON: {e}")))?;
            tags.extend(page.tags.unwrap_or_default());
            if tags.len() > self.inner.limits.max_tags {
                return Err(Error::SizeLimit {
                    registry: self.inner.registry.clone(),
                    what: format!("the tag list of '{}'", chart.repository),
                    why: format!("more than {} tags", self.inner.limits.max_tags),
                });
            }
            match next {
                Some(next) if pages < 10_000 => {
                    url = url
                        .join(&next)
                        .map_err(|e| self.protocol(&request, format!("a bad Link: {e}")))?;
                    // The next page gets the registry credential: same scheme, host and port only.
                    if url.origin() != self.inner.base.origin() {
                        return Err(self.protocol(
                            &request,
                            "a Link to another host, port or scheme than the registry's",
                        ));
                    }
                }
                _ => break,
            }
        }
        Ok(tags)
    }

    pub(crate) fn same_registry(&self, chart: &ChartRef) -> Result<()> {
        if chart.registry == self.inner.registry {
            Ok(())
        } else {
            Err(Error::invalid(
                "chart reference",
                format!(
                    "'{chart}' is in registry '{}', this client talks to '{}'",
                    chart.registry, self.inner.registry
                ),
            ))
        }
    }

    async fn resolve(&self, chart: &ChartRef, constraint: &str) -> Result<semver::Version> {
        let parsed = VersionConstraint::parse(constraint)?;
        let tags = self.tags(chart).await?;
        let versions: Vec<semver::Version> =
            tags.iter().filter_map(|t| version_from_tag(t)).collect();
        match parsed.best(&versions) {
            Some(v) => Ok(v.clone()),
            None => {
                let mut sorted = versions.clone();
                sorted.sort_by(|a, b| crate::version::cmp_precedence(b, a));
                let mut available: Vec<String> =
                    sorted.iter().take(10).map(ToString::to_string).collect();
                if sorted.len() > 10 {
                    available.push(format!("… {} more", sorted.len() - 10));
                }
                Err(Error::NoMatchingVersion {
                    chart: chart.url(),
                    constraint: constraint.to_owned(),
                    available: if available.is_empty() {
                        "none".into()
                    } else {
                        available.join(", ")
                    },
                })
            }
        }
    }

    /// Fetches and checks the manifest of `repository:tag`.
    async fn manifest(&self, chart: &ChartRef, tag: &str) -> Result<(Manifest, String)> {
        let scope = format!("repository:{}:pull", chart.repository);
        let reference = format!("{}:{tag}", chart.repository);
        let request = format!(
            "GET {}/v2/{}/manifests/{tag}",
            self.inner.registry, chart.repository
        );
        let resp = self
            .execute(Call {
                method: HttpMethod::Get,
                url: self.url(&format!("v2/{}/manifests/{tag}", chart.repository))?,
                scope: &scope,
                headers: vec![(
                    "accept",
                    format!("{}, {}", wire::OCI_MANIFEST, wire::DOCKER_MANIFEST_V2),
                )],
                body: None,
            })
            .await?;
        if !(200..300).contains(&u16::from(resp.status())) {
            return Err(self
                .fail(resp, &request, format!("chart '{reference}'"))
                .await);
        }
        let header_digest = resp
            .headers()
            .get_optional_str(&"docker-content-digest".into())
            .map(str::to_owned);
        let body = self
            .read_limited(
                resp,
                self.inner.limits.max_manifest_bytes,
                &format!("the manifest of {reference}"),
            )
            .await?;
        let digest = wire::sha256_digest(&body);
        if let Some(h) = header_digest
            && h.starts_with("sha256:")
            && h != digest
        {
            return Err(Error::DigestMismatch {
                registry: self.inner.registry.clone(),
                what: format!("the manifest of {reference}"),
                expected: h,
                actual: digest,
            });
        }
        let not_chart = |why: String| Error::NotAChart {
            registry: self.inner.registry.clone(),
            reference: reference.clone(),
            why,
        };
        let manifest: Manifest = serde_json::from_slice(&body)
            .map_err(|e| not_chart(format!("the manifest is not an OCI image manifest: {e}")))?;
        if manifest.schema_version != 2 {
            return Err(not_chart(format!(
                "schemaVersion {}",
                manifest.schema_version
            )));
        }
        if manifest.config.media_type != wire::HELM_CONFIG {
            return Err(not_chart(format!(
                "the config media type is '{}', not '{}'",
                manifest.config.media_type,
                wire::HELM_CONFIG
            )));
        }
        Ok((manifest, digest))
    }

    fn chart_layer<'m>(&self, manifest: &'m Manifest, reference: &str) -> Result<&'m Descriptor> {
        let layers: Vec<&Descriptor> = manifest
            .layers
            .iter()
            .filter(|l| {
                l.media_type == wire::HELM_CHART_LAYER || l.media_type == wire::LEGACY_CHART_LAYER
            })
            .collect();
        match layers.as_slice() {
            [one] => Ok(one),
            [] => Err(Error::NotAChart {
                registry: self.inner.registry.clone(),
                reference: reference.to_owned(),
                why: format!(
                    "no layer of type '{}' (or the legacy '{}')",
                    wire::HELM_CHART_LAYER,
                    wire::LEGACY_CHART_LAYER
                ),
            }),
            _ => Err(Error::NotAChart {
                registry: self.inner.registry.clone(),
                reference: reference.to_owned(),
                why: "more than one chart layer".into(),
            }),
        }
    }

    pub(crate) fn check_descriptor(&self, d: &Descriptor, limit: u64, what: &str) -> Result<()> {
        if !wire::is_sha256_digest(&d.digest) {
            return Err(self.protocol(what, format!("'{}' is not a sha256 digest", d.digest)));
        }
        if d.size > limit {
            return Err(Error::SizeLimit {
                registry: self.inner.registry.clone(),
                what: what.to_owned(),
                why: format!(
                    "the manifest declares {} bytes, the limit is {limit}",
                    d.size
                ),
            });
        }
        Ok(())
    }

    pub(crate) async fn blob_small(
        &self,
        repository: &str,
        d: &Descriptor,
        limit: u64,
        what: &str,
    ) -> Result<Bytes> {
        let scope = format!("repository:{repository}:pull");
        let resp = self
            .execute(Call {
                method: HttpMethod::Get,
                url: self.url(&format!("v2/{repository}/blobs/{}", d.digest))?,
                scope: &scope,
                headers: vec![],
                body: None,
            })
            .await?;
        if !(200..300).contains(&u16::from(resp.status())) {
            return Err(self
                .fail(resp, &format!("GET blob {}", d.digest), what.to_owned())
                .await);
        }
        let body = self.read_limited(resp, limit.min(d.size), what).await?;
        if body.len() as u64 != d.size {
            return Err(Error::SizeLimit {
                registry: self.inner.registry.clone(),
                what: what.to_owned(),
                why: format!(
                    "received {} bytes, the manifest declares {}",
                    body.len(),
                    d.size
                ),
            });
        }
        let actual = wire::sha256_digest(&body);
        if actual != d.digest {
            return Err(Error::DigestMismatch {
                registry: self.inner.registry.clone(),
                what: what.to_owned(),
                expected: d.digest.clone(),
                actual,
            });
        }
        Ok(body)
    }

    /// Streams a blob into `file`, hashing as it goes; errors if the size or digest differ.
    pub(crate) async fn blob_to_file(
        &self,
        repository: &str,
        d: &Descriptor,
        file: &mut tokio::fs::File,
        path: &Path,
        what: &str,
    ) -> Result<u64> {
        use sha2::Digest;
        let scope = format!("repository:{repository}:pull");
        let resp = self
            .execute(Call {
                method: HttpMethod::Get,
                url: self.url(&format!("v2/{repository}/blobs/{}", d.digest))?,
                scope: &scope,
                headers: vec![],
                body: None,
            })
            .await?;
        if !(200..300).contains(&u16::from(resp.status())) {
            return Err(self
                .fail(resp, &format!("GET blob {}", d.digest), what.to_owned())
                .await);
        }
        if let Some(n) = resp
            .headers()
            .get_optional_str(&"content-length".into())
            .and_then(|v| v.trim().parse::<u64>().ok())
            && n != d.size
        {
            return Err(Error::SizeLimit {
                registry: self.inner.registry.clone(),
                what: what.to_owned(),
                why: format!("the response declares {n} bytes, the manifest {}", d.size),
            });
        }
        let mut hasher = sha2::Sha256::new();
        let mut written: u64 = 0;
        let mut body = resp.into_body();
        let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                self.protocol(
                    what,
                    format!(
                        "the download was cut after {written} bytes: {}",
                        azflux_core::http::describe_core_error(&e)
                    ),
                )
            })?;
            written += chunk.len() as u64;
            if written > d.size {
                return Err(Error::SizeLimit {
                    registry: self.inner.registry.clone(),
                    what: what.to_owned(),
                    why: format!("more bytes than the {} the manifest declares", d.size),
                });
            }
            hasher.update(&chunk);
            buf.extend_from_slice(&chunk);
            if buf.len() >= 1 << 20 {
                file.write_all(&buf)
                    .await
                    .map_err(|e| Error::io("writing", path, e))?;
                buf.clear();
            }
        }
        file.write_all(&buf)
            .await
            .map_err(|e| Error::io("writing", path, e))?;
        if written != d.size {
            return Err(Error::SizeLimit {
                registry: self.inner.registry.clone(),
                what: what.to_owned(),
                why: format!(
                    "received {written} bytes, the manifest declares {} (truncated)",
                    d.size
                ),
            });
        }
        let actual = format!("sha256:{:x}", hasher.finalize());
        if actual != d.digest {
            return Err(Error::DigestMismatch {
                registry: self.inner.registry.clone(),
                what: what.to_owned(),
                expected: d.digest.clone(),
                actual,
            });
        }
        Ok(written)
    }

    async fn pull_chart(
        &self,
        chart: &ChartRef,
        constraint: &str,
        dest_dir: &Path,
    ) -> Result<PulledChart> {
        self.same_registry(chart)?;
        let version = self.resolve(chart, constraint).await?;
        let tag = tag_for_version(&version.to_string());
        let reference = format!("{}:{tag}", chart.repository);
        let (manifest, manifest_digest) = self.manifest(chart, &tag).await?;
        let layer = self.chart_layer(&manifest, &reference)?.clone();
        let limits = self.inner.limits;
        self.check_descriptor(
            &manifest.config,
            limits.max_config_bytes,
            &format!("the config of {reference}"),
        )?;
        self.check_descriptor(
            &layer,
            limits.max_layer_bytes,
            &format!("the chart layer of {reference}"),
        )?;
        let config_bytes = self
            .blob_small(
                &chart.repository,
                &manifest.config,
                limits.max_config_bytes,
                &format!("the config of {reference}"),
            )
            .await?;
        let config: serde_json::Value =
            serde_json::from_slice(&config_bytes).map_err(|e| Error::NotAChart {
                registry: self.inner.registry.clone(),
                reference: reference.clone(),
                why: format!("the config is not JSON: {e}"),
            })?;
        tokio::fs::create_dir_all(dest_dir)
            .await
            .map_err(|e| Error::io("creating directory", dest_dir, e))?;
        let final_path = dest_dir.join(format!("{}-{version}.tgz", chart.chart_name()));
        let tmp = tempfile::Builder::new()
            .prefix(".azflux-pull-")
            .suffix(".partial")
            .tempfile_in(dest_dir)
            .map_err(|e| Error::io("creating a temporary file in", dest_dir, e))?;
        let std_file = tmp
            .reopen()
            .map_err(|e| Error::io("opening", tmp.path(), e))?;
        let mut file = tokio::fs::File::from_std(std_file);
        let size = self
            .blob_to_file(
                &chart.repository,
                &layer,
                &mut file,
                tmp.path(),
                &format!("the chart layer of {reference}"),
            )
            .await?;
        file.flush()
            .await
            .map_err(|e| Error::io("writing", tmp.path(), e))?;
        file.sync_all()
            .await
            .map_err(|e| Error::io("syncing", tmp.path(), e))?;
        drop(file);
        tmp.persist(&final_path)
            .map_err(|e| Error::io("renaming into", &final_path, e.error))?;
        Ok(PulledChart {
            chart: chart.clone(),
            version: version.to_string(),
            manifest_digest,
            layer_digest: layer.digest.clone(),
            layer_media_type: layer.media_type.clone(),
            size,
            path: final_path,
            config,
        })
    }

    pub(crate) async fn upload_blob(
        &self,
        repository: &str,
        scope: &str,
        data: Bytes,
        digest: &str,
    ) -> Result<()> {
        let head = self
            .execute(Call {
                method: HttpMethod::Head,
                url: self.url(&format!("v2/{repository}/blobs/{digest}"))?,
                scope,
                headers: vec![],
                body: None,
            })
            .await?;
        if u16::from(head.status()) == 200 {
            return Ok(());
        }
        let request = format!(
            "POST {}/v2/{repository}/blobs/uploads/",
            self.inner.registry
        );
        let start = self
            .execute(Call {
                method: HttpMethod::Post,
                url: self.url(&format!("v2/{repository}/blobs/uploads/"))?,
                scope,
                headers: vec![("content-length", "0".into())],
                body: Some(Bytes::new()),
            })
            .await?;
        if u16::from(start.status()) != 202 {
            return Err(self
                .fail(start, &request, format!("an upload to '{repository}'"))
                .await);
        }
        let location = start
            .headers()
            .get_optional_str(&"location".into())
            .ok_or_else(|| self.protocol(&request, "202 without a Location"))?
            .to_owned();
        let mut url = self
            .inner
            .base
            .join(&location)
            .map_err(|e| self.protocol(&request, format!("a bad upload Location: {e}")))?;
        // The PUT carries the registry credential: same scheme, host and port only.
        if url.origin() != self.inner.base.origin() {
            return Err(self.protocol(
                &request,
                "an upload Location on another host, port or scheme than the registry's",
            ));
        }
        url.query_pairs_mut().append_pair("digest", digest);
        let put_request = format!(
            "PUT {}/v2/{repository}/blobs/uploads/…",
            self.inner.registry
        );
        let put = self
            .execute(Call {
                method: HttpMethod::Put,
                url,
                scope,
                headers: vec![
                    ("content-type", "application/octet-stream".into()),
                    ("content-length", data.len().to_string()),
                ],
                body: Some(data),
            })
            .await?;
        if u16::from(put.status()) != 201 {
            return Err(self.fail(put, &put_request, format!("blob {digest}")).await);
        }
        Ok(())
    }

    async fn push_chart(&self, chart_tgz: &Path, destination: &str) -> Result<PushedChart> {
        let meta = tokio::fs::metadata(chart_tgz)
            .await
            .map_err(|e| Error::io("reading", chart_tgz, e))?;
        if meta.len() > self.inner.limits.max_layer_bytes {
            return Err(Error::invalid(
                "chart archive",
                format!(
                    "'{}' is larger than {} bytes",
                    chart_tgz.display(),
                    self.inner.limits.max_layer_bytes
                ),
            ));
        }
        let tgz = Bytes::from(
            tokio::fs::read(chart_tgz)
                .await
                .map_err(|e| Error::io("reading", chart_tgz, e))?,
        );
        let metadata = wire::chart_metadata_from_tgz(&tgz).map_err(|why| {
            Error::invalid(format!("chart archive '{}'", chart_tgz.display()), why)
        })?;
        let name = metadata
            .get("name")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        let version = metadata
            .get("version")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        if semver::Version::parse(&version).is_err() {
            return Err(Error::invalid(
                format!("chart archive '{}'", chart_tgz.display()),
                format!(
                    "Chart.yaml version '{version}' is not strict semver (Helm refuses to push it)"
                ),
            ));
        }
        let dest = destination.strip_prefix("oci://").ok_or_else(|| {
            Error::invalid(
                "push destination",
                format!("'{destination}' does not start with oci://"),
            )
        })?;
        let (registry, prefix) = dest.split_once('/').unwrap_or((dest, ""));
        let repository = if prefix.trim_matches('/').is_empty() {
            name.clone()
        } else {
            format!("{}/{name}", prefix.trim_matches('/'))
        };
        let chart = ChartRef::new(registry, &repository)?;
        self.same_registry(&chart)?;
        let scope = format!("repository:{}:pull,push", chart.repository);
        let config = Bytes::from(wire::helm_config_json(&metadata));
        let config_digest = wire::sha256_digest(&config);
        let layer_digest = wire::sha256_digest(&tgz);
        let created = self
            .inner
            .clock
            .now()
            .replace_nanosecond(0)
            .unwrap_or(self.inner.clock.now())
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(wire::OCI_MANIFEST.into()),
            config: Descriptor {
                media_type: wire::HELM_CONFIG.into(),
                digest: config_digest.clone(),
                size: config.len() as u64,
                annotations: None,
            },
            layers: vec![Descriptor {
                media_type: wire::HELM_CHART_LAYER.into(),
                digest: layer_digest.clone(),
                size: tgz.len() as u64,
                annotations: None,
            }],
            annotations: Some(wire::helm_manifest_annotations(&metadata, &created)),
        };
        self.upload_blob(&chart.repository, &scope, config, &config_digest)
            .await?;
        self.upload_blob(&chart.repository, &scope, tgz, &layer_digest)
            .await?;
        let body = Bytes::from(
            serde_json::to_vec(&manifest).map_err(|e| Error::invalid("manifest", e.to_string()))?,
        );
        let manifest_digest = wire::sha256_digest(&body);
        let tag = tag_for_version(&version);
        let request = format!(
            "PUT {}/v2/{}/manifests/{tag}",
            self.inner.registry, chart.repository
        );
        let put = self
            .execute(Call {
                method: HttpMethod::Put,
                url: self.url(&format!("v2/{}/manifests/{tag}", chart.repository))?,
                scope: &scope,
                headers: vec![("content-type", wire::OCI_MANIFEST.into())],
                body: Some(body),
            })
            .await?;
        if u16::from(put.status()) != 201 {
            return Err(self
                .fail(put, &request, format!("chart '{}:{tag}'", chart.repository))
                .await);
        }
        Ok(PushedChart {
            chart,
            version,
            tag,
            manifest_digest,
            layer_digest,
        })
    }
}

#[async_trait]
impl ChartRegistry for AcrClient {
    async fn list_tags(&self, chart: &ChartRef) -> Result<Vec<String>> {
        self.tags(chart).await
    }

    async fn resolve_version(&self, chart: &ChartRef, constraint: &str) -> Result<semver::Version> {
        self.same_registry(chart)?;
        self.resolve(chart, constraint).await
    }

    async fn pull(
        &self,
        chart: &ChartRef,
        constraint: &str,
        dest_dir: &Path,
    ) -> Result<PulledChart> {
        self.pull_chart(chart, constraint, dest_dir).await
    }

    async fn push(&self, chart_tgz: &Path, destination: &str) -> Result<PushedChart> {
        self.push_chart(chart_tgz, destination).await
    }
}
