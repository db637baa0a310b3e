//! The stateful fake of the Azure Key Vault keys data plane (feature `fake`), mounted on the fake cloud's
//! `*.vault.azure.net` server: real RSA keys (generated, or imported from a PEM), versions, and the calls
//! the client makes — CreateKey (a new version each time), GetKey (latest or by version), `encrypt`/`decrypt`
//! and `wrapkey`/`unwrapkey` with RSA-OAEP-256 and RSA-OAEP.
//!
//! Like the service it requires `api-version`, answers a request without a bearer token with the 401
//! challenge (`WWW-Authenticate: Bearer authorization="https://login.windows.net/<tenant>",
//! resource="https://vault.azure.net"`), verifies tokens with the fake Entra ID (audience
//! `https://vault.azure.net`), answers 403 `Forbidden`/`ForbiddenByRbac` (the real body shape) to a
//! principal without a data-plane role on the vault, and 404 `KeyNotFound` for unknown keys or versions.
//! Throttling (429) and other faults are injected through the harness (`cloud.faults()`).
//!
//! Access: each vault has a set of principal object ids allowed to use its keys ([`FakeKeyVault::grant`],
//! [`FakeKeyVault::revoke`]); until a vault's set is changed it holds the sandbox principal.
//!
//! Route names (for `cloud.request_count`): `keyvault.create`, `keyvault.get`, `keyvault.encrypt`,
//! `keyvault.decrypt`, `keyvault.wrapkey`, `keyvault.unwrapkey`.
//!
//! The same mount also serves the Resource Manager side, `Microsoft.KeyVault/vaults` on the cloud's ARM
//! server (routes `keyvault.arm.vault.{put,get,delete}`): see [`arm_vaults`] for its behaviour and
//! [`FakeKeyVault::arm_vault`], [`FakeKeyVault::add_arm_vault`], [`FakeKeyVault::soft_delete_arm_vault`] and
//! friends for the test-side API. The data plane does not require an ARM vault to exist.

pub mod arm_vaults;

use crate::client::decode_b64url;
use crate::wire::{RSA_OAEP, RSA_OAEP_256};
use azflux_core::clock::Clock;
use azflux_core::fake::FakeCloud;
use azflux_core::fake::request::FakeRequest;
use azflux_core::http::HostRule;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::traits::PublicKeyParts as _;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use wiremock::ResponseTemplate;

/// The audience Key Vault tokens carry.
pub const KEY_VAULT_AUDIENCE: &str = "https://vault.azure.net";

/// The data-plane api-versions Key Vault answers: the folders of
/// `azure-rest-api-specs/specification/keyvault/data-plane/Microsoft.KeyVault` (stable and preview), which
/// include what the pinned clients send (azure-keyvault-keys 4.11: `2025-07-01`; the az CLI 2.91's
/// 4.12 beta: `2026-01-01-preview`).
pub const DATA_PLANE_API_VERSIONS: &[&str] = &[
    "2015-06-01",
    "2016-10-01",
    "7.0",
    "7.1",
    "7.2",
    "7.3",
    "7.4",
    "7.5",
    "7.6",
    "7.3-preview",
    "7.4-preview.1",
    "7.5-preview.1",
    "7.6-preview.1",
    "7.6-preview.2",
    "2025-06-01-preview",
    "2025-07-01",
    "2025-07-01-preview",
    "2026-01-01-preview",
];

/// Every key operation a fake key allows by default.
const ALL_OPS: [&str; 6] = [
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "wrapKey",
    "unwrapKey",
];

#[derive(Clone)]
struct KeyVersion {
    version: String,
    key: Arc<rsa::PrivateKey>,
    ops: Vec<String>,
    created: i64,
    tags: serde_json::Map<String, Value>,
}

#[derive(Default)]
struct State {
    /// host → key name (lower-case) → versions, oldest first.
    keys: BTreeMap<String, BTreeMap<String, (String, Vec<KeyVersion>)>>,
    /// host → allowed object ids (absent: the sandbox principal only).
    allowed: BTreeMap<String, HashSet<String>>,
    /// host → (object id, when its access takes effect): role assignments still propagating.
    propagating: BTreeMap<String, Vec<(String, time::OffsetDateTime)>>,
    /// Bits of generated keys, overriding the requested size (tests use 2048 for speed).
    generated_bits: Option<usize>,
}

/// The Key Vault fake. Cloning shares it.
#[derive(Clone)]
pub struct FakeKeyVault {
    state: Arc<Mutex<State>>,
    challenges: Arc<AtomicU64>,
    sandbox_oid: String,
    tenant: String,
    arm: Arc<arm_vaults::VaultHooks>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for FakeKeyVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeKeyVault")
            .field("challenges", &self.challenges())
            .finish_non_exhaustive()
    }
}

/// An error from the fake's own (test-side) API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FakeError {
    /// The PEM is neither a PKCS#8 nor a PKCS#1 RSA private key.
    #[error("the PEM is not an RSA private key (PKCS#8 or PKCS#1): {0}")]
    BadPem(String),
    /// RSA key generation failed.
    #[error("RSA key generation failed: {0}")]
    Generate(String),
}

/// `kv`, `kv.vault.azure.net`, `https://kv.vault.azure.net/` → `kv.vault.azure.net`.
fn vault_host(vault: &str) -> String {
    let v = vault.trim().to_ascii_lowercase();
    let v = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .unwrap_or(&v);
    let v = v.split('/').next().unwrap_or_default();
    let v = v.split(':').next().unwrap_or_default();
    if v.contains('.') {
        v.to_owned()
    } else {
        format!("{v}.vault.azure.net")
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn minimal(bytes: &[u8]) -> &[u8] {
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    &bytes[first..]
}

fn kv_error(status: u16, code: &str, message: &str, inner: Option<&str>) -> ResponseTemplate {
    let mut error = json!({"code": code, "message": message});
    if let Some(inner) = inner {
        error["innererror"] = json!({"code": inner});
    }
    with_headers(ResponseTemplate::new(status)).set_body_json(json!({ "error": error }))
}

fn with_headers(t: ResponseTemplate) -> ResponseTemplate {
    t.insert_header("x-ms-request-id", uuid_like().as_str())
        .insert_header("x-ms-keyvault-service-version", "1.9.0.0")
        .insert_header("x-ms-keyvault-region", "westeurope")
}

fn uuid_like() -> String {
    let b: [u8; 16] = rand::random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn new_version() -> String {
    let b: [u8; 16] = rand::random();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl FakeKeyVault {
    /// Mounts the Key Vault data-plane routes on the cloud's `*.vault.azure.net` server and the vault
    /// management routes on its ARM server.
    pub async fn mount(cloud: &FakeCloud) -> Self {
        let this = Self {
            state: Arc::default(),
            challenges: Arc::default(),
            sandbox_oid: cloud.sandbox().object_id.clone(),
            tenant: cloud.sandbox().tenant_id.clone(),
            arm: arm_vaults::VaultHooks::new(cloud),
            clock: cloud.clock(),
        };
        let server = cloud
            .server_for(HostRule::Suffix(".vault.azure.net".into()))
            .await;
        let routes: [(&str, &str, &str); 6] = [
            ("keyvault.create", "POST", r"^/keys/[^/]+/create$"),
            ("keyvault.get", "GET", r"^/keys/[^/]+(/[^/]*)?$"),
            (
                "keyvault.encrypt",
                "POST",
                r"(?i)^/keys/[^/]+/[^/]*/encrypt$",
            ),
            (
                "keyvault.decrypt",
                "POST",
                r"(?i)^/keys/[^/]+/[^/]*/decrypt$",
            ),
            (
                "keyvault.wrapkey",
                "POST",
                r"(?i)^/keys/[^/]+/[^/]*/wrapkey$",
            ),
            (
                "keyvault.unwrapkey",
                "POST",
                r"(?i)^/keys/[^/]+/[^/]*/unwrapkey$",
            ),
        ];
        for (route, method, path) in routes {
            let (fake, c) = (this.clone(), cloud.clone());
            let op = route.trim_start_matches("keyvault.").to_owned();
            cloud
                .mount(&server, route, method, path, move |r| {
                    fake.handle(&c, r, &op)
                })
                .await;
        }
        this.mount_arm(cloud).await;
        this
    }

    /// How many 401 challenges the fake answered (requests that came without a token).
    pub fn challenges(&self) -> u64 {
        self.challenges.load(Ordering::Relaxed)
    }

    /// Generate keys with `bits` bits whatever size CreateKey asks for (tests: 2048, for speed).
    pub fn set_generated_key_bits(&self, bits: Option<usize>) {
        self.state().generated_bits = bits;
    }

    /// Lets the principal `object_id` use the keys of `vault` (a name, host or URL).
    pub fn grant(&self, vault: &str, object_id: &str) {
        let sandbox = self.sandbox_oid.clone();
        self.state()
            .allowed
            .entry(vault_host(vault))
            .or_insert_with(|| HashSet::from([sandbox]))
            .insert(object_id.to_owned());
    }

    /// Lets the principal `object_id` use the keys of `vault` once `delay` has passed on the cloud's clock,
    /// as a new RBAC role assignment does in Azure (until then: 403 `ForbiddenByRbac`, "please observe
    /// propagation time").
    pub fn grant_after(&self, vault: &str, object_id: &str, delay: std::time::Duration) {
        let at = self.clock.now() + delay;
        self.state()
            .propagating
            .entry(vault_host(vault))
            .or_default()
            .push((object_id.to_owned(), at));
    }

    /// Removes the principal's access to `vault` (also works for the sandbox principal).
    pub fn revoke(&self, vault: &str, object_id: &str) {
        let sandbox = self.sandbox_oid.clone();
        self.state()
            .allowed
            .entry(vault_host(vault))
            .or_insert_with(|| HashSet::from([sandbox]))
            .remove(object_id);
    }

    /// Adds `key` as a new version of `vault`'s key `name` (`version`: given, or a random 32-hex one).
    /// Returns the key id (`https://<vault>/keys/<name>/<version>`).
    pub fn import_key(
        &self,
        vault: &str,
        name: &str,
        version: Option<&str>,
        key: rsa::PrivateKey,
    ) -> String {
        let host = vault_host(vault);
        let version = version.map(str::to_owned).unwrap_or_else(new_version);
        let created = time::OffsetDateTime::now_utc().unix_timestamp();
        let kv = KeyVersion {
            version: version.clone(),
            key: Arc::new(key),
            ops: ALL_OPS.map(String::from).to_vec(),
            created,
            tags: Default::default(),
        };
        self.insert(&host, name, kv);
        format!("https://{host}/keys/{name}/{version}")
    }

    /// [`FakeKeyVault::import_key`] from a PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM.
    pub fn import_pem(
        &self,
        vault: &str,
        name: &str,
        version: Option<&str>,
        pem: &str,
    ) -> Result<String, FakeError> {
        use rsa::pkcs1::DecodeRsaPrivateKey as _;
        use rsa::pkcs8::DecodePrivateKey as _;
        let key = rsa::PrivateKey::from_pkcs8_pem(pem)
            .map_err(|e| e.to_string())
            .or_else(|e8| rsa::PrivateKey::from_pkcs1_pem(pem).map_err(|e1| format!("{e8}; {e1}")))
            .map_err(FakeError::BadPem)?;
        Ok(self.import_key(vault, name, version, key))
    }

    /// Generates an RSA key of `bits` bits as a new version of `vault`'s key `name`; returns its key id.
    pub fn generate_key(&self, vault: &str, name: &str, bits: usize) -> Result<String, FakeError> {
        let key = rsa::PrivateKey::new(&mut getrandom::SysRng, bits)
            .map_err(|e| FakeError::Generate(e.to_string()))?;
        Ok(self.import_key(vault, name, None, key))
    }

    /// The versions of a key, oldest first (empty if it does not exist).
    pub fn versions(&self, vault: &str, name: &str) -> Vec<String> {
        self.state()
            .keys
            .get(&vault_host(vault))
            .and_then(|k| k.get(&name.to_ascii_lowercase()))
            .map(|(_, v)| v.iter().map(|k| k.version.clone()).collect())
            .unwrap_or_default()
    }

    /// The private key of a key version (latest when `version` is `None`), for tests that check ciphertexts
    /// independently.
    pub fn private_key(
        &self,
        vault: &str,
        name: &str,
        version: Option<&str>,
    ) -> Option<Arc<rsa::PrivateKey>> {
        let state = self.state();
        let (_, versions) = state
            .keys
            .get(&vault_host(vault))?
            .get(&name.to_ascii_lowercase())?;
        match version {
            None => versions.last(),
            Some(v) => versions.iter().find(|k| k.version.eq_ignore_ascii_case(v)),
        }
        .map(|k| k.key.clone())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn insert(&self, host: &str, name: &str, kv: KeyVersion) {
        self.state()
            .keys
            .entry(host.to_owned())
            .or_default()
            .entry(name.to_ascii_lowercase())
            .or_insert_with(|| (name.to_owned(), Vec::new()))
            .1
            .push(kv);
    }

    fn lookup(&self, host: &str, name: &str, version: &str) -> Option<(String, KeyVersion)> {
        let state = self.state();
        let (display, versions) = state.keys.get(host)?.get(&name.to_ascii_lowercase())?;
        let kv = if version.is_empty() {
            versions.last()
        } else {
            versions
                .iter()
                .find(|k| k.version.eq_ignore_ascii_case(version))
        }?;
        Some((display.clone(), kv.clone()))
    }

    fn allowed(&self, host: &str, oid: &str) -> bool {
        let now = self.clock.now();
        let mut state = self.state();
        let effective: Vec<String> = state
            .propagating
            .get_mut(host)
            .map(|pending| {
                let (done, waiting): (Vec<_>, Vec<_>) =
                    pending.drain(..).partition(|(_, at)| *at <= now);
                *pending = waiting;
                done.into_iter().map(|(o, _)| o).collect()
            })
            .unwrap_or_default();
        if !effective.is_empty() {
            let sandbox = self.sandbox_oid.clone();
            state
                .allowed
                .entry(host.to_owned())
                .or_insert_with(|| HashSet::from([sandbox]))
                .extend(effective);
        }
        match state.allowed.get(host) {
            Some(set) => set.contains(oid),
            None => oid == self.sandbox_oid,
        }
    }

    fn challenge(&self, message: &str) -> ResponseTemplate {
        with_headers(ResponseTemplate::new(401))
            .insert_header(
                "www-authenticate",
                format!(
                    r#"Bearer authorization="https://login.windows.net/{}", resource="{KEY_VAULT_AUDIENCE}""#,
                    self.tenant
                )
                .as_str(),
            )
            .set_body_json(json!({"error": {"code": "Unauthorized", "message": message}}))
    }

    fn handle(&self, cloud: &FakeCloud, r: &FakeRequest<'_>, op: &str) -> ResponseTemplate {
        let Some(version) = r.query("api-version").filter(|v| !v.is_empty()) else {
            return kv_error(
                400,
                "BadParameter",
                "The 'api-version' query parameter is required.",
                None,
            );
        };
        if !DATA_PLANE_API_VERSIONS.contains(&version.as_str()) {
            return kv_error(
                400,
                "BadParameter",
                &format!(
                    "The specified version ({version}) is not recognized. Consider using the latest supported version (2025-07-01)."
                ),
                None,
            );
        }
        let claims = match cloud.entra().verify_request(r, KEY_VAULT_AUDIENCE) {
            Ok(c) => c,
            Err(azflux_core::fake::entra::AuthFailure::Missing) => {
                self.challenges.fetch_add(1, Ordering::Relaxed);
                return self.challenge("Request is missing a Bearer or PoP token.");
            }
            Err(failure) => {
                let message = match failure {
                    azflux_core::fake::entra::AuthFailure::Expired => {
                        "AKV10032: Invalid issuer or the token expired.".to_owned()
                    }
                    azflux_core::fake::entra::AuthFailure::WrongAudience(a) => {
                        format!(
                            "AKV10022: Invalid audience. Expected {KEY_VAULT_AUDIENCE}, found: {a}."
                        )
                    }
                    _ => "AKV10000: Request is missing a valid Bearer token.".to_owned(),
                };
                return self.challenge(&message);
            }
        };
        let host = r.host();
        let segments: Vec<&str> = r.path().trim_start_matches('/').split('/').collect();
        let name = segments.get(1).copied().unwrap_or_default();
        let version = match op {
            "create" => "",
            _ => segments.get(2).copied().unwrap_or_default(),
        };
        if !self.allowed(&host, &claims.oid) {
            let vault = host.split('.').next().unwrap_or_default();
            let action = match op {
                "get" => "Microsoft.KeyVault/vaults/keys/read",
                "create" => "Microsoft.KeyVault/vaults/keys/create/action",
                "wrapkey" => "Microsoft.KeyVault/vaults/keys/wrap/action",
                "unwrapkey" => "Microsoft.KeyVault/vaults/keys/unwrap/action",
                "encrypt" => "Microsoft.KeyVault/vaults/keys/encrypt/action",
                _ => "Microsoft.KeyVault/vaults/keys/decrypt/action",
            };
            let message = format!(
                "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid={};oid={};iss=https://sts.windows.net/{}/\r\nAction: '{action}'\r\nResource: '/subscriptions/{}/resourcegroups/fake/providers/microsoft.keyvault/vaults/{vault}/keys/{}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: {vault};location=westeurope\r\n",
                claims.appid,
                claims.oid,
                claims.tid,
                cloud.sandbox().subscription_id,
                name.to_ascii_lowercase()
            );
            return kv_error(403, "Forbidden", &message, Some("ForbiddenByRbac"));
        }
        match op {
            "create" => self.create(r, &host, name),
            "get" => match self.lookup(&host, name, version) {
                Some((display, kv)) => with_headers(ResponseTemplate::new(200))
                    .set_body_json(bundle(&host, &display, &kv)),
                None => not_found(name, version),
            },
            _ => self.operate(r, &host, name, version, op),
        }
    }

    fn create(&self, r: &FakeRequest<'_>, host: &str, name: &str) -> ResponseTemplate {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return kv_error(
                400,
                "BadParameter",
                "The request URI contains an invalid name: key names may contain only 0-9, a-z, A-Z, and -.",
                None,
            );
        }
        let Some(body) = r.json() else {
            return kv_error(
                400,
                "BadParameter",
                "The request body is not valid JSON.",
                None,
            );
        };
        let kty = body["kty"].as_str().unwrap_or_default();
        if kty != "RSA" && kty != "RSA-HSM" {
            return kv_error(
                400,
                "BadParameter",
                &format!(
                    "Invalid or unsupported key type '{kty}' (this fake supports RSA and RSA-HSM)."
                ),
                None,
            );
        }
        let size = body["key_size"].as_u64().unwrap_or(2048);
        if ![2048, 3072, 4096].contains(&size) {
            return kv_error(
                400,
                "BadParameter",
                &format!("Invalid key size {size}: RSA keys must be 2048, 3072 or 4096 bits."),
                None,
            );
        }
        let ops: Vec<String> = body["key_ops"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .filter(|v: &Vec<String>| !v.is_empty())
            .unwrap_or_else(|| ALL_OPS.map(String::from).to_vec());
        let bits = self.state().generated_bits.unwrap_or(size as usize);
        let key = match rsa::PrivateKey::new(&mut getrandom::SysRng, bits) {
            Ok(k) => k,
            Err(e) => return kv_error(500, "InternalServerError", &e.to_string(), None),
        };
        let kv = KeyVersion {
            version: new_version(),
            key: Arc::new(key),
            ops,
            created: time::OffsetDateTime::now_utc().unix_timestamp(),
            tags: body["tags"].as_object().cloned().unwrap_or_default(),
        };
        self.insert(host, name, kv.clone());
        let display = self
            .lookup(host, name, &kv.version)
            .map(|(d, _)| d)
            .unwrap_or_else(|| name.to_owned());
        with_headers(ResponseTemplate::new(200)).set_body_json(bundle(host, &display, &kv))
    }

    fn operate(
        &self,
        r: &FakeRequest<'_>,
        host: &str,
        name: &str,
        version: &str,
        op: &str,
    ) -> ResponseTemplate {
        let Some((display, kv)) = self.lookup(host, name, version) else {
            return not_found(name, version);
        };
        let needed = match op {
            "wrapkey" => "wrapKey",
            "unwrapkey" => "unwrapKey",
            other => other,
        };
        if !kv.ops.iter().any(|o| o == needed) {
            return kv_error(
                403,
                "Forbidden",
                &format!("Operation {needed} is not permitted on this key."),
                Some("KeyOperationForbidden"),
            );
        }
        let Some(body) = r.json() else {
            return kv_error(
                400,
                "BadParameter",
                "The request body is not valid JSON.",
                None,
            );
        };
        let alg = body["alg"].as_str().unwrap_or_default();
        let Some(input) = body["value"].as_str().and_then(decode_b64url) else {
            return kv_error(
                400,
                "BadParameter",
                "Property 'value' is missing or not base64url.",
                None,
            );
        };
        let public = rsa::PublicKey::from(kv.key.as_ref());
        let rng = &mut getrandom::SysRng;
        let out = match (op, alg) {
            ("encrypt" | "wrapkey", RSA_OAEP_256) => {
                public.oaep_encrypt_with_rng::<rsa::sha2::Sha256, _>(rng, &input)
            }
            ("encrypt" | "wrapkey", RSA_OAEP) => {
                public.oaep_encrypt_with_rng::<sha1::Sha1, _>(rng, &input)
            }
            (_, RSA_OAEP_256) => kv
                .key
                .oaep_decrypt_with_rng::<rsa::sha2::Sha256, _>(rng, &input),
            (_, RSA_OAEP) => kv.key.oaep_decrypt_with_rng::<sha1::Sha1, _>(rng, &input),
            _ => {
                return kv_error(
                    400,
                    "BadParameter",
                    &format!(
                        "Invalid algorithm '{alg}' for an RSA key (this fake supports RSA-OAEP-256 and RSA-OAEP)."
                    ),
                    None,
                );
            }
        };
        match out {
            Ok(value) => with_headers(ResponseTemplate::new(200)).set_body_json(json!({
                "kid": format!("https://{host}/keys/{display}/{}", kv.version),
                "value": b64(&value),
            })),
            Err(_) if op == "encrypt" || op == "wrapkey" => kv_error(
                400,
                "BadParameter",
                &format!(
                    "The value is too long for {alg} with a {}-bit key.",
                    public.size() * 8
                ),
                None,
            ),
            Err(_) => kv_error(
                400,
                "BadParameter",
                "Decryption failed: the ciphertext was not produced by this key version with this algorithm.",
                None,
            ),
        }
    }
}

fn not_found(name: &str, version: &str) -> ResponseTemplate {
    let id = if version.is_empty() {
        name.to_owned()
    } else {
        format!("{name}/{version}")
    };
    kv_error(
        404,
        "KeyNotFound",
        &format!(
            "A key with (name/id) {id} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
        None,
    )
}

fn bundle(host: &str, display: &str, kv: &KeyVersion) -> Value {
    let n = kv.key.n().to_be_bytes();
    let e = kv.key.e().to_be_bytes();
    json!({
        "key": {
            "kid": format!("https://{host}/keys/{display}/{}", kv.version),
            "kty": "RSA",
            "key_ops": kv.ops,
            "n": b64(minimal(&n)),
            "e": b64(minimal(&e)),
        },
        "attributes": {
            "enabled": true,
            "created": kv.created,
            "updated": kv.created,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        },
        "tags": kv.tags,
    })
}
