//! TLS pieces shared by the sources that speak TLS (PostgreSQL, PgBouncer, Redis, apps):
//! reading PEM files with errors that name the setting and the path, the no-verification
//! verifier, the apps' client config, and turning a rustls failure found in an error
//! chain into one clear line. Every source uses rustls with the ring
//! provider; none links aws-lc.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore,
    SignatureScheme,
};

use crate::config::ClientTls;

/// The bytes of a PEM file. `what` names the setting in the error (`sslrootcert`,
/// `tls.ca_file`…), so the user knows which line of the config to fix.
pub(crate) fn read_pem(what: &str, path: impl AsRef<Path>) -> Result<Vec<u8>, String> {
    let path = path.as_ref();
    std::fs::read(path).map_err(|e| format!("cannot read {what} file `{}`: {e}", path.display()))
}

/// Trusted CA certificates from a PEM file; a file without any is an error, since it would
/// make every server untrusted.
pub(crate) fn read_roots(what: &str, path: impl AsRef<Path>) -> Result<RootCertStore, String> {
    let pem = read_pem(what, &path)?;
    roots_from_pem(what, path, &pem)
}

pub(crate) fn roots_from_pem(
    what: &str,
    path: impl AsRef<Path>,
    pem: &[u8],
) -> Result<RootCertStore, String> {
    let path = path.as_ref().display();
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("{what} file `{path}`: invalid PEM: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("{what} file `{path}`: unusable certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "{what} file `{path}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ));
    }
    Ok(roots)
}

/// A client certificate chain (leaf first) from a PEM file.
pub(crate) fn read_cert_chain(
    what: &str,
    path: impl AsRef<Path>,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read_pem(what, &path)?;
    chain_from_pem(what, path, &pem)
}

pub(crate) fn chain_from_pem(
    what: &str,
    path: impl AsRef<Path>,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, String> {
    let path = path.as_ref().display();
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{what} file `{path}`: invalid PEM: {e}"))?;
    if chain.is_empty() {
        return Err(format!("{what} file `{path}` holds no PEM certificate"));
    }
    Ok(chain)
}

/// An unencrypted private key (PKCS#8, RSA or EC) from a PEM file.
pub(crate) fn read_key(
    what: &str,
    path: impl AsRef<Path>,
) -> Result<PrivateKeyDer<'static>, String> {
    let pem = read_pem(what, &path)?;
    key_from_pem(what, path, &pem)
}

pub(crate) fn key_from_pem(
    what: &str,
    path: impl AsRef<Path>,
    pem: &[u8],
) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
        format!(
            "{what} file `{}` holds no usable private key ({e}); expected an unencrypted \
             PKCS#8, RSA or EC key in PEM",
            path.as_ref().display()
        )
    })
}

/// The rustls error in `error`'s chain, if any: drivers wrap it in `io::Error`s.
pub(crate) fn rustls_error_in<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut cause = Some(error);
    while let Some(e) = cause {
        // The redis crate keeps its cause as an `Arc<dyn Error>`; the Arc is what the
        // chain shows, and its `source` skips the error it holds.
        let e = match e.downcast_ref::<Arc<dyn std::error::Error + Send + Sync>>() {
            Some(inner) => &**inner as &(dyn std::error::Error + 'static),
            None => e,
        };
        if let Some(tls) = as_rustls_error(e) {
            return Some(tls);
        }
        cause = e.source();
    }
    None
}

pub(crate) fn as_rustls_error<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    // io::Error::source skips the error it wraps, so look inside explicitly.
    e.downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

/// One line for a rustls failure. `ca_setting` names the setting that adds trusted CAs,
/// the usual fix for an unknown issuer.
pub(crate) fn describe(error: &rustls::Error, ca_setting: &str) -> String {
    match error {
        rustls::Error::InvalidCertificate(cert) => {
            let why = match cert {
                CertificateError::NotValidForName => {
                    "certificate not valid for the host name".to_string()
                }
                CertificateError::NotValidForNameContext {
                    expected,
                    presented,
                } => {
                    let name = expected.to_str();
                    if presented.is_empty() {
                        format!("certificate not valid for name {name} (it names no host)")
                    } else {
                        let names: Vec<&str> = presented.iter().map(|n| plain_name(n)).collect();
                        format!(
                            "certificate not valid for name {name} (it is valid for {})",
                            names.join(", ")
                        )
                    }
                }
                CertificateError::UnknownIssuer => {
                    format!("certificate not issued by a trusted CA (check {ca_setting})")
                }
                other => other.to_string(),
            };
            format!("certificate verification failed: {why}")
        }
        // TLS 1.3 servers send this after the handshake, on the first read.
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
            "the server requires a client certificate and none was sent".to_string()
        }
        rustls::Error::AlertReceived(alert) => {
            format!("the server ended the TLS handshake with alert {alert:?}")
        }
        rustls::Error::InvalidMessage(_) => {
            format!("TLS error: {error} (is the server speaking TLS on this port?)")
        }
        other => format!("TLS error: {other}"),
    }
}

/// `localhost` for webpki's `DnsName("localhost")`, `10.0.0.1` for `IpAddress(10.0.0.1)`.
fn plain_name(presented: &str) -> &str {
    presented
        .strip_prefix("DnsName(\"")
        .and_then(|n| n.strip_suffix("\")"))
        .or_else(|| {
            presented
                .strip_prefix("IpAddress(")
                .and_then(|n| n.strip_suffix(')'))
        })
        .unwrap_or(presented)
}

/// Encryption without authentication of the server: PostgreSQL's `sslmode=prefer` /
/// `require` without a root file (as libpq does), an app's `tls.insecure_skip_verify`. The handshake signatures are still checked, so the session is
/// bound to the key of the certificate the server sent.
#[derive(Debug)]
pub(crate) struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl AcceptAnyCertificate {
    pub(crate) fn new(provider: Arc<CryptoProvider>) -> Self {
        AcceptAnyCertificate { provider }
    }
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The rustls client for an HTTP source's `tls` block: the built-in Mozilla roots unless
/// a CA file is given, an optional client certificate, or no verification at all.
pub(crate) fn http_client_config(tls: &ClientTls) -> Result<Arc<ClientConfig>, String> {
    // ring explicitly, as for PostgreSQL: no other crate's default provider applies.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let builder = if tls.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate::new(provider)))
    } else {
        let roots = match &tls.ca_file {
            Some(path) => read_roots("tls.ca_file", path)?,
            None => RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            },
        };
        builder.with_root_certificates(roots)
    };
    let mut config = match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(
                read_cert_chain("tls.cert_file", cert)?,
                read_key("tls.key_file", key)?,
            )
            .map_err(|e| {
                format!("tls.cert_file/tls.key_file: unusable client certificate or key: {e}")
            })?,
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
