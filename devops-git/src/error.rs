//! The error type of the crate. Messages name the resource (URLs without secrets) and say what to do.

use crate::url::UrlError;

/// Everything that can fail in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A repository URL was refused.
    #[error(transparent)]
    Url(#[from] UrlError),

    /// An Azure request failed (classified by azflux-core: throttled after retries, 5xx, conflict…).
    #[error(transparent)]
    Azure(#[from] azflux_core::Error),

    /// The PAT Lifecycle API refused the call: it answers 200 with `patTokenError` set.
    #[error(
        "the PAT Lifecycle API refused to {operation} for organization {organization}: {code}: {hint}"
    )]
    PatApi {
        /// What was asked (`create a PAT`, `revoke a PAT`…).
        operation: &'static str,
        /// The organization.
        organization: String,
        /// The `patTokenError` value (`invalidValidTo`, `patLifespanPolicyViolation`…).
        code: String,
        /// What to do.
        hint: String,
    },

    /// A step of a PAT rotation failed; the rotation state says where to resume.
    #[error(
        "PAT rotation step \"{step}\" failed: {reason}. Nothing was lost: run the rotation again with the saved state to resume"
    )]
    Rotation {
        /// The step (`store the new PAT`, `save the rotation state`, `verify the new PAT`…).
        step: &'static str,
        /// Why (never a secret).
        reason: String,
    },

    /// The server refused the credentials.
    #[error("authentication to {url} failed with the {method} credential: {hint}")]
    Auth {
        /// The repository URL (no secret in it).
        url: String,
        /// Which kind of credential was used (`PAT/password (basic)`, `bearer token`, `SSH key`).
        method: &'static str,
        /// What to do.
        hint: String,
    },

    /// The repository (or branch) does not exist or the credential cannot see it.
    #[error("repository {url} was not found (or the credential cannot see it): {hint}")]
    NotFound {
        /// The repository URL.
        url: String,
        /// What to do.
        hint: String,
    },

    /// The branch kept moving under us and every retry lost the race.
    #[error(
        "pushing to branch {branch} of {url} was rejected as non-fast-forward {attempts} times (someone else keeps pushing): retry later"
    )]
    NonFastForwardExhausted {
        /// The repository URL.
        url: String,
        /// The branch.
        branch: String,
        /// How many pushes were tried.
        attempts: u32,
    },

    /// The server refused the push for another reason (a hook, a branch policy).
    #[error("the push to branch {branch} of {url} was rejected: {reason}")]
    Rejected {
        /// The repository URL.
        url: String,
        /// The branch.
        branch: String,
        /// The server's reason.
        reason: String,
    },

    /// The server could not be reached or the transfer failed.
    #[error("network error talking to {url}: {reason}")]
    Network {
        /// The repository URL.
        url: String,
        /// What failed.
        reason: String,
    },

    /// The SSH host key of the server is not the one in `known_hosts`.
    #[error(
        "the SSH host key of {host} is not in the known_hosts given ({key_type} key, {fingerprint}): check the host, or scan it explicitly and add it"
    )]
    HostKeyMismatch {
        /// `host` or `[host]:port`.
        host: String,
        /// The key type the server offered.
        key_type: String,
        /// SHA256 fingerprint of the offered key.
        fingerprint: String,
    },

    /// A path in a commit is not a plain relative path.
    #[error("invalid path \"{path}\" in the commit: {reason}")]
    InvalidPath {
        /// The path.
        path: String,
        /// Why.
        reason: &'static str,
    },

    /// A file to commit looks like a plaintext Kubernetes Secret.
    #[error(
        "refusing to commit \"{path}\": it looks like a plaintext Kubernetes Secret (kind: Secret with data/stringData); apply secrets to the cluster or encrypt them with SOPS first"
    )]
    PlaintextSecret {
        /// The path.
        path: String,
    },

    /// The branch name is not a valid git branch name.
    #[error("invalid branch name \"{branch}\": {reason}")]
    InvalidBranch {
        /// The branch.
        branch: String,
        /// Why.
        reason: &'static str,
    },

    /// The operation is not possible with this host implementation.
    #[error("{operation} is not supported for {url}: {hint}")]
    Unsupported {
        /// What was asked.
        operation: &'static str,
        /// The repository URL.
        url: String,
        /// What to do instead.
        hint: &'static str,
    },

    /// Key generation failed.
    #[error("generating an SSH key ({algorithm}) failed: {reason}")]
    KeyGeneration {
        /// The algorithm.
        algorithm: String,
        /// Why.
        reason: String,
    },

    /// A caller-supplied key is malformed.
    #[error("invalid SSH key: {reason}")]
    InvalidKey {
        /// Why.
        reason: String,
    },

    /// A `known_hosts` text is malformed.
    #[error("invalid known_hosts line {line}: {reason}")]
    InvalidKnownHosts {
        /// 1-based line number.
        line: usize,
        /// Why.
        reason: String,
    },

    /// A local file operation failed.
    #[error("file operation on {path} failed: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A local git operation (object database, tree building) failed.
    #[error("git operation \"{operation}\" on {url} failed: {reason}")]
    Git {
        /// What was being done.
        operation: &'static str,
        /// The repository URL.
        url: String,
        /// libgit2's message.
        reason: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
