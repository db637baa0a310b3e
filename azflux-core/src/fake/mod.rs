//! The fake Azure cloud (feature `fake`): stateful wiremock fakes behind a host router, a fake Entra ID,
//! fault injection and a manual clock — for contract tests, and served whole by `cargo xtask fake-azure`.
//!
//! Clients keep speaking real Azure host names (`https://management.azure.com`, `https://kv.vault.azure.net`):
//! [`FakeCloud::http_options`] gives them a transport that routes each host to the fake serving it. Each
//! crate's fake mounts its routes on the servers the harness owns ([`FakeCloud::server_for`]) through
//! [`FakeCloud::mount`], which counts requests per route and applies injected faults first.

pub mod arm;
pub mod arm_kit;
pub mod ca;
pub mod client_credential;
pub mod entra;
pub mod faults;
pub mod front;
pub mod jwt;
pub mod limits;
pub mod proxy;
pub mod request;
pub mod resource_groups;
pub mod router;

use crate::clock::{Clock, ManualClock};
use crate::cloud::Cloud;
use crate::credential::CachedCredential;
use crate::http::{HostRule, HttpPipelineOptions, RetryConfig};
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, HttpClient};
use entra::FakeEntraId;
use faults::{Fault, FaultInjector};
use request::FakeRequest;
use router::{Router, RouterTransport};
use secrecy::SecretString;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

pub use wiremock;

/// The sandbox principal every fake cloud starts with (also printed by `cargo xtask fake-azure --json`).
#[derive(Clone)]
pub struct SandboxIdentity {
    /// Tenant id.
    pub tenant_id: String,
    /// Subscription id.
    pub subscription_id: String,
    /// Client (application) id.
    pub client_id: String,
    /// Object id of the service principal.
    pub object_id: String,
    /// Client secret.
    pub client_secret: SecretString,
}

impl fmt::Debug for SandboxIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxIdentity")
            .field("tenant_id", &self.tenant_id)
            .field("subscription_id", &self.subscription_id)
            .field("client_id", &self.client_id)
            .field("object_id", &self.object_id)
            .field("client_secret", &crate::secret::REDACTED)
            .finish()
    }
}

/// Options for [`FakeCloud::start_with`].
#[derive(Debug, Clone)]
pub struct FakeCloudOptions {
    /// The clock fakes age resources on. `None`: a [`ManualClock`] starting now (long-running operations
    /// advance when clients sleep on it — tests never wait real time). `cargo xtask fake-azure` passes the
    /// system clock.
    pub clock: Option<Arc<dyn Clock>>,
    /// Lifetime of issued access tokens (default 3599 s, as Entra ID).
    pub token_lifetime: Duration,
}

impl Default for FakeCloudOptions {
    fn default() -> Self {
        Self {
            clock: None,
            token_lifetime: Duration::from_secs(3599),
        }
    }
}

/// A running fake cloud. Cloning shares it.
#[derive(Clone)]
pub struct FakeCloud {
    inner: Arc<Inner>,
}

struct Inner {
    cloud: Cloud,
    clock: Arc<dyn Clock>,
    manual: Option<ManualClock>,
    router: Arc<Router>,
    faults: Arc<FaultInjector>,
    entra: FakeEntraId,
    entra_server: Arc<MockServer>,
    servers: Mutex<HashMap<String, Arc<MockServer>>>,
    counters: Arc<Mutex<BTreeMap<String, u64>>>,
    sandbox: SandboxIdentity,
    arm_throttle: arm::ArmThrottle,
    transport: Arc<RouterTransport>,
    arm_kit: std::sync::OnceLock<arm_kit::ArmKit>,
}

impl fmt::Debug for FakeCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeCloud")
            .field("hosts", &self.inner.router.hosts())
            .field("sandbox", &self.inner.sandbox)
            .finish()
    }
}

impl FakeCloud {
    /// Starts a fake cloud with a manual clock.
    pub async fn start() -> Self {
        Self::start_with(FakeCloudOptions::default()).await
    }

    /// Starts a fake cloud.
    pub async fn start_with(options: FakeCloudOptions) -> Self {
        let (clock, manual): (Arc<dyn Clock>, Option<ManualClock>) = match options.clock {
            Some(c) => (c, None),
            None => {
                let m = ManualClock::new(time::OffsetDateTime::now_utc());
                (Arc::new(m.clone()), Some(m))
            }
        };
        let cloud = Cloud::public();
        let router = Arc::new(Router::default());
        // The fakes answer the sovereign clouds' host names too (through the proxy, or a client's transport).
        router.alias_cloud(&Cloud::china(), &cloud);
        router.alias_cloud(&Cloud::us_government(), &cloud);
        let faults = Arc::new(FaultInjector::default());
        let entra = FakeEntraId::new(clock.clone(), options.token_lifetime);
        let sandbox = SandboxIdentity {
            tenant_id: "72f988bf-0000-4000-8000-00000000a2f1".into(),
            subscription_id: "00000000-0000-4000-8000-0000000000a1".into(),
            client_id: "11111111-0000-4000-8000-00000000c1d1".into(),
            object_id: String::new(),
            client_secret: SecretString::from(format!("fake~{}", uuid::Uuid::new_v4().simple())),
        };
        let object_id = entra.register_app(
            &sandbox.tenant_id,
            &sandbox.client_id,
            Some(sandbox.client_secret.clone()),
        );
        let sandbox = SandboxIdentity {
            object_id,
            ..sandbox
        };
        let entra_server = Arc::new(MockServer::start().await);
        let counters = Arc::new(Mutex::new(BTreeMap::new()));
        // One transport (one connection pool) for every client of this cloud.
        let transport = Arc::new(RouterTransport::new(router.clone(), faults.clone()));
        let this = Self {
            inner: Arc::new(Inner {
                cloud,
                clock,
                manual,
                router,
                faults,
                entra,
                entra_server,
                servers: Mutex::new(HashMap::new()),
                counters,
                sandbox,
                arm_throttle: arm::ArmThrottle::default(),
                transport,
                arm_kit: std::sync::OnceLock::new(),
            }),
        };
        this.mount_entra().await;
        let kit = this.arm_kit();
        kit.mount().await;
        kit.add_principal(
            &this.inner.sandbox.object_id,
            time::OffsetDateTime::UNIX_EPOCH,
        );
        this
    }

    async fn mount_entra(&self) {
        let server = self.inner.entra_server.clone();
        for host in [
            "login.microsoftonline.com",
            "login.windows.net",
            "login.microsoft.com",
            "sts.windows.net",
        ] {
            self.inner
                .router
                .add(HostRule::Exact(host.into()), *server.address());
        }
        self.inner
            .router
            .add(HostRule::Exact("169.254.169.254".into()), *server.address());
        self.inner.router.add_path("/*/oauth2/", *server.address());
        self.inner.router.add_path("/*/v2.0/", *server.address());
        self.inner.router.add_path("/metadata/", *server.address());
        self.inner
            .router
            .add_path("/common/discovery/", *server.address());
        let entra = self.inner.entra.clone();
        self.mount(
            &server,
            "entra.token",
            "POST",
            r"^/[^/]+/oauth2/v2\.0/token$",
            move |r| entra.token_endpoint(r),
        )
        .await;
        let entra = self.inner.entra.clone();
        self.mount(
            &server,
            "entra.imds",
            "GET",
            r"^/metadata/identity/oauth2/token$",
            move |r| entra.imds_endpoint(r),
        )
        .await;
        let entra = self.inner.entra.clone();
        self.mount(
            &server,
            "entra.openid",
            "GET",
            r"^/[^/]+/v2\.0/\.well-known/openid-configuration$",
            move |r| {
                let authority = r.origin();
                entra.openid_configuration(r, &authority)
            },
        )
        .await;
        let entra = self.inner.entra.clone();
        self.mount(
            &server,
            "entra.instance-discovery",
            "GET",
            r"^/common/discovery/instance$",
            move |r| entra.instance_discovery(r),
        )
        .await;
    }

    /// The cloud the fakes impersonate (the public cloud's host names).
    pub fn cloud(&self) -> Cloud {
        self.inner.cloud.clone()
    }

    /// The clock the fakes age resources on.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.inner.clock.clone()
    }

    /// The manual clock, when the cloud runs on one.
    pub fn manual_clock(&self) -> Option<ManualClock> {
        self.inner.manual.clone()
    }

    /// Fault injection for every fake of this cloud.
    pub fn faults(&self) -> &FaultInjector {
        &self.inner.faults
    }

    /// The fake Entra ID.
    pub fn entra(&self) -> &FakeEntraId {
        &self.inner.entra
    }

    /// The sandbox principal.
    pub fn sandbox(&self) -> &SandboxIdentity {
        &self.inner.sandbox
    }

    /// The host router (for the HTTP/HTTPS front and for diagnostics).
    pub fn router(&self) -> Arc<Router> {
        self.inner.router.clone()
    }

    /// The address of the fake Entra ID server.
    pub fn entra_address(&self) -> std::net::SocketAddr {
        *self.inner.entra_server.address()
    }

    /// The transport that routes real Azure host names to the fakes.
    pub fn transport(&self) -> Arc<dyn HttpClient> {
        self.inner.transport.clone()
    }

    /// Pipeline options for azflux clients: the routing transport, fast retries, the cloud's clock.
    pub fn http_options(&self) -> HttpPipelineOptions {
        HttpPipelineOptions {
            transport: Some(self.transport()),
            retry: RetryConfig {
                max_retries: 4,
                ..RetryConfig::default()
            },
            clock: self.clock(),
        }
    }

    /// azure_core client options with the routing transport (for azure_identity credentials and SDK clients).
    pub fn client_options(&self) -> ClientOptions {
        self.http_options().client_options()
    }

    /// The sandbox principal's client-secret credential (through the routing transport, token expiry on the
    /// cloud's clock), behind a [`CachedCredential`] on the same clock. Tests of azure_identity's own
    /// credentials build them with [`FakeCloud::client_options`].
    pub fn credential(&self) -> crate::Result<Arc<CachedCredential>> {
        let sandbox = &self.inner.sandbox;
        let inner = client_credential::FakeClientSecretCredential::new(
            &self.inner.cloud,
            &sandbox.tenant_id,
            &sandbox.client_id,
            sandbox.client_secret.clone(),
            &self.http_options(),
        )?;
        let inner: Arc<dyn TokenCredential> = Arc::new(inner);
        Ok(Arc::new(
            CachedCredential::new(&sandbox.tenant_id, inner).with_clock(self.clock()),
        ))
    }

    /// The server for requests matching `rule` (started and routed on first use). Fakes of the same host
    /// (all ARM fakes on `management.azure.com`) share one server and mount disjoint routes on it.
    pub async fn server_for(&self, rule: HostRule) -> Arc<MockServer> {
        let key = match &rule {
            HostRule::Exact(h) => h.to_ascii_lowercase(),
            HostRule::Suffix(s) => format!("*{}", s.to_ascii_lowercase()),
        };
        if let Some(existing) = self
            .inner
            .servers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return existing.clone();
        }
        let server = Arc::new(MockServer::start().await);
        let mut servers = self
            .inner
            .servers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let server = servers.entry(key).or_insert(server).clone();
        drop(servers);
        self.inner.router.add(rule.clone(), *server.address());
        if rule == HostRule::Exact("management.azure.com".into()) {
            self.inner
                .router
                .add_path("/subscriptions/", *server.address());
            self.inner.router.add_path("/providers/", *server.address());
        }
        server
    }

    /// The shared server of `management.azure.com`.
    pub async fn arm_server(&self) -> Arc<MockServer> {
        self.server_for(HostRule::Exact("management.azure.com".into()))
            .await
    }

    /// Mounts a route: requests with `method` whose path matches `path_regex` are counted under `route`,
    /// get any injected fault, and otherwise go to `handler`.
    pub async fn mount<F>(
        &self,
        server: &MockServer,
        route: &str,
        method: &str,
        path_regex: &str,
        handler: F,
    ) where
        F: Fn(&FakeRequest<'_>) -> ResponseTemplate + Send + Sync + 'static,
    {
        let responder = Route {
            name: route.to_owned(),
            faults: self.inner.faults.clone(),
            counters: self.inner.counters.clone(),
            handler: Box::new(handler),
        };
        Mock::given(wiremock::matchers::method(method))
            .and(wiremock::matchers::path_regex(path_regex))
            .respond_with(responder)
            .named(route)
            .mount(server)
            .await;
    }

    /// Serves the whole cloud on one local port (plain HTTP, or HTTPS with a generated certificate whose CA
    /// PEM is returned), routing by `Host` — see [`front`].
    pub async fn serve_front(
        &self,
        port: u16,
        https: bool,
    ) -> std::io::Result<(
        std::net::SocketAddr,
        Option<String>,
        tokio::task::JoinHandle<()>,
    )> {
        let tls = if https {
            Some(front::generate_tls().map_err(std::io::Error::other)?)
        } else {
            None
        };
        let ca = tls.as_ref().map(|t| t.ca_pem.clone());
        let (addr, task) = front::bind(port, self.router(), self.inner.faults.clone(), tls).await?;
        Ok((addr, ca, task))
    }

    /// Serves the whole cloud as an HTTP proxy on `127.0.0.1:port` (0 = any): `CONNECT` to any host a fake
    /// serves, TLS terminated with certificates of the returned CA — see [`proxy`].
    pub async fn serve_proxy(
        &self,
        port: u16,
    ) -> std::io::Result<(
        std::net::SocketAddr,
        Arc<ca::FakeCa>,
        tokio::task::JoinHandle<()>,
    )> {
        self.serve_proxy_with(port, limits::Limits::default()).await
    }

    /// [`FakeCloud::serve_proxy`] with explicit request [`limits::Limits`].
    pub async fn serve_proxy_with(
        &self,
        port: u16,
        limits: limits::Limits,
    ) -> std::io::Result<(
        std::net::SocketAddr,
        Arc<ca::FakeCa>,
        tokio::task::JoinHandle<()>,
    )> {
        let ca = Arc::new(ca::FakeCa::generate().map_err(std::io::Error::other)?);
        let (addr, task) = proxy::bind(
            port,
            self.router(),
            self.inner.faults.clone(),
            ca.clone(),
            limits,
        )
        .await?;
        Ok((addr, ca, task))
    }

    /// Requests received per route name.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.inner
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Requests received by one route.
    pub fn request_count(&self, route: &str) -> u64 {
        self.request_counts().get(route).copied().unwrap_or(0)
    }

    /// Every route's count whose name starts with `prefix`, summed.
    pub fn request_count_prefix(&self, prefix: &str) -> u64 {
        self.request_counts()
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }
}

type Handler = Box<dyn Fn(&FakeRequest<'_>) -> ResponseTemplate + Send + Sync>;

struct Route {
    name: String,
    faults: Arc<FaultInjector>,
    counters: Arc<Mutex<BTreeMap<String, u64>>>,
    handler: Handler,
}

impl Respond for Route {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let req = FakeRequest::new(request);
        *self
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(self.name.clone())
            .or_default() += 1;
        match self
            .faults
            .take(&req.host(), &req.method(), req.path(), false)
        {
            Some(Fault::Status {
                status,
                retry_after,
                code,
            }) => {
                let mut t = arm::arm_error(
                    status,
                    &code,
                    &format!("Injected fault: {code}. Please retry."),
                );
                if let Some(s) = retry_after {
                    t = t.insert_header("retry-after", s.to_string());
                }
                t
            }
            Some(Fault::Delay(d)) => (self.handler)(&req).set_delay(d),
            _ => (self.handler)(&req),
        }
    }
}
