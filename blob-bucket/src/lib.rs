//! Flux `Bucket` sources on Azure Blob Storage: a storage account fit for Flux (StorageV2, no public blob
//! access, Entra ID only where asked) and a private container, ensured through ARM; the cluster's manifests
//! published as blobs with the official `azure_storage_blob` crate, on the caller's transport; and a fake of
//! both (feature `fake`).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use azflux_core::arm::{ArmClient, ArmClientOptions};
//! use azflux_core::fake::FakeCloud;
//! use blob_bucket::{BlobBuckets, Buckets, StorageAccountSpec, StorageAccounts, StorageManagement};
//!
//! let cloud = FakeCloud::start().await;
//! let storage = blob_bucket::fake::FakeStorage::mount(&cloud).await;
//! let sandbox = cloud.sandbox().clone();
//! let credential = cloud.credential()?;
//! let arm = ArmClient::new(&cloud.cloud(), credential.clone(), ArmClientOptions { http: cloud.http_options(), ..Default::default() });
//! let management = StorageManagement::new(arm);
//! let spec = StorageAccountSpec::new(&sandbox.subscription_id, "flux-rg", "fluxbucket1", "westeurope");
//! let account = management.ensure_account(&spec, &|_| {}).await?;
//! management.ensure_container(&spec.resource_id(), "manifests").await?;
//! // Publishing needs a data role, as in Azure: an Owner assignment grants no blob data access.
//! cloud.arm_kit().assign_role(&sandbox.object_id, &spec.resource_id().to_string(), "Storage Blob Data Contributor");
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("app.yaml"), "kind: ConfigMap\n")?;
//! let buckets = BlobBuckets::new(&cloud.cloud(), "fluxbucket1", credential, &cloud.http_options())?;
//! let report = buckets.publish_dir("manifests", "clusters/dev/", dir.path(), true).await?;
//! assert_eq!(report.uploaded, ["clusters/dev/app.yaml"]);
//! assert!(account.created);
//! assert_eq!(storage.blob("fluxbucket1", "manifests", "clusters/dev/app.yaml").unwrap(), b"kind: ConfigMap\n");
//! # Ok(()) }
//! ```

pub mod api;
pub mod buckets;
#[cfg(feature = "fake")]
pub mod fake;
pub mod management;

pub use api::{
    BlobEntry, Buckets, EnsuredStorageAccount, Error, PublishReport, Result, StorageAccount,
    StorageAccountSpec, StorageAccounts,
};
pub use buckets::BlobBuckets;
pub use management::{STORAGE_API_VERSION, StorageManagement};
