//! Git credentials and the data of the Flux `flux-system` git Secret.
//!
//! Every secret is a [`SecretString`]; every `Debug` is redacted. The Secret data follows
//! `fluxcd/flux2` `pkg/manifestgen/sourcesecret` (flux.md §2.3): basic auth → `username`,
//! `password`; bearer → `bearerToken`; SSH → `identity`, `identity.pub`, `known_hosts` and
//! `password` when the private key has a passphrase. That Secret is applied to the cluster and is
//! never committed to git (see [`crate::guard`]).

use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::ssh::{KnownHosts, SshKeyPair};

/// The Entra ID resource (application id) of Azure DevOps.
pub const AZURE_DEVOPS_RESOURCE: &str = "499b84ac-1321-427f-aa17-267ca6975798";
/// The Entra ID scope to request a token for Azure DevOps with.
pub const AZURE_DEVOPS_SCOPE: &str = "499b84ac-1321-427f-aa17-267ca6975798/.default";
/// The default user name for PAT authentication (`flux bootstrap git --username` default).
pub const DEFAULT_GIT_USERNAME: &str = "git";

/// HTTPS basic authentication: a PAT (any user name works; `git` by default) or the password of
/// a machine user.
#[derive(Clone)]
pub struct BasicAuth {
    username: String,
    password: SecretString,
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl BasicAuth {
    /// A personal access token with the user name `git`.
    pub fn pat(pat: SecretString) -> Self {
        BasicAuth {
            username: DEFAULT_GIT_USERNAME.to_string(),
            password: pat,
        }
    }

    /// A user name and its password (or a PAT with a chosen user name).
    pub fn password(username: impl Into<String>, password: SecretString) -> Self {
        let username = username.into();
        BasicAuth {
            username: if username.is_empty() {
                DEFAULT_GIT_USERNAME.to_string()
            } else {
                username
            },
            password,
        }
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password or PAT.
    pub fn secret(&self) -> &SecretString {
        &self.password
    }
}

/// An Entra ID access token for Azure DevOps (resource [`AZURE_DEVOPS_RESOURCE`]), sent as
/// `Authorization: Bearer …`. Getting and refreshing the token is the caller's business (the
/// azflux-core credentials); this only carries it.
#[derive(Clone)]
pub struct BearerToken {
    token: SecretString,
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

impl BearerToken {
    /// Wraps an access token.
    pub fn new(token: SecretString) -> Self {
        BearerToken { token }
    }

    /// The token.
    pub fn secret(&self) -> &SecretString {
        &self.token
    }

    /// The `Authorization` header line (`Authorization: Bearer <token>`), secret.
    pub fn header_line(&self) -> SecretString {
        SecretString::from(format!(
            "Authorization: Bearer {}",
            self.token.expose_secret()
        ))
    }
}

/// SSH authentication: a key pair, the host keys to trust, the SSH user (`git`).
#[derive(Clone, Debug)]
pub struct SshAuth {
    username: String,
    key: SshKeyPair,
    known_hosts: KnownHosts,
    passphrase: Option<SecretStringDebug>,
}

/// A `SecretString` whose `Debug` is `<redacted>` (secrecy's own prints the type name only).
#[derive(Clone)]
struct SecretStringDebug(SecretString);

impl fmt::Debug for SecretStringDebug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl SshAuth {
    /// SSH with `key`, trusting `known_hosts`, user `git`.
    pub fn new(key: SshKeyPair, known_hosts: KnownHosts) -> Self {
        SshAuth {
            username: DEFAULT_GIT_USERNAME.to_string(),
            key,
            known_hosts,
            passphrase: None,
        }
    }

    /// SSH to Azure DevOps with `key`, trusting the embedded `ssh.dev.azure.com` host key.
    pub fn azure_devops(key: SshKeyPair) -> Self {
        Self::new(key, KnownHosts::azure_devops())
    }

    /// Sets the SSH user (default `git`).
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = username.into();
        self
    }

    /// Sets the passphrase of an encrypted private key (goes to the Secret's `password`).
    pub fn with_passphrase(mut self, passphrase: SecretString) -> Self {
        self.passphrase = Some(SecretStringDebug(passphrase));
        self
    }

    /// The SSH user.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The key pair.
    pub fn key(&self) -> &SshKeyPair {
        &self.key
    }

    /// The trusted host keys.
    pub fn known_hosts(&self) -> &KnownHosts {
        &self.known_hosts
    }

    /// The passphrase of the private key, if any.
    pub fn passphrase(&self) -> Option<&SecretString> {
        self.passphrase.as_ref().map(|p| &p.0)
    }
}

/// How to authenticate to a git server.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum GitCredentials {
    /// No credential (public repositories, tests).
    Anonymous,
    /// HTTPS basic: PAT or password.
    Basic(BasicAuth),
    /// HTTPS bearer token (Entra ID).
    Bearer(BearerToken),
    /// SSH key.
    Ssh(SshAuth),
}

impl GitCredentials {
    /// A short name of the method, for messages (never the secret).
    pub fn method(&self) -> &'static str {
        match self {
            GitCredentials::Anonymous => "anonymous",
            GitCredentials::Basic(_) => "PAT/password (basic)",
            GitCredentials::Bearer(_) => "bearer token",
            GitCredentials::Ssh(_) => "SSH key",
        }
    }

    /// The data of the Flux git Secret for this credential; `None` for [`GitCredentials::Anonymous`].
    pub fn flux_secret_data(&self) -> Option<GitSecretData> {
        let mut data = GitSecretData::default();
        match self {
            GitCredentials::Anonymous => return None,
            GitCredentials::Basic(b) => {
                data.insert("username", SecretString::from(b.username.clone()));
                data.insert("password", b.password.clone());
            }
            GitCredentials::Bearer(t) => {
                data.insert("bearerToken", t.token.clone());
            }
            GitCredentials::Ssh(s) => {
                data.insert("identity", s.key.private_key_pem().clone());
                data.insert(
                    "identity.pub",
                    SecretString::from(format!("{}\n", s.key.public_key_line())),
                );
                data.insert("known_hosts", SecretString::from(s.known_hosts.to_string()));
                if let Some(p) = &s.passphrase {
                    data.insert("password", p.0.clone());
                }
            }
        }
        Some(data)
    }
}

/// The `stringData` of a Flux git Secret: keys in sorted order (as Kubernetes/sigs.k8s.io/yaml
/// render them), values secret. `Debug` lists the keys only.
#[derive(Clone, Default)]
pub struct GitSecretData {
    entries: BTreeMap<String, SecretString>,
}

impl fmt::Debug for GitSecretData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

impl GitSecretData {
    /// Adds or replaces a key (e.g. `ca.crt`).
    pub fn insert(&mut self, key: &str, value: SecretString) {
        self.entries.insert(key.to_string(), value);
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&SecretString> {
        self.entries.get(key)
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The entries, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &SecretString)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The default name and namespace of the Flux git Secret (`flux-system/flux-system`).
pub const FLUX_SYSTEM: &str = "flux-system";

impl GitCredentials {
    /// The Flux git Secret `namespace/name` for this credential, as `flux bootstrap git` creates
    /// it (`sourcesecret.GenerateGit`): basic → `username`, `password`; bearer → `bearerToken`;
    /// SSH → `identity`, `identity.pub`, `known_hosts` (+ `password` for an encrypted key).
    /// `None` for [`GitCredentials::Anonymous`]. Apply it to the cluster; never commit it.
    pub fn flux_secret(&self, name: &str, namespace: &str) -> Option<flux_objects::core::Secret> {
        use flux_objects::core::Secret;
        Some(match self {
            GitCredentials::Anonymous => return None,
            GitCredentials::Basic(b) => {
                Secret::git_basic_auth(name, namespace, &b.username, b.password.clone(), None)
            }
            GitCredentials::Bearer(t) => Secret::git_bearer_token(name, namespace, t.token.clone()),
            GitCredentials::Ssh(s) => Secret::git_ssh(
                name,
                namespace,
                s.key.private_key_pem().clone(),
                &format!("{}\n", s.key.public_key_line()),
                &s.known_hosts.to_string(),
                s.passphrase.as_ref().map(|p| p.0.clone()),
            ),
        })
    }
}
