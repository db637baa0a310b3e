//! Microsoft.Resources resource groups on the [ARM kit](super::arm_kit): `PUT`/`GET`/`HEAD`/`PATCH`/`DELETE
//! /subscriptions/{sub}/resourcegroups/{rg}` and `GET /subscriptions/{sub}/resourcegroups` (paged), any case
//! of `resourcegroups`, api-versions of Microsoft.Resources.
//!
//! Contract (`specification/resources/resource-manager/Microsoft.Resources/stable/2024-11-01/
//! resources.json`, ResourceGroups_*): `location` is required (`400 LocationRequired`); a PUT of an
//! existing group in another location is `409 InvalidResourceGroupLocation`; names are 1-90 letters,
//! digits, `_`, `-`, `.`, `(`, `)`, not ending in `.` (`400 ResourceGroupNameInvalid`, wording
//! inferred); a DELETE removes the group and every resource in it.
//!
//! The kit always serves groups; [`FakeResourceGroups::mount`] also makes every other resource need its
//! group (`404 ResourceGroupNotFound`), as ARM does — crates' contract tests that do not model groups run
//! without it.

use super::FakeCloud;
use super::arm_kit::{ArmError, Ctx, Hooks, RESOURCE_GROUP_TYPE};
use serde_json::{Value, json};

/// The resource-group hooks.
#[derive(Debug, Default, Clone, Copy)]
pub struct ResourceGroupHooks;

fn name_ok(name: &str) -> bool {
    (1..=90).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'))
        && !name.ends_with('.')
}

impl Hooks for ResourceGroupHooks {
    fn put(&self, ctx: &mut Ctx<'_>, request: Value) -> Result<Value, ArmError> {
        let name = ctx.path.name().to_owned();
        if !name_ok(&name) {
            return Err(ArmError::bad_request(
                "ResourceGroupNameInvalid",
                format!(
                    "Resource group name '{name}' is invalid. The name can contain only letters, digits, underscores, hyphens, periods and parentheses, can be up to 90 characters long, and cannot end with a period."
                ),
            ));
        }
        let Some(location) = request
            .get("location")
            .and_then(Value::as_str)
            .filter(|l| !l.trim().is_empty())
            .map(super::arm_kit::normalize_location)
        else {
            return Err(ArmError::bad_request(
                "LocationRequired",
                "The location property is required for this definition.",
            ));
        };
        if let Some(existing) = ctx.existing()
            && existing.body["location"] != json!(location)
        {
            return Err(ArmError::conflict(
                "InvalidResourceGroupLocation",
                format!(
                    "Invalid resource group location '{location}'. The Resource group already exists in location '{}'.",
                    existing.body["location"].as_str().unwrap_or_default()
                ),
            ));
        }
        // The group keeps the name it was created with.
        let (id, name) = match ctx.existing() {
            Some(e) => (e.id.clone(), e.body["name"].clone()),
            None => (ctx.id(), json!(name)),
        };
        let mut body = json!({
            "id": id,
            "name": name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": location,
            "tags": request.get("tags").cloned().filter(Value::is_object).unwrap_or(json!({})),
            "properties": {"provisioningState": "Succeeded"},
        });
        if let Some(managed_by) = request.get("managedBy").filter(|m| m.is_string()) {
            body["managedBy"] = managed_by.clone();
        }
        Ok(body)
    }

    fn get(&self, ctx: &mut Ctx<'_>) -> Result<Value, ArmError> {
        match ctx.existing() {
            Some(r) => Ok(r.body.clone()),
            None => Err(ArmError::resource_group_not_found(ctx.path.name())),
        }
    }
}

/// The resource groups of a cloud, with ARM's rule that resources need their group.
#[derive(Debug, Clone)]
pub struct FakeResourceGroups {
    cloud: FakeCloud,
}

impl FakeResourceGroups {
    /// Turns on `ResourceGroupNotFound` for every resource of the cloud's kit.
    pub async fn mount(cloud: &FakeCloud) -> Self {
        cloud.arm_kit().state().require_resource_groups = true;
        Self {
            cloud: cloud.clone(),
        }
    }

    /// Ids of the resource groups that exist, as created.
    pub fn ids(&self) -> Vec<String> {
        self.cloud
            .arm_kit()
            .state()
            .of_type(RESOURCE_GROUP_TYPE)
            .map(|r| r.id.clone())
            .collect()
    }
}
