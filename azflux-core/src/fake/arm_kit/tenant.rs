//! What `az login` and the CLI read before touching a resource: `GET /subscriptions` (list and one),
//! `GET /tenants`, `GET /subscriptions/{id}/locations`, and resource providers: `GET [/subscriptions/{id}]
//! /providers[/{ns}]`, `POST /subscriptions/{id}/providers/{ns}/register`.
//!
//! Shapes from `specification/resources/resource-manager/Microsoft.Resources/stable/2022-12-01/
//! subscriptions.json` (Subscription, TenantIdDescription, Location) and `…/2024-11-01/resources.json`
//! (Provider, ProviderResourceType). The one subscription is the sandbox's; every provider starts
//! `Registered` there, as in a subscription that has used them.

use super::error::ArmError;
use super::{Answer, ArmKit, versions};
use crate::fake::arm::ArmCall;
use crate::fake::request::FakeRequest;
use serde_json::{Value, json};

/// The regions the fake cloud offers: (name, display name, geography group, paired region).
pub const LOCATIONS: &[(&str, &str, &str, &str)] = &[
    ("eastus", "East US", "US", "westus"),
    ("westus", "West US", "US", "eastus"),
    ("westus2", "West US 2", "US", "westcentralus"),
    ("westeurope", "West Europe", "Europe", "northeurope"),
    ("northeurope", "North Europe", "Europe", "westeurope"),
    ("uksouth", "UK South", "UK", "ukwest"),
    ("swedencentral", "Sweden Central", "Europe", "swedensouth"),
    (
        "germanywestcentral",
        "Germany West Central",
        "Europe",
        "germanynorth",
    ),
];

const NAMESPACES: &[&str] = &[
    "Microsoft.Resources",
    "Microsoft.ContainerService",
    "Microsoft.ManagedIdentity",
    "Microsoft.Authorization",
    "Microsoft.ContainerRegistry",
    "Microsoft.KeyVault",
    "Microsoft.EventHub",
];

fn check(call: &ArmCall, supported: &[&str]) -> Result<(), ArmError> {
    if supported.contains(&call.api_version.as_str()) {
        Ok(())
    } else {
        Err(versions::unsupported(
            supported,
            &call.api_version,
            "Microsoft.Resources",
            "",
            "",
        ))
    }
}

fn subscription_body(kit: &ArmKit) -> Value {
    let sandbox = kit.cloud().sandbox();
    json!({
        "id": format!("/subscriptions/{}", sandbox.subscription_id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sandbox.subscription_id,
        "tenantId": sandbox.tenant_id,
        "displayName": "azflux sandbox",
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    })
}

fn is_sandbox(kit: &ArmKit, id: &str) -> bool {
    kit.cloud()
        .sandbox()
        .subscription_id
        .eq_ignore_ascii_case(id)
}

/// Serves the tenant-level and subscription-level endpoints; `Ok(None)` for any other path.
/// `seg` is the lower-case path.
pub fn route(
    kit: &ArmKit,
    r: &FakeRequest<'_>,
    call: &ArmCall,
    seg: &[&str],
) -> Result<Option<Answer>, ArmError> {
    let method = r.method();
    let get = method == "GET";
    let sub_id = || {
        r.path()
            .split('/')
            .filter(|s| !s.is_empty())
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    };
    let answer = match seg {
        ["subscriptions"] if get => {
            check(call, versions::SUBSCRIPTIONS)?;
            kit.count("arm.subscriptions.list");
            Answer::json(
                200,
                json!({"value": [subscription_body(kit)], "count": {"type": "Total", "value": 1}}),
            )
        }
        ["subscriptions", _] if get => {
            check(call, versions::SUBSCRIPTIONS)?;
            kit.count("arm.subscriptions.get");
            if !is_sandbox(kit, &sub_id()) {
                return Err(ArmError::subscription_not_found(&sub_id()));
            }
            Answer::json(200, subscription_body(kit))
        }
        ["tenants"] if get => {
            check(call, versions::SUBSCRIPTIONS)?;
            kit.count("arm.tenants.list");
            let tenant = &kit.cloud().sandbox().tenant_id;
            Answer::json(
                200,
                json!({"value": [{
                    "id": format!("/tenants/{tenant}"),
                    "tenantId": tenant,
                    "tenantCategory": "Home",
                    "countryCode": "US",
                    "displayName": "azflux sandbox",
                    "domains": ["azfluxsandbox.onmicrosoft.com"],
                    "defaultDomain": "azfluxsandbox.onmicrosoft.com",
                    "tenantType": "AAD",
                }]}),
            )
        }
        ["subscriptions", _, "locations"] if get => {
            check(call, versions::SUBSCRIPTIONS)?;
            kit.count("arm.locations.list");
            let sub = sub_id();
            if !is_sandbox(kit, &sub) {
                return Err(ArmError::subscription_not_found(&sub));
            }
            let value: Vec<Value> = LOCATIONS
                .iter()
                .map(|(name, display, geo, pair)| {
                    json!({
                        "id": format!("/subscriptions/{sub}/locations/{name}"),
                        "name": name,
                        "displayName": display,
                        "regionalDisplayName": format!("({geo}) {display}"),
                        "type": "Region",
                        "metadata": {
                            "regionType": "Physical",
                            "regionCategory": "Recommended",
                            "geographyGroup": geo,
                            "pairedRegion": [{"name": pair, "id": format!("/subscriptions/{sub}/locations/{pair}")}],
                        },
                    })
                })
                .collect();
            Answer::json(200, json!({"value": value}))
        }
        ["providers"] if get => {
            check(call, versions::RESOURCES)?;
            kit.count("arm.providers.list");
            providers_list(kit, None)
        }
        ["subscriptions", _, "providers"] if get => {
            check(call, versions::RESOURCES)?;
            kit.count("arm.providers.list");
            providers_list(kit, Some(&sub_id()))
        }
        ["providers", ns] if get => {
            check(call, versions::RESOURCES)?;
            kit.count("arm.providers.get");
            Answer::json(200, provider(kit, None, ns)?)
        }
        ["subscriptions", _, "providers", ns] if get => {
            check(call, versions::RESOURCES)?;
            kit.count("arm.providers.get");
            Answer::json(200, provider(kit, Some(&sub_id()), ns)?)
        }
        [
            "subscriptions",
            _,
            "providers",
            ns,
            action @ ("register" | "unregister"),
        ] if method == "POST" => {
            check(call, versions::RESOURCES)?;
            kit.count(&format!("arm.providers.{action}"));
            let sub = sub_id().to_ascii_lowercase();
            let ns = ns.to_ascii_lowercase();
            {
                let mut state = kit.state();
                state.unregistered.retain(|(s, n)| !(s == &sub && n == &ns));
                if *action == "unregister" {
                    state.unregistered.push((sub.clone(), ns.clone()));
                }
            }
            let mut body = provider(kit, Some(&sub), &ns)?;
            if *action == "unregister" {
                body["registrationState"] = json!("Unregistering");
            }
            Answer::json(200, body)
        }
        _ => return Ok(None),
    };
    Ok(Some(answer))
}

fn providers_list(kit: &ArmKit, subscription: Option<&str>) -> Answer {
    let value: Vec<Value> = NAMESPACES
        .iter()
        .filter_map(|ns| provider(kit, subscription, ns).ok())
        .collect();
    Answer::json(200, json!({"value": value}))
}

/// A provider's body: its registration state in the subscription and its resource types with their
/// api-versions.
fn provider(kit: &ArmKit, subscription: Option<&str>, ns: &str) -> Result<Value, ArmError> {
    let Some(canonical) = NAMESPACES.iter().find(|n| n.eq_ignore_ascii_case(ns)) else {
        return Err(ArmError::new(
            404,
            "InvalidResourceNamespace",
            format!("The resource namespace '{ns}' is invalid."),
        ));
    };
    let versions = versions::for_namespace(canonical).unwrap_or_default();
    let mut newest_first: Vec<&str> = versions.to_vec();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    let locations: Vec<&str> = super::tenant::LOCATIONS
        .iter()
        .map(|(_, d, _, _)| *d)
        .collect();
    let prefix = format!("{}/", canonical.to_ascii_lowercase());
    let mut types: Vec<Value> = kit
        .inner
        .types
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .values()
        .filter(|t| t.key.starts_with(&prefix))
        .map(|t| {
            let mut v: Vec<&str> = t.api_versions.iter().map(String::as_str).collect();
            v.sort_unstable_by(|a, b| b.cmp(a));
            json!({
                "resourceType": t.type_name.split_once('/').map(|(_, r)| r).unwrap_or_default(),
                "locations": locations,
                "apiVersions": v,
            })
        })
        .collect();
    types.sort_by(|a, b| a["resourceType"].as_str().cmp(&b["resourceType"].as_str()));
    if types.is_empty() {
        types.push(
            json!({"resourceType": "operations", "locations": [], "apiVersions": newest_first}),
        );
    }
    let mut body = json!({
        "id": format!("/providers/{canonical}"),
        "namespace": canonical,
        "resourceTypes": types,
    });
    if let Some(sub) = subscription {
        let unregistered = kit
            .state()
            .unregistered
            .iter()
            .any(|(s, n)| s.eq_ignore_ascii_case(sub) && n.eq_ignore_ascii_case(canonical));
        body["id"] = json!(format!("/subscriptions/{sub}/providers/{canonical}"));
        body["registrationState"] = json!(if unregistered {
            "NotRegistered"
        } else {
            "Registered"
        });
        body["registrationPolicy"] = json!("RegistrationRequired");
    }
    Ok(body)
}
