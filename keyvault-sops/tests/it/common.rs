//! Shared helpers.

use keyvault_sops::{AgeKey, DecryptOptions, EncryptOptions, Format, MasterKey, SopsFile};
use std::sync::Arc;
use time::OffsetDateTime;

pub fn age() -> Arc<AgeKey> {
    Arc::new(AgeKey::generate())
}

pub fn group(keys: &[Arc<AgeKey>]) -> Vec<Arc<dyn MasterKey>> {
    keys.iter()
        .map(|k| k.clone() as Arc<dyn MasterKey>)
        .collect()
}

pub fn at(unix: i64) -> Option<OffsetDateTime> {
    Some(OffsetDateTime::from_unix_timestamp(unix).unwrap())
}

pub async fn encrypt_with(
    plain: &str,
    format: Format,
    key: &Arc<AgeKey>,
    opts: EncryptOptions,
) -> String {
    let out = keyvault_sops::encrypt_bytes(
        plain.as_bytes(),
        format,
        &[group(std::slice::from_ref(key))],
        &opts,
    )
    .await
    .unwrap();
    String::from_utf8(out).unwrap()
}

pub async fn open(
    text: &str,
    format: Format,
    key: &Arc<AgeKey>,
) -> keyvault_sops::Result<SopsFile> {
    keyvault_sops::open_bytes(
        text.as_bytes(),
        format,
        &group(std::slice::from_ref(key)),
        &DecryptOptions::default(),
    )
    .await
}

/// Lines that differ between two texts of the same line count (panics otherwise).
pub fn changed_lines(a: &str, b: &str) -> Vec<String> {
    let (la, lb): (Vec<_>, Vec<_>) = (a.lines().collect(), b.lines().collect());
    assert_eq!(la.len(), lb.len(), "line counts differ:\n{a}\n---\n{b}");
    la.iter()
        .zip(&lb)
        .filter(|(x, y)| x != y)
        .map(|(x, _)| x.to_string())
        .collect()
}
