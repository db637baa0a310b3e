#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests of flux-objects: rendering through the public builders with expected outputs written
//! here, validation wording, secrets, bootstrap files and install manifests.

mod bootstrap;
mod install;
mod render;
mod secrets;
mod validation;
mod yaml;
