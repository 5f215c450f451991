//! SHOW LISTS: counts of PgBouncer's internal lists, one row per list (`list`, `items`),
//! each as its own unlabelled gauge under pgbouncer_exporter's name. Lists it does not
//! name (`dns_pending`, ones added later) are left out.

use tokio_postgres::SimpleQueryRow;

use crate::model::MetricFamily;
use crate::sources::sql_columns::{number, text};
use crate::sources::PollError;

/// (list, metric, help)
const LISTS: [(&str, &str, &str); 11] = [
    (
        "databases",
        "pgbouncer_databases",
        "Database entries PgBouncer knows.",
    ),
    ("users", "pgbouncer_users", "Users PgBouncer knows."),
    ("pools", "pgbouncer_pools", "Pools (database, user pairs)."),
    (
        "free_clients",
        "pgbouncer_free_clients",
        "Client connection slots allocated and free.",
    ),
    (
        "used_clients",
        "pgbouncer_used_clients",
        "Client connections in use.",
    ),
    (
        "login_clients",
        "pgbouncer_login_clients",
        "Client connections logging in.",
    ),
    (
        "free_servers",
        "pgbouncer_free_servers",
        "Server connection slots allocated and free.",
    ),
    (
        "used_servers",
        "pgbouncer_used_servers",
        "Server connections in use.",
    ),
    (
        "dns_names",
        "pgbouncer_cached_dns_names",
        "Host names in the DNS cache.",
    ),
    (
        "dns_zones",
        "pgbouncer_cached_dns_zones",
        "DNS zones in the cache.",
    ),
    (
        "dns_queries",
        "pgbouncer_in_flight_dns_queries",
        "DNS queries in flight.",
    ),
];

pub(super) fn families(rows: &[SimpleQueryRow]) -> Result<Vec<MetricFamily>, PollError> {
    let mut out = Vec::new();
    for row in rows {
        let Some(list) = text(row, "list")? else {
            continue;
        };
        let Some((_, metric, help)) = LISTS.iter().find(|(l, _, _)| *l == list) else {
            continue;
        };
        if let Some(items) = number(row, "items")? {
            out.push(MetricFamily::gauge(*metric, *help).with_value(items));
        }
    }
    Ok(out)
}
