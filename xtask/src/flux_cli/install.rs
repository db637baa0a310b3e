//! `flux install --export`: the install manifests of a Flux release.
//!
//! The artifacts come from `--manifests DIR` (unpacked `manifests.tar.gz`, like flux's hidden flag) or are
//! downloaded from the GitHub release of `--version` (checksum-verified, cached under `--cache-dir`,
//! default `$XDG_CACHE_HOME/azflux/flux-manifests` or `~/.cache/azflux/flux-manifests`). `--release-url`
//! points the download at another server laid out like `…/releases/download`.

use super::flags::{Kind, f};
use super::{GLOBAL, parse};
use flux_objects::install::{EXTRA_COMPONENTS, InstallOptions, ManifestSource, fetch};

/// The Flux version `cargo xtask flux install` renders when `--version` is not given.
pub const DEFAULT_VERSION: &str = "v2.9.0";

const INSTALL: &[super::flags::Spec] = &[
    f("export", Kind::Bool),
    f("version", Kind::Str),
    f("components", Kind::Slice),
    f("components-extra", Kind::Slice),
    f("registry", Kind::Str),
    f("image-pull-secret", Kind::Str),
    f("watch-all-namespaces", Kind::Bool),
    f("network-policy", Kind::Bool),
    f("log-level", Kind::Str),
    f("cluster-domain", Kind::Str),
    f("toleration-keys", Kind::Slice),
    f("manifests", Kind::Str),
    f("cache-dir", Kind::Str),
    f("release-url", Kind::Str),
];

/// Runs `install …` (args after `install`).
pub fn run(args: &[String]) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, INSTALL])?;
    let mut o = InstallOptions::new(p.get("version").unwrap_or(DEFAULT_VERSION));
    o.namespace = super::namespace(&p);
    if p.changed("components") {
        o.components = p.list("components");
    }
    for c in p.list("components-extra") {
        if !EXTRA_COMPONENTS.contains(&c.as_str()) {
            return Err(super::flags::invalid_argument(
                &c,
                "components-extra",
                &format!(
                    "component {c} is not supported, must be one of: {}",
                    EXTRA_COMPONENTS.join(", ")
                ),
            ));
        }
        o.components_extra.push(c);
    }
    if let Some(r) = p.get("registry") {
        o.registry = r.to_owned();
    }
    o.image_pull_secret = p.get("image-pull-secret").map(str::to_owned);
    if p.changed("watch-all-namespaces") {
        o.watch_all_namespaces = p.bool("watch-all-namespaces");
    }
    if p.changed("network-policy") {
        o.network_policy = p.bool("network-policy");
    }
    if let Some(l) = p.get("log-level") {
        o.log_level = l.to_owned();
    }
    if let Some(d) = p.get("cluster-domain") {
        o.cluster_domain = d.to_owned();
    }
    o.toleration_keys = p.list("toleration-keys");
    if !p.bool("export") {
        return Err(super::needs_cluster("install"));
    }
    let source: Box<dyn ManifestSource> = match p.get("manifests") {
        Some(dir) => Box::new(fetch::LocalDirSource::new(dir)),
        None => {
            let cache = match p.get("cache-dir") {
                Some(d) => std::path::PathBuf::from(d),
                None => default_cache_dir(),
            };
            let mut s = fetch::GitHubReleaseSource::new(cache);
            if let Some(u) = p.get("release-url") {
                s = s.with_base_url(u);
            }
            Box::new(s)
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting a runtime: {e}"))?;
    let artifacts = rt
        .block_on(source.fetch(&o.version))
        .map_err(|e| e.to_string())?;
    flux_objects::install::render(&artifacts, &o).map_err(|e| e.to_string())
}

fn default_cache_dir() -> std::path::PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("azflux").join("flux-manifests")
}
