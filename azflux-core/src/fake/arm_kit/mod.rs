//! The ARM resource kit: one stateful store and router for every fake resource provider on
//! `management.azure.com`.
//!
//! Resource providers' fakes register their types ([`ResourceType`] with [`Hooks`]); the kit does what ARM
//! does around them:
//! - routing by resource id, case-insensitive for `subscriptions`, `resourceGroups`, `providers`,
//!   namespaces, types and names (names keep the case they were created with) — [`path`];
//! - `ResourceGroupNotFound` (once resource groups are modelled, see
//!   [`FakeResourceGroups`](crate::fake::resource_groups::FakeResourceGroups)), `ParentResourceNotFound`
//!   for nested types, `ResourceNotFound`, `InvalidResourceType`, in one envelope ([`error`]);
//! - GET, PUT (create or replace), PATCH (JSON merge patch, RFC 7386, then the type's PUT validation),
//!   DELETE, and lists by resource group, by subscription and of child collections, paged with `nextLink`
//!   (`$top` honoured, `$skiptoken` carried in the link);
//! - long-running create, update, delete and actions: `Azure-AsyncOperation` + `Location` +
//!   `Retry-After`, `provisioningState` moving on the fake cloud's clock, operation-status resources
//!   (`InProgress`/`Succeeded`/`Failed`/`Canceled`) and operation results;
//! - the api-versions each provider serves ([`versions`]), else `NoRegisteredProviderFound` /
//!   `InvalidApiVersionParameter`;
//! - subscriptions, tenants, locations and providers (what `az login` reads) — [`tenant`];
//! - role definitions (the built-in roles, found by name) and role assignments, with a query API other
//!   fakes use to decide access ([`ArmKit::permits`]) — [`rbac`].
//!
//! The kit answers at a lower wiremock priority than routes crates mount themselves, so a fake that has
//! not moved onto it keeps working. Every request is counted under `arm.kit` and under the type's route
//! name (`acr.arm.registry.put`).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use azflux_core::fake::FakeCloud;
//! use azflux_core::fake::arm_kit::{PlainHooks, ResourceType};
//! use std::sync::Arc;
//!
//! let cloud = FakeCloud::start().await;
//! let kit = cloud.arm_kit();
//! kit.register(ResourceType::new("Microsoft.KeyVault/vaults", "doc.vault", Arc::new(PlainHooks)));
//! assert!(kit.resource("/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v").is_none());
//! # }
//! ```

pub mod error;
pub mod path;
pub mod rbac;
pub mod store;
pub mod tenant;
pub mod types;
pub mod versions;

pub use error::ArmError;
pub use path::ResourcePath;
pub use store::{Operation, OperationKind, Resource, State};
pub use types::{Ctx, Hooks, PlainHooks, ResourceType, UntrackedHooks, generic_put};

use super::FakeCloud;
use super::arm::ArmCall;
use super::request::FakeRequest;
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;
use time::OffsetDateTime;
use wiremock::ResponseTemplate;

/// The type key of resource groups.
pub const RESOURCE_GROUP_TYPE: &str = "microsoft.resources/resourcegroups";

/// The wiremock priority of the kit's routes (crates' own routes, at the default 5, win).
const PRIORITY: u8 = 10;

/// An answer of a hook: status, optional JSON body, extra headers, an optional real-time delay.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// Status.
    pub status: u16,
    /// Body.
    pub body: Option<Value>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// A real-time delay before the answer.
    pub delay: Duration,
}

impl Answer {
    /// `status` with a JSON body.
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            ..Self::default()
        }
    }

    /// `status` without a body.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            ..Self::default()
        }
    }

    /// With these headers added.
    pub fn with_headers(mut self, headers: Vec<(String, String)>) -> Self {
        self.headers.extend(headers);
        self
    }

    fn template(self) -> ResponseTemplate {
        let mut t = ResponseTemplate::new(self.status);
        for (k, v) in &self.headers {
            t = t.insert_header(k.as_str(), v.as_str());
        }
        if let Some(body) = self.body {
            t = t.set_body_json(body);
        }
        if !self.delay.is_zero() {
            t = t.set_delay(self.delay);
        }
        t
    }
}

impl From<ArmError> for Answer {
    fn from(e: ArmError) -> Self {
        Answer::json(
            e.status,
            json!({"error": {"code": e.code, "message": e.message}}),
        )
    }
}

/// The kit; cloning shares it. One per [`FakeCloud`] ([`FakeCloud::arm_kit`]).
#[derive(Clone)]
pub struct ArmKit {
    inner: Arc<KitInner>,
}

struct KitInner {
    cloud: FakeCloud,
    state: Mutex<State>,
    types: RwLock<HashMap<String, Arc<ResourceType>>>,
}

impl std::fmt::Debug for ArmKit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmKit")
            .field(
                "types",
                &self
                    .inner
                    .types
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .keys()
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// ARM's normalised location (`West Europe` → `westeurope`).
pub fn normalize_location(l: &str) -> String {
    l.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// RFC 3339 on the cloud's clock.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Some(patch) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Some(t) = target.as_object_mut() {
        for (k, v) in patch {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

impl ArmKit {
    pub(super) fn new(cloud: FakeCloud) -> Self {
        Self {
            inner: Arc::new(KitInner {
                cloud,
                state: Mutex::new(State::default()),
                types: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// Mounts the kit's catch-all route on the ARM server (done by [`FakeCloud::start_with`]).
    pub(super) async fn mount(&self) {
        let server = self.inner.cloud.arm_server().await;
        let responder = KitRoute { kit: self.clone() };
        wiremock::Mock::given(wiremock::matchers::path_regex(r"^/"))
            .respond_with(responder)
            .with_priority(PRIORITY)
            .named("arm.kit")
            .mount(&server)
            .await;
        self.register(resource_groups_type());
    }

    /// The cloud the kit serves.
    pub fn cloud(&self) -> &FakeCloud {
        &self.inner.cloud
    }

    /// Registers (or replaces) a resource type.
    pub fn register(&self, spec: ResourceType) {
        self.inner
            .types
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(spec.key.clone(), Arc::new(spec));
    }

    fn spec(&self, key: &str) -> Option<Arc<ResourceType>> {
        self.inner
            .types
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// Locks the state, finishing the operations that are due first.
    pub fn state(&self) -> MutexGuard<'_, State> {
        let mut state = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.advance(&mut state);
        state
    }

    fn now(&self) -> OffsetDateTime {
        self.inner.cloud.clock().now()
    }

    /// Finishes operations whose time has come.
    fn advance(&self, state: &mut State) {
        let now = self.now();
        let mut due: Vec<Operation> = state
            .operations
            .values()
            .filter(|o| !o.done && o.ends <= now)
            .cloned()
            .collect();
        due.sort_by_key(|o| o.ends);
        for op in due {
            if let Some(o) = state.operations.get_mut(&op.id) {
                o.done = true;
            }
            let spec = self.spec(&op.type_key);
            match op.kind {
                OperationKind::Delete if op.failure.is_none() => {
                    for removed in state.remove_tree(&op.resource) {
                        if let Some(s) = self.spec(&removed.type_key) {
                            s.hooks.removed(self, &removed);
                        }
                    }
                }
                _ => {
                    let failed = op.failure.is_some();
                    if failed
                        && op.kind == OperationKind::Create
                        && spec
                            .as_ref()
                            .is_some_and(|s| s.hooks.remove_failed_create())
                    {
                        state.remove_tree(&op.resource);
                    } else if let Some(r) = state.resources.get_mut(&op.resource)
                        && r.body.get("properties").is_some_and(Value::is_object)
                    {
                        r.body["properties"]["provisioningState"] =
                            json!(if failed { "Failed" } else { "Succeeded" });
                    }
                }
            }
            if let Some(spec) = spec {
                spec.hooks.settled(state, &op);
            }
        }
    }

    fn count(&self, route: &str) {
        *self
            .inner
            .cloud
            .inner
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(route.to_owned())
            .or_default() += 1;
    }

    // ---- the query API for fakes and tests ----

    /// A resource's body as GET shows it (any case of the id).
    pub fn resource(&self, id: &str) -> Option<Value> {
        let state = self.state();
        let r = state.resources.get(&path::id_key(id))?;
        let now = self.now();
        Some(match self.spec(&r.type_key) {
            Some(s) => s.hooks.view(&r.body, now),
            None => r.body.clone(),
        })
    }

    /// The bodies of every resource of a type (`Microsoft.KeyVault/vaults`, any case), as stored.
    pub fn resources_of(&self, type_name: &str) -> Vec<Value> {
        let key = type_name.to_ascii_lowercase();
        self.state().of_type(&key).map(|r| r.body.clone()).collect()
    }

    /// The id of the resource of a type whose name is `name` (any case), wherever it is: data planes
    /// address a registry or vault by its globally unique name, not by its resource id.
    pub fn find_id_by_name(&self, type_name: &str, name: &str) -> Option<String> {
        self.resources_of(type_name)
            .into_iter()
            .find(|b| {
                b["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .and_then(|b| b["id"].as_str().map(str::to_owned))
    }

    /// Stores a resource as is (seeding: someone else's registry, a brownfield cluster). The body's `id`
    /// is its id; its type must be registered or be a resource group.
    pub fn insert(&self, body: Value) -> Result<(), ArmError> {
        let id = body
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let Some(p) = ResourcePath::parse(&id) else {
            return Err(ArmError::bad_request(
                "InvalidResourceId",
                format!("'{id}' is not a resource id."),
            ));
        };
        let p = if p.namespace.is_empty() {
            resource_group_path(&p)
        } else {
            p
        };
        let key = path::id_key(&id);
        let now = self.now();
        let mut state = self.state();
        state.write(
            &key,
            Resource {
                id: id.clone(),
                type_key: p.type_key(),
                parent: path::id_key(&p.parent_id()),
                subscription: p.subscription.to_ascii_lowercase(),
                body,
                created: now,
                generation: 0,
            },
        );
        Ok(())
    }

    /// Changes a stored body in place; false when there is no such resource.
    pub fn update(&self, id: &str, change: impl FnOnce(&mut Value)) -> bool {
        let mut state = self.state();
        match state.resources.get_mut(&path::id_key(id)) {
            Some(r) => {
                change(&mut r.body);
                r.generation += 1;
                true
            }
            None => false,
        }
    }

    /// Removes a resource (and what is below it) without a request; returns whether it existed.
    pub fn remove(&self, id: &str) -> bool {
        !self.state().remove_tree(&path::id_key(id)).is_empty()
    }

    /// Sets the page size of lists when clients send no `$top` (default 100).
    pub fn set_page_size(&self, size: usize) {
        self.state().page_size = size.max(1);
    }

    // ---- serving ----

    fn handle(&self, r: &FakeRequest<'_>) -> ResponseTemplate {
        let call = match self.inner.cloud.arm_call(r) {
            Ok(call) => call,
            Err(e) => return e,
        };
        let answer = self.route(r, &call).unwrap_or_else(Answer::from);
        call.respond(answer.template())
    }

    fn route(&self, r: &FakeRequest<'_>, call: &ArmCall) -> Result<Answer, ArmError> {
        let method = r.method();
        let segments: Vec<String> = r
            .path()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
        if let Some(answer) = tenant::route(self, r, call, &seg)? {
            return Ok(answer);
        }
        if seg.len() >= 4
            && let Some(op) = self.operation_answer(r, call, &seg)?
        {
            return Ok(op);
        }
        let Some(parsed) = ResourcePath::parse(r.path()) else {
            return Err(not_served(r.path()));
        };
        if parsed
            .namespace
            .eq_ignore_ascii_case("microsoft.authorization")
        {
            return rbac::route(self, r, call, &parsed);
        }
        // Resource groups: `/subscriptions/{s}/resourcegroups[/{rg}]`.
        let parsed = if parsed.namespace.is_empty() {
            match seg.len() {
                3 | 4 if seg[2] == "resourcegroups" => resource_group_path(&parsed),
                _ => return Err(not_served(r.path())),
            }
        } else {
            parsed
        };
        if parsed.types.is_empty() && method == "POST" {
            return self.provider_action(r, call, &parsed);
        }
        let is_list = method == "GET" && parsed.tail.is_some();
        let key = if is_list {
            parsed.collection_key().unwrap_or_default()
        } else {
            parsed.type_key()
        };
        let Some(spec) = self.spec(&key).or_else(|| {
            // `POST {id}/{action}` on a resource of a registered type.
            (method == "POST")
                .then(|| self.spec(&parsed.type_key()))
                .flatten()
        }) else {
            let type_name = key
                .split_once('/')
                .map(|(_, t)| t)
                .unwrap_or(&key)
                .to_owned();
            return Err(ArmError::invalid_type(
                &type_name,
                &parsed.namespace,
                &call.api_version,
            ));
        };
        let location = "global";
        versions::check(
            &spec
                .api_versions
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            &call.api_version,
            spec.namespace(),
            spec.type_name
                .split_once('/')
                .map(|(_, t)| t)
                .unwrap_or_default(),
            location,
        )?;
        let mut state = self.state();
        if state.require_resource_groups
            && spec.key != RESOURCE_GROUP_TYPE
            && let Some(rg_id) = parsed.resource_group_id()
            && !state.resources.contains_key(&path::id_key(&rg_id))
        {
            return Err(ArmError::resource_group_not_found(
                parsed.resource_group.as_deref().unwrap_or_default(),
            ));
        }
        if is_list {
            drop(state);
            return self.list(r, call, &parsed, &spec);
        }
        // Nested resources need their parent.
        let resource_path = parsed.without_tail();
        if resource_path.types.len() > 1 {
            let parent_id = resource_path.parent_id();
            if !state.resources.contains_key(&path::id_key(&parent_id)) {
                let verb = match method.as_str() {
                    "GET" | "HEAD" => "read",
                    "DELETE" => "delete",
                    "POST" => "action",
                    _ => "write",
                };
                let parent_type = spec
                    .type_name
                    .rsplit_once('/')
                    .map(|(p, _)| p)
                    .unwrap_or_default();
                let parent_spec = self.spec(&parent_type.to_ascii_lowercase());
                let canonical_parent = match parent_spec {
                    Some(ps) => ps.canonical_id(
                        &ResourcePath::parse(&parent_id).unwrap_or(resource_path.clone()),
                    ),
                    None => parent_id,
                };
                let nested = spec
                    .type_name
                    .split_once('/')
                    .map(|(_, t)| t)
                    .unwrap_or_default();
                return Err(ArmError::parent_not_found(verb, nested, &canonical_parent));
            }
        }
        let mut ctx = Ctx {
            kit: self,
            state: &mut state,
            path: &resource_path,
            request: r,
            call,
            now: self.now(),
            spec: &spec,
            status: None,
        };
        match (method.as_str(), &parsed.tail) {
            ("POST", Some(action)) => {
                if ctx.existing().is_none() && spec.key != RESOURCE_GROUP_TYPE {
                    // Computed types answer their own actions; stored ones must exist.
                    if let Some(answer) = spec.hooks.action(&mut ctx, action) {
                        return answer;
                    }
                    return Err(ArmError::resource_not_found(
                        &resource_path,
                        &spec.type_name,
                    ));
                }
                spec.hooks
                    .action(&mut ctx, action)
                    .unwrap_or_else(|| Err(not_served(r.path())))
            }
            ("GET", None) => spec.hooks.get(&mut ctx).map(|b| Answer::json(200, b)),
            ("HEAD", None) => Ok(Answer::empty(if ctx.existing().is_some() {
                204
            } else {
                404
            })),
            ("PUT", None) => put(&mut ctx, r.json().unwrap_or(Value::Null)),
            ("PATCH", None) => {
                let Some(existing) = ctx.existing().map(|e| e.body.clone()) else {
                    return Err(ArmError::resource_not_found(
                        &resource_path,
                        &spec.type_name,
                    ));
                };
                let mut merged = existing;
                let patch = r.json().unwrap_or(Value::Null);
                if !patch.is_object() {
                    return Err(ArmError::bad_request(
                        "InvalidRequestContent",
                        "The request content was invalid and could not be deserialized.",
                    ));
                }
                merge_patch(&mut merged, &patch);
                put(&mut ctx, merged)
            }
            ("DELETE", None) => delete(&mut ctx),
            _ => Err(ArmError::new(
                405,
                "MethodNotAllowed",
                format!("The requested resource does not support http method '{method}'."),
            )),
        }
    }

    /// `POST /subscriptions/{s}/providers/{ns}/{action}` (`checkNameAvailability`): the first type of the
    /// namespace whose hooks know the action answers.
    fn provider_action(
        &self,
        r: &FakeRequest<'_>,
        call: &ArmCall,
        parsed: &ResourcePath,
    ) -> Result<Answer, ArmError> {
        let action = parsed.tail.clone().unwrap_or_default();
        let prefix = format!("{}/", parsed.namespace.to_ascii_lowercase());
        let mut specs: Vec<Arc<ResourceType>> = self
            .inner
            .types
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|t| t.key.starts_with(&prefix))
            .cloned()
            .collect();
        specs.sort_by(|a, b| a.key.cmp(&b.key));
        let mut state = self.state();
        for spec in specs {
            let versions: Vec<&str> = spec.api_versions.iter().map(String::as_str).collect();
            let mut ctx = Ctx {
                kit: self,
                state: &mut state,
                path: parsed,
                request: r,
                call,
                now: self.now(),
                spec: &spec,
                status: None,
            };
            if let Some(answer) = spec.hooks.action(&mut ctx, &action) {
                versions::check(
                    &versions,
                    &call.api_version,
                    spec.namespace(),
                    &action,
                    "global",
                )?;
                return answer;
            }
        }
        Err(not_served(r.path()))
    }

    fn list(
        &self,
        r: &FakeRequest<'_>,
        call: &ArmCall,
        parsed: &ResourcePath,
        spec: &ResourceType,
    ) -> Result<Answer, ArmError> {
        let state = self.state();
        let now = self.now();
        let by_subscription = parsed.types.is_empty() && parsed.resource_group.is_none();
        let parent = if parsed.types.is_empty() {
            path::id_key(&parsed.scope)
        } else {
            path::id_key(&parsed.without_tail().id())
        };
        if !parsed.types.is_empty() && !state.resources.contains_key(&parent) {
            let nested = spec
                .type_name
                .split_once('/')
                .map(|(_, t)| t)
                .unwrap_or_default();
            return Err(ArmError::parent_not_found(
                "read",
                nested,
                &parsed.without_tail().id(),
            ));
        }
        let sub = parsed.subscription.to_ascii_lowercase();
        let items: Vec<Value> = state
            .of_type(&spec.key)
            .filter(|res| {
                if by_subscription {
                    res.subscription == sub
                } else {
                    res.parent == parent
                }
            })
            .map(|res| spec.hooks.view(&res.body, now))
            .collect();
        drop(state);
        let page_size = self.state().page_size;
        Ok(Answer::json(200, page(r, call, items, page_size)))
    }

    fn operation_answer(
        &self,
        r: &FakeRequest<'_>,
        _call: &ArmCall,
        seg: &[&str],
    ) -> Result<Option<Answer>, ArmError> {
        let n = seg.len();
        let kind = seg[n - 2];
        if !matches!(
            kind,
            "operations" | "operationstatuses" | "operationresults" | "asyncoperations"
        ) {
            return Ok(None);
        }
        let raw_id = r.path().rsplit('/').next().unwrap_or_default().to_owned();
        let state = self.state();
        let Some(op) = state.operations.get(&raw_id).cloned() else {
            return Ok(None);
        };
        let Some(spec) = self.spec(&op.type_key) else {
            return Ok(None);
        };
        let retry = spec.hooks.retry_after().as_secs().to_string();
        // A type's own result segment (`asyncoperations` for Microsoft.Storage) answers as a result too.
        let is_result = kind == "operationresults"
            || (spec.operation_segments.0 != spec.operation_segments.1
                && kind == spec.operation_segments.1.to_ascii_lowercase());
        if !is_result {
            let mut body = json!({
                "id": r.path(), "name": op.id, "status": op.status(), "startTime": rfc3339(op.started),
            });
            if op.done {
                body["endTime"] = json!(rfc3339(op.ends));
                if let Some((code, message)) = &op.failure {
                    body["error"] = json!({"code": code, "message": message});
                }
            } else {
                let total = (op.ends - op.started).whole_milliseconds().max(1) as f64;
                let elapsed = (self.now() - op.started).whole_milliseconds().max(0) as f64;
                body["percentComplete"] = json!((elapsed * 100.0 / total).min(99.0).floor());
            }
            return Ok(Some(
                Answer::json(200, body).with_headers(vec![("retry-after".into(), retry)]),
            ));
        }
        if !op.done {
            let url = format!(
                "{}{}?{}",
                r.origin(),
                r.path(),
                r.raw().url.query().unwrap_or_default()
            );
            return Ok(Some(Answer::empty(202).with_headers(vec![
                ("location".into(), url),
                ("retry-after".into(), retry),
            ])));
        }
        if let Some((code, message)) = &op.failure {
            return Err(ArmError::bad_request(code, message.clone()));
        }
        let now = self.now();
        Ok(Some(match (&op.kind, state.resources.get(&op.resource)) {
            (OperationKind::Delete, _) | (_, None) => Answer::empty(204),
            (_, Some(res)) => Answer::json(200, spec.hooks.view(&res.body, now)),
        }))
    }
}

/// The kit's responder: counts the request under `arm.kit` and its type's route name, applies injected
/// faults (as [`FakeCloud::mount`] does: a faulted request is counted, never handled), then serves it.
struct KitRoute {
    kit: ArmKit,
}

impl wiremock::Respond for KitRoute {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let req = FakeRequest::new(request);
        self.kit.count("arm.kit");
        if let Some(name) = self.kit.counter_name(&req) {
            self.kit.count(&name);
        }
        let faults = &self.kit.inner.cloud.inner.faults;
        match faults.take(&req.host(), &req.method(), req.path(), false) {
            Some(super::faults::Fault::Status {
                status,
                retry_after,
                code,
            }) => {
                let mut t = super::arm::arm_error(
                    status,
                    &code,
                    &format!("Injected fault: {code}. Please retry."),
                );
                if let Some(s) = retry_after {
                    t = t.insert_header("retry-after", s.to_string());
                }
                t
            }
            Some(super::faults::Fault::Delay(d)) => self.kit.handle(&req).set_delay(d),
            _ => self.kit.handle(&req),
        }
    }
}

impl ArmKit {
    /// The route name a request is counted under (`acr.arm.registry.put`), decided from the path alone.
    fn counter_name(&self, r: &FakeRequest<'_>) -> Option<String> {
        let method = r.method();
        let seg: Vec<String> = r
            .path()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        let n = seg.len();
        if n >= 4
            && matches!(
                seg[n - 2].as_str(),
                "operations" | "operationstatuses" | "operationresults" | "asyncoperations"
            )
        {
            let raw_id = r.path().rsplit('/').next().unwrap_or_default();
            let type_key = self
                .inner
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .operations
                .get(raw_id)
                .map(|o| o.type_key.clone());
            if let Some(spec) = type_key.and_then(|k| self.spec(&k)) {
                return Some(spec.counter(if seg[n - 2] == "operationresults" {
                    "operationresult"
                } else {
                    "operation"
                }));
            }
        }
        let parsed = ResourcePath::parse(r.path())?;
        if parsed
            .namespace
            .eq_ignore_ascii_case("microsoft.authorization")
        {
            let (kind, named) = match (parsed.types.first(), &parsed.tail) {
                (Some((t, _)), None) => (t.to_ascii_lowercase(), true),
                (None, Some(t)) => (t.to_ascii_lowercase(), false),
                _ => return None,
            };
            let what = match kind.as_str() {
                "roleassignments" => "roleassignment",
                "roledefinitions" => "roledefinition",
                _ => return None,
            };
            let verb = match (method.as_str(), named) {
                ("GET", false) => "list".to_owned(),
                (m, _) => m.to_ascii_lowercase(),
            };
            return Some(format!("authz.{what}.{verb}"));
        }
        let parsed = if parsed.namespace.is_empty() {
            match n {
                3 | 4 if seg[2] == "resourcegroups" => resource_group_path(&parsed),
                _ => return None,
            }
        } else {
            parsed
        };
        if parsed.types.is_empty() && method == "POST" {
            let action = parsed.tail.clone()?;
            let prefix = format!("{}/", parsed.namespace.to_ascii_lowercase());
            let types = self
                .inner
                .types
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            let mut specs: Vec<&Arc<ResourceType>> = types
                .values()
                .filter(|t| t.key.starts_with(&prefix))
                .collect();
            specs.sort_by(|a, b| a.key.cmp(&b.key));
            let lower = action.to_ascii_lowercase();
            let spec = specs
                .iter()
                .find(|s| s.route_overrides.iter().any(|(v, _)| *v == lower))
                .or(specs.first())?;
            return Some(spec.counter(&action));
        }
        if method == "GET" && parsed.tail.is_some() {
            return Some(self.spec(&parsed.collection_key()?)?.counter("list"));
        }
        let spec = self.spec(&parsed.type_key())?;
        Some(match (method.as_str(), &parsed.tail) {
            ("POST", Some(action)) => spec.counter(action),
            (m, _) => spec.counter(m),
        })
    }
}

/// One page of `items` with ARM's `nextLink` (`$top` as sent, `$skiptoken` opaque).
pub fn page(r: &FakeRequest<'_>, call: &ArmCall, items: Vec<Value>, default_size: usize) -> Value {
    let top = r
        .query("$top")
        .and_then(|t| t.parse::<usize>().ok())
        .filter(|t| *t > 0);
    let size = top.unwrap_or(default_size).max(1);
    let skip = r
        .query("$skiptoken")
        .and_then(|t| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(t)
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.strip_prefix("offset:")
                .and_then(|n| n.parse::<usize>().ok())
        })
        .unwrap_or(0);
    let total = items.len();
    let value: Vec<Value> = items.into_iter().skip(skip).take(size).collect();
    let mut body = json!({"value": value});
    if skip + size < total {
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("offset:{}", skip + size));
        let mut link = url::Url::parse(&format!("{}{}", r.origin(), r.path()))
            .unwrap_or_else(|_| r.raw().url.clone());
        {
            let mut q = link.query_pairs_mut();
            q.append_pair("api-version", &call.api_version);
            if let Some(t) = top {
                q.append_pair("$top", &t.to_string());
            }
            if let Some(f) = r.query("$filter") {
                q.append_pair("$filter", &f);
            }
            q.append_pair("$skiptoken", &token);
        }
        body["nextLink"] = json!(link.to_string());
    }
    body
}

fn not_served(path: &str) -> ArmError {
    ArmError::new(
        404,
        "NotFound",
        format!(
            "No HTTP resource was found that matches the request URI 'https://management.azure.com{path}'."
        ),
    )
}

/// The resource-group path as the kit models it: `Microsoft.Resources/resourceGroups/{rg}` below the
/// subscription (a list when there is no name).
fn resource_group_path(p: &ResourcePath) -> ResourcePath {
    let rg = p.resource_group.clone();
    ResourcePath {
        subscription: p.subscription.clone(),
        resource_group: rg.clone(),
        scope: format!("/subscriptions/{}", p.subscription),
        namespace: "Microsoft.Resources".into(),
        types: rg
            .clone()
            .map(|rg| vec![("resourceGroups".to_owned(), rg)])
            .unwrap_or_default(),
        tail: rg.is_none().then(|| "resourceGroups".to_owned()),
    }
}

fn resource_groups_type() -> ResourceType {
    ResourceType::new(
        "Microsoft.Resources/resourceGroups",
        "resourcegroups",
        Arc::new(super::resource_groups::ResourceGroupHooks),
    )
}

fn put(ctx: &mut Ctx<'_>, request: Value) -> Result<Answer, ArmError> {
    let existed = ctx.existing().is_some();
    let spec = ctx.spec;
    let body = spec.hooks.put(ctx, request)?;
    let key = ctx.key();
    let id = body
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| ctx.id());
    let created = ctx.existing().map(|e| e.created).unwrap_or(ctx.now);
    ctx.state.write(
        &key,
        Resource {
            id,
            type_key: spec.key.clone(),
            parent: path::id_key(&ctx.path.parent_id()),
            subscription: ctx.path.subscription.to_ascii_lowercase(),
            body: body.clone(),
            created,
            generation: 0,
        },
    );
    let (duration, kind) = if existed {
        (spec.hooks.update_duration(), OperationKind::Update)
    } else {
        (spec.hooks.create_duration(), OperationKind::Create)
    };
    let status = ctx.status.unwrap_or(if existed { 200 } else { 201 });
    let view = spec.hooks.view(&body, ctx.now);
    match duration {
        Some(d) => {
            let failure = if existed {
                None
            } else {
                spec.hooks.take_create_failure()
            };
            let mut headers = ctx.start_operation(kind, d, failure, None);
            if spec.hooks.location_only_lro() {
                // `final-state-via: location` (Microsoft.Storage): `202` with no body, only `Location`.
                headers.retain(|(k, _)| k != "azure-asyncoperation");
                return Ok(Answer::empty(202).with_headers(headers));
            }
            // A PUT's final state comes from the resource itself (`final-state-via: azure-async-operation`):
            // no `Location` on it.
            headers.retain(|(k, _)| k != "location");
            Ok(Answer::json(status, view).with_headers(headers))
        }
        None => Ok(Answer::json(status, view)),
    }
}

fn delete(ctx: &mut Ctx<'_>) -> Result<Answer, ArmError> {
    if ctx.existing().is_none() {
        return Ok(Answer::empty(204));
    }
    let spec = ctx.spec;
    match spec.hooks.delete(ctx)? {
        None => {
            let key = ctx.key();
            ctx.state.cancel_in_flight(
                &key,
                "The operation was canceled by a delete of the resource.",
            );
            for removed in ctx.state.remove_tree(&key) {
                if let Some(s) = ctx.kit.spec(&removed.type_key) {
                    s.hooks.removed(ctx.kit, &removed);
                }
            }
            Ok(Answer::empty(200))
        }
        Some(d) => {
            let key = ctx.key();
            ctx.state.cancel_in_flight(
                &key,
                "The operation was canceled by a delete of the resource.",
            );
            if let Some(r) = ctx.existing_mut()
                && r.body.get("properties").is_some_and(Value::is_object)
            {
                r.body["properties"]["provisioningState"] = json!("Deleting");
            }
            let headers = ctx.start_operation(OperationKind::Delete, d, None, None);
            Ok(Answer::empty(202).with_headers(headers))
        }
    }
}

impl FakeCloud {
    /// The ARM resource kit every fake resource provider of this cloud registers its types on.
    pub fn arm_kit(&self) -> ArmKit {
        self.inner
            .arm_kit
            .get_or_init(|| ArmKit::new(self.clone()))
            .clone()
    }
}
