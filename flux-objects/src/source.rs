//! `source.toolkit.fluxcd.io/v1`: GitRepository, HelmRepository, OCIRepository, HelmChart, Bucket,
//! ExternalArtifact.

use crate::duration::Duration;
use crate::error::{Error, Result};
use crate::meta::{CrossNamespaceObjectReference, LocalObjectReference, is_false};
use crate::object::flux_kind;
use crate::validate::{parse_url, semver_range};
use serde::{Deserialize, Serialize};

/// The source API group version.
pub const SOURCE_API_VERSION: &str = "source.toolkit.fluxcd.io/v1";

/// The flux CLI's default `--interval` for every `create` command.
pub const DEFAULT_INTERVAL: Duration = Duration::from_mins(1);

fn one_of(
    kind: &str,
    name: &str,
    what: &str,
    value: &str,
    allowed: &[&str],
    sep: &str,
) -> Result<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid(
            kind,
            name,
            format!(
                "{what} '{value}' is not supported, must be one of: {}",
                allowed.join(sep)
            ),
        ))
    }
}

// ---------------------------------------------------------------- GitRepository

/// Git providers accepted by `GitRepository.spec.provider`.
pub const GIT_PROVIDERS: &[&str] = &["generic", "github", "aws", "azure"];

flux_kind!(
    /// A `GitRepository`: a Git repository source.
    GitRepository, GitRepositorySpec, SOURCE_API_VERSION, "GitRepository"
);

/// `GitRepository.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositorySpec {
    /// Repository URL (`ssh://`, `http://` or `https://`).
    pub url: String,
    /// Secret with the credentials (git basic, bearer or SSH Secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Credential provider: generic, github, aws or azure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Service account for object-level workload identity (provider azure or aws only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Reconcile interval.
    pub interval: Duration,
    /// Timeout of Git operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Which ref to check out.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "ref")]
    pub reference: Option<GitRepositoryRef>,
    /// Commit signature verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<GitRepositoryVerification>,
    /// Proxy Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// `.sourceignore`-style ignore rules (newline-separated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Pause reconciliation.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
    /// Clone submodules too.
    #[serde(default, skip_serializing_if = "is_false")]
    pub recurse_submodules: bool,
    /// Other GitRepositories whose artifacts are included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<GitRepositoryInclude>,
    /// Directories to check out (sparse checkout).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sparse_checkout: Vec<String>,
}

/// `GitRepository.spec.ref`: exactly what the CLI flags `--branch --tag --tag-semver --ref-name --commit` set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitRepositoryRef {
    /// Branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Semver range over tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
    /// Full ref name (`refs/heads/main`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Commit SHA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// `GitRepository.spec.verify`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryVerification {
    /// HEAD, Tag or TagAndHEAD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Secret with the public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// `GitRepository.spec.include[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryInclude {
    /// The included GitRepository.
    pub repository: LocalObjectReference,
    /// Path in the included repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_path: Option<String>,
    /// Path in this artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_path: Option<String>,
}

impl GitRepository {
    /// A builder with the flux CLI's defaults (`interval: 1m0s`).
    pub fn builder(name: impl Into<String>, namespace: impl Into<String>) -> GitRepositoryBuilder {
        GitRepositoryBuilder {
            obj: GitRepository::new(
                name,
                namespace,
                GitRepositorySpec {
                    interval: DEFAULT_INTERVAL,
                    ..Default::default()
                },
            ),
        }
    }

    fn check(&self) -> Result<()> {
        let (kind, name) = ("GitRepository", self.metadata.name.as_str());
        let u = parse_url(&self.spec.url)
            .map_err(|e| Error::invalid(kind, name, format!("git URL parse failed: {e}")))?;
        if !matches!(u.scheme.as_str(), "ssh" | "http" | "https") {
            return Err(Error::invalid(
                kind,
                name,
                format!(
                    "git URL scheme '{}' not supported, can be: ssh, http and https",
                    u.scheme
                ),
            ));
        }
        if let Some(p) = &self.spec.provider {
            one_of(kind, name, "source Git provider", p, GIT_PROVIDERS, "|")?;
        }
        if self.spec.service_account_name.is_some()
            && !matches!(self.spec.provider.as_deref(), Some("azure") | Some("aws"))
        {
            return Err(Error::invalid(
                kind,
                name,
                "serviceAccountName can only be set when provider is 'azure' or 'aws'",
            ));
        }
        if let Some(semver) = self
            .spec
            .reference
            .as_ref()
            .and_then(|r| r.semver.as_deref())
        {
            semver_range(semver).map_err(|e| {
                Error::invalid(kind, name, format!("invalid semver range '{semver}': {e}"))
            })?;
        }
        Ok(())
    }
}

/// Builds a [`GitRepository`]; [`GitRepositoryBuilder::build`] validates it.
#[derive(Debug, Clone)]
pub struct GitRepositoryBuilder {
    obj: GitRepository,
}

fn reference(obj: &mut Option<GitRepositoryRef>) -> &mut GitRepositoryRef {
    obj.get_or_insert_with(GitRepositoryRef::default)
}

impl GitRepositoryBuilder {
    /// Repository URL.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.obj.spec.url = url.into();
        self
    }
    /// Branch to track.
    pub fn branch(mut self, branch: impl Into<String>) -> Self {
        reference(&mut self.obj.spec.reference).branch = Some(branch.into());
        self
    }
    /// Tag to track.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        reference(&mut self.obj.spec.reference).tag = Some(tag.into());
        self
    }
    /// Semver range over tags.
    pub fn tag_semver(mut self, range: impl Into<String>) -> Self {
        reference(&mut self.obj.spec.reference).semver = Some(range.into());
        self
    }
    /// Full ref name.
    pub fn ref_name(mut self, name: impl Into<String>) -> Self {
        reference(&mut self.obj.spec.reference).name = Some(name.into());
        self
    }
    /// Commit SHA.
    pub fn commit(mut self, commit: impl Into<String>) -> Self {
        reference(&mut self.obj.spec.reference).commit = Some(commit.into());
        self
    }
    /// Reconcile interval.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.obj.spec.interval = interval;
        self
    }
    /// Git operation timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.obj.spec.timeout = Some(timeout);
        self
    }
    /// Secret with credentials.
    pub fn secret_ref(mut self, name: impl Into<String>) -> Self {
        self.obj.spec.secret_ref = Some(LocalObjectReference::new(name));
        self
    }
    /// Credential provider (`azure` for Azure DevOps with workload identity).
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.obj.spec.provider = Some(provider.into());
        self
    }
    /// Service account for object-level workload identity.
    pub fn service_account_name(mut self, sa: impl Into<String>) -> Self {
        self.obj.spec.service_account_name = Some(sa.into());
        self
    }
    /// Ignore rules, one per entry (joined with newlines like `--ignore-paths`).
    pub fn ignore_paths<I: IntoIterator<Item = S>, S: Into<String>>(mut self, paths: I) -> Self {
        let v: Vec<String> = paths.into_iter().map(Into::into).collect();
        self.obj.spec.ignore = if v.is_empty() {
            None
        } else {
            Some(v.join("\n"))
        };
        self
    }
    /// Sparse checkout directories.
    pub fn sparse_checkout<I: IntoIterator<Item = S>, S: Into<String>>(mut self, paths: I) -> Self {
        self.obj.spec.sparse_checkout = paths.into_iter().map(Into::into).collect();
        self
    }
    /// Clone submodules.
    pub fn recurse_submodules(mut self, yes: bool) -> Self {
        self.obj.spec.recurse_submodules = yes;
        self
    }
    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.obj.metadata.labels.insert(key.into(), value.into());
        self
    }
    /// Validates and returns the object.
    pub fn build(self) -> Result<GitRepository> {
        crate::object::Manifest::validate(&self.obj)?;
        Ok(self.obj)
    }
}

// ---------------------------------------------------------------- HelmRepository

/// Providers accepted by `HelmRepository.spec.provider` (OCI only).
pub const HELM_OCI_PROVIDERS: &[&str] = &["generic", "aws", "azure", "gcp"];

flux_kind!(
    /// A `HelmRepository`: an HTTP(S) chart index or (`type: oci`) an OCI registry.
    HelmRepository, HelmRepositorySpec, SOURCE_API_VERSION, "HelmRepository"
);

/// `HelmRepository.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmRepositorySpec {
    /// Repository URL (`http`, `https` or `oci`).
    pub url: String,
    /// Secret with credentials (basic-auth or docker config).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Secret with TLS material.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Pass credentials to all domains.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pass_credentials: bool,
    /// Reconcile interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Allow plain HTTP to the registry.
    #[serde(default, skip_serializing_if = "is_false")]
    pub insecure: bool,
    /// Index download timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Pause reconciliation.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
    /// Cross-namespace access (`{namespaceSelectors: […]}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_from: Option<serde_json::Value>,
    /// `default` or `oci`.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub repo_type: Option<String>,
    /// OCI credential provider: generic, aws, azure or gcp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

impl HelmRepository {
    /// A builder with the flux CLI's defaults (`interval: 1m0s`; `type: oci` set from an `oci://` URL).
    pub fn builder(name: impl Into<String>, namespace: impl Into<String>) -> HelmRepositoryBuilder {
        HelmRepositoryBuilder {
            obj: HelmRepository::new(
                name,
                namespace,
                HelmRepositorySpec {
                    interval: Some(DEFAULT_INTERVAL),
                    ..Default::default()
                },
            ),
        }
    }

    fn check(&self) -> Result<()> {
        let (kind, name) = ("HelmRepository", self.metadata.name.as_str());
        let u = parse_url(&self.spec.url)
            .map_err(|e| Error::invalid(kind, name, format!("url parse failed: {e}")))?;
        if !matches!(u.scheme.as_str(), "http" | "https" | "oci") {
            return Err(Error::invalid(
                kind,
                name,
                format!(
                    "url scheme '{}' not supported, can be: http, https and oci",
                    u.scheme
                ),
            ));
        }
        if u.host.is_empty() {
            return Err(Error::invalid(kind, name, "url host is required"));
        }
        match self.spec.repo_type.as_deref() {
            None | Some("default") if u.scheme != "oci" => {}
            Some("oci") if u.scheme == "oci" => {}
            Some(t) if t != "oci" && t != "default" => {
                return Err(Error::invalid(
                    kind,
                    name,
                    format!("type '{t}' is not supported, must be one of: default, oci"),
                ));
            }
            _ => {
                return Err(Error::invalid(
                    kind,
                    name,
                    "type must be 'oci' if and only if the url scheme is oci://",
                ));
            }
        }
        if let Some(p) = &self.spec.provider {
            one_of(kind, name, "OCI provider", p, HELM_OCI_PROVIDERS, ", ")?;
        }
        Ok(())
    }
}

/// Builds a [`HelmRepository`].
#[derive(Debug, Clone)]
pub struct HelmRepositoryBuilder {
    obj: HelmRepository,
}

impl HelmRepositoryBuilder {
    /// Repository URL; `oci://` URLs make the repository `type: oci`.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.obj.spec.repo_type = if url.starts_with("oci://") {
            Some("oci".into())
        } else {
            None
        };
        self.obj.spec.url = url;
        self
    }
    /// Reconcile interval.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.obj.spec.interval = Some(interval);
        self
    }
    /// Timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.obj.spec.timeout = Some(timeout);
        self
    }
    /// Secret with credentials.
    pub fn secret_ref(mut self, name: impl Into<String>) -> Self {
        self.obj.spec.secret_ref = Some(LocalObjectReference::new(name));
        self
    }
    /// Secret with TLS material.
    pub fn cert_secret_ref(mut self, name: impl Into<String>) -> Self {
        self.obj.spec.cert_secret_ref = Some(LocalObjectReference::new(name));
        self
    }
    /// Pass credentials to all domains.
    pub fn pass_credentials(mut self, yes: bool) -> Self {
        self.obj.spec.pass_credentials = yes;
        self
    }
    /// OCI credential provider (`azure` for ACR with workload identity).
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.obj.spec.provider = Some(provider.into());
        self
    }
    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.obj.metadata.labels.insert(key.into(), value.into());
        self
    }
    /// Validates and returns the object.
    pub fn build(self) -> Result<HelmRepository> {
        crate::object::Manifest::validate(&self.obj)?;
        Ok(self.obj)
    }
}

// ---------------------------------------------------------------- OCIRepository

flux_kind!(
    /// An `OCIRepository`: an OCI artifact source.
    OCIRepository, OCIRepositorySpec, SOURCE_API_VERSION, "OCIRepository"
);

/// `OCIRepository.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OCIRepositorySpec {
    /// `oci://` URL.
    pub url: String,
    /// Which artifact version.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "ref")]
    pub reference: Option<OCIRepositoryRef>,
    /// Which layer to extract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_selector: Option<OCILayerSelector>,
    /// Credential provider: generic, aws, azure or gcp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Secret with registry credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Signature verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<OCIRepositoryVerification>,
    /// Service account (image pull secrets / workload identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Secret with TLS material.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Proxy Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// Reconcile interval.
    pub interval: Duration,
    /// Timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Ignore rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Allow plain HTTP.
    #[serde(default, skip_serializing_if = "is_false")]
    pub insecure: bool,
    /// Pause reconciliation.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
}

/// `OCIRepository.spec.ref`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OCIRepositoryRef {
    /// Digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Semver range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
    /// Regex filter applied before the semver range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver_filter: Option<String>,
    /// Tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// `OCIRepository.spec.layerSelector`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OCILayerSelector {
    /// Layer media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// `extract` or `copy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
}

/// Signature verification of OCI artifacts and charts (`verify`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OCIRepositoryVerification {
    /// `cosign` or `notation`.
    pub provider: String,
    /// Secret with public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Keyless identities.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        rename = "matchOIDCIdentity"
    )]
    pub match_oidc_identity: Vec<OIDCIdentityMatch>,
}

/// One keyless identity (`issuer`, `subject` regexes; both always emitted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OIDCIdentityMatch {
    /// Issuer regex.
    #[serde(default)]
    pub issuer: String,
    /// Subject regex.
    #[serde(default)]
    pub subject: String,
}

impl OCIRepository {
    /// A builder with the flux CLI's defaults (`interval: 1m0s`).
    pub fn builder(name: impl Into<String>, namespace: impl Into<String>) -> OCIRepositoryBuilder {
        OCIRepositoryBuilder {
            obj: OCIRepository::new(
                name,
                namespace,
                OCIRepositorySpec {
                    interval: DEFAULT_INTERVAL,
                    ..Default::default()
                },
            ),
        }
    }

    fn check(&self) -> Result<()> {
        let (kind, name) = ("OCIRepository", self.metadata.name.as_str());
        if !self.spec.url.starts_with("oci://") {
            return Err(Error::invalid(kind, name, "url must start with oci://"));
        }
        parse_url(&self.spec.url)
            .map_err(|e| Error::invalid(kind, name, format!("url parse failed: {e}")))?;
        if let Some(p) = &self.spec.provider {
            one_of(kind, name, "OCI provider", p, HELM_OCI_PROVIDERS, ", ")?;
        }
        if let Some(v) = &self.spec.verify {
            one_of(
                kind,
                name,
                "verification provider",
                &v.provider,
                &["cosign", "notation"],
                ", ",
            )?;
        }
        if let Some(sel) = self
            .spec
            .layer_selector
            .as_ref()
            .and_then(|l| l.operation.as_deref())
        {
            one_of(
                kind,
                name,
                "layer operation",
                sel,
                &["extract", "copy"],
                ", ",
            )?;
        }
        Ok(())
    }
}

/// Builds an [`OCIRepository`].
#[derive(Debug, Clone)]
pub struct OCIRepositoryBuilder {
    obj: OCIRepository,
}

impl OCIRepositoryBuilder {
    /// `oci://` URL.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.obj.spec.url = url.into();
        self
    }
    /// Tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.obj
            .spec
            .reference
            .get_or_insert_with(Default::default)
            .tag = Some(tag.into());
        self
    }
    /// Semver range.
    pub fn tag_semver(mut self, range: impl Into<String>) -> Self {
        self.obj
            .spec
            .reference
            .get_or_insert_with(Default::default)
            .semver = Some(range.into());
        self
    }
    /// Digest.
    pub fn digest(mut self, digest: impl Into<String>) -> Self {
        self.obj
            .spec
            .reference
            .get_or_insert_with(Default::default)
            .digest = Some(digest.into());
        self
    }
    /// Reconcile interval.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.obj.spec.interval = interval;
        self
    }
    /// Secret with registry credentials.
    pub fn secret_ref(mut self, name: impl Into<String>) -> Self {
        self.obj.spec.secret_ref = Some(LocalObjectReference::new(name));
        self
    }
    /// Credential provider (`azure` for ACR).
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.obj.spec.provider = Some(provider.into());
        self
    }
    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.obj.metadata.labels.insert(key.into(), value.into());
        self
    }
    /// Mutable access for fields without a setter.
    pub fn spec_mut(&mut self) -> &mut OCIRepositorySpec {
        &mut self.obj.spec
    }
    /// Validates and returns the object.
    pub fn build(self) -> Result<OCIRepository> {
        crate::object::Manifest::validate(&self.obj)?;
        Ok(self.obj)
    }
}

// ---------------------------------------------------------------- HelmChart

flux_kind!(
    /// A `HelmChart`: a chart pulled from a HelmRepository, GitRepository or Bucket.
    HelmChart, HelmChartSpec, SOURCE_API_VERSION, "HelmChart"
);

/// The source of a chart (`{apiVersion?, kind, name}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalHelmChartSourceReference {
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// HelmRepository, GitRepository or Bucket.
    pub kind: String,
    /// Name.
    pub name: String,
}

/// `HelmChart.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartSpec {
    /// Chart name or path.
    pub chart: String,
    /// Version (semver range), default `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where the chart comes from.
    pub source_ref: LocalHelmChartSourceReference,
    /// Reconcile interval.
    pub interval: Duration,
    /// `ChartVersion` or `Revision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile_strategy: Option<String>,
    /// Values files merged into the chart's values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_files: Vec<String>,
    /// Ignore missing values files.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_missing_values_files: bool,
    /// Signature verification (OCI charts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<OCIRepositoryVerification>,
    /// Pause reconciliation.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
}

/// Source kinds a chart may come from (the CLI's `--source` flag).
pub const HELM_CHART_SOURCE_KINDS: &[&str] = &["HelmRepository", "GitRepository", "Bucket"];

impl HelmChart {
    fn check(&self) -> Result<()> {
        let (kind, name) = ("HelmChart", self.metadata.name.as_str());
        if self.spec.chart.is_empty() {
            return Err(Error::invalid(kind, name, "chart name or path is required"));
        }
        one_of(
            kind,
            name,
            "source kind",
            &self.spec.source_ref.kind,
            HELM_CHART_SOURCE_KINDS,
            ", ",
        )?;
        if let Some(s) = &self.spec.reconcile_strategy {
            one_of(
                kind,
                name,
                "reconcile strategy",
                s,
                &["ChartVersion", "Revision"],
                ", ",
            )?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- Bucket

flux_kind!(
    /// A `Bucket`: an S3-compatible, GCS or Azure Blob bucket source.
    Bucket, BucketSpec, SOURCE_API_VERSION, "Bucket"
);

/// `Bucket.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketSpec {
    /// generic, aws, gcp or azure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Bucket (or Azure container) name.
    pub bucket_name: String,
    /// Endpoint (`<account>.blob.core.windows.net` for Azure).
    pub endpoint: String,
    /// STS configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sts: Option<serde_json::Value>,
    /// Plain HTTP.
    #[serde(default, skip_serializing_if = "is_false")]
    pub insecure: bool,
    /// Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Object key prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Secret with credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Secret with TLS material.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Proxy Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// Service account for workload identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Reconcile interval.
    pub interval: Duration,
    /// Timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Ignore rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Pause reconciliation.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
}

impl Bucket {
    fn check(&self) -> Result<()> {
        let (kind, name) = ("Bucket", self.metadata.name.as_str());
        if let Some(p) = &self.spec.provider {
            one_of(
                kind,
                name,
                "Bucket provider",
                p,
                &["generic", "aws", "gcp", "azure"],
                ", ",
            )?;
        }
        if self.spec.bucket_name.is_empty() || self.spec.endpoint.is_empty() {
            return Err(Error::invalid(
                kind,
                name,
                "bucket name and endpoint are required",
            ));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- ExternalArtifact

flux_kind!(
    /// An `ExternalArtifact`: an artifact produced by a third-party source controller.
    ExternalArtifact, ExternalArtifactSpec, SOURCE_API_VERSION, "ExternalArtifact"
);

/// `ExternalArtifact.spec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalArtifactSpec {
    /// The object that produces the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<CrossNamespaceObjectReference>,
}

impl ExternalArtifact {
    fn check(&self) -> Result<()> {
        Ok(())
    }
}

impl Bucket {
    /// A builder with the flux CLI's defaults (`interval: 1m0s`).
    pub fn builder(name: impl Into<String>, namespace: impl Into<String>) -> BucketBuilder {
        BucketBuilder {
            obj: Bucket::new(
                name,
                namespace,
                BucketSpec {
                    interval: DEFAULT_INTERVAL,
                    ..Default::default()
                },
            ),
        }
    }
}

/// Builds a [`Bucket`].
#[derive(Debug, Clone)]
pub struct BucketBuilder {
    obj: Bucket,
}

impl BucketBuilder {
    /// Provider (`azure` for Azure Blob Storage).
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.obj.spec.provider = Some(provider.into());
        self
    }
    /// Bucket (Azure: container) name.
    pub fn bucket_name(mut self, name: impl Into<String>) -> Self {
        self.obj.spec.bucket_name = name.into();
        self
    }
    /// Endpoint (Azure: `https://<account>.blob.core.windows.net`).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.obj.spec.endpoint = endpoint.into();
        self
    }
    /// Secret with credentials (Azure: `accountKey`, `sasKey` or service principal fields).
    pub fn secret_ref(mut self, name: impl Into<String>) -> Self {
        self.obj.spec.secret_ref = Some(LocalObjectReference::new(name));
        self
    }
    /// Service account for workload identity.
    pub fn service_account_name(mut self, sa: impl Into<String>) -> Self {
        self.obj.spec.service_account_name = Some(sa.into());
        self
    }
    /// Reconcile interval.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.obj.spec.interval = interval;
        self
    }
    /// Validates and returns the object.
    pub fn build(self) -> Result<Bucket> {
        crate::object::Manifest::validate(&self.obj)?;
        Ok(self.obj)
    }
}
