//! The front door of a served fake cloud (`cargo xtask fake-azure`): one port that takes plain HTTP or HTTPS
//! (with a certificate for every impersonated host name, signed by a CA generated at start) and forwards each
//! request to the fake serving its `Host` — or, for `localhost` / `127.0.0.1`, the fake serving its path.
//! So tools that insist on TLS (other languages' Azure SDKs, `az`) can use the fakes too.

use super::faults::{Fault, FaultInjector};
use super::router::{FORWARDED_HOST, Router};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
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

/// Generates a CA and a certificate for [`CERTIFICATE_NAMES`] and `127.0.0.1`.
pub fn generate_tls() -> Result<GeneratedTls, String> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let err = |e: rcgen::Error| format!("could not generate the fake cloud's certificate: {e}");
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "azflux fake cloud CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut names: Vec<String> = CERTIFICATE_NAMES.iter().map(|s| (*s).to_owned()).collect();
    names.push("127.0.0.1".into());
    let mut leaf_params = CertificateParams::new(names).map_err(err)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "azflux fake cloud");
    let leaf_key = KeyPair::generate().map_err(err)?;
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).map_err(err)?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let chain = vec![leaf.der().clone(), ca_cert.der().clone()];
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(GeneratedTls {
        ca_pem: ca_cert.pem(),
        config: Arc::new(config),
    })
}

/// Serves the front door on `listener` until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    router: Arc<Router>,
    faults: Arc<FaultInjector>,
    tls: Option<GeneratedTls>,
) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default();
    let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.config));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let router = router.clone();
        let faults = faults.clone();
        let client = client.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let scheme = if acceptor.is_some() { "https" } else { "http" };
            let service = service_fn(move |req| {
                proxy(scheme, req, router.clone(), faults.clone(), client.clone())
            });
            match acceptor {
                Some(acceptor) => {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(tls), service)
                            .await;
                    }
                }
                None => {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
            }
        });
    }
}

async fn proxy(
    scheme: &'static str,
    request: hyper::Request<hyper::body::Incoming>,
    router: Arc<Router>,
    faults: Arc<FaultInjector>,
    client: reqwest::Client,
) -> Result<hyper::Response<Full<Bytes>>, std::io::Error> {
    let host_with_port = request
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().host())
        .unwrap_or("localhost")
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
    let Some(backend) = router.resolve(&host, &path) else {
        let body = serde_json::json!({"error": {"code": "NoFakeForHost", "message": format!("no fake serves host '{host}' path '{path}'; routed hosts: {}", router.hosts().join(", "))}});
        return Ok(json_response(404, body.to_string()));
    };
    if let Some(Fault::Drop) = faults.take(&host, request.method().as_str(), &path, true) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected dropped connection",
        ));
    }
    let method = request.method().clone();
    let headers = request.headers().clone();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let url = format!("http://{backend}{path_and_query}");
    let mut forward = client.request(method, url).body(body);
    for (name, value) in headers.iter() {
        if name != "host" && name != "content-length" {
            forward = forward.header(name, value);
        }
    }
    forward = forward
        .header(FORWARDED_HOST, host_with_port.as_str())
        .header("x-forwarded-proto", scheme);
    let response = match forward.send().await {
        Ok(r) => r,
        Err(e) => {
            return Ok(json_response(
                502,
                format!("{{\"error\":{{\"code\":\"BadGateway\",\"message\":\"{e}\"}}}}"),
            ));
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

fn json_response(status: u16, body: String) -> hyper::Response<Full<Bytes>> {
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
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(serve(listener, router, faults, tls));
    Ok((addr, task))
}
