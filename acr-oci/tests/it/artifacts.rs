//! Flux OCI artifacts: push / pull / tag / list against the fake ACR, and against a real docker-registry
//! with ORAS (PyPI `oras`, a client nobody here wrote) pulling what azflux pushed and pushing what azflux
//! pulls back.

use crate::common::{ClockCredential, REGISTRY, env};
use crate::local_registry::{LocalRegistry, tool};
use acr_oci::artifact::{FLUX_CONFIG, FLUX_CONTENT_LAYER, REVISION_ANNOTATION, SOURCE_ANNOTATION};
use acr_oci::tarball::IgnoreRules;
use acr_oci::{
    AcrAuth, AcrClient, AcrClientOptions, ArtifactUrl, Error, FakeAcr, ListArtifactsOptions,
    PushArtifactOptions,
};
use azflux_core::Cloud;
use azflux_core::fake::FakeCloud;
use azflux_core::http::HttpPipelineOptions;
use secrecy::SecretString;
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

fn manifests(dir: &Path) {
    std::fs::create_dir_all(dir.join("apps/podinfo")).unwrap();
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    std::fs::write(
        dir.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- apps/podinfo\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("apps/podinfo/namespace.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: podinfo\n",
    )
    .unwrap();
    std::fs::write(dir.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(dir.join("diagram.png"), [0x89, b'P', b'N', b'G']).unwrap();
}

fn opts(revision: &str) -> PushArtifactOptions {
    PushArtifactOptions {
        source: "https://dev.azure.com/org/proj/_git/fleet".into(),
        revision: revision.into(),
        ignore: IgnoreRules::flux_default(),
        ..Default::default()
    }
}

fn sha(bytes: &[u8]) -> String {
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

#[tokio::test]
async fn push_pull_tag_list_against_the_fake_acr() {
    let env = env().await;
    let client = env.aad_client(REGISTRY);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    manifests(&src);
    let url = ArtifactUrl::parse(&format!("oci://{REGISTRY}/fleet/cluster-a:main-abc123")).unwrap();
    let pushed = client
        .push_artifact(&url, &src, &opts("main@sha1:abc123"))
        .await
        .unwrap();
    assert_eq!(pushed.repository, format!("{REGISTRY}/fleet/cluster-a"));
    assert_eq!(pushed.tag, "main-abc123");
    assert_eq!(
        pushed.url,
        format!("oci://{REGISTRY}/fleet/cluster-a@{}", pushed.digest)
    );

    // Pull it back: the manifest digest and the content match; ignored files never left.
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let pulled = client.pull_artifact(&url, &out).await.unwrap();
    assert_eq!(
        pulled.metadata.digest,
        format!("{REGISTRY}/fleet/cluster-a@{}", pushed.digest)
    );
    assert_eq!(pulled.metadata.revision, "main@sha1:abc123");
    assert_eq!(
        pulled.metadata.source,
        "https://dev.azure.com/org/proj/_git/fleet"
    );
    assert_eq!(pulled.layer_media_type, FLUX_CONTENT_LAYER);
    assert_eq!(
        pulled.files,
        vec!["apps/podinfo/namespace.yaml", "kustomization.yaml"]
    );
    for f in &pulled.files {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(src.join(f)).unwrap()
        );
    }
    assert!(!out.join(".git").exists() && !out.join("diagram.png").exists());

    // Tag it, then list: newest tag name first, cosign tags left out, filters applied.
    let tagged = client.tag_artifact(&url, "latest").await.unwrap();
    assert_eq!(tagged, format!("{REGISTRY}/fleet/cluster-a:latest"));
    let v2 = ArtifactUrl::parse(&format!("oci://{REGISTRY}/fleet/cluster-a:v1.2.0")).unwrap();
    let pushed2 = client
        .push_artifact(&v2, &src, &opts("v1.2.0@sha1:def456"))
        .await
        .unwrap();
    client.tag_artifact(&v2, "sha256-x.sig").await.unwrap();
    let repo = ArtifactUrl::parse(&format!("oci://{REGISTRY}/fleet/cluster-a")).unwrap();
    let all = client
        .list_artifacts(&repo, &ListArtifactsOptions::default())
        .await
        .unwrap();
    let rows: Vec<(&str, &str, &str)> = all
        .iter()
        .map(|m| (m.url.as_str(), m.digest.as_str(), m.revision.as_str()))
        .collect();
    let base = format!("{REGISTRY}/fleet/cluster-a");
    assert_eq!(
        rows,
        vec![
            (
                format!("{base}:v1.2.0").as_str(),
                pushed2.digest.as_str(),
                "v1.2.0@sha1:def456"
            ),
            (
                format!("{base}:main-abc123").as_str(),
                pushed.digest.as_str(),
                "main@sha1:abc123"
            ),
            (
                format!("{base}:latest").as_str(),
                pushed.digest.as_str(),
                "main@sha1:abc123"
            ),
        ]
    );
    let semver = client
        .list_artifacts(
            &repo,
            &ListArtifactsOptions {
                semver: Some(">=1.0.0".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(semver.len(), 1);
    assert_eq!(semver[0].url, format!("{base}:v1.2.0"));
    let regex = client
        .list_artifacts(
            &repo,
            &ListArtifactsOptions {
                regex: Some("^main-".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(regex.len(), 1);

    // Pull by digest works too; the manifest fake stores both.
    let by_digest = ArtifactUrl::parse(&format!(
        "oci://{REGISTRY}/fleet/cluster-a@{}",
        pushed.digest
    ))
    .unwrap();
    let out2 = dir.path().join("out2");
    std::fs::create_dir(&out2).unwrap();
    client.pull_artifact(&by_digest, &out2).await.unwrap();
}

#[tokio::test]
async fn a_corrupted_layer_is_refused_and_nothing_is_extracted() {
    let env = env().await;
    let client = env.aad_client(REGISTRY);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    manifests(&src);
    let url = ArtifactUrl::parse(&format!("oci://{REGISTRY}/fleet/corrupt:v1")).unwrap();
    client
        .push_artifact(&url, &src, &opts("main@sha1:1"))
        .await
        .unwrap();
    let tgz = acr_oci::tarball::build(&src, &IgnoreRules::flux_default(), 1 << 20).unwrap();
    env.acr
        .set_blob_fault(&sha(&tgz), Some(acr_oci::fake::BlobFault::Corrupt));
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let err = client.pull_artifact(&url, &out).await.unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    assert!(std::fs::read_dir(&out).unwrap().next().is_none());
}

#[tokio::test]
async fn pushing_needs_push_rights_and_says_so() {
    let env = env().await;
    env.acr.set_aad_actions(&["pull"]);
    let client = env.aad_client(REGISTRY);
    let dir = tempfile::tempdir().unwrap();
    manifests(dir.path());
    let url = ArtifactUrl::parse(&format!("oci://{REGISTRY}/fleet/ro:v1")).unwrap();
    let err = client
        .push_artifact(&url, dir.path(), &opts("main@sha1:1"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("AcrPush"), "{err}");
}

/// A cloud whose registry suffix makes `127.0.0.1` one of its registry hosts (as in real_registry.rs).
fn loopback_options() -> AcrClientOptions {
    AcrClientOptions {
        http: HttpPipelineOptions::default(),
        cloud: Cloud {
            name: "AzfluxLoopback".into(),
            container_registry_suffix: "0.0.1".into(),
            ..Cloud::public()
        },
        plain_http: true,
        ..Default::default()
    }
}

fn oras(python: &Path, registry: &LocalRegistry, args: &[&str]) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/oras_peer.py");
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .env("ORAS_PEER_HOST", &registry.addr)
        .env("ORAS_PEER_USER", "oras-user")
        .env("ORAS_PEER_PASSWORD", "oras-pass")
        .output()
        .expect("run the oras peer");
    assert!(
        out.status.success(),
        "oras {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("oras printed {stdout}: {e}"))
}

#[tokio::test]
async fn oras_pulls_what_azflux_pushed_and_azflux_pulls_what_oras_pushed() {
    let Some(python) = tool("AZFLUX_ORAS_PYTHON", "/opt/azflux/oras-venv/bin/python") else {
        return;
    };
    let cloud = FakeCloud::start().await;
    let acr = FakeAcr::mount(&cloud).await;
    let Some(registry) = LocalRegistry::start(&acr) else {
        return;
    };
    acr.add_basic_credential(
        "oras-user",
        SecretString::from("oras-pass"),
        None,
        &["pull", "push"],
    );
    let client = AcrClient::new(
        &registry.addr,
        AcrAuth::aad(Arc::new(ClockCredential(cloud.clone()))),
        loopback_options(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    manifests(&src);

    // azflux pushes a Flux artifact; ORAS pulls it: same manifest digest, same layer, same files.
    let url =
        ArtifactUrl::parse(&format!("oci://{}/fleet/cluster-a:v0.1.0", registry.addr)).unwrap();
    let mut o = opts("main@sha1:0123456789abcdef0123456789abcdef01234567");
    o.annotations = BTreeMap::from([(
        "org.opencontainers.image.description".into(),
        "cluster-a config".into(),
    )]);
    let pushed = client.push_artifact(&url, &src, &o).await.unwrap();
    let oras_out = dir.path().join("oras-out");
    std::fs::create_dir(&oras_out).unwrap();
    let got = oras(
        &python,
        &registry,
        &["pull", "fleet/cluster-a:v0.1.0", oras_out.to_str().unwrap()],
    );
    assert_eq!(got["manifest_digest"], pushed.digest.as_str());
    let manifest = &got["manifest"];
    assert_eq!(manifest["config"]["mediaType"], FLUX_CONFIG);
    assert_eq!(manifest["layers"][0]["mediaType"], FLUX_CONTENT_LAYER);
    assert_eq!(got["layer_sha256"], manifest["layers"][0]["digest"]);
    assert_eq!(
        manifest["annotations"][REVISION_ANNOTATION],
        "main@sha1:0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(
        manifest["annotations"][SOURCE_ANNOTATION],
        "https://dev.azure.com/org/proj/_git/fleet"
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.description"],
        "cluster-a config"
    );
    let files = got["files"].as_object().unwrap();
    let mut names: Vec<&String> = files.keys().collect();
    names.sort();
    assert_eq!(
        names,
        vec!["apps/podinfo/namespace.yaml", "kustomization.yaml"]
    );
    for (name, digest) in files {
        assert_eq!(
            digest.as_str().unwrap(),
            sha(&std::fs::read(src.join(name)).unwrap()),
            "{name}"
        );
    }

    // ORAS pushes a directory (its own tar+gzip layer); azflux pulls it, verifying every digest.
    let theirs = dir.path().join("theirs");
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::write(theirs.join("cm.yaml"), "kind: ConfigMap\n").unwrap();
    let pushed_by_oras = oras(
        &python,
        &registry,
        &["push", "fleet/from-oras:v1", theirs.to_str().unwrap()],
    );
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let pulled = client
        .pull_artifact(
            &ArtifactUrl::parse(&format!("oci://{}/fleet/from-oras:v1", registry.addr)).unwrap(),
            &out,
        )
        .await
        .unwrap();
    assert_eq!(
        pulled.metadata.digest,
        format!(
            "{}/fleet/from-oras@{}",
            registry.addr,
            pushed_by_oras["manifest_digest"].as_str().unwrap()
        )
    );
    let extracted = pulled
        .files
        .iter()
        .find(|f| f.ends_with("cm.yaml"))
        .unwrap_or_else(|| panic!("{:?}", pulled.files));
    assert_eq!(
        std::fs::read_to_string(out.join(extracted)).unwrap(),
        "kind: ConfigMap\n"
    );
}
