//! Clusters: create → poll → Succeeded, idempotent re-runs, convergence, failed operations, faults while
//! polling, preflight refusals and warnings, node images, kubeconfig, delete.

use crate::Env;
use aks_cluster::contract;
use aks_cluster::{ClusterEvent, Clusters, Ensured, Error, NodePoolSpec, Severity, SkuTier};
use azflux_core::fake::faults::{Fault, FaultMatch};
use secrecy::ExposeSecret;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn recorder() -> (
    Arc<Mutex<Vec<ClusterEvent>>>,
    impl Fn(&ClusterEvent) + Send + Sync,
) {
    let events: Arc<Mutex<Vec<ClusterEvent>>> = Arc::default();
    let e = events.clone();
    (events, move |ev: &ClusterEvent| {
        e.lock().unwrap().push(ev.clone())
    })
}

#[tokio::test]
async fn create_polls_the_operation_to_succeeded_with_the_issuer_url() {
    let env = Env::start().await;
    let (events, record) = recorder();
    let done = env
        .client
        .ensure_cluster(&env.spec("flux-e2e"), &record)
        .await
        .unwrap();
    let Ensured::Created(cluster) = &done.cluster else {
        panic!("{:?}", done.cluster)
    };
    assert_eq!(cluster.provisioning_state, "Succeeded");
    let stored = &env.fake.clusters()[0];
    let issuer = stored["properties"]["oidcIssuerProfile"]["issuerURL"]
        .as_str()
        .unwrap();
    assert_eq!(
        cluster.oidc_issuer_url.as_deref(),
        Some(issuer),
        "byte for byte"
    );
    assert!(
        issuer.starts_with("https://westeurope.oic.prod-aks.azure.com/") && issuer.ends_with('/')
    );
    assert!(cluster.workload_identity_enabled);
    assert_eq!(cluster.network_plugin.as_deref(), Some("azure"));
    assert_eq!(cluster.network_policy.as_deref(), Some("calico"));
    assert!(cluster.kubelet_identity.is_some());
    assert_eq!(env.cloud.request_count("aks.cluster.put"), 1);
    // The create takes 30 s on the fake clock; the poller waited what Retry-After said (5 s) each time.
    let sleeps = env.cloud.manual_clock().unwrap().sleeps();
    assert_eq!(sleeps, vec![Duration::from_secs(5); 6]);
    assert_eq!(env.cloud.request_count("aks.operation"), 6);
    let events = events.lock().unwrap();
    assert!(matches!(
        &events[0],
        ClusterEvent::Sending {
            action: "create",
            ..
        }
    ));
    let statuses: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            ClusterEvent::Operation(p) => Some(p.status.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(statuses.last(), Some(&"Succeeded"));
    assert!(
        statuses[..statuses.len() - 1]
            .iter()
            .all(|s| *s == "InProgress")
    );
}

#[tokio::test]
async fn rerunning_the_same_spec_sends_no_put_and_creates_nothing_twice() {
    let env = Env::start().await;
    let spec = env.spec("flux-e2e");
    contract::ensure_cluster_is_idempotent(&env.client, &spec).await;
    assert_eq!(env.cloud.request_count("aks.cluster.put"), 1);
    assert_eq!(env.fake.clusters().len(), 1);
}

#[tokio::test]
async fn a_changed_spec_on_an_existing_cluster_is_a_warning_and_sends_no_put() {
    let env = Env::start().await;
    let mut spec = env.spec("flux-e2e");
    env.client.ensure_cluster(&spec, &|_| {}).await.unwrap();
    let before = env.fake.clusters()[0].clone();
    spec.tags.insert("env".into(), "e2e".into());
    spec.sku_tier = SkuTier::Standard;
    spec.node_pools[0].count = 3;
    spec.node_pools.push(NodePoolSpec {
        name: "apps".into(),
        mode: "User".into(),
        ..NodePoolSpec::default()
    });
    let (events, record) = recorder();
    let done = env.client.ensure_cluster(&spec, &record).await.unwrap();
    let Ensured::Unchanged(cluster) = done.cluster else {
        panic!("an existing cluster's tags, tier and pools are not changed")
    };
    assert!(cluster.tags.is_empty());
    assert_eq!(cluster.node_pools.len(), 1);
    assert_eq!(cluster.node_pools[0].count, 2);
    assert_eq!(env.cloud.request_count("aks.cluster.put"), 1);
    assert_eq!(env.fake.clusters()[0], before, "the cluster is as it was");
    let kept: Vec<&str> = done
        .warnings
        .iter()
        .filter(|w| w.check == "existing-cluster-differs")
        .map(|w| w.reason.as_str())
        .collect();
    assert_eq!(kept.len(), 4, "{kept:#?}");
    for expected in [
        "the pricing tier of cluster 'flux-e2e' kept as it is: it has Free, the spec asks for Standard",
        "tag 'env' of cluster 'flux-e2e' kept as it is: it has no such tag, the spec asks for e2e",
        "the node count of node pool 'system' of cluster 'flux-e2e' kept as it is: it has 2, the spec asks for 3",
        "the spec's node pool 'apps' is not on cluster 'flux-e2e'",
    ] {
        assert!(
            kept.iter().any(|k| k.starts_with(expected)),
            "{expected}: {kept:#?}"
        );
    }
    let events = events.lock().unwrap();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ClusterEvent::Sending { .. })),
        "nothing sent: {events:?}"
    );
    assert!(
        events.iter().any(
            |e| matches!(e, ClusterEvent::Preflight(f) if f.check == "existing-cluster-differs")
        )
    );
}

#[tokio::test]
async fn an_existing_cluster_without_workload_identity_gets_it_by_one_read_modify_write() {
    let env = Env::start().await;
    let mut spec = env.spec("flux-e2e");
    spec.workload_identity = false;
    spec.oidc_issuer = false;
    spec.tags.insert("team".into(), "apps".into());
    env.client.ensure_cluster(&spec, &|_| {}).await.unwrap();
    spec.workload_identity = true;
    spec.oidc_issuer = true;
    let (events, record) = recorder();
    let done = env.client.ensure_cluster(&spec, &record).await.unwrap();
    let Ensured::Updated(cluster) = done.cluster else {
        panic!()
    };
    assert!(cluster.workload_identity_enabled);
    assert!(cluster.oidc_issuer_url.is_some());
    assert_eq!(cluster.tags["team"], "apps");
    assert_eq!(done.changes.len(), 2);
    assert!(matches!(
        &events.lock().unwrap()[0],
        ClusterEvent::Sending {
            action: "update",
            ..
        }
    ));
    assert_eq!(env.cloud.request_count("aks.cluster.put"), 2);
    // The issuer does not change across updates, and a re-run changes nothing.
    let again = env.client.ensure_cluster(&spec, &|_| {}).await.unwrap();
    assert!(
        matches!(again.cluster, Ensured::Unchanged(ref c) if c.oidc_issuer_url == cluster.oidc_issuer_url)
    );
    assert_eq!(env.cloud.request_count("aks.cluster.put"), 2);
}

#[tokio::test]
async fn a_failed_operation_surfaces_azures_code_and_message_and_a_rerun_repairs() {
    let env = Env::start().await;
    let message = "Operation could not be completed as it results in exceeding approved standardDSv5Family Cores quota.";
    env.fake.fail_next_create("QuotaExceeded", message);
    let spec = env.spec("flux-e2e");
    let err = env.client.ensure_cluster(&spec, &|_| {}).await.unwrap_err();
    assert_eq!(err.code(), Some("QuotaExceeded"));
    match &err {
        Error::Azure(azflux_core::Error::OperationFailed {
            status, message: m, ..
        }) => {
            assert_eq!(status, "Failed");
            assert_eq!(m, message);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains("QuotaExceeded") && err.to_string().contains("standardDSv5Family")
    );
    assert_eq!(
        env.fake.clusters()[0]["properties"]["provisioningState"],
        "Failed"
    );
    // A Failed cluster is re-PUT by the next ensure.
    let done = env.client.ensure_cluster(&spec, &|_| {}).await.unwrap();
    assert!(matches!(done.cluster, Ensured::Updated(ref c) if c.provisioning_state == "Succeeded"));
}

#[tokio::test]
async fn throttling_and_server_errors_while_polling_are_retried() {
    let env = Env::start().await;
    let ops = FaultMatch::path("/operations/").method("GET");
    env.cloud
        .faults()
        .inject(ops.clone(), Fault::throttle(7), 2);
    env.cloud.faults().inject(ops, Fault::server_error(503), 1);
    env.cloud.faults().inject(
        FaultMatch::path("/managedClusters/").method("GET"),
        Fault::server_error(500),
        1,
    );
    let done = env
        .client
        .ensure_cluster(&env.spec("flux-e2e"), &|_| {})
        .await
        .unwrap();
    assert_eq!(done.cluster.get().provisioning_state, "Succeeded");
    assert_eq!(env.cloud.faults().fired().len(), 4);
    let sleeps = env.cloud.manual_clock().unwrap().sleeps();
    assert_eq!(
        sleeps
            .iter()
            .filter(|d| **d == Duration::from_secs(7))
            .count(),
        2,
        "Retry-After honoured: {sleeps:?}"
    );
    assert_eq!(
        env.cloud.request_count("aks.cluster.put"),
        1,
        "polling faults do not resend the PUT"
    );
}

#[tokio::test]
async fn an_ensure_while_an_operation_runs_is_refused_instead_of_sending_a_put() {
    let env = Env::start().await;
    let spec = env.spec("flux-e2e");
    // Start a create through a raw PUT and leave it running.
    let body = aks_cluster::wire::cluster_body(&spec);
    env.client
        .arm()
        .pipeline()
        .send(
            &mut azflux_core::http::json_request(
                azflux_core::http::HttpMethod::Put,
                env.client
                    .arm()
                    .url(&spec.cluster_ref().id(), aks_cluster::wire::AKS_API_VERSION)
                    .unwrap(),
                Some(&body),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let err = env.client.ensure_cluster(&spec, &|_| {}).await.unwrap_err();
    assert!(
        matches!(&err, Error::OperationInProgress { state, .. } if state == "Creating"),
        "{err:?}"
    );
    assert_eq!(env.cloud.request_count("aks.cluster.put"), 1);
    // Once the operation has finished, the same ensure goes through without a PUT.
    env.cloud
        .manual_clock()
        .unwrap()
        .advance(Duration::from_secs(60));
    let done = env.client.ensure_cluster(&spec, &|_| {}).await.unwrap();
    assert!(
        matches!(done.cluster, Ensured::Unchanged(ref c) if c.provisioning_state == "Succeeded")
    );
    assert_eq!(env.cloud.request_count("aks.cluster.put"), 1);
}

#[tokio::test]
async fn preflight_refuses_with_a_reason_before_any_request() {
    let env = Env::start().await;
    let mut no_oidc = env.spec("flux-e2e");
    no_oidc.oidc_issuer = false;
    let mut pod_identity = env.spec("flux-e2e");
    pod_identity.aad_pod_identity = true;
    let mut bad_name = env.spec("flux.e2e");
    bad_name.node_pools[0].name = "System".into();
    for (spec, expect) in [
        (no_oidc, "workload-identity-without-oidc"),
        (pod_identity, "use workload identity instead"),
        (bad_name, "invalid-name"),
    ] {
        let err = env.client.ensure_cluster(&spec, &|_| {}).await.unwrap_err();
        assert!(matches!(err, Error::Refused { .. }), "{err:?}");
        assert!(err.to_string().contains(expect), "{err}");
    }
    assert_eq!(
        env.cloud.request_count_prefix("aks."),
        0,
        "nothing was sent"
    );
}

#[tokio::test]
async fn network_policy_without_allow_egress_is_a_warning_event() {
    let env = Env::start().await;
    let mut spec = env.spec("flux-e2e");
    spec.flux_network_policies = false;
    let (events, record) = recorder();
    let done = env.client.ensure_cluster(&spec, &record).await.unwrap();
    assert_eq!(done.warnings.len(), 1);
    assert_eq!(
        done.warnings[0].check,
        "network-policy-without-allow-egress"
    );
    assert_eq!(done.warnings[0].severity, Severity::Warning);
    assert!(done.warnings[0].reason.contains("fluxcd/flux2#703"));
    assert!(
        matches!(&events.lock().unwrap()[0], ClusterEvent::Preflight(f) if f.check == "network-policy-without-allow-egress")
    );
}

#[tokio::test]
async fn stale_node_images_are_reported_and_upgraded() {
    let env = Env::start().await;
    let spec = env.spec("flux-e2e");
    env.client.ensure_cluster(&spec, &|_| {}).await.unwrap();
    let cluster = spec.cluster_ref();
    let status = env.client.node_image_status(&cluster).await.unwrap();
    assert!(status.iter().all(|s| s.is_up_to_date()), "{status:?}");
    env.fake
        .set_latest_node_image("AKSAzureLinux-V2gen2-202512.01.0");
    let status = env.client.node_image_status(&cluster).await.unwrap();
    assert_eq!(status.len(), 1);
    assert!(!status[0].is_up_to_date());
    assert_eq!(
        status[0].latest.as_deref(),
        Some("AKSAzureLinux-V2gen2-202512.01.0")
    );
    // The next ensure changes nothing but warns.
    let done = env.client.ensure_cluster(&spec, &|_| {}).await.unwrap();
    assert!(matches!(done.cluster, Ensured::Unchanged(_)));
    assert_eq!(
        done.warnings.iter().map(|w| w.check).collect::<Vec<_>>(),
        ["stale-node-image"]
    );
    let (events, record) = recorder();
    env.client
        .begin_upgrade_node_image(&cluster, "system", &record)
        .await
        .unwrap();
    assert!(!events.lock().unwrap().is_empty(), "progress reported");
    let status = env.client.node_image_status(&cluster).await.unwrap();
    assert!(status[0].is_up_to_date(), "{status:?}");
    assert_eq!(env.cloud.request_count("aks.pool.upgradenodeimage"), 1);
    assert!(
        env.client
            .begin_upgrade_node_image(&cluster, "Bad-Pool", &|_| {})
            .await
            .is_err()
    );
}

#[tokio::test]
async fn get_cluster_reads_identity_fqdn_and_node_resource_group() {
    let env = Env::start().await;
    let spec = env.spec("flux-e2e");
    assert!(
        env.client
            .get_cluster(&spec.cluster_ref())
            .await
            .unwrap()
            .is_none()
    );
    env.client.ensure_cluster(&spec, &|_| {}).await.unwrap();
    let c = env
        .client
        .get_cluster(&spec.cluster_ref())
        .await
        .unwrap()
        .unwrap();
    let stored = &env.fake.clusters()[0];
    assert_eq!(c.fqdn.as_deref(), stored["properties"]["fqdn"].as_str());
    assert_eq!(
        c.node_resource_group.as_deref(),
        Some("MC_rg-flux_flux-e2e_westeurope")
    );
    let kubelet = c.kubelet_identity.clone().unwrap();
    assert_eq!(
        kubelet.object_id,
        stored["properties"]["identityProfile"]["kubeletidentity"]["objectId"]
            .as_str()
            .unwrap()
    );
    assert!(
        kubelet
            .resource_id
            .ends_with("/userAssignedIdentities/flux-e2e-agentpool")
    );
    assert_eq!(
        c.principal_id.as_deref(),
        stored["identity"]["principalId"].as_str()
    );
    assert_eq!(c.cluster_ref().unwrap(), spec.cluster_ref());
}

#[tokio::test]
async fn kubeconfig_is_decoded_and_redacted() {
    let env = Env::start().await;
    let spec = env.spec("flux-e2e");
    let cluster = env
        .client
        .ensure_cluster(&spec, &|_| {})
        .await
        .unwrap()
        .cluster
        .into_inner();
    let kubeconfig = env.client.kubeconfig(&spec.cluster_ref()).await.unwrap();
    let yaml = kubeconfig.yaml.expose_secret();
    assert!(
        yaml.contains(&format!("server: https://{}:443", cluster.fqdn.unwrap())),
        "{yaml}"
    );
    assert!(yaml.contains("token: "));
    assert!(!format!("{kubeconfig:?}").contains("token"));
    let missing = env
        .client
        .kubeconfig(&env.spec("nope").cluster_ref())
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFound"));
}

#[tokio::test]
async fn delete_is_idempotent() {
    let env = Env::start().await;
    let spec = env.spec("flux-e2e");
    env.client.ensure_cluster(&spec, &|_| {}).await.unwrap();
    assert!(
        env.client
            .delete_cluster(&spec.cluster_ref(), &|_| {})
            .await
            .unwrap()
    );
    assert!(
        env.client
            .get_cluster(&spec.cluster_ref())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !env.client
            .delete_cluster(&spec.cluster_ref(), &|_| {})
            .await
            .unwrap()
    );
    assert!(env.fake.clusters().is_empty());
}

#[tokio::test]
async fn immutable_fields_that_differ_are_warnings_and_never_sent() {
    let env = Env::start().await;
    let mut spec = env.spec("flux-e2e");
    env.client.ensure_cluster(&spec, &|_| {}).await.unwrap();
    spec.dns_prefix = Some("other".into());
    spec.network_plugin = "kubenet".into();
    let done = env.client.ensure_cluster(&spec, &|_| {}).await.unwrap();
    assert!(matches!(done.cluster, Ensured::Unchanged(_)));
    let reasons: Vec<&str> = done.warnings.iter().map(|w| w.reason.as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.starts_with(
            "the DNS prefix of cluster 'flux-e2e' kept as it is: it has flux-e2e, the spec asks for other"
        )),
        "{reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("the network plugin of cluster 'flux-e2e' kept as it is")),
        "{reasons:#?}"
    );
    assert_eq!(env.cloud.request_count("aks.cluster.put"), 1);
}

#[tokio::test]
async fn a_rerun_sends_one_cluster_get_plus_one_per_pool() {
    let env = Env::start().await;
    let mut spec = env.spec("flux-e2e");
    spec.node_pools.push(NodePoolSpec {
        name: "user".into(),
        mode: "User".into(),
        ..NodePoolSpec::default()
    });
    env.client.ensure_cluster(&spec, &|_| {}).await.unwrap();
    let (gets, profiles) = (
        env.cloud.request_count("aks.cluster.get"),
        env.cloud.request_count("aks.pool.upgradeprofile"),
    );
    let done = env.client.ensure_cluster(&spec, &|_| {}).await.unwrap();
    assert!(matches!(done.cluster, Ensured::Unchanged(_)));
    assert_eq!(env.cloud.request_count("aks.cluster.get") - gets, 1);
    assert_eq!(
        env.cloud.request_count("aks.pool.upgradeprofile") - profiles,
        2
    );
    assert_eq!(env.cloud.request_count("aks.cluster.put"), 1);
}
