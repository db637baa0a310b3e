//! `cargo xtask sops encrypt|decrypt|edit|rotate|updatekeys FILE`: sops' commands with the same flags and exit codes.

use std::process::ExitCode;

/// Entry point: `args` are the words after `cargo xtask sops`.
pub fn main(args: Vec<String>) -> ExitCode {
    let _ = args;
    eprintln!("`cargo xtask sops` is not available yet (issue #7)");
    ExitCode::FAILURE
}
