#![doc = include_str!("../README.md")]

pub mod api;
pub mod client;
#[cfg(any(test, feature = "fake"))]
pub mod contract;
pub mod credentials;
pub mod error;
#[cfg(feature = "fake")]
pub mod fake;
pub mod guard;
pub mod pat;
pub mod plain_git;
pub mod ssh;
pub mod url;
pub mod wire;

pub use api::{Author, CommitId, CommitOutcome, CommitRequest, GitHost, RepositoryInfo};
pub use client::{DevOpsRestHost, RateLimit};
pub use credentials::{
    AZURE_DEVOPS_RESOURCE, AZURE_DEVOPS_SCOPE, BasicAuth, BearerToken, GitCredentials,
    GitSecretData, SshAuth,
};
pub use error::{Error, Result};
pub use pat::{
    PatClient, PatInfo, PatRotator, PatSink, PatStatus, RotationOptions, RotationState,
    RotationStep, RotationStore, pat_status,
};
pub use plain_git::{PlainGitHost, RetryPolicy};
pub use ssh::{AZURE_DEVOPS_KNOWN_HOSTS, KnownHost, KnownHosts, SshKeyAlgorithm, SshKeyPair};
pub use url::{AzureDevOpsRepo, RepoUrl, Scheme, UrlError};
