use flux_objects::to_yaml;
use serde_json::json;

#[test]
fn strings_that_would_be_misread_are_quoted() {
    for (s, want) in [
        ("on", "\"on\""),
        ("Off", "\"Off\""),
        ("null", "\"null\""),
        ("~", "\"~\""),
        ("123", "\"123\""),
        ("1.5", "\"1.5\""),
        ("0o17", "\"0o17\""),
        ("2024-01-02T03:04:05Z", "\"2024-01-02T03:04:05Z\""),
        ("'quoted'", "'''quoted'''"),
        ("@at", "'@at'"),
        ("%p", "'%p'"),
        ("a: b", "'a: b'"),
        ("http://x", "http://x"),
        ("---x", "'---x'"),
        ("trailing ", "'trailing '"),
        ("é", "é"),
        ("emoji 🚀", "\"emoji \\U0001F680\""),
    ] {
        assert_eq!(to_yaml(&json!({ "k": s })), format!("k: {want}\n"), "{s}");
    }
}

#[test]
fn literal_block_chomping() {
    assert_eq!(to_yaml(&json!({"k": "a\nb"})), "k: |-\n  a\n  b\n");
    assert_eq!(to_yaml(&json!({"k": "a\nb\n"})), "k: |\n  a\n  b\n");
    assert_eq!(to_yaml(&json!({"k": "a\n\n"})), "k: |+\n  a\n\n");
    assert_eq!(to_yaml(&json!({"k": " a\nb"})), "k: |2-\n   a\n  b\n");
    assert_eq!(to_yaml(&json!({"k": "a \nb"})), "k: \"a \\nb\"\n");
    assert_eq!(
        to_yaml(&json!({"k": "a\n\nb\n", "z": 1})),
        "k: |\n  a\n\n  b\nz: 1\n"
    );
}

#[test]
fn nested_collections() {
    let v = json!({"spec": {"list": [{"a": [1, 2], "b": {}}, []], "empty": [], "m": {"x": null, "t": true}}});
    assert_eq!(
        to_yaml(&v),
        "spec:\n  empty: []\n  list:\n  - a:\n    - 1\n    - 2\n    b: {}\n  - []\n  m:\n    t: true\n    x: null\n"
    );
}

#[test]
fn long_descriptions_fold_like_go_yaml() {
    let text = "DigestReflectionPolicy governs the setting of the `.status.latestRef.digest` field and more words here";
    assert_eq!(
        to_yaml(&json!({"description": text})),
        "description: DigestReflectionPolicy governs the setting of the `.status.latestRef.digest`\n  field and more words here\n"
    );
}

#[test]
fn every_emitted_string_reads_back_unchanged() {
    let mut samples: Vec<String> = [
        "",
        " ",
        "a",
        "yes",
        "No",
        "ON",
        "y",
        "~",
        "null",
        "0",
        "-1",
        "+1",
        "1_000",
        "0x1f",
        "0b101",
        "1e3",
        ".5",
        "1.",
        "1:30",
        "2006-01-02",
        "2006-1-2 15:04:05",
        "*",
        "&a",
        "!tag",
        "|",
        ">",
        "%x",
        "@x",
        "`x",
        "'",
        "\"",
        "#",
        "a #b",
        "a#b",
        "a: b",
        "a:b",
        ":a",
        "- a",
        "-a",
        "? a",
        "?a",
        "[a]",
        "{a}",
        "a, b",
        "---",
        "...",
        "trailing ",
        " leading",
        "a\tb",
        "line\n",
        "two\nlines",
        "\nleading break",
        "trailing break\n\n",
        "sp \nbreak",
        "é ü",
        "emoji 🚀",
        "\u{7f}",
        "a\\b",
        "ns:name.with.dots",
        "https://dev.azure.com/org/_git/r?x=1#frag",
        "v1.01",
        "6.3.5",
        ">=1.0.0 <2.0.0",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    // Deterministic pseudo-random strings over an alphabet of YAML-significant characters.
    let alphabet: Vec<char> = "ab 0:#-'\"\n\t*&!|>%@`,[]{}?.~yn".chars().collect();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..400 {
        let mut s = String::new();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        for i in 0..(state % 12) {
            let idx = ((state >> (i * 5)) as usize) % alphabet.len();
            s.push(alphabet[idx]);
        }
        samples.push(s);
    }
    for s in samples {
        let v = json!({ "k": s, "list": [s], "nested": { s.clone(): 1 } });
        let text = to_yaml(&v);
        let back = flux_objects::yaml::parse_documents(&text)
            .unwrap_or_else(|e| panic!("{s:?} -> {text:?}: {e}"));
        assert_eq!(back.first(), Some(&v), "{s:?} -> {text:?}");
    }
}

#[test]
fn parse_errors_do_not_echo_document_text() {
    let yaml = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: hunter2-secret\n  bad: [unclosed\n";
    let err = flux_objects::Object::parse_all(yaml)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(!err.is_empty());
    assert!(!err.contains("hunter2-secret"), "{err}");
}
