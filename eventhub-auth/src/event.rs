//! [`FluxEvent`]: the event the notification-controller posts to Event Hubs, serialised like Flux's
//! `eventv1.Event` (`github.com/fluxcd/pkg/apis/event/v1`): `involvedObject` (a `corev1.ObjectReference`),
//! `severity`, `timestamp` (`metav1.Time`: RFC 3339, whole seconds, UTC), `message`, `reason`, `metadata`
//! (omitted when empty), `reportingController`, `reportingInstance` (omitted when empty). Fields are written in
//! Go's struct order, so the JSON is byte-for-byte what the controller sends.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// `eventv1.EventSeverityInfo`, `…Error`, `…Trace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum EventSeverity {
    /// `info`.
    Info,
    /// `error`.
    Error,
    /// `trace` (not forwarded by default).
    Trace,
}

/// A `corev1.ObjectReference` as Flux fills it (every field `omitempty`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    /// `Kustomization`, `HelmRelease`, `GitRepository`…
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The object's namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// The object's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The object's UID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// `kustomize.toolkit.fluxcd.io/v1`…
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// The resource version the event is about.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// A field path inside the object.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field_path: String,
}

impl ObjectReference {
    /// A reference to `kind` `namespace/name`.
    pub fn new(
        kind: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
            ..Self::default()
        }
    }
}

/// A Flux event (`eventv1.Event`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FluxEvent {
    /// The object the event is about.
    pub involved_object: ObjectReference,
    /// `info`, `error` or `trace`.
    pub severity: EventSeverity,
    /// When it happened (serialised as RFC 3339 in UTC, whole seconds, as `metav1.Time`).
    #[serde(serialize_with = "ser_meta_time", deserialize_with = "de_meta_time")]
    pub timestamp: OffsetDateTime,
    /// A human-readable description.
    pub message: String,
    /// A machine-readable reason (`ReconciliationSucceeded`, `HealthCheckFailed`…).
    pub reason: String,
    /// Extra data (`revision`, `token`…), omitted when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The controller that emitted it (`kustomize-controller`).
    pub reporting_controller: String,
    /// The controller instance, omitted when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reporting_instance: String,
}

impl FluxEvent {
    /// An event about `object` at `timestamp`, reported by `reporting_controller`.
    pub fn new(
        object: ObjectReference,
        severity: EventSeverity,
        reason: impl Into<String>,
        message: impl Into<String>,
        reporting_controller: impl Into<String>,
        timestamp: OffsetDateTime,
    ) -> Self {
        Self {
            involved_object: object,
            severity,
            timestamp,
            message: message.into(),
            reason: reason.into(),
            metadata: BTreeMap::new(),
            reporting_controller: reporting_controller.into(),
            reporting_instance: String::new(),
        }
    }

    /// Adds a metadata entry.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Sets `reportingInstance`.
    pub fn with_reporting_instance(mut self, instance: impl Into<String>) -> Self {
        self.reporting_instance = instance.into();
        self
    }

    /// The JSON the controller sends.
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        serde_json::to_vec(self)
    }
}

const META_TIME: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// `metav1.Time`'s JSON: `t.UTC().Format(time.RFC3339)`, i.e. whole seconds and `Z`.
fn ser_meta_time<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    let utc = t.to_offset(time::UtcOffset::UTC);
    let text = utc.format(META_TIME).map_err(serde::ser::Error::custom)?;
    s.serialize_str(&text)
}

fn de_meta_time<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
    let text = String::deserialize(d)?;
    OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_in_go_field_order_with_meta_time() {
        let at = time::macros::datetime!(2026-03-01 12:34:56.789 +02:00);
        let event = FluxEvent::new(
            ObjectReference::new("Kustomization", "flux-system", "apps"),
            EventSeverity::Info,
            "ReconciliationSucceeded",
            "Reconciliation finished",
            "kustomize-controller",
            at,
        )
        .with_metadata("revision", "main@sha1:abc");
        let json = String::from_utf8(event.to_json().unwrap()).unwrap();
        assert_eq!(
            json,
            r#"{"involvedObject":{"kind":"Kustomization","namespace":"flux-system","name":"apps"},"severity":"info","timestamp":"2026-03-01T10:34:56Z","message":"Reconciliation finished","reason":"ReconciliationSucceeded","metadata":{"revision":"main@sha1:abc"},"reportingController":"kustomize-controller"}"#
        );
        let back: FluxEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back.timestamp,
            time::macros::datetime!(2026-03-01 10:34:56 UTC)
        );
        assert_eq!(back.metadata["revision"], "main@sha1:abc");
    }
}
