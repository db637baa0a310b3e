//! Ensuring namespaces, hubs and authorization rules through ARM against the stateful fake: create → exists,
//! re-runs send no PUT (also after an interrupted create), existing namespaces are left alone with warnings,
//! naming rules, a name taken elsewhere, a failed long-running create, throttling and 5xx, and the fake's
//! strictness. ARM-created namespaces work with listKeys and the data plane (one model).

use azflux_core::arm::{ArmClient, ArmClientOptions, LroProgress};
use azflux_core::fake::FakeCloud;
use azflux_core::fake::faults::{Fault, FaultMatch};
use azflux_core::http::{HttpMethod, Response, json_request};
use eventhub_auth::fake::{FakeEventHubs, Right};
use eventhub_auth::{
    AccessRight, AuthorizationRuleRef, EventHubSpec, EventHubsArm, EventSink, EventSinkOptions,
    NamespaceSku, NamespaceSpec, validate_namespace_name,
};
use eventhub_auth::{Error, EventSeverity, FluxEvent, ObjectReference};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const RG: &str = "rg-flux";
const HUB: &str = "fluxv2";

struct World {
    cloud: FakeCloud,
    fake: FakeEventHubs,
    arm: ArmClient,
    client: EventHubsArm,
    sub: String,
}

async fn world() -> World {
    let cloud = FakeCloud::start().await;
    let fake = FakeEventHubs::mount(&cloud).await;
    let arm = ArmClient::new(
        &cloud.cloud(),
        cloud.credential().unwrap(),
        ArmClientOptions {
            http: cloud.http_options(),
            ..Default::default()
        },
    );
    let sub = cloud.sandbox().subscription_id.clone();
    World {
        client: EventHubsArm::new(arm.clone()),
        cloud,
        fake,
        arm,
        sub,
    }
}

/// A unique, valid namespace name (namespace names are global; /tmp and the fake persist nothing, but keep
/// tests independent anyway).
fn ns_name(prefix: &str) -> String {
    format!("{prefix}-{:08x}", rand::random::<u32>())
}

impl World {
    fn spec(&self, name: &str) -> NamespaceSpec {
        NamespaceSpec::new(&self.sub, RG, name, "westeurope")
    }

    /// Sends one request through the ARM pipeline (bearer token, retries) without any client logic.
    async fn raw(
        &self,
        method: HttpMethod,
        path: &str,
        api: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let url = match api {
            Some(v) => self.arm.url(path, v).unwrap(),
            None => url::Url::parse(&format!("https://management.azure.com{path}")).unwrap(),
        };
        let mut request = json_request(method, url, body.as_ref()).unwrap();
        self.arm.pipeline().send(&mut request).await.unwrap()
    }

    fn puts(&self) -> u64 {
        self.cloud.request_count("eventhubs.arm.namespace.put")
    }
}

fn error_code(r: &Response) -> (String, String) {
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    (
        v["error"]["code"].as_str().unwrap_or_default().to_owned(),
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

fn flux_event(cloud: &FakeCloud) -> FluxEvent {
    FluxEvent::new(
        ObjectReference::new("Kustomization", "flux-system", "apps"),
        EventSeverity::Info,
        "ReconciliationSucceeded",
        "applied",
        "kustomize-controller",
        cloud.clock().now(),
    )
}

#[tokio::test]
async fn create_then_exists_and_reruns_send_no_put() {
    let w = world().await;
    let name = ns_name("flux-events");
    let spec = w.spec(&name);
    let seen: Arc<Mutex<Vec<LroProgress>>> = Arc::default();
    let s = seen.clone();
    let ensured = w
        .client
        .ensure_namespace(&spec, &move |p| s.lock().unwrap().push(p.clone()))
        .await
        .unwrap();
    assert!(ensured.created);
    assert!(ensured.warnings.is_empty(), "{:?}", ensured.warnings);
    let ns = &ensured.namespace;
    assert_eq!(ns.name, name);
    assert_eq!(ns.id, spec.resource_id());
    assert_eq!(ns.sku, "Standard");
    assert_eq!(ns.provisioning_state.as_deref(), Some("Succeeded"));
    assert_eq!(ns.status.as_deref(), Some("Active"));
    assert_eq!(
        ns.service_bus_endpoint,
        format!("https://{name}.servicebus.windows.net:443/")
    );
    assert!(!ns.disable_local_auth);
    // the create took the fake's 30 s, polled every Retry-After (10 s) on the manual clock
    let statuses: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.status.clone())
        .collect();
    assert_eq!(statuses, ["InProgress", "InProgress", "Succeeded"]);
    assert_eq!(
        w.cloud.manual_clock().unwrap().sleeps(),
        vec![Duration::from_secs(10); 3]
    );
    assert_eq!(w.puts(), 1);
    assert_eq!(w.cloud.request_count("eventhubs.arm.checkname"), 1);
    // the body the fake stored is what `az eventhubs namespace create` sends
    let stored = w.fake.arm_namespace(&name).unwrap();
    assert_eq!(
        stored["sku"],
        json!({"name": "Standard", "tier": "Standard", "capacity": 1})
    );
    assert_eq!(stored["location"], "westeurope");

    let again = w.client.ensure_namespace(&spec, &|_| {}).await.unwrap();
    assert!(!again.created);
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    assert_eq!(again.namespace, ensured.namespace);
    assert_eq!(w.puts(), 1, "the second ensure sends no PUT");
    assert_eq!(w.cloud.request_count("eventhubs.arm.checkname"), 1);

    let hub = EventHubSpec::new(HUB);
    let first = w.client.ensure_event_hub(&spec, &hub).await.unwrap();
    assert!(first.created);
    assert_eq!(first.hub.name, HUB);
    assert_eq!(first.hub.partition_count, 2);
    assert_eq!(first.hub.status.as_deref(), Some("Active"));
    assert_eq!(
        w.fake.arm_hub(&name, HUB).unwrap()["properties"]["retentionDescription"],
        json!({"cleanupPolicy": "Delete", "retentionTimeInHours": 24})
    );
    let second = w.client.ensure_event_hub(&spec, &hub).await.unwrap();
    assert!(!second.created);
    assert!(second.warnings.is_empty());
    assert_eq!(w.cloud.request_count("eventhubs.arm.hub.put"), 1);

    // one model: the ARM-created namespace has RootManageSharedAccessKey, its keys send to the hub
    let keys = w
        .client
        .list_keys(&AuthorizationRuleRef::namespace_rule(
            &w.sub,
            RG,
            &name,
            "RootManageSharedAccessKey",
        ))
        .await
        .unwrap();
    let sink = EventSink::from_connection_string(
        &keys.primary().unwrap(),
        Some(HUB),
        EventSinkOptions {
            cloud: w.cloud.cloud(),
            http: w.cloud.http_options(),
            ..Default::default()
        },
    )
    .unwrap();
    sink.send(&flux_event(&w.cloud)).await.unwrap();
    assert_eq!(w.fake.events(&name, HUB).len(), 1);
}

#[tokio::test]
async fn an_interrupted_create_converges_without_a_second_put() {
    let w = world().await;
    let name = ns_name("flux-crash");
    let spec = w.spec(&name);
    // a previous run sent the PUT and died before the operation finished
    let first = w
        .raw(
            HttpMethod::Put,
            &spec.resource_id(),
            Some(eventhub_auth::NAMESPACES_API_VERSION),
            Some(spec.create_body()),
        )
        .await;
    assert_eq!(first.status, 201);
    assert!(first.header("azure-asyncoperation").is_some());
    assert_eq!(
        w.fake.arm_namespace(&name).unwrap()["properties"]["provisioningState"],
        "Created"
    );

    let ensured = w.client.ensure_namespace(&spec, &|_| {}).await.unwrap();
    assert!(!ensured.created, "this run did not create it");
    assert_eq!(
        ensured.namespace.provisioning_state.as_deref(),
        Some("Succeeded")
    );
    assert_eq!(ensured.namespace.status.as_deref(), Some("Active"));
    assert!(ensured.warnings.is_empty(), "{:?}", ensured.warnings);
    assert_eq!(w.puts(), 1, "no duplicate PUT");
    assert_eq!(w.cloud.request_count("eventhubs.arm.checkname"), 0);
}

#[tokio::test]
async fn an_existing_namespace_is_left_alone_with_warnings() {
    let w = world().await;
    let name = ns_name("flux-legacy");
    w.fake.add_namespace(RG, &name);
    w.fake.add_hub(&name, HUB).unwrap();
    w.fake
        .update_namespace(&name, |s| {
            s.disable_local_auth = true;
            s.sku = "Basic".into();
            s.status = "Disabled".into();
        })
        .unwrap();

    let ensured = w
        .client
        .ensure_namespace(&w.spec(&name), &|_| {})
        .await
        .unwrap();
    assert!(!ensured.created);
    assert!(ensured.namespace.disable_local_auth);
    let warnings = ensured.warnings.join("\n");
    assert_eq!(ensured.warnings.len(), 3, "{warnings}");
    assert!(
        warnings.contains("local (SAS) authentication disabled") && warnings.contains("Entra ID"),
        "{warnings}"
    );
    assert!(warnings.contains("Basic tier"), "{warnings}");
    assert!(warnings.contains("status `Disabled`"), "{warnings}");
    assert_eq!(w.puts(), 0, "an existing namespace is never modified");
    assert_eq!(
        w.fake.arm_namespace(&name).unwrap()["properties"]["disableLocalAuth"],
        true
    );

    // asking for what it has: no warning about local auth
    let mut aad_only = w.spec(&name);
    aad_only.disable_local_auth = true;
    aad_only.sku = NamespaceSku::Basic;
    let quiet = w.client.ensure_namespace(&aad_only, &|_| {}).await.unwrap();
    assert_eq!(quiet.warnings.len(), 1, "{:?}", quiet.warnings);

    // the warning is true: the data plane refuses SAS on this namespace
    let keys = w
        .fake
        .add_hub_rule(&name, HUB, "send", &[Right::Send])
        .unwrap();
    let sink = EventSink::from_connection_string(
        &keys.primary().unwrap(),
        None,
        EventSinkOptions {
            cloud: w.cloud.cloud(),
            http: w.cloud.http_options(),
            ..Default::default()
        },
    )
    .unwrap();
    let err = sink.send(&flux_event(&w.cloud)).await.unwrap_err();
    assert!(
        matches!(&err, Error::SendUnauthorized { detail, .. } if detail.contains("LocalAuthDisabled")),
        "{err}"
    );

    // an existing hub with another partition count is left alone, with a warning
    w.fake
        .update_namespace(&name, |s| s.sku = "Standard".into())
        .unwrap();
    let mut hub = EventHubSpec::new(HUB);
    hub.partition_count = 4;
    let ensured_hub = w
        .client
        .ensure_event_hub(&w.spec(&name), &hub)
        .await
        .unwrap();
    assert!(!ensured_hub.created);
    assert_eq!(ensured_hub.hub.partition_count, 2);
    assert!(
        ensured_hub.warnings[0].contains("cannot be decreased"),
        "{:?}",
        ensured_hub.warnings
    );
    assert_eq!(w.cloud.request_count("eventhubs.arm.hub.put"), 0);
}

#[tokio::test]
async fn namespace_name_rules() {
    let w = world().await;
    let table: &[(&str, Option<&str>)] = &[
        ("flux-events", None),
        ("abcdef", None),
        (&"a".repeat(50), None),
        ("Flux01", None),
        ("abcde", Some("6 to 50 characters long (it has 5)")),
        (&"a".repeat(51), Some("6 to 50 characters long (it has 51)")),
        ("1flux-events", Some("start with a letter")),
        ("-flux-events", Some("start with a letter")),
        ("flux-events-", Some("end with a letter or a digit")),
        (
            "flux_events",
            Some("only letters, digits and hyphens (found `_`)"),
        ),
        (
            "flux.events",
            Some("only letters, digits and hyphens (found `.`)"),
        ),
        (
            "flüx-events",
            Some("only letters, digits and hyphens (found `ü`)"),
        ),
        ("flux-events-sb", Some("`-sb` or `-mgmt`")),
        ("flux-events-MGMT", Some("`-sb` or `-mgmt`")),
        (
            "abcdef01-2345-6789-abcd-ef0123456789",
            Some("not be a GUID"),
        ),
    ];
    for (name, rule) in table {
        let checked = validate_namespace_name(name);
        match rule {
            None => {
                assert!(checked.is_ok(), "{name}: {checked:?}");
                assert!(w.spec(name).validate().is_ok(), "{name}");
            }
            Some(rule) => {
                let ensured = w.client.ensure_namespace(&w.spec(name), &|_| {}).await;
                let got = w.client.get_namespace(&w.sub, RG, name).await;
                for err in [checked.unwrap_err(), ensured.unwrap_err(), got.unwrap_err()] {
                    match &err {
                        Error::InvalidName {
                            name: n, rule: r, ..
                        } => {
                            assert_eq!(n, name);
                            assert!(r.contains(rule), "{name}: {r}");
                        }
                        other => panic!("{name}: {other:?}"),
                    }
                    let text = err.to_string();
                    assert!(
                        text.contains(name) && text.contains("choose a name"),
                        "{text}"
                    );
                }
            }
        }
    }
    assert_eq!(
        w.cloud.request_count_prefix("eventhubs.arm."),
        0,
        "invalid names are refused before anything is sent"
    );

    // other fields are checked too, naming the value
    let mut spec = w.spec("flux-events");
    spec.capacity = 3;
    spec.sku = NamespaceSku::Premium;
    let err = spec.validate().unwrap_err().to_string();
    assert!(err.contains("3 for the Premium tier"), "{err}");
    let mut hub = EventHubSpec::new("flux/v2");
    assert!(matches!(hub.validate(), Err(Error::InvalidName { .. })));
    hub.name = "fluxv2".into();
    hub.partition_count = 0;
    assert!(
        hub.validate()
            .unwrap_err()
            .to_string()
            .contains("0 is out of range")
    );
    assert!(matches!(
        NamespaceSpec::new(&w.sub, "rg.", "flux-events", "westeurope").validate(),
        Err(Error::InvalidName {
            what: "resource group",
            ..
        })
    ));

    // the fake is as strict as Azure: an invalid name sent anyway is a 400
    let bad = w
        .raw(
            HttpMethod::Put,
            &format!("/subscriptions/{}/resourceGroups/{RG}/providers/Microsoft.EventHub/namespaces/flux_events", w.sub),
            Some(eventhub_auth::NAMESPACES_API_VERSION),
            Some(json!({"location": "westeurope"})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        error_code(&bad),
        (
            "BadRequest".into(),
            "The specified service namespace is invalid.".into()
        )
    );
}

#[tokio::test]
async fn a_name_taken_elsewhere_is_a_typed_error() {
    let w = world().await;
    let name = ns_name("flux-taken");
    w.fake.add_namespace_in(
        "00000000-0000-0000-0000-00000000beef",
        "someone-else",
        &name,
    );
    let err = w
        .client
        .ensure_namespace(&w.spec(&name), &|_| {})
        .await
        .unwrap_err();
    match &err {
        Error::NamespaceNameTaken { name: n, message } => {
            assert_eq!(n, &name);
            assert!(message.contains("not available"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("choose another name") && text.contains("global"),
        "{text}"
    );
    assert_eq!(w.puts(), 0);
    assert_eq!(w.cloud.request_count("eventhubs.arm.checkname"), 1);

    // get_namespace in our resource group does not see the other one
    assert!(
        w.client
            .get_namespace(&w.sub, RG, &name)
            .await
            .unwrap()
            .is_none()
    );
    // and a PUT sent anyway is refused the way Azure does (400 BadRequest, not a 409)
    let put = w
        .raw(
            HttpMethod::Put,
            &w.spec(&name).resource_id(),
            Some(eventhub_auth::NAMESPACES_API_VERSION),
            Some(w.spec(&name).create_body()),
        )
        .await;
    assert_eq!(put.status, 400);
    let (code, message) = error_code(&put);
    assert_eq!(code, "BadRequest");
    assert!(
        message.starts_with("The specified name is not available."),
        "{message}"
    );
}

#[tokio::test]
async fn a_failed_create_surfaces_code_and_message_and_a_rerun_recovers() {
    let w = world().await;
    let name = ns_name("flux-fail");
    w.fake.fail_next_namespace_create(
        "QuotaExceeded",
        "The subscription has reached its limit of Event Hubs namespaces in region westeurope.",
    );
    let err = w
        .client
        .ensure_namespace(&w.spec(&name), &|_| {})
        .await
        .unwrap_err();
    match &err {
        Error::Azure(azflux_core::Error::OperationFailed {
            status,
            code,
            message,
            resource,
        }) => {
            assert_eq!(status, "Failed");
            assert_eq!(code, "QuotaExceeded");
            assert!(
                message.contains("limit of Event Hubs namespaces"),
                "{message}"
            );
            assert!(resource.contains(&name), "{resource}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("QuotaExceeded"));
    assert!(
        w.fake.arm_namespace(&name).is_none(),
        "a failed create leaves nothing"
    );

    let ensured = w
        .client
        .ensure_namespace(&w.spec(&name), &|_| {})
        .await
        .unwrap();
    assert!(ensured.created);
    assert_eq!(w.puts(), 2);
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried() {
    let w = world().await;
    let name = ns_name("flux-retry");
    w.cloud.faults().inject(
        FaultMatch::path("/Microsoft.EventHub/namespaces/").method("PUT"),
        Fault::throttle(3),
        1,
    );
    w.cloud.faults().inject(
        FaultMatch::path("/operationresults/").method("GET"),
        Fault::server_error(503),
        1,
    );
    w.cloud.faults().inject(
        FaultMatch::path("/checkNameAvailability").method("POST"),
        Fault::server_error(500),
        1,
    );
    let ensured = w
        .client
        .ensure_namespace(&w.spec(&name), &|_| {})
        .await
        .unwrap();
    assert!(ensured.created);
    assert_eq!(w.cloud.faults().fired().len(), 3, "every fault was hit");
    assert!(
        w.cloud
            .manual_clock()
            .unwrap()
            .sleeps()
            .contains(&Duration::from_secs(3)),
        "Retry-After of the 429 was honoured"
    );
    assert_eq!(
        w.fake.arm_namespace(&name).unwrap()["properties"]["provisioningState"],
        "Succeeded"
    );
}

#[tokio::test]
async fn authorization_rules_are_put_only_when_missing_or_different() {
    let w = world().await;
    let name = ns_name("flux-rules");
    let spec = w.spec(&name);
    w.client.ensure_namespace(&spec, &|_| {}).await.unwrap();
    w.client
        .ensure_event_hub(&spec, &EventHubSpec::new(HUB))
        .await
        .unwrap();
    let rule = AuthorizationRuleRef::hub_rule(&w.sub, RG, &name, HUB, "flux-send");

    assert!(
        w.client
            .ensure_authorization_rule(&rule, &[AccessRight::Send])
            .await
            .unwrap()
    );
    assert!(
        !w.client
            .ensure_authorization_rule(&rule, &[AccessRight::Send])
            .await
            .unwrap()
    );
    assert_eq!(w.cloud.request_count("eventhubs.arm.hubrule.put"), 1);
    assert_eq!(
        w.fake.rule_rights(&name, Some(HUB), "flux-send"),
        Some(vec![Right::Send])
    );
    let keys_before = w.client.list_keys(&rule).await.unwrap();

    assert!(
        w.client
            .ensure_authorization_rule(&rule, &[AccessRight::Send, AccessRight::Listen])
            .await
            .unwrap()
    );
    assert_eq!(
        w.fake.rule_rights(&name, Some(HUB), "flux-send"),
        Some(vec![Right::Listen, Right::Send])
    );
    assert_eq!(w.cloud.request_count("eventhubs.arm.hubrule.put"), 2);
    // changing rights keeps the keys, and they send to the hub
    let keys = w.client.list_keys(&rule).await.unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(
        keys.primary_key.expose_secret(),
        keys_before.primary_key.expose_secret()
    );
    let sink = EventSink::from_connection_string(
        &keys.primary().unwrap(),
        None,
        EventSinkOptions {
            cloud: w.cloud.cloud(),
            http: w.cloud.http_options(),
            ..Default::default()
        },
    )
    .unwrap();
    sink.send(&flux_event(&w.cloud)).await.unwrap();
    assert_eq!(w.fake.events(&name, HUB).len(), 1);

    // Manage needs Listen and Send: refused before anything is sent
    let err = w
        .client
        .ensure_authorization_rule(&rule, &[AccessRight::Manage, AccessRight::Send])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("requires all three"), "{err}");
    // a namespace-level rule with all three
    let manage = AuthorizationRuleRef::namespace_rule(&w.sub, RG, &name, "ops");
    let all = [AccessRight::Manage, AccessRight::Listen, AccessRight::Send];
    assert!(
        w.client
            .ensure_authorization_rule(&manage, &all)
            .await
            .unwrap()
    );
    assert!(
        !w.client
            .ensure_authorization_rule(&manage, &all)
            .await
            .unwrap()
    );
    assert_eq!(w.cloud.request_count("eventhubs.arm.rule.put"), 1);
}

#[tokio::test]
async fn event_hub_errors_are_typed_and_tier_limits_checked() {
    let w = world().await;
    let missing = w.spec(&ns_name("flux-nowhere"));
    let err = w
        .client
        .ensure_event_hub(&missing, &EventHubSpec::new(HUB))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NamespaceNotFound { name, .. } if name == &missing.name),
        "{err:?}"
    );
    assert!(err.to_string().contains("create it first"), "{err}");

    let name = ns_name("flux-basic");
    let mut basic = w.spec(&name);
    basic.sku = NamespaceSku::Basic;
    w.client.ensure_namespace(&basic, &|_| {}).await.unwrap();
    let mut week = EventHubSpec::new(HUB);
    week.retention_hours = 168;
    let err = w.client.ensure_event_hub(&basic, &week).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("168 hours exceed the Basic tier's 24"),
        "{err}"
    );
    assert_eq!(w.cloud.request_count("eventhubs.arm.hub.put"), 0);
    // the fake refuses it too
    let put = w
        .raw(
            HttpMethod::Put,
            &format!("{}/eventhubs/{HUB}", basic.resource_id()),
            Some(eventhub_auth::NAMESPACES_API_VERSION),
            Some(week.create_body()),
        )
        .await;
    assert_eq!(put.status, 400);
    assert_eq!(error_code(&put).0, "BadRequest");
}

#[tokio::test]
async fn the_fake_is_strict_like_arm() {
    let w = world().await;
    let name = ns_name("flux-strict");
    let id = w.spec(&name).resource_id();
    let api = Some(eventhub_auth::NAMESPACES_API_VERSION);

    let r = w.raw(HttpMethod::Get, &id, None, None).await;
    assert_eq!(
        (r.status, error_code(&r).0.as_str()),
        (400, "MissingApiVersionParameter")
    );

    let r = w.raw(HttpMethod::Get, &id, api, None).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        error_code(&r),
        (
            "ResourceNotFound".into(),
            format!(
                "The Resource 'Microsoft.EventHub/namespaces/{name}' under resource group '{RG}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            )
        )
    );

    let r = w
        .raw(
            HttpMethod::Put,
            &id,
            api,
            Some(json!({"sku": {"name": "Standard"}})),
        )
        .await;
    assert_eq!(
        (r.status, error_code(&r).0.as_str()),
        (400, "LocationRequired")
    );
    let r = w
        .raw(
            HttpMethod::Put,
            &id,
            api,
            Some(json!({"location": "westeurope", "sku": {"name": "Gold"}})),
        )
        .await;
    assert_eq!((r.status, error_code(&r).0.as_str()), (400, "BadRequest"));

    let r = w
        .raw(
            HttpMethod::Put,
            &format!("{id}/eventhubs/{HUB}"),
            api,
            Some(EventHubSpec::new(HUB).create_body()),
        )
        .await;
    assert_eq!(
        (r.status, error_code(&r).0.as_str()),
        (404, "ParentResourceNotFound")
    );

    // a namespace and hub made through ARM, then a partition decrease and invalid rights
    w.client
        .ensure_namespace(&w.spec(&name), &|_| {})
        .await
        .unwrap();
    let mut four = EventHubSpec::new(HUB);
    four.partition_count = 4;
    w.client
        .ensure_event_hub(&w.spec(&name), &four)
        .await
        .unwrap();
    let r = w
        .raw(
            HttpMethod::Put,
            &format!("{id}/eventhubs/{HUB}"),
            api,
            Some(EventHubSpec::new(HUB).create_body()),
        )
        .await;
    assert_eq!((r.status, error_code(&r).0.as_str()), (400, "BadRequest"));
    assert!(error_code(&r).1.contains("cannot be decreased"));
    let r = w
        .raw(HttpMethod::Get, &format!("{id}/eventhubs/nope"), api, None)
        .await;
    assert_eq!((r.status, error_code(&r).0.as_str()), (404, "NotFound"));
    let r = w
        .raw(
            HttpMethod::Put,
            &format!("{id}/authorizationRules/ops"),
            api,
            Some(json!({"properties": {"rights": ["Manage"]}})),
        )
        .await;
    assert_eq!((r.status, error_code(&r).0.as_str()), (400, "BadRequest"));
    let r = w
        .raw(
            HttpMethod::Put,
            &format!("{id}/authorizationRules/ops"),
            api,
            Some(json!({"properties": {}})),
        )
        .await;
    assert_eq!((r.status, error_code(&r).0.as_str()), (400, "BadRequest"));

    // checkNameAvailability
    let check = format!(
        "/subscriptions/{}/providers/Microsoft.EventHub/checkNameAvailability",
        w.sub
    );
    let r = w
        .raw(HttpMethod::Post, &check, api, Some(json!({"name": name})))
        .await;
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        (v["nameAvailable"].clone(), v["reason"].clone()),
        (json!(false), json!("NameInUse"))
    );
    let r = w
        .raw(HttpMethod::Post, &check, api, Some(json!({"name": "ab"})))
        .await;
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["reason"], "InvalidName");

    // delete: 200 then 204; GET then 404
    let r = w.raw(HttpMethod::Delete, &id, api, None).await;
    assert_eq!(r.status, 200);
    let r = w.raw(HttpMethod::Delete, &id, api, None).await;
    assert_eq!(r.status, 204);
    assert!(
        w.client
            .get_namespace(&w.sub, RG, &name)
            .await
            .unwrap()
            .is_none()
    );
}
