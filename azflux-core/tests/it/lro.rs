//! The long-running-operation poller against a fake operation on the fake ARM server: both flows, terminal
//! states, Retry-After, and 429 / 5xx while polling.

use azflux_core::Error;
use azflux_core::arm::{ArmClient, ArmClientOptions, LroProgress, PollerOptions};
use azflux_core::fake::FakeCloud;
use azflux_core::fake::faults::{Fault, FaultMatch};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::ResponseTemplate;

const ID: &str = "/subscriptions/s1/resourceGroups/rg/providers/Test.Provider/widgets/w";
const API: &str = "2026-01-01";

/// Mounts a widget whose creation takes 30 s and ends with `outcome` (`Succeeded`, `Failed`, `Canceled`).
async fn mount_widget(cloud: &FakeCloud, outcome: &'static str) {
    let arm = cloud.arm_server().await;
    let started: Arc<Mutex<Option<time::OffsetDateTime>>> = Arc::default();
    let (c, s) = (cloud.clone(), started.clone());
    cloud
        .mount(&arm, "widget.put", "PUT", r"^/subscriptions/s1/resourceGroups/rg/providers/Test\.Provider/widgets/w$", move |r| {
            let call = match c.arm_call(r) {
                Ok(call) => call,
                Err(e) => return e,
            };
            *s.lock().unwrap() = Some(c.clock().now());
            call.respond(
                ResponseTemplate::new(201)
                    .insert_header("azure-asyncoperation", "https://management.azure.com/subscriptions/s1/providers/Test.Provider/locations/westeurope/operations/op1?api-version=2026-01-01")
                    .insert_header("retry-after", "10")
                    .set_body_json(json!({"id": ID, "properties": {"provisioningState": "Creating"}})),
            )
        })
        .await;
    let (c, s) = (cloud.clone(), started.clone());
    cloud
        .mount(&arm, "widget.operation", "GET", r"^/subscriptions/s1/providers/Test\.Provider/locations/westeurope/operations/op1$", move |r| {
            let call = match c.arm_call(r) {
                Ok(call) => call,
                Err(e) => return e,
            };
            let start = s.lock().unwrap().unwrap_or_else(|| c.clock().now());
            let elapsed = c.clock().now() - start;
            let body = if elapsed < time::Duration::seconds(30) {
                json!({"name": "op1", "status": "InProgress", "percentComplete": (elapsed.whole_seconds() * 100 / 30)})
            } else {
                match outcome {
                    "Succeeded" => json!({"name": "op1", "status": "Succeeded"}),
                    other => json!({"name": "op1", "status": other, "error": {"code": "QuotaExceeded", "message": "Operation could not be completed as it results in exceeding approved standardDSv5Family Cores quota."}}),
                }
            };
            call.respond(ResponseTemplate::new(200).insert_header("retry-after", "10").set_body_json(body))
        })
        .await;
    let c = cloud.clone();
    cloud
        .mount(&arm, "widget.get", "GET", r"^/subscriptions/s1/resourceGroups/rg/providers/Test\.Provider/widgets/w$", move |r| {
            match c.arm_call(r) {
                Ok(call) => call.respond(ResponseTemplate::new(200).set_body_json(json!({"id": ID, "properties": {"provisioningState": "Succeeded", "answer": 42}}))),
                Err(e) => e,
            }
        })
        .await;
}

fn client(cloud: &FakeCloud) -> ArmClient {
    ArmClient::new(
        &cloud.cloud(),
        cloud.credential().unwrap(),
        ArmClientOptions {
            http: cloud.http_options(),
            poller: PollerOptions::default(),
        },
    )
}

#[tokio::test]
async fn azure_async_operation_succeeds_honouring_retry_after() {
    let cloud = FakeCloud::start().await;
    mount_widget(&cloud, "Succeeded").await;
    let seen: Arc<Mutex<Vec<LroProgress>>> = Arc::default();
    let s = seen.clone();
    let done = client(&cloud)
        .put_and_wait(ID, API, &json!({"location": "westeurope"}), &move |p| {
            s.lock().unwrap().push(p.clone())
        })
        .await
        .unwrap();
    assert_eq!(done.status, 201);
    assert_eq!(done.body["properties"]["answer"], 42);
    let clock = cloud.manual_clock().unwrap();
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_secs(10); 3],
        "waited exactly what Retry-After said"
    );
    let statuses: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.status.clone())
        .collect();
    assert_eq!(statuses, ["InProgress", "InProgress", "Succeeded"]);
    assert!(
        done.rate_limits.get("subscription-reads").is_some(),
        "throttling counters are visible"
    );
}

#[tokio::test]
async fn failed_and_canceled_operations_surface_code_and_message() {
    for outcome in ["Failed", "Canceled"] {
        let cloud = FakeCloud::start().await;
        mount_widget(&cloud, outcome).await;
        let err = client(&cloud)
            .put_and_wait(ID, API, &json!({}), &|_| {})
            .await
            .unwrap_err();
        match &err {
            Error::OperationFailed {
                status,
                code,
                message,
                resource,
            } => {
                assert_eq!(status, outcome);
                assert_eq!(code, "QuotaExceeded");
                assert!(message.contains("standardDSv5Family"));
                assert!(resource.contains("widgets/w"));
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("QuotaExceeded"));
    }
}

#[tokio::test]
async fn throttling_and_server_errors_while_polling_are_retried() {
    let cloud = FakeCloud::start().await;
    mount_widget(&cloud, "Succeeded").await;
    cloud.faults().inject(
        FaultMatch::path("/operations/op1").method("GET"),
        Fault::throttle(7),
        1,
    );
    cloud.faults().inject(
        FaultMatch::path("/operations/op1").method("GET"),
        Fault::server_error(503),
        1,
    );
    cloud.faults().inject(
        FaultMatch::path("/operations/op1").method("GET"),
        Fault::server_error(500),
        1,
    );
    cloud.faults().inject(
        FaultMatch::path("/operations/op1").method("GET"),
        Fault::Drop,
        1,
    );
    let done = client(&cloud)
        .put_and_wait(ID, API, &json!({}), &|_| {})
        .await
        .unwrap();
    assert_eq!(done.body["properties"]["answer"], 42);
    assert_eq!(cloud.faults().fired().len(), 4);
    let sleeps = cloud.manual_clock().unwrap().sleeps();
    assert!(
        sleeps.contains(&Duration::from_secs(7)),
        "the 429 Retry-After was honoured: {sleeps:?}"
    );
}

#[tokio::test]
async fn persistent_server_errors_give_up_with_a_clear_error() {
    let cloud = FakeCloud::start().await;
    mount_widget(&cloud, "Succeeded").await;
    cloud.faults().inject(
        FaultMatch::path("/operations/op1"),
        Fault::server_error(500),
        1000,
    );
    let err = client(&cloud)
        .put_and_wait(ID, API, &json!({}), &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Service(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("polling") && text.contains("500") && text.contains("InternalServerError"),
        "{text}"
    );
    // 1 attempt + 4 retries (the fake cloud's retry budget), then it stops.
    assert_eq!(cloud.request_count("widget.operation"), 5);
}

#[tokio::test]
async fn location_flow_polls_until_the_result() {
    let cloud = FakeCloud::start().await;
    let arm = cloud.arm_server().await;
    let c = cloud.clone();
    let started: Arc<Mutex<Option<time::OffsetDateTime>>> = Arc::default();
    let s = started.clone();
    cloud
        .mount(&arm, "widget.action", "POST", r"/widgets/w/rotate$", move |r| {
            let call = match c.arm_call(r) { Ok(x) => x, Err(e) => return e };
            *s.lock().unwrap() = Some(c.clock().now());
            call.respond(ResponseTemplate::new(202)
                .insert_header("location", "https://management.azure.com/subscriptions/s1/providers/Test.Provider/locations/westeurope/operationresults/op2?api-version=2026-01-01")
                .insert_header("retry-after", "5"))
        })
        .await;
    let c = cloud.clone();
    cloud
        .mount(
            &arm,
            "widget.result",
            "GET",
            r"/operationresults/op2$",
            move |r| {
                let call = match c.arm_call(r) {
                    Ok(x) => x,
                    Err(e) => return e,
                };
                let start = started.lock().unwrap().unwrap();
                if c.clock().now() - start < time::Duration::seconds(15) {
                    call.respond(ResponseTemplate::new(202).insert_header("retry-after", "5"))
                } else {
                    call.respond(ResponseTemplate::new(200).set_body_json(json!({"rotated": true})))
                }
            },
        )
        .await;
    let done = client(&cloud)
        .post_and_wait(ID, "rotate", API, None, &|_| {})
        .await
        .unwrap();
    assert_eq!(done.body["rotated"], true);
    assert_eq!(
        cloud.manual_clock().unwrap().sleeps(),
        vec![Duration::from_secs(5); 3]
    );
}

#[tokio::test]
async fn ensure_sends_nothing_when_converged_and_arm_requires_api_version_and_token() {
    let cloud = FakeCloud::start().await;
    mount_widget(&cloud, "Succeeded").await;
    let arm = client(&cloud);
    let first = arm
        .ensure(ID, API, &json!({"properties": {"answer": 42}}), &|_| {})
        .await
        .unwrap();
    assert_eq!(first.verb(), "unchanged");
    assert_eq!(cloud.request_count("widget.put"), 0);
    let second = arm
        .ensure(ID, API, &json!({"properties": {"answer": 43}}), &|_| {})
        .await
        .unwrap();
    assert_eq!(second.verb(), "updated");
    assert_eq!(cloud.request_count("widget.put"), 1);

    // Raw calls without api-version / token get ARM's own errors.
    let http = reqwest::Client::new();
    let base = format!("http://{}", cloud.arm_server().await.address());
    let no_version = http.get(format!("{base}{ID}")).send().await.unwrap();
    assert_eq!(no_version.status(), 400);
    assert!(
        no_version
            .text()
            .await
            .unwrap()
            .contains("MissingApiVersionParameter")
    );
    let no_token = http
        .get(format!("{base}{ID}?api-version={API}"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);
    assert!(
        no_token
            .text()
            .await
            .unwrap()
            .contains("AuthenticationFailed")
    );
}
