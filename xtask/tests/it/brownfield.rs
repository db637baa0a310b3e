//! `cargo xtask bootstrap` on a cluster that already exists (made by a platform team, not by azflux): the
//! dry run shows the property-level diff; the run changes only the OIDC issuer and workload identity,
//! keeps pools, tags and profiles, and reports every other difference as a warning in the step's outcome.

use crate::bootstrap::{one, opts, sandbox};
use azflux_core::arm::{ArmClient, ArmClientOptions};
use serde_json::{Value, json};
use std::time::Duration;
use xtask::bootstrap::executor::{ExecutorOptions, StepStatus};
use xtask::bootstrap::progress::NoSink;
use xtask::bootstrap::sandbox::{SANDBOX_CLUSTER, SANDBOX_RESOURCE_GROUP, Sandbox};
use xtask::bootstrap::{Change, PlanOptions, PlanState};

const AKS: &str = "2026-08-01";

fn arm(sb: &Sandbox) -> ArmClient {
    ArmClient::new(
        &sb.cloud.cloud(),
        sb.cloud.credential().unwrap(),
        ArmClientOptions {
            http: sb.cloud.http_options(),
            ..Default::default()
        },
    )
}

fn cluster_id(sb: &Sandbox) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{SANDBOX_RESOURCE_GROUP}/providers/Microsoft.ContainerService/managedClusters/{SANDBOX_CLUSTER}",
        sb.cloud.sandbox().subscription_id
    )
}

/// The platform team's cluster: autoscaling system pool, a user pool, tags, Entra integration, add-ons,
/// overlay networking with Cilium — and no workload identity yet.
async fn seed(sb: &Sandbox) -> Value {
    let arm = arm(sb);
    let sub = sb.cloud.sandbox().subscription_id.clone();
    arm.ensure_resource_group(
        &sub,
        SANDBOX_RESOURCE_GROUP,
        "westeurope",
        &Default::default(),
    )
    .await
    .unwrap();
    let body = json!({
        "location": "westeurope",
        "identity": {"type": "SystemAssigned"},
        "sku": {"name": "Base", "tier": "Standard"},
        "tags": {"owner": "platform-team", "env": "prod"},
        "properties": {
            "dnsPrefix": "sandbox-prod",
            "aadProfile": {"managed": true, "enableAzureRBAC": true, "adminGroupObjectIDs": ["6f1c1a4e-3b7d-4c1e-9a51-2f0c4a1b7e21"]},
            "addonProfiles": {"azurepolicy": {"enabled": true}},
            "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkPolicy": "cilium",
                               "networkDataplane": "cilium", "podCidr": "192.168.0.0/16"},
            "agentPoolProfiles": [
                {"name": "sys", "mode": "System", "count": 3, "vmSize": "Standard_D8s_v5", "osType": "Linux",
                 "enableAutoScaling": true, "minCount": 3, "maxCount": 6},
                {"name": "apps", "mode": "User", "count": 5, "vmSize": "Standard_E8s_v5", "osType": "Linux",
                 "enableAutoScaling": true, "minCount": 2, "maxCount": 20}
            ],
            "oidcIssuerProfile": {"enabled": false}
        }
    });
    let url = arm.url(&cluster_id(sb), AKS).unwrap();
    arm.pipeline()
        .send_checked(
            &mut azflux_core::http::json_request(
                azflux_core::http::HttpMethod::Put,
                url,
                Some(&body),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    sb.cloud
        .manual_clock()
        .unwrap()
        .advance(Duration::from_secs(3600));
    arm.get(&cluster_id(sb), AKS).await.unwrap().unwrap().body
}

#[tokio::test]
async fn bootstrap_on_an_existing_cluster_changes_only_what_flux_needs_and_warns_about_the_rest() {
    let (_dir, sb) = sandbox().await;
    let before = seed(&sb).await;
    let puts = sb.cloud.request_count("aks.cluster.put");
    let step = format!("{SANDBOX_CLUSTER}/aks-cluster");

    // --dry-run: the property-level diff, nothing written.
    let dry = ExecutorOptions {
        dry_run: true,
        ..opts()
    };
    let (report, _) = sb
        .run(&one(), PlanOptions::default(), dry, &NoSink)
        .await
        .unwrap();
    let StepStatus::Planned(planned) = &report.step(&step).unwrap().status else {
        panic!("{:?}", report.step(&step))
    };
    assert_eq!(planned.state, PlanState::WouldChange, "{}", planned.detail);
    for expected in [
        "/properties/oidcIssuerProfile/enabled: false -> true",
        "/properties/securityProfile/workloadIdentity/enabled: (absent) -> true",
        "warning [existing-cluster-differs]: the network policy of cluster 'sandbox' kept as it is: it has cilium",
    ] {
        assert!(
            planned.detail.contains(expected),
            "{expected}: {}",
            planned.detail
        );
    }
    assert_eq!(sb.cloud.request_count("aks.cluster.put"), puts);

    // The run: one read-modify-write; the warnings are in the step's outcome.
    let (report, _) = sb
        .run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    assert!(report.succeeded(), "{:#?}", report.failures());
    let StepStatus::Done(outcome) = &report.step(&step).unwrap().status else {
        panic!()
    };
    assert_eq!(outcome.change, Change::Changed);
    for expected in [
        "changed only /properties/oidcIssuerProfile/enabled: false -> true",
        "warning [existing-cluster-differs]: the pricing tier of cluster 'sandbox' kept as it is: it has Standard",
        "the spec's node pool 'system' is not on cluster 'sandbox' (its pools: sys, apps)",
    ] {
        assert!(
            outcome.detail.contains(expected),
            "{expected}: {}",
            outcome.detail
        );
    }
    assert_eq!(sb.cloud.request_count("aks.cluster.put") - puts, 1);
    let after = arm(&sb)
        .get(&cluster_id(&sb), AKS)
        .await
        .unwrap()
        .unwrap()
        .body;
    for pointer in [
        "/tags",
        "/sku",
        "/properties/aadProfile",
        "/properties/addonProfiles",
        "/properties/networkProfile",
        "/properties/agentPoolProfiles",
        "/properties/dnsPrefix",
    ] {
        assert_eq!(after.pointer(pointer), before.pointer(pointer), "{pointer}");
    }
    assert_eq!(
        after["properties"]["securityProfile"]["workloadIdentity"]["enabled"],
        true
    );

    // A second run sends no PUT.
    let (again, _) = sb
        .run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    assert!(again.succeeded(), "{:#?}", again.failures());
    assert!(matches!(
        &again.step(&step).unwrap().status,
        StepStatus::Done(o) if o.change == Change::Unchanged
    ));
    assert_eq!(sb.cloud.request_count("aks.cluster.put") - puts, 1);
}
