//! Microsoft.Authorization: built-in role definitions (looked up by id or by `$filter=roleName eq '…'`, so
//! `az role assignment create --role AcrPull …` resolves the role) and role assignments at any scope, plus
//! the query API other fakes decide access with ([`ArmKit::permits`]).
//!
//! Contract: `specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/
//! authorization-RoleAssignmentsCalls.json` and `…/authorization-RoleDefinitionsCalls.json`. Role ids and
//! permissions are those of "Azure built-in roles" (learn.microsoft.com/azure/role-based-access-control/
//! built-in-roles). A new principal is unknown to role assignments until the directory has replicated it
//! (`PrincipalNotFound`, aka.ms/docs-principaltype); an assignment takes effect after the propagation delay
//! on the cloud's clock ([`ArmKit::set_role_propagation`]).

use super::error::ArmError;
use super::path::{ResourcePath, id_key};
use super::store::Resource;
use super::{Answer, ArmKit, rfc3339, versions};
use crate::fake::arm::ArmCall;
use crate::fake::request::FakeRequest;
use serde_json::{Value, json};
use std::time::Duration;
use time::OffsetDateTime;

const ASSIGNMENT_TYPE: &str = "microsoft.authorization/roleassignments";

/// A built-in role: (GUID, name, description, actions, notActions, dataActions).
pub struct BuiltInRole {
    /// The role definition's GUID.
    pub id: &'static str,
    /// `roleName`.
    pub name: &'static str,
    /// `description`.
    pub description: &'static str,
    /// Control-plane actions granted.
    pub actions: &'static [&'static str],
    /// Control-plane actions excluded.
    pub not_actions: &'static [&'static str],
    /// Data actions granted.
    pub data_actions: &'static [&'static str],
}

/// The built-in roles the fake cloud knows.
pub const BUILT_IN_ROLES: &[BuiltInRole] = &[
    BuiltInRole {
        id: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        name: "Owner",
        description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
        actions: &["*"],
        not_actions: &[],
        data_actions: &[],
    },
    BuiltInRole {
        id: "b24988ac-6180-42a0-ab88-20f7382dd24c",
        name: "Contributor",
        description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
        actions: &["*"],
        not_actions: &[
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
        ],
        data_actions: &[],
    },
    BuiltInRole {
        id: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        name: "Reader",
        description: "View all resources, but does not allow you to make any changes.",
        actions: &["*/read"],
        not_actions: &[],
        data_actions: &[],
    },
    BuiltInRole {
        id: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        name: "User Access Administrator",
        description: "Lets you manage user access to Azure resources.",
        actions: &["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
        not_actions: &[],
        data_actions: &[],
    },
    BuiltInRole {
        id: "7f951dda-4ed3-4680-a7ca-43fe172d538d",
        name: "AcrPull",
        description: "acr pull",
        actions: &["Microsoft.ContainerRegistry/registries/pull/read"],
        not_actions: &[],
        data_actions: &[],
    },
    BuiltInRole {
        id: "8311e382-0749-4cb8-b61a-304f252e45ec",
        name: "AcrPush",
        description: "acr push",
        actions: &[
            "Microsoft.ContainerRegistry/registries/pull/read",
            "Microsoft.ContainerRegistry/registries/push/write",
        ],
        not_actions: &[],
        data_actions: &[],
    },
    BuiltInRole {
        id: "00482a5a-887f-4fb3-b363-3b7fe8e74483",
        name: "Key Vault Administrator",
        description: "Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets.",
        actions: &[
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.KeyVault/checkNameAvailability/read",
            "Microsoft.KeyVault/deletedVaults/read",
            "Microsoft.KeyVault/locations/*/read",
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/operations/read",
        ],
        not_actions: &[],
        data_actions: &["Microsoft.KeyVault/vaults/*"],
    },
    BuiltInRole {
        id: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
        name: "Key Vault Crypto Officer",
        description: "Perform any action on the keys of a key vault, except manage permissions.",
        actions: &[
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.KeyVault/checkNameAvailability/read",
            "Microsoft.KeyVault/deletedVaults/read",
            "Microsoft.KeyVault/locations/*/read",
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/operations/read",
        ],
        not_actions: &[],
        data_actions: &[
            "Microsoft.KeyVault/vaults/keys/*",
            "Microsoft.KeyVault/vaults/keyrotationpolicies/*",
        ],
    },
    BuiltInRole {
        id: "12338af0-0e69-4776-bea7-57ae8d297424",
        name: "Key Vault Crypto User",
        description: "Perform cryptographic operations using keys.",
        actions: &[],
        not_actions: &[],
        data_actions: &[
            "Microsoft.KeyVault/vaults/keys/read",
            "Microsoft.KeyVault/vaults/keys/update/action",
            "Microsoft.KeyVault/vaults/keys/backup/action",
            "Microsoft.KeyVault/vaults/keys/encrypt/action",
            "Microsoft.KeyVault/vaults/keys/decrypt/action",
            "Microsoft.KeyVault/vaults/keys/wrap/action",
            "Microsoft.KeyVault/vaults/keys/unwrap/action",
            "Microsoft.KeyVault/vaults/keys/sign/action",
            "Microsoft.KeyVault/vaults/keys/verify/action",
        ],
    },
    BuiltInRole {
        id: "4633458b-17de-408a-b874-0445c86b69e6",
        name: "Key Vault Secrets User",
        description: "Read secret contents.",
        actions: &[],
        not_actions: &[],
        data_actions: &[
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ],
    },
    BuiltInRole {
        id: "2b629674-e913-4c01-ae53-ef4638d8f975",
        name: "Azure Event Hubs Data Sender",
        description: "Allows send access to Azure Event Hubs resources.",
        actions: &["Microsoft.EventHub/*/eventhubs/read"],
        not_actions: &[],
        data_actions: &["Microsoft.EventHub/*/send/action"],
    },
    BuiltInRole {
        id: "a638d3c7-ab3a-418d-83e6-5f17a39d4fde",
        name: "Azure Event Hubs Data Receiver",
        description: "Allows receive access to Azure Event Hubs resources.",
        actions: &["Microsoft.EventHub/*/eventhubs/consumergroups/read"],
        not_actions: &[],
        data_actions: &["Microsoft.EventHub/*/receive/action"],
    },
    BuiltInRole {
        id: "f526a384-b230-433a-b45c-95f59c4a2dec",
        name: "Azure Event Hubs Data Owner",
        description: "Allows for full access to Azure Event Hubs resources.",
        actions: &["Microsoft.EventHub/*"],
        not_actions: &[],
        data_actions: &["Microsoft.EventHub/*"],
    },
    BuiltInRole {
        id: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        name: "Storage Blob Data Reader",
        description: "Read and list Azure Storage containers and blobs.",
        actions: &[
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ],
        not_actions: &[],
        data_actions: &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
    },
    BuiltInRole {
        id: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        name: "Storage Blob Data Contributor",
        description: "Read, write, and delete Azure Storage containers and blobs.",
        actions: &[
            "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/write",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ],
        not_actions: &[],
        data_actions: &[
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
        ],
    },
    BuiltInRole {
        id: "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
        name: "Azure Kubernetes Service RBAC Cluster Admin",
        description: "Lets you manage all resources in the cluster.",
        actions: &[
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/subscriptions/operationresults/read",
            "Microsoft.Resources/subscriptions/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
        ],
        not_actions: &[],
        data_actions: &["Microsoft.ContainerService/managedClusters/*"],
    },
    BuiltInRole {
        id: "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
        name: "Azure Kubernetes Service Cluster User Role",
        description: "List cluster user credential action.",
        actions: &[
            "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
            "Microsoft.ContainerService/managedClusters/read",
        ],
        not_actions: &[],
        data_actions: &[],
    },
    BuiltInRole {
        id: "f1a07417-d97a-45cb-824c-7a7467783830",
        name: "Managed Identity Operator",
        description: "Read and Assign User Assigned Identity",
        actions: &[
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        ],
        not_actions: &[],
        data_actions: &[],
    },
];

/// The built-in role with this GUID (any case), or this `roleDefinitionId`'s last segment.
pub fn role_by_id(id: &str) -> Option<&'static BuiltInRole> {
    let guid = id.rsplit('/').next().unwrap_or_default();
    BUILT_IN_ROLES
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(guid))
}

/// The built-in role named `name` (any case).
pub fn role_by_name(name: &str) -> Option<&'static BuiltInRole> {
    BUILT_IN_ROLES
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(name))
}

/// ARM's wildcard match of permissions: `*` spans any characters, case-insensitive.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let (p, a) = (pattern.to_ascii_lowercase(), action.to_ascii_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == a;
    }
    let mut rest = a.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

impl BuiltInRole {
    /// Whether the role grants `action` (control-plane or data action).
    pub fn grants(&self, action: &str) -> bool {
        let control = self.actions.iter().any(|p| action_matches(p, action))
            && !self.not_actions.iter().any(|p| action_matches(p, action));
        control || self.data_actions.iter().any(|p| action_matches(p, action))
    }

    /// The role definition's body, with its id below `scope`'s subscription.
    pub fn body(&self, subscription: Option<&str>) -> Value {
        let prefix = subscription
            .map(|s| format!("/subscriptions/{s}"))
            .unwrap_or_default();
        json!({
            "id": format!("{prefix}/providers/Microsoft.Authorization/roleDefinitions/{}", self.id),
            "name": self.id,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": self.name,
                "type": "BuiltInRole",
                "description": self.description,
                "assignableScopes": ["/"],
                "permissions": [{
                    "actions": self.actions,
                    "notActions": self.not_actions,
                    "dataActions": self.data_actions,
                    "notDataActions": [],
                }],
                "createdOn": "2018-01-01T00:00:00.0000000Z",
                "updatedOn": "2024-01-01T00:00:00.0000000Z",
            },
        })
    }
}

/// Whether `scope` is `ancestor` or below it (segment-wise, case-insensitive).
pub fn scope_within(scope: &str, ancestor: &str) -> bool {
    let (s, a) = (id_key(scope), id_key(ancestor));
    a.is_empty() || s == a || s.starts_with(&format!("{a}/"))
}

impl ArmKit {
    /// Makes a principal known to role assignments from `visible_at` on (the directory's replication).
    pub fn add_principal(&self, object_id: &str, visible_at: OffsetDateTime) {
        self.state()
            .principals
            .entry(object_id.to_owned())
            .or_insert(visible_at);
    }

    /// How long a new role assignment takes before [`ArmKit::permits`] honours it (default 0).
    pub fn set_role_propagation(&self, delay: Duration) {
        self.state().role_propagation = delay;
    }

    /// The role assignments of a principal (bodies, any scope).
    pub fn role_assignments_for(&self, principal: &str) -> Vec<Value> {
        self.state()
            .of_type(ASSIGNMENT_TYPE)
            .filter(|r| {
                r.body
                    .pointer("/properties/principalId")
                    .and_then(Value::as_str)
                    .is_some_and(|p| p.eq_ignore_ascii_case(principal))
            })
            .map(|r| r.body.clone())
            .collect()
    }

    /// Every role assignment (bodies).
    pub fn role_assignments(&self) -> Vec<Value> {
        self.state()
            .of_type(ASSIGNMENT_TYPE)
            .map(|r| r.body.clone())
            .collect()
    }

    /// Whether `principal` may do `action` (`Microsoft.KeyVault/vaults/keys/encrypt/action`) on `scope` at
    /// `at`: some assignment at the scope or above it (subscription → resource group → resource), of a role
    /// granting the action, created at least the propagation delay before `at`.
    pub fn permits(&self, principal: &str, scope: &str, action: &str, at: OffsetDateTime) -> bool {
        self.assigned_role_where(principal, scope, at, |role| role.grants(action))
    }

    /// Whether some assignment of `principal` effective at `at`, at `scope` or above it, is of a role for
    /// which `grants` holds.
    fn assigned_role_where(
        &self,
        principal: &str,
        scope: &str,
        at: OffsetDateTime,
        grants: impl Fn(&BuiltInRole) -> bool,
    ) -> bool {
        let state = self.state();
        let delay = state.role_propagation;
        state.of_type(ASSIGNMENT_TYPE).any(|r| {
            let p = &r.body["properties"];
            p["principalId"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(principal))
                && p["scope"].as_str().is_some_and(|s| scope_within(scope, s))
                && r.created + delay <= at
                && p["roleDefinitionId"]
                    .as_str()
                    .and_then(role_by_id)
                    .is_some_and(&grants)
        })
    }
}

impl ArmKit {
    /// Assigns the built-in role `role_name` to `principal` at `scope`, as an administrator did it earlier
    /// (created now, on the fake clock; the propagation delay applies). Returns the assignment id, or `None`
    /// for a role the fake does not know.
    pub fn assign_role(&self, principal: &str, scope: &str, role_name: &str) -> Option<String> {
        let role = role_by_name(role_name)?;
        let scope = super::types::canonical_scope(scope);
        let subscription = scope.split('/').nth(2).unwrap_or_default().to_owned();
        let name = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!("{scope}|{principal}|{}", role.id).as_bytes(),
        )
        .to_string();
        let id = assignment_id(&scope, &name);
        let now = self.now();
        let stamp = rfc3339(now);
        let body = json!({
            "id": id, "name": name, "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "roleDefinitionId": format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{}", role.id),
                "principalId": principal, "principalType": "ServicePrincipal", "scope": scope,
                "createdOn": stamp, "updatedOn": stamp,
            }
        });
        self.state().write(
            &id_key(&id),
            Resource {
                id: id.clone(),
                type_key: ASSIGNMENT_TYPE.into(),
                parent: id_key(&scope),
                subscription: subscription.to_ascii_lowercase(),
                body,
                created: now,
                generation: 0,
            },
        );
        Some(id)
    }

    /// Whether `principal` may do the **data action** `data_action`
    /// (`Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read`) on `scope` at `at`. Only a
    /// role's `dataActions` count: in Azure, `Owner`'s `actions: ["*"]` grants no data access, which is why
    /// `az storage blob upload --auth-mode login` needs "Storage Blob Data Contributor" even for an owner.
    pub fn permits_data(
        &self,
        principal: &str,
        scope: &str,
        data_action: &str,
        at: OffsetDateTime,
    ) -> bool {
        self.assigned_role_where(principal, scope, at, |role| {
            role.data_actions
                .iter()
                .any(|pattern| action_matches(pattern, data_action))
        })
    }
}

/// Serves `{scope}/providers/Microsoft.Authorization/{roleAssignments|roleDefinitions}[/{name}]`.
pub fn route(
    kit: &ArmKit,
    r: &FakeRequest<'_>,
    call: &ArmCall,
    p: &ResourcePath,
) -> Result<Answer, ArmError> {
    versions::check(
        versions::AUTHORIZATION,
        &call.api_version,
        "Microsoft.Authorization",
        "roleAssignments",
        "global",
    )?;
    let (kind, name) = match (p.types.first(), &p.tail) {
        (Some((t, n)), None) if p.types.len() == 1 => (t.to_ascii_lowercase(), Some(n.clone())),
        (None, Some(t)) => (t.to_ascii_lowercase(), None),
        _ => {
            return Err(ArmError::invalid_type(
                &p.type_key(),
                &p.namespace,
                &call.api_version,
            ));
        }
    };
    let method = r.method();
    let subscription = Some(p.subscription.as_str());
    match (kind.as_str(), method.as_str(), name) {
        ("roledefinitions", "GET", Some(id)) => match role_by_id(&id) {
            Some(role) => Ok(Answer::json(200, role.body(subscription))),
            None => Err(ArmError::new(
                404,
                "RoleDefinitionDoesNotExist",
                format!("The specified role definition with ID '{id}' does not exist."),
            )),
        },
        ("roledefinitions", "GET", None) => {
            // `$filter=roleName eq 'AcrPull'` (what az role assignment create --role sends), or `type eq
            // 'BuiltInRole'`.
            let filter = r.query("$filter").unwrap_or_default();
            let wanted = filter
                .trim()
                .strip_prefix("roleName eq ")
                .map(|v| v.trim().trim_matches('\'').to_owned());
            let value: Vec<Value> = BUILT_IN_ROLES
                .iter()
                .filter(|role| {
                    wanted
                        .as_deref()
                        .is_none_or(|w| role.name.eq_ignore_ascii_case(w))
                })
                .map(|role| role.body(subscription))
                .collect();
            Ok(Answer::json(200, json!({"value": value})))
        }
        ("roleassignments", "PUT", Some(name)) => put_assignment(kit, r, call, p, &name),
        ("roleassignments", "GET", Some(name)) => {
            let key = id_key(&assignment_id(&p.scope, &name));
            match kit.state().resources.get(&key) {
                Some(res) => Ok(Answer::json(200, res.body.clone())),
                None => Err(ArmError::new(
                    404,
                    "RoleAssignmentNotFound",
                    "The role assignment does not exist.",
                )),
            }
        }
        ("roleassignments", "DELETE", Some(name)) => {
            let key = id_key(&assignment_id(&p.scope, &name));
            Ok(match kit.state().resources.remove(&key) {
                Some(res) => Answer::json(200, res.body),
                None => Answer::empty(204),
            })
        }
        ("roleassignments", "GET", None) => {
            Ok(Answer::json(200, list_assignments(kit, r, call, &p.scope)))
        }
        _ => Err(ArmError::new(
            405,
            "MethodNotAllowed",
            format!("The requested resource does not support http method '{method}'."),
        )),
    }
}

fn assignment_id(scope: &str, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{name}",
        super::types::canonical_scope(scope)
    )
}

fn put_assignment(
    kit: &ArmKit,
    r: &FakeRequest<'_>,
    call: &ArmCall,
    p: &ResourcePath,
    name: &str,
) -> Result<Answer, ArmError> {
    if uuid::Uuid::parse_str(name).is_err() {
        return Err(ArmError::bad_request(
            "InvalidRoleAssignmentId",
            format!(
                "The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."
            ),
        ));
    }
    let request = r.json().unwrap_or_else(|| json!({}));
    let text = |pointer: &str| {
        request
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (role, principal) = (
        text("/properties/roleDefinitionId"),
        text("/properties/principalId"),
    );
    let principal_type = Some(text("/properties/principalType"))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "User".into());
    if role.is_empty() || principal.is_empty() {
        return Err(ArmError::bad_request(
            "InvalidRequestContent",
            "The request content was invalid: properties.roleDefinitionId and properties.principalId are required.",
        ));
    }
    let guid = role
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if uuid::Uuid::parse_str(&guid).is_err() {
        return Err(ArmError::bad_request(
            "RoleDefinitionDoesNotExist",
            format!("The specified role definition with ID '{guid}' does not exist."),
        ));
    }
    let now = kit.now();
    let mut state = kit.state();
    if state
        .principals
        .get(&principal)
        .is_none_or(|visible| *visible > now)
    {
        return Err(ArmError::bad_request(
            "PrincipalNotFound",
            format!(
                "Principal {} does not exist in the directory {}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
                principal.replace('-', ""),
                call.claims.tid
            ),
        ));
    }
    let scope = super::types::canonical_scope(&p.scope);
    let id = assignment_id(&p.scope, name);
    let key = id_key(&id);
    let same = |v: &Value| {
        v.pointer("/properties/principalId") == Some(&json!(principal))
            && v.pointer("/properties/roleDefinitionId")
                .and_then(Value::as_str)
                .and_then(|d| d.rsplit('/').next())
                .is_some_and(|g| g.eq_ignore_ascii_case(&guid))
            && v.pointer("/properties/scope")
                .and_then(Value::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case(&scope))
    };
    if let Some(existing) = state.resources.get(&key) {
        if same(&existing.body) {
            return Ok(Answer::json(200, existing.body.clone()));
        }
        return Err(ArmError::conflict(
            "RoleAssignmentUpdateNotPermitted",
            "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
        ));
    }
    if state.of_type(ASSIGNMENT_TYPE).any(|r| same(&r.body)) {
        return Err(ArmError::conflict(
            "RoleAssignmentExists",
            "The role assignment already exists.",
        ));
    }
    let stamp = rfc3339(now);
    let body = json!({
        "id": id,
        "name": name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": role, "principalId": principal, "principalType": principal_type, "scope": scope,
            "condition": request.pointer("/properties/condition").cloned().unwrap_or(Value::Null),
            "conditionVersion": request.pointer("/properties/conditionVersion").cloned().unwrap_or(Value::Null),
            "description": request.pointer("/properties/description").cloned().unwrap_or(Value::Null),
            "createdOn": stamp, "updatedOn": stamp, "createdBy": call.claims.oid, "updatedBy": call.claims.oid,
        }
    });
    state.write(
        &key,
        Resource {
            id: body["id"].as_str().unwrap_or_default().to_owned(),
            type_key: ASSIGNMENT_TYPE.into(),
            parent: id_key(&scope),
            subscription: p.subscription.to_ascii_lowercase(),
            body: body.clone(),
            created: now,
            generation: 0,
        },
    );
    Ok(Answer::json(201, body))
}

/// The assignments at, above (inherited) and below `scope`; `$filter` `principalId eq '…'`,
/// `assignedTo('…')` and `atScope()` as ARM reads them.
fn list_assignments(kit: &ArmKit, r: &FakeRequest<'_>, call: &ArmCall, scope: &str) -> Value {
    let filter = r.query("$filter").unwrap_or_default();
    let quoted = || filter.split('\'').nth(1).map(str::to_owned);
    let principal = (filter.contains("principalId eq") || filter.contains("assignedTo("))
        .then(quoted)
        .flatten();
    let at_scope = filter.contains("atScope()");
    let state = kit.state();
    let items: Vec<Value> = state
        .of_type(ASSIGNMENT_TYPE)
        .filter(|res| {
            let s = res.body["properties"]["scope"].as_str().unwrap_or_default();
            let related = if at_scope {
                scope_within(scope, s)
            } else {
                scope_within(scope, s) || scope_within(s, scope)
            };
            related
                && principal.as_ref().is_none_or(|p| {
                    res.body["properties"]["principalId"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(p))
                })
        })
        .map(|res| res.body.clone())
        .collect();
    let size = state.page_size;
    drop(state);
    super::page(r, call, items, size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_not_actions_decide_like_arm() {
        let contributor = role_by_name("contributor").unwrap();
        assert!(contributor.grants("Microsoft.KeyVault/vaults/write"));
        assert!(!contributor.grants("Microsoft.Authorization/roleAssignments/write"));
        let sender = role_by_id("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/2b629674-e913-4c01-ae53-ef4638d8f975").unwrap();
        assert!(sender.grants("Microsoft.EventHub/namespaces/send/action"));
        assert!(!sender.grants("Microsoft.EventHub/namespaces/receive/action"));
        assert!(
            role_by_name("Reader")
                .unwrap()
                .grants("Microsoft.ContainerService/managedClusters/read")
        );
        assert!(scope_within(
            "/subscriptions/S/resourceGroups/rg/x",
            "/subscriptions/s"
        ));
        assert!(!scope_within(
            "/subscriptions/s/resourceGroups/rg2",
            "/subscriptions/s/resourceGroups/rg"
        ));
    }
}
