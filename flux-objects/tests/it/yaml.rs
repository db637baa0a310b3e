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
