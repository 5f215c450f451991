#!/usr/bin/env bash
# Measures the PostgreSQL source on a throwaway PostgreSQL 15: statements sent per poll
# (from pg_stat_statements), poll duration, on an idle server and with 1,000 tables;
# then /metrics latency, throughput and RSS against postgres_exporter on the same server.
# Needs: the release binary (cargo build --release), wrk, prometheus-postgres-exporter.
set -euo pipefail
cd "$(dirname "$0")/.."

PGBIN=/usr/lib/postgresql/15/bin
PORT=${PORT:-55499}
EXPORTER_PORT=59650
PEER_PORT=59187
BIN=target/release/stack_exporter
POLLS=${POLLS:-10}

dir=$(mktemp -d /dev/shm/stack-bench-XXXXXX)
chmod 755 "$dir"
mkdir "$dir/data" "$dir/sock"
chown -R postgres: "$dir"
chmod 700 "$dir/data"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

runuser -u postgres -- "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
cat >> "$dir/data/postgresql.conf" <<CONF
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
CONF
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/sock/log" -w \
  -o "-p $PORT -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
psql_() { psql -h 127.0.0.1 -p "$PORT" -U postgres -d "${DB:-postgres}" -XAtq -c "$1"; }
psql_ "CREATE EXTENSION pg_stat_statements"
psql_ "CREATE ROLE exporter LOGIN; GRANT pg_monitor TO exporter"
psql_ "CREATE DATABASE app"

metric() { curl -s "http://127.0.0.1:$EXPORTER_PORT/metrics" | awk -v m="$1" 'index($0, m) == 1 { print $NF; exit }'; }

measure() { # label
  psql_ "SELECT pg_stat_statements_reset()" >/dev/null
  cat > "$dir/config.yml" <<CONF
defaults: { interval: 1s, timeout: 900ms }
postgres: [ { name: bench, url: "postgresql://exporter@127.0.0.1:$PORT/postgres" } ]
CONF
  "$BIN" --config.file "$dir/config.yml" --web.listen-address "127.0.0.1:$EXPORTER_PORT" 2>/dev/null &
  local pid=$!
  sleep $((POLLS + 1))
  local polls durations
  polls=$(metric 'stack_exporter_source_polls_total{source="bench"')
  durations=$(metric 'stack_exporter_source_poll_duration_seconds{source="bench"')
  local series
  series=$(metric 'stack_exporter_source_series{source="bench"')
  kill "$pid"; wait "$pid" 2>/dev/null || true
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
cat > "$dir/config.yml" <<CONF
postgres: [ { name: bench, url: "postgresql://exporter@127.0.0.1:$PORT/postgres" } ]
CONF
"$BIN" --config.file "$dir/config.yml" --web.listen-address "127.0.0.1:$EXPORTER_PORT" 2>/dev/null &
pids+=($!)
DATA_SOURCE_NAME="postgresql://exporter@127.0.0.1:$PORT/postgres?sslmode=disable" \
  prometheus-postgres-exporter --web.listen-address="127.0.0.1:$PEER_PORT" >/dev/null 2>&1 &
pids+=($!)
sleep 3
echo
echo "| exporter | p50 | p99 | requests/s | RSS after | body bytes |"
echo "| --- | --- | --- | --- | --- | --- |"
for target in "stack_exporter:$EXPORTER_PORT:${pids[0]}" "postgres_exporter:$PEER_PORT:${pids[1]}"; do
  IFS=: read -r name port pid <<<"$target"
  out=$(wrk -t1 -c4 -d5s --latency "http://127.0.0.1:$port/metrics")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
  rss=$(awk '/VmRSS/ { printf "%.1f MB", $2 / 1024 }' "/proc/$pid/status")
  bytes=$(curl -s "http://127.0.0.1:$port/metrics" | wc -c)
  echo "| $name | $p50 | $p99 | $rps | $rss | $bytes |"
done
