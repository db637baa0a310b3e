//! DevOpsRestHost against the fake Azure DevOps (FakeDevOps on the fake cloud): the shared
//! contract suite, and what only the REST host does (create repositories, auth failures, 429).

use std::sync::Arc;
use std::time::Duration;

use azflux_core::fake::FakeCloud;
use azflux_core::fake::faults::{Fault, FaultMatch};
use devops_git::client::RateLimit;
use devops_git::contract::{self, ContractServer};
use devops_git::fake::{AuthFailureMode, FakeDevOps, RateLimitHeaders};
use devops_git::{
    Author, CommitOutcome, CommitRequest, DevOpsRestHost, Error, GitHost, RepoUrl, RetryPolicy,
};
use secrecy::{ExposeSecret, SecretString};

pub struct Env {
    pub cloud: FakeCloud,
    pub fake: FakeDevOps,
    pub pat_id: String,
    pub pat: SecretString,
}

pub async fn env() -> Env {
    let cloud = FakeCloud::start().await;
    let fake = FakeDevOps::mount(&cloud).await;
    fake.create_project("azflux", "contract");
    let (pat_id, pat) = fake.issue_pat("azflux", "bootstrap", Duration::from_secs(30 * 86_400));
    Env {
        cloud,
        fake,
        pat_id,
        pat,
    }
}

fn no_wait() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(2),
    }
}

fn author() -> Author {
    Author::new("Flux", "flux@example.com")
}

fn url(s: &str) -> RepoUrl {
    RepoUrl::parse(s).unwrap()
}

#[tokio::test]
async fn contract_suite_passes_with_a_pat() {
    let env = env().await;
    let host =
        DevOpsRestHost::with_pat(&env.cloud.http_options(), env.pat.clone()).with_retry(no_wait());
    let passed = contract::run_all(&host, &env.fake).await.unwrap();
    assert_eq!(passed, contract::CASES.len());
    // The race case slept on the cloud's manual clock, not in real time.
    let clock = env.cloud.manual_clock().unwrap();
    assert!(
        clock
            .sleeps()
            .iter()
            .any(|d| *d >= Duration::from_millis(100))
    );
}

#[tokio::test]
async fn contract_suite_passes_with_an_entra_token() {
    let env = env().await;
    let credential = env.cloud.credential().unwrap();
    let host =
        DevOpsRestHost::with_entra(&env.cloud.http_options(), &env.cloud.cloud(), credential)
            .with_retry(no_wait());
    contract::run_all(&host, &env.fake).await.unwrap();
}

#[tokio::test]
async fn the_push_uses_add_edit_delete_and_no_push_is_sent_when_identical() {
    let env = env().await;
    let host = DevOpsRestHost::with_pat(&env.cloud.http_options(), env.pat.clone());
    let repo = env.fake.empty_repository("pushes").await;
    let req = CommitRequest::new("main", "one", author())
        .file("a.txt", "a")
        .file("b.txt", "b");
    host.commit(&repo, &req).await.unwrap();
    assert_eq!(env.cloud.request_count("devops.pushes.create"), 1);
    host.commit(&repo, &req).await.unwrap();
    host.commit(&repo, &req.clone().delete("zzz"))
        .await
        .unwrap();
    assert_eq!(
        env.cloud.request_count("devops.pushes.create"),
        1,
        "identical content must not be pushed"
    );
    let log = env.fake.log(&repo, "main");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].message, "one");
    assert_eq!(log[0].author, "Flux <flux@example.com>");
    assert!(log[0].parents.is_empty());
    // The fake refuses `add` of an existing path and `edit` of a missing one, so a passing edit
    // proves the host chose edit/add/delete from what exists.
    let out = host
        .commit(
            &repo,
            &CommitRequest::new("main", "two", author())
                .file("a.txt", "A")
                .file("c.txt", "c")
                .delete("b.txt"),
        )
        .await
        .unwrap();
    let log = env.fake.log(&repo, "main");
    assert_eq!(log.len(), 2);
    assert_eq!(out.head().unwrap().0, log[0].id);
    assert_eq!(log[0].parents, [log[1].id.clone()]);
    assert_eq!(
        env.fake
            .files(&repo, "main")
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["a.txt", "c.txt"]
    );
}

#[tokio::test]
async fn a_new_branch_starts_from_nothing_and_the_default_branch_is_reported() {
    let env = env().await;
    let host = DevOpsRestHost::with_pat(&env.cloud.http_options(), env.pat.clone());
    let repo = env.fake.empty_repository("branches").await;
    host.commit(
        &repo,
        &CommitRequest::new("main", "m", author()).file("m.txt", "m"),
    )
    .await
    .unwrap();
    host.commit(
        &repo,
        &CommitRequest::new("feature/x", "f", author()).file("f.txt", "f"),
    )
    .await
    .unwrap();
    let info = host.ensure_repository(&repo).await.unwrap();
    assert_eq!(info.default_branch.as_deref(), Some("main"));
    assert_eq!(
        info.branches.keys().collect::<Vec<_>>(),
        ["feature/x", "main"]
    );
    assert_eq!(
        env.fake
            .files(&repo, "feature/x")
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["f.txt"]
    );
    assert_eq!(
        host.read_file(&repo, "feature/x", "m.txt").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn ensure_repository_creates_a_missing_repository_with_the_project_id() {
    let env = env().await;
    let host = DevOpsRestHost::with_pat(&env.cloud.http_options(), env.pat.clone());
    let repo = url("https://dev.azure.com/azflux/contract/_git/fleet-infra");
    assert!(host.get_repository(&repo).await.unwrap().is_none());
    let info = host.ensure_repository(&repo).await.unwrap();
    assert!(info.created);
    assert!(info.is_empty());
    assert_eq!(info.default_branch, None);
    assert_eq!(env.cloud.request_count("devops.repositories.create"), 1);
    let again = host.ensure_repository(&repo).await.unwrap();
    assert!(!again.created);
    assert_eq!(env.cloud.request_count("devops.repositories.create"), 1);
    // And it can be pushed to at once.
    host.commit(
        &repo,
        &CommitRequest::new("main", "init", author()).file("README.md", "# fleet\n"),
    )
    .await
    .unwrap();
    assert_eq!(env.fake.commit_count(&repo, "main"), 1);
}

#[tokio::test]
async fn a_missing_project_is_not_found_and_names_the_project() {
    let env = env().await;
    let host = DevOpsRestHost::with_pat(&env.cloud.http_options(), env.pat.clone());
    let repo = url("https://dev.azure.com/azflux/no-such-project/_git/r");
    let err = host.ensure_repository(&repo).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-project"), "{err}");
    let err = host
        .read_file(
            &url("https://dev.azure.com/azflux/contract/_git/missing"),
            "main",
            "a",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

async fn assert_auth_error(host: &DevOpsRestHost, repo: &RepoUrl, secret: &str) {
    for err in [
        host.ensure_repository(repo).await.unwrap_err(),
        host.commit(
            repo,
            &CommitRequest::new("main", "m", author()).file("a", "a"),
        )
        .await
        .unwrap_err(),
        host.read_file(repo, "main", "a").await.unwrap_err(),
    ] {
        assert!(matches!(err, Error::Auth { .. }), "{err:?}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains(secret), "the secret leaked: {text}");
        assert!(text.contains("PAT"), "{text}");
        assert!(
            text.contains("dev.azure.com/azflux/contract/_git/"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_wrong_pat_is_a_clear_auth_error_without_the_pat_for_401_and_the_sign_in_page() {
    let env = env().await;
    let repo = env.fake.empty_repository("auth").await;
    let wrong = "wrong-pat-0123456789abcdef";
    let host = DevOpsRestHost::with_pat(&env.cloud.http_options(), SecretString::from(wrong));
    assert_auth_error(&host, &repo, wrong).await;
    env.fake.set_auth_failure_mode(AuthFailureMode::SignInPage);
    assert_auth_error(&host, &repo, wrong).await;
    assert_eq!(env.fake.commit_count(&repo, "main"), 0);
}

#[tokio::test]
async fn an_expired_or_revoked_pat_is_refused() {
    let env = env().await;
    let repo = env.fake.empty_repository("expiry").await;
    let (_, short) = env
        .fake
        .issue_pat("azflux", "short", Duration::from_secs(3600));
    let host = DevOpsRestHost::with_pat(&env.cloud.http_options(), short.clone());
    host.ensure_repository(&repo).await.unwrap();
    env.cloud
        .manual_clock()
        .unwrap()
        .advance(Duration::from_secs(3601));
    assert_auth_error(&host, &repo, short.expose_secret()).await;
    // A PAT for another organization is refused too.
    let (_, other) = env
        .fake
        .issue_pat("other-org", "other", Duration::from_secs(86_400));
    let host = DevOpsRestHost::with_pat(&env.cloud.http_options(), other.clone());
    assert_auth_error(&host, &repo, other.expose_secret()).await;
}

#[tokio::test]
async fn throttled_requests_are_retried_after_retry_after() {
    let env = env().await;
    let host = DevOpsRestHost::with_pat(&env.cloud.http_options(), env.pat.clone());
    let repo = env.fake.empty_repository("throttle").await;
    env.cloud.faults().inject(
        FaultMatch::path("/pushes").method("POST"),
        Fault::throttle(7),
        2,
    );
    env.cloud.faults().inject(
        FaultMatch::path("/refs").method("GET"),
        Fault::throttle(3),
        1,
    );
    let out = host
        .commit(
            &repo,
            &CommitRequest::new("main", "m", author()).file("a.txt", "a"),
        )
        .await
        .unwrap();
    assert!(
        matches!(out, CommitOutcome::Committed { retries: 0, .. }),
        "{out:?}"
    );
    assert_eq!(env.cloud.request_count("devops.pushes.create"), 3);
    assert_eq!(env.fake.commit_count(&repo, "main"), 1);
    let sleeps = env.cloud.manual_clock().unwrap().sleeps();
    assert_eq!(
        sleeps
            .iter()
            .filter(|d| **d == Duration::from_secs(7))
            .count(),
        2,
        "{sleeps:?}"
    );
    assert!(sleeps.contains(&Duration::from_secs(3)), "{sleeps:?}");
}

#[tokio::test]
async fn throttling_past_the_retry_budget_is_a_throttled_error() {
    let env = env().await;
    let host = DevOpsRestHost::with_pat(&env.cloud.http_options(), env.pat.clone());
    let repo = env.fake.empty_repository("throttle-forever").await;
    env.cloud
        .faults()
        .inject(FaultMatch::path("/refs"), Fault::throttle(1), 50);
    let err = host.ensure_repository(&repo).await.unwrap_err();
    let Error::Azure(inner) = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(inner, azflux_core::Error::Throttled(_)),
        "{inner:?}"
    );
}

#[tokio::test]
async fn a_race_lost_every_time_is_bounded() {
    let env = env().await;
    let host = DevOpsRestHost::with_pat(&env.cloud.http_options(), env.pat.clone()).with_retry(
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
        },
    );
    let repo = env.fake.empty_repository("race-forever").await;
    env.fake.interfere_with_pushes(&repo, "main", 100);
    let err = host
        .commit(
            &repo,
            &CommitRequest::new("main", "m", author()).file("a.txt", "a"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::NonFastForwardExhausted { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(env.cloud.request_count("devops.pushes.create"), 3);
    // Backoff with jitter: retry n waits between half and all of 500ms·2^(n-1).
    let sleeps = env.cloud.manual_clock().unwrap().sleeps();
    assert_eq!(sleeps.len(), 2, "{sleeps:?}");
    assert!(
        sleeps[0] >= Duration::from_millis(250) && sleeps[0] <= Duration::from_millis(500),
        "{sleeps:?}"
    );
    assert!(
        sleeps[1] >= Duration::from_millis(500) && sleeps[1] <= Duration::from_millis(1000),
        "{sleeps:?}"
    );
}

#[tokio::test]
async fn a_race_against_a_concurrent_pusher_converges() {
    let env = env().await;
    let host =
        DevOpsRestHost::with_pat(&env.cloud.http_options(), env.pat.clone()).with_retry(no_wait());
    let repo = env.fake.empty_repository("race-hook").await;
    // Another client pushes between our read of the tip and our push, through the hook.
    let (fake, r) = (env.fake.clone(), repo.clone());
    let hook = Arc::new(move |attempt: u32| {
        if attempt <= 2 {
            fake.push_directly(
                &r,
                "main",
                "theirs",
                &[(&format!("theirs-{attempt}.txt"), b"t")],
            );
        }
    });
    let host = host.with_before_push(hook);
    let out = host
        .commit(
            &repo,
            &CommitRequest::new("main", "ours", author()).file("ours.txt", "o"),
        )
        .await
        .unwrap();
    assert!(
        matches!(out, CommitOutcome::Committed { retries: 2, .. }),
        "{out:?}"
    );
    let files = env.fake.files(&repo, "main").unwrap();
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["ours.txt", "theirs-1.txt", "theirs-2.txt"]
    );
    let subjects: Vec<String> = env
        .fake
        .log(&repo, "main")
        .into_iter()
        .map(|c| c.message)
        .collect();
    assert_eq!(subjects, ["ours", "theirs", "theirs"]);
}

#[tokio::test]
async fn invalid_requests_are_refused_before_anything_is_sent() {
    let env = env().await;
    let host = DevOpsRestHost::with_pat(&env.cloud.http_options(), env.pat.clone());
    let repo = env.fake.empty_repository("guard").await;
    let secret =
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData:\n  password: hunter2\n";
    let err = host
        .commit(
            &repo,
            &CommitRequest::new("main", "m", author()).file("secret.yaml", secret),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PlaintextSecret { .. }), "{err:?}");
    let err = host
        .commit(
            &repo,
            &CommitRequest::new("main", "m", author()).file("../x", "x"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidPath { .. }), "{err:?}");
    assert_eq!(env.cloud.request_count_prefix("devops."), 0);
    // Not an Azure DevOps URL: the REST host says to use plain git.
    let err = host
        .commit(
            &url("https://github.com/o/r"),
            &CommitRequest::new("main", "m", author()).file("a", "a"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
}

#[tokio::test]
async fn the_debug_output_of_the_host_has_no_secret() {
    let env = env().await;
    let host = DevOpsRestHost::with_pat(&env.cloud.http_options(), env.pat.clone());
    let text = format!("{host:?}");
    assert!(!text.contains(env.pat.expose_secret()));
    assert!(text.contains("PAT"));
    let _ = env.pat_id;
}

#[tokio::test]
async fn the_open_fake_creates_organizations_and_projects_on_first_use() {
    let cloud = FakeCloud::start().await;
    let fake = FakeDevOps::mount_open(&cloud).await;
    let host = DevOpsRestHost::with_entra(
        &cloud.http_options(),
        &cloud.cloud(),
        cloud.credential().unwrap(),
    );
    let repo = url("https://dev.azure.com/any-org/any-project/_git/fleet-infra");
    let info = host.ensure_repository(&repo).await.unwrap();
    assert!(info.created);
    host.commit(
        &repo,
        &CommitRequest::new("main", "m", author()).file("a.txt", "a"),
    )
    .await
    .unwrap();
    assert_eq!(fake.commit_count(&repo, "main"), 1);
    // A PAT still has to exist: an unknown one is refused.
    let pat_host = DevOpsRestHost::with_pat(&cloud.http_options(), SecretString::from("made-up"));
    assert!(matches!(
        pat_host.ensure_repository(&repo).await.unwrap_err(),
        Error::Auth { .. }
    ));
}

#[tokio::test]
async fn devops_throttling_is_retried_and_rate_limit_headers_are_reported() {
    let env = env().await;
    let host = DevOpsRestHost::with_pat(&env.cloud.http_options(), env.pat.clone());
    let repo = env.fake.empty_repository("rate-limit").await;
    assert_eq!(host.last_rate_limit(), None);
    env.fake.throttle_requests(2, 11);
    host.ensure_repository(&repo).await.unwrap();
    let sleeps = env.cloud.manual_clock().unwrap().sleeps();
    assert_eq!(sleeps, [Duration::from_secs(11), Duration::from_secs(11)]);
    env.fake.set_rate_limit_headers(Some(RateLimitHeaders {
        resource: "Core".into(),
        delay_secs: 0.25,
        limit: 200,
        remaining: 17,
        reset: 1_800_000_000,
    }));
    host.commit(
        &repo,
        &CommitRequest::new("main", "m", author()).file("a.txt", "a"),
    )
    .await
    .unwrap();
    assert_eq!(
        host.last_rate_limit(),
        Some(RateLimit {
            resource: Some("Core".into()),
            delay: Some(Duration::from_millis(250)),
            limit: Some(200),
            remaining: Some(17),
            reset: Some(1_800_000_000),
        })
    );
}
