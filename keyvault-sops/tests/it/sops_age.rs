//! Cross-check: a file azflux encrypts with an age key decrypts with the independent npm `sops-age` decryptor.
//!
//! How the test finds its tools:
//! - `node` from `PATH` (or `AZFLUX_NODE`).
//! - `sops-age` from `$AZFLUX_SOPS_AGE_DIR/node_modules/sops-age` when `AZFLUX_SOPS_AGE_DIR` is set (CI: run
//!   `npm install sops-age@4` in that directory first); otherwise from `target/tmp/sops-age/`, where the test runs
//!   `npm install --no-save sops-age@4` once if it is missing (needs the npm registry).
//! - When the tools cannot be found or installed the test skips with a message, except when `CI` is set:
//!   then it fails.

use crate::common::*;
use keyvault_sops::{EncryptOptions, Format};
use secrecy::ExposeSecret as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tool_dir() -> Result<(String, PathBuf), String> {
    let node = std::env::var("AZFLUX_NODE").unwrap_or_else(|_| "node".into());
    Command::new(&node)
        .arg("--version")
        .output()
        .map_err(|e| format!("`{node}` not runnable: {e}"))?;
    let dir = match std::env::var("AZFLUX_SOPS_AGE_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => Path::new(env!("CARGO_TARGET_TMPDIR")).join("sops-age"),
    };
    if !dir.join("node_modules/sops-age/package.json").is_file() {
        if std::env::var("AZFLUX_SOPS_AGE_DIR").is_ok() {
            return Err(format!(
                "sops-age is not installed in {} (run `npm install sops-age@4` there)",
                dir.display()
            ));
        }
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let out = Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "sops-age@4",
            ])
            .current_dir(&dir)
            .output()
            .map_err(|e| format!("npm not runnable: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "npm install sops-age failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok((node, dir))
}

#[tokio::test]
async fn sops_age_npm_decrypts_what_azflux_encrypts() {
    let (node, dir) = match tool_dir() {
        Ok(t) => t,
        Err(why) => {
            azflux_core::test_servers::missing(
                &format!("node with the npm sops-age decryptor ({why})"),
                "apt-get install -y nodejs npm, then rerun (the test installs sops-age@4 itself)",
            );
            return;
        }
    };
    let key = age();
    let identity = key.identity_secret().unwrap();
    let plain = "# db\npassword: s3cr3t!\napp:\n    port: 8080\n    debug: true\n    ratio: 0.75\n    hosts:\n        - a.example\n        - b.example\npublic_unencrypted: visible\n";
    for (format, ext) in [(Format::Yaml, "yaml"), (Format::Json, "json")] {
        let input = if format == Format::Json {
            "{\"password\": \"s3cr3t!\", \"app\": {\"port\": 8080, \"debug\": true, \"ratio\": 0.75, \"hosts\": [\"a.example\", \"b.example\"]}, \"public_unencrypted\": \"visible\"}"
        } else {
            plain
        };
        let text = encrypt_with(input, format, &key, EncryptOptions::default()).await;
        let file = dir.join(format!("crosscheck-{}.{ext}", std::process::id()));
        std::fs::write(&file, &text).unwrap();
        let script = "const { decryptSops } = require('sops-age');\
            decryptSops({ path: process.argv[1], secretKey: process.env.SOPS_AGE_KEY })\
            .then(v => process.stdout.write(JSON.stringify(v)))\
            .catch(e => { console.error(String(e)); process.exit(1); });";
        let out = Command::new(&node)
            .arg("-e")
            .arg(script)
            .arg(&file)
            .current_dir(&dir)
            .env("SOPS_AGE_KEY", identity.expose_secret())
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&file);
        assert!(
            out.status.success(),
            "sops-age failed on {ext}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got["password"], "s3cr3t!", "{ext}");
        assert_eq!(got["app"]["port"], 8080, "{ext}");
        assert_eq!(got["app"]["debug"], true, "{ext}");
        assert_eq!(got["app"]["ratio"], 0.75, "{ext}");
        assert_eq!(got["app"]["hosts"][1], "b.example", "{ext}");
        assert_eq!(got["public_unencrypted"], "visible", "{ext}");
    }
}
