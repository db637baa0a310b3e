//! `cargo xtask conformance --fixtures DIR`: checks the project against real upstream data kept outside the repo
//! (Flux CLI goldens and CRD schemas, Azure REST examples, files written by the real sops).
//!
//! Each suite reads the fixtures in place and reports one line per case; nothing is copied into the repo.

use std::path::Path;

pub mod azure;
pub mod flux;
pub mod sops;

/// The outcome of one conformance case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// Which case: a golden file, a fixture path.
    pub name: String,
    /// `None` when the case passed; otherwise what differed.
    pub failure: Option<String>,
}

/// The outcome of one suite.
#[derive(Debug, Clone, Default)]
pub struct SuiteReport {
    /// The suite's name (`flux`, `sops`, `azure`…).
    pub suite: String,
    /// Every case the suite ran.
    pub cases: Vec<CaseResult>,
}

impl SuiteReport {
    /// A new, empty report for `suite`.
    pub fn new(suite: impl Into<String>) -> Self {
        Self {
            suite: suite.into(),
            cases: Vec::new(),
        }
    }

    /// Record a case outcome.
    pub fn record(&mut self, name: impl Into<String>, outcome: Result<(), String>) {
        self.cases.push(CaseResult {
            name: name.into(),
            failure: outcome.err(),
        });
    }

    /// Cases that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases.iter().filter(|c| c.failure.is_some())
    }
}

/// A conformance suite: a name and a function over the fixtures directory.
pub type Suite = (&'static str, fn(&Path) -> anyhow::Result<SuiteReport>);

/// Every suite that exists, in the order they run.
pub fn suites() -> Vec<Suite> {
    vec![
        ("flux", flux::run),
        ("sops", sops::run),
        ("azure", azure::run),
    ]
}

/// Runs every suite (or only `only`) against `fixtures` and returns the reports.
pub fn run_all(fixtures: &Path, only: Option<&str>) -> anyhow::Result<Vec<SuiteReport>> {
    if !fixtures.is_dir() {
        anyhow::bail!("fixtures directory {} does not exist", fixtures.display());
    }
    let mut reports = Vec::new();
    for (name, run) in suites() {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        reports.push(run(fixtures)?);
    }
    Ok(reports)
}
