//! Host routing: clients keep real Azure URLs (`https://myvault.vault.azure.net/keys/k`); the router decides
//! which local fake serves each host, and [`RouterTransport`] (an azure_core `HttpClient`) sends the request
//! there over plain HTTP, passing the original host in `Host`-independent `x-forwarded-host`.

use super::faults::{Fault, FaultInjector};
use crate::http::HostRule;
use azure_core::http::{AsyncRawResponse, HttpClient, Request};
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};

/// The header carrying the host the client meant.
pub const FORWARDED_HOST: &str = "x-forwarded-host";

/// Which fake serves which host.
#[derive(Debug, Default)]
pub struct Router {
    routes: RwLock<Vec<(HostRule, SocketAddr)>>,
    /// Path prefixes for requests that arrive with a loopback `Host` (clients pointed at `https://localhost:PORT`).
    paths: RwLock<Vec<(String, SocketAddr)>>,
}

impl Router {
    /// Routes `rule` to the fake listening on `addr` (later routes for the same rule win).
    pub fn add(&self, rule: HostRule, addr: SocketAddr) {
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        routes.retain(|(r, _)| r != &rule);
        routes.push((rule, addr));
    }

    /// For loopback hosts: requests whose path starts with `prefix` go to `addr`.
    pub fn add_path(&self, prefix: impl Into<String>, addr: SocketAddr) {
        self.paths
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push((prefix.into(), addr));
    }

    /// The fake for `host` (exact rules first, then the longest matching suffix), or for a loopback host the
    /// fake for `path`.
    pub fn resolve(&self, host: &str, path: &str) -> Option<SocketAddr> {
        let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
        let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, addr)) = routes
            .iter()
            .find(|(r, _)| matches!(r, HostRule::Exact(_)) && r.allows(&host))
        {
            return Some(*addr);
        }
        let best = routes
            .iter()
            .filter(|(r, _)| matches!(r, HostRule::Suffix(_)) && r.allows(&host))
            .max_by_key(|(r, _)| match r {
                HostRule::Suffix(s) | HostRule::Exact(s) => s.len(),
            });
        if let Some((_, addr)) = best {
            return Some(*addr);
        }
        drop(routes);
        if is_loopback(&host) {
            let paths = self.paths.read().unwrap_or_else(PoisonError::into_inner);
            return paths
                .iter()
                .filter(|(p, _)| path_matches(p, path))
                .max_by_key(|(p, _)| p.len())
                .map(|(_, a)| *a);
        }
        None
    }

    /// The hosts routed, for `fake-azure --json` and error messages.
    pub fn hosts(&self) -> Vec<String> {
        self.routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(r, _)| match r {
                HostRule::Exact(h) => h.clone(),
                HostRule::Suffix(s) => format!("*{s}"),
            })
            .collect()
    }
}

/// `prefix` may contain `*` for exactly one path segment (`/*/oauth2/`).
fn path_matches(prefix: &str, path: &str) -> bool {
    let mut p = prefix.split('/');
    let mut q = path.split('/');
    loop {
        match (p.next(), q.next()) {
            (None, _) => return true,
            (Some(""), _) if prefix.ends_with('/') && p.clone().next().is_none() => return true,
            (Some(a), Some(b)) if a == "*" || a == b => continue,
            _ => return false,
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.starts_with("127.") || host == "[::1]" || host == "::1"
}

/// The azure_core transport that sends every request to the fake serving its host.
#[derive(Debug, Clone)]
pub struct RouterTransport {
    router: Arc<Router>,
    faults: Arc<FaultInjector>,
    client: reqwest::Client,
}

impl RouterTransport {
    /// A transport over `router`, applying `faults` of kind [`Fault::Drop`].
    pub fn new(router: Arc<Router>, faults: Arc<FaultInjector>) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            router,
            faults,
            client,
        }
    }
}

#[async_trait::async_trait]
impl HttpClient for RouterTransport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let url = request.url();
        let host = url.host_str().unwrap_or_default().to_owned();
        let Some(addr) = self.router.resolve(&host, url.path()) else {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Other,
                format!(
                    "no fake serves host '{host}' (routed: {})",
                    self.router.hosts().join(", ")
                ),
            ));
        };
        if let Some(Fault::Drop) =
            self.faults
                .take(&host, request.method().as_ref(), url.path(), true)
        {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Io,
                format!("connection to {host} dropped (injected fault)"),
            ));
        }
        let mut routed = request.clone();
        let target = routed.url_mut();
        let _ = target.set_scheme("http");
        let _ = target.set_host(Some(&addr.ip().to_string()));
        let _ = target.set_port(Some(addr.port()));
        let forwarded = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        routed.insert_header(FORWARDED_HOST, forwarded);
        routed.insert_header("x-forwarded-proto", url.scheme().to_owned());
        self.client.execute_request(&routed).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_then_longest_suffix_then_loopback_paths() {
        let r = Router::default();
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:2".parse().unwrap();
        let c: SocketAddr = "127.0.0.1:3".parse().unwrap();
        r.add(HostRule::Exact("management.azure.com".into()), a);
        r.add(HostRule::Suffix(".vault.azure.net".into()), b);
        r.add_path("/*/oauth2/", c);
        r.add_path("/subscriptions/", a);
        assert_eq!(r.resolve("management.azure.com", "/"), Some(a));
        assert_eq!(r.resolve("kv.vault.azure.net:443", "/keys"), Some(b));
        assert_eq!(r.resolve("evil.com", "/"), None);
        assert_eq!(r.resolve("localhost", "/tenant/oauth2/v2.0/token"), Some(c));
        assert_eq!(r.resolve("127.0.0.1", "/subscriptions/s/x"), Some(a));
        assert_eq!(r.resolve("127.0.0.1", "/other"), None);
    }
}
