//! Hostile input (issue 17): deep nesting, empty files, duplicate keys, truncated age entries. Every input
//! here must end in a clear error (or a warning), never in a stack overflow or a silent loss.

use crate::common::*;
use keyvault_sops::{DecryptOptions, EncryptOptions, Error, Format, tree};

/// Runs `f` on a thread with 1 MiB of stack (half of what tokio workers and test threads get), so unbounded recursion
/// shows up as a crash of this test binary rather than passing on a large main-thread stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn block_yaml_seq(depth: usize) -> String {
    format!("a:\n{}x\n", "- ".repeat(depth))
}

fn block_yaml_map(depth: usize) -> String {
    let mut s = String::new();
    for i in 0..depth {
        s.push_str(&" ".repeat(i));
        s.push_str("k:\n");
    }
    s.push_str(&" ".repeat(depth));
    s.push_str("v: x\n");
    s
}

fn encrypt_blocking(plain: String, format: Format) -> keyvault_sops::Result<Vec<u8>> {
    let key = age();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(keyvault_sops::encrypt_bytes(
        plain.as_bytes(),
        format,
        &[group(&[key])],
        &EncryptOptions::default(),
    ))
}

#[test]
fn deeply_nested_block_yaml_is_refused_with_a_clear_error() {
    // the repro: 'a:\n' + '- ' * 3000 + 'x\n' aborted with a stack overflow
    for text in [block_yaml_seq(3000), block_yaml_map(3000)] {
        let err = on_small_stack(move || encrypt_blocking(text, Format::Yaml))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("nested more than 128 levels"),
            "unexpected: {err}"
        );
        assert!(err.contains("line "), "says where: {err}");
    }
    // exactly at the limit still works: the document root is level 1, so 127 more levels
    let ok = on_small_stack(|| encrypt_blocking(block_yaml_seq(127), Format::Yaml));
    assert!(ok.is_ok(), "{:?}", ok.err());
    let too_deep = on_small_stack(|| encrypt_blocking(block_yaml_seq(128), Format::Yaml));
    assert!(too_deep.is_err());
}

#[test]
fn aliases_cannot_smuggle_depth_past_the_limit() {
    // an anchor 100 levels deep, used 100 levels deep: each half is fine, the copy would be 200 deep
    let inner = format!("{}x", "- ".repeat(100));
    let text = format!("base: &b\n  {inner}\nuse:\n  {}*b\n", "- ".repeat(100));
    let err = keyvault_sops::format::yaml::parse(&text)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("nested more than 128 levels"), "{err}");
}

#[test]
fn a_crafted_deep_encrypted_file_fails_before_the_mac_check() {
    // an "encrypted" file with a sops block and a 5000-level body: decrypt must refuse it while parsing
    let text = format!(
        "{}sops:\n    mac: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n    version: 3.13.2\n",
        block_yaml_seq(5000)
    );
    let err = on_small_stack(move || {
        let key = age();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(keyvault_sops::open_bytes(
            text.as_bytes(),
            Format::Yaml,
            &group(&[key]),
            &DecryptOptions::default(),
        ))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
    });
    assert!(err.contains("nested more than 128 levels"), "{err}");
}

#[test]
fn deep_json_says_it_is_too_deep_not_a_syntax_error() {
    let text = format!("{{\"a\": {}1{}}}", "[".repeat(200), "]".repeat(200));
    let err = on_small_stack(move || encrypt_blocking(text, Format::Json))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("nested more than 128 levels"), "{err}");
    assert!(!err.contains("syntax error"), "{err}");
}

#[test]
fn deep_dotenv_metadata_paths_are_refused() {
    // a flattened metadata key with thousands of `__` levels must not recurse once per level
    let text = format!("A=1\nsops_{}=x\n", vec!["map_k"; 5000].join("__"));
    let err = on_small_stack(move || {
        Format::Dotenv
            .parse_encrypted(text.as_bytes())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    });
    assert!(err.contains("nested more than 128 levels"), "{err}");
}

#[test]
fn trees_built_in_code_are_bounded_too() {
    // a tree deeper than any parser would produce, built through the API: encrypt refuses it cleanly
    let mut v = keyvault_sops::Value::Str("x".into());
    for _ in 0..300 {
        v = keyvault_sops::Value::Seq(vec![keyvault_sops::SeqItem::Value(v)]);
    }
    let t = tree::Tree {
        documents: vec![vec![keyvault_sops::MapItem::Entry("a".into(), v)]],
    };
    let err = on_small_stack(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(keyvault_sops::encrypt(
            t,
            &[group(&[age()])],
            &EncryptOptions::default(),
        ))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
    });
    assert!(err.contains("nested more than 128 levels"), "{err}");
}

#[test]
fn a_long_set_path_is_refused() {
    let p = "[\"a\"]".repeat(1000);
    let err = keyvault_sops::parse_path(&p)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("at most 127 components"), "{err}");
    assert!(err.len() < 300, "the path is not echoed whole: {err}");
}

#[tokio::test]
async fn an_empty_yaml_file_is_refused_as_sops_does() {
    for text in ["", "\n\n", "# only a comment\n"] {
        let key = age();
        let err = keyvault_sops::encrypt_bytes(
            text.as_bytes(),
            Format::Yaml,
            &[group(&[key])],
            &EncryptOptions::default(),
        )
        .await
        .err();
        assert!(
            matches!(err, Some(Error::EmptyFile)),
            "{text:?}: {:?}",
            err.map(|e| e.to_string())
        );
    }
    assert_eq!(
        Error::EmptyFile.to_string(),
        "File cannot be completely empty, it must contain at least one document"
    );
    // an explicit empty mapping is a document
    let text = encrypt_with("{}\n", Format::Yaml, &age(), EncryptOptions::default()).await;
    assert!(text.contains("sops:"), "{text}");
}

#[test]
fn duplicate_keys_are_found_with_their_paths() {
    let t = keyvault_sops::format::yaml::parse(
        "a: 1\nb:\n    x: 1\n    x: 2\na: 3\nl:\n    - k: 1\n      k: 2\n",
    )
    .unwrap();
    assert_eq!(tree::duplicate_keys(&t), vec!["a", "b:x", "l:k"]);
    let t = Format::Json
        .parse_plain(b"{\"p\": {\"q\": 1, \"q\": 2}, \"r\": 0}")
        .unwrap();
    assert_eq!(tree::duplicate_keys(&t), vec!["p:q"]);
    let t = keyvault_sops::format::yaml::parse("a: 1\nb: {a: 2}\n---\na: 2\n").unwrap();
    assert!(tree::duplicate_keys(&t).is_empty());
}

#[tokio::test]
async fn a_truncated_age_entry_says_what_is_wrong() {
    let key = age();
    let text = encrypt_with("a: b\n", Format::Yaml, &key, EncryptOptions::default()).await;
    // cut the armored age file after its header line and drop the recipient, as a truncated copy would
    let start = text.find("-----BEGIN AGE ENCRYPTED FILE-----").unwrap();
    let line_end = start + text[start..].find('\n').unwrap() + 1;
    let after = text[line_end..]
        .find("-----END AGE ENCRYPTED FILE-----\n")
        .unwrap()
        + line_end;
    let end = after + "-----END AGE ENCRYPTED FILE-----\n".len();
    let mut cut = format!("{}{}", &text[..line_end], &text[end..]);
    let rpos = cut.find("recipient: ").unwrap();
    let rend = rpos + cut[rpos..].find('\n').unwrap() + 1;
    let indent_start = cut[..rpos].rfind('\n').unwrap() + 1;
    cut.replace_range(indent_start..rend, "");
    let err = open(&cut, Format::Yaml, &key)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(!err.contains("age : "), "{err}");
    assert!(!err.contains("for :"), "{err}");
    assert!(
        err.contains("no recipient") && err.contains("truncated"),
        "{err}"
    );
}
