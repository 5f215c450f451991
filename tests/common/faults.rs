//! What the fault and soak tests (`tests/faults.rs`, `tests/soak.rs`) need beyond the
//! servers of `tests/common`: a network namespace whose link can be cut (connects and
//! open connections then hang, as behind a dead router), HTTP load with `wrk`, and
//! counters of what a process holds (open fds and memory from /proc, connections it
//! keeps on PostgreSQL and Redis).

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::{output_text, send_signal, stop_child, tempdir, TempPostgres, TempRedis};

// ---------------------------------------------------------------------------------------
// Network namespaces
// ---------------------------------------------------------------------------------------

/// A network namespace joined to the host by a veth pair on a /30 of its own: the host
/// side is `.1`, the namespace side [`Netns::addr`]. A server started inside (see
/// [`Netns::command`], [`TempPostgres::start_in_netns`]) listening on that address is
/// reached from the host through the pair, and [`Netns::cut`] takes the namespace side
/// down: packets from the host are then dropped without any answer (the host keeps a
/// permanent neighbour entry, so it never learns the peer is gone), so new connects and
/// established connections hang instead of failing. Needs root and `ip` (iproute2).
/// Dropping it kills whatever still runs inside, then deletes the namespace (which
/// deletes the veth pair).
pub struct Netns {
    name: String,
    host_if: String,
    ns_if: String,
    addr: String,
    ns_mac: String,
}

/// Every namespace this process makes gets the next number, so parallel tests differ.
static NEXT_NETNS: AtomicU32 = AtomicU32::new(0);

fn ip(args: &[&str]) -> Output {
    Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run `ip` (iproute2; scripts/test.sh installs it)")
}

fn ip_ok(args: &[&str]) {
    let out = ip(args);
    assert!(
        out.status.success(),
        "ip {} failed: {}",
        args.join(" "),
        output_text(&out)
    );
}

impl Netns {
    pub fn create() -> Netns {
        let pid = std::process::id();
        let n = NEXT_NETNS.fetch_add(1, Ordering::SeqCst);
        // Interface names are at most 15 bytes: "seh"/"sen", the pid in hex (≤ 6), "x", n.
        let tag = format!("{pid:x}x{n}");
        // The /30 blocks of 10.213.0.0/16, picked from the pid and counter; one that
        // another process already uses is skipped.
        let used = String::from_utf8_lossy(&ip(&["-o", "-4", "addr", "show"]).stdout).into_owned();
        let mut block = (pid.wrapping_mul(7).wrapping_add(n.wrapping_mul(131))) % 16384;
        let (host_addr, addr) = loop {
            let (third, fourth) = (block / 64, (block % 64) * 4);
            let host = format!("10.213.{third}.{}", fourth + 1);
            if !used.contains(&format!("inet {host}/")) {
                break (host, format!("10.213.{third}.{}", fourth + 2));
            }
            block = (block + 1) % 16384;
        };
        let mut ns = Netns {
            name: format!("stack-exporter-{tag}"),
            host_if: format!("seh{tag}"),
            ns_if: format!("sen{tag}"),
            addr,
            ns_mac: String::new(),
        };
        assert!(
            ns.host_if.len() <= 15,
            "interface name {} too long",
            ns.host_if
        );
        // Names carry our pid, so one already there is a leftover of a dead process that
        // had it (a test binary killed before its Drop ran).
        let _ = ip(&["netns", "del", &ns.name]);
        let _ = ip(&["link", "del", &ns.host_if]);
        ip_ok(&["netns", "add", &ns.name]);
        // From here on Drop cleans up, also when a step below fails.
        ip_ok(&[
            "link",
            "add",
            &ns.host_if,
            "type",
            "veth",
            "peer",
            "name",
            &ns.ns_if,
        ]);
        ip_ok(&["link", "set", &ns.ns_if, "netns", &ns.name]);
        ip_ok(&[
            "addr",
            "add",
            &format!("{host_addr}/30"),
            "dev",
            &ns.host_if,
        ]);
        ip_ok(&["link", "set", &ns.host_if, "up"]);
        ns.in_ns(&[
            "ip",
            "addr",
            "add",
            &format!("{}/30", ns.addr),
            "dev",
            &ns.ns_if,
        ]);
        ns.in_ns(&["ip", "link", "set", &ns.ns_if, "up"]);
        ns.in_ns(&["ip", "link", "set", "lo", "up"]);
        let link = ns.in_ns(&["cat", &format!("/sys/class/net/{}/address", ns.ns_if)]);
        ns.ns_mac = link.trim().to_owned();
        ip_ok(&[
            "neigh",
            "replace",
            &ns.addr,
            "lladdr",
            &ns.ns_mac,
            "dev",
            &ns.host_if,
            "nud",
            "permanent",
        ]);
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace side's address, where servers inside listen.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `ip netns exec NAME program`: `program` runs inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs `argv` inside the namespace; panics unless it succeeds. Returns stdout.
    fn in_ns(&self, argv: &[&str]) -> String {
        let out = self
            .command(argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .output()
            .expect("run ip netns exec");
        assert!(
            out.status.success(),
            "in {}: {} failed: {}",
            self.name,
            argv.join(" "),
            output_text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Takes the link down on the namespace side: from now on whatever the host sends to
    /// [`Netns::addr`] is dropped silently, so connects and reads hang.
    pub fn cut(&self) {
        self.in_ns(&["ip", "link", "set", &self.ns_if, "down"]);
    }

    /// Brings the link back after [`Netns::cut`]: reachable again at once, and what TCP
    /// had been retransmitting gets through.
    pub fn restore(&self) {
        self.in_ns(&["ip", "link", "set", &self.ns_if, "up"]);
    }

    /// PIDs of the processes running inside the namespace.
    pub fn pids(&self) -> Vec<i32> {
        String::from_utf8_lossy(&ip(&["netns", "pids", &self.name]).stdout)
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let pids = self.pids();
            if pids.is_empty() || Instant::now() >= deadline {
                break;
            }
            for pid in pids {
                send_signal(pid, libc::SIGKILL);
            }
            sleep(Duration::from_millis(20));
        }
        let _ = ip(&["netns", "del", &self.name]);
        // Normally gone with the namespace; a pair whose move into it failed is not.
        let _ = ip(&["link", "del", &self.host_if]);
    }
}

// ---------------------------------------------------------------------------------------
// HTTP load
// ---------------------------------------------------------------------------------------

/// `wrk -t1 -c4 --latency` against one URL in the background, until [`WrkLoad::finish`]
/// stops it (SIGINT: wrk then prints its summary as if the duration had ended) or its
/// maximum duration passes. Requests slower than 5 s count as timeouts. Dropping it
/// kills wrk.
pub struct WrkLoad {
    child: Option<Child>,
    out: PathBuf,
    url: String,
    _dir: tempfile::TempDir,
}

/// What one wrk run saw.
#[derive(Debug, Clone, Default)]
pub struct WrkReport {
    pub requests: u64,
    pub connect_errors: u64,
    pub read_errors: u64,
    pub write_errors: u64,
    pub timeouts: u64,
    /// Responses that were neither 2xx nor 3xx.
    pub non_2xx: u64,
    pub p50: Duration,
    pub p99: Duration,
    /// wrk's whole output, for failure messages.
    pub raw: String,
}

impl WrkLoad {
    /// Starts the load; `max` bounds the run should the test never call `finish`.
    pub fn start(url: &str, max: Duration) -> WrkLoad {
        let dir = tempdir("stack-exporter-wrk-");
        let out = dir.path().join("wrk.out");
        let file = fs::File::create(&out).expect("create wrk output file");
        let child = Command::new("wrk")
            .args(["-t1", "-c4", "--latency", "--timeout", "5s"])
            .arg(format!("-d{}s", max.as_secs().max(1)))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone wrk output file"))
            .stderr(file)
            .spawn()
            .expect("run wrk (scripts/test.sh installs it)");
        WrkLoad {
            child: Some(child),
            out,
            url: url.to_owned(),
            _dir: dir,
        }
    }

    /// Stops wrk (if still running) and returns what it measured.
    pub fn finish(mut self) -> WrkReport {
        let mut child = self.child.take().expect("wrk runs until finish");
        if child.try_wait().ok().flatten().is_none() {
            send_signal(child.id() as i32, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for wrk") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("wrk did not stop within 15 s of SIGINT ({})", self.url);
            }
            sleep(Duration::from_millis(20));
        };
        let raw = fs::read_to_string(&self.out).unwrap_or_default();
        assert!(status.success(), "wrk failed ({status}):\n{raw}");
        WrkReport::parse(&raw)
    }
}

impl Drop for WrkLoad {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child, Duration::ZERO);
        }
    }
}

/// wrk's latencies: `812.00us`, `3.21ms`, `1.50s`, `2.00m`.
fn wrk_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().ok()?;
    let secs = match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

impl WrkReport {
    /// Reads wrk's summary; the socket-error and non-2xx lines appear only when nonzero.
    pub fn parse(raw: &str) -> WrkReport {
        let mut r = WrkReport {
            raw: raw.to_owned(),
            ..Default::default()
        };
        let mut saw_requests = false;
        for line in raw.lines().map(str::trim) {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [n, "requests", "in", ..] => {
                    r.requests = n.parse().unwrap_or(0);
                    saw_requests = true;
                }
                ["50%", v] => r.p50 = wrk_duration(v).unwrap_or_default(),
                ["99%", v] => r.p99 = wrk_duration(v).unwrap_or_default(),
                ["Non-2xx", "or", "3xx", "responses:", n] => r.non_2xx = n.parse().unwrap_or(0),
                ["Socket", "errors:", rest @ ..] => {
                    // connect N, read N, write N, timeout N
                    for pair in rest.join(" ").split(',') {
                        let mut it = pair.split_whitespace();
                        let (Some(kind), Some(n)) = (it.next(), it.next()) else {
                            continue;
                        };
                        let n = n.parse().unwrap_or(0);
                        match kind {
                            "connect" => r.connect_errors = n,
                            "read" => r.read_errors = n,
                            "write" => r.write_errors = n,
                            "timeout" => r.timeouts = n,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        assert!(saw_requests, "no request count in wrk's output:\n{raw}");
        r
    }

    pub fn socket_errors(&self) -> u64 {
        self.connect_errors + self.read_errors + self.write_errors + self.timeouts
    }

    /// The server answered throughout: requests were made, none failed at the socket
    /// level or timed out, and every answer was a success.
    pub fn assert_answered(&self) {
        assert!(self.requests > 0, "wrk made no request:\n{}", self.raw);
        assert_eq!(self.socket_errors(), 0, "wrk socket errors:\n{}", self.raw);
        assert_eq!(self.non_2xx, 0, "wrk saw non-2xx answers:\n{}", self.raw);
    }

    /// A one-line summary for logs.
    pub fn summary(&self) -> String {
        format!(
            "{} requests, p50 {:?}, p99 {:?}, socket errors {}, non-2xx {}",
            self.requests,
            self.p50,
            self.p99,
            self.socket_errors(),
            self.non_2xx
        )
    }
}

// ---------------------------------------------------------------------------------------
// What a process holds
// ---------------------------------------------------------------------------------------

/// Open file descriptors of `pid` (entries of /proc/PID/fd); 0 when it is gone.
pub fn open_fds(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A `kB` field of /proc/PID/status (`VmRSS`, `VmHWM`, ...); 0 when it is missing.
fn status_kb(pid: u32, field: &str) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Resident memory of `pid` now (VmRSS), in KiB.
pub fn rss_kb(pid: u32) -> u64 {
    status_kb(pid, "VmRSS")
}

/// The most resident memory `pid` ever had (VmHWM), in KiB.
pub fn peak_rss_kb(pid: u32) -> u64 {
    status_kb(pid, "VmHWM")
}

/// The fewest fds `pid` had over `window`, sampled every 20 ms: its steady count, without
/// the short-lived sockets of a poll or a scrape in flight.
pub fn settled_fds(pid: u32, window: Duration) -> usize {
    let deadline = Instant::now() + window;
    let mut least = open_fds(pid);
    while Instant::now() < deadline {
        sleep(Duration::from_millis(20));
        least = least.min(open_fds(pid));
    }
    least
}

/// Waits until `pid` holds at most `baseline` fds; panics naming the fds it still holds.
pub fn wait_fds_back(pid: u32, baseline: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while open_fds(pid) > baseline {
        if Instant::now() >= deadline {
            let held: Vec<String> = fs::read_dir(format!("/proc/{pid}/fd"))
                .map(|d| {
                    d.flatten()
                        .map(|e| {
                            let target = fs::read_link(e.path()).unwrap_or_default();
                            format!(
                                "{} -> {}",
                                e.file_name().to_string_lossy(),
                                target.display()
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            panic!(
                "the exporter holds {} fds, {within:?} after the fault ended; baseline {baseline}:\n{}",
                held.len(),
                held.join("\n")
            );
        }
        sleep(Duration::from_millis(50));
    }
}

/// The `application_name` the PostgreSQL source connects with when the URL sets none
/// (src/sources/postgres/tls.rs), and the name it gives its Redis connection
/// (`CLIENT SETNAME` in src/sources/redis/mod.rs).
pub const EXPORTER_CLIENT_NAME: &str = "stack_exporter";

/// Backends on `pg` that belong to the exporter (by `application_name`), whatever their
/// state or database.
pub fn exporter_backends(pg: &TempPostgres) -> usize {
    pg.psql(&format!(
        "select count(*) from pg_stat_activity where application_name = '{EXPORTER_CLIENT_NAME}'"
    ))
    .parse()
    .expect("a count")
}

/// Clients of `redis` named by the exporter (`CLIENT LIST`, `name=`).
pub fn exporter_redis_clients(redis: &TempRedis) -> usize {
    let name = format!(" name={EXPORTER_CLIENT_NAME} ");
    redis
        .cli(&["CLIENT", "LIST"])
        .lines()
        .filter(|l| format!("{l} ").contains(&name))
        .count()
}

/// Waits until `count()` equals `want`; panics with the last count after `within`.
pub fn wait_count(what: &str, want: usize, within: Duration, mut count: impl FnMut() -> usize) {
    let deadline = Instant::now() + within;
    loop {
        let last = count();
        if last == want {
            return;
        }
        if Instant::now() >= deadline {
            panic!("{what}: {last}, want {want} (waited {within:?})");
        }
        sleep(Duration::from_millis(100));
    }
}
