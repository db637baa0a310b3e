//! `cargo xtask eventhub sync|send|manifests` in-process ([`xtask::eventhub_cli::run_captured`]) against the
//! fake cloud with the Event Hubs fake mounted: tokens written by `sync --once` are accepted by the fake,
//! `send` stores a Flux event, `manifests` parses as Kubernetes YAML; errors exit 1 with `✗`.

use azflux_core::fake::FakeCloud;
use eventhub_auth::fake::{FakeEventHubs, Right, Sender};
use eventhub_auth::{
    AccessKeys, EventSink, EventSinkOptions, FluxEvent, IssuedToken, TokenKind, TokenSource,
};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use xtask::eventhub_cli::{Context, Output, run_captured};

const NS: &str = "flux-events";
const HUB: &str = "fluxv2";

struct World {
    cloud: FakeCloud,
    hubs: FakeEventHubs,
    keys: AccessKeys,
}

async fn world() -> World {
    let cloud = FakeCloud::start().await;
    let hubs = FakeEventHubs::mount(&cloud).await;
    hubs.add_namespace("rg-flux", NS);
    hubs.add_hub(NS, HUB).unwrap();
    let keys = hubs
        .add_hub_rule(NS, HUB, "flux-send", &[Right::Send])
        .unwrap();
    World { cloud, hubs, keys }
}

fn ctx(cloud: &FakeCloud, env: &[(&str, String)]) -> Context {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    Context {
        env: Arc::new(move |n| env.get(n).cloned()),
        cloud: cloud.cloud(),
        http: cloud.http_options(),
        client_options: cloud.client_options(),
        clock: cloud.clock(),
        stdout: Arc::new(Mutex::new(Vec::<u8>::new())),
    }
}

fn sas_env(w: &World) -> Vec<(&'static str, String)> {
    vec![(
        "EH_CONNECTION_STRING",
        w.keys.primary_connection_string.expose_secret().to_owned(),
    )]
}

fn aad_env(cloud: &FakeCloud) -> Vec<(&'static str, String)> {
    let sb = cloud.sandbox();
    vec![
        ("AZURE_TENANT_ID", sb.tenant_id.clone()),
        ("AZURE_CLIENT_ID", sb.client_id.clone()),
        (
            "AZURE_CLIENT_SECRET",
            sb.client_secret.expose_secret().to_owned(),
        ),
    ]
}

async fn eventhub(args: &[&str], ctx: &Context) -> Output {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    run_captured(&args, ctx).await
}

fn assert_failed(out: &Output, message: &str) {
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("✗ "), "{out:?}");
    assert!(
        out.stderr.contains(message),
        "{:?} should contain {message:?}",
        out.stderr
    );
}

/// A token read back from what `sync` wrote.
#[derive(Debug)]
struct Written(IssuedToken);

#[async_trait::async_trait]
impl TokenSource for Written {
    fn describe(&self) -> String {
        "written by sync".into()
    }
    async fn token(&self) -> eventhub_auth::Result<IssuedToken> {
        Ok(self.0.clone())
    }
}

/// Sends one event with `token` and returns what the fake stored.
async fn send_with(w: &World, token: &str, kind: TokenKind) -> Sender {
    let issued = IssuedToken {
        token: SecretString::from(token.to_owned()),
        expires_on: w.cloud.clock().now() + std::time::Duration::from_secs(600),
        address: HUB.into(),
        kind,
    };
    let options = EventSinkOptions {
        cloud: w.cloud.cloud(),
        http: w.cloud.http_options(),
        ..Default::default()
    };
    let sink = EventSink::new(NS, HUB, Arc::new(Written(issued)), options).unwrap();
    let before = w.hubs.events(NS, HUB).len();
    let event = FluxEvent::new(
        eventhub_auth::ObjectReference::new("Kustomization", "flux-system", "apps"),
        eventhub_auth::EventSeverity::Info,
        "Probe",
        "with the synced token",
        "test",
        w.cloud.clock().now(),
    );
    sink.send(&event)
        .await
        .expect("the fake accepts the synced token");
    let events = w.hubs.events(NS, HUB);
    assert_eq!(events.len(), before + 1);
    events[before].sender.clone()
}

#[tokio::test]
async fn sync_once_writes_a_sas_token_file_the_service_accepts() {
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token.json");
    let c = ctx(&w.cloud, &sas_env(&w));
    let out = eventhub(
        &[
            "sync",
            "--connection-string-env",
            "EH_CONNECTION_STRING",
            "--once",
            "--sink",
            &format!("file:{}", path.display()),
        ],
        &c,
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains(
            "✔ wrote a token for sas:flux-send@https://flux-events.servicebus.windows.net/fluxv2"
        ),
        "{out:?}"
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(written["kind"], "sas");
    assert_eq!(
        written["address"],
        "https://flux-events.servicebus.windows.net/fluxv2"
    );
    let token = written["token"].as_str().unwrap();
    assert!(token.starts_with("SharedAccessSignature sr=https%3A%2F%2Fflux-events.servicebus.windows.net%2Ffluxv2&sig="), "{token}");
    assert!(!out.stderr.contains(token) && !out.stdout.contains(token));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        send_with(&w, token, TokenKind::Sas).await,
        Sender::Sas {
            rule: "flux-send".into()
        }
    );
}

#[tokio::test]
async fn sync_once_with_entra_id_writes_a_jwt_for_event_hubs() {
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    let c = ctx(&w.cloud, &aad_env(&w.cloud));
    let out = eventhub(
        &[
            "sync",
            "--namespace",
            NS,
            "--hub",
            HUB,
            "--once",
            "--format",
            "token",
            "--sink",
            &format!("file:{}", path.display()),
        ],
        &c,
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    let jwt = std::fs::read_to_string(&path).unwrap();
    let jwt = jwt.trim_end();
    let claims = w
        .cloud
        .entra()
        .verify(jwt, "https://eventhubs.azure.net")
        .expect("a valid Event Hubs token");
    assert_eq!(claims.oid, w.cloud.sandbox().object_id);
    assert!(!out.stderr.contains(jwt));
    assert!(matches!(
        send_with(&w, jwt, TokenKind::Jwt).await,
        Sender::Aad { .. }
    ));
}

#[tokio::test]
async fn sync_once_renders_the_flux_secret_to_stdout_and_to_kubectl() {
    let w = world().await;
    let c = ctx(&w.cloud, &aad_env(&w.cloud));
    let out = eventhub(
        &[
            "sync",
            "--hub",
            HUB,
            "--once",
            "--format",
            "secret",
            "--secret-name",
            "eh-token",
            "--namespace-k8s",
            "monitoring",
        ],
        &c,
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    let docs = flux_objects::yaml::parse_documents(&out.stdout).unwrap();
    assert_eq!(docs.len(), 1, "{}", out.stdout);
    let secret = &docs[0];
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(secret["metadata"]["name"], "eh-token");
    assert_eq!(secret["metadata"]["namespace"], "monitoring");
    assert_eq!(secret["stringData"]["address"], HUB);
    let jwt = secret["stringData"]["token"].as_str().unwrap();
    assert!(
        w.cloud
            .entra()
            .verify(jwt, "https://eventhubs.azure.net")
            .is_ok()
    );
    assert!(!out.stderr.contains(jwt));

    // `--sink kubectl` pipes the same Secret to `$KUBECTL apply -f -`
    let dir = tempfile::tempdir().unwrap();
    let applied = dir.path().join("applied.yaml");
    let script = dir.path().join("kubectl");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" > '{0}.args'\ncat > '{0}'\n",
            applied.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let mut env = aad_env(&w.cloud);
    env.push(("KUBECTL", script.display().to_string()));
    let c = ctx(&w.cloud, &env);
    let out = eventhub(&["sync", "--hub", HUB, "--once", "--sink", "kubectl"], &c).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "");
    let args = std::fs::read_to_string(format!("{}.args", applied.display())).unwrap();
    assert_eq!(args.trim(), "apply -f -");
    let docs =
        flux_objects::yaml::parse_documents(&std::fs::read_to_string(&applied).unwrap()).unwrap();
    assert_eq!(docs[0]["metadata"]["name"], "webhook-url");
    assert_eq!(docs[0]["metadata"]["namespace"], "flux-system");
    assert_eq!(docs[0]["stringData"]["address"], HUB);

    // a failing kubectl is an error naming the Secret
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'forbidden: secrets is forbidden' >&2\nexit 1\n",
    )
    .unwrap();
    let out = eventhub(&["sync", "--hub", HUB, "--once", "--sink", "kubectl"], &c).await;
    assert_failed(&out, "applying Secret `flux-system/webhook-url` failed");
    assert!(out.stderr.contains("secrets is forbidden"), "{out:?}");
}

#[tokio::test]
async fn send_posts_one_flux_event_with_sas_and_with_entra_id() {
    let w = world().await;
    let c = ctx(&w.cloud, &sas_env(&w));
    let out = eventhub(
        &[
            "send",
            "--connection-string-env",
            "EH_CONNECTION_STRING",
            "--message",
            "hello from the CLI",
        ],
        &c,
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains(
            "✔ sent a test event to https://flux-events.servicebus.windows.net/fluxv2/messages"
        ),
        "{out:?}"
    );
    let printed: FluxEvent = serde_json::from_str(out.stdout.trim()).unwrap();
    let stored = w.hubs.events(NS, HUB);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].flux_event().unwrap(), printed);
    assert_eq!(printed.message, "hello from the CLI");
    assert_eq!(printed.reason, "TestEvent");
    assert_eq!(printed.involved_object.kind, "Provider");

    let c = ctx(&w.cloud, &aad_env(&w.cloud));
    let out = eventhub(
        &[
            "send",
            "--namespace",
            NS,
            "--hub",
            HUB,
            "--severity",
            "error",
            "--object",
            "HelmRelease/apps/podinfo",
        ],
        &c,
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    let stored = w.hubs.events(NS, HUB);
    assert_eq!(stored.len(), 2);
    let event = stored[1].flux_event().unwrap();
    assert_eq!(event.involved_object.name, "podinfo");
    assert_eq!(event.severity, eventhub_auth::EventSeverity::Error);
    assert!(matches!(stored[1].sender, Sender::Aad { .. }));
}

#[tokio::test]
async fn send_with_a_wrong_key_fails_with_the_services_reason_and_no_secret() {
    let w = world().await;
    let other = w
        .hubs
        .add_hub_rule(NS, HUB, "other", &[Right::Send])
        .unwrap();
    // the rule name of one rule with the key of another
    let cs = w.keys.primary_connection_string.expose_secret().replace(
        w.keys.primary_key.expose_secret(),
        other.primary_key.expose_secret(),
    );
    let c = ctx(&w.cloud, &[("EH_CONNECTION_STRING", cs)]);
    let out = eventhub(
        &["send", "--connection-string-env", "EH_CONNECTION_STRING"],
        &c,
    )
    .await;
    assert_failed(&out, "Event Hubs refused the SAS token");
    assert!(out.stderr.contains("InvalidSignature"), "{out:?}");
    assert!(!out.stderr.contains(other.primary_key.expose_secret()));
    assert!(!out.stderr.contains("sig="));
    assert!(w.hubs.events(NS, HUB).is_empty());
}

#[tokio::test]
async fn usage_errors_exit_1_with_a_cross() {
    let w = world().await;
    let c = ctx(&w.cloud, &sas_env(&w));
    let out = eventhub(
        &[
            "sync",
            "--connection-string-env",
            "EH_CONNECTION_STRING",
            "--once",
            "--sink",
            "s3:bucket",
        ],
        &c,
    )
    .await;
    assert_failed(
        &out,
        "unknown sink `s3:bucket`; use `file:PATH`, `stdout` or `kubectl`",
    );
    let out = eventhub(
        &["sync", "--connection-string-env", "MISSING", "--once"],
        &c,
    )
    .await;
    assert_failed(
        &out,
        "environment variable `MISSING` (--connection-string-env) is not set or empty",
    );
    let out = eventhub(&["sync", "--once"], &c).await;
    assert_failed(&out, "--hub is required with Entra ID");
    let out = eventhub(&["send", "--hub", HUB], &ctx(&w.cloud, &aad_env(&w.cloud))).await;
    assert_failed(&out, "--namespace is required with Entra ID");
    let out = eventhub(&["frobnicate"], &c).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("unrecognized subcommand 'frobnicate'"),
        "{out:?}"
    );
}

#[tokio::test]
async fn manifests_parse_as_kubernetes_yaml_with_the_expected_kinds() {
    let w = world().await;
    let c = ctx(&w.cloud, &[]);
    let out = eventhub(
        &[
            "manifests",
            "--image",
            "ghcr.io/example/azflux:1.0",
            "--namespace",
            NS,
            "--hub",
            HUB,
            "--client-id",
            "6e3f0b7c-0000-4000-8000-000000000001",
        ],
        &c,
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    let docs = flux_objects::yaml::parse_documents(&out.stdout).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["ServiceAccount", "Role", "RoleBinding", "Deployment"]
    );
    for d in &docs {
        assert_eq!(d["metadata"]["name"], "eventhub-token-refresher");
        assert_eq!(d["metadata"]["namespace"], "flux-system");
    }
    assert_eq!(
        docs[0]["metadata"]["annotations"]["azure.workload.identity/client-id"],
        "6e3f0b7c-0000-4000-8000-000000000001"
    );
    let pod = &docs[3]["spec"]["template"];
    assert_eq!(
        pod["metadata"]["labels"]["azure.workload.identity/use"],
        "true"
    );
    let container = &pod["spec"]["containers"][0];
    assert_eq!(container["image"], "ghcr.io/example/azflux:1.0");
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        args,
        [
            "eventhub",
            "sync",
            "--namespace",
            NS,
            "--hub",
            HUB,
            "--secret-name",
            "webhook-url",
            "--namespace-k8s",
            "flux-system",
            "--sink",
            "kubectl"
        ]
    );
    assert_eq!(docs[1]["rules"][1]["resourceNames"][0], "webhook-url");

    let out = eventhub(
        &[
            "manifests",
            "--image",
            "img:1",
            "--namespace",
            NS,
            "--hub",
            HUB,
            "--schedule",
            "0 * * * *",
            "--credentials-secret",
            "azure-credentials",
            "--namespace-k8s",
            "monitoring",
        ],
        &c,
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    let docs = flux_objects::yaml::parse_documents(&out.stdout).unwrap();
    let cron = &docs[3];
    assert_eq!(
        (cron["apiVersion"].as_str(), cron["kind"].as_str()),
        (Some("batch/v1"), Some("CronJob"))
    );
    assert_eq!(cron["metadata"]["namespace"], "monitoring");
    let container = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["args"].as_array().unwrap().last().unwrap(),
        "--once"
    );
    assert_eq!(
        container["env"][1]["valueFrom"]["secretKeyRef"]["name"],
        "azure-credentials"
    );

    let out = eventhub(
        &[
            "manifests",
            "--image",
            "img:1",
            "--namespace",
            NS,
            "--hub",
            HUB,
            "--schedule",
            "hourly",
        ],
        &c,
    )
    .await;
    assert_failed(&out, "`hourly` is not a five-field cron expression");
}
