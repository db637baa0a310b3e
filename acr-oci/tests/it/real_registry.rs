//! A real docker-registry (distribution 2.8) with ACR-style token auth from the fake ACR token service,
//! and real Helm v4 (helm-python-sdk) as a peer. Fails rather than skips when `CI` is set and a tool is
//! missing.

use crate::common::{ClockCredential, chart_tgz};
use crate::local_registry::{LocalRegistry, tool};
use acr_oci::wire;
use acr_oci::{AcrAuth, AcrClient, AcrClientOptions, ChartRegistry, Error, FakeAcr};
use azflux_core::Cloud;
use azflux_core::fake::FakeCloud;
use azflux_core::http::HttpPipelineOptions;
use secrecy::SecretString;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

/// A cloud whose registry suffix makes `127.0.0.1` one of its registry hosts, so the production rule
/// ("AAD tokens only go to registry hosts of the configured cloud") holds unchanged against a local registry.
fn loopback_cloud() -> Cloud {
    Cloud {
        name: "AzfluxLoopback".into(),
        container_registry_suffix: "0.0.1".into(),
        ..Cloud::public()
    }
}

fn options() -> AcrClientOptions {
    AcrClientOptions {
        // The real network (no routing transport) and the real clock: the registry checks exp/nbf itself.
        http: HttpPipelineOptions::default(),
        cloud: loopback_cloud(),
        plain_http: true,
        ..Default::default()
    }
}

async fn setup() -> Option<(FakeCloud, FakeAcr, LocalRegistry)> {
    let cloud = FakeCloud::start().await;
    let acr = FakeAcr::mount(&cloud).await;
    let registry = LocalRegistry::start(&acr)?;
    Some((cloud, acr, registry))
}

fn aad(cloud: &FakeCloud) -> AcrAuth {
    AcrAuth::aad(Arc::new(ClockCredential(cloud.clone())))
}

#[tokio::test]
async fn real_registry_accepts_exchanged_tokens_push_then_pull_by_range() {
    let Some((cloud, acr, registry)) = setup().await else {
        return;
    };
    let client = AcrClient::new(&registry.addr, aad(&cloud), options()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = format!("oci://{}/charts", registry.addr);
    for v in ["1.2.0", "1.2.5", "1.3.0", "2.0.0"] {
        client
            .push(&chart_tgz(dir.path(), "demo", v, 20_000), &dest)
            .await
            .unwrap();
    }
    let chart = client.chart("charts/demo").unwrap();
    let mut tags = client.list_tags(&chart).await.unwrap();
    tags.sort();
    assert_eq!(tags, vec!["1.2.0", "1.2.5", "1.3.0", "2.0.0"]);
    let out = dir.path().join("out");
    let pulled = client.pull(&chart, "~1.2", &out).await.unwrap();
    assert_eq!(pulled.version, "1.2.5");
    assert_eq!(
        std::fs::read(&pulled.path).unwrap(),
        std::fs::read(dir.path().join("demo-1.2.5.tgz")).unwrap()
    );
    assert_eq!(acr.exchanges(), 1);
    assert!(cloud.request_count("acr.token") >= 2);
}

#[tokio::test]
async fn real_registry_enforces_the_scopes_the_fake_grants() {
    let Some((cloud, acr, registry)) = setup().await else {
        return;
    };
    let writer = AcrClient::new(&registry.addr, aad(&cloud), options()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = format!("oci://{}/charts", registry.addr);
    for name in ["one", "two"] {
        writer
            .push(&chart_tgz(dir.path(), name, "1.0.0", 0), &dest)
            .await
            .unwrap();
    }
    acr.add_basic_credential(
        "reader",
        SecretString::from("reader-pass"),
        Some(vec!["charts/one".into()]),
        &["pull"],
    );
    let reader = AcrClient::new(
        &registry.addr,
        AcrAuth::RepositoryToken {
            name: "reader".into(),
            password: SecretString::from("reader-pass"),
        },
        options(),
    )
    .unwrap();
    reader
        .pull(
            &reader.chart("charts/one").unwrap(),
            "*",
            &dir.path().join("out"),
        )
        .await
        .unwrap();
    // The token has an empty action list for charts/two: the real registry says no.
    let err = reader
        .list_tags(&reader.chart("charts/two").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    // The registry checks the audience of the fake's tokens: a token for another service is refused,
    // the same grant for this registry's service is accepted.
    let pipeline = azflux_core::http::HttpPipeline::new(&HttpPipelineOptions::default());
    let url: url::Url = format!("http://{}/v2/charts/one/tags/list", registry.addr)
        .parse()
        .unwrap();
    let status = |token: String| {
        let pipeline = pipeline.clone();
        let url = url.clone();
        async move {
            let mut req =
                azflux_core::http::HttpRequest::new(url, azflux_core::http::HttpMethod::Get);
            req.insert_header("authorization", format!("Bearer {token}"));
            pipeline.send(&mut req).await.unwrap().status
        }
    };
    let grant: &[(&str, &[&str])] = &[("charts/one", &["pull"])];
    assert_eq!(
        status(acr.mint_access_token("another.azurecr.io", grant)).await,
        401
    );
    assert_eq!(
        status(acr.mint_access_token(&registry.addr, grant)).await,
        200
    );
}

fn helm(python: &Path, registry: &LocalRegistry, creds: &Path, args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/helm_peer.py");
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .env("HELM_PEER_HOST", &registry.addr)
        .env("HELM_PEER_USER", "helm-user")
        .env("HELM_PEER_PASSWORD", "helm-pass")
        .env("HELM_PEER_CREDS", creds)
        .output()
        .expect("run helm peer");
    assert!(
        out.status.success(),
        "helm {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test]
async fn real_helm_v4_and_azflux_pull_each_others_charts() {
    let Some(python) = tool("AZFLUX_HELM_PYTHON", "/opt/azflux/helm-venv/bin/python") else {
        return;
    };
    let Some((cloud, acr, registry)) = setup().await else {
        return;
    };
    acr.add_basic_credential(
        "helm-user",
        SecretString::from("helm-pass"),
        None,
        &["pull", "push"],
    );
    let client = AcrClient::new(&registry.addr, aad(&cloud), options()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("helm-registry.json");

    // azflux pushes, Helm pulls by range.
    let ours = chart_tgz(dir.path(), "ours", "1.2.3", 10_000);
    client
        .push(&ours, &format!("oci://{}/charts", registry.addr))
        .await
        .unwrap();
    let helm_out = dir.path().join("helm-out");
    std::fs::create_dir(&helm_out).unwrap();
    helm(
        &python,
        &registry,
        &creds,
        &[
            "pull",
            &format!("oci://{}/charts/ours", registry.addr),
            "~1.2",
            helm_out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read(helm_out.join("ours-1.2.3.tgz")).unwrap(),
        std::fs::read(&ours).unwrap()
    );

    // Helm packages and pushes, azflux pulls by range.
    let work = dir.path().join("helm-work");
    std::fs::create_dir(&work).unwrap();
    let theirs = helm(
        &python,
        &registry,
        &creds,
        &["package", "theirs", "0.4.2", work.to_str().unwrap()],
    );
    helm(
        &python,
        &registry,
        &creds,
        &["push", &theirs, &format!("oci://{}/charts", registry.addr)],
    );
    let pulled = client
        .pull(
            &client.chart("charts/theirs").unwrap(),
            ">=0.4.0 <1",
            &dir.path().join("out"),
        )
        .await
        .unwrap();
    assert_eq!(pulled.version, "0.4.2");
    assert_eq!(pulled.layer_media_type, wire::HELM_CHART_LAYER);
    assert_eq!(pulled.config["name"], "theirs");
    assert_eq!(
        std::fs::read(&pulled.path).unwrap(),
        std::fs::read(&theirs).unwrap()
    );

    // The same archive pushed by azflux gets Helm's layout: the same config bytes (digest), the same
    // layer, the same media types and annotation keys; only `created` differs.
    let mirrored = client
        .push(
            Path::new(&theirs),
            &format!("oci://{}/mirror", registry.addr),
        )
        .await
        .unwrap();
    let helm_manifest = raw_manifest(&acr, &registry, "charts/theirs", "0.4.2").await;
    let our_manifest = raw_manifest(&acr, &registry, "mirror/theirs", "0.4.2").await;
    assert_eq!(
        our_manifest["config"], helm_manifest["config"],
        "config blob differs from Helm's"
    );
    assert_eq!(our_manifest["layers"], helm_manifest["layers"]);
    // Helm v4 leaves the manifest's optional `mediaType` out; azflux sets it, as the OCI spec recommends.
    assert_eq!(our_manifest["mediaType"], wire::OCI_MANIFEST);
    assert!(
        helm_manifest["mediaType"].is_null() || helm_manifest["mediaType"] == wire::OCI_MANIFEST
    );
    let keys = |m: &serde_json::Value| {
        m["annotations"]
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(keys(&our_manifest), keys(&helm_manifest));
    for key in [
        "org.opencontainers.image.description",
        "org.opencontainers.image.title",
        "org.opencontainers.image.version",
    ] {
        assert_eq!(
            our_manifest["annotations"][key], helm_manifest["annotations"][key],
            "{key}"
        );
    }
    assert_eq!(mirrored.layer_digest, pulled.layer_digest);
}

/// The manifest as stored, fetched with a token minted by the fake (so the check does not depend on the
/// client under test).
async fn raw_manifest(
    acr: &FakeAcr,
    registry: &LocalRegistry,
    repository: &str,
    tag: &str,
) -> serde_json::Value {
    let pipeline = azflux_core::http::HttpPipeline::new(&HttpPipelineOptions::default());
    let url: url::Url = format!("http://{}/v2/{repository}/manifests/{tag}", registry.addr)
        .parse()
        .unwrap();
    let mut req = azflux_core::http::HttpRequest::new(url, azflux_core::http::HttpMethod::Get);
    let token = acr.mint_access_token(&registry.addr, &[(repository, &["pull"])]);
    req.insert_header("authorization", format!("Bearer {token}"));
    req.insert_header("accept", wire::OCI_MANIFEST);
    let resp = pipeline.send(&mut req).await.unwrap();
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    serde_json::from_slice(&resp.body).unwrap()
}

#[tokio::test]
async fn contract_suite_against_the_real_registry() {
    let Some((cloud, _acr, registry)) = setup().await else {
        return;
    };
    let client = AcrClient::new(&registry.addr, aad(&cloud), options()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    acr_oci::contract::run_all(
        &client,
        &format!("oci://{}/contract", registry.addr),
        dir.path(),
    )
    .await
    .unwrap();
}
