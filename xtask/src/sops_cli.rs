//! `cargo xtask sops encrypt|decrypt|edit|set|rotate|updatekeys FILE`: sops' commands with the same flags and
//! exit codes where they overlap (`cmd/sops/codes`).
//!
//! Keys come from flags, the environment and `.sops.yaml`, as with sops:
//! - age identities (decrypt): `SOPS_AGE_KEY` (identities, one per line), `SOPS_AGE_KEY_FILE`, else
//!   `$XDG_CONFIG_HOME/sops/age/keys.txt` (`~/.config/sops/age/keys.txt`).
//! - age recipients (encrypt): `--age` or `SOPS_AGE_RECIPIENTS` (comma-separated).
//! - OpenPGP: there is no gpg keyring here; `AZFLUX_SOPS_PGP_KEY_FILE` names an armored key file (public keys to
//!   encrypt, unprotected secret keys to decrypt); `--pgp`/`SOPS_PGP_FP` pick fingerprints from it.
//! - Azure Key Vault: `--azure-kv`/`SOPS_AZURE_KEYVAULT_URLS` and `.sops.yaml` `azure_keyvault` keys encrypt through
//!   keyvault-sops' [`AzureKeyVaultKey`]; files' `azure_kv` entries decrypt through it (after age and PGP, as sops
//!   tries them). The credential comes from the environment chain ([`crate::credentials::from_env`]: client
//!   secret, workload identity, managed identity, Azure CLI); the token scope from the vault's 401 challenge.
//!   `AZURE_CLOUD_NAME` picks a sovereign cloud. Tests run the commands in-process against the fake cloud with
//!   [`run_with`] and an [`AzureContext`].
//! - `.sops.yaml`: `--config`, `SOPS_CONFIG`, else found walking up from the working directory (as sops does).

use azflux_core::Cloud;
use azflux_core::http::HttpPipelineOptions;
use azure_core::http::ClientOptions;
use clap::{Args, Parser, Subcommand};
use keyvault_sops::rules::{self, AzureKeyRef, Config, RuleKeyGroup};
use keyvault_sops::{
    AgeKey, AzureKeyVaultKey, DecryptOptions, EncryptOptions, Error, Format, KeyEntry,
    KeyGroupKeys, KeyVaultClient, MasterKey, Metadata, PgpKey, Selector, SopsFile, Tree, Value,
    parse_path,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

/// `cargo xtask bench sops` (routed from main.rs's `Bench` subcommand; also `cargo xtask sops bench`, hidden).
#[path = "bench/sops.rs"]
pub mod bench;

/// An environment lookup (`std::env::var` in the process, a map in tests).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where the Azure Key Vault keys send their requests, and where their credential comes from.
#[derive(Clone)]
pub struct AzureContext {
    /// The cloud (Key Vault host suffixes).
    pub cloud: Cloud,
    /// Transport, retries and clock of the Key Vault requests.
    pub http: HttpPipelineOptions,
    /// Transport of the credential chain.
    pub client_options: ClientOptions,
    /// The environment the credential chain reads (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, …).
    pub env: EnvLookup,
}

impl std::fmt::Debug for AzureContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureContext")
            .field("cloud", &self.cloud.name)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

impl AzureContext {
    /// The real process: its environment, the public cloud (or `AZURE_CLOUD_NAME`), default transport.
    pub fn from_process() -> Self {
        let cloud = std::env::var("AZURE_CLOUD_NAME")
            .ok()
            .and_then(|n| Cloud::by_name(&n))
            .unwrap_or_default();
        Self {
            cloud,
            http: HttpPipelineOptions::default(),
            client_options: ClientOptions::default(),
            env: Arc::new(|n| std::env::var(n).ok()),
        }
    }
}

struct AzureState {
    ctx: AzureContext,
    client: OnceLock<Result<KeyVaultClient, String>>,
}

tokio::task_local! {
    static AZURE: Arc<AzureState>;
}

/// The Key Vault client of this run (built once, on first use).
fn kv_client() -> Result<KeyVaultClient, String> {
    AZURE
        .try_with(|state| {
            state
                .client
                .get_or_init(|| {
                    let env = state.ctx.env.clone();
                    crate::credentials::from_env(&move |n| env(n), state.ctx.client_options.clone())
                        .map(|(credential, _kind)| {
                            KeyVaultClient::new(&state.ctx.cloud, credential, &state.ctx.http)
                        })
                        .map_err(|e| format!("no Azure credential for Key Vault: {e:#}"))
                })
                .clone()
        })
        .map_err(|_| "the Azure context is not set (internal error)".to_string())?
}

/// sops' exit codes (`cmd/sops/codes/codes.go`).
pub mod codes {
    /// Anything else.
    pub const ERROR_GENERIC: u8 = 1;
    /// The input file could not be read or parsed.
    pub const COULD_NOT_READ_INPUT_FILE: u8 = 2;
    /// The output could not be written.
    pub const COULD_NOT_WRITE_OUTPUT_FILE: u8 = 3;
    /// The tree could not be serialised.
    pub const ERROR_DUMPING_TREE: u8 = 4;
    /// `.sops.yaml` is invalid or has no matching rule.
    pub const ERROR_READING_CONFIG: u8 = 5;
    /// A `set` value is invalid.
    pub const ERROR_INVALID_SET_FORMAT: u8 = 7;
    /// Flags that cannot be combined.
    pub const ERROR_CONFLICTING_PARAMETERS: u8 = 8;
    /// Encrypting values failed.
    pub const ERROR_ENCRYPTING_TREE: u8 = 23;
    /// The MAC could not be decrypted.
    pub const ERROR_DECRYPTING_MAC: u8 = 24;
    /// A value could not be decrypted.
    pub const ERROR_DECRYPTING_TREE: u8 = 25;
    /// The MAC does not match.
    pub const MAC_MISMATCH: u8 = 51;
    /// The file has no MAC.
    pub const MAC_NOT_FOUND: u8 = 52;
    /// No `.sops.yaml` found.
    pub const CONFIG_FILE_NOT_FOUND: u8 = 61;
    /// A path (`["a"][0]`) is malformed.
    pub const INVALID_TREE_PATH_FORMAT: u8 = 91;
    /// The plaintext has no document (an empty file).
    pub const NEED_AT_LEAST_ONE_DOCUMENT: u8 = 92;
    /// No file argument.
    pub const NO_FILE_SPECIFIED: u8 = 100;
    /// No master key given to encrypt with.
    pub const NO_ENCRYPTION_KEY_FOUND: u8 = 111;
    /// No key could recover the data key.
    pub const COULD_NOT_RETRIEVE_KEY: u8 = 128;
    /// `edit` left the file unchanged.
    pub const FILE_HAS_NOT_BEEN_MODIFIED: u8 = 200;
    /// No editor to run.
    pub const NO_EDITOR_FOUND: u8 = 201;
    /// `encrypt` on a file that already has sops metadata.
    pub const FILE_ALREADY_ENCRYPTED: u8 = 203;
}

#[derive(Parser)]
#[command(
    name = "cargo xtask sops",
    about = "sops-compatible encrypt/decrypt/edit/set/rotate/updatekeys"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Encrypt a plaintext file.
    Encrypt(EncryptArgs),
    /// Decrypt a file (MAC verified).
    Decrypt(DecryptArgs),
    /// Decrypt into $SOPS_EDITOR/$EDITOR, then encrypt the result again (unchanged values keep their ciphertext).
    Edit(EditArgs),
    /// Set one value: `set FILE '["key"]["sub"]' '"json value"'`.
    Set(SetArgs),
    /// Generate a new data key and re-encrypt every value; optionally add/remove master keys.
    Rotate(RotateArgs),
    /// Make the file's master keys those of its `.sops.yaml` rule, without re-encrypting values.
    Updatekeys(UpdateKeysArgs),
    /// The benchmark (`cargo xtask bench sops`).
    #[command(hide = true)]
    Bench(bench::BenchSopsArgs),
}

#[derive(Args, Clone, Default)]
struct Common {
    /// The file.
    file: Option<PathBuf>,
    /// Input format: yaml, json, dotenv, binary (default: from the file name).
    #[arg(long)]
    input_type: Option<String>,
    /// Output format (default: the input format).
    #[arg(long)]
    output_type: Option<String>,
    /// Write to this file instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Write the result back to the file.
    #[arg(short = 'i', long)]
    in_place: bool,
    /// Do not fail on a missing or wrong MAC.
    #[arg(long)]
    ignore_mac: bool,
    /// The `.sops.yaml` to use.
    #[arg(long, env = "SOPS_CONFIG")]
    config: Option<PathBuf>,
    /// Use this name for format detection and creation-rule matching.
    #[arg(long)]
    filename_override: Option<PathBuf>,
}

#[derive(Args, Clone, Default)]
struct KeyFlags {
    /// age recipients, comma-separated.
    #[arg(short = 'a', long, env = "SOPS_AGE_RECIPIENTS")]
    age: Option<String>,
    /// PGP fingerprints, comma-separated (keys from AZFLUX_SOPS_PGP_KEY_FILE).
    #[arg(short = 'p', long, env = "SOPS_PGP_FP")]
    pgp: Option<String>,
    /// Azure Key Vault key URLs, comma-separated.
    #[arg(long, env = "SOPS_AZURE_KEYVAULT_URLS")]
    azure_kv: Option<String>,
}

#[derive(Args, Clone, Default)]
struct SelectorFlags {
    /// Keys ending with this suffix stay plaintext (default `_unencrypted`).
    #[arg(long)]
    unencrypted_suffix: Option<String>,
    /// Only keys ending with this suffix are encrypted.
    #[arg(long)]
    encrypted_suffix: Option<String>,
    /// Keys matching this regex stay plaintext.
    #[arg(long)]
    unencrypted_regex: Option<String>,
    /// Only keys matching this regex are encrypted.
    #[arg(long)]
    encrypted_regex: Option<String>,
    /// Values after a comment matching this regex stay plaintext.
    #[arg(long)]
    unencrypted_comment_regex: Option<String>,
    /// Only values after a comment matching this regex are encrypted.
    #[arg(long)]
    encrypted_comment_regex: Option<String>,
    /// Only encrypted values enter the MAC.
    #[arg(long)]
    mac_only_encrypted: bool,
    /// Shamir threshold with several key groups.
    #[arg(long, alias = "shamir-secret-sharing-quorum")]
    shamir_secret_sharing_threshold: Option<usize>,
}

#[derive(Args)]
struct EncryptArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    keys: KeyFlags,
    #[command(flatten)]
    selectors: SelectorFlags,
}

#[derive(Args)]
struct DecryptArgs {
    #[command(flatten)]
    common: Common,
    /// Print only this part of the tree: `["key"][0]`.
    #[arg(long)]
    extract: Option<String>,
}

#[derive(Args)]
struct EditArgs {
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct SetArgs {
    #[command(flatten)]
    common: Common,
    /// The path: `["key"]["sub"]`.
    path: Option<String>,
    /// The value, as JSON (`"text"`, `42`, `{"a": 1}`).
    value: Option<String>,
}

#[derive(Args)]
struct RotateArgs {
    #[command(flatten)]
    common: Common,
    /// Add age recipients (comma-separated).
    #[arg(long)]
    add_age: Option<String>,
    /// Remove age recipients.
    #[arg(long)]
    rm_age: Option<String>,
    /// Add PGP fingerprints.
    #[arg(long)]
    add_pgp: Option<String>,
    /// Remove PGP fingerprints.
    #[arg(long)]
    rm_pgp: Option<String>,
    /// Add Azure Key Vault key URLs.
    #[arg(long)]
    add_azure_kv: Option<String>,
    /// Remove Azure Key Vault key URLs.
    #[arg(long)]
    rm_azure_kv: Option<String>,
}

#[derive(Args)]
struct UpdateKeysArgs {
    #[command(flatten)]
    common: Common,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    yes: bool,
    /// Shamir threshold.
    #[arg(long)]
    shamir_secret_sharing_threshold: Option<usize>,
}

/// A failure with sops' exit code.
struct Fail {
    code: u8,
    msg: String,
}

type R<T> = Result<T, Fail>;

fn fail(code: u8, msg: impl Into<String>) -> Fail {
    Fail {
        code,
        msg: msg.into(),
    }
}

fn lib_err(e: Error) -> Fail {
    let code = match &e {
        Error::MacMismatch => codes::MAC_MISMATCH,
        Error::MacMissing => codes::MAC_NOT_FOUND,
        Error::MacTampered => codes::ERROR_DECRYPTING_MAC,
        Error::NoDataKey { .. } => codes::COULD_NOT_RETRIEVE_KEY,
        Error::ValueTampered { .. } | Error::MalformedValue { .. } | Error::BadValueType { .. } => {
            codes::ERROR_DECRYPTING_TREE
        }
        Error::Parse { .. } => codes::COULD_NOT_READ_INPUT_FILE,
        Error::AlreadyEncrypted => codes::FILE_ALREADY_ENCRYPTED,
        Error::EmptyFile => codes::NEED_AT_LEAST_ONE_DOCUMENT,
        Error::Config { .. } => codes::ERROR_READING_CONFIG,
        _ => codes::ERROR_GENERIC,
    };
    fail(code, e.to_string())
}

/// Entry point: `args` are the words after `cargo xtask sops`.
pub fn main(args: Vec<String>) -> ExitCode {
    let argv = std::iter::once("cargo xtask sops".to_string()).chain(args);
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                codes::ERROR_GENERIC
            } else {
                0
            });
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(codes::ERROR_GENERIC);
        }
    };
    match rt.block_on(in_context(cli, AzureContext::from_process())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("{}", f.msg);
            ExitCode::from(f.code)
        }
    }
}

async fn in_context(cli: Cli, azure: AzureContext) -> R<()> {
    let state = Arc::new(AzureState {
        ctx: azure,
        client: OnceLock::new(),
    });
    AZURE.scope(state, run(cli)).await
}

/// Runs `cargo xtask sops ARGS` in-process with `azure` for the Key Vault keys (tests use the fake cloud).
/// Returns sops' exit code and the error message (empty on success). Output still goes to stdout or the
/// `--output`/`-i` file; the other key sources (age, PGP, `.sops.yaml`) come from the process as usual.
pub async fn run_with(args: Vec<String>, azure: AzureContext) -> (u8, String) {
    let argv = std::iter::once("cargo xtask sops".to_string()).chain(args);
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => return (codes::ERROR_GENERIC, e.to_string()),
    };
    match in_context(cli, azure).await {
        Ok(()) => (0, String::new()),
        Err(f) => (f.code, f.msg),
    }
}

async fn run(cli: Cli) -> R<()> {
    match cli.cmd {
        Cmd::Encrypt(a) => encrypt(a).await,
        Cmd::Decrypt(a) => decrypt(a).await,
        Cmd::Edit(a) => edit(a).await,
        Cmd::Set(a) => set(a).await,
        Cmd::Rotate(a) => rotate(a).await,
        Cmd::Updatekeys(a) => updatekeys(a).await,
        Cmd::Bench(a) => {
            let report = bench::run(&a)
                .await
                .map_err(|e| fail(codes::ERROR_GENERIC, format!("benchmark failed: {e:#}")))?;
            println!("{}", bench::table(&report));
            Ok(())
        }
    }
}

fn file_of(c: &Common) -> R<&Path> {
    c.file
        .as_deref()
        .ok_or_else(|| fail(codes::NO_FILE_SPECIFIED, "Error: no file specified"))
}

fn formats(c: &Common, file: &Path) -> R<(Format, Format)> {
    let name = c.filename_override.as_deref().unwrap_or(file);
    let input = match &c.input_type {
        Some(t) => Format::from_name(t).map_err(lib_err)?,
        None => Format::from_path(name),
    };
    let output = match &c.output_type {
        Some(t) => Format::from_name(t).map_err(lib_err)?,
        None => input,
    };
    Ok((input, output))
}

fn read(file: &Path) -> R<Vec<u8>> {
    std::fs::read(file).map_err(|e| {
        fail(
            codes::COULD_NOT_READ_INPUT_FILE,
            format!("Error reading file {}: {e}", file.display()),
        )
    })
}

fn write_secret_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    // `mode` only applies when the file is created: an existing regular file (in-place decrypt, an old
    // `--output`) keeps its mode, often 0644, so narrow it before writing plaintext into it.
    #[cfg(unix)]
    if f.metadata()?.is_file() {
        use std::os::unix::fs::PermissionsExt as _;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(bytes)
}

fn emit(c: &Common, file: &Path, bytes: &[u8], plaintext: bool) -> R<()> {
    if c.in_place && c.output.is_some() {
        return Err(fail(
            codes::ERROR_CONFLICTING_PARAMETERS,
            "Error: cannot use --in-place and --output together",
        ));
    }
    let target = if c.in_place {
        Some(file)
    } else {
        c.output.as_deref()
    };
    match target {
        Some(p) => {
            let r = if plaintext {
                write_secret_file(p, bytes)
            } else {
                std::fs::write(p, bytes)
            };
            r.map_err(|e| {
                fail(
                    codes::COULD_NOT_WRITE_OUTPUT_FILE,
                    format!("Could not write output file {}: {e}", p.display()),
                )
            })
        }
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(bytes).map_err(|e| {
                fail(
                    codes::COULD_NOT_WRITE_OUTPUT_FILE,
                    format!("Could not write to stdout: {e}"),
                )
            })
        }
    }
}

fn split_list(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn pgp_keyring() -> R<Vec<PgpKey>> {
    let Some(path) = env("AZFLUX_SOPS_PGP_KEY_FILE") else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        fail(
            codes::ERROR_GENERIC,
            format!("cannot read AZFLUX_SOPS_PGP_KEY_FILE {path}: {e}"),
        )
    })?;
    PgpKey::parse_armored(&text).map_err(lib_err)
}

/// The age identities and PGP secret keys available to decrypt.
fn decryption_keys() -> R<Vec<Arc<dyn MasterKey>>> {
    let mut keys: Vec<Arc<dyn MasterKey>> = Vec::new();
    let mut texts = Vec::new();
    if let Some(k) = env("SOPS_AGE_KEY") {
        texts.push(("SOPS_AGE_KEY".to_string(), k));
    }
    let file = env("SOPS_AGE_KEY_FILE").map(PathBuf::from).or_else(|| {
        let base = env("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config")))?;
        Some(base.join("sops/age/keys.txt"))
    });
    if let Some(f) = file
        && let Ok(t) = std::fs::read_to_string(&f)
    {
        texts.push((f.display().to_string(), t));
    }
    for (origin, text) in texts {
        let ids = AgeKey::parse_identities(&text)
            .map_err(|e| fail(codes::ERROR_GENERIC, format!("{origin}: {e}")))?;
        keys.extend(ids.into_iter().map(|k| Arc::new(k) as Arc<dyn MasterKey>));
    }
    for k in pgp_keyring()? {
        if k.has_secret() {
            keys.push(Arc::new(k));
        }
    }
    Ok(keys)
}

fn age_keys(recipients: &[String]) -> R<Vec<Arc<dyn MasterKey>>> {
    recipients
        .iter()
        .map(|r| {
            AgeKey::from_recipient(r)
                .map(|k| Arc::new(k) as Arc<dyn MasterKey>)
                .map_err(lib_err)
        })
        .collect()
}

fn pgp_keys(fps: &[String]) -> R<Vec<Arc<dyn MasterKey>>> {
    if fps.is_empty() {
        return Ok(Vec::new());
    }
    let mut ring = pgp_keyring()?;
    let mut out: Vec<Arc<dyn MasterKey>> = Vec::new();
    for fp in fps {
        let want = fp.replace(' ', "").to_uppercase();
        let pos = ring.iter().position(|k| k.fingerprint().ends_with(&want)).ok_or_else(|| {
            fail(
                codes::NO_ENCRYPTION_KEY_FOUND,
                format!("PGP key {fp} not found: put its public key in the file AZFLUX_SOPS_PGP_KEY_FILE names (there is no gpg keyring here)"),
            )
        })?;
        out.push(Arc::new(ring.remove(pos)));
    }
    Ok(out)
}

/// The only place the CLI builds Azure Key Vault master keys (from flags, `.sops.yaml` or file entries).
fn azure_keys(refs: &[AzureKeyRef]) -> R<Vec<Arc<dyn MasterKey>>> {
    if refs.is_empty() {
        return Ok(Vec::new());
    }
    let client = kv_client().map_err(|e| fail(codes::NO_ENCRYPTION_KEY_FOUND, e))?;
    refs.iter()
        .map(|r| {
            AzureKeyVaultKey::new(client.clone(), r)
                .map(|k| Arc::new(k) as Arc<dyn MasterKey>)
                .map_err(|e| fail(codes::NO_ENCRYPTION_KEY_FOUND, e.to_string()))
        })
        .collect()
}

/// Key Vault keys for the file's `azure_kv` entries (tried after age and PGP). Entries that cannot be used
/// (no credential, not a Key Vault URL) are left out: the data-key error then lists them.
fn azure_entry_keys(tree: &Tree) -> Vec<Arc<dyn MasterKey>> {
    let Some(meta) = tree
        .documents
        .first()
        .and_then(|d| keyvault_sops::tree::get(d, "sops"))
        .and_then(|b| Metadata::from_value(b).ok())
    else {
        return Vec::new();
    };
    let entries: Vec<_> = meta
        .entries()
        .filter_map(|e| match e {
            KeyEntry::AzureKv(a) => Some(a.clone()),
            _ => None,
        })
        .collect();
    if entries.is_empty() {
        return Vec::new();
    }
    let client = match kv_client() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("warning: the file's azure_kv keys cannot be used: {e}");
            return Vec::new();
        }
    };
    entries
        .iter()
        .filter_map(|e| match AzureKeyVaultKey::from_entry(client.clone(), e) {
            Ok(k) => Some(Arc::new(k) as Arc<dyn MasterKey>),
            Err(err) => {
                eprintln!("warning: {err}");
                None
            }
        })
        .collect()
}

fn group_keys(g: &RuleKeyGroup) -> R<KeyGroupKeys> {
    let mut keys = age_keys(&g.age)?;
    keys.extend(pgp_keys(&g.pgp)?);
    keys.extend(azure_keys(&g.azure_keyvault)?);
    if let Some((kind, id)) = g.other.first() {
        return Err(fail(
            codes::NO_ENCRYPTION_KEY_FOUND,
            format!("{kind} key {id}: this key type is not supported by azflux"),
        ));
    }
    Ok(keys)
}

fn load_config(c: &Common) -> R<Option<(PathBuf, Config)>> {
    let path = match &c.config {
        Some(p) => Some(p.clone()),
        None => std::env::current_dir()
            .ok()
            .and_then(|d| rules::find_config(&d)),
    };
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        fail(
            codes::ERROR_READING_CONFIG,
            format!("error loading config {}: {e}", path.display()),
        )
    })?;
    let cfg = Config::parse(&text).map_err(|e| {
        fail(
            codes::ERROR_READING_CONFIG,
            format!("{}: {e}", path.display()),
        )
    })?;
    if cfg.creation_rules.is_empty() {
        return Ok(None);
    }
    Ok(Some((path, cfg)))
}

fn rule_for<'a>(c: &Common, file: &Path, cfg: &'a (PathBuf, Config)) -> R<&'a rules::CreationRule> {
    let name = c.filename_override.as_deref().unwrap_or(file);
    let abs = std::path::absolute(name).unwrap_or_else(|_| name.to_path_buf());
    let cfg_abs = std::path::absolute(&cfg.0).unwrap_or_else(|_| cfg.0.clone());
    let m = rules::match_path(&cfg_abs, &abs);
    cfg.1.rule_for(&m).map_err(|e| {
        fail(
            codes::ERROR_READING_CONFIG,
            format!("error loading config: {e}"),
        )
    })
}

fn selector(s: &SelectorFlags) -> R<Option<Selector>> {
    let all = [
        s.unencrypted_suffix
            .clone()
            .map(Selector::UnencryptedSuffix),
        s.encrypted_suffix.clone().map(Selector::EncryptedSuffix),
        s.unencrypted_regex.clone().map(Selector::UnencryptedRegex),
        s.encrypted_regex.clone().map(Selector::EncryptedRegex),
        s.unencrypted_comment_regex
            .clone()
            .map(Selector::UnencryptedCommentRegex),
        s.encrypted_comment_regex
            .clone()
            .map(Selector::EncryptedCommentRegex),
    ];
    let set: Vec<Selector> = all.into_iter().flatten().collect();
    if set.len() > 1 {
        return Err(fail(
            codes::ERROR_CONFLICTING_PARAMETERS,
            "Error: cannot use more than one of --unencrypted-suffix, --encrypted-suffix, --unencrypted-regex, --encrypted-regex, --unencrypted-comment-regex, --encrypted-comment-regex",
        ));
    }
    Ok(set.into_iter().next())
}

async fn encrypt(a: EncryptArgs) -> R<()> {
    let file = file_of(&a.common)?;
    let (input, output) = formats(&a.common, file)?;
    let bytes = read(file)?;
    let tree = input.parse_plain(&bytes).map_err(|e| {
        fail(
            codes::COULD_NOT_READ_INPUT_FILE,
            format!("Error unmarshalling file: {e}"),
        )
    })?;
    let mut sel = selector(&a.selectors)?;
    let mut mac_only = a.selectors.mac_only_encrypted;
    let mut threshold = a.selectors.shamir_secret_sharing_threshold;
    let flag_azure: Vec<AzureKeyRef> = split_list(&a.keys.azure_kv)
        .iter()
        .map(|u| AzureKeyRef::parse_url(u))
        .collect::<Result<_, _>>()
        .map_err(lib_err)?;
    let flag_group = RuleKeyGroup {
        age: split_list(&a.keys.age),
        pgp: split_list(&a.keys.pgp),
        azure_keyvault: flag_azure,
        other: Vec::new(),
    };
    let groups: Vec<KeyGroupKeys> = if !flag_group.is_empty() {
        vec![group_keys(&flag_group)?]
    } else {
        match load_config(&a.common)? {
            None => {
                return Err(fail(
                    codes::NO_ENCRYPTION_KEY_FOUND,
                    "Error: no master keys were provided: pass --age/--pgp/--azure-kv or add a .sops.yaml creation rule",
                ));
            }
            Some(cfg) => {
                let rule = rule_for(&a.common, file, &cfg)?;
                if sel.is_none() {
                    sel = rule.selector.clone();
                }
                mac_only |= rule.mac_only_encrypted;
                threshold = threshold.or(rule.shamir_threshold);
                rule.key_groups
                    .iter()
                    .map(group_keys)
                    .collect::<R<Vec<_>>>()?
            }
        }
    };
    if groups.iter().all(|g| g.is_empty()) {
        return Err(fail(
            codes::NO_ENCRYPTION_KEY_FOUND,
            "Error: no master keys were provided",
        ));
    }
    if input == Format::Binary && sel.is_some() {
        return Err(fail(
            codes::ERROR_CONFLICTING_PARAMETERS,
            "Error: selectors do not apply to binary files",
        ));
    }
    let opts = EncryptOptions {
        selector: sel,
        mac_only_encrypted: mac_only,
        shamir_threshold: threshold,
        now: None,
    };
    warn_duplicate_keys(&tree, file);
    let enc = keyvault_sops::encrypt(tree, &groups, &opts)
        .await
        .map_err(|e| match e {
            Error::AlreadyEncrypted | Error::EmptyFile => lib_err(e),
            e => fail(
                codes::ERROR_ENCRYPTING_TREE,
                format!("Error encrypting the data key or values: {e}"),
            ),
        })?;
    let out = output
        .emit_encrypted(&enc)
        .map_err(|e| fail(codes::ERROR_DUMPING_TREE, e.to_string()))?;
    emit(&a.common, file, &out, false)
}

/// sops keeps every entry of a mapping whose key repeats (its stores do not check), and so does this
/// tool; but most readers of the decrypted file keep only one of them, so say which (never the values).
fn warn_duplicate_keys(tree: &Tree, file: &Path) {
    let dups = keyvault_sops::tree::duplicate_keys(tree);
    if dups.is_empty() {
        return;
    }
    const SHOWN: usize = 10;
    let mut list: Vec<String> = dups.iter().take(SHOWN).map(|k| format!("`{k}`")).collect();
    if dups.len() > SHOWN {
        list.push(format!("and {} more", dups.len() - SHOWN));
    }
    eprintln!(
        "warning: {}: duplicate keys {}: every entry is kept, but most readers of the decrypted file keep only one; remove the duplicates",
        file.display(),
        list.join(", ")
    );
}

async fn open(c: &Common, file: &Path, input: Format) -> R<SopsFile> {
    let bytes = read(file)?;
    let tree = input.parse_encrypted(&bytes).map_err(|e| {
        fail(
            codes::COULD_NOT_READ_INPUT_FILE,
            format!("Error unmarshalling file: {e}"),
        )
    })?;
    let mut keys = decryption_keys()?;
    keys.extend(azure_entry_keys(&tree));
    keyvault_sops::decrypt(
        tree,
        &keys,
        &DecryptOptions {
            ignore_mac: c.ignore_mac,
        },
    )
    .await
    .map_err(lib_err)
}

fn lookup<'a>(tree: &'a Tree, path: &[keyvault_sops::PathSegment]) -> Option<&'a Value> {
    use keyvault_sops::{MapItem, PathSegment, SeqItem};
    let doc = tree.documents.first()?;
    let mut items: &[MapItem] = doc;
    let mut cur: Option<&Value> = None;
    for seg in path {
        let next = match (seg, cur) {
            (PathSegment::Key(k), None) => keyvault_sops::tree::get(items, k),
            (PathSegment::Key(k), Some(Value::Map(m))) => keyvault_sops::tree::get(m, k),
            (PathSegment::Index(i), Some(Value::Seq(s))) => s
                .iter()
                .filter_map(|x| {
                    if let SeqItem::Value(v) = x {
                        Some(v)
                    } else {
                        None
                    }
                })
                .nth(*i),
            _ => None,
        }?;
        if let Value::Map(m) = next {
            items = m;
        }
        cur = Some(next);
    }
    cur
}

async fn decrypt(a: DecryptArgs) -> R<()> {
    let file = file_of(&a.common)?;
    let (input, output) = formats(&a.common, file)?;
    let sops = open(&a.common, file, input).await?;
    let out: Vec<u8> = match &a.extract {
        None => output
            .emit_plain(&sops.tree)
            .map_err(|e| fail(codes::ERROR_DUMPING_TREE, e.to_string()))?,
        Some(p) => {
            let path =
                parse_path(p).map_err(|e| fail(codes::INVALID_TREE_PATH_FORMAT, e.to_string()))?;
            let v = lookup(&sops.tree, &path).ok_or_else(|| {
                fail(
                    codes::ERROR_GENERIC,
                    format!("Error walking tree: component {p} not found"),
                )
            })?;
            match v {
                Value::Map(m) => output
                    .emit_plain(&Tree {
                        documents: vec![m.clone()],
                    })
                    .map_err(|e| fail(codes::ERROR_DUMPING_TREE, e.to_string()))?,
                other => keyvault_sops::tree::scalar_bytes(other).unwrap_or_default(),
            }
        }
    };
    emit(&a.common, file, &out, true)
}

fn json_to_value(v: serde_json::Value) -> Value {
    use keyvault_sops::{MapItem, SeqItem};
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or(0.0))),
        serde_json::Value::String(s) => Value::Str(s),
        serde_json::Value::Array(a) => Value::Seq(
            a.into_iter()
                .map(|v| SeqItem::Value(json_to_value(v)))
                .collect(),
        ),
        serde_json::Value::Object(o) => Value::Map(
            o.into_iter()
                .map(|(k, v)| MapItem::Entry(k, json_to_value(v)))
                .collect(),
        ),
    }
}

async fn write_back(c: &Common, file: &Path, input: Format, sops: &SopsFile) -> R<()> {
    let out = sops
        .to_encrypted_bytes(input, None)
        .map_err(|e| fail(codes::ERROR_ENCRYPTING_TREE, e.to_string()))?;
    let c = Common {
        in_place: c.output.is_none(),
        ..c.clone()
    };
    emit(&c, file, &out, false)
}

async fn set(a: SetArgs) -> R<()> {
    let file = file_of(&a.common)?;
    let (input, _) = formats(&a.common, file)?;
    let (Some(path), Some(value)) = (&a.path, &a.value) else {
        return Err(fail(
            codes::ERROR_INVALID_SET_FORMAT,
            "Error: usage: set FILE '[\"key\"]' 'json value'",
        ));
    };
    let path =
        parse_path(path).map_err(|e| fail(codes::INVALID_TREE_PATH_FORMAT, e.to_string()))?;
    let value: serde_json::Value = serde_json::from_str(value).map_err(|_| {
        fail(
            codes::ERROR_INVALID_SET_FORMAT,
            "Error: the value must be JSON (quote strings: '\"text\"')",
        )
    })?;
    let mut sops = open(&a.common, file, input).await?;
    sops.set(&path, json_to_value(value))
        .map_err(|e| fail(codes::INVALID_TREE_PATH_FORMAT, e.to_string()))?;
    write_back(&a.common, file, input, &sops).await
}

/// The plaintext's temporary directory: created 0700 (the file in it 0600) and removed when dropped, so
/// every return, error and unwinding panic path of `edit` takes the plaintext with it. A terminating
/// signal is turned into a return (see `run_editor`), so it is covered too.
struct PlainDir(PathBuf);

impl PlainDir {
    fn create() -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "azflux-sops-edit-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        let mut b = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            b.mode(0o700);
        }
        b.create(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for PlainDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Why the editor did not finish.
enum EditorStop {
    /// A signal reached this process (sops' exit code convention: 128 + the signal number).
    Signal(&'static str, u8),
}

/// Run the editor on `tmp` and wait for it, unless SIGTERM, SIGINT or SIGHUP arrives first: then the editor
/// is stopped and the caller cleans up and exits 128 + signal.
async fn run_editor(
    prog: &str,
    args: Vec<&str>,
    tmp: &Path,
) -> R<Result<std::process::ExitStatus, EditorStop>> {
    let spawn = || {
        tokio::process::Command::new(prog)
            .args(&args)
            .arg(tmp)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                fail(
                    codes::NO_EDITOR_FOUND,
                    format!("Error: cannot run editor `{prog}`: {e}"),
                )
            })
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let sig = |k: SignalKind| {
            signal(k).map_err(|e| {
                fail(
                    codes::ERROR_GENERIC,
                    format!("cannot watch for signals: {e}"),
                )
            })
        };
        let (mut term, mut int, mut hup) = (
            sig(SignalKind::terminate())?,
            sig(SignalKind::interrupt())?,
            sig(SignalKind::hangup())?,
        );
        // the handlers are in place before the editor starts: no window where a signal kills this process
        let mut child = spawn()?;
        let stop = tokio::select! {
            st = child.wait() => {
                return st.map(Ok).map_err(|e| fail(codes::ERROR_GENERIC, format!("waiting for the editor failed: {e}")));
            }
            _ = term.recv() => EditorStop::Signal("SIGTERM", 143),
            _ = int.recv() => EditorStop::Signal("SIGINT", 130),
            _ = hup.recv() => EditorStop::Signal("SIGHUP", 129),
        };
        let _ = child.start_kill();
        let _ = child.wait().await;
        Ok(Err(stop))
    }
    #[cfg(not(unix))]
    {
        spawn()?.wait().await.map(Ok).map_err(|e| {
            fail(
                codes::ERROR_GENERIC,
                format!("waiting for the editor failed: {e}"),
            )
        })
    }
}

async fn edit(a: EditArgs) -> R<()> {
    let file = file_of(&a.common)?;
    let (input, _) = formats(&a.common, file)?;
    let mut sops = open(&a.common, file, input).await?;
    let editor = env("SOPS_EDITOR")
        .or_else(|| env("EDITOR"))
        .ok_or_else(|| {
            fail(
                codes::NO_EDITOR_FOUND,
                "Error: no editor: set SOPS_EDITOR or EDITOR",
            )
        })?;
    let plain = sops
        .to_plain_bytes(input)
        .map_err(|e| fail(codes::ERROR_DUMPING_TREE, e.to_string()))?;
    let dir = PlainDir::create().map_err(|e| {
        fail(
            codes::ERROR_GENERIC,
            format!("cannot create a temporary directory: {e}"),
        )
    })?;
    let tmp = dir.0.join(
        file.file_name()
            .unwrap_or_else(|| std::ffi::OsStr::new("file")),
    );
    write_secret_file(&tmp, &plain).map_err(|e| {
        fail(
            codes::ERROR_GENERIC,
            format!("cannot write the temporary file: {e}"),
        )
    })?;
    let mut parts = editor.split_whitespace();
    let prog = parts
        .next()
        .ok_or_else(|| fail(codes::NO_EDITOR_FOUND, "Error: empty editor"))?;
    let status = match run_editor(prog, parts.collect(), &tmp).await? {
        Ok(st) => st,
        Err(EditorStop::Signal(name, code)) => {
            drop(dir);
            return Err(fail(
                code,
                format!(
                    "interrupted by {name}: the editor was stopped, the temporary plaintext removed, and {} left unchanged",
                    file.display()
                ),
            ));
        }
    };
    if !status.success() {
        return Err(fail(
            codes::ERROR_GENERIC,
            format!("the editor exited with {status}"),
        ));
    }
    let edited = zeroize::Zeroizing::new(read(&tmp)?);
    drop(dir);
    if edited.as_slice() == plain.as_slice() {
        return Err(fail(
            codes::FILE_HAS_NOT_BEEN_MODIFIED,
            "File has not changed, exiting.",
        ));
    }
    let empty = || {
        fail(
            codes::NEED_AT_LEAST_ONE_DOCUMENT,
            format!(
                "{}; {} was left unchanged (to delete every value, delete the file)",
                Error::EmptyFile,
                file.display()
            ),
        )
    };
    // An editor that leaves the file empty must not wipe every secret (sops refuses it too).
    if edited.iter().all(u8::is_ascii_whitespace) {
        return Err(empty());
    }
    let tree = input.parse_plain(&edited).map_err(|e| {
        fail(
            codes::COULD_NOT_READ_INPUT_FILE,
            format!(
                "Could not load the edited file: {e}; {} was left unchanged",
                file.display()
            ),
        )
    })?;
    if tree.documents.is_empty() {
        return Err(empty());
    }
    if tree
        .documents
        .first()
        .and_then(|d| keyvault_sops::tree::get(d, "sops"))
        .is_some()
    {
        return Err(fail(
            codes::ERROR_GENERIC,
            "the edited file must not contain a top-level `sops` key",
        ));
    }
    warn_duplicate_keys(&tree, file);
    sops.tree = tree;
    write_back(&a.common, file, input, &sops).await
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// Master keys for the file's current entries (to wrap a new data key for the same recipients).
fn keys_for_entries(sops: &SopsFile) -> R<Vec<KeyGroupKeys>> {
    let mut groups = Vec::new();
    for g in &sops.metadata.key_groups {
        let mut keys: KeyGroupKeys = Vec::new();
        for e in g {
            match e {
                KeyEntry::Age(a) => keys.extend(age_keys(std::slice::from_ref(&a.recipient))?),
                KeyEntry::Pgp(p) => keys.extend(pgp_keys(std::slice::from_ref(&p.fp))?),
                KeyEntry::AzureKv(k) => keys.extend(azure_keys(&[AzureKeyRef {
                    vault_url: k.vault_url.clone(),
                    name: k.name.clone(),
                    version: k.version.clone(),
                }])?),
                other => {
                    return Err(fail(
                        codes::NO_ENCRYPTION_KEY_FOUND,
                        format!(
                            "{} key {}: not supported by azflux",
                            other.kind(),
                            other.id()
                        ),
                    ));
                }
            }
        }
        groups.push(keys);
    }
    Ok(groups)
}

async fn rotate(a: RotateArgs) -> R<()> {
    let file = file_of(&a.common)?;
    let (input, _) = formats(&a.common, file)?;
    let mut sops = open(&a.common, file, input).await?;
    // remove first, then add, as sops does
    let rm_age = split_list(&a.rm_age);
    let rm_pgp: Vec<String> = split_list(&a.rm_pgp)
        .iter()
        .map(|s| s.to_uppercase())
        .collect();
    let rm_az = split_list(&a.rm_azure_kv);
    for g in sops.metadata.key_groups.iter_mut() {
        g.retain(|e| match e {
            KeyEntry::Age(x) => !rm_age.contains(&x.recipient),
            KeyEntry::Pgp(x) => !rm_pgp.iter().any(|f| x.fp.ends_with(f)),
            KeyEntry::AzureKv(x) => !rm_az.iter().any(|u| {
                u.trim_end_matches('/') == x.key_url()
                    || u.trim_end_matches('/') == format!("{}/keys/{}", x.vault_url, x.name)
            }),
            _ => true,
        });
    }
    let mut groups = keys_for_entries(&sops)?;
    if groups.is_empty() {
        groups.push(Vec::new());
    }
    groups[0].extend(age_keys(&split_list(&a.add_age))?);
    groups[0].extend(pgp_keys(&split_list(&a.add_pgp))?);
    let add_az: Vec<AzureKeyRef> = split_list(&a.add_azure_kv)
        .iter()
        .map(|u| AzureKeyRef::parse_url(u))
        .collect::<Result<_, _>>()
        .map_err(lib_err)?;
    groups[0].extend(azure_keys(&add_az)?);
    sops.rotate(&groups)
        .await
        .map_err(|e| fail(codes::ERROR_ENCRYPTING_TREE, e.to_string()))?;
    let out = sops
        .to_encrypted_bytes(input, None)
        .map_err(|e| fail(codes::ERROR_ENCRYPTING_TREE, e.to_string()))?;
    emit(&a.common, file, &out, false)
}

async fn updatekeys(a: UpdateKeysArgs) -> R<()> {
    let file = file_of(&a.common)?;
    let (input, _) = formats(&a.common, file)?;
    let cfg = load_config(&a.common)?.ok_or_else(|| {
        fail(
            codes::CONFIG_FILE_NOT_FOUND,
            "Error: config file not found (.sops.yaml)",
        )
    })?;
    let rule = rule_for(&a.common, file, &cfg)?;
    let mut sops = open(&a.common, file, input).await?;
    let groups = rule
        .key_groups
        .iter()
        .map(group_keys)
        .collect::<R<Vec<_>>>()?;
    let before: Vec<String> = sops
        .metadata
        .entries()
        .map(|e| format!("{} {}", e.kind(), e.id()))
        .collect();
    let after: Vec<String> = groups
        .iter()
        .flatten()
        .map(|k| format!("{} {}", k.kind(), k.id()))
        .collect();
    if before == after && groups.len() == sops.metadata.key_groups.len() {
        eprintln!("{}: already up to date", file.display());
        return Ok(());
    }
    eprintln!("The following changes will be made to the file's groups:");
    for k in after.iter().filter(|k| !before.contains(k)) {
        eprintln!("+++ {k}");
    }
    for k in before.iter().filter(|k| !after.contains(k)) {
        eprintln!("--- {k}");
    }
    if !a.yes {
        eprint!("Is this okay? (y/n):");
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        if !line.trim().eq_ignore_ascii_case("y") {
            eprintln!("Changes have not been saved");
            return Ok(());
        }
    }
    sops.update_keys(
        &groups,
        a.shamir_secret_sharing_threshold.or(rule.shamir_threshold),
    )
    .await
    .map_err(|e| fail(codes::ERROR_ENCRYPTING_TREE, e.to_string()))?;
    write_back(
        &Common {
            output: None,
            ..a.common.clone()
        },
        file,
        input,
        &sops,
    )
    .await?;
    eprintln!("File {} synced with new keys", file.display());
    Ok(())
}
