//! The crate's error type. No variant ever carries a key, a token or a connection string.

use std::path::PathBuf;
use time::OffsetDateTime;

/// A boxed error from a caller-supplied component (an "apply secret" function, a token source).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can fail in eventhub-auth.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A connection string could not be parsed. `why` names the missing or malformed part, never its value.
    #[error(
        "invalid Event Hubs connection string: {why}; expected `Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=<rule>;SharedAccessKey=<key>[;EntityPath=<hub>]` as shown by the authorization rule's keys (`az eventhubs eventhub authorization-rule keys list`)"
    )]
    InvalidConnectionString {
        /// What is wrong (never the key).
        why: String,
    },

    /// An argument was rejected.
    #[error("invalid {what}: {why}")]
    InvalidInput {
        /// Which input.
        what: &'static str,
        /// Why it was rejected and what to do.
        why: String,
    },

    /// A string that should be a SAS token is not one.
    #[error(
        "malformed SAS token: {why}; expected `SharedAccessSignature sr=<uri>&sig=<signature>&se=<expiry>&skn=<key name>`"
    )]
    MalformedSasToken {
        /// What is wrong (never the signature).
        why: String,
    },

    /// The SAS token's signature was not made with the verifier's key.
    #[error(
        "SAS token signature does not verify with key `{key_name}`: the token was tampered with or signed with another key"
    )]
    SignatureMismatch {
        /// The name of the key the verifier used.
        key_name: String,
    },

    /// The SAS token names another key than the verifier's.
    #[error("SAS token was signed with key `{found}`, expected `{expected}`")]
    KeyNameMismatch {
        /// The verifier's key name.
        expected: String,
        /// The `skn` in the token.
        found: String,
    },

    /// The SAS token does not cover the resource it was presented for.
    #[error("SAS token is for `{token_resource}` and does not cover `{requested}`")]
    ResourceMismatch {
        /// The decoded `sr` of the token.
        token_resource: String,
        /// The resource it was presented for.
        requested: String,
    },

    /// The token has expired.
    #[error("token expired at {expired_at} (now {now}); request a new one")]
    Expired {
        /// When it expired.
        expired_at: OffsetDateTime,
        /// The clock's time at the check.
        now: OffsetDateTime,
    },

    /// An Entra ID credential failed to issue a token.
    #[error(
        "getting an Entra ID token for scope `{scope}` failed; check the identity's configuration and its `Azure Event Hubs Data Sender` role assignment"
    )]
    Credential {
        /// The scope requested.
        scope: String,
        /// The credential's error.
        #[source]
        source: azure_core::Error,
    },

    /// A token source failed (for sources implemented outside this crate).
    #[error("token source `{source_name}` failed: {why}")]
    TokenSource {
        /// The source's non-secret description.
        source_name: String,
        /// What went wrong (must not contain the token).
        why: String,
    },

    /// A token source returned a token that has already expired.
    #[error(
        "token source `{source_name}` returned a token that expired at {expires_on}; check the machine's clock"
    )]
    IssuedExpired {
        /// The source's non-secret description.
        source_name: String,
        /// The token's expiry.
        expires_on: OffsetDateTime,
    },

    /// Applying the Kubernetes Secret failed.
    #[error(
        "applying Secret `{namespace}/{name}` failed; check the refresher's RBAC (secrets get/create/update/patch)"
    )]
    ApplySecret {
        /// The Secret's namespace.
        namespace: String,
        /// The Secret's name.
        name: String,
        /// The apply function's error.
        #[source]
        source: BoxError,
    },

    /// A file operation failed.
    #[error("{action} `{path}` failed")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A Kubernetes or Flux object was rejected by flux-objects' validation.
    #[error("building the {what} failed")]
    FluxObject {
        /// Which object.
        what: &'static str,
        /// flux-objects' error (names and keys, never values).
        #[source]
        source: flux_objects::Error,
    },

    /// Refreshing keeps failing and the token in the sink is about to expire (or has, or there is none yet).
    #[error(
        "refreshing the Event Hubs token from `{source_name}` failed {failures} time(s) in a row; the token in `{sink}` {state}"
    )]
    RefreshFailing {
        /// The source's non-secret description.
        source_name: String,
        /// The sink's non-secret description.
        sink: String,
        /// Consecutive failures so far.
        failures: u32,
        /// "expires at …", "expired at …" or "was never written".
        state: String,
        /// The last failure.
        #[source]
        source: Box<Error>,
    },
    /// An Azure request failed in a way with no more specific variant (transport, 5xx after the retries, an
    /// ARM error from `listKeys`, …).
    #[error(transparent)]
    Azure(#[from] azflux_core::Error),

    /// Event Hubs refused the token (401). `detail` is the service's `<Detail>` (never the token).
    #[error("Event Hubs refused the {token_kind} token for `{resource}` (401): {detail}; {hint}")]
    SendUnauthorized {
        /// `POST <host>/<hub>/messages`.
        resource: String,
        /// SAS or JWT.
        token_kind: crate::api::TokenKind,
        /// What the service said.
        detail: String,
        /// What to check.
        hint: &'static str,
    },

    /// The Event Hub (or its namespace) does not exist (404).
    #[error(
        "Event Hub `{hub}` was not found in namespace `{namespace}` (404): {detail}; check the hub and namespace names (`az eventhubs eventhub list --namespace-name …`)"
    )]
    EntityNotFound {
        /// The namespace host.
        namespace: String,
        /// The hub name.
        hub: String,
        /// What the service said.
        detail: String,
    },

    /// Event Hubs kept answering 429 or 503 after the pipeline's retries.
    #[error(
        "Event Hubs kept throttling `{resource}` ({status}) after the retries: {detail}; wait{wait} and send again, or lower the event rate",
        wait = retry_after.map(|d| format!(" {}s", d.as_secs())).unwrap_or_default()
    )]
    Throttled {
        /// `POST <host>/<hub>/messages`.
        resource: String,
        /// 429 or 503.
        status: u16,
        /// What the service said.
        detail: String,
        /// The service's last `Retry-After`.
        retry_after: Option<std::time::Duration>,
    },

    /// A name breaks Azure's naming rules for its resource type; nothing was sent.
    #[error("invalid {what} name `{name}`: {rule}; choose a name that follows this rule")]
    InvalidName {
        /// Which kind of name (`Event Hubs namespace`, `Event Hub`, `authorization rule`…).
        what: &'static str,
        /// The offending name.
        name: String,
        /// The rule it breaks.
        rule: String,
    },

    /// The namespace name is already used by a namespace in another resource group or subscription (namespace
    /// names are global: they become `<name>.servicebus.windows.net`).
    #[error(
        "Event Hubs namespace name `{name}` is already taken by a namespace in another resource group or subscription ({message}); namespace names are global across Azure (each becomes the host `<name>.servicebus.windows.net`): choose another name"
    )]
    NamespaceNameTaken {
        /// The name asked for.
        name: String,
        /// What Azure said.
        message: String,
    },

    /// `checkNameAvailability` refused the name for another reason than "in use".
    #[error(
        "Event Hubs namespace name `{name}` cannot be used ({reason}): {message}; fix what the reason names (or choose another name) and run again"
    )]
    NamespaceNameUnavailable {
        /// The name asked for.
        name: String,
        /// `InvalidName`, `SubscriptionIsDisabled`, `TooManyNamespaceInCurrentSubscription`…
        reason: String,
        /// What Azure said.
        message: String,
    },

    /// An operation on a hub or rule needs the namespace, and it does not exist.
    #[error(
        "Event Hubs namespace `{name}` does not exist in resource group `{resource_group}` of subscription `{subscription_id}`; create it first (`EventHubsArm::ensure_namespace`, `az eventhubs namespace create`)"
    )]
    NamespaceNotFound {
        /// Subscription id.
        subscription_id: String,
        /// Resource group.
        resource_group: String,
        /// Namespace name.
        name: String,
    },

    /// A token was about to go to a host it is not meant for; nothing was sent.
    #[error("refused to send the {token_kind} token to `{host}`: {why}; nothing was sent")]
    TokenHostRefused {
        /// The host of the request.
        host: String,
        /// SAS or JWT.
        token_kind: crate::api::TokenKind,
        /// Why.
        why: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
