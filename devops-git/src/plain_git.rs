//! [`GitHost`] over the git protocol (libgit2): HTTPS with basic or bearer auth, or SSH.
//!
//! Each repository gets a bare cache repository (no work tree): a commit fetches the branch,
//! builds the new tree in memory on top of the fetched tip, compares it with the tip's tree
//! (identical → [`CommitOutcome::NoChange`]), commits and pushes. A push that loses a race with
//! a concurrent push (non-fast-forward, or the server's ref lock) fetches again and rebuilds the
//! commit on the new tip, with exponential backoff and jitter, at most
//! [`RetryPolicy::max_attempts`] times. All libgit2 work runs on the blocking thread pool.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use git2::{CertificateCheckStatus, Cred, CredentialType, ErrorClass, ErrorCode, FileMode, Oid};
use secrecy::ExposeSecret;
use sha2::Digest as _;

use crate::api::{CommitId, CommitOutcome, CommitRequest, GitHost, RepositoryInfo};
use crate::credentials::GitCredentials;
use crate::error::Error;
use crate::url::{RepoUrl, Scheme};

/// Bounds and pacing of the retries after a lost push race.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Pushes tried in total (≥ 1).
    pub max_attempts: u32,
    /// Delay before the first retry; doubles each time.
    pub base_delay: Duration,
    /// Upper bound of one delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (1-based): `base · 2^(retry-1)` capped at
    /// `max_delay`, scaled by `jitter` ∈ [0, 1] into [50 %, 100 %] of that value.
    pub fn delay(&self, retry: u32, jitter: f64) -> Duration {
        let exp = retry.saturating_sub(1).min(20);
        let full = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

fn jitter() -> f64 {
    let mut b = [0u8; 4];
    match getrandom::fill(&mut b) {
        Ok(()) => f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX),
        Err(_) => 0.5,
    }
}

/// A hook called before each push attempt with the attempt number (1-based). For observability
/// and for tests that need a concurrent push at a precise moment.
pub type BeforePushHook = Arc<dyn Fn(u32) + Send + Sync>;

enum CacheDir {
    Temp(tempfile::TempDir),
    Path(PathBuf),
}

impl CacheDir {
    fn path(&self) -> &Path {
        match self {
            CacheDir::Temp(t) => t.path(),
            CacheDir::Path(p) => p,
        }
    }
}

/// The plain-git [`GitHost`].
pub struct PlainGitHost {
    credentials: GitCredentials,
    cache: CacheDir,
    retry: RetryPolicy,
    before_push: Option<BeforePushHook>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for PlainGitHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainGitHost")
            .field("credentials", &self.credentials)
            .field("cache", &self.cache.path())
            .field("retry", &self.retry)
            .finish()
    }
}

impl PlainGitHost {
    /// A host using `credentials`, caching repositories in a private temporary directory
    /// removed when the host is dropped.
    pub fn new(credentials: GitCredentials) -> Result<Self, Error> {
        let dir = tempfile::Builder::new()
            .prefix("azflux-git-")
            .tempdir()
            .map_err(|source| Error::Io {
                path: std::env::temp_dir().display().to_string(),
                source,
            })?;
        Ok(Self::build(credentials, CacheDir::Temp(dir)))
    }

    /// A host caching repositories under `dir` (created if missing; kept).
    pub fn with_cache_dir(
        credentials: GitCredentials,
        dir: impl Into<PathBuf>,
    ) -> Result<Self, Error> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
        Ok(Self::build(credentials, CacheDir::Path(dir)))
    }

    fn build(credentials: GitCredentials, cache: CacheDir) -> Self {
        PlainGitHost {
            credentials,
            cache,
            retry: RetryPolicy::default(),
            before_push: None,
            locks: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = RetryPolicy {
            max_attempts: retry.max_attempts.max(1),
            ..retry
        };
        self
    }

    /// Sets a hook called (on the blocking thread) before each push attempt.
    pub fn with_before_push(mut self, hook: BeforePushHook) -> Self {
        self.before_push = Some(hook);
        self
    }

    /// The credentials.
    pub fn credentials(&self) -> &GitCredentials {
        &self.credentials
    }

    fn lock_for(&self, repo: &RepoUrl) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = match self.locks.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(repo.as_str().to_string()).or_default().clone()
    }

    fn session(&self, repo: &RepoUrl) -> Session {
        let digest = sha2::Sha256::digest(repo.as_str().as_bytes());
        let name: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
        Session {
            url: repo.clone(),
            credentials: self.credentials.clone(),
            dir: self.cache.path().join(format!("{name}.git")),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        repo: &RepoUrl,
        f: impl FnOnce(Session) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let lock = self.lock_for(repo);
        let _guard = lock.lock().await;
        let session = self.session(repo);
        let url = repo.to_string();
        tokio::task::spawn_blocking(move || f(session))
            .await
            .map_err(|e| Error::Git {
                operation: "run blocking git task",
                url,
                reason: e.to_string(),
            })?
    }
}

/// What the callbacks saw during one libgit2 network operation.
#[derive(Default)]
struct CallState {
    credential_calls: AtomicU32,
    auth_rejected: std::sync::atomic::AtomicBool,
    host_key_mismatch: Mutex<Option<(String, String, String)>>,
    rejections: Mutex<Vec<(String, String)>>,
}

struct Session {
    url: RepoUrl,
    credentials: GitCredentials,
    dir: PathBuf,
}

const TRACKING: &str = "refs/remotes/origin/";

fn is_race_message(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    [
        "non-fast-forward",
        "non-fastforward",
        "fetch first",
        "failed to lock",
        "cannot lock",
        "failed to update ref",
        "stale info",
        "already been updated",
    ]
    .iter()
    .any(|p| m.contains(p))
}

impl Session {
    fn url_str(&self) -> String {
        self.url.to_string()
    }

    fn git_err(&self, operation: &'static str) -> impl Fn(git2::Error) -> Error + '_ {
        move |e| Error::Git {
            operation,
            url: self.url_str(),
            reason: e.message().to_string(),
        }
    }

    fn open(&self) -> Result<git2::Repository, Error> {
        let repo = if self.dir.join("HEAD").exists() {
            git2::Repository::open_bare(&self.dir).map_err(self.git_err("open cache repository"))?
        } else {
            git2::Repository::init_bare(&self.dir)
                .map_err(self.git_err("create cache repository"))?
        };
        Ok(repo)
    }

    fn remote_url(&self) -> String {
        self.url.as_str().to_string()
    }

    /// Whether `url` (as libgit2 gives it to the credential callback) is on the repository's server.
    fn same_server(&self, url: &str) -> bool {
        match url::Url::parse(url) {
            Ok(u) => {
                let ours = self.url.as_url();
                u.scheme() == ours.scheme()
                    && u.host_str()
                        .is_some_and(|h| ours.host_str().is_some_and(|o| h.eq_ignore_ascii_case(o)))
                    && u.port_or_known_default() == ours.port_or_known_default()
            }
            // scp-like forms never reach here (RepoUrl refuses them); anything else is foreign.
            Err(_) => false,
        }
    }

    fn callbacks<'a>(&'a self, state: &'a CallState) -> git2::RemoteCallbacks<'a> {
        let mut cb = git2::RemoteCallbacks::new();
        cb.credentials(move |url, username_from_url, allowed| {
            // Only the repository's own server (scheme, host and port) gets the credential, even
            // after a redirect libgit2 allowed (same host, another port).
            if !self.same_server(url) {
                state.auth_rejected.store(true, Ordering::SeqCst);
                return Err(git2::Error::from_str(
                    "the server redirected to another server: credentials are only sent to the repository's own server",
                ));
            }
            let n = state.credential_calls.fetch_add(1, Ordering::SeqCst);
            // libgit2 asks again after the server refused what we gave: stop there.
            let ssh_username_step = matches!(self.credentials, GitCredentials::Ssh(_))
                && allowed.contains(CredentialType::USERNAME);
            if n >= 1 && !ssh_username_step || n >= 3 {
                state.auth_rejected.store(true, Ordering::SeqCst);
                return Err(git2::Error::from_str("the server refused the credentials"));
            }
            match &self.credentials {
                GitCredentials::Basic(b)
                    if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) =>
                {
                    Cred::userpass_plaintext(b.username(), b.secret().expose_secret())
                }
                GitCredentials::Ssh(s) if allowed.contains(CredentialType::USERNAME) => {
                    Cred::username(username_from_url.unwrap_or(s.username()))
                }
                GitCredentials::Ssh(s)
                    if allowed.contains(CredentialType::SSH_MEMORY)
                        || allowed.contains(CredentialType::SSH_KEY) =>
                {
                    let key = s.key();
                    let private = key
                        .private_key_openssh()
                        .unwrap_or(key.private_key_pem())
                        .expose_secret();
                    Cred::ssh_key_from_memory(
                        username_from_url.unwrap_or(s.username()),
                        Some(key.public_key_line()),
                        private,
                        s.passphrase().map(|p| p.expose_secret()),
                    )
                }
                _ => {
                    state.auth_rejected.store(true, Ordering::SeqCst);
                    Err(git2::Error::from_str(
                        "the server asks for credentials this host was not given",
                    ))
                }
            }
        });
        cb.certificate_check(move |cert, _host| {
            let (GitCredentials::Ssh(s), Some(hostkey)) = (&self.credentials, cert.as_hostkey())
            else {
                return Ok(CertificateCheckStatus::CertificatePassthrough);
            };
            let Some(blob) = hostkey.hostkey() else {
                return Err(git2::Error::from_str(
                    "the SSH server's host key is not available",
                ));
            };
            let host = self.url.host().to_string();
            let port = self.url.port();
            if s.known_hosts().matches(&host, port, blob) {
                return Ok(CertificateCheckStatus::CertificateOk);
            }
            let key_type = crate::ssh::blob_key_type(blob).unwrap_or_else(|| "unknown".into());
            let fingerprint = {
                use base64::Engine as _;
                let d = sha2::Sha256::digest(blob);
                format!(
                    "SHA256:{}",
                    base64::engine::general_purpose::STANDARD_NO_PAD.encode(d)
                )
            };
            if let Ok(mut slot) = state.host_key_mismatch.lock() {
                *slot = Some((
                    crate::url::known_hosts_name(&host, port),
                    key_type,
                    fingerprint,
                ));
            }
            Err(git2::Error::from_str(
                "the SSH host key is not in known_hosts",
            ))
        });
        cb.push_update_reference(move |refname, status| {
            if let Some(msg) = status
                && let Ok(mut r) = state.rejections.lock()
            {
                r.push((refname.to_string(), msg.to_string()));
            }
            Ok(())
        });
        cb
    }

    fn headers(&self) -> Vec<String> {
        match &self.credentials {
            GitCredentials::Bearer(t) => vec![t.header_line().expose_secret().to_string()],
            _ => Vec::new(),
        }
    }

    fn map_net(&self, e: git2::Error, state: &CallState, operation: &'static str) -> Error {
        let url = self.url_str();
        if let Ok(Some((host, key_type, fingerprint))) =
            state.host_key_mismatch.lock().map(|s| s.clone())
        {
            return Error::HostKeyMismatch {
                host,
                key_type,
                fingerprint,
            };
        }
        let msg = e.message().to_string();
        let lower = msg.to_ascii_lowercase();
        let auth = state.auth_rejected.load(Ordering::SeqCst)
            || e.code() == ErrorCode::Auth
            || lower.contains("401")
            || lower.contains("403")
            || lower.contains("authentication")
            || lower.contains("permission denied");
        if auth {
            return Error::Auth {
                url,
                method: self.credentials.method(),
                hint: auth_hint(&self.credentials),
            };
        }
        if lower.contains("404")
            || lower.contains("not found")
            || lower.contains("does not appear to be a git repository")
            || lower.contains("does not exist")
        {
            return Error::NotFound {
                url,
                hint: "check the organization, project and repository names; plain git cannot create repositories: create it in Azure DevOps (Repos → New repository) or use the REST host".to_string(),
            };
        }
        match e.class() {
            ErrorClass::Net
            | ErrorClass::Http
            | ErrorClass::Ssh
            | ErrorClass::Os
            | ErrorClass::Ssl => Error::Network { url, reason: msg },
            _ => Error::Git {
                operation,
                url,
                reason: msg,
            },
        }
    }

    /// Fetches all branches into `refs/remotes/origin/*` (pruned); returns the default branch.
    fn fetch(&self, repo: &git2::Repository) -> Result<Option<String>, Error> {
        let state = CallState::default();
        let mut remote = repo
            .remote_anonymous(&self.remote_url())
            .map_err(self.git_err("configure remote"))?;
        let headers = self.headers();
        let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let mut opts = git2::FetchOptions::new();
        opts.remote_callbacks(self.callbacks(&state))
            .custom_headers(&header_refs)
            .download_tags(git2::AutotagOption::None)
            .update_fetchhead(false)
            // A redirect would take the PAT (credential callback) or the bearer header (sent with
            // every request) to whatever host the server names.
            .follow_redirects(git2::RemoteRedirect::None);
        remote
            .fetch(
                &["+refs/heads/*:refs/remotes/origin/*"],
                Some(&mut opts),
                None,
            )
            .map_err(|e| self.map_net(e, &state, "fetch"))?;
        // Prune: drop tracking refs the server no longer advertises.
        let advertised: Vec<String> = remote
            .list()
            .map(|heads| heads.iter().map(|h| h.name().to_string()).collect())
            .unwrap_or_default();
        let default_branch = remote.default_branch().ok().and_then(|b| {
            b.as_str()
                .ok()
                .map(|s| s.trim_start_matches("refs/heads/").to_string())
        });
        let mut stale = Vec::new();
        if let Ok(refs) = repo.references_glob(&format!("{TRACKING}*")) {
            for r in refs.flatten() {
                if let Ok(name) = r.name() {
                    let head = format!("refs/heads/{}", &name[TRACKING.len()..]);
                    if !advertised.contains(&head) {
                        stale.push(name.to_string());
                    }
                }
            }
        }
        for name in stale {
            if let Ok(mut r) = repo.find_reference(&name) {
                let _ = r.delete();
            }
        }
        Ok(default_branch)
    }

    fn branches(&self, repo: &git2::Repository) -> Result<BTreeMap<String, CommitId>, Error> {
        let mut out = BTreeMap::new();
        let refs = repo
            .references_glob(&format!("{TRACKING}*"))
            .map_err(self.git_err("list branches"))?;
        for r in refs.flatten() {
            if let (Ok(name), Some(oid)) = (r.name(), r.target()) {
                out.insert(
                    name[TRACKING.len()..].to_string(),
                    CommitId(oid.to_string()),
                );
            }
        }
        Ok(out)
    }

    fn tip<'r>(
        &self,
        repo: &'r git2::Repository,
        branch: &str,
    ) -> Result<Option<git2::Commit<'r>>, Error> {
        match repo.find_reference(&format!("{TRACKING}{branch}")) {
            Ok(r) => Ok(Some(
                r.peel_to_commit()
                    .map_err(self.git_err("read branch tip"))?,
            )),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.git_err("read branch tip")(e)),
        }
    }

    fn read_file(&self, branch: &str, path: &str) -> Result<Option<Vec<u8>>, Error> {
        let repo = self.open()?;
        self.fetch(&repo)?;
        let Some(tip) = self.tip(&repo, branch)? else {
            return Ok(None);
        };
        let tree = tip.tree().map_err(self.git_err("read tree"))?;
        let entry = match tree.get_path(Path::new(path)) {
            Ok(e) => e,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(self.git_err("read path")(e)),
        };
        if entry.kind() != Some(git2::ObjectType::Blob) {
            return Ok(None);
        }
        let blob = repo
            .find_blob(entry.id())
            .map_err(self.git_err("read blob"))?;
        Ok(Some(blob.content().to_vec()))
    }

    /// Builds the commit on the current tracking tip; `Ok(None)` when nothing changes.
    fn build_commit(
        &self,
        repo: &git2::Repository,
        request: &CommitRequest,
    ) -> Result<(Option<Oid>, Option<Oid>), Error> {
        let parent = self.tip(repo, &request.branch)?;
        let base_tree = match &parent {
            Some(c) => c.tree().map_err(self.git_err("read tree"))?,
            None => {
                let empty = repo
                    .treebuilder(None)
                    .and_then(|b| b.write())
                    .map_err(self.git_err("write empty tree"))?;
                repo.find_tree(empty).map_err(self.git_err("read tree"))?
            }
        };
        let mut update = git2::build::TreeUpdateBuilder::new();
        for (path, content) in &request.files {
            let oid = repo.blob(content).map_err(self.git_err("write blob"))?;
            let mode = match base_tree.get_path(Path::new(path)) {
                Ok(e) if e.filemode() == i32::from(FileMode::BlobExecutable) => {
                    FileMode::BlobExecutable
                }
                _ => FileMode::Blob,
            };
            update.upsert(path.as_str(), oid, mode);
        }
        for path in &request.deletions {
            if base_tree.get_path(Path::new(path)).is_ok() {
                update.remove(path.as_str());
            }
        }
        let tree_id = update
            .create_updated(repo, &base_tree)
            .map_err(self.git_err("build tree"))?;
        let parent_id = parent.as_ref().map(|c| c.id());
        let unchanged = match &parent {
            Some(c) => c.tree_id() == tree_id,
            None => request.files.is_empty(),
        };
        if unchanged {
            return Ok((parent_id, None));
        }
        let tree = repo.find_tree(tree_id).map_err(self.git_err("read tree"))?;
        let sig = git2::Signature::now(&request.author.name, &request.author.email)
            .map_err(self.git_err("author signature"))?;
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let commit = repo
            .commit(None, &sig, &sig, &request.message, &tree, &parents)
            .map_err(self.git_err("commit"))?;
        Ok((parent_id, Some(commit)))
    }

    /// Pushes `commit` to the branch. `Ok(true)` on success, `Ok(false)` when the push lost a race.
    fn push(&self, repo: &git2::Repository, branch: &str, commit: Oid) -> Result<bool, Error> {
        let local = format!("refs/heads/{branch}");
        repo.reference(&local, commit, true, "azflux push")
            .map_err(self.git_err("update local branch"))?;
        let state = CallState::default();
        let mut remote = repo
            .remote_anonymous(&self.remote_url())
            .map_err(self.git_err("configure remote"))?;
        let headers = self.headers();
        let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let mut opts = git2::PushOptions::new();
        opts.remote_callbacks(self.callbacks(&state))
            .custom_headers(&header_refs)
            .follow_redirects(git2::RemoteRedirect::None);
        let refspec = format!("{local}:{local}");
        match remote.push(&[refspec.as_str()], Some(&mut opts)) {
            Ok(()) => {}
            Err(e) if e.code() == ErrorCode::NotFastForward => return Ok(false),
            Err(e) if is_race_message(e.message()) => return Ok(false),
            Err(e) => return Err(self.map_net(e, &state, "push")),
        }
        let rejections = state
            .rejections
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default();
        if let Some((_, reason)) = rejections.first() {
            if is_race_message(reason) {
                return Ok(false);
            }
            return Err(Error::Rejected {
                url: self.url_str(),
                branch: branch.to_string(),
                reason: reason.clone(),
            });
        }
        let _ = repo.reference(
            &format!("{TRACKING}{branch}"),
            commit,
            true,
            "azflux pushed",
        );
        Ok(true)
    }
}

fn auth_hint(credentials: &GitCredentials) -> String {
    match credentials {
        GitCredentials::Basic(b) => format!(
            "the server refused the PAT or password for user \"{}\"; check that the PAT is valid, not expired and has the Code (Read & Write) scope on this organization, then pass a new one (e.g. GIT_PASSWORD)",
            b.username()
        ),
        GitCredentials::Bearer(_) => format!(
            "the server refused the Entra ID token; check that the token is for resource {} and not expired, and that the identity was added to the Azure DevOps organization with access to the repository",
            crate::credentials::AZURE_DEVOPS_RESOURCE
        ),
        GitCredentials::Ssh(s) => format!(
            "the server refused the SSH key {}; add its public key to the user's SSH public keys (Azure DevOps accepts RSA keys only) or use another key",
            s.key().fingerprint()
        ),
        GitCredentials::Anonymous => {
            "the server requires credentials; pass a PAT, password, bearer token or SSH key"
                .to_string()
        }
    }
}

#[async_trait]
impl GitHost for PlainGitHost {
    async fn ensure_repository(&self, repo: &RepoUrl) -> Result<RepositoryInfo, Error> {
        let url = repo.clone();
        self.run(repo, move |s| {
            let r = s.open()?;
            let default_branch = s.fetch(&r)?;
            let branches = s.branches(&r)?;
            Ok(RepositoryInfo {
                url,
                created: false,
                default_branch: default_branch.filter(|b| branches.contains_key(b)),
                branches,
            })
        })
        .await
    }

    async fn read_file(
        &self,
        repo: &RepoUrl,
        branch: &str,
        path: &str,
    ) -> Result<Option<Vec<u8>>, Error> {
        crate::guard::check_branch(branch)?;
        crate::guard::check_path(path)?;
        let (branch, path) = (branch.to_string(), path.to_string());
        self.run(repo, move |s| s.read_file(&branch, &path)).await
    }

    async fn commit(
        &self,
        repo: &RepoUrl,
        request: &CommitRequest,
    ) -> Result<CommitOutcome, Error> {
        request.validate()?;
        if repo.scheme() == Scheme::Http {
            tracing::debug!(url = %repo, "pushing over plain http");
        }
        let retry = self.retry;
        let hook = self.before_push.clone();
        let request = request.clone();
        let mut retries = 0u32;
        loop {
            let req = request.clone();
            let hook = hook.clone();
            let attempt = retries + 1;
            let result = self
                .run(repo, move |s| {
                    let r = s.open()?;
                    s.fetch(&r)?;
                    let (parent, commit) = s.build_commit(&r, &req)?;
                    let Some(commit) = commit else {
                        return Ok(Some(CommitOutcome::NoChange {
                            head: parent.map(|p| CommitId(p.to_string())),
                        }));
                    };
                    if let Some(h) = &hook {
                        h(attempt);
                    }
                    if s.push(&r, &req.branch, commit)? {
                        Ok(Some(CommitOutcome::Committed {
                            commit: CommitId(commit.to_string()),
                            retries: attempt - 1,
                        }))
                    } else {
                        Ok(None)
                    }
                })
                .await?;
            if let Some(outcome) = result {
                return Ok(outcome);
            }
            retries += 1;
            if retries >= retry.max_attempts {
                return Err(Error::NonFastForwardExhausted {
                    url: repo.to_string(),
                    branch: request.branch.clone(),
                    attempts: retries,
                });
            }
            let delay = retry.delay(retries, jitter());
            tracing::info!(url = %repo, branch = %request.branch, retry = retries, ?delay, "push lost a race; rebuilding on the new tip");
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered_between_half_and_full() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        assert_eq!(p.delay(1, 1.0), Duration::from_millis(100));
        assert_eq!(p.delay(1, 0.0), Duration::from_millis(50));
        assert_eq!(p.delay(2, 1.0), Duration::from_millis(200));
        assert_eq!(p.delay(3, 0.5), Duration::from_millis(300));
        assert_eq!(p.delay(5, 1.0), Duration::from_millis(1000));
        assert_eq!(p.delay(40, 1.0), Duration::from_millis(1000));
        assert_eq!(
            p.delay(2, 7.0),
            Duration::from_millis(200),
            "jitter is clamped"
        );
        let j = jitter();
        assert!((0.0..=1.0).contains(&j), "{j}");
    }

    #[test]
    fn race_messages_are_recognised() {
        for m in [
            "cannot push non-fastforwardable reference",
            "failed to update ref",
            "failed to lock",
            "TF401028: The reference 'refs/heads/main' has already been updated by another client",
        ] {
            assert!(
                is_race_message(m) || m.contains("non-fastforwardable"),
                "{m}"
            );
        }
        assert!(!is_race_message("pre-receive hook declined"));
    }
}
