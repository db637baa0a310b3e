//! The [`Manifest`] trait every object implements, and the renderers.

use crate::error::Result;
use crate::meta::ObjectMeta;
use crate::yaml::to_yaml;
use serde_json::Value;

/// A Kubernetes object this crate can validate and render.
pub trait Manifest {
    /// `apiVersion` (`source.toolkit.fluxcd.io/v1`).
    fn api_version(&self) -> &str;
    /// `kind` (`GitRepository`).
    fn kind(&self) -> &str;
    /// The object's metadata.
    fn metadata(&self) -> &ObjectMeta;
    /// The full object as JSON (`apiVersion`, `kind`, `metadata`, then the body).
    fn to_json(&self) -> Value;
    /// Checks the object the way the flux CLI (and the CRD schema) would; errors use the CLI's wording.
    fn validate(&self) -> Result<()>;
}

/// Validates `obj` and renders it as `flux … --export` prints one object: `---\n` + YAML (ending in `\n`).
pub fn render(obj: &dyn Manifest) -> Result<String> {
    obj.validate()?;
    Ok(format!("---\n{}", to_yaml(&obj.to_json())))
}

/// Validates and renders several objects as one multi-document stream (each starts with `---`).
pub fn render_all(objs: &[&dyn Manifest]) -> Result<String> {
    let mut out = String::new();
    for o in objs {
        out.push_str(&render(*o)?);
    }
    Ok(out)
}

/// Renders a JSON value as one `---`-prefixed document without validation (for objects this crate does
/// not model, e.g. install manifests).
pub fn render_value(value: &Value) -> String {
    format!("---\n{}", to_yaml(value))
}

pub(crate) fn to_value<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

/// Every `interval`/`timeout`-like field must match the CRDs' pattern `^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
/// (Go prints sub-millisecond durations with `µs`/`ns`, which the API server rejects).
pub(crate) fn check_durations(kind: &str, name: &str, v: &Value) -> Result<()> {
    fn walk(kind: &str, name: &str, key: &str, v: &Value) -> Result<()> {
        match v {
            Value::Object(m) => m.iter().try_for_each(|(k, v)| walk(kind, name, k, v)),
            Value::Array(a) => a.iter().try_for_each(|v| walk(kind, name, key, v)),
            Value::String(s) if key.ends_with("nterval") || key.ends_with("imeout") => {
                let ok = crate::duration::Duration::parse(s).is_ok_and(|d| d.is_crd_compatible());
                if ok {
                    Ok(())
                } else {
                    Err(crate::error::Error::invalid(
                        kind,
                        name,
                        format!(
                            "{key} '{s}' is not a valid duration for the API: use whole milliseconds or more (ms, s, m, h)"
                        ),
                    ))
                }
            }
            _ => Ok(()),
        }
    }
    walk(kind, name, "", v)
}

/// Defines a Flux kind: a struct with `metadata` and `spec`, its constants, JSON conversion and
/// [`Manifest`] (validation = name rules + the kind's own `check`).
macro_rules! flux_kind {
    ($(#[$m:meta])* $name:ident, $spec:ty, $api:expr, $kind:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $name {
            /// Object metadata.
            pub metadata: $crate::meta::ObjectMeta,
            /// The desired state.
            pub spec: $spec,
        }

        impl $name {
            /// The apiVersion this crate emits.
            pub const API_VERSION: &'static str = $api;
            /// The kind.
            pub const KIND: &'static str = $kind;

            /// An object with the given name, namespace and spec (not validated until rendered).
            pub fn new(name: impl Into<String>, namespace: impl Into<String>, spec: $spec) -> Self {
                Self { metadata: $crate::meta::ObjectMeta::new(name, namespace), spec }
            }

            /// Reads the object from JSON (unknown fields are dropped, as the API server prunes them).
            pub fn from_json(v: &serde_json::Value) -> $crate::error::Result<Self> {
                let metadata = serde_json::from_value(v.get("metadata").cloned().unwrap_or_default())
                    .map_err(|e| $crate::error::Error::Parse { what: format!("{} metadata", $kind), message: e.to_string() })?;
                let spec = serde_json::from_value(v.get("spec").cloned().unwrap_or_else(|| serde_json::json!({})))
                    .map_err(|e| $crate::error::Error::Parse { what: format!("{} spec", $kind), message: e.to_string() })?;
                Ok(Self { metadata, spec })
            }
        }

        impl $crate::object::Manifest for $name {
            fn api_version(&self) -> &str {
                $api
            }
            fn kind(&self) -> &str {
                $kind
            }
            fn metadata(&self) -> &$crate::meta::ObjectMeta {
                &self.metadata
            }
            fn to_json(&self) -> serde_json::Value {
                serde_json::json!({
                    "apiVersion": $api,
                    "kind": $kind,
                    "metadata": $crate::object::to_value(&self.metadata),
                    "spec": $crate::object::to_value(&self.spec),
                })
            }
            fn validate(&self) -> $crate::error::Result<()> {
                $crate::validate::object_name(&self.metadata.name)?;
                if let Some(ns) = &self.metadata.namespace {
                    $crate::validate::object_name(ns)?;
                }
                $crate::object::check_durations($kind, &self.metadata.name, &$crate::object::to_value(&self.spec))?;
                self.check()
            }
        }
    };
}
pub(crate) use flux_kind;
