//! Brownfield safety: an existing cluster — autoscaling pools, a second user pool, tags, Entra integration,
//! add-ons, custom network settings — is only changed for what Flux needs (OIDC issuer, workload
//! identity), by a read-modify-write of the body that was read; every other difference is a warning; a
//! cluster in the middle of an operation is refused.

use crate::Env;
use aks_cluster::brownfield::KEPT_CHECK;
use aks_cluster::wire::AKS_API_VERSION;
use aks_cluster::{ClusterPlan, Clusters, Ensured, Error};
use azflux_core::fake::faults::{Fault, FaultMatch};
use azflux_core::http::{HttpMethod, json_request};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// A cluster as a platform team has it (created outside azflux).
fn users_cluster(tenant: &str, sub: &str) -> Value {
    json!({
        "location": "westeurope",
        "identity": {"type": "SystemAssigned"},
        "sku": {"name": "Base", "tier": "Standard"},
        "tags": {"owner": "platform-team", "cost-center": "cc-4711", "env": "prod"},
        "properties": {
            "dnsPrefix": "prod-weu",
            "kubernetesVersion": "1.32",
            "enableRBAC": true,
            "disableLocalAccounts": true,
            "aadProfile": {
                "managed": true, "enableAzureRBAC": true, "tenantID": tenant,
                "adminGroupObjectIDs": ["6f1c1a4e-3b7d-4c1e-9a51-2f0c4a1b7e21"]
            },
            "addonProfiles": {
                "azurepolicy": {"enabled": true},
                "omsagent": {"enabled": true, "config": {
                    "logAnalyticsWorkspaceResourceID": format!("/subscriptions/{sub}/resourceGroups/rg-ops/providers/Microsoft.OperationalInsights/workspaces/law-prod")
                }},
                "azureKeyvaultSecretsProvider": {"enabled": true, "config": {"enableSecretRotation": "true"}}
            },
            "autoScalerProfile": {"scan-interval": "20s", "expander": "least-waste"},
            "apiServerAccessProfile": {"authorizedIPRanges": ["203.0.113.0/24"]},
            "networkProfile": {
                "networkPlugin": "azure", "networkPluginMode": "overlay", "networkPolicy": "cilium",
                "networkDataplane": "cilium", "podCidr": "192.168.0.0/16", "serviceCidr": "10.10.0.0/16",
                "dnsServiceIP": "10.10.0.10", "outboundType": "loadBalancer", "loadBalancerSku": "standard"
            },
            "agentPoolProfiles": [
                {"name": "sys", "mode": "System", "type": "VirtualMachineScaleSets", "count": 3,
                 "vmSize": "Standard_D8s_v5", "osType": "Linux", "osSKU": "Ubuntu",
                 "enableAutoScaling": true, "minCount": 3, "maxCount": 6, "availabilityZones": ["1", "2", "3"],
                 "nodeTaints": ["CriticalAddonsOnly=true:NoSchedule"]},
                {"name": "apps", "mode": "User", "type": "VirtualMachineScaleSets", "count": 5,
                 "vmSize": "Standard_E8s_v5", "osType": "Linux", "enableAutoScaling": true, "minCount": 2,
                 "maxCount": 20, "nodeLabels": {"workload": "apps"}, "maxPods": 110}
            ],
            "oidcIssuerProfile": {"enabled": false}
        }
    })
}

/// Creates `body` as cluster `name` the way another tool would (a raw PUT), and lets the create finish
/// unless `finish` is false.
async fn seed(env: &Env, name: &str, body: &Value, finish: bool) -> String {
    let id = env.spec(name).cluster_ref().id();
    let url = env.client.arm().url(&id, AKS_API_VERSION).unwrap();
    let response = env
        .client
        .arm()
        .pipeline()
        .send(&mut json_request(HttpMethod::Put, url, Some(body)).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status, 201, "seeded");
    if finish {
        env.cloud
            .manual_clock()
            .unwrap()
            .advance(Duration::from_secs(120));
    }
    id
}

async fn get(env: &Env, id: &str) -> Value {
    env.client
        .arm()
        .get(id, AKS_API_VERSION)
        .await
        .unwrap()
        .unwrap()
        .body
}

/// Every leaf of a JSON document by its pointer.
fn leaves(v: &Value, at: String, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(o) if !o.is_empty() => {
            for (k, v) in o {
                leaves(v, format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, v) in a.iter().enumerate() {
                leaves(v, format!("{at}/{i}"), out);
            }
        }
        other => {
            out.insert(at, other.clone());
        }
    }
}

/// The requests the ARM server received: (method, path, body).
async fn request_log(env: &Env) -> Vec<(String, String, Option<Value>)> {
    env.cloud
        .arm_server()
        .await
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.url.path().to_owned(),
                serde_json::from_slice(&r.body).ok(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_existing_cluster_loses_nothing_and_gains_only_oidc_and_workload_identity() {
    let env = Env::start().await;
    let tenant = env.cloud.sandbox().tenant_id.clone();
    let id = seed(&env, "prod-weu", &users_cluster(&tenant, &env.sub()), true).await;
    let before = get(&env, &id).await;
    assert_eq!(before["properties"]["provisioningState"], "Succeeded");
    let puts_before = env.cloud.request_count("aks.cluster.put");

    // The guide's spec: Free tier, one `system` pool, calico, no tags — none of it may reach the cluster.
    let done = env
        .client
        .ensure_cluster(&env.spec("prod-weu"), &|_| {})
        .await
        .unwrap();
    let Ensured::Updated(cluster) = &done.cluster else {
        panic!("{:?}", done.cluster)
    };
    assert!(cluster.workload_identity_enabled);
    assert!(cluster.oidc_issuer_url.is_some());
    let changed: Vec<String> = done.changes.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        changed,
        [
            "/properties/oidcIssuerProfile/enabled: false -> true",
            "/properties/securityProfile/workloadIdentity/enabled: (absent) -> true"
        ]
    );

    // GET before and after, field by field: nothing lost, nothing changed but the two switches (and the
    // issuer URL the service assigns with the first).
    let after = get(&env, &id).await;
    let (mut b, mut a) = (BTreeMap::new(), BTreeMap::new());
    leaves(&before, String::new(), &mut b);
    leaves(&after, String::new(), &mut a);
    let flux_needs = |p: &str| {
        p.starts_with("/properties/oidcIssuerProfile/")
            || p.starts_with("/properties/securityProfile/workloadIdentity/")
            || p == "/eTag"
    };
    for (pointer, value) in &b {
        if flux_needs(pointer) {
            continue;
        }
        assert_eq!(a.get(pointer), Some(value), "{pointer} kept");
    }
    let added: Vec<&String> = a.keys().filter(|p| !b.contains_key(*p)).collect();
    assert!(
        added.iter().all(|p| flux_needs(p)),
        "only Flux's: {added:?}"
    );
    assert_eq!(after["properties"]["oidcIssuerProfile"]["enabled"], true);
    assert_eq!(
        after["properties"]["securityProfile"]["workloadIdentity"]["enabled"],
        true
    );

    // The request log: one cluster PUT (the read-modify-write), no PUT of agent pools, and the body sent
    // carried the pools, tags and profiles exactly as read.
    assert_eq!(env.cloud.request_count("aks.cluster.put") - puts_before, 1);
    let log = request_log(&env).await;
    assert!(
        !log.iter()
            .any(|(m, p, _)| m == "PUT" && p.to_ascii_lowercase().contains("/agentpools/")),
        "no PUT of agent pools: {log:?}"
    );
    let (_, _, Some(sent)) = log
        .iter()
        .rfind(|(m, p, _)| m == "PUT" && p.ends_with("/managedClusters/prod-weu"))
        .cloned()
        .unwrap()
    else {
        panic!("the PUT had a body")
    };
    assert_eq!(sent["tags"], before["tags"]);
    assert_eq!(sent["sku"], before["sku"]);
    for profile in [
        "aadProfile",
        "addonProfiles",
        "autoScalerProfile",
        "apiServerAccessProfile",
        "networkProfile",
        "dnsPrefix",
        "kubernetesVersion",
        "disableLocalAccounts",
    ] {
        assert_eq!(
            sent["properties"][profile], before["properties"][profile],
            "{profile}"
        );
    }
    let sent_pools = sent["properties"]["agentPoolProfiles"].as_array().unwrap();
    assert_eq!(sent_pools.len(), 2);
    for (sent, read) in sent_pools.iter().zip(
        before["properties"]["agentPoolProfiles"]
            .as_array()
            .unwrap(),
    ) {
        for field in [
            "name",
            "mode",
            "count",
            "vmSize",
            "enableAutoScaling",
            "minCount",
            "maxCount",
            "nodeLabels",
            "nodeTaints",
            "availabilityZones",
        ] {
            assert_eq!(sent.get(field), read.get(field), "{field}");
        }
        assert!(
            sent.get("provisioningState").is_none(),
            "read-only left out"
        );
    }

    // What differs from the spec is a warning, kept as it is.
    let kept: Vec<&str> = done
        .warnings
        .iter()
        .filter(|w| w.check == KEPT_CHECK)
        .map(|w| w.reason.as_str())
        .collect();
    for expected in [
        "the pricing tier of cluster 'prod-weu' kept as it is: it has Standard",
        "the network policy of cluster 'prod-weu' kept as it is: it has cilium",
        "the spec's node pool 'system' is not on cluster 'prod-weu' (its pools: sys, apps)",
    ] {
        assert!(
            kept.iter().any(|k| k.starts_with(expected)),
            "{expected}: {kept:#?}"
        );
    }

    // A re-run sends no PUT.
    let again = env
        .client
        .ensure_cluster(&env.spec("prod-weu"), &|_| {})
        .await
        .unwrap();
    assert!(matches!(again.cluster, Ensured::Unchanged(_)));
    assert!(again.changes.is_empty());
    assert_eq!(env.cloud.request_count("aks.cluster.put") - puts_before, 1);
}

#[tokio::test]
async fn the_plan_shows_the_property_level_diff_and_writes_nothing() {
    let env = Env::start().await;
    let tenant = env.cloud.sandbox().tenant_id.clone();
    let id = seed(&env, "prod-weu", &users_cluster(&tenant, &env.sub()), true).await;
    let before = get(&env, &id).await;
    let puts = env.cloud.request_count("aks.cluster.put");
    let ClusterPlan::Existing {
        changes,
        warnings,
        busy,
        ..
    } = env
        .client
        .plan_cluster(&env.spec("prod-weu"))
        .await
        .unwrap()
    else {
        panic!("the cluster exists")
    };
    assert!(!busy);
    assert_eq!(
        changes.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
        [
            "/properties/oidcIssuerProfile/enabled",
            "/properties/securityProfile/workloadIdentity/enabled"
        ]
    );
    assert!(warnings.iter().any(|w| w.check == KEPT_CHECK));
    assert_eq!(env.cloud.request_count("aks.cluster.put"), puts);
    assert_eq!(get(&env, &id).await, before, "nothing written");
    assert_eq!(
        env.client
            .plan_cluster(&env.spec("not-there"))
            .await
            .unwrap(),
        ClusterPlan::Create
    );
}

#[tokio::test]
async fn a_cluster_in_the_middle_of_an_operation_is_refused_and_not_touched() {
    let env = Env::start().await;
    let tenant = env.cloud.sandbox().tenant_id.clone();
    let id = seed(&env, "prod-weu", &users_cluster(&tenant, &env.sub()), false).await;
    let puts = env.cloud.request_count("aks.cluster.put");
    let err = env
        .client
        .ensure_cluster(&env.spec("prod-weu"), &|_| {})
        .await
        .unwrap_err();
    let Error::OperationInProgress { cluster, state } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(cluster, &id);
    assert_eq!(state, "Creating");
    let message = err.to_string();
    assert!(
        message.contains("is Creating: an operation is still running")
            && message.contains("az aks wait"),
        "{message}"
    );
    assert_eq!(env.cloud.request_count("aks.cluster.put"), puts, "no PUT");
}

#[tokio::test]
async fn a_concurrent_write_between_read_and_write_is_read_again_before_the_next_put() {
    let env = Env::start().await;
    let tenant = env.cloud.sandbox().tenant_id.clone();
    seed(&env, "prod-weu", &users_cluster(&tenant, &env.sub()), true).await;
    // The first PUT loses the race (as AKS answers an If-Match whose eTag is no longer current).
    env.cloud.faults().inject(
        FaultMatch::path("/managedClusters/prod-weu").method("PUT"),
        Fault::Status {
            status: 412,
            retry_after: None,
            code: "PreconditionFailed".into(),
        },
        1,
    );
    let done = env
        .client
        .ensure_cluster(&env.spec("prod-weu"), &|_| {})
        .await
        .unwrap();
    assert!(matches!(done.cluster, Ensured::Updated(ref c) if c.workload_identity_enabled));
    assert_eq!(env.cloud.faults().fired().len(), 1);
    // Between the refused PUT and the one that went through, the cluster was read again.
    let log = request_log(&env).await;
    let cluster_path = |p: &str| p.ends_with("/managedClusters/prod-weu");
    let puts: Vec<usize> = log
        .iter()
        .enumerate()
        .filter(|(_, (m, p, _))| m == "PUT" && cluster_path(p))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(puts.len(), 3, "seed, refused, accepted: {log:?}");
    assert!(
        log[puts[1]..puts[2]]
            .iter()
            .any(|(m, p, _)| m == "GET" && cluster_path(p)),
        "{log:?}"
    );
}
