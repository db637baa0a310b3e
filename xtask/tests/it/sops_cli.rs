//! `cargo xtask sops`: round trips, `.sops.yaml` rules, edit/set/rotate/updatekeys, and sops' exit codes.

use keyvault_sops::AgeKey;
use secrecy::ExposeSecret as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Sandbox {
    dir: PathBuf,
}

impl Sandbox {
    fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("sops-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    fn path(&self, f: &str) -> PathBuf {
        self.dir.join(f)
    }

    fn write(&self, f: &str, text: &str) -> PathBuf {
        let p = self.path(f);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn read(&self, f: &str) -> String {
        std::fs::read_to_string(self.path(f)).unwrap()
    }

    /// Runs `xtask sops ARGS` in the sandbox, with only the given SOPS_* variables.
    fn sops(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
        cmd.arg("sops")
            .args(args)
            .current_dir(&self.dir)
            .env("HOME", &self.dir)
            .env_remove("XDG_CONFIG_HOME");
        for v in [
            "SOPS_AGE_KEY",
            "SOPS_AGE_KEY_FILE",
            "SOPS_AGE_RECIPIENTS",
            "SOPS_PGP_FP",
            "SOPS_CONFIG",
            "EDITOR",
            "SOPS_EDITOR",
            "SOPS_AZURE_KEYVAULT_URLS",
        ] {
            cmd.env_remove(v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn identity(k: &AgeKey) -> String {
    k.identity_secret().unwrap().expose_secret().to_string()
}

const PLAIN: &str = "# settings\npassword: hunter2\nport: 5432\nhost_unencrypted: db.local\n";

#[test]
fn encrypt_then_decrypt_round_trips_and_the_identity_is_required() {
    let sb = Sandbox::new("roundtrip");
    let key = AgeKey::generate();
    sb.write("secret.yaml", PLAIN);
    let enc = sb.sops(&["encrypt", "--age", &key.recipient(), "secret.yaml"], &[]);
    assert_eq!(code(&enc), 0, "{}", stderr(&enc));
    let text = stdout(&enc);
    assert!(
        text.contains("password: ENC[AES256_GCM,")
            && text.contains("host_unencrypted: db.local")
            && !text.contains("hunter2")
    );
    sb.write("secret.enc.yaml", &text);

    let dec = sb.sops(
        &["decrypt", "secret.enc.yaml"],
        &[("SOPS_AGE_KEY", &identity(&key))],
    );
    assert_eq!(code(&dec), 0, "{}", stderr(&dec));
    assert_eq!(stdout(&dec), PLAIN);

    // key file instead of the variable, --output, and --extract
    let keyfile = sb.write(
        "keys.txt",
        &format!("# created: test\n{}\n", identity(&key)),
    );
    let keyfile = keyfile.to_str().unwrap();
    let dec = sb.sops(
        &["decrypt", "--output", "out.yaml", "secret.enc.yaml"],
        &[("SOPS_AGE_KEY_FILE", keyfile)],
    );
    assert_eq!(code(&dec), 0, "{}", stderr(&dec));
    assert_eq!(sb.read("out.yaml"), PLAIN);
    // plaintext written over an existing world-readable file: the file ends up 0600
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let existing = sb.write("existing.yaml", "old\n");
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).unwrap();
        let dec = sb.sops(
            &["decrypt", "--output", "existing.yaml", "secret.enc.yaml"],
            &[("SOPS_AGE_KEY_FILE", keyfile)],
        );
        assert_eq!(code(&dec), 0, "{}", stderr(&dec));
        assert_eq!(sb.read("existing.yaml"), PLAIN);
        let mode = std::fs::metadata(&existing).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }
    let ex = sb.sops(
        &["decrypt", "--extract", "[\"port\"]", "secret.enc.yaml"],
        &[("SOPS_AGE_KEY_FILE", keyfile)],
    );
    assert_eq!(stdout(&ex), "5432");

    // no identity: sops' CouldNotRetrieveKey
    let dec = sb.sops(&["decrypt", "secret.enc.yaml"], &[]);
    assert_eq!(code(&dec), 128, "{}", stderr(&dec));
    assert!(!stderr(&dec).contains("hunter2"));

    // in place
    let enc = sb.sops(
        &["encrypt", "-i", "--age", &key.recipient(), "secret.yaml"],
        &[],
    );
    assert_eq!(code(&enc), 0, "{}", stderr(&enc));
    assert!(sb.read("secret.yaml").contains("sops:\n"));
    // encrypting it again: FileAlreadyEncrypted
    let again = sb.sops(&["encrypt", "--age", &key.recipient(), "secret.yaml"], &[]);
    assert_eq!(code(&again), 203, "{}", stderr(&again));
}

#[test]
fn mac_and_parameter_errors_use_sops_exit_codes() {
    let sb = Sandbox::new("codes");
    let key = AgeKey::generate();
    let id = identity(&key);
    sb.write("s.yaml", PLAIN);
    let text = stdout(&sb.sops(&["encrypt", "--age", &key.recipient(), "s.yaml"], &[]));
    sb.write(
        "changed.yaml",
        &text.replace("host_unencrypted: db.local", "host_unencrypted: evil.local"),
    );
    let o = sb.sops(&["decrypt", "changed.yaml"], &[("SOPS_AGE_KEY", &id)]);
    assert_eq!(code(&o), 51, "{}", stderr(&o));
    let o = sb.sops(
        &["decrypt", "--ignore-mac", "changed.yaml"],
        &[("SOPS_AGE_KEY", &id)],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    let no_mac: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("mac:"))
        .map(|l| format!("{l}\n"))
        .collect();
    sb.write("nomac.yaml", &no_mac);
    assert_eq!(
        code(&sb.sops(&["decrypt", "nomac.yaml"], &[("SOPS_AGE_KEY", &id)])),
        52
    );

    let tampered_mac = text.replacen(
        "mac: ENC[AES256_GCM,data:",
        "mac: ENC[AES256_GCM,data:AAAA",
        1,
    );
    sb.write("badmac.yaml", &tampered_mac);
    assert_eq!(
        code(&sb.sops(&["decrypt", "badmac.yaml"], &[("SOPS_AGE_KEY", &id)])),
        24
    );

    let pw = text.lines().find(|l| l.starts_with("password:")).unwrap();
    sb.write(
        "badval.yaml",
        &text.replace(pw, &pw.replacen("data:", "data:AAAA", 1)),
    );
    assert_eq!(
        code(&sb.sops(&["decrypt", "badval.yaml"], &[("SOPS_AGE_KEY", &id)])),
        25
    );

    assert_eq!(code(&sb.sops(&["decrypt"], &[])), 100);
    assert_eq!(code(&sb.sops(&["encrypt", "s.yaml"], &[])), 111);
    let o = sb.sops(
        &[
            "encrypt",
            "--age",
            &key.recipient(),
            "--encrypted-regex",
            "a",
            "--unencrypted-suffix",
            "_x",
            "s.yaml",
        ],
        &[],
    );
    assert_eq!(code(&o), 8);
    assert_eq!(code(&sb.sops(&["updatekeys", "-y", "s.yaml"], &[])), 61);
    sb.write("enc.yaml", &text);
    let o = sb.sops(
        &["set", "enc.yaml", "not-a-path", "1"],
        &[("SOPS_AGE_KEY", &id)],
    );
    assert_eq!(code(&o), 91, "{}", stderr(&o));
    let o = sb.sops(
        &["edit", "enc.yaml"],
        &[("SOPS_AGE_KEY", &id), ("EDITOR", "true")],
    );
    assert_eq!(code(&o), 200, "{}", stderr(&o));
    // a key URL that is not a Key Vault host: refused before any request or token
    let o = sb.sops(
        &[
            "encrypt",
            "--azure-kv",
            "https://evil.example/keys/k/1",
            "s.yaml",
        ],
        &[],
    );
    assert_eq!(code(&o), 111);
    assert!(
        stderr(&o).contains("not an Azure Key Vault URL"),
        "{}",
        stderr(&o)
    );
}

mod azure_kv {
    //! `--azure-kv` and `.sops.yaml` `azure_keyvault` keys, in-process against the fake cloud's Key Vault.

    use super::Sandbox;
    use azflux_core::fake::FakeCloud;
    use keyvault_sops::fake::FakeKeyVault;
    use secrecy::ExposeSecret as _;
    use std::sync::Arc;
    use xtask::sops_cli::{AzureContext, run_with};

    const VAULT: &str = "https://kv1.vault.azure.net";
    const PLAIN: &str = "password: hunter2\nport: 5432\nhost_unencrypted: db.local\n";

    fn context(cloud: &FakeCloud) -> AzureContext {
        let sandbox = cloud.sandbox().clone();
        let env: Vec<(String, String)> = vec![
            ("AZURE_TENANT_ID".into(), sandbox.tenant_id.clone()),
            ("AZURE_CLIENT_ID".into(), sandbox.client_id.clone()),
            (
                "AZURE_CLIENT_SECRET".into(),
                sandbox.client_secret.expose_secret().to_owned(),
            ),
        ];
        AzureContext {
            cloud: cloud.cloud(),
            http: cloud.http_options(),
            client_options: cloud.client_options(),
            env: Arc::new(move |n| env.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())),
        }
    }

    async fn sops(ctx: &AzureContext, args: &[&str]) -> (u8, String) {
        run_with(args.iter().map(|s| s.to_string()).collect(), ctx.clone()).await
    }

    #[tokio::test]
    async fn azure_kv_keys_encrypt_and_decrypt_through_the_key_vault_fake() {
        let cloud = FakeCloud::start().await;
        let fake = FakeKeyVault::mount(&cloud).await;
        fake.generate_key("kv1", "sops-key", 2048).unwrap();
        let version = fake.versions("kv1", "sops-key")[0].clone();
        let ctx = context(&cloud);
        let sb = Sandbox::new("azure-kv");
        let input = sb.write("s.yaml", PLAIN);
        let (out, plain) = (sb.path("s.enc.yaml"), sb.path("s.dec.yaml"));
        let p = |p: &std::path::PathBuf| p.display().to_string();

        // --azure-kv without a version: resolved with GetKey, written into the entry
        let key_url = format!("{VAULT}/keys/sops-key");
        let (code, err) = sops(
            &ctx,
            &[
                "encrypt",
                "--azure-kv",
                &key_url,
                "--output",
                &p(&out),
                &p(&input),
            ],
        )
        .await;
        assert_eq!(code, 0, "{err}");
        let text = sb.read("s.enc.yaml");
        assert!(!text.contains("hunter2"));
        assert!(text.contains("    azure_kv:\n"), "{text}");
        assert!(
            text.contains(&format!(
                "          vault_url: {VAULT}\n          version: {version}\n"
            )),
            "{text}"
        );
        assert_eq!(fake.challenges(), 1);

        // decrypt: the key comes from the file's azure_kv entry
        let (code, err) = sops(&ctx, &["decrypt", "--output", &p(&plain), &p(&out)]).await;
        assert_eq!(code, 0, "{err}");
        assert_eq!(sb.read("s.dec.yaml"), PLAIN);
        assert!(cloud.request_count("keyvault.decrypt") >= 1);

        // .sops.yaml azure_keyvault rules use the same client
        let cfg = sb.write(
            ".sops.yaml",
            &format!("creation_rules:\n  - azure_keyvault: {VAULT}/keys/sops-key/{version}\n"),
        );
        let out2 = sb.path("s.rule.yaml");
        let (code, err) = sops(
            &ctx,
            &[
                "encrypt",
                "--config",
                &p(&cfg),
                "--output",
                &p(&out2),
                &p(&input),
            ],
        )
        .await;
        assert_eq!(code, 0, "{err}");
        assert!(
            sb.read("s.rule.yaml")
                .contains(&format!("version: {version}"))
        );

        // a missing key: sops' "error encrypting the data key" code, naming the key
        let (code, err) = sops(
            &ctx,
            &[
                "encrypt",
                "--azure-kv",
                &format!("{VAULT}/keys/nope"),
                "--output",
                &p(&out2),
                &p(&input),
            ],
        )
        .await;
        assert_eq!(code, 23, "{err}");
        assert!(
            err.contains("`nope` was not found in Key Vault https://kv1.vault.azure.net"),
            "{err}"
        );

        // no data-plane role: encrypt and decrypt fail naming the vault, the key and the role to grant
        fake.revoke("kv1", &cloud.sandbox().object_id);
        let (code, err) = sops(&ctx, &["decrypt", "--output", &p(&plain), &p(&out)]).await;
        assert_eq!(code, 128, "{err}");
        assert!(
            err.contains("Key Vault Crypto User")
                && err.contains("sops-key")
                && err.contains(VAULT),
            "{err}"
        );
        let (code, err) = sops(
            &ctx,
            &[
                "encrypt",
                "--azure-kv",
                &key_url,
                "--output",
                &p(&out2),
                &p(&input),
            ],
        )
        .await;
        assert_eq!(code, 23, "{err}");
        assert!(
            err.contains("ForbiddenByRbac") && err.contains("Key Vault Crypto User"),
            "{err}"
        );
    }
}

#[test]
fn edit_and_set_change_only_what_changed() {
    let sb = Sandbox::new("edit");
    let key = AgeKey::generate();
    let id = identity(&key);
    sb.write("s.yaml", PLAIN);
    let text = stdout(&sb.sops(&["encrypt", "--age", &key.recipient(), "s.yaml"], &[]));
    sb.write("e.yaml", &text);
    let o = sb.sops(
        &["edit", "e.yaml"],
        &[
            ("SOPS_AGE_KEY", &id),
            ("EDITOR", "sed -i s/hunter2/hunter3/"),
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let edited = sb.read("e.yaml");
    let changed: Vec<&str> = text
        .lines()
        .zip(edited.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.trim_start())
        .collect();
    // lastmodified changes too unless the edit happened within the same second
    assert!(changed[0].starts_with("password:"), "{changed:?}");
    assert!(changed.last().unwrap().starts_with("mac:"), "{changed:?}");
    assert!(
        changed[1..changed.len() - 1]
            .iter()
            .all(|l| l.starts_with("lastmodified:")),
        "{changed:?}"
    );
    let dec = stdout(&sb.sops(&["decrypt", "e.yaml"], &[("SOPS_AGE_KEY", &id)]));
    assert_eq!(dec, PLAIN.replace("hunter2", "hunter3"));

    let o = sb.sops(
        &["set", "e.yaml", "[\"port\"]", "6543"],
        &[("SOPS_AGE_KEY", &id)],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let dec = stdout(&sb.sops(&["decrypt", "e.yaml"], &[("SOPS_AGE_KEY", &id)]));
    assert!(dec.contains("port: 6543\n") && dec.contains("password: hunter3\n"));
}

#[test]
fn creation_rules_rotate_and_updatekeys() {
    let sb = Sandbox::new("rules");
    let (k1, k2) = (AgeKey::generate(), AgeKey::generate());
    std::fs::create_dir_all(sb.path("apps/prod")).unwrap();
    sb.write(
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - path_regex: prod/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: {}\n  - age: {}\n",
            k1.recipient(),
            k2.recipient()
        ),
    );
    sb.write(
        "apps/prod/secret.yaml",
        "kind: Secret\nstringData:\n    token: t0k3n\n",
    );
    let o = sb.sops(&["encrypt", "-i", "apps/prod/secret.yaml"], &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let enc = sb.read("apps/prod/secret.yaml");
    assert!(
        enc.starts_with("kind: Secret\nstringData:\n    token: ENC["),
        "{enc}"
    );
    assert!(
        enc.contains(&k1.recipient())
            && !enc.contains(&k2.recipient())
            && enc.contains("encrypted_regex: ^(data|stringData)$")
    );

    // updatekeys: the rule now lists both recipients; values stay as they are
    sb.write(
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - path_regex: prod/\n    age: {},{}\n",
            k1.recipient(),
            k2.recipient()
        ),
    );
    let o = sb.sops(
        &["updatekeys", "-y", "apps/prod/secret.yaml"],
        &[("SOPS_AGE_KEY", &identity(&k1))],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let updated = sb.read("apps/prod/secret.yaml");
    assert_eq!(updated.lines().nth(2), enc.lines().nth(2));
    let o = sb.sops(
        &["decrypt", "apps/prod/secret.yaml"],
        &[("SOPS_AGE_KEY", &identity(&k2))],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    // rotate, dropping k1: every value changes and k1 no longer opens it
    let o = sb.sops(
        &[
            "rotate",
            "-i",
            "--rm-age",
            &k1.recipient(),
            "apps/prod/secret.yaml",
        ],
        &[("SOPS_AGE_KEY", &identity(&k2))],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let rotated = sb.read("apps/prod/secret.yaml");
    assert_ne!(rotated.lines().nth(2), updated.lines().nth(2));
    assert_eq!(
        code(&sb.sops(
            &["decrypt", "apps/prod/secret.yaml"],
            &[("SOPS_AGE_KEY", &identity(&k1))]
        )),
        128
    );
    let o = sb.sops(
        &["decrypt", "apps/prod/secret.yaml"],
        &[("SOPS_AGE_KEY", &identity(&k2))],
    );
    assert_eq!(stdout(&o), "kind: Secret\nstringData:\n    token: t0k3n\n");
}

/// Writes an executable editor script into the sandbox.
fn editor_script(sb: &Sandbox, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    let p = sb.write(name, &format!("#!/bin/sh\n{body}\n"));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

#[test]
fn deeply_nested_yaml_is_an_error_not_an_abort() {
    // issue 17's repro: 'a:\n' + '- ' * 3000 + 'x\n' exited 134 (stack overflow)
    let sb = Sandbox::new("deep");
    let key = AgeKey::generate();
    sb.write("d.yaml", &format!("a:\n{}x\n", "- ".repeat(3000)));
    let o = sb.sops(&["encrypt", "--age", &key.recipient(), "d.yaml"], &[]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("nested more than 128 levels"),
        "{}",
        stderr(&o)
    );
    let o = sb.sops(&["decrypt", "d.yaml"], &[("SOPS_AGE_KEY", &identity(&key))]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

#[test]
fn empty_files_are_refused_with_sops_exit_code_92() {
    let sb = Sandbox::new("empty");
    let key = AgeKey::generate();
    let id = identity(&key);
    sb.write("e.yaml", "");
    let o = sb.sops(&["encrypt", "--age", &key.recipient(), "e.yaml"], &[]);
    assert_eq!(code(&o), 92, "{}", stderr(&o));
    assert!(stderr(&o).contains("File cannot be completely empty"));

    // an editor that empties the file must not wipe every secret
    sb.write("s.yaml", PLAIN);
    let text = stdout(&sb.sops(&["encrypt", "--age", &key.recipient(), "s.yaml"], &[]));
    sb.write("x.yaml", &text);
    for (i, body) in [": > \"$1\"", "printf '# all gone\\n\\n' > \"$1\""]
        .iter()
        .enumerate()
    {
        let ed = editor_script(&sb, &format!("empty{i}.sh"), body);
        let o = sb.sops(
            &["edit", "x.yaml"],
            &[("SOPS_AGE_KEY", &id), ("EDITOR", &ed)],
        );
        assert_eq!(code(&o), 92, "{}", stderr(&o));
        assert!(stderr(&o).contains("left unchanged"), "{}", stderr(&o));
        assert_eq!(sb.read("x.yaml"), text, "the encrypted file is untouched");
    }
}

#[test]
fn edit_keeps_the_plaintext_private_and_removes_it_on_every_path() {
    let sb = Sandbox::new("edit-tmp");
    let key = AgeKey::generate();
    let id = identity(&key);
    let tmp = sb.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let tmp_s = tmp.display().to_string();
    sb.write("s.yaml", PLAIN);
    let text = stdout(&sb.sops(&["encrypt", "--age", &key.recipient(), "s.yaml"], &[]));
    sb.write("x.yaml", &text);
    let log = sb.path("modes.log").display().to_string();
    let leftovers = || std::fs::read_dir(&tmp).unwrap().count();

    // modes: the file 0600, its directory 0700
    let ed = editor_script(
        &sb,
        "modes.sh",
        &format!(
            "stat -c %a \"$1\" > {log}; stat -c %a \"$(dirname \"$1\")\" >> {log}; sed -i s/hunter2/hunter9/ \"$1\""
        ),
    );
    let o = sb.sops(
        &["edit", "x.yaml"],
        &[("SOPS_AGE_KEY", &id), ("EDITOR", &ed), ("TMPDIR", &tmp_s)],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(sb.read("modes.log"), "600\n700\n");
    assert_eq!(leftovers(), 0);
    let edited = sb.read("x.yaml");

    // the editor fails; the edit is invalid YAML; the file did not change: no plaintext left behind
    for (name, body) in [
        ("fail.sh", "exit 3"),
        ("bad.sh", "printf 'a: [\\n' > \"$1\""),
        ("same.sh", "true"),
        (
            "deep.sh",
            "python3 -c \"open('$1','w').write('a:\\n'+'- '*3000+'x\\n')\"",
        ),
    ] {
        let ed = editor_script(&sb, name, body);
        let o = sb.sops(
            &["edit", "x.yaml"],
            &[("SOPS_AGE_KEY", &id), ("EDITOR", &ed), ("TMPDIR", &tmp_s)],
        );
        assert_ne!(code(&o), 0, "{name}");
        assert!(code(&o) < 128 || code(&o) == 200, "{name}: {}", code(&o));
        assert_eq!(leftovers(), 0, "{name} left the plaintext behind");
        assert_eq!(sb.read("x.yaml"), edited, "{name} changed the file");
    }

    // SIGTERM and SIGINT while the editor runs: editor stopped, plaintext removed, 128 + signal
    for (sig, want) in [("TERM", 143), ("INT", 130)] {
        let ed = editor_script(
            &sb,
            &format!("sig{sig}.sh"),
            &format!("sed -i s/hunter9/hunter0/ \"$1\"; kill -{sig} $PPID; exec sleep 30"),
        );
        let started = std::time::Instant::now();
        let o = sb.sops(
            &["edit", "x.yaml"],
            &[("SOPS_AGE_KEY", &id), ("EDITOR", &ed), ("TMPDIR", &tmp_s)],
        );
        assert_eq!(code(&o), want, "SIG{sig}: {}", stderr(&o));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(25),
            "the editor was stopped, not waited for"
        );
        assert!(stderr(&o).contains(&format!("SIG{sig}")), "{}", stderr(&o));
        assert_eq!(leftovers(), 0, "SIG{sig} left the plaintext behind");
        assert_eq!(sb.read("x.yaml"), edited, "SIG{sig} changed the file");
    }
}

#[test]
fn duplicate_keys_are_warned_about_without_values() {
    let sb = Sandbox::new("dups");
    let key = AgeKey::generate();
    sb.write(
        "d.yaml",
        "user: a\npassword: s3cr3t-one\npassword: s3cr3t-two\n",
    );
    let o = sb.sops(&["encrypt", "--age", &key.recipient(), "d.yaml"], &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("duplicate keys `password`"), "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
    // both entries are kept, as sops keeps them
    assert_eq!(stdout(&o).matches("password: ENC[").count(), 2);
}
