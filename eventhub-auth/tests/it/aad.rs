//! AAD JWTs through a `TokenCredential`: the expiry comes from the JWT's `exp` claim, the credential's
//! `expires_on` is only a fallback; a JWT refresher keeps the Flux Secret (`token`, `address`) fresh.

use crate::support::{FakeCluster, FakeCredential, assert_never_expired, when_clock_reaches};
use azflux_core::clock::{Clock, ManualClock};
use eventhub_auth::wire::jwt_expiry;
use eventhub_auth::{
    AadTokenSource, EVENTHUBS_SCOPE, Error, Refresher, RefresherOptions, TokenKind, TokenSource,
};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;

const MIN: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn expiry_is_read_from_the_jwt_exp_claim() {
    let clock = ManualClock::at_epoch();
    let credential = Arc::new(FakeCredential::new(clock.clone(), 75 * MIN, 24 * HOUR));
    let source = AadTokenSource::new(credential.clone(), "fluxv2").unwrap();
    let issued = source.token().await.unwrap();
    assert_eq!(issued.expires_on, clock.now() + 75 * MIN);
    assert_eq!(issued.kind, TokenKind::Jwt);
    assert_eq!(issued.address, "fluxv2");
    assert_eq!(
        issued.token.expose_secret(),
        credential.issued.lock().unwrap()[0]
    );
    assert_eq!(
        issued.authorization().expose_secret(),
        format!("Bearer {}", issued.token.expose_secret())
    );
    assert_eq!(*credential.scopes.lock().unwrap(), [EVENTHUBS_SCOPE]);
    assert_eq!(EVENTHUBS_SCOPE, "https://eventhubs.azure.net/.default");
    assert_eq!(
        source.describe(),
        "aad:https://eventhubs.azure.net/.default@fluxv2"
    );
}

#[tokio::test]
async fn opaque_tokens_fall_back_to_expires_on() {
    let clock = ManualClock::at_epoch();
    let mut credential = FakeCredential::new(clock.clone(), 75 * MIN, 50 * MIN);
    credential.opaque = true;
    let source = AadTokenSource::new(Arc::new(credential), "fluxv2").unwrap();
    let issued = source.token().await.unwrap();
    assert_eq!(jwt_expiry(issued.token.expose_secret()), None);
    assert_eq!(issued.expires_on, clock.now() + 50 * MIN);
}

#[tokio::test]
async fn other_scopes_and_credential_failures() {
    let clock = ManualClock::at_epoch();
    let credential = Arc::new(FakeCredential::new(clock.clone(), HOUR, HOUR));
    let source = AadTokenSource::new(credential.clone(), "fluxv2")
        .unwrap()
        .with_scope("https://ns.servicebus.windows.net/.default");
    source.token().await.unwrap();
    assert_eq!(
        credential.scopes.lock().unwrap().last().unwrap(),
        "https://ns.servicebus.windows.net/.default"
    );

    *credential.fail.lock().unwrap() = true;
    let err = source.token().await.unwrap_err();
    assert!(matches!(err, Error::Credential { .. }));
    assert!(
        err.to_string()
            .contains("https://ns.servicebus.windows.net/.default"),
        "{err}"
    );
    assert!(
        err.to_string().contains("Azure Event Hubs Data Sender"),
        "{err}"
    );

    for bad in ["", "  ", "ns/hub"] {
        assert!(matches!(
            AadTokenSource::new(credential.clone(), bad),
            Err(Error::InvalidInput { .. })
        ));
    }
}

#[cfg(feature = "fake")]
#[tokio::test]
async fn aad_source_passes_the_token_source_contract() {
    let clock = ManualClock::at_epoch();
    let source = AadTokenSource::new(
        Arc::new(FakeCredential::new(clock.clone(), HOUR, HOUR)),
        "fluxv2",
    )
    .unwrap();
    eventhub_auth::contract::issues_valid_tokens(&source, &clock).await;
}

#[tokio::test]
async fn jwt_refresher_keeps_the_flux_secret_fresh_for_48_hours() {
    let clock = ManualClock::at_epoch();
    let start = clock.now();
    let end = start + 48 * HOUR;
    // AAD access tokens live 60–90 minutes; the credential claims a longer life that must be ignored
    let lifetime = 75 * MIN;
    let credential = Arc::new(FakeCredential::new(clock.clone(), lifetime, 24 * HOUR));
    let source = Arc::new(AadTokenSource::new(credential.clone(), "fluxv2").unwrap());
    let cluster = FakeCluster::new(clock.clone());
    let margin = 15 * MIN;
    let options = RefresherOptions {
        margin,
        jitter: Duration::ZERO,
        jitter_seed: Some(2),
        ..RefresherOptions::default()
    };
    let mut refresher = Refresher::new(
        source,
        Arc::new(cluster.sink("webhook-url", "flux-system")),
        Arc::new(clock.clone()),
        options,
    )
    .unwrap();

    let stats = refresher
        .run_until(when_clock_reaches(clock.clone(), end))
        .await;

    let applied = cluster.history();
    let history: Vec<_> = applied
        .iter()
        .map(|a| {
            assert_eq!(a.address, "fluxv2");
            assert_eq!(a.keys, ["address", "token"]);
            (a.at, jwt_expiry(&a.token).unwrap())
        })
        .collect();
    assert_never_expired(&history, end);
    let expected = (48 * HOUR)
        .as_secs()
        .div_ceil((lifetime - margin).as_secs());
    assert_eq!(stats.refreshes, expected);
    assert_eq!(credential.issued.lock().unwrap().len() as u64, expected);
    // each Secret holds the token the credential issued, in order
    let issued = credential.issued.lock().unwrap().clone();
    assert_eq!(
        applied.iter().map(|a| a.token.clone()).collect::<Vec<_>>(),
        issued
    );
}
