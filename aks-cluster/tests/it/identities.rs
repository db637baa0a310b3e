//! Identities and federated credentials: idempotence, serialised writes per identity, the fake's 409 for
//! truly concurrent writes, and a workload-identity token exchange end to end.

use crate::Env;
use aks_cluster::contract;
use aks_cluster::wire::MSI_API_VERSION;
use aks_cluster::{
    Clusters, Ensured, FederatedCredentialSpec, FederatedCredentials, Identities, IdentitySpec,
};
use azflux_core::http::{HttpMethod, HttpPipeline, HttpRequest};
use std::time::Duration;

const CONTROLLERS: [&str; 4] = [
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
];

fn identity(env: &Env, name: &str) -> IdentitySpec {
    IdentitySpec::new(env.sub(), "rg-flux", name, "westeurope")
}

#[tokio::test]
async fn identities_are_created_once_and_converge_tags() {
    let env = Env::start().await;
    let mut spec = identity(&env, "flux-controllers");
    contract::ensure_identity_is_idempotent(&env.client, &spec).await;
    assert_eq!(env.cloud.request_count("msi.identity.put"), 1);
    spec.tags.insert("owner".into(), "flux".into());
    let updated = env.client.ensure_identity(&spec).await.unwrap();
    assert!(matches!(updated, Ensured::Updated(ref i) if i.tags["owner"] == "flux"));
    assert_eq!(env.fake.identities().len(), 1);
    assert_eq!(updated.get().tenant_id, env.cloud.sandbox().tenant_id);
    let id = spec.id();
    assert_eq!(
        env.client
            .get_identity(&id)
            .await
            .unwrap()
            .unwrap()
            .client_id,
        updated.get().client_id
    );
    assert!(env.client.delete_identity(&id).await.unwrap());
    assert!(!env.client.delete_identity(&id).await.unwrap());
    assert!(
        env.client
            .ensure_identity(&identity(&env, "x"))
            .await
            .is_err(),
        "names under 3 characters are refused"
    );
}

#[tokio::test]
async fn federated_credential_reruns_create_no_duplicates() {
    let env = Env::start().await;
    let identity = env
        .client
        .ensure_identity(&identity(&env, "flux"))
        .await
        .unwrap()
        .into_inner();
    let issuer = "https://westeurope.oic.prod-aks.azure.com/tenant/issuer-guid/";
    let specs: Vec<_> = CONTROLLERS
        .iter()
        .map(|c| FederatedCredentialSpec::for_flux_controller(&identity.id, issuer, c))
        .collect();
    contract::federated_credentials_are_idempotent(&env.client, &specs).await;
    assert_eq!(env.fake.federated_credentials(&identity.id).len(), 4);
    assert_eq!(
        env.cloud.request_count("msi.fic.put"),
        4,
        "one PUT per credential, none on the re-run"
    );
    assert_eq!(
        env.cloud.request_count("msi.fic.list"),
        2 + 4,
        "one LIST per identity per run, plus the read-backs"
    );
    // Single ensures of existing credentials send GETs only.
    for spec in &specs {
        assert!(matches!(
            env.client.ensure_federated_credential(spec).await.unwrap(),
            Ensured::Unchanged(_)
        ));
    }
    assert_eq!(env.cloud.request_count("msi.fic.put"), 4);
    // A changed subject converges with one PUT.
    let mut changed = specs[0].clone();
    changed.subject = "system:serviceaccount:flux-system:source-controller-v2".into();
    assert!(matches!(
        env.client
            .ensure_federated_credential(&changed)
            .await
            .unwrap(),
        Ensured::Updated(_)
    ));
    // The same issuer and subject under another name already grants the binding.
    let mut renamed = specs[1].clone();
    renamed.name = "kustomize-again".into();
    let done = env
        .client
        .ensure_federated_credentials(&[renamed])
        .await
        .unwrap();
    assert!(matches!(&done[0], Ensured::Unchanged(f) if f.name == "kustomize-controller"));
    assert_eq!(env.fake.federated_credentials(&identity.id).len(), 4);
    assert!(
        env.client
            .delete_federated_credential(&identity.id, "helm-controller")
            .await
            .unwrap()
    );
    assert!(
        !env.client
            .delete_federated_credential(&identity.id, "helm-controller")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn concurrent_ensures_on_one_identity_are_serialised_while_raw_concurrent_writes_get_409() {
    let env = Env::start().await;
    env.fake.set_fic_write_time(Duration::from_millis(300));
    let a = env
        .client
        .ensure_identity(&identity(&env, "flux-a"))
        .await
        .unwrap()
        .into_inner();
    let b = env
        .client
        .ensure_identity(&identity(&env, "flux-b"))
        .await
        .unwrap()
        .into_inner();
    let issuer = "https://westeurope.oic.prod-aks.azure.com/t/i/";
    // Eight concurrent single ensures: four on each identity.
    let tasks: Vec<_> = [&a, &b]
        .into_iter()
        .flat_map(|identity| {
            CONTROLLERS
                .iter()
                .map(move |c| FederatedCredentialSpec::for_flux_controller(&identity.id, issuer, c))
        })
        .map(|spec| {
            let client = env.client.clone();
            tokio::spawn(async move { client.ensure_federated_credential(&spec).await })
        })
        .collect();
    for task in tasks {
        assert!(matches!(task.await.unwrap().unwrap(), Ensured::Created(_)));
    }
    assert_eq!(
        env.fake.fic_conflicts(),
        0,
        "no write overlapped on one identity"
    );
    assert_eq!(env.fake.federated_credentials(&a.id).len(), 4);
    assert_eq!(env.fake.federated_credentials(&b.id).len(), 4);

    // The same writes sent raw and truly concurrently: Azure's 409.
    let raw = |name: &str| {
        let spec = FederatedCredentialSpec::for_service_account(&a.id, issuer, "apps", name);
        let arm = env.client.arm().clone();
        async move {
            arm.put_and_wait(
                &spec.id(),
                MSI_API_VERSION,
                &aks_cluster::wire::fic_body(&spec),
                &|_| {},
            )
            .await
        }
    };
    let (x, y) = tokio::join!(raw("one"), raw("two"));
    let refused: Vec<_> = [x, y].into_iter().filter_map(Result::err).collect();
    assert_eq!(
        refused.len(),
        1,
        "exactly one of two overlapping writes is refused"
    );
    assert_eq!(
        refused[0].code(),
        Some("ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity")
    );
    assert_eq!(env.fake.fic_conflicts(), 1);
}

#[tokio::test]
async fn workload_identity_token_exchange_works_against_created_credentials() {
    let env = Env::start().await;
    let cluster = env
        .client
        .ensure_cluster(&env.spec("flux-e2e"), &|_| {})
        .await
        .unwrap()
        .cluster
        .into_inner();
    let issuer = cluster.oidc_issuer_url.clone().unwrap();
    let identity = env
        .client
        .ensure_identity(&identity(&env, "flux"))
        .await
        .unwrap()
        .into_inner();
    env.client
        .ensure_federated_credentials(&[FederatedCredentialSpec::for_flux_controller(
            &identity.id,
            &issuer,
            "kustomize-controller",
        )])
        .await
        .unwrap();
    let entra = env.cloud.entra();
    let exchange = |controller: &str| {
        let assertion = entra.mint_service_account_token(
            &issuer,
            "flux-system",
            controller,
            Duration::from_secs(3600),
        );
        let pipeline = HttpPipeline::new(&env.cloud.http_options());
        let url = url::Url::parse(&format!(
            "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
            identity.tenant_id
        ))
        .unwrap();
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &identity.client_id)
            .append_pair("scope", "https://vault.azure.net/.default")
            .append_pair(
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            )
            .append_pair("client_assertion", &assertion)
            .finish();
        async move {
            let mut request = HttpRequest::new(url, HttpMethod::Post);
            request.insert_header("content-type", "application/x-www-form-urlencoded");
            request.set_body(form.into_bytes());
            pipeline.send(&mut request).await.unwrap()
        }
    };
    let ok = exchange("kustomize-controller").await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    let token: serde_json::Value = ok.json("token").unwrap();
    let claims = entra
        .verify(
            token["access_token"].as_str().unwrap(),
            "https://vault.azure.net",
        )
        .unwrap();
    assert_eq!(claims.appid, identity.client_id);
    assert_eq!(claims.oid, identity.principal_id);
    // A controller without a federated credential is refused by Entra ID.
    let refused = exchange("helm-controller").await;
    assert_eq!(refused.status, 400);
    assert!(String::from_utf8_lossy(&refused.body).contains("AADSTS70021"));
}
