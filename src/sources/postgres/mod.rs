//! PostgreSQL: one connection per server, kept between polls and re-established when it
//! breaks, plus a bounded set of per-database connections for collectors that must look
//! inside each database (tables, custom queries). Queries go through the simple-query
//! protocol only, so the source works through transaction poolers (PgBouncer,
//! Supavisor) that cannot keep named statements; each carries its own
//! `SET LOCAL statement_timeout`, which ends with the query's implicit transaction and so
//! never leaks into a pooled session.
//!
//! Collectors live one per file; `collector.rs` lists them and runs the enabled ones.

mod activity;
mod bgwriter;
mod collector;
mod custom;
mod database;
mod locks;
mod postmaster;
mod replication;
mod settings;
mod statements;
mod timescaledb;
pub(crate) mod tls;
mod user_tables;
mod wal;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_postgres::{Client, SimpleQueryMessage, SimpleQueryRow};

use crate::config::{CustomQuery, PostgresCollectors, PostgresConfig};
use crate::model::{labels, MetricFamily};
use crate::redact::Scrubber;
use crate::sources::{error_chain, up_family, ErrorReason, LogOnce, PollError, Source, SourceKind};

use collector::Collector;
// The column tables are shared with the PgBouncer source; the collectors keep reaching
// them as `super::columns`.
use super::sql_columns as columns;

/// SQLSTATE insufficient_privilege: the role lacks a grant (typically `pg_monitor`).
const INSUFFICIENT_PRIVILEGE: &str = "42501";

pub struct PostgresSource {
    display_url: String,
    /// The parsed URL and the TLS setup its `sslmode` calls for. `Err` when the URL did
    /// not parse; validation makes that unreachable, but a poll then reports it instead
    /// of panicking.
    connector: Result<tls::PgConnector, String>,
    scrubber: Scrubber,
    collectors: PostgresCollectors,
    custom_queries: Vec<CustomQuery>,
    /// Server-side bound on each statement; a little under the poll timeout so the
    /// server gives up before we cancel the poll.
    statement_timeout: Duration,
    connection: Option<Connection>,
    /// Per-database connections, by database name; at most `max_databases` of them.
    db_connections: BTreeMap<String, Connection>,
    /// `server_version_num` of the connected server.
    version_num: u32,
    /// Set by a query that failed for lack of privileges, so the collector runner can
    /// point at the missing grant.
    permission_denied: bool,
    /// Problems already logged at warn level; repeats go to debug.
    logged: LogOnce,
    /// Results of custom queries that run less often than every poll.
    custom_cache: custom::Cache,
}

/// One open connection and the task driving its socket; shared with the PgBouncer
/// source, which connects the same way.
pub(crate) struct Connection {
    pub(crate) client: Client,
    pub(crate) driver: JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // The driver task owns the socket; ending it closes the connection at once.
        self.driver.abort();
    }
}

impl PostgresSource {
    pub fn new(config: &PostgresConfig, scrubber: Scrubber) -> Self {
        let connector = tls::source_connector(
            config.url.expose(),
            crate::sources::inner_deadline(config.common.timeout),
            &scrubber,
        );
        let timeout = config.common.timeout;
        PostgresSource {
            display_url: config.display_url.clone(),
            connector,
            scrubber,
            collectors: config.collectors.clone(),
            custom_queries: config.custom_queries.clone(),
            statement_timeout: timeout
                .saturating_sub((timeout / 10).min(Duration::from_millis(500))),
            connection: None,
            db_connections: BTreeMap::new(),
            version_num: 0,
            permission_denied: false,
            logged: LogOnce::default(),
            custom_cache: custom::Cache::default(),
        }
    }

    /// The database named in the URL (PostgreSQL's default: the user name).
    pub(super) fn url_database(&self) -> Option<&str> {
        let config = self.connector.as_ref().ok()?.config();
        config.get_dbname().or_else(|| config.get_user())
    }

    async fn open(&self, dbname: Option<&str>) -> Result<Connection, PollError> {
        let connector = self.connector.as_ref().map_err(|e| {
            PollError::new(ErrorReason::Connect, format!("invalid connection URL: {e}"))
        })?;
        let connected = match dbname {
            Some(db) => {
                let mut other = connector.clone();
                other.config_mut().dbname(db);
                other.connect().await
            }
            None => connector.connect().await,
        };
        let (client, driver) = connected.map_err(|e| self.classify(&e, "connecting to"))?;
        Ok(Connection { client, driver })
    }

    /// Connects the main connection if needed and learns the server version.
    async fn connect(&mut self) -> Result<(), PollError> {
        if self
            .connection
            .as_ref()
            .is_some_and(|c| c.client.is_closed())
        {
            self.connection = None;
        }
        if self.connection.is_some() {
            return Ok(());
        }
        let connection = self.open(None).await?;
        let rows = simple(&connection.client, "SHOW server_version_num")
            .await
            .map_err(|e| self.classify(&e, "querying"))?;
        let version = rows
            .first()
            .and_then(|r| r.try_get(0).ok().flatten())
            .and_then(|v| v.trim().parse::<u32>().ok())
            .ok_or_else(|| {
                PollError::new(ErrorReason::Protocol, "server_version_num is not a number")
            })?;
        self.version_num = version;
        self.connection = Some(connection);
        Ok(())
    }

    pub(super) fn version_num(&self) -> u32 {
        self.version_num
    }

    /// Runs `sql` on the main connection.
    pub(crate) async fn query(&mut self, sql: &str) -> Result<Vec<SimpleQueryRow>, PollError> {
        self.query_with_timeout(sql, self.statement_timeout).await
    }

    /// The first column of every row of `sql`, NULLs left out: for name lists.
    pub(super) async fn first_column(&mut self, sql: &str) -> Result<Vec<String>, PollError> {
        Ok(self
            .query(sql)
            .await?
            .iter()
            .filter_map(|r| r.try_get(0).ok().flatten().map(str::to_owned))
            .collect())
    }

    /// Runs `sql` on the main connection, the server cancelling it after `timeout`.
    pub(super) async fn query_with_timeout(
        &mut self,
        sql: &str,
        timeout: Duration,
    ) -> Result<Vec<SimpleQueryRow>, PollError> {
        self.connect().await?;
        let bounded = bounded(sql, timeout);
        let result = match &self.connection {
            Some(c) => simple(&c.client, &bounded).await,
            None => return Err(PollError::new(ErrorReason::Connect, "not connected")),
        };
        result.map_err(|e| {
            if e.is_closed() {
                self.connection = None;
            }
            self.query_error(&e)
        })
    }

    /// Runs `sql` in database `dbname`, over the main connection when that is the
    /// database it is connected to, else over a per-database connection.
    pub(super) async fn query_in(
        &mut self,
        dbname: &str,
        sql: &str,
    ) -> Result<Vec<SimpleQueryRow>, PollError> {
        self.query_in_with_timeout(dbname, sql, self.statement_timeout)
            .await
    }

    pub(super) async fn query_in_with_timeout(
        &mut self,
        dbname: &str,
        sql: &str,
        timeout: Duration,
    ) -> Result<Vec<SimpleQueryRow>, PollError> {
        if self.url_database() == Some(dbname) {
            return self.query_with_timeout(sql, timeout).await;
        }
        if self
            .db_connections
            .get(dbname)
            .is_some_and(|c| c.client.is_closed())
        {
            self.db_connections.remove(dbname);
        }
        if !self.db_connections.contains_key(dbname) {
            let connection = self.open(Some(dbname)).await?;
            self.db_connections.insert(dbname.to_owned(), connection);
        }
        let bounded = bounded(sql, timeout);
        let result = match self.db_connections.get(dbname) {
            Some(c) => simple(&c.client, &bounded).await,
            None => return Err(PollError::new(ErrorReason::Connect, "not connected")),
        };
        result.map_err(|e| {
            if e.is_closed() {
                self.db_connections.remove(dbname);
            }
            // A lost per-database connection is that collector's problem, not the
            // server's: it must not turn pg_up to 0.
            let mut error = self.query_error(&e);
            if error.reason == ErrorReason::Connect {
                error.reason = ErrorReason::Query;
            }
            error
        })
    }

    /// Drops per-database connections to databases no longer wanted.
    pub(super) fn retain_databases(&mut self, wanted: &HashSet<String>) {
        self.db_connections.retain(|db, _| wanted.contains(db));
    }

    /// Drops the connection a cancelled query was using, so it is not reused mid-query.
    pub(super) fn drop_connection_for(&mut self, dbname: Option<&str>) {
        match dbname {
            Some(db) if self.url_database() != Some(db) => {
                self.db_connections.remove(db);
            }
            _ => self.connection = None,
        }
    }

    fn query_error(&mut self, error: &tokio_postgres::Error) -> PollError {
        if error
            .as_db_error()
            .is_some_and(|db| db.code().code() == INSUFFICIENT_PRIVILEGE)
        {
            self.permission_denied = true;
        }
        self.classify(error, "querying")
    }

    fn classify(&self, error: &tokio_postgres::Error, doing: &str) -> PollError {
        let tls_failure = tls::failure(error);
        let reason = if let Some(db) = error.as_db_error() {
            // 28000 invalid_authorization_specification, 28P01 invalid_password,
            // 3D000 invalid_catalog_name (no such database: a credentials problem too).
            // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now: the
            // server is shutting down, restarting after a crash, starting up or a standby
            // refusing connections; like a refused connection, it is retried soon.
            match db.code().code() {
                "28000" | "28P01" | "3D000" if doing.starts_with("connecting") => ErrorReason::Auth,
                "57P01" | "57P02" | "57P03" => ErrorReason::Connect,
                _ => ErrorReason::Query,
            }
        } else if tls_failure.is_some() {
            ErrorReason::Tls
        } else if timed_out(error) {
            ErrorReason::Timeout
        } else if error.is_closed() || doing.starts_with("connecting") {
            ErrorReason::Connect
        } else {
            ErrorReason::Protocol
        };
        let detail = match (error.as_db_error(), tls_failure) {
            (Some(db), _) => format!("{}: {}", db.severity(), db.message()),
            (None, Some(tls)) => tls,
            (None, None) => error_chain(error),
        };
        let message = format!("{doing} {}: {detail}", self.display_url);
        PollError::new(reason, self.scrubber.scrub(&message))
    }

    /// Logs a problem at warn the first time it is seen, at debug afterwards, so a
    /// persisting problem does not flood the log every interval.
    fn log_once(&mut self, key: String, message: &str) {
        self.logged.warn(key, &self.display_url, message);
    }
}

/// True when `error` is a connect that got no answer within `connect_timeout` (or the
/// kernel's own SYN retries): the server is unreachable, not refusing, so it counts as
/// a timeout as in the other sources, and is not retried at the fast pace of a refused
/// connection.
pub(crate) fn timed_out(error: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        source = e.source();
    }
    false
}

/// `sql` with a server-side timeout that ends with the statement's implicit transaction.
fn bounded(sql: &str, timeout: Duration) -> String {
    format!(
        "SET LOCAL statement_timeout = {}; {sql}",
        timeout.as_millis().max(1)
    )
}

pub(crate) async fn simple(
    client: &Client,
    sql: &str,
) -> Result<Vec<SimpleQueryRow>, tokio_postgres::Error> {
    Ok(client
        .simple_query(sql)
        .await?
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .collect())
}

impl Source for PostgresSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Postgres
    }

    async fn poll(&mut self, out: &mut Vec<MetricFamily>) -> Result<(), PollError> {
        self.connect().await?;
        let mut success = MetricFamily::gauge(
            "pg_scrape_collector_success",
            "Whether the collector succeeded in the last poll (1) or not (0).",
        );
        let mut duration = MetricFamily::gauge(
            "pg_scrape_collector_duration_seconds",
            "How long the collector took in the last poll, in seconds.",
        );
        for collector in Collector::enabled(&self.collectors, !self.custom_queries.is_empty()) {
            self.permission_denied = false;
            let started = Instant::now();
            let mut families = Vec::new();
            let result = collector.run(self, &mut families).await;
            let name = collector.name();
            duration.push(
                labels(&[("collector", name)]),
                started.elapsed().as_secs_f64(),
            );
            // What a collector gathered before failing is still true; keep it.
            out.extend(families);
            match result {
                Ok(()) => {
                    success.push(labels(&[("collector", name)]), 1.0);
                }
                // The main connection broke: the server is gone, not one collector.
                Err(e) if e.reason == ErrorReason::Connect => {
                    self.connection = None;
                    return Err(e);
                }
                Err(e) => {
                    success.push(labels(&[("collector", name)]), 0.0);
                    let message = if self.permission_denied {
                        format!(
                            "collector {name} failed for lack of privileges (GRANT pg_monitor TO <role>): {}",
                            e.message
                        )
                    } else {
                        format!("collector {name} failed: {}", e.message)
                    };
                    self.log_once(format!("{name}:{}", e.message), &message);
                }
            }
        }
        out.push(success);
        out.push(duration);
        out.push(up(true));
        Ok(())
    }

    fn health_families(&self, _error: &PollError) -> Vec<MetricFamily> {
        vec![up(false)]
    }

    fn reset(&mut self) {
        // The abandoned query may still be running: ask the server to stop it rather
        // than leave it holding locks and a backend.
        if let Ok(connector) = &self.connector {
            for c in self.connection.iter().chain(self.db_connections.values()) {
                connector.cancel_in_background(c.client.cancel_token());
            }
        }
        self.connection = None;
        self.db_connections.clear();
    }
}

fn up(is_up: bool) -> MetricFamily {
    up_family("pg_up", "PostgreSQL", is_up)
}
