//! age (X25519) master keys: `enc` is an ASCII-armored age file wrapping the data key.

use crate::api::MasterKey;
use crate::error::{Error, Result};
use crate::metadata::{AgeEntry, KeyEntry};
use age::secrecy::ExposeSecret as _;
use async_trait::async_trait;
use secrecy::SecretBox;
use std::io::Read as _;
use std::str::FromStr as _;

/// An age key: a recipient (to encrypt) and optionally its identity (to decrypt).
pub struct AgeKey {
    recipient: age::x25519::Recipient,
    identity: Option<age::x25519::Identity>,
}

impl std::fmt::Debug for AgeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgeKey")
            .field("recipient", &self.recipient.to_string())
            .field("identity", &self.identity.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl AgeKey {
    /// An encrypt-only key from an `age1…` recipient.
    pub fn from_recipient(recipient: &str) -> Result<Self> {
        let r = age::x25519::Recipient::from_str(recipient.trim()).map_err(|_| {
            let given = recipient.trim();
            // An identity passed where a recipient belongs must not be echoed: it is the secret key.
            if given
                .get(..15)
                .is_some_and(|p| p.eq_ignore_ascii_case("AGE-SECRET-KEY-"))
            {
                Error::invalid(
                    "age recipient",
                    "an AGE-SECRET-KEY-1… identity was given where an age1… recipient is expected; pass its public key (age-keygen -y)",
                )
            } else {
                Error::invalid(
                    "age recipient",
                    format!("`{given}` is not an age1… X25519 recipient"),
                )
            }
        })?;
        Ok(Self {
            recipient: r,
            identity: None,
        })
    }

    /// A key from an `AGE-SECRET-KEY-1…` identity (can encrypt and decrypt).
    pub fn from_identity(identity: &str) -> Result<Self> {
        let id = age::x25519::Identity::from_str(identity.trim()).map_err(|_| {
            Error::invalid("age identity", "not an AGE-SECRET-KEY-1… X25519 identity")
        })?;
        Ok(Self {
            recipient: id.to_public(),
            identity: Some(id),
        })
    }

    /// Every identity in an age key file (`#` comments and blank lines skipped), as `SOPS_AGE_KEY_FILE` holds.
    pub fn parse_identities(text: &str) -> Result<Vec<Self>> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(Self::from_identity)
            .collect()
    }

    /// A fresh random identity.
    pub fn generate() -> Self {
        let id = age::x25519::Identity::generate();
        Self {
            recipient: id.to_public(),
            identity: Some(id),
        }
    }

    /// The `age1…` recipient.
    pub fn recipient(&self) -> String {
        self.recipient.to_string()
    }

    /// The `AGE-SECRET-KEY-1…` identity, if this key has one. Handle with care.
    pub fn identity_secret(&self) -> Option<secrecy::SecretString> {
        self.identity
            .as_ref()
            .map(|i| secrecy::SecretString::from(i.to_string().expose_secret().to_string()))
    }
}

#[async_trait]
impl MasterKey for AgeKey {
    fn kind(&self) -> &'static str {
        "age"
    }

    fn id(&self) -> String {
        self.recipient()
    }

    fn can_try(&self, entry: &KeyEntry) -> bool {
        // sops tries every identity on every age entry.
        matches!(entry, KeyEntry::Age(_)) && self.identity.is_some()
    }

    async fn encrypt(&self, data_key: &[u8]) -> Result<KeyEntry> {
        let enc =
            age::encrypt_and_armor(&self.recipient, data_key).map_err(|e| Error::MasterKey {
                key: self.id(),
                why: format!("age encryption failed: {e}"),
            })?;
        let mut enc = enc;
        if !enc.ends_with('\n') {
            enc.push('\n');
        }
        Ok(KeyEntry::Age(AgeEntry {
            recipient: self.recipient(),
            enc,
        }))
    }

    async fn decrypt(&self, entry: &KeyEntry) -> Result<SecretBox<Vec<u8>>> {
        let KeyEntry::Age(e) = entry else {
            return Err(Error::MasterKey {
                key: self.id(),
                why: format!("cannot decrypt a `{}` entry", entry.kind()),
            });
        };
        let Some(identity) = &self.identity else {
            return Err(Error::MasterKey {
                key: self.id(),
                why: "no identity (secret key) for this recipient".into(),
            });
        };
        let fail = |why: String| Error::MasterKey {
            key: if e.recipient.trim().is_empty() {
                "age entry (it has no recipient)".into()
            } else {
                format!("age entry for {}", e.recipient)
            },
            why,
        };
        // A cut-off copy of the file leaves the armor without its end line; say so rather than relay the
        // reader's "failed to fill whole buffer".
        if !e
            .enc
            .trim_end()
            .ends_with("-----END AGE ENCRYPTED FILE-----")
        {
            return Err(fail(
                "the armored age file in `enc` is truncated (no `-----END AGE ENCRYPTED FILE-----` line); restore the file's `sops` block from version control".into(),
            ));
        }
        let reader = age::armor::ArmoredReader::new(e.enc.as_bytes());
        let decryptor = age::Decryptor::new(reader)
            .map_err(|err| {
                fail(match err {
                    age::DecryptError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                        "the armored age file in `enc` is truncated; restore the file's `sops` block from version control".into()
                    }
                    err => format!("malformed age file: {err}"),
                })
            })?;
        let mut r = decryptor
            .decrypt(std::iter::once(identity as &dyn age::Identity))
            .map_err(|err| fail(format!("this identity cannot open it ({err})")))?;
        let mut out = Vec::new();
        r.read_to_end(&mut out)
            .map_err(|err| fail(format!("truncated or corrupted age payload ({err})")))?;
        Ok(SecretBox::new(Box::new(out)))
    }
}
