//! Integration tests of devops-git: the URL table, keys and credentials, the push guard, and the
//! plain-git host against real servers (git http-backend, sshd), the Azure DevOps REST host and
//! PAT rotation against the fake (feature `fake`), and the shared contract suite on both.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]

#[cfg(feature = "fake")]
mod contract_plain;
mod flux_secret;
mod guard;
mod keys;
#[cfg(feature = "fake")]
mod pat_rotation;
mod plain_git_http;
mod plain_git_ssh;
#[cfg(feature = "fake")]
mod rest_host;
mod support;
mod url_table;
