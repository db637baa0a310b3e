//! Repository steps: the repository itself, commits of generated files, and the revision Flux must reach.

use super::git_error;
use crate::bootstrap::step::{
    Outcome, PlanState, Planned, Step, StepContext, StepError, StepResult, keys,
};
use devops_git::{Author, CommitOutcome, CommitRequest, GitHost, RepoUrl};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Ensures the repository exists (creating it where the `GitHost` can), and once `after` (the commit
/// steps) ran, publishes the branch tip as [`keys::PUSHED_REVISION`] (scope `""`): the revision every
/// cluster's Kustomization must report.
pub struct RepositoryStep {
    id: String,
    git: Arc<dyn GitHost>,
    repo: RepoUrl,
    branch: String,
    after: Vec<String>,
    probe: String,
}

impl std::fmt::Debug for RepositoryStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepositoryStep")
            .field("id", &self.id)
            .field("repo", &self.repo)
            .finish()
    }
}

impl RepositoryStep {
    /// Id of the step ensuring the repository.
    pub const ENSURE_ID: &'static str = "repository";
    /// Id of the step reading the pushed revision.
    pub const REVISION_ID: &'static str = "repository/revision";

    /// The step making sure the repository exists.
    pub fn ensure(git: Arc<dyn GitHost>, repo: RepoUrl, branch: &str) -> Self {
        RepositoryStep {
            id: Self::ENSURE_ID.into(),
            git,
            repo,
            branch: branch.into(),
            after: Vec::new(),
            probe: "README.md".into(),
        }
    }

    /// The step publishing the branch tip once the steps `after` ran.
    pub fn revision(
        git: Arc<dyn GitHost>,
        repo: RepoUrl,
        branch: &str,
        after: Vec<String>,
    ) -> Self {
        RepositoryStep {
            id: Self::REVISION_ID.into(),
            git,
            repo,
            branch: branch.into(),
            after,
            probe: String::new(),
        }
    }
}

#[async_trait::async_trait]
impl Step for RepositoryStep {
    fn id(&self) -> &str {
        &self.id
    }
    fn deps(&self) -> Vec<String> {
        if self.id == Self::ENSURE_ID {
            Vec::new()
        } else {
            let mut d = self.after.clone();
            d.push(Self::ENSURE_ID.into());
            d
        }
    }
    fn resource(&self) -> String {
        format!("{} (branch {})", self.repo, self.branch)
    }
    async fn plan(&self, _ctx: &StepContext) -> StepResult<Planned> {
        if self.probe.is_empty() {
            return Ok(Planned::new(
                PlanState::Unknown,
                "the branch tip after the commits",
            ));
        }
        match self
            .git
            .read_file(&self.repo, &self.branch, &self.probe)
            .await
        {
            Ok(_) => Ok(Planned::new(PlanState::UpToDate, "the repository exists")),
            Err(devops_git::Error::NotFound { .. }) => Ok(Planned::new(
                PlanState::WouldCreate,
                "the repository does not exist",
            )),
            Err(e) => Err(git_error(&self.resource(), &e)),
        }
    }
    async fn ensure(&self, ctx: &StepContext) -> StepResult<Outcome> {
        let info = self
            .git
            .ensure_repository(&self.repo)
            .await
            .map_err(|e| git_error(&self.resource(), &e))?;
        if self.id == Self::ENSURE_ID {
            let detail = format!(
                "{} branch(es){}",
                info.branches.len(),
                info.default_branch
                    .map(|b| format!(", default {b}"))
                    .unwrap_or_default()
            );
            return Ok(if info.created {
                Outcome::created(detail)
            } else {
                Outcome::unchanged(detail)
            });
        }
        let Some(tip) = info.branches.get(&self.branch) else {
            return Err(StepError::new(
                self.resource(),
                format!(
                    "the branch '{}' does not exist after the commits",
                    self.branch
                ),
                "another writer may have deleted it: run `cargo xtask bootstrap` again",
            ));
        };
        let revision = format!("{}@sha1:{tip}", self.branch);
        ctx.outputs.put("", keys::PUSHED_REVISION, revision.clone());
        Ok(Outcome::unchanged(revision))
    }
}

/// Computes the files a [`CommitFiles`] step commits (paths relative to the repository root).
pub type FilesFn = Arc<dyn Fn(&StepContext) -> StepResult<BTreeMap<String, Vec<u8>>> + Send + Sync>;

/// Commits generated files to the branch in one commit (none when they are already there).
pub struct CommitFiles {
    id: String,
    cluster: Option<String>,
    deps: Vec<String>,
    git: Arc<dyn GitHost>,
    repo: RepoUrl,
    branch: String,
    message: String,
    author: Author,
    files: FilesFn,
    only_if_absent: BTreeSet<String>,
}

impl std::fmt::Debug for CommitFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitFiles")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl CommitFiles {
    /// A commit step `id` on `branch` of `repo` with `message`; `files` computes the contents when the
    /// step runs (it may read outputs of its `deps`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: impl Into<String>,
        cluster: Option<&str>,
        deps: Vec<String>,
        git: Arc<dyn GitHost>,
        repo: RepoUrl,
        branch: &str,
        message: &str,
        files: FilesFn,
    ) -> Self {
        CommitFiles {
            id: id.into(),
            cluster: cluster.map(str::to_owned),
            deps,
            git,
            repo,
            branch: branch.into(),
            message: message.into(),
            author: Author::new("Flux", "flux@users.noreply.azflux.dev"),
            files,
            only_if_absent: BTreeSet::new(),
        }
    }

    /// Writes `path` only when it does not exist yet (flux's generated `kustomization.yaml`).
    pub fn only_if_absent(mut self, path: impl Into<String>) -> Self {
        self.only_if_absent.insert(path.into());
        self
    }

    async fn current(
        &self,
        files: &BTreeMap<String, Vec<u8>>,
    ) -> StepResult<BTreeMap<String, Option<Vec<u8>>>> {
        let mut out = BTreeMap::new();
        for path in files.keys() {
            let now = match self.git.read_file(&self.repo, &self.branch, path).await {
                Ok(v) => v,
                Err(devops_git::Error::NotFound { .. }) => None,
                Err(e) => return Err(git_error(&self.resource(), &e)),
            };
            out.insert(path.clone(), now);
        }
        Ok(out)
    }
}

#[async_trait::async_trait]
impl Step for CommitFiles {
    fn id(&self) -> &str {
        &self.id
    }
    fn deps(&self) -> Vec<String> {
        let mut d = self.deps.clone();
        d.push(RepositoryStep::ENSURE_ID.into());
        d
    }
    fn cluster(&self) -> Option<&str> {
        self.cluster.as_deref()
    }
    fn resource(&self) -> String {
        format!("{} (branch {})", self.repo, self.branch)
    }
    async fn plan(&self, ctx: &StepContext) -> StepResult<Planned> {
        let files = match (self.files)(ctx) {
            Ok(f) => f,
            Err(e) => {
                return Ok(Planned::new(
                    PlanState::Unknown,
                    format!("files computed at run time ({})", e.message),
                ));
            }
        };
        let current = self.current(&files).await?;
        let mut new = Vec::new();
        let mut changed = Vec::new();
        for (path, content) in &files {
            match current.get(path).cloned().flatten() {
                None => new.push(path.clone()),
                Some(c) if &c != content && !self.only_if_absent.contains(path) => {
                    changed.push(path.clone())
                }
                Some(_) => {}
            }
        }
        Ok(if new.is_empty() && changed.is_empty() {
            Planned::new(
                PlanState::UpToDate,
                format!("{} file(s) as generated", files.len()),
            )
        } else if changed.is_empty() {
            Planned::new(
                PlanState::WouldCreate,
                format!("would add {}", new.join(", ")),
            )
        } else {
            Planned::new(
                PlanState::WouldChange,
                format!(
                    "would add [{}], change [{}]",
                    new.join(", "),
                    changed.join(", ")
                ),
            )
        })
    }
    async fn ensure(&self, ctx: &StepContext) -> StepResult<Outcome> {
        let mut files = (self.files)(ctx)?;
        let current = self.current(&files).await?;
        let all_new = current.values().all(Option::is_none);
        for path in &self.only_if_absent {
            if current.get(path).is_some_and(Option::is_some) {
                files.remove(path);
            }
        }
        let mut request = CommitRequest::new(&self.branch, &self.message, self.author.clone());
        let paths: Vec<String> = files.keys().cloned().collect();
        request.files = files;
        request
            .validate()
            .map_err(|e| git_error(&self.resource(), &e))?;
        let outcome = self
            .git
            .commit(&self.repo, &request)
            .await
            .map_err(|e| git_error(&self.resource(), &e))?;
        Ok(match outcome {
            CommitOutcome::Committed { commit, retries } => {
                let detail = format!(
                    "commit {} \"{}\" ({}){}",
                    &commit.0[..commit.0.len().min(12)],
                    self.message,
                    paths.join(", "),
                    if retries > 0 {
                        format!(", {retries} push retries")
                    } else {
                        String::new()
                    }
                );
                if all_new {
                    Outcome::created(detail)
                } else {
                    Outcome::changed(detail)
                }
            }
            CommitOutcome::NoChange { head } => Outcome::unchanged(format!(
                "{} file(s) already at {}",
                paths.len(),
                head.map(|h| h.0[..h.0.len().min(12)].to_owned())
                    .unwrap_or_default()
            )),
        })
    }
}
