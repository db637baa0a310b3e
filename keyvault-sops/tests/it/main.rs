//! Integration tests of keyvault-sops: known-answer vectors built from the documented algorithms, the error
//! contract, minimal re-encryption diffs, key operations, the stores, and a cross-check with the independent
//! npm `sops-age` decryptor.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cloned_ref_to_slice_refs,
    reason = "test helpers panic on unexpected failures"
)]

mod common;
mod engine;
mod errors;
mod formats;
mod hostile;
mod keys;
mod keyvault;
mod sops_age;
mod vaults;
