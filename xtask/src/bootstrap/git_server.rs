//! The sandbox's "Azure DevOps repository": bare repositories on disk served over smart HTTP by the real
//! `git http-backend` (as CGI) behind a small in-process HTTP server that checks a PAT with basic auth,
//! as Azure DevOps does. The plain-git `GitHost` of devops-git pushes to it like to Azure DevOps.

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

struct State {
    root: PathBuf,
    pat: SecretString,
    requests: AtomicU64,
    delay: Duration,
    ssh_keys: std::sync::Mutex<Vec<String>>,
}

/// A running git server.
#[derive(Clone)]
pub struct GitServer {
    state: Arc<State>,
    base: String,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for GitServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitServer")
            .field("base", &self.base)
            .field("root", &self.state.root)
            .finish_non_exhaustive()
    }
}

impl GitServer {
    /// Serves the repositories under `root` on a free local port; pushes and fetches need basic auth with
    /// password `pat` (any user name). `delay`: a simulated latency added to each request (benchmarks).
    pub async fn start(root: &Path, pat: SecretString, delay: Duration) -> std::io::Result<Self> {
        std::fs::create_dir_all(root)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            root: root.to_path_buf(),
            pat,
            requests: AtomicU64::new(0),
            delay,
            ssh_keys: std::sync::Mutex::new(Vec::new()),
        });
        let serving = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = serving.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(req, state.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(GitServer {
            state,
            base: format!("http://127.0.0.1:{}", addr.port()),
            task: Arc::new(task),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The directory holding the bare repositories.
    pub fn root(&self) -> &Path {
        &self.state.root
    }

    /// Requests served so far.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Creates (if missing) the bare repository at `rel` (`org/project/_git/name`), default branch `main`,
    /// and returns its URL.
    pub fn create_repository(&self, rel: &str) -> Result<String, git2::Error> {
        let dir = self.state.root.join(rel);
        if git2::Repository::open_bare(&dir).is_err() {
            let mut opts = git2::RepositoryInitOptions::new();
            opts.bare(true).initial_head("main").mkpath(true);
            let repo = git2::Repository::init_opts(&dir, &opts)?;
            repo.config()?.set_bool("http.receivepack", true)?;
        }
        Ok(format!("{}/{rel}", self.base))
    }

    /// Registers an SSH public key (authorized-keys line) the server accepts, as a user's SSH public key
    /// in Azure DevOps. The server serves git over HTTP only: SSH keys are checked when Flux resolves a
    /// GitRepository (`ssh://` URL, Secret with `identity.pub`), not for pushes.
    pub fn register_ssh_key(&self, public_key_line: &str) {
        self.state
            .ssh_keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(public_key_line.trim().to_owned());
    }

    /// The `ssh://` form of this server's URLs: `ssh://git@127.0.0.1:<port>`.
    fn ssh_base(&self) -> String {
        self.base.replacen("http://", "ssh://git@", 1)
    }

    /// The directory of the repository at `url` (HTTP or `ssh://git@` form), if it is one of ours.
    pub fn repository_dir(&self, url: &str) -> Option<PathBuf> {
        let rel = url
            .strip_prefix(&self.base)
            .or_else(|| url.strip_prefix(&self.ssh_base()))?
            .trim_start_matches('/');
        let dir = self.state.root.join(rel);
        dir.is_dir().then_some(dir)
    }

    /// What source-controller would fetch: the commit `branch` points at in the repository at `url`,
    /// authenticating with the `username`/`password` of a Flux git Secret's data, or for an `ssh://` URL
    /// with its `identity.pub` (a registered key) and `known_hosts` (naming this host).
    pub fn resolve(
        &self,
        url: &str,
        branch: &str,
        secret: Option<&std::collections::BTreeMap<String, String>>,
    ) -> Result<String, String> {
        if url.starts_with("ssh://") {
            let public = secret.and_then(|s| s.get("identity.pub"));
            let registered = self
                .state
                .ssh_keys
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            if secret.and_then(|s| s.get("identity")).is_none()
                || !public.is_some_and(|p| registered.iter().any(|k| k == p.trim()))
            {
                return Err(format!(
                    "failed to checkout and determine revision: unable to clone '{url}': ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey]"
                ));
            }
            let host = self.base.trim_start_matches("http://");
            let known = secret
                .and_then(|s| s.get("known_hosts"))
                .is_some_and(|k| k.contains(&format!("[{}", host.replacen(':', "]:", 1))));
            if !known {
                return Err(format!(
                    "failed to checkout and determine revision: unable to clone '{url}': ssh: handshake failed: knownhosts: key is unknown"
                ));
            }
        } else if secret.and_then(|s| s.get("password")).map(String::as_str)
            != Some(self.state.pat.expose_secret())
        {
            return Err(format!(
                "failed to checkout and determine revision: unable to clone '{url}': authentication required"
            ));
        }
        let dir = self
            .repository_dir(url)
            .ok_or_else(|| format!("unable to clone '{url}': repository not found"))?;
        let repo = git2::Repository::open_bare(&dir).map_err(|e| e.message().to_owned())?;
        let oid = repo
            .refname_to_id(&format!("refs/heads/{branch}"))
            .map_err(|_| {
                format!("unable to clone '{url}': couldn't find remote ref 'refs/heads/{branch}'")
            })?;
        Ok(oid.to_string())
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

fn reply(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(k.as_bytes()),
            hyper::header::HeaderValue::from_str(v),
        ) {
            r.headers_mut().append(k, v);
        }
    }
    r
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<State>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    state.requests.fetch_add(1, Ordering::SeqCst);
    if !state.delay.is_zero() {
        tokio::time::sleep(state.delay).await;
    }
    let user = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|up| {
            let (u, p) = up.split_once(':')?;
            (p == state.pat.expose_secret()).then(|| u.to_owned())
        });
    let Some(user) = user else {
        return Ok(reply(
            401,
            &[("www-authenticate", "Basic realm=\"azflux sandbox\"")],
            "authentication required\n",
        ));
    };
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (content_type, encoding, protocol) = (
        header("content-type"),
        header("content-encoding"),
        header("git-protocol"),
    );
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(reply(400, &[], "could not read the request body\n")),
    };
    Ok(run_backend(
        &state.root,
        &method,
        &path,
        &query,
        &content_type,
        &encoding,
        &protocol,
        &user,
        body,
    )
    .await)
}

#[allow(clippy::too_many_arguments)]
async fn run_backend(
    root: &Path,
    method: &str,
    path: &str,
    query: &str,
    content_type: &str,
    encoding: &str,
    protocol: &str,
    user: &str,
    body: Bytes,
) -> Response<Full<Bytes>> {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", root)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REQUEST_METHOD", method)
        .env("CONTENT_TYPE", content_type)
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_USER", user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if !encoding.is_empty() {
        cmd.env("HTTP_CONTENT_ENCODING", encoding);
    }
    if !protocol.is_empty() {
        cmd.env("GIT_PROTOCOL", protocol);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return reply(500, &[], format!("could not run git http-backend: {e}\n")),
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&body).await;
        drop(stdin);
    }
    let out = match child.wait_with_output().await {
        Ok(o) => o,
        Err(e) => return reply(500, &[], format!("git http-backend failed: {e}\n")),
    };
    let stdout = out.stdout;
    let split = stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, 4))
        .or_else(|| stdout.windows(2).position(|w| w == b"\n\n").map(|p| (p, 2)));
    let Some((end, sep)) = split else {
        return reply(500, &[], "git http-backend wrote no headers\n");
    };
    let head = String::from_utf8_lossy(&stdout[..end]).to_string();
    let mut status = 200;
    let mut headers = Vec::new();
    for line in head.lines() {
        if let Some((k, v)) = line.split_once(':') {
            let (k, v) = (k.trim(), v.trim());
            if k.eq_ignore_ascii_case("status") {
                status = v
                    .split_whitespace()
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(500);
            } else {
                headers.push((k.to_owned(), v.to_owned()));
            }
        }
    }
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    reply(status, &refs, Bytes::copy_from_slice(&stdout[end + sep..]))
}
