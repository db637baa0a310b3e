//! Token formats on the wire, parsed without I/O: the (unverified) JWT payload's `exp` claim.
//!
//! The REST bodies of the `EventSink` sender (send event / send batch, §6c of the design notes) will live
//! here too; they belong to the HTTP half of issue #8.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

/// Reads the `exp` claim (seconds since 1970) of a JWT's payload **without verifying the signature** (the
/// token came from Entra ID over TLS; we only need to know when to refresh it). `None` if `jwt` is not three
/// dot-separated base64url parts, the payload is not JSON, or `exp` is missing or out of range.
pub fn jwt_expiry(jwt: &str) -> Option<OffsetDateTime> {
    let mut parts = jwt.trim().split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?;
    let secs = exp.as_i64().or_else(|| {
        exp.as_f64()
            .filter(|f| f.is_finite())
            .map(|f| f.trunc() as i64)
    })?;
    OffsetDateTime::from_unix_timestamp(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn reads_exp_claim() {
        let t = jwt(r#"{"aud":"https://eventhubs.azure.net","exp":1767229200}"#);
        assert_eq!(
            jwt_expiry(&t),
            Some(time::macros::datetime!(2026-01-01 01:00 UTC))
        );
        let f = jwt(r#"{"exp":1767229200.9}"#);
        assert_eq!(
            jwt_expiry(&f),
            Some(time::macros::datetime!(2026-01-01 01:00 UTC))
        );
    }

    #[test]
    fn rejects_non_jwts() {
        assert_eq!(jwt_expiry("opaque-token"), None);
        assert_eq!(jwt_expiry("a.b"), None);
        assert_eq!(jwt_expiry("a.b.c.d"), None);
        assert_eq!(jwt_expiry(&jwt(r#"{"nbf":1}"#)), None);
        assert_eq!(jwt_expiry(&jwt("not json")), None);
        assert_eq!(jwt_expiry(&jwt(r#"{"exp":"soon"}"#)), None);
    }
}
