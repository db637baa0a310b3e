//! [`FakeClientSecretCredential`]: a client-secret credential for the fake cloud that computes token expiry on
//! the cloud's clock. (azure_identity's own credential caches on the real clock, so after a test advances the
//! manual clock past expiry it would keep handing out a token the fakes call expired.)

use crate::clock::Clock;
use crate::http::{HttpPipeline, HttpPipelineOptions};
use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::http::{Method, Request, Url};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::sync::Arc;

/// A client-secret credential speaking the Entra ID v2 token endpoint, on a given clock, without a cache of its
/// own (wrap it in [`crate::credential::CachedCredential`] on the same clock).
pub struct FakeClientSecretCredential {
    token_endpoint: Url,
    client_id: String,
    secret: SecretString,
    pipeline: HttpPipeline,
    clock: Arc<dyn Clock>,
}

impl FakeClientSecretCredential {
    /// A credential for `client_id` in `tenant` of `cloud`, sending through `options`' transport.
    pub fn new(
        cloud: &crate::Cloud,
        tenant: &str,
        client_id: &str,
        secret: SecretString,
        options: &HttpPipelineOptions,
    ) -> crate::Result<Self> {
        let token_endpoint = cloud
            .token_endpoint(tenant)
            .map_err(|e| crate::Error::invalid(format!("tenant '{tenant}'"), e.to_string()))?;
        Ok(Self {
            token_endpoint,
            client_id: client_id.to_owned(),
            secret,
            pipeline: HttpPipeline::new(options),
            clock: options.clock.clone(),
        })
    }
}

impl fmt::Debug for FakeClientSecretCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeClientSecretCredential")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TokenCredential for FakeClientSecretCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let fail = |message: String| {
            azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, message)
        };
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", self.secret.expose_secret())
            .append_pair("grant_type", "client_credentials")
            .append_pair("scope", &scopes.join(" "))
            .finish();
        let mut request = Request::new(self.token_endpoint.clone(), Method::Post);
        request.insert_header("content-type", "application/x-www-form-urlencoded");
        request.set_body(body);
        let response = self
            .pipeline
            .send(&mut request)
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !response.is_success() {
            return Err(fail(response.error_for("token endpoint").to_string()));
        }
        let parsed: serde_json::Value = response
            .json("token endpoint")
            .map_err(|e| fail(e.to_string()))?;
        let token = parsed["access_token"]
            .as_str()
            .ok_or_else(|| fail("no access_token in the answer".into()))?;
        let lifetime = parsed["expires_in"].as_i64().unwrap_or(3599);
        Ok(AccessToken::new(
            Secret::new(token.to_owned()),
            self.clock.now() + time::Duration::seconds(lifetime),
        ))
    }
}
