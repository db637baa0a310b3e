//! Entra ID (AAD) JWTs for Event Hubs through any [`TokenCredential`]: client secret, workload identity,
//! managed identity (construct them with `azure_identity`).

use crate::api::{IssuedToken, TokenKind, TokenSource};
use crate::error::{Error, Result};
use crate::wire::jwt_expiry;
use azure_core::credentials::TokenCredential;
use secrecy::SecretString;
use std::fmt;
use std::sync::Arc;

/// The Event Hubs data-plane scope, the same for all clouds and tenants.
pub const EVENTHUBS_SCOPE: &str = "https://eventhubs.azure.net/.default";

/// A [`TokenSource`] of Entra ID JWTs for Event Hubs. The expiry is the JWT's `exp` claim (read unverified),
/// falling back to the credential's `expires_on` when the token is not a readable JWT.
#[derive(Clone)]
pub struct AadTokenSource {
    credential: Arc<dyn TokenCredential>,
    hub: String,
    scope: String,
}

impl AadTokenSource {
    /// Tokens for Event Hub `hub` (the `address` the notification-controller's JWT mode reads) with
    /// [`EVENTHUBS_SCOPE`].
    pub fn new(credential: Arc<dyn TokenCredential>, hub: impl Into<String>) -> Result<Self> {
        let hub = hub.into();
        if hub.trim().is_empty() || hub.contains('/') {
            return Err(Error::InvalidInput {
                what: "Event Hub name",
                why: "it must be a plain hub name such as `fluxv2` (not empty, no `/`)".into(),
            });
        }
        Ok(Self {
            credential,
            hub,
            scope: EVENTHUBS_SCOPE.to_owned(),
        })
    }

    /// Requests another scope (e.g. `https://<ns>.servicebus.windows.net/.default` for Kafka clients).
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// The Event Hub name.
    pub fn hub(&self) -> &str {
        &self.hub
    }

    /// The scope requested.
    pub fn scope(&self) -> &str {
        &self.scope
    }
}

impl fmt::Debug for AadTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AadTokenSource")
            // the credential's own Debug is not ours to trust; name it only
            .field("credential", &"dyn TokenCredential")
            .field("hub", &self.hub)
            .field("scope", &self.scope)
            .finish()
    }
}

#[async_trait::async_trait]
impl TokenSource for AadTokenSource {
    fn describe(&self) -> String {
        format!("aad:{}@{}", self.scope, self.hub)
    }

    async fn token(&self) -> Result<IssuedToken> {
        let access = self
            .credential
            .get_token(&[self.scope.as_str()], None)
            .await
            .map_err(|source| Error::Credential {
                scope: self.scope.clone(),
                source,
            })?;
        let raw = access.token.secret();
        let expires_on = match jwt_expiry(raw) {
            Some(exp) => exp,
            None => {
                tracing::debug!(source = %self.describe(), "token has no readable `exp` claim; using the credential's expires_on");
                access.expires_on
            }
        };
        Ok(IssuedToken {
            token: SecretString::from(raw.to_owned()),
            expires_on,
            address: self.hub.clone(),
            kind: TokenKind::Jwt,
        })
    }
}
