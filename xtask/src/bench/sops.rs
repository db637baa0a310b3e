//! `cargo xtask bench sops`: encrypt and decrypt a generated YAML file (10 MB by default) with an age key,
//! side by side with the independent npm `sops-age` decryptor on the same file in the same run. Reports
//! MB/s (of plaintext) and the ratio azflux decrypt / sops-age decrypt.
//!
//! sops-age is found as in keyvault-sops' cross-check test: `node` from `PATH` (or `AZFLUX_NODE`);
//! `sops-age` from `$AZFLUX_SOPS_AGE_DIR/node_modules/sops-age`, else `target/tmp/sops-age/`, where it is
//! installed with `npm install --no-save sops-age@4` when missing (needs the npm registry). Without node
//! the sops-age row is skipped and says why.
//!
//! sops-age does not verify the MAC; azflux's decrypt does (it is included in the azflux figures).
//! Timings are wall-clock, best of `--iterations`, excluding file I/O for azflux and node's start-up
//! for sops-age (it times its own `decryptSops` calls, which include reading the file).

use keyvault_sops::{AgeKey, DecryptOptions, EncryptOptions, Format, MasterKey};
use secrecy::ExposeSecret as _;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Flags of `cargo xtask bench sops`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchSopsArgs {
    /// Plaintext size in MB (10^6 bytes).
    #[arg(long, default_value_t = 10.0)]
    pub size_mb: f64,
    /// Runs of each operation; the best is reported.
    #[arg(long, default_value_t = 3)]
    pub iterations: usize,
    /// Skip the npm sops-age comparison.
    #[arg(long)]
    pub no_sops_age: bool,
}

/// One measured operation.
#[derive(Debug, Clone)]
pub struct BenchRow {
    /// What was measured.
    pub name: String,
    /// Best wall time, or why it was not measured.
    pub time: Result<Duration, String>,
}

/// The benchmark's results.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Plaintext bytes.
    pub plain_bytes: usize,
    /// Encrypted file bytes.
    pub encrypted_bytes: usize,
    /// Values in the file.
    pub values: usize,
    /// Rows: azflux encrypt, azflux decrypt, sops-age decrypt.
    pub rows: Vec<BenchRow>,
    /// `release` or `debug`.
    pub profile: &'static str,
}

/// A YAML document of about `bytes` bytes: maps of strings, numbers, booleans, lists and comments, plus
/// `_unencrypted` keys that stay plaintext. Deterministic.
pub fn generate_yaml(bytes: usize) -> (String, usize) {
    let mut out = String::with_capacity(bytes + 512);
    let mut values = 0usize;
    let mut i = 0u64;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    while out.len() < bytes {
        let a = next();
        let b = next();
        let _ = write!(
            out,
            "# service {i}\nservice-{i:07}:\n    password: pw-{a:016x}{b:016x}\n    port: {}\n    ratio: {}.{}\n    enabled: {}\n    hosts:\n        - host-{i}-a.example.internal\n        - host-{i}-b.example.internal\n    description: The service number {i} of the benchmark, with a longer text value\n    owner_unencrypted: team-{}\n",
            1024 + a % 60000,
            b % 100,
            a % 1000,
            a % 2 == 0,
            b % 97,
        );
        values += 7;
        i += 1;
    }
    (out, values)
}

/// node and the directory holding `node_modules/sops-age`.
pub fn sops_age_tool() -> Result<(String, PathBuf), String> {
    let node = std::env::var("AZFLUX_NODE").unwrap_or_else(|_| "node".into());
    Command::new(&node)
        .arg("--version")
        .output()
        .map_err(|e| format!("`{node}` not runnable: {e}"))?;
    let dir = match std::env::var("AZFLUX_SOPS_AGE_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => crate::human::target_dir().join("tmp/sops-age"),
    };
    if !dir.join("node_modules/sops-age/package.json").is_file() {
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

/// Decrypts `file` with sops-age `iterations` times in one node process; the best time, after checking
/// that the first service's password matches `expect_password`.
fn sops_age_decrypt(
    file: &Path,
    identity: &str,
    iterations: usize,
    expect_password: &str,
) -> Result<Duration, String> {
    let (node, dir) = sops_age_tool()?;
    let script = "const { decryptSops } = require('sops-age');\
        (async () => { let best = Infinity, v;\
          for (let i = 0; i < Number(process.argv[2]); i++) {\
            const t0 = process.hrtime.bigint();\
            v = await decryptSops({ path: process.argv[1], secretKey: process.env.SOPS_AGE_KEY });\
            const ms = Number(process.hrtime.bigint() - t0) / 1e6; if (ms < best) best = ms; }\
          process.stdout.write(JSON.stringify({ best_ms: best, first: v['service-0000000'].password }));\
        })().catch(e => { console.error(String(e)); process.exit(1); });";
    let out = Command::new(&node)
        .arg("--max-old-space-size=4096")
        .arg("-e")
        .arg(script)
        .arg(file)
        .arg(iterations.max(1).to_string())
        .current_dir(&dir)
        .env("SOPS_AGE_KEY", identity)
        .output()
        .map_err(|e| format!("running node: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "sops-age failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("sops-age printed no JSON: {e}"))?;
    if v["first"].as_str() != Some(expect_password) {
        return Err("sops-age decrypted a different value than azflux".into());
    }
    let ms = v["best_ms"].as_f64().ok_or("no timing from sops-age")?;
    Ok(Duration::from_secs_f64(ms / 1000.0))
}

/// Runs the benchmark.
pub async fn run(args: &BenchSopsArgs) -> anyhow::Result<BenchReport> {
    let size = (args.size_mb * 1e6) as usize;
    let (plain, values) = generate_yaml(size);
    // in the layout sops emits, so that the decrypted file must equal it byte for byte
    let plain =
        String::from_utf8(Format::Yaml.emit_plain(&Format::Yaml.parse_plain(plain.as_bytes())?)?)?;
    let key = Arc::new(AgeKey::generate());
    let groups = vec![vec![key.clone() as Arc<dyn MasterKey>]];
    let keys: Vec<Arc<dyn MasterKey>> = vec![key.clone()];
    let opts = EncryptOptions::default();

    let mut encrypted = Vec::new();
    let mut enc_time = Duration::MAX;
    for _ in 0..args.iterations.max(1) {
        let t = Instant::now();
        encrypted =
            keyvault_sops::encrypt_bytes(plain.as_bytes(), Format::Yaml, &groups, &opts).await?;
        enc_time = enc_time.min(t.elapsed());
    }
    let mut dec_time = Duration::MAX;
    for _ in 0..args.iterations.max(1) {
        let t = Instant::now();
        let out = keyvault_sops::decrypt_bytes(
            &encrypted,
            Format::Yaml,
            &keys,
            &DecryptOptions::default(),
        )
        .await?;
        dec_time = dec_time.min(t.elapsed());
        anyhow::ensure!(
            out.as_slice() == plain.as_bytes(),
            "the decrypted file differs from the plaintext"
        );
    }
    let mut rows = vec![
        BenchRow {
            name: "azflux encrypt (age)".into(),
            time: Ok(enc_time),
        },
        BenchRow {
            name: "azflux decrypt (age, MAC verified)".into(),
            time: Ok(dec_time),
        },
    ];
    let sops_age = if args.no_sops_age {
        Err("skipped (--no-sops-age)".to_string())
    } else {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("bench.enc.yaml");
        std::fs::write(&file, &encrypted)?;
        let identity = key
            .identity_secret()
            .ok_or_else(|| anyhow::anyhow!("the generated age key has no identity"))?;
        let first = plain
            .lines()
            .nth(2)
            .and_then(|l| l.split(": ").nth(1))
            .unwrap_or_default()
            .to_owned();
        sops_age_decrypt(&file, identity.expose_secret(), args.iterations, &first)
    };
    rows.push(BenchRow {
        name: "npm sops-age 4 decrypt (age, no MAC check)".into(),
        time: sops_age,
    });
    Ok(BenchReport {
        plain_bytes: plain.len(),
        encrypted_bytes: encrypted.len(),
        values,
        rows,
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    })
}

/// The report as a Markdown table.
pub fn table(report: &BenchReport) -> String {
    let mb = report.plain_bytes as f64 / 1e6;
    let mut out = format!(
        "sops benchmark ({} build): {:.1} MB YAML plaintext, {} values, {:.1} MB encrypted\n\n| operation | best time | MB/s (plaintext) |\n|---|---:|---:|\n",
        report.profile,
        mb,
        report.values,
        report.encrypted_bytes as f64 / 1e6
    );
    for r in &report.rows {
        match &r.time {
            Ok(d) => {
                let _ = writeln!(
                    out,
                    "| {} | {:.0} ms | {:.1} |",
                    r.name,
                    d.as_secs_f64() * 1e3,
                    mb / d.as_secs_f64().max(1e-9)
                );
            }
            Err(why) => {
                let _ = writeln!(out, "| {} | — | {} |", r.name, why);
            }
        }
    }
    if let (Some(Ok(ours)), Some(Ok(theirs))) = (
        report.rows.get(1).map(|r| &r.time),
        report.rows.get(2).map(|r| &r.time),
    ) {
        let _ = writeln!(
            out,
            "\nazflux decrypt is {:.2}× the speed of sops-age decrypt",
            theirs.as_secs_f64() / ours.as_secs_f64().max(1e-9)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_yaml_has_the_requested_size_and_parses() {
        let (text, values) = generate_yaml(20_000);
        assert!(text.len() >= 20_000 && text.len() < 21_000);
        assert!(values > 0);
        let tree = Format::Yaml.parse_plain(text.as_bytes()).unwrap();
        assert_eq!(tree.documents.len(), 1);
    }
}
