//! `cargo xtask eventhub sync|send|manifests`: Event Hubs tokens for Flux's notification-controller.
//!
//! * `sync` runs eventhub-auth's [`Refresher`]: tokens from a SAS connection string held in an environment
//!   variable (`--connection-string-env NAME`), or Entra ID JWTs through the environment credential chain
//!   ([`crate::credentials::from_env`]); written to `--sink file:PATH`, `stdout` or `kubectl` (pipes the
//!   Secret to `kubectl apply -f -`; `$KUBECTL` names the binary). `--format json|token|secret` picks what is
//!   written (`secret`: the Kubernetes Secret `--secret-name` in `--namespace-k8s`, keys `token` and
//!   `address`, as the notification-controller's JWT mode reads it). `--once` refreshes once and exits;
//!   otherwise it keeps the token fresh until interrupted.
//! * `send` sends one test Flux event with the same token choices, to check the wiring.
//! * `manifests` prints the ServiceAccount (workload identity), Role, RoleBinding and Deployment (or CronJob
//!   with `--schedule`) that run `sync` in the cluster.
//!
//! Exit codes: 0 on success, 1 on any error, with a `✗ …` line on stderr. Secrets never reach stderr.
//!
//! Everything the commands need from the process (environment, cloud, transport, clock, stdout) comes in a
//! [`Context`], so tests run them in-process against the fake cloud ([`run`]).

use azflux_core::Cloud;
use azflux_core::clock::{Clock, system_clock};
use azflux_core::http::HttpPipelineOptions;
use azure_core::http::ClientOptions;
use clap::{Args, Parser, Subcommand, ValueEnum};
use eventhub_auth::sink::write_atomically;
use eventhub_auth::{
    AadTokenSource, ApplySecret, BoxError, ConnectionString, EventSeverity, EventSink,
    EventSinkOptions, FileSink, FluxEvent, KubeSecret, KubernetesSecretSink, ObjectReference,
    Refresher, RefresherIdentity, RefresherManifestOptions, RefresherManifests, RefresherOptions,
    SasTokenSource, SecretSink, Tick, TokenFormat, TokenSource, WorkloadKind, WriterSink,
    secret_yaml,
};
use secrecy::ExposeSecret;
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// What a command printed and its exit status.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Output {
    /// What went to stdout (when the context's stdout is a buffer).
    pub stdout: String,
    /// Progress lines and the `✗` error.
    pub stderr: String,
    /// Exit status.
    pub code: u8,
}

/// Where stdout goes: the process's stdout, or a buffer in tests.
pub type SharedStdout = Arc<Mutex<dyn Write + Send>>;

/// An environment lookup (`std::env::var` in the process, a map in tests).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What the commands take from the process.
#[derive(Clone)]
pub struct Context {
    /// Environment lookup.
    pub env: EnvLookup,
    /// The cloud (host names, scopes).
    pub cloud: Cloud,
    /// Transport, retries and clock of the Event Hubs requests.
    pub http: HttpPipelineOptions,
    /// Transport for the credential chain.
    pub client_options: ClientOptions,
    /// The clock tokens and refreshes run on.
    pub clock: Arc<dyn Clock>,
    /// stdout.
    pub stdout: SharedStdout,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("cloud", &self.cloud.name)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// The real process: its environment, the public cloud (or `AZURE_CLOUD_NAME`), the system clock, stdout.
    pub fn from_process() -> Self {
        let cloud = std::env::var("AZURE_CLOUD_NAME")
            .ok()
            .and_then(|n| Cloud::by_name(&n))
            .unwrap_or_default();
        Self {
            env: Arc::new(|n| std::env::var(n).ok()),
            cloud,
            http: HttpPipelineOptions::default(),
            client_options: ClientOptions::default(),
            clock: system_clock(),
            stdout: Arc::new(Mutex::new(std::io::stdout())),
        }
    }
}

#[derive(Parser)]
#[command(
    name = "cargo xtask eventhub",
    about = "Event Hubs tokens and test events for Flux's notification-controller"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Keep an Event Hubs token fresh in a file, on stdout or in a Kubernetes Secret.
    Sync(SyncArgs),
    /// Send one test Flux event to the hub.
    Send(SendArgs),
    /// Print the manifests that run `sync` in the cluster.
    Manifests(ManifestArgs),
}

#[derive(Args, Clone)]
struct Target {
    /// Environment variable holding a SAS connection string; without it, Entra ID through the credential
    /// chain (AZURE_CLIENT_ID + AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE, managed identity, az).
    #[arg(long, value_name = "NAME")]
    connection_string_env: Option<String>,
    /// Event Hubs namespace (`<ns>` or `<ns>.servicebus.windows.net`); SAS takes it from the string.
    #[arg(long)]
    namespace: Option<String>,
    /// Event Hub; SAS defaults to the string's EntityPath.
    #[arg(long)]
    hub: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// `{"address","expiresOn","kind","token"}`.
    Json,
    /// The token alone.
    Token,
    /// The Kubernetes Secret (`token`, `address`).
    Secret,
}

#[derive(Args)]
struct SyncArgs {
    #[command(flatten)]
    target: Target,
    /// The Secret the Provider's secretRef names.
    #[arg(long, default_value = "webhook-url")]
    secret_name: String,
    /// The Kubernetes namespace of the Secret.
    #[arg(long, default_value = "flux-system")]
    namespace_k8s: String,
    /// `file:PATH`, `stdout` or `kubectl`.
    #[arg(long, default_value = "stdout")]
    sink: String,
    /// What to write (`kubectl` always writes the Secret).
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Lifetime of SAS tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    sas_ttl: u64,
    /// Refresh once and exit.
    #[arg(long)]
    once: bool,
}

#[derive(Args)]
struct SendArgs {
    #[command(flatten)]
    target: Target,
    /// The event's message.
    #[arg(long, default_value = "azflux test event: the Event Hubs wiring works")]
    message: String,
    /// The event's reason.
    #[arg(long, default_value = "TestEvent")]
    reason: String,
    /// `info` or `error`.
    #[arg(long, default_value = "info")]
    severity: String,
    /// The involved object, `Kind/namespace/name`.
    #[arg(long, default_value = "Provider/flux-system/azure-eventhub")]
    object: String,
}

#[derive(Args)]
struct ManifestArgs {
    /// The image holding the `xtask` binary (and `kubectl`).
    #[arg(long)]
    image: String,
    /// Name of every object.
    #[arg(long, default_value = "eventhub-token-refresher")]
    name: String,
    /// The Kubernetes namespace.
    #[arg(long, default_value = "flux-system")]
    namespace_k8s: String,
    /// The Secret the refresher writes.
    #[arg(long, default_value = "webhook-url")]
    secret_name: String,
    /// Event Hubs namespace.
    #[arg(long)]
    namespace: String,
    /// Event Hub.
    #[arg(long)]
    hub: String,
    /// A cron schedule: a CronJob running `sync --once` instead of a Deployment.
    #[arg(long)]
    schedule: Option<String>,
    /// Workload identity: the user-assigned identity's client id.
    #[arg(long)]
    client_id: Option<String>,
    /// Workload identity: the tenant, if not the cluster's.
    #[arg(long)]
    tenant_id: Option<String>,
    /// A Secret with AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID (service principal).
    #[arg(long, conflicts_with = "client_id")]
    credentials_secret: Option<String>,
}

/// Entry point: `args` are the words after `cargo xtask eventhub`.
pub fn main(args: Vec<String>) -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_max_level(tracing::Level::INFO)
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("✗ could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let out = runtime.block_on(run(&args, &Context::from_process()));
    eprint!("{}", out.stderr);
    let _ = std::io::stdout().flush();
    ExitCode::from(out.code)
}

/// Runs a command with `ctx`. stdout goes to `ctx.stdout` (and, when it is a buffer, is not in
/// [`Output::stdout`]: read the buffer); use [`run_captured`] to get it back.
pub async fn run(args: &[String], ctx: &Context) -> Output {
    let argv = std::iter::once("cargo xtask eventhub".to_owned()).chain(args.iter().cloned());
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let text = e.render().to_string();
            return if e.use_stderr() {
                Output {
                    stderr: text,
                    code: 1,
                    ..Output::default()
                }
            } else {
                write_out(ctx, &text);
                Output::default()
            };
        }
    };
    let mut log = String::new();
    let result = match cli.cmd {
        Cmd::Sync(a) => sync(a, ctx, &mut log).await,
        Cmd::Send(a) => send(a, ctx, &mut log).await,
        Cmd::Manifests(a) => manifests(a, ctx),
    };
    match result {
        Ok(()) => Output {
            stderr: log,
            ..Output::default()
        },
        Err(e) => Output {
            stderr: format!("{log}✗ {e}\n"),
            code: 1,
            ..Output::default()
        },
    }
}

/// [`run`] with a buffer as stdout (the rest of `ctx` as given): what tests call.
pub async fn run_captured(args: &[String], ctx: &Context) -> Output {
    let buffer = Arc::new(Mutex::new(Vec::<u8>::new()));
    let ctx = Context {
        stdout: buffer.clone(),
        ..ctx.clone()
    };
    let mut out = run(args, &ctx).await;
    out.stdout = String::from_utf8_lossy(&buffer.lock().unwrap_or_else(PoisonError::into_inner))
        .into_owned();
    out
}

fn write_out(ctx: &Context, text: &str) {
    let mut w = ctx.stdout.lock().unwrap_or_else(PoisonError::into_inner);
    let _ = w.write_all(text.as_bytes()).and_then(|()| w.flush());
}

/// An error message with its causes (`a: b: c`); causes never hold secrets in these crates.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

type R<T> = Result<T, String>;

/// The token source the flags choose, with the namespace host and hub it is for.
struct Chosen {
    source: Arc<dyn TokenSource>,
    namespace: Option<String>,
    hub: String,
    connection_string: Option<ConnectionString>,
}

fn choose_source(target: &Target, ctx: &Context, sas_ttl: Duration) -> R<Chosen> {
    if let Some(name) = &target.connection_string_env {
        let value = (ctx.env)(name)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| {
                format!(
                    "environment variable `{name}` (--connection-string-env) is not set or empty"
                )
            })?;
        let cs = ConnectionString::parse(&value).map_err(|e| chain(&e))?;
        let hub = target
            .hub
            .clone()
            .or_else(|| cs.entity_path().map(str::to_owned))
            .ok_or("the connection string has no EntityPath; pass --hub")?;
        let source = SasTokenSource::new(
            cs.key().clone(),
            cs.hub_resource_uri(&hub),
            sas_ttl,
            ctx.clock.clone(),
        )
        .map_err(|e| chain(&e))?;
        return Ok(Chosen {
            source: Arc::new(source),
            namespace: Some(cs.namespace_host().to_owned()),
            hub,
            connection_string: Some(cs),
        });
    }
    let hub = target
        .hub
        .clone()
        .ok_or("--hub is required with Entra ID (no --connection-string-env)")?;
    let env = ctx.env.clone();
    let (credential, _kind) =
        crate::credentials::from_env(&move |n| env(n), ctx.client_options.clone())
            .map_err(|e| format!("{e:#}"))?;
    let source = AadTokenSource::new(credential, hub.clone()).map_err(|e| chain(&e))?;
    Ok(Chosen {
        source: Arc::new(source),
        namespace: target.namespace.clone(),
        hub,
        connection_string: None,
    })
}

/// A writer over the context's stdout.
struct SharedOut(SharedStdout);

impl Write for SharedOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
}

/// Where `--format secret` Secrets go.
enum SecretTarget {
    File(std::path::PathBuf),
    Stdout(SharedStdout),
    Kubectl(String),
}

struct RenderSecret(SecretTarget);

#[async_trait::async_trait]
impl ApplySecret for RenderSecret {
    async fn apply(&self, secret: &KubeSecret) -> Result<(), BoxError> {
        let yaml = secret_yaml(secret)?;
        match &self.0 {
            SecretTarget::File(path) => {
                write_atomically(path, yaml.expose_secret().as_bytes())?;
            }
            SecretTarget::Stdout(out) => {
                let mut w = out.lock().unwrap_or_else(PoisonError::into_inner);
                w.write_all(yaml.expose_secret().as_bytes())?;
                w.flush()?;
            }
            SecretTarget::Kubectl(program) => {
                use tokio::io::AsyncWriteExt;
                let mut child = tokio::process::Command::new(program)
                    .args(["apply", "-f", "-"])
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("could not run `{program}`: {e}"))?;
                // A kubectl that fails early closes stdin: the write then fails with a broken pipe, but
                // its exit status and stderr are what tell the user why, so they win over the write error.
                let written = match child.stdin.take() {
                    Some(mut stdin) => stdin.write_all(yaml.expose_secret().as_bytes()).await,
                    None => Ok(()),
                };
                let out = child.wait_with_output().await?;
                if out.status.success() {
                    written?;
                } else {
                    let err = String::from_utf8_lossy(&out.stderr);
                    return Err(format!(
                        "`{program} apply -f -` failed ({}): {}",
                        out.status,
                        err.trim()
                    )
                    .into());
                }
            }
        }
        Ok(())
    }
}

fn choose_sink(args: &SyncArgs, ctx: &Context) -> R<Arc<dyn SecretSink>> {
    let sink = args.sink.trim();
    let target = if let Some(path) = sink.strip_prefix("file:") {
        if path.is_empty() {
            return Err("--sink file: needs a path, e.g. file:/var/run/eventhub/token".into());
        }
        SecretTarget::File(path.into())
    } else if sink == "stdout" {
        SecretTarget::Stdout(ctx.stdout.clone())
    } else if sink == "kubectl" {
        SecretTarget::Kubectl((ctx.env)("KUBECTL").unwrap_or_else(|| "kubectl".into()))
    } else {
        return Err(format!(
            "unknown sink `{sink}`; use `file:PATH`, `stdout` or `kubectl`"
        ));
    };
    let format = match (args.format, &target) {
        (Format::Secret, _) | (_, SecretTarget::Kubectl(_)) => None,
        (Format::Json, _) => Some(TokenFormat::Json),
        (Format::Token, _) => Some(TokenFormat::Token),
    };
    Ok(match (format, target) {
        (Some(f), SecretTarget::File(path)) => Arc::new(FileSink::new(path, f)),
        (Some(f), SecretTarget::Stdout(out)) => {
            Arc::new(WriterSink::new(SharedOut(out), f, "stdout"))
        }
        (_, target) => Arc::new(
            KubernetesSecretSink::new(
                &args.secret_name,
                &args.namespace_k8s,
                Arc::new(RenderSecret(target)),
            )
            .with_label("app.kubernetes.io/managed-by", "azflux-eventhub-sync"),
        ),
    })
}

async fn sync(args: SyncArgs, ctx: &Context, log: &mut String) -> R<()> {
    let chosen = choose_source(&args.target, ctx, Duration::from_secs(args.sas_ttl))?;
    let sink = choose_sink(&args, ctx)?;
    let mut refresher = Refresher::new(
        chosen.source.clone(),
        sink.clone(),
        ctx.clock.clone(),
        RefresherOptions::default(),
    )
    .map_err(|e| chain(&e))?;
    if args.once {
        return match refresher.tick().await {
            Ok(Tick::Refreshed { expires_on, .. }) => {
                log.push_str(&format!(
                    "✔ wrote a token for {} to {}, valid until {expires_on}\n",
                    chosen.source.describe(),
                    sink.describe()
                ));
                Ok(())
            }
            Ok(_) => Err("the refresher did not refresh on its first tick".into()),
            Err(e) => Err(chain(&e)),
        };
    }
    log.push_str(&format!(
        "► keeping {} fresh in {} (Ctrl-C to stop)\n",
        chosen.source.describe(),
        sink.describe()
    ));
    let stats = refresher
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    log.push_str(&format!(
        "stopped after {} refreshes and {} failures\n",
        stats.refreshes, stats.failures
    ));
    Ok(())
}

async fn send(args: SendArgs, ctx: &Context, log: &mut String) -> R<()> {
    let severity = match args.severity.as_str() {
        "info" => EventSeverity::Info,
        "error" => EventSeverity::Error,
        other => {
            return Err(format!(
                "--severity must be `info` or `error`, not `{other}`"
            ));
        }
    };
    let parts: Vec<&str> = args.object.split('/').collect();
    let [kind, namespace, name] = parts[..] else {
        return Err(format!(
            "--object must be `Kind/namespace/name`, not `{}`",
            args.object
        ));
    };
    let chosen = choose_source(&args.target, ctx, Duration::from_secs(3600))?;
    let options = EventSinkOptions {
        cloud: ctx.cloud.clone(),
        http: HttpPipelineOptions {
            clock: ctx.clock.clone(),
            ..ctx.http.clone()
        },
        ..EventSinkOptions::default()
    };
    let sink = match (&chosen.connection_string, &chosen.namespace) {
        (Some(cs), _) => EventSink::from_connection_string(cs, Some(&chosen.hub), options),
        (None, Some(ns)) => EventSink::new(ns, &chosen.hub, chosen.source.clone(), options),
        (None, None) => return Err("--namespace is required with Entra ID".into()),
    }
    .map_err(|e| chain(&e))?;
    let event = FluxEvent::new(
        ObjectReference::new(kind, namespace, name),
        severity,
        args.reason,
        args.message,
        "azflux-xtask",
        ctx.clock.now(),
    );
    sink.send(&event).await.map_err(|e| chain(&e))?;
    let json = serde_json::to_string(&event).map_err(|e| e.to_string())?;
    write_out(ctx, &format!("{json}\n"));
    log.push_str(&format!(
        "✔ sent a test event to {} with {}\n",
        sink.url().as_str().split('?').next().unwrap_or_default(),
        chosen.source.describe()
    ));
    Ok(())
}

fn manifests(args: ManifestArgs, ctx: &Context) -> R<()> {
    let mut sync_args = vec![
        "eventhub".to_owned(),
        "sync".into(),
        "--namespace".into(),
        args.namespace.clone(),
        "--hub".into(),
        args.hub.clone(),
        "--secret-name".into(),
        args.secret_name.clone(),
        "--namespace-k8s".into(),
        args.namespace_k8s.clone(),
        "--sink".into(),
        "kubectl".into(),
    ];
    let workload = match &args.schedule {
        Some(schedule) => {
            sync_args.push("--once".into());
            WorkloadKind::CronJob {
                schedule: schedule.clone(),
            }
        }
        None => WorkloadKind::Deployment,
    };
    let identity = match (&args.client_id, &args.credentials_secret) {
        (Some(client_id), _) => RefresherIdentity::WorkloadIdentity {
            client_id: client_id.clone(),
            tenant_id: args.tenant_id.clone(),
        },
        (None, Some(secret_name)) => RefresherIdentity::ClientSecret {
            secret_name: secret_name.clone(),
        },
        (None, None) => RefresherIdentity::None,
    };
    let options = RefresherManifestOptions {
        name: args.name,
        namespace: args.namespace_k8s,
        image: args.image,
        args: sync_args,
        target_secret: args.secret_name,
        workload,
        identity,
        ..RefresherManifestOptions::default()
    };
    let yaml = RefresherManifests::new(&options)
        .and_then(|m| m.to_yaml())
        .map_err(|e| chain(&e))?;
    write_out(ctx, &yaml);
    Ok(())
}
