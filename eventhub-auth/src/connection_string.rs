//! Event Hubs connection strings (`Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…[;EntityPath=…]`).

use crate::error::{Error, Result};
use crate::sas::{SasKey, SasToken};
use azflux_core::clock::Clock;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;

/// A parsed namespace- or hub-level connection string. `Debug` hides the key and the original string.
#[derive(Clone)]
pub struct ConnectionString {
    raw: SecretString,
    endpoint: url::Url,
    key: SasKey,
    entity_path: Option<String>,
}

impl ConnectionString {
    /// Parses a connection string: split on `;`, each part on its first `=` (keys end in `=`); part names
    /// are case-insensitive, empty parts (a trailing `;`) and unknown parts (`TransportType=…`) are ignored.
    /// `Endpoint`, `SharedAccessKeyName` and `SharedAccessKey` are required. Errors never show the key.
    pub fn parse(input: &str) -> Result<Self> {
        let bad = |why: String| Error::InvalidConnectionString { why };
        let (mut endpoint, mut key_name, mut key, mut entity_path) = (None, None, None, None);
        for (i, part) in input.trim().split(';').enumerate() {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let Some((name, value)) = part.split_once('=') else {
                return Err(bad(format!(
                    "part {} has no `=` (expected `Name=value`)",
                    i + 1
                )));
            };
            let name = name.trim();
            let slot = if name.eq_ignore_ascii_case("Endpoint") {
                &mut endpoint
            } else if name.eq_ignore_ascii_case("SharedAccessKeyName") {
                &mut key_name
            } else if name.eq_ignore_ascii_case("SharedAccessKey") {
                &mut key
            } else if name.eq_ignore_ascii_case("EntityPath") {
                &mut entity_path
            } else if name.eq_ignore_ascii_case("SharedAccessSignature") {
                return Err(bad(
                    "it carries a `SharedAccessSignature` instead of a `SharedAccessKey`; use the authorization rule's connection string, which holds the key".into(),
                ));
            } else {
                continue;
            };
            if slot.replace(value.trim()).is_some() {
                return Err(bad(format!("`{name}` appears twice")));
            }
        }
        let endpoint = endpoint
            .filter(|v| !v.is_empty())
            .ok_or_else(|| bad("missing `Endpoint`".into()))?;
        let key_name = key_name.filter(|v| !v.is_empty()).ok_or_else(|| {
            bad("missing `SharedAccessKeyName` (the authorization rule's name)".into())
        })?;
        let key = key
            .filter(|v| !v.is_empty())
            .ok_or_else(|| bad("missing `SharedAccessKey`".into()))?;
        let endpoint = url::Url::parse(endpoint).map_err(|e| {
            bad(format!(
                "`Endpoint` is not a URL ({e}); expected `sb://<namespace>.servicebus.windows.net/`"
            ))
        })?;
        if endpoint.host_str().is_none_or(str::is_empty) {
            return Err(bad("`Endpoint` has no host name".into()));
        }
        let entity_path = entity_path.filter(|v| !v.is_empty()).map(str::to_owned);
        Ok(Self {
            raw: SecretString::from(input.trim().to_owned()),
            endpoint,
            key: SasKey::new(key_name, SecretString::from(key.to_owned())),
            entity_path,
        })
    }

    /// The `Endpoint` URL (`sb://<namespace>.servicebus.windows.net/`).
    pub fn endpoint(&self) -> &url::Url {
        &self.endpoint
    }

    /// The fully qualified namespace host (`<namespace>.servicebus.windows.net`).
    pub fn namespace_host(&self) -> &str {
        self.endpoint.host_str().unwrap_or_default()
    }

    /// The `EntityPath` (the Event Hub name) of a hub-level string, `None` for a namespace-level one.
    pub fn entity_path(&self) -> Option<&str> {
        self.entity_path.as_deref()
    }

    /// The authorization rule's key.
    pub fn key(&self) -> &SasKey {
        &self.key
    }

    /// The rule name (`SharedAccessKeyName`).
    pub fn key_name(&self) -> &str {
        self.key.name()
    }

    /// The whole string as given (it contains the key: it is the `address` of a SAS Provider's Secret).
    pub fn secret(&self) -> &SecretString {
        &self.raw
    }

    /// The resource a SAS token should be signed for: `https://<host>/<EntityPath>` for a hub-level string,
    /// `https://<host>/` for a namespace-level one.
    pub fn resource_uri(&self) -> String {
        match &self.entity_path {
            Some(hub) => self.hub_resource_uri(hub),
            None => format!("https://{}/", self.namespace_host()),
        }
    }

    /// The resource URI of hub `hub` in this namespace (`https://<host>/<hub>`).
    pub fn hub_resource_uri(&self, hub: &str) -> String {
        format!(
            "https://{}/{}",
            self.namespace_host(),
            hub.trim_matches('/')
        )
    }

    /// A SAS token for [`resource_uri`](Self::resource_uri) until `expiry`.
    pub fn sas_token(&self, expiry: OffsetDateTime) -> Result<SasToken> {
        self.key.sign(&self.resource_uri(), expiry)
    }

    /// A SAS token for [`resource_uri`](Self::resource_uri), `ttl` from the clock's now.
    pub fn sas_token_for(&self, clock: &dyn Clock, ttl: Duration) -> Result<SasToken> {
        self.key.sign_for(&self.resource_uri(), clock, ttl)
    }
}

impl FromStr for ConnectionString {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<&SecretString> for ConnectionString {
    type Error = Error;
    fn try_from(s: &SecretString) -> Result<Self> {
        Self::parse(s.expose_secret())
    }
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionString")
            .field("endpoint", &self.endpoint.as_str())
            .field("key_name", &self.key.name())
            .field("key", &"[REDACTED]")
            .field("entity_path", &self.entity_path)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "c2VjcmV0LWtleS1ieXRlcy1ub3QtcmVhbC0wMTIzNDU2Nzg5YWI=";

    fn hub_level() -> String {
        format!(
            "Endpoint=sb://ns-1.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey={KEY};EntityPath=hub-a"
        )
    }

    #[test]
    fn parses_hub_level_string() {
        let cs = ConnectionString::parse(&hub_level()).unwrap();
        assert_eq!(cs.namespace_host(), "ns-1.servicebus.windows.net");
        assert_eq!(cs.key_name(), "send");
        assert_eq!(cs.key().key().expose_secret(), KEY);
        assert_eq!(cs.entity_path(), Some("hub-a"));
        assert_eq!(
            cs.resource_uri(),
            "https://ns-1.servicebus.windows.net/hub-a"
        );
        assert_eq!(cs.secret().expose_secret(), hub_level());
    }

    #[test]
    fn parses_namespace_level_string_with_trailing_semicolon_and_any_case() {
        let s = format!(
            "endpoint=sb://ns-2.servicebus.windows.net/;sharedaccesskeyname=RootManageSharedAccessKey;SHAREDACCESSKEY={KEY};"
        );
        let cs: ConnectionString = s.parse().unwrap();
        assert_eq!(cs.entity_path(), None);
        assert_eq!(cs.resource_uri(), "https://ns-2.servicebus.windows.net/");
        assert_eq!(
            cs.hub_resource_uri("h"),
            "https://ns-2.servicebus.windows.net/h"
        );
        // the key keeps its trailing `=`: only the first `=` splits
        assert!(cs.key().key().expose_secret().ends_with('='));
    }

    #[test]
    fn missing_parts_are_named_and_the_key_is_never_printed() {
        let cases = [
            (
                format!("SharedAccessKeyName=a;SharedAccessKey={KEY}"),
                "missing `Endpoint`",
            ),
            (
                format!("Endpoint=sb://x.servicebus.windows.net/;SharedAccessKey={KEY}"),
                "missing `SharedAccessKeyName`",
            ),
            (
                "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=a".to_owned(),
                "missing `SharedAccessKey`",
            ),
            (
                format!("Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey={KEY};garbage"),
                "part 4 has no `=`",
            ),
            (
                format!("Endpoint=not a url;SharedAccessKeyName=a;SharedAccessKey={KEY}"),
                "`Endpoint` is not a URL",
            ),
            (
                format!(
                    "Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey={KEY};SharedAccessKey={KEY}"
                ),
                "appears twice",
            ),
        ];
        for (input, expected) in cases {
            let err = ConnectionString::parse(&input).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{err:?} should contain {expected:?}"
            );
            assert!(!err.contains(KEY), "error leaks the key: {err}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let cs = ConnectionString::parse(&hub_level()).unwrap();
        let dbg = format!("{cs:?} {:?}", cs.key());
        assert!(!dbg.contains(KEY), "{dbg}");
        assert!(
            dbg.contains("REDACTED") && dbg.contains("ns-1.servicebus.windows.net"),
            "{dbg}"
        );
    }
}
