//! A fake Kubernetes API server for the sandbox and the tests: server-side apply (create or replace by
//! apiVersion/kind/namespace/name; `resourceVersion` and `generation` move only when the object changes),
//! GET, bearer-token auth per cluster, namespaces that must exist, and the Flux controllers' side reduced to
//! status: a GitRepository becomes Ready with the branch's current commit (read through a
//! [`RevisionResolver`], which also checks the credentials in its `secretRef`), a Kustomization becomes
//! Ready with `lastAppliedRevision` = its source's revision, each after a reconcile delay on the clock.
//!
//! One server serves many clusters: cluster `c` lives under `/clusters/c` (its kubeconfig's server URL).
//! Routes are mounted through [`FakeCloud::mount`], so they are counted (`kube.apply`, `kube.get`) and take
//! the cloud's injected faults.

use super::kube::{Kubeconfig, plural};
use azflux_core::clock::Clock;
use azflux_core::fake::FakeCloud;
use azflux_core::fake::request::FakeRequest;
use base64::Engine;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;
use wiremock::{MockServer, ResponseTemplate};

/// Resolves a GitRepository to the commit its branch points at: `(url, branch, decoded secret data)` →
/// `Ok(commit)` or `Err(reason)` (unknown repository, bad credentials, missing branch).
pub type RevisionResolver = Arc<
    dyn Fn(&str, &str, Option<&BTreeMap<String, String>>) -> Result<String, String> + Send + Sync,
>;

/// One stored object.
#[derive(Debug, Clone)]
pub struct StoredObject {
    /// The object as the API server returns it (without status).
    pub object: Value,
    /// `metadata.generation`.
    pub generation: i64,
    /// `metadata.resourceVersion`.
    pub resource_version: u64,
    /// How many applies changed it (1 = created and never changed).
    pub writes: u64,
    applied_at: OffsetDateTime,
}

type ObjKey = (String, String, String, String, String); // cluster, group path, plural, namespace, name

#[derive(Default)]
struct Model {
    tokens: BTreeMap<String, String>,
    objects: BTreeMap<ObjKey, StoredObject>,
    resource_version: u64,
}

struct Inner {
    model: Mutex<Model>,
    clock: Arc<dyn Clock>,
    resolver: RevisionResolver,
    reconcile_delay: Duration,
    server: Arc<MockServer>,
}

/// The fake API server.
#[derive(Clone)]
pub struct FakeKube {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FakeKube {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeKube")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

fn status(code: u16, reason: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_json(json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
    }))
}

struct Parsed {
    cluster: String,
    group: String,
    api_version: String,
    plural: String,
    namespace: Option<String>,
    name: String,
}

fn parse_path(path: &str) -> Option<Parsed> {
    let rest = path.strip_prefix("/clusters/")?;
    let (cluster, rest) = rest.split_once('/')?;
    let segs: Vec<&str> = rest.split('/').collect();
    let (group, api_version, tail) = match *segs.first()? {
        "api" => (
            format!("api/{}", segs.get(1)?),
            (*segs.get(1)?).to_owned(),
            &segs[2..],
        ),
        "apis" => (
            format!("apis/{}/{}", segs.get(1)?, segs.get(2)?),
            format!("{}/{}", segs.get(1)?, segs.get(2)?),
            &segs[3..],
        ),
        _ => return None,
    };
    let (namespace, plural, name) = match tail {
        ["namespaces", ns, plural, name] => (Some((*ns).to_owned()), *plural, *name),
        [plural, name] => (None, *plural, *name),
        _ => return None,
    };
    Some(Parsed {
        cluster: cluster.to_owned(),
        group,
        api_version,
        plural: plural.to_owned(),
        namespace,
        name: name.to_owned(),
    })
}

fn content(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
        if let Some(Value::Object(m)) = o.get_mut("metadata") {
            for k in [
                "resourceVersion",
                "generation",
                "uid",
                "creationTimestamp",
                "managedFields",
            ] {
                m.remove(k);
            }
        }
    }
    v
}

impl FakeKube {
    /// Starts the server on its own port, with its routes mounted through `cloud` (counted, faults).
    pub async fn start(
        cloud: &FakeCloud,
        resolver: RevisionResolver,
        reconcile_delay: Duration,
    ) -> Self {
        let server = Arc::new(MockServer::start().await);
        let this = FakeKube {
            inner: Arc::new(Inner {
                model: Mutex::new(Model::default()),
                clock: cloud.clock(),
                resolver,
                reconcile_delay,
                server: server.clone(),
            }),
        };
        let path = r"^/clusters/[^/]+/apis?/.+$";
        let me = this.clone();
        cloud
            .mount(&server, "kube.apply", "PATCH", path, move |r| me.apply(r))
            .await;
        let me = this.clone();
        cloud
            .mount(&server, "kube.get", "GET", path, move |r| me.get(r))
            .await;
        this
    }

    /// The server's base URL.
    pub fn url(&self) -> String {
        self.inner.server.uri()
    }

    /// Adds a cluster and returns its kubeconfig (a fresh random bearer token).
    pub fn add_cluster(&self, name: &str) -> Kubeconfig {
        let token = format!("kube~{}", uuid::Uuid::new_v4().simple());
        self.lock().tokens.insert(name.to_owned(), token.clone());
        Kubeconfig::with_token(
            format!("{}/clusters/{name}", self.url()),
            format!("sandbox-{name}"),
            SecretString::from(token),
        )
    }

    /// Adds (or re-keys) a cluster that accepts `token` — the token of a kubeconfig the AKS fake issued —
    /// and returns a kubeconfig pointing at this server.
    pub fn add_cluster_with_token(
        &self,
        name: &str,
        context: &str,
        token: &SecretString,
    ) -> Kubeconfig {
        self.lock().tokens.insert(
            name.to_owned(),
            secrecy::ExposeSecret::expose_secret(token).to_owned(),
        );
        Kubeconfig::with_token(
            format!("{}/clusters/{name}", self.url()),
            context.to_owned(),
            token.clone(),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Model> {
        self.inner
            .model
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Every object of `cluster` (Secrets with their data: for tests).
    pub fn objects(&self, cluster: &str) -> Vec<StoredObject> {
        self.lock()
            .objects
            .iter()
            .filter(|(k, _)| k.0 == cluster)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// One object of `cluster`, by kind, namespace and name.
    pub fn object(
        &self,
        cluster: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<StoredObject> {
        let plural = plural(kind);
        self.lock()
            .objects
            .iter()
            .find(|(k, _)| {
                k.0 == cluster
                    && k.2 == plural
                    && k.3 == namespace.unwrap_or_default()
                    && k.4 == name
            })
            .map(|(_, v)| v.clone())
    }

    fn authorized(&self, r: &FakeRequest<'_>, cluster: &str) -> Option<ResponseTemplate> {
        let model = self.lock();
        let Some(token) = model.tokens.get(cluster) else {
            return Some(status(404, "NotFound", &format!("no cluster '{cluster}'")));
        };
        if r.bearer() != Some(token.as_str()) {
            return Some(status(401, "Unauthorized", "Unauthorized"));
        }
        None
    }

    fn apply(&self, r: &FakeRequest<'_>) -> ResponseTemplate {
        let Some(p) = parse_path(r.path()) else {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            );
        };
        if let Some(denied) = self.authorized(r, &p.cluster) {
            return denied;
        }
        if r.header("content-type").as_deref() != Some("application/apply-patch+yaml") {
            return status(
                415,
                "UnsupportedMediaType",
                "the body of a server-side apply must be application/apply-patch+yaml",
            );
        }
        if r.query("fieldManager").is_none_or(|m| m.is_empty()) {
            return status(
                422,
                "Invalid",
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            );
        }
        let body: Option<Value> = r.json().or_else(|| {
            std::str::from_utf8(r.body())
                .ok()
                .and_then(|t| serde_saphyr::from_str(t).ok())
        });
        let Some(mut obj) = body.filter(Value::is_object) else {
            return status(400, "BadRequest", "the body is not a YAML or JSON object");
        };
        let field = |p: &str| obj.pointer(p).and_then(Value::as_str).map(str::to_owned);
        let (api_version, kind, name) = (
            field("/apiVersion"),
            field("/kind"),
            field("/metadata/name"),
        );
        let (Some(api_version), Some(kind), Some(name)) = (api_version, kind, name) else {
            return status(
                400,
                "BadRequest",
                "apiVersion, kind and metadata.name are required",
            );
        };
        if api_version != p.api_version || plural(&kind) != p.plural || name != p.name {
            return status(
                400,
                "BadRequest",
                &format!("the {kind} '{name}' ({api_version}) does not match the URL"),
            );
        }
        if let Some(ns) = &p.namespace {
            if field("/metadata/namespace").is_some_and(|n| &n != ns) {
                return status(
                    400,
                    "BadRequest",
                    "the namespace of the object does not match the URL",
                );
            }
            obj["metadata"]["namespace"] = json!(ns);
        }
        let obj = super::kube::normalize_secret(&obj);
        let now = self.inner.clock.now();
        let mut model = self.lock();
        if let Some(ns) = &p.namespace {
            let ns_key = (
                p.cluster.clone(),
                "api/v1".to_owned(),
                "namespaces".to_owned(),
                String::new(),
                ns.clone(),
            );
            if !model.objects.contains_key(&ns_key) {
                return status(404, "NotFound", &format!("namespaces \"{ns}\" not found"));
            }
        }
        let key = (
            p.cluster,
            p.group,
            p.plural,
            p.namespace.unwrap_or_default(),
            p.name,
        );
        let new_content = content(&obj);
        if let Some(existing) = model.objects.get(&key)
            && content(&existing.object) == new_content
        {
            return ResponseTemplate::new(200).set_body_json(existing.object.clone());
        }
        model.resource_version += 1;
        let rv = model.resource_version;
        let created = !model.objects.contains_key(&key);
        let previous = model.objects.get(&key).cloned();
        let generation = previous.as_ref().map_or(1, |s| s.generation + 1);
        let mut stored = new_content;
        let uid = previous
            .as_ref()
            .and_then(|s| s.object.pointer("/metadata/uid").cloned())
            .unwrap_or_else(|| json!(uuid::Uuid::new_v4().to_string()));
        let created_at = previous
            .as_ref()
            .and_then(|s| s.object.pointer("/metadata/creationTimestamp").cloned())
            .unwrap_or_else(|| {
                json!(
                    now.format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default()
                )
            });
        if let Some(Value::Object(m)) = stored.get_mut("metadata") {
            m.insert("resourceVersion".into(), json!(rv.to_string()));
            m.insert("generation".into(), json!(generation));
            m.insert("uid".into(), uid);
            m.insert("creationTimestamp".into(), created_at);
        }
        model.objects.insert(
            key,
            StoredObject {
                object: stored.clone(),
                generation,
                resource_version: rv,
                writes: previous.map_or(1, |s| s.writes + 1),
                applied_at: now,
            },
        );
        ResponseTemplate::new(if created { 201 } else { 200 }).set_body_json(stored)
    }

    fn get(&self, r: &FakeRequest<'_>) -> ResponseTemplate {
        let Some(p) = parse_path(r.path()) else {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            );
        };
        if let Some(denied) = self.authorized(r, &p.cluster) {
            return denied;
        }
        let model = self.lock();
        let key = (
            p.cluster.clone(),
            p.group,
            p.plural.clone(),
            p.namespace.unwrap_or_default(),
            p.name.clone(),
        );
        let Some(stored) = model.objects.get(&key) else {
            return status(
                404,
                "NotFound",
                &format!("{} \"{}\" not found", p.plural, p.name),
            );
        };
        let mut obj = stored.object.clone();
        if let Some(s) = self.status_of(&model, &p.cluster, stored) {
            obj["status"] = s;
        }
        ResponseTemplate::new(200).set_body_json(obj)
    }

    /// What Flux's controllers would report for `stored`, if it is a Flux source or Kustomization.
    fn status_of(&self, model: &Model, cluster: &str, stored: &StoredObject) -> Option<Value> {
        let obj = &stored.object;
        let kind = obj.get("kind").and_then(Value::as_str)?;
        let ns = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let reconciled = self.inner.clock.now() >= stored.applied_at + self.inner.reconcile_delay;
        let condition = |ok: Option<bool>, reason: &str, message: &str| {
            json!({"type": "Ready", "status": match ok { Some(true) => "True", Some(false) => "False", None => "Unknown" },
                   "reason": reason, "message": message, "observedGeneration": stored.generation})
        };
        let progressing = || {
            Some(json!({"observedGeneration": stored.generation - 1,
                "conditions": [condition(None, "Progressing", "reconciliation in progress")]}))
        };
        match kind {
            "GitRepository" => {
                if !reconciled {
                    return progressing();
                }
                let url = obj
                    .pointer("/spec/url")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let branch = obj
                    .pointer("/spec/ref/branch")
                    .and_then(Value::as_str)
                    .unwrap_or("master");
                let secret = match obj.pointer("/spec/secretRef/name").and_then(Value::as_str) {
                    Some(name) => {
                        let key = (
                            cluster.to_owned(),
                            "api/v1".to_owned(),
                            "secrets".to_owned(),
                            ns.to_owned(),
                            name.to_owned(),
                        );
                        match model.objects.get(&key) {
                            None => {
                                return Some(json!({"observedGeneration": stored.generation,
                                    "conditions": [condition(Some(false), "AuthenticationFailed", &format!("secrets \"{name}\" not found"))]}));
                            }
                            Some(s) => Some(decode_data(&s.object)),
                        }
                    }
                    None => None,
                };
                Some(match (self.inner.resolver)(url, branch, secret.as_ref()) {
                    Ok(commit) => {
                        let revision = format!("{branch}@sha1:{commit}");
                        json!({"observedGeneration": stored.generation,
                            "conditions": [condition(Some(true), "Succeeded", &format!("stored artifact for revision '{revision}'"))],
                            "artifact": {"revision": revision}})
                    }
                    Err(why) => json!({"observedGeneration": stored.generation,
                        "conditions": [condition(Some(false), "GitOperationFailed", &why)]}),
                })
            }
            "Kustomization"
                if obj
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .is_some_and(|a| a.starts_with("kustomize.toolkit.fluxcd.io/")) =>
            {
                let source_name = obj
                    .pointer("/spec/sourceRef/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let source_ns = obj
                    .pointer("/spec/sourceRef/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or(ns);
                let source = model.objects.iter().find(|(k, _)| {
                    k.0 == cluster
                        && k.2 == "gitrepositories"
                        && k.3 == source_ns
                        && k.4 == source_name
                });
                let Some((_, source)) = source else {
                    return Some(json!({"observedGeneration": stored.generation,
                        "conditions": [condition(Some(false), "ArtifactFailed", &format!("Source 'GitRepository/{source_ns}/{source_name}' not found"))]}));
                };
                let source_status = self.status_of(model, cluster, source)?;
                let Some(revision) = source_status
                    .pointer("/artifact/revision")
                    .and_then(Value::as_str)
                else {
                    return Some(json!({"observedGeneration": stored.generation,
                        "conditions": [condition(Some(false), "ArtifactFailed", "Source artifact not found, retrying")]}));
                };
                if !reconciled {
                    return progressing();
                }
                Some(json!({"observedGeneration": stored.generation,
                    "conditions": [condition(Some(true), "ReconciliationSucceeded", &format!("Applied revision: {revision}"))],
                    "lastAppliedRevision": revision, "lastAttemptedRevision": revision}))
            }
            _ => None,
        }
    }
}

fn decode_data(secret: &Value) -> BTreeMap<String, String> {
    secret
        .get("data")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(v.as_str()?)
                        .ok()?;
                    Some((k.clone(), String::from_utf8(bytes).ok()?))
                })
                .collect()
        })
        .unwrap_or_default()
}
