//! The long-running-operation poller for both ARM flows (Azure/azure-resource-manager-rpc
//! `v1.0/async-api-reference.md`):
//! - `Azure-AsyncOperation`: poll the status URL (always `200` with `{"status": …}`) until `Succeeded`,
//!   `Failed` or `Canceled`, then read the final resource.
//! - `Location`: poll the URL; `202` while running, then what the synchronous call would have returned.
//! - Neither header, but a PUT body with a non-terminal `provisioningState`: poll the resource itself.
//!
//! Status URLs are polled exactly as returned (never rewriting their `api-version`). `Retry-After` sets the wait
//! between polls; 429 and 5xx while polling are retried by the pipeline's bounded retry policy.

use crate::error::{Error, Result};
use crate::http::{HttpPipeline, Response, describe_request};
use azure_core::http::{Method, Request, Url};
use std::time::Duration;

/// The state of an operation, as the service reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationStatus {
    /// Not finished: the service's own status word (`InProgress`, `Creating`, `Updating`…).
    Running(String),
    /// Finished successfully.
    Succeeded,
    /// Finished with an error.
    Failed {
        /// The service's error code.
        code: String,
        /// The service's message.
        message: String,
    },
    /// Canceled (by a user or by a newer operation).
    Canceled {
        /// The service's error code, if it gave one.
        code: String,
        /// The service's message, if it gave one.
        message: String,
    },
}

impl OperationStatus {
    /// Reads a status word plus an optional `error` object.
    pub fn from_parts(status: &str, error: Option<&serde_json::Value>) -> Self {
        let code = error
            .and_then(|e| e.get("code"))
            .and_then(|c| c.as_str())
            .unwrap_or_default()
            .to_owned();
        let message = error
            .and_then(|e| e.get("message"))
            .and_then(|c| c.as_str())
            .unwrap_or_default()
            .to_owned();
        match status.to_ascii_lowercase().as_str() {
            "succeeded" => OperationStatus::Succeeded,
            "failed" => OperationStatus::Failed {
                code: if code.is_empty() {
                    "Failed".into()
                } else {
                    code
                },
                message,
            },
            "canceled" | "cancelled" => OperationStatus::Canceled {
                code: if code.is_empty() {
                    "Canceled".into()
                } else {
                    code
                },
                message,
            },
            _ => OperationStatus::Running(status.to_owned()),
        }
    }

    /// The status word.
    pub fn word(&self) -> &str {
        match self {
            OperationStatus::Running(s) => s,
            OperationStatus::Succeeded => "Succeeded",
            OperationStatus::Failed { .. } => "Failed",
            OperationStatus::Canceled { .. } => "Canceled",
        }
    }
}

/// Where the result of a finished operation is read (`x-ms-long-running-operation-options.final-state-via`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalStateVia {
    /// GET the original resource URL (PUT/PATCH with `Azure-AsyncOperation`).
    OriginalUri,
    /// GET the `Location` URL.
    Location,
}

/// What the poller needs from the request that started an operation.
#[derive(Debug, Clone)]
pub struct LroStart {
    /// The method of the starting request.
    pub method: Method,
    /// The resource URL (with its api-version) — read at the end of a PUT.
    pub resource_url: Url,
    /// The first response.
    pub initial: Response,
    /// Where to read the final result.
    pub final_state_via: FinalStateVia,
}

impl LroStart {
    /// From the starting request's method and URL and the first response; the final state is read from the
    /// original URL for PUT/PATCH and from `Location` otherwise (the ARM defaults).
    pub fn new(method: Method, resource_url: Url, initial: Response) -> Self {
        let final_state_via = match method {
            Method::Put | Method::Patch => FinalStateVia::OriginalUri,
            _ => FinalStateVia::Location,
        };
        Self {
            method,
            resource_url,
            initial,
            final_state_via,
        }
    }

    /// Overrides where the final state is read.
    pub fn final_state_via(mut self, via: FinalStateVia) -> Self {
        self.final_state_via = via;
        self
    }
}

/// What the poller reports after each poll.
#[derive(Debug, Clone, PartialEq)]
pub struct LroProgress {
    /// The resource the operation is about (`PUT management.azure.com/subscriptions/…`).
    pub resource: String,
    /// The latest status word.
    pub status: String,
    /// `percentComplete`, when the service reports it.
    pub percent_complete: Option<f64>,
    /// Polls so far.
    pub polls: u32,
    /// Time waited so far, on the pipeline's clock.
    pub waited: Duration,
}

/// Poller settings.
#[derive(Debug, Clone)]
pub struct PollerOptions {
    /// The wait between polls when the service sends no `Retry-After` (ARM's documented default is 60 s;
    /// SDKs use 30 s).
    pub default_interval: Duration,
    /// The shortest wait honoured (a `Retry-After: 0` does not turn into a busy loop).
    pub min_interval: Duration,
    /// Stop polling (with [`Error::OperationTimedOut`]) after this long.
    pub max_wait: Duration,
}

impl Default for PollerOptions {
    fn default() -> Self {
        Self {
            default_interval: Duration::from_secs(30),
            min_interval: Duration::from_secs(1),
            max_wait: Duration::from_secs(60 * 60),
        }
    }
}

/// Polls long-running operations through a pipeline.
#[derive(Debug, Clone)]
pub struct LroPoller {
    pipeline: HttpPipeline,
    options: PollerOptions,
}

impl LroPoller {
    /// A poller sending through `pipeline` (whose clock it waits on).
    pub fn new(pipeline: HttpPipeline, options: PollerOptions) -> Self {
        Self { pipeline, options }
    }

    /// Polls the operation `start` describes to its end; returns the final response (the resource for
    /// PUT/PATCH, the Location result for POST, an empty 200 for DELETE), or the operation's error.
    pub async fn wait(
        &self,
        start: LroStart,
        progress: &(dyn Fn(&LroProgress) + Send + Sync),
    ) -> Result<Response> {
        let resource = format!(
            "{} {}{}",
            start.method,
            start.resource_url.host_str().unwrap_or_default(),
            start.resource_url.path()
        );
        let initial = start.initial.clone().check(&resource)?;
        let async_url = header_url(&initial, "azure-asyncoperation");
        let location = header_url(&initial, "location");
        let clock = self.pipeline.clock().clone();
        let started = clock.now();
        let mut polls = 0u32;
        let mut last = initial.clone();
        let mut last_status = "Accepted".to_owned();

        let waited = |clock: &std::sync::Arc<dyn crate::clock::Clock>| {
            Duration::try_from(clock.now() - started).unwrap_or_default()
        };

        // Flow 3: no header; a PUT/PATCH body whose provisioningState is not terminal.
        if async_url.is_none() && location.is_none() {
            let state = provisioning_state(&initial);
            match state {
                None => return Ok(initial),
                Some(s) => {
                    let status = OperationStatus::from_parts(&s, None);
                    if status == OperationStatus::Succeeded {
                        return Ok(initial);
                    }
                    if let Some(done) = terminal_error(&status, &resource) {
                        return Err(done);
                    }
                }
            }
        }

        loop {
            let elapsed = waited(&clock);
            if elapsed >= self.options.max_wait {
                return Err(Error::OperationTimedOut {
                    resource,
                    waited: elapsed,
                    last_status,
                });
            }
            let wait = last
                .retry_after()
                .unwrap_or(self.options.default_interval)
                .max(self.options.min_interval);
            clock.sleep(wait).await;
            polls += 1;

            if let Some(status_url) = &async_url {
                let response = self.get(status_url.clone()).await?;
                let body: serde_json::Value = response.json(&resource)?;
                let word = body
                    .get("status")
                    .and_then(|s| s.as_str())
                    .unwrap_or("InProgress")
                    .to_owned();
                let status = OperationStatus::from_parts(&word, body.get("error"));
                last_status = status.word().to_owned();
                progress(&LroProgress {
                    resource: resource.clone(),
                    status: last_status.clone(),
                    percent_complete: body.get("percentComplete").and_then(|p| p.as_f64()),
                    polls,
                    waited: waited(&clock),
                });
                if let Some(err) = terminal_error(&status, &resource) {
                    return Err(err);
                }
                if status == OperationStatus::Succeeded {
                    return self
                        .final_result(&start, location.as_ref(), &resource)
                        .await;
                }
                last = response;
            } else if let Some(location_url) = &location {
                let response = self.get(location_url.clone()).await?;
                if response.status == 202 {
                    last_status = "InProgress".into();
                    progress(&LroProgress {
                        resource: resource.clone(),
                        status: last_status.clone(),
                        percent_complete: None,
                        polls,
                        waited: waited(&clock),
                    });
                    last = response;
                    continue;
                }
                progress(&LroProgress {
                    resource: resource.clone(),
                    status: "Succeeded".into(),
                    percent_complete: Some(100.0),
                    polls,
                    waited: waited(&clock),
                });
                return Ok(response);
            } else {
                let response = self.get(start.resource_url.clone()).await?;
                let word = provisioning_state(&response).unwrap_or_else(|| "Succeeded".into());
                let error = response
                    .json::<serde_json::Value>(&resource)
                    .ok()
                    .and_then(|b| {
                        b.pointer("/properties/error")
                            .cloned()
                            .or_else(|| b.get("error").cloned())
                    });
                let status = OperationStatus::from_parts(&word, error.as_ref());
                last_status = word.clone();
                progress(&LroProgress {
                    resource: resource.clone(),
                    status: word,
                    percent_complete: None,
                    polls,
                    waited: waited(&clock),
                });
                if let Some(err) = terminal_error(&status, &resource) {
                    return Err(err);
                }
                if status == OperationStatus::Succeeded {
                    return Ok(response);
                }
                last = response;
            }
        }
    }

    async fn final_result(
        &self,
        start: &LroStart,
        location: Option<&Url>,
        resource: &str,
    ) -> Result<Response> {
        match (start.final_state_via, start.method) {
            (_, Method::Delete) => Ok(Response {
                status: 200,
                headers: Default::default(),
                body: bytes::Bytes::new(),
            }),
            (FinalStateVia::Location, _) => match location {
                Some(url) => self.get(url.clone()).await,
                None => self.get(start.resource_url.clone()).await,
            },
            (FinalStateVia::OriginalUri, _) => self.get(start.resource_url.clone()).await,
        }
        .and_then(|r| r.check(resource))
    }

    async fn get(&self, url: Url) -> Result<Response> {
        let mut request = Request::new(url, Method::Get);
        request.insert_header("accept", "application/json");
        let resource = describe_request(&request);
        let response = self.pipeline.send(&mut request).await?;
        if response.status == 202 || response.is_success() {
            Ok(response)
        } else {
            Err(response.error_for(&format!("polling {resource}")))
        }
    }
}

fn header_url(response: &Response, name: &str) -> Option<Url> {
    response
        .header(name)
        .and_then(|v| Url::parse(v.trim()).ok())
}

fn provisioning_state(response: &Response) -> Option<String> {
    let body: serde_json::Value = serde_json::from_slice(&response.body).ok()?;
    body.pointer("/properties/provisioningState")
        .and_then(|s| s.as_str())
        .map(str::to_owned)
}

fn terminal_error(status: &OperationStatus, resource: &str) -> Option<Error> {
    match status {
        OperationStatus::Failed { code, message } => Some(Error::OperationFailed {
            resource: resource.to_owned(),
            status: "Failed".into(),
            code: code.clone(),
            message: message.clone(),
        }),
        OperationStatus::Canceled { code, message } => Some(Error::OperationFailed {
            resource: resource.to_owned(),
            status: "Canceled".into(),
            code: code.clone(),
            message: message.clone(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words() {
        assert_eq!(
            OperationStatus::from_parts("Succeeded", None),
            OperationStatus::Succeeded
        );
        assert_eq!(
            OperationStatus::from_parts("Creating", None),
            OperationStatus::Running("Creating".into())
        );
        let err = serde_json::json!({"code": "QuotaExceeded", "message": "no cores"});
        assert_eq!(
            OperationStatus::from_parts("Failed", Some(&err)),
            OperationStatus::Failed {
                code: "QuotaExceeded".into(),
                message: "no cores".into()
            }
        );
        assert!(matches!(
            OperationStatus::from_parts("Canceled", None),
            OperationStatus::Canceled { .. }
        ));
    }
}
