//! Redis (and Valkey): one persistent multiplexed connection per server. Connecting on
//! every poll would inflate the server's `connected_clients` and
//! `total_connections_received`, which users alert on.
//!
//! A poll is `INFO ALL` and then, pipelined on the same connection, the optional
//! commands (`CONFIG GET`, `SLOWLOG LEN`, `SLOWLOG GET 1`, `LATENCY LATEST`, and
//! `CLUSTER INFO` in cluster mode). A server may refuse any optional command (renamed
//! away, ACL, managed provider): it is then skipped for the rest of the connection and
//! logged once, so that we do not add an error reply to the server's `errorstats` on
//! every poll, and it is tried again after a reconnect. `redis_up` is 0 exactly when we
//! cannot connect, authenticate or run `INFO`.
//!
//! `fields.rs` is the table of INFO fields, `info.rs` parses INFO, `commands.rs` holds
//! the optional commands.

mod commands;
mod fields;
mod info;
mod keys;
mod queues;
mod streams;
mod tls;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError, RedisResult, Value};

use crate::config::RedisConfig;
use crate::model::{labels, MetricFamily};
use crate::redact::Scrubber;
use crate::sources::LogOnce;
use crate::sources::{
    error_chain, inner_deadline, up_family, ErrorReason, PollError, Source, SourceKind,
};

use commands::Optional;

const CLIENT_NAME: &str = "stack_exporter";

/// Error codes that say "not now" rather than "never": the command is tried again on
/// the next poll instead of being skipped for the connection.
const TRANSIENT_CODES: [&str; 5] = ["LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN"];

/// redis_exporter's default when `CONFIG GET databases` is not available.
const DEFAULT_DATABASES: usize = 16;

pub struct RedisSource {
    display_url: String,
    client: Result<redis::Client, (ErrorReason, String)>,
    timeout: Duration,
    scrubber: Scrubber,
    connection: Option<MultiplexedConnection>,
    /// Optional commands the server refused on the current connection.
    refused: BTreeSet<Optional>,
    /// Problems already logged at warn (or info) level; repeats go to debug.
    logged: LogOnce,
    key_checks: keys::KeyChecks,
}

impl RedisSource {
    pub fn new(config: &RedisConfig, scrubber: Scrubber) -> Self {
        let client = tls::client(config.url.expose(), &config.tls)
            .map_err(|(reason, e)| (reason, scrubber.scrub(&e)));
        if config.tls.insecure_skip_verify {
            tracing::warn!(redis = %config.display_url, "TLS certificate verification is off (tls.insecure_skip_verify): the server is not authenticated");
        }
        let key_checks =
            keys::KeyChecks::new(&config.key_checks, client.as_ref().map_err(|(_, e)| e));
        RedisSource {
            display_url: config.display_url.clone(),
            key_checks,
            client,
            timeout: config.common.timeout,
            scrubber,
            connection: None,
            refused: BTreeSet::new(),
            logged: LogOnce::default(),
        }
    }

    async fn connection(&mut self) -> Result<MultiplexedConnection, PollError> {
        if let Some(conn) = &self.connection {
            return Ok(conn.clone());
        }
        let client = self
            .client
            .as_ref()
            .map_err(|(reason, e)| PollError::new(*reason, e.clone()))?;
        // The driver's own 500 ms response timeout is too short for WAN-hosted Redis; our
        // poll timeout is the bound that matters, so the driver gets the same.
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(inner_deadline(self.timeout)))
            .set_response_timeout(Some(inner_deadline(self.timeout)));
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
        // A new connection may have another user or a reconfigured server behind it:
        // probe every optional command again.
        self.refused.clear();
        self.connection = Some(conn.clone());
        Ok(conn)
    }

    /// An error of a command every poll needs (`INFO`): a broken connection is dropped
    /// so the next poll reconnects.
    fn failed(&mut self, error: &RedisError) -> PollError {
        let error = self.classify(error, "querying");
        if matches!(
            error.reason,
            ErrorReason::Connect | ErrorReason::Timeout | ErrorReason::Protocol | ErrorReason::Tls
        ) {
            self.connection = None;
        }
        error
    }

    fn classify(&self, error: &RedisError, doing: &str) -> PollError {
        let code = error.code().unwrap_or_default();
        let tls_failure = tls::failure(error);
        let reason = if tls_failure.is_some() {
            ErrorReason::Tls
        } else if error.kind() == redis::ErrorKind::AuthenticationFailed
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
        let mut detail = tls_failure.unwrap_or_else(|| error_chain(error));
        // A plaintext port does not answer a TLS hello: it waits for a command line.
        if reason == ErrorReason::Timeout
            && doing.starts_with("connecting")
            && (self.display_url.starts_with("rediss:") || self.display_url.starts_with("valkeys:"))
        {
            detail.push_str(" (is TLS enabled on this port?)");
        }
        let message = format!("{doing} {}: {detail}", self.display_url);
        PollError::new(reason, self.scrubber.scrub(&message))
    }

    /// The reply of an optional command, `None` when it was skipped or refused. Only a
    /// broken connection is an error: the poll then fails as if `INFO` had.
    fn optional(
        &mut self,
        which: Optional,
        result: Option<RedisResult<Value>>,
    ) -> Result<Option<Value>, PollError> {
        match result {
            None => Ok(None),
            Some(Ok(value)) => Ok(Some(value)),
            Some(Err(e)) => self.optional_error(which, &e).map(|()| None),
        }
    }

    fn optional_error(&mut self, which: Optional, error: &RedisError) -> Result<(), PollError> {
        let code = error.code().unwrap_or_default().to_owned();
        let is_server_reply = matches!(
            error.kind(),
            redis::ErrorKind::Server(_) | redis::ErrorKind::Extension
        );
        if !is_server_reply {
            return Err(self.failed(error));
        }
        let detail = self.scrubber.scrub(&error_chain(error));
        let name = which.label();
        if TRANSIENT_CODES.contains(&code.as_str()) {
            self.log_once(
                format!("transient:{name}:{code}"),
                &format!("{name} failed for now ({detail}); trying again next poll"),
            );
            return Ok(());
        }
        self.refused.insert(which);
        let consequence = if which == Optional::InfoAll {
            "using plain INFO (no command, error or latency statistics)"
        } else {
            "skipped until the next reconnect"
        };
        self.log_once(
            format!("refused:{name}:{code}"),
            &format!("the server refused {name} ({detail}); {consequence}"),
        );
        Ok(())
    }

    /// Logs a problem at warn the first time it is seen, at debug afterwards, so a
    /// persisting problem does not flood the log every interval.
    fn log_once(&mut self, key: String, message: &str) {
        self.logged.warn(key, &self.display_url, message);
    }

    /// `INFO ALL`, or plain `INFO` where that is refused (some proxies and old servers).
    async fn info_text(&mut self, conn: &mut MultiplexedConnection) -> Result<String, PollError> {
        if !self.refused.contains(&Optional::InfoAll) {
            let all: RedisResult<String> = redis::cmd("INFO").arg("ALL").query_async(conn).await;
            match all {
                Ok(text) if !text.trim().is_empty() => return Ok(text),
                Ok(_) => {
                    self.refused.insert(Optional::InfoAll);
                }
                Err(e) => self.optional_error(Optional::InfoAll, &e)?,
            }
        }
        let plain: RedisResult<String> = redis::cmd("INFO").query_async(conn).await;
        plain.map_err(|e| self.failed(&e))
    }

    /// The command for `which`, or `None` when the server refused it on this connection.
    fn wanted(&self, which: Optional, cmd: impl FnOnce() -> redis::Cmd) -> Option<redis::Cmd> {
        (!self.refused.contains(&which)).then(cmd)
    }

    /// Reports a reply we could not read once; the command stays enabled (the server
    /// accepted it, so asking again costs it no error).
    fn unreadable(&mut self, which: Optional) {
        let name = which.label();
        self.log_once(
            format!("unreadable:{name}"),
            &format!("could not read the reply to {name}; its metrics are left out"),
        );
    }
}

/// Sends `cmd` (when there is one) on its own handle of the multiplexed connection, so
/// that several run pipelined: one round trip for all optional commands.
async fn send(
    mut conn: MultiplexedConnection,
    cmd: Option<redis::Cmd>,
) -> Option<RedisResult<Value>> {
    match cmd {
        Some(cmd) => Some(cmd.query_async(&mut conn).await),
        None => None,
    }
}

fn sub(name: &str, arg: &str) -> redis::Cmd {
    let mut cmd = redis::cmd(name);
    cmd.arg(arg);
    cmd
}

impl Source for RedisSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Redis
    }

    async fn poll(&mut self, out: &mut Vec<MetricFamily>) -> Result<(), PollError> {
        let mut conn = self.connection().await?;
        let text = self.info_text(&mut conn).await?;
        let info = info::parse(&text);
        info::instance_info(&info, out)?;
        let cluster = info.cluster_enabled();
        let major = info.major_version();

        let config = self.wanted(Optional::ConfigGet, || commands::config_get(major));
        let slowlog_len = self.wanted(Optional::SlowlogLen, || sub("SLOWLOG", "LEN"));
        let slowlog_get = self.wanted(Optional::SlowlogGet, || {
            let mut cmd = sub("SLOWLOG", "GET");
            cmd.arg(1);
            cmd
        });
        let latency = self.wanted(Optional::LatencyLatest, || sub("LATENCY", "LATEST"));
        let cluster_info = cluster
            .then(|| self.wanted(Optional::ClusterInfo, || sub("CLUSTER", "INFO")))
            .flatten();
        let (config, slowlog_len, slowlog_get, latency, cluster_info) = tokio::join!(
            send(conn.clone(), config),
            send(conn.clone(), slowlog_len),
            send(conn.clone(), slowlog_get),
            send(conn.clone(), latency),
            send(conn.clone(), cluster_info),
        );
        let config = self.optional(Optional::ConfigGet, config)?;
        let slowlog_len = self.optional(Optional::SlowlogLen, slowlog_len)?;
        let slowlog_get = self.optional(Optional::SlowlogGet, slowlog_get)?;
        let latency = self.optional(Optional::LatencyLatest, latency)?;
        let cluster_info = self.optional(Optional::ClusterInfo, cluster_info)?;

        let config_pairs = config.as_ref().map(commands::config_pairs);
        // A cluster node has one database; elsewhere redis_exporter assumes Redis's
        // default of 16 when CONFIG is not available.
        let databases = if cluster {
            1
        } else {
            config_pairs
                .as_deref()
                .and_then(commands::config_databases)
                .unwrap_or(DEFAULT_DATABASES)
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        info::families(&info, databases, now, out);

        match &config_pairs {
            Some(pairs) if !pairs.is_empty() => commands::config_families(pairs, out),
            Some(_) => self.unreadable(Optional::ConfigGet),
            // Without CONFIG, INFO still has the two limits users alert on; io-threads
            // has no INFO equivalent and is left out.
            None => {
                let from_info = [("maxmemory", "maxmemory"), ("maxclients", "maxclients")].map(
                    |(param, field)| {
                        (
                            param.to_owned(),
                            info.get(field).unwrap_or_default().to_owned(),
                        )
                    },
                );
                commands::config_families(&from_info, out);
            }
        }
        type Reader = fn(&Value, &mut Vec<MetricFamily>) -> bool;
        let readers: [(Optional, Option<Value>, Reader); 4] = [
            (Optional::SlowlogLen, slowlog_len, commands::slowlog_len),
            (Optional::SlowlogGet, slowlog_get, commands::slowlog_last),
            (Optional::LatencyLatest, latency, commands::latency_latest),
            (Optional::ClusterInfo, cluster_info, commands::cluster_info),
        ];
        for (which, reply, read) in readers {
            if let Some(reply) = reply {
                if !read(&reply, out) {
                    self.unreadable(which);
                }
            }
        }

        let unknown = info::unknown_fields(&info);
        if !unknown.is_empty() {
            let key = format!("unknown:{}", unknown.join(","));
            if self.logged.first(key) {
                tracing::info!(
                    redis = %self.display_url,
                    fields = %unknown.join(" "),
                    "INFO has numeric fields this version does not export"
                );
            }
        }
        out.push(
            MetricFamily::gauge(
                "redis_info_unknown_fields",
                "Numeric INFO fields this exporter has no mapping for and does not export (names logged once).",
            )
            .with_value(unknown.len() as f64),
        );

        let mut available = MetricFamily::gauge(
            "redis_optional_command_available",
            "Whether the server accepts the optional command (1) or refused it, so it is skipped until the next reconnect (0).",
        );
        for which in Optional::ALL {
            if which == Optional::ClusterInfo && !cluster {
                continue;
            }
            let value = if self.refused.contains(&which) {
                0.0
            } else {
                1.0
            };
            available.push(labels(&[("cmd", which.label())]), value);
        }
        out.push(available);
        // Key checks, streams and queue presets never fail the poll: they report their
        // own success per collector.
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
