//! The `EventSink` against `FakeEventHubs` on the fake cloud: SAS and AAD round trips, every way a token is
//! refused (tampered, expired, another rule's key, no `Send` right, wrong audience, forged), unknown hubs,
//! throttling through the pipeline's retries, where tokens may go, and ARM `listKeys`.

use azflux_core::arm::{ArmClient, ArmClientOptions};
use azflux_core::fake::FakeCloud;
use azflux_core::fake::faults::{Fault, FaultMatch};
use eventhub_auth::fake::{FakeEventHubs, Right, Sender};
use eventhub_auth::sas::SasKey;
use eventhub_auth::{
    AadTokenSource, AccessKeys, AuthorizationRuleRef, ConnectionString, Error, EventHubsArm,
    EventSeverity, EventSink, EventSinkOptions, FluxEvent, IssuedToken, ObjectReference, TokenKind,
    TokenSource,
};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;

const NS: &str = "flux-events";
const HUB: &str = "fluxv2";
const RG: &str = "rg-flux";

struct World {
    cloud: FakeCloud,
    hubs: FakeEventHubs,
    send_rule: AccessKeys,
}

async fn world() -> World {
    let cloud = FakeCloud::start().await;
    let hubs = FakeEventHubs::mount(&cloud).await;
    hubs.add_namespace(RG, NS);
    hubs.add_hub(NS, HUB).unwrap();
    let send_rule = hubs
        .add_hub_rule(NS, HUB, "flux-send", &[Right::Send])
        .unwrap();
    World {
        cloud,
        hubs,
        send_rule,
    }
}

fn options(cloud: &FakeCloud) -> EventSinkOptions {
    EventSinkOptions {
        cloud: cloud.cloud(),
        http: cloud.http_options(),
        ..Default::default()
    }
}

fn event(cloud: &FakeCloud, message: &str) -> FluxEvent {
    FluxEvent::new(
        ObjectReference::new("Kustomization", "flux-system", "apps"),
        EventSeverity::Info,
        "ReconciliationSucceeded",
        message,
        "kustomize-controller",
        cloud.clock().now(),
    )
    .with_metadata("revision", "main@sha1:0123abc")
}

/// A source that hands out a fixed token (what a buggy or malicious source could do).
#[derive(Debug)]
struct Fixed(IssuedToken);

#[async_trait::async_trait]
impl TokenSource for Fixed {
    fn describe(&self) -> String {
        "fixed".into()
    }
    async fn token(&self) -> eventhub_auth::Result<IssuedToken> {
        Ok(self.0.clone())
    }
}

fn fixed(token: String, kind: TokenKind, cloud: &FakeCloud) -> Arc<dyn TokenSource> {
    Arc::new(Fixed(IssuedToken {
        token: SecretString::from(token),
        // claims to be valid for an hour: the fake, not the client, must catch what is wrong
        expires_on: cloud.clock().now() + Duration::from_secs(3600),
        address: HUB.into(),
        kind,
    }))
}

fn hub_uri() -> String {
    format!("https://{NS}.servicebus.windows.net/{HUB}")
}

/// Sends with `source`, expects a 401 whose message carries `detail`, and checks the token is nowhere in the
/// error.
async fn assert_refused(w: &World, source: Arc<dyn TokenSource>, detail: &str) {
    let token = source.token().await.unwrap();
    let sink = EventSink::new(NS, HUB, source, options(&w.cloud)).unwrap();
    let err = sink.send(&event(&w.cloud, "refused")).await.unwrap_err();
    let text = err.to_string();
    let debug = format!("{err:?}");
    assert!(
        matches!(err, Error::SendUnauthorized { .. }),
        "expected 401, got {err:?}"
    );
    assert!(text.contains(detail), "{text:?} should contain {detail:?}");
    assert!(
        text.contains(&format!("POST {NS}.servicebus.windows.net/{HUB}/messages")),
        "{text}"
    );
    let secret = token.token.expose_secret();
    let sig = secret.split("sig=").nth(1).unwrap_or(secret);
    for shown in [&text, &debug] {
        assert!(
            !shown.contains(secret),
            "the error shows the token: {shown}"
        );
        assert!(
            !shown.contains(sig),
            "the error shows the signature: {shown}"
        );
    }
    assert!(
        w.hubs.events(NS, HUB).is_empty(),
        "a refused event was stored"
    );
}

#[tokio::test]
async fn sas_round_trip_stores_the_flux_event() {
    let w = world().await;
    let cs = w.send_rule.primary().unwrap();
    assert_eq!(cs.entity_path(), Some(HUB));
    let sink = EventSink::from_connection_string(&cs, None, options(&w.cloud)).unwrap();
    assert_eq!(
        sink.url().as_str(),
        format!("{}/messages?timeout=60&api-version=2014-01", hub_uri())
    );
    let sent = event(&w.cloud, "Reconciliation finished in 2s");
    sink.send(&sent).await.unwrap();
    sink.send(&event(&w.cloud, "second")).await.unwrap();

    let stored = w.hubs.events(NS, HUB);
    assert_eq!(stored.len(), 2);
    assert_eq!(
        stored[0].flux_event().unwrap(),
        FluxEvent {
            timestamp: sent.timestamp.replace_nanosecond(0).unwrap(),
            ..sent.clone()
        }
    );
    assert_eq!(stored[0].body, sent.to_json().unwrap());
    assert_eq!(
        stored[0].sender,
        Sender::Sas {
            rule: "flux-send".into()
        }
    );
    assert_eq!(
        stored[0].content_type.as_deref(),
        Some("application/atom+xml;type=entry;charset=utf-8")
    );
    let json = stored[1].json().unwrap();
    assert_eq!(json["message"], "second");
    assert_eq!(json["involvedObject"]["kind"], "Kustomization");
    assert_eq!(json["reportingController"], "kustomize-controller");
    assert_eq!(w.cloud.request_count("eventhubs.send"), 2);
}

#[tokio::test]
async fn aad_round_trip_stores_the_event_with_the_principal() {
    let w = world().await;
    let credential = w.cloud.credential().unwrap();
    let source = AadTokenSource::new(credential, HUB).unwrap();
    let mut opts = options(&w.cloud);
    opts.partition_key = Some("apps".into());
    let sink = EventSink::new(NS, HUB, Arc::new(source), opts).unwrap();
    sink.send(&event(&w.cloud, "via Entra ID")).await.unwrap();
    let stored = w.hubs.events(NS, HUB);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].flux_event().unwrap().message, "via Entra ID");
    assert_eq!(
        stored[0].sender,
        Sender::Aad {
            object_id: w.cloud.sandbox().object_id.clone(),
            app_id: w.cloud.sandbox().client_id.clone(),
        }
    );
    assert_eq!(
        stored[0].broker_properties.as_deref(),
        Some(r#"{"PartitionKey":"apps"}"#)
    );
}

#[tokio::test]
async fn namespace_rule_and_secondary_key_reach_any_hub_and_tokens_are_reused() {
    let w = world().await;
    w.hubs.add_hub(NS, "audit").unwrap();
    let keys = w
        .hubs
        .add_namespace_rule(
            NS,
            "RootManageSharedAccessKey",
            &[Right::Manage, Right::Listen, Right::Send],
        )
        .unwrap();
    let cs = keys.secondary().unwrap();
    assert_eq!(cs.entity_path(), None);
    assert!(matches!(
        EventSink::from_connection_string(&cs, None, options(&w.cloud)),
        Err(Error::InvalidInput { .. })
    ));
    let sink = EventSink::from_connection_string(&cs, Some("audit"), options(&w.cloud)).unwrap();
    for i in 0..3 {
        sink.send(&event(&w.cloud, &format!("e{i}"))).await.unwrap();
    }
    assert_eq!(w.hubs.events(NS, "audit").len(), 3);
    assert!(w.hubs.events(NS, HUB).is_empty());
}

#[tokio::test]
async fn tampered_sas_token_is_refused() {
    let w = world().await;
    let cs = w.send_rule.primary().unwrap();
    let good = cs
        .sas_token_for(w.cloud.clock().as_ref(), Duration::from_secs(3600))
        .unwrap();
    // move the expiry an hour later without re-signing
    let good = good.secret().expose_secret().to_owned();
    let se: i64 = good
        .split("se=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let tampered = good.replace(&format!("se={se}"), &format!("se={}", se + 3600));
    assert_ne!(tampered, good);
    assert_refused(
        &w,
        fixed(tampered, TokenKind::Sas, &w.cloud),
        "InvalidSignature",
    )
    .await;
}

#[tokio::test]
async fn expired_sas_token_is_refused_on_the_services_clock() {
    let w = world().await;
    let key = w.send_rule.primary().unwrap().key().clone();
    let expired = key
        .sign(&hub_uri(), w.cloud.clock().now() - Duration::from_secs(5))
        .unwrap();
    assert_refused(
        &w,
        fixed(
            expired.secret().expose_secret().to_owned(),
            TokenKind::Sas,
            &w.cloud,
        ),
        "ExpiredToken: The token is expired",
    )
    .await;
}

#[tokio::test]
async fn token_signed_with_another_rules_key_is_refused() {
    let w = world().await;
    let other = w
        .hubs
        .add_hub_rule(NS, HUB, "other", &[Right::Send])
        .unwrap();
    // claims to be `flux-send` but is signed with `other`'s key
    let forged = SasKey::new("flux-send", other.primary_key.clone())
        .sign(&hub_uri(), w.cloud.clock().now() + Duration::from_secs(600))
        .unwrap();
    assert_refused(
        &w,
        fixed(
            forged.secret().expose_secret().to_owned(),
            TokenKind::Sas,
            &w.cloud,
        ),
        "InvalidSignature: The token has an invalid signature",
    )
    .await;
    // and the other rule's own token is accepted
    let cs = other.primary().unwrap();
    EventSink::from_connection_string(&cs, None, options(&w.cloud))
        .unwrap()
        .send(&event(&w.cloud, "ok"))
        .await
        .unwrap();
}

#[tokio::test]
async fn rule_without_send_right_is_refused() {
    let w = world().await;
    let listen = w
        .hubs
        .add_hub_rule(NS, HUB, "listen-only", &[Right::Listen])
        .unwrap();
    let source = eventhub_auth::SasTokenSource::from_connection_string(
        &listen.primary().unwrap(),
        Duration::from_secs(600),
        w.cloud.clock(),
    )
    .unwrap();
    assert_refused(&w, Arc::new(source), "'Send' claim(s) are required").await;
}

#[tokio::test]
async fn aad_token_for_another_audience_or_forged_is_refused() {
    let w = world().await;
    let sb = w.cloud.sandbox();
    let vault = w.cloud.entra().mint(
        &sb.tenant_id,
        &sb.client_id,
        &sb.object_id,
        "https://vault.azure.net",
    );
    assert_refused(
        &w,
        fixed(vault, TokenKind::Jwt, &w.cloud),
        "InvalidAudience: The token audience 'https://vault.azure.net'",
    )
    .await;

    let good = w.cloud.entra().mint(
        &sb.tenant_id,
        &sb.client_id,
        &sb.object_id,
        "https://eventhubs.azure.net",
    );
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[2] = "AAAA".repeat(11);
    assert_refused(
        &w,
        fixed(parts.join("."), TokenKind::Jwt, &w.cloud),
        "InvalidSignature",
    )
    .await;
}

#[tokio::test]
async fn unknown_hub_is_entity_not_found() {
    let w = world().await;
    let keys = w
        .hubs
        .add_namespace_rule(NS, "manage", &[Right::Manage])
        .unwrap();
    let sink = EventSink::from_connection_string(
        &keys.primary().unwrap(),
        Some("nope"),
        options(&w.cloud),
    )
    .unwrap();
    let err = sink.send(&event(&w.cloud, "x")).await.unwrap_err();
    match &err {
        Error::EntityNotFound {
            hub,
            namespace,
            detail,
        } => {
            assert_eq!(hub, "nope");
            assert_eq!(namespace, "flux-events.servicebus.windows.net");
            assert!(detail.contains("could not be found"), "{detail}");
        }
        other => panic!("expected EntityNotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn throttling_is_retried_then_surfaced() {
    let w = world().await;
    let cs = w.send_rule.primary().unwrap();
    let sink = EventSink::from_connection_string(&cs, None, options(&w.cloud)).unwrap();
    let at = FaultMatch::path(format!("/{HUB}/messages")).method("POST");
    w.cloud.faults().inject(at.clone(), Fault::throttle(2), 2);
    sink.send(&event(&w.cloud, "after two 429s")).await.unwrap();
    assert_eq!(w.cloud.request_count("eventhubs.send"), 3);
    assert_eq!(w.hubs.events(NS, HUB).len(), 1);

    w.cloud.faults().inject(at, Fault::server_error(503), 50);
    let err = sink.send(&event(&w.cloud, "never")).await.unwrap_err();
    assert!(
        matches!(err, Error::Throttled { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("after the retries"), "{err}");
    // the first attempt and the pipeline's 4 retries
    assert_eq!(w.cloud.request_count("eventhubs.send"), 3 + 5);
    assert_eq!(w.hubs.events(NS, HUB).len(), 1);
}

#[tokio::test]
async fn tokens_only_go_where_they_belong() {
    let w = world().await;
    let credential = w.cloud.credential().unwrap();
    let aad = Arc::new(AadTokenSource::new(credential, HUB).unwrap());
    let sink = EventSink::new("events.example.com", HUB, aad, options(&w.cloud)).unwrap();
    let err = sink.send(&event(&w.cloud, "x")).await.unwrap_err();
    assert!(
        matches!(err, Error::TokenHostRefused { token_kind: TokenKind::Jwt, ref host, .. } if host == "events.example.com"),
        "{err:?}"
    );
    // a SAS token for one hub is not sent to another
    let cs = w.send_rule.primary().unwrap();
    let sink = EventSink::from_connection_string(&cs, None, options(&w.cloud)).unwrap();
    let token = eventhub_auth::SasTokenSource::from_connection_string(
        &cs,
        Duration::from_secs(60),
        w.cloud.clock(),
    )
    .unwrap();
    let other = EventSink::new(NS, "audit", Arc::new(token), options(&w.cloud)).unwrap();
    let err = other.send(&event(&w.cloud, "x")).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::TokenHostRefused {
                token_kind: TokenKind::Sas,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("does not cover"), "{err}");
    assert_eq!(
        w.cloud.request_count("eventhubs.send"),
        0,
        "nothing was sent"
    );
    drop(sink);
}

#[tokio::test]
async fn arm_list_keys_gives_connection_strings_that_send() {
    let w = world().await;
    let ns_keys = w
        .hubs
        .add_namespace_rule(NS, "RootManageSharedAccessKey", &[Right::Manage])
        .unwrap();
    let arm = ArmClient::new(
        &w.cloud.cloud(),
        w.cloud.credential().unwrap(),
        ArmClientOptions {
            http: w.cloud.http_options(),
            ..Default::default()
        },
    );
    let client = EventHubsArm::new(arm);
    let sub = w.cloud.sandbox().subscription_id.clone();

    let hub_keys = client
        .list_keys(&AuthorizationRuleRef::hub_rule(
            &sub,
            RG,
            NS,
            HUB,
            "flux-send",
        ))
        .await
        .unwrap();
    assert_eq!(hub_keys.key_name, "flux-send");
    assert_eq!(
        hub_keys.primary_key.expose_secret(),
        w.send_rule.primary_key.expose_secret()
    );
    let cs: ConnectionString = hub_keys.primary().unwrap();
    assert_eq!(cs.namespace_host(), "flux-events.servicebus.windows.net");
    assert_eq!(cs.entity_path(), Some(HUB));
    assert!(!format!("{hub_keys:?}").contains(hub_keys.primary_key.expose_secret()));
    EventSink::from_connection_string(&cs, None, options(&w.cloud))
        .unwrap()
        .send(&event(&w.cloud, "with listKeys"))
        .await
        .unwrap();
    assert_eq!(w.hubs.events(NS, HUB).len(), 1);

    let root = client
        .list_keys(&AuthorizationRuleRef::namespace_rule(
            &sub,
            RG,
            NS,
            "RootManageSharedAccessKey",
        ))
        .await
        .unwrap();
    assert_eq!(root.primary().unwrap().entity_path(), None);
    assert_eq!(
        root.secondary_key.expose_secret(),
        ns_keys.secondary_key.expose_secret()
    );
    assert_eq!(w.cloud.request_count("eventhubs.hub.listkeys"), 1);
    assert_eq!(w.cloud.request_count("eventhubs.namespace.listkeys"), 1);

    let missing = client
        .list_keys(&AuthorizationRuleRef::hub_rule(&sub, RG, NS, HUB, "nope"))
        .await
        .unwrap_err();
    assert!(
        matches!(missing, Error::Azure(azflux_core::Error::NotFound(_))),
        "{missing:?}"
    );
    let wrong_rg = client
        .list_keys(&AuthorizationRuleRef::namespace_rule(
            &sub,
            "other-rg",
            NS,
            "RootManageSharedAccessKey",
        ))
        .await
        .unwrap_err();
    assert!(
        wrong_rg.to_string().contains("ResourceNotFound"),
        "{wrong_rg}"
    );
}
