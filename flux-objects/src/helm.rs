//! `helm.toolkit.fluxcd.io/v2` HelmRelease.

use crate::duration::Duration;
use crate::error::{Error, Result};
use crate::meta::{CrossNamespaceObjectReference, NamespacedObjectReference, is_false};
use crate::object::flux_kind;
use crate::source::OCIRepositoryVerification;
use serde::{Deserialize, Serialize};

/// The helm API group version.
pub const HELM_API_VERSION: &str = "helm.toolkit.fluxcd.io/v2";

/// Kinds `spec.chartRef` may point to.
pub const CHART_REF_KINDS: &[&str] = &["OCIRepository", "HelmChart"];

flux_kind!(
    /// A `HelmRelease`: a Helm release of a chart from a source (`chart`) or an existing chart (`chartRef`).
    HelmRelease, HelmReleaseSpec, HELM_API_VERSION, "HelmRelease"
);

/// `HelmRelease.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseSpec {
    /// Chart template (creates a HelmChart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<HelmChartTemplate>,
    /// Reference to an OCIRepository or HelmChart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_ref: Option<CrossNamespaceObjectReference>,
    /// Reconcile interval.
    pub interval: Duration,
    /// Remote cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<crate::kustomize::KubeConfigReference>,
    /// Pause reconciliation.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
    /// Release name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// Namespace of the release's objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_namespace: Option<String>,
    /// Namespace for the Helm storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_namespace: Option<String>,
    /// HelmReleases that must be ready first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<NamespacedObjectReference>,
    /// Timeout of Helm actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Max history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_history: Option<i64>,
    /// Service account to impersonate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Install settings (`createNamespace`, `crds`, `remediation`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<serde_json::Value>,
    /// Upgrade settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<serde_json::Value>,
    /// Test settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<serde_json::Value>,
    /// Rollback settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<serde_json::Value>,
    /// Uninstall settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uninstall: Option<serde_json::Value>,
    /// Drift detection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_detection: Option<serde_json::Value>,
    /// Values from ConfigMaps/Secrets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_from: Vec<ValuesReference>,
    /// Inline values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<serde_json::Value>,
    /// Post renderers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_renderers: Vec<serde_json::Value>,
}

/// `spec.chart`: `{spec: {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HelmChartTemplate {
    /// The chart's spec.
    pub spec: HelmChartTemplateSpec,
}

/// `spec.chart.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplateSpec {
    /// Chart name.
    pub chart: String,
    /// Version (semver range).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where the chart comes from.
    pub source_ref: CrossNamespaceObjectReference,
    /// Interval of the generated HelmChart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// `ChartVersion` or `Revision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile_strategy: Option<String>,
    /// Values files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_files: Vec<String>,
    /// Ignore missing values files.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_missing_values_files: bool,
    /// Signature verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<OCIRepositoryVerification>,
}

/// `spec.valuesFrom[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValuesReference {
    /// ConfigMap or Secret.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Key (default `values.yaml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_key: Option<String>,
    /// Path in the values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_path: Option<String>,
    /// Tolerate a missing object.
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
}

impl HelmRelease {
    /// A builder with the flux CLI's defaults (`interval: 1m0s`, `reconcileStrategy: ChartVersion`).
    pub fn builder(name: impl Into<String>, namespace: impl Into<String>) -> HelmReleaseBuilder {
        HelmReleaseBuilder {
            obj: HelmRelease::new(
                name,
                namespace,
                HelmReleaseSpec {
                    interval: crate::source::DEFAULT_INTERVAL,
                    ..Default::default()
                },
            ),
        }
    }

    fn check(&self) -> Result<()> {
        let (kind, name) = ("HelmRelease", self.metadata.name.as_str());
        match (&self.spec.chart, &self.spec.chart_ref) {
            (None, None) => {
                return Err(Error::invalid(kind, name, "chart or chart-ref is required"));
            }
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    kind,
                    name,
                    "cannot use --chart in combination with --chart-ref",
                ));
            }
            _ => {}
        }
        if let Some(c) = &self.spec.chart {
            let sk = c.spec.source_ref.kind.as_str();
            if !crate::source::HELM_CHART_SOURCE_KINDS.contains(&sk) {
                return Err(Error::invalid(
                    kind,
                    name,
                    format!(
                        "source kind '{sk}' is not supported, must be one of: HelmRepository, GitRepository, Bucket"
                    ),
                ));
            }
            if let Some(v) = &c.spec.version {
                crate::validate::semver_range(v).map_err(|e| {
                    Error::invalid(kind, name, format!("invalid chart version '{v}': {e}"))
                })?;
            }
            if let Some(s) = &c.spec.reconcile_strategy
                && s != "ChartVersion"
                && s != "Revision"
            {
                return Err(Error::invalid(
                    kind,
                    name,
                    format!(
                        "reconcile strategy '{s}' is not supported, must be one of: ChartVersion, Revision"
                    ),
                ));
            }
        }
        if let Some(r) = &self.spec.chart_ref
            && !CHART_REF_KINDS.contains(&r.kind.as_str())
        {
            return Err(Error::invalid(
                kind,
                name,
                format!(
                    "chart reference kind '{}' is not supported, must be one of: OCIRepository, HelmChart",
                    r.kind
                ),
            ));
        }
        Ok(())
    }
}

/// Builds a [`HelmRelease`].
#[derive(Debug, Clone)]
pub struct HelmReleaseBuilder {
    obj: HelmRelease,
}

impl HelmReleaseBuilder {
    fn chart_spec(&mut self) -> &mut HelmChartTemplateSpec {
        &mut self
            .obj
            .spec
            .chart
            .get_or_insert_with(|| HelmChartTemplate {
                spec: HelmChartTemplateSpec {
                    reconcile_strategy: Some("ChartVersion".into()),
                    ..Default::default()
                },
            })
            .spec
    }
    /// Chart name (with [`HelmReleaseBuilder::source`]).
    pub fn chart(mut self, chart: impl Into<String>) -> Self {
        self.chart_spec().chart = chart.into();
        self
    }
    /// Chart source `Kind/name[.namespace]` (HelmRepository, GitRepository or Bucket).
    pub fn source(mut self, source: &str) -> Self {
        let (k, n, ns) = crate::meta::split_kind_name_namespace(source);
        let mut r = CrossNamespaceObjectReference::new(k.unwrap_or("HelmRepository"), n);
        r.namespace = ns.map(str::to_owned);
        self.chart_spec().source_ref = r;
        self
    }
    /// Chart version range (`>6.0.0`).
    pub fn chart_version(mut self, version: impl Into<String>) -> Self {
        self.chart_spec().version = Some(version.into());
        self
    }
    /// Reconcile strategy (`ChartVersion` or `Revision`).
    pub fn reconcile_strategy(mut self, strategy: impl Into<String>) -> Self {
        self.chart_spec().reconcile_strategy = Some(strategy.into());
        self
    }
    /// Chart reference (`OCIRepository` or `HelmChart`), instead of `chart`.
    pub fn chart_ref(
        mut self,
        kind: impl Into<String>,
        name: impl Into<String>,
        namespace: Option<String>,
    ) -> Self {
        let mut r = CrossNamespaceObjectReference::new(kind, name);
        r.namespace = namespace;
        self.obj.spec.chart_ref = Some(r);
        self
    }
    /// Reconcile interval.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.obj.spec.interval = interval;
        self
    }
    /// Release name.
    pub fn release_name(mut self, name: impl Into<String>) -> Self {
        self.obj.spec.release_name = Some(name.into());
        self
    }
    /// Target namespace (also used as storage namespace, like the CLI).
    pub fn target_namespace(mut self, ns: impl Into<String>) -> Self {
        let ns = ns.into();
        self.obj.spec.storage_namespace = Some(ns.clone());
        self.obj.spec.target_namespace = Some(ns);
        self
    }
    /// Inline values.
    pub fn values(mut self, values: serde_json::Value) -> Self {
        self.obj.spec.values = Some(values);
        self
    }
    /// Service account to impersonate.
    pub fn service_account_name(mut self, sa: impl Into<String>) -> Self {
        self.obj.spec.service_account_name = Some(sa.into());
        self
    }
    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.obj.metadata.labels.insert(key.into(), value.into());
        self
    }
    /// Mutable access for fields without a setter.
    pub fn spec_mut(&mut self) -> &mut HelmReleaseSpec {
        &mut self.obj.spec
    }
    /// Validates and returns the object.
    pub fn build(self) -> Result<HelmRelease> {
        crate::object::Manifest::validate(&self.obj)?;
        Ok(self.obj)
    }
}
