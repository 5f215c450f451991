//! Command-line flags, in Prometheus exporter style (`--config.file`, `--web.listen-address`).
//! These are raw flags; `app` turns them and the config file into what runs.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "stack_exporter",
    version,
    about = "One Prometheus /metrics for an app's PostgreSQL, Redis and HTTP endpoints.",
    long_about = "One Prometheus /metrics for an app's PostgreSQL, Redis and HTTP endpoints.\n\n\
        With no config file, polls PostgreSQL at $DATABASE_URL (else postgresql://postgres@127.0.0.1:5432/postgres) \
        and Redis at $REDIS_URL (else redis://127.0.0.1:6379)."
)]
pub struct Flags {
    /// YAML config file. Without it, ./stack_exporter.yml or
    /// /etc/stack_exporter/stack_exporter.yml is used if present, else the built-in default.
    #[arg(
        long = "config.file",
        env = "STACK_EXPORTER_CONFIG_FILE",
        value_name = "PATH"
    )]
    pub config_file: Option<PathBuf>,

    /// Address to listen on, e.g. 0.0.0.0:9650 or :9650; overrides web.listen_address.
    #[arg(long = "web.listen-address", value_name = "ADDR")]
    pub listen_address: Option<String>,

    /// Only log messages of this level or more severe.
    #[arg(long = "log.level", value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,

    /// Log line format.
    #[arg(long = "log.format", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Load, interpolate and validate the config, print it with secrets redacted, and exit
    /// (0 if valid, 1 otherwise).
    #[arg(long = "check-config")]
    pub check_config: bool,

    /// Poll every source once, print the exposition to stdout and exit (1 if a source
    /// failed).
    #[arg(long = "once", conflicts_with = "check_config")]
    pub once: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_flags_parse() {
        let f = Flags::try_parse_from([
            "stack_exporter",
            "--config.file",
            "x.yml",
            "--web.listen-address",
            ":9999",
            "--log.level",
            "debug",
            "--log.format",
            "json",
        ])
        .unwrap();
        assert_eq!(
            f.config_file.as_deref(),
            Some(std::path::Path::new("x.yml"))
        );
        assert_eq!(f.listen_address.as_deref(), Some(":9999"));
        assert_eq!(f.log_level, LogLevel::Debug);
        assert_eq!(f.log_format, LogFormat::Json);
    }

    #[test]
    fn bad_level_is_rejected() {
        assert!(Flags::try_parse_from(["stack_exporter", "--log.level", "loud"]).is_err());
        assert!(Flags::try_parse_from(["stack_exporter", "--once", "--check-config"]).is_err());
    }
}
