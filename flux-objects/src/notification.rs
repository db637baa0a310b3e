//! `notification.toolkit.fluxcd.io`: Provider and Alert (`v1beta3`), Receiver (`v1`).

use crate::duration::Duration;
use crate::error::{Error, Result};
use crate::meta::{CrossNamespaceObjectReference, LocalObjectReference, is_false};
use crate::object::flux_kind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Provider/Alert API group version (still beta upstream).
pub const NOTIFICATION_API_VERSION: &str = "notification.toolkit.fluxcd.io/v1beta3";
/// Receiver API group version.
pub const RECEIVER_API_VERSION: &str = "notification.toolkit.fluxcd.io/v1";

/// Provider types the CRD accepts.
pub const PROVIDER_TYPES: &[&str] = &[
    "slack",
    "discord",
    "msteams",
    "rocket",
    "generic",
    "generic-hmac",
    "github",
    "gitlab",
    "gitea",
    "giteapullrequestcomment",
    "bitbucketserver",
    "bitbucket",
    "azuredevops",
    "googlechat",
    "googlepubsub",
    "webex",
    "sentry",
    "azureeventhub",
    "telegram",
    "lark",
    "matrix",
    "opsgenie",
    "alertmanager",
    "grafana",
    "githubdispatch",
    "githubpullrequestcomment",
    "gitlabmergerequestcomment",
    "pagerduty",
    "datadog",
    "nats",
    "zulip",
    "otel",
    "zoom",
    "incident.io",
];

/// Kinds an Alert may watch.
pub const EVENT_SOURCE_KINDS: &[&str] = &[
    "Bucket",
    "GitRepository",
    "Kustomization",
    "HelmRelease",
    "HelmChart",
    "HelmRepository",
    "ImageRepository",
    "ImagePolicy",
    "ImageUpdateAutomation",
    "OCIRepository",
    "ArtifactGenerator",
    "ExternalArtifact",
];

flux_kind!(
    /// A notification `Provider` (Slack, Teams, Azure Event Hub…).
    Provider, ProviderSpec, NOTIFICATION_API_VERSION, "Provider"
);

/// `Provider.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderSpec {
    /// Provider type (`azureeventhub`, `slack`…).
    #[serde(rename = "type")]
    pub provider_type: String,
    /// Deprecated interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Channel (for azureeventhub with workload identity: the Event Hubs namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Address (for azureeventhub: the hub name or a connection string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Proxy URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Proxy Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// Secret with `address`/`token` (Event Hub) or webhook credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Secret with TLS material.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Pause.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
    /// Service account for workload identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Commit status expression (git providers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_status_expr: Option<String>,
}

impl Provider {
    /// A Provider of `provider_type` (validated when built or rendered).
    pub fn builder(
        name: impl Into<String>,
        namespace: impl Into<String>,
        provider_type: impl Into<String>,
    ) -> ProviderBuilder {
        ProviderBuilder {
            obj: Provider::new(
                name,
                namespace,
                ProviderSpec {
                    provider_type: provider_type.into(),
                    ..Default::default()
                },
            ),
        }
    }

    /// An Azure Event Hub provider authenticating with workload identity: `address` = hub name,
    /// `channel` = Event Hubs namespace, no Secret.
    pub fn azure_event_hub_workload_identity(
        name: &str,
        namespace: &str,
        hub: &str,
        eventhub_namespace: &str,
    ) -> Result<Provider> {
        Provider::builder(name, namespace, "azureeventhub")
            .address(hub)
            .channel(eventhub_namespace)
            .build()
    }

    /// An Azure Event Hub provider reading `address` (SAS connection string or hub name) and `token` from a Secret.
    pub fn azure_event_hub_secret(name: &str, namespace: &str, secret: &str) -> Result<Provider> {
        Provider::builder(name, namespace, "azureeventhub")
            .secret_ref(secret)
            .build()
    }

    fn check(&self) -> Result<()> {
        let (kind, name) = ("Provider", self.metadata.name.as_str());
        let t = self.spec.provider_type.as_str();
        if t.is_empty() {
            return Err(Error::invalid(kind, name, "Provider type is required"));
        }
        if !PROVIDER_TYPES.contains(&t) {
            return Err(Error::invalid(
                kind,
                name,
                format!(
                    "provider type '{t}' is not supported, must be one of: {}",
                    PROVIDER_TYPES.join(", ")
                ),
            ));
        }
        if t == "azureeventhub" {
            if let Some(addr) = &self.spec.address {
                if addr.contains("SharedAccessKey") && self.spec.service_account_name.is_some() {
                    return Err(Error::invalid(
                        kind,
                        name,
                        "an Event Hub SAS connection string cannot be combined with serviceAccountName",
                    ));
                }
            } else if self.spec.secret_ref.is_none() {
                return Err(Error::invalid(
                    kind,
                    name,
                    "azureeventhub needs an address (hub name or connection string) or a secretRef with 'address'",
                ));
            }
        }
        Ok(())
    }
}

/// Builds a [`Provider`].
#[derive(Debug, Clone)]
pub struct ProviderBuilder {
    obj: Provider,
}

impl ProviderBuilder {
    /// Address.
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.obj.spec.address = Some(address.into());
        self
    }
    /// Channel.
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.obj.spec.channel = Some(channel.into());
        self
    }
    /// Username.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.obj.spec.username = Some(username.into());
        self
    }
    /// Secret reference.
    pub fn secret_ref(mut self, name: impl Into<String>) -> Self {
        self.obj.spec.secret_ref = Some(LocalObjectReference::new(name));
        self
    }
    /// Service account for workload identity.
    pub fn service_account_name(mut self, sa: impl Into<String>) -> Self {
        self.obj.spec.service_account_name = Some(sa.into());
        self
    }
    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.obj.metadata.labels.insert(key.into(), value.into());
        self
    }
    /// Validates and returns the object.
    pub fn build(self) -> Result<Provider> {
        crate::object::Manifest::validate(&self.obj)?;
        Ok(self.obj)
    }
}

flux_kind!(
    /// An `Alert`: routes events of some objects to a Provider.
    Alert, AlertSpec, NOTIFICATION_API_VERSION, "Alert"
);

/// `Alert.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertSpec {
    /// The Provider.
    pub provider_ref: LocalObjectReference,
    /// `info` or `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_severity: Option<String>,
    /// Watched objects.
    pub event_sources: Vec<EventSource>,
    /// Message regexes to include.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inclusion_list: Vec<String>,
    /// Extra metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub event_metadata: BTreeMap<String, String>,
    /// Message regexes to exclude.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclusion_list: Vec<String>,
    /// Summary (deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Pause.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
}

/// `spec.eventSources[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventSource {
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind.
    pub kind: String,
    /// Name (`*` for all).
    pub name: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Label selector.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
}

impl Alert {
    /// An Alert for `provider` with `sources` and severity `info` or `error`.
    pub fn new_for(
        name: &str,
        namespace: &str,
        provider: &str,
        severity: Option<&str>,
        sources: Vec<EventSource>,
    ) -> Result<Alert> {
        let a = Alert::new(
            name,
            namespace,
            AlertSpec {
                provider_ref: LocalObjectReference::new(provider),
                event_severity: severity.map(str::to_owned),
                event_sources: sources,
                ..Default::default()
            },
        );
        crate::object::Manifest::validate(&a)?;
        Ok(a)
    }

    fn check(&self) -> Result<()> {
        let (kind, name) = ("Alert", self.metadata.name.as_str());
        if self.spec.provider_ref.name.is_empty() {
            return Err(Error::invalid(kind, name, "provider ref is required"));
        }
        if self.spec.event_sources.is_empty() {
            return Err(Error::invalid(
                kind,
                name,
                "at least one event source is required",
            ));
        }
        for s in &self.spec.event_sources {
            if !EVENT_SOURCE_KINDS.contains(&s.kind.as_str()) {
                return Err(Error::invalid(
                    kind,
                    name,
                    format!(
                        "event source kind '{}' is not supported, must be one of: {}",
                        s.kind,
                        EVENT_SOURCE_KINDS.join(", ")
                    ),
                ));
            }
        }
        if let Some(sev) = &self.spec.event_severity
            && sev != "info"
            && sev != "error"
        {
            return Err(Error::invalid(
                kind,
                name,
                format!("event severity '{sev}' is not supported, must be one of: info, error"),
            ));
        }
        Ok(())
    }
}

impl From<CrossNamespaceObjectReference> for EventSource {
    fn from(r: CrossNamespaceObjectReference) -> Self {
        EventSource {
            api_version: r.api_version,
            kind: r.kind,
            name: r.name,
            namespace: r.namespace,
            match_labels: BTreeMap::new(),
        }
    }
}

flux_kind!(
    /// A webhook `Receiver`.
    Receiver, ReceiverSpec, RECEIVER_API_VERSION, "Receiver"
);

/// `Receiver.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverSpec {
    /// Receiver type (`github`, `generic`…).
    #[serde(rename = "type")]
    pub receiver_type: String,
    /// Interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Event types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// Objects to reconcile.
    pub resources: Vec<EventSource>,
    /// CEL filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_filter: Option<String>,
    /// Secret with the token.
    pub secret_ref: LocalObjectReference,
    /// Pause.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
}

impl Receiver {
    fn check(&self) -> Result<()> {
        Ok(())
    }
}
