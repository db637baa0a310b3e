//! Azure Container Registry management through ARM (`Microsoft.ContainerRegistry/registries`, api-version
//! [`REGISTRIES_API_VERSION`]): read a registry, check a name, and *ensure* one exists the way
//! `az acr create --name <name> --resource-group <rg> --sku Basic` creates it — without ever modifying an
//! existing registry (its SKU, admin user or role-assignment mode are somebody's decision), only warning about
//! what does not suit Flux.
//!
//! Wire shapes: spec `specification/containerregistry/resource-manager/Microsoft.ContainerRegistry/Registry/
//! stable/2025-11-01/containerregistry.json` (`Registries_Get`, `Registries_Create` — a long-running PUT
//! answering `201` + `Azure-AsyncOperation`, `final-state-via: azure-async-operation` — and
//! `Registries_CheckNameAvailability`) and its examples `RegistryGet.json`, `RegistryCreate.json`,
//! `RegistryCheckNameNotAvailable.json`.

use crate::api::{Error, Result};
use azflux_core::arm::{ArmClient, LroProgress, ResourceId};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The `Microsoft.ContainerRegistry` api-version used for registries.
pub const REGISTRIES_API_VERSION: &str = "2025-11-01";

/// The resource type, as `checkNameAvailability` wants it.
pub const REGISTRY_RESOURCE_TYPE: &str = "Microsoft.ContainerRegistry/registries";

/// The role-assignment mode in which plain `AcrPull` is not honoured for repositories.
pub const ABAC_ROLE_ASSIGNMENT_MODE: &str = "AbacRepositoryPermissions";

/// How often a registry found mid-provisioning (an earlier run crashed while creating it) is re-read.
const PROVISIONING_POLL: Duration = Duration::from_secs(10);
/// How long to wait for such a registry before giving up (re-running resumes).
const PROVISIONING_MAX_WAIT: Duration = Duration::from_secs(30 * 60);

/// A registry's service tier (`sku.name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RegistrySku {
    /// Entry level; enough for Flux's charts and images (the guide's choice).
    #[default]
    Basic,
    /// More storage and throughput.
    Standard,
    /// Geo-replication, private endpoints, zone redundancy.
    Premium,
}

impl RegistrySku {
    /// The wire name (`Basic`, `Standard`, `Premium`).
    pub fn as_str(&self) -> &'static str {
        match self {
            RegistrySku::Basic => "Basic",
            RegistrySku::Standard => "Standard",
            RegistrySku::Premium => "Premium",
        }
    }
}

impl fmt::Display for RegistrySku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RegistrySku {
    type Err = Error;

    /// Case-insensitive `Basic`, `Standard` or `Premium`.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "basic" => Ok(RegistrySku::Basic),
            "standard" => Ok(RegistrySku::Standard),
            "premium" => Ok(RegistrySku::Premium),
            _ => Err(Error::invalid(
                format!("registry SKU '{s}'"),
                "use Basic, Standard or Premium",
            )),
        }
    }
}

/// What registry to ensure. [`RegistrySpec::new`] gives the guide's defaults: SKU Basic, no admin user, no
/// anonymous pull, no tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrySpec {
    /// The subscription id.
    pub subscription_id: String,
    /// The resource group (must exist).
    pub resource_group: String,
    /// The registry name: 5-50 letters and digits, globally unique (it becomes `<name>.azurecr.io`).
    pub name: String,
    /// The Azure region (`westeurope`).
    pub location: String,
    /// The SKU (default Basic).
    pub sku: RegistrySku,
    /// Whether the admin user (a shared username/password) is enabled; default false — Flux should
    /// authenticate with workload identity (`provider: azure`).
    pub admin_user_enabled: bool,
    /// Whether anyone may pull without credentials; default false.
    pub anonymous_pull_enabled: bool,
    /// Resource tags.
    pub tags: BTreeMap<String, String>,
}

impl RegistrySpec {
    /// A spec with the guide's defaults.
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
            sku: RegistrySku::Basic,
            admin_user_enabled: false,
            anonymous_pull_enabled: false,
            tags: BTreeMap::new(),
        }
    }

    /// Checks every field against Azure's rules; the error names the rule and the offending value. Nothing is
    /// sent to Azure.
    pub fn validate(&self) -> Result<()> {
        validate_subscription(&self.subscription_id)?;
        validate_resource_group(&self.resource_group)?;
        validate_registry_name(&self.name)?;
        validate_location(&self.location)?;
        validate_tags(&self.tags)
    }

    /// `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{name}`.
    pub fn resource_id(&self) -> String {
        registry_id(&self.subscription_id, &self.resource_group, &self.name)
    }

    /// The body `az acr create` sends (`Registries_Create`): location, tags, `sku.name` and the two access
    /// switches.
    pub fn create_body(&self) -> Value {
        json!({
            "location": self.location,
            "tags": self.tags,
            "sku": {"name": self.sku.as_str()},
            "properties": {
                "adminUserEnabled": self.admin_user_enabled,
                "anonymousPullEnabled": self.anonymous_pull_enabled,
            },
        })
    }
}

fn registry_id(subscription_id: &str, resource_group: &str, name: &str) -> String {
    ResourceId::resource(
        subscription_id,
        resource_group,
        "Microsoft.ContainerRegistry",
        "registries",
        name,
    )
    .to_string()
}

/// Azure's registry name rule: `^[a-zA-Z0-9]{5,50}$` (spec `registryName` parameter: pattern, minLength 5,
/// maxLength 50).
pub fn validate_registry_name(name: &str) -> Result<()> {
    let length = name.chars().count();
    if !(5..=50).contains(&length) {
        return Err(Error::invalid(
            format!("container registry name '{name}'"),
            format!(
                "it has {length} characters; registry names must be 5-50 letters and digits (^[a-zA-Z0-9]{{5,50}}$)"
            ),
        ));
    }
    if let Some(bad) = name.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return Err(Error::invalid(
            format!("container registry name '{name}'"),
            format!(
                "'{bad}' is not allowed; registry names may contain only letters and digits (^[a-zA-Z0-9]{{5,50}}$), e.g. '{}'",
                name.chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
            ),
        ));
    }
    Ok(())
}

fn validate_subscription(subscription_id: &str) -> Result<()> {
    if subscription_id.trim().is_empty()
        || subscription_id
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '%'))
    {
        return Err(Error::invalid(
            format!("subscription id '{subscription_id}'"),
            "give the subscription's id (a GUID such as 00000000-0000-0000-0000-000000000000)",
        ));
    }
    Ok(())
}

fn validate_resource_group(name: &str) -> Result<()> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'));
    if name.is_empty() || name.chars().count() > 90 || name.ends_with('.') || !ok_chars {
        return Err(Error::invalid(
            format!("resource group name '{name}'"),
            "resource group names are 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'",
        ));
    }
    Ok(())
}

fn validate_location(location: &str) -> Result<()> {
    if location.trim().is_empty()
        || !location
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ')
    {
        return Err(Error::invalid(
            format!("location '{location}'"),
            "give an Azure region name such as 'westeurope' (letters and digits)",
        ));
    }
    Ok(())
}

fn validate_tags(tags: &BTreeMap<String, String>) -> Result<()> {
    if tags.len() > 50 {
        return Err(Error::invalid(
            "registry tags",
            format!("{} tags given; a resource can have at most 50", tags.len()),
        ));
    }
    for (key, value) in tags {
        if key.is_empty()
            || key.chars().count() > 512
            || key
                .chars()
                .any(|c| matches!(c, '<' | '>' | '%' | '&' | '\\' | '?' | '/'))
        {
            return Err(Error::invalid(
                format!("tag name '{key}'"),
                "tag names are 1-512 characters without '<', '>', '%', '&', '\\', '?' or '/'",
            ));
        }
        if value.chars().count() > 256 {
            return Err(Error::invalid(
                format!("value of tag '{key}'"),
                "tag values are at most 256 characters",
            ));
        }
    }
    Ok(())
}

/// A registry as ARM describes it (the fields Flux cares about).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// The resource id.
    pub id: String,
    /// The registry name.
    pub name: String,
    /// The region.
    pub location: String,
    /// The login server, lower-case (`myregistry.azurecr.io`): what Flux's `HelmRepository` URL names.
    pub login_server: String,
    /// `sku.name` (`Basic`, `Standard`, `Premium`).
    pub sku: String,
    /// Whether the admin user is enabled.
    pub admin_user_enabled: bool,
    /// Whether anonymous pull is enabled.
    pub anonymous_pull_enabled: bool,
    /// `LegacyRegistryPermissions` or `AbacRepositoryPermissions` (absent on old api-versions).
    pub role_assignment_mode: Option<String>,
    /// `Creating`, `Succeeded`, `Failed`…
    pub provisioning_state: Option<String>,
}

impl Registry {
    /// What about this registry does not suit Flux, as sentences saying what to do. Empty when it is fine.
    pub fn flux_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self
            .role_assignment_mode
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case(ABAC_ROLE_ASSIGNMENT_MODE))
        {
            out.push(format!(
                "registry '{}' uses role-assignment mode {ABAC_ROLE_ASSIGNMENT_MODE} (ABAC): AcrPull is not honoured for its repositories, so assign Flux's identity the \"Container Registry Repository Reader\" role (and \"Container Registry Repository Writer\" to whoever pushes charts) instead of AcrPull/AcrPush",
                self.name
            ));
        }
        if self.admin_user_enabled {
            out.push(format!(
                "registry '{}' has the admin user enabled: Flux should pull with workload identity (`provider: azure`), not a shared password; disable it with `az acr update --name {} --admin-enabled false` once nothing uses it",
                self.name, self.name
            ));
        }
        if self.anonymous_pull_enabled {
            out.push(format!(
                "registry '{}' allows anonymous pull: every chart and image in it is public; disable it with `az acr update --name {} --anonymous-pull-enabled false` unless that is intended",
                self.name, self.name
            ));
        }
        match self.provisioning_state.as_deref() {
            None | Some("Succeeded") | Some("succeeded") => {}
            Some(state) => out.push(format!(
                "registry '{}' is in provisioning state '{state}', not Succeeded: Flux cannot pull from it until it is; check it in the portal (`az acr show --name {}`) and recreate it if it failed",
                self.name, self.name
            )),
        }
        out
    }
}

/// What [`RegistryManagement::ensure_registry`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsuredRegistry {
    /// The registry as it is now.
    pub registry: Registry,
    /// True when this call created it; false when it existed (and was left as it was).
    pub created: bool,
    /// What does not suit Flux ([`Registry::flux_warnings`]).
    pub warnings: Vec<String>,
}

/// The answer of `checkNameAvailability`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAvailability {
    /// Whether the name can be used.
    pub available: bool,
    /// Why not (`AlreadyExists`, `Invalid`…).
    pub reason: Option<String>,
    /// The service's message.
    pub message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRegistry {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    sku: Option<WireSku>,
    #[serde(default)]
    properties: WireProperties,
}

#[derive(Deserialize)]
struct WireSku {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireProperties {
    login_server: Option<String>,
    #[serde(default)]
    admin_user_enabled: bool,
    #[serde(default)]
    anonymous_pull_enabled: bool,
    role_assignment_mode: Option<String>,
    provisioning_state: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireNameStatus {
    #[serde(default)]
    name_available: bool,
    reason: Option<String>,
    message: Option<String>,
}

/// Manages registries through Resource Manager. Every call goes through the [`ArmClient`]'s pipeline (retries
/// with `Retry-After`, token host rules, the long-running-operation poller).
#[derive(Debug, Clone)]
pub struct RegistryManagement {
    arm: ArmClient,
    registry_suffix: String,
}

impl RegistryManagement {
    /// A client over `arm`, for the public cloud's registry suffix (`azurecr.io`) where a response lacks
    /// `loginServer`; see [`RegistryManagement::with_cloud`].
    pub fn new(arm: ArmClient) -> Self {
        Self {
            arm,
            registry_suffix: "azurecr.io".into(),
        }
    }

    /// Uses `cloud`'s registry suffix (`azurecr.cn`, `azurecr.us`…) when a login server has to be derived.
    pub fn with_cloud(mut self, cloud: &azflux_core::Cloud) -> Self {
        self.registry_suffix = cloud.container_registry_suffix.clone();
        self
    }

    /// The ARM client.
    pub fn arm(&self) -> &ArmClient {
        &self.arm
    }

    /// `Registries_Get`; `None` when the registry does not exist in that resource group.
    pub async fn get_registry(
        &self,
        subscription_id: &str,
        resource_group: &str,
        name: &str,
    ) -> Result<Option<Registry>> {
        validate_subscription(subscription_id)?;
        validate_resource_group(resource_group)?;
        validate_registry_name(name)?;
        let id = registry_id(subscription_id, resource_group, name);
        match self.arm.get(&id, REGISTRIES_API_VERSION).await? {
            None => Ok(None),
            Some(response) => self.parse(&format!("GET {id}"), response.body).map(Some),
        }
    }

    /// `Registries_CheckNameAvailability`: whether `name` can be used for a new registry anywhere in Azure.
    pub async fn check_name_availability(
        &self,
        subscription_id: &str,
        name: &str,
    ) -> Result<NameAvailability> {
        validate_subscription(subscription_id)?;
        let scope =
            format!("/subscriptions/{subscription_id}/providers/Microsoft.ContainerRegistry");
        let body = json!({"name": name, "type": REGISTRY_RESOURCE_TYPE});
        let response = self
            .arm
            .post_and_wait(
                &scope,
                "checkNameAvailability",
                REGISTRIES_API_VERSION,
                Some(&body),
                &|_| {},
            )
            .await?;
        let status: WireNameStatus = serde_json::from_value(response.body).map_err(|e| {
            azflux_core::Error::UnexpectedResponse {
                resource: format!("POST {scope}/checkNameAvailability"),
                message: format!("not a RegistryNameStatus: {e}"),
            }
        })?;
        Ok(NameAvailability {
            available: status.name_available,
            reason: status.reason.filter(|r| !r.is_empty()),
            message: status.message.filter(|m| !m.is_empty()),
        })
    }

    /// Makes sure the registry exists, as `az acr create` would create it.
    ///
    /// Validates `spec` first (nothing is sent for an invalid one); GETs the registry; if it exists it is left
    /// exactly as it is (a registry an earlier, interrupted run left `Creating` is waited for, never re-PUT)
    /// and returned with `created: false` and [`Registry::flux_warnings`]. If it is missing, the name is
    /// checked with `checkNameAvailability` (taken elsewhere → [`Error::RegistryNameUnavailable`]), then
    /// created with one PUT whose long-running operation is polled to the end (`progress` sees each poll); an
    /// operation ending `Failed` is `azflux_core::Error::OperationFailed` with the service's code and message.
    pub async fn ensure_registry(
        &self,
        spec: &RegistrySpec,
        progress: &(dyn Fn(&LroProgress) + Send + Sync),
    ) -> Result<EnsuredRegistry> {
        spec.validate()?;
        let id = spec.resource_id();
        if let Some(existing) = self
            .get_registry(&spec.subscription_id, &spec.resource_group, &spec.name)
            .await?
        {
            let registry = self.settle(&id, existing, progress).await?;
            return Ok(EnsuredRegistry {
                warnings: registry.flux_warnings(),
                registry,
                created: false,
            });
        }
        let availability = self
            .check_name_availability(&spec.subscription_id, &spec.name)
            .await?;
        if !availability.available {
            return Err(Error::RegistryNameUnavailable {
                name: spec.name.clone(),
                reason: availability.reason.unwrap_or_else(|| "NotAvailable".into()),
                message: availability
                    .message
                    .unwrap_or_else(|| "the service gave no message".into()),
            });
        }
        let body = spec.create_body();
        let created = match self
            .arm
            .put_and_wait(&id, REGISTRIES_API_VERSION, &body, progress)
            .await
        {
            Ok(response) => response,
            // Someone claimed the name between the check and the PUT.
            Err(azflux_core::Error::Conflict(e)) if e.code.eq_ignore_ascii_case("AlreadyInUse") => {
                return Err(Error::RegistryNameUnavailable {
                    name: spec.name.clone(),
                    reason: e.code.clone(),
                    message: e.message.clone(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let registry = self.parse(&format!("PUT {id}"), created.body)?;
        Ok(EnsuredRegistry {
            warnings: registry.flux_warnings(),
            registry,
            created: true,
        })
    }

    /// Waits (re-reading, on the pipeline's clock) while a registry found mid-provisioning finishes.
    async fn settle(
        &self,
        id: &str,
        mut registry: Registry,
        progress: &(dyn Fn(&LroProgress) + Send + Sync),
    ) -> Result<Registry> {
        let clock = self.arm.pipeline().clock().clone();
        let started = clock.now();
        let mut polls = 0u32;
        loop {
            let state = registry.provisioning_state.clone().unwrap_or_default();
            let terminal = state.is_empty()
                || ["succeeded", "failed", "canceled"]
                    .contains(&state.to_ascii_lowercase().as_str());
            if terminal {
                return Ok(registry);
            }
            let waited = Duration::try_from(clock.now() - started).unwrap_or_default();
            if waited >= PROVISIONING_MAX_WAIT {
                return Err(azflux_core::Error::OperationTimedOut {
                    resource: format!("GET {id}"),
                    waited,
                    last_status: state,
                }
                .into());
            }
            clock.sleep(PROVISIONING_POLL).await;
            polls += 1;
            let response = self.arm.get(id, REGISTRIES_API_VERSION).await?.ok_or_else(|| {
                azflux_core::Error::OperationFailed {
                    resource: format!("PUT {id}"),
                    status: "Failed".into(),
                    code: "ResourceNotFound".into(),
                    message: format!(
                        "the registry was in provisioning state '{state}' and then disappeared; its creation failed — re-run to create it again"
                    ),
                }
            })?;
            registry = self.parse(&format!("GET {id}"), response.body)?;
            progress(&LroProgress {
                resource: format!("GET {id}"),
                status: registry
                    .provisioning_state
                    .clone()
                    .unwrap_or_else(|| "Succeeded".into()),
                percent_complete: None,
                polls,
                waited: Duration::try_from(clock.now() - started).unwrap_or_default(),
            });
        }
    }

    fn parse(&self, resource: &str, body: Value) -> Result<Registry> {
        let wire: WireRegistry =
            serde_json::from_value(body).map_err(|e| azflux_core::Error::UnexpectedResponse {
                resource: resource.to_owned(),
                message: format!("not a container registry: {e}"),
            })?;
        if wire.name.is_empty() {
            return Err(azflux_core::Error::UnexpectedResponse {
                resource: resource.to_owned(),
                message: "the registry has no name".into(),
            }
            .into());
        }
        let login_server = wire
            .properties
            .login_server
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("{}.{}", wire.name, self.registry_suffix))
            .to_ascii_lowercase();
        Ok(Registry {
            id: wire.id,
            name: wire.name,
            location: wire.location,
            login_server,
            sku: wire.sku.map(|s| s.name).unwrap_or_default(),
            admin_user_enabled: wire.properties.admin_user_enabled,
            anonymous_pull_enabled: wire.properties.anonymous_pull_enabled,
            role_assignment_mode: wire.properties.role_assignment_mode,
            provisioning_state: wire.properties.provisioning_state,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_body_is_what_az_acr_create_sends() {
        let spec = RegistrySpec::new("sub", "rg", "myRegistry", "westeurope");
        assert_eq!(
            spec.create_body(),
            json!({"location": "westeurope", "tags": {}, "sku": {"name": "Basic"},
                   "properties": {"adminUserEnabled": false, "anonymousPullEnabled": false}})
        );
        assert_eq!(
            spec.resource_id(),
            "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/myRegistry"
        );
    }

    #[test]
    fn sku_round_trips() {
        for sku in [
            RegistrySku::Basic,
            RegistrySku::Standard,
            RegistrySku::Premium,
        ] {
            assert_eq!(sku.as_str().parse::<RegistrySku>().unwrap(), sku);
        }
        assert!("Classic".parse::<RegistrySku>().is_err());
        assert_eq!(RegistrySku::default(), RegistrySku::Basic);
    }

    #[test]
    fn warnings_name_the_problem_and_the_fix() {
        let registry = Registry {
            id: String::new(),
            name: "myacr1".into(),
            location: "westeurope".into(),
            login_server: "myacr1.azurecr.io".into(),
            sku: "Basic".into(),
            admin_user_enabled: false,
            anonymous_pull_enabled: false,
            role_assignment_mode: Some("LegacyRegistryPermissions".into()),
            provisioning_state: Some("Succeeded".into()),
        };
        assert!(
            registry.flux_warnings().is_empty(),
            "Basic + legacy mode is fine"
        );
        let abac = Registry {
            role_assignment_mode: Some(ABAC_ROLE_ASSIGNMENT_MODE.into()),
            ..registry.clone()
        };
        let w = abac.flux_warnings();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("Container Registry Repository Reader") && w[0].contains("AcrPull"));
    }
}
