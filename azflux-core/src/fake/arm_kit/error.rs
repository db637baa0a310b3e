//! The one ARM error envelope, `{"error":{"code","message"}}`, and the errors ARM itself (not a resource
//! provider) answers: `ResourceNotFound`, `ResourceGroupNotFound`, `ParentResourceNotFound`,
//! `InvalidResourceType`, `SubscriptionNotFound`.
//!
//! Messages are ARM's, as documented in "Resolve resource not found errors"
//! (learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-not-found).

use super::path::ResourcePath;
use wiremock::ResponseTemplate;

/// An error answer: status, code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmError {
    /// HTTP status.
    pub status: u16,
    /// `error.code`.
    pub code: String,
    /// `error.message`.
    pub message: String,
}

impl ArmError {
    /// An error with this status, code and message.
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// `400 code` (the status resource providers give validation failures).
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// `409 code`.
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
    }

    /// The response.
    pub fn response(&self) -> ResponseTemplate {
        crate::fake::arm::arm_error(self.status, &self.code, &self.message)
    }

    /// `404 ResourceNotFound` for the resource at `path` (nested names as `parent/child`).
    pub fn resource_not_found(path: &ResourcePath, type_name: &str) -> Self {
        let rg = path.resource_group.as_deref().unwrap_or_default();
        Self::new(
            404,
            "ResourceNotFound",
            format!(
                "The Resource '{type_name}/{}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
                path.nested_name()
            ),
        )
    }

    /// `404 ResourceGroupNotFound`.
    pub fn resource_group_not_found(name: &str) -> Self {
        Self::new(
            404,
            "ResourceGroupNotFound",
            format!("Resource group '{name}' could not be found."),
        )
    }

    /// `404 ParentResourceNotFound`: an operation on a nested resource whose parent does not exist.
    pub fn parent_not_found(operation: &str, nested_type: &str, parent_id: &str) -> Self {
        Self::new(
            404,
            "ParentResourceNotFound",
            format!(
                "Failed to perform '{operation}' on resource(s) of type '{nested_type}', because the parent resource '{parent_id}' could not be found."
            ),
        )
    }

    /// `404 InvalidResourceType`: no resource provider serves this type.
    pub fn invalid_type(type_name: &str, namespace: &str, api_version: &str) -> Self {
        Self::new(
            404,
            "InvalidResourceType",
            format!(
                "The resource type '{type_name}' could not be found in the namespace '{namespace}' for api version '{api_version}'."
            ),
        )
    }

    /// `404 SubscriptionNotFound`.
    pub fn subscription_not_found(id: &str) -> Self {
        Self::new(
            404,
            "SubscriptionNotFound",
            format!("The subscription '{id}' could not be found."),
        )
    }
}

impl std::fmt::Display for ArmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ArmError {}
