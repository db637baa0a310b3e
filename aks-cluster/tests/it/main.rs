//! Integration tests of aks-cluster: contract tests against the fake, protocol scenarios, the fake's own
//! behaviour, and the official Python SDK clients against the fake.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod brownfield;
mod clusters;
mod fake_behaviour;
mod identities;
mod python_sdk;
mod roles;

use aks_cluster::{ClusterSpec, ClustersClient, ClustersClientOptions, FakeAks, FakeAksOptions};
use azflux_core::arm::{ArmClientOptions, PollerOptions};
use azflux_core::fake::FakeCloud;

pub struct Env {
    pub cloud: FakeCloud,
    pub fake: FakeAks,
    pub client: ClustersClient,
}

impl Env {
    pub async fn start() -> Self {
        Self::with(FakeAksOptions::default()).await
    }

    pub async fn with(options: FakeAksOptions) -> Self {
        let cloud = FakeCloud::start().await;
        let fake = FakeAks::mount_with(&cloud, options).await;
        let client = client(&cloud, ClustersClientOptions::default());
        Self {
            cloud,
            fake,
            client,
        }
    }

    pub fn sub(&self) -> String {
        self.cloud.sandbox().subscription_id.clone()
    }

    pub fn spec(&self, name: &str) -> ClusterSpec {
        ClusterSpec::new(self.sub(), "rg-flux", name, "westeurope")
    }

    pub fn identity_id(&self, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/rg-flux/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}",
            self.sub()
        )
    }
}

pub fn client(cloud: &FakeCloud, options: ClustersClientOptions) -> ClustersClient {
    ClustersClient::new(
        &cloud.cloud(),
        cloud.credential().unwrap(),
        ClustersClientOptions {
            arm: ArmClientOptions {
                http: cloud.http_options(),
                poller: PollerOptions::default(),
            },
            ..options
        },
    )
}
