//! Clients no one here wrote against `cargo xtask fake-azure --proxy`: the az CLI and the official Python
//! SDKs, pinned from PyPI (`xtask/tests/servers/ci-setup.sh` creates their venvs under
//! `AZFLUX_FOREIGN_VENV`). They reach the fakes under the real Azure host names through the proxy's `env`
//! (HTTPS_PROXY, REQUESTS_CA_BUNDLE…), with TLS verified: nothing in them knows it talks to a fake.
//! Each test prints its counts per client and service. Without the venvs the tests fail under `CI`.

mod python_sdk;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A running `fake-azure --proxy`.
pub struct Proxy {
    child: Child,
    /// Its JSON line.
    pub d: serde_json::Value,
    /// A scratch directory (HOME, config and cache directories of the clients, scripts).
    pub dir: tempfile::TempDir,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proxy {
    /// Starts the proxy with 1-second long-running operations.
    pub fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args([
                "fake-azure",
                "--proxy",
                "--json",
                "--operation-seconds",
                "1",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start xtask fake-azure --proxy");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let d: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
        Self {
            child,
            d,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A command under the proxy's environment, with the sandbox principal in `AZ_*` and every client's
    /// home, config and cache directories in the scratch directory.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        for (k, v) in self.d["env"].as_object().unwrap() {
            c.env(k, v.as_str().unwrap());
        }
        for k in [
            "https_proxy",
            "http_proxy",
            "no_proxy",
            "all_proxy",
            "ALL_PROXY",
        ] {
            c.env_remove(k);
        }
        let home = self.dir.path();
        c.env("HOME", home)
            .env("AZURE_CONFIG_DIR", home.join("azure"))
            .env("AZURE_DEVOPS_CACHE_DIR", home.join("azure-devops"))
            .env("AZ_TENANT", self.d["tenant_id"].as_str().unwrap())
            .env("AZ_CLIENT", self.d["client_id"].as_str().unwrap())
            .env("AZ_SECRET", self.d["client_secret"].as_str().unwrap())
            .env("AZ_SUB", self.d["subscription_id"].as_str().unwrap())
            .env("AZ_OID", self.d["principal"]["object_id"].as_str().unwrap())
            .current_dir(home);
        c
    }
}

/// `$AZFLUX_FOREIGN_VENV/<name>/bin/<program>` (default venv root: `<target>/foreign-venv`). Missing: the
/// test is skipped, except under `CI`, where it fails.
pub fn venv_bin(name: &str, program: &str) -> Option<PathBuf> {
    let root = std::env::var_os("AZFLUX_FOREIGN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/foreign-venv")
        });
    let bin = root.join(name).join("bin").join(program);
    if bin.exists() {
        return Some(bin);
    }
    azflux_core::test_servers::missing(
        &format!("the foreign-client venv {}", bin.display()),
        "source xtask/tests/servers/ci-setup.sh",
    );
    None
}

/// One check's result line.
#[derive(Debug)]
pub struct Check {
    pub service: String,
    pub check: String,
    pub ok: bool,
    pub error: String,
}

/// Parses the JSON result lines of a suite, prints the counts per service for `client`, and fails on any
/// failed check (with its error) or when fewer than `at_least` checks ran.
pub fn report(client: &str, stdout: &str, stderr: &str, at_least: usize) -> Vec<Check> {
    let checks: Vec<Check> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| Check {
            service: v["service"].as_str().unwrap_or_default().to_owned(),
            check: v["check"].as_str().unwrap_or_default().to_owned(),
            ok: v["ok"].as_bool().unwrap_or(false),
            error: format!(
                "{}\n{}",
                v["error"].as_str().unwrap_or_default(),
                v["trace"].as_str().unwrap_or_default()
            ),
        })
        .collect();
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for c in &checks {
        let e = counts.entry(&c.service).or_default();
        if c.ok {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    for (service, (passed, failed)) in &counts {
        println!("foreign {client} {service}: {passed} passed, {failed} failed");
    }
    let failures: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{} {}: {}", c.service, c.check, c.error))
        .collect();
    assert!(
        failures.is_empty(),
        "{client}: {} checks failed:\n{}\nstderr:\n{stderr}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        checks.len() >= at_least,
        "{client}: only {} checks ran (expected {at_least}):\n{stdout}\nstderr:\n{stderr}",
        checks.len()
    );
    checks
}
