//! The traits and domain types a caller sees.

pub use crate::brownfield::PropertyChange;
use azflux_core::arm::{Ensured, LroProgress};
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::fmt;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Azure refused a request, or a long-running operation failed (code and message as Azure sent them).
    #[error(transparent)]
    Azure(#[from] azflux_core::Error),
    /// A preflight check refused the spec before any request was sent.
    #[error("preflight refused {resource}: {reason}")]
    Refused {
        /// The resource the spec was for.
        resource: String,
        /// Why, and what to do instead.
        reason: String,
    },
    /// An input is invalid (a name outside Azure's naming rules, an id that does not parse); nothing was sent.
    #[error("invalid {what}: {why}")]
    InvalidInput {
        /// Which input.
        what: String,
        /// Why it is invalid and what a valid one looks like.
        why: String,
    },
    /// The cluster exists but lacks what the operation needs (no OIDC issuer, no kubelet identity…).
    #[error("cluster {cluster} {problem}")]
    ClusterNotReady {
        /// The cluster's resource id.
        cluster: String,
        /// What is missing and how to fix it.
        problem: String,
    },
    /// The existing cluster is in the middle of an operation (`Updating`, `Upgrading`, `Scaling`…): nothing
    /// was sent.
    #[error(
        "cluster {cluster} is {state}: an operation is still running on it, so it was not touched; wait until it finishes (`az aks wait --resource-group <rg> --name <cluster> --updated`, or watch it in the portal), then run again"
    )]
    OperationInProgress {
        /// The cluster's resource id.
        cluster: String,
        /// Its `provisioningState`.
        state: String,
    },
    /// The service answered something this client cannot read.
    #[error("unexpected response from {resource}: {message}")]
    UnexpectedResponse {
        /// The request.
        resource: String,
        /// What was wrong with it.
        message: String,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(what: impl Into<String>, why: impl Into<String>) -> Self {
        Error::InvalidInput {
            what: what.into(),
            why: why.into(),
        }
    }

    /// The Azure error code, when Azure refused (`ResourceNotFound`, `QuotaExceeded`…).
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Azure(e) => e.code(),
            _ => None,
        }
    }
}

/// Where a cluster lives: subscription, resource group, name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClusterRef {
    /// Subscription id.
    pub subscription_id: String,
    /// Resource group.
    pub resource_group: String,
    /// Cluster name (AKS rules: 1–63 letters, digits, `-`, `_`, starting and ending alphanumeric).
    pub name: String,
}

impl ClusterRef {
    /// A reference.
    pub fn new(
        subscription_id: impl Into<String>,
        resource_group: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            subscription_id: subscription_id.into(),
            resource_group: resource_group.into(),
            name: name.into(),
        }
    }

    /// The ARM resource id.
    pub fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerService/managedClusters/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }
}

/// The cluster's pricing tier (`sku.tier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SkuTier {
    /// No uptime SLA.
    #[default]
    Free,
    /// Uptime SLA.
    Standard,
    /// Long-term support.
    Premium,
}

impl SkuTier {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            SkuTier::Free => "Free",
            SkuTier::Standard => "Standard",
            SkuTier::Premium => "Premium",
        }
    }
}

/// A node pool (`agentPoolProfiles[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePoolSpec {
    /// Name (`^[a-z][a-z0-9]{0,11}$`).
    pub name: String,
    /// `System` or `User`.
    pub mode: String,
    /// Node count.
    pub count: u32,
    /// VM size.
    pub vm_size: String,
    /// `Linux` or `Windows`.
    pub os_type: String,
    /// `AzureLinux`, `Ubuntu`… (`None`: the service default).
    pub os_sku: Option<String>,
}

impl Default for NodePoolSpec {
    /// The guide's system pool: `system`, 2 × `Standard_D4s_v5`, Azure Linux.
    fn default() -> Self {
        Self {
            name: "system".into(),
            mode: "System".into(),
            count: 2,
            vm_size: "Standard_D4s_v5".into(),
            os_type: "Linux".into(),
            os_sku: Some("AzureLinux".into()),
        }
    }
}

/// What a cluster should look like. `Default` is the guide's cluster (name and placement left for the
/// caller): network plugin `azure`, network policy `calico`, a system-assigned identity, OIDC issuer and
/// workload identity on, one system pool, tier Free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Subscription id.
    pub subscription_id: String,
    /// Resource group.
    pub resource_group: String,
    /// Cluster name.
    pub name: String,
    /// Azure region.
    pub location: String,
    /// DNS prefix (`None`: the cluster name). Cannot change after creation.
    pub dns_prefix: Option<String>,
    /// Kubernetes version (`None`: the service default).
    pub kubernetes_version: Option<String>,
    /// Pricing tier.
    pub sku_tier: SkuTier,
    /// `azure` (the guide's), `kubenet` or `none`. Cannot change after creation.
    pub network_plugin: String,
    /// `calico` (the guide's), `azure`, `cilium`, or `None` for no network policy.
    pub network_policy: Option<String>,
    /// Whether the Flux install this cluster will get keeps Flux's NetworkPolicies (`allow-egress`,
    /// `allow-scraping`, `allow-webhooks`); without `allow-egress` a network-policy cluster blocks traffic
    /// between Flux controllers (fluxcd/flux2#703). Default `true`.
    pub flux_network_policies: bool,
    /// A system-assigned control-plane identity (the guide's). `false`: `identity.type: None` is not
    /// offered — AKS needs an identity; the preflight refuses.
    pub system_assigned_identity: bool,
    /// The OIDC issuer (needed by workload identity).
    pub oidc_issuer: bool,
    /// Workload identity (needs the OIDC issuer).
    pub workload_identity: bool,
    /// AAD Pod Identity: deprecated; the preflight refuses it and points to workload identity.
    pub aad_pod_identity: bool,
    /// Node pools (at least one `System` pool).
    pub node_pools: Vec<NodePoolSpec>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        Self {
            subscription_id: String::new(),
            resource_group: String::new(),
            name: String::new(),
            location: "westeurope".into(),
            dns_prefix: None,
            kubernetes_version: None,
            sku_tier: SkuTier::Free,
            network_plugin: "azure".into(),
            network_policy: Some("calico".into()),
            flux_network_policies: true,
            system_assigned_identity: true,
            oidc_issuer: true,
            workload_identity: true,
            aad_pod_identity: false,
            node_pools: vec![NodePoolSpec::default()],
            tags: BTreeMap::new(),
        }
    }
}

impl ClusterSpec {
    /// The guide's cluster at `subscription_id/resource_group/name` in `location`.
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
            ..Self::default()
        }
    }

    /// Where the cluster lives.
    pub fn cluster_ref(&self) -> ClusterRef {
        ClusterRef::new(&self.subscription_id, &self.resource_group, &self.name)
    }
}

/// An identity AKS manages for the cluster (the kubelet identity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeletIdentity {
    /// Resource id of the user-assigned identity in the node resource group.
    pub resource_id: String,
    /// Client id.
    pub client_id: String,
    /// Object (principal) id — the principal of the AcrPull assignment.
    pub object_id: String,
}

/// A node pool as the service reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePool {
    /// Name.
    pub name: String,
    /// `System` / `User`.
    pub mode: String,
    /// Node count.
    pub count: u32,
    /// VM size.
    pub vm_size: String,
    /// The node image the pool runs.
    pub node_image_version: Option<String>,
    /// Provisioning state.
    pub provisioning_state: Option<String>,
}

/// A managed cluster as the service reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// Resource id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Region.
    pub location: String,
    /// `Creating`, `Updating`, `Succeeded`, `Failed`…
    pub provisioning_state: String,
    /// The requested Kubernetes version.
    pub kubernetes_version: Option<String>,
    /// The running Kubernetes version.
    pub current_kubernetes_version: Option<String>,
    /// The API server FQDN.
    pub fqdn: Option<String>,
    /// The resource group AKS keeps the nodes in (`MC_<rg>_<cluster>_<region>`).
    pub node_resource_group: Option<String>,
    /// The OIDC issuer URL, byte for byte as the service sent it (trailing slash included): the `issuer`
    /// of federated credentials must match it exactly.
    pub oidc_issuer_url: Option<String>,
    /// Whether workload identity is enabled.
    pub workload_identity_enabled: bool,
    /// The kubelet identity.
    pub kubelet_identity: Option<KubeletIdentity>,
    /// The control plane's system-assigned principal id.
    pub principal_id: Option<String>,
    /// `networkProfile.networkPlugin`.
    pub network_plugin: Option<String>,
    /// `networkProfile.networkPolicy`.
    pub network_policy: Option<String>,
    /// Node pools.
    pub node_pools: Vec<NodePool>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl Cluster {
    /// Where the cluster lives, from its id.
    pub fn cluster_ref(&self) -> Result<ClusterRef> {
        let id = azflux_core::arm::ResourceId::parse(&self.id)?;
        Ok(ClusterRef::new(
            id.subscription_id(),
            id.resource_group_name().unwrap_or_default(),
            self.name.clone(),
        ))
    }
}

/// A node pool's image versus the newest one available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeImageStatus {
    /// The pool.
    pub pool: String,
    /// The pool's `nodeImageVersion`.
    pub current: Option<String>,
    /// `upgradeProfiles/default.latestNodeImageVersion`.
    pub latest: Option<String>,
}

impl NodeImageStatus {
    /// Whether the pool runs the latest node image (unknown versions count as up to date).
    pub fn is_up_to_date(&self) -> bool {
        match (&self.current, &self.latest) {
            (Some(c), Some(l)) => c == l,
            _ => true,
        }
    }
}

/// How serious a preflight finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Worth knowing; the operation goes on.
    Warning,
    /// The operation is refused.
    Refusal,
}

/// A preflight finding about a spec or an existing cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Warning or refusal.
    pub severity: Severity,
    /// A stable identifier (`network-policy-without-allow-egress`, `stale-node-image`,
    /// `workload-identity-without-oidc`, `aad-pod-identity-deprecated`, `invalid-name`, …).
    pub check: &'static str,
    /// What is wrong and what to do.
    pub reason: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Refusal => "refused",
        };
        write!(f, "{level} [{}]: {}", self.check, self.reason)
    }
}

/// What `ensure_cluster` reports while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterEvent {
    /// A preflight warning (refusals end the call with [`Error::Refused`]).
    Preflight(Finding),
    /// The cluster differs from the spec (or does not exist): a PUT is being sent.
    Sending {
        /// `create` or `update`.
        action: &'static str,
        /// The resource id.
        resource: String,
    },
    /// A poll of the long-running operation.
    Operation(LroProgress),
}

/// The result of `ensure_cluster`.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsuredCluster {
    /// Created, updated, or unchanged (nothing sent but the GET).
    pub cluster: Ensured<Cluster>,
    /// Preflight warnings, and on an existing cluster every difference from the spec that was left as it
    /// is (also sent as events).
    pub warnings: Vec<Finding>,
    /// On an existing cluster, the properties the update changed (only the OIDC issuer and workload
    /// identity); empty after a create.
    pub changes: Vec<PropertyChange>,
}

/// What `ensure_cluster` would do (`plan_cluster`): nothing is written.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterPlan {
    /// The cluster does not exist: it would be created from the spec.
    Create,
    /// The cluster exists.
    Existing {
        /// The cluster as read.
        cluster: Box<Cluster>,
        /// The properties an update would change (empty: nothing would be sent).
        changes: Vec<PropertyChange>,
        /// Differences from the spec that would be left as they are, and other warnings.
        warnings: Vec<Finding>,
        /// Whether an operation is still running on it (ensure would refuse).
        busy: bool,
    },
}

/// A user-assigned managed identity to ensure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentitySpec {
    /// Subscription id.
    pub subscription_id: String,
    /// Resource group.
    pub resource_group: String,
    /// Name (3–128 letters, digits, `-`, `_`, starting alphanumeric).
    pub name: String,
    /// Region.
    pub location: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl IdentitySpec {
    /// An identity without tags.
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
            tags: BTreeMap::new(),
        }
    }

    /// The ARM resource id.
    pub fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }
}

/// A user-assigned managed identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Resource id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Region.
    pub location: String,
    /// Client id (`azure.workload.identity/client-id`).
    pub client_id: String,
    /// Principal (object) id (role assignments).
    pub principal_id: String,
    /// Tenant id (`azure.workload.identity/tenant-id`).
    pub tenant_id: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// The audience of Kubernetes service-account tokens exchanged for Entra ID tokens.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// The namespace Flux runs in.
pub const FLUX_NAMESPACE: &str = "flux-system";

/// A federated identity credential on a user-assigned identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedCredentialSpec {
    /// The identity's resource id.
    pub identity_id: String,
    /// The credential's name (`^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$`).
    pub name: String,
    /// The cluster's OIDC issuer URL, byte for byte.
    pub issuer: String,
    /// `system:serviceaccount:<namespace>:<name>`.
    pub subject: String,
    /// Audiences (`api://AzureADTokenExchange`).
    pub audiences: Vec<String>,
}

impl FederatedCredentialSpec {
    /// Binds `identity_id` to Flux controller `controller`'s service account
    /// (`system:serviceaccount:flux-system:<controller>`), for tokens from `issuer`. Named `<controller>`.
    pub fn for_flux_controller(
        identity_id: impl Into<String>,
        issuer: impl Into<String>,
        controller: &str,
    ) -> Self {
        Self::for_service_account(identity_id, issuer, FLUX_NAMESPACE, controller)
    }

    /// Binds `identity_id` to service account `namespace/name`. Named `<name>` (`<namespace>-<name>` outside
    /// `flux-system`).
    pub fn for_service_account(
        identity_id: impl Into<String>,
        issuer: impl Into<String>,
        namespace: &str,
        name: &str,
    ) -> Self {
        let credential = if namespace == FLUX_NAMESPACE {
            name.to_owned()
        } else {
            format!("{namespace}-{name}")
        };
        Self {
            identity_id: identity_id.into(),
            name: credential,
            issuer: issuer.into(),
            subject: format!("system:serviceaccount:{namespace}:{name}"),
            audiences: vec![TOKEN_EXCHANGE_AUDIENCE.to_owned()],
        }
    }

    /// The credential's resource id.
    pub fn id(&self) -> String {
        format!(
            "{}/federatedIdentityCredentials/{}",
            self.identity_id.trim_end_matches('/'),
            self.name
        )
    }
}

/// A federated identity credential as the service reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedCredential {
    /// Resource id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Issuer.
    pub issuer: String,
    /// Subject.
    pub subject: String,
    /// Audiences.
    pub audiences: Vec<String>,
}

/// A built-in role, by its definition GUID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// `7f951dda-4ed3-4680-a7ca-43fe172d538d`: pull from ACR.
    AcrPull,
    /// `8311e382-0749-4cb8-b61a-304f252e45ec`: pull and push to ACR.
    AcrPush,
    /// `12338af0-0e69-4776-bea7-57ae8d297424`: Key Vault key operations (SOPS decrypt).
    KeyVaultCryptoUser,
    /// `14b46e9e-c2b7-41b4-b07b-48a6ebf60603`: all key operations (create keys).
    KeyVaultCryptoOfficer,
    /// `2b629674-e913-4c01-ae53-ef4638d8f975`: send to Event Hubs.
    EventHubsDataSender,
    /// `a638d3c7-ab3a-418d-83e6-5f17a39d4fde`: receive from Event Hubs.
    EventHubsDataReceiver,
    /// `2a2b9908-6ea1-4ae2-8e65-a410df84e7d1`: read blobs (Flux `Bucket` sources).
    StorageBlobDataReader,
    /// Any other role definition, by GUID.
    Custom(String),
}

impl Role {
    /// The role definition GUID.
    pub fn definition_guid(&self) -> &str {
        match self {
            Role::AcrPull => "7f951dda-4ed3-4680-a7ca-43fe172d538d",
            Role::AcrPush => "8311e382-0749-4cb8-b61a-304f252e45ec",
            Role::KeyVaultCryptoUser => "12338af0-0e69-4776-bea7-57ae8d297424",
            Role::KeyVaultCryptoOfficer => "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
            Role::EventHubsDataSender => "2b629674-e913-4c01-ae53-ef4638d8f975",
            Role::EventHubsDataReceiver => "a638d3c7-ab3a-418d-83e6-5f17a39d4fde",
            Role::StorageBlobDataReader => "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
            Role::Custom(guid) => guid,
        }
    }

    /// The role's display name (the GUID for custom roles).
    pub fn display_name(&self) -> &str {
        match self {
            Role::AcrPull => "AcrPull",
            Role::AcrPush => "AcrPush",
            Role::KeyVaultCryptoUser => "Key Vault Crypto User",
            Role::KeyVaultCryptoOfficer => "Key Vault Crypto Officer",
            Role::EventHubsDataSender => "Azure Event Hubs Data Sender",
            Role::EventHubsDataReceiver => "Azure Event Hubs Data Receiver",
            Role::StorageBlobDataReader => "Storage Blob Data Reader",
            Role::Custom(guid) => guid,
        }
    }
}

/// A role assignment to ensure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignmentSpec {
    /// The scope: a resource id (`/subscriptions/…/registries/myacr`), a resource group or a subscription.
    pub scope: String,
    /// The principal (object) id.
    pub principal_id: String,
    /// The role.
    pub role: Role,
    /// `ServicePrincipal` (managed identities; lets ARM skip the directory lookup), `User`, `Group`.
    pub principal_type: String,
}

impl RoleAssignmentSpec {
    /// `role` for service principal `principal_id` on `scope`.
    pub fn new(scope: impl Into<String>, principal_id: impl Into<String>, role: Role) -> Self {
        Self {
            scope: scope.into(),
            principal_id: principal_id.into(),
            role,
            principal_type: "ServicePrincipal".into(),
        }
    }
}

/// A role assignment as the service reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignment {
    /// Resource id (under the scope), when the service returned it.
    pub id: String,
    /// The assignment name (a GUID).
    pub name: String,
    /// Scope.
    pub scope: String,
    /// Principal.
    pub principal_id: String,
    /// Role definition id as the service returned it.
    pub role_definition_id: String,
    /// Whether it already existed under another name (409 `RoleAssignmentExists`).
    pub existed_under_other_name: bool,
}

/// The kubeconfig of a cluster user, from `listClusterUserCredential`; the file holds credentials.
pub struct Kubeconfig {
    /// The kubeconfig YAML.
    pub yaml: SecretString,
}

impl fmt::Debug for Kubeconfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kubeconfig")
            .field("yaml", &azflux_core::secret::REDACTED)
            .finish()
    }
}

/// Progress callback of long-running operations.
pub type Progress<'a> = &'a (dyn Fn(&ClusterEvent) + Send + Sync);

/// AKS managed clusters.
#[async_trait::async_trait]
pub trait Clusters: Send + Sync + 'static {
    /// Creates the cluster from `spec`, or — when it exists — changes only what Flux needs: preflight
    /// (refusals send nothing), GET, then for a new cluster a PUT of the spec; for an existing one a
    /// read-modify-write of the body that was read that switches on the OIDC issuer and workload identity
    /// (with `If-Match` when the service sent an eTag), and only if one of them is off. Pools, tags and
    /// profiles of an existing cluster are never changed: differences from the spec are warnings. A cluster
    /// in the middle of an operation is refused ([`Error::OperationInProgress`]). Polls the long-running
    /// operation to the end. Re-running with the same spec sends one GET (plus the node-image check).
    async fn ensure_cluster(
        &self,
        spec: &ClusterSpec,
        progress: Progress<'_>,
    ) -> Result<EnsuredCluster>;

    /// What [`Clusters::ensure_cluster`] would do with `spec` — create, or the property-level changes and
    /// the differences it would keep — without writing anything (one GET).
    async fn plan_cluster(&self, spec: &ClusterSpec) -> Result<ClusterPlan>;

    /// The cluster, or `None` when it does not exist.
    async fn get_cluster(&self, cluster: &ClusterRef) -> Result<Option<Cluster>>;

    /// The cluster user's kubeconfig (`listClusterUserCredential`).
    async fn kubeconfig(&self, cluster: &ClusterRef) -> Result<Kubeconfig>;

    /// Every pool's node image versus the latest available.
    async fn node_image_status(&self, cluster: &ClusterRef) -> Result<Vec<NodeImageStatus>>;

    /// Upgrades `pool` to the latest node image and polls the operation to the end.
    async fn begin_upgrade_node_image(
        &self,
        cluster: &ClusterRef,
        pool: &str,
        progress: Progress<'_>,
    ) -> Result<()>;

    /// Deletes the cluster and waits; `Ok(false)` when it did not exist.
    async fn delete_cluster(&self, cluster: &ClusterRef, progress: Progress<'_>) -> Result<bool>;
}

/// User-assigned managed identities.
#[async_trait::async_trait]
pub trait Identities: Send + Sync + 'static {
    /// Creates the identity or converges its tags; unchanged identities cost one GET.
    async fn ensure_identity(&self, spec: &IdentitySpec) -> Result<Ensured<Identity>>;

    /// The identity, or `None`.
    async fn get_identity(&self, id: &str) -> Result<Option<Identity>>;

    /// Deletes the identity; `Ok(false)` when it did not exist.
    async fn delete_identity(&self, id: &str) -> Result<bool>;
}

/// Federated identity credentials. Writes to one identity are serialised (Azure refuses concurrent ones);
/// writes to different identities run concurrently.
#[async_trait::async_trait]
pub trait FederatedCredentials: Send + Sync + 'static {
    /// Creates the credential or converges it; one that already exists costs one GET.
    async fn ensure_federated_credential(
        &self,
        spec: &FederatedCredentialSpec,
    ) -> Result<Ensured<FederatedCredential>>;

    /// Ensures many credentials: one LIST per identity, then PUTs only for what differs (serialised per
    /// identity, concurrent across identities). Results in the order of `specs`.
    async fn ensure_federated_credentials(
        &self,
        specs: &[FederatedCredentialSpec],
    ) -> Result<Vec<Ensured<FederatedCredential>>>;

    /// The credentials of an identity.
    async fn list_federated_credentials(
        &self,
        identity_id: &str,
    ) -> Result<Vec<FederatedCredential>>;

    /// Deletes a credential; `Ok(false)` when it did not exist.
    async fn delete_federated_credential(&self, identity_id: &str, name: &str) -> Result<bool>;
}

/// Azure RBAC role assignments.
#[async_trait::async_trait]
pub trait RoleAssignments: Send + Sync + 'static {
    /// Ensures the assignment under its deterministic name (one PUT; 409 `RoleAssignmentExists` is
    /// success; `PrincipalNotFound` for a brand-new identity is retried with bounded backoff).
    async fn ensure_role_assignment(&self, spec: &RoleAssignmentSpec) -> Result<RoleAssignment>;

    /// Deletes the assignment of `spec` (by its deterministic name); `Ok(false)` when it did not exist.
    async fn delete_role_assignment(&self, spec: &RoleAssignmentSpec) -> Result<bool>;

    /// Lets the cluster's kubelet identity pull from the registry `registry_id` (AcrPull).
    async fn attach_acr(&self, cluster: &Cluster, registry_id: &str) -> Result<RoleAssignment> {
        let kubelet = cluster
            .kubelet_identity
            .as_ref()
            .ok_or_else(|| Error::ClusterNotReady {
                cluster: cluster.id.clone(),
                problem: "has no kubelet identity yet: wait for provisioning to succeed".into(),
            })?;
        self.ensure_role_assignment(&RoleAssignmentSpec::new(
            registry_id,
            &kubelet.object_id,
            Role::AcrPull,
        ))
        .await
    }
}
