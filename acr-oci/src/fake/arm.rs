//! The ARM side of [`FakeAcr`]: `Microsoft.ContainerRegistry/registries` on the fake cloud's shared
//! `management.azure.com` server, stateful and strict.
//!
//! Routes (counted under these names by [`FakeCloud::request_count`](azflux_core::fake::FakeCloud::request_count)):
//!
//! | route | request |
//! |---|---|
//! | `acr.arm.registry.put` | `PUT …/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{name}` |
//! | `acr.arm.registry.get` | `GET` of the same |
//! | `acr.arm.registry.delete` | `DELETE` of the same (`200` when it existed, `204` when not) |
//! | `acr.arm.operation` | `GET …/registries/{name}/operationStatuses/{id}` (the `Azure-AsyncOperation` URL) |
//! | `acr.arm.check_name` | `POST /subscriptions/{sub}/providers/Microsoft.ContainerRegistry/checkNameAvailability` |
//!
//! Every route first passes the fake cloud's ARM checks (`api-version` present, ARM bearer token, token-bucket
//! throttling, injected faults); then the api-version must be one Microsoft.ContainerRegistry serves (else
//! `400 NoRegisteredProviderFound`).
//!
//! PUT of a new registry validates the name (`400 ResourceNameInvalid`, the message ARM gives [obs
//! microsoft/GitHub-Copilot-for-Azure#867]), `location` (`400 LocationRequired`) and `sku.name`
//! (`400 InvalidRequestContent` when missing or not Basic/Standard/Premium [inf]); a name held by a registry in
//! another subscription or resource group is `409 AlreadyInUse` with ACR's message [obs
//! MicrosoftDocs/azure-dev-docs#1303]. A new registry is answered `201` with the body in provisioning state
//! `Creating`, `Azure-AsyncOperation` (built from the request's origin) and `Retry-After: 10`, as spec
//! `Registries_Create` (2025-11-01, `final-state-via: azure-async-operation`) describes. The operation ends
//! once the **fake clock** has moved [`DEFAULT_CREATE_DURATION`] (20 s, i.e. two 10 s polls) past the PUT
//! ([`FakeAcr::set_registry_create_duration`]): `Succeeded` (the registry turns `Succeeded`), or `Failed` with
//! the code and message given to [`FakeAcr::fail_next_registry_create`] (the registry is then removed and the
//! name released). A PUT on an existing registry of the same resource group updates it in place (`200`, no
//! operation), or is `409 AnotherOperationInProgress` [inf] while it is still being created.
//!
//! `checkNameAvailability` answers as the spec examples: `{"nameAvailable": true}`, or `false` with reason
//! `AlreadyExists` and "The registry {name} is already in use.", or reason `Invalid` for a malformed name.

use super::FakeAcr;
use azflux_core::fake::arm::arm_error;
use azflux_core::fake::request::FakeRequest;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{MutexGuard, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;
use wiremock::ResponseTemplate;

/// How long (on the fake clock) a registry creation takes by default.
pub const DEFAULT_CREATE_DURATION: Duration = Duration::from_secs(20);

/// The api-versions of Microsoft.ContainerRegistry/registries the fake serves (GA versions).
pub const SUPPORTED_API_VERSIONS: &[&str] = &[
    "2019-05-01",
    "2021-09-01",
    "2022-12-01",
    "2023-07-01",
    "2023-11-01-preview",
    "2025-04-01",
    "2025-11-01",
];

const REGISTRY_PATH: &str = r"(?i)^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/Microsoft\.ContainerRegistry/registries/[^/]+$";
const OPERATION_PATH: &str = r"(?i)^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/Microsoft\.ContainerRegistry/registries/[^/]+/operationStatuses/[^/]+$";
const CHECK_NAME_PATH: &str =
    r"(?i)^/subscriptions/[^/]+/providers/Microsoft\.ContainerRegistry/checkNameAvailability$";
const NAME_RULE: &str = "Resource names may contain alpha numeric characters only and must be between 5 and 50 characters.";
const SKUS: [&str; 3] = ["Basic", "Standard", "Premium"];

struct Entry {
    subscription: String,
    resource_group: String,
    body: Value,
}

struct Operation {
    /// Lower-case registry name.
    registry: String,
    started: OffsetDateTime,
    failure: Option<(String, String)>,
    /// `Succeeded` / `Failed` once finished, with its end time.
    finished: Option<(&'static str, OffsetDateTime)>,
}

/// The state of the ARM fake (behind the [`FakeAcr`]'s mutex).
pub struct ArmModel {
    /// By lower-case name: names are global.
    registries: BTreeMap<String, Entry>,
    operations: HashMap<String, Operation>,
    fail_next: Option<(String, String)>,
    create_duration: Duration,
}

impl Default for ArmModel {
    fn default() -> Self {
        Self {
            registries: BTreeMap::new(),
            operations: HashMap::new(),
            fail_next: None,
            create_duration: DEFAULT_CREATE_DURATION,
        }
    }
}

impl ArmModel {
    /// Finishes every operation whose time has come.
    fn advance(&mut self, now: OffsetDateTime) {
        let duration =
            time::Duration::try_from(self.create_duration).unwrap_or(time::Duration::ZERO);
        for operation in self.operations.values_mut() {
            if operation.finished.is_some() || now - operation.started < duration {
                continue;
            }
            let end = operation.started + duration;
            match &operation.failure {
                Some(_) => {
                    self.registries.remove(&operation.registry);
                    operation.finished = Some(("Failed", end));
                }
                None => {
                    if let Some(entry) = self.registries.get_mut(&operation.registry) {
                        entry.body["properties"]["provisioningState"] = json!("Succeeded");
                    }
                    operation.finished = Some(("Succeeded", end));
                }
            }
        }
    }

    fn creating(&self, key: &str) -> bool {
        self.operations
            .values()
            .any(|o| o.registry == key && o.finished.is_none())
    }
}

/// `(subscription, resource group, name)` of a registry path (or an operation path below it).
fn registry_parts(path: &str) -> (String, String, String) {
    let segments: Vec<&str> = path.split('/').collect();
    let at = |i: usize| segments.get(i).copied().unwrap_or_default().to_owned();
    (at(2), at(4), at(8))
}

fn valid_name(name: &str) -> bool {
    (5..=50).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric())
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn not_found(name: &str, resource_group: &str) -> ResponseTemplate {
    arm_error(
        404,
        "ResourceNotFound",
        &format!(
            "The Resource 'Microsoft.ContainerRegistry/registries/{name}' under resource group '{resource_group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

fn bad_content(message: &str) -> ResponseTemplate {
    arm_error(
        400,
        "InvalidRequestContent",
        &format!("The request content was invalid and could not be deserialized: '{message}'."),
    )
}

impl FakeAcr {
    fn arm_model(&self) -> MutexGuard<'_, ArmModel> {
        self.arm.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) async fn mount_arm(&self) {
        let server = self.cloud.arm_server().await;
        let routes: [(&str, &str, &str); 5] = [
            ("acr.arm.registry.put", "PUT", REGISTRY_PATH),
            ("acr.arm.registry.get", "GET", REGISTRY_PATH),
            ("acr.arm.registry.delete", "DELETE", REGISTRY_PATH),
            ("acr.arm.operation", "GET", OPERATION_PATH),
            ("acr.arm.check_name", "POST", CHECK_NAME_PATH),
        ];
        for (name, method, path) in routes {
            let me = self.clone();
            let route = name.to_owned();
            self.cloud
                .mount(&server, name, method, path, move |r| {
                    me.handle_arm(&route, r)
                })
                .await;
        }
    }

    fn handle_arm(&self, route: &str, r: &FakeRequest<'_>) -> ResponseTemplate {
        let call = match self.cloud.arm_call(r) {
            Ok(call) => call,
            Err(e) => return e,
        };
        if !SUPPORTED_API_VERSIONS.contains(&call.api_version.as_str()) {
            return call.respond(arm_error(
                400,
                "NoRegisteredProviderFound",
                &format!(
                    "No registered resource provider found for location 'global' and API version '{}' for type 'registries'. The supported api-versions are '{}'.",
                    call.api_version,
                    SUPPORTED_API_VERSIONS.join(", ")
                ),
            ));
        }
        let now = self.cloud.clock().now();
        let mut model = self.arm_model();
        model.advance(now);
        let answer = match route {
            "acr.arm.registry.put" => self.put_registry(&mut model, r, &call.api_version, now),
            "acr.arm.registry.get" => {
                let (sub, rg, name) = registry_parts(r.path());
                match model.registries.get(&name.to_ascii_lowercase()) {
                    Some(e)
                        if e.subscription.eq_ignore_ascii_case(&sub)
                            && e.resource_group.eq_ignore_ascii_case(&rg) =>
                    {
                        ResponseTemplate::new(200).set_body_json(e.body.clone())
                    }
                    _ => not_found(&name, &rg),
                }
            }
            "acr.arm.registry.delete" => {
                let (sub, rg, name) = registry_parts(r.path());
                let key = name.to_ascii_lowercase();
                let ours = model.registries.get(&key).is_some_and(|e| {
                    e.subscription.eq_ignore_ascii_case(&sub)
                        && e.resource_group.eq_ignore_ascii_case(&rg)
                });
                if ours {
                    model.registries.remove(&key);
                    ResponseTemplate::new(200)
                } else {
                    ResponseTemplate::new(204)
                }
            }
            "acr.arm.operation" => {
                let id = r.path().rsplit('/').next().unwrap_or_default();
                match model.operations.get(id) {
                    None => arm_error(
                        404,
                        "ResourceNotFound",
                        &format!("The operation '{id}' was not found."),
                    ),
                    Some(op) => {
                        let mut body = json!({
                            "id": r.path(),
                            "name": id,
                            "status": "InProgress",
                            "startTime": rfc3339(op.started),
                        });
                        if let Some((status, end)) = op.finished {
                            body["status"] = json!(status);
                            body["endTime"] = json!(rfc3339(end));
                            if let Some((code, message)) = &op.failure {
                                body["error"] = json!({"code": code, "message": message});
                            }
                        }
                        ResponseTemplate::new(200)
                            .insert_header("retry-after", "10")
                            .set_body_json(body)
                    }
                }
            }
            _ => check_name(&model, r),
        };
        call.respond(answer)
    }

    fn put_registry(
        &self,
        model: &mut ArmModel,
        r: &FakeRequest<'_>,
        api_version: &str,
        now: OffsetDateTime,
    ) -> ResponseTemplate {
        let (sub, rg, name) = registry_parts(r.path());
        if !valid_name(&name) {
            return arm_error(
                400,
                "ResourceNameInvalid",
                &format!("Invalid resource name: '{name}'. {NAME_RULE}"),
            );
        }
        let Some(body) = r.json().filter(Value::is_object) else {
            return bad_content("the body is not a JSON object");
        };
        let Some(location) = body
            .get("location")
            .and_then(Value::as_str)
            .filter(|l| !l.trim().is_empty())
        else {
            return arm_error(
                400,
                "LocationRequired",
                "The location property is required for this definition.",
            );
        };
        let Some(sku) = body.pointer("/sku/name").and_then(Value::as_str) else {
            return bad_content("Required property 'sku.name' not found in JSON");
        };
        let Some(sku) = SKUS.iter().find(|s| s.eq_ignore_ascii_case(sku)) else {
            return bad_content(&format!(
                "Error converting value \"{sku}\" to type 'SkuName'. Allowed: {}",
                SKUS.join(", ")
            ));
        };
        let key = name.to_ascii_lowercase();
        let login_server = format!("{key}.{}", self.cloud.cloud().container_registry_suffix);
        let flag = |field: &str| {
            body.pointer(&format!("/properties/{field}"))
                .and_then(Value::as_bool)
        };
        if let Some(existing) = model.registries.get(&key) {
            if !(existing.subscription.eq_ignore_ascii_case(&sub)
                && existing.resource_group.eq_ignore_ascii_case(&rg))
            {
                return arm_error(
                    409,
                    "AlreadyInUse",
                    &format!(
                        "The registry DNS name {login_server} is already in use. You can check if the name is already claimed using following API: https://docs.microsoft.com/en-us/rest/api/containerregistry/registries/checknameavailability"
                    ),
                );
            }
            if model.creating(&key) {
                return arm_error(
                    409,
                    "AnotherOperationInProgress",
                    &format!(
                        "Another operation is in progress on registry '{name}'. Please retry after it completes."
                    ),
                );
            }
            let Some(entry) = model.registries.get_mut(&key) else {
                return not_found(&name, &rg);
            };
            entry.body["sku"] = json!({"name": sku, "tier": sku});
            for field in ["adminUserEnabled", "anonymousPullEnabled"] {
                if let Some(v) = flag(field) {
                    entry.body["properties"][field] = json!(v);
                }
            }
            if let Some(mode) = body.pointer("/properties/roleAssignmentMode") {
                entry.body["properties"]["roleAssignmentMode"] = mode.clone();
            }
            if let Some(tags) = body.get("tags") {
                entry.body["tags"] = tags.clone();
            }
            return ResponseTemplate::new(200).set_body_json(entry.body.clone());
        }
        let id = format!(
            "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{name}"
        );
        let registry = json!({
            "id": id,
            "name": name,
            "type": "Microsoft.ContainerRegistry/registries",
            "location": location,
            "tags": body.get("tags").cloned().unwrap_or(json!({})),
            "sku": {"name": sku, "tier": sku},
            "properties": {
                "loginServer": login_server,
                "creationDate": rfc3339(now),
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
        });
        let operation = format!("registries-{}", uuid::Uuid::new_v4());
        let failure = model.fail_next.take();
        model.operations.insert(
            operation.clone(),
            Operation {
                registry: key.clone(),
                started: now,
                failure,
                finished: None,
            },
        );
        model.registries.insert(
            key,
            Entry {
                subscription: sub,
                resource_group: rg,
                body: registry.clone(),
            },
        );
        let status_url = format!(
            "{}{id}/operationStatuses/{operation}?api-version={api_version}",
            r.origin()
        );
        ResponseTemplate::new(201)
            .insert_header("azure-asyncoperation", status_url.as_str())
            .insert_header("retry-after", "10")
            .set_body_json(registry)
    }

    /// The registry named `name` (any case), as GET returns it, wherever it is.
    pub fn arm_registry(&self, name: &str) -> Option<Value> {
        let now = self.cloud.clock().now();
        let mut model = self.arm_model();
        model.advance(now);
        model
            .registries
            .get(&name.to_ascii_lowercase())
            .map(|e| e.body.clone())
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
        let now = self.cloud.clock().now();
        let key = name.to_ascii_lowercase();
        let body = json!({
            "id": format!("/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.ContainerRegistry/registries/{name}"),
            "name": name,
            "type": "Microsoft.ContainerRegistry/registries",
            "location": "westeurope",
            "tags": {},
            "sku": {"name": "Basic", "tier": "Basic"},
            "properties": {
                "loginServer": format!("{key}.{}", self.cloud.cloud().container_registry_suffix),
                "creationDate": rfc3339(now),
                "provisioningState": "Succeeded",
                "adminUserEnabled": false,
                "anonymousPullEnabled": false,
                "roleAssignmentMode": role_assignment_mode.unwrap_or("LegacyRegistryPermissions"),
                "publicNetworkAccess": "Enabled",
                "zoneRedundancy": "Disabled",
            },
        });
        self.arm_model().registries.insert(
            key,
            Entry {
                subscription: subscription.to_owned(),
                resource_group: resource_group.to_owned(),
                body: body.clone(),
            },
        );
        body
    }

    /// Sets `properties.<property>` of registry `name` (e.g. `adminUserEnabled` = `true`, or
    /// `provisioningState`); false when there is no such registry.
    pub fn set_arm_registry_property(&self, name: &str, property: &str, value: Value) -> bool {
        match self
            .arm_model()
            .registries
            .get_mut(&name.to_ascii_lowercase())
        {
            Some(entry) => {
                entry.body["properties"][property] = value;
                true
            }
            None => false,
        }
    }

    /// Makes the next registry creation's operation end `Failed` with this code and message (the registry
    /// is then removed, as a failed create leaves nothing).
    pub fn fail_next_registry_create(&self, code: &str, message: &str) {
        self.arm_model().fail_next = Some((code.to_owned(), message.to_owned()));
    }

    /// How long (on the fake clock) a creation takes before its operation ends; default
    /// [`DEFAULT_CREATE_DURATION`].
    pub fn set_registry_create_duration(&self, duration: Duration) {
        self.arm_model().create_duration = duration;
    }
}

fn check_name(model: &ArmModel, r: &FakeRequest<'_>) -> ResponseTemplate {
    let Some(body) = r.json().filter(Value::is_object) else {
        return bad_content("the body is not a JSON object");
    };
    let Some(name) = body.get("name").and_then(Value::as_str) else {
        return bad_content("Required property 'name' not found in JSON");
    };
    let kind = body.get("type").and_then(Value::as_str).unwrap_or_default();
    if !kind.eq_ignore_ascii_case("Microsoft.ContainerRegistry/registries") {
        return bad_content(&format!(
            "Error converting value \"{kind}\" to type 'ResourceType'. Allowed: Microsoft.ContainerRegistry/registries"
        ));
    }
    let answer = if !valid_name(name) {
        json!({"nameAvailable": false, "reason": "Invalid", "message": NAME_RULE})
    } else if model.registries.contains_key(&name.to_ascii_lowercase()) {
        json!({"nameAvailable": false, "reason": "AlreadyExists", "message": format!("The registry {name} is already in use.")})
    } else {
        json!({"nameAvailable": true})
    };
    ResponseTemplate::new(200).set_body_json(answer)
}
