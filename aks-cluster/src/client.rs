//! [`ClustersClient`]: the real implementation of [`Clusters`], [`Identities`], [`FederatedCredentials`] and
//! [`RoleAssignments`] over ARM (azflux-core's [`ArmClient`]: pipeline, retries, long-running operations).

use crate::api::{
    Cluster, ClusterEvent, ClusterPlan, ClusterRef, ClusterSpec, Clusters, EnsuredCluster, Error,
    FederatedCredential, FederatedCredentialSpec, FederatedCredentials, Finding, Identities,
    Identity, IdentitySpec, Kubeconfig, NodeImageStatus, Progress, PropertyChange, Result,
    RoleAssignment, RoleAssignmentSpec, RoleAssignments, Severity,
};
use crate::brownfield;
use crate::wire::{self, AKS_API_VERSION, AUTHORIZATION_API_VERSION, MSI_API_VERSION};
use azflux_core::TokenCredential;
use azflux_core::arm::{
    ArmClient, ArmClientOptions, ArmResponse, Ensured, LroPoller, LroProgress, LroStart,
    PollerOptions,
};
use azflux_core::clock::Clock;
use azflux_core::cloud::Cloud;
use azflux_core::http::{HttpMethod, json_request};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The code Azure answers overlapping federated-credential writes on one identity with.
pub const CONCURRENT_FIC_WRITES: &str =
    "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity";

/// Options for [`ClustersClient::new`].
#[derive(Debug, Clone)]
pub struct ClustersClientOptions {
    /// Transport, retry, clock and long-running-operation polling.
    pub arm: ArmClientOptions,
    /// Attempts after `PrincipalNotFound` (a brand-new identity not yet replicated); default 6.
    pub principal_not_found_retries: u32,
    /// First wait after `PrincipalNotFound`, doubled each time up to 60 s; default 5 s.
    pub principal_not_found_backoff: Duration,
    /// Attempts after a 409 `ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity` (another
    /// writer outside this client); default 5, waiting 1 s, 2 s, 4 s…
    pub fic_conflict_retries: u32,
    /// Whether `ensure_cluster` on an existing cluster also checks node images (one GET per pool) and warns
    /// about stale ones; default `true`.
    pub check_node_images: bool,
}

impl Default for ClustersClientOptions {
    fn default() -> Self {
        Self {
            arm: ArmClientOptions::default(),
            principal_not_found_retries: 6,
            principal_not_found_backoff: Duration::from_secs(5),
            fic_conflict_retries: 5,
            check_node_images: true,
        }
    }
}

/// AKS clusters, managed identities, federated credentials and role assignments through Resource Manager.
/// Cloning shares the connection pool, token cache and the per-identity write locks.
#[derive(Debug, Clone)]
pub struct ClustersClient {
    arm: ArmClient,
    options: ClustersClientOptions,
    fic_locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl ClustersClient {
    /// The node-image status of each pool of `found` (the cluster `id` as just read): one GET of each
    /// pool's upgrade profile.
    async fn image_status_of(&self, id: &str, found: &Cluster) -> Result<Vec<NodeImageStatus>> {
        let profiles = found.node_pools.iter().map(|pool| {
            let path = format!("{id}/agentPools/{}/upgradeProfiles/default", pool.name);
            async move {
                let latest = self
                    .arm
                    .get(&path, AKS_API_VERSION)
                    .await?
                    .and_then(|r| wire::parse_latest_node_image(&r.body));
                Ok::<_, Error>(NodeImageStatus {
                    pool: pool.name.clone(),
                    current: pool.node_image_version.clone(),
                    latest,
                })
            }
        });
        futures::future::try_join_all(profiles).await
    }

    /// A client for `cloud`'s Resource Manager, authenticating with `credential`.
    pub fn new(
        cloud: &Cloud,
        credential: Arc<dyn TokenCredential>,
        options: ClustersClientOptions,
    ) -> Self {
        let arm = ArmClient::new(cloud, credential, options.arm.clone());
        Self {
            arm,
            options,
            fic_locks: Default::default(),
        }
    }

    /// The underlying ARM client.
    pub fn arm(&self) -> &ArmClient {
        &self.arm
    }

    fn clock(&self) -> Arc<dyn Clock> {
        self.arm.pipeline().clock().clone()
    }

    fn poller(&self) -> &PollerOptions {
        &self.options.arm.poller
    }

    fn fic_lock(&self, identity_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.fic_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(identity_id.trim_end_matches('/').to_ascii_lowercase())
            .or_default()
            .clone()
    }

    /// PUTs a managed cluster with the conditional headers AKS accepts (`If-Match: <eTag>` for a
    /// read-modify-write, `If-None-Match: *` for a create, so a cluster someone else created meanwhile is
    /// never overwritten), then polls the long-running operation to the end.
    async fn put_cluster(
        &self,
        id: &str,
        body: &Value,
        condition: Condition<'_>,
        progress: Progress<'_>,
    ) -> Result<Value> {
        let resource = format!("PUT {id}");
        let url = self.arm.url(id, AKS_API_VERSION)?;
        let mut request = json_request(HttpMethod::Put, url.clone(), Some(body))?;
        match condition {
            Condition::IfMatch(etag) => request.insert_header("if-match", etag.to_owned()),
            Condition::IfNoneMatch => request.insert_header("if-none-match", "*"),
            Condition::None => {}
        }
        let response = self
            .arm
            .pipeline()
            .send(&mut request)
            .await?
            .check(&resource)?;
        let forward = |p: &LroProgress| progress(&ClusterEvent::Operation(p.clone()));
        let poller = LroPoller::new(self.arm.pipeline().clone(), self.poller().clone());
        let done = poller
            .wait(LroStart::new(HttpMethod::Put, url, response), &forward)
            .await?;
        Ok(done.json(&resource)?)
    }

    /// Changes only Flux's needs on the existing cluster `current`: a read-modify-write, repeated
    /// (boundedly) when another writer changed the cluster between the GET and the PUT (412). `None` when
    /// nothing had to be sent; otherwise the cluster after the update and the changes made.
    async fn update_existing(
        &self,
        spec: &ClusterSpec,
        id: &str,
        mut current: Value,
        progress: Progress<'_>,
    ) -> Result<Option<(Value, Vec<PropertyChange>)>> {
        let mut attempt = 0u32;
        loop {
            let state = brownfield::provisioning_state(&current).to_owned();
            if !brownfield::is_terminal(&state) {
                return Err(Error::OperationInProgress {
                    cluster: id.to_owned(),
                    state,
                });
            }
            let plan = brownfield::plan(spec, &current);
            if plan.changes.is_empty() && state.eq_ignore_ascii_case("succeeded") {
                return Ok(None);
            }
            if brownfield::is_stopped(&current) {
                return Err(Error::ClusterNotReady {
                    cluster: id.to_owned(),
                    problem: "is stopped, and AKS refuses updates of a stopped cluster: start it (`az aks start`), then run again".into(),
                });
            }
            let body = brownfield::update_body(&current, &plan.changes);
            progress(&ClusterEvent::Sending {
                action: "update",
                resource: id.to_owned(),
            });
            let condition = match brownfield::etag(&current) {
                Some(etag) => Condition::IfMatch(etag),
                None => Condition::None,
            };
            match self.put_cluster(id, &body, condition, progress).await {
                Ok(done) => return Ok(Some((done, plan.changes))),
                Err(Error::Azure(e)) if e.status() == Some(412) && attempt < 3 => {
                    attempt += 1;
                    current = match self.arm.get(id, AKS_API_VERSION).await? {
                        Some(r) => r.body,
                        None => {
                            return Err(Error::ClusterNotReady {
                                cluster: id.to_owned(),
                                problem: "was deleted while it was being updated".into(),
                            });
                        }
                    };
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn put_fic_serialised(
        &self,
        spec: &FederatedCredentialSpec,
    ) -> Result<FederatedCredential> {
        let body = wire::fic_body(spec);
        let id = spec.id();
        let mut attempt = 0u32;
        loop {
            match self
                .arm
                .put_and_wait(&id, MSI_API_VERSION, &body, &|_| {})
                .await
            {
                Ok(r) => return wire::parse_fic(&r.body),
                Err(e)
                    if e.code() == Some(CONCURRENT_FIC_WRITES)
                        && attempt < self.options.fic_conflict_retries =>
                {
                    attempt += 1;
                    self.clock()
                        .sleep(Duration::from_secs(1 << (attempt - 1).min(5)))
                        .await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Ensures the credentials of one identity, in order, holding its write lock.
    async fn ensure_fics_of_identity(
        &self,
        identity_id: &str,
        specs: Vec<(usize, &FederatedCredentialSpec)>,
    ) -> Result<Vec<(usize, Ensured<FederatedCredential>)>> {
        let lock = self.fic_lock(identity_id);
        let _guard = lock.lock().await;
        let mut existing = self.list_fics(identity_id).await?;
        let mut out = Vec::with_capacity(specs.len());
        for (index, spec) in specs {
            let same_name = existing
                .iter()
                .position(|f| f.name.eq_ignore_ascii_case(&spec.name));
            if let Some(i) = same_name
                && wire::fic_matches(spec, &existing[i])
            {
                out.push((index, Ensured::Unchanged(existing[i].clone())));
                continue;
            }
            if same_name.is_none()
                && let Some(other) = existing.iter().find(|f| wire::fic_matches(spec, f))
            {
                // Azure refuses a second credential with the same issuer and subject; the binding exists.
                out.push((index, Ensured::Unchanged(other.clone())));
                continue;
            }
            let written = self.put_fic_serialised(spec).await?;
            match same_name {
                Some(i) => {
                    existing[i] = written.clone();
                    out.push((index, Ensured::Updated(written)));
                }
                None => {
                    existing.push(written.clone());
                    out.push((index, Ensured::Created(written)));
                }
            }
        }
        Ok(out)
    }

    async fn list_fics(&self, identity_id: &str) -> Result<Vec<FederatedCredential>> {
        let path = format!(
            "{}/federatedIdentityCredentials",
            identity_id.trim_end_matches('/')
        );
        self.arm
            .list(&path, MSI_API_VERSION)
            .await?
            .iter()
            .map(wire::parse_fic)
            .collect()
    }

    /// The assignment that already grants `spec` under another name (after 409 `RoleAssignmentExists`).
    async fn find_existing_assignment(&self, spec: &RoleAssignmentSpec) -> Option<RoleAssignment> {
        let path = format!(
            "{}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId%20eq%20'{}'",
            spec.scope.trim_end_matches('/'),
            spec.principal_id
        );
        let items = self.arm.list(&path, AUTHORIZATION_API_VERSION).await.ok()?;
        let guid = spec.role.definition_guid().to_ascii_lowercase();
        items
            .iter()
            .find(|v| {
                v.pointer("/properties/roleDefinitionId")
                    .and_then(Value::as_str)
                    .is_some_and(|r| r.to_ascii_lowercase().ends_with(&guid))
                    && v.pointer("/properties/scope")
                        .and_then(Value::as_str)
                        .is_some_and(|s| {
                            s.trim_end_matches('/')
                                .eq_ignore_ascii_case(spec.scope.trim_end_matches('/'))
                        })
            })
            .map(|v| wire::parse_role_assignment(spec, v))
    }
}

/// The precondition header of a cluster PUT.
#[derive(Debug, Clone, Copy)]
enum Condition<'a> {
    /// `If-Match: <eTag>`: only if nobody changed the cluster since it was read.
    IfMatch(&'a str),
    /// `If-None-Match: *`: only if the cluster does not exist.
    IfNoneMatch,
    /// No precondition (the service sent no eTag).
    None,
}

impl ClustersClient {
    /// The preflight checks of `spec`: an error for refusals, the warnings otherwise.
    fn preflight(&self, id: &str, spec: &ClusterSpec) -> Result<Vec<Finding>> {
        let (refusals, warnings): (Vec<_>, Vec<_>) = wire::preflight(spec)
            .into_iter()
            .partition(|f| f.severity == Severity::Refusal);
        if refusals.is_empty() {
            Ok(warnings)
        } else {
            Err(refusal(id.to_owned(), &refusals))
        }
    }
}

fn refusal(resource: String, findings: &[crate::api::Finding]) -> Error {
    Error::Refused {
        resource,
        reason: findings
            .iter()
            .map(|f| format!("[{}] {}", f.check, f.reason))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

#[async_trait::async_trait]
impl Clusters for ClustersClient {
    async fn ensure_cluster(
        &self,
        spec: &ClusterSpec,
        progress: Progress<'_>,
    ) -> Result<EnsuredCluster> {
        let id = spec.cluster_ref().id();
        let mut warnings = self.preflight(&id, spec)?;
        for w in &warnings {
            progress(&ClusterEvent::Preflight(w.clone()));
        }
        let Some(ArmResponse { body: current, .. }) = self.arm.get(&id, AKS_API_VERSION).await?
        else {
            progress(&ClusterEvent::Sending {
                action: "create",
                resource: id.clone(),
            });
            let desired = wire::cluster_body(spec);
            let done = self
                .put_cluster(&id, &desired, Condition::IfNoneMatch, progress)
                .await?;
            return Ok(EnsuredCluster {
                cluster: Ensured::Created(wire::parse_cluster(&done)?),
                warnings,
                changes: Vec::new(),
            });
        };
        let state = brownfield::provisioning_state(&current).to_owned();
        if !brownfield::is_terminal(&state) {
            return Err(Error::OperationInProgress { cluster: id, state });
        }
        for w in brownfield::plan(spec, &current).kept {
            progress(&ClusterEvent::Preflight(w.clone()));
            warnings.push(w);
        }
        let (sent, done, changes) = match self
            .update_existing(spec, &id, current.clone(), progress)
            .await?
        {
            Some((done, changes)) => (true, done, changes),
            None => (false, current, Vec::new()),
        };
        let cluster = wire::parse_cluster(&done)?;
        if self.options.check_node_images {
            // The cluster was just read: only the pools' upgrade profiles are fetched.
            let status = self.image_status_of(&id, &cluster).await?;
            for w in wire::stale_image_findings(&status) {
                progress(&ClusterEvent::Preflight(w.clone()));
                warnings.push(w);
            }
        }
        Ok(EnsuredCluster {
            cluster: if sent {
                Ensured::Updated(cluster)
            } else {
                Ensured::Unchanged(cluster)
            },
            warnings,
            changes,
        })
    }

    async fn plan_cluster(&self, spec: &ClusterSpec) -> Result<ClusterPlan> {
        let id = spec.cluster_ref().id();
        let mut warnings = self.preflight(&id, spec)?;
        let Some(current) = self.arm.get(&id, AKS_API_VERSION).await? else {
            return Ok(ClusterPlan::Create);
        };
        let plan = brownfield::plan(spec, &current.body);
        warnings.extend(plan.kept);
        Ok(ClusterPlan::Existing {
            busy: !brownfield::is_terminal(brownfield::provisioning_state(&current.body)),
            cluster: Box::new(wire::parse_cluster(&current.body)?),
            changes: plan.changes,
            warnings,
        })
    }

    async fn get_cluster(&self, cluster: &ClusterRef) -> Result<Option<Cluster>> {
        match self.arm.get(&cluster.id(), AKS_API_VERSION).await? {
            Some(r) => wire::parse_cluster(&r.body).map(Some),
            None => Ok(None),
        }
    }

    async fn kubeconfig(&self, cluster: &ClusterRef) -> Result<Kubeconfig> {
        let r = self
            .arm
            .post_and_wait(
                &cluster.id(),
                "listClusterUserCredential",
                AKS_API_VERSION,
                None,
                &|_| {},
            )
            .await?;
        Ok(Kubeconfig {
            yaml: wire::parse_kubeconfig(&r.body)?.into(),
        })
    }

    async fn node_image_status(&self, cluster: &ClusterRef) -> Result<Vec<NodeImageStatus>> {
        let id = cluster.id();
        let Some(found) = self.get_cluster(cluster).await? else {
            return Err(Error::ClusterNotReady {
                cluster: id,
                problem: "does not exist: create it first (ensure_cluster)".into(),
            });
        };
        self.image_status_of(&id, &found).await
    }

    async fn begin_upgrade_node_image(
        &self,
        cluster: &ClusterRef,
        pool: &str,
        progress: Progress<'_>,
    ) -> Result<()> {
        wire::validate_pool_name(pool)?;
        let forward = |p: &LroProgress| progress(&ClusterEvent::Operation(p.clone()));
        self.arm
            .post_and_wait(
                &format!("{}/agentPools/{pool}", cluster.id()),
                "upgradeNodeImageVersion",
                AKS_API_VERSION,
                None,
                &forward,
            )
            .await?;
        Ok(())
    }

    async fn delete_cluster(&self, cluster: &ClusterRef, progress: Progress<'_>) -> Result<bool> {
        wire::validate_cluster_name(&cluster.name)?;
        let forward = |p: &LroProgress| progress(&ClusterEvent::Operation(p.clone()));
        Ok(self
            .arm
            .delete(&cluster.id(), AKS_API_VERSION, &forward)
            .await?)
    }
}

#[async_trait::async_trait]
impl Identities for ClustersClient {
    async fn ensure_identity(&self, spec: &IdentitySpec) -> Result<Ensured<Identity>> {
        wire::validate_subscription(&spec.subscription_id)?;
        wire::validate_resource_group(&spec.resource_group)?;
        wire::validate_identity_name(&spec.name)?;
        let id = spec.id();
        let desired = wire::identity_body(spec);
        let existing = self.arm.get(&id, MSI_API_VERSION).await?;
        if let Some(current) = &existing {
            let identity = wire::parse_identity(&current.body)?;
            if identity.tags == spec.tags
                && identity
                    .location
                    .replace(' ', "")
                    .eq_ignore_ascii_case(&spec.location.replace(' ', ""))
            {
                return Ok(Ensured::Unchanged(identity));
            }
        }
        let done = self
            .arm
            .put_and_wait(&id, MSI_API_VERSION, &desired, &|_| {})
            .await?;
        let identity = wire::parse_identity(&done.body)?;
        Ok(if existing.is_some() {
            Ensured::Updated(identity)
        } else {
            Ensured::Created(identity)
        })
    }

    async fn get_identity(&self, id: &str) -> Result<Option<Identity>> {
        match self.arm.get(id, MSI_API_VERSION).await? {
            Some(r) => wire::parse_identity(&r.body).map(Some),
            None => Ok(None),
        }
    }

    async fn delete_identity(&self, id: &str) -> Result<bool> {
        Ok(self.arm.delete(id, MSI_API_VERSION, &|_| {}).await?)
    }
}

#[async_trait::async_trait]
impl FederatedCredentials for ClustersClient {
    async fn ensure_federated_credential(
        &self,
        spec: &FederatedCredentialSpec,
    ) -> Result<Ensured<FederatedCredential>> {
        wire::validate_fic(spec)?;
        let lock = self.fic_lock(&spec.identity_id);
        let _guard = lock.lock().await;
        let existing = match self.arm.get(&spec.id(), MSI_API_VERSION).await? {
            Some(r) => Some(wire::parse_fic(&r.body)?),
            None => None,
        };
        if let Some(current) = &existing
            && wire::fic_matches(spec, current)
        {
            return Ok(Ensured::Unchanged(current.clone()));
        }
        let written = self.put_fic_serialised(spec).await?;
        Ok(if existing.is_some() {
            Ensured::Updated(written)
        } else {
            Ensured::Created(written)
        })
    }

    async fn ensure_federated_credentials(
        &self,
        specs: &[FederatedCredentialSpec],
    ) -> Result<Vec<Ensured<FederatedCredential>>> {
        for spec in specs {
            wire::validate_fic(spec)?;
        }
        let mut groups: Vec<(String, Vec<(usize, &FederatedCredentialSpec)>)> = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let key = spec.identity_id.trim_end_matches('/').to_ascii_lowercase();
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push((i, spec)),
                None => groups.push((key, vec![(i, spec)])),
            }
        }
        let runs = groups.into_iter().map(|(_, members)| {
            let identity = members
                .first()
                .map(|(_, s)| s.identity_id.clone())
                .unwrap_or_default();
            async move { self.ensure_fics_of_identity(&identity, members).await }
        });
        let mut results: Vec<(usize, Ensured<FederatedCredential>)> =
            futures::future::try_join_all(runs)
                .await?
                .into_iter()
                .flatten()
                .collect();
        results.sort_by_key(|(i, _)| *i);
        Ok(results.into_iter().map(|(_, e)| e).collect())
    }

    async fn list_federated_credentials(
        &self,
        identity_id: &str,
    ) -> Result<Vec<FederatedCredential>> {
        self.list_fics(identity_id).await
    }

    async fn delete_federated_credential(&self, identity_id: &str, name: &str) -> Result<bool> {
        wire::validate_fic_name(name)?;
        let lock = self.fic_lock(identity_id);
        let _guard = lock.lock().await;
        let id = format!(
            "{}/federatedIdentityCredentials/{name}",
            identity_id.trim_end_matches('/')
        );
        Ok(self.arm.delete(&id, MSI_API_VERSION, &|_| {}).await?)
    }
}

#[async_trait::async_trait]
impl RoleAssignments for ClustersClient {
    async fn ensure_role_assignment(&self, spec: &RoleAssignmentSpec) -> Result<RoleAssignment> {
        if spec.principal_id.trim().is_empty() {
            return Err(Error::invalid(
                "role assignment principal",
                "the principal (object) id is empty: pass the identity's principalId",
            ));
        }
        let body = wire::role_assignment_body(spec)?;
        let id = wire::role_assignment_id(spec);
        let mut attempt = 0u32;
        loop {
            match self
                .arm
                .put_and_wait(&id, AUTHORIZATION_API_VERSION, &body, &|_| {})
                .await
            {
                Ok(r) => return Ok(wire::parse_role_assignment(spec, &r.body)),
                Err(e) if e.code() == Some("RoleAssignmentExists") => {
                    let mut found = match self.find_existing_assignment(spec).await {
                        Some(found) => found,
                        None => wire::parse_role_assignment(spec, &Value::Null),
                    };
                    found.existed_under_other_name = true;
                    return Ok(found);
                }
                Err(e)
                    if e.code() == Some("PrincipalNotFound")
                        && attempt < self.options.principal_not_found_retries =>
                {
                    attempt += 1;
                    let wait = self
                        .options
                        .principal_not_found_backoff
                        .saturating_mul(1 << (attempt - 1).min(10))
                        .min(Duration::from_secs(60));
                    self.clock().sleep(wait).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn delete_role_assignment(&self, spec: &RoleAssignmentSpec) -> Result<bool> {
        wire::scope_subscription(&spec.scope)?;
        Ok(self
            .arm
            .delete(
                &wire::role_assignment_id(spec),
                AUTHORIZATION_API_VERSION,
                &|_| {},
            )
            .await?)
    }
}
