//! Integration tests of devops-git: the URL table, keys and credentials, the push guard, and the
//! plain-git host against real servers (git http-backend, sshd).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]

mod guard;
mod keys;
mod plain_git_http;
mod plain_git_ssh;
mod support;
mod url_table;
