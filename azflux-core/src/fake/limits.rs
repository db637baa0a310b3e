//! [`Limits`]: what the served fake cloud (front door and proxy) accepts from a client before any fake sees
//! the request — request bodies capped per service, as the services cap them, and a deadline for a
//! request's headers (a slow-header "slowloris" client is disconnected instead of holding a connection).
//!
//! A body over its cap is refused with `413` and an Azure error envelope, without reading the rest of it:
//! from `Content-Length` when the client sends one, else as soon as the streamed body passes the cap.
//!
//! ```
//! use azflux_core::fake::limits::Limits;
//! let limits = Limits::default();
//! assert_eq!(limits.body_limit("management.azure.com"), 4 * 1024 * 1024);
//! assert_eq!(limits.body_limit("myacr.azurecr.io"), 128 * 1024 * 1024);
//! assert!(limits.body_limit("ns.servicebus.windows.net") < limits.body_limit("dev.azure.com"));
//! ```

use std::time::Duration;

const MIB: usize = 1024 * 1024;

/// Request limits of the served fake cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// How long a client may take to send a request's headers (default 10 s).
    pub header_read_timeout: Duration,
    /// How long a client may take for the TLS handshake (default 10 s).
    pub handshake_timeout: Duration,
    /// Resource Manager (`management.*`): 4 MiB — ARM refuses request content over 4 MB
    /// (learn.microsoft.com, "Resolve errors for job size exceeded": the template limit of 4 MB).
    pub arm: usize,
    /// Container registries (`*.azurecr.*`): blob uploads, 128 MiB per request (chunk larger layers).
    pub registry: usize,
    /// Event Hubs (`*.servicebus.*`): 1 MiB, the Standard tier's maximum event/batch size.
    pub event_hubs: usize,
    /// Azure DevOps (`dev.azure.com`, `*.visualstudio.com`): 25 MiB for a REST push.
    pub devops: usize,
    /// Everything else (Entra ID, Key Vault, …): 1 MiB.
    pub default: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            arm: 4 * MIB,
            registry: 128 * MIB,
            event_hubs: MIB,
            devops: 25 * MIB,
            default: MIB,
        }
    }
}

impl Limits {
    /// The largest request body accepted for `host`.
    pub fn body_limit(&self, host: &str) -> usize {
        let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
        if host.starts_with("management.") {
            self.arm
        } else if host.contains(".azurecr.") {
            self.registry
        } else if host.contains(".servicebus.") {
            self.event_hubs
        } else if host == "dev.azure.com"
            || host.ends_with(".dev.azure.com")
            || host.ends_with(".visualstudio.com")
        {
            self.devops
        } else {
            self.default
        }
    }

    /// The `413` answer for a body over `limit` bytes (Azure's error envelope).
    pub fn too_large_body(limit: usize) -> String {
        serde_json::json!({"error": {
            "code": "RequestEntityTooLarge",
            "message": format!("The request content exceeds the maximum allowed size of {limit} bytes for this service. Send a smaller request (upload large content in chunks)."),
        }})
        .to_string()
    }
}
