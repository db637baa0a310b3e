//! ARM resource ids: `/subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}[/{type}/{name}…]`.

use crate::error::Error;
use std::fmt;
use std::str::FromStr;

/// A parsed ARM resource id (or a subscription / resource group scope).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceId {
    subscription_id: String,
    resource_group: Option<String>,
    provider: Option<String>,
    /// (type, name) pairs from the provider down: `[("managedClusters","c1"), ("agentPools","p1")]`.
    types: Vec<(String, String)>,
}

impl ResourceId {
    /// `/subscriptions/{sub}`.
    pub fn subscription(subscription_id: impl Into<String>) -> Self {
        Self {
            subscription_id: subscription_id.into(),
            resource_group: None,
            provider: None,
            types: Vec::new(),
        }
    }

    /// `/subscriptions/{sub}/resourceGroups/{rg}`.
    pub fn resource_group(
        subscription_id: impl Into<String>,
        resource_group: impl Into<String>,
    ) -> Self {
        Self {
            resource_group: Some(resource_group.into()),
            ..Self::subscription(subscription_id)
        }
    }

    /// A top-level resource in a resource group: `…/providers/{provider}/{type}/{name}`.
    pub fn resource(
        subscription_id: impl Into<String>,
        resource_group: impl Into<String>,
        provider: impl Into<String>,
        resource_type: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            provider: Some(provider.into()),
            types: vec![(resource_type.into(), name.into())],
            ..Self::resource_group(subscription_id, resource_group)
        }
    }

    /// A child of this resource: `…/{type}/{name}`.
    pub fn child(&self, resource_type: impl Into<String>, name: impl Into<String>) -> Self {
        let mut out = self.clone();
        out.types.push((resource_type.into(), name.into()));
        out
    }

    /// Parses an id, with an error that says which segment is wrong.
    pub fn parse(id: &str) -> Result<Self, Error> {
        let bad = |why: String| Error::invalid(format!("resource id '{id}'"), why);
        let trimmed = id.trim();
        let Some(rest) = trimmed.strip_prefix('/') else {
            return Err(bad("it must start with '/subscriptions/'".into()));
        };
        let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(bad("it has an empty segment ('//')".into()));
        }
        let mut it = segments.into_iter();
        match it.next() {
            Some(s) if s.eq_ignore_ascii_case("subscriptions") => {}
            _ => return Err(bad("it must start with '/subscriptions/'".into())),
        }
        let subscription_id = it
            .next()
            .ok_or_else(|| bad("the subscription id is missing".into()))?
            .to_owned();
        let mut out = Self::subscription(subscription_id);
        let Some(next) = it.next() else {
            return Ok(out);
        };
        let next = if next.eq_ignore_ascii_case("resourceGroups") {
            out.resource_group = Some(
                it.next()
                    .ok_or_else(|| bad("the resource group name is missing".into()))?
                    .to_owned(),
            );
            match it.next() {
                None => return Ok(out),
                Some(n) => n,
            }
        } else {
            next
        };
        if !next.eq_ignore_ascii_case("providers") {
            return Err(bad(format!(
                "expected 'providers' or 'resourceGroups', found '{next}'"
            )));
        }
        out.provider = Some(
            it.next()
                .ok_or_else(|| bad("the provider namespace is missing".into()))?
                .to_owned(),
        );
        let rest: Vec<&str> = it.collect();
        if rest.is_empty() {
            return Err(bad(
                "the resource type and name are missing after the provider namespace".into(),
            ));
        }
        if !rest.len().is_multiple_of(2) {
            return Err(bad(format!(
                "the resource type '{}' has no name",
                rest[rest.len() - 1]
            )));
        }
        out.types = rest
            .chunks(2)
            .map(|c| (c[0].to_owned(), c[1].to_owned()))
            .collect();
        Ok(out)
    }

    /// The subscription id.
    pub fn subscription_id(&self) -> &str {
        &self.subscription_id
    }

    /// The resource group, for ids inside one.
    pub fn resource_group_name(&self) -> Option<&str> {
        self.resource_group.as_deref()
    }

    /// The provider namespace (`Microsoft.ContainerService`).
    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref()
    }

    /// The full resource type: `Microsoft.ContainerService/managedClusters/agentPools`.
    pub fn resource_type(&self) -> Option<String> {
        let provider = self.provider.as_ref()?;
        let mut t = provider.clone();
        for (ty, _) in &self.types {
            t.push('/');
            t.push_str(ty);
        }
        Some(t)
    }

    /// The last name (the resource's own name), or the resource group / subscription for scopes.
    pub fn name(&self) -> &str {
        match self.types.last() {
            Some((_, n)) => n,
            None => self
                .resource_group
                .as_deref()
                .unwrap_or(&self.subscription_id),
        }
    }

    /// The parent resource (one `type/name` pair less), or `None` for a top-level resource or a scope.
    pub fn parent(&self) -> Option<Self> {
        if self.types.len() < 2 {
            return None;
        }
        let mut out = self.clone();
        out.types.pop();
        Some(out)
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/subscriptions/{}", self.subscription_id)?;
        if let Some(rg) = &self.resource_group {
            write!(f, "/resourceGroups/{rg}")?;
        }
        if let Some(p) = &self.provider {
            write!(f, "/providers/{p}")?;
            for (t, n) in &self.types {
                write!(f, "/{t}/{n}")?;
            }
        }
        Ok(())
    }
}

impl FromStr for ResourceId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format_round_trip() {
        let s = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1/agentPools/p1";
        let id = ResourceId::parse(s).unwrap();
        assert_eq!(id.to_string(), s);
        assert_eq!(id.subscription_id(), "sub");
        assert_eq!(id.resource_group_name(), Some("rg"));
        assert_eq!(
            id.resource_type().unwrap(),
            "Microsoft.ContainerService/managedClusters/agentPools"
        );
        assert_eq!(id.name(), "p1");
        assert_eq!(id.parent().unwrap().name(), "c1");
    }

    #[test]
    fn case_insensitive_keywords_are_normalised() {
        let id = ResourceId::parse(
            "/SUBSCRIPTIONS/s/resourcegroups/rg/PROVIDERS/Microsoft.KeyVault/vaults/kv",
        )
        .unwrap();
        assert_eq!(
            id.to_string(),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
        );
    }

    #[test]
    fn scopes() {
        assert_eq!(
            ResourceId::parse("/subscriptions/s").unwrap(),
            ResourceId::subscription("s")
        );
        assert_eq!(
            ResourceId::parse("/subscriptions/s/resourceGroups/rg/").unwrap(),
            ResourceId::resource_group("s", "rg")
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let cases = [
            ("subscriptions/s", "must start with '/subscriptions/'"),
            ("/subscriptions", "subscription id is missing"),
            (
                "/subscriptions/s/resourceGroups",
                "resource group name is missing",
            ),
            (
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.X/things",
                "has no name",
            ),
            ("/subscriptions/s//x", "empty segment"),
            (
                "/subscriptions/s/resourceGroups/rg/foo/bar",
                "expected 'providers'",
            ),
        ];
        for (input, want) in cases {
            let e = ResourceId::parse(input).unwrap_err().to_string();
            assert!(e.contains(want), "{input}: {e}");
        }
    }
}
