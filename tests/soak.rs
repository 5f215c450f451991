//! The soak of issue 8: the exporter polling a real PostgreSQL, Redis and app (every 2 s,
//! timeout 1 s) while a client scrapes `/metrics` 20 times a second, and each backend
//! goes down once a period (PostgreSQL from :05 to :15 of every minute, Redis :25–:35,
//! the app :45–:55 by default), by turns SIGKILLed or stopped (servers), hung or
//! answering 500 (the app).
//!
//! It checks that every scrape succeeded, that every outage was seen (its health metric
//! went to 0 and back to 1), and that once everything is back the exporter holds the fds
//! and the server connections it held at the start, with RSS within a leak bound. It
//! prints a Markdown row for BENCHMARKS.md (run with `--nocapture`).
//!
//! `STACK_EXPORTER_SOAK_SECONDS` sets the duration (default 120, the CI run);
//! `STACK_EXPORTER_SOAK_FLAP_SECONDS` the period (default 60). The full run:
//! `STACK_EXPORTER_SOAK_SECONDS=1800 cargo test --release --test soak -- --nocapture`.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::faults::{
    exporter_backends, exporter_redis_clients, peak_rss_kb, rss_kb, settled_fds, wait_count,
    wait_fds_back,
};
use common::test_app::{many_series, TestApp, CLASSIC_CONTENT_TYPE};
use common::{
    sample_value, try_http_get, wait_for_value, ExporterProcess, TempPostgres, TempRedis,
};

const SCRAPES_PER_SECOND: u32 = 20;
const INTERVAL_S: u64 = 2;
const TIMEOUT_S: u64 = 1;
/// One interval + timeout, plus slack for a loaded CI machine.
const FAULT_SEEN: Duration = Duration::from_secs(INTERVAL_S + TIMEOUT_S + 5);

const PG_UP: &str = "pg_up{source=\"db\"}";
const REDIS_UP: &str = "redis_up{source=\"cache\"}";
const APP_UP: &str = "stack_exporter_source_up{source=\"api\",kind=\"app\"}";

fn env_secs(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number of seconds")),
        Err(_) => default,
    }
}

/// One scrape: when (since the scraper started), whether it answered 200, how long it
/// took, and the three health values it served.
struct Scrape {
    at: Duration,
    ok: bool,
    latency: Duration,
    up: [Option<f64>; 3],
}

/// A client GETting `/metrics` at a fixed rate until told to stop.
struct Scraper {
    stop: Arc<AtomicBool>,
    handle: thread::JoinHandle<Vec<Scrape>>,
    started: Instant,
}

impl Scraper {
    fn start(url: String) -> Scraper {
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let flag = Arc::clone(&stop);
        let handle = thread::spawn(move || {
            let period = Duration::from_secs(1) / SCRAPES_PER_SECOND;
            let mut scrapes = Vec::new();
            let mut next = Instant::now();
            while !flag.load(Ordering::SeqCst) {
                let sent = Instant::now();
                let answer = try_http_get(&url, &[]);
                let latency = sent.elapsed();
                let (ok, up) = match answer {
                    Ok(r) if r.status == 200 => {
                        let body = r.text();
                        (
                            true,
                            [PG_UP, REDIS_UP, APP_UP].map(|p| sample_value(&body, p)),
                        )
                    }
                    _ => (false, [None; 3]),
                };
                scrapes.push(Scrape {
                    at: sent - started,
                    ok,
                    latency,
                    up,
                });
                // A fixed rate: a slow answer delays the next scrape, never doubles it up.
                next += period;
                let now = Instant::now();
                if next > now {
                    thread::sleep(next - now);
                } else {
                    next = now;
                }
            }
            scrapes
        });
        Scraper {
            stop,
            handle,
            started,
        }
    }

    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    fn finish(self) -> Vec<Scrape> {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().expect("the scraper thread")
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Backend {
    Postgres,
    Redis,
    App,
}

/// One outage: which backend, from when to when (since the scraper started), and which
/// of the two ways of taking it down (alternating per period).
#[derive(Clone, Copy, Debug)]
struct Flap {
    backend: Backend,
    down: Duration,
    up: Duration,
    variant: u64,
}

/// Every outage that fits in `duration`: in each period, PostgreSQL from 5/60 to 15/60 of
/// it, Redis 25/60–35/60, the app 45/60–55/60.
fn schedule(duration: Duration, period: Duration) -> Vec<Flap> {
    let mut flaps = Vec::new();
    let mut k = 0u64;
    loop {
        let base = period * k as u32;
        if base >= duration {
            break;
        }
        for (backend, from, to) in [
            (Backend::Postgres, 5, 15),
            (Backend::Redis, 25, 35),
            (Backend::App, 45, 55),
        ] {
            let flap = Flap {
                backend,
                down: base + period * from / 60,
                up: base + period * to / 60,
                variant: k % 2,
            };
            if flap.up <= duration {
                flaps.push(flap);
            }
        }
        k += 1;
    }
    flaps
}

fn serve_good_body(app: &TestApp) {
    app.set_route(
        "/app-metrics",
        200,
        CLASSIC_CONTENT_TYPE,
        many_series(100).as_bytes(),
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Whether `flap` was seen: its health value 0 in a scrape between the outage's start
/// and its end plus [`FAULT_SEEN`], then 1 in a later scrape before `until`.
fn seen(scrapes: &[Scrape], flap: &Flap, until: Duration) -> bool {
    let which = flap.backend as usize;
    let Some(zero) = scrapes
        .iter()
        .find(|s| s.at >= flap.down && s.at <= flap.up + FAULT_SEEN && s.up[which] == Some(0.0))
    else {
        return false;
    };
    scrapes
        .iter()
        .any(|s| s.at > zero.at && s.at < until && s.up[which] == Some(1.0))
}

#[test]
fn soak_scrapes_never_fail_while_backends_flap_and_nothing_leaks() {
    let duration = Duration::from_secs(env_secs("STACK_EXPORTER_SOAK_SECONDS", 120));
    let period = Duration::from_secs(env_secs("STACK_EXPORTER_SOAK_FLAP_SECONDS", 60));
    let flaps = schedule(duration, period);
    assert!(
        [Backend::Postgres, Backend::Redis, Backend::App]
            .iter()
            .all(|b| flaps.iter().any(|f| f.backend == *b)),
        "{duration:?} with a period of {period:?} flaps no backend at least once"
    );

    let pg = TempPostgres::start();
    let mut redis = TempRedis::start();
    redis.cli(&["RPUSH", "jobs", "a", "b"]);
    redis.cli(&["-n", "3", "SET", "lock", "1"]);
    let app = TestApp::start();
    serve_good_body(&app);
    let exporter = ExporterProcess::start(
        &format!(
            "defaults: {{ interval: {INTERVAL_S}s, timeout: {TIMEOUT_S}s }}\n\
             postgres: [ {{ name: db, url: \"{}\" }} ]\n\
             redis: [ {{ name: cache, url: \"{}\", check_keys: [\"jobs\", \"3:lock\"] }} ]\n\
             apps: [ {{ name: api, metrics_url: \"{}\" }} ]\n",
            pg.url(),
            redis.url(),
            app.url("/app-metrics")
        ),
        &[],
    );
    let pid = exporter.pid();
    for up in [PG_UP, REDIS_UP, APP_UP] {
        wait_for_value(&exporter, up, 1.0, FAULT_SEEN);
    }
    let fds_start = settled_fds(pid, Duration::from_millis(INTERVAL_S * 1000 + 500));
    let pg_start = exporter_backends(&pg);
    let redis_start = exporter_redis_clients(&redis);
    let rss_start = rss_kb(pid);

    let scraper = Scraper::start(format!("{}/metrics", exporter.url()));
    let mut events: Vec<(Duration, Flap, bool)> = flaps
        .iter()
        .flat_map(|f| [(f.down, *f, true), (f.up, *f, false)])
        .collect();
    events.sort_by_key(|(at, _, _)| *at);
    for (at, flap, going_down) in events {
        let now = scraper.elapsed();
        if at > now {
            thread::sleep(at - now);
        }
        match (flap.backend, going_down, flap.variant) {
            (Backend::Postgres, true, 0) => pg.kill9(),
            (Backend::Postgres, true, _) => pg.stop(),
            (Backend::Postgres, false, _) => pg.start_again(),
            (Backend::Redis, true, 0) => redis.stop(),
            (Backend::Redis, true, _) => redis.kill9(),
            (Backend::Redis, false, _) => redis.start_again(),
            (Backend::App, true, 0) => app.set_hanging_route("/app-metrics"),
            (Backend::App, true, _) => {
                app.set_route("/app-metrics", 500, "text/plain", b"internal error\n")
            }
            (Backend::App, false, _) => serve_good_body(&app),
        }
    }
    let now = scraper.elapsed();
    if duration > now {
        thread::sleep(duration - now);
    }
    // The last recovery is still watched by the scraper.
    for up in [PG_UP, REDIS_UP, APP_UP] {
        wait_for_value(&exporter, up, 1.0, FAULT_SEEN);
    }
    thread::sleep(Duration::from_secs(1));
    let scrapes = scraper.finish();
    let scraped_until = scrapes.last().map_or(Duration::ZERO, |s| s.at);

    // Settled: what the exporter holds is what it held at the start.
    wait_fds_back(pid, fds_start, Duration::from_secs(60));
    let fds_end = settled_fds(pid, Duration::from_millis(INTERVAL_S * 1000 + 500));
    wait_count(
        "the exporter's backends on PostgreSQL",
        pg_start,
        Duration::from_secs(60),
        || exporter_backends(&pg),
    );
    wait_count(
        "the exporter's clients on Redis",
        redis_start,
        Duration::from_secs(60),
        || exporter_redis_clients(&redis),
    );
    let pg_end = exporter_backends(&pg);
    let redis_end = exporter_redis_clients(&redis);
    let rss_end = rss_kb(pid);
    let rss_peak = peak_rss_kb(pid);

    // What the outages were counted as, for whoever reads the log.
    for line in common::metrics(&exporter)
        .lines()
        .filter(|l| l.starts_with("stack_exporter_source_errors_total{"))
    {
        eprintln!("{line}");
    }
    let failures = scrapes.iter().filter(|s| !s.ok).count();
    let mut latencies: Vec<Duration> = scrapes.iter().map(|s| s.latency).collect();
    latencies.sort();
    let missed: Vec<&Flap> = flaps
        .iter()
        .enumerate()
        .filter(|(i, f)| {
            let until = flaps[i + 1..]
                .iter()
                .find(|g| g.backend == f.backend)
                .map_or(scraped_until, |g| g.down);
            !seen(&scrapes, f, until)
        })
        .map(|(_, f)| f)
        .collect();
    let mb = |kb: u64| kb as f64 / 1024.0;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| duration | scrapes | failed | p50 | p99 | RSS start / end / peak | fds start / end | PG conns start / end | Redis clients start / end | flaps seen |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} s (flap every {} s) | {} | {failures} | {:.2} ms | {:.2} ms | {:.1} / {:.1} / {:.1} MiB | {fds_start} / {fds_end} | {pg_start} / {pg_end} | {redis_start} / {redis_end} | {} / {} |",
        duration.as_secs(),
        period.as_secs(),
        scrapes.len(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        mb(rss_start),
        mb(rss_end),
        mb(rss_peak),
        flaps.len() - missed.len(),
        flaps.len(),
    );

    assert_eq!(
        failures,
        0,
        "{failures} of {} scrapes failed",
        scrapes.len()
    );
    // At least 90% of the intended rate: the scraper really was scraping throughout.
    let expected = duration.as_secs() * u64::from(SCRAPES_PER_SECOND);
    assert!(
        scrapes.len() as u64 >= expected * 9 / 10,
        "{} scrapes, expected about {expected}",
        scrapes.len()
    );
    assert!(missed.is_empty(), "outages not seen: {missed:#?}");
    assert!(fds_end <= fds_start, "fds {fds_start} -> {fds_end}");
    assert_eq!(pg_end, pg_start);
    assert_eq!(redis_end, redis_start);
    let bound = rss_start * 3 / 2 + 16 * 1024;
    assert!(
        rss_end <= bound,
        "RSS {rss_start} kB at the start, {rss_end} kB at the end (bound {bound} kB)"
    );
}
