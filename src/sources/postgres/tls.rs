//! TLS for PostgreSQL connections, with libpq's meaning of `sslmode`.
//!
//! tokio-postgres itself only knows `disable`, `prefer` and `require`, and with a
//! verifying connector its `require` checks certificates, which libpq's does not. Managed
//! PostgreSQL services are reached with libpq-style URLs, so this module takes the TLS
//! parameters out of the URL, decides what libpq would do, and hands tokio-postgres the
//! rest of the URL, a plain `SslMode` and a rustls connector built for that decision.
//!
//! | `sslmode`           | TLS                        | server certificate checked        |
//! |---------------------|----------------------------|-----------------------------------|
//! | `disable`           | never                      | –                                 |
//! | `allow`             | as `prefer`                | as `prefer`                       |
//! | `prefer` (default)  | if the server offers it    | no (chain only with `sslrootcert`)|
//! | `require`           | always                     | no (chain only with `sslrootcert`)|
//! | `verify-ca`         | always                     | chain, not the host name          |
//! | `verify-full`       | always                     | chain and host name               |
//!
//! - `sslrootcert=PATH`: a PEM file of trusted CA certificates. As in libpq, giving one
//!   makes `prefer`/`allow`/`require` check the chain too (like `verify-ca`) whenever TLS is
//!   used. Unlike libpq, a missing file is an error in every mode, since naming a file that
//!   is not there is a mistake worth reporting before the first poll.
//! - Without `sslrootcert`, `verify-ca` and `verify-full` trust Mozilla's root set, built
//!   into the binary (webpki-roots); libpq would instead require `~/.postgresql/root.crt`.
//! - `sslrootcert=system` (libpq 16+): the same built-in roots. As in libpq, the default
//!   `sslmode` is then `verify-full`, and a weaker mode is an error.
//! - `sslcert` / `sslkey`: a client certificate (PEM chain) and its unencrypted key (PKCS#8,
//!   RSA or EC PEM), given together. `sslpassword`, `sslcrl` and `sslcrldir` are refused
//!   rather than silently ignored.
//! - `sslsni=0` turns off Server Name Indication (sent for host names, never for IPs).
//! - Over unix sockets TLS is never used, whatever the mode, as in libpq: PostgreSQL does
//!   not offer it there.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::tls::AcceptAnyCertificate;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::task::JoinHandle;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{CancelToken, Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;
use url::Url;

use crate::redact::{percent_decode, url_secrets, Scrubber};
use crate::tls::{describe, read_cert_chain, read_key, read_roots};

/// URL parameters this module handles; tokio-postgres never sees them.
const TLS_PARAMS: [&str; 8] = [
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslsni",
    "sslpassword",
    "sslcrl",
    "sslcrldir",
];

/// A cancel request is a fresh connection; a server that does not answer it within this
/// time is not worth waiting for, the query's connection is gone anyway.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(5);

/// libpq's `sslmode` values (`allow` is read as `Prefer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(value: &str) -> Result<Mode, String> {
        match value {
            "disable" => Ok(Mode::Disable),
            // libpq's `allow` tries plaintext first and TLS second; tokio-postgres can only
            // start with TLS, and a server that accepts plaintext accepts TLS too when it
            // offers TLS at all, so `prefer` reaches the same servers.
            "allow" | "prefer" => Ok(Mode::Prefer),
            "require" => Ok(Mode::Require),
            "verify-ca" => Ok(Mode::VerifyCa),
            "verify-full" => Ok(Mode::VerifyFull),
            other => Err(format!(
                "unknown sslmode `{other}` (expected disable, allow, prefer, require, verify-ca or verify-full)"
            )),
        }
    }
}

/// What is done with the server's certificate once TLS is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verify {
    Nothing,
    Chain,
    ChainAndName,
}

/// Where trusted roots come from.
enum Roots {
    BuiltIn,
    File(RootCertStore),
}

/// The TLS parameters of one URL, before any file is read.
#[derive(Debug, Default)]
struct TlsParams {
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    sslcert: Option<String>,
    sslkey: Option<String>,
    sslsni: Option<String>,
}

enum TlsChoice {
    NoTls,
    Rustls(MakeRustlsConnect),
}

/// A parsed connection URL with the connector its `sslmode` calls for.
pub(crate) struct PgConnector {
    config: tokio_postgres::Config,
    tls: TlsChoice,
    verify: Verify,
}

impl Clone for TlsChoice {
    fn clone(&self) -> Self {
        match self {
            TlsChoice::NoTls => TlsChoice::NoTls,
            TlsChoice::Rustls(tls) => TlsChoice::Rustls(tls.clone()),
        }
    }
}

impl Clone for PgConnector {
    fn clone(&self) -> Self {
        PgConnector {
            config: self.config.clone(),
            tls: self.tls.clone(),
            verify: self.verify,
        }
    }
}

impl fmt::Debug for PgConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The driver's config Debug masks the password; the TLS setup has no secrets.
        f.debug_struct("PgConnector")
            .field("config", &self.config)
            .field(
                "tls",
                &match self.tls {
                    TlsChoice::NoTls => "none",
                    TlsChoice::Rustls(_) => "rustls",
                },
            )
            .field("verify", &self.verify)
            .finish()
    }
}

/// The connector a source uses: [`prepare`]d, named `stack_exporter` (shown in
/// `pg_stat_activity` and PgBouncer's `SHOW CLIENTS`, so operators can tell us apart)
/// unless the URL names itself, with the connect bounded by the poll timeout. The error
/// is scrubbed of every secret `scrubber` knows.
pub(crate) fn source_connector(
    url: &str,
    connect_timeout: std::time::Duration,
    scrubber: &Scrubber,
) -> Result<PgConnector, String> {
    prepare(url)
        .map(|mut c| {
            let pg = c.config_mut();
            if pg.get_application_name().is_none() {
                pg.application_name("stack_exporter");
            }
            pg.connect_timeout(connect_timeout);
            c
        })
        .map_err(|e| scrubber.scrub(&e))
}

/// Parses a `postgres://` URL the way libpq reads its TLS parameters (see the module
/// docs) and builds the matching connector. Reads `sslrootcert`, `sslcert` and `sslkey`
/// files, so a missing or unusable file is reported here, naming the path. The error
/// text never contains the URL's password.
pub(crate) fn prepare(url: &str) -> Result<PgConnector, String> {
    // Any value may be echoed in a message (a mistyped sslmode could be the password).
    prepare_unscrubbed(url).map_err(|e| Scrubber::new(url_secrets(url)).scrub(&e))
}

fn prepare_unscrubbed(url: &str) -> Result<PgConnector, String> {
    let mut parsed = Url::parse(url).map_err(|e| e.to_string())?;
    let params = take_tls_params(&mut parsed)?;
    let mut config: tokio_postgres::Config = parsed
        .as_str()
        .parse()
        .map_err(|e: tokio_postgres::Error| super::error_chain(&e))?;

    let system_roots = params.sslrootcert.as_deref() == Some("system");
    let mode = match params.sslmode.as_deref() {
        Some(value) => Mode::parse(value)?,
        None if system_roots => Mode::VerifyFull,
        None => Mode::Prefer,
    };
    if system_roots && mode != Mode::VerifyFull {
        return Err(format!(
            "sslmode `{}` may not be used with sslrootcert=system (use verify-full), as in libpq",
            params.sslmode.as_deref().unwrap_or_default()
        ));
    }
    let roots = match params.sslrootcert.as_deref() {
        None | Some("system") => Roots::BuiltIn,
        Some(path) => Roots::File(read_roots("sslrootcert", path)?),
    };
    let client_auth = match (params.sslcert.as_deref(), params.sslkey.as_deref()) {
        (None, None) => None,
        (Some(cert), Some(key)) => {
            Some((read_cert_chain("sslcert", cert)?, read_key("sslkey", key)?))
        }
        (Some(_), None) => {
            return Err("sslcert needs sslkey (the client certificate's private key)".into())
        }
        (None, Some(_)) => return Err("sslkey needs sslcert (the client certificate)".into()),
    };
    let sni = match params.sslsni.as_deref() {
        None | Some("1") => true,
        Some("0") => false,
        Some(other) => return Err(format!("invalid sslsni `{other}` (expected 0 or 1)")),
    };
    let verify = match mode {
        Mode::VerifyFull => Verify::ChainAndName,
        Mode::VerifyCa => Verify::Chain,
        // libpq checks the chain in every mode once it has a root file.
        _ if matches!(roots, Roots::File(_)) => Verify::Chain,
        _ => Verify::Nothing,
    };

    // PostgreSQL never offers TLS on a unix socket, so a required TLS would only fail.
    let unix_only = !config.get_hosts().is_empty()
        && config
            .get_hosts()
            .iter()
            .all(|h| !matches!(h, Host::Tcp(_)));
    let (tls, verify) = if mode == Mode::Disable || unix_only {
        config.ssl_mode(SslMode::Disable);
        (TlsChoice::NoTls, Verify::Nothing)
    } else {
        config.ssl_mode(if mode == Mode::Prefer {
            SslMode::Prefer
        } else {
            SslMode::Require
        });
        let client = client_config(verify, roots, client_auth, sni)?;
        (TlsChoice::Rustls(MakeRustlsConnect::new(client)), verify)
    };
    Ok(PgConnector {
        config,
        tls,
        verify,
    })
}

impl PgConnector {
    pub(crate) fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    pub(crate) fn config_mut(&mut self) -> &mut tokio_postgres::Config {
        &mut self.config
    }

    /// Connects and spawns the connection's driver task; aborting the handle closes the
    /// connection.
    pub(crate) async fn connect(&self) -> Result<(Client, JoinHandle<()>), tokio_postgres::Error> {
        // The driver's error also surfaces on the next query, through the closed client.
        match &self.tls {
            TlsChoice::NoTls => {
                let (client, connection) = self.config.connect(NoTls).await?;
                Ok((
                    client,
                    tokio::spawn(async move {
                        let _ = connection.await;
                    }),
                ))
            }
            TlsChoice::Rustls(tls) => {
                let (client, connection) = self.config.connect(tls.clone()).await?;
                Ok((
                    client,
                    tokio::spawn(async move {
                        let _ = connection.await;
                    }),
                ))
            }
        }
    }

    /// Asks the server to cancel the query running on `token`'s connection. A cancel
    /// request is a new connection, so it goes through the same TLS setup.
    pub(crate) async fn cancel(&self, token: &CancelToken) -> Result<(), tokio_postgres::Error> {
        match &self.tls {
            TlsChoice::NoTls => token.cancel_query(NoTls).await,
            TlsChoice::Rustls(tls) => token.cancel_query(tls.clone()).await,
        }
    }

    /// [`PgConnector::cancel`] in a task of its own, bounded in time, its outcome ignored:
    /// for a poll that was abandoned, whose query should not keep the server busy.
    pub(crate) fn cancel_in_background(&self, token: CancelToken) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let connector = self.clone();
        runtime.spawn(async move {
            let _ = tokio::time::timeout(CANCEL_TIMEOUT, connector.cancel(&token)).await;
        });
    }
}

/// If `error` is a TLS failure (a handshake that failed, a certificate that was refused,
/// a server without TLS when TLS is required), a clear one-line description of it.
pub(crate) fn failure(error: &tokio_postgres::Error) -> Option<String> {
    if let Some(tls) = crate::tls::rustls_error_in(error) {
        return Some(describe(tls, "sslrootcert"));
    }
    // tokio-postgres's TLS error kind is private; its fixed text is the only mark of it.
    if error.to_string() == "error performing TLS handshake" {
        let detail = super::error_chain(error);
        if detail.contains("server does not support TLS") {
            return Some(
                "the server does not support TLS, which this sslmode requires \
                 (sslmode=prefer would fall back to plaintext)"
                    .to_string(),
            );
        }
        return Some(detail);
    }
    None
}

/// Removes the TLS parameters from `url`'s query and returns them. The rest of the query
/// is kept byte for byte: re-encoding it would turn `%20` into `+`, which libpq and
/// tokio-postgres read as a literal plus.
fn take_tls_params(url: &mut Url) -> Result<TlsParams, String> {
    let Some(query) = url.query() else {
        return Ok(TlsParams::default());
    };
    let mut params = TlsParams::default();
    let mut kept: Vec<&str> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(raw_key);
        if !TLS_PARAMS.contains(&key.as_str()) {
            kept.push(pair);
            continue;
        }
        // As in libpq, the last of repeated parameters wins.
        let value = percent_decode(raw_value);
        match key.as_str() {
            "sslmode" => params.sslmode = Some(value),
            "sslrootcert" => params.sslrootcert = Some(value),
            "sslcert" => params.sslcert = Some(value),
            "sslkey" => params.sslkey = Some(value),
            "sslsni" => params.sslsni = Some(value),
            // Encrypted keys and revocation lists would be security settings silently
            // ignored; refusing them is the honest answer.
            unsupported => {
                return Err(format!(
                    "{unsupported} is not supported (encrypted client keys and certificate revocation lists are not implemented)"
                ))
            }
        }
    }
    let rest = kept.join("&");
    url.set_query(if rest.is_empty() { None } else { Some(&rest) });
    Ok(params)
}

fn client_config(
    verify: Verify,
    roots: Roots,
    client_auth: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    sni: bool,
) -> Result<ClientConfig, String> {
    // ring, chosen explicitly rather than through a process-wide default, so that no
    // other crate's choice of provider can change what this connector does.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let roots = Arc::new(match roots {
        Roots::BuiltIn => RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
        Roots::File(store) => store,
    });
    let builder = match verify {
        Verify::Nothing => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate::new(provider))),
        Verify::Chain | Verify::ChainAndName => {
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| format!("TLS setup failed: {e}"))?;
            if verify == Verify::Chain {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly { webpki }))
            } else {
                builder.with_webpki_verifier(webpki)
            }
        }
    };
    let mut config = match client_auth {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("sslcert/sslkey: unusable client certificate or key: {e}"))?,
    };
    // What libpq 17 sends; servers check it only when a client offers ALPN, and
    // sslnegotiation=direct needs it.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    config.enable_sni = sni;
    Ok(config)
}

/// `verify-ca`: the chain must lead to a trusted root, the host name may be anything.
/// webpki checks the name after the chain, so a name error means the chain was good.
#[derive(Debug)]
struct ChainOnly {
    webpki: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use rustls::pki_types::pem::PemObject;
    use std::process::Command;

    use super::*;

    const BASE: &str = "postgresql://app:topsecret@db.example:5432/app";

    fn prep(query: &str) -> Result<PgConnector, String> {
        prepare(&format!("{BASE}?{query}"))
    }

    fn summary(c: &PgConnector) -> (SslMode, bool, Verify) {
        (
            c.config().get_ssl_mode(),
            matches!(c.tls, TlsChoice::Rustls(_)),
            c.verify,
        )
    }

    /// A CA, a server certificate it signed for `sans`, and a certificate signed by another
    /// CA, made with the openssl command line tool.
    struct Certs {
        _dir: tempfile::TempDir,
        path: PathBuf,
    }

    impl Certs {
        fn new(sans: &str) -> Certs {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().to_path_buf();
            let run = |args: String| {
                let out = Command::new("openssl")
                    .args(args.split_whitespace())
                    .current_dir(&path)
                    .output()
                    .expect("openssl (Debian package openssl) must be installed");
                assert!(out.status.success(), "openssl {args}: {out:?}");
            };
            std::fs::write(
                path.join("ext.cnf"),
                format!(
                    "subjectAltName={sans}\nbasicConstraints=CA:FALSE\n\
                     keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                ),
            )
            .unwrap();
            let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
            for ca in ["ca", "other-ca"] {
                run(format!(
                    "req -x509 {ec} -keyout {ca}.key -out {ca}.pem -days 30 -subj /CN={ca} \
                     -addext basicConstraints=critical,CA:TRUE \
                     -addext keyUsage=critical,keyCertSign,cRLSign"
                ));
            }
            run(format!(
                "req {ec} -keyout server.key -out server.csr -subj /CN=server"
            ));
            run(
                "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
                 -out server.pem -days 30 -extfile ext.cnf"
                    .to_string(),
            );
            Certs { _dir: dir, path }
        }

        fn file(&self, name: &str) -> String {
            self.path.join(name).to_str().unwrap().to_string()
        }

        fn server_cert(&self) -> CertificateDer<'static> {
            CertificateDer::from_pem_file(self.file("server.pem")).unwrap()
        }

        fn verifier(&self, ca: &str) -> Arc<WebPkiServerVerifier> {
            let roots = read_roots("sslrootcert", self.file(ca)).unwrap();
            WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                Arc::new(rustls::crypto::ring::default_provider()),
            )
            .build()
            .unwrap()
        }
    }

    fn check(
        verifier: &dyn ServerCertVerifier,
        cert: &CertificateDer<'_>,
        name: &str,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let name = ServerName::try_from(name.to_string()).unwrap();
        verifier.verify_server_cert(cert, &[], &name, &[], UnixTime::now())
    }

    #[test]
    fn sslmodes_map_to_libpq_meanings() {
        use SslMode::{Disable, Prefer, Require};
        assert_eq!(
            summary(&prepare(BASE).unwrap()),
            (Prefer, true, Verify::Nothing)
        );
        assert_eq!(
            summary(&prep("sslmode=disable").unwrap()),
            (Disable, false, Verify::Nothing)
        );
        assert_eq!(
            summary(&prep("sslmode=allow").unwrap()),
            (Prefer, true, Verify::Nothing)
        );
        assert_eq!(
            summary(&prep("sslmode=prefer").unwrap()),
            (Prefer, true, Verify::Nothing)
        );
        assert_eq!(
            summary(&prep("sslmode=require").unwrap()),
            (Require, true, Verify::Nothing)
        );
        assert_eq!(
            summary(&prep("sslmode=verify-ca").unwrap()),
            (Require, true, Verify::Chain)
        );
        assert_eq!(
            summary(&prep("sslmode=verify-full").unwrap()),
            (Require, true, Verify::ChainAndName)
        );
    }

    #[test]
    fn a_root_file_makes_weaker_modes_check_the_chain() {
        let certs = Certs::new("DNS:localhost");
        let ca = certs.file("ca.pem");
        for (mode, want) in [
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::Require),
        ] {
            let c = prep(&format!("sslmode={mode}&sslrootcert={ca}")).unwrap();
            assert_eq!(summary(&c), (want, true, Verify::Chain), "{mode}");
        }
        let c = prep(&format!("sslmode=verify-full&sslrootcert={ca}")).unwrap();
        assert_eq!(c.verify, Verify::ChainAndName);
    }

    #[test]
    fn system_roots_default_to_verify_full_and_refuse_weaker_modes() {
        let c = prep("sslrootcert=system").unwrap();
        assert_eq!(summary(&c), (SslMode::Require, true, Verify::ChainAndName));
        let err = prep("sslrootcert=system&sslmode=require").unwrap_err();
        assert!(
            err.contains("sslrootcert=system (use verify-full)"),
            "{err}"
        );
        assert!(prep("sslrootcert=system&sslmode=verify-full").is_ok());
    }

    #[test]
    fn tls_parameters_are_removed_and_the_rest_is_kept_verbatim() {
        let c = prep(
            "sslmode=verify-full&application_name=my%20app&options=-c%20statement_timeout%3D5000&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(c.config().get_application_name(), Some("my app"));
        assert_eq!(c.config().get_options(), Some("-c statement_timeout=5000"));
        assert_eq!(
            c.config().get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );
        assert_eq!(c.config().get_password(), Some(&b"topsecret"[..]));
        assert_eq!(c.config().get_hosts(), &[Host::Tcp("db.example".into())]);
        // The last of repeated parameters wins, as in libpq.
        let c = prep("sslmode=disable&sslmode=require").unwrap();
        assert_eq!(c.config().get_ssl_mode(), SslMode::Require);
    }

    #[test]
    fn unix_socket_hosts_never_use_tls() {
        let c = prepare("postgresql://app@%2Frun%2Fpostgresql/app?sslmode=require").unwrap();
        assert!(matches!(c.config().get_hosts(), [Host::Unix(_)]));
        assert_eq!(summary(&c), (SslMode::Disable, false, Verify::Nothing));
    }

    #[test]
    fn ip_hosts_are_valid_server_names() {
        for url in [
            "postgresql://app@127.0.0.1:5432/app?sslmode=verify-full",
            "postgresql://app@[::1]:5432/app?sslmode=verify-full",
        ] {
            let c = prepare(url).unwrap();
            let Host::Tcp(host) = &c.config().get_hosts()[0] else {
                panic!("{url}: not a TCP host");
            };
            let name = ServerName::try_from(host.as_str()).unwrap();
            assert!(matches!(name, ServerName::IpAddress(_)), "{url}: {name:?}");
        }
    }

    #[test]
    fn bad_parameters_are_clear_errors_without_the_password() {
        let err = prep("sslmode=sometimes").unwrap_err();
        assert_eq!(
            err,
            "unknown sslmode `sometimes` (expected disable, allow, prefer, require, verify-ca or verify-full)"
        );
        let err = prep("sslmode=topsecret").unwrap_err();
        assert!(!err.contains("topsecret"), "{err}");
        let err = prep("sslrootcert=/nonexistent/ca.pem").unwrap_err();
        assert!(
            err.starts_with("cannot read sslrootcert file `/nonexistent/ca.pem`: "),
            "{err}"
        );
        let err = prep("sslcert=/tmp/c.pem").unwrap_err();
        assert!(err.contains("sslcert needs sslkey"), "{err}");
        let err = prep("sslpassword=topsecret").unwrap_err();
        assert!(err.starts_with("sslpassword is not supported"), "{err}");
        assert!(!err.contains("topsecret"), "{err}");
        let err = prep("sslsni=2").unwrap_err();
        assert!(err.contains("invalid sslsni"), "{err}");
        let err = prep("nosuchoption=topsecret").unwrap_err();
        assert!(err.contains("nosuchoption"), "{err}");
        assert!(!err.contains("topsecret"), "{err}");
    }

    #[test]
    fn root_file_without_certificates_is_refused() {
        let certs = Certs::new("DNS:localhost");
        let err = prep(&format!("sslrootcert={}", certs.file("ext.cnf"))).unwrap_err();
        assert!(err.contains("holds no PEM certificate"), "{err}");
    }

    #[test]
    fn client_certificates_load() {
        let certs = Certs::new("DNS:localhost");
        let c = prep(&format!(
            "sslmode=require&sslcert={}&sslkey={}",
            certs.file("server.pem"),
            certs.file("server.key")
        ))
        .unwrap();
        assert!(matches!(c.tls, TlsChoice::Rustls(_)));
        let err = prep(&format!(
            "sslcert={}&sslkey={}",
            certs.file("server.pem"),
            certs.file("server.pem")
        ))
        .unwrap_err();
        assert!(err.contains("holds no usable private key"), "{err}");
    }

    #[test]
    fn chain_only_accepts_any_name_but_not_an_unknown_issuer() {
        let certs = Certs::new("DNS:localhost");
        let cert = certs.server_cert();
        let full = certs.verifier("ca.pem");
        let chain_only = ChainOnly {
            webpki: full.clone(),
        };
        assert!(check(full.as_ref(), &cert, "localhost").is_ok());
        let err = check(full.as_ref(), &cert, "127.0.0.1").unwrap_err();
        assert_eq!(
            describe(&err, "sslrootcert"),
            "certificate verification failed: certificate not valid for name 127.0.0.1 (it is valid for localhost)"
        );
        assert!(check(&chain_only, &cert, "127.0.0.1").is_ok());
        assert!(check(&chain_only, &cert, "db.example").is_ok());

        let other = ChainOnly {
            webpki: certs.verifier("other-ca.pem"),
        };
        let err = check(&other, &cert, "localhost").unwrap_err();
        assert_eq!(
            describe(&err, "sslrootcert"),
            "certificate verification failed: certificate not issued by a trusted CA (check sslrootcert)"
        );
    }

    /// Needs the machine's PostgreSQL on 127.0.0.1:5432, which `scripts/test.sh` starts.
    #[tokio::test]
    async fn cancel_stops_a_running_query() {
        let connector = prepare("postgresql://postgres@127.0.0.1:5432/postgres").unwrap();
        let (client, _driver) = connector.connect().await.unwrap();
        let token = client.cancel_token();
        let query = tokio::spawn(async move { client.simple_query("select pg_sleep(30)").await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        connector.cancel(&token).await.unwrap();
        let result = tokio::time::timeout(Duration::from_secs(10), query)
            .await
            .expect("the query was not cancelled")
            .unwrap();
        let err = result.expect_err("pg_sleep(30) finished");
        assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err}");
    }

    #[test]
    fn accept_any_takes_every_certificate() {
        let certs = Certs::new("DNS:localhost");
        let any = AcceptAnyCertificate::new(Arc::new(rustls::crypto::ring::default_provider()));
        assert!(check(&any, &certs.server_cert(), "db.example").is_ok());
        assert!(!any.supported_verify_schemes().is_empty());
    }
}
