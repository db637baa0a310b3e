//! Shared Access Signature tokens: generation, parsing, verification, expiry helpers.
//!
//! Format (Service Bus / Event Hubs "Generate SAS token"):
//! `SharedAccessSignature sr=<enc uri>&sig=<enc base64 HMAC-SHA256(key, "<enc uri>\n<expiry>")>&se=<expiry>&skn=<name>`
//! where `<enc …>` is percent-encoding of everything but RFC 3986 unreserved characters (upper-case hex),
//! `<expiry>` is unix seconds (UTC), and the HMAC key is the UTF-8 bytes of the `SharedAccessKey` string as
//! given (it is *not* base64-decoded). The string to sign uses the same encoded URI that goes in `sr`.

use crate::api::{IssuedToken, TokenKind, TokenSource};
use crate::connection_string::ConnectionString;
use crate::error::{Error, Result};
use azflux_core::clock::Clock;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

type HmacSha256 = Hmac<Sha256>;

/// The scheme word every SAS token starts with.
pub const SAS_PREFIX: &str = "SharedAccessSignature ";

/// A shared access key: the authorization rule's name and its key. `Debug` shows the name only.
#[derive(Clone)]
pub struct SasKey {
    name: String,
    key: SecretString,
}

impl SasKey {
    /// A key named `name` (the `SharedAccessKeyName`) with value `key` (the `SharedAccessKey`, as given).
    pub fn new(name: impl Into<String>, key: SecretString) -> Self {
        Self {
            name: name.into(),
            key,
        }
    }

    /// The rule name (`skn`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key value. Handle with care: never log it.
    pub fn key(&self) -> &SecretString {
        &self.key
    }

    /// Signs `resource_uri` until `expiry` (truncated to whole seconds).
    pub fn sign(&self, resource_uri: &str, expiry: OffsetDateTime) -> Result<SasToken> {
        generate_sas_token(resource_uri, self, expiry)
    }

    /// Signs `resource_uri` for `ttl` from the clock's now.
    pub fn sign_for(
        &self,
        resource_uri: &str,
        clock: &dyn Clock,
        ttl: Duration,
    ) -> Result<SasToken> {
        self.sign(resource_uri, expiry_after(clock, ttl)?)
    }

    fn mac(&self) -> Result<HmacSha256> {
        HmacSha256::new_from_slice(self.key.expose_secret().as_bytes()).map_err(|_| {
            Error::InvalidInput {
                what: "shared access key",
                why: "the key cannot be used as an HMAC-SHA256 key".into(),
            }
        })
    }
}

impl fmt::Debug for SasKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SasKey")
            .field("name", &self.name)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

/// A generated SAS token with its non-secret facts. `Debug` and `Display` never show the token.
#[derive(Clone)]
pub struct SasToken {
    value: SecretString,
    resource_uri: String,
    key_name: String,
    expires_on: OffsetDateTime,
}

impl SasToken {
    /// The full token (`SharedAccessSignature sr=…`), the value of an `Authorization` header.
    pub fn secret(&self) -> &SecretString {
        &self.value
    }

    /// Consumes the token into its secret value.
    pub fn into_secret(self) -> SecretString {
        self.value
    }

    /// The resource URI it was signed for (not encoded).
    pub fn resource_uri(&self) -> &str {
        &self.resource_uri
    }

    /// The key name (`skn`).
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// When it expires (`se`).
    pub fn expires_on(&self) -> OffsetDateTime {
        self.expires_on
    }

    /// Whether it has expired at `now` (a token is valid strictly before `se`).
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_on
    }

    /// Time left at the clock's now (zero when expired).
    pub fn remaining(&self, clock: &dyn Clock) -> Duration {
        remaining_until(self.expires_on, clock.now())
    }
}

impl fmt::Debug for SasToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SasToken")
            .field("resource_uri", &self.resource_uri)
            .field("key_name", &self.key_name)
            .field("expires_on", &self.expires_on)
            .field("value", &"[REDACTED]")
            .finish()
    }
}

/// Generates a SAS token for `resource_uri`, signed with `key`, valid until `expiry` (whole seconds).
pub fn generate_sas_token(
    resource_uri: &str,
    key: &SasKey,
    expiry: OffsetDateTime,
) -> Result<SasToken> {
    if resource_uri.trim().is_empty() {
        return Err(Error::InvalidInput {
            what: "SAS resource URI",
            why: "it is empty; pass e.g. `https://<namespace>.servicebus.windows.net/<hub>`".into(),
        });
    }
    if key.name.is_empty() {
        return Err(Error::InvalidInput {
            what: "SAS key name",
            why: "it is empty".into(),
        });
    }
    let se = expiry.unix_timestamp();
    if se <= 0 {
        return Err(Error::InvalidInput {
            what: "SAS expiry",
            why: format!("{expiry} is not after 1970-01-01"),
        });
    }
    let sr = percent_encode(resource_uri);
    let mut mac = key.mac()?;
    mac.update(string_to_sign(&sr, &se.to_string()).as_bytes());
    let sig = BASE64.encode(mac.finalize().into_bytes());
    let value = format!(
        "{SAS_PREFIX}sr={sr}&sig={}&se={se}&skn={}",
        percent_encode(&sig),
        percent_encode(&key.name)
    );
    Ok(SasToken {
        value: SecretString::from(value),
        resource_uri: resource_uri.to_owned(),
        key_name: key.name.clone(),
        expires_on: unix_to_datetime(se)?,
    })
}

fn string_to_sign(encoded_uri: &str, expiry: &str) -> String {
    format!("{encoded_uri}\n{expiry}")
}

/// A parsed (not yet verified) SAS token. `Debug` hides the signature.
#[derive(Clone)]
pub struct ParsedSasToken {
    encoded_resource: String,
    resource_uri: String,
    signature: Vec<u8>,
    expiry_raw: String,
    expires_on: OffsetDateTime,
    key_name: String,
}

impl ParsedSasToken {
    /// Parses `token` (with or without the `SharedAccessSignature ` prefix). Fields may come in any order;
    /// `sr`, `sig`, `se` and `skn` are required.
    pub fn parse(token: &str) -> Result<Self> {
        let body = token.trim();
        let body = body.strip_prefix(SAS_PREFIX).unwrap_or(body);
        let malformed = |why: &str| Error::MalformedSasToken {
            why: why.to_owned(),
        };
        let (mut sr, mut sig, mut se, mut skn) = (None, None, None, None);
        for (i, field) in body.split('&').enumerate() {
            let Some((name, value)) = field.split_once('=') else {
                return Err(Error::MalformedSasToken {
                    why: format!("field {} has no `=`", i + 1),
                });
            };
            let slot = match name {
                "sr" => &mut sr,
                "sig" => &mut sig,
                "se" => &mut se,
                "skn" => &mut skn,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(Error::MalformedSasToken {
                    why: format!("field `{name}` appears twice"),
                });
            }
        }
        let sr = sr.ok_or_else(|| malformed("missing `sr` (the resource URI)"))?;
        let sig = sig.ok_or_else(|| malformed("missing `sig` (the signature)"))?;
        let se = se.ok_or_else(|| malformed("missing `se` (the expiry)"))?;
        let skn = skn.ok_or_else(|| malformed("missing `skn` (the key name)"))?;
        let resource_uri = percent_decode(sr)
            .ok_or_else(|| malformed("`sr` is not valid percent-encoded UTF-8"))?;
        let sig_b64 =
            percent_decode(sig).ok_or_else(|| malformed("`sig` is not valid percent-encoding"))?;
        let signature = BASE64
            .decode(sig_b64.as_bytes())
            .map_err(|_| malformed("`sig` is not base64"))?;
        let expiry_secs: i64 = se
            .parse()
            .map_err(|_| malformed("`se` is not a number of seconds since 1970"))?;
        let key_name = percent_decode(skn)
            .ok_or_else(|| malformed("`skn` is not valid percent-encoded UTF-8"))?;
        Ok(Self {
            encoded_resource: sr.to_owned(),
            resource_uri,
            signature,
            expiry_raw: se.to_owned(),
            expires_on: unix_to_datetime(expiry_secs)?,
            key_name,
        })
    }

    /// The decoded resource URI (`sr`).
    pub fn resource_uri(&self) -> &str {
        &self.resource_uri
    }

    /// The key name (`skn`).
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The expiry (`se`).
    pub fn expires_on(&self) -> OffsetDateTime {
        self.expires_on
    }

    /// Whether the token covers `resource`: the token's URI, compared without scheme and case-insensitively,
    /// is `resource` or a path prefix of it.
    pub fn covers(&self, resource: &str) -> bool {
        let token = normalise_resource(&self.resource_uri);
        let wanted = normalise_resource(resource);
        wanted == token
            || wanted
                .strip_prefix(&token)
                .is_some_and(|rest| token.ends_with('/') || rest.starts_with('/'))
    }
}

impl fmt::Debug for ParsedSasToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedSasToken")
            .field("resource_uri", &self.resource_uri)
            .field("key_name", &self.key_name)
            .field("expires_on", &self.expires_on)
            .field("signature", &"[REDACTED]")
            .finish()
    }
}

fn normalise_resource(uri: &str) -> String {
    let lower = uri.trim().to_ascii_lowercase();
    let without_scheme = lower
        .split_once("://")
        .map_or(lower.as_str(), |(_, rest)| rest);
    let trimmed = without_scheme.trim_end_matches('/');
    trimmed.to_owned()
}

/// Verifies SAS tokens the way the service does: key name, signature (constant-time), expiry on a [`Clock`].
#[derive(Debug, Clone)]
pub struct SasVerifier {
    key: SasKey,
}

impl SasVerifier {
    /// A verifier holding `key`.
    pub fn new(key: SasKey) -> Self {
        Self { key }
    }

    /// Parses and verifies `token` at the clock's now. Checks, in order: syntax, key name, signature,
    /// expiry. Returns the parsed token.
    pub fn verify(&self, token: &str, clock: &dyn Clock) -> Result<ParsedSasToken> {
        let parsed = ParsedSasToken::parse(token)?;
        if parsed.key_name != self.key.name {
            return Err(Error::KeyNameMismatch {
                expected: self.key.name.clone(),
                found: parsed.key_name,
            });
        }
        let mut mac = self.key.mac()?;
        mac.update(string_to_sign(&parsed.encoded_resource, &parsed.expiry_raw).as_bytes());
        // `verify_slice` compares in constant time.
        mac.verify_slice(&parsed.signature)
            .map_err(|_| Error::SignatureMismatch {
                key_name: self.key.name.clone(),
            })?;
        let now = clock.now();
        if now >= parsed.expires_on {
            return Err(Error::Expired {
                expired_at: parsed.expires_on,
                now,
            });
        }
        Ok(parsed)
    }

    /// [`verify`](Self::verify), then checks the token covers `resource` (e.g. the hub the request is for).
    pub fn verify_for(
        &self,
        token: &str,
        resource: &str,
        clock: &dyn Clock,
    ) -> Result<ParsedSasToken> {
        let parsed = self.verify(token, clock)?;
        if !parsed.covers(resource) {
            return Err(Error::ResourceMismatch {
                token_resource: parsed.resource_uri.clone(),
                requested: resource.to_owned(),
            });
        }
        Ok(parsed)
    }
}

/// The expiry `ttl` after the clock's now, truncated to whole seconds (what `se` can carry).
pub fn expiry_after(clock: &dyn Clock, ttl: Duration) -> Result<OffsetDateTime> {
    let ttl = time::Duration::try_from(ttl).map_err(|_| Error::InvalidInput {
        what: "SAS token lifetime",
        why: "it is too long".into(),
    })?;
    let at = clock
        .now()
        .checked_add(ttl)
        .ok_or_else(|| Error::InvalidInput {
            what: "SAS token lifetime",
            why: "now + lifetime overflows".into(),
        })?;
    unix_to_datetime(at.unix_timestamp())
}

/// Time from `now` until `expires_on`, zero if already past.
pub fn remaining_until(expires_on: OffsetDateTime, now: OffsetDateTime) -> Duration {
    Duration::try_from(expires_on - now).unwrap_or(Duration::ZERO)
}

fn unix_to_datetime(secs: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|_| Error::MalformedSasToken {
        why: format!("expiry {secs} is out of range"),
    })
}

/// Percent-encodes every byte except RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`), upper-case hex;
/// the same as Python's `quote(s, safe='')` and JavaScript's `encodeURIComponent` for the characters that
/// appear in Event Hubs URIs and base64.
pub fn percent_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// Decodes `%XX` escapes (either case); `None` if an escape is broken or the result is not UTF-8.
/// `+` is kept as is (SAS tokens encode spaces as `%20`).
pub fn percent_decode(s: &str) -> Option<String> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = hex(*bytes.get(i + 1)?)?;
            let lo = hex(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A [`TokenSource`] that signs SAS tokens with a key: each call signs a new token valid for `ttl` from the
/// clock's now.
#[derive(Debug, Clone)]
pub struct SasTokenSource {
    key: SasKey,
    resource_uri: String,
    ttl: Duration,
    clock: Arc<dyn Clock>,
}

impl SasTokenSource {
    /// The default token lifetime: one hour.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

    /// Signs tokens for `resource_uri` with `key`, each valid for `ttl` (at least one second).
    pub fn new(
        key: SasKey,
        resource_uri: impl Into<String>,
        ttl: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        if ttl < Duration::from_secs(1) {
            return Err(Error::InvalidInput {
                what: "SAS token lifetime",
                why: "it must be at least one second".into(),
            });
        }
        let resource_uri = resource_uri.into();
        if resource_uri.trim().is_empty() {
            return Err(Error::InvalidInput {
                what: "SAS resource URI",
                why: "it is empty".into(),
            });
        }
        Ok(Self {
            key,
            resource_uri,
            ttl,
            clock,
        })
    }

    /// Signs for the connection string's resource (its hub if it has `EntityPath`, else the namespace).
    pub fn from_connection_string(
        cs: &ConnectionString,
        ttl: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        Self::new(cs.key().clone(), cs.resource_uri(), ttl, clock)
    }

    /// The resource URI tokens are signed for.
    pub fn resource_uri(&self) -> &str {
        &self.resource_uri
    }
}

#[async_trait::async_trait]
impl TokenSource for SasTokenSource {
    fn describe(&self) -> String {
        format!("sas:{}@{}", self.key.name(), self.resource_uri)
    }

    async fn token(&self) -> Result<IssuedToken> {
        let token = self
            .key
            .sign_for(&self.resource_uri, self.clock.as_ref(), self.ttl)?;
        Ok(IssuedToken {
            expires_on: token.expires_on(),
            address: self.resource_uri.clone(),
            kind: TokenKind::Sas,
            token: token.into_secret(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azflux_core::clock::ManualClock;

    #[test]
    fn percent_encoding_round_trips_and_keeps_unreserved() {
        let s = "https://a-b.c_d~e/f g+h=i%j";
        let enc = percent_encode(s);
        assert_eq!(enc, "https%3A%2F%2Fa-b.c_d~e%2Ff%20g%2Bh%3Di%25j");
        assert_eq!(percent_decode(&enc).as_deref(), Some(s));
        assert_eq!(percent_decode("%2b%2B").as_deref(), Some("++"));
        assert_eq!(percent_decode("%2"), None);
        assert_eq!(percent_decode("%zz"), None);
    }

    #[test]
    fn covers_accepts_sub_paths_and_other_schemes() {
        let key = SasKey::new("k", SecretString::from("v"));
        let t = key
            .sign(
                "sb://NS.servicebus.windows.net/hub",
                time::macros::datetime!(2030-01-01 0:00 UTC),
            )
            .unwrap();
        let p = ParsedSasToken::parse(t.secret().expose_secret()).unwrap();
        assert!(p.covers("https://ns.servicebus.windows.net/hub"));
        assert!(p.covers("https://ns.servicebus.windows.net/hub/messages"));
        assert!(!p.covers("https://ns.servicebus.windows.net/hub2"));
        assert!(!p.covers("https://ns.servicebus.windows.net/"));
    }

    #[test]
    fn expiry_after_truncates_to_seconds() {
        let clock = ManualClock::new(time::macros::datetime!(2026-01-01 0:00:00.750 UTC));
        let e = expiry_after(&clock, Duration::from_secs(60)).unwrap();
        assert_eq!(e, time::macros::datetime!(2026-01-01 0:01:00 UTC));
    }

    #[test]
    fn rejects_empty_inputs() {
        let key = SasKey::new("k", SecretString::from("v"));
        let e = time::macros::datetime!(2030-01-01 0:00 UTC);
        assert!(matches!(key.sign(" ", e), Err(Error::InvalidInput { .. })));
        let nameless = SasKey::new("", SecretString::from("v"));
        assert!(matches!(
            nameless.sign("https://x/", e),
            Err(Error::InvalidInput { .. })
        ));
    }
}
