//! `cargo xtask test`: the one command that sets up what the tests need and runs them all.
//!
//! 1. **Tools.** Checks the system tools the tests drive (git, lighttpd, sshd, docker-registry, skopeo,
//!    Python venvs, node/npm, the OpenSSL headers). Missing ones are installed with `apt-get` when running
//!    as root on Debian/Ubuntu; otherwise the command prints exactly what to install and stops.
//! 2. **Servers.** Sources every `*/tests/servers/ci-setup.sh` (each crate ships its own; they create the
//!    Python venvs and npm packages and start the git servers) in one shell, with a private state directory
//!    under the target directory and free ports on 127.0.0.1, so it never collides with servers somebody
//!    else started. The variables the scripts export are passed to the tests. The servers it started are
//!    stopped at the end.
//! 3. **Tests.** `cargo test --workspace --all-features --no-fail-fast` with CI's rule (`CI=true`): a test
//!    whose server is missing fails, it never skips (see `azflux_core::test_servers`).
//! 4. **Conformance.** `cargo xtask conformance --fixtures ../shared/fixtures` when that directory exists
//!    (or `AZFLUX_FIXTURES`).
//! 5. **Summary.** Passed / failed / ignored counts over every test binary and doc test, the conformance
//!    result, and the time taken.

use crate::human;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// `cargo xtask test` options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TestArgs {
    /// Test only these packages (default: the whole workspace).
    #[arg(short = 'p', long = "package")]
    pub packages: Vec<String>,
    /// Skip the tool check and the server set-up (use what the environment already provides).
    #[arg(long)]
    pub no_setup: bool,
    /// Skip the conformance suite.
    #[arg(long)]
    pub no_conformance: bool,
    /// Arguments for the test binaries (after `--`), e.g. a test name filter.
    #[arg(last = true)]
    pub test_args: Vec<String>,
}

/// A system tool the tests need, and the Debian package that provides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tool {
    /// The Debian package.
    pub package: &'static str,
    /// How to tell it is there: a command on `PATH` (or in `/usr/sbin`), or an absolute file path.
    pub probe: &'static str,
    /// Which tests need it.
    pub used_by: &'static str,
}

/// Every system tool the test suite drives. `ci-setup.sh` scripts may install more (Python and npm
/// packages); a package they install with `apt-get` belongs here too (a test checks it).
pub const TOOLS: &[Tool] = &[
    Tool {
        package: "pkg-config",
        probe: "pkg-config",
        used_by: "building libgit2 with the system OpenSSL",
    },
    Tool {
        package: "libssl-dev",
        probe: "/usr/include/openssl/ssl.h",
        used_by: "building libgit2 with the system OpenSSL",
    },
    Tool {
        package: "curl",
        probe: "curl",
        used_by: "the server set-up scripts",
    },
    Tool {
        package: "git",
        probe: "git",
        used_by: "devops-git and xtask (git http-backend, bare repositories)",
    },
    Tool {
        package: "lighttpd",
        probe: "lighttpd",
        used_by: "devops-git (git http-backend behind basic/bearer auth)",
    },
    Tool {
        package: "openssh-server",
        probe: "sshd",
        used_by: "devops-git and xtask (pushes and reconciles over SSH)",
    },
    Tool {
        package: "openssh-client",
        probe: "ssh-keygen",
        used_by: "devops-git (host keys)",
    },
    Tool {
        package: "docker-registry",
        probe: "docker-registry",
        used_by: "acr-oci (a real registry with token auth)",
    },
    Tool {
        package: "skopeo",
        probe: "skopeo",
        used_by: "acr-oci (benchmark peer)",
    },
    Tool {
        package: "python3-venv",
        probe: "/usr/lib/python3*/ensurepip/__init__.py",
        used_by: "the Python venvs (Azure SDK, az CLI, Helm v4)",
    },
    Tool {
        package: "python3-pip",
        probe: "pip3",
        used_by: "the Python venvs",
    },
    Tool {
        package: "nodejs",
        probe: "node",
        used_by: "keyvault-sops (the npm sops-age decryptor)",
    },
    Tool {
        package: "npm",
        probe: "npm",
        used_by: "keyvault-sops (installs sops-age)",
    },
];

/// Whether `probe` (a command name, an absolute path, or a path with one `*` in a file-name part) exists.
pub fn probe_exists(probe: &str) -> bool {
    if probe.starts_with('/') {
        return glob_exists(Path::new(probe));
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from));
    dirs.iter().any(|d| d.join(probe).is_file())
}

fn glob_exists(path: &Path) -> bool {
    let path = human::normalize(path);
    let text = path.to_string_lossy();
    let Some(star) = text.find('*') else {
        return path.exists();
    };
    let dir_end = text[..star].rfind('/').unwrap_or(0);
    let (dir, rest) = (&text[..dir_end.max(1)], &text[dir_end + 1..]);
    let (part, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let (prefix, suffix) = part.split_once('*').unwrap_or((part, ""));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        name.starts_with(prefix)
            && name.ends_with(suffix)
            && (tail.is_empty() || glob_exists(&e.path().join(tail)))
    })
}

/// The tools that are missing.
pub fn missing_tools() -> Vec<Tool> {
    TOOLS
        .iter()
        .copied()
        .filter(|t| !probe_exists(t.probe))
        .collect()
}

/// The lines to print for missing tools when they cannot be installed here.
pub fn install_advice(missing: &[Tool]) -> String {
    let mut text = String::from("the tests need these system tools, which are missing:\n");
    for t in missing {
        text.push_str(&format!("  {:<16} for {}\n", t.package, t.used_by));
    }
    let packages: Vec<&str> = missing.iter().map(|t| t.package).collect();
    text.push_str(&format!(
        "install them with:\n  sudo apt-get install -y {}\nthen run `cargo xtask test` again (as root it installs them itself).\n",
        packages.join(" ")
    ));
    text
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn install(missing: &[Tool]) -> Result<(), String> {
    let packages: Vec<&str> = missing.iter().map(|t| t.package).collect();
    eprintln!("== installing {}", packages.join(" "));
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|e| format!("apt-get could not run: {e}"))
            .and_then(|s| {
                s.success()
                    .then_some(())
                    .ok_or_else(|| format!("apt-get {} failed ({s})", args.join(" ")))
            })
    };
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq"];
    args.extend(packages);
    apt(&args)
}

/// Parses `env -0` output.
fn parse_env(bytes: &[u8]) -> BTreeMap<OsString, OsString> {
    use std::os::unix::ffi::OsStrExt as _;
    bytes
        .split(|b| *b == 0)
        .filter_map(|entry| {
            let eq = entry.iter().position(|b| *b == b'=')?;
            Some((
                std::ffi::OsStr::from_bytes(&entry[..eq]).to_owned(),
                std::ffi::OsStr::from_bytes(&entry[eq + 1..]).to_owned(),
            ))
        })
        .collect()
}

fn free_port() -> Option<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .ok()
}

/// The servers started for one run: their state directory (pid files) and the variables to test with.
struct Servers {
    dir: PathBuf,
    env: BTreeMap<OsString, OsString>,
}

impl Servers {
    /// Sources every `*/tests/servers/ci-setup.sh` in one bash, with the servers' state under `dir` and free
    /// ports; returns the variables they changed.
    fn start(root: &Path, dir: PathBuf) -> Result<Self, String> {
        stop_pids(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("could not create {}: {e}", dir.display()))?;
        let mut scripts: Vec<PathBuf> = std::fs::read_dir(root)
            .map_err(|e| format!("could not read {}: {e}", root.display()))?
            .flatten()
            .map(|e| e.path().join("tests/servers/ci-setup.sh"))
            .filter(|p| p.is_file())
            .collect();
        scripts.sort();
        let (Some(http), Some(ssh)) = (free_port(), free_port()) else {
            return Err("no free port on 127.0.0.1".into());
        };
        let mut script = String::from("set -e\n");
        for s in &scripts {
            let rel = s.strip_prefix(root).unwrap_or(s);
            script.push_str(&format!(
                "echo '== {}' >&2\nsource '{}' >&2\n",
                rel.display(),
                s.display()
            ));
        }
        script.push_str("env -0\n");
        let before: BTreeMap<OsString, OsString> = std::env::vars_os().collect();
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(root)
            .env("AZFLUX_GIT_SERVERS_DIR", &dir)
            .env("AZFLUX_GIT_HTTP_PORT", http.to_string())
            .env("AZFLUX_SSHD_PORT", ssh.to_string())
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("bash could not run: {e}"))?;
        let servers = Servers {
            dir,
            env: BTreeMap::new(),
        };
        if !out.status.success() {
            servers.stop();
            return Err(format!(
                "a server set-up script failed ({}): see its output above (the last `==` line names it)",
                out.status
            ));
        }
        let after = parse_env(&out.stdout);
        let env = after
            .into_iter()
            .filter(|(k, v)| before.get(k) != Some(v) && k != "_" && k != "SHLVL" && k != "OLDPWD")
            .collect();
        Ok(Servers { env, ..servers })
    }

    fn stop(&self) {
        let stopped = stop_pids(&self.dir);
        if stopped > 0 {
            eprintln!("== stopped {stopped} test server(s)");
        }
    }
}

/// Sends SIGTERM to the process of every `*.pid` file under `dir` (the servers the set-up started there);
/// how many it signalled.
fn stop_pids(dir: &Path) -> usize {
    let mut stopped = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "pid")
                && let Ok(text) = std::fs::read_to_string(&path)
                && let Ok(pid) = text.trim().parse::<u32>()
                && pid > 1
                && Command::new("kill")
                    .arg(pid.to_string())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            {
                stopped += 1;
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    stopped
}

/// Counts over every `test result:` line of a libtest run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Tests passed.
    pub passed: u64,
    /// Tests failed.
    pub failed: u64,
    /// Tests that libtest reported as ignored (each carries its reason in the source).
    pub ignored: u64,
    /// Test binaries and doc-test runs that reported.
    pub suites: u64,
}

impl Counts {
    /// Adds a `test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; …` line.
    pub fn add_line(&mut self, line: &str) -> bool {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return false;
        };
        let mut parsed = false;
        for part in rest.split(';') {
            let words: Vec<&str> = part.split_whitespace().collect();
            let (Some(n), Some(what)) = (
                words
                    .iter()
                    .rev()
                    .nth(1)
                    .and_then(|n| n.parse::<u64>().ok()),
                words.last(),
            ) else {
                continue;
            };
            parsed = true;
            match *what {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                "ignored" => self.ignored += n,
                _ => {}
            }
        }
        if parsed {
            self.suites += 1;
        }
        parsed
    }
}

/// Runs `command`, echoing its standard output line by line, and calls `line` on each.
fn run_echoing(command: &mut Command, mut line: impl FnMut(&str)) -> Result<bool, String> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("could not run {command:?}: {e}"))?;
    if let Some(out) = child.stdout.take() {
        let mut stdout = std::io::stdout();
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = writeln!(stdout, "{l}");
            line(&l);
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("could not wait for {command:?}: {e}"))?;
    Ok(status.success())
}

/// The fixtures directory: `AZFLUX_FIXTURES` when set (a git worktree or clone that has no `../shared`
/// beside it), else `../shared/fixtures` next to the repository.
pub fn default_fixtures() -> PathBuf {
    if let Some(dir) = std::env::var_os("AZFLUX_FIXTURES") {
        return human::normalize(&PathBuf::from(dir));
    }
    human::normalize(&human::workspace_root().join("../shared/fixtures"))
}

/// The fixtures directory conformance runs against, when it exists.
pub fn fixtures_dir() -> Option<PathBuf> {
    let dir = default_fixtures();
    dir.is_dir().then_some(dir)
}

/// `cargo xtask test`.
pub fn main(args: TestArgs) -> ExitCode {
    let started = Instant::now();
    let root = human::workspace_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // 1. Tools.
    if !args.no_setup {
        let missing = missing_tools();
        if !missing.is_empty() {
            let installable = is_root() && probe_exists("apt-get");
            let result = if installable {
                install(&missing)
            } else {
                Err(install_advice(&missing))
            };
            if let Err(e) = result {
                eprintln!("cargo xtask test: {e}");
                return ExitCode::from(2);
            }
            let still = missing_tools();
            if !still.is_empty() {
                eprintln!("cargo xtask test: {}", install_advice(&still));
                return ExitCode::from(2);
            }
        }
    }
    // 2. Servers.
    let servers = if args.no_setup {
        None
    } else {
        match Servers::start(&root, human::target_dir().join("azflux-test-servers")) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("cargo xtask test: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let fixtures = fixtures_dir();
    // 3. Tests, with CI's rule.
    let mut test = Command::new(&cargo);
    test.arg("test").current_dir(&root);
    if args.packages.is_empty() {
        test.arg("--workspace");
    }
    for p in &args.packages {
        test.args(["-p", p]);
    }
    test.args(["--all-features", "--no-fail-fast"]);
    if !args.test_args.is_empty() {
        test.arg("--").args(&args.test_args);
    }
    test.env("CI", "true").env("AZFLUX_REQUIRE_SERVERS", "1");
    if let Some(f) = &fixtures {
        test.env("AZFLUX_FIXTURES", f);
    }
    if let Some(s) = &servers {
        test.envs(&s.env);
    }
    eprintln!("== cargo test (CI's rule: a test whose server is missing fails)");
    let mut counts = Counts::default();
    let tests_ok = run_echoing(&mut test, |l| {
        counts.add_line(l);
    });
    if let Some(s) = &servers {
        s.stop();
    }
    let tests_ok = match tests_ok {
        Ok(ok) => ok,
        Err(e) => {
            eprintln!("cargo xtask test: {e}");
            return ExitCode::from(2);
        }
    };
    // 4. Conformance.
    let conformance = match (&fixtures, args.no_conformance || !args.test_args.is_empty()) {
        (Some(f), false) => {
            eprintln!("== cargo xtask conformance --fixtures {}", f.display());
            let mut c = Command::new(&cargo);
            c.current_dir(&root)
                .args(["run", "--quiet", "--package", "xtask", "--bin", "xtask"])
                .args(["--features", "conformance"])
                .args(["--", "conformance", "--fixtures"])
                .arg(f);
            let mut last = String::new();
            let ok = run_echoing(&mut c, |l| {
                if l.starts_with("conformance: ") {
                    last = l.trim_start_matches("conformance: ").to_owned();
                }
            });
            Some((ok.unwrap_or(false), last))
        }
        (None, false) => {
            eprintln!(
                "== conformance not run: no fixtures at {} (set AZFLUX_FIXTURES)",
                default_fixtures().display()
            );
            None
        }
        (_, true) => None,
    };
    // 5. Summary.
    let conformance_ok = conformance.as_ref().is_none_or(|(ok, _)| *ok);
    let ok = tests_ok && conformance_ok;
    println!();
    println!(
        "cargo xtask test: {} in {}",
        if ok { "ok" } else { "FAILED" },
        human::duration(started.elapsed())
    );
    println!(
        "  tests:       {} passed, {} failed, {} ignored, 0 skipped ({} test runs; a test whose server is missing fails under CI's rule){}",
        counts.passed,
        counts.failed,
        counts.ignored,
        counts.suites,
        if tests_ok || counts.failed > 0 {
            ""
        } else {
            " — cargo test failed before running every test (a build error?)"
        }
    );
    match &conformance {
        Some((true, what)) => println!("  conformance: ok ({what})"),
        Some((false, what)) => println!("  conformance: FAILED ({what})"),
        None => println!("  conformance: not run"),
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_every_test_result_line() {
        let mut c = Counts::default();
        assert!(c.add_line(
            "test result: ok. 72 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 185.13s"
        ));
        assert!(c.add_line(
            "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.1s"
        ));
        assert!(!c.add_line("running 3 tests"));
        assert_eq!(
            c,
            Counts {
                passed: 75,
                failed: 2,
                ignored: 1,
                suites: 2
            }
        );
    }

    #[test]
    fn env_output_parses() {
        let env = parse_env(b"A=1\0B=x=y\0\0");
        assert_eq!(env.get(&OsString::from("B")), Some(&OsString::from("x=y")));
        assert_eq!(env.len(), 2);
    }

    #[test]
    fn every_package_the_setup_scripts_install_is_checked_first() {
        // What a ci-setup.sh installs with apt-get must be in TOOLS, so that a user who is not root is told
        // about it before anything runs.
        let root = human::workspace_root();
        let known: Vec<&str> = TOOLS.iter().map(|t| t.package).collect();
        let mut scripts = 0;
        for entry in std::fs::read_dir(&root).unwrap().flatten() {
            let path = entry.path().join("tests/servers/ci-setup.sh");
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            scripts += 1;
            for line in text.lines() {
                let line = line.trim();
                let words: Vec<&str> = if let Some(list) = line
                    .strip_prefix("for p in ")
                    .and_then(|l| l.split(';').next())
                {
                    list.split_whitespace().collect()
                } else if let Some((_, list)) = line.split_once("apt-get install -y -qq ") {
                    list.split_whitespace()
                        .take_while(|w| !w.starts_with('>') && !w.starts_with('"'))
                        .collect()
                } else {
                    Vec::new()
                };
                for w in words {
                    assert!(
                        known.contains(&w),
                        "{} installs {w}, which test_runner::TOOLS does not list",
                        path.display()
                    );
                }
            }
        }
        assert!(scripts >= 3, "found {scripts} ci-setup.sh scripts");
    }

    #[test]
    fn probes_find_commands_and_files() {
        assert!(probe_exists("sh"));
        assert!(!probe_exists("no-such-command-azflux"));
        assert!(probe_exists("/"));
        assert!(!probe_exists("/no/such/*/file"));
        let advice = install_advice(&TOOLS[..2]);
        assert!(
            advice.contains("sudo apt-get install -y pkg-config libssl-dev"),
            "{advice}"
        );
    }
}
