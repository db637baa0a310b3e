//! The real implementation speaking the Azure Key Vault data-plane REST contract.
//!
//! - [`KeyVaultClient`]: `encrypt`/`decrypt` (what sops uses), `wrapkey`/`unwrapkey`, GetKey, CreateKey and
//!   [`KeyVaultClient::ensure_key`] (GetKey first, create only when missing). Every request goes through
//!   azflux-core's [`HttpPipeline`] (retry with jitter, `Retry-After`, the fake cloud's routing transport), with
//!   Key Vault's challenge-based authentication: the first request to a vault goes without a token; its 401
//!   names the tenant and the resource (`WWW-Authenticate: Bearer authorization="…/<tenant>",
//!   resource="https://vault.azure.net"`); the client checks that the resource's host is a suffix of the
//!   vault's host, gets a token for `<resource>/.default` and sends the request again, once. The challenge is
//!   remembered per vault, so later requests carry a (cached) token from the start. Tokens are only ever
//!   sent over https to Key Vault hosts (`*.vault.azure.net` and the sovereign clouds' suffixes) and Managed
//!   HSMs (`*.managedhsm.azure.net`…).
//! - [`AzureKeyVaultKey`]: the [`MasterKey`] of `azure_kv` entries: RSA-OAEP-256 `encrypt` of the raw data key,
//!   `enc` = the service's base64url answer unchanged; an empty key version is resolved with GetKey before
//!   the first encryption.
//! - [`KeyVaultError`]: typed failures (forbidden with the role to grant, key not found, unauthorized,
//!   throttled), each naming the vault and the key.

use crate::api::MasterKey;
use crate::error::{Error, Result};
use crate::metadata::{AzureKvEntry, KeyEntry};
use crate::rules::AzureKeyRef;
use crate::wire::{
    self, CreateKeyRequest, KeyAttributes, KeyBundle, KeyOperationRequest, KeyOperationResult,
};
use async_trait::async_trait;
use azflux_core::Cloud;
use azflux_core::error::ServiceError;
use azflux_core::http::{HttpPipeline, HttpPipelineOptions, Response, json_request};
use azure_core::credentials::TokenCredential;
use azure_core::http::{Method, Url};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretBox;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;

/// The data-plane role that allows `encrypt`/`decrypt`/`wrapKey`/`unwrapKey` and GetKey.
pub const CRYPTO_USER_ROLE: &str = "Key Vault Crypto User";
/// The data-plane role that also allows creating keys.
pub const CRYPTO_OFFICER_ROLE: &str = "Key Vault Crypto Officer";

/// What went wrong talking to Key Vault. Every message names the vault and the key, and says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyVaultError {
    /// 403: the caller authenticated but may not perform the operation (`ForbiddenByRbac`, or no access
    /// policy).
    #[error(
        "Key Vault {vault} refused `{operation}` on key `{key}`: {reason}. Grant the caller the \"{role}\" role on the vault (az role assignment create --role \"{role}\" --assignee <principal object id> --scope <vault resource id>){hint}; role assignments take a few minutes to propagate",
        reason = service_line(.detail),
        hint = policy_hint(.detail, .operation)
    )]
    Forbidden {
        /// The vault URL.
        vault: String,
        /// The key name.
        key: String,
        /// The operation (`encrypt`, `decrypt`, `get`, `create`…).
        operation: String,
        /// The role to grant.
        role: &'static str,
        /// The service's answer (code `Forbidden`, inner code `ForbiddenByRbac` under RBAC).
        detail: Box<ServiceError>,
    },
    /// 404: the key (or that version of it) does not exist in the vault.
    #[error(
        "key `{key}`{version} was not found in Key Vault {vault}: check the key URL, or create the key (az keyvault key create --vault-name <vault> --name {key} --kty RSA --size 3072 --ops encrypt decrypt)",
        version = if .version.is_empty() { String::new() } else { format!(" version {}", .version) }
    )]
    KeyNotFound {
        /// The vault URL.
        vault: String,
        /// The key name.
        key: String,
        /// The version asked for (empty: latest).
        version: String,
    },
    /// 401 after the challenge: the vault did not accept the token.
    #[error(
        "Key Vault {vault} did not accept the credential for key `{key}`: {reason}. Check the credential and that it belongs to the vault's tenant{tenant_hint}"
    )]
    Unauthorized {
        /// The vault URL.
        vault: String,
        /// The key name.
        key: String,
        /// What the service said.
        reason: String,
        /// ` (tenant …)` when the challenge named it.
        tenant_hint: String,
    },
    /// 429 after the retry budget was spent.
    #[error(
        "Key Vault {vault} throttled `{operation}` on key `{key}`{wait}: {reason}. Retry later and lower the request rate",
        wait = .retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default()
    )]
    Throttled {
        /// The vault URL.
        vault: String,
        /// The key name.
        key: String,
        /// The operation.
        operation: String,
        /// The service's message.
        reason: String,
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
    },
    /// The 401 challenge was missing, malformed, or named a resource that does not belong to the vault's host.
    #[error("Key Vault {vault}: refusing the authentication challenge: {why}; no token was sent")]
    Challenge {
        /// The vault URL.
        vault: String,
        /// What was wrong.
        why: String,
    },
    /// The vault URL is not a Key Vault or Managed HSM host of a known Azure cloud: no token is ever sent there.
    #[error(
        "`{vault}` is not an Azure Key Vault URL (https://<name>.vault.azure.net, a sovereign cloud's vault suffix, or a Managed HSM); no request was sent"
    )]
    NotAVault {
        /// The URL given.
        vault: String,
    },
    /// The service answered something this client cannot read.
    #[error("Key Vault {vault}, key `{key}`: unexpected answer: {why}")]
    BadResponse {
        /// The vault URL.
        vault: String,
        /// The key name.
        key: String,
        /// What was wrong.
        why: String,
    },
    /// Another Azure failure (transport, 5xx after retries, token acquisition…).
    #[error("Key Vault {vault}, key `{key}`: {source}")]
    Azure {
        /// The vault URL.
        vault: String,
        /// The key name.
        key: String,
        /// The classified error.
        #[source]
        source: Box<azflux_core::Error>,
    },
}

fn service_line(se: &ServiceError) -> String {
    let msg = se.message.lines().next().unwrap_or_default().trim();
    match &se.inner_code {
        Some(inner) => format!("{} ({inner}): {msg}", se.code),
        None => format!("{}: {msg}", se.code),
    }
}

fn policy_hint(se: &ServiceError, operation: &str) -> String {
    if se.inner_code.as_deref() == Some("ForbiddenByRbac") {
        String::new()
    } else {
        format!(
            " or, on a vault that uses access policies, an access policy with the key permission `{operation}`"
        )
    }
}

impl KeyVaultError {
    /// The service's answer, for errors that carry one.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            KeyVaultError::Forbidden { detail, .. } => Some(detail),
            KeyVaultError::Azure { source, .. } => source.service_error(),
            _ => None,
        }
    }
}

/// A parsed `WWW-Authenticate: Bearer …` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The authority URL (`authorization` or `authorization_uri`), e.g. `https://login.windows.net/<tenant>`.
    pub authorization: String,
    /// The tenant: the last path segment of `authorization`.
    pub tenant: String,
    /// The resource (`resource`, or `scope` without `/.default`), e.g. `https://vault.azure.net`.
    pub resource: String,
    /// The scope to ask a token for: `<resource>/.default`.
    pub scope: String,
}

/// Parses a `WWW-Authenticate` value: `Bearer authorization="…", resource="…"` (also `authorization_uri=`
/// and `scope=`). `None` when it is not a Bearer challenge with an authority and a resource.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let rest = header.trim();
    let (scheme, params) = rest.split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut map: HashMap<String, String> = HashMap::new();
    let mut s = params.trim();
    while !s.is_empty() {
        let (k, after) = s.split_once('=')?;
        let k = k.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (v, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"')?;
            (&q[..end], &q[end + 1..])
        } else {
            match after.find(',') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            }
        };
        map.insert(k, v.trim().to_owned());
        s = next.trim_start().trim_start_matches(',').trim_start();
    }
    let authorization = map
        .get("authorization")
        .or_else(|| map.get("authorization_uri"))?
        .clone();
    let resource = match map.get("resource") {
        Some(r) => r.clone(),
        None => {
            let scope = map.get("scope")?;
            scope
                .split_whitespace()
                .next()?
                .trim_end_matches("/.default")
                .to_owned()
        }
    };
    let resource = resource.trim_end_matches('/').to_owned();
    if resource.is_empty() {
        return None;
    }
    let tenant = authorization
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    Some(Challenge {
        scope: format!("{resource}/.default"),
        authorization,
        tenant,
        resource,
    })
}

/// Checks that the challenge's resource may receive tokens for `vault_host`: https, and its host is a
/// DNS suffix of the vault's host (`vault.azure.net` for `kv.vault.azure.net`).
pub fn verify_challenge(
    challenge: &Challenge,
    vault_host: &str,
) -> std::result::Result<(), String> {
    let url = Url::parse(&challenge.resource)
        .map_err(|_| format!("the resource `{}` is not a URL", challenge.resource))?;
    if url.scheme() != "https" {
        return Err(format!(
            "the resource `{}` is not https",
            challenge.resource
        ));
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let vault_host = vault_host.to_ascii_lowercase();
    if host.is_empty() || !(vault_host == host || vault_host.ends_with(&format!(".{host}"))) {
        return Err(format!(
            "the resource `{}` does not match the vault host `{vault_host}`",
            challenge.resource
        ));
    }
    if challenge.tenant.is_empty() {
        return Err("the challenge names no tenant".into());
    }
    Ok(())
}

/// Whether `host` is a Key Vault or Managed HSM host of `cloud` or of one of the known Azure clouds.
pub fn is_vault_host(cloud: &Cloud, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let host = host.split(':').next().unwrap_or_default();
    [
        cloud.clone(),
        Cloud::public(),
        Cloud::china(),
        Cloud::us_government(),
    ]
    .iter()
    .any(|c| {
        let hsm = c
            .key_vault_suffix
            .strip_prefix("vault.")
            .map(|rest| format!(".managedhsm.{rest}"));
        c.is_key_vault_host(host) || hsm.is_some_and(|s| host.ends_with(&s) && host.len() > s.len())
    })
}

/// Decodes base64url with or without padding (and, defensively, the standard alphabet).
pub fn decode_b64url(s: &str) -> Option<Vec<u8>> {
    let norm: String = s
        .trim()
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    URL_SAFE_NO_PAD.decode(norm).ok()
}

/// Options of [`KeyVaultClient::create_key`].
#[derive(Debug, Clone)]
pub struct CreateKeyOptions {
    /// RSA key size: 3072 (default) or 4096 (2048 is accepted, but not recommended).
    pub key_size: u32,
    /// `RSA` (software-protected, default) or `RSA-HSM`.
    pub kty: String,
    /// Tags.
    pub tags: Vec<(String, String)>,
}

impl Default for CreateKeyOptions {
    fn default() -> Self {
        Self {
            key_size: 3072,
            kty: "RSA".into(),
            tags: Vec::new(),
        }
    }
}

/// The outcome of [`KeyVaultClient::ensure_key`].
#[derive(Debug, Clone)]
pub struct EnsuredKey {
    /// The key (latest version).
    pub bundle: KeyBundle,
    /// Whether it was created by this call.
    pub created: bool,
}

/// A Key Vault data-plane client. Cloning shares the pipeline and the remembered challenges.
#[derive(Clone)]
pub struct KeyVaultClient {
    inner: Arc<Inner>,
}

struct Inner {
    pipeline: HttpPipeline,
    credential: Arc<dyn TokenCredential>,
    cloud: Cloud,
    challenges: Mutex<HashMap<String, Challenge>>,
}

impl fmt::Debug for KeyVaultClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyVaultClient")
            .field("cloud", &self.inner.cloud.name)
            .finish_non_exhaustive()
    }
}

/// The key a call is about, for error messages.
struct Target<'a> {
    vault: &'a str,
    key: &'a str,
    version: &'a str,
    operation: &'a str,
}

impl KeyVaultClient {
    /// A client for the vaults of `cloud` (and the other known clouds), authenticating with `credential`
    /// (usually an azflux-core `CachedCredential`), sending through a pipeline built from `http`.
    pub fn new(
        cloud: &Cloud,
        credential: Arc<dyn TokenCredential>,
        http: &HttpPipelineOptions,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                pipeline: HttpPipeline::new(http),
                credential,
                cloud: cloud.clone(),
                challenges: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The clock of the pipeline (used for `created_at`).
    pub fn now(&self) -> time::OffsetDateTime {
        self.inner.pipeline.clock().now()
    }

    /// The challenge remembered for `vault_url`'s host, if a 401 named one.
    pub fn challenge_for(&self, vault_url: &str) -> Option<Challenge> {
        let host = Url::parse(vault_url).ok()?.host_str()?.to_ascii_lowercase();
        self.inner
            .challenges
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&host)
            .cloned()
    }

    /// GetKey: the key's latest version when `version` is empty.
    pub async fn get_key(
        &self,
        vault_url: &str,
        name: &str,
        version: &str,
    ) -> Result<KeyBundle, KeyVaultError> {
        let t = Target {
            vault: vault_url,
            key: name,
            version,
            operation: "get",
        };
        let url = wire::get_key_url(vault_url, name, version);
        let resp = self.call(&t, Method::Get, &url, None::<&()>).await?;
        parse(&t, &resp)
    }

    /// CreateKey: a new RSA key, or a new version of an existing one.
    pub async fn create_key(
        &self,
        vault_url: &str,
        name: &str,
        options: &CreateKeyOptions,
    ) -> Result<KeyBundle, KeyVaultError> {
        let t = Target {
            vault: vault_url,
            key: name,
            version: "",
            operation: "create",
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(KeyVaultError::BadResponse {
                vault: vault_url.into(),
                key: name.into(),
                why: "invalid key name: use 1-127 letters, digits and dashes (nothing was sent)"
                    .into(),
            });
        }
        let body = CreateKeyRequest {
            kty: options.kty.clone(),
            key_size: Some(options.key_size),
            key_ops: ["encrypt", "decrypt", "wrapKey", "unwrapKey"]
                .map(String::from)
                .to_vec(),
            attributes: KeyAttributes {
                enabled: Some(true),
                ..KeyAttributes::default()
            },
            tags: options
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect(),
        };
        let url = wire::create_key_url(vault_url, name);
        let resp = self.call(&t, Method::Post, &url, Some(&body)).await?;
        parse(&t, &resp)
    }

    /// Ensure semantics: GetKey first; CreateKey only when the key does not exist.
    pub async fn ensure_key(
        &self,
        vault_url: &str,
        name: &str,
        options: &CreateKeyOptions,
    ) -> Result<EnsuredKey, KeyVaultError> {
        match self.get_key(vault_url, name, "").await {
            Ok(bundle) => Ok(EnsuredKey {
                bundle,
                created: false,
            }),
            Err(KeyVaultError::KeyNotFound { .. }) => Ok(EnsuredKey {
                bundle: self.create_key(vault_url, name, options).await?,
                created: true,
            }),
            Err(e) => Err(e),
        }
    }

    /// A key operation (`encrypt`, `decrypt`, `wrapkey`, `unwrapkey`) with `alg` on `value` (base64url).
    pub async fn key_operation(
        &self,
        vault_url: &str,
        name: &str,
        version: &str,
        operation: &str,
        alg: &str,
        value: String,
    ) -> Result<KeyOperationResult, KeyVaultError> {
        let t = Target {
            vault: vault_url,
            key: name,
            version,
            operation,
        };
        let url = wire::key_operation_url(vault_url, name, version, operation);
        let body = KeyOperationRequest {
            alg: alg.into(),
            value,
        };
        let resp = self.call(&t, Method::Post, &url, Some(&body)).await?;
        parse(&t, &resp)
    }

    /// `encrypt` with RSA-OAEP-256: the service's answer (its `value` is base64url of the ciphertext).
    pub async fn encrypt(
        &self,
        vault_url: &str,
        name: &str,
        version: &str,
        plaintext: &[u8],
    ) -> Result<KeyOperationResult, KeyVaultError> {
        self.key_operation(
            vault_url,
            name,
            version,
            "encrypt",
            wire::RSA_OAEP_256,
            URL_SAFE_NO_PAD.encode(plaintext),
        )
        .await
    }

    /// `decrypt` with RSA-OAEP-256 of `ciphertext_b64url` (sent as given): the plaintext.
    pub async fn decrypt(
        &self,
        vault_url: &str,
        name: &str,
        version: &str,
        ciphertext_b64url: &str,
    ) -> Result<SecretBox<Vec<u8>>, KeyVaultError> {
        let r = self
            .key_operation(
                vault_url,
                name,
                version,
                "decrypt",
                wire::RSA_OAEP_256,
                ciphertext_b64url.to_owned(),
            )
            .await?;
        decode_b64url(&r.value)
            .map(|v| SecretBox::new(Box::new(v)))
            .ok_or_else(|| KeyVaultError::BadResponse {
                vault: vault_url.into(),
                key: name.into(),
                why: "the decrypt result is not base64url".into(),
            })
    }

    /// `wrapkey` with RSA-OAEP-256: the service's answer.
    pub async fn wrap_key(
        &self,
        vault_url: &str,
        name: &str,
        version: &str,
        key: &[u8],
    ) -> Result<KeyOperationResult, KeyVaultError> {
        self.key_operation(
            vault_url,
            name,
            version,
            "wrapkey",
            wire::RSA_OAEP_256,
            URL_SAFE_NO_PAD.encode(key),
        )
        .await
    }

    /// `unwrapkey` with RSA-OAEP-256 of `wrapped_b64url`: the key.
    pub async fn unwrap_key(
        &self,
        vault_url: &str,
        name: &str,
        version: &str,
        wrapped_b64url: &str,
    ) -> Result<SecretBox<Vec<u8>>, KeyVaultError> {
        let r = self
            .key_operation(
                vault_url,
                name,
                version,
                "unwrapkey",
                wire::RSA_OAEP_256,
                wrapped_b64url.to_owned(),
            )
            .await?;
        decode_b64url(&r.value)
            .map(|v| SecretBox::new(Box::new(v)))
            .ok_or_else(|| KeyVaultError::BadResponse {
                vault: vault_url.into(),
                key: name.into(),
                why: "the unwrapKey result is not base64url".into(),
            })
    }

    async fn token(&self, t: &Target<'_>, scope: &str) -> Result<String, KeyVaultError> {
        azflux_core::credential::token_for(self.inner.credential.as_ref(), scope)
            .await
            .map(|tok| tok.token.secret().to_owned())
            .map_err(|source| KeyVaultError::Azure {
                vault: t.vault.into(),
                key: t.key.into(),
                source: Box::new(source),
            })
    }

    /// Sends one call with challenge-based authentication and maps failures to [`KeyVaultError`].
    async fn call<B: serde::Serialize>(
        &self,
        t: &Target<'_>,
        method: Method,
        url: &str,
        body: Option<&B>,
    ) -> Result<Response, KeyVaultError> {
        let not_a_vault = || KeyVaultError::NotAVault {
            vault: t.vault.into(),
        };
        let url = Url::parse(url).map_err(|_| not_a_vault())?;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if url.scheme() != "https" || !is_vault_host(&self.inner.cloud, &host) {
            return Err(not_a_vault());
        }
        let azure = |source: azflux_core::Error| KeyVaultError::Azure {
            vault: t.vault.into(),
            key: t.key.into(),
            source: Box::new(source),
        };
        let remembered = self
            .inner
            .challenges
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&host)
            .cloned();
        let mut challenge = remembered;
        let mut token = match &challenge {
            Some(c) => Some(self.token(t, &c.scope).await?),
            None => None,
        };
        let mut answered_challenge = false;
        loop {
            let mut request = json_request(method, url.clone(), body).map_err(azure)?;
            if let Some(tok) = &token {
                request.insert_header("authorization", format!("Bearer {tok}"));
            }
            let resp = self
                .inner
                .pipeline
                .send(&mut request)
                .await
                .map_err(azure)?;
            if resp.status == 401 && !answered_challenge {
                answered_challenge = true;
                let header = resp.header("www-authenticate").unwrap_or_default();
                let parsed = parse_challenge(header).ok_or_else(|| KeyVaultError::Challenge {
                    vault: t.vault.into(),
                    why: format!(
                        "the 401 carries no Bearer challenge with an authority and a resource (WWW-Authenticate: `{header}`)"
                    ),
                })?;
                verify_challenge(&parsed, &host).map_err(|why| KeyVaultError::Challenge {
                    vault: t.vault.into(),
                    why,
                })?;
                token = Some(self.token(t, &parsed.scope).await?);
                self.inner
                    .challenges
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(host.clone(), parsed.clone());
                challenge = Some(parsed);
                continue;
            }
            if resp.is_success() {
                return Ok(resp);
            }
            let resource = format!("{} {}{}", method, host, url.path());
            return Err(classify(t, &resp, &resource, challenge.as_ref()));
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    t: &Target<'_>,
    resp: &Response,
) -> Result<T, KeyVaultError> {
    serde_json::from_slice(&resp.body).map_err(|e| KeyVaultError::BadResponse {
        vault: t.vault.into(),
        key: t.key.into(),
        why: format!(
            "the body of `{}` is not the expected JSON: {e}",
            t.operation
        ),
    })
}

fn classify(
    t: &Target<'_>,
    resp: &Response,
    resource: &str,
    challenge: Option<&Challenge>,
) -> KeyVaultError {
    match resp.error_for(resource) {
        azflux_core::Error::Forbidden(se) => KeyVaultError::Forbidden {
            vault: t.vault.into(),
            key: t.key.into(),
            operation: t.operation.into(),
            role: if t.operation == "create" {
                CRYPTO_OFFICER_ROLE
            } else {
                CRYPTO_USER_ROLE
            },
            detail: se,
        },
        azflux_core::Error::NotFound(_) => KeyVaultError::KeyNotFound {
            vault: t.vault.into(),
            key: t.key.into(),
            version: t.version.into(),
        },
        azflux_core::Error::Unauthorized(se) => KeyVaultError::Unauthorized {
            vault: t.vault.into(),
            key: t.key.into(),
            reason: service_line(&se),
            tenant_hint: challenge
                .map(|c| format!(" (the vault's tenant is {})", c.tenant))
                .unwrap_or_default(),
        },
        azflux_core::Error::Throttled(se) => KeyVaultError::Throttled {
            vault: t.vault.into(),
            key: t.key.into(),
            operation: t.operation.into(),
            reason: service_line(&se),
            retry_after: se.retry_after,
        },
        source => KeyVaultError::Azure {
            vault: t.vault.into(),
            key: t.key.into(),
            source: Box::new(source),
        },
    }
}

/// An Azure Key Vault key as a sops master key (`azure_kv` entries).
pub struct AzureKeyVaultKey {
    client: KeyVaultClient,
    vault_url: String,
    name: String,
    version: Mutex<String>,
    created_at: String,
}

impl fmt::Debug for AzureKeyVaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureKeyVaultKey")
            .field("vault_url", &self.vault_url)
            .field("name", &self.name)
            .field("version", &self.version())
            .field("created_at", &self.created_at)
            .finish()
    }
}

impl AzureKeyVaultKey {
    /// The key `key` refers to (its version may be empty: resolved with GetKey before the first encryption).
    /// `created_at` is now on the client's clock, as sops records when the master key was created.
    pub fn new(client: KeyVaultClient, key: &AzureKeyRef) -> Result<Self> {
        let host = Url::parse(&key.vault_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        if !key.vault_url.starts_with("https://") || !is_vault_host(&client.inner.cloud, &host) {
            return Err(KeyVaultError::NotAVault {
                vault: key.vault_url.clone(),
            }
            .into());
        }
        let now = client.now();
        let created_at = now
            .replace_nanosecond(0)
            .unwrap_or(now)
            .format(&Rfc3339)
            .unwrap_or_default();
        Ok(Self {
            vault_url: key.vault_url.trim_end_matches('/').to_owned(),
            name: key.name.clone(),
            version: Mutex::new(key.version.clone()),
            created_at,
            client,
        })
    }

    /// The key of a URL `https://<vault>.vault.azure.net/keys/<name>[/<version>]`.
    pub fn from_url(client: KeyVaultClient, url: &str) -> Result<Self> {
        Self::new(client, &AzureKeyRef::parse_url(url)?)
    }

    /// The key of an existing `azure_kv` entry (to decrypt it, or to wrap a new data key for the same key).
    pub fn from_entry(client: KeyVaultClient, entry: &AzureKvEntry) -> Result<Self> {
        let mut k = Self::new(
            client,
            &AzureKeyRef {
                vault_url: entry.vault_url.clone(),
                name: entry.name.clone(),
                version: entry.version.clone(),
            },
        )?;
        k.created_at = entry.created_at.clone();
        Ok(k)
    }

    /// Overrides `created_at` (RFC 3339).
    pub fn with_created_at(mut self, created_at: impl Into<String>) -> Self {
        self.created_at = created_at.into();
        self
    }

    /// `https://<vault>.vault.azure.net` (no trailing slash).
    pub fn vault_url(&self) -> &str {
        &self.vault_url
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key version (empty until resolved when none was given).
    pub fn version(&self) -> String {
        self.version
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// When this master key was created (RFC 3339).
    pub fn created_at(&self) -> &str {
        &self.created_at
    }

    /// The client.
    pub fn client(&self) -> &KeyVaultClient {
        &self.client
    }

    /// The version to use: the given one, or the latest (GetKey), remembered.
    pub async fn resolve_version(&self) -> Result<String> {
        let v = self.version();
        if !v.is_empty() {
            return Ok(v);
        }
        let bundle = self.client.get_key(&self.vault_url, &self.name, "").await?;
        let v = bundle.version().to_owned();
        if v.is_empty() {
            return Err(KeyVaultError::BadResponse {
                vault: self.vault_url.clone(),
                key: self.name.clone(),
                why: "GetKey returned no key id with a version".into(),
            }
            .into());
        }
        *self.version.lock().unwrap_or_else(PoisonError::into_inner) = v.clone();
        Ok(v)
    }
}

fn same_vault(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

#[async_trait]
impl MasterKey for AzureKeyVaultKey {
    fn kind(&self) -> &'static str {
        "azure_kv"
    }

    fn id(&self) -> String {
        format!("{}/keys/{}/{}", self.vault_url, self.name, self.version())
    }

    fn can_try(&self, entry: &KeyEntry) -> bool {
        matches!(entry, KeyEntry::AzureKv(e) if same_vault(&e.vault_url, &self.vault_url) && e.name == self.name)
    }

    async fn encrypt(&self, data_key: &[u8]) -> Result<KeyEntry> {
        let version = self.resolve_version().await?;
        let r = self
            .client
            .encrypt(&self.vault_url, &self.name, &version, data_key)
            .await?;
        Ok(KeyEntry::AzureKv(AzureKvEntry {
            vault_url: self.vault_url.clone(),
            name: self.name.clone(),
            version,
            created_at: self.created_at.clone(),
            enc: r.value,
        }))
    }

    async fn decrypt(&self, entry: &KeyEntry) -> Result<SecretBox<Vec<u8>>> {
        let KeyEntry::AzureKv(e) = entry else {
            return Err(Error::MasterKey {
                key: self.id(),
                why: format!("cannot decrypt a `{}` entry", entry.kind()),
            });
        };
        let version = if e.version.is_empty() {
            self.resolve_version().await?
        } else {
            e.version.clone()
        };
        Ok(self
            .client
            .decrypt(&self.vault_url, &e.name, &version, &e.enc)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_challenge() {
        let c = parse_challenge(r#"Bearer authorization="https://login.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net""#).unwrap();
        assert_eq!(c.tenant, "72f988bf-86f1-41af-91ab-2d7cd011db47");
        assert_eq!(c.resource, "https://vault.azure.net");
        assert_eq!(c.scope, "https://vault.azure.net/.default");
        verify_challenge(&c, "kv1.vault.azure.net").unwrap();
    }

    #[test]
    fn parses_authorization_uri_and_scope() {
        let c = parse_challenge(r#"Bearer authorization_uri="https://login.microsoftonline.com/tid/",scope="https://vault.azure.net/.default",error="invalid_token""#).unwrap();
        assert_eq!(c.tenant, "tid");
        assert_eq!(c.resource, "https://vault.azure.net");
        assert_eq!(c.scope, "https://vault.azure.net/.default");
    }

    #[test]
    fn rejects_foreign_resources_and_non_bearer_challenges() {
        let c = parse_challenge(r#"Bearer authorization="https://login.windows.net/t", resource="https://evil.example""#).unwrap();
        assert!(verify_challenge(&c, "kv.vault.azure.net").is_err());
        let c = parse_challenge(r#"Bearer authorization="https://login.windows.net/t", resource="https://azure.net.evil""#).unwrap();
        assert!(verify_challenge(&c, "kv.vault.azure.net").is_err());
        let c = parse_challenge(r#"Bearer authorization="https://login.windows.net/t", resource="http://vault.azure.net""#).unwrap();
        assert!(verify_challenge(&c, "kv.vault.azure.net").is_err());
        assert!(parse_challenge(r#"Basic realm="x""#).is_none());
        assert!(parse_challenge(r#"Bearer resource="https://vault.azure.net""#).is_none());
    }

    #[test]
    fn vault_hosts() {
        let c = Cloud::public();
        assert!(is_vault_host(&c, "kv.vault.azure.net"));
        assert!(is_vault_host(&c, "kv.vault.azure.cn"));
        assert!(is_vault_host(&c, "kv.vault.usgovcloudapi.net"));
        assert!(is_vault_host(&c, "hsm.managedhsm.azure.net"));
        assert!(!is_vault_host(&c, "vault.azure.net"));
        assert!(!is_vault_host(&c, "kv.vault.azure.net.evil.io"));
        assert!(!is_vault_host(&c, "management.azure.com"));
    }

    #[test]
    fn base64url_accepts_both_alphabets() {
        assert_eq!(decode_b64url("-_8").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(decode_b64url("+/8=").unwrap(), vec![0xfb, 0xff]);
    }
}
