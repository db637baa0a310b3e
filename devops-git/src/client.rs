//! The Azure DevOps REST implementation of [`crate::GitHost`] (Pushes API, PAT lifecycle).
//!
//! Not written yet: it needs the azflux-core HTTP pipeline. It will build its URLs from
//! [`crate::RepoUrl::rest_api_base`] and take the same [`crate::GitCredentials`].
