//! What Flux's kustomize-controller needs to decrypt SOPS files: the `decryption.secretRef` Secret's data,
//! as plain data types (rendering to a Kubernetes Secret is flux-objects' job).
//!
//! - Azure Key Vault: key `sops.azure-kv` holding `tenantId`/`clientId`/`clientSecret` (service principal), or
//!   only `clientId` (a user-assigned managed identity); with workload identity no Secret is needed.
//! - age: one key per identity, named `*.agekey`, holding `AGE-SECRET-KEY-1…`.

use secrecy::{ExposeSecret as _, SecretString};

/// The key kustomize-controller reads Azure credentials from.
pub const AZURE_KV_SECRET_KEY: &str = "sops.azure-kv";

/// The Azure credentials in the `sops-azure` Secret.
pub enum AzureKvCredentials {
    /// A service principal with a client secret.
    ServicePrincipal {
        /// Entra tenant ID.
        tenant_id: String,
        /// Application (client) ID.
        client_id: String,
        /// The client secret.
        client_secret: SecretString,
    },
    /// A user-assigned managed identity (kustomize-controller runs with it).
    ManagedIdentity {
        /// The identity's client ID.
        client_id: String,
    },
}

impl std::fmt::Debug for AzureKvCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ServicePrincipal {
                tenant_id,
                client_id,
                ..
            } => f
                .debug_struct("ServicePrincipal")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .finish(),
            Self::ManagedIdentity { client_id } => f
                .debug_struct("ManagedIdentity")
                .field("client_id", client_id)
                .finish(),
        }
    }
}

/// One entry of a Secret's `stringData`: key and (secret) value.
pub struct SecretEntry {
    /// The data key.
    pub key: String,
    /// The value.
    pub value: SecretString,
}

impl std::fmt::Debug for SecretEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretEntry")
            .field("key", &self.key)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// A decryption Secret's content: name and `stringData` entries.
#[derive(Debug)]
pub struct DecryptionSecret {
    /// The Secret's name (`sops-azure`, `sops-age`).
    pub name: String,
    /// Its `stringData`.
    pub entries: Vec<SecretEntry>,
}

fn json_string(s: &str) -> String {
    crate::format::json::quote(s)
}

impl AzureKvCredentials {
    /// The `sops.azure-kv` value: the JSON object kustomize-controller parses (`tenantId`, `clientId`,
    /// `clientSecret`; only `clientId` for a managed identity).
    pub fn to_secret_value(&self) -> SecretString {
        let s = match self {
            Self::ServicePrincipal {
                tenant_id,
                client_id,
                client_secret,
            } => format!(
                "{{\"tenantId\":{},\"clientId\":{},\"clientSecret\":{}}}",
                json_string(tenant_id),
                json_string(client_id),
                json_string(client_secret.expose_secret())
            ),
            Self::ManagedIdentity { client_id } => {
                format!("{{\"clientId\":{}}}", json_string(client_id))
            }
        };
        SecretString::from(s)
    }

    /// The `sops-azure` Secret's content.
    pub fn to_secret(&self, name: &str) -> DecryptionSecret {
        DecryptionSecret {
            name: name.to_string(),
            entries: vec![SecretEntry {
                key: AZURE_KV_SECRET_KEY.into(),
                value: self.to_secret_value(),
            }],
        }
    }
}

/// The age Secret's content: one `<name>.agekey` entry per identity.
pub fn age_secret(name: &str, identities: &[(String, SecretString)]) -> DecryptionSecret {
    DecryptionSecret {
        name: name.to_string(),
        entries: identities
            .iter()
            .map(|(n, id)| SecretEntry {
                key: if n.ends_with(".agekey") {
                    n.clone()
                } else {
                    format!("{n}.agekey")
                },
                value: id.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_secret_value_is_the_json_kustomize_controller_reads() {
        let sp = AzureKvCredentials::ServicePrincipal {
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret: SecretString::from("s\"x"),
        };
        assert_eq!(
            sp.to_secret_value().expose_secret(),
            r#"{"tenantId":"t","clientId":"c","clientSecret":"s\"x"}"#
        );
        assert!(!format!("{sp:?}").contains("s\"x"));
        let mi = AzureKvCredentials::ManagedIdentity {
            client_id: "c".into(),
        };
        assert_eq!(mi.to_secret("sops-azure").entries[0].key, "sops.azure-kv");
        assert_eq!(mi.to_secret_value().expose_secret(), r#"{"clientId":"c"}"#);
    }

    #[test]
    fn age_entries_end_in_agekey() {
        let s = age_secret(
            "sops-age",
            &[("identity".into(), SecretString::from("AGE-SECRET-KEY-1X"))],
        );
        assert_eq!(s.entries[0].key, "identity.agekey");
    }
}
