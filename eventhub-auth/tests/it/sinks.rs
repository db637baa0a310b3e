//! Sinks: the Kubernetes Secret (through a caller's apply function), the atomic 0600 file, a writer.

use crate::support::FakeCluster;
use azflux_core::clock::{Clock, ManualClock};
use eventhub_auth::secret::{ADDRESS_KEY, TOKEN_KEY};
use eventhub_auth::{
    ApplySecret, BoxError, Error, FileSink, IssuedToken, KubeSecret, KubernetesSecretSink,
    SecretSink, TokenFormat, TokenKind, WriterSink, apply_fn,
};
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

fn jwt(clock: &ManualClock, token: &str) -> IssuedToken {
    IssuedToken {
        token: SecretString::from(token.to_owned()),
        expires_on: clock.now() + Duration::from_secs(3600),
        address: "fluxv2".into(),
        kind: TokenKind::Jwt,
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("eventhub-auth-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn kubernetes_sink_applies_address_and_token() {
    let clock = ManualClock::at_epoch();
    let cluster = FakeCluster::new(clock.clone());
    let sink = cluster
        .sink("webhook-url", "flux-system")
        .with_label("app.kubernetes.io/managed-by", "azflux");
    let token = jwt(&clock, "eyJ.first.sig");
    sink.write(&token).await.unwrap();
    let applied = cluster.history();
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].token, "eyJ.first.sig");
    assert_eq!(applied[0].address, "fluxv2");
    assert_eq!(sink.describe(), "secret flux-system/webhook-url");

    let secret = sink.secret_for(&token);
    assert_eq!(
        secret.metadata.labels["app.kubernetes.io/managed-by"],
        "azflux"
    );
    assert_eq!(
        secret.get(TOKEN_KEY).unwrap().expose_secret(),
        "eyJ.first.sig"
    );
    assert_eq!(secret.get(ADDRESS_KEY).unwrap().expose_secret(), "fluxv2");
}

#[tokio::test]
async fn kubernetes_sink_reports_apply_failures_without_the_token() {
    struct Forbidden;
    #[async_trait::async_trait]
    impl ApplySecret for Forbidden {
        async fn apply(&self, secret: &KubeSecret) -> Result<(), BoxError> {
            Err(format!("secrets \"{}\" is forbidden", secret.metadata.name).into())
        }
    }
    let clock = ManualClock::at_epoch();
    let sink = KubernetesSecretSink::new("webhook-url", "flux-system", Arc::new(Forbidden));
    let err = sink
        .write(&jwt(&clock, "eyJ.secret-token.sig"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ApplySecret { .. }));
    let text = format!("{err} / {:?}", std::error::Error::source(&err));
    assert!(
        text.contains("flux-system/webhook-url") && text.contains("forbidden"),
        "{text}"
    );
    assert!(!text.contains("secret-token"), "{text}");
}

#[tokio::test]
async fn secret_yaml_round_trips() {
    let seen = Arc::new(std::sync::Mutex::new(String::new()));
    let s2 = seen.clone();
    let sink = KubernetesSecretSink::new(
        "webhook-url",
        "flux-system",
        Arc::new(apply_fn(move |secret: KubeSecret| {
            let s2 = s2.clone();
            async move {
                *s2.lock().unwrap() = eventhub_auth::secret_yaml(&secret)
                    .unwrap()
                    .expose_secret()
                    .to_owned();
                Ok::<(), BoxError>(())
            }
        })),
    );
    let clock = ManualClock::at_epoch();
    sink.write(&jwt(&clock, "eyJ: with \"odd\" chars\n"))
        .await
        .unwrap();
    let yaml = seen.lock().unwrap().clone();
    let parsed: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(
        parsed,
        serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "webhook-url", "namespace": "flux-system"},
            "stringData": {"address": "fluxv2", "token": "eyJ: with \"odd\" chars\n"},
        })
    );
}

#[tokio::test]
async fn file_sink_writes_atomically_with_mode_0600() {
    let dir = TempDir::new("file-sink");
    let path = dir.0.join("token.json");
    let clock = ManualClock::at_epoch();
    let sink = FileSink::new(&path, TokenFormat::Json);
    sink.write(&jwt(&clock, "eyJ.one.sig")).await.unwrap();
    sink.write(&jwt(&clock, "eyJ.two.sig")).await.unwrap();

    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v["token"], "eyJ.two.sig");
    assert_eq!(v["address"], "fluxv2");
    assert_eq!(v["kind"], "jwt");
    assert_eq!(v["expiresOn"], "2026-01-01T01:00:00Z");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // no temporary files left behind
    let names: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [std::ffi::OsString::from("token.json")]);

    let raw = FileSink::new(dir.0.join("token"), TokenFormat::Token);
    raw.write(&jwt(&clock, "eyJ.raw.sig")).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.0.join("token")).unwrap(),
        "eyJ.raw.sig\n"
    );
    assert!(raw.describe().starts_with("file "));
}

#[tokio::test]
async fn file_sink_failure_leaves_no_partial_file() {
    let dir = TempDir::new("file-sink-fail");
    let clock = ManualClock::at_epoch();
    let sink = FileSink::new(dir.0.join("missing-dir").join("token"), TokenFormat::Token);
    let err = sink.write(&jwt(&clock, "eyJ.x.sig")).await.unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("missing-dir"), "{err}");
    assert!(std::fs::read_dir(&dir.0).unwrap().next().is_none());
}

#[tokio::test]
async fn writer_sink_writes_one_json_line_per_token() {
    let clock = ManualClock::at_epoch();
    let sink = WriterSink::new(Vec::<u8>::new(), TokenFormat::Json, "buffer");
    sink.write(&jwt(&clock, "eyJ.a.sig")).await.unwrap();
    clock.advance(Duration::from_secs(60));
    let sas = IssuedToken {
        token: SecretString::from("SharedAccessSignature sr=x&sig=y&se=1&skn=z"),
        expires_on: clock.now() + Duration::from_secs(60),
        address: "https://ns.servicebus.windows.net/h".into(),
        kind: TokenKind::Sas,
    };
    sink.write(&sas).await.unwrap();
    let out = String::from_utf8(sink.into_inner()).unwrap();
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["token"], "eyJ.a.sig");
    assert_eq!(lines[1]["kind"], "sas");
    assert_eq!(lines[1]["expiresOn"], "2026-01-01T00:02:00Z");
}
