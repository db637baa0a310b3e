//! The real client against the fake ACR: the AAD → refresh → access token flow, caching, charts, ranges.

use crate::common::{REGISTRY, chart_tgz, entries, env};
use acr_oci::wire::{self, LEGACY_CHART_LAYER};
use acr_oci::{AcrAuth, ChartRef, ChartRegistry, Error};
use azflux_core::fake::faults::{Fault, FaultMatch};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

#[tokio::test]
async fn aad_exchange_then_push_and_pull_by_range_is_byte_identical() {
    let env = env().await;
    let client = env.aad_client(REGISTRY);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    for v in ["1.2.0", "1.2.7", "1.3.0"] {
        let tgz = chart_tgz(&src, "demo", v, 0);
        let pushed = client
            .push(&tgz, "oci://myacr.azurecr.io/charts")
            .await
            .unwrap();
        assert_eq!(pushed.chart.repository, "charts/demo");
        assert_eq!(pushed.tag, v);
    }
    let out = dir.path().join("out");
    let pulled = acr_oci::contract::push_then_pull_by_range(
        &client,
        &chart_tgz(&src, "demo", "1.2.9", 0),
        "oci://myacr.azurecr.io/charts",
        "~1.2",
        &out,
    )
    .await
    .unwrap();
    assert_eq!(pulled, out.join("demo-1.2.9.tgz"));
    assert_eq!(entries(&out), vec!["demo-1.2.9.tgz"]);
    // One exchange for the whole session; the AAD token went to the registry host only.
    assert_eq!(env.acr.exchanges(), 1);
    assert_eq!(env.cloud.request_count("acr.exchange"), 1);
    let chart = ChartRef::parse("oci://myacr.azurecr.io/charts/demo").unwrap();
    acr_oci::contract::unmatched_range_is_a_clear_error(&client, &chart)
        .await
        .unwrap();
}

#[tokio::test]
async fn pulled_chart_reports_helm_media_types_config_and_digests() {
    let env = env().await;
    let client = env.aad_client(REGISTRY);
    let dir = tempfile::tempdir().unwrap();
    let tgz = chart_tgz(dir.path(), "podinfo", "6.5.0", 1000);
    let pushed = client
        .push(&tgz, "oci://myacr.azurecr.io/charts")
        .await
        .unwrap();
    let pulled = client
        .pull(&pushed.chart, ">6.0.0", &dir.path().join("out"))
        .await
        .unwrap();
    assert_eq!(pulled.version, "6.5.0");
    assert_eq!(pulled.layer_media_type, wire::HELM_CHART_LAYER);
    assert_eq!(
        pulled.layer_digest,
        wire::sha256_digest(&std::fs::read(&tgz).unwrap())
    );
    assert_eq!(pulled.manifest_digest, pushed.manifest_digest);
    assert_eq!(pulled.config["name"], "podinfo");
    assert_eq!(pulled.config["appVersion"], "1.16.0");
    assert_eq!(pulled.size, std::fs::metadata(&tgz).unwrap().len());
}

#[tokio::test]
async fn access_tokens_are_cached_per_scope_until_shortly_before_exp() {
    let env = env().await;
    let clock = env.cloud.manual_clock().unwrap();
    // azure_identity keeps its own token cache on the real clock; a credential minting on the cloud's clock
    // keeps the AAD side honest when the test jumps hours ahead.
    let client = env.client(
        REGISTRY,
        AcrAuth::aad(std::sync::Arc::new(crate::common::ClockCredential(
            env.cloud.clone(),
        ))),
    );
    let dir = tempfile::tempdir().unwrap();
    let tgz = chart_tgz(dir.path(), "demo", "1.0.0", 0);
    let pushed = client
        .push(&tgz, "oci://myacr.azurecr.io/charts")
        .await
        .unwrap();
    let issued_after_push = env.acr.tokens_issued().len();
    assert_eq!(issued_after_push, 1, "{:?}", env.acr.tokens_issued());
    for _ in 0..3 {
        client.list_tags(&pushed.chart).await.unwrap();
    }
    // One more token, for the pull scope, reused by every call.
    assert_eq!(env.acr.tokens_issued().len(), 2);
    assert_eq!(env.acr.tokens_issued()[1].1, "repository:charts/demo:pull");
    // 75-minute access tokens, 60 s margin: at 74 min a new one is fetched, without a new exchange.
    clock.advance(Duration::from_secs(74 * 60 + 1));
    client.list_tags(&pushed.chart).await.unwrap();
    assert_eq!(env.acr.tokens_issued().len(), 3);
    assert_eq!(env.acr.exchanges(), 1);
    // The 3-hour refresh token is renewed by exchanging a fresh AAD token.
    clock.advance(Duration::from_secs(3 * 3600));
    client.list_tags(&pushed.chart).await.unwrap();
    assert_eq!(env.acr.exchanges(), 2);
}

#[tokio::test]
async fn ranges_resolve_across_tag_pages_with_helm_semantics() {
    let env = env().await;
    env.acr.set_tag_page_size(Some(2));
    let client = env.aad_client(REGISTRY);
    let dir = tempfile::tempdir().unwrap();
    for v in [
        "1.2.0",
        "1.2.9",
        "1.3.0",
        "6.0.0",
        "6.5.1",
        "7.0.0-rc.1",
        "1.2.10-beta.1",
    ] {
        client
            .push(
                &chart_tgz(dir.path(), "app", v, 0),
                "oci://myacr.azurecr.io/charts",
            )
            .await
            .unwrap();
    }
    let chart = client.chart("charts/app").unwrap();
    let tags = client.list_tags(&chart).await.unwrap();
    assert_eq!(tags.len(), 7, "{tags:?}");
    // 7 tags at 2 per page: 4 requests.
    assert!(env.cloud.request_count("acr.v2.get") >= 4);
    let resolve = |c: &'static str| {
        let client = client.clone();
        let chart = chart.clone();
        async move {
            client
                .resolve_version(&chart, c)
                .await
                .map(|v| v.to_string())
        }
    };
    assert_eq!(resolve("~1.2").await.unwrap(), "1.2.9");
    assert_eq!(resolve(">6.0.0").await.unwrap(), "6.5.1");
    assert_eq!(resolve("*").await.unwrap(), "6.5.1");
    assert_eq!(resolve(">=7.0.0-0").await.unwrap(), "7.0.0-rc.1");
    assert_eq!(resolve("1.2.x || ^1.3").await.unwrap(), "1.3.0");
    match resolve("^2").await {
        Err(e @ Error::NoMatchingVersion { .. }) => {
            let text = e.to_string();
            assert!(text.contains("'^2'") && text.contains("6.5.1"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        resolve(">=").await,
        Err(Error::InvalidConstraint(_))
    ));
}

#[tokio::test]
async fn legacy_tar_gzip_layers_are_pulled() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let tgz = std::fs::read(chart_tgz(dir.path(), "old", "0.1.0", 0)).unwrap();
    let config = br#"{"name":"old","version":"0.1.0","apiVersion":"v1"}"#.to_vec();
    let config_digest = env.acr.put_blob(REGISTRY, config.clone());
    let layer_digest = env.acr.put_blob(REGISTRY, tgz.clone());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "config": {"mediaType": wire::HELM_CONFIG, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": LEGACY_CHART_LAYER, "digest": layer_digest, "size": tgz.len()}]
    });
    env.acr.put_raw_manifest(
        REGISTRY,
        "charts/old",
        "0.1.0",
        wire::OCI_MANIFEST,
        serde_json::to_vec(&manifest).unwrap(),
    );
    let client = env.aad_client(REGISTRY);
    let pulled = client
        .pull(
            &client.chart("charts/old").unwrap(),
            "*",
            &dir.path().join("out"),
        )
        .await
        .unwrap();
    assert_eq!(pulled.layer_media_type, LEGACY_CHART_LAYER);
    assert_eq!(std::fs::read(&pulled.path).unwrap(), tgz);
}

#[tokio::test]
async fn repository_scoped_token_reaches_only_its_repository() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let admin = env.client(
        REGISTRY,
        AcrAuth::Basic {
            username: "myacr".into(),
            password: SecretString::from("admin-pass"),
        },
    );
    env.acr.add_basic_credential(
        "myacr",
        SecretString::from("admin-pass"),
        None,
        &["pull", "push", "delete"],
    );
    env.acr.add_basic_credential(
        "flux-reader",
        SecretString::from("token-pass"),
        Some(vec!["charts/one".into()]),
        &["pull"],
    );
    for name in ["one", "two"] {
        admin
            .push(
                &chart_tgz(dir.path(), name, "1.0.0", 0),
                "oci://myacr.azurecr.io/charts",
            )
            .await
            .unwrap();
    }
    let reader = env.client(
        REGISTRY,
        AcrAuth::RepositoryToken {
            name: "flux-reader".into(),
            password: SecretString::from("token-pass"),
        },
    );
    reader
        .pull(
            &reader.chart("charts/one").unwrap(),
            "1.0.0",
            &dir.path().join("out"),
        )
        .await
        .unwrap();
    let err = reader
        .list_tags(&reader.chart("charts/two").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    let err = reader
        .push(
            &chart_tgz(dir.path(), "one", "2.0.0", 0),
            "oci://myacr.azurecr.io/charts",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    assert!(!format!("{reader:?}").contains("token-pass"));
    // A wrong password is a clear refusal, not a hang or a panic.
    let wrong = env.client(
        REGISTRY,
        AcrAuth::Basic {
            username: "myacr".into(),
            password: SecretString::from("nope"),
        },
    );
    let err = wrong
        .list_tags(&wrong.chart("charts/one").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("myacr.azurecr.io"), "{err}");
}

#[tokio::test]
async fn anonymous_pull_when_enabled_and_push_refused() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let writer = env.aad_client(REGISTRY);
    writer
        .push(
            &chart_tgz(dir.path(), "pub", "1.0.0", 0),
            "oci://myacr.azurecr.io/charts",
        )
        .await
        .unwrap();
    let anon = env.client(REGISTRY, AcrAuth::Anonymous);
    let chart = anon.chart("charts/pub").unwrap();
    assert!(matches!(
        anon.list_tags(&chart).await,
        Err(Error::Unauthorized { .. })
    ));
    env.acr.set_anonymous_pull(true);
    let anon = env.client(REGISTRY, AcrAuth::Anonymous);
    anon.pull(&chart, "*", &dir.path().join("out"))
        .await
        .unwrap();
    let err = anon
        .push(
            &chart_tgz(dir.path(), "pub", "1.0.1", 0),
            "oci://myacr.azurecr.io/charts",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
}

#[tokio::test]
async fn throttled_blob_downloads_are_retried_after_retry_after() {
    let env = env().await;
    let client = env.aad_client(REGISTRY);
    let dir = tempfile::tempdir().unwrap();
    let pushed = client
        .push(
            &chart_tgz(dir.path(), "busy", "1.0.0", 0),
            "oci://myacr.azurecr.io/charts",
        )
        .await
        .unwrap();
    env.cloud.faults().inject(
        FaultMatch::path("/blobs/sha256:").method("GET"),
        Fault::throttle(7),
        2,
    );
    let before = env.cloud.manual_clock().unwrap().total_slept();
    let pulled = client
        .pull(&pushed.chart, "1.0.0", &dir.path().join("out"))
        .await
        .unwrap();
    assert_eq!(pulled.version, "1.0.0");
    assert_eq!(env.cloud.faults().fired().len(), 2);
    let slept = env.cloud.manual_clock().unwrap().total_slept() - before;
    assert_eq!(
        slept,
        Duration::from_secs(14),
        "Retry-After is honoured exactly"
    );
}

#[tokio::test]
async fn refresh_token_feeds_a_docker_registry_secret() {
    let env = env().await;
    let client = env.aad_client(REGISTRY);
    let token = client.refresh_token().await.unwrap();
    assert_eq!(token.expose_secret().split('.').count(), 3);
    assert_eq!(env.acr.exchanges(), 1);
    // The same refresh token is reused while valid.
    let again = client.refresh_token().await.unwrap();
    assert_eq!(again.expose_secret(), token.expose_secret());
    assert_eq!(env.acr.exchanges(), 1);
    let secret = acr_oci::flux::refresh_token_secret("acr-auth", "flux-system", REGISTRY, &token);
    assert!(!format!("{secret:?}").contains(token.expose_secret()));
    let yaml = secret.render_export().unwrap();
    assert!(
        yaml.contains("type: kubernetes.io/dockerconfigjson"),
        "{yaml}"
    );
    assert!(yaml.contains(acr_oci::wire::NULL_GUID_USER), "{yaml}");
}

#[tokio::test]
async fn the_exchange_refuses_aad_tokens_for_other_audiences() {
    let env = env().await;
    let sandbox = env.cloud.sandbox();
    let vault_token = env.cloud.entra().mint(
        &sandbox.tenant_id,
        &sandbox.client_id,
        &sandbox.object_id,
        "https://vault.azure.net",
    );
    let credential = std::sync::Arc::new(azflux_core::credential::StaticTokenCredential::new(
        azure_core::credentials::AccessToken::new(
            vault_token,
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ),
    ));
    let client = env.client(REGISTRY, AcrAuth::aad(credential));
    let err = client
        .list_tags(&client.chart("charts/x").unwrap())
        .await
        .unwrap_err();
    match &err {
        Error::Unauthorized { scope, .. } => assert_eq!(scope, "AAD token exchange"),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn contract_suite_against_the_fake() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    acr_oci::contract::run_all(
        &env.aad_client(REGISTRY),
        "oci://myacr.azurecr.io/contract",
        dir.path(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn the_scheme_is_learned_from_a_repository_challenge() {
    let env = env().await;
    env.acr.set_open_base(true);
    let client = env.aad_client(REGISTRY);
    let dir = tempfile::tempdir().unwrap();
    client
        .push(
            &chart_tgz(dir.path(), "late", "1.0.0", 0),
            "oci://myacr.azurecr.io/charts",
        )
        .await
        .unwrap();
    assert_eq!(
        client
            .list_tags(&client.chart("charts/late").unwrap())
            .await
            .unwrap(),
        vec!["1.0.0"]
    );
    assert_eq!(env.acr.exchanges(), 1);
}

#[tokio::test]
async fn dropped_connections_and_5xx_are_retried_by_the_pipeline() {
    let env = env().await;
    let client = env.aad_client(REGISTRY);
    let dir = tempfile::tempdir().unwrap();
    let pushed = client
        .push(
            &chart_tgz(dir.path(), "flaky", "1.0.0", 0),
            "oci://myacr.azurecr.io/charts",
        )
        .await
        .unwrap();
    env.cloud.faults().inject(
        FaultMatch::path("/blobs/sha256:").method("GET"),
        Fault::Drop,
        1,
    );
    env.cloud.faults().inject(
        FaultMatch::path("/manifests/").method("GET"),
        Fault::server_error(503),
        1,
    );
    env.cloud.faults().inject(
        FaultMatch::path("/oauth2/token").method("POST"),
        Fault::throttle(1),
        1,
    );
    let fresh = env.aad_client(REGISTRY);
    let pulled = fresh
        .pull(&pushed.chart, "1.0.0", &dir.path().join("out"))
        .await
        .unwrap();
    assert_eq!(pulled.layer_digest, pushed.layer_digest);
    assert_eq!(env.cloud.faults().fired().len(), 3);
}
