//! The fake cloud as an HTTP proxy (`cargo xtask fake-azure --proxy`): any client that honours
//! `HTTPS_PROXY`/`HTTP_PROXY` (reqwest, Python requests and so the az CLI and the Python SDKs, curl, git's
//! `http.proxy`) reaches the fakes under the real Azure host names, on any port, with no DNS change.
//!
//! - `CONNECT host:port` for a host a fake serves ([`Router::serves_host`]: every mounted host, and the
//!   China / US Government names aliased to them) is answered `200`; the proxy then terminates TLS itself
//!   with a certificate for that host minted by the cloud's [`FakeCa`] and serves the tunnelled requests
//!   to the fake of that host. Clients verify TLS for real: they trust the CA file, nothing else changes.
//! - Absolute-form plain HTTP requests (`GET http://host/path`) are forwarded the same way.
//! - Any other host gets `502 Bad Gateway` with a message saying so: the proxy never reaches the network.
//! - Bodies and header reads are bounded by the same [`Limits`] as the front door.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let cloud = azflux_core::fake::FakeCloud::start().await;
//! let (addr, ca, _task) = cloud.serve_proxy(0).await?;
//! let client = reqwest::Client::builder()
//!     .proxy(reqwest::Proxy::all(format!("http://{addr}")).unwrap())
//!     .tls_certs_only([reqwest::Certificate::from_pem(ca.ca_pem().as_bytes()).unwrap()])
//!     .build()
//!     .unwrap();
//! let tenant = &cloud.sandbox().tenant_id;
//! let url = format!("https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration");
//! assert!(client.get(url).send().await.unwrap().status().is_success());
//! # Ok(()) }
//! ```

use super::ca::FakeCa;
use super::faults::FaultInjector;
use super::front::{Forwarder, json_response};
use super::limits::Limits;
use super::router::Router;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Binds the proxy on `127.0.0.1:port` (0 = any free port) and returns its address and the serving task.
pub async fn bind(
    port: u16,
    router: Arc<Router>,
    faults: Arc<FaultInjector>,
    ca: Arc<FakeCa>,
    limits: Limits,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let forwarder = Forwarder::new(router, faults, limits);
    let task = tokio::spawn(serve(listener, forwarder, ca));
    Ok((addr, task))
}

async fn serve(listener: TcpListener, forwarder: Forwarder, ca: Arc<FakeCa>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let forwarder = forwarder.clone();
        let ca = ca.clone();
        tokio::spawn(async move {
            let f = forwarder.clone();
            let service = service_fn(move |req| handle(req, f.clone(), ca.clone()));
            let _ = forwarder
                .http1()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

fn refuse(status: u16, code: &str, message: String) -> hyper::Response<Full<Bytes>> {
    json_response(
        status,
        serde_json::json!({"error": {"code": code, "message": message}}).to_string(),
    )
}

async fn handle(
    request: hyper::Request<hyper::body::Incoming>,
    forwarder: Forwarder,
    ca: Arc<FakeCa>,
) -> Result<hyper::Response<Full<Bytes>>, std::io::Error> {
    let Some(authority) = request.uri().authority().cloned() else {
        return Ok(refuse(
            400,
            "NotAProxyRequest",
            "This is the fake Azure cloud's HTTP proxy: send requests through it (HTTPS_PROXY / HTTP_PROXY = this address, or `curl -x`), not to it.".into(),
        ));
    };
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if !forwarder.router().serves_host(&host) {
        return Ok(refuse(
            502,
            "NoFakeForHost",
            format!(
                "The fake Azure cloud serves no host '{host}', and its proxy never forwards to the network. Hosts served: {}.",
                forwarder.router().hosts().join(", ")
            ),
        ));
    }
    if request.method() == hyper::Method::CONNECT {
        let port = authority.port_u16().unwrap_or(443);
        let config = match ca.server_config(&host) {
            Ok(c) => c,
            Err(e) => return Ok(refuse(502, "CertificateError", e)),
        };
        // What the fakes see as the host: the name, with the port when it is not the default.
        let meant = if port == 443 {
            host.clone()
        } else {
            format!("{host}:{port}")
        };
        tokio::spawn(async move {
            let Ok(upgraded) = hyper::upgrade::on(request).await else {
                return;
            };
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            let handshake = forwarder.limits.handshake_timeout;
            let Ok(Ok(tls)) =
                tokio::time::timeout(handshake, acceptor.accept(TokioIo::new(upgraded))).await
            else {
                return;
            };
            let f = forwarder.clone();
            let service = service_fn(move |req| {
                let (f, meant) = (f.clone(), meant.clone());
                async move { f.forward("https", Some(&meant), 502, req).await }
            });
            let _ = forwarder
                .http1()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
        return Ok(hyper::Response::new(Full::new(Bytes::new())));
    }
    match request.uri().scheme_str() {
        Some("http") => {
            let meant = authority.as_str().to_ascii_lowercase();
            forwarder.forward("http", Some(&meant), 502, request).await
        }
        _ => Ok(refuse(
            400,
            "UseConnect",
            "Send https:// requests through the proxy with CONNECT (clients do when HTTPS_PROXY is set).".into(),
        )),
    }
}
