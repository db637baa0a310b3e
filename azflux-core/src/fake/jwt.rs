//! JWT-shaped tokens for the fake cloud: HS256-signed with a key only the fake holds, carrying the claims real
//! Entra ID tokens carry (`aud`, `iss`, `tid`, `oid`, `appid`, `iat`, `nbf`, `exp`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The claims of a fake token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Audience: the resource (`https://management.azure.com`).
    pub aud: String,
    /// Issuer: `https://sts.windows.net/<tenant>/`, or a Kubernetes OIDC issuer for service-account tokens.
    pub iss: String,
    /// Subject (service principal object id, or `system:serviceaccount:<ns>:<name>`).
    pub sub: String,
    /// Tenant id.
    #[serde(default)]
    pub tid: String,
    /// Object id of the principal.
    #[serde(default)]
    pub oid: String,
    /// Application (client) id.
    #[serde(default)]
    pub appid: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Not before (unix seconds).
    pub nbf: i64,
    /// Expiry (unix seconds).
    pub exp: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts, or bad JSON.
    #[error("the token is malformed")]
    Malformed,
    /// The signature does not match (forged or from another issuer).
    #[error("the token signature is invalid")]
    BadSignature,
    /// `exp` has passed.
    #[error("the token expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("the token is not yet valid")]
    NotYetValid,
    /// The token is for another audience.
    #[error("the token is for audience '{0}'")]
    WrongAudience(String),
}

/// Signs `claims` with `key`.
pub fn sign(claims: &Claims, key: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(mac(key, signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

/// Reads the claims of any JWT without checking its signature (what clients do to learn `exp`).
pub fn peek(token: &str) -> Result<Claims, TokenError> {
    let payload = token.split('.').nth(1).ok_or(TokenError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

/// Verifies signature, time window (at `now`, unix seconds) and audience (compared without a trailing `/`).
pub fn verify(
    token: &str,
    key: &[u8],
    now: i64,
    audience: Option<&str>,
) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| TokenError::Malformed)?;
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|_| TokenError::Malformed)?;
    m.update(format!("{h}.{p}").as_bytes());
    m.verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;
    let claims = peek(token)?;
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    if claims.nbf > now + 300 {
        return Err(TokenError::NotYetValid);
    }
    if let Some(want) = audience
        && claims.aud.trim_end_matches('/') != want.trim_end_matches('/')
    {
        return Err(TokenError::WrongAudience(claims.aud.clone()));
    }
    Ok(claims)
}

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            aud: "https://management.azure.com/".into(),
            iss: "https://sts.windows.net/t/".into(),
            sub: "s".into(),
            tid: "t".into(),
            oid: "o".into(),
            appid: "a".into(),
            iat: 0,
            nbf: 0,
            exp,
        }
    }

    #[test]
    fn round_trip_and_rejections() {
        let t = sign(&claims(100), b"k");
        assert_eq!(
            verify(&t, b"k", 50, Some("https://management.azure.com"))
                .unwrap()
                .oid,
            "o"
        );
        assert_eq!(
            verify(&t, b"other", 50, None),
            Err(TokenError::BadSignature)
        );
        assert_eq!(verify(&t, b"k", 100, None), Err(TokenError::Expired));
        assert!(matches!(
            verify(&t, b"k", 50, Some("https://vault.azure.net")),
            Err(TokenError::WrongAudience(_))
        ));
        let mut forged = t.clone();
        forged.push('x');
        assert!(verify(&forged, b"k", 50, None).is_err());
        assert_eq!(verify("a.b", b"k", 0, None), Err(TokenError::Malformed));
    }
}
