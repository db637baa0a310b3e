//! The plan and the executor with steps of their own: ordering, cycles, concurrency, failure propagation,
//! the critical path.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use xtask::bootstrap::Outputs;
use xtask::bootstrap::executor::{Executor, ExecutorOptions, StepStatus};
use xtask::bootstrap::plan::{Plan, PlanError};
use xtask::bootstrap::progress::NoSink;
use xtask::bootstrap::step::{
    Outcome, PlanState, Planned, Step, StepContext, StepError, StepResult, keys,
};

struct Probe {
    id: String,
    deps: Vec<String>,
    fail: bool,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    ran: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl Step for Probe {
    fn id(&self) -> &str {
        &self.id
    }
    fn deps(&self) -> Vec<String> {
        self.deps.clone()
    }
    fn resource(&self) -> String {
        format!("probe {}", self.id)
    }
    async fn plan(&self, _: &StepContext) -> StepResult<Planned> {
        Ok(Planned::new(PlanState::WouldCreate, "probe"))
    }
    async fn ensure(&self, ctx: &StepContext) -> StepResult<Outcome> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.ran.fetch_add(1, Ordering::SeqCst);
        if self.fail {
            return Err(StepError::new(self.resource(), "it broke", "fix it"));
        }
        ctx.outputs.put("", keys::PUSHED_REVISION, self.id.clone());
        Ok(Outcome::created(self.id.clone()))
    }
}

struct Probes {
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    ran: Arc<AtomicUsize>,
}

impl Probes {
    fn new() -> Self {
        Probes {
            running: Default::default(),
            peak: Default::default(),
            ran: Default::default(),
        }
    }
    fn step(&self, id: &str, deps: &[&str], fail: bool) -> Arc<dyn Step> {
        Arc::new(Probe {
            id: id.into(),
            deps: deps.iter().map(|d| (*d).to_owned()).collect(),
            fail,
            running: self.running.clone(),
            peak: self.peak.clone(),
            ran: self.ran.clone(),
        })
    }
}

fn ctx() -> StepContext {
    StepContext {
        outputs: Outputs::default(),
        clock: azflux_core::clock::system_clock(),
    }
}

#[test]
fn plans_reject_duplicates_unknown_dependencies_and_cycles() {
    let p = Probes::new();
    assert_eq!(
        Plan::new(vec![p.step("a", &[], false), p.step("a", &[], false)]).unwrap_err(),
        PlanError::DuplicateId("a".into())
    );
    assert!(matches!(
        Plan::new(vec![p.step("a", &["b"], false)]).unwrap_err(),
        PlanError::UnknownDependency { .. }
    ));
    let cycle = Plan::new(vec![
        p.step("a", &["c"], false),
        p.step("b", &["a"], false),
        p.step("c", &["b"], false),
        p.step("d", &[], false),
    ]);
    assert_eq!(
        cycle.unwrap_err(),
        PlanError::Cycle(vec!["a".into(), "b".into(), "c".into()])
    );
    let plan = Plan::new(vec![
        p.step("c", &["b"], false),
        p.step("b", &["a"], false),
        p.step("a", &[], false),
    ])
    .unwrap();
    assert_eq!(plan.ids(), vec!["a", "b", "c"]);
}

#[test]
fn the_critical_path_is_the_longest_chain() {
    let p = Probes::new();
    let plan = Plan::new(vec![
        p.step("rg", &[], false),
        p.step("cluster", &["rg"], false),
        p.step("repo", &[], false),
        p.step("commit", &["repo"], false),
        p.step("apply", &["cluster", "commit"], false),
    ])
    .unwrap();
    let ms = Duration::from_millis;
    let d: BTreeMap<String, Duration> = [
        ("rg", 10),
        ("cluster", 300),
        ("repo", 50),
        ("commit", 100),
        ("apply", 20),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), ms(v)))
    .collect();
    assert_eq!(
        plan.critical_path(&d),
        (ms(330), vec!["rg".into(), "cluster".into(), "apply".into()])
    );
}

#[tokio::test]
async fn independent_steps_run_concurrently_within_the_bound() {
    let p = Probes::new();
    let steps = (0..10)
        .map(|i| p.step(&format!("s{i}"), &[], false))
        .collect();
    let plan = Plan::new(steps).unwrap();
    let report = Executor::new(ExecutorOptions {
        concurrency: 3,
        ..Default::default()
    })
    .run(&plan, &ctx(), &NoSink)
    .await;
    assert!(report.succeeded());
    assert_eq!(p.ran.load(Ordering::SeqCst), 10);
    assert_eq!(p.peak.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_failure_skips_its_dependants_and_lets_the_others_run() {
    let p = Probes::new();
    let plan = Plan::new(vec![
        p.step("a", &[], true),
        p.step("b", &["a"], false),
        p.step("c", &["b"], false),
        p.step("x", &[], false),
        p.step("y", &["x"], false),
    ])
    .unwrap();
    let report = Executor::new(ExecutorOptions::default())
        .run(&plan, &ctx(), &NoSink)
        .await;
    let status = |id: &str| report.step(id).unwrap().status.clone();
    assert!(
        matches!(status("a"), StepStatus::Failed(e) if e.todo == "fix it" && e.resource == "probe a")
    );
    assert!(matches!(status("b"), StepStatus::Skipped(r) if r.contains("'a'")));
    assert!(matches!(status("c"), StepStatus::Skipped(_)));
    assert!(matches!(status("y"), StepStatus::Done(_)));
    assert_eq!(p.ran.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_cancelled_run_starts_nothing_new() {
    let p = Probes::new();
    let plan = Plan::new(vec![p.step("a", &[], false), p.step("b", &["a"], false)]).unwrap();
    let options = ExecutorOptions::default();
    options.cancel.store(true, Ordering::SeqCst);
    let report = Executor::new(options).run(&plan, &ctx(), &NoSink).await;
    assert_eq!(p.ran.load(Ordering::SeqCst), 0);
    assert!(
        report
            .steps
            .iter()
            .all(|s| matches!(&s.status, StepStatus::Skipped(r) if r.contains("interrupted")))
    );
}
