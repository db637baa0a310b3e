//! Fault injection per route: throttling (429 + `Retry-After`), 5xx, slow replies and dropped connections,
//! each for the next N matching requests.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// What goes wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this status (and `Retry-After` seconds, and an ARM error body with `code`).
    Status {
        /// HTTP status.
        status: u16,
        /// `Retry-After` in seconds.
        retry_after: Option<u64>,
        /// Error code in the body.
        code: String,
    },
    /// Answer normally, but only after this long (real time: keep it short).
    Delay(Duration),
    /// Close the connection without answering.
    Drop,
}

impl Fault {
    /// 429 `TooManyRequests` with `Retry-After`.
    pub fn throttle(retry_after_secs: u64) -> Self {
        Fault::Status {
            status: 429,
            retry_after: Some(retry_after_secs),
            code: "SubscriptionRequestsThrottled".into(),
        }
    }

    /// A 5xx with an `InternalServerError` body.
    pub fn server_error(status: u16) -> Self {
        Fault::Status {
            status,
            retry_after: None,
            code: "InternalServerError".into(),
        }
    }
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultMatch {
    /// Host (exact, case-insensitive), if any.
    pub host: Option<String>,
    /// Method (`GET`…), if any.
    pub method: Option<String>,
    /// A substring of the path, if any.
    pub path_contains: Option<String>,
}

impl FaultMatch {
    /// Every request.
    pub fn any() -> Self {
        Self::default()
    }

    /// Requests whose path contains `fragment`.
    pub fn path(fragment: impl Into<String>) -> Self {
        Self {
            path_contains: Some(fragment.into()),
            ..Self::default()
        }
    }

    /// Only this method.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into().to_ascii_uppercase());
        self
    }

    /// Only this host.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into().to_ascii_lowercase());
        self
    }

    fn matches(&self, host: &str, method: &str, path: &str) -> bool {
        self.host
            .as_deref()
            .is_none_or(|h| h == host.to_ascii_lowercase())
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
    }
}

#[derive(Debug)]
struct Rule {
    when: FaultMatch,
    fault: Fault,
    remaining: usize,
}

/// The fault registry shared by every fake of a cloud.
#[derive(Debug, Default)]
pub struct FaultInjector {
    rules: Mutex<Vec<Rule>>,
    fired: Mutex<Vec<(String, String, Fault)>>,
}

impl FaultInjector {
    /// Makes the next `times` requests matching `when` fail with `fault`.
    pub fn inject(&self, when: FaultMatch, fault: Fault, times: usize) {
        self.rules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Rule {
                when,
                fault,
                remaining: times,
            });
    }

    /// Removes every pending fault.
    pub fn clear(&self) {
        self.rules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Faults that fired: (method, path, fault).
    pub fn fired(&self) -> Vec<(String, String, Fault)> {
        self.fired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes the first matching fault of the wanted kind (`drops` selects [`Fault::Drop`] or the others).
    pub(crate) fn take(&self, host: &str, method: &str, path: &str, drops: bool) -> Option<Fault> {
        let mut rules = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
        let index = rules.iter().position(|r| {
            r.remaining > 0
                && (r.fault == Fault::Drop) == drops
                && r.when.matches(host, method, path)
        })?;
        let rule = &mut rules[index];
        rule.remaining -= 1;
        let fault = rule.fault.clone();
        if rule.remaining == 0 {
            rules.remove(index);
        }
        drop(rules);
        self.fired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((method.to_owned(), path.to_owned(), fault.clone()));
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_fire_the_given_number_of_times_on_matching_requests() {
        let f = FaultInjector::default();
        f.inject(
            FaultMatch::path("/managedClusters/").method("get"),
            Fault::throttle(3),
            2,
        );
        assert_eq!(f.take("h", "PUT", "/x/managedClusters/c", false), None);
        assert_eq!(
            f.take("h", "GET", "/x/managedClusters/c", false),
            Some(Fault::throttle(3))
        );
        assert_eq!(f.take("h", "GET", "/x/managedClusters/c", true), None);
        assert!(f.take("h", "GET", "/x/managedClusters/c", false).is_some());
        assert_eq!(f.take("h", "GET", "/x/managedClusters/c", false), None);
        assert_eq!(f.fired().len(), 2);
    }
}
