//! The contract suite: behaviours every [`ChartRegistry`] implementation shows, run by the tests against
//! the fake ACR and against a real `docker-registry`.

use crate::api::{ChartRef, ChartRegistry, Error, Result};
use std::path::Path;

/// Pushes `chart_tgz` (version `version`) to `destination`, then pulls it back by `constraint` into
/// `dest_dir` and checks the bytes are identical; returns the pulled file's path.
pub async fn push_then_pull_by_range(
    registry: &dyn ChartRegistry,
    chart_tgz: &Path,
    destination: &str,
    constraint: &str,
    dest_dir: &Path,
) -> Result<std::path::PathBuf> {
    let pushed = registry.push(chart_tgz, destination).await?;
    let pulled = registry.pull(&pushed.chart, constraint, dest_dir).await?;
    let sent = std::fs::read(chart_tgz).map_err(|e| Error::io("reading", chart_tgz, e))?;
    let got = std::fs::read(&pulled.path).map_err(|e| Error::io("reading", &pulled.path, e))?;
    if sent != got || pulled.layer_digest != pushed.layer_digest {
        return Err(Error::invalid(
            "round trip",
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
        Err(Error::NoMatchingVersion { available, .. }) if !available.is_empty() => Ok(()),
        other => Err(Error::invalid(
            "contract",
            format!("expected NoMatchingVersion, got {other:?}"),
        )),
    }
}
