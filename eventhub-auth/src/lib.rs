#![doc = include_str!("../README.md")]

pub mod aad;
pub mod api;
pub mod arm;
pub mod client;
pub mod connection_string;
#[cfg(any(test, feature = "fake"))]
pub mod contract;
pub mod error;
pub mod event;
#[cfg(feature = "fake")]
pub mod fake;
pub mod flux;
pub mod manifests;
pub mod refresher;
pub mod sas;
pub mod secret;
pub mod sink;
pub mod wire;

pub use aad::{AadTokenSource, EVENTHUBS_SCOPE};
pub use api::{IssuedToken, SecretSink, TokenKind, TokenSource};
pub use arm::{
    AccessRight, EnsuredEventHub, EnsuredNamespace, EventHub, EventHubSpec, NAMESPACES_API_VERSION,
    Namespace, NamespaceSku, NamespaceSpec, validate_entity_name, validate_namespace_name,
};
pub use client::{AccessKeys, AuthorizationRuleRef, EventHubsArm, EventSink, EventSinkOptions};
pub use connection_string::ConnectionString;
pub use error::{BoxError, Error, Result};
pub use event::{EventSeverity, FluxEvent, ObjectReference};
pub use flux::{PROVIDER_TYPE, ProviderAuth, ProviderWiring};
pub use manifests::{
    RefresherIdentity, RefresherManifestOptions, RefresherManifests, WorkloadKind,
};
pub use refresher::{RefreshStats, Refresher, RefresherOptions, Tick};
pub use sas::{ParsedSasToken, SasKey, SasToken, SasTokenSource, SasVerifier, generate_sas_token};
pub use secret::{KubeSecret, secret_yaml};
pub use sink::{
    ApplySecret, FileSink, KubernetesSecretSink, StdoutSink, TokenFormat, WriterSink, apply_fn,
};
