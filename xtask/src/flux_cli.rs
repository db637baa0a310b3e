//! `cargo xtask flux …`: the flux CLI's `create … --export` and `install --export`, printing the same bytes.

use std::process::ExitCode;

/// Entry point: `args` are the words after `cargo xtask flux`.
pub fn main(args: Vec<String>) -> ExitCode {
    let _ = args;
    eprintln!("✗ `cargo xtask flux` is not available yet (issue #3)");
    ExitCode::FAILURE
}
