//! `cargo xtask bench bootstrap`: the sandbox with a fixed latency on every request and a fixed
//! reconcile time (the long-running part), for fleets of several sizes: wall time against the plan's
//! critical path and against running the same steps one after another, requests per cluster, token
//! requests per scope, peak memory.

use super::executor::ExecutorOptions;
use super::progress::NoSink;
use super::sandbox::{Sandbox, SandboxOptions};
use super::{PlanOptions, build_plan};
use std::fmt::Write as _;
use std::time::Duration;

/// Flags of `cargo xtask bench bootstrap`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchBootstrapArgs {
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 10)]
    pub latency_ms: u64,
    /// Time Flux takes to reconcile (the long-running operation), in milliseconds.
    #[arg(long, default_value_t = 200)]
    pub lro_ms: u64,
    /// Fleet sizes, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 10, 50])]
    pub fleets: Vec<usize>,
    /// Steps running at the same time.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
}

/// One measured fleet size.
#[derive(Debug, Clone)]
pub struct BenchRow {
    /// Clusters.
    pub clusters: usize,
    /// Wall time, concurrent.
    pub wall: Duration,
    /// The plan's critical path (step durations of the concurrent run).
    pub critical_path: Duration,
    /// Wall time with one step at a time.
    pub sequential: Duration,
    /// Requests (Azure fakes, Kubernetes API, git) per cluster.
    pub requests_per_cluster: f64,
    /// Token requests per scope.
    pub tokens: Vec<(String, u64)>,
    /// Peak resident memory of the process so far (VmHWM), in KiB.
    pub peak_kib: Option<u64>,
    /// Whether both runs succeeded.
    pub ok: bool,
    /// The steps of the critical path with their durations (concurrent run).
    pub critical_steps: Vec<(String, Duration)>,
    /// The first failures, if any (step: error).
    pub failures: Vec<String>,
    /// What the shared ARM limiter did in the concurrent run.
    pub arm: super::throttle::ThrottleStats,
}

/// The process's peak resident set size (Linux `VmHWM`), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

async fn one_run(
    args: &BenchBootstrapArgs,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<(Sandbox, super::RunReport, (Duration, Vec<String>))> {
    let dir = tempfile::Builder::new().prefix("azflux-bench-").tempdir()?;
    let mut options = SandboxOptions::new(dir.keep());
    options.request_latency = Duration::from_millis(args.latency_ms);
    options.reconcile_delay = Duration::from_millis(args.lro_ms);
    options.system_clock = true;
    options.cluster_create = Duration::from_millis(args.lro_ms);
    options.poll_interval = Some(Duration::from_millis(args.lro_ms.max(20) / 4));
    let sandbox = Sandbox::start(options).await?;
    let names: Vec<String> = (1..=n).map(|i| format!("fleet-{i:03}")).collect();
    let plan = PlanOptions {
        health_poll: Duration::from_millis(args.lro_ms.max(10) / 4),
        health_timeout: Duration::from_secs(600),
    };
    let executor = ExecutorOptions {
        concurrency,
        ..Default::default()
    };
    let (report, _) = sandbox.run(&names, plan.clone(), executor, &NoSink).await?;
    let config = sandbox.config(&names);
    let built = build_plan(&config, &sandbox.secrets(), sandbox.services(), &plan)?;
    let critical = built.critical_path(&report.durations());
    Ok((sandbox, report, critical))
}

/// Runs the benchmark and returns its rows.
pub async fn run(args: &BenchBootstrapArgs) -> anyhow::Result<Vec<BenchRow>> {
    let mut rows = Vec::new();
    for &n in &args.fleets {
        let (sandbox, report, (critical, path)) = one_run(args, n, args.concurrency).await?;
        let durations = report.durations();
        let critical_steps = path
            .into_iter()
            .map(|id| {
                let d = durations.get(&id).copied().unwrap_or_default();
                (id, d)
            })
            .collect();
        let requests: u64 =
            sandbox.cloud.request_counts().values().sum::<u64>() + sandbox.git.requests();
        let tokens = sandbox.services().credential.token_requests_by_scope();
        let arm = sandbox.services().arm_throttle.stats();
        let ok = report.succeeded();
        let mut failures: Vec<String> = report
            .failures()
            .iter()
            .take(3)
            .map(|(r, e)| format!("{}: {}", r.id, e.message))
            .collect();
        let wall = report.wall;
        let workdir = sandbox.workdir.clone();
        drop(sandbox);
        let _ = std::fs::remove_dir_all(workdir);
        let (seq_sandbox, seq_report, _) = one_run(args, n, 1).await?;
        failures.extend(
            seq_report
                .failures()
                .iter()
                .take(3)
                .map(|(r, e)| format!("(one at a time) {}: {}", r.id, e.message)),
        );
        let workdir = seq_sandbox.workdir.clone();
        drop(seq_sandbox);
        let _ = std::fs::remove_dir_all(workdir);
        rows.push(BenchRow {
            clusters: n,
            wall,
            critical_path: critical,
            sequential: seq_report.wall,
            requests_per_cluster: requests as f64 / n.max(1) as f64,
            tokens,
            peak_kib: peak_rss_kib(),
            ok: ok && seq_report.succeeded(),
            critical_steps,
            failures,
            arm,
        });
    }
    Ok(rows)
}

/// The rows as a Markdown table.
pub fn table(args: &BenchBootstrapArgs, rows: &[BenchRow]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "bootstrap on the sandbox: {} ms per request, {} ms reconcile, concurrency {}\n",
        args.latency_ms, args.lro_ms, args.concurrency
    );
    let _ = writeln!(
        t,
        "| clusters | wall (concurrent) | critical path | one step at a time | speed-up | requests/cluster | token requests by scope | ARM paced / 429 | peak RSS | ok |"
    );
    let _ = writeln!(t, "|---:|---:|---:|---:|---:|---:|---|---:|---:|---|");
    for r in rows {
        let tokens = r
            .tokens
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            t,
            "| {} | {:.2?} | {:.2?} | {:.2?} | {:.1}× | {:.1} | {} | {} / {} | {} | {} |",
            r.clusters,
            r.wall,
            r.critical_path,
            r.sequential,
            r.sequential.as_secs_f64() / r.wall.as_secs_f64().max(1e-9),
            r.requests_per_cluster,
            tokens,
            r.arm.waits,
            r.arm.throttled,
            r.peak_kib
                .map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
            if r.ok { "yes" } else { "NO" },
        );
    }
    for r in rows.iter().filter(|r| !r.failures.is_empty()) {
        let _ = writeln!(t, "\nfailures with {} clusters:", r.clusters);
        for f in &r.failures {
            let _ = writeln!(t, "  {f}");
        }
    }
    if let Some(last) = rows.last() {
        let _ = writeln!(
            t,
            "\ncritical path of the {}-cluster run: {}",
            last.clusters,
            last.critical_steps
                .iter()
                .map(|(id, d)| format!("{id} {d:.2?}"))
                .collect::<Vec<_>>()
                .join(" → ")
        );
    }
    t
}
