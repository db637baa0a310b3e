//! The library half of `cargo xtask`: everything the CLI does lives here so that it can be tested on its own.
//! `main.rs` only parses flags and calls into these modules.

pub mod bootstrap;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod credentials;
pub mod eventhub_cli;
pub mod fake_azure;
pub mod flux_cli;
pub mod human;
pub mod sops_cli;
pub mod test_runner;
