//! The fake of Microsoft.Resources resource groups: `PUT`/`GET`/`DELETE
//! /subscriptions/{sub}/resourcegroups/{rg}` (api-version 2021-04-01+), stateful.

use super::FakeCloud;
use super::arm::arm_error;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use wiremock::ResponseTemplate;

/// The resource groups the fake holds, by lower-case id.
#[derive(Debug, Clone, Default)]
pub struct FakeResourceGroups {
    groups: Arc<Mutex<BTreeMap<String, Value>>>,
}

impl FakeResourceGroups {
    /// Mounts the resource-group routes on the cloud's ARM server.
    pub async fn mount(cloud: &FakeCloud) -> Self {
        let this = Self::default();
        let arm = cloud.arm_server().await;
        let path = r"(?i)^/subscriptions/[^/]+/resourcegroups/[^/]+$";
        for method in ["PUT", "GET", "DELETE"] {
            let (c, state) = (cloud.clone(), this.clone());
            cloud
                .mount(&arm, &format!("resourcegroups.{}", method.to_ascii_lowercase()), method, path, move |r| {
                    let call = match c.arm_call(r) {
                        Ok(call) => call,
                        Err(e) => return e,
                    };
                    let segments: Vec<&str> = r.path().split('/').collect();
                    let (sub, name) = (segments.get(2).copied().unwrap_or_default(), segments.get(4).copied().unwrap_or_default());
                    let id = format!("/subscriptions/{sub}/resourceGroups/{name}");
                    let key = id.to_ascii_lowercase();
                    let mut groups = state.groups.lock().unwrap_or_else(PoisonError::into_inner);
                    let answer = match r.method().as_str() {
                        "PUT" => {
                            let Some(location) = r.json().and_then(|b| b.get("location").and_then(|l| l.as_str()).map(str::to_owned)) else {
                                return call.respond(arm_error(400, "LocationRequired", "The location property is required for this definition."));
                            };
                            let tags = r.json().and_then(|b| b.get("tags").cloned()).unwrap_or(json!({}));
                            let existed = groups.contains_key(&key);
                            if let Some(existing) = groups.get(&key)
                                && existing["location"] != json!(location)
                            {
                                let message = format!(
                                    "Invalid resource group location '{location}'. The Resource group already exists in location '{}'.",
                                    existing["location"].as_str().unwrap_or_default()
                                );
                                return call.respond(arm_error(409, "InvalidResourceGroupLocation", &message));
                            }
                            let body = json!({"id": id, "name": name, "type": "Microsoft.Resources/resourceGroups", "location": location, "tags": tags, "properties": {"provisioningState": "Succeeded"}});
                            groups.insert(key, body.clone());
                            ResponseTemplate::new(if existed { 200 } else { 201 }).set_body_json(body)
                        }
                        "GET" => match groups.get(&key) {
                            Some(body) => ResponseTemplate::new(200).set_body_json(body.clone()),
                            None => arm_error(404, "ResourceGroupNotFound", &format!("Resource group '{name}' could not be found.")),
                        },
                        _ => match groups.remove(&key) {
                            Some(_) => ResponseTemplate::new(200),
                            None => ResponseTemplate::new(204),
                        },
                    };
                    call.respond(answer)
                })
                .await;
        }
        this
    }

    /// Ids of the resource groups that exist.
    pub fn ids(&self) -> Vec<String> {
        self.groups
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter_map(|v| v["id"].as_str().map(str::to_owned))
            .collect()
    }
}
