//! Resource ids as ARM reads them: `/subscriptions/{sub}[/resourceGroups/{rg}]/providers/{ns}/{type}/{name}
//! [/{childType}/{childName}]…[/{collection or action}]`, and extension resources below any scope
//! (`{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`).
//!
//! ARM matches `subscriptions`, `resourceGroups`, `providers`, namespaces and types case-insensitively; names
//! keep the case they were sent with (and are compared case-insensitively too). Nothing here depends on a
//! segment's position beyond the grammar above.

/// A parsed ARM path below `/subscriptions/{sub}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    /// The subscription id, as sent.
    pub subscription: String,
    /// The resource group, as sent, when the path has one.
    pub resource_group: Option<String>,
    /// The scope the last `providers` segment hangs below, as sent (`/subscriptions/s/resourceGroups/rg`,
    /// or a whole resource id for extension resources).
    pub scope: String,
    /// The provider namespace after the last `providers` segment, as sent (empty when there is none).
    pub namespace: String,
    /// `(type, name)` pairs after the namespace, as sent.
    pub types: Vec<(String, String)>,
    /// A trailing segment after the pairs: a collection (GET) or an action (POST).
    pub tail: Option<String>,
}

impl ResourcePath {
    /// Parses a URL path. `None` when it does not start with `/subscriptions/{sub}`.
    pub fn parse(path: &str) -> Option<Self> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if segments.len() < 2 || !segments[0].eq_ignore_ascii_case("subscriptions") {
            return None;
        }
        let subscription = segments[1].to_owned();
        let resource_group = (segments.len() >= 4
            && segments[2].eq_ignore_ascii_case("resourcegroups"))
        .then(|| segments[3].to_owned());
        let last_providers = segments
            .iter()
            .rposition(|s| s.eq_ignore_ascii_case("providers"));
        let (scope, namespace, rest): (String, String, &[&str]) = match last_providers {
            Some(p) if p + 1 < segments.len() => (
                format!("/{}", segments[..p].join("/")),
                segments[p + 1].to_owned(),
                &segments[p + 2..],
            ),
            _ => (format!("/{}", segments.join("/")), String::new(), &[]),
        };
        let types = rest
            .chunks_exact(2)
            .map(|c| (c[0].to_owned(), c[1].to_owned()))
            .collect();
        let tail = (rest.len() % 2 == 1).then(|| rest[rest.len() - 1].to_owned());
        Some(Self {
            subscription,
            resource_group,
            scope,
            namespace,
            types,
            tail,
        })
    }

    /// The resource type key: lower-case `namespace/type[/childType…]` (empty without a namespace).
    pub fn type_key(&self) -> String {
        type_key(&self.namespace, self.types.iter().map(|(t, _)| t.as_str()))
    }

    /// The type key of what a GET of the trailing collection lists.
    pub fn collection_key(&self) -> Option<String> {
        let tail = self.tail.as_deref()?;
        Some(type_key(
            &self.namespace,
            self.types
                .iter()
                .map(|(t, _)| t.as_str())
                .chain(std::iter::once(tail)),
        ))
    }

    /// The resource id (without the tail), as sent.
    pub fn id(&self) -> String {
        let mut id = self.scope.clone();
        if !self.namespace.is_empty() {
            id.push_str("/providers/");
            id.push_str(&self.namespace);
        }
        for (t, n) in &self.types {
            id.push('/');
            id.push_str(t);
            id.push('/');
            id.push_str(n);
        }
        id
    }

    /// The id of the resource this one is nested in (the scope for a top-level or extension resource).
    pub fn parent_id(&self) -> String {
        let mut parent = self.clone();
        parent.tail = None;
        if parent.types.len() <= 1 {
            return parent.scope;
        }
        parent.types.pop();
        parent.id()
    }

    /// The resource's own name (the last pair's), as sent.
    pub fn name(&self) -> &str {
        self.types
            .last()
            .map(|(_, n)| n.as_str())
            .unwrap_or_default()
    }

    /// The names of every pair joined by `/` (`cluster/pool`), as ARM's messages show nested resources.
    pub fn nested_name(&self) -> String {
        self.types
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The path without its tail (the resource itself).
    pub fn without_tail(&self) -> Self {
        Self {
            tail: None,
            ..self.clone()
        }
    }

    /// The subscription scope `/subscriptions/{sub}`.
    pub fn subscription_id(&self) -> String {
        format!("/subscriptions/{}", self.subscription)
    }

    /// The resource group's id, when there is one.
    pub fn resource_group_id(&self) -> Option<String> {
        self.resource_group
            .as_ref()
            .map(|rg| format!("/subscriptions/{}/resourceGroups/{rg}", self.subscription))
    }
}

/// Lower-case `namespace/type/childType`.
pub fn type_key<'a>(namespace: &str, types: impl IntoIterator<Item = &'a str>) -> String {
    let mut key = namespace.to_ascii_lowercase();
    for t in types {
        key.push('/');
        key.push_str(&t.to_ascii_lowercase());
    }
    key
}

/// The lower-case key of an id (ids compare case-insensitively), without a trailing `/`.
pub fn id_key(id: &str) -> String {
    id.trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_and_extension_ids_whatever_the_case() {
        let p = ResourcePath::parse(
            "/SUBSCRIPTIONS/s1/resourcegroups/MyRg/providers/microsoft.containerservice/managedClusters/C1/agentPools/np1",
        )
        .unwrap();
        assert_eq!(p.subscription, "s1");
        assert_eq!(p.resource_group.as_deref(), Some("MyRg"));
        assert_eq!(
            p.type_key(),
            "microsoft.containerservice/managedclusters/agentpools"
        );
        assert_eq!(p.name(), "np1");
        assert_eq!(p.nested_name(), "C1/np1");
        assert!(p.parent_id().ends_with("/managedClusters/C1"));
        let list =
            ResourcePath::parse("/subscriptions/s1/providers/Microsoft.KeyVault/vaults").unwrap();
        assert_eq!(
            list.collection_key().as_deref(),
            Some("microsoft.keyvault/vaults")
        );
        assert_eq!(list.resource_group, None);
        let ext = ResourcePath::parse(
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v/providers/Microsoft.Authorization/roleAssignments/abc",
        )
        .unwrap();
        assert_eq!(ext.type_key(), "microsoft.authorization/roleassignments");
        assert!(ext.scope.ends_with("/vaults/v"));
        assert_eq!(ext.parent_id(), ext.scope);
        assert!(ResourcePath::parse("/tenants").is_none());
    }
}
