//! The fake Azure Storage (feature `fake`): storage accounts and blob containers as types on the fake cloud's
//! ARM kit, and the Blob service of every account on `*.blob.core.windows.net`, as stateful models.
//!
//! ARM (spec `Microsoft.Storage/stable/2025-06-01/storage.json`, `blob.json`):
//! - `PUT …/storageAccounts/{name}`: name 3–24 lower-case letters/digits (`400 AccountNameInvalid`), `kind`
//!   and `sku.name` required, names global (`409 StorageAccountAlreadyTaken`); a new account answers `202`
//!   with only `Location` (`final-state-via: location`), polled on the fake clock; the account carries
//!   `primaryEndpoints.blob`.
//! - `POST /subscriptions/{s}/providers/Microsoft.Storage/checkNameAvailability`.
//! - `…/blobServices/default/containers/{c}`: synchronous `201`/`200`, parent account required.
//!
//! Blob service (REST "Blob service REST API": Put Blob, Get Blob, Delete Blob, List Blobs; errors as
//! `<Error><Code/><Message/></Error>` with `x-ms-error-code`):
//! - `x-ms-version` required (`400 MissingRequiredHeader`);
//! - a bearer token for `https://storage.azure.com` from the fake Entra ID (`401 NoAuthenticationInformation`
//!   / `InvalidAuthenticationInfo` with the `WWW-Authenticate` challenge), or shared key refused where
//!   `allowSharedKeyAccess` is false (`403 KeyBasedAuthenticationNotPermitted`);
//! - RBAC from the ARM kit: only **data actions** count (`ArmKit::permits_data`), scopes inherited
//!   (subscription → group → account → container), after the propagation delay; a denial is `403
//!   AuthorizationPermissionMismatch`, "This request is not authorized to perform this operation using this
//!   permission.";
//! - blob names percent-decoded (the SDK sends `a%2Fb.yaml` for `a/b.yaml`, which the service stores as
//!   `a/b.yaml`); `Range`/`x-ms-range` answered `206`; `Content-MD5` stored as sent or computed.

use azflux_core::fake::FakeCloud;
use azflux_core::fake::arm_kit::{
    Answer, ArmError, Ctx, Hooks, Resource, ResourceType, UntrackedHooks, rfc3339,
};
use azflux_core::fake::request::FakeRequest;
use azflux_core::http::HostRule;
use base64::Engine as _;
use md_5::{Digest as _, Md5};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use wiremock::ResponseTemplate;

const ACCOUNT_TYPE: &str = "Microsoft.Storage/storageAccounts";
const ACCOUNT_KEY: &str = "microsoft.storage/storageaccounts";
const CONTAINER_TYPE: &str = "Microsoft.Storage/storageAccounts/blobServices/containers";
const STORAGE_AUDIENCE: &str = "https://storage.azure.com";
const BLOB_ACTIONS: &str = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs";
/// How long an account creation takes on the fake clock.
pub const DEFAULT_CREATE_DURATION: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
struct Blob {
    data: Vec<u8>,
    md5: Vec<u8>,
    content_type: String,
    etag: String,
    modified: String,
}

#[derive(Debug, Default)]
struct Data {
    /// (account, container) → blobs by name.
    containers: BTreeMap<(String, String), BTreeMap<String, Blob>>,
    etag: u64,
}

/// The fake Storage: ARM types and the Blob data plane.
#[derive(Clone)]
pub struct FakeStorage {
    cloud: FakeCloud,
    data: Arc<Mutex<Data>>,
}

impl std::fmt::Debug for FakeStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeStorage").finish_non_exhaustive()
    }
}

struct AccountHooks {
    blob_suffix: String,
}

fn valid_account(name: &str) -> bool {
    (3..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

impl Hooks for AccountHooks {
    fn put(&self, ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ArmError> {
        let name = ctx.path.name().to_owned();
        if !valid_account(&name) {
            return Err(ArmError::bad_request(
                "AccountNameInvalid",
                format!(
                    "{name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only."
                ),
            ));
        }
        if let Some(existing) = ctx.existing() {
            // An update keeps what it does not mention (the RP merges the PUT into the account).
            let mut merged = existing.body.clone();
            azflux_core::fake::arm_kit::merge_patch(&mut merged, &body);
            return Ok(merged);
        }
        let key = ctx.key();
        if ctx.state.of_type(ACCOUNT_KEY).any(|r| {
            r.body["name"].as_str() == Some(name.as_str())
                && azflux_core::fake::arm_kit::path::id_key(&r.id) != key
        }) {
            return Err(ArmError::conflict(
                "StorageAccountAlreadyTaken",
                format!("The storage account named {name} is already taken."),
            ));
        }
        let Some(kind) = body.get("kind").and_then(Value::as_str) else {
            return Err(ArmError::bad_request(
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: 'Required property 'kind' not found in JSON.'",
            ));
        };
        let Some(sku) = body.pointer("/sku/name").and_then(Value::as_str) else {
            return Err(ArmError::bad_request(
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: 'Required property 'sku.name' not found in JSON.'",
            ));
        };
        let mut stored = azflux_core::fake::arm_kit::generic_put(ctx, body.clone(), true)?;
        let tier = sku.split('_').next().unwrap_or("Standard");
        stored["kind"] = json!(kind);
        stored["sku"] = json!({"name": sku, "tier": tier});
        let location = stored["location"].clone();
        let p = &mut stored["properties"];
        let flag = |f: &str, default: bool| {
            body.pointer(&format!("/properties/{f}"))
                .and_then(Value::as_bool)
                .unwrap_or(default)
        };
        p["allowBlobPublicAccess"] = json!(flag("allowBlobPublicAccess", false));
        p["allowSharedKeyAccess"] = json!(flag("allowSharedKeyAccess", true));
        p["supportsHttpsTrafficOnly"] = json!(flag("supportsHttpsTrafficOnly", true));
        p["minimumTlsVersion"] = body
            .pointer("/properties/minimumTlsVersion")
            .cloned()
            .unwrap_or(json!("TLS1_2"));
        p["creationTime"] = json!(rfc3339(ctx.now));
        p["primaryEndpoints"] = json!({
            "blob": format!("https://{name}.blob.{}/", self.blob_suffix),
            "dfs": format!("https://{name}.dfs.{}/", self.blob_suffix),
        });
        p["primaryLocation"] = location;
        p["statusOfPrimary"] = json!("available");
        // Every account has its one blob service, `default`, the parent of its containers.
        let service_id = format!("{}/blobServices/default", ctx.id());
        let service_key = azflux_core::fake::arm_kit::path::id_key(&service_id);
        let now = ctx.now;
        ctx.state.write(
            &service_key,
            Resource {
                id: service_id.clone(),
                type_key: "microsoft.storage/storageaccounts/blobservices".into(),
                parent: key.clone(),
                subscription: ctx.path.subscription.to_ascii_lowercase(),
                body: json!({"id": service_id, "name": "default", "type": "Microsoft.Storage/storageAccounts/blobServices", "properties": {}}),
                created: now,
                generation: 0,
            },
        );
        Ok(stored)
    }

    fn action(&self, ctx: &mut Ctx<'_>, action: &str) -> Option<Result<Answer, ArmError>> {
        if !(ctx.path.types.is_empty() && action.eq_ignore_ascii_case("checkNameAvailability")) {
            return None;
        }
        let name = ctx
            .request
            .json()
            .and_then(|b| b.get("name").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default();
        let taken = ctx
            .state
            .of_type(ACCOUNT_KEY)
            .any(|r| r.body["name"].as_str() == Some(name.as_str()));
        let answer = if !valid_account(&name) {
            json!({"nameAvailable": false, "reason": "AccountNameInvalid", "message": format!("{name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.")})
        } else if taken {
            json!({"nameAvailable": false, "reason": "AlreadyExists", "message": format!("The storage account named {name} is already taken.")})
        } else {
            json!({"nameAvailable": true})
        };
        Some(Ok(Answer::json(200, answer)))
    }

    fn create_duration(&self) -> Option<Duration> {
        Some(DEFAULT_CREATE_DURATION)
    }

    fn retry_after(&self) -> Duration {
        Duration::from_secs(17)
    }

    fn location_only_lro(&self) -> bool {
        true
    }
}

fn blob_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    let body = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}\nRequestId:{}\nTime:{}</Message></Error>",
        uuid::Uuid::new_v4(),
        rfc3339(time::OffsetDateTime::now_utc()),
    );
    ResponseTemplate::new(status)
        .insert_header("x-ms-error-code", code)
        .insert_header("x-ms-request-id", uuid::Uuid::new_v4().to_string().as_str())
        .set_body_raw(body.into_bytes(), "application/xml")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(v) = u8::from_str_radix(
                std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                16,
            )
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A `bytes=a-b` range over `len` bytes.
fn parse_range(v: &str, len: usize) -> Option<(usize, usize)> {
    let (a, b) = v.strip_prefix("bytes=")?.split_once('-')?;
    let start: usize = a.parse().ok()?;
    let end: usize = if b.is_empty() {
        len.checked_sub(1)?
    } else {
        b.parse().ok()?
    };
    (start < len).then(|| (start, end.min(len - 1)))
}

impl FakeStorage {
    /// Registers the ARM types on the cloud's kit and mounts the Blob service of every account.
    pub async fn mount(cloud: &FakeCloud) -> Self {
        let suffix = cloud.cloud().storage_suffix.clone();
        let kit = cloud.arm_kit();
        kit.register(
            ResourceType::new(
                ACCOUNT_TYPE,
                "storage.arm.account",
                Arc::new(AccountHooks {
                    blob_suffix: suffix.clone(),
                }),
            )
            .operation_segments("operationStatuses", "asyncoperations")
            .route_name("checkNameAvailability", "storage.arm.check_name"),
        );
        kit.register(ResourceType::new(
            "Microsoft.Storage/storageAccounts/blobServices",
            "storage.arm.blob_service",
            Arc::new(UntrackedHooks),
        ));
        kit.register(ResourceType::new(
            CONTAINER_TYPE,
            "storage.arm.container",
            Arc::new(ContainerHooks),
        ));
        let this = Self {
            cloud: cloud.clone(),
            data: Arc::default(),
        };
        let server = cloud
            .server_for(HostRule::Suffix(format!(".blob.{suffix}")))
            .await;
        for (route, method) in [
            ("storage.blob.put", "PUT"),
            ("storage.blob.get", "GET"),
            ("storage.blob.head", "HEAD"),
            ("storage.blob.delete", "DELETE"),
        ] {
            let fake = this.clone();
            cloud
                .mount(&server, route, method, r"^/.*", move |r| fake.handle(r))
                .await;
        }
        this
    }

    fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The account's resource id, by name.
    fn account_id(&self, account: &str) -> Option<String> {
        self.cloud.arm_kit().find_id_by_name(ACCOUNT_TYPE, account)
    }

    /// A blob's content, for tests (`None`: no such blob).
    pub fn blob(&self, account: &str, container: &str, name: &str) -> Option<Vec<u8>> {
        self.data()
            .containers
            .get(&(account.to_owned(), container.to_owned()))?
            .get(name)
            .map(|b| b.data.clone())
    }

    /// The blob names of a container, for tests.
    pub fn blob_names(&self, account: &str, container: &str) -> Vec<String> {
        self.data()
            .containers
            .get(&(account.to_owned(), container.to_owned()))
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn handle(&self, r: &FakeRequest<'_>) -> ResponseTemplate {
        let host = r.host();
        let account = host.split('.').next().unwrap_or_default().to_owned();
        let Some(account_id) = self.account_id(&account) else {
            // Real Azure: the host name does not resolve. The closest an HTTP fake can answer.
            return blob_error(
                404,
                "ResourceNotFound",
                "The specified resource does not exist.",
            );
        };
        if r.header("x-ms-version").is_none() {
            return blob_error(
                400,
                "MissingRequiredHeader",
                "An HTTP header that's mandatory for this request is not specified.",
            );
        }
        let path = r.path().trim_start_matches('/');
        let (container, blob) = match path.split_once('/') {
            Some((c, b)) => (c.to_owned(), percent_decode(b)),
            None => (path.to_owned(), String::new()),
        };
        // Authentication: Entra ID bearer only; shared key where the account allows it is not modelled.
        let Some(token) = r.bearer() else {
            if r.header("authorization").is_some() {
                let allows = self
                    .cloud
                    .arm_kit()
                    .resource(&account_id)
                    .and_then(|b| {
                        b.pointer("/properties/allowSharedKeyAccess")
                            .and_then(Value::as_bool)
                    })
                    .unwrap_or(true);
                if !allows {
                    return blob_error(
                        403,
                        "KeyBasedAuthenticationNotPermitted",
                        "Key based authentication is not permitted on this storage account.",
                    );
                }
                return blob_error(
                    403,
                    "AuthenticationFailed",
                    "Server failed to authenticate the request. Shared key signatures are not accepted by this fake; use a bearer token.",
                );
            }
            return blob_error(401, "NoAuthenticationInformation", "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.")
                .insert_header("www-authenticate", format!("Bearer authorization_uri=https://login.microsoftonline.com/{}/oauth2/authorize resource_id={STORAGE_AUDIENCE}", self.cloud.sandbox().tenant_id).as_str());
        };
        let claims = match self.cloud.entra().verify(token, STORAGE_AUDIENCE) {
            Ok(c) => c,
            Err(_) => {
                return blob_error(401, "InvalidAuthenticationInfo", "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.")
                    .insert_header("www-authenticate", format!("Bearer authorization_uri=https://login.microsoftonline.com/{}/oauth2/authorize resource_id={STORAGE_AUDIENCE}", self.cloud.sandbox().tenant_id).as_str());
            }
        };
        let method = r.method();
        let restype_container = r.query("restype").as_deref() == Some("container");
        let verb = match (method.as_str(), blob.is_empty(), restype_container) {
            ("GET", true, true) if r.query("comp").as_deref() == Some("list") => "read",
            ("GET" | "HEAD", false, _) => "read",
            ("PUT", false, _) => "write",
            ("DELETE", false, _) => "delete",
            // Container create/properties with a token are data-plane container operations.
            ("PUT", true, true) => "container_write",
            ("GET" | "HEAD", true, true) => "container_read",
            _ => {
                return blob_error(
                    400,
                    "InvalidQueryParameterValue",
                    "Value for one of the query parameters specified in the request URI is invalid.",
                );
            }
        };
        let scope = format!("{account_id}/blobServices/default/containers/{container}");
        let kit = self.cloud.arm_kit();
        let now = self.cloud.clock().now();
        let principal = if claims.oid.is_empty() {
            claims.sub.clone()
        } else {
            claims.oid.clone()
        };
        let allowed = match verb {
            "container_write" => kit.permits(
                &principal,
                &scope,
                "Microsoft.Storage/storageAccounts/blobServices/containers/write",
                now,
            ),
            "container_read" => kit.permits(
                &principal,
                &scope,
                "Microsoft.Storage/storageAccounts/blobServices/containers/read",
                now,
            ),
            v => kit.permits_data(&principal, &scope, &format!("{BLOB_ACTIONS}/{v}"), now),
        };
        if !allowed {
            return blob_error(
                403,
                "AuthorizationPermissionMismatch",
                "This request is not authorized to perform this operation using this permission.",
            );
        }
        let key = (account.clone(), container.clone());
        let container_exists =
            self.data().containers.contains_key(&key) || kit.resource(&scope).is_some();
        match verb {
            "container_write" => {
                if container_exists {
                    return blob_error(
                        409,
                        "ContainerAlreadyExists",
                        "The specified container already exists.",
                    );
                }
                let mut d = self.data();
                if d.containers.contains_key(&key) {
                    return blob_error(
                        409,
                        "ContainerAlreadyExists",
                        "The specified container already exists.",
                    );
                }
                d.containers.insert(key, BTreeMap::new());
                ResponseTemplate::new(201)
            }
            "container_read" => {
                if container_exists {
                    ResponseTemplate::new(200).insert_header("x-ms-blob-public-access", "")
                } else {
                    blob_error(
                        404,
                        "ContainerNotFound",
                        "The specified container does not exist.",
                    )
                }
            }
            _ if !container_exists => blob_error(
                404,
                "ContainerNotFound",
                "The specified container does not exist.",
            ),
            "read" if blob.is_empty() => self.list(r, &key),
            "read" => self.get_blob(r, &key, &blob, method == "HEAD"),
            "write" => self.put_blob(r, key, blob),
            "delete" => {
                let mut d = self.data();
                match d.containers.get_mut(&key).and_then(|c| c.remove(&blob)) {
                    Some(_) => ResponseTemplate::new(202),
                    None => blob_error(404, "BlobNotFound", "The specified blob does not exist."),
                }
            }
            _ => blob_error(
                400,
                "InvalidUri",
                "The requested URI does not represent any resource on the server.",
            ),
        }
    }

    fn put_blob(
        &self,
        r: &FakeRequest<'_>,
        key: (String, String),
        name: String,
    ) -> ResponseTemplate {
        if r.header("x-ms-blob-type").as_deref() != Some("BlockBlob") {
            return blob_error(
                400,
                "MissingRequiredHeader",
                "An HTTP header that's mandatory for this request is not specified.",
            );
        }
        let data = r.body().to_vec();
        let computed = Md5::digest(&data).to_vec();
        let sent = r
            .header("x-ms-blob-content-md5")
            .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok());
        if let Some(sent) = &sent
            && *sent != computed
        {
            return blob_error(
                400,
                "Md5Mismatch",
                "The MD5 value specified in the request did not match with the MD5 value calculated by the server.",
            );
        }
        let mut d = self.data();
        d.etag += 1;
        let etag = format!("\"0x8DD{:012X}\"", d.etag);
        let modified = httpdate(time::OffsetDateTime::now_utc());
        let blob = Blob {
            data,
            md5: computed.clone(),
            content_type: r
                .header("x-ms-blob-content-type")
                .unwrap_or_else(|| "application/octet-stream".into()),
            etag: etag.clone(),
            modified: modified.clone(),
        };
        d.containers.entry(key).or_default().insert(name, blob);
        ResponseTemplate::new(201)
            .insert_header("etag", etag.as_str())
            .insert_header("last-modified", modified.as_str())
            .insert_header(
                "content-md5",
                base64::engine::general_purpose::STANDARD
                    .encode(&computed)
                    .as_str(),
            )
            .insert_header("x-ms-request-server-encrypted", "true")
    }

    fn get_blob(
        &self,
        r: &FakeRequest<'_>,
        key: &(String, String),
        name: &str,
        head: bool,
    ) -> ResponseTemplate {
        let Some(b) = self
            .data()
            .containers
            .get(key)
            .and_then(|c| c.get(name))
            .cloned()
        else {
            return if head {
                ResponseTemplate::new(404).insert_header("x-ms-error-code", "BlobNotFound")
            } else {
                blob_error(404, "BlobNotFound", "The specified blob does not exist.")
            };
        };
        let len = b.data.len();
        let range = r.header("x-ms-range").or_else(|| r.header("range"));
        let (status, body, content_range) = match range.as_deref().map(|v| parse_range(v, len)) {
            Some(Some((s, e))) => (
                206,
                b.data[s..=e].to_vec(),
                Some(format!("bytes {s}-{e}/{len}")),
            ),
            Some(None) if len == 0 => (200, Vec::new(), None),
            Some(None) => {
                return blob_error(
                    416,
                    "InvalidRange",
                    "The range specified is invalid for the current size of the resource.",
                )
                .insert_header("content-range", format!("bytes */{len}").as_str());
            }
            None => (200, b.data.clone(), None),
        };
        let mut t = ResponseTemplate::new(status)
            .insert_header("etag", b.etag.as_str())
            .insert_header("last-modified", b.modified.as_str())
            .insert_header("x-ms-blob-type", "BlockBlob")
            .insert_header("accept-ranges", "bytes")
            .insert_header(
                "content-md5",
                base64::engine::general_purpose::STANDARD
                    .encode(&b.md5)
                    .as_str(),
            );
        if let Some(cr) = content_range {
            t = t.insert_header("content-range", cr.as_str());
        }
        if head {
            t.insert_header("content-length", len.to_string().as_str())
        } else {
            t.set_body_raw(body, &b.content_type)
        }
    }

    fn list(&self, r: &FakeRequest<'_>, key: &(String, String)) -> ResponseTemplate {
        let prefix = r.query("prefix").unwrap_or_default();
        let marker = r.query("marker").unwrap_or_default();
        let max: usize = r
            .query("maxresults")
            .and_then(|m| m.parse().ok())
            .filter(|m| (1..=5000).contains(m))
            .unwrap_or(5000);
        let d = self.data();
        let blobs = d.containers.get(key).cloned().unwrap_or_default();
        drop(d);
        let mut items: Vec<(&String, &Blob)> = blobs
            .iter()
            .filter(|(n, _)| n.starts_with(&prefix) && n.as_str() >= marker.as_str())
            .collect();
        let next = (items.len() > max).then(|| items[max].0.clone());
        items.truncate(max);
        let mut xml = format!(
            "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"https://{}.blob.{}/\" ContainerName=\"{}\">",
            key.0,
            self.cloud.cloud().storage_suffix,
            xml_escape(&key.1)
        );
        if !prefix.is_empty() {
            xml.push_str(&format!("<Prefix>{}</Prefix>", xml_escape(&prefix)));
        }
        xml.push_str("<Blobs>");
        for (name, b) in items {
            xml.push_str(&format!(
                "<Blob><Name>{}</Name><Properties><Last-Modified>{}</Last-Modified><Etag>{}</Etag><Content-Length>{}</Content-Length><Content-Type>{}</Content-Type><Content-MD5>{}</Content-MD5><BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted></Properties><OrMetadata /></Blob>",
                xml_escape(name),
                b.modified,
                b.etag,
                b.data.len(),
                xml_escape(&b.content_type),
                base64::engine::general_purpose::STANDARD.encode(&b.md5),
            ));
        }
        xml.push_str("</Blobs>");
        xml.push_str(&match next {
            Some(n) => format!("<NextMarker>{}</NextMarker>", xml_escape(&n)),
            None => "<NextMarker />".into(),
        });
        xml.push_str("</EnumerationResults>");
        ResponseTemplate::new(200).set_body_raw(xml.into_bytes(), "application/xml")
    }
}

fn httpdate(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

struct ContainerHooks;

impl Hooks for ContainerHooks {
    fn put(&self, ctx: &mut Ctx<'_>, body: Value) -> Result<Value, ArmError> {
        let name = ctx.path.name().to_owned();
        let b = name.as_bytes();
        let ok = (3..=63).contains(&b.len())
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
            && !name.contains("--");
        if !ok {
            return Err(ArmError::bad_request(
                "ContainerOperationFailure",
                "The specifed resource name contains invalid characters.",
            ));
        }
        let mut stored = azflux_core::fake::arm_kit::generic_put(ctx, body, false)?;
        if let Some(p) = stored["properties"].as_object_mut() {
            p.remove("provisioningState");
            p.entry("publicAccess").or_insert(json!("None"));
            p.insert("lastModifiedTime".into(), json!(rfc3339(ctx.now)));
            p.insert("leaseStatus".into(), json!("Unlocked"));
            p.insert("leaseState".into(), json!("Available"));
        }
        Ok(stored)
    }
}
