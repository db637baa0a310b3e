//! `flux create secret git|helm|oci|tls|proxy|receiver|githubapp … --export`, plus `eventhub` (Azure Event
//! Hub provider Secret, not in flux).

use super::flags::{Kind, f, fs};
use super::{CREATE, GLOBAL, labels, name_arg, namespace, needs_cluster, parse};
use flux_objects::{Manifest, Secret};
use secrecy::SecretString;

fn read(flag: &str, path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("unable to read {flag} file '{path}': {e}"))
}

fn finish(p: &super::flags::Parsed, mut s: Secret, blank_line: bool) -> Result<String, String> {
    for (k, v) in labels(p)? {
        s.metadata.labels.insert(k, v);
    }
    s.validate().map_err(|e| e.to_string())?;
    if !p.bool("export") {
        return Err(needs_cluster("create secret"));
    }
    let doc = flux_objects::render(&s).map_err(|e| e.to_string())?;
    Ok(if blank_line { format!("{doc}\n") } else { doc })
}

const GIT: &[super::flags::Spec] = &[
    f("url", Kind::Str),
    fs("username", 'u', Kind::Str),
    fs("password", 'p', Kind::Str),
    f("bearer-token", Kind::Str),
    f("private-key-file", Kind::Str),
    f("ca-crt-file", Kind::Str),
    f("ca-file", Kind::Str),
    f("ssh-key-algorithm", Kind::Str),
    f("ssh-rsa-bits", Kind::Str),
    f("ssh-ecdsa-curve", Kind::Str),
    f("known-hosts-file", Kind::Str),
];
const HELM: &[super::flags::Spec] = &[
    fs("username", 'u', Kind::Str),
    fs("password", 'p', Kind::Str),
    f("cert-file", Kind::Str),
    f("key-file", Kind::Str),
    f("ca-file", Kind::Str),
];
const OCI: &[super::flags::Spec] = &[
    f("url", Kind::Str),
    fs("username", 'u', Kind::Str),
    fs("password", 'p', Kind::Str),
];
const TLS: &[super::flags::Spec] = &[
    f("tls-crt-file", Kind::Str),
    f("tls-key-file", Kind::Str),
    f("ca-crt-file", Kind::Str),
];
const PROXY: &[super::flags::Spec] = &[
    f("address", Kind::Str),
    fs("username", 'u', Kind::Str),
    fs("password", 'p', Kind::Str),
];
const RECEIVER: &[super::flags::Spec] = &[
    f("type", Kind::Str),
    f("token", Kind::Str),
    f("hostname", Kind::Str),
    f("email-claim", Kind::Str),
    f("audience-claim", Kind::Str),
];
const GITHUBAPP: &[super::flags::Spec] = &[
    f("app-id", Kind::Str),
    f("app-installation-owner", Kind::Str),
    f("app-installation-id", Kind::Str),
    f("app-private-key", Kind::Str),
    f("app-base-url", Kind::Str),
];
const EVENTHUB: &[super::flags::Spec] = &[f("address", Kind::Str), f("token", Kind::Str)];

/// `flux create secret <kind> NAME …`.
pub fn create(kind: &str, args: &[String]) -> Result<String, String> {
    match kind {
        "git" => git(args),
        "helm" => {
            let p = parse(args, &[GLOBAL, CREATE, HELM])?;
            let name = name_arg(&p)?;
            let mut s = Secret::helm_basic_auth(
                &name,
                &namespace(&p),
                p.str("username"),
                SecretString::from(p.str("password")),
            );
            if let Some(c) = p.get("ca-file") {
                s = s.with("ca.crt", read("--ca-file", c)?);
            }
            if let Some(c) = p.get("cert-file") {
                s = s.with("certFile", read("--cert-file", c)?);
            }
            if let Some(c) = p.get("key-file") {
                s = s.with("keyFile", read("--key-file", c)?);
            }
            finish(&p, s, true)
        }
        "oci" => {
            let p = parse(args, &[GLOBAL, CREATE, OCI])?;
            let name = name_arg(&p)?;
            if p.str("url").is_empty() {
                return Err("--url is required".into());
            }
            if p.str("username").is_empty() || p.str("password").is_empty() {
                return Err("--username and --password are required".into());
            }
            let s = Secret::docker_registry(
                &name,
                &namespace(&p),
                p.str("url"),
                p.str("username"),
                SecretString::from(p.str("password")),
            );
            finish(&p, s, true)
        }
        "tls" => {
            let p = parse(args, &[GLOBAL, CREATE, TLS])?;
            let name = name_arg(&p)?;
            let crt = p
                .get("tls-crt-file")
                .map(|f| read("--tls-crt-file", f))
                .transpose()?;
            let key = p
                .get("tls-key-file")
                .map(|f| read("--tls-key-file", f))
                .transpose()?;
            let ca = p
                .get("ca-crt-file")
                .map(|f| read("--ca-crt-file", f))
                .transpose()?;
            let s = Secret::tls(
                &name,
                &namespace(&p),
                crt.as_deref(),
                key.map(SecretString::from),
                ca.as_deref(),
            );
            finish(&p, s, false)
        }
        "proxy" => {
            let p = parse(args, &[GLOBAL, CREATE, PROXY])?;
            let name = name_arg(&p)?;
            if p.str("address").is_empty() {
                return Err("address is required".into());
            }
            let mut s = Secret::new(&name, namespace(&p))
                .with("address", p.str("address"))
                .with_type("Opaque");
            if !p.str("username").is_empty() {
                s = s.with("username", p.str("username"));
            }
            if !p.str("password").is_empty() {
                s = s.with("password", p.str("password"));
            }
            finish(&p, s, true)
        }
        "receiver" => {
            let p = parse(args, &[GLOBAL, CREATE, RECEIVER])?;
            let name = name_arg(&p)?;
            if p.str("type").is_empty() {
                return Err("--type is required".into());
            }
            if p.str("hostname").is_empty() {
                return Err("--hostname is required".into());
            }
            if p.str("token").is_empty() {
                return Err(
                    "--token is required: `cargo xtask flux` does not generate random tokens"
                        .into(),
                );
            }
            let s = Secret::receiver(
                &name,
                &namespace(&p),
                SecretString::from(p.str("token")),
                p.str("hostname"),
                p.get("email-claim"),
                p.get("audience-claim"),
            );
            finish(&p, s, true)
        }
        "githubapp" => {
            let p = parse(args, &[GLOBAL, CREATE, GITHUBAPP])?;
            let name = name_arg(&p)?;
            if p.str("app-id").is_empty() {
                return Err("--app-id is required".into());
            }
            if p.str("app-private-key").is_empty() {
                return Err("--app-private-key is required".into());
            }
            let key = read("--app-private-key", p.str("app-private-key"))?;
            let mut s = Secret::new(&name, namespace(&p))
                .with("githubAppID", p.str("app-id"))
                .with("githubAppPrivateKey", key)
                .with_type("Opaque");
            if let Some(o) = p.get("app-installation-owner") {
                s = s.with("githubAppInstallationOwner", o);
            }
            if let Some(i) = p.get("app-installation-id") {
                s = s.with("githubAppInstallationID", i);
            }
            if let Some(u) = p.get("app-base-url") {
                s = s.with("githubAppBaseURL", u);
            }
            finish(&p, s, true)
        }
        "eventhub" => {
            let p = parse(args, &[GLOBAL, CREATE, EVENTHUB])?;
            let name = name_arg(&p)?;
            if p.str("address").is_empty() {
                return Err(
                    "--address is required (Event Hub name or SAS connection string)".into(),
                );
            }
            if p.str("address").contains("SharedAccessKey") && !p.str("token").is_empty() {
                return Err(
                    "a SAS connection string in --address cannot be combined with --token".into(),
                );
            }
            let token = p.get("token").map(SecretString::from);
            let s = Secret::event_hub(
                &name,
                &namespace(&p),
                SecretString::from(p.str("address")),
                token,
            );
            finish(&p, s, true)
        }
        other => Err(format!(
            "unknown command \"{other}\" for \"flux create secret\""
        )),
    }
}

fn git(args: &[String]) -> Result<String, String> {
    let p = parse(args, &[GLOBAL, CREATE, GIT])?;
    let name = name_arg(&p)?;
    let url = p.str("url");
    if url.is_empty() {
        return Err("url is required".into());
    }
    let u =
        flux_objects::validate::parse_url(url).map_err(|e| format!("failed to parse URL: {e}"))?;
    let ns = namespace(&p);
    let ca = match (p.get("ca-crt-file"), p.get("ca-file")) {
        (Some(f), _) => Some(read("--ca-crt-file", f)?),
        (None, Some(f)) => Some(read("--ca-file", f)?),
        _ => None,
    };
    match u.scheme.as_str() {
        "ssh" => {
            let Some(key_file) = p.get("private-key-file") else {
                return Err("generating SSH key pairs is not supported by `cargo xtask flux`; pass --private-key-file".into());
            };
            let Some(kh_file) = p.get("known-hosts-file") else {
                return Err("flux scans known_hosts from the host over the network, which `cargo xtask flux` does not do; \
                            pass --known-hosts-file with the host's key line (e.g. from ssh-keyscan)"
                    .into());
            };
            let identity = read("--private-key-file", key_file)?;
            let public =
                flux_objects::core::openssh_public_key(&identity).map_err(|e| e.to_string())?;
            let known_hosts = read("--known-hosts-file", kh_file)?.trim().to_owned();
            let password = p
                .get("password")
                .filter(|s| !s.is_empty())
                .map(SecretString::from);
            let mut s = Secret::git_ssh(
                &name,
                &ns,
                SecretString::from(identity),
                &public,
                &known_hosts,
                password,
            );
            if let Some(ca) = ca {
                s = s.with("ca.crt", ca);
            }
            finish(&p, s, true)
        }
        "http" | "https" => {
            let (user, pass, bearer) =
                (p.str("username"), p.str("password"), p.str("bearer-token"));
            if (!user.is_empty() || !pass.is_empty()) && !bearer.is_empty() {
                return Err("user credentials and bearer token cannot be used together".into());
            }
            let mut s = Secret::new(&name, &ns);
            if !bearer.is_empty() {
                s = s.with("bearerToken", bearer);
            }
            if !user.is_empty() {
                s = s.with("username", user);
            }
            if !pass.is_empty() {
                s = s.with("password", pass);
            }
            if let Some(ca) = ca {
                s = s.with("ca.crt", ca);
            }
            finish(&p, s, true)
        }
        other => Err(format!(
            "git URL scheme '{other}' not supported, can be: ssh, http and https"
        )),
    }
}
