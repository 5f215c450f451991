#!/usr/bin/env bash
# Measures what scraping a large app costs: a static app endpoint serving APP_SERIES
# (default 50,000) classic-text series, scraped every 5s through `apps[].metrics_url`
# beside the machine's PostgreSQL and Redis; then /metrics latency, throughput, body
# size and RSS in classic, OpenMetrics and gzip, and the same without the app source.
# Needs: the release binary (cargo build --release), wrk, python3, PostgreSQL on
# 127.0.0.1:5432 (user postgres, trust) and Redis on 127.0.0.1:6379.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

EXPORTER_PORT=${EXPORTER_PORT:-59652}
APP_PORT=${APP_PORT:-59653}
BIN=target/release/stack_exporter
APP_SERIES=${APP_SERIES:-50000}
PG_URL=${PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
WRK_ARGS=${WRK_ARGS:--t2 -c8 -d10s}

bench_init stack-bench-app
dir=$bench_dir

# The app body: see bench/app_body.py (counters, histograms and gauges per route).
python3 bench/app_body.py "$APP_SERIES" >"$dir/metrics.txt"

python3 bench/serve_static.py "$APP_PORT" "$dir/metrics.txt" &
bench_track $!
app_url="http://127.0.0.1:$APP_PORT/metrics"
bench_wait_http "$app_url"
app_series=$(grep -vc '^#' "$dir/metrics.txt")

metrics() { curl -sf "http://127.0.0.1:$EXPORTER_PORT/metrics"; }
# Through a file: awk stopping early must not fail curl (the body is megabytes).
metric() { metrics >"$dir/scrape.txt" && bench_metric "$dir/scrape.txt" "$1"; }

start_exporter() { bench_start_exporter "$1" "$EXPORTER_PORT" "$dir/exporter.log"; } # CONFIG
stop_exporter() { bench_stop "$exporter"; }

# One table row per format: setup | format | p50 | p99 | requests/s | body bytes.
wrk_rows() { # setup
  local name accept encoding p50 p99 rps bytes
  for variant in "classic||" "OpenMetrics|application/openmetrics-text|" "classic + gzip||gzip"; do
    IFS='|' read -r name accept encoding <<<"$variant"
    local headers=()
    [[ -n "$accept" ]] && headers+=(-H "Accept: $accept")
    [[ -n "$encoding" ]] && headers+=(-H "Accept-Encoding: $encoding")
    # shellcheck disable=SC2086
    read -r p50 p99 rps _ <<<"$(bench_wrk $WRK_ARGS "${headers[@]}" "http://127.0.0.1:$EXPORTER_PORT/metrics")"
    bytes=$(curl -sf "${headers[@]}" "http://127.0.0.1:$EXPORTER_PORT/metrics" | wc -c)
    echo "| $1 | $name | $p50 ms | $p99 ms | $rps | $bytes |" >>"$dir/latency.md"
  done
}

mb() { awk -v kb="$1" 'BEGIN { printf "%.1f MB", kb / 1024 }'; }
rss() { mb "$(bench_rss_kb "$exporter")"; }
hwm() { mb "$(bench_hwm_kb "$exporter")"; }

cat >"$dir/with-app.yml" <<CONF
defaults: { interval: 5s, timeout: 4s }
postgres: [ { name: pg, url: "$PG_URL" } ]
redis: [ { name: redis, url: "$REDIS_URL" } ]
apps:
  - name: app
    metrics_url: "$app_url"
    interval: 5s
    scrape: { sample_limit: 0 }
CONF
grep -v -e '^apps:' -e '^  ' "$dir/with-app.yml" >"$dir/without-app.yml"

echo "App body: $app_series series, $(wc -c <"$dir/metrics.txt") bytes (classic text);" \
  "PostgreSQL $(psql "$PG_URL" -XAtqc 'SHOW server_version'), Redis" \
  "$(redis-cli -u "$REDIS_URL" INFO server | tr -d '\r' | awk -F: '$1 == "redis_version" { print $2 }');" \
  "$(nproc) cores, $(date -u +%Y-%m-%d)"

start_exporter "$dir/with-app.yml"
for _ in $(seq 1 100); do
  [[ "$(metric 'stack_exporter_source_series{source="app"')" == "$app_series" ]] && break
  sleep 0.2
done
served=$(metrics | grep -c -e '^app_requests_total{' -e '^app_request_duration_seconds_' \
  -e '^app_requests_in_flight{' -e '^app_worker_busy{' || true)
[[ "$served" == "$app_series" ]] || { echo "app series served: $served, expected $app_series" >&2; exit 1; }
# The app's poll duration over three polls, idle (the self-metrics are at most 1s old).
durations=()
last=$(metric 'stack_exporter_source_polls_total{source="app"')
while ((${#durations[@]} < 3)); do
  sleep 0.5
  polls=$(metric 'stack_exporter_source_polls_total{source="app"')
  if [[ "$polls" != "$last" ]]; then
    sleep 1.1 # the self-metrics of this poll
    durations+=("$(metric 'stack_exporter_source_poll_duration_seconds{source="app"' | awk '{ printf "%.1f ms", $1 * 1000 }')")
    last=$polls
  fi
done
rss_idle_app=$(rss)
wrk_rows "with app ($app_series series)"
during=$(metric 'stack_exporter_source_poll_duration_seconds{source="app"' | awk '{ printf "%.1f ms", $1 * 1000 }')
rss_app=$(rss)
hwm_app=$(hwm)
total_app=$(metrics | grep -vc '^#')
stop_exporter

start_exporter "$dir/without-app.yml"
sleep 2 # self-metrics refreshed after the first polls
rss_idle_none=$(rss)
wrk_rows "PG + Redis only"
rss_none=$(rss)
hwm_none=$(hwm)
total_none=$(metrics | grep -vc '^#')
stop_exporter

echo
echo "Poll duration of source app (fetch + parse + encode of $app_series series): idle polls" \
  "${durations[*]}; last poll under wrk load: $during"
echo
echo "/metrics with wrk $WRK_ARGS --latency:"
echo
echo "| setup | format | p50 | p99 | requests/s | body bytes |"
echo "| --- | --- | --- | --- | --- | --- |"
cat "$dir/latency.md"
echo
echo "| setup | series in /metrics | RSS idle | RSS after wrk | peak RSS |"
echo "| --- | --- | --- | --- | --- |"
echo "| with app | $total_app | $rss_idle_app | $rss_app | $hwm_app |"
echo "| PG + Redis only | $total_none | $rss_idle_none | $rss_none | $hwm_none |"
