//! The end-of-run summary: what was created, changed, unchanged; where the clusters and the repository
//! are; what to do next.

use super::executor::{RunReport, StepStatus};
use serde::Serialize;

/// A failed step.
#[derive(Debug, Clone, Serialize)]
pub struct FailedStep {
    /// Step id.
    pub step: String,
    /// Resource.
    pub resource: String,
    /// What went wrong.
    pub error: String,
    /// What to do.
    pub todo: String,
}

/// Where a cluster is.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterSummary {
    /// Name.
    pub name: String,
    /// API server URL.
    pub api_server: Option<String>,
    /// Directory in the repository.
    pub path: String,
}

/// Where the repository is.
#[derive(Debug, Clone, Serialize)]
pub struct RepoSummary {
    /// URL.
    pub url: String,
    /// Branch.
    pub branch: String,
    /// The pushed revision Flux reports.
    pub revision: Option<String>,
    /// The sandbox's bare repository on disk.
    pub local_dir: Option<String>,
}

/// The summary (also the last JSON event).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Whether every step succeeded.
    pub ok: bool,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Sandbox (embedded fake cloud) or real Azure.
    pub sandbox: bool,
    /// Steps that created their resource.
    pub created: Vec<String>,
    /// Steps that changed their resource.
    pub changed: Vec<String>,
    /// Steps that found their resource as desired.
    pub unchanged: Vec<String>,
    /// Dry run: steps that would create or change something.
    pub would_change: Vec<String>,
    /// Failed steps.
    pub failed: Vec<FailedStep>,
    /// Steps that did not run.
    pub skipped: Vec<String>,
    /// The clusters.
    pub clusters: Vec<ClusterSummary>,
    /// The repository.
    pub repository: RepoSummary,
    /// What to do next.
    pub next: Vec<String>,
    /// Wall time in milliseconds.
    pub wall_ms: u64,
}

impl Summary {
    /// The summary of `report`.
    pub fn new(
        report: &RunReport,
        sandbox: bool,
        clusters: Vec<ClusterSummary>,
        repository: RepoSummary,
    ) -> Self {
        let mut s = Summary {
            ok: report.succeeded(),
            dry_run: report.dry_run,
            sandbox,
            created: Vec::new(),
            changed: Vec::new(),
            unchanged: Vec::new(),
            would_change: Vec::new(),
            failed: Vec::new(),
            skipped: Vec::new(),
            clusters,
            repository,
            next: Vec::new(),
            wall_ms: report.wall.as_millis() as u64,
        };
        for r in &report.steps {
            match &r.status {
                StepStatus::Done(o) => match o.change {
                    super::step::Change::Created => s.created.push(r.id.clone()),
                    super::step::Change::Changed => s.changed.push(r.id.clone()),
                    super::step::Change::Unchanged => s.unchanged.push(r.id.clone()),
                },
                StepStatus::Planned(p) => {
                    if matches!(
                        p.state,
                        super::step::PlanState::WouldCreate | super::step::PlanState::WouldChange
                    ) {
                        s.would_change.push(r.id.clone());
                    }
                }
                StepStatus::Failed(e) => s.failed.push(FailedStep {
                    step: r.id.clone(),
                    resource: e.resource.clone(),
                    error: e.message.clone(),
                    todo: e.todo.clone(),
                }),
                StepStatus::Skipped(_) => s.skipped.push(r.id.clone()),
            }
        }
        if !s.failed.is_empty() {
            s.next
                .extend(s.failed.iter().map(|f| format!("{}: {}", f.step, f.todo)));
        } else if s.dry_run {
            s.next
                .push("run without --dry-run to apply the plan".into());
        } else {
            if let Some(dir) = &s.repository.local_dir {
                s.next.push(format!(
                    "look at what was committed: git --git-dir {dir} log --stat {}",
                    s.repository.branch
                ));
            }
            s.next.push(format!(
                "add your workloads under {}/ and push: Flux applies them",
                s.clusters
                    .first()
                    .map_or("clusters/<name>", |c| c.path.as_str())
            ));
            if s.sandbox {
                s.next.push("for real Azure: write azflux.toml (see README) and run `cargo xtask bootstrap --config azflux.toml`".into());
            }
        }
        s
    }

    /// The summary for people.
    pub fn to_text(&self) -> String {
        let mut t = String::new();
        let status = if self.dry_run {
            "dry run finished: nothing was changed"
        } else if self.ok {
            "bootstrap finished"
        } else {
            "bootstrap stopped"
        };
        t.push_str(&format!(
            "\n{status} in {}{}\n",
            crate::human::millis(self.wall_ms),
            if self.sandbox {
                " (sandbox: embedded fake cloud)"
            } else {
                ""
            }
        ));
        if self.dry_run {
            t.push_str(&format!(
                "  would create or change: {}\n",
                list(&self.would_change)
            ));
        } else {
            t.push_str(&format!(
                "  created:   {}\n  changed:   {}\n  unchanged: {}\n",
                list(&self.created),
                list(&self.changed),
                list(&self.unchanged)
            ));
        }
        for f in &self.failed {
            t.push_str(&format!(
                "  FAILED {} on {}: {}\n",
                f.step, f.resource, f.error
            ));
        }
        if !self.skipped.is_empty() {
            t.push_str(&format!("  not run:   {}\n", list(&self.skipped)));
        }
        t.push_str(&format!(
            "  repository: {} (branch {})",
            self.repository.url, self.repository.branch
        ));
        if let Some(r) = &self.repository.revision {
            t.push_str(&format!(" at {r}"));
        }
        t.push('\n');
        if let Some(d) = &self.repository.local_dir {
            t.push_str(&format!("  repository on disk: {d}\n"));
        }
        for c in &self.clusters {
            t.push_str(&format!(
                "  cluster {}: {} (repository path {})\n",
                c.name,
                c.api_server.as_deref().unwrap_or("not created yet"),
                c.path
            ));
        }
        if !self.next.is_empty() {
            t.push_str("next:\n");
            for n in &self.next {
                t.push_str(&format!("  - {n}\n"));
            }
        }
        t
    }
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "—".into()
    } else {
        v.join(", ")
    }
}
