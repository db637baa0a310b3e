//! `RegistryManagement` (ARM Registries_Get / Registries_Create / checkNameAvailability) against the stateful
//! ARM side of `FakeAcr`: create, converge without duplicate PUTs, warnings for existing registries, name rules,
//! global names, LRO failures, injected faults, and the fake's own strictness.

use acr_oci::{Error, FakeAcr, RegistryManagement, RegistrySku, RegistrySpec};
use azflux_core::arm::{ArmClient, ArmClientOptions, LroProgress, PollerOptions};
use azflux_core::fake::FakeCloud;
use azflux_core::fake::faults::{Fault, FaultMatch};
use azflux_core::http::json_request;
use azure_core::http::{Method, Url};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Env {
    cloud: FakeCloud,
    acr: FakeAcr,
    mgmt: RegistryManagement,
}

async fn env() -> Env {
    let cloud = FakeCloud::start().await;
    let acr = FakeAcr::mount(&cloud).await;
    let arm = ArmClient::new(
        &cloud.cloud(),
        cloud.credential().unwrap(),
        ArmClientOptions {
            http: cloud.http_options(),
            poller: PollerOptions::default(),
        },
    );
    let mgmt = RegistryManagement::new(arm).with_cloud(&cloud.cloud());
    Env { cloud, acr, mgmt }
}

impl Env {
    fn sub(&self) -> String {
        self.cloud.sandbox().subscription_id.clone()
    }

    fn spec(&self, name: &str) -> RegistrySpec {
        RegistrySpec::new(self.sub(), "rg-flux", name, "westeurope")
    }

    fn puts(&self) -> u64 {
        self.cloud.request_count("acr.arm.registry.put")
    }

    /// Sends a raw ARM request (through the authenticated pipeline); `(status, body)`.
    async fn raw(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let url = Url::parse(&format!("https://management.azure.com{path_and_query}")).unwrap();
        let mut request = json_request(method, url, body).unwrap();
        let response = self.mgmt.arm().pipeline().send(&mut request).await.unwrap();
        let body = if response.body.is_empty() {
            Value::Null
        } else {
            response.json::<Value>("raw").unwrap()
        };
        (response.status, body)
    }

    fn registry_path(&self, rg: &str, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{name}",
            self.sub()
        )
    }
}

fn recorder() -> (
    Arc<Mutex<Vec<LroProgress>>>,
    impl Fn(&LroProgress) + Send + Sync,
) {
    let seen: Arc<Mutex<Vec<LroProgress>>> = Arc::default();
    let s = seen.clone();
    (seen, move |p: &LroProgress| {
        s.lock().unwrap().push(p.clone())
    })
}

#[tokio::test]
async fn creates_a_missing_registry_then_finds_it_without_another_put() {
    let env = env().await;
    let (seen, progress) = recorder();
    let ensured = env
        .mgmt
        .ensure_registry(&env.spec("FluxCharts01"), &progress)
        .await
        .unwrap();
    assert!(ensured.created);
    assert!(ensured.warnings.is_empty(), "{:?}", ensured.warnings);
    let r = &ensured.registry;
    assert_eq!(r.name, "FluxCharts01");
    assert_eq!(
        r.login_server, "fluxcharts01.azurecr.io",
        "login servers are lower-case"
    );
    assert_eq!(r.sku, "Basic");
    assert_eq!(r.location, "westeurope");
    assert!(!r.admin_user_enabled && !r.anonymous_pull_enabled);
    assert_eq!(r.provisioning_state.as_deref(), Some("Succeeded"));
    assert_eq!(
        r.role_assignment_mode.as_deref(),
        Some("LegacyRegistryPermissions")
    );
    assert!(r.id.ends_with(
        "/resourceGroups/rg-flux/providers/Microsoft.ContainerRegistry/registries/FluxCharts01"
    ));

    // One name check, one PUT, the operation polled until Succeeded on the fake clock (Retry-After 10 s).
    assert_eq!(env.cloud.request_count("acr.arm.check_name"), 1);
    assert_eq!(env.puts(), 1);
    assert_eq!(env.cloud.request_count("acr.arm.operation"), 2);
    assert_eq!(
        env.cloud.manual_clock().unwrap().sleeps(),
        vec![Duration::from_secs(10); 2]
    );
    let statuses: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.status.clone())
        .collect();
    assert_eq!(statuses, ["InProgress", "Succeeded"]);

    // The fake holds what the guide's `az acr create` would have created.
    let stored = env.acr.arm_registry("fluxcharts01").unwrap();
    assert_eq!(stored["sku"]["name"], "Basic");
    assert_eq!(stored["properties"]["adminUserEnabled"], false);
    assert_eq!(stored["properties"]["anonymousPullEnabled"], false);

    // Re-running: a GET, no name check, no PUT.
    let again = env
        .mgmt
        .ensure_registry(&env.spec("FluxCharts01"), &|_| {})
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.registry, ensured.registry);
    assert_eq!(env.puts(), 1, "a second ensure sends no PUT");
    assert_eq!(env.cloud.request_count("acr.arm.check_name"), 1);

    let got = env
        .mgmt
        .get_registry(&env.sub(), "rg-flux", "fluxcharts01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.login_server, "fluxcharts01.azurecr.io");
    assert!(
        env.mgmt
            .get_registry(&env.sub(), "rg-other", "fluxcharts01")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn spec_settings_reach_the_put_body() {
    let env = env().await;
    let mut spec = env.spec("premiumflux");
    spec.sku = RegistrySku::Premium;
    spec.admin_user_enabled = true;
    spec.tags.insert("owner".into(), "platform".into());
    let ensured = env.mgmt.ensure_registry(&spec, &|_| {}).await.unwrap();
    assert!(ensured.created);
    assert_eq!(ensured.registry.sku, "Premium");
    assert!(ensured.registry.admin_user_enabled);
    assert_eq!(
        ensured.warnings.len(),
        1,
        "the admin user is still worth a warning"
    );
    let stored = env.acr.arm_registry("premiumflux").unwrap();
    assert_eq!(stored["tags"], json!({"owner": "platform"}));
    assert_eq!(stored["sku"]["tier"], "Premium");
}

#[tokio::test]
async fn a_rerun_after_a_crash_mid_create_waits_instead_of_putting_again() {
    let env = env().await;
    let spec = env.spec("crashedflux");
    // The first run sent its PUT and died before polling.
    let (status, body) = env
        .raw(
            Method::Put,
            &format!("{}?api-version=2025-11-01", spec.resource_id()),
            Some(&spec.create_body()),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(body["properties"]["provisioningState"], "Creating");

    let (seen, progress) = recorder();
    let ensured = env.mgmt.ensure_registry(&spec, &progress).await.unwrap();
    assert!(!ensured.created, "this run did not create it");
    assert_eq!(
        ensured.registry.provisioning_state.as_deref(),
        Some("Succeeded")
    );
    assert!(ensured.warnings.is_empty(), "{:?}", ensured.warnings);
    assert_eq!(env.puts(), 1, "no duplicate PUT");
    assert_eq!(env.cloud.request_count("acr.arm.check_name"), 0);
    let statuses: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.status.clone())
        .collect();
    assert_eq!(statuses, ["Creating", "Succeeded"]);
}

#[tokio::test]
async fn an_existing_registry_is_left_alone_and_its_problems_are_warned_about() {
    let env = env().await;
    env.acr.add_arm_registry(
        &env.sub(),
        "rg-flux",
        "legacyacr",
        Some("AbacRepositoryPermissions"),
    );
    assert!(
        env.acr
            .set_arm_registry_property("legacyacr", "adminUserEnabled", json!(true))
    );
    assert!(
        env.acr
            .set_arm_registry_property("legacyacr", "anonymousPullEnabled", json!(true))
    );
    let mut spec = env.spec("legacyacr");
    spec.sku = RegistrySku::Standard; // differs from the Basic registry: still not modified

    let ensured = env.mgmt.ensure_registry(&spec, &|_| {}).await.unwrap();
    assert!(!ensured.created);
    assert_eq!(env.puts(), 0, "an existing registry is never modified");
    assert_eq!(ensured.registry.sku, "Basic");
    let w = &ensured.warnings;
    assert_eq!(w.len(), 3, "{w:#?}");
    assert!(w.iter().any(|s| s.contains("AbacRepositoryPermissions")
        && s.contains("Container Registry Repository Reader")
        && s.contains("AcrPull")));
    assert!(w.iter().any(|s| s.contains("admin user")
        && s.contains("provider: azure")
        && s.contains("--admin-enabled false")));
    assert!(
        w.iter()
            .any(|s| s.contains("anonymous pull") && s.contains("public"))
    );

    let stored = env.acr.arm_registry("legacyacr").unwrap();
    assert_eq!(
        stored["properties"]["roleAssignmentMode"],
        "AbacRepositoryPermissions"
    );
    assert_eq!(stored["properties"]["adminUserEnabled"], true);

    // Basic + legacy mode: nothing to say.
    env.acr
        .add_arm_registry(&env.sub(), "rg-flux", "cleanacr1", None);
    let clean = env
        .mgmt
        .ensure_registry(&env.spec("cleanacr1"), &|_| {})
        .await
        .unwrap();
    assert!(clean.warnings.is_empty(), "{:?}", clean.warnings);
}

#[tokio::test]
async fn name_rules_are_checked_before_anything_is_sent() {
    let env = env().await;
    let cases: [(&str, bool, &str); 9] = [
        ("abcd", false, "5-50"),
        ("abcde", true, ""),
        ("ABCde12345", true, ""),
        (&"a".repeat(50), true, ""),
        (&"a".repeat(51), false, "5-50"),
        ("my-registry", false, "'-' is not allowed"),
        ("my_registry", false, "'_' is not allowed"),
        ("mÿregistry", false, "not allowed"),
        ("", false, "5-50"),
    ];
    for (name, ok, rule) in cases {
        let result = env.spec(name).validate();
        assert_eq!(result.is_ok(), ok, "{name}: {result:?}");
        if let Err(e) = result {
            let text = e.to_string();
            assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
            assert!(
                text.contains(rule) && text.contains(&format!("'{name}'")),
                "{text}"
            );
        }
    }
    let mut spec = env.spec("goodname1");
    spec.location = String::new();
    assert!(
        spec.validate()
            .unwrap_err()
            .to_string()
            .contains("location")
    );
    let mut spec = env.spec("goodname1");
    spec.resource_group = "bad/rg".into();
    assert!(
        spec.validate()
            .unwrap_err()
            .to_string()
            .contains("resource group name 'bad/rg'")
    );
    let mut spec = env.spec("goodname1");
    spec.tags.insert("a/b".into(), "v".into());
    assert!(
        spec.validate()
            .unwrap_err()
            .to_string()
            .contains("tag name 'a/b'")
    );

    let err = env
        .mgmt
        .ensure_registry(&env.spec("my-registry"), &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert_eq!(
        env.cloud.request_count_prefix("acr.arm."),
        0,
        "nothing was sent"
    );
}

#[tokio::test]
async fn a_name_taken_elsewhere_is_a_typed_error_and_nothing_is_created() {
    let env = env().await;
    env.acr.add_arm_registry(
        "00000000-0000-0000-0000-00000000beef",
        "someone-else",
        "popularname",
        None,
    );
    let availability = env
        .mgmt
        .check_name_availability(&env.sub(), "PopularName")
        .await
        .unwrap();
    assert!(!availability.available);
    assert_eq!(availability.reason.as_deref(), Some("AlreadyExists"));

    let err = env
        .mgmt
        .ensure_registry(&env.spec("PopularName"), &|_| {})
        .await
        .unwrap_err();
    match &err {
        Error::RegistryNameUnavailable {
            name,
            reason,
            message,
        } => {
            assert_eq!(name, "PopularName");
            assert_eq!(reason, "AlreadyExists");
            assert!(message.contains("already in use"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("choose another name"), "{err}");
    assert_eq!(env.puts(), 0);
    // The other registry is untouched.
    let stored = env.acr.arm_registry("popularname").unwrap();
    assert!(
        stored["id"]
            .as_str()
            .unwrap()
            .contains("/resourceGroups/someone-else/")
    );

    // A PUT that races past the check gets ACR's 409 AlreadyInUse.
    let (status, body) = env
        .raw(
            Method::Put,
            &format!(
                "{}?api-version=2025-11-01",
                env.registry_path("rg-flux", "popularname")
            ),
            Some(&env.spec("popularname").create_body()),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "AlreadyInUse");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("popularname.azurecr.io is already in use")
    );

    let free = env
        .mgmt
        .check_name_availability(&env.sub(), "unusedname")
        .await
        .unwrap();
    assert!(free.available && free.reason.is_none());
}

#[tokio::test]
async fn a_failed_create_surfaces_the_code_and_message_and_a_rerun_recovers() {
    let env = env().await;
    env.acr.fail_next_registry_create(
        "RegistryQuotaExceeded",
        "The registry quota of 100 for subscription has been reached.",
    );
    let err = env
        .mgmt
        .ensure_registry(&env.spec("unluckyacr"), &|_| {})
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
            assert_eq!(code, "RegistryQuotaExceeded");
            assert!(message.contains("quota of 100"));
            assert!(resource.contains("registries/unluckyacr"), "{resource}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("RegistryQuotaExceeded"));
    assert!(
        env.acr.arm_registry("unluckyacr").is_none(),
        "a failed create leaves nothing"
    );

    let ensured = env
        .mgmt
        .ensure_registry(&env.spec("unluckyacr"), &|_| {})
        .await
        .unwrap();
    assert!(ensured.created);
    assert_eq!(env.puts(), 2);
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried() {
    let env = env().await;
    let faults = env.cloud.faults();
    faults.inject(
        FaultMatch::path("/registries/retriedacr").method("GET"),
        Fault::throttle(4),
        1,
    );
    faults.inject(
        FaultMatch::path("/checkNameAvailability"),
        Fault::server_error(503),
        1,
    );
    faults.inject(
        FaultMatch::path("/registries/retriedacr").method("PUT"),
        Fault::throttle(3),
        1,
    );
    faults.inject(
        FaultMatch::path("/operationStatuses/"),
        Fault::server_error(500),
        1,
    );
    let ensured = env
        .mgmt
        .ensure_registry(&env.spec("retriedacr"), &|_| {})
        .await
        .unwrap();
    assert!(ensured.created);
    assert_eq!(
        ensured.registry.provisioning_state.as_deref(),
        Some("Succeeded")
    );
    assert_eq!(faults.fired().len(), 4);
    let sleeps = env.cloud.manual_clock().unwrap().sleeps();
    assert!(
        sleeps.contains(&Duration::from_secs(4)) && sleeps.contains(&Duration::from_secs(3)),
        "Retry-After was honoured: {sleeps:?}"
    );
    let created = env.acr.arm_registry("retriedacr").unwrap();
    assert_eq!(created["properties"]["provisioningState"], "Succeeded");
}

#[tokio::test]
async fn the_fake_rejects_what_arm_rejects() {
    let env = env().await;
    let path = env.registry_path("rg-flux", "strictacr");
    let good = env.spec("strictacr").create_body();

    let (status, body) = env.raw(Method::Get, &path, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("MissingApiVersionParameter"))
    );
    let (status, body) = env
        .raw(
            Method::Put,
            &format!("{path}?api-version=2099-01-01"),
            Some(&good),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("NoRegisteredProviderFound"))
    );

    let put = |body: Value| {
        let path = format!("{path}?api-version=2025-11-01");
        let env = &env;
        async move { env.raw(Method::Put, &path, Some(&body)).await }
    };
    let (status, body) = put(json!({"sku": {"name": "Basic"}})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("LocationRequired"))
    );
    let (status, body) = put(json!({"location": "westeurope"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("InvalidRequestContent"))
    );
    let (status, body) = put(json!({"location": "westeurope", "sku": {"name": "Gold"}})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("InvalidRequestContent"))
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("Gold"));
    let (status, body) = env
        .raw(
            Method::Put,
            &format!(
                "{}?api-version=2025-11-01",
                env.registry_path("rg-flux", "bad-name")
            ),
            Some(&good),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("ResourceNameInvalid"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("between 5 and 50 characters")
    );
    assert!(
        env.acr.arm_registry("strictacr").is_none(),
        "nothing was created by the bad PUTs"
    );

    let (status, body) = env
        .raw(Method::Get, &format!("{path}?api-version=2025-11-01"), None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "ResourceNotFound");
    assert_eq!(
        body["error"]["message"],
        "The Resource 'Microsoft.ContainerRegistry/registries/strictacr' under resource group 'rg-flux' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
    );

    let check = format!(
        "/subscriptions/{}/providers/Microsoft.ContainerRegistry/checkNameAvailability?api-version=2025-11-01",
        env.sub()
    );
    let (status, body) = env
        .raw(
            Method::Post,
            &check,
            Some(&json!({"name": "a-b", "type": "Microsoft.ContainerRegistry/registries"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["nameAvailable"], false);
    assert_eq!(body["reason"], "Invalid");
    let (status, _) = env
        .raw(Method::Post, &check, Some(&json!({"name": "abcdef"})))
        .await;
    assert_eq!(status, 400, "type is required");

    // A PUT while the registry is still being created conflicts; afterwards it updates in place.
    let (status, _) = put(good.clone()).await;
    assert_eq!(status, 201);
    let (status, body) = put(good.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("AnotherOperationInProgress"))
    );
    env.cloud
        .manual_clock()
        .unwrap()
        .advance(Duration::from_secs(20));
    let (status, body) = put(json!({"location": "westeurope", "sku": {"name": "Standard"}})).await;
    assert_eq!(status, 200);
    assert_eq!(body["sku"]["name"], "Standard");
    assert_eq!(body["properties"]["provisioningState"], "Succeeded");

    let (status, _) = env
        .raw(
            Method::Delete,
            &format!("{path}?api-version=2025-11-01"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = env
        .raw(
            Method::Delete,
            &format!("{path}?api-version=2025-11-01"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert!(env.acr.arm_registry("strictacr").is_none());
    assert_eq!(env.cloud.request_count("acr.arm.registry.delete"), 2);
}

#[tokio::test]
async fn debug_output_carries_no_token() {
    let env = env().await;
    let ensured = env
        .mgmt
        .ensure_registry(&env.spec("debugacr1"), &|_| {})
        .await
        .unwrap();
    // A token was obtained and cached by now; neither the client nor the results print it.
    for text in [format!("{:?}", env.mgmt), format!("{ensured:?}")] {
        assert!(!text.contains("eyJ"), "{text}");
    }
}
