//! The fake cloud as an HTTPS proxy: reqwest, curl and Python `requests` reach the fakes under the real
//! host names through `HTTPS_PROXY`, verifying TLS against the generated CA; unknown hosts get 502; bodies
//! over a service's cap get 413 without being read; slow headers are cut off.

use azflux_core::fake::FakeCloud;
use azflux_core::fake::ca::FakeCa;
use azflux_core::fake::limits::Limits;
use secrecy::ExposeSecret;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Proxied {
    cloud: FakeCloud,
    addr: SocketAddr,
    ca: Arc<FakeCa>,
    _dir: tempfile::TempDir,
    ca_file: PathBuf,
}

async fn proxied() -> Proxied {
    proxied_with(Limits::default()).await
}

async fn proxied_with(limits: Limits) -> Proxied {
    let cloud = FakeCloud::start().await;
    let (addr, ca, _task) = cloud.serve_proxy_with(0, limits).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.ca_pem()).unwrap();
    Proxied {
        cloud,
        addr,
        ca,
        _dir: dir,
        ca_file,
    }
}

fn client(p: &Proxied) -> reqwest::Client {
    reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(format!("http://{}", p.addr)).unwrap())
        .tls_certs_only([reqwest::Certificate::from_pem(p.ca.ca_pem().as_bytes()).unwrap()])
        .build()
        .unwrap()
}

fn token_form(p: &Proxied, scope: &str) -> Vec<(&'static str, String)> {
    let s = p.cloud.sandbox();
    vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", s.client_id.clone()),
        ("client_secret", s.client_secret.expose_secret().to_owned()),
        ("scope", scope.into()),
    ]
}

#[tokio::test]
async fn reqwest_discovers_the_authority_and_gets_a_token_through_the_proxy() {
    let p = proxied().await;
    let http = client(&p);
    let tenant = p.cloud.sandbox().tenant_id.clone();

    // MSAL's instance discovery names the tenant's discovery document on the host asked.
    let discovery: serde_json::Value = http
        .get("https://login.microsoftonline.com/common/discovery/instance")
        .query(&[
            ("api-version", "1.1"),
            (
                "authorization_endpoint",
                &format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize"),
            ),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tenant_doc = discovery["tenant_discovery_endpoint"].as_str().unwrap();
    assert_eq!(
        tenant_doc,
        format!("https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration")
    );
    let config: serde_json::Value = http
        .get(tenant_doc)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        config["issuer"],
        format!("https://login.microsoftonline.com/{tenant}/v2.0")
    );
    let token_endpoint = config["token_endpoint"].as_str().unwrap();
    assert_eq!(
        token_endpoint,
        format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")
    );

    // The az CLI's scope (double slash) gets a token ARM accepts.
    let token: serde_json::Value = http
        .post(token_endpoint)
        .form(&token_form(
            &p,
            "https://management.core.windows.net//.default",
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap();
    let claims = p
        .cloud
        .entra()
        .verify(access, "https://management.azure.com")
        .expect("ARM takes a management.core.windows.net token");
    assert_eq!(claims.aud, "https://management.core.windows.net");
    assert!(
        p.cloud
            .entra()
            .verify(access, "https://vault.azure.net")
            .is_err()
    );

    // An unknown tenant gets AADSTS90002 from the discovery document, as from Entra ID.
    let unknown = http
        .get("https://login.microsoftonline.com/00000000-0000-0000-0000-000000000bad/v2.0/.well-known/openid-configuration")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    let body: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(body["error"], "invalid_tenant");
    assert_eq!(body["error_codes"][0], 90002);

    // A foreign authorization endpoint is refused by instance discovery.
    let bad = http
        .get("https://login.microsoftonline.com/common/discovery/instance?api-version=1.1&authorization_endpoint=https://evil.example/x/oauth2/v2.0/authorize")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(p.ca.minted(), 1, "one certificate for the one host");
}

#[tokio::test]
async fn any_port_and_sovereign_hosts_are_served_and_the_certificate_is_per_host() {
    let p = proxied().await;
    let http = client(&p);
    let tenant = p.cloud.sandbox().tenant_id.clone();
    for url in [
        format!(
            "https://login.microsoftonline.com:8443/{tenant}/v2.0/.well-known/openid-configuration"
        ),
        format!("https://login.chinacloudapi.cn/{tenant}/v2.0/.well-known/openid-configuration"),
        format!("https://login.microsoftonline.us/{tenant}/v2.0/.well-known/openid-configuration"),
    ] {
        let r = http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        let config: serde_json::Value = r.json().await.unwrap();
        // The endpoints stay on the host (and port) the client asked.
        let origin = url.split(&format!("/{tenant}")).next().unwrap();
        assert_eq!(
            config["token_endpoint"],
            format!("{origin}/{tenant}/oauth2/v2.0/token")
        );
    }
    assert_eq!(p.ca.minted(), 3);
}

async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn unknown_hosts_get_502_and_never_reach_the_network() {
    let p = proxied().await;
    let answer = raw(
        p.addr,
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 502"), "{answer}");
    assert!(answer.contains("never forwards to the network"), "{answer}");
    // No tunnels to loopback ports either.
    let answer = raw(
        p.addr,
        b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 502"), "{answer}");
    // Plain HTTP through the proxy: the same rule.
    let answer = raw(
        p.addr,
        b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 502"), "{answer}");
    // A request to the proxy itself is told what the proxy is.
    let answer = raw(
        p.addr,
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(p.ca.minted(), 0);
}

#[tokio::test]
async fn plain_http_absolute_form_requests_are_forwarded() {
    let p = proxied().await;
    let http = reqwest::Client::builder()
        .proxy(reqwest::Proxy::http(format!("http://{}", p.addr)).unwrap())
        .build()
        .unwrap();
    let tenant = p.cloud.sandbox().tenant_id.clone();
    let config: serde_json::Value = http
        .get(format!(
            "http://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        config["token_endpoint"],
        format!("http://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")
    );
}

#[tokio::test]
async fn curl_uses_the_proxy_from_the_environment_and_checks_tls() {
    let p = proxied().await;
    let p = Arc::new(p);
    let tenant = p.cloud.sandbox().tenant_id.clone();
    let url = format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token");
    let s = p.cloud.sandbox();
    let run = |with_ca: bool| {
        let mut c = tokio::process::Command::new("curl");
        c.args(["-sS", "--max-time", "20", "-w", "\n%{http_code}"])
            .args(["--data-urlencode", "grant_type=client_credentials"])
            .args(["--data-urlencode", &format!("client_id={}", s.client_id)])
            .args([
                "--data-urlencode",
                &format!("client_secret={}", s.client_secret.expose_secret()),
            ])
            .args([
                "--data-urlencode",
                "scope=https://management.azure.com/.default",
            ])
            .arg(&url)
            .env("HTTPS_PROXY", format!("http://{}", p.addr))
            .env_remove("https_proxy")
            .env_remove("CURL_CA_BUNDLE")
            .env_remove("SSL_CERT_FILE");
        if with_ca {
            c.env("CURL_CA_BUNDLE", &p.ca_file);
        } else {
            // An empty trust store: the fake's certificates are not public ones.
            c.env("CURL_CA_BUNDLE", "/dev/null");
        }
        c.output()
    };
    let out = run(true).await.expect("curl is installed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (body, code) = text.rsplit_once('\n').unwrap();
    assert_eq!(code, "200", "{body}");
    let token: serde_json::Value = serde_json::from_str(body).unwrap();
    assert!(token["access_token"].is_string());
    let untrusted = run(false).await.unwrap();
    assert!(!untrusted.status.success(), "TLS is verified for real");
}

/// The Python that has `requests`: the foreign-client SDK venv (`AZFLUX_FOREIGN_VENV`, from
/// `xtask/tests/servers/ci-setup.sh`), else a `python3` that imports it. Under `CI` a missing one fails.
fn python_with_requests() -> Option<PathBuf> {
    let venv = std::env::var_os("AZFLUX_FOREIGN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/foreign-venv")
        });
    let candidates = [venv.join("sdk/bin/python"), PathBuf::from("python3")];
    candidates.into_iter().find(|p| {
        std::process::Command::new(p)
            .args(["-c", "import requests"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[tokio::test]
async fn python_requests_gets_a_token_through_https_proxy() {
    let Some(python) = python_with_requests() else {
        azflux_core::test_servers::missing(
            "a Python with requests (AZFLUX_FOREIGN_VENV)",
            "source xtask/tests/servers/ci-setup.sh",
        );
        return;
    };
    let p = proxied().await;
    let s = p.cloud.sandbox();
    let script = r#"
import os, requests
tenant = os.environ["T"]
d = requests.get(f"https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration", timeout=20).json()
r = requests.post(d["token_endpoint"], data={"grant_type": "client_credentials", "client_id": os.environ["C"],
    "client_secret": os.environ["S"], "scope": "https://vault.azure.net/.default"}, timeout=20)
r.raise_for_status()
print(r.json()["token_type"], len(r.json()["access_token"].split(".")))
try:
    requests.get("https://example.com/", timeout=20)
    print("reached")
except requests.exceptions.ProxyError as e:
    print("refused")
"#;
    let out = tokio::process::Command::new(python)
        .args(["-c", script])
        .env("T", &s.tenant_id)
        .env("C", &s.client_id)
        .env("S", s.client_secret.expose_secret())
        .env("HTTPS_PROXY", format!("http://{}", p.addr))
        .env("REQUESTS_CA_BUNDLE", &p.ca_file)
        .env_remove("https_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "Bearer 3\nrefused");
}

#[tokio::test]
async fn bodies_over_the_cap_get_413_without_being_read() {
    let p = proxied_with(Limits {
        default: 1024,
        ..Limits::default()
    })
    .await;
    let http = client(&p);
    let tenant = p.cloud.sandbox().tenant_id.clone();
    let url = format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token");
    // Declared too large: refused from Content-Length.
    let r = http.post(&url).body(vec![b'a'; 4096]).send().await.unwrap();
    assert_eq!(r.status(), 413);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RequestEntityTooLarge");
    // Streamed (chunked, no length) past the cap: refused once the cap is passed.
    let chunks = futures::stream::iter(
        (0..64).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'a'; 256]))),
    );
    let r = http
        .post(&url)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(p.cloud.request_count("entra.token"), 0, "no fake saw them");
    // Under the cap the request goes through.
    let r = http
        .post(&url)
        .form(&token_form(&p, "https://management.azure.com/.default"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    let p = proxied_with(Limits {
        header_read_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let mut s = tokio::net::TcpStream::connect(p.addr).await.unwrap();
    s.write_all(b"GET http://login.microsoftonline.com/ HTTP/1.1\r\nHost: login")
        .await
        .unwrap();
    // The rest never comes: the proxy closes the connection (a 408 at most), well before our patience ends.
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the connection was not closed");
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}
