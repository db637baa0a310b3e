//! What Flux's kustomize-controller needs to decrypt SOPS files: the Secret a Kustomization's
//! `decryption.secretRef` names. Rendering is flux-objects' job ([`flux_objects::Secret::sops_azure`],
//! [`flux_objects::Secret::sops_age`]); this module builds those Secrets from this crate's keys.
//!
//! - Azure Key Vault: key `sops.azure-kv` holding `tenantId`/`clientId`/`clientSecret` (service principal), or
//!   only `clientId` (a managed identity); with AKS workload identity no Secret is needed.
//! - age: one `<name>.agekey` entry holding `AGE-SECRET-KEY-1…`.

use crate::error::{Error, Result};
use crate::keys::age::AgeKey;

pub use flux_objects::SopsAzureKv as AzureKvCredentials;

/// The key kustomize-controller reads Azure credentials from.
pub const AZURE_KV_SECRET_KEY: &str = "sops.azure-kv";

/// The `sops-azure` Secret (`sops.azure-kv`) for `creds`.
pub fn azure_secret(
    name: &str,
    namespace: &str,
    creds: &AzureKvCredentials,
) -> flux_objects::Secret {
    flux_objects::Secret::sops_azure(name, namespace, creds)
}

/// The age Secret: `<key_name>.agekey` holding the identity of `key`.
pub fn age_secret(
    name: &str,
    namespace: &str,
    key_name: &str,
    key: &AgeKey,
) -> Result<flux_objects::Secret> {
    let identity = key.identity_secret().ok_or_else(|| {
        Error::invalid(
            "age key",
            format!(
                "{} has no identity (secret key) to put in a decryption Secret",
                key.recipient()
            ),
        )
    })?;
    Ok(flux_objects::Secret::sops_age(
        name, namespace, key_name, identity,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::{ExposeSecret as _, SecretString};

    #[test]
    fn azure_secret_holds_the_credentials_under_sops_azure_kv() {
        let sp = AzureKvCredentials::ClientSecret {
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret: SecretString::from("hush"),
        };
        let s = azure_secret("sops-azure", "flux-system", &sp);
        let v = s
            .string_data
            .get(AZURE_KV_SECRET_KEY)
            .unwrap()
            .expose_secret()
            .to_string();
        assert!(v.contains("tenantId") && v.contains("clientId") && v.contains("hush"));
        assert!(!format!("{s:?}").contains("hush"));
        let mi = AzureKvCredentials::ManagedIdentity {
            client_id: "c".into(),
        };
        let v = azure_secret("sops-azure", "flux-system", &mi).string_data[AZURE_KV_SECRET_KEY]
            .expose_secret()
            .to_string();
        assert!(v.contains("clientId") && !v.contains("tenantId"));
    }

    #[test]
    fn age_secret_holds_the_identity_as_agekey() {
        let k = AgeKey::generate();
        let s = age_secret("sops-age", "flux-system", "identity", &k).unwrap();
        let id = s.string_data["identity.agekey"].expose_secret().to_string();
        assert!(id.starts_with("AGE-SECRET-KEY-1"));
        assert_eq!(
            AgeKey::from_identity(&id).unwrap().recipient(),
            k.recipient()
        );
        assert!(
            age_secret(
                "x",
                "y",
                "z",
                &AgeKey::from_recipient(&k.recipient()).unwrap()
            )
            .is_err()
        );
    }
}
