//! The Azure Key Vault master key against the Key Vault fake: round trips (the `enc` checked with the RSA
//! private key independently), minimal re-encryption diffs, the 401 challenge then token flow, 403
//! ForbiddenByRbac, KeyNotFound, throttling, CreateKey with ensure semantics, wrap/unwrap, and the contract
//! suite.

use crate::common::changed_lines;
use azflux_core::credential::CachedCredential;
use azflux_core::fake::FakeCloud;
use azflux_core::fake::faults::{Fault, FaultMatch};
use base64::Engine as _;
use keyvault_sops::client::{CRYPTO_USER_ROLE, CreateKeyOptions};
use keyvault_sops::fake::FakeKeyVault;
use keyvault_sops::{
    AzureKeyVaultKey, DecryptOptions, EncryptOptions, Error, Format, KeyEntry, KeyVaultClient,
    KeyVaultError, MasterKey, decrypt_bytes, encrypt_bytes, open_bytes,
};
use secrecy::ExposeSecret as _;
use std::sync::{Arc, OnceLock};

const VAULT: &str = "https://kv1.vault.azure.net";
const SCOPE: &str = "https://vault.azure.net/.default";
const PLAIN: &str = "# database\npassword: hunter2\nport: 5432\nhost_unencrypted: db.local\nlist:\n    - a\n    - b\n";

/// One 2048-bit test key for the whole test binary (generation is the slow part).
fn test_key() -> rsa::PrivateKey {
    static KEY: OnceLock<rsa::PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap())
        .clone()
}

struct World {
    cloud: FakeCloud,
    fake: FakeKeyVault,
    credential: Arc<CachedCredential>,
    client: KeyVaultClient,
}

async fn world() -> World {
    let cloud = FakeCloud::start().await;
    let fake = FakeKeyVault::mount(&cloud).await;
    fake.set_generated_key_bits(Some(2048));
    let credential = cloud.credential().unwrap();
    let client = KeyVaultClient::new(&cloud.cloud(), credential.clone(), &cloud.http_options());
    World {
        cloud,
        fake,
        credential,
        client,
    }
}

fn key(w: &World, url: &str) -> Arc<AzureKeyVaultKey> {
    Arc::new(AzureKeyVaultKey::from_url(w.client.clone(), url).unwrap())
}

fn groups(k: &Arc<AzureKeyVaultKey>) -> Vec<Vec<Arc<dyn MasterKey>>> {
    vec![vec![k.clone() as Arc<dyn MasterKey>]]
}

fn azure_entry(text: &str) -> keyvault_sops::AzureKvEntry {
    let tree = Format::Yaml.parse_encrypted(text.as_bytes()).unwrap();
    let block = keyvault_sops::tree::get(&tree.documents[0], "sops").unwrap();
    let meta = keyvault_sops::Metadata::from_value(block).unwrap();
    meta.entries()
        .find_map(|e| match e {
            KeyEntry::AzureKv(a) => Some(a.clone()),
            _ => None,
        })
        .expect("an azure_kv entry")
}

fn kv_err(e: Error) -> KeyVaultError {
    match e {
        Error::KeyVault(k) => *k,
        other => panic!("expected a Key Vault error, got {other:?}"),
    }
}

#[tokio::test]
async fn round_trip_with_an_unversioned_key_and_enc_opens_with_the_private_key() {
    let w = world().await;
    let private = test_key();
    let kid = w.fake.import_key("kv1", "sops-key", None, private.clone());
    let version = kid.rsplit('/').next().unwrap().to_owned();
    let k = key(&w, &format!("{VAULT}/keys/sops-key"));
    assert_eq!(k.version(), "");

    let out = encrypt_bytes(
        PLAIN.as_bytes(),
        Format::Yaml,
        &groups(&k),
        &EncryptOptions::default(),
    )
    .await
    .unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(!text.contains("hunter2"));
    assert!(text.contains("host_unencrypted: db.local"));
    // the empty version was resolved with GetKey before writing; GetKey was the request that got challenged
    assert_eq!(w.fake.challenges(), 1);
    assert_eq!(w.cloud.request_count("keyvault.get"), 2);
    assert_eq!(w.cloud.request_count("keyvault.encrypt"), 1);
    assert_eq!(k.version(), version);
    let entry = azure_entry(&text);
    assert_eq!(entry.vault_url, VAULT);
    assert_eq!(entry.name, "sops-key");
    assert_eq!(entry.version, version);
    assert!(!entry.created_at.is_empty());
    assert!(text.contains(&format!("          version: {version}\n")));

    // the enc field is the RSA-OAEP-256 ciphertext of the data key: open it with the private key ourselves
    let ct = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&entry.enc)
        .expect("enc is base64url without padding");
    assert_eq!(ct.len(), 256);
    let data_key = private
        .oaep_decrypt_with_rng::<rsa::sha2::Sha256, _>(&mut getrandom::SysRng, &ct)
        .unwrap();
    assert_eq!(data_key.len(), 32);

    // and the file decrypts through the Key Vault decrypt operation
    let keys: Vec<Arc<dyn MasterKey>> = vec![k.clone()];
    let opened = open_bytes(&out, Format::Yaml, &keys, &DecryptOptions::default())
        .await
        .unwrap();
    assert_eq!(opened.data_key().expose(), data_key.as_slice());
    assert!(opened.mac_verified);
    let plain = decrypt_bytes(&out, Format::Yaml, &keys, &DecryptOptions::default())
        .await
        .unwrap();
    assert_eq!(plain.as_slice(), PLAIN.as_bytes());
    // two opens, one decrypt call each: the vault's challenge is remembered
    assert_eq!(w.cloud.request_count("keyvault.decrypt"), 2);
    assert_eq!(w.fake.challenges(), 1);
}

#[tokio::test]
async fn a_key_built_from_the_entry_decrypts_and_reencrypting_changes_only_lastmodified_and_mac() {
    let w = world().await;
    w.fake.import_key(
        "kv1",
        "sops-key",
        Some("0123456789abcdef0123456789abcdef"),
        test_key(),
    );
    let k = key(
        &w,
        &format!("{VAULT}/keys/sops-key/0123456789abcdef0123456789abcdef"),
    );
    let out = encrypt_bytes(
        PLAIN.as_bytes(),
        Format::Yaml,
        &groups(&k),
        &EncryptOptions::default(),
    )
    .await
    .unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert_eq!(
        w.cloud.request_count("keyvault.get"),
        0,
        "a versioned key needs no GetKey"
    );

    // a reader that only has the file: the key comes from its azure_kv entry, through a fresh client
    let entry = azure_entry(&text);
    let reader = KeyVaultClient::new(
        &w.cloud.cloud(),
        w.credential.clone(),
        &w.cloud.http_options(),
    );
    let from_entry = Arc::new(AzureKeyVaultKey::from_entry(reader, &entry).unwrap());
    assert_eq!(from_entry.created_at(), entry.created_at);
    let keys: Vec<Arc<dyn MasterKey>> = vec![from_entry];
    let file = open_bytes(&out, Format::Yaml, &keys, &DecryptOptions::default())
        .await
        .unwrap();
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let again =
        String::from_utf8(file.to_encrypted_bytes(Format::Yaml, Some(later)).unwrap()).unwrap();
    let changed = changed_lines(&text, &again);
    assert_eq!(changed.len(), 2, "{changed:#?}");
    assert!(
        changed[0].trim_start().starts_with("lastmodified:"),
        "{changed:#?}"
    );
    assert!(
        changed[1].trim_start().starts_with("mac: ENC["),
        "{changed:#?}"
    );
}

#[tokio::test]
async fn the_first_request_is_challenged_then_tokens_flow() {
    let w = world().await;
    w.fake.import_key(
        "kv1",
        "k",
        Some("00000000000000000000000000000001"),
        test_key(),
    );
    let k = key(
        &w,
        &format!("{VAULT}/keys/k/00000000000000000000000000000001"),
    );
    k.encrypt(&[7u8; 32]).await.unwrap();
    // one unauthenticated request answered with the challenge, then the same request with a token
    assert_eq!(w.fake.challenges(), 1);
    assert_eq!(w.cloud.request_count("keyvault.encrypt"), 2);
    assert_eq!(w.credential.token_requests(SCOPE), 1);
    let c = w.client.challenge_for(VAULT).unwrap();
    assert_eq!(c.tenant, w.cloud.sandbox().tenant_id);
    assert_eq!(c.resource, "https://vault.azure.net");

    // later requests to the vault carry the (cached) token from the start
    let entry = k.encrypt(&[8u8; 32]).await.unwrap();
    let plain = k.decrypt(&entry).await.unwrap();
    assert_eq!(plain.expose_secret().as_slice(), &[8u8; 32]);
    assert_eq!(w.fake.challenges(), 1);
    assert_eq!(w.cloud.request_count("keyvault.encrypt"), 3);
    assert_eq!(w.cloud.request_count("keyvault.decrypt"), 1);
    assert_eq!(w.credential.token_requests(SCOPE), 1);

    // another vault is challenged once on its own
    w.fake.import_key(
        "kv2",
        "k",
        Some("00000000000000000000000000000002"),
        test_key(),
    );
    let k2 = key(
        &w,
        "https://kv2.vault.azure.net/keys/k/00000000000000000000000000000002",
    );
    k2.encrypt(&[9u8; 32]).await.unwrap();
    assert_eq!(w.fake.challenges(), 2);
}

#[tokio::test]
async fn forbidden_by_rbac_names_the_vault_the_key_and_the_role_to_grant() {
    let w = world().await;
    w.fake.import_key("kv1", "sops-key", None, test_key());
    w.fake.revoke("kv1", &w.cloud.sandbox().object_id);
    let k = key(&w, &format!("{VAULT}/keys/sops-key"));
    let err = encrypt_bytes(
        PLAIN.as_bytes(),
        Format::Yaml,
        &groups(&k),
        &EncryptOptions::default(),
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    for needle in [
        VAULT,
        "sops-key",
        CRYPTO_USER_ROLE,
        "ForbiddenByRbac",
        "`get`",
    ] {
        assert!(msg.contains(needle), "`{needle}` missing from: {msg}");
    }
    let KeyVaultError::Forbidden { detail, role, .. } = kv_err(err) else {
        panic!("not Forbidden")
    };
    assert_eq!(role, CRYPTO_USER_ROLE);
    assert_eq!(detail.status, 403);
    assert_eq!(detail.inner_code.as_deref(), Some("ForbiddenByRbac"));

    // granting the principal a data-plane role makes the same key work
    w.fake.grant("kv1", &w.cloud.sandbox().object_id);
    encrypt_bytes(
        PLAIN.as_bytes(),
        Format::Yaml,
        &groups(&k),
        &EncryptOptions::default(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn decrypting_without_access_lists_the_forbidden_key_in_the_attempts() {
    let w = world().await;
    w.fake.import_key(
        "kv1",
        "sops-key",
        Some("0123456789abcdef0123456789abcdef"),
        test_key(),
    );
    let k = key(
        &w,
        &format!("{VAULT}/keys/sops-key/0123456789abcdef0123456789abcdef"),
    );
    let out = encrypt_bytes(
        PLAIN.as_bytes(),
        Format::Yaml,
        &groups(&k),
        &EncryptOptions::default(),
    )
    .await
    .unwrap();
    w.fake.revoke("kv1", &w.cloud.sandbox().object_id);
    let keys: Vec<Arc<dyn MasterKey>> = vec![k];
    let err = decrypt_bytes(&out, Format::Yaml, &keys, &DecryptOptions::default())
        .await
        .unwrap_err();
    let Error::NoDataKey { attempts } = &err else {
        panic!("{err:?}")
    };
    assert!(
        attempts
            .iter()
            .any(|a| a.contains("Key Vault Crypto User") && a.contains("sops-key")),
        "{attempts:?}"
    );
}

#[tokio::test]
async fn a_missing_key_is_key_not_found() {
    let w = world().await;
    let k = key(&w, &format!("{VAULT}/keys/nope"));
    let err = k.encrypt(&[1u8; 32]).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("`nope` was not found in Key Vault https://kv1.vault.azure.net"),
        "{err}"
    );
    assert!(matches!(kv_err(err), KeyVaultError::KeyNotFound { .. }));

    w.fake.import_key("kv1", "there", None, test_key());
    let k = key(
        &w,
        &format!("{VAULT}/keys/there/ffffffffffffffffffffffffffffffff"),
    );
    let err = k.encrypt(&[1u8; 32]).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("version ffffffffffffffffffffffffffffffff"),
        "{err}"
    );
    let KeyVaultError::KeyNotFound { key, version, .. } = kv_err(err) else {
        panic!("not KeyNotFound")
    };
    assert_eq!(
        (key.as_str(), version.as_str()),
        ("there", "ffffffffffffffffffffffffffffffff")
    );
}

#[tokio::test]
async fn throttling_is_retried_then_surfaces_as_throttled() {
    let w = world().await;
    w.fake.import_key(
        "kv1",
        "k",
        Some("0000000000000000000000000000000a"),
        test_key(),
    );
    let k = key(
        &w,
        &format!("{VAULT}/keys/k/0000000000000000000000000000000a"),
    );
    k.encrypt(&[1u8; 32]).await.unwrap();
    let before = w.cloud.request_count("keyvault.encrypt");
    w.cloud.faults().inject(
        FaultMatch::path("/encrypt").method("POST"),
        Fault::throttle(2),
        2,
    );
    k.encrypt(&[2u8; 32]).await.unwrap();
    assert_eq!(w.cloud.request_count("keyvault.encrypt") - before, 3);

    w.cloud.faults().inject(
        FaultMatch::path("/encrypt").method("POST"),
        Fault::throttle(3),
        50,
    );
    let err = k.encrypt(&[3u8; 32]).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("throttled `encrypt`") && msg.contains(VAULT),
        "{msg}"
    );
    let KeyVaultError::Throttled { retry_after, .. } = kv_err(err) else {
        panic!("not Throttled")
    };
    assert_eq!(retry_after, Some(std::time::Duration::from_secs(3)));
}

#[tokio::test]
async fn create_key_has_ensure_semantics_and_makes_new_versions() {
    let w = world().await;
    let opts = CreateKeyOptions::default();
    let first = w.client.ensure_key(VAULT, "sops", &opts).await.unwrap();
    assert!(first.created);
    assert_eq!(w.cloud.request_count("keyvault.create"), 1);
    let again = w.client.ensure_key(VAULT, "sops", &opts).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.bundle.key.kid, first.bundle.key.kid);
    assert_eq!(w.cloud.request_count("keyvault.create"), 1);
    assert_eq!(w.fake.versions("kv1", "sops").len(), 1);

    let second = w.client.create_key(VAULT, "sops", &opts).await.unwrap();
    let versions = w.fake.versions("kv1", "sops");
    assert_eq!(versions.len(), 2);
    assert_eq!(second.version(), versions[1]);
    let latest = w.client.get_key(VAULT, "sops", "").await.unwrap();
    assert_eq!(latest.version(), versions[1]);
    let old = w.client.get_key(VAULT, "sops", &versions[0]).await.unwrap();
    assert_eq!(old.key.kid, first.bundle.key.kid);
    assert_eq!(old.key.kty, "RSA");
    assert_eq!(old.key.e.as_deref(), Some("AQAB"));

    // an unversioned key encrypts with the latest version; older entries still decrypt
    let k = key(&w, &format!("{VAULT}/keys/sops"));
    let entry = k.encrypt(&[5u8; 32]).await.unwrap();
    let KeyEntry::AzureKv(e) = &entry else {
        panic!()
    };
    assert_eq!(e.version, versions[1]);
    let old_key = key(&w, &format!("{VAULT}/keys/sops/{}", versions[0]));
    let old_entry = old_key.encrypt(&[6u8; 32]).await.unwrap();
    assert_eq!(
        k.decrypt(&old_entry)
            .await
            .unwrap()
            .expose_secret()
            .as_slice(),
        &[6u8; 32]
    );

    // bad sizes are refused by the service
    let err = w
        .client
        .create_key(
            VAULT,
            "odd",
            &CreateKeyOptions {
                key_size: 1000,
                ..opts
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("BadParameter"), "{err}");
}

#[tokio::test]
async fn wrap_unwrap_and_rsa_oaep_round_trip() {
    let w = world().await;
    let private = test_key();
    w.fake.import_key(
        "kv1",
        "k",
        Some("0000000000000000000000000000000b"),
        private.clone(),
    );
    let v = "0000000000000000000000000000000b";
    let wrapped = w
        .client
        .wrap_key(VAULT, "k", v, b"0123456789abcdef")
        .await
        .unwrap();
    assert!(
        wrapped
            .kid
            .ends_with("/keys/k/0000000000000000000000000000000b")
    );
    let unwrapped = w
        .client
        .unwrap_key(VAULT, "k", v, &wrapped.value)
        .await
        .unwrap();
    assert_eq!(unwrapped.expose_secret().as_slice(), b"0123456789abcdef");

    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let r = w
        .client
        .key_operation(
            VAULT,
            "k",
            v,
            "encrypt",
            "RSA-OAEP",
            b64.encode(b"sha1 oaep"),
        )
        .await
        .unwrap();
    let ct = b64.decode(&r.value).unwrap();
    let pt = private
        .oaep_decrypt_with_rng::<sha1::Sha1, _>(&mut getrandom::SysRng, &ct)
        .map(|_| ())
        .is_ok();
    assert!(pt, "RSA-OAEP (SHA-1) ciphertext opens with the private key");
    let back = w
        .client
        .key_operation(VAULT, "k", v, "decrypt", "RSA-OAEP", r.value.clone())
        .await
        .unwrap();
    assert_eq!(b64.decode(back.value).unwrap(), b"sha1 oaep");

    // RSA-OAEP-256 ciphertext does not open as RSA-OAEP
    let wrong = w
        .client
        .key_operation(VAULT, "k", v, "decrypt", "RSA-OAEP-256", r.value)
        .await
        .unwrap_err();
    assert!(wrong.to_string().contains("BadParameter"), "{wrong}");
}

#[tokio::test]
async fn the_fake_requires_api_version_and_a_key_vault_token() {
    use azflux_core::http::{HttpPipeline, json_request};
    use azure_core::http::{Method, Url};
    let w = world().await;
    w.fake.import_key("kv1", "k", None, test_key());
    let pipeline = HttpPipeline::new(&w.cloud.http_options());
    let token = w.cloud.entra().mint(
        &w.cloud.sandbox().tenant_id,
        &w.cloud.sandbox().client_id,
        &w.cloud.sandbox().object_id,
        "https://vault.azure.net",
    );
    let send = |url: &str, bearer: Option<String>| {
        let pipeline = pipeline.clone();
        let url = Url::parse(url).unwrap();
        async move {
            let mut req = json_request(Method::Get, url, None::<&()>).unwrap();
            if let Some(b) = bearer {
                req.insert_header("authorization", format!("Bearer {b}"));
            }
            pipeline.send(&mut req).await.unwrap()
        }
    };
    let no_version = send(&format!("{VAULT}/keys/k"), Some(token.clone())).await;
    assert_eq!(no_version.status, 400);
    for version in ["7.4", "7.6", "2025-07-01", "2026-01-01-preview"] {
        let ok = send(
            &format!("{VAULT}/keys/k?api-version={version}"),
            Some(token.clone()),
        )
        .await;
        assert_eq!(ok.status, 200, "{version}");
    }
    let unknown = send(&format!("{VAULT}/keys/k?api-version=7.9"), Some(token)).await;
    assert_eq!(unknown.status, 400);
    assert!(
        String::from_utf8_lossy(&unknown.body)
            .contains("The specified version (7.9) is not recognized"),
        "{}",
        String::from_utf8_lossy(&unknown.body)
    );
    let arm_token = w.cloud.entra().mint(
        &w.cloud.sandbox().tenant_id,
        &w.cloud.sandbox().client_id,
        &w.cloud.sandbox().object_id,
        "https://management.azure.com",
    );
    let wrong_audience = send(&format!("{VAULT}/keys/k?api-version=7.4"), Some(arm_token)).await;
    assert_eq!(wrong_audience.status, 401);
    assert!(String::from_utf8_lossy(&wrong_audience.body).contains("AKV10022"));
    let none = send(&format!("{VAULT}/keys/k?api-version=7.4"), None).await;
    assert_eq!(none.status, 401);
    assert!(
        none.header("www-authenticate")
            .unwrap()
            .contains(r#"resource="https://vault.azure.net""#)
    );
}

#[tokio::test]
async fn tokens_never_go_to_hosts_that_are_not_key_vaults() {
    let w = world().await;
    let err =
        AzureKeyVaultKey::from_url(w.client.clone(), "https://evil.example/keys/k/1").unwrap_err();
    assert!(
        err.to_string().contains("not an Azure Key Vault URL"),
        "{err}"
    );
    let err = w
        .client
        .get_key("https://vault.azure.net.evil.io", "k", "")
        .await
        .unwrap_err();
    assert!(matches!(err, KeyVaultError::NotAVault { .. }));
    assert_eq!(w.cloud.request_count_prefix("keyvault."), 0);
}

#[tokio::test]
async fn the_contract_suite_passes_against_the_fake() {
    let w = world().await;
    keyvault_sops::contract::run(&w.client, &w.fake, "https://contract.vault.azure.net")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_new_role_assignment_takes_effect_after_its_propagation_time() {
    let w = world().await;
    let oid = w.cloud.sandbox().object_id.clone();
    w.fake.revoke("kv1", &oid);
    w.fake
        .grant_after("kv1", &oid, std::time::Duration::from_secs(60));
    let options = keyvault_sops::CreateKeyOptions::default();
    let err = w
        .client
        .ensure_key(VAULT, "sops", &options)
        .await
        .unwrap_err();
    assert!(
        matches!(err, KeyVaultError::Forbidden { .. }),
        "still propagating: {err}"
    );
    w.cloud
        .manual_clock()
        .unwrap()
        .advance(std::time::Duration::from_secs(59));
    assert!(w.client.ensure_key(VAULT, "sops", &options).await.is_err());
    w.cloud
        .manual_clock()
        .unwrap()
        .advance(std::time::Duration::from_secs(1));
    let ensured = w.client.ensure_key(VAULT, "sops", &options).await.unwrap();
    assert!(ensured.created);
}
