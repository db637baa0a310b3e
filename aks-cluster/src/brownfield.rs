//! Brownfield safety: what `ensure_cluster` may change on a cluster that already exists. No I/O.
//!
//! An existing cluster belongs to its owners: its pools, tags, profiles, add-ons and network settings stay
//! as they are. Only what Flux needs is changed — the OIDC issuer and workload identity, which can only be
//! switched on — by a read-modify-write of the body that was read ([`update_body`]; the client sends it
//! with `If-Match: <eTag>` when the service returned one, as `ManagedClusters_CreateOrUpdate` accepts in
//! api-version 2026-08-01). Every other difference from the spec is a warning ([`plan`]).

use crate::api::{ClusterSpec, Finding, Severity};
use serde_json::{Map, Value, json};
use std::fmt;

/// The check name of the warnings about differences that are left as they are.
pub const KEPT_CHECK: &str = "existing-cluster-differs";

/// One property an update of an existing cluster changes.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyChange {
    /// JSON pointer into the managed-cluster body (`/properties/oidcIssuerProfile/enabled`).
    pub path: String,
    /// The value read (`None`: absent).
    pub from: Option<Value>,
    /// The value sent.
    pub to: Value,
}

impl fmt::Display for PropertyChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = self
            .from
            .as_ref()
            .map_or_else(|| "(absent)".to_owned(), Value::to_string);
        write!(f, "{}: {from} -> {}", self.path, self.to)
    }
}

/// What ensuring a spec on an existing cluster does: the changes it sends and the differences it keeps.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BrownfieldPlan {
    /// The properties the update changes (only the OIDC issuer and workload identity, switched on).
    pub changes: Vec<PropertyChange>,
    /// Differences between the spec and the cluster that are left as they are, as warnings.
    pub kept: Vec<Finding>,
}

/// The states after which a cluster can be written; any other (`Creating`, `Updating`, `Upgrading`,
/// `Scaling`, `Deleting`, `Starting`, `Stopping`, `Canceling`, `UpgradingNodeImageVersion`…) means an
/// operation is still running.
pub fn is_terminal(state: &str) -> bool {
    matches!(
        state.to_ascii_lowercase().as_str(),
        "succeeded" | "failed" | "canceled"
    )
}

/// The provisioning state of a managed-cluster body (`Succeeded` when absent).
pub fn provisioning_state(current: &Value) -> &str {
    current
        .pointer("/properties/provisioningState")
        .and_then(Value::as_str)
        .unwrap_or("Succeeded")
}

/// The `eTag` of a managed-cluster body, when the service sent one.
pub fn etag(current: &Value) -> Option<&str> {
    current
        .get("eTag")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
}

/// Whether the cluster is stopped (`powerState.code: Stopped`): AKS refuses updates until it is started.
pub fn is_stopped(current: &Value) -> bool {
    current
        .pointer("/properties/powerState/code")
        .and_then(Value::as_str)
        .is_some_and(|c| c.eq_ignore_ascii_case("stopped"))
}

fn kept(reason: String) -> Finding {
    Finding {
        severity: Severity::Warning,
        check: KEPT_CHECK,
        reason,
    }
}

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn enabled(v: &Value, pointer: &str) -> bool {
    v.pointer(pointer).and_then(Value::as_bool).unwrap_or(false)
}

const LEFT_ALONE: &str =
    "azflux changes only the OIDC issuer and workload identity of an existing cluster";

/// Compares `spec` with the existing cluster `current` (its GET body): the changes Flux needs and the
/// differences kept as warnings.
pub fn plan(spec: &ClusterSpec, current: &Value) -> BrownfieldPlan {
    let mut out = BrownfieldPlan::default();
    let name = text(current, "/name").unwrap_or(&spec.name);
    for (wanted, pointer, what) in [
        (
            spec.oidc_issuer,
            "/properties/oidcIssuerProfile/enabled",
            "the OIDC issuer",
        ),
        (
            spec.workload_identity,
            "/properties/securityProfile/workloadIdentity/enabled",
            "workload identity",
        ),
    ] {
        let has = enabled(current, pointer);
        if wanted && !has {
            out.changes.push(PropertyChange {
                path: pointer.to_owned(),
                from: current.pointer(pointer).cloned(),
                to: json!(true),
            });
        } else if !wanted && has {
            out.kept.push(kept(format!(
                "{what} stays enabled on cluster '{name}' (the spec has it off; AKS cannot switch the OIDC issuer off, and Flux needs both)"
            )));
        }
    }
    let kept_list = &mut out.kept;
    let mut differs = |what: &str, have: &str, want: &str| {
        kept_list.push(kept(format!(
            "{what} of cluster '{name}' kept as it is: it has {have}, the spec asks for {want} ({LEFT_ALONE})"
        )));
    };
    if let Some(have) = text(current, "/location")
        && norm(have) != norm(&spec.location)
    {
        differs("the location", have, &spec.location);
    }
    if let (Some(want), Some(have)) = (&spec.dns_prefix, text(current, "/properties/dnsPrefix"))
        && want != have
    {
        differs("the DNS prefix", have, want);
    }
    let plugin = text(current, "/properties/networkProfile/networkPlugin").unwrap_or("(none)");
    if plugin != spec.network_plugin {
        differs("the network plugin", plugin, &spec.network_plugin);
    }
    let policy = text(current, "/properties/networkProfile/networkPolicy").unwrap_or("none");
    let want_policy = spec.network_policy.as_deref().unwrap_or("none");
    if policy != want_policy {
        differs("the network policy", policy, want_policy);
    }
    if let (Some(want), Some(have)) = (
        &spec.kubernetes_version,
        text(current, "/properties/kubernetesVersion"),
    ) && want != have
    {
        differs("the Kubernetes version", have, want);
    }
    let tier = text(current, "/sku/tier").unwrap_or("Free");
    if !tier.eq_ignore_ascii_case(spec.sku_tier.as_str()) {
        differs("the pricing tier", tier, spec.sku_tier.as_str());
    }
    for (key, want) in &spec.tags {
        match current.get("tags").and_then(|t| t.get(key)) {
            Some(Value::String(have)) if have == want => {}
            Some(have) => differs(&format!("tag '{key}'"), &have.to_string(), want),
            None => differs(&format!("tag '{key}'"), "no such tag", want),
        }
    }
    let mut missing_pools = Vec::new();
    let pools = current
        .pointer("/properties/agentPoolProfiles")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for want in &spec.node_pools {
        let Some(have) = pools.iter().find(|p| p["name"] == want.name.as_str()) else {
            let names: Vec<&str> = pools.iter().filter_map(|p| p["name"].as_str()).collect();
            missing_pools.push((want.name.clone(), names.join(", ")));
            continue;
        };
        let pool = format!("node pool '{}'", want.name);
        if let Some(size) = text(have, "/vmSize")
            && !size.eq_ignore_ascii_case(&want.vm_size)
        {
            differs(&format!("the VM size of {pool}"), size, &want.vm_size);
        }
        if let Some(mode) = text(have, "/mode")
            && !mode.eq_ignore_ascii_case(&want.mode)
        {
            differs(&format!("the mode of {pool}"), mode, &want.mode);
        }
        let autoscaled = enabled(have, "/enableAutoScaling");
        if let Some(count) = have.get("count").and_then(Value::as_u64)
            && !autoscaled
            && count != u64::from(want.count)
        {
            differs(
                &format!("the node count of {pool}"),
                &count.to_string(),
                &want.count.to_string(),
            );
        }
        if let (Some(want_sku), Some(sku)) = (&want.os_sku, text(have, "/osSKU"))
            && !sku.eq_ignore_ascii_case(want_sku)
        {
            differs(&format!("the OS SKU of {pool}"), sku, want_sku);
        }
    }
    for (pool, names) in missing_pools {
        out.kept.push(kept(format!(
            "the spec's node pool '{pool}' is not on cluster '{name}' (its pools: {names}): the pools of an existing cluster are never added, removed or changed; add it yourself (az aks nodepool add) if you want it"
        )));
    }
    if enabled(current, "/properties/podIdentityProfile/enabled") {
        out.kept.push(pod_identity_warning(name));
    }
    out
}

/// The warning for an existing cluster that still has AAD Pod Identity, with the migration steps.
pub fn pod_identity_warning(cluster: &str) -> Finding {
    Finding {
        severity: Severity::Warning,
        check: "aad-pod-identity-deprecated",
        reason: format!(
            "cluster '{cluster}' has AAD Pod Identity enabled (podIdentityProfile), which is deprecated and which Flux no longer documents. Migrate to workload identity: (1) this run enables the OIDC issuer and workload identity and gives the Flux controllers a user-assigned identity with federated credentials; (2) for each of your own AzureIdentity/AzureIdentityBinding pairs, add a federated credential for the workload's service account, annotate the service account with azure.workload.identity/client-id and label the pods azure.workload.identity/use=true; (3) once nothing uses them, delete the bindings and run `az aks pod-identity` removal (or `az aks update --disable-pod-identity`)"
        ),
    }
}

fn remove(v: &mut Value, pointer: &str) {
    let (parent, key) = match pointer.rsplit_once('/') {
        Some((p, k)) => (p, k),
        None => return,
    };
    let target = if parent.is_empty() {
        Some(v)
    } else {
        v.pointer_mut(parent)
    };
    if let Some(Value::Object(o)) = target {
        o.remove(key);
    }
}

fn set(v: &mut Value, pointer: &str, value: Value) {
    let mut at = v;
    let mut parts = pointer.trim_start_matches('/').split('/').peekable();
    while let Some(part) = parts.next() {
        if !at.is_object() {
            *at = Value::Object(Map::new());
        }
        let Value::Object(o) = at else { return };
        if parts.peek().is_none() {
            o.insert(part.to_owned(), value);
            return;
        }
        at = o
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// Read-only fields of `ManagedCluster` (api-version 2026-08-01) that an SDK leaves out of a PUT.
const READ_ONLY: &[&str] = &[
    "/id",
    "/name",
    "/type",
    "/systemData",
    "/eTag",
    "/identity/principalId",
    "/identity/tenantId",
    "/properties/provisioningState",
    "/properties/powerState",
    "/properties/maxAgentPools",
    "/properties/currentKubernetesVersion",
    "/properties/fqdn",
    "/properties/azurePortalFQDN",
    "/properties/privateFQDN",
    "/properties/resourceUID",
    "/properties/oidcIssuerProfile/issuerURL",
    "/properties/networkProfile/loadBalancerProfile/effectiveOutboundIPs",
];

/// Read-only fields of each `agentPoolProfiles[]` entry (a pool's `powerState` is writable: it starts and
/// stops the pool, so it is kept).
const POOL_READ_ONLY: &[&str] = &[
    "/provisioningState",
    "/currentOrchestratorVersion",
    "/nodeImageVersion",
    "/eTag",
];

/// The PUT body of an update: the cluster exactly as read, read-only fields left out, with `changes`
/// applied — pools, tags, profiles and add-ons go back as they were read.
pub fn update_body(current: &Value, changes: &[PropertyChange]) -> Value {
    let mut body = current.clone();
    for pointer in READ_ONLY {
        remove(&mut body, pointer);
    }
    if let Some(Value::Object(users)) = body.pointer_mut("/identity/userAssignedIdentities") {
        for identity in users.values_mut() {
            remove(identity, "/principalId");
            remove(identity, "/clientId");
        }
    }
    if let Some(Value::Object(addons)) = body.pointer_mut("/properties/addonProfiles") {
        for addon in addons.values_mut() {
            remove(addon, "/identity");
        }
    }
    if let Some(Value::Array(pools)) = body.pointer_mut("/properties/agentPoolProfiles") {
        for pool in pools {
            for pointer in POOL_READ_ONLY {
                remove(pool, pointer);
            }
        }
    }
    for change in changes {
        set(&mut body, &change.path, change.to.clone());
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn existing() -> Value {
        json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1",
            "name": "c1", "type": "Microsoft.ContainerService/ManagedClusters", "location": "westeurope",
            "eTag": "beywbwei",
            "sku": {"name": "Base", "tier": "Standard"},
            "tags": {"owner": "platform", "cost-center": "42"},
            "identity": {"type": "SystemAssigned", "principalId": "p", "tenantId": "t"},
            "properties": {
                "provisioningState": "Succeeded", "powerState": {"code": "Running"},
                "dnsPrefix": "c1-dns", "fqdn": "c1-dns-x.hcp.westeurope.azmk8s.io",
                "kubernetesVersion": "1.32", "currentKubernetesVersion": "1.32.7",
                "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkPolicy": "cilium",
                    "podCidr": "10.244.0.0/16", "loadBalancerProfile": {"effectiveOutboundIPs": [{"id": "/ip"}], "managedOutboundIPs": {"count": 2}}},
                "aadProfile": {"managed": true, "enableAzureRBAC": true, "adminGroupObjectIDs": ["g1"]},
                "addonProfiles": {"azurepolicy": {"enabled": true, "identity": {"clientId": "x"}}},
                "agentPoolProfiles": [
                    {"name": "sys", "mode": "System", "count": 3, "vmSize": "Standard_D8s_v5", "enableAutoScaling": true,
                     "minCount": 2, "maxCount": 5, "nodeImageVersion": "img", "provisioningState": "Succeeded",
                     "currentOrchestratorVersion": "1.32.7", "eTag": "e1", "powerState": {"code": "Running"}},
                    {"name": "apps", "mode": "User", "count": 4, "vmSize": "Standard_D4s_v5"}
                ],
                "oidcIssuerProfile": {"enabled": false}
            }
        })
    }

    #[test]
    fn only_the_oidc_issuer_and_workload_identity_are_changed() {
        let spec = ClusterSpec::new("s", "rg", "c1", "westeurope");
        let plan = plan(&spec, &existing());
        let paths: Vec<&str> = plan.changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/properties/oidcIssuerProfile/enabled",
                "/properties/securityProfile/workloadIdentity/enabled"
            ]
        );
        assert_eq!(plan.changes[0].from, Some(json!(false)));
        assert_eq!(plan.changes[1].from, None);
        assert_eq!(
            plan.changes[0].to_string(),
            "/properties/oidcIssuerProfile/enabled: false -> true"
        );
        let kept: Vec<&str> = plan.kept.iter().map(|f| f.reason.as_str()).collect();
        for expected in [
            "the network policy of cluster 'c1' kept as it is: it has cilium, the spec asks for calico",
            "the pricing tier of cluster 'c1' kept as it is: it has Standard, the spec asks for Free",
            "the spec's node pool 'system' is not on cluster 'c1' (its pools: sys, apps)",
        ] {
            assert!(
                kept.iter().any(|k| k.starts_with(expected)),
                "{expected} in {kept:#?}"
            );
        }
        assert!(plan.kept.iter().all(|f| f.severity == Severity::Warning));
        // Tags the user has and the spec does not mention are theirs: no warning.
        assert!(!kept.iter().any(|k| k.contains("owner")), "{kept:?}");
    }

    #[test]
    fn the_update_body_is_the_read_body_without_read_only_fields() {
        let current = existing();
        let spec = ClusterSpec::new("s", "rg", "c1", "westeurope");
        let body = update_body(&current, &plan(&spec, &current).changes);
        assert_eq!(body["tags"], current["tags"]);
        assert_eq!(body["sku"], current["sku"]);
        assert_eq!(
            body["properties"]["aadProfile"],
            current["properties"]["aadProfile"]
        );
        assert_eq!(
            body["properties"]["addonProfiles"],
            json!({"azurepolicy": {"enabled": true}})
        );
        let pools = body["properties"]["agentPoolProfiles"].as_array().unwrap();
        assert_eq!(pools.len(), 2);
        assert_eq!(
            pools[0],
            json!({"name": "sys", "mode": "System", "count": 3, "vmSize": "Standard_D8s_v5", "enableAutoScaling": true,
                   "minCount": 2, "maxCount": 5, "powerState": {"code": "Running"}})
        );
        assert_eq!(
            body["properties"]["networkProfile"],
            json!({"networkPlugin": "azure", "networkPluginMode": "overlay", "networkPolicy": "cilium",
                   "podCidr": "10.244.0.0/16", "loadBalancerProfile": {"managedOutboundIPs": {"count": 2}}})
        );
        assert_eq!(
            body["properties"]["oidcIssuerProfile"],
            json!({"enabled": true})
        );
        assert_eq!(
            body["properties"]["securityProfile"],
            json!({"workloadIdentity": {"enabled": true}})
        );
        for gone in ["id", "name", "type", "eTag"] {
            assert!(body.get(gone).is_none(), "{gone}");
        }
        for gone in [
            "provisioningState",
            "powerState",
            "fqdn",
            "currentKubernetesVersion",
        ] {
            assert!(body["properties"].get(gone).is_none(), "{gone}");
        }
        assert_eq!(body["identity"], json!({"type": "SystemAssigned"}));
        assert_eq!(body["properties"]["kubernetesVersion"], "1.32");
    }

    #[test]
    fn a_cluster_with_what_flux_needs_has_no_changes_and_pod_identity_is_a_warning() {
        let mut current = existing();
        current["properties"]["oidcIssuerProfile"] =
            json!({"enabled": true, "issuerURL": "https://i/"});
        current["properties"]["securityProfile"] = json!({"workloadIdentity": {"enabled": true}});
        current["properties"]["podIdentityProfile"] = json!({"enabled": true});
        let mut spec = ClusterSpec::new("s", "rg", "c1", "westeurope");
        spec.workload_identity = false;
        let plan = plan(&spec, &current);
        assert!(plan.changes.is_empty(), "{:?}", plan.changes);
        let pod = plan
            .kept
            .iter()
            .find(|f| f.check == "aad-pod-identity-deprecated")
            .unwrap();
        assert!(
            pod.reason.contains("federated credential"),
            "{}",
            pod.reason
        );
        assert!(
            plan.kept
                .iter()
                .any(|f| f.reason.starts_with("workload identity stays enabled")),
            "{:?}",
            plan.kept
        );
    }

    #[test]
    fn states_and_etags() {
        assert!(is_terminal("Succeeded") && is_terminal("failed") && is_terminal("Canceled"));
        for busy in [
            "Creating",
            "Updating",
            "Upgrading",
            "Scaling",
            "Deleting",
            "Stopping",
        ] {
            assert!(!is_terminal(busy), "{busy}");
        }
        let current = existing();
        assert_eq!(etag(&current), Some("beywbwei"));
        assert_eq!(provisioning_state(&current), "Succeeded");
        assert!(!is_stopped(&current));
        assert_eq!(etag(&json!({})), None);
    }
}
