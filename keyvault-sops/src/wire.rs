//! Serde request/response bodies, URL builders and response parsing: no I/O.
//!
//! The Key Vault `encrypt`/`decrypt` operations sops uses for `azure_kv` keys.

use serde::{Deserialize, Serialize};

/// The Key Vault REST API version used for key operations.
pub const KEYVAULT_API_VERSION: &str = "7.4";

/// The algorithm sops uses.
pub const RSA_OAEP_256: &str = "RSA-OAEP-256";

/// `POST {vault}/keys/{name}/{version}/encrypt|decrypt` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyOperationRequest {
    /// `RSA-OAEP-256`.
    pub alg: String,
    /// base64url (no padding) of the input.
    pub value: String,
}

/// The response body of `encrypt`/`decrypt`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyOperationResult {
    /// The full key id used (`…/keys/name/version`).
    pub kid: String,
    /// base64url (no padding) of the output. For `encrypt` this is what sops stores in `enc`.
    pub value: String,
}

/// The URL of a key operation (`encrypt` or `decrypt`) on a specific key version.
pub fn key_operation_url(vault_url: &str, name: &str, version: &str, op: &str) -> String {
    format!(
        "{}/keys/{name}/{version}/{op}?api-version={KEYVAULT_API_VERSION}",
        vault_url.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_url_has_no_double_slash() {
        assert_eq!(
            key_operation_url("https://v.vault.azure.net/", "k", "0a", "decrypt"),
            "https://v.vault.azure.net/keys/k/0a/decrypt?api-version=7.4"
        );
    }
}
