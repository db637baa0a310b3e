//! The front door of a served fake cloud (`cargo xtask fake-azure`): one port that takes plain HTTP or HTTPS
//! (with a certificate for every impersonated host name, signed by a CA generated at start) and forwards each
//! request to the fake serving its `Host` — or, for `localhost` / `127.0.0.1`, the fake serving its path.
//! So tools that insist on TLS (other languages' Azure SDKs, `az`) can use the fakes too. Request bodies and
//! header reads are bounded by [`Limits`]. The HTTPS proxy ([`super::proxy`]) forwards through the same code.

use super::faults::{Fault, FaultInjector};
use super::limits::Limits;
use super::router::{FORWARDED_HOST, Router};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The host names the generated certificate covers.
pub const CERTIFICATE_NAMES: &[&str] = &[
    "localhost",
    "management.azure.com",
    "login.microsoftonline.com",
    "login.windows.net",
    "*.vault.azure.net",
    "*.azurecr.io",
    "*.servicebus.windows.net",
    "dev.azure.com",
    "*.dev.azure.com",
    "*.visualstudio.com",
    "*.blob.core.windows.net",
];

/// A CA and a server certificate signed by it.
#[derive(Clone)]
pub struct GeneratedTls {
    /// PEM of the CA certificate clients should trust.
    pub ca_pem: String,
    /// The server configuration.
    pub config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for GeneratedTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedTls").finish_non_exhaustive()
    }
}

/// Generates a CA and one certificate for [`CERTIFICATE_NAMES`] and `127.0.0.1` (the front door serves every
/// host on one port, so one certificate names them all; the proxy mints one per host instead).
pub fn generate_tls() -> Result<GeneratedTls, String> {
    let ca = super::ca::FakeCa::generate()?;
    let mut names: Vec<String> = CERTIFICATE_NAMES.iter().map(|s| (*s).to_owned()).collect();
    names.push("127.0.0.1".into());
    let config = ca.server_config_for_names(names)?;
    Ok(GeneratedTls {
        ca_pem: ca.ca_pem().to_owned(),
        config,
    })
}

/// Serves the front door on `listener` until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    router: Arc<Router>,
    faults: Arc<FaultInjector>,
    tls: Option<GeneratedTls>,
    limits: Limits,
) {
    let forwarder = Forwarder::new(router, faults, limits);
    let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.config));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let forwarder = forwarder.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let scheme = if acceptor.is_some() { "https" } else { "http" };
            let f = forwarder.clone();
            let service = service_fn(move |req| {
                let f = f.clone();
                async move { f.forward(scheme, None, 404, req).await }
            });
            let http = forwarder.http1();
            match acceptor {
                Some(acceptor) => {
                    let handshake = forwarder.limits.handshake_timeout;
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(handshake, acceptor.accept(stream)).await
                    {
                        let _ = http.serve_connection(TokioIo::new(tls), service).await;
                    }
                }
                None => {
                    let _ = http.serve_connection(TokioIo::new(stream), service).await;
                }
            }
        });
    }
}

/// Forwards requests to the fake serving their host (shared by the front door and the proxy): applies the
/// body limits and injected connection drops, passes the host meant in `x-forwarded-host`.
#[derive(Debug, Clone)]
pub(crate) struct Forwarder {
    router: Arc<Router>,
    faults: Arc<FaultInjector>,
    client: reqwest::Client,
    pub(crate) limits: Arc<Limits>,
}

impl Forwarder {
    pub(crate) fn new(router: Arc<Router>, faults: Arc<FaultInjector>, limits: Limits) -> Self {
        Self {
            router,
            faults,
            client: super::router::loopback_client(),
            limits: Arc::new(limits),
        }
    }

    pub(crate) fn router(&self) -> &Router {
        &self.router
    }

    /// An HTTP/1.1 connection builder with the header read deadline.
    pub(crate) fn http1(&self) -> http1::Builder {
        let mut b = http1::Builder::new();
        b.timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_read_timeout);
        b
    }

    /// Forwards `request`. `authority` (the `host[:port]` a tunnel was opened to) overrides the `Host` header;
    /// a host no fake serves gets `unknown_status`.
    pub(crate) async fn forward(
        &self,
        scheme: &'static str,
        authority: Option<&str>,
        unknown_status: u16,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> Result<hyper::Response<Full<Bytes>>, std::io::Error> {
        let host_with_port = authority
            .map(str::to_owned)
            .or_else(|| {
                request
                    .headers()
                    .get("host")
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_owned)
            })
            .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()))
            .unwrap_or_else(|| "localhost".into())
            .to_ascii_lowercase();
        let host = host_with_port
            .split(':')
            .next()
            .unwrap_or("localhost")
            .to_owned();
        let path = request.uri().path().to_owned();
        let path_and_query = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let Some(backend) = self.router.resolve(&host, &path) else {
            let body = serde_json::json!({"error": {"code": "NoFakeForHost", "message": format!("no fake serves host '{host}' path '{path}'; routed hosts: {}", self.router.hosts().join(", "))}});
            return Ok(json_response(unknown_status, body.to_string()));
        };
        if let Some(Fault::Drop) = self
            .faults
            .take(&host, request.method().as_str(), &path, true)
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "injected dropped connection",
            ));
        }
        let limit = self.limits.body_limit(&host);
        let declared = request
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Ok(too_large(limit));
        }
        let method = request.method().clone();
        let headers = request.headers().clone();
        let body = match Limited::new(request.into_body(), limit).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                return Ok(too_large(limit));
            }
            Err(e) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("could not read the request body: {e}"),
                ));
            }
        };
        let url = format!("http://{backend}{path_and_query}");
        let mut forward = self.client.request(method, url).body(body);
        for (name, value) in headers.iter() {
            if name != "host" && name != "content-length" && !is_hop_by_hop(name.as_str()) {
                forward = forward.header(name, value);
            }
        }
        forward = forward
            .header(FORWARDED_HOST, host_with_port.as_str())
            .header("x-forwarded-proto", scheme);
        let response = match forward.send().await {
            Ok(r) => r,
            Err(e) => {
                let body =
                    serde_json::json!({"error": {"code": "BadGateway", "message": e.to_string()}});
                return Ok(json_response(502, body.to_string()));
            }
        };
        let mut out = hyper::Response::builder().status(response.status().as_u16());
        for (name, value) in response.headers() {
            if name != "transfer-encoding" && name != "content-length" && name != "connection" {
                out = out.header(name, value);
            }
        }
        let bytes = response.bytes().await.unwrap_or_default();
        out.body(Full::new(bytes))
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}

fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "proxy-connection"
            | "proxy-authorization"
            | "keep-alive"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

fn too_large(limit: usize) -> hyper::Response<Full<Bytes>> {
    let mut r = json_response(413, Limits::too_large_body(limit));
    // The rest of the body is not read: the connection cannot be reused.
    r.headers_mut().insert(
        "connection",
        hyper::header::HeaderValue::from_static("close"),
    );
    r
}

pub(crate) fn json_response(status: u16, body: String) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::NOT_FOUND);
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// Binds the front door on `127.0.0.1:port` (0 = any free port) and returns its address and the serving task.
pub async fn bind(
    port: u16,
    router: Arc<Router>,
    faults: Arc<FaultInjector>,
    tls: Option<GeneratedTls>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    bind_with(port, router, faults, tls, Limits::default()).await
}

/// [`bind`] with explicit [`Limits`].
pub async fn bind_with(
    port: u16,
    router: Arc<Router>,
    faults: Arc<FaultInjector>,
    tls: Option<GeneratedTls>,
    limits: Limits,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(serve(listener, router, faults, tls, limits));
    Ok((addr, task))
}
