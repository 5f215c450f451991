//! Redis (and Valkey): one persistent multiplexed connection per server. Connecting on
//! every poll would inflate the server's `connected_clients` and
//! `total_connections_received`, which users alert on.

mod info;
mod keys;
mod queues;
mod streams;

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError};

use crate::config::RedisConfig;
use crate::model::MetricFamily;
use crate::redact::Scrubber;
use crate::sources::{error_chain, up_family, ErrorReason, PollError, Source, SourceKind};

const CLIENT_NAME: &str = "stack_exporter";

pub struct RedisSource {
    display_url: String,
    client: Result<redis::Client, String>,
    timeout: Duration,
    scrubber: Scrubber,
    connection: Option<MultiplexedConnection>,
    key_checks: keys::KeyChecks,
}

impl RedisSource {
    pub fn new(config: &RedisConfig, scrubber: Scrubber) -> Self {
        let client =
            redis::Client::open(config.url.expose()).map_err(|e| scrubber.scrub(&e.to_string()));
        let key_checks = keys::KeyChecks::new(&config.key_checks, client.as_ref());
        RedisSource {
            display_url: config.display_url.clone(),
            key_checks,
            client,
            timeout: config.common.timeout,
            scrubber,
            connection: None,
        }
    }

    async fn connection(&mut self) -> Result<MultiplexedConnection, PollError> {
        if let Some(conn) = &self.connection {
            return Ok(conn.clone());
        }
        let client = self.client.as_ref().map_err(|e| {
            PollError::new(ErrorReason::Connect, format!("invalid connection URL: {e}"))
        })?;
        // The driver's own 500 ms response timeout is too short for WAN-hosted Redis; our
        // poll timeout is the bound that matters, so the driver gets the same.
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| self.classify(&e, "connecting to"))?;
        // Naming the connection lets operators tell ours apart in CLIENT LIST. Some
        // managed providers refuse CLIENT; that must not cost us the connection.
        let named: Result<(), RedisError> = redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(CLIENT_NAME)
            .query_async(&mut conn)
            .await;
        if let Err(e) = named {
            if e.is_io_error() || e.is_timeout() {
                return Err(self.classify(&e, "connecting to"));
            }
            tracing::debug!(redis = %self.display_url, error = %self.scrubber.scrub(&e.to_string()), "CLIENT SETNAME refused");
        }
        self.connection = Some(conn.clone());
        Ok(conn)
    }

    /// Sends one command; a broken connection is dropped so the next poll reconnects.
    pub(crate) async fn command<T: redis::FromRedisValue>(
        &mut self,
        cmd: &redis::Cmd,
    ) -> Result<T, PollError> {
        let mut conn = self.connection().await?;
        match cmd.query_async(&mut conn).await {
            Ok(v) => Ok(v),
            Err(e) => {
                let error = self.classify(&e, "querying");
                if matches!(error.reason, ErrorReason::Connect | ErrorReason::Timeout) {
                    self.connection = None;
                }
                Err(error)
            }
        }
    }

    fn classify(&self, error: &RedisError, doing: &str) -> PollError {
        let code = error.code().unwrap_or_default();
        let reason = if error.kind() == redis::ErrorKind::AuthenticationFailed
            || code == "NOAUTH"
            || code == "WRONGPASS"
        {
            ErrorReason::Auth
        } else if error.is_timeout() {
            ErrorReason::Timeout
        } else if error.is_io_error()
            || error.is_connection_refusal()
            || error.is_connection_dropped()
        {
            ErrorReason::Connect
        } else if matches!(
            error.kind(),
            redis::ErrorKind::Parse | redis::ErrorKind::UnexpectedReturnType
        ) {
            ErrorReason::Protocol
        } else {
            ErrorReason::Query
        };
        let message = format!("{doing} {}: {}", self.display_url, error_chain(error));
        PollError::new(reason, self.scrubber.scrub(&message))
    }
}

impl Source for RedisSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Redis
    }

    async fn poll(&mut self, out: &mut Vec<MetricFamily>) -> Result<(), PollError> {
        let text: String = self.command(&redis::cmd("INFO")).await?;
        let fields = info::parse(&text);
        info::instance_info(&fields, out)?;
        keys::collect(self, out).await;
        out.push(up(true));
        Ok(())
    }

    fn health_families(&self, _error: &PollError) -> Vec<MetricFamily> {
        vec![up(false)]
    }

    fn reset(&mut self) {
        self.connection = None;
    }
}

fn up(is_up: bool) -> MetricFamily {
    up_family("redis_up", "Redis", is_up)
}
