//! The traits and domain types a caller sees.
//!
//! [`GitHost`] is what `flux bootstrap` needs from a git server: make sure the repository exists,
//! read a file, commit files to a branch. [`crate::plain_git::PlainGitHost`] implements it with
//! git (HTTPS or SSH); the Azure DevOps REST implementation (Pushes API) implements the same trait.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use async_trait::async_trait;

use crate::error::Error;
use crate::url::RepoUrl;

/// A commit id (40 hex digits for SHA-1 repositories).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitId(pub String);

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The author (and committer) of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// Name, e.g. `Flux`.
    pub name: String,
    /// E-mail address.
    pub email: String,
}

impl Author {
    /// An author.
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Author {
            name: name.into(),
            email: email.into(),
        }
    }
}

/// A set of changes to commit on a branch: files to write (path → bytes) and paths to delete.
/// Paths are relative, `/`-separated. Files not named are left as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitRequest {
    /// The branch (short name, e.g. `main`); created when missing.
    pub branch: String,
    /// The commit message.
    pub message: String,
    /// Author and committer.
    pub author: Author,
    /// Files to add or replace.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Files to delete (missing ones are ignored).
    pub deletions: BTreeSet<String>,
}

impl CommitRequest {
    /// An empty change set on `branch`.
    pub fn new(branch: impl Into<String>, message: impl Into<String>, author: Author) -> Self {
        CommitRequest {
            branch: branch.into(),
            message: message.into(),
            author,
            files: BTreeMap::new(),
            deletions: BTreeSet::new(),
        }
    }

    /// Adds or replaces a file.
    pub fn file(mut self, path: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        self.files.insert(path.into(), content.into());
        self
    }

    /// Deletes a file.
    pub fn delete(mut self, path: impl Into<String>) -> Self {
        self.deletions.insert(path.into());
        self
    }

    /// Checks branch, paths and contents (no plaintext Kubernetes Secret); every [`GitHost`]
    /// implementation calls this before pushing.
    pub fn validate(&self) -> Result<(), Error> {
        crate::guard::check_branch(&self.branch)?;
        for (path, content) in &self.files {
            crate::guard::check_path(path)?;
            crate::guard::check_not_plaintext_secret(path, content)?;
        }
        for path in &self.deletions {
            crate::guard::check_path(path)?;
            if self.files.contains_key(path) {
                return Err(Error::InvalidPath {
                    path: path.clone(),
                    reason: "the path is both written and deleted",
                });
            }
        }
        Ok(())
    }
}

/// What a commit request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    /// A commit was pushed.
    Committed {
        /// The new tip of the branch.
        commit: CommitId,
        /// How many pushes lost a race with a concurrent push and were rebuilt.
        retries: u32,
    },
    /// The branch already had exactly this tree: nothing was committed.
    NoChange {
        /// The unchanged tip (`None` for an empty repository and an empty change set).
        head: Option<CommitId>,
    },
}

impl CommitOutcome {
    /// The tip of the branch after the request.
    pub fn head(&self) -> Option<&CommitId> {
        match self {
            CommitOutcome::Committed { commit, .. } => Some(commit),
            CommitOutcome::NoChange { head } => head.as_ref(),
        }
    }
}

/// What [`GitHost::ensure_repository`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryInfo {
    /// The repository URL.
    pub url: RepoUrl,
    /// Whether the implementation created it just now.
    pub created: bool,
    /// The default branch, when the repository has one (an empty repository has none).
    pub default_branch: Option<String>,
    /// The branches and their tips.
    pub branches: BTreeMap<String, CommitId>,
}

impl RepositoryInfo {
    /// Whether the repository has no branch yet.
    pub fn is_empty(&self) -> bool {
        self.branches.is_empty()
    }
}

/// A git server `flux bootstrap` can write to.
#[async_trait]
pub trait GitHost: Send + Sync + 'static {
    /// Makes sure the repository exists (creating it when the implementation can, e.g. through
    /// the Azure DevOps REST API) and describes it. Plain git cannot create repositories and
    /// returns [`Error::NotFound`] for a missing one.
    async fn ensure_repository(&self, repo: &RepoUrl) -> Result<RepositoryInfo, Error>;

    /// Reads `path` on `branch`; `None` when the file or the branch does not exist.
    async fn read_file(
        &self,
        repo: &RepoUrl,
        branch: &str,
        path: &str,
    ) -> Result<Option<Vec<u8>>, Error>;

    /// Commits `request` on top of the branch tip (or as the first commit of a new branch) and
    /// pushes it. Returns [`CommitOutcome::NoChange`] when the resulting tree equals the tip's,
    /// so pushing the same files twice creates one commit. Concurrent pushes are retried on the
    /// new tip (bounded) before [`Error::NonFastForwardExhausted`].
    async fn commit(&self, repo: &RepoUrl, request: &CommitRequest)
    -> Result<CommitOutcome, Error>;
}
