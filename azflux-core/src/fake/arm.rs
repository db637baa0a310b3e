//! What every fake ARM endpoint does before its own logic: require `api-version`, verify the bearer token is
//! for the Resource Manager audience, and throttle the way ARM does — regional token buckets per subscription
//! and principal (reads 250 refilled 25/s, writes 200 refilled 10/s, deletes 200 refilled 10/s, on the fake
//! clock), with the `x-ms-ratelimit-remaining-subscription-*` counters on every answer and 429 +
//! `Retry-After` when a bucket is empty.

use super::FakeCloud;
use super::entra::AuthFailure;
use super::jwt::Claims;
use super::request::FakeRequest;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use wiremock::ResponseTemplate;

/// The audience ARM tokens carry.
pub const ARM_AUDIENCE: &str = "https://management.azure.com";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum OpKind {
    Read,
    Write,
    Delete,
}

impl OpKind {
    fn of(method: &str) -> Self {
        match method {
            "GET" | "HEAD" => OpKind::Read,
            "DELETE" => OpKind::Delete,
            _ => OpKind::Write,
        }
    }

    fn capacity_and_refill(self) -> (f64, f64) {
        match self {
            OpKind::Read => (250.0, 25.0),
            OpKind::Write | OpKind::Delete => (200.0, 10.0),
        }
    }

    fn header(self) -> &'static str {
        match self {
            OpKind::Read => "x-ms-ratelimit-remaining-subscription-reads",
            OpKind::Write => "x-ms-ratelimit-remaining-subscription-writes",
            OpKind::Delete => "x-ms-ratelimit-remaining-subscription-deletes",
        }
    }
}

/// ARM's token buckets.
#[derive(Debug, Default)]
pub struct ArmThrottle {
    buckets: Mutex<HashMap<BucketKey, Bucket>>,
}

/// (subscription, principal, operation kind).
type BucketKey = (String, String, u8);
/// (tokens left, last refill in unix ms).
type Bucket = (f64, i128);

impl ArmThrottle {
    /// Takes one token; `Ok(remaining)` or `Err(seconds to wait)`.
    fn take(
        &self,
        subscription: &str,
        principal: &str,
        kind: OpKind,
        now_ms: i128,
    ) -> Result<u64, u64> {
        let (capacity, refill) = kind.capacity_and_refill();
        let key = (subscription.to_owned(), principal.to_owned(), kind as u8);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let (tokens, last) = buckets.entry(key).or_insert((capacity, now_ms));
        let elapsed = ((now_ms - *last).max(0) as f64) / 1000.0;
        *tokens = (*tokens + elapsed * refill).min(capacity);
        *last = now_ms;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(tokens.floor() as u64)
        } else {
            Err(((1.0 - *tokens) / refill).ceil().max(1.0) as u64)
        }
    }
}

/// A request that passed the ARM checks.
#[derive(Debug, Clone)]
pub struct ArmCall {
    /// The caller's token claims.
    pub claims: Claims,
    /// The api-version sent.
    pub api_version: String,
    /// Headers every ARM answer carries (request ids, rate-limit counters).
    pub headers: Vec<(String, String)>,
}

impl ArmCall {
    /// Adds this call's standard headers to a response.
    pub fn respond(&self, mut template: ResponseTemplate) -> ResponseTemplate {
        for (k, v) in &self.headers {
            template = template.insert_header(k.as_str(), v.as_str());
        }
        template
    }
}

impl FakeCloud {
    /// The checks of every ARM call: api-version present, bearer token for ARM, throttling.
    #[allow(clippy::result_large_err)] // handlers return the template as is
    pub fn arm_call(&self, request: &FakeRequest<'_>) -> Result<ArmCall, ResponseTemplate> {
        let Some(api_version) = request.query("api-version").filter(|v| !v.is_empty()) else {
            return Err(arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            ));
        };
        let claims = self
            .entra()
            .verify_request(request, ARM_AUDIENCE)
            .map_err(|e| AuthFailure::arm_response(&e))?;
        let subscription = request
            .path()
            .split('/')
            .skip_while(|s| !s.eq_ignore_ascii_case("subscriptions"))
            .nth(1)
            .unwrap_or("tenant")
            .to_owned();
        let kind = OpKind::of(&request.method());
        let now_ms = (self.clock().now().unix_timestamp_nanos()) / 1_000_000;
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut headers = vec![
            ("x-ms-request-id".to_owned(), request_id.clone()),
            (
                "x-ms-correlation-request-id".to_owned(),
                request
                    .header("x-ms-client-request-id")
                    .unwrap_or(request_id.clone()),
            ),
            (
                "x-ms-routing-request-id".to_owned(),
                format!("WESTEUROPE:{request_id}"),
            ),
        ];
        match self.inner.arm_throttle.take(&subscription, &claims.oid, kind, now_ms) {
            Ok(remaining) => {
                headers.push((kind.header().to_owned(), remaining.to_string()));
                Ok(ArmCall { claims, api_version, headers })
            }
            Err(wait) => Err(arm_error(
                429,
                "SubscriptionRequestsThrottled",
                &format!("Number of '{}' requests for subscription '{subscription}' actor '{}' exceeded. Please try again after '{wait}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information.", match kind { OpKind::Read => "read", OpKind::Write => "write", OpKind::Delete => "delete" }, claims.oid),
            )
            .insert_header("retry-after", wait.to_string())
            .insert_header(kind.header(), "0")),
        }
    }
}

/// An ARM error response: `{"error":{"code","message"}}`.
pub fn arm_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("x-ms-request-id", uuid::Uuid::new_v4().to_string())
        .set_body_json(json!({"error": {"code": code, "message": message}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_drain_and_refill() {
        let t = ArmThrottle::default();
        for i in 0..200 {
            assert_eq!(t.take("s", "p", OpKind::Write, 0), Ok(199 - i));
        }
        assert_eq!(t.take("s", "p", OpKind::Write, 0), Err(1));
        assert!(
            t.take("s", "other", OpKind::Write, 0).is_ok(),
            "buckets are per principal"
        );
        assert!(
            t.take("s", "p", OpKind::Write, 1000).is_ok(),
            "10 tokens refill per second"
        );
    }
}
