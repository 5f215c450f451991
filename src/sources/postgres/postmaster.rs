//! `pg_static{version,short_version}` and `pg_postmaster_start_time_seconds`.

use crate::model::{labels, MetricFamily};
use crate::sources::{ErrorReason, PollError};

use super::columns::{number, text};
use super::PostgresSource;

pub(super) async fn collect(
    source: &mut PostgresSource,
    out: &mut Vec<MetricFamily>,
) -> Result<(), PollError> {
    let rows = source
        .query(
            "SELECT version() AS version, \
             EXTRACT(EPOCH FROM pg_postmaster_start_time()) AS start_time",
        )
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| PollError::new(ErrorReason::Protocol, "SELECT version() returned no row"))?;
    let version = text(row, "version")?.unwrap_or_default();
    let short = short_version(source.version_num()).ok_or_else(|| {
        PollError::new(
            ErrorReason::Protocol,
            format!("unexpected server_version_num {}", source.version_num()),
        )
    })?;
    let mut info = MetricFamily::gauge(
        "pg_static",
        "Version string as reported by PostgreSQL; the value is always 1.",
    );
    info.push(
        labels(&[("short_version", &short), ("version", version)]),
        1.0,
    );
    out.push(info);
    if let Some(start) = number(row, "start_time")? {
        out.push(
            MetricFamily::gauge(
                "pg_postmaster_start_time_seconds",
                "Time at which the PostgreSQL server started, in seconds since the Unix epoch.",
            )
            .with_value(start),
        );
    }
    Ok(())
}

/// `server_version_num` as a three-part version: 150019 → "15.19.0", 90624 → "9.6.24".
fn short_version(n: u32) -> Option<String> {
    if n >= 100_000 {
        Some(format!("{}.{}.0", n / 10_000, n % 10_000))
    } else if n >= 80_000 {
        Some(format!("{}.{}.{}", n / 10_000, (n / 100) % 100, n % 100))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::short_version;

    #[test]
    fn versions() {
        assert_eq!(short_version(150019).as_deref(), Some("15.19.0"));
        assert_eq!(short_version(180004).as_deref(), Some("18.4.0"));
        assert_eq!(short_version(90624).as_deref(), Some("9.6.24"));
        assert_eq!(short_version(12), None);
    }
}
