#![doc = include_str!("../README.md")]

pub mod api;
pub mod cipher;
pub mod client;
#[cfg(any(test, feature = "fake"))]
pub mod contract;
pub mod engine;
pub mod error;
#[cfg(feature = "fake")]
pub mod fake;
pub mod flux;
pub mod format;
mod gofmt;
pub mod keys;
pub mod metadata;
pub mod rules;
pub mod tree;
pub mod vaults;
pub mod wire;

pub use api::MasterKey;
pub use cipher::DataKey;
pub use client::{AzureKeyVaultKey, CreateKeyOptions, KeyVaultClient, KeyVaultError};
pub use engine::{
    DecryptOptions, EncryptOptions, KeyGroupKeys, PathSegment, SopsFile, decrypt, decrypt_bytes,
    decrypt_with_data_key, encrypt, encrypt_bytes, open_bytes, parse_path,
};
pub use error::{Error, Result};
pub use format::Format;
pub use keys::age::AgeKey;
pub use keys::pgp::PgpKey;
pub use metadata::{AgeEntry, AzureKvEntry, KeyEntry, KeyGroup, Metadata, PgpEntry, Selector};
pub use tree::{Comment, MapItem, SeqItem, Tree, Value};
pub use vaults::{
    EnsuredVault, VAULTS_API_VERSION, Vault, VaultManagement, VaultSku, VaultSpec,
    validate_vault_name,
};
