//! Cluster-side steps: server-side apply of objects, the Flux git Secret, and the wait for the
//! Kustomization to report the pushed revision.

use super::kube_error;
use crate::bootstrap::kube::{KubeClient, ObjectRef, normalize_secret};
use crate::bootstrap::step::{
    Change, Outcome, PlanState, Planned, Step, StepContext, StepError, StepResult, keys,
};
use azflux_core::arm::json_is_subset;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

fn client(ctx: &StepContext, cluster: &str, resource: &str) -> StepResult<KubeClient> {
    let kubeconfig = ctx.outputs.require(cluster, keys::KUBECONFIG, resource)?;
    KubeClient::new(&kubeconfig).map_err(|e| kube_error(resource, &e))
}

/// Computes the objects an [`ApplyObjects`] step applies (JSON; may read outputs of its deps).
pub type ObjectsFn = Arc<dyn Fn(&StepContext) -> StepResult<Vec<Value>> + Send + Sync>;

/// Server-side applies objects to a cluster, skipping those already as desired (no write, no
/// `resourceVersion` bump).
pub struct ApplyObjects {
    id: String,
    cluster: String,
    deps: Vec<String>,
    what: String,
    objects: ObjectsFn,
}

impl std::fmt::Debug for ApplyObjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyObjects")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl ApplyObjects {
    /// A step `id` applying `objects` to `cluster` after `deps`; `what` describes them (`flux-system
    /// namespace`).
    pub fn new(
        id: impl Into<String>,
        cluster: &str,
        deps: Vec<String>,
        what: &str,
        objects: ObjectsFn,
    ) -> Self {
        ApplyObjects {
            id: id.into(),
            cluster: cluster.into(),
            deps,
            what: what.into(),
            objects,
        }
    }
}

/// Objects applied at the same time within one wave.
const APPLY_CONCURRENCY: usize = 8;

/// The apply wave of an object: namespaces first, then CRDs, then everything else.
fn wave(obj: &Value) -> u8 {
    match obj.get("kind").and_then(Value::as_str) {
        Some("Namespace") => 0,
        Some("CustomResourceDefinition") => 1,
        _ => 2,
    }
}

async fn apply_one(
    kube: &KubeClient,
    obj: &Value,
    resource: &str,
) -> StepResult<(ObjectRef, Change)> {
    let r = ObjectRef::of(obj).map_err(|e| kube_error(resource, &e))?;
    let current = kube
        .get(&r)
        .await
        .map_err(|e| kube_error(&r.to_string(), &e))?;
    let desired = normalize_secret(obj);
    let change = match current {
        Some(actual) if json_is_subset(&desired, &actual) => Change::Unchanged,
        existing => {
            let applied = kube
                .apply(obj)
                .await
                .map_err(|e| kube_error(&r.to_string(), &e))?;
            if applied.created || existing.is_none() {
                Change::Created
            } else {
                Change::Changed
            }
        }
    };
    Ok((r, change))
}

/// Applies `objects` through `kube` — namespaces, then CRDs, then the rest, each wave a few at a time —
/// skipping those already as desired: what each one did, in the given order.
pub async fn apply_all(
    kube: &KubeClient,
    objects: &[Value],
    resource: &str,
) -> StepResult<Vec<(ObjectRef, Change)>> {
    use futures::StreamExt as _;
    let mut out: Vec<Option<(ObjectRef, Change)>> = vec![None; objects.len()];
    for w in 0..=2u8 {
        let batch: Vec<(usize, Value)> = objects
            .iter()
            .enumerate()
            .filter(|(_, o)| wave(o) == w)
            .map(|(i, o)| (i, o.clone()))
            .collect();
        let tasks = batch.into_iter().map(|(i, o)| {
            let (kube, resource) = (kube.clone(), resource.to_owned());
            async move { (i, apply_one(&kube, &o, &resource).await) }
        });
        let results: Vec<(usize, StepResult<(ObjectRef, Change)>)> = futures::stream::iter(tasks)
            .buffered(APPLY_CONCURRENCY)
            .collect()
            .await;
        for (i, r) in results {
            out[i] = Some(r?);
        }
    }
    Ok(out.into_iter().flatten().collect())
}

fn summarize(results: &[(ObjectRef, Change)]) -> Outcome {
    let count = |want: Change| results.iter().filter(|(_, c)| *c == want).count();
    let detail = if results.len() > 4 {
        format!(
            "{} objects: {} created, {} changed, {} unchanged",
            results.len(),
            count(Change::Created),
            count(Change::Changed),
            count(Change::Unchanged)
        )
    } else {
        results
            .iter()
            .map(|(r, c)| format!("{r} {}", c.verb()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if results.iter().all(|(_, c)| *c == Change::Unchanged) {
        Outcome::unchanged(detail)
    } else if results.iter().all(|(_, c)| *c == Change::Created) {
        Outcome::created(detail)
    } else {
        Outcome::changed(detail)
    }
}

async fn plan_objects(kube: &KubeClient, objects: &[Value]) -> StepResult<Planned> {
    let mut create = Vec::new();
    let mut change = Vec::new();
    for obj in objects {
        let r = ObjectRef::of(obj).map_err(|e| kube_error("object", &e))?;
        match kube
            .get(&r)
            .await
            .map_err(|e| kube_error(&r.to_string(), &e))?
        {
            None => create.push(r.to_string()),
            Some(actual) if !json_is_subset(&normalize_secret(obj), &actual) => {
                change.push(r.to_string())
            }
            Some(_) => {}
        }
    }
    Ok(if !change.is_empty() {
        Planned::new(
            PlanState::WouldChange,
            format!(
                "would change {}; create [{}]",
                change.join(", "),
                create.join(", ")
            ),
        )
    } else if !create.is_empty() {
        Planned::new(
            PlanState::WouldCreate,
            format!("would create {}", create.join(", ")),
        )
    } else {
        Planned::new(
            PlanState::UpToDate,
            format!("{} object(s) as desired", objects.len()),
        )
    })
}

#[async_trait::async_trait]
impl Step for ApplyObjects {
    fn id(&self) -> &str {
        &self.id
    }
    fn deps(&self) -> Vec<String> {
        self.deps.clone()
    }
    fn cluster(&self) -> Option<&str> {
        Some(&self.cluster)
    }
    fn resource(&self) -> String {
        format!("cluster {}: {}", self.cluster, self.what)
    }
    async fn plan(&self, ctx: &StepContext) -> StepResult<Planned> {
        let objects = match (self.objects)(ctx) {
            Ok(o) => o,
            Err(e) => return Ok(Planned::new(PlanState::Unknown, e.message)),
        };
        let Some(kubeconfig) = ctx.outputs.get(&self.cluster, keys::KUBECONFIG) else {
            return Ok(Planned::new(
                PlanState::Unknown,
                "the cluster does not exist yet",
            ));
        };
        let kube = KubeClient::new(&kubeconfig).map_err(|e| kube_error(&self.resource(), &e))?;
        plan_objects(&kube, &objects).await
    }
    async fn ensure(&self, ctx: &StepContext) -> StepResult<Outcome> {
        let objects = (self.objects)(ctx)?;
        let kube = client(ctx, &self.cluster, &self.resource())?;
        Ok(summarize(
            &apply_all(&kube, &objects, &self.resource()).await?,
        ))
    }
}

/// The data of the Flux git Secret.
#[derive(Clone)]
pub enum GitSecretSource {
    /// Fixed data (PAT): applied, replacing what is there.
    Fixed(devops_git::GitSecretData),
    /// A generated SSH key: an existing Secret is kept (as `flux bootstrap` does), so re-runs do not rotate it.
    GenerateSsh(devops_git::KnownHosts),
}

/// Applies the `flux-system` git Secret (never committed).
pub struct FluxGitSecret {
    id: String,
    cluster: String,
    deps: Vec<String>,
    namespace: String,
    name: String,
    source: GitSecretSource,
}

impl std::fmt::Debug for FluxGitSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FluxGitSecret")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl FluxGitSecret {
    /// The Secret `namespace/name` on `cluster`.
    pub fn new(
        id: impl Into<String>,
        cluster: &str,
        deps: Vec<String>,
        namespace: &str,
        name: &str,
        source: GitSecretSource,
    ) -> Self {
        FluxGitSecret {
            id: id.into(),
            cluster: cluster.into(),
            deps,
            namespace: namespace.into(),
            name: name.into(),
            source,
        }
    }

    fn secret(&self, data: &devops_git::GitSecretData) -> Value {
        let mut s = flux_objects::Secret::new(&self.name, &self.namespace);
        for (k, v) in data.iter() {
            s = s.with(k, v.clone());
        }
        flux_objects::object::Manifest::to_json(&s)
    }
}

#[async_trait::async_trait]
impl Step for FluxGitSecret {
    fn id(&self) -> &str {
        &self.id
    }
    fn deps(&self) -> Vec<String> {
        self.deps.clone()
    }
    fn cluster(&self) -> Option<&str> {
        Some(&self.cluster)
    }
    fn resource(&self) -> String {
        format!(
            "cluster {}: Secret {}/{}",
            self.cluster, self.namespace, self.name
        )
    }
    async fn plan(&self, ctx: &StepContext) -> StepResult<Planned> {
        let Some(kubeconfig) = ctx.outputs.get(&self.cluster, keys::KUBECONFIG) else {
            return Ok(Planned::new(
                PlanState::Unknown,
                "the cluster does not exist yet",
            ));
        };
        let kube = KubeClient::new(&kubeconfig).map_err(|e| kube_error(&self.resource(), &e))?;
        match &self.source {
            GitSecretSource::Fixed(data) => plan_objects(&kube, &[self.secret(data)]).await,
            GitSecretSource::GenerateSsh(_) => {
                let r = ObjectRef::new("v1", "Secret", Some(&self.namespace), &self.name);
                Ok(
                    match kube
                        .get(&r)
                        .await
                        .map_err(|e| kube_error(&self.resource(), &e))?
                    {
                        Some(_) => Planned::new(
                            PlanState::UpToDate,
                            "exists: kept (delete it to rotate the SSH key)",
                        ),
                        None => Planned::new(
                            PlanState::WouldCreate,
                            "would generate an RSA 4096 SSH key",
                        ),
                    },
                )
            }
        }
    }
    async fn ensure(&self, ctx: &StepContext) -> StepResult<Outcome> {
        let kube = client(ctx, &self.cluster, &self.resource())?;
        let data = match &self.source {
            GitSecretSource::Fixed(data) => data.clone(),
            GitSecretSource::GenerateSsh(known_hosts) => {
                let r = ObjectRef::new("v1", "Secret", Some(&self.namespace), &self.name);
                if kube
                    .get(&r)
                    .await
                    .map_err(|e| kube_error(&self.resource(), &e))?
                    .is_some()
                {
                    return Ok(Outcome::unchanged(
                        "exists: kept (delete it to rotate the SSH key)",
                    ));
                }
                let key = tokio::task::spawn_blocking(|| {
                    devops_git::SshKeyPair::generate(devops_git::SshKeyAlgorithm::default())
                })
                .await
                .map_err(|e| {
                    StepError::new(
                        self.resource(),
                        format!("key generation stopped: {e}"),
                        super::super::step::RERUN_ADVICE,
                    )
                })?
                .map_err(|e| super::git_error(&self.resource(), &e))?;
                let creds = devops_git::GitCredentials::Ssh(devops_git::SshAuth::new(
                    key,
                    known_hosts.clone(),
                ));
                creds.flux_secret_data().unwrap_or_default()
            }
        };
        let results = apply_all(&kube, &[self.secret(&data)], &self.resource()).await?;
        let mut outcome = summarize(&results);
        outcome.detail = format!(
            "keys {}: {}",
            data.keys().collect::<Vec<_>>().join(", "),
            outcome.change.verb()
        );
        if let Some(p) = data.get("identity.pub") {
            outcome.detail.push_str(&format!(
                "; give this deploy key access to the repository: {}",
                secrecy::ExposeSecret::expose_secret(p).trim()
            ));
        }
        Ok(outcome)
    }
}

/// Waits until a Kustomization is Ready and reports the pushed revision ([`keys::PUSHED_REVISION`]).
#[derive(Debug)]
pub struct KustomizationHealth {
    id: String,
    cluster: String,
    deps: Vec<String>,
    namespace: String,
    name: String,
    poll: Duration,
    timeout: Duration,
}

impl KustomizationHealth {
    /// Waits for `namespace/name` on `cluster`, polling every `poll` up to `timeout` (on the clock).
    pub fn new(
        id: impl Into<String>,
        cluster: &str,
        deps: Vec<String>,
        namespace: &str,
        name: &str,
        poll: Duration,
        timeout: Duration,
    ) -> Self {
        KustomizationHealth {
            id: id.into(),
            cluster: cluster.into(),
            deps,
            namespace: namespace.into(),
            name: name.into(),
            poll,
            timeout,
        }
    }
}

fn ready(obj: &Value) -> (Option<bool>, String) {
    let cond = obj
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
    match cond {
        None => (None, "no Ready condition yet".into()),
        Some(c) => (
            match c["status"].as_str() {
                Some("True") => Some(true),
                Some("False") => Some(false),
                _ => None,
            },
            format!(
                "{}: {}",
                c["reason"].as_str().unwrap_or_default(),
                c["message"].as_str().unwrap_or_default()
            ),
        ),
    }
}

#[async_trait::async_trait]
impl Step for KustomizationHealth {
    fn id(&self) -> &str {
        &self.id
    }
    fn deps(&self) -> Vec<String> {
        self.deps.clone()
    }
    fn cluster(&self) -> Option<&str> {
        Some(&self.cluster)
    }
    fn long_running(&self) -> bool {
        true
    }
    fn resource(&self) -> String {
        format!(
            "cluster {}: Kustomization {}/{}",
            self.cluster, self.namespace, self.name
        )
    }
    async fn plan(&self, _ctx: &StepContext) -> StepResult<Planned> {
        Ok(Planned::new(
            PlanState::Unknown,
            "waits for the pushed revision to be applied",
        ))
    }
    async fn ensure(&self, ctx: &StepContext) -> StepResult<Outcome> {
        let kube = client(ctx, &self.cluster, &self.resource())?;
        let want = ctx
            .outputs
            .require("", keys::PUSHED_REVISION, &self.resource())?;
        let ks = ObjectRef::new(
            "kustomize.toolkit.fluxcd.io/v1",
            "Kustomization",
            Some(&self.namespace),
            &self.name,
        );
        let source = ObjectRef::new(
            "source.toolkit.fluxcd.io/v1",
            "GitRepository",
            Some(&self.namespace),
            &self.name,
        );
        let deadline = ctx.clock.now() + self.timeout;
        let mut last = String::from("not found");
        loop {
            if let Some(obj) = kube
                .get(&ks)
                .await
                .map_err(|e| kube_error(&self.resource(), &e))?
            {
                let applied = obj
                    .pointer("/status/lastAppliedRevision")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let (ok, why) = ready(&obj);
                if ok == Some(true) && applied == want {
                    return Ok(Outcome::unchanged(format!("Ready, applied {applied}")));
                }
                last = format!(
                    "Ready={} ({why}), lastAppliedRevision '{applied}'",
                    ok.map_or("Unknown".into(), |b| b.to_string())
                );
                if ok == Some(false)
                    && let Ok(Some(src)) = kube.get(&source).await
                    && let (Some(false), src_why) = ready(&src)
                {
                    last.push_str(&format!("; GitRepository: {src_why}"));
                }
            }
            if ctx.clock.now() >= deadline {
                return Err(StepError::new(
                    self.resource(),
                    format!(
                        "not Ready at {want} after {}: {last}",
                        crate::human::duration(self.timeout)
                    ),
                    "check the controllers (`kubectl -n flux-system get gitrepositories,kustomizations`, `flux logs`); when they are fixed, run `cargo xtask bootstrap` again",
                ));
            }
            ctx.clock.sleep(self.poll).await;
        }
    }
}
