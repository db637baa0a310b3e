//! `cargo xtask bootstrap` end to end on the sandbox: the repository it writes, the objects it applies,
//! the Azure resources it creates, idempotent re-runs, resumption after a crash at every step, injected
//! faults, and logs free of secrets.

use azflux_core::fake::faults::{Fault, FaultMatch};
use secrecy::ExposeSecret;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use xtask::bootstrap::executor::{ExecutorOptions, FailAt, FailPoint, StepStatus};
use xtask::bootstrap::progress::{Event, NoSink, Recorder};
use xtask::bootstrap::sandbox::{SANDBOX_CLUSTER, SANDBOX_RESOURCE_GROUP, Sandbox, SandboxOptions};
use xtask::bootstrap::{Change, PlanOptions, PlanState, build_plan, ids};

pub async fn sandbox() -> (tempfile::TempDir, Sandbox) {
    let dir = tempfile::tempdir().unwrap();
    let sb = Sandbox::start(SandboxOptions::new(dir.path().to_path_buf()))
        .await
        .unwrap();
    (dir, sb)
}

pub fn one() -> Vec<String> {
    vec![SANDBOX_CLUSTER.to_owned()]
}

/// The install objects of the sandbox configuration, plus the git Secret, GitRepository, Kustomization.
pub fn expected_objects(sb: &Sandbox) -> usize {
    let config = sb.config(&one());
    let artifacts = xtask::bootstrap::sandbox::sandbox_manifests()
        .unwrap()
        .releases[&config.flux.version]
        .clone();
    flux_objects::install::objects(&artifacts, &xtask::bootstrap::install_options(&config))
        .unwrap()
        .len()
        + 3
}

pub fn opts() -> ExecutorOptions {
    ExecutorOptions::default()
}

/// Every commit reachable from `main`, newest first: (id, message, files path → bytes).
pub fn commits(repo: &Path) -> Vec<(String, String, BTreeMap<String, Vec<u8>>)> {
    let repo = git2::Repository::open_bare(repo).unwrap();
    let Ok(head) = repo.refname_to_id("refs/heads/main") else {
        return Vec::new();
    };
    let mut walk = repo.revwalk().unwrap();
    walk.push(head).unwrap();
    walk.map(|oid| {
        let commit = repo.find_commit(oid.unwrap()).unwrap();
        let mut files = BTreeMap::new();
        commit
            .tree()
            .unwrap()
            .walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
                if let Ok(blob) = entry.to_object(&repo).and_then(|o| o.peel_to_blob()) {
                    files.insert(
                        format!("{dir}{}", entry.name().unwrap()),
                        blob.content().to_vec(),
                    );
                }
                git2::TreeWalkResult::Ok
            })
            .unwrap();
        (
            commit.id().to_string(),
            commit.message().unwrap_or_default().to_owned(),
            files,
        )
    })
    .collect()
}

/// Fails if any file of any commit holds `secret` or looks like a plaintext Kubernetes Secret.
fn assert_no_secret_committed(repo: &Path, secrets: &[&str]) {
    let all = commits(repo);
    assert!(!all.is_empty(), "no commit to check");
    for (id, _, files) in all {
        for (path, content) in files {
            let text = String::from_utf8_lossy(&content);
            for s in secrets {
                assert!(
                    !text.contains(s),
                    "commit {id} file {path} contains a secret"
                );
            }
            for doc in text.split("\n---") {
                let is_secret = doc.lines().any(|l| l.trim() == "kind: Secret");
                let has_data = doc
                    .lines()
                    .any(|l| l.starts_with("data:") || l.starts_with("stringData:"));
                let sops = doc.contains("\nsops:");
                assert!(
                    !(is_secret && has_data && !sops),
                    "commit {id} file {path} holds a plaintext Secret"
                );
            }
        }
    }
}

fn object(
    sb: &Sandbox,
    kind: &str,
    ns: Option<&str>,
    name: &str,
) -> xtask::bootstrap::fake_kube::StoredObject {
    sb.kube
        .object(SANDBOX_CLUSTER, kind, ns, name)
        .unwrap_or_else(|| panic!("{kind} {name} was not applied"))
}

/// The documents of a multi-document YAML file, as JSON.
fn serde_yaml_docs(bytes: &[u8]) -> Vec<Value> {
    flux_objects::yaml::parse_documents(std::str::from_utf8(bytes).unwrap()).unwrap()
}

fn decode(v: &Value) -> String {
    use base64::Engine;
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn sandbox_run_writes_the_repository_applies_the_objects_and_creates_the_resource_group() {
    let (_dir, sb) = sandbox().await;
    let recorder = Recorder::default();
    let (report, summary) = sb
        .run(&one(), PlanOptions::default(), opts(), &recorder)
        .await
        .unwrap();
    assert!(report.succeeded(), "{:#?}", report.failures());
    assert!(summary.ok);

    // Azure: the resource group, created once.
    assert_eq!(
        sb.groups.ids(),
        vec![format!(
            "/subscriptions/{}/resourceGroups/{SANDBOX_RESOURCE_GROUP}",
            sb.cloud.sandbox().subscription_id
        )]
    );
    assert_eq!(sb.cloud.request_count("resourcegroups.put"), 1);

    // The repository: two commits as flux bootstrap makes them — the components, then the sync
    // manifests — byte for byte what flux-objects renders, and gotk-sync.yaml in the format flux
    // bootstrap writes (own expectation, independent of the renderer).
    let history = commits(&sb.repo_dir());
    assert_eq!(history.len(), 4);
    let config = sb.config(&one());
    assert_eq!(
        history[0].1,
        "Add image automation (ImageRepository, ImagePolicy, ImageUpdateAutomation)"
    );
    let (_, message, files) = &history[1];
    assert_eq!(message, "Add SOPS rules, Helm releases and notifications");
    assert_eq!(history[2].1, "Add Flux sync manifests");
    assert_eq!(
        history[3].1,
        format!("Add Flux {} component manifests", config.flux.version)
    );
    assert_eq!(
        history[3].2.keys().collect::<Vec<_>>(),
        vec!["clusters/sandbox/flux-system/gotk-components.yaml"]
    );
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        vec![
            ".sops.yaml",
            "clusters/sandbox/apps/helm.yaml",
            "clusters/sandbox/flux-system/gotk-components.yaml",
            "clusters/sandbox/flux-system/gotk-sync.yaml",
            "clusters/sandbox/flux-system/kustomization.yaml",
            "clusters/sandbox/notifications/eventhub.yaml",
        ]
    );
    // Image automation, on top: the sandbox follows the podinfo image on ACR (provider azure), picks
    // semver tags and lets the automation push to main, updating the cluster's directory.
    let ia_files = &history[0].2;
    let added: Vec<&String> = ia_files
        .keys()
        .filter(|k| !files.contains_key(*k))
        .collect();
    assert_eq!(
        added,
        vec![
            "clusters/sandbox/image-automation/podinfo.yaml",
            "clusters/sandbox/image-automation/update.yaml",
        ]
    );
    let images: Vec<Value> =
        serde_yaml_docs(&ia_files["clusters/sandbox/image-automation/podinfo.yaml"]);
    assert_eq!(images.len(), 2);
    assert_eq!(images[0]["kind"], "ImageRepository");
    assert_eq!(images[0]["apiVersion"], "image.toolkit.fluxcd.io/v1");
    assert_eq!(images[0]["metadata"]["namespace"], "flux-system");
    assert_eq!(
        images[0]["spec"]["image"],
        "azfluxsandbox.azurecr.io/podinfo"
    );
    assert_eq!(images[0]["spec"]["provider"], "azure");
    assert_eq!(images[1]["kind"], "ImagePolicy");
    assert_eq!(images[1]["spec"]["imageRepositoryRef"]["name"], "podinfo");
    assert_eq!(images[1]["spec"]["policy"]["semver"]["range"], ">=6.0.0");
    let update: Vec<Value> =
        serde_yaml_docs(&ia_files["clusters/sandbox/image-automation/update.yaml"]);
    assert_eq!(update.len(), 1);
    let u = &update[0];
    assert_eq!(u["kind"], "ImageUpdateAutomation");
    assert_eq!(u["spec"]["sourceRef"]["kind"], "GitRepository");
    assert_eq!(u["spec"]["sourceRef"]["name"], "flux-system");
    assert_eq!(u["spec"]["git"]["checkout"]["ref"]["branch"], "main");
    assert_eq!(u["spec"]["git"]["push"]["branch"], "main");
    assert_eq!(u["spec"]["git"]["commit"]["author"]["name"], "fluxcdbot");
    assert!(
        u["spec"]["git"]["commit"]["author"]["email"]
            .as_str()
            .unwrap()
            .contains('@')
    );
    assert_eq!(u["spec"]["update"]["path"], "./clusters/sandbox");
    assert_eq!(u["spec"]["update"]["strategy"], "Setters");

    // .sops.yaml names the Key Vault key the bootstrap ensured; sops (keyvault-sops) reads it back.
    let sops = String::from_utf8_lossy(&files[".sops.yaml"]).to_string();
    let rules = keyvault_sops::rules::Config::parse(&sops).unwrap();
    let rule = rules.rule_for("clusters/sandbox/apps/secret.yaml").unwrap();
    let key = &rule.key_groups[0].azure_keyvault[0];
    assert_eq!(key.vault_url, "https://kv-flux-sandbox.vault.azure.net");
    assert_eq!(key.name, "sops");
    assert_eq!(
        vec![key.version.clone()],
        sb.key_vault.versions("kv-flux-sandbox", "sops")
    );
    assert_eq!(sb.key_vault.versions("kv-flux-sandbox", "sops").len(), 1);
    // The Helm repository on ACR with workload identity, the release, the Event Hub Provider and Alert.
    let helm = String::from_utf8_lossy(&files["clusters/sandbox/apps/helm.yaml"]).to_string();
    assert!(
        helm.contains("kind: HelmRepository") && helm.contains("provider: azure"),
        "{helm}"
    );
    assert!(
        helm.contains("url: oci://azfluxsandbox.azurecr.io/charts\n"),
        "{helm}"
    );
    assert!(
        helm.contains("kind: HelmRelease") && helm.contains("targetNamespace: podinfo"),
        "{helm}"
    );
    let events =
        String::from_utf8_lossy(&files["clusters/sandbox/notifications/eventhub.yaml"]).to_string();
    assert!(
        events.contains("type: azureeventhub") && events.contains("channel: ehns-flux-sandbox"),
        "{events}"
    );
    assert!(events.contains("kind: Alert"), "{events}");
    // The Azure resources Flux uses, created once through ARM as the guide's `az` commands make them.
    let vault = sb
        .key_vault
        .arm_vault(xtask::bootstrap::sandbox::SANDBOX_KEY_VAULT)
        .expect("the vault was created");
    assert_eq!(vault["properties"]["enableRbacAuthorization"], true);
    assert_eq!(
        vault["properties"]["tenantId"],
        sb.cloud.sandbox().tenant_id.as_str()
    );
    assert_eq!(vault["location"], "westeurope");
    let registry = sb
        .acr
        .arm_registry(xtask::bootstrap::sandbox::SANDBOX_REGISTRY)
        .expect("the registry was created");
    assert_eq!(
        registry["properties"]["loginServer"],
        "azfluxsandbox.azurecr.io"
    );
    let namespace = sb
        .event_hubs
        .arm_namespace("ehns-flux-sandbox")
        .expect("the namespace was created");
    assert_eq!(namespace["location"], "westeurope");
    assert!(sb.event_hubs.arm_hub("ehns-flux-sandbox", "flux").is_some());
    for route in [
        "keyvault.arm.vault.put",
        "acr.arm.registry.put",
        "eventhubs.arm.namespace.put",
        "eventhubs.arm.hub.put",
    ] {
        assert_eq!(sb.cloud.request_count(route), 1, "{route}");
    }
    // The Flux identity's roles on the vault, the hub and the registry, and the caller's Key Vault Crypto
    // Officer on the RBAC vault it created (so it may create the SOPS key).
    let roles = sb.aks.role_assignments();
    assert_eq!(roles.len(), 4, "{roles:#?}");
    assert!(
        roles.iter().any(|r| {
            let text = r.to_string();
            text.contains("/providers/Microsoft.KeyVault/vaults/kv-flux-sandbox")
                && text.contains("14b46e9e-c2b7-41b4-b07b-48a6ebf60603")
                && text.contains(sb.cloud.sandbox().object_id.as_str())
        }),
        "{roles:#?}"
    );
    for (scope, role) in [
        (
            "/providers/Microsoft.KeyVault/vaults/kv-flux-sandbox",
            "12338af0-0e69-4776-bea7-57ae8d297424",
        ),
        (
            "/providers/Microsoft.EventHub/namespaces/ehns-flux-sandbox/eventhubs/flux",
            "2b629674-e913-4c01-ae53-ef4638d8f975",
        ),
        (
            "/providers/Microsoft.ContainerRegistry/registries/azfluxsandbox",
            "7f951dda-4ed3-4680-a7ca-43fe172d538d",
        ),
    ] {
        assert!(
            roles.iter().any(|r| {
                let text = r.to_string();
                text.contains(scope) && text.contains(role)
            }),
            "{scope}: {roles:#?}"
        );
    }
    let artifacts = xtask::bootstrap::sandbox::sandbox_manifests()
        .unwrap()
        .releases[&config.flux.version]
        .clone();
    let components =
        flux_objects::install::render(&artifacts, &xtask::bootstrap::install_options(&config))
            .unwrap();
    assert_eq!(
        files["clusters/sandbox/flux-system/gotk-components.yaml"],
        components.as_bytes()
    );
    assert!(components.contains("# Components: source-controller,kustomize-controller,helm-controller,notification-controller,image-reflector-controller,image-automation-controller\n"));
    let sync = xtask::bootstrap::sync_options(&config, SANDBOX_CLUSTER).unwrap();
    let gotk = &files["clusters/sandbox/flux-system/gotk-sync.yaml"];
    assert_eq!(gotk, flux_objects::gotk_sync(&sync).unwrap().as_bytes());
    let expected = format!(
        "# This manifest was generated by flux. DO NOT EDIT.\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    branch: main\n  secretRef:\n    name: flux-system\n  url: {}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  path: ./clusters/sandbox\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
        sb.repo_url
    );
    assert_eq!(String::from_utf8_lossy(gotk), expected);
    // kustomization.yaml: flux's two resources plus the workload-identity patches of the Flux identity.
    let identities = sb.aks.identities();
    assert_eq!(identities.len(), 1);
    let client_id = identities[0]["properties"]["clientId"].as_str().unwrap();
    let tenant_id = identities[0]["properties"]["tenantId"].as_str().unwrap();
    let controllers = xtask::bootstrap::install_options(&config).all_components();
    let names: Vec<&str> = controllers.iter().map(String::as_str).collect();
    let kustomization =
        String::from_utf8_lossy(&files["clusters/sandbox/flux-system/kustomization.yaml"]);
    let mut expected_kustomization = flux_objects::KustomizeConfig::flux_system();
    expected_kustomization
        .patches
        .push(xtask::bootstrap::decryption_patch(None));
    assert_eq!(
        kustomization,
        expected_kustomization
            .add_workload_identity(&names, "flux-system", client_id, tenant_id)
            .to_file()
    );
    assert!(
        kustomization.contains("decryption:\n        provider: sops\n"),
        "{kustomization}"
    );
    assert!(
        kustomization
            .starts_with("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")
    );
    assert!(
        kustomization.contains("resources:\n- gotk-components.yaml\n- gotk-sync.yaml\n"),
        "{kustomization}"
    );
    assert!(
        kustomization.contains(&format!("azure.workload.identity/client-id: {client_id}")),
        "{kustomization}"
    );

    // AKS: the cluster, and one federated credential per controller trusting its OIDC issuer.
    let clusters = sb.aks.clusters();
    assert_eq!(clusters.len(), 1);
    let issuer = clusters[0]["properties"]["oidcIssuerProfile"]["issuerURL"]
        .as_str()
        .unwrap();
    let identity_id = identities[0]["id"].as_str().unwrap();
    let fics = sb.aks.federated_credentials(identity_id);
    assert_eq!(fics.len(), controllers.len());
    for fic in &fics {
        assert_eq!(fic["properties"]["issuer"], issuer);
        let subject = fic["properties"]["subject"].as_str().unwrap();
        let sa = subject
            .strip_prefix("system:serviceaccount:flux-system:")
            .unwrap();
        assert!(controllers.iter().any(|c| c == sa), "{subject}");
    }

    // The cluster: the install objects (namespace, CRDs, controllers), the git Secret with the PAT (never committed), the sync objects, Ready at
    // the pushed revision.
    object(&sb, "Namespace", None, "flux-system");
    let sa = object(
        &sb,
        "ServiceAccount",
        Some("flux-system"),
        "source-controller",
    )
    .object;
    assert_eq!(
        sa["metadata"]["annotations"]["azure.workload.identity/client-id"],
        client_id
    );
    assert_eq!(
        sa["metadata"]["annotations"]["azure.workload.identity/tenant-id"],
        tenant_id
    );
    let deployment = object(
        &sb,
        "Deployment",
        Some("flux-system"),
        "kustomize-controller",
    )
    .object;
    assert_eq!(
        deployment["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"],
        "true"
    );
    object(
        &sb,
        "Deployment",
        Some("flux-system"),
        "image-automation-controller",
    );
    object(
        &sb,
        "CustomResourceDefinition",
        None,
        "gitrepositories.source.toolkit.fluxcd.io",
    );
    let secret = object(&sb, "Secret", Some("flux-system"), "flux-system").object;
    assert_eq!(decode(&secret["data"]["username"]), "git");
    assert_eq!(
        decode(&secret["data"]["password"]),
        sb.pat().expose_secret()
    );
    let git = object(&sb, "GitRepository", Some("flux-system"), "flux-system").object;
    assert_eq!(git["spec"]["url"], sb.repo_url.as_str());
    assert_eq!(git["spec"]["secretRef"]["name"], "flux-system");
    let ks = object(&sb, "Kustomization", Some("flux-system"), "flux-system").object;
    assert_eq!(ks["spec"]["path"], "./clusters/sandbox");
    assert_eq!(
        summary.repository.revision.as_deref(),
        Some(format!("main@sha1:{}", history[0].0).as_str())
    );
    assert_eq!(
        sb.kube.objects(SANDBOX_CLUSTER).len(),
        expected_objects(&sb)
    );

    assert_no_secret_committed(&sb.repo_dir(), &[sb.pat().expose_secret()]);

    // Events: every step started and finished, the summary last.
    let events = recorder.events();
    let finished = events
        .iter()
        .filter(|e| matches!(e, Event::Finished { .. }))
        .count();
    assert_eq!(finished, report.steps.len());
    assert!(matches!(events.last(), Some(Event::Summary(_))));
}

#[tokio::test]
async fn a_second_run_changes_nothing() {
    let (_dir, sb) = sandbox().await;
    let (first, _) = sb
        .run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    assert!(first.succeeded());
    let applies = sb.cloud.request_count("kube.apply");
    let (second, summary) = sb
        .run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    assert!(second.succeeded(), "{:#?}", second.failures());
    assert!(
        summary.created.is_empty() && summary.changed.is_empty(),
        "{summary:#?}"
    );
    assert_eq!(commits(&sb.repo_dir()).len(), 4);
    assert_eq!(sb.cloud.request_count("resourcegroups.put"), 1);
    assert_eq!(
        sb.cloud.request_count("kube.apply"),
        applies,
        "a re-run applied objects again"
    );
    for o in sb.kube.objects(SANDBOX_CLUSTER) {
        assert_eq!((o.generation, o.writes), (1, 1), "{}", o.object["kind"]);
    }
}

#[tokio::test]
async fn dry_run_reports_the_plan_and_changes_nothing() {
    let (_dir, sb) = sandbox().await;
    let dry = ExecutorOptions {
        dry_run: true,
        ..opts()
    };
    let (report, summary) = sb
        .run(&one(), PlanOptions::default(), dry.clone(), &NoSink)
        .await
        .unwrap();
    assert!(report.succeeded() && summary.dry_run);
    let state = |r: &xtask::bootstrap::RunReport, id: &str| match &r.step(id).unwrap().status {
        StepStatus::Planned(p) => p.state.clone(),
        other => panic!("{id}: {other:?}"),
    };
    assert_eq!(
        state(&report, "resource-group/rg-flux-sandbox"),
        PlanState::WouldCreate
    );
    assert_eq!(state(&report, &ids::sync_commit()), PlanState::WouldCreate);
    assert_eq!(
        state(&report, "sandbox/aks-cluster"),
        PlanState::WouldCreate
    );
    // No cluster yet: what would be applied to it is decided at run time.
    assert_eq!(
        state(&report, &ids::components(SANDBOX_CLUSTER)),
        PlanState::Unknown
    );
    assert!(sb.groups.ids().is_empty());
    assert!(sb.aks.clusters().is_empty() && sb.aks.identities().is_empty());
    assert!(commits(&sb.repo_dir()).is_empty());
    assert!(sb.kube.objects(SANDBOX_CLUSTER).is_empty());
    assert_eq!(
        sb.cloud.request_count("resourcegroups.put") + sb.cloud.request_count("kube.apply"),
        0
    );

    sb.run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    let (after, summary) = sb
        .run(&one(), PlanOptions::default(), dry, &NoSink)
        .await
        .unwrap();
    assert!(
        summary.would_change.is_empty(),
        "{:?}",
        summary.would_change
    );
    assert_eq!(
        state(&after, &ids::sync_objects(SANDBOX_CLUSTER)),
        PlanState::UpToDate
    );
    assert_eq!(
        state(&after, &ids::git_secret(SANDBOX_CLUSTER)),
        PlanState::UpToDate
    );
    assert_eq!(
        state(&after, &ids::components(SANDBOX_CLUSTER)),
        PlanState::UpToDate
    );
    assert_eq!(
        state(&after, "sandbox/federated-credentials"),
        PlanState::UpToDate
    );
}

/// The end state every converged run must reach, counted in the fakes.
fn assert_converged(sb: &Sandbox, label: &str) {
    assert_eq!(commits(&sb.repo_dir()).len(), 4, "{label}: commits");
    assert_eq!(
        sb.aks.role_assignments().len(),
        4,
        "{label}: role assignments"
    );
    for (route, what) in [
        ("keyvault.arm.vault.put", "/vaults/kv-flux-sandbox"),
        ("acr.arm.registry.put", "/registries/azfluxsandbox"),
        (
            "eventhubs.arm.namespace.put",
            "/namespaces/ehns-flux-sandbox",
        ),
        ("eventhubs.arm.hub.put", "/eventhubs/flux"),
    ] {
        let faulted = sb
            .cloud
            .faults()
            .fired()
            .iter()
            .filter(|(method, path, _)| method == "PUT" && path.ends_with(what))
            .count() as u64;
        assert_eq!(
            sb.cloud.request_count(route) - faulted,
            1,
            "{label}: {route}"
        );
    }
    assert_eq!(
        sb.key_vault
            .versions(xtask::bootstrap::sandbox::SANDBOX_KEY_VAULT, "sops")
            .len(),
        1,
        "{label}: key versions"
    );
    assert_eq!(sb.groups.ids().len(), 1, "{label}: resource groups");
    // Requests answered by an injected fault never reached the fake's handler.
    let faulted_puts = sb
        .cloud
        .faults()
        .fired()
        .iter()
        .filter(|(method, path, _)| method == "PUT" && path.contains("/resourceGroups/"))
        .count() as u64;
    assert_eq!(
        sb.cloud.request_count("resourcegroups.put") - faulted_puts,
        1,
        "{label}: resource group PUTs"
    );
    assert_eq!(sb.aks.clusters().len(), 1, "{label}: AKS clusters");
    assert_eq!(sb.aks.identities().len(), 1, "{label}: identities");
    let identity = sb.aks.identities()[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        sb.aks.federated_credentials(&identity).len(),
        6,
        "{label}: federated credentials"
    );
    assert_eq!(
        sb.cloud.request_count("aks.cluster.put"),
        1,
        "{label}: cluster PUTs"
    );
    assert_eq!(
        sb.cloud.request_count("msi.identity.put"),
        1,
        "{label}: identity PUTs"
    );
    assert_eq!(
        sb.cloud.request_count("msi.fic.put"),
        6,
        "{label}: credential PUTs"
    );
    let objects = sb.kube.objects(SANDBOX_CLUSTER);
    assert_eq!(objects.len(), expected_objects(sb), "{label}: objects");
    for o in objects {
        assert_eq!(
            (o.generation, o.writes),
            (1, 1),
            "{label}: {} written again",
            o.object["kind"]
        );
    }
}

#[tokio::test]
async fn a_run_stopped_at_any_step_converges_when_run_again() {
    let plan_ids: Vec<String> = {
        let (_dir, sb) = sandbox().await;
        let config = sb.config(&one());
        let plan = build_plan(
            &config,
            &sb.secrets(),
            sb.services(),
            &PlanOptions::default(),
        )
        .unwrap();
        plan.ids().into_iter().map(str::to_owned).collect()
    };
    assert_eq!(plan_ids.len(), 24);
    assert!(plan_ids.contains(&ids::image_automation_commit()));
    for step in &plan_ids {
        for point in [FailPoint::Before, FailPoint::After] {
            let label = format!("{step} {point:?}");
            let (_dir, sb) = sandbox().await;
            let crash = ExecutorOptions {
                fail_at: Some(FailAt {
                    step: step.clone(),
                    point,
                }),
                ..opts()
            };
            let (report, summary) = sb
                .run(&one(), PlanOptions::default(), crash, &NoSink)
                .await
                .unwrap();
            assert!(!report.succeeded(), "{label}");
            assert_eq!(summary.failed.len(), 1, "{label}");
            assert_eq!(&summary.failed[0].step, step, "{label}");
            let (again, _) = sb
                .run(&one(), PlanOptions::default(), opts(), &NoSink)
                .await
                .unwrap();
            assert!(again.succeeded(), "{label}: {:#?}", again.failures());
            assert_converged(&sb, &label);
            let (third, s3) = sb
                .run(&one(), PlanOptions::default(), opts(), &NoSink)
                .await
                .unwrap();
            assert!(
                third.succeeded() && s3.created.is_empty() && s3.changed.is_empty(),
                "{label}: third run {s3:#?}"
            );
        }
    }
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_or_reported_with_what_to_do() {
    // Two 429s and a 503 on ARM: the pipeline retries (on the manual clock) and the run completes.
    let (_dir, sb) = sandbox().await;
    sb.cloud.faults().inject(
        FaultMatch::path("/resourceGroups/").method("PUT"),
        Fault::throttle(7),
        2,
    );
    sb.cloud.faults().inject(
        FaultMatch::path("/resourceGroups/").method("GET"),
        Fault::server_error(503),
        1,
    );
    let (report, _) = sb
        .run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    assert!(report.succeeded(), "{:#?}", report.failures());
    assert_eq!(sb.cloud.faults().fired().len(), 3);
    assert_converged(&sb, "retried");

    // More 503s than the retries: the run stops at the resource group, names it and what to do; the
    // steps that do not depend on it still ran; a re-run completes.
    let (_dir, sb) = sandbox().await;
    sb.cloud.faults().inject(
        FaultMatch::path("/resourceGroups/"),
        Fault::server_error(503),
        50,
    );
    let (report, summary) = sb
        .run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    assert!(!report.succeeded());
    let failure = &summary.failed[0];
    assert_eq!(failure.step, "resource-group/rg-flux-sandbox");
    assert!(
        failure.resource.contains("/resourceGroups/rg-flux-sandbox"),
        "{failure:?}"
    );
    assert!(
        failure.error.contains("503") || failure.error.to_lowercase().contains("internal"),
        "{failure:?}"
    );
    assert!(
        failure.todo.contains("run `cargo xtask bootstrap` again"),
        "{failure:?}"
    );
    // The repository side does not depend on Azure: it ran; the cluster side waits for the cluster.
    assert!(matches!(
        report.step(&ids::components_commit()).unwrap().status,
        StepStatus::Done(_)
    ));
    assert!(matches!(
        report.step(&ids::health(SANDBOX_CLUSTER)).unwrap().status,
        StepStatus::Skipped(_)
    ));
    sb.cloud.faults().clear();
    let (again, _) = sb
        .run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    assert!(again.succeeded(), "{:#?}", again.failures());
    assert_converged(&sb, "after 503s");

    // The Kubernetes API throttles an apply: the step fails naming the object; the dependants do not run;
    // a re-run completes.
    let (_dir, sb) = sandbox().await;
    sb.cloud.faults().inject(
        FaultMatch::path("/gitrepositories/").method("PATCH"),
        Fault::throttle(1),
        1,
    );
    let (report, summary) = sb
        .run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    assert!(!report.succeeded());
    assert_eq!(summary.failed[0].step, ids::sync_objects(SANDBOX_CLUSTER));
    assert!(
        summary.failed[0]
            .resource
            .contains("GitRepository flux-system/flux-system"),
        "{:?}",
        summary.failed[0]
    );
    assert!(
        summary.failed[0].error.contains("429"),
        "{:?}",
        summary.failed[0]
    );
    assert!(matches!(
        report.step(&ids::health(SANDBOX_CLUSTER)).unwrap().status,
        StepStatus::Skipped(_)
    ));
    let (again, _) = sb
        .run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    assert!(again.succeeded(), "{:#?}", again.failures());
    assert_converged(&sb, "after kube 429");
}

#[tokio::test]
async fn a_wrong_pat_in_the_cluster_is_reported_by_the_health_step() {
    // The GitRepository cannot authenticate (its Secret holds another PAT): the health step times out
    // (on the manual clock) with the source's reason.
    let (_dir, sb) = sandbox().await;
    let cluster = SANDBOX_CLUSTER;
    let config = sb.config(&one());
    let wrong = xtask::bootstrap::Secrets {
        git_pat: Some("not-the-pat".to_owned().into()),
        sops_client_secret: None,
    };
    let mut inputs = sb.inputs(&one());
    inputs.sandbox = true;
    let plan = PlanOptions {
        health_poll: Duration::from_secs(5),
        health_timeout: Duration::from_secs(60),
    };
    let (report, summary) =
        xtask::bootstrap::run_plan(&config, &wrong, &inputs, &plan, opts(), &NoSink)
            .await
            .unwrap();
    assert!(!report.succeeded());
    assert_eq!(summary.failed[0].step, ids::health(cluster));
    assert!(
        summary.failed[0].error.contains("authentication required"),
        "{:?}",
        summary.failed[0]
    );
    assert!(!summary.failed[0].error.contains("not-the-pat"));
}

#[tokio::test]
async fn a_fleet_shares_the_resource_group_the_repository_and_one_token_per_scope() {
    let (_dir, sb) = sandbox().await;
    let names: Vec<String> = (1..=5).map(|i| format!("fleet-{i}")).collect();
    let (report, summary) = sb
        .run(
            &names,
            PlanOptions::default(),
            ExecutorOptions {
                concurrency: 4,
                ..opts()
            },
            &NoSink,
        )
        .await
        .unwrap();
    assert!(report.succeeded(), "{:#?}", report.failures());
    assert_eq!(sb.groups.ids().len(), 1);
    assert_eq!(sb.cloud.request_count("resourcegroups.put"), 1);
    // Two commits for the whole fleet.
    let history = commits(&sb.repo_dir());
    assert_eq!(history.len(), 4);
    let head = &history[0].2;
    for n in &names {
        assert!(
            head.contains_key(&format!("clusters/{n}/flux-system/gotk-sync.yaml")),
            "{n}"
        );
        assert_eq!(sb.kube.objects(n).len(), expected_objects(&sb), "{n}");
        let ks = sb
            .kube
            .object(n, "Kustomization", Some("flux-system"), "flux-system")
            .unwrap();
        assert_eq!(ks.object["spec"]["path"], format!("./clusters/{n}"));
    }
    assert_eq!(
        summary.repository.revision,
        Some(format!("main@sha1:{}", history[0].0))
    );
    let arm_tokens = sb
        .services()
        .credential
        .token_requests("https://management.azure.com/.default");
    assert_eq!(
        arm_tokens,
        1,
        "{:?}",
        sb.services().credential.token_requests_by_scope()
    );
    let (again, s2) = sb
        .run(&names, PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    assert!(again.succeeded() && s2.created.is_empty() && s2.changed.is_empty());
    assert_eq!(commits(&sb.repo_dir()).len(), 4);
}

/// A `MakeWriter` collecting every log line.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Runs `trace_logs_child` in a process of its own, where its subscriber can be the global one (so that
/// every thread's logs — tokio workers, libgit2's blocking threads — are captured and no other test's
/// subscriber interferes).
#[test]
fn trace_logs_of_a_whole_run_hold_no_secret() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "bootstrap::trace_logs_child",
            "--include-ignored",
            "--nocapture",
        ])
        .env("AZFLUX_TRACE_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[tokio::test]
#[ignore = "run in its own process by trace_logs_of_a_whole_run_hold_no_secret"]
async fn trace_logs_child() {
    if std::env::var_os("AZFLUX_TRACE_CHILD").is_none() {
        return;
    }
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(capture.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .expect("the only subscriber of this process");
    let (_dir, sb) = sandbox().await;
    let (report, _) = sb
        .run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    assert!(report.succeeded());
    // With a SOPS service principal: its client secret goes into the sops-azure Secret.
    let sops_secret = "sops-sp-s3cret-in-trace-test";
    let mut sp_config = sb.config(&one());
    sp_config.sops.as_mut().unwrap().auth = xtask::bootstrap::config::SopsAuth::ClientSecret {
        client_id: "5e6f0000-0000-4000-8000-00000000a55a".into(),
    };
    let mut sp_secrets = sb.secrets();
    sp_secrets.sops_client_secret = Some(sops_secret.to_owned().into());
    let (report, _) = xtask::bootstrap::run_plan(
        &sp_config,
        &sp_secrets,
        &sb.inputs(&one()),
        &PlanOptions::default(),
        opts(),
        &NoSink,
    )
    .await
    .unwrap();
    assert!(report.succeeded(), "{:#?}", report.failures());
    // A failing run too (errors are logged).
    sb.cloud.faults().inject(
        FaultMatch::path("/resourceGroups/"),
        Fault::server_error(500),
        50,
    );
    sb.run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("step"), "the capture saw no bootstrap log");
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "no trace/debug lines were captured"
    );
    let kube_token = sb.kubeconfig(SANDBOX_CLUSTER).token.unwrap();
    for (what, secret) in [
        ("PAT", sb.pat().expose_secret().to_owned()),
        (
            "client secret",
            sb.cloud.sandbox().client_secret.expose_secret().to_owned(),
        ),
        ("kube token", kube_token.expose_secret().to_owned()),
        ("SOPS client secret", sops_secret.to_owned()),
    ] {
        assert!(!logs.contains(&secret), "the logs contain the {what}");
    }
    assert!(!logs.contains("eyJ"), "the logs contain a JWT");
}

#[test]
fn the_binary_runs_the_sandbox_and_prints_json_events() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["bootstrap", "--output", "json", "--workdir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["event"], "plan");
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["ok"], true);
    let finished: Vec<&Value> = events.iter().filter(|e| e["event"] == "finished").collect();
    assert_eq!(finished.len(), events[0]["steps"].as_array().unwrap().len());
    for e in &finished {
        for field in ["step", "resource", "change", "detail", "elapsed_ms"] {
            assert!(e.get(field).is_some(), "{field} missing in {e}");
        }
    }
    let repo = Path::new(summary["repository"]["local_dir"].as_str().unwrap());
    let history = commits(repo);
    assert_eq!(history.len(), 4);
    assert!(
        history[0]
            .2
            .contains_key("clusters/sandbox/flux-system/gotk-sync.yaml")
    );
    // The state file for people: the resource group, the objects, Secret values redacted.
    let state: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("state.json")).unwrap()).unwrap();
    assert_eq!(state["resource_groups"].as_array().unwrap().len(), 1);
    let objects = state["clusters"]["sandbox"].as_array().unwrap();
    let secret = objects.iter().find(|o| o["kind"] == "Secret").unwrap();
    assert_eq!(secret["data"]["password"], "<redacted>");
    assert_no_secret_committed(repo, &[]);
}

#[test]
fn the_binary_reports_a_crash_and_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "bootstrap",
            "--fail-at",
            "sandbox/flux-components:after",
            "--workdir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!out.status.success());
    assert!(
        stdout.contains("✘ sandbox/flux-components failed"),
        "{stdout}"
    );
    assert!(stdout.contains("what to do:"), "{stdout}");
    assert!(stdout.contains("bootstrap stopped"), "{stdout}");
}

#[tokio::test]
async fn outcome_changes_are_reported_per_step() {
    // Changing the PAT (rotation) changes only the Secret.
    let (_dir, sb) = sandbox().await;
    sb.run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    let config = sb.config(&one());
    let rotated = xtask::bootstrap::Secrets {
        git_pat: Some("rotated-pat".to_owned().into()),
        sops_client_secret: None,
    };
    let (report, _) = xtask::bootstrap::run_plan(
        &config,
        &rotated,
        &sb.inputs(&one()),
        &PlanOptions {
            health_poll: Duration::from_secs(5),
            health_timeout: Duration::from_secs(20),
        },
        opts(),
        &NoSink,
    )
    .await
    .unwrap();
    let change = |id: &str| match &report.step(id).unwrap().status {
        StepStatus::Done(o) => Some(o.change),
        _ => None,
    };
    assert_eq!(
        change(&ids::git_secret(SANDBOX_CLUSTER)),
        Some(Change::Changed)
    );
    assert_eq!(
        change(&ids::sync_objects(SANDBOX_CLUSTER)),
        Some(Change::Unchanged)
    );
    assert_eq!(
        change(&ids::components(SANDBOX_CLUSTER)),
        Some(Change::Unchanged)
    );
    let secret = object(&sb, "Secret", Some("flux-system"), "flux-system");
    assert_eq!(secret.generation, 2);
    assert_eq!(decode(&secret.object["data"]["password"]), "rotated-pat");
}

#[test]
fn the_binary_bootstraps_a_fleet_file_on_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.toml");
    std::fs::write(
        &fleet,
        "[[cluster]]\nname = \"eu-1\"\n\n[[cluster]]\nname = \"us-1\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "bootstrap",
            "--output",
            "json",
            "--concurrency",
            "4",
            "--fleet",
        ])
        .arg(&fleet)
        .arg("--workdir")
        .arg(dir.path().join("work"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let clusters: Vec<&str> = summary["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(clusters, ["eu-1", "us-1"]);
    let repo = Path::new(summary["repository"]["local_dir"].as_str().unwrap());
    let head = &commits(repo)[0].2;
    for c in clusters {
        assert!(
            head.contains_key(&format!("clusters/{c}/flux-system/gotk-sync.yaml")),
            "{c}"
        );
    }
}

#[test]
fn kubeconfigs_are_parsed_and_their_secrets_redacted() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: aks\nclusters:\n- name: aks\n  cluster:\n    server: https://aks-dns.hcp.westeurope.azmk8s.io:443\n    certificate-authority-data: {}\ncontexts:\n- name: aks\n  context:\n    cluster: aks\n    user: clusterUser\nusers:\n- name: clusterUser\n  user:\n    token: very-secret-token\n",
        b64("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    );
    let kc = xtask::bootstrap::kube::Kubeconfig::parse(&text, None).unwrap();
    assert_eq!(kc.server, "https://aks-dns.hcp.westeurope.azmk8s.io:443");
    assert_eq!(
        kc.token.as_ref().unwrap().expose_secret(),
        "very-secret-token"
    );
    assert!(
        kc.ca_pem
            .as_deref()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert!(!format!("{kc:?}").contains("very-secret-token"));
    let err = xtask::bootstrap::kube::Kubeconfig::parse(&text, Some("other")).unwrap_err();
    assert!(err.to_string().contains("has no context 'other'"), "{err}");
    // kubelogin (Entra ID) is understood: azflux requests its token itself; other plugins are refused.
    let exec = text.replace(
        "    token: very-secret-token\n",
        "    exec:\n      command: kubelogin\n",
    );
    let kc = xtask::bootstrap::kube::Kubeconfig::parse(&exec, None).unwrap();
    assert_eq!(
        kc.entra_scope().as_deref(),
        Some("6dae42f8-4368-4678-94ff-3960e28e3630/.default")
    );
    let other = text.replace(
        "    token: very-secret-token\n",
        "    exec:\n      command: /usr/bin/gke-gcloud-auth-plugin\n",
    );
    let err = xtask::bootstrap::kube::Kubeconfig::parse(&other, None).unwrap_err();
    assert!(
        err.to_string()
            .contains("exec credential plugin 'gke-gcloud-auth-plugin'"),
        "{err}"
    );
    // Object paths as the API server lays them out.
    use xtask::bootstrap::kube::ObjectRef;
    assert_eq!(
        ObjectRef::new("v1", "Namespace", None, "flux-system").path(),
        "/api/v1/namespaces/flux-system"
    );
    assert_eq!(
        ObjectRef::new(
            "networking.k8s.io/v1",
            "NetworkPolicy",
            Some("flux-system"),
            "allow-egress"
        )
        .path(),
        "/apis/networking.k8s.io/v1/namespaces/flux-system/networkpolicies/allow-egress"
    );
}

#[tokio::test]
async fn a_release_whose_chart_is_not_in_acr_stops_before_it_is_committed() {
    let (_dir, sb) = sandbox().await;
    let mut config = sb.config(&one());
    config.helm.releases[0].version = "9.*".into();
    let (report, summary) = xtask::bootstrap::run_plan(
        &config,
        &sb.secrets(),
        &sb.inputs(&one()),
        &PlanOptions::default(),
        opts(),
        &NoSink,
    )
    .await
    .unwrap();
    assert!(!report.succeeded());
    let failure = &summary.failed[0];
    assert_eq!(failure.step, "acr/chart/podinfo");
    assert!(
        failure
            .resource
            .contains("azfluxsandbox.azurecr.io/charts/podinfo"),
        "{failure:?}"
    );
    assert!(failure.todo.contains("helm push"), "{failure:?}");
    assert!(matches!(
        report.step(&ids::extras_commit()).unwrap().status,
        StepStatus::Skipped(_)
    ));
    // Everything that does not need the chart converged.
    assert!(matches!(
        report
            .step(&ids::sync_objects(SANDBOX_CLUSTER))
            .unwrap()
            .status,
        StepStatus::Done(_)
    ));
    assert_eq!(commits(&sb.repo_dir()).len(), 2);
}

#[tokio::test]
async fn the_sops_azure_secret_is_applied_never_committed_and_the_kustomization_uses_it() {
    use xtask::bootstrap::config::SopsAuth;
    let (_dir, sb) = sandbox().await;
    let mut config = sb.config(&one());
    let client_id = "5e6f0000-0000-4000-8000-00000000a55a";
    config.sops.as_mut().unwrap().auth = SopsAuth::ClientSecret {
        client_id: client_id.into(),
    };
    let sp_secret = "sops-sp-s3cret-do-not-commit";
    let mut secrets = sb.secrets();
    secrets.sops_client_secret = Some(sp_secret.to_owned().into());
    let run = |config: xtask::bootstrap::BootstrapConfig, secrets: xtask::bootstrap::Secrets| {
        let inputs = sb.inputs(&one());
        async move {
            xtask::bootstrap::run_plan(
                &config,
                &secrets,
                &inputs,
                &PlanOptions::default(),
                opts(),
                &NoSink,
            )
            .await
            .unwrap()
        }
    };
    let (report, _) = run(config.clone(), secrets.clone()).await;
    assert!(report.succeeded(), "{:#?}", report.failures());
    assert!(matches!(
        report
            .step(&ids::sops_secret(SANDBOX_CLUSTER))
            .unwrap()
            .status,
        StepStatus::Done(_)
    ));

    // The Secret as kustomize-controller reads it: sops.azure-kv with the service principal.
    let secret = object(&sb, "Secret", Some("flux-system"), "sops-azure").object;
    let kv =
        flux_objects::yaml::parse_documents(&decode(&secret["data"]["sops.azure-kv"])).unwrap();
    assert_eq!(kv.len(), 1);
    assert_eq!(
        kv[0]["tenantId"],
        config.tenant_id.clone().unwrap().as_str()
    );
    assert_eq!(kv[0]["clientId"], client_id);
    assert_eq!(kv[0]["clientSecret"], sp_secret);
    // The applied Kustomization and the committed patch point at it.
    let ks = object(&sb, "Kustomization", Some("flux-system"), "flux-system").object;
    assert_eq!(ks["spec"]["decryption"]["provider"], "sops");
    assert_eq!(ks["spec"]["decryption"]["secretRef"]["name"], "sops-azure");
    let head = &commits(&sb.repo_dir())[0].2;
    let kustomization =
        String::from_utf8_lossy(&head["clusters/sandbox/flux-system/kustomization.yaml"]);
    assert!(
        kustomization.contains("secretRef:") && kustomization.contains("name: sops-azure"),
        "{kustomization}"
    );
    // Never committed.
    assert_no_secret_committed(&sb.repo_dir(), &[sp_secret, sb.pat().expose_secret()]);

    // Idempotent.
    let (again, summary) = run(config.clone(), secrets.clone()).await;
    assert!(again.succeeded(), "{:#?}", again.failures());
    assert!(
        summary.created.is_empty() && summary.changed.is_empty(),
        "{summary:#?}"
    );
    assert_eq!(
        object(&sb, "Secret", Some("flux-system"), "sops-azure").writes,
        1
    );

    // A managed identity: the Secret holds its client id only.
    config.sops.as_mut().unwrap().auth = SopsAuth::ManagedIdentity {
        client_id: client_id.into(),
    };
    let (third, _) = run(config.clone(), sb.secrets()).await;
    assert!(third.succeeded(), "{:#?}", third.failures());
    let secret = object(&sb, "Secret", Some("flux-system"), "sops-azure").object;
    let kv =
        flux_objects::yaml::parse_documents(&decode(&secret["data"]["sops.azure-kv"])).unwrap();
    assert_eq!(kv[0]["clientId"], client_id);
    assert!(kv[0].get("clientSecret").is_none(), "{}", kv[0]);
}

#[tokio::test]
async fn workload_identity_sops_is_refused_for_a_cluster_given_by_kubeconfig() {
    let (dir, sb) = sandbox().await;
    let mut config = sb.config(&one());
    config.clusters[0].kubeconfig = Some(dir.path().join("given.kubeconfig"));
    let err = build_plan(
        &config,
        &sb.secrets(),
        sb.services(),
        &PlanOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("sops.auth") && err.contains("AZFLUX_SOPS_CLIENT_SECRET"),
        "{err}"
    );
    // With a managed identity's client id the plan applies the Secret to that cluster.
    config.sops.as_mut().unwrap().auth = xtask::bootstrap::config::SopsAuth::ManagedIdentity {
        client_id: "5e6f0000-0000-4000-8000-00000000a55a".into(),
    };
    let plan = build_plan(
        &config,
        &sb.secrets(),
        sb.services(),
        &PlanOptions::default(),
    )
    .unwrap();
    assert!(plan.get(&ids::sops_secret(SANDBOX_CLUSTER)).is_some());
    assert!(plan.ids().iter().all(|id| !id.contains("aks-cluster")));
}

#[tokio::test]
async fn ssh_auth_applies_the_key_pair_written_0600_and_flux_reconciles_over_ssh() {
    use std::os::unix::fs::PermissionsExt as _;
    let (dir, sb) = sandbox().await;
    let mut config = sb.config(&one());
    config.git.auth = xtask::bootstrap::GitAuth::Ssh;
    // The sandbox's git server speaks HTTP only: the push stays HTTPS, Flux reconciles over SSH.
    let run = |config: xtask::bootstrap::BootstrapConfig| {
        let (secrets, inputs) = (sb.secrets(), sb.inputs(&one()));
        async move {
            xtask::bootstrap::run_plan(
                &config,
                &secrets,
                &inputs,
                &PlanOptions::default(),
                opts(),
                &NoSink,
            )
            .await
            .unwrap()
        }
    };
    let (report, _) = run(config.clone()).await;
    assert!(report.succeeded(), "{:#?}", report.failures());

    // The key pair under the work dir, 0600.
    let identity = xtask::bootstrap::ssh_key::default_path(dir.path());
    let public = xtask::bootstrap::ssh_key::public_path(&identity);
    for f in [&identity, &public] {
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
    }
    let public_line = std::fs::read_to_string(&public).unwrap();
    let private_pem = std::fs::read_to_string(&identity).unwrap();
    assert!(private_pem.contains("PRIVATE KEY-----"));

    // The flux-system Secret holds that pair and the server's host key; the GitRepository uses SSH.
    let secret = object(&sb, "Secret", Some("flux-system"), "flux-system").object;
    assert_eq!(decode(&secret["data"]["identity"]), private_pem);
    assert_eq!(decode(&secret["data"]["identity.pub"]), public_line);
    let port = sb
        .repo_url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    assert!(
        decode(&secret["data"]["known_hosts"])
            .starts_with(&format!("[127.0.0.1]:{port} ecdsa-sha2-nistp256 ")),
        "{}",
        decode(&secret["data"]["known_hosts"])
    );
    assert!(secret["data"].get("password").is_none());
    let git = object(&sb, "GitRepository", Some("flux-system"), "flux-system").object;
    let ssh_url = sb.repo_url.replacen("http://", "ssh://git@", 1);
    assert_eq!(git["spec"]["url"], ssh_url.as_str());
    assert_eq!(git["spec"]["secretRef"]["name"], "flux-system");
    let sync = String::from_utf8_lossy(
        &commits(&sb.repo_dir())[0].2["clusters/sandbox/flux-system/gotk-sync.yaml"],
    )
    .to_string();
    assert!(sync.contains(&format!("url: {ssh_url}")), "{sync}");
    // The health step passed: the fake source-controller authenticated with the registered key.
    assert!(matches!(
        report.step(&ids::health(SANDBOX_CLUSTER)).unwrap().status,
        StepStatus::Done(_)
    ));
    assert_no_secret_committed(
        &sb.repo_dir(),
        &[private_pem.trim(), sb.pat().expose_secret()],
    );

    // A re-run keeps the key and changes nothing.
    let (again, summary) = run(config.clone()).await;
    assert!(again.succeeded(), "{:#?}", again.failures());
    assert!(
        summary.created.is_empty() && summary.changed.is_empty(),
        "{summary:#?}"
    );
    assert_eq!(std::fs::read_to_string(&public).unwrap(), public_line);
}

#[tokio::test]
async fn a_restarted_sandbox_loads_its_ssh_key_and_an_unregistered_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = Sandbox::start(SandboxOptions::new(dir.path().to_path_buf()))
        .await
        .unwrap();
    let public = xtask::bootstrap::ssh_key::public_path(&xtask::bootstrap::ssh_key::default_path(
        dir.path(),
    ));
    let line = std::fs::read_to_string(&public).unwrap();
    drop(first);
    let _again = Sandbox::start(SandboxOptions::new(dir.path().to_path_buf()))
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&public).unwrap(), line);

    // load_or_generate: generated once (0600), then loaded; a missing .pub is named.
    let other = dir.path().join("keys/flux");
    let (made, origin) =
        xtask::bootstrap::ssh_key::load_or_generate(&other, devops_git::SshKeyAlgorithm::EcdsaP256)
            .unwrap();
    assert_eq!(origin, xtask::bootstrap::ssh_key::KeyOrigin::Generated);
    let (loaded, origin) =
        xtask::bootstrap::ssh_key::load_or_generate(&other, devops_git::SshKeyAlgorithm::EcdsaP256)
            .unwrap();
    assert_eq!(origin, xtask::bootstrap::ssh_key::KeyOrigin::Loaded);
    assert_eq!(loaded.public_key_line(), made.public_key_line());
    std::fs::remove_file(xtask::bootstrap::ssh_key::public_path(&other)).unwrap();
    let err =
        xtask::bootstrap::ssh_key::load_or_generate(&other, devops_git::SshKeyAlgorithm::EcdsaP256)
            .unwrap_err()
            .to_string();
    assert!(err.contains("flux.pub"), "{err}");

    // The fake source-controller refuses a key the server does not know.
    let (_dir, sb) = sandbox().await;
    let stranger =
        devops_git::SshKeyPair::generate(devops_git::SshKeyAlgorithm::EcdsaP256).unwrap();
    let url = sb.repo_url.replacen("http://", "ssh://git@", 1);
    let data: BTreeMap<String, String> = [
        (
            "identity".to_owned(),
            "-----BEGIN PRIVATE KEY-----".to_owned(),
        ),
        (
            "identity.pub".to_owned(),
            stranger.public_key_line().to_owned(),
        ),
        ("known_hosts".to_owned(), String::new()),
    ]
    .into_iter()
    .collect();
    let err = sb.git.resolve(&url, "main", Some(&data)).unwrap_err();
    assert!(err.contains("unable to authenticate"), "{err}");
}

#[test]
fn a_kubeconfig_that_fails_to_parse_never_shows_its_credentials() {
    let good = "apiVersion: v1\nkind: Config\ncurrent-context: aks\nclusters:\n- name: aks\n  cluster:\n    server: https://aks.example:443\ncontexts:\n- name: aks\n  context:\n    cluster: aks\n    user: u\nusers:\n- name: u\n  user:\n    token: very-secret-token\n    client-key-data: c2VjcmV0LWtleS1kYXRh\n";
    for broken in [
        // A type error next to the token.
        good.replace(
            "    token: very-secret-token\n",
            "    token: very-secret-token\n    exec: [\n",
        ),
        good.replace("cluster: aks\n    user: u", "cluster: [aks]\n    user: u"),
        // A type error on the token itself.
        good.replace("token: very-secret-token", "token: [very-secret-token]"),
        // Not YAML at all.
        format!("{good}\n  : : - {{"),
    ] {
        let err = xtask::bootstrap::kube::Kubeconfig::parse(&broken, None).unwrap_err();
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(shown.contains("not a valid kubeconfig"), "{shown}");
            assert!(!shown.contains("very-secret-token"), "leaked: {shown}");
            assert!(!shown.contains("c2VjcmV0LWtleS1kYXRh"), "leaked: {shown}");
        }
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                todo.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    out
}

#[tokio::test]
async fn work_dir_files_holding_a_secret_are_0600() {
    use std::os::unix::fs::PermissionsExt as _;
    let (dir, sb) = sandbox().await;
    let (report, _) = sb
        .run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    assert!(report.succeeded(), "{:#?}", report.failures());
    sb.write_state().unwrap();
    let key = std::fs::read_to_string(xtask::bootstrap::ssh_key::default_path(dir.path())).unwrap();
    let secrets = [
        ("PAT", sb.pat().expose_secret().to_owned()),
        (
            "client secret",
            sb.cloud.sandbox().client_secret.expose_secret().to_owned(),
        ),
        (
            "kube token",
            sb.kubeconfig(SANDBOX_CLUSTER)
                .token
                .unwrap()
                .expose_secret()
                .to_owned(),
        ),
        ("SSH private key", key.trim().to_owned()),
    ];
    let files = files_under(dir.path());
    assert!(files.len() > 3, "{files:?}");
    let mut holding = 0;
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for (what, secret) in &secrets {
            if text.contains(secret.as_str()) {
                holding += 1;
                let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{} holds the {what}", f.display());
            }
        }
    }
    // At least the SSH key file was seen (the scan looks at the right place).
    assert!(holding >= 1);
}

#[tokio::test]
async fn progress_events_and_the_summary_hold_no_secret() {
    let (dir, sb) = sandbox().await;
    let sops_secret = "sops-sp-s3cret-in-events-test";
    let mut config = sb.config(&one());
    config.sops.as_mut().unwrap().auth = xtask::bootstrap::config::SopsAuth::ClientSecret {
        client_id: "5e6f0000-0000-4000-8000-00000000a55a".into(),
    };
    let mut secrets = sb.secrets();
    secrets.sops_client_secret = Some(sops_secret.to_owned().into());
    let recorder = Recorder::default();
    let (inputs, plan) = (sb.inputs(&one()), PlanOptions::default());
    let run = || xtask::bootstrap::run_plan(&config, &secrets, &inputs, &plan, opts(), &recorder);
    let (report, ok_summary) = run().await.unwrap();
    assert!(report.succeeded(), "{:#?}", report.failures());
    // A failing run too: its errors go into the events and the summary.
    sb.cloud.faults().inject(
        FaultMatch::path("/resourceGroups/"),
        Fault::server_error(500),
        50,
    );
    let (report, failed_summary) = run().await.unwrap();
    assert!(!report.succeeded());
    let events = recorder.events();
    assert!(events.iter().any(|e| matches!(e, Event::Failed { .. })));
    let shown = format!(
        "{}\n{events:?}\n{}\n{ok_summary:?}\n{}\n{failed_summary:?}",
        events
            .iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect::<Vec<_>>()
            .join("\n"),
        serde_json::to_string(&ok_summary).unwrap(),
        serde_json::to_string(&failed_summary).unwrap(),
    );
    let key = std::fs::read_to_string(xtask::bootstrap::ssh_key::default_path(dir.path())).unwrap();
    for (what, secret) in [
        ("PAT", sb.pat().expose_secret().to_owned()),
        (
            "client secret",
            sb.cloud.sandbox().client_secret.expose_secret().to_owned(),
        ),
        (
            "kube token",
            sb.kubeconfig(SANDBOX_CLUSTER)
                .token
                .unwrap()
                .expose_secret()
                .to_owned(),
        ),
        ("SOPS client secret", sops_secret.to_owned()),
        ("SSH private key", key.trim().to_owned()),
    ] {
        assert!(
            !shown.contains(&secret),
            "the events or summary show the {what}"
        );
    }
}

#[tokio::test]
async fn existing_resources_are_used_as_they_are_and_what_is_wrong_for_flux_is_a_warning() {
    use xtask::bootstrap::sandbox::{SANDBOX_KEY_VAULT, SANDBOX_REGISTRY};
    let (_dir, sb) = sandbox().await;
    let sub = sb.cloud.sandbox().subscription_id.clone();
    // A vault in access-policy mode and an ABAC registry, made by someone else.
    sb.key_vault
        .add_arm_vault(&sub, SANDBOX_RESOURCE_GROUP, SANDBOX_KEY_VAULT, false);
    sb.acr.add_arm_registry(
        &sub,
        SANDBOX_RESOURCE_GROUP,
        SANDBOX_REGISTRY,
        Some("AbacRepositoryPermissions"),
    );
    let (report, _) = sb
        .run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    assert!(report.succeeded(), "{:#?}", report.failures());
    let outcome = |id: &str| match &report.step(id).unwrap().status {
        StepStatus::Done(o) => o.clone(),
        other => panic!("{id}: {other:?}"),
    };
    let vault = outcome(&format!("azure/key-vault/{SANDBOX_KEY_VAULT}"));
    assert_eq!(vault.change, Change::Unchanged);
    assert!(
        vault.detail.contains("warning") && vault.detail.contains("Key Vault Crypto User"),
        "{}",
        vault.detail
    );
    let registry = outcome(&format!("azure/container-registry/{SANDBOX_REGISTRY}"));
    assert_eq!(registry.change, Change::Unchanged);
    assert!(
        registry
            .detail
            .contains("Container Registry Repository Reader"),
        "{}",
        registry.detail
    );
    // Nothing was written to them, and the caller got no role on an access-policy vault.
    assert_eq!(sb.cloud.request_count("keyvault.arm.vault.put"), 0);
    assert_eq!(sb.cloud.request_count("acr.arm.registry.put"), 0);
    let access = outcome("sops/caller-key-access");
    assert_eq!(access.change, Change::Unchanged);
    assert!(
        access.detail.contains("access policies"),
        "{}",
        access.detail
    );
    assert_eq!(sb.aks.role_assignments().len(), 3);
}

#[tokio::test]
async fn without_a_configured_tenant_the_vault_is_created_in_the_callers_tenant() {
    let (_dir, sb) = sandbox().await;
    let mut config = sb.config(&one());
    config.tenant_id = None;
    let (report, _) = xtask::bootstrap::run_plan(
        &config,
        &sb.secrets(),
        &sb.inputs(&one()),
        &PlanOptions::default(),
        opts(),
        &NoSink,
    )
    .await
    .unwrap();
    assert!(report.succeeded(), "{:#?}", report.failures());
    let vault = sb
        .key_vault
        .arm_vault(xtask::bootstrap::sandbox::SANDBOX_KEY_VAULT)
        .unwrap();
    assert_eq!(
        vault["properties"]["tenantId"],
        sb.cloud.sandbox().tenant_id.as_str()
    );
}

#[tokio::test]
async fn the_sops_key_waits_for_the_callers_new_role_to_propagate() {
    use xtask::bootstrap::sandbox::SANDBOX_KEY_VAULT;
    let (_dir, sb) = sandbox().await;
    // Everything up to the key first (the cluster's long-running create moves the clock on), so that the
    // propagation below starts right before the key step.
    let crash = ExecutorOptions {
        fail_at: Some(FailAt {
            step: "sops/key-vault-key".into(),
            point: FailPoint::Before,
        }),
        ..opts()
    };
    let (first, _) = sb
        .run(&one(), PlanOptions::default(), crash, &NoSink)
        .await
        .unwrap();
    assert!(!first.succeeded());
    let oid = sb.cloud.sandbox().object_id.clone();
    // The caller's Key Vault Crypto Officer takes 45 s to take effect, as role assignments do in Azure.
    sb.key_vault.revoke(SANDBOX_KEY_VAULT, &oid);
    sb.key_vault
        .grant_after(SANDBOX_KEY_VAULT, &oid, Duration::from_secs(45));
    let (report, _) = sb
        .run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    assert!(report.succeeded(), "{:#?}", report.failures());
    assert_eq!(sb.key_vault.versions(SANDBOX_KEY_VAULT, "sops").len(), 1);
}

#[tokio::test]
async fn a_role_that_never_propagates_stops_the_key_step_after_a_bounded_wait() {
    use xtask::bootstrap::sandbox::SANDBOX_KEY_VAULT;
    use xtask::bootstrap::steps::RBAC_PROPAGATION_WAITS;
    let (_dir, sb) = sandbox().await;
    sb.key_vault
        .revoke(SANDBOX_KEY_VAULT, &sb.cloud.sandbox().object_id);
    let (report, summary) = sb
        .run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    assert!(!report.succeeded());
    assert_eq!(summary.failed.len(), 1, "{summary:#?}");
    assert_eq!(summary.failed[0].step, "sops/key-vault-key");
    let failure = format!("{:?}", report.failures());
    assert!(failure.contains("has not taken effect"), "{failure}");
    // Every wait of the bounded schedule was slept on the clock, in order.
    let sleeps = sb.cloud.manual_clock().unwrap().sleeps();
    let mut expected = RBAC_PROPAGATION_WAITS.iter().peekable();
    for s in &sleeps {
        if expected.peek() == Some(&s) {
            expected.next();
        }
    }
    assert!(expected.peek().is_none(), "{sleeps:?}");
}
