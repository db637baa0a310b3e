//! Progress events and where they go: a live display on a terminal, plain lines otherwise, or one JSON
//! object per line (`--output json`) with stable field names:
//!
//! | `event` | fields |
//! |---|---|
//! | `plan` | `steps` (ids in dependency order), `dry_run` |
//! | `planned` | `step`, `cluster`, `resource`, `state` (`up_to_date`/`would_create`/`would_change`/`unknown`), `detail` |
//! | `started` | `step`, `cluster`, `resource` |
//! | `finished` | `step`, `cluster`, `resource`, `change` (`created`/`changed`/`unchanged`), `detail`, `elapsed_ms` |
//! | `failed` | `step`, `cluster`, `resource`, `error`, `todo`, `elapsed_ms` |
//! | `skipped` | `step`, `cluster`, `resource`, `reason` |
//! | `summary` | see [`super::summary::Summary`] |

use super::step::{Change, PlanState};
use serde::Serialize;
use std::io::Write;
use std::sync::{Mutex, PoisonError};

/// One thing that happened during a run.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The plan is ready.
    Plan {
        /// Step ids in dependency order.
        steps: Vec<String>,
        /// Whether this is a dry run.
        dry_run: bool,
    },
    /// Dry run: what a step would do.
    Planned {
        /// Step id.
        step: String,
        /// Cluster, if any.
        cluster: Option<String>,
        /// Resource.
        resource: String,
        /// What ensure would do.
        state: PlanState,
        /// Details.
        detail: String,
    },
    /// A step started.
    Started {
        /// Step id.
        step: String,
        /// Cluster, if any.
        cluster: Option<String>,
        /// Resource.
        resource: String,
    },
    /// A step succeeded.
    Finished {
        /// Step id.
        step: String,
        /// Cluster, if any.
        cluster: Option<String>,
        /// Resource.
        resource: String,
        /// What changed.
        change: Change,
        /// Details.
        detail: String,
        /// How long it took.
        elapsed_ms: u64,
    },
    /// A step failed.
    Failed {
        /// Step id.
        step: String,
        /// Cluster, if any.
        cluster: Option<String>,
        /// Resource.
        resource: String,
        /// What went wrong.
        error: String,
        /// What to do.
        todo: String,
        /// How long it ran.
        elapsed_ms: u64,
    },
    /// A step did not run.
    Skipped {
        /// Step id.
        step: String,
        /// Cluster, if any.
        cluster: Option<String>,
        /// Resource.
        resource: String,
        /// Why.
        reason: String,
    },
    /// The end of the run.
    Summary(super::summary::Summary),
}

/// Where events go.
pub trait EventSink: Send + Sync {
    /// Receives one event.
    fn event(&self, event: &Event);
}

/// How to show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum OutputFormat {
    /// A live display on a terminal, plain lines otherwise.
    #[default]
    Text,
    /// One JSON object per event line.
    Json,
}

/// Discards events.
#[derive(Debug, Default)]
pub struct NoSink;
impl EventSink for NoSink {
    fn event(&self, _: &Event) {}
}

/// Keeps every event (tests, benchmarks).
#[derive(Debug, Default)]
pub struct Recorder {
    events: Mutex<Vec<Event>>,
}

impl Recorder {
    /// The events so far.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl EventSink for Recorder {
    fn event(&self, event: &Event) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event.clone());
    }
}

/// Writes JSON lines to stdout.
#[derive(Debug, Default)]
pub struct JsonLines;
impl EventSink for JsonLines {
    fn event(&self, event: &Event) {
        if let Ok(line) = serde_json::to_string(event) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
}

/// Human output: plain lines, plus (on a terminal) a status line listing the running steps, redrawn in place.
#[derive(Debug)]
pub struct Text {
    live: bool,
    running: Mutex<Vec<String>>,
}

impl Text {
    /// `live`: redraw a status line (use on a terminal only).
    pub fn new(live: bool) -> Self {
        Text {
            live,
            running: Mutex::new(Vec::new()),
        }
    }

    fn line(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        if self.live {
            let _ = write!(out, "\r\x1b[2K");
        }
        let _ = writeln!(out, "{text}");
        if self.live {
            let running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            if !running.is_empty() {
                let _ = write!(out, "\x1b[2m⋯ running: {}\x1b[0m", running.join(", "));
            }
        }
        let _ = out.flush();
    }

    fn set_running(&self, id: &str, running: bool) {
        let mut list = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        list.retain(|s| s != id);
        if running {
            list.push(id.to_owned());
        }
    }
}

fn ms(d: u64) -> String {
    crate::human::millis(d)
}

impl EventSink for Text {
    fn event(&self, event: &Event) {
        let (ok, bad, dim, reset) = if self.live {
            ("\x1b[32m", "\x1b[31m", "\x1b[2m", "\x1b[0m")
        } else {
            ("", "", "", "")
        };
        match event {
            Event::Plan { steps, dry_run } => self.line(&format!(
                "azflux bootstrap: {} steps{}",
                steps.len(),
                if *dry_run {
                    " (dry run: nothing will be changed)"
                } else {
                    ""
                }
            )),
            Event::Planned {
                step,
                resource,
                state,
                detail,
                ..
            } => self.line(&format!(
                "• {step}: {} — {resource}{}",
                state.word(),
                if detail.is_empty() {
                    String::new()
                } else {
                    format!(" ({detail})")
                }
            )),
            Event::Started { step, .. } => {
                self.set_running(step, true);
                if self.live {
                    self.line(&format!("{dim}… {step}{reset}"));
                }
            }
            Event::Finished {
                step,
                change,
                detail,
                elapsed_ms,
                ..
            } => {
                self.set_running(step, false);
                self.line(&format!(
                    "{ok}✔{reset} {step}: {} {dim}({detail}; {}){reset}",
                    change.verb(),
                    ms(*elapsed_ms)
                ));
            }
            Event::Failed {
                step,
                resource,
                error,
                todo,
                ..
            } => {
                self.set_running(step, false);
                self.line(&format!(
                    "{bad}✘ {step} failed{reset} on {resource}: {error}\n  what to do: {todo}"
                ));
            }
            Event::Skipped { step, reason, .. } => {
                self.line(&format!("{dim}- {step}: not run ({reason}){reset}"))
            }
            Event::Summary(s) => self.line(&s.to_text()),
        }
    }
}

/// The sink for `format`, live only when stdout is a terminal.
pub fn sink_for(format: OutputFormat) -> Box<dyn EventSink> {
    use std::io::IsTerminal;
    match format {
        OutputFormat::Json => Box::new(JsonLines),
        OutputFormat::Text => Box::new(Text::new(std::io::stdout().is_terminal())),
    }
}
