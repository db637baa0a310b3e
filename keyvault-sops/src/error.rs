//! The crate's error type. Messages say what failed, where, and what to do; they never contain plaintext
//! values or key material.

/// Everything that can go wrong reading, writing, encrypting or decrypting a SOPS file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not valid for the operation (bad flag combination, bad key string, bad path…).
    #[error("invalid {what}: {why}")]
    InvalidInput {
        /// What was invalid.
        what: String,
        /// Why, and what to do.
        why: String,
    },
    /// The document could not be parsed in the given format.
    #[error("cannot parse the input as {format}: {why}")]
    Parse {
        /// `yaml`, `json`, `dotenv`, `binary`.
        format: &'static str,
        /// Where and why (never the offending value).
        why: String,
    },
    /// The file has no `sops` metadata: it is not a SOPS-encrypted file.
    #[error(
        "the file is not encrypted with sops (no `sops` metadata block found); encrypt it first"
    )]
    NotEncrypted,
    /// The plaintext input has no document at all (an empty or comments-only YAML stream): sops refuses it
    /// with exit code 92 rather than writing an empty file.
    #[error("File cannot be completely empty, it must contain at least one document")]
    EmptyFile,
    /// The plaintext input already carries a `sops` metadata block.
    #[error(
        "the file is already encrypted with sops (it has a top-level `sops` key); decrypt it or use `edit`"
    )]
    AlreadyEncrypted,
    /// The `sops` metadata block is malformed.
    #[error("malformed sops metadata: {why}")]
    Metadata {
        /// What is wrong.
        why: String,
    },
    /// An `ENC[...]` value is malformed or truncated (not a GCM failure).
    #[error("malformed encrypted value at `{path}`: {why}")]
    MalformedValue {
        /// The key path of the value (`a:b:`), never the value.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// An encrypted value failed AES-GCM authentication: it was tampered with, moved to another key path,
    /// or the data key is wrong.
    #[error(
        "cannot decrypt the value at `{path}`: authentication failed (the value was modified, moved to another key, or the data key is wrong)"
    )]
    ValueTampered {
        /// The key path of the value.
        path: String,
    },
    /// A decrypted value does not parse as its declared type.
    #[error("the value at `{path}` does not parse as its declared type `{ty}`")]
    BadValueType {
        /// The key path of the value.
        path: String,
        /// The declared `type:`.
        ty: String,
    },
    /// The file has no `mac` in its metadata.
    #[error(
        "the file has no MAC in its sops metadata; refusing to trust it (pass ignore_mac / --ignore-mac to override)"
    )]
    MacMissing,
    /// The stored MAC could not be decrypted (it was modified, or `lastmodified` was changed).
    #[error(
        "cannot decrypt the file's MAC: it or `sops.lastmodified` was modified (pass ignore_mac / --ignore-mac to override)"
    )]
    MacTampered,
    /// The MAC computed over the values differs from the stored MAC.
    #[error(
        "MAC mismatch: the file's values do not match its MAC (a value was changed outside sops); pass ignore_mac / --ignore-mac to override"
    )]
    MacMismatch,
    /// No master key could recover the data key.
    #[error("could not recover the data key: {}", attempts.join("; "))]
    NoDataKey {
        /// One line per key group / key tried, saying why it failed.
        attempts: Vec<String>,
    },
    /// A master key operation failed.
    #[error("{key}: {why}")]
    MasterKey {
        /// Which key (`age1…`, a PGP fingerprint, a Key Vault key URL).
        key: String,
        /// What failed.
        why: String,
    },
    /// Reading or interpreting `.sops.yaml` failed.
    #[error("config {path}: {why}")]
    Config {
        /// The config file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// An Azure Key Vault call failed (forbidden, key not found, unauthorized, throttled…).
    #[error(transparent)]
    KeyVault(Box<crate::client::KeyVaultError>),
    /// Another Azure failure.
    #[error(transparent)]
    Azure(#[from] azflux_core::Error),
    /// The operation is not supported (yet) for this input.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The Key Vault name is taken by a vault in another subscription or resource group (vault names are one
    /// global DNS namespace).
    #[error(
        "the Key Vault name '{name}' is already in use by a vault in another subscription or resource group (vault names are globally unique DNS names): choose another name{detail}"
    )]
    VaultNameTaken {
        /// The vault name.
        name: String,
        /// The service's code and message, prefixed with "; Azure said: " (empty when there was none).
        detail: String,
    },
    /// A soft-deleted vault holds the name.
    #[error(
        "a soft-deleted Key Vault named '{name}' exists: recover it (set recover_soft_deleted = true, which sends createMode \"recover\" and brings back its old settings), purge it (`az keyvault purge --name {name}`; impossible while purge protection lasts), or choose another name{detail}"
    )]
    VaultSoftDeleted {
        /// The vault name.
        name: String,
        /// The service's code and message, prefixed with "; Azure said: " (empty when there was none).
        detail: String,
    },
    /// Creating (or recovering) the vault ended in a failed provisioning state.
    #[error(
        "provisioning the Key Vault '{name}' ended {status}: {code}: {message}. Fix the cause the message names, delete the failed vault if it is still listed, and re-run"
    )]
    VaultProvisioningFailed {
        /// The vault name.
        name: String,
        /// `Failed` or `Canceled`.
        status: String,
        /// The service's error code.
        code: String,
        /// The service's message.
        message: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<crate::client::KeyVaultError> for Error {
    fn from(e: crate::client::KeyVaultError) -> Self {
        Self::KeyVault(Box::new(e))
    }
}

impl Error {
    pub(crate) fn invalid(what: impl Into<String>, why: impl Into<String>) -> Self {
        Self::InvalidInput {
            what: what.into(),
            why: why.into(),
        }
    }
    pub(crate) fn metadata(why: impl Into<String>) -> Self {
        Self::Metadata { why: why.into() }
    }
}
