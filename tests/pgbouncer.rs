//! The PgBouncer source against a real PgBouncer (Debian's, 1.18) in front of a throwaway
//! PostgreSQL, and the PostgreSQL source through PgBouncer's transaction pooling.

mod common;

use common::{metrics, samples, value, Samples};

use std::time::{Duration, Instant};

use common::pgbouncer_users::{ADMIN, APP, INTRUDER, STATS};
use common::{wait_until, ExporterProcess, TempPgBouncer, TempPostgres};

/// An exporter polling PgBouncer's console as `STATS` every second; the password comes
/// from a password_file.
fn console_exporter(bouncer: &TempPgBouncer, interval: &str, timeout: &str) -> ExporterProcess {
    let dir = common::tempdir("stack-exporter-pgb-secret-");
    let secret = dir.path().join("stats.pass");
    std::fs::write(&secret, format!("{}\n", STATS.1)).unwrap();
    let exporter = ExporterProcess::start(
        &format!(
            "pgbouncer:\n\
             \x20 - name: bouncer\n\
             \x20   url: \"{}\"\n\
             \x20   password_file: \"{}\"\n\
             \x20   interval: {interval}\n\
             \x20   timeout: {timeout}\n\
             \x20   labels: {{ tier: pooler }}\n",
            bouncer.console_url_without_password(STATS.0),
            secret.display()
        ),
        &[],
    );
    // The secret was read at start; the file may go.
    drop(dir);
    exporter
}

#[test]
fn console_metrics_with_labels_and_traffic_counted() {
    let pg = TempPostgres::start();
    let bouncer = TempPgBouncer::start(&pg);
    let exporter = console_exporter(&bouncer, "1s", "1s");
    wait_until(Duration::from_secs(10), "pgbouncer_up 1", || {
        value(
            &samples(&metrics(&exporter)),
            "pgbouncer_up",
            &[("source", "bouncer")],
        ) == Some(1.0)
    });
    // Open a pool for `postgres` so SHOW POOLS/STATS have an application row.
    bouncer.psql(APP, "postgres", "select 1");
    let mut s = Samples::new();
    wait_until(
        Duration::from_secs(10),
        "the postgres pool in SHOW POOLS",
        || {
            s = samples(&metrics(&exporter));
            value(
                &s,
                "pgbouncer_pools_server_idle_connections",
                &[("database", "postgres"), ("user", "postgres")],
            )
            .is_some()
        },
    );
    let body = metrics(&exporter);

    assert_eq!(
        value(
            &s,
            "pgbouncer_version_info",
            &[
                ("version", "PgBouncer 1.18.0"),
                ("source", "bouncer"),
                ("tier", "pooler")
            ]
        ),
        Some(1.0),
        "{body}"
    );
    for collector in ["version", "pools", "stats", "databases", "lists", "config"] {
        assert_eq!(
            value(
                &s,
                "pgbouncer_scrape_collector_success",
                &[("collector", collector)]
            ),
            Some(1.0),
            "{collector}: {body}"
        );
    }
    // SHOW POOLS, by database and user; the console itself is a pool too.
    for metric in [
        "pgbouncer_pools_client_active_connections",
        "pgbouncer_pools_client_waiting_connections",
        "pgbouncer_pools_client_active_cancel_connections",
        "pgbouncer_pools_client_waiting_cancel_connections",
        "pgbouncer_pools_server_active_connections",
        "pgbouncer_pools_server_active_cancel_connections",
        "pgbouncer_pools_server_being_canceled_connections",
        "pgbouncer_pools_server_idle_connections",
        "pgbouncer_pools_server_used_connections",
        "pgbouncer_pools_server_testing_connections",
        "pgbouncer_pools_server_login_connections",
        "pgbouncer_pools_client_maxwait_seconds",
    ] {
        assert!(
            value(
                &s,
                metric,
                &[
                    ("database", "pgbouncer"),
                    ("user", "pgbouncer"),
                    ("source", "bouncer")
                ]
            )
            .is_some(),
            "{metric}: {body}"
        );
    }
    // Our own console connection is the active client of the console pool.
    assert!(
        value(
            &s,
            "pgbouncer_pools_client_active_connections",
            &[("database", "pgbouncer")]
        )
        .unwrap()
            >= 1.0
    );
    // SHOW STATS_TOTALS, by database.
    for metric in [
        "pgbouncer_stats_totals_queries_pooled_total",
        "pgbouncer_stats_totals_queries_duration_seconds_total",
        "pgbouncer_stats_totals_client_wait_seconds_total",
        "pgbouncer_stats_totals_received_bytes_total",
        "pgbouncer_stats_totals_sent_bytes_total",
        "pgbouncer_stats_totals_sql_transactions_pooled_total",
        "pgbouncer_stats_totals_server_in_transaction_seconds_total",
    ] {
        assert!(
            value(&s, metric, &[("database", "postgres")]).is_some(),
            "{metric}: {body}"
        );
    }
    assert!(
        body.contains("# TYPE pgbouncer_stats_totals_queries_pooled_total counter"),
        "{body}"
    );
    // SHOW DATABASES: the wildcard entry's real database, and the console's entry.
    let console_db = [
        ("name", "pgbouncer"),
        ("database", "pgbouncer"),
        ("force_user", "pgbouncer"),
        ("pool_mode", "statement"),
        ("port", &*bouncer.port().to_string()),
    ];
    for metric in [
        "pgbouncer_databases_pool_size",
        "pgbouncer_databases_min_pool_size",
        "pgbouncer_databases_reserve_pool",
        "pgbouncer_databases_max_connections",
        "pgbouncer_databases_current_connections",
        "pgbouncer_databases_paused",
        "pgbouncer_databases_disabled",
    ] {
        assert!(value(&s, metric, &console_db).is_some(), "{metric}: {body}");
    }
    // The `postgres` entry was made from the `*` fallback when first used.
    assert_eq!(
        value(
            &s,
            "pgbouncer_databases_pool_size",
            &[
                ("name", "postgres"),
                ("host", "127.0.0.1"),
                ("port", &*pg.port().to_string())
            ]
        ),
        Some(20.0),
        "{body}"
    );
    // SHOW LISTS, under pgbouncer_exporter's names.
    for metric in [
        "pgbouncer_databases",
        "pgbouncer_users",
        "pgbouncer_pools",
        "pgbouncer_free_clients",
        "pgbouncer_used_clients",
        "pgbouncer_login_clients",
        "pgbouncer_free_servers",
        "pgbouncer_used_servers",
        "pgbouncer_cached_dns_names",
        "pgbouncer_cached_dns_zones",
        "pgbouncer_in_flight_dns_queries",
    ] {
        assert!(
            value(&s, metric, &[("source", "bouncer")]).is_some(),
            "{metric}: {body}"
        );
    }
    assert!(value(&s, "pgbouncer_pools", &[]).unwrap() >= 2.0, "{body}");
    assert_eq!(
        value(&s, "pgbouncer_config_max_client_connections", &[]),
        Some(100.0)
    );
    assert_eq!(
        value(&s, "pgbouncer_config_max_user_connections", &[]),
        Some(0.0)
    );

    // Traffic through the pooled port is counted.
    let queries = |s: &Samples| {
        value(
            s,
            "pgbouncer_stats_totals_queries_pooled_total",
            &[("database", "postgres")],
        )
        .unwrap_or(0.0)
    };
    let before = queries(&s);
    for i in 0..5 {
        bouncer.psql(APP, "postgres", &format!("select {i}"));
    }
    // The totals move once a stats_period (1 s here), the exporter polls every second.
    wait_until(
        Duration::from_secs(10),
        "queries_pooled_total to grow by 5",
        || queries(&samples(&metrics(&exporter))) >= before + 5.0,
    );

    // Our names pass promtool's lint.
    let body = metrics(&exporter);
    let findings: Vec<String> = common::promtool_findings(&body)
        .into_iter()
        .filter(|l| l.starts_with("pgbouncer_"))
        .collect();
    assert!(findings.is_empty(), "promtool: {findings:?}");
}

#[test]
fn postgres_source_through_transaction_pooling() {
    let pg = TempPostgres::start();
    pg.psql("CREATE DATABASE app");
    pg.psql_in(
        "app",
        "CREATE TABLE jobs (id int PRIMARY KEY); INSERT INTO jobs SELECT generate_series(1, 50); ANALYZE jobs",
    );
    let bouncer = TempPgBouncer::start(&pg);
    let dir = common::tempdir("stack-exporter-pgb-once-");
    let path = dir.path().join("config.yml");
    // Both sources in one exporter: the pooled PostgreSQL and the pooler's console.
    std::fs::write(
        &path,
        format!(
            "defaults: {{ interval: 10s, timeout: 8s }}\n\
             postgres: [ {{ name: pooled, url: \"{}\" }} ]\n\
             pgbouncer: [ {{ name: bouncer, url: \"{}\" }} ]\n",
            bouncer.url(APP, "postgres"),
            bouncer.url(ADMIN, "pgbouncer"),
        ),
    )
    .unwrap();
    let out = std::process::Command::new(common::exporter_bin())
        .args(["--once", "--config.file", path.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{stderr}\n{stdout}\n{}",
        bouncer.log()
    );
    let s = samples(&stdout);
    assert_eq!(
        value(&s, "pg_up", &[("source", "pooled")]),
        Some(1.0),
        "{stderr}"
    );
    assert_eq!(
        value(&s, "pgbouncer_up", &[("source", "bouncer")]),
        Some(1.0),
        "{stderr}"
    );
    let collectors: Vec<_> = s
        .iter()
        .filter(|(n, _, _)| n == "pg_scrape_collector_success")
        .collect();
    // Every default collector: the ten of postgres_exporter's kind plus timescaledb.
    assert_eq!(collectors.len(), 11, "{stdout}");
    for (_, labels, v) in collectors {
        assert_eq!(
            *v,
            1.0,
            "collector {labels:?} failed through PgBouncer:\n{stderr}\n{}",
            bouncer.log()
        );
    }
    // Per-database connections went through the pooler too (its `*` entry).
    assert_eq!(
        value(
            &s,
            "pg_stat_user_tables_n_live_tup",
            &[("datname", "app"), ("relname", "jobs")]
        ),
        Some(50.0),
        "{stdout}"
    );
    assert!(!stderr.contains(APP.1) && !stdout.contains(APP.1));
    assert!(!stderr.contains(ADMIN.1) && !stdout.contains(ADMIN.1));
}

#[test]
fn killed_pgbouncer_is_down_then_up_again() {
    let pg = TempPostgres::start();
    let mut bouncer = TempPgBouncer::start(&pg);
    let exporter = console_exporter(&bouncer, "1s", "500ms");
    let up = || value(&samples(&metrics(&exporter)), "pgbouncer_up", &[]);
    wait_until(Duration::from_secs(10), "pgbouncer_up 1", || {
        up() == Some(1.0)
    });

    bouncer.kill9();
    let killed = Instant::now();
    wait_until(Duration::from_secs(5), "pgbouncer_up 0", || {
        up() == Some(0.0)
    });
    // One interval for the next poll, one timeout for it to fail, and a scrape's slack.
    assert!(
        killed.elapsed() <= Duration::from_millis(1000 + 500 + 500),
        "pgbouncer_up 0 after {:?}",
        killed.elapsed()
    );
    let body = metrics(&exporter);
    assert!(
        !body.contains("pgbouncer_pools_"),
        "a failed poll serves health only: {body}"
    );
    assert!(
        body.contains("stack_exporter_source_errors_total{source=\"bouncer\",kind=\"pgbouncer\",reason=\"connect\"}"),
        "{body}"
    );

    bouncer.start_again();
    // Reconnect backoff is capped at the interval.
    wait_until(Duration::from_secs(10), "pgbouncer_up back to 1", || {
        up() == Some(1.0)
    });
    assert!(metrics(&exporter).contains("pgbouncer_pools_client_active_connections"));
}

#[test]
fn a_user_the_console_does_not_admit_fails_with_a_clear_reason_and_no_secret() {
    let pg = TempPostgres::start();
    let bouncer = TempPgBouncer::start(&pg);
    let exporter = ExporterProcess::start(
        &format!(
            "pgbouncer: [ {{ name: bouncer, url: \"{}\", interval: 1s, timeout: 1s }} ]\n",
            bouncer.url(INTRUDER, "pgbouncer")
        ),
        &["--log.level", "debug"],
    );
    let errors = |reason: &str| {
        let needle = format!(
            "stack_exporter_source_errors_total{{source=\"bouncer\",kind=\"pgbouncer\",reason=\"{reason}\"}} "
        );
        metrics(&exporter)
            .lines()
            .find_map(|l| {
                l.strip_prefix(needle.as_str())
                    .and_then(|v| v.parse::<f64>().ok())
            })
            .unwrap_or(0.0)
    };
    wait_until(Duration::from_secs(10), "an auth failure counted", || {
        errors("auth") >= 1.0
    });
    let body = metrics(&exporter);
    assert_eq!(
        value(&samples(&body), "pgbouncer_up", &[]),
        Some(0.0),
        "{body}"
    );
    let page = exporter.get("/").text();
    assert!(page.contains("not allowed"), "{page}");
    assert!(page.contains("admin_users or stats_users"), "{page}");
    let everything = format!("{body}\n{page}\n{}", exporter.logs());
    assert!(
        everything.contains("admin_users or stats_users"),
        "{everything}"
    );
    assert!(
        !everything.contains(INTRUDER.1),
        "the password leaked:\n{everything}"
    );
}

#[test]
fn a_url_that_is_not_the_admin_console_is_refused_at_check() {
    let mut p = ExporterProcess::builder()
        .config(
            "pgbouncer: [ { name: b, url: \"postgresql://stats:NotShown42@127.0.0.1:6432/app\" } ]\n",
        )
        .arg("--check-config")
        .no_listen_address()
        .spawn();
    let status = p.wait_exit(Duration::from_secs(10)).expect("exits");
    assert!(!status.success());
    let logs = p.logs();
    assert!(logs.contains("pgbouncer[0].url"), "{logs}");
    assert!(
        logs.contains("the admin console is the database `pgbouncer`"),
        "{logs}"
    );
    assert!(!logs.contains("NotShown42"), "{logs}");

    let mut p = ExporterProcess::builder()
        .config(
            "pgbouncer: [ { name: b, url: \"postgresql://stats:NotShown42@127.0.0.1:6432/pgbouncer\", labels: { tier: pooler } } ]\n",
        )
        .arg("--check-config")
        .no_listen_address()
        .spawn();
    let status = p.wait_exit(Duration::from_secs(10)).expect("exits");
    let out = p.stdout();
    assert!(status.success(), "{}", p.logs());
    assert!(
        out.contains(
            "pgbouncer:\n- name: b\n  url: postgresql://stats:***@127.0.0.1:6432/pgbouncer"
        ),
        "{out}"
    );
    assert!(!out.contains("NotShown42"), "{out}");

    // Names are unique across every kind of source.
    let mut p = ExporterProcess::builder()
        .config(
            "postgres: [ { name: main, url: \"postgresql://u@127.0.0.1:5432/app\" } ]\n\
             pgbouncer: [ { name: main, url: \"postgresql://u@127.0.0.1:6432/pgbouncer\" } ]\n",
        )
        .arg("--check-config")
        .no_listen_address()
        .spawn();
    let status = p.wait_exit(Duration::from_secs(10)).expect("exits");
    assert!(!status.success());
    assert!(
        p.logs().contains(
            "pgbouncer[0].name: duplicate source name `main`, already used by postgres[0]"
        ),
        "{}",
        p.logs()
    );
}
