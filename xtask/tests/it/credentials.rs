//! The environment credential chain against the fake cloud.

use azflux_core::TokenCredential;
use azflux_core::fake::FakeCloud;
use azflux_core::fake::entra::{FederatedCredential, TOKEN_EXCHANGE_AUDIENCE};
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::time::Duration;
use xtask::credentials::{CredentialKind, from_env};

fn env_of(vars: HashMap<&'static str, String>) -> impl Fn(&str) -> Option<String> {
    move |name| vars.get(name).cloned()
}

#[tokio::test]
async fn client_secret_is_picked_first() {
    let cloud = FakeCloud::start().await;
    let s = cloud.sandbox().clone();
    let env = env_of(HashMap::from([
        ("AZURE_TENANT_ID", s.tenant_id.clone()),
        ("AZURE_CLIENT_ID", s.client_id.clone()),
        (
            "AZURE_CLIENT_SECRET",
            s.client_secret.expose_secret().to_owned(),
        ),
        ("AZURE_FEDERATED_TOKEN_FILE", "/nonexistent".to_owned()),
    ]));
    let (credential, kind) = from_env(&env, cloud.client_options()).unwrap();
    assert_eq!(kind, CredentialKind::ClientSecret);
    credential
        .get_token(&["https://management.azure.com/.default"], None)
        .await
        .unwrap();
}

#[tokio::test]
async fn workload_identity_rereads_the_token_file_on_every_request() {
    let cloud = FakeCloud::start().await;
    let tenant = cloud.sandbox().tenant_id.clone();
    let client_id = "77777777-0000-4000-8000-0000000000b1";
    let issuer = "https://westeurope.oic.prod-aks.azure.com/t/i/";
    cloud.entra().add_federated_credential(
        &tenant,
        client_id,
        "88888888-0000-4000-8000-0000000000b1",
        FederatedCredential {
            issuer: issuer.into(),
            subject: "system:serviceaccount:flux-system:kustomize-controller".into(),
            audience: TOKEN_EXCHANGE_AUDIENCE.into(),
        },
    );
    let dir = std::env::temp_dir().join(format!("azflux-xtask-wi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    let mint = |sa: &str| {
        cloud.entra().mint_service_account_token(
            issuer,
            "flux-system",
            sa,
            Duration::from_secs(3600),
        )
    };
    std::fs::write(&file, mint("kustomize-controller")).unwrap();
    let env = env_of(HashMap::from([
        ("AZURE_TENANT_ID", tenant.clone()),
        ("AZURE_CLIENT_ID", client_id.to_owned()),
        ("AZURE_FEDERATED_TOKEN_FILE", file.display().to_string()),
    ]));
    let (credential, kind) = from_env(&env, cloud.client_options()).unwrap();
    assert_eq!(kind, CredentialKind::WorkloadIdentity);
    credential
        .get_token(&["https://vault.azure.net/.default"], None)
        .await
        .unwrap();

    // The kubelet rotates the file; the next token request (another scope, so no cache hit) reads it again:
    // a token for a service account without a federated credential is now refused.
    std::fs::write(&file, mint("helm-controller")).unwrap();
    let err = azflux_core::credential::token_for(
        credential.as_ref(),
        "https://management.azure.com/.default",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("AADSTS70021"), "{err}");
    // And back to a valid token: works again without rebuilding the credential.
    std::fs::write(&file, mint("kustomize-controller")).unwrap();
    credential
        .get_token(&["https://management.azure.com/.default"], None)
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
