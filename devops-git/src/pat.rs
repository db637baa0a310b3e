//! Personal access tokens: expiry checks with a warning window, and rotation through the PAT
//! Lifecycle API (`https://vssps.dev.azure.com/{org}/_apis/tokens/pats`, api-version
//! 7.1-preview.1, called with an Entra ID *user* token: the API accepts neither PATs nor
//! application tokens).
//!
//! Rotation is a resumable state machine whose progress lives in a caller-supplied
//! [`RotationState`] (serde) saved through a [`RotationStore`] after every step:
//!
//! 1. **create** a new PAT (the state is saved with a fresh display name *before* the call; the
//!    token is saved right after, so a crash in between leaves at most one unusable PAT with that
//!    name, which a resumed rotation revokes before creating the replacement);
//! 2. **store** the new PAT through the caller's [`PatSink`] (the Flux `flux-system` Secret);
//! 3. **verify** the new PAT works (GET the repository with it);
//! 4. **revoke** the old PAT (already revoked or unknown counts as done).
//!
//! A failure at any step returns [`Error::Rotation`] (or the API error) with the state saved at
//! the last completed step; calling [`PatRotator::rotate`] again with that state resumes there.
//! A PAT created and saved is never created again, and the old PAT is only revoked once the new
//! one is stored and verified.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use azflux_core::clock::Clock;
use azflux_core::http::{
    BearerAuth, HttpMethod, HttpPipeline, HttpPipelineOptions, HttpRequest, Response,
};
use azflux_core::{Cloud, TokenCredential};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

use crate::client::{DevOpsRestHost, devops_host_rules};
use crate::error::Error;
use crate::url::RepoUrl;
use crate::wire::{
    PAT_API_VERSION, PagedPatTokens, PatCreateRequest, PatTokenResult, PatTokenWire,
};

/// Where a PAT stands against its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatStatus {
    /// Valid for longer than the warning window.
    Valid {
        /// Whole days until `validTo`.
        days_left: i64,
    },
    /// Valid, but expires within the warning window: rotate it.
    ExpiringSoon {
        /// Whole days until `validTo` (0 on the last day).
        days_left: i64,
    },
    /// `validTo` has passed.
    Expired,
}

/// The status of a PAT valid until `valid_to`, at `now`, warning `warn_within` before expiry.
pub fn pat_status(
    valid_to: OffsetDateTime,
    now: OffsetDateTime,
    warn_within: Duration,
) -> PatStatus {
    if valid_to <= now {
        return PatStatus::Expired;
    }
    let left = valid_to - now;
    let days_left = left.whole_days();
    if left <= warn_within {
        PatStatus::ExpiringSoon { days_left }
    } else {
        PatStatus::Valid { days_left }
    }
}

/// A PAT's metadata (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatInfo {
    /// The id to get and revoke it with.
    pub authorization_id: String,
    /// Display name.
    pub display_name: String,
    /// Scopes (`vso.code_write`).
    pub scope: String,
    /// Expiry.
    #[serde(with = "time::serde::rfc3339")]
    pub valid_to: OffsetDateTime,
}

impl PatInfo {
    /// [`pat_status`] of this PAT on `clock`.
    pub fn status(&self, clock: &dyn Clock, warn_within: Duration) -> PatStatus {
        pat_status(self.valid_to, clock.now(), warn_within)
    }
}

/// A PAT just created: its metadata and the secret (shown only once by the service).
pub struct CreatedPat {
    /// Metadata.
    pub info: PatInfo,
    /// The token.
    pub token: SecretString,
}

impl fmt::Debug for CreatedPat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedPat")
            .field("info", &self.info)
            .field("token", &"<redacted>")
            .finish()
    }
}

fn pat_error_hint(code: &str) -> &'static str {
    match code {
        "displayNameRequired" | "invalidDisplayName" => "give the PAT a non-empty display name",
        "invalidValidTo" => {
            "choose an expiry in the future and within the organization's maximum lifetime"
        }
        "invalidScope" => "use valid scopes such as vso.code_write",
        "patLifespanPolicyViolation" => {
            "the organization limits PAT lifetimes: choose an earlier expiry"
        }
        "fullScopePatPolicyViolation" => {
            "the organization forbids full-scope PATs: request specific scopes"
        }
        "globalPatPolicyViolation" => {
            "the organization forbids all-organization PATs: set allOrgs to false"
        }
        "authorizationNotFound" | "invalidAuthorizationId" => {
            "the PAT does not exist (already revoked?): check the authorization id"
        }
        "userIdRequired" | "invalidUserId" | "invalidUserType" | "accessDenied" => {
            "call the PAT API with an Entra ID user token (not a PAT and not an application token)"
        }
        "invalidClientId" | "invalidClientType" | "invalidTokenType" => {
            "call the PAT API with an Entra ID user token for resource 499b84ac-1321-427f-aa17-267ca6975798"
        }
        "failedToUpdateAccessToken" | "failedToIssueAccessToken" | "failedToReadTenantPolicy" => {
            "a transient service failure: retry later"
        }
        _ => "see the Azure DevOps PAT Lifecycle API documentation for this error",
    }
}

fn parse_time(value: Option<&str>, resource: &str) -> Result<OffsetDateTime, Error> {
    value
        .and_then(|v| OffsetDateTime::parse(v, &Rfc3339).ok())
        .ok_or_else(|| {
            Error::Azure(azflux_core::Error::UnexpectedResponse {
                resource: resource.to_string(),
                message: "the PAT has no readable validTo".into(),
            })
        })
}

fn info_from(wire: &PatTokenWire, resource: &str) -> Result<PatInfo, Error> {
    Ok(PatInfo {
        authorization_id: wire.authorization_id.clone(),
        display_name: wire.display_name.clone(),
        scope: wire.scope.clone().unwrap_or_default(),
        valid_to: parse_time(wire.valid_to.as_deref(), resource)?,
    })
}

/// A client of the PAT Lifecycle API of one organization.
#[derive(Clone)]
pub struct PatClient {
    pipeline: HttpPipeline,
    organization: String,
}

impl fmt::Debug for PatClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PatClient")
            .field("organization", &self.organization)
            .finish_non_exhaustive()
    }
}

impl PatClient {
    /// A client for `organization`, authenticating with Entra ID *user* tokens from
    /// `user_credential` for the Azure DevOps resource of `cloud`.
    pub fn new(
        options: &HttpPipelineOptions,
        cloud: &Cloud,
        user_credential: Arc<dyn TokenCredential>,
        organization: impl Into<String>,
    ) -> Self {
        let auth = BearerAuth {
            credential: user_credential,
            scope: cloud.azure_devops_scope(),
            hosts: devops_host_rules(),
        };
        PatClient {
            pipeline: HttpPipeline::with_bearer(options, auth),
            organization: organization.into(),
        }
    }

    /// The organization.
    pub fn organization(&self) -> &str {
        &self.organization
    }

    /// The clock of the pipeline.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        self.pipeline.clock()
    }

    fn url(&self, authorization_id: Option<&str>) -> Result<Url, Error> {
        let mut url = Url::parse("https://vssps.dev.azure.com/").map_err(|e| Error::Network {
            url: "https://vssps.dev.azure.com/".into(),
            reason: e.to_string(),
        })?;
        if let Ok(mut s) = url.path_segments_mut() {
            s.clear()
                .extend([self.organization.as_str(), "_apis", "tokens", "pats"]);
        }
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api-version", PAT_API_VERSION);
            if let Some(id) = authorization_id {
                q.append_pair("authorizationId", id);
            }
        }
        Ok(url)
    }

    fn resource(&self) -> String {
        format!(
            "https://vssps.dev.azure.com/{}/_apis/tokens/pats",
            self.organization
        )
    }

    async fn send(
        &self,
        method: HttpMethod,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<Response, Error> {
        let mut request = HttpRequest::new(url, method);
        request.insert_header("accept", "application/json");
        if let Some(body) = body {
            request.insert_header("content-type", "application/json");
            request.set_body(body);
        }
        let response = self.pipeline.send(&mut request).await?;
        let json = response
            .header("content-type")
            .is_some_and(|c| c.to_ascii_lowercase().contains("json"));
        let auth_failed = matches!(response.status, 401 | 203)
            || (response.is_success() && !response.body.is_empty() && !json);
        if auth_failed {
            return Err(Error::Auth {
                url: self.resource(),
                method: "Entra ID user token",
                hint: "the PAT Lifecycle API needs an Entra ID user token (auth-code flow) for resource 499b84ac-1321-427f-aa17-267ca6975798 of a member of the organization; PATs and application tokens are refused".into(),
            });
        }
        Ok(response)
    }

    fn result(&self, operation: &'static str, response: Response) -> Result<PatTokenWire, Error> {
        let resource = self.resource();
        let response = response.check(&resource)?;
        let result: PatTokenResult = response.json(&resource)?;
        match result.pat_token_error.as_deref() {
            None | Some("none") => {}
            Some(code) => {
                return Err(Error::PatApi {
                    operation,
                    organization: self.organization.clone(),
                    code: code.to_string(),
                    hint: pat_error_hint(code).to_string(),
                });
            }
        }
        result.pat_token.ok_or_else(|| {
            Error::Azure(azflux_core::Error::UnexpectedResponse {
                resource,
                message: "the answer has no patToken".into(),
            })
        })
    }

    /// Creates a PAT for this organization only.
    pub async fn create(
        &self,
        display_name: &str,
        scope: &str,
        valid_to: OffsetDateTime,
    ) -> Result<CreatedPat, Error> {
        let body = PatCreateRequest {
            display_name: display_name.to_string(),
            scope: scope.to_string(),
            valid_to: valid_to
                .format(&Rfc3339)
                .map_err(|e| azflux_core::Error::invalid("validTo", e.to_string()))?,
            all_orgs: false,
        };
        let body = serde_json::to_vec(&body)
            .map_err(|e| azflux_core::Error::invalid("PAT request", e.to_string()))?;
        let response = self
            .send(HttpMethod::Post, self.url(None)?, Some(body))
            .await?;
        let wire = self.result("create a PAT", response)?;
        let info = info_from(&wire, &self.resource())?;
        let token = wire.token.filter(|t| !t.is_empty()).ok_or_else(|| {
            Error::Azure(azflux_core::Error::UnexpectedResponse {
                resource: self.resource(),
                message: "the created PAT came back without its token".into(),
            })
        })?;
        Ok(CreatedPat {
            info,
            token: SecretString::from(token),
        })
    }

    /// The PAT's metadata.
    pub async fn get(&self, authorization_id: &str) -> Result<PatInfo, Error> {
        let response = self
            .send(HttpMethod::Get, self.url(Some(authorization_id))?, None)
            .await?;
        let wire = self.result("read a PAT", response)?;
        info_from(&wire, &self.resource())
    }

    /// The active PATs of the calling user (every page).
    pub async fn list_active(&self) -> Result<Vec<PatInfo>, Error> {
        let resource = self.resource();
        let mut out = Vec::new();
        let mut continuation: Option<String> = None;
        // Bounded: 100 pages of 100 PATs.
        for _ in 0..100 {
            let mut url = self.url(None)?;
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("displayFilterOption", "active")
                    .append_pair("$top", "100");
                if let Some(token) = &continuation {
                    q.append_pair("continuationToken", token);
                }
            }
            let response = self.send(HttpMethod::Get, url, None).await?;
            let page: PagedPatTokens = response.check(&resource)?.json(&resource)?;
            for t in &page.pat_tokens {
                out.push(info_from(t, &resource)?);
            }
            continuation = page.continuation_token.filter(|t| !t.is_empty());
            if continuation.is_none() || page.pat_tokens.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    /// Revokes a PAT. `Ok(false)` when it was unknown (already revoked and gone).
    pub async fn revoke(&self, authorization_id: &str) -> Result<bool, Error> {
        let response = self
            .send(HttpMethod::Delete, self.url(Some(authorization_id))?, None)
            .await?;
        match response.status {
            200 | 204 => Ok(true),
            404 => Ok(false),
            _ => Err(response.error_for(&self.resource()).into()),
        }
    }

    /// [`pat_status`] of a PAT, read from the service, on the pipeline's clock.
    pub async fn status(
        &self,
        authorization_id: &str,
        warn_within: Duration,
    ) -> Result<PatStatus, Error> {
        let info = self.get(authorization_id).await?;
        Ok(info.status(self.pipeline.clock().as_ref(), warn_within))
    }
}

/// The error a [`PatSink`] or [`RotationStore`] returns.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Where a new PAT goes: typically the `password` of the Flux `flux-system` Secret.
#[async_trait]
pub trait PatSink: Send + Sync {
    /// Stores `pat` (idempotent: a resumed rotation may call it again with the same PAT).
    async fn store(&self, pat: &SecretString, info: &PatInfo) -> Result<(), SinkError>;
}

/// Where rotation progress is saved (a file with mode 0600, a Kubernetes Secret…). The state
/// holds the new PAT between its creation and the end of the rotation: store it as a secret.
#[async_trait]
pub trait RotationStore: Send + Sync {
    /// Saves `state` durably.
    async fn save(&self, state: &RotationState) -> Result<(), SinkError>;
}

/// The steps of a rotation, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RotationStep {
    /// Nothing done yet.
    NotStarted,
    /// A create call may have been sent (display name saved); no token saved yet.
    Creating,
    /// The new PAT exists and is saved in the state.
    Created,
    /// The sink holds the new PAT.
    Stored,
    /// The new PAT was verified against the repository.
    Verified,
    /// The old PAT is revoked; the rotation is complete.
    Done,
}

/// The progress of a rotation. Serialize it with serde (it contains the new PAT until the
/// rotation is done, so keep it secret); `Debug` is redacted.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationState {
    /// The PAT being replaced (`None`: nothing to revoke).
    pub old_authorization_id: Option<String>,
    /// The step reached.
    pub step: RotationStep,
    /// The display name of the new PAT (chosen before it is created).
    pub new_display_name: Option<String>,
    /// The new PAT's metadata once created.
    pub new_pat: Option<PatInfo>,
    /// The new PAT's secret, from creation until the rotation is done.
    #[serde(
        default,
        serialize_with = "serialize_secret",
        skip_serializing_if = "Option::is_none"
    )]
    new_token: Option<SecretString>,
}

fn serialize_secret<S: serde::Serializer>(
    value: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(s) => serializer.serialize_some(s.expose_secret()),
        None => serializer.serialize_none(),
    }
}

impl fmt::Debug for RotationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotationState")
            .field("old_authorization_id", &self.old_authorization_id)
            .field("step", &self.step)
            .field("new_display_name", &self.new_display_name)
            .field("new_pat", &self.new_pat)
            .field("new_token", &self.new_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl RotationState {
    /// A rotation replacing the PAT `old_authorization_id` (or none).
    pub fn new(old_authorization_id: Option<String>) -> Self {
        RotationState {
            old_authorization_id,
            step: RotationStep::NotStarted,
            new_display_name: None,
            new_pat: None,
            new_token: None,
        }
    }

    /// Whether the rotation is complete.
    pub fn is_done(&self) -> bool {
        self.step == RotationStep::Done
    }

    /// Whether the state holds the new PAT's secret.
    pub fn holds_new_token(&self) -> bool {
        self.new_token.is_some()
    }
}

/// Settings of a rotation.
#[derive(Debug, Clone)]
pub struct RotationOptions {
    /// Prefix of the new PAT's display name (a unique suffix is added).
    pub display_name_prefix: String,
    /// Scopes of the new PAT.
    pub scope: String,
    /// Lifetime of the new PAT.
    pub lifetime: Duration,
    /// A repository the new PAT must be able to read before the old one is revoked.
    pub verify_repository: RepoUrl,
}

/// Runs rotations: a [`PatClient`] (Entra user token) and the pipeline options used to verify the
/// new PAT.
#[derive(Debug, Clone)]
pub struct PatRotator {
    client: PatClient,
    verify_options: HttpPipelineOptions,
    options: RotationOptions,
}

impl PatRotator {
    /// A rotator. `verify_options` are the pipeline options for the repository check with the
    /// new PAT (usually the same as the client's).
    pub fn new(
        client: PatClient,
        verify_options: HttpPipelineOptions,
        options: RotationOptions,
    ) -> Self {
        PatRotator {
            client,
            verify_options,
            options,
        }
    }

    async fn save(&self, store: &dyn RotationStore, state: &RotationState) -> Result<(), Error> {
        store.save(state).await.map_err(|e| Error::Rotation {
            step: "save the rotation state",
            reason: e.to_string(),
        })
    }

    fn display_name(&self) -> String {
        let mut b = [0u8; 6];
        let suffix = match getrandom::fill(&mut b) {
            Ok(()) => b.iter().map(|x| format!("{x:02x}")).collect::<String>(),
            Err(_) => self.client.clock().now().unix_timestamp().to_string(),
        };
        format!("{}-{suffix}", self.options.display_name_prefix)
    }

    /// Runs (or resumes) the rotation in `state` to the end, saving it after every step.
    pub async fn rotate(
        &self,
        state: &mut RotationState,
        sink: &dyn PatSink,
        store: &dyn RotationStore,
    ) -> Result<PatInfo, Error> {
        loop {
            match state.step {
                RotationStep::NotStarted => {
                    state.new_display_name = Some(self.display_name());
                    state.step = RotationStep::Creating;
                    self.save(store, state).await?;
                }
                RotationStep::Creating => {
                    let name = match &state.new_display_name {
                        Some(n) => n.clone(),
                        None => self.display_name(),
                    };
                    // A crash after the service created a PAT but before its token was saved
                    // leaves a PAT nobody can use: revoke it before creating the replacement.
                    for orphan in self.client.list_active().await? {
                        if orphan.display_name == name
                            && Some(&orphan.authorization_id) != state.old_authorization_id.as_ref()
                        {
                            tracing::warn!(
                                authorization_id = %orphan.authorization_id,
                                "revoking a PAT created by an interrupted rotation whose token was not saved"
                            );
                            self.client.revoke(&orphan.authorization_id).await?;
                        }
                    }
                    let valid_to = self.client.clock().now() + self.options.lifetime;
                    let created = self
                        .client
                        .create(&name, &self.options.scope, valid_to)
                        .await?;
                    tracing::info!(
                        authorization_id = %created.info.authorization_id,
                        valid_to = %created.info.valid_to,
                        "created the new PAT"
                    );
                    state.new_display_name = Some(name);
                    state.new_pat = Some(created.info);
                    state.new_token = Some(created.token);
                    state.step = RotationStep::Created;
                    self.save(store, state).await?;
                }
                RotationStep::Created => {
                    let (token, info) = self.new_pat(state)?;
                    sink.store(&token, &info)
                        .await
                        .map_err(|e| Error::Rotation {
                            step: "store the new PAT",
                            reason: e.to_string(),
                        })?;
                    state.step = RotationStep::Stored;
                    self.save(store, state).await?;
                }
                RotationStep::Stored => {
                    let (token, _) = self.new_pat(state)?;
                    let host = DevOpsRestHost::with_pat(&self.verify_options, token);
                    match host.get_repository(&self.options.verify_repository).await {
                        Ok(Some(_)) => {}
                        Ok(None) => {
                            return Err(Error::Rotation {
                                step: "verify the new PAT",
                                reason: format!(
                                    "the new PAT cannot see {}; the old PAT stays valid: check the new PAT's scope",
                                    self.options.verify_repository
                                ),
                            });
                        }
                        Err(e) => {
                            return Err(Error::Rotation {
                                step: "verify the new PAT",
                                reason: format!("{e}; the old PAT stays valid"),
                            });
                        }
                    }
                    state.step = RotationStep::Verified;
                    self.save(store, state).await?;
                }
                RotationStep::Verified => {
                    if let Some(old) = &state.old_authorization_id {
                        let existed = self.client.revoke(old).await?;
                        tracing::info!(authorization_id = %old, existed, "revoked the old PAT");
                    }
                    state.step = RotationStep::Done;
                    state.new_token = None;
                    self.save(store, state).await?;
                }
                RotationStep::Done => {
                    return state.new_pat.clone().ok_or_else(|| Error::Rotation {
                        step: "finish",
                        reason: "the state is done but names no new PAT".into(),
                    });
                }
            }
        }
    }

    fn new_pat(&self, state: &RotationState) -> Result<(SecretString, PatInfo), Error> {
        match (&state.new_token, &state.new_pat) {
            (Some(t), Some(i)) => Ok((t.clone(), i.clone())),
            _ => Err(Error::Rotation {
                step: "read the rotation state",
                reason: "the state is past creation but holds no new PAT (was it saved without its token?)".into(),
            }),
        }
    }
}
