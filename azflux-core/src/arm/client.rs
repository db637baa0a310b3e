//! [`ArmClient`]: GET / PUT / POST / DELETE on resource ids, with the long-running-operation poller and
//! "ensure" (create-or-converge) semantics.

use super::lro::{LroPoller, LroProgress, LroStart, PollerOptions};
use crate::cloud::Cloud;
use crate::error::{Error, Result};
use crate::http::{
    BearerAuth, HostRule, HttpPipeline, HttpPipelineOptions, RateLimits, Response, json_request,
};
use azure_core::credentials::TokenCredential;
use azure_core::http::{Method, Url};
use serde_json::Value;
use std::sync::{Arc, Mutex, PoisonError};

/// Options for [`ArmClient::new`].
#[derive(Debug, Clone, Default)]
pub struct ArmClientOptions {
    /// Transport, retry and clock.
    pub http: HttpPipelineOptions,
    /// Long-running-operation polling.
    pub poller: PollerOptions,
}

/// A response from ARM with its body parsed, and the throttling counters it carried.
#[derive(Debug, Clone)]
pub struct ArmResponse<T> {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: T,
    /// `x-ms-ratelimit-remaining-*`.
    pub rate_limits: RateLimits,
    /// `x-ms-request-id`.
    pub request_id: Option<String>,
}

/// What an `ensure_*` call did.
#[derive(Debug, Clone, PartialEq)]
pub enum Ensured<T> {
    /// It did not exist and was created.
    Created(T),
    /// It existed and differed; it was updated.
    Updated(T),
    /// It existed as desired; nothing was sent.
    Unchanged(T),
}

impl<T> Ensured<T> {
    /// The resource, whatever happened.
    pub fn into_inner(self) -> T {
        match self {
            Ensured::Created(t) | Ensured::Updated(t) | Ensured::Unchanged(t) => t,
        }
    }

    /// The resource, by reference.
    pub fn get(&self) -> &T {
        match self {
            Ensured::Created(t) | Ensured::Updated(t) | Ensured::Unchanged(t) => t,
        }
    }

    /// `created`, `updated` or `unchanged`.
    pub fn verb(&self) -> &'static str {
        match self {
            Ensured::Created(_) => "created",
            Ensured::Updated(_) => "updated",
            Ensured::Unchanged(_) => "unchanged",
        }
    }

    /// Maps the resource.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Ensured<U> {
        match self {
            Ensured::Created(t) => Ensured::Created(f(t)),
            Ensured::Updated(t) => Ensured::Updated(f(t)),
            Ensured::Unchanged(t) => Ensured::Unchanged(f(t)),
        }
    }
}

/// Whether every field of `desired` is present in `actual` with an equal value (objects compared key by key,
/// recursively; arrays element by element; strings that are ARM enum-like compared case-insensitively is
/// NOT done: values must match). Read-only fields the service adds to `actual` do not matter.
pub fn json_is_subset(desired: &Value, actual: &Value) -> bool {
    match (desired, actual) {
        (Value::Object(d), Value::Object(a)) => d
            .iter()
            .all(|(k, dv)| a.get(k).is_some_and(|av| json_is_subset(dv, av)) || dv.is_null()),
        (Value::Array(d), Value::Array(a)) => {
            d.len() == a.len() && d.iter().zip(a).all(|(dv, av)| json_is_subset(dv, av))
        }
        (d, a) => d == a,
    }
}

/// A Resource Manager client for one cloud.
#[derive(Debug, Clone)]
pub struct ArmClient {
    endpoint: Url,
    pipeline: HttpPipeline,
    poller: LroPoller,
    last_rate_limits: Arc<Mutex<RateLimits>>,
}

impl ArmClient {
    /// A client for `cloud`'s Resource Manager, authenticating with `credential` (scope `<arm>/.default`).
    /// Tokens go only to the Resource Manager host.
    pub fn new(
        cloud: &Cloud,
        credential: Arc<dyn TokenCredential>,
        options: ArmClientOptions,
    ) -> Self {
        let host = cloud
            .resource_manager
            .host_str()
            .unwrap_or_default()
            .to_owned();
        let pipeline = HttpPipeline::with_bearer(
            &options.http,
            BearerAuth {
                credential,
                scope: cloud.arm_scope(),
                hosts: vec![HostRule::Exact(host)],
            },
        );
        let poller = LroPoller::new(pipeline.clone(), options.poller);
        Self {
            endpoint: cloud.resource_manager.clone(),
            pipeline,
            poller,
            last_rate_limits: Default::default(),
        }
    }

    /// The pipeline (for callers that need a request shape this client has no helper for).
    pub fn pipeline(&self) -> &HttpPipeline {
        &self.pipeline
    }

    /// The throttling counters of the latest response.
    pub fn last_rate_limits(&self) -> RateLimits {
        self.last_rate_limits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// `<endpoint><path>?api-version=<version>`; `path` is a resource id or an id plus an action.
    pub fn url(&self, path: &str, api_version: &str) -> Result<Url> {
        if api_version.trim().is_empty() {
            return Err(Error::invalid("api-version", "every ARM call needs one"));
        }
        let mut url = self
            .endpoint
            .join(path.trim_start_matches('/'))
            .map_err(|e| Error::invalid(format!("resource path '{path}'"), e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("api-version", api_version);
        Ok(url)
    }

    fn record(&self, response: &Response) {
        let limits = response.rate_limits();
        if !limits.remaining.is_empty() {
            *self
                .last_rate_limits
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = limits;
        }
    }

    fn to_arm(&self, response: Response, resource: &str) -> Result<ArmResponse<Value>> {
        let body = if response.body.is_empty() {
            Value::Null
        } else {
            response.json(resource)?
        };
        Ok(ArmResponse {
            status: response.status,
            rate_limits: response.rate_limits(),
            request_id: response.header("x-ms-request-id").map(str::to_owned),
            body,
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<(Url, Response)> {
        let url = self.url(path, api_version)?;
        let mut request = json_request(method, url.clone(), body)?;
        let response = self.pipeline.send(&mut request).await?;
        self.record(&response);
        Ok((url, response))
    }

    /// GETs a resource; `None` when it does not exist (404).
    pub async fn get(&self, id: &str, api_version: &str) -> Result<Option<ArmResponse<Value>>> {
        let resource = format!("GET {id}");
        let (_, response) = self.send(Method::Get, id, api_version, None).await?;
        if response.status == 404 {
            return Ok(None);
        }
        let response = response.check(&resource)?;
        self.to_arm(response, &resource).map(Some)
    }

    /// GETs a resource into a typed body; `None` when it does not exist.
    pub async fn get_as<T: serde::de::DeserializeOwned>(
        &self,
        id: &str,
        api_version: &str,
    ) -> Result<Option<T>> {
        match self.get(id, api_version).await? {
            None => Ok(None),
            Some(r) => {
                serde_json::from_value(r.body)
                    .map(Some)
                    .map_err(|e| Error::UnexpectedResponse {
                        resource: format!("GET {id}"),
                        message: e.to_string(),
                    })
            }
        }
    }

    /// PUTs `body` and, if the service started a long-running operation, polls it to the end.
    pub async fn put_and_wait(
        &self,
        id: &str,
        api_version: &str,
        body: &Value,
        progress: &(dyn Fn(&LroProgress) + Send + Sync),
    ) -> Result<ArmResponse<Value>> {
        let resource = format!("PUT {id}");
        let (url, response) = self.send(Method::Put, id, api_version, Some(body)).await?;
        let response = response.check(&resource)?;
        let status = response.status;
        let finished = self
            .poller
            .wait(LroStart::new(Method::Put, url, response), progress)
            .await?;
        let mut out = self.to_arm(finished, &resource)?;
        out.status = status;
        Ok(out)
    }

    /// POSTs to `<id>/<action>` (e.g. `listClusterUserCredential`) and, for a `202`, polls to the result.
    pub async fn post_and_wait(
        &self,
        id: &str,
        action: &str,
        api_version: &str,
        body: Option<&Value>,
        progress: &(dyn Fn(&LroProgress) + Send + Sync),
    ) -> Result<ArmResponse<Value>> {
        let path = format!("{}/{}", id.trim_end_matches('/'), action);
        let resource = format!("POST {path}");
        let (url, response) = self.send(Method::Post, &path, api_version, body).await?;
        let response = response.check(&resource)?;
        let finished = if response.status == 202 {
            self.poller
                .wait(LroStart::new(Method::Post, url, response), progress)
                .await?
        } else {
            response
        };
        self.to_arm(finished, &resource)
    }

    /// DELETEs a resource and waits for the deletion; deleting what is already gone is `Ok(false)`.
    pub async fn delete(
        &self,
        id: &str,
        api_version: &str,
        progress: &(dyn Fn(&LroProgress) + Send + Sync),
    ) -> Result<bool> {
        let resource = format!("DELETE {id}");
        let (url, response) = self.send(Method::Delete, id, api_version, None).await?;
        match response.status {
            404 | 204 => Ok(false),
            200 => Ok(true),
            202 => {
                self.poller
                    .wait(LroStart::new(Method::Delete, url, response), progress)
                    .await?;
                Ok(true)
            }
            _ => Err(response.error_for(&resource)),
        }
    }

    /// Lists a collection (`…/federatedIdentityCredentials`), following `nextLink`.
    pub async fn list(&self, path: &str, api_version: &str) -> Result<Vec<Value>> {
        let resource = format!("GET {path}");
        let mut url = self.url(path, api_version)?;
        let mut items = Vec::new();
        for _ in 0..1000 {
            let mut request = json_request::<Value>(Method::Get, url.clone(), None)?;
            let response = self.pipeline.send(&mut request).await?;
            self.record(&response);
            let page: Value = response.check(&resource)?.json(&resource)?;
            if let Some(values) = page.get("value").and_then(|v| v.as_array()) {
                items.extend(values.iter().cloned());
            }
            match page
                .get("nextLink")
                .and_then(|n| n.as_str())
                .filter(|n| !n.is_empty())
            {
                Some(next) => {
                    url = Url::parse(next).map_err(|e| Error::UnexpectedResponse {
                        resource: resource.clone(),
                        message: format!("nextLink is not a URL: {e}"),
                    })?;
                    if url.host_str() != self.endpoint.host_str() {
                        return Err(Error::UnexpectedResponse {
                            resource,
                            message: "nextLink points to another host".into(),
                        });
                    }
                }
                None => return Ok(items),
            }
        }
        Err(Error::UnexpectedResponse {
            resource,
            message: "more than 1000 pages".into(),
        })
    }

    /// Creates the resource or converges it to `desired`: GET; if every field of `desired` already has its
    /// value ([`json_is_subset`]), nothing is sent; otherwise PUT (and poll). Re-running with the same
    /// `desired` is free.
    pub async fn ensure(
        &self,
        id: &str,
        api_version: &str,
        desired: &Value,
        progress: &(dyn Fn(&LroProgress) + Send + Sync),
    ) -> Result<Ensured<Value>> {
        let existing = self.get(id, api_version).await?;
        if let Some(current) = &existing {
            let terminal = current
                .body
                .pointer("/properties/provisioningState")
                .and_then(|s| s.as_str())
                .is_none_or(|s| matches!(s, "Succeeded" | "succeeded"));
            if terminal && json_is_subset(desired, &current.body) {
                return Ok(Ensured::Unchanged(current.body.clone()));
            }
        }
        let updated = self
            .put_and_wait(id, api_version, desired, progress)
            .await?;
        Ok(if existing.is_some() {
            Ensured::Updated(updated.body)
        } else {
            Ensured::Created(updated.body)
        })
    }
}

/// The resource-groups api-version used (Microsoft.Resources, GA).
pub const RESOURCE_GROUPS_API_VERSION: &str = "2021-04-01";

impl ArmClient {
    /// Creates the resource group in `location`, or leaves it as it is when it exists there.
    pub async fn ensure_resource_group(
        &self,
        subscription_id: &str,
        name: &str,
        location: &str,
        tags: &serde_json::Map<String, Value>,
    ) -> Result<Ensured<Value>> {
        if name.is_empty() || name.len() > 90 || name.ends_with('.') {
            return Err(Error::invalid(
                format!("resource group name '{name}'"),
                "use 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'",
            ));
        }
        let id = super::ResourceId::resource_group(subscription_id, name).to_string();
        let desired = serde_json::json!({"location": location, "tags": tags});
        self.ensure(&id, RESOURCE_GROUPS_API_VERSION, &desired, &|_| {})
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subset_ignores_read_only_fields() {
        let desired = json!({"location": "westeurope", "properties": {"a": 1, "list": [{"x": 1}]}});
        let actual = json!({"id": "/x", "location": "westeurope", "properties": {"a": 1, "b": 2, "provisioningState": "Succeeded", "list": [{"x": 1, "y": 2}]}});
        assert!(json_is_subset(&desired, &actual));
        let changed = json!({"location": "westeurope", "properties": {"a": 2}});
        assert!(!json_is_subset(&changed, &actual));
        let longer = json!({"properties": {"list": [{"x": 1}, {"x": 2}]}});
        assert!(!json_is_subset(&longer, &actual));
    }
}
