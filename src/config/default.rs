//! The config used when no file is given or found: one PostgreSQL and one Redis source
//! from the conventional `DATABASE_URL` / `REDIS_URL` variables.

use std::collections::BTreeMap;

use super::error::{ConfigError, ConfigErrors};
use super::load::Env;
use super::validate::{
    self, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_INTERVAL, DEFAULT_MAX_CONNECTIONS, DEFAULT_TIMEOUT,
};
use super::{Config, ConfigOrigin, PostgresConfig, RedisConfig, Secret, SourceCommon, WebConfig};
use crate::redact::redact_url;

pub const DEFAULT_POSTGRES_URL: &str = "postgresql://postgres@127.0.0.1:5432/postgres";
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Fails only when `DATABASE_URL` or `REDIS_URL` is set to something invalid: falling
/// back to localhost then would silently monitor the wrong server. An empty variable
/// counts as unset.
pub fn builtin_default(env: &Env) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    let mut url_from =
        |var: &str, fallback: &str, check: fn(&str, Option<&str>) -> Result<String, String>| {
            let raw = env
                .get_non_empty(var)
                .unwrap_or_else(|| fallback.to_owned());
            match check(&raw, None) {
                Ok(url) => url,
                Err(m) => {
                    errors.push(ConfigError::new(format!("${var}"), m));
                    String::new()
                }
            }
        };
    let pg_url = url_from("DATABASE_URL", DEFAULT_POSTGRES_URL, validate::postgres_url);
    let redis_url = url_from("REDIS_URL", DEFAULT_REDIS_URL, validate::redis_url);
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }

    let common = |name: &str| SourceCommon {
        name: name.to_owned(),
        interval: DEFAULT_INTERVAL,
        timeout: DEFAULT_TIMEOUT,
        labels: BTreeMap::new(),
    };
    Ok(Config {
        origin: ConfigOrigin::BuiltinDefault,
        web: WebConfig {
            listen_address: validate::default_listen_address(),
            auth: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        },
        postgres: vec![PostgresConfig {
            common: common("postgres"),
            display_url: redact_url(&pg_url),
            url: Secret::new(pg_url),
            collectors: Default::default(),
            custom_queries: Vec::new(),
        }],
        pgbouncer: Vec::new(),
        redis: vec![RedisConfig {
            common: common("redis"),
            display_url: redact_url(&redis_url),
            url: Secret::new(redis_url),
            key_checks: Default::default(),
            tls: Default::default(),
        }],
        apps: Vec::new(),
        remote_write: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_variables() {
        let c = builtin_default(&Env::empty()).unwrap();
        assert_eq!(c.origin, ConfigOrigin::BuiltinDefault);
        assert_eq!(c.postgres.len(), 1);
        assert_eq!(c.postgres[0].common.name, "postgres");
        assert_eq!(c.postgres[0].url.expose(), DEFAULT_POSTGRES_URL);
        assert_eq!(c.redis[0].common.name, "redis");
        assert_eq!(c.redis[0].url.expose(), DEFAULT_REDIS_URL);
        assert!(c.apps.is_empty());
        assert_eq!(c.web.listen_address.to_string(), "0.0.0.0:9650");
        assert_eq!(c.postgres[0].common.interval, DEFAULT_INTERVAL);
        assert_eq!(c.redis[0].common.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn with_variables() {
        let env = Env::from_map([
            ("DATABASE_URL", "postgres://app:pgsecret@db:5432/app"),
            ("REDIS_URL", "rediss://:rsecret@cache:6380/1"),
        ]);
        let c = builtin_default(&env).unwrap();
        assert_eq!(
            c.postgres[0].url.expose(),
            "postgres://app:pgsecret@db:5432/app"
        );
        assert_eq!(c.postgres[0].display_url, "postgres://app:***@db:5432/app");
        assert_eq!(c.redis[0].display_url, "rediss://:***@cache:6380/1");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("pgsecret") && !shown.contains("rsecret"),
            "{shown}"
        );
    }

    #[test]
    fn empty_variable_counts_as_unset() {
        let c = builtin_default(&Env::from_map([("DATABASE_URL", "")])).unwrap();
        assert_eq!(c.postgres[0].url.expose(), DEFAULT_POSTGRES_URL);
    }

    #[test]
    fn invalid_variables_are_errors() {
        let env = Env::from_map([
            ("DATABASE_URL", "mysql://u:hush@db/app"),
            ("REDIS_URL", "http://cache"),
        ]);
        let errs = builtin_default(&env).unwrap_err();
        assert_eq!(errs.len(), 2, "{errs}");
        let text = errs.to_string();
        assert!(
            text.starts_with("$DATABASE_URL: unsupported scheme `mysql`"),
            "{text}"
        );
        assert!(
            text.contains("$REDIS_URL: unsupported scheme `http`"),
            "{text}"
        );
        assert!(!text.contains("hush"), "{text}");
    }
}
