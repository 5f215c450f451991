//! The one table of `INFO` fields: which metric each known field feeds, its type, scale
//! and value mapping. Fields are looked up by name, never by position, so sections
//! reordered or fields added by a newer Redis (or Valkey) cannot shift values onto the
//! wrong metric.
//!
//! Names are redis_exporter's where it has the field (its users' dashboards and alerts
//! query them); fields it does not export follow Prometheus naming (`_total` counters,
//! base units). The deliberate differences are listed in docs/redis.md.
//!
//! Fields with their own shape (keyspace `dbN`, `slaveN`, `cmdstat_*`, `errorstat_*`,
//! `latency_percentiles_usec_*`, the replica's `master_*` link fields) are handled in
//! `info.rs`; string fields that become labels are in [`IGNORED`].

use std::collections::HashMap;
use std::sync::OnceLock;

/// How a field becomes a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Gauge,
    /// A counter; the metric name here is without `_total`, which the samples get.
    Counter,
    /// A counter named without `_total`, kept as redis_exporter names it.
    BareCounter,
}

/// How a field's text becomes a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mapping {
    Number,
    /// `ok` → 1, `err`/`fail` → 0 (the `*_status` fields).
    OkErr,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Field {
    pub info: &'static str,
    pub metric: &'static str,
    pub kind: Kind,
    pub help: &'static str,
    /// Multiplies the value, e.g. 1e-6 for microseconds → seconds.
    pub scale: f64,
    pub mapping: Mapping,
}

const fn field(info: &'static str, metric: &'static str, kind: Kind, help: &'static str) -> Field {
    Field {
        info,
        metric,
        kind,
        help,
        scale: 1.0,
        mapping: Mapping::Number,
    }
}

const fn g(info: &'static str, metric: &'static str, help: &'static str) -> Field {
    field(info, metric, Kind::Gauge, help)
}

const fn c(info: &'static str, metric: &'static str, help: &'static str) -> Field {
    field(info, metric, Kind::Counter, help)
}

const fn bare(info: &'static str, metric: &'static str, help: &'static str) -> Field {
    field(info, metric, Kind::BareCounter, help)
}

impl Field {
    const fn scaled(mut self, scale: f64) -> Self {
        self.scale = scale;
        self
    }

    const fn ok_err(mut self) -> Self {
        self.mapping = Mapping::OkErr;
        self
    }

    /// The field's value as the metric's number; `None` when it is not one.
    pub fn value(&self, text: &str) -> Option<f64> {
        match self.mapping {
            Mapping::Number => parse_number(text).map(|v| v * self.scale),
            Mapping::OkErr => match text.trim() {
                "ok" => Some(1.0),
                "err" | "fail" | "failed" => Some(0.0),
                _ => None,
            },
        }
    }
}

/// A number as Redis prints it (integers, decimals, `nan`, `inf`); `None` otherwise
/// (`1.09M`, `100.00%`, hex ids).
pub(super) fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok()
}

const MS: f64 = 1e-3;
const US: f64 = 1e-6;

/// Every INFO field we export, by section in Redis's order.
#[rustfmt::skip]
pub(super) const FIELDS: &[Field] = &[
    // # Server
    g("uptime_in_seconds", "redis_uptime_in_seconds", "Seconds since the server started."),
    g("process_id", "redis_process_id", "Process id of the server."),
    g("hz", "redis_hz", "Current frequency of the server's background tasks, in hertz."),
    g("clients_hz", "redis_clients_hz", "Frequency at which client timeouts and buffers are checked, in hertz (Valkey 8+)."),
    // # TLS (Valkey 9+; 0 when the certificate is not configured)
    g("tls_server_cert_expires_in_seconds", "redis_tls_server_cert_expires_in_seconds", "Seconds until the server's TLS certificate expires (0: none configured)."),
    g("tls_client_cert_expires_in_seconds", "redis_tls_client_cert_expires_in_seconds", "Seconds until the TLS client certificate used for replication and cluster links expires (0: none configured)."),
    g("tls_ca_cert_expires_in_seconds", "redis_tls_ca_cert_expires_in_seconds", "Seconds until the first of the trusted TLS CA certificates expires (0: none configured)."),
    g("configured_hz", "redis_configured_hz", "Configured frequency of the server's background tasks, in hertz."),
    g("io_threads_active", "redis_io_threads_active", "Whether I/O threads are active (1) or not (0)."),
    // # Clients
    g("connected_clients", "redis_connected_clients", "Client connections, excluding replicas."),
    g("cluster_connections", "redis_cluster_connections", "Connections of the cluster bus."),
    g("client_recent_max_input_buffer", "redis_client_recent_max_input_buffer_bytes", "Biggest input buffer among current clients, in bytes."),
    g("client_recent_max_output_buffer", "redis_client_recent_max_output_buffer_bytes", "Biggest output buffer among current clients, in bytes."),
    g("client_longest_output_list", "redis_client_longest_output_list", "Longest output list among current clients (Redis < 5)."),
    g("client_biggest_input_buf", "redis_client_biggest_input_buf", "Biggest input buffer among current clients (Redis < 5)."),
    g("blocked_clients", "redis_blocked_clients", "Clients waiting in a blocking call."),
    g("tracking_clients", "redis_tracking_clients", "Clients being tracked (client-side caching)."),
    g("pubsub_clients", "redis_pubsub_clients", "Clients in pub/sub mode."),
    g("watching_clients", "redis_watching_clients", "Clients in WATCH mode."),
    g("clients_in_timeout_table", "redis_clients_in_timeout_table", "Clients in the blocking-timeout table."),
    g("total_watched_keys", "redis_watched_keys", "Keys being watched."),
    g("total_blocking_keys", "redis_blocking_keys", "Keys clients are blocked on."),
    g("total_blocking_keys_on_nokey", "redis_blocking_keys_on_nokey", "Keys clients are blocked on that also unblock when the key is deleted."),
    g("paused_timeout_milliseconds", "redis_paused_timeout_seconds", "Time left of the running CLIENT PAUSE, in seconds (Valkey 8+).").scaled(MS),
    // # Memory
    g("used_memory", "redis_memory_used_bytes", "Bytes allocated by the server's allocator."),
    g("used_memory_rss", "redis_memory_used_rss_bytes", "Resident set size of the server, in bytes."),
    g("used_memory_peak", "redis_memory_used_peak_bytes", "Peak of used_memory, in bytes."),
    g("used_memory_overhead", "redis_memory_used_overhead_bytes", "Bytes used for internal structures rather than data."),
    g("used_memory_startup", "redis_memory_used_startup_bytes", "Bytes used at startup."),
    g("used_memory_dataset", "redis_memory_used_dataset_bytes", "Bytes used by the dataset."),
    g("used_memory_lua", "redis_memory_used_lua_bytes", "Bytes used by the Lua engine."),
    g("used_memory_vm_eval", "redis_memory_used_vm_eval_bytes", "Bytes used by the EVAL script engine."),
    g("used_memory_scripts_eval", "redis_memory_used_scripts_eval_bytes", "Bytes of overhead of EVAL scripts."),
    g("used_memory_vm_functions", "redis_memory_used_vm_functions_bytes", "Bytes used by the function engine."),
    g("used_memory_vm_total", "redis_memory_used_vm_total_bytes", "Bytes used by all script engines."),
    g("used_memory_functions", "redis_memory_used_functions_bytes", "Bytes of overhead of functions."),
    g("used_memory_scripts", "redis_memory_used_scripts_bytes", "Bytes of overhead of scripts and functions."),
    g("number_of_cached_scripts", "redis_number_of_cached_scripts", "EVAL scripts cached by the server."),
    g("number_of_functions", "redis_number_of_functions", "Functions loaded."),
    g("number_of_libraries", "redis_number_of_libraries", "Function libraries loaded."),
    g("maxmemory", "redis_memory_max_bytes", "The maxmemory setting, in bytes (0: no limit)."),
    g("total_system_memory", "redis_total_system_memory_bytes", "Memory of the host, in bytes."),
    g("allocator_allocated", "redis_allocator_allocated_bytes", "Bytes allocated by the allocator."),
    g("allocator_active", "redis_allocator_active_bytes", "Bytes in the allocator's active pages."),
    g("allocator_resident", "redis_allocator_resident_bytes", "Bytes resident in the allocator."),
    g("allocator_muzzy", "redis_allocator_muzzy_bytes", "Bytes in the allocator's muzzy pages."),
    g("allocator_frag_ratio", "redis_allocator_frag_ratio", "Ratio of allocator_active to allocator_allocated."),
    g("allocator_frag_bytes", "redis_allocator_frag_bytes", "allocator_active minus allocator_allocated, in bytes."),
    g("allocator_rss_ratio", "redis_allocator_rss_ratio", "Ratio of allocator_resident to allocator_active."),
    g("allocator_rss_bytes", "redis_allocator_rss_bytes", "allocator_resident minus allocator_active, in bytes."),
    g("rss_overhead_ratio", "redis_rss_overhead_ratio", "Ratio of used_memory_rss to allocator_resident."),
    g("rss_overhead_bytes", "redis_rss_overhead_bytes", "used_memory_rss minus allocator_resident, in bytes."),
    g("mem_fragmentation_ratio", "redis_mem_fragmentation_ratio", "Ratio of used_memory_rss to used_memory."),
    g("mem_fragmentation_bytes", "redis_mem_fragmentation_bytes", "used_memory_rss minus used_memory, in bytes."),
    g("mem_not_counted_for_evict", "redis_mem_not_counted_for_eviction_bytes", "Bytes not counted for eviction (replica and AOF buffers)."),
    g("mem_replication_backlog", "redis_mem_replication_backlog_bytes", "Bytes used by the replication backlog."),
    g("mem_total_replication_buffers", "redis_mem_total_replication_buffers_bytes", "Bytes used by replication buffers."),
    g("mem_clients_slaves", "redis_mem_clients_slaves", "Bytes used by replica clients."),
    g("mem_clients_normal", "redis_mem_clients_normal", "Bytes used by normal clients."),
    g("mem_replicas_repl_buffer", "redis_mem_replicas_repl_buffer_bytes", "Bytes of the replication buffer held for replicas (Valkey 9+)."),
    g("mem_cluster_slot_import", "redis_mem_cluster_slot_import_bytes", "Bytes used by slot migrations being imported (Valkey 9+)."),
    g("mem_cluster_slot_export", "redis_mem_cluster_slot_export_bytes", "Bytes used by slot migrations being exported (Valkey 9+)."),
    g("mem_cluster_links", "redis_mem_cluster_links_bytes", "Bytes used by cluster bus links."),
    g("mem_aof_buffer", "redis_mem_aof_buffer_bytes", "Bytes used by the AOF buffers."),
    g("mem_overhead_db_hashtable_rehashing", "redis_mem_overhead_db_hashtable_rehashing_bytes", "Bytes used by database hash tables being rehashed."),
    g("active_defrag_running", "redis_active_defrag_running", "Whether active defragmentation is running (CPU percentage it may use)."),
    g("lazyfree_pending_objects", "redis_lazyfree_pending_objects", "Objects waiting to be freed in the background."),
    c("lazyfreed_objects", "redis_lazyfreed_objects", "Objects freed in the background."),
    // # Persistence
    g("slot_migration_fork_in_progress", "redis_slot_migration_fork_in_progress", "Whether a fork for a slot migration is running (Valkey 9+)."),
    g("loading", "redis_loading_dump_file", "Whether a dump file is being loaded (1) or not (0)."),
    g("async_loading", "redis_async_loading", "Whether a replication dataset is being loaded while serving the old one."),
    g("loading_start_time", "redis_loading_start_time_seconds", "When the current load started, as a Unix time."),
    g("loading_total_bytes", "redis_loading_total_bytes", "Size of the file being loaded, in bytes."),
    g("loading_loaded_bytes", "redis_loading_loaded_bytes", "Bytes loaded so far."),
    g("loading_loaded_perc", "redis_loading_loaded_percent", "Percentage of the file loaded so far."),
    g("loading_eta_seconds", "redis_loading_eta_seconds", "Estimated seconds until the load completes."),
    g("current_cow_peak", "redis_current_cow_peak_bytes", "Peak copy-on-write size of the running fork, in bytes."),
    g("current_cow_size", "redis_current_cow_size_bytes", "Copy-on-write size of the running fork, in bytes."),
    g("current_cow_size_age", "redis_current_cow_size_age_seconds", "Age of current_cow_size, in seconds."),
    g("current_fork_perc", "redis_current_fork_percent", "Progress of the running fork, in percent."),
    g("current_save_keys_processed", "redis_current_save_keys_processed", "Keys processed by the running save."),
    g("current_save_keys_total", "redis_current_save_keys", "Keys at the start of the running save."),
    g("rdb_changes_since_last_save", "redis_rdb_changes_since_last_save", "Changes since the last dump."),
    g("rdb_bgsave_in_progress", "redis_rdb_bgsave_in_progress", "Whether an RDB save is running (1) or not (0)."),
    g("rdb_last_save_time", "redis_rdb_last_save_timestamp_seconds", "When the last successful RDB save finished, as a Unix time."),
    g("rdb_last_bgsave_status", "redis_rdb_last_bgsave_status", "Whether the last RDB save succeeded (1) or failed (0).").ok_err(),
    g("rdb_last_bgsave_time_sec", "redis_rdb_last_bgsave_duration_sec", "Duration of the last RDB save, in seconds (-1: none)."),
    g("rdb_current_bgsave_time_sec", "redis_rdb_current_bgsave_duration_sec", "Duration of the running RDB save, in seconds (-1: none)."),
    c("rdb_saves", "redis_rdb_saves", "RDB saves since startup."),
    g("rdb_last_cow_size", "redis_rdb_last_cow_size_bytes", "Copy-on-write size of the last RDB save, in bytes."),
    g("rdb_last_load_keys_expired", "redis_rdb_last_load_expired_keys", "Keys dropped as expired during the last RDB load."),
    g("rdb_last_load_keys_loaded", "redis_rdb_last_load_loaded_keys", "Keys loaded during the last RDB load."),
    g("aof_enabled", "redis_aof_enabled", "Whether AOF is enabled (1) or not (0)."),
    g("aof_rewrite_in_progress", "redis_aof_rewrite_in_progress", "Whether an AOF rewrite is running (1) or not (0)."),
    g("aof_rewrite_scheduled", "redis_aof_rewrite_scheduled", "Whether an AOF rewrite is scheduled (1) or not (0)."),
    g("aof_last_rewrite_time_sec", "redis_aof_last_rewrite_duration_sec", "Duration of the last AOF rewrite, in seconds (-1: none)."),
    g("aof_current_rewrite_time_sec", "redis_aof_current_rewrite_duration_sec", "Duration of the running AOF rewrite, in seconds (-1: none)."),
    g("aof_last_bgrewrite_status", "redis_aof_last_bgrewrite_status", "Whether the last AOF rewrite succeeded (1) or failed (0).").ok_err(),
    g("aof_last_write_status", "redis_aof_last_write_status", "Whether the last AOF write succeeded (1) or failed (0).").ok_err(),
    c("aof_rewrites", "redis_aof_rewrites", "AOF rewrites since startup."),
    g("aof_rewrites_consecutive_failures", "redis_aof_rewrites_consecutive_failures", "AOF rewrites that failed in a row."),
    g("aof_last_cow_size", "redis_aof_last_cow_size_bytes", "Copy-on-write size of the last AOF rewrite, in bytes."),
    g("aof_current_size", "redis_aof_current_size_bytes", "Current AOF size, in bytes."),
    g("aof_base_size", "redis_aof_base_size_bytes", "AOF size at the last rewrite, in bytes."),
    g("aof_pending_rewrite", "redis_aof_pending_rewrite", "Whether an AOF rewrite waits for a running save (1) or not (0)."),
    g("aof_buffer_length", "redis_aof_buffer_length", "Size of the AOF buffer."),
    g("aof_rewrite_buffer_length", "redis_aof_rewrite_buffer_length", "Size of the AOF rewrite buffer (Redis < 7)."),
    g("aof_pending_bio_fsync", "redis_aof_pending_bio_fsync", "fsync jobs waiting in the background queue."),
    g("aof_delayed_fsync", "redis_aof_delayed_fsync", "Delayed fsync calls."),
    g("module_fork_in_progress", "redis_module_fork_in_progress", "Whether a module fork is running (1) or not (0)."),
    g("module_fork_last_cow_size", "redis_module_fork_last_cow_size", "Copy-on-write size of the last module fork, in bytes."),
    // # Stats
    c("total_connections_received", "redis_connections_received", "Connections accepted by the server."),
    c("total_commands_processed", "redis_commands_processed", "Commands processed by the server."),
    g("instantaneous_ops_per_sec", "redis_instantaneous_ops_per_second", "Commands per second, as sampled by the server."),
    c("total_net_input_bytes", "redis_net_input_bytes", "Bytes read from the network."),
    c("total_net_output_bytes", "redis_net_output_bytes", "Bytes written to the network."),
    c("total_net_repl_input_bytes", "redis_net_repl_input_bytes", "Bytes read from the network for replication."),
    c("total_net_repl_output_bytes", "redis_net_repl_output_bytes", "Bytes written to the network for replication."),
    c("total_net_cluster_slot_import_bytes", "redis_net_cluster_slot_import_bytes", "Bytes received by slot migrations (Valkey 9+)."),
    c("total_net_cluster_slot_export_bytes", "redis_net_cluster_slot_export_bytes", "Bytes sent by slot migrations (Valkey 9+)."),
    g("instantaneous_input_kbps", "redis_instantaneous_input_bytes_per_second", "Network read rate, as sampled by the server, in bytes per second.").scaled(1024.0),
    g("instantaneous_output_kbps", "redis_instantaneous_output_bytes_per_second", "Network write rate, as sampled by the server, in bytes per second.").scaled(1024.0),
    g("instantaneous_input_repl_kbps", "redis_instantaneous_input_repl_bytes_per_second", "Replication read rate, as sampled by the server, in bytes per second.").scaled(1024.0),
    g("instantaneous_output_repl_kbps", "redis_instantaneous_output_repl_bytes_per_second", "Replication write rate, as sampled by the server, in bytes per second.").scaled(1024.0),
    c("rejected_connections", "redis_rejected_connections", "Connections rejected because of maxclients."),
    g("sync_full", "redis_replica_resyncs_full", "Full resynchronizations with replicas."),
    g("sync_partial_ok", "redis_replica_partial_resync_accepted", "Partial resynchronization requests accepted."),
    g("sync_partial_err", "redis_replica_partial_resync_denied", "Partial resynchronization requests denied."),
    c("expired_keys", "redis_expired_keys", "Keys expired."),
    c("expired_subkeys", "redis_expired_subkeys", "Hash fields expired."),
    g("expired_stale_perc", "redis_expired_stale_percentage", "Estimated percentage of keys that are expired but not yet deleted."),
    c("expired_fields", "redis_expired_fields", "Hash fields expired (Valkey 9+)."),
    g("expired_keys_with_volatile_items_stale_perc", "redis_expired_keys_with_volatile_items_stale_percentage", "Estimated percentage of keys with expiring items whose expired items are not yet deleted (Valkey 9+)."),
    // A count of events: a counter, under redis_exporter's name (it types it a gauge).
    c("expired_time_cap_reached_count", "redis_expired_time_cap_reached", "Active expire cycles stopped early by their time limit."),
    c("expire_cycle_cpu_milliseconds", "redis_expire_cycle_cpu_seconds", "CPU time spent on active expiry, in seconds.").scaled(MS),
    c("evicted_keys", "redis_evicted_keys", "Keys evicted because of maxmemory."),
    c("evicted_clients", "redis_evicted_clients", "Clients evicted because of maxmemory-clients."),
    c("evicted_scripts", "redis_evicted_scripts", "EVAL scripts evicted from the script cache."),
    c("total_eviction_exceeded_time", "redis_eviction_exceeded_time_seconds", "Time used_memory spent above maxmemory, in seconds.").scaled(MS),
    g("current_eviction_exceeded_time", "redis_current_eviction_exceeded_time_seconds", "How long used_memory has been above maxmemory, in seconds.").scaled(MS),
    c("keyspace_hits", "redis_keyspace_hits", "Successful key lookups."),
    c("keyspace_misses", "redis_keyspace_misses", "Failed key lookups."),
    g("pubsub_channels", "redis_pubsub_channels", "Pub/sub channels with subscribers."),
    g("pubsub_patterns", "redis_pubsub_patterns", "Pub/sub patterns with subscribers."),
    g("pubsubshard_channels", "redis_pubsubshard_channels", "Shard channels with subscribers."),
    g("latest_fork_usec", "redis_latest_fork_seconds", "Duration of the latest fork, in seconds.").scaled(US),
    c("total_forks", "redis_forks", "Forks since startup."),
    // The number of sockets cached now: a gauge, so not `_total` (redis_exporter:
    // redis_migrate_cached_sockets_total).
    g("migrate_cached_sockets", "redis_migrate_cached_sockets", "Sockets open for MIGRATE."),
    g("slave_expires_tracked_keys", "redis_slave_expires_tracked_keys", "Keys tracked for expiry on a writable replica."),
    g("active_defrag_hits", "redis_defrag_hits", "Value reallocations by active defragmentation."),
    g("active_defrag_misses", "redis_defrag_misses", "Aborted value reallocations by active defragmentation."),
    g("active_defrag_key_hits", "redis_defrag_key_hits", "Keys actively defragmented."),
    g("active_defrag_key_misses", "redis_defrag_key_misses", "Keys skipped by active defragmentation."),
    c("total_active_defrag_time", "redis_active_defrag_time_seconds", "Time memory fragmentation was over the limit, in seconds.").scaled(MS),
    g("current_active_defrag_time", "redis_current_active_defrag_time_seconds", "How long memory fragmentation has been over the limit, in seconds.").scaled(MS),
    g("tracking_total_keys", "redis_tracking_total_keys", "Keys tracked for client-side caching."),
    g("tracking_total_items", "redis_tracking_total_items", "Items (key, client) tracked for client-side caching."),
    g("tracking_total_prefixes", "redis_tracking_total_prefixes", "Prefixes tracked for client-side caching."),
    bare("unexpected_error_replies", "redis_unexpected_error_replies", "Unexpected error replies (AOF load, replication)."),
    bare("total_error_replies", "redis_total_error_replies", "Error replies sent to clients."),
    bare("dump_payload_sanitizations", "redis_dump_payload_sanitizations", "Deep integrity validations of RESTORE payloads."),
    bare("total_reads_processed", "redis_total_reads_processed", "Read events processed."),
    bare("total_writes_processed", "redis_total_writes_processed", "Write events processed."),
    bare("io_threaded_reads_processed", "redis_io_threaded_reads_processed", "Read events processed by I/O threads."),
    bare("io_threaded_writes_processed", "redis_io_threaded_writes_processed", "Write events processed by I/O threads."),
    c("io_threaded_freed_objects", "redis_io_threaded_freed_objects", "Objects freed by I/O threads (Valkey 8+)."),
    c("io_threaded_accept_processed", "redis_io_threaded_accept_processed", "Connections accepted by I/O threads (Valkey 8+)."),
    c("io_threaded_poll_processed", "redis_io_threaded_poll_processed", "Event polls done by I/O threads (Valkey 8+)."),
    c("io_threaded_total_prefetch_batches", "redis_io_threaded_prefetch_batches", "Batches of keys prefetched by I/O threads (Valkey 8+)."),
    c("io_threaded_total_prefetch_entries", "redis_io_threaded_prefetch_entries", "Keys prefetched by I/O threads (Valkey 8+)."),
    c("client_query_buffer_limit_disconnections", "redis_client_query_buffer_limit_disconnections", "Clients disconnected for exceeding the query buffer limit."),
    c("client_output_buffer_limit_disconnections", "redis_client_output_buffer_limit_disconnections", "Clients disconnected for exceeding the output buffer limit."),
    c("reply_buffer_shrinks", "redis_reply_buffer_shrinks", "Output buffer shrinks."),
    c("reply_buffer_expands", "redis_reply_buffer_expands", "Output buffer expansions."),
    c("eventloop_cycles", "redis_eventloop_cycles", "Event loop cycles."),
    c("eventloop_duration_sum", "redis_eventloop_duration_seconds", "Time spent in the event loop, in seconds.").scaled(US),
    c("eventloop_duration_cmd_sum", "redis_eventloop_duration_cmd_seconds", "Time spent executing commands, in seconds.").scaled(US),
    g("instantaneous_eventloop_cycles_per_sec", "redis_instantaneous_eventloop_cycles_per_second", "Event loop cycles per second, as sampled by the server."),
    g("instantaneous_eventloop_duration_usec", "redis_instantaneous_eventloop_duration_seconds", "Mean event loop cycle time, as sampled by the server, in seconds.").scaled(US),
    c("acl_access_denied_auth", "redis_acl_access_denied_auth", "Authentication failures."),
    c("acl_access_denied_cmd", "redis_acl_access_denied_cmd", "Commands refused by ACL."),
    c("acl_access_denied_key", "redis_acl_access_denied_key", "Commands refused by ACL for a key."),
    c("acl_access_denied_channel", "redis_acl_access_denied_channel", "Commands refused by ACL for a channel."),
    c("acl_access_denied_tls_cert", "redis_acl_access_denied_tls_cert", "TLS client certificate authentications refused (Valkey 9+)."),
    c("acl_access_denied_db", "redis_acl_access_denied_db", "Commands refused by ACL for a database (Valkey 9+)."),
    // # Replication
    g("connected_slaves", "redis_connected_slaves", "Connected replicas."),
    g("master_repl_offset", "redis_master_repl_offset", "Replication offset of this server, in bytes."),
    g("second_repl_offset", "redis_second_repl_offset", "Offset up to which the previous replication id is accepted (-1: none)."),
    g("repl_backlog_active", "redis_repl_backlog_is_active", "Whether the replication backlog is active (1) or not (0)."),
    g("repl_backlog_size", "redis_replication_backlog_bytes", "Size of the replication backlog, in bytes."),
    g("repl_backlog_first_byte_offset", "redis_repl_backlog_first_byte_offset", "Replication offset of the backlog's first byte."),
    g("repl_backlog_histlen", "redis_repl_backlog_history_bytes", "Bytes of data in the replication backlog."),
    g("min_slaves_good_slaves", "redis_min_slaves_good_slaves", "Replicas considered good for min-replicas-to-write."),
    g("slave_priority", "redis_slave_priority", "Priority of this replica for promotion."),
    g("slave_read_repl_offset", "redis_slave_read_repl_offset", "Replication offset read by this replica, in bytes."),
    g("replicas_waiting_psync", "redis_replicas_waiting_psync", "Replicas waiting for a partial resync (Valkey 8+)."),
    g("master_link_down_since_seconds", "redis_master_link_down_since_seconds", "Seconds since the link to the master went down."),
    g("master_sync_total_bytes", "redis_master_sync_total_bytes", "Bytes to transfer in the running sync with the master (-1: unknown)."),
    g("master_sync_read_bytes", "redis_master_sync_read_bytes", "Bytes transferred so far in the running sync with the master."),
    g("master_sync_left_bytes", "redis_master_sync_left_bytes", "Bytes left in the running sync with the master."),
    g("master_sync_perc", "redis_master_sync_percent", "Progress of the running sync with the master, in percent."),
    g("master_sync_last_io_seconds_ago", "redis_master_sync_last_io_seconds_ago", "Seconds since the last transfer of the running sync with the master."),
    // # CPU
    c("used_cpu_sys", "redis_cpu_sys_seconds", "System CPU time of the server, in seconds."),
    c("used_cpu_user", "redis_cpu_user_seconds", "User CPU time of the server, in seconds."),
    c("used_cpu_sys_children", "redis_cpu_sys_children_seconds", "System CPU time of background processes, in seconds."),
    c("used_cpu_user_children", "redis_cpu_user_children_seconds", "User CPU time of background processes, in seconds."),
    c("used_cpu_sys_main_thread", "redis_cpu_sys_main_thread_seconds", "System CPU time of the main thread, in seconds."),
    c("used_cpu_user_main_thread", "redis_cpu_user_main_thread_seconds", "User CPU time of the main thread, in seconds."),
    c("used_active_time_main_thread", "redis_active_time_main_thread_seconds", "Time the main thread spent working rather than waiting for events, in seconds (Valkey 9+)."),
    // # Scripting Engines (Valkey 9+)
    g("engines_count", "redis_scripting_engines", "Scripting engines loaded."),
    g("engines_total_used_memory", "redis_scripting_engines_used_memory_bytes", "Bytes used by the scripting engines."),
    g("engines_total_memory_overhead", "redis_scripting_engines_memory_overhead_bytes", "Bytes of overhead of the scripting engines."),
    // # Cluster
    g("cluster_enabled", "redis_cluster_enabled", "Whether cluster mode is enabled (1) or not (0)."),
];

/// Fields of `CLUSTER INFO` (asked only when `cluster_enabled:1`); redis_exporter names
/// each `redis_<field>`.
#[rustfmt::skip]
pub(super) const CLUSTER_FIELDS: &[Field] = &[
    g("cluster_state", "redis_cluster_state", "Whether the cluster is ok (1) or failing (0).").ok_err(),
    g("cluster_slots_assigned", "redis_cluster_slots_assigned", "Slots assigned to a node."),
    g("cluster_slots_ok", "redis_cluster_slots_ok", "Slots whose node is ok."),
    g("cluster_slots_pfail", "redis_cluster_slots_pfail", "Slots whose node is possibly failing."),
    g("cluster_slots_fail", "redis_cluster_slots_fail", "Slots whose node is failing."),
    g("cluster_known_nodes", "redis_cluster_known_nodes", "Nodes known to this node."),
    g("cluster_size", "redis_cluster_size", "Master nodes serving at least one slot."),
    g("cluster_current_epoch", "redis_cluster_current_epoch", "The cluster's current epoch."),
    g("cluster_my_epoch", "redis_cluster_my_epoch", "This node's config epoch."),
    // Counts of messages: counters, under redis_exporter's names (it types them gauges).
    c("cluster_stats_messages_sent", "redis_cluster_messages_sent", "Messages sent on the cluster bus."),
    c("cluster_stats_messages_received", "redis_cluster_messages_received", "Messages received on the cluster bus."),
    c("total_cluster_links_buffer_limit_exceeded", "redis_cluster_links_buffer_limit_exceeded", "Cluster links freed for exceeding the buffer limit."),
];

/// Known fields that are not exported as their own metric: labels of
/// `redis_instance_info` / `redis_slave_info`, human-readable copies, values the server
/// recomputes on every call (`server_time_usec`, `lru_clock`), and fields covered
/// elsewhere (`maxclients` is `redis_config_maxclients`). Listing them keeps
/// `redis_info_unknown_fields` at 0 on the versions we know.
pub(super) const IGNORED: &[&str] = &[
    "redis_version",
    "redis_git_sha1",
    "redis_git_dirty",
    "redis_build_id",
    "redis_mode",
    "os",
    "arch_bits",
    "monotonic_clock",
    "multiplexing_api",
    "atomicvar_api",
    "gcc_version",
    "process_supervised",
    "run_id",
    "tcp_port",
    "server_time_usec",
    "uptime_in_days",
    "lru_clock",
    "executable",
    "config_file",
    "valkey_version",
    "valkey_release_stage",
    "server_name",
    "server_mode",
    "availability_zone",
    "maxclients",
    "used_memory_human",
    "used_memory_rss_human",
    "used_memory_peak_human",
    "used_memory_peak_perc",
    "used_memory_peak_time",
    "used_memory_dataset_perc",
    "used_memory_lua_human",
    "used_memory_vm_total_human",
    "used_memory_scripts_human",
    "total_system_memory_human",
    "maxmemory_human",
    "maxmemory_policy",
    "mem_allocator",
    "role",
    "master_failover_state",
    "master_replid",
    "master_replid2",
    "master_host",
    "master_port",
    "slave_read_only",
    "replica_read_only",
    "replica_announced",
];

fn index() -> &'static HashMap<&'static str, &'static Field> {
    static INDEX: OnceLock<HashMap<&'static str, &'static Field>> = OnceLock::new();
    INDEX.get_or_init(|| FIELDS.iter().map(|f| (f.info, f)).collect())
}

pub(super) fn lookup(info_field: &str) -> Option<&'static Field> {
    index().get(info_field).copied()
}

pub(super) fn is_ignored(info_field: &str) -> bool {
    IGNORED.contains(&info_field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::is_valid_metric_name;
    use std::collections::HashSet;

    #[test]
    fn table_is_consistent() {
        let mut infos = HashSet::new();
        let mut metrics = HashSet::new();
        for f in FIELDS.iter().chain(CLUSTER_FIELDS) {
            assert!(infos.insert(f.info), "{} listed twice", f.info);
            assert!(metrics.insert(f.metric), "{} fed twice", f.metric);
            assert!(is_valid_metric_name(f.metric), "{}", f.metric);
            assert!(f.metric.starts_with("redis_"), "{}", f.metric);
            assert!(!f.help.is_empty());
            assert!(!is_ignored(f.info), "{} both mapped and ignored", f.info);
            // A counter family's samples get `_total`; the table gives the name without.
            if f.kind == Kind::Counter {
                assert!(!f.metric.ends_with("_total"), "{}", f.metric);
            }
            if f.kind == Kind::Gauge {
                assert!(!f.metric.ends_with("_total"), "gauge {}", f.metric);
            }
        }
    }

    #[test]
    fn values() {
        let bgsave = lookup("rdb_last_bgsave_status").unwrap();
        assert_eq!(bgsave.value("ok"), Some(1.0));
        assert_eq!(bgsave.value("err"), Some(0.0));
        assert_eq!(bgsave.value("maybe"), None);
        let fork = lookup("latest_fork_usec").unwrap();
        assert_eq!(fork.value("2000000"), Some(2.0));
        assert_eq!(lookup("used_memory").unwrap().value("1.09M"), None);
        assert_eq!(
            lookup("used_memory").unwrap().value("18446744073709551615"),
            Some(18446744073709551615.0)
        );
    }
}
