//! Flux's install manifests: fetched once per run (fleet-wide) for the commit and the cluster side.

use crate::bootstrap::step::{
    Key, Outcome, PlanState, Planned, Step, StepContext, StepError, StepResult,
};
use flux_objects::install::{ManifestSource, ReleaseArtifacts};
use std::sync::Arc;

/// The release artifacts of the configured Flux version (scope `""`).
pub const FLUX_MANIFESTS: Key<Arc<ReleaseArtifacts>> = Key::new("flux_manifests");

/// Fetches the install manifests of a Flux version (GitHub release, a local directory, or the sandbox's
/// generated release) and publishes them as [`FLUX_MANIFESTS`].
pub struct FluxManifestsStep {
    source: Arc<dyn ManifestSource>,
    version: String,
}

impl std::fmt::Debug for FluxManifestsStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FluxManifestsStep")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl FluxManifestsStep {
    /// The step id.
    pub const ID: &'static str = "flux-manifests";

    /// Fetches `version` from `source`.
    pub fn new(source: Arc<dyn ManifestSource>, version: &str) -> Self {
        FluxManifestsStep {
            source,
            version: version.into(),
        }
    }

    async fn fetch(&self) -> StepResult<ReleaseArtifacts> {
        self.source.fetch(&self.version).await.map_err(|e| {
            StepError::from_error(self.resource(), &e).todo(
                "check flux.version (an existing release such as v2.9.0) and the network, or set flux.manifests_dir to an unpacked manifests.tar.gz; then run again",
            )
        })
    }
}

#[async_trait::async_trait]
impl Step for FluxManifestsStep {
    fn id(&self) -> &str {
        Self::ID
    }
    fn deps(&self) -> Vec<String> {
        Vec::new()
    }
    fn resource(&self) -> String {
        format!("Flux {} install manifests", self.version)
    }
    async fn plan(&self, ctx: &StepContext) -> StepResult<Planned> {
        let artifacts = self.fetch().await?;
        let n = artifacts.names().count();
        ctx.outputs.put("", FLUX_MANIFESTS, Arc::new(artifacts));
        Ok(Planned::new(
            PlanState::UpToDate,
            format!("{n} files (read only)"),
        ))
    }
    async fn ensure(&self, ctx: &StepContext) -> StepResult<Outcome> {
        let artifacts = self.fetch().await?;
        let n = artifacts.names().count();
        ctx.outputs.put("", FLUX_MANIFESTS, Arc::new(artifacts));
        Ok(Outcome::unchanged(format!("{n} files")))
    }
}
