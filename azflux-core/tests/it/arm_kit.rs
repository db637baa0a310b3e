//! The ARM resource kit: case-insensitive routing by resource id, ARM's errors, lists with `nextLink`,
//! long-running create and delete on the fake clock, api-version sets, and what `az login` reads.

use azflux_core::TokenCredential;
use azflux_core::arm::{ArmClient, ArmClientOptions, PollerOptions};
use azflux_core::fake::FakeCloud;
use azflux_core::fake::arm_kit::{Hooks, PlainHooks, ResourceType, UntrackedHooks};
use azflux_core::fake::resource_groups::FakeResourceGroups;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const VAULT_API: &str = "2026-02-01";

/// A raw ARM call through the cloud's transport, with the sandbox's ARM token.
async fn call(cloud: &FakeCloud, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let token = cloud
        .credential()
        .unwrap()
        .get_token(&["https://management.azure.com/.default"], None)
        .await
        .unwrap();
    let arm = cloud.arm_server().await;
    let client = reqwest::Client::new();
    let mut request = client
        .request(
            method.parse().unwrap(),
            format!("http://{}{path}", arm.address()),
        )
        .header("x-forwarded-host", "management.azure.com")
        .bearer_auth(token.token.secret());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn arm(cloud: &FakeCloud) -> ArmClient {
    ArmClient::new(
        &cloud.cloud(),
        cloud.credential().unwrap(),
        ArmClientOptions {
            http: cloud.http_options(),
            poller: PollerOptions::default(),
        },
    )
}

fn vault_path(sub: &str, rg: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}?api-version={VAULT_API}"
    )
}

async fn with_vaults() -> FakeCloud {
    let cloud = FakeCloud::start().await;
    cloud.arm_kit().register(ResourceType::new(
        "Microsoft.KeyVault/vaults",
        "test.vault",
        Arc::new(PlainHooks),
    ));
    cloud
}

#[tokio::test]
async fn ids_route_case_insensitively_and_names_keep_their_case() {
    let cloud = with_vaults().await;
    let (status, body) = call(
        &cloud,
        "PUT",
        &vault_path("s1", "Rg1", "MyVault"),
        Some(json!({"location": "West Europe"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["location"], "westeurope");
    let (status, got) = call(
        &cloud,
        "GET",
        &format!("/SUBSCRIPTIONS/s1/resourcegroups/RG1/providers/microsoft.keyvault/VAULTS/myvault?api-version={VAULT_API}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["name"], "MyVault");
    assert_eq!(
        got["id"],
        "/subscriptions/s1/resourceGroups/Rg1/providers/Microsoft.KeyVault/vaults/MyVault"
    );
    assert_eq!(got["type"], "Microsoft.KeyVault/vaults");
    assert_eq!(cloud.request_count("test.vault.put"), 1);
    assert_eq!(cloud.request_count("test.vault.get"), 1);
    // A second PUT of any case replaces it: 200, not a second resource.
    let (status, _) = call(
        &cloud,
        "PUT",
        &vault_path("s1", "rg1", "MYVAULT"),
        Some(json!({"location": "westeurope", "tags": {"a": "b"}})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        cloud
            .arm_kit()
            .resources_of("microsoft.keyvault/VAULTS")
            .len(),
        1
    );
}

#[tokio::test]
async fn arm_errors_come_in_one_envelope() {
    let cloud = with_vaults().await;
    let (status, body) = call(&cloud, "GET", &vault_path("s1", "rg", "nope"), None).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "ResourceNotFound");
    assert_eq!(
        body["error"]["message"],
        "The Resource 'Microsoft.KeyVault/vaults/nope' under resource group 'rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
    );
    let (status, body) = call(&cloud, "PUT", &vault_path("s1", "rg", "v"), Some(json!({}))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("LocationRequired"))
    );
    let (status, body) = call(
        &cloud,
        "GET",
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v?api-version=1999-01-01",
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "NoRegisteredProviderFound");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2026-02-01")
    );
    let (status, body) = call(
        &cloud,
        "GET",
        "/subscriptions/s1/resourcegroups/rg?api-version=1999-01-01",
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("InvalidApiVersionParameter"))
    );
    let (status, body) = call(
        &cloud,
        "GET",
        &format!("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/widgets/w?api-version={VAULT_API}"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("InvalidResourceType"))
    );
    // A DELETE of what is not there is 204.
    let (status, _) = call(&cloud, "DELETE", &vault_path("s1", "rg", "gone"), None).await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn resources_need_their_resource_group_and_nested_ones_their_parent() {
    let cloud = with_vaults().await;
    let kit = cloud.arm_kit();
    kit.register(ResourceType::new(
        "Microsoft.EventHub/namespaces",
        "test.ns",
        Arc::new(PlainHooks),
    ));
    kit.register(ResourceType::new(
        "Microsoft.EventHub/namespaces/eventhubs",
        "test.hub",
        Arc::new(UntrackedHooks),
    ));
    let groups = FakeResourceGroups::mount(&cloud).await;
    let (status, body) = call(
        &cloud,
        "PUT",
        &vault_path("s1", "rg", "v"),
        Some(json!({"location": "westeurope"})),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "ResourceGroupNotFound");
    assert_eq!(
        body["error"]["message"],
        "Resource group 'rg' could not be found."
    );
    // The Python SDK spells it `resourcegroups`.
    let (status, _) = call(
        &cloud,
        "PUT",
        "/subscriptions/s1/resourcegroups/Rg?api-version=2024-11-01",
        Some(json!({"location": "westeurope"})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(groups.ids(), ["/subscriptions/s1/resourceGroups/Rg"]);
    let (status, body) = call(
        &cloud,
        "PUT",
        "/subscriptions/s1/resourceGroups/rg?api-version=2024-11-01",
        Some(json!({"location": "northeurope"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("InvalidResourceGroupLocation"))
    );
    let hub = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns1/eventhubs/h1?api-version=2026-01-01";
    let (status, body) = call(&cloud, "PUT", hub, Some(json!({"properties": {}}))).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "ParentResourceNotFound");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/providers/Microsoft.EventHub/namespaces/ns1"),
        "{body}"
    );
    let ns = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns1?api-version=2026-01-01";
    assert_eq!(
        call(&cloud, "PUT", ns, Some(json!({"location": "westeurope"})))
            .await
            .0,
        201
    );
    assert_eq!(
        call(&cloud, "PUT", hub, Some(json!({"properties": {}})))
            .await
            .0,
        201
    );
    let (status, list) = call(
        &cloud,
        "GET",
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/NS1/eventhubs?api-version=2026-01-01",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["value"][0]["name"], "h1");
    // Deleting the group deletes what is in it.
    assert_eq!(
        call(
            &cloud,
            "DELETE",
            "/subscriptions/s1/resourceGroups/rg?api-version=2024-11-01",
            None
        )
        .await
        .0,
        200
    );
    assert!(
        kit.resources_of("Microsoft.EventHub/namespaces/eventhubs")
            .is_empty()
    );
    assert!(groups.ids().is_empty());
}

#[tokio::test]
async fn lists_page_with_next_link_by_group_and_by_subscription() {
    let cloud = with_vaults().await;
    cloud.arm_kit().set_page_size(2);
    for (rg, name) in [
        ("a", "v1"),
        ("a", "v2"),
        ("a", "v3"),
        ("b", "v4"),
        ("b", "v5"),
    ] {
        let (status, _) = call(
            &cloud,
            "PUT",
            &vault_path("s1", rg, name),
            Some(json!({"location": "westeurope"})),
        )
        .await;
        assert_eq!(status, 201);
    }
    call(
        &cloud,
        "PUT",
        &vault_path("other", "a", "v6"),
        Some(json!({"location": "westeurope"})),
    )
    .await;
    let (_, first) = call(
        &cloud,
        "GET",
        &format!("/subscriptions/s1/resourceGroups/A/providers/Microsoft.KeyVault/vaults?api-version={VAULT_API}"),
        None,
    )
    .await;
    assert_eq!(first["value"].as_array().unwrap().len(), 2);
    let next = first["nextLink"].as_str().unwrap();
    assert!(next.starts_with("https://management.azure.com/subscriptions/s1/resourceGroups/A/providers/Microsoft.KeyVault/vaults?api-version="), "{next}");
    assert!(next.contains("%24skiptoken="), "{next}");
    // The real client follows nextLink to the end.
    let client = arm(&cloud);
    let in_a = client
        .list(
            "/subscriptions/s1/resourceGroups/a/providers/Microsoft.KeyVault/vaults",
            VAULT_API,
        )
        .await
        .unwrap();
    let names: Vec<&str> = in_a.iter().filter_map(|v| v["name"].as_str()).collect();
    assert_eq!(names, ["v1", "v2", "v3"]);
    let in_s1 = client
        .list(
            "/subscriptions/s1/providers/Microsoft.KeyVault/vaults",
            VAULT_API,
        )
        .await
        .unwrap();
    assert_eq!(
        in_s1.len(),
        5,
        "by subscription: both groups, not the other subscription"
    );
    let (_, top) = call(
        &cloud,
        "GET",
        &format!(
            "/subscriptions/s1/providers/Microsoft.KeyVault/vaults?api-version={VAULT_API}&$top=4"
        ),
        None,
    )
    .await;
    assert_eq!(top["value"].as_array().unwrap().len(), 4);
    assert!(top["nextLink"].as_str().unwrap().contains("%24top=4"));
}

struct Slow;

impl Hooks for Slow {
    fn create_duration(&self) -> Option<Duration> {
        Some(Duration::from_secs(30))
    }
    fn delete_duration(&self) -> Option<Duration> {
        Some(Duration::from_secs(20))
    }
    fn retry_after(&self) -> Duration {
        Duration::from_secs(10)
    }
}

#[tokio::test]
async fn long_running_create_and_delete_move_on_the_fake_clock() {
    let cloud = FakeCloud::start().await;
    cloud.arm_kit().register(ResourceType::new(
        "Microsoft.ContainerRegistry/registries",
        "test.registry",
        Arc::new(Slow),
    ));
    let id =
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/reg1";
    let (status, body) = call(
        &cloud,
        "PUT",
        &format!("{id}?api-version=2025-11-01"),
        Some(json!({"location": "westeurope"})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(body["properties"]["provisioningState"], "Creating");
    let (_, op) = call(&cloud, "GET", "/subscriptions/s1/providers/Microsoft.ContainerRegistry/locations/westeurope/operationStatuses/x?api-version=2025-11-01", None).await;
    assert_eq!(
        op["error"]["code"], "InvalidResourceType",
        "unknown operation ids are not served"
    );
    cloud.arm_kit().remove(id);
    // The real client: PUT, poll Azure-AsyncOperation every Retry-After, GET the resource.
    let client = arm(&cloud);
    let done = client
        .put_and_wait(
            id,
            "2026-09-01-preview",
            &json!({"location": "westeurope"}),
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(done.body["properties"]["provisioningState"], "Succeeded");
    let clock = cloud.manual_clock().unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(10); 3]);
    assert!(cloud.request_count("test.registry.operation") >= 3);
    assert!(client.delete(id, "2025-11-01", &|_| {}).await.unwrap());
    assert!(
        cloud.arm_kit().resource(id).is_none(),
        "gone once the delete finished"
    );
    assert_eq!(
        clock.sleeps().len(),
        5,
        "two more polls of 10 s for a 20 s delete"
    );
}

#[tokio::test]
async fn patch_merges_into_the_resource() {
    let cloud = with_vaults().await;
    call(
        &cloud,
        "PUT",
        &vault_path("s1", "rg", "v"),
        Some(
            json!({"location": "westeurope", "tags": {"a": "1", "b": "2"}, "properties": {"x": 1}}),
        ),
    )
    .await;
    let (status, body) = call(
        &cloud,
        "PATCH",
        &vault_path("s1", "rg", "v"),
        Some(json!({"tags": {"b": null, "c": "3"}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tags"], json!({"a": "1", "c": "3"}));
    assert_eq!(body["properties"]["x"], 1);
    let (status, body) = call(
        &cloud,
        "PATCH",
        &vault_path("s1", "rg", "missing"),
        Some(json!({"tags": {}})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("ResourceNotFound"))
    );
}

#[tokio::test]
async fn az_login_reads_subscriptions_tenants_locations_and_providers() {
    let cloud = FakeCloud::start().await;
    let sandbox = cloud.sandbox().clone();
    let (status, subs) = call(&cloud, "GET", "/subscriptions?api-version=2022-12-01", None).await;
    assert_eq!(status, 200);
    assert_eq!(subs["value"][0]["subscriptionId"], sandbox.subscription_id);
    assert_eq!(subs["value"][0]["tenantId"], sandbox.tenant_id);
    assert_eq!(subs["value"][0]["state"], "Enabled");
    let (status, one) = call(
        &cloud,
        "GET",
        &format!(
            "/subscriptions/{}?api-version=2022-12-01",
            sandbox.subscription_id
        ),
        None,
    )
    .await;
    assert_eq!(
        (status, one["displayName"].as_str()),
        (200, Some("azflux sandbox"))
    );
    let (status, missing) = call(
        &cloud,
        "GET",
        "/subscriptions/00000000-0000-0000-0000-000000000000?api-version=2022-12-01",
        None,
    )
    .await;
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (404, Some("SubscriptionNotFound"))
    );
    let (_, tenants) = call(&cloud, "GET", "/tenants?api-version=2022-12-01", None).await;
    assert_eq!(tenants["value"][0]["tenantId"], sandbox.tenant_id);
    let (_, locations) = call(
        &cloud,
        "GET",
        &format!(
            "/subscriptions/{}/locations?api-version=2022-12-01",
            sandbox.subscription_id
        ),
        None,
    )
    .await;
    assert!(
        locations["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["name"] == "westeurope")
    );
    let sub = &sandbox.subscription_id;
    let (status, p) = call(&cloud, "POST", &format!("/subscriptions/{sub}/providers/Microsoft.ContainerService/unregister?api-version=2024-11-01"), None).await;
    assert_eq!(status, 200, "{p}");
    let (_, p) = call(
        &cloud,
        "GET",
        &format!(
            "/subscriptions/{sub}/providers/microsoft.containerservice?api-version=2024-11-01"
        ),
        None,
    )
    .await;
    assert_eq!(p["registrationState"], "NotRegistered");
    assert_eq!(p["namespace"], "Microsoft.ContainerService");
    let (_, p) = call(&cloud, "POST", &format!("/subscriptions/{sub}/providers/Microsoft.ContainerService/register?api-version=2024-11-01"), None).await;
    assert_eq!(p["registrationState"], "Registered");
    let (_, all) = call(
        &cloud,
        "GET",
        &format!("/subscriptions/{sub}/providers?api-version=2024-11-01"),
        None,
    )
    .await;
    assert!(all["value"].as_array().unwrap().len() >= 7);
}

#[tokio::test]
async fn roles_are_found_by_name_and_assignments_decide_access_with_inheritance() {
    let cloud = FakeCloud::start().await;
    let kit = cloud.arm_kit();
    let sub = cloud.sandbox().subscription_id.clone();
    let acr = format!(
        "/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/reg1"
    );
    let (status, defs) = call(
        &cloud,
        "GET",
        &format!("{acr}/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName%20eq%20'AcrPull'&api-version=2022-05-01-preview"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{defs}");
    let defs = defs["value"].as_array().unwrap();
    assert_eq!(defs.len(), 1);
    let role_id = defs[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        role_id,
        format!(
            "/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d"
        )
    );
    let principal = "5f3c5d0e-1111-4222-8333-444455556666";
    let assignment = format!(
        "{acr}/providers/Microsoft.Authorization/roleAssignments/0d3b5a34-9c4f-4d8c-9a6e-6f1f2b3c4d5e?api-version=2022-04-01"
    );
    let body = json!({"properties": {"roleDefinitionId": role_id, "principalId": principal, "principalType": "ServicePrincipal"}});
    let (status, e) = call(&cloud, "PUT", &assignment, Some(body.clone())).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("PrincipalNotFound"))
    );
    let now = cloud.clock().now();
    kit.add_principal(principal, now);
    kit.set_role_propagation(Duration::from_secs(60));
    let (status, created) = call(&cloud, "PUT", &assignment, Some(body.clone())).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["properties"]["principalType"], "ServicePrincipal");
    assert_eq!(created["properties"]["scope"], acr);
    assert_eq!(
        call(&cloud, "PUT", &assignment, Some(body)).await.0,
        200,
        "idempotent"
    );
    let pull = "Microsoft.ContainerRegistry/registries/pull/read";
    let later = now + time::Duration::seconds(61);
    assert!(
        !kit.permits(principal, &acr, pull, now),
        "not yet propagated"
    );
    assert!(kit.permits(principal, &acr, pull, later));
    assert!(
        kit.permits(principal, &format!("{acr}/repositories/x"), pull, later),
        "below the scope"
    );
    assert!(
        !kit.permits(
            principal,
            &format!("/subscriptions/{sub}/resourceGroups/rg"),
            pull,
            later
        ),
        "not above it"
    );
    assert!(!kit.permits(
        principal,
        &acr,
        "Microsoft.ContainerRegistry/registries/push/write",
        later
    ));
    assert_eq!(kit.role_assignments_for(principal).len(), 1);
    let (_, listed) = call(
        &cloud,
        "GET",
        &format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments?$filter=principalId%20eq%20'{principal}'&api-version=2022-04-01"),
        None,
    )
    .await;
    assert_eq!(
        listed["value"].as_array().unwrap().len(),
        1,
        "assignments below the scope are listed"
    );
}
