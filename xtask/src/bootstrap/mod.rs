//! `cargo xtask bootstrap`: the guide's steps as a dependency graph of idempotent "ensure" steps, run
//! concurrently by an executor, against real Azure (`--config azflux.toml`) or, with no configuration,
//! the sandbox: the embedded fake cloud, a local bare git repository as the Azure DevOps repository, and a
//! fake Kubernetes API as the cluster.
//!
//! - [`step`]: the [`Step`] trait, [`Outcome`], [`Planned`], typed [`Outputs`].
//! - [`plan`]: the checked graph; [`build_plan`] composes the steps of the landed crates.
//! - [`executor`]: bounded concurrency, failure propagation, injected crashes.
//! - [`progress`], [`summary`]: what the user sees (text, live, JSON lines).
//! - [`config`]: `azflux.toml` and fleet files, validated with every problem at once.
//! - [`kube`], [`fake_kube`], [`git_server`], [`sandbox`]: the cluster client and the sandbox's fakes.
//! - [`bench`]: `cargo xtask bench bootstrap`.

pub mod bench;
pub mod config;
pub mod executor;
pub mod fake_kube;
pub mod git_server;
pub mod kube;
pub mod plan;
pub mod progress;
pub mod sandbox;
pub mod ssh_key;
pub mod step;
pub mod steps;
pub mod summary;
pub mod throttle;
pub mod toml_read;

pub use config::{BootstrapConfig, ClusterConfig, GitAuth, Secrets};
pub use executor::{Executor, ExecutorOptions, FailAt, FailPoint, RunReport, StepStatus};
pub use plan::Plan;
pub use progress::{Event, EventSink, OutputFormat};
pub use step::{Change, Outcome, Outputs, PlanState, Planned, Step, StepContext, StepError, keys};
pub use summary::Summary;

use anyhow::Context as _;
use azflux_core::arm::ArmClient;
use azflux_core::clock::Clock;
use azflux_core::credential::CachedCredential;
use devops_git::{GitHost, RepoUrl};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use steps::{
    AcrChartStep, AksClusterStep, ApplyObjects, CallerKeyAccessStep, CommitFiles, EventHubStep,
    FLUX_IDENTITY, FLUX_MANIFESTS, FederatedCredentialsStep, FluxGitSecret, FluxIdentityStep,
    FluxManifestsStep, FluxRoleStep, KeyVaultStep, KustomizationHealth, RegistryStep,
    RepositoryStep, ResourceGroupStep, SopsKeyStep,
};

/// The bootstrap's errors (before the run: configuration and wiring; step failures are in the report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration has problems (all of them listed).
    #[error(transparent)]
    Config(#[from] config::ConfigErrors),
    /// The steps do not form a plan (a bug in a step's `deps`).
    #[error("the bootstrap plan is inconsistent: {0}")]
    Plan(#[from] plan::PlanError),
    /// Something the plan needs is missing or unusable.
    #[error("{what}: {why}")]
    Setup {
        /// What.
        what: String,
        /// Why, and what to do.
        why: String,
    },
}

/// The clients the steps use: one ARM client and credential per subscription (shared by every cluster of
/// a fleet, so ARM throttling and the token cache are shared), the git host, the clock.
#[derive(Clone)]
pub struct Services {
    /// ARM.
    pub arm: Arc<ArmClient>,
    /// The credential (per-scope token cache).
    pub credential: Arc<CachedCredential>,
    /// The repository host.
    pub git: Arc<dyn GitHost>,
    /// The clock every wait goes through.
    pub clock: Arc<dyn Clock>,
    /// Where Flux's install manifests come from.
    pub manifests: Arc<dyn flux_objects::install::ManifestSource>,
    /// AKS clusters.
    pub clusters: Arc<dyn aks_cluster::Clusters>,
    /// Managed identities.
    pub identities: Arc<dyn aks_cluster::Identities>,
    /// Federated identity credentials.
    pub federated: Arc<dyn aks_cluster::FederatedCredentials>,
    /// Rewrites the kubeconfigs the AKS step fetches (the sandbox routes them to its fake API).
    pub kube_route: Option<steps::KubeRoute>,
    /// Role assignments.
    pub roles: Arc<dyn aks_cluster::RoleAssignments>,
    /// Key Vault (the SOPS key).
    pub key_vault: keyvault_sops::KeyVaultClient,
    /// Key Vaults on ARM (the SOPS vault).
    pub vaults: keyvault_sops::VaultManagement,
    /// Container registries on ARM (`helm.registry`).
    pub registries: acr_oci::RegistryManagement,
    /// Event Hubs namespaces and hubs on ARM (`notifications`).
    pub event_hubs: eventhub_auth::EventHubsArm,
    /// The cloud (endpoints, DNS suffixes).
    pub cloud: azflux_core::Cloud,
    /// The subscription's Resource Manager budget every client above shares.
    pub arm_throttle: throttle::ArmThrottle,
    /// The chart registry (`helm.registry`), when one is configured.
    pub charts: Option<Arc<dyn acr_oci::ChartRegistry>>,
    /// `git.auth = "ssh"`: the key pair (and known hosts) Flux reconciles with, the one the push uses.
    pub ssh: Option<devops_git::SshAuth>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").finish_non_exhaustive()
    }
}

/// Plan settings that are not configuration.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// How often the health step polls.
    pub health_poll: Duration,
    /// How long the health step waits.
    pub health_timeout: Duration,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            health_poll: Duration::from_secs(2),
            health_timeout: Duration::from_secs(5 * 60),
        }
    }
}

/// The Flux namespace.
pub const FLUX_NAMESPACE: &str = "flux-system";

/// The repository directory of a cluster.
pub fn cluster_path(cluster: &str) -> String {
    format!("clusters/{cluster}")
}

/// Step ids of a cluster's steps.
pub mod ids {
    /// `repo/flux-components`: one commit of every cluster's `gotk-components.yaml`.
    pub fn components_commit() -> String {
        "repo/flux-components".into()
    }
    /// `repo/flux-sync`: one commit of every cluster's gotk-sync.yaml and kustomization.yaml (a fleet
    /// pushes once, not once per cluster).
    pub fn sync_commit() -> String {
        "repo/flux-sync".into()
    }
    /// `repo/flux-extras`: `.sops.yaml`, the Helm repository and releases, the notification Provider/Alert.
    pub fn extras_commit() -> String {
        "repo/flux-extras".into()
    }
    /// `repo/image-automation`: every cluster's ImageRepository, ImagePolicy and ImageUpdateAutomation.
    pub fn image_automation_commit() -> String {
        "repo/image-automation".into()
    }
    /// `<cluster>/sops-azure-secret`: the `sops-azure` Secret (applied, never committed).
    pub fn sops_secret(c: &str) -> String {
        format!("{c}/sops-azure-secret")
    }
    /// `<cluster>/flux-components`: the install objects (namespace first), server-side applied.
    pub fn components(c: &str) -> String {
        format!("{c}/flux-components")
    }
    /// `<cluster>/flux-git-secret`.
    pub fn git_secret(c: &str) -> String {
        format!("{c}/flux-git-secret")
    }
    /// `<cluster>/flux-sync-objects`.
    pub fn sync_objects(c: &str) -> String {
        format!("{c}/flux-sync-objects")
    }
    /// `<cluster>/flux-health`.
    pub fn health(c: &str) -> String {
        format!("{c}/flux-health")
    }
}

/// The `gotk-sync.yaml` options of a cluster.
pub fn sync_options(
    config: &BootstrapConfig,
    cluster: &str,
) -> Result<flux_objects::SyncOptions, Error> {
    let git = &config.git;
    let bad = |e: devops_git::UrlError| Error::Setup {
        what: format!("git.url {}", git.url),
        why: e.to_string(),
    };
    let repo = RepoUrl::parse(&git.url).map_err(bad)?;
    let mut o = flux_objects::SyncOptions::new(String::new(), cluster_path(cluster));
    o.branch = git.branch.clone();
    o.interval = flux_objects::Duration::parse(&git.interval).map_err(|e| Error::Setup {
        what: "git.interval".into(),
        why: e.to_string(),
    })?;
    match git.auth {
        GitAuth::TokenAuth => {
            o.url = repo
                .token_auth_sync_url(git.allow_insecure_http)
                .map_err(bad)?
                .to_string()
        }
        GitAuth::HttpsSsh | GitAuth::Ssh => {
            o.url = repo
                .ssh_sync_url("git", git.ssh_hostname.as_deref())
                .map_err(bad)?
                .to_string()
        }
        GitAuth::WorkloadIdentity => {
            o.url = repo.token_auth_sync_url(false).map_err(bad)?.to_string();
            o.secret_name = None;
            o.provider = Some("azure".into());
        }
    }
    Ok(o)
}

/// What kustomize does with `KustomizeConfig::add_workload_identity`'s patches, applied to the install
/// objects: the controllers' ServiceAccounts get the identity's client and tenant id annotations, their
/// Deployments' pods the `azure.workload.identity/use: "true"` label.
pub fn workload_identity_patches(
    objects: &mut [serde_json::Value],
    controllers: &[String],
    identity: &steps::FluxIdentity,
) {
    use flux_objects::core::{WI_CLIENT_ID, WI_TENANT_ID, WI_USE_LABEL};
    for o in objects.iter_mut() {
        let name = o
            .pointer("/metadata/name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if !controllers.contains(&name) {
            continue;
        }
        match o.get("kind").and_then(serde_json::Value::as_str) {
            Some("ServiceAccount") => {
                o["metadata"]["annotations"][WI_CLIENT_ID] = identity.client_id.clone().into();
                o["metadata"]["annotations"][WI_TENANT_ID] = identity.tenant_id.clone().into();
            }
            Some("Deployment") => {
                o["spec"]["template"]["metadata"]["labels"][WI_USE_LABEL] = "true".into();
            }
            _ => {}
        }
    }
}

/// The roles the Flux identity needs on the configured resources: (step name, scope, role).
pub fn resource_roles(config: &BootstrapConfig) -> Vec<(&'static str, String, aks_cluster::Role)> {
    let sub = &config.subscription_id;
    let mut out = Vec::new();
    if let Some(s) = &config.sops {
        out.push((
            "key-vault-crypto-user",
            format!(
                "/subscriptions/{sub}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
                s.resource_group, s.key_vault
            ),
            aks_cluster::Role::KeyVaultCryptoUser,
        ));
    }
    if let Some(n) = &config.notifications {
        out.push((
            "event-hubs-data-sender",
            format!(
                "/subscriptions/{sub}/resourceGroups/{}/providers/Microsoft.EventHub/namespaces/{}/eventhubs/{}",
                n.resource_group, n.namespace, n.hub
            ),
            aks_cluster::Role::EventHubsDataSender,
        ));
    }
    if let Some(r) = &config.helm.registry {
        out.push((
            "acr-pull",
            format!(
                "/subscriptions/{sub}/resourceGroups/{}/providers/Microsoft.ContainerRegistry/registries/{r}",
                config.helm.resource_group
            ),
            aks_cluster::Role::AcrPull,
        ));
    }
    out
}

/// The step that ensures the resource a [`resource_roles`] entry is assigned on.
fn resource_step_for(config: &BootstrapConfig, what: &str) -> Option<String> {
    match what {
        "key-vault-crypto-user" => config
            .sops
            .as_ref()
            .map(|s| KeyVaultStep::id_for(&s.key_vault)),
        "event-hubs-data-sender" => config
            .notifications
            .as_ref()
            .map(|n| EventHubStep::id_for(&n.namespace, &n.hub)),
        "acr-pull" => config.helm.registry.as_deref().map(RegistryStep::id_for),
        _ => None,
    }
}

/// The kustomize patch adding SOPS decryption to the flux-system Kustomization (kustomize-controller
/// decrypts with its workload identity: no Secret).
pub fn decryption_patch(secret: Option<&str>) -> flux_objects::kustomize::Patch {
    let patch = serde_json::json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": FLUX_NAMESPACE, "namespace": FLUX_NAMESPACE},
        "spec": {"decryption": decryption(secret)},
    });
    flux_objects::kustomize::Patch {
        patch: Some(flux_objects::to_yaml(&patch)),
        path: None,
        target: Some(flux_objects::kustomize::PatchTarget {
            kind: Some("Kustomization".into()),
            name: Some(FLUX_NAMESPACE.into()),
            ..Default::default()
        }),
    }
}

/// The Kustomization's `spec.decryption`: SOPS, with `secretRef` when kustomize-controller reads the
/// Key Vault credentials from a Secret.
pub fn decryption(secret: Option<&str>) -> serde_json::Value {
    match secret {
        Some(name) => serde_json::json!({"provider": "sops", "secretRef": {"name": name}}),
        None => serde_json::json!({"provider": "sops"}),
    }
}

/// `.sops.yaml` for the Key Vault key `kid`: Secrets' `data`/`stringData` in every YAML file.
pub fn sops_rules(kid: &str) -> String {
    format!(
        "creation_rules:\n  - path_regex: .*\\.ya?ml$\n    encrypted_regex: ^(data|stringData)$\n    azure_keyvault: {kid}\n"
    )
}

/// The files of the extras commit: `.sops.yaml`; per cluster `notifications/eventhub.yaml` (Provider with
/// workload identity, Alert) and `apps/helm.yaml` (HelmRepository on ACR with `provider: azure`,
/// HelmReleases).
pub fn extra_files(
    config: &BootstrapConfig,
    cloud: &azflux_core::Cloud,
    ctx: &StepContext,
) -> Result<std::collections::BTreeMap<String, Vec<u8>>, StepError> {
    let mut files = std::collections::BTreeMap::new();
    let fix = |what: &str, e: &dyn std::error::Error| {
        StepError::from_error(what, e).todo("fix this part of azflux.toml, then run again")
    };
    if config.sops.is_some() {
        let kid = ctx.outputs.require("", keys::SOPS_KEY_ID, ".sops.yaml")?;
        files.insert(".sops.yaml".to_owned(), sops_rules(&kid).into_bytes());
    }
    for c in &config.clusters {
        let dir = cluster_path(&c.name);
        if let Some(n) = &config.notifications {
            let wiring = eventhub_auth::ProviderWiring::workload_identity(
                "azure-eventhub",
                FLUX_NAMESPACE,
                &n.hub,
                &n.namespace,
                None,
            )
            .map_err(|e| fix("notifications", &e))?;
            let sources = ["GitRepository", "Kustomization", "HelmRelease"]
                .iter()
                .map(|k| flux_objects::notification::EventSource {
                    kind: (*k).into(),
                    name: "*".into(),
                    ..Default::default()
                })
                .collect();
            let alert = flux_objects::Alert::new_for(
                "azure-eventhub",
                FLUX_NAMESPACE,
                "azure-eventhub",
                Some("info"),
                sources,
            )
            .map_err(|e| fix("notifications", &e))?;
            let text = flux_objects::render_all(&[&wiring.provider, &alert])
                .map_err(|e| fix("notifications", &e))?;
            files.insert(
                format!("{dir}/notifications/eventhub.yaml"),
                text.into_bytes(),
            );
        }
        if let Some(registry) = &config.helm.registry {
            let host = format!("{registry}.{}", cloud.container_registry_suffix);
            let interval = flux_objects::Duration::from_mins(10);
            let mut docs: Vec<Box<dyn flux_objects::Manifest>> = Vec::new();
            let mut releases: Vec<Box<dyn flux_objects::Manifest>> = Vec::new();
            let mut names: Vec<String> = Vec::new();
            for (repo, release) in
                helm_sources(config, &host).map_err(|e| fix("helm.releases", &e))?
            {
                let repository = acr_oci::flux::helm_repository(
                    cloud,
                    &repo.name,
                    FLUX_NAMESPACE,
                    &repo.url,
                    &acr_oci::flux::RepositoryAuth::Azure,
                    interval,
                )
                .map_err(|e| fix("helm.registry", &e))?;
                if !names.contains(&repo.name) {
                    names.push(repo.name.clone());
                    docs.push(Box::new(repository));
                }
                let Some(r) = release else { continue };
                acr_oci::VersionConstraint::parse(&r.version)
                    .map_err(|e| fix("helm.releases.version", &e))?;
                let release = flux_objects::HelmRelease::builder(&r.name, FLUX_NAMESPACE)
                    .chart(&repo.chart)
                    .source(&format!("HelmRepository/{}", repo.name))
                    .chart_version(&r.version)
                    .target_namespace(&r.namespace)
                    .interval(interval)
                    .build()
                    .map_err(|e| fix("helm.releases", &e))?;
                releases.push(Box::new(release));
            }
            docs.extend(releases);
            let refs: Vec<&dyn flux_objects::Manifest> = docs.iter().map(|d| d.as_ref()).collect();
            let text = flux_objects::render_all(&refs).map_err(|e| fix("helm", &e))?;
            files.insert(format!("{dir}/apps/helm.yaml"), text.into_bytes());
        }
    }
    Ok(files)
}

/// The HelmRepository a release's chart is pulled from: `spec.url` is the registry and the chart's parent
/// path (`chart = "charts/podinfo"` → `oci://<acr>/charts`, chart `podinfo`), as helm-controller joins
/// `<url>/<chart>` to find the chart (source-controller `OCIChartRepository.getChartVersion`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelmSource {
    /// The HelmRepository's name: `acr-charts` for the first parent path, `acr-charts-<n>` for the n-th.
    pub name: String,
    /// `oci://<registry host>[/<parent path>]`.
    pub url: String,
    /// The chart's name (the last path segment).
    pub chart: String,
}

/// Every `[[helm.releases]]` entry with its [`HelmSource`] (one HelmRepository per distinct parent path, in
/// configuration order); a registry without releases still gets `acr-charts` at its root path `helm`.
pub fn helm_sources<'a>(
    config: &'a BootstrapConfig,
    host: &str,
) -> Result<Vec<(HelmSource, Option<&'a config::ReleaseConfig>)>, acr_oci::Error> {
    let mut urls: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for r in &config.helm.releases {
        let chart = acr_oci::ChartRef::new(host, &r.chart)?;
        let url = chart.repository_url();
        let n = match urls.iter().position(|u| *u == url) {
            Some(n) => n,
            None => {
                urls.push(url.clone());
                urls.len() - 1
            }
        };
        let name = if n == 0 {
            "acr-charts".to_owned()
        } else {
            format!("acr-charts-{}", n + 1)
        };
        out.push((
            HelmSource {
                name,
                url,
                chart: chart.chart_name().to_owned(),
            },
            Some(r),
        ));
    }
    if out.is_empty() {
        out.push((
            HelmSource {
                name: "acr-charts".into(),
                url: format!("oci://{host}/helm"),
                chart: String::new(),
            },
            None,
        ));
    }
    Ok(out)
}

/// The author of the commits Flux's image automation pushes.
pub const IMAGE_AUTOMATION_AUTHOR: (&str, &str) =
    ("fluxcdbot", "fluxcdbot@users.noreply.github.com");

/// The files of the image automation commit for `cluster`: per `[[image_automation]]` entry
/// `clusters/<cluster>/image-automation/<name>.yaml` (ImageRepository, with `provider: azure` for ACR
/// images, and a semver ImagePolicy), and `clusters/<cluster>/image-automation/update.yaml` (the
/// ImageUpdateAutomation checking out and pushing the configured branch, updating `update_path`).
pub fn image_automation_files(
    config: &BootstrapConfig,
    cloud: &azflux_core::Cloud,
    cluster: &str,
) -> Result<std::collections::BTreeMap<String, Vec<u8>>, StepError> {
    let mut files = std::collections::BTreeMap::new();
    if config.image_automation.is_empty() {
        return Ok(files);
    }
    let fix = |what: &str, e: &dyn std::error::Error| {
        StepError::from_error(what, e)
            .todo("fix [[image_automation]] in azflux.toml, then run again")
    };
    let dir = format!("{}/image-automation", cluster_path(cluster));
    for i in &config.image_automation {
        let host = i.image.split('/').next().unwrap_or_default();
        let mut builder =
            flux_objects::ImageRepository::builder(&i.name, FLUX_NAMESPACE).image(&i.image);
        if cloud.is_registry_host(host) {
            builder = builder.provider("azure");
        }
        let repository = builder.build().map_err(|e| fix(&i.name, &e))?;
        let policy = flux_objects::ImagePolicy::semver(&i.name, FLUX_NAMESPACE, &i.name, &i.semver)
            .map_err(|e| fix(&i.name, &e))?;
        let text =
            flux_objects::render_all(&[&repository, &policy]).map_err(|e| fix(&i.name, &e))?;
        files.insert(format!("{dir}/{}.yaml", i.name), text.into_bytes());
    }
    let paths: std::collections::BTreeSet<String> = config
        .image_automation
        .iter()
        .map(|i| {
            i.update_path
                .clone()
                .unwrap_or_else(|| format!("./{}", cluster_path(cluster)))
        })
        .collect();
    let mut docs = Vec::new();
    for (n, path) in paths.iter().enumerate() {
        let name = if n == 0 {
            FLUX_NAMESPACE.to_owned()
        } else {
            format!("{FLUX_NAMESPACE}-{n}")
        };
        let automation = flux_objects::ImageUpdateAutomation::builder(&name, FLUX_NAMESPACE)
            .git_repository(FLUX_NAMESPACE, None)
            .checkout_branch(&config.git.branch)
            .push_branch(&config.git.branch)
            .author(IMAGE_AUTOMATION_AUTHOR.0, IMAGE_AUTOMATION_AUTHOR.1)
            .commit_template("Update images in {{ .Changed.FileChanges | len }} file(s)")
            .path(path)
            .build()
            .map_err(|e| fix("image_automation.update_path", &e))?;
        docs.push(automation);
    }
    let refs: Vec<&dyn flux_objects::Manifest> = docs
        .iter()
        .map(|d| d as &dyn flux_objects::Manifest)
        .collect();
    let text = flux_objects::render_all(&refs).map_err(|e| fix("image_automation", &e))?;
    files.insert(format!("{dir}/update.yaml"), text.into_bytes());
    Ok(files)
}

/// The `sops-azure` Secret of `config` (kustomize-controller's `sops.azure-kv`), when the configured
/// auth needs one: `None` for workload identity.
pub fn sops_azure_secret(
    config: &BootstrapConfig,
    secrets: &Secrets,
) -> Result<Option<flux_objects::Secret>, Error> {
    let Some(sops) = &config.sops else {
        return Ok(None);
    };
    let creds = match &sops.auth {
        config::SopsAuth::WorkloadIdentity => return Ok(None),
        config::SopsAuth::ManagedIdentity { client_id } => {
            flux_objects::SopsAzureKv::ManagedIdentity {
                client_id: client_id.clone(),
            }
        }
        config::SopsAuth::ClientSecret { client_id } => {
            let client_secret = secrets
                .sops_client_secret
                .clone()
                .ok_or_else(|| Error::Setup {
                    what: "the sops-azure Secret".into(),
                    why: format!(
                        "sops.auth = \"secret\" needs the client secret in {}",
                        config::ENV_SOPS_CLIENT_SECRET
                    ),
                })?;
            let tenant_id = config.tenant_id.clone().ok_or_else(|| Error::Setup {
                what: "the sops-azure Secret".into(),
                why: "sops.auth = \"secret\" needs azure.tenant (the service principal's tenant)"
                    .into(),
            })?;
            flux_objects::SopsAzureKv::ClientSecret {
                tenant_id,
                client_id: client_id.clone(),
                client_secret,
            }
        }
    };
    Ok(Some(keyvault_sops::flux::azure_secret(
        SOPS_AZURE_SECRET,
        FLUX_NAMESPACE,
        &creds,
    )))
}

/// The name of the Secret kustomize-controller decrypts with when it cannot use workload identity.
pub const SOPS_AZURE_SECRET: &str = "sops-azure";

/// The `flux install` options of the configuration.
pub fn install_options(config: &BootstrapConfig) -> flux_objects::install::InstallOptions {
    let mut o = flux_objects::install::InstallOptions::new(&config.flux.version);
    o.components = config.flux.components.clone();
    o.components_extra = config.flux.components_extra.clone();
    o
}

/// Composes the steps of the landed crates for every cluster of `config` into a plan.
///
/// Today: resource groups (azflux-core); the Flux install manifests (flux-objects); the repository, the
/// commit of `gotk-components.yaml` and the commit of the sync manifests (devops-git, flux-objects); and
/// the cluster side (install objects, git Secret, sync objects, health).
pub fn build_plan(
    config: &BootstrapConfig,
    secrets: &Secrets,
    services: &Services,
    options: &PlanOptions,
) -> Result<Plan, Error> {
    let git = &config.git;
    let repo = RepoUrl::parse(&git.url).map_err(|e| Error::Setup {
        what: format!("git.url {}", git.url),
        why: e.to_string(),
    })?;
    // SOPS: kustomize-controller uses workload identity on the AKS clusters the plan ensures; a cluster
    // given by kubeconfig (or `sops.auth` secret / managed-identity) reads the `sops-azure` Secret.
    let sops_secret = sops_azure_secret(config, secrets)?;
    if sops_secret.is_none()
        && let Some(sops) = &config.sops
        && let Some(c) = config.clusters.iter().find(|c| c.kubeconfig.is_some())
    {
        return Err(Error::Setup {
            what: format!(
                "sops (key {} in {}) for cluster {}",
                sops.key, sops.key_vault, c.name
            ),
            why: format!(
                "a cluster given by kubeconfig has no workload identity for kustomize-controller: set sops.auth = \"secret\" (sops.client_id, {} in the environment) or \"managed-identity\" (sops.client_id)",
                config::ENV_SOPS_CLIENT_SECRET
            ),
        });
    }
    let decrypt_secret = sops_secret.as_ref().map(|_| SOPS_AZURE_SECRET.to_owned());
    let mut steps: Vec<step::StepRef> = Vec::new();
    let mut groups = std::collections::BTreeSet::new();
    for c in &config.clusters {
        if groups.insert(c.resource_group.to_ascii_lowercase()) {
            steps.push(Arc::new(ResourceGroupStep::new(
                services.arm.clone(),
                &config.subscription_id,
                &c.resource_group,
                &c.location,
            )));
        }
    }
    // AKS: the cluster, the Flux identity, its federated credentials (clusters without a given kubeconfig).
    let install = install_options(config);
    let controllers = install.all_components();
    let mut identity_steps = Vec::new();
    for c in config.clusters.iter().filter(|c| c.kubeconfig.is_none()) {
        let rg = ResourceGroupStep::id_for(&c.resource_group);
        steps.push(Arc::new(
            AksClusterStep::new(
                &c.name,
                vec![rg.clone()],
                aks_cluster::ClusterSpec::new(
                    &config.subscription_id,
                    &c.resource_group,
                    &c.name,
                    &c.location,
                ),
                services.clusters.clone(),
                services.kube_route.clone(),
            )
            .with_credential(services.credential.clone()),
        ));
        steps.push(Arc::new(FluxIdentityStep::new(
            &c.name,
            vec![rg],
            aks_cluster::IdentitySpec::new(
                &config.subscription_id,
                &c.resource_group,
                format!("id-{}-flux", c.name),
                &c.location,
            ),
            services.identities.clone(),
        )));
        steps.push(Arc::new(FederatedCredentialsStep::new(
            &c.name,
            controllers.clone(),
            services.federated.clone(),
        )));
        identity_steps.push(FluxIdentityStep::id_for(&c.name));
        for (what, scope, role) in resource_roles(config) {
            steps.push(Arc::new(
                FluxRoleStep::new(
                    &c.name,
                    what,
                    &scope,
                    role,
                    services.arm.clone(),
                    services.roles.clone(),
                )
                .after(resource_step_for(config, what).into_iter().collect()),
            ));
        }
    }
    // The Azure resources Flux uses, created in [azure].location when missing (never modified).
    let mut group_step = |steps: &mut Vec<step::StepRef>, rg: &str| {
        if groups.insert(rg.to_ascii_lowercase()) {
            steps.push(Arc::new(ResourceGroupStep::new(
                services.arm.clone(),
                &config.subscription_id,
                rg,
                &config.location,
            )));
        }
        vec![ResourceGroupStep::id_for(rg)]
    };
    let arm_scope = services.cloud.arm_scope();
    if let Some(sops) = &config.sops {
        let spec = keyvault_sops::VaultSpec::new(
            &config.subscription_id,
            &sops.resource_group,
            &sops.key_vault,
            &config.location,
            config.tenant_id.clone().unwrap_or_default(),
        );
        let vault_step = KeyVaultStep::id_for(&sops.key_vault);
        let rg = group_step(&mut steps, &sops.resource_group);
        steps.push(Arc::new(CallerKeyAccessStep::new(
            &spec,
            vec![vault_step.clone()],
            services.vaults.clone(),
            services.roles.clone(),
            services.arm.clone(),
            services.credential.clone(),
            &arm_scope,
        )));
        steps.push(Arc::new(KeyVaultStep::new(
            spec,
            rg,
            services.vaults.clone(),
            services.credential.clone(),
            &arm_scope,
        )));
        steps.push(Arc::new(
            SopsKeyStep::new(
                services.key_vault.clone(),
                &format!(
                    "https://{}.{}",
                    sops.key_vault, services.cloud.key_vault_suffix
                ),
                &sops.key,
            )
            .after(vec![vault_step, CallerKeyAccessStep::ID.to_owned()]),
        ));
    }
    if let Some(registry) = &config.helm.registry {
        let rg = group_step(&mut steps, &config.helm.resource_group);
        steps.push(Arc::new(RegistryStep::new(
            acr_oci::RegistrySpec::new(
                &config.subscription_id,
                &config.helm.resource_group,
                registry,
                &config.location,
            ),
            rg,
            services.registries.clone(),
        )));
    }
    if let Some(n) = &config.notifications {
        let rg = group_step(&mut steps, &n.resource_group);
        steps.push(Arc::new(EventHubStep::new(
            eventhub_auth::NamespaceSpec::new(
                &config.subscription_id,
                &n.resource_group,
                &n.namespace,
                &config.location,
            ),
            eventhub_auth::EventHubSpec::new(&n.hub),
            rg,
            services.event_hubs.clone(),
        )));
    }
    steps.push(Arc::new(RepositoryStep::ensure(
        services.git.clone(),
        repo.clone(),
        &git.branch,
    )));
    steps.push(Arc::new(FluxManifestsStep::new(
        services.manifests.clone(),
        &config.flux.version,
    )));
    let secret_source = match git.auth {
        GitAuth::TokenAuth => {
            let pat = secrets.git_pat.clone().ok_or_else(|| Error::Setup {
                what: "the Flux git Secret".into(),
                why: format!("token-auth needs the PAT in {}", config::ENV_GIT_PAT),
            })?;
            devops_git::GitCredentials::Basic(devops_git::BasicAuth::pat(pat))
                .flux_secret_data()
                .map(steps::GitSecretSource::Fixed)
        }
        GitAuth::Ssh if services.ssh.is_some() => services
            .ssh
            .clone()
            .and_then(|ssh| devops_git::GitCredentials::Ssh(ssh).flux_secret_data())
            .map(steps::GitSecretSource::Fixed),
        GitAuth::HttpsSsh | GitAuth::Ssh => Some(steps::GitSecretSource::GenerateSsh(
            devops_git::KnownHosts::azure_devops(),
        )),
        GitAuth::WorkloadIdentity => None,
    };
    let dirs: Vec<String> = config
        .clusters
        .iter()
        .map(|c| format!("{}/{FLUX_NAMESPACE}", cluster_path(&c.name)))
        .collect();

    // Commit 1 (as flux bootstrap): every cluster's gotk-components.yaml.
    let (components_dirs, components_install) = (dirs.clone(), install.clone());
    steps.push(Arc::new(CommitFiles::new(
        ids::components_commit(),
        None,
        vec![FluxManifestsStep::ID.into()],
        services.git.clone(),
        repo.clone(),
        &git.branch,
        &format!("Add Flux {} component manifests", config.flux.version),
        Arc::new(move |ctx| {
            let artifacts = ctx
                .outputs
                .require("", FLUX_MANIFESTS, "gotk-components.yaml")?;
            let rendered =
                flux_objects::install::render(&artifacts, &components_install).map_err(|e| {
                    StepError::from_error("gotk-components.yaml", &e)
                        .todo("check flux.version, flux.components and flux.components_extra")
                })?;
            Ok(components_dirs
                .iter()
                .map(|d| {
                    (
                        format!("{d}/gotk-components.yaml"),
                        rendered.clone().into_bytes(),
                    )
                })
                .collect())
        }),
    )));

    // Commit 2: every cluster's gotk-sync.yaml, and kustomization.yaml where there is none yet.
    let mut sync_files = Vec::new();
    for (c, dir) in config.clusters.iter().zip(&dirs) {
        sync_files.push((c.name.clone(), dir.clone(), sync_options(config, &c.name)?));
    }
    let patched = controllers.clone();
    let decrypt = config.sops.is_some();
    let patch_secret = decrypt_secret.clone();
    let mut sync_deps = vec![ids::components_commit()];
    sync_deps.extend(identity_steps.iter().cloned());
    let mut commit = CommitFiles::new(
        ids::sync_commit(),
        None,
        sync_deps,
        services.git.clone(),
        repo.clone(),
        &git.branch,
        "Add Flux sync manifests",
        Arc::new(move |ctx| {
            let mut files = std::collections::BTreeMap::new();
            for (cluster, dir, sync) in &sync_files {
                let gotk = flux_objects::gotk_sync(sync).map_err(|e| {
                    StepError::from_error(format!("{dir}/gotk-sync.yaml"), &e)
                        .todo("fix the git settings in azflux.toml")
                })?;
                files.insert(format!("{dir}/gotk-sync.yaml"), gotk.into_bytes());
                let mut kustomization = flux_objects::KustomizeConfig::flux_system();
                if decrypt {
                    kustomization
                        .patches
                        .push(decryption_patch(patch_secret.as_deref()));
                }
                if let Some(id) = ctx.outputs.get(cluster, FLUX_IDENTITY) {
                    let names: Vec<&str> = patched.iter().map(String::as_str).collect();
                    kustomization = kustomization.add_workload_identity(
                        &names,
                        FLUX_NAMESPACE,
                        &id.client_id,
                        &id.tenant_id,
                    );
                }
                files.insert(
                    format!("{dir}/kustomization.yaml"),
                    kustomization.to_file().into_bytes(),
                );
            }
            Ok(files)
        }),
    );
    for dir in &dirs {
        commit = commit.only_if_absent(format!("{dir}/kustomization.yaml"));
    }
    steps.push(Arc::new(commit));

    // The cluster side.
    for c in &config.clusters {
        let name = c.name.as_str();
        let sync = sync_options(config, name)?;
        let components_install = install.clone();
        let mut components_deps = vec![FluxManifestsStep::ID.to_owned()];
        if c.kubeconfig.is_none() {
            components_deps.push(AksClusterStep::id_for(name));
            components_deps.push(FluxIdentityStep::id_for(name));
        }
        let cluster_name = name.to_owned();
        steps.push(Arc::new(ApplyObjects::new(
            ids::components(name),
            name,
            components_deps,
            "Flux components (install manifests, workload identity patches)",
            Arc::new(move |ctx| {
                let artifacts = ctx.outputs.require("", FLUX_MANIFESTS, "Flux components")?;
                let mut objects = flux_objects::install::objects(&artifacts, &components_install)
                    .map_err(|e| {
                    StepError::from_error("Flux components", &e)
                        .todo("check flux.version, flux.components and flux.components_extra")
                })?;
                if let Some(id) = ctx.outputs.get(&cluster_name, FLUX_IDENTITY) {
                    workload_identity_patches(
                        &mut objects,
                        &components_install.all_components(),
                        &id,
                    );
                }
                Ok(objects)
            }),
        )));
        let mut sync_deps = vec![ids::components(name), ids::sync_commit()];
        if let Some(source) = &secret_source {
            steps.push(Arc::new(FluxGitSecret::new(
                ids::git_secret(name),
                name,
                vec![ids::components(name)],
                FLUX_NAMESPACE,
                sync.secret_name.as_deref().unwrap_or(FLUX_NAMESPACE),
                source.clone(),
            )));
            sync_deps.push(ids::git_secret(name));
        }
        if let Some(secret) = &sops_secret {
            let secret = flux_objects::object::Manifest::to_json(secret);
            steps.push(Arc::new(ApplyObjects::new(
                ids::sops_secret(name),
                name,
                vec![ids::components(name)],
                "the sops-azure Secret (Key Vault credentials of kustomize-controller)",
                Arc::new(move |_| Ok(vec![secret.clone()])),
            )));
            sync_deps.push(ids::sops_secret(name));
        }
        let objects_sync = sync.clone();
        let decrypt_applied = config.sops.is_some();
        let applied_secret = decrypt_secret.clone();
        steps.push(Arc::new(ApplyObjects::new(
            ids::sync_objects(name),
            name,
            sync_deps,
            "GitRepository and Kustomization flux-system",
            Arc::new(move |_| {
                let (g, k) = flux_objects::bootstrap::sync_objects(&objects_sync).map_err(|e| {
                    StepError::from_error("gotk-sync objects", &e)
                        .todo("fix the git settings in azflux.toml")
                })?;
                let mut k = flux_objects::object::Manifest::to_json(&k);
                if decrypt_applied {
                    k["spec"]["decryption"] = decryption(applied_secret.as_deref());
                }
                Ok(vec![flux_objects::object::Manifest::to_json(&g), k])
            }),
        )));
        steps.push(Arc::new(KustomizationHealth::new(
            ids::health(name),
            name,
            vec![ids::sync_objects(name), RepositoryStep::REVISION_ID.into()],
            FLUX_NAMESPACE,
            FLUX_NAMESPACE,
            options.health_poll,
            options.health_timeout,
        )));
    }
    let mut commits = vec![ids::components_commit(), ids::sync_commit()];
    if config.sops.is_some() || config.notifications.is_some() || config.helm.registry.is_some() {
        let mut deps = vec![ids::sync_commit()];
        if config.sops.is_some() {
            deps.push(SopsKeyStep::ID.into());
        }
        if let Some(n) = &config.notifications {
            deps.push(EventHubStep::id_for(&n.namespace, &n.hub));
        }
        if let (Some(charts), Some(registry)) = (&services.charts, &config.helm.registry) {
            let host = format!("{registry}.{}", services.cloud.container_registry_suffix);
            for r in &config.helm.releases {
                let chart = acr_oci::ChartRef::new(&host, &r.chart).map_err(|e| Error::Setup {
                    what: format!("helm.releases {}", r.name),
                    why: e.to_string(),
                })?;
                steps.push(Arc::new(
                    AcrChartStep::new(&r.name, charts.clone(), chart, &r.version)
                        .after(vec![RegistryStep::id_for(registry)]),
                ));
                deps.push(AcrChartStep::id_for(&r.name));
            }
        }
        let extras_config = config.clone();
        let cloud = services.cloud.clone();
        steps.push(Arc::new(CommitFiles::new(
            ids::extras_commit(),
            None,
            deps,
            services.git.clone(),
            repo.clone(),
            &git.branch,
            "Add SOPS rules, Helm releases and notifications",
            Arc::new(move |ctx| extra_files(&extras_config, &cloud, ctx)),
        )));
        commits.push(ids::extras_commit());
    }
    if !config.image_automation.is_empty() {
        // On top of the extras commit (when there is one): the automation updates the files it writes
        // (`apps/helm.yaml`), and the commits keep one order.
        let (ia_config, cloud) = (config.clone(), services.cloud.clone());
        let ia_deps = if commits.contains(&ids::extras_commit()) {
            vec![ids::sync_commit(), ids::extras_commit()]
        } else {
            vec![ids::sync_commit()]
        };
        steps.push(Arc::new(CommitFiles::new(
            ids::image_automation_commit(),
            None,
            ia_deps,
            services.git.clone(),
            repo.clone(),
            &git.branch,
            "Add image automation (ImageRepository, ImagePolicy, ImageUpdateAutomation)",
            Arc::new(move |_| {
                let mut files = std::collections::BTreeMap::new();
                for c in &ia_config.clusters {
                    files.extend(image_automation_files(&ia_config, &cloud, &c.name)?);
                }
                Ok(files)
            }),
        )));
        commits.push(ids::image_automation_commit());
    }
    steps.push(Arc::new(RepositoryStep::revision(
        services.git.clone(),
        repo,
        &git.branch,
        commits,
    )));
    Ok(Plan::new(steps)?)
}

/// Everything a run needs besides the configuration.
#[derive(Clone)]
pub struct RunInputs {
    /// The clients.
    pub services: Services,
    /// Outputs known before the run (kubeconfigs of existing clusters).
    pub seeds: Outputs,
    /// Whether this is the sandbox.
    pub sandbox: bool,
    /// The sandbox's bare repository directory.
    pub local_repo_dir: Option<PathBuf>,
}

impl std::fmt::Debug for RunInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunInputs")
            .field("sandbox", &self.sandbox)
            .finish_non_exhaustive()
    }
}

/// Builds the plan and runs it; emits every event and the summary to `sink`.
pub async fn run_plan(
    config: &BootstrapConfig,
    secrets: &Secrets,
    inputs: &RunInputs,
    plan_options: &PlanOptions,
    executor: ExecutorOptions,
    sink: &dyn EventSink,
) -> Result<(RunReport, Summary), Error> {
    let plan = build_plan(config, secrets, &inputs.services, plan_options)?;
    if let Some(fail) = &executor.fail_at
        && plan.get(&fail.step).is_none()
    {
        return Err(Error::Setup {
            what: format!("--fail-at {}", fail.step),
            why: format!("no such step; the steps are: {}", plan.ids().join(", ")),
        });
    }
    let ctx = StepContext {
        outputs: inputs.seeds.clone(),
        clock: inputs.services.clock.clone(),
    };
    let report = Executor::new(executor).run(&plan, &ctx, sink).await;
    let clusters = config
        .clusters
        .iter()
        .map(|c| summary::ClusterSummary {
            name: c.name.clone(),
            api_server: ctx.outputs.get(&c.name, keys::KUBECONFIG).map(|k| k.server),
            path: cluster_path(&c.name),
        })
        .collect();
    let repository = summary::RepoSummary {
        url: config.git.url.clone(),
        branch: config.git.branch.clone(),
        revision: ctx.outputs.get("", keys::PUSHED_REVISION),
        local_dir: inputs
            .local_repo_dir
            .as_ref()
            .map(|d| d.display().to_string()),
    };
    let summary = Summary::new(&report, inputs.sandbox, clusters, repository);
    sink.event(&Event::Summary(summary.clone()));
    Ok((report, summary))
}

/// The flags of `cargo xtask bootstrap`.
#[derive(Debug, Clone, clap::Args)]
pub struct BootstrapArgs {
    /// The configuration file. Without it: the sandbox (embedded fake cloud, local repository).
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Print the plan (what exists, what would change) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Bootstrap the clusters of this fleet file (one subscription and repository).
    #[arg(long)]
    pub fleet: Option<PathBuf>,
    /// How to show progress.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Steps running at the same time.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Sandbox: where the local repository and caches go (default: a new directory under target/).
    #[arg(long)]
    pub workdir: Option<PathBuf>,
    /// Stop as if the process died at this step (`STEP` before its ensure, `STEP:after` after it).
    #[arg(long, hide = true)]
    pub fail_at: Option<String>,
}

/// Parses `--fail-at STEP[:after|:before]`.
pub fn parse_fail_at(s: &str) -> FailAt {
    match s.rsplit_once(':') {
        Some((step, "after")) => FailAt {
            step: step.into(),
            point: FailPoint::After,
        },
        Some((step, "before")) => FailAt {
            step: step.into(),
            point: FailPoint::Before,
        },
        _ => FailAt {
            step: s.into(),
            point: FailPoint::Before,
        },
    }
}

/// `cargo xtask bootstrap`: returns whether every step succeeded.
pub async fn main(args: BootstrapArgs) -> anyhow::Result<bool> {
    let sink = progress::sink_for(args.output);
    let cancel = Arc::new(AtomicBool::new(false));
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.store(true, std::sync::atomic::Ordering::SeqCst);
            eprintln!("\ninterrupted: letting running steps finish; run again to resume");
        }
    });
    let executor = ExecutorOptions {
        concurrency: args.concurrency,
        dry_run: args.dry_run,
        fail_at: args.fail_at.as_deref().map(parse_fail_at),
        cancel,
    };
    let env = |name: &str| std::env::var(name).ok();
    let summary = match &args.config {
        None => {
            let workdir = match &args.workdir {
                Some(d) => d.clone(),
                None => sandbox::default_workdir()?,
            };
            let sb = sandbox::Sandbox::start(sandbox::SandboxOptions::new(workdir)).await?;
            let names = match &args.fleet {
                Some(f) => {
                    let text = std::fs::read_to_string(f).with_context(|| {
                        format!("could not read the fleet file {}", f.display())
                    })?;
                    let base = sb.config(&[sandbox::SANDBOX_CLUSTER.to_owned()]);
                    config::parse_fleet(&f.display().to_string(), &text, Some(&base))?
                        .into_iter()
                        .map(|c| c.name)
                        .collect()
                }
                None => vec![sandbox::SANDBOX_CLUSTER.to_owned()],
            };
            let (_, summary) = sb
                .run(&names, PlanOptions::default(), executor, sink.as_ref())
                .await?;
            sb.write_state()?;
            summary
        }
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("could not read the configuration {}", path.display()))?;
            let secrets = Secrets::from_env(&env);
            let mut config = config::parse(&path.display().to_string(), &text, &secrets)?;
            if let Some(f) = &args.fleet {
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("could not read the fleet file {}", f.display()))?;
                config.clusters =
                    config::parse_fleet(&f.display().to_string(), &text, Some(&config))?;
            }
            let inputs = real_inputs(&config, &secrets, &env).await?;
            let (_, summary) = run_plan(
                &config,
                &secrets,
                &inputs,
                &PlanOptions::default(),
                executor,
                sink.as_ref(),
            )
            .await?;
            summary
        }
    };
    Ok(summary.ok)
}

/// The ACR client of `helm.registry` (Entra ID token exchange), if one is configured.
pub fn chart_registry(
    config: &BootstrapConfig,
    cloud: &azflux_core::Cloud,
    credential: Arc<CachedCredential>,
    http: &azflux_core::http::HttpPipelineOptions,
) -> Result<Option<Arc<dyn acr_oci::ChartRegistry>>, Error> {
    let Some(registry) = &config.helm.registry else {
        return Ok(None);
    };
    let host = format!("{registry}.{}", cloud.container_registry_suffix);
    let client = acr_oci::AcrClient::new(
        &host,
        acr_oci::AcrAuth::Aad {
            credential,
            tenant_id: config.tenant_id.clone(),
        },
        acr_oci::AcrClientOptions {
            http: http.clone(),
            cloud: cloud.clone(),
            ..Default::default()
        },
    )
    .map_err(|e| Error::Setup {
        what: format!("helm.registry {registry}"),
        why: e.to_string(),
    })?;
    Ok(Some(Arc::new(client)))
}

/// `git.auth = "ssh"`: the key pair at `git.ssh_key` (default `.azflux/flux-ssh/identity`), loaded or
/// generated 0600, and the known hosts: Azure DevOps' host key is embedded, other hosts are scanned once
/// (as flux bootstrap does). `None` for the other auth modes.
pub fn ssh_auth(
    config: &BootstrapConfig,
    repo_url: &RepoUrl,
) -> Result<Option<devops_git::SshAuth>, Error> {
    Ok(match config.git.auth {
        GitAuth::Ssh => {
            let path = config
                .git
                .ssh_key
                .clone()
                .unwrap_or_else(|| ssh_key::default_path(Path::new(".azflux")));
            let (key, origin) = ssh_key::load_or_generate(&path, ssh_key::algorithm_for(repo_url))?;
            if origin == ssh_key::KeyOrigin::Generated {
                eprintln!(
                    "generated the SSH key {} ({}): register {} in Azure DevOps (User settings > SSH public keys) before the push",
                    path.display(),
                    key.fingerprint(),
                    ssh_key::public_path(&path).display()
                );
            }
            let known_hosts = if repo_url.azure_devops().is_some() {
                devops_git::KnownHosts::azure_devops()
            } else {
                let url = repo_url
                    .ssh_sync_url("git", config.git.ssh_hostname.as_deref())
                    .map_err(|e| Error::Setup {
                        what: format!("git.url {}", config.git.url),
                        why: e.to_string(),
                    })?;
                let host =
                    devops_git::ssh::scan_host_key(url.host_str().unwrap_or_default(), url.port())
                        .map_err(|e| Error::Setup {
                            what: format!(
                                "the SSH host key of {}",
                                url.host_str().unwrap_or_default()
                            ),
                            why: e.to_string(),
                        })?;
                let mut k = devops_git::KnownHosts::default();
                k.push(host);
                k
            };
            Some(devops_git::SshAuth::new(key, known_hosts))
        }
        _ => None,
    })
}

/// The clients for real Azure: the environment credential chain, one ARM client, plain git, and the
/// clusters' kubeconfig files.
pub async fn real_inputs(
    config: &BootstrapConfig,
    secrets: &Secrets,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<RunInputs, Error> {
    let cloud = azflux_core::Cloud::public();
    let (http, arm_throttle) = throttle::ArmThrottle::wrap_options(
        azflux_core::http::HttpPipelineOptions::default(),
        cloud
            .resource_manager
            .host_str()
            .unwrap_or("management.azure.com"),
    );
    let (credential, _) =
        crate::credentials::from_env(env, http.client_options()).map_err(|e| Error::Setup {
            what: "the Azure credential".into(),
            why: format!("{e:#}"),
        })?;
    let arm = Arc::new(ArmClient::new(
        &azflux_core::Cloud::public(),
        credential.clone(),
        azflux_core::arm::ArmClientOptions {
            http: http.clone(),
            ..Default::default()
        },
    ));
    let repo_url = RepoUrl::parse(&config.git.url).map_err(|e| Error::Setup {
        what: format!("git.url {}", config.git.url),
        why: e.to_string(),
    })?;
    let pat = || {
        secrets.git_pat.clone().ok_or_else(|| Error::Setup {
            what: "the git credential".into(),
            why: format!("set {}", config::ENV_GIT_PAT),
        })
    };
    // Azure DevOps over HTTPS: the REST host (creates the repository, pushes without git); with workload
    // identity its pipeline fetches and refreshes the Entra token. Other hosts, and SSH: plain git.
    let ado_https =
        repo_url.azure_devops().is_some() && repo_url.scheme() == devops_git::Scheme::Https;
    let ssh = ssh_auth(config, &repo_url)?;
    let git: Arc<dyn GitHost> = match config.git.auth {
        GitAuth::TokenAuth | GitAuth::HttpsSsh if ado_https => {
            Arc::new(devops_git::DevOpsRestHost::with_pat(&http, pat()?))
        }
        GitAuth::WorkloadIdentity => Arc::new(devops_git::DevOpsRestHost::with_entra(
            &http,
            &cloud,
            credential.clone(),
        )),
        GitAuth::TokenAuth | GitAuth::HttpsSsh => Arc::new(
            devops_git::PlainGitHost::new(devops_git::GitCredentials::Basic(
                devops_git::BasicAuth::pat(pat()?),
            ))
            .map_err(|e| Error::Setup {
                what: "the git client".into(),
                why: e.to_string(),
            })?,
        ),
        GitAuth::Ssh => {
            let auth = ssh.clone().ok_or_else(|| Error::Setup {
                what: "git.auth = \"ssh\"".into(),
                why: "no SSH key".into(),
            })?;
            Arc::new(
                devops_git::PlainGitHost::new(devops_git::GitCredentials::Ssh(auth)).map_err(
                    |e| Error::Setup {
                        what: "the git client (SSH)".into(),
                        why: e.to_string(),
                    },
                )?,
            )
        }
    };
    let manifests: Arc<dyn flux_objects::install::ManifestSource> = match &config.flux.manifests_dir
    {
        Some(dir) => Arc::new(flux_objects::install::fetch::LocalDirSource::new(
            dir.clone(),
        )),
        None => {
            let cache = env("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .unwrap_or_else(std::env::temp_dir)
                .join("azflux/flux-manifests");
            Arc::new(flux_objects::install::fetch::GitHubReleaseSource::new(
                cache,
            ))
        }
    };
    // Clusters with a kubeconfig are used as they are; the others are AKS clusters the plan ensures.
    let seeds = Outputs::default();
    for c in &config.clusters {
        let Some(path) = &c.kubeconfig else { continue };
        let text = std::fs::read_to_string(path).map_err(|e| Error::Setup {
            what: format!("kubeconfig {}", path.display()),
            why: e.to_string(),
        })?;
        let kc =
            kube::Kubeconfig::parse(&text, c.context.as_deref()).map_err(|e| Error::Setup {
                what: format!("cluster {}", c.name),
                why: e.to_string(),
            })?;
        // A kubelogin (Entra ID) user gets its token from the run's own credential: no kubelogin needed.
        let kc = kc.with_entra_credential(credential.clone());
        seeds.put(&c.name, keys::KUBECONFIG, kc);
    }
    let aks = Arc::new(aks_cluster::ClustersClient::new(
        &azflux_core::Cloud::public(),
        credential.clone(),
        aks_cluster::ClustersClientOptions {
            arm: azflux_core::arm::ArmClientOptions {
                http: http.clone(),
                ..Default::default()
            },
            ..Default::default()
        },
    ));
    let (vaults, registries, event_hubs) = (
        keyvault_sops::VaultManagement::new((*arm).clone()),
        acr_oci::RegistryManagement::new((*arm).clone()).with_cloud(&cloud),
        eventhub_auth::EventHubsArm::new((*arm).clone()),
    );
    Ok(RunInputs {
        services: Services {
            arm,
            credential: credential.clone(),
            git,
            clock: azflux_core::clock::system_clock(),
            manifests,
            clusters: aks.clone(),
            identities: aks.clone(),
            federated: aks.clone(),
            kube_route: None,
            roles: aks,
            key_vault: keyvault_sops::KeyVaultClient::new(
                &azflux_core::Cloud::public(),
                credential.clone(),
                &http,
            ),
            vaults,
            registries,
            event_hubs,
            charts: chart_registry(config, &cloud, credential.clone(), &http)?,
            ssh,
            cloud,
            arm_throttle,
        },
        seeds,
        sandbox: false,
        local_repo_dir: None,
    })
}
