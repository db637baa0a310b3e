//! The ARM side of [`FakeAcr`]: `Microsoft.ContainerRegistry/registries` as hooks on the fake cloud's
//! [ARM kit](azflux_core::fake::arm_kit), which does the routing (any case), the api-versions of
//! Microsoft.ContainerRegistry (else `400 NoRegisteredProviderFound`), lists by resource group and
//! subscription, the long-running create and the operation-status resource.
//!
//! Routes (counted under these names by [`FakeCloud::request_count`](azflux_core::fake::FakeCloud::request_count)):
//!
//! | route | request |
//! |---|---|
//! | `acr.arm.registry.put` | `PUT …/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{name}` |
//! | `acr.arm.registry.get` | `GET` of the same |
//! | `acr.arm.registry.delete` | `DELETE` of the same (`200` when it existed, `204` when not) |
//! | `acr.arm.registry.list` | `GET …[/resourceGroups/{rg}]/providers/Microsoft.ContainerRegistry/registries` |
//! | `acr.arm.operation` | `GET` of the `Azure-AsyncOperation` URL (`…/locations/{loc}/operationStatuses/{id}`) |
//! | `acr.arm.check_name` | `POST /subscriptions/{sub}/providers/Microsoft.ContainerRegistry/checkNameAvailability` |
//!
//! PUT of a new registry validates the name (`400 ResourceNameInvalid`, the message ARM gives [obs
//! microsoft/GitHub-Copilot-for-Azure#867]), `location` (`400 LocationRequired`) and `sku.name`
//! (`400 InvalidRequestContent` when missing or not Basic/Standard/Premium [inf]); a name held by a registry in
//! another subscription or resource group is `409 AlreadyInUse` with ACR's message [obs
//! MicrosoftDocs/azure-dev-docs#1303]. A new registry is answered `201` with the body in provisioning state
//! `Creating`, `Azure-AsyncOperation` and `Retry-After: 10`, as spec `Registries_Create` (2025-11-01,
//! `final-state-via: azure-async-operation`) describes. The operation ends once the **fake clock** has moved
//! [`DEFAULT_CREATE_DURATION`] (20 s, i.e. two 10 s polls) past the PUT
//! ([`FakeAcr::set_registry_create_duration`]): `Succeeded` (the registry turns `Succeeded`), or `Failed` with
//! the code and message given to [`FakeAcr::fail_next_registry_create`] (the registry is then removed and the
//! name released). A PUT on an existing registry of the same resource group updates it in place (`200`, no
//! operation), or is `409 AnotherOperationInProgress` [inf] while it is still being created.
//!
//! `checkNameAvailability` answers as the spec examples: `{"nameAvailable": true}`, or `false` with reason
//! `AlreadyExists` and "The registry {name} is already in use.", or reason `Invalid` for a malformed name.

use super::FakeAcr;
use azflux_core::fake::arm_kit::{Answer, ArmError, Ctx, Hooks, ResourceType, rfc3339};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long (on the fake clock) a registry creation takes by default.
pub const DEFAULT_CREATE_DURATION: Duration = Duration::from_secs(20);

/// The api-versions of Microsoft.ContainerRegistry the fake serves (those of the REST specs, with the
/// previews az CLI sends).
pub const SUPPORTED_API_VERSIONS: &[&str] =
    azflux_core::fake::arm_kit::versions::CONTAINER_REGISTRY;

const TYPE: &str = "Microsoft.ContainerRegistry/registries";
const TYPE_KEY: &str = "microsoft.containerregistry/registries";
const NAME_RULE: &str = "Resource names may contain alpha numeric characters only and must be between 5 and 50 characters.";
const SKUS: [&str; 3] = ["Basic", "Standard", "Premium"];

#[derive(Debug)]
struct Knobs {
    fail_next: Option<(String, String)>,
    create_duration: Duration,
}

/// The registry type's hooks (its knobs behind a mutex).
#[derive(Debug)]
pub struct RegistryHooks {
    login_suffix: String,
    knobs: Mutex<Knobs>,
}

impl RegistryHooks {
    fn knobs(&self) -> std::sync::MutexGuard<'_, Knobs> {
        self.knobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn login_server(&self, name: &str) -> String {
        format!("{}.{}", name.to_ascii_lowercase(), self.login_suffix)
    }
}

fn valid_name(name: &str) -> bool {
    (5..=50).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric())
}

fn bad_content(message: &str) -> ArmError {
    ArmError::bad_request(
        "InvalidRequestContent",
        format!("The request content was invalid and could not be deserialized: '{message}'."),
    )
}

impl Hooks for RegistryHooks {
    fn put(&self, ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ArmError> {
        let name = ctx.path.name().to_owned();
        if !valid_name(&name) {
            return Err(ArmError::bad_request(
                "ResourceNameInvalid",
                format!("Invalid resource name: '{name}'. {NAME_RULE}"),
            ));
        }
        if !body.is_object() {
            return Err(bad_content("the body is not a JSON object"));
        }
        let Some(location) = body
            .get("location")
            .and_then(Value::as_str)
            .filter(|l| !l.trim().is_empty())
        else {
            return Err(ArmError::bad_request(
                "LocationRequired",
                "The location property is required for this definition.",
            ));
        };
        let Some(sku) = body.pointer("/sku/name").and_then(Value::as_str) else {
            return Err(bad_content(
                "Required property 'sku.name' not found in JSON",
            ));
        };
        let Some(sku) = SKUS.iter().find(|s| s.eq_ignore_ascii_case(sku)) else {
            return Err(bad_content(&format!(
                "Error converting value \"{sku}\" to type 'SkuName'. Allowed: {}",
                SKUS.join(", ")
            )));
        };
        let login_server = self.login_server(&name);
        // Names are global: a registry of that name anywhere else holds its DNS name.
        let key = ctx.key();
        if ctx.state.of_type(TYPE_KEY).any(|r| {
            r.body["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(&name))
                && azflux_core::fake::arm_kit::path::id_key(&r.id) != key
        }) {
            return Err(ArmError::conflict(
                "AlreadyInUse",
                format!(
                    "The registry DNS name {login_server} is already in use. You can check if the name is already claimed using following API: https://docs.microsoft.com/en-us/rest/api/containerregistry/registries/checknameavailability"
                ),
            ));
        }
        let flag = |field: &str| {
            body.pointer(&format!("/properties/{field}"))
                .and_then(Value::as_bool)
        };
        if let Some(existing) = ctx.existing() {
            if ctx.in_flight().is_some() {
                return Err(ArmError::conflict(
                    "AnotherOperationInProgress",
                    format!(
                        "Another operation is in progress on registry '{name}'. Please retry after it completes."
                    ),
                ));
            }
            let mut updated = existing.body.clone();
            updated["sku"] = json!({"name": sku, "tier": sku});
            for field in ["adminUserEnabled", "anonymousPullEnabled"] {
                if let Some(v) = flag(field) {
                    updated["properties"][field] = json!(v);
                }
            }
            if let Some(mode) = body.pointer("/properties/roleAssignmentMode") {
                updated["properties"]["roleAssignmentMode"] = mode.clone();
            }
            if let Some(tags) = body.get("tags") {
                updated["tags"] = tags.clone();
            }
            return Ok(updated);
        }
        Ok(json!({
            "id": ctx.id(),
            "name": name,
            "type": TYPE,
            "location": location,
            "tags": body.get("tags").cloned().unwrap_or(json!({})),
            "sku": {"name": sku, "tier": sku},
            "properties": {
                "loginServer": login_server,
                "creationDate": rfc3339(ctx.now),
                "provisioningState": "Creating",
                "adminUserEnabled": flag("adminUserEnabled").unwrap_or(false),
                "anonymousPullEnabled": flag("anonymousPullEnabled").unwrap_or(false),
                "roleAssignmentMode": body.pointer("/properties/roleAssignmentMode").cloned().unwrap_or(json!("LegacyRegistryPermissions")),
                "publicNetworkAccess": "Enabled",
                "networkRuleBypassOptions": "AzureServices",
                "zoneRedundancy": "Disabled",
                "dataEndpointEnabled": false,
                "dataEndpointHostNames": [],
                "privateEndpointConnections": [],
                "encryption": {"status": "disabled"},
                "status": null,
            },
        }))
    }

    fn action(&self, ctx: &mut Ctx<'_>, action: &str) -> Option<Result<Answer, ArmError>> {
        if !(ctx.path.types.is_empty() && action.eq_ignore_ascii_case("checkNameAvailability")) {
            return None;
        }
        Some(check_name(ctx))
    }

    fn create_duration(&self) -> Option<Duration> {
        Some(self.knobs().create_duration)
    }

    fn take_create_failure(&self) -> Option<(String, String)> {
        self.knobs().fail_next.take()
    }

    fn retry_after(&self) -> Duration {
        Duration::from_secs(10)
    }

    fn remove_failed_create(&self) -> bool {
        true
    }
}

fn check_name(ctx: &Ctx<'_>) -> Result<Answer, ArmError> {
    let Some(body) = ctx.request.json().filter(Value::is_object) else {
        return Err(bad_content("the body is not a JSON object"));
    };
    let Some(name) = body.get("name").and_then(Value::as_str) else {
        return Err(bad_content("Required property 'name' not found in JSON"));
    };
    let kind = body.get("type").and_then(Value::as_str).unwrap_or_default();
    if !kind.eq_ignore_ascii_case(TYPE) {
        return Err(bad_content(&format!(
            "Error converting value \"{kind}\" to type 'ResourceType'. Allowed: {TYPE}"
        )));
    }
    let taken = ctx.state.of_type(TYPE_KEY).any(|r| {
        r.body["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    });
    let answer = if !valid_name(name) {
        json!({"nameAvailable": false, "reason": "Invalid", "message": NAME_RULE})
    } else if taken {
        json!({"nameAvailable": false, "reason": "AlreadyExists", "message": format!("The registry {name} is already in use.")})
    } else {
        json!({"nameAvailable": true})
    };
    Ok(Answer::json(200, answer))
}

impl FakeAcr {
    /// Registers the registry type on the cloud's ARM kit (called by [`FakeAcr::mount`]).
    pub(super) async fn mount_arm(&self) {
        self.cloud.arm_kit().register(
            ResourceType::new(TYPE, "acr.arm.registry", self.arm.clone())
                .route_name("operation", "acr.arm.operation")
                .route_name("checkNameAvailability", "acr.arm.check_name"),
        );
    }

    pub(super) fn registry_hooks(cloud: &azflux_core::fake::FakeCloud) -> Arc<RegistryHooks> {
        Arc::new(RegistryHooks {
            login_suffix: cloud.cloud().container_registry_suffix.clone(),
            knobs: Mutex::new(Knobs {
                fail_next: None,
                create_duration: DEFAULT_CREATE_DURATION,
            }),
        })
    }

    fn find_registry(&self, name: &str) -> Option<String> {
        self.cloud.arm_kit().find_id_by_name(TYPE, name)
    }

    /// The registry named `name` (any case), as GET returns it, wherever it is.
    pub fn arm_registry(&self, name: &str) -> Option<Value> {
        self.cloud.arm_kit().resource(&self.find_registry(name)?)
    }

    /// Adds a provisioned (`Succeeded`) Basic registry in `westeurope` — e.g. someone else's, to take a name,
    /// or an existing one with `role_assignment_mode` (`AbacRepositoryPermissions`; default
    /// `LegacyRegistryPermissions`). Replaces a registry of that name. Returns its body.
    pub fn add_arm_registry(
        &self,
        subscription: &str,
        resource_group: &str,
        name: &str,
        role_assignment_mode: Option<&str>,
    ) -> Value {
        let kit = self.cloud.arm_kit();
        if let Some(old) = self.find_registry(name) {
            kit.remove(&old);
        }
        let body = json!({
            "id": format!("/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/{TYPE}/{name}"),
            "name": name,
            "type": TYPE,
            "location": "westeurope",
            "tags": {},
            "sku": {"name": "Basic", "tier": "Basic"},
            "properties": {
                "loginServer": self.arm.login_server(name),
                "creationDate": rfc3339(self.cloud.clock().now()),
                "provisioningState": "Succeeded",
                "adminUserEnabled": false,
                "anonymousPullEnabled": false,
                "roleAssignmentMode": role_assignment_mode.unwrap_or("LegacyRegistryPermissions"),
                "publicNetworkAccess": "Enabled",
                "zoneRedundancy": "Disabled",
            },
        });
        // The id is well formed and the type registered: the insert cannot fail.
        let _ = kit.insert(body.clone());
        body
    }

    /// Sets `properties.<property>` of registry `name` (e.g. `adminUserEnabled` = `true`, or
    /// `provisioningState`); false when there is no such registry.
    pub fn set_arm_registry_property(&self, name: &str, property: &str, value: Value) -> bool {
        match self.find_registry(name) {
            Some(id) => self
                .cloud
                .arm_kit()
                .update(&id, |body| body["properties"][property] = value),
            None => false,
        }
    }

    /// Makes the next registry creation's operation end `Failed` with this code and message (the registry
    /// is then removed, as a failed create leaves nothing).
    pub fn fail_next_registry_create(&self, code: &str, message: &str) {
        self.arm.knobs().fail_next = Some((code.to_owned(), message.to_owned()));
    }

    /// How long (on the fake clock) a creation takes before its operation ends; default
    /// [`DEFAULT_CREATE_DURATION`].
    pub fn set_registry_create_duration(&self, duration: Duration) {
        self.arm.knobs().create_duration = duration;
    }
}
