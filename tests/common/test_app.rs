//! A real HTTP(S) server standing in for the app whose own `/metrics` and endpoints the
//! exporter scrapes and probes: a rich exposition in both text formats, plus endpoints
//! that misbehave on purpose (slow, stalled, endless, huge, gzip bomb, invalid UTF-8,
//! redirect loop, auth). Std threads only, so plain `#[test]` functions can use it.
//!
//! Every response is `Connection: close` (one request per connection); the server
//! records every request it parses, before answering, so a test can assert the
//! `Accept`, `Accept-Encoding` and `Authorization` the exporter sent even to `/stall`.
//! Dropping the [`TestApp`] stops it, including handlers that stall or stream forever.
//!
//! Routes (`HEAD` answers the headers of `GET`; any method is accepted):
//! - `/metrics`: [`rich_classic`] or [`rich_openmetrics`] per [`FormatMode`], gzipped
//!   when `Accept-Encoding` allows gzip. `/auth/metrics`: the same, but 401 unless
//!   `Authorization: Basic dXNlcjpwYXNz` (user:pass) or `Bearer s3cret`.
//! - `/many?series=N`: [`many_series`] (classic, gzip honoured; N defaults to 100).
//! - `/slow?ms=N`: waits N ms (default 1000) before sending anything.
//! - `/stall`: headers (`Content-Length: 1048576`) and a few body bytes, then nothing.
//! - `/endless`: a chunked body of metric lines that never ends.
//! - `/big?mb=N`: exactly N MiB (N may be fractional) of classic metric lines, streamed.
//! - `/gzip-bomb`: ~1 MiB of gzip (always, whatever `Accept-Encoding` says) that
//!   inflates to over 1 GiB of classic text ([`GZIP_BOMB_INFLATED`]): every 8 MiB, 16
//!   metric lines and then empty lines.
//! - `/invalid-utf8`: a classic body whose line 3 holds the byte 0xFF.
//! - `/html`, `/json`: a page and a document of those types, not metrics.
//! - `/redirect-loop` ⇄ `/redirect-loop2` (302, relative `Location`);
//!   `/redirect?to=PATH`: one 302 to PATH (default `/metrics`).
//! - `/status/NNN`: that status (200–599) with a short text body.
//! - `/health`: [`DEFAULT_HEALTH`] as `application/json`, or what [`TestApp::set_health`] set.
//! - A path given to [`TestApp::set_route`] answers what was set (checked first); one
//!   given to [`TestApp::set_hanging_route`] never answers; one given to
//!   [`TestApp::set_churning_route`] answers [`churn_series`], new series every time.
//! - Anything else: 404.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flate2::write::GzEncoder;
use flate2::{Compress, Compression, Crc, FlushCompress};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub const CLASSIC_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What `/health` answers until [`TestApp::set_health`] changes it.
pub const DEFAULT_HEALTH: &str = r#"{"status":"healthy","version":"1.2.3","services":{"database":{"status":"up","latency":15},"cache":{"status":"down","latency":250.5}},"queue":{"depth":42}}"#;

/// The value `app_http_requests_total{code="200",method="get"}` has until
/// [`TestApp::set_counter`] changes it.
pub const DEFAULT_COUNTER: f64 = 1027.0;

/// How many bytes `/gzip-bomb` inflates to (at least 1 GiB; the exact figure).
pub const GZIP_BOMB_INFLATED: u64 = gzip_bomb_layout().1;

/// Which format `/metrics` answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormatMode {
    /// OpenMetrics when `Accept` names `application/openmetrics-text`, else classic.
    #[default]
    Negotiate,
    /// Classic whatever the client asks, as an app with an old client library does.
    ClassicOnly,
    /// OpenMetrics whatever the client asks, as a misconfigured app might.
    OpenMetricsOnly,
}

/// One request as the server parsed it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// The raw query (after `?`), empty when there is none.
    pub query: String,
    /// Header names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

enum CustomRoute {
    Fixed {
        status: u16,
        content_type: String,
        body: Vec<u8>,
    },
    /// Reads the request and never answers, holding the connection until the client
    /// leaves: a hung app.
    Hang,
    /// [`churn_series`] of `series` series, numbered by `served`, the requests so far.
    Churn { series: usize, served: u64 },
}

/// What a custom route answers to one request.
enum CustomAnswer {
    Fixed(u16, String, Vec<u8>),
    Hang,
    Churn(usize, u64),
}

struct State {
    format_mode: FormatMode,
    health: (u16, String),
    counter: f64,
    requests: Vec<RecordedRequest>,
    routes: HashMap<String, CustomRoute>,
}

struct Shared {
    shutdown: AtomicBool,
    /// Connection threads still running, so Drop can wait for them briefly.
    live: AtomicUsize,
    state: Mutex<State>,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Shared {
    fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// A connection thread that panicked must not take the others down with it.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running server; see the module docs for its routes.
pub struct TestApp {
    addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl TestApp {
    /// Plain HTTP on 127.0.0.1 and a free port.
    pub fn start() -> TestApp {
        Self::spawn(None)
    }

    /// HTTPS (rustls, ring; ALPN `http/1.1`) with the certificate chain and key in
    /// these PEM files, e.g. `Pki::self_signed("app")` → `app.pem`, `app.key`.
    pub fn start_tls(cert_pem: &Path, key_pem: &Path) -> TestApp {
        Self::spawn(Some(tls_config(cert_pem, key_pem)))
    }

    fn spawn(tls: Option<Arc<rustls::ServerConfig>>) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("test app: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("test app: local_addr");
        let is_tls = tls.is_some();
        let shared = Arc::new(Shared {
            shutdown: AtomicBool::new(false),
            live: AtomicUsize::new(0),
            state: Mutex::new(State {
                format_mode: FormatMode::Negotiate,
                health: (200, DEFAULT_HEALTH.to_owned()),
                counter: DEFAULT_COUNTER,
                requests: Vec::new(),
                routes: HashMap::new(),
            }),
            tls,
        });
        let accept_shared = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name("test-app-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("test app: spawn the accept thread");
        TestApp {
            addr,
            tls: is_tls,
            shared,
            accept: Some(accept),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT/path`, or `https://localhost:PORT/path` for TLS so that a
    /// certificate for `localhost` verifies.
    pub fn url(&self, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        if self.tls {
            format!("https://localhost:{}{slash}{path}", self.addr.port())
        } else {
            format!("http://{}{slash}{path}", self.addr)
        }
    }

    pub fn set_format_mode(&self, mode: FormatMode) {
        self.shared.state().format_mode = mode;
    }

    /// What `/health` answers from now on (always as `application/json`).
    pub fn set_health(&self, status: u16, body: &str) {
        self.shared.state().health = (status, body.to_owned());
    }

    /// The value of `app_http_requests_total{code="200",method="get"}` from now on.
    pub fn set_counter(&self, value: f64) {
        self.shared.state().counter = value;
    }

    /// Makes `path` (no query) answer `status` with this body, ahead of the built-in
    /// routes, for a body a test needs that the built-in ones do not give.
    pub fn set_route(&self, path: &str, status: u16, content_type: &str, body: &[u8]) {
        self.shared.state().routes.insert(
            path.to_owned(),
            CustomRoute::Fixed {
                status,
                content_type: content_type.to_owned(),
                body: body.to_vec(),
            },
        );
    }

    /// Makes `path` hang: the request is read and never answered, the connection held
    /// open until the client gives up (an app stuck in a deadlock).
    pub fn set_hanging_route(&self, path: &str) {
        self.shared
            .state()
            .routes
            .insert(path.to_owned(), CustomRoute::Hang);
    }

    /// Makes `path` answer [`churn_series`]`(series, n)` to its n-th request (from 0): a
    /// classic body whose every series is new on every request.
    pub fn set_churning_route(&self, path: &str, series: usize) {
        self.shared
            .state()
            .routes
            .insert(path.to_owned(), CustomRoute::Churn { series, served: 0 });
    }

    /// Every request parsed so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// The requests so far whose path is `path`.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.shared
            .state()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Connections open right now (each is served by a thread until it closes).
    pub fn open_connections(&self) -> usize {
        self.shared.live.load(Ordering::SeqCst)
    }

    pub fn clear_requests(&self) {
        self.shared.state().requests.clear();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // The accept thread blocks in accept(); one connection wakes it to see the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        // Handlers notice the flag within one POLL; waiting keeps a test's next server
        // from competing with threads still streaming for this one.
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.shared.live.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
    }
}

fn tls_config(cert_pem: &Path, key_pem: &Path) -> Arc<rustls::ServerConfig> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_pem)
        .and_then(|it| it.collect())
        .unwrap_or_else(|e| panic!("test app: certificates in {}: {e}", cert_pem.display()));
    let key = PrivateKeyDer::from_pem_file(key_pem)
        .unwrap_or_else(|e| panic!("test app: key in {}: {e}", key_pem.display()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("test app: TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("test app: certificate and key do not match");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

// ---------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------

/// How often blocked reads and writes wake up to check for shutdown.
const POLL: Duration = Duration::from_millis(100);
/// A client that sends nothing for this long while we wait for its request is dropped.
const IDLE_LIMIT: Duration = Duration::from_secs(30);
const MAX_HEAD: usize = 64 * 1024;
const MAX_REQUEST_BODY: usize = 16 * 1024 * 1024;

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let accepted = listener.accept();
        if shared.stopping() {
            return;
        }
        let Ok((tcp, _)) = accepted else {
            // EMFILE and friends: back off instead of spinning.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        shared.live.fetch_add(1, Ordering::SeqCst);
        let conn_shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name("test-app-conn".into())
            .spawn(move || {
                let _live = LiveGuard(Arc::clone(&conn_shared));
                serve_connection(tcp, conn_shared);
            });
        if spawned.is_err() {
            shared.live.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Counts a connection thread down however it ends, panics included.
struct LiveGuard(Arc<Shared>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::SeqCst);
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn shutting_down() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "test app shutting down")
}

/// A TCP stream with short socket timeouts whose reads and writes retry until they
/// succeed, the peer goes away or the server shuts down: blocking code (rustls
/// included) stays simple and still never outlives the [`TestApp`].
struct Patient {
    tcp: TcpStream,
    shared: Arc<Shared>,
}

impl Read for Patient {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let start = Instant::now();
        loop {
            match self.tcp.read(buf) {
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                    if self.shared.stopping() {
                        return Err(shutting_down());
                    }
                    if start.elapsed() > IDLE_LIMIT {
                        return Err(e);
                    }
                }
                r => return r,
            }
        }
    }
}

impl Write for Patient {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            match self.tcp.write(buf) {
                // A timed-out write(2) wrote nothing, so retrying cannot duplicate bytes.
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                    if self.shared.stopping() {
                        return Err(shutting_down());
                    }
                }
                r => return r,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

enum Conn {
    Plain(Patient),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, Patient>>),
}

impl Conn {
    fn patient(&self) -> &Patient {
        match self {
            Conn::Plain(p) => p,
            Conn::Tls(s) => &s.sock,
        }
    }

    /// True once the client has closed its side (plain TCP: a pending FIN). Over TLS a
    /// close_notify arrives first and hides the FIN from a peek, so a TLS client's
    /// departure is only noticed when a write fails.
    fn peer_gone(&self) -> bool {
        let tcp = &self.patient().tcp;
        if tcp.set_nonblocking(true).is_err() {
            return true;
        }
        let mut byte = [0u8; 1];
        let gone = match tcp.peek(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
        };
        let _ = tcp.set_nonblocking(false);
        gone
    }

    /// Sleeps `total` in POLL steps; false when the server stops or the client leaves
    /// first, so a handler can give up instead of answering nobody.
    fn wait(&self, total: Duration) -> bool {
        let end = Instant::now() + total;
        loop {
            if self.patient().shared.stopping() || self.peer_gone() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            thread::sleep(POLL.min(end - now));
        }
    }

    fn finish(mut self) {
        if let Conn::Tls(s) = &mut self {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        let _ = self.patient().tcp.shutdown(Shutdown::Both);
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(p) => p.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(p) => p.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(p) => p.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

fn serve_connection(tcp: TcpStream, shared: Arc<Shared>) {
    let _ = tcp.set_nodelay(true);
    if tcp.set_read_timeout(Some(POLL)).is_err() || tcp.set_write_timeout(Some(POLL)).is_err() {
        return;
    }
    let patient = Patient {
        tcp,
        shared: Arc::clone(&shared),
    };
    let conn = match &shared.tls {
        None => Conn::Plain(patient),
        Some(config) => match rustls::ServerConnection::new(Arc::clone(config)) {
            Ok(tls) => Conn::Tls(Box::new(rustls::StreamOwned::new(tls, patient))),
            Err(_) => return,
        },
    };
    let mut reader = BufReader::new(conn);
    // A client that leaves mid-request, or fails the TLS handshake, gets nothing.
    let Ok(req) = read_request(&mut reader) else {
        return;
    };
    // Only one request per connection, so bytes buffered past it can be dropped.
    let mut conn = reader.into_inner();
    shared.state().requests.push(req.clone());
    // Write errors mean the client left; that is its right, not the server's failure.
    let _ = respond(&mut conn, &shared, &req);
    conn.finish();
}

fn bad_request(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

fn read_line(r: &mut impl BufRead, budget: &mut usize) -> io::Result<String> {
    let mut line = Vec::new();
    let n = r
        .by_ref()
        .take(*budget as u64)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed mid-request",
        ));
    }
    *budget -= n;
    if line.last() != Some(&b'\n') {
        return Err(bad_request("request head too long"));
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| bad_request("non-UTF-8 request head"))
}

fn read_request(r: &mut impl BufRead) -> io::Result<RecordedRequest> {
    let mut budget = MAX_HEAD;
    let mut request_line = read_line(r, &mut budget)?;
    // RFC 9112 §2.2: ignore empty lines before the request line.
    while request_line.is_empty() {
        request_line = read_line(r, &mut budget)?;
    }
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad_request("bad request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad_request("not HTTP/1.x"));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    loop {
        let line = read_line(r, &mut budget)?;
        if line.is_empty() {
            break;
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| bad_request("bad header line"))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|te| te.to_ascii_lowercase().contains("chunked")) {
        loop {
            let mut line_budget = 1024;
            let line = read_line(r, &mut line_budget)?;
            let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| bad_request("bad chunk size"))?;
            if size == 0 {
                let mut trailer_budget = MAX_HEAD;
                while !read_line(r, &mut trailer_budget)?.is_empty() {}
                break;
            }
            if body.len() + size > MAX_REQUEST_BODY {
                return Err(bad_request("request body too large"));
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            let mut crlf_budget = 2;
            read_line(r, &mut crlf_budget)?;
        }
    } else if let Some(len) = header("content-length") {
        let len: usize = len.parse().map_err(|_| bad_request("bad content-length"))?;
        if len > MAX_REQUEST_BODY {
            return Err(bad_request("request body too large"));
        }
        body.resize(len, 0);
        r.read_exact(&mut body)?;
    }
    Ok(RecordedRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body,
    })
}

// ---------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn write_head(
    w: &mut impl Write,
    status: u16,
    headers: &[(&str, &str)],
    content_length: Option<u64>,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nConnection: close\r\n",
        reason(status)
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(len) = content_length {
        head.push_str(&format!("Content-Length: {len}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())
}

fn send(
    conn: &mut Conn,
    req: &RecordedRequest,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<()> {
    // RFC 9110: these never have a body, nor a Content-Length.
    if status == 204 || status == 304 {
        write_head(conn, status, headers, None)?;
    } else {
        write_head(conn, status, headers, Some(body.len() as u64))?;
        if req.method != "HEAD" {
            conn.write_all(body)?;
        }
    }
    conn.flush()
}

fn text(conn: &mut Conn, req: &RecordedRequest, status: u16, body: &str) -> io::Result<()> {
    send(
        conn,
        req,
        status,
        &[("Content-Type", "text/plain; charset=utf-8")],
        body.as_bytes(),
    )
}

fn wants_gzip(req: &RecordedRequest) -> bool {
    let Some(accept) = req.header("accept-encoding") else {
        return false;
    };
    accept.split(',').any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f64>().ok())
                .is_some_and(|q| q == 0.0)
        });
        coding.eq_ignore_ascii_case("gzip") && !refused
    })
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data).expect("gzip into memory");
    enc.finish().expect("gzip into memory")
}

/// A metrics body, gzipped when the client allows it.
fn send_metrics(
    conn: &mut Conn,
    req: &RecordedRequest,
    content_type: &str,
    body: &[u8],
) -> io::Result<()> {
    if wants_gzip(req) {
        let packed = gzip(body);
        let headers = [
            ("Content-Type", content_type),
            ("Content-Encoding", "gzip"),
            ("Vary", "Accept-Encoding"),
        ];
        send(conn, req, 200, &headers, &packed)
    } else {
        let headers = [("Content-Type", content_type), ("Vary", "Accept-Encoding")];
        send(conn, req, 200, &headers, body)
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn rich_metrics(conn: &mut Conn, shared: &Shared, req: &RecordedRequest) -> io::Result<()> {
    let (mode, counter) = {
        let state = shared.state();
        (state.format_mode, state.counter)
    };
    let openmetrics = match mode {
        FormatMode::Negotiate => req
            .header("accept")
            .is_some_and(|a| a.contains("application/openmetrics-text")),
        FormatMode::ClassicOnly => false,
        FormatMode::OpenMetricsOnly => true,
    };
    let body = rich_body(openmetrics, now_ms(), counter);
    let content_type = if openmetrics {
        OPENMETRICS_CONTENT_TYPE
    } else {
        CLASSIC_CONTENT_TYPE
    };
    send_metrics(conn, req, content_type, body.as_bytes())
}

fn authorized(req: &RecordedRequest) -> bool {
    let Some((scheme, credentials)) = req.header("authorization").and_then(|a| a.split_once(' '))
    else {
        return false;
    };
    let credentials = credentials.trim();
    (scheme.eq_ignore_ascii_case("basic") && credentials == "dXNlcjpwYXNz")
        || (scheme.eq_ignore_ascii_case("bearer") && credentials == "s3cret")
}

fn query_param(req: &RecordedRequest, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn respond(conn: &mut Conn, shared: &Shared, req: &RecordedRequest) -> io::Result<()> {
    let custom = shared
        .state()
        .routes
        .get_mut(&req.path)
        .map(|route| match route {
            CustomRoute::Fixed {
                status,
                content_type,
                body,
            } => CustomAnswer::Fixed(*status, content_type.clone(), body.clone()),
            CustomRoute::Hang => CustomAnswer::Hang,
            CustomRoute::Churn { series, served } => {
                *served += 1;
                CustomAnswer::Churn(*series, *served - 1)
            }
        });
    match custom {
        Some(CustomAnswer::Fixed(status, content_type, body)) => {
            return send(
                conn,
                req,
                status,
                &[("Content-Type", content_type.as_str())],
                &body,
            )
        }
        Some(CustomAnswer::Hang) => {
            while conn.wait(Duration::from_secs(3600)) {}
            return Ok(());
        }
        Some(CustomAnswer::Churn(series, n)) => {
            let body = churn_series(series, n);
            return send_metrics(conn, req, CLASSIC_CONTENT_TYPE, body.as_bytes());
        }
        None => {}
    }
    match req.path.as_str() {
        "/metrics" => rich_metrics(conn, shared, req),
        "/auth/metrics" if authorized(req) => rich_metrics(conn, shared, req),
        "/auth/metrics" => send(
            conn,
            req,
            401,
            &[
                ("Content-Type", "text/plain; charset=utf-8"),
                ("WWW-Authenticate", "Basic realm=\"test app\""),
            ],
            b"unauthorized\n",
        ),
        "/many" => {
            let n = query_param(req, "series")
                .and_then(|n| n.parse().ok())
                .unwrap_or(100);
            send_metrics(conn, req, CLASSIC_CONTENT_TYPE, many_series(n).as_bytes())
        }
        "/slow" => {
            let ms = query_param(req, "ms")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1000);
            if !conn.wait(Duration::from_millis(ms)) {
                return Ok(());
            }
            let body = format!(
                "# HELP app_slow_delay_seconds How long this answer was held back.\n\
                 # TYPE app_slow_delay_seconds gauge\n\
                 app_slow_delay_seconds {}\n",
                go_float(ms as f64 / 1000.0)
            );
            send_metrics(conn, req, CLASSIC_CONTENT_TYPE, body.as_bytes())
        }
        "/stall" => stall(conn, req),
        "/endless" => endless(conn, req, shared),
        "/big" => {
            let mb: f64 = query_param(req, "mb")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1.0);
            big(conn, req, (mb.max(0.0) * 1024.0 * 1024.0) as u64)
        }
        "/gzip-bomb" => send(
            conn,
            req,
            200,
            &[
                ("Content-Type", CLASSIC_CONTENT_TYPE),
                ("Content-Encoding", "gzip"),
            ],
            gzip_bomb(),
        ),
        "/invalid-utf8" => send(
            conn,
            req,
            200,
            &[("Content-Type", CLASSIC_CONTENT_TYPE)],
            b"# HELP app_bad_utf8 A label value with a byte that is not UTF-8.\n\
              # TYPE app_bad_utf8 gauge\n\
              app_bad_utf8{v=\"caf\xff\"} 1\n",
        ),
        "/html" => send(
            conn,
            req,
            200,
            &[("Content-Type", "text/html; charset=utf-8")],
            b"<!DOCTYPE html>\n<html><head><title>Test app</title></head>\n\
              <body><h1>Welcome</h1><p>This page is not metrics.</p></body></html>\n",
        ),
        "/json" => send(
            conn,
            req,
            200,
            &[("Content-Type", "application/json")],
            br#"{"metrics":[{"name":"app_up","value":1}],"note":"not an exposition"}"#,
        ),
        "/redirect-loop" => redirect(conn, req, "/redirect-loop2"),
        "/redirect-loop2" => redirect(conn, req, "/redirect-loop"),
        "/redirect" => {
            let to = query_param(req, "to").unwrap_or_else(|| "/metrics".to_owned());
            redirect(conn, req, &to)
        }
        "/health" => {
            let (status, body) = shared.state().health.clone();
            send(
                conn,
                req,
                status,
                &[("Content-Type", "application/json")],
                body.as_bytes(),
            )
        }
        path => match path
            .strip_prefix("/status/")
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|s| (200..600).contains(s))
        {
            Some(status) => text(conn, req, status, &format!("status {status}\n")),
            None => text(conn, req, 404, "not found\n"),
        },
    }
}

fn redirect(conn: &mut Conn, req: &RecordedRequest, to: &str) -> io::Result<()> {
    send(
        conn,
        req,
        302,
        &[
            ("Location", to),
            ("Content-Type", "text/plain; charset=utf-8"),
        ],
        format!("see {to}\n").as_bytes(),
    )
}

fn stall(conn: &mut Conn, req: &RecordedRequest) -> io::Result<()> {
    write_head(
        conn,
        200,
        &[("Content-Type", CLASSIC_CONTENT_TYPE)],
        Some(1024 * 1024),
    )?;
    if req.method != "HEAD" {
        conn.write_all(b"# HELP app_stalled A body that never completes.\n# TYPE app_st")?;
    }
    conn.flush()?;
    while conn.wait(Duration::from_secs(3600)) {}
    Ok(())
}

fn endless(conn: &mut Conn, req: &RecordedRequest, shared: &Shared) -> io::Result<()> {
    write_head(
        conn,
        200,
        &[
            ("Content-Type", CLASSIC_CONTENT_TYPE),
            ("Transfer-Encoding", "chunked"),
        ],
        None,
    )?;
    if req.method == "HEAD" {
        return conn.flush();
    }
    let mut chunk = String::from(
        "# HELP app_endless_series One of the series of a body that never ends.\n\
         # TYPE app_endless_series gauge\n",
    );
    let mut i: u64 = 0;
    while !shared.stopping() {
        while chunk.len() < 64 * 1024 {
            chunk.push_str(&format!("app_endless_series{{i=\"{i}\"}} {i}\n"));
            i += 1;
        }
        conn.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
        conn.write_all(chunk.as_bytes())?;
        conn.write_all(b"\r\n")?;
        conn.flush()?;
        chunk.clear();
    }
    Ok(())
}

/// A line that fills `n` bytes and is valid anywhere in a classic body.
fn padding(n: usize) -> Vec<u8> {
    match n {
        0 => Vec::new(),
        1 => b"\n".to_vec(),
        _ => {
            let mut pad = vec![b' '; n];
            pad[0] = b'#';
            pad[n - 1] = b'\n';
            pad
        }
    }
}

fn big(conn: &mut Conn, req: &RecordedRequest, total: u64) -> io::Result<()> {
    write_head(
        conn,
        200,
        &[("Content-Type", CLASSIC_CONTENT_TYPE)],
        Some(total),
    )?;
    if req.method == "HEAD" {
        return conn.flush();
    }
    let header: &[u8] = b"# HELP app_big_series One of the series of a big body.\n\
                          # TYPE app_big_series gauge\n";
    if total < header.len() as u64 {
        conn.write_all(&padding(total as usize))?;
        return conn.flush();
    }
    // Fixed-width lines, so the body comes out at exactly `total` bytes.
    let line = |i: u64| format!("app_big_series{{i=\"{i:010}\"}} 1\n");
    let line_len = line(0).len() as u64;
    let lines = (total - header.len() as u64) / line_len;
    let rest = (total - header.len() as u64) % line_len;
    let mut buf = header.to_vec();
    for i in 0..lines {
        buf.extend_from_slice(line(i).as_bytes());
        if buf.len() >= 64 * 1024 {
            conn.write_all(&buf)?;
            buf.clear();
        }
    }
    buf.extend_from_slice(&padding(rest as usize));
    conn.write_all(&buf)?;
    conn.flush()
}

// ---------------------------------------------------------------------------------------
// The gzip bomb
// ---------------------------------------------------------------------------------------

const BOMB_HEADER: &[u8] =
    b"# HELP app_gzip_bomb A body that inflates far beyond any sane limit.\n\
                             # TYPE app_gzip_bomb gauge\n";
const BOMB_LINE: &[u8] = b"app_gzip_bomb{pad=\"xxxxxxxxxxxxxxxxxxxxxxxx\"} 1\n";
const BOMB_LINES_PER_BLOCK: usize = 16;
const BOMB_BLOCK: u64 = 8 << 20;

/// (repeats of the block after the first, inflated size): the first block is the
/// header plus one block, and blocks are repeated until the total passes 1 GiB.
const fn gzip_bomb_layout() -> (u64, u64) {
    let first = BOMB_HEADER.len() as u64 + BOMB_BLOCK;
    let repeats = ((1u64 << 30) - first).div_ceil(BOMB_BLOCK);
    (repeats, first + repeats * BOMB_BLOCK)
}

/// A few metric lines, then empty lines (valid in classic text) up to [`BOMB_BLOCK`]:
/// a run of one byte is what deflate packs best (~1030:1, back-references at distance
/// 1 need no extra bits), where repeated whole lines would only give ~340:1.
fn bomb_block() -> Vec<u8> {
    let mut block = BOMB_LINE.repeat(BOMB_LINES_PER_BLOCK);
    block.resize(BOMB_BLOCK as usize, b'\n');
    block
}

/// Raw deflate of `data` by a fresh compressor, ending in a full flush: such pieces
/// only refer back within themselves and end byte-aligned, so any sequence of them
/// followed by a final block is one valid deflate stream.
fn deflate_piece(data: &[u8]) -> Vec<u8> {
    let mut c = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(data.len() / 512 + 1024);
    loop {
        if out.len() == out.capacity() {
            out.reserve(64 * 1024);
        }
        let consumed = c.total_in() as usize;
        c.compress_vec(&data[consumed..], &mut out, FlushCompress::Full)
            .expect("deflate into memory");
        // The flush is complete once input is used up and the output had room left.
        if c.total_in() as usize == data.len() && out.len() < out.capacity() {
            return out;
        }
    }
}

/// Built once per test process: compressing 1 GiB for real would take far longer, so
/// one compressed block is repeated and the CRC is combined rather than computed.
fn gzip_bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let (repeats, inflated) = gzip_bomb_layout();
        let block = bomb_block();
        let mut first = BOMB_HEADER.to_vec();
        first.extend_from_slice(&block);
        let first_deflated = deflate_piece(&first);
        let block_deflated = deflate_piece(&block);

        let mut crc = Crc::new();
        crc.update(&first);
        let mut block_crc = Crc::new();
        block_crc.update(&block);
        for _ in 0..repeats {
            crc.combine(&block_crc);
        }

        let mut out =
            Vec::with_capacity(first_deflated.len() + block_deflated.len() * repeats as usize + 32);
        // Header: magic, deflate, no flags, no mtime, no extra flags, OS unknown.
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
        out.extend_from_slice(&first_deflated);
        for _ in 0..repeats {
            out.extend_from_slice(&block_deflated);
        }
        // An empty final block with fixed Huffman codes: BFINAL=1, BTYPE=01, EOB.
        out.extend_from_slice(&[0x03, 0x00]);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(inflated as u32).to_le_bytes());
        out
    })
}

// ---------------------------------------------------------------------------------------
// Metric bodies
// ---------------------------------------------------------------------------------------

/// `v` as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes it, which is what the Go
/// client's classic exposition uses (exponent from 1e6 up and below 1e-4), except that
/// -0 keeps its sign (Go writes `0`).
pub fn go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent");
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{v}")
    }
}

/// `v` as the Python client's `floatToGoString` writes it: Python's `repr`, with
/// positive numbers of 7 to 16 integer digits rewritten as `d.ddde+0N` (which gives
/// `e+010` and up for ten digits or more, a quirk real bodies have).
pub fn py_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent");
    let repr = if !(-4..16).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let plain = format!("{v}");
        if plain.contains('.') {
            plain
        } else {
            plain + ".0"
        }
    };
    match repr.find('.') {
        Some(dot) if v > 0.0 && dot > 6 => {
            let digits = format!("{}.{}{}", &repr[..1], &repr[1..dot], &repr[dot + 1..]);
            let mantissa = digits.trim_end_matches(['0', '.']);
            format!("{mantissa}e+0{}", dot - 1)
        }
        _ => repr,
    }
}

/// The timestamp the rich bodies give their timestamped samples: 10 s before `now_ms`
/// (recent enough for Prometheus to accept), on a `.250` so that OpenMetrics' decimal
/// seconds convert to exactly these milliseconds in binary floating point too.
pub fn rich_timestamp_ms(now_ms: i64) -> i64 {
    (now_ms - 10_000).div_euclid(1000) * 1000 + 250
}

/// The classic (0.0.4) rich exposition at `now_ms`, with [`DEFAULT_COUNTER`].
pub fn rich_classic(now_ms: i64) -> String {
    rich_body(false, now_ms, DEFAULT_COUNTER)
}

/// The OpenMetrics 1.0 rich exposition at `now_ms`, with [`DEFAULT_COUNTER`].
pub fn rich_openmetrics(now_ms: i64) -> String {
    rich_body(true, now_ms, DEFAULT_COUNTER)
}

/// The rich exposition in either format; `counter` is the value of
/// `app_http_requests_total{code="200",method="get"}`.
pub fn rich_body(openmetrics: bool, now_ms: i64, counter: f64) -> String {
    let ts = rich_timestamp_ms(now_ms);
    if openmetrics {
        let seconds = format!("{}.{:03}", ts.div_euclid(1000), ts.rem_euclid(1000));
        RICH_OPENMETRICS
            .replace("@COUNTER@", &py_float(counter))
            .replace("@TS@", &seconds)
    } else {
        RICH_CLASSIC
            .replace("@COUNTER@", &go_float(counter))
            .replace("@TS@", &ts.to_string())
    }
}

/// `n` gauge series `app_many_series{i="0"} 0` … in classic text.
pub fn many_series(n: usize) -> String {
    let mut out = String::with_capacity(100 + n * 32);
    out.push_str(
        "# HELP app_many_series One of many series, for sample limits and benchmarks.\n\
         # TYPE app_many_series gauge\n",
    );
    for i in 0..n {
        out.push_str(&format!("app_many_series{{i=\"{i}\"}} {i}\n"));
    }
    out
}

/// `n` gauge series that are all new in every `generation`:
/// `app_churn_series{generation="G",i="0"} 0` … in classic text.
pub fn churn_series(n: usize, generation: u64) -> String {
    let mut out = String::with_capacity(100 + n * 48);
    out.push_str(
        "# HELP app_churn_series One of many series that exist for one scrape only.\n\
         # TYPE app_churn_series gauge\n",
    );
    for i in 0..n {
        out.push_str(&format!(
            "app_churn_series{{generation=\"{generation}\",i=\"{i}\"}} {i}\n"
        ));
    }
    out
}

// The two bodies hold the same series (Prometheus stores the same from either), each
// written the way its client library writes it:
// - classic as the Go client does (`_total` in the TYPE name, `le` last, Go floats), with
//   the Python client's classic `_created` gauges beside counters, histograms and
//   summaries, and its classic forms of gaugehistogram (histogram + `_gcount`/`_gsum`
//   gauges), info and stateset (gauges);
// - OpenMetrics as the Python client does (`1.0` floats, `_created` per series), but
//   for `case="plain_int"`, an integer as clients with integer counters write it.
// Exceptions the formats force: exemplars and UNIT exist only in OpenMetrics, and the
// bare counter `app_legacy_events` is `unknown` there, since an OpenMetrics counter's
// samples must end in `_total` (the Go client would rename it, changing the series).
// Bucket bounds avoid whole numbers, which Go writes `1` and Python `1.0`: Prometheus 2
// keeps `le` verbatim, so they would be different series.
// @COUNTER@ and @TS@ are filled in per request.

const RICH_CLASSIC: &str = r#"# HELP app_http_requests_total Requests served, by method and code.
# TYPE app_http_requests_total counter
app_http_requests_total{code="200",method="get"} @COUNTER@
app_http_requests_total{code="500",method="post"} 3
# HELP app_http_requests_created Requests served, by method and code.
# TYPE app_http_requests_created gauge
app_http_requests_created{code="200",method="get"} 1.7e+09
app_http_requests_created{code="500",method="post"} 1.7000000125e+09
# HELP app_errors_total Errors, by kind.
# TYPE app_errors_total counter
app_errors_total{kind="refused"} 0
app_errors_total{kind="timeout"} 7
# HELP app_cpu_seconds_total CPU time spent.
# TYPE app_cpu_seconds_total counter
app_cpu_seconds_total 12.5
# HELP app_bytes_sent_total Bytes sent, from a client that counts in floats.
# TYPE app_bytes_sent_total counter
app_bytes_sent_total 1.8446744073709552e+19
# HELP app_legacy_events Events, counted by an old library that adds no _total suffix.
# TYPE app_legacy_events counter
app_legacy_events 17
# HELP app_temperature_celsius Temperature of the machine room.
# TYPE app_temperature_celsius gauge
app_temperature_celsius 21.5
# HELP app_values Values at the edges of what float64 and the text formats can say.
# TYPE app_values gauge
app_values{case="nan"} NaN
app_values{case="pos_inf"} +Inf
app_values{case="neg_inf"} -Inf
app_values{case="neg_zero"} -0
app_values{case="tiny"} 1e-09
app_values{case="negative"} -42.5
app_values{case="millions"} 1.234567e+06
app_values{case="ten_billion"} 2.5e+10
app_values{case="max_safe_int"} 9.007199254740992e+15
app_values{case="plain_int"} 4503599627370497
app_values{case="max_float"} 1.7976931348623157e+308
# HELP app_queue_lag_seconds Lag of the newest job, sampled by the app at its own time.
# TYPE app_queue_lag_seconds gauge
app_queue_lag_seconds{queue="mail"} 0.25 @TS@
app_queue_lag_seconds{queue="sms"} 3 @TS@
# HELP app_label_values Label values with a backslash \\, a newline \n, "quotes" and UTF-8: é 日本.
# TYPE app_label_values gauge
app_label_values{case="escapes",v="quote \" backslash \\ newline \n end"} 1
app_label_values{case="utf8",v="café é 日本語"} 2
app_label_values{case="empty",v=""} 3
app_label_values{case="trailing_backslash",v="C:\\"} 4
# HELP app_many_labels One series with many labels.
# TYPE app_many_labels gauge
app_many_labels{a="1",b="2",c="3",d="4",e="5",f="6",g="7",h="8",i="9",j="10",k="11",l="12",m="13",n="14",o="15",p="16"} 1
# HELP app_jobs_queued Jobs waiting, by queue and by the part of the app that queued them.
# TYPE app_jobs_queued gauge
app_jobs_queued{queue="mail",source="cron"} 5
app_jobs_queued{queue="sms",source="api"} 2
# HELP app_request_duration_seconds Request latency.
# TYPE app_request_duration_seconds histogram
app_request_duration_seconds_bucket{route="/api",le="0.005"} 3
app_request_duration_seconds_bucket{route="/api",le="0.025"} 9
app_request_duration_seconds_bucket{route="/api",le="0.1"} 15
app_request_duration_seconds_bucket{route="/api",le="0.25"} 18
app_request_duration_seconds_bucket{route="/api",le="2.5"} 19
app_request_duration_seconds_bucket{route="/api",le="+Inf"} 20
app_request_duration_seconds_sum{route="/api"} 7.25
app_request_duration_seconds_count{route="/api"} 20
app_request_duration_seconds_bucket{route="/health",le="0.005"} 1
app_request_duration_seconds_bucket{route="/health",le="0.025"} 1
app_request_duration_seconds_bucket{route="/health",le="0.1"} 1
app_request_duration_seconds_bucket{route="/health",le="0.25"} 1
app_request_duration_seconds_bucket{route="/health",le="2.5"} 1
app_request_duration_seconds_bucket{route="/health",le="+Inf"} 1
app_request_duration_seconds_sum{route="/health"} 0.001
app_request_duration_seconds_count{route="/health"} 1
# HELP app_request_duration_seconds_created Request latency.
# TYPE app_request_duration_seconds_created gauge
app_request_duration_seconds_created{route="/api"} 1.7000000005e+09
app_request_duration_seconds_created{route="/health"} 1.70000000075e+09
# HELP app_rpc_latency_seconds RPC latency.
# TYPE app_rpc_latency_seconds summary
app_rpc_latency_seconds{quantile="0.5"} 0.012
app_rpc_latency_seconds{quantile="0.9"} 0.05
app_rpc_latency_seconds{quantile="0.99"} NaN
app_rpc_latency_seconds_sum 36.5
app_rpc_latency_seconds_count 1500
# HELP app_rpc_latency_seconds_created RPC latency.
# TYPE app_rpc_latency_seconds_created gauge
app_rpc_latency_seconds_created 1.700000001e+09
# HELP app_widgets Widgets, of a type the app does not declare.
# TYPE app_widgets untyped
app_widgets{color="red"} 5
app_widgets{color="blue"} 8 @TS@
# HELP app_queue_wait_seconds Wait of the jobs queued now.
# TYPE app_queue_wait_seconds histogram
app_queue_wait_seconds_bucket{le="0.25"} 4
app_queue_wait_seconds_bucket{le="2.5"} 9
app_queue_wait_seconds_bucket{le="+Inf"} 11
# HELP app_queue_wait_seconds_gcount Wait of the jobs queued now.
# TYPE app_queue_wait_seconds_gcount gauge
app_queue_wait_seconds_gcount 11
# HELP app_queue_wait_seconds_gsum Wait of the jobs queued now.
# TYPE app_queue_wait_seconds_gsum gauge
app_queue_wait_seconds_gsum 17.5
# HELP app_build_info Build information.
# TYPE app_build_info gauge
app_build_info{branch="main",revision="4f3c2a1",version="1.2.3"} 1
# HELP app_feature Feature flags.
# TYPE app_feature gauge
app_feature{app_feature="beta_ui"} 0
app_feature{app_feature="dark_mode"} 1
app_feature{app_feature="new_billing"} 0
"#;

const RICH_OPENMETRICS: &str = r#"# HELP app_http_requests Requests served, by method and code.
# TYPE app_http_requests counter
app_http_requests_total{code="200",method="get"} @COUNTER@ # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 1.0 @TS@
app_http_requests_created{code="200",method="get"} 1.7e+09
app_http_requests_total{code="500",method="post"} 3.0
app_http_requests_created{code="500",method="post"} 1.7000000125e+09
# HELP app_errors Errors, by kind.
# TYPE app_errors counter
app_errors_total{kind="refused"} 0.0
app_errors_total{kind="timeout"} 7.0
# HELP app_cpu_seconds CPU time spent.
# TYPE app_cpu_seconds counter
# UNIT app_cpu_seconds seconds
app_cpu_seconds_total 12.5
# HELP app_bytes_sent Bytes sent, from a client that counts in floats.
# TYPE app_bytes_sent counter
app_bytes_sent_total 1.8446744073709552e+19
# HELP app_legacy_events Events, counted by an old library that adds no _total suffix.
# TYPE app_legacy_events unknown
app_legacy_events 17.0
# HELP app_temperature_celsius Temperature of the machine room.
# TYPE app_temperature_celsius gauge
# UNIT app_temperature_celsius celsius
app_temperature_celsius 21.5
# HELP app_values Values at the edges of what float64 and the text formats can say.
# TYPE app_values gauge
app_values{case="nan"} NaN
app_values{case="pos_inf"} +Inf
app_values{case="neg_inf"} -Inf
app_values{case="neg_zero"} -0.0
app_values{case="tiny"} 1e-09
app_values{case="negative"} -42.5
app_values{case="millions"} 1.234567e+06
app_values{case="ten_billion"} 2.5e+010
app_values{case="max_safe_int"} 9.007199254740992e+015
app_values{case="plain_int"} 4503599627370497
app_values{case="max_float"} 1.7976931348623157e+308
# HELP app_queue_lag_seconds Lag of the newest job, sampled by the app at its own time.
# TYPE app_queue_lag_seconds gauge
# UNIT app_queue_lag_seconds seconds
app_queue_lag_seconds{queue="mail"} 0.25 @TS@
app_queue_lag_seconds{queue="sms"} 3.0 @TS@
# HELP app_label_values Label values with a backslash \\, a newline \n, \"quotes\" and UTF-8: é 日本.
# TYPE app_label_values gauge
app_label_values{case="escapes",v="quote \" backslash \\ newline \n end"} 1.0
app_label_values{case="utf8",v="café é 日本語"} 2.0
app_label_values{case="empty",v=""} 3.0
app_label_values{case="trailing_backslash",v="C:\\"} 4.0
# HELP app_many_labels One series with many labels.
# TYPE app_many_labels gauge
app_many_labels{a="1",b="2",c="3",d="4",e="5",f="6",g="7",h="8",i="9",j="10",k="11",l="12",m="13",n="14",o="15",p="16"} 1.0
# HELP app_jobs_queued Jobs waiting, by queue and by the part of the app that queued them.
# TYPE app_jobs_queued gauge
app_jobs_queued{queue="mail",source="cron"} 5.0
app_jobs_queued{queue="sms",source="api"} 2.0
# HELP app_request_duration_seconds Request latency.
# TYPE app_request_duration_seconds histogram
# UNIT app_request_duration_seconds seconds
app_request_duration_seconds_bucket{route="/api",le="0.005"} 3.0
app_request_duration_seconds_bucket{route="/api",le="0.025"} 9.0
app_request_duration_seconds_bucket{route="/api",le="0.1"} 15.0 # {span_id="b7ad6b7169203331",trace_id="0af7651916cd43dd8448eb211c80319c"} 0.067 @TS@
app_request_duration_seconds_bucket{route="/api",le="0.25"} 18.0
app_request_duration_seconds_bucket{route="/api",le="2.5"} 19.0
app_request_duration_seconds_bucket{route="/api",le="+Inf"} 20.0
app_request_duration_seconds_count{route="/api"} 20.0
app_request_duration_seconds_sum{route="/api"} 7.25
app_request_duration_seconds_created{route="/api"} 1.7000000005e+09
app_request_duration_seconds_bucket{route="/health",le="0.005"} 1.0
app_request_duration_seconds_bucket{route="/health",le="0.025"} 1.0
app_request_duration_seconds_bucket{route="/health",le="0.1"} 1.0
app_request_duration_seconds_bucket{route="/health",le="0.25"} 1.0
app_request_duration_seconds_bucket{route="/health",le="2.5"} 1.0
app_request_duration_seconds_bucket{route="/health",le="+Inf"} 1.0
app_request_duration_seconds_count{route="/health"} 1.0
app_request_duration_seconds_sum{route="/health"} 0.001
app_request_duration_seconds_created{route="/health"} 1.70000000075e+09
# HELP app_rpc_latency_seconds RPC latency.
# TYPE app_rpc_latency_seconds summary
# UNIT app_rpc_latency_seconds seconds
app_rpc_latency_seconds{quantile="0.5"} 0.012
app_rpc_latency_seconds{quantile="0.9"} 0.05
app_rpc_latency_seconds{quantile="0.99"} NaN
app_rpc_latency_seconds_sum 36.5
app_rpc_latency_seconds_count 1500.0
app_rpc_latency_seconds_created 1.700000001e+09
# HELP app_widgets Widgets, of a type the app does not declare.
# TYPE app_widgets unknown
app_widgets{color="red"} 5.0
app_widgets{color="blue"} 8.0 @TS@
# HELP app_queue_wait_seconds Wait of the jobs queued now.
# TYPE app_queue_wait_seconds gaugehistogram
# UNIT app_queue_wait_seconds seconds
app_queue_wait_seconds_bucket{le="0.25"} 4.0
app_queue_wait_seconds_bucket{le="2.5"} 9.0 # {job_id="42"} 1.5
app_queue_wait_seconds_bucket{le="+Inf"} 11.0
app_queue_wait_seconds_gcount 11.0
app_queue_wait_seconds_gsum 17.5
# HELP app_build Build information.
# TYPE app_build info
app_build_info{branch="main",revision="4f3c2a1",version="1.2.3"} 1.0
# HELP app_feature Feature flags.
# TYPE app_feature stateset
app_feature{app_feature="beta_ui"} 0.0
app_feature{app_feature="dark_mode"} 1.0
app_feature{app_feature="new_billing"} 0.0
# EOF
"#;
