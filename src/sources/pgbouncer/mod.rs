//! PgBouncer: its admin console, the pseudo-database `pgbouncer`, polled over one kept
//! connection (re-established when it breaks) with the SHOW commands, one file each.
//!
//! The console speaks only the simple-query protocol and only `SHOW ...`: no `SET`, no
//! transactions, no `SELECT`. So, unlike the PostgreSQL source, queries carry no
//! `SET LOCAL statement_timeout`; the console answers from PgBouncer's memory, and the
//! poll's timeout bounds a console that does not answer.
//!
//! At connect tokio-postgres sends only `user`, `database`, `client_encoding` and
//! `application_name` (plus `options` when the URL has one) and no statement, all of
//! which PgBouncer's console accepts without `ignore_startup_parameters`; an `options`
//! parameter is refused unless listed there.
//!
//! Column sets differ between PgBouncer releases (1.18 → 1.24 added and renamed columns),
//! and the console has no version number to gate them on as PostgreSQL's
//! `server_version_num` does; so every column is read by name and what the answer lacks
//! is left out (`sql_columns::families_present`). Names follow
//! prometheus-community/pgbouncer_exporter (0.11), so its dashboards and alerts work.

mod config;
mod databases;
mod lists;
mod pools;
mod stats;

use tokio_postgres::SimpleQueryRow;

use crate::config::PgBouncerConfig;
use crate::model::{labels, MetricFamily};
use crate::redact::Scrubber;
use crate::sources::postgres::{simple, timed_out, tls, Connection};
use crate::sources::sql_columns::text;
use crate::sources::LogOnce;
use crate::sources::{error_chain, up_family, ErrorReason, PollError, Source, SourceKind};

type Build = fn(&[SimpleQueryRow]) -> Result<Vec<MetricFamily>, PollError>;

/// The SHOW commands polled, in order: (collector label, command, builder).
const PARTS: [(&str, &str, Build); 5] = [
    ("pools", "SHOW POOLS", pools::families),
    ("stats", "SHOW STATS_TOTALS", stats::families),
    ("databases", "SHOW DATABASES", databases::families),
    ("lists", "SHOW LISTS", lists::families),
    ("config", "SHOW CONFIG", config::families),
];

pub struct PgBouncerSource {
    display_url: String,
    /// `Err` when the URL did not parse; validation makes that unreachable, but a poll
    /// then reports it instead of panicking.
    connector: Result<tls::PgConnector, String>,
    scrubber: Scrubber,
    connection: Option<Connection>,
    /// Problems already logged at warn level; repeats go to debug.
    logged: LogOnce,
}

impl PgBouncerSource {
    pub fn new(config: &PgBouncerConfig, scrubber: Scrubber) -> Self {
        let connector = tls::source_connector(
            config.url.expose(),
            crate::sources::inner_deadline(config.common.timeout),
            &scrubber,
        );
        PgBouncerSource {
            display_url: config.display_url.clone(),
            connector,
            scrubber,
            connection: None,
            logged: LogOnce::default(),
        }
    }

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
        let connector = self.connector.as_ref().map_err(|e| {
            PollError::new(ErrorReason::Connect, format!("invalid connection URL: {e}"))
        })?;
        let (client, driver) = connector
            .connect()
            .await
            .map_err(|e| self.classify(&e, true))?;
        self.connection = Some(Connection { client, driver });
        Ok(())
    }

    /// Runs one SHOW command on the kept connection.
    async fn show(&mut self, command: &str) -> Result<Vec<SimpleQueryRow>, PollError> {
        self.connect().await?;
        let result = match &self.connection {
            Some(c) => simple(&c.client, command).await,
            None => return Err(PollError::new(ErrorReason::Connect, "not connected")),
        };
        result.map_err(|e| {
            if e.is_closed() {
                self.connection = None;
            }
            let mut error = self.classify(&e, false);
            error.message = format!("{command}: {}", error.message);
            error
        })
    }

    fn classify(&self, error: &tokio_postgres::Error, connecting: bool) -> PollError {
        let doing = if connecting {
            "connecting to"
        } else {
            "querying"
        };
        let tls_failure = tls::failure(error);
        let reason = if error.as_db_error().is_some() {
            // During startup PgBouncer answers every refusal (unknown user, bad password,
            // a user the console does not admit, an unknown database or startup
            // parameter) with an error message: all are about who we are and how we log in.
            if connecting {
                ErrorReason::Auth
            } else {
                ErrorReason::Query
            }
        } else if tls_failure.is_some() {
            ErrorReason::Tls
        } else if timed_out(error) {
            ErrorReason::Timeout
        } else if error.is_closed() || connecting {
            ErrorReason::Connect
        } else {
            ErrorReason::Protocol
        };
        let detail = match (error.as_db_error(), tls_failure) {
            (Some(db), _) => format!("{}: {}{}", db.severity(), db.message(), hint(db.message())),
            (None, Some(tls)) => tls,
            (None, None) => error_chain(error),
        };
        let message = format!("{doing} {}: {detail}", self.display_url);
        PollError::new(reason, self.scrubber.scrub(&message))
    }

    /// Logs a problem at warn the first time it is seen, at debug afterwards.
    fn log_once(&mut self, key: String, message: &str) {
        self.logged.warn(key, &self.display_url, message);
    }
}

/// What to change for PgBouncer's terse refusals.
fn hint(message: &str) -> &'static str {
    if message == "not allowed" {
        " (the console admits only the users listed in PgBouncer's admin_users or stats_users)"
    } else if message == "admin access needed" {
        " (list the user in PgBouncer's admin_users or stats_users)"
    } else if message.starts_with("unsupported startup parameter") {
        " (remove it from the URL, or list it in PgBouncer's ignore_startup_parameters)"
    } else if message == "no such database" {
        " (the admin console is the database `pgbouncer`)"
    } else {
        ""
    }
}

/// `pgbouncer_version_info{version}` from SHOW VERSION (`PgBouncer 1.18.0`, kept whole as
/// pgbouncer_exporter does).
fn version_families(rows: &[SimpleQueryRow]) -> Result<Vec<MetricFamily>, PollError> {
    let mut info = MetricFamily::gauge(
        "pgbouncer_version_info",
        "The PgBouncer version, in the version label; the value is always 1.",
    );
    for row in rows {
        if let Some(version) = text(row, "version")? {
            info.push(labels(&[("version", version)]), 1.0);
        }
    }
    Ok(vec![info])
}

impl Source for PgBouncerSource {
    fn kind(&self) -> SourceKind {
        SourceKind::PgBouncer
    }

    async fn poll(&mut self, out: &mut Vec<MetricFamily>) -> Result<(), PollError> {
        self.connect().await?;
        let mut success = MetricFamily::gauge(
            "pgbouncer_scrape_collector_success",
            "Whether the SHOW command of the collector succeeded in the last poll (1) or not (0).",
        );
        let mut first_error: Option<PollError> = None;
        let mut any_ok = false;
        let version: (&str, &str, Build) = ("version", "SHOW VERSION", version_families);
        for (name, command, build) in std::iter::once(version).chain(PARTS) {
            let result = match self.show(command).await {
                Ok(rows) => build(&rows),
                Err(e) => Err(e),
            };
            match result {
                Ok(families) => {
                    any_ok = true;
                    out.extend(families);
                    success.push(labels(&[("collector", name)]), 1.0);
                }
                // The connection broke: PgBouncer is gone, not one command.
                Err(e) if e.reason == ErrorReason::Connect => {
                    self.connection = None;
                    return Err(e);
                }
                Err(e) => {
                    success.push(labels(&[("collector", name)]), 0.0);
                    self.log_once(
                        format!("{name}:{}", e.message),
                        &format!("collector {name} failed: {}", e.message),
                    );
                    first_error.get_or_insert(e);
                }
            }
        }
        // A console that refuses every command is as useless as one we cannot reach.
        if !any_ok {
            if let Some(e) = first_error {
                return Err(e);
            }
        }
        out.push(success);
        out.push(up(true));
        Ok(())
    }

    fn health_families(&self, _error: &PollError) -> Vec<MetricFamily> {
        vec![up(false)]
    }

    fn reset(&mut self) {
        // The console answers from PgBouncer's memory: there is no long query worth a
        // cancel request; dropping the connection is enough.
        self.connection = None;
    }
}

fn up(is_up: bool) -> MetricFamily {
    up_family("pgbouncer_up", "PgBouncer", is_up)
}

#[cfg(test)]
mod tests {
    use super::hint;

    #[test]
    fn refusals_point_at_the_setting_to_change() {
        assert!(hint("not allowed").contains("admin_users or stats_users"));
        assert!(
            hint("unsupported startup parameter: options").contains("ignore_startup_parameters")
        );
        assert_eq!(hint("password authentication failed"), "");
    }
}
