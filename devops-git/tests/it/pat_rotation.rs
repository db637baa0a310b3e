//! PAT expiry and rotation against the fake PAT Lifecycle API: the happy path, and a failure or
//! a crash after every step, each resumed to completion without losing the new PAT, creating a
//! second one, or revoking the only working one.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use azflux_core::fake::faults::{Fault, FaultMatch};
use devops_git::contract::ContractServer;
use devops_git::pat::{PatInfo, SinkError};
use devops_git::{
    DevOpsRestHost, Error, GitHost, PatClient, PatRotator, PatSink, PatStatus, RepoUrl,
    RotationOptions, RotationState, RotationStep, RotationStore, pat_status,
};
use secrecy::{ExposeSecret, SecretString};
use time::macros::datetime;

use crate::rest_host::{Env, env};

const DAY: u64 = 86_400;

#[test]
fn status_has_a_warning_window() {
    let now = datetime!(2026-11-25 12:00 UTC);
    let warn = Duration::from_secs(14 * DAY);
    assert_eq!(
        pat_status(datetime!(2027-01-25 12:00 UTC), now, warn),
        PatStatus::Valid { days_left: 61 }
    );
    assert_eq!(
        pat_status(datetime!(2026-12-09 12:00 UTC), now, warn),
        PatStatus::ExpiringSoon { days_left: 14 }
    );
    assert_eq!(
        pat_status(datetime!(2026-12-09 12:00:01 UTC), now, warn),
        PatStatus::Valid { days_left: 14 }
    );
    assert_eq!(
        pat_status(datetime!(2026-11-25 13:00 UTC), now, warn),
        PatStatus::ExpiringSoon { days_left: 0 }
    );
    assert_eq!(pat_status(now, now, warn), PatStatus::Expired);
    assert_eq!(
        pat_status(datetime!(2020-01-01 0:00 UTC), now, warn),
        PatStatus::Expired
    );
}

fn client(env: &Env) -> PatClient {
    PatClient::new(
        &env.cloud.http_options(),
        &env.cloud.cloud(),
        env.cloud.credential().unwrap(),
        "azflux",
    )
}

#[tokio::test]
async fn status_is_read_from_the_service_on_the_fake_clock() {
    let env = env().await;
    let warn = Duration::from_secs(7 * DAY);
    let clock = env.cloud.manual_clock().unwrap();
    // A fresh client (and credential) after each jump of the fake clock: azure_identity's own
    // token cache runs on real time and would hand out a token the fake clock calls expired.
    let status = |env: &Env| {
        let client = client(env);
        let id = env.pat_id.clone();
        async move { client.status(&id, warn).await.unwrap() }
    };
    assert_eq!(status(&env).await, PatStatus::Valid { days_left: 30 });
    clock.advance(Duration::from_secs(25 * DAY));
    assert_eq!(status(&env).await, PatStatus::ExpiringSoon { days_left: 5 });
    clock.advance(Duration::from_secs(5 * DAY));
    assert_eq!(status(&env).await, PatStatus::Expired);
}

#[tokio::test]
async fn pat_api_errors_are_typed_and_say_what_to_do() {
    let env = env().await;
    let client = client(&env);
    let now = env.cloud.clock().now();
    let err = client
        .create("x", "vso.code_write", now + Duration::from_secs(800 * DAY))
        .await
        .unwrap_err();
    let Error::PatApi { code, hint, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(code, "patLifespanPolicyViolation");
    assert!(hint.contains("earlier expiry"), "{hint}");
    let err = client
        .create("", "vso.code_write", now + Duration::from_secs(DAY))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("displayNameRequired"), "{err}");
    assert!(err.to_string().contains("azflux"), "{err}");
    let err = client
        .get("00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PatApi { .. }), "{err:?}");
}

/// The Flux Secret stand-in: holds the PAT; can be told to fail.
#[derive(Default)]
struct SecretSink {
    value: Mutex<Option<String>>,
    fail_next: Mutex<u32>,
    calls: Mutex<u32>,
}

#[async_trait]
impl PatSink for SecretSink {
    async fn store(&self, pat: &SecretString, _info: &PatInfo) -> Result<(), SinkError> {
        *self.calls.lock().unwrap() += 1;
        let mut fail = self.fail_next.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            return Err("the Kubernetes API server is unreachable".into());
        }
        *self.value.lock().unwrap() = Some(pat.expose_secret().to_string());
        Ok(())
    }
}

/// Saves the state as JSON, like a file would; `crash_at` makes save number n fail, which is
/// where the process "dies": what survives is the JSON of the previous save.
#[derive(Default)]
struct JsonStore {
    saved: Mutex<Option<String>>,
    saves: Mutex<u32>,
    crash_at: Mutex<Option<u32>>,
}

#[async_trait]
impl RotationStore for JsonStore {
    async fn save(&self, state: &RotationState) -> Result<(), SinkError> {
        let mut n = self.saves.lock().unwrap();
        *n += 1;
        if *self.crash_at.lock().unwrap() == Some(*n) {
            return Err("killed".into());
        }
        *self.saved.lock().unwrap() = Some(serde_json::to_string(state).unwrap());
        Ok(())
    }
}

impl JsonStore {
    /// The state a restarted process reads back.
    fn reload(&self) -> RotationState {
        serde_json::from_str(self.saved.lock().unwrap().as_deref().unwrap()).unwrap()
    }
}

struct Rig {
    env: Env,
    repo: RepoUrl,
    rotator: PatRotator,
}

async fn rig() -> Rig {
    let env = env().await;
    let repo = env.fake.empty_repository("rotate").await;
    let rotator = PatRotator::new(
        client(&env),
        env.cloud.http_options(),
        RotationOptions {
            display_name_prefix: "flux-system".into(),
            scope: "vso.code_write".into(),
            lifetime: Duration::from_secs(90 * DAY),
            verify_repository: repo.clone(),
        },
    );
    Rig { env, repo, rotator }
}

impl Rig {
    fn active_pats(&self) -> Vec<String> {
        let now = self.env.cloud.clock().now();
        self.env
            .fake
            .pats()
            .into_iter()
            .filter(|p| !p.revoked && p.valid_to > now)
            .map(|p| p.authorization_id)
            .collect()
    }

    /// The rotation ended well: the Secret holds a working PAT, the old one is revoked, exactly
    /// one PAT besides the old one was ever created and it is the only active one.
    async fn assert_rotated(&self, sink: &SecretSink, new: &PatInfo) {
        let stored = sink.value.lock().unwrap().clone().unwrap();
        assert!(self.env.fake.pat_works("azflux", &stored));
        assert!(
            !self
                .env
                .fake
                .pat_works("azflux", self.env.pat.expose_secret())
        );
        assert!(self.env.fake.pat(&self.env.pat_id).unwrap().revoked);
        assert_eq!(
            self.active_pats(),
            std::slice::from_ref(&new.authorization_id)
        );
        assert_eq!(new.scope, "vso.code_write");
        assert!(new.display_name.starts_with("flux-system-"));
        // The new PAT really works for git.
        let host =
            DevOpsRestHost::with_pat(&self.env.cloud.http_options(), SecretString::from(stored));
        host.ensure_repository(&self.repo).await.unwrap();
    }
}

#[tokio::test]
async fn rotation_end_to_end() {
    let rig = rig().await;
    let (sink, store) = (SecretSink::default(), JsonStore::default());
    let mut state = RotationState::new(Some(rig.env.pat_id.clone()));
    let new = rig.rotator.rotate(&mut state, &sink, &store).await.unwrap();
    assert!(state.is_done());
    assert!(!state.holds_new_token(), "a finished state keeps no secret");
    rig.assert_rotated(&sink, &new).await;
    assert_eq!(rig.env.fake.pats().len(), 2);
    let valid_to = rig.env.fake.pat(&new.authorization_id).unwrap().valid_to;
    assert_eq!(
        valid_to,
        rig.env.cloud.clock().now() + Duration::from_secs(90 * DAY)
    );
    // The saved state is done and holds no token; its Debug never shows one.
    let saved = store.saved.lock().unwrap().clone().unwrap();
    assert!(!saved.contains(sink.value.lock().unwrap().as_deref().unwrap()));
    assert_eq!(store.reload().step, RotationStep::Done);
    // Running a finished rotation again does nothing.
    let again = rig
        .rotator
        .rotate(&mut store.reload(), &sink, &store)
        .await
        .unwrap();
    assert_eq!(again, new);
    assert_eq!(rig.env.fake.pats().len(), 2);
}

#[tokio::test]
async fn a_failing_sink_keeps_the_old_pat_and_resumes_without_a_second_pat() {
    let rig = rig().await;
    let (sink, store) = (SecretSink::default(), JsonStore::default());
    *sink.fail_next.lock().unwrap() = 1;
    let mut state = RotationState::new(Some(rig.env.pat_id.clone()));
    let err = rig
        .rotator
        .rotate(&mut state, &sink, &store)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Rotation {
                step: "store the new PAT",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("unreachable"), "{err}");
    assert!(
        rig.env
            .fake
            .pat_works("azflux", rig.env.pat.expose_secret()),
        "the old PAT must stay valid"
    );
    assert_eq!(store.reload().step, RotationStep::Created);
    assert!(store.reload().holds_new_token());
    // A new process resumes from the saved state.
    let mut resumed = store.reload();
    let new = rig
        .rotator
        .rotate(&mut resumed, &sink, &store)
        .await
        .unwrap();
    rig.assert_rotated(&sink, &new).await;
    assert_eq!(rig.env.fake.pats().len(), 2, "no second new PAT");
    assert_eq!(*sink.calls.lock().unwrap(), 2);
}

#[tokio::test]
async fn a_revoke_failing_with_5xx_is_resumed() {
    let rig = rig().await;
    let (sink, store) = (SecretSink::default(), JsonStore::default());
    rig.env.cloud.faults().inject(
        FaultMatch::path("/_apis/tokens/pats").method("DELETE"),
        Fault::server_error(503),
        20,
    );
    let mut state = RotationState::new(Some(rig.env.pat_id.clone()));
    let err = rig
        .rotator
        .rotate(&mut state, &sink, &store)
        .await
        .unwrap_err();
    let Error::Azure(inner) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(inner.status(), Some(503));
    assert_eq!(store.reload().step, RotationStep::Verified);
    // The Secret already holds the new, working PAT; the old one is still valid too.
    let stored = sink.value.lock().unwrap().clone().unwrap();
    assert!(rig.env.fake.pat_works("azflux", &stored));
    assert!(
        rig.env
            .fake
            .pat_works("azflux", rig.env.pat.expose_secret())
    );
    rig.env.cloud.faults().clear();
    let new = rig
        .rotator
        .rotate(&mut store.reload(), &sink, &store)
        .await
        .unwrap();
    rig.assert_rotated(&sink, &new).await;
    assert_eq!(rig.env.fake.pats().len(), 2);
}

#[tokio::test]
async fn a_crash_after_every_step_resumes_to_completion() {
    // Save 1: Creating, 2: Created, 3: Stored, 4: Verified, 5: Done. A crash at save n+1 leaves
    // the state of save n on disk.
    for crash_at in 2..=5 {
        let rig = rig().await;
        let (sink, store) = (SecretSink::default(), JsonStore::default());
        *store.crash_at.lock().unwrap() = Some(crash_at);
        let mut state = RotationState::new(Some(rig.env.pat_id.clone()));
        let err = rig
            .rotator
            .rotate(&mut state, &sink, &store)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Rotation {
                    step: "save the rotation state",
                    ..
                }
            ),
            "{err:?}"
        );
        let on_disk = store.reload();
        // Whatever happened, some PAT still works, and the Secret never holds a dead one.
        if let Some(stored) = sink.value.lock().unwrap().clone() {
            assert!(
                rig.env.fake.pat_works("azflux", &stored),
                "crash at save {crash_at}"
            );
        } else {
            assert!(
                rig.env
                    .fake
                    .pat_works("azflux", rig.env.pat.expose_secret())
            );
        }
        *store.crash_at.lock().unwrap() = None;
        let new = rig
            .rotator
            .rotate(&mut on_disk.clone(), &sink, &store)
            .await
            .unwrap();
        rig.assert_rotated(&sink, &new).await;
        if crash_at == 2 {
            // The PAT created before the crash never reached the disk: it was revoked, and one
            // replacement created.
            assert_eq!(rig.env.fake.pats().len(), 3, "crash at save {crash_at}");
            assert_eq!(on_disk.step, RotationStep::Creating);
        } else {
            assert_eq!(
                rig.env.fake.pats().len(),
                2,
                "crash at save {crash_at}: no second new PAT"
            );
        }
    }
}

#[tokio::test]
async fn a_new_pat_that_does_not_work_never_revokes_the_old_one() {
    let rig = rig().await;
    let (sink, store) = (SecretSink::default(), JsonStore::default());
    let rotator = PatRotator::new(
        client(&rig.env),
        rig.env.cloud.http_options(),
        RotationOptions {
            display_name_prefix: "flux-system".into(),
            scope: "vso.code_write".into(),
            lifetime: Duration::from_secs(90 * DAY),
            // A repository the PAT cannot see.
            verify_repository: RepoUrl::parse(
                "https://dev.azure.com/azflux/contract/_git/not-there",
            )
            .unwrap(),
        },
    );
    let mut state = RotationState::new(Some(rig.env.pat_id.clone()));
    let err = rotator.rotate(&mut state, &sink, &store).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Rotation {
                step: "verify the new PAT",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("old PAT stays valid"), "{err}");
    assert!(
        rig.env
            .fake
            .pat_works("azflux", rig.env.pat.expose_secret())
    );
    assert_eq!(store.reload().step, RotationStep::Stored);
}

#[tokio::test]
async fn a_pat_api_error_on_create_is_surfaced_and_resumable() {
    let rig = rig().await;
    let (sink, store) = (SecretSink::default(), JsonStore::default());
    rig.env
        .fake
        .fail_pat_creations(&["fullScopePatPolicyViolation"]);
    let mut state = RotationState::new(Some(rig.env.pat_id.clone()));
    let err = rig
        .rotator
        .rotate(&mut state, &sink, &store)
        .await
        .unwrap_err();
    let Error::PatApi {
        code,
        hint,
        operation,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(code, "fullScopePatPolicyViolation");
    assert_eq!(*operation, "create a PAT");
    assert!(hint.contains("specific scopes"), "{hint}");
    assert_eq!(rig.env.fake.pats().len(), 1);
    let new = rig
        .rotator
        .rotate(&mut store.reload(), &sink, &store)
        .await
        .unwrap();
    rig.assert_rotated(&sink, &new).await;
}

#[tokio::test]
async fn the_rotation_state_never_prints_its_token() {
    let rig = rig().await;
    let (sink, store) = (SecretSink::default(), JsonStore::default());
    *sink.fail_next.lock().unwrap() = 1;
    let mut state = RotationState::new(Some(rig.env.pat_id.clone()));
    let _ = rig
        .rotator
        .rotate(&mut state, &sink, &store)
        .await
        .unwrap_err();
    assert!(state.holds_new_token());
    let token = rig
        .env
        .fake
        .pats()
        .into_iter()
        .find(|p| p.authorization_id != rig.env.pat_id)
        .unwrap();
    let text = format!("{state:?}");
    assert!(text.contains("<redacted>"), "{text}");
    assert!(text.contains(&token.authorization_id));
    let stored_json = store.saved.lock().unwrap().clone().unwrap();
    // The serialized state does hold it (that is the point): callers store it as a secret.
    let reloaded: RotationState = serde_json::from_str(&stored_json).unwrap();
    assert!(reloaded.holds_new_token());
}

#[tokio::test]
async fn listing_follows_continuation_tokens_and_skips_revoked_pats() {
    let env = env().await;
    for i in 0..4 {
        env.fake
            .issue_pat("azflux", &format!("p{i}"), Duration::from_secs(DAY));
    }
    env.fake
        .issue_pat("other-org", "elsewhere", Duration::from_secs(DAY));
    env.fake.set_pat_page_size(2);
    let client = client(&env);
    let names = |v: Vec<PatInfo>| v.into_iter().map(|p| p.display_name).collect::<Vec<_>>();
    assert_eq!(
        names(client.list_active().await.unwrap()),
        ["bootstrap", "p0", "p1", "p2", "p3"]
    );
    assert_eq!(env.cloud.request_count("devops.pats.get"), 3);
    assert!(client.revoke(&env.pat_id).await.unwrap());
    assert_eq!(
        names(client.list_active().await.unwrap()),
        ["p0", "p1", "p2", "p3"]
    );
    assert!(!client.revoke("no-such-authorization").await.unwrap());
}
