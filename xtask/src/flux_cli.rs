//! `cargo xtask flux …`: the flux CLI's `create … --export`, `export …` and `install --export`, printing the
//! same bytes as the flux CLI.
//!
//! There is no cluster: every command works in `--export` mode. Commands that would talk to a cluster
//! without `--export` validate their input exactly like flux and then fail with a message saying so.
//! `export …` reads the objects from `--from FILE` (a multi-document YAML stream, as if it had been applied
//! to a cluster: the CRD defaults are applied before the export). Errors are printed as `✗ <message>` on
//! stderr with exit status 1 and nothing on stdout; log lines (`✚ generating …`) go to stderr like flux's.
//!
//! `push artifact`, `pull artifact`, `tag artifact` and `list artifacts` talk to real registries (see
//! [`artifact`]): they are the only commands here that use the network.
//!
//! Azure additions the flux CLI lacks: `create image repository --provider azure` and
//! `create secret eventhub NAME --address … [--token …]` (Azure Event Hub provider Secret).
//! Other differences: `create secret git` over SSH needs `--private-key-file` and `--known-hosts-file`
//! (flux generates keys and scans the host over the network); `install --export` takes the release
//! artifacts from `--manifests DIR` or downloads them (see [`install`]).

pub mod artifact;
mod create;
mod export;
pub mod flags;
pub mod install;
mod secret;

use flags::{Kind, Spec, f, fs};
use flux_objects::Duration;
use std::process::ExitCode;
use std::sync::Arc;

/// What a command printed and its exit status.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Output {
    /// Bytes written to stdout.
    pub stdout: String,
    /// Bytes written to stderr (logs and `✗` errors).
    pub stderr: String,
    /// Exit status.
    pub code: u8,
}

/// Entry point: `args` are the words after `cargo xtask flux`.
pub fn main(args: Vec<String>) -> ExitCode {
    let out = run(&args);
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    ExitCode::from(out.code)
}

/// Runs a flux command in-process and returns what it printed. The artifact commands run on their own
/// thread and runtime with [`artifact_context_from_env`] (tests drive [`artifact::run`] directly).
pub fn run(args: &[String]) -> Output {
    if artifact::is_artifact_command(args) {
        let args = args.to_vec();
        return std::thread::spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(artifact::run(&args, &artifact_context_from_env())),
                Err(e) => Output {
                    stdout: String::new(),
                    stderr: format!("✗ could not start the async runtime: {e}\n"),
                    code: 1,
                },
            }
        })
        .join()
        .unwrap_or_else(|_| Output {
            stdout: String::new(),
            stderr: "✗ the artifact command failed unexpectedly\n".into(),
            code: 1,
        });
    }
    let mut log = String::new();
    match dispatch(args, &mut log) {
        Ok(stdout) => Output {
            stdout,
            stderr: log,
            code: 0,
        },
        Err(e) => Output {
            stdout: String::new(),
            stderr: format!("{log}✗ {e}\n"),
            code: 1,
        },
    }
}

/// The real network, the public cloud, and the environment credential chain (for `--provider azure`;
/// `None` when it cannot be built).
pub fn artifact_context_from_env() -> artifact::ArtifactContext {
    let http = azflux_core::http::HttpPipelineOptions::default();
    let credential =
        crate::credentials::from_env(&|k| std::env::var(k).ok(), http.client_options())
            .ok()
            .map(|(c, _)| c as Arc<dyn azflux_core::TokenCredential>);
    artifact::ArtifactContext {
        http,
        cloud: azflux_core::Cloud::public(),
        credential,
    }
}

/// Flags every command accepts (flux's root persistent flags).
pub(crate) const GLOBAL: &[Spec] = &[
    fs("namespace", 'n', Kind::Str),
    f("kubeconfig", Kind::Str),
    f("context", Kind::Str),
    f("timeout", Kind::Str),
    f("verbose", Kind::Bool),
    f("kube-api-qps", Kind::Str),
    f("kube-api-burst", Kind::Str),
];

/// Flags of every `create` command (flux's `create` persistent flags).
pub(crate) const CREATE: &[Spec] = &[
    f("interval", Kind::Str),
    f("export", Kind::Bool),
    f("label", Kind::Slice),
];

/// Parses `args` with the global, create and command flags.
pub(crate) fn parse(args: &[String], groups: &[&[Spec]]) -> Result<flags::Parsed, String> {
    let specs: Vec<Spec> = groups.iter().flat_map(|g| g.iter().copied()).collect();
    flags::parse(args, &specs)
}

/// The `-n` namespace (default `flux-system`).
pub(crate) fn namespace(p: &flags::Parsed) -> String {
    p.get("namespace").unwrap_or("flux-system").to_owned()
}

/// A duration flag (`--interval`), with pflag's error wording.
pub(crate) fn duration_flag(
    p: &flags::Parsed,
    name: &str,
    default: Duration,
) -> Result<Duration, String> {
    match p.get(name) {
        None => Ok(default),
        Some(v) => Duration::parse(v).map_err(|e| flags::invalid_argument(v, name, &e.to_string())),
    }
}

/// `--label k=v` pairs.
pub(crate) fn labels(p: &flags::Parsed) -> Result<Vec<(String, String)>, String> {
    p.list("label")
        .into_iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(format!("invalid label format '{l}', must be key=value")),
        })
        .collect()
}

/// The first positional argument, validated like flux (`name is required`, RFC 1123).
pub(crate) fn name_arg(p: &flags::Parsed) -> Result<String, String> {
    let name = p.args.first().ok_or("name is required")?.clone();
    flux_objects::validate::object_name(&name).map_err(|e| e.to_string())?;
    Ok(name)
}

/// The error for commands that would need a cluster.
pub(crate) fn needs_cluster(what: &str) -> String {
    format!(
        "{what} without --export needs a Kubernetes cluster, which `cargo xtask flux` does not use; add --export"
    )
}

fn dispatch(args: &[String], log: &mut String) -> Result<String, String> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["create", "source", "git", ..] => create::source_git(&args[3..]),
        ["create", "source", "helm", ..] => create::source_helm(&args[3..]),
        ["create", "source", "oci", ..] => create::source_oci(&args[3..]),
        ["create", "source", "chart", ..] => create::source_chart(&args[3..], log),
        ["create", "helmrelease" | "hr", ..] => create::helmrelease(&args[2..]),
        ["create", "kustomization" | "ks", ..] => create::kustomization(&args[2..]),
        ["create", "image", "repository", ..] => create::image_repository(&args[3..]),
        ["create", "image", "policy", ..] => create::image_policy(&args[3..]),
        ["create", "image", "update", ..] => create::image_update(&args[3..]),
        ["create", "alert-provider" | "ap", ..] => create::alert_provider(&args[2..]),
        ["create", "alert", ..] => create::alert(&args[2..]),
        ["create", "tenant", ..] => create::tenant(&args[2..]),
        ["create", "secret", kind, ..] => secret::create(kind, &args[3..]),
        ["export", ..] => export::run(&args[1..]),
        ["install", ..] => install::run(&args[1..]),
        [] => Err("a command is required: create, export, install, push, pull, tag or list".into()),
        _ => Err(unknown_command(&words)),
    }
}

/// cobra's wording for an unknown (sub)command: `unknown command "x" for "flux create source"`.
fn unknown_command(words: &[&str]) -> String {
    const GROUPS: &[&[&str]] = &[
        &["push"],
        &["pull"],
        &["tag"],
        &["list"],
        &["create", "source"],
        &["create", "image"],
        &["create", "secret"],
        &["create"],
    ];
    let words: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !w.starts_with('-'))
        .collect();
    for g in GROUPS {
        if words.len() >= g.len() && words[..g.len()] == **g {
            return match words.get(g.len()) {
                Some(w) => format!("unknown command \"{w}\" for \"flux {}\"", g.join(" ")),
                None => format!("a subcommand of \"flux {}\" is required", g.join(" ")),
            };
        }
    }
    format!(
        "unknown command \"{}\" for \"flux\"",
        words.first().copied().unwrap_or_default()
    )
}
