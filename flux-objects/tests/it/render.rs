use flux_objects::image::{
    CommitSpec, CommitUser, GitCheckoutSpec, GitSpec, ImageUpdateAutomationSpec, UpdateStrategy,
};
use flux_objects::source::GitRepositoryRef;
use flux_objects::*;

#[test]
fn helm_repository_oci_with_secret_ref() {
    let repo = HelmRepository::builder("podinfo", "apps")
        .url("oci://ghcr.io/stefanprodan/charts/podinfo")
        .interval(Duration::from_mins(5))
        .secret_ref("creds")
        .build()
        .unwrap();
    assert_eq!(
        render(&repo).unwrap(),
        "---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: podinfo
  namespace: apps
spec:
  interval: 5m0s
  secretRef:
    name: creds
  type: oci
  url: oci://ghcr.io/stefanprodan/charts/podinfo
"
    );
}

#[test]
fn helm_repository_https_has_no_type_and_acr_gets_provider() {
    let https = HelmRepository::builder("bitnami", "flux-system")
        .url("https://charts.bitnami.com/bitnami")
        .build()
        .unwrap();
    assert!(!render(&https).unwrap().contains("type:"));
    let acr = HelmRepository::builder("acr-charts", "flux-system")
        .url("oci://myregistry.azurecr.io/helm")
        .provider("azure")
        .interval(Duration::from_mins(10))
        .build()
        .unwrap();
    assert_eq!(
        render(&acr).unwrap(),
        "---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: acr-charts
  namespace: flux-system
spec:
  interval: 10m0s
  provider: azure
  type: oci
  url: oci://myregistry.azurecr.io/helm
"
    );
}

#[test]
fn helm_release_with_quoted_chart_version() {
    let hr = HelmRelease::builder("podinfo", "apps")
        .source("HelmRepository/podinfo.flux-system")
        .chart("podinfo")
        .chart_version(">6.0.0")
        .build()
        .unwrap();
    assert_eq!(
        render(&hr).unwrap(),
        "---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: apps
spec:
  chart:
    spec:
      chart: podinfo
      reconcileStrategy: ChartVersion
      sourceRef:
        kind: HelmRepository
        name: podinfo
        namespace: flux-system
      version: '>6.0.0'
  interval: 1m0s
"
    );
}

#[test]
fn helm_release_chart_ref() {
    let hr = HelmRelease::builder("podinfo", "apps")
        .chart_ref("HelmChart", "podinfo", None)
        .build()
        .unwrap();
    assert!(render(&hr).unwrap().ends_with(
        "spec:\n  chartRef:\n    kind: HelmChart\n    name: podinfo\n  interval: 1m0s\n"
    ));
}

#[test]
fn git_repository_for_azure_devops() {
    let git = GitRepository::builder("fleet", "flux-system")
        .url("https://dev.azure.com/my-org/my-project/_git/fleet")
        .provider("azure")
        .branch("main")
        .build()
        .unwrap();
    assert_eq!(
        render(&git).unwrap(),
        "---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: fleet
  namespace: flux-system
spec:
  interval: 1m0s
  provider: azure
  ref:
    branch: main
  url: https://dev.azure.com/my-org/my-project/_git/fleet
"
    );
}

#[test]
fn kustomization_with_sops_decryption() {
    let ks = Kustomization::builder("apps", "flux-system")
        .source("GitRepository/flux-system")
        .path("./apps")
        .prune(true)
        .interval(Duration::from_mins(10))
        .decryption_sops(Some("sops-azure"))
        .build()
        .unwrap();
    assert_eq!(
        render(&ks).unwrap(),
        "---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  decryption:
    provider: sops
    secretRef:
      name: sops-azure
  interval: 10m0s
  path: ./apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
"
    );
}

#[test]
fn kustomization_always_emits_prune() {
    let ks = Kustomization::builder("apps", "flux-system")
        .source("flux-system")
        .path("./")
        .build()
        .unwrap();
    assert!(render(&ks).unwrap().contains("  prune: false\n"));
}

#[test]
fn provider_azure_event_hub_and_alert() {
    let p =
        Provider::azure_event_hub_workload_identity("eventhub", "flux-system", "fluxv2", "my-ns")
            .unwrap();
    let a = Alert::new_for(
        "all",
        "flux-system",
        "eventhub",
        Some("info"),
        vec![notification::EventSource {
            kind: "Kustomization".into(),
            name: "*".into(),
            ..Default::default()
        }],
    )
    .unwrap();
    assert_eq!(
        render_all(&[&p, &a]).unwrap(),
        "---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: eventhub
  namespace: flux-system
spec:
  address: fluxv2
  channel: my-ns
  type: azureeventhub
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: all
  namespace: flux-system
spec:
  eventSeverity: info
  eventSources:
  - kind: Kustomization
    name: '*'
  providerRef:
    name: eventhub
"
    );
    let sas = Provider::azure_event_hub_secret("eventhub", "flux-system", "eventhub-credentials")
        .unwrap();
    assert!(
        render(&sas).unwrap().ends_with(
            "spec:\n  secretRef:\n    name: eventhub-credentials\n  type: azureeventhub\n"
        )
    );
}

#[test]
fn image_automation_trio_with_azure_provider() {
    let repo = ImageRepository::builder("app", "flux-system")
        .image("myregistry.azurecr.io/app")
        .provider("azure")
        .interval(Duration::from_mins(5))
        .build()
        .unwrap();
    let policy = ImagePolicy::semver("app", "flux-system", "app", ">=1.0.0").unwrap();
    let mut update = ImageUpdateAutomation::new(
        "flux-system",
        "flux-system",
        ImageUpdateAutomationSpec {
            source_ref: CrossNamespaceObjectReference::new("GitRepository", "flux-system"),
            git: Some(GitSpec {
                checkout: Some(GitCheckoutSpec {
                    reference: GitRepositoryRef {
                        branch: Some("main".into()),
                        ..Default::default()
                    },
                }),
                commit: CommitSpec {
                    author: CommitUser {
                        email: "flux@example.com".into(),
                        name: "flux".into(),
                    },
                    ..Default::default()
                },
                push: None,
            }),
            interval: Duration::from_mins(30),
            update: Some(UpdateStrategy {
                path: Some("./clusters/my-cluster".into()),
                strategy: "Setters".into(),
            }),
            ..Default::default()
        },
    );
    update
        .metadata
        .labels
        .insert("app.kubernetes.io/part-of".into(), "flux".into());
    assert_eq!(
        render_all(&[&repo, &policy, &update]).unwrap(),
        "---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: app
  namespace: flux-system
spec:
  image: myregistry.azurecr.io/app
  interval: 5m0s
  provider: azure
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: app
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: app
  policy:
    semver:
      range: '>=1.0.0'
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  labels:
    app.kubernetes.io/part-of: flux
  name: flux-system
  namespace: flux-system
spec:
  git:
    checkout:
      ref:
        branch: main
    commit:
      author:
        email: flux@example.com
        name: flux
  interval: 30m0s
  sourceRef:
    kind: GitRepository
    name: flux-system
  update:
    path: ./clusters/my-cluster
    strategy: Setters
"
    );
}

#[test]
fn parsed_objects_get_crd_defaults_like_the_api_server() {
    let yaml = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: a\n  namespace: ns\nspec:\n  image: r.io/a\n  interval: 90s\n  unknownField: dropped\n";
    let mut objs = Object::parse_all(yaml).unwrap();
    assert_eq!(objs.len(), 1);
    objs[0].apply_crd_defaults();
    assert_eq!(
        render_value(&objs[0].as_manifest().to_json()),
        "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: a\n  namespace: ns\nspec:\n  exclusionList:\n  - ^.*\\.sig$\n  image: r.io/a\n  interval: 1m30s\n  provider: generic\n"
    );
}

#[test]
fn unknown_kinds_are_rejected_when_parsing() {
    let err = Object::parse_all("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no matches for kind \"Widget\" in version \"example.com/v1\""
    );
}

#[test]
fn tenant_objects() {
    let objs = core::tenant("dev-team", "apps", "cluster-admin", None, true).unwrap();
    let refs: Vec<&dyn Manifest> = objs.iter().map(|o| o.as_ref()).collect();
    let out = render_all(&refs).unwrap();
    assert!(out.starts_with("---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  labels:\n    toolkit.fluxcd.io/tenant: dev-team\n"));
    assert!(out.contains("subjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: gotk:apps:reconciler\n- kind: ServiceAccount\n"));
}

#[test]
fn image_update_and_bucket_builders() {
    let iua = ImageUpdateAutomation::builder("flux-system", "flux-system")
        .git_repository("flux-system", None)
        .checkout_branch("main")
        .author("fluxcdbot", "fluxcdbot@users.noreply.github.com")
        .signing_key("my-signing-key", Some("ssh".into()))
        .path("./clusters/my-cluster")
        .build()
        .unwrap();
    assert!(render(&iua).unwrap().ends_with(
        "      signingKey:\n        secretRef:\n          name: my-signing-key\n        type: ssh\n  interval: 1m0s\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  update:\n    path: ./clusters/my-cluster\n    strategy: Setters\n"
    ));
    assert_eq!(
        ImageUpdateAutomation::builder("xy", "flux-system")
            .author("flux", "")
            .build()
            .unwrap_err()
            .to_string(),
        "a reference to a GitRepository is required (--git-repo-ref)"
    );
    let b = Bucket::builder("blobs", "flux-system")
        .provider("azure")
        .bucket_name("manifests")
        .endpoint("https://account.blob.core.windows.net")
        .build()
        .unwrap();
    assert!(render(&b).unwrap().ends_with(
        "spec:\n  bucketName: manifests\n  endpoint: https://account.blob.core.windows.net\n  interval: 1m0s\n  provider: azure\n"
    ));
}
