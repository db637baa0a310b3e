//! The credential chain, built from the environment (only xtask reads the environment):
//! 1. `AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_CLIENT_SECRET`: a client-secret credential;
//! 2. `AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_FEDERATED_TOKEN_FILE`: workload identity, re-reading the
//!    projected token file on every token request (kubelet rotates it);
//! 3. `IDENTITY_ENDPOINT` or `AZFLUX_USE_MANAGED_IDENTITY=1`: managed identity (`AZURE_CLIENT_ID` selects a
//!    user-assigned one);
//! 4. otherwise the Azure CLI's login.
//!
//! The result is wrapped in azflux-core's per-scope cache.

use anyhow::Context;
use azflux_core::credential::CachedCredential;
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::ClientOptions;
use azure_identity::{
    ClientAssertion, ClientAssertionCredential, ClientAssertionCredentialOptions,
};
use std::path::PathBuf;
use std::sync::Arc;

/// Which credential the chain picked, for the summary line (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialKind {
    /// Client id + secret.
    ClientSecret,
    /// Federated token file.
    WorkloadIdentity,
    /// IMDS / App Service identity endpoint.
    ManagedIdentity,
    /// `az login`.
    AzureCli,
}

/// A projected service-account token read from its file each time Entra ID asks for an assertion.
#[derive(Debug)]
pub struct FederatedTokenFile {
    path: PathBuf,
}

impl FederatedTokenFile {
    /// The assertion read from `path`.
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }
}

#[async_trait::async_trait]
impl ClientAssertion for FederatedTokenFile {
    async fn secret(
        &self,
        _options: Option<azure_core::http::ClientMethodOptions<'_>>,
    ) -> azure_core::Result<String> {
        let token = tokio::fs::read_to_string(&self.path).await.map_err(|e| {
            azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                format!(
                    "could not read the federated token file {}: {e}",
                    self.path.display()
                ),
            )
        })?;
        Ok(token.trim().to_owned())
    }
}

/// Builds the chain from `env` (a lookup function, so tests pass their own), with `client_options` for the
/// transport (the fake cloud's routing transport in the sandbox).
pub fn from_env(
    env: &dyn Fn(&str) -> Option<String>,
    client_options: ClientOptions,
) -> anyhow::Result<(Arc<CachedCredential>, CredentialKind)> {
    // azure_identity builds its default reqwest transport when `client_options` names none.
    azflux_core::install_crypto_provider();
    let tenant = env("AZURE_TENANT_ID").filter(|v| !v.is_empty());
    let client_id = env("AZURE_CLIENT_ID").filter(|v| !v.is_empty());
    if let (Some(tenant), Some(client_id), Some(secret)) =
        (&tenant, &client_id, env("AZURE_CLIENT_SECRET"))
    {
        let options = azure_identity::ClientSecretCredentialOptions { client_options };
        let credential = azure_identity::ClientSecretCredential::new(tenant, client_id.clone(), Secret::new(secret), Some(options))
            .context("AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET do not make a valid credential")?;
        return Ok((
            Arc::new(CachedCredential::new(tenant.clone(), credential)),
            CredentialKind::ClientSecret,
        ));
    }
    if let (Some(tenant), Some(client_id), Some(file)) =
        (&tenant, &client_id, env("AZURE_FEDERATED_TOKEN_FILE"))
    {
        let credential = ClientAssertionCredential::new(
            tenant.clone(),
            client_id.clone(),
            FederatedTokenFile::new(PathBuf::from(file)),
            Some(ClientAssertionCredentialOptions { client_options }),
        )
        .context("AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_FEDERATED_TOKEN_FILE do not make a valid credential")?;
        return Ok((
            Arc::new(CachedCredential::new(tenant.clone(), credential)),
            CredentialKind::WorkloadIdentity,
        ));
    }
    if env("IDENTITY_ENDPOINT").is_some()
        || env("AZFLUX_USE_MANAGED_IDENTITY").as_deref() == Some("1")
    {
        let options = azure_identity::ManagedIdentityCredentialOptions {
            user_assigned_id: client_id.map(azure_identity::UserAssignedId::ClientId),
            client_options,
        };
        let credential = azure_identity::ManagedIdentityCredential::new(Some(options))
            .context("managed identity is not available")?;
        let inner: Arc<dyn TokenCredential> = credential;
        return Ok((
            Arc::new(CachedCredential::new(tenant.unwrap_or_default(), inner)),
            CredentialKind::ManagedIdentity,
        ));
    }
    let credential = azure_identity::AzureCliCredential::new(None).context("the Azure CLI credential is not available: run `az login`, or set AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_FEDERATED_TOKEN_FILE)")?;
    Ok((
        Arc::new(CachedCredential::new(
            tenant.unwrap_or_default(),
            credential,
        )),
        CredentialKind::AzureCli,
    ))
}
