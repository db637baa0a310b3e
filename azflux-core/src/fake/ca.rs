//! [`FakeCa`]: the certificate authority of a served fake cloud. It is generated at start (never written
//! anywhere but the CA file the caller asks for) and mints one leaf certificate per host name on first use,
//! cached, so the proxy ([`super::proxy`]) can terminate TLS for any Azure host a client `CONNECT`s to.
//!
//! ```
//! use azflux_core::fake::ca::FakeCa;
//! let ca = FakeCa::generate().unwrap();
//! assert!(ca.ca_pem().contains("BEGIN CERTIFICATE"));
//! let a = ca.leaf("management.azure.com").unwrap();
//! let b = ca.leaf("MANAGEMENT.azure.com").unwrap();
//! assert!(std::sync::Arc::ptr_eq(&a, &b)); // cached per host, case-insensitively
//! assert_eq!(ca.minted(), 1);
//! ```

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// A generated CA that mints per-host leaf certificates.
pub struct FakeCa {
    ca_pem: String,
    ca_der: rustls::pki_types::CertificateDer<'static>,
    issuer: Mutex<Issuer<'static, KeyPair>>,
    provider: Arc<CryptoProvider>,
    leaves: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl fmt::Debug for FakeCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeCa")
            .field("minted", &self.minted())
            .finish_non_exhaustive()
    }
}

fn rc(e: rcgen::Error) -> String {
    format!("could not generate the fake cloud's certificate: {e}")
}

impl FakeCa {
    /// Generates a new CA (ECDSA P-256, `CN=azflux fake cloud CA`).
    pub fn generate() -> Result<Self, String> {
        let key = KeyPair::generate().map_err(rc)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(rc)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "azflux fake cloud CA");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "azflux");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).map_err(rc)?;
        Ok(Self {
            ca_pem: cert.pem(),
            ca_der: cert.der().clone(),
            issuer: Mutex::new(Issuer::new(params, key)),
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            leaves: Mutex::new(HashMap::new()),
        })
    }

    /// PEM of the CA certificate clients trust (`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`, `--cacert`).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// How many leaf certificates were minted so far.
    pub fn minted(&self) -> usize {
        self.leaves
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The certificate and key for `host` (a DNS name or an IP literal), minted on first use.
    pub fn leaf(&self, host: &str) -> Result<Arc<CertifiedKey>, String> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() {
            return Err("no host name to mint a certificate for".into());
        }
        if let Some(k) = self
            .leaves
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&host)
        {
            return Ok(k.clone());
        }
        let certified = self.mint(vec![host.clone()], &host)?;
        let mut leaves = self.leaves.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(leaves.entry(host).or_insert(certified).clone())
    }

    /// Signs a new server certificate for `names` (DNS names, wildcards or IP literals).
    fn mint(&self, names: Vec<String>, common_name: &str) -> Result<Arc<CertifiedKey>, String> {
        let key = KeyPair::generate().map_err(rc)?;
        let mut params = CertificateParams::new(names).map_err(rc)?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = {
            let issuer = self.issuer.lock().unwrap_or_else(PoisonError::into_inner);
            params.signed_by(&key, &issuer).map_err(rc)?
        };
        let der_key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let signing = self
            .provider
            .key_provider
            .load_private_key(der_key)
            .map_err(|e| format!("could not load the minted key: {e}"))?;
        Ok(Arc::new(CertifiedKey::new(
            vec![cert.der().clone(), self.ca_der.clone()],
            signing,
        )))
    }

    /// A TLS server configuration presenting one certificate that names every host in `names` (the front
    /// door's single port), HTTP/1.1 only. Not cached: the front door asks once.
    pub fn server_config_for_names(
        &self,
        names: Vec<String>,
    ) -> Result<Arc<rustls::ServerConfig>, String> {
        let key = self.mint(names, "azflux fake cloud")?;
        self.config_presenting(key)
    }

    /// A TLS server configuration presenting the certificate of `host` (the host a client `CONNECT`ed to,
    /// whatever SNI it sends), HTTP/1.1 only.
    pub fn server_config(&self, host: &str) -> Result<Arc<rustls::ServerConfig>, String> {
        let key = self.leaf(host)?;
        self.config_presenting(key)
    }

    fn config_presenting(
        &self,
        key: Arc<CertifiedKey>,
    ) -> Result<Arc<rustls::ServerConfig>, String> {
        let mut config = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Fixed(key)));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl ResolvesServerCert for Fixed {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}
