//! The PostgreSQL source against real servers of every supported major version.

mod common;

use common::{names, once, samples, value};

use common::TempPostgres;

const COLLECTORS: [&str; 11] = [
    "postmaster",
    "database",
    "activity",
    "locks",
    "bgwriter",
    "wal",
    "replication",
    "settings",
    "user_tables",
    "statements",
    "timescaledb",
];

/// Starts `major`, gives it a workload in two databases, polls it once, and checks that
/// every collector succeeded and the version-specific metrics are right.
fn every_collector_succeeds(major: u32) {
    let pg = TempPostgres::start_version(major);
    pg.psql("CREATE DATABASE app");
    pg.psql_in(
        "app",
        "CREATE TABLE jobs (id serial PRIMARY KEY, state text); \
         INSERT INTO jobs (state) SELECT 'waiting' FROM generate_series(1, 500); \
         DELETE FROM jobs WHERE id % 5 = 0; ANALYZE jobs;",
    );
    pg.psql("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2); SELECT count(*) FROM t; CHECKPOINT;");
    pg.psql("SELECT pg_create_physical_replication_slot('standby_slot', true)");
    // Before PostgreSQL 15 statistics reach the views through the asynchronous stats
    // collector: wait until the server itself shows what the assertions below expect.
    let checkpoints = if major >= 17 {
        "SELECT num_requested FROM pg_stat_checkpointer"
    } else {
        "SELECT checkpoints_req FROM pg_stat_bgwriter"
    };
    common::wait_until(
        std::time::Duration::from_secs(10),
        "statistics visible",
        || {
            pg.psql(checkpoints) != "0"
                && pg.psql_in(
                    "app",
                    "SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'jobs'",
                ) == "400"
        },
    );
    let (code, stdout, stderr) = once(&format!(
        "defaults: {{ interval: 10s, timeout: 5s }}\npostgres: [ {{ name: pg{major}, url: \"{}\" }} ]\n",
        pg.url()
    ));
    assert_eq!(code, 0, "PostgreSQL {major}: {stderr}\n{stdout}");
    let s = samples(&stdout);
    for c in COLLECTORS {
        assert_eq!(
            value(&s, "pg_scrape_collector_success", &[("collector", c)]),
            Some(1.0),
            "PostgreSQL {major}: collector {c} did not succeed\n{stderr}"
        );
    }
    assert_eq!(value(&s, "pg_up", &[]), Some(1.0));
    let short = value(&s, "pg_static", &[]).map(|_| ());
    assert!(short.is_some());
    assert!(
        s.iter().any(|(n, l, _)| n == "pg_static"
            && l.get("short_version")
                .is_some_and(|v| v.starts_with(&format!("{major}.")))),
        "PostgreSQL {major}: pg_static short_version"
    );
    let n = names(&s);
    // No checkpoint metric disappears on any version: both name sets everywhere.
    for metric in [
        "pg_stat_bgwriter_checkpoints_timed_total",
        "pg_stat_bgwriter_checkpoints_req_total",
        "pg_stat_bgwriter_checkpoint_write_time_total",
        "pg_stat_bgwriter_checkpoint_sync_time_total",
        "pg_stat_bgwriter_buffers_checkpoint_total",
        "pg_stat_checkpointer_num_timed_total",
        "pg_stat_checkpointer_num_requested_total",
        "pg_stat_checkpointer_buffers_written_total",
        "pg_stat_bgwriter_buffers_clean_total",
        "pg_stat_bgwriter_buffers_alloc_total",
    ] {
        assert!(n.contains(metric), "PostgreSQL {major}: {metric} missing");
    }
    // The CHECKPOINT above is counted whichever view holds it.
    assert!(value(&s, "pg_stat_checkpointer_num_requested_total", &[]).unwrap() >= 1.0);
    assert_eq!(
        value(&s, "pg_stat_checkpointer_num_requested_total", &[]),
        value(&s, "pg_stat_bgwriter_checkpoints_req_total", &[])
    );
    assert_eq!(
        n.contains("pg_stat_bgwriter_buffers_backend_total"),
        major < 17
    );
    assert_eq!(
        n.contains("pg_stat_checkpointer_restartpoints_done_total"),
        major >= 17
    );
    assert_eq!(
        n.contains("pg_stat_checkpointer_num_done_total"),
        major >= 18
    );
    assert_eq!(n.contains("pg_stat_wal_records_total"), major >= 14);
    assert_eq!(
        n.contains("pg_stat_wal_write_total"),
        (14..18).contains(&major)
    );
    assert_eq!(n.contains("pg_stat_database_session_time"), major >= 14);
    assert!(n.contains("pg_wal_segments"), "superuser may list pg_wal");
    assert!(n.contains("pg_stat_archiver_archived_count"));
    // Per-table stats come from every database, not only the one in the URL.
    assert_eq!(
        value(
            &s,
            "pg_stat_user_tables_n_live_tup",
            &[("datname", "app"), ("relname", "jobs")]
        ),
        Some(400.0),
        "PostgreSQL {major}"
    );
    assert!(
        value(
            &s,
            "pg_stat_user_tables_table_size_bytes",
            &[("datname", "app"), ("relname", "jobs")]
        )
        .unwrap()
            > 0.0
    );
    assert!(value(
        &s,
        "pg_statio_user_tables_heap_blocks_hit",
        &[("datname", "app"), ("relname", "jobs")]
    )
    .is_some());
    assert!(value(
        &s,
        "pg_stat_user_tables_n_live_tup",
        &[("datname", "postgres"), ("relname", "t")]
    )
    .is_some());
    // pg_stat_statements: the harness creates the extension in `postgres`.
    assert!(
        n.contains("pg_stat_statements_calls_total"),
        "PostgreSQL {major}: no statements\n{stderr}"
    );
    // Connections, zero-filled by state for every database.
    assert!(value(
        &s,
        "pg_stat_activity_count",
        &[("datname", "app"), ("state", "idle in transaction")]
    )
    .is_some());
    assert!(value(&s, "pg_stat_activity_max_connections", &[]).unwrap() >= 10.0);
    assert!(value(
        &s,
        "pg_locks_count",
        &[("datname", "app"), ("mode", "accessexclusivelock")]
    )
    .is_some());
    assert_eq!(value(&s, "pg_replication_is_replica", &[]), Some(0.0));
    assert_eq!(
        value(
            &s,
            "pg_replication_slot_slot_is_active",
            &[("slot_name", "standby_slot")]
        ),
        Some(0.0)
    );
    assert!(
        value(
            &s,
            "pg_replication_slot_retained_wal_bytes",
            &[("slot_name", "standby_slot")]
        )
        .unwrap()
            >= 0.0
    );
    assert!(value(&s, "pg_settings_shared_buffers_bytes", &[]).unwrap() > 0.0);
    assert_eq!(
        value(&s, "pg_settings_max_connections", &[]),
        value(&s, "pg_stat_activity_max_connections", &[])
    );
    assert!(value(&s, "pg_database_size_bytes", &[("datname", "app")]).unwrap() > 0.0);
    assert!(value(&s, "pg_stat_database_xact_commit", &[("datname", "app")]).unwrap() > 0.0);
    assert!(value(&s, "pg_postmaster_start_time_seconds", &[]).unwrap() > 1.6e9);
    // No TimescaleDB here: its collector succeeded (above) and reported nothing.
    assert!(
        !n.iter().any(|m| m.starts_with("timescaledb_")),
        "PostgreSQL {major}: timescaledb series without the extension"
    );
    // Never a repeated series.
    let mut seen = std::collections::HashSet::new();
    for line in stdout.lines().filter(|l| !l.starts_with('#')) {
        let series = line.rsplit_once(' ').unwrap().0;
        assert!(
            seen.insert(series.to_owned()),
            "PostgreSQL {major}: repeated {series}"
        );
    }
    let findings = common::promtool_findings(&stdout);
    assert!(
        findings.is_empty(),
        "PostgreSQL {major}: promtool findings: {findings:#?}"
    );
}

#[test]
fn postgres_13() {
    every_collector_succeeds(13);
}

#[test]
fn postgres_15() {
    every_collector_succeeds(15);
}

#[test]
fn postgres_17() {
    every_collector_succeeds(17);
}

#[test]
fn postgres_18() {
    every_collector_succeeds(18);
}

#[test]
fn a_pg_monitor_role_gets_every_collector_and_a_missing_privilege_fails_one_collector_only() {
    let pg = TempPostgres::start_with_password_auth("monitor", "MonitorPass1");
    pg.psql("GRANT pg_monitor TO monitor");
    let url = pg.url_with("monitor", "MonitorPass1");
    let (code, stdout, stderr) = once(&format!("postgres: [ {{ name: mon, url: \"{url}\" }} ]\n"));
    assert_eq!(code, 0, "{stderr}");
    let s = samples(&stdout);
    for c in COLLECTORS {
        assert_eq!(
            value(&s, "pg_scrape_collector_success", &[("collector", c)]),
            Some(1.0),
            "collector {c}\n{stderr}"
        );
    }
    assert!(
        names(&s).contains("pg_wal_size_bytes"),
        "pg_monitor may list pg_wal"
    );

    // Take a function away: its collector fails alone, pg_up stays 1, and the log says
    // what is missing, once.
    pg.psql("REVOKE EXECUTE ON FUNCTION pg_postmaster_start_time() FROM PUBLIC");
    let (code, stdout, stderr) = once(&format!("postgres: [ {{ name: mon, url: \"{url}\" }} ]\n"));
    assert_eq!(code, 0, "{stderr}");
    let s = samples(&stdout);
    assert_eq!(value(&s, "pg_up", &[]), Some(1.0));
    assert_eq!(
        value(
            &s,
            "pg_scrape_collector_success",
            &[("collector", "postmaster")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &s,
            "pg_scrape_collector_success",
            &[("collector", "database")]
        ),
        Some(1.0)
    );
    assert!(stderr.contains("lack of privileges"), "{stderr}");
    assert!(stderr.contains("pg_monitor"), "{stderr}");
    assert!(!stderr.contains("MonitorPass1"));
}

#[test]
fn a_role_without_pg_monitor_still_gets_the_collectors_that_need_no_grant() {
    let pg = TempPostgres::start_with_password_auth("plain", "PlainPass1");
    let url = pg.url_with("plain", "PlainPass1");
    let (code, stdout, stderr) = once(&format!("postgres: [ {{ name: p, url: \"{url}\" }} ]\n"));
    assert_eq!(code, 0, "{stderr}");
    let s = samples(&stdout);
    assert_eq!(value(&s, "pg_up", &[]), Some(1.0));
    for c in [
        "database",
        "activity",
        "locks",
        "bgwriter",
        "settings",
        "postmaster",
    ] {
        assert_eq!(
            value(&s, "pg_scrape_collector_success", &[("collector", c)]),
            Some(1.0),
            "collector {c}\n{stderr}"
        );
    }
    // Without pg_monitor, pg_ls_waldir is not allowed: the WAL size is left out, quietly.
    assert!(!names(&s).contains("pg_wal_size_bytes"));
    assert_eq!(
        value(&s, "pg_scrape_collector_success", &[("collector", "wal")]),
        Some(1.0)
    );
}

#[test]
fn custom_queries_report_their_own_success_and_a_slow_or_broken_one_hurts_nobody() {
    let pg = TempPostgres::start();
    pg.psql("CREATE DATABASE app");
    pg.psql_in(
        "app",
        "CREATE TABLE jobs (state text, age float8); \
         INSERT INTO jobs VALUES ('waiting', 3), ('waiting', 9), ('failed', 1)",
    );
    let exporter = common::ExporterProcess::start(
        &format!(
            "defaults: {{ interval: 2s, timeout: 1800ms }}\n\
             postgres:\n\
             \x20 - name: main\n\
             \x20   url: \"{}\"\n\
             \x20   custom_queries:\n\
             \x20     - name: app_jobs\n\
             \x20       help: Jobs by state.\n\
             \x20       database: app\n\
             \x20       sql: SELECT state, count(*) AS jobs, max(age) AS oldest_seconds, count(*) AS processed FROM jobs GROUP BY state\n\
             \x20       labels: [state]\n\
             \x20       values: [ {{ column: jobs }}, {{ column: oldest_seconds, help: Oldest job. }}, {{ column: processed, type: counter }} ]\n\
             \x20     - name: app_broken\n\
             \x20       help: Bad SQL.\n\
             \x20       sql: SELEC nonsense\n\
             \x20       values: [ {{ column: x }} ]\n\
             \x20     - name: app_slow\n\
             \x20       help: Sleeps past its timeout.\n\
             \x20       sql: SELECT 1 AS x FROM pg_sleep(5)\n\
             \x20       timeout: 500ms\n\
             \x20       values: [ {{ column: x }} ]\n",
            pg.url()
        ),
        &[],
    );
    common::wait_until(
        std::time::Duration::from_secs(15),
        "custom queries ran",
        || {
            exporter
                .get("/metrics")
                .text()
                .contains("pg_custom_query_success{source=\"main\",query=\"app_slow\"}")
        },
    );
    let body = exporter.get("/metrics").text();
    let s = samples(&body);
    assert_eq!(
        value(&s, "app_jobs_jobs", &[("state", "waiting")]),
        Some(2.0),
        "{body}"
    );
    assert_eq!(
        value(&s, "app_jobs_oldest_seconds", &[("state", "waiting")]),
        Some(9.0)
    );
    assert_eq!(
        value(&s, "app_jobs_processed_total", &[("state", "failed")]),
        Some(1.0)
    );
    assert!(
        body.contains("# TYPE app_jobs_processed_total counter"),
        "{body}"
    );
    assert!(
        body.contains("# HELP app_jobs_oldest_seconds Oldest job."),
        "{body}"
    );
    assert_eq!(
        value(&s, "pg_custom_query_success", &[("query", "app_jobs")]),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "pg_custom_query_success", &[("query", "app_broken")]),
        Some(0.0)
    );
    assert_eq!(
        value(&s, "pg_custom_query_success", &[("query", "app_slow")]),
        Some(0.0)
    );
    // The server cancelled the slow query at its own timeout, well before the poll's.
    assert!(
        value(
            &s,
            "pg_custom_query_duration_seconds",
            &[("query", "app_slow")]
        )
        .unwrap()
            < 1.5
    );
    assert_eq!(
        value(
            &s,
            "pg_scrape_collector_success",
            &[("collector", "custom")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &s,
            "pg_scrape_collector_success",
            &[("collector", "database")]
        ),
        Some(1.0)
    );
    assert_eq!(value(&s, "pg_up", &[]), Some(1.0));
    let logs = exporter.logs();
    assert!(logs.contains("custom query app_broken failed"), "{logs}");
    assert!(logs.contains("syntax error"), "{logs}");
    assert!(logs.contains("statement timeout"), "{logs}");
    // The statement timeout did not leak into the session: a later poll's queries work.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let s = samples(&exporter.get("/metrics").text());
    assert_eq!(
        value(&s, "pg_custom_query_success", &[("query", "app_jobs")]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &s,
            "pg_scrape_collector_success",
            &[("collector", "settings")]
        ),
        Some(1.0)
    );
}

#[test]
fn a_custom_query_with_an_interval_runs_less_often_but_is_always_served() {
    let pg = TempPostgres::start();
    pg.psql("CREATE TABLE ticks (n int); CREATE SEQUENCE tick_seq");
    let exporter = common::ExporterProcess::start(
        &format!(
            "defaults: {{ interval: 1s, timeout: 900ms }}\n\
             postgres:\n\
             \x20 - name: main\n\
             \x20   url: \"{}\"\n\
             \x20   custom_queries:\n\
             \x20     - {{ name: app_tick, help: Ticks., sql: \"SELECT nextval('tick_seq') AS n\", interval: 1h, values: [ {{ column: n }} ] }}\n",
            pg.url()
        ),
        &[],
    );
    common::wait_until(std::time::Duration::from_secs(10), "three polls", || {
        value(
            &samples(&exporter.get("/metrics").text()),
            "stack_exporter_source_polls_total",
            &[("source", "main")],
        )
        .is_some_and(|v| v >= 3.0)
    });
    let s = samples(&exporter.get("/metrics").text());
    // Ran once (the sequence says so), served on every poll since.
    assert_eq!(value(&s, "app_tick_n", &[]), Some(1.0));
    assert_eq!(pg.psql("SELECT last_value FROM tick_seq"), "1");
}

#[test]
fn replication_is_seen_from_both_sides_of_a_real_streaming_replica() {
    let primary = TempPostgres::start();
    let standby = primary.start_standby("standby_a");
    primary.psql("CREATE TABLE r (x int); INSERT INTO r SELECT generate_series(1, 1000)");
    common::wait_until(
        std::time::Duration::from_secs(15),
        "the standby streams",
        || {
            primary.psql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
                == "1"
                && standby.try_psql("SELECT count(*) FROM r").ok().as_deref() == Some("1000")
        },
    );
    let (code, stdout, stderr) = once(&format!(
        "postgres:\n  - {{ name: primary, url: \"{}\" }}\n  - {{ name: standby, url: \"{}\" }}\n",
        primary.url(),
        standby.url()
    ));
    assert_eq!(code, 0, "{stderr}");
    let s = samples(&stdout);
    let on = |source: &str, name: &str, labels: &[(&str, &str)]| {
        let mut want = vec![("source", source)];
        want.extend_from_slice(labels);
        value(&s, name, &want)
    };
    assert_eq!(on("primary", "pg_replication_is_replica", &[]), Some(0.0));
    assert_eq!(on("standby", "pg_replication_is_replica", &[]), Some(1.0));
    assert!(on("standby", "pg_replication_lag_seconds", &[]).unwrap() >= 0.0);
    // The primary sees its standby and the slot it uses.
    assert!(
        on(
            "primary",
            "pg_stat_replication_pg_wal_lsn_diff",
            &[("state", "streaming")]
        )
        .unwrap()
            >= 0.0,
        "{stdout}"
    );
    assert_eq!(
        on(
            "primary",
            "pg_replication_slot_slot_is_active",
            &[("slot_name", "standby_a")]
        ),
        Some(1.0)
    );
    // The standby's WAL receiver is streaming.
    assert_eq!(
        on("standby", "pg_stat_wal_receiver_streaming", &[]),
        Some(1.0)
    );
    assert!(
        on(
            "standby",
            "pg_stat_wal_receiver_last_message_age_seconds",
            &[]
        )
        .unwrap()
            < 60.0
    );
    for source in ["primary", "standby"] {
        for c in COLLECTORS {
            assert_eq!(
                on(source, "pg_scrape_collector_success", &[("collector", c)]),
                Some(1.0),
                "{source}: collector {c}\n{stderr}"
            );
        }
    }
}

#[test]
fn statement_text_is_only_shown_when_asked_and_is_truncated() {
    let pg = TempPostgres::start();
    pg.psql(
        "SELECT 'a fairly long literal to make the statement text long enough to truncate' AS x",
    );
    let config = |extra: &str| {
        format!(
            "postgres:\n  - name: main\n    url: \"{}\"\n    collectors: {{ statements: {{ limit: 5{extra} }} }}\n",
            pg.url()
        )
    };
    let (code, stdout, stderr) = once(&config(""));
    assert_eq!(code, 0, "{stderr}");
    let s = samples(&stdout);
    assert!(!names(&s).contains("pg_stat_statements_query_id"));
    assert!(
        s.iter()
            .filter(|(n, _, _)| n == "pg_stat_statements_calls_total")
            .count()
            <= 5
    );

    let (code, stdout, stderr) = once(&config(", query_text: true, query_text_max_length: 20"));
    assert_eq!(code, 0, "{stderr}");
    let s = samples(&stdout);
    let texts: Vec<&String> = s
        .iter()
        .filter(|(n, _, _)| n == "pg_stat_statements_query_id")
        .filter_map(|(_, l, _)| l.get("query"))
        .collect();
    assert!(!texts.is_empty(), "{stdout}");
    assert!(texts.iter().all(|t| t.chars().count() <= 20), "{texts:?}");
    // One query_id series per queryid, however many users ran it.
    let ids: Vec<&String> = s
        .iter()
        .filter(|(n, _, _)| n == "pg_stat_statements_query_id")
        .filter_map(|(_, l, _)| l.get("queryid"))
        .collect();
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len());
}

// ---------------------------------------------------------------------------------------
// TimescaleDB, against a stand-in of its documented interface
// ---------------------------------------------------------------------------------------

/// The control file of the stand-in extension. It is named `timescaledb` so that the
/// collector finds it in `pg_extension` as it would the real one.
const TSDB_STANDIN_CONTROL: &str = "\
# Test stand-in written by stack_exporter's tests/postgres.rs: NOT TimescaleDB.
# It only recreates the documented timescaledb_information views the exporter reads.
comment = 'stack_exporter test stand-in for TimescaleDB informational views (not TimescaleDB)'
default_version = '2.17.2-standin'
relocatable = false
";

/// The install script of the stand-in: schema `timescaledb_information` with views
/// `hypertables`, `jobs` and `job_stats` having the column names and types TimescaleDB's
/// documentation lists for them (2.x), over plain tables the test fills, and
/// `hypertable_size(regclass) returns bigint` in the extension's schema (here: the size
/// of the one table, where TimescaleDB sums the chunks). This checks our SQL against
/// the documented interface, not against real TimescaleDB (which cannot be installed
/// here): real TimescaleDB declares some of these columns as `name` rather than `text`,
/// which reads the same over the simple-query protocol.
const TSDB_STANDIN_SQL: &str = "\
-- Test stand-in written by stack_exporter's tests/postgres.rs: NOT TimescaleDB.
CREATE SCHEMA _standin_catalog;
CREATE TABLE _standin_catalog.hypertables (
    hypertable_schema text, hypertable_name text, owner text DEFAULT current_user,
    num_dimensions smallint DEFAULT 1, num_chunks bigint, compression_enabled boolean,
    tablespaces text, primary_dimension text DEFAULT 'time',
    primary_dimension_type text DEFAULT 'timestamp with time zone');
CREATE TABLE _standin_catalog.jobs (
    job_id integer PRIMARY KEY, application_name text,
    schedule_interval interval DEFAULT '1 day', max_runtime interval DEFAULT '0',
    max_retries integer DEFAULT -1, retry_period interval DEFAULT '1 hour',
    proc_schema text DEFAULT '_timescaledb_functions', proc_name text,
    owner text DEFAULT current_user, scheduled boolean DEFAULT true,
    fixed_schedule boolean DEFAULT false, config jsonb, next_start timestamptz,
    initial_start timestamptz, hypertable_schema text, hypertable_name text,
    check_schema text, check_name text);
CREATE TABLE _standin_catalog.job_stats (
    hypertable_schema text, hypertable_name text, job_id integer,
    last_run_started_at timestamptz, last_successful_finish timestamptz,
    last_run_status text, job_status text, last_run_duration interval,
    next_start timestamptz, total_runs bigint, total_successes bigint,
    total_failures bigint);
CREATE SCHEMA timescaledb_information;
CREATE VIEW timescaledb_information.hypertables AS
    SELECT hypertable_schema, hypertable_name, owner, num_dimensions, num_chunks,
           compression_enabled, tablespaces, primary_dimension, primary_dimension_type
    FROM _standin_catalog.hypertables;
CREATE VIEW timescaledb_information.jobs AS
    SELECT job_id, application_name, schedule_interval, max_runtime, max_retries,
           retry_period, proc_schema, proc_name, owner, scheduled, fixed_schedule, config,
           next_start, initial_start, hypertable_schema, hypertable_name, check_schema,
           check_name
    FROM _standin_catalog.jobs;
CREATE VIEW timescaledb_information.job_stats AS
    SELECT hypertable_schema, hypertable_name, job_id, last_run_started_at,
           last_successful_finish, last_run_status, job_status, last_run_duration,
           next_start, total_runs, total_successes, total_failures
    FROM _standin_catalog.job_stats;
CREATE FUNCTION @extschema@.hypertable_size(hypertable regclass) RETURNS bigint
    LANGUAGE sql STABLE AS 'SELECT pg_total_relation_size(hypertable)';
";

/// Writes the stand-in extension into the extension directory of the npm-installed
/// PostgreSQL `pg` runs, refusing any directory outside the test prefix (never Debian's
/// system directories). The files are left in place: their content is fixed, so writing
/// them again (atomically, from any test process) changes nothing, and they are inert
/// until a test runs `CREATE EXTENSION timescaledb`.
fn install_timescaledb_standin(pg: &TempPostgres) {
    assert_ne!(
        pg.major(),
        common::DEBIAN_PG_MAJOR,
        "the stand-in goes only into the npm-installed servers"
    );
    // Where this server reads extension files from: its own answer, not a guess.
    let sharedir = pg.psql("SELECT setting FROM pg_config WHERE name = 'SHAREDIR'");
    let sharedir =
        std::fs::canonicalize(&sharedir).unwrap_or_else(|e| panic!("SHAREDIR {sharedir:?}: {e}"));
    let prefix = std::fs::canonicalize(common::pg_prefix()).unwrap();
    assert!(
        sharedir.starts_with(&prefix),
        "refusing to write into {} (outside the test prefix {})",
        sharedir.display(),
        prefix.display()
    );
    let dir = sharedir.join("extension");
    for (name, content) in [
        ("timescaledb.control", TSDB_STANDIN_CONTROL),
        ("timescaledb--2.17.2-standin.sql", TSDB_STANDIN_SQL),
    ] {
        let tmp = dir.join(format!("{name}.tmp-{}", std::process::id()));
        std::fs::write(&tmp, content).unwrap();
        std::fs::rename(&tmp, dir.join(name)).unwrap();
    }
}

/// TimescaleDB's metrics, from the stand-in of its documented views (see
/// [`TSDB_STANDIN_SQL`]): what this proves is that our queries fit the documented
/// interface and that rows become the right series, not that real TimescaleDB answers
/// them the same way.
fn timescaledb_standin_metrics(major: u32) {
    let pg = TempPostgres::start_version(major);
    install_timescaledb_standin(&pg);
    // In a schema off the search_path, as a real install may be: hypertable_size must be
    // called schema-qualified.
    pg.psql("CREATE SCHEMA tsdb; CREATE EXTENSION timescaledb SCHEMA tsdb");
    pg.psql(
        "CREATE TABLE public.conditions (t timestamptz, v float8); \
         INSERT INTO public.conditions SELECT now(), g FROM generate_series(1, 1000) g; \
         CREATE SCHEMA metrics; CREATE TABLE metrics.\"Sensor Data\" (t timestamptz); \
         INSERT INTO _standin_catalog.hypertables (hypertable_schema, hypertable_name, num_chunks, compression_enabled) \
         VALUES ('public', 'conditions', 12, true), ('metrics', 'Sensor Data', 3, false); \
         INSERT INTO _standin_catalog.hypertables (hypertable_schema, hypertable_name, num_chunks, compression_enabled) \
         SELECT 'bulk', format('t_%s', g), 1, false FROM generate_series(100, 304) g; \
         INSERT INTO _standin_catalog.jobs (job_id, application_name, proc_name, scheduled, next_start, hypertable_schema, hypertable_name) VALUES \
           (1, 'Telemetry Reporter [1]', 'policy_telemetry', true, '2024-01-03 03:04:05+00', NULL, NULL), \
           (1000, 'Compression Policy [1000]', 'policy_compression', true, '2024-01-01 00:00:00+00', 'public', 'conditions'), \
           (1001, 'User-Defined Action [1001]', 'my_action', false, '-infinity', NULL, NULL); \
         INSERT INTO _standin_catalog.jobs (job_id, application_name, proc_name) \
         SELECT g, format('User-Defined Action [%s]', g), 'bulk_action' FROM generate_series(2000, 2204) g; \
         INSERT INTO _standin_catalog.job_stats VALUES \
           (NULL, NULL, 1, '2024-01-02 03:04:03.5+00', '2024-01-02 03:04:05+00', 'Success', 'Scheduled', '1.5 seconds', '2024-01-03 03:04:05+00', 10, 10, 0), \
           ('public', 'conditions', 1000, '2023-12-31 23:00:00+00', '-infinity', 'Failed', 'Scheduled', '00:02:00', '2024-01-01 00:00:00+00', 5, 3, 2)",
    );
    let (code, stdout, stderr) = once(&format!(
        "postgres: [ {{ name: ts, url: \"{}\", collectors: {{ user_tables: false, statements: false }} }} ]\n",
        pg.url()
    ));
    assert_eq!(code, 0, "PostgreSQL {major}: {stderr}\n{stdout}");
    let s = samples(&stdout);
    assert_eq!(
        value(
            &s,
            "pg_scrape_collector_success",
            &[("collector", "timescaledb")]
        ),
        Some(1.0),
        "PostgreSQL {major}: {stderr}"
    );
    assert_eq!(
        value(&s, "timescaledb_info", &[("version", "2.17.2-standin")]),
        Some(1.0)
    );

    // Hypertables: the 200 with the most chunks, sizes from hypertable_size.
    let conditions = [("schema", "public"), ("hypertable", "conditions")];
    let sensor = [("schema", "metrics"), ("hypertable", "Sensor Data")];
    assert_eq!(
        value(&s, "timescaledb_hypertable_chunks", &conditions),
        Some(12.0)
    );
    assert_eq!(
        value(
            &s,
            "timescaledb_hypertable_compression_enabled",
            &conditions
        ),
        Some(1.0)
    );
    let size: f64 = pg
        .psql("SELECT pg_total_relation_size('public.conditions')")
        .parse()
        .unwrap();
    assert!(size > 0.0);
    assert_eq!(
        value(&s, "timescaledb_hypertable_size_bytes", &conditions),
        Some(size)
    );
    assert_eq!(
        value(&s, "timescaledb_hypertable_chunks", &sensor),
        Some(3.0)
    );
    assert_eq!(
        value(&s, "timescaledb_hypertable_compression_enabled", &sensor),
        Some(0.0)
    );
    assert_eq!(
        value(&s, "timescaledb_hypertable_size_bytes", &sensor),
        Some(0.0)
    );
    let count = |name: &str| s.iter().filter(|(n, _, _)| n == name).count();
    assert_eq!(count("timescaledb_hypertable_chunks"), 200);
    // Listed hypertables without a table behind them get no size, not an error.
    assert_eq!(count("timescaledb_hypertable_size_bytes"), 2);
    assert!(
        stderr.contains("more than 200 hypertables"),
        "PostgreSQL {major}: {stderr}"
    );

    // Jobs, joined with their statistics.
    let telemetry = [
        ("job_id", "1"),
        ("application_name", "Telemetry Reporter [1]"),
        ("proc_name", "policy_telemetry"),
    ];
    let compression = [
        ("job_id", "1000"),
        ("application_name", "Compression Policy [1000]"),
        ("proc_name", "policy_compression"),
        ("hypertable", "conditions"),
    ];
    let never_ran = [("job_id", "1001"), ("proc_name", "my_action")];
    assert_eq!(
        value(&s, "timescaledb_job_runs_total", &telemetry),
        Some(10.0)
    );
    assert_eq!(
        value(&s, "timescaledb_job_successes_total", &telemetry),
        Some(10.0)
    );
    assert_eq!(
        value(&s, "timescaledb_job_failures_total", &telemetry),
        Some(0.0)
    );
    assert_eq!(
        value(&s, "timescaledb_job_last_run_success", &telemetry),
        Some(1.0)
    );
    assert_eq!(
        value(
            &s,
            "timescaledb_job_last_success_timestamp_seconds",
            &telemetry
        ),
        Some(1_704_164_645.0)
    );
    assert_eq!(
        value(&s, "timescaledb_job_last_run_duration_seconds", &telemetry),
        Some(1.5)
    );
    assert_eq!(
        value(
            &s,
            "timescaledb_job_next_start_timestamp_seconds",
            &telemetry
        ),
        Some(1_704_251_045.0)
    );
    assert_eq!(
        value(&s, "timescaledb_job_scheduled", &telemetry),
        Some(1.0)
    );
    // A job without a hypertable has an empty hypertable label, which Prometheus reads
    // as no label.
    assert_eq!(
        value(
            &s,
            "timescaledb_job_scheduled",
            &[("job_id", "1"), ("hypertable", "")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "timescaledb_job_runs_total", &compression),
        Some(5.0)
    );
    assert_eq!(
        value(&s, "timescaledb_job_successes_total", &compression),
        Some(3.0)
    );
    assert_eq!(
        value(&s, "timescaledb_job_failures_total", &compression),
        Some(2.0)
    );
    assert_eq!(
        value(&s, "timescaledb_job_last_run_success", &compression),
        Some(0.0)
    );
    assert_eq!(
        value(
            &s,
            "timescaledb_job_last_run_duration_seconds",
            &compression
        ),
        Some(120.0)
    );
    assert_eq!(
        value(
            &s,
            "timescaledb_job_next_start_timestamp_seconds",
            &compression
        ),
        Some(1_704_067_200.0)
    );
    // Never succeeded (-infinity): no timestamp rather than a nonsense one.
    assert_eq!(
        value(
            &s,
            "timescaledb_job_last_success_timestamp_seconds",
            &compression
        ),
        None
    );
    // A job that never ran: no statistics, but it is listed.
    assert_eq!(
        value(&s, "timescaledb_job_scheduled", &never_ran),
        Some(0.0)
    );
    for name in [
        "timescaledb_job_runs_total",
        "timescaledb_job_last_run_success",
        "timescaledb_job_next_start_timestamp_seconds",
    ] {
        assert_eq!(value(&s, name, &never_ran), None, "{name}");
    }
    assert_eq!(count("timescaledb_job_scheduled"), 200);
    assert_eq!(
        value(&s, "timescaledb_job_scheduled", &[("job_id", "2196")]),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "timescaledb_job_scheduled", &[("job_id", "2197")]),
        None
    );
    assert!(
        stderr.contains("more than 200 jobs"),
        "PostgreSQL {major}: {stderr}"
    );

    let findings = common::promtool_findings(&stdout);
    assert!(
        findings.is_empty(),
        "PostgreSQL {major}: promtool findings: {findings:#?}"
    );
}

#[test]
fn timescaledb_standin_on_postgres_13() {
    timescaledb_standin_metrics(13);
}

#[test]
fn timescaledb_standin_on_postgres_18() {
    timescaledb_standin_metrics(18);
}

#[test]
fn table_statistics_follow_database_patterns() {
    let pg = TempPostgres::start();
    for db in ["app_eu", "app_us", "other"] {
        pg.psql(&format!("CREATE DATABASE {db}"));
        pg.psql_in(
            db,
            "CREATE TABLE items (id int); INSERT INTO items VALUES (1)",
        );
    }
    let (code, stdout, stderr) = once(&format!(
        "postgres:\n  - name: main\n    url: \"{}\"\n    collectors:\n      user_tables: {{ databases: [\"app_*\", postgres], exclude_databases: [\"*_us\"] }}\n",
        pg.url()
    ));
    assert_eq!(code, 0, "{stderr}");
    let s = samples(&stdout);
    let visited: std::collections::BTreeSet<&str> = s
        .iter()
        .filter(|(n, _, _)| n == "pg_stat_user_tables_seq_scan")
        .filter_map(|(_, l, _)| l.get("datname").map(String::as_str))
        .collect();
    assert!(visited.contains("app_eu"), "{visited:?}");
    assert!(!visited.contains("app_us"), "{visited:?}");
    assert!(!visited.contains("other"), "{visited:?}");
    assert_eq!(
        value(
            &s,
            "pg_scrape_collector_success",
            &[("collector", "user_tables")]
        ),
        Some(1.0)
    );
}
