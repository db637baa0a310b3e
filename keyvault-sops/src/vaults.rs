//! Key Vault management through Azure Resource Manager: [`VaultManagement::ensure_vault`] creates the vault the
//! SOPS key lives in, the way `az keyvault create --enable-rbac-authorization true` does in the Flux-on-Azure
//! guide, or leaves an existing one untouched and says what about it would stop Flux.
//!
//! Wire format: `Vaults_CreateOrUpdate` (`PUT …/providers/Microsoft.KeyVault/vaults/{vaultName}`), spec
//! `specification/keyvault/resource-manager/Microsoft.KeyVault/stable/2026-02-01/openapi.json` (and the
//! `2025-05-01` `keyvault.json` example `createVault`). The PUT is `x-ms-long-running-operation` without async
//! headers: it answers `200`/`201` with the vault, whose `properties.provisioningState` is `RegisteringDns`
//! until the vault's DNS name resolves, then `Succeeded`; [`ArmClient::put_and_wait`] polls the vault for
//! that. Errors are ARM `CloudError` bodies; the ones handled here:
//! - `409 VaultAlreadyExists`: the global name is taken elsewhere → [`Error::VaultNameTaken`];
//! - `409 ConflictError` "A vault with the same name already exists in deleted state" → recover (when
//!   [`VaultSpec::recover_soft_deleted`]) or [`Error::VaultSoftDeleted`];
//! - a `Failed` provisioning state → [`Error::VaultProvisioningFailed`].

use crate::error::{Error, Result};
use azflux_core::arm::{ArmClient, LroPoller, LroProgress, LroStart, PollerOptions, ResourceId};
use azflux_core::http::Response;
use azure_core::http::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The Microsoft.KeyVault api-version of the vault calls: the newest GA (TypeSpec output
/// `Microsoft.KeyVault/stable/2026-02-01/openapi.json`); the vault shapes used here are unchanged since
/// `2023-07-01`.
pub const VAULTS_API_VERSION: &str = "2026-02-01";

/// The pricing tier of a vault. Software-protected keys (all Flux needs) work with both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VaultSku {
    /// `standard` (software-protected keys).
    #[default]
    Standard,
    /// `premium` (adds HSM-protected keys).
    Premium,
}

impl VaultSku {
    /// The wire name (`standard` / `premium`).
    pub fn as_str(self) -> &'static str {
        match self {
            VaultSku::Standard => "standard",
            VaultSku::Premium => "premium",
        }
    }
}

/// The vault to ensure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultSpec {
    /// The subscription (GUID).
    pub subscription_id: String,
    /// The resource group (must exist).
    pub resource_group: String,
    /// The vault name: 3-24 letters, digits and hyphens, starting with a letter, ending with a letter or
    /// digit, no consecutive hyphens; globally unique (it is the DNS name `<name>.vault.azure.net`).
    pub name: String,
    /// The Azure region (`westeurope`).
    pub location: String,
    /// The Entra ID tenant (GUID) whose tokens the vault accepts.
    pub tenant_id: String,
    /// The pricing tier (default standard).
    pub sku: VaultSku,
    /// Days a deleted vault stays recoverable, 7-90 (default 90; fixed once the vault exists).
    pub soft_delete_retention_days: u16,
    /// Purge protection: a deleted vault (and its SOPS key) cannot be purged before the retention ends
    /// (default true; cannot be turned off later).
    pub purge_protection: bool,
    /// When a soft-deleted vault holds the name: recover it (`createMode: "recover"`, which brings back its old
    /// settings and keys) instead of failing with [`Error::VaultSoftDeleted`] (default false).
    pub recover_soft_deleted: bool,
    /// Tags of a created vault (at most 50; names up to 512 characters, values up to 256).
    pub tags: BTreeMap<String, String>,
}

impl VaultSpec {
    /// A spec with the defaults: standard SKU, 90 days of soft delete, purge protection, no recovery, no tags.
    pub fn new(
        subscription_id: impl Into<String>,
        resource_group: impl Into<String>,
        name: impl Into<String>,
        location: impl Into<String>,
        tenant_id: impl Into<String>,
    ) -> Self {
        Self {
            subscription_id: subscription_id.into(),
            resource_group: resource_group.into(),
            name: name.into(),
            location: location.into(),
            tenant_id: tenant_id.into(),
            sku: VaultSku::Standard,
            soft_delete_retention_days: 90,
            purge_protection: true,
            recover_soft_deleted: false,
            tags: BTreeMap::new(),
        }
    }

    /// Checks the spec against Azure's rules; the error names the rule and the offending value.
    pub fn validate(&self) -> Result<()> {
        validate_vault_name(&self.name)?;
        validate_scope(&self.subscription_id, &self.resource_group)?;
        let location = self.location.trim();
        if location.is_empty()
            || !location
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ' ')
        {
            return Err(Error::invalid(
                format!("Key Vault location '{}'", self.location),
                "use an Azure region name such as 'westeurope' (letters and digits)",
            ));
        }
        if !is_guid(&self.tenant_id) {
            return Err(Error::invalid(
                format!("Key Vault tenant id '{}'", self.tenant_id),
                "the vault needs the tenant's GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), not a domain name; `az account show --query tenantId` prints it",
            ));
        }
        if !(7..=90).contains(&self.soft_delete_retention_days) {
            return Err(Error::invalid(
                format!(
                    "soft delete retention of {} days for Key Vault '{}'",
                    self.soft_delete_retention_days, self.name
                ),
                "Key Vault keeps deleted vaults between 7 and 90 days; choose a value in 7..=90",
            ));
        }
        if self.tags.len() > 50 {
            return Err(Error::invalid(
                format!("tags of Key Vault '{}'", self.name),
                format!(
                    "Azure allows at most 50 tags per resource, {} were given",
                    self.tags.len()
                ),
            ));
        }
        for (k, v) in &self.tags {
            if k.is_empty()
                || k.chars().count() > 512
                || k.chars().any(|c| "<>%&\\?/".contains(c) || c.is_control())
            {
                return Err(Error::invalid(
                    format!("tag name '{k}' of Key Vault '{}'", self.name),
                    "tag names have 1-512 characters and none of < > % & \\ ? /",
                ));
            }
            if v.chars().count() > 256 {
                return Err(Error::invalid(
                    format!("the value of tag '{k}' of Key Vault '{}'", self.name),
                    format!(
                        "tag values have at most 256 characters, this one has {}",
                        v.chars().count()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}`.
    pub fn resource_id(&self) -> String {
        vault_id(&self.subscription_id, &self.resource_group, &self.name)
    }

    /// The PUT body `az keyvault create --enable-rbac-authorization true` sends (design doc azure-rest §5b).
    fn body(&self, recover: bool) -> Value {
        let mut properties = json!({
            "tenantId": self.tenant_id,
            "sku": {"family": "A", "name": self.sku.as_str()},
            "enableRbacAuthorization": true,
            "enableSoftDelete": true,
            "softDeleteRetentionInDays": self.soft_delete_retention_days,
            "publicNetworkAccess": "Enabled",
        });
        // `enablePurgeProtection: false` is refused by the service ("cannot be set to false"): omit it instead.
        if self.purge_protection {
            properties["enablePurgeProtection"] = json!(true);
        }
        if recover {
            properties["createMode"] = json!("recover");
        }
        json!({"location": self.location.trim(), "tags": self.tags, "properties": properties})
    }
}

/// A Key Vault, as Resource Manager describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vault {
    /// The resource id.
    pub id: String,
    /// The vault name.
    pub name: String,
    /// The region.
    pub location: String,
    /// The data-plane URL (`https://<name>.vault.azure.net/`), as the service returns it: pass it to
    /// [`crate::KeyVaultClient`] calls and `azure_kv` key URLs.
    pub vault_uri: String,
    /// The tenant whose tokens the vault accepts.
    pub tenant_id: String,
    /// Whether the vault uses Azure RBAC for data-plane access (`enableRbacAuthorization`); `false` means
    /// access policies.
    pub rbac_authorization: bool,
    /// `Enabled` / `Disabled` (absent on old vaults: enabled).
    pub public_network_access: Option<String>,
    /// `RegisteringDns`, `Succeeded`…
    pub provisioning_state: Option<String>,
}

/// What [`VaultManagement::ensure_vault`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsuredVault {
    /// The vault.
    pub vault: Vault,
    /// Whether this call created (or recovered) it.
    pub created: bool,
    /// Whether this call recovered a soft-deleted vault (its old settings and keys came back with it).
    pub recovered: bool,
    /// What about an existing (or recovered) vault would stop Flux, and what to do; empty when nothing.
    pub warnings: Vec<String>,
}

/// The Key Vault management client (Resource Manager). Cloning shares the connection pool.
#[derive(Debug, Clone)]
pub struct VaultManagement {
    arm: ArmClient,
    poller: PollerOptions,
}

impl VaultManagement {
    /// A client over `arm` (which carries the cloud, the credential, retries and the clock).
    pub fn new(arm: ArmClient) -> Self {
        Self {
            arm,
            poller: PollerOptions::default(),
        }
    }

    /// Polling settings used while waiting for a vault that an earlier run left registering its DNS name
    /// (creations use the [`ArmClient`]'s own poller).
    pub fn with_poller(mut self, poller: PollerOptions) -> Self {
        self.poller = poller;
        self
    }

    /// The Resource Manager client.
    pub fn arm(&self) -> &ArmClient {
        &self.arm
    }

    /// GETs the vault; `None` when it does not exist in that resource group.
    pub async fn get_vault(
        &self,
        subscription_id: &str,
        resource_group: &str,
        name: &str,
    ) -> Result<Option<Vault>> {
        validate_vault_name(name)?;
        validate_scope(subscription_id, resource_group)?;
        let id = vault_id(subscription_id, resource_group, name);
        match self.arm.get(&id, VAULTS_API_VERSION).await? {
            None => Ok(None),
            Some(response) => Vault::from_body(&id, &response.body).map(Some),
        }
    }

    /// Creates the vault of `spec` unless it exists (see the module docs): validates the spec (nothing is
    /// sent for an invalid one), GETs the vault, and
    /// - when it exists: leaves it as it is (never changing its permission model, network access or SKU),
    ///   waits if an earlier run left it registering its DNS name, and returns it with `created: false` and
    ///   a warning for each setting that would stop Flux;
    /// - when it does not: PUTs it in RBAC mode with soft delete, purge protection and public network access,
    ///   and waits for `Succeeded`. A soft-deleted vault of the same name is recovered when
    ///   [`VaultSpec::recover_soft_deleted`] is set (a second PUT, with `createMode: "recover"`).
    ///
    /// `progress` sees every poll.
    pub async fn ensure_vault(
        &self,
        spec: &VaultSpec,
        progress: &(dyn Fn(&LroProgress) + Send + Sync),
    ) -> Result<EnsuredVault> {
        spec.validate()?;
        let id = spec.resource_id();
        if let Some(existing) = self.arm.get(&id, VAULTS_API_VERSION).await? {
            let body = self
                .settle_existing(spec, &id, existing.body, progress)
                .await?;
            let vault = Vault::from_body(&id, &body)?;
            let warnings = warnings(spec, &vault, &body);
            return Ok(EnsuredVault {
                vault,
                created: false,
                recovered: false,
                warnings,
            });
        }
        let (body, recovered) = match self.put(spec, &id, false, progress).await {
            Ok(body) => (body, false),
            Err(Error::VaultSoftDeleted { .. }) if spec.recover_soft_deleted => {
                (self.put(spec, &id, true, progress).await?, true)
            }
            Err(e) => return Err(e),
        };
        let vault = Vault::from_body(&id, &body)?;
        let mut warnings = if recovered {
            warnings(spec, &vault, &body)
        } else {
            Vec::new()
        };
        if recovered {
            warnings.insert(
                0,
                format!(
                    "Key Vault '{}' was recovered from soft delete with the settings and keys it had when it was deleted, not the ones asked for; review them (`az keyvault show --name {}`)",
                    spec.name, spec.name
                ),
            );
        }
        Ok(EnsuredVault {
            vault,
            created: true,
            recovered,
            warnings,
        })
    }

    async fn put(
        &self,
        spec: &VaultSpec,
        id: &str,
        recover: bool,
        progress: &(dyn Fn(&LroProgress) + Send + Sync),
    ) -> Result<Value> {
        self.arm
            .put_and_wait(id, VAULTS_API_VERSION, &spec.body(recover), progress)
            .await
            .map(|r| r.body)
            .map_err(|e| map_error(&spec.name, e))
    }

    /// An existing vault in a transient state (an earlier run crashed while it registered its DNS name) is
    /// polled to the end, without a PUT; one in a failed state is an error.
    async fn settle_existing(
        &self,
        spec: &VaultSpec,
        id: &str,
        body: Value,
        progress: &(dyn Fn(&LroProgress) + Send + Sync),
    ) -> Result<Value> {
        let state = body
            .pointer("/properties/provisioningState")
            .and_then(Value::as_str)
            .unwrap_or("Succeeded");
        if state.eq_ignore_ascii_case("succeeded") {
            return Ok(body);
        }
        let url = self.arm.url(id, VAULTS_API_VERSION)?;
        let bytes = serde_json::to_vec(&body).map_err(|e| {
            Error::Azure(azflux_core::Error::UnexpectedResponse {
                resource: format!("GET {id}"),
                message: e.to_string(),
            })
        })?;
        let initial = Response {
            status: 200,
            headers: Default::default(),
            body: bytes.into(),
        };
        let poller = LroPoller::new(self.arm.pipeline().clone(), self.poller.clone());
        let done = poller
            .wait(LroStart::new(Method::Put, url, initial), progress)
            .await
            .map_err(|e| map_error(&spec.name, e))?;
        let resource = format!("GET {id}");
        Ok(done.json::<Value>(&resource)?)
    }
}

/// Turns the service's answers into this crate's typed errors.
fn map_error(name: &str, e: azflux_core::Error) -> Error {
    match e {
        azflux_core::Error::Conflict(se) => {
            let detail = format!("; Azure said: {} {}: {}", se.status, se.code, se.message);
            let message = se.message.to_ascii_lowercase();
            if se.code.eq_ignore_ascii_case("VaultAlreadyExists") {
                Error::VaultNameTaken {
                    name: name.to_owned(),
                    detail,
                }
            } else if message.contains("deleted state") || message.contains("soft delete") {
                Error::VaultSoftDeleted {
                    name: name.to_owned(),
                    detail,
                }
            } else {
                Error::Azure(azflux_core::Error::Conflict(se))
            }
        }
        azflux_core::Error::OperationFailed {
            status,
            code,
            message,
            ..
        } => Error::VaultProvisioningFailed {
            name: name.to_owned(),
            status,
            code,
            message,
        },
        other => Error::Azure(other),
    }
}

#[derive(Deserialize)]
struct WireVault {
    id: String,
    name: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    properties: WireProperties,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireProperties {
    tenant_id: Option<String>,
    vault_uri: Option<String>,
    enable_rbac_authorization: Option<bool>,
    public_network_access: Option<String>,
    provisioning_state: Option<String>,
}

impl Vault {
    fn from_body(id: &str, body: &Value) -> Result<Self> {
        let bad = |message: String| {
            Error::Azure(azflux_core::Error::UnexpectedResponse {
                resource: format!("GET {id}"),
                message,
            })
        };
        let wire =
            WireVault::deserialize(body).map_err(|e| bad(format!("not a Key Vault: {e}")))?;
        let vault_uri = wire
            .properties
            .vault_uri
            .filter(|u| u.starts_with("https://"))
            .ok_or_else(|| bad("the vault has no https properties.vaultUri".into()))?;
        Ok(Vault {
            id: wire.id,
            name: wire.name,
            location: wire.location,
            vault_uri,
            tenant_id: wire.properties.tenant_id.unwrap_or_default(),
            // Absent means false ("if null or not specified", 2026-02-01 type docs).
            rbac_authorization: wire.properties.enable_rbac_authorization.unwrap_or(false),
            public_network_access: wire.properties.public_network_access,
            provisioning_state: wire.properties.provisioning_state,
        })
    }
}

/// What about an existing vault would stop Flux (kustomize-controller decrypting SOPS files with the vault's
/// key through the Flux identity's Key Vault Crypto User role), each with what to do.
fn warnings(spec: &VaultSpec, vault: &Vault, body: &Value) -> Vec<String> {
    let name = &vault.name;
    let mut out = Vec::new();
    if !vault.rbac_authorization {
        out.push(format!(
            "Key Vault '{name}' uses the access-policy permission model: the Key Vault Crypto User role assignment the bootstrap makes does not grant access to keys in an access-policy vault, so kustomize-controller cannot decrypt SOPS files. Enable RBAC (`az keyvault update --name {name} --enable-rbac-authorization true`, after checking who relies on its access policies) or add an access policy for the Flux identity with the key permissions encrypt and decrypt (`az keyvault set-policy --name {name} --object-id <flux identity object id> --key-permissions encrypt decrypt`)"
        ));
    }
    let public = vault.public_network_access.as_deref().unwrap_or("Enabled");
    if public.eq_ignore_ascii_case("disabled") {
        out.push(format!(
            "Key Vault '{name}' has public network access disabled: kustomize-controller reaches the vault over its public endpoint unless a private endpoint is set up, so decryption will fail. Enable it (`az keyvault update --name {name} --public-network-access Enabled`) or add a private endpoint reachable from the cluster"
        ));
    } else if body
        .pointer("/properties/networkAcls/defaultAction")
        .and_then(Value::as_str)
        .is_some_and(|a| a.eq_ignore_ascii_case("deny"))
    {
        out.push(format!(
            "Key Vault '{name}' has a firewall that denies by default: kustomize-controller's requests are refused unless the cluster's egress IP addresses or subnet are allowed. Add them (`az keyvault network-rule add --name {name} --ip-address <egress ip>`) or use a private endpoint"
        ));
    }
    if !vault.tenant_id.is_empty() && !vault.tenant_id.eq_ignore_ascii_case(&spec.tenant_id) {
        out.push(format!(
            "Key Vault '{name}' belongs to tenant {} but tenant {} was asked for: it refuses tokens of the Flux identity's tenant unless they match; use a vault of the cluster's tenant",
            vault.tenant_id, spec.tenant_id
        ));
    }
    let normalise = |s: &str| s.replace(' ', "").to_ascii_lowercase();
    if !vault.location.is_empty() && normalise(&vault.location) != normalise(&spec.location) {
        out.push(format!(
            "Key Vault '{name}' exists in {} rather than {} as asked; it was left there (a vault cannot move). Flux works across regions; update the configuration to say {} to silence this",
            vault.location, spec.location, vault.location
        ));
    }
    out
}

fn vault_id(subscription_id: &str, resource_group: &str, name: &str) -> String {
    ResourceId::resource(
        subscription_id,
        resource_group,
        "Microsoft.KeyVault",
        "vaults",
        name,
    )
    .to_string()
}

/// Azure's rule for vault names: `^[a-zA-Z0-9-]{3,24}$`, starting with a letter, ending with a letter or digit,
/// without consecutive hyphens.
pub fn validate_vault_name(name: &str) -> Result<()> {
    let bad = |rule: &str| {
        Err(Error::invalid(
            format!("Key Vault name '{name}'"),
            format!(
                "{rule}; vault names have 3-24 letters, digits and hyphens, start with a letter, end with a letter or digit and have no consecutive hyphens"
            ),
        ))
    };
    let len = name.chars().count();
    if !(3..=24).contains(&len) {
        return bad(&format!("it has {len} characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return bad(&format!("it contains '{c}'"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return bad("it does not start with a letter");
    }
    if name.ends_with('-') {
        return bad("it ends with a hyphen");
    }
    if name.contains("--") {
        return bad("it contains consecutive hyphens");
    }
    Ok(())
}

fn validate_scope(subscription_id: &str, resource_group: &str) -> Result<()> {
    if subscription_id.trim().is_empty()
        || !subscription_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(Error::invalid(
            format!("subscription id '{subscription_id}'"),
            "use the subscription's GUID (`az account show --query id`)",
        ));
    }
    let len = resource_group.chars().count();
    if !(1..=90).contains(&len)
        || resource_group.ends_with('.')
        || !resource_group
            .chars()
            .all(|c| c.is_alphanumeric() || "-_.()".contains(c))
    {
        return Err(Error::invalid(
            format!("resource group name '{resource_group}'"),
            "resource group names have 1-90 letters, digits, '-', '_', '.', '(' or ')' and do not end with '.'",
        ));
    }
    Ok(())
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_the_rbac_create_of_the_guide() {
        let spec = VaultSpec::new(
            "s",
            "rg",
            "kv-flux",
            "westeurope",
            "72f988bf-0000-4000-8000-00000000a2f1",
        );
        let body = spec.body(false);
        assert_eq!(body["location"], "westeurope");
        let p = &body["properties"];
        assert_eq!(p["sku"], json!({"family": "A", "name": "standard"}));
        assert_eq!(p["enableRbacAuthorization"], true);
        assert_eq!(p["enableSoftDelete"], true);
        assert_eq!(p["softDeleteRetentionInDays"], 90);
        assert_eq!(p["enablePurgeProtection"], true);
        assert_eq!(p["publicNetworkAccess"], "Enabled");
        assert!(p.get("createMode").is_none());
        assert_eq!(spec.body(true)["properties"]["createMode"], "recover");
        let no_purge = VaultSpec {
            purge_protection: false,
            ..spec
        };
        assert!(
            no_purge.body(false)["properties"]
                .get("enablePurgeProtection")
                .is_none()
        );
    }

    #[test]
    fn guids() {
        assert!(is_guid("72f988bf-0000-4000-8000-00000000a2f1"));
        assert!(!is_guid("contoso.onmicrosoft.com"));
        assert!(!is_guid("72f988bf-0000-4000-8000-00000000a2f"));
    }
}
