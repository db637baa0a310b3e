//! `Debug` of every public azflux-core type that can hold a secret shows none.

use azflux_core::TokenCredential;
use azflux_core::credential::{CachedCredential, StaticTokenCredential};
use azflux_core::fake::FakeCloud;
use azflux_core::http::{BearerAuth, HostRule, HttpPipeline};
use azure_core::credentials::AccessToken;
use secrecy::ExposeSecret;
use std::sync::Arc;

#[tokio::test]
async fn debug_output_never_contains_secrets() {
    let cloud = FakeCloud::start().await;
    let secret = cloud.sandbox().client_secret.expose_secret().to_owned();
    let credential = cloud.credential().unwrap();
    let token = credential
        .get_token(&["https://management.azure.com/.default"], None)
        .await
        .unwrap();
    let token_text = token.token.secret().to_owned();
    let static_credential =
        StaticTokenCredential::new(AccessToken::new(token_text.clone(), token.expires_on));
    let cached = CachedCredential::new("t", Arc::new(static_credential.clone()));
    let bearer = BearerAuth {
        credential: credential.clone(),
        scope: "https://management.azure.com/.default".into(),
        hosts: vec![HostRule::Exact("management.azure.com".into())],
    };
    let pipeline = HttpPipeline::with_bearer(&cloud.http_options(), bearer.clone());
    let sandbox_credential = azflux_core::fake::client_credential::FakeClientSecretCredential::new(
        &cloud.cloud(),
        &cloud.sandbox().tenant_id,
        &cloud.sandbox().client_id,
        cloud.sandbox().client_secret.clone(),
        &cloud.http_options(),
    )
    .unwrap();
    let transport_error = azflux_core::Error::Transport {
        resource: "GET host/path".into(),
        message: azflux_core::secret::redact_urls_in_text(&format!(
            "error for url (https://h/p?sig={token_text})"
        )),
    };
    let shown = [
        format!("{sandbox_credential:?}"),
        format!("{transport_error}"),
        format!("{:?}", cloud.sandbox()),
        format!("{cloud:?}"),
        format!("{credential:?}"),
        format!("{token:?}"),
        format!("{static_credential:?}"),
        format!("{cached:?}"),
        format!("{bearer:?}"),
        format!("{pipeline:?}"),
        format!("{:?}", cloud.http_options()),
        format!("{:?}", cloud.entra()),
    ];
    for text in shown {
        assert!(!text.contains(&secret), "client secret in {text}");
        assert!(!text.contains(&token_text), "token in {text}");
    }
}
