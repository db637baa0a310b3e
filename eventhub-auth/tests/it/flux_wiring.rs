//! Flux wiring data (Provider `azureeventhub` for SAS, JWT and workload identity) and the in-cluster
//! refresher manifests; YAML output is parsed back and compared with the JSON form.

use eventhub_auth::manifests::{
    WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION, WORKLOAD_IDENTITY_USE_LABEL, Workload,
};
use eventhub_auth::{
    ConnectionString, Error, ProviderAuth, ProviderWiring, RefresherIdentity,
    RefresherManifestOptions, RefresherManifests, WorkloadKind,
};
use flux_objects::Manifest;
use secrecy::ExposeSecret;
use serde_json::json;

const KEY: &str = "d2lyaW5nLXRlc3Qta2V5LTAwMDAwMDAwMDAwMDAwMDAwMDA=";

fn parse_yaml(yaml: &str) -> serde_json::Value {
    serde_saphyr::from_str(yaml).unwrap()
}

#[test]
fn sas_provider_reads_the_connection_string_from_the_secret() {
    let raw = format!(
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey={KEY};EntityPath=fluxv2"
    );
    let wiring = ProviderWiring::sas(
        "eventhub",
        "flux-system",
        "eventhub-sas",
        &ConnectionString::parse(&raw).unwrap(),
    )
    .unwrap();
    assert_eq!(wiring.auth, ProviderAuth::Sas);
    assert_eq!(wiring.secret_keys(), ["address"]);
    let expected = json!({
        "apiVersion": "notification.toolkit.fluxcd.io/v1beta3",
        "kind": "Provider",
        "metadata": {"name": "eventhub", "namespace": "flux-system"},
        "spec": {"type": "azureeventhub", "secretRef": {"name": "eventhub-sas"}},
    });
    assert_eq!(wiring.provider.to_json(), expected);
    assert_eq!(parse_yaml(&wiring.provider_yaml().unwrap()), expected);
    let secret = wiring.secret.clone().unwrap();
    assert_eq!(
        (secret.metadata.name.as_str(), secret.metadata.ns()),
        ("eventhub-sas", "flux-system")
    );
    assert_eq!(secret.string_data.len(), 1);
    assert_eq!(secret.get("address").unwrap().expose_secret(), raw);
    assert!(!wiring.provider_yaml().unwrap().contains(KEY));
}

#[test]
fn sas_provider_needs_a_hub_level_connection_string() {
    let ns_level = ConnectionString::parse(&format!(
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={KEY}"
    ))
    .unwrap();
    let err = ProviderWiring::sas("eventhub", "flux-system", "s", &ns_level).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
    assert!(
        err.to_string().contains("EntityPath") && !err.to_string().contains(KEY),
        "{err}"
    );
}

#[test]
fn jwt_provider_names_hub_and_namespace_and_the_refreshed_secret() {
    let wiring = ProviderWiring::jwt(
        "eventhub",
        "flux-system",
        "webhook-url",
        "fluxv2",
        "ns.servicebus.windows.net",
    )
    .unwrap();
    assert_eq!(wiring.auth, ProviderAuth::Jwt);
    assert!(wiring.secret.is_none());
    assert_eq!(wiring.secret_keys(), ["address", "token"]);
    assert_eq!(
        parse_yaml(&wiring.provider_yaml().unwrap())["spec"],
        json!({"type": "azureeventhub", "address": "fluxv2", "channel": "ns.servicebus.windows.net", "secretRef": {"name": "webhook-url"}})
    );
    assert!(ProviderWiring::jwt("e", "n", "s", "", "ns").is_err());
    assert!(ProviderWiring::jwt("e", "n", "s", "hub", "https://ns/").is_err());
}

#[test]
fn workload_identity_provider_has_no_secret() {
    let wiring = ProviderWiring::workload_identity(
        "eventhub",
        "flux-system",
        "fluxv2",
        "ns",
        Some("eventhub-sender"),
    )
    .unwrap();
    assert_eq!(wiring.auth, ProviderAuth::WorkloadIdentity);
    assert!(wiring.secret.is_none() && wiring.provider.spec.secret_ref.is_none());
    assert!(wiring.secret_keys().is_empty());
    assert_eq!(
        wiring.provider.to_json()["spec"],
        json!({"type": "azureeventhub", "address": "fluxv2", "channel": "ns", "serviceAccountName": "eventhub-sender"})
    );
    let controller_level =
        ProviderWiring::workload_identity("eventhub", "flux-system", "fluxv2", "ns", None).unwrap();
    assert!(
        controller_level.provider.to_json()["spec"]
            .get("serviceAccountName")
            .is_none()
    );
}

fn options(workload: WorkloadKind, identity: RefresherIdentity) -> RefresherManifestOptions {
    RefresherManifestOptions {
        image: "ghcr.io/example/eventhub-refresher:v1".into(),
        args: vec!["refresh".into(), "--secret".into(), "webhook-url".into()],
        workload,
        identity,
        ..RefresherManifestOptions::default()
    }
}

#[test]
fn deployment_with_workload_identity() {
    let m = RefresherManifests::new(&options(
        WorkloadKind::Deployment,
        RefresherIdentity::WorkloadIdentity {
            client_id: "00000000-1111-2222-3333-444444444444".into(),
            tenant_id: None,
        },
    ))
    .unwrap();
    let docs = m.to_json().unwrap();
    let kinds: Vec<_> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["ServiceAccount", "Role", "RoleBinding", "Deployment"]
    );
    assert!(
        docs.iter()
            .all(|d| d["metadata"]["namespace"] == "flux-system"
                && d["metadata"]["name"] == "eventhub-token-refresher")
    );

    let sa = &docs[0];
    assert_eq!(
        sa["metadata"]["annotations"][WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION],
        "00000000-1111-2222-3333-444444444444"
    );
    assert_eq!(
        sa["metadata"]["labels"][WORKLOAD_IDENTITY_USE_LABEL],
        "true"
    );

    // create cannot be limited by name; everything else only on the target Secret
    assert_eq!(
        docs[1]["rules"],
        json!([
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["webhook-url"], "verbs": ["get", "update", "patch"]},
        ])
    );
    assert_eq!(
        docs[2]["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "eventhub-token-refresher"})
    );
    assert_eq!(
        docs[2]["subjects"],
        json!([{"kind": "ServiceAccount", "name": "eventhub-token-refresher", "namespace": "flux-system"}])
    );

    let deploy = &docs[3];
    assert_eq!(deploy["spec"]["replicas"], 1);
    assert_eq!(deploy["spec"]["strategy"]["type"], "Recreate");
    let template = &deploy["spec"]["template"];
    assert_eq!(
        template["metadata"]["labels"][WORKLOAD_IDENTITY_USE_LABEL],
        "true"
    );
    for (k, v) in deploy["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap()
    {
        assert_eq!(
            &template["metadata"]["labels"][k], v,
            "selector label {k} missing on the pod"
        );
    }
    assert_eq!(
        template["spec"]["serviceAccountName"],
        "eventhub-token-refresher"
    );
    assert_eq!(template["spec"]["securityContext"]["runAsNonRoot"], true);
    let container = &template["spec"]["containers"][0];
    assert_eq!(container["image"], "ghcr.io/example/eventhub-refresher:v1");
    assert_eq!(
        container["args"],
        json!(["refresh", "--secret", "webhook-url"])
    );
    assert!(container.get("env").is_none());

    let yaml = m.to_yaml().unwrap();
    let parsed: Vec<serde_json::Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    assert_eq!(parsed, docs);
}

#[test]
fn cronjob_with_client_secret() {
    let m = RefresherManifests::new(&options(
        WorkloadKind::CronJob {
            schedule: "0 * * * *".into(),
        },
        RefresherIdentity::ClientSecret {
            secret_name: "azure-credentials".into(),
        },
    ))
    .unwrap();
    let Workload::CronJob(cron) = &m.workload else {
        panic!("expected a CronJob")
    };
    assert_eq!(cron.api_version, "batch/v1");
    let docs = m.to_json().unwrap();
    let spec = &docs[3]["spec"];
    assert_eq!(spec["schedule"], "0 * * * *");
    assert_eq!(spec["concurrencyPolicy"], "Forbid");
    let pod = &spec["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let env = pod["containers"][0]["env"].as_array().unwrap();
    let names: Vec<_> = env.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"]
    );
    assert!(env.iter().all(
        |e| e["valueFrom"]["secretKeyRef"]["name"] == "azure-credentials"
            && e["valueFrom"]["secretKeyRef"]["key"] == e["name"]
    ));
    assert!(docs[0]["metadata"].get("annotations").is_none());
    let parsed: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&m.to_yaml().unwrap()).unwrap();
    assert_eq!(parsed, docs);
}

#[test]
fn manifest_options_are_validated() {
    let no_image = RefresherManifestOptions::default();
    assert!(matches!(
        RefresherManifests::new(&no_image),
        Err(Error::InvalidInput { .. })
    ));
    let bad_cron = options(
        WorkloadKind::CronJob {
            schedule: "hourly".into(),
        },
        RefresherIdentity::None,
    );
    let err = RefresherManifests::new(&bad_cron).unwrap_err();
    assert!(err.to_string().contains("hourly"), "{err}");
}
