//! A real `docker-registry` (distribution 2.8) on 127.0.0.1 with `auth: token` trusting a [`FakeAcr`]'s
//! signing certificate. Shared by the integration tests and the benchmark.

use acr_oci::FakeAcr;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A running registry; killed on drop.
pub struct LocalRegistry {
    child: Child,
    /// `127.0.0.1:<port>`: the registry's host and its token `service`.
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tool from an environment variable (set by `tests/servers/ci-setup.sh`) or its usual path. Missing:
/// `None`, or a failure when `CI` is set (CI must run every test).
pub fn tool(env: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    if path.exists() {
        return Some(path);
    }
    azflux_core::test_servers::missing(
        &format!("{} ({env})", path.display()),
        "source acr-oci/tests/servers/ci-setup.sh",
    );
    None
}

impl LocalRegistry {
    /// Starts a registry whose token auth trusts `acr`, or `None` when docker-registry is not installed
    /// (outside CI).
    pub fn start(acr: &FakeAcr) -> Option<Self> {
        let bin = tool("AZFLUX_DOCKER_REGISTRY", "/usr/bin/docker-registry")?;
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let cert = dir.path().join("token-signer.pem");
        std::fs::write(&cert, acr.certificate_pem()).expect("write cert");
        let config = format!(
            "version: 0.1\nlog:\n  level: info\n  formatter: text\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n  secret: azflux-test-{port}\n{}",
            dir.path().join("data").display(),
            acr.registry_auth_config(&addr, &cert)
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write config");
        let mut child = Command::new(&bin)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            let mut log = Vec::new();
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("listening on") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(Ok(()));
                    }
                } else if tx.is_some() {
                    log.push(line);
                }
            }
            if let Some(tx) = tx.take() {
                let _ = tx.send(Err(log.join("\n")));
            }
        });
        match rx.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(Ok(())) => Some(Self {
                child,
                addr,
                _dir: dir,
            }),
            Ok(Err(log)) => panic!("docker-registry exited before listening:\n{log}"),
            Err(e) => panic!("docker-registry did not start listening: {e}"),
        }
    }
}
