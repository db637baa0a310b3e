//! Known-answer vectors (built here from the documented algorithms) and the encrypt/decrypt/edit contract.

use crate::common::*;
use keyvault_sops::cipher::{self, DataKey};
use keyvault_sops::{EncryptOptions, Format, PathSegment, Selector, Tree, Value, tree};
use secrecy::ExposeSecret as _;
use sha2::{Digest as _, Sha256, Sha512};

const PLAIN: &str = "\
# top comment
a: x
b:
    # nested comment
    c: 1
    d: true
    e: 1.5
l:
    - yy
    - zz
k_unencrypted: w
nothing: null
";

fn enc_values(text: &str) -> Vec<(String, String)> {
    // (line key, ENC string) for every `key: ENC[...]`, `- ENC[...]` and `#ENC[...]` line
    text.lines()
        .filter_map(|l| {
            let t = l.trim_start();
            let i = t.find("ENC[")?;
            Some((t[..i].to_string(), t[i..].to_string()))
        })
        .filter(|(k, _)| !k.starts_with("mac:"))
        .collect()
}

#[test]
fn aes_gcm_known_answer_from_the_sops_documentation() {
    // sops.md §1.1: key "f"×32, AAD "bar:" → "foo"
    let key = DataKey::from_slice(&[b'f'; 32]).unwrap();
    let enc = "ENC[AES256_GCM,data:oYyi,iv:MyIDYbT718JRr11QtBkcj3Dwm4k1aCGZBVeZf0EyV8o=,tag:t5z2Z023Up0kxwCgw1gNxg==,type:str]";
    let (pt, v) = cipher::decrypt(&key, enc, "bar:").unwrap();
    assert_eq!(pt.expose_secret().as_slice(), b"foo");
    assert_eq!((v.iv.len(), v.ty.as_str()), (32, "str"));
    // and our encryption with the same IV reproduces it byte for byte
    let iv: [u8; 32] = v.iv.as_slice().try_into().unwrap();
    assert_eq!(
        cipher::encrypt(&key, b"foo", "bar:", "str", Some(&iv)).unwrap(),
        enc
    );
    // the AAD binds the value to its key path
    assert!(cipher::decrypt(&key, enc, "baz:").is_err());
}

#[tokio::test]
async fn every_value_uses_its_key_path_as_aad() {
    let key = age();
    let text = encrypt_with(PLAIN, Format::Yaml, &key, EncryptOptions::default()).await;
    let file = open(&text, Format::Yaml, &key).await.unwrap();
    let dk = file.data_key();
    let expected_aad = ["", "a: ", "", "c: ", "d: ", "e: ", "- ", "- "];
    let aads = [":", "a:", "b:", "b:c:", "b:d:", "b:e:", "l:", "l:"];
    let values = enc_values(&text);
    assert_eq!(values.len(), aads.len(), "{text}");
    for (((prefix, enc), aad), want_prefix) in values.iter().zip(aads).zip(expected_aad) {
        let prefix = prefix.trim_start_matches('#');
        assert_eq!(prefix, want_prefix);
        cipher::decrypt(dk, enc, aad).unwrap_or_else(|e| panic!("{enc} with AAD {aad}: {e}"));
    }
    // types are recorded
    assert!(
        text.contains("type:int]") && text.contains("type:bool]") && text.contains("type:float]")
    );
    assert!(text.contains("k_unencrypted: w") && text.contains("nothing: null"));
    // bools are encrypted as True/False
    let d = values.iter().find(|(k, _)| k.trim() == "d:").unwrap();
    assert_eq!(
        cipher::decrypt(dk, &d.1, "b:d:")
            .unwrap()
            .0
            .expose_secret()
            .as_slice(),
        b"True"
    );
}

fn stored_mac(text: &str, file: &keyvault_sops::SopsFile) -> String {
    let mac = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("mac: "))
        .unwrap();
    let lm = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("lastmodified: "))
        .unwrap()
        .trim_matches('"');
    String::from_utf8(
        cipher::decrypt(file.data_key(), mac, lm)
            .unwrap()
            .0
            .expose_secret()
            .clone(),
    )
    .unwrap()
}

fn upper_hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02X}")).collect()
}

#[tokio::test]
async fn mac_is_sha512_over_every_value_in_document_order() {
    let key = age();
    let text = encrypt_with(
        PLAIN,
        Format::Yaml,
        &key,
        EncryptOptions {
            now: at(1_700_000_000),
            ..Default::default()
        },
    )
    .await;
    assert!(text.contains("lastmodified: \"2023-11-14T22:13:20Z\""));
    let file = open(&text, Format::Yaml, &key).await.unwrap();
    assert!(file.mac_verified);
    // comments and nulls excluded; unencrypted values included; bools as True
    let want = upper_hex(&Sha512::digest(b"x1True1.5yyzzw"));
    assert_eq!(stored_mac(&text, &file), want);
}

#[tokio::test]
async fn mac_only_encrypted_starts_from_sha256_of_sops() {
    let key = age();
    let opts = EncryptOptions {
        mac_only_encrypted: true,
        ..Default::default()
    };
    let text = encrypt_with(PLAIN, Format::Yaml, &key, opts).await;
    assert!(text.contains("mac_only_encrypted: true"));
    let file = open(&text, Format::Yaml, &key).await.unwrap();
    let mut h = Sha512::new();
    h.update(Sha256::digest(b"sops"));
    h.update(b"x1True1.5yyzz");
    assert_eq!(stored_mac(&text, &file), upper_hex(&h.finalize()));
}

#[tokio::test]
async fn decrypt_restores_the_plaintext_byte_for_byte() {
    let key = age();
    let text = encrypt_with(PLAIN, Format::Yaml, &key, EncryptOptions::default()).await;
    let file = open(&text, Format::Yaml, &key).await.unwrap();
    assert_eq!(
        String::from_utf8(file.to_plain_bytes(Format::Yaml).unwrap().to_vec()).unwrap(),
        PLAIN
    );
}

#[tokio::test]
async fn reencrypting_an_unchanged_file_changes_only_lastmodified_and_mac() {
    let key = age();
    let text = encrypt_with(
        PLAIN,
        Format::Yaml,
        &key,
        EncryptOptions {
            now: at(1_700_000_000),
            ..Default::default()
        },
    )
    .await;
    let file = open(&text, Format::Yaml, &key).await.unwrap();
    let again = String::from_utf8(
        file.to_encrypted_bytes(Format::Yaml, at(1_700_003_600))
            .unwrap(),
    )
    .unwrap();
    let changed = changed_lines(&text, &again);
    assert_eq!(changed.len(), 2, "{changed:?}");
    assert!(changed[0].trim_start().starts_with("lastmodified:"));
    assert!(changed[1].trim_start().starts_with("mac: ENC["));
    assert!(open(&again, Format::Yaml, &key).await.unwrap().mac_verified);
}

#[tokio::test]
async fn editing_one_value_changes_only_that_value_lastmodified_and_mac() {
    let key = age();
    let text = encrypt_with(
        PLAIN,
        Format::Yaml,
        &key,
        EncryptOptions {
            now: at(1_700_000_000),
            ..Default::default()
        },
    )
    .await;
    let mut file = open(&text, Format::Yaml, &key).await.unwrap();
    file.set(
        &[PathSegment::Key("b".into()), PathSegment::Key("c".into())],
        Value::Int(2),
    )
    .unwrap();
    let again = String::from_utf8(
        file.to_encrypted_bytes(Format::Yaml, at(1_700_000_001))
            .unwrap(),
    )
    .unwrap();
    let changed = changed_lines(&text, &again);
    assert_eq!(changed.len(), 3, "{changed:?}");
    assert!(changed[0].trim_start().starts_with("c: ENC["));
    let reopened = open(&again, Format::Yaml, &key).await.unwrap();
    let doc = &reopened.tree.documents[0];
    let Some(Value::Map(b)) = tree::get(doc, "b") else {
        panic!()
    };
    assert_eq!(tree::get(b, "c"), Some(&Value::Int(2)));
}

#[tokio::test]
async fn set_creates_new_paths() {
    let key = age();
    let text = encrypt_with("a: 1\n", Format::Yaml, &key, EncryptOptions::default()).await;
    let mut file = open(&text, Format::Yaml, &key).await.unwrap();
    let path = keyvault_sops::parse_path(r#"["new"]["deep"]"#).unwrap();
    file.set(&path, Value::Str("v".into())).unwrap();
    assert!(
        file.set(
            &keyvault_sops::parse_path(r#"["sops"]"#).unwrap(),
            Value::Null
        )
        .is_err()
    );
    let plain = file.to_plain_bytes(Format::Yaml).unwrap();
    assert_eq!(
        std::str::from_utf8(&plain).unwrap(),
        "a: 1\nnew:\n    deep: v\n"
    );
}

#[tokio::test]
async fn selectors_choose_what_is_encrypted() {
    let key = age();
    let plain = "# top\napiVersion: v1\nkind: Secret\nstringData:\n    password: p\n    # inner\n    user: u\n";
    let opts = EncryptOptions {
        selector: Some(Selector::EncryptedRegex("^(data|stringData)$".into())),
        ..Default::default()
    };
    let text = encrypt_with(plain, Format::Yaml, &key, opts).await;
    assert!(
        text.starts_with("# top\napiVersion: v1\nkind: Secret\n"),
        "{text}"
    );
    assert!(
        text.contains("    password: ENC[")
            && text.contains("    #ENC[")
            && text.contains("encrypted_regex: ^(data|stringData)$")
    );
    let file = open(&text, Format::Yaml, &key).await.unwrap();
    assert_eq!(
        std::str::from_utf8(&file.to_plain_bytes(Format::Yaml).unwrap()).unwrap(),
        plain
    );

    let opts = EncryptOptions {
        selector: Some(Selector::EncryptedSuffix("_secret".into())),
        ..Default::default()
    };
    let text = encrypt_with("a: 1\nb_secret:\n    c: 2\n", Format::Yaml, &key, opts).await;
    assert!(text.starts_with("a: 1\nb_secret:\n    c: ENC["), "{text}");

    let opts = EncryptOptions {
        selector: Some(Selector::UnencryptedRegex("^pub".into())),
        ..Default::default()
    };
    let text = encrypt_with("public: 1\nprivate: 2\n", Format::Yaml, &key, opts).await;
    assert!(text.starts_with("public: 1\nprivate: ENC["), "{text}");

    let opts = EncryptOptions {
        selector: Some(Selector::EncryptedCommentRegex("sops:enc".into())),
        ..Default::default()
    };
    let text = encrypt_with("a: 1\n# sops:enc\nb: 2\n", Format::Yaml, &key, opts).await;
    assert!(text.starts_with("a: 1\n# sops:enc\nb: ENC["), "{text}");
}

#[tokio::test]
async fn empty_strings_stay_empty_and_encrypted_files_are_refused() {
    let key = age();
    let text = encrypt_with("e: \"\"\n", Format::Yaml, &key, EncryptOptions::default()).await;
    assert!(text.starts_with("e: \"\"\n"));
    let err = keyvault_sops::encrypt_bytes(
        text.as_bytes(),
        Format::Yaml,
        &[group(&[key.clone()])],
        &EncryptOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, keyvault_sops::Error::AlreadyEncrypted));
}

#[tokio::test]
async fn multi_document_yaml_gets_metadata_in_every_document() {
    let key = age();
    let text = encrypt_with(
        "a: 1\n---\nb: 2\n",
        Format::Yaml,
        &key,
        EncryptOptions::default(),
    )
    .await;
    assert_eq!(text.matches("\nsops:\n").count(), 2);
    let file = open(&text, Format::Yaml, &key).await.unwrap();
    assert_eq!(file.tree.documents.len(), 2);
    assert_eq!(
        std::str::from_utf8(&file.to_plain_bytes(Format::Yaml).unwrap()).unwrap(),
        "a: 1\n---\nb: 2\n"
    );
    let _: &Tree = &file.tree;
}
