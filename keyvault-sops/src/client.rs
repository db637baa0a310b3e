//! The real implementation(s) speaking the Azure REST contract.
//!
//! Slot for `AzureKeyVaultKey`: a [`crate::MasterKey`] over Key Vault `encrypt`/`decrypt` with RSA-OAEP-256.
//! It waits for azflux-core's HTTP pipeline. Its entries are [`crate::AzureKvEntry`] (`vault_url`, `name`,
//! `version`, `created_at`, `enc` = base64url without padding of the RSA-OAEP-256 ciphertext of the raw
//! 32-byte data key); files with `azure_kv` entries already parse and round-trip. Request and response
//! bodies are in [`crate::wire`]. Key references from `.sops.yaml` / `--azure-kv` parse as
//! [`crate::rules::AzureKeyRef`].
