#![doc = include_str!("../README.md")]

pub mod api;
pub mod artifact;
pub mod client;
#[cfg(any(test, feature = "fake"))]
pub mod contract;
#[cfg(feature = "fake")]
pub mod fake;
pub mod flux;
pub mod registries;
pub mod tarball;
pub mod version;
pub mod wire;

pub use api::{ChartRef, ChartRegistry, Error, PulledChart, PushedChart, Result};
pub use artifact::{
    ArtifactMetadata, ArtifactUrl, ListArtifactsOptions, PulledArtifact, PushArtifactOptions,
    PushedArtifact,
};
pub use client::{AcrAuth, AcrClient, AcrClientOptions, Limits};
#[cfg(feature = "fake")]
pub use fake::{FakeAcr, FakeAcrOptions};
pub use registries::{
    EnsuredRegistry, NameAvailability, REGISTRIES_API_VERSION, Registry, RegistryManagement,
    RegistrySku, RegistrySpec,
};
pub use version::VersionConstraint;
