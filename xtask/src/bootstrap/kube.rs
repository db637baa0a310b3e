//! A small Kubernetes client for the few calls bootstrap makes: server-side apply
//! (`PATCH …?fieldManager=azflux&force=true`, `Content-Type: application/apply-patch+yaml`) and GET, with
//! a kubeconfig (bearer token, client certificate, or Entra ID; optional CA).
//!
//! Entra ID clusters (AKS with local accounts disabled) hand out kubeconfigs whose user runs kubelogin, an
//! exec credential plugin. azflux runs no plugin: it reads the plugin's `--server-id` (the AKS server
//! application, [`AKS_SERVER_APP_ID`] by default) and requests the token for `<server-id>/.default` with
//! its own Azure credential, before each request (the credential caches and refreshes it).
//!
//! Why not `kube`: bootstrap applies a dozen objects and reads two statuses. `kube` 5 + `k8s-openapi`
//! would add their build (k8s-openapi alone is one of the slowest crates to compile, on a shared 2-core
//! machine) for typed APIs bootstrap does not use: its objects are already `serde_json::Value`s rendered
//! by flux-objects. reqwest is already in the build.

use azflux_core::TokenCredential;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;

/// The Entra ID application of AKS API servers: tokens for `<this>/.default` are what kubelogin gets.
pub const AKS_SERVER_APP_ID: &str = "6dae42f8-4368-4678-94ff-3960e28e3630";

/// The field manager bootstrap applies as.
pub const FIELD_MANAGER: &str = "azflux";

/// Errors of the Kubernetes client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KubeError {
    /// The kubeconfig cannot be used.
    #[error("kubeconfig {what}: {why}")]
    Kubeconfig {
        /// Which kubeconfig / entry.
        what: String,
        /// What is wrong and what to do.
        why: String,
    },
    /// The API server answered with an error status.
    #[error("the Kubernetes API answered {status} for {object}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// `kind namespace/name`.
        object: String,
        /// The Status message.
        message: String,
    },
    /// The API server could not be reached.
    #[error("the Kubernetes API at {server} could not be reached for {object}: {reason}")]
    Transport {
        /// The server URL.
        server: String,
        /// `kind namespace/name`.
        object: String,
        /// Why.
        reason: String,
    },
    /// No Entra ID token could be obtained for the API server.
    #[error("no Entra ID token for the Kubernetes API ({scope}): {reason}")]
    Token {
        /// The scope requested.
        scope: String,
        /// Why (the credential's error, without secrets).
        reason: String,
    },
    /// The object cannot be applied (no kind/name, unknown kind).
    #[error("cannot apply {object}: {why}")]
    InvalidObject {
        /// What object.
        object: String,
        /// Why.
        why: String,
    },
}

/// A kubeconfig reduced to what bootstrap needs: one server and one user.
#[derive(Clone)]
pub struct Kubeconfig {
    /// The API server URL (may carry a path prefix).
    pub server: String,
    /// The context's name.
    pub context: String,
    /// Bearer token.
    pub token: Option<SecretString>,
    /// PEM client certificate and key.
    pub client_identity: Option<SecretString>,
    /// PEM CA bundle.
    pub ca_pem: Option<String>,
    /// Skip TLS verification (kubeconfig `insecure-skip-tls-verify`).
    pub insecure: bool,
    /// Entra ID: the server application id of a kubelogin user; azflux requests `<id>/.default` itself.
    pub entra_server_id: Option<String>,
    /// The credential Entra ID tokens are requested with ([`Kubeconfig::with_entra_credential`]).
    pub entra_credential: Option<Arc<dyn TokenCredential>>,
}

impl fmt::Debug for Kubeconfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kubeconfig")
            .field("server", &self.server)
            .field("context", &self.context)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field(
                "client_identity",
                &self.client_identity.as_ref().map(|_| "<redacted>"),
            )
            .field("insecure", &self.insecure)
            .field("entra_server_id", &self.entra_server_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct RawKubeconfig {
    #[serde(default)]
    clusters: Vec<Named<RawCluster>>,
    #[serde(default)]
    users: Vec<Named<RawUser>>,
    #[serde(default)]
    contexts: Vec<Named<RawContext>>,
    #[serde(rename = "current-context", default)]
    current_context: String,
}

#[derive(Deserialize)]
struct Named<T> {
    name: String,
    #[serde(alias = "cluster", alias = "user", alias = "context")]
    value: T,
}

#[derive(Deserialize)]
struct RawCluster {
    server: String,
    #[serde(rename = "certificate-authority-data", default)]
    ca_data: Option<String>,
    #[serde(rename = "insecure-skip-tls-verify", default)]
    insecure: bool,
}

#[derive(Deserialize, Default)]
struct RawUser {
    #[serde(default)]
    token: Option<String>,
    #[serde(rename = "client-certificate-data", default)]
    cert: Option<String>,
    #[serde(rename = "client-key-data", default)]
    key: Option<String>,
    #[serde(default)]
    exec: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawContext {
    cluster: String,
    user: String,
}

impl Kubeconfig {
    /// A kubeconfig for `server` with a bearer token.
    pub fn with_token(
        server: impl Into<String>,
        context: impl Into<String>,
        token: SecretString,
    ) -> Self {
        Kubeconfig {
            server: server.into(),
            context: context.into(),
            token: Some(token),
            client_identity: None,
            ca_pem: None,
            insecure: false,
            entra_server_id: None,
            entra_credential: None,
        }
    }

    /// Lets an Entra ID (kubelogin) kubeconfig get its tokens from `credential`; no effect on others.
    pub fn with_entra_credential(mut self, credential: Arc<dyn TokenCredential>) -> Self {
        if self.entra_server_id.is_some() {
            self.entra_credential = Some(credential);
        }
        self
    }

    /// The scope of the Entra ID tokens this kubeconfig authenticates with, if it uses Entra ID.
    pub fn entra_scope(&self) -> Option<String> {
        self.entra_server_id
            .as_ref()
            .map(|id| format!("{id}/.default"))
    }

    /// Parses a kubeconfig file's text and picks `context` (default: `current-context`).
    pub fn parse(text: &str, context: Option<&str>) -> Result<Self, KubeError> {
        let bad = |why: String| KubeError::Kubeconfig {
            what: context.unwrap_or("current-context").to_owned(),
            why,
        };
        // The parser's message quotes the lines around the error (and may quote a value): they can hold
        // the token or key, so only the position is shown.
        let raw: RawKubeconfig = serde_saphyr::from_str(text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(" at line {} column {}", l.line(), l.column()))
                .unwrap_or_default();
            bad(format!(
                "is not a valid kubeconfig (YAML or field type error{at}): check it with `kubectl config view`, or fetch it again with `az aks get-credentials`"
            ))
        })?;
        let name = context.unwrap_or(&raw.current_context);
        let ctx = raw
            .contexts
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                bad(format!(
                    "has no context '{name}': pick one with `cluster.context`"
                ))
            })?;
        let cluster = raw
            .clusters
            .iter()
            .find(|c| c.name == ctx.value.cluster)
            .ok_or_else(|| bad(format!("has no cluster '{}'", ctx.value.cluster)))?;
        let user = raw
            .users
            .iter()
            .find(|u| u.name == ctx.value.user)
            .map(|u| &u.value);
        let b64 = |s: &str, what: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .map_err(|e| bad(format!("{what} is not base64: {e}")))
                .and_then(|b| {
                    String::from_utf8(b).map_err(|_| bad(format!("{what} is not PEM text")))
                })
        };
        let ca_pem = match &cluster.value.ca_data {
            Some(d) => Some(b64(d, "certificate-authority-data")?),
            None => None,
        };
        let mut config = Kubeconfig {
            server: cluster.value.server.clone(),
            context: name.to_owned(),
            token: None,
            client_identity: None,
            ca_pem,
            insecure: cluster.value.insecure,
            entra_server_id: None,
            entra_credential: None,
        };
        if let Some(user) = user {
            if let Some(t) = &user.token {
                config.token = Some(SecretString::from(t.clone()));
            } else if let (Some(c), Some(k)) = (&user.cert, &user.key) {
                let pem = format!(
                    "{}\n{}",
                    b64(c, "client-certificate-data")?,
                    b64(k, "client-key-data")?
                );
                config.client_identity = Some(SecretString::from(pem));
            } else if let Some(exec) = &user.exec {
                config.entra_server_id = Some(kubelogin_server_id(exec).map_err(bad)?);
            }
        }
        Ok(config)
    }
}

/// The `--server-id` of a kubelogin exec user (the AKS server application when absent); other plugins
/// are refused with what to use instead.
fn kubelogin_server_id(exec: &Value) -> Result<String, String> {
    let command = exec.get("command").and_then(Value::as_str).unwrap_or("");
    let program = command
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(command)
        .trim_end_matches(".exe");
    if program != "kubelogin" {
        return Err(format!(
            "uses the exec credential plugin '{program}', which azflux does not run (it understands kubelogin, whose Entra ID token it requests itself): use a kubeconfig with a token or a client certificate, or the one `az aks get-credentials` writes"
        ));
    }
    let args: Vec<&str> = exec
        .get("args")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut id = None;
    for (i, arg) in args.iter().enumerate() {
        if let Some(v) = arg.strip_prefix("--server-id=") {
            id = Some(v.to_owned());
        } else if *arg == "--server-id" {
            id = args.get(i + 1).map(|v| (*v).to_owned());
        }
    }
    let id = id.unwrap_or_else(|| AKS_SERVER_APP_ID.to_owned());
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-:/.".contains(c))
    {
        return Err(format!(
            "names kubelogin --server-id '{id}', which is not an application id or URI: fix the kubeconfig, or fetch it again with `az aks get-credentials`"
        ));
    }
    Ok(id)
}

/// Where an object lives in the API: its URL path and a display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Namespace (`None` for cluster-scoped kinds).
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "PriorityClass",
    "StorageClass",
];

/// The lower-case plural resource name of `kind` (`NetworkPolicy` → `networkpolicies`).
pub fn plural(kind: &str) -> String {
    let k = kind.to_ascii_lowercase();
    if let Some(stem) = k.strip_suffix('y') {
        format!("{stem}ies")
    } else if k.ends_with('s') {
        format!("{k}es")
    } else {
        format!("{k}s")
    }
}

impl ObjectRef {
    /// The reference of an object given as JSON.
    pub fn of(obj: &Value) -> Result<ObjectRef, KubeError> {
        let field = |p: &str| obj.pointer(p).and_then(Value::as_str).map(str::to_owned);
        let (Some(api_version), Some(kind), Some(name)) = (
            field("/apiVersion"),
            field("/kind"),
            field("/metadata/name"),
        ) else {
            return Err(KubeError::InvalidObject {
                object: "an object".into(),
                why: "apiVersion, kind and metadata.name are required".into(),
            });
        };
        let namespace = if CLUSTER_SCOPED.contains(&kind.as_str()) {
            None
        } else {
            Some(field("/metadata/namespace").unwrap_or_else(|| "default".into()))
        };
        Ok(ObjectRef {
            api_version,
            kind,
            namespace,
            name,
        })
    }

    /// A reference.
    pub fn new(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Self {
        ObjectRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: namespace.map(str::to_owned),
            name: name.into(),
        }
    }

    /// The URL path (`/api/v1/namespaces/flux-system/secrets/flux-system`).
    pub fn path(&self) -> String {
        let group = if self.api_version.contains('/') {
            format!("/apis/{}", self.api_version)
        } else {
            format!("/api/{}", self.api_version)
        };
        match &self.namespace {
            Some(ns) => format!(
                "{group}/namespaces/{ns}/{}/{}",
                plural(&self.kind),
                self.name
            ),
            None => format!("{group}/{}/{}", plural(&self.kind), self.name),
        }
    }
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The object was created (201).
    pub created: bool,
    /// `metadata.resourceVersion` after the apply.
    pub resource_version: String,
}

/// The client.
#[derive(Clone)]
pub struct KubeClient {
    http: reqwest::Client,
    server: String,
    token: Option<SecretString>,
    /// Entra ID: the scope and the credential each request's token comes from.
    entra: Option<(String, Arc<dyn TokenCredential>)>,
}

impl fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeClient")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl KubeClient {
    /// A client for `config`.
    pub fn new(config: &Kubeconfig) -> Result<Self, KubeError> {
        let bad = |why: String| KubeError::Kubeconfig {
            what: config.context.clone(),
            why,
        };
        azflux_core::install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("azflux/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(60));
        if let Some(ca) = &config.ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(ca.as_bytes()).map_err(|e| {
                bad(format!(
                    "certificate-authority-data is not a PEM bundle: {e}"
                ))
            })? {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let Some(id) = &config.client_identity {
            let identity = reqwest::Identity::from_pem(id.expose_secret().as_bytes())
                .map_err(|_| bad("the client certificate or key is not valid PEM".into()))?;
            builder = builder.identity(identity);
        }
        if config.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let entra = match (config.entra_scope(), &config.entra_credential) {
            (Some(scope), Some(credential)) => Some((scope, credential.clone())),
            (Some(_), None) => {
                return Err(bad(
                    "authenticates with Entra ID (kubelogin) but no Azure credential was given to request its token with".into(),
                ));
            }
            (None, _) => None,
        };
        let http = builder
            .build()
            .map_err(|e| bad(format!("could not build an HTTP client: {e}")))?;
        Ok(KubeClient {
            http,
            server: config.server.trim_end_matches('/').to_owned(),
            token: config.token.clone(),
            entra,
        })
    }

    /// The API server URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    async fn request(
        &self,
        method: reqwest::Method,
        url: String,
    ) -> Result<reqwest::RequestBuilder, KubeError> {
        let r = self.http.request(method, url);
        if let Some((scope, credential)) = &self.entra {
            let token = azflux_core::credential::token_for(credential.as_ref(), scope)
                .await
                .map_err(|e| KubeError::Token {
                    scope: scope.clone(),
                    reason: e.to_string(),
                })?;
            return Ok(r.bearer_auth(token.token.secret()));
        }
        Ok(match &self.token {
            Some(t) => r.bearer_auth(t.expose_secret()),
            None => r,
        })
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        object: &ObjectRef,
    ) -> Result<(u16, Value), KubeError> {
        let response = req.send().await.map_err(|e| KubeError::Transport {
            server: self.server.clone(),
            object: object.to_string(),
            reason: e.without_url().to_string(),
        })?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| KubeError::Transport {
            server: self.server.clone(),
            object: object.to_string(),
            reason: e.without_url().to_string(),
        })?;
        let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Ok((status, value))
    }

    fn api_error(status: u16, object: &ObjectRef, body: &Value) -> KubeError {
        KubeError::Api {
            status,
            object: object.to_string(),
            message: body
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message")
                .to_owned(),
        }
    }

    /// GETs an object; `None` when it does not exist.
    pub async fn get(&self, object: &ObjectRef) -> Result<Option<Value>, KubeError> {
        let req = self
            .request(
                reqwest::Method::GET,
                format!("{}{}", self.server, object.path()),
            )
            .await?;
        let (status, body) = self.send(req, object).await?;
        match status {
            200 => Ok(Some(body)),
            404 => Ok(None),
            _ => Err(Self::api_error(status, object, &body)),
        }
    }

    /// Server-side applies `obj` (JSON is YAML) as field manager `azflux`, forcing conflicts.
    pub async fn apply(&self, obj: &Value) -> Result<Applied, KubeError> {
        let object = ObjectRef::of(obj)?;
        let url = format!(
            "{}{}?fieldManager={FIELD_MANAGER}&force=true",
            self.server,
            object.path()
        );
        let body = serde_json::to_vec(obj).map_err(|e| KubeError::InvalidObject {
            object: object.to_string(),
            why: e.to_string(),
        })?;
        let req = self
            .request(reqwest::Method::PATCH, url)
            .await?
            .header("content-type", "application/apply-patch+yaml")
            .body(body);
        tracing::debug!(object = %object, "server-side apply");
        let (status, body) = self.send(req, &object).await?;
        match status {
            200 | 201 => Ok(Applied {
                created: status == 201,
                resource_version: body
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            }),
            _ => Err(Self::api_error(status, &object, &body)),
        }
    }
}

/// `desired` with a Secret's `stringData` turned into `data` (base64), as the API server stores it, so it
/// can be compared with what a GET returns.
pub fn normalize_secret(desired: &Value) -> Value {
    let mut v = desired.clone();
    if v.get("kind").and_then(Value::as_str) == Some("Secret")
        && let Some(Value::Object(sd)) = v.as_object_mut().and_then(|o| o.remove("stringData"))
    {
        let data = v.as_object_mut().map(|o| {
            o.entry("data")
                .or_insert_with(|| Value::Object(Default::default()))
        });
        if let Some(Value::Object(data)) = data {
            for (k, val) in sd {
                let s = val.as_str().unwrap_or_default();
                data.insert(
                    k,
                    Value::String(base64::engine::general_purpose::STANDARD.encode(s)),
                );
            }
        }
    }
    v
}
