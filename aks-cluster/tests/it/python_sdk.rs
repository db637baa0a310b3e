//! A real client nobody here wrote: the official Python `azure-mgmt-containerservice`, `azure-mgmt-msi` and
//! `azure-identity` packages create a cluster, an identity and a federated credential against the fake
//! cloud's HTTPS front door, and read them back.
//!
//! The virtualenv comes from `AZFLUX_PY_VENV` or `<target>/aks-cluster-pyvenv` (created by
//! `tests/servers/ci-setup.sh`). Without it the test is skipped, except under `CI`, where it fails.

use aks_cluster::{FakeAks, FakeAksOptions};
use azflux_core::clock::system_clock;
use azflux_core::fake::{FakeCloud, FakeCloudOptions};
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::time::Duration;

fn venv_python() -> Option<PathBuf> {
    let venv = std::env::var_os("AZFLUX_PY_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/aks-cluster-pyvenv")
        });
    let python = venv.join("bin/python");
    python.exists().then_some(python)
}

#[tokio::test]
async fn python_sdk_creates_a_cluster_and_a_federated_identity_against_the_fake() {
    let Some(python) = venv_python() else {
        azflux_core::test_servers::missing(
            "a Python venv with the Azure SDK (AZFLUX_PY_VENV)",
            "source aks-cluster/tests/servers/ci-setup.sh",
        );
        return;
    };
    // The Python SDK sleeps real time between polls: the cloud runs on the system clock, and operations are
    // short.
    let cloud = FakeCloud::start_with(FakeCloudOptions {
        clock: Some(system_clock()),
        ..Default::default()
    })
    .await;
    let fake = FakeAks::mount_with(
        &cloud,
        FakeAksOptions {
            create_duration: Duration::from_secs(1),
            retry_after_secs: 1,
            ..Default::default()
        },
    )
    .await;
    let (addr, ca, _task) = cloud.serve_front(0, true).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.unwrap()).unwrap();
    let sandbox = cloud.sandbox();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python/create_cluster_and_identity.py");
    let run = tokio::process::Command::new(python)
        .arg(script)
        .env(
            "AZFLUX_ENDPOINT",
            format!("https://localhost:{}", addr.port()),
        )
        .env("AZFLUX_TENANT_ID", &sandbox.tenant_id)
        .env("AZFLUX_CLIENT_ID", &sandbox.client_id)
        .env(
            "AZFLUX_CLIENT_SECRET",
            sandbox.client_secret.expose_secret(),
        )
        .env("AZFLUX_SUBSCRIPTION_ID", &sandbox.subscription_id)
        .env("AZFLUX_CA_FILE", &ca_file)
        .env("REQUESTS_CA_BUNDLE", &ca_file)
        .env("SSL_CERT_FILE", &ca_file)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("python finished")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python failed: {stderr}");
    let line = String::from_utf8_lossy(&out.stdout);
    let seen: serde_json::Value =
        serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line} {stderr}"));

    // What Python read back is what the fake holds.
    let clusters = fake.clusters();
    assert_eq!(clusters.len(), 1);
    let cluster = &clusters[0];
    assert_eq!(seen["provisioning_state"], "Succeeded");
    assert_eq!(seen["cluster_id"], cluster["id"]);
    assert_eq!(
        seen["issuer"],
        cluster["properties"]["oidcIssuerProfile"]["issuerURL"]
    );
    assert_eq!(seen["fqdn"], cluster["properties"]["fqdn"]);
    assert_eq!(
        seen["kubelet_object_id"],
        cluster["properties"]["identityProfile"]["kubeletidentity"]["objectId"]
    );
    assert_eq!(seen["kubeconfig_has_server"], true);
    assert_eq!(cluster["tags"]["created-by"], "azure-mgmt-containerservice");
    assert_eq!(
        cluster["properties"]["networkProfile"]["networkPolicy"],
        "calico"
    );
    let identities = fake.identities();
    assert_eq!(identities.len(), 1);
    assert_eq!(
        seen["identity_client_id"],
        identities[0]["properties"]["clientId"]
    );
    assert_eq!(
        seen["identity_principal_id"],
        identities[0]["properties"]["principalId"]
    );
    let fics = fake.federated_credentials(identities[0]["id"].as_str().unwrap());
    assert_eq!(fics.len(), 1);
    assert_eq!(seen["fic_issuer"], seen["issuer"]);
    assert_eq!(fics[0]["properties"]["issuer"], seen["issuer"]);
    assert_eq!(seen["fic_names"], serde_json::json!(["source-controller"]));
    assert_eq!(cloud.request_count("aks.cluster.put"), 1);
    assert!(
        cloud.request_count("aks.operation") >= 1,
        "the SDK polled Azure-AsyncOperation"
    );
    assert_eq!(cloud.request_count("msi.fic.put"), 1);
}
