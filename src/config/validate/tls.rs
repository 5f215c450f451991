//! Validation of a client `tls` block (`redis[].tls`, `apps[].tls`) and of the TLS side
//! of a Redis URL. A child of `validate` so it can use the `Builder` directly. Every file is read and parsed here, so a missing
//! or wrong file is reported with its line before the first poll, not as a failed poll.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use url::Url;

use super::super::schema::{Flag, RawClientTls, Text};
use super::super::ClientTls;
use super::{Builder, FieldPath};
use crate::redact::redact_url;

impl Builder {
    /// `url` is the validated URL (empty when it was invalid, then only the files are
    /// checked).
    pub(super) fn redis_tls(
        &mut self,
        raw: Option<RawClientTls>,
        url: &str,
        p: &FieldPath,
    ) -> ClientTls {
        let parsed = Url::parse(url).ok();
        let tls_scheme = parsed
            .as_ref()
            .map(|u| matches!(u.scheme(), "rediss" | "valkeys"));
        // The redis crate reads `#insecure` on a TLS URL as "skip verification"; any
        // other fragment it refuses when connecting, so say so now. On a plain URL the
        // fragment would be silently ignored.
        let fragment_insecure = match (parsed.as_ref().and_then(Url::fragment), tls_scheme) {
            (None, _) => false,
            (Some("insecure"), Some(true)) => true,
            (Some(other), _) => {
                let why = if other == "insecure" {
                    "#insecure only applies to rediss:// and valkeys:// URLs".to_owned()
                } else {
                    format!("unsupported URL fragment `#{other}`; only #insecure is understood (prefer tls.insecure_skip_verify)")
                };
                self.issue(
                    p.key("url"),
                    format!("Redis URL `{}`: {why}", redact_url(url)),
                );
                false
            }
        };
        let Some(raw) = raw else {
            return ClientTls {
                insecure_skip_verify: fragment_insecure,
                ..ClientTls::default()
            };
        };
        let at = p.key("tls");
        if tls_scheme == Some(false) {
            self.issue(
                at.clone(),
                format!(
                    "TLS options need a rediss:// or valkeys:// URL, but the URL is `{}`",
                    redact_url(url)
                ),
            );
        }
        let mut tls = self.client_tls(raw, &at);
        if fragment_insecure && !tls.insecure_skip_verify && tls.ca_file.is_some() {
            self.issue(
                at.key("ca_file"),
                "tls.ca_file is not used when the URL ends in #insecure (no certificate is checked); remove one of them",
            );
        }
        tls.insecure_skip_verify |= fragment_insecure;
        tls
    }

    /// The file checks and exclusions every client `tls` block shares; `at` is the
    /// block's own path.
    pub(super) fn client_tls(&mut self, raw: RawClientTls, at: &FieldPath) -> ClientTls {
        let ca_file = self.tls_file(raw.ca_file, at, ("ca_file", "CA"), |what, path| {
            crate::tls::read_roots(what, path).map(drop)
        });
        let cert_file = self.tls_file(
            raw.cert_file,
            at,
            ("cert_file", "client certificate"),
            |what, path| crate::tls::read_cert_chain(what, path).map(drop),
        );
        let key_file = self.tls_file(
            raw.key_file,
            at,
            ("key_file", "client key"),
            |what, path| crate::tls::read_key(what, path).map(drop),
        );
        let insecure_skip_verify = raw.insecure_skip_verify.is_some_and(|Flag(on)| on);
        match (&cert_file, &key_file) {
            (Some(Ok(cert)), Some(Ok(key))) => {
                if let Err(why) = client_pair(cert, key) {
                    self.issue(at.key("key_file"), why);
                }
            }
            // Each points at the field that is there, which has a line to show.
            (Some(_), None) => self.issue(
                at.key("cert_file"),
                "tls.cert_file needs tls.key_file (the client certificate's private key)",
            ),
            (None, Some(_)) => self.issue(
                at.key("key_file"),
                "tls.key_file needs tls.cert_file (the client certificate)",
            ),
            _ => {}
        }
        if insecure_skip_verify && ca_file.is_some() {
            self.issue(
                at.key("insecure_skip_verify"),
                "tls.ca_file is not used when tls.insecure_skip_verify is true (no certificate is checked); remove one of them",
            );
        }
        ClientTls {
            ca_file: ca_file.map(|r| r.unwrap_or_else(|path| path)),
            cert_file: cert_file.map(|r| r.unwrap_or_else(|path| path)),
            key_file: key_file.map(|r| r.unwrap_or_else(|path| path)),
            insecure_skip_verify,
        }
    }

    /// Resolves and checks one file of `tls`: `Ok(path)` when `check` accepts it,
    /// `Err(path)` (issue recorded) when not, `None` when the field is not set.
    fn tls_file(
        &mut self,
        raw: Option<Text>,
        at: &FieldPath,
        (field, what): (&str, &str),
        check: impl FnOnce(&str, &Path) -> Result<(), String>,
    ) -> Option<Result<PathBuf, PathBuf>> {
        let Text(path) = raw?;
        // Relative paths mean the same thing whatever the working directory, as for
        // password_file.
        let resolved = match &self.base_dir {
            Some(dir) if Path::new(&path).is_relative() => dir.join(&path),
            _ => PathBuf::from(&path),
        };
        match check(what, &resolved) {
            Ok(()) => Some(Ok(resolved)),
            Err(why) => {
                self.issue(at.key(field), why);
                Some(Err(resolved))
            }
        }
    }
}

/// Checks that the client certificate and key belong together, as rustls will when
/// connecting, so a mismatched pair is a config error rather than a failed poll.
fn client_pair(cert: &Path, key: &Path) -> Result<(), String> {
    let chain = crate::tls::read_cert_chain("client certificate", cert)?;
    let key_der = crate::tls::read_key("client key", key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(RootCertStore::empty())
        .with_client_auth_cert(chain, key_der)
        .map(drop)
        .map_err(|e| {
            format!(
                "tls.cert_file `{}` and tls.key_file `{}` are not a usable pair: {e}",
                cert.display(),
                key.display()
            )
        })
}
