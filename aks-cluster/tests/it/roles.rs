//! Role assignments: deterministic names, idempotent re-runs, 409 RoleAssignmentExists as success,
//! PrincipalNotFound retried with bounded backoff, AcrPull for the kubelet identity.

use crate::{Env, client};
use aks_cluster::contract;
use aks_cluster::wire::{AUTHORIZATION_API_VERSION, role_assignment_body};
use aks_cluster::{
    Clusters, ClustersClientOptions, Identities, IdentitySpec, Role, RoleAssignmentSpec,
    RoleAssignments,
};
use std::time::Duration;

fn registry(env: &Env) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/rg-flux/providers/Microsoft.ContainerRegistry/registries/fluxacr",
        env.sub()
    )
}

#[tokio::test]
async fn role_assignment_reruns_create_no_duplicates() {
    let env = Env::start().await;
    let identity = env
        .client
        .ensure_identity(&IdentitySpec::new(
            env.sub(),
            "rg-flux",
            "flux",
            "westeurope",
        ))
        .await
        .unwrap()
        .into_inner();
    let vault = format!(
        "/subscriptions/{}/resourceGroups/rg-flux/providers/Microsoft.KeyVault/vaults/fluxkv",
        env.sub()
    );
    let hub = format!(
        "/subscriptions/{}/resourceGroups/rg-flux/providers/Microsoft.EventHub/namespaces/fluxns",
        env.sub()
    );
    for (scope, role) in [
        (registry(&env), Role::AcrPull),
        (vault, Role::KeyVaultCryptoUser),
        (hub, Role::EventHubsDataSender),
    ] {
        let spec = RoleAssignmentSpec::new(scope, &identity.principal_id, role.clone());
        contract::role_assignment_is_idempotent(&env.client, &spec).await;
    }
    let stored = env.fake.role_assignments();
    assert_eq!(stored.len(), 3, "no duplicates");
    for a in &stored {
        assert_eq!(a["properties"]["principalType"], "ServicePrincipal");
        assert_eq!(
            a["properties"]["principalId"],
            identity.principal_id.as_str()
        );
    }
    let guids: Vec<&str> = stored
        .iter()
        .map(|a| {
            a["properties"]["roleDefinitionId"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
        })
        .collect();
    for guid in [
        "7f951dda-4ed3-4680-a7ca-43fe172d538d",
        "12338af0-0e69-4776-bea7-57ae8d297424",
        "2b629674-e913-4c01-ae53-ef4638d8f975",
    ] {
        assert!(guids.contains(&guid), "{guids:?}");
    }
    assert_eq!(
        env.cloud.request_count("authz.roleassignment.put"),
        6,
        "one PUT per ensure"
    );
    let spec = RoleAssignmentSpec::new(registry(&env), &identity.principal_id, Role::AcrPull);
    assert!(env.client.delete_role_assignment(&spec).await.unwrap());
    assert!(!env.client.delete_role_assignment(&spec).await.unwrap());
}

#[tokio::test]
async fn an_assignment_under_another_name_is_success() {
    let env = Env::start().await;
    let identity = env
        .client
        .ensure_identity(&IdentitySpec::new(
            env.sub(),
            "rg-flux",
            "flux",
            "westeurope",
        ))
        .await
        .unwrap()
        .into_inner();
    let spec = RoleAssignmentSpec::new(registry(&env), &identity.principal_id, Role::AcrPull);
    // Someone assigned the same role earlier, under a random name.
    let other = "0b2f5b3c-1111-4222-8333-444455556666";
    let id = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{other}",
        registry(&env)
    );
    env.client
        .arm()
        .put_and_wait(
            &id,
            AUTHORIZATION_API_VERSION,
            &role_assignment_body(&spec).unwrap(),
            &|_| {},
        )
        .await
        .unwrap();
    let done = env.client.ensure_role_assignment(&spec).await.unwrap();
    assert!(done.existed_under_other_name);
    assert_eq!(done.name, other, "the existing assignment is found");
    assert_eq!(env.fake.role_assignments().len(), 1);
    let raw = env
        .client
        .arm()
        .put_and_wait(
            &aks_cluster::wire::role_assignment_id(&spec),
            AUTHORIZATION_API_VERSION,
            &role_assignment_body(&spec).unwrap(),
            &|_| {},
        )
        .await
        .unwrap_err();
    assert_eq!(
        raw.code(),
        Some("RoleAssignmentExists"),
        "the fake answers the 409 Azure sends"
    );
}

#[tokio::test]
async fn principal_not_found_right_after_identity_creation_is_retried() {
    let env = Env::start().await;
    env.fake
        .set_principal_replication_delay(Duration::from_secs(25));
    let identity = env
        .client
        .ensure_identity(&IdentitySpec::new(
            env.sub(),
            "rg-flux",
            "fresh",
            "westeurope",
        ))
        .await
        .unwrap()
        .into_inner();
    let clock = env.cloud.manual_clock().unwrap();
    let before = clock.total_slept();
    let done = env
        .client
        .ensure_role_assignment(&RoleAssignmentSpec::new(
            registry(&env),
            &identity.principal_id,
            Role::AcrPull,
        ))
        .await
        .unwrap();
    assert!(!done.existed_under_other_name);
    // 5 s + 10 s + 20 s of backoff on the clock: the principal became visible after 25 s.
    assert_eq!(clock.total_slept() - before, Duration::from_secs(35));
    assert_eq!(env.cloud.request_count("authz.roleassignment.put"), 4);
}

#[tokio::test]
async fn an_unknown_principal_fails_after_bounded_retries() {
    let env = Env::start().await;
    let client = client(
        &env.cloud,
        ClustersClientOptions {
            principal_not_found_retries: 2,
            ..Default::default()
        },
    );
    let err = client
        .ensure_role_assignment(&RoleAssignmentSpec::new(
            registry(&env),
            "00000000-0000-0000-0000-00000000dead",
            Role::AcrPull,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PrincipalNotFound"));
    assert!(
        err.to_string().contains("does not exist in the directory"),
        "{err}"
    );
    assert_eq!(env.cloud.request_count("authz.roleassignment.put"), 3);
    let bad_scope = client
        .ensure_role_assignment(&RoleAssignmentSpec::new("registries/x", "p", Role::AcrPull))
        .await
        .unwrap_err();
    assert!(
        matches!(bad_scope, aks_cluster::Error::InvalidInput { .. }),
        "{bad_scope:?}"
    );
}

#[tokio::test]
async fn attach_acr_grants_acr_pull_to_the_kubelet_identity() {
    let env = Env::start().await;
    let cluster = env
        .client
        .ensure_cluster(&env.spec("flux-e2e"), &|_| {})
        .await
        .unwrap()
        .cluster
        .into_inner();
    let done = env
        .client
        .attach_acr(&cluster, &registry(&env))
        .await
        .unwrap();
    let kubelet = cluster.kubelet_identity.unwrap();
    assert_eq!(done.principal_id, kubelet.object_id);
    assert!(
        done.role_definition_id
            .ends_with("7f951dda-4ed3-4680-a7ca-43fe172d538d")
    );
    env.client
        .attach_acr(
            &env.client
                .get_cluster(&env.spec("flux-e2e").cluster_ref())
                .await
                .unwrap()
                .unwrap(),
            &registry(&env),
        )
        .await
        .unwrap();
    assert_eq!(env.fake.role_assignments().len(), 1);
}
