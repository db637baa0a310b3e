//! Flux wiring data: the `azureeventhub` Provider (`notification.toolkit.fluxcd.io/v1beta3`) and its Secret
//! for the three ways the notification-controller authenticates to Event Hubs:
//!
//! | mode | Provider spec | Secret |
//! |---|---|---|
//! | SAS | `secretRef` | `address` = hub-level connection string (static, no refresh) |
//! | JWT | `address` = hub, `channel` = namespace, `secretRef` | `token` (+ `address` = hub), kept fresh by the [`Refresher`](crate::Refresher) |
//! | workload identity | `address` = hub, `channel` = namespace, optional `serviceAccountName` | none |
//!
//! Plain data with a JSON/YAML rendering: flux-objects' Provider and Secret builders did not exist when this
//! was written; switch [`ProviderSpec::to_json`] to them when they do.

use crate::connection_string::ConnectionString;
use crate::error::{Error, Result};
use crate::secret::{ADDRESS_KEY, KubeSecret};
use crate::yaml;

/// The Provider `spec.type`.
pub const PROVIDER_TYPE: &str = "azureeventhub";
/// The Provider's `apiVersion`.
pub const PROVIDER_API_VERSION: &str = "notification.toolkit.fluxcd.io/v1beta3";

/// How the Provider authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderAuth {
    /// Connection string with a `SharedAccessKey` in the Secret's `address`.
    Sas,
    /// A static JWT in the Secret's `token`, refreshed from outside (the deprecated path the controller
    /// still supports; it logs "static JWT authentication is deprecated").
    Jwt,
    /// The controller fetches tokens itself with workload identity (controller-level, or object-level with
    /// `serviceAccountName` and the `ObjectLevelWorkloadIdentity` feature gate).
    WorkloadIdentity,
}

/// A `Provider` of type `azureeventhub`. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSpec {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `spec.address` (JWT / workload identity: the Event Hub name).
    pub address: Option<String>,
    /// `spec.channel` (JWT / workload identity: the Event Hubs namespace).
    pub channel: Option<String>,
    /// `spec.secretRef.name`.
    pub secret_ref: Option<String>,
    /// `spec.serviceAccountName`.
    pub service_account_name: Option<String>,
}

impl ProviderSpec {
    /// The Provider object as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let mut spec = serde_json::Map::new();
        spec.insert("type".into(), PROVIDER_TYPE.into());
        if let Some(a) = &self.address {
            spec.insert("address".into(), a.clone().into());
        }
        if let Some(c) = &self.channel {
            spec.insert("channel".into(), c.clone().into());
        }
        if let Some(s) = &self.secret_ref {
            spec.insert("secretRef".into(), serde_json::json!({ "name": s }));
        }
        if let Some(sa) = &self.service_account_name {
            spec.insert("serviceAccountName".into(), sa.clone().into());
        }
        serde_json::json!({
            "apiVersion": PROVIDER_API_VERSION,
            "kind": "Provider",
            "metadata": { "name": self.name, "namespace": self.namespace },
            "spec": spec,
        })
    }

    /// The Provider as YAML (sorted keys).
    pub fn to_yaml(&self) -> String {
        yaml::to_yaml(&self.to_json())
    }
}

/// A Provider and, for SAS, its Secret.
#[derive(Debug, Clone)]
pub struct ProviderWiring {
    /// The authentication mode.
    pub auth: ProviderAuth,
    /// The Provider.
    pub provider: ProviderSpec,
    /// The Secret to create with it: SAS only. For JWT the [`Refresher`](crate::Refresher) writes the
    /// Secret named by `provider.secret_ref` (keys `token`, `address`); workload identity needs none.
    pub secret: Option<KubeSecret>,
}

impl ProviderWiring {
    /// SAS: the Secret's `address` is the hub-level connection string. The controller passes no hub name, so
    /// the string must carry `EntityPath` (use the hub's authorization rule, with `Send` rights).
    pub fn sas(
        name: impl Into<String>,
        namespace: impl Into<String>,
        secret_name: impl Into<String>,
        connection_string: &ConnectionString,
    ) -> Result<Self> {
        if connection_string.entity_path().is_none() {
            return Err(Error::InvalidInput {
                what: "connection string for the Flux Provider",
                why: "it is namespace-level (no `EntityPath`); the notification-controller needs a hub-level one: use an authorization rule of the Event Hub itself".into(),
            });
        }
        let (name, namespace, secret_name) = (name.into(), namespace.into(), secret_name.into());
        let secret = KubeSecret::new(&secret_name, &namespace)
            .with_data(ADDRESS_KEY, connection_string.secret().clone());
        Ok(Self {
            auth: ProviderAuth::Sas,
            provider: ProviderSpec {
                name,
                namespace,
                address: None,
                channel: None,
                secret_ref: Some(secret_name),
                service_account_name: None,
            },
            secret: Some(secret),
        })
    }

    /// JWT: `address` = hub, `channel` = Event Hubs namespace, `secretRef` = the Secret the refresher keeps.
    pub fn jwt(
        name: impl Into<String>,
        namespace: impl Into<String>,
        secret_name: impl Into<String>,
        hub: impl Into<String>,
        eventhub_namespace: impl Into<String>,
    ) -> Result<Self> {
        let (hub, ehns) = checked_target(hub.into(), eventhub_namespace.into())?;
        Ok(Self {
            auth: ProviderAuth::Jwt,
            provider: ProviderSpec {
                name: name.into(),
                namespace: namespace.into(),
                address: Some(hub),
                channel: Some(ehns),
                secret_ref: Some(secret_name.into()),
                service_account_name: None,
            },
            secret: None,
        })
    }

    /// Workload identity: no Secret; `serviceAccountName` for object-level identity (else controller-level).
    pub fn workload_identity(
        name: impl Into<String>,
        namespace: impl Into<String>,
        hub: impl Into<String>,
        eventhub_namespace: impl Into<String>,
        service_account_name: Option<String>,
    ) -> Result<Self> {
        let (hub, ehns) = checked_target(hub.into(), eventhub_namespace.into())?;
        Ok(Self {
            auth: ProviderAuth::WorkloadIdentity,
            provider: ProviderSpec {
                name: name.into(),
                namespace: namespace.into(),
                address: Some(hub),
                channel: Some(ehns),
                secret_ref: None,
                service_account_name,
            },
            secret: None,
        })
    }

    /// The Secret keys the controller will read for this mode.
    pub fn secret_keys(&self) -> &'static [&'static str] {
        match self.auth {
            ProviderAuth::Sas => &["address"],
            ProviderAuth::Jwt => &["address", "token"],
            ProviderAuth::WorkloadIdentity => &[],
        }
    }
}

fn checked_target(hub: String, ehns: String) -> Result<(String, String)> {
    if hub.trim().is_empty() || hub.contains('/') {
        return Err(Error::InvalidInput {
            what: "Event Hub name",
            why: "it must be a plain hub name (not empty, no `/`)".into(),
        });
    }
    if ehns.trim().is_empty() || ehns.contains('/') {
        return Err(Error::InvalidInput {
            what: "Event Hubs namespace",
            why: "it must be the namespace name or host (`<ns>` or `<ns>.servicebus.windows.net`)"
                .into(),
        });
    }
    Ok((hub, ehns))
}
