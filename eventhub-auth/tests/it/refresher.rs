//! The refresher on a `ManualClock`: 48 simulated hours, outages of the token source and of the sink, the
//! alarm when a token is about to lapse, and a TRACE-level log capture free of secrets.

use crate::support::{
    Applied, FakeCluster, Flaky, LogCapture, assert_never_expired, when_clock_reaches,
};
use azflux_core::clock::{Clock, ManualClock};
use eventhub_auth::{
    ConnectionString, Error, ParsedSasToken, Refresher, RefresherOptions, SasKey, SasTokenSource,
    SasVerifier, Tick, TokenSource,
};
use secrecy::SecretString;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use time::OffsetDateTime;

const KEY: &str = "cmVmcmVzaGVyLXRlc3Qta2V5LW5vdC1hLXJlYWwtb25lLTAwMDA=";
const HUB_URI: &str = "https://ns-r.servicebus.windows.net/hub-r";
const MIN: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

fn key() -> SasKey {
    SasKey::new("send", SecretString::from(KEY))
}

fn sas_source(clock: &ManualClock, ttl: Duration) -> Arc<dyn TokenSource> {
    Arc::new(SasTokenSource::new(key(), HUB_URI, ttl, Arc::new(clock.clone())).unwrap())
}

fn options(margin: Duration, jitter: Duration, seed: u64) -> RefresherOptions {
    RefresherOptions {
        margin,
        jitter,
        initial_backoff: Duration::from_secs(5),
        max_backoff: 5 * MIN,
        alarm_before: 10 * MIN,
        jitter_seed: Some(seed),
    }
}

/// (written at, expiry read back from the written SAS token); also checks each token verifies at its write.
fn sas_history(applied: &[Applied]) -> Vec<(OffsetDateTime, OffsetDateTime)> {
    let verifier = SasVerifier::new(key());
    applied
        .iter()
        .map(|a| {
            assert_eq!(a.address, HUB_URI);
            assert_eq!(a.keys, ["address", "token"]);
            let parsed = verifier
                .verify_for(&a.token, HUB_URI, &ManualClock::new(a.at))
                .unwrap();
            (
                a.at,
                ParsedSasToken::parse(&a.token)
                    .unwrap()
                    .expires_on()
                    .max(parsed.expires_on()),
            )
        })
        .collect()
}

fn ceil_div(a: Duration, b: Duration) -> u64 {
    a.as_secs().div_ceil(b.as_secs())
}

#[tokio::test]
async fn refreshes_before_expiry_for_48_simulated_hours() {
    let clock = ManualClock::at_epoch();
    let start = clock.now();
    let end = start + 48 * HOUR;
    let (ttl, margin) = (HOUR, 10 * MIN);
    let cluster = FakeCluster::new(clock.clone());
    let mut refresher = Refresher::new(
        sas_source(&clock, ttl),
        Arc::new(cluster.sink("webhook-url", "flux-system")),
        Arc::new(clock.clone()),
        options(margin, Duration::ZERO, 1),
    )
    .unwrap();

    let stats = refresher
        .run_until(when_clock_reaches(clock.clone(), end))
        .await;

    let history = sas_history(&cluster.history());
    assert_never_expired(&history, end);
    // one refresh at start, then one every ttl - margin, for as long as that is before the end
    let expected = ceil_div(48 * HOUR, ttl - margin);
    assert_eq!(expected, 58);
    assert_eq!(history.len() as u64, expected);
    assert_eq!(stats.refreshes, expected);
    assert_eq!(stats.failures, 0);
    assert!(
        clock.sleeps().iter().all(|s| *s == ttl - margin),
        "{:?}",
        clock.sleeps()
    );
    assert!(clock.now() >= end);
}

#[tokio::test]
async fn jitter_spreads_refreshes_within_the_margin() {
    let clock = ManualClock::at_epoch();
    let start = clock.now();
    let end = start + 48 * HOUR;
    let (ttl, margin, jitter) = (HOUR, 10 * MIN, 5 * MIN);
    let cluster = FakeCluster::new(clock.clone());
    let mut refresher = Refresher::new(
        sas_source(&clock, ttl),
        Arc::new(cluster.sink("webhook-url", "flux-system")),
        Arc::new(clock.clone()),
        options(margin, jitter, 7),
    )
    .unwrap();

    let stats = refresher
        .run_until(when_clock_reaches(clock.clone(), end))
        .await;

    let history = sas_history(&cluster.history());
    assert_never_expired(&history, end);
    let gaps: Vec<Duration> = history
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).try_into().unwrap())
        .collect();
    assert!(
        gaps.iter()
            .all(|g| *g >= ttl - margin - jitter && *g <= ttl - margin),
        "{gaps:?}"
    );
    assert!(
        gaps.iter().any(|g| *g != gaps[0]),
        "jitter had no effect: {gaps:?}"
    );
    let (fewest, most) = (
        ceil_div(48 * HOUR, ttl - margin),
        ceil_div(48 * HOUR, ttl - margin - jitter),
    );
    assert!(
        (fewest..=most).contains(&stats.refreshes),
        "{} not in {fewest}..={most}",
        stats.refreshes
    );
}

#[tokio::test]
async fn one_hour_source_outage_never_leaves_an_expired_secret() {
    let clock = ManualClock::at_epoch();
    let start = clock.now();
    let end = start + 12 * HOUR;
    let (ttl, margin) = (4 * HOUR, 90 * MIN);
    // the outage starts exactly when the first refresh is due
    let (outage_from, outage_until) = (start + (ttl - margin), start + (ttl - margin) + HOUR);
    let flaky = Arc::new(Flaky::new(
        sas_source(&clock, ttl),
        clock.clone(),
        outage_from,
        outage_until,
    ));
    let cluster = FakeCluster::new(clock.clone());
    let opts = options(margin, Duration::ZERO, 3);
    let mut refresher = Refresher::new(
        flaky.clone(),
        Arc::new(cluster.sink("webhook-url", "flux-system")),
        Arc::new(clock.clone()),
        opts.clone(),
    )
    .unwrap();

    let mut retries = 0;
    let mut sleeps_during_outage = Vec::new();
    while clock.now() < end {
        // no tick may raise: the token in the Secret stays valid throughout
        match refresher.tick().await.unwrap() {
            Tick::RetryScheduled {
                current_expires_on, ..
            } => {
                retries += 1;
                assert_eq!(current_expires_on, start + ttl);
            }
            Tick::Refreshed { .. } | Tick::NotDue { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
        let wait = refresher.until_next();
        if clock.now() >= outage_from && clock.now() < outage_until {
            sleeps_during_outage.push(wait);
        }
        clock.sleep(wait).await;
    }

    let applied = cluster.history();
    let history = sas_history(&applied);
    assert_never_expired(&history, end);
    assert!(
        applied
            .iter()
            .all(|a| a.at < outage_from || a.at >= outage_until),
        "wrote during the outage"
    );
    let failed = flaky.failed_calls.load(Ordering::SeqCst);
    assert!(
        failed >= 2,
        "the outage was not exercised: {failed} failed call(s)"
    );
    assert_eq!(retries, failed);
    // capped exponential backoff: never waits longer than max_backoff, so not too few retries either
    assert!(
        sleeps_during_outage.iter().all(|s| *s <= opts.max_backoff),
        "{sleeps_during_outage:?}"
    );
    assert!(
        failed >= HOUR.as_secs() / opts.max_backoff.as_secs(),
        "{failed}"
    );
    // the first write after the outage comes within one backoff of its end
    let recovered = applied.iter().find(|a| a.at >= outage_until).unwrap().at;
    assert!(
        recovered - outage_until <= opts.max_backoff,
        "recovered at {recovered}"
    );
    assert_eq!(refresher.stats().failures, failed);
    assert_eq!(refresher.stats().consecutive_failures, 0);
}

#[tokio::test]
async fn a_long_outage_raises_only_when_the_token_is_about_to_expire() {
    let clock = ManualClock::at_epoch();
    let start = clock.now();
    let (ttl, margin) = (4 * HOUR, 90 * MIN);
    let (outage_from, outage_until) = (start + (ttl - margin), start + (ttl - margin) + 3 * HOUR);
    let flaky = Arc::new(Flaky::new(
        sas_source(&clock, ttl),
        clock.clone(),
        outage_from,
        outage_until,
    ));
    let cluster = FakeCluster::new(clock.clone());
    let opts = options(margin, Duration::ZERO, 5);
    let mut refresher = Refresher::new(
        flaky.clone(),
        Arc::new(cluster.sink("webhook-url", "flux-system")),
        Arc::new(clock.clone()),
        opts.clone(),
    )
    .unwrap();
    let first_expiry = start + ttl;

    let mut first_raise = None;
    while clock.now() < outage_until + HOUR {
        let now = clock.now();
        match refresher.tick().await {
            Ok(_) => assert!(
                now >= outage_until || first_expiry - now > opts.alarm_before,
                "a failure inside the alarm window at {now} was not raised"
            ),
            Err(Error::RefreshFailing {
                failures, state, ..
            }) => {
                assert!(
                    first_expiry - now <= opts.alarm_before,
                    "raised too early at {now}"
                );
                assert!(failures >= 2);
                assert!(
                    state.contains(if now < first_expiry {
                        "expires at"
                    } else {
                        "expired at"
                    }),
                    "{state}"
                );
                first_raise.get_or_insert(now);
            }
            Err(other) => panic!("unexpected error {other}"),
        }
        clock.sleep(refresher.until_next()).await;
    }

    let first_raise = first_raise.expect("the refresher never raised");
    assert!(first_expiry - first_raise <= opts.alarm_before);
    assert!(
        first_expiry - first_raise > opts.alarm_before - opts.max_backoff,
        "raised late at {first_raise}"
    );
    let applied = cluster.history();
    assert!(
        applied
            .iter()
            .all(|a| a.at < outage_from || a.at >= outage_until),
        "wrote during the outage"
    );
    assert!(
        applied.last().unwrap().at >= outage_until,
        "did not recover after the outage"
    );
    assert!(applied.last().unwrap().at - outage_until <= opts.max_backoff);
}

#[tokio::test]
async fn failing_sink_keeps_the_previous_secret_and_retries() {
    let clock = ManualClock::at_epoch();
    let start = clock.now();
    let end = start + 24 * HOUR;
    let (ttl, margin) = (2 * HOUR, 60 * MIN);
    let cluster = FakeCluster::new(clock.clone());
    cluster.fail_between(start + 50 * MIN, start + 90 * MIN);
    let mut refresher = Refresher::new(
        sas_source(&clock, ttl),
        Arc::new(cluster.sink("webhook-url", "flux-system")),
        Arc::new(clock.clone()),
        options(margin, 5 * MIN, 11),
    )
    .unwrap();

    let stats = refresher
        .run_until(when_clock_reaches(clock.clone(), end))
        .await;

    assert!(cluster.failed_applies.load(Ordering::SeqCst) >= 2);
    assert_eq!(
        stats.failures,
        cluster.failed_applies.load(Ordering::SeqCst)
    );
    assert_never_expired(&sas_history(&cluster.history()), end);
}

#[tokio::test]
async fn first_failure_without_any_token_is_raised_at_once() {
    let clock = ManualClock::at_epoch();
    let start = clock.now();
    let flaky = Arc::new(Flaky::new(
        sas_source(&clock, HOUR),
        clock.clone(),
        start,
        start + 10 * MIN,
    ));
    let cluster = FakeCluster::new(clock.clone());
    let mut refresher = Refresher::new(
        flaky,
        Arc::new(cluster.sink("webhook-url", "flux-system")),
        Arc::new(clock.clone()),
        options(10 * MIN, Duration::ZERO, 1),
    )
    .unwrap();
    match refresher.tick().await {
        Err(Error::RefreshFailing {
            state, failures: 1, ..
        }) => assert_eq!(state, "was never written"),
        other => panic!("expected RefreshFailing, got {other:?}"),
    }
    // not due again before the backoff
    assert!(matches!(refresher.tick().await, Ok(Tick::NotDue { .. })));
    assert!(cluster.history().is_empty());
}

#[tokio::test]
async fn rejects_options_that_could_let_a_token_lapse() {
    let clock = ManualClock::at_epoch();
    let cluster = FakeCluster::new(clock.clone());
    let bad = [
        RefresherOptions {
            max_backoff: 30 * MIN,
            ..RefresherOptions::default()
        },
        RefresherOptions {
            initial_backoff: Duration::ZERO,
            ..RefresherOptions::default()
        },
        RefresherOptions {
            initial_backoff: 10 * MIN,
            max_backoff: MIN,
            ..RefresherOptions::default()
        },
    ];
    for opts in bad {
        let r = Refresher::new(
            sas_source(&clock, HOUR),
            Arc::new(cluster.sink("s", "n")),
            Arc::new(clock.clone()),
            opts,
        );
        assert!(matches!(r, Err(Error::InvalidInput { .. })));
    }
}

#[tokio::test]
async fn source_returning_expired_tokens_is_a_failure_not_a_write() {
    let clock = ManualClock::at_epoch();
    // a 1-second SAS token, read after the source's clock already moved past it
    let skewed = ManualClock::new(clock.now() - HOUR);
    let source = sas_source(&skewed, Duration::from_secs(1));
    let cluster = FakeCluster::new(clock.clone());
    let mut refresher = Refresher::new(
        source,
        Arc::new(cluster.sink("s", "n")),
        Arc::new(clock.clone()),
        options(10 * MIN, Duration::ZERO, 1),
    )
    .unwrap();
    let err = refresher.tick().await.unwrap_err();
    assert!(
        matches!(&err, Error::RefreshFailing { source, .. } if matches!(**source, Error::IssuedExpired { .. })),
        "{err:?}"
    );
    assert!(cluster.history().is_empty());
}

#[tokio::test]
async fn trace_log_of_a_whole_run_contains_no_secret() {
    let logs = LogCapture::global();

    let clock = ManualClock::at_epoch();
    let start = clock.now();
    let end = start + 48 * HOUR;
    let raw_cs = format!(
        "Endpoint=sb://ns-r.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey={KEY};EntityPath=hub-r"
    );
    let cs = ConnectionString::parse(&raw_cs).unwrap();
    let inner: Arc<dyn TokenSource> = Arc::new(
        SasTokenSource::from_connection_string(&cs, 2 * HOUR, Arc::new(clock.clone())).unwrap(),
    );
    let flaky = Arc::new(Flaky::new(
        inner,
        clock.clone(),
        start + 5 * HOUR,
        start + 6 * HOUR,
    ));
    let cluster = FakeCluster::new(clock.clone());
    cluster.fail_between(start + 20 * HOUR, start + 20 * HOUR + 20 * MIN);
    let mut refresher = Refresher::new(
        flaky,
        Arc::new(cluster.sink("webhook-url", "flux-system")),
        Arc::new(clock.clone()),
        options(70 * MIN, 5 * MIN, 13),
    )
    .unwrap();
    tracing::debug!(
        ?refresher,
        ?cs,
        "test: the refresher and the connection string, by Debug"
    );

    let stats = refresher
        .run_until(when_clock_reaches(clock.clone(), end))
        .await;

    let text = logs.text_of_this_thread();
    let applied = cluster.history();
    assert!(stats.refreshes >= 20 && stats.failures >= 2, "{stats:?}");
    assert_eq!(applied.len() as u64, stats.refreshes);
    // the capture really holds the run, at every level used
    for needle in [
        "TRACE",
        "DEBUG",
        " INFO",
        " WARN",
        "wrote refreshed Event Hubs token",
        "token source answered",
        "retrying",
    ] {
        assert!(text.contains(needle), "log lacks {needle:?}");
    }
    // and none of the secrets
    assert!(!text.contains(KEY));
    assert!(!text.contains(&raw_cs));
    for a in &applied {
        assert!(!text.contains(&a.token), "a token reached the log");
        let sig = a
            .token
            .split("sig=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        assert!(!text.contains(sig), "a signature reached the log");
    }
}

#[tokio::test]
async fn huge_margins_are_refused_not_a_panic() {
    let clock = ManualClock::at_epoch();
    let cluster = FakeCluster::new(clock.clone());
    for (margin, jitter) in [
        (HOUR, Duration::MAX),
        (Duration::MAX / 2, Duration::MAX / 2 + HOUR),
    ] {
        let r = Refresher::new(
            sas_source(&clock, HOUR),
            Arc::new(cluster.sink("s", "n")),
            Arc::new(clock.clone()),
            RefresherOptions {
                margin,
                jitter,
                ..RefresherOptions::default()
            },
        );
        // Without the check, the first tick overflowed `margin + jitter` (or the next attempt's time).
        if let Ok(mut r) = r {
            let _ = r.tick().await;
            panic!("accepted margin {margin:?} and jitter {jitter:?}");
        }
        let Err(e) = r else { unreachable!() };
        assert!(matches!(e, Error::InvalidInput { .. }), "{e}");
        assert!(e.to_string().contains("margin"), "{e}");
    }
}
