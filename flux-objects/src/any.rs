//! [`Object`]: any object this crate models, read from YAML/JSON, with the CRD defaults the API server applies.

use crate::core::{Namespace, RoleBinding, Secret, ServiceAccount};
use crate::duration::Duration;
use crate::error::{Error, Result};
use crate::helm::HelmRelease;
use crate::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation, UpdateStrategy};
use crate::kustomize::Kustomization;
use crate::meta::ObjectMeta;
use crate::notification::{Alert, Provider, Receiver};
use crate::object::Manifest;
use crate::source::{
    Bucket, ExternalArtifact, GitRepository, HelmChart, HelmRepository, OCIRepository,
};
use serde_json::Value;

/// Any object this crate models.
#[derive(Debug, Clone)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)]
pub enum Object {
    /// GitRepository.
    GitRepository(GitRepository),
    /// HelmRepository.
    HelmRepository(HelmRepository),
    /// OCIRepository.
    OCIRepository(OCIRepository),
    /// HelmChart.
    HelmChart(HelmChart),
    /// Bucket.
    Bucket(Bucket),
    /// ExternalArtifact.
    ExternalArtifact(ExternalArtifact),
    /// Kustomization.
    Kustomization(Kustomization),
    /// HelmRelease.
    HelmRelease(HelmRelease),
    /// ImageRepository.
    ImageRepository(ImageRepository),
    /// ImagePolicy.
    ImagePolicy(ImagePolicy),
    /// ImageUpdateAutomation.
    ImageUpdateAutomation(ImageUpdateAutomation),
    /// Provider.
    Provider(Provider),
    /// Alert.
    Alert(Alert),
    /// Receiver.
    Receiver(Receiver),
    /// Namespace.
    Namespace(Namespace),
    /// Secret.
    Secret(Secret),
    /// ServiceAccount.
    ServiceAccount(ServiceAccount),
    /// RoleBinding.
    RoleBinding(RoleBinding),
}

impl Object {
    /// Reads one object from JSON by `apiVersion`/`kind`; unknown kinds are an [`Error::UnknownKind`].
    pub fn from_json(v: &Value) -> Result<Object> {
        let api = v
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or_default();
        Ok(match (api, kind) {
            (crate::source::SOURCE_API_VERSION, "GitRepository") => {
                Object::GitRepository(GitRepository::from_json(v)?)
            }
            (crate::source::SOURCE_API_VERSION, "HelmRepository") => {
                Object::HelmRepository(HelmRepository::from_json(v)?)
            }
            (crate::source::SOURCE_API_VERSION, "OCIRepository") => {
                Object::OCIRepository(OCIRepository::from_json(v)?)
            }
            (crate::source::SOURCE_API_VERSION, "HelmChart") => {
                Object::HelmChart(HelmChart::from_json(v)?)
            }
            (crate::source::SOURCE_API_VERSION, "Bucket") => Object::Bucket(Bucket::from_json(v)?),
            (crate::source::SOURCE_API_VERSION, "ExternalArtifact") => {
                Object::ExternalArtifact(ExternalArtifact::from_json(v)?)
            }
            (crate::kustomize::KUSTOMIZE_API_VERSION, "Kustomization") => {
                Object::Kustomization(Kustomization::from_json(v)?)
            }
            (crate::helm::HELM_API_VERSION, "HelmRelease") => {
                Object::HelmRelease(HelmRelease::from_json(v)?)
            }
            (crate::image::IMAGE_API_VERSION, "ImageRepository") => {
                Object::ImageRepository(ImageRepository::from_json(v)?)
            }
            (crate::image::IMAGE_API_VERSION, "ImagePolicy") => {
                Object::ImagePolicy(ImagePolicy::from_json(v)?)
            }
            (crate::image::IMAGE_API_VERSION, "ImageUpdateAutomation") => {
                Object::ImageUpdateAutomation(ImageUpdateAutomation::from_json(v)?)
            }
            (crate::notification::NOTIFICATION_API_VERSION, "Provider") => {
                Object::Provider(Provider::from_json(v)?)
            }
            (crate::notification::NOTIFICATION_API_VERSION, "Alert") => {
                Object::Alert(Alert::from_json(v)?)
            }
            (crate::notification::RECEIVER_API_VERSION, "Receiver") => {
                Object::Receiver(Receiver::from_json(v)?)
            }
            ("v1", "Namespace") => Object::Namespace(Namespace { metadata: meta(v)? }),
            ("v1", "ServiceAccount") => {
                Object::ServiceAccount(ServiceAccount { metadata: meta(v)? })
            }
            ("v1", "Secret") => {
                let mut s = Secret {
                    metadata: meta(v)?,
                    ..Default::default()
                };
                if let Some(Value::Object(m)) = v.get("stringData") {
                    for (k, val) in m {
                        s.string_data
                            .insert(k.clone(), val.as_str().unwrap_or_default().into());
                    }
                }
                s.secret_type = v.get("type").and_then(Value::as_str).map(str::to_owned);
                Object::Secret(s)
            }
            ("rbac.authorization.k8s.io/v1", "RoleBinding") => {
                Object::RoleBinding(serde_json::from_value(v.clone()).map_err(|e| {
                    Error::Parse {
                        what: "RoleBinding".into(),
                        message: e.to_string(),
                    }
                })?)
            }
            _ => {
                return Err(Error::UnknownKind {
                    api_version: api.to_owned(),
                    kind: kind.to_owned(),
                });
            }
        })
    }

    /// Parses a multi-document YAML stream into objects.
    pub fn parse_all(yaml: &str) -> Result<Vec<Object>> {
        let docs = crate::yaml::parse_documents(yaml).map_err(|message| Error::Parse {
            what: "YAML".into(),
            message,
        })?;
        docs.iter().map(Object::from_json).collect()
    }

    /// The object as a [`Manifest`].
    pub fn as_manifest(&self) -> &dyn Manifest {
        match self {
            Object::GitRepository(o) => o,
            Object::HelmRepository(o) => o,
            Object::OCIRepository(o) => o,
            Object::HelmChart(o) => o,
            Object::Bucket(o) => o,
            Object::ExternalArtifact(o) => o,
            Object::Kustomization(o) => o,
            Object::HelmRelease(o) => o,
            Object::ImageRepository(o) => o,
            Object::ImagePolicy(o) => o,
            Object::ImageUpdateAutomation(o) => o,
            Object::Provider(o) => o,
            Object::Alert(o) => o,
            Object::Receiver(o) => o,
            Object::Namespace(o) => o,
            Object::Secret(o) => o,
            Object::ServiceAccount(o) => o,
            Object::RoleBinding(o) => o,
        }
    }

    /// Applies the `default:` values the CRD schemas declare, as the API server does when the object is
    /// created (what `flux export` then reads back).
    pub fn apply_crd_defaults(&mut self) {
        let some = |o: &mut Option<String>, v: &str| {
            if o.is_none() {
                *o = Some(v.to_owned());
            }
        };
        match self {
            Object::GitRepository(o) => {
                o.spec.timeout.get_or_insert(Duration::from_secs(60));
                if let Some(v) = &mut o.spec.verify {
                    some(&mut v.mode, "HEAD");
                }
            }
            Object::HelmRepository(o) => some(&mut o.spec.provider, "generic"),
            Object::OCIRepository(o) => {
                some(&mut o.spec.provider, "generic");
                o.spec.timeout.get_or_insert(Duration::from_secs(60));
            }
            Object::HelmChart(o) => {
                some(&mut o.spec.reconcile_strategy, "ChartVersion");
                some(&mut o.spec.version, "*");
            }
            Object::Bucket(o) => {
                some(&mut o.spec.provider, "generic");
                o.spec.timeout.get_or_insert(Duration::from_secs(60));
            }
            Object::HelmRelease(o) => {
                if let Some(c) = &mut o.spec.chart {
                    some(&mut c.spec.reconcile_strategy, "ChartVersion");
                    some(&mut c.spec.version, "*");
                }
            }
            Object::ImageRepository(o) => {
                if o.spec.exclusion_list.is_empty() {
                    o.spec.exclusion_list = vec![r"^.*\.sig$".to_owned()];
                }
                some(&mut o.spec.provider, "generic");
            }
            Object::ImagePolicy(o) => {
                some(&mut o.spec.digest_reflection_policy, "Never");
                for p in [
                    &mut o.spec.policy.alphabetical,
                    &mut o.spec.policy.numerical,
                ]
                .into_iter()
                .flatten()
                {
                    some(&mut p.order, "asc");
                }
            }
            Object::ImageUpdateAutomation(o) => {
                if o.spec.source_ref.kind.is_empty() {
                    o.spec.source_ref.kind = "GitRepository".into();
                }
                o.spec.update.get_or_insert_with(|| UpdateStrategy {
                    path: None,
                    strategy: "Setters".into(),
                });
            }
            Object::Alert(o) => some(&mut o.spec.event_severity, "info"),
            Object::Receiver(o) => {
                o.spec.interval.get_or_insert(Duration::from_mins(10));
            }
            _ => {}
        }
    }

    /// Metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        self.as_manifest().metadata()
    }

    /// Kind.
    pub fn kind(&self) -> &str {
        self.as_manifest().kind()
    }
}

fn meta(v: &Value) -> Result<ObjectMeta> {
    serde_json::from_value(v.get("metadata").cloned().unwrap_or_default()).map_err(|e| {
        Error::Parse {
            what: "metadata".into(),
            message: e.to_string(),
        }
    })
}
