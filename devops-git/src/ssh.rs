//! SSH keys generated here and `known_hosts` lines.
//!
//! Keys follow `fluxcd/pkg` `ssh/key_pair.go`: the private key is PKCS#8 PEM
//! (`-----BEGIN PRIVATE KEY-----`), the public key an authorized-keys line. Azure DevOps accepts
//! RSA user keys only, so the default is RSA 4096; ECDSA P-256/P-384 and ed25519 serve other hosts.
//! RSA keys come from the `rsa` crate and the SSH encoding is built from their parts (`ssh-key`'s
//! own `rsa` feature is not used).

use std::fmt;
use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use secrecy::{ExposeSecret, SecretString};
use ssh_key::private::{Ed25519Keypair, Ed25519PrivateKey, KeypairData, RsaKeypair};
use ssh_key::public::{EcdsaPublicKey, Ed25519PublicKey, KeyData, RsaPublicKey};
use ssh_key::{LineEnding, Mpint};

use crate::error::Error;
use crate::url::known_hosts_name;

/// The `known_hosts` line of `ssh.dev.azure.com` (RSA; SHA256 fingerprint
/// `ohD8VZEXGWo6Ez8GSEJQ9WpafgLFsOfLOtGGQCQo6Og`). A public fact: the line used by
/// `fluxcd/flux2` `tests/integration/azure_test.go`, matching the fingerprint Microsoft publishes
/// in `azure-devops-docs` `use-ssh-keys-to-authenticate.md`. The same key serves
/// `vs-ssh.visualstudio.com`.
pub const AZURE_DEVOPS_KNOWN_HOSTS: &str = "ssh.dev.azure.com ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7Hr1oTWqNqOlzGJOfGJ4NakVyIzf1rXYd4d7wo6jBlkLvCA4odBlL0mDUyZ0/QUfTTqeu+tm22gOsv+VrVTMk6vwRU75gY/y9ut5Mb3bR5BV58dKXyq9A9UeB5Cakehn5Zgm6x1mKoVyf+FFn26iYqXJRgzIZZcZ5V6hrE0Qg39kZm4az48o0AUbf6Sp4SLdvnuMa2sVNwHBboS7EJkm57XQPVU3/QpyNLHbWDdzwtrlS+ez30S3AdYhLKEOxAG8weOnyrtLJAUen9mTkol8oII1edf7mWWbWVf0nBmly21+nZcmCTISQBtdcyPaEno7fFQMDD26/s0lfKob4Kw8H";

/// The SHA256 fingerprint of the Azure DevOps SSH host key, as Microsoft publishes it.
pub const AZURE_DEVOPS_HOST_KEY_SHA256: &str = "SHA256:ohD8VZEXGWo6Ez8GSEJQ9WpafgLFsOfLOtGGQCQo6Og";

/// Which key to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SshKeyAlgorithm {
    /// RSA with the given modulus size (≥ 2048, a multiple of 8). The only kind Azure DevOps accepts.
    Rsa {
        /// Modulus size in bits.
        bits: usize,
    },
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// ECDSA on NIST P-384 (the `flux bootstrap` default for non-Azure hosts).
    EcdsaP384,
    /// Ed25519.
    Ed25519,
}

impl Default for SshKeyAlgorithm {
    /// RSA 4096, what Azure DevOps needs.
    fn default() -> Self {
        SshKeyAlgorithm::Rsa { bits: 4096 }
    }
}

impl fmt::Display for SshKeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SshKeyAlgorithm::Rsa { bits } => write!(f, "rsa-{bits}"),
            SshKeyAlgorithm::EcdsaP256 => f.write_str("ecdsa-p256"),
            SshKeyAlgorithm::EcdsaP384 => f.write_str("ecdsa-p384"),
            SshKeyAlgorithm::Ed25519 => f.write_str("ed25519"),
        }
    }
}

/// An SSH key pair. `Debug` shows the algorithm and the public key only.
#[derive(Clone)]
pub struct SshKeyPair {
    algorithm: Option<SshKeyAlgorithm>,
    private_pem: SecretString,
    openssh_private: Option<SecretString>,
    public_line: String,
}

impl fmt::Debug for SshKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshKeyPair")
            .field("algorithm", &self.algorithm)
            .field("public_key", &self.public_line)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

fn key_error(algorithm: SshKeyAlgorithm, reason: impl fmt::Display) -> Error {
    Error::KeyGeneration {
        algorithm: algorithm.to_string(),
        reason: reason.to_string(),
    }
}

fn random_bytes<const N: usize>(
    algorithm: SshKeyAlgorithm,
) -> Result<zeroize::Zeroizing<[u8; N]>, Error> {
    let mut buf = zeroize::Zeroizing::new([0u8; N]);
    getrandom::fill(buf.as_mut())
        .map_err(|e| key_error(algorithm, format!("OS random source: {e}")))?;
    Ok(buf)
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn mpint(algorithm: SshKeyAlgorithm, bytes: &[u8]) -> Result<Mpint, Error> {
    Mpint::from_positive_bytes(bytes).map_err(|e| key_error(algorithm, e))
}

impl SshKeyPair {
    /// Generates a key pair. RSA 4096 takes about a second in a release build (much longer in a
    /// debug build); the work runs on the calling thread, so call it from `spawn_blocking` in async code.
    pub fn generate(algorithm: SshKeyAlgorithm) -> Result<Self, Error> {
        match algorithm {
            SshKeyAlgorithm::Rsa { bits } => Self::generate_rsa(algorithm, bits),
            SshKeyAlgorithm::EcdsaP256 => {
                let bytes = random_bytes::<32>(algorithm)?;
                let secret = p256::SecretKey::from_slice(bytes.as_ref())
                    .map_err(|e| key_error(algorithm, e))?;
                let pem = p256::pkcs8::EncodePrivateKey::to_pkcs8_pem(
                    &secret,
                    p256::pkcs8::LineEnding::LF,
                )
                .map_err(|e| key_error(algorithm, e))?;
                let point = secret.public_key().to_sec1_bytes();
                let public =
                    EcdsaPublicKey::from_sec1_bytes(&point).map_err(|e| key_error(algorithm, e))?;
                Self::assemble(algorithm, pem.to_string(), None, KeyData::Ecdsa(public))
            }
            SshKeyAlgorithm::EcdsaP384 => {
                let bytes = random_bytes::<48>(algorithm)?;
                let secret = p384::SecretKey::from_slice(bytes.as_ref())
                    .map_err(|e| key_error(algorithm, e))?;
                let pem = p384::pkcs8::EncodePrivateKey::to_pkcs8_pem(
                    &secret,
                    p384::pkcs8::LineEnding::LF,
                )
                .map_err(|e| key_error(algorithm, e))?;
                let point = secret.public_key().to_sec1_bytes();
                let public =
                    EcdsaPublicKey::from_sec1_bytes(&point).map_err(|e| key_error(algorithm, e))?;
                Self::assemble(algorithm, pem.to_string(), None, KeyData::Ecdsa(public))
            }
            SshKeyAlgorithm::Ed25519 => {
                let seed = random_bytes::<32>(algorithm)?;
                let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
                let public = Ed25519PublicKey(signing.verifying_key().to_bytes());
                // PKCS#8 v1 (RFC 8410) as Go's x509.MarshalPKCS8PrivateKey writes it.
                let mut der = zeroize::Zeroizing::new(vec![
                    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04,
                    0x22, 0x04, 0x20,
                ]);
                der.extend_from_slice(seed.as_ref());
                let pem = pem_encode("PRIVATE KEY", &der);
                let keypair = Ed25519Keypair {
                    public,
                    private: Ed25519PrivateKey::from_bytes(&seed),
                };
                let openssh = ssh_key::PrivateKey::new(KeypairData::Ed25519(keypair), "")
                    .and_then(|k| k.to_openssh(LineEnding::LF))
                    .map_err(|e| key_error(algorithm, e))?;
                Self::assemble(
                    algorithm,
                    pem,
                    Some(openssh.to_string()),
                    KeyData::Ed25519(public),
                )
            }
        }
    }

    fn generate_rsa(algorithm: SshKeyAlgorithm, bits: usize) -> Result<Self, Error> {
        use rsa::traits::{PrivateKeyParts, PublicKeyParts};
        if bits < 2048 || !bits.is_multiple_of(8) {
            return Err(key_error(
                algorithm,
                "RSA keys must have at least 2048 bits and a multiple of 8; use 4096 for Azure DevOps",
            ));
        }
        let key = rsa::PrivateKey::new(&mut getrandom::SysRng, bits)
            .map_err(|e| key_error(algorithm, e))?;
        let pem = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&key, rsa::pkcs8::LineEnding::LF)
            .map_err(|e| key_error(algorithm, e))?;
        let primes = key.primes();
        let (Some(p), Some(q)) = (primes.first(), primes.get(1)) else {
            return Err(key_error(
                algorithm,
                "the generated key has fewer than two primes",
            ));
        };
        let Some(iqmp) = key.crt_coefficient() else {
            return Err(key_error(
                algorithm,
                "the generated key has no CRT coefficient",
            ));
        };
        let public = RsaPublicKey {
            e: mpint(algorithm, &key.e().to_be_bytes())?,
            n: mpint(algorithm, &key.n().to_be_bytes())?,
        };
        let keypair = RsaKeypair {
            public: public.clone(),
            private: ssh_key::private::RsaPrivateKey {
                d: mpint(algorithm, &key.d().to_be_bytes())?,
                iqmp: mpint(algorithm, &iqmp.to_be_bytes())?,
                p: mpint(algorithm, &p.to_be_bytes())?,
                q: mpint(algorithm, &q.to_be_bytes())?,
            },
        };
        let openssh = ssh_key::PrivateKey::new(KeypairData::Rsa(keypair), "")
            .and_then(|k| k.to_openssh(LineEnding::LF))
            .map_err(|e| key_error(algorithm, e))?;
        Self::assemble(
            algorithm,
            pem.to_string(),
            Some(openssh.to_string()),
            KeyData::Rsa(public),
        )
    }

    fn assemble(
        algorithm: SshKeyAlgorithm,
        pem: String,
        openssh: Option<String>,
        public: KeyData,
    ) -> Result<Self, Error> {
        let public_line = ssh_key::PublicKey::new(public, "")
            .to_openssh()
            .map_err(|e| key_error(algorithm, e))?;
        Ok(SshKeyPair {
            algorithm: Some(algorithm),
            private_pem: SecretString::from(pem),
            openssh_private: openssh.map(SecretString::from),
            public_line: public_line.trim().to_string(),
        })
    }

    /// A key pair supplied by the caller (e.g. `--private-key-file`): the private key in any
    /// format OpenSSH/libssh2 read (PKCS#8, PKCS#1 or OpenSSH PEM) and its authorized-keys line.
    pub fn from_parts(private_key: SecretString, public_key_line: &str) -> Result<Self, Error> {
        let line = public_key_line.trim();
        ssh_key::PublicKey::from_openssh(line).map_err(|e| Error::InvalidKey {
            reason: format!("the public key is not an authorized-keys line: {e}"),
        })?;
        if !private_key.expose_secret().contains("PRIVATE KEY-----") {
            return Err(Error::InvalidKey {
                reason: "the private key is not PEM (no \"PRIVATE KEY-----\" armour)".to_string(),
            });
        }
        Ok(SshKeyPair {
            algorithm: None,
            private_pem: private_key,
            openssh_private: None,
            public_line: line.to_string(),
        })
    }

    /// The algorithm, when the key was generated here.
    pub fn algorithm(&self) -> Option<SshKeyAlgorithm> {
        self.algorithm
    }

    /// The PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`): the Flux `identity` value.
    pub fn private_key_pem(&self) -> &SecretString {
        &self.private_pem
    }

    /// The same private key in the OpenSSH format, for RSA and ed25519 keys generated here.
    pub fn private_key_openssh(&self) -> Option<&SecretString> {
        self.openssh_private.as_ref()
    }

    /// The authorized-keys line (`ssh-rsa AAAA…`), without a trailing newline.
    pub fn public_key_line(&self) -> &str {
        &self.public_line
    }

    /// The SHA256 fingerprint of the public key (`SHA256:…`, as `ssh-keygen -l` prints it).
    pub fn fingerprint(&self) -> String {
        ssh_key::PublicKey::from_openssh(&self.public_line)
            .map(|k| k.fingerprint(ssh_key::HashAlg::Sha256).to_string())
            .unwrap_or_default()
    }

    /// Writes the PKCS#8 private key to `path` with mode 0600 (replacing the file).
    pub fn write_private_key(&self, path: &Path) -> Result<(), Error> {
        write_secret_file(path, self.private_pem.expose_secret().as_bytes())
    }

    /// Writes the authorized-keys line (with a trailing newline) to `path` with mode 0600.
    pub fn write_public_key(&self, path: &Path) -> Result<(), Error> {
        write_secret_file(path, format!("{}\n", self.public_line).as_bytes())
    }
}

/// Writes `bytes` to `path`, creating or truncating it, with permissions 0600 from the start
/// (and enforced again if the file existed with other permissions).
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let io = |source: std::io::Error| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

/// One `known_hosts` line: host patterns, key type, base64 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownHost {
    /// Host patterns (`host` or `[host]:port`), comma-separated in the file.
    pub hosts: Vec<String>,
    /// Key type, e.g. `ssh-rsa`.
    pub key_type: String,
    /// The public key blob, base64.
    pub key_base64: String,
}

impl KnownHost {
    /// The decoded public key blob.
    pub fn key_blob(&self) -> Option<Vec<u8>> {
        B64.decode(&self.key_base64).ok()
    }
}

impl fmt::Display for KnownHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.hosts.join(","),
            self.key_type,
            self.key_base64
        )
    }
}

/// A `known_hosts` file (plain host names only; hashed `|1|` entries and markers are refused).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KnownHosts {
    entries: Vec<KnownHost>,
}

impl KnownHosts {
    /// The embedded `ssh.dev.azure.com` host key ([`AZURE_DEVOPS_KNOWN_HOSTS`]).
    pub fn azure_devops() -> Self {
        // The constant is well-formed; an empty set would only make host-key checks fail.
        Self::parse(AZURE_DEVOPS_KNOWN_HOSTS).unwrap_or_default()
    }

    /// Parses `known_hosts` text; blank lines and `#` comments are skipped.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason: &str| Error::InvalidKnownHosts {
                line: n + 1,
                reason: reason.to_string(),
            };
            if line.starts_with('@') || line.starts_with("|1|") {
                return Err(bad("markers and hashed host names are not supported"));
            }
            let mut fields = line.split_whitespace();
            let (Some(hosts), Some(key_type), Some(key)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(bad("expected \"<host> <key type> <base64 key>\""));
            };
            let blob = B64.decode(key).map_err(|_| bad("the key is not base64"))?;
            if blob_key_type(&blob).as_deref() != Some(key_type) {
                return Err(bad("the key blob does not match the key type"));
            }
            entries.push(KnownHost {
                hosts: hosts.split(',').map(str::to_string).collect(),
                key_type: key_type.to_string(),
                key_base64: key.to_string(),
            });
        }
        Ok(KnownHosts { entries })
    }

    /// The entries.
    pub fn entries(&self) -> &[KnownHost] {
        &self.entries
    }

    /// Adds an entry.
    pub fn push(&mut self, entry: KnownHost) {
        self.entries.push(entry);
    }

    /// Whether `host` on `port` is known with exactly this raw key blob.
    pub fn matches(&self, host: &str, port: Option<u16>, blob: &[u8]) -> bool {
        let name = known_hosts_name(host, port);
        self.entries.iter().any(|e| {
            e.hosts.iter().any(|h| h.eq_ignore_ascii_case(&name))
                && e.key_blob().as_deref() == Some(blob)
        })
    }

    /// Whether any entry names `host` on `port`.
    pub fn knows(&self, host: &str, port: Option<u16>) -> bool {
        let name = known_hosts_name(host, port);
        self.entries
            .iter()
            .any(|e| e.hosts.iter().any(|h| h.eq_ignore_ascii_case(&name)))
    }
}

impl fmt::Display for KnownHosts {
    /// The lines joined by `\n`, without a trailing newline (Flux trims the scan output).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// The key type named at the start of an SSH public key blob.
pub fn blob_key_type(blob: &[u8]) -> Option<String> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let name = blob.get(4..4usize.checked_add(len)?)?;
    String::from_utf8(name.to_vec()).ok()
}

/// Connects to the SSH server at `host:port` (port 22 when `None`), reads its host key and
/// returns it as a `known_hosts` entry named `host` or `[host]:port`. Nothing is authenticated;
/// the connection is dropped after the key exchange. Blocking: call it from `spawn_blocking`.
/// Only call this when asked to: the Azure DevOps key is embedded ([`KnownHosts::azure_devops`]).
pub fn scan_host_key(host: &str, port: Option<u16>) -> Result<KnownHost, Error> {
    let bracketed = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let authority = match port {
        Some(p) => format!("{bracketed}:{p}"),
        None => bracketed,
    };
    let url = format!("ssh://git@{authority}/scan");
    let captured: std::sync::Arc<std::sync::Mutex<Option<Vec<u8>>>> = Default::default();
    let sink = captured.clone();
    let mut callbacks = git2::RemoteCallbacks::new();
    callbacks.certificate_check(move |cert, _host| {
        if let Some(blob) = cert.as_hostkey().and_then(|h| h.hostkey())
            && let Ok(mut slot) = sink.lock()
        {
            *slot = Some(blob.to_vec());
        }
        Err(git2::Error::from_str("host key captured; scan finished"))
    });
    let mut remote = git2::Remote::create_detached(url.as_str()).map_err(|e| Error::Network {
        url: url.clone(),
        reason: e.message().to_string(),
    })?;
    let result = remote.connect_auth(git2::Direction::Fetch, Some(callbacks), None);
    let blob = captured.lock().ok().and_then(|mut s| s.take());
    match (blob, result) {
        (Some(blob), _) => {
            let key_type = blob_key_type(&blob).ok_or_else(|| Error::Network {
                url: url.clone(),
                reason: "the server sent a malformed host key".to_string(),
            })?;
            Ok(KnownHost {
                hosts: vec![known_hosts_name(host, port)],
                key_type,
                key_base64: B64.encode(&blob),
            })
        }
        (None, Err(e)) => Err(Error::Network {
            url,
            reason: format!("could not read the SSH host key: {}", e.message()),
        }),
        (None, Ok(_)) => Err(Error::Network {
            url,
            reason: "the SSH server sent no host key".to_string(),
        }),
    }
}
