//! TLS for `rediss://` and `valkeys://`, through the redis crate's rustls support.
//!
//! The crate builds the rustls config itself from what we hand it: the CA file's PEM
//! (instead of the Mozilla roots built in with `tls-rustls-webpki-roots`), a client
//! certificate and key, and `insecure` (the URL's `#insecure` fragment), which turns off
//! every certificate check. Building our own verifier would mean a second TLS stack
//! beside the crate's; its choices match what this source offers, so we use it as is.
//! The files were already read and parsed by config validation; they are read again
//! here because the crate wants the PEM bytes, and a file that changed since is then
//! reported as a TLS failure of the poll.

use redis::{ClientTlsConfig, RedisError, TlsCertificates};
use url::Url;

use crate::config::ClientTls;
use crate::sources::ErrorReason;

/// A client for `url` (already validated) with `tls` applied. The error is ready for a
/// `PollError`; it may quote the URL, so the caller scrubs it.
pub(super) fn client(url: &str, tls: &ClientTls) -> Result<redis::Client, (ErrorReason, String)> {
    let invalid = |e: RedisError| (ErrorReason::Connect, format!("invalid connection URL: {e}"));
    let mut parsed = Url::parse(url)
        .map_err(|e| (ErrorReason::Connect, format!("invalid connection URL: {e}")))?;
    if !matches!(parsed.scheme(), "rediss" | "valkeys") {
        return redis::Client::open(url).map_err(invalid);
    }
    // The crate builds its rustls config with the process-wide provider, installing one
    // from rustls's features when none is set. Installing ring ourselves keeps that
    // choice explicit, whatever features other crates turn on; an error only means a
    // provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    parsed.set_fragment(tls.insecure_skip_verify.then_some("insecure"));
    let read = |what: &str, path: &std::path::Path| {
        crate::tls::read_pem(what, path).map_err(|e| (ErrorReason::Tls, e))
    };
    let root_cert = match &tls.ca_file {
        Some(path) => Some(read("CA", path)?),
        None => None,
    };
    let client_tls = match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => Some(ClientTlsConfig {
            client_cert: read("client certificate", cert)?,
            client_key: read("client key", key)?,
        }),
        _ => None,
    };
    if root_cert.is_none() && client_tls.is_none() {
        return redis::Client::open(parsed.as_str()).map_err(invalid);
    }
    redis::Client::build_with_tls(
        parsed.as_str(),
        TlsCertificates {
            client_tls,
            root_cert,
        },
    )
    .map_err(|e| (ErrorReason::Tls, format!("TLS setup failed: {e}")))
}

/// A clear line for a TLS failure (handshake, certificate, a server not speaking TLS),
/// `None` when `error` is not one.
pub(super) fn failure(error: &RedisError) -> Option<String> {
    crate::tls::rustls_error_in(error).map(|tls| crate::tls::describe(tls, "tls.ca_file"))
}
