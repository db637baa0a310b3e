//! The crate's error type.

/// Everything that can go wrong while building, validating, parsing or rendering objects.
///
/// Validation messages reuse the flux CLI's wording where the CLI has one, so that
/// `cargo xtask flux` can print them unchanged after `✗ `.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An object name (or namespace) is not a valid Kubernetes name.
    #[error(
        "name '{name}' is invalid, it should adhere to standard defined in RFC 1123, the name can only contain alphanumeric characters or '-'"
    )]
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// A field of an object has a value the API (or the flux CLI) rejects. The message says which value
    /// and what is accepted; `kind` and `name` identify the object.
    #[error("{message}")]
    Invalid {
        /// The object kind (`GitRepository`…).
        kind: String,
        /// The object name.
        name: String,
        /// The flux CLI's wording for the problem.
        message: String,
    },
    /// A duration string is not a Go duration (`1m`, `10m0s`, `1h30m`).
    #[error("time: invalid duration \"{0}\"")]
    InvalidDuration(String),
    /// A YAML or JSON document could not be parsed or did not have the expected shape.
    #[error("could not parse {what}: {message}")]
    Parse {
        /// What was being parsed.
        what: String,
        /// The parser's message.
        message: String,
    },
    /// A document has an `apiVersion`/`kind` this crate does not model.
    #[error("no matches for kind \"{kind}\" in version \"{api_version}\"")]
    UnknownKind {
        /// The document's apiVersion.
        api_version: String,
        /// The document's kind.
        kind: String,
    },
    /// Install manifests could not be obtained or did not pass their checksum.
    #[error("install manifests for Flux {version}: {message}")]
    Manifests {
        /// The Flux version asked for.
        version: String,
        /// What went wrong and what to do.
        message: String,
    },
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(kind: &str, name: &str, message: impl Into<String>) -> Self {
        Error::Invalid {
            kind: kind.to_owned(),
            name: name.to_owned(),
            message: message.into(),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
