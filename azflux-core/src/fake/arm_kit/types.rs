//! What a resource provider's fake tells the kit about one resource type: its canonical name, route names,
//! and [`Hooks`] — validation of the PUT body (with the RP's codes), default filling (provisioningState,
//! system-assigned values), computed GETs, actions (`POST …/listKeys`), long-running create and delete.

use super::error::ArmError;
use super::path::ResourcePath;
use super::store::{Operation, OperationKind, Resource, State};
use super::{Answer, ArmKit};
use crate::fake::arm::ArmCall;
use crate::fake::request::FakeRequest;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// What a request handed to a hook carries.
pub struct Ctx<'a> {
    /// The kit (for the cloud: clock, Entra ID).
    pub kit: &'a ArmKit,
    /// The kit's state (locked for the whole request).
    pub state: &'a mut State,
    /// The resource's path (without the action or collection tail).
    pub path: &'a ResourcePath,
    /// The request.
    pub request: &'a FakeRequest<'a>,
    /// The ARM checks' result (claims, api-version).
    pub call: &'a ArmCall,
    /// Now, on the cloud's clock.
    pub now: OffsetDateTime,
    /// The type.
    pub spec: &'a ResourceType,
    /// The status a PUT answers with, when a hook decides it (a recovered soft-deleted vault: `200`);
    /// otherwise `201` for a new resource and `200` for an existing one.
    pub status: Option<u16>,
}

impl Ctx<'_> {
    /// The canonical id (`/subscriptions/…/resourceGroups/…/providers/<Namespace>/<type>/<name>`, names as
    /// sent).
    pub fn id(&self) -> String {
        self.spec.canonical_id(self.path)
    }

    /// The store key of the resource.
    pub fn key(&self) -> String {
        super::path::id_key(&self.id())
    }

    /// The stored resource, if any.
    pub fn existing(&self) -> Option<&Resource> {
        self.state.resources.get(&self.key())
    }

    /// The stored resource (mutable), if any.
    pub fn existing_mut(&mut self) -> Option<&mut Resource> {
        let key = self.key();
        self.state.resources.get_mut(&key)
    }

    /// The operation in flight on the resource, if any.
    pub fn in_flight(&self) -> Option<&Operation> {
        self.state.in_flight(&self.key())
    }

    /// The origin the client used (for URLs handed out).
    pub fn origin(&self) -> String {
        self.request.origin()
    }

    /// Starts a long-running operation on this resource and returns the `Azure-AsyncOperation`,
    /// `Location` and `Retry-After` headers for it. `target` is free data for [`Hooks::settled`].
    pub fn start_operation(
        &mut self,
        kind: OperationKind,
        duration: Duration,
        failure: Option<(String, String)>,
        target: Option<String>,
    ) -> Vec<(String, String)> {
        let location = self
            .existing()
            .and_then(|r| r.body.get("location"))
            .and_then(Value::as_str)
            .map(super::normalize_location)
            .unwrap_or_else(|| "global".into());
        let op = self.state.start_operation(
            &self.key(),
            &self.spec.key,
            kind,
            self.now,
            duration,
            failure,
            target,
        );
        let (status, result) = self.spec.operation_segments;
        let base = format!(
            "{}/subscriptions/{}/providers/{}/locations/{location}",
            self.origin(),
            self.path.subscription,
            self.spec.namespace()
        );
        let v = &self.call.api_version;
        vec![
            (
                "azure-asyncoperation".into(),
                format!("{base}/{status}/{op}?api-version={v}"),
            ),
            (
                "location".into(),
                format!("{base}/{result}/{op}?api-version={v}"),
            ),
            (
                "retry-after".into(),
                self.spec.hooks.retry_after().as_secs().to_string(),
            ),
        ]
    }
}

/// Per-type behaviour. Every method has the generic ARM default.
pub trait Hooks: Send + Sync + 'static {
    /// Validates a PUT body (for PATCH: the existing body with the patch merged in) and returns the body to
    /// store, with defaults filled. The default: [`generic_put`].
    fn put(&self, ctx: &mut Ctx<'_>, request: Value) -> Result<Value, ArmError> {
        generic_put(ctx, request, true)
    }

    /// The answer of a GET of one resource: the stored body seen through [`Hooks::view`], or
    /// `ResourceNotFound`. Computed types (upgrade profiles, pools kept inside their cluster) answer here.
    fn get(&self, ctx: &mut Ctx<'_>) -> Result<Value, ArmError> {
        let now = ctx.now;
        match ctx.existing() {
            Some(r) => Ok(self.view(&r.body, now)),
            None => Err(ArmError::resource_not_found(ctx.path, &ctx.spec.type_name)),
        }
    }

    /// A DELETE of an existing resource: `Ok(None)` deletes now, `Ok(Some(duration))` starts a long-running
    /// delete. The default: [`Hooks::delete_duration`].
    fn delete(&self, _ctx: &mut Ctx<'_>) -> Result<Option<Duration>, ArmError> {
        Ok(self.delete_duration())
    }

    /// Called when a resource leaves the store (deleted now, or its delete finished).
    fn removed(&self, _kit: &ArmKit, _resource: &Resource) {}

    /// `POST {id}/{action}`: `None` when the type has no such action (`404`).
    fn action(&self, _ctx: &mut Ctx<'_>, _action: &str) -> Option<Result<Answer, ArmError>> {
        None
    }

    /// How a stored body looks at `now` (states that change with time).
    fn view(&self, body: &Value, _now: OffsetDateTime) -> Value {
        body.clone()
    }

    /// How long a create takes: `None` answers synchronously (`200`/`201`, `Succeeded`).
    fn create_duration(&self) -> Option<Duration> {
        None
    }

    /// How long an update (PUT/PATCH of an existing resource) takes; `None`: synchronous.
    fn update_duration(&self) -> Option<Duration> {
        None
    }

    /// How long a delete takes; `None`: synchronous.
    fn delete_duration(&self) -> Option<Duration> {
        None
    }

    /// The failure the next create should end in (taken when the create starts).
    fn take_create_failure(&self) -> Option<(String, String)> {
        None
    }

    /// `Retry-After` on long-running answers and operation polls.
    fn retry_after(&self) -> Duration {
        Duration::from_secs(10)
    }

    /// Whether a create that ends `Failed` leaves nothing behind (the name is released).
    fn remove_failed_create(&self) -> bool {
        false
    }

    /// Whether a long-running PUT answers `202` with only a `Location` header (`final-state-via:
    /// location`, as Microsoft.Storage's `StorageAccounts_Create`) instead of the resource and
    /// `Azure-AsyncOperation`.
    fn location_only_lro(&self) -> bool {
        false
    }

    /// Called when an operation of this type has finished (after the kit has set `provisioningState`).
    fn settled(&self, _state: &mut State, _op: &Operation) {}
}

/// The generic PUT: a JSON object body (`400 InvalidRequestContent`), `location` for tracked resources
/// (`400 LocationRequired`; an existing resource's location cannot change: `400 InvalidResourceLocation`),
/// then `id`, `name`, `type`, `tags` and `properties.provisioningState` filled in.
pub fn generic_put(ctx: &mut Ctx<'_>, request: Value, tracked: bool) -> Result<Value, ArmError> {
    let Some(mut body) = Some(request).filter(Value::is_object) else {
        return Err(ArmError::bad_request(
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized.",
        ));
    };
    if tracked {
        let Some(location) = body
            .get("location")
            .and_then(Value::as_str)
            .filter(|l| !l.trim().is_empty())
            .map(super::normalize_location)
        else {
            return Err(ArmError::bad_request(
                "LocationRequired",
                "The location property is required for this definition.",
            ));
        };
        if let Some(existing) = ctx.existing()
            && let Some(old) = existing.body.get("location").and_then(Value::as_str)
            && super::normalize_location(old) != location
        {
            return Err(ArmError::bad_request(
                "InvalidResourceLocation",
                format!(
                    "The resource '{}' already exists in location '{old}' in resource group '{}'. A resource with the same name cannot be created in location '{location}'. Please select a new resource name.",
                    ctx.path.name(),
                    ctx.path.resource_group.as_deref().unwrap_or_default()
                ),
            ));
        }
        body["location"] = json!(location);
        if body.get("tags").is_none_or(Value::is_null) {
            body["tags"] = json!({});
        }
    }
    body["id"] = json!(ctx.id());
    body["name"] = json!(ctx.path.name());
    body["type"] = json!(ctx.spec.type_name);
    if !body.get("properties").is_some_and(Value::is_object) {
        body["properties"] = json!({});
    }
    let state = if ctx.existing().is_some() {
        ctx.spec.hooks.update_duration().map(|_| "Updating")
    } else {
        ctx.spec.hooks.create_duration().map(|_| "Creating")
    };
    body["properties"]["provisioningState"] = json!(state.unwrap_or("Succeeded"));
    Ok(body)
}

/// Hooks with every default: a plain tracked resource.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlainHooks;

impl Hooks for PlainHooks {}

/// A resource type as the kit serves it.
#[derive(Clone)]
pub struct ResourceType {
    /// Canonical type: `Microsoft.ContainerRegistry/registries`, `Microsoft.EventHub/namespaces/eventhubs`.
    pub type_name: String,
    /// Lower-case key of the type.
    pub key: String,
    /// Route-name prefix for request counters: `acr.arm.registry` counts `acr.arm.registry.put` …
    pub route: String,
    /// Route names that differ from `{route}.{verb}` (verb: `put`, `get`, `patch`, `delete`, `list`,
    /// `operation`, or the action's lower-case name).
    pub route_overrides: Vec<(String, String)>,
    /// The api-versions served (defaults to the namespace's in [`super::versions`]).
    pub api_versions: Vec<String>,
    /// The operation URL segments below `…/providers/<ns>/locations/<loc>/`: (status, result).
    pub operation_segments: (&'static str, &'static str),
    /// The behaviour.
    pub hooks: Arc<dyn Hooks>,
}

impl std::fmt::Debug for ResourceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceType")
            .field("type_name", &self.type_name)
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

impl ResourceType {
    /// A type `type_name` counted under `route`, with `hooks`.
    pub fn new(type_name: &str, route: &str, hooks: Arc<dyn Hooks>) -> Self {
        let namespace = type_name.split('/').next().unwrap_or_default();
        Self {
            type_name: type_name.to_owned(),
            key: type_name.to_ascii_lowercase(),
            route: route.to_owned(),
            route_overrides: Vec::new(),
            api_versions: super::versions::for_namespace(namespace)
                .unwrap_or_default()
                .iter()
                .map(|v| (*v).to_owned())
                .collect(),
            operation_segments: ("operationStatuses", "operationResults"),
            hooks,
        }
    }

    /// Names one route differently from `{route}.{verb}`.
    pub fn route_name(mut self, verb: &str, name: &str) -> Self {
        self.route_overrides
            .push((verb.to_ascii_lowercase(), name.to_owned()));
        self
    }

    /// Serves these api-versions instead of the namespace's.
    pub fn api_versions(mut self, versions: &[&str]) -> Self {
        self.api_versions = versions.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    /// Operation URLs use these segments (AKS: `operations`, `operationresults`).
    pub fn operation_segments(mut self, status: &'static str, result: &'static str) -> Self {
        self.operation_segments = (status, result);
        self
    }

    /// The counter name of `verb`.
    pub fn counter(&self, verb: &str) -> String {
        let verb = verb.to_ascii_lowercase();
        self.route_overrides
            .iter()
            .find(|(v, _)| *v == verb)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| format!("{}.{verb}", self.route))
    }

    /// The provider namespace, canonical case.
    pub fn namespace(&self) -> &str {
        self.type_name.split('/').next().unwrap_or_default()
    }

    /// The canonical id of the resource at `path`: ARM's spelling of the fixed segments and of the type,
    /// the names as sent.
    pub fn canonical_id(&self, path: &ResourcePath) -> String {
        if self.key == super::RESOURCE_GROUP_TYPE {
            return format!(
                "/subscriptions/{}/resourceGroups/{}",
                path.subscription,
                path.name()
            );
        }
        let scope = canonical_scope(&path.scope);
        let mut id = format!("{scope}/providers/{}", self.namespace());
        let types: Vec<&str> = self.type_name.split('/').skip(1).collect();
        for (i, (t, n)) in path.types.iter().enumerate() {
            id.push('/');
            id.push_str(types.get(i).copied().unwrap_or(t));
            id.push('/');
            id.push_str(n);
        }
        id
    }
}

/// `subscriptions` and `resourceGroups` spelled as ARM does, the rest as sent.
pub fn canonical_scope(scope: &str) -> String {
    let mut out = String::new();
    for (i, segment) in scope.split('/').filter(|s| !s.is_empty()).enumerate() {
        out.push('/');
        out.push_str(match (i, segment.to_ascii_lowercase().as_str()) {
            (0, "subscriptions") => "subscriptions",
            (2, "resourcegroups") => "resourceGroups",
            _ => segment,
        });
    }
    out
}

/// Hooks with every default, for a proxy (untracked) resource: no `location`, no `tags`.
#[derive(Debug, Default, Clone, Copy)]
pub struct UntrackedHooks;

impl Hooks for UntrackedHooks {
    fn put(&self, ctx: &mut Ctx<'_>, request: Value) -> Result<Value, ArmError> {
        generic_put(ctx, request, false)
    }
}
