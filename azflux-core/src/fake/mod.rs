//! The fake Azure cloud (feature `fake`): stateful wiremock fakes behind a host router, a fake Entra ID,
//! fault injection and a manual clock, for contract tests and for `cargo xtask fake-azure`.

pub mod faults;
pub mod jwt;
pub mod router;
