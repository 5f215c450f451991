//! Tests of the test harness itself (tests/common) against real servers.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use common::real_apps::{
    drive, group_alive, histogram, histogram_label_names, installed_version, HistogramDefaults,
    HistogramSnapshot, LibraryDefaults, Load, LoadReport, LoadSpec, RealApp, RealAppKind,
    RequestRecord, APP_GAUGES, DEFAULT_SERVICES, FRAMEWORK_VERSIONS,
};
use common::*;

#[test]
fn free_ports_are_distinct() {
    let ports: std::collections::HashSet<u16> = (0..50).map(|_| free_port()).collect();
    assert_eq!(ports.len(), 50);
}

#[test]
fn temp_postgres_survives_kill9_and_restart() {
    let t0 = Instant::now();
    let pg = TempPostgres::start();
    eprintln!("TempPostgres::start took {:?}", t0.elapsed());
    assert_eq!(pg.major(), DEBIAN_PG_MAJOR);
    assert_eq!(
        pg.url(),
        format!("postgresql://postgres@127.0.0.1:{}/postgres", pg.port())
    );
    check_kill9_and_restart(&pg);
}

/// The version matrix's one crash test off Debian's 15: the npm server binaries.
#[test]
fn temp_postgres_18_survives_kill9_and_restart() {
    let pg = TempPostgres::start_version(18);
    check_kill9_and_restart(&pg);
    assert_drop_leaves_nothing_behind(pg);
}

/// kill9, crash recovery in start_again, then a clean stop and another start.
fn check_kill9_and_restart(pg: &TempPostgres) {
    assert_eq!(pg.psql("select 1"), "1");
    assert_eq!(pg.server_version_num() / 10000, pg.major());
    assert_eq!(
        pg.psql("show shared_preload_libraries"),
        "pg_stat_statements"
    );
    assert_eq!(
        pg.psql("select count(*) from pg_extension where extname = 'pg_stat_statements'"),
        "1"
    );
    pg.psql("create table t (x int); insert into t values (42)");

    let old_pid = pg.postmaster_pid().unwrap();
    pg.kill9();
    assert!(!pid_alive(old_pid));
    assert!(pg.server_pids().is_empty());
    assert!(pg.try_psql("select 1").is_err());
    assert!(!pg.is_ready());

    let t1 = Instant::now();
    pg.start_again();
    eprintln!(
        "PostgreSQL {}: start_again after kill9 took {:?}",
        pg.major(),
        t1.elapsed()
    );
    assert_ne!(pg.postmaster_pid().unwrap(), old_pid);
    assert_eq!(pg.psql("select x from t"), "42");
    assert!(
        pg.log().contains("not properly shut down"),
        "expected crash recovery in the log:\n{}",
        pg.log()
    );

    pg.stop();
    assert!(!pg.is_ready());
    pg.start_again();
    assert_eq!(pg.psql("select 1"), "1");
}

/// The SysV interlock segment's id from postmaster.pid (7th line: key and id).
fn sysv_shmid(pg: &TempPostgres) -> Option<i32> {
    std::fs::read_to_string(pg.data_dir().join("postmaster.pid"))
        .ok()?
        .lines()
        .nth(6)?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn sysv_segment_exists(shmid: i32) -> bool {
    // SAFETY: IPC_STAT into a zeroed shmid_ds we own.
    unsafe {
        let mut ds: libc::shmid_ds = std::mem::zeroed();
        libc::shmctl(shmid, libc::IPC_STAT, &mut ds) == 0
    }
}

/// Drops `pg` (running or not) and checks that no process of it, its temp dir or its SysV
/// segment is left.
fn assert_drop_leaves_nothing_behind(pg: TempPostgres) {
    let root = pg.data_dir().parent().unwrap().to_path_buf();
    let pids = pg.server_pids();
    let postmaster = pg.postmaster_pid();
    let shmid = sysv_shmid(&pg);
    drop(pg);
    for pid in pids.into_iter().chain(postmaster) {
        assert!(!pid_alive(pid), "pid {pid} survived drop");
    }
    assert!(!root.exists(), "{} survived drop", root.display());
    if let Some(shmid) = shmid {
        assert!(
            !sysv_segment_exists(shmid),
            "SysV segment {shmid} survived drop"
        );
    }
}

/// Every major of PG_MATRIX, in parallel: the right server, pg_stat_statements,
/// pg_stat_checkpointer exactly on 17+, stop, start again, and a clean drop. Missing
/// binaries fail the test (TempPostgres::start_version says to run scripts/test.sh).
#[test]
fn temp_postgres_version_matrix() {
    let runs: Vec<_> = PG_MATRIX
        .iter()
        .map(|&major| {
            let handle = thread::Builder::new()
                .name(format!("pg{major}"))
                .spawn(move || check_pg_version(major))
                .unwrap();
            (major, handle)
        })
        .collect();
    let failed: Vec<String> = runs
        .into_iter()
        .filter_map(|(major, handle)| {
            let err = handle.join().err()?;
            let msg = err
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Some(format!("PostgreSQL {major}: {msg}"))
        })
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

fn check_pg_version(major: u32) {
    let t0 = Instant::now();
    let pg = TempPostgres::start_version(major);
    eprintln!(
        "PostgreSQL {major}: start_version took {:?} ({})",
        t0.elapsed(),
        pg.bin_dir().display()
    );
    assert_eq!(pg.major(), major);
    let num = pg.psql("show server_version_num");
    assert!(
        num.starts_with(&major.to_string()) && num.len() == 6,
        "server_version_num {num:?} is not PostgreSQL {major}"
    );
    assert_eq!(pg.server_version_num() / 10000, major);

    assert_eq!(
        pg.psql("show shared_preload_libraries"),
        "pg_stat_statements"
    );
    pg.psql("create table matrix_probe (x int); select count(*) from matrix_probe");
    let statements: u64 = pg
        .psql("select count(*) from pg_stat_statements")
        .parse()
        .unwrap();
    assert!(statements > 0, "pg_stat_statements is empty");

    let checkpointer = pg.try_psql("select count(*) from pg_stat_checkpointer");
    if major >= 17 {
        assert_eq!(checkpointer.as_deref(), Ok("1"));
    } else {
        let err = checkpointer.expect_err("pg_stat_checkpointer exists before 17");
        assert!(
            err.contains("pg_stat_checkpointer\" does not exist"),
            "unexpected error: {err}"
        );
    }

    pg.stop();
    assert!(!pg.is_ready());
    assert!(pg.server_pids().is_empty(), "{:?}", pg.server_pids());
    assert!(pg.postmaster_pid().is_none(), "postmaster.pid after stop");
    pg.start_again();
    assert_eq!(pg.psql("select count(*) from matrix_probe"), "0");
    assert!(pg.server_pids().len() > 1, "postmaster and children");
    assert_drop_leaves_nothing_behind(pg);
}

#[test]
fn temp_postgres_missing_version_fails_loudly() {
    assert!(!pg_version_available(99));
    for &major in PG_MATRIX {
        // Not a skip: a missing major fails temp_postgres_version_matrix.
        eprintln!(
            "PostgreSQL {major}: available = {}",
            pg_version_available(major)
        );
    }
    let Err(err) = std::panic::catch_unwind(|| TempPostgres::start_version(99)) else {
        panic!("start_version(99) did not panic");
    };
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("PostgreSQL 99 is not installed"), "{msg}");
    assert!(msg.contains("scripts/test.sh"), "{msg}");
}

#[test]
fn temp_postgres_drop_leaves_nothing_behind() {
    let pg = TempPostgres::start();
    let data = pg.data_dir().to_path_buf();
    let pids = pg.server_pids();
    assert!(pids.len() > 1, "postmaster and children: {pids:?}");
    drop(pg);
    for pid in pids {
        assert!(!pid_alive(pid), "pid {pid} survived drop");
    }
    assert!(!data.exists());
}

#[test]
fn temp_postgres_drop_cleans_up_even_on_panic() {
    let data = std::sync::Arc::new(std::sync::Mutex::new(None));
    let data2 = data.clone();
    let res = thread::spawn(move || {
        let pg = TempPostgres::start();
        *data2.lock().unwrap() = Some((pg.data_dir().to_path_buf(), pg.server_pids()));
        panic!("test panics while the server runs");
    })
    .join();
    assert!(res.is_err());
    let (dir, pids) = data.lock().unwrap().take().unwrap();
    assert!(!dir.exists());
    for pid in pids {
        assert!(!pid_alive(pid), "pid {pid} survived the panic");
    }
}

#[test]
fn temp_postgres_password_auth() {
    let pg = TempPostgres::start_with_password_auth("app", "s3cr'et pw");
    // The superuser still works over the unix socket.
    assert_eq!(pg.psql("select current_user"), "postgres");

    let tcp = |url: &str| {
        std::process::Command::new("psql")
            .args([url, "-XAtc", "select current_user"])
            .env_remove("PGPASSWORD")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let ok = tcp(&pg.url_with("app", "s3cr'et pw"));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "app");

    let bad = tcp(&pg.url_with("app", "wrong"));
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("password authentication failed"), "{err}");

    // No password over TCP fails too, also for postgres.
    let none = tcp(&pg.url());
    assert!(!none.status.success());
}

#[test]
fn temp_redis_stop_and_start_again() {
    let mut redis = TempRedis::start();
    assert_eq!(redis.cli(&["ping"]), "PONG");
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{}", redis.port()));
    redis.cli(&["set", "k", "v"]);
    assert_eq!(redis.cli(&["get", "k"]), "v");

    let port = redis.port();
    redis.stop();
    assert!(redis.try_cli(&["ping"]).is_err() || redis.cli(&["ping"]) != "PONG");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());

    redis.start_again();
    assert_eq!(redis.port(), port);
    assert_eq!(redis.cli(&["ping"]), "PONG");
    // Nothing is persisted.
    assert_eq!(redis.cli(&["exists", "k"]), "0");

    let pid = redis.pid().unwrap() as i32;
    drop(redis);
    assert!(!pid_alive(pid));
}

#[test]
fn temp_redis_with_password() {
    let redis = TempRedis::start_with_args(&["--requirepass", "hunter2"]);
    assert_eq!(redis.cli(&["ping"]), "PONG");
    assert_eq!(
        redis.url(),
        format!("redis://:hunter2@127.0.0.1:{}", redis.port())
    );
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &redis.port().to_string(), "ping"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("NOAUTH"));
}

#[test]
fn temp_prometheus_scrapes_itself() {
    let prom = TempPrometheus::start("self", &[TempPrometheus::SELF]);
    let answer = prom.wait_for(
        r#"up{job="self"}"#,
        |v| vector_samples(v).iter().any(|(_, value)| *value == 1.0),
        Duration::from_secs(30),
    );
    let samples = vector_samples(&answer);
    assert_eq!(samples.len(), 1);
    assert_eq!(samples[0].0["instance"], prom.addr());
    assert_eq!(prom.query_vector("vector(7)")[0].1, 7.0);
}

#[test]
fn http_get_against_prometheus() {
    let prom = TempPrometheus::start("self", &[]);
    let ready = http_get(&format!("{}/-/ready", prom.url()), &[]);
    assert_eq!(ready.status, 200);
    assert!(ready.header("Content-Length").is_some());

    let missing = http_get(&format!("{}/no/such/page", prom.url()), &[]);
    assert_eq!(missing.status, 404);

    // Prometheus's own /metrics is large, so Go's net/http sends it chunked.
    let metrics = http_get(
        &format!("{}/metrics", prom.url()),
        &[("Accept", "text/plain")],
    );
    assert_eq!(metrics.status, 200);
    assert_eq!(metrics.header("transfer-encoding"), Some("chunked"));
    let text = metrics.text();
    assert!(
        text.contains("# TYPE prometheus_build_info gauge"),
        "{text}"
    );
    assert!(text.ends_with('\n'));

    // Gzip is passed through undecoded.
    let gz = http_get(
        &format!("{}/metrics", prom.url()),
        &[("Accept-Encoding", "gzip")],
    );
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(&gz.body[..2], &[0x1f, 0x8b]);
}

/// A one-shot HTTP server: answers the first request with `response` and returns the
/// request head it read.
fn one_shot_server(response: &'static [u8]) -> (String, thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        let mut stream = stream;
        // Write in small pieces so the client has to cope with partial reads.
        for piece in response.chunks(7) {
            stream.write_all(piece).unwrap();
            stream.flush().unwrap();
        }
        head
    });
    (addr, handle)
}

#[test]
fn http_get_chunked_from_a_local_server() {
    let (addr, server) = one_shot_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n1;ext=1\r\n \r\nC\r\nworld, again\r\n0\r\nX-Trailer: 1\r\n\r\n",
    );
    let resp = http_get(&format!("http://{addr}/metrics?x=1"), &[("X-Test", "yes")]);
    let head = server.join().unwrap();
    assert!(head.starts_with("GET /metrics?x=1 HTTP/1.1\r\n"), "{head}");
    assert!(head.contains("Connection: close\r\n"), "{head}");
    assert!(head.contains("X-Test: yes\r\n"), "{head}");
    assert!(head.contains(&format!("Host: {addr}\r\n")), "{head}");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("CONTENT-TYPE"), Some("text/plain"));
    assert_eq!(resp.text(), "hello world, again");
}

#[test]
fn http_get_content_length_and_until_close() {
    let (addr, server) =
        one_shot_server(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown");
    let resp = http_get(&format!("http://{addr}/health"), &[]);
    server.join().unwrap();
    assert_eq!(resp.status, 503);
    assert_eq!(resp.text(), "down");

    let (addr, server) = one_shot_server(b"HTTP/1.0 200 OK\r\nX-A: b\r\n\r\nuntil close");
    let resp = http_get(&format!("http://{addr}/"), &[]);
    server.join().unwrap();
    assert_eq!(resp.text(), "until close");
    assert_eq!(resp.header("x-a"), Some("b"));

    // Nobody listening: an error, not a hang.
    let port = free_port();
    assert!(try_http_get(&format!("http://127.0.0.1:{port}/"), &[]).is_err());
}

#[test]
fn wait_until_panics_with_its_message() {
    let err = std::panic::catch_unwind(|| {
        wait_until(Duration::from_millis(100), "the impossible", || false)
    })
    .unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("the impossible"), "{msg}");
    let mut n = 0;
    wait_until(Duration::from_secs(5), "three calls", || {
        n += 1;
        n == 3
    });
}

#[test]
fn exporter_process_runs_the_binary() {
    // `--help` exits 0 both with today's stub and with the clap-based CLI.
    let mut p = ExporterProcess::builder()
        .no_listen_address()
        .arg("--help")
        .spawn();
    assert!(exporter_bin().exists());
    let status = p
        .wait_exit(Duration::from_secs(20))
        .unwrap_or_else(|| panic!("--help did not exit; logs:\n{}", p.logs()));
    assert!(status.success(), "{status}; logs:\n{}", p.logs());
    assert_eq!(p.addr(), "");
    assert!(p.wait_healthy(Duration::from_secs(1)).is_err());
}

#[test]
fn temp_postgres_kill9_then_drop_leaves_nothing_behind() {
    let pg = TempPostgres::start();
    let shmid = sysv_shmid(&pg).expect("SysV segment id in postmaster.pid");
    pg.kill9();
    drop(pg);
    assert!(!sysv_segment_exists(shmid), "SysV segment {shmid} survived");
}

#[test]
fn netns_cut_makes_connects_hang_and_restore_brings_them_back() {
    use common::faults::Netns;
    use std::net::{SocketAddr, TcpStream};
    let netns = Netns::create();
    let name = netns.name().to_owned();
    let pg = TempPostgres::start_in_netns(&netns);
    assert_eq!(
        pg.url(),
        format!(
            "postgresql://postgres@{}:{}/postgres",
            netns.addr(),
            pg.port()
        )
    );
    let addr: SocketAddr = format!("{}:{}", netns.addr(), pg.port()).parse().unwrap();
    TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("reachable");
    // Only inside the namespace: nothing listens on the host's loopback.
    assert!(TcpStream::connect(("127.0.0.1", pg.port())).is_err());

    netns.cut();
    let err = TcpStream::connect_timeout(&addr, Duration::from_millis(700))
        .expect_err("connected through a cut link");
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    // The unix socket does not go through the namespace's link.
    assert_eq!(pg.psql("select 1"), "1");

    netns.restore();
    TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("reachable again");
    assert!(!netns.pids().is_empty(), "the server runs inside");

    drop(pg);
    drop(netns);
    let listed = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&listed.stdout).contains(&name),
        "{name} left behind"
    );
}

#[test]
fn wrk_load_reports_answers_and_failures() {
    use common::faults::WrkLoad;
    use common::test_app::TestApp;
    let app = TestApp::start();
    app.set_route("/ok", 200, "text/plain", b"ok\n");
    app.set_route("/bad", 500, "text/plain", b"bad\n");
    let run = |url: String| {
        let wrk = WrkLoad::start(&url, Duration::from_secs(60));
        thread::sleep(Duration::from_secs(1));
        wrk.finish()
    };

    let ok = run(app.url("/ok"));
    ok.assert_answered();
    assert!(ok.p99 > Duration::ZERO && ok.p50 <= ok.p99, "{}", ok.raw);

    let bad = run(app.url("/bad"));
    assert!(
        bad.requests > 0 && bad.non_2xx == bad.requests,
        "{}",
        bad.raw
    );
    let caught = std::panic::catch_unwind(|| bad.assert_answered());
    assert!(caught.is_err(), "assert_answered passed:\n{}", bad.raw);
    // wrk gives up at once (exit 1) when its first connects are refused.
    let refused = std::panic::catch_unwind(|| run(format!("http://127.0.0.1:{}/", free_port())));
    assert!(refused.is_err(), "wrk ran against a closed port");
}

#[test]
fn process_counters_read_proc() {
    use common::faults::{open_fds, peak_rss_kb, rss_kb};
    // A child of our own: the fds of this process change as other tests run.
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    wait_until(Duration::from_secs(5), "sleep has exec'd", || {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
    });
    let listed = std::process::Command::new("ls")
        .arg(format!("/proc/{pid}/fd"))
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout).lines().count();
    assert!(listed >= 3, "stdin, stdout, stderr");
    assert_eq!(open_fds(pid), listed);
    assert!(rss_kb(pid) > 0 && peak_rss_kb(pid) >= rss_kb(pid));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(open_fds(pid), 0, "gone");
    assert_eq!(rss_kb(pid), 0);
}

// ---------------------------------------------------------------------------------------
// Real instrumented apps and the load client (common::real_apps)
// ---------------------------------------------------------------------------------------

fn panic_message(err: &(dyn std::any::Any + Send)) -> String {
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// The sum of the samples named `name` whose labels include all of `want` (0 when none).
fn sum_of(body: &str, name: &str, want: &[(&str, &str)]) -> f64 {
    samples(body)
        .iter()
        .filter(|(n, labels, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

/// Requests to /work in the app's own metrics: its route-labelled histogram's count for
/// /work, or, when requests are not labelled by route, every request the first
/// histogram counted (the tests send nothing else between two reads, and such a library
/// does not count /metrics).
fn work_requests(d: &LibraryDefaults, body: &str) -> f64 {
    match (d.route, d.route_histogram()) {
        (Some(route), Some(h)) => sum_of(
            body,
            &format!("{}_count", h.family),
            &[(route.name, route.work)],
        ),
        _ => {
            assert!(!d.metrics_counted, "{} counts /metrics", d.package);
            sum_of(body, &format!("{}_count", d.histograms[0].family), &[])
        }
    }
}

/// /work requests answered 500 in the app's own metrics.
fn work_500s(d: &LibraryDefaults, body: &str) -> f64 {
    let mut want = vec![(d.status_label, d.status_500)];
    // The counter has the route label wherever there is one; without a counter the
    // route-labelled histogram's _count, or the only histogram's.
    let name = match (d.requests_counter, d.route_histogram()) {
        (Some(counter), _) => counter.to_string(),
        (None, Some(h)) => format!("{}_count", h.family),
        (None, None) => format!("{}_count", d.histograms[0].family),
    };
    if let Some(route) = d.route {
        want.push((route.name, route.work));
    }
    sum_of(body, &name, &want)
}

#[test]
fn real_apps_fail_loudly_when_not_installed() {
    let empty = tempdir("stack-exporter-no-apps-");
    let prefix = empty.path();
    for (kind, names) in [
        (RealAppKind::FastApi, "venv/bin/python is missing"),
        (
            RealAppKind::PromClient,
            "missing packages express, prom-client",
        ),
    ] {
        let err = std::panic::catch_unwind(|| RealApp::start_with_prefix(kind, prefix))
            .err()
            .unwrap_or_else(|| panic!("{} started without its packages", kind.name()));
        let msg = panic_message(&*err);
        for want in [
            kind.name(),
            names,
            "scripts/test.sh",
            &prefix.display().to_string(),
        ] {
            assert!(msg.contains(want), "no {want:?} in: {msg}");
        }
    }
}

/// The defaults in real_apps.rs were read from these versions: a bump of a pin in
/// scripts/test.sh must come with a new reading of the library's source.
#[test]
fn real_app_packages_are_the_documented_versions() {
    let documented = RealAppKind::ALL
        .iter()
        .map(|k| (k.defaults().package, k.defaults().version))
        .chain(FRAMEWORK_VERSIONS.iter().copied());
    let wrong: Vec<String> = documented
        .filter_map(|(package, version)| {
            let installed = installed_version(package);
            (installed.as_deref() != Some(version))
                .then(|| format!("{package}: documented {version}, installed {installed:?}"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "run scripts/test.sh; if a pin changed, re-read the library's defaults and update \
         tests/common/real_apps.rs:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn real_app_fastapi() {
    check_real_app(RealAppKind::FastApi);
}

#[test]
fn real_app_express_prom_bundle() {
    check_real_app(RealAppKind::ExpressPromBundle);
}

#[test]
fn real_app_express_prom_bundle_readme_sample() {
    check_real_app(RealAppKind::ExpressPromBundleSample);
}

#[test]
fn real_app_django() {
    check_real_app(RealAppKind::Django);
}

#[test]
fn real_app_prom_client() {
    check_real_app(RealAppKind::PromClient);
}

/// One app against what real_apps.rs says of it: health and the control port, its own
/// gauges, the library's default families (labels, buckets), a 50 ms request in its
/// histograms, a 500 in its counts, whether /metrics counts itself, a short load whose
/// counts the app agrees with, and a drop that leaves no process or port behind.
fn check_real_app(kind: RealAppKind) {
    let t0 = Instant::now();
    let app = RealApp::start(kind);
    eprintln!("{}: started in {:?}", kind.name(), t0.elapsed());
    let d = kind.defaults();
    let name = kind.name();

    let health = app.get("/health");
    assert_eq!(health.status, 200, "{name}: {}", health.text());
    let json = health.json();
    assert_eq!(json["status"], "ok", "{name}: {json}");
    for (service, status, latency) in DEFAULT_SERVICES {
        assert_eq!(
            json["services"][service]["status"], *status,
            "{name}: {json}"
        );
        assert_eq!(
            json["services"][service]["latency_ms"].as_f64(),
            Some(*latency),
            "{name}: {json}"
        );
    }
    app.set_service("cache", "down", 250.0);
    let down = app.get("/health");
    assert_eq!(down.status, 503, "{name}: {}", down.text());
    let json = down.json();
    assert_eq!(json["status"], "degraded", "{name}: {json}");
    assert_eq!(
        json["services"]["cache"]["status"], "down",
        "{name}: {json}"
    );
    assert_eq!(
        json["services"]["cache"]["latency_ms"].as_f64(),
        Some(250.0)
    );
    app.set_service("cache", "up", 1.0);
    assert_eq!(app.get("/health").status, 200, "{name}: cache back up");

    // Labelled series appear with their first observation.
    let (ok, _) = app.work(0, 200);
    assert_eq!(ok.status, 200, "{name}: {}", ok.text());
    assert_eq!(ok.json()["status"], 200, "{name}: {}", ok.text());

    let body = app.metrics();
    for (gauge, value) in APP_GAUGES {
        assert_eq!(
            sample_value(&body, &format!("{gauge} ")),
            Some(*value),
            "{name}: {gauge}\n{body}"
        );
    }
    app.set_gauge("app_db_write_queue_depth", 31.5);
    assert_eq!(
        sample_value(&app.metrics(), "app_db_write_queue_depth "),
        Some(31.5),
        "{name}"
    );

    for h in d.histograms {
        assert!(
            body.contains(&format!("# TYPE {} histogram\n", h.family)),
            "{name}: no histogram {}\n{body}",
            h.family
        );
        assert_eq!(
            histogram_label_names(&body, h.family),
            h.labels,
            "{name}: labels of {}",
            h.family
        );
        let bounds: Vec<f64> = histogram(&body, h.family, &[])
            .unwrap()
            .buckets
            .iter()
            .map(|(le, _)| *le)
            .collect();
        let mut want = h.buckets.to_vec();
        want.push(f64::INFINITY);
        assert_eq!(bounds, want, "{name}: buckets of {}", h.family);
    }
    if let Some(counter) = d.requests_counter {
        let labels = series_labels(&body);
        let labels = labels
            .get(counter)
            .unwrap_or_else(|| panic!("{name}: no {counter}\n{body}"));
        assert!(labels.contains(d.status_label), "{name}: {labels:?}");
        assert!(labels.contains(d.route.unwrap().name), "{name}: {labels:?}");
    }

    // /metrics counts itself (or not): nothing else reaches the app between two reads.
    let first = d.histograms[0].family;
    let a = histogram(&app.metrics(), first, &[]).unwrap();
    let between = app.metrics();
    let b = histogram(&between, first, &[]).unwrap();
    let metrics_seen = if d.metrics_counted { 1.0 } else { 0.0 };
    assert_eq!(
        b.count - a.count,
        metrics_seen,
        "{name}: /metrics in {first}"
    );
    if let (Some(route), Some(h)) = (d.route, d.route_histogram()) {
        let metrics_series = histogram(&between, h.family, &[(route.name, route.metrics)]);
        assert_eq!(
            metrics_series.is_some(),
            d.metrics_counted,
            "{name}: {route:?}"
        );
        assert!(
            histogram(&between, h.family, &[(route.name, route.health)]).is_some(),
            "{name}: /health in {}",
            h.family
        );
    }

    // A 50 ms request: at least 50 ms client-side, and in the app's histograms above
    // every bound below 50 ms.
    let work_filter = |h: &HistogramDefaults| -> Vec<(&str, &str)> {
        match d.route {
            Some(route) if h.labels.contains(&route.name) => vec![(route.name, route.work)],
            _ => vec![],
        }
    };
    let snapshots = |body: &str| -> Vec<HistogramSnapshot> {
        d.histograms
            .iter()
            .map(|h| histogram(body, h.family, &work_filter(h)).unwrap())
            .collect()
    };
    let before = snapshots(&app.metrics());
    let (resp, latency) = app.work(50, 200);
    assert_eq!(resp.status, 200, "{name}: {}", resp.text());
    assert!(latency >= Duration::from_millis(50), "{name}: {latency:?}");
    let after = snapshots(&app.metrics());
    for ((h, before), after) in d.histograms.iter().zip(&before).zip(&after) {
        let delta = after.since(before);
        // Histograms not labelled by route also hold the `before` read of /metrics.
        let others = if work_filter(h).is_empty() {
            metrics_seen
        } else {
            0.0
        };
        let what = format!("{name}: {} after a 50 ms request ({latency:?})", h.family);
        assert_eq!(delta.count, 1.0 + others, "{what}: {delta:?}");
        assert!(delta.sum >= 0.05, "{what}: {delta:?}");
        // The servers stop their timer once the response is handed to the kernel: by
        // then the client may already have it, so allow a little past its latency.
        if others == 0.0 {
            assert!(
                delta.sum <= latency.as_secs_f64() + 0.01,
                "{what}: {delta:?}"
            );
        }
        for (le, n) in &delta.buckets {
            if *le < 0.05 {
                assert!(*n <= others, "{what}: le={le} got it: {delta:?}");
            } else if *le >= latency.as_secs_f64() {
                assert!(*n >= 1.0, "{what}: le={le} missed it: {delta:?}");
            }
        }
    }

    // A 500 is counted as one, under the library's status label and value.
    let before = work_500s(d, &app.metrics());
    let (resp, _) = app.work(0, 500);
    assert_eq!(resp.status, 500, "{name}: {}", resp.text());
    let after = work_500s(d, &app.metrics());
    assert_eq!(
        after - before,
        1.0,
        "{name}: {}={} for /work",
        d.status_label,
        d.status_500
    );

    // A short load: the app counts what the client sent.
    let spec = LoadSpec::new(20.0, Duration::from_secs(2))
        .class(0.95, 5, 200)
        .class(0.05, 5, 500);
    let before = app.metrics();
    let report = drive(&app, spec);
    let after = app.metrics();
    eprintln!("{name}: {}", report.summary());
    assert_eq!(report.count(), 40, "{name}: {}", report.summary());
    assert_eq!(report.failed(), 0, "{name}: {}", report.summary());
    assert_eq!(report.count_status(500), 2, "{name}: {}", report.summary());
    assert_eq!(report.error_share(), 0.05, "{name}: {}", report.summary());
    assert_eq!(
        work_requests(d, &after) - work_requests(d, &before),
        40.0,
        "{name}: /work requests the app counted"
    );
    assert_eq!(
        work_500s(d, &after) - work_500s(d, &before),
        2.0,
        "{name}: 500s the app counted"
    );

    let pid = app.pid().unwrap() as i32;
    let port = app.port();
    drop(app);
    assert!(
        !group_alive(pid),
        "{name}: process group {pid} survived drop"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "{name}: port {port} still open"
    );
}

/// 80 % at 5 ms and 20 % at 200 ms: the p95 (rank 190 of 200) is a 200 ms request, the
/// p50 a 5 ms one, and the app's own histogram agrees on the split. Then a stop ends a
/// long run early.
#[test]
fn real_app_load_client_quantiles_for_a_known_mix() {
    let app = RealApp::start(RealAppKind::PromClient);
    let d = app.defaults();
    let h = d.route_histogram().unwrap();
    let route = d.route.unwrap();
    let spec = LoadSpec::new(40.0, Duration::from_secs(5))
        .class(0.8, 5, 200)
        .class(0.2, 200, 200);
    let before = histogram(&app.metrics(), h.family, &[(route.name, route.work)]);
    let report = drive(&app, spec.clone());
    let after = histogram(&app.metrics(), h.family, &[(route.name, route.work)]).unwrap();
    let summary = report.summary();
    eprintln!("{summary}");

    assert_eq!(report.count(), 200, "{summary}");
    assert_eq!(report.failed(), 0, "{summary}");
    assert_eq!(report.count_class(0), 160, "{summary}");
    assert_eq!(report.count_class(1), 40, "{summary}");
    assert!(
        report.elapsed >= Duration::from_secs_f64(199.0 / 40.0)
            && report.elapsed < spec.duration + Duration::from_millis(1500),
        "{summary}"
    );
    assert!(report.max_lag() < Duration::from_millis(500), "{summary}");

    let fast_max = report.class_quantile(0, 1.0);
    let slow_min = report
        .records
        .iter()
        .filter(|r| r.class == 1)
        .map(|r| r.latency)
        .min()
        .unwrap();
    assert!(
        fast_max < slow_min,
        "a 5 ms request took {fast_max:?}: {summary}"
    );
    assert!(slow_min >= Duration::from_millis(200), "{summary}");
    // Rank 190 is the 30th of the 40 slow requests, rank 100 the 100th fast one.
    assert_eq!(
        report.p95(),
        report.class_quantile(1, 30.0 / 40.0),
        "{summary}"
    );
    assert_eq!(
        report.p50(),
        report.class_quantile(0, 100.0 / 160.0),
        "{summary}"
    );
    assert!(report.p95() < Duration::from_millis(600), "{summary}");
    assert!(report.p50() >= Duration::from_millis(5), "{summary}");
    assert!(report.p50() < Duration::from_millis(100), "{summary}");
    assert!(report.p99() >= report.p95(), "{summary}");

    let delta = match before {
        Some(before) => after.since(&before),
        None => after,
    };
    assert_eq!(delta.count, 200.0, "{delta:?}");
    assert_eq!(
        delta.bucket(0.1),
        160.0,
        "5 ms requests under 0.1 s: {delta:?}"
    );
    assert_eq!(delta.bucket(0.05), 160.0, "{delta:?}");

    let load = Load::start(
        &app.url(),
        LoadSpec::new(20.0, Duration::from_secs(60)).class(1.0, 0, 200),
    );
    thread::sleep(Duration::from_secs(1));
    let stopped = load.stop();
    let summary = stopped.summary();
    assert!(
        (15..=30).contains(&stopped.count()),
        "one second at 20/s: {summary}"
    );
    assert!(stopped.elapsed < Duration::from_secs(3), "{summary}");
    assert_eq!(stopped.failed(), 0, "{summary}");
}

/// The interleaving holds every share to within one request at every point of the run.
#[test]
fn real_app_load_schedule_keeps_the_shares_everywhere() {
    let spec = LoadSpec::new(10.0, Duration::from_secs(10))
        .class(0.95, 5, 200)
        .class(0.05, 5, 500);
    let schedule = spec.schedule();
    assert_eq!(schedule.len(), 100);
    assert_eq!(schedule.iter().filter(|&&c| c == 1).count(), 5);
    // Shares need not add up to 1.
    let weights = LoadSpec::new(7.0, Duration::from_secs(10))
        .class(3.0, 5, 200)
        .class(1.0, 200, 200)
        .class(1.0, 0, 503);
    let schedule = weights.schedule();
    assert_eq!(schedule.len(), 70);
    let shares = [0.6, 0.2, 0.2];
    let mut sent = [0usize; 3];
    for (i, &class) in schedule.iter().enumerate() {
        sent[class] += 1;
        for (c, share) in shares.iter().enumerate() {
            let drift = sent[c] as f64 - share * (i + 1) as f64;
            assert!(
                drift.abs() < 1.0,
                "class {c} after {} requests: {sent:?}",
                i + 1
            );
        }
    }
    assert_eq!(sent, [42, 14, 14]);
    // Enough threads for 40/s of 200 ms requests (10 in flight), with room.
    assert!(
        LoadSpec::new(40.0, Duration::from_secs(1))
            .class(1.0, 200, 200)
            .thread_count()
            >= 20
    );
}

/// Nearest rank, on latencies 1..=N ms given out of order, with failures left out.
#[test]
fn real_app_load_report_quantiles_by_nearest_rank() {
    let spec = LoadSpec::new(1.0, Duration::from_secs(1)).class(1.0, 0, 200);
    let record = |index: usize, ms: u64, status: Option<u16>| RequestRecord {
        index,
        class: 0,
        due: Duration::ZERO,
        sent: Duration::ZERO,
        latency: Duration::from_millis(ms),
        status,
        error: status.is_none().then(|| "refused".to_string()),
    };
    let mut records: Vec<RequestRecord> = (1..=100u64)
        .rev()
        .map(|ms| record(ms as usize, ms, Some(if ms % 20 == 0 { 500 } else { 200 })))
        .collect();
    records.push(record(0, 5000, None));
    let report = LoadReport {
        spec,
        records,
        elapsed: Duration::from_secs(2),
    };
    assert_eq!(report.count(), 101);
    assert_eq!(report.answered(), 100);
    assert_eq!(report.failed(), 1);
    assert_eq!(report.server_errors(), 5);
    assert_eq!(report.error_share(), 0.05);
    assert_eq!(report.p50(), Duration::from_millis(50));
    assert_eq!(report.p95(), Duration::from_millis(95));
    assert_eq!(report.p99(), Duration::from_millis(99));
    assert_eq!(report.quantile(1.0), Duration::from_millis(100));
    assert_eq!(report.quantile(0.001), Duration::from_millis(1));
    assert_eq!(report.quantile(0.951), Duration::from_millis(96));
    assert_eq!(report.rate(), 50.0);
    assert_eq!(report.by_status()[&500], 5);
}
