//! The kit's state: resources by lower-case id, long-running operations on the cloud's clock, principals
//! known to role assignments.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use time::OffsetDateTime;

/// One stored resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// Its id, as created (names keep their case).
    pub id: String,
    /// Lower-case type key (`microsoft.keyvault/vaults`).
    pub type_key: String,
    /// Lower-case key of what it is nested in: its parent resource, or its resource group / subscription.
    pub parent: String,
    /// Lower-case subscription id.
    pub subscription: String,
    /// The body as stored.
    pub body: Value,
    /// When it was created.
    pub created: OffsetDateTime,
    /// Bumped on every write (the `etag`s handed out).
    pub generation: u64,
}

impl Resource {
    /// The etag of the current generation (opaque, quoted as ARM's are).
    pub fn etag(&self) -> String {
        format!(
            "\"{:08x}-{:04x}\"",
            self.created.unix_timestamp(),
            self.generation
        )
    }
}

/// What an operation does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationKind {
    /// A create (PUT of a new resource).
    Create,
    /// An update (PUT or PATCH of an existing resource).
    Update,
    /// A delete.
    Delete,
    /// A long-running action (`POST …/upgradeNodeImageVersion`), by name.
    Action(String),
}

impl OperationKind {
    /// The word ARM's messages use.
    pub fn word(&self) -> &str {
        match self {
            OperationKind::Create => "create",
            OperationKind::Update => "update",
            OperationKind::Delete => "delete",
            OperationKind::Action(a) => a,
        }
    }
}

/// A long-running operation.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Its id.
    pub id: String,
    /// What it does.
    pub kind: OperationKind,
    /// Lower-case id of the resource.
    pub resource: String,
    /// Type key of the resource.
    pub type_key: String,
    /// Start, on the cloud's clock.
    pub started: OffsetDateTime,
    /// When it ends.
    pub ends: OffsetDateTime,
    /// `(code, message)` when it ends failed (or canceled: code `OperationCanceled`).
    pub failure: Option<(String, String)>,
    /// Finished.
    pub done: bool,
    /// Free data for the type's hooks (the pool of a node-image upgrade).
    pub target: Option<String>,
}

impl Operation {
    /// The status word of the operation-status resource.
    pub fn status(&self) -> &'static str {
        match (&self.failure, self.done) {
            (_, false) => "InProgress",
            (None, true) => "Succeeded",
            (Some((code, _)), true) if code == "OperationCanceled" => "Canceled",
            (Some(_), true) => "Failed",
        }
    }
}

/// Everything the kit holds.
#[derive(Debug)]
pub struct State {
    /// Resources by lower-case id.
    pub resources: BTreeMap<String, Resource>,
    /// Operations by id.
    pub operations: HashMap<String, Operation>,
    /// Whether resources need their resource group (`ResourceGroupNotFound`): on once the resource-group
    /// fake is mounted ([`crate::fake::resource_groups::FakeResourceGroups::mount`]).
    pub require_resource_groups: bool,
    /// Items per list page when the client sends no `$top`.
    pub page_size: usize,
    /// Principal object id → when role assignments can see it.
    pub principals: HashMap<String, OffsetDateTime>,
    /// How long a new role assignment takes to take effect in [`super::ArmKit::permits`].
    pub role_propagation: Duration,
    /// Providers registered per subscription: (lower-case subscription, lower-case namespace).
    pub unregistered: Vec<(String, String)>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            resources: BTreeMap::new(),
            operations: HashMap::new(),
            require_resource_groups: false,
            page_size: 100,
            principals: HashMap::new(),
            role_propagation: Duration::ZERO,
            unregistered: Vec::new(),
        }
    }
}

impl State {
    /// The unfinished operation on `key`, if any.
    pub fn in_flight(&self, key: &str) -> Option<&Operation> {
        self.operations
            .values()
            .filter(|o| !o.done && o.resource == key)
            .min_by_key(|o| o.started)
    }

    /// Starts an operation; returns its id.
    #[allow(clippy::too_many_arguments)] // one call site per kind; a struct would only rename them
    pub fn start_operation(
        &mut self,
        key: &str,
        type_key: &str,
        kind: OperationKind,
        now: OffsetDateTime,
        duration: Duration,
        failure: Option<(String, String)>,
        target: Option<String>,
    ) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.operations.insert(
            id.clone(),
            Operation {
                id: id.clone(),
                kind,
                resource: key.to_owned(),
                type_key: type_key.to_owned(),
                started: now,
                ends: now + duration,
                failure,
                done: false,
                target,
            },
        );
        id
    }

    /// Cancels the operations in flight on `key` (a delete supersedes them).
    pub fn cancel_in_flight(&mut self, key: &str, message: &str) {
        for op in self
            .operations
            .values_mut()
            .filter(|o| !o.done && o.resource == key)
        {
            op.done = true;
            op.failure = Some(("OperationCanceled".into(), message.to_owned()));
        }
    }

    /// Removes `key` and everything below it (children, extension resources); returns what was removed.
    pub fn remove_tree(&mut self, key: &str) -> Vec<Resource> {
        let prefix = format!("{key}/");
        let keys: Vec<String> = self
            .resources
            .range(key.to_owned()..)
            .take_while(|(k, _)| k.as_str() == key || k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        keys.into_iter()
            .filter_map(|k| self.resources.remove(&k))
            .collect()
    }

    /// Writes a body: a new generation, the etag in the body.
    pub fn write(&mut self, key: &str, resource: Resource) {
        let generation = self
            .resources
            .get(key)
            .map(|r| r.generation + 1)
            .unwrap_or(1);
        self.resources.insert(
            key.to_owned(),
            Resource {
                generation,
                ..resource
            },
        );
    }

    /// Stored resources of a type, in id order.
    pub fn of_type<'a>(&'a self, type_key: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources
            .values()
            .filter(move |r| r.type_key == type_key)
    }
}
