//! The Kubernetes `Secret` the notification-controller reads (`address`, `token`) and the refresher
//! applies: flux-objects' [`Secret`](flux_objects::Secret) (redacted `Debug`, `stringData`).

use crate::error::{Error, Result};
use secrecy::SecretString;

/// The Secret key holding the address (SAS: the connection string; JWT: the Event Hub name).
pub const ADDRESS_KEY: &str = "address";
/// The Secret key holding the JWT.
pub const TOKEN_KEY: &str = "token";

/// A `v1` Secret with `stringData` (flux-objects' type; `Debug` lists only its keys).
pub type KubeSecret = flux_objects::Secret;

/// Validates `secret` and renders it as a `---`-prefixed YAML document, e.g. for `kubectl apply -f -`.
/// The output holds the secret values, hence `SecretString`.
pub fn secret_yaml(secret: &KubeSecret) -> Result<SecretString> {
    flux_objects::render(secret)
        .map(SecretString::from)
        .map_err(|source| Error::FluxObject {
            what: "Secret",
            source,
        })
}
