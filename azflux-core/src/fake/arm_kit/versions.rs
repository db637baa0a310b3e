//! The api-versions each resource provider serves, taken from the version folders of
//! `Azure/azure-rest-api-specs` (`specification/<rp>/resource-manager/<Namespace>/…/{stable,preview}/<version>`,
//! digested in `/work/shared/design/azure-rest.md`), plus the versions the clients we test with send: the
//! Python SDK `azure-mgmt-containerservice` 41.9.0 defaults to `2026-09-01`, `azure-mgmt-msi` 7.1.0 to
//! `2024-11-30`, `azure-mgmt-resource` (subscriptions, resource groups, providers) to `2024-11-01`/
//! `2022-12-01`, and az CLI 2.8x/2.9x sends ACR `2026-09-01-preview` (issue 12).
//!
//! A version the provider does not serve is answered the way ARM answers it: `400
//! NoRegisteredProviderFound` for resource providers, `400 InvalidApiVersionParameter` for
//! Microsoft.Resources (subscriptions, resource groups, providers) — see [`unsupported`].

use super::error::ArmError;

/// Microsoft.Resources: resource groups, providers (`specification/resources/resource-manager/
/// Microsoft.Resources/stable/*`).
pub const RESOURCES: &[&str] = &[
    "2016-09-01",
    "2017-05-10",
    "2018-02-01",
    "2018-05-01",
    "2019-05-01",
    "2019-07-01",
    "2019-10-01",
    "2020-06-01",
    "2020-10-01",
    "2021-01-01",
    "2021-04-01",
    "2022-09-01",
    "2023-07-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-03-01",
    "2025-04-01",
];

/// Subscriptions, tenants and locations (`specification/resources/resource-manager/Microsoft.Resources/
/// stable/*/subscriptions.json`; az login sends 2022-12-01).
pub const SUBSCRIPTIONS: &[&str] = &[
    "2016-06-01",
    "2018-06-01",
    "2019-06-01",
    "2019-11-01",
    "2020-01-01",
    "2021-01-01",
    "2022-12-01",
    "2024-11-01",
    "2025-03-01",
];

/// Microsoft.ContainerService (AKS). `2026-09-01` is what azure-mgmt-containerservice 41.9.0 sends.
pub const CONTAINER_SERVICE: &[&str] = &[
    "2024-01-01",
    "2024-02-01",
    "2024-05-01",
    "2024-06-01",
    "2024-07-01",
    "2024-08-01",
    "2024-09-01",
    "2024-10-01",
    "2025-01-01",
    "2025-02-01",
    "2025-03-01",
    "2025-04-01",
    "2025-05-01",
    "2025-06-01",
    "2025-07-01",
    "2025-08-01",
    "2025-09-01",
    "2025-10-01",
    "2026-01-01",
    "2026-02-01",
    "2026-03-01",
    "2026-04-01",
    "2026-05-01",
    "2026-06-01",
    "2026-07-01",
    "2026-08-01",
    "2026-09-01",
    "2026-10-01",
    "2024-09-02-preview",
    "2025-05-02-preview",
    "2025-08-02-preview",
    "2026-06-02-preview",
    "2026-08-02-preview",
];

/// Microsoft.ManagedIdentity (`specification/msi/…/stable/*`, with federated identity credentials from
/// 2022-01-31-preview).
pub const MANAGED_IDENTITY: &[&str] = &[
    "2018-11-30",
    "2021-09-30-preview",
    "2022-01-31-preview",
    "2023-01-31",
    "2023-07-31-preview",
    "2024-11-30",
    "2025-01-31-preview",
    "2026-04-30",
    "2026-05-31",
];

/// Microsoft.Authorization role assignments and definitions (az CLI sends 2022-04-01; role definitions
/// also 2022-05-01-preview).
pub const AUTHORIZATION: &[&str] = &[
    "2015-07-01",
    "2018-01-01-preview",
    "2018-09-01-preview",
    "2020-03-01-preview",
    "2020-04-01-preview",
    "2020-10-01-preview",
    "2021-04-01-preview",
    "2022-01-01-preview",
    "2022-04-01",
    "2022-05-01-preview",
];

/// Microsoft.ContainerRegistry (`specification/containerregistry/…/Registry/{stable,preview}/*`).
pub const CONTAINER_REGISTRY: &[&str] = &[
    "2019-05-01",
    "2019-12-01-preview",
    "2020-11-01-preview",
    "2021-06-01-preview",
    "2021-08-01-preview",
    "2021-09-01",
    "2021-12-01-preview",
    "2022-02-01-preview",
    "2022-12-01",
    "2023-01-01-preview",
    "2023-06-01-preview",
    "2023-07-01",
    "2023-08-01-preview",
    "2023-11-01-preview",
    "2024-11-01-preview",
    "2025-03-01-preview",
    "2025-04-01",
    "2025-05-01-preview",
    "2025-06-01-preview",
    "2025-11-01",
    "2026-09-01-preview",
];

/// Microsoft.KeyVault vaults (`specification/keyvault/resource-manager/Microsoft.KeyVault/{stable,preview}/*`).
pub const KEY_VAULT: &[&str] = &[
    "2019-09-01",
    "2021-04-01-preview",
    "2021-10-01",
    "2021-11-01-preview",
    "2022-02-01-preview",
    "2022-07-01",
    "2022-11-01",
    "2023-02-01",
    "2023-07-01",
    "2024-04-01-preview",
    "2024-11-01",
    "2024-12-01-preview",
    "2025-05-01",
    "2026-02-01",
    // The default of azure-mgmt-keyvault 14.1.0 (generated from the published spec), which the foreign-client
    // suite pins.
    "2026-05-15",
];

/// Microsoft.EventHub (`specification/eventhub/resource-manager/Microsoft.EventHub/…`).
pub const EVENT_HUB: &[&str] = &[
    "2017-04-01",
    "2021-11-01",
    "2022-01-01-preview",
    "2022-10-01-preview",
    "2023-01-01-preview",
    "2024-01-01",
    "2024-05-01-preview",
    "2025-05-01-preview",
    "2026-01-01",
];

/// Microsoft.Storage (storage accounts, blob services, containers: `specification/storage/resource-manager/
/// Microsoft.Storage/stable/*`). `2025-06-01` is the newest stable; azure-mgmt-storage and az send it.
pub const STORAGE: &[&str] = &[
    "2022-09-01",
    "2023-01-01",
    "2023-04-01",
    "2023-05-01",
    "2024-01-01",
    "2025-01-01",
    "2025-06-01",
];

/// The versions served for a provider namespace (any case), or `None` for one the kit does not know.
pub fn for_namespace(namespace: &str) -> Option<&'static [&'static str]> {
    let ns = namespace.to_ascii_lowercase();
    Some(match ns.as_str() {
        "microsoft.resources" => RESOURCES,
        "microsoft.containerservice" => CONTAINER_SERVICE,
        "microsoft.managedidentity" => MANAGED_IDENTITY,
        "microsoft.authorization" => AUTHORIZATION,
        "microsoft.containerregistry" => CONTAINER_REGISTRY,
        "microsoft.keyvault" => KEY_VAULT,
        "microsoft.eventhub" => EVENT_HUB,
        "microsoft.storage" => STORAGE,
        _ => return None,
    })
}

/// `Ok` when `version` is in `supported`; else the error ARM gives for `type_name` in `location`.
pub fn check(
    supported: &[&str],
    version: &str,
    namespace: &str,
    type_name: &str,
    location: &str,
) -> Result<(), ArmError> {
    if supported.contains(&version) {
        return Ok(());
    }
    Err(unsupported(
        supported, version, namespace, type_name, location,
    ))
}

/// The error for an api-version the provider does not serve.
pub fn unsupported(
    supported: &[&str],
    version: &str,
    namespace: &str,
    type_name: &str,
    location: &str,
) -> ArmError {
    let mut newest_first: Vec<&str> = supported.to_vec();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    if namespace.eq_ignore_ascii_case("microsoft.resources") {
        return ArmError::new(
            400,
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{version}' is invalid. The supported versions are '{}'.",
                newest_first.join(",")
            ),
        );
    }
    ArmError::new(
        400,
        "NoRegisteredProviderFound",
        format!(
            "No registered resource provider found for location '{location}' and API version '{version}' for type '{type_name}'. The supported api-versions are '{}'. The supported locations are 'eastus, westus2, westeurope, northeurope, uksouth, swedencentral'.",
            newest_first.join(", ")
        ),
    )
}
