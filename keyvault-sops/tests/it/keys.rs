//! Master keys: age, OpenPGP, key groups with Shamir, rotate, updatekeys, and the azure_kv slot.

use crate::common::*;
use async_trait::async_trait;
use keyvault_sops::metadata::AzureKvEntry;
use keyvault_sops::{DecryptOptions, EncryptOptions, Error, Format, KeyEntry, MasterKey, PgpKey};
use secrecy::SecretBox;
use std::sync::Arc;

const PLAIN: &str = "a: secret-a\nb: secret-b\n";

#[tokio::test]
async fn key_groups_need_the_shamir_threshold() {
    let (k1, k2, k3) = (age(), age(), age());
    let groups = vec![
        group(&[k1.clone()]),
        group(&[k2.clone()]),
        group(&[k3.clone()]),
    ];
    let opts = EncryptOptions {
        shamir_threshold: Some(2),
        ..Default::default()
    };
    let out = keyvault_sops::encrypt_bytes(PLAIN.as_bytes(), Format::Yaml, &groups, &opts)
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("    key_groups:\n        - age:\n")
            && text.contains("    shamir_threshold: 2\n"),
        "{text}"
    );
    assert!(text.contains("          hc_vault: []\n"), "{text}");
    let open_with = |keys: Vec<Arc<dyn MasterKey>>| {
        let text = text.clone();
        async move {
            keyvault_sops::open_bytes(
                text.as_bytes(),
                Format::Yaml,
                &keys,
                &DecryptOptions::default(),
            )
            .await
        }
    };
    let f = open_with([group(&[k1.clone()]), group(&[k3.clone()])].concat())
        .await
        .unwrap();
    assert_eq!(
        std::str::from_utf8(&f.to_plain_bytes(Format::Yaml).unwrap()).unwrap(),
        PLAIN
    );
    assert!(
        open_with([group(&[k2.clone()]), group(&[k3.clone()])].concat())
            .await
            .is_ok()
    );
    let e = open_with(group(&[k2.clone()])).await.unwrap_err();
    assert!(matches!(e, Error::NoDataKey { .. }), "{e:?}");
}

#[tokio::test]
async fn rotate_replaces_the_data_key_and_every_ciphertext() {
    let (k1, k2) = (age(), age());
    let text = encrypt_with(PLAIN, Format::Yaml, &k1, EncryptOptions::default()).await;
    let mut file = open(&text, Format::Yaml, &k1).await.unwrap();
    let old_key = *file.data_key().expose();
    file.rotate(&[group(&[k2.clone()])]).await.unwrap();
    assert_ne!(*file.data_key().expose(), old_key);
    let rotated = String::from_utf8(file.to_encrypted_bytes(Format::Yaml, None).unwrap()).unwrap();
    let a = |t: &str| t.lines().find(|l| l.starts_with("a:")).unwrap().to_string();
    assert_ne!(a(&text), a(&rotated));
    assert!(matches!(
        open(&rotated, Format::Yaml, &k1).await,
        Err(Error::NoDataKey { .. })
    ));
    assert!(
        open(&rotated, Format::Yaml, &k2)
            .await
            .unwrap()
            .mac_verified
    );
}

#[tokio::test]
async fn update_keys_adds_and_removes_without_touching_values() {
    let (k1, k2) = (age(), age());
    let text = encrypt_with(
        PLAIN,
        Format::Yaml,
        &k1,
        EncryptOptions {
            now: at(1_700_000_000),
            ..Default::default()
        },
    )
    .await;
    let mut file = open(&text, Format::Yaml, &k1).await.unwrap();
    file.update_keys(&[group(&[k1.clone(), k2.clone()])], None)
        .await
        .unwrap();
    let both = String::from_utf8(
        file.to_encrypted_bytes(Format::Yaml, at(1_700_000_000))
            .unwrap(),
    )
    .unwrap();
    // the values and the first key's entry are unchanged
    assert!(both.starts_with(&text[..text.find("sops:").unwrap()]));
    let k1_entry = |t: &str| t[t.find("age:").unwrap()..t.find("recipient:").unwrap()].to_string();
    assert_eq!(k1_entry(&text), k1_entry(&both));
    assert!(open(&both, Format::Yaml, &k2).await.is_ok());
    // now drop k1
    let mut file = open(&both, Format::Yaml, &k2).await.unwrap();
    file.update_keys(&[group(&[k2.clone()])], None)
        .await
        .unwrap();
    let only2 = String::from_utf8(file.to_encrypted_bytes(Format::Yaml, None).unwrap()).unwrap();
    assert!(matches!(
        open(&only2, Format::Yaml, &k1).await,
        Err(Error::NoDataKey { .. })
    ));
    assert!(open(&only2, Format::Yaml, &k2).await.is_ok());
}

fn generate_pgp() -> (String, String) {
    use pgp::composed::{
        ArmorOptions, EncryptionCaps, KeyType, SecretKeyParamsBuilder, SignedPublicKey,
        SubkeyParamsBuilder,
    };
    use pgp::crypto::ecc_curve::ECCCurve;
    let mut enc = SubkeyParamsBuilder::default();
    enc.key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy))
        .can_sign(false)
        .can_encrypt(EncryptionCaps::All)
        .can_authenticate(false);
    let mut params = SecretKeyParamsBuilder::default();
    params
        .key_type(KeyType::Ed25519Legacy)
        .can_certify(true)
        .can_sign(true)
        .can_encrypt(EncryptionCaps::None)
        .primary_user_id("azflux test <test@example.invalid>".into())
        .subkeys(vec![enc.build().unwrap()]);
    let secret = params
        .build()
        .unwrap()
        .generate(rand::thread_rng())
        .unwrap();
    let public = SignedPublicKey::from(secret.clone());
    (
        secret.to_armored_string(ArmorOptions::default()).unwrap(),
        public.to_armored_string(ArmorOptions::default()).unwrap(),
    )
}

#[tokio::test]
async fn pgp_keys_wrap_and_unwrap_the_data_key() {
    let (secret, public) = generate_pgp();
    let pubkey = PgpKey::parse_armored(&public).unwrap().remove(0);
    assert!(!pubkey.has_secret());
    let fp = pubkey.fingerprint().to_string();
    assert_eq!(fp.len(), 40);
    let groups = vec![vec![Arc::new(pubkey) as Arc<dyn MasterKey>]];
    let out = keyvault_sops::encrypt_bytes(
        PLAIN.as_bytes(),
        Format::Yaml,
        &groups,
        &EncryptOptions::default(),
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("    pgp:\n        - created_at: \"")
            && text.contains(&format!("          fp: {fp}\n")),
        "{text}"
    );
    assert!(
        text.contains("          enc: |\n            -----BEGIN PGP MESSAGE-----\n"),
        "{text}"
    );
    let seckey: Vec<Arc<dyn MasterKey>> = PgpKey::parse_armored(&secret)
        .unwrap()
        .into_iter()
        .map(|k| Arc::new(k) as _)
        .collect();
    let f = keyvault_sops::open_bytes(
        text.as_bytes(),
        Format::Yaml,
        &seckey,
        &DecryptOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        std::str::from_utf8(&f.to_plain_bytes(Format::Yaml).unwrap()).unwrap(),
        PLAIN
    );
}

/// A stand-in for the Key Vault client: it "wraps" by XOR with a pad, to show an `azure_kv` master key goes
/// through the same engine (entry layout, decryption order, round trip).
struct XorVaultKey;

#[async_trait]
impl MasterKey for XorVaultKey {
    fn kind(&self) -> &'static str {
        "azure_kv"
    }
    fn id(&self) -> String {
        "https://v.vault.azure.net/keys/k/0123456789abcdef0123456789abcdef".into()
    }
    fn can_try(&self, entry: &KeyEntry) -> bool {
        matches!(entry, KeyEntry::AzureKv(_))
    }
    async fn encrypt(&self, data_key: &[u8]) -> keyvault_sops::Result<KeyEntry> {
        use base64::Engine as _;
        let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(data_key.iter().map(|b| b ^ 0x5a).collect::<Vec<_>>());
        Ok(KeyEntry::AzureKv(AzureKvEntry {
            vault_url: "https://v.vault.azure.net".into(),
            name: "k".into(),
            version: "0123456789abcdef0123456789abcdef".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            enc,
        }))
    }
    async fn decrypt(&self, entry: &KeyEntry) -> keyvault_sops::Result<SecretBox<Vec<u8>>> {
        use base64::Engine as _;
        let KeyEntry::AzureKv(e) = entry else {
            unreachable!()
        };
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&e.enc)
            .unwrap();
        Ok(SecretBox::new(Box::new(
            raw.iter().map(|b| b ^ 0x5a).collect(),
        )))
    }
}

#[tokio::test]
async fn an_azure_kv_master_key_slots_into_the_engine() {
    let k = age();
    let groups = vec![vec![
        Arc::new(XorVaultKey) as Arc<dyn MasterKey>,
        k.clone() as Arc<dyn MasterKey>,
    ]];
    let out = keyvault_sops::encrypt_bytes(
        PLAIN.as_bytes(),
        Format::Yaml,
        &groups,
        &EncryptOptions::default(),
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    let age_at = text.find("    age:").unwrap();
    let az_at = text
        .find("    azure_kv:\n        - created_at: \"2026-01-01T00:00:00Z\"\n          enc: ")
        .unwrap();
    assert!(age_at < az_at, "{text}");
    assert!(text.contains("          name: k\n          vault_url: https://v.vault.azure.net\n          version: 0123456789abcdef0123456789abcdef\n"));
    // either key opens it
    for keys in [
        vec![Arc::new(XorVaultKey) as Arc<dyn MasterKey>],
        group(&[k]),
    ] {
        let f = keyvault_sops::open_bytes(
            text.as_bytes(),
            Format::Yaml,
            &keys,
            &DecryptOptions::default(),
        )
        .await
        .unwrap();
        assert!(f.mac_verified);
    }
}
