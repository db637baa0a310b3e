//! `cargo xtask fake-azure [--port N] [--https | --proxy] [--json]`: serves the whole fake cloud until
//! interrupted. With `--json` the first stdout line is one JSON object with the endpoints and the sandbox
//! tenant id, client id and client secret, so any tool can use it.
//!
//! With `--proxy` the cloud is served as an HTTP proxy ([`azflux_core::fake::proxy`]): the JSON line names
//! `proxy` (its URL), `ca_file`, the sandbox `principal`, and `env`, the environment under which the az CLI,
//! the Python SDKs, curl and git reach the fakes under the real Azure host names.

use azflux_core::clock::system_clock;
use azflux_core::fake::{FakeCloud, FakeCloudOptions};
use secrecy::ExposeSecret;
use serde_json::json;
use std::path::PathBuf;

/// A running served fake cloud.
#[derive(Debug)]
pub struct ServedCloud {
    /// The fake cloud.
    pub cloud: FakeCloud,
    /// The JSON line `--json` prints.
    pub description: serde_json::Value,
    /// The front door task.
    pub task: tokio::task::JoinHandle<()>,
}

/// Starts the fake cloud on the system clock with every crate's fake mounted. `operations`: how long the
/// fakes' long-running operations take (cluster, registry, namespace creation…; AKS then also asks to be
/// polled after 1 s); `None` keeps each fake's realistic default.
pub async fn mounted_cloud_with(operations: Option<std::time::Duration>) -> FakeCloud {
    let cloud = FakeCloud::start_with(FakeCloudOptions {
        clock: Some(system_clock()),
        ..Default::default()
    })
    .await;
    // Every crate's fake mounts here as the crates land (ARM resources, Key Vault, ACR, DevOps, Event Hubs).
    let _arm = cloud.arm_server().await;
    azflux_core::fake::resource_groups::FakeResourceGroups::mount(&cloud).await;
    let event_hubs = eventhub_auth::fake::FakeEventHubs::mount(&cloud).await;
    let _devops = devops_git::fake::FakeDevOps::mount_open(&cloud).await;
    let mut aks_options = aks_cluster::FakeAksOptions::default();
    if let Some(d) = operations {
        aks_options.create_duration = d;
        aks_options.update_duration = d;
        aks_options.delete_duration = d;
        aks_options.upgrade_duration = d;
        aks_options.retry_after_secs = 1;
    }
    aks_cluster::FakeAks::mount_with(&cloud, aks_options).await;
    let acr = acr_oci::FakeAcr::mount(&cloud).await;
    let key_vault = keyvault_sops::fake::FakeKeyVault::mount(&cloud).await;
    if let Some(d) = operations {
        event_hubs.set_namespace_create_duration(d);
        acr.set_registry_create_duration(d);
        key_vault.set_arm_registration_time(d);
    }
    mount_flux_releases(&cloud).await;
    cloud
}

/// [`mounted_cloud_with`] the fakes' default operation times.
pub async fn mounted_cloud() -> FakeCloud {
    mounted_cloud_with(None).await
}

fn ca_dir_or_default(ca_dir: Option<PathBuf>) -> PathBuf {
    ca_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("azflux-fake-azure-{}", std::process::id()))
    })
}

/// Starts the fake cloud on the system clock and its front door on `port` (0 = any).
pub async fn start(port: u16, https: bool, ca_dir: Option<PathBuf>) -> anyhow::Result<ServedCloud> {
    let cloud = mounted_cloud().await;
    let (addr, ca_pem, task) = cloud.serve_front(port, https).await?;
    let scheme = if https { "https" } else { "http" };
    let ca_file = match (&ca_pem, ca_dir) {
        (Some(pem), dir) => {
            let dir = ca_dir_or_default(dir);
            std::fs::create_dir_all(&dir)?;
            let path = dir.join("ca.pem");
            std::fs::write(&path, pem)?;
            Some(path)
        }
        (None, _) => None,
    };
    let sandbox = cloud.sandbox();
    let endpoint = format!("{scheme}://127.0.0.1:{}", addr.port());
    let description = json!({
        "endpoint": endpoint,
        "port": addr.port(),
        "https": https,
        "authority_host": format!("{endpoint}/"),
        "token_endpoint": format!("{endpoint}/{}/oauth2/v2.0/token", sandbox.tenant_id),
        "resource_manager": format!("{endpoint}/"),
        "imds_endpoint": format!("{endpoint}/metadata/identity/oauth2/token"),
        "tenant_id": sandbox.tenant_id,
        "subscription_id": sandbox.subscription_id,
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret.expose_secret(),
        "ca_cert_file": ca_file.as_ref().map(|p| p.display().to_string()),
        "ca_cert_pem": ca_pem,
        "hosts": cloud.router().hosts(),
        "note": "Requests to 127.0.0.1 are routed by path; send a Host header (or use --resolve <host>:PORT:127.0.0.1 with --https) to reach a data-plane host.",
    });
    Ok(ServedCloud {
        cloud,
        description,
        task,
    })
}

/// Starts the fake cloud on the system clock served as an HTTPS proxy on `127.0.0.1:port` (0 = any); the
/// CA certificate is written to `<ca_dir>/ca.pem` (default: a per-process temporary directory).
pub async fn start_proxy(
    port: u16,
    ca_dir: Option<PathBuf>,
    operations: Option<std::time::Duration>,
) -> anyhow::Result<ServedCloud> {
    let cloud = mounted_cloud_with(operations).await;
    let (addr, ca, task) = cloud.serve_proxy(port).await?;
    let dir = ca_dir_or_default(ca_dir);
    std::fs::create_dir_all(&dir)?;
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.ca_pem())?;
    let ca_file = ca_file.display().to_string();
    let proxy = format!("http://127.0.0.1:{}", addr.port());
    let sandbox = cloud.sandbox();
    let description = json!({
        "proxy": proxy,
        "port": addr.port(),
        "ca_file": ca_file,
        "principal": {
            "tenant_id": sandbox.tenant_id,
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret.expose_secret(),
            "object_id": sandbox.object_id,
        },
        "tenant_id": sandbox.tenant_id,
        "subscription_id": sandbox.subscription_id,
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret.expose_secret(),
        "authority_host": "https://login.microsoftonline.com/",
        "resource_manager": "https://management.azure.com/",
        "env": proxy_env(&proxy, &ca_file),
        "hosts": cloud.router().hosts(),
        "note": "Export every entry of `env`: HTTP clients (az, the Python SDKs, curl, reqwest) then reach the fakes under the real Azure host names, TLS verified against `ca_file`. git: `git -c http.proxy=<proxy> -c http.sslCAInfo=<ca_file> …`.",
    });
    Ok(ServedCloud {
        cloud,
        description,
        task,
    })
}

/// The environment that sends clients through the proxy at `proxy`, trusting the CA in `ca_file`. TLS
/// verification stays on (`AZURE_CLI_DISABLE_CONNECTION_VERIFICATION` is deliberately not set).
/// `AZURE_CORE_INSTANCE_DISCOVERY=false` turns off the az CLI's MSAL instance discovery (the fake answers
/// it too, so it is not required for the public cloud's authority).
pub fn proxy_env(proxy: &str, ca_file: &str) -> serde_json::Value {
    json!({
        "HTTPS_PROXY": proxy,
        "HTTP_PROXY": proxy,
        "NO_PROXY": "127.0.0.1,localhost",
        "REQUESTS_CA_BUNDLE": ca_file,
        "SSL_CERT_FILE": ca_file,
        "CURL_CA_BUNDLE": ca_file,
        "GIT_SSL_CAINFO": ca_file,
        "AZURE_CORE_INSTANCE_DISCOVERY": "false",
    })
}

/// The Flux components a generated release carries (the defaults plus the image automation extras).
const RELEASE_COMPONENTS: &[&str] = &[
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
    "image-reflector-controller",
    "image-automation-controller",
];

/// Serves small generated Flux release artifacts where the flux CLI downloads them
/// (`https://github.com/fluxcd/flux2/releases/download/<version>/{manifests.tar.gz, flux_<ver>_checksums.txt}`),
/// so `flux install` for a version that is not embedded works against the fake cloud:
/// `cargo xtask flux install --export --release-url <endpoint>/fluxcd/flux2/releases/download` with the Host
/// `github.com`, or through the routing transport.
pub async fn mount_flux_releases(cloud: &FakeCloud) {
    use azflux_core::fake::wiremock::ResponseTemplate;
    let server = cloud
        .server_for(azflux_core::http::HostRule::Exact("github.com".into()))
        .await;
    // Tools pointed at the front door's loopback address reach it by path.
    cloud
        .router()
        .add_path("/fluxcd/flux2/releases/", *server.address());
    cloud
        .mount(
            &server,
            "github.flux-release",
            "GET",
            r"^/fluxcd/flux2/releases/download/v[0-9][^/]*/[^/]+$",
            |r| {
                let mut parts = r.path().rsplit('/');
                let (Some(file), Some(version)) = (parts.next(), parts.next()) else {
                    return ResponseTemplate::new(404);
                };
                let release =
                    match flux_objects::install::generate_release(version, RELEASE_COMPONENTS) {
                        Ok(release) => release,
                        Err(e) => return ResponseTemplate::new(500).set_body_string(e.to_string()),
                    };
                if file == "manifests.tar.gz" {
                    ResponseTemplate::new(200)
                        .insert_header("content-type", "application/octet-stream")
                        .set_body_bytes(release.manifests_tar_gz)
                } else if file == release.checksums_file_name {
                    ResponseTemplate::new(200).set_body_string(release.checksums)
                } else {
                    ResponseTemplate::new(404).set_body_string("Not Found")
                }
            },
        )
        .await;
}
