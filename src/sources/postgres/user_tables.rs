//! Per-table statistics (`pg_stat_user_tables_*`, `pg_statio_user_tables_*`) for every
//! configured or discovered database, not only the one in the URL. Cardinality is
//! bounded twice: at most `max_databases` databases per poll, and in each the
//! `max_tables` largest tables.

use std::collections::HashSet;

use crate::model::MetricFamily;
use crate::sources::{ErrorReason, PollError};

use super::columns::{col, families, Column, Kind};
use super::PostgresSource;

const TABLES: &[Column] = &[
    col("seq_scan", "pg_stat_user_tables_seq_scan", Kind::BareCounter, "Number of sequential scans initiated on this table."),
    col("seq_tup_read", "pg_stat_user_tables_seq_tup_read", Kind::BareCounter, "Number of live rows fetched by sequential scans."),
    col("idx_scan", "pg_stat_user_tables_idx_scan", Kind::BareCounter, "Number of index scans initiated on this table."),
    col("idx_tup_fetch", "pg_stat_user_tables_idx_tup_fetch", Kind::BareCounter, "Number of live rows fetched by index scans."),
    col("n_tup_ins", "pg_stat_user_tables_n_tup_ins", Kind::BareCounter, "Number of rows inserted."),
    col("n_tup_upd", "pg_stat_user_tables_n_tup_upd", Kind::BareCounter, "Number of rows updated."),
    col("n_tup_del", "pg_stat_user_tables_n_tup_del", Kind::BareCounter, "Number of rows deleted."),
    col("n_tup_hot_upd", "pg_stat_user_tables_n_tup_hot_upd", Kind::BareCounter, "Number of rows HOT updated (no separate index update required)."),
    col("n_live_tup", "pg_stat_user_tables_n_live_tup", Kind::Gauge, "Estimated number of live rows."),
    col("n_dead_tup", "pg_stat_user_tables_n_dead_tup", Kind::Gauge, "Estimated number of dead rows."),
    col("n_mod_since_analyze", "pg_stat_user_tables_n_mod_since_analyze", Kind::Gauge, "Estimated number of rows changed since the last analyze."),
    col("last_vacuum", "pg_stat_user_tables_last_vacuum", Kind::Gauge, "Last time the table was manually vacuumed, in seconds since the Unix epoch; 0 if never."),
    col("last_autovacuum", "pg_stat_user_tables_last_autovacuum", Kind::Gauge, "Last time the table was vacuumed by autovacuum, in seconds since the Unix epoch; 0 if never."),
    col("last_analyze", "pg_stat_user_tables_last_analyze", Kind::Gauge, "Last time the table was manually analyzed, in seconds since the Unix epoch; 0 if never."),
    col("last_autoanalyze", "pg_stat_user_tables_last_autoanalyze", Kind::Gauge, "Last time the table was analyzed by autovacuum, in seconds since the Unix epoch; 0 if never."),
    col("vacuum_count", "pg_stat_user_tables_vacuum_count", Kind::BareCounter, "Number of times the table has been manually vacuumed."),
    col("autovacuum_count", "pg_stat_user_tables_autovacuum_count", Kind::BareCounter, "Number of times the table has been vacuumed by autovacuum."),
    col("analyze_count", "pg_stat_user_tables_analyze_count", Kind::BareCounter, "Number of times the table has been manually analyzed."),
    col("autoanalyze_count", "pg_stat_user_tables_autoanalyze_count", Kind::BareCounter, "Number of times the table has been analyzed by autovacuum."),
    col("index_size", "pg_stat_user_tables_index_size_bytes", Kind::Gauge, "Disk space used by the table's indexes, in bytes."),
    col("table_size", "pg_stat_user_tables_table_size_bytes", Kind::Gauge, "Disk space used by the table (with TOAST, without indexes), in bytes."),
    col("heap_blks_read", "pg_statio_user_tables_heap_blocks_read", Kind::BareCounter, "Number of disk blocks read from this table."),
    col("heap_blks_hit", "pg_statio_user_tables_heap_blocks_hit", Kind::BareCounter, "Number of buffer hits in this table."),
    col("idx_blks_read", "pg_statio_user_tables_idx_blocks_read", Kind::BareCounter, "Number of disk blocks read from all indexes on this table."),
    col("idx_blks_hit", "pg_statio_user_tables_idx_blocks_hit", Kind::BareCounter, "Number of buffer hits in all indexes on this table."),
    col("toast_blks_read", "pg_statio_user_tables_toast_blocks_read", Kind::BareCounter, "Number of disk blocks read from this table's TOAST table."),
    col("toast_blks_hit", "pg_statio_user_tables_toast_blocks_hit", Kind::BareCounter, "Number of buffer hits in this table's TOAST table."),
    col("tidx_blks_read", "pg_statio_user_tables_tidx_blocks_read", Kind::BareCounter, "Number of disk blocks read from this table's TOAST table indexes."),
    col("tidx_blks_hit", "pg_statio_user_tables_tidx_blocks_hit", Kind::BareCounter, "Number of buffer hits in this table's TOAST table indexes."),
];

fn is_pattern(name: &str) -> bool {
    name.contains(['*', '?'])
}

/// Shell-style matching: `*` any run of characters, `?` one character; everything else
/// literal. Database names are short, so the simple backtracking is plenty.
fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn tables_sql(max_tables: usize) -> String {
    format!(
        "SELECT current_database() AS datname, s.schemaname, s.relname, \
         s.seq_scan, s.seq_tup_read, COALESCE(s.idx_scan, 0) AS idx_scan, \
         COALESCE(s.idx_tup_fetch, 0) AS idx_tup_fetch, s.n_tup_ins, s.n_tup_upd, s.n_tup_del, \
         s.n_tup_hot_upd, s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze, \
         COALESCE(EXTRACT(EPOCH FROM s.last_vacuum), 0) AS last_vacuum, \
         COALESCE(EXTRACT(EPOCH FROM s.last_autovacuum), 0) AS last_autovacuum, \
         COALESCE(EXTRACT(EPOCH FROM s.last_analyze), 0) AS last_analyze, \
         COALESCE(EXTRACT(EPOCH FROM s.last_autoanalyze), 0) AS last_autoanalyze, \
         s.vacuum_count, s.autovacuum_count, s.analyze_count, s.autoanalyze_count, \
         pg_indexes_size(s.relid) AS index_size, pg_table_size(s.relid) AS table_size, \
         COALESCE(io.heap_blks_read, 0) AS heap_blks_read, COALESCE(io.heap_blks_hit, 0) AS heap_blks_hit, \
         COALESCE(io.idx_blks_read, 0) AS idx_blks_read, COALESCE(io.idx_blks_hit, 0) AS idx_blks_hit, \
         COALESCE(io.toast_blks_read, 0) AS toast_blks_read, COALESCE(io.toast_blks_hit, 0) AS toast_blks_hit, \
         COALESCE(io.tidx_blks_read, 0) AS tidx_blks_read, COALESCE(io.tidx_blks_hit, 0) AS tidx_blks_hit \
         FROM pg_stat_user_tables s JOIN pg_statio_user_tables io USING (relid) \
         ORDER BY pg_total_relation_size(s.relid) DESC, s.relid LIMIT {max_tables}"
    )
}

pub(super) async fn collect(
    source: &mut PostgresSource,
    out: &mut Vec<MetricFamily>,
) -> Result<(), PollError> {
    let Some(options) = source.collectors.user_tables.clone() else {
        return Ok(());
    };
    let version = source.version_num();
    // Exact names in `databases` are visited even if discovery would not list them (a
    // database that refuses CONNECT then fails with a clear error); patterns select
    // among the discovered ones.
    let exact: Vec<String> = options
        .databases
        .iter()
        .filter(|d| !is_pattern(d))
        .cloned()
        .collect();
    let mut databases: Vec<String> = if exact.len() == options.databases.len() && !exact.is_empty()
    {
        exact
    } else {
        let discovered = source
            .first_column(
                "SELECT datname FROM pg_database \
                 WHERE datallowconn AND NOT datistemplate \
                   AND has_database_privilege(datname, 'CONNECT') \
                 ORDER BY datname",
            )
            .await?;
        let mut wanted: Vec<String> = discovered
            .into_iter()
            .filter(|d| {
                options.databases.is_empty() || options.databases.iter().any(|p| glob_match(p, d))
            })
            .collect();
        for name in exact {
            if !wanted.contains(&name) {
                wanted.push(name);
            }
        }
        wanted
    };
    databases.retain(|d| !options.exclude_databases.iter().any(|p| glob_match(p, d)));
    if databases.len() > options.max_databases {
        let skipped = databases.split_off(options.max_databases);
        source.log_once(
            format!("user_tables-max-databases:{}", skipped.join(",")),
            &format!(
                "user_tables: more than {} databases; skipping {} (raise collectors.user_tables.max_databases or list databases)",
                options.max_databases,
                skipped.join(", ")
            ),
        );
    }
    let wanted: HashSet<String> = databases.iter().cloned().collect();
    source.retain_databases(&wanted);

    let sql = tables_sql(options.max_tables);
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for db in &databases {
        match source.query_in(db, &sql).await {
            Ok(r) => rows.extend(r),
            // The main connection broke: give up on this poll.
            Err(e) if e.reason == ErrorReason::Connect => return Err(e),
            Err(e) => failed.push(format!("{db}: {}", e.message)),
        }
    }
    out.extend(families(
        &rows,
        &["datname", "schemaname", "relname"],
        TABLES,
        version,
    )?);
    if failed.is_empty() {
        Ok(())
    } else {
        Err(PollError::new(ErrorReason::Query, failed.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("app", "app"));
        assert!(!glob_match("app", "apps"));
        assert!(glob_match("app_*", "app_eu"));
        assert!(glob_match("app_*", "app_"));
        assert!(!glob_match("app_*", "ap"));
        assert!(glob_match("*_test", "orders_test"));
        assert!(glob_match("t?st", "test"));
        assert!(!glob_match("t?st", "toast"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("données*", "données_2"));
    }
}
