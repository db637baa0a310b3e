//! Flux OCI artifacts (what `flux push artifact` writes and source-controller's OCIRepository reads): push
//! a directory, pull one (verifying every digest), tag one, and list a repository's artifacts with their
//! source and revision — on [`AcrClient`], so the token flow, realm checks and size limits apply.
//!
//! The artifact is an OCI image manifest (fluxcd/pkg `oci.Client.Push`, built with go-containerregistry):
//! config media type [`FLUX_CONFIG`] holding an image config with only `created` set, one layer
//! [`FLUX_CONTENT_LAYER`] (the tarball of [`crate::tarball`]), and the manifest annotations
//! `org.opencontainers.image.created` / `.source` / `.revision` plus the caller's. JSON fields are written
//! in go-containerregistry's order (`mediaType`, `size`, `digest`; annotations sorted).

use crate::api::{ChartRef, Error, Result};
use crate::client::{AcrClient, Call};
use crate::tarball::{self, IgnoreRules};
use crate::version::VersionConstraint;
use crate::wire::{self, Manifest};
use azflux_core::http::HttpMethod;
use bytes::Bytes;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The config media type of a Flux artifact.
pub const FLUX_CONFIG: &str = "application/vnd.cncf.flux.config.v1+json";
/// The content layer media type of a Flux artifact (a gzipped tarball).
pub const FLUX_CONTENT_LAYER: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";
/// Where the artifact's content came from (e.g. the Git URL).
pub const SOURCE_ANNOTATION: &str = "org.opencontainers.image.source";
/// The source revision (`<branch|tag>@sha1:<commit>`).
pub const REVISION_ANNOTATION: &str = "org.opencontainers.image.revision";
/// When the artifact was created (RFC 3339).
pub const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";

/// An artifact URL: `oci://<registry>/<repository>[:<tag>|@<digest>]` (fluxcd/pkg `ParseArtifactURL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactUrl {
    /// `host[:port]`, lower-case.
    pub registry: String,
    /// The repository path.
    pub repository: String,
    /// The tag, if the URL has one.
    pub tag: Option<String>,
    /// The digest, if the URL has one.
    pub digest: Option<String>,
    /// The URL without `oci://`, as given (what flux prints in `pushing artifact to …`).
    pub address: String,
}

fn valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    tag.len() <= 128
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

impl ArtifactUrl {
    /// Parses `oci://<registry>/<repository>[:tag|@digest]` with flux's wording for a missing `oci://`.
    pub fn parse(url: &str) -> Result<Self> {
        let address = url.strip_prefix("oci://").ok_or_else(|| {
            Error::invalid(
                "artifact URL",
                "URL must be in format 'oci://<domain>/<org>/<repo>'",
            )
        })?;
        let bad =
            |why: String| Error::invalid("artifact URL", format!("'{url}' invalid URL: {why}"));
        let (rest, digest) = match address.split_once('@') {
            Some((r, d)) => {
                if !wire::is_sha256_digest(d) {
                    return Err(bad(format!("'{d}' is not a sha256 digest")));
                }
                (r, Some(d.to_owned()))
            }
            None => (address, None),
        };
        let (name, tag) = match rest.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, Some(t.to_owned())),
            _ => (rest, None),
        };
        if let Some(t) = &tag
            && !valid_tag(t)
        {
            return Err(bad(format!("'{t}' is not a valid tag")));
        }
        let (registry, repository) = name
            .split_once('/')
            .ok_or_else(|| bad("no repository path".into()))?;
        let host = registry.split(':').next().unwrap_or(registry);
        if !(registry.contains('.') || registry.contains(':') || host == "localhost") {
            return Err(bad(format!(
                "'{registry}' is not a registry host (a name with a dot or a port, e.g. myacr.azurecr.io)"
            )));
        }
        if !wire::is_valid_repository(repository) {
            return Err(bad(format!(
                "'{repository}' is not a valid repository name (lower-case path segments of [a-z0-9._-])"
            )));
        }
        Ok(Self {
            registry: registry.to_ascii_lowercase(),
            repository: repository.to_owned(),
            tag,
            digest,
            address: address.to_owned(),
        })
    }

    /// `<registry>/<repository>` (go-containerregistry's `ref.Context().Name()`).
    pub fn repository_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The manifest reference: the digest, else the tag, else `latest`.
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// The tag (`latest` when none is given).
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }

    fn chart_ref(&self) -> Result<ChartRef> {
        ChartRef::new(&self.registry, &self.repository)
    }
}

impl fmt::Display for ArtifactUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "oci://{}", self.address)
    }
}

/// What to push besides the content.
#[derive(Debug, Clone, Default)]
pub struct PushArtifactOptions {
    /// `--source`: where the content came from.
    pub source: String,
    /// `--revision`: `<branch|tag>@sha1:<commit>`.
    pub revision: String,
    /// `--annotations k=v` (override the standard ones when they share a key).
    pub annotations: BTreeMap<String, String>,
    /// The ignore rules (flux's default: [`IgnoreRules::flux_default`]).
    pub ignore: IgnoreRules,
    /// The `created` time (RFC 3339); `None` for now on the client's clock (`--reproducible` passes
    /// `1970-01-01T00:00:00Z`).
    pub created: Option<String>,
}

/// An artifact pushed: what `flux push artifact --output json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushedArtifact {
    /// `oci://<registry>/<repository>@<digest>`.
    pub url: String,
    /// `<registry>/<repository>`.
    pub repository: String,
    /// The tag pushed.
    pub tag: String,
    /// The manifest digest.
    pub digest: String,
}

/// An artifact's metadata (fluxcd/pkg `oci.Metadata`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArtifactMetadata {
    /// `org.opencontainers.image.created`.
    pub created: String,
    /// `org.opencontainers.image.source`.
    pub source: String,
    /// `org.opencontainers.image.revision`.
    pub revision: String,
    /// For a pull: `<registry>/<repository>@<digest>`; for a list: the digest alone (as flux).
    pub digest: String,
    /// `<registry>/<repository>:<tag>` (list) or the URL pulled.
    pub url: String,
    /// Every manifest annotation.
    pub annotations: BTreeMap<String, String>,
}

impl ArtifactMetadata {
    fn from_annotations(annotations: BTreeMap<String, String>) -> Self {
        let get = |k: &str| annotations.get(k).cloned().unwrap_or_default();
        Self {
            created: get(CREATED_ANNOTATION),
            source: get(SOURCE_ANNOTATION),
            revision: get(REVISION_ANNOTATION),
            annotations,
            ..Self::default()
        }
    }
}

/// An artifact pulled and extracted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledArtifact {
    /// Its metadata (`digest` is `<registry>/<repository>@<digest>`).
    pub metadata: ArtifactMetadata,
    /// The content layer's digest (verified).
    pub layer_digest: String,
    /// The content layer's media type.
    pub layer_media_type: String,
    /// The files written, relative to the output directory.
    pub files: Vec<String>,
}

/// `flux list artifacts` filters.
#[derive(Debug, Clone, Default)]
pub struct ListArtifactsOptions {
    /// `--filter-semver`: keep tags that are semver versions (an optional leading `v`) in this range.
    pub semver: Option<String>,
    /// `--filter-regex`: keep tags matching this regular expression.
    pub regex: Option<String>,
    /// Keep cosign's `.att` / `.sbom` / `.sig` tags (flux drops them).
    pub include_cosign: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GcrDescriptor<'a> {
    media_type: &'a str,
    size: u64,
    digest: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GcrManifest<'a> {
    schema_version: u32,
    media_type: &'a str,
    config: GcrDescriptor<'a>,
    layers: Vec<GcrDescriptor<'a>>,
    annotations: &'a BTreeMap<String, String>,
}

/// The config blob: go-containerregistry's empty image config with `created` set.
pub fn config_json(created: &str) -> Vec<u8> {
    let created = serde_json::to_string(created).unwrap_or_else(|_| "\"\"".into());
    format!(
        r#"{{"architecture":"","created":{created},"os":"","rootfs":{{"type":"layers","diff_ids":[]}},"config":{{}}}}"#
    )
    .into_bytes()
}

/// The manifest annotations flux writes for `options` (created resolved by the caller).
pub fn annotations(options: &PushArtifactOptions, created: &str) -> BTreeMap<String, String> {
    let mut a = BTreeMap::from([
        (CREATED_ANNOTATION.to_owned(), created.to_owned()),
        (SOURCE_ANNOTATION.to_owned(), options.source.clone()),
        (REVISION_ANNOTATION.to_owned(), options.revision.clone()),
    ]);
    a.extend(options.annotations.clone());
    if a.get(CREATED_ANNOTATION).is_none_or(String::is_empty) {
        a.insert(CREATED_ANNOTATION.to_owned(), created.to_owned());
    }
    a
}

/// The manifest bytes of a Flux artifact.
pub fn manifest_json(
    config: &[u8],
    layer: &[u8],
    annotations: &BTreeMap<String, String>,
) -> Vec<u8> {
    let config_digest = wire::sha256_digest(config);
    let layer_digest = wire::sha256_digest(layer);
    let m = GcrManifest {
        schema_version: 2,
        media_type: wire::OCI_MANIFEST,
        config: GcrDescriptor {
            media_type: FLUX_CONFIG,
            size: config.len() as u64,
            digest: &config_digest,
        },
        layers: vec![GcrDescriptor {
            media_type: FLUX_CONTENT_LAYER,
            size: layer.len() as u64,
            digest: &layer_digest,
        }],
        annotations,
    };
    serde_json::to_vec(&m).unwrap_or_default()
}

fn parse_created(created: &str) -> Result<()> {
    time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
        .map(|_| ())
        .map_err(|e| {
            Error::invalid(
                "artifact metadata",
                format!("invalid created timestamp \"{created}\": {e}"),
            )
        })
}

/// Cosign's signature, attestation and SBOM tags (flux leaves them out of `list artifacts`).
pub fn is_cosign_tag(tag: &str) -> bool {
    [".att", ".sbom", ".sig"].iter().any(|s| tag.ends_with(s))
}

/// A manifest fetched: bytes, content type, digest (verified against the registry's header).
struct RawManifest {
    body: Bytes,
    media_type: String,
    digest: String,
}

impl AcrClient {
    fn same_artifact_registry(&self, url: &ArtifactUrl) -> Result<()> {
        self.same_registry(&url.chart_ref()?)
    }

    async fn raw_manifest(&self, url: &ArtifactUrl, reference: &str) -> Result<RawManifest> {
        let scope = format!("repository:{}:pull", url.repository);
        let what = format!("artifact '{}:{reference}'", url.repository);
        let request = format!(
            "GET {}/v2/{}/manifests/{reference}",
            self.registry(),
            url.repository
        );
        let resp = self
            .execute(Call {
                method: HttpMethod::Get,
                url: self.url(&format!("v2/{}/manifests/{reference}", url.repository))?,
                scope: &scope,
                headers: vec![(
                    "accept",
                    format!(
                        "{}, {}, {}",
                        wire::OCI_MANIFEST,
                        wire::DOCKER_MANIFEST_V2,
                        wire::OCI_INDEX
                    ),
                )],
                body: None,
            })
            .await?;
        if !(200..300).contains(&u16::from(resp.status())) {
            return Err(self.fail(resp, &request, what).await);
        }
        let header = |n: &str| {
            resp.headers()
                .get_optional_str(&n.to_owned().into())
                .map(str::to_owned)
        };
        let header_digest = header("docker-content-digest");
        let media_type = header("content-type")
            .map(|c| c.split(';').next().unwrap_or_default().trim().to_owned())
            .unwrap_or_else(|| wire::OCI_MANIFEST.to_owned());
        let body = self
            .read_limited(
                resp,
                self.limits().max_manifest_bytes,
                &format!("the manifest of {what}"),
            )
            .await?;
        let digest = wire::sha256_digest(&body);
        let expected = if reference.starts_with("sha256:") {
            Some(reference.to_owned())
        } else {
            header_digest.filter(|h| h.starts_with("sha256:"))
        };
        if let Some(expected) = expected
            && expected != digest
        {
            return Err(Error::DigestMismatch {
                registry: self.registry().to_owned(),
                what: format!("the manifest of {what}"),
                expected,
                actual: digest,
            });
        }
        Ok(RawManifest {
            body,
            media_type,
            digest,
        })
    }

    async fn put_manifest(
        &self,
        url: &ArtifactUrl,
        tag: &str,
        media_type: &str,
        body: Bytes,
    ) -> Result<()> {
        let scope = format!("repository:{}:pull,push", url.repository);
        let request = format!(
            "PUT {}/v2/{}/manifests/{tag}",
            self.registry(),
            url.repository
        );
        let put = self
            .execute(Call {
                method: HttpMethod::Put,
                url: self.url(&format!("v2/{}/manifests/{tag}", url.repository))?,
                scope: &scope,
                headers: vec![("content-type", media_type.to_owned())],
                body: Some(body),
            })
            .await?;
        if u16::from(put.status()) != 201 {
            return Err(self
                .fail(
                    put,
                    &request,
                    format!("artifact '{}:{tag}'", url.repository),
                )
                .await);
        }
        Ok(())
    }

    /// Pushes `path` (a directory, or one file) as a Flux artifact to `url` (its tag, or `latest`), like
    /// `flux push artifact`.
    pub async fn push_artifact(
        &self,
        url: &ArtifactUrl,
        path: &Path,
        options: &PushArtifactOptions,
    ) -> Result<PushedArtifact> {
        self.same_artifact_registry(url)?;
        if url.digest.is_some() {
            return Err(Error::invalid(
                "artifact URL",
                format!("artifact tag parsing failed: '{url}' names a digest; push to a tag"),
            ));
        }
        let limit = self.limits().max_layer_bytes;
        let source = path.to_owned();
        let ignore = options.ignore.clone();
        let layer = tokio::task::spawn_blocking(move || tarball::build(&source, &ignore, limit))
            .await
            .map_err(|e| Error::invalid("artifact content", format!("building failed: {e}")))??;
        if layer.len() as u64 > limit {
            return Err(Error::invalid(
                "artifact content",
                format!("the tarball is {} bytes, more than {limit}", layer.len()),
            ));
        }
        let now = self
            .clock()
            .now()
            .to_offset(time::UtcOffset::UTC)
            .replace_nanosecond(0)
            .unwrap_or_else(|_| self.clock().now())
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let created = options
            .created
            .clone()
            .filter(|c| !c.is_empty())
            .unwrap_or(now);
        let annotations = annotations(options, &created);
        let created = annotations
            .get(CREATED_ANNOTATION)
            .cloned()
            .unwrap_or(created);
        parse_created(&created)?;
        let config = config_json(&created);
        let manifest = manifest_json(&config, &layer, &annotations);
        let scope = format!("repository:{}:pull,push", url.repository);
        let config_digest = wire::sha256_digest(&config);
        let layer_digest = wire::sha256_digest(&layer);
        self.upload_blob(&url.repository, &scope, Bytes::from(config), &config_digest)
            .await?;
        self.upload_blob(&url.repository, &scope, Bytes::from(layer), &layer_digest)
            .await?;
        let digest = wire::sha256_digest(&manifest);
        let tag = url.tag_or_latest().to_owned();
        self.put_manifest(url, &tag, wire::OCI_MANIFEST, Bytes::from(manifest))
            .await?;
        Ok(PushedArtifact {
            url: format!("oci://{}@{digest}", url.repository_name()),
            repository: url.repository_name(),
            tag,
            digest,
        })
    }

    /// Pulls the artifact at `url`, verifies the manifest and layer digests, and extracts its first layer
    /// (a gzipped tarball) into `out_dir`, like `flux pull artifact`.
    pub async fn pull_artifact(&self, url: &ArtifactUrl, out_dir: &Path) -> Result<PulledArtifact> {
        self.same_artifact_registry(url)?;
        let raw = self.raw_manifest(url, url.reference()).await?;
        let reference = format!("{}:{}", url.repository, url.reference());
        let not_artifact = |why: String| Error::Protocol {
            registry: self.registry().to_owned(),
            request: format!("GET manifest {reference}"),
            message: why,
        };
        let manifest: Manifest = serde_json::from_slice(&raw.body)
            .map_err(|e| not_artifact(format!("the manifest is not an OCI image manifest: {e}")))?;
        let layer = manifest
            .layers
            .first()
            .ok_or_else(|| not_artifact("no layers found in artifact".into()))?
            .clone();
        let limit = self.limits().max_layer_bytes;
        let what = format!("the content layer of {reference}");
        self.check_descriptor(&layer, limit, &what)?;
        let data = self
            .blob_small(&url.repository, &layer, limit, &what)
            .await?;
        if !tarball::is_gzip(&data) {
            return Err(Error::invalid(
                "artifact content",
                format!(
                    "the first layer of '{reference}' ({}) is not a gzipped tarball, so it cannot be extracted to a directory",
                    layer.media_type
                ),
            ));
        }
        let dest = out_dir.to_owned();
        let files = tokio::task::spawn_blocking(move || tarball::extract(&data, &dest, limit))
            .await
            .map_err(|e| Error::invalid("artifact content", format!("extracting failed: {e}")))??;
        let mut metadata =
            ArtifactMetadata::from_annotations(manifest.annotations.unwrap_or_default());
        metadata.url = url.address.clone();
        metadata.digest = format!("{}@{}", url.repository_name(), raw.digest);
        Ok(PulledArtifact {
            metadata,
            layer_digest: layer.digest,
            layer_media_type: layer.media_type,
            files,
        })
    }

    /// Tags the artifact at `url` as `tag` (the same manifest bytes under a new tag); returns
    /// `<registry>/<repository>:<tag>`, what `flux tag artifact` prints.
    pub async fn tag_artifact(&self, url: &ArtifactUrl, tag: &str) -> Result<String> {
        self.same_artifact_registry(url)?;
        if !valid_tag(tag) {
            return Err(Error::invalid(
                "tag",
                format!("'{tag}' is not a valid OCI tag ([A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})"),
            ));
        }
        let raw = self.raw_manifest(url, url.reference()).await?;
        self.put_manifest(url, tag, &raw.media_type, raw.body)
            .await?;
        Ok(format!("{}:{tag}", url.repository_name()))
    }

    /// The artifacts of a repository, newest tag first by name (as flux sorts: descending string order),
    /// each with its digest, source and revision, like `flux list artifacts`.
    pub async fn list_artifacts(
        &self,
        url: &ArtifactUrl,
        options: &ListArtifactsOptions,
    ) -> Result<Vec<ArtifactMetadata>> {
        self.same_artifact_registry(url)?;
        let constraint = options
            .semver
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                VersionConstraint::parse(s).map_err(|e| {
                    Error::invalid("semver filter", format!("semver '{s}' parse error: {e}"))
                })
            })
            .transpose()?;
        let re = options
            .regex
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                regex::Regex::new(s).map_err(|e| {
                    Error::invalid("regex filter", format!("regex '{s}' parse error: {e}"))
                })
            })
            .transpose()?;
        let mut tags = self.tags(&url.chart_ref()?).await?;
        tags.sort_by(|a, b| b.cmp(a));
        let mut out = Vec::new();
        for tag in tags {
            if !options.include_cosign && is_cosign_tag(&tag) {
                continue;
            }
            if let Some(c) = &constraint {
                let Ok(v) = semver::Version::parse(tag.strip_prefix('v').unwrap_or(&tag)) else {
                    continue;
                };
                if !c.matches(&v) {
                    continue;
                }
            }
            if let Some(re) = &re
                && !re.is_match(&tag)
            {
                continue;
            }
            let raw = self.raw_manifest(url, &tag).await?;
            let manifest: Manifest =
                serde_json::from_slice(&raw.body).map_err(|e| Error::Protocol {
                    registry: self.registry().to_owned(),
                    request: format!("GET manifest {}:{tag}", url.repository),
                    message: format!("parsing manifest failed: {e}"),
                })?;
            let mut meta =
                ArtifactMetadata::from_annotations(manifest.annotations.unwrap_or_default());
            meta.url = format!("{}:{tag}", url.repository_name());
            meta.digest = raw.digest;
            out.push(meta);
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_like_flux() {
        let u = ArtifactUrl::parse("oci://myacr.azurecr.io/apps/podinfo:v1.2.3").unwrap();
        assert_eq!(u.registry, "myacr.azurecr.io");
        assert_eq!(u.repository, "apps/podinfo");
        assert_eq!(u.reference(), "v1.2.3");
        assert_eq!(u.repository_name(), "myacr.azurecr.io/apps/podinfo");
        let d = format!("sha256:{}", "a".repeat(64));
        let u = ArtifactUrl::parse(&format!("oci://127.0.0.1:5000/x@{d}")).unwrap();
        assert_eq!(u.reference(), d);
        assert_eq!(u.tag, None);
        assert_eq!(
            ArtifactUrl::parse("oci://localhost:5000/x")
                .unwrap()
                .tag_or_latest(),
            "latest"
        );
        let e = ArtifactUrl::parse("myacr.azurecr.io/x:1").unwrap_err();
        assert!(
            e.to_string()
                .contains("URL must be in format 'oci://<domain>/<org>/<repo>'")
        );
        assert!(ArtifactUrl::parse("oci://podinfo/x").is_err());
        assert!(ArtifactUrl::parse("oci://a.io/X").is_err());
        assert!(ArtifactUrl::parse("oci://a.io/x:-bad").is_err());
    }

    #[test]
    fn manifest_and_config_have_flux_media_types_and_gcr_field_order() {
        let opts = PushArtifactOptions {
            source: "https://dev.azure.com/o/p/_git/r".into(),
            revision: "main@sha1:abc".into(),
            annotations: BTreeMap::from([(
                "org.opencontainers.image.licenses".into(),
                "MIT".into(),
            )]),
            ..Default::default()
        };
        let a = annotations(&opts, "1970-01-01T00:00:00Z");
        let config = config_json("1970-01-01T00:00:00Z");
        assert_eq!(
            String::from_utf8(config.clone()).unwrap(),
            r#"{"architecture":"","created":"1970-01-01T00:00:00Z","os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{}}"#
        );
        let m = String::from_utf8(manifest_json(&config, b"layer", &a)).unwrap();
        assert!(m.starts_with(&format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"{FLUX_CONFIG}","size":{},"digest":"{}"}},"layers":[{{"mediaType":"{FLUX_CONTENT_LAYER}","size":5,"digest":"{}"}}],"annotations":{{"org.opencontainers.image.created":"1970-01-01T00:00:00Z","org.opencontainers.image.licenses":"MIT","org.opencontainers.image.revision":"main@sha1:abc","org.opencontainers.image.source":"https://dev.azure.com/o/p/_git/r"}}}}"#,
            config.len(),
            wire::sha256_digest(&config),
            wire::sha256_digest(b"layer"),
        )), "{m}");
    }

    #[test]
    fn a_custom_created_annotation_wins_and_an_empty_one_is_replaced() {
        let mut opts = PushArtifactOptions::default();
        opts.annotations
            .insert(CREATED_ANNOTATION.into(), "2026-06-10T12:00:00Z".into());
        assert_eq!(
            annotations(&opts, "1970-01-01T00:00:00Z")[CREATED_ANNOTATION],
            "2026-06-10T12:00:00Z"
        );
        opts.annotations
            .insert(CREATED_ANNOTATION.into(), String::new());
        assert_eq!(
            annotations(&opts, "1970-01-01T00:00:00Z")[CREATED_ANNOTATION],
            "1970-01-01T00:00:00Z"
        );
        assert!(parse_created("yesterday").is_err());
    }
}
