//! `flux install --export`: the install manifests of a Flux release, rendered with the CLI's customisations.
//!
//! The flux CLI downloads `manifests.tar.gz` from the GitHub release of a version it does not embed. That
//! archive holds one bundle per component (`source-controller.yaml`, … — CRDs, ServiceAccount, Deployment,
//! Services) plus `rbac.yaml` and `policies.yaml`; the CLI then runs kustomize over them with generated
//! `namespace.yaml`, `labels.yaml`, `node-selector.yaml` and per-component patches. [`render`] applies the
//! same transformations directly and prints the same stream: the generated-by header, then the objects in
//! kustomize's legacy order (Namespace, ResourceQuota, CRDs, ServiceAccounts, ClusterRoles,
//! ClusterRoleBindings, Services, Deployments, then other kinds such as NetworkPolicy), names sorted.
//!
//! Everything here is pure; a [`ManifestSource`] provides the artifacts. With the `fetch` feature,
//! [`fetch::GitHubReleaseSource`] downloads and caches them (checksum-verified) and
//! [`fetch::LocalDirSource`] reads an unpacked directory. [`generate_release`] builds small but structurally
//! real artifacts for tests and fake servers.

use crate::error::{Error, Result};
use serde_json::{Map, Value, json};
use sha2::Digest;
use std::collections::BTreeMap;
use std::io::Read;

/// Components `flux install` installs by default.
pub const DEFAULT_COMPONENTS: &[&str] = &[
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
];
/// Components accepted by `--components-extra`.
pub const EXTRA_COMPONENTS: &[&str] = &[
    "image-reflector-controller",
    "image-automation-controller",
    "source-watcher",
];

/// `flux install` options (defaults as the CLI's flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallOptions {
    /// Flux version (`v2.9.0`), printed in the header and the `app.kubernetes.io/version` label.
    pub version: String,
    /// `--namespace` (default `flux-system`).
    pub namespace: String,
    /// `--components`.
    pub components: Vec<String>,
    /// `--components-extra`.
    pub components_extra: Vec<String>,
    /// `--registry` (default `ghcr.io/fluxcd`).
    pub registry: String,
    /// `--image-pull-secret`.
    pub image_pull_secret: Option<String>,
    /// `--watch-all-namespaces` (default true).
    pub watch_all_namespaces: bool,
    /// `--network-policy` (default true).
    pub network_policy: bool,
    /// `--log-level` (default `info`).
    pub log_level: String,
    /// `--cluster-domain` (default `cluster.local`).
    pub cluster_domain: String,
    /// `--toleration-keys`.
    pub toleration_keys: Vec<String>,
}

impl InstallOptions {
    /// The CLI's defaults for `version`.
    pub fn new(version: impl Into<String>) -> Self {
        InstallOptions {
            version: version.into(),
            namespace: "flux-system".into(),
            components: DEFAULT_COMPONENTS.iter().map(|s| (*s).to_owned()).collect(),
            components_extra: Vec::new(),
            registry: "ghcr.io/fluxcd".into(),
            image_pull_secret: None,
            watch_all_namespaces: true,
            network_policy: true,
            log_level: "info".into(),
            cluster_domain: "cluster.local".into(),
            toleration_keys: Vec::new(),
        }
    }

    /// Components then extra components, as the header lists them.
    pub fn all_components(&self) -> Vec<String> {
        self.components
            .iter()
            .chain(self.components_extra.iter())
            .cloned()
            .collect()
    }

    fn check(&self) -> Result<()> {
        let bad = |m: String| {
            Err(Error::Manifests {
                version: self.version.clone(),
                message: m,
            })
        };
        crate::validate::object_name(&self.namespace)?;
        for c in &self.components {
            if !DEFAULT_COMPONENTS.contains(&c.as_str()) && !EXTRA_COMPONENTS.contains(&c.as_str())
            {
                return bad(format!("component {c} is not supported"));
            }
        }
        for c in &self.components_extra {
            if !EXTRA_COMPONENTS.contains(&c.as_str()) {
                return bad(format!(
                    "component {c} is not supported as an extra, must be one of: {}",
                    EXTRA_COMPONENTS.join(", ")
                ));
            }
        }
        if !["debug", "info", "error"].contains(&self.log_level.as_str()) {
            return bad(format!(
                "log level '{}' is not supported, must be one of: debug, info, error",
                self.log_level
            ));
        }
        Ok(())
    }
}

/// The files of a release's `manifests.tar.gz`, by file name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseArtifacts {
    files: BTreeMap<String, String>,
}

impl ReleaseArtifacts {
    /// From `(file name, contents)` pairs.
    pub fn from_files<I: IntoIterator<Item = (String, String)>>(files: I) -> Self {
        ReleaseArtifacts {
            files: files.into_iter().collect(),
        }
    }

    /// Unpacks a `manifests.tar.gz` held in memory (directories inside the archive are ignored: files are
    /// keyed by their base name).
    pub fn from_tar_gz(bytes: &[u8]) -> Result<Self> {
        let err = |m: String| Error::Manifests {
            version: String::new(),
            message: m,
        };
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
        let mut files = BTreeMap::new();
        for entry in archive
            .entries()
            .map_err(|e| err(format!("manifests.tar.gz is not a gzip tar archive: {e}")))?
        {
            let mut entry = entry.map_err(|e| err(format!("reading manifests.tar.gz: {e}")))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry
                .path()
                .map_err(|e| err(format!("bad path in manifests.tar.gz: {e}")))?
                .into_owned();
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                continue;
            };
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|e| err(format!("{name} in manifests.tar.gz is not UTF-8 text: {e}")))?;
            files.insert(name, text);
        }
        Ok(ReleaseArtifacts { files })
    }

    /// A file's contents.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.files.get(name).map(String::as_str)
    }

    /// The file names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Packs the files as a gzip tar archive (files at the archive root, mode 0644, mtime 0).
    pub fn to_tar_gz(&self) -> Result<Vec<u8>> {
        let err = |e: std::io::Error| Error::Manifests {
            version: String::new(),
            message: format!("packing manifests.tar.gz: {e}"),
        };
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut b = tar::Builder::new(gz);
        for (name, text) in &self.files {
            let mut h = tar::Header::new_gnu();
            h.set_size(text.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(0);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, name, text.as_bytes()).map_err(err)?;
        }
        b.into_inner().map_err(err)?.finish().map_err(err)
    }
}

/// Where a release's artifacts come from.
#[async_trait::async_trait]
pub trait ManifestSource: Send + Sync + 'static {
    /// The artifacts of `version` (`v2.9.0`), checksum-verified by the implementation where it has checksums.
    async fn fetch(&self, version: &str) -> Result<ReleaseArtifacts>;
}

/// An in-memory source (tests, embedded manifests).
#[derive(Debug, Clone, Default)]
pub struct StaticSource {
    /// Artifacts by version.
    pub releases: BTreeMap<String, ReleaseArtifacts>,
}

#[async_trait::async_trait]
impl ManifestSource for StaticSource {
    async fn fetch(&self, version: &str) -> Result<ReleaseArtifacts> {
        self.releases
            .get(version)
            .cloned()
            .ok_or_else(|| Error::Manifests {
                version: version.to_owned(),
                message: "no such release in the static source".into(),
            })
    }
}

/// `sha256` of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The checksums file a Flux release publishes (`flux_2.9.0_checksums.txt`).
pub fn checksums_file_name(version: &str) -> String {
    format!("flux_{}_checksums.txt", version.trim_start_matches('v'))
}

/// Checks `bytes` (the file `file_name`) against a `sha256sum`-style checksums file.
pub fn verify_checksum(
    version: &str,
    file_name: &str,
    bytes: &[u8],
    checksums: &str,
) -> Result<()> {
    let want = checksums
        .lines()
        .filter_map(|l| l.split_once(char::is_whitespace))
        .find(|(_, f)| f.trim().trim_start_matches('*') == file_name)
        .map(|(sum, _)| sum.to_ascii_lowercase())
        .ok_or_else(|| Error::Manifests {
            version: version.to_owned(),
            message: format!(
                "{} has no entry for {file_name}; cannot verify the download",
                checksums_file_name(version)
            ),
        })?;
    let got = sha256_hex(bytes);
    if got != want {
        return Err(Error::Manifests {
            version: version.to_owned(),
            message: format!(
                "checksum mismatch for {file_name}: expected sha256 {want}, got {got}; delete the cached copy and retry"
            ),
        });
    }
    Ok(())
}

// ------------------------------------------------------------------ render

const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "PriorityClass",
    "StorageClass",
];
const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

fn kind_order(kind: &str) -> i64 {
    if let Some(i) = ORDER_FIRST.iter().position(|k| *k == kind) {
        return i as i64 - ORDER_FIRST.len() as i64;
    }
    if let Some(i) = ORDER_LAST.iter().position(|k| *k == kind) {
        return i as i64 + 1;
    }
    0
}

fn gvk_string(v: &Value) -> String {
    let api = v["apiVersion"].as_str().unwrap_or_default();
    let (g, ver) = match api.split_once('/') {
        Some((g, ver)) => (g, ver),
        None => ("~G", api),
    };
    format!("{g}_{ver}_{}", v["kind"].as_str().unwrap_or_default())
}

fn docs(version: &str, name: &str, text: &str) -> Result<Vec<Value>> {
    crate::yaml::parse_documents(text).map_err(|m| Error::Manifests {
        version: version.to_owned(),
        message: format!("{name}: {m}"),
    })
}

/// The install objects, customised and ordered, as JSON.
pub fn objects(artifacts: &ReleaseArtifacts, o: &InstallOptions) -> Result<Vec<Value>> {
    o.check()?;
    let missing = |f: &str| Error::Manifests {
        version: o.version.clone(),
        message: format!(
            "the release artifacts have no {f}; is this a Flux release manifests.tar.gz?"
        ),
    };
    let ns = o.namespace.as_str();
    let mut out: Vec<Value> = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {
        "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/warn-version": "latest"}}}),
    ];
    if o.network_policy {
        out.extend(docs(
            &o.version,
            "policies.yaml",
            artifacts
                .get("policies.yaml")
                .ok_or_else(|| missing("policies.yaml"))?,
        )?);
    }
    // roles/: rbac.yaml with nameSuffix -<namespace> (and roleRefs to renamed roles follow).
    let mut rbac = docs(
        &o.version,
        "rbac.yaml",
        artifacts
            .get("rbac.yaml")
            .ok_or_else(|| missing("rbac.yaml"))?,
    )?;
    let renamed: Vec<(String, String)> = rbac
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap_or_default().to_owned(),
                r["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    for r in &mut rbac {
        if let Some(n) = r["metadata"]["name"].as_str().map(str::to_owned) {
            r["metadata"]["name"] = Value::String(format!("{n}-{ns}"));
        }
        let role_kind = r["roleRef"]["kind"].as_str().map(str::to_owned);
        if let (Some(rk), Some(rn)) = (role_kind, r["roleRef"]["name"].as_str().map(str::to_owned))
            && renamed.iter().any(|(k, n)| *k == rk && *n == rn)
        {
            r["roleRef"]["name"] = Value::String(format!("{rn}-{ns}"));
        }
    }
    out.extend(rbac);
    for c in o.all_components() {
        let file = format!("{c}.yaml");
        out.extend(docs(
            &o.version,
            &file,
            artifacts.get(&file).ok_or_else(|| missing(&file))?,
        )?);
    }
    let labels = json!({"app.kubernetes.io/instance": ns, "app.kubernetes.io/version": o.version, "app.kubernetes.io/part-of": "flux"});
    let installed: Vec<String> = o.all_components();
    for obj in &mut out {
        let kind = obj["kind"].as_str().unwrap_or_default().to_owned();
        if !CLUSTER_SCOPED.contains(&kind.as_str()) {
            obj["metadata"]["namespace"] = Value::String(ns.to_owned());
        }
        if let Some(subjects) = obj.get_mut("subjects").and_then(Value::as_array_mut) {
            for s in subjects {
                if s["kind"] == "ServiceAccount" {
                    s["namespace"] = Value::String(ns.to_owned());
                }
            }
        }
        merge_labels(&mut obj["metadata"], &labels);
        if kind == "Deployment" {
            customise_deployment(obj, o, &labels, &installed)?;
        }
    }
    out.sort_by(|a, b| {
        let (ka, kb) = (
            a["kind"].as_str().unwrap_or_default(),
            b["kind"].as_str().unwrap_or_default(),
        );
        kind_order(ka)
            .cmp(&kind_order(kb))
            .then_with(|| gvk_string(a).cmp(&gvk_string(b)))
            .then_with(|| {
                a["metadata"]["namespace"]
                    .as_str()
                    .cmp(&b["metadata"]["namespace"].as_str())
            })
            .then_with(|| {
                a["metadata"]["name"]
                    .as_str()
                    .cmp(&b["metadata"]["name"].as_str())
            })
    });
    Ok(out)
}

fn merge_labels(meta: &mut Value, labels: &Value) {
    if !meta["labels"].is_object() {
        meta["labels"] = Value::Object(Map::new());
    }
    if let (Some(m), Some(l)) = (meta["labels"].as_object_mut(), labels.as_object()) {
        for (k, v) in l {
            m.insert(k.clone(), v.clone());
        }
    }
}

fn customise_deployment(
    d: &mut Value,
    o: &InstallOptions,
    labels: &Value,
    installed: &[String],
) -> Result<()> {
    let name = d["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    merge_labels(&mut d["spec"]["template"]["metadata"], labels);
    let pod = &mut d["spec"]["template"]["spec"];
    pod["nodeSelector"]["kubernetes.io/os"] = Value::String("linux".into());
    if let Some(secret) = &o.image_pull_secret {
        pod["imagePullSecrets"] = json!([{ "name": secret }]);
    }
    if !o.toleration_keys.is_empty() {
        pod["tolerations"] = Value::Array(
            o.toleration_keys
                .iter()
                .map(|k| json!({"key": k, "operator": "Exists"}))
                .collect(),
        );
    }
    for list in ["containers", "initContainers"] {
        if let Some(cs) = pod.get_mut(list).and_then(Value::as_array_mut) {
            for c in cs {
                if let Some(image) = c["image"].as_str()
                    && let Some(rest) = image.strip_prefix("fluxcd/")
                {
                    c["image"] =
                        Value::String(format!("{}/{rest}", o.registry.trim_end_matches('/')));
                }
            }
        }
    }
    let events = installed
        .iter()
        .any(|c| c == "notification-controller")
        .then(|| {
            format!(
                "--events-addr=http://notification-controller.$(RUNTIME_NAMESPACE).svc.{}./",
                o.cluster_domain
            )
        });
    let watch = format!("--watch-all-namespaces={}", o.watch_all_namespaces);
    let log = format!("--log-level={}", o.log_level);
    let replacements: Vec<(usize, String)> = match name.as_str() {
        "notification-controller" => vec![(0, watch), (1, log)],
        "source-watcher" => return Ok(()),
        other => {
            if !installed.iter().any(|c| c == other) {
                return Ok(());
            }
            let mut r = Vec::new();
            if let Some(e) = events {
                r.push((0, e));
            }
            r.push((1, watch));
            r.push((2, log));
            if other == "source-controller" {
                r.push((
                    6,
                    format!(
                        "--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.{}.",
                        o.cluster_domain
                    ),
                ));
            }
            r
        }
    };
    let args = pod["containers"][0]["args"]
        .as_array_mut()
        .ok_or_else(|| Error::Manifests {
            version: o.version.clone(),
            message: format!("Deployment {name} has no container args to patch"),
        })?;
    let n = args.len();
    for (i, v) in replacements {
        let slot = args.get_mut(i).ok_or_else(|| Error::Manifests {
            version: o.version.clone(),
            message: format!(
                "Deployment {name}: cannot replace args/{i}, the container has {n} args"
            ),
        })?;
        *slot = Value::String(v);
    }
    Ok(())
}

/// The header `flux install --export` prints before the objects.
pub fn header(o: &InstallOptions) -> String {
    format!(
        "---\n{}\n# Flux Version: {}\n# Components: {}\n",
        crate::bootstrap::GENERATED_HEADER,
        o.version,
        o.all_components().join(",")
    )
}

/// The bytes of `flux install --export` (also `gotk-components.yaml`).
pub fn render(artifacts: &ReleaseArtifacts, o: &InstallOptions) -> Result<String> {
    let objs = objects(artifacts, o)?;
    let mut out = header(o);
    for (i, obj) in objs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&crate::yaml::to_yaml(obj));
    }
    Ok(out)
}

// ------------------------------------------------------------------ generated releases

/// Controller image tags the flux2 manifests pin (used by [`generate_release`]).
pub const PINNED_TAGS: &[(&str, &str)] = &[
    ("source-controller", "v1.9.4"),
    ("kustomize-controller", "v1.9.4"),
    ("helm-controller", "v1.6.3"),
    ("notification-controller", "v1.9.3"),
    ("image-reflector-controller", "v1.2.4"),
    ("image-automation-controller", "v1.2.4"),
    ("source-watcher", "v2.2.3"),
];

/// (component, API group, version, [(kind, plural)]).
type ComponentKinds = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const COMPONENT_KINDS: &[ComponentKinds] = &[
    (
        "source-controller",
        "source.toolkit.fluxcd.io",
        "v1",
        &[
            ("Bucket", "buckets"),
            ("ExternalArtifact", "externalartifacts"),
            ("GitRepository", "gitrepositories"),
            ("HelmChart", "helmcharts"),
            ("HelmRepository", "helmrepositories"),
            ("OCIRepository", "ocirepositories"),
        ],
    ),
    (
        "kustomize-controller",
        "kustomize.toolkit.fluxcd.io",
        "v1",
        &[("Kustomization", "kustomizations")],
    ),
    (
        "helm-controller",
        "helm.toolkit.fluxcd.io",
        "v2",
        &[("HelmRelease", "helmreleases")],
    ),
    (
        "notification-controller",
        "notification.toolkit.fluxcd.io",
        "v1beta3",
        &[
            ("Alert", "alerts"),
            ("Provider", "providers"),
            ("Receiver", "receivers"),
        ],
    ),
    (
        "image-reflector-controller",
        "image.toolkit.fluxcd.io",
        "v1",
        &[
            ("ImagePolicy", "imagepolicies"),
            ("ImageRepository", "imagerepositories"),
        ],
    ),
    (
        "image-automation-controller",
        "image.toolkit.fluxcd.io",
        "v1",
        &[("ImageUpdateAutomation", "imageupdateautomations")],
    ),
    (
        "source-watcher",
        "source.extensions.fluxcd.io",
        "v1beta1",
        &[("ArtifactGenerator", "artifactgenerators")],
    ),
];

fn yaml_stream(objs: &[Value]) -> String {
    objs.iter()
        .map(crate::yaml::to_yaml)
        .collect::<Vec<_>>()
        .join("---\n")
}

fn component_bundle(c: &str) -> String {
    let tag = PINNED_TAGS
        .iter()
        .find(|(n, _)| *n == c)
        .map(|(_, t)| *t)
        .unwrap_or("latest");
    let component_label = json!({"app.kubernetes.io/component": c});
    let mut objs = Vec::new();
    if let Some((_, group, version, kinds)) = COMPONENT_KINDS.iter().find(|(n, ..)| *n == c) {
        for (kind, plural) in *kinds {
            objs.push(json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": format!("{plural}.{group}"), "labels": component_label,
                    "annotations": {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}},
                "spec": {"group": group, "scope": "Namespaced",
                    "names": {"kind": kind, "listKind": format!("{kind}List"), "plural": plural, "singular": kind.to_lowercase(),
                        "categories": ["all", "fluxcd"]},
                    "versions": [{"name": version, "served": true, "storage": true, "subresources": {"status": {}},
                        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}}));
        }
    }
    objs.push(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": c, "labels": component_label}}));
    let events = "--events-addr=http://notification-controller.flux-system.svc.cluster.local./";
    let mut args: Vec<String> = match c {
        "notification-controller" => {
            vec!["--watch-all-namespaces".into(), "--log-level=info".into()]
        }
        _ => vec![
            events.into(),
            "--watch-all-namespaces".into(),
            "--log-level=info".into(),
        ],
    };
    args.extend([
        "--log-encoding=json".to_owned(),
        "--enable-leader-election".to_owned(),
    ]);
    if c == "source-controller" {
        args.push("--storage-path=/data".into());
        args.push(
            "--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.cluster.local.".into(),
        );
    }
    objs.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": c, "labels": {"app.kubernetes.io/component": c, "control-plane": "controller"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": c}},
            "template": {"metadata": {"labels": {"app": c}, "annotations": {"prometheus.io/port": "8080", "prometheus.io/scrape": "true"}},
                "spec": {"serviceAccountName": c, "terminationGracePeriodSeconds": 10,
                    "securityContext": {"fsGroup": 1337},
                    "containers": [{"name": "manager", "image": format!("fluxcd/{c}:{tag}"), "imagePullPolicy": "IfNotPresent",
                        "args": args,
                        "env": [{"name": "RUNTIME_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
                        "ports": [{"containerPort": 8080, "name": "http-prom", "protocol": "TCP"}, {"containerPort": 9440, "name": "healthz", "protocol": "TCP"}],
                        "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true,
                            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}}]}}}}));
    let svc = |name: &str, port: i64, target: &str| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": {"app.kubernetes.io/component": c, "control-plane": "controller"}},
            "spec": {"type": "ClusterIP", "selector": {"app": c}, "ports": [{"name": "http", "port": port, "protocol": "TCP", "targetPort": target}]}})
    };
    match c {
        "source-controller" => objs.push(svc("source-controller", 80, "http")),
        "notification-controller" => {
            objs.push(svc("notification-controller", 80, "http"));
            objs.push(svc("webhook-receiver", 80, "http-webhook"));
        }
        _ => {}
    }
    yaml_stream(&objs)
}

fn rbac_bundle() -> String {
    let sa = |n: &str| json!({"kind": "ServiceAccount", "name": n, "namespace": "flux-system"});
    let groups = [
        "source.toolkit.fluxcd.io",
        "kustomize.toolkit.fluxcd.io",
        "helm.toolkit.fluxcd.io",
        "notification.toolkit.fluxcd.io",
        "image.toolkit.fluxcd.io",
        "source.extensions.fluxcd.io",
    ];
    let objs = vec![
        json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "critical-pods"},
            "spec": {"hard": {"pods": "1000"}, "scopeSelector": {"matchExpressions": [{"operator": "In", "scopeName": "PriorityClass",
                "values": ["system-node-critical", "system-cluster-critical"]}]}}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "crd-controller"},
            "rules": groups.iter().map(|g| json!({"apiGroups": [g], "resources": ["*"], "verbs": ["*"]})).collect::<Vec<_>>()}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "flux-edit", "labels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true", "rbac.authorization.k8s.io/aggregate-to-edit": "true"}},
            "rules": [{"apiGroups": groups, "resources": ["*"], "verbs": ["create", "delete", "deletecollection", "patch", "update"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "flux-view", "labels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true",
                "rbac.authorization.k8s.io/aggregate-to-edit": "true", "rbac.authorization.k8s.io/aggregate-to-view": "true"}},
            "rules": [{"apiGroups": groups, "resources": ["*"], "verbs": ["get", "list", "watch"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "cluster-reconciler"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [sa("kustomize-controller"), sa("helm-controller")]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "crd-controller"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "crd-controller"},
            "subjects": PINNED_TAGS.iter().map(|(c, _)| sa(c)).collect::<Vec<_>>()}),
    ];
    yaml_stream(&objs)
}

fn policies_bundle() -> String {
    let objs = vec![
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "allow-egress"},
            "spec": {"egress": [{}], "ingress": [{"from": [{"podSelector": {}}]}], "podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "allow-scraping"},
            "spec": {"ingress": [{"from": [{"namespaceSelector": {}}], "ports": [{"port": 8080, "protocol": "TCP"}]}], "podSelector": {}, "policyTypes": ["Ingress"]}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "allow-webhooks"},
            "spec": {"ingress": [{"from": [{"namespaceSelector": {}}], "ports": [{"port": 9292, "protocol": "TCP"}]}],
                "podSelector": {"matchLabels": {"app": "notification-controller"}}, "policyTypes": ["Ingress"]}}),
    ];
    yaml_stream(&objs)
}

/// Release artifacts a fake server (or test) can publish for `version`.
#[derive(Debug, Clone)]
pub struct GeneratedRelease {
    /// The unpacked files.
    pub artifacts: ReleaseArtifacts,
    /// `manifests.tar.gz`.
    pub manifests_tar_gz: Vec<u8>,
    /// The checksums file name ([`checksums_file_name`]).
    pub checksums_file_name: String,
    /// The checksums file (`<sha256>  manifests.tar.gz`).
    pub checksums: String,
}

/// Generates small but structurally real release artifacts for `components` (one bundle each with CRDs,
/// ServiceAccount, Deployment with the real argument layout, Services), plus `rbac.yaml` and `policies.yaml`.
pub fn generate_release(version: &str, components: &[&str]) -> Result<GeneratedRelease> {
    let mut files: Vec<(String, String)> = components
        .iter()
        .map(|c| (format!("{c}.yaml"), component_bundle(c)))
        .collect();
    files.push(("rbac.yaml".into(), rbac_bundle()));
    files.push(("policies.yaml".into(), policies_bundle()));
    let artifacts = ReleaseArtifacts::from_files(files);
    let manifests_tar_gz = artifacts.to_tar_gz()?;
    let checksums = format!("{}  manifests.tar.gz\n", sha256_hex(&manifests_tar_gz));
    Ok(GeneratedRelease {
        artifacts,
        manifests_tar_gz,
        checksums_file_name: checksums_file_name(version),
        checksums,
    })
}

#[cfg(feature = "fetch")]
pub mod fetch;
