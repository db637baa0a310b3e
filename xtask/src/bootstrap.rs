//! `cargo xtask bootstrap`: the end-to-end bootstrap. With no configuration it runs against the embedded
//! fake cloud.
//!
//! Today it runs the steps whose crates have landed — authenticate through the credential chain, ensure the
//! resource group — and lists the guide's remaining steps as not yet available (issue #9 grows this into
//! the full plan and executor).

use crate::credentials::{self, CredentialKind};
use azflux_core::arm::{ArmClient, ArmClientOptions};
use azflux_core::fake::FakeCloud;
use azflux_core::fake::resource_groups::FakeResourceGroups;
use secrecy::ExposeSecret;
use std::time::Instant;

/// The steps of the guide, in order, with whether azflux runs them yet.
pub const STEPS: &[(&str, bool)] = &[
    ("authenticate (credential chain)", true),
    ("resource group", true),
    (
        "AKS cluster with OIDC issuer and workload identity (aks-cluster)",
        false,
    ),
    (
        "identities, federated credentials, role assignments (aks-cluster)",
        false,
    ),
    ("Key Vault key for SOPS (keyvault-sops)", false),
    ("ACR charts (acr-oci)", false),
    ("Event Hub for notifications (eventhub-auth)", false),
    (
        "Azure DevOps repository and Flux manifests (devops-git, flux-objects)",
        false,
    ),
    (
        "cluster side: flux-system, Secrets, sync objects, health",
        false,
    ),
];

/// Runs the sandbox bootstrap: the embedded fake cloud, the sandbox principal.
pub async fn run_sandbox(dry_run: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let cloud = FakeCloud::start().await;
    let groups = FakeResourceGroups::mount(&cloud).await;
    let sandbox = cloud.sandbox().clone();
    let env = |name: &str| match name {
        "AZURE_TENANT_ID" => Some(sandbox.tenant_id.clone()),
        "AZURE_CLIENT_ID" => Some(sandbox.client_id.clone()),
        "AZURE_CLIENT_SECRET" => Some(sandbox.client_secret.expose_secret().to_owned()),
        _ => None,
    };
    let (credential, kind) = credentials::from_env(&env, cloud.client_options())?;
    println!(
        "azflux bootstrap (sandbox: embedded fake cloud, tenant {}, subscription {})",
        sandbox.tenant_id, sandbox.subscription_id
    );
    println!(
        "✔ authenticate: {kind:?} credential for client {}",
        sandbox.client_id
    );
    debug_assert_eq!(kind, CredentialKind::ClientSecret);
    let arm = ArmClient::new(
        &cloud.cloud(),
        credential,
        ArmClientOptions {
            http: cloud.http_options(),
            ..Default::default()
        },
    );
    let resource_group = "rg-flux-sandbox";
    if dry_run {
        let exists = arm
            .get(
                &azflux_core::arm::ResourceId::resource_group(
                    &sandbox.subscription_id,
                    resource_group,
                )
                .to_string(),
                azflux_core::arm::RESOURCE_GROUPS_API_VERSION,
            )
            .await?
            .is_some();
        println!(
            "• resource group {resource_group}: {}",
            if exists { "exists" } else { "would be created" }
        );
    } else {
        let outcome = arm
            .ensure_resource_group(
                &sandbox.subscription_id,
                resource_group,
                "westeurope",
                &Default::default(),
            )
            .await?;
        println!("✔ resource group {resource_group}: {}", outcome.verb());
    }
    for (step, available) in STEPS.iter().skip(2) {
        if !available {
            println!("… {step}: not available yet");
        }
    }
    println!(
        "done in {:.2?}; resource groups in the fake cloud: {}",
        started.elapsed(),
        groups.ids().join(", ")
    );
    Ok(())
}
