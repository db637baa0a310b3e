#![cfg_attr(feature = "fake", doc = include_str!("../README.md"))]
#![cfg_attr(
    not(feature = "fake"),
    doc = "AKS clusters fit for Flux, user-assigned identities, federated identity credentials and role assignments through ARM. Enable feature `fake` for the fake and the full crate documentation (README.md)."
)]

pub mod api;
pub mod brownfield;
pub mod client;
#[cfg(any(test, feature = "fake"))]
pub mod contract;
#[cfg(feature = "fake")]
pub mod fake;
pub mod wire;

pub use api::{
    Cluster, ClusterEvent, ClusterPlan, ClusterRef, ClusterSpec, Clusters, EnsuredCluster, Error,
    FederatedCredential, FederatedCredentialSpec, FederatedCredentials, Finding, Identities,
    Identity, IdentitySpec, Kubeconfig, KubeletIdentity, NodeImageStatus, NodePool, NodePoolSpec,
    Progress, PropertyChange, Result, Role, RoleAssignment, RoleAssignmentSpec, RoleAssignments,
    Severity, SkuTier,
};
pub use azflux_core::arm::Ensured;
pub use client::{ClustersClient, ClustersClientOptions};
#[cfg(feature = "fake")]
pub use fake::{FakeAks, FakeAksOptions};
