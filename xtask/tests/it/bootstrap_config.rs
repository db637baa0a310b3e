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
    assert_eq!(err.problems[0].line, 2, "{err}");
    let err = parse("azflux.toml", "[azure]\nregion = \"x\"\n", &with_pat()).unwrap_err();
    assert_eq!(err.problems[0].line, 2, "{err}");
    assert!(err.to_string().contains("region"), "{err}");
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
