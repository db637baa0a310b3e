//! The ARM side of [`FakeKeyVault`]: `Microsoft.KeyVault/vaults` as hooks on the fake cloud's
//! [ARM kit](azflux_core::fake::arm_kit), which does the routing (any case), `api-version` (the versions of
//! Microsoft.KeyVault, else `400 NoRegisteredProviderFound`), the ARM bearer token, throttling, injected
//! faults, lists by resource group and subscription, and `ResourceNotFound`.
//!
//! - PUT validates like the Key Vault resource provider: the name (`400 VaultNameNotValid`, the service's
//!   message), a JSON body (`400 InvalidRequestContent`), `location` (`400 LocationRequired`),
//!   `properties.tenantId` (missing: `400 BadRequest` "The parameter tenantId is not specified."; not a GUID:
//!   `400 BadRequest` "Bad JSON content found in the request.", as observed in Azure/azure-cli#8840),
//!   `properties.sku` (family `A`, name `standard`|`premium`; `400 BadRequest`), `softDeleteRetentionInDays`
//!   7-90, and `accessPolicies` when the vault is not in RBAC mode ("The parameter accessPolicies is not
//!   specified.", observed in Azure/azure-sdk-for-net#28677). The `BadRequest` wording for tenantId / sku /
//!   retention is inferred from that pattern.
//! - A create answers `201` with the vault (`vaultUri` `https://<name>.vault.azure.net/`) in provisioning
//!   state `RegisteringDns`; GETs report `RegisteringDns` until the cloud's clock has moved the registration
//!   time (default 10 s, [`FakeKeyVault::set_arm_registration_time`]) past the create, then `Succeeded` —
//!   time-based, not poll-counted. [`FakeKeyVault::fail_next_arm_vault_create`] makes the next create end in
//!   `Failed` instead, with `properties.error {code, message}` (the poller reads it there; the real service
//!   gives no details on the resource — inferred).
//! - Names are one global namespace: a PUT of a name live (or soft-deleted) in another subscription or
//!   resource group is `409 VaultAlreadyExists` with the service's message; a PUT of a name soft-deleted in
//!   the same subscription without `createMode: "recover"` is `409 ConflictError` "A vault with the same name
//!   already exists in deleted state…"; with it, the deleted vault comes back with its old properties (the
//!   service ignores the request's, Azure/azure-rest-api-specs#21306); `recover` with nothing to recover is
//!   `404 SoftDeletedVaultDoesNotExist` (status inferred).
//! - A PUT of an existing vault (same id) updates its properties synchronously (`200`).
//! - DELETE soft-deletes (`200`), as does deleting its resource group; a missing vault is `204`.
//!
//! Route names: `keyvault.arm.vault.put`, `keyvault.arm.vault.get`, `keyvault.arm.vault.delete`,
//! `keyvault.arm.vault.list`.

use super::FakeKeyVault;
use azflux_core::fake::FakeCloud;
use azflux_core::fake::arm_kit::path::id_key;
use azflux_core::fake::arm_kit::{ArmError, ArmKit, Ctx, Hooks, Resource, ResourceType};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;

const TYPE: &str = "Microsoft.KeyVault/vaults";
const TYPE_KEY: &str = "microsoft.keyvault/vaults";

#[derive(Debug, Clone)]
struct Deleted {
    subscription: String,
    body: Value,
}

#[derive(Debug)]
struct Model {
    /// Soft-deleted vaults by lower-case name.
    deleted: BTreeMap<String, Deleted>,
    /// Lower-case name → end of its DNS registration.
    registered_at: HashMap<String, OffsetDateTime>,
    /// Lower-case name → the failure its create ends in.
    failures: HashMap<String, (String, String)>,
    fail_next_create: Option<(String, String)>,
    registration: Duration,
}

/// The vault type's hooks and the soft-deleted vaults.
#[derive(Debug)]
pub struct VaultHooks {
    kit: ArmKit,
    model: Mutex<Model>,
}

impl VaultHooks {
    /// The hooks for `cloud`'s kit.
    pub(super) fn new(cloud: &FakeCloud) -> Arc<Self> {
        Arc::new(Self {
            kit: cloud.arm_kit(),
            model: Mutex::new(Model {
                deleted: BTreeMap::new(),
                registered_at: HashMap::new(),
                failures: HashMap::new(),
                fail_next_create: None,
                registration: Duration::from_secs(10),
            }),
        })
    }

    fn model(&self) -> MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The id of the live vault named `name` (any case), wherever it is.
    fn find(&self, name: &str) -> Option<String> {
        self.kit.find_id_by_name(TYPE, name)
    }
}

/// The service's name rule.
fn name_ok(name: &str) -> bool {
    (3..=24).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && !name.ends_with('-')
        && !name.contains("--")
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn bad_request(message: &str) -> ArmError {
    ArmError::bad_request("BadRequest", message)
}

fn already_exists(name: &str) -> ArmError {
    ArmError::conflict(
        "VaultAlreadyExists",
        format!(
            "The vault name '{name}' is already in use. Vault names are globally unique so it is possible that the name is already taken. If you are sure that the vault name was not taken then it is possible that a vault with the same name was recently deleted but not purged after being placed in a recoverable state. If the vault is in a recoverable state then the vault will need to be purged before reusing the name. For more information about VaultAlreadyExists, soft delete and purging a vault follow this link https://go.microsoft.com/fwlink/?linkid=2147740."
        ),
    )
}

fn lower_name(body: &Value) -> String {
    body["name"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

impl Hooks for VaultHooks {
    fn put(&self, ctx: &mut Ctx<'_>, request: Value) -> Result<Value, ArmError> {
        let name = ctx.path.name().to_owned();
        let (sub, rg) = (
            ctx.path.subscription.clone(),
            ctx.path.resource_group.clone().unwrap_or_default(),
        );
        if !name_ok(&name) {
            return Err(ArmError::bad_request(
                "VaultNameNotValid",
                format!(
                    "The vault name '{name}' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens. Follow this link for more information: https://go.microsoft.com/fwlink/?linkid=2147742"
                ),
            ));
        }
        if !request.is_object() {
            return Err(ArmError::bad_request(
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: the body is not a JSON object.",
            ));
        }
        let Some(location) = request["location"].as_str().filter(|l| !l.is_empty()) else {
            return Err(ArmError::bad_request(
                "LocationRequired",
                "The location property is required for this definition.",
            ));
        };
        let props = &request["properties"];
        let Some(tenant) = props["tenantId"].as_str() else {
            return Err(bad_request("The parameter tenantId is not specified."));
        };
        if !is_guid(tenant) {
            return Err(bad_request("Bad JSON content found in the request."));
        }
        if !props["sku"].is_object() {
            return Err(bad_request("The parameter sku is not specified."));
        }
        match props["sku"]["family"].as_str() {
            None => return Err(bad_request("The parameter sku.family is not specified.")),
            Some("A") => {}
            Some(other) => {
                return Err(bad_request(&format!(
                    "The value '{other}' of parameter sku.family is invalid. The allowed value is 'A'."
                )));
            }
        }
        let sku = props["sku"]["name"].as_str().unwrap_or_default();
        if !sku.eq_ignore_ascii_case("standard") && !sku.eq_ignore_ascii_case("premium") {
            return Err(bad_request(&format!(
                "The value '{sku}' of parameter sku.name is invalid. The allowed values are 'standard' and 'premium'."
            )));
        }
        let retention = props["softDeleteRetentionInDays"].as_u64().unwrap_or(90);
        if !(7..=90).contains(&retention) {
            return Err(bad_request(&format!(
                "The value '{retention}' of parameter softDeleteRetentionInDays is invalid. It must be between 7 and 90."
            )));
        }
        let rbac = props["enableRbacAuthorization"].as_bool().unwrap_or(false);
        let recover = props["createMode"]
            .as_str()
            .is_some_and(|m| m.eq_ignore_ascii_case("recover"));
        let key = name.to_ascii_lowercase();
        let now = ctx.now;
        // Names are global: a live vault of that name elsewhere holds it.
        let own = ctx.key();
        if ctx
            .state
            .of_type(TYPE_KEY)
            .any(|r| lower_name(&r.body) == key && id_key(&r.id) != own)
        {
            return Err(already_exists(&name));
        }
        let mut model = self.model();
        let registration = model.registration;
        if let Some(existing) = ctx.existing() {
            // An update of the vault: synchronous, the request's properties over the stored ones.
            let mut body = existing.body.clone();
            if let (Some(stored), Some(new)) =
                (body["properties"].as_object_mut(), props.as_object())
            {
                for (k, v) in new {
                    if k != "vaultUri" && k != "provisioningState" && k != "createMode" {
                        stored.insert(k.clone(), v.clone());
                    }
                }
            }
            body["location"] = json!(location);
            if let Some(tags) = request.get("tags") {
                body["tags"] = tags.clone();
            }
            model.failures.remove(&key);
            return Ok(body);
        }
        if let Some(deleted) = model.deleted.get(&key) {
            if !deleted.subscription.eq_ignore_ascii_case(&sub) {
                return Err(already_exists(&name));
            }
            if !recover {
                return Err(ArmError::conflict(
                    "ConflictError",
                    "A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault. Follow this link https://go.microsoft.com/fwlink/?linkid=2149745 for more information on soft delete.",
                ));
            }
            let Some(deleted) = model.deleted.remove(&key) else {
                return Err(ArmError::new(
                    500,
                    "InternalServerError",
                    "the deleted vault vanished",
                ));
            };
            let mut body = deleted.body;
            let kept = body["name"].as_str().unwrap_or(&name).to_owned();
            body["id"] = json!(format!(
                "/subscriptions/{sub}/resourceGroups/{rg}/providers/{TYPE}/{kept}"
            ));
            model.registered_at.insert(key.clone(), now + registration);
            model.failures.remove(&key);
            // A recovery answers 200, as an update does.
            ctx.status = Some(200);
            return Ok(body);
        }
        if recover {
            return Err(ArmError::new(
                404,
                "SoftDeletedVaultDoesNotExist",
                format!(
                    "A soft deleted vault with the name '{name}' does not exist in subscription '{sub}'. Ensure the vault to recover is in a recoverable state, or create it without createMode 'recover'. For more information see https://go.microsoft.com/fwlink/?linkid=2149745"
                ),
            ));
        }
        if !rbac && !props["accessPolicies"].is_array() {
            return Err(bad_request(
                "The parameter accessPolicies is not specified.",
            ));
        }
        let mut properties = json!({
            "sku": {"family": "A", "name": sku.to_ascii_lowercase()},
            "tenantId": tenant,
            "accessPolicies": props.get("accessPolicies").cloned().unwrap_or(json!([])),
            "enabledForDeployment": props["enabledForDeployment"].as_bool().unwrap_or(false),
            "enabledForDiskEncryption": props["enabledForDiskEncryption"].as_bool().unwrap_or(false),
            "enabledForTemplateDeployment": props["enabledForTemplateDeployment"].as_bool().unwrap_or(false),
            "enableSoftDelete": true,
            "softDeleteRetentionInDays": retention,
            "enableRbacAuthorization": rbac,
            "vaultUri": format!("https://{key}.vault.azure.net/"),
            "provisioningState": "RegisteringDns",
            "publicNetworkAccess": props["publicNetworkAccess"].as_str().unwrap_or("Enabled"),
        });
        if props["enablePurgeProtection"].as_bool() == Some(true) {
            properties["enablePurgeProtection"] = json!(true);
        }
        if let Some(acls) = props.get("networkAcls") {
            properties["networkAcls"] = acls.clone();
        }
        model.registered_at.insert(key.clone(), now + registration);
        if let Some(failure) = model.fail_next_create.take() {
            model.failures.insert(key.clone(), failure);
        } else {
            model.failures.remove(&key);
        }
        Ok(json!({
            "id": ctx.id(),
            "name": name,
            "type": TYPE,
            "location": location,
            "tags": request.get("tags").cloned().unwrap_or(json!({})),
            "properties": properties,
        }))
    }

    fn view(&self, body: &Value, now: OffsetDateTime) -> Value {
        let mut body = body.clone();
        let key = lower_name(&body);
        let model = self.model();
        if model.registered_at.get(&key).is_some_and(|at| now < *at) {
            body["properties"]["provisioningState"] = json!("RegisteringDns");
        } else if let Some((code, message)) = model.failures.get(&key) {
            body["properties"]["provisioningState"] = json!("Failed");
            body["properties"]["error"] = json!({"code": code, "message": message});
        } else {
            body["properties"]["provisioningState"] = json!("Succeeded");
        }
        body
    }

    /// A deleted vault (or one in a deleted resource group) is soft-deleted: its name stays held.
    fn removed(&self, _kit: &ArmKit, resource: &Resource) {
        self.model().deleted.insert(
            lower_name(&resource.body),
            Deleted {
                subscription: resource.subscription.clone(),
                body: resource.body.clone(),
            },
        );
    }
}

impl FakeKeyVault {
    /// Registers the vault type on the cloud's ARM kit (called by [`FakeKeyVault::mount`]).
    pub(super) async fn mount_arm(&self, cloud: &FakeCloud) {
        cloud.arm_kit().register(ResourceType::new(
            TYPE,
            "keyvault.arm.vault",
            self.arm.clone(),
        ));
    }

    /// The vault named `name` (in any subscription) as a GET would show it now; `None` when there is none
    /// (soft-deleted vaults are not shown).
    pub fn arm_vault(&self, name: &str) -> Option<Value> {
        let id = self.arm.find(name)?;
        self.arm.kit.resource(&id)
    }

    /// Adds a vault that already exists (provisioned: `Succeeded`), in `westeurope`, in the sandbox tenant,
    /// with public network access, in RBAC mode or (`rbac: false`) with one access policy for the sandbox
    /// principal. Returns its body. Replaces a vault of the same name.
    pub fn add_arm_vault(
        &self,
        subscription: &str,
        resource_group: &str,
        name: &str,
        rbac: bool,
    ) -> Value {
        let access_policies = if rbac {
            json!([])
        } else {
            json!([{"tenantId": self.tenant, "objectId": self.sandbox_oid, "permissions": {"keys": ["get", "list", "create", "encrypt", "decrypt"], "secrets": [], "certificates": []}}])
        };
        let body = json!({
            "id": format!("/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/{TYPE}/{name}"),
            "name": name,
            "type": TYPE,
            "location": "westeurope",
            "tags": {},
            "properties": {
                "sku": {"family": "A", "name": "standard"},
                "tenantId": self.tenant,
                "accessPolicies": access_policies,
                "enabledForDeployment": false,
                "enabledForDiskEncryption": false,
                "enabledForTemplateDeployment": false,
                "enableSoftDelete": true,
                "softDeleteRetentionInDays": 90,
                "enableRbacAuthorization": rbac,
                "vaultUri": format!("https://{}.vault.azure.net/", name.to_ascii_lowercase()),
                "provisioningState": "Succeeded",
                "publicNetworkAccess": "Enabled",
            },
        });
        if let Some(old) = self.arm.find(name) {
            self.arm.kit.remove(&old);
        }
        {
            let key = name.to_ascii_lowercase();
            let mut model = self.arm.model();
            model.deleted.remove(&key);
            model.registered_at.remove(&key);
            model.failures.remove(&key);
        }
        // The id is well formed and the type registered: the insert cannot fail.
        let _ = self.arm.kit.insert(body.clone());
        body
    }

    /// Changes a stored vault (e.g. `|v| v["properties"]["publicNetworkAccess"] = "Disabled".into()`);
    /// `false` when there is no such vault. The provisioning state is still computed on each GET.
    pub fn update_arm_vault(&self, name: &str, change: impl FnOnce(&mut Value)) -> bool {
        match self.arm.find(name) {
            Some(id) => self.arm.kit.update(&id, change),
            None => false,
        }
    }

    /// Soft-deletes a vault as a DELETE would; `false` when there is none.
    pub fn soft_delete_arm_vault(&self, name: &str) -> bool {
        let Some(id) = self.arm.find(name) else {
            return false;
        };
        let Some(body) = self.arm.kit.resource(&id) else {
            return false;
        };
        self.arm.kit.remove(&id);
        let subscription = id
            .split('/')
            .nth(2)
            .unwrap_or_default()
            .to_ascii_lowercase();
        self.arm
            .model()
            .deleted
            .insert(name.to_ascii_lowercase(), Deleted { subscription, body });
        true
    }

    /// Purges a soft-deleted vault (frees its name); `false` when there is none.
    pub fn purge_arm_vault(&self, name: &str) -> bool {
        self.arm
            .model()
            .deleted
            .remove(&name.to_ascii_lowercase())
            .is_some()
    }

    /// Names of the soft-deleted vaults, lower-case.
    pub fn deleted_arm_vaults(&self) -> Vec<String> {
        self.arm.model().deleted.keys().cloned().collect()
    }

    /// The next vault create ends in provisioning state `Failed` with this code and message (after the
    /// registration time).
    pub fn fail_next_arm_vault_create(&self, code: &str, message: &str) {
        self.arm.model().fail_next_create = Some((code.to_owned(), message.to_owned()));
    }

    /// How long, on the cloud's clock, a created or recovered vault stays `RegisteringDns` (default 10 s).
    pub fn set_arm_registration_time(&self, time: Duration) {
        self.arm.model().registration = time;
    }
}
