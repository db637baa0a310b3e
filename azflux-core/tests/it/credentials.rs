//! azure_identity's credentials against `FakeEntraId`, and the cache in front of them.

use azflux_core::clock::Clock;
use azflux_core::credential::CachedCredential;
use azflux_core::fake::FakeCloud;
use azflux_core::fake::entra::{FederatedCredential, ManagedIdentity, TOKEN_EXCHANGE_AUDIENCE};
use azflux_core::{Error, TokenCredential};
use azure_core::credentials::Secret;
use std::sync::Arc;
use std::time::Duration;

const ARM: &str = "https://management.azure.com/.default";

#[tokio::test]
async fn client_secret_credential_gets_a_token_the_fakes_accept() {
    let cloud = FakeCloud::start().await;
    let credential = cloud.credential().unwrap();
    let token = credential.get_token(&[ARM], None).await.unwrap();
    let claims = cloud
        .entra()
        .verify(token.token.secret(), "https://management.azure.com")
        .unwrap();
    assert_eq!(claims.tid, cloud.sandbox().tenant_id);
    assert_eq!(claims.appid, cloud.sandbox().client_id);
    assert_eq!(claims.oid, cloud.sandbox().object_id);
    assert!(
        cloud
            .entra()
            .verify(token.token.secret(), "https://vault.azure.net")
            .is_err(),
        "audience is checked"
    );
}

#[tokio::test]
async fn wrong_secret_surfaces_the_aadsts_error() {
    let cloud = FakeCloud::start().await;
    let options = azure_identity::ClientSecretCredentialOptions {
        client_options: cloud.client_options(),
    };
    let credential = azure_identity::ClientSecretCredential::new(
        &cloud.sandbox().tenant_id,
        cloud.sandbox().client_id.clone(),
        Secret::new("not-the-secret"),
        Some(options),
    )
    .unwrap();
    let err = azflux_core::credential::token_for(credential.as_ref(), ARM)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Credential { .. }), "{err:?}");
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(text.contains("Invalid client secret provided"), "{text}");
    assert!(!text.contains("not-the-secret"));
}

#[tokio::test]
async fn unknown_client_and_bad_scope_surface_their_codes() {
    let cloud = FakeCloud::start().await;
    let options = azure_identity::ClientSecretCredentialOptions {
        client_options: cloud.client_options(),
    };
    let stranger = azure_identity::ClientSecretCredential::new(
        &cloud.sandbox().tenant_id,
        "22222222-0000-4000-8000-000000000000".into(),
        Secret::new("x"),
        Some(options),
    )
    .unwrap();
    let err = azflux_core::credential::token_for(stranger.as_ref(), ARM)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("AADSTS700016"), "{err}");

    let credential = cloud.credential().unwrap();
    let err = azflux_core::credential::token_for(
        credential.as_ref(),
        "https://management.azure.com/user_impersonation",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("AADSTS70011"), "{err}");
}

#[tokio::test]
async fn workload_identity_credential_exchanges_the_federated_token_and_a_mismatched_subject_is_refused()
 {
    let cloud = FakeCloud::start().await;
    let tenant = cloud.sandbox().tenant_id.clone();
    let client_id = "33333333-0000-4000-8000-0000000000f1";
    let issuer = "https://westeurope.oic.prod-aks.azure.com/tenant/issuer-guid/";
    cloud.entra().add_federated_credential(
        &tenant,
        client_id,
        "44444444-0000-4000-8000-0000000000f1",
        FederatedCredential {
            issuer: issuer.into(),
            subject: "system:serviceaccount:flux-system:source-controller".into(),
            audience: TOKEN_EXCHANGE_AUDIENCE.into(),
        },
    );
    let dir = std::env::temp_dir().join(format!("azflux-wi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("azure-identity-token");
    let sa_token = cloud.entra().mint_service_account_token(
        issuer,
        "flux-system",
        "source-controller",
        Duration::from_secs(3600),
    );
    std::fs::write(&file, &sa_token).unwrap();

    let options = azure_identity::WorkloadIdentityCredentialOptions {
        credential_options: azure_identity::ClientAssertionCredentialOptions {
            client_options: cloud.client_options(),
        },
        client_id: Some(client_id.into()),
        tenant_id: Some(tenant.clone()),
        token_file_path: Some(file.clone()),
    };
    let credential = azure_identity::WorkloadIdentityCredential::new(Some(options)).unwrap();
    let token = credential
        .get_token(&["https://vault.azure.net/.default"], None)
        .await
        .unwrap();
    let claims = cloud
        .entra()
        .verify(token.token.secret(), "https://vault.azure.net")
        .unwrap();
    assert_eq!(claims.appid, client_id);

    // A token for another service account is refused with AADSTS70021.
    let other = cloud.entra().mint_service_account_token(
        issuer,
        "flux-system",
        "kustomize-controller",
        Duration::from_secs(3600),
    );
    std::fs::write(&file, &other).unwrap();
    let options = azure_identity::WorkloadIdentityCredentialOptions {
        credential_options: azure_identity::ClientAssertionCredentialOptions {
            client_options: cloud.client_options(),
        },
        client_id: Some(client_id.into()),
        tenant_id: Some(tenant),
        token_file_path: Some(file),
    };
    let fresh = azure_identity::WorkloadIdentityCredential::new(Some(options)).unwrap();
    let err =
        azflux_core::credential::token_for(fresh.as_ref(), "https://vault.azure.net/.default")
            .await
            .unwrap_err();
    assert!(err.to_string().contains("AADSTS70021"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn managed_identity_credential_uses_imds() {
    let cloud = FakeCloud::start().await;
    cloud.entra().add_managed_identity(ManagedIdentity {
        client_id: "55555555-0000-4000-8000-0000000000e1".into(),
        object_id: "66666666-0000-4000-8000-0000000000e1".into(),
        tenant: cloud.sandbox().tenant_id.clone(),
    });
    let options = azure_identity::ManagedIdentityCredentialOptions {
        client_options: cloud.client_options(),
        ..Default::default()
    };
    let credential = azure_identity::ManagedIdentityCredential::new(Some(options)).unwrap();
    let token = credential.get_token(&[ARM], None).await.unwrap();
    let claims = cloud
        .entra()
        .verify(token.token.secret(), "https://management.azure.com")
        .unwrap();
    assert_eq!(claims.oid, "66666666-0000-4000-8000-0000000000e1");
}

#[tokio::test]
async fn a_hundred_concurrent_callers_cause_one_token_request() {
    let cloud = FakeCloud::start().await;
    let credential = cloud.credential().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let c = credential.clone();
        tasks.push(tokio::spawn(async move {
            c.get_token(&[ARM], None)
                .await
                .map(|t| t.token.secret().to_owned())
        }));
    }
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap().unwrap());
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 1);
    assert_eq!(cloud.request_count("entra.token"), 1);
    assert_eq!(credential.token_requests(ARM), 1);
}

#[tokio::test]
async fn cache_refreshes_before_expiry_on_the_fake_clock() {
    let cloud = FakeCloud::start().await;
    let clock = cloud.manual_clock().unwrap();
    let inner = cloud.credential().unwrap();
    let credential = Arc::new(
        CachedCredential::new(
            cloud.sandbox().tenant_id.clone(),
            inner as Arc<dyn TokenCredential>,
        )
        .with_clock(Arc::new(clock.clone()))
        .with_refresh_margin(Duration::from_secs(300)),
    );
    let first = credential.get_token(&[ARM], None).await.unwrap();
    // 50 minutes later the token (1 h) is still fresh: no new request.
    clock.advance(Duration::from_secs(50 * 60));
    let again = credential.get_token(&[ARM], None).await.unwrap();
    assert_eq!(first.token, again.token);
    assert_eq!(credential.token_requests(ARM), 1);
    // 56 minutes in, inside the 5-minute margin: refreshed before it expires.
    clock.advance(Duration::from_secs(6 * 60));
    assert!(
        first.expires_on > clock.now(),
        "the old token has not expired yet"
    );
    let _refreshed = credential.get_token(&[ARM], None).await.unwrap();
    assert_eq!(credential.token_requests(ARM), 2);
    // Other scopes are cached separately.
    credential
        .get_token(&["https://vault.azure.net/.default"], None)
        .await
        .unwrap();
    assert_eq!(
        credential.token_requests("https://vault.azure.net/.default"),
        1
    );
}

#[tokio::test]
async fn sandbox_credential_follows_the_fake_clock_past_expiry() {
    let cloud = FakeCloud::start().await;
    let credential = cloud.credential().unwrap();
    let first = credential.get_token(&[ARM], None).await.unwrap();
    cloud
        .manual_clock()
        .unwrap()
        .advance(Duration::from_secs(2 * 3600));
    assert!(
        cloud
            .entra()
            .verify(first.token.secret(), "https://management.azure.com")
            .is_err(),
        "two hours later the first token has expired"
    );
    let second = credential.get_token(&[ARM], None).await.unwrap();
    cloud
        .entra()
        .verify(second.token.secret(), "https://management.azure.com")
        .unwrap();
    assert_eq!(credential.token_requests(ARM), 2);
}

#[tokio::test]
async fn caller_claims_name_the_sandbox_tenant_and_principal() {
    let cloud = FakeCloud::start().await;
    let credential = cloud.credential().unwrap();
    let claims = azflux_core::credential::caller_claims(credential.as_ref(), ARM)
        .await
        .unwrap();
    assert_eq!(
        claims.tid.as_deref(),
        Some(cloud.sandbox().tenant_id.as_str())
    );
    assert_eq!(
        claims.oid.as_deref(),
        Some(cloud.sandbox().object_id.as_str())
    );
    assert_eq!(claims.principal_type(), "ServicePrincipal");
    let opaque = azflux_core::credential::StaticTokenCredential::new(
        azure_core::credentials::AccessToken::new(
            "not-a-jwt",
            time::OffsetDateTime::now_utc() + Duration::from_secs(3600),
        ),
    );
    let err = azflux_core::credential::caller_claims(&opaque, ARM)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a JWT"), "{err}");
    assert!(!err.to_string().contains("not-a-jwt"), "{err}");
}
