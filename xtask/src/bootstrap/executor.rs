//! The executor: runs a [`Plan`]'s independent steps concurrently (bounded), reports progress, stops the
//! dependants of a failed step while letting running steps finish, and can be told to "crash" at a step
//! (tests of resumption) or to stop scheduling (Ctrl-C).

use super::plan::Plan;
use super::progress::{Event, EventSink};
use super::step::{Outcome, PlanState, Planned, StepContext, StepError};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tracing::Instrument;

/// (step index, its answer, how long it ran, whether the failure was an injected crash).
type TaskResult = (
    usize,
    Result<Result<Outcome, Planned>, StepError>,
    Duration,
    bool,
);

/// Where an injected crash happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailPoint {
    /// Before the step's `ensure` runs (nothing written).
    Before,
    /// After the step's `ensure` succeeded (written, but the run stops as if the process died).
    After,
}

/// An injected crash: the run stops at `step` as if the process had been killed there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailAt {
    /// The step id.
    pub step: String,
    /// Before or after its `ensure`.
    pub point: FailPoint,
}

/// Executor settings.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// Steps running at the same time (at least 1).
    pub concurrency: usize,
    /// Only `plan` each step: change nothing.
    pub dry_run: bool,
    /// Crash at a step (tests).
    pub fail_at: Option<FailAt>,
    /// Set to stop scheduling new steps (Ctrl-C); running steps finish.
    pub cancel: Arc<AtomicBool>,
}

impl Default for ExecutorOptions {
    fn default() -> Self {
        ExecutorOptions {
            concurrency: 8,
            dry_run: false,
            fail_at: None,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// How one step ended.
#[derive(Debug, Clone)]
pub enum StepStatus {
    /// `ensure` succeeded.
    Done(Outcome),
    /// Dry run: what `ensure` would do.
    Planned(Planned),
    /// Failed.
    Failed(Arc<StepError>),
    /// Not run, and why.
    Skipped(String),
}

/// One step's record.
#[derive(Debug, Clone)]
pub struct StepRecord {
    /// Step id.
    pub id: String,
    /// Cluster, if any.
    pub cluster: Option<String>,
    /// Resource.
    pub resource: String,
    /// How it ended.
    pub status: StepStatus,
    /// How long it ran.
    pub elapsed: Duration,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Every step, in plan order.
    pub steps: Vec<StepRecord>,
    /// Wall time of the run.
    pub wall: Duration,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

impl RunReport {
    /// Whether every step succeeded (or, in a dry run, was planned).
    pub fn succeeded(&self) -> bool {
        self.steps
            .iter()
            .all(|s| matches!(s.status, StepStatus::Done(_) | StepStatus::Planned(_)))
    }

    /// The failures.
    pub fn failures(&self) -> Vec<(&StepRecord, &StepError)> {
        self.steps
            .iter()
            .filter_map(|s| match &s.status {
                StepStatus::Failed(e) => Some((s, e.as_ref())),
                _ => None,
            })
            .collect()
    }

    /// The record of `id`.
    pub fn step(&self, id: &str) -> Option<&StepRecord> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Elapsed time per step that ran.
    pub fn durations(&self) -> BTreeMap<String, Duration> {
        self.steps
            .iter()
            .filter(|s| matches!(s.status, StepStatus::Done(_) | StepStatus::Planned(_)))
            .map(|s| (s.id.clone(), s.elapsed))
            .collect()
    }
}

/// Runs plans.
#[derive(Debug, Clone, Default)]
pub struct Executor {
    options: ExecutorOptions,
}

enum Slot {
    Pending,
    Running,
    Ended,
}

impl Executor {
    /// An executor with `options`.
    pub fn new(options: ExecutorOptions) -> Self {
        Executor { options }
    }

    /// Runs `plan`: each step once its dependencies succeeded, at most `concurrency` at a time.
    pub async fn run(&self, plan: &Plan, ctx: &StepContext, sink: &dyn EventSink) -> RunReport {
        let started = Instant::now();
        let dry_run = self.options.dry_run;
        let n = plan.len();
        let steps = plan.steps();
        sink.event(&Event::Plan {
            steps: plan.ids().into_iter().map(str::to_owned).collect(),
            dry_run,
        });
        let mut slot: Vec<Slot> = (0..n).map(|_| Slot::Pending).collect();
        let mut records: Vec<Option<StepRecord>> = vec![None; n];
        let mut waiting: Vec<usize> = (0..n).map(|i| plan.deps_of(i).len()).collect();
        let mut ready: VecDeque<usize> = plan
            .order()
            .iter()
            .copied()
            .filter(|&i| waiting[i] == 0)
            .collect();
        let mut running: JoinSet<TaskResult> = JoinSet::new();
        let mut task_ids = BTreeMap::new();
        let mut crashed = false;
        let concurrency = self.options.concurrency.max(1);
        loop {
            let stop = crashed || self.options.cancel.load(Ordering::SeqCst);
            while !stop && running.len() < concurrency {
                let Some(i) = ready.pop_front() else { break };
                slot[i] = Slot::Running;
                let step = steps[i].clone();
                sink.event(&Event::Started {
                    step: step.id().to_owned(),
                    cluster: step.cluster().map(str::to_owned),
                    resource: step.resource(),
                });
                let ctx = ctx.clone();
                let fail = self
                    .options
                    .fail_at
                    .as_ref()
                    .filter(|f| f.step == step.id())
                    .map(|f| f.point);
                let span = tracing::info_span!("step", id = step.id());
                let handle = running.spawn(
                    async move {
                        let t = Instant::now();
                        let injected = |when: &str| {
                            StepError::new(
                                step.resource(),
                                format!("injected failure {when} step '{}'", step.id()),
                                "this failure was injected (--fail-at): run again without it",
                            )
                        };
                        let result = if dry_run {
                            step.plan(&ctx).await.map(Err)
                        } else if fail == Some(FailPoint::Before) {
                            Err(injected("before"))
                        } else {
                            match step.ensure(&ctx).await {
                                Ok(_) if fail == Some(FailPoint::After) => Err(injected("after")),
                                other => other.map(Ok),
                            }
                        };
                        match &result {
                            Ok(_) => tracing::debug!(elapsed = ?t.elapsed(), "step ended"),
                            Err(e) => tracing::warn!(error = %e, "step failed"),
                        }
                        let crashed = result.is_err() && fail.is_some();
                        (i, result, t.elapsed(), crashed)
                    }
                    .instrument(span),
                );
                task_ids.insert(handle.id(), i);
            }
            let Some(joined) = running.join_next_with_id().await else {
                break;
            };
            let (i, result, elapsed, injected) = match joined {
                Ok((_, v)) => v,
                Err(e) => {
                    let i = task_ids.get(&e.id()).copied().unwrap_or_default();
                    let err = StepError::new(
                        steps[i].resource(),
                        format!("step '{}' panicked: {e}", steps[i].id()),
                        "this is a bug in azflux: report it with the log (RUST_LOG=debug)",
                    );
                    (i, Err(err), Duration::ZERO, false)
                }
            };
            slot[i] = Slot::Ended;
            let step = &steps[i];
            let base = |status| StepRecord {
                id: step.id().to_owned(),
                cluster: step.cluster().map(str::to_owned),
                resource: step.resource(),
                status,
                elapsed,
            };
            match result {
                Ok(answer) => {
                    let status = match answer {
                        Ok(outcome) => {
                            sink.event(&Event::Finished {
                                step: step.id().to_owned(),
                                cluster: step.cluster().map(str::to_owned),
                                resource: step.resource(),
                                change: outcome.change,
                                detail: outcome.detail.clone(),
                                elapsed_ms: elapsed.as_millis() as u64,
                            });
                            StepStatus::Done(outcome)
                        }
                        Err(planned) => {
                            sink.event(&Event::Planned {
                                step: step.id().to_owned(),
                                cluster: step.cluster().map(str::to_owned),
                                resource: step.resource(),
                                state: planned.state.clone(),
                                detail: planned.detail.clone(),
                            });
                            StepStatus::Planned(planned)
                        }
                    };
                    records[i] = Some(base(status));
                    for &k in plan.dependants_of(i) {
                        waiting[k] -= 1;
                        if waiting[k] == 0 && matches!(slot[k], Slot::Pending) {
                            ready.push_back(k);
                        }
                    }
                }
                Err(error) => {
                    if injected {
                        crashed = true;
                    }
                    sink.event(&Event::Failed {
                        step: step.id().to_owned(),
                        cluster: step.cluster().map(str::to_owned),
                        resource: error.resource.clone(),
                        error: error.message.clone(),
                        todo: error.todo.clone(),
                        elapsed_ms: elapsed.as_millis() as u64,
                    });
                    records[i] = Some(base(StepStatus::Failed(Arc::new(error))));
                    for id in plan.transitive_dependants(step.id()) {
                        if let Some(k) = plan.position(&id)
                            && matches!(slot[k], Slot::Pending)
                        {
                            slot[k] = Slot::Ended;
                            ready.retain(|&r| r != k);
                            let reason = format!("it depends on '{}', which failed", step.id());
                            sink.event(&Event::Skipped {
                                step: id.clone(),
                                cluster: steps[k].cluster().map(str::to_owned),
                                resource: steps[k].resource(),
                                reason: reason.clone(),
                            });
                            records[k] = Some(StepRecord {
                                id,
                                cluster: steps[k].cluster().map(str::to_owned),
                                resource: steps[k].resource(),
                                status: StepStatus::Skipped(reason),
                                elapsed: Duration::ZERO,
                            });
                        }
                    }
                }
            }
        }
        let reason = if crashed {
            "the run stopped (injected crash)"
        } else if self.options.cancel.load(Ordering::SeqCst) {
            "the run was interrupted"
        } else {
            "the run stopped after a failure"
        };
        for &i in plan.order() {
            if records[i].is_none() {
                let step = &steps[i];
                sink.event(&Event::Skipped {
                    step: step.id().to_owned(),
                    cluster: step.cluster().map(str::to_owned),
                    resource: step.resource(),
                    reason: reason.to_owned(),
                });
                records[i] = Some(StepRecord {
                    id: step.id().to_owned(),
                    cluster: step.cluster().map(str::to_owned),
                    resource: step.resource(),
                    status: StepStatus::Skipped(reason.to_owned()),
                    elapsed: Duration::ZERO,
                });
            }
        }
        RunReport {
            steps: records.into_iter().flatten().collect(),
            wall: started.elapsed(),
            dry_run,
        }
    }
}

/// The plan state of a dry-run record, if it was planned.
pub fn planned_state(record: &StepRecord) -> Option<&PlanState> {
    match &record.status {
        StepStatus::Planned(p) => Some(&p.state),
        _ => None,
    }
}
