//! The error vocabulary for Azure responses, and the one classifier that turns statuses and Azure error bodies
//! (ARM `{"error":{code,message}}`, Entra ID `AADSTS…`, Key Vault, Azure DevOps, ACR/OCI `{"errors":[…]}`)
//! into semantic variants. Clients never match status codes ad hoc: they call [`classify`].

use std::fmt;
use std::time::Duration;

/// `Result` with azflux-core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a service said when it refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// The HTTP status.
    pub status: u16,
    /// The service's error code (`ResourceNotFound`, `AADSTS7000215`, `GitRepositoryNotFoundException`…), or
    /// the status text when the body had none.
    pub code: String,
    /// The service's message (first line for Entra ID errors, whose descriptions carry trace ids).
    pub message: String,
    /// The inner error code where the service nests one (Key Vault `innererror.code`, e.g. `ForbiddenByRbac`).
    pub inner_code: Option<String>,
    /// The resource the request was about: a method and a URL path, never a query string or credential.
    pub resource: String,
    /// `x-ms-request-id` (or `x-ms-correlation-request-id`, `ActivityId`), for a support ticket.
    pub request_id: Option<String>,
    /// `Retry-After` when the service sent one.
    pub retry_after: Option<Duration>,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} answered {} {}: {}",
            self.resource, self.status, self.code, self.message
        )?;
        if let Some(inner) = &self.inner_code {
            write!(f, " ({inner})")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

/// Errors from Azure requests, by what the caller can do about them.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 404: the resource does not exist (or the caller may not see it).
    #[error("not found: {0}. Check the name, resource group and subscription")]
    NotFound(Box<ServiceError>),
    /// 409 / 412: the resource exists in a conflicting state, or another writer got there first.
    #[error("conflict: {0}. Re-read the resource and retry, or resolve the conflict it names")]
    Conflict(Box<ServiceError>),
    /// 429 (or 503 with `Retry-After`) after the retry budget was spent.
    #[error("throttled: {0}. Wait{wait} and retry; lower concurrency if it persists", wait = .0.retry_after.map(|d| format!(" {}s", d.as_secs())).unwrap_or_default())]
    Throttled(Box<ServiceError>),
    /// 401, or an Entra ID refusal of the credential.
    #[error(
        "unauthorized: {0}. Check the credential (client id, secret, federated token) and its tenant"
    )]
    Unauthorized(Box<ServiceError>),
    /// 403: authenticated, but not allowed.
    #[error(
        "forbidden: {0}. Grant the principal the role the operation needs (and allow for propagation time)"
    )]
    Forbidden(Box<ServiceError>),
    /// 400 / 422: the service rejected the request's content.
    #[error("bad request: {0}. Fix the request as the message says")]
    BadRequest(Box<ServiceError>),
    /// 5xx after the retry budget was spent, or another unexpected status.
    #[error(
        "service error: {0}. Retry later; if it persists, open a support ticket with the request id"
    )]
    Service(Box<ServiceError>),
    /// A long-running operation ended `Failed` or `Canceled`.
    #[error("long-running operation on {resource} ended {status}: {code}: {message}")]
    OperationFailed {
        /// The resource the operation was about.
        resource: String,
        /// `Failed` or `Canceled`.
        status: String,
        /// The service's error code.
        code: String,
        /// The service's message.
        message: String,
    },
    /// A long-running operation did not finish in the time allowed.
    #[error(
        "long-running operation on {resource} did not finish within {waited:?} (last status {last_status}); it may still complete: re-run to resume"
    )]
    OperationTimedOut {
        /// The resource the operation was about.
        resource: String,
        /// How long we polled.
        waited: Duration,
        /// The last status seen.
        last_status: String,
    },
    /// A token could not be obtained.
    #[error("could not get a token for {scope}: {message}")]
    Credential {
        /// The scope asked for.
        scope: String,
        /// What the credential said (never the secret).
        message: String,
    },
    /// The request did not reach the service, or the reply was cut.
    #[error("could not reach {resource}: {message}. Check network access to the endpoint")]
    Transport {
        /// The method and URL path.
        resource: String,
        /// What failed.
        message: String,
    },
    /// The caller's input is invalid; nothing was sent.
    #[error("invalid {what}: {why}")]
    InvalidInput {
        /// Which input.
        what: String,
        /// Why it is invalid and what a valid one looks like.
        why: String,
    },
    /// The service answered something this client cannot read.
    #[error("unexpected response from {resource}: {message}")]
    UnexpectedResponse {
        /// The method and URL path.
        resource: String,
        /// What was wrong with it.
        message: String,
    },
    /// A token was about to be sent to a host it is not meant for; nothing was sent.
    #[error(
        "refused to send a token for {scope} to {host}: not a host of this cloud for that service"
    )]
    ForeignHost {
        /// The host the request was for.
        host: String,
        /// The token's scope.
        scope: String,
    },
}

impl Error {
    /// The service's answer, when the error is one.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            Error::NotFound(e)
            | Error::Conflict(e)
            | Error::Throttled(e)
            | Error::Unauthorized(e)
            | Error::Forbidden(e)
            | Error::BadRequest(e)
            | Error::Service(e) => Some(e),
            _ => None,
        }
    }

    /// The service's error code, when the error carries one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::OperationFailed { code, .. } => Some(code),
            _ => self.service_error().map(|e| e.code.as_str()),
        }
    }

    /// The HTTP status, when the error is a service answer.
    pub fn status(&self) -> Option<u16> {
        self.service_error().map(|e| e.status)
    }

    /// Whether trying again later may succeed (throttling, 5xx, transport, timed-out operations).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Throttled(_)
                | Error::Service(_)
                | Error::Transport { .. }
                | Error::OperationTimedOut { .. }
        )
    }

    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(what: impl Into<String>, why: impl Into<String>) -> Self {
        Error::InvalidInput {
            what: what.into(),
            why: why.into(),
        }
    }
}

/// Classifies a non-success response. `resource` names the request (`PUT /subscriptions/…/managedClusters/x`),
/// `headers` gives header values by lower-case name, and `body` is the response body.
pub fn classify(
    status: u16,
    resource: &str,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
) -> Error {
    let (code, message, inner_code) = parse_error_body(body).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        let message = if text.is_empty() || looks_like_html(text) {
            default_reason(status).to_owned()
        } else {
            truncate(text, 300)
        };
        (default_reason(status).replace(' ', ""), message, None)
    });
    let retry_after = header("retry-after")
        .and_then(|v| parse_retry_after(&v))
        .or_else(|| {
            header("x-ms-retry-after-ms")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|ms| Duration::from_millis(ms).min(MAX_RETRY_AFTER))
        });
    let request_id = header("x-ms-request-id")
        .or_else(|| header("x-ms-correlation-request-id"))
        .or_else(|| header("activityid"))
        .or_else(|| header("x-vss-e2eid"));
    let err = Box::new(ServiceError {
        status,
        code,
        message,
        inner_code,
        resource: resource.to_owned(),
        request_id,
        retry_after,
    });
    match status {
        404 | 410 => Error::NotFound(err),
        409 | 412 => Error::Conflict(err),
        429 => Error::Throttled(err),
        401 => Error::Unauthorized(err),
        403 => Error::Forbidden(err),
        400 | 422 if err.code.starts_with("AADSTS7000215") || err.code == "AADSTS700016" => {
            Error::Unauthorized(err)
        }
        400 | 405 | 411 | 413 | 414 | 415 | 422 => Error::BadRequest(err),
        503 if err.retry_after.is_some() => Error::Throttled(err),
        _ => Error::Service(err),
    }
}

/// Parses an Azure error body into (code, message, inner code).
fn parse_error_body(body: &[u8]) -> Option<(String, String, Option<String>)> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    // ARM / Key Vault / MSI / common-types: {"error":{"code","message","innererror":{"code"}}}
    if let Some(obj) = v.get("error").filter(|e| e.is_object()) {
        let code = obj
            .get("code")
            .and_then(|c| c.as_str())
            .unwrap_or("Unknown")
            .to_owned();
        let message = obj
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_owned();
        let inner = obj
            .get("innererror")
            .and_then(|i| i.get("code"))
            .and_then(|c| c.as_str())
            .map(str::to_owned)
            .or_else(|| {
                obj.get("details")
                    .and_then(|d| d.get(0))
                    .and_then(|d| d.get("code"))
                    .and_then(|c| c.as_str())
                    .map(str::to_owned)
            });
        return Some((code, message, inner));
    }
    // Entra ID: {"error":"invalid_client","error_description":"AADSTS7000215: …\r\nTrace ID: …","error_codes":[7000215]}
    if let Some(error) = v.get("error").and_then(|e| e.as_str()) {
        let description = v
            .get("error_description")
            .and_then(|d| d.as_str())
            .unwrap_or_default();
        let first_line = description
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let aadsts = v
            .get("error_codes")
            .and_then(|c| c.get(0))
            .and_then(|c| c.as_u64())
            .map(|c| format!("AADSTS{c}"))
            .or_else(|| {
                first_line
                    .split(':')
                    .next()
                    .filter(|p| p.starts_with("AADSTS"))
                    .map(str::to_owned)
            });
        return Some((
            aadsts.unwrap_or_else(|| error.to_owned()),
            first_line,
            Some(error.to_owned()),
        ));
    }
    // ACR / OCI distribution: {"errors":[{"code","message","detail"}]}
    if let Some(first) = v.get("errors").and_then(|e| e.get(0)) {
        let code = first
            .get("code")
            .and_then(|c| c.as_str())
            .unwrap_or("UNKNOWN")
            .to_owned();
        let message = first
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_owned();
        return Some((code, message, None));
    }
    // Azure DevOps WrappedException: {"message":"TF401019: …","typeKey":"GitRepositoryNotFoundException"}
    if let (Some(message), Some(type_key)) = (
        v.get("message").and_then(|m| m.as_str()),
        v.get("typeKey").and_then(|t| t.as_str()),
    ) {
        return Some((type_key.to_owned(), message.to_owned(), None));
    }
    // Event Hubs / Service Bus and others: {"code": …, "message"/"Detail": …}
    if let Some(code) = v.get("code").and_then(|c| {
        c.as_str()
            .map(str::to_owned)
            .or_else(|| c.as_u64().map(|n| n.to_string()))
    }) {
        let message = v
            .get("message")
            .or_else(|| v.get("Detail"))
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_owned();
        return Some((code, message, None));
    }
    None
}

/// The longest wait a server's `Retry-After` is honoured for: ARM documents at most 10 minutes, and a
/// larger (or hostile) value must not stall a client for hours.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// Parses `Retry-After`: integer seconds, fractional seconds, or an HTTP-date (accepted defensively); capped
/// at [`MAX_RETRY_AFTER`]. Anything else (negative, NaN, garbage) is `None`.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    if let Ok(secs) = value.parse::<f64>()
        && secs >= 0.0
    {
        // try_from_secs_f64 refuses NaN and values too large for a Duration instead of panicking.
        return match Duration::try_from_secs_f64(secs) {
            Ok(d) => Some(d.min(MAX_RETRY_AFTER)),
            Err(_) if secs.is_finite() => Some(MAX_RETRY_AFTER),
            Err(_) => None,
        };
    }
    let format = time::format_description::well_known::Rfc2822;
    let at = time::OffsetDateTime::parse(value, &format).ok()?;
    let now = time::OffsetDateTime::now_utc();
    let wait = at - now;
    Some(Duration::from_secs(wait.whole_seconds().max(0) as u64).min(MAX_RETRY_AFTER))
}

fn looks_like_html(text: &str) -> bool {
    let lower = text
        .get(..64.min(text.len()))
        .unwrap_or(text)
        .to_ascii_lowercase();
    lower.contains("<html") || lower.contains("<!doctype")
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

fn default_reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        412 => "Precondition Failed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unexpected Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_headers(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn arm_not_found() {
        let body =
            br#"{"error":{"code":"ResourceNotFound","message":"The Resource 'x' was not found."}}"#;
        let e = classify(404, "GET /subscriptions/s/x", &no_headers, body);
        assert!(matches!(e, Error::NotFound(_)));
        assert_eq!(e.code(), Some("ResourceNotFound"));
        assert!(e.to_string().contains("The Resource 'x' was not found."));
    }

    #[test]
    fn entra_wrong_secret() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1\r\nCorrelation ID: 2","error_codes":[7000215]}"#;
        let e = classify(401, "POST /t/oauth2/v2.0/token", &no_headers, body);
        assert!(matches!(e, Error::Unauthorized(_)));
        assert_eq!(e.code(), Some("AADSTS7000215"));
        assert!(!e.to_string().contains("Trace ID"));
    }

    #[test]
    fn key_vault_forbidden_by_rbac() {
        let body = br#"{"error":{"code":"Forbidden","message":"Caller is not authorized","innererror":{"code":"ForbiddenByRbac"}}}"#;
        let e = classify(403, "POST /keys/k/wrapkey", &no_headers, body);
        let se = e.service_error().unwrap();
        assert_eq!(se.inner_code.as_deref(), Some("ForbiddenByRbac"));
        assert!(matches!(e, Error::Forbidden(_)));
    }

    #[test]
    fn devops_and_acr_bodies() {
        let devops = br#"{"$id":"1","message":"TF401019: The Git repository with name or identifier X does not exist","typeKey":"GitRepositoryNotFoundException","errorCode":0}"#;
        let e = classify(
            404,
            "GET /org/p/_apis/git/repositories/X",
            &no_headers,
            devops,
        );
        assert_eq!(e.code(), Some("GitRepositoryNotFoundException"));
        let acr = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
        let e = classify(401, "GET /v2/", &no_headers, acr);
        assert_eq!(e.code(), Some("UNAUTHORIZED"));
    }

    #[test]
    fn throttling_carries_retry_after() {
        let headers = |n: &str| (n == "retry-after").then(|| "7".to_owned());
        let body = br#"{"error":{"code":"SubscriptionRequestsThrottled","message":"Number of 'read' requests exceeded."}}"#;
        let e = classify(429, "GET /x", &headers, body);
        match e {
            Error::Throttled(se) => assert_eq!(se.retry_after, Some(Duration::from_secs(7))),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn html_bodies_are_not_echoed() {
        let e = classify(
            401,
            "GET /x",
            &no_headers,
            b"<!DOCTYPE html><html>sign in</html>",
        );
        assert!(!e.to_string().contains("<html"));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("10"), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("soon"), None);
        // Hostile values neither panic nor stall: capped, or refused.
        assert_eq!(parse_retry_after("1e300"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("99999999999"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("NaN"), None);
        assert_eq!(parse_retry_after("-3"), None);
    }
}
