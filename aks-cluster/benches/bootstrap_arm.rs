//! The ARM part of the Flux bootstrap against [`FakeAks`] with a fixed simulated latency per request:
//! `ensure_cluster` (create, long-running operation), two user-assigned identities, six federated
//! credentials (four on one identity, two on the other), three role assignments (Key Vault Crypto User and
//! Event Hubs Data Sender for the controllers' identity, AcrPull for the kubelet identity) — first on an
//! empty subscription, then re-run on the result.
//!
//! Reports requests sent against the minimum the work needs, and wall time against the critical path
//! (round trips that must follow one another × latency). Run: `cargo bench -p aks-cluster --features fake`
//! (`AZFLUX_BENCH_LATENCY_MS`, default 25; `AZFLUX_BENCH_RUNS`, default 5).

use aks_cluster::{
    ClusterSpec, Clusters, ClustersClient, ClustersClientOptions, FakeAks, FakeAksOptions,
    FederatedCredentialSpec, FederatedCredentials, Identities, IdentitySpec, Role,
    RoleAssignmentSpec, RoleAssignments,
};
use azflux_core::arm::{ArmClientOptions, PollerOptions};
use azflux_core::fake::FakeCloud;
use std::time::{Duration, Instant};

const CREATE_SECS: u64 = 30;
const RETRY_AFTER: u64 = 5;

struct Setup {
    cloud: FakeCloud,
    client: ClustersClient,
    sub: String,
}

async fn setup(latency: Duration) -> Setup {
    let cloud = FakeCloud::start().await;
    FakeAks::mount_with(
        &cloud,
        FakeAksOptions {
            latency: Some(latency),
            fic_write_time: Duration::ZERO,
            create_duration: Duration::from_secs(CREATE_SECS),
            retry_after_secs: RETRY_AFTER,
            ..Default::default()
        },
    )
    .await;
    let credential = match cloud.credential() {
        Ok(c) => c,
        Err(e) => panic!("credential: {e}"),
    };
    let client = ClustersClient::new(
        &cloud.cloud(),
        credential,
        ClustersClientOptions {
            arm: ArmClientOptions {
                http: cloud.http_options(),
                poller: PollerOptions::default(),
            },
            ..Default::default()
        },
    );
    let sub = cloud.sandbox().subscription_id.clone();
    Setup { cloud, client, sub }
}

fn arm_requests(cloud: &FakeCloud) -> u64 {
    ["aks.", "msi.", "authz."]
        .iter()
        .map(|p| cloud.request_count_prefix(p))
        .sum()
}

struct Plan {
    cluster: ClusterSpec,
    controllers: IdentitySpec,
    image: IdentitySpec,
    vault: String,
    hub: String,
    registry: String,
}

fn plan(sub: &str) -> Plan {
    let rg = format!("/subscriptions/{sub}/resourceGroups/rg-flux/providers");
    Plan {
        cluster: ClusterSpec::new(sub, "rg-flux", "flux-bench", "westeurope"),
        controllers: IdentitySpec::new(sub, "rg-flux", "flux-controllers", "westeurope"),
        image: IdentitySpec::new(sub, "rg-flux", "flux-image", "westeurope"),
        vault: format!("{rg}/Microsoft.KeyVault/vaults/fluxkv"),
        hub: format!("{rg}/Microsoft.EventHub/namespaces/fluxns"),
        registry: format!("{rg}/Microsoft.ContainerRegistry/registries/fluxacr"),
    }
}

fn fics(plan: &Plan, issuer: &str) -> Vec<FederatedCredentialSpec> {
    let mut out: Vec<_> = [
        "source-controller",
        "kustomize-controller",
        "helm-controller",
        "notification-controller",
    ]
    .iter()
    .map(|c| FederatedCredentialSpec::for_flux_controller(plan.controllers.id(), issuer, c))
    .collect();
    out.extend(
        ["image-reflector-controller", "image-automation-controller"]
            .iter()
            .map(|c| FederatedCredentialSpec::for_flux_controller(plan.image.id(), issuer, c)),
    );
    out
}

/// The bootstrap's ARM steps as a graph: cluster ∥ (identities → their role assignments), then
/// (federated credentials per identity ∥ AcrPull for the kubelet).
async fn concurrent(client: &ClustersClient, plan: &Plan) -> aks_cluster::Result<()> {
    let identities = async {
        let (controllers, image) = futures::try_join!(
            client.ensure_identity(&plan.controllers),
            client.ensure_identity(&plan.image)
        )?;
        let principal = controllers.get().principal_id.clone();
        let vault = RoleAssignmentSpec::new(&plan.vault, &principal, Role::KeyVaultCryptoUser);
        let hub = RoleAssignmentSpec::new(&plan.hub, &principal, Role::EventHubsDataSender);
        futures::try_join!(
            client.ensure_role_assignment(&vault),
            client.ensure_role_assignment(&hub),
        )?;
        Ok::<_, aks_cluster::Error>((controllers, image))
    };
    let (cluster, _) =
        futures::try_join!(client.ensure_cluster(&plan.cluster, &|_| {}), identities)?;
    let cluster = cluster.cluster.into_inner();
    let issuer = cluster.oidc_issuer_url.clone().unwrap_or_default();
    let credentials = fics(plan, &issuer);
    futures::try_join!(
        client.ensure_federated_credentials(&credentials),
        client.attach_acr(&cluster, &plan.registry)
    )?;
    Ok(())
}

/// The same steps awaited one after another, one credential at a time.
async fn sequential(client: &ClustersClient, plan: &Plan) -> aks_cluster::Result<()> {
    let cluster = client
        .ensure_cluster(&plan.cluster, &|_| {})
        .await?
        .cluster
        .into_inner();
    let controllers = client
        .ensure_identity(&plan.controllers)
        .await?
        .into_inner();
    client.ensure_identity(&plan.image).await?;
    for (scope, role) in [
        (&plan.vault, Role::KeyVaultCryptoUser),
        (&plan.hub, Role::EventHubsDataSender),
    ] {
        client
            .ensure_role_assignment(&RoleAssignmentSpec::new(
                scope,
                &controllers.principal_id,
                role,
            ))
            .await?;
    }
    let issuer = cluster.oidc_issuer_url.clone().unwrap_or_default();
    for spec in fics(plan, &issuer) {
        client.ensure_federated_credential(&spec).await?;
    }
    client.attach_acr(&cluster, &plan.registry).await?;
    Ok(())
}

struct Sample {
    requests: u64,
    wall: Duration,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let latency = Duration::from_millis(
        std::env::var("AZFLUX_BENCH_LATENCY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(25),
    );
    let runs: usize = std::env::var("AZFLUX_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let polls = CREATE_SECS.div_ceil(RETRY_AFTER);
    // Minimum requests. Fresh: cluster GET + PUT + polls + final GET; 2 × identity (GET + PUT);
    // 3 role PUTs; per identity one FIC LIST and one PUT per credential (6).
    let fresh_min = (1 + 1 + polls + 1) + 2 * 2 + 3 + (2 + 6);
    // Critical path, fresh: the cluster chain, then the longest FIC chain (LIST + 4 PUTs, serial).
    let fresh_path = (1 + 1 + polls + 1) + (1 + 4);
    // Re-run: cluster GET, 2 identity GETs, 3 role PUTs, 2 FIC LISTs (+ 2 GETs of the node-image check).
    let rerun_min = 1 + 2 + 3 + 2;
    let rerun_path = (1 + 2) + 1;

    let mut rows = Vec::new();
    for mode in ["concurrent", "sequential"] {
        let mut fresh = Vec::new();
        let mut rerun = Vec::new();
        for _ in 0..runs {
            let s = setup(latency).await;
            let p = plan(&s.sub);
            let run = |c: &ClustersClient, p: &Plan| {
                let (c, p) = (c.clone(), plan_clone(p));
                async move {
                    if mode == "concurrent" {
                        concurrent(&c, &p).await
                    } else {
                        sequential(&c, &p).await
                    }
                }
            };
            // Warm the token cache so both runs measure ARM round trips only.
            let _ = s.client.get_cluster(&p.cluster.cluster_ref()).await;
            let before = arm_requests(&s.cloud);
            let started = Instant::now();
            if let Err(e) = run(&s.client, &p).await {
                panic!("{mode} bootstrap failed: {e}");
            }
            fresh.push(Sample {
                requests: arm_requests(&s.cloud) - before,
                wall: started.elapsed(),
            });
            let before = arm_requests(&s.cloud);
            let started = Instant::now();
            if let Err(e) = run(&s.client, &p).await {
                panic!("{mode} re-run failed: {e}");
            }
            rerun.push(Sample {
                requests: arm_requests(&s.cloud) - before,
                wall: started.elapsed(),
            });
        }
        for (label, samples, min, path) in [
            ("fresh", fresh, fresh_min, fresh_path),
            ("re-run", rerun, rerun_min, rerun_path),
        ] {
            let requests = samples[0].requests;
            let wall = median(samples.iter().map(|s| s.wall).collect());
            let path_time = latency * path as u32;
            rows.push(format!(
                "| {mode} | {label} | {requests} | {min} | {:.0} ms | {path} × {} ms = {:.0} ms | {:.2}× |",
                wall.as_secs_f64() * 1e3,
                latency.as_millis(),
                path_time.as_secs_f64() * 1e3,
                wall.as_secs_f64() / path_time.as_secs_f64()
            ));
        }
    }
    println!(
        "aks-cluster bootstrap_arm: latency {} ms per request, median of {runs} runs",
        latency.as_millis()
    );
    println!("| mode | run | requests sent | minimum | wall time | critical path | wall / path |");
    println!("|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}

fn plan_clone(p: &Plan) -> Plan {
    Plan {
        cluster: p.cluster.clone(),
        controllers: p.controllers.clone(),
        image: p.image.clone(),
        vault: p.vault.clone(),
        hub: p.hub.clone(),
        registry: p.registry.clone(),
    }
}
