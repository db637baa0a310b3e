//! Integration tests of acr-oci: the real client against the fake ACR (token flow, charts, Flux wiring),
//! security scenarios (foreign realms, digests, sizes), and a real `docker-registry` with token auth plus
//! real Helm v4 as a peer.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod artifacts;
mod common;
mod fake_flow;
mod flux_wiring;
mod local_registry;
mod real_registry;
mod registries;
mod security;
