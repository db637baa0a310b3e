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
    /// Host aliases (`from`, `to`), exact names or DNS suffixes: another cloud's hosts served by the fakes of
    /// the public cloud's (`management.chinacloudapi.cn` → `management.azure.com`, `kv.vault.azure.cn` →
    /// `kv.vault.azure.net`).
    aliases: RwLock<Vec<(String, String)>>,
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

    /// Serves `from` (a host, or a DNS suffix starting with `.`) with the fake of `to` (the same shape).
    pub fn add_alias(&self, from: impl Into<String>, to: impl Into<String>) {
        let (from, to) = (
            from.into().to_ascii_lowercase(),
            to.into().to_ascii_lowercase(),
        );
        let mut aliases = self.aliases.write().unwrap_or_else(PoisonError::into_inner);
        aliases.retain(|(f, _)| f != &from);
        aliases.push((from, to));
    }

    /// Aliases every host of `other` (authority, Resource Manager, data-plane suffixes) to the host of
    /// `served` that plays its part, so the fakes mounted for `served` answer both clouds' host names.
    pub fn alias_cloud(&self, other: &crate::cloud::Cloud, served: &crate::cloud::Cloud) {
        let host = |u: &url::Url| u.host_str().unwrap_or_default().to_owned();
        self.add_alias(host(&other.authority_host), host(&served.authority_host));
        self.add_alias(
            host(&other.resource_manager),
            host(&served.resource_manager),
        );
        for (a, b) in [
            (&other.key_vault_suffix, &served.key_vault_suffix),
            (
                &other.container_registry_suffix,
                &served.container_registry_suffix,
            ),
            (&other.service_bus_suffix, &served.service_bus_suffix),
            (&other.storage_suffix, &served.storage_suffix),
        ] {
            self.add_alias(format!(".{a}"), format!(".{b}"));
        }
    }

    /// Whether a fake serves `host` by name (exact, suffix, or alias rules; loopback path routing aside) —
    /// the hosts the proxy opens tunnels to.
    pub fn serves_host(&self, host: &str) -> bool {
        let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
        !is_loopback(&host) && self.resolve(&host, "/").is_some()
    }

    /// The fake for `host` (exact rules first, then the longest matching suffix, then aliases), or for a
    /// loopback host the fake for `path`.
    pub fn resolve(&self, host: &str, path: &str) -> Option<SocketAddr> {
        let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
        if let Some(addr) = self.resolve_direct(&host, path) {
            return Some(addr);
        }
        let aliases = self.aliases.read().unwrap_or_else(PoisonError::into_inner);
        for (from, to) in aliases.iter() {
            let target = if from.starts_with('.') {
                host.strip_suffix(from.as_str())
                    .filter(|p| !p.is_empty())
                    .map(|p| format!("{p}{to}"))
            } else {
                (host == *from).then(|| to.clone())
            };
            if let Some(addr) = target.and_then(|t| self.resolve_direct(&t, "/")) {
                return Some(addr);
            }
        }
        None
    }

    fn resolve_direct(&self, host: &str, path: &str) -> Option<SocketAddr> {
        let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, addr)) = routes
            .iter()
            .find(|(r, _)| matches!(r, HostRule::Exact(_)) && r.allows(host))
        {
            return Some(*addr);
        }
        let best = routes
            .iter()
            .filter(|(r, _)| matches!(r, HostRule::Suffix(_)) && r.allows(host))
            .max_by_key(|(r, _)| match r {
                HostRule::Suffix(s) | HostRule::Exact(s) => s.len(),
            });
        if let Some((_, addr)) = best {
            return Some(*addr);
        }
        drop(routes);
        if is_loopback(host) {
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

pub(crate) fn is_loopback(host: &str) -> bool {
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
        Self {
            router,
            faults,
            client: loopback_client(),
        }
    }
}

/// The HTTP client that carries requests to the fakes: never through a proxy from the environment (the
/// fakes listen on loopback) and never following redirects (the caller sees them, as from Azure).
pub(crate) fn loopback_client() -> reqwest::Client {
    crate::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap_or_default()
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
        assert!(r.serves_host("kv.vault.azure.net"));
        assert!(!r.serves_host("127.0.0.1"), "no tunnels to loopback");
    }

    #[test]
    fn another_clouds_hosts_alias_to_the_served_fakes() {
        use crate::cloud::Cloud;
        let r = Router::default();
        let arm: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let kv: SocketAddr = "127.0.0.1:2".parse().unwrap();
        r.add(HostRule::Exact("management.azure.com".into()), arm);
        r.add(HostRule::Suffix(".vault.azure.net".into()), kv);
        r.alias_cloud(&Cloud::china(), &Cloud::public());
        r.alias_cloud(&Cloud::us_government(), &Cloud::public());
        assert_eq!(r.resolve("management.chinacloudapi.cn", "/"), Some(arm));
        assert_eq!(
            r.resolve("management.usgovcloudapi.net:443", "/"),
            Some(arm)
        );
        assert_eq!(r.resolve("kv.vault.azure.cn", "/keys"), Some(kv));
        assert_eq!(r.resolve("kv.vault.usgovcloudapi.net", "/keys"), Some(kv));
        assert_eq!(
            r.resolve("vault.azure.cn", "/"),
            None,
            "a bare suffix is no vault"
        );
        assert_eq!(r.resolve("kv.vault.azure.cn.evil.com", "/"), None);
    }
}
