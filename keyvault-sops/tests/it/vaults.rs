//! Key Vault management (`VaultManagement::ensure_vault`) against the ARM side of the Key Vault fake: create and
//! wait for DNS registration, no second PUT on a re-run (also after a crash mid-create), warnings about existing
//! vaults, the name rules, names taken elsewhere, soft-deleted names and their recovery, a failed provisioning,
//! retries of 429 / 5xx, the vault URI with the data plane, and the fake's own strictness.

use azflux_core::arm::{ArmClient, ArmClientOptions, LroProgress, PollerOptions};
use azflux_core::fake::FakeCloud;
use azflux_core::fake::faults::{Fault, FaultMatch};
use azflux_core::http::{Response, json_request};
use azure_core::http::{Method, Url};
use keyvault_sops::client::CreateKeyOptions;
use keyvault_sops::fake::FakeKeyVault;
use keyvault_sops::{
    Error, KeyVaultClient, VAULTS_API_VERSION, VaultManagement, VaultSku, VaultSpec,
};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const RG: &str = "rg-flux";

struct World {
    cloud: FakeCloud,
    fake: FakeKeyVault,
    arm: ArmClient,
    vaults: VaultManagement,
}

async fn world() -> World {
    let cloud = FakeCloud::start().await;
    let fake = FakeKeyVault::mount(&cloud).await;
    let arm = ArmClient::new(
        &cloud.cloud(),
        cloud.credential().unwrap(),
        ArmClientOptions {
            http: cloud.http_options(),
            poller: PollerOptions::default(),
        },
    );
    let vaults = VaultManagement::new(arm.clone());
    World {
        cloud,
        fake,
        arm,
        vaults,
    }
}

fn spec(w: &World, name: &str) -> VaultSpec {
    VaultSpec::new(
        w.cloud.sandbox().subscription_id.clone(),
        RG,
        name,
        "westeurope",
        w.cloud.sandbox().tenant_id.clone(),
    )
}

type Seen = Arc<Mutex<Vec<LroProgress>>>;

fn recorder() -> (Seen, impl Fn(&LroProgress) + Send + Sync) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    (seen, move |p: &LroProgress| {
        s.lock().unwrap().push(p.clone())
    })
}

async fn raw(w: &World, method: Method, url: &str, body: Option<&Value>) -> (Response, Value) {
    let mut request = json_request(method, Url::parse(url).unwrap(), body).unwrap();
    let response = w.arm.pipeline().send(&mut request).await.unwrap();
    let json = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    (response, json)
}

fn arm_url(id: &str) -> String {
    format!("https://management.azure.com{id}?api-version={VAULTS_API_VERSION}")
}

#[tokio::test]
async fn creates_an_rbac_vault_and_waits_for_its_dns_name() {
    let w = world().await;
    let s = spec(&w, "kv-flux-create");
    let (seen, progress) = recorder();
    let ensured = w.vaults.ensure_vault(&s, &progress).await.unwrap();

    assert!(ensured.created);
    assert!(!ensured.recovered);
    assert!(ensured.warnings.is_empty(), "{:?}", ensured.warnings);
    let vault = &ensured.vault;
    assert_eq!(vault.id, s.resource_id());
    assert_eq!(vault.name, "kv-flux-create");
    assert_eq!(vault.vault_uri, "https://kv-flux-create.vault.azure.net/");
    assert_eq!(vault.tenant_id, w.cloud.sandbox().tenant_id);
    assert!(vault.rbac_authorization);
    assert_eq!(vault.public_network_access.as_deref(), Some("Enabled"));
    assert_eq!(vault.provisioning_state.as_deref(), Some("Succeeded"));

    // The PUT answered RegisteringDns; the client polled the vault until Succeeded.
    {
        let seen = seen.lock().unwrap();
        assert_eq!(
            seen.last().map(|p| p.status.as_str()),
            Some("Succeeded"),
            "{seen:?}"
        );
    }
    assert_eq!(w.cloud.request_count("keyvault.arm.vault.put"), 1);
    assert!(w.cloud.request_count("keyvault.arm.vault.get") >= 2);

    // What was sent: RBAC, soft delete with the retention, purge protection, public access.
    let stored = w.fake.arm_vault("kv-flux-create").unwrap();
    let p = &stored["properties"];
    assert_eq!(p["enableRbacAuthorization"], true);
    assert_eq!(p["enableSoftDelete"], true);
    assert_eq!(p["softDeleteRetentionInDays"], 90);
    assert_eq!(p["enablePurgeProtection"], true);
    assert_eq!(p["publicNetworkAccess"], "Enabled");
    assert_eq!(p["sku"], json!({"family": "A", "name": "standard"}));

    let got = w
        .vaults
        .get_vault(&s.subscription_id, RG, "kv-flux-create")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&got, vault);
}

#[tokio::test]
async fn premium_sku_tags_and_retention_are_sent() {
    let w = world().await;
    let mut s = spec(&w, "kv-premium");
    s.sku = VaultSku::Premium;
    s.soft_delete_retention_days = 7;
    s.purge_protection = false;
    s.tags.insert("owner".into(), "flux".into());
    w.vaults.ensure_vault(&s, &|_| {}).await.unwrap();
    let stored = w.fake.arm_vault("kv-premium").unwrap();
    assert_eq!(stored["properties"]["sku"]["name"], "premium");
    assert_eq!(stored["properties"]["softDeleteRetentionInDays"], 7);
    assert!(stored["properties"].get("enablePurgeProtection").is_none());
    assert_eq!(stored["tags"], json!({"owner": "flux"}));
}

#[tokio::test]
async fn a_second_ensure_sends_no_put() {
    let w = world().await;
    let s = spec(&w, "kv-twice");
    let first = w.vaults.ensure_vault(&s, &|_| {}).await.unwrap();
    let second = w.vaults.ensure_vault(&s, &|_| {}).await.unwrap();
    assert!(first.created);
    assert!(!second.created);
    assert!(second.warnings.is_empty(), "{:?}", second.warnings);
    assert_eq!(second.vault, first.vault);
    assert_eq!(w.cloud.request_count("keyvault.arm.vault.put"), 1);
}

#[tokio::test]
async fn a_rerun_after_a_crash_mid_create_waits_without_a_second_put() {
    let w = world().await;
    let s = spec(&w, "kv-crashed");
    // A previous run sent the PUT and died before the vault finished registering its DNS name.
    let body = json!({"location": "westeurope", "properties": {"tenantId": s.tenant_id, "sku": {"family": "A", "name": "standard"}, "enableRbacAuthorization": true}});
    let (response, json) = raw(&w, Method::Put, &arm_url(&s.resource_id()), Some(&body)).await;
    assert_eq!(response.status, 201);
    assert_eq!(json["properties"]["provisioningState"], "RegisteringDns");
    assert_eq!(
        w.fake.arm_vault("kv-crashed").unwrap()["properties"]["provisioningState"],
        "RegisteringDns"
    );

    let (seen, progress) = recorder();
    let ensured = w.vaults.ensure_vault(&s, &progress).await.unwrap();
    assert!(!ensured.created);
    assert_eq!(
        ensured.vault.provisioning_state.as_deref(),
        Some("Succeeded")
    );
    assert!(!seen.lock().unwrap().is_empty(), "it polled the vault");
    assert_eq!(w.cloud.request_count("keyvault.arm.vault.put"), 1);
}

#[tokio::test]
async fn an_existing_access_policy_vault_is_left_alone_with_a_warning() {
    let w = world().await;
    let s = spec(&w, "kv-policies");
    w.fake
        .add_arm_vault(&s.subscription_id, RG, "kv-policies", false);
    let ensured = w.vaults.ensure_vault(&s, &|_| {}).await.unwrap();
    assert!(!ensured.created);
    assert!(!ensured.vault.rbac_authorization);
    assert_eq!(ensured.warnings.len(), 1, "{:?}", ensured.warnings);
    let warning = &ensured.warnings[0];
    for needle in [
        "access-policy",
        "Key Vault Crypto User",
        "--enable-rbac-authorization true",
        "encrypt",
        "decrypt",
    ] {
        assert!(warning.contains(needle), "{needle}: {warning}");
    }
    assert_eq!(w.cloud.request_count("keyvault.arm.vault.put"), 0);
    assert_eq!(
        w.fake.arm_vault("kv-policies").unwrap()["properties"]["enableRbacAuthorization"],
        false
    );
}

#[tokio::test]
async fn an_existing_vault_without_public_access_gets_a_warning() {
    let w = world().await;
    let s = spec(&w, "kv-private");
    w.fake
        .add_arm_vault(&s.subscription_id, RG, "kv-private", true);
    assert!(w.fake.update_arm_vault("kv-private", |v| {
        v["properties"]["publicNetworkAccess"] = "Disabled".into();
    }));
    let ensured = w.vaults.ensure_vault(&s, &|_| {}).await.unwrap();
    assert_eq!(ensured.warnings.len(), 1, "{:?}", ensured.warnings);
    assert!(ensured.warnings[0].contains("public network access disabled"));
    assert!(ensured.warnings[0].contains("private endpoint"));
    assert_eq!(
        ensured.vault.public_network_access.as_deref(),
        Some("Disabled")
    );
    assert_eq!(w.cloud.request_count("keyvault.arm.vault.put"), 0);
}

#[tokio::test]
async fn an_existing_vault_of_another_tenant_or_region_gets_warnings() {
    let w = world().await;
    let s = spec(&w, "kv-elsewhere");
    w.fake
        .add_arm_vault(&s.subscription_id, RG, "kv-elsewhere", true);
    w.fake.update_arm_vault("kv-elsewhere", |v| {
        v["location"] = "northeurope".into();
        v["properties"]["tenantId"] = "00000000-0000-0000-0000-0000000000ff".into();
        v["properties"]["networkAcls"] =
            json!({"defaultAction": "Deny", "bypass": "AzureServices"});
    });
    let warnings = w.vaults.ensure_vault(&s, &|_| {}).await.unwrap().warnings;
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings.iter().any(|m| m.contains("firewall")));
    assert!(
        warnings
            .iter()
            .any(|m| m.contains("tenant 00000000-0000-0000-0000-0000000000ff"))
    );
    assert!(warnings.iter().any(|m| m.contains("northeurope")));
}

#[tokio::test]
async fn invalid_specs_are_refused_before_anything_is_sent() {
    let w = world().await;
    let names: [(&str, Option<&str>); 12] = [
        ("kv1", None),
        ("a-b-c", None),
        ("Flux-Secrets-2024", None),
        ("abcdefghijklmnopqrstuvwx", None),
        ("ab", Some("2 characters")),
        ("abcdefghijklmnopqrstuvwxy", Some("25 characters")),
        ("1vault", Some("does not start with a letter")),
        ("-vault", Some("does not start with a letter")),
        ("vault-", Some("ends with a hyphen")),
        ("va--ult", Some("consecutive hyphens")),
        ("va_ult", Some("contains '_'")),
        ("vault.x", Some("contains '.'")),
    ];
    for (name, problem) in names {
        let result = spec(&w, name).validate();
        match problem {
            None => assert!(result.is_ok(), "{name}: {result:?}"),
            Some(fragment) => {
                let message = result.unwrap_err().to_string();
                assert!(message.contains(fragment), "{name}: {message}");
                assert!(message.contains(&format!("'{name}'")), "{name}: {message}");
                assert!(message.contains("3-24"), "{name}: {message}");
                let err = w.vaults.ensure_vault(&spec(&w, name), &|_| {}).await;
                assert!(matches!(err, Err(Error::InvalidInput { .. })), "{err:?}");
            }
        }
    }
    let mut s = spec(&w, "kv-ok");
    s.tenant_id = "contoso.onmicrosoft.com".into();
    let message = s.validate().unwrap_err().to_string();
    assert!(
        message.contains("contoso.onmicrosoft.com") && message.contains("GUID"),
        "{message}"
    );
    for days in [6, 91] {
        let mut s = spec(&w, "kv-ok");
        s.soft_delete_retention_days = days;
        let message = s.validate().unwrap_err().to_string();
        assert!(
            message.contains(&format!("{days} days")) && message.contains("7..=90"),
            "{message}"
        );
    }
    let mut s = spec(&w, "kv-ok");
    s.resource_group = "rg.".into();
    assert!(s.validate().unwrap_err().to_string().contains("'rg.'"));
    let mut s = spec(&w, "kv-ok");
    s.location = "west/europe".into();
    assert!(
        s.validate()
            .unwrap_err()
            .to_string()
            .contains("west/europe")
    );
    assert_eq!(w.cloud.request_count_prefix("keyvault.arm."), 0);
}

#[tokio::test]
async fn a_name_taken_in_another_subscription_is_a_typed_error() {
    let w = world().await;
    w.fake.add_arm_vault(
        "99999999-0000-4000-8000-000000000099",
        "their-rg",
        "kv-taken",
        true,
    );
    let err = w
        .vaults
        .ensure_vault(&spec(&w, "kv-taken"), &|_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::VaultNameTaken { ref name, .. } if name == "kv-taken"),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("choose another name"), "{message}");
    assert!(message.contains("VaultAlreadyExists"), "{message}");
    // Same subscription, another resource group: taken too.
    let w = world().await;
    let sub = w.cloud.sandbox().subscription_id.clone();
    w.fake.add_arm_vault(&sub, "other-rg", "kv-taken", true);
    let err = w
        .vaults
        .ensure_vault(&spec(&w, "kv-taken"), &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, Error::VaultNameTaken { .. }), "{err:?}");
}

#[tokio::test]
async fn a_soft_deleted_name_is_a_typed_error_or_is_recovered() {
    let w = world().await;
    let sub = w.cloud.sandbox().subscription_id.clone();
    w.fake.add_arm_vault(&sub, RG, "kv-deleted", false);
    assert!(w.fake.soft_delete_arm_vault("kv-deleted"));
    assert_eq!(w.fake.deleted_arm_vaults(), vec!["kv-deleted".to_owned()]);

    let err = w
        .vaults
        .ensure_vault(&spec(&w, "kv-deleted"), &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, Error::VaultSoftDeleted { .. }), "{err:?}");
    let message = err.to_string();
    for needle in [
        "recover_soft_deleted = true",
        "purge",
        "choose another name",
    ] {
        assert!(message.contains(needle), "{needle}: {message}");
    }
    assert_eq!(w.cloud.request_count("keyvault.arm.vault.put"), 1);

    let mut s = spec(&w, "kv-deleted");
    s.recover_soft_deleted = true;
    let ensured = w.vaults.ensure_vault(&s, &|_| {}).await.unwrap();
    assert!(ensured.created && ensured.recovered);
    assert_eq!(
        ensured.vault.provisioning_state.as_deref(),
        Some("Succeeded")
    );
    // The vault came back as it was (access policies), not as asked; both are said.
    assert!(!ensured.vault.rbac_authorization);
    assert!(
        ensured.warnings[0].contains("recovered"),
        "{:?}",
        ensured.warnings
    );
    assert!(ensured.warnings.iter().any(|m| m.contains("access-policy")));
    // One refused PUT, then the refused default PUT and the recover PUT of the second call.
    assert_eq!(w.cloud.request_count("keyvault.arm.vault.put"), 3);
    assert!(w.fake.deleted_arm_vaults().is_empty());
}

#[tokio::test]
async fn a_purged_name_can_be_created_again() {
    let w = world().await;
    let s = spec(&w, "kv-purged");
    w.vaults.ensure_vault(&s, &|_| {}).await.unwrap();
    assert!(
        w.arm
            .delete(&s.resource_id(), VAULTS_API_VERSION, &|_| {})
            .await
            .unwrap()
    );
    assert!(
        w.vaults
            .get_vault(&s.subscription_id, RG, "kv-purged")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(w.fake.deleted_arm_vaults(), vec!["kv-purged".to_owned()]);
    assert!(w.fake.purge_arm_vault("kv-purged"));
    let again = w.vaults.ensure_vault(&s, &|_| {}).await.unwrap();
    assert!(again.created && !again.recovered);
}

#[tokio::test]
async fn a_failed_provisioning_is_surfaced_with_code_and_message() {
    let w = world().await;
    w.fake.fail_next_arm_vault_create(
        "DnsRegistrationFailed",
        "The DNS name could not be registered.",
    );
    let err = w
        .vaults
        .ensure_vault(&spec(&w, "kv-fails"), &|_| {})
        .await
        .unwrap_err();
    match &err {
        Error::VaultProvisioningFailed {
            name,
            status,
            code,
            message,
        } => {
            assert_eq!(name, "kv-fails");
            assert_eq!(status, "Failed");
            assert_eq!(code, "DnsRegistrationFailed");
            assert_eq!(message, "The DNS name could not be registered.");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("DnsRegistrationFailed"));
    // A re-run finds the failed vault and says so again, without a PUT.
    let again = w
        .vaults
        .ensure_vault(&spec(&w, "kv-fails"), &|_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(again, Error::VaultProvisioningFailed { .. }),
        "{again:?}"
    );
    assert_eq!(w.cloud.request_count("keyvault.arm.vault.put"), 1);
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried() {
    let w = world().await;
    w.cloud.faults().inject(
        FaultMatch::path("/vaults/kv-retried").method("PUT"),
        Fault::throttle(1),
        2,
    );
    w.cloud.faults().inject(
        FaultMatch::path("/vaults/kv-retried").method("GET"),
        Fault::server_error(503),
        2,
    );
    let ensured = w
        .vaults
        .ensure_vault(&spec(&w, "kv-retried"), &|_| {})
        .await
        .unwrap();
    assert!(ensured.created);
    assert_eq!(w.cloud.faults().fired().len(), 4);
    assert_eq!(w.cloud.request_count("keyvault.arm.vault.put"), 3);
    assert_eq!(
        w.fake.arm_vault("kv-retried").unwrap()["properties"]["provisioningState"],
        "Succeeded"
    );
}

#[tokio::test]
async fn the_vault_uri_is_what_the_data_plane_uses() {
    let w = world().await;
    w.fake.set_generated_key_bits(Some(2048));
    let vault = w
        .vaults
        .ensure_vault(&spec(&w, "kv-dataplane"), &|_| {})
        .await
        .unwrap()
        .vault;
    let client = KeyVaultClient::new(
        &w.cloud.cloud(),
        w.cloud.credential().unwrap(),
        &w.cloud.http_options(),
    );
    let key = client
        .ensure_key(&vault.vault_uri, "sops", &CreateKeyOptions::default())
        .await
        .unwrap();
    assert!(key.created);
    assert_eq!(w.fake.versions("kv-dataplane", "sops").len(), 1);
}

#[tokio::test]
async fn the_fake_refuses_what_the_service_refuses() {
    let w = world().await;
    let sub = w.cloud.sandbox().subscription_id.clone();
    let tenant = w.cloud.sandbox().tenant_id.clone();
    let id = |name: &str| {
        format!(
            "/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/{name}"
        )
    };
    let good = json!({"location": "westeurope", "properties": {"tenantId": tenant, "sku": {"family": "A", "name": "standard"}, "enableRbacAuthorization": true}});
    let cases: Vec<(String, Value, u16, &str, &str)> = vec![
        (
            arm_url(&id("1bad")),
            good.clone(),
            400,
            "VaultNameNotValid",
            "The vault name '1bad' is invalid.",
        ),
        (
            arm_url(&id("kv-a")),
            json!({"properties": good["properties"]}),
            400,
            "LocationRequired",
            "location",
        ),
        (
            arm_url(&id("kv-a")),
            json!({"location": "westeurope", "properties": {"sku": {"family": "A", "name": "standard"}}}),
            400,
            "BadRequest",
            "tenantId",
        ),
        (
            arm_url(&id("kv-a")),
            json!({"location": "westeurope", "properties": {"tenantId": tenant}}),
            400,
            "BadRequest",
            "sku",
        ),
        (
            arm_url(&id("kv-a")),
            json!({"location": "westeurope", "properties": {"tenantId": tenant, "sku": {"family": "B", "name": "standard"}}}),
            400,
            "BadRequest",
            "sku.family",
        ),
        (
            arm_url(&id("kv-a")),
            json!({"location": "westeurope", "properties": {"tenantId": tenant, "sku": {"family": "A", "name": "gold"}}}),
            400,
            "BadRequest",
            "sku.name",
        ),
        (
            arm_url(&id("kv-a")),
            json!({"location": "westeurope", "properties": {"tenantId": tenant, "sku": {"family": "A", "name": "standard"}}}),
            400,
            "BadRequest",
            "accessPolicies",
        ),
        (
            arm_url(&id("kv-a")),
            json!({"location": "westeurope", "properties": {"tenantId": tenant, "sku": {"family": "A", "name": "standard"}, "enableRbacAuthorization": true, "createMode": "recover"}}),
            404,
            "SoftDeletedVaultDoesNotExist",
            "kv-a",
        ),
        (
            format!("https://management.azure.com{}", id("kv-a")),
            good.clone(),
            400,
            "MissingApiVersionParameter",
            "api-version",
        ),
    ];
    for (url, body, status, code, fragment) in cases {
        let (response, json) = raw(&w, Method::Put, &url, Some(&body)).await;
        assert_eq!(response.status, status, "{url} {body}: {json}");
        assert_eq!(json["error"]["code"], code, "{json}");
        assert!(
            json["error"]["message"]
                .as_str()
                .unwrap()
                .contains(fragment),
            "{json}"
        );
    }
    assert!(w.fake.arm_vault("kv-a").is_none());

    let (response, json) = raw(&w, Method::Get, &arm_url(&id("kv-missing")), None).await;
    assert_eq!(response.status, 404);
    assert_eq!(json["error"]["code"], "ResourceNotFound");
    assert_eq!(
        json["error"]["message"],
        format!(
            "The Resource 'Microsoft.KeyVault/vaults/kv-missing' under resource group '{RG}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        )
    );

    // A create reports RegisteringDns until the clock moves past the registration time.
    let (response, json) = raw(&w, Method::Put, &arm_url(&id("kv-dns")), Some(&good)).await;
    assert_eq!(response.status, 201);
    assert_eq!(json["properties"]["provisioningState"], "RegisteringDns");
    assert_eq!(
        json["properties"]["vaultUri"],
        "https://kv-dns.vault.azure.net/"
    );
    let (_, json) = raw(&w, Method::Get, &arm_url(&id("kv-dns")), None).await;
    assert_eq!(json["properties"]["provisioningState"], "RegisteringDns");
    w.cloud
        .manual_clock()
        .unwrap()
        .advance(std::time::Duration::from_secs(10));
    let (_, json) = raw(&w, Method::Get, &arm_url(&id("kv-dns")), None).await;
    assert_eq!(json["properties"]["provisioningState"], "Succeeded");

    // DELETE soft-deletes; a missing vault is 204.
    let (response, _) = raw(&w, Method::Delete, &arm_url(&id("kv-dns")), None).await;
    assert_eq!(response.status, 200);
    let (response, _) = raw(&w, Method::Delete, &arm_url(&id("kv-dns")), None).await;
    assert_eq!(response.status, 204);
    let (response, json) = raw(&w, Method::Put, &arm_url(&id("kv-dns")), Some(&good)).await;
    assert_eq!(response.status, 409);
    assert_eq!(json["error"]["code"], "ConflictError");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("deleted state")
    );
}
