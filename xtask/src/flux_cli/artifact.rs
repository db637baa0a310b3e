//! `flux push artifact`, `flux pull artifact`, `flux tag artifact` and `flux list artifacts`: the flux CLI's
//! flags, log lines and output (flux2 `cmd/flux/{push,pull,tag,list}_artifact.go`), on acr-oci's client.
//!
//! Authentication: `--provider azure` exchanges an Entra ID token from the environment credential chain for
//! ACR tokens (what flux's provider login does); `--creds <user>:<password>` uses Docker token auth with
//! basic credentials; otherwise the registry is asked anonymously (flux would also read
//! `~/.docker/config.json`, which this command does not). `--insecure-registry` speaks plain HTTP, which
//! acr-oci only allows for loopback registries. `aws` and `gcp` providers are refused.

use super::flags::{Kind, Parsed, Spec, f, fs};
use super::{GLOBAL, Output, parse};
use acr_oci::tarball::{DEFAULT_IGNORE, IgnoreRules};
use acr_oci::{
    AcrAuth, AcrClient, AcrClientOptions, ArtifactUrl, ListArtifactsOptions, PushArtifactOptions,
};
use azflux_core::Cloud;
use azflux_core::TokenCredential;
use azflux_core::http::HttpPipelineOptions;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// How the artifact commands reach registries.
#[derive(Clone, Default)]
pub struct ArtifactContext {
    /// Transport, retries and clock (the fake cloud's routing transport in tests).
    pub http: HttpPipelineOptions,
    /// The cloud (registry suffix, Container Registry scope).
    pub cloud: Cloud,
    /// The identity for `--provider azure`; `None` when no credential is configured.
    pub credential: Option<Arc<dyn TokenCredential>>,
}

impl std::fmt::Debug for ArtifactContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactContext")
            .field("cloud", &self.cloud.name)
            .field("credential", &self.credential.is_some())
            .finish_non_exhaustive()
    }
}

const PUSH_FLAGS: &[Spec] = &[
    fs("path", 'f', Kind::Str),
    f("source", Kind::Str),
    f("revision", Kind::Str),
    f("creds", Kind::Str),
    f("provider", Kind::Str),
    f("ignore-paths", Kind::Slice),
    f("add-ignore-paths", Kind::Slice),
    fs("annotations", 'a', Kind::Array),
    fs("output", 'o', Kind::Str),
    f("debug", Kind::Bool),
    f("reproducible", Kind::Bool),
    f("insecure-registry", Kind::Bool),
    f("resolve-symlinks", Kind::Bool),
];

const PULL_FLAGS: &[Spec] = &[
    fs("output", 'o', Kind::Str),
    f("creds", Kind::Str),
    f("insecure-registry", Kind::Bool),
    f("provider", Kind::Str),
];

const TAG_FLAGS: &[Spec] = &[
    f("tag", Kind::Slice),
    f("creds", Kind::Str),
    f("provider", Kind::Str),
];

const LIST_FLAGS: &[Spec] = &[
    f("filter-semver", Kind::Str),
    f("filter-regex", Kind::Str),
    f("creds", Kind::Str),
    f("provider", Kind::Str),
    f("insecure-registry", Kind::Bool),
];

/// Whether `words` is one of the artifact commands.
pub fn is_artifact_command(words: &[String]) -> bool {
    matches!(
        words
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["push" | "pull" | "tag", "artifact", ..] | ["list", "artifacts", ..]
    )
}

/// Runs an artifact command (`words` start with `push artifact`, `pull artifact`, `tag artifact` or
/// `list artifacts`) and returns what it printed.
pub async fn run(words: &[String], ctx: &ArtifactContext) -> Output {
    let mut log = String::new();
    let result = match words.first().map(String::as_str) {
        Some("push") => push(&words[2..], ctx, &mut log).await,
        Some("pull") => pull(&words[2..], ctx, &mut log).await,
        Some("tag") => tag(&words[2..], ctx, &mut log).await,
        Some("list") => list(&words[2..], ctx, &mut log).await,
        _ => Err("not an artifact command".into()),
    };
    match result {
        Ok(stdout) => Output {
            stdout,
            stderr: log,
            code: 0,
        },
        Err(e) => Output {
            stdout: String::new(),
            stderr: format!("{log}✗ {e}\n"),
            code: 1,
        },
    }
}

fn action(log: &mut String, msg: &str) {
    log.push_str(&format!("► {msg}\n"));
}

fn success(log: &mut String, msg: &str) {
    log.push_str(&format!("✔ {msg}\n"));
}

/// `--provider`, validated with flux's wording (`generic` by default).
fn provider(p: &Parsed) -> Result<String, String> {
    let Some(v) = p.get("provider") else {
        return Ok("generic".into());
    };
    let why = if v.trim().is_empty() {
        "no source OCI provider given, please specify the OCI provider name".to_owned()
    } else if !["generic", "aws", "azure", "gcp"].contains(&v) {
        format!(
            "source OCI provider '{v}' is not supported, must be one of: generic, aws, azure, gcp"
        )
    } else {
        return Ok(v.to_owned());
    };
    Err(super::flags::invalid_argument(v, "provider", &why))
}

/// The client for `url`, logging in as flux does (the log lines come first, like flux's).
fn client(
    p: &Parsed,
    url: &ArtifactUrl,
    ctx: &ArtifactContext,
    log: &mut String,
    insecure: bool,
) -> Result<AcrClient, String> {
    let provider = provider(p)?;
    let creds = p.str("creds");
    let auth = match provider.as_str() {
        "generic" if !creds.is_empty() => {
            action(log, "logging in to registry with credentials");
            match creds.split_once(':') {
                Some((user, pass)) => AcrAuth::Basic {
                    username: user.to_owned(),
                    password: SecretString::from(pass.to_owned()),
                },
                None => {
                    return Err("could not login with credentials: a bare registry token is not supported by cargo xtask flux; pass --creds <username>:<password> (for ACR: an ACR token name and password, or --provider azure)".into());
                }
            }
        }
        "generic" => AcrAuth::Anonymous,
        "azure" => {
            action(log, "logging in to registry with provider credentials");
            let credential = ctx.credential.clone().ok_or(
                "error during login with provider: no Azure credential is configured; set AZURE_TENANT_ID and AZURE_CLIENT_ID with AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE, or use a managed identity",
            )?;
            AcrAuth::aad(credential)
        }
        other => {
            action(log, "logging in to registry with provider credentials");
            return Err(format!(
                "error during login with provider: provider '{other}' is not supported by cargo xtask flux; use --provider azure, or --creds"
            ));
        }
    };
    AcrClient::new(
        &url.registry,
        auth,
        AcrClientOptions {
            http: ctx.http.clone(),
            cloud: ctx.cloud.clone(),
            plain_http: insecure,
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())
}

fn url_arg(p: &Parsed, missing: &str) -> Result<ArtifactUrl, String> {
    let raw = p.args.first().ok_or_else(|| missing.to_owned())?;
    ArtifactUrl::parse(raw).map_err(|e| match e {
        acr_oci::Error::InvalidInput { why, .. } => why,
        other => other.to_string(),
    })
}

async fn push(args: &[String], ctx: &ArtifactContext, log: &mut String) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, PUSH_FLAGS])?;
    if p.args.is_empty() {
        return Err("artifact URL is required".into());
    }
    if p.str("source").is_empty() {
        return Err("--source is required".into());
    }
    if p.str("revision").is_empty() {
        return Err("--revision is required".into());
    }
    if p.str("path").is_empty() {
        return Err("invalid path \"\"".into());
    }
    let url = url_arg(&p, "artifact URL is required")?;
    let path_arg = p.str("path");
    if path_arg == "-" {
        return Err("--path - (reading the artifact from stdin) is not supported by cargo xtask flux; write the manifests to a file or directory".into());
    }
    let path = Path::new(path_arg);
    if let Err(e) = std::fs::metadata(path) {
        return Err(format!(
            "invalid path '{path_arg}', must point to an existing directory or file: stat {path_arg}: {}",
            go_io_error(&e)
        ));
    }
    if p.bool("resolve-symlinks") {
        return Err("resolving symlinks failed: --resolve-symlinks is not supported by cargo xtask flux; symlinks are skipped as flux does without it".into());
    }
    let mut annotations = BTreeMap::new();
    for a in p.list("annotations") {
        let kv: Vec<&str> = a.split('=').collect();
        if kv.len() != 2 {
            return Err(format!(
                "invalid annotation {a}, must be in the format key=value"
            ));
        }
        annotations.insert(kv[0].to_owned(), kv[1].to_owned());
    }
    let mut ignore: Vec<String> = if p.changed("ignore-paths") {
        p.list("ignore-paths")
    } else {
        DEFAULT_IGNORE.iter().map(|s| (*s).to_owned()).collect()
    };
    ignore.extend(p.list("add-ignore-paths"));
    let options = PushArtifactOptions {
        source: p.str("source").to_owned(),
        revision: p.str("revision").to_owned(),
        annotations,
        ignore: IgnoreRules::new(&ignore),
        created: p
            .bool("reproducible")
            .then(|| "1970-01-01T00:00:00Z".to_owned()),
    };
    let client = client(&p, &url, ctx, log, p.bool("insecure-registry"))?;
    let output = p.str("output");
    if output.is_empty() {
        action(log, &format!("pushing artifact to {}", url.address));
    }
    let pushed = client
        .push_artifact(&url, path, &options)
        .await
        .map_err(|e| format!("pushing artifact failed: {e}"))?;
    match output {
        "json" => {
            let mut s = serde_json::to_string_pretty(&pushed)
                .map_err(|e| format!("artifact digest JSON conversion failed: {e}"))?;
            s.push('\n');
            Ok(s)
        }
        "yaml" => {
            let v = serde_json::to_value(&pushed)
                .map_err(|e| format!("artifact digest YAML conversion failed: {e}"))?;
            Ok(flux_objects::yaml::to_yaml(&v))
        }
        _ => {
            success(
                log,
                &format!(
                    "artifact successfully pushed to {}@{}",
                    pushed.repository, pushed.digest
                ),
            );
            Ok(String::new())
        }
    }
}

/// Go's wording for the common `stat` failures.
fn go_io_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

async fn pull(args: &[String], ctx: &ArtifactContext, log: &mut String) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, PULL_FLAGS])?;
    if p.args.is_empty() {
        return Err("artifact URL is required".into());
    }
    let out = p.str("output");
    if out.is_empty() {
        return Err("output path cannot be empty".into());
    }
    match std::fs::metadata(out) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(format!("invalid output path \"{out}\": %!w(<nil>)")),
        Err(e) => {
            return Err(format!(
                "invalid output path \"{out}\": stat {out}: {}",
                go_io_error(&e)
            ));
        }
    }
    let url = url_arg(&p, "artifact URL is required")?;
    let client = client(&p, &url, ctx, log, p.bool("insecure-registry"))?;
    action(log, &format!("pulling artifact from {}", url.address));
    let pulled = client
        .pull_artifact(&url, Path::new(out))
        .await
        .map_err(|e| e.to_string())?;
    let m = &pulled.metadata;
    if !m.source.is_empty() {
        success(log, &format!("source {}", m.source));
    }
    if !m.revision.is_empty() {
        success(log, &format!("revision {}", m.revision));
    }
    success(log, &format!("digest {}", m.digest));
    success(log, &format!("artifact content extracted to {out}"));
    Ok(String::new())
}

async fn tag(args: &[String], ctx: &ArtifactContext, log: &mut String) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, TAG_FLAGS])?;
    if p.args.is_empty() {
        return Err("artifact name is required".into());
    }
    let tags = p.list("tag");
    if tags.is_empty() {
        return Err("--tag is required".into());
    }
    let url = url_arg(&p, "artifact name is required")?;
    let client = client(&p, &url, ctx, log, false)?;
    action(log, "tagging artifact");
    for t in tags {
        let tagged = client
            .tag_artifact(&url, &t)
            .await
            .map_err(|e| format!("tagging artifact failed: {e}"))?;
        success(log, &format!("artifact tagged as {tagged}"));
    }
    Ok(String::new())
}

async fn list(args: &[String], ctx: &ArtifactContext, log: &mut String) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, LIST_FLAGS])?;
    if p.args.is_empty() {
        return Err("artifact repository URL is required".into());
    }
    let url = url_arg(&p, "artifact repository URL is required")?;
    let client = client(&p, &url, ctx, log, p.bool("insecure-registry"))?;
    let options = ListArtifactsOptions {
        semver: p.get("filter-semver").map(str::to_owned),
        regex: p.get("filter-regex").map(str::to_owned),
        include_cosign: false,
    };
    let metas = client
        .list_artifacts(&url, &options)
        .await
        .map_err(|e| match e {
            acr_oci::Error::InvalidInput { why, .. } => why,
            other => format!("listing tags failed: {other}"),
        })?;
    let rows: Vec<[String; 4]> = metas
        .into_iter()
        .map(|m| [m.url, m.digest, m.source, m.revision])
        .collect();
    Ok(table(&["artifact", "digest", "source", "revision"], &rows))
}

/// flux's `printers.TablePrinter` (olekukonko/tablewriter v0.0.5 with no borders, left alignment,
/// `\t` padding and `NoWhiteSpace`): upper-case headers, every cell padded to its column's width, cells
/// separated by a tab; the header's last cell ends with a space, a row's with a tab.
pub fn table(header: &[&str], rows: &[[String; 4]]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    let mut out = String::new();
    for (i, h) in header.iter().enumerate() {
        out.push_str(&pad(&h.to_uppercase(), widths[i]));
        out.push(if i + 1 == header.len() { ' ' } else { '\t' });
    }
    out.push('\n');
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            out.push_str(&pad(c, widths[i]));
            out.push('\t');
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_tablewriters() {
        let rows = [[
            "r.io/a:v1".to_owned(),
            "sha256:1".to_owned(),
            String::new(),
            "main@sha1:2".to_owned(),
        ]];
        assert_eq!(
            table(&["artifact", "digest", "source", "revision"], &rows),
            "ARTIFACT \tDIGEST  \tSOURCE\tREVISION    \nr.io/a:v1\tsha256:1\t      \tmain@sha1:2\t\n"
        );
    }
}
