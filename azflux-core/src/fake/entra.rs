//! `FakeEntraId`: the Entra ID v2.0 token endpoint (`client_credentials` with a client secret, and with a
//! client assertion for workload identity) and the IMDS managed-identity endpoint. It issues JWT-shaped
//! tokens carrying `aud`, `tid`, `oid`, `exp`, answers mistakes with the real AADSTS error bodies, and lets
//! the other fakes verify the bearer tokens they receive.

use super::jwt::{self, Claims, TokenError};
use super::request::FakeRequest;
use crate::clock::Clock;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use wiremock::ResponseTemplate;

/// The audience a Kubernetes projected service-account token carries for workload identity.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// A federated identity credential: which external tokens an application accepts as client assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedCredential {
    /// The external issuer (an AKS OIDC issuer URL), compared byte for byte.
    pub issuer: String,
    /// The subject (`system:serviceaccount:flux-system:source-controller`).
    pub subject: String,
    /// The audience (`api://AzureADTokenExchange`).
    pub audience: String,
}

#[derive(Clone)]
struct App {
    tenant: String,
    object_id: String,
    secret: Option<SecretString>,
    federated: Vec<FederatedCredential>,
}

/// A managed identity the fake IMDS endpoint can hand out tokens for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedIdentity {
    /// Client id.
    pub client_id: String,
    /// Principal (object) id.
    pub object_id: String,
    /// Tenant.
    pub tenant: String,
}

#[derive(Default)]
struct State {
    apps: HashMap<String, App>,
    managed: Vec<ManagedIdentity>,
    issued: Vec<(String, String)>,
}

/// The fake Entra ID.
#[derive(Clone)]
pub struct FakeEntraId {
    state: Arc<Mutex<State>>,
    clock: Arc<dyn Clock>,
    key: Arc<[u8; 32]>,
    token_lifetime: Duration,
}

impl fmt::Debug for FakeEntraId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeEntraId")
            .field("token_lifetime", &self.token_lifetime)
            .finish_non_exhaustive()
    }
}

/// Why a bearer token was refused, with the 401 body ARM would send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization: Bearer` header.
    Missing,
    /// Not a token this cloud issued (bad signature or shape).
    Invalid,
    /// Expired.
    Expired,
    /// Issued for another audience.
    WrongAudience(String),
}

impl AuthFailure {
    /// The 401 ARM answers with (`AuthenticationFailed`, `InvalidAuthenticationToken`,
    /// `ExpiredAuthenticationToken`, `InvalidAuthenticationTokenAudience`).
    pub fn arm_response(&self) -> ResponseTemplate {
        let (code, message) = match self {
            AuthFailure::Missing => (
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.".to_owned(),
            ),
            AuthFailure::Invalid => (
                "InvalidAuthenticationToken",
                "The access token is invalid.".to_owned(),
            ),
            AuthFailure::Expired => (
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time is earlier than current UTC time.".to_owned(),
            ),
            AuthFailure::WrongAudience(aud) => (
                "InvalidAuthenticationTokenAudience",
                format!(
                    "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."
                ),
            ),
        };
        ResponseTemplate::new(401)
            .insert_header(
                "www-authenticate",
                r#"Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="The authentication failed.""#,
            )
            .set_body_json(json!({"error": {"code": code, "message": message}}))
    }
}

impl FakeEntraId {
    pub(crate) fn new(clock: Arc<dyn Clock>, token_lifetime: Duration) -> Self {
        let key: [u8; 32] = rand::random();
        Self {
            state: Default::default(),
            clock,
            key: Arc::new(key),
            token_lifetime,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers an application (service principal) with a client secret. Returns its object id.
    pub fn register_app(
        &self,
        tenant: &str,
        client_id: &str,
        secret: Option<SecretString>,
    ) -> String {
        let object_id = uuid::Uuid::new_v4().to_string();
        self.state().apps.insert(
            client_id.to_owned(),
            App {
                tenant: tenant.to_owned(),
                object_id: object_id.clone(),
                secret,
                federated: Vec::new(),
            },
        );
        object_id
    }

    /// Lets `client_id` (an app or user-assigned identity) accept assertions matching `credential`.
    /// Registers the client in `tenant` first if it is unknown.
    pub fn add_federated_credential(
        &self,
        tenant: &str,
        client_id: &str,
        object_id: &str,
        credential: FederatedCredential,
    ) {
        let mut state = self.state();
        let app = state
            .apps
            .entry(client_id.to_owned())
            .or_insert_with(|| App {
                tenant: tenant.to_owned(),
                object_id: object_id.to_owned(),
                secret: None,
                federated: Vec::new(),
            });
        if !app.federated.contains(&credential) {
            app.federated.push(credential);
        }
    }

    /// Removes the federated credentials of `client_id` that match `issuer` and `subject`.
    pub fn remove_federated_credential(&self, client_id: &str, issuer: &str, subject: &str) {
        if let Some(app) = self.state().apps.get_mut(client_id) {
            app.federated
                .retain(|f| !(f.issuer == issuer && f.subject == subject));
        }
    }

    /// Makes a managed identity available from the IMDS endpoint.
    pub fn add_managed_identity(&self, identity: ManagedIdentity) {
        self.state().managed.push(identity);
    }

    /// (client id, scope) of every token issued so far.
    pub fn tokens_issued(&self) -> Vec<(String, String)> {
        self.state().issued.clone()
    }

    /// Mints an access token directly (for tests that need a token without a credential).
    pub fn mint(&self, tenant: &str, client_id: &str, object_id: &str, audience: &str) -> String {
        let now = self.clock.now().unix_timestamp();
        jwt::sign(
            &Claims {
                aud: audience.to_owned(),
                iss: format!("https://sts.windows.net/{tenant}/"),
                sub: object_id.to_owned(),
                tid: tenant.to_owned(),
                oid: object_id.to_owned(),
                appid: client_id.to_owned(),
                iat: now,
                nbf: now,
                exp: now + self.token_lifetime.as_secs() as i64,
            },
            &self.key[..],
        )
    }

    /// Mints a Kubernetes-style projected service-account token (the workload-identity client assertion) as a
    /// cluster with OIDC issuer `issuer` would, for `system:serviceaccount:<namespace>:<name>`.
    pub fn mint_service_account_token(
        &self,
        issuer: &str,
        namespace: &str,
        name: &str,
        lifetime: Duration,
    ) -> String {
        let now = self.clock.now().unix_timestamp();
        let claims = Claims {
            aud: TOKEN_EXCHANGE_AUDIENCE.to_owned(),
            iss: issuer.to_owned(),
            sub: format!("system:serviceaccount:{namespace}:{name}"),
            tid: String::new(),
            oid: String::new(),
            appid: String::new(),
            iat: now,
            nbf: now,
            exp: now + lifetime.as_secs() as i64,
        };
        // Signed with a key of "the cluster": Entra ID checks it through the issuer's OIDC discovery, which this
        // fake does not model; issuer, subject, audience and expiry are checked.
        jwt::sign(&claims, b"fake-cluster-service-account-signing-key")
    }

    /// Verifies a token this fake issued, for `audience` (compared without a trailing slash).
    /// Tokens for another identifier of the same resource pass (see [`SAME_RESOURCE`]).
    pub fn verify(&self, token: &str, audience: &str) -> Result<Claims, AuthFailure> {
        let claims = jwt::verify(
            token,
            &self.key[..],
            self.clock.now().unix_timestamp(),
            None,
        )
        .map_err(|e| match e {
            TokenError::Expired => AuthFailure::Expired,
            _ => AuthFailure::Invalid,
        })?;
        if same_resource(audience, &claims.aud) {
            Ok(claims)
        } else {
            Err(AuthFailure::WrongAudience(claims.aud))
        }
    }

    /// Verifies the `Authorization: Bearer` header of a request.
    pub fn verify_request(
        &self,
        request: &FakeRequest<'_>,
        audience: &str,
    ) -> Result<Claims, AuthFailure> {
        let token = request.bearer().ok_or(AuthFailure::Missing)?;
        self.verify(token, audience)
    }

    /// Handles `POST /{tenant}/oauth2/v2.0/token`.
    pub(crate) fn token_endpoint(&self, request: &FakeRequest<'_>) -> ResponseTemplate {
        let tenant = request
            .path()
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let form = request.form();
        let field = |n: &str| form.get(n).cloned().unwrap_or_default();
        let grant = field("grant_type");
        if grant != "client_credentials" {
            return aad_error(
                400,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type.",
            );
        }
        let client_id = field("client_id");
        let scope = field("scope");
        let app = self.state().apps.get(&client_id).cloned();
        let Some(app) = app.filter(|a| {
            a.tenant.eq_ignore_ascii_case(&tenant)
                || tenant == "organizations"
                || format!("{}.onmicrosoft.com", a.tenant) == tenant.to_ascii_lowercase()
        }) else {
            let known_tenant = self.state().apps.values().any(|a| a.tenant == tenant);
            if !known_tenant {
                return aad_error(
                    400,
                    "invalid_request",
                    90002,
                    &format!(
                        "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
                    ),
                );
            }
            return aad_error(
                400,
                "unauthorized_client",
                700016,
                &format!(
                    "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
                ),
            );
        };
        // Authenticate the client: a secret, or an assertion matching a federated credential.
        if let Some(assertion) = form.get("client_assertion") {
            if form.get("client_assertion_type").map(String::as_str)
                != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            {
                return aad_error(
                    400,
                    "invalid_request",
                    50027,
                    "Invalid JWT token: client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
                );
            }
            let Ok(claims) = jwt::peek(assertion) else {
                return aad_error(
                    400,
                    "invalid_client",
                    50027,
                    "JWT token is invalid or malformed.",
                );
            };
            if claims.exp <= self.clock.now().unix_timestamp() {
                return aad_error(
                    400,
                    "invalid_client",
                    700024,
                    "Client assertion is not within its valid time range.",
                );
            }
            let matched = app.federated.iter().any(|f| {
                f.issuer == claims.iss && f.subject == claims.sub && f.audience == claims.aud
            });
            if !matched {
                return aad_error(
                    400,
                    "invalid_client",
                    70021,
                    &format!(
                        "No matching federated identity record found for presented assertion. Assertion Issuer: '{}'. Assertion Subject: '{}'. Assertion Audience: '{}'.",
                        claims.iss, claims.sub, claims.aud
                    ),
                );
            }
        } else {
            let given = form
                .get("client_secret")
                .map(String::as_str)
                .unwrap_or_default();
            let ok = app
                .secret
                .as_ref()
                .is_some_and(|s| constant_time_eq(s.expose_secret().as_bytes(), given.as_bytes()));
            if !ok {
                return aad_error(
                    401,
                    "invalid_client",
                    7000215,
                    &format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                    ),
                );
            }
        }
        let Some(audience) = audience_of(&scope) else {
            return aad_error(
                400,
                "invalid_scope",
                70011,
                &format!(
                    "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
                ),
            );
        };
        self.state().issued.push((client_id.clone(), scope.clone()));
        let token = self.mint(&app.tenant, &client_id, &app.object_id, &audience);
        let lifetime = self.token_lifetime.as_secs();
        ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": token,
        }))
    }

    /// Handles `GET /metadata/identity/oauth2/token` (IMDS).
    pub(crate) fn imds_endpoint(&self, request: &FakeRequest<'_>) -> ResponseTemplate {
        if request.header("metadata").as_deref() != Some("true") {
            return ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}));
        }
        let Some(resource) = request.query("resource") else {
            return ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_request", "error_description": "Required query variable 'resource' is missing"}));
        };
        let managed = self.state().managed.clone();
        let wanted = request
            .query("client_id")
            .or_else(|| request.query("object_id"));
        let identity = match wanted {
            Some(id) => managed
                .iter()
                .find(|m| m.client_id == id || m.object_id == id)
                .cloned(),
            None if managed.len() == 1 => managed.first().cloned(),
            None if managed.len() > 1 => {
                return ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_request", "error_description": "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request"}));
            }
            None => None,
        };
        let Some(identity) = identity else {
            return ResponseTemplate::new(400).set_body_json(
                json!({"error": "invalid_request", "error_description": "Identity not found"}),
            );
        };
        self.state()
            .issued
            .push((identity.client_id.clone(), resource.clone()));
        let token = self.mint(
            &identity.tenant,
            &identity.client_id,
            &identity.object_id,
            resource.trim_end_matches('/'),
        );
        let now = self.clock.now().unix_timestamp();
        let lifetime = self.token_lifetime.as_secs() as i64;
        // IMDS sends its numbers as strings.
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token,
            "refresh_token": "",
            "expires_in": lifetime.to_string(),
            "expires_on": (now + lifetime).to_string(),
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }))
    }

    /// Whether `tenant` (a tenant id, or the verified domain `<id>.onmicrosoft.com` this fake gives each
    /// tenant) is one this fake knows, or one of the multi-tenant aliases.
    fn tenant_known(&self, tenant: &str) -> bool {
        let tenant = tenant.to_ascii_lowercase();
        matches!(tenant.as_str(), "common" | "organizations" | "consumers")
            || self.state().apps.values().any(|a| {
                a.tenant.eq_ignore_ascii_case(&tenant)
                    || format!("{}.onmicrosoft.com", a.tenant) == tenant
            })
    }

    /// Handles `GET /{tenant}/v2.0/.well-known/openid-configuration` (MSAL-based clients — the az CLI,
    /// azure-identity — read it before the first token request). The shape is the real document's
    /// (`login.microsoftonline.com/<tenant>/v2.0/.well-known/openid-configuration`): endpoints under the
    /// host the client asked (so a client reaching the fake through the proxy or the front door stays
    /// there), `issuer` on the same host (MSAL compares it with the authority), and an unknown tenant gets
    /// `400 invalid_tenant` / AADSTS90002 as from Entra ID.
    pub(crate) fn openid_configuration(
        &self,
        request: &FakeRequest<'_>,
        authority: &str,
    ) -> ResponseTemplate {
        let tenant = request
            .path()
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        if !self.tenant_known(&tenant) {
            return aad_error(
                400,
                "invalid_tenant",
                90002,
                &format!(
                    "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
                ),
            );
        }
        let authority = authority.trim_end_matches('/');
        let base = format!("{authority}/{tenant}");
        // Multi-tenant documents carry the `{tenantid}` template, as Entra ID's do.
        let issuer_tenant = if matches!(
            tenant.to_ascii_lowercase().as_str(),
            "common" | "organizations" | "consumers"
        ) {
            "{tenantid}".to_owned()
        } else {
            tenant.clone()
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "token_endpoint": format!("{base}/oauth2/v2.0/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{base}/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": format!("{authority}/{issuer_tenant}/v2.0"),
            "request_uri_parameter_supported": false,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
            "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
            "http_logout_supported": true,
            "frontchannel_logout_supported": true,
            "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
            "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
            "kerberos_endpoint": format!("{base}/kerberos"),
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }))
    }

    /// Handles `GET /common/discovery/instance?api-version=1.1&authorization_endpoint=<url>` (MSAL's
    /// instance discovery, done before trusting an authority it does not know by name): the tenant
    /// discovery endpoint for the tenant of `authorization_endpoint`, on the host the client asked, and the
    /// host's aliases. A missing or foreign `authorization_endpoint` gets AADSTS50049, as from Entra ID.
    pub(crate) fn instance_discovery(&self, request: &FakeRequest<'_>) -> ResponseTemplate {
        let origin = request.origin();
        let host = request.host();
        let endpoint = request.query("authorization_endpoint");
        let parsed = endpoint.as_deref().and_then(|e| url::Url::parse(e).ok());
        let Some(parsed) = parsed.filter(|u| {
            u.scheme() == "https" && u.host_str().is_some_and(|h| h.eq_ignore_ascii_case(&host))
        }) else {
            return aad_error(
                400,
                "invalid_instance",
                50049,
                "Unknown or invalid instance.",
            );
        };
        let tenant = parsed
            .path_segments()
            .and_then(|mut s| s.next().map(str::to_owned))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "common".into());
        let mut aliases = vec![host.clone()];
        for alias in [
            "login.microsoftonline.com",
            "login.windows.net",
            "login.microsoft.com",
            "sts.windows.net",
        ] {
            if host == "login.microsoftonline.com" && alias != host {
                aliases.push(alias.to_owned());
            }
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "tenant_discovery_endpoint": format!("{origin}/{tenant}/v2.0/.well-known/openid-configuration"),
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": aliases}],
        }))
    }
}

/// Resource identifiers that name the same resource: a token for one is accepted where the other is
/// expected, as the services do (ARM lists `https://management.core.windows.net/` and
/// `https://management.azure.com/` as its allowed audiences; the az CLI asks for the former, with the
/// double slash, `https://management.core.windows.net//.default`).
const SAME_RESOURCE: &[&[&str]] = &[
    &[
        "https://management.azure.com",
        "https://management.core.windows.net",
        "797f4846-ba00-4fd7-ba43-dac1f8f63013",
    ],
    &[
        "https://management.chinacloudapi.cn",
        "https://management.core.chinacloudapi.cn",
    ],
    &[
        "https://management.usgovcloudapi.net",
        "https://management.core.usgovcloudapi.net",
    ],
    &[
        "https://vault.azure.net",
        "cfa8b339-82a2-471a-a3c9-0fc0be7a4093",
    ],
];

/// Whether a token for `got` is good where `want` is expected.
fn same_resource(want: &str, got: &str) -> bool {
    let (want, got) = (want.trim_end_matches('/'), got.trim_end_matches('/'));
    want.eq_ignore_ascii_case(got)
        || SAME_RESOURCE.iter().any(|group| {
            group.iter().any(|r| r.eq_ignore_ascii_case(want))
                && group.iter().any(|r| r.eq_ignore_ascii_case(got))
        })
}

/// `<resource>/.default` → the token audience; anything else is an invalid scope.
fn audience_of(scope: &str) -> Option<String> {
    let mut scopes = scope
        .split_whitespace()
        .filter(|s| !matches!(*s, "offline_access" | "openid" | "profile"));
    let only = scopes.next()?;
    if scopes.next().is_some() {
        return None;
    }
    let resource = only.strip_suffix("/.default")?;
    let resource = resource.trim_end_matches('/');
    (!resource.is_empty()).then(|| resource.to_owned())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn aad_error(status: u16, error: &str, code: u32, description: &str) -> ResponseTemplate {
    let trace = uuid::Uuid::new_v4();
    let correlation = uuid::Uuid::new_v4();
    let timestamp = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    ResponseTemplate::new(status).set_body_json(json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {timestamp}"),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace.to_string(),
        "correlation_id": correlation.to_string(),
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_management_audiences_name_one_resource() {
        assert!(same_resource(
            "https://management.azure.com",
            "https://management.core.windows.net/"
        ));
        assert!(same_resource(
            "https://management.azure.com/",
            "https://management.azure.com"
        ));
        assert!(!same_resource(
            "https://management.azure.com",
            "https://vault.azure.net"
        ));
        assert!(!same_resource(
            "https://vault.azure.net",
            "https://management.core.windows.net"
        ));
        // The az CLI's scope, with its double slash.
        assert_eq!(
            audience_of("https://management.core.windows.net//.default").as_deref(),
            Some("https://management.core.windows.net")
        );
    }

    #[test]
    fn scopes_map_to_audiences() {
        assert_eq!(
            audience_of("https://management.azure.com/.default").as_deref(),
            Some("https://management.azure.com")
        );
        assert_eq!(
            audience_of("499b84ac-1321-427f-aa17-267ca6975798/.default").as_deref(),
            Some("499b84ac-1321-427f-aa17-267ca6975798")
        );
        assert_eq!(
            audience_of("https://management.azure.com/user_impersonation"),
            None
        );
        assert_eq!(audience_of("https://a/.default https://b/.default"), None);
        assert_eq!(audience_of(""), None);
    }
}
