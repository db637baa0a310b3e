#![doc = include_str!("../README.md")]

pub mod arm;
pub mod clock;
pub mod cloud;
pub mod credential;
pub mod error;
#[cfg(feature = "fake")]
pub mod fake;
pub mod http;
pub mod secret;
pub mod test_servers;
pub mod tls;

pub use azure_core::credentials::TokenCredential;
pub use cloud::Cloud;
pub use error::{Error, Result, ServiceError};
pub use tls::install_crypto_provider;
