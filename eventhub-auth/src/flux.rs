//! Flux wiring: the `azureeventhub` Provider (`notification.toolkit.fluxcd.io/v1beta3`) and its Secret for
//! the three ways the notification-controller authenticates to Event Hubs, built with flux-objects'
//! builders (validated) and rendered by its YAML renderer.
//!
//! | mode | Provider spec | Secret |
//! |---|---|---|
//! | SAS | `secretRef` | `address` = hub-level connection string (static, no refresh) |
//! | JWT | `address` = hub, `channel` = namespace, `secretRef` | `token` (+ `address` = hub), kept fresh by the [`Refresher`](crate::Refresher) |
//! | workload identity | `address` = hub, `channel` = namespace, optional `serviceAccountName` | none |

use crate::connection_string::ConnectionString;
use crate::error::{Error, Result};
use crate::secret::{ADDRESS_KEY, KubeSecret};
use flux_objects::Provider;

/// The Provider `spec.type`.
pub const PROVIDER_TYPE: &str = "azureeventhub";

/// How the Provider authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderAuth {
    /// Connection string with a `SharedAccessKey` in the Secret's `address`.
    Sas,
    /// A JWT in the Secret's `token`, refreshed from outside (the controller still supports it but logs
    /// "static JWT authentication is deprecated").
    Jwt,
    /// The controller fetches tokens itself with workload identity (controller-level, or object-level with
    /// `serviceAccountName` and the `ObjectLevelWorkloadIdentity` feature gate).
    WorkloadIdentity,
}

/// A Provider and, for SAS, its Secret.
#[derive(Debug, Clone)]
pub struct ProviderWiring {
    /// The authentication mode.
    pub auth: ProviderAuth,
    /// The Provider (holds no secret).
    pub provider: Provider,
    /// The Secret to create with it: SAS only. For JWT the [`Refresher`](crate::Refresher) writes the
    /// Secret named by the Provider's `secretRef` (keys `token`, `address`); workload identity needs none.
    pub secret: Option<KubeSecret>,
}

impl ProviderWiring {
    /// SAS: the Secret's `address` is the hub-level connection string. The controller passes no hub name, so
    /// the string must carry `EntityPath` (use the hub's authorization rule, with `Send` rights).
    pub fn sas(
        name: &str,
        namespace: &str,
        secret_name: &str,
        connection_string: &ConnectionString,
    ) -> Result<Self> {
        if connection_string.entity_path().is_none() {
            return Err(Error::InvalidInput {
                what: "connection string for the Flux Provider",
                why: "it is namespace-level (no `EntityPath`); the notification-controller needs a hub-level one: use an authorization rule of the Event Hub itself".into(),
            });
        }
        let provider = Provider::azure_event_hub_secret(name, namespace, secret_name)
            .map_err(provider_error)?;
        let secret = KubeSecret::new(secret_name, namespace)
            .with(ADDRESS_KEY, connection_string.secret().clone());
        Ok(Self {
            auth: ProviderAuth::Sas,
            provider,
            secret: Some(secret),
        })
    }

    /// JWT: `address` = hub, `channel` = Event Hubs namespace, `secretRef` = the Secret the refresher keeps.
    pub fn jwt(
        name: &str,
        namespace: &str,
        secret_name: &str,
        hub: &str,
        eventhub_namespace: &str,
    ) -> Result<Self> {
        check_target(hub, eventhub_namespace)?;
        let provider = Provider::builder(name, namespace, PROVIDER_TYPE)
            .address(hub)
            .channel(eventhub_namespace)
            .secret_ref(secret_name)
            .build()
            .map_err(provider_error)?;
        Ok(Self {
            auth: ProviderAuth::Jwt,
            provider,
            secret: None,
        })
    }

    /// Workload identity: no Secret; `serviceAccountName` for object-level identity (else controller-level).
    pub fn workload_identity(
        name: &str,
        namespace: &str,
        hub: &str,
        eventhub_namespace: &str,
        service_account_name: Option<&str>,
    ) -> Result<Self> {
        check_target(hub, eventhub_namespace)?;
        let mut builder = Provider::builder(name, namespace, PROVIDER_TYPE)
            .address(hub)
            .channel(eventhub_namespace);
        if let Some(sa) = service_account_name {
            builder = builder.service_account_name(sa);
        }
        let provider = builder.build().map_err(provider_error)?;
        Ok(Self {
            auth: ProviderAuth::WorkloadIdentity,
            provider,
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

    /// The Provider as a `---`-prefixed YAML document (no secret in it; render the Secret with
    /// [`secret_yaml`](crate::secret_yaml)).
    pub fn provider_yaml(&self) -> Result<String> {
        flux_objects::render(&self.provider).map_err(provider_error)
    }
}

fn provider_error(source: flux_objects::Error) -> Error {
    Error::FluxObject {
        what: "azureeventhub Provider",
        source,
    }
}

fn check_target(hub: &str, ehns: &str) -> Result<()> {
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
    Ok(())
}
