//! `flux export <kind> [NAME] [--all] --from FILE`: prints objects as the flux CLI exports them from a cluster.
//!
//! `--from FILE` replaces the cluster: the file is a multi-document YAML stream (what would have been
//! applied). Each object gets the defaults its CRD declares (as the API server would apply them), unknown
//! fields are dropped, and only `apiVersion`, `kind`, `metadata.{name,namespace,labels,annotations}` and
//! `spec` are printed.

use super::flags::{Kind, f, fs};
use super::{GLOBAL, parse};
use flux_objects::Object;

const EXPORT: &[super::flags::Spec] = &[
    f("from", Kind::Str),
    f("all", Kind::Bool),
    fs("all-namespaces", 'A', Kind::Bool),
];

/// (words, kind, plural resource for not-found errors).
const KINDS: &[(&[&str], &str, &str)] = &[
    (
        &["source", "git"],
        "GitRepository",
        "gitrepositories.source.toolkit.fluxcd.io",
    ),
    (
        &["source", "helm"],
        "HelmRepository",
        "helmrepositories.source.toolkit.fluxcd.io",
    ),
    (
        &["source", "oci"],
        "OCIRepository",
        "ocirepositories.source.toolkit.fluxcd.io",
    ),
    (
        &["source", "chart"],
        "HelmChart",
        "helmcharts.source.toolkit.fluxcd.io",
    ),
    (
        &["source", "bucket"],
        "Bucket",
        "buckets.source.toolkit.fluxcd.io",
    ),
    (
        &["source", "external"],
        "ExternalArtifact",
        "externalartifacts.source.toolkit.fluxcd.io",
    ),
    (
        &["kustomization"],
        "Kustomization",
        "kustomizations.kustomize.toolkit.fluxcd.io",
    ),
    (
        &["ks"],
        "Kustomization",
        "kustomizations.kustomize.toolkit.fluxcd.io",
    ),
    (
        &["helmrelease"],
        "HelmRelease",
        "helmreleases.helm.toolkit.fluxcd.io",
    ),
    (
        &["hr"],
        "HelmRelease",
        "helmreleases.helm.toolkit.fluxcd.io",
    ),
    (
        &["image", "repository"],
        "ImageRepository",
        "imagerepositories.image.toolkit.fluxcd.io",
    ),
    (
        &["image", "policy"],
        "ImagePolicy",
        "imagepolicies.image.toolkit.fluxcd.io",
    ),
    (
        &["image", "update"],
        "ImageUpdateAutomation",
        "imageupdateautomations.image.toolkit.fluxcd.io",
    ),
    (
        &["alert-provider"],
        "Provider",
        "providers.notification.toolkit.fluxcd.io",
    ),
    (&["alert"], "Alert", "alerts.notification.toolkit.fluxcd.io"),
    (
        &["receiver"],
        "Receiver",
        "receivers.notification.toolkit.fluxcd.io",
    ),
];

/// Runs `export …` (args after `export`).
pub fn run(args: &[String]) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, EXPORT])?;
    let words: Vec<&str> = p.args.iter().map(String::as_str).collect();
    let (kw, kind, plural) = KINDS
        .iter()
        .find(|(w, _, _)| words.len() >= w.len() && words[..w.len()] == **w)
        .ok_or_else(|| {
            format!(
                "unknown command \"{}\" for \"flux export\"",
                words.join(" ")
            )
        })?;
    let name = words.get(kw.len()).copied();
    let all = p.bool("all");
    if name.is_none() && !all {
        return Err("name is required".into());
    }
    let from = p
        .get("from")
        .ok_or("export reads objects from a file instead of a cluster: pass --from FILE (a multi-document YAML stream)")?;
    let text = std::fs::read_to_string(from)
        .map_err(|e| format!("unable to read --from file '{from}': {e}"))?;
    let ns = super::namespace(&p);
    let mut objects = Object::parse_all(&text).map_err(|e| e.to_string())?;
    let mut out = String::new();
    for o in &mut objects {
        if o.kind() != *kind {
            continue;
        }
        if !p.bool("all-namespaces") && o.metadata().ns() != ns {
            continue;
        }
        if let Some(n) = name
            && o.metadata().name != n
        {
            continue;
        }
        o.apply_crd_defaults();
        out.push_str(&flux_objects::render_value(&o.as_manifest().to_json()));
    }
    if out.is_empty() {
        if let Some(n) = name {
            return Err(format!("{plural} \"{n}\" not found"));
        }
        return Err(format!("no {kind} objects found in {ns} namespace"));
    }
    Ok(out)
}
