//! The URL table: accepted forms with their normalised URL and parts, refused forms with their
//! exact messages, and the derivations `flux bootstrap git` needs.

use devops_git::{RepoUrl, Scheme, UrlError};

fn parts(url: &RepoUrl) -> Option<(String, String, String)> {
    url.azure_devops().map(|a| {
        (
            a.organization.clone(),
            a.project.clone(),
            a.repository.clone(),
        )
    })
}

#[test]
fn valid_urls_normalise_and_split() {
    // input, normalised, scheme, (org, project, repo) when Azure DevOps
    let table: &[(&str, &str, Scheme, Option<(&str, &str, &str)>)] = &[
        (
            "https://dev.azure.com/my-org/my-project/_git/fleet-infra",
            "https://dev.azure.com/my-org/my-project/_git/fleet-infra",
            Scheme::Https,
            Some(("my-org", "my-project", "fleet-infra")),
        ),
        (
            "https://my-org@dev.azure.com/my-org/my-project/_git/fleet-infra",
            "https://dev.azure.com/my-org/my-project/_git/fleet-infra",
            Scheme::Https,
            Some(("my-org", "my-project", "fleet-infra")),
        ),
        (
            "  https://DEV.AZURE.COM:443/my-org/my-project/_git/fleet-infra/  ",
            "https://dev.azure.com/my-org/my-project/_git/fleet-infra",
            Scheme::Https,
            Some(("my-org", "my-project", "fleet-infra")),
        ),
        (
            "https://dev.azure.com/my-org/My%20Project/_git/fleet%20infra",
            "https://dev.azure.com/my-org/My%20Project/_git/fleet%20infra",
            Scheme::Https,
            Some(("my-org", "My Project", "fleet infra")),
        ),
        (
            // a literal space is encoded as %20
            "https://dev.azure.com/my-org/My Project/_git/fleet-infra",
            "https://dev.azure.com/my-org/My%20Project/_git/fleet-infra",
            Scheme::Https,
            Some(("my-org", "My Project", "fleet-infra")),
        ),
        (
            // unicode is percent-encoded as UTF-8 and decoded in the parts
            "https://dev.azure.com/my-org/Café/_git/répo",
            "https://dev.azure.com/my-org/Caf%C3%A9/_git/r%C3%A9po",
            Scheme::Https,
            Some(("my-org", "Café", "répo")),
        ),
        (
            "https://my-org.visualstudio.com/my-project/_git/fleet-infra",
            "https://my-org.visualstudio.com/my-project/_git/fleet-infra",
            Scheme::Https,
            Some(("my-org", "my-project", "fleet-infra")),
        ),
        (
            "https://my-org.visualstudio.com/DefaultCollection/my-project/_git/fleet-infra",
            "https://my-org.visualstudio.com/DefaultCollection/my-project/_git/fleet-infra",
            Scheme::Https,
            Some(("my-org", "my-project", "fleet-infra")),
        ),
        (
            "ssh://git@ssh.dev.azure.com/v3/my-org/my-project/fleet-infra",
            "ssh://git@ssh.dev.azure.com/v3/my-org/my-project/fleet-infra",
            Scheme::Ssh,
            Some(("my-org", "my-project", "fleet-infra")),
        ),
        (
            "ssh://ssh.dev.azure.com:22/v3/my-org/my-project/fleet-infra",
            "ssh://git@ssh.dev.azure.com/v3/my-org/my-project/fleet-infra",
            Scheme::Ssh,
            Some(("my-org", "my-project", "fleet-infra")),
        ),
        (
            "ssh://git@vs-ssh.visualstudio.com/v3/my-org/my-project/fleet-infra",
            "ssh://git@vs-ssh.visualstudio.com/v3/my-org/my-project/fleet-infra",
            Scheme::Ssh,
            Some(("my-org", "my-project", "fleet-infra")),
        ),
        // other hosts: kept, no Azure DevOps parts
        (
            "https://github.com/fluxcd/flux2.git",
            "https://github.com/fluxcd/flux2.git",
            Scheme::Https,
            None,
        ),
        (
            "https://user@git.example.com:8443/team/repo",
            "https://user@git.example.com:8443/team/repo",
            Scheme::Https,
            None,
        ),
        (
            "ssh://git@git.example.com:2222/team/repo.git",
            "ssh://git@git.example.com:2222/team/repo.git",
            Scheme::Ssh,
            None,
        ),
        (
            "ssh://[::1]:2222/team/repo",
            "ssh://git@[::1]:2222/team/repo",
            Scheme::Ssh,
            None,
        ),
        (
            "http://127.0.0.1:8080/org/project/_git/repo",
            "http://127.0.0.1:8080/org/project/_git/repo",
            Scheme::Http,
            None,
        ),
        (
            "https://bücher.example/repo",
            "https://xn--bcher-kva.example/repo",
            Scheme::Https,
            None,
        ),
    ];
    for (input, normalised, scheme, expected) in table {
        let url = RepoUrl::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(url.as_str(), *normalised, "normalised form of {input}");
        assert_eq!(url.scheme(), *scheme, "scheme of {input}");
        let expected = expected.map(|(o, p, r)| (o.to_string(), p.to_string(), r.to_string()));
        assert_eq!(parts(&url), expected, "parts of {input}");
        // normalisation is idempotent
        assert_eq!(
            RepoUrl::parse(url.as_str()).unwrap(),
            url,
            "reparse of {input}"
        );
    }
}

#[test]
fn refused_urls_have_exact_messages() {
    let table: &[(&str, &str)] = &[
        (
            "",
            "the git repository URL is empty: pass a URL such as https://dev.azure.com/<org>/<project>/_git/<repo>",
        ),
        (
            "git@ssh.dev.azure.com:v3/my-org/my-project/fleet-infra",
            "\"git@ssh.dev.azure.com:v3/my-org/my-project/fleet-infra\" is an scp-like git address, not a URL, and Flux only accepts RFC 3986 URLs: use \"ssh://git@ssh.dev.azure.com/v3/my-org/my-project/fleet-infra\"",
        ),
        (
            "git@github.com:fluxcd/flux2.git",
            "\"git@github.com:fluxcd/flux2.git\" is an scp-like git address, not a URL, and Flux only accepts RFC 3986 URLs: use \"ssh://git@github.com/fluxcd/flux2.git\"",
        ),
        (
            "example.com:/srv/git/repo",
            "\"example.com:/srv/git/repo\" is an scp-like git address, not a URL, and Flux only accepts RFC 3986 URLs: use \"ssh://example.com/srv/git/repo\"",
        ),
        (
            "ssh://user@host:group/repo.git",
            "\"ssh://user@host:group/repo.git\" is not a valid URL: \":group\" is not a port number; if \"group\" is part of the path, use \"ssh://user@host/group/repo.git\"",
        ),
        (
            "ftp://dev.azure.com/my-org/my-project/_git/fleet-infra",
            "git URL scheme \"ftp\" in \"ftp://dev.azure.com/my-org/my-project/_git/fleet-infra\" is not supported, can be: ssh, http and https",
        ),
        (
            "dev.azure.com/my-org/my-project/_git/fleet-infra",
            "\"dev.azure.com/my-org/my-project/_git/fleet-infra\" is not a valid git URL (relative URL without a base): use the form https://dev.azure.com/<org>/<project>/_git/<repo> or ssh://git@ssh.dev.azure.com/v3/<org>/<project>/<repo>",
        ),
        (
            "https://dev.azure.com/my-org/my-project",
            "\"https://dev.azure.com/my-org/my-project\" is not an Azure DevOps repository URL: the path is missing _git/<repo>; expected https://dev.azure.com/<org>/<project>/_git/<repo>",
        ),
        (
            "https://dev.azure.com/my-org/_git/fleet-infra",
            "\"https://dev.azure.com/my-org/_git/fleet-infra\" is not an Azure DevOps repository URL: the path is missing <repo>; expected https://dev.azure.com/<org>/<project>/_git/<repo>",
        ),
        (
            "https://dev.azure.com/my-org/my-project/git/fleet-infra",
            "\"https://dev.azure.com/my-org/my-project/git/fleet-infra\" is not an Azure DevOps repository URL: found \"git\" where \"_git\" is expected; expected https://dev.azure.com/<org>/<project>/_git/<repo>",
        ),
        (
            "https://dev.azure.com/my-org/my-project/_git/fleet-infra/extra",
            "\"https://dev.azure.com/my-org/my-project/_git/fleet-infra/extra\" is not an Azure DevOps repository URL: the path has 5 segments where 4 are expected; expected https://dev.azure.com/<org>/<project>/_git/<repo>",
        ),
        (
            "ssh://git@ssh.dev.azure.com/my-org/my-project/fleet-infra",
            "\"ssh://git@ssh.dev.azure.com/my-org/my-project/fleet-infra\" is not an Azure DevOps repository URL: the path is missing <repo>; expected ssh://git@ssh.dev.azure.com/v3/<org>/<project>/<repo>",
        ),
        (
            "ssh://git@ssh.dev.azure.com/v2/my-org/my-project/fleet-infra",
            "\"ssh://git@ssh.dev.azure.com/v2/my-org/my-project/fleet-infra\" is not an Azure DevOps repository URL: found \"v2\" where \"v3\" is expected; expected ssh://git@ssh.dev.azure.com/v3/<org>/<project>/<repo>",
        ),
        (
            "ssh://git@dev.azure.com/my-org/my-project/_git/fleet-infra",
            "\"ssh://git@dev.azure.com/my-org/my-project/_git/fleet-infra\" is not an Azure DevOps repository URL: the scheme ssh is not served on dev.azure.com; expected https://dev.azure.com/<org>/<project>/_git/<repo>",
        ),
        (
            "https://ssh.dev.azure.com/v3/my-org/my-project/fleet-infra",
            "\"https://ssh.dev.azure.com/v3/my-org/my-project/fleet-infra\" is not an Azure DevOps repository URL: the scheme https is not served on ssh.dev.azure.com; expected ssh://git@ssh.dev.azure.com/v3/<org>/<project>/<repo>",
        ),
        (
            "https://dev.azure.com:8443/my-org/my-project/_git/fleet-infra",
            "\"https://dev.azure.com:8443/my-org/my-project/_git/fleet-infra\" uses port 8443, but Azure DevOps serves git on the default ports only (443 for HTTPS, 22 for SSH): remove the port",
        ),
        (
            "ssh://git@ssh.dev.azure.com:2222/v3/my-org/my-project/fleet-infra",
            "\"ssh://git@ssh.dev.azure.com:2222/v3/my-org/my-project/fleet-infra\" uses port 2222, but Azure DevOps serves git on the default ports only (443 for HTTPS, 22 for SSH): remove the port",
        ),
        (
            "https://dev.azure.com/my-org/%20/_git/fleet-infra",
            "\"https://dev.azure.com/my-org/%20/_git/fleet-infra\" is not an Azure DevOps repository URL: the <project> is empty; expected https://dev.azure.com/<org>/<project>/_git/<repo>",
        ),
        (
            "https://dev.azure.com/my-org/%FF/_git/fleet-infra",
            "\"https://dev.azure.com/my-org/%FF/_git/fleet-infra\": the path segment \"%FF\" is not valid UTF-8 once percent-decoded",
        ),
        (
            "https://github.com/",
            "\"https://github.com/\" names no repository: add the repository path, e.g. https://dev.azure.com/<org>/<project>/_git/<repo>",
        ),
        (
            "https://git.example.com:99999/repo",
            "\"https://git.example.com:99999/repo\" is not a valid git URL (invalid port number): use the form https://dev.azure.com/<org>/<project>/_git/<repo> or ssh://git@ssh.dev.azure.com/v3/<org>/<project>/<repo>",
        ),
    ];
    for (input, message) in table {
        let err = RepoUrl::parse(input).expect_err(input);
        assert_eq!(err.to_string(), *message, "message for {input:?}");
    }
}

#[test]
fn a_password_in_the_url_is_refused_without_echoing_it() {
    let err =
        RepoUrl::parse("https://git:s3cr3t-pat@dev.azure.com/my-org/my-project/_git/fleet-infra")
            .unwrap_err();
    let text = err.to_string();
    assert!(!text.contains("s3cr3t-pat"), "{text}");
    assert_eq!(
        text,
        "the URL \"https://git:***@dev.azure.com/my-org/my-project/_git/fleet-infra\" contains a password: remove it from the URL and pass it as a credential (PAT or password) instead"
    );
    assert!(!format!("{err:?}").contains("s3cr3t-pat"));
    assert!(matches!(err, UrlError::EmbeddedPassword { .. }));
}

#[test]
fn a_password_in_a_malformed_url_is_never_echoed() {
    // Url::parse fails before the password check can run: the messages echo the input.
    for input in [
        "https://git:s3cr3t-pat@dev.azure.com:my-org/my-project/_git/fleet-infra",
        "https://git:s3cr3t-pat@git.example.com:99999/repo",
        "https://git:s3cr3t-pat@bad host/repo",
        "git:s3cr3t-pat@git.example.com:org/repo",
    ] {
        let err = RepoUrl::parse(input).expect_err(input);
        let text = err.to_string();
        assert!(!text.contains("s3cr3t-pat"), "{input}: {text}");
        assert!(text.contains("git:***@"), "{input}: {text}");
        assert!(
            !format!("{err:?}").contains("s3cr3t-pat"),
            "{input}: {err:?}"
        );
    }
}

#[test]
fn token_auth_sync_url_follows_flux_rewrites() {
    let table: &[(&str, bool, Result<&str, &str>)] = &[
        (
            "https://my-org@dev.azure.com/my-org/my-project/_git/fleet-infra",
            false,
            Ok("https://dev.azure.com/my-org/my-project/_git/fleet-infra"),
        ),
        (
            // an Azure DevOps SSH URL maps to its HTTPS URL, not to https://ssh.dev.azure.com/v3/…
            "ssh://git@ssh.dev.azure.com/v3/my-org/My%20Project/fleet-infra",
            false,
            Ok("https://dev.azure.com/my-org/My%20Project/_git/fleet-infra"),
        ),
        (
            "https://user@git.example.com:8443/team/repo",
            false,
            Ok("https://git.example.com:8443/team/repo"),
        ),
        (
            // other hosts: scheme forced to https, the ssh port dropped (flux.md §2.4)
            "ssh://git@git.example.com:2222/team/repo.git",
            false,
            Ok("https://git.example.com/team/repo.git"),
        ),
        (
            "http://127.0.0.1:8080/team/repo",
            true,
            Ok("http://127.0.0.1:8080/team/repo"),
        ),
        (
            "http://127.0.0.1:8080/team/repo",
            false,
            Err(
                "scheme http is insecure in \"http://127.0.0.1:8080/team/repo\": use https, or allow insecure http explicitly (flux: --allow-insecure-http=true)",
            ),
        ),
    ];
    for (input, insecure, expected) in table {
        let got = RepoUrl::parse(input)
            .unwrap()
            .token_auth_sync_url(*insecure)
            .map(|u| u.to_string())
            .map_err(|e| e.to_string());
        assert_eq!(
            got,
            expected.map(str::to_string).map_err(str::to_string),
            "{input}"
        );
    }
}

#[test]
fn ssh_sync_url_and_ssh_hostname() {
    let table: &[(&str, &str, Option<&str>, Result<&str, &str>)] = &[
        (
            // HTTPS bootstrap, SSH reconciliation
            "https://dev.azure.com/my-org/my-project/_git/fleet-infra",
            "git",
            Some("ssh.dev.azure.com"),
            Ok("ssh://git@ssh.dev.azure.com/v3/my-org/my-project/fleet-infra"),
        ),
        (
            "https://my-org.visualstudio.com/my-project/_git/fleet-infra",
            "git",
            None,
            Ok("ssh://git@ssh.dev.azure.com/v3/my-org/my-project/fleet-infra"),
        ),
        (
            "ssh://git@ssh.dev.azure.com/v3/my-org/my-project/fleet-infra",
            "git",
            None,
            Ok("ssh://git@ssh.dev.azure.com/v3/my-org/my-project/fleet-infra"),
        ),
        (
            "https://git.example.com/team/repo.git",
            "deploy",
            Some("ssh.example.com:2222"),
            Ok("ssh://deploy@ssh.example.com:2222/team/repo.git"),
        ),
        (
            // flux only changes the scheme and user: an HTTPS port stays unless replaced
            "https://git.example.com:8443/team/repo.git",
            "git",
            None,
            Ok("ssh://git@git.example.com:8443/team/repo.git"),
        ),
        (
            "ssh://git@git.example.com:2222/team/repo.git",
            "git",
            Some("other.example.com:22"),
            Ok("ssh://git@other.example.com/team/repo.git"),
        ),
        (
            "https://dev.azure.com/my-org/my-project/_git/fleet-infra",
            "git",
            Some("ssh.dev.azure.com:port"),
            Err(
                "invalid SSH hostname \"ssh.dev.azure.com:port\": expected host or host:port, e.g. ssh.dev.azure.com",
            ),
        ),
        (
            "https://dev.azure.com/my-org/my-project/_git/fleet-infra",
            "git",
            Some("git@ssh.dev.azure.com"),
            Err(
                "invalid SSH hostname \"git@ssh.dev.azure.com\": expected host or host:port, e.g. ssh.dev.azure.com",
            ),
        ),
    ];
    for (input, user, hostname, expected) in table {
        let got = RepoUrl::parse(input)
            .unwrap()
            .ssh_sync_url(user, *hostname)
            .map(|u| u.to_string())
            .map_err(|e| e.to_string());
        assert_eq!(
            got,
            expected.map(str::to_string).map_err(str::to_string),
            "{input} {hostname:?}"
        );
    }
}

#[test]
fn rest_api_base_https_and_ssh_urls() {
    let url =
        RepoUrl::parse("ssh://git@ssh.dev.azure.com/v3/my-org/My%20Project/fleet-infra").unwrap();
    assert_eq!(
        url.rest_api_base().unwrap().as_str(),
        "https://dev.azure.com/my-org/My%20Project/_apis/git/repositories/fleet-infra"
    );
    assert_eq!(
        url.https_url().unwrap().as_str(),
        "https://dev.azure.com/my-org/My%20Project/_git/fleet-infra"
    );
    let legacy =
        RepoUrl::parse("https://my-org.visualstudio.com/DefaultCollection/p/_git/r").unwrap();
    assert_eq!(
        legacy.rest_api_base().unwrap().as_str(),
        "https://dev.azure.com/my-org/p/_apis/git/repositories/r"
    );
    assert_eq!(
        legacy.ssh_url().unwrap().as_str(),
        "ssh://git@ssh.dev.azure.com/v3/my-org/p/r"
    );

    let other = RepoUrl::parse("https://github.com/fluxcd/flux2").unwrap();
    assert_eq!(
        other.rest_api_base().unwrap_err().to_string(),
        "\"https://github.com/fluxcd/flux2\" is not an Azure DevOps repository URL, so it has no REST API base"
    );
    assert_eq!(
        other.ssh_url().unwrap_err().to_string(),
        "\"https://github.com/fluxcd/flux2\" is a https URL and its ssh equivalent is not known for this host: pass the ssh URL explicitly"
    );
}

#[test]
fn known_hosts_host_uses_brackets_for_other_ports() {
    let table = [
        ("ssh://git@ssh.dev.azure.com/v3/o/p/r", "ssh.dev.azure.com"),
        (
            "ssh://git@ssh.dev.azure.com:22/v3/o/p/r",
            "ssh.dev.azure.com",
        ),
        ("ssh://git@127.0.0.1:2222/v3/o/p/r", "[127.0.0.1]:2222"),
        ("ssh://git@[::1]:2222/r", "[::1]:2222"),
        ("ssh://git@[::1]/r", "[::1]"),
    ];
    for (input, expected) in table {
        assert_eq!(
            RepoUrl::parse(input).unwrap().known_hosts_host(),
            expected,
            "{input}"
        );
    }
}
