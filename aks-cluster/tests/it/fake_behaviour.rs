//! The fake's own contract: ARM checks (api-version, bearer token), error bodies, operation URLs built
//! from the request's origin, and injectable latency.

use crate::Env;
use aks_cluster::Clusters;
use aks_cluster::wire::{AKS_API_VERSION, MSI_API_VERSION, cluster_body};
use azflux_core::http::{HttpMethod, HttpPipeline, json_request};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn api_version_and_an_arm_token_are_required() {
    let env = Env::start().await;
    let id = env.spec("flux-e2e").cluster_ref().id();
    let mut url = env.client.arm().url(&id, AKS_API_VERSION).unwrap();
    url.set_query(None);
    let r = env
        .client
        .arm()
        .pipeline()
        .send(&mut json_request::<Value>(HttpMethod::Get, url, None).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json::<Value>("x").unwrap()["error"]["code"],
        "MissingApiVersionParameter"
    );
    let anonymous = HttpPipeline::new(&env.cloud.http_options());
    let url = env.client.arm().url(&id, AKS_API_VERSION).unwrap();
    let r = anonymous
        .send(&mut json_request::<Value>(HttpMethod::Get, url, None).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json::<Value>("x").unwrap()["error"]["code"],
        "AuthenticationFailed"
    );
}

#[tokio::test]
async fn errors_look_like_azures() {
    let env = Env::start().await;
    let arm = env.client.arm();
    let spec = env.spec("flux-e2e");
    let missing = arm
        .post_and_wait(
            &spec.cluster_ref().id(),
            "listClusterUserCredential",
            AKS_API_VERSION,
            None,
            &|_| {},
        )
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFound"));
    assert!(
        missing
            .to_string()
            .contains("Microsoft.ContainerService/managedClusters/flux-e2e")
    );
    // Workload identity without the OIDC issuer is refused by the service too.
    let mut body = cluster_body(&spec);
    body["properties"]["oidcIssuerProfile"]["enabled"] = json!(false);
    let err = arm
        .put_and_wait(&spec.cluster_ref().id(), AKS_API_VERSION, &body, &|_| {})
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    // A PUT while the create runs: OperationNotAllowed.
    let id = spec.cluster_ref().id();
    let url = arm.url(&id, AKS_API_VERSION).unwrap();
    let first = arm
        .pipeline()
        .send(&mut json_request(HttpMethod::Put, url.clone(), Some(&cluster_body(&spec))).unwrap())
        .await
        .unwrap();
    assert_eq!(first.status, 201);
    let op = first.header("azure-asyncoperation").unwrap();
    assert!(op.starts_with(&format!("https://management.azure.com/subscriptions/{}/providers/Microsoft.ContainerService/locations/westeurope/operations/", env.sub())), "{op}");
    assert!(op.ends_with(&format!("?api-version={AKS_API_VERSION}")));
    assert_eq!(first.header("retry-after"), Some("5"));
    assert_eq!(
        first.json::<Value>("x").unwrap()["properties"]["provisioningState"],
        "Creating"
    );
    let second = arm
        .pipeline()
        .send(&mut json_request(HttpMethod::Put, url, Some(&cluster_body(&spec))).unwrap())
        .await
        .unwrap();
    assert_eq!(second.status, 409);
    assert_eq!(
        second.json::<Value>("x").unwrap()["error"]["code"],
        "OperationNotAllowed"
    );
    // A federated credential on an identity that does not exist.
    let fic = format!(
        "{}/federatedIdentityCredentials/source-controller",
        env.identity_id("nobody")
    );
    let err = arm
        .put_and_wait(
            &fic,
            MSI_API_VERSION,
            &json!({"properties": {"issuer": "https://x/", "subject": "s", "audiences": ["a"]}}),
            &|_| {},
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFound"));
}

#[tokio::test]
async fn the_clock_drives_provisioning_states() {
    let env = Env::start().await;
    env.fake.set_lro_duration(Duration::from_secs(120));
    let spec = env.spec("flux-e2e");
    let arm = env.client.arm();
    let url = arm.url(&spec.cluster_ref().id(), AKS_API_VERSION).unwrap();
    arm.pipeline()
        .send(&mut json_request(HttpMethod::Put, url, Some(&cluster_body(&spec))).unwrap())
        .await
        .unwrap();
    let state = || {
        env.fake.clusters()[0]["properties"]["provisioningState"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(state(), "Creating");
    let clock = env.cloud.manual_clock().unwrap();
    clock.advance(Duration::from_secs(119));
    assert_eq!(state(), "Creating");
    clock.advance(Duration::from_secs(1));
    assert_eq!(state(), "Succeeded");
}

#[tokio::test]
async fn simulated_latency_delays_every_reply() {
    let env = Env::start().await;
    env.fake.set_latency(Some(Duration::from_millis(40)));
    let started = std::time::Instant::now();
    assert!(
        env.client
            .get_cluster(&env.spec("none").cluster_ref())
            .await
            .unwrap()
            .is_none()
    );
    assert!(started.elapsed() >= Duration::from_millis(40));
}

/// PUTs `body` as cluster `name` with `headers`; returns (status, body).
async fn raw_put(env: &Env, name: &str, body: &Value, headers: &[(&str, &str)]) -> (u16, Value) {
    let arm = env.client.arm();
    let url = arm
        .url(&env.spec(name).cluster_ref().id(), AKS_API_VERSION)
        .unwrap();
    let mut request = json_request(HttpMethod::Put, url, Some(body)).unwrap();
    for (k, v) in headers {
        request.insert_header(k.to_string(), v.to_string());
    }
    let r = arm.pipeline().send(&mut request).await.unwrap();
    (r.status, r.json::<Value>("x").unwrap_or(Value::Null))
}

#[tokio::test]
async fn cluster_puts_honour_if_match_and_if_none_match_with_the_etag_of_the_last_write() {
    let env = Env::start().await;
    let spec = env.spec("flux-e2e");
    let body = cluster_body(&spec);
    let (status, created) = raw_put(&env, "flux-e2e", &body, &[("if-none-match", "*")]).await;
    assert_eq!(status, 201, "If-None-Match: * on a new cluster creates it");
    let first = created["eTag"].as_str().unwrap().to_owned();
    env.cloud
        .manual_clock()
        .unwrap()
        .advance(Duration::from_secs(60));
    let got = env
        .client
        .arm()
        .get(&spec.cluster_ref().id(), AKS_API_VERSION)
        .await
        .unwrap()
        .unwrap()
        .body;
    assert_eq!(got["eTag"], first.as_str(), "GET shows the eTag");
    let (status, err) = raw_put(&env, "flux-e2e", &body, &[("if-none-match", "*")]).await;
    assert_eq!(status, 412);
    assert_eq!(err["error"]["code"], "PreconditionFailed");
    let (status, err) = raw_put(&env, "flux-e2e", &body, &[("if-match", "\"stale\"")]).await;
    assert_eq!(status, 412);
    assert_eq!(err["error"]["code"], "PreconditionFailed");
    assert!(
        err["error"]["message"].as_str().unwrap().contains("stale"),
        "{err}"
    );
    let (status, updated) = raw_put(&env, "flux-e2e", &body, &[("if-match", &first)]).await;
    assert_eq!(status, 200, "the current eTag is accepted");
    let second = updated["eTag"].as_str().unwrap();
    assert_ne!(second, first, "every write gets a new eTag");
    env.cloud
        .manual_clock()
        .unwrap()
        .advance(Duration::from_secs(60));
    let (status, _) = raw_put(&env, "flux-e2e", &body, &[("if-match", &first)]).await;
    assert_eq!(status, 412, "the old eTag is not");
    let (status, _) = raw_put(&env, "other", &body, &[("if-match", &first)]).await;
    assert_eq!(status, 412, "If-Match on a cluster that does not exist");
    assert!(env.fake.clusters().iter().all(|c| c["name"] != "other"));
}

#[tokio::test]
async fn an_entra_only_cluster_refuses_the_admin_credential_and_hands_users_a_kubelogin_kubeconfig()
{
    let env = Env::start().await;
    let tenant = env.cloud.sandbox().tenant_id.clone();
    let spec = env.spec("entra");
    let mut body = cluster_body(&spec);
    body["properties"]["disableLocalAccounts"] = json!(true);
    body["properties"]["aadProfile"] = json!({
        "managed": true, "enableAzureRBAC": true,
        "adminGroupObjectIDs": ["6f1c1a4e-3b7d-4c1e-9a51-2f0c4a1b7e21"],
    });
    let (status, created) = raw_put(&env, "entra", &body, &[]).await;
    assert_eq!(status, 201);
    // Stored and returned as the RP does: as sent, with the caller's tenant filled in.
    let aad = &created["properties"]["aadProfile"];
    assert_eq!(aad["managed"], true);
    assert_eq!(aad["enableAzureRBAC"], true);
    assert_eq!(
        aad["adminGroupObjectIDs"],
        json!(["6f1c1a4e-3b7d-4c1e-9a51-2f0c4a1b7e21"])
    );
    assert_eq!(aad["tenantID"], tenant.as_str());
    assert_eq!(created["properties"]["disableLocalAccounts"], true);
    env.cloud
        .manual_clock()
        .unwrap()
        .advance(Duration::from_secs(60));
    let arm = env.client.arm();
    let id = spec.cluster_ref().id();
    let err = arm
        .post_and_wait(
            &id,
            "listClusterAdminCredential",
            AKS_API_VERSION,
            None,
            &|_| {},
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some("BadRequest"));
    assert!(
        err.to_string().contains(
            "Getting static credential is not allowed because this cluster is set to disable local accounts."
        ),
        "{err}"
    );
    let kubeconfig = env.client.kubeconfig(&spec.cluster_ref()).await.unwrap();
    // The user entry as the RP writes it (YAML, one item per line).
    let yaml = kubeconfig.yaml.expose_secret().to_owned();
    let user = &yaml[yaml.find("users:").unwrap()..];
    assert!(!user.contains("token:"), "no static token: {user}");
    assert!(user.contains("      command: kubelogin\n"), "{user}");
    assert!(
        user.contains("      - --server-id\n      - 6dae42f8-4368-4678-94ff-3960e28e3630\n"),
        "{user}"
    );
    assert!(
        user.contains(&format!("      - --tenant-id\n      - {tenant}\n")),
        "{user}"
    );

    // A cluster with local accounts still hands out both, with static credentials.
    let plain = env.spec("plain");
    let (status, _) = raw_put(&env, "plain", &cluster_body(&plain), &[]).await;
    assert_eq!(status, 201);
    env.cloud
        .manual_clock()
        .unwrap()
        .advance(Duration::from_secs(60));
    let admin = arm
        .post_and_wait(
            &plain.cluster_ref().id(),
            "listClusterAdminCredential",
            AKS_API_VERSION,
            None,
            &|_| {},
        )
        .await
        .unwrap()
        .body;
    assert_eq!(admin["kubeconfigs"][0]["name"], "clusterAdmin");
    let user = env.client.kubeconfig(&plain.cluster_ref()).await.unwrap();
    assert!(user.yaml.expose_secret().contains("    token: "));
}
