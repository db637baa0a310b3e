//! Serde request/response bodies, URL builders and response parsing: no I/O.
//!
//! The Key Vault data-plane calls the `azure_kv` master key makes: `encrypt`/`decrypt` (what sops uses),
//! `wrapkey`/`unwrapkey`, GetKey and CreateKey. All binary values are base64url without padding.

use serde::{Deserialize, Serialize};

/// The Key Vault REST API version used for key operations.
pub const KEYVAULT_API_VERSION: &str = "7.4";

/// The algorithm sops uses.
pub const RSA_OAEP_256: &str = "RSA-OAEP-256";

/// `POST {vault}/keys/{name}/{version}/encrypt|decrypt` body. `Debug` never shows `value` (for `encrypt` and
/// `wrapkey` it is the data key).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyOperationRequest {
    /// `RSA-OAEP-256`.
    pub alg: String,
    /// base64url (no padding) of the input.
    pub value: String,
}

/// The response body of `encrypt`/`decrypt`. `Debug` never shows `value` (for `decrypt` and `unwrapkey` it is
/// the data key).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyOperationResult {
    /// The full key id used (`…/keys/name/version`).
    pub kid: String,
    /// base64url (no padding) of the output. For `encrypt` this is what sops stores in `enc`.
    pub value: String,
}

impl std::fmt::Debug for KeyOperationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyOperationRequest")
            .field("alg", &self.alg)
            .field("value", &"<redacted>")
            .finish()
    }
}

impl std::fmt::Debug for KeyOperationResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyOperationResult")
            .field("kid", &self.kid)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// `RSA-OAEP` (SHA-1): accepted by Key Vault and the fake, not used by sops.
pub const RSA_OAEP: &str = "RSA-OAEP";

/// A JSON Web Key as Key Vault returns it (public parts only).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct JsonWebKey {
    /// The full key id: `https://<vault>/keys/<name>/<version>`.
    #[serde(default)]
    pub kid: String,
    /// `RSA`, `RSA-HSM`, `EC`…
    #[serde(default)]
    pub kty: String,
    /// Permitted operations (`encrypt`, `decrypt`, `wrapKey`, `unwrapKey`…).
    #[serde(default)]
    pub key_ops: Vec<String>,
    /// RSA modulus, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

/// Key attributes (times are unix seconds).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct KeyAttributes {
    /// Whether the key can be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    /// Last update time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<i64>,
    /// `Recoverable+Purgeable`, …
    #[serde(
        default,
        rename = "recoveryLevel",
        skip_serializing_if = "Option::is_none"
    )]
    pub recovery_level: Option<String>,
}

/// `KeyBundle`: the answer of GetKey and CreateKey.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct KeyBundle {
    /// The key.
    pub key: JsonWebKey,
    /// Its attributes.
    #[serde(default)]
    pub attributes: KeyAttributes,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<serde_json::Map<String, serde_json::Value>>,
}

impl KeyBundle {
    /// The version: the last segment of `key.kid`.
    pub fn version(&self) -> &str {
        self.key.kid.rsplit('/').next().unwrap_or_default()
    }
}

/// `POST {vault}/keys/{name}/create` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CreateKeyRequest {
    /// `RSA` or `RSA-HSM`.
    pub kty: String,
    /// Key size in bits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_size: Option<u32>,
    /// Permitted operations.
    pub key_ops: Vec<String>,
    /// Attributes (`enabled`).
    pub attributes: KeyAttributes,
    /// Tags.
    #[serde(default)]
    pub tags: serde_json::Map<String, serde_json::Value>,
}

/// The URL of GetKey: `{vault}/keys/{name}/{version}` (latest when `version` is empty).
pub fn get_key_url(vault_url: &str, name: &str, version: &str) -> String {
    let base = vault_url.trim_end_matches('/');
    if version.is_empty() {
        format!("{base}/keys/{name}?api-version={KEYVAULT_API_VERSION}")
    } else {
        format!("{base}/keys/{name}/{version}?api-version={KEYVAULT_API_VERSION}")
    }
}

/// The URL of CreateKey: `{vault}/keys/{name}/create`.
pub fn create_key_url(vault_url: &str, name: &str) -> String {
    format!(
        "{}/keys/{name}/create?api-version={KEYVAULT_API_VERSION}",
        vault_url.trim_end_matches('/')
    )
}

/// The URL of a key operation (`encrypt`, `decrypt`, `wrapkey`, `unwrapkey`) on a specific key version.
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
        assert_eq!(
            get_key_url("https://v.vault.azure.net", "k", ""),
            "https://v.vault.azure.net/keys/k?api-version=7.4"
        );
        assert_eq!(
            create_key_url("https://v.vault.azure.net/", "k"),
            "https://v.vault.azure.net/keys/k/create?api-version=7.4"
        );
    }

    #[test]
    fn key_operation_debug_never_shows_the_value() {
        let req = KeyOperationRequest {
            alg: RSA_OAEP_256.into(),
            value: "ZGF0YS1rZXktYnl0ZXM".into(),
        };
        let res = KeyOperationResult {
            kid: "https://v.vault.azure.net/keys/k/0a".into(),
            value: "cGxhaW50ZXh0LWRhdGEta2V5".into(),
        };
        let (req, res) = (format!("{req:?}"), format!("{res:?}"));
        assert!(!req.contains("ZGF0YS1rZXktYnl0ZXM"), "{req}");
        assert!(req.contains(RSA_OAEP_256), "{req}");
        assert!(!res.contains("cGxhaW50ZXh0LWRhdGEta2V5"), "{res}");
        assert!(res.contains("https://v.vault.azure.net/keys/k/0a"), "{res}");
    }

    #[test]
    fn key_bundle_reads_the_getkey_shape() {
        let b: KeyBundle = serde_json::from_str(r#"{"key":{"kid":"https://v.vault.azure.net/keys/k/78deebed","kty":"RSA","key_ops":["encrypt"],"n":"AQAB","e":"AQAB"},"attributes":{"enabled":true,"created":1493942451,"recoveryLevel":"Recoverable+Purgeable"},"tags":{}}"#).unwrap();
        assert_eq!(b.version(), "78deebed");
        assert_eq!(b.attributes.created, Some(1493942451));
        assert_eq!(
            b.attributes.recovery_level.as_deref(),
            Some("Recoverable+Purgeable")
        );
    }
}
