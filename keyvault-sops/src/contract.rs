//! The contract suite (feature `fake`): what the real [`KeyVaultClient`] must do against a Key Vault, run
//! against [`FakeKeyVault`] by this crate's tests (and usable against any vault the fake stands in for).
//!
//! [`run`] checks, on a fresh key of `vault`: ensure semantics of CreateKey, GetKey latest and by version,
//! `encrypt`/`decrypt` round trips with RSA-OAEP-256 on every version, `wrapkey`/`unwrapkey`, the
//! [`AzureKeyVaultKey`] master key resolving an empty version, and `KeyNotFound` for an unknown key.

use crate::api::MasterKey;
use crate::client::{AzureKeyVaultKey, CreateKeyOptions, KeyVaultClient, KeyVaultError};
use crate::fake::FakeKeyVault;
use crate::metadata::KeyEntry;
use secrecy::ExposeSecret as _;

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what.to_owned()) }
}

/// Runs the contract against `vault` (`https://<name>.vault.azure.net`) served by `fake`.
pub async fn run(client: &KeyVaultClient, fake: &FakeKeyVault, vault: &str) -> Result<(), String> {
    let e = |what: &str| {
        let what = what.to_owned();
        move |err: KeyVaultError| format!("{what}: {err}")
    };
    let name = "contract-key";
    let opts = CreateKeyOptions {
        key_size: 3072,
        ..CreateKeyOptions::default()
    };
    let created = client
        .ensure_key(vault, name, &opts)
        .await
        .map_err(e("ensure (create)"))?;
    check(created.created, "ensure_key creates a missing key")?;
    let same = client
        .ensure_key(vault, name, &opts)
        .await
        .map_err(e("ensure (exists)"))?;
    check(!same.created, "ensure_key does not create an existing key")?;
    check(
        same.bundle.key.kid == created.bundle.key.kid,
        "ensure_key returns the existing version",
    )?;
    let v2 = client
        .create_key(vault, name, &opts)
        .await
        .map_err(e("create v2"))?;
    check(
        v2.version() != created.bundle.version(),
        "CreateKey adds a new version",
    )?;
    check(
        fake.versions(vault, name).len() == 2,
        "the fake holds two versions",
    )?;
    let latest = client
        .get_key(vault, name, "")
        .await
        .map_err(e("get latest"))?;
    check(
        latest.version() == v2.version(),
        "GetKey without a version is the latest",
    )?;
    for version in [created.bundle.version(), v2.version()] {
        let data = [0x5au8; 32];
        let enc = client
            .encrypt(vault, name, version, &data)
            .await
            .map_err(e("encrypt"))?;
        check(
            enc.kid.ends_with(&format!("/keys/{name}/{version}")),
            "encrypt answers the full kid",
        )?;
        let dec = client
            .decrypt(vault, name, version, &enc.value)
            .await
            .map_err(e("decrypt"))?;
        check(
            dec.expose_secret().as_slice() == data,
            "decrypt inverts encrypt",
        )?;
        let wrapped = client
            .wrap_key(vault, name, version, &data)
            .await
            .map_err(e("wrapkey"))?;
        let unwrapped = client
            .unwrap_key(vault, name, version, &wrapped.value)
            .await
            .map_err(e("unwrapkey"))?;
        check(
            unwrapped.expose_secret().as_slice() == data,
            "unwrapkey inverts wrapkey",
        )?;
    }
    let key = AzureKeyVaultKey::from_url(client.clone(), &format!("{vault}/keys/{name}"))
        .map_err(|err| format!("key from URL: {err}"))?;
    let entry = key
        .encrypt(&[1u8; 32])
        .await
        .map_err(|err| format!("master key encrypt: {err}"))?;
    match &entry {
        KeyEntry::AzureKv(a) => check(
            a.version == v2.version(),
            "an unversioned key uses the latest version",
        )?,
        _ => return Err("the master key wrote a non-azure_kv entry".into()),
    }
    let back = key
        .decrypt(&entry)
        .await
        .map_err(|err| format!("master key decrypt: {err}"))?;
    check(
        back.expose_secret().as_slice() == [1u8; 32],
        "the master key round-trips",
    )?;
    match client.get_key(vault, "no-such-key", "").await {
        Err(KeyVaultError::KeyNotFound { .. }) => Ok(()),
        Err(other) => Err(format!("unknown key: expected KeyNotFound, got {other}")),
        Ok(_) => Err("unknown key: GetKey succeeded".into()),
    }
}
