//! The steps of the plan, and two generic steps crates plug into with a few lines:
//! [`ApplyObjects`] (server-side apply a set of objects to a cluster) and [`CommitFiles`] (commit files
//! under the cluster's directory of the repository).

mod aks;
mod azure;
mod cluster;
mod extras;
mod flux;
mod repo;
mod resources;

pub use aks::{
    AksClusterStep, FLUX_IDENTITY, FederatedCredentialsStep, FluxIdentity, FluxIdentityStep,
    KubeRoute,
};
pub use azure::ResourceGroupStep;
pub use cluster::{
    ApplyObjects, FluxGitSecret, GitSecretSource, KustomizationHealth, ObjectsFn, apply_all,
};
pub use extras::{AcrChartStep, FluxRoleStep, RBAC_PROPAGATION_WAITS, SopsKeyStep};
pub use flux::{FLUX_MANIFESTS, FluxManifestsStep};
pub use repo::{CommitFiles, FilesFn, RepositoryStep};
pub use resources::{CallerKeyAccessStep, EventHubStep, KeyVaultStep, RegistryStep};

use super::step::StepError;

/// The step error for an Azure error, with advice by kind.
pub fn azure_error(resource: &str, e: &azflux_core::Error) -> StepError {
    use azflux_core::Error as E;
    let err = StepError::from_error(resource, e);
    match e {
        E::Throttled(_) => err.todo("Azure Resource Manager throttled the subscription (retries exhausted): wait a minute, then run `cargo xtask bootstrap` again (lower --concurrency for fleets)"),
        E::Unauthorized(_) | E::Credential { .. } => err.todo("the Azure credential was refused: check AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET (or `az login`), then run again"),
        E::Forbidden(_) => err.todo("the principal lacks a role: grant it Contributor and User Access Administrator on the subscription or resource group, then run again"),
        E::Conflict(_) | E::BadRequest(_) | E::InvalidInput { .. } => err.todo("fix the configuration (azflux.toml) to match what exists in Azure, then run again"),
        _ => err,
    }
}

/// The step error for a git error, with advice by kind.
pub fn git_error(resource: &str, e: &devops_git::Error) -> StepError {
    use devops_git::Error as E;
    let err = StepError::from_error(resource, e);
    match e {
        E::Auth { .. } => err.todo(format!("the repository refused the credential: check {} (a PAT with Code read & write) or the SSH key, then run again", super::config::ENV_GIT_PAT)),
        E::NotFound { .. } => err.todo("create the repository in Azure DevOps (or fix git.url), then run again"),
        _ => err,
    }
}

/// The step error for a Kubernetes error.
pub fn kube_error(resource: &str, e: &super::kube::KubeError) -> StepError {
    use super::kube::KubeError as E;
    let err = StepError::from_error(resource, e);
    match e {
        E::Api { status: 401 | 403, .. } => err.todo("the cluster refused the kubeconfig's credentials: refresh them (`az aks get-credentials`), then run again"),
        E::Transport { .. } => err.todo("the API server is unreachable: check the kubeconfig's server and your network, then run again"),
        E::Kubeconfig { .. } => err.todo("fix the kubeconfig (cluster.kubeconfig / cluster.context), then run again"),
        E::Token { .. } => err.todo("azflux requests the cluster's Entra ID token with your Azure credential: sign in (`az login`, or the service principal / workload identity variables), then run again"),
        _ => err,
    }
}
