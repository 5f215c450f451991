#!/usr/bin/env bash
# Measures remote write with a static app of APP_SERIES (default 10,000) series polled
# every INTERVAL (default 2s) and pushed to a real VictoriaMetrics (Debian's
# victoria-metrics):
#   1. CPU per push: the exporter's CPU over MEASURE seconds with and without a
#      remote_write endpoint (utime+stime from /proc/PID/stat), divided by the pushes.
#   2. Outage: the receiver is down for DOWN_SECONDS (default 300); RSS, queue length and
#      dropped samples every 30 s (queue_capacity QUEUE, default 100000).
#   3. Backlog: the receiver comes back; the exporter's "backlog delivered" log line
#      gives the samples, seconds and samples/s from its first accepted request to an
#      empty queue.
# Needs: the release binary (cargo build --release), python3, victoria-metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

EXPORTER_PORT=${EXPORTER_PORT:-59662}
APP_PORT=${APP_PORT:-59663}
VM_PORT=${VM_PORT:-59664}
BIN=target/release/stack_exporter
APP_SERIES=${APP_SERIES:-10000}
INTERVAL=${INTERVAL:-2s}
MEASURE=${MEASURE:-60}
DOWN_SECONDS=${DOWN_SECONDS:-300}
QUEUE=${QUEUE:-100000}

bench_init stack-bench-rw
dir=$bench_dir

python3 - "$APP_SERIES" >"$dir/metrics.txt" <<'PY'
import random, sys
total = int(sys.argv[1])
rnd = random.Random(7)
routes = total // 13
out = ["# TYPE app_request_duration_seconds histogram"]
buckets = ("0.005", "0.01", "0.05", "0.1", "0.5", "1", "2.5", "5", "+Inf")
for r in range(routes):
    acc = 0
    for le in buckets:
        acc += rnd.randrange(1000)
        out.append(f'app_request_duration_seconds_bucket{{route="/r/{r}",le="{le}"}} {acc}')
    out.append(f'app_request_duration_seconds_sum{{route="/r/{r}"}} {acc * 0.05:.3f}')
    out.append(f'app_request_duration_seconds_count{{route="/r/{r}"}} {acc}')
out.append("# TYPE app_requests_total counter")
for r in range(routes):
    for s in ("200", "500"):
        out.append(f'app_requests_total{{route="/r/{r}",status="{s}"}} {rnd.randrange(10**6)}')
out.append("# TYPE app_worker_busy gauge")
for i in range(total - routes * 13):
    out.append(f'app_worker_busy{{worker="{i}"}} {rnd.randrange(2)}')
print("\n".join(out))
PY
python3 bench/serve_static.py "$APP_PORT" "$dir/metrics.txt" &
bench_track $!

start_vm() {
  victoria-metrics -httpListenAddr "127.0.0.1:$VM_PORT" -storageDataPath "$dir/vm" \
    -retentionPeriod 1d -loggerLevel ERROR >>"$dir/vm.log" 2>&1 &
  vm=$!
  bench_track "$vm"
  bench_wait_http "http://127.0.0.1:$VM_PORT/health" || exit 1
}
stop_vm() { bench_stop "$vm"; }

metrics() { curl -sf "http://127.0.0.1:$EXPORTER_PORT/metrics" >"$dir/scrape.txt"; }
# metric NAME-PREFIX: the value of the first line starting with it.
metric() { bench_metric "$dir/scrape.txt" "$1"; }
rw() { metric "stack_exporter_remote_write_$1"; }
cpu_ticks() { bench_cpu_ticks "$exporter"; }
rss_mb() { awk -v kb="$(bench_rss_kb "$exporter")" 'BEGIN { printf "%.1f", kb / 1024 }'; }

start_exporter() { bench_start_exporter "$1" "$EXPORTER_PORT" "$dir/exporter.log"; } # CONFIG
stop_exporter() { bench_stop "$exporter"; }

app=$(cat <<CONF
apps:
  - name: app
    metrics_url: "http://127.0.0.1:$APP_PORT/metrics"
    interval: $INTERVAL
    timeout: 1s
    scrape: { sample_limit: 0 }
CONF
)
echo "$app" >"$dir/plain.yml"
cat >"$dir/rw.yml" <<CONF
$app
remote_write:
  - name: vm
    url: "http://127.0.0.1:$VM_PORT/api/v1/write"
    queue_capacity: $QUEUE
    timeout: 5s
CONF
ticks=$(bench_clk_tck)
echo "App: $(grep -vc '^#' "$dir/metrics.txt") series, polled every $INTERVAL; $(nproc) cores;" \
  "victoria-metrics $(dpkg-query -W -f '${Version}' victoria-metrics 2>/dev/null || echo '?'); $(date -u +%Y-%m-%d)"

# 1. CPU with and without remote write.
start_exporter "$dir/plain.yml"
sleep 3
c0=$(cpu_ticks); sleep "$MEASURE"; c1=$(cpu_ticks)
base=$((c1 - c0))
stop_exporter
start_vm
start_exporter "$dir/rw.yml"
sleep 3
metrics; s0=$(rw 'samples_sent_total{'); c0=$(cpu_ticks)
sleep "$MEASURE"
c1=$(cpu_ticks); metrics; s1=$(rw 'samples_sent_total{')
with=$((c1 - c0))
sent=$(awk -v a="$s0" -v b="$s1" 'BEGIN { print b - a }')
pushes=$(awk -v s="$sent" -v n="$APP_SERIES" 'BEGIN { printf "%.1f", s / n }')
echo
echo "| ${MEASURE}s of polling | CPU | samples sent |"
echo "| --- | --- | --- |"
echo "| app only | $(awk -v t="$base" -v h="$ticks" 'BEGIN { printf "%.2f s", t / h }') | - |"
echo "| app + remote write | $(awk -v t="$with" -v h="$ticks" 'BEGIN { printf "%.2f s", t / h }') | $sent |"
echo
echo "CPU per push of $APP_SERIES series: $(awk -v a="$base" -v b="$with" -v h="$ticks" -v p="$pushes" \
  'BEGIN { printf "%.1f ms", (b - a) / h / p * 1000 }') ($pushes pushes; encode + snappy + HTTP, over the poll's own cost)"
echo "Request duration (VictoriaMetrics, mean): $(awk -v s="$(rw 'request_duration_seconds_sum{')" \
  -v c="$(rw 'request_duration_seconds_count{')" 'BEGIN { printf "%.1f ms", s / c * 1000 }')"
echo "RSS with remote write, receiver up: $(rss_mb) MB"

# 2. Receiver down.
stop_vm
echo
echo "Receiver down for ${DOWN_SECONDS}s (queue_capacity $QUEUE):"
echo
echo "| down for | RSS | queue samples | dropped (queue_full) |"
echo "| --- | --- | --- | --- |"
start=$SECONDS
peak=0
while ((SECONDS - start < DOWN_SECONDS)); do
  sleep 30
  metrics
  r=$(rss_mb)
  peak=$(awk -v a="$peak" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
  echo "| $((SECONDS - start)) s | $r MB | $(rw 'queue_samples{') | $(rw 'samples_dropped_total{remote_name="vm",url="http://127.0.0.1:'"$VM_PORT"'/api/v1/write",reason="queue_full"}') |"
done
echo
echo "Peak RSS while down: $peak MB (VmHWM $(awk -v kb="$(bench_hwm_kb "$exporter")" 'BEGIN { printf "%.1f", kb / 1024 }') MB)"

# 3. Receiver back: the exporter logs the backlog's drain from its first accepted
# request to an empty queue (samples, seconds, samples/s).
start_vm
for _ in $(seq 1 300); do
  grep -q "backlog delivered" "$dir/exporter.log" && break
  sleep 0.2
done
echo "Backlog after the receiver came back: $(grep -o 'samples=.*' "$dir/exporter.log" | tail -1)"
stop_exporter
