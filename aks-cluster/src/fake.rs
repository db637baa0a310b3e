//! [`FakeAks`]: a stateful wiremock fake of the ARM endpoints this crate speaks — AKS managed clusters with
//! agent pools and upgrade profiles, user-assigned identities with federated credentials — mounted on the
//! fake cloud's shared ARM server. Role assignments are the ARM kit's
//! ([`azflux_core::fake::arm_kit::rbac`]): this fake only makes the principals it creates (identities, the
//! kubelet and control-plane identities of clusters) known to them, so `ArmKit::permits` sees every
//! assignment whoever made it.
//!
//! It answers as the services do: `201` + `Azure-AsyncOperation` + `Retry-After` for cluster creation, with a
//! provisioning state that advances on the cloud's clock (`Creating` → `Succeeded` after a configurable
//! duration); `202` + `Location` for deletes and node-image upgrades; ARM error bodies (`ResourceNotFound`,
//! `OperationNotAllowed`, `PropertyChangeNotAllowed`, the 409
//! of overlapping federated-credential writes on one identity, "Issuer and subject combination already
//! exists"); api-version and an ARM bearer token required, ARM throttling (through
//! [`FakeCloud::arm_call`]). Identities and federated credentials it creates are registered in the fake
//! Entra ID, so a workload-identity token exchange works against them end to end.
//!
//! Managed clusters carry an `eTag` (new on every write): a PUT with a stale `If-Match`, or `If-None-Match:
//! *` on an existing cluster, is `412 PreconditionFailed`. `aadProfile` is stored as sent (the caller's
//! `tenantID` filled in); an Entra-only cluster (managed Entra ID or `disableLocalAccounts`) hands users a
//! kubelogin exec kubeconfig from `listClusterUserCredential`, and `listClusterAdminCredential` is refused
//! with the RP's `400 BadRequest` when local accounts are disabled.

use azflux_core::fake::FakeCloud;
use azflux_core::fake::arm::{ArmCall, arm_error};
use azflux_core::fake::entra::{FederatedCredential as EntraFic, ManagedIdentity};
use azflux_core::fake::request::FakeRequest;
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use wiremock::ResponseTemplate;

/// Settings of the fake.
#[derive(Debug, Clone)]
pub struct FakeAksOptions {
    /// How long a cluster create takes on the cloud's clock (default 30 s).
    pub create_duration: Duration,
    /// How long a cluster update takes (default 20 s).
    pub update_duration: Duration,
    /// How long a cluster delete takes (default 20 s).
    pub delete_duration: Duration,
    /// How long a node-image upgrade takes (default 30 s).
    pub upgrade_duration: Duration,
    /// The `Retry-After` (seconds) on long-running answers (default 5).
    pub retry_after_secs: u64,
    /// How long one federated-credential write keeps its identity busy, in real time (the reply is delayed
    /// as long); a second write on the identity inside that window gets the 409 Azure sends. Default 20 ms.
    pub fic_write_time: Duration,
    /// How long a new identity's principal is unknown to role assignments (`PrincipalNotFound`), on the
    /// cloud's clock (default 0).
    pub principal_replication_delay: Duration,
    /// A fixed simulated latency added to every reply (real time; for benchmarks). Default none.
    pub latency: Option<Duration>,
    /// The node image new pools get and upgrade profiles offer.
    pub latest_node_image: String,
    /// The Kubernetes version of clusters that do not ask for one.
    pub default_kubernetes_version: String,
}

impl Default for FakeAksOptions {
    fn default() -> Self {
        Self {
            create_duration: Duration::from_secs(30),
            update_duration: Duration::from_secs(20),
            delete_duration: Duration::from_secs(20),
            upgrade_duration: Duration::from_secs(30),
            retry_after_secs: 5,
            fic_write_time: Duration::from_millis(20),
            principal_replication_delay: Duration::ZERO,
            latency: None,
            latest_node_image: "AKSAzureLinux-V2gen2-202511.07.0".into(),
            default_kubernetes_version: "1.33.5".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Create,
    Update,
    Delete,
    UpgradeNodeImage,
}

impl OpKind {
    fn word(self) -> &'static str {
        match self {
            OpKind::Create => "create",
            OpKind::Update => "update",
            OpKind::Delete => "delete",
            OpKind::UpgradeNodeImage => "upgrade node image",
        }
    }
}

#[derive(Debug, Clone)]
struct Operation {
    kind: OpKind,
    cluster: String,
    pool: Option<String>,
    started: OffsetDateTime,
    ends: OffsetDateTime,
    failure: Option<(String, String)>,
    done: bool,
}

#[derive(Debug, Default)]
struct Model {
    options: FakeAksOptions,
    /// Lower-case id → GET body.
    clusters: BTreeMap<String, Value>,
    /// Cluster key → operation id in flight.
    in_flight: HashMap<String, String>,
    operations: HashMap<String, Operation>,
    identities: BTreeMap<String, Value>,
    /// Lower-case identity id → lower-case name → body.
    fics: BTreeMap<String, BTreeMap<String, Value>>,
    fic_busy_until: HashMap<String, Instant>,
    fic_conflicts: u64,
    fail_next_create: Option<(String, String)>,
}

/// The fake; cloning shares it.
#[derive(Debug, Clone)]
pub struct FakeAks {
    cloud: FakeCloud,
    model: Arc<Mutex<Model>>,
}

type Handler = fn(&FakeAks, &FakeRequest<'_>, &ArmCall, &mut Model) -> (ResponseTemplate, Duration);

const CLUSTER: &str = r"(?i)^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/Microsoft\.ContainerService/managedClusters/[^/]+";
const IDENTITY: &str = r"(?i)^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/Microsoft\.ManagedIdentity/userAssignedIdentities/[^/]+";

impl FakeAks {
    /// Mounts the fake with default options on `cloud`'s ARM server.
    pub async fn mount(cloud: &FakeCloud) -> Self {
        Self::mount_with(cloud, FakeAksOptions::default()).await
    }

    /// Mounts the fake with `options`.
    pub async fn mount_with(cloud: &FakeCloud, options: FakeAksOptions) -> Self {
        let this = Self {
            cloud: cloud.clone(),
            model: Arc::new(Mutex::new(Model {
                options,
                ..Model::default()
            })),
        };
        let ops =
            r"(?i)^/subscriptions/[^/]+/providers/Microsoft\.ContainerService/locations/[^/]+";
        let routes: Vec<(&str, &str, String, Handler)> = vec![
            ("aks.cluster.put", "PUT", format!("{CLUSTER}$"), cluster_put),
            ("aks.cluster.get", "GET", format!("{CLUSTER}$"), cluster_get),
            (
                "aks.cluster.delete",
                "DELETE",
                format!("{CLUSTER}$"),
                cluster_delete,
            ),
            (
                "aks.cluster.credentials",
                "POST",
                format!("{CLUSTER}/listClusterUserCredential$"),
                cluster_credentials,
            ),
            (
                "aks.cluster.admincredentials",
                "POST",
                format!("{CLUSTER}/listClusterAdminCredential$"),
                cluster_admin_credentials,
            ),
            (
                "aks.pool.get",
                "GET",
                format!("{CLUSTER}/agentPools/[^/]+$"),
                pool_get,
            ),
            (
                "aks.pool.upgradeprofile",
                "GET",
                format!("{CLUSTER}/agentPools/[^/]+/upgradeProfiles/default$"),
                pool_upgrade_profile,
            ),
            (
                "aks.pool.upgradenodeimage",
                "POST",
                format!("{CLUSTER}/agentPools/[^/]+/upgradeNodeImageVersion$"),
                pool_upgrade_node_image,
            ),
            (
                "aks.operation",
                "GET",
                format!("{ops}/operations/[^/]+$"),
                operation_status,
            ),
            (
                "aks.operationresult",
                "GET",
                format!("{ops}/operationresults/[^/]+$"),
                operation_result,
            ),
            (
                "msi.identity.put",
                "PUT",
                format!("{IDENTITY}$"),
                identity_put,
            ),
            (
                "msi.identity.get",
                "GET",
                format!("{IDENTITY}$"),
                identity_get,
            ),
            (
                "msi.identity.delete",
                "DELETE",
                format!("{IDENTITY}$"),
                identity_delete,
            ),
            (
                "msi.fic.put",
                "PUT",
                format!("{IDENTITY}/federatedIdentityCredentials/[^/]+$"),
                fic_put,
            ),
            (
                "msi.fic.get",
                "GET",
                format!("{IDENTITY}/federatedIdentityCredentials/[^/]+$"),
                fic_get,
            ),
            (
                "msi.fic.delete",
                "DELETE",
                format!("{IDENTITY}/federatedIdentityCredentials/[^/]+$"),
                fic_delete,
            ),
            (
                "msi.fic.list",
                "GET",
                format!("{IDENTITY}/federatedIdentityCredentials$"),
                fic_list,
            ),
        ];
        let server = cloud.arm_server().await;
        for (name, method, regex, handler) in routes {
            let fake = this.clone();
            cloud
                .mount(&server, name, method, &regex, move |r| {
                    fake.serve(r, handler)
                })
                .await;
        }
        this
    }

    fn model(&self) -> MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> OffsetDateTime {
        self.cloud.clock().now()
    }

    fn serve(&self, r: &FakeRequest<'_>, handler: Handler) -> ResponseTemplate {
        let latency = self.model().options.latency.unwrap_or_default();
        let call = match self.cloud.arm_call(r) {
            Ok(call) => call,
            Err(e) => return delayed(e, latency),
        };
        let mut model = self.model();
        self.advance(&mut model);
        let (template, extra) = handler(self, r, &call, &mut model);
        drop(model);
        delayed(call.respond(template), latency + extra)
    }

    /// Finishes the operations whose time has come.
    fn advance(&self, model: &mut Model) {
        let now = self.now();
        let latest = model.options.latest_node_image.clone();
        let due: Vec<String> = model
            .operations
            .iter()
            .filter(|(_, op)| !op.done && op.ends <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for op_id in due {
            let Some(op) = model.operations.get_mut(&op_id) else {
                continue;
            };
            op.done = true;
            let op = op.clone();
            model.in_flight.remove(&op.cluster);
            if op.kind == OpKind::Delete {
                model.clusters.remove(&op.cluster);
                continue;
            }
            let Some(body) = model.clusters.get_mut(&op.cluster) else {
                continue;
            };
            let state = if op.failure.is_some() {
                "Failed"
            } else {
                "Succeeded"
            };
            body["properties"]["provisioningState"] = json!(state);
            if let Some(pools) = body["properties"]["agentPoolProfiles"].as_array_mut() {
                for pool in pools {
                    let this_pool = op.pool.as_deref().is_none_or(|p| pool["name"] == p);
                    if !this_pool {
                        continue;
                    }
                    pool["provisioningState"] = json!(state);
                    if op.kind == OpKind::UpgradeNodeImage && op.failure.is_none() {
                        pool["nodeImageVersion"] = json!(latest);
                    }
                }
            }
        }
    }

    // ---- knobs for tests and benchmarks ----

    /// Makes the next cluster create end `Failed` with `code` and `message`.
    pub fn fail_next_create(&self, code: &str, message: &str) {
        self.model().fail_next_create = Some((code.to_owned(), message.to_owned()));
    }

    /// Sets the node image upgrade profiles offer (existing pools keep theirs: they become stale).
    pub fn set_latest_node_image(&self, version: &str) {
        self.model().options.latest_node_image = version.to_owned();
    }

    /// Sets how long every long-running operation (create, update, delete, node-image upgrade) takes.
    pub fn set_lro_duration(&self, duration: Duration) {
        let mut model = self.model();
        let o = &mut model.options;
        o.create_duration = duration;
        o.update_duration = duration;
        o.delete_duration = duration;
        o.upgrade_duration = duration;
    }

    /// Sets the fixed simulated latency of every reply.
    pub fn set_latency(&self, latency: Option<Duration>) {
        self.model().options.latency = latency;
    }

    /// Sets how long new principals stay unknown to role assignments.
    pub fn set_principal_replication_delay(&self, delay: Duration) {
        self.model().options.principal_replication_delay = delay;
    }

    /// Sets how long a federated-credential write keeps its identity busy (real time).
    pub fn set_fic_write_time(&self, time: Duration) {
        self.model().options.fic_write_time = time;
    }

    /// Makes a principal (created elsewhere) known to role assignments.
    pub fn add_principal(&self, object_id: &str) {
        self.cloud
            .arm_kit()
            .state()
            .principals
            .insert(object_id.to_owned(), OffsetDateTime::UNIX_EPOCH);
    }

    // ---- inspection ----

    /// The clusters (GET bodies), operations that are due finished first.
    pub fn clusters(&self) -> Vec<Value> {
        let mut model = self.model();
        self.advance(&mut model);
        model.clusters.values().cloned().collect()
    }

    /// The identities.
    pub fn identities(&self) -> Vec<Value> {
        self.model().identities.values().cloned().collect()
    }

    /// The federated credentials of an identity (by its id, any case).
    pub fn federated_credentials(&self, identity_id: &str) -> Vec<Value> {
        self.model()
            .fics
            .get(&identity_id.to_ascii_lowercase())
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The role assignments (every one the fake cloud's ARM kit holds, whoever made them).
    pub fn role_assignments(&self) -> Vec<Value> {
        self.cloud.arm_kit().role_assignments()
    }

    /// How many federated-credential writes were refused because another write on the identity overlapped.
    pub fn fic_conflicts(&self) -> u64 {
        self.model().fic_conflicts
    }
}

fn delayed(t: ResponseTemplate, delay: Duration) -> ResponseTemplate {
    if delay.is_zero() {
        t
    } else {
        t.set_delay(delay)
    }
}

fn reply(t: ResponseTemplate) -> (ResponseTemplate, Duration) {
    (t, Duration::ZERO)
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Path segments: `["", "subscriptions", sub, "resourcegroups", rg, "providers", ns, type, name, …]`.
fn segments<'a>(r: &FakeRequest<'a>) -> Vec<&'a str> {
    r.raw_path().split('/').collect()
}

trait RawPath<'a> {
    fn raw_path(&self) -> &'a str;
}

impl<'a> RawPath<'a> for FakeRequest<'a> {
    fn raw_path(&self) -> &'a str {
        self.raw().url.path()
    }
}

fn seg<'a>(s: &[&'a str], i: usize) -> &'a str {
    s.get(i).copied().unwrap_or_default()
}

fn not_found(kind: &str, name: &str, rg: &str) -> ResponseTemplate {
    arm_error(
        404,
        "ResourceNotFound",
        &format!(
            "The Resource '{kind}/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

fn normalize_location(l: &str) -> String {
    l.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

// ---------------------------------------------------------------- clusters

struct ClusterPath {
    sub: String,
    rg: String,
    name: String,
    id: String,
    key: String,
}

fn cluster_path(r: &FakeRequest<'_>) -> ClusterPath {
    let s = segments(r);
    let (sub, rg, name) = (seg(&s, 2), seg(&s, 4), seg(&s, 8));
    let id = format!(
        "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}"
    );
    ClusterPath {
        sub: sub.into(),
        rg: rg.into(),
        name: name.into(),
        key: id.to_ascii_lowercase(),
        id,
    }
}

fn start_operation(
    model: &mut Model,
    now: OffsetDateTime,
    kind: OpKind,
    cluster: &str,
    pool: Option<&str>,
) -> String {
    let duration = match kind {
        OpKind::Create => model.options.create_duration,
        OpKind::Update => model.options.update_duration,
        OpKind::Delete => model.options.delete_duration,
        OpKind::UpgradeNodeImage => model.options.upgrade_duration,
    };
    let failure = if kind == OpKind::Create {
        model.fail_next_create.take()
    } else {
        None
    };
    let id = uuid::Uuid::new_v4().to_string();
    model.operations.insert(
        id.clone(),
        Operation {
            kind,
            cluster: cluster.to_owned(),
            pool: pool.map(str::to_owned),
            started: now,
            ends: now + duration,
            failure,
            done: false,
        },
    );
    model.in_flight.insert(cluster.to_owned(), id.clone());
    id
}

fn operation_urls(
    r: &FakeRequest<'_>,
    call: &ArmCall,
    sub: &str,
    location: &str,
    op: &str,
) -> (String, String) {
    let base = format!(
        "{}/subscriptions/{sub}/providers/Microsoft.ContainerService/locations/{location}",
        r.origin()
    );
    (
        format!("{base}/operations/{op}?api-version={}", call.api_version),
        format!(
            "{base}/operationresults/{op}?api-version={}",
            call.api_version
        ),
    )
}

fn busy(model: &Model, key: &str, name: &str) -> Option<ResponseTemplate> {
    let op = model.operations.get(model.in_flight.get(key)?)?;
    Some(arm_error(
        409,
        "OperationNotAllowed",
        &format!(
            "Operation is not allowed because there's an in progress {} managed cluster operation on managed cluster '{name}' started at {}. Please wait for it to finish before retrying.",
            op.kind.word(),
            rfc3339(op.started)
        ),
    ))
}

fn is_pool_name(name: &str) -> bool {
    (1..=12).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

fn is_cluster_name(name: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    (1..=63).contains(&name.len())
        && name.chars().all(|c| alnum(c) || c == '-' || c == '_')
        && name.starts_with(alnum)
        && name.ends_with(alnum)
}

fn cluster_put(
    fake: &FakeAks,
    r: &FakeRequest<'_>,
    call: &ArmCall,
    model: &mut Model,
) -> (ResponseTemplate, Duration) {
    let p = cluster_path(r);
    if !is_cluster_name(&p.name) {
        return reply(arm_error(
            400,
            "InvalidParameter",
            &format!(
                "The value of parameter resourceName is invalid: '{}'. Names are 1-63 letters, digits, '-' or '_', starting and ending with a letter or digit.",
                p.name
            ),
        ));
    }
    let Some(request) = r.json().filter(Value::is_object) else {
        return reply(arm_error(
            400,
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized.",
        ));
    };
    let Some(location) = request
        .get("location")
        .and_then(Value::as_str)
        .map(normalize_location)
    else {
        return reply(arm_error(
            400,
            "LocationRequired",
            "The location property is required for this definition.",
        ));
    };
    if let Some(e) = busy(model, &p.key, &p.name) {
        return reply(e);
    }
    if let Some(e) = precondition_failed(r, model.clusters.get(&p.key), &p.name) {
        return reply(e);
    }
    let props = request
        .get("properties")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let oidc = props
        .pointer("/oidcIssuerProfile/enabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let wi = props
        .pointer("/securityProfile/workloadIdentity/enabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if wi && !oidc {
        return reply(arm_error(
            400,
            "InvalidParameter",
            "Enabling workload identity requires enabling OIDC issuer profile. Please set oidcIssuerProfile.enabled to true.",
        ));
    }
    let pools = props
        .get("agentPoolProfiles")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if pools.is_empty() || !pools.iter().any(|p| p["mode"] == "System") {
        return reply(arm_error(
            400,
            "InvalidParameter",
            "A managed cluster needs at least one agent pool with mode 'System'.",
        ));
    }
    if let Some(bad) = pools
        .iter()
        .filter_map(|p| p["name"].as_str())
        .find(|n| !is_pool_name(n))
    {
        return reply(arm_error(
            400,
            "InvalidParameter",
            &format!(
                "The agent pool name '{bad}' is invalid: use 1-12 lower-case letters and digits, starting with a letter."
            ),
        ));
    }
    let existing = model.clusters.get(&p.key).cloned();
    if let Some(old) = &existing {
        for (field, pointer) in [
            ("dnsPrefix", "/properties/dnsPrefix"),
            (
                "networkProfile.networkPlugin",
                "/properties/networkProfile/networkPlugin",
            ),
        ] {
            if let (Some(new), Some(was)) = (request.pointer(pointer), old.pointer(pointer))
                && new != was
            {
                return reply(arm_error(
                    400,
                    "PropertyChangeNotAllowed",
                    &format!("Changing property '{field}' is not allowed."),
                ));
            }
        }
        if old.pointer("/properties/oidcIssuerProfile/enabled") == Some(&json!(true)) && !oidc {
            return reply(arm_error(
                400,
                "InvalidParameter",
                "OIDC issuer cannot be disabled once it is enabled.",
            ));
        }
    }
    let now = fake.now();
    let tenant = call.claims.tid.clone();
    let latest = model.options.latest_node_image.clone();
    let default_version = model.options.default_kubernetes_version.clone();
    let mut body = request.clone();
    body["id"] = json!(p.id);
    body["name"] = json!(p.name);
    body["type"] = json!("Microsoft.ContainerService/ManagedClusters");
    body["location"] = json!(location);
    if body.get("tags").is_none() {
        body["tags"] = json!({});
    }
    let old = existing.clone().unwrap_or_else(|| json!({}));
    let identity_type = request
        .pointer("/identity/type")
        .and_then(Value::as_str)
        .unwrap_or("SystemAssigned")
        .to_owned();
    body["identity"] = json!({
        "type": identity_type,
        "principalId": old.pointer("/identity/principalId").cloned().unwrap_or_else(|| json!(uuid::Uuid::new_v4().to_string())),
        "tenantId": tenant,
    });
    let version = props
        .get("kubernetesVersion")
        .and_then(Value::as_str)
        .unwrap_or(&default_version)
        .to_owned();
    let dns_prefix = props
        .get("dnsPrefix")
        .and_then(Value::as_str)
        .unwrap_or(&p.name)
        .to_owned();
    let fqdn = old
        .pointer("/properties/fqdn")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{dns_prefix}-{}.hcp.{location}.azmk8s.io", short_id()));
    let node_rg = format!("MC_{}_{}_{location}", p.rg, p.name);
    let issuer = match old
        .pointer("/properties/oidcIssuerProfile/issuerURL")
        .and_then(Value::as_str)
    {
        Some(url) => url.to_owned(),
        None => format!(
            "https://{location}.oic.prod-aks.azure.com/{tenant}/{}/",
            uuid::Uuid::new_v4()
        ),
    };
    let kubelet = old.pointer("/properties/identityProfile/kubeletidentity").cloned().unwrap_or_else(|| json!({
        "resourceId": format!("/subscriptions/{}/resourcegroups/{node_rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}-agentpool", p.sub, p.name),
        "clientId": uuid::Uuid::new_v4().to_string(),
        "objectId": uuid::Uuid::new_v4().to_string(),
    }));
    let old_pools = old
        .pointer("/properties/agentPoolProfiles")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let state = if existing.is_some() {
        "Updating"
    } else {
        "Creating"
    };
    let pools: Vec<Value> = pools
        .into_iter()
        .map(|mut pool| {
            let previous = old_pools.iter().find(|o| o["name"] == pool["name"]);
            pool["nodeImageVersion"] = previous
                .and_then(|o| o.get("nodeImageVersion"))
                .cloned()
                .unwrap_or_else(|| json!(latest));
            pool["orchestratorVersion"] = json!(version);
            pool["currentOrchestratorVersion"] = json!(version);
            pool["provisioningState"] = json!(state);
            pool["powerState"] = json!({"code": "Running"});
            if pool.get("type").is_none() {
                pool["type"] = json!("VirtualMachineScaleSets");
            }
            pool
        })
        .collect();
    let mut properties = props.clone();
    properties["provisioningState"] = json!(state);
    properties["powerState"] = json!({"code": "Running"});
    properties["kubernetesVersion"] = json!(version);
    properties["currentKubernetesVersion"] = json!(version);
    properties["dnsPrefix"] = json!(dns_prefix);
    properties["fqdn"] = json!(fqdn);
    properties["azurePortalFQDN"] = json!(fqdn.replace(".hcp.", ".portal.hcp."));
    properties["nodeResourceGroup"] = json!(node_rg);
    properties["maxAgentPools"] = json!(100);
    properties["agentPoolProfiles"] = json!(pools);
    properties["oidcIssuerProfile"] = if oidc {
        json!({"enabled": true, "issuerURL": issuer})
    } else {
        json!({"enabled": false})
    };
    properties["identityProfile"] = json!({"kubeletidentity": kubelet});
    body["properties"] = properties;
    // `eTag` (read-only, `ManagedCluster.eTag` in `specification/containerservice/resource-manager/
    // Microsoft.ContainerService/aks/stable/2025-xx-01/managedClusters.json`): a new one on every write,
    // as AKS does (learn.microsoft.com/azure/aks/use-etags).
    body["eTag"] = json!(uuid::Uuid::new_v4().to_string());
    if let Some(o) = body.as_object_mut() {
        o.remove("etag");
    }
    // AKS-managed Entra ID (`ManagedClusterAADProfile`): `managed`, `enableAzureRBAC` and
    // `adminGroupObjectIDs` are stored as sent; the RP fills `tenantID` with the caller's tenant.
    if body.pointer("/properties/aadProfile/managed") == Some(&json!(true))
        && body
            .pointer("/properties/aadProfile/tenantID")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        body["properties"]["aadProfile"]["tenantID"] = json!(tenant);
    }
    // AKS creates the kubelet identity and the control-plane identity: both are principals from now on.
    for principal in [
        kubelet["objectId"].as_str(),
        body.pointer("/identity/principalId")
            .and_then(Value::as_str),
    ]
    .into_iter()
    .flatten()
    {
        fake.cloud.arm_kit().add_principal(principal, now);
    }
    if existing.is_none() {
        fake.cloud.entra().add_managed_identity(ManagedIdentity {
            client_id: kubelet["clientId"].as_str().unwrap_or_default().to_owned(),
            object_id: kubelet["objectId"].as_str().unwrap_or_default().to_owned(),
            tenant: tenant.clone(),
        });
    }
    model.clusters.insert(p.key.clone(), body.clone());
    let kind = if existing.is_some() {
        OpKind::Update
    } else {
        OpKind::Create
    };
    let op = start_operation(model, now, kind, &p.key, None);
    let (status_url, _) = operation_urls(r, call, &p.sub, &location, &op);
    reply(
        ResponseTemplate::new(if existing.is_some() { 200 } else { 201 })
            .insert_header("azure-asyncoperation", status_url.as_str())
            .insert_header("retry-after", model.options.retry_after_secs.to_string())
            .set_body_json(body),
    )
}

fn cluster_get(
    _: &FakeAks,
    r: &FakeRequest<'_>,
    _: &ArmCall,
    model: &mut Model,
) -> (ResponseTemplate, Duration) {
    let p = cluster_path(r);
    reply(match model.clusters.get(&p.key) {
        Some(body) => ResponseTemplate::new(200).set_body_json(body.clone()),
        None => not_found("Microsoft.ContainerService/managedClusters", &p.name, &p.rg),
    })
}

fn cluster_delete(
    fake: &FakeAks,
    r: &FakeRequest<'_>,
    call: &ArmCall,
    model: &mut Model,
) -> (ResponseTemplate, Duration) {
    let p = cluster_path(r);
    let Some(body) = model.clusters.get_mut(&p.key) else {
        return reply(ResponseTemplate::new(204));
    };
    body["properties"]["provisioningState"] = json!("Deleting");
    let location = body["location"].as_str().unwrap_or("westeurope").to_owned();
    if let Some(previous) = model.in_flight.remove(&p.key)
        && let Some(op) = model.operations.get_mut(&previous)
    {
        op.done = true;
        op.failure = Some((
            "OperationCanceled".into(),
            "The operation was canceled by a delete of the managed cluster.".into(),
        ));
    }
    let op = start_operation(model, fake.now(), OpKind::Delete, &p.key, None);
    let (status_url, result_url) = operation_urls(r, call, &p.sub, &location, &op);
    reply(
        ResponseTemplate::new(202)
            .insert_header("azure-asyncoperation", status_url.as_str())
            .insert_header("location", result_url.as_str())
            .insert_header("retry-after", model.options.retry_after_secs.to_string()),
    )
}

/// The Entra ID server application of AKS (`az aks get-credentials` / kubelogin `--server-id`).
const AKS_SERVER_APP_ID: &str = "6dae42f8-4368-4678-94ff-3960e28e3630";
/// The Azure CLI's public client id, which the RP writes into kubelogin kubeconfigs (`--client-id`).
const AZURE_CLI_CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

/// `412 PreconditionFailed` when the PUT's `If-Match` names another eTag than the cluster's (or there is
/// no cluster), or `If-None-Match: *` meets an existing cluster — AKS's optimistic concurrency
/// (learn.microsoft.com/azure/aks/use-etags; `ManagedClusters_CreateOrUpdate` takes both headers). The
/// message wording is ours [inf]; the status and code are ARM's.
fn precondition_failed(
    r: &FakeRequest<'_>,
    existing: Option<&Value>,
    name: &str,
) -> Option<ResponseTemplate> {
    let current = existing.and_then(|b| b["eTag"].as_str());
    if let Some(wanted) = r.header("if-match") {
        let wanted = wanted.trim().trim_matches('"');
        if wanted != "*" && current != Some(wanted) || wanted == "*" && existing.is_none() {
            return Some(arm_error(
                412,
                "PreconditionFailed",
                &format!(
                    "Operation failed because the If-Match header value '{wanted}' does not match the eTag '{}' of managed cluster '{name}'. Get the cluster again and retry with its current eTag.",
                    current.unwrap_or_default()
                ),
            ));
        }
    }
    if r.header("if-none-match").is_some_and(|v| v.trim() == "*") && existing.is_some() {
        return Some(arm_error(
            412,
            "PreconditionFailed",
            &format!(
                "Operation failed because the If-None-Match header is '*' and managed cluster '{name}' already exists."
            ),
        ));
    }
    None
}

/// Whether the cluster authenticates users with Entra ID only through kubelogin: AKS-managed Entra ID
/// (`aadProfile.managed`) or local accounts disabled.
fn entra_only(body: &Value) -> bool {
    body.pointer("/properties/aadProfile/managed") == Some(&json!(true))
        || body.pointer("/properties/disableLocalAccounts") == Some(&json!(true))
}

fn kubeconfig_answer(
    r: &FakeRequest<'_>,
    call: &ArmCall,
    model: &Model,
    admin: bool,
) -> ResponseTemplate {
    let p = cluster_path(r);
    let Some(body) = model.clusters.get(&p.key) else {
        return not_found("Microsoft.ContainerService/managedClusters", &p.name, &p.rg);
    };
    if admin && body.pointer("/properties/disableLocalAccounts") == Some(&json!(true)) {
        // `ManagedClusters_ListClusterAdminCredentials` on a cluster with local accounts disabled: the RP's
        // own words (learn.microsoft.com/azure/aks/manage-local-accounts-managed-azure-ad).
        return arm_error(
            400,
            "BadRequest",
            "Getting static credential is not allowed because this cluster is set to disable local accounts.",
        );
    }
    let fqdn = body
        .pointer("/properties/fqdn")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (kind, user) = if admin {
        ("clusterAdmin", format!("clusterAdmin_{}_{}", p.rg, p.name))
    } else {
        ("clusterUser", format!("clusterUser_{}_{}", p.rg, p.name))
    };
    let credential = if !admin && entra_only(body) {
        // The exec kubeconfig the RP returns for Entra ID clusters (kubelogin, as `az aks get-credentials`
        // writes it): the token is for the AKS server application.
        let tenant = body
            .pointer("/properties/aadProfile/tenantID")
            .and_then(Value::as_str)
            .unwrap_or(&call.claims.tid);
        format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      args:\n      - get-token\n      - --environment\n      - AzurePublicCloud\n      - --server-id\n      - {AKS_SERVER_APP_ID}\n      - --client-id\n      - {AZURE_CLI_CLIENT_ID}\n      - --tenant-id\n      - {tenant}\n      - --login\n      - devicecode\n      command: kubelogin\n      env: null\n      interactiveMode: IfAvailable\n      provideClusterInfo: false\n"
        )
    } else {
        format!("    token: {}\n", uuid::Uuid::new_v4().simple())
    };
    let ca = base64::engine::general_purpose::STANDARD.encode(format!("fake CA of {}", p.name));
    let kubeconfig = format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: https://{fqdn}:443\n  name: {name}\ncontexts:\n- context:\n    cluster: {name}\n    user: {user}\n  name: {name}\ncurrent-context: {name}\nkind: Config\npreferences: {{}}\nusers:\n- name: {user}\n  user:\n{credential}",
        name = p.name
    );
    ResponseTemplate::new(200).set_body_json(json!({
        "kubeconfigs": [{"name": kind, "value": base64::engine::general_purpose::STANDARD.encode(kubeconfig)}]
    }))
}

fn cluster_credentials(
    _: &FakeAks,
    r: &FakeRequest<'_>,
    call: &ArmCall,
    model: &mut Model,
) -> (ResponseTemplate, Duration) {
    reply(kubeconfig_answer(r, call, model, false))
}

fn cluster_admin_credentials(
    _: &FakeAks,
    r: &FakeRequest<'_>,
    call: &ArmCall,
    model: &mut Model,
) -> (ResponseTemplate, Duration) {
    reply(kubeconfig_answer(r, call, model, true))
}

fn find_pool(model: &Model, key: &str, pool: &str) -> Option<Value> {
    model
        .clusters
        .get(key)?
        .pointer("/properties/agentPoolProfiles")?
        .as_array()?
        .iter()
        .find(|p| p["name"] == pool)
        .cloned()
}

fn agent_pool_body(cluster_id: &str, pool: &Value) -> Value {
    let name = pool["name"].as_str().unwrap_or_default();
    let mut properties = pool.clone();
    if let Some(o) = properties.as_object_mut() {
        o.remove("name");
    }
    json!({"id": format!("{cluster_id}/agentPools/{name}"), "name": name, "type": "Microsoft.ContainerService/managedClusters/agentPools", "properties": properties})
}

fn pool_get(
    _: &FakeAks,
    r: &FakeRequest<'_>,
    _: &ArmCall,
    model: &mut Model,
) -> (ResponseTemplate, Duration) {
    let p = cluster_path(r);
    let pool = seg(&segments(r), 10);
    reply(match find_pool(model, &p.key, pool) {
        Some(body) => ResponseTemplate::new(200).set_body_json(agent_pool_body(&p.id, &body)),
        None => not_found(
            "Microsoft.ContainerService/managedClusters/agentPools",
            &format!("{}/{pool}", p.name),
            &p.rg,
        ),
    })
}

fn pool_upgrade_profile(
    _: &FakeAks,
    r: &FakeRequest<'_>,
    _: &ArmCall,
    model: &mut Model,
) -> (ResponseTemplate, Duration) {
    let p = cluster_path(r);
    let pool = seg(&segments(r), 10);
    let Some(body) = find_pool(model, &p.key, pool) else {
        return reply(not_found(
            "Microsoft.ContainerService/managedClusters/agentPools",
            &format!("{}/{pool}", p.name),
            &p.rg,
        ));
    };
    reply(ResponseTemplate::new(200).set_body_json(json!({
        "id": format!("{}/agentPools/{pool}/upgradeProfiles/default", p.id),
        "name": "default",
        "type": "Microsoft.ContainerService/managedClusters/agentPools/upgradeProfiles",
        "properties": {
            "kubernetesVersion": body["orchestratorVersion"],
            "osType": body.get("osType").cloned().unwrap_or(json!("Linux")),
            "latestNodeImageVersion": model.options.latest_node_image,
            "upgrades": [],
        }
    })))
}

fn pool_upgrade_node_image(
    fake: &FakeAks,
    r: &FakeRequest<'_>,
    call: &ArmCall,
    model: &mut Model,
) -> (ResponseTemplate, Duration) {
    let p = cluster_path(r);
    let pool = seg(&segments(r), 10).to_owned();
    if find_pool(model, &p.key, &pool).is_none() {
        return reply(not_found(
            "Microsoft.ContainerService/managedClusters/agentPools",
            &format!("{}/{pool}", p.name),
            &p.rg,
        ));
    }
    if let Some(e) = busy(model, &p.key, &p.name) {
        return reply(e);
    }
    let Some(body) = model.clusters.get_mut(&p.key) else {
        return reply(not_found(
            "Microsoft.ContainerService/managedClusters",
            &p.name,
            &p.rg,
        ));
    };
    body["properties"]["provisioningState"] = json!("UpgradingNodeImageVersion");
    let mut pool_body = json!({});
    if let Some(pools) = body["properties"]["agentPoolProfiles"].as_array_mut() {
        for entry in pools.iter_mut().filter(|e| e["name"] == pool.as_str()) {
            entry["provisioningState"] = json!("UpgradingNodeImageVersion");
            pool_body = entry.clone();
        }
    }
    let location = body["location"].as_str().unwrap_or("westeurope").to_owned();
    let op = start_operation(
        model,
        fake.now(),
        OpKind::UpgradeNodeImage,
        &p.key,
        Some(&pool),
    );
    let (status_url, result_url) = operation_urls(r, call, &p.sub, &location, &op);
    reply(
        ResponseTemplate::new(202)
            .insert_header("azure-asyncoperation", status_url.as_str())
            .insert_header("location", result_url.as_str())
            .insert_header("retry-after", model.options.retry_after_secs.to_string())
            .set_body_json(agent_pool_body(&p.id, &pool_body)),
    )
}

fn operation_status(
    fake: &FakeAks,
    r: &FakeRequest<'_>,
    _: &ArmCall,
    model: &mut Model,
) -> (ResponseTemplate, Duration) {
    let s = segments(r);
    let op_id = seg(&s, 8);
    let Some(op) = model.operations.get(op_id) else {
        return reply(arm_error(
            404,
            "NotFound",
            &format!("Operation {op_id} was not found."),
        ));
    };
    let mut body = json!({"id": r.raw_path(), "name": op_id, "startTime": rfc3339(op.started)});
    if !op.done {
        let total = (op.ends - op.started).whole_milliseconds().max(1) as f64;
        let elapsed = (fake.now() - op.started).whole_milliseconds().max(0) as f64;
        body["status"] = json!("InProgress");
        body["percentComplete"] = json!((elapsed * 100.0 / total).min(99.0).floor());
    } else {
        body["endTime"] = json!(rfc3339(op.ends));
        match &op.failure {
            None => body["status"] = json!("Succeeded"),
            Some((code, message)) => {
                body["status"] = json!(if code == "OperationCanceled" {
                    "Canceled"
                } else {
                    "Failed"
                });
                body["error"] = json!({"code": code, "message": message});
            }
        }
    }
    let retry_after = model.options.retry_after_secs.to_string();
    reply(
        ResponseTemplate::new(200)
            .insert_header("retry-after", retry_after)
            .set_body_json(body),
    )
}

fn operation_result(
    _: &FakeAks,
    r: &FakeRequest<'_>,
    _: &ArmCall,
    model: &mut Model,
) -> (ResponseTemplate, Duration) {
    let s = segments(r);
    let op_id = seg(&s, 8);
    let Some(op) = model.operations.get(op_id).cloned() else {
        return reply(arm_error(
            404,
            "NotFound",
            &format!("Operation {op_id} was not found."),
        ));
    };
    if !op.done {
        return reply(
            ResponseTemplate::new(202)
                .insert_header(
                    "location",
                    format!(
                        "{}{}?{}",
                        r.origin(),
                        r.raw_path(),
                        r.raw().url.query().unwrap_or_default()
                    ),
                )
                .insert_header("retry-after", model.options.retry_after_secs.to_string()),
        );
    }
    if let Some((code, message)) = &op.failure {
        return reply(arm_error(400, code, message));
    }
    match (op.kind, &op.pool) {
        (OpKind::UpgradeNodeImage, Some(pool)) => match (
            model.clusters.get(&op.cluster),
            find_pool(model, &op.cluster, pool),
        ) {
            (Some(cluster), Some(pool)) => {
                let id = cluster["id"].as_str().unwrap_or_default().to_owned();
                reply(ResponseTemplate::new(200).set_body_json(agent_pool_body(&id, &pool)))
            }
            _ => reply(ResponseTemplate::new(204)),
        },
        (OpKind::Delete, _) => reply(ResponseTemplate::new(204)),
        _ => match model.clusters.get(&op.cluster) {
            Some(body) => reply(ResponseTemplate::new(200).set_body_json(body.clone())),
            None => reply(ResponseTemplate::new(204)),
        },
    }
}

// ---------------------------------------------------------------- identities

struct IdentityPath {
    rg: String,
    name: String,
    id: String,
    key: String,
}

fn identity_path(r: &FakeRequest<'_>) -> IdentityPath {
    let s = segments(r);
    let (sub, rg, name) = (seg(&s, 2), seg(&s, 4), seg(&s, 8));
    let id = format!(
        "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
    );
    IdentityPath {
        rg: rg.into(),
        name: name.into(),
        key: id.to_ascii_lowercase(),
        id,
    }
}

fn identity_put(
    fake: &FakeAks,
    r: &FakeRequest<'_>,
    call: &ArmCall,
    model: &mut Model,
) -> (ResponseTemplate, Duration) {
    let p = identity_path(r);
    let alnum = |c: char| c.is_ascii_alphanumeric();
    if !((3..=128).contains(&p.name.len())
        && p.name.starts_with(alnum)
        && p.name.chars().all(|c| alnum(c) || c == '-' || c == '_'))
    {
        return reply(arm_error(
            400,
            "InvalidResourceName",
            &format!(
                "Resource name '{}' is invalid. The name can contain only letters, numbers, underscores and hyphens. The name must start with a letter or number.",
                p.name
            ),
        ));
    }
    let request = r.json().unwrap_or_else(|| json!({}));
    let Some(location) = request
        .get("location")
        .and_then(Value::as_str)
        .map(normalize_location)
    else {
        return reply(arm_error(
            400,
            "LocationRequired",
            "The location property is required for this definition.",
        ));
    };
    let tags = request.get("tags").cloned().unwrap_or_else(|| json!({}));
    if let Some(existing) = model.identities.get_mut(&p.key) {
        if existing["location"] != json!(location) {
            return reply(arm_error(
                400,
                "InvalidResourceLocation",
                &format!(
                    "The resource '{}' already exists in location '{}' in resource group '{}'. A resource with the same name cannot be created in location '{location}'. Please select a new resource name.",
                    p.name,
                    existing["location"].as_str().unwrap_or_default(),
                    p.rg
                ),
            ));
        }
        existing["tags"] = tags;
        return reply(ResponseTemplate::new(200).set_body_json(existing.clone()));
    }
    let (client_id, principal_id) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let tenant = call.claims.tid.clone();
    let body = json!({
        "id": p.id, "name": p.name, "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "location": location, "tags": tags,
        "properties": {"clientId": client_id, "principalId": principal_id, "tenantId": tenant, "isolationScope": "None"},
    });
    let visible = fake.now() + model.options.principal_replication_delay;
    fake.cloud
        .arm_kit()
        .state()
        .principals
        .insert(principal_id.clone(), visible);
    model.identities.insert(p.key, body.clone());
    fake.cloud.entra().add_managed_identity(ManagedIdentity {
        client_id,
        object_id: principal_id,
        tenant,
    });
    reply(ResponseTemplate::new(201).set_body_json(body))
}

fn identity_get(
    _: &FakeAks,
    r: &FakeRequest<'_>,
    _: &ArmCall,
    model: &mut Model,
) -> (ResponseTemplate, Duration) {
    let p = identity_path(r);
    reply(match model.identities.get(&p.key) {
        Some(body) => ResponseTemplate::new(200).set_body_json(body.clone()),
        None => not_found(
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            &p.name,
            &p.rg,
        ),
    })
}

fn identity_delete(
    fake: &FakeAks,
    r: &FakeRequest<'_>,
    _: &ArmCall,
    model: &mut Model,
) -> (ResponseTemplate, Duration) {
    let p = identity_path(r);
    let Some(body) = model.identities.remove(&p.key) else {
        return reply(ResponseTemplate::new(204));
    };
    let client_id = body
        .pointer("/properties/clientId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    for fic in model.fics.remove(&p.key).unwrap_or_default().values() {
        fake.cloud.entra().remove_federated_credential(
            client_id,
            fic.pointer("/properties/issuer")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            fic.pointer("/properties/subject")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        );
    }
    reply(ResponseTemplate::new(200))
}

fn fic_name(r: &FakeRequest<'_>) -> String {
    seg(&segments(r), 10).to_owned()
}

/// Starts a write on the identity, or answers the 409 Azure sends when another write is still in flight.
#[allow(clippy::result_large_err)] // the template is the answer
fn begin_fic_write(
    model: &mut Model,
    key: &str,
    identity_id: &str,
) -> Result<Duration, ResponseTemplate> {
    let now = Instant::now();
    if model
        .fic_busy_until
        .get(key)
        .is_some_and(|until| *until > now)
    {
        model.fic_conflicts += 1;
        return Err(arm_error(
            409,
            "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
            &format!(
                "Too many Federated Identity Credentials are written concurrently for the managed identity '{identity_id}'. Concurrent Federated Identity Credentials writes under the same managed identity are not supported."
            ),
        ));
    }
    let write = model.options.fic_write_time;
    model.fic_busy_until.insert(
        key.to_owned(),
        now + write + model.options.latency.unwrap_or_default(),
    );
    Ok(write)
}

fn fic_put(
    fake: &FakeAks,
    r: &FakeRequest<'_>,
    _: &ArmCall,
    model: &mut Model,
) -> (ResponseTemplate, Duration) {
    let p = identity_path(r);
    let name = fic_name(r);
    let alnum = |c: char| c.is_ascii_alphanumeric();
    if !((3..=120).contains(&name.len())
        && name.starts_with(alnum)
        && name.chars().all(|c| alnum(c) || c == '-' || c == '_'))
    {
        return reply(arm_error(
            400,
            "BadRequest",
            &format!(
                "The federated identity credential name '{name}' is invalid: use 3-120 letters, digits, '-' or '_', starting with a letter or digit."
            ),
        ));
    }
    let Some(identity) = model.identities.get(&p.key).cloned() else {
        return reply(not_found(
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            &p.name,
            &p.rg,
        ));
    };
    let request = r.json().unwrap_or_else(|| json!({}));
    let issuer = request
        .pointer("/properties/issuer")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let subject = request
        .pointer("/properties/subject")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let audiences: Vec<String> = request
        .pointer("/properties/audiences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if issuer.is_empty() || subject.is_empty() || audiences.is_empty() {
        return reply(arm_error(
            400,
            "BadRequest",
            "The properties issuer, subject and audiences are required.",
        ));
    }
    if !issuer.starts_with("https://") {
        return reply(arm_error(
            400,
            "BadRequest",
            "The issuer must be a valid https URL.",
        ));
    }
    let write = match begin_fic_write(model, &p.key, &p.id) {
        Ok(w) => w,
        Err(e) => return reply(e),
    };
    let fics = model.fics.entry(p.key.clone()).or_default();
    let key = name.to_ascii_lowercase();
    let clash = fics.iter().any(|(k, v)| {
        *k != key
            && v.pointer("/properties/issuer") == Some(&json!(issuer))
            && v.pointer("/properties/subject") == Some(&json!(subject))
    });
    if clash {
        return (
            arm_error(
                400,
                "BadRequest",
                "Issuer and subject combination already exists for this Managed Identity.",
            ),
            write,
        );
    }
    if !fics.contains_key(&key) && fics.len() >= 20 {
        return (
            arm_error(
                400,
                "BadRequest",
                "A managed identity can have at most 20 federated identity credentials.",
            ),
            write,
        );
    }
    let client_id = identity
        .pointer("/properties/clientId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let object_id = identity
        .pointer("/properties/principalId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let tenant = identity
        .pointer("/properties/tenantId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let existed = fics.get(&key).cloned();
    if let Some(old) = &existed {
        fake.cloud.entra().remove_federated_credential(
            &client_id,
            old.pointer("/properties/issuer")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            old.pointer("/properties/subject")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        );
    }
    let body = json!({
        "id": format!("{}/federatedIdentityCredentials/{name}", p.id),
        "name": name,
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
        "properties": {"issuer": issuer, "subject": subject, "audiences": audiences},
    });
    fics.insert(key, body.clone());
    for audience in &audiences {
        fake.cloud.entra().add_federated_credential(
            &tenant,
            &client_id,
            &object_id,
            EntraFic {
                issuer: issuer.clone(),
                subject: subject.clone(),
                audience: audience.clone(),
            },
        );
    }
    (
        ResponseTemplate::new(if existed.is_some() { 200 } else { 201 }).set_body_json(body),
        write,
    )
}

fn fic_get(
    _: &FakeAks,
    r: &FakeRequest<'_>,
    _: &ArmCall,
    model: &mut Model,
) -> (ResponseTemplate, Duration) {
    let p = identity_path(r);
    let name = fic_name(r);
    if !model.identities.contains_key(&p.key) {
        return reply(not_found(
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            &p.name,
            &p.rg,
        ));
    }
    reply(
        match model
            .fics
            .get(&p.key)
            .and_then(|m| m.get(&name.to_ascii_lowercase()))
        {
            Some(body) => ResponseTemplate::new(200).set_body_json(body.clone()),
            None => not_found(
                "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
                &format!("{}/{name}", p.name),
                &p.rg,
            ),
        },
    )
}

fn fic_delete(
    fake: &FakeAks,
    r: &FakeRequest<'_>,
    _: &ArmCall,
    model: &mut Model,
) -> (ResponseTemplate, Duration) {
    let p = identity_path(r);
    let name = fic_name(r).to_ascii_lowercase();
    let Some(identity) = model.identities.get(&p.key).cloned() else {
        return reply(ResponseTemplate::new(204));
    };
    if !model
        .fics
        .get(&p.key)
        .is_some_and(|m| m.contains_key(&name))
    {
        return reply(ResponseTemplate::new(204));
    }
    let write = match begin_fic_write(model, &p.key, &p.id) {
        Ok(w) => w,
        Err(e) => return reply(e),
    };
    if let Some(old) = model.fics.get_mut(&p.key).and_then(|m| m.remove(&name)) {
        fake.cloud.entra().remove_federated_credential(
            identity
                .pointer("/properties/clientId")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            old.pointer("/properties/issuer")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            old.pointer("/properties/subject")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        );
    }
    (ResponseTemplate::new(200), write)
}

fn fic_list(
    _: &FakeAks,
    r: &FakeRequest<'_>,
    _: &ArmCall,
    model: &mut Model,
) -> (ResponseTemplate, Duration) {
    let p = identity_path(r);
    if !model.identities.contains_key(&p.key) {
        return reply(not_found(
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            &p.name,
            &p.rg,
        ));
    }
    let items: Vec<Value> = model
        .fics
        .get(&p.key)
        .map(|m| m.values().cloned().collect())
        .unwrap_or_default();
    reply(ResponseTemplate::new(200).set_body_json(json!({"value": items})))
}
