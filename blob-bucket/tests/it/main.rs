//! Integration tests of blob-bucket against its fake (and, in `azurite`, the real Azurite).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
mod fake_storage;
