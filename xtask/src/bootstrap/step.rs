//! The step interface every part of the bootstrap implements, and the typed outputs steps hand to their
//! dependants.
//!
//! A step is an idempotent "ensure": [`Step::plan`] looks (no writes) and says what exists and what would
//! change; [`Step::ensure`] converges the resource and says whether it created, changed or left it. Running a
//! step twice, or after a crash at any point, must leave one resource, one commit, one Secret.

use azflux_core::clock::Clock;
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};

/// What [`Step::plan`] found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanState {
    /// The resource exists as desired: `ensure` will change nothing.
    UpToDate,
    /// The resource does not exist: `ensure` will create it.
    WouldCreate,
    /// The resource exists but differs: `ensure` will change it.
    WouldChange,
    /// What `ensure` would do depends on outputs of steps that have not run (dry run).
    Unknown,
}

impl PlanState {
    /// A short word for the plan listing.
    pub fn word(&self) -> &'static str {
        match self {
            PlanState::UpToDate => "up to date",
            PlanState::WouldCreate => "would create",
            PlanState::WouldChange => "would change",
            PlanState::Unknown => "decided at run time",
        }
    }
}

/// The answer of [`Step::plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// What `ensure` would do.
    pub state: PlanState,
    /// What exists and what would change, for people.
    pub detail: String,
}

impl Planned {
    /// A plan answer.
    pub fn new(state: PlanState, detail: impl Into<String>) -> Self {
        Planned {
            state,
            detail: detail.into(),
        }
    }
}

/// What [`Step::ensure`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The resource did not exist and was created.
    Created,
    /// The resource existed and was changed.
    Changed,
    /// The resource already was as desired.
    Unchanged,
}

impl Change {
    /// The past-tense verb.
    pub fn verb(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Changed => "changed",
            Change::Unchanged => "unchanged",
        }
    }
}

/// The answer of [`Step::ensure`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Created, changed or unchanged.
    pub change: Change,
    /// What was done, for people (never a secret).
    pub detail: String,
}

impl Outcome {
    /// Created.
    pub fn created(detail: impl Into<String>) -> Self {
        Outcome {
            change: Change::Created,
            detail: detail.into(),
        }
    }
    /// Changed.
    pub fn changed(detail: impl Into<String>) -> Self {
        Outcome {
            change: Change::Changed,
            detail: detail.into(),
        }
    }
    /// Unchanged.
    pub fn unchanged(detail: impl Into<String>) -> Self {
        Outcome {
            change: Change::Unchanged,
            detail: detail.into(),
        }
    }
}

/// Why a step failed: the resource, what went wrong, and what to do. Messages never contain secrets.
#[derive(Debug, thiserror::Error)]
#[error("{resource}: {message}")]
pub struct StepError {
    /// The resource the step manages (an ARM id, a repository URL and path, a Kubernetes object).
    pub resource: String,
    /// What failed (the error chain, flattened).
    pub message: String,
    /// What to do about it.
    pub todo: String,
}

impl StepError {
    /// An error on `resource`.
    pub fn new(
        resource: impl Into<String>,
        message: impl Into<String>,
        todo: impl Into<String>,
    ) -> Self {
        StepError {
            resource: resource.into(),
            message: message.into(),
            todo: todo.into(),
        }
    }

    /// Wraps any error (its whole `source` chain becomes the message) with the default advice for
    /// transient failures.
    pub fn from_error(resource: impl Into<String>, error: &dyn std::error::Error) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(s) = source {
            let text = s.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = s.source();
        }
        StepError::new(resource, message, RERUN_ADVICE)
    }

    /// Replaces the advice.
    pub fn todo(mut self, todo: impl Into<String>) -> Self {
        self.todo = todo.into();
        self
    }
}

/// The default advice: every step is an ensure, so a re-run picks up where this one stopped.
pub const RERUN_ADVICE: &str = "fix the cause if it is not transient, then run `cargo xtask bootstrap` again: every step is idempotent and the run resumes where it stopped";

/// The result type of steps.
pub type StepResult<T> = Result<T, StepError>;

/// A typed output slot: the name and the type of a value one step produces for its dependants.
pub struct Key<T> {
    /// The slot name (for messages and the JSON events).
    pub name: &'static str,
    _type: PhantomData<fn() -> T>,
}

impl<T> Key<T> {
    /// A slot called `name`.
    pub const fn new(name: &'static str) -> Self {
        Key {
            name,
            _type: PhantomData,
        }
    }
}

impl<T> Clone for Key<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Key<T> {}

impl<T> fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.name)
    }
}

/// The well-known output slots. Values are scoped by cluster name (`""` for fleet-wide values).
pub mod keys {
    use super::Key;
    use crate::bootstrap::kube::Kubeconfig;
    use std::collections::BTreeMap;

    /// The cluster's kubeconfig (from the AKS step, or given up front: the sandbox, `cluster.kubeconfig`).
    pub const KUBECONFIG: Key<Kubeconfig> = Key::new("kubeconfig");
    /// The cluster's OIDC issuer URL (AKS step) for federated credentials.
    pub const OIDC_ISSUER_URL: Key<String> = Key::new("oidc_issuer_url");
    /// Client ids of the managed identities by role (`source-controller`, `kustomize-controller`…).
    pub const IDENTITY_CLIENT_IDS: Key<BTreeMap<String, String>> = Key::new("identity_client_ids");
    /// The revision Flux must report once it has applied the pushed manifests: `<branch>@sha1:<commit>`.
    pub const PUSHED_REVISION: Key<String> = Key::new("pushed_revision");
    /// The Key Vault key id (URL with version) SOPS encrypts with.
    pub const SOPS_KEY_ID: Key<String> = Key::new("sops_key_id");
    /// Whether the caller holds Key Vault Crypto Officer on the SOPS vault (assigned by this run or
    /// before): a 403 on the key is then the assignment still propagating, worth waiting for.
    pub const CALLER_KEY_ROLE: Key<bool> = Key::new("caller_key_role");
}

type AnyValue = Box<dyn Any + Send + Sync>;

/// The typed values steps hand to their dependants, scoped by cluster. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Outputs {
    slots: Arc<Mutex<HashMap<(String, &'static str), AnyValue>>>,
}

impl fmt::Debug for Outputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let mut names: Vec<String> = slots.keys().map(|(s, n)| format!("{s}:{n}")).collect();
        names.sort();
        f.debug_struct("Outputs").field("slots", &names).finish()
    }
}

impl Outputs {
    /// Stores `value` in `key` for `scope` (a cluster name, or `""`).
    pub fn put<T: Clone + Send + Sync + 'static>(&self, scope: &str, key: Key<T>, value: T) {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((scope.to_owned(), key.name), Box::new(value));
    }

    /// The value of `key` for `scope`, if a step produced it.
    pub fn get<T: Clone + Send + Sync + 'static>(&self, scope: &str, key: Key<T>) -> Option<T> {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(scope.to_owned(), key.name))
            .and_then(|v| v.downcast_ref::<T>())
            .cloned()
    }

    /// The value, or an error naming the missing output (a dependency did not run: a plan bug).
    pub fn require<T: Clone + Send + Sync + 'static>(
        &self,
        scope: &str,
        key: Key<T>,
        resource: &str,
    ) -> StepResult<T> {
        self.get(scope, key).ok_or_else(|| {
            StepError::new(
                resource,
                format!(
                    "the output `{}` of cluster '{scope}' is not available",
                    key.name
                ),
                "the step producing it has not run: check the plan's dependencies (`cargo xtask bootstrap --dry-run`)",
            )
        })
    }
}

/// What a step sees while it runs.
#[derive(Clone)]
pub struct StepContext {
    /// Outputs of the steps that ran before.
    pub outputs: Outputs,
    /// The clock every wait goes through.
    pub clock: Arc<dyn Clock>,
}

impl fmt::Debug for StepContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepContext")
            .field("outputs", &self.outputs)
            .finish_non_exhaustive()
    }
}

/// One node of the bootstrap plan.
///
/// Implementations hold their clients (`Arc<ArmClient>`, `Arc<dyn GitHost>`…) and their part of the
/// configuration; they read what earlier steps produced from [`StepContext::outputs`] and publish their own
/// results there for their dependants.
#[async_trait::async_trait]
pub trait Step: Send + Sync + 'static {
    /// Unique id in the plan, e.g. `resource-group/rg-flux` or `aks-flux/flux-sync`.
    fn id(&self) -> &str;
    /// The ids of the steps that must succeed first.
    fn deps(&self) -> Vec<String>;
    /// The resource this step manages, for people and error messages.
    fn resource(&self) -> String;
    /// The cluster this step belongs to (`None` for fleet-wide steps).
    fn cluster(&self) -> Option<&str> {
        None
    }
    /// Whether this step waits on a long-running operation (a cluster, a reconciliation).
    fn long_running(&self) -> bool {
        false
    }
    /// Looks at the resource and says what `ensure` would do. Must not write anything.
    async fn plan(&self, ctx: &StepContext) -> StepResult<Planned>;
    /// Creates or converges the resource. Must be idempotent.
    async fn ensure(&self, ctx: &StepContext) -> StepResult<Outcome>;
}

/// A shared step.
pub type StepRef = Arc<dyn Step>;
