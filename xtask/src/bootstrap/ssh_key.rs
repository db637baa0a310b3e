//! The SSH key pair of `git.auth = "ssh"`: loaded from `git.ssh_key` (and `<path>.pub`) when the files
//! exist, otherwise generated and written there with mode 0600 (the directory 0700), so a re-run reuses
//! it and the public key can be registered in Azure DevOps (User settings → SSH public keys).

use devops_git::{SshKeyAlgorithm, SshKeyPair};
use secrecy::SecretString;
use std::path::{Path, PathBuf};

/// Where the key goes when `git.ssh_key` is not set: `<workdir>/flux-ssh/identity`.
pub fn default_path(workdir: &Path) -> PathBuf {
    workdir.join("flux-ssh").join("identity")
}

/// The public key file of the private key at `path` (`<path>.pub`).
pub fn public_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

/// The key algorithm for a repository host: RSA 4096 for Azure DevOps (the only kind it accepts),
/// ECDSA P-384 elsewhere (as `flux bootstrap`).
pub fn algorithm_for(repo: &devops_git::RepoUrl) -> SshKeyAlgorithm {
    if repo.azure_devops().is_some() {
        SshKeyAlgorithm::default()
    } else {
        SshKeyAlgorithm::EcdsaP384
    }
}

/// What [`load_or_generate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// Read from the files.
    Loaded,
    /// Generated and written.
    Generated,
}

/// Loads the key pair at `path` (`path` and `<path>.pub`), or generates one with `algorithm` and writes
/// both files 0600. Errors name the file and what to do.
pub fn load_or_generate(
    path: &Path,
    algorithm: SshKeyAlgorithm,
) -> Result<(SshKeyPair, KeyOrigin), super::Error> {
    let setup = |why: String| super::Error::Setup {
        what: format!("the SSH key {}", path.display()),
        why,
    };
    let public = public_path(path);
    if path.exists() {
        let private =
            std::fs::read_to_string(path).map_err(|e| setup(format!("could not read it: {e}")))?;
        let line = std::fs::read_to_string(&public).map_err(|e| {
            setup(format!(
                "could not read its public key {}: {e} (write the authorized-keys line there, or remove both files to generate a new pair)",
                public.display()
            ))
        })?;
        let key = SshKeyPair::from_parts(SecretString::from(private), &line)
            .map_err(|e| setup(format!("{e} (remove both files to generate a new pair)")))?;
        return Ok((key, KeyOrigin::Loaded));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| setup(format!("could not create {}: {e}", dir.display())))?;
    }
    let key = SshKeyPair::generate(algorithm).map_err(|e| setup(e.to_string()))?;
    key.write_private_key(path)
        .map_err(|e| setup(e.to_string()))?;
    key.write_public_key(&public)
        .map_err(|e| setup(e.to_string()))?;
    Ok((key, KeyOrigin::Generated))
}
