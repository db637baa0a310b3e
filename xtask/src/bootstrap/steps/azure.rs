//! Azure steps (ARM).

use super::azure_error;
use crate::bootstrap::step::{Outcome, PlanState, Planned, Step, StepContext, StepResult};
use azflux_core::arm::{ArmClient, Ensured, RESOURCE_GROUPS_API_VERSION, ResourceId};
use std::sync::Arc;

/// Ensures the resource group (azflux-core `ensure_resource_group`).
#[derive(Debug)]
pub struct ResourceGroupStep {
    id: String,
    arm: Arc<ArmClient>,
    subscription: String,
    name: String,
    location: String,
}

impl ResourceGroupStep {
    /// The step id for resource group `name`.
    pub fn id_for(name: &str) -> String {
        format!("resource-group/{name}")
    }

    /// A step ensuring resource group `name` in `location`.
    pub fn new(arm: Arc<ArmClient>, subscription: &str, name: &str, location: &str) -> Self {
        ResourceGroupStep {
            id: Self::id_for(name),
            arm,
            subscription: subscription.into(),
            name: name.into(),
            location: location.into(),
        }
    }
}

#[async_trait::async_trait]
impl Step for ResourceGroupStep {
    fn id(&self) -> &str {
        &self.id
    }
    fn deps(&self) -> Vec<String> {
        Vec::new()
    }
    fn resource(&self) -> String {
        ResourceId::resource_group(&self.subscription, &self.name).to_string()
    }
    async fn plan(&self, _ctx: &StepContext) -> StepResult<Planned> {
        let id = self.resource();
        let found = self
            .arm
            .get(&id, RESOURCE_GROUPS_API_VERSION)
            .await
            .map_err(|e| azure_error(&id, &e))?;
        Ok(match found {
            None => Planned::new(PlanState::WouldCreate, format!("in {}", self.location)),
            Some(rg) => {
                let at = rg.body["location"].as_str().unwrap_or_default().to_owned();
                if at.eq_ignore_ascii_case(&self.location) {
                    Planned::new(PlanState::UpToDate, format!("exists in {at}"))
                } else {
                    Planned::new(
                        PlanState::WouldChange,
                        format!(
                            "exists in {at}, configured {}: the run will fail, fix azure.location",
                            self.location
                        ),
                    )
                }
            }
        })
    }
    async fn ensure(&self, _ctx: &StepContext) -> StepResult<Outcome> {
        let id = self.resource();
        let ensured = self
            .arm
            .ensure_resource_group(
                &self.subscription,
                &self.name,
                &self.location,
                &Default::default(),
            )
            .await
            .map_err(|e| azure_error(&id, &e))?;
        let detail = format!("{} in {}", self.name, self.location);
        Ok(match ensured {
            Ensured::Created(_) => Outcome::created(detail),
            Ensured::Updated(_) => Outcome::changed(detail),
            Ensured::Unchanged(_) => Outcome::unchanged(detail),
        })
    }
}
