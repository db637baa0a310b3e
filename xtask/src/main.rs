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
    /// sops' encrypt, decrypt, edit, rotate and updatekeys.
    #[command(disable_help_flag = true)]
    Sops {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Conformance { fixtures, only } => conformance(&fixtures, only.as_deref()),
        Command::Flux { args } => xtask::flux_cli::main(args),
        Command::Sops { args } => xtask::sops_cli::main(args),
    }
}

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
            if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
