//! Ensuring the Event Hubs resources Flux's notification-controller sends to, through Resource Manager —
//! what `az eventhubs namespace create`, `az eventhubs eventhub create` and `az eventhubs … authorization-rule
//! create` do in the Flux-on-Azure guide, as idempotent "ensure" calls on [`EventHubsArm`]:
//!
//! * [`EventHubsArm::ensure_namespace`]: validates the [`NamespaceSpec`] (Azure's naming rules) before sending
//!   anything; GETs the namespace; an existing one is never modified (its SKU and access model are the owner's
//!   choice) and comes back with `created: false` and human warnings about what would hurt Flux; a missing one
//!   is checked with `checkNameAvailability` (names are global) and created with the PUT `az` sends, waiting
//!   for the long-running operation through [`ArmClient`](azflux_core::arm::ArmClient)'s poller.
//! * [`EventHubsArm::ensure_event_hub`]: GET; PUT only when the hub is missing (never resized: a partition
//!   count cannot be decreased, so a differing count is a warning).
//! * [`EventHubsArm::ensure_authorization_rule`]: GET; PUT only when the rule is missing or its rights differ.
//!
//! Shapes: `specification/eventhub/resource-manager/Microsoft.EventHub/Eventhub/stable/2026-01-01/openapi.json`
//! (`Namespaces_CreateOrUpdate`: 200/201 + `Azure-AsyncOperation`, or 202 + `Location`, final state via the
//! resource; `EventHubs_CreateOrUpdate` and the authorization rules: synchronous 200) and its examples
//! `EHNameSpaceCreate.json`, `EHNameSpaceCheckNameAvailability.json`, `EHEventHubCreate.json`.

use crate::client::{AuthorizationRuleRef, EVENTHUB_ARM_API_VERSION, EventHubsArm};
use crate::error::{Error, Result};
use azflux_core::arm::LroProgress;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// The Microsoft.EventHub api-version of the namespace, event hub and authorization rule calls (the same GA
/// version as `listKeys`).
pub const NAMESPACES_API_VERSION: &str = EVENTHUB_ARM_API_VERSION;

/// How often an existing namespace still provisioning (left by an interrupted run) is re-read.
const PROVISIONING_POLL: Duration = Duration::from_secs(10);
/// How long [`EventHubsArm::ensure_namespace`] waits for such a namespace.
const PROVISIONING_MAX_WAIT: Duration = Duration::from_secs(30 * 60);

/// The pricing tier of a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NamespaceSku {
    /// Basic: only the `$Default` consumer group and one day of retention — enough for Flux notifications.
    Basic,
    /// Standard (the default, as `az eventhubs namespace create`).
    #[default]
    Standard,
    /// Premium (capacity in processing units: 1, 2, 4, 8 or 16).
    Premium,
}

impl NamespaceSku {
    /// The ARM name (`Basic`, `Standard`, `Premium`).
    pub fn as_str(&self) -> &'static str {
        match self {
            NamespaceSku::Basic => "Basic",
            NamespaceSku::Standard => "Standard",
            NamespaceSku::Premium => "Premium",
        }
    }

    /// Reads an ARM SKU name (case-insensitive).
    pub fn parse(name: &str) -> Option<Self> {
        [
            NamespaceSku::Basic,
            NamespaceSku::Standard,
            NamespaceSku::Premium,
        ]
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(name))
    }

    /// The longest retention a hub of this tier may have, in hours.
    pub fn max_retention_hours(&self) -> u32 {
        match self {
            NamespaceSku::Basic => 24,
            NamespaceSku::Standard => 7 * 24,
            NamespaceSku::Premium => 90 * 24,
        }
    }

    /// The most partitions a hub of this tier may have.
    pub fn max_partitions(&self) -> u32 {
        match self {
            NamespaceSku::Basic | NamespaceSku::Standard => 32,
            NamespaceSku::Premium => 100,
        }
    }
}

impl fmt::Display for NamespaceSku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A right of a shared access authorization rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccessRight {
    /// Receive.
    Listen,
    /// Send.
    Send,
    /// Manage (Azure requires `Listen` and `Send` with it).
    Manage,
}

impl AccessRight {
    /// The ARM name.
    pub fn as_str(&self) -> &'static str {
        match self {
            AccessRight::Listen => "Listen",
            AccessRight::Send => "Send",
            AccessRight::Manage => "Manage",
        }
    }

    /// Reads an ARM right name (case-insensitive).
    pub fn parse(name: &str) -> Option<Self> {
        [AccessRight::Listen, AccessRight::Send, AccessRight::Manage]
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(name))
    }

    /// Checks a set of rights the way the service does: not empty, and `Manage` only with `Listen` and
    /// `Send`. Returns them sorted, without duplicates.
    pub fn validate_set(rights: &[AccessRight]) -> Result<Vec<AccessRight>> {
        let mut set: Vec<AccessRight> = rights.to_vec();
        set.sort();
        set.dedup();
        if set.is_empty() {
            return Err(Error::InvalidInput {
                what: "authorization rule rights",
                why: "a rule needs at least one right (`Send` for Flux's notification-controller)"
                    .into(),
            });
        }
        if set.contains(&AccessRight::Manage)
            && !(set.contains(&AccessRight::Listen) && set.contains(&AccessRight::Send))
        {
            return Err(Error::InvalidInput {
                what: "authorization rule rights",
                why: format!(
                    "{:?} has `Manage` without both `Listen` and `Send`; Azure requires all three for a managing rule (Flux only needs `Send`)",
                    set.iter().map(AccessRight::as_str).collect::<Vec<_>>()
                ),
            });
        }
        Ok(set)
    }
}

impl fmt::Display for AccessRight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks an Event Hubs namespace name against Azure's rules: 6–50 characters; letters, digits and hyphens;
/// starts with a letter; ends with a letter or digit; does not end with `-sb` or `-mgmt` (reserved); is not a
/// GUID. Sources: the `Microsoft.EventHub/namespaces` template reference (character limit 6-50, alphanumerics
/// and hyphens, start with a letter, end with a letter or number) and the Service Bus "Create Namespace" REST
/// reference (the `-sb`/`-mgmt` suffixes and GUIDs). The 2026-01-01 openapi's `pattern`
/// (`^[a-zA-Z][a-zA-Z0-9-]{6,50}[a-zA-Z0-9]$`) contradicts its own `minLength: 6` and is not used.
pub fn validate_namespace_name(name: &str) -> Result<()> {
    let fail = |rule: &str| {
        Err(Error::InvalidName {
            what: "Event Hubs namespace",
            name: name.to_owned(),
            rule: rule.to_owned(),
        })
    };
    let len = name.chars().count();
    if !(6..=50).contains(&len) {
        return fail(&format!(
            "it must be 6 to 50 characters long (it has {len})"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return fail(&format!(
            "it may contain only letters, digits and hyphens (found `{bad}`)"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return fail("it must start with a letter");
    }
    if !name.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        return fail("it must end with a letter or a digit");
    }
    let lower = name.to_ascii_lowercase();
    if lower.ends_with("-sb") || lower.ends_with("-mgmt") {
        return fail("it must not end with `-sb` or `-mgmt` (reserved by Service Bus)");
    }
    if uuid_like(name) {
        return fail("it must not be a GUID");
    }
    Ok(())
}

fn uuid_like(name: &str) -> bool {
    let groups: Vec<&str> = name.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Checks an entity name (event hub, authorization rule): 1–256 characters; letters, digits, periods,
/// hyphens and underscores; starts and ends with a letter or digit (the `Microsoft.EventHub/namespaces/eventhubs`
/// template reference; the openapi has `minLength: 1`, `maxLength: 256`).
pub fn validate_entity_name(what: &'static str, name: &str) -> Result<()> {
    let fail = |rule: String| {
        Err(Error::InvalidName {
            what,
            name: name.to_owned(),
            rule,
        })
    };
    let len = name.chars().count();
    if !(1..=256).contains(&len) {
        return fail(format!(
            "it must be 1 to 256 characters long (it has {len})"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
    {
        return fail(format!(
            "it may contain only letters, digits, periods, hyphens and underscores (found `{bad}`)"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return fail("it must start and end with a letter or a digit".into());
    }
    Ok(())
}

fn validate_subscription(subscription_id: &str) -> Result<()> {
    if subscription_id.trim().is_empty() || subscription_id.contains(['/', '?', '#', ' ']) {
        return Err(Error::InvalidInput {
            what: "subscription id",
            why: format!(
                "`{subscription_id}` is empty or contains `/`, `?`, `#` or spaces; pass the subscription's id (a GUID)"
            ),
        });
    }
    Ok(())
}

fn validate_resource_group(name: &str) -> Result<()> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'));
    if name.is_empty() || name.chars().count() > 90 || name.ends_with('.') || !ok_chars {
        return Err(Error::InvalidName {
            what: "resource group",
            name: name.to_owned(),
            rule:
                "it must be 1 to 90 letters, digits, `-`, `_`, `.`, `(` or `)`, not ending in `.`"
                    .into(),
        });
    }
    Ok(())
}

/// What [`EventHubsArm::ensure_namespace`] creates (the arguments of `az eventhubs namespace create`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceSpec {
    /// Subscription id.
    pub subscription_id: String,
    /// Resource group (must exist).
    pub resource_group: String,
    /// The namespace name, global across Azure (see [`validate_namespace_name`]).
    pub name: String,
    /// Azure region (`westeurope`).
    pub location: String,
    /// Pricing tier (default Standard).
    pub sku: NamespaceSku,
    /// Throughput units (Basic/Standard, 1–40) or processing units (Premium: 1, 2, 4, 8, 16); default 1.
    pub capacity: u32,
    /// Create with local (SAS) authentication disabled — only Entra ID tokens are accepted (default false,
    /// as SAS is what the guide's `azure-eventhub` Provider with a connection string uses). Also what
    /// [`EventHubsArm::ensure_namespace`] compares an existing namespace against for its warnings.
    pub disable_local_auth: bool,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl NamespaceSpec {
    /// A Standard namespace with one throughput unit and local auth enabled.
    pub fn new(
        subscription_id: impl Into<String>,
        resource_group: impl Into<String>,
        name: impl Into<String>,
        location: impl Into<String>,
    ) -> Self {
        Self {
            subscription_id: subscription_id.into(),
            resource_group: resource_group.into(),
            name: name.into(),
            location: location.into(),
            sku: NamespaceSku::Standard,
            capacity: 1,
            disable_local_auth: false,
            tags: BTreeMap::new(),
        }
    }

    /// Checks every field against Azure's rules; the error names the rule and the offending value.
    pub fn validate(&self) -> Result<()> {
        validate_subscription(&self.subscription_id)?;
        validate_resource_group(&self.resource_group)?;
        validate_namespace_name(&self.name)?;
        let location_ok = !self.location.trim().is_empty()
            && self
                .location
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ' ');
        if !location_ok {
            return Err(Error::InvalidInput {
                what: "namespace location",
                why: format!(
                    "`{}` is not a region name; use one such as `westeurope` (`az account list-locations -o table`)",
                    self.location
                ),
            });
        }
        let capacity_ok = match self.sku {
            NamespaceSku::Basic | NamespaceSku::Standard => (1..=40).contains(&self.capacity),
            NamespaceSku::Premium => [1, 2, 4, 8, 16].contains(&self.capacity),
        };
        if !capacity_ok {
            return Err(Error::InvalidInput {
                what: "namespace capacity",
                why: format!(
                    "{} for the {} tier; use 1 to 40 throughput units for Basic/Standard, or 1, 2, 4, 8 or 16 processing units for Premium",
                    self.capacity, self.sku
                ),
            });
        }
        if self.tags.len() > 50 {
            return Err(Error::InvalidInput {
                what: "namespace tags",
                why: format!("{} tags; a resource can have at most 50", self.tags.len()),
            });
        }
        for (k, v) in &self.tags {
            if k.is_empty()
                || k.chars().count() > 512
                || k.contains(['<', '>', '%', '&', '\\', '?', '/'])
            {
                return Err(Error::InvalidInput {
                    what: "namespace tag name",
                    why: format!(
                        "`{k}`: tag names are 1 to 512 characters without `<`, `>`, `%`, `&`, `\\`, `?` or `/`"
                    ),
                });
            }
            if v.chars().count() > 256 {
                return Err(Error::InvalidInput {
                    what: "namespace tag value",
                    why: format!("the value of tag `{k}` is longer than 256 characters"),
                });
            }
        }
        Ok(())
    }

    /// The namespace's ARM id.
    pub fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.EventHub/namespaces/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }

    /// The PUT body `az eventhubs namespace create` sends for this spec.
    pub fn create_body(&self) -> Value {
        json!({
            "location": self.location,
            "sku": {"name": self.sku.as_str(), "tier": self.sku.as_str(), "capacity": self.capacity},
            "properties": {"disableLocalAuth": self.disable_local_auth},
            "tags": self.tags,
        })
    }
}

/// A namespace as ARM describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// ARM id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Region, as ARM spells it.
    pub location: String,
    /// `https://<name>.servicebus.windows.net:443/`.
    pub service_bus_endpoint: String,
    /// SKU name (`Basic`, `Standard`, `Premium`).
    pub sku: String,
    /// Whether local (SAS) authentication is disabled.
    pub disable_local_auth: bool,
    /// `provisioningState` (`Succeeded`, `Created`, `Failed`…).
    pub provisioning_state: Option<String>,
    /// `status` (`Active`, `Activating`, `Disabled`…).
    pub status: Option<String>,
}

impl Namespace {
    fn from_arm(v: &Value, resource: &str) -> Result<Self> {
        let text = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_owned);
        let required = |p: &str| {
            text(p).ok_or_else(|| {
                Error::Azure(azflux_core::Error::UnexpectedResponse {
                    resource: resource.to_owned(),
                    message: format!("the namespace body has no `{}`", p.trim_start_matches('/')),
                })
            })
        };
        Ok(Self {
            id: required("/id")?,
            name: required("/name")?,
            location: text("/location").unwrap_or_default(),
            service_bus_endpoint: text("/properties/serviceBusEndpoint").unwrap_or_default(),
            sku: text("/sku/name").unwrap_or_default(),
            disable_local_auth: v
                .pointer("/properties/disableLocalAuth")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            provisioning_state: text("/properties/provisioningState"),
            status: text("/properties/status"),
        })
    }

    /// The SKU, when it is one this crate knows.
    pub fn sku(&self) -> Option<NamespaceSku> {
        NamespaceSku::parse(&self.sku)
    }

    /// Whether provisioning has ended (`Succeeded`, `Failed`, `Canceled`, or no state reported).
    pub fn is_provisioned(&self) -> bool {
        self.provisioning_state.as_deref().is_none_or(|s| {
            ["succeeded", "failed", "canceled"].contains(&s.to_ascii_lowercase().as_str())
        })
    }
}

/// What [`EventHubsArm::ensure_namespace`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsuredNamespace {
    /// The namespace as ARM reports it now.
    pub namespace: Namespace,
    /// Whether this call created it.
    pub created: bool,
    /// What about an existing namespace is wrong for Flux and what to do (one sentence each); empty when
    /// all is well. An existing namespace is never modified.
    pub warnings: Vec<String>,
}

/// What [`EventHubsArm::ensure_event_hub`] creates (`az eventhubs eventhub create`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHubSpec {
    /// The hub name (see [`validate_entity_name`]).
    pub name: String,
    /// Partitions (default 2; Basic/Standard allow up to 32, Premium 100). Cannot be decreased later.
    pub partition_count: u32,
    /// Retention in hours (default 24; Basic allows 24, Standard 168, Premium 2160).
    pub retention_hours: u32,
}

impl EventHubSpec {
    /// Two partitions, one day of retention.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            partition_count: 2,
            retention_hours: 24,
        }
    }

    /// Checks the name and the tier-independent limits.
    pub fn validate(&self) -> Result<()> {
        validate_entity_name("Event Hub", &self.name)?;
        if !(1..=NamespaceSku::Premium.max_partitions()).contains(&self.partition_count) {
            return Err(Error::InvalidInput {
                what: "Event Hub partition count",
                why: format!(
                    "{} is out of range; use 1 to 32 (Basic/Standard) or up to 100 (Premium); 2 is plenty for Flux notifications",
                    self.partition_count
                ),
            });
        }
        if !(1..=NamespaceSku::Premium.max_retention_hours()).contains(&self.retention_hours) {
            return Err(Error::InvalidInput {
                what: "Event Hub retention",
                why: format!(
                    "{} hours is out of range; use 1 to 24 (Basic), 168 (Standard) or 2160 (Premium)",
                    self.retention_hours
                ),
            });
        }
        Ok(())
    }

    /// The PUT body (`retentionDescription`, which the 2026-01-01 api-version accepts alongside the older
    /// `messageRetentionInDays`; see `EHEventHubCreate.json`).
    pub fn create_body(&self) -> Value {
        json!({"properties": {
            "partitionCount": self.partition_count,
            "retentionDescription": {"cleanupPolicy": "Delete", "retentionTimeInHours": self.retention_hours},
        }})
    }

    fn check_tier(&self, sku: NamespaceSku, namespace: &str) -> Result<()> {
        if self.partition_count > sku.max_partitions() {
            return Err(Error::InvalidInput {
                what: "Event Hub partition count",
                why: format!(
                    "{} partitions exceed the {} tier's {} in namespace `{namespace}`; lower the count",
                    self.partition_count,
                    sku,
                    sku.max_partitions()
                ),
            });
        }
        if self.retention_hours > sku.max_retention_hours() {
            return Err(Error::InvalidInput {
                what: "Event Hub retention",
                why: format!(
                    "{} hours exceed the {} tier's {} in namespace `{namespace}`; lower the retention",
                    self.retention_hours,
                    sku,
                    sku.max_retention_hours()
                ),
            });
        }
        Ok(())
    }
}

/// An event hub as ARM describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHub {
    /// ARM id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Partitions.
    pub partition_count: u32,
    /// `status` (`Active`…).
    pub status: Option<String>,
}

impl EventHub {
    fn from_arm(v: &Value, resource: &str) -> Result<Self> {
        let text = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_owned);
        let missing = |what: &str| {
            Error::Azure(azflux_core::Error::UnexpectedResponse {
                resource: resource.to_owned(),
                message: format!("the event hub body has no `{what}`"),
            })
        };
        Ok(Self {
            id: text("/id").ok_or_else(|| missing("id"))?,
            name: text("/name").ok_or_else(|| missing("name"))?,
            partition_count: v
                .pointer("/properties/partitionCount")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
            status: text("/properties/status"),
        })
    }
}

/// What [`EventHubsArm::ensure_event_hub`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsuredEventHub {
    /// The hub as ARM reports it now.
    pub hub: EventHub,
    /// Whether this call created it.
    pub created: bool,
    /// What about an existing hub differs from the spec (it is never modified).
    pub warnings: Vec<String>,
}

fn namespace_warnings(spec: &NamespaceSpec, ns: &Namespace) -> Vec<String> {
    let mut warnings = Vec::new();
    let name = &ns.name;
    if !spec.disable_local_auth && ns.disable_local_auth {
        warnings.push(format!(
            "namespace `{name}` has local (SAS) authentication disabled: SAS tokens and connection strings will be refused; use the Entra ID (workload identity) Provider with the `Azure Event Hubs Data Sender` role, or enable local auth (`az eventhubs namespace update --disable-local-auth false`)"
        ));
    }
    if spec.disable_local_auth && !ns.disable_local_auth {
        warnings.push(format!(
            "namespace `{name}` accepts local (SAS) authentication although the spec asks for it disabled; Flux's Entra ID Provider works either way, disable it with `az eventhubs namespace update --disable-local-auth true` if SAS keys must not work"
        ));
    }
    match ns.sku() {
        Some(NamespaceSku::Basic) if spec.sku != NamespaceSku::Basic => warnings.push(format!(
            "namespace `{name}` is on the Basic tier (only the `$Default` consumer group and 1 day of retention); fine for Flux notifications, upgrade to Standard (`az eventhubs namespace update --sku Standard`) if other consumers need their own consumer group"
        )),
        Some(sku) if sku != spec.sku => warnings.push(format!(
            "namespace `{name}` is on the {sku} tier, not {} as asked; it was left as it is",
            spec.sku
        )),
        None => warnings.push(format!(
            "namespace `{name}` has an unknown SKU `{}`; check it in the portal",
            ns.sku
        )),
        _ => {}
    }
    if let Some(status) = ns.status.as_deref()
        && !status.eq_ignore_ascii_case("Active")
    {
        warnings.push(format!(
            "namespace `{name}` has status `{status}`, not `Active`: events will be refused until it is active; check its state in the portal or `az eventhubs namespace show`"
        ));
    }
    if let Some(state) = ns.provisioning_state.as_deref()
        && ["failed", "canceled"].contains(&state.to_ascii_lowercase().as_str())
    {
        warnings.push(format!(
            "namespace `{name}` has provisioningState `{state}`: delete it (`az eventhubs namespace delete`) and run again"
        ));
    }
    let norm = |l: &str| l.replace(' ', "").to_ascii_lowercase();
    if !ns.location.is_empty() && norm(&ns.location) != norm(&spec.location) {
        warnings.push(format!(
            "namespace `{name}` is in `{}`, not `{}` as asked; it was left there (a namespace cannot move)",
            ns.location, spec.location
        ));
    }
    warnings
}

fn is_name_taken(e: &azflux_core::Error) -> bool {
    matches!(
        e,
        azflux_core::Error::BadRequest(_) | azflux_core::Error::Conflict(_)
    ) && e.service_error().is_some_and(|s| {
        s.message
            .to_ascii_lowercase()
            .contains("name is not available")
    })
}

impl EventHubsArm {
    /// GETs namespace `name`; `None` when it does not exist there. The name is checked first.
    pub async fn get_namespace(
        &self,
        subscription_id: &str,
        resource_group: &str,
        name: &str,
    ) -> Result<Option<Namespace>> {
        validate_subscription(subscription_id)?;
        validate_resource_group(resource_group)?;
        validate_namespace_name(name)?;
        let id = NamespaceSpec::new(subscription_id, resource_group, name, "").resource_id();
        self.read_namespace(&id).await
    }

    async fn read_namespace(&self, id: &str) -> Result<Option<Namespace>> {
        match self.arm().get(id, NAMESPACES_API_VERSION).await? {
            None => Ok(None),
            Some(r) => Namespace::from_arm(&r.body, &format!("GET {id}")).map(Some),
        }
    }

    /// Ensures the namespace exists (see the [module docs](crate::arm)): an existing namespace is returned
    /// unmodified with `created: false` and warnings (local auth disabled while SAS is planned, Basic tier,
    /// status not `Active`, another tier or region than asked); one still provisioning (an interrupted run) is
    /// waited for, not PUT again; a missing one is checked with `checkNameAvailability` — a name taken
    /// elsewhere is [`Error::NamespaceNameTaken`] — then created, `progress` seeing each poll.
    pub async fn ensure_namespace(
        &self,
        spec: &NamespaceSpec,
        progress: &(dyn Fn(&LroProgress) + Send + Sync),
    ) -> Result<EnsuredNamespace> {
        spec.validate()?;
        let id = spec.resource_id();
        if let Some(existing) = self.wait_provisioned(&id, progress).await? {
            let warnings = namespace_warnings(spec, &existing);
            return Ok(EnsuredNamespace {
                namespace: existing,
                created: false,
                warnings,
            });
        }
        self.check_name_available(spec).await?;
        let response = self
            .arm()
            .put_and_wait(&id, NAMESPACES_API_VERSION, &spec.create_body(), progress)
            .await
            .map_err(|e| {
                if is_name_taken(&e) {
                    Error::NamespaceNameTaken {
                        name: spec.name.clone(),
                        message: e
                            .service_error()
                            .map(|s| s.message.clone())
                            .unwrap_or_default(),
                    }
                } else {
                    Error::Azure(e)
                }
            })?;
        let namespace = Namespace::from_arm(&response.body, &format!("PUT {id}"))?;
        let warnings = namespace_warnings(spec, &namespace);
        Ok(EnsuredNamespace {
            namespace,
            created: true,
            warnings,
        })
    }

    /// GETs the namespace; while it is still provisioning (created by an interrupted run), re-reads it on the
    /// pipeline's clock until its state is terminal or it is gone.
    async fn wait_provisioned(
        &self,
        id: &str,
        progress: &(dyn Fn(&LroProgress) + Send + Sync),
    ) -> Result<Option<Namespace>> {
        let clock = self.arm().pipeline().clock().clone();
        let started = clock.now();
        let mut polls = 0u32;
        loop {
            let Some(ns) = self.read_namespace(id).await? else {
                return Ok(None);
            };
            if ns.is_provisioned() {
                return Ok(Some(ns));
            }
            let waited = Duration::try_from(clock.now() - started).unwrap_or_default();
            let status = ns.provisioning_state.clone().unwrap_or_default();
            if waited >= PROVISIONING_MAX_WAIT {
                return Err(Error::Azure(azflux_core::Error::OperationTimedOut {
                    resource: format!("GET {id}"),
                    waited,
                    last_status: status,
                }));
            }
            if polls > 0 {
                progress(&LroProgress {
                    resource: format!("GET {id}"),
                    status,
                    percent_complete: None,
                    polls,
                    waited,
                });
            }
            clock.sleep(PROVISIONING_POLL).await;
            polls += 1;
        }
    }

    /// `POST /subscriptions/{sub}/providers/Microsoft.EventHub/checkNameAvailability` `{"name": …}` →
    /// `{"nameAvailable", "reason", "message"}` (`EHNameSpaceCheckNameAvailability.json`).
    async fn check_name_available(&self, spec: &NamespaceSpec) -> Result<()> {
        let provider = format!(
            "/subscriptions/{}/providers/Microsoft.EventHub",
            spec.subscription_id
        );
        let answer = self
            .arm()
            .post_and_wait(
                &provider,
                "checkNameAvailability",
                NAMESPACES_API_VERSION,
                Some(&json!({"name": spec.name})),
                &|_| {},
            )
            .await?;
        let body = &answer.body;
        if body
            .get("nameAvailable")
            .and_then(Value::as_bool)
            .unwrap_or(true)
        {
            return Ok(());
        }
        let reason = body
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("Unknown")
            .to_owned();
        let message = body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Err(match reason.as_str() {
            "NameInUse" | "NameInLockdown" => Error::NamespaceNameTaken {
                name: spec.name.clone(),
                message: if message.is_empty() { reason } else { message },
            },
            _ => Error::NamespaceNameUnavailable {
                name: spec.name.clone(),
                reason,
                message,
            },
        })
    }

    /// Ensures hub `hub.name` exists in the namespace: GET; when it exists nothing is sent (a differing
    /// partition count is a warning: partitions cannot be decreased, and only Premium/Dedicated can add
    /// some); when it is missing, the namespace is read (missing → [`Error::NamespaceNotFound`]; the hub's
    /// partitions and retention are checked against its tier) and the hub is PUT (synchronous).
    pub async fn ensure_event_hub(
        &self,
        namespace: &NamespaceSpec,
        hub: &EventHubSpec,
    ) -> Result<EnsuredEventHub> {
        namespace.validate()?;
        hub.validate()?;
        let ns_id = namespace.resource_id();
        let id = format!("{ns_id}/eventhubs/{}", hub.name);
        if let Some(existing) = self.arm().get(&id, NAMESPACES_API_VERSION).await? {
            let found = EventHub::from_arm(&existing.body, &format!("GET {id}"))?;
            let mut warnings = Vec::new();
            if found.partition_count != hub.partition_count {
                warnings.push(format!(
                    "event hub `{}` has {} partitions, not {} as asked; it was left as it is (a partition count cannot be decreased)",
                    found.name, found.partition_count, hub.partition_count
                ));
            }
            return Ok(EnsuredEventHub {
                hub: found,
                created: false,
                warnings,
            });
        }
        let not_found = || Error::NamespaceNotFound {
            subscription_id: namespace.subscription_id.clone(),
            resource_group: namespace.resource_group.clone(),
            name: namespace.name.clone(),
        };
        let ns = self.read_namespace(&ns_id).await?.ok_or_else(not_found)?;
        if let Some(sku) = ns.sku() {
            hub.check_tier(sku, &ns.name)?;
        }
        let response = self
            .arm()
            .put_and_wait(&id, NAMESPACES_API_VERSION, &hub.create_body(), &|_| {})
            .await
            .map_err(|e| match e {
                azflux_core::Error::NotFound(_) => not_found(),
                e => Error::Azure(e),
            })?;
        Ok(EnsuredEventHub {
            hub: EventHub::from_arm(&response.body, &format!("PUT {id}"))?,
            created: true,
            warnings: Vec::new(),
        })
    }

    /// Ensures a shared access authorization rule (namespace- or hub-level) with exactly `rights`
    /// (`Manage` needs `Listen` and `Send`): GET; PUT `{"properties":{"rights":[…]}}` only when the rule is
    /// missing or its rights differ. Returns `true` when a PUT was sent (the rule was created, or its rights
    /// changed — its keys stay), `false` when it already had these rights.
    pub async fn ensure_authorization_rule(
        &self,
        rule: &AuthorizationRuleRef,
        rights: &[AccessRight],
    ) -> Result<bool> {
        let rights = AccessRight::validate_set(rights)?;
        validate_entity_name("authorization rule", &rule.rule)?;
        if let Some(hub) = &rule.hub {
            validate_entity_name("Event Hub", hub)?;
        }
        validate_namespace_name(&rule.namespace)?;
        let id = rule.id()?;
        if let Some(existing) = self.arm().get(&id, NAMESPACES_API_VERSION).await? {
            let mut current: Vec<AccessRight> = existing
                .body
                .pointer("/properties/rights")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|r| r.as_str().and_then(AccessRight::parse))
                        .collect()
                })
                .unwrap_or_default();
            current.sort();
            current.dedup();
            if current == rights {
                return Ok(false);
            }
        }
        let body = json!({"properties": {"rights": rights.iter().map(AccessRight::as_str).collect::<Vec<_>>()}});
        self.arm()
            .put_and_wait(&id, NAMESPACES_API_VERSION, &body, &|_| {})
            .await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_body_is_what_az_sends() {
        let mut spec = NamespaceSpec::new("s", "rg", "flux-events", "westeurope");
        spec.tags.insert("owner".into(), "flux".into());
        assert_eq!(
            spec.create_body(),
            json!({"location": "westeurope", "sku": {"name": "Standard", "tier": "Standard", "capacity": 1},
                   "properties": {"disableLocalAuth": false}, "tags": {"owner": "flux"}})
        );
        assert_eq!(
            spec.resource_id(),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/flux-events"
        );
    }

    #[test]
    fn rights_sets() {
        use AccessRight::*;
        assert_eq!(AccessRight::validate_set(&[Send, Send]).unwrap(), [Send]);
        assert_eq!(
            AccessRight::validate_set(&[Manage, Send, Listen]).unwrap(),
            [Listen, Send, Manage]
        );
        assert!(AccessRight::validate_set(&[Manage, Send]).is_err());
        assert!(AccessRight::validate_set(&[]).is_err());
        assert_eq!(AccessRight::parse("listen"), Some(Listen));
    }
}
