//! Steps for what Flux uses in Azure: the Key Vault key SOPS encrypts with (keyvault-sops), and role
//! assignments of the Flux identity on the resources it reads (aks-cluster).

use super::aks::FLUX_IDENTITY;
use crate::bootstrap::step::{
    Outcome, PlanState, Planned, Step, StepContext, StepError, StepResult, keys,
};
use aks_cluster::{Role, RoleAssignmentSpec, RoleAssignments};
use azflux_core::arm::ArmClient;
use keyvault_sops::{CreateKeyOptions, KeyVaultClient};
use std::sync::Arc;

/// How long [`SopsKeyStep`] waits, between attempts, for the caller's new role assignment to propagate
/// (5 minutes in all; Azure documents "up to 10 minutes", most take one or two).
pub const RBAC_PROPAGATION_WAITS: [std::time::Duration; 7] = [
    std::time::Duration::from_secs(10),
    std::time::Duration::from_secs(20),
    std::time::Duration::from_secs(30),
    std::time::Duration::from_secs(60),
    std::time::Duration::from_secs(60),
    std::time::Duration::from_secs(60),
    std::time::Duration::from_secs(60),
];

/// Ensures the Key Vault key SOPS encrypts with; publishes its id (with version) as
/// [`keys::SOPS_KEY_ID`] (scope `""`).
pub struct SopsKeyStep {
    client: KeyVaultClient,
    vault_url: String,
    key: String,
    after: Vec<String>,
}

impl std::fmt::Debug for SopsKeyStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SopsKeyStep")
            .field("vault_url", &self.vault_url)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl SopsKeyStep {
    /// The step id.
    pub const ID: &'static str = "sops/key-vault-key";

    /// The key `key` in the vault at `vault_url` (`https://<name>.vault.azure.net`).
    pub fn new(client: KeyVaultClient, vault_url: &str, key: &str) -> Self {
        SopsKeyStep {
            client,
            vault_url: vault_url.trim_end_matches('/').to_owned(),
            key: key.into(),
            after: Vec::new(),
        }
    }

    /// Runs after `steps` (the vault, the caller's access to it).
    pub fn after(mut self, steps: Vec<String>) -> Self {
        self.after = steps;
        self
    }

    fn error(&self, e: &keyvault_sops::KeyVaultError) -> StepError {
        StepError::from_error(self.resource(), e).todo(
            "check that the vault exists and that you may create keys in it (Key Vault Crypto Officer), then run again",
        )
    }
}

#[async_trait::async_trait]
impl Step for SopsKeyStep {
    fn id(&self) -> &str {
        Self::ID
    }
    fn deps(&self) -> Vec<String> {
        self.after.clone()
    }
    fn resource(&self) -> String {
        format!("{}/keys/{}", self.vault_url, self.key)
    }
    async fn plan(&self, ctx: &StepContext) -> StepResult<Planned> {
        match self.client.get_key(&self.vault_url, &self.key, "").await {
            Ok(bundle) => {
                ctx.outputs
                    .put("", keys::SOPS_KEY_ID, bundle.key.kid.clone());
                Ok(Planned::new(PlanState::UpToDate, bundle.key.kid))
            }
            Err(keyvault_sops::KeyVaultError::KeyNotFound { .. }) => {
                Ok(Planned::new(PlanState::WouldCreate, "an RSA key for SOPS"))
            }
            Err(e) => Err(self.error(&e)),
        }
    }
    async fn ensure(&self, ctx: &StepContext) -> StepResult<Outcome> {
        // A role assigned to the caller moments ago answers 403 until it has propagated (minutes in
        // Azure): with the caller's role in place, wait for it, boundedly, instead of failing the run.
        let propagating = ctx.outputs.get("", keys::CALLER_KEY_ROLE) == Some(true);
        let mut waits = RBAC_PROPAGATION_WAITS.iter();
        let ensured = loop {
            match self
                .client
                .ensure_key(&self.vault_url, &self.key, &CreateKeyOptions::default())
                .await
            {
                Ok(ensured) => break ensured,
                Err(e @ keyvault_sops::KeyVaultError::Forbidden { .. }) if propagating => {
                    let Some(wait) = waits.next() else {
                        return Err(self.error(&e).todo(
                            "the caller's Key Vault Crypto Officer assignment has not taken effect after 5 minutes: check it (`az role assignment list --scope <vault id> --assignee <you>`), then run again",
                        ));
                    };
                    tracing::info!(vault = %self.vault_url, ?wait, "waiting for the caller's Key Vault role assignment to propagate");
                    ctx.clock.sleep(*wait).await;
                }
                Err(e) => return Err(self.error(&e)),
            }
        };
        let kid = ensured.bundle.key.kid.clone();
        ctx.outputs.put("", keys::SOPS_KEY_ID, kid.clone());
        Ok(if ensured.created {
            Outcome::created(kid)
        } else {
            Outcome::unchanged(kid)
        })
    }
}

/// Gives a cluster's Flux identity a role on a resource (Key Vault Crypto User on the SOPS vault, Azure
/// Event Hubs Data Sender on the hub, AcrPull on the registry).
pub struct FluxRoleStep {
    id: String,
    cluster: String,
    scope: String,
    role: Role,
    arm: Arc<ArmClient>,
    roles: Arc<dyn RoleAssignments>,
    after: Vec<String>,
}

impl std::fmt::Debug for FluxRoleStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FluxRoleStep")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl FluxRoleStep {
    /// The step id: `<cluster>/role/<what>`.
    pub fn id_for(cluster: &str, what: &str) -> String {
        format!("{cluster}/role/{what}")
    }

    /// `role` on `scope` (a resource id) for `cluster`'s Flux identity; `what` names the step.
    pub fn new(
        cluster: &str,
        what: &str,
        scope: &str,
        role: Role,
        arm: Arc<ArmClient>,
        roles: Arc<dyn RoleAssignments>,
    ) -> Self {
        FluxRoleStep {
            id: Self::id_for(cluster, what),
            cluster: cluster.into(),
            scope: scope.into(),
            role,
            arm,
            roles,
            after: Vec::new(),
        }
    }

    /// Also runs after `steps` (the step ensuring the scope's resource).
    pub fn after(mut self, steps: Vec<String>) -> Self {
        self.after = steps;
        self
    }

    fn spec(&self, ctx: &StepContext) -> StepResult<RoleAssignmentSpec> {
        let identity = ctx
            .outputs
            .require(&self.cluster, FLUX_IDENTITY, &self.resource())?;
        Ok(RoleAssignmentSpec::new(
            &self.scope,
            identity.principal_id,
            self.role.clone(),
        ))
    }

    async fn exists(&self, spec: &RoleAssignmentSpec) -> StepResult<bool> {
        let id = aks_cluster::wire::role_assignment_id(spec);
        Ok(self
            .arm
            .get(&id, aks_cluster::wire::AUTHORIZATION_API_VERSION)
            .await
            .map_err(|e| super::azure_error(&self.resource(), &e))?
            .is_some())
    }
}

#[async_trait::async_trait]
impl Step for FluxRoleStep {
    fn id(&self) -> &str {
        &self.id
    }
    fn deps(&self) -> Vec<String> {
        let mut deps = vec![super::FluxIdentityStep::id_for(&self.cluster)];
        deps.extend(self.after.iter().cloned());
        deps
    }
    fn cluster(&self) -> Option<&str> {
        Some(&self.cluster)
    }
    fn resource(&self) -> String {
        format!(
            "{} for the Flux identity of {} on {}",
            self.role.display_name(),
            self.cluster,
            self.scope
        )
    }
    async fn plan(&self, ctx: &StepContext) -> StepResult<Planned> {
        let Ok(spec) = self.spec(ctx) else {
            return Ok(Planned::new(PlanState::Unknown, "needs the Flux identity"));
        };
        Ok(if self.exists(&spec).await? {
            Planned::new(PlanState::UpToDate, "assigned")
        } else {
            Planned::new(PlanState::WouldCreate, "would assign")
        })
    }
    async fn ensure(&self, ctx: &StepContext) -> StepResult<Outcome> {
        let spec = self.spec(ctx)?;
        if self.exists(&spec).await? {
            return Ok(Outcome::unchanged("assigned"));
        }
        let assigned = self
            .roles
            .ensure_role_assignment(&spec)
            .await
            .map_err(|e| {
                StepError::from_error(self.resource(), &e).todo(
                    "the principal running the bootstrap needs User Access Administrator (or Owner) on the scope; grant it, then run again",
                )
            })?;
        Ok(if assigned.existed_under_other_name {
            Outcome::unchanged(format!("already assigned as {}", assigned.name))
        } else {
            Outcome::created(format!("assignment {}", assigned.name))
        })
    }
}

/// Checks that a HelmRelease's chart is in the registry with a version matching its constraint (acr-oci),
/// before the HelmRelease is committed. Reads only: pushing charts is the charts' own pipeline's job.
pub struct AcrChartStep {
    id: String,
    registry: Arc<dyn acr_oci::ChartRegistry>,
    chart: acr_oci::ChartRef,
    constraint: String,
    after: Vec<String>,
}

impl std::fmt::Debug for AcrChartStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcrChartStep")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl AcrChartStep {
    /// The step id of release `name`.
    pub fn id_for(name: &str) -> String {
        format!("acr/chart/{name}")
    }

    /// Release `name` of `chart` at `constraint`.
    pub fn new(
        name: &str,
        registry: Arc<dyn acr_oci::ChartRegistry>,
        chart: acr_oci::ChartRef,
        constraint: &str,
    ) -> Self {
        AcrChartStep {
            id: Self::id_for(name),
            registry,
            chart,
            constraint: constraint.into(),
            after: Vec::new(),
        }
    }

    /// Runs after `steps` (the registry).
    pub fn after(mut self, steps: Vec<String>) -> Self {
        self.after = steps;
        self
    }

    async fn resolve(&self) -> StepResult<semver::Version> {
        self.registry
            .resolve_version(&self.chart, &self.constraint)
            .await
            .map_err(|e| {
                StepError::from_error(self.resource(), &e).todo(format!(
                    "push the chart (`helm push <chart>.tgz {}`) or fix helm.releases.version, then run again",
                    self.chart.repository_url()
                ))
            })
    }
}

#[async_trait::async_trait]
impl Step for AcrChartStep {
    fn id(&self) -> &str {
        &self.id
    }
    fn deps(&self) -> Vec<String> {
        self.after.clone()
    }
    fn resource(&self) -> String {
        format!(
            "oci://{}/{} {}",
            self.chart.registry, self.chart.repository, self.constraint
        )
    }
    async fn plan(&self, _ctx: &StepContext) -> StepResult<Planned> {
        let v = self.resolve().await?;
        Ok(Planned::new(
            PlanState::UpToDate,
            format!("resolves to {v}"),
        ))
    }
    async fn ensure(&self, _ctx: &StepContext) -> StepResult<Outcome> {
        let v = self.resolve().await?;
        Ok(Outcome::unchanged(format!("resolves to {v}")))
    }
}
