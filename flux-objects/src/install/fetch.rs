//! Manifest sources that do I/O (feature `fetch`): the GitHub release download with a checksum-verified
//! disk cache, and a local directory.

use super::{ManifestSource, ReleaseArtifacts, checksums_file_name, verify_checksum};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Where flux2 publishes release assets.
pub const GITHUB_RELEASES: &str = "https://github.com/fluxcd/flux2/releases/download";

/// Downloads `manifests.tar.gz` and the release checksums for a version, verifies the archive against them,
/// and caches both under `<cache_dir>/<version>/` (a cached copy is verified again before use).
#[derive(Debug, Clone)]
pub struct GitHubReleaseSource {
    base_url: String,
    cache_dir: PathBuf,
    client: reqwest::Client,
}

impl GitHubReleaseSource {
    /// A source for the public GitHub releases, caching in `cache_dir`.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        // reqwest is built with `rustls-no-provider`: install ring unless a provider is installed.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        GitHubReleaseSource {
            base_url: GITHUB_RELEASES.to_owned(),
            cache_dir: cache_dir.into(),
            client: reqwest::Client::new(),
        }
    }

    /// Points the source at another server laid out like `…/releases/download` (`<base>/<version>/<file>`).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Uses a caller-configured HTTP client (proxies, timeouts).
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = client;
        self
    }

    async fn download(&self, version: &str, file: &str) -> Result<Vec<u8>> {
        let url = format!("{}/{version}/{file}", self.base_url);
        let err = |m: String| Error::Manifests {
            version: version.to_owned(),
            message: m,
        };
        let resp = self.client.get(&url).send().await.map_err(|e| {
            err(format!(
                "GET {url} failed: {e}; check the network or use a local manifests directory"
            ))
        })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(err(format!(
                "GET {url} returned {status}; does release {version} exist?"
            )));
        }
        Ok(resp
            .bytes()
            .await
            .map_err(|e| err(format!("reading {url}: {e}")))?
            .to_vec())
    }

    async fn cached(&self, version: &str, dir: &Path) -> Option<ReleaseArtifacts> {
        let tgz = tokio::fs::read(dir.join("manifests.tar.gz")).await.ok()?;
        let sums = tokio::fs::read_to_string(dir.join(checksums_file_name(version)))
            .await
            .ok()?;
        verify_checksum(version, "manifests.tar.gz", &tgz, &sums).ok()?;
        ReleaseArtifacts::from_tar_gz(&tgz).ok()
    }
}

fn check_version(version: &str) -> Result<()> {
    let ok = version.strip_prefix('v').is_some_and(|v| {
        !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            && !v.contains("..")
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Manifests {
            version: version.to_owned(),
            message: "a release version looks like v2.9.0".into(),
        })
    }
}

#[async_trait::async_trait]
impl ManifestSource for GitHubReleaseSource {
    async fn fetch(&self, version: &str) -> Result<ReleaseArtifacts> {
        check_version(version)?;
        let dir = self.cache_dir.join(version);
        if let Some(a) = self.cached(version, &dir).await {
            return Ok(a);
        }
        let sums_name = checksums_file_name(version);
        let sums = self.download(version, &sums_name).await?;
        let sums = String::from_utf8(sums).map_err(|_| Error::Manifests {
            version: version.to_owned(),
            message: format!("{sums_name} is not text"),
        })?;
        let tgz = self.download(version, "manifests.tar.gz").await?;
        verify_checksum(version, "manifests.tar.gz", &tgz, &sums)?;
        let artifacts = ReleaseArtifacts::from_tar_gz(&tgz)?;
        let io = |e: std::io::Error| Error::Manifests {
            version: version.to_owned(),
            message: format!("caching in {}: {e}", dir.display()),
        };
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        for (name, bytes) in [
            ("manifests.tar.gz", tgz.as_slice()),
            (sums_name.as_str(), sums.as_bytes()),
        ] {
            let tmp = dir.join(format!(".{name}.partial"));
            tokio::fs::write(&tmp, bytes).await.map_err(io)?;
            tokio::fs::rename(&tmp, dir.join(name)).await.map_err(io)?;
        }
        Ok(artifacts)
    }
}

/// A directory holding the unpacked artifacts (`source-controller.yaml`, …, `rbac.yaml`, `policies.yaml`),
/// like the flux CLI's hidden `--manifests` flag; the version is not checked.
#[derive(Debug, Clone)]
pub struct LocalDirSource {
    dir: PathBuf,
}

impl LocalDirSource {
    /// A source reading `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LocalDirSource { dir: dir.into() }
    }
}

#[async_trait::async_trait]
impl ManifestSource for LocalDirSource {
    async fn fetch(&self, version: &str) -> Result<ReleaseArtifacts> {
        let err = |e: std::io::Error| Error::Manifests {
            version: version.to_owned(),
            message: format!("reading {}: {e}", self.dir.display()),
        };
        let mut files = Vec::new();
        let mut rd = tokio::fs::read_dir(&self.dir).await.map_err(err)?;
        while let Some(entry) = rd.next_entry().await.map_err(err)? {
            let path = entry.path();
            let is_yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
            if is_yaml && entry.file_type().await.map_err(err)?.is_file() {
                let name = entry.file_name().to_string_lossy().into_owned();
                files.push((name, tokio::fs::read_to_string(&path).await.map_err(err)?));
            }
        }
        Ok(ReleaseArtifacts::from_files(files))
    }
}
