//! The contract suite: behaviours every [`ChartRegistry`] implementation shows. The integration tests run it
//! against the fake ACR and against a real `docker-registry` with token auth; users can run it against theirs.

use crate::api::{ChartRef, ChartRegistry, Error, Result};
use std::path::{Path, PathBuf};

fn broken(behaviour: &str, why: String) -> Error {
    Error::invalid(format!("contract '{behaviour}'"), why)
}

/// Writes a packaged chart `<dir>/<name>-<version>.tgz` (`Chart.yaml`, `values.yaml`, one template, and
/// `padding` bytes of incompressible data) and returns its path.
pub fn chart_archive(dir: &Path, name: &str, version: &str, padding: usize) -> Result<PathBuf> {
    use flate2::Compression;
    use flate2::write::GzEncoder;
    let path = dir.join(format!("{name}-{version}.tgz"));
    let file = std::fs::File::create(&path).map_err(|e| Error::io("creating", &path, e))?;
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    let chart_yaml = format!(
        "apiVersion: v2\nname: {name}\nversion: {version}\ndescription: A test chart\ntype: application\nappVersion: \"1.16.0\"\n"
    );
    let mut payload = vec![0u8; padding];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in payload.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let files: Vec<(String, &[u8])> = vec![
        (format!("{name}/Chart.yaml"), chart_yaml.as_bytes()),
        (format!("{name}/values.yaml"), b"replicaCount: 1\n"),
        (
            format!("{name}/templates/configmap.yaml"),
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  v: {{ .Values.replicaCount | quote }}\n",
        ),
        (format!("{name}/files/blob.bin"), &payload),
    ];
    for (p, data) in files {
        if p.ends_with("blob.bin") && data.is_empty() {
            continue;
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_cksum();
        tar.append_data(&mut h, &p, data)
            .map_err(|e| Error::io("writing", &path, e))?;
    }
    tar.into_inner()
        .and_then(|gz| gz.finish())
        .map_err(|e| Error::io("writing", &path, e))?;
    Ok(path)
}

/// Pushes `chart_tgz` to `destination`, pulls it back by `constraint` into `dest_dir`, and checks the bytes
/// are identical; returns the pulled file's path.
pub async fn push_then_pull_by_range(
    registry: &dyn ChartRegistry,
    chart_tgz: &Path,
    destination: &str,
    constraint: &str,
    dest_dir: &Path,
) -> Result<PathBuf> {
    let pushed = registry.push(chart_tgz, destination).await?;
    let pulled = registry.pull(&pushed.chart, constraint, dest_dir).await?;
    let sent = std::fs::read(chart_tgz).map_err(|e| Error::io("reading", chart_tgz, e))?;
    let got = std::fs::read(&pulled.path).map_err(|e| Error::io("reading", &pulled.path, e))?;
    if sent != got || pulled.layer_digest != pushed.layer_digest {
        return Err(broken(
            "push then pull",
            format!(
                "{} came back different from what was pushed",
                pulled.path.display()
            ),
        ));
    }
    Ok(pulled.path)
}

/// A constraint nothing satisfies gives [`Error::NoMatchingVersion`] naming the versions that exist.
pub async fn unmatched_range_is_a_clear_error(
    registry: &dyn ChartRegistry,
    chart: &ChartRef,
) -> Result<()> {
    match registry.resolve_version(chart, ">=999.0.0").await {
        Err(Error::NoMatchingVersion { available, .. }) if available != "none" => Ok(()),
        other => Err(broken(
            "unmatched range",
            format!("expected NoMatchingVersion listing versions, got {other:?}"),
        )),
    }
}

/// A repository that does not exist is [`Error::NotFound`], not an empty list.
pub async fn unknown_repository_is_not_found(
    registry: &dyn ChartRegistry,
    chart: &ChartRef,
) -> Result<()> {
    match registry.list_tags(chart).await {
        Err(Error::NotFound { .. }) => Ok(()),
        other => Err(broken(
            "unknown repository",
            format!("expected NotFound, got {other:?}"),
        )),
    }
}

/// Pushing the same archive twice keeps one tag and the same layer digest.
pub async fn pushing_twice_is_idempotent(
    registry: &dyn ChartRegistry,
    chart_tgz: &Path,
    destination: &str,
) -> Result<()> {
    let first = registry.push(chart_tgz, destination).await?;
    let second = registry.push(chart_tgz, destination).await?;
    let tags = registry.list_tags(&first.chart).await?;
    let same_tag = tags.iter().filter(|t| **t == first.tag).count();
    if first.layer_digest != second.layer_digest || same_tag != 1 {
        return Err(broken(
            "idempotent push",
            format!(
                "digests {} / {}, tags {tags:?}",
                first.layer_digest, second.layer_digest
            ),
        ));
    }
    Ok(())
}

/// Every behaviour above, on `<destination>/contract-*` charts, working in `workdir`.
pub async fn run_all(
    registry: &dyn ChartRegistry,
    destination: &str,
    workdir: &Path,
) -> Result<()> {
    let src = workdir.join("contract-src");
    std::fs::create_dir_all(&src).map_err(|e| Error::io("creating", &src, e))?;
    for v in ["0.9.0", "1.0.0", "1.0.5"] {
        registry
            .push(&chart_archive(&src, "contract-range", v, 0)?, destination)
            .await?;
    }
    let pulled = push_then_pull_by_range(
        registry,
        &chart_archive(&src, "contract-range", "1.0.7", 3000)?,
        destination,
        "~1.0",
        &workdir.join("contract-out"),
    )
    .await?;
    if !pulled.ends_with("contract-range-1.0.7.tgz") {
        return Err(broken("range", format!("~1.0 pulled {}", pulled.display())));
    }
    let base = ChartRef::parse(&format!(
        "{}/contract-range",
        destination.trim_end_matches('/')
    ))?;
    unmatched_range_is_a_clear_error(registry, &base).await?;
    let missing = ChartRef::new(&base.registry, &format!("{}-missing", base.repository))?;
    unknown_repository_is_not_found(registry, &missing).await?;
    pushing_twice_is_idempotent(
        registry,
        &chart_archive(&src, "contract-twice", "2.0.0", 0)?,
        destination,
    )
    .await?;
    Ok(())
}
