//! Storage accounts and blob containers through ARM (`Microsoft.Storage`, api-version
//! [`STORAGE_API_VERSION`]), the way `az storage account create --kind StorageV2 --sku Standard_LRS
//! --allow-blob-public-access false --allow-shared-key-access false` and `az storage container-rm create`
//! make them. An existing account or container is read, never modified: what does not suit Flux is a warning.
//!
//! Wire shapes: spec `specification/storage/resource-manager/Microsoft.Storage/stable/2025-06-01/storage.json`
//! (`StorageAccounts_Create`: a long-running PUT answering `202` with `Location` only, `final-state-via:
//! location`; `StorageAccounts_CheckNameAvailability`) and `blob.json` (`BlobContainers_Create`, synchronous
//! `201`/`200`), with their examples `StorageAccountCreate.json`, `BlobContainersPut.json`.

use crate::api::{
    EnsuredStorageAccount, Error, Result, StorageAccount, StorageAccountSpec, StorageAccounts,
    validate_container_name,
};
use async_trait::async_trait;
use azflux_core::arm::{ArmClient, Ensured, LroProgress, ResourceId};
use serde_json::{Value, json};
use std::time::Duration;

/// The `Microsoft.Storage` api-version used (newest stable).
pub const STORAGE_API_VERSION: &str = "2025-06-01";

/// How often an account found mid-provisioning (an earlier run crashed while creating it) is re-read, and
/// for how long at most.
const PROVISIONING_POLL: Duration = Duration::from_secs(10);
const PROVISIONING_MAX_WAIT: Duration = Duration::from_secs(30 * 60);

/// The ARM half: [`StorageAccounts`] over an [`ArmClient`].
#[derive(Debug, Clone)]
pub struct StorageManagement {
    arm: ArmClient,
}

impl StorageManagement {
    /// Storage management on `arm`.
    pub fn new(arm: ArmClient) -> Self {
        Self { arm }
    }

    fn parse(&self, body: &Value) -> Result<StorageAccount> {
        let s = |p: &str| body.pointer(p).and_then(Value::as_str).map(str::to_owned);
        let b = |p: &str| body.pointer(p).and_then(Value::as_bool);
        let (Some(id), Some(name)) = (s("/id"), s("/name")) else {
            return Err(azflux_core::Error::UnexpectedResponse {
                resource: "storage account".into(),
                message: "the body has no id or name".into(),
            }
            .into());
        };
        Ok(StorageAccount {
            id,
            name,
            location: s("/location").unwrap_or_default(),
            kind: s("/kind").unwrap_or_default(),
            sku: s("/sku/name").unwrap_or_default(),
            blob_endpoint: s("/properties/primaryEndpoints/blob").and_then(|u| u.parse().ok()),
            allow_shared_key_access: b("/properties/allowSharedKeyAccess"),
            allow_blob_public_access: b("/properties/allowBlobPublicAccess"),
            provisioning_state: s("/properties/provisioningState").unwrap_or_default(),
        })
    }

    /// `POST /subscriptions/{sub}/providers/Microsoft.Storage/checkNameAvailability`.
    async fn check_name(&self, spec: &StorageAccountSpec) -> Result<()> {
        let scope = format!(
            "/subscriptions/{}/providers/Microsoft.Storage",
            spec.subscription_id
        );
        let body = json!({"name": spec.name, "type": "Microsoft.Storage/storageAccounts"});
        let answer = self
            .arm
            .post_and_wait(
                &scope,
                "checkNameAvailability",
                STORAGE_API_VERSION,
                Some(&body),
                &|_| {},
            )
            .await?;
        if answer.body["nameAvailable"].as_bool() == Some(false) {
            return Err(Error::NameUnavailable {
                name: spec.name.clone(),
                reason: answer.body["reason"]
                    .as_str()
                    .unwrap_or("NotAvailable")
                    .into(),
                message: answer.body["message"]
                    .as_str()
                    .unwrap_or("the service gave no message")
                    .into(),
            });
        }
        Ok(())
    }

    fn create_body(spec: &StorageAccountSpec) -> Value {
        json!({
            "kind": "StorageV2",
            "sku": {"name": "Standard_LRS"},
            "location": spec.location,
            "tags": spec.tags,
            "properties": {
                "allowBlobPublicAccess": false,
                "allowSharedKeyAccess": spec.allow_shared_key_access,
                "defaultToOAuthAuthentication": !spec.allow_shared_key_access,
                "minimumTlsVersion": "TLS1_2",
                "supportsHttpsTrafficOnly": true,
                "accessTier": "Hot",
            },
        })
    }

    /// Waits (re-reading on the pipeline's clock) while an account found mid-provisioning finishes.
    async fn settle(&self, id: &str, mut account: StorageAccount) -> Result<StorageAccount> {
        let clock = self.arm.pipeline().clock().clone();
        let mut waited = Duration::ZERO;
        while !account.provisioning_state.eq_ignore_ascii_case("Succeeded") {
            if account.provisioning_state.eq_ignore_ascii_case("Failed") {
                return Err(Error::invalid(
                    format!("storage account {}", account.name),
                    "its provisioning failed; delete it (az storage account delete) or choose another name",
                ));
            }
            if waited >= PROVISIONING_MAX_WAIT {
                return Err(azflux_core::Error::OperationTimedOut {
                    resource: id.to_owned(),
                    waited,
                    last_status: account.provisioning_state.clone(),
                }
                .into());
            }
            clock.sleep(PROVISIONING_POLL).await;
            waited += PROVISIONING_POLL;
            let Some(read) = self.arm.get(id, STORAGE_API_VERSION).await? else {
                return Err(Error::invalid(
                    format!("storage account {}", account.name),
                    "it was deleted while it was being created; run again",
                ));
            };
            account = self.parse(&read.body)?;
        }
        Ok(account)
    }
}

#[async_trait]
impl StorageAccounts for StorageManagement {
    async fn get_account(&self, id: &ResourceId) -> Result<Option<StorageAccount>> {
        match self.arm.get(&id.to_string(), STORAGE_API_VERSION).await? {
            Some(read) => Ok(Some(self.parse(&read.body)?)),
            None => Ok(None),
        }
    }

    async fn ensure_account(
        &self,
        spec: &StorageAccountSpec,
        progress: &(dyn for<'p> Fn(&'p LroProgress) + Send + Sync + 'static),
    ) -> Result<EnsuredStorageAccount> {
        spec.validate()?;
        let id = spec.resource_id();
        if let Some(existing) = self.get_account(&id).await? {
            let account = self.settle(&id.to_string(), existing).await?;
            return Ok(EnsuredStorageAccount {
                warnings: account.warnings(spec),
                account,
                created: false,
            });
        }
        self.check_name(spec).await?;
        let created = self
            .arm
            .put_and_wait(
                &id.to_string(),
                STORAGE_API_VERSION,
                &Self::create_body(spec),
                progress,
            )
            .await?;
        // `final-state-via: location`: the last poll answers the account; a body-less end is read back.
        let account = if created.body.get("id").is_some() {
            self.parse(&created.body)?
        } else {
            self.get_account(&id).await?.ok_or_else(|| {
                Error::invalid(
                    format!("storage account {}", spec.name),
                    "it was not found right after its creation finished; run again",
                )
            })?
        };
        Ok(EnsuredStorageAccount {
            warnings: account.warnings(spec),
            account,
            created: true,
        })
    }

    async fn ensure_container(
        &self,
        account: &ResourceId,
        container: &str,
    ) -> Result<Ensured<String>> {
        validate_container_name(container)?;
        let id = account
            .child("blobServices", "default")
            .child("containers", container)
            .to_string();
        if self.arm.get(&id, STORAGE_API_VERSION).await?.is_some() {
            return Ok(Ensured::Unchanged(id));
        }
        let body = json!({"properties": {"publicAccess": "None"}});
        self.arm
            .put_and_wait(&id, STORAGE_API_VERSION, &body, &|_| {})
            .await?;
        Ok(Ensured::Created(id))
    }
}
