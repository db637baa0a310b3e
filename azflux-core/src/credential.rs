//! Credentials: everything in azflux takes an `Arc<dyn TokenCredential>` (azure_core's trait, implemented by
//! azure_identity's credentials). [`CachedCredential`] puts a cache in front of one: one token per
//! (tenant, scope), refreshed a margin before it expires, and single-flight — a hundred concurrent callers
//! wanting the same scope cause one token request.

use crate::clock::{Clock, system_clock};
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

pub use azure_core::credentials::{AccessToken as Token, Secret as TokenSecret};

/// How long before expiry a cached token is refreshed (the Azure SDKs use five minutes).
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// A caching, single-flight layer over a credential.
pub struct CachedCredential {
    inner: Arc<dyn TokenCredential>,
    tenant: String,
    clock: Arc<dyn Clock>,
    refresh_margin: Duration,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

#[derive(Default)]
struct Slot {
    token: tokio::sync::Mutex<Option<AccessToken>>,
    requests: AtomicU64,
}

impl CachedCredential {
    /// Caches tokens of `inner`, a credential of `tenant`, refreshing [`DEFAULT_REFRESH_MARGIN`] before expiry.
    pub fn new(tenant: impl Into<String>, inner: Arc<dyn TokenCredential>) -> Self {
        Self {
            inner,
            tenant: tenant.into(),
            clock: system_clock(),
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Uses `clock` to decide whether a token is still fresh (tests use a [`crate::clock::ManualClock`]).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Refreshes tokens `margin` before they expire.
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// The tenant this credential belongs to.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// How many token requests reached the inner credential for `scope` (for tests and benchmarks).
    pub fn token_requests(&self, scope: &str) -> u64 {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots
            .get(scope)
            .map(|s| s.requests.load(Ordering::Relaxed))
            .unwrap_or(0)
    }

    /// Token requests per scope, for benchmarks.
    pub fn token_requests_by_scope(&self) -> Vec<(String, u64)> {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<_> = slots
            .iter()
            .map(|(k, s)| (k.clone(), s.requests.load(Ordering::Relaxed)))
            .collect();
        out.sort();
        out
    }

    /// Drops every cached token (e.g. after a 401 that says the token was revoked).
    pub async fn invalidate(&self) {
        let slots: Vec<_> = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for slot in slots {
            *slot.token.lock().await = None;
        }
    }

    fn slot(&self, key: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.entry(key.to_owned()).or_default().clone()
    }

    fn is_fresh(&self, token: &AccessToken) -> bool {
        token.expires_on - self.refresh_margin > self.clock.now()
    }
}

impl fmt::Debug for CachedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedCredential")
            .field("tenant", &self.tenant)
            .field("inner", &self.inner)
            .field("refresh_margin", &self.refresh_margin)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TokenCredential for CachedCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let key = scopes.join(" ");
        let slot = self.slot(&key);
        // Holding the slot's lock while fetching makes concurrent callers wait for this one fetch.
        let mut cached = slot.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| self.is_fresh(t)) {
            return Ok(token.clone());
        }
        slot.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(tenant = %self.tenant, scope = %key, "requesting a token");
        let token = self.inner.get_token(scopes, options).await?;
        *cached = Some(token.clone());
        Ok(token)
    }
}

/// A credential that always returns the same token: for tests and for tokens obtained elsewhere.
#[derive(Clone)]
pub struct StaticTokenCredential {
    token: AccessToken,
}

impl StaticTokenCredential {
    /// Wraps `token`.
    pub fn new(token: AccessToken) -> Self {
        Self { token }
    }
}

impl fmt::Debug for StaticTokenCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticTokenCredential")
            .field("expires_on", &self.token.expires_on)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TokenCredential for StaticTokenCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        Ok(self.token.clone())
    }
}

/// Gets a token for `scope` from `credential`, mapping failures to [`crate::Error::Credential`].
pub async fn token_for(
    credential: &dyn TokenCredential,
    scope: &str,
) -> crate::Result<AccessToken> {
    credential
        .get_token(&[scope], None)
        .await
        .map_err(|e| crate::Error::Credential {
            scope: scope.to_owned(),
            message: crate::http::describe_core_error(&e),
        })
}
