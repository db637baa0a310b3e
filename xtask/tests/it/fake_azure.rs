//! `cargo xtask fake-azure --json` served to a tool no one here wrote: curl gets a token with the sandbox
//! client, over plain HTTP and over HTTPS trusting the printed CA.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Served {
    child: Child,
    description: serde_json::Value,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(extra: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("fake-azure")
        .arg("--json")
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start xtask fake-azure");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let description: serde_json::Value =
        serde_json::from_str(&line).expect("the first line is one JSON object");
    Served { child, description }
}

fn curl(args: &[String]) -> serde_json::Value {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl is installed");
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&out.stdout)))
}

fn token_form(d: &serde_json::Value) -> Vec<String> {
    vec![
        "--data-urlencode".into(),
        "grant_type=client_credentials".into(),
        "--data-urlencode".into(),
        format!("client_id={}", d["client_id"].as_str().unwrap()),
        "--data-urlencode".into(),
        format!("client_secret={}", d["client_secret"].as_str().unwrap()),
        "--data-urlencode".into(),
        "scope=https://management.azure.com/.default".into(),
    ]
}

#[test]
fn curl_gets_a_token_over_http() {
    let served = serve(&[]);
    let d = &served.description;
    for key in [
        "endpoint",
        "tenant_id",
        "client_id",
        "client_secret",
        "token_endpoint",
        "resource_manager",
    ] {
        assert!(d[key].is_string(), "{key} missing from {d}");
    }
    let mut args = token_form(d);
    args.push(d["token_endpoint"].as_str().unwrap().to_owned());
    let token = curl(&args);
    assert_eq!(token["token_type"], "Bearer");
    assert!(
        token["access_token"].as_str().unwrap().split('.').count() == 3,
        "JWT-shaped"
    );

    // A wrong secret gets the real AADSTS error body.
    let mut wrong = token_form(d);
    wrong[5] = "client_secret=wrong".into();
    wrong.push(d["token_endpoint"].as_str().unwrap().to_owned());
    let error = curl(&wrong);
    assert_eq!(error["error"], "invalid_client");
    assert_eq!(error["error_codes"][0], 7000215);
}

#[test]
fn curl_gets_a_token_over_https_with_the_printed_ca() {
    let served = serve(&["--https"]);
    let d = &served.description;
    let port = d["port"].as_u64().unwrap();
    let ca = d["ca_cert_file"]
        .as_str()
        .expect("--https prints the CA file")
        .to_owned();
    assert!(
        d["ca_cert_pem"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    let mut args = token_form(d);
    args.extend([
        "--cacert".into(),
        ca.clone(),
        "--resolve".into(),
        format!("login.microsoftonline.com:{port}:127.0.0.1"),
        format!(
            "https://login.microsoftonline.com:{port}/{}/oauth2/v2.0/token",
            d["tenant_id"].as_str().unwrap()
        ),
    ]);
    let token = curl(&args);
    assert!(token["access_token"].is_string(), "{token}");

    // Without the CA, TLS verification fails: the certificate is not a public one.
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "20",
            "--resolve",
            &format!("login.microsoftonline.com:{port}:127.0.0.1"),
        ])
        .arg(format!(
            "https://login.microsoftonline.com:{port}/x/oauth2/v2.0/token"
        ))
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn flux_install_downloads_release_artifacts_from_the_fake_cloud() {
    let served = serve(&[]);
    let endpoint = served.description["endpoint"].as_str().unwrap().to_owned();
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["flux", "install", "--export", "--release-url"])
        .arg(format!("{endpoint}/fluxcd/flux2/releases/download"))
        .arg("--cache-dir")
        .arg(cache.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("kind: Deployment") && stdout.contains("name: source-controller"),
        "{stdout}"
    );
    // The download was checksum-verified and cached.
    let cached: Vec<_> = walk(cache.path());
    assert!(
        cached.iter().any(|p| p.ends_with("manifests.tar.gz")),
        "{cached:?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn proxy_json_names_the_proxy_the_ca_the_principal_and_the_env() {
    let served = serve(&["--proxy"]);
    let d = &served.description;
    let proxy = d["proxy"].as_str().expect("proxy URL").to_owned();
    assert!(proxy.starts_with("http://127.0.0.1:"), "{proxy}");
    let ca = d["ca_file"].as_str().expect("ca_file").to_owned();
    assert!(
        std::fs::read_to_string(&ca)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    for key in ["tenant_id", "client_id", "client_secret"] {
        assert!(d["principal"][key].is_string(), "principal.{key}: {d}");
    }
    let env = d["env"].as_object().expect("env object");
    assert_eq!(env["HTTPS_PROXY"], proxy.as_str());
    assert_eq!(env["HTTP_PROXY"], proxy.as_str());
    assert_eq!(env["NO_PROXY"], "127.0.0.1,localhost");
    for key in [
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
        "CURL_CA_BUNDLE",
        "GIT_SSL_CAINFO",
    ] {
        assert_eq!(env[key], ca.as_str(), "{key}");
    }
    assert_eq!(env["AZURE_CORE_INSTANCE_DISCOVERY"], "false");
    assert!(
        !env.contains_key("AZURE_CLI_DISABLE_CONNECTION_VERIFICATION"),
        "TLS is verified"
    );

    // curl under exactly that environment reaches Entra ID and ARM under their real names.
    let tenant = d["principal"]["tenant_id"].as_str().unwrap();
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "20"])
        .args(token_form(d))
        .arg(format!(
            "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
        ));
    for (k, v) in env {
        cmd.env(k, v.as_str().unwrap());
    }
    let out = cmd.output().expect("curl is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let access = token["access_token"].as_str().expect("a token").to_owned();
    let sub = d["subscription_id"].as_str().unwrap();
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}"])
        .args(["-X", "PUT", "-H", "content-type: application/json"])
        .args(["-H", &format!("authorization: Bearer {access}")])
        .args(["-d", r#"{"location":"westeurope"}"#])
        .arg(format!(
            "https://management.azure.com/subscriptions/{sub}/resourceGroups/proxy-rg?api-version=2021-04-01"
        ));
    for (k, v) in env {
        cmd.env(k, v.as_str().unwrap());
    }
    let out = cmd.output().unwrap();
    let code = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(code == "201" || code == "200", "PUT resource group: {code}");

    // A host no fake serves: the proxy answers 502 and curl fails (nothing reaches the network).
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "20", "https://example.com/"]);
    for (k, v) in env {
        cmd.env(k, v.as_str().unwrap());
    }
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("502"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
