//! The contract suite: behaviours any implementation of this crate's traits must show, written against the
//! traits so that the real client can be checked against the fake (and against real Azure in live tests).
//! Each function panics with a message naming the broken behaviour.
#![allow(clippy::panic)]

use crate::api::{
    Cluster, ClusterSpec, Clusters, FederatedCredentialSpec, FederatedCredentials, Identities,
    IdentitySpec, RoleAssignmentSpec, RoleAssignments,
};
use azflux_core::arm::Ensured;

/// `ensure_cluster` creates the cluster (OIDC issuer and workload identity on), then a second run with the
/// same spec reports it unchanged with the same issuer. Returns the cluster.
pub async fn ensure_cluster_is_idempotent(clusters: &dyn Clusters, spec: &ClusterSpec) -> Cluster {
    let first = match clusters.ensure_cluster(spec, &|_| {}).await {
        Ok(done) => done.cluster,
        Err(e) => panic!("ensure_cluster failed: {e}"),
    };
    let Ensured::Created(created) = first else {
        panic!("the first ensure_cluster must create the cluster: {first:?}")
    };
    assert_eq!(
        created.provisioning_state, "Succeeded",
        "create polled to the end"
    );
    if spec.oidc_issuer {
        assert!(
            created
                .oidc_issuer_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
            "an OIDC issuer URL is reported: {created:?}"
        );
    }
    assert_eq!(created.workload_identity_enabled, spec.workload_identity);
    let second = match clusters.ensure_cluster(spec, &|_| {}).await {
        Ok(done) => done.cluster,
        Err(e) => panic!("re-running ensure_cluster failed: {e}"),
    };
    let Ensured::Unchanged(again) = second else {
        panic!("re-running ensure_cluster with the same spec must change nothing: {second:?}")
    };
    assert_eq!(
        again.oidc_issuer_url, created.oidc_issuer_url,
        "the issuer is stable"
    );
    again
}

/// `ensure_identity` creates then leaves an identity unchanged; its client and principal ids are stable.
pub async fn ensure_identity_is_idempotent(identities: &dyn Identities, spec: &IdentitySpec) {
    let first = match identities.ensure_identity(spec).await {
        Ok(Ensured::Created(i)) => i,
        other => panic!("the first ensure_identity must create: {other:?}"),
    };
    assert!(!first.client_id.is_empty() && !first.principal_id.is_empty());
    match identities.ensure_identity(spec).await {
        Ok(Ensured::Unchanged(i)) => assert_eq!(i, first, "the identity is stable"),
        other => panic!("re-running ensure_identity must change nothing: {other:?}"),
    }
}

/// `ensure_federated_credentials` creates every credential once; a re-run changes nothing; every
/// credential reads back with the issuer byte for byte.
pub async fn federated_credentials_are_idempotent(
    fics: &dyn FederatedCredentials,
    specs: &[FederatedCredentialSpec],
) {
    match fics.ensure_federated_credentials(specs).await {
        Ok(done) => assert!(
            done.iter().all(|e| matches!(e, Ensured::Created(_))),
            "the first run creates every credential: {done:?}"
        ),
        Err(e) => panic!("ensure_federated_credentials failed: {e}"),
    }
    match fics.ensure_federated_credentials(specs).await {
        Ok(done) => assert!(
            done.iter().all(|e| matches!(e, Ensured::Unchanged(_))),
            "a re-run changes nothing: {done:?}"
        ),
        Err(e) => panic!("re-running ensure_federated_credentials failed: {e}"),
    }
    for spec in specs {
        let listed = match fics.list_federated_credentials(&spec.identity_id).await {
            Ok(l) => l,
            Err(e) => panic!("list_federated_credentials failed: {e}"),
        };
        let found = listed.iter().find(|f| f.name == spec.name);
        assert!(
            found.is_some_and(|f| f.issuer == spec.issuer && f.subject == spec.subject),
            "credential {} reads back as written: {listed:?}",
            spec.name
        );
    }
}

/// `ensure_role_assignment` succeeds twice with the same deterministic name.
pub async fn role_assignment_is_idempotent(roles: &dyn RoleAssignments, spec: &RoleAssignmentSpec) {
    let first = match roles.ensure_role_assignment(spec).await {
        Ok(a) => a,
        Err(e) => panic!("ensure_role_assignment failed: {e}"),
    };
    let second = match roles.ensure_role_assignment(spec).await {
        Ok(a) => a,
        Err(e) => panic!("re-running ensure_role_assignment failed: {e}"),
    };
    assert_eq!(
        first.name, second.name,
        "the assignment name is deterministic"
    );
    assert_eq!(first.name, crate::wire::role_assignment_name(spec));
}
