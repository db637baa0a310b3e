//! [`FakeAcr`]: the ACR token service and a registry data plane, mounted on a [`FakeCloud`] for every
//! `*.azurecr.io` host.
//!
//! - Token service: `POST /oauth2/exchange` (verifies the AAD token with the fake Entra ID: audience
//!   `https://containerregistry.azure.net` or ARM), `POST /oauth2/token` (refresh token → access token),
//!   `GET /oauth2/token` (Docker token auth with basic credentials, the null-GUID user + refresh token, or
//!   anonymously). Tokens are RS256 JWTs whose `kid` is the libtrust key id of [`FakeAcr::certificate_pem`],
//!   so a real `docker-registry` configured with `auth: token` (see [`FakeAcr::registry_auth_config`])
//!   accepts them.
//! - Data plane (for fault cases a real registry cannot produce): `/v2/` with ACR's challenge, tags with
//!   `Link` paging, manifests, blobs (monolithic uploads) kept in memory; faults per blob (corrupted,
//!   truncated) and raw manifests (oversized, huge declared sizes).
//! - ARM (`management.azure.com`, see [`arm`]): `Microsoft.ContainerRegistry/registries` PUT/GET/DELETE and
//!   `checkNameAvailability`, stateful, with long-running creates on the fake clock.

pub mod arm;

use crate::wire::{self, NULL_GUID_USER};
use azflux_core::fake::FakeCloud;
use azflux_core::fake::request::FakeRequest;
use azflux_core::http::HostRule;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;
use wiremock::{MockServer, ResponseTemplate};

/// The audience of AAD tokens ACR accepts besides ARM's.
pub const ACR_AUDIENCE: &str = "https://containerregistry.azure.net";

/// Options for [`FakeAcr::mount_with`].
#[derive(Debug, Clone)]
pub struct FakeAcrOptions {
    /// The `iss` of issued tokens (default `Azure Container Registry`).
    pub issuer: String,
    /// Access token lifetime (default 75 min, as ACR).
    pub access_token_lifetime: Duration,
    /// Refresh token lifetime (default 3 h, as ACR).
    pub refresh_token_lifetime: Duration,
}

impl Default for FakeAcrOptions {
    fn default() -> Self {
        Self {
            issuer: "Azure Container Registry".into(),
            access_token_lifetime: Duration::from_secs(75 * 60),
            refresh_token_lifetime: Duration::from_secs(3 * 3600),
        }
    }
}

/// A fault served for one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobFault {
    /// Serve bytes that do not match the digest (same length).
    Corrupt,
    /// Serve only the first half of the blob.
    Truncate,
}

struct Signer {
    key: rsa::PrivateKey,
    kid: String,
    cert_pem: String,
}

struct BasicCredential {
    username: String,
    password: SecretString,
    repositories: Option<Vec<String>>,
    actions: Vec<String>,
}

#[derive(Default)]
struct Store {
    blobs: HashMap<String, Bytes>,
    manifests: HashMap<(String, String), (String, Bytes)>,
    tags: BTreeMap<String, BTreeSet<String>>,
    uploads: HashMap<String, String>,
}

#[derive(Default)]
struct Model {
    basic: Vec<BasicCredential>,
    anonymous_pull: bool,
    aad_actions: Vec<String>,
    realm_override: Option<String>,
    open_base: bool,
    tag_page_size: Option<usize>,
    blob_faults: HashMap<String, BlobFault>,
    registries: HashMap<String, Store>,
    exchanges: u64,
    issued: Vec<(String, String)>,
}

/// The fake ACR. Cloning shares it.
#[derive(Clone)]
pub struct FakeAcr {
    cloud: FakeCloud,
    server: Arc<MockServer>,
    signer: Arc<Signer>,
    options: Arc<FakeAcrOptions>,
    model: Arc<Mutex<Model>>,
    arm: Arc<arm::RegistryHooks>,
}

impl fmt::Debug for FakeAcr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeAcr")
            .field("address", self.server.address())
            .field("kid", &self.signer.kid)
            .finish_non_exhaustive()
    }
}

fn signer() -> Result<Arc<Signer>, String> {
    static SIGNER: OnceLock<Result<Arc<Signer>, String>> = OnceLock::new();
    SIGNER
        .get_or_init(|| {
            // One RSA-2048 key per process: generating keys is slow in debug builds.
            let key =
                rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).map_err(|e| e.to_string())?;
            let spki = rsa::pkcs8::EncodePublicKey::to_public_key_der(&key.to_public_key())
                .map_err(|e| e.to_string())?;
            let kid = libtrust_key_id(spki.as_bytes());
            let pkcs8 =
                rsa::pkcs8::EncodePrivateKey::to_pkcs8_der(&key).map_err(|e| e.to_string())?;
            let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
                &pkcs8.as_bytes().into(),
                &rcgen::PKCS_RSA_SHA256,
            )
            .map_err(|e| e.to_string())?;
            let mut params = rcgen::CertificateParams::default();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, "azflux fake ACR token signer");
            let cert = params.self_signed(&key_pair).map_err(|e| e.to_string())?;
            Ok(Arc::new(Signer {
                key,
                kid,
                cert_pem: cert.pem(),
            }))
        })
        .clone()
}

/// The libtrust key id docker-registry uses for `kid`: SHA-256 of the DER SubjectPublicKeyInfo, first 240
/// bits, base32 without padding, in groups of four joined by `:`.
pub fn libtrust_key_id(spki_der: &[u8]) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(spki_der);
    let b32 = base32(&hash[..30]);
    b32.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in data {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn acr_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "errors": [{"code": code, "message": message, "detail": null}]
    }))
}

/// `(repository, actions)` of one `repository:<name>:<actions>` scope.
fn parse_scope(scope: &str) -> Option<(String, Vec<String>)> {
    let rest = scope.strip_prefix("repository:")?;
    let (name, actions) = rest.rsplit_once(':')?;
    Some((
        name.to_owned(),
        actions.split(',').map(str::to_owned).collect(),
    ))
}

/// What a data-plane path addresses.
enum Target {
    Base,
    Tags(String),
    Manifest(String, String),
    Blob(String, String),
    UploadStart(String),
    Upload(String, String),
}

fn parse_target(path: &str) -> Option<Target> {
    let rest = path.strip_prefix("/v2/")?;
    if rest.is_empty() {
        return Some(Target::Base);
    }
    if let Some(repo) = rest.strip_suffix("/tags/list") {
        return Some(Target::Tags(repo.to_owned()));
    }
    if let Some(repo) = rest.strip_suffix("/blobs/uploads/") {
        return Some(Target::UploadStart(repo.to_owned()));
    }
    if let Some((repo, id)) = rest.rsplit_once("/blobs/uploads/") {
        return Some(Target::Upload(repo.to_owned(), id.to_owned()));
    }
    if let Some((repo, digest)) = rest.rsplit_once("/blobs/") {
        return Some(Target::Blob(repo.to_owned(), digest.to_owned()));
    }
    if let Some((repo, reference)) = rest.rsplit_once("/manifests/") {
        return Some(Target::Manifest(repo.to_owned(), reference.to_owned()));
    }
    None
}

impl FakeAcr {
    /// Mounts the fake on `cloud` for every `*.azurecr.io` host, with default options.
    pub async fn mount(cloud: &FakeCloud) -> Self {
        Self::mount_with(cloud, FakeAcrOptions::default()).await
    }

    /// Mounts the fake on `cloud` for every `*.azurecr.io` host.
    ///
    /// # Panics
    /// Never in practice: only if the process cannot generate an RSA key (no OS randomness).
    #[allow(clippy::expect_used)]
    pub async fn mount_with(cloud: &FakeCloud, options: FakeAcrOptions) -> Self {
        let suffix = format!(".{}", cloud.cloud().container_registry_suffix);
        let server = cloud.server_for(HostRule::Suffix(suffix)).await;
        let signer = signer().expect("the fake ACR could not generate its RSA signing key");
        let this = Self {
            cloud: cloud.clone(),
            server: server.clone(),
            signer,
            options: Arc::new(options),
            model: Arc::new(Mutex::new(Model {
                aad_actions: vec!["pull".into(), "push".into()],
                ..Model::default()
            })),
            arm: Self::registry_hooks(cloud),
        };
        let routes: [(&str, &str, &str); 9] = [
            ("acr.exchange", "POST", r"^/oauth2/exchange$"),
            ("acr.token", "POST", r"^/oauth2/token$"),
            ("acr.token.basic", "GET", r"^/oauth2/token$"),
            ("acr.v2.get", "GET", r"^/v2/.*$"),
            ("acr.v2.head", "HEAD", r"^/v2/.+$"),
            ("acr.v2.put", "PUT", r"^/v2/.+$"),
            ("acr.v2.post", "POST", r"^/v2/.+$"),
            ("acr.v2.patch", "PATCH", r"^/v2/.+$"),
            ("acr.v2.delete", "DELETE", r"^/v2/.+$"),
        ];
        for (name, method, path) in routes {
            let me = this.clone();
            let route = name.to_owned();
            cloud
                .mount(&server, name, method, path, move |r| me.handle(&route, r))
                .await;
        }
        this.mount_arm().await;
        this
    }

    /// The fake's local address (the token service is reachable directly at `http://<address>/oauth2/token`).
    pub fn address(&self) -> SocketAddr {
        *self.server.address()
    }

    /// `http://<address>/oauth2/token`: the realm for a real `docker-registry` using this token service.
    pub fn realm(&self) -> String {
        format!("http://{}/oauth2/token", self.address())
    }

    /// The PEM certificate of the token signing key (the registry's `rootcertbundle`).
    pub fn certificate_pem(&self) -> &str {
        &self.signer.cert_pem
    }

    /// The issuer of the tokens.
    pub fn issuer(&self) -> &str {
        &self.options.issuer
    }

    /// The `auth:` section of a docker-registry config that trusts this token service for `service`.
    pub fn registry_auth_config(&self, service: &str, rootcertbundle: &std::path::Path) -> String {
        format!(
            "auth:\n  token:\n    realm: {}\n    service: \"{service}\"\n    issuer: \"{}\"\n    rootcertbundle: {}\n",
            self.realm(),
            self.options.issuer,
            rootcertbundle.display()
        )
    }

    fn model(&self) -> std::sync::MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Accepts basic credentials (admin user or repository-scoped token) for `actions` on `repositories`
    /// (`None`: every repository).
    pub fn add_basic_credential(
        &self,
        username: &str,
        password: SecretString,
        repositories: Option<Vec<String>>,
        actions: &[&str],
    ) {
        self.model().basic.push(BasicCredential {
            username: username.to_owned(),
            password,
            repositories,
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
        });
    }

    /// Lets anonymous callers pull (ACR's `anonymousPullEnabled`).
    pub fn set_anonymous_pull(&self, enabled: bool) {
        self.model().anonymous_pull = enabled;
    }

    /// The actions AAD principals get (default pull and push: AcrPush).
    pub fn set_aad_actions(&self, actions: &[&str]) {
        self.model().aad_actions = actions.iter().map(|a| (*a).to_owned()).collect();
    }

    /// Makes the data plane's challenge name another realm (a hostile or misconfigured registry).
    pub fn set_challenge_realm(&self, realm: Option<&str>) {
        self.model().realm_override = realm.map(str::to_owned);
    }

    /// Answers `GET /v2/` with 200 to anyone (some registries do; clients must then learn the token realm
    /// from a repository's challenge).
    pub fn set_open_base(&self, open: bool) {
        self.model().open_base = open;
    }

    /// Pages tag lists this many at a time (with `Link` headers), as ACR does.
    pub fn set_tag_page_size(&self, size: Option<usize>) {
        self.model().tag_page_size = size;
    }

    /// Serves blob `digest` with `fault` from now on.
    pub fn set_blob_fault(&self, digest: &str, fault: Option<BlobFault>) {
        match fault {
            Some(f) => self.model().blob_faults.insert(digest.to_owned(), f),
            None => self.model().blob_faults.remove(digest),
        };
    }

    /// Stores a blob in `registry` (`myacr.azurecr.io`); returns its digest.
    pub fn put_blob(&self, registry: &str, data: impl Into<Bytes>) -> String {
        let data = data.into();
        let digest = wire::sha256_digest(&data);
        self.model()
            .registries
            .entry(registry.to_ascii_lowercase())
            .or_default()
            .blobs
            .insert(digest.clone(), data);
        digest
    }

    /// Stores a manifest as given (no validation: for hostile-manifest tests); returns its digest.
    pub fn put_raw_manifest(
        &self,
        registry: &str,
        repository: &str,
        tag: &str,
        media_type: &str,
        body: impl Into<Bytes>,
    ) -> String {
        let body = body.into();
        let digest = wire::sha256_digest(&body);
        let mut model = self.model();
        let store = model
            .registries
            .entry(registry.to_ascii_lowercase())
            .or_default();
        for reference in [tag.to_owned(), digest.clone()] {
            store.manifests.insert(
                (repository.to_owned(), reference),
                (media_type.to_owned(), body.clone()),
            );
        }
        store
            .tags
            .entry(repository.to_owned())
            .or_default()
            .insert(tag.to_owned());
        digest
    }

    /// The tags of `repository` in `registry`.
    pub fn tags(&self, registry: &str, repository: &str) -> Vec<String> {
        self.model()
            .registries
            .get(&registry.to_ascii_lowercase())
            .and_then(|s| s.tags.get(repository))
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// How many AAD → refresh token exchanges succeeded.
    pub fn exchanges(&self) -> u64 {
        self.model().exchanges
    }

    /// `(service, scope)` of every access token issued.
    pub fn tokens_issued(&self) -> Vec<(String, String)> {
        self.model().issued.clone()
    }

    fn now(&self) -> i64 {
        self.cloud.clock().now().unix_timestamp()
    }

    fn sign(&self, claims: &Value) -> String {
        use rsa::sha2::Digest;
        let header = json!({"typ": "JWT", "alg": "RS256", "kid": self.signer.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let hashed = rsa::sha2::Sha256::digest(input.as_bytes());
        let sig = self
            .signer
            .key
            .sign(rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha256>(), &hashed)
            .unwrap_or_default();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// Verifies a token this fake signed; returns its claims.
    fn verify(&self, token: &str) -> Option<Value> {
        use rsa::sha2::Digest;
        let mut parts = token.split('.');
        let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
        let sig = URL_SAFE_NO_PAD.decode(s).ok()?;
        let hashed = rsa::sha2::Sha256::digest(format!("{h}.{p}").as_bytes());
        self.signer
            .key
            .to_public_key()
            .verify(rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha256>(), &hashed, &sig)
            .ok()?;
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()?;
        let now = self.now();
        if claims.get("exp")?.as_i64()? <= now || claims.get("nbf")?.as_i64()? > now + 60 {
            return None;
        }
        Some(claims)
    }

    fn mint(&self, subject: &str, service: &str, lifetime: Duration, extra: Value) -> String {
        let now = self.now();
        let mut claims = json!({
            "jti": format!("{:x}", rand_u128()),
            "sub": subject,
            "nbf": now,
            "exp": now + lifetime.as_secs() as i64,
            "iat": now,
            "iss": self.options.issuer,
            "aud": service,
            "version": "1.0",
        });
        if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                c.insert(k.clone(), v.clone());
            }
        }
        self.sign(&claims)
    }

    /// Mints an access token for `service` granting `access` (`[(repository, [actions])]`): for tests that
    /// need a token without the flow.
    pub fn mint_access_token(&self, service: &str, access: &[(&str, &[&str])]) -> String {
        let access: Vec<Value> = access
            .iter()
            .map(|(name, actions)| json!({"type": "repository", "name": name, "actions": actions}))
            .collect();
        self.mint(
            "test",
            service,
            self.options.access_token_lifetime,
            json!({"access": access}),
        )
    }

    fn handle(&self, route: &str, r: &FakeRequest<'_>) -> ResponseTemplate {
        match route {
            "acr.exchange" => self.exchange(r),
            "acr.token" => self.token_post(r),
            "acr.token.basic" => self.token_get(r),
            _ => self.data_plane(r),
        }
    }

    fn exchange(&self, r: &FakeRequest<'_>) -> ResponseTemplate {
        let form = r.form();
        let field = |n: &str| form.get(n).cloned().unwrap_or_default();
        if field("grant_type") != "access_token" {
            return acr_error(400, "UNSUPPORTED", "grant_type must be access_token");
        }
        let service = field("service");
        if service.is_empty() {
            return acr_error(400, "UNSUPPORTED", "service is required");
        }
        let aad = field("access_token");
        let entra = self.cloud.entra();
        let arm = self.cloud.cloud().resource_manager_audience;
        let claims = match entra
            .verify(&aad, ACR_AUDIENCE)
            .or_else(|_| entra.verify(&aad, &arm))
        {
            Ok(c) => c,
            Err(e) => {
                return acr_error(
                    401,
                    "UNAUTHORIZED",
                    &format!("the AAD access token was refused: {e:?}"),
                );
            }
        };
        let tenant = field("tenant");
        if !tenant.is_empty() && tenant != claims.tid {
            return acr_error(401, "UNAUTHORIZED", "the token is from another tenant");
        }
        self.model().exchanges += 1;
        let token = self.mint(
            &claims.oid,
            &service,
            self.options.refresh_token_lifetime,
            json!({"grant_type": "refresh_token", "tenant": claims.tid, "permissions": {"actions": ["read"]}}),
        );
        ResponseTemplate::new(200).set_body_json(json!({"refresh_token": token}))
    }

    fn scopes_of(r: &FakeRequest<'_>, from_body: bool) -> Vec<String> {
        let pairs: Vec<(String, String)> = if from_body {
            url::form_urlencoded::parse(r.body()).into_owned().collect()
        } else {
            r.raw().url.query_pairs().into_owned().collect()
        };
        pairs
            .into_iter()
            .filter(|(k, _)| k == "scope")
            .flat_map(|(_, v)| v.split(' ').map(str::to_owned).collect::<Vec<_>>())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Grants the intersection of the asked scopes and `allowed(repo) -> actions`.
    fn access_for(
        &self,
        scopes: &[String],
        allowed: &dyn Fn(&str) -> Vec<String>,
    ) -> (Vec<Value>, Vec<String>) {
        let mut access = Vec::new();
        let mut asked = Vec::new();
        for scope in scopes {
            let Some((name, actions)) = parse_scope(scope) else {
                continue;
            };
            let ok = allowed(&name);
            let granted: Vec<String> = actions.into_iter().filter(|a| ok.contains(a)).collect();
            asked.push(scope.clone());
            access.push(json!({"type": "repository", "name": name, "actions": granted}));
        }
        (access, asked)
    }

    fn issue(
        &self,
        subject: &str,
        service: &str,
        scopes: &[String],
        access: Vec<Value>,
        docker: bool,
    ) -> ResponseTemplate {
        let token = self.mint(
            subject,
            service,
            self.options.access_token_lifetime,
            json!({"access": access, "grant_type": "access_token"}),
        );
        self.model()
            .issued
            .push((service.to_owned(), scopes.join(" ")));
        if docker {
            let issued_at = self
                .cloud
                .clock()
                .now()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            ResponseTemplate::new(200).set_body_json(json!({
                "token": token,
                "access_token": token,
                "expires_in": self.options.access_token_lifetime.as_secs(),
                "issued_at": issued_at,
            }))
        } else {
            ResponseTemplate::new(200).set_body_json(json!({"access_token": token}))
        }
    }

    fn token_post(&self, r: &FakeRequest<'_>) -> ResponseTemplate {
        let form = r.form();
        let field = |n: &str| form.get(n).cloned().unwrap_or_default();
        if field("grant_type") != "refresh_token" {
            return acr_error(400, "UNSUPPORTED", "grant_type must be refresh_token");
        }
        let service = field("service");
        let Some(claims) = self.verify(&field("refresh_token")) else {
            return acr_error(
                401,
                "UNAUTHORIZED",
                "the refresh token is invalid or expired",
            );
        };
        if claims.get("aud").and_then(Value::as_str) != Some(service.as_str())
            || claims.get("grant_type").and_then(Value::as_str) != Some("refresh_token")
        {
            return acr_error(
                401,
                "UNAUTHORIZED",
                "the refresh token is for another registry",
            );
        }
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let scopes = Self::scopes_of(r, true);
        let aad = self.model().aad_actions.clone();
        let (access, asked) = self.access_for(&scopes, &|_| aad.clone());
        self.issue(&subject, &service, &asked, access, false)
    }

    fn token_get(&self, r: &FakeRequest<'_>) -> ResponseTemplate {
        let service = r.query("service").unwrap_or_default();
        let scopes = Self::scopes_of(r, false);
        let basic = r
            .header("authorization")
            .and_then(|h| h.strip_prefix("Basic ").map(str::to_owned))
            .and_then(|b| STANDARD.decode(b.trim()).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned())));
        let challenge = || {
            acr_error(401, "UNAUTHORIZED", "authentication required").insert_header(
                "www-authenticate",
                format!(r#"Basic realm="{}""#, "Azure Container Registry"),
            )
        };
        match basic {
            Some((user, pass)) if user == NULL_GUID_USER => {
                let Some(claims) = self.verify(&pass) else {
                    return challenge();
                };
                if claims.get("aud").and_then(Value::as_str) != Some(service.as_str()) {
                    return challenge();
                }
                let subject = claims
                    .get("sub")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let aad = self.model().aad_actions.clone();
                let (access, asked) = self.access_for(&scopes, &|_| aad.clone());
                self.issue(&subject, &service, &asked, access, true)
            }
            Some((user, pass)) => {
                let grants: Option<(Option<Vec<String>>, Vec<String>)> = self
                    .model()
                    .basic
                    .iter()
                    .find(|c| c.username == user && c.password.expose_secret() == pass)
                    .map(|c| (c.repositories.clone(), c.actions.clone()));
                let Some((repos, actions)) = grants else {
                    return challenge();
                };
                let (access, asked) = self.access_for(&scopes, &|name| match &repos {
                    Some(list) if !list.iter().any(|r| r == name) => Vec::new(),
                    _ => actions.clone(),
                });
                self.issue(&user, &service, &asked, access, true)
            }
            None => {
                if !self.model().anonymous_pull {
                    return challenge();
                }
                let (access, asked) = self.access_for(&scopes, &|_| vec!["pull".into()]);
                self.issue("anonymous", &service, &asked, access, true)
            }
        }
    }

    fn challenge(
        &self,
        r: &FakeRequest<'_>,
        scope: Option<&str>,
        error: Option<&str>,
    ) -> ResponseTemplate {
        let host = r.host();
        let realm = self
            .model()
            .realm_override
            .clone()
            .unwrap_or_else(|| format!("{}/oauth2/token", r.origin()));
        let mut header = format!(r#"Bearer realm="{realm}",service="{host}""#);
        if let Some(s) = scope {
            header.push_str(&format!(r#",scope="{s}""#));
        }
        if let Some(e) = error {
            header.push_str(&format!(r#",error="{e}""#));
        }
        acr_error(
            401,
            "UNAUTHORIZED",
            "authentication required, visit https://aka.ms/acr/authorization for more information.",
        )
        .insert_header("www-authenticate", header)
        .insert_header("docker-distribution-api-version", "registry/2.0")
    }

    /// Whether the request's bearer token grants `action` on `repository` for this host.
    fn authorized(&self, r: &FakeRequest<'_>, repository: Option<&str>, action: &str) -> bool {
        let Some(claims) = r.bearer().and_then(|t| self.verify(t)) else {
            return false;
        };
        if claims.get("aud").and_then(Value::as_str) != Some(r.host().as_str()) {
            return false;
        }
        let Some(repository) = repository else {
            return true;
        };
        claims
            .get("access")
            .and_then(Value::as_array)
            .is_some_and(|entries| {
                entries.iter().any(|e| {
                    e.get("name").and_then(Value::as_str) == Some(repository)
                        && e.get("actions")
                            .and_then(Value::as_array)
                            .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(action)))
                })
            })
    }

    fn data_plane(&self, r: &FakeRequest<'_>) -> ResponseTemplate {
        let Some(target) = parse_target(r.path()) else {
            return acr_error(404, "NAME_UNKNOWN", "no such route");
        };
        let method = r.method();
        let (repo, action) = match &target {
            Target::Base => (None, "pull"),
            Target::Tags(repo) | Target::Manifest(repo, _) | Target::Blob(repo, _) => {
                let action = if method == "GET" || method == "HEAD" {
                    "pull"
                } else {
                    "push"
                };
                (Some(repo.as_str()), action)
            }
            Target::UploadStart(repo) | Target::Upload(repo, _) => (Some(repo.as_str()), "push"),
        };
        let open = matches!(target, Target::Base) && self.model().open_base;
        if !open && !self.authorized(r, repo, action) {
            let scope = repo.map(|n| format!("repository:{n}:{action}"));
            let error = r.bearer().map(|_| "insufficient_scope");
            return self.challenge(r, scope.as_deref(), error);
        }
        let host = r.host();
        match (method.as_str(), target) {
            (_, Target::Base) => ResponseTemplate::new(200).set_body_json(json!({})),
            ("GET", Target::Tags(repo)) => self.list_tags(r, &host, &repo),
            ("GET" | "HEAD", Target::Manifest(repo, reference)) => {
                self.get_manifest(r, &host, &repo, &reference, method == "HEAD")
            }
            ("PUT", Target::Manifest(repo, reference)) => {
                self.put_manifest(r, &host, &repo, &reference)
            }
            ("GET" | "HEAD", Target::Blob(_, digest)) => {
                self.get_blob(&host, &digest, method == "HEAD")
            }
            ("POST", Target::UploadStart(repo)) => {
                let id = uuid::Uuid::new_v4().to_string();
                self.model()
                    .registries
                    .entry(host.clone())
                    .or_default()
                    .uploads
                    .insert(id.clone(), repo.clone());
                ResponseTemplate::new(202)
                    .insert_header("location", format!("/v2/{repo}/blobs/uploads/{id}"))
                    .insert_header("docker-upload-uuid", id)
                    .insert_header("range", "0-0")
            }
            ("PUT", Target::Upload(repo, id)) => {
                let digest = r.query("digest").unwrap_or_default();
                let body = Bytes::copy_from_slice(r.body());
                let mut model = self.model();
                let store = model.registries.entry(host.clone()).or_default();
                if store.uploads.remove(&id).is_none() {
                    return acr_error(
                        404,
                        "BLOB_UPLOAD_UNKNOWN",
                        "blob upload unknown to registry",
                    );
                }
                if wire::sha256_digest(&body) != digest {
                    return acr_error(
                        400,
                        "DIGEST_INVALID",
                        "provided digest did not match uploaded content",
                    );
                }
                store.blobs.insert(digest.clone(), body);
                ResponseTemplate::new(201)
                    .insert_header("location", format!("/v2/{repo}/blobs/{digest}"))
                    .insert_header("docker-content-digest", digest)
            }
            _ => acr_error(405, "UNSUPPORTED", "The operation is unsupported."),
        }
    }

    fn list_tags(&self, r: &FakeRequest<'_>, host: &str, repo: &str) -> ResponseTemplate {
        let model = self.model();
        let Some(tags) = model.registries.get(host).and_then(|s| s.tags.get(repo)) else {
            return acr_error(404, "NAME_UNKNOWN", "repository name not known to registry");
        };
        let page = r
            .query("n")
            .and_then(|n| n.parse::<usize>().ok())
            .or(model.tag_page_size);
        let last = r.query("last");
        let rest: Vec<&String> = tags
            .iter()
            .filter(|t| last.as_ref().is_none_or(|l| t.as_str() > l.as_str()))
            .collect();
        let (page_tags, more) = match page {
            Some(n) if rest.len() > n => (rest[..n].to_vec(), true),
            _ => (rest, false),
        };
        let mut resp =
            ResponseTemplate::new(200).set_body_json(json!({"name": repo, "tags": page_tags}));
        if more && let (Some(n), Some(last)) = (page, page_tags.last()) {
            resp = resp.insert_header(
                "link",
                format!(r#"</v2/{repo}/tags/list?last={last}&n={n}>; rel="next""#),
            );
        }
        resp
    }

    fn get_manifest(
        &self,
        r: &FakeRequest<'_>,
        host: &str,
        repo: &str,
        reference: &str,
        head: bool,
    ) -> ResponseTemplate {
        let model = self.model();
        let Some((media_type, body)) = model
            .registries
            .get(host)
            .and_then(|s| s.manifests.get(&(repo.to_owned(), reference.to_owned())))
        else {
            return acr_error(404, "MANIFEST_UNKNOWN", "manifest unknown");
        };
        let accept = r.header("accept").unwrap_or_default();
        if !accept.contains(media_type.as_str()) && !accept.contains("*/*") {
            return acr_error(
                404,
                "MANIFEST_UNKNOWN",
                "OCI manifest found, but accept header does not support OCI manifests",
            );
        }
        let digest = wire::sha256_digest(body);
        let t = ResponseTemplate::new(200)
            .insert_header("docker-content-digest", digest)
            .insert_header("content-type", media_type.as_str());
        if head {
            t.insert_header("content-length", body.len().to_string())
        } else {
            t.set_body_raw(body.to_vec(), media_type)
        }
    }

    fn put_manifest(
        &self,
        r: &FakeRequest<'_>,
        host: &str,
        repo: &str,
        reference: &str,
    ) -> ResponseTemplate {
        let media_type = r.header("content-type").unwrap_or_default();
        let body = Bytes::copy_from_slice(r.body());
        let Ok(manifest) = serde_json::from_slice::<wire::Manifest>(&body) else {
            return acr_error(400, "MANIFEST_INVALID", "manifest invalid");
        };
        let mut model = self.model();
        let store = model.registries.entry(host.to_owned()).or_default();
        for d in std::iter::once(&manifest.config).chain(manifest.layers.iter()) {
            if !store.blobs.contains_key(&d.digest) {
                return acr_error(
                    400,
                    "MANIFEST_BLOB_UNKNOWN",
                    &format!("blob unknown to registry: {}", d.digest),
                );
            }
        }
        let digest = wire::sha256_digest(&body);
        for rf in [reference.to_owned(), digest.clone()] {
            store
                .manifests
                .insert((repo.to_owned(), rf), (media_type.clone(), body.clone()));
        }
        if !reference.starts_with("sha256:") {
            store
                .tags
                .entry(repo.to_owned())
                .or_default()
                .insert(reference.to_owned());
        }
        ResponseTemplate::new(201)
            .insert_header("location", format!("/v2/{repo}/manifests/{digest}"))
            .insert_header("docker-content-digest", digest)
    }

    fn get_blob(&self, host: &str, digest: &str, head: bool) -> ResponseTemplate {
        let model = self.model();
        let Some(data) = model.registries.get(host).and_then(|s| s.blobs.get(digest)) else {
            return acr_error(404, "BLOB_UNKNOWN", "blob unknown to registry");
        };
        let mut data = data.to_vec();
        match model.blob_faults.get(digest) {
            Some(BlobFault::Corrupt) => {
                if let Some(b) = data.first_mut() {
                    *b ^= 0xff;
                }
            }
            Some(BlobFault::Truncate) => data.truncate(data.len() / 2),
            None => {}
        }
        let t = ResponseTemplate::new(200).insert_header("docker-content-digest", digest);
        if head {
            t.insert_header("content-length", data.len().to_string())
        } else {
            t.set_body_raw(data, "application/octet-stream")
        }
    }
}

fn rand_u128() -> u128 {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    u128::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
    }

    #[test]
    fn libtrust_ids_have_twelve_groups_of_four() {
        let id = libtrust_key_id(b"any spki");
        assert_eq!(id.split(':').count(), 12);
        assert!(id.split(':').all(|g| g.len() == 4));
    }
}
