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

/// What a caller may read from an Entra ID access token without verifying it: who the token is for.
///
/// Only for *describing the caller* (which tenant a new Key Vault belongs to, which principal gets a role
/// so it can use what it just created). Never an authorization decision: the token's signature is not
/// checked here, the service that receives the token checks it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
pub struct TokenClaims {
    /// `tid`: the tenant.
    #[serde(default)]
    pub tid: Option<String>,
    /// `oid`: the principal's object id (user or service principal).
    #[serde(default)]
    pub oid: Option<String>,
    /// `appid` (v1 tokens): the client application.
    #[serde(default)]
    pub appid: Option<String>,
    /// `azp` (v2 tokens): the client application.
    #[serde(default)]
    pub azp: Option<String>,
    /// `idtyp`: `app` or `user`, when the token says.
    #[serde(default)]
    pub idtyp: Option<String>,
    /// `scp`: delegated scopes (present on user tokens).
    #[serde(default)]
    pub scp: Option<String>,
}

impl TokenClaims {
    /// Reads the claims of a JWT access token (`header.payload.signature`, base64url). `None` for a token
    /// that is not a JWT with a JSON payload (e.g. an opaque token); the token is never echoed.
    pub fn unverified(token: &str) -> Option<TokenClaims> {
        use base64::Engine as _;
        let mut parts = token.split('.');
        let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The client application: `appid` (v1 tokens) or `azp` (v2).
    pub fn client_id(&self) -> Option<&str> {
        self.appid.as_deref().or(self.azp.as_deref())
    }

    /// The ARM `principalType` of the principal: `User` for user tokens, `ServicePrincipal` otherwise
    /// (applications, managed identities).
    pub fn principal_type(&self) -> &'static str {
        match self.idtyp.as_deref() {
            Some("user") => "User",
            Some(_) => "ServicePrincipal",
            None if self.scp.is_some() => "User",
            None => "ServicePrincipal",
        }
    }
}

/// The claims of the token `credential` gives for `scope` (see [`TokenClaims::unverified`]).
pub async fn caller_claims(
    credential: &dyn TokenCredential,
    scope: &str,
) -> crate::Result<TokenClaims> {
    let token = token_for(credential, scope).await?;
    TokenClaims::unverified(token.token.secret()).ok_or_else(|| crate::Error::Credential {
        scope: scope.to_owned(),
        message: "the access token is not a JWT: the tenant and principal cannot be read from it; set the tenant (AZURE_TENANT_ID) explicitly".into(),
    })
}

#[cfg(test)]
mod claims_tests {
    use super::*;
    use base64::Engine as _;

    fn jwt(payload: &serde_json::Value) -> String {
        let b = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.{}",
            b(br#"{"alg":"RS256","typ":"JWT"}"#),
            b(payload.to_string().as_bytes()),
            b(b"sig")
        )
    }

    #[test]
    fn claims_are_read_from_the_payload() {
        let t = jwt(
            &serde_json::json!({"tid": "t1", "oid": "o1", "azp": "a1", "idtyp": "app", "exp": 1}),
        );
        let c = TokenClaims::unverified(&t).unwrap();
        assert_eq!(c.tid.as_deref(), Some("t1"));
        assert_eq!(c.oid.as_deref(), Some("o1"));
        assert_eq!(c.client_id(), Some("a1"));
        // A token carrying both spellings still parses.
        let both = jwt(&serde_json::json!({"tid": "t1", "appid": "a1", "azp": "a1"}));
        assert_eq!(
            TokenClaims::unverified(&both).unwrap().client_id(),
            Some("a1")
        );
        assert_eq!(c.principal_type(), "ServicePrincipal");
        let user = jwt(&serde_json::json!({"tid": "t1", "oid": "u1", "scp": "user_impersonation"}));
        assert_eq!(
            TokenClaims::unverified(&user).unwrap().principal_type(),
            "User"
        );
        let typed = jwt(&serde_json::json!({"idtyp": "user"}));
        assert_eq!(
            TokenClaims::unverified(&typed).unwrap().principal_type(),
            "User"
        );
    }

    #[test]
    fn opaque_or_malformed_tokens_have_no_claims() {
        for t in [
            "",
            "opaque-token",
            "a.b",
            "a.!!!.c",
            "a.b.c.d",
            &format!("x.{}.y", "e30x"),
        ] {
            assert_eq!(TokenClaims::unverified(t), None, "{t}");
        }
        // A payload that is not a JSON object.
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b"[1,2]");
        assert_eq!(TokenClaims::unverified(&format!("h.{b}.s")), None);
    }
}
