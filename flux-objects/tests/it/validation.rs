use flux_objects::*;

fn err<T: std::fmt::Debug>(r: Result<T>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn names_follow_rfc_1123_with_the_cli_wording() {
    assert_eq!(
        err(GitRepository::builder("My_Repo", "flux-system")
            .url("https://x.io/r")
            .branch("main")
            .build()),
        "name 'My_Repo' is invalid, it should adhere to standard defined in RFC 1123, the name can only contain alphanumeric characters or '-'"
    );
}

#[test]
fn scp_like_git_urls_are_rejected_with_go_url_errors() {
    assert_eq!(
        err(GitRepository::builder("repo", "flux-system")
            .url("git@ssh.dev.azure.com:v3/org/p/r")
            .branch("main")
            .build()),
        "git URL parse failed: parse \"git@ssh.dev.azure.com:v3/org/p/r\": first path segment in URL cannot contain colon"
    );
    assert_eq!(
        err(GitRepository::builder("rr", "flux-system")
            .url("ftp://h/r")
            .branch("main")
            .build()),
        "git URL scheme 'ftp' not supported, can be: ssh, http and https"
    );
}

#[test]
fn helm_repository_urls() {
    assert_eq!(
        err(HelmRepository::builder("rr", "flux-system")
            .url("git://example.com/charts")
            .build()),
        "url scheme 'git' not supported, can be: http, https and oci"
    );
    assert_eq!(
        err(HelmRepository::builder("rr", "flux-system")
            .url("https:///charts")
            .build()),
        "url host is required"
    );
}

#[test]
fn kustomization_paths_must_start_with_dot_slash() {
    assert_eq!(
        err(Kustomization::builder("ks", "flux-system")
            .source("GitRepository/x")
            .path("apps")
            .build()),
        "path must begin with ./"
    );
    assert_eq!(
        err(Kustomization::builder("ks", "flux-system")
            .source("GitRepository/x")
            .path("./../etc")
            .build()),
        "path must begin with ./"
    );
    assert_eq!(
        err(Kustomization::builder("ks", "flux-system")
            .path("./apps")
            .build()),
        "source is required"
    );
}

#[test]
fn helm_release_needs_exactly_one_chart_source() {
    assert_eq!(
        err(HelmRelease::builder("hr", "apps").build()),
        "chart or chart-ref is required"
    );
    assert_eq!(
        err(HelmRelease::builder("hr", "apps")
            .chart_ref("Foobar", "x", None)
            .build()),
        "chart reference kind 'Foobar' is not supported, must be one of: OCIRepository, HelmChart"
    );
    assert!(
        err(HelmRelease::builder("hr", "apps")
            .source("HelmRepository/x")
            .chart("c")
            .chart_version("not a range")
            .build())
        .starts_with("invalid chart version")
    );
}

#[test]
fn semver_and_durations() {
    assert!(ImagePolicy::semver("pol", "ns", "repo", "~1.2").is_ok());
    assert!(
        err(ImagePolicy::semver("pol", "ns", "repo", "latest"))
            .starts_with("--select-semver is not a valid semver range")
    );
    assert_eq!(
        err(Duration::parse("10 minutes")),
        "time: invalid duration \"10 minutes\""
    );
}

#[test]
fn provider_types_come_from_the_crd() {
    assert!(
        err(Provider::builder("prov", "ns", "carrier-pigeon").build())
            .starts_with("provider type 'carrier-pigeon' is not supported")
    );
    assert!(
        err(Provider::builder("prov", "ns", "azureeventhub").build())
            .starts_with("azureeventhub needs an address")
    );
}

#[test]
fn sub_millisecond_durations_are_rejected() {
    let e = err(GitRepository::builder("repo", "flux-system")
        .url("https://x.io/r")
        .branch("main")
        .interval(Duration::from_nanos(1500))
        .build());
    assert!(
        e.starts_with("interval '1.5µs' is not a valid duration for the API"),
        "{e}"
    );
    assert!(
        GitRepository::builder("repo", "flux-system")
            .url("https://x.io/r")
            .branch("main")
            .interval(Duration::ZERO)
            .build()
            .is_ok()
    );
}
