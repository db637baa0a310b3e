//! The behaviour every [`GitHost`] must show, as a suite any backend can run: the REST host
//! against [`crate::fake::FakeDevOps`], the plain-git host against a real `git http-backend`.
//!
//! The suite talks to the host through `&dyn GitHost` and checks the server's side through a
//! [`ContractServer`] (what the server really holds, and a way to make another client win the
//! next push race). Each case uses its own fresh repository.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::api::{Author, CommitOutcome, CommitRequest, GitHost};
use crate::url::RepoUrl;

/// The server side of a backend under test.
#[async_trait]
pub trait ContractServer: Send + Sync {
    /// Creates a fresh, empty repository (no branch) and returns its URL.
    async fn empty_repository(&self, name: &str) -> RepoUrl;
    /// The number of commits on `branch` (first-parent chain; 0 when it does not exist).
    async fn commit_count(&self, repo: &RepoUrl, branch: &str) -> usize;
    /// The files on `branch` as the server holds them (empty when the branch does not exist).
    async fn files(&self, repo: &RepoUrl, branch: &str) -> BTreeMap<String, Vec<u8>>;
    /// Makes another client push a commit to `branch` right before each of the host's next
    /// `times` push attempts.
    async fn interfere_with_next_pushes(&self, repo: &RepoUrl, branch: &str, times: u32);
}

/// A failed contract case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("contract case \"{case}\" failed: {message}")]
pub struct ContractFailure {
    /// The case.
    pub case: &'static str,
    /// What was wrong.
    pub message: String,
}

fn check(
    case: &'static str,
    ok: bool,
    message: impl FnOnce() -> String,
) -> Result<(), ContractFailure> {
    if ok {
        Ok(())
    } else {
        Err(ContractFailure {
            case,
            message: message(),
        })
    }
}

fn author() -> Author {
    Author::new("Flux", "flux@example.com")
}

fn fail(case: &'static str) -> impl Fn(crate::Error) -> ContractFailure {
    move |e| ContractFailure {
        case,
        message: format!("unexpected error: {e}"),
    }
}

/// The names of the cases [`run_all`] runs, in order.
pub const CASES: [&str; 6] = [
    "first push to an empty repository",
    "an identical push creates no commit",
    "edit, add and delete keep the other files",
    "binary content round trip",
    "a push that loses a race is rebuilt on the new tip",
    "ensure_repository describes an existing repository",
];

/// Runs every case; returns how many passed (all of them) or the first failure.
pub async fn run_all(
    host: &dyn GitHost,
    server: &dyn ContractServer,
) -> Result<usize, ContractFailure> {
    first_push_then_identical_push(host, server).await?;
    edit_add_delete(host, server).await?;
    binary_round_trip(host, server).await?;
    lost_race_is_retried(host, server).await?;
    ensure_existing(host, server).await?;
    Ok(CASES.len())
}

/// Cases 1 and 2: the first push to an empty repository, then the same push again.
pub async fn first_push_then_identical_push(
    host: &dyn GitHost,
    server: &dyn ContractServer,
) -> Result<(), ContractFailure> {
    let case = CASES[0];
    let repo = server.empty_repository("first-push").await;
    let request = CommitRequest::new("main", "Add Flux sync manifests", author())
        .file(
            "clusters/dev/flux-system/gotk-sync.yaml",
            "kind: GitRepository\n",
        )
        .file(
            "clusters/dev/flux-system/kustomization.yaml",
            "resources: []\n",
        );
    let first = host.commit(&repo, &request).await.map_err(fail(case))?;
    let CommitOutcome::Committed { commit, retries } = &first else {
        return Err(ContractFailure {
            case,
            message: format!("expected a commit, got {first:?}"),
        });
    };
    check(case, *retries == 0, || {
        format!("{retries} retries without a race")
    })?;
    check(case, commit.0.len() == 40, || {
        format!("commit id {commit} is not 40 hex digits")
    })?;
    let count = server.commit_count(&repo, "main").await;
    check(case, count == 1, || {
        format!("{count} commits on main, expected 1")
    })?;
    let files = server.files(&repo, "main").await;
    check(case, files == request.files, || {
        format!("the server holds {:?}", files.keys().collect::<Vec<_>>())
    })?;
    let read = host
        .read_file(&repo, "main", "clusters/dev/flux-system/gotk-sync.yaml")
        .await
        .map_err(fail(case))?;
    check(
        case,
        read.as_deref() == Some(&b"kind: GitRepository\n"[..]),
        || format!("read_file gave {read:?}"),
    )?;
    let missing = host
        .read_file(&repo, "main", "nope.yaml")
        .await
        .map_err(fail(case))?;
    check(case, missing.is_none(), || {
        "read_file of a missing file is not None".into()
    })?;
    let no_branch = host
        .read_file(
            &repo,
            "no-such-branch",
            "clusters/dev/flux-system/gotk-sync.yaml",
        )
        .await
        .map_err(fail(case))?;
    check(case, no_branch.is_none(), || {
        "read_file on a missing branch is not None".into()
    })?;

    let case = CASES[1];
    let second = host.commit(&repo, &request).await.map_err(fail(case))?;
    check(
        case,
        second
            == CommitOutcome::NoChange {
                head: Some(commit.clone()),
            },
        || format!("got {second:?}, expected NoChange at {commit}"),
    )?;
    let count = server.commit_count(&repo, "main").await;
    check(case, count == 1, || {
        format!("{count} commits on main after the identical push, expected 1")
    })?;
    Ok(())
}

/// Case 3: edits, additions and deletions in one commit; files not named stay.
pub async fn edit_add_delete(
    host: &dyn GitHost,
    server: &dyn ContractServer,
) -> Result<(), ContractFailure> {
    let case = CASES[2];
    let repo = server.empty_repository("edit-delete").await;
    let seed = CommitRequest::new("main", "seed", author())
        .file("keep.txt", "keep\n")
        .file("edit.txt", "v1\n")
        .file("dir/remove.txt", "bye\n");
    host.commit(&repo, &seed).await.map_err(fail(case))?;
    let change = CommitRequest::new("main", "change", author())
        .file("edit.txt", "v2\n")
        .file("dir/new.txt", "new\n")
        .delete("dir/remove.txt")
        .delete("never-existed.txt");
    let out = host.commit(&repo, &change).await.map_err(fail(case))?;
    check(case, matches!(out, CommitOutcome::Committed { .. }), || {
        format!("got {out:?}")
    })?;
    let files = server.files(&repo, "main").await;
    let expected: BTreeMap<String, Vec<u8>> = [
        ("dir/new.txt", "new\n"),
        ("edit.txt", "v2\n"),
        ("keep.txt", "keep\n"),
    ]
    .into_iter()
    .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
    .collect();
    check(case, files == expected, || {
        format!("the server holds {:?}", files.keys().collect::<Vec<_>>())
    })?;
    let count = server.commit_count(&repo, "main").await;
    check(case, count == 2, || format!("{count} commits, expected 2"))?;
    // Deleting only files that do not exist is no change.
    let noop = CommitRequest::new("main", "noop", author()).delete("dir/remove.txt");
    let out = host.commit(&repo, &noop).await.map_err(fail(case))?;
    check(case, matches!(out, CommitOutcome::NoChange { .. }), || {
        format!("deleting a missing file gave {out:?}")
    })?;
    Ok(())
}

/// Case 4: every byte value survives a push and a read.
pub async fn binary_round_trip(
    host: &dyn GitHost,
    server: &dyn ContractServer,
) -> Result<(), ContractFailure> {
    let case = CASES[3];
    let repo = server.empty_repository("binary").await;
    let bytes: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let text_with_crlf = "line one\r\nline two\r\n";
    let request = CommitRequest::new("main", "binary", author())
        .file("bin/all-bytes.bin", bytes.clone())
        .file("crlf.txt", text_with_crlf);
    host.commit(&repo, &request).await.map_err(fail(case))?;
    let read = host
        .read_file(&repo, "main", "bin/all-bytes.bin")
        .await
        .map_err(fail(case))?;
    check(case, read.as_deref() == Some(&bytes[..]), || {
        "read_file did not return the bytes pushed".into()
    })?;
    let files = server.files(&repo, "main").await;
    check(case, files.get("bin/all-bytes.bin") == Some(&bytes), || {
        "the server holds other bytes".into()
    })?;
    check(
        case,
        files.get("crlf.txt").map(Vec::as_slice) == Some(text_with_crlf.as_bytes()),
        || "CRLF text was changed".into(),
    )?;
    let again = host.commit(&repo, &request).await.map_err(fail(case))?;
    check(
        case,
        matches!(again, CommitOutcome::NoChange { .. }),
        || format!("re-pushing the same bytes gave {again:?}"),
    )?;
    Ok(())
}

/// Case 5: another client moves the branch between our read and our push.
pub async fn lost_race_is_retried(
    host: &dyn GitHost,
    server: &dyn ContractServer,
) -> Result<(), ContractFailure> {
    let case = CASES[4];
    let repo = server.empty_repository("race").await;
    host.commit(
        &repo,
        &CommitRequest::new("main", "seed", author()).file("seed.txt", "s\n"),
    )
    .await
    .map_err(fail(case))?;
    server.interfere_with_next_pushes(&repo, "main", 1).await;
    let out = host
        .commit(
            &repo,
            &CommitRequest::new("main", "ours", author()).file("ours.txt", "o\n"),
        )
        .await
        .map_err(fail(case))?;
    check(
        case,
        matches!(out, CommitOutcome::Committed { retries: 1, .. }),
        || format!("expected a commit after one retry, got {out:?}"),
    )?;
    let count = server.commit_count(&repo, "main").await;
    check(case, count == 3, || {
        format!("{count} commits, expected seed + theirs + ours")
    })?;
    let files = server.files(&repo, "main").await;
    check(
        case,
        files.contains_key("ours.txt") && files.contains_key("seed.txt") && files.len() == 3,
        || format!("the server holds {:?}", files.keys().collect::<Vec<_>>()),
    )?;
    Ok(())
}

/// Case 6: `ensure_repository` on a repository that exists.
pub async fn ensure_existing(
    host: &dyn GitHost,
    server: &dyn ContractServer,
) -> Result<(), ContractFailure> {
    let case = CASES[5];
    let repo = server.empty_repository("ensure").await;
    let info = host.ensure_repository(&repo).await.map_err(fail(case))?;
    check(case, !info.created && info.is_empty(), || {
        format!("an existing empty repository gave {info:?}")
    })?;
    let out = host
        .commit(
            &repo,
            &CommitRequest::new("main", "first", author()).file("a.txt", "a\n"),
        )
        .await
        .map_err(fail(case))?;
    let info = host.ensure_repository(&repo).await.map_err(fail(case))?;
    check(
        case,
        !info.created && info.branches.get("main") == out.head(),
        || format!("after a push: {info:?}"),
    )?;
    Ok(())
}
