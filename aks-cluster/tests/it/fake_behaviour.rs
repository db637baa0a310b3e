//! The fake's own contract: ARM checks (api-version, bearer token), error bodies, operation URLs built
//! from the request's origin, and injectable latency.

use crate::Env;
use aks_cluster::Clusters;
use aks_cluster::wire::{AKS_API_VERSION, MSI_API_VERSION, cluster_body};
use azflux_core::http::{HttpMethod, HttpPipeline, json_request};
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
