//! Manifests for running the token refresher in the cluster, replacing the guide's removed
//! `eventhub-credentials-sync` (an `az` CLI + `kubectl` shell loop): a 1-replica `Recreate` Deployment (or a
//! `batch/v1` CronJob), its ServiceAccount (with the workload-identity annotation and label), a Role allowing
//! it to manage only the target Secret, and the RoleBinding.
//!
//! The ServiceAccount and RoleBinding are flux-objects' types; the Role, Deployment and CronJob (kinds
//! flux-objects does not model) are typed here with serde. Everything renders through flux-objects' YAML
//! renderer.

use crate::error::{Error, Result};
use flux_objects::core::{RoleRef, Subject};
use flux_objects::{Manifest, ObjectMeta, RoleBinding, ServiceAccount};
use serde::Serialize;
use std::collections::BTreeMap;

pub use flux_objects::core::{
    WI_CLIENT_ID as WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION,
    WI_TENANT_ID as WORKLOAD_IDENTITY_TENANT_ID_ANNOTATION,
    WI_USE_LABEL as WORKLOAD_IDENTITY_USE_LABEL,
};

/// Deployment (long-running refresher; gets a token at pod start) or CronJob (one refresh per run).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkloadKind {
    /// A 1-replica `Recreate` Deployment running the refresher loop.
    Deployment,
    /// A `batch/v1` CronJob running one refresh per schedule (the schedule must refresh well within the
    /// token lifetime, e.g. `0 * * * *` for tokens living over an hour).
    CronJob {
        /// The cron schedule.
        schedule: String,
    },
}

/// How the refresher's pod gets its Entra ID identity.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefresherIdentity {
    /// Workload identity: ServiceAccount annotations and the pod label; the webhook injects the env.
    WorkloadIdentity {
        /// The user-assigned managed identity's client id.
        client_id: String,
        /// The tenant, if not the cluster's default.
        tenant_id: Option<String>,
    },
    /// A service principal whose `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_TENANT_ID` come from keys of
    /// the same names in Secret `secret_name`.
    ClientSecret {
        /// The Secret holding the three keys.
        secret_name: String,
    },
    /// Nothing injected (e.g. SAS from a mounted connection string, or node managed identity).
    None,
}

/// Options for [`RefresherManifests::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefresherManifestOptions {
    /// Name of every object (default `eventhub-token-refresher`).
    pub name: String,
    /// Namespace (default `flux-system`).
    pub namespace: String,
    /// The refresher image (required).
    pub image: String,
    /// The container's arguments (the refresher CLI invocation; owned by the caller).
    pub args: Vec<String>,
    /// The Secret the refresher writes (the Provider's `secretRef`, default `webhook-url` as in the guide).
    pub target_secret: String,
    /// Deployment or CronJob.
    pub workload: WorkloadKind,
    /// How the pod authenticates.
    pub identity: RefresherIdentity,
    /// UID to run as (non-root; default 1001 as the guide did).
    pub run_as_user: u32,
}

impl Default for RefresherManifestOptions {
    fn default() -> Self {
        Self {
            name: "eventhub-token-refresher".into(),
            namespace: "flux-system".into(),
            image: String::new(),
            args: Vec::new(),
            target_secret: "webhook-url".into(),
            workload: WorkloadKind::Deployment,
            identity: RefresherIdentity::None,
            run_as_user: 1001,
        }
    }
}

/// An RBAC rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    /// `apiGroups`.
    pub api_groups: Vec<String>,
    /// `resources`.
    pub resources: Vec<String>,
    /// `resourceNames` (omitted when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    /// `verbs`.
    pub verbs: Vec<String>,
}

/// An `rbac.authorization.k8s.io/v1` Role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    /// `rbac.authorization.k8s.io/v1`.
    pub api_version: String,
    /// `Role`.
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// The rules.
    pub rules: Vec<PolicyRule>,
}

/// `secretKeyRef`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretKeySelector {
    /// The Secret.
    pub name: String,
    /// The key.
    pub key: String,
}

/// `valueFrom`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVarSource {
    /// `secretKeyRef`.
    pub secret_key_ref: SecretKeySelector,
}

/// A container env var.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    /// Name.
    pub name: String,
    /// Literal value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Value from a Secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_from: Option<EnvVarSource>,
}

/// `capabilities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Dropped capabilities.
    pub drop: Vec<String>,
}

/// A container `securityContext`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerSecurityContext {
    /// `allowPrivilegeEscalation`.
    pub allow_privilege_escalation: bool,
    /// `readOnlyRootFilesystem`.
    pub read_only_root_filesystem: bool,
    /// `capabilities`.
    pub capabilities: Capabilities,
}

/// A container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// Name.
    pub name: String,
    /// Image.
    pub image: String,
    /// Arguments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Env.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Security context.
    pub security_context: ContainerSecurityContext,
}

/// `seccompProfile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeccompProfile {
    /// `RuntimeDefault`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A pod `securityContext`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityContext {
    /// `runAsNonRoot`.
    pub run_as_non_root: bool,
    /// `runAsUser`.
    pub run_as_user: u32,
    /// `seccompProfile`.
    pub seccomp_profile: SeccompProfile,
}

/// A pod spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    /// `serviceAccountName`.
    pub service_account_name: String,
    /// `restartPolicy` (CronJob: `Never`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
    /// Pod security context.
    pub security_context: PodSecurityContext,
    /// Containers.
    pub containers: Vec<Container>,
}

/// A pod template's `metadata` (labels only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateMeta {
    /// Labels (and the workload-identity label).
    pub labels: BTreeMap<String, String>,
}

/// A pod template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodTemplateSpec {
    /// Labels (and the workload-identity label).
    pub metadata: TemplateMeta,
    /// The pod.
    pub spec: PodSpec,
}

/// `selector`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// `matchLabels`.
    pub match_labels: BTreeMap<String, String>,
}

/// `strategy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploymentStrategy {
    /// `Recreate`: never two refreshers at once.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A Deployment spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploymentSpec {
    /// 1.
    pub replicas: u32,
    /// Selector.
    pub selector: LabelSelector,
    /// Strategy.
    pub strategy: DeploymentStrategy,
    /// Pod template.
    pub template: PodTemplateSpec,
}

/// An `apps/v1` Deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// `apps/v1`.
    pub api_version: String,
    /// `Deployment`.
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: DeploymentSpec,
}

/// A Job spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    /// Retries of a failed run.
    pub backoff_limit: u32,
    /// Pod template.
    pub template: PodTemplateSpec,
}

/// `jobTemplate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobTemplateSpec {
    /// The Job spec.
    pub spec: JobSpec,
}

/// A CronJob spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CronJobSpec {
    /// Cron schedule.
    pub schedule: String,
    /// `Forbid`: never two refreshers at once.
    pub concurrency_policy: String,
    /// Kept successful Jobs.
    pub successful_jobs_history_limit: u32,
    /// Kept failed Jobs.
    pub failed_jobs_history_limit: u32,
    /// The Job.
    pub job_template: JobTemplateSpec,
}

/// A `batch/v1` CronJob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CronJob {
    /// `batch/v1`.
    pub api_version: String,
    /// `CronJob`.
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: CronJobSpec,
}

/// The refresher's workload object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Workload {
    /// A Deployment.
    Deployment(Deployment),
    /// A CronJob.
    CronJob(CronJob),
}

/// Everything needed to run the refresher in-cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefresherManifests {
    /// The ServiceAccount.
    pub service_account: ServiceAccount,
    /// The Role (secrets: `create`; `get`/`update`/`patch` on the target Secret only).
    pub role: Role,
    /// The RoleBinding.
    pub role_binding: RoleBinding,
    /// The Deployment or CronJob.
    pub workload: Workload,
}

impl RefresherManifests {
    /// Builds the objects. Fails on an empty image, name, namespace or target Secret.
    pub fn new(options: &RefresherManifestOptions) -> Result<Self> {
        for (what, value) in [
            ("refresher image", &options.image),
            ("refresher name", &options.name),
            ("refresher namespace", &options.namespace),
            ("target Secret name", &options.target_secret),
        ] {
            if value.trim().is_empty() {
                return Err(Error::InvalidInput {
                    what: "refresher manifest options",
                    why: format!("the {what} is empty"),
                });
            }
        }
        if let WorkloadKind::CronJob { schedule } = &options.workload
            && schedule.split_whitespace().count() != 5
        {
            return Err(Error::InvalidInput {
                what: "refresher CronJob schedule",
                why: format!(
                    "`{schedule}` is not a five-field cron expression such as `0 * * * *`"
                ),
            });
        }
        let o = options;
        let app_labels: BTreeMap<String, String> = [
            ("app.kubernetes.io/name".to_owned(), o.name.clone()),
            (
                "app.kubernetes.io/component".to_owned(),
                "eventhub-token-refresher".to_owned(),
            ),
        ]
        .into();
        let meta = |labels: &BTreeMap<String, String>| ObjectMeta {
            labels: labels.clone(),
            ..ObjectMeta::new(&o.name, &o.namespace)
        };

        let mut sa_meta = meta(&app_labels);
        let mut pod_labels = app_labels.clone();
        let mut env = Vec::new();
        match &o.identity {
            RefresherIdentity::WorkloadIdentity {
                client_id,
                tenant_id,
            } => {
                sa_meta.annotations.insert(
                    WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION.into(),
                    client_id.clone(),
                );
                if let Some(t) = tenant_id {
                    sa_meta
                        .annotations
                        .insert(WORKLOAD_IDENTITY_TENANT_ID_ANNOTATION.into(), t.clone());
                }
                sa_meta
                    .labels
                    .insert(WORKLOAD_IDENTITY_USE_LABEL.into(), "true".into());
                pod_labels.insert(WORKLOAD_IDENTITY_USE_LABEL.into(), "true".into());
            }
            RefresherIdentity::ClientSecret { secret_name } => {
                for key in ["AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"] {
                    env.push(EnvVar {
                        name: key.into(),
                        value: None,
                        value_from: Some(EnvVarSource {
                            secret_key_ref: SecretKeySelector {
                                name: secret_name.clone(),
                                key: key.into(),
                            },
                        }),
                    });
                }
            }
            RefresherIdentity::None => {}
        }

        let service_account = ServiceAccount { metadata: sa_meta };
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let role = Role {
            api_version: "rbac.authorization.k8s.io/v1".into(),
            kind: "Role".into(),
            metadata: meta(&app_labels),
            rules: vec![
                // RBAC cannot restrict `create` by resource name, so it gets its own rule.
                PolicyRule {
                    api_groups: strings(&[""]),
                    resources: strings(&["secrets"]),
                    resource_names: Vec::new(),
                    verbs: strings(&["create"]),
                },
                PolicyRule {
                    api_groups: strings(&[""]),
                    resources: strings(&["secrets"]),
                    resource_names: vec![o.target_secret.clone()],
                    verbs: strings(&["get", "update", "patch"]),
                },
            ],
        };
        let role_binding = RoleBinding {
            metadata: meta(&app_labels),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "Role".into(),
                name: o.name.clone(),
            },
            subjects: vec![Subject {
                api_group: None,
                kind: "ServiceAccount".into(),
                name: o.name.clone(),
                namespace: Some(o.namespace.clone()),
            }],
        };

        let pod = |restart_policy: Option<String>| PodTemplateSpec {
            metadata: TemplateMeta {
                labels: pod_labels.clone(),
            },
            spec: PodSpec {
                service_account_name: o.name.clone(),
                restart_policy,
                security_context: PodSecurityContext {
                    run_as_non_root: true,
                    run_as_user: o.run_as_user,
                    seccomp_profile: SeccompProfile {
                        kind: "RuntimeDefault".into(),
                    },
                },
                containers: vec![Container {
                    name: "refresher".into(),
                    image: o.image.clone(),
                    args: o.args.clone(),
                    env: env.clone(),
                    security_context: ContainerSecurityContext {
                        allow_privilege_escalation: false,
                        read_only_root_filesystem: true,
                        capabilities: Capabilities {
                            drop: strings(&["ALL"]),
                        },
                    },
                }],
            },
        };
        let workload = match &o.workload {
            WorkloadKind::Deployment => Workload::Deployment(Deployment {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                metadata: meta(&app_labels),
                spec: DeploymentSpec {
                    replicas: 1,
                    selector: LabelSelector {
                        match_labels: app_labels.clone(),
                    },
                    strategy: DeploymentStrategy {
                        kind: "Recreate".into(),
                    },
                    template: pod(None),
                },
            }),
            WorkloadKind::CronJob { schedule } => Workload::CronJob(CronJob {
                api_version: "batch/v1".into(),
                kind: "CronJob".into(),
                metadata: meta(&app_labels),
                spec: CronJobSpec {
                    schedule: schedule.clone(),
                    concurrency_policy: "Forbid".into(),
                    successful_jobs_history_limit: 1,
                    failed_jobs_history_limit: 1,
                    job_template: JobTemplateSpec {
                        spec: JobSpec {
                            backoff_limit: 3,
                            template: pod(Some("Never".into())),
                        },
                    },
                },
            }),
        };
        Ok(Self {
            service_account,
            role,
            role_binding,
            workload,
        })
    }

    /// The objects as JSON, in apply order: ServiceAccount, Role, RoleBinding, workload.
    pub fn to_json(&self) -> Result<Vec<serde_json::Value>> {
        let ser = |v: serde_json::Result<serde_json::Value>| {
            v.map_err(|e| Error::InvalidInput {
                what: "refresher manifests",
                why: format!("cannot serialise: {e}"),
            })
        };
        Ok(vec![
            self.service_account.to_json(),
            ser(serde_json::to_value(&self.role))?,
            self.role_binding.to_json(),
            ser(serde_json::to_value(&self.workload))?,
        ])
    }

    /// The objects as a multi-document YAML stream (each document starts with `---`), rendered by
    /// flux-objects; the ServiceAccount and RoleBinding are validated by it.
    pub fn to_yaml(&self) -> Result<String> {
        let render = |what: &'static str, obj: &dyn Manifest| {
            flux_objects::render(obj).map_err(|source| Error::FluxObject { what, source })
        };
        let docs = self.to_json()?;
        Ok([
            render("refresher ServiceAccount", &self.service_account)?,
            flux_objects::render_value(&docs[1]),
            render("refresher RoleBinding", &self.role_binding)?,
            flux_objects::render_value(&docs[3]),
        ]
        .concat())
    }
}
