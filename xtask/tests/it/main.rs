//! Integration tests of xtask: the CLI end to end.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod bootstrap;
mod bootstrap_config;
mod bootstrap_plan;
mod bootstrap_ssh;
mod brownfield;
mod credentials;
mod entra_kube;
mod eventhub_cli;
mod fake_azure;
mod flux_artifact;
mod flux_cli;
mod foreign;
mod lro_failure;
mod sops_cli;
