//! The Kubernetes objects Flux needs: Namespace, Secret (every Flux flavour), ServiceAccount, RoleBinding,
//! and the kustomize `kustomization.yaml` file with patches for the controllers.

use crate::error::{Error, Result};
use crate::kustomize::{Patch, PatchTarget};
use crate::meta::ObjectMeta;
use crate::object::{Manifest, to_value};
use crate::validate::{object_name, subdomain_name};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;

// ---------------------------------------------------------------- Namespace

/// A `v1` Namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespace {
    /// Metadata (no namespace).
    pub metadata: ObjectMeta,
}

impl Namespace {
    /// A Namespace called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Namespace {
            metadata: ObjectMeta::cluster(name),
        }
    }
}

impl Manifest for Namespace {
    fn api_version(&self) -> &str {
        "v1"
    }
    fn kind(&self) -> &str {
        "Namespace"
    }
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn to_json(&self) -> Value {
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": to_value(&self.metadata)})
    }
    fn validate(&self) -> Result<()> {
        object_name(&self.metadata.name)
    }
}

// ---------------------------------------------------------------- Secret

/// Secret type of helm basic-auth Secrets.
pub const SECRET_TYPE_BASIC_AUTH: &str = "kubernetes.io/basic-auth";
/// Secret type of docker-registry Secrets.
pub const SECRET_TYPE_DOCKER_CONFIG_JSON: &str = "kubernetes.io/dockerconfigjson";
/// Secret type of TLS Secrets.
pub const SECRET_TYPE_TLS: &str = "kubernetes.io/tls";
/// The key kustomize-controller reads Azure Key Vault credentials from.
pub const SOPS_AZURE_KV_KEY: &str = "sops.azure-kv";

/// A `v1` Secret with `stringData`. Values are secret: `Debug` never shows them.
#[derive(Clone, Default)]
pub struct Secret {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// `stringData`.
    pub string_data: BTreeMap<String, SecretString>,
    /// `type` (absent for git Secrets, as the flux CLI writes them).
    pub secret_type: Option<String>,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("metadata", &self.metadata)
            .field("keys", &self.string_data.keys().collect::<Vec<_>>())
            .field("secret_type", &self.secret_type)
            .finish_non_exhaustive()
    }
}

/// Credentials kustomize-controller uses for Azure Key Vault (`sops.azure-kv` entry).
#[derive(Clone)]
#[non_exhaustive]
pub enum SopsAzureKv {
    /// Service principal with a client secret.
    ClientSecret {
        /// Tenant.
        tenant_id: String,
        /// Application (client) id.
        client_id: String,
        /// Client secret.
        client_secret: SecretString,
    },
    /// A managed identity (e.g. the kubelet identity).
    ManagedIdentity {
        /// Client id of the identity.
        client_id: String,
    },
}

impl fmt::Debug for SopsAzureKv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SopsAzureKv::ClientSecret {
                tenant_id,
                client_id,
                ..
            } => f
                .debug_struct("ClientSecret")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("client_secret", &"[REDACTED]")
                .finish(),
            SopsAzureKv::ManagedIdentity { client_id } => f
                .debug_struct("ManagedIdentity")
                .field("client_id", client_id)
                .finish(),
        }
    }
}

impl Secret {
    /// An empty Secret.
    pub fn new(name: impl Into<String>, namespace: impl Into<String>) -> Self {
        Secret {
            metadata: ObjectMeta::new(name, namespace),
            ..Default::default()
        }
    }

    /// Adds a `stringData` entry.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<SecretString>) -> Self {
        self.string_data.insert(key.into(), value.into());
        self
    }

    /// Sets `type`.
    pub fn with_type(mut self, t: impl Into<String>) -> Self {
        self.secret_type = Some(t.into());
        self
    }

    /// Git HTTPS basic auth (`username`, `password`, optional `ca.crt`) — `flux create secret git --username --password`.
    pub fn git_basic_auth(
        name: &str,
        namespace: &str,
        username: &str,
        password: SecretString,
        ca_crt: Option<&str>,
    ) -> Self {
        let mut s = Secret::new(name, namespace)
            .with("username", username)
            .with("password", password);
        if let Some(ca) = ca_crt {
            s = s.with("ca.crt", ca);
        }
        s
    }

    /// Git bearer token (`bearerToken`) — e.g. an Azure DevOps Entra ID token.
    pub fn git_bearer_token(name: &str, namespace: &str, token: SecretString) -> Self {
        Secret::new(name, namespace).with("bearerToken", token)
    }

    /// Git SSH (`identity`, `identity.pub`, `known_hosts`, optional key `password`).
    pub fn git_ssh(
        name: &str,
        namespace: &str,
        identity: SecretString,
        identity_pub: &str,
        known_hosts: &str,
        password: Option<SecretString>,
    ) -> Self {
        let mut s = Secret::new(name, namespace)
            .with("identity", identity)
            .with("identity.pub", identity_pub)
            .with("known_hosts", known_hosts);
        if let Some(p) = password {
            s = s.with("password", p);
        }
        s
    }

    /// Helm repository basic auth (`type: kubernetes.io/basic-auth`).
    pub fn helm_basic_auth(
        name: &str,
        namespace: &str,
        username: &str,
        password: SecretString,
    ) -> Self {
        Secret::new(name, namespace)
            .with("username", username)
            .with("password", password)
            .with_type(SECRET_TYPE_BASIC_AUTH)
    }

    /// Docker registry credentials (`.dockerconfigjson`, as `flux create secret oci` writes it).
    pub fn docker_registry(
        name: &str,
        namespace: &str,
        server: &str,
        username: &str,
        password: SecretString,
    ) -> Self {
        let auth = base64::engine::general_purpose::STANDARD
            .encode(format!("{username}:{}", password.expose_secret()));
        let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let body = format!(
            "{{\n  \"auths\": {{\n    {}: {{\n      \"username\": {},\n      \"password\": {},\n      \"auth\": {}\n    }}\n  }}\n}}",
            q(server),
            q(username),
            q(password.expose_secret()),
            q(&auth)
        );
        Secret::new(name, namespace)
            .with(".dockerconfigjson", body)
            .with_type(SECRET_TYPE_DOCKER_CONFIG_JSON)
    }

    /// SOPS decryption keys for Azure Key Vault (`sops.azure-kv`), referenced by a Kustomization's `decryption`.
    pub fn sops_azure(name: &str, namespace: &str, creds: &SopsAzureKv) -> Self {
        let value = match creds {
            SopsAzureKv::ClientSecret {
                tenant_id,
                client_id,
                client_secret,
            } => crate::yaml::to_yaml(&json!({
                "tenantId": tenant_id, "clientId": client_id, "clientSecret": client_secret.expose_secret()
            })),
            SopsAzureKv::ManagedIdentity { client_id } => {
                crate::yaml::to_yaml(&json!({ "clientId": client_id }))
            }
        };
        Secret::new(name, namespace).with(SOPS_AZURE_KV_KEY, value)
    }

    /// SOPS age key (`<name>.agekey`).
    pub fn sops_age(name: &str, namespace: &str, key_name: &str, age_key: SecretString) -> Self {
        Secret::new(name, namespace).with(format!("{key_name}.agekey"), age_key)
    }

    /// Azure Event Hub provider Secret: `address` (SAS connection string or hub name) and optional `token` (JWT).
    pub fn event_hub(
        name: &str,
        namespace: &str,
        address: SecretString,
        token: Option<SecretString>,
    ) -> Self {
        let mut s = Secret::new(name, namespace).with("address", address);
        if let Some(t) = token {
            s = s.with("token", t);
        }
        s
    }

    /// TLS Secret (`tls.crt`, `tls.key`, optional `ca.crt`), `type: kubernetes.io/tls` when a key pair is given.
    pub fn tls(
        name: &str,
        namespace: &str,
        crt: Option<&str>,
        key: Option<SecretString>,
        ca: Option<&str>,
    ) -> Self {
        let mut s = Secret::new(name, namespace);
        if let Some(ca) = ca {
            s = s.with("ca.crt", ca);
        }
        let pair = crt.is_some() && key.is_some();
        if let Some(c) = crt {
            s = s.with("tls.crt", c);
        }
        if let Some(k) = key {
            s = s.with("tls.key", k);
        }
        if pair {
            s = s.with_type(SECRET_TYPE_TLS);
        }
        s
    }

    /// A webhook Receiver's Secret (`flux create secret receiver`): `token`, and for `gcr` receivers `email` and
    /// `audience` (default: the webhook URL); annotated with the webhook URL
    /// `https://<hostname>/hook/<sha256(token+name+namespace)>`.
    pub fn receiver(
        name: &str,
        namespace: &str,
        token: SecretString,
        hostname: &str,
        email_claim: Option<&str>,
        audience_claim: Option<&str>,
    ) -> Self {
        use sha2::Digest;
        let digest =
            sha2::Sha256::digest(format!("{}{name}{namespace}", token.expose_secret()).as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let url = format!("https://{hostname}/hook/{hex}");
        let mut s = Secret::new(name, namespace).with("token", token);
        s.metadata
            .annotations
            .insert("notification.toolkit.fluxcd.io/webhook".into(), url.clone());
        if let Some(email) = email_claim {
            s = s
                .with("email", email)
                .with("audience", audience_claim.unwrap_or(&url));
        }
        s
    }

    /// The value of a key (exposes the secret; for callers that need to hand it on).
    pub fn get(&self, key: &str) -> Option<&SecretString> {
        self.string_data.get(key)
    }

    /// What `flux create secret … --export` prints: the document followed by an empty line.
    pub fn render_export(&self) -> Result<String> {
        Ok(format!("{}\n", crate::object::render(self)?))
    }
}

impl Manifest for Secret {
    fn api_version(&self) -> &str {
        "v1"
    }
    fn kind(&self) -> &str {
        "Secret"
    }
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn to_json(&self) -> Value {
        let data: serde_json::Map<String, Value> = self
            .string_data
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.expose_secret().to_owned())))
            .collect();
        let mut o =
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": to_value(&self.metadata)});
        if !data.is_empty() {
            o["stringData"] = Value::Object(data);
        }
        if let Some(t) = &self.secret_type {
            o["type"] = Value::String(t.clone());
        }
        o
    }
    fn validate(&self) -> Result<()> {
        subdomain_name(&self.metadata.name)?;
        if let Some(ns) = &self.metadata.namespace {
            object_name(ns)?;
        }
        static KEY: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
        let re = KEY.get_or_init(|| regex::Regex::new(r"^[-._a-zA-Z0-9]+$").ok());
        for k in self.string_data.keys() {
            if !re.as_ref().is_some_and(|r| r.is_match(k)) {
                return Err(Error::invalid(
                    "Secret",
                    &self.metadata.name,
                    format!(
                        "invalid Secret key '{k}': a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The `identity.pub` line (`<type> <base64>\n`, as `ssh.MarshalAuthorizedKey` writes it) of an OpenSSH
/// private key (`-----BEGIN OPENSSH PRIVATE KEY-----`). The public key is stored unencrypted in that format,
/// so this works for passphrase-protected keys too; other PEM formats are rejected.
pub fn openssh_public_key(private_key: &str) -> Result<String> {
    let bad = |m: &str| {
        Error::invalid(
            "Secret",
            "identity",
            format!("the private key is not an OpenSSH private key: {m}"),
        )
    };
    let body: String = private_key
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    if body.is_empty() {
        return Err(bad(
            "no BEGIN OPENSSH PRIVATE KEY block (PKCS#1/PKCS#8 keys need the public key passed explicitly)",
        ));
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|_| bad("invalid base64"))?;
    let rest = raw
        .strip_prefix(b"openssh-key-v1\0".as_slice())
        .ok_or_else(|| bad("missing openssh-key-v1 magic"))?;
    fn take<'a>(b: &mut &'a [u8]) -> Option<&'a [u8]> {
        let len = u32::from_be_bytes(b.get(..4)?.try_into().ok()?) as usize;
        let v = b.get(4..4 + len)?;
        *b = &b[4 + len..];
        Some(v)
    }
    let mut cur = rest;
    for _ in 0..3 {
        take(&mut cur).ok_or_else(|| bad("truncated header"))?; // cipher, kdf, kdf options
    }
    let n = cur.get(..4).ok_or_else(|| bad("truncated header"))?;
    if u32::from_be_bytes([n[0], n[1], n[2], n[3]]) != 1 {
        return Err(bad("exactly one key is supported"));
    }
    cur = &cur[4..];
    let blob = take(&mut cur).ok_or_else(|| bad("truncated public key"))?;
    let mut b = blob;
    let key_type = take(&mut b)
        .and_then(|t| std::str::from_utf8(t).ok())
        .ok_or_else(|| bad("bad key type"))?;
    Ok(format!(
        "{key_type} {}\n",
        base64::engine::general_purpose::STANDARD.encode(blob)
    ))
}

// ---------------------------------------------------------------- ServiceAccount

/// Workload identity annotation: the managed identity's client id.
pub const WI_CLIENT_ID: &str = "azure.workload.identity/client-id";
/// Workload identity annotation: the tenant id.
pub const WI_TENANT_ID: &str = "azure.workload.identity/tenant-id";
/// Workload identity pod label (`"true"`).
pub const WI_USE_LABEL: &str = "azure.workload.identity/use";

/// A `v1` ServiceAccount (also used as a patch).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceAccount {
    /// Metadata.
    pub metadata: ObjectMeta,
}

impl ServiceAccount {
    /// A ServiceAccount.
    pub fn new(name: impl Into<String>, namespace: impl Into<String>) -> Self {
        ServiceAccount {
            metadata: ObjectMeta::new(name, namespace),
        }
    }

    /// A ServiceAccount annotated for Azure workload identity (client and tenant id) and labelled
    /// `azure.workload.identity/use: "true"`.
    pub fn workload_identity(
        name: &str,
        namespace: &str,
        client_id: &str,
        tenant_id: &str,
    ) -> Self {
        let mut sa = ServiceAccount::new(name, namespace);
        sa.metadata
            .annotations
            .insert(WI_CLIENT_ID.into(), client_id.into());
        sa.metadata
            .annotations
            .insert(WI_TENANT_ID.into(), tenant_id.into());
        sa.metadata
            .labels
            .insert(WI_USE_LABEL.into(), "true".into());
        sa
    }
}

impl Manifest for ServiceAccount {
    fn api_version(&self) -> &str {
        "v1"
    }
    fn kind(&self) -> &str {
        "ServiceAccount"
    }
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn to_json(&self) -> Value {
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": to_value(&self.metadata)})
    }
    fn validate(&self) -> Result<()> {
        subdomain_name(&self.metadata.name)
    }
}

// ---------------------------------------------------------------- RoleBinding

/// An `rbac.authorization.k8s.io/v1` RoleBinding (tenants).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleBinding {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// The role.
    pub role_ref: RoleRef,
    /// Subjects.
    pub subjects: Vec<Subject>,
}

/// `roleRef`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    /// `rbac.authorization.k8s.io`.
    pub api_group: String,
    /// ClusterRole or Role.
    pub kind: String,
    /// Name.
    pub name: String,
}

/// A subject.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    /// API group (users and groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
    /// User, Group or ServiceAccount.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace (service accounts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl Manifest for RoleBinding {
    fn api_version(&self) -> &str {
        "rbac.authorization.k8s.io/v1"
    }
    fn kind(&self) -> &str {
        "RoleBinding"
    }
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn to_json(&self) -> Value {
        let mut v = to_value(self);
        if let Value::Object(m) = &mut v {
            m.insert("apiVersion".into(), json!("rbac.authorization.k8s.io/v1"));
            m.insert("kind".into(), json!("RoleBinding"));
        }
        v
    }
    fn validate(&self) -> Result<()> {
        subdomain_name(&self.metadata.name)
    }
}

/// The objects of `flux create tenant`: Namespace (unless skipped), ServiceAccount and RoleBinding, all
/// labelled `toolkit.fluxcd.io/tenant: <tenant>`.
pub fn tenant(
    tenant: &str,
    namespace: &str,
    cluster_role: &str,
    service_account: Option<&str>,
    skip_namespace: bool,
) -> Result<Vec<Box<dyn Manifest>>> {
    object_name(tenant)?;
    object_name(namespace)?;
    let label = |m: &mut ObjectMeta| {
        m.labels
            .insert("toolkit.fluxcd.io/tenant".into(), tenant.into());
    };
    let sa_name = service_account.unwrap_or(tenant);
    let mut out: Vec<Box<dyn Manifest>> = Vec::new();
    if !skip_namespace {
        let mut ns = Namespace::new(namespace);
        label(&mut ns.metadata);
        out.push(Box::new(ns));
    }
    let mut sa = ServiceAccount::new(sa_name, namespace);
    label(&mut sa.metadata);
    out.push(Box::new(sa));
    let mut rb = RoleBinding {
        metadata: ObjectMeta::new(format!("{tenant}-reconciler"), namespace),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: cluster_role.into(),
        },
        subjects: vec![
            Subject {
                api_group: Some("rbac.authorization.k8s.io".into()),
                kind: "User".into(),
                name: format!("gotk:{namespace}:reconciler"),
                namespace: None,
            },
            Subject {
                api_group: None,
                kind: "ServiceAccount".into(),
                name: sa_name.into(),
                namespace: Some(namespace.into()),
            },
        ],
    };
    label(&mut rb.metadata);
    out.push(Box::new(rb));
    Ok(out)
}

// ---------------------------------------------------------------- kustomize file

/// A `kustomize.config.k8s.io/v1beta1` Kustomization file (`kustomization.yaml`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KustomizeConfig {
    /// Namespace for all resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Resources (files or directories).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Patches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Patch>,
    /// Image overrides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Value>,
}

impl KustomizeConfig {
    /// A kustomization listing `resources`.
    pub fn with_resources<I: IntoIterator<Item = S>, S: Into<String>>(resources: I) -> Self {
        KustomizeConfig {
            resources: resources.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    /// The flux-system `kustomization.yaml` bootstrap generates: `gotk-components.yaml`, `gotk-sync.yaml`.
    pub fn flux_system() -> Self {
        Self::with_resources(["gotk-components.yaml", "gotk-sync.yaml"])
    }

    /// Adds the workload-identity patches for `controllers` (e.g. `source-controller`): the ServiceAccount
    /// annotations `azure.workload.identity/client-id`/`tenant-id` and the Deployment pod label
    /// `azure.workload.identity/use: "true"`.
    pub fn add_workload_identity(
        mut self,
        controllers: &[&str],
        namespace: &str,
        client_id: &str,
        tenant_id: &str,
    ) -> Self {
        for c in controllers {
            let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
                "name": c, "namespace": namespace,
                "annotations": {WI_CLIENT_ID: client_id, WI_TENANT_ID: tenant_id}}});
            self.patches.push(Patch {
                patch: Some(crate::yaml::to_yaml(&sa)),
                path: None,
                target: Some(PatchTarget {
                    kind: Some("ServiceAccount".into()),
                    name: Some((*c).into()),
                    ..Default::default()
                }),
            });
            let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": c, "namespace": namespace},
                "spec": {"template": {"metadata": {"labels": {WI_USE_LABEL: "true"}}}}});
            self.patches.push(Patch {
                patch: Some(crate::yaml::to_yaml(&dep)),
                path: None,
                target: Some(PatchTarget {
                    kind: Some("Deployment".into()),
                    name: Some((*c).into()),
                    ..Default::default()
                }),
            });
        }
        self
    }

    /// Adds a JSON6902 patch appending `arg` to the first container's args of each controller Deployment
    /// (e.g. `--ssh-hostkey-algos=rsa-sha2-512,rsa-sha2-256` for Azure DevOps SSH).
    pub fn add_controller_arg(mut self, controllers: &[&str], arg: &str) -> Self {
        let ops =
            json!([{"op": "add", "path": "/spec/template/spec/containers/0/args/-", "value": arg}]);
        for c in controllers {
            self.patches.push(Patch {
                patch: Some(crate::yaml::to_yaml(&ops)),
                path: None,
                target: Some(PatchTarget {
                    kind: Some("Deployment".into()),
                    name: Some((*c).into()),
                    ..Default::default()
                }),
            });
        }
        self
    }

    /// The file contents (no `---`), as bootstrap writes `kustomization.yaml`.
    pub fn to_file(&self) -> String {
        crate::yaml::to_yaml(&self.to_json())
    }
}

impl Manifest for KustomizeConfig {
    fn api_version(&self) -> &str {
        "kustomize.config.k8s.io/v1beta1"
    }
    fn kind(&self) -> &str {
        "Kustomization"
    }
    fn metadata(&self) -> &ObjectMeta {
        static EMPTY: std::sync::OnceLock<ObjectMeta> = std::sync::OnceLock::new();
        EMPTY.get_or_init(ObjectMeta::default)
    }
    fn to_json(&self) -> Value {
        let mut v = to_value(self);
        if let Value::Object(m) = &mut v {
            m.insert(
                "apiVersion".into(),
                json!("kustomize.config.k8s.io/v1beta1"),
            );
            m.insert("kind".into(), json!("Kustomization"));
        }
        v
    }
    fn validate(&self) -> Result<()> {
        for r in &self.resources {
            if r.is_empty() || r.starts_with('/') {
                return Err(Error::invalid(
                    "Kustomization",
                    "kustomization.yaml",
                    format!("resource '{r}' must be a relative path"),
                ));
            }
        }
        Ok(())
    }
}
