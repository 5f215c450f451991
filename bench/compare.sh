#!/usr/bin/env bash
# Side by side, in one run: stack_exporter against postgres_exporter + redis_exporter on
# the same throwaway PostgreSQL 15 and Redis, and against nginx serving our /metrics body
# as a static file (the ceiling for an HTTP endpoint); then our exporter scraping an app
# of 1k to 500k series. Writes a Markdown report to stdout and into BENCHMARKS.md
# (between its results markers); see BENCHMARKS.md for what is measured and why.
#
# Usage: bash bench/compare.sh [--no-write]     (as root, on Debian)
#   --no-write   only print the report; BENCHMARKS.md is left alone
#
# It installs what is missing (Debian: prometheus-postgres-exporter,
# prometheus-redis-exporter, wrk, nginx, postgresql-15, redis-server, ...), builds the
# release binary, and stops everything it started (by PID) when it exits. Progress goes
# to stderr, the report to stdout.
#
# Environment (defaults in brackets):
#   WRK_SECONDS     [10]   length of each wrk run
#   CONNECTIONS     ["1 4 16"] wrk connections per run (threads: min(connections, 2));
#                          the CPU table uses the run at 4 (or the middle one)
#   INTERVAL        [15]   seconds: our poll interval and the peers' scrape interval in
#                          the queries-per-minute phase
#   MINUTE_SECONDS  [60]   length of each queries-per-minute window
#   SCALING_SIZES   ["1000 10000 100000 500000"] app series for the scaling phase
#   SCALING_INTERVAL [5]   seconds between polls of the app (timeout: 1 s less)
#   SCALING_POLLS   [3]    polls whose duration is recorded per size (median reported)
#   PG_PORT [25731] REDIS_PORT [26731] OURS_PORT [29731] PGEXP_PORT [29732]
#   REDISEXP_PORT [29733] NGINX_PORT [29734] APP_PORT [29735]   all on 127.0.0.1, below
#   Linux's ephemeral range (32768-60999) so that no outgoing connection holds them
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
# shellcheck source=scripts/lib/packages.sh
source scripts/lib/packages.sh

write=1
for arg in "$@"; do
  case $arg in
    --no-write) write=0 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "unknown argument: $arg (see --help)" >&2
      exit 2
      ;;
  esac
done

WRK_SECONDS=${WRK_SECONDS:-10}
CONNECTIONS=${CONNECTIONS:-1 4 16}
INTERVAL=${INTERVAL:-15}
MINUTE_SECONDS=${MINUTE_SECONDS:-60}
SCALING_SIZES=${SCALING_SIZES:-1000 10000 100000 500000}
SCALING_INTERVAL=${SCALING_INTERVAL:-5}
SCALING_POLLS=${SCALING_POLLS:-3}
PG_PORT=${PG_PORT:-25731}
REDIS_PORT=${REDIS_PORT:-26731}
OURS_PORT=${OURS_PORT:-29731}
PGEXP_PORT=${PGEXP_PORT:-29732}
REDISEXP_PORT=${REDISEXP_PORT:-29733}
NGINX_PORT=${NGINX_PORT:-29734}
APP_PORT=${APP_PORT:-29735}
BIN=target/release/stack_exporter
OURS_ROLE=stack_bench_ours
PEER_ROLE=stack_bench_peer

log() { printf '==> %s\n' "$*" >&2; }
die() {
  echo "error: $*" >&2
  exit 1
}
started=$SECONDS
((EUID == 0)) || die "run as root (PostgreSQL runs as the postgres user, packages are installed)"

ensure_packages \
  "prometheus-postgres-exporter:prometheus-postgres-exporter" \
  "prometheus-redis-exporter:prometheus-redis-exporter" \
  "wrk:wrk" \
  "nginx:nginx" \
  "/usr/lib/postgresql/15/bin/initdb:postgresql-15" \
  "psql:postgresql-client" \
  "redis-server:redis-server" \
  "redis-cli:redis-tools" \
  "curl:curl" \
  "python3:python3" \
  "pgrep:procps" \
  "ss:iproute2" \
  "git:git"
log "cargo build --release"
cargo build --release --locked >&2
setup_seconds=$((SECONDS - started))

for port in "$PG_PORT" "$REDIS_PORT" "$OURS_PORT" "$PGEXP_PORT" "$REDISEXP_PORT" "$NGINX_PORT" "$APP_PORT"; do
  [[ -z "$(ss -Hltn "sport = :$port")" ]] || die "port $port is in use (see the *_PORT variables in --help)"
done

# ---------------------------------------------------------------------------------------
# Small helpers: numbers, formatting.

calc() { awk "BEGIN { $1 }"; }           # calc 'printf "%.2f", 1 / 3'
ratio() { # A B: A / B with two decimals, "–" when B is 0 or missing
  awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "–"; else printf (a / b < 0.1) ? "%.3f" : "%.2f", a / b }'
}
mb() { calc "printf \"%.1f\", $1 / 1024"; } # kB → MB
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print ((NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
now() { echo "$EPOCHREALTIME"; }
sleep_until() { # EPOCH-SECONDS (fractional)
  local left
  left=$(calc "d = $1 - $(now); printf \"%.6f\", (d > 0) ? d : 0")
  sleep "$left"
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
errors_text() { # NON2XX SOCKET
  if (($1 == 0 && $2 == 0)); then echo 0; else echo "**$1 non-2xx/3xx, $2 socket**"; fi
}

# ---------------------------------------------------------------------------------------
# Machine and versions.

load_start=$(loadavg)
run_date=$(date -u '+%Y-%m-%d %H:%M UTC')
cpu_model=$(awk -F': ' '$1 ~ /^model name/ { print $2; exit }' /proc/cpuinfo)
ram=$(awk '$1 == "MemTotal:" { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
deb_version() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "?"; }
ours_version="$("$BIN" --version | awk '{ print $2 }') ($(git describe --always --dirty))"
pgexp_version=$(deb_version prometheus-postgres-exporter)
redisexp_version=$(deb_version prometheus-redis-exporter)
nginx_version=$(nginx -v 2>&1 | sed 's|.*nginx/||')
wrk_version=$(deb_version wrk)
ticks=$(bench_clk_tck)

# ---------------------------------------------------------------------------------------
# Throwaway PostgreSQL and Redis with some content.

bench_init stack-bench-compare
dir=$bench_dir
log "PostgreSQL 15 on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT (in $dir)"
bench_pg_start "$PG_PORT" "log_connections = on"
pg_log=$dir/pg/log
bench_psql postgres "CREATE DATABASE app"
bench_psql postgres "CREATE ROLE $OURS_ROLE LOGIN; CREATE ROLE $PEER_ROLE LOGIN;
  GRANT pg_monitor TO $OURS_ROLE, $PEER_ROLE"
bench_psql app "CREATE EXTENSION pg_stat_statements"
bench_psql app "
  CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL);
  CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers,
    status text NOT NULL, total_cents int NOT NULL, created_at timestamptz NOT NULL);
  CREATE INDEX ON orders (customer_id);
  CREATE INDEX ON orders (created_at);
  CREATE TABLE order_items (order_id bigint NOT NULL REFERENCES orders, sku text NOT NULL,
    quantity int NOT NULL);
  CREATE TABLE events (id bigserial PRIMARY KEY, kind text NOT NULL, payload jsonb,
    at timestamptz NOT NULL);
  CREATE TABLE sessions (token text PRIMARY KEY, customer_id bigint, expires_at timestamptz);
  INSERT INTO customers (email, created_at)
    SELECT 'user' || i || '@example.com', now() - i * interval '1 minute'
    FROM generate_series(1, 20000) i;
  INSERT INTO orders (customer_id, status, total_cents, created_at)
    SELECT 1 + i % 20000, (ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + i % 4],
      (i * 37) % 50000, now() - i * interval '10 seconds'
    FROM generate_series(1, 100000) i;
  INSERT INTO order_items SELECT 1 + i % 100000, 'sku-' || i % 500, 1 + i % 3
    FROM generate_series(1, 200000) i;
  INSERT INTO events (kind, payload, at)
    SELECT (ARRAY['login', 'view', 'checkout'])[1 + i % 3], jsonb_build_object('n', i),
      now() - i * interval '1 second'
    FROM generate_series(1, 50000) i;
  INSERT INTO sessions SELECT md5(i::text), i, now() + interval '1 hour'
    FROM generate_series(1, 5000) i;
  UPDATE orders SET status = 'paid' WHERE id % 7 = 0;
  DELETE FROM events WHERE id % 5 = 0;
  ANALYZE;"
# An application's statements, so that pg_stat_statements and the table statistics have
# something in them.
for i in $(seq 1 20); do
  bench_psql app "SELECT count(*) FROM orders WHERE customer_id = $i;
    SELECT o.id, sum(oi.quantity) FROM orders o JOIN order_items oi ON oi.order_id = o.id
      WHERE o.customer_id = $((i * 13)) GROUP BY o.id;
    SELECT status, count(*) FROM orders GROUP BY status;
    UPDATE sessions SET expires_at = now() + interval '2 hours' WHERE token = md5('$i');
    INSERT INTO events (kind, payload, at) VALUES ('login', '{\"n\": $i}', now());
    SELECT * FROM customers WHERE email = 'user$i@example.com'" >/dev/null
done
pg_version=$(bench_psql postgres "SHOW server_version")

bench_redis_start "$REDIS_PORT" --enable-debug-command local
bench_redis_cli DEBUG POPULATE 10000 cache 64 >/dev/null
bench_redis_cli -n 1 DEBUG POPULATE 2000 session 128 >/dev/null
{
  for i in $(seq 1 200); do echo "RPUSH queue:emails job-$i"; done
  for i in $(seq 1 200); do echo "XADD events * kind view n $i"; done
  for i in $(seq 1 100); do echo "HSET user:$i name user$i plan free"; done
} | bench_redis_cli >/dev/null
redis_version=$(bench_redis_cli INFO server | tr -d '\r' | awk -F: '$1 == "redis_version" { print $2 }')

redis_cpu() { # used_cpu_sys + used_cpu_user, seconds
  bench_redis_cli INFO cpu | tr -d '\r' | awk -F: '$1 == "used_cpu_sys" || $1 == "used_cpu_user" { s += $2 } END { printf "%.3f", s }'
}
# Commands (calls by command) and connections since the last CONFIG RESETSTAT, in one INFO.
redis_counts() {
  bench_redis_cli INFO commandstats stats | tr -d '\r' | awk -F'[:=,]' '
    /^cmdstat_/ { sub(/^cmdstat_/, "", $1); print $1, $3 }
    $1 == "total_connections_received" { print "(connections)", $2 }' | sort
}
# What the measuring itself adds: CONFIG RESETSTAT, then the one INFO that reads the
# counts, with no exporter running. Subtracted from every window (exactly, per command).
bench_redis_cli CONFIG RESETSTAT >/dev/null
redis_counts >"$dir/redis-own.txt"
log "Redis counts of the measuring itself: $(tr '\n' ' ' <"$dir/redis-own.txt")"
# "(connections) N" and per-command calls of a window, minus our own.
redis_window() {
  redis_counts | awk 'NR == FNR { own[$1] = $2; next } { n = $2 - own[$1]; if (n != 0) print $1, n }' "$dir/redis-own.txt" -
}

# ---------------------------------------------------------------------------------------
# Load: one wrk run per target and connection count, with the CPU of the target's
# processes and of both backends over the run.
#   load_run NAME URL PID...   appends to $dir/load.txt:
#   name conns p50 p99 rps requests non2xx sockerr proc_cpu_s pg_cpu_s redis_cpu_s
procs_ticks() { local p s=0; for p in "$@"; do s=$((s + $(bench_cpu_ticks "$p"))); done; echo "$s"; }
procs_kb() { # bench_rss_kb|bench_hwm_kb PID...
  local f=$1 p s=0
  shift
  for p in "$@"; do s=$((s + $($f "$p"))); done
  echo "$s"
}
load_runs() { # NAME URL PID...
  local name=$1 url=$2 c t0 pg0 r0 t1 pg1 r1 fields
  shift 2
  for c in $CONNECTIONS; do
    log "wrk $name, $c connections, ${WRK_SECONDS}s"
    t0=$(procs_ticks "$@")
    pg0=$(bench_pg_cpu_ticks)
    r0=$(redis_cpu)
    fields=$(bench_wrk -t$((c < 2 ? c : 2)) -c"$c" -d"${WRK_SECONDS}s" --timeout 30s "$url")
    t1=$(procs_ticks "$@")
    pg1=$(bench_pg_cpu_ticks)
    r1=$(redis_cpu)
    echo "$name $c $fields $(calc "printf \"%.3f %.3f %.3f\", ($t1 - $t0) / $ticks, ($pg1 - $pg0) / $ticks, $r1 - $r0")" >>"$dir/load.txt"
    sleep 1
  done
}
# body NAME URL: fetch once, record "name series bytes" in $dir/bodies.txt
body() {
  curl -sf -o "$dir/body-$1.txt" "$2"
  echo "$1 $(bench_series "$dir/body-$1.txt") $(wc -c <"$dir/body-$1.txt")" >>"$dir/bodies.txt"
}
mem_record() { # NAME idle_kb PID...: "name idle_kb rss_kb hwm_kb" in $dir/mem.txt
  local name=$1 idle=$2
  shift 2
  echo "$name $idle $(procs_kb bench_rss_kb "$@") $(procs_kb bench_hwm_kb "$@")" >>"$dir/mem.txt"
}

# ---------------------------------------------------------------------------------------
# Queries and commands per minute: one window of MINUTE_SECONDS, starting half an interval
# after a poll (ours) so that no poll sits on its edges; the peers are scraped at the same
# offsets (half an interval in, then every INTERVAL), as Prometheus would.
#   window NAME [PEER_URL...]   appends to $dir/window.txt:
#   name polls pg_ours pg_peer pg_conns_ours pg_conns_peer pg_opened_ours pg_opened_peer
#        redis_commands redis_conns_held redis_conns_opened pg_cpu_s redis_cpu_s
#   and the Redis commands by name to $dir/redis-commands-NAME.txt
window() {
  local name=$1 t0 k next offset status scrapes=0 pg0 pg1 r0 r1
  shift
  pg0=$(bench_pg_cpu_ticks)
  r0=$(redis_cpu)
  bench_psql app "SELECT pg_stat_statements_reset()" >/dev/null
  offset=$(stat -c %s "$pg_log")
  bench_redis_cli CONFIG RESETSTAT >/dev/null
  t0=$(now)
  log "$name: counting statements and commands for ${MINUTE_SECONDS}s"
  if (($#)); then
    for ((k = 0; ; k++)); do
      next=$(calc "printf \"%.6f\", $t0 + $INTERVAL / 2 + $k * $INTERVAL")
      [[ $(calc "print (($next < $t0 + $MINUTE_SECONDS) ? 1 : 0)") == 1 ]] || break
      sleep_until "$next"
      for url in "$@"; do
        status=$(curl -s -o /dev/null -m 10 -w '%{http_code}' "$url" || true)
        [[ "$status" == 200 ]] || log "warning: scrape of $url answered $status"
      done
      scrapes=$((scrapes + 1))
    done
  fi
  sleep_until "$(calc "printf \"%.6f\", $t0 + $MINUTE_SECONDS")"
  pg1=$(bench_pg_cpu_ticks)
  redis_window >"$dir/redis-window-$name.txt"
  r1=$(redis_cpu) # after the counts: its INFO is not counted
  local pg
  pg=$(bench_psql app "SELECT
      coalesce(sum(calls) FILTER (WHERE r.rolname = '$OURS_ROLE'), 0),
      coalesce(sum(calls) FILTER (WHERE r.rolname = '$PEER_ROLE'), 0)
    FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid" | tr '|' ' ')
  # Ours prefixes each query with SET LOCAL statement_timeout in the same simple-query
  # message: counted as two statements, sent as one round trip.
  bench_psql app "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s
    JOIN pg_roles r ON r.oid = s.userid
    WHERE r.rolname = '$OURS_ROLE' AND s.query ILIKE 'SET LOCAL statement_timeout%'" >"$dir/pg-set-local-$name.txt"
  local conns
  conns=$(bench_psql app "SELECT count(*) FILTER (WHERE usename = '$OURS_ROLE'),
      count(*) FILTER (WHERE usename = '$PEER_ROLE') FROM pg_stat_activity" | tr '|' ' ')
  local opened_ours opened_peer
  opened_ours=$(tail -c +$((offset + 1)) "$pg_log" | grep -c "connection authorized: user=$OURS_ROLE " || true)
  opened_peer=$(tail -c +$((offset + 1)) "$pg_log" | grep -c "connection authorized: user=$PEER_ROLE " || true)
  # Connections to Redis now, minus the one asking.
  local held
  held=$(($(bench_redis_cli CLIENT LIST | grep -c .) - 1))
  local commands opened
  commands=$(awk '$1 != "(connections)" { s += $2 } END { print s + 0 }' "$dir/redis-window-$name.txt")
  opened=$(awk '$1 == "(connections)" { print $2 }' "$dir/redis-window-$name.txt")
  echo "$name $scrapes $pg $conns $opened_ours $opened_peer $commands $held ${opened:-0}" \
    "$(calc "printf \"%.3f %.4f\", ($pg1 - $pg0) / $ticks, $r1 - $r0")" >>"$dir/window.txt"
}

# ---------------------------------------------------------------------------------------
# 1. Ours: PostgreSQL + Redis in one process.

cat >"$dir/ours.yml" <<CONF
defaults: { interval: ${INTERVAL}s, timeout: $((INTERVAL < 5 ? INTERVAL : 5))s }
postgres: [ { name: pg, url: "postgresql://$OURS_ROLE@127.0.0.1:$PG_PORT/app?sslmode=disable" } ]
redis: [ { name: redis, url: "redis://127.0.0.1:$REDIS_PORT" } ]
CONF
log "stack_exporter on 127.0.0.1:$OURS_PORT"
bench_start_exporter "$dir/ours.yml" "$OURS_PORT" "$dir/ours.log"
ours=$exporter
ours_url="http://127.0.0.1:$OURS_PORT/metrics"
body ours "$ours_url"
ours_content_type=$(curl -sf -o /dev/null -w '%{content_type}' "$ours_url")
grep -q '^pg_up{source="pg"} 1' "$dir/body-ours.txt" || die "our PostgreSQL source is not up"
grep -q '^redis_up{source="redis"} 1' "$dir/body-ours.txt" || die "our Redis source is not up"
# The static copy nginx serves.
mkdir -m 755 "$dir/www"
cp "$dir/body-ours.txt" "$dir/www/metrics"
chmod 644 "$dir/www/metrics"
# Polls of each source over the window, from our own counters (reading /metrics does not
# touch the backends).
polls() { curl -sf "$ours_url" >"$dir/scrape.txt" && bench_metric "$dir/scrape.txt" "stack_exporter_source_polls_total{source=\"$1\""; }
sleep "$(calc "print $INTERVAL / 2")"
pg_polls0=$(polls pg)
redis_polls0=$(polls redis)
window ours
pg_polls=$(($(polls pg) - pg_polls0))
redis_polls=$(($(polls redis) - redis_polls0))
ours_idle=$(bench_rss_kb "$ours")
load_runs ours "$ours_url" "$ours"
mem_record ours "$ours_idle" "$ours"
bench_stop "$ours"

# ---------------------------------------------------------------------------------------
# 2. The peers: postgres_exporter and redis_exporter, one process each.

log "postgres_exporter on 127.0.0.1:$PGEXP_PORT, redis_exporter on 127.0.0.1:$REDISEXP_PORT"
DATA_SOURCE_NAME="postgresql://$PEER_ROLE@127.0.0.1:$PG_PORT/app?sslmode=disable" \
  prometheus-postgres-exporter --web.listen-address="127.0.0.1:$PGEXP_PORT" >"$dir/pgexp.log" 2>&1 &
pgexp=$!
bench_track "$pgexp"
prometheus-redis-exporter --redis.addr="redis://127.0.0.1:$REDIS_PORT" \
  --web.listen-address="127.0.0.1:$REDISEXP_PORT" >"$dir/redisexp.log" 2>&1 &
redisexp=$!
bench_track "$redisexp"
pgexp_url="http://127.0.0.1:$PGEXP_PORT/metrics"
redisexp_url="http://127.0.0.1:$REDISEXP_PORT/metrics"
bench_wait_http "$pgexp_url" || { cat "$dir/pgexp.log" >&2; exit 1; }
bench_wait_http "$redisexp_url" || { cat "$dir/redisexp.log" >&2; exit 1; }
body postgres_exporter "$pgexp_url"
body redis_exporter "$redisexp_url"
grep -q '^pg_up 1' "$dir/body-postgres_exporter.txt" || die "postgres_exporter: pg_up is not 1"
grep -q '^redis_up 1' "$dir/body-redis_exporter.txt" || die "redis_exporter: redis_up is not 1"
pgexp_idle=$(bench_rss_kb "$pgexp")
redisexp_idle=$(bench_rss_kb "$redisexp")
window peers "$pgexp_url" "$redisexp_url"
load_runs postgres_exporter "$pgexp_url" "$pgexp"
load_runs redis_exporter "$redisexp_url" "$redisexp"
mem_record postgres_exporter "$pgexp_idle" "$pgexp"
mem_record redis_exporter "$redisexp_idle" "$redisexp"
bench_stop "$pgexp"
bench_stop "$redisexp"

# ---------------------------------------------------------------------------------------
# 3. nginx serving our body as a static file.

mkdir "$dir/nginx"
cat >"$dir/nginx/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes auto;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location = /metrics {
      root $dir/www;
      default_type "$ours_content_type";
    }
  }
}
CONF
nginx_url="http://127.0.0.1:$NGINX_PORT/metrics"
# Starts nginx serving $dir/www/metrics; its master's PID in $nginx_master.
start_nginx() {
  log "nginx on 127.0.0.1:$NGINX_PORT (worker_processes auto: $(nproc))"
  nginx -e "$dir/nginx/error.log" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" &
  nginx_master=$!
  bench_track "$nginx_master"
  bench_wait_http "$nginx_url" || { cat "$dir/nginx/error.log" >&2; exit 1; }
}
start_nginx
[[ "$(curl -sf -o /dev/null -w '%{content_type}' "$nginx_url")" == "$ours_content_type" ]] ||
  die "nginx does not send our Content-Type"
cmp -s "$dir/www/metrics" <(curl -sf "$nginx_url") || die "nginx does not serve our body"
body nginx "$nginx_url"
mapfile -t nginx_pids < <(echo "$nginx_master"; pgrep -P "$nginx_master")
nginx_idle=$(procs_kb bench_rss_kb "${nginx_pids[@]}")
load_runs nginx "$nginx_url" "${nginx_pids[@]}"
mem_record nginx "$nginx_idle" "${nginx_pids[@]}"
bench_stop "$nginx_master"

# ---------------------------------------------------------------------------------------
# 4. Scaling: ours with one app source of N series (and with no source: the baseline).

# The app's row of the status page: "polls duration_ms series". The page shows the same
# stored status as the stack_exporter_source_* self-metrics, but it is rendered on each
# request (the self-metrics can be a second old) and small (no 40 MB body to read).
app_status() {
  curl -sf "http://127.0.0.1:$OURS_PORT/" | awk -F'</td><td[^>]*>' '
    index($0, "<tr><td>app</td>") == 1 {
      gsub(/<[^>]*>/, "", $6); sub(/ ms$/, "", $6)
      print $9, $6, $8
    }'
}
log "scaling: app sizes $SCALING_SIZES, polled every ${SCALING_INTERVAL}s"
for n in 0 $SCALING_SIZES; do
  if ((n > 0)); then
    python3 bench/app_body.py "$n" >"$dir/app.txt"
    python3 bench/serve_static.py "$APP_PORT" "$dir/app.txt" &
    app=$!
    bench_track "$app"
    bench_wait_http "http://127.0.0.1:$APP_PORT/metrics"
    cat >"$dir/scaling.yml" <<CONF
apps:
  - name: app
    metrics_url: "http://127.0.0.1:$APP_PORT/metrics"
    interval: ${SCALING_INTERVAL}s
    timeout: $((SCALING_INTERVAL - 1))s
    scrape: { max_body_size: 1GiB, sample_limit: 0 }
    # The golden signals (summed over every route and method) are part of each poll, as
    # for an app whose names are detected.
    signals:
      latency: { histogram: app_request_duration_seconds }
      requests: { counter: app_requests_total, status_label: status }
CONF
  else
    echo "apps: []" >"$dir/scaling.yml"
  fi
  bench_start_exporter "$dir/scaling.yml" "$OURS_PORT" "$dir/scaling.log"
  ours=$exporter
  if ((n == 0)); then
    sleep 2
    echo "$(bench_series <(curl -sf "$ours_url")) $(bench_rss_kb "$ours") $(bench_hwm_kb "$ours")" >"$dir/scaling-base.txt"
    bench_stop "$ours"
    continue
  fi
  log "app of $n series: $SCALING_POLLS polls"
  # The app's series plus the derived golden signals.
  read -r last _ series <<<"$(app_status)"
  ((series > n)) || die "app of $n series: the exporter reports ${series:-none} (see $dir/scaling.log)"
  durations=()
  deadline=$((SECONDS + (SCALING_POLLS + 2) * SCALING_INTERVAL))
  while ((${#durations[@]} < SCALING_POLLS)); do
    sleep 0.2
    read -r polls duration series <<<"$(app_status)"
    if [[ "$polls" != "$last" ]]; then
      ((series > n)) || die "app of $n series: a poll reported ${series:-no} series"
      durations+=("$duration")
      last=$polls
    fi
    ((SECONDS < deadline)) || die "app of $n series: no new poll for too long (see $dir/scaling.log)"
  done
  rss_steady=$(bench_rss_kb "$ours")
  hwm_polls=$(bench_hwm_kb "$ours")
  served=$(bench_series <(curl -sf "$ours_url"))
  bytes=$(curl -sf "$ours_url" | wc -c)
  log "wrk ours with $n app series, 1 connection, ${WRK_SECONDS}s"
  read -r p50 p99 rps requests non2xx sockerr <<<"$(bench_wrk -t1 -c1 -d"${WRK_SECONDS}s" --timeout 30s "$ours_url")"
  hwm_wrk=$(bench_hwm_kb "$ours")
  rss_wrk=$(bench_rss_kb "$ours")
  # The ceiling at this size: nginx sending the same body from a file.
  curl -sf -o "$dir/www/metrics" "$ours_url"
  start_nginx
  log "wrk nginx with our body of $n app series, 1 connection, ${WRK_SECONDS}s"
  read -r nginx_p50 _ <<<"$(bench_wrk -t1 -c1 -d"${WRK_SECONDS}s" --timeout 30s "$nginx_url")"
  bench_stop "$nginx_master"
  echo "$n $served $bytes $(echo "${durations[*]}" | median) $p50 $p99 $rps $requests $non2xx $sockerr $rss_steady $hwm_polls $rss_wrk $hwm_wrk $nginx_p50 ${durations[*]}" >>"$dir/scaling.txt"
  bench_stop "$ours"
  bench_stop "$app"
done

load_end=$(loadavg)
total_seconds=$((SECONDS - started))

# ---------------------------------------------------------------------------------------
# The report.

field() { # FILE KEY COLUMN: column (1-based) of the line whose first field is KEY (and
  # whose second is $4 when given)
  awk -v k="$2" -v c="$3" -v k2="${4-}" '$1 == k && (k2 == "" || $2 == k2) { print $c; exit }' "$1"
}
# The connection count of the CPU table: 4 when measured, else the middle one.
read -ra conns <<<"$CONNECTIONS"
cost_c=${conns[$((${#conns[@]} / 2))]}
for c in "${conns[@]}"; do [[ "$c" == 4 ]] && cost_c=4; done

report() {
  echo "Run of \`bash bench/compare.sh\` on $run_date; took $total_seconds s ($setup_seconds s of it installing and building)."
  echo
  echo "- Machine: $cpu_model, $(nproc) cores, $ram RAM, Linux $(uname -r)"
  echo "- Load average (1/5/15 min): $load_start at the start, $load_end at the end"
  echo "- stack_exporter $ours_version; postgres_exporter $pgexp_version; redis_exporter $redisexp_version;" \
    "nginx $nginx_version; wrk $wrk_version; PostgreSQL $pg_version; Redis $redis_version"
  echo "- Backends: PostgreSQL with a database \`app\` (5 tables, 375k rows, pg_stat_statements), Redis with" \
    "$(bench_redis_cli DBSIZE) + $(bench_redis_cli -n 1 DBSIZE) keys (db0 + db1) incl. a list, a stream, hashes"
  echo
  echo "### /metrics latency and throughput"
  echo
  echo "wrk -t min(c,2) -c c -d ${WRK_SECONDS}s --latency, one target at a time. Ratios are ours / that row at the same" \
    "connections: below 1 means ours is faster for latency, above 1 means ours serves more requests/s."
  echo
  echo "| target | series | body bytes |"
  echo "| --- | ---: | ---: |"
  local t
  for t in ours postgres_exporter redis_exporter nginx; do
    echo "| $t | $(field "$dir/bodies.txt" "$t" 2) | $(field "$dir/bodies.txt" "$t" 3) |"
  done
  echo
  echo "| conns | target | p50 ms | p99 ms | req/s | errors | p50 ours/x | p99 ours/x | req/s ours/x |"
  echo "| ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |"
  local c o50 o99 orps p50 p99 rps bad sock
  for c in "${conns[@]}"; do
    o50=$(field "$dir/load.txt" ours 3 "$c")
    o99=$(field "$dir/load.txt" ours 4 "$c")
    orps=$(field "$dir/load.txt" ours 5 "$c")
    for t in ours postgres_exporter redis_exporter nginx; do
      read -r _ _ p50 p99 rps _ bad sock _ <<<"$(awk -v k="$t" -v c="$c" '$1 == k && $2 == c' "$dir/load.txt")"
      if [[ $t == ours ]]; then
        echo "| $c | **ours** | $p50 | $p99 | $rps | $(errors_text "$bad" "$sock") | | | |"
      else
        echo "| $c | $t | $p50 | $p99 | $rps | $(errors_text "$bad" "$sock") | $(ratio "$o50" "$p50") | $(ratio "$o99" "$p99") | $(ratio "$orps" "$rps") |"
      fi
    done
  done
  echo
  echo "### CPU and memory per 1,000 scrapes"
  echo
  echo "From the wrk run at $cost_c connections: CPU seconds (utime + stime from /proc) of the target's" \
    "processes and of the backends over the run, per 1,000 completed requests. The backend column is what" \
    "PostgreSQL (all processes of the cluster) and Redis (INFO cpu) spent meanwhile: the peers query them" \
    "on every scrape, we serve a cached snapshot (our column includes any poll that fell in the run)." \
    "RSS idle: before the runs; after: after the last run; peak: VmHWM. \"Both peers\" adds one scrape of each."
  echo
  echo "| target | processes | CPU s / 1k scrapes | backend CPU s / 1k | total CPU s / 1k | total ours/x | RSS idle MB | RSS after MB | peak MB | RSS after ours/x |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  cost() { # TARGET: "procs_per_1k backend_per_1k total_per_1k"
    awk -v k="$1" -v c="$cost_c" '$1 == k && $2 == c {
      if ($6 == 0) print "- - -"
      else printf "%.4f %.4f %.4f\n", $9 / $6 * 1000, ($10 + $11) / $6 * 1000, ($9 + $10 + $11) / $6 * 1000 }' "$dir/load.txt"
  }
  local otot orss cpu bk tot idle rss hwm procs
  read -r _ _ otot <<<"$(cost ours)"
  orss=$(field "$dir/mem.txt" ours 3)
  local sum_cpu=0 sum_bk=0 sum_tot=0 sum_idle=0 sum_rss=0 sum_hwm=0
  for t in ours postgres_exporter redis_exporter both nginx; do
    if [[ $t == both ]]; then
      cpu=$sum_cpu bk=$sum_bk tot=$sum_tot idle=$sum_idle rss=$sum_rss hwm=$sum_hwm procs=2
      t="both peers"
    else
      read -r cpu bk tot <<<"$(cost "$t")"
      idle=$(field "$dir/mem.txt" "$t" 2)
      rss=$(field "$dir/mem.txt" "$t" 3)
      hwm=$(field "$dir/mem.txt" "$t" 4)
      procs=1
      [[ $t == nginx ]] && procs=${#nginx_pids[@]}
      if [[ $t == postgres_exporter || $t == redis_exporter ]]; then
        sum_cpu=$(calc "print $sum_cpu + $cpu") sum_bk=$(calc "print $sum_bk + $bk")
        sum_tot=$(calc "print $sum_tot + $tot") sum_idle=$((sum_idle + idle))
        sum_rss=$((sum_rss + rss)) sum_hwm=$((sum_hwm + hwm))
      fi
    fi
    if [[ $t == ours ]]; then
      echo "| **ours** (PostgreSQL + Redis) | 1 | $cpu | $bk | $tot | | $(mb "$idle") | $(mb "$rss") | $(mb "$hwm") | |"
    else
      echo "| $t | $procs | $cpu | $bk | $tot | $(ratio "$otot" "$tot") | $(mb "$idle") | $(mb "$rss") | $(mb "$hwm") | $(ratio "$orss" "$rss") |"
    fi
  done
  echo
  echo "### Queries and commands per minute at a ${INTERVAL} s interval"
  echo
  echo "A window of ${MINUTE_SECONDS} s per exporter: pg_stat_statements (track = all; calls by role, each exporter" \
    "has its own role) and Redis INFO commandstats, both reset at the start; the measuring's own Redis commands" \
    "(CONFIG RESETSTAT and the INFO reading the counts, measured with no exporter running) are subtracted." \
    "Ours polls on its own; the peers are scraped every ${INTERVAL} s by the script, as Prometheus would." \
    "Connections held: at the end of the window; opened: during it (PostgreSQL log_connections, Redis" \
    "total_connections_received). Backend CPU: all of PostgreSQL's processes (/proc, 10 ms ticks, so" \
    "its idle background work is in it too) and Redis' INFO cpu over the window."
  echo
  echo "| exporter | polls or scrapes | PG statements/min | PG CPU ms/min | PG conns held | PG conns opened/min | Redis commands/min | Redis CPU ms/min | Redis conns held | Redis conns opened/min |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  per_min() { calc "printf \"%.1f\", $1 * 60 / $MINUTE_SECONDS"; }
  local w_scrapes o_pg o_pgc o_pgo o_rc o_rh o_ro o_pcpu o_rcpu p_pg p_pgc p_pgo p_rc p_rh p_ro p_pcpu p_rcpu
  read -r _ _ o_pg _ o_pgc _ o_pgo _ o_rc o_rh o_ro o_pcpu o_rcpu <<<"$(awk '$1 == "ours"' "$dir/window.txt")"
  read -r _ w_scrapes _ p_pg _ p_pgc _ p_pgo p_rc p_rh p_ro p_pcpu p_rcpu <<<"$(awk '$1 == "peers"' "$dir/window.txt")"
  ms() { calc "printf \"%.0f\", $1 * 1000 * 60 / $MINUTE_SECONDS"; } # CPU s in the window → ms/min
  echo "| **ours** | $pg_polls (pg), $redis_polls (redis) | $(per_min "$o_pg") | $(ms "$o_pcpu") | $o_pgc | $(per_min "$o_pgo") |" \
    "$(per_min "$o_rc") | $(ms "$o_rcpu") | $o_rh | $(per_min "$o_ro") |"
  echo "| postgres_exporter | $w_scrapes | $(per_min "$p_pg") | $(ms "$p_pcpu") | $p_pgc | $(per_min "$p_pgo") | – | – | – | – |"
  echo "| redis_exporter | $w_scrapes | – | – | – | – | $(per_min "$p_rc") | $(ms "$p_rcpu") | $p_rh | $(per_min "$p_ro") |"
  echo "| ours / peers | | $(ratio "$o_pg" "$p_pg") | $(ratio "$o_pcpu" "$p_pcpu") | | | $(ratio "$o_rc" "$p_rc") | $(ratio "$o_rcpu" "$p_rcpu") | | |"
  echo
  echo "- Per poll or scrape: ours $(calc "printf \"%.1f\", $o_pg / ($pg_polls ? $pg_polls : 1)") PostgreSQL statements" \
    "and $(calc "printf \"%.1f\", $o_rc / ($redis_polls ? $redis_polls : 1)") Redis commands;" \
    "postgres_exporter $(calc "printf \"%.1f\", $p_pg / ($w_scrapes ? $w_scrapes : 1)"), redis_exporter" \
    "$(calc "printf \"%.1f\", $p_rc / ($w_scrapes ? $w_scrapes : 1)")." \
    "All statements and commands together: ours / peers = $(ratio $((o_pg + o_rc)) $((p_pg + p_rc)))."
  local set_local
  set_local=$(cat "$dir/pg-set-local-ours.txt")
  echo "- Of ours' PostgreSQL statements, $(per_min "$set_local")/min are the \`SET LOCAL statement_timeout\` that" \
    "travels with each query in one simple-query message (a server-side timeout that ends with the query's" \
    "transaction, so it is safe behind transaction poolers): ours makes" \
    "$(calc "printf \"%.1f\", ($o_pg - $set_local) / ($pg_polls ? $pg_polls : 1)") round trips per poll."
  local name
  for name in ours peers; do
    echo "- Redis commands in the window, $([[ $name == ours ]] && echo ours || echo redis_exporter):" \
      "$(awk '$1 != "(connections)" { printf "%s`%s` %d", sep, $1, $2; sep = ", " }' "$dir/redis-window-$name.txt")."
  done
  echo
  echo "### Scaling with the size of an app's /metrics"
  echo
  echo "Ours with one app source (bench/app_body.py: counters, histograms and gauges with labels, served by" \
    "bench/serve_static.py), polled every ${SCALING_INTERVAL} s, with its golden signals (latency histogram and" \
    "request counter summed over routes: 16 more series). Poll: median of $SCALING_POLLS polls (fetch + parse +" \
    "signals + encode, the stored duration that stack_exporter_source_poll_duration_seconds exposes)." \
    "/metrics: wrk -t1 -c1 -d${WRK_SECONDS}s. RSS: after the polls, before wrk. Peak: VmHWM after the polls (a" \
    "poll holds the app's body and its parsed series at once: this is the memory to plan for), then after wrk;" \
    "per series: above the baseline with no source. \"Added series\": the difference from the previous size" \
    "divided by the series added (constant when the cost is linear)."
  echo
  awk '
    function mb(kb) { return sprintf("%.1f", kb / 1024) }
    function ratio(a, b) { return (b == 0) ? "–" : sprintf((a / b < 0.1) ? "%.3f" : "%.2f", a / b) }
    function verdict(r) { return (r > 1.5) ? "superlinear" : (r < 1 / 1.5) ? "sublinear" : "linear" }
    NR == FNR { base_series = $1; base = $2; base_hwm = $3; next }
    { k++; n[k] = $1; served[k] = $2; bytes[k] = $3; poll[k] = $4; p50[k] = $5; p99[k] = $6
      rps[k] = $7; bad[k] = $9; sock[k] = $10; rss[k] = $11; hwm[k] = $12; hwm_wrk[k] = $14; ngx[k] = $15 }
    END {
      print "| app series | /metrics series | body bytes | poll ms | poll µs/series | poll µs/added series | p50 ms | p99 ms | req/s | errors | nginx p50 ms | p50 ours/nginx | RSS MB | peak MB | peak bytes/series | peak bytes/added series | peak MB with wrk |"
      print "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
      printf "| none (baseline) | %d | | | | | | | | | | | %s | %s | | | |\n", base_series, mb(base), mb(base_hwm)
      pn = 0; pp = 0; ph = base_hwm; pl = 0
      for (i = 1; i <= k; i++) {
        # Marginal costs: from the previous size (the first row: from nothing).
        mpoll[i] = (poll[i] - pp) * 1000 / (n[i] - pn); mhwm[i] = (hwm[i] - ph) * 1024 / (n[i] - pn)
        mp50[i] = (p50[i] - pl) * 1000 / (n[i] - pn)
        err = (bad[i] == 0 && sock[i] == 0) ? "0" : sprintf("**%d non-2xx/3xx, %d socket**", bad[i], sock[i])
        printf "| %d | %d | %d | %s | %.2f | %.2f | %s | %s | %s | %s | %s | %s | %s | %s | %.0f | %.0f | %s |\n", n[i], served[i],
          bytes[i], poll[i], poll[i] * 1000 / n[i], mpoll[i], p50[i], p99[i], rps[i], err, ngx[i], ratio(p50[i], ngx[i]), mb(rss[i]), mb(hwm[i]),
          (hwm[i] - base_hwm) * 1024 / n[i], mhwm[i], mb(hwm_wrk[i])
        pn = n[i]; pp = poll[i]; ph = hwm[i]; pl = p50[i]
      }
      if (k < 3) exit
      # The largest size against the second smallest (10k by default; fixed costs
      # dominate the smallest), per series; then the cost per added series of the last
      # step against that of the step to the second size (1k -> 10k) or, with 4 sizes or
      # more, to the third (10k -> 100k by default).
      print ""
      printf "- Per series, %d vs %d series: poll time x%s, peak memory above baseline x%s, /metrics p50 x%s.\n", n[k], n[2],
        ratio(poll[k] / n[k], poll[2] / n[2]), ratio((hwm[k] - base_hwm) / n[k], (hwm[2] - base_hwm) / n[2]),
        ratio(p50[k] / n[k], p50[2] / n[2])
      b = (k >= 4) ? 3 : 2
      rp = ratio(mpoll[k], mpoll[b]); rm = ratio(mhwm[k], mhwm[b]); rl = ratio(mp50[k], mp50[b])
      # Sending a body costs more per byte once it outgrows the CPU caches, for any
      # server: our latency is judged against nginx sending the same bytes.
      mngx_k = (ngx[k] - ngx[k - 1]) / (n[k] - n[k - 1]); mngx_b = (ngx[b] - ngx[b - 1]) / (n[b] - n[b - 1])
      rn = ratio(mngx_k, mngx_b); rr = ratio(p50[k] / ngx[k], p50[b] / ngx[b])
      printf "- Per added series, step %d->%d vs step %d->%d: poll time x%s (%s), peak memory x%s (%s), /metrics p50 x%s" \
        " (nginx sending the same bodies: x%s), so /metrics p50 relative to nginx x%s (%s)", \
        n[k - 1], n[k], n[b - 1], n[b], rp, verdict(rp), rm, verdict(rm), rl, rn, rr, verdict(rr)
      worst = 0
      split(rp " " rm " " rr, r, " ")
      for (i in r) { d = (r[i] > 1) ? r[i] : 1 / r[i]; if (d > worst) worst = d }
      if (worst <= 1.5) print ": **linear** (cost = fixed + per series; every ratio within 1.5x of 1)."
      else print ": **not linear** in at least one measure (a ratio more than 1.5x away from 1)."
      printf "- /metrics p50 against nginx sending the same body: x%s at %d series, x%s at %d.\n", \
        ratio(p50[b], ngx[b]), n[b], ratio(p50[k], ngx[k]), n[k]
    }' "$dir/scaling-base.txt" "$dir/scaling.txt"
}

report >"$dir/report.md"
cat "$dir/report.md"

if ((write)); then
  begin='<!-- bench/compare.sh results: begin -->'
  end='<!-- bench/compare.sh results: end -->'
  if ! grep -qxF "$begin" BENCHMARKS.md || ! grep -qxF "$end" BENCHMARKS.md; then
    die "BENCHMARKS.md lacks the marker lines $begin / $end"
  fi
  awk -v begin="$begin" -v end="$end" -v report="$dir/report.md" '
    $0 == begin { print; print ""; while ((getline line < report) > 0) print line; print ""; skip = 1; next }
    $0 == end { skip = 0 }
    !skip' BENCHMARKS.md >"$dir/BENCHMARKS.md"
  cp "$dir/BENCHMARKS.md" BENCHMARKS.md
  log "results written to BENCHMARKS.md"
fi
log "done in $total_seconds s"
