//! `azflux.toml`: the bootstrap configuration, validated up front with every problem reported at once,
//! each with its line. Secrets are never read from the file: they come from the environment
//! (`AZFLUX_GIT_PAT`, and the Azure credential chain's `AZURE_TENANT_ID`/`AZURE_CLIENT_ID`/
//! `AZURE_CLIENT_SECRET` or `AZURE_FEDERATED_TOKEN_FILE`…).
//!
//! ```toml
//! [azure]
//! subscription = "00000000-0000-0000-0000-000000000000"
//! resource_group = "rg-flux"
//! location = "westeurope"
//!
//! [cluster]
//! name = "aks-flux"                # the AKS cluster the plan ensures, and clusters/<name> in the repo
//! # kubeconfig = "aks.kubeconfig"  # use an existing cluster as it is (no AKS, identity or role steps)
//! # context = "aks-flux"
//!
//! [git]
//! url = "https://dev.azure.com/my-org/my-project/_git/fleet-infra"
//! branch = "main"
//! auth = "token-auth"   # token-auth | https-ssh | ssh | workload-identity
//! # ssh_hostname = "ssh.dev.azure.com"
//! # ssh_key = "keys/flux"     # auth = "ssh": the key pair (and keys/flux.pub), generated there (0600)
//! #                           # when missing; default .azflux/flux-ssh/identity in the current directory
//! # interval = "1m"
//!
//! [flux]
//! version = "v2.9.0"
//! components_extra = ["image-reflector-controller", "image-automation-controller"]
//! # manifests_dir = "flux-manifests/"   # an unpacked manifests.tar.gz instead of the GitHub release
//!
//! [helm]
//! registry = "myregistry"           # ACR name, created (Basic) when missing (resource_group defaults to [azure]'s)
//! [[helm.releases]]
//! name = "podinfo"
//! chart = "helm/podinfo"
//! version = "6.*"
//! namespace = "podinfo"
//!
//! [sops]
//! key_vault = "kv-flux"             # created in [azure].location when missing (RBAC mode); an
//!                                   # existing vault is used as it is (resource_group defaults to [azure]'s)
//! key = "sops"
//!
//! # auth = "workload-identity"    # workload-identity | secret | managed-identity: how
//! #                                 # kustomize-controller reaches the key (clusters given by kubeconfig
//! #                                 # cannot use workload identity); secret and managed-identity apply
//! #                                 # the `sops-azure` Secret to the cluster (never committed)
//! # client_id = "…"                 # secret / managed-identity; secret reads AZFLUX_SOPS_CLIENT_SECRET
//!
//! [notifications]
//! event_hub_namespace = "ehns-flux" # created (Standard) with the hub when missing
//! event_hub = "flux"
//!
//! [[image_automation]]              # needs both image controllers in flux.components_extra
//! name = "app"
//! image = "myacr.azurecr.io/app"    # ACR images are scanned with `provider: azure`
//! semver = ">=1.0.0"
//! # update_path = "./clusters/aks-flux/apps"  # default ./clusters/<cluster>
//! ```
//!
//! A fleet file (`--fleet`) lists `[[cluster]]` tables (`name`, optional `resource_group`, `location`,
//! `kubeconfig`, `context`) bootstrapped with the rest of this configuration.

use secrecy::SecretString;
use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;
use toml::Spanned;

/// Env var holding the Azure DevOps PAT (token-auth and HTTPS bootstrap).
pub const ENV_GIT_PAT: &str = "AZFLUX_GIT_PAT";

/// Env var holding the client secret of `sops.auth = "secret"`.
pub const ENV_SOPS_CLIENT_SECRET: &str = "AZFLUX_SOPS_CLIENT_SECRET";

/// One configuration problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line (0 when the problem is not in the file, e.g. a missing environment variable).
    pub line: usize,
    /// The key (`git.url`).
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// Every problem of a configuration.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigErrors {
    /// The file.
    pub file: String,
    /// The problems, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} has {} problem(s):", self.file, self.problems.len())?;
        for p in &self.problems {
            if p.line > 0 {
                writeln!(f, "  {}:{}: {}: {}", self.file, p.line, p.key, p.message)?;
            } else {
                writeln!(f, "  {}: {}: {}", self.file, p.key, p.message)?;
            }
        }
        Ok(())
    }
}

/// How Flux and the bootstrap reach the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitAuth {
    /// HTTPS with a PAT (`flux bootstrap git --token-auth`): pushes and Flux both use the PAT.
    TokenAuth,
    /// HTTPS push with the PAT; Flux reconciles over SSH with a generated RSA 4096 key.
    HttpsSsh,
    /// SSH for both, with a generated RSA 4096 key.
    Ssh,
    /// Entra ID workload identity (GitRepository `provider: azure`), no Secret.
    WorkloadIdentity,
}

impl GitAuth {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "token-auth" => GitAuth::TokenAuth,
            "https-ssh" => GitAuth::HttpsSsh,
            "ssh" => GitAuth::Ssh,
            "workload-identity" => GitAuth::WorkloadIdentity,
            _ => return None,
        })
    }
}

/// A cluster to bootstrap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The AKS cluster's name (and its repository directory `clusters/<name>`).
    pub name: String,
    /// Its resource group.
    pub resource_group: String,
    /// Its location.
    pub location: String,
    /// A kubeconfig file to reach it, until the AKS step produces one.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: current).
    pub context: Option<String>,
}

/// The git repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitConfig {
    /// The repository URL.
    pub url: String,
    /// The branch.
    pub branch: String,
    /// How to authenticate.
    pub auth: GitAuth,
    /// SSH host for Flux (`ssh.dev.azure.com`).
    pub ssh_hostname: Option<String>,
    /// `auth = "ssh"`: the private key file (public key at `<path>.pub`), generated there when missing.
    pub ssh_key: Option<PathBuf>,
    /// GitRepository interval (`1m`).
    pub interval: String,
    /// Allow `http://` (the sandbox).
    pub allow_insecure_http: bool,
}

/// Flux.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FluxConfig {
    /// Flux version (`v2.9.0`).
    pub version: String,
    /// Components.
    pub components: Vec<String>,
    /// Extra components (image automation).
    pub components_extra: Vec<String>,
    /// An unpacked `manifests.tar.gz` to install from instead of the GitHub release.
    pub manifests_dir: Option<PathBuf>,
}

/// A HelmRelease of a chart in ACR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseConfig {
    /// Release name.
    pub name: String,
    /// Chart repository path in the registry.
    pub chart: String,
    /// Version constraint.
    pub version: String,
    /// Target namespace.
    pub namespace: String,
}

/// ACR charts and HelmReleases.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HelmConfig {
    /// ACR name.
    pub registry: Option<String>,
    /// The registry's resource group (default `[azure].resource_group`).
    pub resource_group: String,
    /// Releases.
    pub releases: Vec<ReleaseConfig>,
}

/// The Key Vault key for SOPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SopsConfig {
    /// Key Vault name.
    pub key_vault: String,
    /// The vault's resource group (default `[azure].resource_group`).
    pub resource_group: String,
    /// Key name.
    pub key: String,
    /// How kustomize-controller authenticates to Key Vault.
    pub auth: SopsAuth,
}

/// How kustomize-controller authenticates to Key Vault to decrypt SOPS files.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SopsAuth {
    /// The Flux identity through workload identity (AKS clusters the plan ensures): no Secret.
    #[default]
    WorkloadIdentity,
    /// A service principal: the `sops-azure` Secret holds tenant, client id and the client secret from
    /// `AZFLUX_SOPS_CLIENT_SECRET`.
    ClientSecret {
        /// The application (client) id.
        client_id: String,
    },
    /// A managed identity of the nodes: the `sops-azure` Secret holds its client id only.
    ManagedIdentity {
        /// The identity's client id.
        client_id: String,
    },
}

/// One image to follow: an ImageRepository, an ImagePolicy and the ImageUpdateAutomation writing the
/// selected tag back to the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageAutomationConfig {
    /// Name of the ImageRepository and ImagePolicy.
    pub name: String,
    /// The image (`myacr.azurecr.io/app`).
    pub image: String,
    /// The semver range of tags to pick.
    pub semver: String,
    /// The repository path the automation updates (`./clusters/<cluster>` when unset).
    pub update_path: Option<String>,
}

/// The Event Hub for notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationsConfig {
    /// Event Hubs namespace.
    pub namespace: String,
    /// The namespace's resource group (default `[azure].resource_group`).
    pub resource_group: String,
    /// Event Hub.
    pub hub: String,
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapConfig {
    /// Subscription id.
    pub subscription_id: String,
    /// Tenant id, if pinned.
    pub tenant_id: Option<String>,
    /// `[azure].location`: where the Key Vault, registry and Event Hubs namespace are created when missing.
    pub location: String,
    /// The clusters (one, or a fleet).
    pub clusters: Vec<ClusterConfig>,
    /// The repository.
    pub git: GitConfig,
    /// Flux.
    pub flux: FluxConfig,
    /// Helm.
    pub helm: HelmConfig,
    /// SOPS.
    pub sops: Option<SopsConfig>,
    /// Notifications.
    pub notifications: Option<NotificationsConfig>,
    /// Images whose new tags Flux commits to the repository.
    pub image_automation: Vec<ImageAutomationConfig>,
}

/// Secrets, from the environment only.
#[derive(Clone, Default)]
pub struct Secrets {
    /// The Azure DevOps PAT.
    pub git_pat: Option<SecretString>,
    /// The client secret of `sops.auth = "secret"`.
    pub sops_client_secret: Option<SecretString>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("git_pat", &self.git_pat.as_ref().map(|_| "<redacted>"))
            .field(
                "sops_client_secret",
                &self.sops_client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Secrets {
    /// Reads the secrets through `env`.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        Secrets {
            git_pat: env(ENV_GIT_PAT)
                .filter(|v| !v.is_empty())
                .map(SecretString::from),
            sops_client_secret: env(ENV_SOPS_CLIENT_SECRET)
                .filter(|v| !v.is_empty())
                .map(SecretString::from),
        }
    }
}

type S<T> = Option<Spanned<T>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    azure: S<RawAzure>,
    cluster: S<RawCluster>,
    git: S<RawGit>,
    flux: S<RawFlux>,
    helm: S<RawHelm>,
    sops: S<RawSops>,
    notifications: S<RawNotifications>,
    image_automation: S<Vec<Spanned<RawImageAutomation>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImageAutomation {
    name: S<String>,
    image: S<String>,
    semver: S<String>,
    update_path: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAzure {
    subscription: S<String>,
    tenant: S<String>,
    resource_group: S<String>,
    location: S<String>,
    client_secret: S<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    name: S<String>,
    kubeconfig: S<String>,
    context: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGit {
    url: S<String>,
    branch: S<String>,
    auth: S<String>,
    ssh_hostname: S<String>,
    ssh_key: S<String>,
    interval: S<String>,
    allow_insecure_http: S<bool>,
    pat: S<toml::Value>,
    password: S<toml::Value>,
    token: S<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlux {
    version: S<String>,
    manifests_dir: S<String>,
    components: S<Vec<String>>,
    components_extra: S<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHelm {
    registry: S<String>,
    resource_group: S<String>,
    releases: S<Vec<Spanned<RawRelease>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelease {
    name: S<String>,
    chart: S<String>,
    version: S<String>,
    namespace: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSops {
    key_vault: S<String>,
    resource_group: S<String>,
    key: S<String>,
    auth: S<String>,
    client_id: S<String>,
    client_secret: S<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotifications {
    event_hub_namespace: S<String>,
    resource_group: S<String>,
    event_hub: S<String>,
}

/// The Flux release installed when `flux.version` is not set.
pub const DEFAULT_FLUX_VERSION: &str = "v2.9.0";

/// The Flux components installed by default.
pub const DEFAULT_COMPONENTS: &[&str] = &[
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
];
const EXTRA_COMPONENTS: &[&str] = &["image-reflector-controller", "image-automation-controller"];

struct Checker<'a> {
    text: &'a str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }
    fn at(&mut self, span: std::ops::Range<usize>, key: &str, message: impl Into<String>) {
        let line = self.line(span.start);
        self.problems.push(Problem {
            line,
            key: key.into(),
            message: message.into(),
        });
    }
    fn required(&mut self, v: &S<String>, section: std::ops::Range<usize>, key: &str) -> String {
        match v {
            Some(s) if !s.get_ref().trim().is_empty() => s.get_ref().trim().to_owned(),
            Some(s) => {
                self.at(s.span(), key, "must not be empty");
                String::new()
            }
            None => {
                self.at(section, key, "is required");
                String::new()
            }
        }
    }
    fn no_secret<T>(&mut self, v: &S<T>, key: &str, env: &str) {
        if let Some(s) = v {
            self.at(
                s.span(),
                key,
                format!("secrets are never read from the configuration file: remove it and set {env} in the environment"),
            );
        }
    }
}

/// The password of `scheme://user:password@host/…`, when `url` has one (even when the rest is invalid).
fn url_password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then_some(password)
}

/// Azure's resource group rule: 1-90 letters (Unicode), digits, '-', '_', '.', '(' or ')', not ending in '.'.
/// (No spaces: `rg flux` is refused by ARM with `InvalidResourceGroupName`, so it is refused here first.)
fn is_resource_group(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= 90
        && !s.ends_with('.')
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'))
}

const RESOURCE_GROUP_RULE: &str =
    "use 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'";

fn is_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Parses and validates `text` (the contents of `file`), checking the environment-provided `secrets`
/// the chosen auth mode needs. Returns every problem at once.
pub fn parse(file: &str, text: &str, secrets: &Secrets) -> Result<BootstrapConfig, ConfigErrors> {
    let fail = |problems| ConfigErrors {
        file: file.to_owned(),
        problems,
    };
    // Unknown keys, wrong types and syntax errors are all reported, and the rest is still validated.
    let (raw, structural) = super::toml_read::read::<Raw>(text);
    let Some(raw) = raw else {
        return Err(fail(structural));
    };
    let mut c = Checker {
        text,
        problems: Vec::new(),
    };
    let top = 0..0;
    // [azure]
    let (subscription_id, tenant_id, resource_group, location) = match &raw.azure {
        None => {
            c.at(
                top.clone(),
                "azure",
                "the [azure] section is required (subscription, resource_group, location)",
            );
            Default::default()
        }
        Some(a) => {
            let span = a.span();
            let a = a.get_ref();
            c.no_secret(
                &a.client_secret,
                "azure.client_secret",
                "AZURE_CLIENT_SECRET",
            );
            let sub = c.required(&a.subscription, span.clone(), "azure.subscription");
            if !sub.is_empty()
                && uuid::Uuid::parse_str(&sub).is_err()
                && let Some(s) = &a.subscription
            {
                {
                    c.at(s.span(), "azure.subscription", format!("'{sub}' is not a subscription id (a GUID): see `az account show --query id`"));
                }
            }
            let rg = c.required(&a.resource_group, span.clone(), "azure.resource_group");
            if !rg.is_empty()
                && !is_resource_group(&rg)
                && let Some(s) = &a.resource_group
            {
                {
                    c.at(
                        s.span(),
                        "azure.resource_group",
                        format!("'{rg}': {RESOURCE_GROUP_RULE}"),
                    );
                }
            }
            let loc = c.required(&a.location, span, "azure.location");
            (sub, a.tenant.as_ref().map(|t| t.get_ref().clone()), rg, loc)
        }
    };
    // [cluster]
    let cluster = match &raw.cluster {
        None => {
            c.at(
                top.clone(),
                "cluster",
                "the [cluster] section is required (name)",
            );
            None
        }
        Some(cl) => {
            let span = cl.span();
            let cl = cl.get_ref();
            let name = c.required(&cl.name, span, "cluster.name");
            if !name.is_empty()
                && !is_name(&name, 63)
                && let Some(s) = &cl.name
            {
                {
                    c.at(s.span(), "cluster.name", format!("'{name}' must be 1-63 lower-case letters, digits or '-' (it names the AKS cluster and the directory clusters/<name>)"));
                }
            }
            Some(ClusterConfig {
                name,
                resource_group: resource_group.clone(),
                location: location.clone(),
                kubeconfig: cl.kubeconfig.as_ref().map(|k| PathBuf::from(k.get_ref())),
                context: cl.context.as_ref().map(|k| k.get_ref().clone()),
            })
        }
    };
    // [git]
    let git = match &raw.git {
        None => {
            c.at(
                top.clone(),
                "git",
                "the [git] section is required (url, auth)",
            );
            None
        }
        Some(g) => {
            let span = g.span();
            let g = g.get_ref();
            c.no_secret(&g.pat, "git.pat", ENV_GIT_PAT);
            c.no_secret(&g.password, "git.password", ENV_GIT_PAT);
            c.no_secret(&g.token, "git.token", ENV_GIT_PAT);
            let url = c.required(&g.url, span.clone(), "git.url");
            if !url.is_empty()
                && let Err(e) = devops_git::RepoUrl::parse(&url)
                && let Some(s) = &g.url
            {
                // The parser's messages echo the URL; never echo a password (PAT) it carries.
                let mut message = e.to_string();
                if let Some(password) = url_password(&url) {
                    message = message.replace(password, "<redacted>");
                }
                c.at(s.span(), "git.url", message);
            }
            let auth = match &g.auth {
                None => GitAuth::TokenAuth,
                Some(a) => GitAuth::parse(a.get_ref()).unwrap_or_else(|| {
                    c.at(
                        a.span(),
                        "git.auth",
                        format!(
                            "'{}' is not one of token-auth, https-ssh, ssh, workload-identity",
                            a.get_ref()
                        ),
                    );
                    GitAuth::TokenAuth
                }),
            };
            let auth_line = g.auth.as_ref().map(|a| a.span()).unwrap_or(span.clone());
            if matches!(auth, GitAuth::TokenAuth | GitAuth::HttpsSsh) && secrets.git_pat.is_none() {
                c.at(
                    auth_line.clone(),
                    "git.auth",
                    format!(
                        "this auth mode pushes with a PAT: set {ENV_GIT_PAT} in the environment"
                    ),
                );
            }
            if auth == GitAuth::Ssh && (url.starts_with("https://") || url.starts_with("http://")) {
                c.at(
                    auth_line.clone(),
                    "git.auth",
                    "\"ssh\" pushes over SSH: use the SSH url (ssh://git@ssh.dev.azure.com/v3/<org>/<project>/<repo>), or auth = \"https-ssh\" to push with a PAT",
                );
            }
            if auth == GitAuth::WorkloadIdentity && !url.starts_with("https://dev.azure.com/") {
                c.at(auth_line, "git.auth", "workload identity works with Azure DevOps only: the url must be https://dev.azure.com/<org>/<project>/_git/<repo>");
            }
            let interval = g
                .interval
                .as_ref()
                .map(|i| i.get_ref().clone())
                .unwrap_or_else(|| "1m".into());
            if let Some(i) = &g.interval
                && flux_objects::Duration::parse(i.get_ref()).is_err()
            {
                c.at(
                    i.span(),
                    "git.interval",
                    format!("'{}' is not a duration such as 1m or 30s", i.get_ref()),
                );
            }
            let branch = g
                .branch
                .as_ref()
                .map(|b| b.get_ref().clone())
                .unwrap_or_else(|| "main".into());
            if (branch.is_empty() || branch.contains(' ') || branch.contains(".."))
                && let Some(b) = &g.branch
            {
                {
                    c.at(
                        b.span(),
                        "git.branch",
                        format!("'{branch}' is not a valid branch name"),
                    );
                }
            }
            Some(GitConfig {
                url,
                branch,
                auth,
                ssh_hostname: g.ssh_hostname.as_ref().map(|s| s.get_ref().clone()),
                ssh_key: g.ssh_key.as_ref().map(|s| PathBuf::from(s.get_ref())),
                interval,
                allow_insecure_http: g.allow_insecure_http.as_ref().is_some_and(|b| *b.get_ref()),
            })
        }
    };
    // [flux]
    let mut flux = FluxConfig {
        version: DEFAULT_FLUX_VERSION.into(),
        components: DEFAULT_COMPONENTS.iter().map(|s| (*s).to_owned()).collect(),
        components_extra: Vec::new(),
        manifests_dir: None,
    };
    if let Some(f) = &raw.flux {
        let f = f.get_ref();
        flux.manifests_dir = f.manifests_dir.as_ref().map(|d| PathBuf::from(d.get_ref()));
        if let Some(v) = &f.version {
            let ok = v.get_ref() == "latest"
                || v.get_ref()
                    .strip_prefix('v')
                    .is_some_and(|s| semver::Version::parse(s).is_ok());
            if !ok {
                c.at(
                    v.span(),
                    "flux.version",
                    format!("'{}' is not a Flux release such as v2.9.0", v.get_ref()),
                );
            }
            flux.version = v.get_ref().clone();
        }
        if let Some(list) = &f.components {
            for needed in ["source-controller", "kustomize-controller"] {
                if !list.get_ref().iter().any(|x| x == needed) {
                    c.at(
                        list.span(),
                        "flux.components",
                        format!("{needed} is required by bootstrap"),
                    );
                }
            }
            for x in list.get_ref() {
                if !DEFAULT_COMPONENTS.contains(&x.as_str()) {
                    c.at(
                        list.span(),
                        "flux.components",
                        format!("'{x}' is not a Flux component (extras go in components_extra)"),
                    );
                }
            }
            flux.components = list.get_ref().clone();
        }
        if let Some(list) = &f.components_extra {
            for x in list.get_ref() {
                if !EXTRA_COMPONENTS.contains(&x.as_str()) {
                    c.at(
                        list.span(),
                        "flux.components_extra",
                        format!("'{x}' is not one of {}", EXTRA_COMPONENTS.join(", ")),
                    );
                }
            }
            flux.components_extra = list.get_ref().clone();
        }
    }
    // [helm]
    let mut helm = HelmConfig {
        resource_group: resource_group.clone(),
        ..Default::default()
    };
    let or_rg = |v: &S<String>| {
        v.as_ref()
            .map(|r| r.get_ref().clone())
            .unwrap_or_else(|| resource_group.clone())
    };
    if let Some(h) = &raw.helm {
        let span = h.span();
        let h = h.get_ref();
        helm.registry = h.registry.as_ref().map(|r| r.get_ref().clone());
        helm.resource_group = or_rg(&h.resource_group);
        if let Some(r) = &h.registry {
            let name = r.get_ref();
            if name.len() < 5 || name.len() > 50 || !name.chars().all(|c| c.is_ascii_alphanumeric())
            {
                c.at(
                    r.span(),
                    "helm.registry",
                    format!("'{name}' is not an ACR name (5-50 letters and digits)"),
                );
            }
        }
        for rel in h.releases.iter().flat_map(|r| r.get_ref()) {
            let rspan = rel.span();
            let r = rel.get_ref();
            if helm.registry.is_none() {
                c.at(
                    span.clone(),
                    "helm.registry",
                    "HelmReleases need the ACR name their charts are in",
                );
            }
            let name = c.required(&r.name, rspan.clone(), "helm.releases.name");
            let chart = c.required(&r.chart, rspan.clone(), "helm.releases.chart");
            // HelmRelease `spec.chart.spec.version` is a Helm (Masterminds) constraint: refuse what Helm would.
            if let Some(v) = &r.version
                && let Err(e) = acr_oci::VersionConstraint::parse(v.get_ref())
            {
                c.at(
                    v.span(),
                    "helm.releases.version",
                    format!("{e} (use a version or range such as 6.0.0, >=6.0.0 or 6.x)"),
                );
            }
            helm.releases.push(ReleaseConfig {
                name,
                chart,
                version: r
                    .version
                    .as_ref()
                    .map(|v| v.get_ref().clone())
                    .unwrap_or_else(|| "*".into()),
                namespace: r
                    .namespace
                    .as_ref()
                    .map(|v| v.get_ref().clone())
                    .unwrap_or_else(|| "default".into()),
            });
        }
    }
    let sops = raw.sops.as_ref().map(|s| {
        let span = s.span();
        let s = s.get_ref();
        c.no_secret(
            &s.client_secret,
            "sops.client_secret",
            ENV_SOPS_CLIENT_SECRET,
        );
        let client_id = || match &s.client_id {
            Some(id) if !id.get_ref().trim().is_empty() => Ok(id.get_ref().trim().to_owned()),
            _ => Err("needs sops.client_id"),
        };
        let auth = match s.auth.as_ref().map(|a| (a.get_ref().as_str(), a.span())) {
            None | Some(("workload-identity", _)) => SopsAuth::WorkloadIdentity,
            Some(("secret", span)) => match client_id() {
                Ok(client_id) => {
                    if secrets.sops_client_secret.is_none() {
                        c.at(
                            span.clone(),
                            "sops.auth",
                            format!("\"secret\" reads the client secret from {ENV_SOPS_CLIENT_SECRET}: set it in the environment"),
                        );
                    }
                    SopsAuth::ClientSecret { client_id }
                }
                Err(m) => {
                    c.at(span, "sops.auth", format!("\"secret\" {m} (the application id)"));
                    SopsAuth::WorkloadIdentity
                }
            },
            Some(("managed-identity", span)) => match client_id() {
                Ok(client_id) => SopsAuth::ManagedIdentity { client_id },
                Err(m) => {
                    c.at(span, "sops.auth", format!("\"managed-identity\" {m} (the identity's client id)"));
                    SopsAuth::WorkloadIdentity
                }
            },
            Some((other, span)) => {
                c.at(
                    span,
                    "sops.auth",
                    format!("'{other}' is not one of workload-identity, secret, managed-identity"),
                );
                SopsAuth::WorkloadIdentity
            }
        };
        if let Some(v) = &s.key_vault
            && let Err(e) = keyvault_sops::validate_vault_name(v.get_ref())
        {
            c.at(v.span(), "sops.key_vault", e.to_string());
        }
        SopsConfig {
            resource_group: or_rg(&s.resource_group),
            key_vault: c.required(&s.key_vault, span.clone(), "sops.key_vault"),
            key: c.required(&s.key, span, "sops.key"),
            auth,
        }
    });
    let notifications = raw.notifications.as_ref().map(|n| {
        let span = n.span();
        let n = n.get_ref();
        if let Some(ns) = &n.event_hub_namespace
            && let Err(e) =
                eventhub_auth::NamespaceSpec::new("s", "rg", ns.get_ref(), "l").validate()
        {
            c.at(
                ns.span(),
                "notifications.event_hub_namespace",
                e.to_string(),
            );
        }
        if let Some(hub) = &n.event_hub
            && let Err(e) = eventhub_auth::EventHubSpec::new(hub.get_ref()).validate()
        {
            c.at(hub.span(), "notifications.event_hub", e.to_string());
        }
        NotificationsConfig {
            resource_group: or_rg(&n.resource_group),
            namespace: c.required(
                &n.event_hub_namespace,
                span.clone(),
                "notifications.event_hub_namespace",
            ),
            hub: c.required(&n.event_hub, span, "notifications.event_hub"),
        }
    });
    let mut image_automation = Vec::new();
    for entry in raw.image_automation.iter().flat_map(|l| l.get_ref()) {
        let span = entry.span();
        let e = entry.get_ref();
        let name = c.required(&e.name, span.clone(), "image_automation.name");
        if !name.is_empty()
            && !is_name(&name, 63)
            && let Some(s) = &e.name
        {
            c.at(
                s.span(),
                "image_automation.name",
                format!("'{name}' must be 1-63 lower-case letters, digits or '-'"),
            );
        }
        let image = c.required(&e.image, span.clone(), "image_automation.image");
        if (image.contains("://") || image.contains(':') && !image.contains('/'))
            && let Some(s) = &e.image
        {
            c.at(
                s.span(),
                "image_automation.image",
                format!("'{image}' is not an image name such as myacr.azurecr.io/app (no scheme, no tag)"),
            );
        }
        let range = c.required(&e.semver, span.clone(), "image_automation.semver");
        // ImagePolicy `semver.range` is a Masterminds constraint, as Helm's (not Cargo's `VersionReq`).
        if !range.is_empty()
            && acr_oci::VersionConstraint::parse(&range).is_err()
            && let Some(s) = &e.semver
        {
            c.at(
                s.span(),
                "image_automation.semver",
                format!("'{range}' is not a semver range such as >=1.0.0 or 6.x"),
            );
        }
        for needed in EXTRA_COMPONENTS {
            if !flux.components_extra.iter().any(|x| x == needed) {
                c.at(
                    span.clone(),
                    "image_automation",
                    format!("needs {needed} in flux.components_extra"),
                );
            }
        }
        image_automation.push(ImageAutomationConfig {
            name,
            image,
            semver: range,
            update_path: e.update_path.as_ref().map(|p| p.get_ref().clone()),
        });
    }
    if !c.problems.is_empty() || !structural.is_empty() {
        return Err(fail(merge(structural, c.problems)));
    }
    match (cluster, git) {
        (Some(cluster), Some(git)) => Ok(BootstrapConfig {
            subscription_id,
            tenant_id,
            location,
            clusters: vec![cluster],
            git,
            flux,
            helm,
            sops,
            notifications,
            image_automation,
        }),
        _ => Err(fail(Vec::new())),
    }
}

/// A fleet file: the clusters to bootstrap with one configuration.
///
/// ```toml
/// [[cluster]]
/// name = "fleet-01"
/// resource_group = "rg-fleet"   # optional: default [azure].resource_group
/// location = "northeurope"      # optional
/// kubeconfig = "fleet-01.kubeconfig"
/// ```
pub fn parse_fleet(
    file: &str,
    text: &str,
    base: Option<&BootstrapConfig>,
) -> Result<Vec<ClusterConfig>, ConfigErrors> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Fleet {
        #[serde(default)]
        cluster: Vec<Spanned<FleetCluster>>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct FleetCluster {
        name: S<String>,
        resource_group: S<String>,
        location: S<String>,
        kubeconfig: S<String>,
        context: S<String>,
    }
    let fail = |problems| ConfigErrors {
        file: file.to_owned(),
        problems,
    };
    let (fleet, structural) = super::toml_read::read::<Fleet>(text);
    let Some(fleet) = fleet else {
        return Err(fail(structural));
    };
    let mut c = Checker {
        text,
        problems: Vec::new(),
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    let base_cluster = base.and_then(|b| b.clusters.first());
    for entry in &fleet.cluster {
        let span = entry.span();
        let e = entry.get_ref();
        let name = c.required(&e.name, span.clone(), "cluster.name");
        if !name.is_empty() && !is_name(&name, 63) {
            c.at(
                span.clone(),
                "cluster.name",
                format!("'{name}' must be 1-63 lower-case letters, digits or '-'"),
            );
        }
        if !name.is_empty() && !seen.insert(name.clone()) {
            c.at(
                span.clone(),
                "cluster.name",
                format!("'{name}' appears twice"),
            );
        }
        let pick = |v: &S<String>, default: Option<&String>| {
            v.as_ref()
                .map(|s| s.get_ref().clone())
                .or_else(|| default.cloned())
        };
        let resource_group =
            pick(&e.resource_group, base_cluster.map(|b| &b.resource_group)).unwrap_or_default();
        if resource_group.is_empty() {
            c.at(
                span.clone(),
                "cluster.resource_group",
                "is required (or set [azure].resource_group)",
            );
        } else if !is_resource_group(&resource_group)
            && let Some(s) = &e.resource_group
        {
            c.at(
                s.span(),
                "cluster.resource_group",
                format!("'{resource_group}': {RESOURCE_GROUP_RULE}"),
            );
        }
        out.push(ClusterConfig {
            name,
            resource_group,
            location: pick(&e.location, base_cluster.map(|b| &b.location))
                .unwrap_or_else(|| "westeurope".into()),
            kubeconfig: e.kubeconfig.as_ref().map(|k| PathBuf::from(k.get_ref())),
            context: e.context.as_ref().map(|k| k.get_ref().clone()),
        });
    }
    if out.is_empty() {
        c.at(0..0, "cluster", "the fleet file lists no [[cluster]]");
    }
    if c.problems.is_empty() && structural.is_empty() {
        Ok(out)
    } else {
        Err(fail(merge(structural, c.problems)))
    }
}

/// The structural problems (syntax, unknown keys, wrong types) and the value problems, in file order. A
/// key refused for its type is not also reported as missing.
fn merge(structural: Vec<Problem>, values: Vec<Problem>) -> Vec<Problem> {
    let refused: std::collections::BTreeSet<String> =
        structural.iter().map(|p| p.key.clone()).collect();
    let mut problems = structural;
    problems.extend(values.into_iter().filter(|p| !refused.contains(&p.key)));
    problems.sort_by_key(|p| p.line);
    problems
}
