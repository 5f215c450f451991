//! Tests of the test harness itself (tests/common) against real servers.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

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
