//! [`FakeEventHubs`]: a stateful fake of the Event Hubs REST send endpoint and of the ARM `listKeys` actions,
//! on azflux-core's fake cloud.
//!
//! * Data plane (`*.servicebus.windows.net`, route `eventhubs.send`): `POST /<hub>/messages` (also
//!   `/<hub>/partitions/<id>/messages` and `/<hub>/publishers/<id>/messages`). SAS tokens are verified like
//!   the service does — key name, signature (with the rule's primary or secondary key), expiry on the
//!   cloud's clock, the token's `sr` covering the hub — and the rule must have `Send` (or `Manage`). Entra
//!   ID tokens must be issued by the fake Entra ID for `https://eventhubs.azure.net`. Refusals are `401`
//!   with Service Bus's XML body `<Error><Code>401</Code><Detail>…</Detail></Error>` (content type
//!   `application/xml; charset=utf-8`), an unknown hub is `404` the same way, and a stored event is
//!   `201` with an empty body. Received events are kept per hub ([`FakeEventHubs::events`]).
//! * ARM (`management.azure.com`, routes `eventhubs.namespace.listkeys`, `eventhubs.hub.listkeys`):
//!   `POST …/namespaces/{ns}[/eventhubs/{hub}]/authorizationRules/{rule}/listKeys` answers `AccessKeys`
//!   whose connection strings point at the fake namespace's real host name (the routing transport
//!   brings them back here).
//!
//! * ARM management (routes `eventhubs.arm.*`, see [below](#arm-management)): namespaces, event
//!   hubs and authorization rules can be created, read and deleted through Resource Manager too.
//!
//! Namespaces, hubs and rules are created by the test ([`FakeEventHubs::add_namespace`],
//! [`add_hub`](FakeEventHubs::add_hub), [`add_namespace_rule`](FakeEventHubs::add_namespace_rule),
//! [`add_hub_rule`](FakeEventHubs::add_hub_rule)) or through ARM — one model: `listKeys`, the data plane and
//! SAS verification work the same for both.
//!
//! # ARM management
//!
//! All on the shared ARM server, each through `FakeCloud::arm_call` (api-version, ARM token, throttling,
//! injected faults), errors in ARM's `{"error":{"code","message"}}` shape:
//!
//! | route | request | answer |
//! |---|---|---|
//! | `eventhubs.arm.checkname` | `POST /subscriptions/{s}/providers/Microsoft.EventHub/checkNameAvailability` `{"name"}` | `{"nameAvailable","reason","message"}`: `InvalidName`, `NameInUse` (any subscription) |
//! | `eventhubs.arm.namespace.put` | `PUT …/namespaces/{ns}` | create: `201` + `Azure-AsyncOperation` (`…/namespaces/{ns}/operationresults/{id}`), `Retry-After: 10`, body `provisioningState: Created`, `status: Activating`; update (same place): `200` |
//! | `eventhubs.arm.namespace.operation` | `GET …/namespaces/{ns}/operationresults/{id}` | `InProgress` until the create duration has passed on the cloud's clock, then `Succeeded` (or `Failed` with the injected error) |
//! | `eventhubs.arm.namespace.get` / `.delete` | `GET` / `DELETE …/namespaces/{ns}` | the namespace / `200`, `204` when absent (deletion is immediate) |
//! | `eventhubs.arm.hub.{get,put,delete}` | `…/namespaces/{ns}/eventhubs/{hub}` | synchronous `200` |
//! | `eventhubs.arm.rule.{get,put,delete}`, `eventhubs.arm.hubrule.{get,put,delete}` | `…/authorizationRules/{rule}` (namespace or hub) | synchronous `200` |
//!
//! The LRO rule: a namespace created by PUT is `Created`/`Activating` for [`DEFAULT_CREATE_DURATION`] (or what
//! [`FakeEventHubs::set_namespace_create_duration`] set) of the cloud's clock, then `Succeeded`/`Active` with a
//! `RootManageSharedAccessKey` rule (Listen, Send, Manage) and fresh keys, as Azure creates. A failure armed by
//! [`FakeEventHubs::fail_next_namespace_create`] ends the next creation `Failed` and removes the namespace.
//!
//! Strictness: a missing or empty api-version → `400 MissingApiVersionParameter`; a namespace name breaking the
//! rules → `400 BadRequest` "The specified service namespace is invalid." (observed, Azure/azure-service-bus
//! #269); a name that exists in another resource group or subscription → `400 BadRequest` `The specified name
//! is not available. For more information visit https://aka.ms/eventhubsarmexceptions.` (observed: Azure
//! answers 400, not 409 — hashicorp/terraform-provider-azurerm #12020, Azure/azure-sdk-for-python #18884); no
//! `location` → `400 LocationRequired`; an unknown SKU, an out-of-range capacity, partition count or retention
//! for the tier, a partition count decrease, rights without a valid value or `Manage` without `Listen` and
//! `Send` → `400 BadRequest`; a body that is not JSON → `400 InvalidRequestContent`; an unknown namespace →
//! `404 ResourceNotFound` (`The Resource 'Microsoft.EventHub/namespaces/{ns}' under resource group '{rg}' was not found…`); a hub or rule under a missing namespace → `404 ParentResourceNotFound`; an unknown hub or rule
//! → `404 NotFound`. Messages marked `[inf]` in the source are inferred, not observed.

use crate::client::AccessKeys;
use crate::error::{Error, Result};
use crate::event::FluxEvent;
use crate::sas::{ParsedSasToken, SAS_PREFIX, SasKey, SasVerifier};
use azflux_core::fake::FakeCloud;
use azflux_core::fake::arm::arm_error;
use azflux_core::fake::entra::AuthFailure;
use azflux_core::fake::request::FakeRequest;
use azflux_core::fake::wiremock::ResponseTemplate;
use azflux_core::http::HostRule;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use time::OffsetDateTime;

mod management;
pub use management::DEFAULT_CREATE_DURATION;

/// The Event Hubs Entra ID audience the fake accepts.
pub const EVENTHUBS_AUDIENCE: &str = "https://eventhubs.azure.net";

/// An authorization rule's right (the crate's [`AccessRight`](crate::AccessRight)).
pub use crate::arm::AccessRight as Right;

/// Who sent a stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sender {
    /// A SAS token signed with this rule's key.
    Sas {
        /// The rule (`skn`).
        rule: String,
    },
    /// An Entra ID token of this principal.
    Aad {
        /// Object id.
        object_id: String,
        /// Application id.
        app_id: String,
    },
}

/// An event the fake stored.
#[derive(Debug, Clone)]
pub struct ReceivedEvent {
    /// The body as sent.
    pub body: Vec<u8>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `BrokerProperties` (JSON), if sent.
    pub broker_properties: Option<String>,
    /// The partition of `/partitions/<id>/messages`.
    pub partition: Option<String>,
    /// Who sent it.
    pub sender: Sender,
    /// When, on the cloud's clock.
    pub received_at: OffsetDateTime,
}

impl ReceivedEvent {
    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as a Flux event, if it is one.
    pub fn flux_event(&self) -> Option<FluxEvent> {
        serde_json::from_slice(&self.body).ok()
    }
}

#[derive(Clone)]
struct Rule {
    name: String,
    rights: Vec<Right>,
    primary: SecretString,
    secondary: SecretString,
}

impl Rule {
    fn new(name: &str, rights: &[Right]) -> Self {
        Self {
            name: name.to_owned(),
            rights: rights.to_vec(),
            primary: new_key(),
            secondary: new_key(),
        }
    }

    fn can_send(&self) -> bool {
        self.rights
            .iter()
            .any(|r| matches!(r, Right::Send | Right::Manage))
    }

    fn access_keys(&self, host: &str, hub: Option<&str>) -> AccessKeys {
        let cs = |key: &SecretString| {
            let mut s = format!(
                "Endpoint=sb://{host}/;SharedAccessKeyName={};SharedAccessKey={}",
                self.name,
                key.expose_secret()
            );
            if let Some(hub) = hub {
                s.push_str(&format!(";EntityPath={hub}"));
            }
            SecretString::from(s)
        };
        AccessKeys {
            key_name: self.name.clone(),
            primary_connection_string: cs(&self.primary),
            secondary_connection_string: cs(&self.secondary),
            primary_key: self.primary.clone(),
            secondary_key: self.secondary.clone(),
        }
    }
}

fn new_key() -> SecretString {
    let bytes: [u8; 32] = rand::random();
    SecretString::from(base64::engine::general_purpose::STANDARD.encode(bytes))
}

struct Hub {
    name: String,
    rules: BTreeMap<String, Rule>,
    events: Vec<ReceivedEvent>,
    partition_count: u32,
    retention_hours: u32,
    created_at: OffsetDateTime,
}

impl Hub {
    fn new(name: &str, now: OffsetDateTime) -> Self {
        Self {
            name: name.to_owned(),
            rules: BTreeMap::new(),
            events: Vec::new(),
            partition_count: 2,
            retention_hours: 24,
            created_at: now,
        }
    }
}

struct Namespace {
    name: String,
    subscription_id: String,
    resource_group: String,
    rules: BTreeMap<String, Rule>,
    hubs: BTreeMap<String, Hub>,
    settings: NamespaceSettings,
    created_at: OffsetDateTime,
    /// The id of the create operation still running, if any.
    creating: Option<String>,
}

impl Namespace {
    fn new(subscription_id: &str, resource_group: &str, name: &str, now: OffsetDateTime) -> Self {
        Self {
            name: name.to_owned(),
            subscription_id: subscription_id.to_owned(),
            resource_group: resource_group.to_owned(),
            rules: BTreeMap::new(),
            hubs: BTreeMap::new(),
            settings: NamespaceSettings::default(),
            created_at: now,
            creating: None,
        }
    }

    fn is_at(&self, subscription_id: &str, resource_group: &str) -> bool {
        self.subscription_id.eq_ignore_ascii_case(subscription_id)
            && self.resource_group.eq_ignore_ascii_case(resource_group)
    }
}

/// The ARM settings of a fake namespace, for tests to shape an existing one
/// ([`FakeEventHubs::update_namespace`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NamespaceSettings {
    /// Region (default `westeurope`).
    pub location: String,
    /// SKU name (default `Standard`).
    pub sku: String,
    /// Throughput or processing units (default 1).
    pub capacity: u32,
    /// Local (SAS) authentication disabled: the data plane then refuses SAS tokens (default false).
    pub disable_local_auth: bool,
    /// `properties.status` (default `Active`).
    pub status: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl Default for NamespaceSettings {
    fn default() -> Self {
        Self {
            location: "westeurope".into(),
            sku: "Standard".into(),
            capacity: 1,
            disable_local_auth: false,
            status: "Active".into(),
            tags: BTreeMap::new(),
        }
    }
}

struct Operation {
    namespace: String,
    started_at: OffsetDateTime,
    ready_at: OffsetDateTime,
    failure: Option<(String, String)>,
}

struct State {
    namespaces: BTreeMap<String, Namespace>,
    operations: BTreeMap<String, Operation>,
    create_duration: std::time::Duration,
    next_failure: Option<(String, String)>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            namespaces: BTreeMap::new(),
            operations: BTreeMap::new(),
            create_duration: management::DEFAULT_CREATE_DURATION,
            next_failure: None,
        }
    }
}

/// The fake. Cloning shares it.
#[derive(Clone)]
pub struct FakeEventHubs {
    cloud: FakeCloud,
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for FakeEventHubs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.state().namespaces.keys().cloned().collect();
        f.debug_struct("FakeEventHubs")
            .field("namespaces", &names)
            .finish_non_exhaustive()
    }
}

fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn not_found(what: &str, name: &str) -> Error {
    Error::InvalidInput {
        what: "fake Event Hubs setup",
        why: format!("{what} `{name}` does not exist; add it first"),
    }
}

impl FakeEventHubs {
    /// Mounts the data plane on the cloud's `*.servicebus.windows.net` server and `listKeys` on its ARM
    /// server.
    pub async fn mount(cloud: &FakeCloud) -> Self {
        let this = Self {
            cloud: cloud.clone(),
            state: Arc::default(),
        };
        let suffix = format!(".{}", cloud.cloud().service_bus_suffix);
        let data = cloud.server_for(HostRule::Suffix(suffix)).await;
        let me = this.clone();
        cloud
            .mount(
                &data,
                "eventhubs.send",
                "POST",
                r"^/[^/]+(/partitions/[^/]+|/publishers/[^/]+)?/messages$",
                move |r| me.send(r),
            )
            .await;
        let arm = cloud.arm_server().await;
        let ns = r"(?i)^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/Microsoft\.EventHub/namespaces/[^/]+";
        let me = this.clone();
        cloud
            .mount(
                &arm,
                "eventhubs.namespace.listkeys",
                "POST",
                &format!("{ns}/authorizationRules/[^/]+/listKeys$"),
                move |r| me.list_keys(r),
            )
            .await;
        let me = this.clone();
        cloud
            .mount(
                &arm,
                "eventhubs.hub.listkeys",
                "POST",
                &format!("{ns}/eventhubs/[^/]+/authorizationRules/[^/]+/listKeys$"),
                move |r| me.list_keys(r),
            )
            .await;
        management::mount(&this, cloud, &arm).await;
        this
    }

    /// The model, with namespace creations that have finished on the cloud's clock settled.
    fn state(&self) -> MutexGuard<'_, State> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        management::settle(&mut state, self.cloud.clock().now());
        state
    }

    /// The host of namespace `name` (`<name>.servicebus.windows.net`).
    pub fn namespace_host(&self, name: &str) -> String {
        self.cloud.cloud().event_hubs_host(&key(name))
    }

    /// Creates namespace `name` in `resource_group` of the sandbox subscription (no-op if it exists).
    /// Returns its host.
    pub fn add_namespace(&self, resource_group: &str, name: &str) -> String {
        let subscription_id = self.cloud.sandbox().subscription_id.clone();
        self.add_namespace_in(&subscription_id, resource_group, name)
    }

    /// Creates namespace `name` in `resource_group` of `subscription_id` (no-op if it exists anywhere):
    /// provisioned, Standard, `westeurope`, local auth enabled, and — unlike a namespace created through
    /// ARM — without any authorization rule. Returns its host.
    pub fn add_namespace_in(
        &self,
        subscription_id: &str,
        resource_group: &str,
        name: &str,
    ) -> String {
        let now = self.cloud.clock().now();
        self.state()
            .namespaces
            .entry(key(name))
            .or_insert_with(|| Namespace::new(subscription_id, resource_group, name, now));
        self.namespace_host(name)
    }

    /// Changes the ARM settings of namespace `name` (to give an existing namespace a setting a test needs).
    pub fn update_namespace(
        &self,
        name: &str,
        change: impl FnOnce(&mut NamespaceSettings),
    ) -> Result<()> {
        let mut state = self.state();
        let ns = state
            .namespaces
            .get_mut(&key(name))
            .ok_or_else(|| not_found("namespace", name))?;
        change(&mut ns.settings);
        Ok(())
    }

    /// Creates hub `hub` in namespace `namespace` (no-op if it exists).
    pub fn add_hub(&self, namespace: &str, hub: &str) -> Result<()> {
        let mut state = self.state();
        let ns = state
            .namespaces
            .get_mut(&key(namespace))
            .ok_or_else(|| not_found("namespace", namespace))?;
        let now = self.cloud.clock().now();
        ns.hubs
            .entry(key(hub))
            .or_insert_with(|| Hub::new(hub, now));
        Ok(())
    }

    /// Creates (or replaces, with new keys) namespace rule `rule` with `rights`; returns its keys.
    pub fn add_namespace_rule(
        &self,
        namespace: &str,
        rule: &str,
        rights: &[Right],
    ) -> Result<AccessKeys> {
        let host = self.namespace_host(namespace);
        let mut state = self.state();
        let ns = state
            .namespaces
            .get_mut(&key(namespace))
            .ok_or_else(|| not_found("namespace", namespace))?;
        let r = Rule::new(rule, rights);
        let keys = r.access_keys(&host, None);
        ns.rules.insert(key(rule), r);
        Ok(keys)
    }

    /// Creates (or replaces, with new keys) rule `rule` of hub `hub` with `rights`; returns its keys (the
    /// connection strings carry `EntityPath`).
    pub fn add_hub_rule(
        &self,
        namespace: &str,
        hub: &str,
        rule: &str,
        rights: &[Right],
    ) -> Result<AccessKeys> {
        let host = self.namespace_host(namespace);
        let mut state = self.state();
        let ns = state
            .namespaces
            .get_mut(&key(namespace))
            .ok_or_else(|| not_found("namespace", namespace))?;
        let h = ns
            .hubs
            .get_mut(&key(hub))
            .ok_or_else(|| not_found("Event Hub", hub))?;
        let r = Rule::new(rule, rights);
        let keys = r.access_keys(&host, Some(&h.name));
        h.rules.insert(key(rule), r);
        Ok(keys)
    }

    /// The events hub `hub` of `namespace` received, oldest first (empty if there is no such hub).
    pub fn events(&self, namespace: &str, hub: &str) -> Vec<ReceivedEvent> {
        self.state()
            .namespaces
            .get(&key(namespace))
            .and_then(|ns| ns.hubs.get(&key(hub)))
            .map(|h| h.events.clone())
            .unwrap_or_default()
    }

    fn send(&self, r: &FakeRequest<'_>) -> ResponseTemplate {
        let host = r.host();
        let suffix = format!(".{}", self.cloud.cloud().service_bus_suffix);
        let ns_name = host.strip_suffix(&suffix).unwrap_or(&host).to_owned();
        let mut segments = r.path().trim_start_matches('/').split('/');
        let hub_name = segments.next().unwrap_or_default().to_owned();
        let partition = match (segments.next(), segments.next()) {
            (Some("partitions"), Some(id)) => Some(id.to_owned()),
            _ => None,
        };
        let entity = format!("sb://{host}/{hub_name}");
        let now = self.cloud.clock().now();
        let mut state = self.state();
        let Some(ns) = state.namespaces.get_mut(&key(&ns_name)) else {
            return sb_error(
                404,
                &format!("Namespace '{ns_name}' could not be found."),
                &host,
                now,
            );
        };
        let hub_key = key(&hub_name);
        if ns.settings.disable_local_auth
            && r.header("authorization")
                .is_some_and(|h| h.starts_with(SAS_PREFIX))
        {
            // [inf] the wording of the service's refusal when local auth is disabled
            return sb_error(
                401,
                &format!(
                    "LocalAuthDisabled: Local authentication methods are disabled for namespace '{ns_name}'. Use Microsoft Entra ID. Resource: 'sb://{host}/{hub_name}'."
                ),
                &host,
                now,
            );
        }
        let sender = {
            let hub_rules = ns.hubs.get(&hub_key).map(|h| &h.rules);
            match authorize(
                r,
                &self.cloud,
                &ns.rules,
                hub_rules,
                &format!("https://{host}/{hub_name}"),
            ) {
                Ok(sender) => sender,
                Err(detail) => {
                    let detail = detail.replace("{entity}", &entity);
                    return sb_error(401, &detail, &host, now);
                }
            }
        };
        let Some(hub) = ns.hubs.get_mut(&hub_key) else {
            return sb_error(
                404,
                &format!(
                    "The messaging entity '{entity}' could not be found. To know more visit https://aka.ms/sbResourceMgrExceptions."
                ),
                &host,
                now,
            );
        };
        hub.events.push(ReceivedEvent {
            body: r.body().to_vec(),
            content_type: r.header("content-type"),
            broker_properties: r.header("brokerproperties"),
            partition,
            sender,
            received_at: now,
        });
        ResponseTemplate::new(201)
            .insert_header("content-type", "application/xml; charset=utf-8")
            .insert_header("strict-transport-security", "max-age=31536000")
    }

    fn list_keys(&self, r: &FakeRequest<'_>) -> ResponseTemplate {
        let call = match self.cloud.arm_call(r) {
            Ok(c) => c,
            Err(e) => return e,
        };
        let segments: Vec<&str> = r.path().split('/').collect();
        let get = |i: usize| segments.get(i).copied().unwrap_or_default();
        let (sub, rg, ns_name) = (get(2), get(4), get(8));
        let (hub_name, rule_name) = if get(9).eq_ignore_ascii_case("eventhubs") {
            (Some(get(10)), get(12))
        } else {
            (None, get(10))
        };
        let host = self.namespace_host(ns_name);
        let state = self.state();
        let Some(ns) = state.namespaces.get(&key(ns_name)).filter(|ns| {
            ns.subscription_id.eq_ignore_ascii_case(sub)
                && ns.resource_group.eq_ignore_ascii_case(rg)
        }) else {
            return call.respond(arm_error(
                404,
                "ResourceNotFound",
                &format!(
                    "The Resource 'Microsoft.EventHub/namespaces/{ns_name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
                ),
            ));
        };
        let (rules, entity_path) = match hub_name {
            None => (&ns.rules, None),
            Some(h) => match ns.hubs.get(&key(h)) {
                Some(hub) => (&hub.rules, Some(hub.name.as_str())),
                None => {
                    return call.respond(arm_error(
                        404,
                        "NotFound",
                        &format!(
                            "The messaging entity '{}:eventhub:{h}' could not be found.",
                            ns.name
                        ),
                    ));
                }
            },
        };
        match rules.get(&key(rule_name)) {
            Some(rule) => {
                let keys = rule.access_keys(&host, entity_path);
                call.respond(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                    "keyName": keys.key_name,
                    "primaryConnectionString": keys.primary_connection_string.expose_secret(),
                    "secondaryConnectionString": keys.secondary_connection_string.expose_secret(),
                    "primaryKey": keys.primary_key.expose_secret(),
                    "secondaryKey": keys.secondary_key.expose_secret(),
                })))
            }
            None => call.respond(arm_error(
                404,
                "NotFound",
                &format!("The authorization rule '{rule_name}' could not be found."),
            )),
        }
    }
}

/// Checks the `Authorization` header; `Err(detail)` for a 401 (`{entity}` is replaced by the caller).
fn authorize(
    r: &FakeRequest<'_>,
    cloud: &FakeCloud,
    ns_rules: &BTreeMap<String, Rule>,
    hub_rules: Option<&BTreeMap<String, Rule>>,
    resource: &str,
) -> std::result::Result<Sender, String> {
    let Some(header) = r.header("authorization") else {
        return Err("MissingToken: The request contains no authorization header.".into());
    };
    if r.bearer().is_some() {
        return match cloud.entra().verify_request(r, EVENTHUBS_AUDIENCE) {
            Ok(claims) => Ok(Sender::Aad {
                object_id: claims.oid,
                app_id: claims.appid,
            }),
            Err(AuthFailure::Expired) => Err("ExpiredToken: The token is expired.".into()),
            Err(AuthFailure::WrongAudience(aud)) => Err(format!(
                "InvalidAudience: The token audience '{aud}' is not valid; expected '{EVENTHUBS_AUDIENCE}'."
            )),
            Err(_) => Err("InvalidSignature: The token has an invalid signature.".into()),
        };
    }
    if !header.starts_with(SAS_PREFIX) {
        return Err("MalformedToken: The credentials contained in the authorization header are not in the SharedAccessSignature or Bearer format.".into());
    }
    let parsed = ParsedSasToken::parse(&header).map_err(|_| {
        "MalformedToken: The credentials contained in the authorization header are not well-formed."
            .to_owned()
    })?;
    let rule = hub_rules
        .and_then(|rules| rules.get(&key(parsed.key_name())))
        .or_else(|| ns_rules.get(&key(parsed.key_name())))
        .ok_or_else(|| "InvalidSignature: The token has an invalid signature.".to_owned())?;
    let clock = cloud.clock();
    let mut last = None;
    for secret in [&rule.primary, &rule.secondary] {
        // the verifier compares the key name exactly; the service matches rule names case-insensitively
        let verifier = SasVerifier::new(SasKey::new(parsed.key_name(), secret.clone()));
        match verifier.verify_for(&header, resource, clock.as_ref()) {
            Ok(_) => {
                last = None;
                break;
            }
            // only a signature mismatch means "try the other key": the key name and expiry are shared
            Err(e @ Error::SignatureMismatch { .. }) => last = Some(e),
            Err(e) => {
                last = Some(e);
                break;
            }
        }
    }
    match last {
        None => {}
        Some(Error::Expired { expired_at, .. }) => {
            return Err(format!(
                "ExpiredToken: The token is expired. Expiration time: '{expired_at}'."
            ));
        }
        Some(Error::ResourceMismatch { token_resource, .. }) => {
            return Err(format!(
                "InvalidAudience: The token audience '{token_resource}' does not grant access to '{{entity}}'."
            ));
        }
        Some(_) => return Err("InvalidSignature: The token has an invalid signature.".into()),
    }
    if !rule.can_send() {
        return Err(
            "Unauthorized access. 'Send' claim(s) are required to perform this operation. Resource: '{entity}'."
                .into(),
        );
    }
    Ok(Sender::Sas {
        rule: rule.name.clone(),
    })
}

/// Service Bus's error answer: XML `<Error><Code>…</Code><Detail>… TrackingId:…, SystemTracker:…,
/// Timestamp:…</Detail></Error>`.
fn sb_error(status: u16, detail: &str, host: &str, now: OffsetDateTime) -> ResponseTemplate {
    let tracking: u128 = rand::random();
    let body = format!(
        "<Error><Code>{status}</Code><Detail>{} TrackingId:{tracking:032x}_G0, SystemTracker:{}, Timestamp:{now}</Detail></Error>",
        xml_escape(detail),
        xml_escape(host),
    );
    ResponseTemplate::new(status).set_body_raw(body, "application/xml; charset=utf-8")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
