use acr_oci::{AcrAuth, AcrClient, AcrClientOptions, FakeAcr};
use azflux_core::fake::FakeCloud;
use flate2::Compression;
use flate2::write::GzEncoder;
use std::path::{Path, PathBuf};

pub const REGISTRY: &str = "myacr.azurecr.io";

/// A packaged chart: `<name>/Chart.yaml`, `values.yaml`, a template and optional padding.
pub fn chart_tgz(dir: &Path, name: &str, version: &str, padding: usize) -> PathBuf {
    let path = dir.join(format!("{name}-{version}.tgz"));
    let file = std::fs::File::create(&path).unwrap();
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    let mut add = |p: String, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_cksum();
        tar.append_data(&mut h, p, data).unwrap();
    };
    let chart_yaml = format!(
        "apiVersion: v2\nname: {name}\nversion: {version}\ndescription: A test chart\ntype: application\nappVersion: \"1.16.0\"\n"
    );
    add(format!("{name}/Chart.yaml"), chart_yaml.as_bytes());
    add(format!("{name}/values.yaml"), b"replicaCount: 1\n");
    add(
        format!("{name}/templates/configmap.yaml"),
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  v: {{ .Values.replicaCount | quote }}\n",
    );
    if padding > 0 {
        let mut data = vec![0u8; padding];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for b in data.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        add(format!("{name}/files/blob.bin"), &data);
    }
    tar.into_inner().unwrap().finish().unwrap();
    path
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
