//! `cargo xtask bootstrap` with `git.auth = "ssh"` pushing over SSH to a real OpenSSH sshd (devops-git's
//! test server, `devops-git/tests/servers/start-sshd.sh`, which `.ci/run` starts): the key pair
//! `bootstrap::ssh_auth` generates is registered in the server's authorized_keys, the host key is
//! scanned from the server, the commits land in the bare repository behind sshd, and a second run
//! creates no commit. Azure and Kubernetes are the sandbox's fakes; the fake source-controller resolves
//! the GitRepository with `git ls-remote` over SSH using the applied flux-system Secret.

use crate::bootstrap::{one, opts, sandbox};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use xtask::bootstrap::executor::StepStatus;
use xtask::bootstrap::fake_kube::FakeKube;
use xtask::bootstrap::progress::NoSink;
use xtask::bootstrap::sandbox::SANDBOX_CLUSTER;
use xtask::bootstrap::step::Outputs;
use xtask::bootstrap::{GitAuth, PlanOptions, RunInputs, ids, ssh_key};

/// The running sshd, from the `AZFLUX_SSHD_*` variables `start-sshd.sh` prints.
struct Sshd {
    host: String,
    port: u16,
    repos: PathBuf,
    authorized_keys: PathBuf,
    known_hosts: PathBuf,
    git_user: String,
}

/// The server, or `None` (skip, with the reason printed) outside CI when it is not configured.
fn sshd() -> Option<Sshd> {
    let Some(port) = std::env::var_os("AZFLUX_SSHD_PORT") else {
        azflux_core::test_servers::missing(
            "the local sshd (AZFLUX_SSHD_PORT)",
            "eval \"$(bash devops-git/tests/servers/start-sshd.sh)\"",
        );
        return None;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    Some(Sshd {
        host: var("AZFLUX_SSHD_HOST"),
        port: port.to_str().unwrap().parse().expect("AZFLUX_SSHD_PORT"),
        repos: PathBuf::from(var("AZFLUX_SSHD_REPOS")),
        authorized_keys: PathBuf::from(var("AZFLUX_SSHD_AUTHORIZED_KEYS")),
        known_hosts: PathBuf::from(var("AZFLUX_SSHD_KNOWN_HOSTS")),
        git_user: var("AZFLUX_SSHD_GIT_USER"),
    })
}

impl Sshd {
    /// A new empty bare repository (default branch `main`, owned by the git user) and its URL.
    fn new_repo(&self) -> (PathBuf, String) {
        let name = format!("xtask-bootstrap-{}", uuid::Uuid::new_v4().simple());
        let bare = self.repos.join("org/project").join(format!("{name}.git"));
        git(&["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()]);
        let status = Command::new("chown")
            .args(["-R", &format!("{0}:{0}", self.git_user)])
            .arg(self.repos.join("org"))
            .status()
            .unwrap();
        assert!(status.success(), "chown of the test repository failed");
        let url = format!(
            "ssh://git@{}:{}/v3/org/project/{name}",
            self.host, self.port
        );
        (bare, url)
    }

    /// Lets the public key `line` log in as the git user (one O_APPEND write: concurrent tests' lines
    /// stay whole).
    fn authorize(&self, line: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.authorized_keys)
            .unwrap();
        f.write_all(format!("{}\n", line.trim()).as_bytes())
            .unwrap();
    }
}

/// The git CLI (the bare repositories belong to the sshd's git user, hence `safe.directory`).
fn git(args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "safe.directory=*"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `git log` of `main` in the bare repository, newest first: `<id> <subject>`.
fn log(bare: &Path) -> Vec<String> {
    git(&[
        "--git-dir",
        bare.to_str().unwrap(),
        "log",
        "--format=%H %s",
        "main",
    ])
    .lines()
    .map(str::to_owned)
    .collect()
}

/// What source-controller does: `git ls-remote` of `branch` over SSH with the Secret's `identity` and
/// `known_hosts` (strict host key checking), against the real server.
fn ls_remote(
    url: &str,
    branch: &str,
    secret: Option<&BTreeMap<String, String>>,
) -> Result<String, String> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let secret = secret.ok_or("no secretRef")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    for (name, key) in [("identity", "identity"), ("known_hosts", "known_hosts")] {
        let value = secret.get(key).ok_or(format!("the Secret has no {key}"))?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dir.path().join(name))
            .map_err(|e| e.to_string())?;
        std::io::Write::write_all(&mut f, value.as_bytes()).map_err(|e| e.to_string())?;
    }
    let ssh = format!(
        "ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile={kh} -i {id}",
        kh = dir.path().join("known_hosts").display(),
        id = dir.path().join("identity").display(),
    );
    let out = Command::new("git")
        .env("GIT_SSH_COMMAND", ssh)
        .args(["ls-remote", url, &format!("refs/heads/{branch}")])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "unable to clone '{url}': {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .map(str::to_owned)
        .ok_or_else(|| format!("unable to clone '{url}': couldn't find remote ref {branch}"))
}

#[tokio::test]
async fn ssh_auth_pushes_over_ssh_to_a_real_sshd_and_a_second_run_creates_no_commit() {
    let Some(server) = sshd() else { return };
    let (dir, sb) = sandbox().await;
    let (bare, url) = server.new_repo();
    let mut config = sb.config(&one());
    config.git.url = url.clone();
    config.git.auth = GitAuth::Ssh;
    let identity = dir.path().join("keys/flux-identity");
    config.git.ssh_key = Some(identity.clone());

    // The bootstrap's own SSH setup: the key pair generated (0600) and the host key scanned from sshd.
    let repo_url = devops_git::RepoUrl::parse(&url).unwrap();
    let auth = xtask::bootstrap::ssh_auth(&config, &repo_url)
        .unwrap()
        .expect("git.auth = ssh has an SSH key");
    let public_line = std::fs::read_to_string(ssh_key::public_path(&identity)).unwrap();
    assert_eq!(public_line.trim(), auth.key().public_key_line());
    let server_known_hosts = std::fs::read_to_string(&server.known_hosts).unwrap();
    assert_eq!(
        auth.known_hosts().to_string().trim(),
        server_known_hosts.trim()
    );
    // Registered as the user's SSH public key (the step the bootstrap asks people to do).
    server.authorize(&public_line);

    // The sandbox's fakes for Azure and Kubernetes; the repository host is plain git over SSH, as
    // real_inputs builds it, and the fake source-controller fetches from the sshd.
    let kube = FakeKube::start(&sb.cloud, Arc::new(ls_remote), Duration::from_secs(30)).await;
    let route_kube = kube.clone();
    let mut services = sb.services().clone();
    services.git = Arc::new(
        devops_git::PlainGitHost::with_cache_dir(
            devops_git::GitCredentials::Ssh(auth.clone()),
            dir.path().join("ssh-git-cache"),
        )
        .unwrap(),
    );
    services.ssh = Some(auth);
    services.kube_route = Some(Arc::new(move |name, issued| match &issued.token {
        Some(token) => route_kube.add_cluster_with_token(name, &issued.context, token),
        None => route_kube.add_cluster(name),
    }));
    let inputs = RunInputs {
        services,
        seeds: Outputs::default(),
        sandbox: false,
        local_repo_dir: None,
    };
    let (secrets, run_config) = (sb.secrets(), config.clone());
    let run = || {
        let (config, secrets, inputs) = (run_config.clone(), secrets.clone(), inputs.clone());
        async move {
            xtask::bootstrap::run_plan(
                &config,
                &secrets,
                &inputs,
                &PlanOptions::default(),
                opts(),
                &NoSink,
            )
            .await
            .unwrap()
        }
    };

    let (report, summary) = run().await;
    assert!(report.succeeded(), "{:#?}", report.failures());

    // The commits are in the bare repository behind sshd; nothing went to the sandbox's HTTP server.
    let first = log(&bare);
    assert!(!first.is_empty(), "no commit reached the sshd repository");
    let head = first[0].split_whitespace().next().unwrap().to_owned();
    assert_eq!(
        summary.repository.revision,
        Some(format!("main@sha1:{head}"))
    );
    assert!(crate::bootstrap::commits(&sb.repo_dir()).is_empty());
    let files = git(&[
        "--git-dir",
        bare.to_str().unwrap(),
        "ls-tree",
        "-r",
        "--name-only",
        "main",
    ]);
    for f in [
        "gotk-components.yaml",
        "gotk-sync.yaml",
        "kustomization.yaml",
    ] {
        let path = format!("clusters/{SANDBOX_CLUSTER}/flux-system/{f}");
        assert!(files.lines().any(|l| l == path), "{path} missing: {files}");
    }
    let sync = git(&[
        "--git-dir",
        bare.to_str().unwrap(),
        "show",
        &format!("main:clusters/{SANDBOX_CLUSTER}/flux-system/gotk-sync.yaml"),
    ]);
    assert!(sync.contains(&format!("url: {url}")), "{sync}");

    // The applied Secret holds the generated pair and the server's host key, and the fake
    // source-controller fetched the pushed head over SSH with it (the health step passed).
    let secret = kube
        .object(
            SANDBOX_CLUSTER,
            "Secret",
            Some("flux-system"),
            "flux-system",
        )
        .expect("the flux-system Secret was applied")
        .object;
    let data = secret_data(&secret);
    assert_eq!(
        data["identity"],
        std::fs::read_to_string(&identity).unwrap()
    );
    assert_eq!(data["identity.pub"].trim(), public_line.trim());
    assert_eq!(data["known_hosts"].trim(), server_known_hosts.trim());
    assert!(!data.contains_key("password"));
    assert!(matches!(
        report.step(&ids::health(SANDBOX_CLUSTER)).unwrap().status,
        StepStatus::Done(_)
    ));
    assert_eq!(ls_remote(&url, "main", Some(&data)).unwrap(), head);

    // A second run creates no commit and changes nothing.
    let (again, summary) = run().await;
    assert!(again.succeeded(), "{:#?}", again.failures());
    assert_eq!(log(&bare), first);
    assert!(
        summary.created.is_empty() && summary.changed.is_empty(),
        "{summary:#?}"
    );
}

/// A Secret's `data`, decoded.
fn secret_data(secret: &serde_json::Value) -> BTreeMap<String, String> {
    use base64::Engine;
    secret["data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap())
                .unwrap();
            (k.clone(), String::from_utf8(bytes).unwrap())
        })
        .collect()
}
