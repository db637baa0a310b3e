//! Contract and scenario tests of azflux-core against the fake cloud.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod arm_kit;
mod credentials;
mod lro;
mod proxy;
mod redaction;
