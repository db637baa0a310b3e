//! `kustomize.toolkit.fluxcd.io/v1` Kustomization.

use crate::duration::Duration;
use crate::error::{Error, Result};
use crate::meta::{
    CrossNamespaceObjectReference, LocalObjectReference, NamespacedObjectReference,
    SecretKeyReference, is_false,
};
use crate::object::flux_kind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The kustomize API group version.
pub const KUSTOMIZE_API_VERSION: &str = "kustomize.toolkit.fluxcd.io/v1";

/// Source kinds a Kustomization may read from.
pub const KUSTOMIZATION_SOURCE_KINDS: &[&str] = &[
    "OCIRepository",
    "GitRepository",
    "Bucket",
    "ExternalArtifact",
];

flux_kind!(
    /// A Flux `Kustomization`: applies a path of a source to the cluster.
    Kustomization, KustomizationSpec, KUSTOMIZE_API_VERSION, "Kustomization"
);

/// `Kustomization.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSpec {
    /// Labels and annotations added to every applied object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<serde_json::Value>,
    /// Kustomizations that must be ready first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<NamespacedObjectReference>,
    /// SOPS decryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,
    /// Reconcile interval.
    pub interval: Duration,
    /// Interval after a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<Duration>,
    /// Remote cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfigReference>,
    /// Path in the source (`./…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Variable substitution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_build: Option<PostBuild>,
    /// Garbage-collect removed objects (always emitted).
    #[serde(default)]
    pub prune: bool,
    /// Health checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<CrossNamespaceObjectReference>,
    /// Kustomize patches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Patch>,
    /// Image overrides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<serde_json::Value>,
    /// Service account to impersonate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// The source.
    pub source_ref: CrossNamespaceObjectReference,
    /// Pause reconciliation.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
    /// Namespace for all objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_namespace: Option<String>,
    /// Timeout for apply and health checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Recreate objects on immutable-field changes.
    #[serde(default, skip_serializing_if = "is_false")]
    pub force: bool,
    /// Wait for all objects to be ready.
    #[serde(default, skip_serializing_if = "is_false")]
    pub wait: bool,
    /// Kustomize components.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// Name prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// Name suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_suffix: Option<String>,
    /// Deletion policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<String>,
}

/// `spec.decryption`: `{provider: sops, secretRef: {name}, serviceAccountName?}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decryption {
    /// Always `sops`.
    pub provider: String,
    /// Secret holding the keys (`sops.azure-kv`, `*.agekey`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Service account for Key Vault workload identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
}

/// `spec.kubeConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeConfigReference {
    /// Secret with the kubeconfig.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeyReference>,
    /// ConfigMap with `provider: azure` and cluster data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<LocalObjectReference>,
}

/// `spec.postBuild`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostBuild {
    /// Inline variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub substitute: BTreeMap<String, String>,
    /// Variables from ConfigMaps/Secrets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub substitute_from: Vec<SubstituteReference>,
}

/// `spec.postBuild.substituteFrom[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubstituteReference {
    /// ConfigMap or Secret.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Tolerate a missing object.
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
}

/// A kustomize patch (`{patch, target?}`), used by Flux Kustomizations and kustomize files alike.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Patch {
    /// The patch (strategic merge or JSON6902 as YAML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// A file holding the patch (kustomize files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Which objects to patch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<PatchTarget>,
}

/// A kustomize patch target selector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchTarget {
    /// API group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name (regex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Label selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    /// Annotation selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
}

/// Health check kinds the CLI's `--health-check` accepts.
pub const HEALTH_CHECK_KINDS: &[&str] = &["Deployment", "DaemonSet", "StatefulSet", "HelmRelease"];

impl Kustomization {
    /// A builder with the flux CLI's defaults (`interval: 1m0s`, `prune: false`, source kind GitRepository).
    pub fn builder(name: impl Into<String>, namespace: impl Into<String>) -> KustomizationBuilder {
        KustomizationBuilder {
            obj: Kustomization::new(
                name,
                namespace,
                KustomizationSpec {
                    interval: crate::source::DEFAULT_INTERVAL,
                    ..Default::default()
                },
            ),
        }
    }

    fn check(&self) -> Result<()> {
        let (kind, name) = ("Kustomization", self.metadata.name.as_str());
        if self.spec.source_ref.name.is_empty() {
            return Err(Error::invalid(kind, name, "source is required"));
        }
        let sk = self.spec.source_ref.kind.as_str();
        if !KUSTOMIZATION_SOURCE_KINDS.contains(&sk) {
            return Err(Error::invalid(
                kind,
                name,
                format!(
                    "source kind '{sk}' is not supported, must be one of: {}",
                    KUSTOMIZATION_SOURCE_KINDS.join(", ")
                ),
            ));
        }
        if let Some(p) = &self.spec.path {
            crate::validate::dot_slash_path(kind, name, p)?;
        }
        if let Some(d) = &self.spec.decryption
            && d.provider != "sops"
        {
            return Err(Error::invalid(
                kind,
                name,
                format!(
                    "decryption provider '{}' is not supported, must be one of: sops",
                    d.provider
                ),
            ));
        }
        for hc in &self.spec.health_checks {
            if hc.kind.is_empty() || hc.name.is_empty() {
                return Err(Error::invalid(
                    kind,
                    name,
                    "health check must be in the format 'Kind/name.namespace'",
                ));
            }
        }
        Ok(())
    }
}

/// Builds a [`Kustomization`].
#[derive(Debug, Clone)]
pub struct KustomizationBuilder {
    obj: Kustomization,
}

impl KustomizationBuilder {
    /// The source, `Kind/name[.namespace]` or `name` (kind defaults to GitRepository).
    pub fn source(mut self, source: &str) -> Self {
        let (k, n, ns) = crate::meta::split_kind_name_namespace(source);
        let mut r = CrossNamespaceObjectReference::new(k.unwrap_or("GitRepository"), n);
        r.namespace = ns.map(str::to_owned);
        self.obj.spec.source_ref = r;
        self
    }
    /// The source as a typed reference.
    pub fn source_ref(mut self, source: CrossNamespaceObjectReference) -> Self {
        self.obj.spec.source_ref = source;
        self
    }
    /// Path in the source; must start with `./`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.obj.spec.path = Some(path.into());
        self
    }
    /// Prune.
    pub fn prune(mut self, prune: bool) -> Self {
        self.obj.spec.prune = prune;
        self
    }
    /// Reconcile interval.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.obj.spec.interval = interval;
        self
    }
    /// Timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.obj.spec.timeout = Some(timeout);
        self
    }
    /// Wait for readiness.
    pub fn wait(mut self, wait: bool) -> Self {
        self.obj.spec.wait = wait;
        self
    }
    /// SOPS decryption with keys from `secret` (e.g. a `sops-azure` Secret with `sops.azure-kv`).
    pub fn decryption_sops(mut self, secret: Option<&str>) -> Self {
        self.obj.spec.decryption = Some(Decryption {
            provider: "sops".into(),
            secret_ref: secret.map(LocalObjectReference::new),
            service_account_name: None,
        });
        self
    }
    /// Service account used for Key Vault workload identity during decryption.
    pub fn decryption_service_account(mut self, sa: impl Into<String>) -> Self {
        self.obj
            .spec
            .decryption
            .get_or_insert_with(|| Decryption {
                provider: "sops".into(),
                ..Default::default()
            })
            .service_account_name = Some(sa.into());
        self
    }
    /// Depends on another Kustomization (`name` or `name.namespace`... given as parts).
    pub fn depends_on(mut self, name: impl Into<String>, namespace: Option<String>) -> Self {
        self.obj.spec.depends_on.push(NamespacedObjectReference {
            name: name.into(),
            namespace,
        });
        self
    }
    /// Target namespace.
    pub fn target_namespace(mut self, ns: impl Into<String>) -> Self {
        self.obj.spec.target_namespace = Some(ns.into());
        self
    }
    /// Service account to impersonate.
    pub fn service_account_name(mut self, sa: impl Into<String>) -> Self {
        self.obj.spec.service_account_name = Some(sa.into());
        self
    }
    /// Adds a health check.
    pub fn health_check(mut self, check: CrossNamespaceObjectReference) -> Self {
        self.obj.spec.health_checks.push(check);
        self
    }
    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.obj.metadata.labels.insert(key.into(), value.into());
        self
    }
    /// Mutable access for fields without a setter.
    pub fn spec_mut(&mut self) -> &mut KustomizationSpec {
        &mut self.obj.spec
    }
    /// Validates and returns the object.
    pub fn build(self) -> Result<Kustomization> {
        crate::object::Manifest::validate(&self.obj)?;
        Ok(self.obj)
    }
}
