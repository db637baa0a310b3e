//! `flux create source|helmrelease|kustomization|image|alert-provider|alert|tenant … --export`.

use super::flags::{Kind, Parsed, f, fs, invalid_argument};
use super::{CREATE, GLOBAL, duration_flag, labels, name_arg, namespace, needs_cluster, parse};
use flux_objects::image::{
    CommitSpec, CommitUser, GitCheckoutSpec, GitSpec, ImagePolicyChoice, ImagePolicySpec,
    OrderPolicy, PushSpec, SemVerPolicy, SigningKey, TagFilter, UpdateStrategy,
};
use flux_objects::meta::{NamespacedObjectReference, split_kind_name_namespace};
use flux_objects::notification::EventSource;
use flux_objects::source::{
    DEFAULT_INTERVAL, HelmChartSpec, LocalHelmChartSourceReference, OCILayerSelector,
    OCIRepositoryVerification, OIDCIdentityMatch,
};
use flux_objects::{
    CrossNamespaceObjectReference, Duration, GitRepository, HelmChart, HelmRelease, HelmRepository,
    ImagePolicy, ImageRepository, ImageUpdateAutomation, Kustomization, LocalObjectReference,
    Manifest, OCIRepository, Provider, render,
};

fn finish(p: &Parsed, what: &str, obj: &dyn Manifest) -> Result<String, String> {
    obj.validate().map_err(|e| e.to_string())?;
    if !p.bool("export") {
        return Err(needs_cluster(what));
    }
    render(obj).map_err(|e| e.to_string())
}

fn add_labels<M>(p: &Parsed, meta: &mut flux_objects::ObjectMeta, _: &M) -> Result<(), String> {
    for (k, v) in labels(p)? {
        meta.labels.insert(k, v);
    }
    Ok(())
}

/// Case-insensitive match of `kind` against `allowed`, returning the canonical spelling.
fn canonical_kind(kind: &str, allowed: &[&str]) -> Option<String> {
    allowed
        .iter()
        .find(|k| k.eq_ignore_ascii_case(kind))
        .map(|k| (*k).to_owned())
}

/// `Kind/name[.namespace]` with the kind checked against `allowed` (flux's source flag types).
fn source_flag(
    flag: &str,
    value: &str,
    allowed: &[&str],
    default_kind: Option<&str>,
    what: &str,
) -> Result<CrossNamespaceObjectReference, String> {
    let (kind, name, ns) = split_kind_name_namespace(value);
    let kind = match (kind, default_kind) {
        (Some(k), _) => k,
        (None, Some(d)) => d,
        (None, None) => {
            return Err(invalid_argument(
                value,
                flag,
                &format!("{what} '{value}' must be in format <kind>/<name>"),
            ));
        }
    };
    let canonical = canonical_kind(kind, allowed).ok_or_else(|| {
        invalid_argument(
            value,
            flag,
            &format!(
                "{what} kind '{kind}' is not supported, must be one of: {}",
                allowed.join(", ")
            ),
        )
    })?;
    if name.is_empty() {
        return Err(invalid_argument(
            value,
            flag,
            &format!("{what} name is required"),
        ));
    }
    let mut r = CrossNamespaceObjectReference::new(canonical, name);
    r.namespace = ns.map(str::to_owned);
    Ok(r)
}

// ------------------------------------------------------------------ source git

const GIT_FLAGS: &[super::flags::Spec] = &[
    f("url", Kind::Str),
    f("branch", Kind::Str),
    f("tag", Kind::Str),
    f("tag-semver", Kind::Str),
    f("ref-name", Kind::Str),
    f("commit", Kind::Str),
    fs("username", 'u', Kind::Str),
    fs("password", 'p', Kind::Str),
    f("bearer-token", Kind::Str),
    f("provider", Kind::Str),
    f("secret-ref", Kind::Str),
    f("recurse-submodules", Kind::Bool),
    f("ignore-paths", Kind::Slice),
    f("sparse-checkout-paths", Kind::Slice),
    fs("silent", 's', Kind::Bool),
    f("ssh-key-algorithm", Kind::Str),
    f("ssh-rsa-bits", Kind::Str),
    f("ssh-ecdsa-curve", Kind::Str),
    f("private-key-file", Kind::Str),
    f("ca-file", Kind::Str),
    f("allow-insecure-http", Kind::Bool),
];

/// `flux create source git`.
pub fn source_git(args: &[String]) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, CREATE, GIT_FLAGS])?;
    if let Some(prov) = p.get("provider")
        && !flux_objects::source::GIT_PROVIDERS.contains(&prov)
    {
        return Err(invalid_argument(
            prov,
            "provider",
            &format!(
                "source Git provider '{prov}' is not supported, must be one of: generic|github|aws|azure"
            ),
        ));
    }
    let interval = duration_flag(&p, "interval", DEFAULT_INTERVAL)?;
    let name = name_arg(&p)?;
    let url = p.str("url");
    if url.is_empty() {
        return Err("url is required".into());
    }
    let ns = namespace(&p);
    let mut b = GitRepository::builder(&name, &ns)
        .url(url)
        .interval(interval);
    let refs = ["branch", "tag", "tag-semver", "ref-name", "commit"];
    if refs.iter().all(|r| p.str(r).is_empty()) {
        // Validate the URL first so its errors win, as in flux.
        b.clone().branch("x").build().map_err(|e| e.to_string())?;
        return Err("a Git ref is required, use one of the following: --branch, --tag, --commit, --ref-name or --tag-semver".into());
    }
    if !p.str("branch").is_empty() {
        b = b.branch(p.str("branch"));
    }
    if !p.str("tag").is_empty() {
        b = b.tag(p.str("tag"));
    }
    if !p.str("tag-semver").is_empty() {
        b = b.tag_semver(p.str("tag-semver"));
    }
    if !p.str("ref-name").is_empty() {
        b = b.ref_name(p.str("ref-name"));
    }
    if !p.str("commit").is_empty() {
        b = b.commit(p.str("commit"));
    }
    if let Some(prov) = p.get("provider") {
        b = b.provider(prov);
    }
    if !p.str("secret-ref").is_empty() {
        b = b.secret_ref(p.str("secret-ref"));
    }
    b = b.recurse_submodules(p.bool("recurse-submodules"));
    b = b.ignore_paths(p.list("ignore-paths"));
    b = b.sparse_checkout(p.list("sparse-checkout-paths"));
    for (k, v) in labels(&p)? {
        b = b.label(k, v);
    }
    let obj = b.build().map_err(|e| e.to_string())?;
    if obj.spec.url.starts_with("http://") && !p.bool("allow-insecure-http") && !p.bool("export") {
        return Err("scheme http is insecure, pass --allow-insecure-http=true to allow it".into());
    }
    finish(&p, "create source git", &obj)
}

// ------------------------------------------------------------------ source helm

const HELM_FLAGS: &[super::flags::Spec] = &[
    f("url", Kind::Str),
    fs("username", 'u', Kind::Str),
    fs("password", 'p', Kind::Str),
    f("cert-file", Kind::Str),
    f("key-file", Kind::Str),
    f("ca-file", Kind::Str),
    f("pass-credentials", Kind::Bool),
    f("secret-ref", Kind::Str),
    f("oci-provider", Kind::Str),
    f("insecure-skip-tls-verify", Kind::Bool),
];

/// `flux create source helm`.
pub fn source_helm(args: &[String]) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, CREATE, HELM_FLAGS])?;
    let interval = duration_flag(&p, "interval", DEFAULT_INTERVAL)?;
    let name = name_arg(&p)?;
    let url = p.str("url");
    if url.is_empty() {
        return Err("url is required".into());
    }
    let mut b = HelmRepository::builder(&name, namespace(&p))
        .url(url)
        .interval(interval);
    if !p.str("secret-ref").is_empty() {
        b = b.secret_ref(p.str("secret-ref"));
        b = b.pass_credentials(p.bool("pass-credentials"));
    }
    if let Some(prov) = p.get("oci-provider") {
        b = b.provider(prov);
    }
    for (k, v) in labels(&p)? {
        b = b.label(k, v);
    }
    let obj = b.build().map_err(|e| e.to_string())?;
    finish(&p, "create source helm", &obj)
}

// ------------------------------------------------------------------ source oci

const OCI_FLAGS: &[super::flags::Spec] = &[
    f("url", Kind::Str),
    f("tag", Kind::Str),
    f("tag-semver", Kind::Str),
    f("digest", Kind::Str),
    f("secret-ref", Kind::Str),
    f("cert-ref", Kind::Str),
    f("provider", Kind::Str),
    f("service-account", Kind::Str),
    f("ignore-paths", Kind::Slice),
    f("insecure", Kind::Bool),
    f("layer-selector", Kind::Str),
    f("verify-provider", Kind::Str),
    f("verify-secret-ref", Kind::Str),
    f("verify-subject", Kind::Str),
    f("verify-issuer", Kind::Str),
];

/// `flux create source oci`.
pub fn source_oci(args: &[String]) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, CREATE, OCI_FLAGS])?;
    let interval = duration_flag(&p, "interval", DEFAULT_INTERVAL)?;
    let name = name_arg(&p)?;
    if p.str("url").is_empty() {
        return Err("url is required".into());
    }
    let mut b = OCIRepository::builder(&name, namespace(&p))
        .url(p.str("url"))
        .interval(interval);
    if p.str("tag").is_empty() && p.str("tag-semver").is_empty() && p.str("digest").is_empty() {
        return Err("one of --tag, --tag-semver or --digest is required".into());
    }
    if !p.str("tag").is_empty() {
        b = b.tag(p.str("tag"));
    }
    if !p.str("tag-semver").is_empty() {
        b = b.tag_semver(p.str("tag-semver"));
    }
    if !p.str("digest").is_empty() {
        b = b.digest(p.str("digest"));
    }
    if !p.str("secret-ref").is_empty() {
        b = b.secret_ref(p.str("secret-ref"));
    }
    if let Some(prov) = p.get("provider").filter(|v| *v != "generic") {
        b = b.provider(prov);
    }
    {
        let spec = b.spec_mut();
        if !p.str("cert-ref").is_empty() {
            spec.cert_secret_ref = Some(LocalObjectReference::new(p.str("cert-ref")));
        }
        if !p.str("service-account").is_empty() {
            spec.service_account_name = Some(p.str("service-account").to_owned());
        }
        let ignore = p.list("ignore-paths");
        if !ignore.is_empty() {
            spec.ignore = Some(ignore.join("\n"));
        }
        spec.insecure = p.bool("insecure");
        if let Some(sel) = p.get("layer-selector") {
            let (mt, op) = match sel.rsplit_once(':') {
                Some((m, o)) => (m, Some(o.to_owned())),
                None => (sel, None),
            };
            spec.layer_selector = Some(OCILayerSelector {
                media_type: Some(mt.to_owned()),
                operation: op,
            });
        }
        let vp = p.str("verify-provider");
        let has_identity =
            !p.str("verify-subject").is_empty() || !p.str("verify-issuer").is_empty();
        if !p.str("verify-secret-ref").is_empty() && vp.is_empty() {
            return Err(
                "a verification provider must be specified when a secret is specified".into(),
            );
        }
        if has_identity && vp.is_empty() {
            return Err(
                "a verification provider must be specified when OIDC issuer/subject is specified"
                    .into(),
            );
        }
        if !vp.is_empty() {
            let mut v = OCIRepositoryVerification {
                provider: vp.to_owned(),
                ..Default::default()
            };
            if !p.str("verify-secret-ref").is_empty() {
                v.secret_ref = Some(LocalObjectReference::new(p.str("verify-secret-ref")));
            }
            if has_identity {
                v.match_oidc_identity = vec![OIDCIdentityMatch {
                    issuer: p.str("verify-issuer").to_owned(),
                    subject: p.str("verify-subject").to_owned(),
                }];
            }
            spec.verify = Some(v);
        }
    }
    for (k, v) in labels(&p)? {
        b = b.label(k, v);
    }
    let obj = b.build().map_err(|e| e.to_string())?;
    finish(&p, "create source oci", &obj)
}

// ------------------------------------------------------------------ source chart

const CHART_FLAGS: &[super::flags::Spec] = &[
    f("source", Kind::Str),
    f("chart", Kind::Str),
    f("chart-version", Kind::Str),
    f("reconcile-strategy", Kind::Str),
    f("verify-provider", Kind::Str),
    f("verify-secret-ref", Kind::Str),
    f("verify-subject", Kind::Str),
    f("verify-issuer", Kind::Str),
];

/// `flux create source chart` (logs `✚ generating HelmChart source` like flux, even with `--export`).
pub fn source_chart(args: &[String], log: &mut String) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, CREATE, CHART_FLAGS])?;
    let source = match p.get("source") {
        Some(s) => Some(source_flag(
            "source",
            s,
            flux_objects::source::HELM_CHART_SOURCE_KINDS,
            None,
            "source",
        )?),
        None => None,
    };
    let strategy = p.get("reconcile-strategy").unwrap_or("ChartVersion");
    if strategy != "ChartVersion" && strategy != "Revision" {
        return Err(invalid_argument(
            strategy,
            "reconcile-strategy",
            &format!(
                "reconcile strategy '{strategy}' is not supported, must be one of: ChartVersion, Revision"
            ),
        ));
    }
    let interval = duration_flag(&p, "interval", DEFAULT_INTERVAL)?;
    let name = name_arg(&p)?;
    let source = source.ok_or("source is required")?;
    if p.str("chart").is_empty() {
        return Err("chart name or path is required".into());
    }
    let mut spec = HelmChartSpec {
        chart: p.str("chart").to_owned(),
        version: p.get("chart-version").map(str::to_owned),
        source_ref: LocalHelmChartSourceReference {
            api_version: None,
            kind: source.kind,
            name: source.name,
        },
        interval,
        reconcile_strategy: Some(strategy.to_owned()),
        ..Default::default()
    };
    let vp = p.str("verify-provider");
    if !vp.is_empty() {
        let mut v = OCIRepositoryVerification {
            provider: vp.to_owned(),
            ..Default::default()
        };
        if !p.str("verify-secret-ref").is_empty() {
            v.secret_ref = Some(LocalObjectReference::new(p.str("verify-secret-ref")));
        }
        if !p.str("verify-subject").is_empty() || !p.str("verify-issuer").is_empty() {
            v.match_oidc_identity = vec![OIDCIdentityMatch {
                issuer: p.str("verify-issuer").to_owned(),
                subject: p.str("verify-subject").to_owned(),
            }];
        }
        spec.verify = Some(v);
    }
    let mut obj = HelmChart::new(&name, namespace(&p), spec);
    add_labels(&p, &mut obj.metadata, &())?;
    log.push_str("✚ generating HelmChart source\n");
    finish(&p, "create source chart", &obj)
}

// ------------------------------------------------------------------ helmrelease

const HR_FLAGS: &[super::flags::Spec] = &[
    f("source", Kind::Str),
    f("chart", Kind::Str),
    f("chart-version", Kind::Str),
    f("chart-ref", Kind::Str),
    f("chart-interval", Kind::Str),
    f("release-name", Kind::Str),
    f("target-namespace", Kind::Str),
    f("storage-namespace", Kind::Str),
    f("create-target-namespace", Kind::Bool),
    f("depends-on", Kind::Slice),
    f("values", Kind::Slice),
    f("values-from", Kind::Slice),
    f("service-account", Kind::Str),
    f("crds", Kind::Str),
    f("reconcile-strategy", Kind::Str),
    f("kubeconfig-secret-ref", Kind::Str),
];

/// `flux create helmrelease`.
pub fn helmrelease(args: &[String]) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, CREATE, HR_FLAGS])?;
    let source = match p.get("source") {
        Some(s) => Some(source_flag(
            "source",
            s,
            flux_objects::source::HELM_CHART_SOURCE_KINDS,
            None,
            "source",
        )?),
        None => None,
    };
    if let Some(s) = p.get("reconcile-strategy")
        && s != "ChartVersion"
        && s != "Revision"
    {
        return Err(invalid_argument(
            s,
            "reconcile-strategy",
            &format!(
                "reconcile strategy '{s}' is not supported, must be one of: ChartVersion, Revision"
            ),
        ));
    }
    if let Some(c) = p.get("crds")
        && !["Skip", "Create", "CreateReplace"].contains(&c)
    {
        return Err(invalid_argument(
            c,
            "crds",
            &format!(
                "CRDs upgrade policy '{c}' is not supported, must be one of: Skip, Create, CreateReplace"
            ),
        ));
    }
    let interval = duration_flag(&p, "interval", DEFAULT_INTERVAL)?;
    let name = name_arg(&p)?;
    let chart = p.str("chart");
    let chart_ref = p.str("chart-ref");
    if chart.is_empty() && chart_ref.is_empty() {
        return Err("chart or chart-ref is required".into());
    }
    if !chart.is_empty() && !chart_ref.is_empty() {
        return Err("cannot use --chart in combination with --chart-ref".into());
    }
    let ns = namespace(&p);
    let mut b = HelmRelease::builder(&name, &ns).interval(interval);
    if !chart_ref.is_empty() {
        let (kind, rname, rns) = split_kind_name_namespace(chart_ref);
        let kind = kind.unwrap_or("");
        let canonical = canonical_kind(kind, flux_objects::helm::CHART_REF_KINDS).ok_or_else(|| {
            format!("chart reference kind '{kind}' is not supported, must be one of: OCIRepository, HelmChart")
        })?;
        b = b.chart_ref(canonical, rname, rns.map(str::to_owned));
    } else {
        let source = source.ok_or("source is required")?;
        b = b.chart(chart);
        let spec = &mut b.spec_mut().chart;
        if let Some(c) = spec.as_mut() {
            c.spec.source_ref = source;
            if let Some(v) = p.get("chart-version") {
                c.spec.version = Some(v.to_owned());
            }
            if let Some(s) = p.get("reconcile-strategy") {
                c.spec.reconcile_strategy = Some(s.to_owned());
            }
            if p.changed("chart-interval") {
                c.spec.interval = Some(duration_flag(&p, "chart-interval", Duration::ZERO)?);
            }
        }
    }
    {
        let spec = b.spec_mut();
        if let Some(r) = p.get("release-name") {
            spec.release_name = Some(r.to_owned());
        }
        if let Some(t) = p.get("target-namespace") {
            spec.target_namespace = Some(t.to_owned());
            spec.storage_namespace = Some(t.to_owned());
        }
        if let Some(s) = p.get("storage-namespace") {
            spec.storage_namespace = Some(s.to_owned());
        }
        if p.bool("create-target-namespace") || p.changed("crds") {
            let mut install = serde_json::Map::new();
            if p.bool("create-target-namespace") {
                install.insert("createNamespace".into(), serde_json::Value::Bool(true));
            }
            if let Some(c) = p.get("crds") {
                install.insert("crds".into(), serde_json::Value::String(c.to_owned()));
                spec.upgrade = Some(serde_json::json!({ "crds": c }));
            }
            spec.install = Some(serde_json::Value::Object(install));
        }
        for d in p.list("depends-on") {
            let (n, dns) = match d.split_once('/') {
                Some((a, b)) => (b.to_owned(), Some(a.to_owned())),
                None => (d.clone(), None),
            };
            spec.depends_on.push(NamespacedObjectReference {
                name: n,
                namespace: dns,
            });
        }
        for v in p.list("values-from") {
            let (k, n) = v.split_once('/').ok_or_else(|| format!("invalid argument \"{v}\" for \"--values-from\" flag: must be in format <kind>/<name>"))?;
            let kind = canonical_kind(k, &["Secret", "ConfigMap"]).ok_or_else(|| {
                invalid_argument(
                    &v,
                    "values-from",
                    &format!(
                        "reference kind '{k}' is not supported, must be one of: Secret, ConfigMap"
                    ),
                )
            })?;
            spec.values_from.push(flux_objects::helm::ValuesReference {
                kind,
                name: n.to_owned(),
                ..Default::default()
            });
        }
        let mut values = serde_json::Value::Object(serde_json::Map::new());
        for file in p.list("values") {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("reading values from {file} failed: {e}"))?;
            let docs = flux_objects::yaml::parse_documents(&text)
                .map_err(|e| format!("reading values from {file} failed: {e}"))?;
            for d in docs {
                merge_values(&mut values, d);
            }
        }
        if values.as_object().is_some_and(|m| !m.is_empty()) {
            spec.values = Some(values);
        }
        if let Some(sa) = p.get("service-account") {
            spec.service_account_name = Some(sa.to_owned());
        }
        if let Some(k) = p.get("kubeconfig-secret-ref") {
            spec.kube_config = Some(flux_objects::kustomize::KubeConfigReference {
                secret_ref: Some(flux_objects::meta::SecretKeyReference {
                    name: k.to_owned(),
                    key: None,
                }),
                config_map_ref: None,
            });
        }
    }
    for (k, v) in labels(&p)? {
        b = b.label(k, v);
    }
    let obj = b.build().map_err(|e| e.to_string())?;
    finish(&p, "create helmrelease", &obj)
}

/// Deep-merges `b` into `a` like Helm's values merging (later files win, maps merge recursively).
fn merge_values(a: &mut serde_json::Value, b: serde_json::Value) {
    match (a, b) {
        (serde_json::Value::Object(am), serde_json::Value::Object(bm)) => {
            for (k, v) in bm {
                match am.get_mut(&k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        merge_values(existing, v)
                    }
                    _ => {
                        am.insert(k, v);
                    }
                }
            }
        }
        (a, b) => *a = b,
    }
}

// ------------------------------------------------------------------ kustomization

const KS_FLAGS: &[super::flags::Spec] = &[
    f("source", Kind::Str),
    f("path", Kind::Str),
    f("prune", Kind::Bool),
    f("health-check", Kind::Array),
    f("health-check-timeout", Kind::Str),
    f("depends-on", Kind::Slice),
    f("decryption-provider", Kind::Str),
    f("decryption-secret", Kind::Str),
    f("decryption-service-account", Kind::Str),
    f("target-namespace", Kind::Str),
    f("service-account", Kind::Str),
    f("wait", Kind::Bool),
    f("kubeconfig-secret-ref", Kind::Str),
    f("retry-interval", Kind::Str),
];

/// `flux create kustomization`.
pub fn kustomization(args: &[String]) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, CREATE, KS_FLAGS])?;
    let source = match p.get("source") {
        Some(s) => Some(source_flag(
            "source",
            s,
            &["OCIRepository", "GitRepository", "Bucket"],
            Some("GitRepository"),
            "source",
        )?),
        None => None,
    };
    if let Some(d) = p.get("decryption-provider")
        && d != "sops"
    {
        return Err(invalid_argument(
            d,
            "decryption-provider",
            &format!("decryption provider '{d}' is not supported, must be one of: sops"),
        ));
    }
    let interval = duration_flag(&p, "interval", DEFAULT_INTERVAL)?;
    let health_timeout = duration_flag(&p, "health-check-timeout", Duration::from_mins(2))?;
    let name = name_arg(&p)?;
    let source = source.ok_or("source is required")?;
    let path = p.get("path").unwrap_or("./");
    let mut b = Kustomization::builder(&name, namespace(&p))
        .source_ref(source)
        .path(path)
        .prune(p.bool("prune"))
        .interval(interval);
    if let Some(d) = p.get("decryption-provider") {
        let _ = d;
        b = b.decryption_sops(p.get("decryption-secret"));
        if let Some(sa) = p.get("decryption-service-account") {
            b = b.decryption_service_account(sa);
        }
    }
    for w in p.list("health-check") {
        let parts: Vec<&str> = w.split('/').collect();
        if parts.len() != 2 {
            return Err(format!(
                "invalid health check '{w}' must be in the format 'kind/name' {parts:?}"
            ));
        }
        let kind = parts[0];
        if !flux_objects::kustomize::HEALTH_CHECK_KINDS.contains(&kind) {
            return Err(format!(
                "invalid health check kind '{kind}' can be HelmRelease, Deployment, DaemonSet or StatefulSet"
            ));
        }
        let name_ns: Vec<&str> = parts[1].split('.').collect();
        if name_ns.len() != 2 {
            return Err(format!(
                "invalid health check '{w}' must be in the format 'kind/name.namespace' {parts:?}"
            ));
        }
        let mut check =
            CrossNamespaceObjectReference::new(kind, name_ns[0]).in_namespace(name_ns[1]);
        check.api_version = Some(if kind == "HelmRelease" {
            flux_objects::helm::HELM_API_VERSION.to_owned()
        } else {
            "apps/v1".to_owned()
        });
        b = b.health_check(check);
    }
    if !p.list("health-check").is_empty() || p.bool("wait") {
        b = b.timeout(health_timeout);
    }
    b = b.wait(p.bool("wait"));
    for d in p.list("depends-on") {
        let (n, dns) = match d.split_once('/') {
            Some((a, b)) => (b.to_owned(), Some(a.to_owned())),
            None => (d.clone(), None),
        };
        b = b.depends_on(n, dns);
    }
    if let Some(t) = p.get("target-namespace") {
        b = b.target_namespace(t);
    }
    if let Some(sa) = p.get("service-account") {
        b = b.service_account_name(sa);
    }
    if p.changed("retry-interval") {
        b.spec_mut().retry_interval = Some(duration_flag(&p, "retry-interval", Duration::ZERO)?);
    }
    if let Some(k) = p.get("kubeconfig-secret-ref") {
        b.spec_mut().kube_config = Some(flux_objects::kustomize::KubeConfigReference {
            secret_ref: Some(flux_objects::meta::SecretKeyReference {
                name: k.to_owned(),
                key: None,
            }),
            config_map_ref: None,
        });
    }
    for (k, v) in labels(&p)? {
        b = b.label(k, v);
    }
    let obj = b.build().map_err(|e| e.to_string())?;
    finish(&p, "create kustomization", &obj)
}

// ------------------------------------------------------------------ image

const IMAGE_REPO_FLAGS: &[super::flags::Spec] = &[
    f("image", Kind::Str),
    f("secret-ref", Kind::Str),
    f("cert-ref", Kind::Str),
    f("scan-timeout", Kind::Str),
    f("provider", Kind::Str),
];

/// `flux create image repository` (plus `--provider`, which flux lacks).
pub fn image_repository(args: &[String]) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, CREATE, IMAGE_REPO_FLAGS])?;
    let interval = duration_flag(&p, "interval", DEFAULT_INTERVAL)?;
    let name = name_arg(&p)?;
    if p.str("image").is_empty() {
        return Err("an image repository (--image) is required".into());
    }
    let mut b = ImageRepository::builder(&name, namespace(&p))
        .image(p.str("image"))
        .interval(interval);
    if !p.str("secret-ref").is_empty() {
        b = b.secret_ref(p.str("secret-ref"));
    }
    if !p.str("cert-ref").is_empty() {
        b = b.cert_secret_ref(p.str("cert-ref"));
    }
    if p.changed("scan-timeout") {
        b = b.timeout(duration_flag(&p, "scan-timeout", Duration::ZERO)?);
    }
    if let Some(prov) = p.get("provider") {
        b = b.provider(prov);
    }
    for (k, v) in labels(&p)? {
        b = b.label(k, v);
    }
    let obj = b.build().map_err(|e| e.to_string())?;
    finish(&p, "create image repository", &obj)
}

const IMAGE_POLICY_FLAGS: &[super::flags::Spec] = &[
    f("image-ref", Kind::Str),
    f("select-semver", Kind::Str),
    f("select-numeric", Kind::Str),
    f("select-alpha", Kind::Str),
    f("filter-regex", Kind::Str),
    f("filter-extract", Kind::Str),
    f("reflect-digest", Kind::Str),
];

/// `flux create image policy`.
pub fn image_policy(args: &[String]) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, CREATE, IMAGE_POLICY_FLAGS])?;
    if let Some(r) = p.get("reflect-digest")
        && !["Never", "IfNotPresent", "Always"].contains(&r)
    {
        return Err(invalid_argument(
            r,
            "reflect-digest",
            &format!(
                "invalid digest reflection policy '{r}', must be one of: Always, IfNotPresent, Never"
            ),
        ));
    }
    let name = name_arg(&p)?;
    let image_ref = p.str("image-ref");
    if image_ref.is_empty() {
        return Err(
            "the name of an ImageRepository in the namespace is required (--image-ref)".into(),
        );
    }
    let (rname, rns) = match image_ref.split_once('.') {
        Some((n, ns)) => (n.to_owned(), Some(ns.to_owned())),
        None => (image_ref.to_owned(), None),
    };
    let mut policy = ImagePolicyChoice::default();
    if let Some(s) = p.get("select-semver") {
        policy.semver = Some(SemVerPolicy {
            range: s.to_owned(),
        });
    }
    if let Some(o) = p.get("select-alpha") {
        policy.alphabetical = Some(OrderPolicy {
            order: Some(o.to_owned()),
        });
    }
    if let Some(o) = p.get("select-numeric") {
        policy.numerical = Some(OrderPolicy {
            order: Some(o.to_owned()),
        });
    }
    let mut spec = ImagePolicySpec {
        image_repository_ref: NamespacedObjectReference {
            name: rname,
            namespace: rns,
        },
        policy,
        ..Default::default()
    };
    if p.changed("filter-regex") || p.changed("filter-extract") {
        spec.filter_tags = Some(TagFilter {
            pattern: p.get("filter-regex").map(str::to_owned),
            extract: p.get("filter-extract").map(str::to_owned),
        });
    }
    spec.digest_reflection_policy = p.get("reflect-digest").map(str::to_owned);
    if p.changed("interval") {
        spec.interval = Some(duration_flag(&p, "interval", Duration::ZERO)?);
    }
    let mut obj = ImagePolicy::new(&name, namespace(&p), spec);
    add_labels(&p, &mut obj.metadata, &())?;
    finish(&p, "create image policy", &obj)
}

const IMAGE_UPDATE_FLAGS: &[super::flags::Spec] = &[
    f("git-repo-ref", Kind::Str),
    f("git-repo-namespace", Kind::Str),
    f("git-repo-path", Kind::Str),
    f("checkout-branch", Kind::Str),
    f("push-branch", Kind::Str),
    f("author-name", Kind::Str),
    f("author-email", Kind::Str),
    f("commit-template", Kind::Str),
    f("signing-key-secret", Kind::Str),
    f("signing-key-type", Kind::Str),
];

/// `flux create image update`.
pub fn image_update(args: &[String]) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, CREATE, IMAGE_UPDATE_FLAGS])?;
    let interval = duration_flag(&p, "interval", DEFAULT_INTERVAL)?;
    let name = name_arg(&p)?;
    if p.str("git-repo-ref").is_empty() {
        return Err("a reference to a GitRepository is required (--git-repo-ref)".into());
    }
    if p.str("author-name").is_empty() {
        return Err("the author name (--author-name) is required".into());
    }
    let mut source = CrossNamespaceObjectReference::new("GitRepository", p.str("git-repo-ref"));
    source.namespace = p.get("git-repo-namespace").map(str::to_owned);
    let git = GitSpec {
        checkout: p.get("checkout-branch").map(|b| GitCheckoutSpec {
            reference: flux_objects::source::GitRepositoryRef {
                branch: Some(b.to_owned()),
                ..Default::default()
            },
        }),
        commit: CommitSpec {
            author: CommitUser {
                email: p.str("author-email").to_owned(),
                name: p.str("author-name").to_owned(),
            },
            signing_key: p.get("signing-key-secret").map(|s| SigningKey {
                secret_ref: LocalObjectReference::new(s),
                key_type: p.get("signing-key-type").map(str::to_owned),
            }),
            message_template: p.get("commit-template").map(str::to_owned),
            ..Default::default()
        },
        push: p.get("push-branch").map(|b| PushSpec {
            branch: Some(b.to_owned()),
            ..Default::default()
        }),
    };
    let spec = flux_objects::image::ImageUpdateAutomationSpec {
        source_ref: source,
        git: Some(git),
        interval,
        update: p.get("git-repo-path").map(|path| UpdateStrategy {
            path: Some(path.to_owned()),
            strategy: "Setters".into(),
        }),
        ..Default::default()
    };
    let mut obj = ImageUpdateAutomation::new(&name, namespace(&p), spec);
    add_labels(&p, &mut obj.metadata, &())?;
    finish(&p, "create image update", &obj)
}

// ------------------------------------------------------------------ notification

const PROVIDER_FLAGS: &[super::flags::Spec] = &[
    f("type", Kind::Str),
    f("channel", Kind::Str),
    f("username", Kind::Str),
    f("address", Kind::Str),
    f("secret-ref", Kind::Str),
    f("service-account", Kind::Str),
];

/// `flux create alert-provider`.
pub fn alert_provider(args: &[String]) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, CREATE, PROVIDER_FLAGS])?;
    let name = name_arg(&p)?;
    if p.str("type").is_empty() {
        return Err("Provider type is required".into());
    }
    let mut b = Provider::builder(&name, namespace(&p), p.str("type"));
    if !p.str("channel").is_empty() {
        b = b.channel(p.str("channel"));
    }
    if !p.str("username").is_empty() {
        b = b.username(p.str("username"));
    }
    if !p.str("address").is_empty() {
        b = b.address(p.str("address"));
    }
    if !p.str("secret-ref").is_empty() {
        b = b.secret_ref(p.str("secret-ref"));
    }
    if !p.str("service-account").is_empty() {
        b = b.service_account_name(p.str("service-account"));
    }
    for (k, v) in labels(&p)? {
        b = b.label(k, v);
    }
    let obj = b.build().map_err(|e| e.to_string())?;
    finish(&p, "create alert-provider", &obj)
}

const ALERT_FLAGS: &[super::flags::Spec] = &[
    f("provider-ref", Kind::Str),
    f("event-severity", Kind::Str),
    f("event-source", Kind::Slice),
];

/// `flux create alert`.
pub fn alert(args: &[String]) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, CREATE, ALERT_FLAGS])?;
    let name = name_arg(&p)?;
    if p.str("provider-ref").is_empty() {
        return Err("provider ref is required".into());
    }
    let mut sources = Vec::new();
    for s in p.list("event-source") {
        let (kind, n, ns) = split_kind_name_namespace(&s);
        let Some(kind) = kind.filter(|k| !k.is_empty()) else {
            return Err(format!(
                "invalid event source '{s}', must be in format <kind>/<name>"
            ));
        };
        let kind = canonical_kind(kind, flux_objects::notification::EVENT_SOURCE_KINDS)
            .unwrap_or_else(|| kind.to_owned());
        sources.push(EventSource {
            kind,
            name: n.to_owned(),
            namespace: ns.map(str::to_owned),
            ..Default::default()
        });
    }
    if sources.is_empty() {
        return Err("at least one event source is required".into());
    }
    let mut obj = flux_objects::Alert::new(
        &name,
        namespace(&p),
        flux_objects::notification::AlertSpec {
            provider_ref: LocalObjectReference::new(p.str("provider-ref")),
            event_severity: p.get("event-severity").map(str::to_owned),
            event_sources: sources,
            ..Default::default()
        },
    );
    add_labels(&p, &mut obj.metadata, &())?;
    finish(&p, "create alert", &obj)
}

// ------------------------------------------------------------------ tenant

const TENANT_FLAGS: &[super::flags::Spec] = &[
    f("with-namespace", Kind::Slice),
    f("cluster-role", Kind::Str),
    f("with-service-account", Kind::Str),
    f("skip-namespace", Kind::Bool),
];

/// `flux create tenant`.
pub fn tenant(args: &[String]) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, CREATE, TENANT_FLAGS])?;
    let tenant = name_arg(&p)?;
    let namespaces = p.list("with-namespace");
    if namespaces.is_empty() {
        return Err("with-namespace is required".into());
    }
    let role = p.get("cluster-role").unwrap_or("cluster-admin");
    let mut out = String::new();
    for ns in &namespaces {
        let objs = flux_objects::core::tenant(
            &tenant,
            ns,
            role,
            p.get("with-service-account"),
            p.bool("skip-namespace"),
        )
        .map_err(|e| e.to_string())?;
        if !p.bool("export") {
            return Err(needs_cluster("create tenant"));
        }
        for o in &objs {
            out.push_str(&render(o.as_ref()).map_err(|e| e.to_string())?);
        }
    }
    Ok(out)
}
