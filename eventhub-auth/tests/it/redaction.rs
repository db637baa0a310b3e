//! `Debug` of every type holding a key or token is redacted, and so are error messages.

use crate::support::{FakeCluster, FakeCredential};
use azflux_core::clock::ManualClock;
use eventhub_auth::{
    AadTokenSource, ConnectionString, FileSink, KubeSecret, ParsedSasToken, ProviderWiring,
    Refresher, RefresherOptions, SasKey, SasTokenSource, SasVerifier, TokenFormat, TokenSource,
    WriterSink,
};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "cmVkYWN0aW9uLXRlc3Qta2V5LTAxMjM0NTY3ODlhYmNkZWY=";

fn assert_redacted(what: &str, debug: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!debug.contains(s), "{what} Debug leaks a secret: {debug}");
    }
    assert!(
        debug.contains("REDACTED") || debug.contains("keys"),
        "{what} Debug shows no redaction marker: {debug}"
    );
}

#[tokio::test]
async fn debug_of_every_secret_holding_type_is_redacted() {
    let clock = ManualClock::at_epoch();
    let raw = format!(
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey={KEY};EntityPath=hub"
    );
    let cs = ConnectionString::parse(&raw).unwrap();
    let key = SasKey::new("send", SecretString::from(KEY));
    let token = key
        .sign_for(
            "https://ns.servicebus.windows.net/hub",
            &clock,
            Duration::from_secs(60),
        )
        .unwrap();
    let t = token.secret().expose_secret().to_owned();
    let sig = t
        .split("sig=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let secrets = [KEY, raw.as_str(), t.as_str(), sig.as_str()];

    assert_redacted("SasKey", &format!("{key:?}"), &secrets);
    assert_redacted("ConnectionString", &format!("{cs:?}"), &secrets);
    assert_redacted("SasToken", &format!("{token:?}"), &secrets);
    assert_redacted(
        "ParsedSasToken",
        &format!("{:?}", ParsedSasToken::parse(&t).unwrap()),
        &secrets,
    );
    assert_redacted(
        "SasVerifier",
        &format!("{:?}", SasVerifier::new(key.clone())),
        &secrets,
    );
    let source = SasTokenSource::from_connection_string(
        &cs,
        Duration::from_secs(60),
        Arc::new(clock.clone()),
    )
    .unwrap();
    assert_redacted("SasTokenSource", &format!("{source:?}"), &secrets);
    let issued = source.token().await.unwrap();
    let issued_token = issued.token.expose_secret().to_owned();
    assert_redacted("IssuedToken", &format!("{issued:?}"), &[&issued_token, KEY]);

    let wiring = ProviderWiring::sas("eventhub", "flux-system", "eventhub-sas", &cs).unwrap();
    assert_redacted("ProviderWiring", &format!("{wiring:?}"), &secrets);
    let secret = KubeSecret::new("s", "n").with("token", SecretString::from(issued_token.clone()));
    assert_redacted("KubeSecret", &format!("{secret:?}"), &[&issued_token]);

    let credential = Arc::new(FakeCredential::new(
        clock.clone(),
        Duration::from_secs(3600),
        Duration::from_secs(3600),
    ));
    let aad = AadTokenSource::new(credential.clone(), "fluxv2").unwrap();
    let jwt = aad.token().await.unwrap();
    let jwt_text = jwt.token.expose_secret().to_owned();
    assert!(!format!("{aad:?}").contains(&jwt_text));
    assert_redacted("IssuedToken(jwt)", &format!("{jwt:?}"), &[&jwt_text]);
    assert!(!format!("{:?}", jwt.authorization()).contains(&jwt_text));

    let cluster = FakeCluster::new(clock.clone());
    let sink = cluster.sink("webhook-url", "flux-system");
    let refresher = Refresher::new(
        Arc::new(source),
        Arc::new(sink.clone()),
        Arc::new(clock.clone()),
        RefresherOptions::default(),
    )
    .unwrap();
    let dbg = format!(
        "{refresher:?} {sink:?} {:?} {:?}",
        FileSink::new("/tmp/t", TokenFormat::Json),
        WriterSink::stdout(TokenFormat::Json)
    );
    for s in secrets {
        assert!(!dbg.contains(s), "{dbg}");
    }
}

#[test]
fn errors_never_contain_the_key() {
    let inputs = [
        format!("Endpoint=sb://ns/;SharedAccessKeyName=send;SharedAccessKey={KEY};Oops"),
        format!("SharedAccessKeyName=send;SharedAccessKey={KEY}"),
        format!("Endpoint=::;SharedAccessKeyName=send;SharedAccessKey={KEY}"),
        format!(
            "Endpoint=sb://ns/;SharedAccessKey={KEY};SharedAccessSignature=SharedAccessSignature sr=a"
        ),
    ];
    for input in inputs {
        let err = ConnectionString::parse(&input).unwrap_err();
        assert!(!format!("{err} {err:?}").contains(KEY), "{err:?}");
    }
}
