//! Steps for the Azure resources Flux uses, ensured through ARM the way the guide's `az keyvault create`,
//! `az acr create` and `az eventhubs namespace create` / `eventhub create` make them: the Key Vault
//! (keyvault-sops), the container registry (acr-oci) and the Event Hubs namespace and hub
//! (eventhub-auth). An existing resource is never modified (its owner may manage it elsewhere); what is
//! wrong with it for Flux is reported as a warning in the step's outcome.
//!
//! Also the caller's own access to the SOPS key in a vault it created: in an RBAC vault nobody, not even
//! the vault's creator, may create keys until a role says so.

use super::azure_error;
use crate::bootstrap::step::{
    Outcome, PlanState, Planned, Step, StepContext, StepError, StepResult, keys,
};
use aks_cluster::{Role, RoleAssignmentSpec, RoleAssignments};
use azflux_core::TokenCredential;
use azflux_core::arm::{ArmClient, LroProgress};
use std::sync::Arc;

fn log_progress(resource: &str) -> impl Fn(&LroProgress) + Send + Sync + '_ {
    move |p: &LroProgress| tracing::debug!(resource, progress = ?p, "long-running operation")
}

fn with_warnings(detail: String, warnings: &[String]) -> String {
    if warnings.is_empty() {
        detail
    } else {
        format!("{detail}; warning: {}", warnings.join("; warning: "))
    }
}

/// Ensures the Key Vault the SOPS key lives in (RBAC mode, soft delete, purge protection), in the tenant
/// of the configuration or, when none is set, of the caller's token.
pub struct KeyVaultStep {
    id: String,
    deps: Vec<String>,
    vaults: keyvault_sops::VaultManagement,
    spec: keyvault_sops::VaultSpec,
    credential: Arc<dyn TokenCredential>,
    arm_scope: String,
}

impl std::fmt::Debug for KeyVaultStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyVaultStep")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl KeyVaultStep {
    /// The step id for vault `name`.
    pub fn id_for(name: &str) -> String {
        format!("azure/key-vault/{name}")
    }

    /// Vault `spec` (its `tenant_id` may be empty: the caller's tenant is used), after `deps`.
    pub fn new(
        spec: keyvault_sops::VaultSpec,
        deps: Vec<String>,
        vaults: keyvault_sops::VaultManagement,
        credential: Arc<dyn TokenCredential>,
        arm_scope: &str,
    ) -> Self {
        KeyVaultStep {
            id: Self::id_for(&spec.name),
            deps,
            vaults,
            spec,
            credential,
            arm_scope: arm_scope.into(),
        }
    }

    fn error(&self, e: &keyvault_sops::Error) -> StepError {
        StepError::from_error(self.resource(), e).todo(
            "fix sops.key_vault (or recover/purge a soft-deleted vault of that name), or grant the principal Contributor on the resource group, then run again",
        )
    }

    async fn spec_with_tenant(&self) -> StepResult<keyvault_sops::VaultSpec> {
        let mut spec = self.spec.clone();
        if spec.tenant_id.is_empty() {
            let claims =
                azflux_core::credential::caller_claims(self.credential.as_ref(), &self.arm_scope)
                    .await
                    .map_err(|e| azure_error(&self.resource(), &e))?;
            spec.tenant_id = claims.tid.ok_or_else(|| {
                StepError::new(
                    self.resource(),
                    "the caller's token names no tenant (tid)",
                    "set [azure].tenant in azflux.toml, then run again",
                )
            })?;
        }
        Ok(spec)
    }
}

#[async_trait::async_trait]
impl Step for KeyVaultStep {
    fn id(&self) -> &str {
        &self.id
    }
    fn deps(&self) -> Vec<String> {
        self.deps.clone()
    }
    fn resource(&self) -> String {
        self.spec.resource_id()
    }
    async fn plan(&self, _ctx: &StepContext) -> StepResult<Planned> {
        let found = self
            .vaults
            .get_vault(
                &self.spec.subscription_id,
                &self.spec.resource_group,
                &self.spec.name,
            )
            .await
            .map_err(|e| self.error(&e))?;
        Ok(match found {
            None => Planned::new(
                PlanState::WouldCreate,
                format!(
                    "an RBAC-mode vault in {} (soft delete, purge protection)",
                    self.spec.location
                ),
            ),
            Some(v) if v.rbac_authorization => {
                Planned::new(PlanState::UpToDate, format!("exists: {}", v.vault_uri))
            }
            Some(v) => Planned::new(
                PlanState::UpToDate,
                format!(
                    "exists: {} (access policies, not RBAC: Key Vault Crypto User will not grant access)",
                    v.vault_uri
                ),
            ),
        })
    }
    async fn ensure(&self, _ctx: &StepContext) -> StepResult<Outcome> {
        let spec = self.spec_with_tenant().await?;
        let resource = self.resource();
        let ensured = self
            .vaults
            .ensure_vault(&spec, &log_progress(&resource))
            .await
            .map_err(|e| self.error(&e))?;
        let detail = with_warnings(ensured.vault.vault_uri.clone(), &ensured.warnings);
        Ok(if ensured.created {
            Outcome::created(detail)
        } else {
            Outcome::unchanged(detail)
        })
    }
}

/// Gives the principal running the bootstrap Key Vault Crypto Officer on the SOPS vault, so it can create
/// the SOPS key in an RBAC vault. Best effort: a principal that may not assign roles (and may already
/// have access some other way) gets an outcome that says so, and the key step reports a real refusal.
pub struct CallerKeyAccessStep {
    deps: Vec<String>,
    vault_id: String,
    vault_name: String,
    vaults: keyvault_sops::VaultManagement,
    subscription_id: String,
    resource_group: String,
    roles: Arc<dyn RoleAssignments>,
    arm: Arc<ArmClient>,
    credential: Arc<dyn TokenCredential>,
    arm_scope: String,
}

impl std::fmt::Debug for CallerKeyAccessStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallerKeyAccessStep")
            .field("vault_id", &self.vault_id)
            .finish_non_exhaustive()
    }
}

impl CallerKeyAccessStep {
    /// The step id.
    pub const ID: &'static str = "sops/caller-key-access";

    /// The caller's access to the keys of `spec`'s vault, after `deps` (the vault step).
    pub fn new(
        spec: &keyvault_sops::VaultSpec,
        deps: Vec<String>,
        vaults: keyvault_sops::VaultManagement,
        roles: Arc<dyn RoleAssignments>,
        arm: Arc<ArmClient>,
        credential: Arc<dyn TokenCredential>,
        arm_scope: &str,
    ) -> Self {
        CallerKeyAccessStep {
            deps,
            vault_id: spec.resource_id(),
            vault_name: spec.name.clone(),
            vaults,
            subscription_id: spec.subscription_id.clone(),
            resource_group: spec.resource_group.clone(),
            roles,
            arm,
            credential,
            arm_scope: arm_scope.into(),
        }
    }

    async fn assignment(&self) -> StepResult<RoleAssignmentSpec> {
        let claims =
            azflux_core::credential::caller_claims(self.credential.as_ref(), &self.arm_scope)
                .await
                .map_err(|e| azure_error(&self.resource(), &e))?;
        let oid = claims.oid.clone().ok_or_else(|| {
            StepError::new(
                self.resource(),
                "the caller's token names no principal (oid)",
                "grant yourself Key Vault Crypto Officer on the vault, then run again",
            )
        })?;
        let mut spec = RoleAssignmentSpec::new(&self.vault_id, oid, Role::KeyVaultCryptoOfficer);
        spec.principal_type = claims.principal_type().into();
        Ok(spec)
    }

    async fn assigned(&self, spec: &RoleAssignmentSpec) -> StepResult<bool> {
        let id = aks_cluster::wire::role_assignment_id(spec);
        Ok(self
            .arm
            .get(&id, aks_cluster::wire::AUTHORIZATION_API_VERSION)
            .await
            .map_err(|e| azure_error(&self.resource(), &e))?
            .is_some())
    }

    async fn rbac_vault(&self) -> StepResult<bool> {
        let vault = self
            .vaults
            .get_vault(
                &self.subscription_id,
                &self.resource_group,
                &self.vault_name,
            )
            .await
            .map_err(|e| StepError::from_error(self.resource(), &e))?;
        Ok(vault.is_some_and(|v| v.rbac_authorization))
    }
}

#[async_trait::async_trait]
impl Step for CallerKeyAccessStep {
    fn id(&self) -> &str {
        Self::ID
    }
    fn deps(&self) -> Vec<String> {
        self.deps.clone()
    }
    fn resource(&self) -> String {
        format!(
            "Key Vault Crypto Officer for the caller on {}",
            self.vault_id
        )
    }
    async fn plan(&self, _ctx: &StepContext) -> StepResult<Planned> {
        let spec = self.assignment().await?;
        if !self.rbac_vault().await? {
            return Ok(Planned::new(
                PlanState::Unknown,
                "decided once the vault exists (RBAC vaults only)",
            ));
        }
        Ok(if self.assigned(&spec).await? {
            Planned::new(PlanState::UpToDate, "assigned")
        } else {
            Planned::new(PlanState::WouldCreate, "would assign")
        })
    }
    async fn ensure(&self, ctx: &StepContext) -> StepResult<Outcome> {
        if !self.rbac_vault().await? {
            return Ok(Outcome::unchanged(
                "the vault uses access policies: nothing to assign",
            ));
        }
        let spec = self.assignment().await?;
        if self.assigned(&spec).await? {
            ctx.outputs.put("", keys::CALLER_KEY_ROLE, true);
            return Ok(Outcome::unchanged("assigned"));
        }
        match self.roles.ensure_role_assignment(&spec).await {
            Ok(a) if a.existed_under_other_name => {
                ctx.outputs.put("", keys::CALLER_KEY_ROLE, true);
                Ok(Outcome::unchanged(format!(
                    "already assigned as {}",
                    a.name
                )))
            }
            Ok(a) => {
                ctx.outputs.put("", keys::CALLER_KEY_ROLE, true);
                Ok(Outcome::created(format!("assignment {}", a.name)))
            }
            Err(e) if is_forbidden(&e) => Ok(Outcome::unchanged(
                "not assigned: the caller may not assign roles on the vault (if creating the SOPS key is refused, ask an Owner for Key Vault Crypto Officer)",
            )),
            Err(e) => Err(StepError::from_error(self.resource(), &e)),
        }
    }
}

fn is_forbidden(e: &aks_cluster::Error) -> bool {
    matches!(
        e,
        aks_cluster::Error::Azure(azflux_core::Error::Forbidden(_))
    )
}

/// Ensures the container registry the Helm charts (and images) come from.
pub struct RegistryStep {
    id: String,
    deps: Vec<String>,
    registries: acr_oci::RegistryManagement,
    spec: acr_oci::RegistrySpec,
}

impl std::fmt::Debug for RegistryStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryStep")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl RegistryStep {
    /// The step id for registry `name`.
    pub fn id_for(name: &str) -> String {
        format!("azure/container-registry/{name}")
    }

    /// Registry `spec`, after `deps`.
    pub fn new(
        spec: acr_oci::RegistrySpec,
        deps: Vec<String>,
        registries: acr_oci::RegistryManagement,
    ) -> Self {
        RegistryStep {
            id: Self::id_for(&spec.name),
            deps,
            registries,
            spec,
        }
    }

    fn error(&self, e: &acr_oci::Error) -> StepError {
        StepError::from_error(self.resource(), e).todo(
            "fix helm.registry (registry names are global: choose another if it is taken), or grant the principal Contributor on the resource group, then run again",
        )
    }
}

#[async_trait::async_trait]
impl Step for RegistryStep {
    fn id(&self) -> &str {
        &self.id
    }
    fn deps(&self) -> Vec<String> {
        self.deps.clone()
    }
    fn resource(&self) -> String {
        self.spec.resource_id()
    }
    async fn plan(&self, _ctx: &StepContext) -> StepResult<Planned> {
        let found = self
            .registries
            .get_registry(
                &self.spec.subscription_id,
                &self.spec.resource_group,
                &self.spec.name,
            )
            .await
            .map_err(|e| self.error(&e))?;
        Ok(match found {
            None => Planned::new(
                PlanState::WouldCreate,
                format!("a Basic registry in {}", self.spec.location),
            ),
            Some(r) => Planned::new(PlanState::UpToDate, format!("exists: {}", r.login_server)),
        })
    }
    async fn ensure(&self, _ctx: &StepContext) -> StepResult<Outcome> {
        let resource = self.resource();
        let ensured = self
            .registries
            .ensure_registry(&self.spec, &log_progress(&resource))
            .await
            .map_err(|e| self.error(&e))?;
        let detail = with_warnings(ensured.registry.login_server.clone(), &ensured.warnings);
        Ok(if ensured.created {
            Outcome::created(detail)
        } else {
            Outcome::unchanged(detail)
        })
    }
}

/// Ensures the Event Hubs namespace and the event hub the notification-controller sends to.
pub struct EventHubStep {
    id: String,
    deps: Vec<String>,
    arm: eventhub_auth::EventHubsArm,
    namespace: eventhub_auth::NamespaceSpec,
    hub: eventhub_auth::EventHubSpec,
}

impl std::fmt::Debug for EventHubStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventHubStep")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl EventHubStep {
    /// The step id for hub `hub` in namespace `namespace`.
    pub fn id_for(namespace: &str, hub: &str) -> String {
        format!("azure/event-hub/{namespace}/{hub}")
    }

    /// Namespace and hub, after `deps`.
    pub fn new(
        namespace: eventhub_auth::NamespaceSpec,
        hub: eventhub_auth::EventHubSpec,
        deps: Vec<String>,
        arm: eventhub_auth::EventHubsArm,
    ) -> Self {
        EventHubStep {
            id: Self::id_for(&namespace.name, &hub.name),
            deps,
            arm,
            namespace,
            hub,
        }
    }

    fn error(&self, e: &eventhub_auth::Error) -> StepError {
        StepError::from_error(self.resource(), e).todo(
            "fix notifications.event_hub_namespace / event_hub (namespace names are global: choose another if it is taken), or grant the principal Contributor on the resource group, then run again",
        )
    }
}

#[async_trait::async_trait]
impl Step for EventHubStep {
    fn id(&self) -> &str {
        &self.id
    }
    fn deps(&self) -> Vec<String> {
        self.deps.clone()
    }
    fn resource(&self) -> String {
        format!(
            "{}/eventhubs/{}",
            self.namespace.resource_id(),
            self.hub.name
        )
    }
    async fn plan(&self, _ctx: &StepContext) -> StepResult<Planned> {
        let found = self
            .arm
            .get_namespace(
                &self.namespace.subscription_id,
                &self.namespace.resource_group,
                &self.namespace.name,
            )
            .await
            .map_err(|e| self.error(&e))?;
        Ok(match found {
            None => Planned::new(
                PlanState::WouldCreate,
                format!(
                    "a Standard namespace in {} and the hub {}",
                    self.namespace.location, self.hub.name
                ),
            ),
            Some(ns) => Planned::new(
                PlanState::Unknown,
                format!(
                    "namespace exists ({}); the hub is ensured at run time",
                    ns.service_bus_endpoint
                ),
            ),
        })
    }
    async fn ensure(&self, _ctx: &StepContext) -> StepResult<Outcome> {
        let resource = self.resource();
        let ns = self
            .arm
            .ensure_namespace(&self.namespace, &log_progress(&resource))
            .await
            .map_err(|e| self.error(&e))?;
        let hub = self
            .arm
            .ensure_event_hub(&self.namespace, &self.hub)
            .await
            .map_err(|e| self.error(&e))?;
        let detail = with_warnings(
            format!("{} / {}", ns.namespace.service_bus_endpoint, hub.hub.name),
            &ns.warnings,
        );
        Ok(if ns.created || hub.created {
            Outcome::created(detail)
        } else {
            Outcome::unchanged(detail)
        })
    }
}
