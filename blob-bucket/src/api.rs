//! The traits and domain types: what a storage account for Flux `Bucket` sources is, and what the two halves
//! (management through ARM, blobs through the Blob service) can do.

use async_trait::async_trait;
use azflux_core::arm::{Ensured, LroProgress, ResourceId};
use std::collections::BTreeMap;
use std::path::Path;
use url::Url;

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An Azure call failed (ARM, Entra ID), classified by `azflux_core`.
    #[error(transparent)]
    Azure(#[from] azflux_core::Error),
    /// The Blob service answered with an error.
    #[error("{operation}: {status} {code}: {message}")]
    Blob {
        /// What was being done (`upload clusters/dev/app.yaml`).
        operation: String,
        /// The HTTP status.
        status: u16,
        /// `x-ms-error-code` (`AuthorizationPermissionMismatch`, `ContainerNotFound`, …).
        code: String,
        /// The service's message, with what to do where it is known.
        message: String,
    },
    /// The storage account name is taken (by someone else, anywhere in Azure) or is not a valid name.
    #[error("storage account name '{name}' is not available ({reason}): {message}")]
    NameUnavailable {
        /// The name asked for.
        name: String,
        /// `AlreadyExists` or `AccountNameInvalid`.
        reason: String,
        /// The service's message.
        message: String,
    },
    /// Reading the directory to upload failed.
    #[error("{path}: {message}")]
    Io {
        /// The file or directory.
        path: String,
        /// What failed.
        message: String,
    },
}

impl Error {
    /// An invalid input: `what` and what to do.
    pub fn invalid(what: impl Into<String>, why: impl Into<String>) -> Self {
        Error::Azure(azflux_core::Error::invalid(what, why))
    }

    /// The Blob error code, when the Blob service answered one.
    pub fn blob_code(&self) -> Option<&str> {
        match self {
            Error::Blob { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A storage account name: 3–24 characters, lower-case letters and digits only (Azure's rule; the name is
/// part of the account's host names, `<name>.blob.core.windows.net`).
pub fn validate_account_name(name: &str) -> Result<()> {
    if (3..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("storage account name '{}'", name.escape_debug()),
            "use 3-24 lower-case letters and digits (it becomes <name>.blob.core.windows.net)",
        ))
    }
}

/// A container name: 3–63 characters; lower-case letters, digits and single hyphens; starting and ending
/// with a letter or digit (Azure's rule, "Naming and Referencing Containers, Blobs, and Metadata").
pub fn validate_container_name(name: &str) -> Result<()> {
    let b = name.as_bytes();
    let ok = (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("container name '{}'", name.escape_debug()),
            "use 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit",
        ))
    }
}

/// A blob prefix Flux's `Bucket` reads (`spec.prefix`): relative, `/`-separated, no `..`, no control
/// characters. Empty means the whole container.
pub fn validate_prefix(prefix: &str) -> Result<()> {
    let bad = prefix.starts_with('/')
        || prefix.chars().any(char::is_control)
        || prefix.split('/').any(|s| s == ".." || s == ".")
        || prefix.len() > 1024;
    if bad {
        Err(Error::invalid(
            format!("blob prefix '{}'", prefix.escape_debug()),
            "use a relative path like clusters/dev/ (no leading '/', no '.' or '..' segments, at most 1024 characters)",
        ))
    } else {
        Ok(())
    }
}

/// The storage account to ensure. [`StorageAccountSpec::new`] gives what a Flux bucket needs: StorageV2,
/// Standard_LRS, TLS 1.2, HTTPS only, blob public access off, and shared-key access off (Entra ID only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageAccountSpec {
    /// The subscription.
    pub subscription_id: String,
    /// The resource group (must exist).
    pub resource_group: String,
    /// The account name.
    pub name: String,
    /// The Azure region.
    pub location: String,
    /// Whether account keys (shared key, SAS signed with them) may be used. Off by default: Flux's
    /// `provider: azure` uses workload identity.
    pub allow_shared_key_access: bool,
    /// Tags for a new account.
    pub tags: BTreeMap<String, String>,
}

impl StorageAccountSpec {
    /// The spec with the defaults above.
    pub fn new(
        subscription_id: impl Into<String>,
        resource_group: impl Into<String>,
        name: impl Into<String>,
        location: impl Into<String>,
    ) -> Self {
        Self {
            subscription_id: subscription_id.into(),
            resource_group: resource_group.into(),
            name: name.into(),
            location: location.into(),
            allow_shared_key_access: false,
            tags: BTreeMap::new(),
        }
    }

    /// Checks the names before anything is sent.
    pub fn validate(&self) -> Result<()> {
        validate_account_name(&self.name)?;
        if self.resource_group.is_empty()
            || self.resource_group.len() > 90
            || self.resource_group.ends_with('.')
            || !self
                .resource_group
                .chars()
                .all(|c| c.is_alphanumeric() || "-_.()".contains(c))
        {
            return Err(Error::invalid(
                format!("resource group '{}'", self.resource_group.escape_debug()),
                "use 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'",
            ));
        }
        if self.location.is_empty() || !self.location.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::invalid(
                format!("location '{}'", self.location.escape_debug()),
                "use an Azure region name such as westeurope",
            ));
        }
        Ok(())
    }

    /// The account's resource id.
    pub fn resource_id(&self) -> ResourceId {
        ResourceId::resource(
            &self.subscription_id,
            &self.resource_group,
            "Microsoft.Storage",
            "storageAccounts",
            &self.name,
        )
    }
}

/// A storage account as ARM reads it back (the fields Flux cares about).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageAccount {
    /// Its resource id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its region.
    pub location: String,
    /// `kind` (`StorageV2`, `BlobStorage`, …).
    pub kind: String,
    /// `sku.name`.
    pub sku: String,
    /// `properties.primaryEndpoints.blob`.
    pub blob_endpoint: Option<Url>,
    /// `properties.allowSharedKeyAccess` (absent means allowed).
    pub allow_shared_key_access: Option<bool>,
    /// `properties.allowBlobPublicAccess`.
    pub allow_blob_public_access: Option<bool>,
    /// `properties.provisioningState`.
    pub provisioning_state: String,
}

impl StorageAccount {
    /// What about an existing account does not suit Flux or differs from the spec. Reported, never changed.
    pub fn warnings(&self, spec: &StorageAccountSpec) -> Vec<String> {
        let mut w = Vec::new();
        if !matches!(
            self.kind.as_str(),
            "StorageV2" | "BlobStorage" | "BlockBlobStorage"
        ) {
            w.push(format!(
                "storage account {} is of kind {}, which has no blob service Flux can read; use a StorageV2 account",
                self.name, self.kind
            ));
        }
        if self.allow_blob_public_access == Some(true) {
            w.push(format!(
                "storage account {} allows public blob access; Flux does not need it (az storage account update --allow-blob-public-access false)",
                self.name
            ));
        }
        if !spec.allow_shared_key_access && self.allow_shared_key_access != Some(false) {
            w.push(format!(
                "storage account {} allows shared-key access, the configuration asks for Entra ID only; it is left as it is (az storage account update --allow-shared-key-access false)",
                self.name
            ));
        }
        if !self
            .location
            .eq_ignore_ascii_case(&spec.location.replace(' ', ""))
        {
            w.push(format!(
                "storage account {} is in {}, the configuration says {}; it is used where it is",
                self.name, self.location, spec.location
            ));
        }
        w
    }
}

/// What [`StorageAccounts::ensure_account`] found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsuredStorageAccount {
    /// The account.
    pub account: StorageAccount,
    /// Whether it was created by this call.
    pub created: bool,
    /// What differs from the spec on an existing account (never changed).
    pub warnings: Vec<String>,
}

/// The management half (ARM).
#[async_trait]
pub trait StorageAccounts: Send + Sync {
    /// Reads the account (`None`: it does not exist).
    async fn get_account(&self, id: &ResourceId) -> Result<Option<StorageAccount>>;

    /// Creates the account as `spec` says, or returns the existing one unchanged with warnings.
    async fn ensure_account(
        &self,
        spec: &StorageAccountSpec,
        progress: &(dyn for<'p> Fn(&'p LroProgress) + Send + Sync + 'static),
    ) -> Result<EnsuredStorageAccount>;

    /// Creates the container (private) in the account, or leaves an existing one as it is.
    async fn ensure_container(
        &self,
        account: &ResourceId,
        container: &str,
    ) -> Result<Ensured<String>>;
}

/// One blob, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobEntry {
    /// Its name (with its prefix).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// `Content-MD5` as the service stored it.
    pub content_md5: Option<Vec<u8>>,
}

/// What [`Buckets::publish_dir`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// Blobs written (new or changed content).
    pub uploaded: Vec<String>,
    /// Blobs already holding the same content (MD5), not sent again.
    pub unchanged: Vec<String>,
    /// Blobs under the prefix that are no longer in the directory, deleted (only with `prune`).
    pub deleted: Vec<String>,
    /// A revision of the published content: `sha256:<hex>` over the sorted (name, MD5) list, the same
    /// whatever order the files were read in.
    pub revision: String,
}

impl PublishReport {
    /// Whether nothing was written or deleted.
    pub fn is_unchanged(&self) -> bool {
        self.uploaded.is_empty() && self.deleted.is_empty()
    }
}

/// The data half (the Blob service of one account).
#[async_trait]
pub trait Buckets: Send + Sync {
    /// Every blob of `container` whose name starts with `prefix`, all pages.
    async fn list(&self, container: &str, prefix: &str) -> Result<Vec<BlobEntry>>;

    /// A blob's content.
    async fn download(&self, container: &str, name: &str) -> Result<Vec<u8>>;

    /// Uploads the files of `dir` (recursively; `.git` left out) as `<prefix><relative path>`, skipping
    /// blobs whose content is already there; with `prune`, deletes the blobs under `prefix` that are not in
    /// `dir`, as Flux's bucket then holds exactly the directory.
    async fn publish_dir(
        &self,
        container: &str,
        prefix: &str,
        dir: &Path,
        prune: bool,
    ) -> Result<PublishReport>;
}
