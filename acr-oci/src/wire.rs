//! Serde request/response bodies, header parsing (challenges, `Link`), JWT expiry, OCI manifests and the Helm
//! chart layout: no I/O.

use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;

/// `application/vnd.oci.image.manifest.v1+json`.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// `application/vnd.oci.image.index.v1+json` (refused for charts).
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The Helm chart config (`Chart.yaml` as JSON).
pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// The Helm chart content layer (the `.tgz`).
pub const HELM_CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// The layer type Helm 3.0–3.6 wrote; Helm v4 still pulls it.
pub const LEGACY_CHART_LAYER: &str = "application/tar+gzip";
/// Helm's provenance layer (ignored on pull).
pub const HELM_PROVENANCE_LAYER: &str = "application/vnd.cncf.helm.chart.provenance.v1.prov";
/// The Docker schema 2 manifest (accepted if a registry converts).
pub const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// The username ACR expects with a refresh token used as a password (`docker login` with AAD).
pub const NULL_GUID_USER: &str = "00000000-0000-0000-0000-000000000000";

/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type.
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes (as declared; never trusted beyond the configured limits).
    pub size: u64,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An OCI image manifest (what Helm writes for a chart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// `application/vnd.oci.image.manifest.v1+json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers.
    pub layers: Vec<Descriptor>,
    /// Annotations (`org.opencontainers.image.*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// `GET /v2/<name>/tags/list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TagList {
    /// The repository.
    #[serde(default)]
    pub name: String,
    /// Tags (the registry may send `null`).
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

/// The body of `POST /oauth2/exchange`. `Debug` is redacted.
#[derive(Clone, Deserialize)]
pub struct RefreshTokenResponse {
    /// The ACR refresh token.
    pub refresh_token: String,
}

impl std::fmt::Debug for RefreshTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshTokenResponse")
            .field("refresh_token", &"<redacted>")
            .finish()
    }
}

/// The body of `POST|GET /oauth2/token` (ACR sends `access_token`; Docker token servers `token`, often
/// both). `Debug` is redacted.
#[derive(Clone, Deserialize)]
pub struct AccessTokenResponse {
    /// ACR's field.
    #[serde(default)]
    pub access_token: Option<String>,
    /// Docker's field.
    #[serde(default)]
    pub token: Option<String>,
    /// Lifetime in seconds, when sent.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

impl std::fmt::Debug for AccessTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |t: &Option<String>| t.as_ref().map(|_| "<redacted>");
        f.debug_struct("AccessTokenResponse")
            .field("access_token", &redacted(&self.access_token))
            .field("token", &redacted(&self.token))
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

impl AccessTokenResponse {
    /// The token, whichever field carried it.
    pub fn into_token(self) -> Option<String> {
        self.access_token
            .filter(|t| !t.is_empty())
            .or(self.token.filter(|t| !t.is_empty()))
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `Bearer` or `Basic` (as sent, compared case-insensitively).
    pub scheme: String,
    /// `realm`.
    pub realm: Option<String>,
    /// `service`.
    pub service: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `error` (`insufficient_scope`, `invalid_token`).
    pub error: Option<String>,
}

impl Challenge {
    /// Whether this is a bearer-token challenge.
    pub fn is_bearer(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("bearer")
    }
}

/// Parses `Bearer realm="…",service="…",scope="…"` (quoted values may contain commas).
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header
        .split_once(char::is_whitespace)
        .unwrap_or((header, ""));
    if scheme.is_empty() {
        return None;
    }
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() || chars.next() != Some('=') {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        params.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    Some(Challenge {
        scheme: scheme.to_owned(),
        realm: params.remove("realm"),
        service: params.remove("service"),
        scope: params.remove("scope"),
        error: params.remove("error"),
    })
}

/// The target of `Link: </v2/x/tags/list?last=b&n=2>; rel="next"`, if the header names a next page.
pub fn parse_next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim().replace(' ', "");
                p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
            })
            .then(|| target.to_owned())
    })
}

/// The `exp` claim of a JWT, read without verifying it (the registry verifies; the client only needs to
/// know when to refresh).
pub fn jwt_expiry(token: &str) -> Option<i64> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp")?.as_i64()
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

/// Whether `digest` is a well-formed `sha256:` digest (the only algorithm accepted for charts).
pub fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Whether `name` is a valid OCI repository name (`charts/podinfo`).
pub fn is_valid_repository(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.split('/').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
                && part
                    .as_bytes()
                    .first()
                    .is_some_and(u8::is_ascii_alphanumeric)
                && part
                    .as_bytes()
                    .last()
                    .is_some_and(u8::is_ascii_alphanumeric)
        })
}

/// The `Chart.yaml` of a packaged chart (`<name>/Chart.yaml` inside the `.tgz`), as JSON (Helm's config blob).
pub fn chart_metadata_from_tgz(tgz: &[u8]) -> Result<serde_json::Value, String> {
    let decoder = flate2::read::GzDecoder::new(tgz);
    let mut archive = tar::Archive::new(decoder);
    let entries = archive
        .entries()
        .map_err(|e| format!("not a gzipped tar archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("the archive is corrupt: {e}"))?;
        let path = entry
            .path()
            .map_err(|e| format!("an archive path is not valid: {e}"))?
            .into_owned();
        let parts: Vec<_> = path.components().collect();
        if parts.len() == 2 && path.file_name().is_some_and(|n| n == "Chart.yaml") {
            if entry.size() > 1024 * 1024 {
                return Err("Chart.yaml is larger than 1 MiB".into());
            }
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|e| format!("Chart.yaml is not UTF-8 text: {e}"))?;
            let value: serde_json::Value = serde_saphyr::from_str(&text)
                .map_err(|e| format!("Chart.yaml is not valid YAML: {e}"))?;
            for field in ["name", "version"] {
                if !value.get(field).is_some_and(serde_json::Value::is_string) {
                    return Err(format!("Chart.yaml has no string '{field}'"));
                }
            }
            return Ok(value);
        }
    }
    Err("the archive has no <chart>/Chart.yaml".into())
}

/// Orders the config fields the way Helm's `chart.Metadata` JSON does (name, home, sources, version,
/// description, keywords, maintainers, icon, apiVersion, condition, tags, appVersion, deprecated,
/// annotations, kubeVersion, dependencies, type), dropping empty values.
pub fn helm_config_json(metadata: &serde_json::Value) -> Vec<u8> {
    const ORDER: [&str; 17] = [
        "name",
        "home",
        "sources",
        "version",
        "description",
        "keywords",
        "maintainers",
        "icon",
        "apiVersion",
        "condition",
        "tags",
        "appVersion",
        "deprecated",
        "annotations",
        "kubeVersion",
        "dependencies",
        "type",
    ];
    let mut out = String::from("{");
    let mut first = true;
    for key in ORDER {
        let Some(v) = metadata.get(key) else { continue };
        let empty = match v {
            serde_json::Value::Null => true,
            serde_json::Value::String(s) => s.is_empty(),
            serde_json::Value::Array(a) => a.is_empty(),
            serde_json::Value::Object(o) => o.is_empty(),
            serde_json::Value::Bool(b) => !b,
            serde_json::Value::Number(_) => false,
        };
        if empty {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&serde_json::to_string(key).unwrap_or_default());
        out.push(':');
        out.push_str(&serde_json::to_string(v).unwrap_or_default());
    }
    out.push('}');
    out.into_bytes()
}

/// The manifest annotations Helm v4 writes: `org.opencontainers.image.{created,description,title,version}`
/// (plus `url`/`source`/`authors` when Chart.yaml has them).
pub fn helm_manifest_annotations(
    metadata: &serde_json::Value,
    created: &str,
) -> BTreeMap<String, String> {
    let s = |k: &str| {
        metadata
            .get(k)
            .and_then(serde_json::Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let mut a = BTreeMap::new();
    a.insert(
        "org.opencontainers.image.created".into(),
        created.to_owned(),
    );
    if let Some(d) = s("description") {
        a.insert("org.opencontainers.image.description".into(), d);
    }
    if let Some(n) = s("name") {
        a.insert("org.opencontainers.image.title".into(), n);
    }
    if let Some(v) = s("version") {
        a.insert("org.opencontainers.image.version".into(), v);
    }
    if let Some(h) = s("home") {
        a.insert("org.opencontainers.image.url".into(), h);
    }
    if let Some(src) = metadata
        .get("sources")
        .and_then(|v| v.as_array())
        .and_then(|a| a.first())
        .and_then(|v| v.as_str())
    {
        a.insert("org.opencontainers.image.source".into(), src.to_owned());
    }
    a
}

/// An `application/x-www-form-urlencoded` body (repeated keys allowed).
pub fn form_body(fields: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn challenges_parse_with_quoted_commas() {
        let c = parse_challenge(
            r#"Bearer realm="https://myacr.azurecr.io/oauth2/token",service="myacr.azurecr.io",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert!(c.is_bearer());
        assert_eq!(
            c.realm.as_deref(),
            Some("https://myacr.azurecr.io/oauth2/token")
        );
        assert_eq!(c.service.as_deref(), Some("myacr.azurecr.io"));
        assert_eq!(c.scope.as_deref(), Some("repository:a/b:pull,push"));
        let basic = parse_challenge(r#"Basic realm="Registry Realm""#).unwrap();
        assert!(!basic.is_bearer());
        assert_eq!(basic.realm.as_deref(), Some("Registry Realm"));
    }

    #[test]
    fn next_links() {
        assert_eq!(
            parse_next_link(r#"</v2/charts/x/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/charts/x/tags/list?last=b&n=2")
        );
        assert_eq!(parse_next_link(r#"</x>; rel="prev""#), None);
    }

    #[test]
    fn jwt_expiry_is_read_without_verifying() {
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let token = format!(
            "{}.{}.sig",
            b.encode(br#"{"alg":"RS256"}"#),
            b.encode(br#"{"exp":1700000000}"#)
        );
        assert_eq!(jwt_expiry(&token), Some(1_700_000_000));
        assert_eq!(jwt_expiry("opaque"), None);
    }

    #[test]
    fn digests_and_repository_names() {
        let d = sha256_digest(b"");
        assert_eq!(
            d,
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(is_sha256_digest(&d));
        assert!(!is_sha256_digest("sha256:../../etc"));
        assert!(!is_sha256_digest("md5:abc"));
        assert!(is_valid_repository("charts/podinfo"));
        assert!(!is_valid_repository("Charts/podinfo"));
        assert!(!is_valid_repository("charts//podinfo"));
        assert!(!is_valid_repository("../x"));
    }

    #[test]
    fn token_response_takes_either_field() {
        let r: AccessTokenResponse =
            serde_json::from_str(r#"{"token":"t","expires_in":300}"#).unwrap();
        assert_eq!(r.into_token().as_deref(), Some("t"));
        let r: AccessTokenResponse = serde_json::from_str(r#"{"access_token":"a"}"#).unwrap();
        assert_eq!(r.into_token().as_deref(), Some("a"));
    }

    #[test]
    fn token_responses_debug_is_redacted() {
        let r: AccessTokenResponse = serde_json::from_str(
            r#"{"access_token":"s3cr3t-access","token":"s3cr3t-docker","expires_in":300}"#,
        )
        .unwrap();
        let text = format!("{r:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("300"), "{text}");
        let r: RefreshTokenResponse =
            serde_json::from_str(r#"{"refresh_token":"s3cr3t-refresh"}"#).unwrap();
        let text = format!("{r:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
    }

    #[test]
    fn helm_config_keeps_helm_field_order() {
        let meta = serde_json::json!({"apiVersion":"v2","version":"1.0.0","name":"demo","type":"application","description":""});
        assert_eq!(
            String::from_utf8(helm_config_json(&meta)).unwrap(),
            r#"{"name":"demo","version":"1.0.0","apiVersion":"v2","type":"application"}"#
        );
    }
}
