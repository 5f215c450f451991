//! `pg_static{version,short_version}`: which server we are talking to.

use crate::model::{labels, MetricFamily};
use crate::sources::{ErrorReason, PollError};

use super::PostgresSource;

pub(super) async fn collect(
    source: &mut PostgresSource,
    out: &mut Vec<MetricFamily>,
) -> Result<(), PollError> {
    let rows = source
        .query("SELECT version(), current_setting('server_version_num')")
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| PollError::new(ErrorReason::Protocol, "SELECT version() returned no row"))?;
    let version = row.get(0).unwrap_or_default();
    let number = row.get(1).unwrap_or_default();
    let short = short_version(number).ok_or_else(|| {
        PollError::new(
            ErrorReason::Protocol,
            format!("unexpected server_version_num `{number}`"),
        )
    })?;
    let mut family = MetricFamily::gauge(
        "pg_static",
        "Version string as reported by PostgreSQL; the value is always 1.",
    );
    family.push(
        labels(&[("short_version", &short), ("version", version)]),
        1.0,
    );
    out.push(family);
    Ok(())
}

/// `server_version_num` as a three-part version: 150019 → "15.19.0", 90624 → "9.6.24".
fn short_version(num: &str) -> Option<String> {
    let n: u32 = num.trim().parse().ok()?;
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
        assert_eq!(short_version("150019").as_deref(), Some("15.19.0"));
        assert_eq!(short_version("180004").as_deref(), Some("18.4.0"));
        assert_eq!(short_version("90624").as_deref(), Some("9.6.24"));
        assert_eq!(short_version("banana"), None);
        assert_eq!(short_version("12"), None);
    }
}
