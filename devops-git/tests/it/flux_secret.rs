//! The Flux `flux-system` git Secret for each credential kind, rendered with flux-objects.

use devops_git::credentials::FLUX_SYSTEM;
use devops_git::{
    BasicAuth, BearerToken, GitCredentials, KnownHosts, SshAuth, SshKeyAlgorithm, SshKeyPair,
};
use secrecy::{ExposeSecret, SecretString};

fn keys(s: &flux_objects::Secret) -> Vec<&str> {
    s.string_data.keys().map(String::as_str).collect()
}

#[test]
fn basic_bearer_and_ssh_secrets_have_the_flux_keys() {
    let basic = GitCredentials::Basic(BasicAuth::pat(SecretString::from("pat-value-1")));
    let s = basic.flux_secret(FLUX_SYSTEM, FLUX_SYSTEM).unwrap();
    assert_eq!(keys(&s), ["password", "username"]);
    assert_eq!(s.get("username").unwrap().expose_secret(), "git");
    assert_eq!(s.get("password").unwrap().expose_secret(), "pat-value-1");
    assert_eq!(s.metadata.name, "flux-system");
    assert_eq!(s.secret_type, None);
    assert!(!format!("{s:?}").contains("pat-value-1"));

    let bearer = GitCredentials::Bearer(BearerToken::new(SecretString::from("eyJ.token")));
    let s = bearer.flux_secret("git-auth", "flux-system").unwrap();
    assert_eq!(keys(&s), ["bearerToken"]);
    assert_eq!(s.get("bearerToken").unwrap().expose_secret(), "eyJ.token");

    let key = SshKeyPair::generate(SshKeyAlgorithm::Ed25519).unwrap();
    let ssh = GitCredentials::Ssh(
        SshAuth::new(key.clone(), KnownHosts::azure_devops())
            .with_passphrase(SecretString::from("pp")),
    );
    let s = ssh.flux_secret(FLUX_SYSTEM, FLUX_SYSTEM).unwrap();
    assert_eq!(
        keys(&s),
        ["identity", "identity.pub", "known_hosts", "password"]
    );
    assert_eq!(
        s.get("identity.pub").unwrap().expose_secret(),
        &format!("{}\n", key.public_key_line())
    );
    assert!(
        s.get("known_hosts")
            .unwrap()
            .expose_secret()
            .starts_with("ssh.dev.azure.com ssh-rsa ")
    );
    // Same data as GitSecretData.
    let data = ssh.flux_secret_data().unwrap();
    for (k, v) in data.iter() {
        assert_eq!(s.get(k).unwrap().expose_secret(), v.expose_secret(), "{k}");
    }
    let yaml = s.render_export().unwrap();
    assert!(yaml.contains("kind: Secret"), "{yaml}");
    assert!(yaml.contains("stringData:"), "{yaml}");
    // The rendered Secret is exactly what the push guard refuses to commit.
    assert!(devops_git::guard::looks_like_plaintext_secret(
        yaml.as_bytes()
    ));

    assert!(
        GitCredentials::Anonymous
            .flux_secret(FLUX_SYSTEM, FLUX_SYSTEM)
            .is_none()
    );
}
