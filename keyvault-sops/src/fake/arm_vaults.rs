//! The ARM side of [`FakeKeyVault`]: `Microsoft.KeyVault/vaults` PUT / GET / DELETE on the fake cloud's shared
//! ARM server, stateful and strict.
//!
//! - Every call goes through [`FakeCloud::arm_call`] first: `api-version` required
//!   (`MissingApiVersionParameter`), an ARM bearer token, ARM throttling, injected faults.
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
//! - GET of an unknown vault: `404 ResourceNotFound` with ARM's message. DELETE soft-deletes (`200`); a
//!   missing vault is `204`.
//!
//! Route names: `keyvault.arm.vault.put`, `keyvault.arm.vault.get`, `keyvault.arm.vault.delete`.

use super::FakeKeyVault;
use azflux_core::fake::FakeCloud;
use azflux_core::fake::arm::arm_error;
use azflux_core::fake::request::FakeRequest;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use time::OffsetDateTime;
use wiremock::ResponseTemplate;

const VAULT: &str =
    r"(?i)^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/Microsoft\.KeyVault/vaults/[^/]+$";

#[derive(Debug, Clone)]
struct Entry {
    subscription: String,
    resource_group: String,
    body: Value,
    registered_at: OffsetDateTime,
    failure: Option<(String, String)>,
}

#[derive(Debug, Clone)]
struct Deleted {
    subscription: String,
    entry: Entry,
}

/// The ARM model: vaults by lower-case name (names are global).
#[derive(Debug)]
pub(super) struct ArmModel {
    vaults: BTreeMap<String, Entry>,
    deleted: BTreeMap<String, Deleted>,
    fail_next_create: Option<(String, String)>,
    registration: Duration,
}

impl Default for ArmModel {
    fn default() -> Self {
        Self {
            vaults: BTreeMap::new(),
            deleted: BTreeMap::new(),
            fail_next_create: None,
            registration: Duration::from_secs(10),
        }
    }
}

fn vault_id(subscription: &str, resource_group: &str, name: &str) -> String {
    format!(
        "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.KeyVault/vaults/{name}"
    )
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

fn bad_request(message: &str) -> ResponseTemplate {
    arm_error(400, "BadRequest", message)
}

fn already_exists(name: &str) -> ResponseTemplate {
    arm_error(
        409,
        "VaultAlreadyExists",
        &format!(
            "The vault name '{name}' is already in use. Vault names are globally unique so it is possible that the name is already taken. If you are sure that the vault name was not taken then it is possible that a vault with the same name was recently deleted but not purged after being placed in a recoverable state. If the vault is in a recoverable state then the vault will need to be purged before reusing the name. For more information about VaultAlreadyExists, soft delete and purging a vault follow this link https://go.microsoft.com/fwlink/?linkid=2147740."
        ),
    )
}

impl Entry {
    /// The body as a GET shows it at `now`.
    fn view(&self, now: OffsetDateTime) -> Value {
        let mut body = self.body.clone();
        if now < self.registered_at {
            body["properties"]["provisioningState"] = json!("RegisteringDns");
        } else if let Some((code, message)) = &self.failure {
            body["properties"]["provisioningState"] = json!("Failed");
            body["properties"]["error"] = json!({"code": code, "message": message});
        } else {
            body["properties"]["provisioningState"] = json!("Succeeded");
        }
        body
    }

    fn is_at(&self, subscription: &str, resource_group: &str) -> bool {
        self.subscription.eq_ignore_ascii_case(subscription)
            && self.resource_group.eq_ignore_ascii_case(resource_group)
    }
}

/// (subscription, resource group, name) of a vault path.
fn parts(path: &str) -> (String, String, String) {
    let segments: Vec<&str> = path.split('/').collect();
    let get = |i: usize| segments.get(i).copied().unwrap_or_default().to_owned();
    (get(2), get(4), get(8))
}

impl FakeKeyVault {
    /// Mounts the ARM routes on the cloud's ARM server (called by [`FakeKeyVault::mount`]).
    pub(super) async fn mount_arm(&self, cloud: &FakeCloud) {
        let server = cloud.arm_server().await;
        let routes: [(&str, &str); 3] = [
            ("keyvault.arm.vault.put", "PUT"),
            ("keyvault.arm.vault.get", "GET"),
            ("keyvault.arm.vault.delete", "DELETE"),
        ];
        for (route, method) in routes {
            let (fake, c) = (self.clone(), cloud.clone());
            cloud
                .mount(&server, route, method, VAULT, move |r| {
                    let call = match c.arm_call(r) {
                        Ok(call) => call,
                        Err(e) => return e,
                    };
                    let answer = match r.method().as_str() {
                        "PUT" => fake.arm_put(r),
                        "GET" => fake.arm_get(r),
                        _ => fake.arm_delete(r),
                    };
                    call.respond(answer)
                })
                .await;
        }
    }

    fn arm_model(&self) -> std::sync::MutexGuard<'_, ArmModel> {
        self.arm
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn arm_get(&self, r: &FakeRequest<'_>) -> ResponseTemplate {
        let (sub, rg, name) = parts(r.path());
        let model = self.arm_model();
        match model
            .vaults
            .get(&name.to_ascii_lowercase())
            .filter(|e| e.is_at(&sub, &rg))
        {
            Some(entry) => ResponseTemplate::new(200).set_body_json(entry.view(self.now())),
            None => not_found(&rg, &name),
        }
    }

    fn arm_delete(&self, r: &FakeRequest<'_>) -> ResponseTemplate {
        let (sub, rg, name) = parts(r.path());
        let key = name.to_ascii_lowercase();
        let mut model = self.arm_model();
        match model.vaults.get(&key).filter(|e| e.is_at(&sub, &rg)) {
            Some(_) => {
                if let Some(entry) = model.vaults.remove(&key) {
                    model.deleted.insert(
                        key,
                        Deleted {
                            subscription: entry.subscription.clone(),
                            entry,
                        },
                    );
                }
                ResponseTemplate::new(200)
            }
            None => ResponseTemplate::new(204),
        }
    }

    fn arm_put(&self, r: &FakeRequest<'_>) -> ResponseTemplate {
        let (sub, rg, name) = parts(r.path());
        if !name_ok(&name) {
            return arm_error(
                400,
                "VaultNameNotValid",
                &format!(
                    "The vault name '{name}' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens. Follow this link for more information: https://go.microsoft.com/fwlink/?linkid=2147742"
                ),
            );
        }
        let Some(request) = r.json().filter(Value::is_object) else {
            return arm_error(
                400,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: the body is not a JSON object.",
            );
        };
        let Some(location) = request["location"].as_str().filter(|l| !l.is_empty()) else {
            return arm_error(
                400,
                "LocationRequired",
                "The location property is required for this definition.",
            );
        };
        let props = &request["properties"];
        let Some(tenant) = props["tenantId"].as_str() else {
            return bad_request("The parameter tenantId is not specified.");
        };
        if !is_guid(tenant) {
            return bad_request("Bad JSON content found in the request.");
        }
        if !props["sku"].is_object() {
            return bad_request("The parameter sku is not specified.");
        }
        match props["sku"]["family"].as_str() {
            None => return bad_request("The parameter sku.family is not specified."),
            Some("A") => {}
            Some(other) => {
                return bad_request(&format!(
                    "The value '{other}' of parameter sku.family is invalid. The allowed value is 'A'."
                ));
            }
        }
        let sku = props["sku"]["name"].as_str().unwrap_or_default();
        if !sku.eq_ignore_ascii_case("standard") && !sku.eq_ignore_ascii_case("premium") {
            return bad_request(&format!(
                "The value '{sku}' of parameter sku.name is invalid. The allowed values are 'standard' and 'premium'."
            ));
        }
        let retention = props["softDeleteRetentionInDays"].as_u64().unwrap_or(90);
        if !(7..=90).contains(&retention) {
            return bad_request(&format!(
                "The value '{retention}' of parameter softDeleteRetentionInDays is invalid. It must be between 7 and 90."
            ));
        }
        let rbac = props["enableRbacAuthorization"].as_bool().unwrap_or(false);
        let recover = props["createMode"]
            .as_str()
            .is_some_and(|m| m.eq_ignore_ascii_case("recover"));
        let key = name.to_ascii_lowercase();
        let now = self.now();
        let mut model = self.arm_model();
        let registration = time::Duration::try_from(model.registration).unwrap_or_default();

        if let Some(existing) = model.vaults.get_mut(&key) {
            if !existing.is_at(&sub, &rg) {
                return already_exists(&name);
            }
            // An update of the vault: synchronous, the request's properties over the stored ones.
            if let (Some(stored), Some(new)) = (
                existing.body["properties"].as_object_mut(),
                props.as_object(),
            ) {
                for (k, v) in new {
                    if k != "vaultUri" && k != "provisioningState" && k != "createMode" {
                        stored.insert(k.clone(), v.clone());
                    }
                }
            }
            existing.body["location"] = json!(location);
            if let Some(tags) = request.get("tags") {
                existing.body["tags"] = tags.clone();
            }
            existing.failure = None;
            return ResponseTemplate::new(200).set_body_json(existing.view(now));
        }

        if let Some(deleted) = model.deleted.get(&key) {
            if !deleted.subscription.eq_ignore_ascii_case(&sub) {
                return already_exists(&name);
            }
            if !recover {
                return arm_error(
                    409,
                    "ConflictError",
                    "A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault. Follow this link https://go.microsoft.com/fwlink/?linkid=2149745 for more information on soft delete.",
                );
            }
            let Some(deleted) = model.deleted.remove(&key) else {
                return arm_error(500, "InternalServerError", "the deleted vault vanished");
            };
            let mut entry = deleted.entry;
            entry.resource_group = rg.clone();
            entry.body["id"] = json!(vault_id(&sub, &rg, &entry_name(&entry.body, &name)));
            entry.registered_at = now + registration;
            entry.failure = None;
            let view = entry.view(now);
            model.vaults.insert(key, entry);
            return ResponseTemplate::new(200).set_body_json(view);
        }
        if recover {
            return arm_error(
                404,
                "SoftDeletedVaultDoesNotExist",
                &format!(
                    "A soft deleted vault with the name '{name}' does not exist in subscription '{sub}'. Ensure the vault to recover is in a recoverable state, or create it without createMode 'recover'. For more information see https://go.microsoft.com/fwlink/?linkid=2149745"
                ),
            );
        }
        if !rbac && !props["accessPolicies"].is_array() {
            return bad_request("The parameter accessPolicies is not specified.");
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
        let body = json!({
            "id": vault_id(&sub, &rg, &name),
            "name": name,
            "type": "Microsoft.KeyVault/vaults",
            "location": location,
            "tags": request.get("tags").cloned().unwrap_or(json!({})),
            "properties": properties,
        });
        let entry = Entry {
            subscription: sub,
            resource_group: rg,
            body,
            registered_at: now + registration,
            failure: model.fail_next_create.take(),
        };
        let view = entry.view(now);
        model.vaults.insert(key, entry);
        ResponseTemplate::new(201).set_body_json(view)
    }

    /// The vault named `name` (in any subscription) as a GET would show it now; `None` when there is none
    /// (soft-deleted vaults are not shown).
    pub fn arm_vault(&self, name: &str) -> Option<Value> {
        let now = self.now();
        self.arm_model()
            .vaults
            .get(&name.to_ascii_lowercase())
            .map(|e| e.view(now))
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
            "id": vault_id(subscription, resource_group, name),
            "name": name,
            "type": "Microsoft.KeyVault/vaults",
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
        let entry = Entry {
            subscription: subscription.to_owned(),
            resource_group: resource_group.to_owned(),
            body: body.clone(),
            registered_at: OffsetDateTime::UNIX_EPOCH,
            failure: None,
        };
        let mut model = self.arm_model();
        model.deleted.remove(&name.to_ascii_lowercase());
        model.vaults.insert(name.to_ascii_lowercase(), entry);
        body
    }

    /// Changes a stored vault (e.g. `|v| v["properties"]["publicNetworkAccess"] = "Disabled".into()`);
    /// `false` when there is no such vault. The provisioning state is still computed on each GET.
    pub fn update_arm_vault(&self, name: &str, change: impl FnOnce(&mut Value)) -> bool {
        match self.arm_model().vaults.get_mut(&name.to_ascii_lowercase()) {
            Some(entry) => {
                change(&mut entry.body);
                true
            }
            None => false,
        }
    }

    /// Soft-deletes a vault as a DELETE would; `false` when there is none.
    pub fn soft_delete_arm_vault(&self, name: &str) -> bool {
        let key = name.to_ascii_lowercase();
        let mut model = self.arm_model();
        match model.vaults.remove(&key) {
            Some(entry) => {
                model.deleted.insert(
                    key,
                    Deleted {
                        subscription: entry.subscription.clone(),
                        entry,
                    },
                );
                true
            }
            None => false,
        }
    }

    /// Purges a soft-deleted vault (frees its name); `false` when there is none.
    pub fn purge_arm_vault(&self, name: &str) -> bool {
        self.arm_model()
            .deleted
            .remove(&name.to_ascii_lowercase())
            .is_some()
    }

    /// Names of the soft-deleted vaults, lower-case.
    pub fn deleted_arm_vaults(&self) -> Vec<String> {
        self.arm_model().deleted.keys().cloned().collect()
    }

    /// The next vault create ends in provisioning state `Failed` with this code and message (after the
    /// registration time).
    pub fn fail_next_arm_vault_create(&self, code: &str, message: &str) {
        self.arm_model().fail_next_create = Some((code.to_owned(), message.to_owned()));
    }

    /// How long, on the cloud's clock, a created or recovered vault stays `RegisteringDns` (default 10 s).
    pub fn set_arm_registration_time(&self, time: Duration) {
        self.arm_model().registration = time;
    }
}

fn entry_name(body: &Value, fallback: &str) -> String {
    body["name"].as_str().unwrap_or(fallback).to_owned()
}

fn not_found(resource_group: &str, name: &str) -> ResponseTemplate {
    arm_error(
        404,
        "ResourceNotFound",
        &format!(
            "The Resource 'Microsoft.KeyVault/vaults/{name}' under resource group '{resource_group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}
