use flux_objects::core::SopsAzureKv;
use flux_objects::*;

#[test]
fn git_secrets_have_no_type() {
    let s = Secret::git_basic_auth("flux-system", "flux-system", "git", "p4t".into(), None);
    assert_eq!(
        s.render_export().unwrap(),
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: flux-system\n  namespace: flux-system\nstringData:\n  password: p4t\n  username: git\n\n"
    );
    let b = Secret::git_bearer_token("ado", "flux-system", "eyJ0".into());
    assert!(
        render(&b)
            .unwrap()
            .ends_with("stringData:\n  bearerToken: eyJ0\n")
    );
}

#[test]
fn ssh_secret_uses_literal_blocks() {
    let s = Secret::git_ssh(
        "flux-system",
        "flux-system",
        "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n".into(),
        "ssh-rsa AAAA\n",
        "ssh.dev.azure.com ssh-rsa AAAA",
        None,
    );
    assert!(render(&s).unwrap().ends_with(
        "stringData:\n  identity: |\n    -----BEGIN PRIVATE KEY-----\n    abc\n    -----END PRIVATE KEY-----\n  identity.pub: |\n    ssh-rsa AAAA\n  known_hosts: ssh.dev.azure.com ssh-rsa AAAA\n"
    ));
}

#[test]
fn docker_registry_secret_matches_flux_layout() {
    let s = Secret::docker_registry(
        "acr",
        "flux-system",
        "myregistry.azurecr.io",
        "user",
        "pass".into(),
    );
    assert_eq!(
        render(&s).unwrap(),
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: acr\n  namespace: flux-system\nstringData:\n  .dockerconfigjson: |-\n    {\n      \"auths\": {\n        \"myregistry.azurecr.io\": {\n          \"username\": \"user\",\n          \"password\": \"pass\",\n          \"auth\": \"dXNlcjpwYXNz\"\n        }\n      }\n    }\ntype: kubernetes.io/dockerconfigjson\n"
    );
}

#[test]
fn sops_azure_and_event_hub_secrets() {
    let s = Secret::sops_azure(
        "sops-azure",
        "flux-system",
        &SopsAzureKv::ClientSecret {
            tenant_id: "t-1".into(),
            client_id: "c-1".into(),
            client_secret: "s3cret".into(),
        },
    );
    assert!(render(&s).unwrap().ends_with("stringData:\n  sops.azure-kv: |\n    clientId: c-1\n    clientSecret: s3cret\n    tenantId: t-1\n"));
    let e = Secret::event_hub("eh", "flux-system", "fluxv2".into(), Some("jwt".into()));
    assert!(
        render(&e)
            .unwrap()
            .ends_with("stringData:\n  address: fluxv2\n  token: jwt\n")
    );
}

#[test]
fn debug_never_shows_secret_values() {
    let s = Secret::helm_basic_auth("h", "flux-system", "user", "hunter2-value".into());
    let creds = SopsAzureKv::ClientSecret {
        tenant_id: "t".into(),
        client_id: "c".into(),
        client_secret: "hunter2-value".into(),
    };
    for dbg in [format!("{s:?}"), format!("{creds:?}")] {
        assert!(!dbg.contains("hunter2-value"), "{dbg}");
    }
}

#[test]
fn workload_identity_patches() {
    let k = KustomizeConfig::flux_system().add_workload_identity(
        &["source-controller"],
        "flux-system",
        "cid",
        "tid",
    );
    assert_eq!(
        k.to_file(),
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
patches:
- patch: |
    apiVersion: v1
    kind: ServiceAccount
    metadata:
      annotations:
        azure.workload.identity/client-id: cid
        azure.workload.identity/tenant-id: tid
      name: source-controller
      namespace: flux-system
  target:
    kind: ServiceAccount
    name: source-controller
- patch: |
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: source-controller
      namespace: flux-system
    spec:
      template:
        metadata:
          labels:
            azure.workload.identity/use: \"true\"
  target:
    kind: Deployment
    name: source-controller
resources:
- gotk-components.yaml
- gotk-sync.yaml
"
    );
    let sa = ServiceAccount::workload_identity(
        "image-reflector-controller",
        "flux-system",
        "cid",
        "tid",
    );
    assert!(
        render(&sa)
            .unwrap()
            .contains("  labels:\n    azure.workload.identity/use: \"true\"\n")
    );
}

#[test]
fn openssh_public_key_is_read_from_the_private_key_header() {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let s = |v: &[u8]| [&(v.len() as u32).to_be_bytes()[..], v].concat();
    let blob = [s(b"ssh-ed25519"), s(&[7u8; 32])].concat();
    let raw = [
        b"openssh-key-v1\0".to_vec(),
        s(b"aes256-ctr"),
        s(b"bcrypt"),
        s(&[1, 2, 3]),
        1u32.to_be_bytes().to_vec(),
        s(&blob),
        s(b"encrypted private part"),
    ]
    .concat();
    let body = b64(&raw);
    let pem = format!(
        "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
        &body[..70],
        &body[70..]
    );
    assert_eq!(
        core::openssh_public_key(&pem).unwrap(),
        format!("ssh-ed25519 {}\n", b64(&blob))
    );
    let pkcs8 =
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n";
    assert!(
        core::openssh_public_key(pkcs8)
            .unwrap_err()
            .to_string()
            .contains("not an OpenSSH private key")
    );
}
