//! Key generation, key files, known_hosts, credential Debug output and the Flux Secret data.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use devops_git::ssh::{AZURE_DEVOPS_HOST_KEY_SHA256, write_secret_file};
use devops_git::{
    AZURE_DEVOPS_KNOWN_HOSTS, BasicAuth, BearerToken, GitCredentials, KnownHosts, SshAuth,
    SshKeyAlgorithm, SshKeyPair,
};
use secrecy::{ExposeSecret, SecretString};

use crate::support::rsa4096;

/// `ssh-keygen -y` (OpenSSH, an independent implementation) derives the public key from the
/// private key file we wrote; it must equal our authorized-keys line.
fn ssh_keygen_public(key: &SshKeyPair, file_name: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file_name);
    key.write_private_key(&path).unwrap();
    let out = Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ssh-keygen -y: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn rsa_4096_is_pkcs8_and_matches_openssh() {
    let key = rsa4096();
    let pem = key.private_key_pem().expose_secret();
    assert!(
        pem.starts_with("-----BEGIN PRIVATE KEY-----\n"),
        "PKCS#8 armour"
    );
    assert!(pem.ends_with("-----END PRIVATE KEY-----\n"));
    assert!(key.public_key_line().starts_with("ssh-rsa AAAAB3NzaC1yc2E"));
    assert_eq!(ssh_keygen_public(key, "id_rsa"), key.public_key_line());
    // 4096-bit modulus: ssh-keygen -l reports the size
    let dir = tempfile::tempdir().unwrap();
    let pubfile = dir.path().join("id.pub");
    key.write_public_key(&pubfile).unwrap();
    let out = Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(&pubfile)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.starts_with("4096 "), "{listing}");
    assert!(
        listing.contains(&key.fingerprint()),
        "{listing} vs {}",
        key.fingerprint()
    );
    assert!(listing.contains("(RSA)"), "{listing}");
}

#[test]
fn ecdsa_keys_match_openssh() {
    for (alg, prefix) in [
        (SshKeyAlgorithm::EcdsaP256, "ecdsa-sha2-nistp256 "),
        (SshKeyAlgorithm::EcdsaP384, "ecdsa-sha2-nistp384 "),
    ] {
        let key = SshKeyPair::generate(alg).unwrap();
        assert!(key.public_key_line().starts_with(prefix), "{alg}");
        assert!(
            key.private_key_pem()
                .expose_secret()
                .starts_with("-----BEGIN PRIVATE KEY-----\n"),
            "{alg}"
        );
        assert_eq!(
            ssh_keygen_public(&key, "id"),
            key.public_key_line(),
            "{alg}"
        );
    }
}

/// OpenSSH 9.2 cannot read PKCS#8 ed25519 keys at all (not even OpenSSL's own), so the PKCS#8
/// key is checked with `openssl pkey` and the OpenSSH-format copy with `ssh-keygen -y`.
#[test]
fn ed25519_key_matches_openssl_and_openssh() {
    let key = SshKeyPair::generate(SshKeyAlgorithm::Ed25519).unwrap();
    assert!(key.public_key_line().starts_with("ssh-ed25519 "));
    let pem = key.private_key_pem().expose_secret();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("id.pem");
    key.write_private_key(&path).unwrap();
    let out = Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl pkey: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let spki = out.stdout;
    let ssh_pub = ssh_key::PublicKey::from_openssh(key.public_key_line()).unwrap();
    let raw = ssh_pub.key_data().ed25519().unwrap().0;
    assert_eq!(&spki[spki.len() - 32..], &raw[..], "same public key");

    let openssh = key.private_key_openssh().unwrap().expose_secret();
    assert!(openssh.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    let path = dir.path().join("id_openssh");
    write_secret_file(&path, openssh.as_bytes()).unwrap();
    let out = Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ssh-keygen -y: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        key.public_key_line()
    );
}

#[test]
fn two_keys_differ() {
    let a = SshKeyPair::generate(SshKeyAlgorithm::Ed25519).unwrap();
    let b = SshKeyPair::generate(SshKeyAlgorithm::Ed25519).unwrap();
    assert_ne!(a.public_key_line(), b.public_key_line());
}

#[test]
fn small_or_odd_rsa_sizes_are_refused() {
    for bits in [1024, 2047, 3001] {
        let err = SshKeyPair::generate(SshKeyAlgorithm::Rsa { bits }).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "generating an SSH key (rsa-{bits}) failed: RSA keys must have at least 2048 bits and a multiple of 8; use 4096 for Azure DevOps"
            )
        );
    }
}

#[test]
fn key_files_are_written_0600_even_over_an_existing_file() {
    let key = SshKeyPair::generate(SshKeyAlgorithm::Ed25519).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("identity");
    std::fs::write(&private, "old").unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o644)).unwrap();
    key.write_private_key(&private).unwrap();
    let public = dir.path().join("identity.pub");
    key.write_public_key(&public).unwrap();
    let other = dir.path().join("known_hosts");
    write_secret_file(&other, AZURE_DEVOPS_KNOWN_HOSTS.as_bytes()).unwrap();
    for path in [&private, &public, &other] {
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
    assert_eq!(
        std::fs::read_to_string(&private).unwrap(),
        key.private_key_pem().expose_secret()
    );
    assert_eq!(
        std::fs::read_to_string(&public).unwrap(),
        format!("{}\n", key.public_key_line())
    );
}

#[test]
fn azure_devops_known_hosts_has_the_published_fingerprint() {
    let kh = KnownHosts::azure_devops();
    assert_eq!(kh.entries().len(), 1);
    let entry = &kh.entries()[0];
    assert_eq!(entry.hosts, ["ssh.dev.azure.com"]);
    assert_eq!(entry.key_type, "ssh-rsa");
    let parsed =
        ssh_key::PublicKey::from_openssh(&format!("{} {}", entry.key_type, entry.key_base64))
            .unwrap();
    assert_eq!(
        parsed.fingerprint(ssh_key::HashAlg::Sha256).to_string(),
        AZURE_DEVOPS_HOST_KEY_SHA256
    );
    assert_eq!(kh.to_string(), AZURE_DEVOPS_KNOWN_HOSTS);
    assert!(kh.knows("ssh.dev.azure.com", None));
    assert!(kh.knows("ssh.dev.azure.com", Some(22)));
    assert!(!kh.knows("ssh.dev.azure.com", Some(2222)));
}

#[test]
fn known_hosts_parsing_errors() {
    let err = KnownHosts::parse("# comment\n\nhost ssh-rsa").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid known_hosts line 3: expected \"<host> <key type> <base64 key>\""
    );
    let err = KnownHosts::parse("|1|abc= ssh-rsa AAAA").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid known_hosts line 1: markers and hashed host names are not supported"
    );
    let line = AZURE_DEVOPS_KNOWN_HOSTS.replace("ssh-rsa", "ssh-ed25519");
    let err = KnownHosts::parse(&line).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid known_hosts line 1: the key blob does not match the key type"
    );
}

const SECRET: &str = "pat-0123456789-very-secret";

#[test]
fn debug_of_every_credential_hides_the_secret() {
    let key = SshKeyPair::generate(SshKeyAlgorithm::Ed25519).unwrap();
    let private_body = key
        .private_key_pem()
        .expose_secret()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let creds = [
        GitCredentials::Basic(BasicAuth::pat(SecretString::from(SECRET))),
        GitCredentials::Basic(BasicAuth::password(
            "machine-user",
            SecretString::from(SECRET),
        )),
        GitCredentials::Bearer(BearerToken::new(SecretString::from(SECRET))),
        GitCredentials::Ssh(
            SshAuth::azure_devops(key.clone()).with_passphrase(SecretString::from(SECRET)),
        ),
    ];
    for c in &creds {
        let debug = format!("{c:?}");
        let pretty = format!("{c:#?}");
        for text in [&debug, &pretty] {
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains(&private_body), "{text}");
            assert!(!text.contains("PRIVATE KEY"), "{text}");
        }
        let data = c.flux_secret_data().unwrap();
        let debug = format!("{data:?}");
        assert!(
            !debug.contains(SECRET) && !debug.contains(&private_body),
            "{debug}"
        );
    }
    assert!(format!("{key:?}").contains(key.public_key_line()));
    assert!(!format!("{key:?}").contains(&private_body));
    assert_eq!(
        format!("{:?}", BearerToken::new(SecretString::from(SECRET))),
        "BearerToken(<redacted>)"
    );
}

fn exposed(data: &devops_git::GitSecretData) -> Vec<(String, String)> {
    data.iter()
        .map(|(k, v)| (k.to_string(), v.expose_secret().to_string()))
        .collect()
}

#[test]
fn flux_secret_data_per_mode() {
    let basic = GitCredentials::Basic(BasicAuth::pat(SecretString::from(SECRET)));
    assert_eq!(
        exposed(&basic.flux_secret_data().unwrap()),
        [
            ("password".to_string(), SECRET.to_string()),
            ("username".to_string(), "git".to_string())
        ]
    );
    let user = GitCredentials::Basic(BasicAuth::password("svc-flux", SecretString::from(SECRET)));
    assert_eq!(
        exposed(&user.flux_secret_data().unwrap())[1],
        ("username".to_string(), "svc-flux".to_string())
    );
    let bearer = GitCredentials::Bearer(BearerToken::new(SecretString::from(SECRET)));
    assert_eq!(
        exposed(&bearer.flux_secret_data().unwrap()),
        [("bearerToken".to_string(), SECRET.to_string())]
    );

    let key = SshKeyPair::generate(SshKeyAlgorithm::Ed25519).unwrap();
    let ssh = GitCredentials::Ssh(SshAuth::azure_devops(key.clone()));
    let data = exposed(&ssh.flux_secret_data().unwrap());
    assert_eq!(
        data,
        [
            (
                "identity".to_string(),
                key.private_key_pem().expose_secret().to_string()
            ),
            (
                "identity.pub".to_string(),
                format!("{}\n", key.public_key_line())
            ),
            (
                "known_hosts".to_string(),
                AZURE_DEVOPS_KNOWN_HOSTS.to_string()
            ),
        ]
    );
    let with_pass =
        GitCredentials::Ssh(SshAuth::azure_devops(key).with_passphrase(SecretString::from("pp")));
    let keys: Vec<_> = with_pass
        .flux_secret_data()
        .unwrap()
        .keys()
        .map(str::to_string)
        .collect();
    assert_eq!(
        keys,
        ["identity", "identity.pub", "known_hosts", "password"]
    );
    assert!(GitCredentials::Anonymous.flux_secret_data().is_none());
}
