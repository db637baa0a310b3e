//! The official Python SDKs (azure-mgmt-*, azure-keyvault-keys, azure-identity, azure-devops) through the
//! proxy: the suite in `sdk_suite.py`, one test per service group.

use super::{Proxy, report, venv_bin};

const SUITE: &str = include_str!("sdk_suite.py");

/// Runs the suite's `groups` (after `resources`, which creates the resource group) and checks that at
/// least `at_least` checks ran, all passing.
fn run(groups: &[&str], at_least: usize) {
    let Some(python) = venv_bin("sdk", "python") else {
        return;
    };
    let proxy = Proxy::start();
    let script = proxy.dir.path().join("sdk_suite.py");
    std::fs::write(&script, SUITE).unwrap();
    let out = proxy
        .command(python)
        .arg(&script)
        .arg("resources")
        .args(groups)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    report("python-sdk", &stdout, &stderr, at_least);
    assert!(out.status.success(), "{stdout}\n{stderr}");
}

#[test]
fn resource_groups_and_managed_identities_with_federated_credentials() {
    run(&["msi"], 2 + 4);
}

#[test]
fn aks_cluster_with_the_guides_settings_credentials_upgrade_delete() {
    run(&["containerservice"], 2 + 5);
}

#[test]
fn container_registry_and_an_acr_pull_role_assignment() {
    run(&["containerregistry", "authorization"], 2 + 2 + 1);
}

#[test]
fn key_vault_and_its_keys_encrypt_decrypt_wrap_unwrap() {
    run(&["keyvault"], 2 + 2 + 5);
}

#[test]
fn event_hubs_namespace_hub_rule_and_keys() {
    run(&["eventhub"], 2 + 4);
}

#[test]
fn azure_devops_repositories_pushes_and_refs() {
    run(&["devops"], 2 + 4);
}
