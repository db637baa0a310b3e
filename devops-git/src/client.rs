//! The Azure DevOps REST implementation of [`GitHost`]: repositories (get, create), refs, the
//! Items API and the Pushes API (api-version 7.1), every request through azflux-core's
//! [`HttpPipeline`] (retries with jitter and `Retry-After`, the fake cloud's routing transport).
//!
//! Authentication is a PAT (HTTP Basic `base64(":" + PAT)`, set per request and only ever sent to
//! `dev.azure.com`, `*.visualstudio.com` and `vssps.dev.azure.com`) or an Entra ID bearer token
//! for the Azure DevOps resource ([`BearerAuth`] with [`Cloud::azure_devops_scope`]).
//!
//! A commit reads the branch tip (Refs API) and the blob ids of its tree (Items API, full
//! recursion), computes the git blob id (SHA-1) of every file to write, and sends one push with
//! `add`/`edit`/`delete` changes for what actually differs: nothing differs → no push at all
//! ([`CommitOutcome::NoChange`]). The push names the tip it was built on (`oldObjectId`, 40 zeros
//! for an empty repository or a new branch); when another pusher moved the branch first the
//! service answers 409 `TF401028` and the commit is rebuilt on the new tip, with exponential
//! backoff and jitter on the pipeline's clock, at most [`RetryPolicy::max_attempts`] times.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use azflux_core::Cloud;
use azflux_core::TokenCredential;
use azflux_core::http::{
    BearerAuth, HostRule, HttpMethod, HttpPipeline, HttpPipelineOptions, HttpRequest, Response,
    describe_request,
};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::api::{CommitId, CommitOutcome, CommitRequest, GitHost, RepositoryInfo};
use crate::credentials::GitCredentials;
use crate::error::Error;
use crate::plain_git::{BeforePushHook, RetryPolicy};
use crate::url::{AzureDevOpsRepo, RepoUrl};
use crate::wire::{
    API_VERSION, Change, ChangeType, ContentType, CreateRepository, GitItem, GitRef, GitRepository,
    GitUserDate, ItemPath, ListOf, NewContent, ProjectId, ProjectRef, PushCommit, PushRequest,
    PushResponse, RefUpdate, WrappedException, ZERO_OBJECT_ID,
};

/// Whether a PAT may be sent to `host`: `dev.azure.com`, `vssps.dev.azure.com` and
/// `*.visualstudio.com` only.
pub fn pat_allowed_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "dev.azure.com"
        || host == "vssps.dev.azure.com"
        || (host.ends_with(".visualstudio.com") && host.len() > ".visualstudio.com".len())
}

/// The hosts an Entra ID token for Azure DevOps is sent to.
pub fn devops_host_rules() -> Vec<HostRule> {
    vec![
        HostRule::Exact("dev.azure.com".into()),
        HostRule::Exact("vssps.dev.azure.com".into()),
        HostRule::Suffix(".visualstudio.com".into()),
    ]
}

/// The `Authorization` value for a PAT: `Basic base64(":" + PAT)` (secret).
pub fn pat_basic_header(pat: &SecretString) -> SecretString {
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!(":{}", pat.expose_secret()));
    SecretString::from(format!("Basic {encoded}"))
}

/// The git blob id (SHA-1 of `blob <len>\0<content>`), lower-case hex: what Azure DevOps reports
/// as an item's `objectId`.
pub fn git_blob_id(content: &[u8]) -> String {
    match git2::Oid::hash_object(git2::ObjectType::Blob, content) {
        Ok(oid) => oid.to_string(),
        // libgit2 only fails here on allocation failure; an id that matches nothing forces a push.
        Err(_) => String::new(),
    }
}

#[derive(Clone)]
enum Auth {
    Pat(SecretString),
    Bearer,
}

/// How one request is sent and read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Accept {
    Json,
    Octets,
}

/// The Azure DevOps REST [`GitHost`].
#[derive(Clone)]
pub struct DevOpsRestHost {
    pipeline: HttpPipeline,
    auth: Auth,
    retry: RetryPolicy,
    before_push: Option<BeforePushHook>,
    rate_limit: Arc<std::sync::Mutex<Option<RateLimit>>>,
}

/// The `X-RateLimit-*` headers of an Azure DevOps answer: how close the identity is to being
/// throttled (200 TSTUs per sliding 5-minute window).
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    /// `X-RateLimit-Resource` (`Core`, …).
    pub resource: Option<String>,
    /// `X-RateLimit-Delay`: how long the service delayed the request.
    pub delay: Option<std::time::Duration>,
    /// `X-RateLimit-Limit`.
    pub limit: Option<u64>,
    /// `X-RateLimit-Remaining`.
    pub remaining: Option<u64>,
    /// `X-RateLimit-Reset` (unix seconds).
    pub reset: Option<i64>,
}

impl RateLimit {
    /// Reads the headers of `response`; `None` when it has none of them.
    pub fn from_response(response: &Response) -> Option<Self> {
        let h = |n: &str| response.header(n).map(|v| v.trim().to_string());
        let limit = RateLimit {
            resource: h("x-ratelimit-resource"),
            delay: h("x-ratelimit-delay")
                .and_then(|v| v.parse::<f64>().ok())
                // A server value too large for a Duration is ignored, not a panic.
                .and_then(|d| std::time::Duration::try_from_secs_f64(d).ok()),
            limit: h("x-ratelimit-limit").and_then(|v| v.parse().ok()),
            remaining: h("x-ratelimit-remaining").and_then(|v| v.parse().ok()),
            reset: h("x-ratelimit-reset").and_then(|v| v.parse().ok()),
        };
        let any = limit.resource.is_some()
            || limit.delay.is_some()
            || limit.limit.is_some()
            || limit.remaining.is_some()
            || limit.reset.is_some();
        any.then_some(limit)
    }
}

impl std::fmt::Debug for DevOpsRestHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevOpsRestHost")
            .field("auth", &self.method())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl DevOpsRestHost {
    /// A host authenticating with a personal access token (scope `vso.code_write` to push,
    /// `vso.code_manage` to create repositories).
    pub fn with_pat(options: &HttpPipelineOptions, pat: SecretString) -> Self {
        DevOpsRestHost {
            pipeline: HttpPipeline::new(options),
            auth: Auth::Pat(pat),
            retry: RetryPolicy::default(),
            before_push: None,
            rate_limit: Arc::default(),
        }
    }

    /// A host authenticating with Entra ID tokens from `credential` for the Azure DevOps resource
    /// of `cloud` (the principal must be a member of the organization).
    pub fn with_entra(
        options: &HttpPipelineOptions,
        cloud: &Cloud,
        credential: Arc<dyn TokenCredential>,
    ) -> Self {
        let auth = BearerAuth {
            credential,
            scope: cloud.azure_devops_scope(),
            hosts: devops_host_rules(),
        };
        DevOpsRestHost {
            pipeline: HttpPipeline::with_bearer(options, auth),
            auth: Auth::Bearer,
            retry: RetryPolicy::default(),
            before_push: None,
            rate_limit: Arc::default(),
        }
    }

    /// A host for git `credentials`: basic (the password is used as the PAT). Bearer tokens need
    /// a refreshing credential ([`DevOpsRestHost::with_entra`]); SSH keys cannot call the REST API.
    pub fn from_credentials(
        options: &HttpPipelineOptions,
        credentials: &GitCredentials,
    ) -> Result<Self, Error> {
        match credentials {
            GitCredentials::Basic(b) => Ok(Self::with_pat(options, b.secret().clone())),
            other => Err(Error::Unsupported {
                operation: "the Azure DevOps REST API",
                url: format!("credentials of kind {}", other.method()),
                hint: "use a PAT (GitCredentials::Basic) or DevOpsRestHost::with_entra with an Entra ID credential; SSH keys only work with PlainGitHost",
            }),
        }
    }

    /// Replaces the policy for retries after a lost push race.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = RetryPolicy {
            max_attempts: retry.max_attempts.max(1),
            ..retry
        };
        self
    }

    /// Sets a hook called before each push attempt with the attempt number (1-based).
    pub fn with_before_push(mut self, hook: BeforePushHook) -> Self {
        self.before_push = Some(hook);
        self
    }

    /// The `X-RateLimit-*` headers of the last answer that carried them.
    pub fn last_rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The pipeline (and through it the clock) this host uses.
    pub fn pipeline(&self) -> &HttpPipeline {
        &self.pipeline
    }

    fn method(&self) -> &'static str {
        match self.auth {
            Auth::Pat(_) => "PAT/password (basic)",
            Auth::Bearer => "Entra ID bearer token",
        }
    }

    fn auth_error(&self, resource: &str, status: u16) -> Error {
        let hint = match (&self.auth, status) {
            (_, 403) => "the credential is valid but lacks permission: give the identity Contribute (and Create repository) on the project, and a PAT the Code (Read, write & manage) scope".to_string(),
            (Auth::Pat(_), _) => "the PAT was refused (expired, revoked, mistyped, or not valid for this organization): create a new PAT with the Code (Read & write) scope and update the credential".to_string(),
            (Auth::Bearer, _) => "the Entra ID token was refused: add the identity to the Azure DevOps organization and check the token is for resource 499b84ac-1321-427f-aa17-267ca6975798".to_string(),
        };
        Error::Auth {
            url: resource.to_string(),
            method: self.method(),
            hint,
        }
    }

    /// Sends one request, with the PAT header when PAT-authenticated, and turns authentication
    /// failures (401, 403, 203 or an HTML/non-JSON answer where JSON was asked) into
    /// [`Error::Auth`]. Other statuses are returned for the caller to read.
    async fn send(
        &self,
        method: HttpMethod,
        url: Url,
        body: Option<Vec<u8>>,
        accept: Accept,
        resource: &str,
    ) -> Result<Response, Error> {
        let mut request = HttpRequest::new(url, method);
        request.insert_header(
            "accept",
            match accept {
                Accept::Json => "application/json",
                Accept::Octets => "application/octet-stream",
            },
        );
        if let Some(body) = body {
            request.insert_header("content-type", "application/json");
            request.set_body(body);
        }
        if let Auth::Pat(pat) = &self.auth {
            let host = request.url().host_str().unwrap_or_default().to_string();
            if request.url().scheme() != "https" || !pat_allowed_host(&host) {
                return Err(Error::Azure(azflux_core::Error::ForeignHost {
                    host,
                    scope: "an Azure DevOps PAT".into(),
                }));
            }
            request.insert_header(
                "authorization",
                pat_basic_header(pat).expose_secret().to_string(),
            );
        }
        let described = describe_request(&request);
        tracing::debug!(request = %described, "azure devops request");
        let response = self.pipeline.send(&mut request).await?;
        if let Some(limit) = RateLimit::from_response(&response) {
            if limit.delay.is_some_and(|d| !d.is_zero()) || limit.remaining == Some(0) {
                tracing::warn!(
                    request = %described,
                    delay_ms = limit.delay.map(|d| d.as_millis() as u64),
                    remaining = limit.remaining,
                    "Azure DevOps is rate limiting this identity"
                );
            }
            *self
                .rate_limit
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(limit);
        }
        let content_type = response
            .header("content-type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let status = response.status;
        if matches!(status, 401 | 403 | 203) {
            return Err(self.auth_error(resource, status));
        }
        if response.is_success() && status != 204 && !response.body.is_empty() {
            let html = content_type.contains("text/html");
            let not_json = accept == Accept::Json && !content_type.contains("json");
            if html || not_json {
                // The sign-in page an invalid PAT gets instead of an error.
                return Err(self.auth_error(resource, status));
            }
        }
        Ok(response)
    }

    fn ado<'a>(&self, repo: &'a RepoUrl) -> Result<&'a AzureDevOpsRepo, Error> {
        repo.azure_devops().ok_or_else(|| Error::Unsupported {
            operation: "the Azure DevOps REST API",
            url: repo.to_string(),
            hint: "the URL is not an Azure DevOps repository (https://dev.azure.com/<org>/<project>/_git/<repo>); use PlainGitHost for other servers",
        })
    }

    fn repo_api(&self, repo: &RepoUrl, tail: &[&str]) -> Result<Url, Error> {
        let mut url = self.ado(repo)?.rest_api_base()?;
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.extend(tail);
        }
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION);
        Ok(url)
    }

    fn org_url(ado: &AzureDevOpsRepo, segments: &[&str]) -> Result<Url, Error> {
        let mut url = Url::parse("https://dev.azure.com/").map_err(|e| Error::Network {
            url: "https://dev.azure.com/".into(),
            reason: e.to_string(),
        })?;
        if let Ok(mut s) = url.path_segments_mut() {
            s.clear().push(&ado.organization).extend(segments);
        }
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION);
        Ok(url)
    }

    fn not_found(repo: &RepoUrl, what: &str) -> Error {
        Error::NotFound {
            url: repo.to_string(),
            hint: format!(
                "{what}; check the organization, project and repository names and that the credential can read the project"
            ),
        }
    }

    fn wrapped(response: &Response) -> Option<WrappedException> {
        serde_json::from_slice(&response.body).ok()
    }

    /// The repository, or `None` when it does not exist (404 `TF401019`).
    pub async fn get_repository(&self, repo: &RepoUrl) -> Result<Option<GitRepository>, Error> {
        let url = self.repo_api(repo, &[])?;
        let response = self
            .send(HttpMethod::Get, url, None, Accept::Json, repo.as_str())
            .await?;
        match response.status {
            200 => Ok(Some(response.json(repo.as_str())?)),
            404 => Ok(None),
            _ => Err(response.error_for(repo.as_str()).into()),
        }
    }

    /// The project of `repo` (id and name), from the Core API.
    pub async fn get_project(&self, repo: &RepoUrl) -> Result<ProjectRef, Error> {
        let ado = self.ado(repo)?;
        let url = Self::org_url(ado, &["_apis", "projects", &ado.project])?;
        let response = self
            .send(HttpMethod::Get, url, None, Accept::Json, repo.as_str())
            .await?;
        match response.status {
            200 => Ok(response.json(repo.as_str())?),
            404 => Err(Self::not_found(
                repo,
                &format!("project \"{}\" does not exist", ado.project),
            )),
            _ => Err(response.error_for(repo.as_str()).into()),
        }
    }

    /// Every branch of the repository and its tip.
    pub async fn branches(&self, repo: &RepoUrl) -> Result<BTreeMap<String, CommitId>, Error> {
        let refs = self.refs(repo, "heads/").await?;
        Ok(refs
            .into_iter()
            .filter_map(|r| {
                let short = r.name.strip_prefix("refs/heads/")?.to_string();
                Some((short, CommitId(r.object_id.to_ascii_lowercase())))
            })
            .collect())
    }

    async fn refs(&self, repo: &RepoUrl, filter: &str) -> Result<Vec<GitRef>, Error> {
        let mut url = self.repo_api(repo, &["refs"])?;
        url.query_pairs_mut().append_pair("filter", filter);
        let response = self
            .send(HttpMethod::Get, url, None, Accept::Json, repo.as_str())
            .await?;
        match response.status {
            200 => Ok(response.json::<ListOf<GitRef>>(repo.as_str())?.value),
            404 => Err(Self::not_found(repo, "the repository does not exist")),
            _ => Err(response.error_for(repo.as_str()).into()),
        }
    }

    /// The tip of `branch`, `None` when the branch does not exist.
    pub async fn branch_tip(&self, repo: &RepoUrl, branch: &str) -> Result<Option<String>, Error> {
        let full = format!("refs/heads/{branch}");
        // The filter is a prefix match: keep the exact name only.
        let refs = self.refs(repo, &format!("heads/{branch}")).await?;
        Ok(refs
            .into_iter()
            .find(|r| r.name == full)
            .map(|r| r.object_id.to_ascii_lowercase()))
    }

    /// Path (relative, no leading `/`) → blob id of every file in the tree of `commit`.
    pub async fn tree_blobs(
        &self,
        repo: &RepoUrl,
        commit: &str,
    ) -> Result<BTreeMap<String, String>, Error> {
        let mut url = self.repo_api(repo, &["items"])?;
        url.query_pairs_mut()
            .append_pair("scopePath", "/")
            .append_pair("recursionLevel", "full")
            .append_pair("versionDescriptor.version", commit)
            .append_pair("versionDescriptor.versionType", "commit");
        let response = self
            .send(HttpMethod::Get, url, None, Accept::Json, repo.as_str())
            .await?;
        match response.status {
            200 => {}
            404 => return Err(Self::not_found(repo, "the repository does not exist")),
            _ => return Err(response.error_for(repo.as_str()).into()),
        }
        let items: ListOf<GitItem> = response.json(repo.as_str())?;
        Ok(items
            .value
            .into_iter()
            .filter(|i| i.git_object_type.as_deref() == Some("blob") && i.is_folder != Some(true))
            .map(|i| {
                (
                    i.path.trim_start_matches('/').to_string(),
                    i.object_id.to_ascii_lowercase(),
                )
            })
            .collect())
    }

    async fn create_repository(&self, repo: &RepoUrl) -> Result<GitRepository, Error> {
        let ado = self.ado(repo)?;
        let project = self.get_project(repo).await?;
        let url = Self::org_url(ado, &[&ado.project, "_apis", "git", "repositories"])?;
        let body = CreateRepository {
            name: ado.repository.clone(),
            project: ProjectId { id: project.id },
        };
        let body = serde_json::to_vec(&body)
            .map_err(|e| azflux_core::Error::invalid("repository body", e.to_string()))?;
        let response = self
            .send(
                HttpMethod::Post,
                url,
                Some(body),
                Accept::Json,
                repo.as_str(),
            )
            .await?;
        match response.status {
            200 | 201 => Ok(response.json(repo.as_str())?),
            // Created by someone else in between: read it.
            409 => self
                .get_repository(repo)
                .await?
                .ok_or_else(|| response.error_for(repo.as_str()).into()),
            _ => Err(response.error_for(repo.as_str()).into()),
        }
    }

    fn push_body(
        &self,
        request: &CommitRequest,
        old: Option<&str>,
        changes: Vec<Change>,
    ) -> Result<Vec<u8>, Error> {
        let date =
            time::OffsetDateTime::from_unix_timestamp(self.pipeline.clock().now().unix_timestamp())
                .ok()
                .and_then(|d| {
                    d.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                });
        let who = GitUserDate {
            name: request.author.name.clone(),
            email: request.author.email.clone(),
            date,
        };
        let body = PushRequest {
            ref_updates: vec![RefUpdate {
                name: format!("refs/heads/{}", request.branch),
                old_object_id: old.unwrap_or(ZERO_OBJECT_ID).to_string(),
                new_object_id: None,
                repository_id: None,
            }],
            commits: vec![PushCommit {
                comment: request.message.clone(),
                changes,
                author: Some(who.clone()),
                committer: Some(who),
            }],
        };
        Ok(serde_json::to_vec(&body)
            .map_err(|e| azflux_core::Error::invalid("push body", e.to_string()))?)
    }
}

/// The changes that turn the tree `existing` (path → blob id) into what `request` asks for;
/// empty when nothing differs.
pub fn plan_changes(request: &CommitRequest, existing: &BTreeMap<String, String>) -> Vec<Change> {
    let mut changes = Vec::new();
    for (path, content) in &request.files {
        let change_type = match existing.get(path) {
            Some(id) if *id == git_blob_id(content) => continue,
            Some(_) => ChangeType::Edit,
            None => ChangeType::Add,
        };
        let new_content = match std::str::from_utf8(content) {
            Ok(text) => NewContent {
                content: text.to_string(),
                content_type: ContentType::RawText,
            },
            Err(_) => NewContent {
                content: base64::engine::general_purpose::STANDARD.encode(content),
                content_type: ContentType::Base64Encoded,
            },
        };
        changes.push(Change {
            change_type,
            item: ItemPath {
                path: format!("/{path}"),
            },
            new_content: Some(new_content),
        });
    }
    for path in &request.deletions {
        if existing.contains_key(path) {
            changes.push(Change {
                change_type: ChangeType::Delete,
                item: ItemPath {
                    path: format!("/{path}"),
                },
                new_content: None,
            });
        }
    }
    changes
}

fn is_stale_ref(response: &Response) -> bool {
    if response.status == 409 {
        return true;
    }
    DevOpsRestHost::wrapped(response).is_some_and(|w| {
        w.tf_code() == Some("TF401028")
            || w.type_key.as_deref() == Some("GitReferenceStaleException")
    })
}

fn jitter() -> f64 {
    let mut b = [0u8; 4];
    match getrandom::fill(&mut b) {
        Ok(()) => f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX),
        Err(_) => 0.5,
    }
}

#[async_trait]
impl GitHost for DevOpsRestHost {
    async fn ensure_repository(&self, repo: &RepoUrl) -> Result<RepositoryInfo, Error> {
        let (found, created) = match self.get_repository(repo).await? {
            Some(r) => (r, false),
            None => (self.create_repository(repo).await?, true),
        };
        let branches = self.branches(repo).await?;
        Ok(RepositoryInfo {
            url: repo.clone(),
            created,
            default_branch: found
                .default_branch
                .as_deref()
                .map(|b| b.strip_prefix("refs/heads/").unwrap_or(b).to_string()),
            branches,
        })
    }

    async fn read_file(
        &self,
        repo: &RepoUrl,
        branch: &str,
        path: &str,
    ) -> Result<Option<Vec<u8>>, Error> {
        crate::guard::check_branch(branch)?;
        crate::guard::check_path(path)?;
        let mut url = self.repo_api(repo, &["items"])?;
        url.query_pairs_mut()
            .append_pair("path", &format!("/{path}"))
            .append_pair("versionDescriptor.version", branch)
            .append_pair("versionDescriptor.versionType", "branch")
            .append_pair("$format", "octetStream")
            .append_pair("download", "true");
        let response = self
            .send(HttpMethod::Get, url, None, Accept::Octets, repo.as_str())
            .await?;
        match response.status {
            200 => Ok(Some(response.body.to_vec())),
            404 => {
                let repo_missing = Self::wrapped(&response).is_some_and(|w| {
                    w.tf_code() == Some("TF401019")
                        || w.type_key.as_deref() == Some("GitRepositoryNotFoundException")
                });
                if repo_missing {
                    Err(Self::not_found(repo, "the repository does not exist"))
                } else {
                    Ok(None)
                }
            }
            _ => Err(response.error_for(repo.as_str()).into()),
        }
    }

    async fn commit(
        &self,
        repo: &RepoUrl,
        request: &CommitRequest,
    ) -> Result<CommitOutcome, Error> {
        request.validate()?;
        self.ado(repo)?;
        let max = self.retry.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let tip = self.branch_tip(repo, &request.branch).await?;
            let existing = match &tip {
                Some(commit) => self.tree_blobs(repo, commit).await?,
                None => BTreeMap::new(),
            };
            let changes = plan_changes(request, &existing);
            if changes.is_empty() {
                return Ok(CommitOutcome::NoChange {
                    head: tip.map(CommitId),
                });
            }
            if let Some(hook) = &self.before_push {
                hook(attempt);
            }
            let body = self.push_body(request, tip.as_deref(), changes)?;
            let url = self.repo_api(repo, &["pushes"])?;
            let response = self
                .send(
                    HttpMethod::Post,
                    url,
                    Some(body),
                    Accept::Json,
                    repo.as_str(),
                )
                .await?;
            if response.is_success() {
                let push: PushResponse = response.json(repo.as_str())?;
                let commit = push
                    .ref_updates
                    .iter()
                    .find_map(|r| r.new_object_id.clone())
                    .or_else(|| push.commits.last().map(|c| c.commit_id.clone()))
                    .ok_or_else(|| azflux_core::Error::UnexpectedResponse {
                        resource: format!("POST {repo} pushes"),
                        message: "the push response names no new commit".into(),
                    })?;
                return Ok(CommitOutcome::Committed {
                    commit: CommitId(commit.to_ascii_lowercase()),
                    retries: attempt - 1,
                });
            }
            if is_stale_ref(&response) {
                if attempt >= max {
                    return Err(Error::NonFastForwardExhausted {
                        url: repo.to_string(),
                        branch: request.branch.clone(),
                        attempts: attempt,
                    });
                }
                let delay = self.retry.delay(attempt, jitter());
                tracing::info!(
                    repo = %repo,
                    branch = %request.branch,
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    "the branch moved under the push; rebuilding on the new tip"
                );
                self.pipeline.clock().sleep(delay).await;
                attempt += 1;
                continue;
            }
            if response.status == 404 {
                return Err(Self::not_found(repo, "the repository does not exist"));
            }
            if response.status == 400 || response.status == 403 {
                let reason = Self::wrapped(&response)
                    .map(|w| w.message)
                    .unwrap_or_else(|| format!("HTTP {}", response.status));
                return Err(Error::Rejected {
                    url: repo.to_string(),
                    branch: request.branch.clone(),
                    reason,
                });
            }
            return Err(response.error_for(repo.as_str()).into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Author;

    #[test]
    fn blob_ids_are_git_ids() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            git_blob_id(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        assert_eq!(git_blob_id(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    }

    #[test]
    fn absurd_rate_limit_delays_are_ignored_not_a_panic() {
        for (value, expected) in [
            ("1e30", None),
            ("inf", None),
            ("-1", None),
            ("NaN", None),
            ("0.250", Some(std::time::Duration::from_millis(250))),
        ] {
            let mut response = Response {
                status: 200,
                headers: Default::default(),
                body: Default::default(),
            };
            response
                .headers
                .insert("x-ratelimit-delay", value.to_string());
            let limit = RateLimit::from_response(&response);
            assert_eq!(limit.and_then(|l| l.delay), expected, "{value}");
        }
    }

    #[test]
    fn pat_header_is_basic_with_empty_user() {
        let h = pat_basic_header(&SecretString::from("abc"));
        assert_eq!(h.expose_secret(), "Basic OmFiYw==");
    }

    #[test]
    fn pat_hosts() {
        assert!(pat_allowed_host("dev.azure.com"));
        assert!(pat_allowed_host("VSSPS.dev.azure.com"));
        assert!(pat_allowed_host("myorg.visualstudio.com"));
        assert!(!pat_allowed_host("visualstudio.com"));
        assert!(!pat_allowed_host("dev.azure.com.evil.io"));
        assert!(!pat_allowed_host("github.com"));
    }

    #[test]
    fn plan_decides_add_edit_delete_and_skips_identical() {
        let existing: BTreeMap<String, String> = [
            ("same.txt".to_string(), git_blob_id(b"same")),
            ("changed.txt".to_string(), git_blob_id(b"old")),
            ("gone.txt".to_string(), git_blob_id(b"x")),
        ]
        .into();
        let req = CommitRequest::new("main", "m", Author::new("a", "a@b"))
            .file("same.txt", "same")
            .file("changed.txt", "new")
            .file("new.bin", vec![0xff, 0x00, 0xfe])
            .delete("gone.txt")
            .delete("never-there.txt");
        let changes = plan_changes(&req, &existing);
        let summary: Vec<(ChangeType, &str, Option<ContentType>)> = changes
            .iter()
            .map(|c| {
                (
                    c.change_type,
                    c.item.path.as_str(),
                    c.new_content.as_ref().map(|n| n.content_type),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (ChangeType::Edit, "/changed.txt", Some(ContentType::RawText)),
                (
                    ChangeType::Add,
                    "/new.bin",
                    Some(ContentType::Base64Encoded)
                ),
                (ChangeType::Delete, "/gone.txt", None),
            ]
        );
        assert_eq!(
            changes[1].new_content.as_ref().map(|n| n.content.as_str()),
            Some("/wD+")
        );
        let same_only = CommitRequest::new("main", "m", Author::new("a", "a@b"))
            .file("same.txt", "same")
            .delete("never-there.txt");
        assert!(plan_changes(&same_only, &existing).is_empty());
    }
}
