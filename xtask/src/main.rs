//! `cargo xtask`: the azflux command line. Thin: it parses flags and calls the `xtask` library.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "azflux: Flux CD on Azure", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Bootstrap Flux on AKS. With no configuration, runs on the embedded fake cloud.
    Bootstrap(xtask::bootstrap::BootstrapArgs),
    /// Benchmarks (`cargo xtask bench bootstrap`, `cargo xtask bench sops`).
    Bench {
        #[command(subcommand)]
        what: Bench,
    },
    /// Serve the whole fake Azure cloud until interrupted.
    FakeAzure {
        /// Port of the front door (0 = any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Serve HTTPS with a generated certificate (its CA is printed and written to a file).
        #[arg(long, conflicts_with = "proxy")]
        https: bool,
        /// Serve as an HTTP proxy: CONNECT to any Azure host name, TLS from a generated CA (see the `env`
        /// of the JSON line).
        #[arg(long)]
        proxy: bool,
        /// With --proxy: how long long-running operations (cluster, registry, namespace creation…) take,
        /// in seconds (default: each fake's realistic time).
        #[arg(long, requires = "proxy")]
        operation_seconds: Option<u64>,
        /// Print one JSON line with the endpoints and the sandbox credentials first.
        #[arg(long)]
        json: bool,
    },
    /// Run every test: installs what the tests need (as root) or says what to install, starts the local
    /// servers, runs the suite with CI's rule (a missing server fails), then conformance; prints the counts.
    Test(xtask::test_runner::TestArgs),
    /// Run the conformance checks against upstream fixtures kept outside the repo.
    Conformance {
        /// The fixtures directory (`../shared/fixtures`).
        #[arg(long)]
        fixtures: PathBuf,
        /// Run only this suite (flux, sops…).
        #[arg(long)]
        only: Option<String>,
    },
    /// The flux CLI's `create … --export` and `install --export`, byte for byte.
    #[command(disable_help_flag = true)]
    Flux {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Event Hubs tokens for Flux: `sync`, `send`, `manifests`.
    #[command(disable_help_flag = true)]
    Eventhub {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// sops' encrypt, decrypt, edit, rotate and updatekeys.
    #[command(disable_help_flag = true)]
    Sops {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    // Before any HTTP client (azure_identity's included) is built.
    azflux_core::install_crypto_provider();
    let cli = Cli::parse();
    match cli.command {
        Command::Conformance { fixtures, only } => conformance(&fixtures, only.as_deref()),
        Command::FakeAzure {
            port,
            https,
            proxy,
            operation_seconds,
            json,
        } => run_async(fake_azure(
            port,
            https,
            proxy.then(|| operation_seconds.map(std::time::Duration::from_secs)),
            json,
        )),
        Command::Bootstrap(args) => bootstrap(args),
        Command::Test(args) => xtask::test_runner::main(args),
        Command::Bench { what } => bench(what),
        Command::Flux { args } => xtask::flux_cli::main(args),
        Command::Sops { args } => xtask::sops_cli::main(args),
        Command::Eventhub { args } => xtask::eventhub_cli::main(args),
    }
}

/// The benchmarks; each subcommand is one benchmark.
#[derive(Subcommand)]
enum Bench {
    /// The sandbox bootstrap with simulated latency, for fleets of several sizes.
    Bootstrap(xtask::bootstrap::bench::BenchBootstrapArgs),
    /// SOPS age encrypt/decrypt of a generated YAML, beside npm sops-age (build with --release).
    Sops(xtask::sops_cli::bench::BenchSopsArgs),
}

fn bootstrap(args: xtask::bootstrap::BootstrapArgs) -> ExitCode {
    let mut ok = false;
    let code = run_async(async {
        ok = xtask::bootstrap::main(args).await?;
        Ok(())
    });
    if ok { code } else { ExitCode::FAILURE }
}

fn bench(what: Bench) -> ExitCode {
    match what {
        Bench::Bootstrap(args) => run_async(async move {
            let rows = xtask::bootstrap::bench::run(&args).await?;
            println!("{}", xtask::bootstrap::bench::table(&args, &rows));
            Ok(())
        }),
        Bench::Sops(args) => run_async(async move {
            let report = xtask::sops_cli::bench::run(&args).await?;
            println!("{}", xtask::sops_cli::bench::table(&report));
            Ok(())
        }),
    }
}

fn run_async(future: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(future) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `proxy`: serve as the HTTPS proxy, with these long-running operation times.
async fn fake_azure(
    port: u16,
    https: bool,
    proxy: Option<Option<std::time::Duration>>,
    json: bool,
) -> anyhow::Result<()> {
    let served = if let Some(operations) = proxy {
        xtask::fake_azure::start_proxy(port, None, operations).await?
    } else {
        xtask::fake_azure::start(port, https, None).await?
    };
    if json {
        println!("{}", served.description);
    } else if proxy.is_some() {
        println!(
            "fake Azure cloud proxy on {} (tenant {}, client {}); CA certificate: {}; Ctrl-C to stop",
            served.description["proxy"].as_str().unwrap_or_default(),
            served.description["tenant_id"].as_str().unwrap_or_default(),
            served.description["client_id"].as_str().unwrap_or_default(),
            served.description["ca_file"].as_str().unwrap_or_default(),
        );
        if let Some(env) = served.description["env"].as_object() {
            for (k, v) in env {
                println!("export {k}={}", v.as_str().unwrap_or_default());
            }
        }
    } else {
        println!(
            "fake Azure cloud serving on {} (tenant {}, client {}); Ctrl-C to stop",
            served.description["endpoint"].as_str().unwrap_or_default(),
            served.description["tenant_id"].as_str().unwrap_or_default(),
            served.description["client_id"].as_str().unwrap_or_default(),
        );
        if let Some(ca) = served.description["ca_cert_file"].as_str() {
            println!("CA certificate: {ca}");
        }
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    tokio::signal::ctrl_c().await?;
    served.task.abort();
    Ok(())
}

/// Without the `conformance` feature (the default build, which skips jsonschema), re-runs this command
/// through cargo with it.
#[cfg(not(feature = "conformance"))]
fn conformance(fixtures: &std::path::Path, only: Option<&str>) -> ExitCode {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!(
        "cargo xtask conformance: building xtask with feature `conformance` (CRD schema validation) first"
    );
    let mut c = std::process::Command::new(cargo);
    let fixtures = std::path::absolute(fixtures).unwrap_or_else(|_| fixtures.to_path_buf());
    c.arg("run")
        .arg("--manifest-path")
        .arg(xtask::human::workspace_root().join("Cargo.toml"))
        .args([
            "--quiet",
            "--package",
            "xtask",
            "--bin",
            "xtask",
            "--features",
            "conformance",
        ])
        .args(["--", "conformance", "--fixtures"])
        .arg(&fixtures);
    if let Some(o) = only {
        c.args(["--only", o]);
    }
    match c.status() {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => ExitCode::from(u8::try_from(s.code().unwrap_or(1)).unwrap_or(1)),
        Err(e) => {
            eprintln!(
                "cargo xtask conformance: could not run cargo ({e}); run `cargo run -p xtask --features conformance -- conformance --fixtures {}`",
                fixtures.display()
            );
            ExitCode::from(2)
        }
    }
}

#[cfg(feature = "conformance")]
fn conformance(fixtures: &std::path::Path, only: Option<&str>) -> ExitCode {
    match xtask::conformance::run_all(fixtures, only) {
        Ok(reports) => {
            let mut failed = 0usize;
            let mut passed = 0usize;
            for report in &reports {
                for case in &report.cases {
                    match &case.failure {
                        None => passed += 1,
                        Some(why) => {
                            failed += 1;
                            println!("FAIL {}: {}\n{}", report.suite, case.name, why);
                        }
                    }
                }
                println!(
                    "conformance {}: {} cases, {} failed",
                    report.suite,
                    report.cases.len(),
                    report.failures().count()
                );
            }
            println!("conformance: {passed} passed, {failed} failed");
            if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
