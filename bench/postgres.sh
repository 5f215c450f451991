#!/usr/bin/env bash
# Measures the PostgreSQL source on a throwaway PostgreSQL 15: statements sent per poll
# (from pg_stat_statements), poll duration, on an idle server and with 1,000 tables;
# then /metrics latency, throughput and RSS against postgres_exporter on the same server.
# Needs: the release binary (cargo build --release), wrk, prometheus-postgres-exporter.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=bench/lib.sh
source bench/lib.sh

PORT=${PORT:-55499}
EXPORTER_PORT=59650
PEER_PORT=59187
BIN=target/release/stack_exporter
POLLS=${POLLS:-10}

bench_init stack-bench
bench_pg_start "$PORT"
psql_() { bench_psql "${DB:-postgres}" "$1"; }
psql_ "CREATE EXTENSION pg_stat_statements"
psql_ "CREATE ROLE exporter LOGIN; GRANT pg_monitor TO exporter"
psql_ "CREATE DATABASE app"

metric() { curl -s "http://127.0.0.1:$EXPORTER_PORT/metrics" >"$bench_dir/scrape.txt" && bench_metric "$bench_dir/scrape.txt" "$1"; }

measure() { # label
  psql_ "SELECT pg_stat_statements_reset()" >/dev/null
  cat > "$bench_dir/config.yml" <<CONF
defaults: { interval: 1s, timeout: 900ms }
postgres: [ { name: bench, url: "postgresql://exporter@127.0.0.1:$PORT/postgres" } ]
CONF
  "$BIN" --config.file "$bench_dir/config.yml" --web.listen-address "127.0.0.1:$EXPORTER_PORT" 2>/dev/null &
  local pid=$!
  bench_track "$pid"
  sleep $((POLLS + 1))
  local polls durations
  polls=$(metric 'stack_exporter_source_polls_total{source="bench"')
  durations=$(metric 'stack_exporter_source_poll_duration_seconds{source="bench"')
  local series
  series=$(metric 'stack_exporter_source_series{source="bench"')
  bench_stop "$pid"
  local calls
  calls=$(psql_ "SELECT sum(calls) FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = 'exporter'")
  printf '| %s | %s | %.1f | %.1f ms | %s |\n' "$1" "$polls" "$(echo "$calls / $polls" | bc -l)" "$(echo "$durations * 1000" | bc -l)" "$series"
}

echo "PostgreSQL $(psql_ 'SHOW server_version'), $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "| server | polls | statements per poll | last poll duration | series |"
echo "| --- | --- | --- | --- | --- |"
measure "idle"
DB=app psql_ "DO \$\$ BEGIN FOR i IN 1..1000 LOOP EXECUTE format('CREATE TABLE t%s (id int primary key, v text)', i); END LOOP; END \$\$"
DB=app psql_ "ANALYZE"
measure "1,000 tables in a second database"

echo
echo "/metrics with wrk -t1 -c4 -d5s, same server (1,000 tables):"
cat > "$bench_dir/config.yml" <<CONF
postgres: [ { name: bench, url: "postgresql://exporter@127.0.0.1:$PORT/postgres" } ]
CONF
"$BIN" --config.file "$bench_dir/config.yml" --web.listen-address "127.0.0.1:$EXPORTER_PORT" 2>/dev/null &
pids=($!)
DATA_SOURCE_NAME="postgresql://exporter@127.0.0.1:$PORT/postgres?sslmode=disable" \
  prometheus-postgres-exporter --web.listen-address="127.0.0.1:$PEER_PORT" >/dev/null 2>&1 &
pids+=($!)
bench_track "${pids[@]}"
sleep 3
echo
echo "| exporter | p50 | p99 | requests/s | RSS after | body bytes |"
echo "| --- | --- | --- | --- | --- | --- |"
for target in "stack_exporter:$EXPORTER_PORT:${pids[0]}" "postgres_exporter:$PEER_PORT:${pids[1]}"; do
  IFS=: read -r name port pid <<<"$target"
  read -r p50 p99 rps _ <<<"$(bench_wrk -t1 -c4 -d5s "http://127.0.0.1:$port/metrics")"
  rss=$(awk -v kb="$(bench_rss_kb "$pid")" 'BEGIN { printf "%.1f MB", kb / 1024 }')
  bytes=$(curl -s "http://127.0.0.1:$port/metrics" | wc -c)
  echo "| $name | $p50 ms | $p99 ms | $rps | $rss | $bytes |"
done
