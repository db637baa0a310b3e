//! The Blob service of one storage account, through the official `azure_storage_blob` 1.x crate: list, download
//! and publish a directory as the blobs a Flux `Bucket` source reads. The SDK client rides the caller's
//! transport ([`HttpPipelineOptions::client_options`]), so the fake cloud's routing, faults and throttling
//! apply to it as to every other client; its Entra token (scope `https://storage.azure.com/.default`) goes only
//! to the account's own endpoint, which must be HTTPS.

use crate::api::{BlobEntry, Buckets, Error, PublishReport, Result, validate_account_name};
use async_trait::async_trait;
use azflux_core::Cloud;
use azflux_core::http::HttpPipelineOptions;
use azure_core::credentials::TokenCredential;
use azure_core::http::RequestContent;
use azure_storage_blob::models::{BlobClientUploadOptions, BlobContainerClientListBlobsOptions};
use azure_storage_blob::{BlobServiceClient, BlobServiceClientOptions};
use futures::TryStreamExt;
use md_5::Md5;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use url::Url;

/// Files larger than this are refused (a Flux bucket holds manifests, not artifacts).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The Blob service of one account.
#[derive(Clone)]
pub struct BlobBuckets {
    service: Arc<BlobServiceClient>,
    endpoint: Url,
}

impl std::fmt::Debug for BlobBuckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobBuckets")
            .field("endpoint", &self.endpoint.as_str())
            .finish_non_exhaustive()
    }
}

impl BlobBuckets {
    /// The Blob service of account `account` in `cloud` (`https://<account>.blob.<storage suffix>/`).
    pub fn new(
        cloud: &Cloud,
        account: &str,
        credential: Arc<dyn TokenCredential>,
        options: &HttpPipelineOptions,
    ) -> Result<Self> {
        validate_account_name(account)?;
        let endpoint: Url = format!("https://{account}.blob.{}/", cloud.storage_suffix)
            .parse()
            .map_err(|e| Error::invalid(format!("storage account '{account}'"), format!("{e}")))?;
        Self::with_endpoint(endpoint, credential, options)
    }

    /// The Blob service at `endpoint` (an emulator such as Azurite: `https://127.0.0.1:10000/devstoreaccount1/`).
    /// The endpoint must be HTTPS: a bearer token is never sent in clear.
    pub fn with_endpoint(
        endpoint: Url,
        credential: Arc<dyn TokenCredential>,
        options: &HttpPipelineOptions,
    ) -> Result<Self> {
        if endpoint.scheme() != "https" {
            return Err(Error::invalid(
                format!("blob endpoint {endpoint}"),
                "use https://: Entra ID tokens are only sent over TLS",
            ));
        }
        let mut endpoint = endpoint;
        if !endpoint.path().ends_with('/') {
            let path = format!("{}/", endpoint.path());
            endpoint.set_path(&path);
        }
        let client_options = BlobServiceClientOptions {
            client_options: options.client_options(),
            ..Default::default()
        };
        let service =
            BlobServiceClient::new(endpoint.clone(), Some(credential), Some(client_options))
                .map_err(|e| blob_error("create the Blob client", e))?;
        Ok(Self {
            service: Arc::new(service),
            endpoint,
        })
    }

    /// The service endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    async fn upload(
        &self,
        container: &str,
        name: &str,
        bytes: Vec<u8>,
        md5: Vec<u8>,
    ) -> Result<()> {
        let options = BlobClientUploadOptions {
            blob_content_md5: Some(md5),
            blob_content_type: Some(content_type(name).into()),
            ..Default::default()
        };
        self.service
            .blob_client(container, name)
            .upload(RequestContent::from(bytes), Some(options))
            .await
            .map_err(|e| blob_error(&format!("upload {container}/{name}"), e))?;
        Ok(())
    }

    async fn delete(&self, container: &str, name: &str) -> Result<()> {
        match self.service.blob_client(container, name).delete(None).await {
            Ok(_) => Ok(()),
            Err(e) if e.http_status() == Some(azure_core::http::StatusCode::NotFound) => Ok(()),
            Err(e) => Err(blob_error(&format!("delete {container}/{name}"), e)),
        }
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("yaml" | "yml") => "application/yaml",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// What to do for each Blob error code a user can fix.
fn advice(code: &str) -> &'static str {
    match code {
        "AuthorizationPermissionMismatch" | "AuthorizationFailure" => {
            " — the caller needs a data role on the account or container: Storage Blob Data Contributor to publish, Storage Blob Data Reader to read (role assignments take a few minutes to apply)"
        }
        "KeyBasedAuthenticationNotPermitted" => {
            " — the account refuses shared keys; use Entra ID (provider: azure)"
        }
        "ContainerNotFound" => " — create the container first (ensure_container)",
        "InvalidAuthenticationInfo" | "NoAuthenticationInformation" => {
            " — the token was refused; check the credential and that it is for https://storage.azure.com"
        }
        _ => "",
    }
}

fn blob_error(operation: &str, e: azure_core::Error) -> Error {
    use azure_core::error::ErrorKind;
    match e.kind() {
        ErrorKind::HttpResponse {
            status, error_code, ..
        } => {
            let code = error_code.clone().unwrap_or_else(|| "Unknown".into());
            Error::Blob {
                operation: operation.to_owned(),
                status: u16::from(*status),
                message: format!("{e}{}", advice(&code)),
                code,
            }
        }
        _ => Error::Azure(azflux_core::Error::Transport {
            resource: operation.to_owned(),
            message: azflux_core::http::describe_core_error(&e),
        }),
    }
}

/// The files of `dir`, relative `/`-separated paths, sorted; `.git` directories and symlinks left out.
fn files_of(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>> {
    let io = |p: &Path, e: std::io::Error| Error::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| io(&d, e))? {
            let entry = entry.map_err(|e| io(&d, e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| io(&path, e))?;
            if kind.is_symlink() || entry.file_name() == ".git" {
                continue;
            }
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let rel = path
                    .strip_prefix(dir)
                    .map_err(|e| Error::Io {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    })?
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((rel, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// `sha256:<hex>` over the sorted `name\0md5-hex\n` lines.
pub fn revision_of<'a>(entries: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut sorted: Vec<(&str, &[u8])> = entries.into_iter().collect();
    sorted.sort();
    let mut h = Sha256::new();
    for (name, md5) in sorted {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(hex(md5).as_bytes());
        h.update(b"\n");
    }
    format!("sha256:{}", hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl Buckets for BlobBuckets {
    async fn list(&self, container: &str, prefix: &str) -> Result<Vec<BlobEntry>> {
        crate::api::validate_container_name(container)?;
        let options = BlobContainerClientListBlobsOptions {
            prefix: (!prefix.is_empty()).then(|| prefix.to_owned()),
            ..Default::default()
        };
        let mut pager = self
            .service
            .blob_container_client(container)
            .list_blobs(Some(options))
            .map_err(|e| blob_error(&format!("list {container}/{prefix}"), e))?;
        let mut out = Vec::new();
        while let Some(item) = pager
            .try_next()
            .await
            .map_err(|e| blob_error(&format!("list {container}/{prefix}"), e))?
        {
            let props = item.properties.as_ref();
            out.push(BlobEntry {
                name: item.name.clone().unwrap_or_default(),
                size: props.and_then(|p| p.content_length).unwrap_or(0),
                content_md5: props.and_then(|p| p.content_md5.clone()),
            });
        }
        Ok(out)
    }

    async fn download(&self, container: &str, name: &str) -> Result<Vec<u8>> {
        crate::api::validate_container_name(container)?;
        let op = format!("download {container}/{name}");
        let response = self
            .service
            .blob_client(container, name)
            .download(None)
            .await
            .map_err(|e| blob_error(&op, e))?;
        let bytes = response
            .body
            .collect()
            .await
            .map_err(|e| blob_error(&op, e))?;
        Ok(bytes.to_vec())
    }

    async fn publish_dir(
        &self,
        container: &str,
        prefix: &str,
        dir: &Path,
        prune: bool,
    ) -> Result<PublishReport> {
        crate::api::validate_container_name(container)?;
        crate::api::validate_prefix(prefix)?;
        let existing: BTreeMap<String, Option<Vec<u8>>> = self
            .list(container, prefix)
            .await?
            .into_iter()
            .map(|b| (b.name, b.content_md5))
            .collect();
        let mut report = PublishReport::default();
        let mut published: Vec<(String, Vec<u8>)> = Vec::new();
        for (rel, path) in files_of(dir)? {
            let meta = std::fs::metadata(&path).map_err(|e| Error::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            if meta.len() > MAX_FILE_BYTES {
                return Err(Error::invalid(
                    path.display().to_string(),
                    format!(
                        "it is {} bytes; a bucket holds manifests of at most {MAX_FILE_BYTES} bytes each",
                        meta.len()
                    ),
                ));
            }
            let bytes = std::fs::read(&path).map_err(|e| Error::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            let md5 = Md5::digest(&bytes).to_vec();
            let name = format!("{prefix}{rel}");
            if existing.get(&name).and_then(Option::as_ref) == Some(&md5) {
                report.unchanged.push(name.clone());
            } else {
                self.upload(container, &name, bytes, md5.clone()).await?;
                report.uploaded.push(name.clone());
            }
            published.push((name, md5));
        }
        if prune {
            let keep: std::collections::BTreeSet<&str> =
                published.iter().map(|(n, _)| n.as_str()).collect();
            for name in existing.keys().filter(|n| !keep.contains(n.as_str())) {
                self.delete(container, name).await?;
                report.deleted.push(name.clone());
            }
        }
        report.revision = revision_of(published.iter().map(|(n, m)| (n.as_str(), m.as_slice())));
        Ok(report)
    }
}
