//! The traits and domain types a caller sees.

use crate::version::ConstraintError;
use async_trait::async_trait;
use std::fmt;
use std::path::{Path, PathBuf};

/// What can go wrong talking to a registry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An Azure call (token exchange, token endpoint, registry API) failed; classified by azflux-core.
    #[error(transparent)]
    Azure(#[from] azflux_core::Error),
    /// A registry's `WWW-Authenticate` realm points at a host the credential must not be sent to.
    #[error(
        "refused to send {credential} for registry '{registry}' to the token realm '{realm}': {why}. Check the registry host (it must be a registry of the configured cloud, e.g. <name>.azurecr.io)"
    )]
    ForeignRealm {
        /// The registry whose challenge it was.
        registry: String,
        /// The realm URL (no query).
        realm: String,
        /// Which credential was withheld.
        credential: &'static str,
        /// Why the realm is refused.
        why: String,
    },
    /// The registry (or its token service) refused the credentials.
    #[error(
        "registry '{registry}' refused the credentials for scope '{scope}': {message}. Check the identity's AcrPull/AcrPush role (or the token's scope map)"
    )]
    Unauthorized {
        /// The registry.
        registry: String,
        /// The scope asked for.
        scope: String,
        /// What the service said.
        message: String,
    },
    /// The chart, version or blob does not exist.
    #[error("{what} was not found in registry '{registry}'")]
    NotFound {
        /// The registry.
        registry: String,
        /// What was looked for.
        what: String,
    },
    /// No tag satisfies the version constraint.
    #[error(
        "no version of '{chart}' satisfies '{constraint}' (versions found: {available}); widen the range or push a matching chart"
    )]
    NoMatchingVersion {
        /// The chart reference.
        chart: String,
        /// The constraint.
        constraint: String,
        /// The semver tags found (comma-separated, possibly shortened).
        available: String,
    },
    /// The constraint string is not valid.
    #[error(transparent)]
    InvalidConstraint(#[from] ConstraintError),
    /// Content did not match its digest (corrupted or tampered in transit or at rest).
    #[error(
        "{what} from '{registry}' does not match its digest: expected {expected}, got {actual}; nothing was written. Retry; if it persists the registry content is corrupt"
    )]
    DigestMismatch {
        /// The registry.
        registry: String,
        /// Which content (`layer of charts/x:1.0.0`).
        what: String,
        /// The declared digest.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// Content is larger than allowed, or its size differs from the declared size.
    #[error("{what} from '{registry}' is refused: {why}; nothing was written")]
    SizeLimit {
        /// The registry.
        registry: String,
        /// Which content.
        what: String,
        /// The declared or received size and the limit.
        why: String,
    },
    /// The manifest is not a Helm chart this client accepts.
    #[error("'{reference}' in registry '{registry}' is not a Helm chart: {why}")]
    NotAChart {
        /// The registry.
        registry: String,
        /// `repository:tag`.
        reference: String,
        /// What is wrong.
        why: String,
    },
    /// An input (reference, chart archive, option) is not valid.
    #[error("invalid {what}: {why}")]
    InvalidInput {
        /// What input.
        what: String,
        /// Why.
        why: String,
    },
    /// Reading or writing a local file failed.
    #[error("{action} '{path}' failed: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A registry name is not available: ACR names are global DNS names (`<name>.azurecr.io`), and this one is
    /// taken by a registry in another subscription or resource group (or the service refused it).
    #[error(
        "the container registry name '{name}' is not available ({reason}): {message}. Registry names are global DNS names: choose another name (5-50 letters and digits), or use the existing registry's subscription and resource group if it is yours"
    )]
    RegistryNameUnavailable {
        /// The name asked for.
        name: String,
        /// The service's reason (`AlreadyExists`, `AlreadyInUse`, `Invalid`…).
        reason: String,
        /// The service's message.
        message: String,
    },
    /// The registry answered something this client cannot use.
    #[error("registry '{registry}' answered {request} unexpectedly: {message}")]
    Protocol {
        /// The registry.
        registry: String,
        /// `METHOD host/path`.
        request: String,
        /// What was wrong.
        message: String,
    },
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn invalid(what: impl Into<String>, why: impl Into<String>) -> Self {
        Error::InvalidInput {
            what: what.into(),
            why: why.into(),
        }
    }

    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

/// A chart repository in a registry: `oci://myacr.azurecr.io/charts/podinfo` is registry
/// `myacr.azurecr.io`, repository `charts/podinfo` (the chart's name is the last segment).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChartRef {
    /// `host[:port]`, lower-case.
    pub registry: String,
    /// The OCI repository (`charts/podinfo`).
    pub repository: String,
}

impl ChartRef {
    /// `ChartRef { registry, repository }`, validated.
    pub fn new(registry: &str, repository: &str) -> Result<Self> {
        let registry = registry.trim().to_ascii_lowercase();
        if registry.is_empty() || registry.contains('/') || registry.contains('@') {
            return Err(Error::invalid(
                "registry host",
                format!("'{registry}' is not a host[:port]"),
            ));
        }
        let repository = repository.trim_matches('/').to_owned();
        if !crate::wire::is_valid_repository(&repository) {
            return Err(Error::invalid(
                "chart repository",
                format!(
                    "'{repository}' is not a valid OCI repository name (lower-case path segments of [a-z0-9._-])"
                ),
            ));
        }
        Ok(Self {
            registry,
            repository,
        })
    }

    /// Parses `oci://host[:port]/path/chart` (the `oci://` prefix is optional). A `:tag` or `@digest` is refused:
    /// versions are passed separately.
    pub fn parse(url: &str) -> Result<Self> {
        let rest = url.strip_prefix("oci://").unwrap_or(url);
        let (registry, repository) = rest.split_once('/').ok_or_else(|| {
            Error::invalid(
                "chart reference",
                format!(
                    "'{url}' has no repository path (expected oci://<registry>/<path>/<chart>)"
                ),
            )
        })?;
        if repository.contains(':') || repository.contains('@') {
            return Err(Error::invalid(
                "chart reference",
                format!("'{url}' carries a tag or digest; pass the version separately"),
            ));
        }
        Self::new(registry, repository)
    }

    /// The chart's name: the last path segment.
    pub fn chart_name(&self) -> &str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
    }

    /// `oci://<registry>/<repository>`.
    pub fn url(&self) -> String {
        format!("oci://{}/{}", self.registry, self.repository)
    }

    /// `oci://<registry>/<repository without the chart name>`: what `HelmRepository.spec.url` and
    /// `helm push` take.
    pub fn repository_url(&self) -> String {
        match self.repository.rsplit_once('/') {
            Some((prefix, _)) => format!("oci://{}/{prefix}", self.registry),
            None => format!("oci://{}", self.registry),
        }
    }
}

impl fmt::Display for ChartRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url())
    }
}

/// A chart pulled to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledChart {
    /// Where it came from.
    pub chart: ChartRef,
    /// The version (the tag, `_` read back as `+`).
    pub version: String,
    /// The manifest's digest.
    pub manifest_digest: String,
    /// The chart layer's digest (verified).
    pub layer_digest: String,
    /// The chart layer's media type (Helm's, or the legacy `application/tar+gzip`).
    pub layer_media_type: String,
    /// Bytes written.
    pub size: u64,
    /// The `.tgz`, written atomically as `<dest>/<name>-<version>.tgz`.
    pub path: PathBuf,
    /// The chart config (Chart.yaml as JSON).
    pub config: serde_json::Value,
}

/// A chart pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedChart {
    /// Where it went (`<destination>/<chart name>`).
    pub chart: ChartRef,
    /// The version (Chart.yaml `version`).
    pub version: String,
    /// The tag (the version with `+` as `_`).
    pub tag: String,
    /// The manifest's digest.
    pub manifest_digest: String,
    /// The chart layer's digest.
    pub layer_digest: String,
}

/// A registry of Helm charts stored as OCI artifacts.
#[async_trait]
pub trait ChartRegistry: Send + Sync + 'static {
    /// Every tag of the repository, following the registry's paging.
    async fn list_tags(&self, chart: &ChartRef) -> Result<Vec<String>>;

    /// The highest chart version satisfying `constraint` (Helm's semver constraint syntax; `*` or an empty
    /// string for the latest stable version).
    async fn resolve_version(&self, chart: &ChartRef, constraint: &str) -> Result<semver::Version>;

    /// Resolves `constraint`, pulls that version and writes `<dest_dir>/<name>-<version>.tgz` atomically
    /// (digests verified while streaming; nothing is left behind on failure).
    async fn pull(
        &self,
        chart: &ChartRef,
        constraint: &str,
        dest_dir: &Path,
    ) -> Result<PulledChart>;

    /// Pushes a packaged chart (`.tgz`) to `<destination>/<chart name>:<version>` the way Helm v4 does.
    /// `destination` is `oci://<registry>/<path>` (what `helm push` takes).
    async fn push(&self, chart_tgz: &Path, destination: &str) -> Result<PushedChart>;
}
