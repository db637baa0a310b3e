//! The traits and domain types a caller sees: where tokens come from ([`TokenSource`]), what they are
//! ([`IssuedToken`]) and where they go ([`SecretSink`]).

use crate::error::Result;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use time::OffsetDateTime;

/// What kind of credential a token is; decides how it is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// A Shared Access Signature (`SharedAccessSignature sr=…`), sent as the `Authorization` header as is.
    Sas,
    /// An Entra ID (AAD) JWT, sent as `Authorization: Bearer <jwt>`; Flux reads it from the Secret's `token`.
    Jwt,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenKind::Sas => "SAS",
            TokenKind::Jwt => "Entra ID (JWT)",
        })
    }
}

/// A token with its expiry and the `address` the notification-controller (or the REST sender) needs.
/// `Debug` never shows the token.
#[derive(Clone)]
pub struct IssuedToken {
    /// The token itself.
    pub token: SecretString,
    /// When it stops being accepted.
    pub expires_on: OffsetDateTime,
    /// Not secret. For a JWT: the Event Hub name (the Secret's `address` key, as Flux's JWT mode reads it).
    /// For a SAS token: the resource URI it was signed for (`https://<ns>.servicebus.windows.net/<hub>`).
    pub address: String,
    /// SAS or JWT.
    pub kind: TokenKind,
}

impl IssuedToken {
    /// The `Authorization` header value: the SAS token as is, or `Bearer <jwt>`.
    pub fn authorization(&self) -> SecretString {
        match self.kind {
            TokenKind::Sas => self.token.clone(),
            TokenKind::Jwt => SecretString::from(format!("Bearer {}", self.token.expose_secret())),
        }
    }

    /// Whether it has expired at `now` (valid strictly before `expires_on`).
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_on
    }
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("kind", &self.kind)
            .field("address", &self.address)
            .field("expires_on", &self.expires_on)
            .field("token", &"[REDACTED]")
            .finish()
    }
}

/// Where Event Hubs tokens come from: a SAS key ([`SasTokenSource`](crate::SasTokenSource)) or an Entra ID
/// credential ([`AadTokenSource`](crate::AadTokenSource)). The `EventSink` HTTP sender and the
/// [`Refresher`](crate::Refresher) both take `Arc<dyn TokenSource>`.
#[async_trait::async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug + 'static {
    /// A short non-secret description for logs and errors, e.g. `sas:send@https://ns…/hub`.
    fn describe(&self) -> String;

    /// A fresh token. Implementations should not cache: the refresher decides when to call.
    async fn token(&self) -> Result<IssuedToken>;
}

/// Where a refreshed token is written: a Kubernetes Secret, a file, stdout (see [`crate::sink`]).
#[async_trait::async_trait]
pub trait SecretSink: Send + Sync + fmt::Debug + 'static {
    /// A short non-secret description for logs and errors, e.g. `secret flux-system/webhook-url`.
    fn describe(&self) -> String;

    /// Writes `token`, replacing what was there. Must be all-or-nothing: a failed write leaves the previous
    /// token in place.
    async fn write(&self, token: &IssuedToken) -> Result<()>;
}
