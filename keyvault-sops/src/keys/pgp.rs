//! OpenPGP master keys (pure Rust, `pgp` crate), so files from teams that use PGP open too.
//! `enc` is an ASCII-armored PGP message wrapping the raw data key; `fp` is the primary key fingerprint.

use crate::api::MasterKey;
use crate::error::{Error, Result};
use crate::metadata::{KeyEntry, PgpEntry};
use async_trait::async_trait;
use pgp::composed::{
    ArmorOptions, Message, MessageBuilder, PublicOrSecret, SignedPublicKey, SignedSecretKey,
};
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::types::{KeyDetails as _, Password};
use secrecy::SecretBox;

/// An OpenPGP key: its public half (to encrypt) and optionally its secret half (to decrypt).
pub struct PgpKey {
    fingerprint: String,
    public: SignedPublicKey,
    secret: Option<SignedSecretKey>,
}

impl std::fmt::Debug for PgpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgpKey")
            .field("fingerprint", &self.fingerprint)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl PgpKey {
    /// Every key (public or secret, unprotected) in an armored key file.
    pub fn parse_armored(text: &str) -> Result<Vec<Self>> {
        let bad = |why: String| Error::invalid("OpenPGP key file", why);
        let (iter, _) = PublicOrSecret::from_reader_many(text.as_bytes())
            .map_err(|e| bad(format!("not an armored OpenPGP key block ({e})")))?;
        let mut out = Vec::new();
        for key in iter {
            let key = key.map_err(|e| bad(format!("malformed key ({e})")))?;
            out.push(match key {
                PublicOrSecret::Public(p) => Self {
                    fingerprint: format!("{:X}", p.fingerprint()),
                    public: p,
                    secret: None,
                },
                PublicOrSecret::Secret(s) => Self {
                    fingerprint: format!("{:X}", s.fingerprint()),
                    public: s.to_public_key(),
                    secret: Some(s),
                },
            });
        }
        if out.is_empty() {
            return Err(bad("no key found".into()));
        }
        Ok(out)
    }

    /// The primary key fingerprint (upper-case hex), as sops stores it in `fp`.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether this key holds secret material (can decrypt).
    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }
}

#[async_trait]
impl MasterKey for PgpKey {
    fn kind(&self) -> &'static str {
        "pgp"
    }

    fn id(&self) -> String {
        self.fingerprint.clone()
    }

    fn can_try(&self, entry: &KeyEntry) -> bool {
        // The entry's `fp` names the primary key; a subkey may have wrapped it, so any secret key may try.
        matches!(entry, KeyEntry::Pgp(_)) && self.secret.is_some()
    }

    async fn encrypt(&self, data_key: &[u8]) -> Result<KeyEntry> {
        let fail = |why: String| Error::MasterKey {
            key: self.id(),
            why,
        };
        let mut rng = rand::rngs::OsRng;
        let mut builder = MessageBuilder::from_bytes("", data_key.to_vec())
            .seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
        let sub = self
            .public
            .public_subkeys
            .iter()
            .find(|k| k.key.algorithm().can_encrypt());
        match sub {
            Some(sub) => builder.encrypt_to_key(&mut rng, &sub.key),
            None if self.public.primary_key.algorithm().can_encrypt() => {
                builder.encrypt_to_key(&mut rng, &self.public.primary_key)
            }
            None => return Err(fail("the key has no encryption-capable (sub)key".into())),
        }
        .map_err(|e| fail(format!("OpenPGP encryption failed: {e}")))?;
        let enc = builder
            .to_armored_string(rng, ArmorOptions::default())
            .map_err(|e| fail(format!("OpenPGP armoring failed: {e}")))?;
        let created_at = crate::engine::now_rfc3339();
        Ok(KeyEntry::Pgp(PgpEntry {
            fp: self.fingerprint.clone(),
            created_at,
            enc,
        }))
    }

    async fn decrypt(&self, entry: &KeyEntry) -> Result<SecretBox<Vec<u8>>> {
        let KeyEntry::Pgp(e) = entry else {
            return Err(Error::MasterKey {
                key: self.id(),
                why: format!("cannot decrypt a `{}` entry", entry.kind()),
            });
        };
        let Some(secret) = &self.secret else {
            return Err(Error::MasterKey {
                key: self.id(),
                why: "no secret key to decrypt with".into(),
            });
        };
        let fail = |why: String| Error::MasterKey {
            key: format!("pgp entry for {} with key {}", e.fp, self.fingerprint),
            why,
        };
        let (msg, _) = Message::from_string(&e.enc)
            .map_err(|err| fail(format!("malformed PGP message ({err})")))?;
        let mut msg = msg
            .decrypt(&Password::empty(), secret)
            .map_err(|err| fail(format!("cannot decrypt ({err})")))?;
        if msg.is_compressed() {
            msg = msg
                .decompress()
                .map_err(|err| fail(format!("cannot decompress ({err})")))?;
        }
        let data = msg
            .as_data_vec()
            .map_err(|err| fail(format!("corrupted payload ({err})")))?;
        Ok(SecretBox::new(Box::new(data)))
    }
}
