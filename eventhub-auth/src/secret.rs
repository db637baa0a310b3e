//! A Kubernetes `Secret` as data: what the notification-controller reads (`address`, `token`), what the
//! refresher applies. `Debug` shows the keys only.

use crate::yaml;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::fmt;

/// The Secret key holding the address (SAS: the connection string; JWT: the Event Hub name).
pub const ADDRESS_KEY: &str = "address";
/// The Secret key holding the JWT.
pub const TOKEN_KEY: &str = "token";

/// An `Opaque` Secret with string data. Values are secret; `Debug` lists only the keys.
#[derive(Clone)]
pub struct KubeSecret {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `stringData`: key to value.
    pub string_data: BTreeMap<String, SecretString>,
}

impl KubeSecret {
    /// An empty Secret `namespace/name`.
    pub fn new(name: impl Into<String>, namespace: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            namespace: namespace.into(),
            labels: BTreeMap::new(),
            string_data: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) `key`.
    pub fn with_data(mut self, key: impl Into<String>, value: SecretString) -> Self {
        self.string_data.insert(key.into(), value);
        self
    }

    /// Adds a label.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&SecretString> {
        self.string_data.get(key)
    }

    /// The Secret as a JSON object (`apiVersion: v1`, `kind: Secret`, `type: Opaque`, `stringData`). Contains
    /// the secret values: hand it to the API server, never to a log.
    pub fn to_json_exposing_secrets(&self) -> serde_json::Value {
        let mut metadata = serde_json::Map::new();
        metadata.insert("name".into(), self.name.clone().into());
        metadata.insert("namespace".into(), self.namespace.clone().into());
        if !self.labels.is_empty() {
            metadata.insert(
                "labels".into(),
                serde_json::to_value(&self.labels).unwrap_or_default(),
            );
        }
        let data: serde_json::Map<String, serde_json::Value> = self
            .string_data
            .iter()
            .map(|(k, v)| (k.clone(), v.expose_secret().to_owned().into()))
            .collect();
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata,
            "type": "Opaque",
            "stringData": data,
        })
    }

    /// The Secret as YAML (sorted keys), e.g. for `kubectl apply -f -`. Secret, like its values.
    pub fn to_yaml(&self) -> SecretString {
        SecretString::from(yaml::to_yaml(&self.to_json_exposing_secrets()))
    }
}

impl fmt::Debug for KubeSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeSecret")
            .field("name", &self.name)
            .field("namespace", &self.namespace)
            .field("labels", &self.labels)
            .field("keys", &self.string_data.keys().collect::<Vec<_>>())
            .finish()
    }
}
