//! Integration tests of eventhub-auth: SAS known answers and verification, the refresher on a manual clock
//! (48 simulated hours, outages, log capture), sinks, AAD expiry, Flux wiring and manifests, redaction.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod aad;
mod flux_wiring;
#[cfg(feature = "fake")]
mod namespaces;
mod redaction;
mod refresher;
mod sas;
#[cfg(feature = "fake")]
mod send;
mod sinks;
mod support;
