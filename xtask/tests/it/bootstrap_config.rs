//! `azflux.toml` and fleet files: every problem at once, with its line; secrets refused in the file.

use xtask::bootstrap::config::{GitAuth, Secrets, parse, parse_fleet};

fn with_pat() -> Secrets {
    Secrets::from_env(&|k| (k == "AZFLUX_GIT_PAT").then(|| "a-pat".to_owned()))
}

const GOOD: &str = r#"
[azure]
subscription = "00000000-0000-4000-8000-0000000000a1"
resource_group = "rg-flux"
location = "westeurope"

[cluster]
name = "aks-flux"
kubeconfig = "aks.kubeconfig"

[git]
url = "https://dev.azure.com/my-org/my-project/_git/fleet-infra"
auth = "token-auth"

[flux]
version = "v2.7.3"
components_extra = ["image-reflector-controller", "image-automation-controller"]

[helm]
registry = "myregistry"
[[helm.releases]]
name = "podinfo"
chart = "charts/podinfo"
version = "6.*"

[sops]
key_vault = "kv-flux"
key = "sops"
auth = "managed-identity"
client_id = "00000000-0000-4000-8000-00000000c11d"

[notifications]
event_hub_namespace = "ehns-flux"
event_hub = "flux"
"#;

#[test]
fn a_complete_file_parses() {
    let c = parse("azflux.toml", GOOD, &with_pat()).unwrap();
    assert_eq!(c.subscription_id, "00000000-0000-4000-8000-0000000000a1");
    assert_eq!(c.clusters[0].name, "aks-flux");
    assert_eq!(c.clusters[0].resource_group, "rg-flux");
    assert_eq!(c.git.auth, GitAuth::TokenAuth);
    assert_eq!(c.git.branch, "main");
    assert_eq!(c.flux.components_extra.len(), 2);
    assert_eq!(c.helm.releases[0].version, "6.*");
    assert_eq!(c.sops.unwrap().key, "sops");
    assert_eq!(c.notifications.unwrap().hub, "flux");
}

#[test]
fn every_problem_is_reported_at_once_with_its_line() {
    let text = r#"[azure]
subscription = "not-a-guid"
location = "westeurope"

[cluster]
name = "Bad_Name"

[git]
url = "git@ssh.dev.azure.com:v3/org/project/repo"
auth = "password"
interval = "soon"

[flux]
components = ["source-controller", "tofu-controller"]
"#;
    let err = parse("azflux.toml", text, &with_pat()).unwrap_err();
    let got: Vec<(usize, &str)> = err
        .problems
        .iter()
        .map(|p| (p.line, p.key.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "azure.resource_group"),
            (2, "azure.subscription"),
            (6, "cluster.name"),
            (9, "git.url"),
            (10, "git.auth"),
            (11, "git.interval"),
            (14, "flux.components"),
            (14, "flux.components"),
        ],
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("azflux.toml:9: git.url:"), "{text}");
    assert!(
        text.contains("ssh://git@ssh.dev.azure.com/v3/org/project/repo"),
        "{text}"
    );
    assert!(text.contains("kustomize-controller is required"), "{text}");
}

#[test]
fn secrets_in_the_file_are_refused_and_missing_ones_named() {
    let text = GOOD.replace(
        "auth = \"token-auth\"",
        "auth = \"token-auth\"\npat = \"abc\"",
    );
    let err = parse("azflux.toml", &text, &with_pat()).unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].key, "git.pat");
    assert_eq!(err.problems[0].line, 14);
    assert!(err.problems[0].message.contains("AZFLUX_GIT_PAT"));
    assert!(!err.to_string().contains("abc"));

    let err = parse("azflux.toml", GOOD, &Secrets::default()).unwrap_err();
    assert_eq!(err.problems[0].key, "git.auth");
    assert!(
        err.problems[0].message.contains("set AZFLUX_GIT_PAT"),
        "{err}"
    );

    let wi = GOOD.replace("token-auth", "workload-identity");
    assert_eq!(
        parse("azflux.toml", &wi, &Secrets::default())
            .unwrap()
            .git
            .auth,
        GitAuth::WorkloadIdentity
    );
}

#[test]
fn syntax_errors_and_unknown_keys_have_lines() {
    let err = parse("azflux.toml", "[azure]\nsubscription = \n", &with_pat()).unwrap_err();
    let syntax = err.problems.iter().find(|p| p.key == "syntax");
    assert_eq!(syntax.map(|p| p.line), Some(2), "{err}");
    let err = parse("azflux.toml", "[azure]\nregion = \"x\"\n", &with_pat()).unwrap_err();
    let region = err.problems.iter().find(|p| p.key == "azure.region");
    assert_eq!(region.map(|p| p.line), Some(2), "{err}");
    assert!(err.to_string().contains("region"), "{err}");
}

/// An unknown key or a value of the wrong type no longer hides the rest of the file: every structural
/// problem and every value problem is listed, each with its line.
#[test]
fn unknown_keys_and_wrong_types_do_not_hide_the_other_problems() {
    let text = GOOD
        .replace(
            "location = \"westeurope\"\n",
            "location = \"westeurope\"\nregion = \"x\"\n",
        )
        .replace(
            "auth = \"token-auth\"",
            "auth = \"token-auth\"\nbrnach = \"main\"",
        )
        .replace("name = \"aks-flux\"", "name = \"Bad_Name\"")
        .replace("key = \"sops\"", "key = 7")
        .replace("version = \"6.*\"", "version = \"6.*\"\nvalues = { a = 1 }");
    let err = parse("azflux.toml", &text, &with_pat()).unwrap_err();
    let found: Vec<(usize, &str)> = err
        .problems
        .iter()
        .map(|p| (p.line, p.key.as_str()))
        .collect();
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    assert_eq!(
        found,
        [
            (line_of("region"), "azure.region"),
            (line_of("name = \"Bad_Name\""), "cluster.name"),
            (line_of("brnach"), "git.brnach"),
            (line_of("values"), "helm.releases.values"),
            (line_of("key = 7"), "sops.key"),
        ],
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("unknown field `brnach`"), "{text}");
    assert!(
        text.contains("invalid type: integer `7`, expected a string"),
        "{text}"
    );
}

#[test]
fn a_resource_group_with_a_space_and_a_bad_helm_range_are_refused() {
    let text = GOOD
        .replace(
            "resource_group = \"rg-flux\"",
            "resource_group = \"rg flux\"",
        )
        .replace("version = \"6.*\"", "version = \">>6.0.0\"");
    let err = parse("azflux.toml", &text, &with_pat()).unwrap_err();
    let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        ["azure.resource_group", "helm.releases.version"],
        "{err}"
    );
    assert_eq!(err.problems[0].line, 4, "{err}");
    assert!(err.problems[0].message.contains("'rg flux'"), "{err}");
    assert!(err.problems[1].message.contains(">>6.0.0"), "{err}");
    // Helm's other forms stay accepted.
    for ok in [
        "6.0.0",
        ">=6.0.0 <7",
        "~6.1",
        "^6",
        "6.x",
        "6.0 - 6.4",
        ">5 || <2",
    ] {
        let text = GOOD.replace("version = \"6.*\"", &format!("version = \"{ok}\""));
        parse("azflux.toml", &text, &with_pat()).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    // Fleet files check their resource groups too.
    let base = parse("azflux.toml", GOOD, &with_pat()).unwrap();
    let err = parse_fleet(
        "fleet.toml",
        "[[cluster]]\nname = \"a\"\nresource_group = \"rg a\"\n",
        Some(&base),
    )
    .unwrap_err();
    assert_eq!(
        (err.problems[0].line, err.problems[0].key.as_str()),
        (3, "cluster.resource_group"),
        "{err}"
    );
}

#[test]
fn fleet_files_take_defaults_from_the_configuration() {
    let base = parse("azflux.toml", GOOD, &with_pat()).unwrap();
    let fleet = "[[cluster]]\nname = \"eu-1\"\n\n[[cluster]]\nname = \"us-1\"\nresource_group = \"rg-us\"\nlocation = \"eastus\"\n";
    let clusters = parse_fleet("fleet.toml", fleet, Some(&base)).unwrap();
    assert_eq!(clusters.len(), 2);
    assert_eq!(
        (
            clusters[0].resource_group.as_str(),
            clusters[0].location.as_str()
        ),
        ("rg-flux", "westeurope")
    );
    assert_eq!(
        (
            clusters[1].resource_group.as_str(),
            clusters[1].location.as_str()
        ),
        ("rg-us", "eastus")
    );
    let err = parse_fleet(
        "fleet.toml",
        "[[cluster]]\nname = \"a\"\n[[cluster]]\nname = \"a\"\n",
        Some(&base),
    )
    .unwrap_err();
    assert_eq!(err.problems[0].line, 3, "{err}");
}

#[tokio::test]
async fn a_real_configuration_composes_the_whole_plan_without_touching_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let env = |k: &str| match k {
        "AZURE_TENANT_ID" => Some("72f988bf-0000-4000-8000-00000000a2f1".to_owned()),
        "AZURE_CLIENT_ID" => Some("11111111-0000-4000-8000-00000000c1d1".to_owned()),
        "AZURE_CLIENT_SECRET" => Some("not-used".to_owned()),
        "AZFLUX_GIT_PAT" => Some("a-pat".to_owned()),
        "HOME" => Some(dir.path().display().to_string()),
        _ => None,
    };
    let secrets = Secrets::from_env(&env);
    // Without a kubeconfig the cluster is an AKS cluster the plan ensures.
    let managed = GOOD.replace("kubeconfig = \"aks.kubeconfig\"\n", "");
    let config = parse("azflux.toml", &managed, &secrets).unwrap();
    let inputs = xtask::bootstrap::real_inputs(&config, &secrets, &env)
        .await
        .unwrap();
    let plan = xtask::bootstrap::build_plan(
        &config,
        &secrets,
        &inputs.services,
        &xtask::bootstrap::PlanOptions::default(),
    )
    .unwrap();
    let ids = plan.ids();
    for id in [
        "resource-group/rg-flux",
        "aks-flux/aks-cluster",
        "aks-flux/flux-identity",
        "aks-flux/federated-credentials",
        "aks-flux/role/key-vault-crypto-user",
        "aks-flux/role/event-hubs-data-sender",
        "aks-flux/role/acr-pull",
        "sops/key-vault-key",
        "flux-manifests",
        "repository",
        "repo/flux-components",
        "repo/flux-sync",
        "repo/flux-extras",
        "aks-flux/flux-components",
        "aks-flux/flux-git-secret",
        "aks-flux/flux-sync-objects",
        "repository/revision",
        "aks-flux/flux-health",
        "acr/chart/podinfo",
        "aks-flux/sops-azure-secret",
        "azure/key-vault/kv-flux",
        "sops/caller-key-access",
        "azure/container-registry/myregistry",
        "azure/event-hub/ehns-flux/flux",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert_eq!(ids.len(), 24);
    // Each role is assigned after its resource exists; the SOPS key after the vault and the caller's access.
    let after = |dep: &str| plan.transitive_dependants(dep);
    assert!(after("azure/key-vault/kv-flux").contains("aks-flux/role/key-vault-crypto-user"));
    assert!(after("azure/key-vault/kv-flux").contains("sops/key-vault-key"));
    assert!(after("sops/caller-key-access").contains("sops/key-vault-key"));
    assert!(after("azure/container-registry/myregistry").contains("aks-flux/role/acr-pull"));
    assert!(after("azure/container-registry/myregistry").contains("acr/chart/podinfo"));
    assert!(
        after("azure/event-hub/ehns-flux/flux").contains("aks-flux/role/event-hubs-data-sender")
    );
    assert!(after("azure/event-hub/ehns-flux/flux").contains("repo/flux-extras"));
    let critical = plan.transitive_dependants("aks-flux/aks-cluster");
    assert!(critical.contains("aks-flux/flux-health"));
    assert!(critical.contains("aks-flux/federated-credentials"));

    // With a kubeconfig, the cluster is used as it is: no AKS or identity steps.
    let kubeconfig = dir.path().join("aks.kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: t\n",
    )
    .unwrap();
    let given = GOOD.replace("aks.kubeconfig", &kubeconfig.display().to_string());
    let config = parse("azflux.toml", &given, &secrets).unwrap();
    let inputs = xtask::bootstrap::real_inputs(&config, &secrets, &env)
        .await
        .unwrap();
    let plan = xtask::bootstrap::build_plan(
        &config,
        &secrets,
        &inputs.services,
        &xtask::bootstrap::PlanOptions::default(),
    )
    .unwrap();
    assert!(
        !plan
            .ids()
            .iter()
            .any(|id| id.contains("aks-cluster") || id.contains("role/"))
    );
    assert!(
        inputs
            .seeds
            .get("aks-flux", xtask::bootstrap::keys::KUBECONFIG)
            .is_some()
    );
}

#[test]
fn the_binary_lists_every_configuration_problem_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("azflux.toml");
    std::fs::write(&file, "[azure]\nlocation = \"westeurope\"\n[git]\nurl = \"ftp://example.com/x\"\npat = \"s3cr3t\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["bootstrap", "--dry-run", "--config"])
        .arg(&file)
        .env_remove("AZFLUX_GIT_PAT")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "azflux.toml:1: azure.subscription: is required",
        "azflux.toml:1: azure.resource_group: is required",
        "cluster: the [cluster] section is required",
        "azflux.toml:4: git.url:",
        "azflux.toml:5: git.pat: secrets are never read from the configuration file",
    ] {
        assert!(stderr.contains(needle), "{needle}\n{stderr}");
    }
    assert!(!stderr.contains("s3cr3t"), "{stderr}");
}

#[test]
fn sops_auth_modes_name_what_they_need() {
    use xtask::bootstrap::config::SopsAuth;
    let managed = parse("azflux.toml", GOOD, &with_pat()).unwrap();
    assert_eq!(
        managed.sops.unwrap().auth,
        SopsAuth::ManagedIdentity {
            client_id: "00000000-0000-4000-8000-00000000c11d".into()
        }
    );
    // "secret": the client id from the file, the secret from the environment only.
    let secret = GOOD.replace("auth = \"managed-identity\"", "auth = \"secret\"");
    let err = parse("azflux.toml", &secret, &with_pat()).unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].key, "sops.auth");
    assert!(
        err.problems[0]
            .message
            .contains("AZFLUX_SOPS_CLIENT_SECRET"),
        "{err}"
    );
    let env = Secrets::from_env(&|k| match k {
        "AZFLUX_GIT_PAT" => Some("a-pat".to_owned()),
        "AZFLUX_SOPS_CLIENT_SECRET" => Some("sp-secret".to_owned()),
        _ => None,
    });
    assert_eq!(
        parse("azflux.toml", &secret, &env)
            .unwrap()
            .sops
            .unwrap()
            .auth,
        SopsAuth::ClientSecret {
            client_id: "00000000-0000-4000-8000-00000000c11d".into()
        }
    );
    assert!(!format!("{env:?}").contains("sp-secret"));
    let in_file = secret.replace(
        "auth = \"secret\"",
        "auth = \"secret\"\nclient_secret = \"sp-secret\"",
    );
    let err = parse("azflux.toml", &in_file, &env).unwrap_err();
    assert_eq!(err.problems[0].key, "sops.client_secret");
    assert!(!err.to_string().contains("sp-secret"));
    // Both modes need the client id; unknown modes are named.
    let no_id = GOOD.replace("client_id = \"00000000-0000-4000-8000-00000000c11d\"\n", "");
    let err = parse("azflux.toml", &no_id, &with_pat()).unwrap_err();
    assert!(err.problems[0].message.contains("sops.client_id"), "{err}");
    let bad = GOOD.replace("\"managed-identity\"", "\"pgp\"");
    let err = parse("azflux.toml", &bad, &with_pat()).unwrap_err();
    assert!(err.problems[0].message.contains("'pgp'"), "{err}");
}

#[test]
fn image_automation_entries_are_checked() {
    let with = |entry: &str| format!("{GOOD}\n[[image_automation]]\n{entry}\n");
    let ok = parse(
        "azflux.toml",
        &with("name = \"app\"\nimage = \"myacr.azurecr.io/app\"\nsemver = \">=1.0.0\""),
        &with_pat(),
    )
    .unwrap();
    assert_eq!(ok.image_automation.len(), 1);
    assert_eq!(ok.image_automation[0].image, "myacr.azurecr.io/app");
    assert_eq!(ok.image_automation[0].update_path, None);
    let err = parse(
        "azflux.toml",
        &with("name = \"App\"\nimage = \"https://myacr.azurecr.io/app\"\nsemver = \"not a range\""),
        &with_pat(),
    )
    .unwrap_err();
    let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "image_automation.name",
            "image_automation.image",
            "image_automation.semver"
        ],
        "{err}"
    );
    // The image controllers must be installed.
    let without = with("name = \"app\"\nimage = \"myacr.azurecr.io/app\"\nsemver = \"1.x\"").replace(
        "components_extra = [\"image-reflector-controller\", \"image-automation-controller\"]\n",
        "",
    );
    let err = parse("azflux.toml", &without, &with_pat()).unwrap_err();
    assert_eq!(err.problems.len(), 2, "{err}");
    assert!(
        err.problems[0]
            .message
            .contains("image-reflector-controller in flux.components_extra")
    );
}

#[test]
fn ssh_auth_needs_an_ssh_url_and_syncs_over_ssh_dev_azure_com() {
    let ssh = GOOD.replace(
        "auth = \"token-auth\"",
        "auth = \"ssh\"\nssh_key = \"keys/flux\"",
    );
    let err = parse("azflux.toml", &ssh, &Secrets::default()).unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    assert!(
        err.problems[0]
            .message
            .contains("ssh://git@ssh.dev.azure.com/v3/"),
        "{err}"
    );
    let ssh = ssh.replace(
        "https://dev.azure.com/my-org/my-project/_git/fleet-infra",
        "ssh://git@ssh.dev.azure.com/v3/my-org/my-project/fleet-infra",
    );
    // No PAT needed: the push uses the key.
    let config = parse("azflux.toml", &ssh, &Secrets::default()).unwrap();
    assert_eq!(config.git.auth, GitAuth::Ssh);
    assert_eq!(
        config.git.ssh_key.as_deref(),
        Some(std::path::Path::new("keys/flux"))
    );
    let sync = xtask::bootstrap::sync_options(&config, "aks-flux").unwrap();
    assert_eq!(
        sync.url,
        "ssh://git@ssh.dev.azure.com/v3/my-org/my-project/fleet-infra"
    );
    assert_eq!(sync.secret_name.as_deref(), Some("flux-system"));
    // Azure DevOps accepts RSA keys only.
    let repo = devops_git::RepoUrl::parse(&config.git.url).unwrap();
    assert_eq!(
        xtask::bootstrap::ssh_key::algorithm_for(&repo),
        devops_git::SshKeyAlgorithm::Rsa { bits: 4096 }
    );
}

#[test]
fn a_git_url_that_fails_to_parse_never_echoes_its_password() {
    for url in [
        "https://me:s3cret-pat@dev azure.com/o/p/_git/r",
        "https://me:s3cret-pat@dev.azure.com:org/p/_git/r",
        "ftp://me:s3cret-pat@dev.azure.com/o/p/_git/r",
        "https://me:s3cret-pat@dev.azure.com/o/p/_git/r",
    ] {
        let text = GOOD.replace(
            "https://dev.azure.com/my-org/my-project/_git/fleet-infra",
            url,
        );
        let e = parse("azflux.toml", &text, &with_pat()).unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains("git.url"), "{url}: {shown}");
        assert!(!shown.contains("s3cret-pat"), "{url} leaked: {shown}");
        assert!(
            !format!("{e:?}").contains("s3cret-pat"),
            "{url} leaked in Debug"
        );
    }
}

#[test]
fn vault_namespace_and_hub_names_follow_azure_rules_with_their_lines() {
    let text = GOOD
        .replace("key_vault = \"kv-flux\"", "key_vault = \"kv--flux\"")
        .replace(
            "event_hub_namespace = \"ehns-flux\"",
            "event_hub_namespace = \"ehns-sb\"",
        )
        .replace("event_hub = \"flux\"", "event_hub = \"flux/hub\"");
    let err = parse("azflux.toml", &text, &with_pat()).unwrap_err();
    let keys: Vec<(&str, usize)> = err
        .problems
        .iter()
        .map(|p| (p.key.as_str(), p.line))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("sops.key_vault", 27),
            ("notifications.event_hub_namespace", 33),
            ("notifications.event_hub", 34)
        ],
        "{err}"
    );
    assert!(err.to_string().contains("kv--flux"), "{err}");
    assert!(err.to_string().contains("ehns-sb"), "{err}");
}

/// The HelmRepository URL is the registry plus the chart's parent path (not a hard-coded `/helm`), so
/// helm-controller finds `<url>/<chart>` where `chart` says the chart is.
#[test]
fn helm_repository_url_is_the_charts_parent_path() {
    let text = GOOD.replace(
        "version = \"6.*\"\n",
        "version = \"6.*\"\n[[helm.releases]]\nname = \"redis\"\nchart = \"infra/bitnami/redis\"\nversion = \"18.*\"\n[[helm.releases]]\nname = \"podinfo-b\"\nchart = \"charts/podinfo\"\nversion = \"6.*\"\n",
    );
    let mut c = parse("azflux.toml", &text, &with_pat()).unwrap();
    c.sops = None;
    let ctx = xtask::bootstrap::StepContext {
        outputs: Default::default(),
        clock: azflux_core::clock::system_clock(),
    };
    let cloud = azflux_core::Cloud::public();
    let files = xtask::bootstrap::extra_files(&c, &cloud, &ctx).unwrap();
    let helm = String::from_utf8(files["clusters/aks-flux/apps/helm.yaml"].clone()).unwrap();
    let docs: Vec<serde_json::Value> = helm
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_saphyr::from_str(d).unwrap())
        .collect();
    let repos: Vec<(&str, &str)> = docs
        .iter()
        .filter(|d| d["kind"] == "HelmRepository")
        .map(|d| {
            (
                d["metadata"]["name"].as_str().unwrap(),
                d["spec"]["url"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        repos,
        vec![
            ("acr-charts", "oci://myregistry.azurecr.io/charts"),
            ("acr-charts-2", "oci://myregistry.azurecr.io/infra/bitnami"),
        ],
        "{helm}"
    );
    let releases: Vec<(&str, &str, &str)> = docs
        .iter()
        .filter(|d| d["kind"] == "HelmRelease")
        .map(|d| {
            let spec = &d["spec"]["chart"]["spec"];
            (
                d["metadata"]["name"].as_str().unwrap(),
                spec["chart"].as_str().unwrap(),
                spec["sourceRef"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        releases,
        vec![
            ("podinfo", "podinfo", "acr-charts"),
            ("redis", "redis", "acr-charts-2"),
            ("podinfo-b", "podinfo", "acr-charts"),
        ]
    );
}
