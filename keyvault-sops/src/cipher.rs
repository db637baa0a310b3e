//! Value encryption as sops does it: AES-256-GCM with a 32-byte IV, the key path as AAD, and the
//! `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` envelope (standard base64 with padding).

use crate::error::{Error, Result};
use aes_gcm::AesGcm;
use aes_gcm::aead::array::{Array, typenum};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretBox};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;

type Gcm32 = AesGcm<aes::Aes256, typenum::U32>;
type Gcm12 = AesGcm<aes::Aes256, typenum::U12>;

/// The size of a sops data key.
pub const DATA_KEY_LEN: usize = 32;

/// A file's 32-byte data key. Never printed; zeroized on drop.
pub struct DataKey(SecretBox<[u8; DATA_KEY_LEN]>);

impl DataKey {
    /// A fresh random data key (OS randomness).
    pub fn generate() -> Self {
        let mut k = Box::new([0u8; DATA_KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(&mut k[..]);
        Self(SecretBox::new(k))
    }

    /// A data key from raw bytes (must be 32 bytes).
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; DATA_KEY_LEN] = bytes.try_into().map_err(|_| {
            Error::invalid(
                "data key",
                format!("expected {DATA_KEY_LEN} bytes, got {}", bytes.len()),
            )
        })?;
        Ok(Self(SecretBox::new(Box::new(arr))))
    }

    /// The raw key bytes. Handle with care.
    pub fn expose(&self) -> &[u8; DATA_KEY_LEN] {
        self.0.expose_secret()
    }
}

impl Clone for DataKey {
    fn clone(&self) -> Self {
        Self(SecretBox::new(Box::new(*self.0.expose_secret())))
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// The parsed fields of an `ENC[...]` value.
#[derive(Clone)]
pub struct EncValue {
    /// Ciphertext without the tag.
    pub data: Vec<u8>,
    /// The IV (32 bytes when sops wrote it).
    pub iv: Vec<u8>,
    /// The 16-byte GCM tag.
    pub tag: Vec<u8>,
    /// The declared type (`str`, `int`, `float`, `bool`, `time`, `comment`, `bytes`).
    pub ty: String,
}

/// Whether `s` looks like an sops ciphertext (it may still be malformed).
pub fn looks_encrypted(s: &str) -> bool {
    s.starts_with("ENC[")
}

fn field<'a>(rest: &'a str, name: &str, path: &str) -> Result<(&'a str, &'a str)> {
    let prefix = format!("{name}:");
    let rest = rest
        .strip_prefix(&prefix)
        .ok_or_else(|| Error::MalformedValue {
            path: path.into(),
            why: format!("missing the `{name}` field (truncated or malformed ENC[...] value)"),
        })?;
    match rest.find(',') {
        Some(i) if name != "type" => Ok((&rest[..i], &rest[i + 1..])),
        _ if name == "type" => Ok((rest, "")),
        _ => Err(Error::MalformedValue {
            path: path.into(),
            why: format!("the `{name}` field is not terminated (truncated ENC[...] value)"),
        }),
    }
}

fn b64(s: &str, name: &str, path: &str) -> Result<Vec<u8>> {
    STANDARD.decode(s).map_err(|_| Error::MalformedValue {
        path: path.into(),
        why: format!("the `{name}` field is not valid base64 (truncated or corrupted)"),
    })
}

/// Parse `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`. `path` names the value in errors.
pub fn parse_enc(s: &str, path: &str) -> Result<EncValue> {
    let inner = s
        .strip_prefix("ENC[AES256_GCM,")
        .ok_or_else(|| Error::MalformedValue {
            path: path.into(),
            why: "expected an `ENC[AES256_GCM,...]` value".into(),
        })?
        .strip_suffix(']')
        .ok_or_else(|| Error::MalformedValue {
            path: path.into(),
            why: "the ENC[...] value has no closing `]` (truncated)".into(),
        })?;
    let (data, rest) = field(inner, "data", path)?;
    let (iv, rest) = field(rest, "iv", path)?;
    let (tag, rest) = field(rest, "tag", path)?;
    let (ty, _) = field(rest, "type", path)?;
    let v = EncValue {
        data: b64(data, "data", path)?,
        iv: b64(iv, "iv", path)?,
        tag: b64(tag, "tag", path)?,
        ty: ty.to_string(),
    };
    if v.tag.len() != 16 {
        return Err(Error::MalformedValue {
            path: path.into(),
            why: format!(
                "the GCM tag is {} bytes, expected 16 (truncated)",
                v.tag.len()
            ),
        });
    }
    if v.iv.len() != 32 && v.iv.len() != 12 {
        return Err(Error::MalformedValue {
            path: path.into(),
            why: format!("the IV is {} bytes, expected 32 (truncated)", v.iv.len()),
        });
    }
    if ty.is_empty() {
        return Err(Error::MalformedValue {
            path: path.into(),
            why: "the `type` field is empty".into(),
        });
    }
    Ok(v)
}

/// Decrypt an `ENC[...]` value with `key` and the AAD `aad`. Returns the plaintext bytes and the parsed
/// envelope (for its type and IV).
pub fn decrypt(key: &DataKey, s: &str, aad: &str) -> Result<(SecretBox<Vec<u8>>, EncValue)> {
    let path = aad.to_string();
    let v = parse_enc(s, &path)?;
    let mut ct = v.data.clone();
    ct.extend_from_slice(&v.tag);
    let payload = Payload {
        msg: &ct,
        aad: aad.as_bytes(),
    };
    let pt = if v.iv.len() == 32 {
        let nonce: &Array<u8, typenum::U32> =
            v.iv.as_slice().try_into().map_err(|_| tampered(&path))?;
        Gcm32::new(key.expose().into()).decrypt(nonce, payload)
    } else {
        let nonce: &Array<u8, typenum::U12> =
            v.iv.as_slice().try_into().map_err(|_| tampered(&path))?;
        Gcm12::new(key.expose().into()).decrypt(nonce, payload)
    }
    .map_err(|_| tampered(&path))?;
    Ok((SecretBox::new(Box::new(pt)), v))
}

fn tampered(path: &str) -> Error {
    Error::ValueTampered { path: path.into() }
}

/// Encrypt `plaintext` with `key`, AAD `aad`, declared type `ty`, using `iv` (32 bytes) or a fresh one.
pub fn encrypt(
    key: &DataKey,
    plaintext: &[u8],
    aad: &str,
    ty: &str,
    iv: Option<&[u8; 32]>,
) -> Result<String> {
    let iv = match iv {
        Some(iv) => *iv,
        None => {
            let mut iv = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut iv);
            iv
        }
    };
    let nonce: Array<u8, typenum::U32> = Array(iv);
    let mut out = Gcm32::new(key.expose().into())
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| Error::invalid("value", format!("AES-GCM encryption failed at `{aad}`")))?;
    let tag = out.split_off(out.len() - 16);
    Ok(format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
        STANDARD.encode(&out),
        STANDARD.encode(iv),
        STANDARD.encode(&tag),
        ty
    ))
}

/// Remembers the IV each (AAD, type, plaintext) had when it was decrypted, so that re-encrypting an
/// unchanged value gives byte-identical ciphertext (sops' "IV stash"). Keyed by a hash: no plaintext is kept.
#[derive(Default, Clone)]
pub struct IvStash {
    ivs: HashMap<[u8; 32], [u8; 32]>,
}

impl std::fmt::Debug for IvStash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IvStash({} entries)", self.ivs.len())
    }
}

impl IvStash {
    fn slot(aad: &str, ty: &str, plaintext: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update((aad.len() as u64).to_be_bytes());
        h.update(aad.as_bytes());
        h.update((ty.len() as u64).to_be_bytes());
        h.update(ty.as_bytes());
        h.update(plaintext);
        h.finalize().into()
    }

    /// Remember `iv` for this value (only 32-byte IVs are reused).
    pub fn remember(&mut self, aad: &str, ty: &str, plaintext: &[u8], iv: &[u8]) {
        if let Ok(iv) = <[u8; 32]>::try_from(iv) {
            self.ivs.insert(Self::slot(aad, ty, plaintext), iv);
        }
    }

    /// The IV to reuse for this value, if it was seen unchanged.
    pub fn lookup(&self, aad: &str, ty: &str, plaintext: &[u8]) -> Option<&[u8; 32]> {
        self.ivs.get(&Self::slot(aad, ty, plaintext))
    }

    /// Whether the stash is empty.
    pub fn is_empty(&self) -> bool {
        self.ivs.is_empty()
    }
}
