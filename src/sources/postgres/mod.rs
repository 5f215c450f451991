//! PostgreSQL: one connection per server, kept between polls and re-established when it
//! breaks. Queries go through the simple-query protocol only, so the source works through
//! transaction poolers (PgBouncer, Supavisor) that cannot keep named statements.
//!
//! Collectors live one per file; each appends its families to the poll's output.

mod static_info;
pub(crate) mod tls;

use tokio::task::JoinHandle;
use tokio_postgres::{Client, SimpleQueryMessage, SimpleQueryRow};

use crate::config::PostgresConfig;
use crate::model::MetricFamily;
use crate::redact::Scrubber;
use crate::sources::{error_chain, up_family, ErrorReason, PollError, Source, SourceKind};

const APPLICATION_NAME: &str = "stack_exporter";

pub struct PostgresSource {
    display_url: String,
    /// `None` when the URL did not parse; validation makes that unreachable, but a poll
    /// then reports it instead of panicking.
    pg_config: Result<tls::PgConnector, String>,
    scrubber: Scrubber,
    connection: Option<Connection>,
}

struct Connection {
    client: Client,
    driver: JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // The driver task owns the socket; ending it closes the connection at once.
        self.driver.abort();
    }
}

impl PostgresSource {
    pub fn new(config: &PostgresConfig, scrubber: Scrubber) -> Self {
        let pg_config = tls::prepare(config.url.expose())
            .map(|mut c| {
                if c.config().get_application_name().is_none() {
                    c.config_mut().application_name(APPLICATION_NAME);
                }
                c
            })
            .map_err(|e| scrubber.scrub(&e));
        PostgresSource {
            display_url: config.display_url.clone(),
            pg_config,
            scrubber,
            connection: None,
        }
    }

    async fn connect(&mut self) -> Result<&Client, PollError> {
        if self
            .connection
            .as_ref()
            .is_some_and(|c| c.client.is_closed())
        {
            self.connection = None;
        }
        if self.connection.is_none() {
            let pg_config = self.pg_config.as_ref().map_err(|e| {
                PollError::new(ErrorReason::Connect, format!("invalid connection URL: {e}"))
            })?;
            let (client, driver) = pg_config
                .connect()
                .await
                .map_err(|e| self.classify(&e, "connecting"))?;
            self.connection = Some(Connection { client, driver });
        }
        match &self.connection {
            Some(c) => Ok(&c.client),
            None => Err(PollError::new(ErrorReason::Connect, "not connected")),
        }
    }

    fn classify(&self, error: &tokio_postgres::Error, doing: &str) -> PollError {
        let tls_failure = tls::failure(error);
        let reason = if let Some(db) = error.as_db_error() {
            // 28000 invalid_authorization_specification, 28P01 invalid_password,
            // 3D000 invalid_catalog_name (no such database: a credentials problem too).
            match db.code().code() {
                "28000" | "28P01" | "3D000" => ErrorReason::Auth,
                _ => ErrorReason::Query,
            }
        } else if tls_failure.is_some() {
            ErrorReason::Tls
        } else if error.is_closed() || doing == "connecting" {
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
}

impl Source for PostgresSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Postgres
    }

    async fn poll(&mut self, out: &mut Vec<MetricFamily>) -> Result<(), PollError> {
        self.connect().await?;
        let result = static_info::collect(self, out).await;
        if let Err(e) = &result {
            if e.reason == ErrorReason::Connect {
                self.connection = None;
            }
        }
        result?;
        out.push(up(true));
        Ok(())
    }

    fn health_families(&self, _error: &PollError) -> Vec<MetricFamily> {
        vec![up(false)]
    }

    fn reset(&mut self) {
        // The abandoned query would otherwise run on until the server notices the socket
        // is gone.
        if let (Some(c), Ok(connector)) = (self.connection.take(), &self.pg_config) {
            connector.cancel_in_background(c.client.cancel_token());
        }
    }
}

fn up(is_up: bool) -> MetricFamily {
    up_family("pg_up", "PostgreSQL", is_up)
}

impl PostgresSource {
    /// Runs one statement through the simple-query protocol and returns its rows.
    pub(crate) async fn query(&mut self, sql: &str) -> Result<Vec<SimpleQueryRow>, PollError> {
        let messages = {
            let client = self.connect().await?;
            client.simple_query(sql).await
        };
        let messages = messages.map_err(|e| self.classify(&e, "querying"))?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some(row),
                _ => None,
            })
            .collect())
    }
}
