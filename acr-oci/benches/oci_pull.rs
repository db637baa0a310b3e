//! Pull speed of a 100 MB Helm chart layer from a local `docker-registry` (token auth from the fake ACR),
//! azflux's `AcrClient::pull` side by side with `skopeo copy` in the same run.
//!
//! `cargo bench -p acr-oci --features fake --bench oci_pull` (needs docker-registry and skopeo: see
//! tests/servers/ci-setup.sh). `AZFLUX_BENCH_MB` (default 100) and `AZFLUX_BENCH_RUNS` (default 5) adjust it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/it/local_registry.rs"]
mod local_registry;

use acr_oci::{AcrAuth, AcrClient, AcrClientOptions, ChartRegistry, FakeAcr};
use azflux_core::clock::system_clock;
use azflux_core::fake::{FakeCloud, FakeCloudOptions};
use azflux_core::http::HttpPipelineOptions;
use flate2::Compression;
use flate2::write::GzEncoder;
use local_registry::{LocalRegistry, tool};
use secrecy::SecretString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn big_chart(dir: &Path, megabytes: usize) -> PathBuf {
    let path = dir.join("big-1.0.0.tgz");
    let file = std::fs::File::create(&path).unwrap();
    let mut tar = tar::Builder::new(GzEncoder::new(
        std::io::BufWriter::new(file),
        Compression::fast(),
    ));
    let mut add = |p: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_cksum();
        tar.append_data(&mut h, p, data).unwrap();
    };
    add(
        "big/Chart.yaml",
        b"apiVersion: v2\nname: big\nversion: 1.0.0\ndescription: benchmark chart\n",
    );
    // Incompressible payload, so the layer is as large as asked.
    let mut data = vec![0u8; megabytes * 1024 * 1024];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let bytes = x.to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
    add("big/files/payload.bin", &data);
    tar.into_inner().unwrap().finish().unwrap();
    path
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let megabytes: usize = std::env::var("AZFLUX_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let runs: usize = std::env::var("AZFLUX_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let Some(skopeo) = tool("AZFLUX_SKOPEO", "/usr/bin/skopeo") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let cloud = FakeCloud::start_with(FakeCloudOptions {
            clock: Some(system_clock()),
            ..Default::default()
        })
        .await;
        let acr = FakeAcr::mount(&cloud).await;
        acr.add_basic_credential(
            "bench",
            SecretString::from("bench-pass"),
            None,
            &["pull", "push"],
        );
        let Some(registry) = LocalRegistry::start(&acr) else {
            return;
        };
        let auth = || AcrAuth::Basic {
            username: "bench".into(),
            password: SecretString::from("bench-pass"),
        };
        let options = || AcrClientOptions {
            http: HttpPipelineOptions::default(),
            plain_http: true,
            ..Default::default()
        };
        let work = tempfile::tempdir().unwrap();
        let tgz = big_chart(work.path(), megabytes);
        let size = std::fs::metadata(&tgz).unwrap().len();
        let client = AcrClient::new(&registry.addr, auth(), options()).unwrap();
        let pushed = client
            .push(&tgz, &format!("oci://{}/charts", registry.addr))
            .await
            .unwrap();
        let source = format!("docker://{}/charts/big:1.0.0", registry.addr);

        let pull_azflux = |n: usize| {
            let registry = registry.addr.clone();
            let chart = pushed.chart.clone();
            let dest = work.path().join(format!("azflux-{n}"));
            async move {
                // A fresh client each run: challenge, token and pull, like a fresh skopeo process.
                let start = Instant::now();
                let client = AcrClient::new(&registry, auth(), options()).unwrap();
                let pulled = client.pull(&chart, "1.0.0", &dest).await.unwrap();
                let took = start.elapsed();
                assert_eq!(pulled.size, size);
                std::fs::remove_dir_all(&dest).unwrap();
                took
            }
        };
        let pull_skopeo = |n: usize| {
            let dest = work.path().join(format!("skopeo-{n}"));
            let start = Instant::now();
            let out = Command::new(&skopeo)
                .args([
                    "copy",
                    "--quiet",
                    "--src-tls-verify=false",
                    "--src-creds",
                    "bench:bench-pass",
                ])
                .arg(&source)
                .arg(format!("oci:{}:1.0.0", dest.display()))
                .output()
                .unwrap();
            let took = start.elapsed();
            assert!(
                out.status.success(),
                "skopeo copy failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::remove_dir_all(&dest).unwrap();
            took
        };
        // Warm-up (page cache, connection setup), then alternate so noise hits both alike.
        pull_azflux(0).await;
        pull_skopeo(0);
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for n in 1..=runs {
            ours.push(pull_azflux(n).await);
            theirs.push(pull_skopeo(n));
        }
        let mb = size as f64 / 1_000_000.0;
        let (a, s) = (median(ours.clone()), median(theirs.clone()));
        let rate = |d: Duration| mb / d.as_secs_f64();
        println!(
            "oci pull: {mb:.1} MB chart layer from docker-registry {} ({runs} runs, median)",
            registry.addr
        );
        println!("| client | median | MB/s | runs (s) |");
        println!("|---|---|---|---|");
        let fmt_runs = |v: &[Duration]| {
            v.iter()
                .map(|d| format!("{:.3}", d.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!(
            "| azflux AcrClient::pull | {:.3} s | {:.0} | {} |",
            a.as_secs_f64(),
            rate(a),
            fmt_runs(&ours)
        );
        println!(
            "| skopeo copy (oci: layout) | {:.3} s | {:.0} | {} |",
            s.as_secs_f64(),
            rate(s),
            fmt_runs(&theirs)
        );
        println!(
            "azflux / skopeo throughput ratio: {:.2}x",
            rate(a) / rate(s)
        );
    });
}
