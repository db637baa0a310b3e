//! JSON, dotenv, binary and metadata round trips.

use crate::common::*;
use keyvault_sops::metadata::{AzureKvEntry, Metadata};
use keyvault_sops::{EncryptOptions, Format, KeyEntry, Value, tree};

#[tokio::test]
async fn json_keeps_order_and_number_types() {
    let key = age();
    let plain = "{\n\t\"z\": 8080,\n\t\"a\": {\n\t\t\"ratio\": 0.75,\n\t\t\"on\": true,\n\t\t\"list\": [\n\t\t\t\"x\"\n\t\t]\n\t}\n}\n";
    let text = encrypt_with(plain, Format::Json, &key, EncryptOptions::default()).await;
    assert!(text.starts_with("{\n\t\"z\": \"ENC[AES256_GCM,"), "{text}");
    assert!(
        text.contains("type:int]") && text.contains("type:float]") && text.contains("type:bool]")
    );
    assert!(text.contains("\n\t\"sops\": {\n\t\t\"age\": [\n"));
    assert!(text.ends_with("\n\t}\n}\n"));
    let file = open(&text, Format::Json, &key).await.unwrap();
    assert_eq!(
        std::str::from_utf8(&file.to_plain_bytes(Format::Json).unwrap()).unwrap(),
        plain
    );
}

#[tokio::test]
async fn dotenv_flattens_the_metadata() {
    let key = age();
    let plain = "# comment\nDB_PASSWORD=s3cret\nMULTI=a\\nb\n";
    let text = encrypt_with(plain, Format::Dotenv, &key, EncryptOptions::default()).await;
    assert!(
        text.starts_with("#ENC[AES256_GCM,") && text.contains("\nDB_PASSWORD=ENC[AES256_GCM,"),
        "{text}"
    );
    assert!(
        text.contains("\nsops_age__list_0__map_recipient=age1") && text.contains("\nsops_version="),
        "{text}"
    );
    assert!(text.contains("sops_age__list_0__map_enc=-----BEGIN AGE ENCRYPTED FILE-----\\n"));
    let file = open(&text, Format::Dotenv, &key).await.unwrap();
    assert_eq!(
        std::str::from_utf8(&file.to_plain_bytes(Format::Dotenv).unwrap()).unwrap(),
        plain
    );
}

#[tokio::test]
async fn binary_files_are_one_value_under_data() {
    let key = age();
    let plain = "any: text\n{not json\n";
    let text = encrypt_with(plain, Format::Binary, &key, EncryptOptions::default()).await;
    assert!(
        text.starts_with("{\n\t\"data\": \"ENC[AES256_GCM,"),
        "{text}"
    );
    let file = open(&text, Format::Binary, &key).await.unwrap();
    assert_eq!(
        std::str::from_utf8(&file.to_plain_bytes(Format::Binary).unwrap()).unwrap(),
        plain
    );
}

#[test]
fn azure_kv_entries_round_trip_in_the_3_13_layout() {
    let yaml = "azure_kv:\n    - vault_url: https://v.vault.azure.net\n      name: sops-key\n      version: 0123456789abcdef0123456789abcdef\n      created_at: '2026-01-15T10:20:29Z'\n      enc: abc_-\nkms: null\nlastmodified: 2026-01-15T10:20:30Z\nmac: ENC[x]\nversion: 3.9.0\n";
    let t = keyvault_sops::format::yaml::parse(yaml).unwrap();
    let m = Metadata::from_value(&Value::Map(t.documents[0].clone())).unwrap();
    let KeyEntry::AzureKv(e) = &m.key_groups[0][0] else {
        panic!()
    };
    assert_eq!(
        e.key_url(),
        "https://v.vault.azure.net/keys/sops-key/0123456789abcdef0123456789abcdef"
    );
    assert_eq!(m.last_modified, "2026-01-15T10:20:30Z");
    let out = keyvault_sops::format::yaml::emit(
        &keyvault_sops::Tree {
            documents: vec![vec![keyvault_sops::MapItem::Entry(
                "sops".into(),
                m.to_value(),
            )]],
        },
        4,
    );
    assert_eq!(
        out,
        "sops:\n    azure_kv:\n        - created_at: \"2026-01-15T10:20:29Z\"\n          enc: abc_-\n          name: sops-key\n          vault_url: https://v.vault.azure.net\n          version: 0123456789abcdef0123456789abcdef\n    lastmodified: \"2026-01-15T10:20:30Z\"\n    mac: ENC[x]\n    version: 3.9.0\n"
    );
    let _ = AzureKvEntry {
        vault_url: String::new(),
        name: String::new(),
        version: String::new(),
        created_at: String::new(),
        enc: String::new(),
    };
}

#[tokio::test]
async fn yaml_value_styles_survive() {
    let key = age();
    let plain =
        "s: 'quoted: yes'\nnum: \"123\"\nlit: |\n    line1\n    line2\nt: 2024-01-01\nf: 1.0e+3\n";
    let text = encrypt_with(plain, Format::Yaml, &key, EncryptOptions::default()).await;
    assert!(text.contains("t: ENC[") && text.contains("type:time]"));
    let file = open(&text, Format::Yaml, &key).await.unwrap();
    let doc = &file.tree.documents[0];
    assert_eq!(
        tree::get(doc, "t"),
        Some(&Value::Time("2024-01-01T00:00:00Z".into()))
    );
    assert_eq!(tree::get(doc, "num"), Some(&Value::Str("123".into())));
    assert_eq!(
        std::str::from_utf8(&file.to_plain_bytes(Format::Yaml).unwrap()).unwrap(),
        "s: 'quoted: yes'\nnum: \"123\"\nlit: |\n    line1\n    line2\nt: 2024-01-01T00:00:00Z\nf: 1000\n"
    );
}

#[test]
fn dotenv_metadata_with_a_huge_list_index_is_an_error() {
    // Without a bound, the parser would allocate ~4 billion list elements for this one line.
    let text = "A=ENC[x]\nsops_age__list_4000000000__map_recipient=age1x\nsops_version=3.9.0\n";
    let err = Format::Dotenv.parse_encrypted(text.as_bytes()).err();
    assert!(
        matches!(&err, Some(keyvault_sops::Error::Metadata { why }) if why.contains("list_4000000000")),
        "{err:?}"
    );
    // an index within the file's entries still parses
    let ok = "A=ENC[x]\nsops_age__list_1__map_recipient=age1x\nsops_version=3.9.0\n";
    assert!(Format::Dotenv.parse_encrypted(ok.as_bytes()).is_ok());
}
