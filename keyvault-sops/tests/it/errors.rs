//! Tampered values, tampered MAC, wrong key and truncated ENC fields fail with distinct errors that never
//! contain plaintext.

use crate::common::*;
use keyvault_sops::{DecryptOptions, EncryptOptions, Error, Format};

const SECRET: &str = "correct-horse-battery-staple";

async fn sample() -> (std::sync::Arc<keyvault_sops::AgeKey>, String) {
    let key = age();
    let plain = format!("password: {SECRET}\nport: 5432\nnote_unencrypted: public\n");
    (
        key.clone(),
        encrypt_with(&plain, Format::Yaml, &key, EncryptOptions::default()).await,
    )
}

fn replace_line(text: &str, starts: &str, f: impl Fn(&str) -> String) -> String {
    text.lines()
        .map(|l| {
            if l.trim_start().starts_with(starts) {
                f(l)
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn assert_clean(e: &Error) {
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(SECRET), "error leaks plaintext: {shown}");
    assert!(!shown.contains("5432"), "error leaks plaintext: {shown}");
}

#[tokio::test]
async fn a_tampered_value_fails_authentication() {
    let (key, text) = sample().await;
    // flip one ciphertext character of `password`
    let bad = replace_line(&text, "password:", |l| {
        let i = l.find("data:").unwrap() + 5;
        let mut b = l.as_bytes().to_vec();
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    });
    let e = open(&bad, Format::Yaml, &key).await.unwrap_err();
    assert!(
        matches!(&e, Error::ValueTampered { path } if path == "password:"),
        "{e:?}"
    );
    assert_clean(&e);
}

#[tokio::test]
async fn a_value_moved_to_another_key_fails_authentication() {
    let (key, text) = sample().await;
    let pw = text
        .lines()
        .find(|l| l.starts_with("password:"))
        .unwrap()
        .trim_start_matches("password:")
        .to_string();
    let bad = replace_line(&text, "port:", |_| format!("port:{pw}"));
    let e = open(&bad, Format::Yaml, &key).await.unwrap_err();
    assert!(
        matches!(&e, Error::ValueTampered { path } if path == "port:"),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_changed_plaintext_value_is_a_mac_mismatch() {
    let (key, text) = sample().await;
    let bad = text.replace("note_unencrypted: public", "note_unencrypted: changed");
    let e = open(&bad, Format::Yaml, &key).await.unwrap_err();
    assert!(matches!(e, Error::MacMismatch), "{e:?}");
    assert_clean(&e);
    // explicitly ignoring the MAC opens it, and says so
    let f = keyvault_sops::open_bytes(
        bad.as_bytes(),
        Format::Yaml,
        &group(&[key]),
        &DecryptOptions { ignore_mac: true },
    )
    .await
    .unwrap();
    assert!(!f.mac_verified);
}

#[tokio::test]
async fn a_tampered_mac_or_lastmodified_is_its_own_error() {
    let (key, text) = sample().await;
    let bad = replace_line(&text, "mac:", |l| l.replacen("data:", "data:AAAA", 1));
    let e = open(&bad, Format::Yaml, &key).await.unwrap_err();
    assert!(matches!(e, Error::MacTampered), "{e:?}");
    let bad = replace_line(&text, "lastmodified:", |_| {
        "    lastmodified: \"2001-01-01T00:00:00Z\"".into()
    });
    let e = open(&bad, Format::Yaml, &key).await.unwrap_err();
    assert!(matches!(e, Error::MacTampered), "{e:?}");
    let bad = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("mac:"))
        .collect::<Vec<_>>()
        .join("\n");
    let e = open(&bad, Format::Yaml, &key).await.unwrap_err();
    assert!(matches!(e, Error::MacMissing), "{e:?}");
}

#[tokio::test]
async fn the_wrong_key_cannot_recover_the_data_key() {
    let (_, text) = sample().await;
    let other = age();
    let e = open(&text, Format::Yaml, &other).await.unwrap_err();
    let Error::NoDataKey { attempts } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(attempts.len(), 1);
    assert!(e.to_string().contains("age"));
    assert_clean(&e);
    let e = keyvault_sops::open_bytes(
        text.as_bytes(),
        Format::Yaml,
        &[],
        &DecryptOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("no key given"), "{e}");
}

#[tokio::test]
async fn truncated_enc_fields_are_malformed_not_tampered() {
    let (key, text) = sample().await;
    for cut in [",type:str]", "tag:", "]"] {
        let bad = replace_line(&text, "password:", |l| {
            l[..l.rfind(cut).unwrap()].to_string()
        });
        let e = open(&bad, Format::Yaml, &key).await.unwrap_err();
        assert!(
            matches!(&e, Error::MalformedValue { path, .. } if path == "password:"),
            "cut {cut}: {e:?}"
        );
        assert_clean(&e);
    }
    // a short tag (truncated base64)
    let bad = replace_line(&text, "password:", |l| {
        let i = l.find("tag:").unwrap() + 4;
        format!("{}AAAA{}", &l[..i], &l[l.find(",type").unwrap()..])
    });
    let e = open(&bad, Format::Yaml, &key).await.unwrap_err();
    assert!(
        matches!(&e, Error::MalformedValue { why, .. } if why.contains("tag")),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_truncated_age_stanza_is_reported_per_key() {
    let (key, text) = sample().await;
    let bad = text.replacen("-----END AGE ENCRYPTED FILE-----", "", 1);
    let e = open(&bad, Format::Yaml, &key).await.unwrap_err();
    assert!(matches!(e, Error::NoDataKey { .. }), "{e:?}");
}

#[test]
fn an_identity_given_as_a_recipient_is_not_echoed() {
    use secrecy::ExposeSecret as _;
    let key = keyvault_sops::AgeKey::generate();
    let identity = key.identity_secret().map(|s| s.expose_secret().to_string());
    let identity = identity.unwrap_or_default();
    assert!(identity.starts_with("AGE-SECRET-KEY-1"));
    let err = keyvault_sops::AgeKey::from_recipient(&identity)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("age1"), "{err}");
    assert!(!err.contains(&identity), "{err}");
    assert!(
        !err.contains(identity.trim_start_matches("AGE-SECRET-KEY-1")),
        "{err}"
    );
    // an ordinary typo is still shown, so the user can see what was wrong
    let err = keyvault_sops::AgeKey::from_recipient("age1nope")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("age1nope"), "{err}");
}
