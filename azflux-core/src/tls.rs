//! The process-wide rustls crypto provider.
//!
//! azflux builds rustls with the **ring** provider only (not aws-lc-rs, whose C build alone took about a
//! minute of a cold build on a 2-core machine), and reqwest with `rustls-no-provider`. reqwest then needs a
//! process-default provider before its first client is built: [`install_crypto_provider`] installs ring's.
//! Every azflux constructor that may build an HTTP client ([`crate::http::HttpPipeline::new`],
//! [`crate::http::HttpPipelineOptions::client_options`], the fake cloud) calls it, so applications need not;
//! one that builds azure_core / azure_identity / reqwest clients of its own before any azflux client calls it
//! first (or installs a provider of its choice: an installed provider is never replaced).
//!
//! ```
//! azflux_core::install_crypto_provider();
//! let client = reqwest::Client::new(); // would panic without a provider
//! # drop(client);
//! ```

/// Installs ring as rustls' process-default crypto provider, unless one is installed already. Idempotent
/// and cheap; safe to call from any thread at any time.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err means another thread (or the application) installed one first: that one stays.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
