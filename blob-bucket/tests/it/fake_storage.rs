//! The real clients (`StorageManagement` over ARM, `BlobBuckets` over azure_storage_blob) against the fake
//! Storage: one test per behaviour.

use azflux_core::arm::{ArmClient, ArmClientOptions, Ensured};
use azflux_core::fake::FakeCloud;
use blob_bucket::fake::FakeStorage;
use blob_bucket::{
    BlobBuckets, Buckets, Error, StorageAccountSpec, StorageAccounts, StorageManagement,
};

struct World {
    cloud: FakeCloud,
    storage: FakeStorage,
    management: StorageManagement,
    spec: StorageAccountSpec,
}

async fn world(account: &str) -> World {
    let cloud = FakeCloud::start().await;
    let storage = FakeStorage::mount(&cloud).await;
    let arm = ArmClient::new(
        &cloud.cloud(),
        cloud.credential().unwrap(),
        ArmClientOptions {
            http: cloud.http_options(),
            ..Default::default()
        },
    );
    let spec = StorageAccountSpec::new(
        &cloud.sandbox().subscription_id,
        "flux-rg",
        account,
        "westeurope",
    );
    World {
        management: StorageManagement::new(arm),
        cloud,
        storage,
        spec,
    }
}

impl World {
    fn buckets(&self) -> BlobBuckets {
        BlobBuckets::new(
            &self.cloud.cloud(),
            &self.spec.name,
            self.cloud.credential().unwrap(),
            &self.cloud.http_options(),
        )
        .unwrap()
    }

    async fn account_and_container(&self) {
        self.management
            .ensure_account(&self.spec, &|_| {})
            .await
            .unwrap();
        self.management
            .ensure_container(&self.spec.resource_id(), "manifests")
            .await
            .unwrap();
    }

    fn grant(&self, role: &str) {
        self.cloud
            .arm_kit()
            .assign_role(
                &self.cloud.sandbox().object_id,
                &self.spec.resource_id().to_string(),
                role,
            )
            .unwrap();
    }
}

fn manifests() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("apps/podinfo")).unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(dir.path().join("kustomization.yaml"), "resources: [apps]\n").unwrap();
    std::fs::write(
        dir.path().join("apps/podinfo/deploy.yaml"),
        "kind: Deployment\n",
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn a_new_account_is_created_through_a_location_polled_operation_with_flux_settings() {
    let w = world("fluxbucket1").await;
    let ensured = w.management.ensure_account(&w.spec, &|_| {}).await.unwrap();
    assert!(ensured.created);
    assert!(ensured.warnings.is_empty(), "{:?}", ensured.warnings);
    let a = &ensured.account;
    assert_eq!(a.kind, "StorageV2");
    assert_eq!(a.allow_shared_key_access, Some(false));
    assert_eq!(a.allow_blob_public_access, Some(false));
    assert_eq!(a.provisioning_state, "Succeeded");
    assert_eq!(
        a.blob_endpoint.as_ref().unwrap().as_str(),
        "https://fluxbucket1.blob.core.windows.net/"
    );
    assert_eq!(w.cloud.request_count("storage.arm.account.put"), 1);
    // The 202 carried only Location; the client polled the result on the fake clock.
    assert!(w.cloud.request_count("storage.arm.account.operation") >= 1);
}

#[tokio::test]
async fn an_existing_account_is_never_modified_and_what_differs_is_a_warning() {
    let w = world("fluxbucket2").await;
    let mut open = w.spec.clone();
    open.allow_shared_key_access = true;
    w.management.ensure_account(&open, &|_| {}).await.unwrap();
    let again = w.management.ensure_account(&w.spec, &|_| {}).await.unwrap();
    assert!(!again.created);
    assert_eq!(w.cloud.request_count("storage.arm.account.put"), 1);
    assert!(
        again
            .warnings
            .iter()
            .any(|m| m.contains("allows shared-key access")),
        "{:?}",
        again.warnings
    );
    assert_eq!(again.account.allow_shared_key_access, Some(true));
}

#[tokio::test]
async fn a_name_taken_elsewhere_is_refused_with_the_services_message() {
    let w = world("fluxbucket3").await;
    let mut elsewhere = w.spec.clone();
    elsewhere.resource_group = "someone-else".into();
    w.management
        .ensure_account(&elsewhere, &|_| {})
        .await
        .unwrap();
    let err = w
        .management
        .ensure_account(&w.spec, &|_| {})
        .await
        .unwrap_err();
    match err {
        Error::NameUnavailable {
            reason, message, ..
        } => {
            assert_eq!(reason, "AlreadyExists");
            assert_eq!(
                message,
                "The storage account named fluxbucket3 is already taken."
            );
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn invalid_names_are_refused_before_any_request() {
    let w = world("Bad_Name").await;
    let err = w
        .management
        .ensure_account(&w.spec, &|_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("3-24 lower-case letters"), "{err}");
    let mut climbing = w.spec.clone();
    climbing.name = "fluxok".into();
    climbing.resource_group = "x/../../victim".into();
    assert!(
        w.management
            .ensure_account(&climbing, &|_| {})
            .await
            .is_err()
    );
    let err = w
        .management
        .ensure_container(&climbing.resource_id(), "Bad--Name")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("container name"), "{err}");
    assert_eq!(w.cloud.request_count_prefix("storage."), 0);
}

#[tokio::test]
async fn a_container_is_created_once_then_left_unchanged() {
    let w = world("fluxbucket4").await;
    w.management.ensure_account(&w.spec, &|_| {}).await.unwrap();
    let id = w.spec.resource_id();
    let first = w
        .management
        .ensure_container(&id, "manifests")
        .await
        .unwrap();
    assert!(matches!(first, Ensured::Created(_)), "{first:?}");
    let second = w
        .management
        .ensure_container(&id, "manifests")
        .await
        .unwrap();
    assert!(matches!(second, Ensured::Unchanged(_)), "{second:?}");
    assert_eq!(w.cloud.request_count("storage.arm.container.put"), 1);
}

#[tokio::test]
async fn an_owner_without_a_blob_data_role_is_refused_as_azure_refuses_it() {
    let w = world("fluxbucket5").await;
    w.account_and_container().await;
    let dir = manifests();
    let err = w
        .buckets()
        .publish_dir("manifests", "clusters/dev/", dir.path(), false)
        .await
        .unwrap_err();
    assert_eq!(
        err.blob_code(),
        Some("AuthorizationPermissionMismatch"),
        "{err}"
    );
    assert!(
        err.to_string().contains("Storage Blob Data Contributor"),
        "{err}"
    );
    assert!(w.storage.blob_names("fluxbucket5", "manifests").is_empty());
}

#[tokio::test]
async fn a_reader_may_list_and_download_but_not_publish() {
    let w = world("fluxbucket6").await;
    w.account_and_container().await;
    w.grant("Storage Blob Data Reader");
    let buckets = w.buckets();
    assert!(buckets.list("manifests", "").await.unwrap().is_empty());
    let err = buckets
        .publish_dir("manifests", "", manifests().path(), false)
        .await
        .unwrap_err();
    assert_eq!(err.blob_code(), Some("AuthorizationPermissionMismatch"));
}

#[tokio::test]
async fn publish_uploads_the_tree_then_is_unchanged_and_prunes_what_left() {
    let w = world("fluxbucket7").await;
    w.account_and_container().await;
    w.grant("Storage Blob Data Contributor");
    let buckets = w.buckets();
    let dir = manifests();
    let first = buckets
        .publish_dir("manifests", "clusters/dev/", dir.path(), true)
        .await
        .unwrap();
    assert_eq!(
        first.uploaded,
        [
            "clusters/dev/apps/podinfo/deploy.yaml",
            "clusters/dev/kustomization.yaml"
        ]
    );
    // Names with '/' are stored as such (the SDK percent-encodes them in the URL).
    assert_eq!(
        w.storage
            .blob(
                "fluxbucket7",
                "manifests",
                "clusters/dev/apps/podinfo/deploy.yaml"
            )
            .unwrap(),
        b"kind: Deployment\n"
    );
    let listed = buckets.list("manifests", "clusters/dev/").await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|b| b.content_md5.is_some()));
    let second = buckets
        .publish_dir("manifests", "clusters/dev/", dir.path(), true)
        .await
        .unwrap();
    assert!(second.is_unchanged(), "{second:?}");
    assert_eq!(second.revision, first.revision);
    assert_eq!(w.cloud.request_count("storage.blob.put"), 2);

    std::fs::remove_file(dir.path().join("apps/podinfo/deploy.yaml")).unwrap();
    std::fs::write(dir.path().join("kustomization.yaml"), "resources: []\n").unwrap();
    let third = buckets
        .publish_dir("manifests", "clusters/dev/", dir.path(), true)
        .await
        .unwrap();
    assert_eq!(third.uploaded, ["clusters/dev/kustomization.yaml"]);
    assert_eq!(third.deleted, ["clusters/dev/apps/podinfo/deploy.yaml"]);
    assert_ne!(third.revision, first.revision);
    assert_eq!(
        buckets
            .download("manifests", "clusters/dev/kustomization.yaml")
            .await
            .unwrap(),
        b"resources: []\n"
    );
}

#[tokio::test]
async fn blobs_outside_the_prefix_are_never_pruned() {
    let w = world("fluxbucket8").await;
    w.account_and_container().await;
    w.grant("Storage Blob Data Contributor");
    let buckets = w.buckets();
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("keep.yaml"), "kind: Keep\n").unwrap();
    buckets
        .publish_dir("manifests", "clusters/prod/", other.path(), false)
        .await
        .unwrap();
    let report = buckets
        .publish_dir("manifests", "clusters/dev/", manifests().path(), true)
        .await
        .unwrap();
    assert!(report.deleted.is_empty());
    assert!(
        w.storage
            .blob("fluxbucket8", "manifests", "clusters/prod/keep.yaml")
            .is_some()
    );
}

#[tokio::test]
async fn a_role_takes_effect_only_after_the_propagation_delay() {
    let w = world("fluxbucket9").await;
    w.account_and_container().await;
    w.cloud
        .arm_kit()
        .set_role_propagation(std::time::Duration::from_secs(120));
    w.grant("Storage Blob Data Reader");
    let buckets = w.buckets();
    let err = buckets.list("manifests", "").await.unwrap_err();
    assert_eq!(err.blob_code(), Some("AuthorizationPermissionMismatch"));
    w.cloud
        .manual_clock()
        .unwrap()
        .advance(std::time::Duration::from_secs(121));
    assert!(buckets.list("manifests", "").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_plain_http_endpoint_is_refused_before_a_token_is_sent() {
    let cloud = FakeCloud::start().await;
    let err = BlobBuckets::with_endpoint(
        "http://127.0.0.1:10000/devstoreaccount1".parse().unwrap(),
        cloud.credential().unwrap(),
        &cloud.http_options(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("https"), "{err}");
}
