//! Entra ID clusters without kubelogin: a kubeconfig whose user runs kubelogin (as AKS hands out when local
//! accounts are disabled) is used with a token azflux requests itself, for the AKS server application.

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use std::sync::{Arc, Mutex};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use xtask::bootstrap::kube::{AKS_SERVER_APP_ID, KubeClient, Kubeconfig, ObjectRef};

/// A credential that answers every scope with a token naming it, and records the scopes asked for.
#[derive(Debug, Default)]
struct Recording {
    scopes: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl TokenCredential for Recording {
    async fn get_token(
        &self,
        scopes: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.scopes.lock().unwrap().push(scopes.join(" "));
        Ok(AccessToken::new(
            format!("entra-token-for-{}", scopes.join(" ")),
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

/// The user `az aks get-credentials` writes for an Entra ID cluster (kubelogin, device code).
fn kubelogin_kubeconfig(server: &str, server_id_args: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: prod\nclusters:\n- name: prod\n  cluster:\n    server: {server}\ncontexts:\n- name: prod\n  context:\n    cluster: prod\n    user: clusterUser_rg_prod\nusers:\n- name: clusterUser_rg_prod\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kubelogin\n      args:\n      - get-token\n      - --environment\n      - AzurePublicCloud\n{server_id_args}      - --client-id\n      - 80faf920-1908-4b52-b5ef-a8e7bedfc67a\n      - --tenant-id\n      - 72f988bf-86f1-41af-91ab-2d7cd011db47\n      - --login\n      - devicecode\n      env: null\n      installHint: install kubelogin\n      provideClusterInfo: false\n"
    )
}

#[tokio::test]
async fn a_kubelogin_kubeconfig_uses_a_token_for_the_aks_server_app_from_azfluxs_credential() {
    let api = MockServer::start().await;
    let scope = format!("{AKS_SERVER_APP_ID}/.default");
    Mock::given(method("GET"))
        .and(path("/api/v1/namespaces/flux-system"))
        .and(header(
            "authorization",
            format!("Bearer entra-token-for-{scope}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"kind": "Namespace", "metadata": {"name": "flux-system"}}),
        ))
        .expect(2)
        .mount(&api)
        .await;
    let text = kubelogin_kubeconfig(
        &api.uri(),
        &format!("      - --server-id\n      - {AKS_SERVER_APP_ID}\n"),
    );
    let kc = Kubeconfig::parse(&text, None).unwrap();
    assert_eq!(kc.entra_scope(), Some(scope.clone()));
    // Without a credential the client says why it cannot authenticate.
    let err = KubeClient::new(&kc).unwrap_err();
    assert!(err.to_string().contains("Entra ID (kubelogin)"), "{err}");
    let credential = Arc::new(Recording::default());
    let kc = kc.with_entra_credential(credential.clone());
    let client = KubeClient::new(&kc).unwrap();
    let ns = ObjectRef::new("v1", "Namespace", None, "flux-system");
    for _ in 0..2 {
        assert!(client.get(&ns).await.unwrap().is_some());
    }
    assert_eq!(*credential.scopes.lock().unwrap(), [scope.clone(), scope]);
    assert!(!format!("{kc:?}").contains("entra-token"));
}

#[test]
fn the_server_id_is_read_from_kubelogins_arguments() {
    let custom = kubelogin_kubeconfig(
        "https://prod.hcp.westeurope.azmk8s.io:443",
        "      - --server-id=api://my-aks-server\n",
    );
    assert_eq!(
        Kubeconfig::parse(&custom, None)
            .unwrap()
            .entra_scope()
            .as_deref(),
        Some("api://my-aks-server/.default")
    );
    let default = kubelogin_kubeconfig("https://prod.hcp.westeurope.azmk8s.io:443", "");
    assert_eq!(
        Kubeconfig::parse(&default, None)
            .unwrap()
            .entra_server_id
            .as_deref(),
        Some(AKS_SERVER_APP_ID)
    );
    let bad = kubelogin_kubeconfig(
        "https://prod.hcp.westeurope.azmk8s.io:443",
        "      - --server-id\n      - \"bad id; rm -rf\"\n",
    );
    let err = Kubeconfig::parse(&bad, None).unwrap_err();
    assert!(err.to_string().contains("not an application id"), "{err}");
}
