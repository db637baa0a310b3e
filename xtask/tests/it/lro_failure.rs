//! The bootstrap with a failed long-running operation injected: AKS answers the cluster create with
//! `Failed` (as it does when a quota is exceeded). The run stops at the cluster step with Azure's code and
//! message, the resource and what to do; the steps that do not need the cluster still run; a re-run
//! completes.

use crate::bootstrap::{one, opts, sandbox};
use xtask::bootstrap::PlanOptions;
use xtask::bootstrap::executor::StepStatus;
use xtask::bootstrap::ids;
use xtask::bootstrap::progress::NoSink;
use xtask::bootstrap::sandbox::SANDBOX_CLUSTER;

#[tokio::test]
async fn a_failed_cluster_operation_stops_with_azures_code_and_a_rerun_completes() {
    let (_dir, sb) = sandbox().await;
    let message = "Operation could not be completed as it results in exceeding approved standardDSv5Family Cores quota.";
    sb.aks.fail_next_create("QuotaExceeded", message);
    let (report, summary) = sb
        .run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    assert!(!report.succeeded());
    let failure = summary
        .failed
        .iter()
        .find(|f| f.step.ends_with("aks-cluster"))
        .unwrap_or_else(|| panic!("the cluster step failed: {:#?}", summary.failed));
    assert!(
        failure.error.contains("QuotaExceeded") && failure.error.contains("standardDSv5Family"),
        "{failure:?}"
    );
    assert!(failure.resource.contains("managedClusters/"), "{failure:?}");
    assert!(!failure.todo.trim().is_empty(), "{failure:?}");
    // The repository side does not depend on the cluster: it ran; the cluster side was skipped.
    assert!(matches!(
        report.step(&ids::components_commit()).unwrap().status,
        StepStatus::Done(_)
    ));
    assert!(matches!(
        report.step(&ids::health(SANDBOX_CLUSTER)).unwrap().status,
        StepStatus::Skipped(_)
    ));

    let (again, _) = sb
        .run(&one(), PlanOptions::default(), opts(), &NoSink)
        .await
        .unwrap();
    assert!(again.succeeded(), "{:#?}", again.failures());
    assert_eq!(sb.aks.clusters().len(), 1, "one cluster, not two");
}
