//! [`SecretSink`]s: a Kubernetes Secret (through a caller-supplied apply function), a file (atomic, 0600),
//! or any writer such as stdout.

use crate::api::{IssuedToken, SecretSink, TokenKind};
use crate::error::{BoxError, Error, Result};
use crate::secret::{ADDRESS_KEY, KubeSecret, TOKEN_KEY};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use time::format_description::well_known::Rfc3339;

/// Applies (creates or updates) a Secret in the cluster. Implement it with kube-rs, a `kubectl apply -f -`
/// subprocess fed [`secret_yaml`](crate::secret::secret_yaml), or the fake cluster; no Kubernetes client is
/// needed in this crate. Wrap a closure with [`apply_fn`].
#[async_trait::async_trait]
pub trait ApplySecret: Send + Sync + 'static {
    /// Creates or replaces `secret`'s data. Errors must not contain the Secret's values.
    async fn apply(&self, secret: &KubeSecret) -> std::result::Result<(), BoxError>;
}

/// An [`ApplySecret`] made from an async closure taking the Secret by value.
pub struct ApplyFn<F>(F);

/// Wraps `f` (`Fn(KubeSecret) -> impl Future<Output = Result<(), BoxError>>`) as an [`ApplySecret`].
pub fn apply_fn<F, Fut>(f: F) -> ApplyFn<F>
where
    F: Fn(KubeSecret) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<(), BoxError>> + Send + 'static,
{
    ApplyFn(f)
}

#[async_trait::async_trait]
impl<F, Fut> ApplySecret for ApplyFn<F>
where
    F: Fn(KubeSecret) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<(), BoxError>> + Send + 'static,
{
    async fn apply(&self, secret: &KubeSecret) -> std::result::Result<(), BoxError> {
        (self.0)(secret.clone()).await
    }
}

/// Writes the token into a Kubernetes Secret with the keys the notification-controller reads: `token` (the
/// JWT) and `address` (the Event Hub name), the shape the old `eventhub-credentials-sync` applied.
///
/// A SAS token is written the same way (`address` = its resource URI) for other consumers; note that the
/// notification-controller does not take SAS *tokens* (its SAS mode wants the connection string in
/// `address`, see [`ProviderWiring::sas`](crate::ProviderWiring::sas)).
#[derive(Clone)]
pub struct KubernetesSecretSink {
    name: String,
    namespace: String,
    labels: std::collections::BTreeMap<String, String>,
    applier: Arc<dyn ApplySecret>,
}

impl KubernetesSecretSink {
    /// A sink applying Secret `namespace/name` with `applier`.
    pub fn new(
        name: impl Into<String>,
        namespace: impl Into<String>,
        applier: Arc<dyn ApplySecret>,
    ) -> Self {
        Self {
            name: name.into(),
            namespace: namespace.into(),
            labels: Default::default(),
            applier,
        }
    }

    /// Adds a label to the Secret (e.g. `app.kubernetes.io/managed-by`).
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// The Secret this sink writes for `token`.
    pub fn secret_for(&self, token: &IssuedToken) -> KubeSecret {
        let mut secret = KubeSecret::new(&self.name, &self.namespace)
            .with(TOKEN_KEY, token.token.clone())
            .with(ADDRESS_KEY, SecretString::from(token.address.clone()));
        secret.metadata.labels = self.labels.clone();
        secret
    }
}

impl fmt::Debug for KubernetesSecretSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubernetesSecretSink")
            .field("name", &self.name)
            .field("namespace", &self.namespace)
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl SecretSink for KubernetesSecretSink {
    fn describe(&self) -> String {
        format!("secret {}/{}", self.namespace, self.name)
    }

    async fn write(&self, token: &IssuedToken) -> Result<()> {
        let secret = self.secret_for(token);
        self.applier
            .apply(&secret)
            .await
            .map_err(|source| Error::ApplySecret {
                namespace: self.namespace.clone(),
                name: self.name.clone(),
                source,
            })
    }
}

/// What a [`FileSink`] or [`WriterSink`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenFormat {
    /// The token alone, followed by a newline.
    Token,
    /// One JSON object: `{"address","expiresOn" (RFC 3339),"kind" ("sas"|"jwt"),"token"}`, then a newline.
    #[default]
    Json,
}

impl TokenFormat {
    fn render(self, token: &IssuedToken) -> SecretString {
        match self {
            TokenFormat::Token => SecretString::from(format!("{}\n", token.token.expose_secret())),
            TokenFormat::Json => {
                let kind = match token.kind {
                    TokenKind::Sas => "sas",
                    TokenKind::Jwt => "jwt",
                };
                let expires = token
                    .expires_on
                    .format(&Rfc3339)
                    .unwrap_or_else(|_| token.expires_on.to_string());
                let v = serde_json::json!({
                    "address": token.address,
                    "expiresOn": expires,
                    "kind": kind,
                    "token": token.token.expose_secret(),
                });
                SecretString::from(format!("{v}\n"))
            }
        }
    }
}

/// Writes the token to a file atomically (a 0600 temporary file in the same directory, fsync, rename), so a
/// reader never sees a partial token and a failed write leaves the previous file.
#[derive(Debug, Clone)]
pub struct FileSink {
    path: PathBuf,
    format: TokenFormat,
}

impl FileSink {
    /// A sink writing `path` in `format`.
    pub fn new(path: impl Into<PathBuf>, format: TokenFormat) -> Self {
        Self {
            path: path.into(),
            format,
        }
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait::async_trait]
impl SecretSink for FileSink {
    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }

    async fn write(&self, token: &IssuedToken) -> Result<()> {
        let contents = self.format.render(token);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            write_atomically(&path, contents.expose_secret().as_bytes())
        })
        .await
        .map_err(|e| Error::Io {
            action: "writing token file",
            path: self.path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?
    }
}

/// Numbers this process's temporary token files.
static TEMP_FILE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically with mode 0600 (on Unix).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |action: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| Error::Io {
            action,
            path: p,
            source,
        }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path.file_name().ok_or_else(|| Error::InvalidInput {
        what: "token file path",
        why: format!("`{}` does not name a file", path.display()),
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        TEMP_FILE_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    // The name is this process's own; a file already there was left by a crashed process that had
    // the same pid (containers reuse pids), so it is removed rather than failing every write.
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options
            .open(&tmp)
            .map_err(io("creating temporary token file", &tmp))?;
        file.write_all(bytes)
            .map_err(io("writing temporary token file", &tmp))?;
        file.sync_all()
            .map_err(io("syncing temporary token file", &tmp))?;
        std::fs::rename(&tmp, path).map_err(io("replacing token file", path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes each token as one record to a writer (stdout by default). For `cargo xtask eventhub token` and
/// pipelines; the output is secret.
pub struct WriterSink<W> {
    writer: Mutex<W>,
    format: TokenFormat,
    label: String,
}

impl<W: Write + Send + 'static> WriterSink<W> {
    /// A sink writing to `writer`, described as `label` in logs.
    pub fn new(writer: W, format: TokenFormat, label: impl Into<String>) -> Self {
        Self {
            writer: Mutex::new(writer),
            format,
            label: label.into(),
        }
    }

    /// Gives the writer back.
    pub fn into_inner(self) -> W {
        self.writer
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl WriterSink<std::io::Stdout> {
    /// A sink writing to stdout.
    pub fn stdout(format: TokenFormat) -> Self {
        Self::new(std::io::stdout(), format, "stdout")
    }
}

/// The stdout sink.
pub type StdoutSink = WriterSink<std::io::Stdout>;

impl<W> fmt::Debug for WriterSink<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriterSink")
            .field("label", &self.label)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl<W: Write + Send + 'static> SecretSink for WriterSink<W> {
    fn describe(&self) -> String {
        self.label.clone()
    }

    async fn write(&self, token: &IssuedToken) -> Result<()> {
        let contents = self.format.render(token);
        let mut w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        w.write_all(contents.expose_secret().as_bytes())
            .and_then(|()| w.flush())
            .map_err(|source| Error::Io {
                action: "writing token to",
                path: PathBuf::from(&self.label),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_file_left_by_a_crashed_process_with_the_same_pid_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("token");
        let next = TEMP_FILE_COUNTER.load(Ordering::Relaxed);
        for n in next..next + 64 {
            let stale = dir
                .path()
                .join(format!(".token.tmp-{}-{n}", std::process::id()));
            std::fs::write(stale, "stale").unwrap();
        }
        write_atomically(&target, b"fresh").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"fresh");
    }
}
