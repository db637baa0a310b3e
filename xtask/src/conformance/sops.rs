//! Conformance against files written by the real sops (`sops/`): each decrypts with its key, MAC verified.
//!
//! Cases, per fixture file that carries a `sops` block:
//! - `decrypt <file>`: the data key is recovered with the test keys in `sops/keys/` (age or PGP), every value
//!   decrypts and the MAC verifies; when `expected/<file>.expected.json` exists, the recovered data key and
//!   every value's plaintext must equal it.
//! - `data-key <file>`: decryption and MAC check with the data key given in `expected/` (this is how files
//!   whose master keys are not available here, such as AWS KMS, would be checked).
//! - `reencrypt <file>`: re-encrypting the unchanged file reproduces the original bytes outside the
//!   `sops` block (only files in the layout this crate writes: sops 3.10+).
//! - `no-mac`: the file without a MAC is rejected, and opens with `ignore_mac`.
//! - `.sops.yaml` files parse as creation rules.
//! - `azure_kv` (the synthetic files in `sops/synthetic-azure-kv/`): the fake Key Vault is loaded with the
//!   fixture's RSA test key (the private key PEM is read in place, never copied), its GetKey public key must be
//!   the fixture's JWK, and each file must decrypt through its `azure_kv` entry alone — keyvault-sops'
//!   `AzureKeyVaultKey` calling the Key Vault `decrypt` operation (challenge, token) — to the expected data key.

use super::SuiteReport;
use anyhow::Context as _;
use keyvault_sops::{
    AgeKey, DataKey, DecryptOptions, Error, Format, MasterKey, PgpKey, SopsFile, decrypt,
    decrypt_with_data_key, tree,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn hex_decode(s: &str) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).context("bad hex"))
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn load_keys(root: &Path) -> anyhow::Result<Vec<Arc<dyn MasterKey>>> {
    let mut keys: Vec<Arc<dyn MasterKey>> = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("keys"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.push(root.join("synthetic-azure-kv/age_test_identity.txt"));
    files.sort();
    for f in files {
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        if name.ends_with(".asc") {
            for k in PgpKey::parse_armored(&text).with_context(|| format!("reading {name}"))? {
                keys.push(Arc::new(k));
            }
        } else if name.ends_with(".txt") && text.contains("AGE-SECRET-KEY-") {
            for k in AgeKey::parse_identities(&text).with_context(|| format!("reading {name}"))? {
                keys.push(Arc::new(k));
            }
        }
    }
    Ok(keys)
}

fn sops_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in [
        "getsops-sops",
        "rops-sops_references",
        "sops-nix",
        "synthetic-azure-kv",
    ] {
        let Ok(rd) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in rd.flatten() {
            out.push(e.path());
        }
    }
    out.sort();
    out
}

fn format_of(path: &Path) -> Option<Format> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml") | Some("yml") => Some(Format::Yaml),
        Some("json") => Some(Format::Json),
        Some("env") => Some(Format::Dotenv),
        Some("bin") | Some("txt") => Some(Format::Binary),
        _ => None,
    }
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn expected_for(root: &Path, relname: &str) -> Option<serde_json::Value> {
    let name = format!("{}.expected.json", relname.replacen('/', "__", 1));
    let text = std::fs::read_to_string(root.join("expected").join(name)).ok()?;
    serde_json::from_str(&text).ok()
}

fn compare_expected(file: &SopsFile, exp: &serde_json::Value) -> Result<(), String> {
    let want: Vec<(Vec<String>, String)> = exp["values"]
        .as_array()
        .map(|vals| {
            vals.iter()
                .filter(|v| !v["plaintext"].is_null())
                .map(|v| {
                    let path = v["path"]
                        .as_array()
                        .map(|p| {
                            p.iter()
                                .filter_map(|s| s.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default();
                    let text = match (&v["mac_bytes"], &v["plaintext"]) {
                        (serde_json::Value::String(m), _) => m.clone(),
                        (_, serde_json::Value::String(p)) => p.clone(),
                        (_, other) => other.to_string(),
                    };
                    (path, text)
                })
                .collect()
        })
        .unwrap_or_default();
    let got: Vec<(Vec<String>, String)> = tree::leaves(&file.tree)
        .into_iter()
        .filter_map(|(p, v)| {
            tree::scalar_bytes(v).map(|b| (p, String::from_utf8_lossy(&b).into_owned()))
        })
        .filter(|(_, s)| !s.is_empty() || want.iter().any(|(_, w)| w.is_empty()))
        .collect();
    let want: Vec<_> = want
        .into_iter()
        .filter(|(_, s)| !s.is_empty() || got.iter().any(|(_, g)| g.is_empty()))
        .collect();
    if got.len() != want.len() {
        return Err(format!(
            "{} values decrypted, expected {}",
            got.len(),
            want.len()
        ));
    }
    for (i, ((gp, gv), (wp, wv))) in got.iter().zip(&want).enumerate() {
        if gp != wp {
            return Err(format!("value {i}: path {gp:?}, expected {wp:?}"));
        }
        if gv != wv {
            return Err(format!(
                "value {i} at {}: plaintext differs from expected (not shown)",
                gp.join(":")
            ));
        }
    }
    Ok(())
}

fn split_metadata(text: &str, format: Format) -> &str {
    let marker = match format {
        Format::Yaml => "\nsops:\n",
        _ => "\n\t\"sops\": {",
    };
    match text.find(marker) {
        Some(i) => &text[..i],
        None => text,
    }
}

async fn age_mock(root: &Path) -> Result<(), String> {
    let id = std::fs::read_to_string(root.join("keys/age_getsops_mock_identity.txt"))
        .map_err(|e| e.to_string())?;
    let enc = std::fs::read_to_string(
        root.join("keys/age_getsops_mockEncryptedKey_plaintext_is_data.age"),
    )
    .map_err(|e| e.to_string())?;
    let key = AgeKey::parse_identities(&id)
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
        .ok_or("no identity")?;
    let entry = keyvault_sops::KeyEntry::Age(keyvault_sops::AgeEntry {
        recipient: key.recipient(),
        enc,
    });
    let out = key.decrypt(&entry).await.map_err(|e| e.to_string())?;
    use secrecy::ExposeSecret as _;
    if out.expose_secret().as_slice() == b"data" {
        Ok(())
    } else {
        Err("decrypted to something else".into())
    }
}

/// The synthetic azure_kv files decrypt through their `azure_kv` entry against the Key Vault fake.
async fn azure_kv(root: &Path, report: &mut SuiteReport) {
    use azflux_core::fake::FakeCloud;
    use keyvault_sops::fake::FakeKeyVault;
    use keyvault_sops::{AzureKeyVaultKey, KeyEntry, KeyVaultClient, Metadata};
    let dir = root.join("synthetic-azure-kv");
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).map_err(|e| format!("reading {name}: {e}"))
    };
    let setup = async {
        let pem = read("mock_keyvault_rsa2048_private.pem")?;
        let expected: serde_json::Value =
            serde_json::from_str(&read("expected.json")?).map_err(|e| e.to_string())?;
        let getkey: serde_json::Value =
            serde_json::from_str(&read("mock_keyvault_getkey_response.json")?)
                .map_err(|e| e.to_string())?;
        let kid = getkey["key"]["kid"].as_str().unwrap_or_default().to_owned();
        let (vault_url, rest) = kid
            .split_once("/keys/")
            .ok_or("the GetKey fixture has no kid")?;
        let (name, version) = rest.split_once('/').ok_or("the kid has no version")?;
        let cloud = FakeCloud::start().await;
        let fake = FakeKeyVault::mount(&cloud).await;
        fake.import_pem(vault_url, name, Some(version), &pem)
            .map_err(|e| e.to_string())?;
        let credential = cloud.credential().map_err(|e| e.to_string())?;
        let client = KeyVaultClient::new(&cloud.cloud(), credential, &cloud.http_options());
        // the fake holds the fixture's key: GetKey answers the fixture's public JWK
        let bundle = client
            .get_key(vault_url, name, version)
            .await
            .map_err(|e| e.to_string())?;
        if bundle.key.n.as_deref() != getkey["key"]["n"].as_str()
            || bundle.key.e.as_deref() != getkey["key"]["e"].as_str()
        {
            return Err("the fake's public key differs from the fixture's GetKey JWK".to_string());
        }
        Ok::<_, String>((cloud, client, expected))
    }
    .await;
    let (cloud, client, expected) = match setup {
        Ok(s) => s,
        Err(e) => {
            report.record("azure_kv fake vault loaded with the fixture key", Err(e));
            return;
        }
    };
    report.record("azure_kv fake vault loaded with the fixture key", Ok(()));
    let want = expected["data_key_hex"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for (file, format) in [
        ("synthetic_azkv_age.enc.yaml", Format::Yaml),
        ("synthetic_azkv_age.enc.json", Format::Json),
    ] {
        let before = cloud.request_count("keyvault.decrypt");
        let outcome = async {
            let bytes = std::fs::read(dir.join(file)).map_err(|e| e.to_string())?;
            let tree = format.parse_encrypted(&bytes).map_err(|e| e.to_string())?;
            let block = tree
                .documents
                .first()
                .and_then(|d| tree::get(d, "sops"))
                .ok_or("no sops block")?;
            let meta = Metadata::from_value(block).map_err(|e| e.to_string())?;
            let entry = meta
                .entries()
                .find_map(|e| match e {
                    KeyEntry::AzureKv(a) => Some(a.clone()),
                    _ => None,
                })
                .ok_or("no azure_kv entry")?;
            if Some(entry.enc.as_str()) != expected["azure_kv_enc_b64url_nopad"].as_str() {
                return Err("the enc field differs from expected.json".to_string());
            }
            // only the Key Vault key: the age entry cannot help
            let key =
                AzureKeyVaultKey::from_entry(client.clone(), &entry).map_err(|e| e.to_string())?;
            let keys: Vec<Arc<dyn MasterKey>> = vec![Arc::new(key)];
            let file = decrypt(tree, &keys, &DecryptOptions::default())
                .await
                .map_err(|e| e.to_string())?;
            if !file.mac_verified {
                return Err("MAC not verified".into());
            }
            if hex(file.data_key().expose()) != want {
                return Err(
                    "the data key from Key Vault decrypt differs from expected.json".into(),
                );
            }
            if cloud.request_count("keyvault.decrypt") == before {
                return Err("no Key Vault decrypt request was made".into());
            }
            Ok(())
        }
        .await;
        report.record(
            format!("azure_kv decrypt via the Key Vault client synthetic-azure-kv/{file}"),
            outcome,
        );
    }
}

/// Runs the SOPS suite.
pub fn run(fixtures: &Path) -> anyhow::Result<SuiteReport> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_async(fixtures))
}

async fn run_async(fixtures: &Path) -> anyhow::Result<SuiteReport> {
    let root = fixtures.join("sops");
    let mut report = SuiteReport::new("sops");
    let keys = load_keys(&root)?;
    report.record(
        "age mock key (sops age/keysource_test.go) decrypts to `data`",
        age_mock(&root).await,
    );
    azure_kv(&root, &mut report).await;
    for path in sops_files(&root) {
        let name = rel(&root, &path);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes).to_string();
        if name.ends_with("sops.yaml") {
            report.record(
                format!("rules {name}"),
                keyvault_sops::rules::Config::parse(&text)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            );
            continue;
        }
        let Some(format) = format_of(&path) else {
            continue;
        };
        let Ok(tree) = format.parse_encrypted(&bytes) else {
            continue;
        };
        if tree
            .documents
            .first()
            .and_then(|d| tree::get(d, "sops"))
            .is_none()
        {
            continue; // a plaintext input, not an encrypted file
        }
        let expected = expected_for(&root, &name);
        let is_no_mac = name.contains("no_mac");

        // 1. decrypt with the master keys
        let opts = DecryptOptions { ignore_mac: false };
        let outcome = match decrypt(tree.clone(), &keys, &opts).await {
            Ok(file) => {
                let mut r = if file.mac_verified {
                    Ok(())
                } else {
                    Err("MAC not verified".to_string())
                };
                if let (Ok(()), Some(exp)) = (&r, &expected) {
                    if let Some(k) = exp["data_key_hex"].as_str()
                        && hex(file.data_key().expose()) != k
                    {
                        r = Err("recovered data key differs from expected".into());
                    } else {
                        r = compare_expected(&file, exp);
                    }
                }
                r
            }
            Err(Error::MacMissing) if is_no_mac => {
                // sops rejects it too; it must open with ignore_mac.
                match decrypt(tree.clone(), &keys, &DecryptOptions { ignore_mac: true }).await {
                    Ok(f) => expected
                        .as_ref()
                        .map(|e| compare_expected(&f, e))
                        .unwrap_or(Ok(())),
                    Err(e) => Err(format!("with ignore_mac: {e}")),
                }
            }
            Err(Error::NoDataKey { attempts }) if name.contains("aws_kms") => {
                // needs AWS KMS: not decryptable here; the error must name the KMS key
                if attempts.iter().any(|a| a.contains("kms")) {
                    Ok(())
                } else {
                    Err(format!("unexpected: {attempts:?}"))
                }
            }
            Err(e) => Err(e.to_string()),
        };
        let label = if is_no_mac {
            "decrypt (MAC missing: rejected, opens with ignore_mac)"
        } else {
            "decrypt"
        };
        report.record(format!("{label} {name}"), outcome);

        // 2. decrypt with the expected data key alone
        let data_key = expected
            .as_ref()
            .and_then(|e| e["data_key_hex"].as_str().map(String::from))
            .or_else(|| {
                if name.starts_with("synthetic-azure-kv") {
                    let e: serde_json::Value = serde_json::from_str(
                        &std::fs::read_to_string(root.join("synthetic-azure-kv/expected.json"))
                            .ok()?,
                    )
                    .ok()?;
                    e["data_key_hex"].as_str().map(String::from)
                } else {
                    None
                }
            });
        if let Some(k) = data_key {
            let outcome = (|| -> Result<(), String> {
                let dk = DataKey::from_slice(&hex_decode(&k).map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
                let f = decrypt_with_data_key(
                    tree.clone(),
                    dk,
                    &DecryptOptions {
                        ignore_mac: is_no_mac,
                    },
                )
                .map_err(|e| e.to_string())?;
                if !is_no_mac && !f.mac_verified {
                    return Err("MAC not verified".into());
                }
                match &expected {
                    Some(e) => compare_expected(&f, e),
                    None => Ok(()),
                }
            })();
            report.record(format!("data-key {name}"), outcome);
        }

        // 3. re-encrypt unchanged: identical outside the metadata (layouts sops 3.10+ write)
        let modern = !name.starts_with("rops") && text.contains("version: 3.1")
            || text.contains("\"version\": \"3.1");
        if modern && !is_no_mac && format != Format::Binary {
            let outcome = match decrypt(tree.clone(), &keys, &DecryptOptions::default()).await {
                Ok(file) => match file.to_encrypted_bytes(format, None) {
                    Ok(out) => {
                        let out = String::from_utf8_lossy(&out).to_string();
                        if split_metadata(&out, format) == split_metadata(&text, format) {
                            Ok(())
                        } else {
                            Err(format!(
                                "re-encrypted body differs:\n--- got\n{}\n--- want\n{}",
                                split_metadata(&out, format),
                                split_metadata(&text, format)
                            ))
                        }
                    }
                    Err(e) => Err(e.to_string()),
                },
                Err(e) => Err(e.to_string()),
            };
            report.record(format!("reencrypt {name}"), outcome);
        }
    }
    Ok(report)
}
