//! PlainGitHost against a real `git http-backend` behind lighttpd (basic and bearer auth).

use std::sync::Arc;
use std::time::Duration;

use devops_git::{
    Author, BasicAuth, BearerToken, CommitOutcome, CommitRequest, Error, GitCredentials, GitHost,
    PlainGitHost, RepoUrl, RetryPolicy,
};
use secrecy::SecretString;

use crate::support::{git, http_server, log, show};

fn author() -> Author {
    Author::new("Flux", "flux@example.com")
}

fn basic(server: &crate::support::HttpServer) -> GitCredentials {
    GitCredentials::Basic(BasicAuth::password(
        server.user.clone(),
        SecretString::from(server.password.clone()),
    ))
}

fn no_wait() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
    }
}

#[tokio::test]
async fn push_to_empty_repo_then_identical_push_creates_no_commit() {
    let Some(server) = http_server() else { return };
    let (bare, rel) = server.new_repo("empty");
    let url = server.basic_url(&rel);
    let host = PlainGitHost::new(basic(server)).unwrap();

    let info = host.ensure_repository(&url).await.unwrap();
    assert!(info.is_empty(), "{info:?}");
    assert_eq!(info.default_branch, None);
    assert_eq!(host.read_file(&url, "main", "a.txt").await.unwrap(), None);

    let req = CommitRequest::new("main", "Add Flux sync manifests", author())
        .file(
            "clusters/my-cluster/flux-system/gotk-sync.yaml",
            "kind: GitRepository\n",
        )
        .file(
            "clusters/my-cluster/flux-system/kustomization.yaml",
            "resources: []\n",
        );
    let first = host.commit(&url, &req).await.unwrap();
    let CommitOutcome::Committed { commit, retries } = &first else {
        panic!("expected a commit, got {first:?}");
    };
    assert_eq!(*retries, 0);
    // the git CLI sees exactly this commit, message and author
    let history = log(&bare, "main");
    assert_eq!(history, [format!("{commit} Add Flux sync manifests")]);
    let who = git(
        &[
            "--git-dir",
            bare.to_str().unwrap(),
            "log",
            "-1",
            "--format=%an <%ae>",
            "main",
        ],
        None,
    );
    assert_eq!(who, "Flux <flux@example.com>");
    assert_eq!(
        show(
            &bare,
            "main",
            "clusters/my-cluster/flux-system/gotk-sync.yaml"
        ),
        "kind: GitRepository"
    );

    // second identical push: no commit
    let second = host.commit(&url, &req).await.unwrap();
    assert_eq!(
        second,
        CommitOutcome::NoChange {
            head: Some(commit.clone())
        }
    );
    assert_eq!(log(&bare, "main").len(), 1);

    // a fresh host (fresh cache) sees the same and also makes no commit
    let other = PlainGitHost::new(basic(server)).unwrap();
    assert_eq!(
        other.commit(&url, &req).await.unwrap(),
        CommitOutcome::NoChange {
            head: Some(commit.clone())
        }
    );
    assert_eq!(
        other
            .read_file(
                &url,
                "main",
                "clusters/my-cluster/flux-system/kustomization.yaml"
            )
            .await
            .unwrap()
            .as_deref(),
        Some(&b"resources: []\n"[..])
    );
    let info = other.ensure_repository(&url).await.unwrap();
    assert_eq!(info.branches.get("main"), Some(commit));
    assert_eq!(info.default_branch.as_deref(), Some("main"));
}

#[tokio::test]
async fn updates_and_deletions_keep_other_files() {
    let Some(server) = http_server() else { return };
    let (bare, rel) = server.new_repo("update");
    let url = server.basic_url(&rel);
    let host = PlainGitHost::new(basic(server)).unwrap();
    host.commit(
        &url,
        &CommitRequest::new("main", "one", author())
            .file("a/one.yaml", "1\n")
            .file("a/two.yaml", "2\n")
            .file("keep.txt", "k\n"),
    )
    .await
    .unwrap();
    let out = host
        .commit(
            &url,
            &CommitRequest::new("main", "two", author())
                .file("a/one.yaml", "one\n")
                .delete("a/two.yaml")
                .delete("never-existed.txt"),
        )
        .await
        .unwrap();
    assert!(matches!(out, CommitOutcome::Committed { .. }), "{out:?}");
    let files = git(
        &[
            "--git-dir",
            bare.to_str().unwrap(),
            "ls-tree",
            "-r",
            "--name-only",
            "main",
        ],
        None,
    );
    assert_eq!(files, "a/one.yaml\nkeep.txt");
    assert_eq!(show(&bare, "main", "a/one.yaml"), "one");
    assert_eq!(
        host.read_file(&url, "main", "a/two.yaml").await.unwrap(),
        None
    );
    assert_eq!(
        host.read_file(&url, "other", "keep.txt").await.unwrap(),
        None
    );
    // a new branch starts from nothing (no tip on that branch)
    let out = host
        .commit(
            &url,
            &CommitRequest::new("feature/x", "x", author()).file("x", "x"),
        )
        .await
        .unwrap();
    assert!(matches!(out, CommitOutcome::Committed { .. }));
    assert_eq!(log(&bare, "feature/x").len(), 1);
}

#[tokio::test]
async fn wrong_pat_is_a_clear_auth_error_without_the_secret() {
    let Some(server) = http_server() else { return };
    let (_bare, rel) = server.new_repo("auth");
    let url = server.basic_url(&rel);
    let wrong = "wrong-pat-0000000000000000000000";
    let host = PlainGitHost::new(GitCredentials::Basic(BasicAuth::pat(SecretString::from(
        wrong,
    ))))
    .unwrap();
    for err in [
        host.ensure_repository(&url).await.unwrap_err(),
        host.commit(
            &url,
            &CommitRequest::new("main", "m", author()).file("f", "x"),
        )
        .await
        .unwrap_err(),
    ] {
        let text = err.to_string();
        assert!(matches!(err, Error::Auth { .. }), "{err:?}");
        assert_eq!(
            text,
            format!(
                "authentication to {url} failed with the PAT/password (basic) credential: the server refused the PAT or password for user \"git\"; check that the PAT is valid, not expired and has the Code (Read & Write) scope on this organization, then pass a new one (e.g. GIT_PASSWORD)"
            )
        );
        assert!(!text.contains(wrong) && !format!("{err:?}").contains(wrong));
    }
    // anonymous access is refused the same way
    let anon = PlainGitHost::new(GitCredentials::Anonymous).unwrap();
    let err = anon.ensure_repository(&url).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                method: "anonymous",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn bearer_token_is_sent_as_authorization_header() {
    let Some(server) = http_server() else { return };
    let (bare, rel) = server.new_repo("bearer");
    let url = server.bearer_url(&rel);
    let host = PlainGitHost::new(GitCredentials::Bearer(BearerToken::new(
        SecretString::from(server.token.clone()),
    )))
    .unwrap();
    let out = host
        .commit(
            &url,
            &CommitRequest::new("main", "bearer", author()).file("b.txt", "b\n"),
        )
        .await
        .unwrap();
    assert_eq!(log(&bare, "main").len(), 1, "{out:?}");

    let bad = PlainGitHost::new(GitCredentials::Bearer(BearerToken::new(
        SecretString::from("not-the-token"),
    )))
    .unwrap();
    let err = bad.ensure_repository(&url).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                method: "bearer token",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("not-the-token"));
}

#[tokio::test]
async fn missing_repository_is_not_found() {
    let Some(server) = http_server() else { return };
    let url = server.basic_url("org/project/_git/does-not-exist");
    let host = PlainGitHost::new(basic(server)).unwrap();
    let err = host.ensure_repository(&url).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("repository {url} was not found")),
        "{err}"
    );
}

#[tokio::test]
async fn unreachable_server_is_a_network_error() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = RepoUrl::parse(&format!("http://127.0.0.1:{port}/org/project/_git/r")).unwrap();
    let host = PlainGitHost::new(GitCredentials::Anonymous).unwrap();
    let err = host.ensure_repository(&url).await.unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err:?}");
}

#[tokio::test]
async fn a_plaintext_secret_is_never_pushed() {
    let Some(server) = http_server() else { return };
    let (bare, rel) = server.new_repo("guard");
    let url = server.basic_url(&rel);
    let host = PlainGitHost::new(basic(server)).unwrap();
    let req = CommitRequest::new("main", "oops", author())
        .file("ok.yaml", "kind: ConfigMap\n")
        .file(
            "flux-system/secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: flux-system\nstringData:\n  password: pat\n",
        );
    let err = host.commit(&url, &req).await.unwrap_err();
    assert!(matches!(err, Error::PlaintextSecret { .. }), "{err:?}");
    let heads = git(
        &[
            "--git-dir",
            bare.to_str().unwrap(),
            "for-each-ref",
            "refs/heads",
        ],
        None,
    );
    assert_eq!(heads, "", "nothing was pushed");
}

/// Pushes a commit adding `path` to `main` with the git CLI (a concurrent writer).
fn cli_push(server: &crate::support::HttpServer, rel: &str, path: &str) {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("w");
    let cli_url = server.cli_url(rel);
    git(&["clone", "-q", &cli_url, work.to_str().unwrap()], None);
    std::fs::write(work.join(path), format!("{path}\n")).unwrap();
    git(&["add", path], Some(&work));
    git(
        &[
            "-c",
            "user.name=Other",
            "-c",
            "user.email=o@example.com",
            "commit",
            "-q",
            "-m",
            &format!("other {path}"),
        ],
        Some(&work),
    );
    git(&["push", "-q", "origin", "HEAD:main"], Some(&work));
}

#[tokio::test]
async fn a_concurrent_push_is_retried_on_the_new_tip() {
    let Some(server) = http_server() else { return };
    let (bare, rel) = server.new_repo("race");
    let url = server.basic_url(&rel);
    let seed = PlainGitHost::new(basic(server)).unwrap();
    seed.commit(
        &url,
        &CommitRequest::new("main", "seed", author()).file("seed", "s"),
    )
    .await
    .unwrap();

    // Another writer pushes right after our fetch, before our first push.
    let rel_for_hook = rel.clone();
    let hook = Arc::new(move |attempt: u32| {
        if attempt == 1 {
            cli_push(http_server().unwrap(), &rel_for_hook, "theirs.txt");
        }
    });
    let host = PlainGitHost::new(basic(server))
        .unwrap()
        .with_retry(no_wait())
        .with_before_push(hook);
    let out = host
        .commit(
            &url,
            &CommitRequest::new("main", "ours", author()).file("ours.txt", "o"),
        )
        .await
        .unwrap();
    let CommitOutcome::Committed { commit, retries } = out else {
        panic!("expected a commit, got {out:?}");
    };
    assert_eq!(retries, 1);
    let subjects: Vec<String> = log(&bare, "main")
        .iter()
        .map(|l| l.split_once(' ').unwrap().1.to_string())
        .collect();
    assert_eq!(subjects, ["ours", "other theirs.txt", "seed"]);
    assert!(log(&bare, "main")[0].starts_with(&commit.0));
    let files = git(
        &[
            "--git-dir",
            bare.to_str().unwrap(),
            "ls-tree",
            "--name-only",
            "main",
        ],
        None,
    );
    assert_eq!(files, "ours.txt\nseed\ntheirs.txt");
}

#[tokio::test]
async fn retries_are_bounded() {
    let Some(server) = http_server() else { return };
    let (bare, rel) = server.new_repo("exhaust");
    let url = server.basic_url(&rel);
    PlainGitHost::new(basic(server))
        .unwrap()
        .commit(
            &url,
            &CommitRequest::new("main", "seed", author()).file("seed", "s"),
        )
        .await
        .unwrap();
    let rel_for_hook = rel.clone();
    let hook = Arc::new(move |attempt: u32| {
        cli_push(
            http_server().unwrap(),
            &rel_for_hook,
            &format!("theirs-{attempt}"),
        );
    });
    let host = PlainGitHost::new(basic(server))
        .unwrap()
        .with_retry(RetryPolicy {
            max_attempts: 3,
            ..no_wait()
        })
        .with_before_push(hook);
    let err = host
        .commit(
            &url,
            &CommitRequest::new("main", "ours", author()).file("ours", "o"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::NonFastForwardExhausted { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "pushing to branch main of {url} was rejected as non-fast-forward 3 times (someone else keeps pushing): retry later"
        )
    );
    assert_eq!(
        log(&bare, "main").len(),
        4,
        "seed + three competing commits, none of ours"
    );
}

#[tokio::test]
async fn concurrent_hosts_converge() {
    let Some(server) = http_server() else { return };
    let (bare, rel) = server.new_repo("converge");
    let url = server.basic_url(&rel);
    let hosts: Vec<PlainGitHost> = (0..4)
        .map(|_| {
            PlainGitHost::new(basic(server))
                .unwrap()
                .with_retry(RetryPolicy {
                    max_attempts: 20,
                    ..no_wait()
                })
        })
        .collect();
    let futures = hosts.iter().enumerate().map(|(i, h)| {
        let url = url.clone();
        async move {
            h.commit(
                &url,
                &CommitRequest::new("main", format!("writer {i}"), author())
                    .file(format!("w{i}"), "x"),
            )
            .await
        }
    });
    let results = futures::future::join_all(futures).await;
    for r in &results {
        assert!(matches!(r, Ok(CommitOutcome::Committed { .. })), "{r:?}");
    }
    assert_eq!(
        log(&bare, "main").len(),
        4,
        "one commit per writer, linear history"
    );
    let files = git(
        &[
            "--git-dir",
            bare.to_str().unwrap(),
            "ls-tree",
            "--name-only",
            "main",
        ],
        None,
    );
    assert_eq!(files, "w0\nw1\nw2\nw3");
    // the history is linear: every commit has at most one parent
    let merges = git(
        &[
            "--git-dir",
            bare.to_str().unwrap(),
            "rev-list",
            "--merges",
            "--count",
            "main",
        ],
        None,
    );
    assert_eq!(merges, "0");
}

#[tokio::test]
async fn a_push_refused_by_a_server_hook_is_rejected_not_retried() {
    let Some(server) = http_server() else { return };
    let (bare, rel) = server.new_repo("hook");
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'branch policy: reviews required' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let url = server.basic_url(&rel);
    let host = PlainGitHost::new(basic(server))
        .unwrap()
        .with_retry(no_wait());
    let err = host
        .commit(
            &url,
            &CommitRequest::new("main", "m", author()).file("f", "x"),
        )
        .await
        .unwrap_err();
    let Error::Rejected { branch, reason, .. } = &err else {
        panic!("expected a rejection, got {err:?}");
    };
    assert_eq!(branch, "main");
    assert!(reason.contains("pre-receive hook declined"), "{reason}");
}

/// More than 1 MiB in one push (lighttpd needs `server.stream-request-body = 0` for this).
#[tokio::test]
async fn a_push_larger_than_one_mebibyte_goes_through() {
    let Some(server) = http_server() else { return };
    let (bare, rel) = server.new_repo("large");
    let url = server.basic_url(&rel);
    // xorshift bytes: incompressible, deterministic
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let data: Vec<u8> = (0..3 * 1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let host = PlainGitHost::new(basic(server)).unwrap();
    host.commit(
        &url,
        &CommitRequest::new("main", "big", author()).file("big.bin", data.clone()),
    )
    .await
    .unwrap();
    let size = git(
        &[
            "--git-dir",
            bare.to_str().unwrap(),
            "cat-file",
            "-s",
            "main:big.bin",
        ],
        None,
    );
    assert_eq!(size, data.len().to_string());
    let fresh = PlainGitHost::new(basic(server)).unwrap();
    assert_eq!(
        fresh.read_file(&url, "main", "big.bin").await.unwrap(),
        Some(data)
    );
}

/// A git server answering every request with a redirect to another server (`localhost` instead of
/// `127.0.0.1` when `other_host`, else the same host on another port), which challenges for Basic
/// auth and records what it receives.
#[cfg(feature = "fake")]
async fn redirect_to_other_server(
    credentials: GitCredentials,
    other_host: bool,
) -> (Error, Vec<wiremock::Request>) {
    use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};
    let repo = MockServer::start().await;
    let other = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(401).insert_header("www-authenticate", "Basic realm=\"x\""),
        )
        .mount(&other)
        .await;
    let other_uri = if other_host {
        format!("http://localhost:{}", other.address().port())
    } else {
        other.uri()
    };
    Mock::given(any())
        .respond_with(move |req: &wiremock::Request| {
            let target = format!(
                "{other_uri}{}?{}",
                req.url.path(),
                req.url.query().unwrap_or_default()
            );
            ResponseTemplate::new(302).insert_header("location", target.as_str())
        })
        .mount(&repo)
        .await;
    let url = RepoUrl::parse(&format!("{}/org/repo.git", repo.uri())).unwrap();
    let host = PlainGitHost::new(credentials).unwrap();
    let err = host.ensure_repository(&url).await.unwrap_err();
    (err, other.received_requests().await.unwrap_or_default())
}

#[cfg(feature = "fake")]
#[tokio::test]
async fn credentials_never_follow_a_redirect_to_another_server() {
    let basic = || {
        GitCredentials::Basic(BasicAuth::password(
            "git",
            SecretString::from("s3cr3t-pat".to_string()),
        ))
    };
    let bearer = GitCredentials::Bearer(BearerToken::new(SecretString::from(
        "s3cr3t-token".to_string(),
    )));
    // The bearer header goes with every request libgit2 sends: only a redirect to another host
    // can be refused for it.
    for (credentials, other_host) in [(basic(), true), (basic(), false), (bearer, true)] {
        let method = credentials.method();
        let (err, seen) = redirect_to_other_server(credentials, other_host).await;
        for req in &seen {
            assert!(
                !req.headers.contains_key("authorization"),
                "{method} (other host: {other_host}): the other server got {req:?}"
            );
        }
        let text = err.to_string();
        assert!(!text.contains("s3cr3t"), "{text}");
    }
}
