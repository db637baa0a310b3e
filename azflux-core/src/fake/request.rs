//! [`FakeRequest`]: what a fake's handler sees of a request, with the helpers every fake needs.

use super::router::FORWARDED_HOST;
use std::collections::HashMap;

/// A request received by a fake.
#[derive(Debug, Clone, Copy)]
pub struct FakeRequest<'a> {
    inner: &'a wiremock::Request,
}

impl<'a> FakeRequest<'a> {
    /// Wraps a wiremock request.
    pub fn new(inner: &'a wiremock::Request) -> Self {
        Self { inner }
    }

    /// The underlying wiremock request.
    pub fn raw(&self) -> &'a wiremock::Request {
        self.inner
    }

    /// The host the client meant (`x-forwarded-host`, else `Host`), lower-case, without port.
    pub fn host(&self) -> String {
        let h = self
            .header(FORWARDED_HOST)
            .or_else(|| self.header("host"))
            .unwrap_or_default();
        h.split(':').next().unwrap_or_default().to_ascii_lowercase()
    }

    /// Where the client sent the request: `https://management.azure.com`, or `https://localhost:8443` when a
    /// tool talks to the front door directly. Fakes build the URLs they hand out (`Azure-AsyncOperation`,
    /// `Location`, `nextLink`) from it, so clients poll where they can reach.
    pub fn origin(&self) -> String {
        let host = self
            .header(FORWARDED_HOST)
            .or_else(|| self.header("host"))
            .unwrap_or_default()
            .to_ascii_lowercase();
        let proto = self
            .header("x-forwarded-proto")
            .unwrap_or_else(|| "https".into());
        let host = host
            .strip_suffix(":443")
            .filter(|_| proto == "https")
            .map(str::to_owned)
            .unwrap_or(host);
        format!("{proto}://{host}")
    }

    /// The method, upper-case.
    pub fn method(&self) -> String {
        self.inner.method.to_string()
    }

    /// The path (percent-encoded as sent).
    pub fn path(&self) -> &str {
        self.inner.url.path()
    }

    /// A query parameter.
    pub fn query(&self, name: &str) -> Option<String> {
        self.inner
            .url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// A header value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<String> {
        self.inner
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The bearer token of `Authorization`, if any.
    pub fn bearer(&self) -> Option<&'a str> {
        let value = self.inner.headers.get("authorization")?.to_str().ok()?;
        value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
    }

    /// The body.
    pub fn body(&self) -> &'a [u8] {
        &self.inner.body
    }

    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.inner.body).ok()
    }

    /// The body as an `application/x-www-form-urlencoded` form.
    pub fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.inner.body)
            .into_owned()
            .collect()
    }
}
