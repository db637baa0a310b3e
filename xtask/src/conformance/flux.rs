//! Conformance against the Flux fixtures: CLI goldens (`flux/flux2-testdata/CASES.json`) and CRD JSON schemas.

use super::SuiteReport;
use std::path::Path;

/// Runs the Flux suite. No cases exist yet: flux-objects is tracked in issue #3.
pub fn run(_fixtures: &Path) -> anyhow::Result<SuiteReport> {
    Ok(SuiteReport::new("flux"))
}
