//! `image.toolkit.fluxcd.io/v1`: ImageRepository, ImagePolicy, ImageUpdateAutomation.

use crate::duration::Duration;
use crate::error::{Error, Result};
use crate::meta::{
    CrossNamespaceObjectReference, LocalObjectReference, NamespacedObjectReference, is_false,
};
use crate::object::flux_kind;
use serde::{Deserialize, Serialize};

/// The image API group version.
pub const IMAGE_API_VERSION: &str = "image.toolkit.fluxcd.io/v1";

/// Providers accepted by `ImageRepository.spec.provider`.
pub const IMAGE_PROVIDERS: &[&str] = &["generic", "aws", "azure", "gcp"];

flux_kind!(
    /// An `ImageRepository`: scans an image repository for tags.
    ImageRepository, ImageRepositorySpec, IMAGE_API_VERSION, "ImageRepository"
);

/// `ImageRepository.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageRepositorySpec {
    /// Image name without tag (`myregistry.azurecr.io/app`).
    pub image: String,
    /// Scan interval.
    pub interval: Duration,
    /// Scan timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Docker-registry Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Service account (image pull secrets / workload identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Secret with TLS material.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Proxy Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// Cross-namespace access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_from: Option<serde_json::Value>,
    /// Pause scanning.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
    /// Tag exclusion regexes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclusion_list: Vec<String>,
    /// generic, aws, azure or gcp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Plain HTTP.
    #[serde(default, skip_serializing_if = "is_false")]
    pub insecure: bool,
}

impl ImageRepository {
    /// A builder with the flux CLI's defaults (`interval: 1m0s`).
    pub fn builder(
        name: impl Into<String>,
        namespace: impl Into<String>,
    ) -> ImageRepositoryBuilder {
        ImageRepositoryBuilder {
            obj: ImageRepository::new(
                name,
                namespace,
                ImageRepositorySpec {
                    interval: crate::source::DEFAULT_INTERVAL,
                    ..Default::default()
                },
            ),
        }
    }

    fn check(&self) -> Result<()> {
        let (kind, name) = ("ImageRepository", self.metadata.name.as_str());
        let image = &self.spec.image;
        if image.is_empty() {
            return Err(Error::invalid(
                kind,
                name,
                "an image repository (--image) is required",
            ));
        }
        if image.contains("://") {
            return Err(Error::invalid(
                kind,
                name,
                format!("'{image}' is not a valid image name: it must not contain a URL scheme"),
            ));
        }
        let last = image.rsplit('/').next().unwrap_or(image);
        if last.contains(':') || image.contains('@') {
            return Err(Error::invalid(
                kind,
                name,
                format!("the image name must not contain a tag or digest: '{image}'"),
            ));
        }
        if let Some(p) = &self.spec.provider
            && !IMAGE_PROVIDERS.contains(&p.as_str())
        {
            return Err(Error::invalid(
                kind,
                name,
                format!(
                    "provider '{p}' is not supported, must be one of: generic, aws, azure, gcp"
                ),
            ));
        }
        Ok(())
    }
}

/// Builds an [`ImageRepository`].
#[derive(Debug, Clone)]
pub struct ImageRepositoryBuilder {
    obj: ImageRepository,
}

impl ImageRepositoryBuilder {
    /// Image without tag.
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.obj.spec.image = image.into();
        self
    }
    /// Scan interval.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.obj.spec.interval = interval;
        self
    }
    /// Scan timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.obj.spec.timeout = Some(timeout);
        self
    }
    /// Docker-registry Secret.
    pub fn secret_ref(mut self, name: impl Into<String>) -> Self {
        self.obj.spec.secret_ref = Some(LocalObjectReference::new(name));
        self
    }
    /// TLS Secret.
    pub fn cert_secret_ref(mut self, name: impl Into<String>) -> Self {
        self.obj.spec.cert_secret_ref = Some(LocalObjectReference::new(name));
        self
    }
    /// Provider (`azure` for ACR with workload identity).
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.obj.spec.provider = Some(provider.into());
        self
    }
    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.obj.metadata.labels.insert(key.into(), value.into());
        self
    }
    /// Validates and returns the object.
    pub fn build(self) -> Result<ImageRepository> {
        crate::object::Manifest::validate(&self.obj)?;
        Ok(self.obj)
    }
}

flux_kind!(
    /// An `ImagePolicy`: selects the latest tag of an ImageRepository.
    ImagePolicy, ImagePolicySpec, IMAGE_API_VERSION, "ImagePolicy"
);

/// `ImagePolicy.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImagePolicySpec {
    /// The ImageRepository.
    pub image_repository_ref: NamespacedObjectReference,
    /// The selection rule.
    pub policy: ImagePolicyChoice,
    /// Tag filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_tags: Option<TagFilter>,
    /// Never, IfNotPresent or Always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_reflection_policy: Option<String>,
    /// Interval (only with `digestReflectionPolicy: Always`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Pause.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
}

/// `spec.policy`: exactly one of `semver`, `alphabetical`, `numerical`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagePolicyChoice {
    /// `{range}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<SemVerPolicy>,
    /// `{order}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alphabetical: Option<OrderPolicy>,
    /// `{order}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerical: Option<OrderPolicy>,
}

/// `policy.semver`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SemVerPolicy {
    /// Semver range.
    pub range: String,
}

/// `policy.alphabetical` / `policy.numerical`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPolicy {
    /// `asc` or `desc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
}

/// `spec.filterTags`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagFilter {
    /// Regex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Capture group template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<String>,
}

impl ImagePolicy {
    /// An ImagePolicy selecting tags of `image_repository` with a semver range.
    pub fn semver(
        name: &str,
        namespace: &str,
        image_repository: &str,
        range: &str,
    ) -> Result<ImagePolicy> {
        let p = ImagePolicy::new(
            name,
            namespace,
            ImagePolicySpec {
                image_repository_ref: NamespacedObjectReference {
                    name: image_repository.into(),
                    namespace: None,
                },
                policy: ImagePolicyChoice {
                    semver: Some(SemVerPolicy {
                        range: range.into(),
                    }),
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        crate::object::Manifest::validate(&p)?;
        Ok(p)
    }

    fn check(&self) -> Result<()> {
        let (kind, name) = ("ImagePolicy", self.metadata.name.as_str());
        if self.spec.image_repository_ref.name.is_empty() {
            return Err(Error::invalid(
                kind,
                name,
                "the name of an ImageRepository in the namespace is required (--image-ref)",
            ));
        }
        let p = &self.spec.policy;
        let count = usize::from(p.semver.is_some())
            + usize::from(p.alphabetical.is_some())
            + usize::from(p.numerical.is_some());
        if count == 0 {
            return Err(Error::invalid(
                kind,
                name,
                "a policy must be provided with either --select-semver, --select-alpha or --select-numeric",
            ));
        }
        if count > 1 {
            return Err(Error::invalid(
                kind,
                name,
                "only one of --select-semver, --select-alpha or --select-numeric can be specified",
            ));
        }
        if let Some(s) = &p.semver {
            crate::validate::semver_range(&s.range).map_err(|e| {
                Error::invalid(
                    kind,
                    name,
                    format!("--select-semver is not a valid semver range: {e}"),
                )
            })?;
        }
        for o in [&p.alphabetical, &p.numerical].into_iter().flatten() {
            if let Some(order) = &o.order
                && order != "asc"
                && order != "desc"
            {
                return Err(Error::invalid(
                    kind,
                    name,
                    format!("order '{order}' is not supported, must be one of: asc, desc"),
                ));
            }
        }
        if let Some(f) = &self.spec.filter_tags {
            if let Some(pattern) = &f.pattern {
                regex::Regex::new(pattern).map_err(|e| {
                    Error::invalid(
                        kind,
                        name,
                        format!("--filter-regex is an invalid regular expression: {e}"),
                    )
                })?;
            } else if f.extract.is_some() {
                return Err(Error::invalid(
                    kind,
                    name,
                    "cannot specify --filter-extract without specifying --filter-regex",
                ));
            }
        }
        match self.spec.digest_reflection_policy.as_deref() {
            None | Some("Never") | Some("IfNotPresent") | Some("Always") => {}
            Some(o) => {
                return Err(Error::invalid(
                    kind,
                    name,
                    format!(
                        "invalid digest reflection policy '{o}', must be one of: Always, IfNotPresent, Never"
                    ),
                ));
            }
        }
        if self.spec.interval.is_some()
            && self.spec.digest_reflection_policy.as_deref() != Some("Always")
        {
            return Err(Error::invalid(
                kind,
                name,
                "spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'",
            ));
        }
        Ok(())
    }
}

flux_kind!(
    /// An `ImageUpdateAutomation`: commits image updates to a GitRepository.
    ImageUpdateAutomation, ImageUpdateAutomationSpec, IMAGE_API_VERSION, "ImageUpdateAutomation"
);

/// `ImageUpdateAutomation.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdateAutomationSpec {
    /// The GitRepository.
    pub source_ref: CrossNamespaceObjectReference,
    /// Checkout, commit and push settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitSpec>,
    /// Interval.
    pub interval: Duration,
    /// Which ImagePolicies apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_selector: Option<serde_json::Value>,
    /// Update strategy (`{path, strategy: Setters}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateStrategy>,
    /// Pause.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
}

/// `spec.git`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitSpec {
    /// Checkout ref.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout: Option<GitCheckoutSpec>,
    /// Commit settings.
    pub commit: CommitSpec,
    /// Push settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<PushSpec>,
}

/// `spec.git.checkout`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitCheckoutSpec {
    /// Ref to check out.
    #[serde(rename = "ref")]
    pub reference: crate::source::GitRepositoryRef,
}

/// `spec.git.commit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitSpec {
    /// Author.
    pub author: CommitUser,
    /// Signing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<SigningKey>,
    /// Commit message template.
    #[serde(default, skip_serializing_if = "crate::image::is_empty_opt")]
    pub message_template: Option<String>,
    /// Extra template values.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub message_template_values: std::collections::BTreeMap<String, String>,
}

pub(crate) fn is_empty_opt(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(str::is_empty)
}

/// Commit author.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitUser {
    /// Email.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    /// Name.
    pub name: String,
}

/// `spec.git.commit.signingKey`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningKey {
    /// Secret with the key.
    pub secret_ref: LocalObjectReference,
    /// `openpgp` (default) or `ssh`.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub key_type: Option<String>,
}

/// `spec.git.push`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSpec {
    /// Branch to push to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Refspec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refspec: Option<String>,
    /// Push options.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub options: std::collections::BTreeMap<String, String>,
}

/// `spec.update`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateStrategy {
    /// Path in the repository (`./…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `Setters`.
    pub strategy: String,
}

impl ImageUpdateAutomation {
    fn check(&self) -> Result<()> {
        let (kind, name) = ("ImageUpdateAutomation", self.metadata.name.as_str());
        if self.spec.source_ref.kind != "GitRepository" {
            return Err(Error::invalid(
                kind,
                name,
                format!(
                    "source kind '{}' is not supported, must be GitRepository",
                    self.spec.source_ref.kind
                ),
            ));
        }
        if self.spec.source_ref.name.is_empty() {
            return Err(Error::invalid(
                kind,
                name,
                "a reference to a GitRepository is required (--git-repo-ref)",
            ));
        }
        if let Some(git) = &self.spec.git {
            if git.commit.author.name.is_empty() {
                return Err(Error::invalid(
                    kind,
                    name,
                    "the author name (--author-name) is required",
                ));
            }
            if let Some(t) = git
                .commit
                .signing_key
                .as_ref()
                .and_then(|k| k.key_type.as_deref())
                && t != "openpgp"
                && t != "ssh"
            {
                return Err(Error::invalid(
                    kind,
                    name,
                    format!(
                        "signing key type '{t}' is not supported, must be one of: openpgp, ssh"
                    ),
                ));
            }
        }
        if let Some(u) = &self.spec.update {
            if let Some(p) = &u.path {
                crate::validate::dot_slash_path(kind, name, p)?;
            }
            if u.strategy != "Setters" {
                return Err(Error::invalid(
                    kind,
                    name,
                    format!(
                        "update strategy '{}' is not supported, must be Setters",
                        u.strategy
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl ImageUpdateAutomation {
    /// A builder with the flux CLI's defaults (`interval: 1m0s`, source kind GitRepository, strategy Setters
    /// when a path is set).
    pub fn builder(
        name: impl Into<String>,
        namespace: impl Into<String>,
    ) -> ImageUpdateAutomationBuilder {
        ImageUpdateAutomationBuilder {
            obj: ImageUpdateAutomation::new(
                name,
                namespace,
                ImageUpdateAutomationSpec {
                    source_ref: CrossNamespaceObjectReference::new("GitRepository", ""),
                    interval: crate::source::DEFAULT_INTERVAL,
                    ..Default::default()
                },
            ),
        }
    }
}

/// Builds an [`ImageUpdateAutomation`].
#[derive(Debug, Clone)]
pub struct ImageUpdateAutomationBuilder {
    obj: ImageUpdateAutomation,
}

impl ImageUpdateAutomationBuilder {
    fn git(&mut self) -> &mut GitSpec {
        self.obj.spec.git.get_or_insert_with(GitSpec::default)
    }
    /// The GitRepository (`--git-repo-ref`), optionally in another namespace.
    pub fn git_repository(mut self, name: impl Into<String>, namespace: Option<String>) -> Self {
        self.obj.spec.source_ref.name = name.into();
        self.obj.spec.source_ref.namespace = namespace;
        self
    }
    /// Branch to check out (`--checkout-branch`).
    pub fn checkout_branch(mut self, branch: impl Into<String>) -> Self {
        self.git().checkout = Some(GitCheckoutSpec {
            reference: crate::source::GitRepositoryRef {
                branch: Some(branch.into()),
                ..Default::default()
            },
        });
        self
    }
    /// Branch to push to (`--push-branch`).
    pub fn push_branch(mut self, branch: impl Into<String>) -> Self {
        self.git().push = Some(PushSpec {
            branch: Some(branch.into()),
            ..Default::default()
        });
        self
    }
    /// Commit author (`--author-name`, `--author-email`).
    pub fn author(mut self, name: impl Into<String>, email: impl Into<String>) -> Self {
        self.git().commit.author = CommitUser {
            name: name.into(),
            email: email.into(),
        };
        self
    }
    /// Commit message template (`--commit-template`).
    pub fn commit_template(mut self, template: impl Into<String>) -> Self {
        self.git().commit.message_template = Some(template.into());
        self
    }
    /// Signing key Secret and type (`openpgp` or `ssh`).
    pub fn signing_key(mut self, secret: impl Into<String>, key_type: Option<String>) -> Self {
        self.git().commit.signing_key = Some(SigningKey {
            secret_ref: LocalObjectReference::new(secret),
            key_type,
        });
        self
    }
    /// Path to update with the Setters strategy (`--git-repo-path`, `./…`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.obj.spec.update = Some(UpdateStrategy {
            path: Some(path.into()),
            strategy: "Setters".into(),
        });
        self
    }
    /// Interval.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.obj.spec.interval = interval;
        self
    }
    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.obj.metadata.labels.insert(key.into(), value.into());
        self
    }
    /// Validates and returns the object.
    pub fn build(self) -> Result<ImageUpdateAutomation> {
        crate::object::Manifest::validate(&self.obj)?;
        Ok(self.obj)
    }
}
