//! The ARM management routes of [`FakeEventHubs`]: namespaces (with the long-running create), event hubs,
//! authorization rules and `checkNameAvailability`, on the one model the data plane and `listKeys` use. The
//! contract is in the [parent module's docs](super).

use super::{FakeEventHubs, Hub, Namespace, NamespaceSettings, Operation, Right, Rule, State, key};
use azflux_core::fake::FakeCloud;
use azflux_core::fake::arm::{ArmCall, arm_error};
use azflux_core::fake::request::FakeRequest;
use azflux_core::fake::wiremock::{MockServer, ResponseTemplate};
use serde_json::{Value, json};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How long a namespace created through ARM takes to provision on the cloud's clock, unless a test sets
/// another duration.
pub const DEFAULT_CREATE_DURATION: Duration = Duration::from_secs(30);

const NAME_NOT_AVAILABLE: &str = "The specified name is not available. For more information visit https://aka.ms/eventhubsarmexceptions.";
const NAMESPACE_INVALID: &str = "The specified service namespace is invalid.";

/// Finishes the creations whose time has come: `Succeeded` namespaces become active and get their
/// `RootManageSharedAccessKey`; failed ones are removed.
pub(super) fn settle(state: &mut State, now: OffsetDateTime) {
    let due: Vec<String> = state
        .operations
        .iter()
        .filter(|(id, op)| {
            op.ready_at <= now
                && state
                    .namespaces
                    .get(&op.namespace)
                    .is_some_and(|ns| ns.creating.as_deref() == Some(id.as_str()))
        })
        .map(|(id, _)| id.clone())
        .collect();
    for id in due {
        let Some(op) = state.operations.get(&id) else {
            continue;
        };
        let ns_key = op.namespace.clone();
        if op.failure.is_some() {
            state.namespaces.remove(&ns_key);
        } else if let Some(ns) = state.namespaces.get_mut(&ns_key) {
            ns.creating = None;
            ns.settings.status = "Active".into();
            ns.rules
                .entry(key("RootManageSharedAccessKey"))
                .or_insert_with(|| {
                    Rule::new(
                        "RootManageSharedAccessKey",
                        &[Right::Listen, Right::Send, Right::Manage],
                    )
                });
        }
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn namespace_id(ns: &Namespace) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.EventHub/namespaces/{}",
        ns.subscription_id, ns.resource_group, ns.name
    )
}

fn namespace_json(ns: &Namespace, host: &str) -> Value {
    let s = &ns.settings;
    let (provisioning, status) = match ns.creating {
        // [inf] the transient states Azure shows while a namespace is being created
        Some(_) => ("Created", "Activating"),
        None => ("Succeeded", s.status.as_str()),
    };
    json!({
        "id": namespace_id(ns),
        "name": ns.name,
        "type": "Microsoft.EventHub/Namespaces",
        "location": s.location,
        "tags": s.tags,
        "sku": {"name": s.sku, "tier": s.sku, "capacity": s.capacity},
        "properties": {
            "provisioningState": provisioning,
            "status": status,
            "serviceBusEndpoint": format!("https://{host}:443/"),
            "metricId": format!("{}:{}", ns.subscription_id, ns.name),
            "createdAt": rfc3339(ns.created_at),
            "updatedAt": rfc3339(ns.created_at),
            "disableLocalAuth": s.disable_local_auth,
            "isAutoInflateEnabled": false,
            "maximumThroughputUnits": 0,
            "kafkaEnabled": !s.sku.eq_ignore_ascii_case("Basic"),
            "zoneRedundant": false,
            "minimumTlsVersion": "1.2",
            "publicNetworkAccess": "Enabled",
        },
    })
}

fn hub_json(ns: &Namespace, hub: &Hub) -> Value {
    json!({
        "id": format!("{}/eventhubs/{}", namespace_id(ns), hub.name),
        "name": hub.name,
        "type": "Microsoft.EventHub/Namespaces/EventHubs",
        "location": ns.settings.location,
        "properties": {
            "partitionCount": hub.partition_count,
            "partitionIds": (0..hub.partition_count).map(|i| i.to_string()).collect::<Vec<_>>(),
            "messageRetentionInDays": hub.retention_hours.div_ceil(24),
            "retentionDescription": {"cleanupPolicy": "Delete", "retentionTimeInHours": hub.retention_hours},
            "status": "Active",
            "createdAt": rfc3339(hub.created_at),
            "updatedAt": rfc3339(hub.created_at),
        },
    })
}

fn rule_json(ns: &Namespace, hub: Option<&Hub>, rule: &Rule) -> Value {
    let (id, kind) = match hub {
        Some(h) => (
            format!(
                "{}/eventhubs/{}/authorizationRules/{}",
                namespace_id(ns),
                h.name,
                rule.name
            ),
            "Microsoft.EventHub/Namespaces/EventHubs/AuthorizationRules",
        ),
        None => (
            format!("{}/authorizationRules/{}", namespace_id(ns), rule.name),
            "Microsoft.EventHub/Namespaces/AuthorizationRules",
        ),
    };
    json!({
        "id": id,
        "name": rule.name,
        "type": kind,
        "location": ns.settings.location,
        "properties": {"rights": rule.rights.iter().map(|r| r.as_str()).collect::<Vec<_>>()},
    })
}

/// The parts of an ARM path under `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.EventHub/`.
struct Path {
    subscription: String,
    resource_group: String,
    namespace: String,
    /// `eventhubs` + name, or `authorizationRules` + name, or `operationresults` + id…
    rest: Vec<String>,
}

impl Path {
    fn parse(path: &str) -> Self {
        let segments: Vec<&str> = path.split('/').collect();
        let get = |i: usize| segments.get(i).copied().unwrap_or_default().to_owned();
        Self {
            subscription: get(2),
            resource_group: get(4),
            namespace: get(8),
            rest: segments.iter().skip(9).map(|s| (*s).to_owned()).collect(),
        }
    }

    fn hub(&self) -> Option<&str> {
        match self.rest.first() {
            Some(s) if s.eq_ignore_ascii_case("eventhubs") => self.rest.get(1).map(String::as_str),
            _ => None,
        }
    }

    fn rule(&self) -> Option<&str> {
        let at = self
            .rest
            .iter()
            .position(|s| s.eq_ignore_ascii_case("authorizationRules"))?;
        self.rest.get(at + 1).map(String::as_str)
    }
}

fn namespace_not_found(name: &str, rg: &str) -> ResponseTemplate {
    arm_error(
        404,
        "ResourceNotFound",
        &format!(
            "The Resource 'Microsoft.EventHub/namespaces/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

fn parent_not_found(p: &Path, kind: &str, method: &str) -> ResponseTemplate {
    let verb = if method == "GET" { "read" } else { "write" };
    arm_error(
        404,
        "ParentResourceNotFound",
        &format!(
            "Failed to perform '{verb}' on resource(s) of type 'namespaces/{kind}', because the parent resource '/subscriptions/{}/resourceGroups/{}/providers/Microsoft.EventHub/namespaces/{}' could not be found.",
            p.subscription, p.resource_group, p.namespace
        ),
    )
}

fn bad_request(message: &str) -> ResponseTemplate {
    arm_error(400, "BadRequest", message)
}

#[allow(clippy::result_large_err)] // the error is the answer, returned as is
fn body_json(r: &FakeRequest<'_>) -> Result<Value, ResponseTemplate> {
    r.json().filter(Value::is_object).ok_or_else(|| {
        arm_error(
            400,
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized: the body is not a JSON object.",
        )
    })
}

fn namespace_name_ok(name: &str) -> bool {
    crate::arm::validate_namespace_name(name).is_ok()
}

/// Mounts the `eventhubs.arm.*` routes on the ARM server.
pub(super) async fn mount(this: &FakeEventHubs, cloud: &FakeCloud, arm: &MockServer) {
    let ns = r"(?i)^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/Microsoft\.EventHub/namespaces/[^/]+";
    let me = this.clone();
    cloud
        .mount(
            arm,
            "eventhubs.arm.checkname",
            "POST",
            r"(?i)^/subscriptions/[^/]+/providers/Microsoft\.EventHub/checkNameAvailability$",
            move |r| me.arm_handle(r, FakeEventHubs::check_name),
        )
        .await;
    let me = this.clone();
    cloud
        .mount(
            arm,
            "eventhubs.arm.namespace.operation",
            "GET",
            &format!("{ns}/operationresults/[^/]+$"),
            move |r| me.arm_handle(r, FakeEventHubs::operation),
        )
        .await;
    let routes: [(&str, String, Handler); 4] = [
        ("namespace", format!("{ns}$"), FakeEventHubs::namespace),
        ("hub", format!("{ns}/eventhubs/[^/]+$"), FakeEventHubs::hub),
        (
            "rule",
            format!("{ns}/authorizationRules/[^/]+$"),
            FakeEventHubs::rule,
        ),
        (
            "hubrule",
            format!("{ns}/eventhubs/[^/]+/authorizationRules/[^/]+$"),
            FakeEventHubs::rule,
        ),
    ];
    for (what, path, handler) in routes {
        for method in ["GET", "PUT", "DELETE"] {
            let me = this.clone();
            cloud
                .mount(
                    arm,
                    &format!("eventhubs.arm.{what}.{}", method.to_ascii_lowercase()),
                    method,
                    &path,
                    move |r| me.arm_handle(r, handler),
                )
                .await;
        }
    }
}

type Handler = fn(&FakeEventHubs, &FakeRequest<'_>, &ArmCall) -> ResponseTemplate;

impl FakeEventHubs {
    fn arm_handle(&self, r: &FakeRequest<'_>, handler: Handler) -> ResponseTemplate {
        match self.cloud.arm_call(r) {
            Ok(call) => {
                let answer = handler(self, r, &call);
                call.respond(answer)
            }
            Err(e) => e,
        }
    }

    fn check_name(&self, r: &FakeRequest<'_>, _call: &ArmCall) -> ResponseTemplate {
        let body = match body_json(r) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(name) = body.get("name").and_then(Value::as_str) else {
            // [inf] the wording for a missing name
            return bad_request("The 'name' property is required.");
        };
        let (available, reason, message) = if !namespace_name_ok(name) {
            (false, "InvalidName", NAMESPACE_INVALID)
        } else if self.state().namespaces.contains_key(&key(name)) {
            (false, "NameInUse", NAME_NOT_AVAILABLE)
        } else {
            (true, "None", "")
        };
        ResponseTemplate::new(200).set_body_json(
            json!({"nameAvailable": available, "reason": reason, "message": message}),
        )
    }

    fn operation(&self, r: &FakeRequest<'_>, _call: &ArmCall) -> ResponseTemplate {
        let p = Path::parse(r.path());
        let op_id = p.rest.get(1).cloned().unwrap_or_default();
        let now = self.cloud.clock().now();
        let state = self.state();
        let Some(op) = state.operations.get(&op_id) else {
            return arm_error(
                404,
                "NotFound",
                &format!("The operation '{op_id}' could not be found."),
            );
        };
        let total = (op.ready_at - op.started_at).whole_seconds().max(1);
        let elapsed = (now - op.started_at).whole_seconds().clamp(0, total);
        let mut body = json!({
            "id": r.path(),
            "name": op_id,
            "startTime": rfc3339(op.started_at),
        });
        if now < op.ready_at {
            body["status"] = json!("InProgress");
            body["percentComplete"] = json!(elapsed * 100 / total);
        } else {
            body["endTime"] = json!(rfc3339(op.ready_at));
            match &op.failure {
                None => body["status"] = json!("Succeeded"),
                Some((code, message)) => {
                    body["status"] = json!("Failed");
                    body["error"] = json!({"code": code, "message": message});
                }
            }
        }
        ResponseTemplate::new(200)
            .insert_header("retry-after", "10")
            .set_body_json(body)
    }

    fn namespace(&self, r: &FakeRequest<'_>, _call: &ArmCall) -> ResponseTemplate {
        let p = Path::parse(r.path());
        let ns_key = key(&p.namespace);
        let host = self.namespace_host(&p.namespace);
        let method = r.method();
        let mut state = self.state();
        match method.as_str() {
            "GET" => match state.namespaces.get(&ns_key) {
                Some(ns) if ns.is_at(&p.subscription, &p.resource_group) => {
                    ResponseTemplate::new(200).set_body_json(namespace_json(ns, &host))
                }
                _ => namespace_not_found(&p.namespace, &p.resource_group),
            },
            "DELETE" => match state.namespaces.get(&ns_key) {
                Some(ns) if ns.is_at(&p.subscription, &p.resource_group) => {
                    state.namespaces.remove(&ns_key);
                    ResponseTemplate::new(200)
                }
                _ => ResponseTemplate::new(204),
            },
            _ => self.put_namespace(r, &p, &mut state, &host),
        }
    }

    fn put_namespace(
        &self,
        r: &FakeRequest<'_>,
        p: &Path,
        state: &mut State,
        host: &str,
    ) -> ResponseTemplate {
        if !namespace_name_ok(&p.namespace) {
            return bad_request(NAMESPACE_INVALID);
        }
        let body = match body_json(r) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(location) = body
            .get("location")
            .and_then(Value::as_str)
            .filter(|l| !l.trim().is_empty())
        else {
            return arm_error(
                400,
                "LocationRequired",
                "The location property is required for this definition.",
            );
        };
        let sku = body
            .pointer("/sku/name")
            .and_then(Value::as_str)
            .unwrap_or("Standard");
        let Some(sku) = crate::arm::NamespaceSku::parse(sku) else {
            // [inf] the wording for an unknown SKU
            return bad_request(&format!(
                "The specified SKU '{sku}' is invalid. Valid values are Basic, Standard and Premium."
            ));
        };
        let capacity = body
            .pointer("/sku/capacity")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        let capacity_ok = match sku {
            crate::arm::NamespaceSku::Premium => [1, 2, 4, 8, 16].contains(&capacity),
            _ => (1..=40).contains(&capacity),
        };
        if !capacity_ok {
            // [inf]
            return bad_request(&format!(
                "The specified capacity {capacity} is invalid for the {sku} SKU."
            ));
        }
        let tags = body
            .get("tags")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let disable_local_auth = body
            .pointer("/properties/disableLocalAuth")
            .and_then(Value::as_bool);
        let ns_key = key(&p.namespace);
        let now = self.cloud.clock().now();
        if let Some(existing) = state.namespaces.get_mut(&ns_key) {
            if !existing.is_at(&p.subscription, &p.resource_group) {
                return bad_request(NAME_NOT_AVAILABLE);
            }
            if existing.creating.is_some() {
                // [inf] the wording for a PUT while the namespace is still being created
                return arm_error(
                    409,
                    "Conflict",
                    "Namespace provisioning in transition. For more information visit https://aka.ms/eventhubsarmexceptions.",
                );
            }
            let s = &mut existing.settings;
            s.sku = sku.as_str().to_owned();
            s.capacity = u32::try_from(capacity).unwrap_or(1);
            s.tags = tags;
            if let Some(d) = disable_local_auth {
                s.disable_local_auth = d;
            }
            return ResponseTemplate::new(200).set_body_json(namespace_json(existing, host));
        }
        let op_id = format!("{:032x}", rand::random::<u128>());
        let mut ns = Namespace::new(&p.subscription, &p.resource_group, &p.namespace, now);
        ns.settings = NamespaceSettings {
            location: location.to_owned(),
            sku: sku.as_str().to_owned(),
            capacity: u32::try_from(capacity).unwrap_or(1),
            disable_local_auth: disable_local_auth.unwrap_or(false),
            status: "Active".into(),
            tags,
        };
        ns.creating = Some(op_id.clone());
        let ready_at = now + state.create_duration;
        state.operations.insert(
            op_id.clone(),
            Operation {
                namespace: ns_key.clone(),
                started_at: now,
                ready_at,
                failure: state.next_failure.take(),
            },
        );
        let answer = namespace_json(&ns, host);
        let status_url = format!(
            "{}{}/operationresults/{op_id}?api-version={}",
            r.origin(),
            namespace_id(&ns),
            r.query("api-version").unwrap_or_default()
        );
        state.namespaces.insert(ns_key, ns);
        ResponseTemplate::new(201)
            .insert_header("azure-asyncoperation", status_url.as_str())
            .insert_header("retry-after", "10")
            .set_body_json(answer)
    }

    fn hub(&self, r: &FakeRequest<'_>, _call: &ArmCall) -> ResponseTemplate {
        let p = Path::parse(r.path());
        let method = r.method();
        let hub_name = p.hub().unwrap_or_default().to_owned();
        let now = self.cloud.clock().now();
        let mut state = self.state();
        let Some(ns) = state
            .namespaces
            .get_mut(&key(&p.namespace))
            .filter(|ns| ns.is_at(&p.subscription, &p.resource_group))
        else {
            return match method.as_str() {
                "DELETE" => ResponseTemplate::new(204),
                m => parent_not_found(&p, "eventhubs", m),
            };
        };
        let hub_key = key(&hub_name);
        let missing = || {
            arm_error(
                404,
                "NotFound",
                &format!(
                    "The messaging entity '{}:eventhub:{hub_name}' could not be found. To know more visit https://aka.ms/sbResourceMgrExceptions.",
                    p.namespace
                ),
            )
        };
        match method.as_str() {
            "GET" => match ns.hubs.get(&hub_key) {
                Some(h) => ResponseTemplate::new(200).set_body_json(hub_json(ns, h)),
                None => missing(),
            },
            "DELETE" => match ns.hubs.remove(&hub_key) {
                Some(_) => ResponseTemplate::new(200),
                None => ResponseTemplate::new(204),
            },
            _ => {
                if crate::arm::validate_entity_name("Event Hub", &hub_name).is_err() {
                    // [inf]
                    return bad_request(&format!(
                        "The entity name '{hub_name}' is invalid: it can contain only letters, numbers, periods, hyphens and underscores, and must start and end with a letter or number."
                    ));
                }
                let body = match body_json(r) {
                    Ok(b) => b,
                    Err(e) => return e,
                };
                let sku = crate::arm::NamespaceSku::parse(&ns.settings.sku)
                    .unwrap_or(crate::arm::NamespaceSku::Standard);
                let existing = ns.hubs.get(&hub_key);
                // [inf] the RP's defaults when the body leaves them out
                let partitions = body
                    .pointer("/properties/partitionCount")
                    .and_then(Value::as_u64)
                    .unwrap_or(existing.map_or(4, |h| u64::from(h.partition_count)));
                let hours = body
                    .pointer("/properties/retentionDescription/retentionTimeInHours")
                    .and_then(Value::as_u64)
                    .or_else(|| {
                        body.pointer("/properties/messageRetentionInDays")
                            .and_then(Value::as_u64)
                            .map(|d| d * 24)
                    })
                    .unwrap_or(existing.map_or(24, |h| u64::from(h.retention_hours)));
                if partitions == 0 || partitions > u64::from(sku.max_partitions()) {
                    // [inf]
                    return bad_request(&format!(
                        "The specified partition count {partitions} is invalid; the {sku} tier allows 1 to {}.",
                        sku.max_partitions()
                    ));
                }
                if let Some(h) = existing
                    && partitions < u64::from(h.partition_count)
                {
                    // [inf]
                    return bad_request(&format!(
                        "The partition count of event hub '{}' cannot be decreased from {} to {partitions}.",
                        h.name, h.partition_count
                    ));
                }
                if hours == 0 || hours > u64::from(sku.max_retention_hours()) {
                    // [inf]
                    return bad_request(&format!(
                        "The specified retention of {hours} hours is invalid; the {sku} tier allows 1 to {} hours.",
                        sku.max_retention_hours()
                    ));
                }
                let mut hub = ns
                    .hubs
                    .remove(&hub_key)
                    .unwrap_or_else(|| Hub::new(&hub_name, now));
                hub.partition_count = u32::try_from(partitions).unwrap_or(2);
                hub.retention_hours = u32::try_from(hours).unwrap_or(24);
                let answer = hub_json(ns, &hub);
                ns.hubs.insert(hub_key, hub);
                ResponseTemplate::new(200).set_body_json(answer)
            }
        }
    }

    fn rule(&self, r: &FakeRequest<'_>, _call: &ArmCall) -> ResponseTemplate {
        let p = Path::parse(r.path());
        let method = r.method();
        let rule_name = p.rule().unwrap_or_default().to_owned();
        let hub_name = p.hub().map(str::to_owned);
        let mut state = self.state();
        let Some(ns) = state
            .namespaces
            .get_mut(&key(&p.namespace))
            .filter(|ns| ns.is_at(&p.subscription, &p.resource_group))
        else {
            return match method.as_str() {
                "DELETE" => ResponseTemplate::new(204),
                m => parent_not_found(
                    &p,
                    if hub_name.is_some() {
                        "eventhubs"
                    } else {
                        "authorizationRules"
                    },
                    m,
                ),
            };
        };
        if let Some(h) = &hub_name
            && !ns.hubs.contains_key(&key(h))
        {
            return arm_error(
                404,
                "NotFound",
                &format!(
                    "The messaging entity '{}:eventhub:{h}' could not be found. To know more visit https://aka.ms/sbResourceMgrExceptions.",
                    ns.name
                ),
            );
        }
        let rights = match method.as_str() {
            "PUT" => match put_rights(r) {
                Ok(rights) => Some(rights),
                Err(e) => return e,
            },
            _ => None,
        };
        let rule_key = key(&rule_name);
        let snapshot = |ns: &Namespace, rule: &Rule| {
            let hub = hub_name.as_ref().and_then(|h| ns.hubs.get(&key(h)));
            rule_json(ns, hub, rule)
        };
        let rules = match &hub_name {
            Some(h) => match ns.hubs.get_mut(&key(h)) {
                Some(hub) => &mut hub.rules,
                None => return ResponseTemplate::new(500),
            },
            None => &mut ns.rules,
        };
        match method.as_str() {
            "GET" => match rules.get(&rule_key).cloned() {
                Some(rule) => ResponseTemplate::new(200).set_body_json(snapshot(ns, &rule)),
                None => arm_error(
                    404,
                    "NotFound",
                    &format!("The authorization rule '{rule_name}' could not be found."),
                ),
            },
            "DELETE" => match rules.remove(&rule_key) {
                Some(_) => ResponseTemplate::new(200),
                None => ResponseTemplate::new(204),
            },
            _ => {
                if crate::arm::validate_entity_name("authorization rule", &rule_name).is_err() {
                    // [inf]
                    return bad_request(&format!(
                        "The authorization rule name '{rule_name}' is invalid: it can contain only letters, numbers, periods, hyphens and underscores, and must start and end with a letter or number."
                    ));
                }
                let rights = rights.unwrap_or_default();
                let rule = rules
                    .entry(rule_key)
                    .and_modify(|r| r.rights = rights.clone())
                    .or_insert_with(|| Rule::new(&rule_name, &rights))
                    .clone();
                ResponseTemplate::new(200).set_body_json(snapshot(ns, &rule))
            }
        }
    }
}

/// The `properties.rights` of a rule PUT, checked like the service: present, known values, `Manage` only with
/// `Listen` and `Send`.
#[allow(clippy::result_large_err)] // the error is the answer, returned as is
fn put_rights(r: &FakeRequest<'_>) -> Result<Vec<Right>, ResponseTemplate> {
    let body = body_json(r)?;
    let Some(list) = body.pointer("/properties/rights").and_then(Value::as_array) else {
        // [inf]
        return Err(bad_request(
            "The 'rights' property is required: give one or more of Listen, Send, Manage.",
        ));
    };
    let mut rights = Vec::new();
    for v in list {
        match v.as_str().and_then(Right::parse) {
            Some(right) => rights.push(right),
            // [inf]
            None => {
                return Err(bad_request(&format!(
                    "The access right {v} is invalid; valid values are Listen, Send and Manage."
                )));
            }
        }
    }
    crate::arm::AccessRight::validate_set(&rights).map_err(|_| {
        // [inf]
        bad_request(
            "The rights are invalid: give at least one of Listen, Send, Manage; Manage requires Listen and Send.",
        )
    })
}

impl FakeEventHubs {
    /// The namespace `name` as ARM's GET would answer it (`None` if it does not exist).
    pub fn arm_namespace(&self, name: &str) -> Option<Value> {
        let host = self.namespace_host(name);
        self.state()
            .namespaces
            .get(&key(name))
            .map(|ns| namespace_json(ns, &host))
    }

    /// Hub `hub` of `namespace` as ARM's GET would answer it.
    pub fn arm_hub(&self, namespace: &str, hub: &str) -> Option<Value> {
        let state = self.state();
        let ns = state.namespaces.get(&key(namespace))?;
        ns.hubs.get(&key(hub)).map(|h| hub_json(ns, h))
    }

    /// The rights of a namespace rule (`hub: None`) or hub rule, sorted.
    pub fn rule_rights(
        &self,
        namespace: &str,
        hub: Option<&str>,
        rule: &str,
    ) -> Option<Vec<Right>> {
        let state = self.state();
        let ns = state.namespaces.get(&key(namespace))?;
        let rules = match hub {
            Some(h) => &ns.hubs.get(&key(h))?.rules,
            None => &ns.rules,
        };
        rules.get(&key(rule)).map(|r| {
            let mut rights = r.rights.clone();
            rights.sort();
            rights
        })
    }

    /// How long namespace creations started from now take on the cloud's clock.
    pub fn set_namespace_create_duration(&self, duration: Duration) {
        self.state().create_duration = duration;
    }

    /// The next namespace creation ends `Failed` with this ARM error (and the namespace is removed).
    pub fn fail_next_namespace_create(&self, code: &str, message: &str) {
        self.state().next_failure = Some((code.to_owned(), message.to_owned()));
    }
}
