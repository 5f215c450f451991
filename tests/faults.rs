//! Faults injected into real backends while `wrk` loads `/metrics` (issue 8): PostgreSQL
//! SIGKILLed mid-poll (the postmaster, or only our backend), PostgreSQL up but refusing
//! connections (as while it starts up or recovers), PostgreSQL made unreachable by
//! cutting the link of the network namespace it runs in, Redis flushed and restarted,
//! and an app serving garbage, hanging, or new series on every scrape.
//!
//! Each test checks that `/metrics` answers every request throughout, that the health
//! metric reports the fault within one interval + timeout (plus slack for a loaded
//! 2-core machine) with the right `reason`, that recovery needs nobody, and that
//! afterwards the exporter holds as many fds, and as many connections on the server, as
//! before the fault.
//!
//! The tests take a lock so that they run one at a time: each one's wrk keeps a core
//! busy, and two of them beside two exporters and their servers would turn a 1 s poll
//! timeout into a lottery on a 2-core machine.

mod common;

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::faults::{
    exporter_backends, exporter_redis_clients, rss_kb, settled_fds, wait_count, wait_fds_back,
    Netns, WrkLoad,
};
use common::test_app::{many_series, TestApp, CLASSIC_CONTENT_TYPE};
use common::{
    metrics, sample_value, wait_for_value, wait_until, ExporterProcess, TempPostgres, TempRedis,
};

const INTERVAL_S: u64 = 2;
const TIMEOUT_S: u64 = 1;

/// One interval + timeout, plus slack for a loaded CI machine.
const FAULT_SEEN: Duration = Duration::from_secs(INTERVAL_S + TIMEOUT_S + 5);

/// How long fds and server-side connections may take to return to their baseline.
const SETTLE: Duration = Duration::from_secs(30);

/// wrk's upper bound; every test stops it long before.
const WRK_MAX: Duration = Duration::from_secs(600);

fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn defaults() -> String {
    format!("defaults: {{ interval: {INTERVAL_S}s, timeout: {TIMEOUT_S}s }}\n")
}

fn errors(exporter: &ExporterProcess, source: &str, kind: &str, reason: &str) -> f64 {
    sample_value(
        &metrics(exporter),
        &format!(
            "stack_exporter_source_errors_total{{source=\"{source}\",kind=\"{kind}\",reason=\"{reason}\"}}"
        ),
    )
    .unwrap_or(0.0)
}

fn wait_errors_above(
    exporter: &ExporterProcess,
    (source, kind, reason): (&str, &str, &str),
    before: f64,
) {
    wait_until(
        FAULT_SEEN,
        &format!("{source}: an error with reason {reason} counted"),
        || errors(exporter, source, kind, reason) > before,
    );
}

/// The exporter's steady fd count: the least over one interval and a bit, so that no
/// poll's short-lived socket is counted.
fn baseline_fds(exporter: &ExporterProcess) -> usize {
    settled_fds(
        exporter.pid(),
        Duration::from_millis(INTERVAL_S * 1000 + 500),
    )
}

/// How every fault ends: `/metrics` answered every request of the load, and the exporter
/// is back to its fds and to `connections` on the server (`what` counted by `count`).
fn assert_served_without_leaks(
    wrk: WrkLoad,
    exporter: &ExporterProcess,
    fds: usize,
    (what, connections, within): (&str, usize, Duration),
    count: impl FnMut() -> usize,
) {
    let report = wrk.finish();
    eprintln!("wrk: {}", report.summary());
    report.assert_answered();
    wait_fds_back(exporter.pid(), fds, SETTLE);
    wait_count(what, connections, within, count);
}

/// The pid of our backend while it runs the slow custom query.
fn our_busy_backend(pg: &TempPostgres) -> Option<i32> {
    pg.psql(
        "select pid from pg_stat_activity where application_name = 'stack_exporter' \
         and state = 'active' and query like '%pg_sleep%'",
    )
    .lines()
    .next()
    .and_then(|p| p.trim().parse().ok())
}

enum PgKill {
    Postmaster,
    OurBackend,
}

/// A PostgreSQL source whose every poll spends 0.6 s of its 1 s timeout in a custom query,
/// SIGKILLed while that query runs.
fn postgres_killed_mid_poll(kill: PgKill) {
    let _serial = one_at_a_time();
    let pg = TempPostgres::start();
    let exporter = ExporterProcess::start(
        &format!(
            "{}postgres:\n  - name: db\n    url: \"{}\"\n    custom_queries:\n      - \
             {{ name: fault_sleep, help: A poll that takes a while., sql: \"SELECT 1 AS done \
             FROM pg_sleep(0.6)\", values: [ {{ column: done }} ] }}\n",
            defaults(),
            pg.url()
        ),
        &[],
    );
    wait_for_value(&exporter, "pg_up{source=\"db\"}", 1.0, FAULT_SEEN);
    wait_for_value(
        &exporter,
        "fault_sleep_done{source=\"db\"}",
        1.0,
        FAULT_SEEN,
    );
    let fds = baseline_fds(&exporter);
    let backends = exporter_backends(&pg);
    assert_eq!(backends, 1, "one connection per PostgreSQL source");
    let connect_errors = errors(&exporter, "db", "postgres", "connect");

    let wrk = WrkLoad::start(&format!("{}/metrics", exporter.url()), WRK_MAX);
    let mut busy = None;
    wait_until(Duration::from_secs(10), "our poll running pg_sleep", || {
        busy = our_busy_backend(&pg);
        busy.is_some()
    });
    match kill {
        PgKill::Postmaster => pg.kill9(),
        PgKill::OurBackend => {
            // The postmaster then ends every other backend and reinitialises (crash
            // recovery), all by itself.
            let pid = busy.expect("a busy backend");
            // SAFETY: kill(2) on a backend of the server this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    // The poll in flight loses its connection: reported at once, not at the timeout.
    wait_for_value(&exporter, "pg_up{source=\"db\"}", 0.0, FAULT_SEEN);
    wait_errors_above(&exporter, ("db", "postgres", "connect"), connect_errors);
    let body = metrics(&exporter);
    assert_eq!(
        sample_value(
            &body,
            "stack_exporter_source_up{source=\"db\",kind=\"postgres\"}"
        ),
        Some(0.0),
        "{body}"
    );
    assert!(!body.contains("fault_sleep_done{"), "stale values: {body}");

    if let PgKill::Postmaster = kill {
        pg.start_again();
    }
    let back = Instant::now();
    // Connect failures back off 1 s, 2 s, ... capped at the interval.
    wait_for_value(&exporter, "pg_up{source=\"db\"}", 1.0, FAULT_SEEN);
    wait_for_value(
        &exporter,
        "fault_sleep_done{source=\"db\"}",
        1.0,
        FAULT_SEEN,
    );
    eprintln!("recovered {:?} after the server was back", back.elapsed());
    assert_served_without_leaks(
        wrk,
        &exporter,
        fds,
        ("the exporter's backends on PostgreSQL", backends, SETTLE),
        || exporter_backends(&pg),
    );
}

#[test]
fn postgres_postmaster_sigkilled_mid_poll_is_reported_and_recovers_without_leaks() {
    postgres_killed_mid_poll(PgKill::Postmaster);
}

#[test]
fn postgres_backend_sigkilled_mid_poll_is_reported_and_recovers_without_leaks() {
    postgres_killed_mid_poll(PgKill::OurBackend);
}

#[test]
fn postgres_refusing_connections_while_it_starts_up_is_a_connect_failure() {
    let _serial = one_at_a_time();
    let pg = TempPostgres::start();
    let exporter = ExporterProcess::start(
        &format!(
            "{}postgres: [ {{ name: db, url: \"{}\" }} ]\n",
            defaults(),
            pg.url()
        ),
        &[],
    );
    wait_for_value(&exporter, "pg_up{source=\"db\"}", 1.0, FAULT_SEEN);
    let fds = baseline_fds(&exporter);
    let backends = exporter_backends(&pg);
    let connects = errors(&exporter, "db", "postgres", "connect");
    let queries = errors(&exporter, "db", "postgres", "query");

    let wrk = WrkLoad::start(&format!("{}/metrics", exporter.url()), WRK_MAX);
    // Shut down, then up but refusing connections (57P03), as during crash recovery.
    pg.restart_refusing_connections();
    wait_for_value(&exporter, "pg_up{source=\"db\"}", 0.0, FAULT_SEEN);
    wait_until(FAULT_SEEN, "a refused connection counted", || {
        errors(&exporter, "db", "postgres", "connect") >= connects + 2.0
    });
    let page = exporter.get("/").text();
    assert!(page.contains("not accepting connections"), "{page}");
    assert_eq!(
        errors(&exporter, "db", "postgres", "query"),
        queries,
        "a server that is not accepting connections is not a failed query: {page}"
    );

    pg.restart_accepting_connections();
    wait_for_value(&exporter, "pg_up{source=\"db\"}", 1.0, FAULT_SEEN);
    assert_served_without_leaks(
        wrk,
        &exporter,
        fds,
        ("the exporter's backends on PostgreSQL", backends, SETTLE),
        || exporter_backends(&pg),
    );
}

#[test]
fn postgres_unreachable_times_out_recovers_and_leaves_no_orphaned_backend() {
    let _serial = one_at_a_time();
    let netns = Netns::create();
    // Declared after the namespace, so dropped (stopped) before it.
    let pg = TempPostgres::start_in_netns(&netns);
    let exporter = ExporterProcess::start(
        &format!(
            "{}postgres: [ {{ name: db, url: \"{}\" }} ]\n",
            defaults(),
            pg.url()
        ),
        &[],
    );
    wait_for_value(&exporter, "pg_up{source=\"db\"}", 1.0, FAULT_SEEN);
    let fds = baseline_fds(&exporter);
    let backends = exporter_backends(&pg);
    assert_eq!(backends, 1, "one connection per PostgreSQL source");
    let timeouts = errors(&exporter, "db", "postgres", "timeout");
    let connects = errors(&exporter, "db", "postgres", "connect");

    let wrk = WrkLoad::start(&format!("{}/metrics", exporter.url()), WRK_MAX);
    netns.cut();
    let cut = Instant::now();
    // The open connection hangs: the poll is cut off at its timeout.
    wait_for_value(&exporter, "pg_up{source=\"db\"}", 0.0, FAULT_SEEN);
    wait_errors_above(&exporter, ("db", "postgres", "timeout"), timeouts);
    eprintln!("reported {:?} after the cut", cut.elapsed());
    // Then new connects hang too: a few more polls, each a timeout, never a refusal.
    let during = errors(&exporter, "db", "postgres", "timeout");
    wait_until(
        Duration::from_secs(3 * (INTERVAL_S + TIMEOUT_S) + 5),
        "two more timeouts while cut off",
        || errors(&exporter, "db", "postgres", "timeout") >= during + 2.0,
    );
    assert_eq!(
        errors(&exporter, "db", "postgres", "connect"),
        connects,
        "a connect that hangs is a timeout, not a refused connection: {}",
        exporter.get("/").text()
    );
    let body = metrics(&exporter);
    assert_eq!(sample_value(&body, "pg_up{source=\"db\"}"), Some(0.0));
    // The old backend still waits for us on the other side of the cut.
    assert!(exporter_backends(&pg) >= 1);

    netns.restore();
    let back = Instant::now();
    wait_for_value(&exporter, "pg_up{source=\"db\"}", 1.0, FAULT_SEEN);
    eprintln!("recovered {:?} after the link was back", back.elapsed());
    // The abandoned connection's FIN is retransmitted until the link is back; the backend
    // then sees it and exits, leaving only the new connection.
    assert_served_without_leaks(
        wrk,
        &exporter,
        fds,
        (
            "the exporter's backends on PostgreSQL after the link came back",
            backends,
            Duration::from_secs(90),
        ),
        || exporter_backends(&pg),
    );
    eprintln!("orphans gone {:?} after the link was back", back.elapsed());
}

#[test]
fn redis_flushed_then_restarted_is_reported_and_recovers_with_one_client() {
    let _serial = one_at_a_time();
    let mut redis = TempRedis::start();
    for key in ["a", "b", "c"] {
        redis.cli(&["SET", key, "1"]);
    }
    redis.cli(&["-n", "3", "RPUSH", "queue:mail", "x", "y"]);
    redis.cli(&["-n", "3", "SET", "lock", "1"]);
    let exporter = ExporterProcess::start(
        &format!(
            "{}redis:\n  - name: cache\n    url: \"{}\"\n    check_keys: [\"3:queue:*\"]\n",
            defaults(),
            redis.url()
        ),
        &[],
    );
    let db_keys = |db: &str| {
        sample_value(
            &metrics(&exporter),
            &format!("redis_db_keys{{source=\"cache\",db=\"{db}\"}}"),
        )
    };
    let queue_len = || {
        sample_value(
            &metrics(&exporter),
            "redis_key_size{source=\"cache\",db=\"db3\",key=\"queue:mail\"}",
        )
    };
    wait_until(FAULT_SEEN, "keys counted in db0 and db3", || {
        db_keys("db0") == Some(3.0) && db_keys("db3") == Some(2.0) && queue_len() == Some(2.0)
    });
    let fds = baseline_fds(&exporter);
    let clients = exporter_redis_clients(&redis);
    assert_eq!(clients, 1, "one connection per Redis source");
    let connect_errors = errors(&exporter, "cache", "redis", "connect");

    let wrk = WrkLoad::start(&format!("{}/metrics", exporter.url()), WRK_MAX);
    // Flushed under the running exporter: the counts drop, the source stays up.
    redis.cli(&["FLUSHALL"]);
    wait_until(FAULT_SEEN, "key counts drop to 0 after FLUSHALL", || {
        db_keys("db0") == Some(0.0) && db_keys("db3") == Some(0.0) && queue_len().is_none()
    });
    assert_eq!(
        sample_value(&metrics(&exporter), "redis_up{source=\"cache\"}"),
        Some(1.0)
    );

    redis.stop();
    wait_for_value(&exporter, "redis_up{source=\"cache\"}", 0.0, FAULT_SEEN);
    wait_errors_above(&exporter, ("cache", "redis", "connect"), connect_errors);
    redis.start_again();
    wait_for_value(&exporter, "redis_up{source=\"cache\"}", 1.0, FAULT_SEEN);
    // The new connection reads db 3 again (key checks SELECT it and back).
    redis.cli(&["-n", "3", "RPUSH", "queue:mail", "z"]);
    wait_until(FAULT_SEEN, "db3 counted on the new connection", || {
        db_keys("db3") == Some(1.0) && queue_len() == Some(1.0) && db_keys("db0") == Some(0.0)
    });
    assert_served_without_leaks(
        wrk,
        &exporter,
        fds,
        ("the exporter's clients on Redis", clients, SETTLE),
        || exporter_redis_clients(&redis),
    );
}

/// An app exposing `app_many_series` at `/app-metrics`, and an exporter scraping it.
fn app_and_exporter(extra: &str) -> (TestApp, ExporterProcess) {
    let app = TestApp::start();
    serve_good_body(&app);
    let exporter = ExporterProcess::start(
        &format!(
            "{}apps:\n  - name: api\n    metrics_url: \"{}\"\n{extra}",
            defaults(),
            app.url("/app-metrics")
        ),
        &[],
    );
    wait_for_value(
        &exporter,
        "stack_exporter_source_up{source=\"api\",kind=\"app\"}",
        1.0,
        FAULT_SEEN,
    );
    (app, exporter)
}

fn serve_good_body(app: &TestApp) {
    app.set_route(
        "/app-metrics",
        200,
        CLASSIC_CONTENT_TYPE,
        many_series(10).as_bytes(),
    );
}

/// Runs `fault` on the app under load and checks it is reported with `reason`, then
/// served good again and recovered, with nothing left open.
fn app_fault(reason: &str, fault: impl Fn(&TestApp)) {
    let _serial = one_at_a_time();
    let (app, exporter) = app_and_exporter("");
    let up = "stack_exporter_source_up{source=\"api\",kind=\"app\"}";
    let fds = baseline_fds(&exporter);
    let before = errors(&exporter, "api", "app", reason);

    let wrk = WrkLoad::start(&format!("{}/metrics", exporter.url()), WRK_MAX);
    fault(&app);
    wait_for_value(&exporter, up, 0.0, FAULT_SEEN);
    wait_errors_above(&exporter, ("api", "app", reason), before);
    let body = metrics(&exporter);
    assert!(
        !body.contains("app_many_series{"),
        "a failed scrape serves none of the app's series: {body}"
    );
    // Two more failed polls: each one's connection is closed, none piles up.
    let failed = errors(&exporter, "api", "app", reason);
    wait_until(
        Duration::from_secs(2 * (INTERVAL_S + TIMEOUT_S) + 5),
        "two more failed polls",
        || errors(&exporter, "api", "app", reason) >= failed + 2.0,
    );
    assert!(
        app.open_connections() <= 1,
        "{} connections open on the app",
        app.open_connections()
    );

    serve_good_body(&app);
    wait_for_value(&exporter, up, 1.0, FAULT_SEEN);
    assert!(metrics(&exporter).contains("app_many_series{"));
    assert_served_without_leaks(
        wrk,
        &exporter,
        fds,
        ("connections open on the app", 0, SETTLE),
        || app.open_connections(),
    );
}

#[test]
fn app_serving_garbage_is_reported_and_recovers_without_leaks() {
    app_fault("protocol", |app| {
        app.set_route(
            "/app-metrics",
            200,
            CLASSIC_CONTENT_TYPE,
            b"<html>502 Bad Gateway</html>\n{\"not\": \"metrics\"}\napp_x{ 1\n",
        )
    });
}

#[test]
fn app_hanging_times_out_and_recovers_without_leaks() {
    app_fault("timeout", |app| app.set_hanging_route("/app-metrics"));
}

#[test]
fn app_with_100k_new_series_every_poll_keeps_one_polls_worth_and_steady_memory() {
    const SERIES: usize = 100_000;
    let _serial = one_at_a_time();
    let app = TestApp::start();
    app.set_churning_route("/churn", SERIES);
    // Polls of 100k series in a debug build on a busy machine need more than 1 s.
    let exporter = ExporterProcess::start(
        &format!(
            "apps:\n  - name: churn\n    interval: 3s\n    timeout: 2500ms\n    metrics_url: \"{}\"\n    \
             scrape: {{ sample_limit: 200000, max_body_size: 64MiB }}\n",
            app.url("/churn")
        ),
        &[],
    );
    let pid = exporter.pid();
    let churn_series = |body: &str| -> (usize, std::collections::BTreeSet<String>) {
        let mut generations = std::collections::BTreeSet::new();
        let mut n = 0;
        for line in body.lines().filter(|l| l.starts_with("app_churn_series{")) {
            n += 1;
            if let Some(g) = line
                .split("generation=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
            {
                generations.insert(g.to_owned());
            }
        }
        (n, generations)
    };
    let generation_at_least = |want: u64| {
        wait_until(
            Duration::from_secs(3 * 3 * want.max(4)),
            &format!("generation {want} served"),
            || {
                let (_, g) = churn_series(&metrics(&exporter));
                g.iter()
                    .next()
                    .and_then(|g| g.parse::<u64>().ok())
                    .is_some_and(|g| g >= want)
            },
        )
    };
    let wrk = WrkLoad::start(&format!("{}/metrics", exporter.url()), WRK_MAX);
    generation_at_least(3);
    let rss_early = rss_kb(pid);
    // wrk's four connections are open in both counts.
    let fds_early = settled_fds(pid, Duration::from_secs(4));
    generation_at_least(10);
    let rss_late = rss_kb(pid);
    let fds_late = settled_fds(pid, Duration::from_secs(4));
    let report = wrk.finish();

    let body = metrics(&exporter);
    let (n, generations) = churn_series(&body);
    assert_eq!(n, SERIES, "one poll's series, no more, no less");
    assert_eq!(
        generations.len(),
        1,
        "series of one poll only: {generations:?}"
    );
    let all = body.lines().filter(|l| !l.starts_with('#')).count();
    assert!(all < SERIES + 1000, "{all} series on /metrics");
    assert_eq!(
        sample_value(
            &body,
            "stack_exporter_source_up{source=\"churn\",kind=\"app\"}"
        ),
        Some(1.0)
    );
    eprintln!(
        "RSS after 3 polls {rss_early} kB, after 10 {rss_late} kB; fds {fds_early} -> {fds_late}; wrk: {}",
        report.summary()
    );
    // A leak bound, not a speed check: every poll's series are new, so anything kept
    // per series would grow by ~100k entries a poll.
    let bound = (rss_early * 3 / 2).max(rss_early + 40 * 1024);
    assert!(
        rss_late <= bound,
        "RSS grew from {rss_early} kB after 3 polls to {rss_late} kB after 10 (bound {bound} kB)"
    );
    assert!(fds_late <= fds_early, "fds {fds_early} -> {fds_late}");
    report.assert_answered();
}
