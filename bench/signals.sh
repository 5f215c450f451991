#!/usr/bin/env bash
# What deriving an app's golden signals costs a poll: the median, minimum and maximum of
# stack_exporter_source_poll_duration_seconds over POLLS polls (1 s apart) of one app
# source serving APP_SERIES series (bench/app_body.py), once as the body is (its latency
# histogram, `app_request_duration_seconds`, is detected and derived) and once with
# `signals: { detect: false }` (scrape and parse only). The difference is the derivation.
# BIN picks the binary (default target/release/stack_exporter), to compare two builds.
# Needs: curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

BIN=${BIN:-target/release/stack_exporter}
APP_SERIES=${APP_SERIES:-50000}
POLLS=${POLLS:-25}
EXPORTER_PORT=${EXPORTER_PORT:-59656}
APP_PORT=${APP_PORT:-59657}

bench_init stack-bench-signals
dir=$bench_dir
python3 bench/app_body.py "$APP_SERIES" >"$dir/metrics.txt"
python3 bench/serve_static.py "$APP_PORT" "$dir/metrics.txt" &
bench_track $!
bench_wait_http "http://127.0.0.1:$APP_PORT/metrics"

poll_times() { # SIGNALS_LINE: prints "median min max" in ms
  cat >"$dir/config.yml" <<CONF
defaults: { interval: 1s, timeout: 900ms }
apps:
  - name: app
    metrics_url: http://127.0.0.1:$APP_PORT/metrics
$1
CONF
  bench_start_exporter "$dir/config.yml" "$EXPORTER_PORT" "$dir/exporter.log"
  sleep 3 # the first polls warm the allocator
  local i
  for i in $(seq 1 "$POLLS"); do
    curl -sf "http://127.0.0.1:$EXPORTER_PORT/metrics" >"$dir/scrape.txt"
    bench_metric "$dir/scrape.txt" 'stack_exporter_source_poll_duration_seconds{'
    sleep 1
  done | sort -g | awk '{ v[NR] = $1 * 1000 } END { printf "%.1f %.1f %.1f\n", v[int((NR + 1) / 2)], v[1], v[NR] }'
  bench_stop "$exporter"
}

read -r with_p50 with_min with_max <<<"$(poll_times "")"
read -r without_p50 without_min without_max <<<"$(poll_times "    signals: { detect: false }")"
echo "| $BIN | $APP_SERIES series | signals derived: $with_p50 ms ($with_min–$with_max) | not derived: $without_p50 ms ($without_min–$without_max) |"
