//! SHOW CONFIG: the connection limits among PgBouncer's settings (one row per setting:
//! `key`, `value`, …), as pgbouncer_exporter's `pgbouncer_config_*` gauges.

use tokio_postgres::SimpleQueryRow;

use crate::model::MetricFamily;
use crate::sources::sql_columns::{number, text};
use crate::sources::PollError;

/// (setting, metric, help)
const SETTINGS: [(&str, &str, &str); 2] = [
    (
        "max_client_conn",
        "pgbouncer_config_max_client_connections",
        "The max_client_conn setting: most client connections PgBouncer accepts.",
    ),
    (
        "max_user_connections",
        "pgbouncer_config_max_user_connections",
        "The max_user_connections setting: most server connections per user (0: no limit).",
    ),
];

pub(super) fn families(rows: &[SimpleQueryRow]) -> Result<Vec<MetricFamily>, PollError> {
    let mut out = Vec::new();
    for row in rows {
        let Some(key) = text(row, "key")? else {
            continue;
        };
        let Some((_, metric, help)) = SETTINGS.iter().find(|(k, _, _)| *k == key) else {
            continue;
        };
        if let Some(value) = number(row, "value")? {
            out.push(MetricFamily::gauge(*metric, *help).with_value(value));
        }
    }
    Ok(out)
}
