//! Object metadata and references shared by every kind.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The exported part of `metav1.ObjectMeta`: what `flux export` keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Object name.
    #[serde(default)]
    pub name: String,
    /// Namespace (absent for cluster-scoped objects such as Namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ObjectMeta {
    /// Metadata for a namespaced object.
    pub fn new(name: impl Into<String>, namespace: impl Into<String>) -> Self {
        ObjectMeta {
            name: name.into(),
            namespace: Some(namespace.into()),
            ..Default::default()
        }
    }

    /// Metadata for a cluster-scoped object.
    pub fn cluster(name: impl Into<String>) -> Self {
        ObjectMeta {
            name: name.into(),
            ..Default::default()
        }
    }

    /// The namespace or `""`.
    pub fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }
}

/// A reference to an object in the same namespace (`{name}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalObjectReference {
    /// Referent name.
    pub name: String,
}

impl LocalObjectReference {
    /// A reference to `name`.
    pub fn new(name: impl Into<String>) -> Self {
        LocalObjectReference { name: name.into() }
    }
}

/// A reference that may point to another namespace (`{apiVersion?, kind, name, namespace?}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceObjectReference {
    /// API version of the referent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referent.
    pub kind: String,
    /// Name of the referent.
    pub name: String,
    /// Namespace of the referent (defaults to the referrer's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl CrossNamespaceObjectReference {
    /// A reference to `kind/name`.
    pub fn new(kind: impl Into<String>, name: impl Into<String>) -> Self {
        CrossNamespaceObjectReference {
            kind: kind.into(),
            name: name.into(),
            ..Default::default()
        }
    }

    /// The same reference with a namespace.
    pub fn in_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }
}

/// A reference to an object by name and optional namespace (`dependsOn`, `imageRepositoryRef`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespacedObjectReference {
    /// Referent name.
    pub name: String,
    /// Referent namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A reference to a key in a Secret (`{name, key?}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretKeyReference {
    /// Secret name.
    pub name: String,
    /// Key in the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Splits `Kind/name.namespace` (the flux CLI's reference syntax) into its parts.
pub fn split_kind_name_namespace(s: &str) -> (Option<&str>, &str, Option<&str>) {
    let (kind, rest) = match s.split_once('/') {
        Some((k, r)) => (Some(k), r),
        None => (None, s),
    };
    match rest.split_once('.') {
        Some((n, ns)) => (kind, n, Some(ns)),
        None => (kind, rest, None),
    }
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}
