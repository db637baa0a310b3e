//! The same contract suite the REST host passes against the fake, run against PlainGitHost and
//! a real `git http-backend` (skipped outside CI when the server cannot start; see support.rs).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use devops_git::contract::{self, ContractServer};
use devops_git::{BasicAuth, GitCredentials, PlainGitHost, RepoUrl, RetryPolicy};
use secrecy::SecretString;

use crate::support::{HttpServer, git, http_server};

struct GitHttpBackend {
    server: &'static HttpServer,
    repos: Mutex<HashMap<String, (PathBuf, String)>>,
    /// (repository path under the server, pushes still to interfere with)
    interfere: Arc<Mutex<Option<(String, u32)>>>,
}

fn other_client_push(server: &HttpServer, rel: &str, n: u32) {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("w");
    git(
        &["clone", "-q", &server.cli_url(rel), work.to_str().unwrap()],
        None,
    );
    let name = format!("concurrent/{n}.txt");
    std::fs::create_dir_all(work.join("concurrent")).unwrap();
    std::fs::write(work.join(&name), "theirs\n").unwrap();
    git(&["add", &name], Some(&work));
    git(
        &[
            "-c",
            "user.name=Other",
            "-c",
            "user.email=o@example.com",
            "commit",
            "-q",
            "-m",
            "theirs",
        ],
        Some(&work),
    );
    git(&["push", "-q", "origin", "HEAD:main"], Some(&work));
}

impl GitHttpBackend {
    fn dir(&self, repo: &RepoUrl) -> PathBuf {
        self.repos.lock().unwrap()[repo.as_str()].0.clone()
    }
}

#[async_trait]
impl ContractServer for GitHttpBackend {
    async fn empty_repository(&self, name: &str) -> RepoUrl {
        let (dir, rel) = self.server.new_repo(name);
        let url = self.server.basic_url(&rel);
        self.repos
            .lock()
            .unwrap()
            .insert(url.as_str().to_string(), (dir, rel));
        url
    }

    async fn commit_count(&self, repo: &RepoUrl, branch: &str) -> usize {
        let Ok(bare) = git2::Repository::open_bare(self.dir(repo)) else {
            return 0;
        };
        let Ok(tip) = bare.revparse_single(&format!("refs/heads/{branch}")) else {
            return 0;
        };
        let mut walk = bare.revwalk().unwrap();
        walk.simplify_first_parent().unwrap();
        walk.push(tip.id()).unwrap();
        walk.count()
    }

    async fn files(&self, repo: &RepoUrl, branch: &str) -> BTreeMap<String, Vec<u8>> {
        let bare = git2::Repository::open_bare(self.dir(repo)).unwrap();
        let mut out = BTreeMap::new();
        let Ok(commit) = bare.revparse_single(&format!("refs/heads/{branch}^{{commit}}")) else {
            return out;
        };
        let tree = commit.peel_to_tree().unwrap();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob) {
                let blob = bare.find_blob(entry.id()).unwrap();
                out.insert(
                    format!("{dir}{}", entry.name().unwrap()),
                    blob.content().to_vec(),
                );
            }
            git2::TreeWalkResult::Ok
        })
        .unwrap();
        out
    }

    async fn interfere_with_next_pushes(&self, repo: &RepoUrl, _branch: &str, times: u32) {
        let rel = self.repos.lock().unwrap()[repo.as_str()].1.clone();
        *self.interfere.lock().unwrap() = Some((rel, times));
    }
}

#[tokio::test]
async fn contract_suite_passes_against_git_http_backend() {
    let Some(server) = http_server() else { return };
    let backend = GitHttpBackend {
        server,
        repos: Mutex::default(),
        interfere: Arc::default(),
    };
    let pending = backend.interfere.clone();
    let hook = Arc::new(move |_attempt: u32| {
        let mut slot = pending.lock().unwrap();
        if let Some((rel, left)) = slot.as_mut()
            && *left > 0
        {
            other_client_push(http_server().unwrap(), rel, *left);
            *left -= 1;
        }
    });
    let credentials = GitCredentials::Basic(BasicAuth::password(
        server.user.clone(),
        SecretString::from(server.password.clone()),
    ));
    let host = PlainGitHost::new(credentials)
        .unwrap()
        .with_retry(RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        })
        .with_before_push(hook);
    let passed = contract::run_all(&host, &backend).await.unwrap();
    assert_eq!(passed, contract::CASES.len());
}
