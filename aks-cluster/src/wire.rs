//! Serde request/response bodies, URL builders, naming rules, the preflight checks and response parsing:
//! no I/O.

use crate::api::{
    Cluster, ClusterSpec, Error, FederatedCredential, FederatedCredentialSpec, Finding, Identity,
    IdentitySpec, KubeletIdentity, NodeImageStatus, NodePool, Result, RoleAssignment,
    RoleAssignmentSpec, Severity,
};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The AKS api-version (`Microsoft.ContainerService`, GA; the newest with a full example set).
pub const AKS_API_VERSION: &str = "2026-08-01";
/// The managed-identity api-version (`Microsoft.ManagedIdentity`, GA).
pub const MSI_API_VERSION: &str = "2026-05-31";
/// The role-assignments api-version (`Microsoft.Authorization`, GA).
pub const AUTHORIZATION_API_VERSION: &str = "2022-04-01";

/// The namespace of deterministic role-assignment names (UUIDv5).
pub const ROLE_ASSIGNMENT_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6b1f_2c0e_8a4d_5e3f_9c21_a7f1_f10c_d0a1);

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// AKS cluster names: 1–63 characters, letters, digits, `-` and `_`, starting and ending with a letter or
/// digit.
pub fn validate_cluster_name(name: &str) -> Result<()> {
    let ok = (1..=63).contains(&name.len())
        && name.chars().all(|c| is_alnum(c) || c == '-' || c == '_')
        && name.starts_with(is_alnum)
        && name.ends_with(is_alnum);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("cluster name '{name}'"),
            "AKS names are 1-63 letters, digits, '-' or '_', starting and ending with a letter or digit",
        ))
    }
}

/// AKS node pool names: `^[a-z][a-z0-9]{0,11}$`.
pub fn validate_pool_name(name: &str) -> Result<()> {
    let ok = (1..=12).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("node pool name '{name}'"),
            "node pool names are 1-12 lower-case letters and digits, starting with a letter",
        ))
    }
}

/// DNS prefixes: 1–54 letters, digits and `-`, starting and ending with a letter or digit.
pub fn validate_dns_prefix(prefix: &str) -> Result<()> {
    let ok = (1..=54).contains(&prefix.len())
        && prefix.chars().all(|c| is_alnum(c) || c == '-')
        && prefix.starts_with(is_alnum)
        && prefix.ends_with(is_alnum);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("DNS prefix '{prefix}'"),
            "use 1-54 letters, digits or '-', starting and ending with a letter or digit",
        ))
    }
}

/// Resource group names: 1–90 letters, digits, `-`, `_`, `.`, `(`, `)`, not ending in `.`.
pub fn validate_resource_group(name: &str) -> Result<()> {
    let ok = (1..=90).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "-_.()".contains(c))
        && !name.ends_with('.');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("resource group name '{name}'"),
            "use 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'",
        ))
    }
}

/// Subscription ids are GUIDs.
pub fn validate_subscription(id: &str) -> Result<()> {
    if id.is_empty() || id.contains('/') || id.contains(char::is_whitespace) {
        return Err(Error::invalid(
            format!("subscription id '{id}'"),
            "give the subscription's GUID",
        ));
    }
    Ok(())
}

/// User-assigned identity names: 3–128 letters, digits, `-`, `_`, starting with a letter or digit.
pub fn validate_identity_name(name: &str) -> Result<()> {
    let ok = (3..=128).contains(&name.len())
        && name.starts_with(is_alnum)
        && name.chars().all(|c| is_alnum(c) || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("identity name '{name}'"),
            "use 3-128 letters, digits, '-' or '_', starting with a letter or digit",
        ))
    }
}

/// Federated credential names: `^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$`.
pub fn validate_fic_name(name: &str) -> Result<()> {
    let ok = (3..=120).contains(&name.len())
        && name.starts_with(is_alnum)
        && name.chars().all(|c| is_alnum(c) || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("federated credential name '{name}'"),
            "use 3-120 letters, digits, '-' or '_', starting with a letter or digit",
        ))
    }
}

/// Checks a federated credential spec before anything is sent.
pub fn validate_fic(spec: &FederatedCredentialSpec) -> Result<()> {
    validate_fic_name(&spec.name)?;
    let id = azflux_core::arm::ResourceId::parse(&spec.identity_id)?;
    if !id
        .resource_type()
        .is_some_and(|t| t.eq_ignore_ascii_case("Microsoft.ManagedIdentity/userAssignedIdentities"))
    {
        return Err(Error::invalid(
            format!("identity id '{}'", spec.identity_id),
            "give the id of a user-assigned identity (…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>)",
        ));
    }
    if !spec.issuer.starts_with("https://") {
        return Err(Error::invalid(
            format!("issuer '{}'", spec.issuer),
            "use the cluster's OIDC issuer URL (https://…), byte for byte",
        ));
    }
    if spec.subject.is_empty() || spec.audiences.is_empty() {
        return Err(Error::invalid(
            format!("federated credential '{}'", spec.name),
            "subject and at least one audience are required",
        ));
    }
    Ok(())
}

/// The checks run on a cluster spec before any request: refusals and warnings.
pub fn preflight(spec: &ClusterSpec) -> Vec<Finding> {
    let mut out = Vec::new();
    let refuse = |check: &'static str, reason: String| Finding {
        severity: Severity::Refusal,
        check,
        reason,
    };
    let names = [
        validate_subscription(&spec.subscription_id),
        validate_resource_group(&spec.resource_group),
        validate_cluster_name(&spec.name),
        validate_dns_prefix(spec.dns_prefix.as_deref().unwrap_or(&spec.name)),
    ];
    for result in names
        .into_iter()
        .chain(spec.node_pools.iter().map(|p| validate_pool_name(&p.name)))
    {
        if let Err(e) = result {
            out.push(refuse("invalid-name", e.to_string()));
        }
    }
    if spec.location.trim().is_empty() {
        out.push(refuse(
            "invalid-name",
            "the location is empty: give an Azure region such as 'westeurope'".into(),
        ));
    }
    if spec.node_pools.is_empty() || !spec.node_pools.iter().any(|p| p.mode == "System") {
        out.push(refuse(
            "no-system-pool",
            "a cluster needs at least one node pool with mode 'System': set mode = \"System\" on a pool, or add NodePoolSpec::default() (the guide's system pool)".into(),
        ));
    }
    for pool in spec.node_pools.iter().filter(|p| p.count == 0) {
        out.push(refuse(
            "empty-pool",
            format!(
                "node pool '{}' has count 0: set its count to at least 1 (a cluster cannot be created with an empty pool)",
                pool.name
            ),
        ));
    }
    if spec.workload_identity && !spec.oidc_issuer {
        out.push(refuse(
            "workload-identity-without-oidc",
            "workload identity needs the OIDC issuer: set oidc_issuer = true (the guide enables both)".into(),
        ));
    }
    if spec.aad_pod_identity {
        out.push(refuse(
            "aad-pod-identity-deprecated",
            "AAD Pod Identity is deprecated (and Flux no longer documents it): use workload identity instead (oidc_issuer = true, workload_identity = true, a user-assigned identity with federated credentials for the Flux controllers)".into(),
        ));
    }
    if !spec.system_assigned_identity {
        out.push(refuse(
            "no-cluster-identity",
            "this client creates clusters with a system-assigned identity (the guide's); set system_assigned_identity = true".into(),
        ));
    }
    if !matches!(spec.network_plugin.as_str(), "azure" | "kubenet" | "none") {
        out.push(refuse(
            "invalid-network-plugin",
            format!(
                "network plugin '{}' is not one of azure, kubenet, none",
                spec.network_plugin
            ),
        ));
    }
    if let Some(policy) = &spec.network_policy {
        if !matches!(policy.as_str(), "azure" | "calico" | "cilium" | "none") {
            out.push(refuse(
                "invalid-network-policy",
                format!("network policy '{policy}' is not one of azure, calico, cilium, none"),
            ));
        } else if policy != "none" && !spec.flux_network_policies {
            out.push(Finding {
                severity: Severity::Warning,
                check: "network-policy-without-allow-egress",
                reason: format!(
                    "network policy '{policy}' is enabled but the Flux install will not carry its NetworkPolicies: without 'allow-egress' the controllers cannot reach source-controller (fluxcd/flux2#703); keep Flux's network policies (flux install --network-policy=true)"
                ),
            });
        }
    }
    if !spec.workload_identity {
        out.push(Finding {
            severity: Severity::Warning,
            check: "no-workload-identity",
            reason: "workload identity is off: Flux controllers will need static secrets for Azure (ACR, Key Vault, Event Hubs)".into(),
        });
    }
    out
}

/// The warnings for pools whose node image is older than the latest (the second half of fluxcd/flux2#703:
/// stale node images kept the network-policy bug).
pub fn stale_image_findings(status: &[NodeImageStatus]) -> Vec<Finding> {
    status
        .iter()
        .filter(|s| !s.is_up_to_date())
        .map(|s| Finding {
            severity: Severity::Warning,
            check: "stale-node-image",
            reason: format!(
                "node pool '{}' runs node image {} but {} is available: upgrade it (begin_upgrade_node_image) — old images carried network-policy bugs (fluxcd/flux2#703)",
                s.pool,
                s.current.as_deref().unwrap_or("?"),
                s.latest.as_deref().unwrap_or("?")
            ),
        })
        .collect()
}

fn tags_json(tags: &BTreeMap<String, String>) -> Value {
    Value::Object(
        tags.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// The PUT body of a managed cluster.
pub fn cluster_body(spec: &ClusterSpec) -> Value {
    let pools: Vec<Value> = spec
        .node_pools
        .iter()
        .map(|p| {
            let mut pool = json!({
                "name": p.name, "mode": p.mode, "type": "VirtualMachineScaleSets",
                "count": p.count, "vmSize": p.vm_size, "osType": p.os_type,
            });
            if let Some(sku) = &p.os_sku {
                pool["osSKU"] = json!(sku);
            }
            pool
        })
        .collect();
    let mut network = json!({"networkPlugin": spec.network_plugin});
    if let Some(policy) = &spec.network_policy {
        network["networkPolicy"] = json!(policy);
    }
    let mut properties = json!({
        "dnsPrefix": spec.dns_prefix.as_deref().unwrap_or(&spec.name),
        "agentPoolProfiles": pools,
        "networkProfile": network,
        "oidcIssuerProfile": {"enabled": spec.oidc_issuer},
        "securityProfile": {"workloadIdentity": {"enabled": spec.workload_identity}},
    });
    if let Some(version) = &spec.kubernetes_version {
        properties["kubernetesVersion"] = json!(version);
    }
    json!({
        "location": spec.location,
        "identity": {"type": "SystemAssigned"},
        "sku": {"name": "Base", "tier": spec.sku_tier.as_str()},
        "tags": tags_json(&spec.tags),
        "properties": properties,
    })
}

fn s(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn tags_of(v: &Value) -> BTreeMap<String, String> {
    v.get("tags")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn unexpected(resource: &str, message: &str) -> Error {
    Error::UnexpectedResponse {
        resource: resource.to_owned(),
        message: message.to_owned(),
    }
}

/// Reads a managed cluster (GET body).
pub fn parse_cluster(v: &Value) -> Result<Cluster> {
    let id = s(v, "/id").ok_or_else(|| unexpected("managed cluster", "no 'id' in the body"))?;
    let kubelet = v
        .pointer("/properties/identityProfile/kubeletidentity")
        .map(|k| KubeletIdentity {
            resource_id: s(k, "/resourceId").unwrap_or_default(),
            client_id: s(k, "/clientId").unwrap_or_default(),
            object_id: s(k, "/objectId").unwrap_or_default(),
        });
    let pools = v
        .pointer("/properties/agentPoolProfiles")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|p| NodePool {
                    name: s(p, "/name").unwrap_or_default(),
                    mode: s(p, "/mode").unwrap_or_default(),
                    count: p
                        .get("count")
                        .and_then(Value::as_u64)
                        .and_then(|c| u32::try_from(c).ok())
                        .unwrap_or_default(),
                    vm_size: s(p, "/vmSize").unwrap_or_default(),
                    node_image_version: s(p, "/nodeImageVersion"),
                    provisioning_state: s(p, "/provisioningState"),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Cluster {
        name: s(v, "/name").unwrap_or_else(|| id.rsplit('/').next().unwrap_or_default().to_owned()),
        id,
        location: s(v, "/location").unwrap_or_default(),
        provisioning_state: s(v, "/properties/provisioningState")
            .unwrap_or_else(|| "Succeeded".into()),
        kubernetes_version: s(v, "/properties/kubernetesVersion"),
        current_kubernetes_version: s(v, "/properties/currentKubernetesVersion"),
        fqdn: s(v, "/properties/fqdn"),
        node_resource_group: s(v, "/properties/nodeResourceGroup"),
        oidc_issuer_url: s(v, "/properties/oidcIssuerProfile/issuerURL"),
        workload_identity_enabled: v
            .pointer("/properties/securityProfile/workloadIdentity/enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        kubelet_identity: kubelet,
        principal_id: s(v, "/identity/principalId"),
        network_plugin: s(v, "/properties/networkProfile/networkPlugin"),
        network_policy: s(v, "/properties/networkProfile/networkPolicy"),
        node_pools: pools,
        tags: tags_of(v),
    })
}

/// Reads `listClusterUserCredential`'s first kubeconfig (base64) into its YAML.
pub fn parse_kubeconfig(v: &Value) -> Result<String> {
    use base64::Engine as _;
    let resource = "listClusterUserCredential";
    let value = v
        .pointer("/kubeconfigs/0/value")
        .and_then(Value::as_str)
        .ok_or_else(|| unexpected(resource, "no kubeconfigs[0].value in the answer"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|e| unexpected(resource, &format!("the kubeconfig is not base64: {e}")))?;
    String::from_utf8(bytes).map_err(|_| unexpected(resource, "the kubeconfig is not UTF-8"))
}

/// The PUT body of a user-assigned identity.
pub fn identity_body(spec: &IdentitySpec) -> Value {
    json!({"location": spec.location, "tags": tags_json(&spec.tags)})
}

/// Reads an identity.
pub fn parse_identity(v: &Value) -> Result<Identity> {
    let id = s(v, "/id").ok_or_else(|| unexpected("identity", "no 'id' in the body"))?;
    let client_id = s(v, "/properties/clientId")
        .ok_or_else(|| unexpected(&id, "no properties.clientId in the body"))?;
    Ok(Identity {
        name: s(v, "/name").unwrap_or_else(|| id.rsplit('/').next().unwrap_or_default().to_owned()),
        location: s(v, "/location").unwrap_or_default(),
        principal_id: s(v, "/properties/principalId").unwrap_or_default(),
        tenant_id: s(v, "/properties/tenantId").unwrap_or_default(),
        tags: tags_of(v),
        client_id,
        id,
    })
}

/// The PUT body of a federated credential.
pub fn fic_body(spec: &FederatedCredentialSpec) -> Value {
    json!({"properties": {"issuer": spec.issuer, "subject": spec.subject, "audiences": spec.audiences}})
}

/// Reads a federated credential.
pub fn parse_fic(v: &Value) -> Result<FederatedCredential> {
    let id = s(v, "/id").unwrap_or_default();
    Ok(FederatedCredential {
        name: s(v, "/name").unwrap_or_else(|| id.rsplit('/').next().unwrap_or_default().to_owned()),
        id,
        issuer: s(v, "/properties/issuer")
            .ok_or_else(|| unexpected("federated credential", "no properties.issuer"))?,
        subject: s(v, "/properties/subject")
            .ok_or_else(|| unexpected("federated credential", "no properties.subject"))?,
        audiences: v
            .pointer("/properties/audiences")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// Whether an existing credential is what `spec` asks for (issuer byte for byte).
pub fn fic_matches(spec: &FederatedCredentialSpec, actual: &FederatedCredential) -> bool {
    actual.issuer == spec.issuer
        && actual.subject == spec.subject
        && actual.audiences == spec.audiences
}

/// The subscription of a scope (`/subscriptions/<sub>/…`).
pub fn scope_subscription(scope: &str) -> Result<String> {
    let id = azflux_core::arm::ResourceId::parse(scope).map_err(|_| {
        Error::invalid(
            format!("role assignment scope '{scope}'"),
            "give a subscription, resource group or resource id starting with /subscriptions/",
        )
    })?;
    Ok(id.subscription_id().to_owned())
}

/// The deterministic name of a role assignment: UUIDv5 of scope (lower-case), principal and role GUID.
pub fn role_assignment_name(spec: &RoleAssignmentSpec) -> String {
    let key = format!(
        "{}|{}|{}",
        spec.scope.trim_end_matches('/').to_ascii_lowercase(),
        spec.principal_id.to_ascii_lowercase(),
        spec.role.definition_guid().to_ascii_lowercase()
    );
    uuid::Uuid::new_v5(&ROLE_ASSIGNMENT_NAMESPACE, key.as_bytes()).to_string()
}

/// The resource id of a role assignment.
pub fn role_assignment_id(spec: &RoleAssignmentSpec) -> String {
    format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{}",
        spec.scope.trim_end_matches('/'),
        role_assignment_name(spec)
    )
}

/// The PUT body of a role assignment.
pub fn role_assignment_body(spec: &RoleAssignmentSpec) -> Result<Value> {
    let sub = scope_subscription(&spec.scope)?;
    Ok(json!({"properties": {
        "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{}", spec.role.definition_guid()),
        "principalId": spec.principal_id,
        "principalType": spec.principal_type,
    }}))
}

/// Reads a role assignment answer (or builds one from the spec when the body was empty).
pub fn parse_role_assignment(spec: &RoleAssignmentSpec, v: &Value) -> RoleAssignment {
    RoleAssignment {
        id: s(v, "/id").unwrap_or_else(|| role_assignment_id(spec)),
        name: s(v, "/name").unwrap_or_else(|| role_assignment_name(spec)),
        scope: s(v, "/properties/scope").unwrap_or_else(|| spec.scope.clone()),
        principal_id: s(v, "/properties/principalId").unwrap_or_else(|| spec.principal_id.clone()),
        role_definition_id: s(v, "/properties/roleDefinitionId").unwrap_or_else(|| {
            format!(
                "/providers/Microsoft.Authorization/roleDefinitions/{}",
                spec.role.definition_guid()
            )
        }),
        existed_under_other_name: false,
    }
}

/// Reads an upgrade profile's `latestNodeImageVersion`.
pub fn parse_latest_node_image(v: &Value) -> Option<String> {
    s(v, "/properties/latestNodeImageVersion")
}

/// An empty JSON object.
pub fn empty_object() -> Value {
    Value::Object(Map::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{NodePoolSpec, Role};

    fn spec() -> ClusterSpec {
        ClusterSpec::new("sub", "rg", "flux-e2e", "westeurope")
    }

    #[test]
    fn default_spec_is_the_guides_cluster() {
        let body = cluster_body(&spec());
        assert_eq!(body["identity"]["type"], "SystemAssigned");
        assert_eq!(
            body["properties"]["networkProfile"]["networkPlugin"],
            "azure"
        );
        assert_eq!(
            body["properties"]["networkProfile"]["networkPolicy"],
            "calico"
        );
        assert_eq!(body["properties"]["oidcIssuerProfile"]["enabled"], true);
        assert_eq!(
            body["properties"]["securityProfile"]["workloadIdentity"]["enabled"],
            true
        );
        assert_eq!(body["sku"], json!({"name": "Base", "tier": "Free"}));
        assert_eq!(body["properties"]["dnsPrefix"], "flux-e2e");
        assert_eq!(body["properties"]["agentPoolProfiles"][0]["mode"], "System");
        assert!(body["properties"].get("kubernetesVersion").is_none());
        assert!(preflight(&spec()).is_empty(), "{:?}", preflight(&spec()));
    }

    #[test]
    fn names_follow_aks_rules() {
        for ok in ["a", "flux-e2e", "A_b-9", &"x".repeat(63)] {
            assert!(validate_cluster_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a.b", "a b", &"x".repeat(64)] {
            assert!(validate_cluster_name(bad).is_err(), "{bad}");
        }
        assert!(validate_pool_name("system").is_ok());
        for bad in ["System", "1pool", "pool-1", "abcdefghijklm"] {
            assert!(validate_pool_name(bad).is_err(), "{bad}");
        }
        assert!(validate_fic_name("source-controller").is_ok());
        assert!(validate_fic_name("ab").is_err());
        assert!(validate_identity_name("flux").is_ok());
        assert!(validate_identity_name("fx").is_err());
    }

    #[test]
    fn pool_refusals_name_the_pool_and_what_to_do() {
        let mut s = spec();
        s.node_pools[0].count = 0;
        let f = preflight(&s);
        let empty = f.iter().find(|f| f.check == "empty-pool").unwrap();
        assert!(
            empty
                .reason
                .contains(&format!("'{}'", s.node_pools[0].name)),
            "{}",
            empty.reason
        );
        assert!(
            empty.reason.contains("set its count to at least 1"),
            "{}",
            empty.reason
        );
        s.node_pools[0].mode = "User".into();
        let f = preflight(&s);
        let system = f.iter().find(|f| f.check == "no-system-pool").unwrap();
        assert!(
            system.reason.contains("set mode = \"System\""),
            "{}",
            system.reason
        );
    }

    #[test]
    fn preflight_refuses_and_warns_with_reasons() {
        let checks = |s: &ClusterSpec| -> Vec<(&'static str, Severity)> {
            preflight(s).iter().map(|f| (f.check, f.severity)).collect()
        };
        let mut s = spec();
        s.oidc_issuer = false;
        assert_eq!(
            checks(&s),
            [("workload-identity-without-oidc", Severity::Refusal)]
        );
        let mut s = spec();
        s.aad_pod_identity = true;
        let f = preflight(&s);
        assert_eq!(f[0].check, "aad-pod-identity-deprecated");
        assert!(f[0].reason.contains("workload identity"));
        let mut s = spec();
        s.flux_network_policies = false;
        assert_eq!(
            checks(&s),
            [("network-policy-without-allow-egress", Severity::Warning)]
        );
        assert!(preflight(&s)[0].reason.contains("allow-egress"));
        s.network_policy = None;
        assert!(checks(&s).is_empty(), "no policy, no warning");
        let mut s = spec();
        s.name = "bad.name".into();
        s.node_pools = vec![NodePoolSpec {
            name: "Pool-1".into(),
            ..NodePoolSpec::default()
        }];
        let f = preflight(&s);
        assert_eq!(f.len(), 3, "{f:?}: cluster name, dns prefix, pool name");
        assert!(f.iter().all(|f| f.check == "invalid-name"));
    }

    #[test]
    fn role_assignment_names_are_deterministic_uuid_v5() {
        let scope = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr";
        let a = RoleAssignmentSpec::new(scope, "p1", Role::AcrPull);
        let name = role_assignment_name(&a);
        let parsed = uuid::Uuid::parse_str(&name).unwrap();
        assert_eq!(parsed.get_version_num(), 5);
        assert_eq!(
            name,
            role_assignment_name(&RoleAssignmentSpec::new(
                scope.to_uppercase(),
                "P1",
                Role::AcrPull
            )),
            "case-insensitive like ARM ids"
        );
        assert_ne!(
            name,
            role_assignment_name(&RoleAssignmentSpec::new(scope, "p1", Role::AcrPush))
        );
        assert_ne!(
            name,
            role_assignment_name(&RoleAssignmentSpec::new(scope, "p2", Role::AcrPull))
        );
        let body = role_assignment_body(&a).unwrap();
        assert_eq!(
            body["properties"]["roleDefinitionId"],
            "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d"
        );
        assert_eq!(body["properties"]["principalType"], "ServicePrincipal");
        assert!(role_assignment_body(&RoleAssignmentSpec::new("acr", "p", Role::AcrPull)).is_err());
    }

    #[test]
    fn parses_a_cluster_keeping_the_issuer_byte_for_byte() {
        let v = json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1",
            "name": "c1", "location": "eastus",
            "identity": {"type": "SystemAssigned", "principalId": "cp"},
            "properties": {
                "provisioningState": "Succeeded", "fqdn": "c1-abc.hcp.eastus.azmk8s.io",
                "nodeResourceGroup": "MC_rg_c1_eastus",
                "oidcIssuerProfile": {"enabled": true, "issuerURL": "https://eastus.oic.prod-aks.azure.com/T/G/"},
                "identityProfile": {"kubeletidentity": {"resourceId": "/x", "clientId": "kc", "objectId": "ko"}},
                "agentPoolProfiles": [{"name": "system", "count": 2, "nodeImageVersion": "AKSUbuntu-1"}]
            }
        });
        let c = parse_cluster(&v).unwrap();
        assert_eq!(
            c.oidc_issuer_url.as_deref(),
            Some("https://eastus.oic.prod-aks.azure.com/T/G/")
        );
        assert_eq!(c.kubelet_identity.unwrap().object_id, "ko");
        assert_eq!(c.node_resource_group.as_deref(), Some("MC_rg_c1_eastus"));
        assert_eq!(
            c.node_pools[0].node_image_version.as_deref(),
            Some("AKSUbuntu-1")
        );
        assert_eq!(c.principal_id.as_deref(), Some("cp"));
    }

    #[test]
    fn kubeconfig_is_base64_decoded() {
        let v = json!({"kubeconfigs": [{"name": "clusterUser", "value": "YXBpVmVyc2lvbjogdjE="}]});
        assert_eq!(parse_kubeconfig(&v).unwrap(), "apiVersion: v1");
        assert!(parse_kubeconfig(&json!({"kubeconfigs": []})).is_err());
    }

    #[test]
    fn flux_controller_credentials() {
        let f = FederatedCredentialSpec::for_flux_controller(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/flux",
            "https://x/",
            "source-controller",
        );
        assert_eq!(
            f.subject,
            "system:serviceaccount:flux-system:source-controller"
        );
        assert_eq!(f.audiences, ["api://AzureADTokenExchange"]);
        assert_eq!(f.name, "source-controller");
        assert!(validate_fic(&f).is_ok());
        let mut bad = f.clone();
        bad.identity_id = "/subscriptions/s/resourceGroups/rg".into();
        assert!(validate_fic(&bad).is_err());
    }
}
