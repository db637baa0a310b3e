//! The traits and domain types a caller sees.

use crate::error::Result;
use crate::metadata::KeyEntry;
use async_trait::async_trait;
use secrecy::SecretBox;

/// A master key: wraps and unwraps a file's data key (or, with several key groups, a Shamir share of it)
/// and records the result as one entry of the `sops` metadata block.
///
/// Implementations: [`crate::keys::age::AgeKey`], [`crate::keys::pgp::PgpKey`], and (slot) the Azure Key
/// Vault key, whose entries ([`crate::metadata::AzureKvEntry`]) already parse and round-trip.
#[async_trait]
pub trait MasterKey: Send + Sync + 'static {
    /// The metadata list this key's entries live in: `age`, `pgp`, `azure_kv`.
    fn kind(&self) -> &'static str;

    /// A human-readable identifier (`age1…`, a PGP fingerprint, a Key Vault key URL). Never secret.
    fn id(&self) -> String;

    /// Whether this key may be able to unwrap `entry` (same kind and, where the entry names it, same key).
    fn can_try(&self, entry: &KeyEntry) -> bool;

    /// Wrap `data_key` (32 bytes, or a 33-byte Shamir share) into a new metadata entry.
    async fn encrypt(&self, data_key: &[u8]) -> Result<KeyEntry>;

    /// Unwrap the data key (or share) from `entry`.
    async fn decrypt(&self, entry: &KeyEntry) -> Result<SecretBox<Vec<u8>>>;
}
