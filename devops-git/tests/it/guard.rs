//! The push guard: paths, branch names and plaintext Kubernetes Secrets.

use devops_git::guard::{check_branch, check_path, looks_like_plaintext_secret};
use devops_git::{Author, CommitRequest};

#[test]
fn plaintext_secrets_are_detected() {
    let refused: &[&str] = &[
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: flux-system\n  namespace: flux-system\nstringData:\n  password: x\n  username: git\n",
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  password: eA==\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\nkind: \"Secret\"\napiVersion: v1\ndata: {}\n",
        "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"data\":{\"a\":\"eA==\"}}",
        "{\"kind\":\"List\",\"items\":[{\"kind\":\"Secret\",\"stringData\":{\"a\":\"b\"}}]}",
    ];
    for text in refused {
        assert!(looks_like_plaintext_secret(text.as_bytes()), "{text}");
    }
    let allowed: &[&str] = &[
        // SOPS-encrypted secrets belong in git
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  password: ENC[AES256_GCM,data:abc,type:str]\nsops:\n  mac: ENC[...]\n",
        // a Secret without data (e.g. a generator stub) and other kinds
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ntype: Opaque\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  key: value\n",
        // nested `kind: Secret` is not a Secret object
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec:\n  decryption:\n    secretRef:\n      kind: Secret\n  data: x\n",
        "# kind: Secret\n",
    ];
    for text in allowed {
        assert!(!looks_like_plaintext_secret(text.as_bytes()), "{text}");
    }
    assert!(!looks_like_plaintext_secret(&[0xff, 0xfe, 0x00]));
}

#[test]
fn plaintext_secrets_in_other_yaml_spellings_are_detected() {
    let refused: &[&str] = &[
        // Windows line endings
        "apiVersion: v1\r\nkind: Secret\r\nmetadata:\r\n  name: s\r\ndata:\r\n  password: eA==\r\n",
        "apiVersion: v1\r\nkind: Secret\r\nstringData:\r\n  password: x\r\n",
        // a flow mapping (YAML, not JSON)
        "{apiVersion: v1, kind: Secret, metadata: {name: s}, stringData: {password: x}}\n",
        // a byte order mark
        "\u{feff}kind: Secret\napiVersion: v1\ndata:\n  password: eA==\n",
        // a YAML v1 List
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: s\n  stringData:\n    password: x\n",
    ];
    for text in refused {
        assert!(looks_like_plaintext_secret(text.as_bytes()), "{text:?}");
    }
    let allowed: &[&str] = &[
        "apiVersion: v1\r\nkind: Secret\r\ndata:\r\n  password: ENC[AES256_GCM,data:abc,type:str]\r\nsops:\r\n  mac: ENC[...]\r\n",
        "{apiVersion: v1, kind: ConfigMap, data: {key: value}}\n",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  data:\n    key: value\n",
    ];
    for text in allowed {
        assert!(!looks_like_plaintext_secret(text.as_bytes()), "{text:?}");
    }
}

#[test]
fn paths_and_branches_are_checked() {
    for ok in [
        "clusters/my-cluster/flux-system/gotk-sync.yaml",
        "README.md",
        ".sops.yaml",
    ] {
        check_path(ok).unwrap();
    }
    let bad = [
        ("", "the path is empty"),
        (
            "/etc/passwd",
            "the path must be relative to the repository root (no leading /)",
        ),
        ("a/../b", "the path must not contain . or .. segments"),
        ("./a", "the path must not contain . or .. segments"),
        ("a//b", "the path has an empty segment (// or a trailing /)"),
        ("a/", "the path has an empty segment (// or a trailing /)"),
        (".git/config", "the path must not be inside .git"),
        ("a\\b", "the path must use / separators and contain no NUL"),
    ];
    for (path, reason) in bad {
        assert_eq!(
            check_path(path).unwrap_err().to_string(),
            format!("invalid path \"{path}\" in the commit: {reason}")
        );
    }
    check_branch("main").unwrap();
    check_branch("feature/x").unwrap();
    for (branch, reason) in [
        ("", "the branch name is empty"),
        (
            "refs/heads/main",
            "give the short branch name (main), not refs/heads/main",
        ),
        ("a..b", "not a valid git reference name"),
        ("bad name", "not a valid git reference name"),
    ] {
        assert_eq!(
            check_branch(branch).unwrap_err().to_string(),
            format!("invalid branch name \"{branch}\": {reason}")
        );
    }
}

#[test]
fn commit_request_validation_refuses_secrets_and_conflicts() {
    let author = Author::new("Flux", "flux@example.com");
    let req = CommitRequest::new("main", "m", author.clone()).file(
        "flux-system/secret.yaml",
        "kind: Secret\nstringData:\n  password: x\n",
    );
    assert_eq!(
        req.validate().unwrap_err().to_string(),
        "refusing to commit \"flux-system/secret.yaml\": it looks like a plaintext Kubernetes Secret (kind: Secret with data/stringData); apply secrets to the cluster or encrypt them with SOPS first"
    );
    let req = CommitRequest::new("main", "m", author)
        .file("a", "x")
        .delete("a");
    assert_eq!(
        req.validate().unwrap_err().to_string(),
        "invalid path \"a\" in the commit: the path is both written and deleted"
    );
}
