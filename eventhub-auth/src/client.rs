//! The real implementation(s) speaking the Azure REST contract.
//!
//! Reserved for the `EventSink` HTTP sender (REST "send event" / "send batch", design notes §6c), which
//! needs azflux-core's HTTP pipeline. It will take an `Arc<dyn TokenSource>` ([`crate::TokenSource`]) and
//! put [`IssuedToken::authorization`](crate::IssuedToken::authorization) in the `Authorization` header, so
//! SAS and AAD work unchanged.
