//! Serde request/response bodies of the Azure DevOps REST API: no I/O. (Not written yet; see
//! [`crate::client`].)
