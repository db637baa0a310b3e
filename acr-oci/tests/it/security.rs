//! Hostile or misconfigured registries: foreign token realms, digest mismatches, truncated blobs, oversized
//! manifests and huge declared sizes. Every failure is a clear error and leaves nothing on disk.

use crate::common::{REGISTRY, chart_tgz, entries, env};
use acr_oci::fake::BlobFault;
use acr_oci::wire;
use acr_oci::{AcrAuth, ChartRegistry, Error};
use azflux_core::http::HostRule;
use secrecy::SecretString;

#[tokio::test]
async fn aad_token_is_never_sent_to_a_foreign_realm() {
    let env = env().await;
    let attacker = env
        .cloud
        .server_for(HostRule::Exact("attacker.example.com".into()))
        .await;
    for method in ["GET", "POST"] {
        env.cloud
            .mount(
                &attacker,
                &format!("attacker.{method}"),
                method,
                ".*",
                |_| {
                    wiremock::ResponseTemplate::new(200).set_body_json(
                    serde_json::json!({"refresh_token": "x", "access_token": "x", "token": "x"}),
                )
                },
            )
            .await;
    }
    env.acr
        .set_challenge_realm(Some("https://attacker.example.com/oauth2/token"));
    let client = env.aad_client(REGISTRY);
    let err = client
        .list_tags(&client.chart("charts/demo").unwrap())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::ForeignRealm { .. }), "{text}");
    assert!(text.contains("attacker.example.com"), "{text}");
    assert!(text.contains("AAD token"), "{text}");
    assert_eq!(env.cloud.request_count_prefix("attacker."), 0);
    assert!(
        attacker
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
    // Not even an AAD token was requested for nothing.
    assert_eq!(env.acr.exchanges(), 0);

    // Basic credentials are withheld from a foreign realm too.
    let basic = env.client(
        REGISTRY,
        AcrAuth::Basic {
            username: "admin".into(),
            password: SecretString::from("admin-secret"),
        },
    );
    let err = basic
        .list_tags(&basic.chart("charts/demo").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ForeignRealm { .. }), "{err}");
    assert!(!err.to_string().contains("admin-secret"));
    assert!(
        attacker
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn aad_token_is_not_sent_to_a_registry_outside_the_cloud() {
    let env = env().await;
    // A registry that is not *.azurecr.io whose own realm is on its own host.
    env.cloud.router().add(
        HostRule::Exact("registry.example.com".into()),
        env.acr.address(),
    );
    let client = env.aad_client("registry.example.com");
    let err = client
        .list_tags(&client.chart("charts/demo").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ForeignRealm { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("not a registry host of cloud AzureCloud"),
        "{err}"
    );
    assert_eq!(env.cloud.request_count("acr.exchange"), 0);
    assert_eq!(env.cloud.request_count("acr.token"), 0);

    // A foreign registry naming a real ACR as its realm would collect that ACR's access tokens: refused.
    env.acr
        .set_challenge_realm(Some("https://myacr.azurecr.io/oauth2/token"));
    let client = env.aad_client("registry.example.com");
    let err = client
        .list_tags(&client.chart("charts/demo").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ForeignRealm { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("the registry 'registry.example.com' is not a registry host"),
        "{err}"
    );
    assert_eq!(env.cloud.request_count("acr.exchange"), 0);
    assert_eq!(env.cloud.request_count("acr.token"), 0);
}

#[tokio::test]
async fn plain_http_is_refused_for_non_loopback_registries() {
    let env = env().await;
    let mut options = env.options();
    options.plain_http = true;
    let err = acr_oci::AcrClient::new(REGISTRY, AcrAuth::Anonymous, options).unwrap_err();
    assert!(
        err.to_string()
            .contains("plain HTTP is only allowed for loopback"),
        "{err}"
    );
}

async fn pushed_chart(env: &crate::common::Env, dir: &std::path::Path) -> acr_oci::PushedChart {
    env.aad_client(REGISTRY)
        .push(
            &chart_tgz(dir, "victim", "1.0.0", 4096),
            "oci://myacr.azurecr.io/charts",
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn corrupted_layer_is_a_digest_mismatch_and_leaves_nothing() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let pushed = pushed_chart(&env, dir.path()).await;
    env.acr
        .set_blob_fault(&pushed.layer_digest, Some(BlobFault::Corrupt));
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let err = env
        .aad_client(REGISTRY)
        .pull(&pushed.chart, "1.0.0", &out)
        .await
        .unwrap_err();
    match &err {
        Error::DigestMismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected, &pushed.layer_digest);
            assert_ne!(actual, expected);
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("nothing was written"), "{err}");
    assert!(entries(&out).is_empty(), "{:?}", entries(&out));
}

#[tokio::test]
async fn truncated_layer_is_refused_and_leaves_nothing() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let pushed = pushed_chart(&env, dir.path()).await;
    env.acr
        .set_blob_fault(&pushed.layer_digest, Some(BlobFault::Truncate));
    let out = dir.path().join("out");
    let err = env
        .aad_client(REGISTRY)
        .pull(&pushed.chart, "1.0.0", &out)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SizeLimit { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("the chart layer of charts/victim:1.0.0"),
        "{err}"
    );
    assert!(entries(&out).is_empty(), "{:?}", entries(&out));
}

#[tokio::test]
async fn a_failed_pull_keeps_the_previous_file_intact() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let pushed = pushed_chart(&env, dir.path()).await;
    let client = env.aad_client(REGISTRY);
    let out = dir.path().join("out");
    let good = client.pull(&pushed.chart, "1.0.0", &out).await.unwrap();
    let before = std::fs::read(&good.path).unwrap();
    env.acr
        .set_blob_fault(&pushed.layer_digest, Some(BlobFault::Corrupt));
    client.pull(&pushed.chart, "1.0.0", &out).await.unwrap_err();
    assert_eq!(std::fs::read(&good.path).unwrap(), before);
    assert_eq!(entries(&out), vec!["victim-1.0.0.tgz"]);
}

#[tokio::test]
async fn corrupted_config_is_a_digest_mismatch() {
    let env = env().await;
    let dir = tempfile::tempdir().unwrap();
    let tgz = chart_tgz(dir.path(), "victim", "1.0.0", 0);
    let client = env.aad_client(REGISTRY);
    let pushed = client
        .push(&tgz, "oci://myacr.azurecr.io/charts")
        .await
        .unwrap();
    // The config blob is Chart.yaml as JSON, as the client pushed it.
    let metadata = wire::chart_metadata_from_tgz(&std::fs::read(&tgz).unwrap()).unwrap();
    let config_digest = wire::sha256_digest(&wire::helm_config_json(&metadata));
    env.acr
        .set_blob_fault(&config_digest, Some(BlobFault::Corrupt));
    let out = dir.path().join("out");
    let err = client.pull(&pushed.chart, "1.0.0", &out).await.unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("the config of charts/victim:1.0.0"),
        "{err}"
    );
    assert!(entries(&out).is_empty());
}

#[tokio::test]
async fn oversized_manifests_are_refused_before_reading_them() {
    let env = env().await;
    let huge = vec![b' '; 5 * 1024 * 1024];
    env.acr
        .put_raw_manifest(REGISTRY, "charts/big", "1.0.0", wire::OCI_MANIFEST, huge);
    let client = env.aad_client(REGISTRY);
    let dir = tempfile::tempdir().unwrap();
    let err = client
        .pull(&client.chart("charts/big").unwrap(), "*", dir.path())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SizeLimit { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("the manifest of charts/big:1.0.0") && text.contains("4194304"),
        "{text}"
    );
    assert!(entries(dir.path()).is_empty());
}

#[tokio::test]
async fn huge_declared_sizes_are_refused_before_any_blob_request() {
    let env = env().await;
    let config = br#"{"name":"bomb","version":"1.0.0"}"#.to_vec();
    let config_digest = env.acr.put_blob(REGISTRY, config.clone());
    let fake_layer = "sha256:".to_owned() + &"ab".repeat(32);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": wire::OCI_MANIFEST,
        "config": {"mediaType": wire::HELM_CONFIG, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": wire::HELM_CHART_LAYER, "digest": fake_layer, "size": 1u64 << 40}]
    });
    env.acr.put_raw_manifest(
        REGISTRY,
        "charts/bomb",
        "1.0.0",
        wire::OCI_MANIFEST,
        serde_json::to_vec(&manifest).unwrap(),
    );
    let server = env
        .cloud
        .server_for(HostRule::Suffix(".azurecr.io".into()))
        .await;
    let client = env.aad_client(REGISTRY);
    let dir = tempfile::tempdir().unwrap();
    let err = client
        .pull(&client.chart("charts/bomb").unwrap(), "1.0.0", dir.path())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SizeLimit { .. }), "{err}");
    assert!(err.to_string().contains("1099511627776"), "{err}");
    let blob_requests = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path().contains("/blobs/"))
        .count();
    assert_eq!(blob_requests, 0);
    assert!(entries(dir.path()).is_empty());
}

#[tokio::test]
async fn image_indexes_and_foreign_artifacts_are_not_charts() {
    let env = env().await;
    let config = b"{}".to_vec();
    let config_digest = env.acr.put_blob(REGISTRY, config.clone());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": 2},
        "layers": []
    });
    env.acr.put_raw_manifest(
        REGISTRY,
        "apps/nginx",
        "1.0.0",
        wire::OCI_MANIFEST,
        serde_json::to_vec(&manifest).unwrap(),
    );
    let client = env.aad_client(REGISTRY);
    let err = client
        .pull(
            &client.chart("apps/nginx").unwrap(),
            "1.0.0",
            tempfile::tempdir().unwrap().path(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotAChart { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("application/vnd.oci.image.config.v1+json"),
        "{err}"
    );
}

#[tokio::test]
async fn a_tag_list_link_to_another_port_or_scheme_gets_no_credentials() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    // Same host name, another port: another service, which must not receive the registry credential.
    let registry = MockServer::start().await;
    let other = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", "Basic realm=\"registry\""),
        )
        .mount(&registry)
        .await;
    let next = format!("{}/v2/charts/app/tags/list?last=a", other.uri());
    Mock::given(method("GET"))
        .and(path("/v2/charts/app/tags/list"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", format!("<{next}>; rel=\"next\"").as_str())
                .set_body_json(serde_json::json!({"name": "charts/app", "tags": ["1.0.0"]})),
        )
        .mount(&registry)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"name": "charts/app", "tags": []})),
        )
        .mount(&other)
        .await;
    let addr = registry.address().to_string();
    let options = acr_oci::AcrClientOptions {
        plain_http: true,
        ..Default::default()
    };
    let client = acr_oci::AcrClient::new(
        &addr,
        AcrAuth::Basic {
            username: "user".into(),
            password: SecretString::from("registry-password"),
        },
        options,
    )
    .unwrap();
    let chart = client.chart("charts/app").unwrap();
    let err = client.list_tags(&chart).await.unwrap_err();
    assert!(err.to_string().contains("a Link to another host"), "{err}");
    let leaked = other.received_requests().await.unwrap_or_default();
    assert!(
        leaked.is_empty(),
        "the other port got {} requests",
        leaked.len()
    );
}

/// A loopback registry whose token endpoint answers `token_body`; lists tags twice (the second time
/// from the cached token).
async fn list_twice_with_token(token_body: serde_json::Value) -> acr_oci::Result<Vec<String>> {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let registry = MockServer::start().await;
    let realm = format!("{}/oauth2/token", registry.uri());
    Mock::given(method("GET"))
        .and(path("/v2/"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            format!("Bearer realm=\"{realm}\",service=\"registry\"").as_str(),
        ))
        .mount(&registry)
        .await;
    Mock::given(method("GET"))
        .and(path("/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body))
        .mount(&registry)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/charts/app/tags/list"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"name": "charts/app", "tags": ["1.0.0"]})),
        )
        .mount(&registry)
        .await;
    let options = acr_oci::AcrClientOptions {
        plain_http: true,
        ..Default::default()
    };
    let client = acr_oci::AcrClient::new(
        &registry.address().to_string(),
        AcrAuth::Basic {
            username: "user".into(),
            password: SecretString::from("registry-password"),
        },
        options,
    )
    .unwrap();
    let chart = client.chart("charts/app").unwrap();
    client.list_tags(&chart).await?;
    client.list_tags(&chart).await
}

#[tokio::test]
async fn absurd_token_lifetimes_from_the_server_do_not_panic() {
    use base64::Engine as _;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let jwt = |exp: i64| {
        format!(
            "{}.{}.sig",
            b64(serde_json::json!({"alg": "none"})),
            b64(serde_json::json!({"exp": exp}))
        )
    };
    for body in [
        serde_json::json!({"token": "opaque", "expires_in": i64::MAX as u64}),
        serde_json::json!({"token": "opaque", "expires_in": u64::MAX}),
        serde_json::json!({"token": jwt(i64::MIN)}),
        serde_json::json!({"token": jwt(i64::MAX)}),
    ] {
        let tags = list_twice_with_token(body.clone()).await;
        assert_eq!(tags.unwrap(), vec!["1.0.0".to_string()], "{body}");
    }
}

#[tokio::test]
async fn an_upload_location_on_another_port_gets_no_credentials() {
    use wiremock::matchers::{method, path, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let registry = MockServer::start().await;
    let other = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", "Basic realm=\"registry\""),
        )
        .mount(&registry)
        .await;
    Mock::given(method("HEAD"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&registry)
        .await;
    let location = format!("{}/v2/charts/app/blobs/uploads/u1", other.uri());
    Mock::given(method("POST"))
        .and(path_regex("^/v2/charts/app/blobs/uploads/?$"))
        .respond_with(ResponseTemplate::new(202).insert_header("location", location.as_str()))
        .mount(&registry)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(201))
        .mount(&other)
        .await;
    let options = acr_oci::AcrClientOptions {
        plain_http: true,
        ..Default::default()
    };
    let addr = registry.address().to_string();
    let client = acr_oci::AcrClient::new(
        &addr,
        AcrAuth::Basic {
            username: "user".into(),
            password: SecretString::from("registry-password"),
        },
        options,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = client
        .push(
            &chart_tgz(dir.path(), "app", "1.0.0", 0),
            &format!("oci://{addr}/charts"),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("upload Location on another"),
        "{err}"
    );
    let leaked = other.received_requests().await.unwrap_or_default();
    assert!(leaked.is_empty(), "the other port got {leaked:?}");
}
