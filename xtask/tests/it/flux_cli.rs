//! `cargo xtask flux …`: output bytes, error wording and exit status, in-process and through the binary.

use xtask::flux_cli::run;

fn flux(args: &str) -> xtask::flux_cli::Output {
    let args: Vec<String> = args.split_whitespace().map(str::to_owned).collect();
    run(&args)
}

fn assert_error(args: &str, message: &str) {
    let out = flux(args);
    assert_eq!(out.code, 1, "{args}: {out:?}");
    assert_eq!(out.stdout, "", "{args}");
    assert_eq!(out.stderr, format!("✗ {message}\n"), "{args}");
}

#[test]
fn create_helmrelease_quotes_the_chart_version() {
    let out = run(&[
        "create",
        "helmrelease",
        "podinfo",
        "--source",
        "HelmRepository/podinfo",
        "--chart",
        "podinfo",
        "--chart-version",
        ">6.0.0",
        "--export",
        "-n",
        "apps",
    ]
    .map(String::from));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: apps\nspec:\n  chart:\n    spec:\n      chart: podinfo\n      reconcileStrategy: ChartVersion\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n      version: '>6.0.0'\n  interval: 1m0s\n"
    );
}

#[test]
fn create_helmrelease_merges_values_files() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
    std::fs::write(
        &a,
        "replicaCount: 1\ningress:\n  enabled: false\n  host: a.example.com\n",
    )
    .unwrap();
    std::fs::write(&b, "ingress:\n  enabled: true\n").unwrap();
    let out = flux(&format!(
        "create hr web --chart-ref=OCIRepository/web --values={},{} --export",
        a.display(),
        b.display()
    ));
    assert!(
        out.stdout.ends_with("  values:\n    ingress:\n      enabled: true\n      host: a.example.com\n    replicaCount: 1\n"),
        "{out:?}"
    );
}

#[test]
fn create_kustomization_with_sops_decryption() {
    let out = flux(
        "create ks apps --source=GitRepository/flux-system --path=./apps --prune=true --interval=10m --decryption-provider=sops --decryption-secret=sops-azure --export",
    );
    assert_eq!(
        out.stdout,
        "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  decryption:\n    provider: sops\n    secretRef:\n      name: sops-azure\n  interval: 10m0s\n  path: ./apps\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
    );
}

#[test]
fn create_image_repository_accepts_provider_azure() {
    let out = flux(
        "create image repository app --image=myregistry.azurecr.io/app --provider=azure --interval=5m --export",
    );
    assert_eq!(
        out.stdout,
        "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  image: myregistry.azurecr.io/app\n  interval: 5m0s\n  provider: azure\n"
    );
}

#[test]
fn create_alert_provider_and_event_hub_secret() {
    let p = flux(
        "create alert-provider eventhub --type=azureeventhub --secret-ref=eventhub-credentials --export",
    );
    assert!(
        p.stdout.ends_with(
            "spec:\n  secretRef:\n    name: eventhub-credentials\n  type: azureeventhub\n"
        ),
        "{p:?}"
    );
    let s = flux(
        "create secret eventhub eventhub-credentials --address=fluxv2 --token=jwt-token --export",
    );
    assert!(
        s.stdout
            .ends_with("stringData:\n  address: fluxv2\n  token: jwt-token\n\n"),
        "{s:?}"
    );
    let a = flux(
        "create alert all --provider-ref=eventhub --event-source=Kustomization/*,HelmRelease/podinfo.apps --event-severity=error --export",
    );
    assert!(
        a.stdout.ends_with(
            "spec:\n  eventSeverity: error\n  eventSources:\n  - kind: Kustomization\n    name: '*'\n  - kind: HelmRelease\n    name: podinfo\n    namespace: apps\n  providerRef:\n    name: eventhub\n"
        ),
        "{a:?}"
    );
}

#[test]
fn bad_input_gets_the_flux_wording() {
    assert_error(
        "create source git Bad_Name --url=https://x.io/r --branch=main --export",
        "name 'Bad_Name' is invalid, it should adhere to standard defined in RFC 1123, the name can only contain alphanumeric characters or '-'",
    );
    assert_error(
        "create source git fleet --url=git@ssh.dev.azure.com:v3/org/p/r --branch=main --export",
        "git URL parse failed: parse \"git@ssh.dev.azure.com:v3/org/p/r\": first path segment in URL cannot contain colon",
    );
    assert_error(
        "create source git fleet --url=https://x.io/r --export",
        "a Git ref is required, use one of the following: --branch, --tag, --commit, --ref-name or --tag-semver",
    );
    assert_error(
        "create kustomization apps --source=flux-system --path=apps --export",
        "path must begin with ./",
    );
    assert_error(
        "create kustomization apps --source=Widget/x --export",
        "invalid argument \"Widget/x\" for \"--source\" flag: source kind 'Widget' is not supported, must be one of: OCIRepository, GitRepository, Bucket",
    );
    assert_error(
        "create source widget x --export",
        "unknown command \"widget\" for \"flux create source\"",
    );
    assert_error(
        "create source git fleet --colour=blue",
        "unknown flag: --colour",
    );
    assert_error(
        "create source git fleet --url=https://x.io/r --branch=main --interval=soon --export",
        "invalid argument \"soon\" for \"--interval\" flag: time: invalid duration \"soon\"",
    );
}

#[test]
fn without_export_the_command_says_it_needs_a_cluster() {
    let out = flux("create source git fleet --url=https://x.io/r --branch=main");
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .starts_with("✗ create source git without --export needs a Kubernetes cluster"),
        "{out:?}"
    );
}

#[test]
fn export_reads_objects_from_a_file_with_crd_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("objects.yaml");
    std::fs::write(
        &f,
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: fleet\n  namespace: flux-system\nspec:\n  url: https://dev.azure.com/o/p/_git/r\n  interval: 5m\n  ref:\n    branch: main\n",
    )
    .unwrap();
    let out = flux(&format!("export source git fleet --from {}", f.display()));
    assert_eq!(
        out.stdout,
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: fleet\n  namespace: flux-system\nspec:\n  interval: 5m0s\n  ref:\n    branch: main\n  timeout: 1m0s\n  url: https://dev.azure.com/o/p/_git/r\n"
    );
    assert_error(
        &format!("export source git other --from {}", f.display()),
        "gitrepositories.source.toolkit.fluxcd.io \"other\" not found",
    );
}

#[test]
fn the_binary_prints_to_stdout_and_exits_1_on_errors() {
    let bin = env!("CARGO_BIN_EXE_xtask");
    let ok = std::process::Command::new(bin)
        .args([
            "flux",
            "create",
            "source",
            "helm",
            "podinfo",
            "--url=oci://ghcr.io/stefanprodan/charts/podinfo",
            "--export",
        ])
        .output()
        .unwrap();
    assert!(ok.status.success());
    assert!(
        String::from_utf8(ok.stdout)
            .unwrap()
            .contains("  type: oci\n")
    );
    let bad = std::process::Command::new(bin)
        .args([
            "flux",
            "create",
            "source",
            "helm",
            "podinfo",
            "--url=git://example.com/charts",
            "--export",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(bad.stdout.is_empty());
    assert_eq!(
        String::from_utf8(bad.stderr).unwrap(),
        "✗ url scheme 'git' not supported, can be: http, https and oci\n"
    );
}

#[cfg(feature = "conformance")]
#[test]
fn conformance_suite_passes_on_the_shared_fixtures() {
    let fixtures = xtask::conformance::flux::default_fixtures();
    if !fixtures.join("flux").is_dir() {
        // The fixtures live outside the repository; CI always has ../shared beside the clone.
        azflux_core::test_servers::missing(
            &format!("the shared fixtures ({})", fixtures.display()),
            "set AZFLUX_FIXTURES to the fixtures directory",
        );
        return;
    }
    let report = xtask::conformance::flux::run(&fixtures).unwrap();
    let failures: Vec<_> = report
        .failures()
        .map(|c| format!("{}: {:?}", c.name, c.failure))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(report.cases.len() > 90);
}
