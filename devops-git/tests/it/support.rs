//! Real git servers for the tests: found through the environment (`.ci/run` starts them with
//! `tests/servers/start-*.sh`), or started here with the same scripts. With `CI` set a missing
//! server is a failure; without it, a server that cannot start skips the test with a message.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use devops_git::{RepoUrl, SshKeyAlgorithm, SshKeyPair};

fn script_env(script: &str, required: &[&str]) -> Option<HashMap<String, String>> {
    let from_env: HashMap<String, String> = required
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect();
    if from_env.len() == required.len() {
        return Some(from_env);
    }
    if azflux_core::test_servers::required() {
        azflux_core::test_servers::missing(
            &format!("the git test server ({})", required.join(", ")),
            &format!("eval \"$(bash devops-git/tests/servers/{script})\""),
        );
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/servers")
        .join(script);
    let out = Command::new("bash").arg(&path).output().ok()?;
    if !out.status.success() {
        azflux_core::test_servers::missing(
            &format!(
                "the git test server ({script} could not start it: {})",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "run it as root with lighttpd, openssh-server and git installed",
        );
        return None;
    }
    let vars: HashMap<String, String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    required
        .iter()
        .all(|k| vars.contains_key(*k))
        .then_some(vars)
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A repository name unique to this test process and call.
/// The servers' repository folders outlive the test process (they are under /tmp and a later run
/// may get the same pid), so the name also carries random bits; `new_repo` refuses an existing folder.
pub fn unique(name: &str) -> String {
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).expect("random bytes");
    format!(
        "{name}-{}-{}-{:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        u32::from_le_bytes(random)
    )
}

/// Creates the (bare) repository folder, failing if it already exists: a test's "empty repository"
/// must not be a leftover of an earlier run.
fn init_fresh_bare_repo(dir: &Path) {
    assert!(
        !dir.exists(),
        "test repository {} already exists (left by an earlier run?)",
        dir.display()
    );
    git(
        &["init", "-q", "--bare", "-b", "main", dir.to_str().unwrap()],
        None,
    );
}

/// Runs git, panics with its stderr on failure, returns trimmed stdout.
pub fn git(args: &[&str], cwd: Option<&Path>) -> String {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", std::env::temp_dir());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let out = cmd.output().expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The git http-backend server.
pub struct HttpServer {
    pub basic_base: String,
    pub bearer_base: String,
    pub user: String,
    pub password: String,
    pub token: String,
    pub repos: PathBuf,
}

impl HttpServer {
    /// Creates a fresh bare repository; returns its directory and its `org/project/_git/name` path.
    pub fn new_repo(&self, name: &str) -> (PathBuf, String) {
        let name = unique(name);
        let rel = format!("org/project/_git/{name}");
        let dir = self.repos.join(&rel);
        init_fresh_bare_repo(&dir);
        (dir, rel)
    }

    pub fn basic_url(&self, rel: &str) -> RepoUrl {
        RepoUrl::parse(&format!("{}/{rel}", self.basic_base)).unwrap()
    }

    pub fn bearer_url(&self, rel: &str) -> RepoUrl {
        RepoUrl::parse(&format!("{}/{rel}", self.bearer_base)).unwrap()
    }

    /// The URL with the password in it, for the git CLI acting as a concurrent pusher.
    pub fn cli_url(&self, rel: &str) -> String {
        let base = self.basic_base.replacen("http://", "", 1);
        format!("http://{}:{}@{base}/{rel}", self.user, self.password)
    }
}

/// The server, or `None` (skip) outside CI when it cannot be started.
pub fn http_server() -> Option<&'static HttpServer> {
    static SERVER: OnceLock<Option<HttpServer>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let v = script_env(
                "start-git-http.sh",
                &[
                    "AZFLUX_GIT_HTTP_URL",
                    "AZFLUX_GIT_HTTP_BEARER_URL",
                    "AZFLUX_GIT_HTTP_USER",
                    "AZFLUX_GIT_HTTP_PASSWORD",
                    "AZFLUX_GIT_HTTP_BEARER_TOKEN",
                    "AZFLUX_GIT_HTTP_REPOS",
                ],
            )?;
            Some(HttpServer {
                basic_base: v["AZFLUX_GIT_HTTP_URL"].clone(),
                bearer_base: v["AZFLUX_GIT_HTTP_BEARER_URL"].clone(),
                user: v["AZFLUX_GIT_HTTP_USER"].clone(),
                password: v["AZFLUX_GIT_HTTP_PASSWORD"].clone(),
                token: v["AZFLUX_GIT_HTTP_BEARER_TOKEN"].clone(),
                repos: PathBuf::from(&v["AZFLUX_GIT_HTTP_REPOS"]),
            })
        })
        .as_ref()
}

/// The sshd server.
pub struct SshServer {
    pub host: String,
    pub port: u16,
    pub repos: PathBuf,
    pub authorized_keys: PathBuf,
    pub known_hosts: PathBuf,
    pub git_user: String,
}

impl SshServer {
    /// Creates a fresh bare repository owned by the git user; returns its directory and URL.
    pub fn new_repo(&self, name: &str) -> (PathBuf, RepoUrl) {
        let name = unique(name);
        let dir = self.repos.join("org/project").join(format!("{name}.git"));
        init_fresh_bare_repo(&dir);
        let status = Command::new("chown")
            .args(["-R", &format!("{0}:{0}", self.git_user)])
            .arg(self.repos.join("org"))
            .status()
            .expect("chown");
        assert!(status.success(), "chown of the test repository failed");
        let url = format!(
            "ssh://git@{}:{}/v3/org/project/{name}",
            self.host, self.port
        );
        (dir, RepoUrl::parse(&url).unwrap())
    }

    /// Lets `key` log in as the git user.
    pub fn authorize(&self, key: &SshKeyPair) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.authorized_keys)
            .expect("open authorized_keys");
        // One write of one line: O_APPEND keeps concurrent test writers' lines whole.
        f.write_all(format!("{}\n", key.public_key_line()).as_bytes())
            .expect("append authorized key");
    }

    pub fn known_hosts_text(&self) -> String {
        std::fs::read_to_string(&self.known_hosts).expect("read known_hosts")
    }
}

/// The server, or `None` (skip) outside CI when it cannot be started.
pub fn ssh_server() -> Option<&'static SshServer> {
    static SERVER: OnceLock<Option<SshServer>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let v = script_env(
                "start-sshd.sh",
                &[
                    "AZFLUX_SSHD_HOST",
                    "AZFLUX_SSHD_PORT",
                    "AZFLUX_SSHD_REPOS",
                    "AZFLUX_SSHD_AUTHORIZED_KEYS",
                    "AZFLUX_SSHD_KNOWN_HOSTS",
                    "AZFLUX_SSHD_GIT_USER",
                ],
            )?;
            Some(SshServer {
                host: v["AZFLUX_SSHD_HOST"].clone(),
                port: v["AZFLUX_SSHD_PORT"]
                    .parse()
                    .expect("AZFLUX_SSHD_PORT is a port"),
                repos: PathBuf::from(&v["AZFLUX_SSHD_REPOS"]),
                authorized_keys: PathBuf::from(&v["AZFLUX_SSHD_AUTHORIZED_KEYS"]),
                known_hosts: PathBuf::from(&v["AZFLUX_SSHD_KNOWN_HOSTS"]),
                git_user: v["AZFLUX_SSHD_GIT_USER"].clone(),
            })
        })
        .as_ref()
}

/// One RSA-4096 key per test process (slow to generate in a debug build).
pub fn rsa4096() -> &'static SshKeyPair {
    static KEY: OnceLock<SshKeyPair> = OnceLock::new();
    KEY.get_or_init(|| SshKeyPair::generate(SshKeyAlgorithm::default()).expect("RSA-4096 keygen"))
}

/// Commits on `branch` of a bare repository, as listed by the git CLI (newest first).
pub fn log(bare: &Path, branch: &str) -> Vec<String> {
    let out = git(
        &[
            "--git-dir",
            bare.to_str().unwrap(),
            "log",
            "--format=%H %s",
            branch,
        ],
        None,
    );
    out.lines().map(str::to_string).collect()
}

/// A file on `branch` of a bare repository, via the git CLI.
pub fn show(bare: &Path, branch: &str, path: &str) -> String {
    git(
        &[
            "--git-dir",
            bare.to_str().unwrap(),
            "show",
            &format!("{branch}:{path}"),
        ],
        None,
    )
}
