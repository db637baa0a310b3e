//! Flux objects for ACR, rendered with flux-objects.

use acr_oci::ChartRef;
use acr_oci::flux::{self, RepositoryAuth};
use azflux_core::Cloud;
use flux_objects::{Duration, render};
use secrecy::SecretString;

#[test]
fn oci_helm_repository_with_azure_provider_matches_flux_export() {
    let repo = flux::helm_repository(
        &Cloud::public(),
        "acr-charts",
        "flux-system",
        "oci://myregistry.azurecr.io/helm",
        &RepositoryAuth::Azure,
        Duration::from_mins(10),
    )
    .unwrap();
    // flux create source helm acr-charts --url=oci://myregistry.azurecr.io/helm --oci-provider=azure --interval=10m --export
    assert_eq!(
        render(&repo).unwrap(),
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: acr-charts\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  provider: azure\n  type: oci\n  url: oci://myregistry.azurecr.io/helm\n"
    );
}

#[test]
fn provider_azure_refuses_non_acr_hosts_like_flux() {
    let err = flux::helm_repository(
        &Cloud::public(),
        "x",
        "flux-system",
        "oci://ghcr.io/stefanprodan/charts",
        &RepositoryAuth::Azure,
        Duration::from_mins(1),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("invalid Azure registry: 'ghcr.io'"),
        "{err}"
    );
    let err = flux::image_repository_azure(
        &Cloud::public(),
        "app",
        "flux-system",
        "docker.io/library/nginx",
        Duration::from_mins(1),
    )
    .unwrap_err();
    assert!(err.to_string().contains("invalid Azure registry"), "{err}");
}

#[test]
fn helm_repository_with_secret_and_release_with_range() {
    let chart = ChartRef::parse("oci://myacr.azurecr.io/charts/podinfo").unwrap();
    let repo = flux::helm_repository_for(
        &Cloud::public(),
        "podinfo",
        "flux-system",
        &chart,
        &RepositoryAuth::Secret("acr-creds".into()),
        Duration::from_mins(5),
    )
    .unwrap();
    assert_eq!(
        render(&repo).unwrap(),
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  interval: 5m0s\n  secretRef:\n    name: acr-creds\n  type: oci\n  url: oci://myacr.azurecr.io/charts\n"
    );
    let release = flux::helm_release(
        "podinfo",
        "flux-system",
        &chart,
        "podinfo",
        ">6.0.0",
        Duration::from_mins(1),
    )
    .unwrap();
    assert_eq!(
        render(&release).unwrap(),
        "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  chart:\n    spec:\n      chart: podinfo\n      reconcileStrategy: ChartVersion\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n      version: '>6.0.0'\n  interval: 1m0s\n"
    );
    let err = flux::helm_release(
        "p",
        "flux-system",
        &chart,
        "p",
        ">=",
        Duration::from_mins(1),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("invalid version constraint '>='"),
        "{err}"
    );
}

#[test]
fn docker_registry_secret_matches_kubectl() {
    let secret = flux::docker_registry_secret(
        "acr-creds",
        "flux-system",
        "myacr.azurecr.io",
        "myacr",
        &SecretString::from("s3cr3t"),
    );
    assert!(!format!("{secret:?}").contains("s3cr3t"));
    let yaml = secret.render_export().unwrap();
    // kubectl create secret docker-registry acr-creds --docker-server=myacr.azurecr.io --docker-username=myacr --docker-password=s3cr3t
    assert!(
        yaml.contains("type: kubernetes.io/dockerconfigjson"),
        "{yaml}"
    );
    assert!(
        yaml.contains(r#"{"auths":{"myacr.azurecr.io":{"username":"myacr","password":"s3cr3t","auth":"bXlhY3I6czNjcjN0"}}}"#),
        "{yaml}"
    );
}

#[test]
fn image_repository_with_azure_provider() {
    let repo = flux::image_repository_azure(
        &Cloud::public(),
        "podinfo",
        "flux-system",
        "myacr.azurecr.io/podinfo",
        Duration::from_mins(5),
    )
    .unwrap();
    let yaml = render(&repo).unwrap();
    assert!(yaml.contains("kind: ImageRepository"), "{yaml}");
    assert!(
        yaml.contains("  image: myacr.azurecr.io/podinfo\n  interval: 5m0s\n  provider: azure\n"),
        "{yaml}"
    );
}
