//! The real clients speaking the Azure REST contracts (design notes §6c, §6d):
//!
//! * [`EventSink`]: posts a [`FluxEvent`] (or any JSON) to `POST https://<ns>.servicebus.windows.net/<hub>/messages
//!   ?timeout=60&api-version=2014-01` with a token from an `Arc<dyn TokenSource>` — `Authorization:
//!   SharedAccessSignature …` or `Bearer <jwt>` — through azflux-core's [`HttpPipeline`] (retries with jitter,
//!   `Retry-After`, the fake cloud's routing transport). Entra ID tokens only go to `https://*.<service bus
//!   suffix>` hosts of the configured cloud; a SAS token only to a URL its `sr` covers.
//! * [`EventHubsArm::list_keys`]: the ARM `listKeys` action of a namespace or hub authorization rule.

use crate::api::{IssuedToken, TokenKind, TokenSource};
use crate::connection_string::ConnectionString;
use crate::error::{Error, Result};
use crate::event::FluxEvent;
use crate::sas::{ParsedSasToken, SasTokenSource};
use azflux_core::Cloud;
use azflux_core::arm::ArmClient;
use azflux_core::http::{HostRule, HttpMethod, HttpPipeline, HttpPipelineOptions, HttpRequest};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The data-plane REST api-version of "Send event".
pub const SEND_API_VERSION: &str = "2014-01";
/// The content type the REST docs send events with.
pub const SEND_CONTENT_TYPE: &str = "application/atom+xml;type=entry;charset=utf-8";
/// The Microsoft.EventHub ARM api-version used for `listKeys`.
pub const EVENTHUB_ARM_API_VERSION: &str = "2026-01-01";

/// Options for [`EventSink`].
#[derive(Debug, Clone)]
pub struct EventSinkOptions {
    /// The cloud (its service bus suffix bounds where Entra ID tokens may go).
    pub cloud: Cloud,
    /// Transport, retries and clock.
    pub http: HttpPipelineOptions,
    /// `BrokerProperties: {"PartitionKey": …}` on every event, if set.
    pub partition_key: Option<String>,
    /// The `timeout` query parameter, in seconds (default 60).
    pub timeout_secs: u32,
    /// A cached token is reused until this long before it expires (default 5 min).
    pub token_reuse_margin: Duration,
}

impl Default for EventSinkOptions {
    fn default() -> Self {
        Self {
            cloud: Cloud::public(),
            http: HttpPipelineOptions::default(),
            partition_key: None,
            timeout_secs: 60,
            token_reuse_margin: Duration::from_secs(300),
        }
    }
}

/// Sends events to one Event Hub over REST. `Debug` shows the URL and the source's description only.
pub struct EventSink {
    pipeline: HttpPipeline,
    url: url::Url,
    namespace_host: String,
    hub: String,
    source: Arc<dyn TokenSource>,
    options: EventSinkOptions,
    cached: Mutex<Option<IssuedToken>>,
}

impl fmt::Debug for EventSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSink")
            .field("url", &self.url.as_str())
            .field("source", &self.source.describe())
            .field("partition_key", &self.options.partition_key)
            .finish_non_exhaustive()
    }
}

impl EventSink {
    /// A sender to hub `hub` of `namespace` (a name such as `my-ns`, completed with the cloud's service bus
    /// suffix, or a host `my-ns.servicebus.windows.net`, optionally as `sb://…/`), authenticating with
    /// `source`.
    pub fn new(
        namespace: &str,
        hub: &str,
        source: Arc<dyn TokenSource>,
        options: EventSinkOptions,
    ) -> Result<Self> {
        let namespace_host = namespace_host(namespace, &options.cloud)?;
        let hub = hub.trim();
        if hub.is_empty() || hub.contains(['/', '?', '#', ' ']) {
            return Err(Error::InvalidInput {
                what: "Event Hub name",
                why: "it must be a plain hub name such as `fluxv2` (not empty, no `/`, `?`, `#` or spaces)"
                    .into(),
            });
        }
        let mut url = url::Url::parse(&format!("https://{namespace_host}/"))
            .and_then(|base| base.join(&format!("{hub}/messages")))
            .map_err(|e| Error::InvalidInput {
                what: "Event Hubs namespace",
                why: format!("`https://{namespace_host}/{hub}/messages` is not a URL: {e}"),
            })?;
        url.query_pairs_mut()
            .append_pair("timeout", &options.timeout_secs.to_string())
            .append_pair("api-version", SEND_API_VERSION);
        Ok(Self {
            pipeline: HttpPipeline::new(&options.http),
            url,
            namespace_host,
            hub: hub.to_owned(),
            source,
            options,
            cached: Mutex::new(None),
        })
    }

    /// A SAS sender from a connection string: to `hub`, or to the string's `EntityPath` when `hub` is
    /// `None`. Tokens are signed for the hub, live one hour, and are reused until `token_reuse_margin`
    /// before expiry.
    pub fn from_connection_string(
        connection_string: &ConnectionString,
        hub: Option<&str>,
        options: EventSinkOptions,
    ) -> Result<Self> {
        let hub = hub
            .or(connection_string.entity_path())
            .ok_or_else(|| Error::InvalidInput {
                what: "Event Hub name",
                why:
                    "the connection string is namespace-level (no `EntityPath`); pass the hub name"
                        .into(),
            })?;
        let source = SasTokenSource::new(
            connection_string.key().clone(),
            connection_string.hub_resource_uri(hub),
            SasTokenSource::DEFAULT_TTL,
            options.http.clock.clone(),
        )?;
        Self::new(
            connection_string.namespace_host(),
            hub,
            Arc::new(source),
            options,
        )
    }

    /// The URL events are posted to.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// The hub name.
    pub fn hub(&self) -> &str {
        &self.hub
    }

    /// The namespace host.
    pub fn namespace_host(&self) -> &str {
        &self.namespace_host
    }

    /// Sends one Flux event (its `eventv1.Event` JSON) as one Event Hubs event.
    pub async fn send(&self, event: &FluxEvent) -> Result<()> {
        let body = event.to_json().map_err(|e| Error::InvalidInput {
            what: "Flux event",
            why: format!("cannot serialise it: {e}"),
        })?;
        self.send_raw(body).await
    }

    /// Sends `body` as one event.
    pub async fn send_raw(&self, body: Vec<u8>) -> Result<()> {
        let resource = format!("POST {}/{}/messages", self.namespace_host, self.hub);
        let token = self.token().await?;
        self.check_destination(&token)?;
        let authorization = token.authorization();
        let mut request = HttpRequest::new(self.url.clone(), HttpMethod::Post);
        request.insert_header("authorization", authorization.expose_secret().to_owned());
        request.insert_header("content-type", SEND_CONTENT_TYPE);
        if let Some(key) = &self.options.partition_key {
            request.insert_header(
                "brokerproperties",
                serde_json::json!({ "PartitionKey": key }).to_string(),
            );
        }
        request.set_body(body);
        let response = self.pipeline.send(&mut request).await?;
        if response.is_success() {
            tracing::debug!(%resource, status = response.status, "sent event");
            return Ok(());
        }
        let (code, detail) = service_error_body(&response.body);
        // The service never echoes a token, but make sure an error can never carry ours.
        let detail = scrub(&detail, &token, &authorization);
        let retry_after = response.retry_after();
        match response.status {
            401 => {
                self.forget_token();
                Err(Error::SendUnauthorized {
                    resource,
                    token_kind: token.kind,
                    detail,
                    hint: match token.kind {
                        TokenKind::Sas => {
                            "check that the key was not regenerated, that the rule has the `Send` right and covers this hub, and that the token has not expired (clock skew)"
                        }
                        TokenKind::Jwt => {
                            "check that the token is for `https://eventhubs.azure.net` and that the identity has the `Azure Event Hubs Data Sender` role on the hub or namespace"
                        }
                    },
                })
            }
            404 => Err(Error::EntityNotFound {
                namespace: self.namespace_host.clone(),
                hub: self.hub.clone(),
                detail,
            }),
            429 | 503 => Err(Error::Throttled {
                resource,
                status: response.status,
                detail,
                retry_after,
            }),
            status => {
                let body = serde_json::json!({ "code": code, "Detail": detail }).to_string();
                let headers = |n: &str| response.header(n).map(str::to_owned);
                Err(Error::Azure(azflux_core::error::classify(
                    status,
                    &resource,
                    &headers,
                    body.as_bytes(),
                )))
            }
        }
    }

    async fn token(&self) -> Result<IssuedToken> {
        let now = self.options.http.clock.now();
        if let Some(token) = self
            .cached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|t| !t.is_expired_at(now + self.options.token_reuse_margin))
        {
            return Ok(token.clone());
        }
        let token = self.source.token().await?;
        if token.is_expired_at(now) {
            return Err(Error::IssuedExpired {
                source_name: self.source.describe(),
                expires_on: token.expires_on,
            });
        }
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) = Some(token.clone());
        Ok(token)
    }

    fn forget_token(&self) {
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Entra ID tokens only to `https://*.<service bus suffix>`; SAS tokens only where their `sr` covers.
    fn check_destination(&self, token: &IssuedToken) -> Result<()> {
        let host = self.url.host_str().unwrap_or_default().to_owned();
        let refuse = |why: String| Error::TokenHostRefused {
            host: host.clone(),
            token_kind: token.kind,
            why,
        };
        match token.kind {
            TokenKind::Jwt => {
                let suffix = format!(".{}", self.options.cloud.service_bus_suffix);
                if self.url.scheme() != "https" || !HostRule::Suffix(suffix.clone()).allows(&host) {
                    return Err(refuse(format!(
                        "Entra ID tokens for Event Hubs only go to `https://*{suffix}` in cloud `{}`",
                        self.options.cloud.name
                    )));
                }
            }
            TokenKind::Sas => {
                let parsed = ParsedSasToken::parse(token.token.expose_secret())?;
                let target = format!("https://{}/{}", self.namespace_host, self.hub);
                if !parsed.covers(&target) {
                    return Err(refuse(format!(
                        "the SAS token is for `{}` and does not cover `{target}`",
                        parsed.resource_uri()
                    )));
                }
            }
        }
        Ok(())
    }
}

fn namespace_host(namespace: &str, cloud: &Cloud) -> Result<String> {
    let trimmed = namespace.trim();
    let without_scheme = trimmed
        .split_once("://")
        .map_or(trimmed, |(_, rest)| rest)
        .trim_end_matches('/');
    if without_scheme.is_empty()
        || without_scheme.contains(['/', '?', '#', ' ', '@'])
        || without_scheme.starts_with('.')
    {
        return Err(Error::InvalidInput {
            what: "Event Hubs namespace",
            why: format!(
                "`{trimmed}` is not a namespace name or host; pass `<ns>` or `<ns>.{}`",
                cloud.service_bus_suffix
            ),
        });
    }
    Ok(if without_scheme.contains('.') {
        without_scheme.to_ascii_lowercase()
    } else {
        cloud.event_hubs_host(&without_scheme.to_ascii_lowercase())
    })
}

/// Reads Service Bus's error body: `<Error><Code>401</Code><Detail>…</Detail></Error>` (XML, as the REST
/// endpoints answer), or JSON `{"code"|"error": …, "Detail"|"message": …}`, or plain text. Returns (code,
/// detail).
pub fn service_error_body(body: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if let (Some(code), detail) = (xml_element(text, "Code"), xml_element(text, "Detail")) {
        return (code, detail.unwrap_or_default());
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        let v = v.get("error").filter(|e| e.is_object()).unwrap_or(&v);
        let field = |names: &[&str]| {
            names.iter().find_map(|n| {
                v.get(*n).and_then(|x| {
                    x.as_str()
                        .map(str::to_owned)
                        .or_else(|| x.as_u64().map(|n| n.to_string()))
                })
            })
        };
        if let Some(code) = field(&["code", "Code"]) {
            return (
                code,
                field(&["Detail", "detail", "message"]).unwrap_or_default(),
            );
        }
    }
    let detail: String = text.chars().take(300).collect();
    (String::new(), detail)
}

fn xml_element(text: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find(&close)?;
    Some(xml_unescape(text[start..start + len].trim()))
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn scrub(detail: &str, token: &IssuedToken, authorization: &SecretString) -> String {
    let mut out = detail.to_owned();
    for secret in [token.token.expose_secret(), authorization.expose_secret()] {
        if !secret.is_empty() {
            out = out.replace(secret, "[REDACTED]");
        }
    }
    out
}

/// An authorization rule of a namespace or of one of its hubs, by ARM coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRuleRef {
    /// Subscription id.
    pub subscription_id: String,
    /// Resource group.
    pub resource_group: String,
    /// Namespace name.
    pub namespace: String,
    /// Hub name for a hub-level rule.
    pub hub: Option<String>,
    /// Rule name (`RootManageSharedAccessKey`, `send`…).
    pub rule: String,
}

impl AuthorizationRuleRef {
    /// A namespace-level rule.
    pub fn namespace_rule(
        subscription_id: impl Into<String>,
        resource_group: impl Into<String>,
        namespace: impl Into<String>,
        rule: impl Into<String>,
    ) -> Self {
        Self {
            subscription_id: subscription_id.into(),
            resource_group: resource_group.into(),
            namespace: namespace.into(),
            hub: None,
            rule: rule.into(),
        }
    }

    /// A hub-level rule.
    pub fn hub_rule(
        subscription_id: impl Into<String>,
        resource_group: impl Into<String>,
        namespace: impl Into<String>,
        hub: impl Into<String>,
        rule: impl Into<String>,
    ) -> Self {
        Self {
            hub: Some(hub.into()),
            ..Self::namespace_rule(subscription_id, resource_group, namespace, rule)
        }
    }

    /// The rule's ARM id.
    pub fn id(&self) -> Result<String> {
        let mut parts = vec![
            ("subscription id", self.subscription_id.as_str()),
            ("resource group", self.resource_group.as_str()),
            ("namespace", self.namespace.as_str()),
            ("authorization rule", self.rule.as_str()),
        ];
        if let Some(hub) = &self.hub {
            parts.push(("Event Hub", hub.as_str()));
        }
        for (what, value) in parts {
            if value.trim().is_empty() || value.contains(['/', '?', '#']) {
                return Err(Error::InvalidInput {
                    what: "authorization rule reference",
                    why: format!("the {what} `{value}` is empty or contains `/`, `?` or `#`"),
                });
            }
        }
        let ns = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.EventHub/namespaces/{}",
            self.subscription_id, self.resource_group, self.namespace
        );
        Ok(match &self.hub {
            Some(hub) => format!("{ns}/eventhubs/{hub}/authorizationRules/{}", self.rule),
            None => format!("{ns}/authorizationRules/{}", self.rule),
        })
    }
}

/// The `AccessKeys` of a rule (`listKeys`). `Debug` shows the key name only.
#[derive(Clone)]
pub struct AccessKeys {
    /// The rule name.
    pub key_name: String,
    /// `Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…[;EntityPath=…]`.
    pub primary_connection_string: SecretString,
    /// The same with the secondary key.
    pub secondary_connection_string: SecretString,
    /// The primary key.
    pub primary_key: SecretString,
    /// The secondary key.
    pub secondary_key: SecretString,
}

impl AccessKeys {
    /// The primary connection string, parsed.
    pub fn primary(&self) -> Result<ConnectionString> {
        ConnectionString::try_from(&self.primary_connection_string)
    }

    /// The secondary connection string, parsed.
    pub fn secondary(&self) -> Result<ConnectionString> {
        ConnectionString::try_from(&self.secondary_connection_string)
    }

    fn from_json(v: &serde_json::Value, resource: &str) -> Result<Self> {
        let field = |name: &str| -> Result<SecretString> {
            v.get(name)
                .and_then(|x| x.as_str())
                .map(|s| SecretString::from(s.to_owned()))
                .ok_or_else(|| {
                    Error::Azure(azflux_core::Error::UnexpectedResponse {
                        resource: resource.to_owned(),
                        message: format!("the AccessKeys body has no `{name}`"),
                    })
                })
        };
        Ok(Self {
            key_name: v
                .get("keyName")
                .and_then(|x| x.as_str())
                .unwrap_or_default()
                .to_owned(),
            primary_connection_string: field("primaryConnectionString")?,
            secondary_connection_string: field("secondaryConnectionString")?,
            primary_key: field("primaryKey")?,
            secondary_key: field("secondaryKey")?,
        })
    }
}

impl fmt::Debug for AccessKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKeys")
            .field("key_name", &self.key_name)
            .finish_non_exhaustive()
    }
}

/// Microsoft.EventHub on ARM: the authorization rules' keys (here), and ensuring namespaces, hubs and rules
/// ([`crate::arm`]).
#[derive(Debug, Clone)]
pub struct EventHubsArm {
    arm: ArmClient,
}

impl EventHubsArm {
    /// A client on `arm`.
    pub fn new(arm: ArmClient) -> Self {
        Self { arm }
    }

    /// The Resource Manager client underneath.
    pub fn arm(&self) -> &ArmClient {
        &self.arm
    }

    /// `POST …/authorizationRules/{rule}/listKeys` (namespace or hub rule): the rule's keys and connection
    /// strings (hub-level strings carry `EntityPath`).
    pub async fn list_keys(&self, rule: &AuthorizationRuleRef) -> Result<AccessKeys> {
        let id = rule.id()?;
        let response = self
            .arm
            .post_and_wait(&id, "listKeys", EVENTHUB_ARM_API_VERSION, None, &|_| {})
            .await?;
        AccessKeys::from_json(&response.body, &format!("POST {id}/listKeys"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_service_bus_error_bodies() {
        let xml = b"<Error><Code>401</Code><Detail>ExpiredToken: The token is expired. TrackingId:1</Detail></Error>";
        assert_eq!(
            service_error_body(xml),
            (
                "401".into(),
                "ExpiredToken: The token is expired. TrackingId:1".into()
            )
        );
        let json = br#"{"code":404,"Detail":"The messaging entity was not found"}"#;
        assert_eq!(
            service_error_body(json),
            ("404".into(), "The messaging entity was not found".into())
        );
        assert_eq!(service_error_body(b"boom"), (String::new(), "boom".into()));
        assert_eq!(
            service_error_body(b"<Error><Code>400</Code><Detail>a &amp; b</Detail></Error>").1,
            "a & b"
        );
    }

    #[test]
    fn namespace_names_and_hosts() {
        let c = Cloud::public();
        assert_eq!(
            namespace_host("ns", &c).unwrap(),
            "ns.servicebus.windows.net"
        );
        assert_eq!(
            namespace_host("sb://NS.servicebus.windows.net/", &c).unwrap(),
            "ns.servicebus.windows.net"
        );
        assert!(namespace_host("", &c).is_err());
        assert!(namespace_host("a/b", &c).is_err());
    }

    #[test]
    fn rule_ids() {
        let r = AuthorizationRuleRef::hub_rule("s", "rg", "ns", "hub", "send");
        assert_eq!(
            r.id().unwrap(),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns/eventhubs/hub/authorizationRules/send"
        );
        assert!(
            AuthorizationRuleRef::namespace_rule("s", "rg", "n/s", "r")
                .id()
                .is_err()
        );
    }
}
