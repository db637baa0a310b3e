//! The plan: the steps as a dependency graph, checked (unique ids, known dependencies, no cycle) and
//! ordered.

use super::step::StepRef;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// Why a set of steps is not a plan.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanError {
    /// Two steps have the same id.
    #[error("two steps have the id '{0}': step ids must be unique in a plan")]
    DuplicateId(String),
    /// A step depends on a step that is not in the plan.
    #[error("step '{step}' depends on '{dep}', which is not in the plan")]
    UnknownDependency {
        /// The step.
        step: String,
        /// The missing dependency.
        dep: String,
    },
    /// The dependencies form a cycle.
    #[error("the steps {0:?} depend on each other in a cycle")]
    Cycle(Vec<String>),
}

/// A checked dependency graph of steps.
#[derive(Clone)]
pub struct Plan {
    steps: Vec<StepRef>,
    index: HashMap<String, usize>,
    deps: Vec<Vec<usize>>,
    dependants: Vec<Vec<usize>>,
    order: Vec<usize>,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan").field("steps", &self.ids()).finish()
    }
}

impl Plan {
    /// Checks `steps` and orders them.
    pub fn new(steps: Vec<StepRef>) -> Result<Plan, PlanError> {
        let mut index = HashMap::new();
        for (i, s) in steps.iter().enumerate() {
            if index.insert(s.id().to_owned(), i).is_some() {
                return Err(PlanError::DuplicateId(s.id().to_owned()));
            }
        }
        let mut deps = vec![Vec::new(); steps.len()];
        let mut dependants = vec![Vec::new(); steps.len()];
        for (i, s) in steps.iter().enumerate() {
            let mut seen = BTreeSet::new();
            for d in s.deps() {
                let Some(&j) = index.get(&d) else {
                    return Err(PlanError::UnknownDependency {
                        step: s.id().to_owned(),
                        dep: d,
                    });
                };
                if seen.insert(j) {
                    deps[i].push(j);
                    dependants[j].push(i);
                }
            }
        }
        // Kahn's algorithm, stable (plan order among ready steps).
        let mut indegree: Vec<usize> = deps.iter().map(Vec::len).collect();
        let mut ready: BTreeSet<usize> = (0..steps.len()).filter(|&i| indegree[i] == 0).collect();
        let mut order = Vec::with_capacity(steps.len());
        while let Some(i) = ready.pop_first() {
            order.push(i);
            for &k in &dependants[i] {
                indegree[k] -= 1;
                if indegree[k] == 0 {
                    ready.insert(k);
                }
            }
        }
        if order.len() != steps.len() {
            let cyclic = (0..steps.len())
                .filter(|i| !order.contains(i))
                .map(|i| steps[i].id().to_owned())
                .collect();
            return Err(PlanError::Cycle(cyclic));
        }
        Ok(Plan {
            steps,
            index,
            deps,
            dependants,
            order,
        })
    }

    /// The steps in the order they were given.
    pub fn steps(&self) -> &[StepRef] {
        &self.steps
    }

    /// The step ids in a dependency order.
    pub fn ids(&self) -> Vec<&str> {
        self.order.iter().map(|&i| self.steps[i].id()).collect()
    }

    /// The number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether the plan has no step.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The step with `id`.
    pub fn get(&self, id: &str) -> Option<&StepRef> {
        self.index.get(id).map(|&i| &self.steps[i])
    }

    pub(crate) fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub(crate) fn deps_of(&self, i: usize) -> &[usize] {
        &self.deps[i]
    }

    pub(crate) fn dependants_of(&self, i: usize) -> &[usize] {
        &self.dependants[i]
    }

    pub(crate) fn order(&self) -> &[usize] {
        &self.order
    }

    /// Every step that depends on `id`, directly or not.
    pub fn transitive_dependants(&self, id: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let Some(start) = self.position(id) else {
            return out;
        };
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            for &k in &self.dependants[i] {
                if out.insert(self.steps[k].id().to_owned()) {
                    stack.push(k);
                }
            }
        }
        out
    }

    /// The longest chain of dependent steps given each step's duration: its length and its step ids.
    /// Steps missing from `durations` count as zero.
    pub fn critical_path(&self, durations: &BTreeMap<String, Duration>) -> (Duration, Vec<String>) {
        let n = self.steps.len();
        let mut finish = vec![Duration::ZERO; n];
        let mut via: Vec<Option<usize>> = vec![None; n];
        for &i in &self.order {
            let start = self.deps[i]
                .iter()
                .map(|&d| (finish[d], Some(d)))
                .max_by_key(|(f, _)| *f)
                .unwrap_or((Duration::ZERO, None));
            finish[i] = start.0
                + durations
                    .get(self.steps[i].id())
                    .copied()
                    .unwrap_or_default();
            via[i] = start.1;
        }
        let Some(mut last) = (0..n).max_by_key(|&i| finish[i]) else {
            return (Duration::ZERO, Vec::new());
        };
        let total = finish[last];
        let mut path = vec![self.steps[last].id().to_owned()];
        while let Some(prev) = via[last] {
            path.push(self.steps[prev].id().to_owned());
            last = prev;
        }
        path.reverse();
        (total, path)
    }
}
