//! The stateful wiremock fake of the Azure DevOps REST endpoints [`crate::DevOpsRestHost`] and
//! [`crate::PatClient`] use, mounted on a [`FakeCloud`]: Core projects, Git repositories (get,
//! list, create), refs, items, pushes on `dev.azure.com`, and the PAT Lifecycle API on
//! `vssps.dev.azure.com`.
//!
//! The object model is real enough to push to: a repository is a map of refs to commits, a
//! commit is a full tree (path → bytes) with parents, ids are SHA-1 (blob ids are the real git
//! blob ids, commit and tree ids are SHA-1 of a deterministic text). A push whose `oldObjectId`
//! is not the ref's tip gets 409 `TF401028` with the service's `WrappedException` body; `add`
//! of an existing path and `edit`/`delete` of a missing one are refused like the service does.
//!
//! Authentication: HTTP Basic with a PAT from the fake's PAT table (not revoked, not expired on
//! the cloud's clock, issued for the organization), or an Entra ID bearer token for resource
//! `499b84ac-1321-427f-aa17-267ca6975798` verified by the fake Entra ID. A refused credential
//! gets 401, or — [`AuthFailureMode::SignInPage`] — 203 with the HTML sign-in page. The PAT API
//! accepts bearer tokens only. Throttling (429 + `Retry-After`) and 5xx come from the cloud's
//! fault injector; route names start with `devops.`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use azflux_core::fake::FakeCloud;
use azflux_core::fake::request::FakeRequest;
use azflux_core::http::HostRule;
use base64::Engine as _;
use percent_encoding::percent_decode_str;
use secrecy::SecretString;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use wiremock::ResponseTemplate;

use crate::credentials::AZURE_DEVOPS_RESOURCE;
use crate::url::RepoUrl;
use crate::wire::{ChangeType, ContentType, PatCreateRequest, PushRequest, ZERO_OBJECT_ID};

/// How the fake answers a refused credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthFailureMode {
    /// `401 Unauthorized`.
    #[default]
    Unauthorized,
    /// `203 Non-Authoritative Information` with the HTML sign-in page (what the service often
    /// sends for an invalid PAT).
    SignInPage,
}

/// A commit of the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCommit {
    /// Commit id.
    pub id: String,
    /// Tree id.
    pub tree_id: String,
    /// Parent ids.
    pub parents: Vec<String>,
    /// Message.
    pub message: String,
    /// Author name.
    pub author: String,
    /// The whole tree: path (without leading `/`) → content.
    pub tree: BTreeMap<String, Vec<u8>>,
}

#[derive(Debug, Clone)]
struct Repo {
    id: String,
    name: String,
    refs: BTreeMap<String, String>,
    commits: BTreeMap<String, FakeCommit>,
    default_branch: Option<String>,
}

#[derive(Debug, Clone)]
struct Project {
    id: String,
    name: String,
    repos: BTreeMap<String, Repo>,
}

#[derive(Debug, Clone, Default)]
struct Org {
    id: String,
    projects: BTreeMap<String, Project>,
}

/// A PAT of the fake (metadata; the token is in the table too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePat {
    /// Authorization id.
    pub authorization_id: String,
    /// Display name.
    pub display_name: String,
    /// Organization it was issued for.
    pub organization: String,
    /// Scopes.
    pub scope: String,
    /// Start of validity.
    pub valid_from: OffsetDateTime,
    /// Expiry.
    pub valid_to: OffsetDateTime,
    /// Whether it was revoked.
    pub revoked: bool,
    token: String,
}

#[derive(Debug, Default)]
struct Model {
    orgs: BTreeMap<String, Org>,
    pats: Vec<FakePat>,
    auth_failure: AuthFailureMode,
    counter: u64,
    pushes: u64,
    interference: BTreeMap<String, u32>,
    pat_create_errors: Vec<String>,
    open: bool,
    throttle: Option<(u32, u64)>,
    rate_limit: Option<RateLimitHeaders>,
    pat_page_size: Option<usize>,
}

/// The `X-RateLimit-*` headers the fake adds to every Git API answer (the service sends them
/// when an identity nears its limit).
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitHeaders {
    /// `X-RateLimit-Resource` (`Core`).
    pub resource: String,
    /// `X-RateLimit-Delay` in seconds.
    pub delay_secs: f64,
    /// `X-RateLimit-Limit` (TSTUs per 5 minutes).
    pub limit: u64,
    /// `X-RateLimit-Remaining`.
    pub remaining: u64,
    /// `X-RateLimit-Reset` (unix seconds).
    pub reset: i64,
}

/// The fake. Cheap to clone (shared state).
#[derive(Clone)]
pub struct FakeDevOps {
    cloud: FakeCloud,
    model: Arc<Mutex<Model>>,
}

impl std::fmt::Debug for FakeDevOps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeDevOps").finish_non_exhaustive()
    }
}

fn key(s: &str) -> String {
    s.to_lowercase()
}

fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

fn sha1_hex(kind: git2::ObjectType, data: &[u8]) -> String {
    git2::Oid::hash_object(kind, data)
        .map(|o| o.to_string())
        .unwrap_or_else(|_| ZERO_OBJECT_ID.to_string())
}

fn now_text(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The `WrappedException` body the service sends with its errors.
pub fn wrapped_exception(status: u16, type_key: &str, message: &str) -> ResponseTemplate {
    let namespace = if type_key.starts_with("Git") {
        "Microsoft.TeamFoundation.Git.Server"
    } else {
        "Microsoft.TeamFoundation.Core.WebApi"
    };
    ResponseTemplate::new(status).set_body_json(json!({
        "$id": "1",
        "innerException": null,
        "message": message,
        "typeName": format!("{namespace}.{type_key}, {namespace}"),
        "typeKey": type_key,
        "errorCode": 0,
        "eventId": 3000
    }))
}

fn repo_not_found(name: &str) -> ResponseTemplate {
    wrapped_exception(
        404,
        "GitRepositoryNotFoundException",
        &format!(
            "TF401019: The Git repository with name or identifier {name} does not exist or you do not have permissions for the operation you are attempting."
        ),
    )
}

fn project_not_found(name: &str) -> ResponseTemplate {
    wrapped_exception(
        404,
        "ProjectDoesNotExistWithNameException",
        &format!(
            "TF200016: The following project does not exist: {name}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server."
        ),
    )
}

/// The resource area id of Git (`GitClientBase.resource_area_identifier`).
const GIT_AREA_ID: &str = "4e080c62-fa21-4fbc-8fef-2a10a2b38049";

/// One `ApiResourceLocation` of the location service.
struct Location {
    id: &'static str,
    area: &'static str,
    resource: &'static str,
    template: &'static str,
    max: &'static str,
    released: &'static str,
    resource_version: u32,
}

impl Location {
    fn json(&self) -> Value {
        json!({
            "id": self.id, "area": self.area, "resourceName": self.resource, "routeTemplate": self.template,
            "resourceVersion": self.resource_version, "minVersion": "1.0", "maxVersion": self.max,
            "releasedVersion": self.released,
        })
    }
}

/// The resources this fake serves, as the location service describes them.
const LOCATIONS: &[Location] = &[
    Location {
        id: "e81700f7-3be2-46de-8624-2eb35882fcaa",
        area: "Location",
        resource: "ResourceAreas",
        template: "_apis/{resource}/{areaId}",
        max: "7.1",
        released: "0.0",
        resource_version: 1,
    },
    Location {
        id: "225f7195-f9c7-4d14-ab28-a83f7ff77e1f",
        area: "git",
        resource: "repositories",
        template: "{project}/_apis/{area}/{resource}/{repositoryId}",
        max: "7.1",
        released: "7.1",
        resource_version: 1,
    },
    Location {
        id: "2d874a60-a811-4f62-9c9f-963a6ea0a55b",
        area: "git",
        resource: "refs",
        template: "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*filter}",
        max: "7.1",
        released: "7.1",
        resource_version: 1,
    },
    Location {
        id: "ea98d07b-3c87-4971-8ede-a613694ffb55",
        area: "git",
        resource: "pushes",
        template: "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{pushId}",
        max: "7.1",
        released: "7.1",
        resource_version: 2,
    },
    Location {
        id: "fb93c0db-47ed-4a31-8c20-47552878fb44",
        area: "git",
        resource: "items",
        template: "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*path}",
        max: "7.1",
        released: "7.1",
        resource_version: 1,
    },
];

const SIGN_IN_PAGE: &str = "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body><p>Sign in to your account</p></body></html>";

impl FakeDevOps {
    /// Mounts the fake on `dev.azure.com` and `vssps.dev.azure.com` of `cloud`.
    pub async fn mount(cloud: &FakeCloud) -> Self {
        let this = FakeDevOps {
            cloud: cloud.clone(),
            model: Arc::default(),
        };
        let git = cloud
            .server_for(HostRule::Exact("dev.azure.com".into()))
            .await;
        let vssps = cloud
            .server_for(HostRule::Exact("vssps.dev.azure.com".into()))
            .await;
        let repos = r"^/[^/]+/[^/]+/_apis/git/repositories";
        let routes: [(&str, &str, String, Op); 8] = [
            (
                "devops.projects.get",
                "GET",
                r"(?i)^/[^/]+/_apis/projects/[^/]+$".into(),
                Op::ProjectGet,
            ),
            (
                "devops.repositories.list",
                "GET",
                format!("(?i){repos}/?$"),
                Op::RepoList,
            ),
            (
                "devops.repositories.create",
                "POST",
                format!("(?i){repos}/?$"),
                Op::RepoCreate,
            ),
            (
                "devops.repositories.get",
                "GET",
                format!("(?i){repos}/[^/]+$"),
                Op::RepoGet,
            ),
            (
                "devops.refs.list",
                "GET",
                format!("(?i){repos}/[^/]+/refs$"),
                Op::Refs,
            ),
            (
                "devops.items.get",
                "GET",
                format!("(?i){repos}/[^/]+/items$"),
                Op::Items,
            ),
            (
                "devops.pushes.create",
                "POST",
                format!("(?i){repos}/[^/]+/pushes$"),
                Op::Push,
            ),
            (
                "devops.repositories.delete",
                "DELETE",
                format!("(?i){repos}/[^/]+$"),
                Op::RepoDelete,
            ),
        ];
        for (name, method, path, op) in routes {
            let state = this.clone();
            cloud
                .mount(&git, name, method, &path, move |r| state.git_call(op, r))
                .await;
        }
        // The location service the official clients (the `azure-devops` Python package, the .NET and Node
        // clients) read before their first call: `OPTIONS {org}/_apis` lists each resource's id, route
        // template and versions, `GET {org}/_apis/ResourceAreas` where each area lives. Ids and templates are
        // the service's (as generated into the azure-devops clients, v7.1).
        cloud
            .mount(
                &git,
                "devops.locations.options",
                "OPTIONS",
                r"(?i)^/[^/]+/_apis/?$",
                |_| {
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"count": LOCATIONS.len(), "value": LOCATIONS.iter().map(|l| l.json()).collect::<Vec<_>>()}))
                },
            )
            .await;
        cloud
            .mount(
                &git,
                "devops.locations.resource-areas",
                "GET",
                r"(?i)^/[^/]+/_apis/ResourceAreas/?$",
                |r| {
                    let org = r
                        .path()
                        .trim_start_matches('/')
                        .split('/')
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let url = format!("{}/{org}/", r.origin());
                    ResponseTemplate::new(200).set_body_json(json!({"count": 1, "value": [
                        {"id": GIT_AREA_ID, "name": "git", "locationUrl": url},
                    ]}))
                },
            )
            .await;
        let pats = r"(?i)^/[^/]+/_apis/tokens/pats/?$";
        for (name, method, op) in [
            ("devops.pats.create", "POST", PatOp::Create),
            ("devops.pats.get", "GET", PatOp::Get),
            ("devops.pats.revoke", "DELETE", PatOp::Revoke),
        ] {
            let state = this.clone();
            cloud
                .mount(&vssps, name, method, pats, move |r| state.pat_call(op, r))
                .await;
        }
        this
    }

    /// Mounts the fake in "open" mode, for `cargo xtask fake-azure`: organizations and projects
    /// exist as soon as a request with an Entra ID token names them (PATs come from the PAT API
    /// or [`FakeDevOps::issue_pat`]).
    pub async fn mount_open(cloud: &FakeCloud) -> Self {
        let this = Self::mount(cloud).await;
        this.model().open = true;
        this
    }

    fn model(&self) -> MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> OffsetDateTime {
        self.cloud.clock().now()
    }

    fn uuid(model: &mut Model, kind: &str) -> String {
        model.counter += 1;
        uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!("azflux-fake-devops/{kind}/{}", model.counter).as_bytes(),
        )
        .to_string()
    }

    // ---- helpers for tests -------------------------------------------------------------------

    /// Creates an organization (idempotent).
    pub fn create_org(&self, org: &str) {
        let mut m = self.model();
        if !m.orgs.contains_key(&key(org)) {
            let id = Self::uuid(&mut m, "org");
            m.orgs.insert(
                key(org),
                Org {
                    id,
                    projects: BTreeMap::new(),
                },
            );
        }
    }

    /// Creates a project (and its organization); returns the project id.
    pub fn create_project(&self, org: &str, project: &str) -> String {
        self.create_org(org);
        let mut m = self.model();
        let id = Self::uuid(&mut m, "project");
        let Some(o) = m.orgs.get_mut(&key(org)) else {
            return id;
        };
        o.projects
            .entry(key(project))
            .or_insert_with(|| Project {
                id,
                name: project.to_string(),
                repos: BTreeMap::new(),
            })
            .id
            .clone()
    }

    /// Creates an empty repository for `url` (and its organization and project).
    pub fn create_repo(&self, url: &RepoUrl) -> String {
        let Some(ado) = url.azure_devops() else {
            return String::new();
        };
        self.create_project(&ado.organization, &ado.project);
        let mut m = self.model();
        let id = Self::uuid(&mut m, "repo");
        let Some(p) = m
            .orgs
            .get_mut(&key(&ado.organization))
            .and_then(|o| o.projects.get_mut(&key(&ado.project)))
        else {
            return id;
        };
        p.repos
            .entry(key(&ado.repository))
            .or_insert_with(|| Repo {
                id,
                name: ado.repository.clone(),
                refs: BTreeMap::new(),
                commits: BTreeMap::new(),
                default_branch: None,
            })
            .id
            .clone()
    }

    /// Issues a PAT for `org` valid for `lifetime` from now (on the cloud's clock); returns its
    /// authorization id and token.
    pub fn issue_pat(
        &self,
        org: &str,
        display_name: &str,
        lifetime: std::time::Duration,
    ) -> (String, SecretString) {
        self.create_org(org);
        let now = self.now();
        let mut m = self.model();
        let (id, token) = Self::new_pat(
            &mut m,
            org,
            display_name,
            "vso.code_manage",
            now,
            now + lifetime,
        );
        (id, SecretString::from(token))
    }

    fn new_pat(
        m: &mut Model,
        org: &str,
        display_name: &str,
        scope: &str,
        valid_from: OffsetDateTime,
        valid_to: OffsetDateTime,
    ) -> (String, String) {
        let id = Self::uuid(m, "pat");
        let mut raw = [0u8; 32];
        let token = match getrandom::fill(&mut raw) {
            Ok(()) => raw.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            Err(_) => sha1_hex(git2::ObjectType::Blob, id.as_bytes()),
        };
        m.pats.push(FakePat {
            authorization_id: id.clone(),
            display_name: display_name.to_string(),
            organization: key(org),
            scope: scope.to_string(),
            valid_from,
            valid_to,
            revoked: false,
            token: token.clone(),
        });
        (id, token)
    }

    /// The PAT with this authorization id.
    pub fn pat(&self, authorization_id: &str) -> Option<FakePat> {
        self.model()
            .pats
            .iter()
            .find(|p| p.authorization_id == authorization_id)
            .cloned()
    }

    /// Every PAT issued (including revoked ones).
    pub fn pats(&self) -> Vec<FakePat> {
        self.model().pats.clone()
    }

    /// Whether `token` would be accepted for `org` now.
    pub fn pat_works(&self, org: &str, token: &str) -> bool {
        let now = self.now();
        self.model().pats.iter().any(|p| {
            p.token == token && p.organization == key(org) && !p.revoked && p.valid_to > now
        })
    }

    /// Lists PATs in pages of at most `size` (default 100, the service's maximum).
    pub fn set_pat_page_size(&self, size: usize) {
        self.model().pat_page_size = Some(size.max(1));
    }

    /// How a refused credential is answered.
    pub fn set_auth_failure_mode(&self, mode: AuthFailureMode) {
        self.model().auth_failure = mode;
    }

    /// The next PAT creations answer 200 with `patTokenError` set to these codes, in order.
    pub fn fail_pat_creations(&self, codes: &[&str]) {
        self.model()
            .pat_create_errors
            .extend(codes.iter().map(|c| c.to_string()));
    }

    /// Before each of the next `times` pushes to `branch` of `url`, another client pushes a
    /// commit there first (adding `concurrent/<n>.txt`), so the push names a stale tip.
    pub fn interfere_with_pushes(&self, url: &RepoUrl, branch: &str, times: u32) {
        let Some(ado) = url.azure_devops() else {
            return;
        };
        let k = interference_key(
            &ado.organization,
            &ado.project,
            &ado.repository,
            &format!("refs/heads/{branch}"),
        );
        self.model().interference.insert(k, times);
    }

    /// Pushes received (accepted or not).
    pub fn push_requests(&self) -> u64 {
        self.model().pushes
    }

    fn with_repo<T>(&self, url: &RepoUrl, f: impl FnOnce(&mut Repo) -> T) -> Option<T> {
        let ado = url.azure_devops()?;
        let mut m = self.model();
        let repo = m
            .orgs
            .get_mut(&key(&ado.organization))?
            .projects
            .get_mut(&key(&ado.project))?
            .repos
            .get_mut(&key(&ado.repository))?;
        Some(f(repo))
    }

    /// The files on `branch` of `url` (`None`: no such repository or branch).
    pub fn files(&self, url: &RepoUrl, branch: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        self.with_repo(url, |r| {
            let tip = r.refs.get(&format!("refs/heads/{branch}"))?;
            r.commits.get(tip).map(|c| c.tree.clone())
        })
        .flatten()
    }

    /// The number of commits reachable from `branch` (0 when it does not exist).
    pub fn commit_count(&self, url: &RepoUrl, branch: &str) -> usize {
        self.log(url, branch).len()
    }

    /// The commits of `branch`, newest first (first-parent chain).
    pub fn log(&self, url: &RepoUrl, branch: &str) -> Vec<FakeCommit> {
        self.with_repo(url, |r| {
            let mut out = Vec::new();
            let mut next = r.refs.get(&format!("refs/heads/{branch}")).cloned();
            while let Some(id) = next {
                let Some(c) = r.commits.get(&id) else { break };
                next = c.parents.first().cloned();
                out.push(c.clone());
            }
            out
        })
        .unwrap_or_default()
    }

    /// The tip of `branch`.
    pub fn head(&self, url: &RepoUrl, branch: &str) -> Option<String> {
        self.with_repo(url, |r| {
            r.refs.get(&format!("refs/heads/{branch}")).cloned()
        })
        .flatten()
    }

    /// Pushes directly (as another client would): writes `files` on `branch`.
    pub fn push_directly(
        &self,
        url: &RepoUrl,
        branch: &str,
        message: &str,
        files: &[(&str, &[u8])],
    ) -> Option<String> {
        let counter = {
            let mut m = self.model();
            m.counter += 1;
            m.counter
        };
        self.with_repo(url, |r| {
            let name = format!("refs/heads/{branch}");
            let parent = r.refs.get(&name).cloned();
            let mut tree = parent
                .as_ref()
                .and_then(|p| r.commits.get(p))
                .map(|c| c.tree.clone())
                .unwrap_or_default();
            for (p, c) in files {
                tree.insert(p.to_string(), c.to_vec());
            }
            let commit = make_commit(tree, parent, message, "another client", counter);
            let id = commit.id.clone();
            r.commits.insert(id.clone(), commit);
            r.refs.insert(name.clone(), id.clone());
            r.default_branch.get_or_insert(name);
            id
        })
    }

    // ---- request handling --------------------------------------------------------------------

    fn refuse(&self) -> ResponseTemplate {
        match self.model().auth_failure {
            AuthFailureMode::Unauthorized => ResponseTemplate::new(401)
                .insert_header("www-authenticate", "Bearer authorization_uri=https://login.microsoftonline.com/common, Basic realm=\"https://dev.azure.com/\"")
                .insert_header("content-type", "text/plain; charset=utf-8")
                .set_body_string("TF400813: The user is not authorized to access this resource."),
            AuthFailureMode::SignInPage => ResponseTemplate::new(203)
                .insert_header("content-type", "text/html; charset=utf-8")
                .set_body_string(SIGN_IN_PAGE),
        }
    }

    /// Checks the credential for `org`: a PAT (basic) or an Entra ID token.
    #[allow(clippy::result_large_err)]
    fn authenticate(&self, r: &FakeRequest<'_>, org: &str) -> Result<(), ResponseTemplate> {
        if r.bearer().is_some() {
            return self
                .cloud
                .entra()
                .verify_request(r, AZURE_DEVOPS_RESOURCE)
                .map(|_| ())
                .map_err(|_| self.refuse());
        }
        let header = r.header("authorization").unwrap_or_default();
        let Some(encoded) = header
            .strip_prefix("Basic ")
            .or_else(|| header.strip_prefix("basic "))
        else {
            return Err(self.refuse());
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        let token = decoded.split_once(':').map(|(_, p)| p).unwrap_or_default();
        if !token.is_empty() && self.pat_works(org, token) {
            Ok(())
        } else {
            Err(self.refuse())
        }
    }

    /// The next `times` Git API requests get `429` with `Retry-After: retry_after_secs` and the
    /// `X-RateLimit-*` headers, as the service throttles an identity.
    pub fn throttle_requests(&self, times: u32, retry_after_secs: u64) {
        self.model().throttle = Some((times, retry_after_secs));
    }

    /// Adds (or with `None` stops adding) `X-RateLimit-*` headers to every Git API answer.
    pub fn set_rate_limit_headers(&self, headers: Option<RateLimitHeaders>) {
        self.model().rate_limit = headers;
    }

    fn rate_limited(&self, template: ResponseTemplate) -> ResponseTemplate {
        let Some(h) = self.model().rate_limit.clone() else {
            return template;
        };
        template
            .insert_header("x-ratelimit-resource", h.resource.as_str())
            .insert_header("x-ratelimit-delay", format!("{:.3}", h.delay_secs).as_str())
            .insert_header("x-ratelimit-limit", h.limit.to_string().as_str())
            .insert_header("x-ratelimit-remaining", h.remaining.to_string().as_str())
            .insert_header("x-ratelimit-reset", h.reset.to_string().as_str())
    }

    fn git_call(&self, op: Op, r: &FakeRequest<'_>) -> ResponseTemplate {
        let throttled = {
            let mut m = self.model();
            match m.throttle {
                Some((n, secs)) if n > 0 => {
                    m.throttle = Some((n - 1, secs));
                    Some(secs)
                }
                _ => None,
            }
        };
        if let Some(secs) = throttled {
            let reset = self.now().unix_timestamp() + i64::try_from(secs).unwrap_or(0);
            return ResponseTemplate::new(429)
                .insert_header("retry-after", secs.to_string().as_str())
                .insert_header("x-ratelimit-resource", "Core")
                .insert_header("x-ratelimit-delay", format!("{secs}.000").as_str())
                .insert_header("x-ratelimit-limit", "200")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str())
                .insert_header("content-type", "text/plain; charset=utf-8")
                .set_body_string("TF400733: The request has been throttled: the identity exceeded its resource usage limits. Retry after the delay in the Retry-After header.");
        }
        let answer = self.git_answer(op, r);
        self.rate_limited(answer)
    }

    fn git_answer(&self, op: Op, r: &FakeRequest<'_>) -> ResponseTemplate {
        let segments: Vec<String> = r
            .path()
            .trim_start_matches('/')
            .split('/')
            .map(decode)
            .collect();
        let org = segments.first().cloned().unwrap_or_default();
        let open = self.model().open;
        if open && r.bearer().is_some() {
            let project = if op == Op::ProjectGet {
                segments.get(3)
            } else {
                segments.get(1)
            };
            self.create_project(&org, project.map(String::as_str).unwrap_or_default());
        }
        if let Err(refused) = self.authenticate(r, &org) {
            return refused;
        }
        if api_version(r).is_none() {
            return wrapped_exception(
                400,
                "VssVersionNotSpecifiedException",
                "No api-version was supplied for the request. An api-version must be supplied.",
            );
        }
        if !self.model().orgs.contains_key(&key(&org)) {
            return wrapped_exception(
                404,
                "UnauthorizedRequestException",
                &format!("TF400813: The organization {org} was not found."),
            );
        }
        if op == Op::ProjectGet {
            let project = segments.get(3).cloned().unwrap_or_default();
            let m = self.model();
            return match m
                .orgs
                .get(&key(&org))
                .and_then(|o| o.projects.get(&key(&project)))
            {
                Some(p) => ResponseTemplate::new(200).set_body_json(json!({
                    "id": p.id, "name": p.name, "state": "wellFormed", "visibility": "private",
                    "url": format!("{}/{org}/_apis/projects/{}", r.origin(), p.id)
                })),
                None => project_not_found(&project),
            };
        }
        let project = segments.get(1).cloned().unwrap_or_default();
        let repo_name = segments.get(5).cloned().unwrap_or_default();
        let origin = r.origin();
        let now = self.now();
        let mut m = self.model();
        let interference = m.interference.clone();
        let counter = m.counter;
        let Some(p) = m
            .orgs
            .get_mut(&key(&org))
            .and_then(|o| o.projects.get_mut(&key(&project)))
        else {
            return project_not_found(&project);
        };
        let project_ref = json!({"id": p.id, "name": p.name, "state": "wellFormed",
            "url": format!("{origin}/{org}/_apis/projects/{}", p.id)});
        let describe = |repo: &Repo| {
            let mut v = json!({
                "id": repo.id, "name": repo.name,
                "url": format!("{origin}/{org}/{}/_apis/git/repositories/{}", p.name, repo.id),
                "project": project_ref,
                "size": 0,
                "remoteUrl": format!("https://dev.azure.com/{org}/{}/_git/{}", p.name, repo.name),
                "sshUrl": format!("git@ssh.dev.azure.com:v3/{org}/{}/{}", p.name, repo.name),
                "webUrl": format!("https://dev.azure.com/{org}/{}/_git/{}", p.name, repo.name),
                "isDisabled": false
            });
            if let Some(b) = &repo.default_branch {
                v["defaultBranch"] = json!(b);
            }
            v
        };
        match op {
            Op::RepoList => {
                let value: Vec<Value> = p.repos.values().map(describe).collect();
                return ResponseTemplate::new(200)
                    .set_body_json(json!({"count": value.len(), "value": value}));
            }
            Op::RepoCreate => {
                let Some(body) = r.json() else {
                    return wrapped_exception(
                        400,
                        "ArgumentNullException",
                        "Value cannot be null.\r\nParameter name: repositoryToCreate",
                    );
                };
                let name = body["name"].as_str().unwrap_or_default().to_string();
                // The project comes from the URL; a body naming another project is refused. (The service
                // takes a body without `project`, as the azure-devops Python client sends it.)
                if body.get("project").is_some_and(|v| !v.is_null())
                    && body["project"]["id"].as_str() != Some(p.id.as_str())
                {
                    return wrapped_exception(
                        400,
                        "ArgumentException",
                        "The project id in the body does not match the project of the URL.",
                    );
                }
                if name.is_empty() {
                    return wrapped_exception(
                        400,
                        "ArgumentNullException",
                        "Value cannot be null.\r\nParameter name: name",
                    );
                }
                if p.repos.contains_key(&key(&name)) {
                    return wrapped_exception(
                        409,
                        "GitRepositoryNameAlreadyExistsException",
                        &format!("TF400948: A Git repository with the name {name} already exists."),
                    );
                }
                let repo = Repo {
                    id: uuid::Uuid::new_v5(
                        &uuid::Uuid::NAMESPACE_URL,
                        format!("azflux-fake-devops/repo/{org}/{project}/{name}/{counter}")
                            .as_bytes(),
                    )
                    .to_string(),
                    name: name.clone(),
                    refs: BTreeMap::new(),
                    commits: BTreeMap::new(),
                    default_branch: None,
                };
                let answer = describe(&repo);
                p.repos.insert(key(&name), repo);
                return ResponseTemplate::new(201).set_body_json(answer);
            }
            _ => {}
        }
        let project_name = p.name.clone();
        let found = p
            .repos
            .values_mut()
            .find(|x| x.id == repo_name || key(&x.name) == key(&repo_name));
        let Some(repo) = found else {
            return repo_not_found(&repo_name);
        };
        match op {
            Op::RepoGet => ResponseTemplate::new(200).set_body_json(describe(repo)),
            Op::RepoDelete => {
                let id = repo.id.clone();
                p.repos.retain(|_, x| x.id != id);
                ResponseTemplate::new(204)
            }
            Op::Refs => {
                let filter = r.query("filter").unwrap_or_default();
                let value: Vec<Value> = repo
                    .refs
                    .iter()
                    .filter(|(n, _)| n.strip_prefix("refs/").is_some_and(|s| s.starts_with(&filter)))
                    .map(|(n, id)| json!({"name": n, "objectId": id,
                        "url": format!("{origin}/{org}/{project_name}/_apis/git/repositories/{}/refs?filter={}", repo.id, n.trim_start_matches("refs/"))}))
                    .collect();
                ResponseTemplate::new(200)
                    .set_body_json(json!({"value": value, "count": value.len()}))
            }
            Op::Items => items(r, repo),
            Op::Push => {
                let who = (org.clone(), project_name.clone());
                let ref_name = r
                    .json()
                    .and_then(|v| v["refUpdates"][0]["name"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                let ikey = interference_key(&org, &project_name, &repo.name, &ref_name);
                let mut remaining = None;
                if let Some(n) = interference.get(&ikey).copied().filter(|n| *n > 0) {
                    // Another client wins the race: its commit lands first.
                    let parent = repo.refs.get(&ref_name).cloned();
                    let mut tree = parent
                        .as_ref()
                        .and_then(|p| repo.commits.get(p))
                        .map(|c| c.tree.clone())
                        .unwrap_or_default();
                    tree.insert(
                        format!("concurrent/{n}.txt"),
                        format!("pushed by another client ({n})\n").into_bytes(),
                    );
                    let c = make_commit(
                        tree,
                        parent,
                        "Concurrent change",
                        "another client",
                        counter + 1_000_000 + u64::from(n),
                    );
                    repo.refs.insert(ref_name.clone(), c.id.clone());
                    repo.default_branch.get_or_insert(ref_name.clone());
                    repo.commits.insert(c.id.clone(), c);
                    remaining = Some(n - 1);
                }
                let pushed = push(r, repo, now, counter, &who, &origin);
                if let Some(rest) = remaining {
                    m.interference.insert(ikey, rest);
                }
                m.counter += 2;
                m.pushes += 1;
                pushed
            }
            Op::ProjectGet | Op::RepoList | Op::RepoCreate => ResponseTemplate::new(500),
        }
    }

    fn pat_call(&self, op: PatOp, r: &FakeRequest<'_>) -> ResponseTemplate {
        let org = r
            .path()
            .trim_start_matches('/')
            .split('/')
            .next()
            .map(decode)
            .unwrap_or_default();
        // PATs are not accepted here: an Entra ID token only.
        if self
            .cloud
            .entra()
            .verify_request(r, AZURE_DEVOPS_RESOURCE)
            .is_err()
        {
            return self.refuse();
        }
        if api_version(r).is_none() {
            return wrapped_exception(
                400,
                "VssVersionNotSpecifiedException",
                "No api-version was supplied for the request. An api-version must be supplied.",
            );
        }
        if self.model().open {
            self.create_org(&org);
        }
        let now = self.now();
        let mut m = self.model();
        let org_id = m
            .orgs
            .get(&key(&org))
            .map(|o| o.id.clone())
            .unwrap_or_default();
        let describe = |p: &FakePat, token: Option<&str>| {
            json!({
                "displayName": p.display_name,
                "validTo": now_text(p.valid_to),
                "scope": p.scope,
                "targetAccounts": [org_id],
                "validFrom": now_text(p.valid_from),
                "authorizationId": p.authorization_id,
                "token": token
            })
        };
        let error = |code: &str| {
            ResponseTemplate::new(200)
                .set_body_json(json!({"patToken": null, "patTokenError": code}))
        };
        match op {
            PatOp::Create => {
                let Some(body) = r
                    .json()
                    .and_then(|v| serde_json::from_value::<PatCreateRequest>(v).ok())
                else {
                    return wrapped_exception(
                        400,
                        "ArgumentNullException",
                        "Value cannot be null.\r\nParameter name: patTokenCreateRequest",
                    );
                };
                if !m.pat_create_errors.is_empty() {
                    let code = m.pat_create_errors.remove(0);
                    return error(&code);
                }
                if body.display_name.trim().is_empty() {
                    return error("displayNameRequired");
                }
                if body.scope.trim().is_empty() {
                    return error("invalidScope");
                }
                let Ok(valid_to) = OffsetDateTime::parse(&body.valid_to, &Rfc3339) else {
                    return error("invalidValidTo");
                };
                if valid_to <= now {
                    return error("invalidValidTo");
                }
                if valid_to > now + time::Duration::days(366) {
                    return error("patLifespanPolicyViolation");
                }
                if body.all_orgs {
                    return error("globalPatPolicyViolation");
                }
                let (id, token) =
                    Self::new_pat(&mut m, &org, &body.display_name, &body.scope, now, valid_to);
                let Some(p) = m.pats.iter().find(|p| p.authorization_id == id) else {
                    return ResponseTemplate::new(500);
                };
                ResponseTemplate::new(200).set_body_json(
                    json!({"patToken": describe(p, Some(&token)), "patTokenError": "none"}),
                )
            }
            PatOp::Get => {
                if let Some(id) = r.query("authorizationId") {
                    return match m
                        .pats
                        .iter()
                        .find(|p| p.authorization_id == id && p.organization == key(&org))
                    {
                        Some(p) => ResponseTemplate::new(200).set_body_json(
                            json!({"patToken": describe(p, None), "patTokenError": "none"}),
                        ),
                        None => error("authorizationNotFound"),
                    };
                }
                let filter = r
                    .query("displayFilterOption")
                    .unwrap_or_else(|| "active".into());
                let tokens: Vec<Value> = m
                    .pats
                    .iter()
                    .filter(|p| p.organization == key(&org))
                    .filter(|p| match filter.as_str() {
                        "revoked" => p.revoked,
                        "expired" => !p.revoked && p.valid_to <= now,
                        "all" => true,
                        _ => !p.revoked && p.valid_to > now,
                    })
                    .map(|p| describe(p, None))
                    .collect();
                let top = r
                    .query("$top")
                    .and_then(|t| t.parse::<usize>().ok())
                    .unwrap_or(100)
                    .clamp(1, 100)
                    .min(m.pat_page_size.unwrap_or(100));
                let start = r
                    .query("continuationToken")
                    .and_then(|t| t.parse::<usize>().ok())
                    .unwrap_or(0);
                let page: Vec<Value> = tokens.iter().skip(start).take(top).cloned().collect();
                let next = (start + top < tokens.len()).then(|| (start + top).to_string());
                ResponseTemplate::new(200)
                    .set_body_json(json!({"continuationToken": next, "patTokens": page}))
            }
            PatOp::Revoke => {
                let id = r.query("authorizationId").unwrap_or_default();
                match m
                    .pats
                    .iter_mut()
                    .find(|p| p.authorization_id == id && p.organization == key(&org))
                {
                    Some(p) => {
                        p.revoked = true;
                        ResponseTemplate::new(204)
                    }
                    None => wrapped_exception(
                        404,
                        "SessionTokenNotFoundException",
                        &format!("The authorization {id} was not found."),
                    ),
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    ProjectGet,
    RepoList,
    RepoCreate,
    RepoGet,
    RepoDelete,
    Refs,
    Items,
    Push,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatOp {
    Create,
    Get,
    Revoke,
}

fn interference_key(org: &str, project: &str, repo: &str, ref_name: &str) -> String {
    format!("{}/{}/{}/{ref_name}", key(org), key(project), key(repo))
}

fn tree_id(tree: &BTreeMap<String, Vec<u8>>) -> String {
    let mut text = Vec::new();
    for (path, content) in tree {
        text.extend_from_slice(path.as_bytes());
        text.push(0);
        text.extend_from_slice(sha1_hex(git2::ObjectType::Blob, content).as_bytes());
        text.push(b'\n');
    }
    sha1_hex(git2::ObjectType::Tree, &text)
}

fn make_commit(
    tree: BTreeMap<String, Vec<u8>>,
    parent: Option<String>,
    message: &str,
    author: &str,
    counter: u64,
) -> FakeCommit {
    let tree_id = tree_id(&tree);
    let parents: Vec<String> = parent.into_iter().collect();
    let text = format!(
        "tree {tree_id}\nparents {}\nauthor {author}\nserial {counter}\n\n{message}",
        parents.join(" ")
    );
    FakeCommit {
        id: sha1_hex(git2::ObjectType::Commit, text.as_bytes()),
        tree_id,
        parents,
        message: message.to_string(),
        author: author.to_string(),
        tree,
    }
}

#[allow(clippy::result_large_err)]
fn resolve<'r>(r: &FakeRequest<'_>, repo: &'r Repo) -> Result<&'r FakeCommit, ResponseTemplate> {
    let version = r.query("versionDescriptor.version");
    let kind = r
        .query("versionDescriptor.versionType")
        .unwrap_or_else(|| "branch".into())
        .to_lowercase();
    let unresolvable = |v: &str| {
        wrapped_exception(
            404,
            "GitUnresolvableToCommitException",
            &format!(
                "TF401175:The version descriptor <{kind}: {v} > could not be resolved to a version in the repository {}",
                repo.name
            ),
        )
    };
    let id = match (version.as_deref(), kind.as_str()) {
        (Some(v), "commit") => Some(v.to_lowercase()),
        (Some(v), _) => repo.refs.get(&format!("refs/heads/{v}")).cloned(),
        (None, _) => repo
            .default_branch
            .as_ref()
            .and_then(|b| repo.refs.get(b))
            .cloned(),
    };
    id.and_then(|id| repo.commits.get(&id))
        .ok_or_else(|| unresolvable(version.as_deref().unwrap_or("default")))
}

fn items(r: &FakeRequest<'_>, repo: &Repo) -> ResponseTemplate {
    let commit = match resolve(r, repo) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let item = |path: &str, content: &[u8]| {
        json!({"objectId": sha1_hex(git2::ObjectType::Blob, content), "gitObjectType": "blob",
            "commitId": commit.id, "path": format!("/{path}")})
    };
    if let Some(path) = r.query("path") {
        let rel = path.trim_start_matches('/');
        let Some(content) = commit.tree.get(rel) else {
            return wrapped_exception(
                404,
                "GitItemNotFoundException",
                &format!(
                    "TF401174: The item '{path}' could not be found in the repository '{}' at the version specified by '<Branch: {} >' (resolved to commit '{}').",
                    repo.name,
                    r.query("versionDescriptor.version").unwrap_or_default(),
                    commit.id
                ),
            );
        };
        let raw = r
            .query("$format")
            .is_some_and(|f| f.eq_ignore_ascii_case("octetStream"))
            || r.query("download").is_some_and(|d| d == "true")
            || r.header("accept")
                .is_some_and(|a| a.contains("octet-stream"));
        if raw {
            return ResponseTemplate::new(200)
                .insert_header("content-type", "application/octet-stream")
                .set_body_bytes(content.clone());
        }
        let mut v = item(rel, content);
        if r.query("includeContent").is_some_and(|i| i == "true") {
            v["content"] = json!(String::from_utf8_lossy(content));
        }
        return ResponseTemplate::new(200).set_body_json(v);
    }
    let scope = r.query("scopePath").unwrap_or_else(|| "/".into());
    let scope = scope.trim_matches('/');
    let full = r
        .query("recursionLevel")
        .is_some_and(|l| l.eq_ignore_ascii_case("full"));
    let mut value = vec![
        json!({"objectId": commit.tree_id, "gitObjectType": "tree", "commitId": commit.id,
        "path": format!("/{scope}"), "isFolder": true}),
    ];
    let mut folders = std::collections::BTreeSet::new();
    for (path, content) in &commit.tree {
        let inside = scope.is_empty() || path.starts_with(&format!("{scope}/")) || path == scope;
        if !inside {
            continue;
        }
        let depth_ok = full || !path[scope.len()..].trim_start_matches('/').contains('/');
        let mut dir = path.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if parent.len() > scope.len() {
                folders.insert(parent.to_string());
            }
            dir = parent;
        }
        if depth_ok {
            value.push(item(path, content));
        }
    }
    if full {
        for f in folders {
            value.push(json!({"objectId": sha1_hex(git2::ObjectType::Tree, f.as_bytes()), "gitObjectType": "tree",
                "commitId": commit.id, "path": format!("/{f}"), "isFolder": true}));
        }
    }
    ResponseTemplate::new(200).set_body_json(json!({"count": value.len(), "value": value}))
}

fn bad_push(type_key: &str, message: &str) -> ResponseTemplate {
    wrapped_exception(400, type_key, message)
}

fn push(
    r: &FakeRequest<'_>,
    repo: &mut Repo,
    now: OffsetDateTime,
    counter: u64,
    who: &(String, String),
    origin: &str,
) -> ResponseTemplate {
    let Some(body) = r
        .json()
        .and_then(|v| serde_json::from_value::<PushRequest>(v).ok())
    else {
        return bad_push("ArgumentException", "The push body is not a valid GitPush.");
    };
    let (Some(update), Some(commit)) = (body.ref_updates.first(), body.commits.first()) else {
        return bad_push(
            "ArgumentException",
            "A push needs one refUpdate and one commit.",
        );
    };
    if body.ref_updates.len() != 1 || body.commits.len() != 1 {
        return bad_push(
            "ArgumentException",
            "The fake supports pushes of one ref and one commit.",
        );
    }
    let current = repo
        .refs
        .get(&update.name)
        .cloned()
        .unwrap_or_else(|| ZERO_OBJECT_ID.to_string());
    if !current.eq_ignore_ascii_case(&update.old_object_id) {
        return wrapped_exception(
            409,
            "GitReferenceStaleException",
            &format!(
                "TF401028: The reference '{}' has already been updated by another client, so you cannot update it. Please try again.",
                update.name
            ),
        );
    }
    let parent = (current != ZERO_OBJECT_ID).then_some(current.clone());
    let mut tree = parent
        .as_ref()
        .and_then(|p| repo.commits.get(p))
        .map(|c| c.tree.clone())
        .unwrap_or_default();
    if commit.changes.is_empty() {
        return bad_push(
            "GitPushHasNoChangesException",
            "TF401023: The push has no changes.",
        );
    }
    for change in &commit.changes {
        let path = change.item.path.trim_start_matches('/').to_string();
        if path.is_empty() {
            return bad_push(
                "InvalidArgumentValueException",
                "The path of a change is empty.",
            );
        }
        let content = match &change.new_content {
            Some(c) => match c.content_type {
                ContentType::RawText => Some(c.content.clone().into_bytes()),
                ContentType::Base64Encoded => {
                    match base64::engine::general_purpose::STANDARD.decode(&c.content) {
                        Ok(b) => Some(b),
                        Err(_) => {
                            return bad_push(
                                "InvalidArgumentValueException",
                                &format!(
                                    "The content of {} is not valid base64.",
                                    change.item.path
                                ),
                            );
                        }
                    }
                }
            },
            None => None,
        };
        match change.change_type {
            ChangeType::Add => {
                if tree.contains_key(&path) {
                    return bad_push(
                        "GitItemAlreadyExistsException",
                        &format!("TF402455: The item {} already exists.", change.item.path),
                    );
                }
                let Some(c) = content else {
                    return bad_push("InvalidArgumentValueException", "An add needs newContent.");
                };
                tree.insert(path, c);
            }
            ChangeType::Edit => {
                if !tree.contains_key(&path) {
                    return bad_push(
                        "GitItemNotFoundException",
                        &format!(
                            "TF401174: The item '{}' could not be found in the repository.",
                            change.item.path
                        ),
                    );
                }
                let Some(c) = content else {
                    return bad_push("InvalidArgumentValueException", "An edit needs newContent.");
                };
                tree.insert(path, c);
            }
            ChangeType::Delete => {
                if tree.remove(&path).is_none() {
                    return bad_push(
                        "GitItemNotFoundException",
                        &format!(
                            "TF401174: The item '{}' could not be found in the repository.",
                            change.item.path
                        ),
                    );
                }
            }
        }
    }
    let author = commit
        .author
        .as_ref()
        .map(|a| format!("{} <{}>", a.name, a.email))
        .unwrap_or_else(|| "Fake Pusher <pusher@example.com>".into());
    let created = make_commit(tree, parent.clone(), &commit.comment, &author, counter + 1);
    let id = created.id.clone();
    let tree_id = created.tree_id.clone();
    repo.commits.insert(id.clone(), created);
    repo.refs.insert(update.name.clone(), id.clone());
    repo.default_branch.get_or_insert(update.name.clone());
    let date = now_text(now);
    let (org, project) = who;
    let repo_url = format!(
        "{origin}/{org}/{project}/_apis/git/repositories/{}",
        repo.id
    );
    ResponseTemplate::new(201).set_body_json(json!({
        "commits": [{
            "treeId": tree_id, "commitId": id,
            "author": {"name": commit.author.as_ref().map(|a| a.name.clone()), "email": commit.author.as_ref().map(|a| a.email.clone()), "date": date},
            "committer": {"name": commit.author.as_ref().map(|a| a.name.clone()), "email": commit.author.as_ref().map(|a| a.email.clone()), "date": date},
            "comment": commit.comment,
            "parents": parent.into_iter().collect::<Vec<_>>(),
            "url": format!("{repo_url}/commits/{id}")
        }],
        "refUpdates": [{"repositoryId": repo.id, "name": update.name, "oldObjectId": current, "newObjectId": id}],
        "pushId": counter + 1,
        "date": date,
        "url": format!("{repo_url}/pushes/{}", counter + 1)
    }))
}

#[async_trait::async_trait]
impl crate::contract::ContractServer for FakeDevOps {
    async fn empty_repository(&self, name: &str) -> RepoUrl {
        let n = {
            let mut m = self.model();
            m.counter += 1;
            m.counter
        };
        let url = RepoUrl::parse(&format!(
            "https://dev.azure.com/azflux/contract/_git/{name}-{n}"
        ));
        match url {
            Ok(url) => {
                self.create_repo(&url);
                url
            }
            // The name is the suite's own; a refused URL means the suite is wrong.
            Err(e) => unreachable_url(e),
        }
    }

    async fn commit_count(&self, repo: &RepoUrl, branch: &str) -> usize {
        FakeDevOps::commit_count(self, repo, branch)
    }

    async fn files(&self, repo: &RepoUrl, branch: &str) -> BTreeMap<String, Vec<u8>> {
        FakeDevOps::files(self, repo, branch).unwrap_or_default()
    }

    async fn interfere_with_next_pushes(&self, repo: &RepoUrl, branch: &str, times: u32) {
        self.interfere_with_pushes(repo, branch, times);
    }
}

#[allow(clippy::panic)]
fn unreachable_url(e: crate::url::UrlError) -> RepoUrl {
    panic!("the contract suite built an invalid repository URL: {e}")
}

/// The api-version of a request: the `api-version` query parameter, or the `api-version` parameter of
/// `Accept` (`application/json;api-version=7.1-preview.1`), which Azure DevOps accepts as well and the
/// official clients send.
fn api_version(r: &FakeRequest<'_>) -> Option<String> {
    r.query("api-version").or_else(|| {
        r.header("accept")?.split([';', ',']).find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            (k.trim().eq_ignore_ascii_case("api-version") && !v.trim().is_empty())
                .then(|| v.trim().to_owned())
        })
    })
}
