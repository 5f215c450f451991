#!/usr/bin/env bash
# Measures the Redis source on a throwaway Redis 7.0 (Debian's) holding KEYS keys:
# commands sent to Redis per poll (INFO commandstats deltas between two reads in steady
# state), poll duration, series; then /metrics latency, throughput and RSS against
# redis_exporter on the same server, and the commands redis_exporter sends per scrape.
# Needs: the release binary (cargo build --release), wrk, prometheus-redis-exporter.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=bench/lib.sh
source bench/lib.sh

PORT=${PORT:-56379}
EXPORTER_PORT=59651
PEER_PORT=59121
BIN=target/release/stack_exporter
POLLS=${POLLS:-10}
KEYS=${KEYS:-10000}

bench_init stack-bench-redis
bench_redis_start "$PORT" --enable-debug-command local
cli() { bench_redis_cli "$@"; }
cli DEBUG POPULATE "$KEYS" bench 64 >/dev/null
cli -n 1 DEBUG POPULATE $((KEYS / 10)) other 64 >/dev/null

# Commands Redis has executed, from commandstats. The INFO that reads it is counted only
# after it ran, so each read adds exactly one to the next.
calls() { cli INFO commandstats | tr -d '\r' | awk -F'[=,:]' '/^cmdstat_/ { s += $3 } END { print s }'; }
# INFO calls alone: one per poll of ours (INFO ALL), plus our own reads.
info_calls() { cli INFO commandstats | tr -d '\r' | awk -F'[=,:]' '$1 == "cmdstat_info" { print $3 }'; }
metric() { curl -s "http://127.0.0.1:$EXPORTER_PORT/metrics" >"$bench_dir/scrape.txt" && bench_metric "$bench_dir/scrape.txt" "$1"; }

cat >"$bench_dir/config.yml" <<CONF
defaults: { interval: 1s, timeout: 900ms }
redis: [ { name: bench, url: "redis://127.0.0.1:$PORT" } ]
CONF
"$BIN" --config.file "$bench_dir/config.yml" --web.listen-address "127.0.0.1:$EXPORTER_PORT" 2>/dev/null &
pid=$!
bench_track "$pid"
sleep 2 # the connection and its first polls are made
# Polls are counted on the server (its INFO calls), not from /metrics, whose self-metrics
# may be up to a second old.
i1=$(info_calls)
c1=$(calls)
sleep "$POLLS"
i2=$(info_calls)
c2=$(calls)
# A read counts in the next read, not its own: i2 - i1 holds the reads of i1 and c1,
# c2 - c1 those of c1 and i2.
polls=$((i2 - i1 - 2))
duration=$(metric 'stack_exporter_source_poll_duration_seconds{source="bench"')
series=$(metric 'stack_exporter_source_series{source="bench"')
bench_stop "$pid"

echo "Redis $(cli INFO server | tr -d '\r' | awk -F: '$1 == "redis_version" { print $2 }'), $(cli DBSIZE) + $(cli -n 1 DBSIZE) keys, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "| exporter | polls | commands per poll | round trips per poll | last poll duration | series |"
echo "| --- | --- | --- | --- | --- | --- |"
printf '| stack_exporter | %s | %.1f | 2 | %.2f ms | %s |\n' "$polls" \
  "$(echo "($c2 - $c1 - 2) / $polls" | bc -l)" "$(echo "$duration * 1000" | bc -l)" "$series"

"$BIN" --config.file "$bench_dir/config.yml" --web.listen-address "127.0.0.1:$EXPORTER_PORT" 2>/dev/null &
pids=($!)
prometheus-redis-exporter --redis.addr="redis://127.0.0.1:$PORT" \
  --web.listen-address="127.0.0.1:$PEER_PORT" >/dev/null 2>&1 &
pids+=($!)
bench_track "${pids[@]}"
sleep 3
# redis_exporter polls Redis on each scrape, on a new connection.
curl -s "http://127.0.0.1:$PEER_PORT/metrics" >/dev/null
c1=$(calls)
k1=$(cli INFO stats | tr -d '\r' | awk -F: '$1 == "total_connections_received" { print $2 }')
for _ in $(seq 1 "$POLLS"); do curl -s "http://127.0.0.1:$PEER_PORT/metrics" >/dev/null; done
c2=$(calls)
k2=$(cli INFO stats | tr -d '\r' | awk -F: '$1 == "total_connections_received" { print $2 }')
# Minus our own: the INFO that read c1 and the one that read k1, and k1's connection.
printf '| redis_exporter 1.45 | %s scrapes | %.1f | – | – | – |\n' "$POLLS" \
  "$(echo "($c2 - $c1 - 2) / $POLLS" | bc -l)"
echo
# Between the reads of k1 and k2: the scrapes, the read of c2 and the read of k2 itself.
echo "Connections: stack_exporter keeps $(cli CLIENT LIST | grep -c 'name=stack_exporter ') open;" \
  "redis_exporter opened $(((k2 - k1 - 2) / POLLS)) per scrape."

echo
echo "/metrics with wrk -t1 -c4 -d5s, same server:"
echo
echo "| exporter | p50 | p99 | requests/s | RSS after | body bytes |"
echo "| --- | --- | --- | --- | --- | --- |"
for target in "stack_exporter:$EXPORTER_PORT:${pids[0]}" "redis_exporter:$PEER_PORT:${pids[1]}"; do
  IFS=: read -r name port pid <<<"$target"
  read -r p50 p99 rps _ <<<"$(bench_wrk -t1 -c4 -d5s "http://127.0.0.1:$port/metrics")"
  rss=$(awk -v kb="$(bench_rss_kb "$pid")" 'BEGIN { printf "%.1f MB", kb / 1024 }')
  bytes=$(curl -s "http://127.0.0.1:$port/metrics" | wc -c)
  echo "| $name | $p50 ms | $p99 ms | $rps | $rss | $bytes |"
done
