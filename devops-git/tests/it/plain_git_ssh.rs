//! PlainGitHost against a real OpenSSH sshd shaped like Azure DevOps SSH: user `git`, the
//! `/v3/<org>/<project>/<repo>` path, an RSA host key, and only RSA-SHA2 signatures accepted
//! for RSA user keys (`PubkeyAcceptedAlgorithms rsa-sha2-512,rsa-sha2-256,…` in
//! tests/servers/start-sshd.sh), so a successful push proves an RSA-SHA2 signature.

use devops_git::ssh::scan_host_key;
use devops_git::{
    Author, CommitOutcome, CommitRequest, Error, GitCredentials, GitHost, KnownHosts, PlainGitHost,
    SshAuth, SshKeyAlgorithm, SshKeyPair,
};

use crate::support::{log, rsa4096, show, ssh_server};

fn author() -> Author {
    Author::new("Flux", "flux@example.com")
}

#[tokio::test]
async fn rsa_4096_key_pushes_and_second_push_is_no_change() {
    let Some(server) = ssh_server() else { return };
    let key = rsa4096();
    server.authorize(key);
    let (bare, url) = server.new_repo("rsa");
    let known_hosts = KnownHosts::parse(&server.known_hosts_text()).unwrap();
    let host =
        PlainGitHost::new(GitCredentials::Ssh(SshAuth::new(key.clone(), known_hosts))).unwrap();

    let info = host.ensure_repository(&url).await.unwrap();
    assert!(info.is_empty());
    let req = CommitRequest::new("main", "Add Flux component manifests", author()).file(
        "clusters/c/flux-system/gotk-components.yaml",
        "# components\n",
    );
    let out = host.commit(&url, &req).await.unwrap();
    let CommitOutcome::Committed { commit, .. } = out else {
        panic!("expected a commit, got {out:?}");
    };
    assert_eq!(
        log(&bare, "main"),
        [format!("{commit} Add Flux component manifests")]
    );
    assert_eq!(
        show(&bare, "main", "clusters/c/flux-system/gotk-components.yaml"),
        "# components"
    );
    assert_eq!(
        host.commit(&url, &req).await.unwrap(),
        CommitOutcome::NoChange { head: Some(commit) }
    );
    assert_eq!(log(&bare, "main").len(), 1);
    assert_eq!(
        host.read_file(&url, "main", "clusters/c/flux-system/gotk-components.yaml")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"# components\n"[..])
    );
}

#[tokio::test]
async fn ecdsa_key_works_for_other_hosts() {
    let Some(server) = ssh_server() else { return };
    let key = SshKeyPair::generate(SshKeyAlgorithm::EcdsaP384).unwrap();
    server.authorize(&key);
    let (bare, url) = server.new_repo("ecdsa");
    let known_hosts = KnownHosts::parse(&server.known_hosts_text()).unwrap();
    let host = PlainGitHost::new(GitCredentials::Ssh(SshAuth::new(key, known_hosts))).unwrap();
    host.commit(
        &url,
        &CommitRequest::new("main", "m", author()).file("f", "x"),
    )
    .await
    .unwrap();
    assert_eq!(log(&bare, "main").len(), 1);
}

#[tokio::test]
async fn unauthorized_key_is_an_auth_error() {
    let Some(server) = ssh_server() else { return };
    let key = SshKeyPair::generate(SshKeyAlgorithm::Ed25519).unwrap();
    let fingerprint = key.fingerprint();
    let (_bare, url) = server.new_repo("unauth");
    let known_hosts = KnownHosts::parse(&server.known_hosts_text()).unwrap();
    let host = PlainGitHost::new(GitCredentials::Ssh(SshAuth::new(key, known_hosts))).unwrap();
    let err = host.ensure_repository(&url).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                method: "SSH key",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "authentication to {url} failed with the SSH key credential: the server refused the SSH key {fingerprint}; add its public key to the user's SSH public keys (Azure DevOps accepts RSA keys only) or use another key"
        )
    );
}

#[tokio::test]
async fn unknown_host_key_is_refused() {
    let Some(server) = ssh_server() else { return };
    let key = rsa4096();
    server.authorize(key);
    let (_bare, url) = server.new_repo("hostkey");
    // Trusting only the Azure DevOps key: the local server's key must be refused.
    let host = PlainGitHost::new(GitCredentials::Ssh(SshAuth::azure_devops(key.clone()))).unwrap();
    let err = host.ensure_repository(&url).await.unwrap_err();
    let Error::HostKeyMismatch {
        host: name,
        key_type,
        ..
    } = &err
    else {
        panic!("expected a host key mismatch, got {err:?}");
    };
    assert_eq!(name, &format!("[127.0.0.1]:{}", server.port));
    assert_eq!(key_type, "ssh-rsa");
}

#[tokio::test]
async fn missing_repository_is_not_found() {
    let Some(server) = ssh_server() else { return };
    let key = rsa4096();
    server.authorize(key);
    let url = devops_git::RepoUrl::parse(&format!(
        "ssh://git@{}:{}/v3/org/project/does-not-exist",
        server.host, server.port
    ))
    .unwrap();
    let known_hosts = KnownHosts::parse(&server.known_hosts_text()).unwrap();
    let host =
        PlainGitHost::new(GitCredentials::Ssh(SshAuth::new(key.clone(), known_hosts))).unwrap();
    let err = host.ensure_repository(&url).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn scanned_host_key_matches_the_server() {
    let Some(server) = ssh_server() else { return };
    let (host, port) = (server.host.clone(), server.port);
    let scanned = tokio::task::spawn_blocking(move || scan_host_key(&host, Some(port)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(scanned.to_string(), server.known_hosts_text().trim());
}

/// The server refuses SHA-1 `ssh-rsa` signatures and accepts `rsa-sha2-*` ones for the same
/// key (checked with the OpenSSH client), so the libgit2 pushes above used RSA-SHA2.
#[test]
fn the_test_server_accepts_only_rsa_sha2_signatures() {
    let Some(server) = ssh_server() else { return };
    let key = rsa4096();
    server.authorize(key);
    let dir = tempfile::tempdir().unwrap();
    let id = dir.path().join("id");
    key.write_private_key(&id).unwrap();
    let kh = dir.path().join("known_hosts");
    std::fs::write(&kh, server.known_hosts_text()).unwrap();
    let ssh = |algos: &str| {
        std::process::Command::new("ssh")
            .args([
                "-F",
                "/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
            ])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", kh.display()))
            .arg("-o")
            .arg(format!("PubkeyAcceptedAlgorithms={algos}"))
            .arg("-i")
            .arg(&id)
            .args(["-p", &server.port.to_string()])
            .arg(format!("git@{}", server.host))
            .arg("git-upload-pack '/v3/org/project/none'")
            .output()
            .unwrap()
    };
    let sha1 = ssh("ssh-rsa");
    assert_eq!(
        sha1.status.code(),
        Some(255),
        "SHA-1 must be refused: {}",
        String::from_utf8_lossy(&sha1.stderr)
    );
    assert!(String::from_utf8_lossy(&sha1.stderr).contains("Permission denied"));
    let sha2 = ssh("rsa-sha2-512,rsa-sha2-256");
    // Logged in; the forced command answers with a pkt-line error for the missing repository.
    assert_eq!(
        sha2.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&sha2.stderr)
    );
    assert!(String::from_utf8_lossy(&sha2.stdout).contains("ERR repository not found"));
}

/// A key given as a Flux `identity` (PKCS#8 PEM) and `identity.pub`, as `--private-key-file`
/// would: libgit2/libssh2 read the PKCS#8 key directly.
#[tokio::test]
async fn a_pkcs8_identity_from_a_flux_secret_works() {
    let Some(server) = ssh_server() else { return };
    let generated = rsa4096();
    server.authorize(generated);
    let key = SshKeyPair::from_parts(
        generated.private_key_pem().clone(),
        &format!("{}\n", generated.public_key_line()),
    )
    .unwrap();
    assert!(key.private_key_openssh().is_none());
    let (bare, url) = server.new_repo("pkcs8");
    let known_hosts = KnownHosts::parse(&server.known_hosts_text()).unwrap();
    let host: std::sync::Arc<dyn devops_git::GitHost> = std::sync::Arc::new(
        PlainGitHost::new(GitCredentials::Ssh(SshAuth::new(key, known_hosts))).unwrap(),
    );
    host.commit(
        &url,
        &CommitRequest::new("main", "m", author()).file("f", "x"),
    )
    .await
    .unwrap();
    assert_eq!(log(&bare, "main").len(), 1);
}
