//! Azure Resource Manager: typed resource ids, create-or-update with "ensure" semantics, and the
//! long-running-operation poller.

mod client;
mod lro;
mod resource_id;

pub use client::{
    ArmClient, ArmClientOptions, ArmResponse, Ensured, RESOURCE_GROUPS_API_VERSION, json_is_subset,
};
pub use lro::{LroPoller, LroProgress, LroStart, OperationStatus, PollerOptions};
pub use resource_id::ResourceId;
