//! The sandbox: the embedded fake cloud (resource groups), a bare git repository served like Azure DevOps
//! (PAT over HTTP basic auth), and a fake Kubernetes API per cluster. `cargo xtask bootstrap` with no
//! configuration runs the whole plan against it.

use super::config::{
    BootstrapConfig, ClusterConfig, FluxConfig, GitAuth, GitConfig, HelmConfig, Secrets,
};
use super::executor::{ExecutorOptions, RunReport};
use super::fake_kube::FakeKube;
use super::git_server::GitServer;
use super::kube::Kubeconfig;
use super::progress::EventSink;
use super::step::Outputs;
use super::summary::Summary;
use super::{Error, PlanOptions, RunInputs, Services, run_plan};
use anyhow::Context as _;
use azflux_core::arm::{ArmClient, ArmClientOptions};
use azflux_core::clock::system_clock;
use azflux_core::fake::resource_groups::FakeResourceGroups;
use azflux_core::fake::{FakeCloud, FakeCloudOptions};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The sandbox cluster's name.
pub const SANDBOX_CLUSTER: &str = "sandbox";
/// The sandbox resource group.
pub const SANDBOX_RESOURCE_GROUP: &str = "rg-flux-sandbox";
/// The sandbox's ACR name (HelmRepository, AcrPull).
pub const SANDBOX_REGISTRY: &str = "azfluxsandbox";
/// The chart's repository in the sandbox's ACR (`[[helm.releases]] chart`): not under `helm/`, so a
/// HelmRepository URL that ignored the configured path would not hold it.
pub const SANDBOX_CHART: &str = "charts/podinfo";
/// The chart versions in the sandbox's ACR ([`SANDBOX_CHART`]).
pub const SANDBOX_CHART_VERSIONS: &[&str] = &["6.4.0", "6.5.1", "7.0.0"];

/// Puts a Helm chart manifest (Helm v4's layout) for `repository:version` in the fake ACR.
fn seed_chart(acr: &acr_oci::FakeAcr, registry: &str, repository: &str, version: &str) {
    let name = repository.rsplit('/').next().unwrap_or(repository);
    let config = serde_json::json!({"apiVersion": "v2", "name": name, "version": version});
    let config = serde_json::to_vec(&config).unwrap_or_default();
    let layer = format!("{name}-{version}").into_bytes();
    let (config_len, layer_len) = (config.len(), layer.len());
    let config_digest = acr.put_blob(registry, config);
    let layer_digest = acr.put_blob(registry, layer);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": config_digest, "size": config_len},
        "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": layer_digest, "size": layer_len}],
    });
    acr.put_raw_manifest(
        registry,
        repository,
        version,
        "application/vnd.oci.image.manifest.v1+json",
        serde_json::to_vec(&manifest).unwrap_or_default(),
    );
}

/// The sandbox's Key Vault (the SOPS key).
pub const SANDBOX_KEY_VAULT: &str = "kv-flux-sandbox";
/// The sandbox's Event Hubs namespace (notifications).
pub const SANDBOX_EVENT_HUBS_NAMESPACE: &str = "ehns-flux-sandbox";
/// The sandbox's event hub.
pub const SANDBOX_EVENT_HUB: &str = "flux";
/// The repository path on the sandbox git server.
pub const SANDBOX_REPO: &str = "azflux-sandbox/flux/_git/fleet-infra";

/// The sandbox installs the image automation extras too.
pub const SANDBOX_EXTRAS: &[&str] = &["image-reflector-controller", "image-automation-controller"];

/// The sandbox's Flux release: flux-objects' generated (small but structurally real) release artifacts of
/// the default version, served from memory (no download).
pub fn sandbox_manifests() -> anyhow::Result<flux_objects::install::StaticSource> {
    let components: Vec<&str> = super::config::DEFAULT_COMPONENTS
        .iter()
        .chain(SANDBOX_EXTRAS)
        .copied()
        .collect();
    let release =
        flux_objects::install::generate_release(super::config::DEFAULT_FLUX_VERSION, &components)?;
    let mut source = flux_objects::install::StaticSource::default();
    source.releases.insert(
        super::config::DEFAULT_FLUX_VERSION.into(),
        release.artifacts,
    );
    Ok(source)
}

/// Sandbox settings.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Where the repositories and caches go.
    pub workdir: PathBuf,
    /// Latency added to every request (benchmarks; real time).
    pub request_latency: Duration,
    /// How long Flux takes to reconcile (on the clock).
    pub reconcile_delay: Duration,
    /// Run on the system clock (benchmarks) instead of the manual clock (fast; tests).
    pub system_clock: bool,
    /// How long an AKS cluster create takes (on the clock).
    pub cluster_create: Duration,
    /// Poll long-running operations at this interval instead of the service's `Retry-After` (benchmarks).
    pub poll_interval: Option<Duration>,
}

fn arm_options(
    http: &azflux_core::http::HttpPipelineOptions,
    options: &SandboxOptions,
) -> ArmClientOptions {
    let mut arm = ArmClientOptions {
        http: http.clone(),
        ..Default::default()
    };
    if let Some(p) = options.poll_interval {
        arm.poller.default_interval = p;
        arm.poller.min_interval = p;
    }
    arm
}

impl SandboxOptions {
    /// Defaults: no added latency, a 30 s reconcile on the manual clock (instant in real time).
    pub fn new(workdir: PathBuf) -> Self {
        SandboxOptions {
            workdir,
            request_latency: Duration::ZERO,
            reconcile_delay: Duration::from_secs(30),
            system_clock: false,
            cluster_create: Duration::from_secs(5 * 60),
            poll_interval: None,
        }
    }
}

/// A new directory under the workspace's `target/` (or the temp dir).
pub fn default_workdir() -> anyhow::Result<PathBuf> {
    let base = crate::human::target_dir().join("azflux-sandbox");
    std::fs::create_dir_all(&base)
        .with_context(|| format!("could not create {}", base.display()))?;
    let dir = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&base)
        .with_context(|| format!("could not create a directory in {}", base.display()))?;
    Ok(dir.keep())
}

/// A running sandbox.
#[derive(Debug)]
pub struct Sandbox {
    /// The fake cloud.
    pub cloud: FakeCloud,
    /// The resource-group fake.
    pub groups: FakeResourceGroups,
    /// The fake Kubernetes API.
    pub kube: FakeKube,
    /// The git server.
    pub git: GitServer,
    /// The repository URL.
    pub repo_url: String,
    /// The work directory.
    pub workdir: PathBuf,
    /// The AKS fake (clusters, identities, federated credentials, role assignments).
    pub aks: aks_cluster::FakeAks,
    /// The Key Vault fake (the SOPS key).
    pub key_vault: keyvault_sops::fake::FakeKeyVault,
    /// The ACR fake (the charts, the registry on ARM).
    pub acr: acr_oci::FakeAcr,
    /// The Event Hubs fake (the namespace and hub on ARM, events).
    pub event_hubs: eventhub_auth::fake::FakeEventHubs,
    pat: SecretString,
    kubeconfigs: Arc<Mutex<BTreeMap<String, Kubeconfig>>>,
    services: Services,
}

impl Sandbox {
    /// Starts the fakes, creates the empty repository (as an Azure DevOps project would have it).
    pub async fn start(options: SandboxOptions) -> anyhow::Result<Self> {
        let cloud = FakeCloud::start_with(FakeCloudOptions {
            clock: options.system_clock.then(system_clock),
            ..Default::default()
        })
        .await;
        if !options.request_latency.is_zero() {
            cloud.faults().inject(
                azflux_core::fake::faults::FaultMatch::any(),
                azflux_core::fake::faults::Fault::Delay(options.request_latency),
                usize::MAX,
            );
        }
        let groups = FakeResourceGroups::mount(&cloud).await;
        let pat = SecretString::from(format!("pat~{}", uuid::Uuid::new_v4().simple()));
        let git = GitServer::start(
            &options.workdir.join("devops"),
            pat.clone(),
            options.request_latency,
        )
        .await
        .context("could not start the sandbox git server")?;
        let repo_url = git
            .create_repository(SANDBOX_REPO)
            .context("could not create the sandbox repository")?;
        // git.auth = "ssh": the key pair under the workdir (0600; ECDSA, fast), registered with the git
        // server as a user's SSH key; the server's host key in known_hosts. The server speaks HTTP only, so
        // the sandbox pushes over HTTPS and Flux reconciles over SSH (as https-ssh).
        let (ssh_key, _) = super::ssh_key::load_or_generate(
            &super::ssh_key::default_path(&options.workdir),
            devops_git::SshKeyAlgorithm::EcdsaP256,
        )?;
        git.register_ssh_key(ssh_key.public_key_line());
        let host_key = devops_git::SshKeyPair::generate(devops_git::SshKeyAlgorithm::EcdsaP256)
            .context("could not generate the sandbox SSH host key")?;
        let mut parts = host_key.public_key_line().split_whitespace();
        let mut known_hosts = devops_git::KnownHosts::default();
        known_hosts.push(devops_git::KnownHost {
            hosts: vec![format!(
                "[{}",
                git.base_url()
                    .trim_start_matches("http://")
                    .replacen(':', "]:", 1)
            )],
            key_type: parts.next().unwrap_or_default().to_owned(),
            key_base64: parts.next().unwrap_or_default().to_owned(),
        });
        let ssh = devops_git::SshAuth::new(ssh_key, known_hosts);
        let resolver_git = git.clone();
        let kube = FakeKube::start(
            &cloud,
            Arc::new(move |url, branch, secret| resolver_git.resolve(url, branch, secret)),
            options.reconcile_delay,
        )
        .await;
        let sandbox = cloud.sandbox().clone();
        let env = |name: &str| match name {
            "AZURE_TENANT_ID" => Some(sandbox.tenant_id.clone()),
            "AZURE_CLIENT_ID" => Some(sandbox.client_id.clone()),
            "AZURE_CLIENT_SECRET" => Some(sandbox.client_secret.expose_secret().to_owned()),
            _ => None,
        };
        let (credential, _) = crate::credentials::from_env(&env, cloud.client_options())?;
        let (http, arm_throttle) = super::throttle::ArmThrottle::wrap_options(
            cloud.http_options(),
            "management.azure.com",
        );
        let arm = Arc::new(ArmClient::new(
            &cloud.cloud(),
            credential.clone(),
            arm_options(&http, &options),
        ));
        let host = devops_git::PlainGitHost::with_cache_dir(
            devops_git::GitCredentials::Basic(devops_git::BasicAuth::pat(pat.clone())),
            options.workdir.join("git-cache"),
        )?;
        let aks = aks_cluster::FakeAks::mount_with(
            &cloud,
            aks_cluster::FakeAksOptions {
                create_duration: options.cluster_create,
                // With a poll interval set (benchmarks on the system clock), the poller's interval decides.
                retry_after_secs: if options.poll_interval.is_some() {
                    0
                } else {
                    5
                },
                // The latency comes from the cloud-wide Delay fault (every route, AKS's too).
                latency: None,
                // The cloud's Delay fault replaces a reply's own delay, so with an injected latency the
                // federated-credential write window must not outlast the (replaced) reply delay.
                fic_write_time: if options.request_latency.is_zero() {
                    aks_cluster::FakeAksOptions::default().fic_write_time
                } else {
                    options.request_latency / 2
                },
                ..Default::default()
            },
        )
        .await;
        let aks_client = Arc::new(aks_cluster::ClustersClient::new(
            &cloud.cloud(),
            credential.clone(),
            aks_cluster::ClustersClientOptions {
                arm: arm_options(&http, &options),
                ..Default::default()
            },
        ));
        let kubeconfigs: Arc<Mutex<BTreeMap<String, Kubeconfig>>> = Arc::default();
        let (route_kube, route_map) = (kube.clone(), kubeconfigs.clone());
        let route: super::steps::KubeRoute = Arc::new(move |name, issued| {
            let routed = match &issued.token {
                Some(token) => route_kube.add_cluster_with_token(name, &issued.context, token),
                None => route_kube.add_cluster(name),
            };
            route_map
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(name.to_owned(), routed.clone());
            routed
        });
        // The sandbox's ACR already holds the charts the releases use (as a charts pipeline would push).
        let acr = acr_oci::FakeAcr::mount(&cloud).await;
        let registry_host = format!(
            "{SANDBOX_REGISTRY}.{}",
            cloud.cloud().container_registry_suffix
        );
        for version in SANDBOX_CHART_VERSIONS {
            seed_chart(&acr, &registry_host, SANDBOX_CHART, version);
        }
        let key_vault = keyvault_sops::fake::FakeKeyVault::mount(&cloud).await;
        let event_hubs_fake = eventhub_auth::fake::FakeEventHubs::mount(&cloud).await;
        if options.system_clock {
            // Benchmarks run on the system clock: the vault, registry and namespace fakes ask pollers to
            // come back after 10 s (`Retry-After`, as Azure does), which would measure their fixed wait, not
            // the bootstrap. The benchmark's sandbox starts with them existing (the steps then only read).
            let sub = cloud.sandbox().subscription_id.clone();
            key_vault.add_arm_vault(&sub, SANDBOX_RESOURCE_GROUP, SANDBOX_KEY_VAULT, true);
            acr.add_arm_registry(&sub, SANDBOX_RESOURCE_GROUP, SANDBOX_REGISTRY, None);
            event_hubs_fake.add_namespace_in(
                &sub,
                SANDBOX_RESOURCE_GROUP,
                SANDBOX_EVENT_HUBS_NAMESPACE,
            );
            event_hubs_fake.add_hub(SANDBOX_EVENT_HUBS_NAMESPACE, SANDBOX_EVENT_HUB)?;
        }
        // SOPS needs an RSA key, not a slow 4096-bit one, in the sandbox.
        key_vault.set_generated_key_bits(Some(2048));
        let (vaults, registries, event_hubs) = (
            keyvault_sops::VaultManagement::new((*arm).clone()),
            acr_oci::RegistryManagement::new((*arm).clone()).with_cloud(&cloud.cloud()),
            eventhub_auth::EventHubsArm::new((*arm).clone()),
        );
        let services = Services {
            arm,
            credential: credential.clone(),
            git: Arc::new(host),
            clock: cloud.clock(),
            manifests: Arc::new(sandbox_manifests()?),
            clusters: aks_client.clone(),
            identities: aks_client.clone(),
            federated: aks_client.clone(),
            kube_route: Some(route),
            roles: aks_client,
            key_vault: keyvault_sops::KeyVaultClient::new(
                &cloud.cloud(),
                credential.clone(),
                &http,
            ),
            vaults,
            registries,
            event_hubs,
            cloud: cloud.cloud(),
            arm_throttle,
            charts: Some(Arc::new(acr_oci::AcrClient::new(
                &registry_host,
                acr_oci::AcrAuth::Aad {
                    credential: credential.clone(),
                    tenant_id: Some(cloud.sandbox().tenant_id.clone()),
                },
                acr_oci::AcrClientOptions {
                    http: http.clone(),
                    cloud: cloud.cloud(),
                    ..Default::default()
                },
            )?)),
            ssh: Some(ssh),
        };
        Ok(Sandbox {
            cloud,
            groups,
            kube,
            git,
            repo_url,
            workdir: options.workdir,
            aks,
            key_vault,
            acr,
            event_hubs: event_hubs_fake,
            pat,
            kubeconfigs,
            services,
        })
    }

    /// The PAT the sandbox repository accepts (tests check it never leaks).
    pub fn pat(&self) -> &SecretString {
        &self.pat
    }

    /// The bare repository on disk.
    pub fn repo_dir(&self) -> PathBuf {
        self.git.root().join(SANDBOX_REPO)
    }

    /// The clients the sandbox run uses.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The environment the sandbox run sees (secrets included).
    pub fn secrets(&self) -> Secrets {
        Secrets {
            git_pat: Some(self.pat.clone()),
            sops_client_secret: None,
        }
    }

    /// The configuration of a sandbox run bootstrapping `clusters`.
    pub fn config(&self, clusters: &[String]) -> BootstrapConfig {
        BootstrapConfig {
            subscription_id: self.cloud.sandbox().subscription_id.clone(),
            tenant_id: Some(self.cloud.sandbox().tenant_id.clone()),
            location: "westeurope".into(),
            clusters: clusters
                .iter()
                .map(|name| ClusterConfig {
                    name: name.clone(),
                    resource_group: SANDBOX_RESOURCE_GROUP.into(),
                    location: "westeurope".into(),
                    kubeconfig: None,
                    context: None,
                })
                .collect(),
            git: GitConfig {
                url: self.repo_url.clone(),
                branch: "main".into(),
                auth: GitAuth::TokenAuth,
                ssh_hostname: None,
                ssh_key: None,
                interval: "1m".into(),
                allow_insecure_http: true,
            },
            flux: FluxConfig {
                version: super::config::DEFAULT_FLUX_VERSION.into(),
                components: super::config::DEFAULT_COMPONENTS
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
                components_extra: SANDBOX_EXTRAS.iter().map(|s| (*s).to_owned()).collect(),
                manifests_dir: None,
            },
            helm: HelmConfig {
                registry: Some(SANDBOX_REGISTRY.into()),
                resource_group: SANDBOX_RESOURCE_GROUP.into(),
                releases: vec![super::config::ReleaseConfig {
                    name: "podinfo".into(),
                    chart: SANDBOX_CHART.into(),
                    version: "6.*".into(),
                    namespace: "podinfo".into(),
                }],
            },
            sops: Some(super::config::SopsConfig {
                key_vault: SANDBOX_KEY_VAULT.into(),
                resource_group: SANDBOX_RESOURCE_GROUP.into(),
                key: "sops".into(),
                auth: Default::default(),
            }),
            notifications: Some(super::config::NotificationsConfig {
                namespace: SANDBOX_EVENT_HUBS_NAMESPACE.into(),
                resource_group: SANDBOX_RESOURCE_GROUP.into(),
                hub: SANDBOX_EVENT_HUB.into(),
            }),
            // The sandbox follows the podinfo image its HelmRelease deploys, so the image controllers have
            // something to do.
            image_automation: vec![super::config::ImageAutomationConfig {
                name: "podinfo".into(),
                image: format!("{SANDBOX_REGISTRY}.azurecr.io/podinfo"),
                semver: ">=6.0.0".into(),
                update_path: None,
            }],
        }
    }

    /// The kubeconfig of sandbox cluster `name` (created on first use).
    pub fn kubeconfig(&self, name: &str) -> Kubeconfig {
        let mut map = self
            .kubeconfigs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.entry(name.to_owned())
            .or_insert_with(|| self.kube.add_cluster(name))
            .clone()
    }

    /// The inputs of a run bootstrapping `clusters` (the AKS step creates them and their kubeconfigs).
    pub fn inputs(&self, _clusters: &[String]) -> RunInputs {
        RunInputs {
            services: self.services.clone(),
            seeds: Outputs::default(),
            sandbox: true,
            local_repo_dir: Some(self.repo_dir()),
        }
    }

    /// Runs the bootstrap of `clusters` against the sandbox.
    pub async fn run(
        &self,
        clusters: &[String],
        plan: PlanOptions,
        executor: ExecutorOptions,
        sink: &dyn EventSink,
    ) -> Result<(RunReport, Summary), Error> {
        let config = self.config(clusters);
        run_plan(
            &config,
            &self.secrets(),
            &self.inputs(clusters),
            &plan,
            executor,
            sink,
        )
        .await
    }

    /// Writes `state.json` in the work directory: the Azure resources and the cluster objects (Secret
    /// values replaced by their key names), for people to look at after the process ends.
    pub fn write_state(&self) -> anyhow::Result<PathBuf> {
        let clusters: BTreeMap<String, Vec<serde_json::Value>> = self
            .kubeconfigs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .map(|c| {
                let objects = self
                    .kube
                    .objects(c)
                    .into_iter()
                    .map(|o| {
                        let mut v = o.object;
                        if let Some(data) = v.get_mut("data").and_then(|d| d.as_object_mut()) {
                            for value in data.values_mut() {
                                *value = serde_json::json!("<redacted>");
                            }
                        }
                        v
                    })
                    .collect();
                (c.clone(), objects)
            })
            .collect();
        let state = serde_json::json!({
            "resource_groups": self.groups.ids(),
            "repository": {"url": self.repo_url, "dir": self.repo_dir()},
            "clusters": clusters,
            "requests": self.cloud.request_counts(),
        });
        let path = self.workdir.join("state.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&state)?)?;
        Ok(path)
    }
}
