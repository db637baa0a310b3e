//! Serde request/response bodies of the Azure DevOps REST API (api-version 7.1: Git repositories,
//! refs, items, pushes; the PAT Lifecycle API 7.1-preview.1): no I/O. Field names follow the
//! service's camelCase JSON; unknown fields are ignored.

use serde::{Deserialize, Serialize};

/// The api-version of the Git and Core APIs.
pub const API_VERSION: &str = "7.1";
/// The api-version of the PAT Lifecycle API.
pub const PAT_API_VERSION: &str = "7.1-preview.1";
/// The object id git and Azure DevOps use for "no commit" (a new branch, an empty repository).
pub const ZERO_OBJECT_ID: &str = "0000000000000000000000000000000000000000";

/// `{"count": n, "value": [...]}`, the list envelope of the Azure DevOps REST API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListOf<T> {
    /// Number of items.
    #[serde(default)]
    pub count: Option<u64>,
    /// The items.
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
}

/// A project reference (`TeamProjectReference`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ProjectRef {
    /// Project id (GUID).
    pub id: String,
    /// Project name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `wellFormed`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// A Git repository (`GitRepository`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GitRepository {
    /// Repository id (GUID).
    pub id: String,
    /// Name.
    pub name: String,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectRef>,
    /// `refs/heads/main`; absent until the first push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// HTTPS clone URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_url: Option<String>,
    /// SSH clone URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_url: Option<String>,
    /// Web URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_url: Option<String>,
    /// Whether the repository is disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_disabled: Option<bool>,
}

/// Body of `POST {org}/{project}/_apis/git/repositories`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateRepository {
    /// Repository name.
    pub name: String,
    /// The project, by id.
    pub project: ProjectId,
}

/// `{"id": "<project id>"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectId {
    /// Project id.
    pub id: String,
}

/// A ref (`GitRef`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GitRef {
    /// `refs/heads/main`.
    pub name: String,
    /// The commit it points at.
    pub object_id: String,
}

/// An item (`GitItem`) of the Items API.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GitItem {
    /// Blob or tree id.
    pub object_id: String,
    /// `blob`, `tree`, `commit` (submodule).
    #[serde(default)]
    pub git_object_type: Option<String>,
    /// The commit the item was read at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_id: Option<String>,
    /// `/path/in/repo`.
    pub path: String,
    /// Whether it is a folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_folder: Option<bool>,
    /// The content (with `includeContent=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A ref update of a push.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RefUpdate {
    /// `refs/heads/main`.
    pub name: String,
    /// The tip the pusher saw (40 zeros for a new branch).
    pub old_object_id: String,
    /// The new tip (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_object_id: Option<String>,
    /// Repository id (responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_id: Option<String>,
}

/// Name, e-mail and date of an author or committer (`GitUserDate`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GitUserDate {
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// RFC 3339 date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

/// `add`, `edit`, `delete` (the Pushes API also knows `rename`, unused here).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ChangeType {
    /// A new file.
    Add,
    /// A changed file.
    Edit,
    /// A removed file.
    Delete,
}

/// How `newContent.content` is encoded.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum ContentType {
    /// UTF-8 text as is.
    #[serde(rename = "rawtext", alias = "rawText")]
    RawText,
    /// Standard base64 of the bytes.
    #[serde(rename = "base64encoded", alias = "base64Encoded")]
    Base64Encoded,
}

/// `{"path": "/file"}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ItemPath {
    /// `/path/in/repo`.
    pub path: String,
}

/// The new content of a file in a push.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NewContent {
    /// Text or base64.
    pub content: String,
    /// Which of the two.
    pub content_type: ContentType,
}

/// One change of a pushed commit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// What happens to the path.
    pub change_type: ChangeType,
    /// The path.
    pub item: ItemPath,
    /// The content (`add`, `edit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_content: Option<NewContent>,
}

/// A commit to create in a push.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PushCommit {
    /// The commit message.
    pub comment: String,
    /// The changes.
    pub changes: Vec<Change>,
    /// The author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<GitUserDate>,
    /// The committer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committer: Option<GitUserDate>,
}

/// Body of `POST …/pushes`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PushRequest {
    /// The ref to move.
    pub ref_updates: Vec<RefUpdate>,
    /// The commits to create (one here).
    pub commits: Vec<PushCommit>,
}

/// A created commit in a push response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CommitRef {
    /// Commit id.
    pub commit_id: String,
    /// Tree id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_id: Option<String>,
    /// Parents.
    #[serde(default)]
    pub parents: Vec<String>,
    /// Message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Response of `POST …/pushes` (`GitPush`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PushResponse {
    /// The commits created.
    #[serde(default)]
    pub commits: Vec<CommitRef>,
    /// The refs moved.
    #[serde(default)]
    pub ref_updates: Vec<RefUpdate>,
    /// Push id.
    #[serde(default)]
    pub push_id: Option<u64>,
}

/// The VSS `WrappedException` error body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WrappedException {
    /// `TF401019: …`.
    pub message: String,
    /// `Microsoft.TeamFoundation.Git.Server.GitRepositoryNotFoundException, …`.
    #[serde(default)]
    pub type_name: Option<String>,
    /// `GitRepositoryNotFoundException`.
    #[serde(default)]
    pub type_key: Option<String>,
    /// Error code (usually 0).
    #[serde(default)]
    pub error_code: Option<i64>,
    /// Event id.
    #[serde(default)]
    pub event_id: Option<i64>,
}

impl WrappedException {
    /// The `TFnnnnnn` code at the start of the message, if any.
    pub fn tf_code(&self) -> Option<&str> {
        let head = self.message.split(':').next()?;
        let digits = head.strip_prefix("TF")?;
        (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())).then_some(head)
    }
}

/// Body of `POST https://vssps.dev.azure.com/{org}/_apis/tokens/pats` (`PatTokenCreateRequest`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PatCreateRequest {
    /// Display name.
    pub display_name: String,
    /// Space-separated scopes (`vso.code_write`).
    pub scope: String,
    /// Expiry, RFC 3339.
    pub valid_to: String,
    /// Valid for every organization of the user.
    pub all_orgs: bool,
}

/// A PAT's metadata (`PatToken`); `token` only in the create response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PatTokenWire {
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// Expiry, RFC 3339.
    #[serde(default)]
    pub valid_to: Option<String>,
    /// Start of validity, RFC 3339.
    #[serde(default)]
    pub valid_from: Option<String>,
    /// Scopes.
    #[serde(default)]
    pub scope: Option<String>,
    /// Organizations (ids) it is valid for.
    #[serde(default)]
    pub target_accounts: Option<Vec<String>>,
    /// The id used to get, update and revoke it.
    #[serde(default)]
    pub authorization_id: String,
    /// The secret (create only).
    #[serde(default)]
    pub token: Option<String>,
}

/// `{"patToken": …, "patTokenError": "none"}` (`PatTokenResult`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PatTokenResult {
    /// The token.
    #[serde(default)]
    pub pat_token: Option<PatTokenWire>,
    /// `none`, or why the call failed (errors come back as 200).
    #[serde(default)]
    pub pat_token_error: Option<String>,
}

/// `{"continuationToken": …, "patTokens": [...]}` (`PagedPatTokens`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PagedPatTokens {
    /// Continuation token for the next page.
    #[serde(default)]
    pub continuation_token: Option<String>,
    /// The tokens (without secrets).
    #[serde(default)]
    pub pat_tokens: Vec<PatTokenWire>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn push_request_has_the_service_shape() {
        let body = PushRequest {
            ref_updates: vec![RefUpdate {
                name: "refs/heads/main".into(),
                old_object_id: ZERO_OBJECT_ID.into(),
                new_object_id: None,
                repository_id: None,
            }],
            commits: vec![PushCommit {
                comment: "Initial commit.".into(),
                changes: vec![
                    Change {
                        change_type: ChangeType::Add,
                        item: ItemPath {
                            path: "/readme.md".into(),
                        },
                        new_content: Some(NewContent {
                            content: "hi".into(),
                            content_type: ContentType::RawText,
                        }),
                    },
                    Change {
                        change_type: ChangeType::Delete,
                        item: ItemPath {
                            path: "/old.bin".into(),
                        },
                        new_content: None,
                    },
                ],
                author: None,
                committer: None,
            }],
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({
                "refUpdates": [{"name": "refs/heads/main", "oldObjectId": "0000000000000000000000000000000000000000"}],
                "commits": [{"comment": "Initial commit.", "changes": [
                    {"changeType": "add", "item": {"path": "/readme.md"}, "newContent": {"content": "hi", "contentType": "rawtext"}},
                    {"changeType": "delete", "item": {"path": "/old.bin"}}
                ]}]
            })
        );
        // The spec's enum spelling is accepted too.
        let c: NewContent =
            serde_json::from_value(json!({"content": "AA==", "contentType": "base64Encoded"}))
                .unwrap();
        assert_eq!(c.content_type, ContentType::Base64Encoded);
    }

    #[test]
    fn responses_parse() {
        let push: PushResponse = serde_json::from_value(json!({
            "commits": [{"treeId": "t", "commitId": "c1", "parents": [], "comment": "x\n", "author": {"name": "a"}}],
            "refUpdates": [{"repositoryId": "r", "name": "refs/heads/main", "oldObjectId": ZERO_OBJECT_ID, "newObjectId": "c1"}],
            "pushId": 83, "pushedBy": {"id": "u"}, "_links": {}
        }))
        .unwrap();
        assert_eq!(push.ref_updates[0].new_object_id.as_deref(), Some("c1"));
        assert_eq!(push.push_id, Some(83));
        let repo: GitRepository = serde_json::from_value(json!({
            "id": "5feb", "name": "AnotherRepository",
            "project": {"id": "6ce9", "name": "Fabrikam", "state": "wellFormed", "revision": 1},
            "remoteUrl": "https://dev.azure.com/f/F/_git/AnotherRepository"
        }))
        .unwrap();
        assert_eq!(repo.default_branch, None);
        assert_eq!(repo.project.unwrap().id, "6ce9");
        let result: PatTokenResult =
            serde_json::from_value(json!({"patToken": null, "patTokenError": "invalidValidTo"}))
                .unwrap();
        assert_eq!(result.pat_token_error.as_deref(), Some("invalidValidTo"));
        let w: WrappedException = serde_json::from_value(json!({
            "$id": "1", "innerException": null,
            "message": "TF401028: The reference 'refs/heads/main' has already been updated by another client, so you cannot update it. Please try again.",
            "typeName": "Microsoft.TeamFoundation.Git.Server.GitReferenceStaleException, Microsoft.TeamFoundation.Git.Server",
            "typeKey": "GitReferenceStaleException", "errorCode": 0, "eventId": 3000
        }))
        .unwrap();
        assert_eq!(w.tf_code(), Some("TF401028"));
        let plain = WrappedException {
            message: "Value cannot be null.".into(),
            type_name: None,
            type_key: None,
            error_code: None,
            event_id: None,
        };
        assert_eq!(plain.tf_code(), None);
    }
}
