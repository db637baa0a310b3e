//! Azure clouds: where Entra ID, Resource Manager and the data planes live, and the scopes to ask tokens for.
//!
//! Endpoints and suffixes are the documented ones for each sovereign cloud (`az cloud show`): public,
//! China (21Vianet) and US Government. A custom cloud (Azure Stack, an air-gapped cloud, or a fake) gives its own.

use url::Url;

/// The Azure DevOps resource (application id); its scope is `499b84ac-…/.default` in every cloud.
pub const AZURE_DEVOPS_RESOURCE: &str = "499b84ac-1321-427f-aa17-267ca6975798";

/// The endpoints and DNS suffixes of one Azure cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloud {
    /// A short name: `AzureCloud`, `AzureChinaCloud`, `AzureUSGovernment`, or the custom cloud's name.
    pub name: String,
    /// The Entra ID authority host, e.g. `https://login.microsoftonline.com/`.
    pub authority_host: Url,
    /// The Resource Manager endpoint, e.g. `https://management.azure.com/`.
    pub resource_manager: Url,
    /// The Resource Manager token audience, e.g. `https://management.azure.com/`.
    pub resource_manager_audience: String,
    /// The Key Vault DNS suffix, e.g. `vault.azure.net`.
    pub key_vault_suffix: String,
    /// The Container Registry DNS suffix, e.g. `azurecr.io`.
    pub container_registry_suffix: String,
    /// The Service Bus / Event Hubs DNS suffix, e.g. `servicebus.windows.net`.
    pub service_bus_suffix: String,
    /// The Storage DNS suffix, e.g. `core.windows.net`.
    pub storage_suffix: String,
    /// The Container Registry token audience (`https://containerregistry.azure.net`).
    pub container_registry_audience: String,
    /// The Event Hubs token audience (`https://eventhubs.azure.net`, the same in every cloud).
    pub event_hubs_audience: String,
}

impl Cloud {
    /// The Azure public cloud.
    pub fn public() -> Self {
        Self::known(
            "AzureCloud",
            "https://login.microsoftonline.com/",
            "https://management.azure.com/",
            "https://management.azure.com/",
            "vault.azure.net",
            "azurecr.io",
            "servicebus.windows.net",
            "core.windows.net",
        )
    }

    /// Azure operated by 21Vianet (China).
    pub fn china() -> Self {
        Self::known(
            "AzureChinaCloud",
            "https://login.chinacloudapi.cn/",
            "https://management.chinacloudapi.cn/",
            "https://management.chinacloudapi.cn/",
            "vault.azure.cn",
            "azurecr.cn",
            "servicebus.chinacloudapi.cn",
            "core.chinacloudapi.cn",
        )
    }

    /// Azure US Government.
    pub fn us_government() -> Self {
        Self::known(
            "AzureUSGovernment",
            "https://login.microsoftonline.us/",
            "https://management.usgovcloudapi.net/",
            "https://management.usgovcloudapi.net/",
            "vault.usgovcloudapi.net",
            "azurecr.us",
            "servicebus.usgovcloudapi.net",
            "core.usgovcloudapi.net",
        )
    }

    /// A custom cloud (Azure Stack Hub, an air-gapped cloud, a fake): its authority host and Resource Manager
    /// endpoint (also used as the token audience); DNS suffixes default to the public cloud's — set the fields
    /// that differ.
    pub fn custom(
        name: impl Into<String>,
        authority_host: &str,
        resource_manager: &str,
    ) -> crate::Result<Self> {
        let parse = |what: &str, v: &str| {
            let url = Url::parse(v)
                .map_err(|e| crate::Error::invalid(format!("{what} '{v}'"), e.to_string()))?;
            if url.scheme() != "https" {
                return Err(crate::Error::invalid(
                    format!("{what} '{v}'"),
                    "it must be an https:// URL",
                ));
            }
            Ok(url)
        };
        Ok(Self {
            name: name.into(),
            authority_host: parse("authority host", authority_host)?,
            resource_manager: parse("resource manager endpoint", resource_manager)?,
            resource_manager_audience: resource_manager.to_owned(),
            ..Self::public()
        })
    }

    /// Looks a cloud up by the names `az cloud list` uses (case-insensitive), plus `public`, `china`, `usgov`.
    pub fn by_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "azurecloud" | "public" | "azurepublic" => Some(Self::public()),
            "azurechinacloud" | "china" | "azurechina" => Some(Self::china()),
            "azureusgovernment" | "usgov" | "usgovernment" | "azuregovernment" => {
                Some(Self::us_government())
            }
            _ => None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn known(
        name: &str,
        authority: &'static str,
        arm: &'static str,
        arm_audience: &str,
        vault: &str,
        acr: &str,
        servicebus: &str,
        storage: &str,
    ) -> Self {
        Self {
            name: name.to_owned(),
            authority_host: parse_static(authority),
            resource_manager: parse_static(arm),
            resource_manager_audience: arm_audience.to_owned(),
            key_vault_suffix: vault.to_owned(),
            container_registry_suffix: acr.to_owned(),
            service_bus_suffix: servicebus.to_owned(),
            storage_suffix: storage.to_owned(),
            container_registry_audience: "https://containerregistry.azure.net".to_owned(),
            event_hubs_audience: "https://eventhubs.azure.net".to_owned(),
        }
    }

    /// The scope for Resource Manager tokens: `<audience>/.default`.
    pub fn arm_scope(&self) -> String {
        default_scope(&self.resource_manager_audience)
    }

    /// The scope for Key Vault data-plane tokens: `https://vault.azure.net/.default` in the public cloud.
    pub fn key_vault_scope(&self) -> String {
        default_scope(&format!("https://{}", self.key_vault_suffix))
    }

    /// The scope for Container Registry tokens (`https://containerregistry.azure.net/.default`).
    pub fn container_registry_scope(&self) -> String {
        default_scope(&self.container_registry_audience)
    }

    /// The scope for Event Hubs tokens (`https://eventhubs.azure.net/.default`).
    pub fn event_hubs_scope(&self) -> String {
        default_scope(&self.event_hubs_audience)
    }

    /// The scope for Storage tokens (`https://storage.azure.com/.default` in every cloud).
    pub fn storage_scope(&self) -> String {
        "https://storage.azure.com/.default".to_owned()
    }

    /// The scope for Azure DevOps tokens (`499b84ac-1321-427f-aa17-267ca6975798/.default`).
    pub fn azure_devops_scope(&self) -> String {
        format!("{AZURE_DEVOPS_RESOURCE}/.default")
    }

    /// The Entra ID v2 token endpoint of `tenant`.
    pub fn token_endpoint(&self, tenant: &str) -> Result<Url, url::ParseError> {
        self.authority_host
            .join(&format!("{tenant}/oauth2/v2.0/token"))
    }

    /// `https://<name>.<vault suffix>/`.
    pub fn key_vault_url(&self, vault_name: &str) -> Result<Url, url::ParseError> {
        Url::parse(&format!("https://{vault_name}.{}/", self.key_vault_suffix))
    }

    /// `<name>.<registry suffix>` (the login server; always lower-case).
    pub fn registry_login_server(&self, registry_name: &str) -> String {
        format!(
            "{}.{}",
            registry_name.to_ascii_lowercase(),
            self.container_registry_suffix
        )
    }

    /// `<namespace>.<service bus suffix>`.
    pub fn event_hubs_host(&self, namespace: &str) -> String {
        format!("{namespace}.{}", self.service_bus_suffix)
    }

    /// Whether `host` is a registry of this cloud: `*.<container registry suffix>` (`*.azurecr.io` in the
    /// public cloud, `*.azurecr.cn` in China, `*.azurecr.us` in US Government, or a custom cloud's suffix).
    /// AAD tokens of this cloud are only ever sent to such hosts. (Flux's own wider check, which accepts the
    /// four sovereign suffixes at once, is `acr_oci::flux::check_acr_host`.)
    pub fn is_registry_host(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let host = host.split(':').next().unwrap_or_default();
        let own = format!(".{}", self.container_registry_suffix);
        host.ends_with(&own) && host.len() > own.len()
    }

    /// Whether `host` is a Key Vault of this cloud (`*.vault.azure.net`).
    pub fn is_key_vault_host(&self, host: &str) -> bool {
        let suffix = format!(".{}", self.key_vault_suffix);
        let host = host.to_ascii_lowercase();
        host.ends_with(&suffix) && host.len() > suffix.len()
    }
}

impl Default for Cloud {
    fn default() -> Self {
        Self::public()
    }
}

fn default_scope(audience: &str) -> String {
    format!("{}/.default", audience.trim_end_matches('/'))
}

// The arguments are the string constants above, checked by the unit tests below.
#[allow(clippy::expect_used)]
fn parse_static(s: &'static str) -> Url {
    Url::parse(s).expect("cloud endpoint constants are valid URLs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_cloud_scopes() {
        let c = Cloud::public();
        assert_eq!(c.arm_scope(), "https://management.azure.com/.default");
        assert_eq!(c.key_vault_scope(), "https://vault.azure.net/.default");
        assert_eq!(
            c.container_registry_scope(),
            "https://containerregistry.azure.net/.default"
        );
        assert_eq!(c.event_hubs_scope(), "https://eventhubs.azure.net/.default");
        assert_eq!(c.storage_scope(), "https://storage.azure.com/.default");
        assert_eq!(
            c.azure_devops_scope(),
            "499b84ac-1321-427f-aa17-267ca6975798/.default"
        );
        assert_eq!(
            c.token_endpoint("t1").unwrap().as_str(),
            "https://login.microsoftonline.com/t1/oauth2/v2.0/token"
        );
    }

    #[test]
    fn sovereign_clouds() {
        let cn = Cloud::china();
        assert_eq!(
            cn.arm_scope(),
            "https://management.chinacloudapi.cn/.default"
        );
        assert_eq!(cn.key_vault_scope(), "https://vault.azure.cn/.default");
        assert_eq!(cn.registry_login_server("MyAcr"), "myacr.azurecr.cn");
        let us = Cloud::us_government();
        assert_eq!(
            us.authority_host.as_str(),
            "https://login.microsoftonline.us/"
        );
        assert_eq!(us.event_hubs_host("ns"), "ns.servicebus.usgovcloudapi.net");
        assert_eq!(Cloud::by_name("AzureChinaCloud"), Some(cn));
        assert_eq!(Cloud::by_name("nowhere"), None);
    }

    #[test]
    fn custom_clouds() {
        let c = Cloud::custom(
            "stack",
            "https://login.stack.local/",
            "https://management.stack.local/",
        )
        .unwrap();
        assert_eq!(c.arm_scope(), "https://management.stack.local/.default");
        assert!(
            Cloud::custom("x", "http://login", "https://arm")
                .unwrap_err()
                .to_string()
                .contains("https://")
        );
        assert!(Cloud::custom("x", "not a url", "https://arm").is_err());
    }

    #[test]
    fn registry_host_check() {
        let c = Cloud::public();
        assert!(c.is_registry_host("myacr.azurecr.io"));
        assert!(c.is_registry_host("MYACR.AZURECR.IO:443"));
        assert!(!c.is_registry_host("azurecr.io"));
        assert!(!c.is_registry_host("evil.com"));
        assert!(!c.is_registry_host("myacr.azurecr.io.evil.com"));
        assert!(c.is_key_vault_host("kv.vault.azure.net"));
        assert!(!c.is_key_vault_host("kv.vault.azure.net.evil.com"));
    }
}
