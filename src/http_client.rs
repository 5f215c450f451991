//! The one HTTP/1.1 client of the exporter: app scrapes and probes, and remote-write
//! pushes.
//!
//! It connects by hand (resolve, TCP, TLS, then hyper's connection API) rather than
//! through a pooled client, because probes report the time of each phase and the
//! server certificate's expiry, which a pool hides. Each request gets a fresh connection,
//! as blackbox_exporter's probes do; at poll intervals of seconds the saved handshakes
//! would not be worth a pool's state. Everything a request owns (socket, TLS session,
//! connection task) lives inside its future, so a timeout that drops the future closes
//! the connection: a stalled server never keeps a task or a socket alive.

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, HOST,
    LOCATION, USER_AGENT,
};
use hyper::{Method, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use url::Url;

use crate::config::{ClientTls, HttpAuth};
use crate::sources::ErrorReason;

const USER_AGENT_VALUE: &str = concat!("stack_exporter/", env!("CARGO_PKG_VERSION"));

/// Settings shared by every request of one app or one remote-write endpoint.
pub(crate) struct HttpClient {
    tls: Arc<rustls::ClientConfig>,
    authorization: Option<HeaderValue>,
    max_redirects: usize,
}

/// One request to send.
pub(crate) struct Request<'a> {
    pub method: Method,
    pub url: &'a str,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Bytes>,
    /// Bytes of body accepted after decompression.
    pub max_body: u64,
    /// Send `Accept-Encoding: gzip` and decompress a gzip answer.
    pub accept_gzip: bool,
}

/// Time spent per phase, summed over redirects, as blackbox_exporter reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Phases {
    pub resolve: Duration,
    pub connect: Duration,
    pub tls: Duration,
    /// Request sent until response headers received.
    pub processing: Duration,
    /// Response headers until the end of the body.
    pub transfer: Duration,
}

#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body, decompressed.
    pub body: Vec<u8>,
    pub phases: Phases,
    /// The earliest `notAfter` (Unix seconds) among the certificates the last TLS
    /// server sent; `None` over plain HTTP.
    pub earliest_cert_expiry: Option<i64>,
    pub redirects: usize,
    /// Whether the last connection was TLS.
    pub tls: bool,
}

impl Response {
    /// The `Content-Length` header as sent, before decompression.
    pub fn content_length(&self) -> Option<u64> {
        self.headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FetchError {
    pub reason: ErrorReason,
    /// Free of secrets: URLs in it are redacted by the caller's scrubber.
    pub message: String,
    /// The status of a response that arrived before the failure, else 0.
    pub status: u16,
    pub phases: Phases,
}

impl HttpClient {
    pub fn new(
        tls: &ClientTls,
        auth: Option<&HttpAuth>,
        max_redirects: usize,
    ) -> Result<HttpClient, String> {
        let authorization = auth.map(|auth| {
            let text = match auth {
                HttpAuth::Basic { username, password } => {
                    use base64::Engine;
                    let pair = format!("{username}:{}", password.expose());
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(pair)
                    )
                }
                HttpAuth::Bearer { token } => format!("Bearer {}", token.expose()),
            };
            // Validation refused values a header cannot carry; a failure here would be a
            // bug, and sending no credentials shows up as a 401 rather than a panic.
            let mut value = HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""));
            value.set_sensitive(true);
            value
        });
        Ok(HttpClient {
            tls: crate::tls::http_client_config(tls)?,
            authorization,
            max_redirects,
        })
    }

    /// Sends `request`, following up to `max_redirects` redirects. Not bounded in time:
    /// the caller wraps it in its deadline.
    pub async fn fetch(&self, request: &Request<'_>) -> Result<Response, FetchError> {
        let mut phases = Phases::default();
        let mut url = Url::parse(request.url)
            .map_err(|e| FetchError::early(ErrorReason::Protocol, format!("invalid URL: {e}")))?;
        let first_origin = url.origin();
        let mut method = request.method.clone();
        let mut body = request.body.clone();
        let mut redirects = 0;
        loop {
            // Credentials go only to the origin they were configured for, as Go's client
            // does when a redirect leaves it.
            let same_origin = url.origin() == first_origin;
            let hop = Hop {
                url: &url,
                method: method.clone(),
                body: body.clone(),
                with_credentials: same_origin,
            };
            let sent = self.send_once(&hop, request, &mut phases).await;
            let response = match sent {
                Ok(r) => r,
                Err((reason, message, status)) => {
                    return Err(FetchError {
                        reason,
                        message,
                        status,
                        phases,
                    })
                }
            };
            let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
            let location = response.headers.get(LOCATION).cloned();
            let follow = status.is_redirection()
                && status != StatusCode::NOT_MODIFIED
                && location.is_some()
                && self.max_redirects > 0;
            if !follow {
                return Ok(Response {
                    redirects,
                    phases,
                    ..response
                });
            }
            if redirects == self.max_redirects {
                return Err(FetchError {
                    reason: ErrorReason::Limit,
                    message: format!(
                        "stopped after {} redirects (max_redirects); last Location was {}",
                        redirects,
                        location_text(location.as_ref())
                    ),
                    status: response.status,
                    phases,
                });
            }
            let next = location
                .as_ref()
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"));
            let Some(next) = next else {
                return Err(FetchError {
                    reason: ErrorReason::Protocol,
                    message: format!(
                        "redirect to an invalid or non-HTTP location {}",
                        location_text(location.as_ref())
                    ),
                    status: response.status,
                    phases,
                });
            };
            // As browsers and Go do: 303 always, and 301/302 after a POST, become a GET
            // without a body; 307/308 repeat the request as it was.
            if status == StatusCode::SEE_OTHER
                || (matches!(status.as_u16(), 301 | 302) && method == Method::POST)
            {
                method = Method::GET;
                body = None;
            }
            url = next;
            redirects += 1;
        }
    }

    async fn send_once(
        &self,
        hop: &Hop<'_>,
        request: &Request<'_>,
        phases: &mut Phases,
    ) -> Result<Response, (ErrorReason, String, u16)> {
        let url = hop.url;
        let host = url
            .host()
            .ok_or_else(|| (ErrorReason::Protocol, "URL has no host".to_owned(), 0))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| (ErrorReason::Protocol, "URL has no port".to_owned(), 0))?;
        let https = url.scheme() == "https";
        let server_name = match &host {
            url::Host::Domain(d) => ServerName::try_from(d.to_string())
                .map_err(|e| (ErrorReason::Tls, format!("invalid TLS server name: {e}"), 0))?,
            url::Host::Ipv4(ip) => ServerName::IpAddress(IpAddr::V4(*ip).into()),
            url::Host::Ipv6(ip) => ServerName::IpAddress(IpAddr::V6(*ip).into()),
        };

        let started = Instant::now();
        let addrs: Vec<SocketAddr> = match host {
            url::Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
            url::Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
            url::Host::Domain(name) => tokio::net::lookup_host((name, port))
                .await
                .map_err(|e| {
                    (
                        ErrorReason::Connect,
                        format!("cannot resolve {name}: {e}"),
                        0,
                    )
                })?
                .collect(),
        };
        phases.resolve += started.elapsed();

        let started = Instant::now();
        let stream = connect_any(&addrs).await.map_err(|e| {
            (
                ErrorReason::Connect,
                format!("cannot connect to {}: {e}", host_port(url)),
                0,
            )
        })?;
        phases.connect += started.elapsed();

        if https {
            let started = Instant::now();
            let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(server_name, stream)
                .await
                .map_err(|e| (ErrorReason::Tls, tls_failure(&e), 0))?;
            phases.tls += started.elapsed();
            let expiry = earliest_expiry(tls.get_ref().1.peer_certificates().unwrap_or(&[]));
            let mut response = self.exchange(tls, hop, request, phases).await?;
            response.earliest_cert_expiry = expiry;
            response.tls = true;
            Ok(response)
        } else {
            self.exchange(stream, hop, request, phases).await
        }
    }

    async fn exchange<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
        &self,
        io: S,
        hop: &Hop<'_>,
        request: &Request<'_>,
        phases: &mut Phases,
    ) -> Result<Response, (ErrorReason, String, u16)> {
        let protocol = |e: hyper::Error| (ErrorReason::Protocol, hyper_failure(&e), 0);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(protocol)?;
        let http_request = self
            .build(hop, request)
            .map_err(|e| (ErrorReason::Protocol, e, 0))?;

        let exchange = async {
            let started = Instant::now();
            let response = sender.send_request(http_request).await.map_err(protocol)?;
            phases.processing += started.elapsed();
            let started = Instant::now();
            let (parts, incoming) = response.into_parts();
            let body = read_body(incoming, &parts.headers, request)
                .await
                .map_err(|(reason, message)| (reason, message, parts.status.as_u16()))?;
            phases.transfer += started.elapsed();
            Ok((parts, body))
        };
        // The connection future must be polled for the exchange to progress; it may
        // finish first (server closed after the body) while the body is still buffered.
        let (parts, body) = {
            let mut exchange = std::pin::pin!(exchange);
            let mut conn = std::pin::pin!(conn);
            let mut conn_done = false;
            loop {
                tokio::select! {
                    done = &mut exchange => break done?,
                    _ = &mut conn, if !conn_done => conn_done = true,
                }
            }
        };
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
            phases: *phases,
            earliest_cert_expiry: None,
            redirects: 0,
            tls: false,
        })
    }

    fn build(
        &self,
        hop: &Hop<'_>,
        request: &Request<'_>,
    ) -> Result<hyper::Request<Full<Bytes>>, String> {
        let (url, with_credentials) = (hop.url, hop.with_credentials);
        let mut target = url.path().to_owned();
        if let Some(q) = url.query() {
            target.push('?');
            target.push_str(q);
        }
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => String::new(),
        };
        let mut builder = hyper::Request::builder()
            .method(hop.method.clone())
            .uri(target)
            .header(HOST, host)
            .header(USER_AGENT, USER_AGENT_VALUE);
        if request.accept_gzip {
            builder = builder.header(hyper::header::ACCEPT_ENCODING, "gzip");
        }
        if with_credentials {
            if let Some(auth) = &self.authorization {
                builder = builder.header(AUTHORIZATION, auth.clone());
            }
        }
        let headers = builder
            .headers_mut()
            .ok_or_else(|| "invalid request".to_owned())?;
        for (name, value) in &request.headers {
            if *name == AUTHORIZATION && !with_credentials {
                continue;
            }
            // A configured header replaces ours of the same name (User-Agent, Accept).
            headers.insert(name.clone(), value.clone());
        }
        builder
            .body(Full::new(hop.body.clone().unwrap_or_default()))
            .map_err(|e| format!("invalid request: {e}"))
    }
}

/// One request of a redirect chain.
struct Hop<'u> {
    url: &'u Url,
    method: Method,
    body: Option<Bytes>,
    /// Whether the configured credentials may go with it (same origin as configured).
    with_credentials: bool,
}

impl FetchError {
    fn early(reason: ErrorReason, message: String) -> FetchError {
        FetchError {
            reason,
            message,
            status: 0,
            phases: Phases::default(),
        }
    }
}

async fn connect_any(addrs: &[SocketAddr]) -> std::io::Result<TcpStream> {
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address found");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Reads the body up to `request.max_body` bytes after decompression.
async fn read_body(
    mut incoming: Incoming,
    headers: &HeaderMap,
    request: &Request<'_>,
) -> Result<Vec<u8>, (ErrorReason, String)> {
    let max = request.max_body;
    let too_big = |what: &str| {
        (
            ErrorReason::Limit,
            format!(
                "{what} exceeds max_body_size ({})",
                crate::config::fmt_byte_size(max)
            ),
        )
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let gzip = request.accept_gzip
        && headers
            .get(CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    if declared.is_some_and(|n| n > max) {
        return Err(too_big("the body (Content-Length)"));
    }
    let capacity = declared.unwrap_or(8 * 1024).min(max).min(64 << 20);
    let mut raw: Vec<u8> = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(|e| {
            (
                ErrorReason::Protocol,
                format!("reading the body: {}", hyper_failure(&e)),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            if raw.len() as u64 + data.len() as u64 > max {
                return Err(too_big("the body"));
            }
            raw.extend_from_slice(&data);
        }
    }
    if !gzip {
        return Ok(raw);
    }
    let mut decoded = Vec::with_capacity(raw.len().saturating_mul(4).min(max as usize));
    flate2::read::MultiGzDecoder::new(raw.as_slice())
        .take(max + 1)
        .read_to_end(&mut decoded)
        .map_err(|e| (ErrorReason::Protocol, format!("invalid gzip body: {e}")))?;
    if decoded.len() as u64 > max {
        return Err(too_big("the decompressed body"));
    }
    Ok(decoded)
}

fn earliest_expiry(certs: &[rustls::pki_types::CertificateDer<'_>]) -> Option<i64> {
    certs
        .iter()
        .filter_map(|der| x509_parser::parse_x509_certificate(der).ok())
        .map(|(_, cert)| cert.validity().not_after.timestamp())
        .min()
}

fn location_text(location: Option<&HeaderValue>) -> String {
    match location.and_then(|l| l.to_str().ok()) {
        Some(l) => format!("`{}`", crate::redact::redact_url(l)),
        None => "(none)".to_owned(),
    }
}

fn host_port(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        _ => url.to_string(),
    }
}

fn tls_failure(e: &std::io::Error) -> String {
    match crate::tls::rustls_error_in(e) {
        Some(tls) => crate::tls::describe(tls, "tls.ca_file"),
        None => format!("TLS handshake failed: {e}"),
    }
}

fn hyper_failure(e: &hyper::Error) -> String {
    if e.is_incomplete_message() {
        return "the server closed the connection before the response was complete".to_owned();
    }
    if e.is_parse() {
        return format!("invalid HTTP response: {}", crate::sources::error_chain(e));
    }
    crate::sources::error_chain(e)
}
