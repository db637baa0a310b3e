//! What a test does when a local server or tool it needs is missing (docker-registry, git http-backend,
//! sshd, a Python venv with the Azure SDK, node with `sops-age`, the shared fixtures…).
//!
//! - Under CI (`CI` set and not empty — `cargo xtask test` and `.ci/run` set it), or with
//!   `AZFLUX_REQUIRE_SERVERS=1`: the test **fails**, saying what to run.
//! - Otherwise the test is skipped, and the skip is written to the process's real standard error. Not
//!   with `eprintln!`: the test harness captures that and shows it only for failing tests, so a plain
//!   `cargo test` used to pass quietly with servers missing. Written this way, every skip shows in the
//!   run's output, with the command that sets everything up ([`SETUP_COMMAND`]).
//!
//! ```
//! use azflux_core::test_servers;
//! fn python_venv() -> Option<std::path::PathBuf> { None }
//! # // Under CI the example would (rightly) fail: run it only outside.
//! # if test_servers::required() { return; }
//! let Some(venv) = python_venv() else {
//!     test_servers::missing(
//!         "a Python venv with the Azure SDK (AZFLUX_PY_VENV)",
//!         "source aks-cluster/tests/servers/ci-setup.sh",
//!     );
//!     return;
//! };
//! # let _ = venv;
//! ```

use std::io::Write as _;

/// The one command that installs and starts everything the tests need, then runs them all.
pub const SETUP_COMMAND: &str = "cargo xtask test";

/// Whether a missing server fails the test (CI's rule) rather than skipping it.
pub fn required() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    set("CI") || set("AZFLUX_REQUIRE_SERVERS")
}

/// Reports that `what` is missing for the current test; `fix` is the command that provides it.
///
/// # Panics
/// When [`required`]: the test fails with `what` and `fix`. Otherwise it returns, and the caller returns
/// from the test (a visible skip).
pub fn missing(what: &str, fix: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    if required() {
        panic!(
            "{test}: {what} is missing, and CI's rule is that such a test fails. Run `{SETUP_COMMAND}` \
             (installs and starts every server the tests need), or: {fix}"
        );
    }
    // Straight to file descriptor 2, past the harness's capture of `eprintln!`.
    let line = format!(
        "SKIPPED {test}: {what} is missing; run `{SETUP_COMMAND}` (installs and starts every server \
         the tests need), or: {fix}\n"
    );
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(line.as_bytes());
    let _ = err.flush();
}
