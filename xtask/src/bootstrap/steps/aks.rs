//! AKS steps (aks-cluster): the cluster (long-running) with its OIDC issuer and kubeconfig, the Flux
//! controllers' managed identity, and its federated credentials (after the issuer is known).

use crate::bootstrap::kube::Kubeconfig;
use crate::bootstrap::step::{
    Change, Outcome, PlanState, Planned, Step, StepContext, StepError, StepResult, keys,
};
use aks_cluster::{
    ClusterPlan, ClusterSpec, Clusters, Ensured, FederatedCredentialSpec, FederatedCredentials,
    Finding, Identities, IdentitySpec,
};
use std::sync::Arc;

/// Rewrites a cluster's kubeconfig before use: the identity in production; in the sandbox it points the
/// AKS API server at the fake Kubernetes API (as the fake cloud's transport routes Azure hosts).
pub type KubeRoute = Arc<dyn Fn(&str, Kubeconfig) -> Kubeconfig + Send + Sync>;

fn aks_error(resource: &str, e: &aks_cluster::Error) -> StepError {
    let err = StepError::from_error(resource, e);
    if let aks_cluster::Error::OperationInProgress { state, .. } = e {
        return err.todo(format!(
            "the cluster is {state}: wait until that operation finishes (`az aks wait --updated`, or the portal), then run `cargo xtask bootstrap` again — nothing was changed"
        ));
    }
    match e.code() {
        Some("QuotaExceeded") | Some("OperationNotAllowed") => err.todo(
            "request more quota for the region's VM family (or pick another location), then run again",
        ),
        Some(c) if c.contains("Throttl") => err.todo(
            "Azure Resource Manager throttled the subscription: wait a minute, then run `cargo xtask bootstrap` again",
        ),
        _ => err,
    }
}

/// `detail`, then each warning (`; warning: …`), the way the resource steps report what they left alone.
fn with_findings(detail: String, warnings: &[Finding]) -> String {
    warnings.iter().fold(detail, |mut d, w| {
        d.push_str(&format!("; warning [{}]: {}", w.check, w.reason));
        d
    })
}

/// The identity of the Flux controllers of one cluster (what workload identity needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FluxIdentity {
    /// Resource id of the user-assigned identity.
    pub resource_id: String,
    /// Client id (`azure.workload.identity/client-id`).
    pub client_id: String,
    /// Principal id (role assignments).
    pub principal_id: String,
    /// Tenant id (`azure.workload.identity/tenant-id`).
    pub tenant_id: String,
}

/// The Flux identity of a cluster (scope: the cluster name).
pub const FLUX_IDENTITY: crate::bootstrap::step::Key<FluxIdentity> =
    crate::bootstrap::step::Key::new("flux_identity");

/// Ensures the AKS cluster; publishes its OIDC issuer and its kubeconfig.
pub struct AksClusterStep {
    id: String,
    deps: Vec<String>,
    cluster: String,
    spec: ClusterSpec,
    clusters: Arc<dyn Clusters>,
    route: Option<KubeRoute>,
    credential: Option<Arc<dyn azflux_core::TokenCredential>>,
}

impl std::fmt::Debug for AksClusterStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AksClusterStep")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl AksClusterStep {
    /// The step id of cluster `c`.
    pub fn id_for(c: &str) -> String {
        format!("{c}/aks-cluster")
    }

    /// Ensures `spec` (cluster `cluster`) after `deps`; `route` rewrites the kubeconfig (sandbox).
    pub fn new(
        cluster: &str,
        deps: Vec<String>,
        spec: ClusterSpec,
        clusters: Arc<dyn Clusters>,
        route: Option<KubeRoute>,
    ) -> Self {
        AksClusterStep {
            id: Self::id_for(cluster),
            deps,
            cluster: cluster.into(),
            spec,
            clusters,
            route,
            credential: None,
        }
    }

    /// The credential an Entra ID cluster's kubeconfig (kubelogin user) gets its tokens from.
    pub fn with_credential(mut self, credential: Arc<dyn azflux_core::TokenCredential>) -> Self {
        self.credential = Some(credential);
        self
    }

    async fn publish(&self, ctx: &StepContext, issuer: Option<String>) -> StepResult<()> {
        let resource = self.resource();
        if let Some(issuer) = issuer {
            ctx.outputs
                .put(&self.cluster, keys::OIDC_ISSUER_URL, issuer);
        }
        let raw = self
            .clusters
            .kubeconfig(&self.spec.cluster_ref())
            .await
            .map_err(|e| aks_error(&resource, &e))?;
        let mut kubeconfig =
            Kubeconfig::parse(secrecy::ExposeSecret::expose_secret(&raw.yaml), None)
                .map_err(|e| super::kube_error(&resource, &e))?;
        if let Some(credential) = &self.credential {
            kubeconfig = kubeconfig.with_entra_credential(credential.clone());
        }
        if let Some(route) = &self.route {
            kubeconfig = route(&self.cluster, kubeconfig);
        }
        ctx.outputs.put(&self.cluster, keys::KUBECONFIG, kubeconfig);
        Ok(())
    }
}

#[async_trait::async_trait]
impl Step for AksClusterStep {
    fn id(&self) -> &str {
        &self.id
    }
    fn deps(&self) -> Vec<String> {
        self.deps.clone()
    }
    fn cluster(&self) -> Option<&str> {
        Some(&self.cluster)
    }
    fn long_running(&self) -> bool {
        true
    }
    fn resource(&self) -> String {
        self.spec.cluster_ref().id()
    }
    async fn plan(&self, ctx: &StepContext) -> StepResult<Planned> {
        let resource = self.resource();
        match self.clusters.plan_cluster(&self.spec).await {
            Ok(ClusterPlan::Create)
            | Err(aks_cluster::Error::Azure(azflux_core::Error::NotFound(_))) => Ok(Planned::new(
                PlanState::WouldCreate,
                format!("AKS cluster in {} (long-running)", self.spec.location),
            )),
            Ok(ClusterPlan::Existing {
                cluster,
                changes,
                warnings,
                busy,
            }) => {
                self.publish(ctx, cluster.oidc_issuer_url.clone()).await?;
                let (state, detail) = if busy {
                    (
                        PlanState::Unknown,
                        format!(
                            "exists and is {}: an operation is still running, so the run would refuse to touch it",
                            cluster.provisioning_state
                        ),
                    )
                } else if changes.is_empty() {
                    (
                        PlanState::UpToDate,
                        "exists with the OIDC issuer and workload identity; nothing would be sent"
                            .into(),
                    )
                } else {
                    let diff: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
                    (
                        PlanState::WouldChange,
                        format!(
                            "exists; one read-modify-write would change only {} (pools, tags and profiles are sent back as read)",
                            diff.join(", ")
                        ),
                    )
                };
                Ok(Planned::new(state, with_findings(detail, &warnings)))
            }
            Err(e) => Err(aks_error(&resource, &e)),
        }
    }
    async fn ensure(&self, ctx: &StepContext) -> StepResult<Outcome> {
        let resource = self.resource();
        let ensured = self
            .clusters
            .ensure_cluster(&self.spec, &|event| tracing::debug!(?event, "AKS cluster"))
            .await
            .map_err(|e| aks_error(&resource, &e))?;
        let (change, cluster) = match ensured.cluster {
            Ensured::Created(c) => (Change::Created, c),
            Ensured::Updated(c) => (Change::Changed, c),
            Ensured::Unchanged(c) => (Change::Unchanged, c),
        };
        let Some(issuer) = cluster.oidc_issuer_url.clone() else {
            return Err(StepError::new(
                resource,
                "the cluster has no OIDC issuer URL",
                "enable the OIDC issuer (`az aks update --enable-oidc-issuer`), then run again",
            ));
        };
        self.publish(ctx, Some(issuer)).await?;
        let mut detail = format!(
            "{} in {}, Kubernetes {}",
            cluster.name,
            cluster.location,
            cluster.current_kubernetes_version.as_deref().unwrap_or("?")
        );
        if !ensured.changes.is_empty() {
            let diff: Vec<String> = ensured.changes.iter().map(|c| c.to_string()).collect();
            detail.push_str(&format!("; changed only {}", diff.join(", ")));
        }
        Ok(Outcome {
            change,
            detail: with_findings(detail, &ensured.warnings),
        })
    }
}

/// Ensures the user-assigned identity of a cluster's Flux controllers; publishes [`FLUX_IDENTITY`].
pub struct FluxIdentityStep {
    id: String,
    deps: Vec<String>,
    cluster: String,
    spec: IdentitySpec,
    identities: Arc<dyn Identities>,
}

impl std::fmt::Debug for FluxIdentityStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FluxIdentityStep")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl FluxIdentityStep {
    /// The step id of cluster `c`.
    pub fn id_for(c: &str) -> String {
        format!("{c}/flux-identity")
    }

    /// Ensures `spec` for `cluster` after `deps`.
    pub fn new(
        cluster: &str,
        deps: Vec<String>,
        spec: IdentitySpec,
        identities: Arc<dyn Identities>,
    ) -> Self {
        FluxIdentityStep {
            id: Self::id_for(cluster),
            deps,
            cluster: cluster.into(),
            spec,
            identities,
        }
    }

    fn publish(&self, ctx: &StepContext, i: &aks_cluster::Identity) {
        ctx.outputs.put(
            &self.cluster,
            FLUX_IDENTITY,
            FluxIdentity {
                resource_id: i.id.clone(),
                client_id: i.client_id.clone(),
                principal_id: i.principal_id.clone(),
                tenant_id: i.tenant_id.clone(),
            },
        );
        ctx.outputs.put(
            &self.cluster,
            keys::IDENTITY_CLIENT_IDS,
            [("flux".to_owned(), i.client_id.clone())]
                .into_iter()
                .collect(),
        );
    }
}

#[async_trait::async_trait]
impl Step for FluxIdentityStep {
    fn id(&self) -> &str {
        &self.id
    }
    fn deps(&self) -> Vec<String> {
        self.deps.clone()
    }
    fn cluster(&self) -> Option<&str> {
        Some(&self.cluster)
    }
    fn resource(&self) -> String {
        self.spec.id()
    }
    async fn plan(&self, ctx: &StepContext) -> StepResult<Planned> {
        let resource = self.resource();
        match self.identities.get_identity(&resource).await {
            Ok(Some(i)) => {
                self.publish(ctx, &i);
                Ok(Planned::new(
                    PlanState::UpToDate,
                    format!("client id {}", i.client_id),
                ))
            }
            Ok(None) | Err(aks_cluster::Error::Azure(azflux_core::Error::NotFound(_))) => {
                Ok(Planned::new(
                    PlanState::WouldCreate,
                    "user-assigned identity for the Flux controllers",
                ))
            }
            Err(e) => Err(aks_error(&resource, &e)),
        }
    }
    async fn ensure(&self, ctx: &StepContext) -> StepResult<Outcome> {
        let resource = self.resource();
        let ensured = self
            .identities
            .ensure_identity(&self.spec)
            .await
            .map_err(|e| aks_error(&resource, &e))?;
        let (change, identity) = match ensured {
            Ensured::Created(i) => (Change::Created, i),
            Ensured::Updated(i) => (Change::Changed, i),
            Ensured::Unchanged(i) => (Change::Unchanged, i),
        };
        self.publish(ctx, &identity);
        Ok(Outcome {
            change,
            detail: format!("{} (client id {})", identity.name, identity.client_id),
        })
    }
}

/// Binds the Flux identity to each controller's service account, trusting the cluster's OIDC issuer.
pub struct FederatedCredentialsStep {
    id: String,
    cluster: String,
    controllers: Vec<String>,
    federated: Arc<dyn FederatedCredentials>,
}

impl std::fmt::Debug for FederatedCredentialsStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FederatedCredentialsStep")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl FederatedCredentialsStep {
    /// The step id of cluster `c`.
    pub fn id_for(c: &str) -> String {
        format!("{c}/federated-credentials")
    }

    /// One credential per controller in `controllers`.
    pub fn new(
        cluster: &str,
        controllers: Vec<String>,
        federated: Arc<dyn FederatedCredentials>,
    ) -> Self {
        FederatedCredentialsStep {
            id: Self::id_for(cluster),
            cluster: cluster.into(),
            controllers,
            federated,
        }
    }

    fn specs(&self, ctx: &StepContext) -> StepResult<Vec<FederatedCredentialSpec>> {
        let resource = self.resource();
        let identity = ctx
            .outputs
            .require(&self.cluster, FLUX_IDENTITY, &resource)?;
        let issuer = ctx
            .outputs
            .require(&self.cluster, keys::OIDC_ISSUER_URL, &resource)?;
        Ok(self
            .controllers
            .iter()
            .map(|c| {
                FederatedCredentialSpec::for_flux_controller(&identity.resource_id, &issuer, c)
            })
            .collect())
    }
}

#[async_trait::async_trait]
impl Step for FederatedCredentialsStep {
    fn id(&self) -> &str {
        &self.id
    }
    fn deps(&self) -> Vec<String> {
        vec![
            AksClusterStep::id_for(&self.cluster),
            FluxIdentityStep::id_for(&self.cluster),
        ]
    }
    fn cluster(&self) -> Option<&str> {
        Some(&self.cluster)
    }
    fn resource(&self) -> String {
        format!(
            "cluster {}: federated credentials of the Flux identity",
            self.cluster
        )
    }
    async fn plan(&self, ctx: &StepContext) -> StepResult<Planned> {
        let Ok(specs) = self.specs(ctx) else {
            return Ok(Planned::new(
                PlanState::Unknown,
                "needs the cluster's OIDC issuer",
            ));
        };
        let resource = self.resource();
        let identity = &specs[0].identity_id;
        let existing = self
            .federated
            .list_federated_credentials(identity)
            .await
            .map_err(|e| aks_error(&resource, &e))?;
        let missing: Vec<&str> = specs
            .iter()
            .filter(|s| {
                !existing
                    .iter()
                    .any(|e| e.name == s.name && e.issuer == s.issuer && e.subject == s.subject)
            })
            .map(|s| s.name.as_str())
            .collect();
        Ok(if missing.is_empty() {
            Planned::new(PlanState::UpToDate, format!("{} credentials", specs.len()))
        } else {
            Planned::new(
                PlanState::WouldCreate,
                format!("would create or fix {}", missing.join(", ")),
            )
        })
    }
    async fn ensure(&self, ctx: &StepContext) -> StepResult<Outcome> {
        let specs = self.specs(ctx)?;
        let resource = self.resource();
        let results = self
            .federated
            .ensure_federated_credentials(&specs)
            .await
            .map_err(|e| aks_error(&resource, &e))?;
        let created = results
            .iter()
            .filter(|r| matches!(r, Ensured::Created(_)))
            .count();
        let updated = results
            .iter()
            .filter(|r| matches!(r, Ensured::Updated(_)))
            .count();
        let detail = format!(
            "{} credentials ({created} created, {updated} updated)",
            results.len()
        );
        Ok(if created == results.len() {
            Outcome::created(detail)
        } else if created + updated > 0 {
            Outcome::changed(detail)
        } else {
            Outcome::unchanged(detail)
        })
    }
}
