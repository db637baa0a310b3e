//! Flux objects for charts and images in ACR, built with `flux-objects`: an OCI `HelmRepository` with
//! `provider: azure` (workload identity / kubelet identity, no Secret) or with a `secretRef` to a
//! docker-registry Secret, the Secret itself (`.dockerconfigjson` as `kubectl create secret docker-registry`
//! writes it), a `HelmRelease` following a version range, and an `ImageRepository` with `provider: azure`.

use crate::api::{ChartRef, Error, Result};
use crate::wire::NULL_GUID_USER;
use azflux_core::Cloud;
use base64::Engine;
use flux_objects::core::SECRET_TYPE_DOCKER_CONFIG_JSON;
use flux_objects::{Duration, HelmRelease, HelmRepository, ImageRepository, Secret};
use secrecy::{ExposeSecret, SecretString};

/// The registry pattern Flux's Azure provider enforces (`^.+\.(azurecr\.io|azurecr\.cn|azurecr\.de|azurecr\.us)$`),
/// extended with the configured cloud's own suffix.
pub fn check_acr_host(cloud: &Cloud, host: &str) -> Result<()> {
    let bare = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    let flux_suffix = ["azurecr.io", "azurecr.cn", "azurecr.de", "azurecr.us"]
        .iter()
        .any(|s| bare.len() > s.len() + 1 && bare.ends_with(&format!(".{s}")));
    if flux_suffix || cloud.is_registry_host(&bare) {
        Ok(())
    } else {
        Err(Error::invalid(
            "registry for provider azure",
            format!(
                "invalid Azure registry: '{host}'. must match ^.+\\.(azurecr\\.io|azurecr\\.cn|azurecr\\.de|azurecr\\.us)$ or *.{}",
                cloud.container_registry_suffix
            ),
        ))
    }
}

fn flux(e: flux_objects::Error) -> Error {
    Error::invalid("Flux object", e.to_string())
}

/// How an OCI `HelmRepository` authenticates.
#[derive(Debug, Clone)]
pub enum RepositoryAuth {
    /// `provider: azure`: the controller's (or object-level) workload identity exchanges its own AAD token.
    Azure,
    /// `secretRef`: a docker-registry Secret (admin user, repository-scoped token, or a refresh token).
    Secret(String),
}

/// `HelmRepository` `type: oci` for `url` (`oci://myacr.azurecr.io/helm`), as
/// `flux create source helm <name> --url=<url> [--oci-provider=azure | --secret-ref=<s>] --export` writes it.
pub fn helm_repository(
    cloud: &Cloud,
    name: &str,
    namespace: &str,
    url: &str,
    auth: &RepositoryAuth,
    interval: Duration,
) -> Result<HelmRepository> {
    let host = url
        .strip_prefix("oci://")
        .and_then(|r| r.split('/').next())
        .ok_or_else(|| {
            Error::invalid(
                "HelmRepository url",
                format!("'{url}' is not oci://<registry>/<path>"),
            )
        })?;
    let builder = HelmRepository::builder(name, namespace)
        .url(url)
        .interval(interval);
    let builder = match auth {
        RepositoryAuth::Azure => {
            check_acr_host(cloud, host)?;
            builder.provider("azure")
        }
        RepositoryAuth::Secret(secret) => builder.secret_ref(secret.clone()),
    };
    builder.build().map_err(flux)
}

/// The `HelmRepository` holding `chart` (its URL is the chart's parent path).
pub fn helm_repository_for(
    cloud: &Cloud,
    name: &str,
    namespace: &str,
    chart: &ChartRef,
    auth: &RepositoryAuth,
    interval: Duration,
) -> Result<HelmRepository> {
    helm_repository(
        cloud,
        name,
        namespace,
        &chart.repository_url(),
        auth,
        interval,
    )
}

/// A `HelmRelease` of `chart` from `HelmRepository/<repository>` following `version_range` (Helm semver
/// constraint, checked here so a typo fails before it reaches the cluster).
pub fn helm_release(
    name: &str,
    namespace: &str,
    chart: &ChartRef,
    repository: &str,
    version_range: &str,
    interval: Duration,
) -> Result<HelmRelease> {
    crate::version::VersionConstraint::parse(version_range)?;
    HelmRelease::builder(name, namespace)
        .chart(chart.chart_name())
        .source(&format!("HelmRepository/{repository}"))
        .chart_version(version_range)
        .interval(interval)
        .build()
        .map_err(flux)
}

/// An `ImageRepository` for `image` (`myacr.azurecr.io/app`) with `provider: azure`.
pub fn image_repository_azure(
    cloud: &Cloud,
    name: &str,
    namespace: &str,
    image: &str,
    interval: Duration,
) -> Result<ImageRepository> {
    let host = image.split('/').next().unwrap_or_default();
    check_acr_host(cloud, host)?;
    ImageRepository::builder(name, namespace)
        .image(image)
        .interval(interval)
        .provider("azure")
        .build()
        .map_err(flux)
}

/// The `.dockerconfigjson` `kubectl create secret docker-registry` writes: compact JSON
/// `{"auths":{"<server>":{"username":…,"password":…,"auth":base64(user:pass)}}}`.
pub fn docker_config_json(server: &str, username: &str, password: &SecretString) -> SecretString {
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{username}:{}", password.expose_secret()));
    // kubectl marshals a Go struct: fields in the order username, password, (email,) auth; no spaces.
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    SecretString::from(format!(
        r#"{{"auths":{{{}:{{"username":{},"password":{},"auth":{}}}}}}}"#,
        q(server),
        q(username),
        q(password.expose_secret()),
        q(&auth)
    ))
}

/// A `kubernetes.io/dockerconfigjson` Secret for `server` (admin user or repository-scoped token).
pub fn docker_registry_secret(
    name: &str,
    namespace: &str,
    server: &str,
    username: &str,
    password: &SecretString,
) -> Secret {
    Secret::new(name, namespace)
        .with(
            ".dockerconfigjson",
            docker_config_json(server, username, password),
        )
        .with_type(SECRET_TYPE_DOCKER_CONFIG_JSON)
}

/// A docker-registry Secret carrying an ACR refresh token (user `00000000-0000-0000-0000-000000000000`), what
/// `az acr login --expose-token` gives; it expires with the refresh token (about 3 h).
pub fn refresh_token_secret(
    name: &str,
    namespace: &str,
    server: &str,
    refresh_token: &SecretString,
) -> Secret {
    docker_registry_secret(name, namespace, server, NULL_GUID_USER, refresh_token)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn acr_hosts_follow_flux_pattern() {
        let c = Cloud::public();
        assert!(check_acr_host(&c, "myacr.azurecr.io").is_ok());
        assert!(check_acr_host(&c, "myacr.azurecr.de").is_ok());
        let e = check_acr_host(&c, "ghcr.io").unwrap_err().to_string();
        assert!(e.contains("invalid Azure registry: 'ghcr.io'"), "{e}");
        assert!(check_acr_host(&c, "azurecr.io.evil.com").is_err());
    }

    #[test]
    fn docker_config_is_compact_like_kubectl() {
        let j = docker_config_json("myacr.azurecr.io", "u", &SecretString::from("p"));
        assert_eq!(
            j.expose_secret(),
            r#"{"auths":{"myacr.azurecr.io":{"username":"u","password":"p","auth":"dTpw"}}}"#
        );
    }
}
