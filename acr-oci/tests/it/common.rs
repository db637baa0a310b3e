use acr_oci::{AcrAuth, AcrClient, AcrClientOptions, FakeAcr};
use azflux_core::fake::FakeCloud;
use std::path::{Path, PathBuf};

pub const REGISTRY: &str = "myacr.azurecr.io";

/// A packaged chart (see `acr_oci::contract::chart_archive`).
pub fn chart_tgz(dir: &Path, name: &str, version: &str, padding: usize) -> PathBuf {
    acr_oci::contract::chart_archive(dir, name, version, padding).unwrap()
}

pub struct Env {
    pub cloud: FakeCloud,
    pub acr: FakeAcr,
}

pub async fn env() -> Env {
    let cloud = FakeCloud::start().await;
    let acr = FakeAcr::mount(&cloud).await;
    Env { cloud, acr }
}

impl Env {
    pub fn options(&self) -> AcrClientOptions {
        AcrClientOptions {
            http: self.cloud.http_options(),
            cloud: self.cloud.cloud(),
            ..Default::default()
        }
    }

    pub fn aad_client(&self, registry: &str) -> AcrClient {
        let credential = self.cloud.credential().unwrap();
        AcrClient::new(registry, AcrAuth::aad(credential), self.options()).unwrap()
    }

    pub fn client(&self, registry: &str, auth: AcrAuth) -> AcrClient {
        AcrClient::new(registry, auth, self.options()).unwrap()
    }
}

/// Every entry of `dir` (to prove nothing partial was left).
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A credential minting fake Entra tokens on the fake cloud's clock.
#[derive(Debug)]
pub struct ClockCredential(pub FakeCloud);

#[async_trait::async_trait]
impl azure_core::credentials::TokenCredential for ClockCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<azure_core::credentials::TokenRequestOptions<'_>>,
    ) -> azure_core::Result<azure_core::credentials::AccessToken> {
        let s = self.0.sandbox();
        let audience = scopes[0].trim_end_matches("/.default");
        let token = self
            .0
            .entra()
            .mint(&s.tenant_id, &s.client_id, &s.object_id, audience);
        Ok(azure_core::credentials::AccessToken::new(
            token,
            self.0.clock().now() + time::Duration::seconds(3599),
        ))
    }
}
