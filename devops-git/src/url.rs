//! Git repository URLs: parsing, normalisation and the derivations `flux bootstrap git` needs.
//!
//! Flux only accepts RFC 3986 URLs (`GitRepository.spec.url` must match `^(http|https|ssh)://.*$`),
//! so the scp-like form `git@ssh.dev.azure.com:v3/org/project/repo` is refused with an error that
//! prints the URL to use instead (fluxcd/flux2#5015).

use std::fmt;

use percent_encoding::percent_decode_str;
use url::Url;

/// The Azure DevOps HTTPS host.
pub const AZURE_DEVOPS_HOST: &str = "dev.azure.com";
/// The Azure DevOps SSH host.
pub const AZURE_DEVOPS_SSH_HOST: &str = "ssh.dev.azure.com";
/// The legacy Azure DevOps SSH host (same host key as [`AZURE_DEVOPS_SSH_HOST`]).
pub const AZURE_DEVOPS_LEGACY_SSH_HOST: &str = "vs-ssh.visualstudio.com";
/// The suffix of legacy `https://<org>.visualstudio.com/…` hosts.
pub const VISUALSTUDIO_SUFFIX: &str = ".visualstudio.com";

const ADO_HTTPS_FORM: &str = "https://dev.azure.com/<org>/<project>/_git/<repo>";
const ADO_SSH_FORM: &str = "ssh://git@ssh.dev.azure.com/v3/<org>/<project>/<repo>";
const VS_HTTPS_FORM: &str = "https://<org>.visualstudio.com/<project>/_git/<repo>";

/// Why a URL was refused or a derivation is impossible. Every message names the input and says
/// what to use instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The input was empty.
    #[error(
        "the git repository URL is empty: pass a URL such as https://dev.azure.com/<org>/<project>/_git/<repo>"
    )]
    Empty,
    /// The scp-like `[user@]host:path` form, which Flux cannot use.
    #[error(
        "\"{input}\" is an scp-like git address, not a URL, and Flux only accepts RFC 3986 URLs: use \"{suggestion}\""
    )]
    ScpLike {
        /// The input as given.
        input: String,
        /// The equivalent `ssh://` URL.
        suggestion: String,
    },
    /// A `scheme://user@host:path` URL whose "port" is a path (scp-like colon after a scheme).
    #[error(
        "\"{input}\" is not a valid URL: \":{port}\" is not a port number; if \"{port}\" is part of the path, use \"{suggestion}\""
    )]
    PathAsPort {
        /// The input as given.
        input: String,
        /// The text after the colon that is not a port.
        port: String,
        /// The URL with `/` in place of the colon.
        suggestion: String,
    },
    /// The input could not be parsed as a URL.
    #[error(
        "\"{input}\" is not a valid git URL ({reason}): use the form {ADO_HTTPS_FORM} or {ADO_SSH_FORM}"
    )]
    Invalid {
        /// The input as given.
        input: String,
        /// The parser's reason.
        reason: String,
    },
    /// A scheme other than ssh, http or https.
    #[error(
        "git URL scheme \"{scheme}\" in \"{input}\" is not supported, can be: ssh, http and https"
    )]
    UnsupportedScheme {
        /// The input as given.
        input: String,
        /// The refused scheme.
        scheme: String,
    },
    /// The URL has no repository path.
    #[error("\"{input}\" names no repository: add the repository path, e.g. {ADO_HTTPS_FORM}")]
    MissingPath {
        /// The input as given.
        input: String,
    },
    /// The URL embeds a password; the text printed has it replaced by `***`.
    #[error(
        "the URL \"{redacted}\" contains a password: remove it from the URL and pass it as a credential (PAT or password) instead"
    )]
    EmbeddedPassword {
        /// The input with its password replaced by `***`.
        redacted: String,
    },
    /// An Azure DevOps host with a path that does not name `<org>/<project>/<repo>`.
    #[error("\"{input}\" is not an Azure DevOps repository URL: {problem}; expected {expected}")]
    AzureDevOpsPath {
        /// The input as given.
        input: String,
        /// What is wrong.
        problem: String,
        /// The expected form.
        expected: &'static str,
    },
    /// An Azure DevOps host on a non-standard port.
    #[error(
        "\"{input}\" uses port {port}, but Azure DevOps serves git on the default ports only (443 for HTTPS, 22 for SSH): remove the port"
    )]
    AzureDevOpsPort {
        /// The input as given.
        input: String,
        /// The refused port.
        port: u16,
    },
    /// A part of the path is not valid UTF-8 once percent-decoded.
    #[error("\"{input}\": the path segment \"{segment}\" is not valid UTF-8 once percent-decoded")]
    BadEncoding {
        /// The input as given.
        input: String,
        /// The raw segment.
        segment: String,
    },
    /// The derivation needs an Azure DevOps URL.
    #[error("\"{url}\" is not an Azure DevOps repository URL, so it has no {what}")]
    NotAzureDevOps {
        /// The URL.
        url: String,
        /// What was asked for.
        what: &'static str,
    },
    /// A plain `http` sync URL without the explicit opt-in.
    #[error(
        "scheme http is insecure in \"{url}\": use https, or allow insecure http explicitly (flux: --allow-insecure-http=true)"
    )]
    InsecureHttp {
        /// The URL.
        url: String,
    },
    /// The `--ssh-hostname` value is not `host` or `host:port`.
    #[error("invalid SSH hostname \"{value}\": expected host or host:port, e.g. ssh.dev.azure.com")]
    InvalidSshHostname {
        /// The value given.
        value: String,
    },
    /// A generic HTTPS URL has no known SSH equivalent (or the reverse).
    #[error(
        "\"{url}\" is a {have} URL and its {want} equivalent is not known for this host: pass the {want} URL explicitly"
    )]
    NoEquivalent {
        /// The URL.
        url: String,
        /// The scheme the URL has.
        have: &'static str,
        /// The scheme asked for.
        want: &'static str,
    },
}

/// The URL scheme of a repository URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `https://`
    Https,
    /// `http://` (tests, on-premises servers; Flux needs `--allow-insecure-http`).
    Http,
    /// `ssh://`
    Ssh,
}

impl Scheme {
    /// The scheme as written in a URL.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
            Scheme::Ssh => "ssh",
        }
    }
}

/// The organization, project and repository of an Azure DevOps repository, percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AzureDevOpsRepo {
    /// The organization (`<org>` in `dev.azure.com/<org>`).
    pub organization: String,
    /// The project.
    pub project: String,
    /// The repository name.
    pub repository: String,
}

impl AzureDevOpsRepo {
    /// `https://dev.azure.com/<org>/<project>/_git/<repo>`, segments percent-encoded.
    pub fn https_url(&self) -> Result<Url, UrlError> {
        build(
            "https://dev.azure.com/",
            &[&self.organization, &self.project, "_git", &self.repository],
        )
    }

    /// `ssh://git@ssh.dev.azure.com/v3/<org>/<project>/<repo>`, segments percent-encoded.
    pub fn ssh_url(&self) -> Result<Url, UrlError> {
        build(
            "ssh://git@ssh.dev.azure.com/",
            &["v3", &self.organization, &self.project, &self.repository],
        )
    }

    /// `https://dev.azure.com/<org>/<project>/_apis/git/repositories/<repo>` (the repository may be
    /// named by its name or its id).
    pub fn rest_api_base(&self) -> Result<Url, UrlError> {
        build(
            "https://dev.azure.com/",
            &[
                &self.organization,
                &self.project,
                "_apis",
                "git",
                "repositories",
                &self.repository,
            ],
        )
    }
}

fn build(base: &str, segments: &[&str]) -> Result<Url, UrlError> {
    let invalid = |reason: &str| UrlError::Invalid {
        input: format!("{base}{}", segments.join("/")),
        reason: reason.to_string(),
    };
    let mut url = Url::parse(base).map_err(|e| invalid(&e.to_string()))?;
    url.path_segments_mut()
        .map_err(|()| invalid("cannot be a base"))?
        .clear()
        .extend(segments);
    Ok(url)
}

/// A parsed, normalised git repository URL.
///
/// Normalisation: the host is lower-cased (IDN hosts become punycode), default ports are removed
/// (443/80 for HTTPS/HTTP and 22 for SSH), a trailing `/` is removed, the user of an HTTPS Azure
/// DevOps URL (`https://<org>@dev.azure.com/…`) is dropped, an SSH URL gets the user `git` when it
/// has none. URLs with a password are refused (pass the password as a credential).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RepoUrl {
    url: Url,
    scheme: Scheme,
    ado: Option<AzureDevOpsRepo>,
}

impl fmt::Debug for RepoUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RepoUrl").field(&self.url.as_str()).finish()
    }
}

impl fmt::Display for RepoUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url.as_str())
    }
}

impl std::str::FromStr for RepoUrl {
    type Err = UrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RepoUrl::parse(s)
    }
}

/// `Some((user, host, path))` when `input` is scp-like: no `://`, a colon before any slash.
fn scp_like(input: &str) -> Option<(Option<&str>, &str, &str)> {
    if input.contains("://") {
        return None;
    }
    let colon = input.find(':')?;
    if input[..colon].contains('/') {
        return None;
    }
    let (user, host) = match input[..colon].rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, &input[..colon]),
    };
    // A single letter is a Windows drive (`C:\repo`), not a host.
    if host.len() < 2 {
        return None;
    }
    Some((user, host, &input[colon + 1..]))
}

/// `input` with the password of its `user:password@` part, if any, replaced by `***`; works on
/// text that is not a valid URL (scp-like, bad port, bad host).
fn redact_userinfo_password(input: &str) -> String {
    let start = input.find("://").map_or(0, |i| i + 3);
    let rest = &input[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return input.to_string();
    };
    let Some(colon) = rest[..at].find(':') else {
        return input.to_string();
    };
    format!("{}{}:***{}", &input[..start], &rest[..colon], &rest[at..])
}

fn redact_password(url: &Url) -> String {
    let mut copy = url.clone();
    match copy.set_password(Some("***")) {
        Ok(()) => copy.to_string(),
        // Never echo the input, which holds the secret.
        Err(()) => format!("{}://<redacted>", url.scheme()),
    }
}

fn decode(input: &str, segment: &str) -> Result<String, UrlError> {
    percent_decode_str(segment)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| UrlError::BadEncoding {
            input: input.to_string(),
            segment: segment.to_string(),
        })
}

fn ado_path_error(input: &str, problem: impl Into<String>, expected: &'static str) -> UrlError {
    UrlError::AzureDevOpsPath {
        input: input.to_string(),
        problem: problem.into(),
        expected,
    }
}

/// Checks `segments` (already split, trailing empty removed) against `pattern` where `None` is a
/// named part and `Some(lit)` a literal; returns the decoded named parts.
fn match_parts(
    input: &str,
    segments: &[&str],
    pattern: &[Result<&'static str, &'static str>],
    expected: &'static str,
) -> Result<Vec<String>, UrlError> {
    if segments.len() != pattern.len() {
        let problem = if segments.len() < pattern.len() {
            let missing: Vec<&str> = pattern[segments.len()..]
                .iter()
                .map(|p| match p {
                    Ok(lit) => *lit,
                    Err(name) => *name,
                })
                .collect();
            format!("the path is missing {}", missing.join("/"))
        } else {
            format!(
                "the path has {} segments where {} are expected",
                segments.len(),
                pattern.len()
            )
        };
        return Err(ado_path_error(input, problem, expected));
    }
    let mut parts = Vec::new();
    for (seg, pat) in segments.iter().zip(pattern) {
        match pat {
            Ok(lit) => {
                if !seg.eq_ignore_ascii_case(lit) {
                    return Err(ado_path_error(
                        input,
                        format!("found \"{seg}\" where \"{lit}\" is expected"),
                        expected,
                    ));
                }
            }
            Err(name) => {
                let decoded = decode(input, seg)?;
                if decoded.trim().is_empty() {
                    return Err(ado_path_error(
                        input,
                        format!("the {name} is empty"),
                        expected,
                    ));
                }
                parts.push(decoded);
            }
        }
    }
    Ok(parts)
}

fn ado_from(parts: Vec<String>) -> Option<AzureDevOpsRepo> {
    let mut it = parts.into_iter();
    Some(AzureDevOpsRepo {
        organization: it.next()?,
        project: it.next()?,
        repository: it.next()?,
    })
}

impl RepoUrl {
    /// Parses and normalises a repository URL.
    ///
    /// Accepted: `https://dev.azure.com/<org>/<project>/_git/<repo>` (optionally with a user, as
    /// the Azure DevOps "Clone" button writes it), `https://<org>.visualstudio.com/[DefaultCollection/]<project>/_git/<repo>`,
    /// `ssh://git@ssh.dev.azure.com/v3/<org>/<project>/<repo>` (also `vs-ssh.visualstudio.com`),
    /// and any `http`, `https` or `ssh` URL of another host.
    pub fn parse(input: &str) -> Result<Self, UrlError> {
        let raw = input.trim();
        if raw.is_empty() {
            return Err(UrlError::Empty);
        }
        // Every message echoes the input: never with a password in it, even when the URL does not
        // parse far enough for the embedded-password check below.
        let shown = redact_userinfo_password(raw);
        let input = shown.as_str();
        if let Some((user, host, path)) = scp_like(input) {
            let user = user.map(|u| format!("{u}@")).unwrap_or_default();
            let path = path.trim_start_matches('/');
            return Err(UrlError::ScpLike {
                input: input.to_string(),
                suggestion: format!("ssh://{user}{host}/{path}"),
            });
        }
        let url = match Url::parse(raw) {
            Ok(url) => url,
            Err(url::ParseError::InvalidPort) => return Err(path_as_port(input)),
            Err(e) => {
                return Err(UrlError::Invalid {
                    input: input.to_string(),
                    reason: e.to_string(),
                });
            }
        };
        let scheme = match url.scheme() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            "ssh" => Scheme::Ssh,
            other => {
                return Err(UrlError::UnsupportedScheme {
                    input: input.to_string(),
                    scheme: other.to_string(),
                });
            }
        };
        if url.password().is_some() {
            return Err(UrlError::EmbeddedPassword {
                redacted: redact_password(&url),
            });
        }
        let Some(host) = url.host_str().map(str::to_string) else {
            return Err(UrlError::Invalid {
                input: input.to_string(),
                reason: "no host".to_string(),
            });
        };
        let mut url = url;
        url.set_query(None);
        url.set_fragment(None);
        if scheme == Scheme::Ssh && url.port() == Some(22) {
            // `url` only knows the default ports of special schemes.
            let _ = url.set_port(None);
        }
        let segments: Vec<String> = url
            .path_segments()
            .map(|s| s.map(str::to_string).collect())
            .unwrap_or_default();
        let mut segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        while segments.last() == Some(&"") {
            segments.pop();
        }
        if segments.is_empty() {
            return Err(UrlError::MissingPath {
                input: input.to_string(),
            });
        }

        let ado_https = host == AZURE_DEVOPS_HOST;
        let ado_vs = host.ends_with(VISUALSTUDIO_SUFFIX) && host != AZURE_DEVOPS_LEGACY_SSH_HOST;
        let ado_ssh = host == AZURE_DEVOPS_SSH_HOST || host == AZURE_DEVOPS_LEGACY_SSH_HOST;
        if (ado_https || ado_vs || ado_ssh)
            && let Some(port) = url.port()
        {
            return Err(UrlError::AzureDevOpsPort {
                input: input.to_string(),
                port,
            });
        }

        let ado = if ado_https && scheme != Scheme::Ssh {
            let parts = match_parts(
                input,
                &segments,
                &[Err("<org>"), Err("<project>"), Ok("_git"), Err("<repo>")],
                ADO_HTTPS_FORM,
            )?;
            ado_from(parts)
        } else if ado_vs && scheme != Scheme::Ssh {
            let org = host.trim_end_matches(VISUALSTUDIO_SUFFIX).to_string();
            let rest: &[&str] = if segments
                .first()
                .is_some_and(|s| s.eq_ignore_ascii_case("DefaultCollection"))
            {
                &segments[1..]
            } else {
                &segments
            };
            let mut parts = match_parts(
                input,
                rest,
                &[Err("<project>"), Ok("_git"), Err("<repo>")],
                VS_HTTPS_FORM,
            )?;
            parts.insert(0, org);
            ado_from(parts)
        } else if ado_ssh && scheme == Scheme::Ssh {
            let parts = match_parts(
                input,
                &segments,
                &[Ok("v3"), Err("<org>"), Err("<project>"), Err("<repo>")],
                ADO_SSH_FORM,
            )?;
            ado_from(parts)
        } else if ado_https || ado_vs || ado_ssh {
            let expected = if ado_ssh {
                ADO_SSH_FORM
            } else {
                ADO_HTTPS_FORM
            };
            return Err(ado_path_error(
                input,
                format!("the scheme {} is not served on {host}", scheme.as_str()),
                expected,
            ));
        } else {
            None
        };

        // Rebuild the path without the trailing slash; keep the segments as encoded.
        let path = format!("/{}", segments.join("/"));
        url.set_path(&path);
        match scheme {
            Scheme::Https | Scheme::Http if ado.is_some() => {
                let _ = url.set_username("");
            }
            Scheme::Ssh if url.username().is_empty() => {
                let _ = url.set_username("git");
            }
            _ => {}
        }
        Ok(RepoUrl { url, scheme, ado })
    }

    /// The normalised URL.
    pub fn as_url(&self) -> &Url {
        &self.url
    }

    /// The normalised URL as text.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host (lower-case).
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// The explicit non-default port, if any.
    pub fn port(&self) -> Option<u16> {
        self.url.port()
    }

    /// The user of the URL (`git` for SSH URLs without one); empty when none.
    pub fn username(&self) -> &str {
        self.url.username()
    }

    /// The Azure DevOps organization, project and repository, when this is an Azure DevOps URL.
    pub fn azure_devops(&self) -> Option<&AzureDevOpsRepo> {
        self.ado.as_ref()
    }

    fn require_ado(&self, what: &'static str) -> Result<&AzureDevOpsRepo, UrlError> {
        self.ado.as_ref().ok_or_else(|| UrlError::NotAzureDevOps {
            url: self.url.to_string(),
            what,
        })
    }

    /// The REST API base `https://dev.azure.com/<org>/<project>/_apis/git/repositories/<repo>`.
    pub fn rest_api_base(&self) -> Result<Url, UrlError> {
        self.require_ado("REST API base")?.rest_api_base()
    }

    /// The HTTPS clone URL: for Azure DevOps the canonical `https://dev.azure.com/…` URL (also for
    /// an SSH input); otherwise the URL itself when it is http(s).
    pub fn https_url(&self) -> Result<Url, UrlError> {
        match (&self.ado, self.scheme) {
            (Some(ado), Scheme::Ssh) => ado.https_url(),
            (_, Scheme::Https | Scheme::Http) => Ok(self.url.clone()),
            (None, Scheme::Ssh) => Err(UrlError::NoEquivalent {
                url: self.url.to_string(),
                have: "ssh",
                want: "https",
            }),
        }
    }

    /// The SSH clone URL: for Azure DevOps `ssh://git@ssh.dev.azure.com/v3/<org>/<project>/<repo>`
    /// (also for an HTTPS input); otherwise the URL itself when it is SSH.
    pub fn ssh_url(&self) -> Result<Url, UrlError> {
        match (&self.ado, self.scheme) {
            (_, Scheme::Ssh) => Ok(self.url.clone()),
            (Some(ado), _) => ado.ssh_url(),
            (None, _) => Err(UrlError::NoEquivalent {
                url: self.url.to_string(),
                have: self.scheme.as_str(),
                want: "ssh",
            }),
        }
    }

    /// The `GitRepository.spec.url` for token (PAT / password / bearer) authentication, as
    /// `flux bootstrap git --token-auth` computes it (flux.md §2.4): the user removed and the
    /// scheme forced to https (kept http only with `allow_insecure_http`). An Azure DevOps SSH URL
    /// maps to its `https://dev.azure.com/…` URL; another SSH URL becomes https without its port.
    pub fn token_auth_sync_url(&self, allow_insecure_http: bool) -> Result<Url, UrlError> {
        if let (Some(ado), Scheme::Ssh) = (&self.ado, self.scheme) {
            return ado.https_url();
        }
        let mut url = self.url.clone();
        let _ = url.set_username("");
        match self.scheme {
            Scheme::Https => {}
            Scheme::Http if allow_insecure_http => {}
            Scheme::Http => {
                return Err(UrlError::InsecureHttp {
                    url: url.to_string(),
                });
            }
            Scheme::Ssh => {
                // Like Go's url.URL with Scheme changed: non-http(s) schemes lose the port.
                let mut text = format!("https://{}{}", self.host_for_url(), url.path());
                if text.ends_with('/') {
                    text.pop();
                }
                url = Url::parse(&text).map_err(|e| UrlError::Invalid {
                    input: text.clone(),
                    reason: e.to_string(),
                })?;
            }
        }
        Ok(url)
    }

    fn host_for_url(&self) -> String {
        match self.url.host() {
            Some(url::Host::Ipv6(a)) => format!("[{a}]"),
            Some(h) => h.to_string(),
            None => String::new(),
        }
    }

    /// The `GitRepository.spec.url` for SSH authentication (flux.md §2.4): scheme `ssh`, the user
    /// `username` and, when given, the host (`host` or `host:port`) replaced by `ssh_hostname`
    /// (`--ssh-hostname`). For Azure DevOps the path becomes `/v3/<org>/<project>/<repo>`, so an
    /// HTTPS bootstrap URL with `ssh_hostname = Some("ssh.dev.azure.com")` gives the real SSH URL.
    pub fn ssh_sync_url(
        &self,
        username: &str,
        ssh_hostname: Option<&str>,
    ) -> Result<Url, UrlError> {
        let mut url = match (&self.ado, self.scheme) {
            (Some(ado), _) => ado.ssh_url()?,
            (None, Scheme::Ssh) => self.url.clone(),
            (None, _) => {
                // Like flux: only the scheme changes; host:port are kept unless replaced.
                let port = self.url.port().map(|p| format!(":{p}")).unwrap_or_default();
                let text = format!("ssh://{}{port}{}", self.host_for_url(), self.url.path());
                Url::parse(&text).map_err(|e| UrlError::Invalid {
                    input: text.clone(),
                    reason: e.to_string(),
                })?
            }
        };
        let _ = url.set_username(if username.is_empty() { "git" } else { username });
        if let Some(value) = ssh_hostname {
            let (host, port) = split_host_port(value)?;
            url.set_host(Some(&host))
                .map_err(|_| UrlError::InvalidSshHostname {
                    value: value.to_string(),
                })?;
            url.set_port(port.filter(|p| *p != 22))
                .map_err(|_| UrlError::InvalidSshHostname {
                    value: value.to_string(),
                })?;
        }
        Ok(url)
    }

    /// The host name to look up in `known_hosts` for this URL: `host`, or `[host]:port` for a
    /// non-22 SSH port (the format `fluxcd/pkg` ssh `ScanHostKey` writes).
    pub fn known_hosts_host(&self) -> String {
        known_hosts_name(&self.host_for_url(), self.url.port())
    }
}

/// `host` or `[host]:port` for a non-22 port: the `known_hosts` host pattern.
pub fn known_hosts_name(host: &str, port: Option<u16>) -> String {
    match port {
        Some(p) if p != 22 => format!(
            "[{}]:{p}",
            host.trim_start_matches('[').trim_end_matches(']')
        ),
        _ => host.to_string(),
    }
}

/// Splits `host` or `host:port` (`[v6]:port` too).
pub fn split_host_port(value: &str) -> Result<(String, Option<u16>), UrlError> {
    let bad = || UrlError::InvalidSshHostname {
        value: value.to_string(),
    };
    let value_trim = value.trim();
    if value_trim.is_empty() || value_trim.contains('/') || value_trim.contains('@') {
        return Err(bad());
    }
    let (host, port) = if let Some(rest) = value_trim.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse::<u16>().map_err(|_| bad())?),
            None if after.is_empty() => None,
            None => return Err(bad()),
        };
        (format!("[{h}]"), port)
    } else if let Some((h, p)) = value_trim.rsplit_once(':') {
        (h.to_string(), Some(p.parse::<u16>().map_err(|_| bad())?))
    } else {
        (value_trim.to_string(), None)
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host, port))
}

fn path_as_port(input: &str) -> UrlError {
    // `scheme://[user@]host:rest` where rest does not start with digits-then-slash.
    let invalid = || UrlError::Invalid {
        input: input.to_string(),
        reason: "invalid port number".to_string(),
    };
    let Some((scheme, rest)) = input.split_once("://") else {
        return invalid();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h),
        None => (String::new(), authority),
    };
    let Some((host, port)) = hostport.rsplit_once(':') else {
        return invalid();
    };
    if port.is_empty() || port.bytes().all(|b| b.is_ascii_digit()) {
        return invalid();
    }
    let path = &rest[authority_end..];
    UrlError::PathAsPort {
        input: input.to_string(),
        port: port.to_string(),
        suggestion: format!("{scheme}://{userinfo}{host}/{port}{path}"),
    }
}
