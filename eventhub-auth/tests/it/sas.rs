//! SAS known answers (expected values computed here from the documented algorithm, with HMAC-SHA256 in the
//! test itself) and verification: tampered, foreign and expired tokens are rejected.

use azflux_core::clock::{Clock, ManualClock};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use eventhub_auth::sas::{expiry_after, remaining_until};
use eventhub_auth::{
    ConnectionString, Error, ParsedSasToken, SasKey, SasTokenSource, SasVerifier, TokenKind,
    TokenSource,
};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// The documented algorithm, written independently of the crate: `url`'s form encoder (upper-case hex,
/// which matches the crate's encoder for the characters used here), HMAC keyed by the key's UTF-8 bytes.
fn documented_token(uri: &str, key_name: &str, key: &str, expiry: i64) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let sr = enc(uri);
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{sr}\n{expiry}").as_bytes());
    let sig = STANDARD.encode(mac.finalize().into_bytes());
    format!(
        "SharedAccessSignature sr={sr}&sig={}&se={expiry}&skn={key_name}",
        enc(&sig)
    )
}

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

const DOC_URI: &str = "https://my-namespace.servicebus.windows.net/my-hub";
const DOC_KEY: &str = "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=";

#[test]
fn known_answer_matches_documented_algorithm() {
    let key = SasKey::new("RootManageSharedAccessKey", SecretString::from(DOC_KEY));
    let token = key.sign(DOC_URI, at(1_735_689_600)).unwrap();
    let expected = documented_token(DOC_URI, "RootManageSharedAccessKey", DOC_KEY, 1_735_689_600);
    assert_eq!(token.secret().expose_secret(), expected);
    assert!(expected.starts_with(
        "SharedAccessSignature sr=https%3A%2F%2Fmy-namespace.servicebus.windows.net%2Fmy-hub&sig="
    ));
    assert!(expected.ends_with("&se=1735689600&skn=RootManageSharedAccessKey"));
    assert_eq!(token.expires_on(), at(1_735_689_600));
    assert_eq!(token.resource_uri(), DOC_URI);
}

#[test]
fn known_answers_over_several_inputs() {
    let cases = [
        (
            "https://ns-a.servicebus.windows.net/hub-1",
            "send",
            "c2VuZC1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=",
            1_767_225_600,
        ),
        (
            "https://ns-b.servicebus.windows.net/",
            "RootManageSharedAccessKey",
            "k+/=weird key",
            2_000_000_000,
        ),
        (
            "sb://ns-c.servicebus.chinacloudapi.cn/flux_v2",
            "listen.rule",
            "x",
            1,
        ),
    ];
    for (uri, name, key, expiry) in cases {
        let token = SasKey::new(name, SecretString::from(key))
            .sign(uri, at(expiry))
            .unwrap();
        assert_eq!(
            token.secret().expose_secret(),
            documented_token(uri, name, key, expiry),
            "{uri}"
        );
    }
}

#[test]
fn hmac_key_is_the_key_string_not_its_base64_decoding() {
    let token = SasKey::new("k", SecretString::from(DOC_KEY))
        .sign(DOC_URI, at(1_735_689_600))
        .unwrap();
    let decoded = STANDARD.decode(DOC_KEY).unwrap();
    let sr = url::form_urlencoded::byte_serialize(DOC_URI.as_bytes()).collect::<String>();
    let mut mac = Hmac::<Sha256>::new_from_slice(&decoded).unwrap();
    mac.update(format!("{sr}\n1735689600").as_bytes());
    let wrong_sig: String = url::form_urlencoded::byte_serialize(
        STANDARD.encode(mac.finalize().into_bytes()).as_bytes(),
    )
    .collect();
    assert!(!token.secret().expose_secret().contains(&wrong_sig));
}

#[test]
fn connection_string_signs_its_hub() {
    let cs = ConnectionString::parse(&format!(
        "Endpoint=sb://ns-1.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey={DOC_KEY};EntityPath=hub-a"
    ))
    .unwrap();
    let token = cs.sas_token(at(1_800_000_000)).unwrap();
    assert_eq!(
        token.secret().expose_secret(),
        documented_token(
            "https://ns-1.servicebus.windows.net/hub-a",
            "send",
            DOC_KEY,
            1_800_000_000
        )
    );
}

fn verifier() -> (SasKey, SasVerifier) {
    let key = SasKey::new("send", SecretString::from(DOC_KEY));
    (key.clone(), SasVerifier::new(key))
}

#[test]
fn verifier_accepts_a_valid_token_and_parses_it() {
    let (key, verifier) = verifier();
    let clock = ManualClock::at_epoch();
    let token = key
        .sign_for(DOC_URI, &clock, Duration::from_secs(3600))
        .unwrap();
    let parsed = verifier
        .verify_for(
            token.secret().expose_secret(),
            &format!("{DOC_URI}/messages"),
            &clock,
        )
        .unwrap();
    assert_eq!(parsed.resource_uri(), DOC_URI);
    assert_eq!(parsed.key_name(), "send");
    assert_eq!(parsed.expires_on(), clock.now() + Duration::from_secs(3600));
    // the prefix is optional for the parser; field order does not matter
    let body = token
        .secret()
        .expose_secret()
        .trim_start_matches("SharedAccessSignature ")
        .to_owned();
    let mut fields: Vec<&str> = body.split('&').collect();
    fields.reverse();
    assert!(verifier.verify(&fields.join("&"), &clock).is_ok());
}

#[test]
fn verifier_rejects_tampered_tokens() {
    let (key, verifier) = verifier();
    let clock = ManualClock::at_epoch();
    let good = key
        .sign_for(DOC_URI, &clock, Duration::from_secs(3600))
        .unwrap()
        .secret()
        .expose_secret()
        .to_owned();
    let se = (clock.now() + Duration::from_secs(3600)).unix_timestamp();

    // a later expiry, another hub, a flipped signature character
    let later = good.replace(&format!("se={se}"), &format!("se={}", se + 86_400));
    let other_hub = good.replace("my-hub", "other-hub");
    let sig_start = good.find("sig=").unwrap() + 4;
    let mut flipped = good.clone().into_bytes();
    flipped[sig_start] = if flipped[sig_start] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let flipped = String::from_utf8(flipped).unwrap();
    for tampered in [later, other_hub, flipped] {
        assert_ne!(tampered, good);
        let err = verifier.verify(&tampered, &clock).unwrap_err();
        assert!(matches!(err, Error::SignatureMismatch { .. }), "{err}");
    }

    // signed with another key of the same name
    let foreign = SasKey::new("send", SecretString::from("another-key"))
        .sign(DOC_URI, at(se))
        .unwrap();
    assert!(matches!(
        verifier.verify(foreign.secret().expose_secret(), &clock),
        Err(Error::SignatureMismatch { .. })
    ));

    // a different key name
    let renamed = good.replace("skn=send", "skn=listen");
    assert!(matches!(
        verifier.verify(&renamed, &clock),
        Err(Error::KeyNameMismatch { .. })
    ));

    // valid but for another resource
    let err = verifier
        .verify_for(
            &good,
            "https://my-namespace.servicebus.windows.net/my-hub2",
            &clock,
        )
        .unwrap_err();
    assert!(matches!(err, Error::ResourceMismatch { .. }), "{err}");
}

#[test]
fn verifier_rejects_malformed_tokens_without_echoing_the_signature() {
    let (_, verifier) = verifier();
    let clock = ManualClock::at_epoch();
    for (token, why) in [
        ("SharedAccessSignature sr=a&sig=b&se=1", "missing `skn`"),
        ("SharedAccessSignature sr=a&se=1&skn=send", "missing `sig`"),
        (
            "SharedAccessSignature sig=c2ln&se=1&skn=send",
            "missing `sr`",
        ),
        (
            "SharedAccessSignature sr=a&sig=c2ln&skn=send",
            "missing `se`",
        ),
        (
            "SharedAccessSignature sr=a&sig=c2ln&se=soon&skn=send",
            "`se` is not a number",
        ),
        (
            "SharedAccessSignature sr=a&sig=%%%&se=1&skn=send",
            "`sig` is not valid",
        ),
        (
            "SharedAccessSignature sr=a&sig=not*base64&se=1&skn=send",
            "`sig` is not base64",
        ),
        (
            "SharedAccessSignature sr=a&sig=c2ln&sig=c2ln&se=1&skn=send",
            "appears twice",
        ),
        ("Bearer eyJ", "no `=`"),
    ] {
        let err = verifier.verify(token, &clock).unwrap_err().to_string();
        assert!(err.contains(why), "{token}: {err}");
        assert!(!err.contains("c2ln"), "{err}");
    }
}

#[test]
fn verifier_rejects_expired_tokens_at_and_after_expiry() {
    let (key, verifier) = verifier();
    let clock = ManualClock::at_epoch();
    let token = key
        .sign_for(DOC_URI, &clock, Duration::from_secs(600))
        .unwrap();
    let t = token.secret().expose_secret();

    clock.advance(Duration::from_secs(599));
    assert!(verifier.verify(t, &clock).is_ok());
    assert_eq!(token.remaining(&clock), Duration::from_secs(1));
    clock.advance(Duration::from_secs(1));
    assert!(token.is_expired_at(clock.now()));
    assert_eq!(token.remaining(&clock), Duration::ZERO);
    match verifier.verify(t, &clock) {
        Err(Error::Expired { expired_at, now }) => {
            assert_eq!(expired_at, token.expires_on());
            assert_eq!(now, clock.now());
        }
        other => panic!("expected Expired, got {other:?}"),
    }
    clock.advance(Duration::from_secs(86_400));
    assert!(matches!(
        verifier.verify(t, &clock),
        Err(Error::Expired { .. })
    ));
}

#[test]
fn expiry_helpers() {
    let clock = ManualClock::at_epoch();
    let e = expiry_after(&clock, Duration::from_secs(90)).unwrap();
    assert_eq!(e - clock.now(), time::Duration::seconds(90));
    assert_eq!(remaining_until(e, clock.now()), Duration::from_secs(90));
    assert_eq!(remaining_until(clock.now(), e), Duration::ZERO);
}

#[tokio::test]
async fn sas_token_source_issues_verifiable_tokens_on_the_clock() {
    let clock = ManualClock::at_epoch();
    let cs = ConnectionString::parse(&format!(
        "Endpoint=sb://ns-1.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey={DOC_KEY};EntityPath=hub-a"
    ))
    .unwrap();
    let source = SasTokenSource::from_connection_string(
        &cs,
        Duration::from_secs(1800),
        Arc::new(clock.clone()),
    )
    .unwrap();
    #[cfg(feature = "fake")]
    eventhub_auth::contract::issues_valid_tokens(&source, &clock).await;
    let issued = source.token().await.unwrap();
    assert_eq!(issued.kind, TokenKind::Sas);
    assert_eq!(issued.address, "https://ns-1.servicebus.windows.net/hub-a");
    assert_eq!(issued.expires_on, clock.now() + Duration::from_secs(1800));
    assert_eq!(
        issued.authorization().expose_secret(),
        issued.token.expose_secret()
    );
    let parsed = SasVerifier::new(cs.key().clone())
        .verify(issued.token.expose_secret(), &clock)
        .unwrap();
    assert_eq!(parsed.resource_uri(), issued.address);
    assert_eq!(
        source.describe(),
        "sas:send@https://ns-1.servicebus.windows.net/hub-a"
    );
    assert!(
        SasTokenSource::new(
            cs.key().clone(),
            "https://x/",
            Duration::ZERO,
            Arc::new(clock)
        )
        .is_err()
    );
}

#[test]
fn parsed_token_exposes_facts_only() {
    let token = SasKey::new("send", SecretString::from(DOC_KEY))
        .sign(DOC_URI, at(1_900_000_000))
        .unwrap();
    let parsed = ParsedSasToken::parse(token.secret().expose_secret()).unwrap();
    assert_eq!(parsed.expires_on(), at(1_900_000_000));
    assert!(parsed.covers("sb://MY-NAMESPACE.servicebus.windows.net/my-hub/"));
}
